/*
 * audits.c - self-inspection (自己点検), internal and external audits
 * (特定個人情報 audits included), findings and corrective actions
 * (isms_cycle.h), the escalation list and the public audit summary.
 */
#include "base/base.h"

#include <stdlib.h>
#include <string.h>

#include "base/i18n.h"
#include "base/timeutil.h"
#include "isms/controls.h"
#include "isms/isms_cycle_int.h"
#include "isms/people.h"
#include "registry/registry.h"

/* ---- kinds ---- */

static const char *const AU_TYPE[] = {"internal", "external", "mynumber", NULL};
static const char *const AU_STATUS[] = {"planned", "fieldwork", "reported", "closed", NULL};

static const struct isms_field f_audits[] = {
    {"title", ISMS_TEXT, true, 200, 0, 0, NULL, NULL, "監査名", "Title"},
    {"type", ISMS_ENUM, true, 0, 0, 0, AU_TYPE, NULL,
     "種別（内部・外部・特定個人情報）", "Type (internal, external, My Number)"},
    {"fiscal_year", ISMS_INT, true, 0, 2000, 2999, NULL, NULL, "年度", "Fiscal year"},
    {"scope", ISMS_MARKDOWN, true, 20000, 0, 0, NULL, NULL, "範囲", "Scope"},
    {"auditors", ISMS_STRLIST, false, 200, 0, 50, NULL, NULL, "監査人", "Auditors"},
    {"start", ISMS_DATE, false, 0, 0, 0, NULL, NULL, "開始日", "Start"},
    {"end", ISMS_DATE, false, 0, 0, 0, NULL, NULL, "終了日", "End"},
    {"status", ISMS_ENUM, false, 0, 0, 0, AU_STATUS, NULL, "状態", "Status"},
    {"summary", ISMS_MARKDOWN, false, 20000, 0, 0, NULL, NULL, "公表用の概要",
     "Summary for publication"},
    {"public", ISMS_BOOL, false, 0, 0, 0, NULL, NULL, "公表する", "Published"},
};

static int audits_check(struct isms_ctx *c, json_t *rec, struct diag *d)
{
	int32_t s = cj_day(rec, "start"), e = cj_day(rec, "end");

	(void)c;
	if (!json_object_get(rec, "status") &&
	    json_object_set_new(rec, "status", json_string("planned")) != 0)
		return ERR_NOMEM;
	if (s != DAY_NONE && e != DAY_NONE && e < s)
		diag_error(d, NULL, 0, 0, "end", "%s",
			   T("終了日が開始日より前です", "the end is before the start"));
	if (cj_bool(rec, "public") && !cj_str(rec, "summary"))
		diag_error(d, NULL, 0, 0, "summary", "%s",
			   T("公表するには概要が必要です", "a published audit needs its summary"));
	return 0;
}

const struct isms_kind isms_kind_audits = {
    .name = "audits",
    .ja = "情報セキュリティ監査",
    .en = "Audits",
    .id_prefix = "AU",
    .fields = f_audits,
    .nfields = ARRAY_SIZE(f_audits),
    .write_roles = ROLES_CSIRT_WORK,
    .check = audits_check,
};

static const char *const FI_SEVERITY[] = {"major", "minor", "observation", NULL};
static const char *const FI_STATUS[] = {"open", "closed", NULL};

static const struct isms_field f_findings[] = {
    {"audit", ISMS_REF, true, 0, 0, 0, NULL, "audits", "監査", "Audit"},
    {"title", ISMS_TEXT, true, 200, 0, 0, NULL, NULL, "指摘事項", "Finding"},
    {"description", ISMS_MARKDOWN, false, 20000, 0, 0, NULL, NULL, "内容", "Description"},
    {"severity", ISMS_ENUM, true, 0, 0, 0, FI_SEVERITY, NULL,
     "重大度（重大・軽微・観察）", "Severity (major, minor, observation)"},
    {"controls", ISMS_STRLIST, false, CONTROL_ID_MAX, 0, 20, NULL, NULL, "管理策（附属書A）",
     "Controls (Annex A)"},
    {"dept", ISMS_REF, false, 0, 0, 0, NULL, "departments", "部署", "Department"},
    {"status", ISMS_ENUM, false, 0, 0, 0, FI_STATUS, NULL, "状態", "Status"},
};

static int findings_check(struct isms_ctx *c, json_t *rec, struct diag *d)
{
	json_t *v;
	size_t i;

	(void)c;
	if (!json_object_get(rec, "status") &&
	    json_object_set_new(rec, "status", json_string("open")) != 0)
		return ERR_NOMEM;
	json_array_foreach(json_object_get(rec, "controls"), i, v)
		if (!json_is_string(v) || !annex_control_find(json_string_value(v)))
			diag_error(d, NULL, 0, 0, "controls",
				   T("附属書Aの管理策番号ではありません: %s",
				     "not a control of Annex A: %s"),
				   json_is_string(v) ? json_string_value(v) : "?");
	return 0;
}

const struct isms_kind isms_kind_findings = {
    .name = "findings",
    .ja = "監査の指摘事項",
    .en = "Audit findings",
    .id_prefix = "FI",
    .fields = f_findings,
    .nfields = ARRAY_SIZE(f_findings),
    .dept_field = "dept",
    .write_roles = ROLES_CSIRT_WORK,
    .check = findings_check,
};

static const char *const AC_SOURCE[] = {"finding", "incident", "review", "drill",
					"self_inspection", "other", NULL};
static const char *const AC_STATUS[] = {"open", "done", "verified", NULL};

static const struct isms_field f_actions[] = {
    {"source", ISMS_ENUM, true, 0, 0, 0, AC_SOURCE, NULL, "発端", "Source"},
    {"source_id", ISMS_TEXT, false, ISMS_ID_MAX, 0, 0, NULL, NULL, "発端の記録", "Source record"},
    {"title", ISMS_TEXT, true, 200, 0, 0, NULL, NULL, "是正処置", "Corrective action"},
    {"owner", ISMS_TEXT, true, 128, 0, 0, NULL, NULL, "担当", "Owner"},
    {"dept", ISMS_REF, false, 0, 0, 0, NULL, "departments", "部署", "Department"},
    {"due", ISMS_DATE, true, 0, 0, 0, NULL, NULL, "期限", "Due"},
    {"status", ISMS_ENUM, false, 0, 0, 0, AC_STATUS, NULL, "状態", "Status"},
    {"done_on", ISMS_DATE, false, 0, 0, 0, NULL, NULL, "実施日", "Done on"},
    {"verification", ISMS_MARKDOWN, false, 10000, 0, 0, NULL, NULL, "有効性の確認",
     "Verification of effectiveness"},
    {"effective", ISMS_BOOL, false, 0, 0, 0, NULL, NULL, "有効", "Effective"},
    {"verified_on", ISMS_DATE, false, 0, 0, 0, NULL, NULL, "確認日", "Verified on"},
    {"verified_by", ISMS_TEXT, false, 128, 0, 0, NULL, NULL, "確認者", "Verified by"},
};

static int actions_check(struct isms_ctx *c, json_t *rec, struct diag *d)
{
	const char *st = cj_str(rec, "status");

	if (!st) {
		if (json_object_set_new(rec, "status", json_string("open")) != 0)
			return ERR_NOMEM;
		st = "open";
	}
	if (strcmp(st, "open") != 0 && !json_object_get(rec, "done_on"))
		diag_error(d, NULL, 0, 0, "done_on", "%s",
			   T("実施済みの是正処置には実施日が必要です",
			     "an action done needs the date it was done"));
	if (!strcmp(st, "verified")) {
		/* The effectiveness is verified by someone other than the
		 * department that did the work: the security office or CSIRT. */
		if (!actor_has(c->actor, ROLES_CSIRT_WORK))
			diag_error(d, NULL, 0, 0, "status", "%s",
				   T("有効性の確認は情報セキュリティ担当または CSIRT が行います",
				     "effectiveness is verified by the security office or the CSIRT"));
		if (!json_object_get(rec, "effective") || !json_object_get(rec, "verified_on"))
			diag_error(d, NULL, 0, 0, "verification", "%s",
				   T("確認済みには有効性と確認日が必要です",
				     "a verified action needs 'effective' and the date"));
	}
	return 0;
}

const struct isms_kind isms_kind_corrective_actions = {
    .name = "corrective_actions",
    .ja = "是正処置",
    .en = "Corrective actions",
    .id_prefix = "AC",
    .fields = f_actions,
    .nfields = ARRAY_SIZE(f_actions),
    .dept_field = "dept",
    .check = actions_check,
};

static const char *const CL_STATUS[] = {"sent", "answered", NULL};

static const struct isms_field f_checklists[] = {
    {"fiscal_year", ISMS_INT, true, 0, 2000, 2999, NULL, NULL, "年度", "Fiscal year"},
    {"dept", ISMS_REF, true, 0, 0, 0, NULL, "departments", "部署", "Department"},
    {"status", ISMS_ENUM, false, 0, 0, 0, CL_STATUS, NULL, "状態", "Status"},
    {"due", ISMS_DATE, false, 0, 0, 0, NULL, NULL, "回答期限", "Answer due"},
    {"answered_on", ISMS_DATE, false, 0, 0, 0, NULL, NULL, "回答日", "Answered on"},
    {"items", ISMS_INT, false, 0, 0, 1000, NULL, NULL, "設問数", "Questions"},
};

static int checklists_check(struct isms_ctx *c, json_t *rec, struct diag *d)
{
	(void)c;
	if (!json_object_get(rec, "status") &&
	    json_object_set_new(rec, "status", json_string("sent")) != 0)
		return ERR_NOMEM;
	if (!strcmp(cj_str(rec, "status"), "answered") && !json_object_get(rec, "answered_on"))
		diag_error(d, NULL, 0, 0, "answered_on", "%s",
			   T("回答済みには回答日が必要です", "an answered checklist needs the date"));
	return 0;
}

const struct isms_kind isms_kind_checklists = {
    .name = "checklists",
    .ja = "自己点検票",
    .en = "Self-inspection checklists",
    .id_prefix = "CL",
    .fields = f_checklists,
    .nfields = ARRAY_SIZE(f_checklists),
    .dept_field = "dept",
    .check = checklists_check,
};

static const char *const CQ_ANSWER[] = {"yes", "partly", "no", "na", NULL};

static const struct isms_field f_answers[] = {
    {"checklist", ISMS_REF, true, 0, 0, 0, NULL, "checklists", "自己点検票", "Checklist"},
    {"control", ISMS_TEXT, true, CONTROL_ID_MAX, 0, 0, NULL, NULL, "管理策", "Control"},
    {"chapter", ISMS_TEXT, false, 16, 0, 0, NULL, NULL, "対策基準の章", "Guideline chapter"},
    {"question", ISMS_TEXT, true, 500, 0, 0, NULL, NULL, "設問", "Question"},
    {"answer", ISMS_ENUM, false, 0, 0, 0, CQ_ANSWER, NULL,
     "回答（はい・一部・いいえ・該当なし）", "Answer (yes, partly, no, n/a)"},
    {"comment", ISMS_TEXT, false, 2000, 0, 0, NULL, NULL, "補足", "Comment"},
    {"dept", ISMS_TEXT, false, 64, 0, 0, NULL, NULL, "部署（点検票から）",
     "Department (from the checklist)"},
};

/* An answer belongs to the department of its checklist. */
static int answers_check(struct isms_ctx *c, json_t *rec, struct diag *d)
{
	return cycle_dept_from(c, &isms_kind_checklists, "checklist", "自己点検票", "checklist", rec,
			       d);
}

const struct isms_kind isms_kind_checklist_answers = {
    .name = "checklist_answers",
    .ja = "自己点検の回答",
    .en = "Self-inspection answers",
    .id_prefix = "CQ",
    .fields = f_answers,
    .nfields = ARRAY_SIZE(f_answers),
    .dept_field = "dept",
    .check = answers_check,
};

/* ---- self-inspection ---- */

/* When the SoA is empty: the controls a department can answer for
 * itself, among those mamori evidences (DOMAIN.md). */
static const char *const DEPT_CONTROLS[] = {"5.10", "5.12", "5.14", "5.15", "5.18", "5.23",
					    "5.24", "6.3",  "6.6",  "6.7",  "7.7",  "7.10",
					    "8.1",  "8.2",  "8.5",  "8.12", "8.15"};

static const char *chapter_of(const char *control)
{
	for (size_t i = 0; i < mic_nchapters; i++)
		for (size_t j = 0; j < mic_chapters[i].ncontrols; j++)
			if (!strcmp(mic_chapters[i].controls[j], control))
				return mic_chapters[i].id;
	return NULL;
}

static int make_answers(struct isms_ctx *c, const char *cl, const char *const *ctl, size_t n,
			size_t *made)
{
	struct diag d;
	int r = 0;

	diag_init(&d, 4);
	for (size_t i = 0; i < n && r == 0; i++) {
		const struct annex_control *a = annex_control_find(ctl[i]);
		char q[500], id[ISMS_ID_MAX];
		json_t *ans;

		if (!a)
			continue;
		cycle_fmt(q, sizeof(q),
			  T("%s %s: 部署での実施状況を回答してください（根拠があれば補足に記入）",
			    "%s %s: how does your department apply it? (give evidence in the comment)"),
			  a->id, i18n_is_ja() && a->ja[0] ? a->ja : a->en);
		ans = json_pack("{s:s,s:s,s:s}", "checklist", cl, "control", a->id, "question", q);
		if (!ans)
			return ERR_NOMEM;
		if (chapter_of(a->id))
			json_object_set_new(ans, "chapter", json_string(chapter_of(a->id)));
		r = isms_create(c, &isms_kind_checklist_answers, ans, &d, id);
		json_decref(ans);
		if (r == 0)
			(*made)++;
	}
	diag_release(&d);
	return r;
}

int cycle_checklists_issue(struct isms_ctx *c, int64_t fiscal_year, const json_t *depts,
			   size_t *created)
{
	struct registry_data *reg = NULL;
	const char **ctl = NULL;
	size_t nctl = 0, i;
	json_t *soa = NULL, *existing = NULL, *e, *v;
	char fy[16], due[DATE_TEXT_MAX];
	struct diag d;
	int r;

	*created = 0;
	if (!actor_has(c->actor, ROLES_CSIRT_WORK))
		return ERR_FORBIDDEN;
	diag_init(&d, 4);
	cycle_fmt(fy, sizeof(fy), "%" PRId64, fiscal_year);
	{
		const char *const f[1][2] = {{"fiscal_year", fy}};
		if ((r = cycle_list_all(c, &isms_kind_checklists, f, 1, &existing)) < 0)
			goto out;
	}
	{
		const char *const f[1][2] = {{"applicable", "true"}};
		if ((r = cycle_list_all(c, &isms_kind_soa, f, 1, &soa)) < 0)
			goto out;
	}
	ctl = xcalloc(json_array_size(soa) + ARRAY_SIZE(DEPT_CONTROLS) + 1, sizeof(*ctl));
	json_array_foreach(soa, i, e)
		if (cj_str(e, "control"))
			ctl[nctl++] = cj_str(e, "control");
	if (nctl == 0)
		for (i = 0; i < ARRAY_SIZE(DEPT_CONTROLS); i++)
			ctl[nctl++] = DEPT_CONTROLS[i];
	if ((r = registry_load_people(c->st, &reg)) < 0)
		goto out;
	/* Answers are due two months after they are sent. */
	date_format(cycle_today(c) + 61, due);
	if ((r = isms_tx_begin(c)) < 0)
		goto out;
	for (size_t k = 0; k < reg->ndepartments; k++) {
		const char *dept = reg->departments[k].id;
		char id[ISMS_ID_MAX];
		bool wanted = depts == NULL, have = false;
		size_t made = 0;
		json_t *cl;

		json_array_foreach(depts, i, v)
			if (json_is_string(v) && !strcmp(json_string_value(v), dept))
				wanted = true;
		json_array_foreach(existing, i, e)
			if (cj_str(e, "dept") && !strcmp(cj_str(e, "dept"), dept))
				have = true;
		if (!wanted || have)
			continue;
		cl = json_pack("{s:I,s:s,s:s,s:I}", "fiscal_year", (json_int_t)fiscal_year, "dept",
			       dept, "due", due, "items", (json_int_t)nctl);
		if (!cl) {
			r = ERR_NOMEM;
			goto out;
		}
		r = isms_create(c, &isms_kind_checklists, cl, &d, id);
		json_decref(cl);
		if (r < 0 || (r = make_answers(c, id, ctl, nctl, &made)) < 0)
			goto out;
		(*created)++;
	}
	r = isms_tx_commit(c);
out:
	if (r < 0) {
		isms_tx_rollback(c);
		*created = 0;
	}
	diag_release(&d);
	free(ctl);
	json_decref(soa);
	json_decref(existing);
	registry_data_free(reg);
	return r;
}

int cycle_action_verify(struct isms_ctx *c, const char *id, bool effective, const char *note,
			struct diag *d)
{
	char today[DATE_TEXT_MAX];
	json_t *patch, *cur = NULL;
	int r;

	if (!actor_has(c->actor, ROLES_CSIRT_WORK))
		return ERR_FORBIDDEN;
	if ((r = isms_get(c, &isms_kind_corrective_actions, id, &cur)) < 0)
		return r;
	date_format(cycle_today(c), today);
	/* An ineffective action goes back to open, to be done again. */
	patch = json_pack("{s:s,s:b,s:s,s:s}", "status", effective ? "verified" : "open",
			  "effective", effective, "verified_on", today, "verified_by",
			  c->actor->name);
	if (!patch) {
		json_decref(cur);
		return ERR_NOMEM;
	}
	if (!json_object_get(cur, "done_on") && effective)
		json_object_set_new(patch, "done_on", json_string(today));
	if (note && (r = cj_set_str(patch, "verification", note)) < 0)
		goto out;
	r = isms_update_op(c, &isms_kind_corrective_actions, id, patch, 0, "verify", d);
out:
	json_decref(patch);
	json_decref(cur);
	return r;
}

static int add_overdue(json_t *list, const char *kind, const json_t *rec, const char *title,
		       const char *due, int32_t today)
{
	int32_t dd;
	json_t *o;

	if (!due || date_parse(due, strlen(due), &dd) < 0 || dd >= today)
		return 0;
	o = json_pack("{s:s,s:s,s:s,s:s,s:I}", "kind", kind, "id", cj_id(rec) ? cj_id(rec) : "",
		      "title", title ? title : "", "due", due, "days_overdue",
		      (json_int_t)(today - dd));
	if (!o)
		return ERR_NOMEM;
	if (cj_str(rec, "dept"))
		json_object_set_new(o, "dept", json_string(cj_str(rec, "dept")));
	if (cj_str(rec, "owner"))
		json_object_set_new(o, "owner", json_string(cj_str(rec, "owner")));
	return json_array_append_new(list, o) == 0 ? 0 : ERR_NOMEM;
}

int cycle_escalations(struct isms_ctx *c, json_t **out)
{
	int32_t today = cycle_today(c);
	json_t *list = json_array(), *rows = NULL, *e;
	size_t i;
	int r;

	if (!list)
		return ERR_NOMEM;
	if ((r = cycle_list_all(c, &isms_kind_corrective_actions, NULL, 0, &rows)) < 0)
		goto out;
	json_array_foreach(rows, i, e)
		if (strcmp(cj_strd(e, "status"), "verified") != 0 &&
		    (r = add_overdue(list, "corrective_actions", e, cj_str(e, "title"),
				     cj_str(e, "due"), today)) < 0)
			goto out;
	json_decref(rows);
	rows = NULL;
	if ((r = cycle_list_all(c, &isms_kind_incident_tasks, NULL, 0, &rows)) < 0)
		goto out;
	json_array_foreach(rows, i, e)
		if (!strcmp(cj_strd(e, "status"), "open") &&
		    (r = add_overdue(list, "incident_tasks", e, cj_str(e, "title"), cj_str(e, "due"),
				     today)) < 0)
			goto out;
	json_decref(rows);
	rows = NULL;
	if ((r = cycle_list_all(c, &isms_kind_checklists, NULL, 0, &rows)) < 0)
		goto out;
	json_array_foreach(rows, i, e)
		if (!strcmp(cj_strd(e, "status"), "sent") &&
		    (r = add_overdue(list, "checklists", e, T("自己点検票（未回答）",
							       "self-inspection (unanswered)"),
				     cj_str(e, "due"), today)) < 0)
			goto out;
out:
	json_decref(rows);
	if (r < 0)
		json_decref(list);
	else
		*out = list;
	return r;
}

int cycle_audit_summary(struct isms_ctx *c, int64_t fiscal_year, json_t **out)
{
	json_t *audits = NULL, *findings = NULL, *actions = NULL, *res = NULL, *list, *a, *f;
	int32_t today = cycle_today(c);
	size_t i, j;
	int r;

	if ((r = cycle_list_all(c, &isms_kind_audits, NULL, 0, &audits)) < 0 ||
	    (r = cycle_list_all(c, &isms_kind_findings, NULL, 0, &findings)) < 0 ||
	    (r = cycle_list_all(c, &isms_kind_corrective_actions, NULL, 0, &actions)) < 0)
		goto out;
	if (!(list = json_array()) || !(res = json_pack("{s:I,s:o}", "fiscal_year",
							(json_int_t)fiscal_year, "audits", list))) {
		json_decref(list);
		r = ERR_NOMEM;
		goto out;
	}
	json_array_foreach(audits, i, a) {
		int64_t sev[3] = {0, 0, 0}, nact = 0, open = 0, overdue = 0, verified = 0;
		json_t *o;
		if (!cj_bool(a, "public") ||
		    (fiscal_year && cj_int(a, "fiscal_year", 0) != fiscal_year))
			continue;
		json_array_foreach(findings, j, f) {
			const char *s = cj_strd(f, "severity");
			size_t k;
			if (!cj_str(f, "audit") || strcmp(cj_str(f, "audit"), cj_id(a)) != 0)
				continue;
			sev[!strcmp(s, "major") ? 0 : !strcmp(s, "minor") ? 1 : 2]++;
			json_t *ac;
			json_array_foreach(actions, k, ac) {
				const char *st = cj_strd(ac, "status");
				int32_t due = cj_day(ac, "due");
				if (!cj_str(ac, "source_id") ||
				    strcmp(cj_str(ac, "source_id"), cj_id(f)) != 0)
					continue;
				nact++;
				if (!strcmp(st, "verified"))
					verified++;
				else {
					open++;
					if (due != DAY_NONE && due < today)
						overdue++;
				}
			}
		}
		/* No names of people: auditors and owners stay internal. */
		o = json_pack("{s:s,s:s,s:s,s:I,s:s,s:s,s:s,s:s,s:{s:I,s:I,s:I},"
			      "s:{s:I,s:I,s:I,s:I}}",
			      "id", cj_id(a), "title", cj_str(a, "title"), "type", cj_str(a, "type"),
			      "fiscal_year", (json_int_t)cj_int(a, "fiscal_year", 0), "scope",
			      cj_str(a, "scope"), "summary", cj_str(a, "summary") ? cj_str(a, "summary") : "",
			      "start", cj_str(a, "start") ? cj_str(a, "start") : "", "end",
			      cj_str(a, "end") ? cj_str(a, "end") : "", "findings", "major",
			      (json_int_t)sev[0], "minor", (json_int_t)sev[1], "observation",
			      (json_int_t)sev[2], "actions", "total", (json_int_t)nact, "open",
			      (json_int_t)open, "overdue", (json_int_t)overdue, "verified",
			      (json_int_t)verified);
		if (!o || json_array_append_new(list, o) != 0) {
			r = ERR_NOMEM;
			goto out;
		}
	}
out:
	json_decref(audits);
	json_decref(findings);
	json_decref(actions);
	if (r < 0)
		json_decref(res);
	else
		*out = res;
	return r;
}
