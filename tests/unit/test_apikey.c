/* Unit tests for src/api/apikey.c: API keys, their storage and checking. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "fx_tree.h"
#include "base/base.h"
#include "base/buf.h"
#include "api/api.h"
#include "ledger/ledger.h"
#include "store/store.h"

struct fx {
	char dir[256];
	char ledger_dir[300];
	struct store *st;
	struct ledger *lg;
};

static int setup(void **state)
{
	struct fx *f = xcalloc(1, sizeof(*f));
	const char *tmp = getenv("TMPDIR");
	char db[320], err[256];

	if (sodium_init() < 0)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "%s/mamori-apikey-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(db, sizeof(db), "%s/mamori.db", f->dir);
	snprintf(f->ledger_dir, sizeof(f->ledger_dir), "%s/ledger", f->dir);
	if (store_open(db, true, &f->st, err, sizeof(err)) < 0 || store_migrate(f->st) < 0)
		return -1;
	if (mkdir(f->ledger_dir, 0700) < 0 || ledger_open(f->ledger_dir, LEDGER_WRITE, &f->lg) < 0)
		return -1;
	*state = f;
	return 0;
}


static int teardown(void **state)
{
	struct fx *f = *state;
	ledger_close(f->lg);
	store_close(f->st);
	fx_rm_tree(f->dir);
	free(f);
	return 0;
}

/* True if the bytes of every file under dir contain needle. */
static bool tree_contains(const char *dir, const char *needle)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	bool found = false;
	char p[600];

	assert_non_null(d);
	while (!found && (e = readdir(d))) {
		struct stat sb;
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		if (lstat(p, &sb) < 0)
			continue;
		if (S_ISDIR(sb.st_mode)) {
			found = tree_contains(p, needle);
		} else if (S_ISREG(sb.st_mode)) {
			FILE *fp = fopen(p, "rb");
			char *data;
			size_t n;
			assert_non_null(fp);
			data = xmalloc((size_t)sb.st_size + 1);
			n = fread(data, 1, (size_t)sb.st_size, fp);
			fclose(fp);
			data[n] = '\0';
			found = memmem(data, n, needle, strlen(needle)) != NULL;
			free(data);
		}
	}
	closedir(d);
	return found;
}

static void test_create_and_verify(void **state)
{
	struct fx *f = *state;
	char key[APIKEY_TEXT_MAX];
	struct actor who;

	assert_int_equal(apikey_create(f->st, f->lg, "juki-system", ROLE_SYSTEM, NULL, "test", key), 0);
	assert_int_equal(strlen(key), 59);
	assert_memory_equal(key, "mk_", 3);
	assert_int_equal(key[15], '_');
	for (size_t i = 3; i < 15; i++)
		assert_true((key[i] >= 'a' && key[i] <= 'z') || (key[i] >= '0' && key[i] <= '9'));
	assert_int_equal(apikey_verify(f->st, key, &who), 0);
	assert_string_equal(who.name, "juki-system");
	/* A second key gets another id and another secret. */
	{
		char key2[APIKEY_TEXT_MAX];
		assert_int_equal(apikey_create(f->st, f->lg, "tax", ROLE_SYSTEM, NULL, "test", key2), 0);
		assert_memory_not_equal(key, key2, 15);
		assert_memory_not_equal(key + 16, key2 + 16, 43);
		assert_int_equal(apikey_verify(f->st, key2, &who), 0);
		assert_string_equal(who.name, "tax");
	}
	assert_int_equal(who.role, ROLE_SYSTEM);
	assert_string_equal(who.dept, "");
}

static void test_roles(void **state)
{
	struct fx *f = *state;
	char key[APIKEY_TEXT_MAX];
	struct actor who;

	/* A department manager's key carries its department. */
	assert_int_equal(
	    apikey_create(f->st, f->lg, "kikaku-mgr", ROLE_DEPT_MANAGER, "D01", "test", key), 0);
	assert_int_equal(apikey_verify(f->st, key, &who), 0);
	assert_string_equal(who.name, "kikaku-mgr");
	assert_int_equal(who.role, ROLE_DEPT_MANAGER);
	assert_string_equal(who.dept, "D01");
	assert_true(actor_may_write_dept(&who, "D01"));
	assert_false(actor_may_write_dept(&who, "D02"));
	assert_false(actor_may_write_dept(&who, NULL));
	assert_true(actor_may_read_dept(&who, NULL));
	assert_false(actor_may_read_dept(&who, "D02"));
	/* ... and only such a key has one; a manager's key must have one. */
	assert_int_equal(apikey_create(f->st, f->lg, "x1", ROLE_DEPT_MANAGER, NULL, "test", key),
			 ERR_INVALID);
	assert_int_equal(apikey_create(f->st, f->lg, "x2", ROLE_AUDITOR, "D01", "test", key),
			 ERR_INVALID);
	assert_int_equal(apikey_create(f->st, f->lg, "x3", ROLE_DEPT_MANAGER, "D 1", "test", key),
			 ERR_INVALID);
	assert_int_equal(apikey_create(f->st, f->lg, "x4", 0, NULL, "test", key), ERR_INVALID);
	assert_int_equal(apikey_create(f->st, f->lg, "x5", ROLE_AUDITOR | ROLE_ADMIN, NULL, "test", key),
			 ERR_INVALID);
	/* An auditor reads everything and writes nothing. */
	assert_int_equal(apikey_create(f->st, f->lg, "audit", ROLE_AUDITOR, NULL, "test", key), 0);
	assert_int_equal(apikey_verify(f->st, key, &who), 0);
	assert_int_equal(who.role, ROLE_AUDITOR);
	assert_true(actor_may_read_dept(&who, "D02"));
	assert_false(actor_may_write_dept(&who, "D02"));
	assert_false(actor_may_write_dept(&who, NULL));
	{
		unsigned r;
		assert_int_equal(role_parse("csirt", &r), 0);
		assert_int_equal(r, ROLE_CSIRT);
		assert_int_equal(role_parse("root", &r), ERR_INVALID);
		assert_string_equal(role_name(ROLE_PERSONNEL), "personnel");
	}
}

static void test_wrong_secret(void **state)
{
	struct fx *f = *state;
	char key[APIKEY_TEXT_MAX], bad[APIKEY_TEXT_MAX];
	struct actor who;

	assert_int_equal(apikey_create(f->st, f->lg, "welfare", ROLE_SYSTEM, NULL, "test", key), 0);
	/* Change each of a few positions of the secret to another valid char. */
	for (size_t pos = 16; pos < 59; pos += 7) {
		memcpy(bad, key, sizeof(bad));
		bad[pos] = bad[pos] == 'A' ? 'B' : 'A';
		assert_int_equal(apikey_verify(f->st, bad, &who), ERR_UNAUTHORIZED);
		assert_string_equal(who.name, "");
	}
	/* The right id with another key's secret. */
	{
		char other[APIKEY_TEXT_MAX];
		assert_int_equal(apikey_create(f->st, f->lg, "other", ROLE_SYSTEM, NULL, "test", other), 0);
		memcpy(bad, key, 16);
		memcpy(bad + 16, other + 16, 44);
		assert_int_equal(apikey_verify(f->st, bad, &who), ERR_UNAUTHORIZED);
	}
	assert_int_equal(apikey_verify(f->st, key, &who), 0);
}

static void test_malformed(void **state)
{
	struct fx *f = *state;
	char key[APIKEY_TEXT_MAX], t[200];
	struct actor who;
	const char *bad[] = {
	    "",
	    "mk_",
	    "mk_abc",
	    "Bearer",
	    "mk_abcdefghijkl_",
	    "x",
	    "mk_ABCDEFGHIJKL_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",  /* upper-case id */
	    "mk_abcdefghijkl-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",  /* wrong separator */
	    "mx_abcdefghijkl_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",  /* wrong prefix */
	    "mk_abcdefghijkl_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+",  /* not base64url */
	    "mk_abcdefghijkl_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",   /* one short */
	    "mk_abcdefghijkl_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", /* one long */
	};

	assert_int_equal(apikey_create(f->st, f->lg, "k", ROLE_SYSTEM, NULL, "test", key), 0);
	assert_int_equal(apikey_verify(f->st, NULL, &who), ERR_UNAUTHORIZED);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		assert_int_equal(apikey_verify(f->st, bad[i], &who),
				 ERR_UNAUTHORIZED);
	/* The real key with something around it. */
	snprintf(t, sizeof(t), " %s", key);
	assert_int_equal(apikey_verify(f->st, t, &who), ERR_UNAUTHORIZED);
	snprintf(t, sizeof(t), "%s ", key);
	assert_int_equal(apikey_verify(f->st, t, &who), ERR_UNAUTHORIZED);
	snprintf(t, sizeof(t), "%s", key);
	t[30] = '\0';
	assert_int_equal(apikey_verify(f->st, t, &who), ERR_UNAUTHORIZED);
	/* A SQL wildcard in place of the id finds nothing. */
	snprintf(t, sizeof(t), "%s", key);
	memcpy(t + 3, "%%%%%%%%%%%%", 12);
	assert_int_equal(apikey_verify(f->st, t, &who), ERR_UNAUTHORIZED);
}

static void test_unknown_id(void **state)
{
	struct fx *f = *state;
	char key[APIKEY_TEXT_MAX], t[APIKEY_TEXT_MAX];
	struct actor who;

	assert_int_equal(apikey_create(f->st, f->lg, "k", ROLE_SYSTEM, NULL, "test", key), 0);
	memcpy(t, key, sizeof(t));
	/* Same secret, another (well-formed) id. */
	t[3] = t[3] == 'a' ? 'b' : 'a';
	assert_int_equal(apikey_verify(f->st, t, &who), ERR_UNAUTHORIZED);
	assert_int_equal(
	    apikey_verify(f->st, "mk_000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", &who),
	    ERR_UNAUTHORIZED);
}

static void test_revoked(void **state)
{
	struct fx *f = *state;
	char key[APIKEY_TEXT_MAX], key2[APIKEY_TEXT_MAX];
	struct actor who;

	assert_int_equal(apikey_create(f->st, f->lg, "leaked", ROLE_SYSTEM, NULL, "test", key), 0);
	assert_int_equal(apikey_create(f->st, f->lg, "kept", ROLE_SYSTEM, NULL, "test", key2), 0);
	assert_int_equal(apikey_verify(f->st, key, &who), 0);
	assert_int_equal(apikey_revoke(f->st, f->lg, "leaked", "test"), 0);
	assert_int_equal(apikey_verify(f->st, key, &who), ERR_UNAUTHORIZED);
	/* Others are untouched. */
	assert_int_equal(apikey_verify(f->st, key2, &who), 0);
	assert_string_equal(who.name, "kept");
	/* Revoking again, or an unknown name, finds no active key. */
	assert_int_equal(apikey_revoke(f->st, f->lg, "leaked", "test"), ERR_NOT_FOUND);
	assert_int_equal(apikey_revoke(f->st, f->lg, "nobody", "test"), ERR_NOT_FOUND);
	assert_int_equal(apikey_revoke(f->st, f->lg, "", "test"), ERR_NOT_FOUND);
	/* The name stays taken. */
	assert_int_equal(apikey_create(f->st, f->lg, "leaked", ROLE_SYSTEM, NULL, "test", key), ERR_EXISTS);
	assert_string_equal(key, "");
}

static void test_names(void **state)
{
	struct fx *f = *state;
	char key[APIKEY_TEXT_MAX], n64[65], n65[66];
	const char *bad[] = {"", "a b", "tab\there", "名前", "ctl\x01", "del\x7f"};

	memset(n64, 'x', 64);
	n64[64] = '\0';
	memset(n65, 'y', 65);
	n65[65] = '\0';
	assert_int_equal(apikey_create(f->st, f->lg, n64, ROLE_SYSTEM, NULL, "test", key), 0);
	assert_int_equal(apikey_create(f->st, f->lg, n65, ROLE_SYSTEM, NULL, "test", key), ERR_INVALID);
	assert_int_equal(apikey_create(f->st, f->lg, NULL, ROLE_SYSTEM, NULL, "test", key), ERR_INVALID);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		assert_int_equal(apikey_create(f->st, f->lg, bad[i], ROLE_SYSTEM, NULL, "test", key), ERR_INVALID);
	assert_int_equal(apikey_create(f->st, f->lg, "dup", ROLE_SYSTEM, NULL, "test", key), 0);
	assert_int_equal(apikey_create(f->st, f->lg, "dup", ROLE_SYSTEM, NULL, "test", key), ERR_EXISTS);
	assert_int_equal(apikey_create(f->st, f->lg, "Dup", ROLE_SYSTEM, NULL, "test", key), 0);
}

struct list_acc {
	size_t n;
	char names[8][APIKEY_NAME_MAX + 1];
	bool revoked[8];
};

static int list_cb(const struct apikey_info *k, void *arg)
{
	struct list_acc *a = arg;
	if (a->n >= 8)
		return ERR_TOO_LARGE;
	assert_int_equal(strlen(k->id), APIKEY_ID_LEN);
	assert_int_equal(strlen(k->created), 25);
	snprintf(a->names[a->n], sizeof(a->names[0]), "%s", k->name);
	a->revoked[a->n] = k->revoked[0] != '\0';
	a->n++;
	return 0;
}

static void test_list(void **state)
{
	struct fx *f = *state;
	char key[APIKEY_TEXT_MAX];
	struct list_acc a = {0};

	assert_int_equal(apikey_create(f->st, f->lg, "b-sys", ROLE_SYSTEM, NULL, "test", key), 0);
	assert_int_equal(apikey_create(f->st, f->lg, "a-sys", ROLE_SYSTEM, NULL, "test", key), 0);
	assert_int_equal(apikey_revoke(f->st, f->lg, "b-sys", "test"), 0);
	assert_int_equal(apikey_list(f->st, list_cb, &a), 0);
	assert_int_equal(a.n, 2);
	assert_string_equal(a.names[0], "a-sys");
	assert_false(a.revoked[0]);
	assert_string_equal(a.names[1], "b-sys");
	assert_true(a.revoked[1]);
}

static void test_secret_not_stored(void **state)
{
	struct fx *f = *state;
	char key[APIKEY_TEXT_MAX], secret[44], id[13];
	struct buf rec;
	uint64_t n;
	bool seen_create = false;

	assert_int_equal(apikey_create(f->st, f->lg, "secretive", ROLE_SYSTEM, NULL, "cli:tester", key), 0);
	memcpy(secret, key + 16, 43);
	secret[43] = '\0';
	memcpy(id, key + 3, 12);
	id[12] = '\0';
	assert_int_equal(apikey_revoke(f->st, f->lg, "secretive", "cli:tester"), 0);
	/* Checkpoint nothing away: look at the database file, its WAL, and
	 * every ledger file as bytes. */
	assert_false(tree_contains(f->dir, secret));
	assert_false(tree_contains(f->dir, key));
	/* Sanity check of the search itself: the id is stored. */
	assert_true(tree_contains(f->dir, id));

	buf_init(&rec, LEDGER_BODY_MAX * 2);
	n = ledger_size(f->lg);
	assert_true(n >= 2);
	for (uint64_t i = 0; i < n; i++) {
		assert_int_equal(ledger_read(f->lg, i, &rec), 0);
		assert_null(strstr(rec.data, secret));
		if (strstr(rec.data, "\"apikey\"") && strstr(rec.data, "\"create\"") &&
		    strstr(rec.data, "secretive") && strstr(rec.data, id) &&
		    strstr(rec.data, "cli:tester"))
			seen_create = true;
	}
	assert_true(seen_create);
	assert_int_equal(ledger_read(f->lg, n - 1, &rec), 0);
	assert_non_null(strstr(rec.data, "\"revoke\""));
	buf_release(&rec);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_create_and_verify, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_roles, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_wrong_secret, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unknown_id, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_revoked, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_names, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_list, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_secret_not_stored, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
