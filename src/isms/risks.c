/*
 * risks.c - the risk register: threats of the seed policies' catalogue
 * applied to information assets, likelihood x impact, treatment, the
 * controls applied, residual risk, and the heat map (plan.h).
 */
#include "base/base.h"

#include "base/i18n.h"
#include "isms/isms.h"
#include "isms/isms_int.h"
#include "isms/plan.h"

/*
 * The threat catalogue, as the seed policy names it (札幌市情報セキュリティ
 * ポリシー, 第1章 基本方針 8「情報セキュリティに対する脅威」):
 * (1) 意図的(計画的)な人為的脅威: 故意の不正アクセス又は不正操作による機器
 *     又は情報資産の破壊、盗難、改ざん、消去、無断持ち出し、ソフトウェアの
 *     ライセンス違反、APT攻撃等;
 * (2) 偶発的な人為的脅威: 誤操作等によって起きる情報資産の破壊、漏えい、
 *     消去等及び搬送中の事故等による情報資産の盗難、漏えい、紛失等;
 * (3) 環境的脅威: 地震、落雷、火災、水害、停電、パンデミック等の災害又は
 *     事故による情報資産の破壊、消失、サービス又は業務の停止等.
 */
const struct isms_threat isms_threats[] = {
    {"unauthorized_access", "intentional", "不正アクセス", "unauthorised access"},
    {"unauthorized_operation", "intentional", "不正操作", "unauthorised operation"},
    {"destruction", "intentional", "故意の破壊", "deliberate destruction"},
    {"theft", "intentional", "盗難", "theft"},
    {"tampering", "intentional", "改ざん", "tampering"},
    {"deletion", "intentional", "故意の消去", "deliberate deletion"},
    {"unauthorized_removal", "intentional", "無断持ち出し", "unauthorised removal"},
    {"license_violation", "intentional", "ソフトウェアのライセンス違反",
     "software licence violation"},
    {"apt", "intentional", "APT攻撃", "advanced persistent threat (APT) attack"},
    {"misoperation", "accidental", "誤操作等による破壊・漏えい・消去",
     "destruction, leak or deletion by mistaken operation"},
    {"transport_accident", "accidental", "搬送中の事故等による盗難・漏えい・紛失",
     "theft, leak or loss through an accident in transport"},
    {"earthquake", "environmental", "地震", "earthquake"},
    {"lightning", "environmental", "落雷", "lightning"},
    {"fire", "environmental", "火災", "fire"},
    {"flood", "environmental", "水害", "flood"},
    {"power_outage", "environmental", "停電", "power outage"},
    {"pandemic", "environmental", "パンデミック(業務執行体制の維持が困難となる感染症の流行)",
     "pandemic (an epidemic that makes it hard to keep the organisation working)"},
    {NULL, NULL, NULL, NULL},
};

const struct isms_threat *isms_threat_find(const char *code)
{
	for (size_t i = 0; code && isms_threats[i].code; i++)
		if (!strcmp(isms_threats[i].code, code))
			return &isms_threats[i];
	return NULL;
}

const char *isms_threat_category_label(const char *category)
{
	if (!category)
		return "";
	if (!strcmp(category, "intentional"))
		return T("意図的(計画的)な人為的脅威", "intentional (planned) human threat");
	if (!strcmp(category, "accidental"))
		return T("偶発的な人為的脅威", "accidental human threat");
	if (!strcmp(category, "environmental"))
		return T("環境的脅威", "environmental threat");
	return category;
}

/* The enum of threat codes, built from the table above once. */
static const char *const threat_codes[] = {
    "unauthorized_access",
    "unauthorized_operation",
    "destruction",
    "theft",
    "tampering",
    "deletion",
    "unauthorized_removal",
    "license_violation",
    "apt",
    "misoperation",
    "transport_accident",
    "earthquake",
    "lightning",
    "fire",
    "flood",
    "power_outage",
    "pandemic",
    NULL,
};
static const char *const treatments[] = {"reduce", "accept", "transfer", "avoid", NULL};

static const struct isms_field risk_fields[] = {
    {.name = "title", .type = ISMS_TEXT, .required = true, .ja = "リスク名", .en = "title"},
    {.name = "asset",
     .type = ISMS_REF,
     .required = true,
     .ref_kind = "assets",
     .ja = "情報資産",
     .en = "asset"},
    {.name = "dept",
     .type = ISMS_REF,
     .ref_kind = "departments",
     .ja = "所管部署",
     .en = "department"},
    {.name = "threat",
     .type = ISMS_ENUM,
     .required = true,
     .values = threat_codes,
     .ja = "脅威",
     .en = "threat"},
    {.name = "description",
     .type = ISMS_MARKDOWN,
     .max_len = 20000,
     .ja = "説明",
     .en = "description"},
    {.name = "likelihood",
     .type = ISMS_INT,
     .required = true,
     .min = 1,
     .max = 5,
     .ja = "発生可能性",
     .en = "likelihood"},
    {.name = "impact",
     .type = ISMS_INT,
     .required = true,
     .min = 1,
     .max = 5,
     .ja = "影響度",
     .en = "impact"},
    {.name = "score", .type = ISMS_INT, .min = 1, .max = 25, .ja = "リスク値", .en = "score"},
    {.name = "treatment", .type = ISMS_ENUM, .values = treatments, .ja = "対応", .en = "treatment"},
    {.name = "controls",
     .type = ISMS_STRLIST,
     .max = 200,
     .max_len = 32,
     .ja = "適用管理策",
     .en = "controls applied"},
    {.name = "residual_likelihood",
     .type = ISMS_INT,
     .min = 1,
     .max = 5,
     .ja = "残留リスクの発生可能性",
     .en = "residual likelihood"},
    {.name = "residual_impact",
     .type = ISMS_INT,
     .min = 1,
     .max = 5,
     .ja = "残留リスクの影響度",
     .en = "residual impact"},
    {.name = "residual_score",
     .type = ISMS_INT,
     .min = 1,
     .max = 25,
     .ja = "残留リスク値",
     .en = "residual score"},
    {.name = "owner", .type = ISMS_REF, .ref_kind = "staff", .ja = "リスク所有者", .en = "owner"},
    {.name = "review_date", .type = ISMS_DATE, .ja = "見直し日", .en = "review date"},
};

static int64_t int_of(const json_t *rec, const char *k)
{
	const json_t *v = json_object_get(rec, k);
	return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

/*
 * The scores are derived: score = likelihood x impact, residual_score =
 * residual_likelihood x residual_impact (whatever the input said).
 * Residual values come in pairs, need a treatment, and may not exceed the
 * inherent risk: controls do not make a risk worse. The department, when
 * not given, is the asset's.
 */
static int risk_check(struct isms_ctx *c, json_t *rec, struct diag *d)
{
	int64_t l = int_of(rec, "likelihood"), i = int_of(rec, "impact");
	int64_t rl = int_of(rec, "residual_likelihood"), ri = int_of(rec, "residual_impact");
	const json_t *asset = json_object_get(rec, "asset");

	if (json_object_set_new(rec, "score", json_integer(l * i)) < 0)
		return ERR_NOMEM;
	json_object_del(rec, "residual_score");
	if ((rl == 0) != (ri == 0)) {
		diag_error(d, NULL, 0, 0, rl ? "residual_impact" : "residual_likelihood",
			   T("残留リスクは発生可能性と影響度の両方が必要です",
			     "residual risk needs both likelihood and impact"));
		return 0;
	}
	if (rl) {
		if (!json_object_get(rec, "treatment"))
			diag_error(d, NULL, 0, 0, "treatment",
				   T("残留リスクを評価するには対応を決めてください",
				     "decide the treatment before assessing residual risk"));
		if (rl * ri > l * i)
			diag_error(
			    d, NULL, 0, 0, "residual_score",
			    T("残留リスク %" PRId64 " が固有リスク %" PRId64 " を超えています",
			      "residual risk %" PRId64 " exceeds the inherent risk %" PRId64),
			    rl * ri, l * i);
		if (json_object_set_new(rec, "residual_score", json_integer(rl * ri)) < 0)
			return ERR_NOMEM;
	}
	/* A risk belongs to the department of its asset unless it says so:
	 * department managers then see the risks of their own assets. */
	if (!json_object_get(rec, "dept") && json_is_string(asset)) {
		struct isms_row row;
		int r = isms_row_load(c, &isms_kind_assets, json_string_value(asset), &row);
		if (r == 0) {
			const char *dept = isms_record_dept(&isms_kind_assets, row.data);
			if (*dept)
				json_object_set_new(rec, "dept", json_string(dept));
			isms_row_release(&row);
		} else if (r != ERR_NOT_FOUND) {
			return r;
		}
	}
	return 0;
}

static int risk_derive(struct isms_ctx *c, json_t *out)
{
	const json_t *t = json_object_get(out, "threat");
	const struct isms_threat *th =
	    json_is_string(t) ? isms_threat_find(json_string_value(t)) : NULL;

	(void)c;
	if (!th)
		return 0;
	if (json_object_set_new(out, "threat_category", json_string(th->category)) < 0 ||
	    json_object_set_new(out, "threat_label", json_string(T(th->ja, th->en))) < 0 ||
	    json_object_set_new(out, "threat_category_label",
				json_string(isms_threat_category_label(th->category))) < 0)
		return ERR_NOMEM;
	return 0;
}

const struct isms_kind isms_kind_risks = {
    .name = "risks",
    .ja = "リスク",
    .en = "risks",
    .id_prefix = "RK",
    .fields = risk_fields,
    .nfields = ARRAY_SIZE(risk_fields),
    .dept_field = "dept",
    .check = risk_check,
    .derive = risk_derive,
};

int isms_risk_heatmap(struct isms_ctx *c, json_t **out)
{
	struct isms_row *rows = NULL;
	size_t n = 0, unassessed = 0;
	int64_t inh[5][5] = {{0}}, res[5][5] = {{0}};
	json_t *o = NULL, *mi = NULL, *mr = NULL;
	int r;

	*out = NULL;
	if ((r = isms_select(c, &isms_kind_risks, NULL, &rows, &n)) < 0)
		return r;
	for (size_t k = 0; k < n; k++) {
		int64_t l = int_of(rows[k].data, "likelihood"), i = int_of(rows[k].data, "impact");
		int64_t rl = int_of(rows[k].data, "residual_likelihood"),
			ri = int_of(rows[k].data, "residual_impact");
		if (l >= 1 && l <= 5 && i >= 1 && i <= 5)
			inh[i - 1][l - 1]++;
		if (rl >= 1 && rl <= 5 && ri >= 1 && ri <= 5)
			res[ri - 1][rl - 1]++;
		else
			unassessed++;
	}
	if (!(o = json_object()) || !(mi = json_array()) || !(mr = json_array())) {
		r = ERR_NOMEM;
		goto out;
	}
	for (int i = 0; i < 5; i++) {
		json_t *a = json_array(), *b = json_array();
		for (int l = 0; a && b && l < 5; l++) {
			json_array_append_new(a, json_integer(inh[i][l]));
			json_array_append_new(b, json_integer(res[i][l]));
		}
		json_array_append_new(mi, a);
		json_array_append_new(mr, b);
	}
	json_object_set_new(o, "total", json_integer((json_int_t)n));
	json_object_set_new(o, "rows", json_string("impact 1..5"));
	json_object_set_new(o, "columns", json_string("likelihood 1..5"));
	json_object_set_new(o, "inherent", mi);
	json_object_set_new(o, "residual", mr);
	json_object_set_new(o, "residual_unassessed", json_integer((json_int_t)unassessed));
	mi = mr = NULL;
	*out = o;
	o = NULL;
	r = 0;
out:
	json_decref(mi);
	json_decref(mr);
	json_decref(o);
	isms_rows_free(rows, n);
	return r;
}
