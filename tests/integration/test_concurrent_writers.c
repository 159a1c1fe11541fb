/*
 * Integration test of several writers on one instance: with `mamori serve`
 * running, the CLI creates and revokes an API key, imports the registry
 * and decides, all of which append to the same ledger as the server. The
 * server sees the new key at once and stops accepting it once revoked, and
 * the ledger stays one consecutive sequence of whole records.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include <jansson.h>

#include "base/base.h"
#include "base/buf.h"
#include "integration/harness.h"
#include "ledger/ledger.h"

static struct h_instance HI;

/* A well-formed request; the decision does not matter here, only that
 * the server decides and records it. */
static const char *REQ =
    "{\"staff_id\":\"X-S1\",\"action\":\"view\",\"resident_id\":\"X-R1\","
    "\"system\":\"x-sys\",\"zone\":\"lgwan\",\"terminal\":\"T-1\","
    "\"ts\":\"2026-04-01T10:00:00+09:00\"}";

static int group_setup(void **state)
{
	(void)state;
	if (h_instance_new(&HI, 500, 20, 1000) == 0 && h_serve_start(&HI) == 0)
		return 0;
	h_instance_free(&HI);
	return -1;
}

static int group_teardown(void **state)
{
	(void)state;
	h_instance_free(&HI);
	return 0;
}

/* POST /v1/decide with key; returns the status and (when 200) the
 * ledger index of the decision in *index. */
static int decide_with(const char *key, uint64_t *index)
{
	struct h_resp r;
	char hdr[256];
	int status;

	snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n", key);
	if (h_http(HI.port, "POST", "/v1/decide", hdr, REQ, strlen(REQ), &r) < 0)
		return -1;
	status = r.status;
	if (status == 200 && index) {
		json_t *j = json_loadb(r.body.data, r.body.len, 0, NULL);
		json_t *v = json_object_get(j, "ledger_index");

		if (json_is_integer(v) && json_integer_value(v) >= 0)
			*index = (uint64_t)json_integer_value(v);
		else
			status = -2;
		json_decref(j);
	}
	if (status != 200 && status != 401)
		fprintf(stderr, "decide: %d %s\n", r.status, r.body.data);
	h_resp_release(&r);
	return status;
}

static void ledger_dir(char *out, size_t len)
{
	snprintf(out, len, "%s/ledger", HI.dir);
}

/* Open the ledger read-only, as a third process would. */
static struct ledger *ledger_ro(void)
{
	char path[700];
	struct ledger *lg = NULL;

	ledger_dir(path, sizeof(path));
	assert_int_equal(ledger_open(path, LEDGER_READ_ONLY, &lg), 0);
	return lg;
}

/* Record i of the ledger, parsed; checks that its "index" is i. */
static json_t *record(struct ledger *lg, uint64_t i)
{
	struct buf b;
	json_t *j;

	buf_init(&b, LEDGER_BODY_MAX * 2);
	assert_int_equal(ledger_read(lg, i, &b), 0);
	j = json_loadb(b.data, b.len, 0, NULL);
	buf_release(&b);
	assert_non_null(j);
	assert_int_equal(json_integer_value(json_object_get(j, "index")), (json_int_t)i);
	return j;
}

static const char *jstr(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

/* The last record of the given kind whose body mentions text, or -1. */
static int64_t find_last(struct ledger *lg, const char *kind, const char *text)
{
	uint64_t n = ledger_size(lg);

	for (uint64_t i = n; i > 0; i--) {
		json_t *j = record(lg, i - 1);
		char *body = json_dumps(json_object_get(j, "body"), JSON_COMPACT);
		bool hit = !strcmp(jstr(j, "kind"), kind) && body && strstr(body, text);

		free(body);
		json_decref(j);
		if (hit)
			return (int64_t)(i - 1);
	}
	return -1;
}

static void test_apikey_while_serving(void **state)
{
	const char *create[] = {"apikey", "create", HI.dir, "second-sys", NULL};
	const char *revoke[] = {"apikey", "revoke", HI.dir, "second-sys", NULL};
	struct ledger *lg;
	struct buf o, e;
	char key2[128];
	uint64_t before = 0, after = 0;
	int64_t created, revoked;
	size_t n;
	(void)state;

	assert_int_equal(decide_with(HI.apikey, &before), 200);
	/* The key is created while the server runs. */
	assert_int_equal(h_run(create, NULL, 0, &o, &e), 0);
	assert_true(strncmp(o.data, "mk_", 3) == 0);
	n = strcspn(o.data, "\r\n");
	assert_true(n < sizeof(key2));
	memcpy(key2, o.data, n);
	key2[n] = '\0';
	buf_release(&o);
	buf_release(&e);
	/* The server checks keys in the database on each request: the new
	 * key works at once, and its decision comes after the CLI's record. */
	lg = ledger_ro();
	created = find_last(lg, "apikey", "second-sys");
	assert_true(created > (int64_t)before);
	assert_int_equal(decide_with(key2, &after), 200);
	assert_true(after > (uint64_t)created);
	/* Revoked while the server runs: refused at once. */
	assert_int_equal(h_run(revoke, NULL, 0, NULL, NULL), 0);
	assert_int_equal(decide_with(key2, NULL), 401);
	revoked = find_last(lg, "apikey", "revoke");
	assert_true(revoked > (int64_t)after);
	/* The first key is unaffected and its decisions continue past the
	 * CLI's records. */
	assert_int_equal(decide_with(HI.apikey, &after), 200);
	assert_true(after > (uint64_t)revoked);
	ledger_close(lg);
	/* Revoking again fails as before (no such active key). */
	assert_int_equal(h_run(revoke, NULL, 0, NULL, NULL), 1);
}

struct decider {
	atomic_int stop;
	atomic_size_t n;
	uint64_t idx[4096];
	int bad;
};

/* Decide through the server until told to stop. */
static void *decide_loop(void *arg)
{
	struct decider *d = arg;

	size_t n = 0;

	while (!atomic_load(&d->stop) && n < ARRAY_SIZE(d->idx)) {
		uint64_t i = 0;

		if (decide_with(HI.apikey, &i) != 200) {
			d->bad++;
			break;
		}
		d->idx[n++] = i;
		atomic_store(&d->n, n);
	}
	return NULL;
}

static void test_import_while_serving(void **state)
{
	const char *import[] = {"import", HI.dir, HI.datadir, "--quiet", NULL};
	struct decider *d = xcalloc(1, sizeof(*d));
	struct ledger *lg;
	struct buf o, e;
	struct h_resp r;
	pthread_t th;
	uint64_t size0, last = 0;
	int64_t imported;
	size_t nd, before_import = 0;
	int rc;
	(void)state;

	lg = ledger_ro();
	size0 = ledger_size(lg);
	/* Decisions keep arriving at the server during the import. */
	atomic_init(&d->stop, 0);
	atomic_init(&d->n, 0);
	assert_int_equal(pthread_create(&th, NULL, decide_loop, d), 0);
	for (int i = 0; i < 500 && atomic_load(&d->n) < 3; i++)
		usleep(10 * 1000);
	rc = h_run(import, NULL, 0, &o, &e);
	if (rc != 0)
		fprintf(stderr, "import: %d %s %s\n", rc, o.data, e.data);
	buf_release(&o);
	buf_release(&e);
	/* A few more decisions after the import's record. */
	usleep(200 * 1000);
	atomic_store(&d->stop, 1);
	pthread_join(th, NULL);
	assert_int_equal(rc, 0);
	assert_int_equal(d->bad, 0);
	nd = atomic_load(&d->n);
	assert_true(nd >= 3);
	imported = find_last(lg, "import", HI.datadir);
	assert_true(imported >= (int64_t)size0);
	/* Every decision the server reported is its own record, in order;
	 * the import's record falls among them. */
	for (size_t i = 0; i < nd; i++) {
		json_t *j = record(lg, d->idx[i]);

		assert_string_equal(jstr(j, "kind"), "decision");
		assert_string_equal(jstr(j, "actor"), "it-tests");
		assert_true(d->idx[i] != (uint64_t)imported);
		if (i > 0)
			assert_true(d->idx[i] > d->idx[i - 1]);
		if (d->idx[i] < (uint64_t)imported)
			before_import++;
		json_decref(j);
	}
	assert_true(before_import >= 3);
	assert_true(before_import < nd);

	/* The server picks up the import on reload and goes on deciding,
	 * with indexes after everything the CLI appended. */
	assert_int_equal(h_http_auth(&HI, "POST", "/v1/admin/reload", NULL, 0, &r), 0);
	if (r.status != 200)
		fprintf(stderr, "reload: %d %s\n", r.status, r.body.data);
	assert_int_equal(r.status, 200);
	h_resp_release(&r);
	assert_int_equal(decide_with(HI.apikey, &last), 200);
	assert_true(last > (uint64_t)imported);
	assert_true(last >= size0 + nd + 2);
	assert_int_equal(last + 1, ledger_size(lg));

	/* A decision from the command line, while the server runs, comes
	 * after the server's (its own load of the policy is recorded first);
	 * the server's next one follows it. */
	{
		const char *dec[] = {"decide", HI.dir, NULL};
		uint64_t next = 0;
		json_int_t cli;
		json_t *j;

		rc = h_run(dec, REQ, strlen(REQ), &o, &e);
		if (rc != 0 && rc != 3)
			fprintf(stderr, "decide: %d %s %s\n", rc, o.data, e.data);
		assert_true(rc == 0 || rc == 3);
		j = json_loadb(o.data, o.len, 0, NULL);
		assert_non_null(j);
		cli = json_integer_value(json_object_get(j, "ledger_index"));
		assert_true(cli > (json_int_t)last);
		json_decref(j);
		buf_release(&o);
		buf_release(&e);
		j = record(lg, (uint64_t)cli);
		assert_string_equal(jstr(j, "kind"), "decision");
		assert_true(strncmp(jstr(j, "actor"), "cli", 3) == 0);
		json_decref(j);
		assert_int_equal(decide_with(HI.apikey, &next), 200);
		assert_int_equal(next, (uint64_t)cli + 1);
	}
	ledger_close(lg);
	free(d);
}

/* After it all, every record is whole and in its place, and the server
 * stops cleanly. */
static void test_ledger_whole(void **state)
{
	struct ledger *lg;
	uint64_t n;
	(void)state;

	assert_int_equal(h_serve_stop(&HI), 0);
	lg = ledger_ro();
	n = ledger_size(lg);
	assert_true(n > 10);
	for (uint64_t i = 0; i < n; i++)
		json_decref(record(lg, i));
	ledger_close(lg);
}

int main(void)
{
	/* These tests count the ledger's records exactly: the server's
	 * watcher, which appends alert records, stays off (docs/watch.md). */
	setenv("MAMORI_WATCH", "off", 1);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_apikey_while_serving),
	    cmocka_unit_test(test_import_while_serving),
	    cmocka_unit_test(test_ledger_whole),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
