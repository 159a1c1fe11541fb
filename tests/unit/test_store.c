/* Unit tests for src/store: migrations, transactions, binds and columns. */
#include "base/base.h"

#include <setjmp.h>
#include <cmocka.h>
#include <unistd.h>

#include "base/i18n.h"
#include "store/store.h"

struct fx {
	char dir[64];
	char path[128];
	struct store *st;
};

static int setup(void **state)
{
	struct fx *f = xcalloc(1, sizeof(*f));
	char err[256];
	snprintf(f->dir, sizeof(f->dir), "/tmp/mamori-store-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/t.db", f->dir);
	if (store_open(f->path, true, &f->st, err, sizeof(err)) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char p[160];
	store_close(f->st);
	unlink(f->path);
	snprintf(p, sizeof(p), "%s-wal", f->path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", f->path);
	unlink(p);
	rmdir(f->dir);
	free(f);
	return 0;
}

static int64_t count(struct store *st, const char *sql)
{
	struct store_stmt *s;
	int64_t n = -1;
	assert_int_equal(store_prepare(st, sql, &s), 0);
	if (store_step(s) == 1)
		n = store_col_int(s, 0);
	store_finalize(s);
	return n;
}

static void test_open_missing(void **state)
{
	struct store *st = (struct store *)1;
	char err[256];
	(void)state;
	assert_true(store_open("/nonexistent-dir-mamori/x.db", false, &st, err, sizeof(err)) < 0);
	assert_null(st);
	assert_true(strlen(err) > 0);
	assert_int_equal(store_open("postgresql://x/y", false, &st, err, sizeof(err)),
			 ERR_UNSUPPORTED);
}

static void test_migrate_twice(void **state)
{
	struct fx *f = *state;
	assert_int_equal(store_schema_version(f->st), 0);
	assert_true(store_schema_latest() >= 1);
	assert_int_equal(store_migrate(f->st), 0);
	assert_int_equal(store_schema_version(f->st), store_schema_latest());
	int64_t rows = count(f->st, "SELECT COUNT(*) FROM schema_version");
	assert_true(rows >= 1);
	assert_int_equal(store_migrate(f->st), 0);
	assert_int_equal(count(f->st, "SELECT COUNT(*) FROM schema_version"), rows);
	assert_int_equal(store_schema_version(f->st), store_schema_latest());
	/* The registry tables exist. */
	assert_int_equal(count(f->st, "SELECT COUNT(*) FROM residents"), 0);
	assert_int_equal(count(f->st, "SELECT COUNT(*) FROM overtime"), 0);
}

static void test_schema_too_new(void **state)
{
	struct fx *f = *state;
	struct store_stmt *s;
	assert_int_equal(store_migrate(f->st), 0);
	assert_int_equal(store_prepare(f->st,
				       "INSERT INTO schema_version (version, name, applied) "
				       "VALUES (?, 'future', 'x')",
				       &s),
			 0);
	assert_int_equal(store_bind_int(s, 1, store_schema_latest() + 1), 0);
	assert_int_equal(store_step(s), 0);
	store_finalize(s);
	assert_int_equal(store_migrate(f->st), ERR_SCHEMA);
	assert_non_null(strstr(store_errmsg(f->st), "newer"));
}

static void test_transactions(void **state)
{
	struct fx *f = *state;
	assert_int_equal(store_migrate(f->st), 0);
	assert_int_equal(store_begin(f->st), 0);
	assert_int_equal(store_exec(f->st, "INSERT INTO systems (id, name, zone, confidentiality) "
					   "VALUES ('a', 'A', 'lgwan', '2')"),
			 0);
	assert_int_equal(count(f->st, "SELECT COUNT(*) FROM systems"), 1);
	store_rollback(f->st);
	assert_int_equal(count(f->st, "SELECT COUNT(*) FROM systems"), 0);
	store_rollback(f->st); /* no transaction: a no-op */
	assert_int_equal(store_begin(f->st), 0);
	assert_int_equal(store_exec(f->st, "INSERT INTO systems (id, name, zone, confidentiality) "
					   "VALUES ('b', 'B', 'lgwan', '2')"),
			 0);
	assert_int_equal(store_commit(f->st), 0);
	assert_int_equal(count(f->st, "SELECT COUNT(*) FROM systems"), 1);
	/* A failing statement reports an error and a message. */
	assert_true(store_exec(f->st, "INSERT INTO systems (id) VALUES ('b')") < 0);
	assert_true(strlen(store_errmsg(f->st)) > 0);
	assert_true(store_exec(f->st, "SELEKT 1") < 0);
}

static void test_binds_columns(void **state)
{
	struct fx *f = *state;
	struct store_stmt *s;
	const char *jp = "山田 太郎 𠮷";
	char text[] = "ab\0cd";
	unsigned char blob[4] = {0, 1, 0xff, 2};
	size_t n;
	const char *t;
	const unsigned char *bp;

	assert_int_equal(store_exec(f->st, "CREATE TABLE t (a TEXT, b INTEGER, c BLOB, d TEXT)"),
			 0);
	assert_int_equal(store_prepare(f->st, "INSERT INTO t VALUES (?, ?, ?, ?)", &s), 0);
	assert_int_equal(store_bind_str(s, 1, jp), 0);
	assert_int_equal(store_bind_int(s, 2, INT64_MIN + 1), 0);
	assert_int_equal(store_bind_blob(s, 3, blob, sizeof(blob)), 0);
	assert_int_equal(store_bind_str(s, 4, NULL), 0);
	assert_int_equal(store_step(s), 0);
	assert_int_equal(store_changes(f->st), 1);
	assert_int_equal(store_reset(s), 0);
	assert_int_equal(store_bind_text(s, 1, text, 5), 0);
	assert_int_equal(store_bind_int(s, 2, INT64_MAX), 0);
	assert_int_equal(store_bind_null(s, 3), 0);
	assert_int_equal(store_bind_text(s, 4, "x", 1), 0);
	assert_true(store_bind_int(s, 5, 1) < 0); /* no such parameter */
	assert_int_equal(store_step(s), 0);
	store_finalize(s);

	assert_int_equal(store_prepare(f->st, "SELECT a, b, c, d FROM t ORDER BY rowid", &s), 0);
	assert_int_equal(store_step(s), 1);
	t = store_col_text(s, 0, &n);
	assert_int_equal(n, strlen(jp));
	assert_memory_equal(t, jp, n);
	assert_true(store_col_int(s, 1) == INT64_MIN + 1);
	bp = store_col_blob(s, 2, &n);
	assert_int_equal(n, 4);
	assert_memory_equal(bp, blob, 4);
	assert_true(store_col_is_null(s, 3));
	assert_null(store_col_text(s, 3, &n));
	assert_int_equal(n, 0);
	assert_int_equal(store_col_int(s, 3), 0);
	assert_int_equal(store_step(s), 1);
	t = store_col_text(s, 0, &n);
	assert_int_equal(n, 5);
	assert_memory_equal(t, text, 5);
	assert_true(store_col_int(s, 1) == INT64_MAX);
	assert_true(store_col_is_null(s, 2));
	assert_false(store_col_is_null(s, 3));
	assert_int_equal(store_step(s), 0);
	store_finalize(s);
	assert_true(store_prepare(f->st, "SELECT nope FROM t", &s) < 0);
	assert_null(s);
}

static void test_upsert_changes(void **state)
{
	struct fx *f = *state;
	struct store_stmt *s;
	assert_int_equal(store_exec(f->st, "CREATE TABLE u (id TEXT PRIMARY KEY, v TEXT)"), 0);
	assert_int_equal(
	    store_prepare(f->st,
			  "INSERT INTO u (id, v) VALUES (?, ?) ON CONFLICT (id) DO "
			  "UPDATE SET v = excluded.v WHERE u.v IS DISTINCT FROM excluded.v",
			  &s),
	    0);
	const char *vals[] = {"x", "x", "y", NULL, NULL};
	const int64_t changes[] = {1, 0, 1, 1, 0};
	for (size_t i = 0; i < ARRAY_SIZE(vals); i++) {
		assert_int_equal(store_bind_str(s, 1, "k"), 0);
		assert_int_equal(store_bind_str(s, 2, vals[i]), 0);
		assert_int_equal(store_step(s), 0);
		assert_int_equal(store_changes(f->st), changes[i]);
		assert_int_equal(store_reset(s), 0);
	}
	store_finalize(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_open_missing),
	    cmocka_unit_test_setup_teardown(test_migrate_twice, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_schema_too_new, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_transactions, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_binds_columns, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_upsert_changes, setup, teardown),
	};
	i18n_set_thread(LANG_EN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
