/*
 * load.c - registry_load(): the whole registry from the store into one
 * arena, sorted for binary search, for the hot paths (decide, watch).
 *
 * Memory is what matters at 2 million residents and millions of cases:
 * no allocation per row. Record arrays grow by doubling (one realloc per
 * doubling) and are then copied into the arena; strings are packed end to
 * end into 1 MiB blocks of the arena without alignment padding.
 *
 * Time is what matters for the commands that load the registry once and
 * then read a file of events (`mamori audit`): the cases are the bulk of
 * the registry, so they get a loader of their own. Each case finds its
 * resident by a hash lookup as the row arrives, which gives a number that
 * orders cases exactly as strcmp orders resident ids; a counting sort by
 * that number replaces a comparison sort of millions of strings, and only
 * the few cases of one resident are compared (by opening time, then id).
 * The strings a case repeats (its resident's id, department, kind, the
 * member of staff) are stored once and shared.
 */
#include "base/base.h"

#include <jansson.h>
#include <stdlib.h>

#include "base/arena.h"
#include "base/timeutil.h"
#include "registry/registry.h"
#include "registry/registry_int.h"
#include "store/store.h"

#define POOL_BLOCK ((size_t)1 << 20)

/*
 * The residents, sorted by id, as a hash from id to index, so that each
 * case learns its resident's place without comparing strings. A slot
 * holds index + 1 (0: empty), the id's length and its first RES_INLINE
 * bytes (zero-padded): a lookup of a short id reads one slot and nothing
 * else, which matters because the lookups hit the table at random, once
 * per case, and a slot read is a cache miss.
 */
#define RES_INLINE 11
struct res_slot {
	uint32_t idx1;
	uint8_t len; /* UINT8_MAX: that long or longer */
	char inl[RES_INLINE];
};

/* Short strings that repeat across rows, stored once (see col_intern). */
struct intern_slot {
	const char *s; /* NULL: empty slot */
	uint32_t len, hash;
};

/* Interning stops at this many distinct strings: a column whose values
 * hardly repeat gains nothing and would only grow the table. */
#define INTERN_MAX ((size_t)1 << 16)
/* Longer strings are copied as they are. */
#define INTERN_LEN 64

struct loader {
	struct store *st;
	struct arena *arena;
	char *pool;
	size_t left;
	int err;
	/* Set before the cases are read: the sorted residents. */
	const struct reg_resident *res;
	size_t nres;
	struct res_slot *rslot; /* NULL: cases are sorted by comparison only */
	size_t rmask;
	struct intern_slot *islot;
	size_t icap, in;
	/* The pool's blocks (registry_data.blocks), the last one current. */
	struct reg_block *blk;
	size_t nblk, capblk;
};

static const char *pool_dup(struct loader *l, const char *s, size_t n)
{
	char *p;
	if (n + 1 > l->left) {
		size_t sz = n + 1 > POOL_BLOCK ? n + 1 : POOL_BLOCK;
		if (l->nblk)
			l->blk[l->nblk - 1].n -= l->left; /* what the block holds */
		if (ARRAY_GROW(l->blk, l->capblk, l->nblk + 1) < 0)
			BUG("registry pool blocks overflow");
		l->pool = arena_alloc(l->arena, sz);
		l->left = sz;
		l->blk[l->nblk++] = (struct reg_block){l->pool, sz};
	}
	p = l->pool;
	memcpy(p, s, n);
	p[n] = '\0';
	l->pool += n + 1;
	l->left -= n + 1;
	return p;
}

/*
 * A hash for short strings, eight bytes per step (a byte-wise hash such as
 * FNV costs a multiplication per byte, and every case hashes four
 * strings). The last multiply and shift spread every input bit over the
 * low bits, which pick the slot.
 */
static uint32_t str_hash(const char *s, size_t n)
{
	uint64_t h = 0x9E3779B97F4A7C15ULL ^ n, w;
	for (; n >= 8; s += 8, n -= 8) {
		memcpy(&w, s, 8);
		h = (h ^ w) * 0xFF51AFD7ED558CCDULL;
		h ^= h >> 32;
	}
	if (n) {
		w = 0;
		memcpy(&w, s, n);
		h = (h ^ w) * 0xC4CEB9FE1A85EC53ULL;
		h ^= h >> 29;
	}
	h *= 0xFF51AFD7ED558CCDULL;
	h ^= h >> 32;
	return (uint32_t)h;
}

/* Column i as an arena string; NULL for SQL NULL. The backend gives a
 * NULL text pointer for SQL NULL, so only then is the type asked. */
static const char *col_str(struct loader *l, struct store_stmt *s, int i)
{
	size_t n;
	const char *t = store_col_text(s, i, &n);
	if (!t)
		return store_col_is_null(s, i) ? NULL : pool_dup(l, "", 0);
	return pool_dup(l, t, n);
}

/*
 * Column i as col_str() gives it, but one copy per distinct value: the
 * department, kind and member of staff of a million cases take a few
 * hundred distinct values. Equal bytes give the same pointer; callers
 * read the strings only, so sharing them changes nothing they see.
 */
static const char *col_intern(struct loader *l, struct store_stmt *s, int i)
{
	size_t n, mask;
	const char *t = store_col_text(s, i, &n), *p;
	uint32_t h;
	struct intern_slot *e;

	if (!t)
		return store_col_is_null(s, i) ? NULL : pool_dup(l, "", 0);
	if (n > INTERN_LEN || l->in >= INTERN_MAX)
		return pool_dup(l, t, n);
	if (2 * (l->in + 1) > l->icap) {
		size_t cap = l->icap ? l->icap * 2 : 256;
		struct intern_slot *g = xcalloc(cap, sizeof(*g));
		for (size_t k = 0; k < l->icap; k++) {
			size_t j;
			if (!l->islot[k].s)
				continue;
			for (j = l->islot[k].hash & (cap - 1); g[j].s; j = (j + 1) & (cap - 1))
				;
			g[j] = l->islot[k];
		}
		free(l->islot);
		l->islot = g;
		l->icap = cap;
	}
	h = str_hash(t, n);
	mask = l->icap - 1;
	for (size_t j = h & mask;; j = (j + 1) & mask) {
		e = &l->islot[j];
		if (!e->s)
			break;
		if (e->hash == h && e->len == n && memcmp(e->s, t, n) == 0)
			return e->s;
	}
	p = pool_dup(l, t, n);
	e->s = p;
	e->len = (uint32_t)n;
	e->hash = h;
	l->in++;
	return p;
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

/* The order of cases that registry.h promises: resident id (strcmp),
 * opening time, case id. */
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

/* cmp_case for two cases known to have the same resident id. */
static int cmp_case_same_res(const void *x, const void *y)
{
	const struct reg_case *a = x, *b = y;
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
 * Cases are sorted by a key computed as each row arrives: 2r + 1 for a
 * case of the resident at index r of the sorted residents, 2g for a case
 * whose resident id is not among them, where g is the number of resident
 * ids that strcmp puts before it. Ordering by key is then ordering by
 * resident id as strcmp does it, and only cases with the same key still
 * need comparing. The import refuses cases of unknown residents, but a
 * store filled another way may hold them, and they keep their place.
 */
#define RES_KEY_MAX ((size_t)(UINT32_MAX - 1) / 2)
/* Cases of one key sorted by insertion up to this many: they come in the
 * order of the import, which is nearly the order of opening. */
#define CASE_RUN_INSERT 32

/* Fill slot e's key part for the id (t, n). */
static void res_slot_key(struct res_slot *e, const char *t, size_t n)
{
	memset(e->inl, 0, sizeof(e->inl));
	memcpy(e->inl, t, n < RES_INLINE ? n : RES_INLINE);
	e->len = n < UINT8_MAX ? (uint8_t)n : UINT8_MAX;
}

/* Does slot e (in use) hold the id (t, n) whose slot key is k? */
static bool res_slot_is(const struct loader *l, const struct res_slot *e, const struct res_slot *k,
			const char *t, size_t n)
{
	if (e->len != k->len || memcmp(e->inl, k->inl, RES_INLINE) != 0)
		return false;
	if (n <= RES_INLINE)
		return true;
	/* A long id: the rest is compared in the resident's own copy. */
	const char *id = l->res[e->idx1 - 1].id;
	return strncmp(id + RES_INLINE, t + RES_INLINE, n - RES_INLINE) == 0 && id[n] == '\0';
}

/* The hash of the sorted residents' ids; without one (too many residents
 * for a 32-bit key, which the watch tables refuse anyway) cases are sorted
 * by comparison alone. */
static void res_map_build(struct loader *l, const struct reg_resident *res, size_t nres)
{
	size_t cap = 16;

	l->res = res;
	l->nres = nres;
	if (nres > RES_KEY_MAX)
		return;
	while (cap < 2 * nres)
		cap *= 2;
	l->rslot = xcalloc_huge(cap, sizeof(*l->rslot));
	l->rmask = cap - 1;
	for (size_t r = 0; r < nres; r++) {
		size_t n = strlen(res[r].id), j;
		struct res_slot k;
		res_slot_key(&k, res[r].id, n);
		for (j = str_hash(res[r].id, n) & l->rmask; l->rslot[j].idx1;
		     j = (j + 1) & l->rmask)
			/* Two equal ids cannot both be stored; keep the first. */
			if (res_slot_is(l, &l->rslot[j], &k, res[r].id, n))
				break;
		if (l->rslot[j].idx1)
			continue;
		k.idx1 = (uint32_t)r + 1;
		l->rslot[j] = k;
	}
}

/* Index of the resident whose id is the n bytes at t (no NUL among
 * them), with slot key k and hash h, or -1. */
static long res_map_find(const struct loader *l, const struct res_slot *k, uint32_t h,
			 const char *t, size_t n)
{
	for (size_t j = h & l->rmask; l->rslot[j].idx1; j = (j + 1) & l->rmask)
		if (res_slot_is(l, &l->rslot[j], k, t, n))
			return (long)l->rslot[j].idx1 - 1;
	return -1;
}

/* How many of the sorted residents have an id strcmp puts before id. */
static size_t res_lower_bound(const struct loader *l, const char *id)
{
	size_t lo = 0, hi = l->nres;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(l->res[mid].id, id) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Sort n cases that share a key: by insertion when few (one comparison
 * each when already in order), else by qsort. */
static void sort_run(struct reg_case *v, size_t n, int (*cmp)(const void *, const void *))
{
	if (n > CASE_RUN_INSERT) {
		qsort(v, n, sizeof(*v), cmp);
		return;
	}
	for (size_t i = 1; i < n; i++) {
		struct reg_case tmp;
		size_t j = i;
		if (cmp(&v[i - 1], &v[i]) <= 0)
			continue;
		tmp = v[i];
		while (j > 0 && cmp(&v[j - 1], &tmp) > 0) {
			v[j] = v[j - 1];
			j--;
		}
		v[j] = tmp;
	}
}

/*
 * The n cases rows[] with their keys, in the order of cmp_case, into a new
 * array of the arena (*out; NULL when n is 0): a counting sort by key,
 * then each run of one key sorted on its own.
 */
static void cases_sort(struct loader *l, const struct reg_case *rows, const uint32_t *key, size_t n,
		       struct reg_case **out)
{
	size_t nkeys = 2 * l->nres + 1;
	uint32_t *start = NULL;
	struct reg_case *v;

	*out = NULL;
	if (!n)
		return;
	v = arena_alloc(l->arena, n * sizeof(*v));
	if (!l->rslot) {
		memcpy(v, rows, n * sizeof(*v));
		qsort(v, n, sizeof(*v), cmp_case);
		*out = v;
		return;
	}
	start = xcalloc(nkeys + 1, sizeof(*start));
	for (size_t i = 0; i < n; i++)
		start[key[i] + 1]++;
	for (size_t k = 1; k <= nkeys; k++)
		start[k] += start[k - 1];
	/* After the scatter start[k] is where run k ends (and run k + 1
	 * begins); rows keep their relative order within a run. */
	for (size_t i = 0; i < n; i++) {
		/* Where a later row goes, near enough: its run's next place. */
		if (i + 16 < n)
			__builtin_prefetch(&v[start[key[i + 16]]], 1);
		v[start[key[i]]++] = rows[i];
	}
	for (size_t k = 0, lo = 0; k < nkeys; lo = start[k], k++) {
		if (k & 1) {
			/* The cases of resident k / 2 share its id string. */
			for (size_t i = lo; i < start[k]; i++)
				v[i].resident_id = l->res[k / 2].id;
		}
		if (start[k] - lo > 1)
			sort_run(v + lo, start[k] - lo, k & 1 ? cmp_case_same_res : cmp_case);
	}
	free(start);
	*out = v;
}

/*
 * A case whose resident is looked up some rows after it was read. The
 * lookup's slot is fetched into the cache when the row is read, and by
 * the time the lookup runs it is there: a lookup per case at random in a
 * table of megabytes would otherwise wait for memory every time. Only
 * short ids wait (their bytes fit in k); longer ones are looked up at once.
 */
struct pending {
	size_t row;
	uint32_t hash;
	struct res_slot k;
};
#define CASE_LAG 16

/* Give case p its key: its resident's (2r + 1, the resident_id pointer
 * is set by cases_sort), or the place of an unknown id (2g, with a copy). */
static void case_resolve(struct loader *l, struct reg_case *rows, uint32_t *key,
			 const struct pending *p)
{
	long r = res_map_find(l, &p->k, p->hash, p->k.inl, p->k.len);
	if (r >= 0) {
		key[p->row] = 2 * (uint32_t)r + 1;
		return;
	}
	rows[p->row].resident_id = pool_dup(l, p->k.inl, p->k.len);
	key[p->row] = 2 * (uint32_t)res_lower_bound(l, rows[p->row].resident_id);
}

/*
 * One case row into x and, when its resident is found at once, its sort
 * key into *key. Returns true when the lookup waits: then p holds it
 * (the caller sets p->row).
 */
static bool row_case(struct loader *l, struct store_stmt *s, struct reg_case *x, uint32_t *key,
		     struct pending *p)
{
	bool wait = false;
	size_t n;
	const char *t;

	x->id = col_str(l, s, 0);
	t = store_col_text(s, 1, &n);
	if (!t && store_col_is_null(s, 1)) {
		/* The schema forbids it: a case has a resident. */
		l->err = ERR_CORRUPT;
		return false;
	}
	if (!t)
		t = "";
	*key = 0;
	if (l->rslot) {
		/* The id as a C string ends at the first NUL, if any. */
		const char *z = memchr(t, '\0', n);
		size_t len = z ? (size_t)(z - t) : n;
		p->hash = str_hash(t, len);
		res_slot_key(&p->k, t, len);
		if (len <= RES_INLINE) {
			__builtin_prefetch(&l->rslot[p->hash & l->rmask]);
			wait = true;
		} else {
			long r = res_map_find(l, &p->k, p->hash, t, len);
			if (r >= 0) {
				*key = 2 * (uint32_t)r + 1;
			} else {
				x->resident_id = pool_dup(l, t, n);
				*key = 2 * (uint32_t)res_lower_bound(l, x->resident_id);
			}
		}
	} else {
		x->resident_id = pool_dup(l, t, n);
	}
	x->dept = col_intern(l, s, 2);
	x->kind = col_intern(l, s, 3);
	x->assigned_to = col_intern(l, s, 4);
	x->opened = col_ts(l, s, 5);
	x->closed = col_ts(l, s, 6);
	return wait;
}

/* All cases, sorted (see cases_sort). Needs res_map_build first. */
static int load_cases(struct loader *l, struct reg_case **out, size_t *nout)
{
	struct store_stmt *s = NULL;
	struct reg_case *rows = NULL;
	uint32_t *key = NULL;
	struct pending ring[CASE_LAG], p;
	size_t n = 0, cap = 0, pushed = 0, done = 0;
	int r;

	*out = NULL;
	*nout = 0;
	if ((r = store_prepare(l->st,
			       "SELECT id, resident_id, dept, kind, assigned_to, opened, closed "
			       "FROM cases",
			       &s)) < 0)
		goto out;
	while ((r = store_step(s)) == 1) {
		if (n == cap) {
			size_t bytes;
			cap = cap ? cap * 2 : 1024;
			/* Counts of the sort are 32-bit. */
			if (cap > UINT32_MAX) {
				r = ERR_TOO_LARGE;
				goto out;
			}
			if ((r = size_mul(cap, sizeof(*rows), &bytes)) < 0)
				goto out;
			rows = xrealloc(rows, bytes);
			key = xrealloc(key, cap * sizeof(*key));
		}
		memset(&rows[n], 0, sizeof(rows[n]));
		if (row_case(l, s, &rows[n], &key[n], &p)) {
			if (pushed - done == CASE_LAG)
				case_resolve(l, rows, key, &ring[done++ % CASE_LAG]);
			p.row = n;
			ring[pushed++ % CASE_LAG] = p;
		}
		n++;
		if (l->err) {
			r = l->err;
			goto out;
		}
	}
	if (r < 0)
		goto out;
	while (done < pushed)
		case_resolve(l, rows, key, &ring[done++ % CASE_LAG]);
	cases_sort(l, rows, key, n, out);
	*nout = n;
	r = 0;
out:
	free(rows);
	free(key);
	store_finalize(s);
	return r;
}

/*
 * Run a SELECT and call row() for each result into a growing array of
 * elem-sized records; the array is moved into the arena at the end.
 */
/* The rows of sql; key, when not NULL, is its one parameter (a row by its
 * id, registry_load_pair). */
static int load_table(struct loader *l, const char *sql, const char *key, size_t elem,
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
	if (key && (r = store_bind_str(s, 1, key)) < 0)
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

/* The columns row_staff and row_resident read, in their order. */
#define STAFF_COLS                                                                                 \
	"id, name, surname, dept, employment, roles, zones, start_date, end_date, training, "     \
	"pledge, address_id, household_id, contractor"
#define RESIDENT_COLS "id, surname, given, birth, address_id, household_id, flags"

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

static void row_overtime(struct loader *l, struct store_stmt *s, void *p)
{
	struct reg_overtime *x = p;
	x->staff_id = col_str(l, s, 0);
	x->start = col_ts(l, s, 1);
	x->end = col_ts(l, s, 2);
}

/* Where the loader put the strings, for the image writer. */
static void blocks_keep(struct loader *l, struct registry_data *d)
{
	if (!l->nblk)
		return;
	l->blk[l->nblk - 1].n -= l->left;
	d->blocks = arena_alloc(l->arena, l->nblk * sizeof(*d->blocks));
	memcpy(d->blocks, l->blk, l->nblk * sizeof(*d->blocks));
	d->nblocks = l->nblk;
}

/* A registry_data whose strings go to an arena of arena_size blocks,
 * and the loader that fills it. */
static struct registry_data *loader_start(struct loader *l, struct store *st, size_t arena_size)
{
	struct registry_data *d = xcalloc(1, sizeof(*d));

	*l = (struct loader){.st = st};
	d->arena = arena_new(arena_size);
	l->arena = d->arena;
	return d;
}

/* The loader's end: d to *out when r says the load succeeded, else freed;
 * the loader's own tables freed either way. Returns r. */
static int loader_finish(struct loader *l, struct registry_data *d, int r,
			 struct registry_data **out)
{
	if (r >= 0) {
		blocks_keep(l, d);
		*out = d;
		d = NULL;
	}
	free(l->rslot);
	free(l->islot);
	free(l->blk);
	registry_data_free(d);
	return r;
}

static int load_tables(struct store *st, bool people_only, struct registry_data **out)
{
	struct loader l;
	struct registry_data *d = loader_start(&l, st, 4 << 20);
	void *p;
	int r;

	*out = NULL;
#define LOAD(sql, type, field, nfield, fn)                                                         \
	do {                                                                                       \
		if ((r = load_table(&l, sql, NULL, sizeof(struct type), fn, &p, &d->nfield)) < 0)  \
			goto out;                                                                  \
		d->field = p;                                                                      \
	} while (0)
	LOAD("SELECT id, name, zone, confidentiality, integrity, availability, need_to_know "
	     "FROM systems ORDER BY id",
	     reg_system, systems, nsystems, row_system);
	LOAD("SELECT id, name, parent, systems FROM departments ORDER BY id", reg_department,
	     departments, ndepartments, row_department);
	LOAD("SELECT " STAFF_COLS " FROM staff ORDER BY id", reg_staff, staff, nstaff, row_staff);
	if (!people_only) {
		LOAD("SELECT " RESIDENT_COLS " FROM residents ORDER BY id", reg_resident,
		     residents, nresidents, row_resident);
		/* The cases' sort works from the residents' final order. */
		ensure_sorted(d->residents, d->nresidents, sizeof(*d->residents),
			      cmp_reg_resident);
		res_map_build(&l, d->residents, d->nresidents);
		if ((r = load_cases(&l, &d->cases, &d->ncases)) < 0)
			goto out;
		LOAD("SELECT staff_id, start_ts, end_ts FROM overtime", reg_overtime, overtime,
		     novertime, row_overtime);
	}
#undef LOAD
	ensure_sorted(d->systems, d->nsystems, sizeof(*d->systems), cmp_reg_system);
	ensure_sorted(d->departments, d->ndepartments, sizeof(*d->departments), cmp_reg_department);
	ensure_sorted(d->staff, d->nstaff, sizeof(*d->staff), cmp_reg_staff);
	ensure_sorted(d->overtime, d->novertime, sizeof(*d->overtime), cmp_overtime);
out:
	return loader_finish(&l, d, r, out);
}

int registry_load_people(struct store *st, struct registry_data **out)
{
	*out = NULL;
	return load_tables(st, true, out);
}

int registry_load_pair(struct store *st, const char *staff_id, const char *resident_id,
		       struct registry_data **out)
{
	struct loader l;
	struct registry_data *d = loader_start(&l, st, 64 << 10);
	void *p;
	int r;

	*out = NULL;
	if ((r = load_table(&l, "SELECT " STAFF_COLS " FROM staff WHERE id = ?", staff_id,
			    sizeof(struct reg_staff), row_staff, &p, &d->nstaff)) < 0)
		goto out;
	d->staff = p;
	if ((r = load_table(&l, "SELECT " RESIDENT_COLS " FROM residents WHERE id = ?",
			    resident_id, sizeof(struct reg_resident), row_resident, &p,
			    &d->nresidents)) < 0)
		goto out;
	d->residents = p;
out:
	return loader_finish(&l, d, r, out);
}

/*
 * The image beside the store when it carries the registry's stamp;
 * otherwise the tables, and then a new image, if the stamp was the same
 * before and after reading them (no change came in between). The image is
 * a cache: failing to read or write it only costs time.
 */
int registry_load(struct store *st, struct registry_data **out)
{
	uint8_t tok[REG_STAMP_LEN], after[REG_STAMP_LEN];
	char *path = reg_image_path(st);
	bool stamped = path && reg_stamp_get(st, tok) == 1;
	int r;

	*out = NULL;
	if (stamped && reg_image_read(path, tok, out) == 0) {
		free(path);
		return 0;
	}
	r = load_tables(st, false, out);
	if (r == 0 && stamped && reg_stamp_get(st, after) == 1 &&
	    memcmp(tok, after, sizeof(tok)) == 0)
		(void)reg_image_write(path, tok, *out);
	free(path);
	return r;
}

void registry_data_free(struct registry_data *d)
{
	if (!d)
		return;
	arena_free(d->arena);
	free(d);
}
