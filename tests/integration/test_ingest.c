/*
 * Integration tests of ingest: POST /v1/events on the real `mamori serve`
 * and `mamori ingest` on files, both on a temporary instance holding a
 * small generated municipality and its access.jsonl. Each test checks the
 * ledger itself (its size, and the records written), not only the answer.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include <jansson.h>

#include "base/base.h"
#include "base/buf.h"
#include "integration/harness.h"
#include "ledger/ledger.h"

static struct h_instance HI;
/* The generated events, one per entry (without the newline). */
static char **LINES;
static size_t NLINES;

/* ---- helpers ---- */

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct buf b;
	char chunk[65536];
	size_t n;

	if (!f)
		return NULL;
	buf_init(&b, (size_t)1 << 30);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (buf_append(&b, chunk, n) < 0)
			break;
	fclose(f);
	if (buf_append(&b, "", 0) < 0) {
		buf_release(&b);
		return NULL;
	}
	*len = b.len;
	return b.data;
}

static int load_lines(void)
{
	char path[700], *text, *p;
	size_t len;

	snprintf(path, sizeof(path), "%s/access.jsonl", HI.datadir);
	if (!(text = slurp(path, &len)))
		return -1;
	for (p = text; *p; p++)
		NLINES += *p == '\n';
	LINES = calloc(NLINES + 1, sizeof(*LINES));
	NLINES = 0;
	for (p = text; *p;) {
		char *nl = strchr(p, '\n');
		if (!nl)
			break;
		*nl = '\0';
		LINES[NLINES++] = strdup(p);
		p = nl + 1;
	}
	free(text);
	return NLINES >= 1000 ? 0 : -1;
}

/* Lines [from, from + n) of the generated events, each ending in "\n";
 * line k (1-based within the batch) replaced by bad when bad is set. */
static void batch(struct buf *b, size_t from, size_t n, size_t k, const char *bad)
{
	buf_init(b, (size_t)64 << 20);
	for (size_t i = 0; i < n; i++) {
		const char *l = (bad && i + 1 == k) ? bad : LINES[(from + i) % NLINES];
		assert_int_equal(buf_puts(b, l), 0);
		assert_int_equal(buf_putc(b, '\n'), 0);
	}
}

static uint64_t ledger_count(void)
{
	char path[700];
	struct ledger *lg = NULL;
	uint64_t n;

	snprintf(path, sizeof(path), "%s/ledger", HI.dir);
	assert_int_equal(ledger_open(path, LEDGER_READ_ONLY, &lg), 0);
	n = ledger_size(lg);
	ledger_close(lg);
	return n;
}

/* The record at index, parsed. */
static json_t *ledger_record(uint64_t index)
{
	char path[700];
	struct ledger *lg = NULL;
	struct buf rec;
	json_t *j;

	snprintf(path, sizeof(path), "%s/ledger", HI.dir);
	assert_int_equal(ledger_open(path, LEDGER_READ_ONLY, &lg), 0);
	buf_init(&rec, LEDGER_BODY_MAX * 2);
	assert_int_equal(ledger_read(lg, index, &rec), 0);
	j = json_loadb(rec.data, rec.len, 0, NULL);
	assert_non_null(j);
	buf_release(&rec);
	ledger_close(lg);
	return j;
}

static int post_events(const char *ctype, bool auth, const char *body, size_t len,
		       struct h_resp *r)
{
	char hdr[512];
	int n;

	/* The server answers in Japanese unless asked otherwise. */
	n = snprintf(hdr, sizeof(hdr), "Accept-Language: en\r\n");
	if (auth)
		n += snprintf(hdr + n, sizeof(hdr) - (size_t)n, "Authorization: Bearer %s\r\n",
			      HI.apikey);
	if (ctype)
		snprintf(hdr + n, sizeof(hdr) - (size_t)n, "Content-Type: %s\r\n", ctype);
	return h_http(HI.port, "POST", "/v1/events", hdr, body, len, r);
}

static json_t *resp_json(const struct h_resp *r)
{
	json_t *j = json_loadb(r->body.data ? r->body.data : "", r->body.len, 0, NULL);
	if (!j)
		fprintf(stderr, "not JSON: %.*s\n", (int)r->body.len, r->body.data);
	return j;
}

static json_int_t jint(json_t *j, const char *k)
{
	json_t *v = json_object_get(j, k);
	assert_true(json_is_integer(v));
	return json_integer_value(v);
}

static const char *jstr(json_t *j, const char *k)
{
	json_t *v = json_object_get(j, k);
	assert_true(json_is_string(v));
	return json_string_value(v);
}

static int write_text(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return -1;
	if (len && fwrite(data, 1, len, f) != len) {
		fclose(f);
		return -1;
	}
	return fclose(f) == 0 ? 0 : -1;
}

static void verify_ok(void)
{
	const char *a[] = {"verify", HI.dir, NULL};
	struct buf o, e;
	int rc = h_run(a, NULL, 0, &o, &e);
	if (rc != 0)
		fprintf(stderr, "verify: %d %s %s\n", rc, o.data, e.data);
	assert_int_equal(rc, 0);
	buf_release(&o);
	buf_release(&e);
}

/* ---- POST /v1/events ---- */

static void test_post_valid(void **state)
{
	struct h_resp r;
	struct buf b;
	json_t *j, *rec, *ev;
	uint64_t before = ledger_count(), first;
	(void)state;

	batch(&b, 0, 1000, 0, NULL);
	assert_int_equal(post_events("application/x-ndjson", true, b.data, b.len, &r), 0);
	assert_int_equal(r.status, 200);
	j = resp_json(&r);
	assert_non_null(j);
	assert_int_equal(jint(j, "accepted"), 1000);
	first = (uint64_t)jint(j, "first_index");
	/* Nothing else writes while the test runs: the batch is at the end. */
	assert_int_equal(first, before);
	assert_int_equal(jint(j, "last_index"), (json_int_t)(before + 999));
	assert_int_equal(ledger_count(), before + 1000);
	json_decref(j);
	h_resp_release(&r);

	/* The records are the events, in order, as access records of the key. */
	for (size_t i = 0; i < 1000; i += 999) {
		rec = ledger_record(first + i);
		assert_string_equal(jstr(rec, "kind"), "access");
		assert_string_equal(jstr(rec, "actor"), "it-tests");
		ev = json_loads(LINES[i], 0, NULL);
		assert_non_null(ev);
		assert_true(json_equal(ev, json_object_get(rec, "body")));
		json_decref(ev);
		json_decref(rec);
	}
	buf_release(&b);

	/* The other names of JSON Lines, a CRLF line end, blank lines, and a
	 * last line without its newline. */
	{
		static const char *const types[] = {"application/json-lines",
						    "application/json; charset=utf-8",
						    "Application/X-NDJSON"};
		for (size_t t = 0; t < ARRAY_SIZE(types); t++) {
			struct buf s;
			buf_init(&s, 1 << 20);
			assert_int_equal(buf_printf(&s, "%s\r\n\n  \n%s", LINES[t], LINES[t + 1]), 0);
			before = ledger_count();
			assert_int_equal(post_events(types[t], true, s.data, s.len, &r), 0);
			assert_int_equal(r.status, 200);
			j = resp_json(&r);
			assert_int_equal(jint(j, "accepted"), 2);
			assert_int_equal(jint(j, "first_index"), (json_int_t)before);
			assert_int_equal(jint(j, "last_index"), (json_int_t)before + 1);
			json_decref(j);
			h_resp_release(&r);
			buf_release(&s);
			assert_int_equal(ledger_count(), before + 2);
		}
	}
	verify_ok();
}

static void test_post_bad_line(void **state)
{
	/* A valid event with one field spoiled each way. */
	static const char *const bad[][3] = {
	    {"{\"ts\":\"2026-04-01T09:00:00+09:00\",\"staff_id\":12,\"resident_id\":null,"
	     "\"system\":\"juki\",\"action\":\"search\",\"zone\":\"mynumber\"}",
	     "staff_id", NULL},
	    {"{\"ts\":\"2026-04-31T09:00:00+09:00\",\"staff_id\":\"S00001\",\"resident_id\":null,"
	     "\"system\":\"juki\",\"action\":\"search\",\"zone\":\"mynumber\"}",
	     "ts", NULL},
	    {"{\"ts\":\"2026-04-01T09:00:00+09:00\",\"staff_id\":\"S00001\",\"resident_id\":null,"
	     "\"system\":\"juki\",\"action\":\"peek\",\"zone\":\"mynumber\"}",
	     "action", NULL},
	    {"{\"ts\":\"2026-04-01T09:00:00+09:00\",\"staff_id\":\"S00001\"", NULL, NULL},
	};
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct h_resp r;
		struct buf b;
		json_t *j;
		char want[64];
		uint64_t before = ledger_count();

		batch(&b, 100, 50, 23, bad[i][0]);
		assert_int_equal(post_events("application/x-ndjson", true, b.data, b.len, &r), 0);
		assert_int_equal(r.status, 400);
		j = resp_json(&r);
		assert_non_null(j);
		assert_string_equal(jstr(j, "code"), "invalid");
		assert_int_equal(jint(j, "line"), 23);
		snprintf(want, sizeof(want), "line 23: ");
		assert_non_null(strstr(jstr(j, "detail"), want));
		if (bad[i][1]) {
			assert_string_equal(jstr(j, "field"), bad[i][1]);
			snprintf(want, sizeof(want), "field '%s'", bad[i][1]);
			assert_non_null(strstr(jstr(j, "detail"), want));
		}
		json_decref(j);
		h_resp_release(&r);
		buf_release(&b);
		/* Nothing of the batch was written, not even the 22 good lines. */
		assert_int_equal(ledger_count(), before);
	}
	/* In Japanese by default. */
	{
		struct h_resp r;
		struct buf b;
		char hdr[512];
		json_t *j;

		snprintf(hdr, sizeof(hdr),
			 "Authorization: Bearer %s\r\nContent-Type: application/x-ndjson\r\n",
			 HI.apikey);
		batch(&b, 0, 5, 4, bad[2][0]);
		assert_int_equal(h_http(HI.port, "POST", "/v1/events", hdr, b.data, b.len, &r), 0);
		assert_int_equal(r.status, 400);
		j = resp_json(&r);
		assert_non_null(strstr(jstr(j, "detail"), "4 行目: フィールド 'action'"));
		json_decref(j);
		h_resp_release(&r);
		buf_release(&b);
	}
	/* The bad line is found wherever it is: the first and the last. */
	{
		struct h_resp r;
		struct buf b;
		json_t *j;
		uint64_t before = ledger_count();

		batch(&b, 0, 10, 10, bad[2][0]);
		assert_int_equal(post_events("application/x-ndjson", true, b.data, b.len, &r), 0);
		assert_int_equal(r.status, 400);
		j = resp_json(&r);
		assert_int_equal(jint(j, "line"), 10);
		json_decref(j);
		h_resp_release(&r);
		buf_release(&b);
		batch(&b, 0, 10, 1, bad[2][0]);
		assert_int_equal(post_events("application/x-ndjson", true, b.data, b.len, &r), 0);
		assert_int_equal(r.status, 400);
		j = resp_json(&r);
		assert_int_equal(jint(j, "line"), 1);
		json_decref(j);
		h_resp_release(&r);
		buf_release(&b);
		assert_int_equal(ledger_count(), before);
	}
}

static void test_post_limits(void **state)
{
	struct h_resp r;
	struct buf b;
	json_t *j;
	uint64_t before = ledger_count();
	(void)state;

	/* Empty, and only blank lines. */
	assert_int_equal(post_events("application/x-ndjson", true, "", 0, &r), 0);
	assert_int_equal(r.status, 400);
	h_resp_release(&r);
	assert_int_equal(post_events("application/x-ndjson", true, "\n \r\n\n", 5, &r), 0);
	assert_int_equal(r.status, 400);
	j = resp_json(&r);
	assert_string_equal(jstr(j, "code"), "invalid");
	json_decref(j);
	h_resp_release(&r);
	/* Wrong or missing media type. */
	assert_int_equal(post_events("text/plain", true, LINES[0], strlen(LINES[0]), &r), 0);
	assert_int_equal(r.status, 415);
	h_resp_release(&r);
	assert_int_equal(
	    post_events("application/x-ndjsonx", true, LINES[0], strlen(LINES[0]), &r), 0);
	assert_int_equal(r.status, 415);
	h_resp_release(&r);
	/* No key, and a wrong key. */
	assert_int_equal(post_events("application/x-ndjson", false, LINES[0], strlen(LINES[0]), &r),
			 0);
	assert_int_equal(r.status, 401);
	h_resp_release(&r);
	assert_int_equal(h_http(HI.port, "POST", "/v1/events",
				"Authorization: Bearer mk_wrong\r\nContent-Type: application/x-ndjson\r\n",
				LINES[0], strlen(LINES[0]), &r),
			 0);
	assert_int_equal(r.status, 401);
	h_resp_release(&r);
	/* GET is not a method of the route. */
	assert_int_equal(h_http_auth(&HI, "GET", "/v1/events", NULL, 0, &r), 0);
	assert_int_equal(r.status, 405);
	h_resp_release(&r);
	/* One event more than a batch may hold, then exactly the limit. */
	batch(&b, 0, 10001, 0, NULL);
	assert_int_equal(post_events("application/x-ndjson", true, b.data, b.len, &r), 0);
	assert_int_equal(r.status, 413);
	h_resp_release(&r);
	buf_release(&b);
	assert_int_equal(ledger_count(), before);
	batch(&b, 0, 10000, 0, NULL);
	assert_int_equal(post_events("application/x-ndjson", true, b.data, b.len, &r), 0);
	assert_int_equal(r.status, 200);
	j = resp_json(&r);
	assert_int_equal(jint(j, "accepted"), 10000);
	json_decref(j);
	h_resp_release(&r);
	buf_release(&b);
	assert_int_equal(ledger_count(), before + 10000);
}

/* ---- mamori ingest ---- */

static void test_cli_ingest(void **state)
{
	char path[700];
	struct buf b, o, e;
	uint64_t before;
	(void)state;

	/* A file: every line in, a summary. */
	snprintf(path, sizeof(path), "%s/ok.jsonl", HI.datadir);
	batch(&b, 0, NLINES, 0, NULL);
	assert_int_equal(write_text(path, b.data, b.len), 0);
	buf_release(&b);
	before = ledger_count();
	{
		const char *a[] = {"ingest", HI.dir, path, NULL};
		char want[128];
		assert_int_equal(h_run(a, NULL, 0, &o, &e), 0);
		snprintf(want, sizeof(want), "ingested %zu events in ", NLINES);
		assert_non_null(strstr(o.data, want));
		assert_non_null(strstr(o.data, "events/s"));
		buf_release(&o);
		buf_release(&e);
	}
	assert_int_equal(ledger_count(), before + NLINES);
	{
		json_t *rec = ledger_record(before + NLINES - 1), *ev;
		assert_string_equal(jstr(rec, "kind"), "access");
		assert_int_equal(strncmp(jstr(rec, "actor"), "cli:", 4), 0);
		ev = json_loads(LINES[NLINES - 1], 0, NULL);
		assert_true(json_equal(ev, json_object_get(rec, "body")));
		json_decref(ev);
		json_decref(rec);
	}

	/* A bad line in the only batch: nothing written, FILE:LINE named. */
	snprintf(path, sizeof(path), "%s/bad.jsonl", HI.datadir);
	batch(&b, 0, 300, 217,
	      "{\"ts\":\"2026-04-01T09:00:00+09:00\",\"staff_id\":\"S00001\",\"resident_id\":null,"
	      "\"system\":\"juki\",\"action\":\"peek\",\"zone\":\"mynumber\"}");
	assert_int_equal(write_text(path, b.data, b.len), 0);
	buf_release(&b);
	before = ledger_count();
	{
		const char *a[] = {"ingest", HI.dir, path, NULL};
		char want[800];
		assert_int_equal(h_run(a, NULL, 0, &o, &e), 1);
		snprintf(want, sizeof(want), "%s:217: field 'action'", path);
		assert_non_null(strstr(e.data, want));
		assert_non_null(strstr(e.data, "nothing was ingested"));
		buf_release(&o);
		buf_release(&e);
	}
	assert_int_equal(ledger_count(), before);

	/* A bad line in the second batch: the first batch stays, and the
	 * message says so. */
	snprintf(path, sizeof(path), "%s/bad2.jsonl", HI.datadir);
	batch(&b, 0, 10005, 10003,
	      "{\"ts\":\"not a time\",\"staff_id\":\"S00001\",\"resident_id\":null,"
	      "\"system\":\"juki\",\"action\":\"view\",\"zone\":\"mynumber\"}");
	assert_int_equal(write_text(path, b.data, b.len), 0);
	buf_release(&b);
	before = ledger_count();
	{
		const char *a[] = {"ingest", HI.dir, path, NULL};
		char want[800];
		assert_int_equal(h_run(a, NULL, 0, &o, &e), 1);
		snprintf(want, sizeof(want), "%s:10003: field 'ts'", path);
		assert_non_null(strstr(e.data, want));
		assert_non_null(strstr(e.data, "The 10000 events before it (up to line 10000)"));
		assert_non_null(strstr(e.data, "again from line 10001"));
		buf_release(&o);
		buf_release(&e);
	}
	assert_int_equal(ledger_count(), before + 10000);

	/* A missing file, an empty file, and usage errors. */
	{
		const char *a[] = {"ingest", HI.dir, "/nonexistent/access.jsonl", NULL};
		assert_int_equal(h_run(a, NULL, 0, &o, &e), 1);
		assert_non_null(strstr(e.data, "/nonexistent/access.jsonl"));
		buf_release(&o);
		buf_release(&e);
	}
	snprintf(path, sizeof(path), "%s/empty.jsonl", HI.datadir);
	assert_int_equal(write_text(path, "\n", 1), 0);
	before = ledger_count();
	{
		const char *a[] = {"ingest", HI.dir, path, NULL};
		assert_int_equal(h_run(a, NULL, 0, NULL, NULL), 1);
	}
	{
		const char *a[] = {"ingest", HI.dir, NULL};
		assert_int_equal(h_run(a, NULL, 0, NULL, NULL), 2);
	}
	{
		const char *a[] = {"ingest", HI.dir, path, "--bogus", NULL};
		assert_int_equal(h_run(a, NULL, 0, NULL, NULL), 2);
	}
	/* Standard input. */
	{
		const char *a[] = {"ingest", HI.dir, "-", "--quiet", NULL};
		struct buf in;
		batch(&in, 5, 40, 0, NULL);
		assert_int_equal(h_run(a, in.data, in.len, NULL, NULL), 0);
		buf_release(&in);
	}
	assert_int_equal(ledger_count(), before + 40);
	verify_ok();
}

/* ---- several writers ---- */

struct poster {
	int batches, ok;
};

static void *poster_main(void *arg)
{
	struct poster *p = arg;
	for (int i = 0; i < p->batches; i++) {
		struct h_resp r;
		struct buf b;
		batch(&b, (size_t)i * 100, 100, 0, NULL);
		if (post_events("application/x-ndjson", true, b.data, b.len, &r) == 0) {
			if (r.status == 200)
				p->ok++;
			h_resp_release(&r);
		}
		buf_release(&b);
	}
	return NULL;
}

static void test_concurrent_writers(void **state)
{
	char path[700];
	struct buf b;
	struct poster p = {20, 0};
	pthread_t th;
	uint64_t before;
	(void)state;

	snprintf(path, sizeof(path), "%s/conc.jsonl", HI.datadir);
	batch(&b, 0, 3000, 0, NULL);
	assert_int_equal(write_text(path, b.data, b.len), 0);
	buf_release(&b);
	before = ledger_count();
	assert_int_equal(pthread_create(&th, NULL, poster_main, &p), 0);
	{
		const char *a[] = {"ingest", HI.dir, path, "--quiet", NULL};
		assert_int_equal(h_run(a, NULL, 0, NULL, NULL), 0);
	}
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(p.ok, 20);
	assert_int_equal(ledger_count(), before + 3000 + 20 * 100);
	verify_ok();
}

static int group_setup(void **state)
{
	(void)state;
	setenv("MAMORI_LANG", "en", 1);
	if (h_instance_new(&HI, 500, 40, 2000) < 0 || load_lines() < 0 ||
	    h_serve_start(&HI) < 0) {
		h_instance_free(&HI);
		return -1;
	}
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	h_instance_free(&HI);
	for (size_t i = 0; i < NLINES; i++)
		free(LINES[i]);
	free(LINES);
	return 0;
}

int main(void)
{
	/* These tests count the ledger's records exactly: the server's
	 * watcher, which appends alert records, stays off (docs/watch.md). */
	setenv("MAMORI_WATCH", "off", 1);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_post_valid),	 cmocka_unit_test(test_post_bad_line),
	    cmocka_unit_test(test_post_limits),	 cmocka_unit_test(test_cli_ingest),
	    cmocka_unit_test(test_concurrent_writers),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
