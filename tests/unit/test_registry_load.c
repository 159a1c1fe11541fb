/*
 * Unit tests for registry_load() (src/registry/load.c) and the case tables
 * the watch engine builds from it (src/watch/tables.c): cases come out in
 * the order registry.h promises (resident id as strcmp orders it, opening
 * time, case id) whatever order the store holds them in, including cases
 * whose resident is not in the registry, long ids and ids that share a
 * long prefix; the strings the loader shares between cases read the same
 * as the stored text.
 *
 * The store is filled with plain INSERTs, not through the importer, so
 * that it can hold what the importer refuses (cases of unknown residents).
 */
#include "fx_tree.h"
#include "base/base.h"

#include <setjmp.h>
#include <cmocka.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/timeutil.h"
#include "registry/registry.h"
#include "store/store.h"
#include "watch/watch.h"
#include "watch/watch_int.h"

struct fx {
	char dir[64];
	struct store *st;
};

static int setup(void **state)
{
	struct fx *f = xcalloc(1, sizeof(*f));
	char path[128], err[256];
	snprintf(f->dir, sizeof(f->dir), "/tmp/mamori-regload-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(path, sizeof(path), "%s/t.db", f->dir);
	if (store_open(path, true, &f->st, err, sizeof(err)) < 0 || store_migrate(f->st) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	store_close(f->st);
	/* Only under /tmp/mamori-regload-: the fixture's own folder. */
	if (strncmp(f->dir, "/tmp/mamori-regload-", 20) == 0)
		fx_rm_tree(f->dir);
	free(f);
	return 0;
}

static void add_resident(struct fx *f, const char *id)
{
	struct store_stmt *s = NULL;
	assert_int_equal(
	    store_prepare(f->st,
			  "INSERT INTO residents (id, surname, given, birth, address_id, "
			  "household_id, flags) VALUES (?, '山田', '花子', '1980-01-02', "
			  "'A1', 'H1', '[]')",
			  &s),
	    0);
	assert_int_equal(store_bind_str(s, 1, id), 0);
	assert_int_equal(store_step(s), 0);
	store_finalize(s);
}

/* A case; resident_id is rid_len bytes at rid (it may hold a NUL). */
static void add_case_n(struct fx *f, const char *id, const char *rid, size_t rid_len,
		       const char *dept, const char *kind, const char *assigned, const char *opened,
		       const char *closed)
{
	struct store_stmt *s = NULL;
	assert_int_equal(
	    store_prepare(f->st,
			  "INSERT INTO cases (id, resident_id, dept, kind, assigned_to, "
			  "opened, closed) VALUES (?, ?, ?, ?, ?, ?, ?)",
			  &s),
	    0);
	assert_int_equal(store_bind_str(s, 1, id), 0);
	assert_int_equal(store_bind_text(s, 2, rid, rid_len), 0);
	assert_int_equal(store_bind_str(s, 3, dept), 0);
	assert_int_equal(store_bind_str(s, 4, kind), 0);
	assert_int_equal(store_bind_str(s, 5, assigned), 0);
	assert_int_equal(store_bind_str(s, 6, opened), 0);
	assert_int_equal(store_bind_str(s, 7, closed), 0);
	assert_int_equal(store_step(s), 0);
	store_finalize(s);
}

static void add_case(struct fx *f, const char *id, const char *rid, const char *opened)
{
	add_case_n(f, id, rid, strlen(rid), "D1", "kind", "S1", opened, NULL);
}

static void exec(struct fx *f, const char *sql)
{
	assert_int_equal(store_exec(f->st, sql), 0);
}

/* The order registry.h documents, written out on its own. */
static int ref_cmp(const void *x, const void *y)
{
	const struct reg_case *a = x, *b = y;
	int c = strcmp(a->resident_id, b->resident_id);
	if (c)
		return c;
	if (a->opened != b->opened)
		return a->opened < b->opened ? -1 : 1;
	return strcmp(a->id, b->id);
}

static bool str_same(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

/*
 * The cases as the store holds them, read without registry_load and
 * sorted by ref_cmp, must equal rd->cases field by field. Strings are
 * copied from the store as C strings (up to a NUL, as the loader keeps
 * them).
 */
static void assert_cases_sorted(struct fx *f, const struct registry_data *rd)
{
	struct store_stmt *s = NULL;
	struct reg_case *ref = NULL;
	char **owned = NULL;
	size_t n = 0, cap = 0, nowned = 0;
	int r;

	assert_int_equal(store_prepare(f->st,
				       "SELECT id, resident_id, dept, kind, assigned_to, opened, "
				       "closed FROM cases",
				       &s),
			 0);
	while ((r = store_step(s)) == 1) {
		const char *t[7];
		size_t len[7];
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			ref = xrealloc(ref, cap * sizeof(*ref));
			owned = xrealloc(owned, cap * 5 * sizeof(*owned));
		}
		for (int i = 0; i < 7; i++)
			t[i] = store_col_text(s, i, &len[i]);
		const char **dst[5] = {&ref[n].id, &ref[n].resident_id, &ref[n].dept, &ref[n].kind,
				       &ref[n].assigned_to};
		for (int i = 0; i < 5; i++) {
			*dst[i] = NULL;
			if (t[i]) {
				owned[nowned] = xstrndup(t[i], len[i]);
				*dst[i] = owned[nowned++];
			}
		}
		assert_int_equal(ts_parse(t[5], len[5], &ref[n].opened, NULL), 0);
		ref[n].closed = TS_NONE;
		if (t[6])
			assert_int_equal(ts_parse(t[6], len[6], &ref[n].closed, NULL), 0);
		n++;
	}
	assert_int_equal(r, 0);
	store_finalize(s);
	qsort(ref, n, sizeof(*ref), ref_cmp);
	assert_int_equal(rd->ncases, n);
	for (size_t i = 0; i < n; i++) {
		const struct reg_case *a = &rd->cases[i], *b = &ref[i];
		if (strcmp(a->id, b->id) != 0)
			fail_msg("case %zu: got %s (resident %s), want %s (resident %s)", i, a->id,
				 a->resident_id, b->id, b->resident_id);
		assert_string_equal(a->resident_id, b->resident_id);
		assert_true(str_same(a->dept, b->dept));
		assert_true(str_same(a->kind, b->kind));
		assert_true(str_same(a->assigned_to, b->assigned_to));
		assert_true(a->opened == b->opened);
		assert_true(a->closed == b->closed);
	}
	for (size_t i = 0; i < nowned; i++)
		free(owned[i]);
	free(owned);
	free(ref);
}

/* Index of the resident with this id, or WT_NONE. */
static uint32_t res_index(const struct registry_data *rd, const char *id)
{
	for (size_t i = 0; i < rd->nresidents; i++)
		if (strcmp(rd->residents[i].id, id) == 0)
			return (uint32_t)i;
	return WT_NONE;
}

/* The watch tables' view of the cases agrees with the registry's. */
static void assert_tables_agree(const struct registry_data *rd)
{
	struct watch_tables *t = NULL;
	size_t sum = 0;

	assert_int_equal(watch_tables_build(rd, &t), 0);
	assert_int_equal(t->ncases, rd->ncases);
	for (size_t i = 0; i < rd->ncases; i++) {
		const struct reg_case *rc = &rd->cases[i];
		const struct wt_case *c = &t->cases[i];
		assert_ptr_equal(c->id, rc->id);
		assert_int_equal(c->idh, watch_str_hash(rc->id));
		if (i % 97 == 0) /* a scan of every case each: not for all of them */
			assert_int_equal(wt_case_find(t, rc->id), i);
		assert_int_equal(c->res, res_index(rd, rc->resident_id));
		assert_int_equal(c->dept, rc->dept ? idmap_get(&t->dept_ids, rc->dept) : WT_NONE);
		assert_true(rc->dept == NULL || c->dept != WT_NONE);
		assert_int_equal(c->assigned, idmap_get(&t->staff_ids, rc->assigned_to));
		assert_true(c->opened == rc->opened);
		assert_true(c->closed == (rc->closed == TS_NONE ? INT64_MAX : rc->closed));
	}
	for (size_t r = 0; r < t->nres; r++) {
		const struct wt_res *x = &t->res[r];
		sum += x->cn;
		for (uint32_t k = x->cfirst; k < x->cfirst + x->cn; k++) {
			assert_int_equal(t->cases[t->res_cases[k]].res, r);
			assert_ptr_equal(t->rcases[k].id, t->cases[t->res_cases[k]].id);
			assert_int_equal(t->rcases[k].idh, t->cases[t->res_cases[k]].idh);
			/* Within a resident, by opening time. */
			if (k > x->cfirst)
				assert_true(t->rcases[k - 1].opened <= t->rcases[k].opened);
		}
	}
	for (size_t i = 0; i < rd->ncases; i++)
		if (t->cases[i].res == WT_NONE)
			sum++;
	assert_int_equal(sum, rd->ncases);
	assert_int_equal(wt_case_find(t, "no such case"), WT_NONE);
	watch_tables_free(t);
}

/*
 * Cases stored out of order: different residents, one resident with
 * different opening times (in different offsets, so that the text order
 * is not the time order), equal opening times with different ids (C10
 * before C9, as strcmp has it), and residents the registry does not know,
 * before, between and after the known ones.
 */
static void test_cases_order(void **state)
{
	struct fx *f = *state;
	struct registry_data *rd = NULL;
	static const char *const want[][2] = {
	    {"C20", "R0"}, {"C9", "R1"}, {"C4", "R1"}, {"C10", "R1"}, {"C8", "R1"}, {"C5", "R15"},
	    {"C6", "R15"}, {"C1", "R2"}, {"C3", "R3"}, {"C2", "R3"},  {"C7", "R9"},
	};

	add_resident(f, "R3");
	add_resident(f, "R1");
	add_resident(f, "R2");
	add_case(f, "C1", "R2", "2026-04-01T09:00:00+09:00");
	add_case(f, "C2", "R3", "2026-04-02T09:00:00+09:00");
	add_case(f, "C3", "R3", "2026-04-01T09:00:00+09:00");
	/* R1: 09:30+09:00 is 00:30Z; 01:00Z is 10:00+09:00; C10 and C8 tie. */
	add_case(f, "C8", "R1", "2026-04-01T11:00:00+09:00");
	add_case(f, "C4", "R1", "2026-04-01T01:00:00Z");
	add_case(f, "C10", "R1", "2026-04-01T02:00:00Z");
	add_case(f, "C9", "R1", "2026-04-01T09:30:00+09:00");
	/* Unknown residents: R15 sorts between R1 and R2, R0 first, R9 last. */
	add_case(f, "C7", "R9", "2026-04-01T09:00:00+09:00");
	add_case(f, "C6", "R15", "2026-04-03T09:00:00+09:00");
	add_case(f, "C5", "R15", "2026-04-02T09:00:00+09:00");
	add_case(f, "C20", "R0", "2026-04-05T09:00:00+09:00");
	/* C8 ties with C10: make them equal in time. */
	exec(f, "UPDATE cases SET opened = '2026-04-01T02:00:00Z' WHERE id = 'C8'");

	assert_int_equal(registry_load(f->st, &rd), 0);
	assert_int_equal(rd->nresidents, 3);
	assert_string_equal(rd->residents[0].id, "R1");
	assert_string_equal(rd->residents[2].id, "R3");
	assert_int_equal(rd->ncases, ARRAY_SIZE(want));
	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		if (strcmp(rd->cases[i].id, want[i][0]) != 0)
			fail_msg("position %zu: %s, want %s", i, rd->cases[i].id, want[i][0]);
		assert_string_equal(rd->cases[i].resident_id, want[i][1]);
	}
	/* A known resident's cases share the resident's own id string. */
	assert_ptr_equal(rd->cases[1].resident_id, rd->residents[0].id);
	assert_ptr_not_equal(rd->cases[0].resident_id, rd->residents[0].id);
	assert_cases_sorted(f, rd);
	assert_tables_agree(rd);
	registry_data_free(rd);
}

/* A resident with more cases than the insertion sort takes, stored
 * newest first, with ties on the opening time. */
static void test_many_cases_one_resident(void **state)
{
	struct fx *f = *state;
	struct registry_data *rd = NULL;
	char id[16], ts[40];

	add_resident(f, "R1");
	add_resident(f, "R2");
	add_resident(f, "R3");
	add_resident(f, "R4");
	for (int i = 99; i >= 0; i--) {
		snprintf(id, sizeof(id), "C%d", i);
		snprintf(ts, sizeof(ts), "2026-04-%02dT09:00:00+09:00", 1 + i / 4);
		add_case(f, id, i % 3 ? "R1" : "R2", ts);
	}
	/* Exactly as many as the insertion sort takes, and one more, in
	 * the reverse order of their ids; then unknown residents' cases. */
	for (int i = 0; i < 65; i++) {
		snprintf(id, sizeof(id), "X%02d", 64 - i);
		add_case(f, id, i < 32 ? "R3" : "R4", "2026-04-01T09:00:00+09:00");
	}
	for (int i = 0; i < 40; i++) {
		snprintf(id, sizeof(id), "Y%02d", 40 - i);
		add_case(f, id, i % 2 ? "R5" : "R35", "2026-04-01T09:00:00+09:00");
	}
	assert_int_equal(registry_load(f->st, &rd), 0);
	assert_int_equal(rd->ncases, 205);
	assert_string_equal(rd->cases[0].resident_id, "R1");
	assert_string_equal(rd->cases[0].id, "C1");
	assert_string_equal(rd->cases[1].id, "C2");
	/* R3's 32 cases X33..X64 follow R2's 34, then R35's 20 (unknown). */
	assert_string_equal(rd->cases[100].id, "X33");
	assert_string_equal(rd->cases[131].id, "X64");
	assert_string_equal(rd->cases[132].resident_id, "R35");
	assert_string_equal(rd->cases[132].id, "Y02");
	assert_string_equal(rd->cases[152].resident_id, "R4");
	assert_string_equal(rd->cases[152].id, "X00");
	assert_cases_sorted(f, rd);
	assert_tables_agree(rd);
	registry_data_free(rd);
}

/* Ids longer than the loader keeps inline, sharing that long a prefix;
 * one that long is unknown; and one id longer than 255 bytes. */
static void test_long_ids(void **state)
{
	struct fx *f = *state;
	struct registry_data *rd = NULL;
	char huge[300], huge2[300];

	memset(huge, 'R', sizeof(huge) - 1);
	huge[sizeof(huge) - 1] = '\0';
	memcpy(huge2, huge, sizeof(huge));
	huge2[sizeof(huge2) - 2] = 'S'; /* same length, differs at the end */
	add_resident(f, "R-LONG-PREFIX-B");
	add_resident(f, "R-LONG-PREFIX-A");
	add_resident(f, "R-LONG-PREFIX");
	add_resident(f, huge);
	add_case(f, "C1", "R-LONG-PREFIX-B", "2026-04-01T09:00:00+09:00");
	add_case(f, "C2", "R-LONG-PREFIX-A", "2026-04-01T09:00:00+09:00");
	add_case(f, "C3", "R-LONG-PREFIX-AA", "2026-04-01T09:00:00+09:00");
	add_case(f, "C4", "R-LONG-PREFIX", "2026-04-01T09:00:00+09:00");
	add_case(f, "C5", "R-LONG-PREFI", "2026-04-01T09:00:00+09:00");
	add_case(f, "C6", huge, "2026-04-01T09:00:00+09:00");
	add_case(f, "C7", huge2, "2026-04-01T09:00:00+09:00");
	add_case(f, "C8", "R-LONG-PREFIX-A", "2026-03-31T09:00:00+09:00");
	assert_int_equal(registry_load(f->st, &rd), 0);
	assert_int_equal(rd->ncases, 8);
	/* R-LONG-PREFI < R-LONG-PREFIX < ...-A (C8, C2) < ...-AA < ...-B < RRR... */
	assert_string_equal(rd->cases[0].id, "C5");
	assert_string_equal(rd->cases[1].id, "C4");
	assert_string_equal(rd->cases[2].id, "C8");
	assert_string_equal(rd->cases[3].id, "C2");
	assert_string_equal(rd->cases[4].id, "C3");
	assert_string_equal(rd->cases[5].id, "C1");
	assert_string_equal(rd->cases[6].id, "C6");
	assert_string_equal(rd->cases[7].id, "C7");
	assert_ptr_equal(rd->cases[6].resident_id, rd->residents[3].id);
	assert_string_equal(rd->cases[7].resident_id, huge2);
	assert_cases_sorted(f, rd);
	assert_tables_agree(rd);
	registry_data_free(rd);
}

/* A resident id stored with a NUL inside reads, as a C string, as the
 * part before the NUL, and sorts as that. */
static void test_nul_in_resident_id(void **state)
{
	struct fx *f = *state;
	struct registry_data *rd = NULL;

	add_resident(f, "R1");
	add_resident(f, "R2");
	add_case(f, "C1", "R2", "2026-04-01T09:00:00+09:00");
	add_case_n(f, "C2", "R1\0zz", 5, "D1", "k", NULL, "2026-04-01T09:00:00+09:00", NULL);
	add_case_n(f, "C3", "R1x\0", 4, "D1", "k", NULL, "2026-04-01T09:00:00+09:00", NULL);
	assert_int_equal(registry_load(f->st, &rd), 0);
	assert_int_equal(rd->ncases, 3);
	assert_string_equal(rd->cases[0].id, "C2");
	assert_ptr_equal(rd->cases[0].resident_id, rd->residents[0].id);
	assert_string_equal(rd->cases[1].id, "C3");
	assert_string_equal(rd->cases[1].resident_id, "R1x");
	assert_string_equal(rd->cases[2].id, "C1");
	assert_cases_sorted(f, rd);
	assert_tables_agree(rd);
	registry_data_free(rd);
}

/* No residents: every case's resident is unknown; no cases at all. */
static void test_no_residents_no_cases(void **state)
{
	struct fx *f = *state;
	struct registry_data *rd = NULL;

	assert_int_equal(registry_load(f->st, &rd), 0);
	assert_int_equal(rd->ncases, 0);
	assert_null(rd->cases);
	assert_tables_agree(rd);
	registry_data_free(rd);

	add_case(f, "C1", "R2", "2026-04-01T09:00:00+09:00");
	add_case(f, "C2", "R10", "2026-04-01T09:00:00+09:00");
	add_case(f, "C3", "R10", "2026-03-01T09:00:00+09:00");
	assert_int_equal(registry_load(f->st, &rd), 0);
	assert_int_equal(rd->ncases, 3);
	assert_string_equal(rd->cases[0].id, "C3");
	assert_string_equal(rd->cases[1].id, "C2");
	assert_string_equal(rd->cases[2].id, "C1");
	assert_tables_agree(rd);
	registry_data_free(rd);
}

/* Shared strings read as stored: NULL stays NULL, "" stays "", equal
 * values are equal, different ones differ. */
static void test_shared_strings(void **state)
{
	struct fx *f = *state;
	struct registry_data *rd = NULL;

	exec(f, "INSERT INTO departments (id, name, systems) VALUES ('D1', 'd', '[]')");
	exec(f, "INSERT INTO staff (id, name, surname, dept, employment, roles, zones, start_date) "
		"VALUES ('S1', 'n', 's', 'D1', 'regular', '[]', '[]', '2020-04-01')");
	add_resident(f, "R1");
	add_case_n(f, "C1", "R1", 2, "D1", "kind-a", "S1", "2026-04-01T09:00:00+09:00",
		   "2026-04-01T10:00:00+09:00");
	add_case_n(f, "C2", "R1", 2, "D1", "", NULL, "2026-04-02T09:00:00+09:00", NULL);
	add_case_n(f, "C3", "R1", 2, "D9", "kind-a", "S9", "2026-04-03T09:00:00+09:00", NULL);
	add_case_n(f, "C4", "R1", 2, "D1", "kind-b", "S1", "2026-04-04T09:00:00+09:00", NULL);
	assert_int_equal(registry_load(f->st, &rd), 0);
	assert_int_equal(rd->ncases, 4);
	assert_string_equal(rd->cases[0].dept, "D1");
	assert_string_equal(rd->cases[0].kind, "kind-a");
	assert_string_equal(rd->cases[0].assigned_to, "S1");
	assert_true(rd->cases[0].closed != TS_NONE);
	assert_string_equal(rd->cases[1].kind, "");
	assert_null(rd->cases[1].assigned_to);
	assert_true(rd->cases[1].closed == TS_NONE);
	assert_string_equal(rd->cases[2].dept, "D9");
	assert_string_equal(rd->cases[2].kind, "kind-a");
	assert_string_equal(rd->cases[2].assigned_to, "S9");
	assert_string_equal(rd->cases[3].kind, "kind-b");
	assert_string_equal(rd->cases[3].assigned_to, "S1");
	assert_cases_sorted(f, rd);
	assert_tables_agree(rd);
	registry_data_free(rd);
}

static uint64_t rng_next(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

/*
 * Many residents with ids of different lengths and cases in a random
 * order, some of unknown residents, with repeated opening times and
 * several departments and members of staff (some unknown): the order
 * equals the reference sort, and the watch tables agree.
 */
static void test_random(void **state)
{
	struct fx *f = *state;
	struct registry_data *rd = NULL;
	uint64_t seed = 0x9E3779B97F4A7C15ULL;
	char id[64], rid[64], ts[40], dept[16], staff[16], sql[256];

	exec(f, "BEGIN");
	for (int i = 0; i < 400; i++) {
		/* Lengths 3 to 15: both sides of the inline limit. */
		snprintf(rid, sizeof(rid), "R%0*d", 2 + (int)(rng_next(&seed) % 13), i);
		add_resident(f, rid);
	}
	for (int i = 0; i < 40; i++) {
		snprintf(staff, sizeof(staff), "S%d", i);
		snprintf(sql, sizeof(sql),
			 "INSERT INTO staff (id, name, surname, dept, employment, roles, zones, "
			 "start_date) VALUES ('%s', 'n', 's', 'D1', 'regular', '[]', '[]', "
			 "'2020-04-01')",
			 staff);
		exec(f, sql);
	}
	for (int i = 0; i < 5000; i++) {
		uint64_t v = rng_next(&seed);
		snprintf(id, sizeof(id), "C%u", (unsigned)(v % 100000000u));
		if (v % 10 == 0)
			snprintf(rid, sizeof(rid), "Q%u", (unsigned)(v >> 40) % 50);
		else
			snprintf(rid, sizeof(rid), "R%0*d", 2 + (int)((v >> 8) % 13),
				 (int)((v >> 20) % 400));
		snprintf(ts, sizeof(ts), "2026-04-%02dT%02d:00:00%s", 1 + (int)((v >> 30) % 3),
			 (int)((v >> 33) % 3), (v >> 36) % 2 ? "Z" : "+09:00");
		snprintf(dept, sizeof(dept), "D%d", (int)((v >> 40) % 7));
		snprintf(staff, sizeof(staff), "S%d", (int)((v >> 44) % 50));
		/* Duplicate ids are skipped: the id is the key. */
		struct store_stmt *s = NULL;
		assert_int_equal(
		    store_prepare(f->st,
				  "INSERT OR IGNORE INTO cases (id, resident_id, dept, kind, "
				  "assigned_to, opened) VALUES (?, ?, ?, 'k', ?, ?)",
				  &s),
		    0);
		assert_int_equal(store_bind_str(s, 1, id), 0);
		assert_int_equal(store_bind_str(s, 2, rid), 0);
		assert_int_equal(store_bind_str(s, 3, dept), 0);
		assert_int_equal(store_bind_str(s, 4, (v >> 50) % 5 ? staff : NULL), 0);
		assert_int_equal(store_bind_str(s, 5, ts), 0);
		assert_int_equal(store_step(s), 0);
		store_finalize(s);
	}
	exec(f, "COMMIT");
	assert_int_equal(registry_load(f->st, &rd), 0);
	assert_true(rd->ncases > 4900);
	assert_cases_sorted(f, rd);
	assert_tables_agree(rd);
	registry_data_free(rd);
}

#define T_(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
int main(void)
{
	const struct CMUnitTest tests[] = {
	    T_(test_cases_order),
	    T_(test_many_cases_one_resident),
	    T_(test_long_ids),
	    T_(test_nul_in_resident_id),
	    T_(test_no_residents_no_cases),
	    T_(test_shared_strings),
	    T_(test_random),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
