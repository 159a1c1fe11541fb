/*
 * Integration tests of disclosure to residents through the real binary:
 * `mamori disclose` lists exactly the accesses naming the resident up to
 * the latest checkpoint, `mamori verify-proof` accepts the document and
 * names the first entry of a changed one, a dv_support resident's
 * disclosure is refused to a proxy, and every disclosure, made or
 * refused, is in the ledger.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <inttypes.h>

#include <jansson.h>

#include "base/base.h"
#include "base/buf.h"
#include "integration/harness.h"
#include "ledger/ledger.h"

static struct h_instance HI;
static char DV[32], PLAIN[32], CLERK[32], DOC[600], VKEY[1024];
static uint64_t FIRST; /* ledger index of the first ingested event */

static int run(const char *const *args, struct buf *out, struct buf *err)
{
	buf_release(out);
	buf_release(err);
	return h_run(args, NULL, 0, out, err);
}

/* The id of the first line of file (in the data folder) that contains
 * needle and, when not NULL, does not contain avoid. */
static int first_id(const char *file, const char *needle, const char *avoid, char *out,
		    size_t cap)
{
	char p[700], line[4096];
	FILE *f;
	int r = -1;

	snprintf(p, sizeof(p), "%s/%s", HI.datadir, file);
	if (!(f = fopen(p, "r")))
		return -1;
	while (fgets(line, sizeof(line), f)) {
		json_t *j;

		if (!strstr(line, needle) || (avoid && strstr(line, avoid)))
			continue;
		if ((j = json_loads(line, 0, NULL)) && json_string_value(json_object_get(j, "id"))) {
			snprintf(out, cap, "%s", json_string_value(json_object_get(j, "id")));
			r = 0;
		}
		json_decref(j);
		if (r == 0)
			break;
	}
	fclose(f);
	return r;
}

static const char *event(struct buf *b, const char *staff, const char *resident,
			 const char *terminal, const char *case_id)
{
	int r = buf_printf(b,
			   "{\"ts\":\"2026-05-01T09:00:00+09:00\",\"staff_id\":\"%s\","
			   "\"resident_id\":\"%s\",\"system\":\"juki\",\"action\":\"view\","
			   "\"zone\":\"mynumber\",\"terminal\":\"%s\"%s%s%s,\"result\":\"ok\"}\n",
			   staff, resident, terminal, case_id ? ",\"case_id\":\"" : "",
			   case_id ? case_id : "", case_id ? "\"" : "");
	return r < 0 ? NULL : b->data;
}

static int ingest(const char *events, uint64_t *first)
{
	char p[700];
	const char *a[] = {"ingest", HI.dir, p, NULL};
	struct buf out, err;
	const char *s;
	FILE *f;
	int r;

	snprintf(p, sizeof(p), "%s/../events-%zu.jsonl", HI.dir, strlen(events));
	if (!(f = fopen(p, "w")))
		return -1;
	fputs(events, f);
	fclose(f);
	buf_init(&out, 1 << 20);
	buf_init(&err, 1 << 20);
	r = run(a, &out, &err);
	if (r == 0 && first) {
		s = out.data ? strstr(out.data, "ledger indexes ") : NULL;
		int64_t v = 0;
		size_t n = 0;

		s = s ? s + strlen("ledger indexes ") : NULL;
		while (s && s[n] >= '0' && s[n] <= '9')
			n++;
		r = s && parse_i64(s, n, 0, INT64_MAX, &v) == 0 ? 0 : -1;
		*first = (uint64_t)v;
	}
	buf_release(&out);
	buf_release(&err);
	return r;
}

/* The last record of kind "disclosure" among the ledger's last 50,
 * parsed (the server's watcher may append alerts after it). */
static json_t *last_record(void)
{
	char p[700];
	struct ledger *l = NULL;
	struct buf b;
	json_t *j = NULL;

	snprintf(p, sizeof(p), "%s/ledger", HI.dir);
	buf_init(&b, 1 << 22);
	if (ledger_open(p, LEDGER_READ_ONLY, &l) == 0) {
		uint64_t n = ledger_size(l);
		for (uint64_t i = n; i > 0 && i + 50 > n && !j; i--) {
			json_t *x;
			if (ledger_read(l, i - 1, &b) != 0)
				break;
			const char *kind;
			x = json_loadb(b.data, b.len, 0, NULL);
			kind = json_string_value(json_object_get(x, "kind"));
			if (kind && !strcmp(kind, "disclosure"))
				j = x;
			else
				json_decref(x);
		}
	}
	ledger_close(l);
	buf_release(&b);
	return j;
}

static void expect_last_disclosure(const char *resident, const char *by, const char *for_what,
				   json_int_t count, bool refused)
{
	json_t *j = last_record(), *body;

	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "kind")), "disclosure");
	body = json_object_get(j, "body");
	assert_string_equal(json_string_value(json_object_get(body, "resident_id")), resident);
	assert_string_equal(json_string_value(json_object_get(body, "by")), by);
	assert_string_equal(json_string_value(json_object_get(body, "for")), for_what);
	assert_int_equal(json_integer_value(json_object_get(body, "count")), count);
	assert_true(json_is_boolean(json_object_get(body, "refused")));
	assert_int_equal(json_is_true(json_object_get(body, "refused")), refused);
	json_decref(j);
}

static int group_setup(void **state)
{
	struct buf ev, out, err;
	const char *a[] = {"witness", "vkey", NULL, NULL};
	int r = -1;

	(void)state;
	buf_init(&ev, 1 << 20);
	buf_init(&out, 1 << 20);
	buf_init(&err, 1 << 20);
	if (h_instance_new(&HI, 500, 20, 1000) != 0 ||
	    first_id("residents.jsonl", "\"dv_support\"", NULL, DV, sizeof(DV)) < 0 ||
	    first_id("residents.jsonl", "\"flags\":[]", NULL, PLAIN, sizeof(PLAIN)) < 0 ||
	    first_id("staff.jsonl", "\"clerk\"", NULL, CLERK, sizeof(CLERK)) < 0)
		goto out;
	/* Three accesses to PLAIN between two unrelated ones each, and one to
	 * the DV resident; the second names its case. */
	if (!event(&ev, CLERK, PLAIN, "T-A", NULL) || !event(&ev, CLERK, DV, "T-U1", NULL) ||
	    !event(&ev, CLERK, PLAIN, "TAMPERME", "C-DISCLOSE") ||
	    !event(&ev, CLERK, "R9999998", "T-U2", NULL) || !event(&ev, CLERK, PLAIN, "T-C", NULL) ||
	    ingest(ev.data, &FIRST) != 0)
		goto out;
	/* The server signs a checkpoint when it starts and when it stops. */
	if (h_serve_start(&HI) != 0 || h_serve_stop(&HI) != 0)
		goto out;
	/* One more access after the checkpoint: pending. */
	buf_reset(&ev);
	if (!event(&ev, CLERK, PLAIN, "T-LATE", NULL) || ingest(ev.data, NULL) != 0)
		goto out;
	a[2] = HI.dir;
	if (run(a, &out, &err) != 0 || !out.data)
		goto out;
	snprintf(VKEY, sizeof(VKEY), "%.*s", (int)strcspn(out.data, "\n"), out.data);
	snprintf(DOC, sizeof(DOC), "%s/../disclosure.json", HI.dir);
	r = 0;
out:
	buf_release(&ev);
	buf_release(&out);
	buf_release(&err);
	if (r < 0)
		h_instance_free(&HI);
	return r;
}

static int group_teardown(void **state)
{
	(void)state;
	h_instance_free(&HI);
	return 0;
}

static void test_disclose_and_verify(void **state)
{
	const char *a[] = {"disclose", HI.dir, PLAIN, "--by", CLERK, "--for", "resident",
			   "--out", DOC, NULL};
	const char *v[] = {"verify-proof", "--vkey", VKEY, DOC, NULL};
	struct buf out, err;
	json_t *d, *entries, *e;
	uint64_t want[3] = {FIRST, FIRST + 2, FIRST + 4};

	(void)state;
	buf_init(&out, 1 << 20);
	buf_init(&err, 1 << 20);
	assert_int_equal(run(a, &out, &err), 0);
	assert_non_null(strstr(out.data, "3 entries disclosed"));
	assert_non_null(strstr(out.data, "1 pending the next checkpoint"));
	d = json_load_file(DOC, 0, NULL);
	assert_non_null(d);
	assert_string_equal(json_string_value(json_object_get(d, "resident_id")), PLAIN);
	assert_int_equal(json_integer_value(json_object_get(d, "pending")), 1);
	assert_non_null(strstr(json_string_value(json_object_get(d, "pending_note")),
			       "pending the next checkpoint"));
	assert_true(json_integer_value(json_object_get(d, "tree_size")) > (json_int_t)FIRST + 4);
	assert_non_null(strstr(json_string_value(json_object_get(d, "checkpoint")), "\n\n— "));
	entries = json_object_get(d, "entries");
	assert_int_equal(json_array_size(entries), 3);
	for (size_t i = 0; i < 3; i++) {
		e = json_array_get(entries, i);
		assert_int_equal(json_integer_value(json_object_get(e, "index")), want[i]);
		assert_string_equal(json_string_value(json_object_get(e, "kind")), "access");
		assert_string_equal(json_string_value(json_object_get(e, "staff_id")), CLERK);
		assert_string_equal(json_string_value(json_object_get(e, "system")), "juki");
		assert_string_equal(json_string_value(json_object_get(e, "action")), "view");
		assert_non_null(strstr(json_string_value(json_object_get(e, "record")), PLAIN));
		assert_true(json_array_size(json_object_get(e, "proof")) > 0);
	}
	assert_string_equal(json_string_value(json_object_get(json_array_get(entries, 1),
							      "case_id")),
			    "C-DISCLOSE");
	assert_true(json_is_null(json_object_get(json_array_get(entries, 0), "case_id")));
	json_decref(d);
	expect_last_disclosure(PLAIN, CLERK, "resident", 3, false);

	assert_int_equal(run(v, &out, &err), 0);
	assert_non_null(strstr(out.data, "verified"));
	assert_non_null(strstr(out.data, "3 inclusion proofs"));
	buf_release(&out);
	buf_release(&err);
}

/* Replace the first occurrence of from by to (same length) in the file. */
static void patch_file(const char *path, const char *from, const char *to)
{
	struct buf b;
	char chunk[4096], *p;
	size_t n;
	FILE *f = fopen(path, "r");

	assert_non_null(f);
	buf_init(&b, 1 << 24);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		assert_int_equal(buf_append(&b, chunk, n), 0);
	fclose(f);
	assert_non_null(b.data);
	p = strstr(b.data, from);
	assert_non_null(p);
	assert_int_equal(strlen(from), strlen(to));
	memcpy(p, to, strlen(to));
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(b.data, 1, b.len, f), b.len);
	fclose(f);
	buf_release(&b);
}

static void test_verify_tampered(void **state)
{
	const char *a[] = {"disclose", HI.dir, PLAIN, "--by", CLERK, "--for", "resident",
			   "--out", DOC, NULL};
	const char *v[] = {"verify-proof", "--vkey", VKEY, DOC, NULL};
	struct buf out, err;
	json_t *d, *proof;
	char h[64];

	(void)state;
	buf_init(&out, 1 << 20);
	buf_init(&err, 1 << 20);
	/* One changed byte inside the canonical record of entry 1. */
	assert_int_equal(run(a, &out, &err), 0);
	patch_file(DOC, "TAMPERME", "TAMPERMF");
	assert_int_equal(run(v, &out, &err), 1);
	assert_non_null(strstr(err.data, "verification FAILED"));
	assert_non_null(strstr(err.data, "entry 1 (index"));
	assert_non_null(strstr(err.data, "inclusion proof"));

	/* A shown field that is not the record's. */
	assert_int_equal(run(a, &out, &err), 0);
	patch_file(DOC, "\"case_id\": \"C-DISCLOSE\"", "\"case_id\": \"C-DISCLOSX\"");
	assert_int_equal(run(v, &out, &err), 1);
	assert_non_null(strstr(err.data, "entry 1 (index"));
	assert_non_null(strstr(err.data, "case_id does not match"));

	/* One changed proof hash of entry 2. */
	assert_int_equal(run(a, &out, &err), 0);
	d = json_load_file(DOC, 0, NULL);
	assert_non_null(d);
	proof = json_object_get(json_array_get(json_object_get(d, "entries"), 2), "proof");
	snprintf(h, sizeof(h), "%s", json_string_value(json_array_get(proof, 0)));
	h[0] = h[0] == 'A' ? 'B' : 'A';
	assert_int_equal(json_array_set_new(proof, 0, json_string(h)), 0);
	assert_int_equal(json_dump_file(d, DOC, JSON_INDENT(1)), 0);
	json_decref(d);
	assert_int_equal(run(v, &out, &err), 1);
	assert_non_null(strstr(err.data, "entry 2 (index"));

	/* A key line that is not the instance's (its key id does not match). */
	assert_int_equal(run(a, &out, &err), 0);
	{
		const char *other[] = {"verify-proof", "--vkey",
				       "mamori/other+0950c3b8+AXZre4vZzzsgbQLtA7N8zAzPUqZrkzvY0gNQYSUDbiFq",
				       DOC, NULL};
		assert_int_equal(run(other, &out, &err), 1);
	}
	/* The untouched document still verifies. */
	assert_int_equal(run(v, &out, &err), 0);
	buf_release(&out);
	buf_release(&err);
}

static void test_dv_refused_to_proxy(void **state)
{
	const char *proxy[] = {"disclose", HI.dir, DV, "--by", CLERK, "--for", "proxy", NULL};
	const char *self[] = {"disclose", HI.dir, DV, "--by", CLERK, "--for", "resident", NULL};
	const char *plain_proxy[] = {"disclose", HI.dir, PLAIN, "--by", CLERK, "--for", "proxy",
				     NULL};
	struct buf out, err;

	(void)state;
	buf_init(&out, 1 << 20);
	buf_init(&err, 1 << 20);
	assert_int_equal(run(proxy, &out, &err), 1);
	assert_non_null(strstr(err.data, "disclosure refused"));
	assert_non_null(strstr(err.data, "DV support"));
	assert_true(out.data == NULL || strstr(out.data, "\"entries\"") == NULL);
	expect_last_disclosure(DV, CLERK, "proxy", 0, true);

	/* The resident themself may have it (one access names them). */
	assert_int_equal(run(self, &out, &err), 0);
	assert_non_null(strstr(out.data, "\"entries\""));
	assert_non_null(strstr(err.data, "1 entries disclosed"));
	expect_last_disclosure(DV, CLERK, "resident", 1, false);

	/* A proxy may have the disclosure of a resident without the flag. */
	assert_int_equal(run(plain_proxy, &out, &err), 0);
	expect_last_disclosure(PLAIN, CLERK, "proxy", 3, false);
	buf_release(&out);
	buf_release(&err);
}

static void test_refusals_and_usage(void **state)
{
	const char *nostaff[] = {"disclose", HI.dir, PLAIN, "--by", "S-NOBODY", "--for",
				 "resident", NULL};
	const char *nores[] = {"disclose", HI.dir, "R9999998", "--by", CLERK, "--for", "resident",
			       NULL};
	const char *nofor[] = {"disclose", HI.dir, PLAIN, "--by", CLERK, NULL};
	const char *badfor[] = {"disclose", HI.dir, PLAIN, "--by", CLERK, "--for", "friend", NULL};
	const char *nokey[] = {"verify-proof", DOC, NULL};
	const char *badkey[] = {"verify-proof", "--vkey", "not a key", DOC, NULL};
	const char *nofile[] = {"verify-proof", "--vkey", VKEY, "/nonexistent/doc.json", NULL};
	const char *help[] = {"disclose", "--help", NULL};
	struct buf out, err;

	(void)state;
	buf_init(&out, 1 << 20);
	buf_init(&err, 1 << 20);
	assert_int_equal(run(nostaff, &out, &err), 1);
	assert_non_null(strstr(err.data, "S-NOBODY is not in the registry"));
	expect_last_disclosure(PLAIN, "S-NOBODY", "resident", 0, true);
	assert_int_equal(run(nores, &out, &err), 1);
	assert_non_null(strstr(err.data, "R9999998 is not in the registry"));
	assert_int_equal(run(nofor, &out, &err), 2);
	assert_int_equal(run(badfor, &out, &err), 2);
	assert_int_equal(run(nokey, &out, &err), 2);
	assert_int_equal(run(badkey, &out, &err), 1);
	assert_non_null(strstr(err.data, "verifier key is malformed"));
	assert_int_equal(run(nofile, &out, &err), 1);
	assert_int_equal(run(help, &out, &err), 0);
	assert_non_null(strstr(out.data, "usage: mamori disclose DIR RESIDENT_ID"));
	buf_release(&out);
	buf_release(&err);
}

static int get_status(const char *path, bool auth, struct h_resp *r)
{
	int rc = auth ? h_http_auth(&HI, "GET", path, NULL, 0, r)
		      : h_http(HI.port, "GET", path, NULL, NULL, 0, r);

	return rc < 0 ? -1 : r->status;
}

static void test_api(void **state)
{
	const char *v[] = {"verify-proof", "--vkey", VKEY, DOC, NULL};
	struct h_resp r;
	struct buf out, err;
	char path[256];
	json_t *d;
	FILE *f;

	(void)state;
	buf_init(&out, 1 << 20);
	buf_init(&err, 1 << 20);
	/* The server signs a checkpoint when it starts: T-LATE is now in it. */
	assert_int_equal(h_serve_start(&HI), 0);
	snprintf(path, sizeof(path), "/v1/disclosure/%s?by=%s&for=resident", PLAIN, CLERK);
	assert_int_equal(get_status(path, true, &r), 200);
	d = json_loadb(r.body.data, r.body.len, 0, NULL);
	assert_non_null(d);
	assert_string_equal(json_string_value(json_object_get(d, "resident_id")), PLAIN);
	assert_int_equal(json_array_size(json_object_get(d, "entries")), 4);
	assert_int_equal(json_integer_value(json_object_get(d, "pending")), 0);
	json_decref(d);
	f = fopen(DOC, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(r.body.data, 1, r.body.len, f), r.body.len);
	fclose(f);
	h_resp_release(&r);
	assert_int_equal(run(v, &out, &err), 0);
	assert_non_null(strstr(out.data, "4 inclusion proofs"));
	expect_last_disclosure(PLAIN, CLERK, "resident", 4, false);

	/* Without a key. */
	assert_int_equal(get_status(path, false, &r), 401);
	h_resp_release(&r);
	/* A dv_support resident asked for by a proxy: 403, recorded. */
	snprintf(path, sizeof(path), "/v1/disclosure/%s?by=%s&for=proxy", DV, CLERK);
	assert_int_equal(get_status(path, true, &r), 403);
	assert_non_null(strstr(r.body.data, "DV"));
	h_resp_release(&r);
	expect_last_disclosure(DV, CLERK, "proxy", 0, true);
	/* Unknown resident, unknown staff, bad arguments, bad paths. */
	snprintf(path, sizeof(path), "/v1/disclosure/R9999998?by=%s&for=resident", CLERK);
	assert_int_equal(get_status(path, true, &r), 404);
	h_resp_release(&r);
	snprintf(path, sizeof(path), "/v1/disclosure/%s?by=S-NOBODY&for=resident", PLAIN);
	assert_int_equal(get_status(path, true, &r), 403);
	h_resp_release(&r);
	snprintf(path, sizeof(path), "/v1/disclosure/%s?for=resident", PLAIN);
	assert_int_equal(get_status(path, true, &r), 400);
	h_resp_release(&r);
	snprintf(path, sizeof(path), "/v1/disclosure/%s?by=%s&for=friend", PLAIN, CLERK);
	assert_int_equal(get_status(path, true, &r), 400);
	h_resp_release(&r);
	assert_int_equal(get_status("/v1/disclosure/?by=x&for=resident", true, &r), 404);
	h_resp_release(&r);
	snprintf(path, sizeof(path), "/v1/disclosure/%s/x?by=%s&for=resident", PLAIN, CLERK);
	assert_int_equal(get_status(path, true, &r), 404);
	h_resp_release(&r);
	assert_int_equal(h_serve_stop(&HI), 0);
	buf_release(&out);
	buf_release(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_disclose_and_verify),
		cmocka_unit_test(test_verify_tampered),
		cmocka_unit_test(test_dv_refused_to_proxy),
		cmocka_unit_test(test_refusals_and_usage),
		cmocka_unit_test(test_api),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
