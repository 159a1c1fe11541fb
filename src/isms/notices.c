/*
 * notices.c - security notices (注意喚起) from NISC, J-LIS or the security
 * office, sent to groups of staff, their acknowledgements, reminders and
 * overdue acknowledgements per department (people.h,
 * docs/isms-people.md "Notices").
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

static const char *const sources[] = {"nisc", "jlis", "internal", NULL};
static const char *const severities[] = {"info", "low", "medium", "high", "critical", NULL};

static const struct isms_field f_notices[] = {
    {"source", ISMS_ENUM, true, 0, 0, 0, sources, NULL, "発信元（NISC、J-LIS、庁内）",
     "Source (NISC, J-LIS, internal)"},
    {"title", ISMS_TEXT, true, 200, 0, 0, NULL, NULL, "件名", "Title"},
    {"body", ISMS_MARKDOWN, false, 0, 0, 0, NULL, NULL, "本文", "Body"},
    {"severity", ISMS_ENUM, true, 0, 0, 0, severities, NULL, "重要度", "Severity"},
    {"audience_all", ISMS_BOOL, false, 0, 0, 0, NULL, NULL, "全職員", "All staff"},
    {"audience_depts", ISMS_STRLIST, false, 64, 0, 500, NULL, "departments", "対象部署",
     "Departments"},
    {"audience_roles", ISMS_STRLIST, false, 64, 0, 50, NULL, NULL, "対象の役割", "Roles"},
    {"audience_employment", ISMS_STRLIST, false, 32, 0, 4, NULL, NULL, "対象の雇用区分",
     "Employment types"},
    {"issued", ISMS_DATE, true, 0, 0, 0, NULL, NULL, "発出日", "Issued on"},
    {"due", ISMS_DATE, false, 0, 0, 0, NULL, NULL, "確認期限", "Acknowledge by"},
    {"url", ISMS_TEXT, false, 500, 0, 0, NULL, NULL, "参照先", "Link"},
};

static int notices_check(struct isms_ctx *c, json_t *rec, struct diag *d)
{
	int32_t issued = pp_day(rec, "issued"), due = pp_day(rec, "due");

	(void)c;
	pp_check_employment(rec, "audience_employment", d);
	if (!pp_bool(rec, "audience_all") &&
	    json_array_size(json_object_get(rec, "audience_depts")) == 0 &&
	    json_array_size(json_object_get(rec, "audience_roles")) == 0 &&
	    json_array_size(json_object_get(rec, "audience_employment")) == 0)
		diag_error(
		    d, NULL, 0, 0, "audience_all",
		    T("対象がありません: audience_all "
		      "か、部署・役割・雇用区分のいずれかを指定してください",
		      "no audience: set audience_all, or departments, roles or employment types"));
	if (issued != DAY_NONE && due != DAY_NONE && due < issued)
		diag_error(
		    d, NULL, 0, 0, "due",
		    T("確認期限が発出日より前です", "the due date is before the issue date"));
	return 0;
}

const struct isms_kind isms_kind_notices = {
    .name = "notices",
    .ja = "注意喚起",
    .en = "Security notices",
    .id_prefix = "NT",
    .fields = f_notices,
    .nfields = ARRAY_SIZE(f_notices),
    .check = notices_check,
};

static const struct isms_field f_acks[] = {
    {"notice", ISMS_REF, true, 0, 0, 0, NULL, "notices", "注意喚起", "Notice"},
    {"staff", ISMS_REF, true, 0, 0, 0, NULL, "staff", "職員", "Staff member"},
    {"acked", ISMS_DATETIME, true, 0, 0, 0, NULL, NULL, "確認日時", "Acknowledged at"},
    {"dept", ISMS_TEXT, false, 64, 0, 0, NULL, NULL, "部署（職員の所属から）",
     "Department (from the staff member)"},
    {"note", ISMS_TEXT, false, 500, 0, 0, NULL, NULL, "備考", "Note"},
};

/* The department of the staff member, copied into the record so that a
 * department manager sees and records the acknowledgements of their own
 * department only. */
static int acks_check(struct isms_ctx *c, json_t *rec, struct diag *d)
{
	struct store_stmt *s = NULL;
	int r;

	{
		/* One acknowledgement per notice and staff member. */
		static const char *const names[] = {"staff", "notice"};
		const char *values[] = {pp_str(rec, "staff"), pp_str(rec, "notice")};
		if ((r = pp_check_unique(c, &isms_kind_notice_acks, names, values, 2, d)) < 0)
			return r;
	}
	if ((r = store_prepare(c->st, "SELECT dept FROM staff WHERE id = ?", &s)) < 0 ||
	    (r = store_bind_str(s, 1, pp_str(rec, "staff"))) < 0 || (r = store_step(s)) < 0)
		goto out;
	if (r == 1)
		r = pp_set_str(rec, "dept", store_col_text(s, 0, NULL));
	else
		r = 0;
out:
	store_finalize(s);
	return r;
}

const struct isms_kind isms_kind_notice_acks = {
    .name = "notice_acks",
    .ja = "注意喚起の確認",
    .en = "Notice acknowledgements",
    .id_prefix = "NA",
    .fields = f_acks,
    .nfields = ARRAY_SIZE(f_acks),
    .dept_field = "dept",
    .check = acks_check,
};

/* ---- the pure layer ---- */

static bool in_list(const char *const *v, size_t n, const char *s)
{
	for (size_t i = 0; s && i < n; i++)
		if (!strcmp(v[i], s))
			return true;
	return false;
}

bool notice_addresses(const struct nt_audience *a, const struct reg_staff *s)
{
	bool any_role = false;

	if (a->all)
		return true;
	if (!a->ndepts && !a->nroles && !a->employment_mask)
		return false;
	if (a->ndepts && !in_list(a->depts, a->ndepts, s->dept))
		return false;
	if (a->employment_mask && !(a->employment_mask & (1u << s->employment)))
		return false;
	if (!a->nroles)
		return true;
	for (uint32_t i = 0; i < s->roles.n && !any_role; i++)
		any_role = in_list(a->roles, a->nroles, s->roles.v[i]);
	return any_role;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int notice_pending(const struct reg_staff *staff, size_t nstaff, const struct nt_audience *a,
		   const char *const *acked, size_t nacked, int32_t day, const char *dept,
		   size_t **out, size_t *nout)
{
	const char **sorted = NULL;
	size_t *v = NULL, n = 0, cap = 0, bytes;
	int r;

	*out = NULL;
	*nout = 0;
	if (nacked) {
		if ((r = size_mul(nacked, sizeof(*sorted), &bytes)) < 0)
			return r;
		sorted = xmalloc(bytes);
		memcpy(sorted, acked, bytes);
		qsort(sorted, nacked, sizeof(*sorted), str_cmp);
	}
	for (size_t i = 0; i < nstaff; i++) {
		const struct reg_staff *s = &staff[i];
		if (!people_staff_active(s, day) || !notice_addresses(a, s))
			continue;
		if (dept && *dept && (!s->dept || strcmp(s->dept, dept) != 0))
			continue;
		if (nacked && bsearch(&s->id, sorted, nacked, sizeof(*sorted), str_cmp))
			continue;
		if ((r = ARRAY_GROW(v, cap, n + 1)) < 0)
			goto out;
		v[n++] = i;
	}
	*out = v;
	*nout = n;
	v = NULL;
	r = 0;
out:
	free(sorted);
	free(v);
	return r;
}

/* ---- workflows ---- */

/* The audience of notice record o; the lists point into o and are freed
 * with audience_release. */
static void audience_of(const json_t *o, struct nt_audience *a)
{
	memset(a, 0, sizeof(*a));
	a->all = pp_bool(o, "audience_all");
	pp_strv(o, "audience_depts", (const char ***)&a->depts, &a->ndepts);
	pp_strv(o, "audience_roles", (const char ***)&a->roles, &a->nroles);
	a->employment_mask = pp_employment_mask(o, "audience_employment");
}

static void audience_release(struct nt_audience *a)
{
	free((void *)a->depts);
	free((void *)a->roles);
}

/* The staff ids that acknowledged notice id (strings in *arr). */
static int acked_of(struct isms_ctx *rc, const char *id, json_t **arr, const char ***v, size_t *n)
{
	const char *const filt[1][2] = {{"notice", id}};
	size_t m = 0;
	int r;

	*v = NULL;
	*n = 0;
	if ((r = pp_all(rc, &isms_kind_notice_acks, filt, 1, arr)) < 0)
		return r;
	if (json_array_size(*arr) == 0)
		return 0;
	*v = xcalloc(json_array_size(*arr), sizeof(**v));
	for (size_t i = 0; i < json_array_size(*arr); i++) {
		const char *s = pp_str(json_array_get(*arr, i), "staff");
		if (s)
			(*v)[m++] = s;
	}
	*n = m;
	return 0;
}

int isms_notice_ack(struct isms_ctx *c, const char *id, const char *staff_id, struct diag *d,
		    char ack_id[ISMS_ID_MAX])
{
	struct isms_ctx rc;
	struct actor ra;
	struct registry_data *reg = NULL;
	json_t *notice = NULL, *acks = NULL, *rec = NULL;
	const struct reg_staff *s;
	struct nt_audience a = {0};
	char ts[TS_TEXT_MAX];
	int r;

	ack_id[0] = '\0';
	if (!isms_may_write_kind(c, &isms_kind_notice_acks))
		return ERR_FORBIDDEN;
	if ((r = isms_get(c, &isms_kind_notices, id, &notice)) < 0)
		return r;
	if (!strcmp(pp_str(notice, "_status") ? pp_str(notice, "_status") : "", "retired")) {
		diag_error(d, NULL, 0, 0, "notice",
			   T("注意喚起 %s は廃止されています", "notice %s is retired"), id);
		r = ERR_INVALID;
		goto out;
	}
	if ((r = registry_load_people(c->st, &reg)) < 0)
		goto out;
	if (!staff_id || !(s = pp_staff_find(reg, staff_id))) {
		diag_error(d, NULL, 0, 0, "staff_id",
			   T("職員 '%s' は台帳にいません", "no staff member '%s' in the registry"),
			   staff_id ? staff_id : "");
		r = ERR_INVALID;
		goto out;
	}
	audience_of(notice, &a);
	if (!notice_addresses(&a, s)) {
		diag_error(d, NULL, 0, 0, "staff_id",
			   T("職員 %s はこの注意喚起の対象ではありません",
			     "staff member %s is not in this notice's audience"),
			   staff_id);
		r = ERR_INVALID;
		goto out;
	}
	pp_reader_ctx(c, &rc, &ra);
	{
		const char *const filt[2][2] = {{"notice", id}, {"staff", staff_id}};
		if ((r = pp_all(&rc, &isms_kind_notice_acks, filt, 2, &acks)) < 0)
			goto out;
	}
	if (json_array_size(acks) > 0) {
		snprintf(ack_id, ISMS_ID_MAX, "%s", pp_str(json_array_get(acks, 0), "_id"));
		r = ERR_EXISTS;
		goto out;
	}
	ts_format_jst(isms_now(c), ts);
	if (!(rec = json_pack("{s:s, s:s, s:s}", "notice", id, "staff", staff_id, "acked", ts))) {
		r = ERR_NOMEM;
		goto out;
	}
	r = isms_create(c, &isms_kind_notice_acks, rec, d, ack_id);
out:
	audience_release(&a);
	json_decref(notice);
	json_decref(acks);
	json_decref(rec);
	registry_data_free(reg);
	return r;
}

/*
 * The pending staff of one notice as a JSON object
 * {"notice","title","due","overdue","audience","acknowledged","pending":[...]}
 * into *out; by_dept (may be NULL) gets the pending per department added.
 */
static int pending_json(struct isms_ctx *rc, const struct registry_data *reg, const json_t *notice,
			int32_t day, const char *dept, json_t *by_dept, json_t **out)
{
	struct nt_audience a;
	json_t *acks = NULL, *res = NULL, *list;
	const char **acked = NULL;
	size_t nacked = 0, *idx = NULL, nidx = 0, audience = 0, done_in_scope = 0;
	const char *id = pp_str(notice, "_id");
	int32_t due = pp_day(notice, "due");
	int r;

	*out = NULL;
	audience_of(notice, &a);
	if ((r = acked_of(rc, id, &acks, &acked, &nacked)) < 0 ||
	    (r = notice_pending(reg->staff, reg->nstaff, &a, acked, nacked, day, dept, &idx,
				&nidx)) < 0)
		goto out;
	for (size_t i = 0; i < reg->nstaff; i++) {
		const struct reg_staff *s = &reg->staff[i];
		if (people_staff_active(s, day) && notice_addresses(&a, s) &&
		    (!dept || !*dept || !strcmp(s->dept, dept)))
			audience++;
	}
	done_in_scope = audience - nidx;
	res = json_pack("{s:s, s:s?, s:s?, s:o, s:b, s:I, s:I, s:I, s:[]}", "notice", id, "title",
			pp_str(notice, "title"), "severity", pp_str(notice, "severity"), "due",
			pp_json_day(due), "overdue", due != DAY_NONE && due < day, "audience",
			(json_int_t)audience, "acknowledged", (json_int_t)done_in_scope,
			"pending_count", (json_int_t)nidx, "pending");
	if (!res) {
		r = ERR_NOMEM;
		goto out;
	}
	list = json_object_get(res, "pending");
	for (size_t i = 0; i < nidx; i++) {
		const struct reg_staff *s = &reg->staff[idx[i]];
		json_t *it =
		    json_pack("{s:s, s:s, s:s, s:s?, s:s}", "staff_id", s->id, "name", s->name,
			      "dept", s->dept, "dept_name", pp_dept_name(reg, s->dept),
			      "employment", employment_name(s->employment));
		if (!it || json_array_append_new(list, it) < 0) {
			r = ERR_NOMEM;
			goto out;
		}
		if (by_dept) {
			json_t *cnt = json_object_get(by_dept, s->dept);
			if (json_object_set_new(
				by_dept, s->dept,
				json_integer(cnt ? json_integer_value(cnt) + 1 : 1)) < 0) {
				r = ERR_NOMEM;
				goto out;
			}
		}
	}
	*out = res;
	res = NULL;
	r = 0;
out:
	audience_release(&a);
	free(acked);
	free(idx);
	json_decref(acks);
	json_decref(res);
	return r;
}

int isms_notice_pending(struct isms_ctx *c, const char *id, int32_t day, const char *dept,
			json_t **out)
{
	struct isms_ctx rc;
	struct actor ra;
	struct registry_data *reg = NULL;
	json_t *notice = NULL;
	const char *scope;
	int r;

	*out = NULL;
	if (!isms_may_read_kind(c, &isms_kind_notice_acks))
		return ERR_FORBIDDEN;
	if ((r = pp_dept_scope(c, dept, &scope)) < 0)
		return r;
	if ((r = isms_get(c, &isms_kind_notices, id, &notice)) < 0)
		return r;
	pp_reader_ctx(c, &rc, &ra);
	if ((r = registry_load_people(c->st, &reg)) < 0 ||
	    (r = pending_json(&rc, reg, notice, day, scope, NULL, out)) < 0)
		goto out;
	if (json_object_set_new(*out, "date", pp_json_day(day)) < 0 ||
	    json_object_set_new(*out, "dept", scope ? json_string(scope) : json_null()) < 0)
		r = ERR_NOMEM;
out:
	if (r < 0) {
		json_decref(*out);
		*out = NULL;
	}
	json_decref(notice);
	registry_data_free(reg);
	return r;
}

int isms_notice_reminders(struct isms_ctx *c, int32_t day, const char *dept, bool overdue_only,
			  json_t **out)
{
	struct isms_ctx rc;
	struct actor ra;
	struct registry_data *reg = NULL;
	json_t *notices = NULL, *res = NULL, *list, *by_dept;
	const char *scope;
	size_t i, total = 0;
	json_t *n;
	int r;

	*out = NULL;
	if (!isms_may_read_kind(c, &isms_kind_notice_acks) ||
	    !isms_may_read_kind(c, &isms_kind_notices))
		return ERR_FORBIDDEN;
	if ((r = pp_dept_scope(c, dept, &scope)) < 0)
		return r;
	pp_reader_ctx(c, &rc, &ra);
	if ((r = registry_load_people(c->st, &reg)) < 0 ||
	    (r = pp_all(&rc, &isms_kind_notices, NULL, 0, &notices)) < 0)
		goto out;
	if (!(res = json_pack("{s:o, s:o, s:b, s:[], s:{}}", "date", pp_json_day(day), "dept",
			      scope ? json_string(scope) : json_null(), "overdue_only",
			      overdue_only, "notices", "by_dept"))) {
		r = ERR_NOMEM;
		goto out;
	}
	list = json_object_get(res, "notices");
	by_dept = json_object_get(res, "by_dept");
	json_array_foreach(notices, i, n)
	{
		int32_t due = pp_day(n, "due"), issued = pp_day(n, "issued");
		json_t *p = NULL;

		/* Reminders are about acknowledgements due: a notice without a
		 * due date asks for none, and one not yet issued is not out. */
		if (due == DAY_NONE || (issued != DAY_NONE && issued > day))
			continue;
		if (overdue_only && due >= day)
			continue;
		if ((r = pending_json(&rc, reg, n, day, scope,
				      overdue_only || due < day ? by_dept : NULL, &p)) < 0)
			goto out;
		if (json_integer_value(json_object_get(p, "pending_count")) == 0) {
			json_decref(p);
			continue;
		}
		total += (size_t)json_integer_value(json_object_get(p, "pending_count"));
		if (json_array_append_new(list, p) < 0) {
			r = ERR_NOMEM;
			goto out;
		}
	}
	if (json_object_set_new(res, "pending_total", json_integer((json_int_t)total)) < 0) {
		r = ERR_NOMEM;
		goto out;
	}
	*out = res;
	res = NULL;
	r = 0;
out:
	json_decref(res);
	json_decref(notices);
	registry_data_free(reg);
	return r;
}
