/*
 * incidents.c - incidents handled by the CSIRT (isms_cycle.h): the kinds
 * incidents, incident_tasks, incident_timeline and incident_evidence, the
 * PPC clocks of an incident, its workflows, and the draft of the report
 * to the 個人情報保護委員会.
 */
#include "base/base.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "base/fileio.h"
#include "base/i18n.h"
#include "base/timeutil.h"
#include "isms/isms_cycle_int.h"
#include "isms/isms_int.h"
#include "isms/report.h"
#include "ledger/ledger.h"
#include "ledger/merkle.h"
#include "watch/alerts.h"

/* ---- kinds ---- */

static const char *const INC_STATUS[] = {"reported", "triaged", "contained", "recovered",
					 "closed", NULL};
/* The categories of the seed policies and the MIC guideline's examples. */
static const char *const INC_CATEGORY[] = {
    "unauthorized_access", "unauthorized_viewing", "media_loss", "misdelivery", "malware",
    "defacement", "outage", "dos", "phishing", "physical", "other", NULL};
static const char *const INC_SEVERITY[] = {"low", "medium", "high", "critical", NULL};
/* The three layers of the network separation (三層の対策). */
static const char *const INC_ZONES[] = {"mynumber", "lgwan", "internet", NULL};

static const struct isms_field f_incidents[] = {
    {"title", ISMS_TEXT, true, 200, 0, 0, NULL, NULL, "件名", "Title"},
    {"description", ISMS_MARKDOWN, false, 20000, 0, 0, NULL, NULL, "概要", "Description"},
    {"status", ISMS_ENUM, false, 0, 0, 0, INC_STATUS, NULL, "状態", "Status"},
    {"category", ISMS_ENUM, false, 0, 0, 0, INC_CATEGORY, NULL, "分類", "Category"},
    {"severity", ISMS_ENUM, false, 0, 0, 0, INC_SEVERITY, NULL, "重大度", "Severity"},
    {"dept", ISMS_REF, false, 0, 0, 0, NULL, "departments", "部署", "Department"},
    {"reported_by", ISMS_TEXT, false, 128, 0, 0, NULL, NULL, "報告者", "Reported by"},
    {"assets", ISMS_STRLIST, false, 64, 0, 100, NULL, NULL, "影響を受けた情報資産",
     "Assets affected"},
    {"zones", ISMS_STRLIST, false, 16, 0, 3, NULL, NULL, "影響を受けたネットワーク領域",
     "Network zones affected"},
    {"occurred_at", ISMS_DATETIME, false, 0, 0, 0, NULL, NULL, "発生日時", "Occurred at"},
    {"aware_at", ISMS_DATETIME, false, 0, 0, 0, NULL, NULL, "認知日時", "Became aware at"},
    {"personal_data", ISMS_BOOL, false, 0, 0, 0, NULL, NULL, "個人情報を含む",
     "Personal information involved"},
    {"people", ISMS_INT, false, 0, 0, 1000000000, NULL, NULL, "本人の数", "Number of people"},
    {"data_items", ISMS_TEXT, false, 500, 0, 0, NULL, NULL, "個人情報の項目",
     "Items of personal information"},
    {"special_care", ISMS_BOOL, false, 0, 0, 0, NULL, NULL, "要配慮個人情報",
     "Special-care personal information"},
    {"financial_harm", ISMS_BOOL, false, 0, 0, 0, NULL, NULL, "財産的被害のおそれ",
     "Risk of financial harm"},
    {"improper_purpose", ISMS_BOOL, false, 0, 0, 0, NULL, NULL, "不正の目的によるおそれ",
     "Possibly an improper purpose"},
    {"encrypted", ISMS_BOOL, false, 0, 0, 0, NULL, NULL, "高度な暗号化により保護",
     "Protected by strong encryption"},
    {"my_number", ISMS_BOOL, false, 0, 0, 0, NULL, NULL, "特定個人情報", "My Number data"},
    {"secondary_harm", ISMS_MARKDOWN, false, 5000, 0, 0, NULL, NULL, "二次被害（のおそれ）",
     "Secondary harm"},
    {"measures", ISMS_MARKDOWN, false, 20000, 0, 0, NULL, NULL, "対応・再発防止策",
     "Response and prevention"},
    {"ppc_prelim_at", ISMS_DATETIME, false, 0, 0, 0, NULL, NULL, "速報日時",
     "Preliminary report sent at"},
    {"ppc_final_at", ISMS_DATETIME, false, 0, 0, 0, NULL, NULL, "確報日時",
     "Final report sent at"},
    {"notice_at", ISMS_DATETIME, false, 0, 0, 0, NULL, NULL, "本人通知日時",
     "People notified at"},
    {"published_at", ISMS_DATETIME, false, 0, 0, 0, NULL, NULL, "公表日時", "Published at"},
    {"ppc_number", ISMS_TEXT, false, 64, 0, 0, NULL, NULL, "委員会の受付番号",
     "Commission's reference"},
    {"alert_ids", ISMS_STRLIST, false, 20, 0, 100, NULL, NULL, "監視アラート", "Watch alerts"},
    {"root_cause", ISMS_MARKDOWN, false, 20000, 0, 0, NULL, NULL, "根本原因", "Root cause"},
    {"lessons", ISMS_MARKDOWN, false, 20000, 0, 0, NULL, NULL, "教訓", "Lessons"},
    {"closed_at", ISMS_DATETIME, false, 0, 0, 0, NULL, NULL, "終結日時", "Closed at"},
};

/* Fields only the CSIRT (ROLES_CSIRT_WORK) sets: the triage, the reports
 * and the closure. A reporter writes the facts while the incident is
 * still "reported"; after that the CSIRT owns the record. */
static const char *const CSIRT_ONLY[] = {"severity", "ppc_prelim_at", "ppc_final_at",
					 "notice_at",	 "published_at",  "ppc_number",
					 "root_cause",	 "lessons",	  "closed_at"};

static bool in_list(const char *const *list, const char *s)
{
	for (; *list; list++)
		if (!strcmp(*list, s))
			return true;
	return false;
}

static int incidents_check(struct isms_ctx *c, json_t *rec, struct diag *d)
{
	const char *status = cj_str(rec, "status");
	json_t *zones = json_object_get(rec, "zones"), *z;
	int64_t occ = cj_ts(rec, "occurred_at"), aware = cj_ts(rec, "aware_at");
	size_t i;

	if (!status) {
		if (json_object_set_new(rec, "status", json_string("reported")) != 0)
			return ERR_NOMEM;
		status = "reported";
	}
	json_array_foreach(zones, i, z) {
		if (!json_is_string(z) || !in_list(INC_ZONES, json_string_value(z)))
			diag_error(d, NULL, 0, 0, "zones",
				   T("ネットワーク領域は mynumber, lgwan, internet のいずれかです",
				     "a zone is one of mynumber, lgwan, internet"));
	}
	if (occ != TS_NONE && aware != TS_NONE && aware < occ)
		diag_error(d, NULL, 0, 0, "aware_at", "%s",
			   T("認知日時が発生日時より前になっています",
			     "the time of awareness is before the time of occurrence"));
	if (!actor_has(c->actor, ROLES_CSIRT_WORK)) {
		if (strcmp(status, "reported") != 0)
			diag_error(d, NULL, 0, 0, "status", "%s",
				   T("受付後のインシデントを変更できるのは CSIRT だけです",
				     "only the CSIRT changes an incident once it is triaged"));
		for (i = 0; i < ARRAY_SIZE(CSIRT_ONLY); i++)
			if (json_object_get(rec, CSIRT_ONLY[i]))
				diag_error(d, NULL, 0, 0, CSIRT_ONLY[i], "%s",
					   T("この項目を設定できるのは CSIRT だけです",
					     "only the CSIRT sets this field"));
	}
	if (!strcmp(status, "closed"))
		for (i = 0; i < 3; i++) {
			static const char *const need[] = {"root_cause", "lessons", "closed_at"};
			if (!json_object_get(rec, need[i]))
				diag_error(d, NULL, 0, 0, need[i], "%s",
					   T("終結には根本原因・教訓・終結日時が必要です",
					     "closing needs the root cause, the lessons and the time"));
		}
	return 0;
}

/* The child kinds copy the department of their incident, so that a
 * department manager sees the tasks and timeline of their department's
 * incidents only. */
static int child_check(struct isms_ctx *c, json_t *rec, struct diag *d)
{
	return cycle_dept_from(c, &isms_kind_incidents, "incident", "インシデント", "incident", rec,
			       d);
}

static int timeline_check(struct isms_ctx *c, json_t *rec, struct diag *d)
{
	char now[TS_TEXT_MAX];

	if (!json_object_get(rec, "at")) {
		ts_format_jst(isms_now(c), now);
		if (json_object_set_new(rec, "at", json_string(now)) != 0)
			return ERR_NOMEM;
	}
	return child_check(c, rec, d);
}

static int task_check(struct isms_ctx *c, json_t *rec, struct diag *d)
{
	if (!json_object_get(rec, "status") &&
	    json_object_set_new(rec, "status", json_string("open")) != 0)
		return ERR_NOMEM;
	if (!strcmp(cj_str(rec, "status") ? cj_str(rec, "status") : "", "done") &&
	    !json_object_get(rec, "done_on"))
		diag_error(d, NULL, 0, 0, "done_on", "%s",
			   T("完了したタスクには完了日が必要です", "a task done needs the date"));
	return child_check(c, rec, d);
}

const struct isms_kind isms_kind_incidents = {
    .name = "incidents",
    .ja = "インシデント",
    .en = "Incidents",
    .id_prefix = "IN",
    .fields = f_incidents,
    .nfields = ARRAY_SIZE(f_incidents),
    .dept_field = "dept",
    .write_roles = ROLES_INCIDENT_REPORT,
    .check = incidents_check,
};

static const char *const TASK_STATUS[] = {"open", "done", "cancelled", NULL};
static const struct isms_field f_tasks[] = {
    {"incident", ISMS_REF, true, 0, 0, 0, NULL, "incidents", "インシデント", "Incident"},
    {"title", ISMS_TEXT, true, 200, 0, 0, NULL, NULL, "タスク", "Task"},
    {"owner", ISMS_TEXT, true, 128, 0, 0, NULL, NULL, "担当", "Owner"},
    {"due", ISMS_DATE, true, 0, 0, 0, NULL, NULL, "期限", "Due"},
    {"status", ISMS_ENUM, false, 0, 0, 0, TASK_STATUS, NULL, "状態", "Status"},
    {"done_on", ISMS_DATE, false, 0, 0, 0, NULL, NULL, "完了日", "Done on"},
    {"dept", ISMS_TEXT, false, 64, 0, 0, NULL, NULL, "部署（インシデントから）",
     "Department (from the incident)"},
};

const struct isms_kind isms_kind_incident_tasks = {
    .name = "incident_tasks",
    .ja = "インシデント対応タスク",
    .en = "Incident tasks",
    .id_prefix = "IT",
    .fields = f_tasks,
    .nfields = ARRAY_SIZE(f_tasks),
    .dept_field = "dept",
    .check = task_check,
};

static const char *const TL_TYPE[] = {"report", "triage", "note", "action", "share", "evidence",
				      "task", "escalation", "ppc", "close", NULL};
static const struct isms_field f_timeline[] = {
    {"incident", ISMS_REF, true, 0, 0, 0, NULL, "incidents", "インシデント", "Incident"},
    {"at", ISMS_DATETIME, false, 0, 0, 0, NULL, NULL, "日時", "At"},
    {"type", ISMS_ENUM, true, 0, 0, 0, TL_TYPE, NULL, "種別", "Type"},
    {"text", ISMS_MARKDOWN, true, 10000, 0, 0, NULL, NULL, "内容", "Text"},
    {"party", ISMS_TEXT, false, 200, 0, 0, NULL, NULL, "共有先（外部CSIRT等）",
     "Shared with (outside CSIRT, body)"},
    {"dept", ISMS_TEXT, false, 64, 0, 0, NULL, NULL, "部署（インシデントから）",
     "Department (from the incident)"},
};

const struct isms_kind isms_kind_incident_timeline = {
    .name = "incident_timeline",
    .ja = "インシデント経過",
    .en = "Incident timeline",
    .id_prefix = "IL",
    .fields = f_timeline,
    .nfields = ARRAY_SIZE(f_timeline),
    .dept_field = "dept",
    .write_roles = ROLES_INCIDENT_REPORT,
    .check = timeline_check,
};

static const char *const EV_TYPE[] = {"file", "alert", "ledger", NULL};
static const struct isms_field f_evidence[] = {
    {"incident", ISMS_REF, true, 0, 0, 0, NULL, "incidents", "インシデント", "Incident"},
    {"type", ISMS_ENUM, true, 0, 0, 0, EV_TYPE, NULL, "種別", "Type"},
    {"name", ISMS_TEXT, false, 200, 0, 0, NULL, NULL, "名前", "Name"},
    {"sha256", ISMS_TEXT, false, 64, 0, 0, NULL, NULL, "SHA-256", "SHA-256"},
    {"size", ISMS_INT, false, 0, 0, INT64_MAX, NULL, NULL, "大きさ（バイト）", "Size (bytes)"},
    {"alert_id", ISMS_INT, false, 0, 1, INT64_MAX, NULL, NULL, "アラート番号", "Alert id"},
    {"ledger_index", ISMS_INT, false, 0, 0, INT64_MAX, NULL, NULL, "台帳の番号",
     "Ledger index"},
    {"tree_size", ISMS_INT, false, 0, 1, INT64_MAX, NULL, NULL, "証明の木の大きさ",
     "Proof tree size"},
    {"leaf_hash", ISMS_TEXT, false, 64, 0, 0, NULL, NULL, "葉ハッシュ", "Leaf hash"},
    {"root", ISMS_TEXT, false, 64, 0, 0, NULL, NULL, "ルートハッシュ", "Root hash"},
    {"proof", ISMS_MARKDOWN, false, 8000, 0, 0, NULL, NULL, "包含証明", "Inclusion proof"},
    {"content", ISMS_MARKDOWN, false, 100000, 0, 0, NULL, NULL, "内容", "Content"},
    {"dept", ISMS_TEXT, false, 64, 0, 0, NULL, NULL, "部署（インシデントから）",
     "Department (from the incident)"},
};

const struct isms_kind isms_kind_incident_evidence = {
    .name = "incident_evidence",
    .ja = "インシデント証拠",
    .en = "Incident evidence",
    .id_prefix = "IE",
    .fields = f_evidence,
    .nfields = ARRAY_SIZE(f_evidence),
    .dept_field = "dept",
    .write_roles = ROLES_CSIRT_WORK | ROLE_DEPT_MANAGER,
    .check = child_check,
};

/* ---- the PPC clocks ---- */

static json_t *day_json(int32_t day)
{
	char t[DATE_TEXT_MAX];

	if (day == DAY_NONE)
		return json_null();
	date_format(day, t);
	return json_string(t);
}

static json_t *clock_json(const struct ppc_clock *k)
{
	char t[TS_TEXT_MAX];
	json_t *o;

	o = json_pack("{s:s,s:o,s:o,s:b,s:o,s:I}", "state", ppc_clock_state_name(k->state),
		      "target", day_json(k->target_day), "limit", day_json(k->limit_day),
		      "limit_closed", k->limit_closed, "prepare_by", day_json(k->prepare_by),
		      "days", (json_int_t)k->days);
	if (!o)
		return NULL;
	if (k->limit_at != TS_NONE) {
		ts_format_jst(k->limit_at, t);
		if (json_object_set_new(o, "limit_at", json_string(t)) != 0 ||
		    json_object_set_new(o, "seconds_left", json_integer(k->seconds_left)) != 0) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

int cycle_incident_ppc(const struct isms_ctx *c, const struct cycle_env *env, const json_t *rec,
		       json_t **out)
{
	static const enum ppc_reason all[] = {PPC_R_SPECIAL_CARE, PPC_R_FINANCIAL, PPC_R_IMPROPER,
					      PPC_R_PEOPLE, PPC_R_MY_NUMBER};
	struct ppc_facts f;
	struct ppc_done done;
	struct ppc_schedule s;
	json_t *o, *reasons;

	cycle_incident_facts(rec, &f, &done);
	ppc_schedule_compute(&env->ppc, &f, &done, isms_now(c), &s);
	reasons = json_array();
	if (!reasons)
		return ERR_NOMEM;
	for (size_t i = 0; i < ARRAY_SIZE(all); i++)
		if ((s.decision.reasons & all[i]) &&
		    json_array_append_new(reasons, json_pack("{s:s,s:s}", "code",
							     ppc_reason_name(all[i]), "label",
							     ppc_reason_label(all[i]))) != 0) {
			json_decref(reasons);
			return ERR_NOMEM;
		}
	o = json_pack("{s:b,s:o,s:b,s:b,s:{s:o,s:o,s:o},s:{s:I,s:i,s:i,s:i,s:i,s:b}}", "required",
		      s.decision.required, "reasons", reasons, "exempt_encrypted",
		      s.decision.exempt_encrypted, "overdue",
		      ppc_clock_overdue(&s.prelim) || ppc_clock_overdue(&s.final) ||
			  ppc_clock_overdue(&s.notice),
		      "clocks", "prelim", clock_json(&s.prelim), "final", clock_json(&s.final),
		      "notice", clock_json(&s.notice), "policy", "people_threshold",
		      (json_int_t)env->ppc.people_threshold, "prelim_target_days",
		      (int)env->ppc.prelim_target_days, "prelim_limit_days",
		      (int)env->ppc.prelim_limit_days, "final_days",
		      (int)(f.improper_purpose ? env->ppc.final_days_improper : env->ppc.final_days),
		      "notice_days", (int)env->ppc.notice_days, "first_day_counts",
		      env->ppc.first_day_counts);
	if (!o)
		return ERR_NOMEM;
	*out = o;
	return 0;
}

/* ---- workflows ---- */

static int add_timeline(struct isms_ctx *c, const char *inc, const char *type, const char *text,
			const char *party, struct diag *d, char id_out[ISMS_ID_MAX])
{
	json_t *e = json_pack("{s:s,s:s,s:s}", "incident", inc, "type", type, "text", text);
	char ignored[ISMS_ID_MAX];
	int r;

	if (!e)
		return ERR_NOMEM;
	if ((r = cj_set_str(e, "party", party)) == 0)
		r = isms_create(c, &isms_kind_incident_timeline, e, d, id_out ? id_out : ignored);
	json_decref(e);
	return r;
}

int cycle_incident_report(struct isms_ctx *c, json_t *data, struct diag *d,
			  char id_out[ISMS_ID_MAX])
{
	char now[TS_TEXT_MAX], text[400];
	json_t *rec = NULL;
	int r;

	if (!actor_has(c->actor, ROLES_INCIDENT_REPORT))
		return ERR_FORBIDDEN;
	if (!json_is_object(data)) {
		diag_error(d, NULL, 0, 0, NULL, "%s",
			   T("本文は JSON オブジェクトです", "the body must be a JSON object"));
		return ERR_INVALID;
	}
	if (!(rec = json_deep_copy(data)))
		return ERR_NOMEM;
	ts_format_jst(isms_now(c), now);
	if (json_object_set_new(rec, "status", json_string("reported")) != 0 ||
	    json_object_set_new(rec, "reported_by", json_string(c->actor->name)) != 0 ||
	    (!json_object_get(rec, "aware_at") &&
	     json_object_set_new(rec, "aware_at", json_string(now)) != 0) ||
	    (!json_object_get(rec, "dept") && c->actor->dept[0] &&
	     json_object_set_new(rec, "dept", json_string(c->actor->dept)) != 0)) {
		r = ERR_NOMEM;
		goto out;
	}
	if ((r = isms_tx_begin(c)) < 0)
		goto out;
	if ((r = isms_create(c, &isms_kind_incidents, rec, d, id_out)) < 0)
		goto out;
	cycle_fmt(text, sizeof(text), "%s: %s", T("報告", "Reported"),
		  cj_str(rec, "title") ? cj_str(rec, "title") : "");
	if ((r = add_timeline(c, id_out, "report", text, NULL, d, NULL)) < 0)
		goto out;
	r = isms_tx_commit(c);
out:
	if (r < 0)
		isms_tx_rollback(c);
	json_decref(rec);
	return r;
}

int cycle_incident_list(struct isms_ctx *c, const struct cycle_env *env,
			const struct isms_query *q, json_t **out, size_t *total)
{
	json_t *items = NULL, *it, *ppc;
	size_t i;
	int r;

	if ((r = isms_list(c, &isms_kind_incidents, q, &items, total)) < 0)
		return r;
	json_array_foreach(items, i, it) {
		if ((r = cycle_incident_ppc(c, env, it, &ppc)) < 0) {
			json_decref(items);
			return r;
		}
		json_object_set_new(it, "ppc", ppc);
	}
	*out = items;
	return 0;
}

int cycle_incident_view(struct isms_ctx *c, const struct cycle_env *env, const char *id,
			json_t **out)
{
	const char *const filt[1][2] = {{"incident", id}};
	json_t *rec = NULL, *v = NULL;
	int r;

	if ((r = isms_get(c, &isms_kind_incidents, id, &rec)) < 0)
		return r;
	if ((r = cycle_incident_ppc(c, env, rec, &v)) < 0)
		goto out;
	json_object_set_new(rec, "ppc", v);
	if ((r = cycle_list_all(c, &isms_kind_incident_tasks, filt, 1, &v)) < 0)
		goto out;
	json_object_set_new(rec, "tasks", v);
	if ((r = cycle_list_all(c, &isms_kind_incident_timeline, filt, 1, &v)) < 0)
		goto out;
	json_object_set_new(rec, "timeline", v);
	if ((r = cycle_list_all(c, &isms_kind_incident_evidence, filt, 1, &v)) < 0)
		goto out;
	json_object_set_new(rec, "evidence", v);
	if ((r = isms_history(c, &isms_kind_incidents, id, &v)) < 0)
		goto out;
	json_object_set_new(rec, "history", v);
out:
	if (r < 0)
		json_decref(rec);
	else
		*out = rec;
	return r;
}

int cycle_incident_triage(struct isms_ctx *c, const char *id, json_t *patch, struct diag *d)
{
	char text[600];
	size_t used = 0;
	const char *key;
	json_t *v;
	int r;

	if (!actor_has(c->actor, ROLES_CSIRT_WORK))
		return ERR_FORBIDDEN;
	if (!json_is_object(patch)) {
		diag_error(d, NULL, 0, 0, NULL, "%s",
			   T("本文は JSON オブジェクトです", "the body must be a JSON object"));
		return ERR_INVALID;
	}
	text[0] = '\0';
	json_object_foreach(patch, key, v) {
		int n;
		if (key[0] == '_')
			continue;
		if (json_is_string(v) && strlen(json_string_value(v)) < 60)
			n = snprintf(text + used, sizeof(text) - used, "%s%s=%s", used ? ", " : "",
				     key, json_string_value(v));
		else
			n = snprintf(text + used, sizeof(text) - used, "%s%s", used ? ", " : "", key);
		if (n < 0 || (size_t)n >= sizeof(text) - used)
			break;
		used += (size_t)n;
	}
	if ((r = isms_tx_begin(c)) < 0)
		return r;
	if ((r = isms_update_op(c, &isms_kind_incidents, id, patch, 0, "triage", d)) < 0 ||
	    (r = add_timeline(c, id, "triage", used ? text : "-", NULL, d, NULL)) < 0) {
		isms_tx_rollback(c);
		return r;
	}
	return isms_tx_commit(c);
}

int cycle_incident_note(struct isms_ctx *c, const char *id, const char *type, const char *text,
			const char *party, struct diag *d, char id_out[ISMS_ID_MAX])
{
	if (!type || !in_list(TL_TYPE, type)) {
		diag_error(d, NULL, 0, 0, "type", "%s",
			   T("種別が不正です", "type is not one of the timeline's types"));
		return ERR_INVALID;
	}
	if (!strcmp(type, "share") && (!party || !*party)) {
		diag_error(d, NULL, 0, 0, "party", "%s",
			   T("共有先（外部 CSIRT 等）を指定してください",
			     "name the outside CSIRT or body shared with"));
		return ERR_INVALID;
	}
	return add_timeline(c, id, type, text ? text : "", party, d, id_out);
}

int cycle_incident_task(struct isms_ctx *c, const char *id, json_t *task, struct diag *d,
			char id_out[ISMS_ID_MAX])
{
	json_t *t;
	char text[400];
	int r;

	if (!json_is_object(task)) {
		diag_error(d, NULL, 0, 0, NULL, "%s",
			   T("本文は JSON オブジェクトです", "the body must be a JSON object"));
		return ERR_INVALID;
	}
	if (!(t = json_deep_copy(task)))
		return ERR_NOMEM;
	if (json_object_set_new(t, "incident", json_string(id)) != 0) {
		json_decref(t);
		return ERR_NOMEM;
	}
	if ((r = isms_tx_begin(c)) < 0)
		goto out;
	if ((r = isms_create(c, &isms_kind_incident_tasks, t, d, id_out)) < 0)
		goto out;
	cycle_fmt(text, sizeof(text), "%s %s: %s (%s, %s)", T("タスク", "Task"), id_out,
		  cj_str(t, "title") ? cj_str(t, "title") : "",
		  cj_str(t, "owner") ? cj_str(t, "owner") : "", cj_str(t, "due") ? cj_str(t, "due") : "");
	if ((r = add_timeline(c, id, "task", text, NULL, d, NULL)) < 0)
		goto out;
	r = isms_tx_commit(c);
out:
	if (r < 0)
		isms_tx_rollback(c);
	json_decref(t);
	return r;
}

static int evidence_create(struct isms_ctx *c, const char *id, json_t *ev, const char *what,
			   struct diag *d, char id_out[ISMS_ID_MAX])
{
	char text[400];
	int r;

	if (json_object_set_new(ev, "incident", json_string(id)) != 0)
		return ERR_NOMEM;
	if ((r = isms_tx_begin(c)) < 0)
		return r;
	if ((r = isms_create(c, &isms_kind_incident_evidence, ev, d, id_out)) < 0)
		goto out;
	cycle_fmt(text, sizeof(text), "%s %s: %s", T("証拠", "Evidence"), id_out, what);
	if ((r = add_timeline(c, id, "evidence", text, NULL, d, NULL)) < 0)
		goto out;
	r = isms_tx_commit(c);
out:
	if (r < 0)
		isms_tx_rollback(c);
	return r;
}

static void hex_of(const uint8_t *h, size_t n, char *out)
{
	static const char x[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = x[h[i] >> 4];
		out[2 * i + 1] = x[h[i] & 15];
	}
	out[2 * n] = '\0';
}

int cycle_evidence_file(struct isms_ctx *c, const struct cycle_env *env, const char *id,
			const char *name, const void *data, size_t len, struct diag *d,
			char id_out[ISMS_ID_MAX])
{
	uint8_t h[crypto_hash_sha256_BYTES];
	char hex[2 * crypto_hash_sha256_BYTES + 1], what[300];
	struct buf path;
	struct stat st;
	json_t *ev = NULL, *inc = NULL;
	int r;

	if (len > CYCLE_EVIDENCE_MAX) {
		diag_error(d, NULL, 0, 0, "content",
			   T("ファイルは %zu バイトまでです", "a file may have at most %zu bytes"),
			   CYCLE_EVIDENCE_MAX);
		return ERR_TOO_LARGE;
	}
	if (!name || !*name) {
		diag_error(d, NULL, 0, 0, "name", "%s",
			   T("ファイル名を指定してください", "name the file"));
		return ERR_INVALID;
	}
	/* Check first that the incident exists and may be read, so that no
	 * file is stored for nothing. */
	if ((r = isms_get(c, &isms_kind_incidents, id, &inc)) < 0)
		return r;
	json_decref(inc);
	if (!isms_may_write_kind(c, &isms_kind_incident_evidence))
		return ERR_FORBIDDEN;
	crypto_hash_sha256(h, data, len);
	hex_of(h, sizeof(h), hex);
	buf_init(&path, 8192);
	if ((r = buf_printf(&path, "%s/evidence", env->instance_dir)) < 0)
		goto out;
	if (mkdir(path.data, 0700) != 0 && errno != EEXIST) {
		r = ERR_IO;
		goto out;
	}
	if ((r = buf_printf(&path, "/%s", hex)) < 0)
		goto out;
	/* Stored by content: the same file attached twice is kept once. */
	if (stat(path.data, &st) != 0 && (r = file_write_atomic(path.data, data, len, 0600)) < 0)
		goto out;
	ev = json_pack("{s:s,s:s,s:s,s:I}", "type", "file", "name", name, "sha256", hex, "size",
		       (json_int_t)len);
	if (!ev) {
		r = ERR_NOMEM;
		goto out;
	}
	cycle_fmt(what, sizeof(what), "%s (%zu bytes, SHA-256 %.16s…)", name, len, hex);
	r = evidence_create(c, id, ev, what, d, id_out);
out:
	json_decref(ev);
	buf_release(&path);
	return r;
}

int cycle_evidence_alert(struct isms_ctx *c, const char *id, int64_t alert_id, struct diag *d,
			 char id_out[ISMS_ID_MAX])
{
	struct buf a;
	json_t *ev = NULL;
	char what[120];
	int r;

	buf_init(&a, (size_t)1 << 20);
	if ((r = alerts_get_json(c->st, c->actor, alert_id, &a)) < 0) {
		if (r == ERR_NOT_FOUND || r == ERR_FORBIDDEN)
			diag_error(d, NULL, 0, 0, "alert_id",
				   T("アラート %" PRId64 " はありません",
				     "there is no alert %" PRId64),
				   alert_id);
		goto out;
	}
	/* Keep the alert as it was when attached, cut to the field's size. */
	if (a.len > 100000)
		a.len = 100000;
	ev = json_pack("{s:s,s:I,s:s%}", "type", "alert", "alert_id", (json_int_t)alert_id,
		       "content", a.data, a.len);
	if (!ev) {
		r = ERR_INVALID;
		goto out;
	}
	cycle_fmt(what, sizeof(what), "%s #%" PRId64, T("監視アラート", "watch alert"), alert_id);
	r = evidence_create(c, id, ev, what, d, id_out);
out:
	json_decref(ev);
	buf_release(&a);
	return r;
}

static int b64_hash(const uint8_t h[MERKLE_HASH_SIZE], json_t *arr)
{
	char t[sodium_base64_ENCODED_LEN(MERKLE_HASH_SIZE, sodium_base64_VARIANT_ORIGINAL)];

	sodium_bin2base64(t, sizeof(t), h, MERKLE_HASH_SIZE, sodium_base64_VARIANT_ORIGINAL);
	return json_array_append_new(arr, json_string(t)) == 0 ? 0 : ERR_NOMEM;
}

int cycle_evidence_ledger(struct isms_ctx *c, const char *id, uint64_t index, struct diag *d,
			  char id_out[ISMS_ID_MAX])
{
	uint8_t proof[MERKLE_PROOF_MAX][MERKLE_HASH_SIZE], root[MERKLE_HASH_SIZE],
	    leaf[MERKLE_HASH_SIZE];
	char rh[65], lh[65], what[120];
	uint64_t size = ledger_size(c->lg);
	struct buf entry;
	json_t *ev = NULL, *pr = NULL;
	char *prs = NULL;
	size_t n = 0;
	int r;

	buf_init(&entry, LEDGER_BODY_MAX + 4096);
	if (index >= size) {
		diag_error(d, NULL, 0, 0, "index",
			   T("台帳の記録 %" PRIu64 " はありません（記録数 %" PRIu64 "）",
			     "there is no ledger entry %" PRIu64 " (the ledger has %" PRIu64 ")"),
			   index, size);
		r = ERR_INVALID;
		goto out;
	}
	if ((r = ledger_read(c->lg, index, &entry)) < 0 ||
	    (r = merkle_inclusion_proof(ledger_subtree_hash, c->lg, index, size, proof, &n)) < 0 ||
	    (r = ledger_root(c->lg, size, root)) < 0 ||
	    (r = ledger_subtree_hash(c->lg, index, 0, leaf)) < 0)
		goto out;
	if (!(pr = json_array())) {
		r = ERR_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if ((r = b64_hash(proof[i], pr)) < 0)
			goto out;
	if (!(prs = json_dumps(pr, JSON_COMPACT))) {
		r = ERR_NOMEM;
		goto out;
	}
	hex_of(root, sizeof(root), rh);
	hex_of(leaf, sizeof(leaf), lh);
	if (entry.len > 100000)
		entry.len = 100000;
	ev = json_pack("{s:s,s:I,s:I,s:s,s:s,s:s,s:s%}", "type", "ledger", "ledger_index",
		       (json_int_t)index, "tree_size", (json_int_t)size, "root", rh, "leaf_hash", lh,
		       "proof", prs, "content", entry.data, entry.len);
	if (!ev) {
		r = ERR_INVALID;
		goto out;
	}
	cycle_fmt(what, sizeof(what), "%s #%" PRIu64 " (tree %" PRIu64 ")",
		  T("台帳の記録", "ledger entry"), index, size);
	r = evidence_create(c, id, ev, what, d, id_out);
out:
	free(prs);
	json_decref(pr);
	json_decref(ev);
	buf_release(&entry);
	return r;
}

int cycle_incident_close(struct isms_ctx *c, const char *id, json_t *body, struct diag *d)
{
	const char *rc = cj_str(body, "root_cause"), *ls = cj_str(body, "lessons");
	json_t *actions = json_object_get(body, "actions"), *a, *patch = NULL;
	char now[TS_TEXT_MAX], text[300];
	size_t i, made = 0;
	int r;

	if (!actor_has(c->actor, ROLES_CSIRT_WORK))
		return ERR_FORBIDDEN;
	if (!rc || !*rc)
		diag_error(d, NULL, 0, 0, "root_cause", "%s",
			   T("根本原因を記入してください", "give the root cause"));
	if (!ls || !*ls)
		diag_error(d, NULL, 0, 0, "lessons", "%s",
			   T("教訓を記入してください", "give the lessons learned"));
	if (actions && !json_is_array(actions))
		diag_error(d, NULL, 0, 0, "actions", "%s",
			   T("是正処置は配列です", "actions must be an array"));
	if (diag_has_errors(d))
		return ERR_INVALID;
	ts_format_jst(isms_now(c), now);
	patch = json_pack("{s:s,s:s,s:s,s:s}", "status", "closed", "root_cause", rc, "lessons", ls,
			  "closed_at", now);
	if (!patch)
		return ERR_NOMEM;
	if ((r = isms_tx_begin(c)) < 0)
		goto out;
	if ((r = isms_update_op(c, &isms_kind_incidents, id, patch, 0, "close", d)) < 0)
		goto out;
	json_array_foreach(actions, i, a) {
		char aid[ISMS_ID_MAX];
		json_t *act = json_is_object(a) ? json_deep_copy(a) : NULL;
		if (!act) {
			diag_error(d, NULL, 0, 0, "actions", "%s",
				   T("是正処置はオブジェクトです", "an action must be an object"));
			r = ERR_INVALID;
			goto out;
		}
		json_object_set_new(act, "source", json_string("incident"));
		json_object_set_new(act, "source_id", json_string(id));
		r = isms_create(c, &isms_kind_corrective_actions, act, d, aid);
		json_decref(act);
		if (r < 0)
			goto out;
		made++;
	}
	cycle_fmt(text, sizeof(text), "%s (%s: %zu)", T("終結", "Closed"),
		  T("是正処置", "corrective actions"), made);
	if ((r = add_timeline(c, id, "close", text, NULL, d, NULL)) < 0)
		goto out;
	r = isms_tx_commit(c);
out:
	if (r < 0)
		isms_tx_rollback(c);
	json_decref(patch);
	return r;
}

int cycle_incident_from_alert(struct isms_ctx *c, int64_t alert_id, struct diag *d,
			      char id_out[ISMS_ID_MAX])
{
	struct buf a;
	json_t *al = NULL, *inc = NULL, *ev = NULL;
	char title[300], aid[24], now[TS_TEXT_MAX], evid[ISMS_ID_MAX];
	const char *dept, *staff, *rule;
	int64_t aware;
	bool committed = false;
	int r;

	id_out[0] = '\0';
	if (!actor_has(c->actor, ROLES_CSIRT_WORK))
		return ERR_FORBIDDEN;
	buf_init(&a, (size_t)1 << 20);
	if ((r = alerts_get_json(c->st, c->actor, alert_id, &a)) < 0)
		goto out;
	if (!(al = json_loadb(a.data, a.len, 0, NULL))) {
		r = ERR_CORRUPT;
		goto out;
	}
	dept = cj_str(al, "dept");
	staff = cj_str(al, "staff_name") ? cj_str(al, "staff_name") : cj_str(al, "staff_id");
	rule = cj_str(al, "rule");
	cycle_fmt(title, sizeof(title), "%s #%" PRId64 ": %s (%s)",
		  T("監視アラート", "Watch alert"), alert_id, rule ? rule : "?", staff ? staff : "?");
	cycle_fmt(aid, sizeof(aid), "%" PRId64, alert_id);
	/* The body became aware when the alert was raised: the earlier, and
	 * so the safer, start of the PPC's clocks. */
	aware = cj_ts(al, "created");
	if (aware == TS_NONE || aware > isms_now(c))
		aware = isms_now(c);
	ts_format_jst(aware, now);
	/* Snooping by staff is the textbook "possibly improper purpose"
	 * (不正の目的によるおそれ): the clock starts as soon as the alert is
	 * escalated; the CSIRT clears the flag at triage if it is wrong. */
	inc = json_pack("{s:s,s:s,s:s,s:s,s:b,s:b,s:[s],s:s,s:s}", "title", title, "status",
			"triaged", "category", "unauthorized_viewing", "description",
			cj_str(al, "ja") ? cj_str(al, "ja") : (cj_str(al, "en") ? cj_str(al, "en") : ""),
			"personal_data", 1, "improper_purpose", 1, "alert_ids", aid, "aware_at", now,
			"reported_by", c->actor->name);
	if (!inc) {
		r = ERR_NOMEM;
		goto out;
	}
	if (dept && *dept)
		json_object_set_new(inc, "dept", json_string(dept));
	if (cj_str(al, "severity") && in_list(INC_SEVERITY, cj_str(al, "severity")))
		json_object_set_new(inc, "severity", json_string(cj_str(al, "severity")));
	if (a.len > 100000)
		a.len = 100000;
	if ((r = isms_tx_begin(c)) < 0)
		goto out;
	if ((r = isms_create(c, &isms_kind_incidents, inc, d, id_out)) < 0)
		goto out;
	if (!(ev = json_pack("{s:s,s:s,s:I,s:s%}", "incident", id_out, "type", "alert", "alert_id",
			     (json_int_t)alert_id, "content", a.data, a.len))) {
		r = ERR_INVALID;
		goto out;
	}
	if ((r = isms_create(c, &isms_kind_incident_evidence, ev, d, evid)) < 0 ||
	    (r = add_timeline(c, id_out, "escalation", title, NULL, d, NULL)) < 0)
		goto out;
	if ((r = isms_tx_commit(c)) < 0)
		goto out;
	committed = true;
	/* The alert's own triage is a separate transaction of the watch
	 * module; an alert already escalated stays so. */
	r = alerts_triage(c->st, c->lg, c->actor, alert_id, AS_ESCALATED, id_out, NULL);
	if (r == ERR_CONFLICT)
		r = 0;
out:
	if (r < 0 && !committed)
		isms_tx_rollback(c);
	/* id_out names the incident only if it exists: after the commit it
	 * does, even when the alert's own status could not be set. */
	if (r < 0 && !committed)
		id_out[0] = '\0';
	json_decref(ev);
	json_decref(inc);
	json_decref(al);
	buf_release(&a);
	return r;
}

/* ---- the draft report to the PPC ---- */

static const char *yes_no(bool b)
{
	return b ? T("あり", "yes") : T("なし", "no");
}

static const char *or_dash(const char *s)
{
	return s && *s ? s : "—";
}

static void day_text(int32_t day, char out[DATE_TEXT_MAX])
{
	if (day == DAY_NONE)
		cycle_fmt(out, DATE_TEXT_MAX, "—");
	else
		date_format(day, out);
}

int cycle_ppc_draft_html(struct isms_ctx *c, const struct cycle_env *env, const char *id,
			 struct buf *out)
{
	struct ppc_facts f;
	struct ppc_done done;
	struct ppc_schedule s;
	struct report rp;
	json_t *rec = NULL;
	char people[32], t1[DATE_TEXT_MAX], t2[DATE_TEXT_MAX], t3[DATE_TEXT_MAX], sub[300];
	char reasons[600];
	size_t used = 0;
	int r;

	if ((r = isms_get(c, &isms_kind_incidents, id, &rec)) < 0)
		return r;
	cycle_incident_facts(rec, &f, &done);
	ppc_schedule_compute(&env->ppc, &f, &done, isms_now(c), &s);
	reasons[0] = '\0';
	for (unsigned b = 1; b <= PPC_R_MY_NUMBER; b <<= 1)
		if (s.decision.reasons & b) {
			int n = snprintf(reasons + used, sizeof(reasons) - used, "%s%s",
					 used ? "、" : "", ppc_reason_label((enum ppc_reason)b));
			if (n > 0 && (size_t)n < sizeof(reasons) - used)
				used += (size_t)n;
		}
	if (f.people >= 0)
		cycle_fmt(people, sizeof(people), "%" PRId64, f.people);
	else
		cycle_fmt(people, sizeof(people), "%s", T("不明", "unknown"));
	day_text(s.prelim.limit_day, t1);
	day_text(s.final.limit_day, t2);
	day_text(s.notice.limit_day, t3);
	cycle_fmt(sub, sizeof(sub), "%s %s — %s %s", or_dash(env->municipality), id,
		  T("下書き（委員会の様式に転記して提出）",
		    "draft (copy into the commission's form)"),
		  s.decision.required ? T("報告対象", "reportable") : T("報告対象外", "not reportable"));
	if ((r = report_begin(&rp, i18n_is_ja() ? "ja" : "en",
			      T("個人情報保護委員会への漏えい等報告（下書き）",
				"Report of a leak to the Personal Information Protection Commission (draft)"),
			      sub)) < 0)
		goto out;
	{
		struct report_figure fig[] = {
		    {T("本人の数", "People concerned"), people, NULL, false},
		    {T("速報の期限", "Preliminary report due"), t1,
		     ppc_clock_state_name(s.prelim.state), ppc_clock_overdue(&s.prelim)},
		    {T("確報の期限", "Final report due"), t2, ppc_clock_state_name(s.final.state),
		     ppc_clock_overdue(&s.final)},
		    {T("本人通知の目標", "Notice to people by"), t3,
		     ppc_clock_state_name(s.notice.state), ppc_clock_overdue(&s.notice)},
		};
		const char *head[] = {T("項目", "Item"), T("内容", "Content")};
		const char *cells[] = {
		    T("報告の理由", "Why it is reportable"), used ? reasons : "—",
		    T("概要", "Summary"), or_dash(cj_str(rec, "description")),
		    T("件名", "Title"), or_dash(cj_str(rec, "title")),
		    T("発生日時", "Occurred at"), or_dash(cj_str(rec, "occurred_at")),
		    T("認知日時", "Became aware at"), or_dash(cj_str(rec, "aware_at")),
		    T("漏えい等した個人情報の項目", "Items of personal information"),
		    or_dash(cj_str(rec, "data_items")),
		    T("要配慮個人情報", "Special-care information"), yes_no(f.special_care),
		    T("財産的被害のおそれ", "Risk of financial harm"), yes_no(f.financial_harm),
		    T("不正の目的によるおそれ", "Possibly an improper purpose"),
		    yes_no(f.improper_purpose),
		    T("特定個人情報", "My Number data"), yes_no(f.my_number),
		    T("原因", "Cause"), or_dash(cj_str(rec, "root_cause")),
		    T("二次被害又はそのおそれ", "Secondary harm"), or_dash(cj_str(rec, "secondary_harm")),
		    T("本人への対応", "Notice to the people concerned"), or_dash(cj_str(rec, "notice_at")),
		    T("公表の実施状況", "Publication"), or_dash(cj_str(rec, "published_at")),
		    T("再発防止のための措置", "Measures against recurrence"),
		    or_dash(cj_str(rec, "measures")),
		    T("委員会の受付番号", "Commission's reference"), or_dash(cj_str(rec, "ppc_number")),
		};
		if ((r = report_figures(&rp, fig, ARRAY_SIZE(fig))) < 0 ||
		    (r = report_heading(&rp, 2, T("報告事項", "Items of the report"))) < 0 ||
		    (r = report_table(&rp, head, 2, cells, ARRAY_SIZE(cells) / 2)) < 0)
			goto out;
	}
	if (s.prelim.limit_closed || s.final.limit_closed) {
		char note[300], pb[DATE_TEXT_MAX];
		day_text(s.prelim.limit_closed ? s.prelim.prepare_by : s.final.prepare_by, pb);
		cycle_fmt(note, sizeof(note), "%s %s",
			  T("期限が閉庁日に当たります（期限は延長されません）。準備の最終開庁日:",
			    "A limit falls on a day the office is closed (it is not extended). Last open day to prepare:"),
			  pb);
		if ((r = report_para(&rp, note)) < 0)
			goto out;
	}
	if ((r = report_end(&rp)) < 0)
		goto out;
	r = buf_append(out, rp.html.data, rp.html.len);
out:
	report_release(&rp);
	json_decref(rec);
	return r;
}
