/*
 * people_util.c - helpers shared by soa.c, training.c, notices.c and
 * contractors.c (people_int.h), and the pure helpers of people.h that
 * belong to no single workflow.
 */
#include "base/base.h"
#include "base/diag.h"
#include "base/i18n.h"
#include "base/timeutil.h"
#include "isms/isms_int.h"
#include "isms/people.h"
#include "isms/people_int.h"

bool people_staff_active(const struct reg_staff *s, int32_t day)
{
	return s->start != DAY_NONE && s->start <= day && (s->end == DAY_NONE || day <= s->end);
}

int pp_all(struct isms_ctx *c, const struct isms_kind *k, const char *const (*filters)[2],
	   size_t nfilters, json_t **out)
{
	struct isms_query q;
	struct isms_row *rows = NULL;
	size_t n = 0;
	json_t *arr = NULL;
	int r;

	*out = NULL;
	memset(&q, 0, sizeof(q));
	if (nfilters > ARRAY_SIZE(q.filters))
		return ERR_INVALID;
	for (size_t i = 0; i < nfilters; i++) {
		q.filters[i][0] = filters[i][0];
		q.filters[i][1] = filters[i][1];
	}
	q.nfilters = nfilters;
	if ((r = isms_select(c, k, &q, &rows, &n)) < 0)
		return r;
	if (!(arr = json_array())) {
		r = ERR_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		json_t *o = json_deep_copy(rows[i].data);
		if (!o || json_object_set_new(o, "_id", json_string(rows[i].id)) < 0 ||
		    json_object_set_new(o, "_version", json_integer(rows[i].version)) < 0 ||
		    json_array_append_new(arr, o) < 0) {
			json_decref(o);
			r = ERR_NOMEM;
			goto out;
		}
	}
	*out = arr;
	arr = NULL;
	r = 0;
out:
	json_decref(arr);
	isms_rows_free(rows, n);
	return r;
}

const char *pp_str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

int32_t pp_day(const json_t *o, const char *key)
{
	const char *s = pp_str(o, key);
	int32_t d;

	if (!s || date_parse(s, strlen(s), &d) < 0)
		return DAY_NONE;
	return d;
}

int64_t pp_int(const json_t *o, const char *key, int64_t def)
{
	const json_t *v = json_object_get(o, key);

	return json_is_integer(v) ? (int64_t)json_integer_value(v) : def;
}

bool pp_bool(const json_t *o, const char *key)
{
	return json_is_true(json_object_get(o, key));
}

void pp_strv(const json_t *o, const char *key, const char ***out, size_t *n)
{
	const json_t *a = json_object_get(o, key);
	const char **v;
	size_t m = 0;

	*out = NULL;
	*n = 0;
	if (!json_is_array(a) || json_array_size(a) == 0)
		return;
	v = xcalloc(json_array_size(a), sizeof(*v));
	for (size_t i = 0; i < json_array_size(a); i++) {
		const char *s = json_string_value(json_array_get(a, i));
		if (s)
			v[m++] = s;
	}
	*out = v;
	*n = m;
}

unsigned pp_employment_mask(const json_t *o, const char *key)
{
	const json_t *a = json_object_get(o, key);
	unsigned mask = 0;

	for (size_t i = 0; json_is_array(a) && i < json_array_size(a); i++) {
		enum employment e;
		const char *s = json_string_value(json_array_get(a, i));
		if (s && employment_parse(s, &e) == 0)
			mask |= 1u << e;
	}
	return mask;
}

void pp_check_employment(const json_t *rec, const char *name, struct diag *d)
{
	const json_t *a = json_object_get(rec, name);

	for (size_t i = 0; json_is_array(a) && i < json_array_size(a); i++) {
		enum employment e;
		const char *s = json_string_value(json_array_get(a, i));
		if (!s || employment_parse(s, &e) < 0)
			diag_error(
			    d, NULL, 0, 0, name,
			    T("雇用区分 '%s' はありません（regular, fiscal_year, temporary, "
			      "contractor のいずれか）",
			      "no employment type '%s' (one of regular, fiscal_year, temporary, "
			      "contractor)"),
			    s ? s : "?");
	}
}

json_t *pp_json_day(int32_t day)
{
	char t[DATE_TEXT_MAX];

	if (day == DAY_NONE)
		return json_null();
	date_format(day, t);
	return json_string(t);
}

static int staff_cmp(const void *key, const void *elem)
{
	return strcmp((const char *)key, ((const struct reg_staff *)elem)->id);
}

const struct reg_staff *pp_staff_find(const struct registry_data *reg, const char *id)
{
	if (!reg || !id || reg->nstaff == 0)
		return NULL;
	return bsearch(id, reg->staff, reg->nstaff, sizeof(reg->staff[0]), staff_cmp);
}

const char *pp_dept_name(const struct registry_data *reg, const char *id)
{
	for (size_t i = 0; reg && id && i < reg->ndepartments; i++)
		if (!strcmp(reg->departments[i].id, id))
			return reg->departments[i].name;
	return NULL;
}

int pp_dept_scope(const struct isms_ctx *c, const char *want, const char **eff)
{
	const struct actor *a = c->actor;

	*eff = want && *want ? want : NULL;
	if (!a || !(a->role & ROLE_DEPT_MANAGER))
		return 0;
	if (!a->dept[0])
		return ERR_FORBIDDEN;
	if (*eff && strcmp(*eff, a->dept) != 0)
		return ERR_FORBIDDEN;
	*eff = a->dept;
	return 0;
}

int pp_set_str(json_t *o, const char *key, const char *s)
{
	return json_object_set_new(o, key, s ? json_string(s) : json_null()) < 0 ? ERR_NOMEM : 0;
}

void pp_reader_ctx(const struct isms_ctx *c, struct isms_ctx *rc, struct actor *a)
{
	memset(a, 0, sizeof(*a));
	snprintf(a->name, sizeof(a->name), "%s", c->actor ? c->actor->name : "system");
	a->role = ROLE_AUDITOR;
	*rc = *c;
	rc->actor = a;
	rc->in_tx = false;
}

int pp_check_unique(struct isms_ctx *c, const struct isms_kind *k, const char *const *names,
		    const char *const *values, size_t nf, struct diag *d)
{
	const char *filt[4][2];
	struct isms_ctx rc;
	struct actor ra;
	json_t *all = NULL;
	size_t i;
	json_t *o;
	int r;

	if (nf == 0 || nf > ARRAY_SIZE(filt))
		return ERR_INVALID;
	for (size_t j = 0; j < nf; j++) {
		if (!values[j])
			return 0;
		filt[j][0] = names[j];
		filt[j][1] = values[j];
	}
	pp_reader_ctx(c, &rc, &ra);
	if ((r = pp_all(&rc, k, (const char *const(*)[2])filt, nf, &all)) < 0)
		return r;
	json_array_foreach(all, i, o)
	{
		const char *id = pp_str(o, "_id");
		if (c->id && id && !strcmp(id, c->id))
			continue;
		diag_error(d, NULL, 0, 0, names[0],
			   T("'%s' は既に %s にあります", "'%s' is already in %s"), values[0],
			   id ? id : "?");
		break;
	}
	json_decref(all);
	return 0;
}
