/*
 * assets.c - information assets (情報資産): systems, data sets, networks,
 * facilities (管理区域) and removable media, classified by
 * confidentiality, integrity and availability as DOMAIN.md describes,
 * with the handling rules each classification implies (plan.h).
 */
#include "base/base.h"

#include "base/i18n.h"
#include "base/timeutil.h"
#include "isms/isms.h"
#include "isms/plan.h"

static const char *const asset_types[] = {"system",   "dataset",	 "network",
					  "facility", "removable_media", NULL};
static const char *const zones[] = {"mynumber", "lgwan", "internet", NULL};
/* Both schemes of the guideline: the 令和6年10月 five levels and the older
 * three (DOMAIN.md, "Classification of information assets"). */
static const char *const conf_levels[] = {"3A", "3B", "3C", "3", "2", "1", NULL};
static const char *const two_levels[] = {"2", "1", NULL};

static const struct isms_field asset_fields[] = {
    {.name = "name", .type = ISMS_TEXT, .required = true, .ja = "名称", .en = "name"},
    {.name = "type",
     .type = ISMS_ENUM,
     .required = true,
     .values = asset_types,
     .ja = "種別",
     .en = "type"},
    {.name = "dept",
     .type = ISMS_REF,
     .ref_kind = "departments",
     .ja = "所管部署",
     .en = "department"},
    {.name = "owner", .type = ISMS_REF, .ref_kind = "staff", .ja = "管理者", .en = "owner"},
    {.name = "zone", .type = ISMS_ENUM, .values = zones, .ja = "ネットワーク領域", .en = "zone"},
    {.name = "location", .type = ISMS_TEXT, .ja = "設置場所・保管場所", .en = "location"},
    {.name = "system_id",
     .type = ISMS_TEXT,
     .max_len = 64,
     .ja = "システムID(台帳)",
     .en = "system id (registry)"},
    {.name = "confidentiality",
     .type = ISMS_ENUM,
     .required = true,
     .values = conf_levels,
     .ja = "機密性",
     .en = "confidentiality"},
    {.name = "integrity",
     .type = ISMS_ENUM,
     .required = true,
     .values = two_levels,
     .ja = "完全性",
     .en = "integrity"},
    {.name = "availability",
     .type = ISMS_ENUM,
     .required = true,
     .values = two_levels,
     .ja = "可用性",
     .en = "availability"},
    {.name = "description",
     .type = ISMS_MARKDOWN,
     .max_len = 20000,
     .ja = "説明",
     .en = "description"},
    {.name = "issued_to", .type = ISMS_REF, .ref_kind = "staff", .ja = "貸与先", .en = "issued to"},
    {.name = "encrypted", .type = ISMS_BOOL, .ja = "暗号化", .en = "encrypted"},
    {.name = "last_inventory", .type = ISMS_DATE, .ja = "最終棚卸日", .en = "last inventory"},
};

static bool is(const json_t *rec, const char *field, const char *value)
{
	const json_t *v = json_object_get(rec, field);
	return json_is_string(v) && !strcmp(json_string_value(v), value);
}

/*
 * Cross-field rules: networks and systems live in a zone; the fields of
 * removable media (USB memory and the like) belong to removable media
 * only, and such media must say whether they are encrypted; an inventory
 * cannot be dated in the future.
 */
static int asset_check(struct isms_ctx *c, json_t *rec, struct diag *d)
{
	bool media = is(rec, "type", "removable_media");
	static const char *const media_only[] = {"issued_to", "encrypted", "last_inventory"};
	const json_t *inv = json_object_get(rec, "last_inventory");
	char today[11];

	if ((is(rec, "type", "system") || is(rec, "type", "network")) &&
	    !json_object_get(rec, "zone"))
		diag_error(d, NULL, 0, 0, "zone",
			   T("システムとネットワークにはネットワーク領域が必要です",
			     "systems and networks need a zone"));
	for (size_t i = 0; !media && i < ARRAY_SIZE(media_only); i++)
		if (json_object_get(rec, media_only[i]))
			diag_error(d, NULL, 0, 0, media_only[i],
				   T("外部記録媒体(removable_media)だけの項目です",
				     "only for removable media (type removable_media)"));
	if (media && !json_object_get(rec, "encrypted"))
		diag_error(d, NULL, 0, 0, "encrypted",
			   T("外部記録媒体は暗号化の有無が必要です",
			     "removable media must say whether they are encrypted"));
	isms_today(c, today);
	if (json_is_string(inv) && strcmp(json_string_value(inv), today) > 0)
		diag_error(d, NULL, 0, 0, "last_inventory",
			   T("未来の日付です(今日は %s)", "in the future (today is %s)"), today);
	return 0;
}

/* ---- handling rules ---- */

struct rule {
	const char *code, *ja, *en;
};

static const struct rule r_secret = {
    "secret_document", "秘密文書に相当する管理(登録・番号管理・閲覧者の記録)",
    "manage as a secret document (register, numbered copies, record of readers)"};
static const struct rule r_issued = {"issued_devices_only",
				     "支給以外の端末・記録媒体での取扱いを禁止",
				     "handle only on devices and media issued by the municipality"};
static const struct rule r_copies = {"no_unneeded_copies", "必要以上の複製・配付を禁止",
				     "no copies or distribution beyond need"};
static const struct rule r_transit = {"encrypt_in_transit", "送信時は暗号化する",
				      "encrypt in transit"};
static const struct rule r_carry = {"encrypt_when_carried", "持ち出し時は暗号化し、許可を得る",
				    "encrypt when carried outside, with permission"};
static const struct rule r_locked = {"locked_storage", "記録媒体は施錠して保管する",
				     "keep media in locked storage"};
static const struct rule r_dispose = {"irrecoverable_disposal", "廃棄時は復元不可能な処理をする",
				      "dispose of it so that it cannot be recovered"};
static const struct rule r_need = {"need_to_know", "業務上必要な者に限り取り扱う",
				   "only people whose work needs it handle it"};
static const struct rule r_backup = {"backup", "バックアップを取得する", "keep backups"};
static const struct rule r_tamper = {"change_control", "改ざん・誤りを防ぐため変更を記録し確認する",
				     "record and check changes against tampering and error"};
static const struct rule r_recovery = {"recovery_time", "復旧目標時間を定め、復旧手順を備える",
				       "define a recovery time and keep a recovery procedure"};

static int add_rule(json_t *arr, const struct rule *ru, const char *because)
{
	json_t *o;
	size_t i;
	json_t *it;

	json_array_foreach(arr, i, it)
	{
		if (!strcmp(json_string_value(json_object_get(it, "rule")), ru->code))
			return 0;
	}
	o = json_pack("{s:s,s:s,s:s,s:s,s:s}", "rule", ru->code, "text", T(ru->ja, ru->en), "ja",
		      ru->ja, "en", ru->en, "because", because);
	if (!o || json_array_append_new(arr, o) < 0)
		return ERR_NOMEM;
	return 0;
}

int isms_asset_handling(const char *conf, const char *integ, const char *avail, json_t **out)
{
	json_t *arr = json_array();
	bool c3 = conf && conf[0] == '3';
	int r = 0;

	*out = NULL;
	if (!arr)
		return ERR_NOMEM;
	if (conf && !strcmp(conf, "3A"))
		r = add_rule(arr, &r_secret, "confidentiality");
	if (c3) {
		const struct rule *rs[] = {&r_issued, &r_copies, &r_transit,
					   &r_carry,  &r_locked, &r_dispose};
		for (size_t i = 0; r == 0 && i < ARRAY_SIZE(rs); i++)
			r = add_rule(arr, rs[i], "confidentiality");
	}
	if (conf && !strcmp(conf, "2")) {
		const struct rule *rs[] = {&r_need, &r_copies, &r_carry};
		for (size_t i = 0; r == 0 && i < ARRAY_SIZE(rs); i++)
			r = add_rule(arr, rs[i], "confidentiality");
	}
	if (r == 0 && integ && !strcmp(integ, "2")) {
		r = add_rule(arr, &r_backup, "integrity");
		if (r == 0)
			r = add_rule(arr, &r_tamper, "integrity");
	}
	if (r == 0 && avail && !strcmp(avail, "2")) {
		r = add_rule(arr, &r_backup, "availability");
		if (r == 0)
			r = add_rule(arr, &r_recovery, "availability");
	}
	if (r < 0) {
		json_decref(arr);
		return r;
	}
	*out = arr;
	return 0;
}

static const char *str_of(const json_t *o, const char *k)
{
	const json_t *v = json_object_get(o, k);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Every asset is shown with the handling rules of its classification. */
static int asset_derive(struct isms_ctx *c, json_t *out)
{
	json_t *rules;
	int r;

	(void)c;
	if ((r = isms_asset_handling(str_of(out, "confidentiality"), str_of(out, "integrity"),
				     str_of(out, "availability"), &rules)) < 0)
		return r;
	return json_object_set_new(out, "handling", rules) < 0 ? ERR_NOMEM : 0;
}

const struct isms_kind isms_kind_assets = {
    .name = "assets",
    .ja = "情報資産",
    .en = "information assets",
    .id_prefix = "AS",
    .fields = asset_fields,
    .nfields = ARRAY_SIZE(asset_fields),
    .dept_field = "dept",
    .check = asset_check,
    .derive = asset_derive,
};
