/*
 * load.c - registry_load(): the whole registry from the store into one
 * arena, sorted for binary search, for the hot paths (decide, watch).
 *
 * Memory is what matters at 2 million residents and millions of cases:
 * no allocation per row. Record arrays grow by doubling (one realloc per
 * doubling) and are then copied into the arena; strings are packed end to
 * end into 1 MiB blocks of the arena without alignment padding.
 */
#include "base/base.h"

#include <jansson.h>

#include "base/arena.h"
#include "base/timeutil.h"
#include "registry/registry.h"
#include "registry/registry_int.h"
#include "store/store.h"

#define POOL_BLOCK ((size_t)1 << 20)

struct loader {
	struct store *st;
	struct arena *arena;
	char *pool;
	size_t left;
	int err;
};

static const char *pool_dup(struct loader *l, const char *s, size_t n)
{
	char *p;
	if (n + 1 > l->left) {
		size_t sz = n + 1 > POOL_BLOCK ? n + 1 : POOL_BLOCK;
		l->pool = arena_alloc(l->arena, sz);
		l->left = sz;
	}
	p = l->pool;
	memcpy(p, s, n);
	p[n] = '\0';
	l->pool += n + 1;
	l->left -= n + 1;
	return p;
}

/* Column i as an arena string; NULL for SQL NULL. */
static const char *col_str(struct loader *l, struct store_stmt *s, int i)
{
	size_t n;
	const char *t;
	if (store_col_is_null(s, i))
		return NULL;
	t = store_col_text(s, i, &n);
	return pool_dup(l, t ? t : "", n);
}

static int32_t col_date(struct loader *l, struct store_stmt *s, int i)
{
	size_t n;
	const char *t = store_col_text(s, i, &n);
	int32_t day;
	if (!t)
		return DAY_NONE;
	if (date_parse(t, n, &day) < 0) {
		l->err = ERR_CORRUPT;
		return DAY_NONE;
	}
	return day;
}

static int64_t col_ts(struct loader *l, struct store_stmt *s, int i)
{
	size_t n;
	const char *t = store_col_text(s, i, &n);
	int64_t v;
	if (!t)
		return TS_NONE;
	if (ts_parse(t, n, &v, NULL) < 0) {
		l->err = ERR_CORRUPT;
		return TS_NONE;
	}
	return v;
}

/* A JSON array of strings, as the importer stored it. */
static struct strlist col_list(struct loader *l, struct store_stmt *s, int i)
{
	struct strlist out = {NULL, 0};
	json_error_t jerr;
	size_t n, k;
	const char *t = store_col_text(s, i, &n);
	json_t *a, *e;

	if (!t || (n == 2 && t[0] == '[' && t[1] == ']'))
		return out;
	a = json_loadb(t, n, 0, &jerr);
	if (!json_is_array(a)) {
		l->err = ERR_CORRUPT;
		json_decref(a);
		return out;
	}
	out.v = arena_alloc(l->arena, json_array_size(a) * sizeof(*out.v) + 1);
	json_array_foreach(a, k, e)
	{
		if (!json_is_string(e)) {
			l->err = ERR_CORRUPT;
			continue;
		}
		out.v[out.n++] = pool_dup(l, json_string_value(e), json_string_length(e));
	}
	json_decref(a);
	return out;
}

static int cmp_str(const char *a, const char *b)
{
	return strcmp(a, b);
}

#define ID_CMP(type)                                                                               \
	static int cmp_##type(const void *x, const void *y)                                        \
	{                                                                                          \
		return cmp_str(((const struct type *)x)->id, ((const struct type *)y)->id);        \
	}
ID_CMP(reg_system)
ID_CMP(reg_department)
ID_CMP(reg_staff)
ID_CMP(reg_resident)

static int cmp_case(const void *x, const void *y)
{
	const struct reg_case *a = x, *b = y;
	int c = strcmp(a->resident_id, b->resident_id);
	if (c)
		return c;
	if (a->opened != b->opened)
		return a->opened < b->opened ? -1 : 1;
	return strcmp(a->id, b->id);
}

static int cmp_overtime(const void *x, const void *y)
{
	const struct reg_overtime *a = x, *b = y;
	int c = strcmp(a->staff_id, b->staff_id);
	if (c)
		return c;
	return a->start < b->start ? -1 : a->start > b->start;
}

/* Sort unless already sorted: the SQL ORDER BY usually did the work, but
 * another engine's collation may order text differently from strcmp. */
static void ensure_sorted(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
	char *p = base;
	for (size_t i = 1; i < n; i++)
		if (cmp(p + (i - 1) * size, p + i * size) > 0) {
			qsort(base, n, size, cmp);
			return;
		}
}

/*
 * Run a SELECT and call row() for each result into a growing array of
 * elem-sized records; the array is moved into the arena at the end.
 */
static int load_table(struct loader *l, const char *sql, size_t elem,
		      void (*row)(struct loader *, struct store_stmt *, void *), void **out,
		      size_t *nout)
{
	struct store_stmt *s = NULL;
	char *arr = NULL;
	size_t n = 0, cap = 0;
	int r;

	*out = NULL;
	*nout = 0;
	if ((r = store_prepare(l->st, sql, &s)) < 0)
		goto out;
	while ((r = store_step(s)) == 1) {
		if (n == cap) {
			size_t bytes;
			cap = cap ? cap * 2 : 1024;
			if ((r = size_mul(cap, elem, &bytes)) < 0)
				goto out;
			arr = xrealloc(arr, bytes);
		}
		memset(arr + n * elem, 0, elem);
		row(l, s, arr + n * elem);
		n++;
		if (l->err) {
			r = l->err;
			goto out;
		}
	}
	if (r < 0)
		goto out;
	if (n) {
		*out = arena_alloc(l->arena, n * elem);
		memcpy(*out, arr, n * elem);
	}
	*nout = n;
	r = 0;
out:
	free(arr);
	store_finalize(s);
	return r;
}

static void row_system(struct loader *l, struct store_stmt *s, void *p)
{
	struct reg_system *x = p;
	const char *ntk;
	x->id = col_str(l, s, 0);
	x->name = col_str(l, s, 1);
	x->zone = col_str(l, s, 2);
	x->confidentiality = col_str(l, s, 3);
	x->integrity = col_str(l, s, 4);
	x->availability = col_str(l, s, 5);
	ntk = store_col_text(s, 6, NULL);
	x->need_to_know = !ntk ? NTK_DEFAULT : !strcmp(ntk, "enforce") ? NTK_ENFORCE : NTK_MONITOR;
}

static void row_department(struct loader *l, struct store_stmt *s, void *p)
{
	struct reg_department *x = p;
	x->id = col_str(l, s, 0);
	x->name = col_str(l, s, 1);
	x->parent = col_str(l, s, 2);
	x->systems = col_list(l, s, 3);
}

static void row_staff(struct loader *l, struct store_stmt *s, void *p)
{
	struct reg_staff *x = p;
	const char *emp;
	x->id = col_str(l, s, 0);
	x->name = col_str(l, s, 1);
	x->surname = col_str(l, s, 2);
	x->dept = col_str(l, s, 3);
	emp = store_col_text(s, 4, NULL);
	if (!emp || employment_parse(emp, &x->employment) < 0)
		l->err = ERR_CORRUPT;
	x->roles = col_list(l, s, 5);
	x->zones = col_list(l, s, 6);
	x->start = col_date(l, s, 7);
	x->end = col_date(l, s, 8);
	x->training = col_date(l, s, 9);
	x->pledge = col_date(l, s, 10);
	x->address_id = col_str(l, s, 11);
	x->household_id = col_str(l, s, 12);
	x->contractor = col_str(l, s, 13);
}

static void row_resident(struct loader *l, struct store_stmt *s, void *p)
{
	struct reg_resident *x = p;
	x->id = col_str(l, s, 0);
	x->surname = col_str(l, s, 1);
	x->given = col_str(l, s, 2);
	x->birth = col_date(l, s, 3);
	x->address_id = col_str(l, s, 4);
	x->household_id = col_str(l, s, 5);
	x->flags = col_list(l, s, 6);
}

static void row_case(struct loader *l, struct store_stmt *s, void *p)
{
	struct reg_case *x = p;
	x->id = col_str(l, s, 0);
	x->resident_id = col_str(l, s, 1);
	x->dept = col_str(l, s, 2);
	x->kind = col_str(l, s, 3);
	x->assigned_to = col_str(l, s, 4);
	x->opened = col_ts(l, s, 5);
	x->closed = col_ts(l, s, 6);
}

static void row_overtime(struct loader *l, struct store_stmt *s, void *p)
{
	struct reg_overtime *x = p;
	x->staff_id = col_str(l, s, 0);
	x->start = col_ts(l, s, 1);
	x->end = col_ts(l, s, 2);
}

int registry_load(struct store *st, struct registry_data **out)
{
	struct registry_data *d = xcalloc(1, sizeof(*d));
	struct loader l = {st, NULL, NULL, 0, 0};
	void *p;
	int r;

	*out = NULL;
	d->arena = arena_new(4 << 20);
	l.arena = d->arena;
#define LOAD(sql, type, field, nfield, fn)                                                         \
	do {                                                                                       \
		if ((r = load_table(&l, sql, sizeof(struct type), fn, &p, &d->nfield)) < 0)        \
			goto out;                                                                  \
		d->field = p;                                                                      \
	} while (0)
	LOAD("SELECT id, name, zone, confidentiality, integrity, availability, need_to_know "
	     "FROM systems ORDER BY id",
	     reg_system, systems, nsystems, row_system);
	LOAD("SELECT id, name, parent, systems FROM departments ORDER BY id", reg_department,
	     departments, ndepartments, row_department);
	LOAD("SELECT id, name, surname, dept, employment, roles, zones, start_date, end_date, "
	     "training, pledge, address_id, household_id, contractor FROM staff ORDER BY id",
	     reg_staff, staff, nstaff, row_staff);
	LOAD("SELECT id, surname, given, birth, address_id, household_id, flags FROM residents "
	     "ORDER BY id",
	     reg_resident, residents, nresidents, row_resident);
	LOAD("SELECT id, resident_id, dept, kind, assigned_to, opened, closed FROM cases", reg_case,
	     cases, ncases, row_case);
	LOAD("SELECT staff_id, start_ts, end_ts FROM overtime", reg_overtime, overtime, novertime,
	     row_overtime);
#undef LOAD
	ensure_sorted(d->systems, d->nsystems, sizeof(*d->systems), cmp_reg_system);
	ensure_sorted(d->departments, d->ndepartments, sizeof(*d->departments), cmp_reg_department);
	ensure_sorted(d->staff, d->nstaff, sizeof(*d->staff), cmp_reg_staff);
	ensure_sorted(d->residents, d->nresidents, sizeof(*d->residents), cmp_reg_resident);
	ensure_sorted(d->cases, d->ncases, sizeof(*d->cases), cmp_case);
	ensure_sorted(d->overtime, d->novertime, sizeof(*d->overtime), cmp_overtime);
	*out = d;
	d = NULL;
out:
	registry_data_free(d);
	return r;
}

void registry_data_free(struct registry_data *d)
{
	if (!d)
		return;
	arena_free(d->arena);
	free(d);
}
