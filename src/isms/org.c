/*
 * org.c - the organisation of responsibility (情報セキュリティ管理体制):
 * the management roles of the seed policies assigned to staff of the
 * registry, with deputies and periods, and who holds which role on a date
 * (plan.h).
 */
#include "base/base.h"

#include "base/i18n.h"
#include "base/timeutil.h"
#include "isms/isms.h"
#include "isms/isms_int.h"
#include "isms/plan.h"
#include "store/store.h"

/*
 * The roles, in the order of the model policy's organisation (DOMAIN.md,
 * "Organisation"): the CISO (usually the deputy mayor), the 統括情報
 * セキュリティ責任者 (head of the information policy department), a
 * 情報セキュリティ責任者 and 管理者 in each department, the 情報システム
 * 管理者 of each system, the committee, and the CSIRT.
 */
const struct isms_org_role isms_org_roles[] = {
    {"ciso", "最高情報セキュリティ責任者(CISO)", "chief information security officer (CISO)", false,
     true},
    {"chief_officer", "統括情報セキュリティ責任者", "chief information security manager", false,
     true},
    {"security_officer", "情報セキュリティ責任者", "information security officer (department)",
     true, true},
    {"security_manager", "情報セキュリティ管理者", "information security manager (department)",
     true, true},
    {"system_manager", "情報システム管理者", "information system manager", true, false},
    {"committee_chair", "情報セキュリティ委員会 委員長",
     "chair of the information security committee", false, true},
    {"committee_member", "情報セキュリティ委員会 委員",
     "member of the information security committee", false, false},
    {"csirt_lead", "CSIRT 責任者", "CSIRT lead", false, true},
    {"csirt_member", "CSIRT 要員", "CSIRT member", false, false},
    {NULL, NULL, NULL, false, false},
};

const struct isms_org_role *isms_org_role_find(const char *code)
{
	for (size_t i = 0; code && isms_org_roles[i].code; i++)
		if (!strcmp(isms_org_roles[i].code, code))
			return &isms_org_roles[i];
	return NULL;
}

static const char *const role_codes[] = {
    "ciso",
    "chief_officer",
    "security_officer",
    "security_manager",
    "system_manager",
    "committee_chair",
    "committee_member",
    "csirt_lead",
    "csirt_member",
    NULL,
};

static const struct isms_field ra_fields[] = {
    {.name = "role",
     .type = ISMS_ENUM,
     .required = true,
     .values = role_codes,
     .ja = "役割",
     .en = "role"},
    {.name = "staff",
     .type = ISMS_REF,
     .required = true,
     .ref_kind = "staff",
     .ja = "担当者",
     .en = "holder"},
    {.name = "deputy", .type = ISMS_REF, .ref_kind = "staff", .ja = "代理者", .en = "deputy"},
    {.name = "dept", .type = ISMS_REF, .ref_kind = "departments", .ja = "部署", .en = "department"},
    {.name = "system", .type = ISMS_TEXT, .max_len = 64, .ja = "情報システム", .en = "system"},
    {.name = "from", .type = ISMS_DATE, .required = true, .ja = "開始日", .en = "from"},
    {.name = "to", .type = ISMS_DATE, .ja = "終了日", .en = "to"},
    {.name = "note", .type = ISMS_TEXT, .max_len = 1000, .ja = "備考", .en = "note"},
};

static const char *str_of(const json_t *o, const char *k)
{
	const json_t *v = json_object_get(o, k);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Do the periods [f1, t1] and [f2, t2] (t NULL = open) overlap? Dates
 * as YYYY-MM-DD compare as text. */
static bool overlap(const char *f1, const char *t1, const char *f2, const char *t2)
{
	return (!t2 || strcmp(f1, t2) <= 0) && (!t1 || strcmp(f2, t1) <= 0);
}

/*
 * A departmental role names its department, an organisation-wide one
 * none; the period ends after it starts; the deputy is someone else; and
 * a role one person holds at a time (per department where departmental)
 * has no other assignment over any part of the same period.
 */
static int ra_check(struct isms_ctx *c, json_t *rec, struct diag *d)
{
	const struct isms_org_role *role = isms_org_role_find(str_of(rec, "role"));
	const char *dept = str_of(rec, "dept"), *from = str_of(rec, "from"),
		   *to = str_of(rec, "to");
	const char *staff = str_of(rec, "staff"), *deputy = str_of(rec, "deputy");
	struct isms_row *rows = NULL;
	size_t n = 0;
	int r;

	if (!role)
		return 0;
	if (role->per_dept && !dept)
		diag_error(d, NULL, 0, 0, "dept",
			   T("部署ごとの役割です。部署が必要です",
			     "a departmental role: the department is required"));
	if (!role->per_dept && dept)
		diag_error(d, NULL, 0, 0, "dept",
			   T("全庁の役割には部署を指定しません",
			     "an organisation-wide role has no department"));
	if (from && to && strcmp(to, from) < 0)
		diag_error(d, NULL, 0, 0, "to", T("開始日より前です", "before the start date"));
	if (staff && deputy && !strcmp(staff, deputy))
		diag_error(
		    d, NULL, 0, 0, "deputy",
		    T("代理者は担当者と別の人にしてください", "the deputy must be someone else"));
	if (!role->single || !from || d->errors)
		return 0;
	/* Look at every assignment of the role, whatever the actor may see:
	 * whether a role is taken must not depend on who asks (a kind's
	 * writers may one day include someone who cannot see them all). */
	{
		struct actor all = {.role = ROLE_AUDITOR};
		struct isms_ctx rc = *c;
		struct isms_query q = {.filters = {{"role", role->code}}, .nfilters = 1};
		snprintf(all.name, sizeof(all.name), "%s", c->actor->name);
		rc.actor = &all;
		if ((r = isms_select(&rc, &isms_kind_role_assignments, &q, &rows, &n)) < 0)
			return r;
	}
	for (size_t i = 0; i < n; i++) {
		const json_t *o = rows[i].data;
		/* The record being updated is itself among the rows. */
		if (c->id && !strcmp(c->id, rows[i].id))
			continue;
		if (role->per_dept &&
		    (!str_of(o, "dept") || !dept || strcmp(str_of(o, "dept"), dept)))
			continue;
		if (overlap(from, to, str_of(o, "from"), str_of(o, "to"))) {
			diag_error(d, NULL, 0, 0, "from",
				   T("%s は同じ時期に %s が担当しています(%s)",
				     "%s is held by %s over the same period (%s)"),
				   role->code, str_of(o, "staff") ? str_of(o, "staff") : "?",
				   rows[i].id);
			break;
		}
	}
	isms_rows_free(rows, n);
	return 0;
}

const struct isms_kind isms_kind_role_assignments = {
    .name = "role_assignments",
    .ja = "役割の任命",
    .en = "role assignments",
    .id_prefix = "RA",
    .fields = ra_fields,
    .nfields = ARRAY_SIZE(ra_fields),
    .dept_field = "dept",
    /* Assigning responsibility is the CISO's decision, prepared by the
     * security office. */
    .write_roles = ROLE_ADMIN | ROLE_CISO,
    .check = ra_check,
};

/* The registry's name of staff id, or NULL. */
static int staff_name(struct isms_ctx *c, const char *id, json_t **out)
{
	struct store_stmt *s = NULL;
	int r;

	*out = json_null();
	if (!id)
		return 0;
	if ((r = store_prepare(c->st, "SELECT name FROM staff WHERE id = ?", &s)) < 0 ||
	    (r = store_bind_str(s, 1, id)) < 0 || (r = store_step(s)) < 0)
		goto out;
	if (r == 1)
		*out = json_string(store_col_text(s, 0, NULL));
	r = 0;
out:
	store_finalize(s);
	return r;
}

int isms_org_holders(struct isms_ctx *c, const char *date, json_t **out)
{
	struct isms_row *rows = NULL;
	size_t n = 0;
	char today[11];
	int32_t day;
	json_t *o = NULL, *holders = NULL, *vacant = NULL;
	int r;

	*out = NULL;
	if (!date || !*date) {
		isms_today(c, today);
		date = today;
	}
	if (date_parse(date, strlen(date), &day) < 0)
		return ERR_INVALID;
	if ((r = isms_select(c, &isms_kind_role_assignments, NULL, &rows, &n)) < 0)
		return r;
	if (!(o = json_object()) || !(holders = json_array()) || !(vacant = json_array())) {
		r = ERR_NOMEM;
		goto out;
	}
	for (size_t ri = 0; isms_org_roles[ri].code; ri++) {
		const struct isms_org_role *role = &isms_org_roles[ri];
		bool held = false;
		/* Organisation-wide holders first, then departmental ones, each
		 * in the order of their assignments' ids. */
		for (int pass = 0; pass < 2; pass++)
			for (size_t i = 0; i < n; i++) {
				const json_t *d = rows[i].data;
				const char *from = str_of(d, "from"), *to = str_of(d, "to");
				json_t *h, *sn, *dn;
				if (!str_of(d, "role") || strcmp(str_of(d, "role"), role->code))
					continue;
				if (!from || strcmp(from, date) > 0 || (to && strcmp(to, date) < 0))
					continue;
				/* pass 0: organisation-wide; pass 1: departmental. */
				if ((pass == 0) != (str_of(d, "dept") == NULL))
					continue;
				held = true;
				if ((r = staff_name(c, str_of(d, "staff"), &sn)) < 0)
					goto out;
				if ((r = staff_name(c, str_of(d, "deputy"), &dn)) < 0) {
					json_decref(sn);
					goto out;
				}
				h = json_object();
				if (h) {
					json_object_set_new(h, "role", json_string(role->code));
					json_object_set_new(h, "role_ja", json_string(role->ja));
					json_object_set_new(h, "role_en", json_string(role->en));
					json_object_set(h, "dept",
							json_object_get(d, "dept")
							    ? json_object_get(d, "dept")
							    : json_null());
					json_object_set(h, "staff", json_object_get(d, "staff"));
					json_object_set(h, "deputy",
							json_object_get(d, "deputy")
							    ? json_object_get(d, "deputy")
							    : json_null());
					json_object_set_new(h, "from", json_string(from));
					json_object_set_new(h, "to",
							    to ? json_string(to) : json_null());
					json_object_set_new(h, "assignment",
							    json_string(rows[i].id));
				}
				json_object_set_new(h, "staff_name", sn);
				json_object_set_new(h, "deputy_name", dn);
				if (!h || json_array_append_new(holders, h) < 0) {
					r = ERR_NOMEM;
					goto out;
				}
			}
		if (!held && !role->per_dept &&
		    json_array_append_new(vacant, json_string(role->code)) < 0) {
			r = ERR_NOMEM;
			goto out;
		}
	}
	json_object_set_new(o, "date", json_string(date));
	json_object_set_new(o, "holders", holders);
	json_object_set_new(o, "vacant", vacant);
	holders = vacant = NULL;
	*out = o;
	o = NULL;
	r = 0;
out:
	json_decref(holders);
	json_decref(vacant);
	json_decref(o);
	isms_rows_free(rows, n);
	return r;
}
