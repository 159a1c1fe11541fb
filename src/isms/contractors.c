/*
 * contractors.c - contractors (委託事業者), their contracts with the
 * security clauses and the personnel in the registry, periodic compliance
 * reports, on-site checks, and what needs attention (people.h,
 * docs/isms-people.md "Contractors").
 */
#include "base/base.h"
#include "base/diag.h"
#include "base/i18n.h"
#include "base/timeutil.h"
#include "isms/isms_int.h"
#include "isms/people.h"
#include "isms/people_int.h"
#include "registry/registry.h"
#include "store/store.h"

/* ---- kinds ---- */

static const struct isms_field f_contractors[] = {
    {"name", ISMS_TEXT, true, 200, 0, 0, NULL, NULL, "事業者名", "Name"},
    {"registry_id", ISMS_TEXT, false, 64, 0, 0, NULL, NULL,
     "台帳の事業者ID（staff.jsonl の contractor）", "Id in the registry (staff.jsonl contractor)"},
    {"corporate_number", ISMS_TEXT, false, 13, 0, 0, NULL, NULL, "法人番号", "Corporate number"},
    {"address", ISMS_TEXT, false, 300, 0, 0, NULL, NULL, "所在地", "Address"},
    {"contact", ISMS_TEXT, false, 300, 0, 0, NULL, NULL, "連絡先", "Contact"},
    {"certifications", ISMS_STRLIST, false, 100, 0, 20, NULL, NULL,
     "認証（ISMS、プライバシーマーク等）", "Certifications (ISMS, PrivacyMark, ...)"},
    {"notes", ISMS_MARKDOWN, false, 0, 0, 0, NULL, NULL, "備考", "Notes"},
};

static int contractors_check(struct isms_ctx *c, json_t *rec, struct diag *d)
{
	const char *cn = pp_str(rec, "corporate_number");

	(void)c;
	if (cn) {
		bool ok = strlen(cn) == 13;
		for (size_t i = 0; ok && cn[i]; i++)
			ok = cn[i] >= '0' && cn[i] <= '9';
		if (!ok)
			diag_error(
			    d, NULL, 0, 0, "corporate_number",
			    T("法人番号は 13 桁の数字です", "a corporate number is 13 digits"));
	}
	return 0;
}

const struct isms_kind isms_kind_contractors = {
    .name = "contractors",
    .ja = "委託事業者",
    .en = "Contractors",
    .id_prefix = "CT",
    .fields = f_contractors,
    .nfields = ARRAY_SIZE(f_contractors),
    .check = contractors_check,
};

static const struct isms_field f_contracts[] = {
    {"contractor", ISMS_REF, true, 0, 0, 0, NULL, "contractors", "委託事業者", "Contractor"},
    {"title", ISMS_TEXT, true, 200, 0, 0, NULL, NULL, "契約件名", "Title"},
    {"dept", ISMS_REF, true, 0, 0, 0, NULL, "departments", "所管部署", "Department"},
    {"start", ISMS_DATE, true, 0, 0, 0, NULL, NULL, "契約開始日", "Start"},
    {"end", ISMS_DATE, true, 0, 0, 0, NULL, NULL, "契約終了日", "End"},
    {"systems", ISMS_STRLIST, false, 64, 0, 100, NULL, NULL, "取り扱うシステム", "Systems handled"},
    {"data_handled", ISMS_STRLIST, false, 200, 0, 100, NULL, NULL, "取り扱う情報", "Data handled"},
    {"security_clauses", ISMS_STRLIST, true, 200, 0, 100, NULL, NULL, "セキュリティ条項",
     "Security clauses"},
    {"subcontracting", ISMS_BOOL, true, 0, 0, 0, NULL, NULL, "再委託の可否",
     "Subcontracting allowed"},
    {"subcontractors", ISMS_STRLIST, false, 200, 0, 50, NULL, NULL, "再委託先", "Subcontractors"},
    {"personnel", ISMS_STRLIST, false, 64, 0, 500, NULL, "staff", "従事者（台帳の職員ID）",
     "Personnel (registry staff ids)"},
    {"report_every_days", ISMS_INT, false, 0, 0, 366, NULL, NULL, "報告の間隔（日）",
     "Reports every (days)"},
    {"notes", ISMS_MARKDOWN, false, 0, 0, 0, NULL, NULL, "備考", "Notes"},
};

/*
 * Cross-field rules of a contract: end not before start, subcontractors
 * only where subcontracting is allowed, and personnel that are contractor
 * staff of this very contractor in the registry (employment contractor;
 * when the contractor record gives its registry id, the staff member's
 * contractor must be it).
 */
static int contracts_check(struct isms_ctx *c, json_t *rec, struct diag *d)
{
	struct isms_row crow;
	struct store_stmt *s = NULL;
	const json_t *pers = json_object_get(rec, "personnel");
	const char *reg_id = NULL;
	int32_t start = pp_day(rec, "start"), end = pp_day(rec, "end");
	bool have_row = false;
	int r;

	memset(&crow, 0, sizeof(crow));
	if (start != DAY_NONE && end != DAY_NONE && end < start)
		diag_error(d, NULL, 0, 0, "end",
			   T("契約終了日が開始日より前です", "the end is before the start"));
	if (!pp_bool(rec, "subcontracting") &&
	    json_array_size(json_object_get(rec, "subcontractors")) > 0)
		diag_error(d, NULL, 0, 0, "subcontractors",
			   T("再委託を認めない契約に再委託先があります",
			     "subcontractors are listed but subcontracting is not allowed"));
	if (json_array_size(pers) == 0)
		return 0;
	r = isms_row_load(c, &isms_kind_contractors, pp_str(rec, "contractor"), &crow);
	if (r == 0) {
		have_row = true;
		reg_id = pp_str(crow.data, "registry_id");
	} else if (r != ERR_NOT_FOUND) {
		return r;
	}
	if ((r = store_prepare(c->st, "SELECT employment, contractor FROM staff WHERE id = ?",
			       &s)) < 0)
		goto out;
	for (size_t i = 0; i < json_array_size(pers); i++) {
		const char *id = json_string_value(json_array_get(pers, i));
		const char *emp, *ctr;
		if (!id)
			continue;
		if ((r = store_reset(s)) < 0 || (r = store_bind_str(s, 1, id)) < 0 ||
		    (r = store_step(s)) < 0)
			goto out;
		if (r == 0)
			continue; /* the engine reports unknown staff */
		emp = store_col_text(s, 0, NULL);
		ctr = store_col_text(s, 1, NULL);
		if (!emp || strcmp(emp, "contractor") != 0)
			diag_error(
			    d, NULL, 0, 0, "personnel",
			    T("職員 %s は委託事業者の従事者（employment contractor）ではありません",
			      "staff member %s is not contractor staff (employment contractor)"),
			    id);
		else if (reg_id && (!ctr || strcmp(ctr, reg_id) != 0))
			diag_error(d, NULL, 0, 0, "personnel",
				   T("職員 %s は台帳で事業者 %s の従事者ではありません（%s）",
				     "staff member %s is not personnel of contractor %s in the "
				     "registry (%s)"),
				   id, reg_id, ctr ? ctr : "-");
	}
	r = 0;
out:
	store_finalize(s);
	if (have_row)
		isms_row_release(&crow);
	return r;
}

const struct isms_kind isms_kind_contracts = {
    .name = "contracts",
    .ja = "委託契約",
    .en = "Contracts",
    .id_prefix = "CN",
    .fields = f_contracts,
    .nfields = ARRAY_SIZE(f_contracts),
    .dept_field = "dept",
    .check = contracts_check,
};

/* The department of the contract a report or check belongs to, copied
 * into it so that department managers see their own. */
static int dept_from_contract(struct isms_ctx *c, json_t *rec)
{
	struct isms_row row;
	int r;

	memset(&row, 0, sizeof(row));
	r = isms_row_load(c, &isms_kind_contracts, pp_str(rec, "contract"), &row);
	if (r == ERR_NOT_FOUND)
		return 0; /* the engine reports the missing reference */
	if (r < 0)
		return r;
	r = pp_set_str(rec, "dept", pp_str(row.data, "dept"));
	isms_row_release(&row);
	return r;
}

static const char *const assessments[] = {"satisfactory", "issues", "unsatisfactory", NULL};

static const struct isms_field f_reports[] = {
    {"contract", ISMS_REF, true, 0, 0, 0, NULL, "contracts", "契約", "Contract"},
    {"period", ISMS_TEXT, false, 100, 0, 0, NULL, NULL, "対象期間", "Period"},
    {"due", ISMS_DATE, true, 0, 0, 0, NULL, NULL, "提出期限", "Due"},
    {"received", ISMS_DATE, false, 0, 0, 0, NULL, NULL, "受領日", "Received"},
    {"assessment", ISMS_ENUM, false, 0, 0, 0, assessments, NULL, "評価", "Assessment"},
    {"summary", ISMS_MARKDOWN, false, 0, 0, 0, NULL, NULL, "概要", "Summary"},
    {"dept", ISMS_TEXT, false, 64, 0, 0, NULL, NULL, "部署（契約から）",
     "Department (from the contract)"},
};

static int reports_check(struct isms_ctx *c, json_t *rec, struct diag *d)
{
	if (pp_str(rec, "assessment") && pp_day(rec, "received") == DAY_NONE)
		diag_error(
		    d, NULL, 0, 0, "assessment",
		    T("受領前の報告は評価できません", "a report not received cannot be assessed"));
	return dept_from_contract(c, rec);
}

const struct isms_kind isms_kind_contractor_reports = {
    .name = "contractor_reports",
    .ja = "委託先の報告",
    .en = "Contractor reports",
    .id_prefix = "CR",
    .fields = f_reports,
    .nfields = ARRAY_SIZE(f_reports),
    .dept_field = "dept",
    .check = reports_check,
};

static const char *const results[] = {"no_findings", "findings", "serious", NULL};

static const struct isms_field f_checks[] = {
    {"contract", ISMS_REF, true, 0, 0, 0, NULL, "contracts", "契約", "Contract"},
    {"date", ISMS_DATE, true, 0, 0, 0, NULL, NULL, "実施日", "Date"},
    {"inspector", ISMS_TEXT, true, 200, 0, 0, NULL, NULL, "確認者", "Inspector"},
    {"result", ISMS_ENUM, true, 0, 0, 0, results, NULL, "結果", "Result"},
    {"findings", ISMS_MARKDOWN, false, 0, 0, 0, NULL, NULL, "指摘事項", "Findings"},
    {"followup_due", ISMS_DATE, false, 0, 0, 0, NULL, NULL, "是正期限", "Follow-up due"},
    {"closed", ISMS_DATE, false, 0, 0, 0, NULL, NULL, "是正完了日", "Closed"},
    {"dept", ISMS_TEXT, false, 64, 0, 0, NULL, NULL, "部署（契約から）",
     "Department (from the contract)"},
};

static int checks_check(struct isms_ctx *c, json_t *rec, struct diag *d)
{
	const char *res = pp_str(rec, "result");

	if (res && strcmp(res, "no_findings") != 0 && !pp_str(rec, "findings"))
		diag_error(d, NULL, 0, 0, "findings",
			   T("指摘がある場合は指摘事項を記入してください",
			     "write down the findings when there are any"));
	if (pp_day(rec, "closed") != DAY_NONE && pp_day(rec, "date") != DAY_NONE &&
	    pp_day(rec, "closed") < pp_day(rec, "date"))
		diag_error(d, NULL, 0, 0, "closed",
			   T("是正完了日が実施日より前です", "closed before the check took place"));
	return dept_from_contract(c, rec);
}

const struct isms_kind isms_kind_contractor_checks = {
    .name = "contractor_checks",
    .ja = "委託先の実地確認",
    .en = "Contractor on-site checks",
    .id_prefix = "CK",
    .fields = f_checks,
    .nfields = ARRAY_SIZE(f_checks),
    .dept_field = "dept",
    .check = checks_check,
};

/* ---- the pure layer ---- */

bool contract_ending(int32_t end, int32_t day, int32_t days)
{
	return end != DAY_NONE && day <= end && (int64_t)end <= (int64_t)day + days;
}

bool report_overdue(int32_t due, int32_t received, int32_t day)
{
	return due != DAY_NONE && received == DAY_NONE && due < day;
}

/* ---- attention ---- */

static int add_item(json_t *list, json_t *it)
{
	if (!it || json_array_append_new(list, it) < 0)
		return ERR_NOMEM;
	return 0;
}

int isms_contracts_attention(struct isms_ctx *c, int32_t day, int32_t days, json_t **out)
{
	json_t *contracts = NULL, *reports = NULL, *checks = NULL, *res = NULL;
	json_t *ending, *overdue, *open, *o;
	size_t i;
	int r;

	*out = NULL;
	if ((r = pp_all(c, &isms_kind_contracts, NULL, 0, &contracts)) < 0 ||
	    (r = pp_all(c, &isms_kind_contractor_reports, NULL, 0, &reports)) < 0 ||
	    (r = pp_all(c, &isms_kind_contractor_checks, NULL, 0, &checks)) < 0)
		goto out;
	if (!(res = json_pack("{s:o, s:i, s:[], s:[], s:[]}", "date", pp_json_day(day), "days",
			      (int)days, "ending", "reports_overdue", "checks_open"))) {
		r = ERR_NOMEM;
		goto out;
	}
	ending = json_object_get(res, "ending");
	overdue = json_object_get(res, "reports_overdue");
	open = json_object_get(res, "checks_open");
	json_array_foreach(contracts, i, o)
	{
		int32_t end = pp_day(o, "end");
		if (!contract_ending(end, day, days))
			continue;
		if ((r = add_item(ending, json_pack("{s:s?, s:s?, s:s?, s:s?, s:o, s:I}", "id",
						    pp_str(o, "_id"), "title", pp_str(o, "title"),
						    "contractor", pp_str(o, "contractor"), "dept",
						    pp_str(o, "dept"), "end", pp_json_day(end),
						    "days_left", (json_int_t)(end - day)))) < 0)
			goto out;
	}
	json_array_foreach(reports, i, o)
	{
		int32_t due = pp_day(o, "due");
		if (!report_overdue(due, pp_day(o, "received"), day))
			continue;
		if ((r = add_item(overdue,
				  json_pack("{s:s?, s:s?, s:s?, s:s?, s:o, s:I}", "id",
					    pp_str(o, "_id"), "contract", pp_str(o, "contract"),
					    "dept", pp_str(o, "dept"), "period",
					    pp_str(o, "period"), "due", pp_json_day(due),
					    "days_overdue", (json_int_t)(day - due)))) < 0)
			goto out;
	}
	json_array_foreach(checks, i, o)
	{
		int32_t fu = pp_day(o, "followup_due");
		const char *result = pp_str(o, "result");
		if (!result || !strcmp(result, "no_findings") || pp_day(o, "closed") != DAY_NONE ||
		    fu == DAY_NONE || fu >= day)
			continue;
		if ((r = add_item(open, json_pack("{s:s?, s:s?, s:s?, s:s, s:o, s:I}", "id",
						  pp_str(o, "_id"), "contract",
						  pp_str(o, "contract"), "dept", pp_str(o, "dept"),
						  "result", result, "followup_due", pp_json_day(fu),
						  "days_overdue", (json_int_t)(day - fu)))) < 0)
			goto out;
	}
	*out = res;
	res = NULL;
	r = 0;
out:
	json_decref(res);
	json_decref(contracts);
	json_decref(reports);
	json_decref(checks);
	return r;
}
