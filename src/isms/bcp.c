/*
 * bcp.c - ICT business continuity (ICT-BCP): critical systems with their
 * recovery objectives, the 72-hour initial-response checklist, and drills
 * (isms_cycle.h).
 */
#include "base/base.h"

#include "base/i18n.h"
#include "base/timeutil.h"
#include "isms/isms_cycle_int.h"

static const char *const BS_TIER[] = {"critical", "high", "medium", "low", NULL};

static const struct isms_field f_systems[] = {
    {"name", ISMS_TEXT, true, 200, 0, 0, NULL, NULL, "システム名", "System"},
    {"system_id", ISMS_TEXT, false, 64, 0, 0, NULL, NULL, "台帳のシステムID",
     "System id in the registry"},
    {"dept", ISMS_REF, false, 0, 0, 0, NULL, "departments", "所管部署", "Department"},
    {"tier", ISMS_ENUM, false, 0, 0, 0, BS_TIER, NULL, "重要度", "Tier"},
    {"rto_hours", ISMS_INT, true, 0, 0, 8760, NULL, NULL, "目標復旧時間（時間）",
     "Recovery time objective (hours)"},
    {"rpo_hours", ISMS_INT, true, 0, 0, 8760, NULL, NULL, "目標復旧時点（時間）",
     "Recovery point objective (hours)"},
    {"dependencies", ISMS_STRLIST, false, 200, 0, 50, NULL, NULL, "依存するもの",
     "Depends on"},
    {"contacts", ISMS_STRLIST, false, 300, 0, 50, NULL, NULL, "連絡先（役割: 氏名 電話）",
     "Contacts (role: name phone)"},
    {"drill_interval_days", ISMS_INT, false, 0, 1, 3660, NULL, NULL, "訓練の間隔（日）",
     "Drill every (days)"},
    {"procedure", ISMS_MARKDOWN, false, 50000, 0, 0, NULL, NULL, "復旧手順", "Recovery procedure"},
};

static int systems_check(struct isms_ctx *c, json_t *rec, struct diag *d)
{
	(void)c;
	if (!json_object_get(rec, "drill_interval_days") &&
	    json_object_set_new(rec, "drill_interval_days", json_integer(365)) != 0)
		return ERR_NOMEM;
	if (cj_int(rec, "rpo_hours", 0) > cj_int(rec, "rto_hours", 0) * 24 + 8760)
		diag_error(d, NULL, 0, 0, "rpo_hours", "%s",
			   T("目標復旧時点が大きすぎます", "the recovery point objective is too large"));
	return 0;
}

const struct isms_kind isms_kind_bcp_systems = {
    .name = "bcp_systems",
    .ja = "業務継続の重要システム",
    .en = "Critical systems (ICT-BCP)",
    .id_prefix = "BS",
    .fields = f_systems,
    .nfields = ARRAY_SIZE(f_systems),
    .dept_field = "dept",
    .check = systems_check,
};

static const struct isms_field f_drills[] = {
    {"system", ISMS_REF, true, 0, 0, 0, NULL, "bcp_systems", "システム", "System"},
    {"date", ISMS_DATE, true, 0, 0, 0, NULL, NULL, "実施日", "Date"},
    {"scenario", ISMS_TEXT, true, 500, 0, 0, NULL, NULL, "想定", "Scenario"},
    {"results", ISMS_MARKDOWN, false, 20000, 0, 0, NULL, NULL, "結果", "Results"},
    {"recovery_hours", ISMS_INT, false, 0, 0, 8760, NULL, NULL, "復旧に要した時間",
     "Hours to recover"},
    {"followups", ISMS_STRLIST, false, ISMS_ID_MAX, 0, 50, NULL, "corrective_actions",
     "フォローアップの是正処置", "Follow-up actions"},
    {"dept", ISMS_TEXT, false, 64, 0, 0, NULL, NULL, "部署（システムから）",
     "Department (from the system)"},
};

static int drills_check(struct isms_ctx *c, json_t *rec, struct diag *d)
{
	return cycle_dept_from(c, &isms_kind_bcp_systems, "system", "システム", "system", rec, d);
}

const struct isms_kind isms_kind_bcp_drills = {
    .name = "bcp_drills",
    .ja = "業務継続訓練",
    .en = "Continuity drills",
    .id_prefix = "BD",
    .fields = f_drills,
    .nfields = ARRAY_SIZE(f_drills),
    .dept_field = "dept",
    .check = drills_check,
};

/* The first 72 hours after a disruption (総務省「ICT部門の業務継続計画」
 * 初動版の考え方): what is done by which hour. */
static const struct {
	int hour;
	const char *ja, *en;
} CHECKLIST[] = {
    {1, "職員の安否確認と ICT-BCP 体制の立ち上げ（参集）",
     "Staff safety check; the ICT-BCP team assembles"},
    {1, "CISO・CSIRT への第一報", "First report to the CISO and the CSIRT"},
    {3, "庁舎・サーバ室・回線・電源の被害状況の確認",
     "Damage to buildings, server rooms, lines and power assessed"},
    {3, "重要システムの稼働確認と復旧の優先順位の決定",
     "Critical systems checked; recovery priorities set"},
    {6, "委託事業者・データセンター・回線事業者への連絡",
     "Contractors, data centre and carriers contacted"},
    {12, "代替手段（紙による受付等）の開始", "Fallback procedures (paper forms) started"},
    {24, "復旧計画の決定と CISO への報告", "Recovery plan decided and reported to the CISO"},
    {24, "総務省・都道府県等への報告と住民への広報",
     "Reports to the ministry and prefecture; notice to residents"},
    {48, "重要業務の暫定復旧", "Critical services restored provisionally"},
    {72, "復旧状況の確認と次の段階の計画", "Recovery reviewed; the next phase planned"},
};

int cycle_bcp_checklist(json_t **out)
{
	json_t *a = json_array();

	if (!a)
		return ERR_NOMEM;
	for (size_t i = 0; i < ARRAY_SIZE(CHECKLIST); i++)
		if (json_array_append_new(a, json_pack("{s:i,s:s,s:s}", "by_hour", CHECKLIST[i].hour,
						       "ja", CHECKLIST[i].ja, "en",
						       CHECKLIST[i].en)) != 0) {
			json_decref(a);
			return ERR_NOMEM;
		}
	*out = a;
	return 0;
}

int cycle_bcp_status(struct isms_ctx *c, json_t **out)
{
	int32_t today = cycle_today(c);
	json_t *systems = NULL, *drills = NULL, *s, *dr, *cl = NULL;
	size_t i, j, overdue = 0;
	int r;

	if ((r = cycle_list_all(c, &isms_kind_bcp_systems, NULL, 0, &systems)) < 0 ||
	    (r = cycle_list_all(c, &isms_kind_bcp_drills, NULL, 0, &drills)) < 0 ||
	    (r = cycle_bcp_checklist(&cl)) < 0)
		goto out;
	json_array_foreach(systems, i, s) {
		int32_t last = DAY_NONE, next;
		int64_t every = cj_int(s, "drill_interval_days", 365);
		const char *last_id = NULL;
		bool late;
		json_array_foreach(drills, j, dr) {
			int32_t dd = cj_day(dr, "date");
			if (cj_str(dr, "system") && !strcmp(cj_str(dr, "system"), cj_id(s)) &&
			    dd != DAY_NONE && dd <= today && (last == DAY_NONE || dd > last)) {
				last = dd;
				last_id = cj_id(dr);
			}
		}
		/* A system never drilled is overdue at once: the plan has not
		 * been tried. */
		next = last == DAY_NONE ? today : last + (int32_t)every;
		late = last == DAY_NONE || next < today;
		overdue += late;
		{
			char t[DATE_TEXT_MAX];
			date_format(next, t);
			json_object_set_new(s, "next_drill_due", json_string(t));
			if (last != DAY_NONE) {
				date_format(last, t);
				json_object_set_new(s, "last_drill", json_string(t));
				json_object_set_new(s, "last_drill_id", json_string(last_id));
			} else {
				json_object_set_new(s, "last_drill", json_null());
			}
			json_object_set_new(s, "drill_overdue", json_boolean(late));
		}
	}
	*out = json_pack("{s:O,s:I,s:O}", "systems", systems, "drills_overdue",
			 (json_int_t)overdue, "initial_response", cl);
	if (!*out)
		r = ERR_NOMEM;
out:
	json_decref(systems);
	json_decref(drills);
	json_decref(cl);
	return r;
}
