/*
 * Integration tests of the people side of the ISMS through the real
 * server (docs/isms-people.md): the Statement of Applicability with live
 * evidence, training completions imported from CSV changing what
 * /v1/decide answers, overdue lists limited by department, notices with
 * acknowledgements and pending lists, contracts needing attention, and
 * permissions (an auditor reads but never writes; a department manager
 * sees and acts in their own department only).
 *
 * A hand-written part of the municipality makes every answer known in
 * advance: departments P-D1 and P-D2, system p-sys (lgwan); P-S1 (regular,
 * P-D1) whose training is 400 days old, with an open case on resident
 * P-R1; P-S2 (fiscal year, P-D2, started 10 days ago, never trained);
 * P-C1 (contractor staff of contractor PX in P-D2).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <sys/stat.h>

#include <jansson.h>

#include "base/base.h"
#include "base/buf.h"
#include "base/timeutil.h"
#include "integration/harness.h"

static struct h_instance HI;
static char auditor_key[128], d1_key[128], d2_key[128];
static char today[DATE_TEXT_MAX], yesterday[DATE_TEXT_MAX], in10[DATE_TEXT_MAX];
static char notice_id[64], course_id[64];

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f) == 0 ? 0 : -1;
}

static int create_key(const char *name, const char *role, const char *dept, char *out, size_t len)
{
	const char *a[] = {"apikey", "create", HI.dir, name, "--role", role, dept ? "--dept" : NULL,
			   dept,     NULL};
	struct buf o, e;
	int rc = h_run(a, NULL, 0, &o, &e);
	size_t n = strcspn(o.data, "\n");

	if (rc != 0 || strncmp(o.data, "mk_", 3) != 0 || n >= len) {
		fprintf(stderr, "apikey create %s: %d %s %s\n", name, rc, o.data, e.data);
		rc = -1;
	} else {
		memcpy(out, o.data, n);
		out[n] = '\0';
	}
	buf_release(&o);
	buf_release(&e);
	return rc;
}

static int group_setup_inner(void)
{
	int32_t t = ts_jst_day(ts_now());
	char base[512], dd[600], p[700], old[DATE_TEXT_MAX], start2[DATE_TEXT_MAX];
	char staff[2048], cases[512];
	const char *slash;

	date_format(t, today);
	date_format(t - 1, yesterday);
	date_format(t + 10, in10);
	date_format(t - 400, old);
	date_format(t - 10, start2);
	if (h_instance_new(&HI, 500, 20, 1000) < 0)
		return -1;
	slash = strrchr(HI.dir, '/');
	snprintf(base, sizeof(base), "%.*s", slash ? (int)(slash - HI.dir) : 0, HI.dir);
	snprintf(dd, sizeof(dd), "%s/pdata", base);
	if (mkdir(dd, 0700) < 0)
		return -1;
	snprintf(
	    staff, sizeof(staff),
	    "{\"id\":\"P-S1\",\"name\":\"人事 一郎\",\"surname\":\"人事\",\"dept\":\"P-D1\","
	    "\"employment\":\"regular\",\"roles\":[\"clerk\"],\"zones\":[\"lgwan\"],"
	    "\"start\":\"2020-04-01\",\"end\":null,\"training\":\"%s\",\"pledge\":\"2020-04-01\"}\n"
	    "{\"id\":\"P-S2\",\"name\":\"会計 花子\",\"surname\":\"会計\",\"dept\":\"P-D2\","
	    "\"employment\":\"fiscal_year\",\"roles\":[\"clerk\"],\"zones\":[\"lgwan\"],"
	    "\"start\":\"%s\",\"end\":null,\"training\":null,\"pledge\":null}\n"
	    "{\"id\":\"P-C1\",\"name\":\"委託 次郎\",\"surname\":\"委託\",\"dept\":\"P-D2\","
	    "\"employment\":\"contractor\",\"roles\":[\"clerk\"],\"zones\":[\"lgwan\"],"
	    "\"start\":\"2020-04-01\",\"end\":null,\"training\":\"%s\",\"pledge\":\"2020-04-01\","
	    "\"contractor\":\"PX\"}\n",
	    old, start2, today);
	snprintf(
	    cases, sizeof(cases),
	    "{\"id\":\"P-K1\",\"resident_id\":\"P-R1\",\"dept\":\"P-D1\",\"kind\":\"certificate\","
	    "\"assigned_to\":\"P-S1\",\"opened\":\"2020-04-01T09:00:00+09:00\",\"closed\":null}\n");
#define W(name, text)                                                                              \
	snprintf(p, sizeof(p), "%s/" name, dd);                                                    \
	if (write_file(p, text) < 0)                                                               \
		return -1;
	W("systems.jsonl", "{\"id\":\"p-sys\",\"name\":\"試験システム\",\"zone\":\"lgwan\","
			   "\"confidentiality\":\"2\"}\n")
	W("departments.jsonl",
	  "{\"id\":\"P-D1\",\"name\":\"人事課\",\"parent\":null,\"systems\":[\"p-sys\"]}\n"
	  "{\"id\":\"P-D2\",\"name\":\"会計課\",\"parent\":null,\"systems\":[\"p-sys\"]}\n")
	W("staff.jsonl", staff)
	W("residents.jsonl",
	  "{\"id\":\"P-R1\",\"surname\":\"佐藤\",\"given\":\"花子\","
	  "\"birth\":\"1980-01-01\",\"address_id\":\"P-A1\",\"household_id\":\"P-H1\","
	  "\"flags\":[]}\n")
	W("cases.jsonl", cases)
#undef W
	{
		const char *a[] = {"import", HI.dir, dd, "--quiet", NULL};
		struct buf o, e;
		int rc = h_run(a, NULL, 0, &o, &e);
		if (rc != 0)
			fprintf(stderr, "import: %d %s %s\n", rc, o.data, e.data);
		buf_release(&o);
		buf_release(&e);
		if (rc != 0)
			return -1;
	}
	if (create_key("audit-office", "auditor", NULL, auditor_key, sizeof(auditor_key)) < 0 ||
	    create_key("p-d1-manager", "dept_manager", "P-D1", d1_key, sizeof(d1_key)) < 0 ||
	    create_key("p-d2-manager", "dept_manager", "P-D2", d2_key, sizeof(d2_key)) < 0)
		return -1;
	return h_serve_start(&HI);
}

static int group_setup(void **state)
{
	(void)state;
	if (group_setup_inner() == 0)
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

/* ---- helpers ---- */

/* One request with key (NULL: the admin key of the harness) and content
 * type ctype (NULL: JSON when there is a body). */
static void req(const char *key, const char *method, const char *path, const char *body,
		const char *ctype, struct h_resp *r)
{
	char hdr[512];

	snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n%s%s%s", key ? key : HI.apikey,
		 ctype ? "Content-Type: " : "", ctype ? ctype : "", ctype ? "\r\n" : "");
	assert_int_equal(h_http(HI.port, method, path, hdr, body, body ? strlen(body) : 0, r), 0);
}

static json_t *body_json(const struct h_resp *r)
{
	json_error_t e;
	json_t *j = json_loadb(r->body.data ? r->body.data : "", r->body.len, 0, &e);
	if (!j)
		fprintf(stderr, "not JSON (%s): %.300s\n", e.text, r->body.data);
	assert_non_null(j);
	return j;
}

static void expect(const struct h_resp *r, int status)
{
	if (r->status != status)
		fprintf(stderr, "expected %d, got %d: %.600s\n", status, r->status, r->body.data);
	assert_int_equal(r->status, status);
}

/* POST a record of kind through the generic route; its id into id. */
static void create(const char *kind, const char *json, char *id, size_t idlen)
{
	struct h_resp r;
	char path[128];
	json_t *j;

	snprintf(path, sizeof(path), "/v1/isms/%s", kind);
	req(NULL, "POST", path, json, NULL, &r);
	expect(&r, 201);
	j = body_json(&r);
	snprintf(id, idlen, "%s", json_string_value(json_object_get(j, "id")));
	json_decref(j);
	h_resp_release(&r);
}

static json_t *get_json(const char *key, const char *path, int status)
{
	struct h_resp r;
	json_t *j;

	req(key, "GET", path, NULL, NULL, &r);
	expect(&r, status);
	j = body_json(&r);
	h_resp_release(&r);
	return j;
}

static json_t *entry_of(json_t *st, const char *control)
{
	size_t i;
	json_t *e;
	json_array_foreach(
	    json_object_get(st, "entries"), i,
	    e) if (!strcmp(json_string_value(json_object_get(e, "control")), control)) return e;
	return NULL;
}

static json_t *live(json_t *entry, const char *source)
{
	size_t i;
	json_t *e;
	json_array_foreach(
	    json_object_get(entry, "live_evidence"), i,
	    e) if (!strcmp(json_string_value(json_object_get(e, "source")), source)) return e;
	return NULL;
}

/* ---- tests (in order: each builds on the one before) ---- */

static void test_soa(void **state)
{
	struct h_resp r;
	json_t *j, *e;
	char ct[128];
	(void)state;

	req(auditor_key, "POST", "/v1/isms/soa/seed", NULL, NULL, &r);
	expect(&r, 403);
	h_resp_release(&r);
	req(d1_key, "POST", "/v1/isms/soa/seed", NULL, NULL, &r);
	expect(&r, 403);
	h_resp_release(&r);
	req(NULL, "POST", "/v1/isms/soa/seed", NULL, NULL, &r);
	expect(&r, 200);
	j = body_json(&r);
	assert_int_equal(json_integer_value(json_object_get(j, "created")), 93);
	json_decref(j);
	h_resp_release(&r);
	req(NULL, "POST", "/v1/isms/soa/seed", NULL, NULL, &r);
	expect(&r, 200);
	j = body_json(&r);
	assert_int_equal(json_integer_value(json_object_get(j, "created")), 0);
	json_decref(j);
	h_resp_release(&r);

	/* The auditor reads the statement, with live evidence. */
	j = get_json(auditor_key, "/v1/isms/soa", 200);
	assert_int_equal(json_array_size(json_object_get(j, "entries")), 93);
	assert_int_equal(json_array_size(json_object_get(j, "missing")), 0);
	e = live(entry_of(j, "8.15"), "ledger");
	assert_non_null(e);
	/* mamori serve signs a checkpoint when it starts: it verifies. */
	assert_string_equal(json_string_value(json_object_get(e, "status")), "verified");
	assert_string_equal(json_string_value(json_object_get(e, "signature")), "valid");
	assert_true(json_integer_value(json_object_get(e, "entries")) > 93);
	e = live(entry_of(j, "5.15"), "decisions");
	assert_non_null(e);
	assert_int_equal(strlen(json_string_value(json_object_get(e, "policy_sha256"))), 64);
	assert_non_null(live(entry_of(j, "6.3"), "training"));
	assert_non_null(live(entry_of(j, "8.16"), "alerts"));
	assert_null(json_object_get(entry_of(j, "7.2"), "live_evidence"));
	json_decref(j);

	req(auditor_key, "GET", "/v1/isms/soa?format=csv", NULL, NULL, &r);
	expect(&r, 200);
	assert_int_equal(h_resp_header(&r, "Content-Type", ct, sizeof(ct)), 0);
	assert_non_null(strstr(ct, "text/csv"));
	assert_non_null(strstr(r.body.data, "\"8.15\",\"Logging\""));
	assert_non_null(strstr(r.body.data, "ledger status=verified"));
	h_resp_release(&r);

	/* An entry is changed through the generic route, never by an auditor. */
	{
		json_t *st = get_json(NULL, "/v1/isms/soa", 200);
		char path[128];
		snprintf(path, sizeof(path), "/v1/isms/soa/%s",
			 json_string_value(json_object_get(entry_of(st, "7.4"), "_id")));
		json_decref(st);
		req(auditor_key, "PATCH", path, "{\"applicable\":false,\"justification\":\"x\"}",
		    NULL, &r);
		expect(&r, 403);
		h_resp_release(&r);
		req(NULL, "PATCH", path,
		    "{\"applicable\":false,\"justification\":\"監視カメラは庁舎管理で別に運用\"}",
		    NULL, &r);
		expect(&r, 200);
		h_resp_release(&r);
		st = get_json(NULL, "/v1/isms/soa", 200);
		assert_int_equal(
		    json_integer_value(json_object_get(json_object_get(st, "counts"), "excluded")),
		    1);
		json_decref(st);
	}
}

static const char *decide_body =
    "{\"staff_id\":\"P-S1\",\"action\":\"view\",\"resident_id\":\"P-R1\","
    "\"system\":\"p-sys\",\"zone\":\"lgwan\",\"case_id\":\"P-K1\"}";

static bool has_reason(json_t *d, const char *code)
{
	size_t i;
	json_t *x;
	json_array_foreach(
	    json_object_get(d, "reasons"), i,
	    x) if (!strcmp(json_string_value(json_object_get(x, "code")), code)) return true;
	return false;
}

static void test_training_changes_decisions(void **state)
{
	struct h_resp r;
	json_t *j;
	char body[512], id[64];
	(void)state;

	create("courses",
	       "{\"code\":\"SEC-ANNUAL\",\"title\":\"情報セキュリティ研修（年次）\",\"type\":"
	       "\"annual\","
	       "\"validity_days\":365,\"registry_date\":\"training\"}",
	       course_id, sizeof(course_id));
	create("courses",
	       "{\"code\":\"DAY1\",\"title\":\"任用初日研修\",\"type\":\"day_one\",\"validity_"
	       "days\":0}",
	       id, sizeof(id));
	snprintf(body, sizeof(body), "{\"course\":\"%s\",\"due_days\":30}", course_id);
	create("training_requirements", body, id, sizeof(id));
	/* The day-one course, found through the generic list by its code. */
	{
		json_t *l = get_json(NULL, "/v1/isms/courses?code=DAY1", 200);
		json_t *items = json_is_array(l) ? l : json_object_get(l, "items");
		snprintf(body, sizeof(body),
			 "{\"course\":\"%s\",\"employment\":[\"fiscal_year\",\"temporary\"],\"due_"
			 "days\":0}",
			 json_string_value(json_object_get(json_array_get(items, 0), "_id")));
		json_decref(l);
	}
	create("training_requirements", body, id, sizeof(id));

	/* Before: P-S1's training is 400 days old, so the decision is deny. */
	req(NULL, "POST", "/v1/decide", decide_body, NULL, &r);
	expect(&r, 200);
	j = body_json(&r);
	assert_string_equal(json_string_value(json_object_get(j, "decision")), "deny");
	assert_true(has_reason(j, "training_expired"));
	json_decref(j);
	h_resp_release(&r);

	/* A bad file: every error named by line and field, nothing written. */
	snprintf(body, sizeof(body),
		 "staff_id,course,completed\nP-S1,SEC-ANNUAL,%s\nP-S9,SEC-ANNUAL,%s\nP-S1,NOPE,"
		 "2026-13-01\n",
		 today, today);
	req(NULL, "POST", "/v1/isms/training/import", body, "text/csv", &r);
	expect(&r, 400);
	j = body_json(&r);
	{
		json_t *errs = json_object_get(j, "errors");
		bool staff3 = false, course4 = false, date4 = false;
		size_t i;
		json_t *x;
		json_array_foreach(errs, i, x)
		{
			json_int_t line = json_integer_value(json_object_get(x, "line"));
			const char *f = json_string_value(json_object_get(x, "field"));
			staff3 |= line == 3 && f && !strcmp(f, "staff_id");
			course4 |= line == 4 && f && !strcmp(f, "course");
			date4 |= line == 4 && f && !strcmp(f, "completed");
		}
		assert_true(staff3 && course4 && date4);
	}
	json_decref(j);
	h_resp_release(&r);
	/* An auditor may not import. */
	snprintf(body, sizeof(body), "staff_id,course,completed\nP-S1,SEC-ANNUAL,%s\n", today);
	req(auditor_key, "POST", "/v1/isms/training/import", body, "text/csv", &r);
	expect(&r, 403);
	h_resp_release(&r);
	/* Still denied. */
	req(NULL, "POST", "/v1/decide", decide_body, NULL, &r);
	j = body_json(&r);
	assert_true(has_reason(j, "training_expired"));
	json_decref(j);
	h_resp_release(&r);

	req(NULL, "POST", "/v1/isms/training/import", body, "text/csv", &r);
	expect(&r, 200);
	j = body_json(&r);
	assert_int_equal(json_integer_value(json_object_get(j, "created")), 1);
	assert_int_equal(json_integer_value(json_object_get(j, "registry_updated")), 1);
	assert_true(json_is_true(json_object_get(j, "reloaded")));
	json_decref(j);
	h_resp_release(&r);

	/* One completion posted as JSON takes the same path: a pledge. */
	{
		char pledge[64];
		create("courses",
		       "{\"code\":\"PLEDGE\",\"title\":\"誓約書\",\"type\":\"pledge\","
		       "\"validity_days\":0,\"registry_date\":\"pledge\"}",
		       pledge, sizeof(pledge));
		snprintf(body, sizeof(body),
			 "{\"staff\":\"P-S2\",\"course\":\"%s\",\"completed\":\"%s\"}", pledge,
			 today);
		req(auditor_key, "POST", "/v1/isms/training_completions", body, NULL, &r);
		expect(&r, 403);
		h_resp_release(&r);
		req(d1_key, "POST", "/v1/isms/training_completions", body, NULL, &r);
		expect(&r, 403); /* P-S2 is in P-D2 */
		h_resp_release(&r);
		req(d2_key, "POST", "/v1/isms/training_completions", body, NULL, &r);
		expect(&r, 201);
		j = body_json(&r);
		assert_int_equal(json_integer_value(json_object_get(j, "registry_updated")), 1);
		json_decref(j);
		h_resp_release(&r);
		j = get_json(d2_key, "/v1/isms/training_completions?staff=P-S2", 200);
		{
			json_t *items = json_is_array(j) ? j : json_object_get(j, "items");
			assert_int_equal(json_array_size(items), 1);
			assert_string_equal(
			    json_string_value(json_object_get(json_array_get(items, 0), "dept")),
			    "P-D2");
		}
		json_decref(j);
	}

	/* After: the same request is allowed. */
	req(NULL, "POST", "/v1/decide", decide_body, NULL, &r);
	expect(&r, 200);
	j = body_json(&r);
	assert_false(has_reason(j, "training_expired"));
	assert_string_equal(json_string_value(json_object_get(j, "decision")), "allow");
	json_decref(j);
	h_resp_release(&r);
}

static size_t items_for(json_t *ov, const char *staff)
{
	size_t i, n = 0;
	json_t *it;
	json_array_foreach(
	    json_object_get(ov, "items"), i,
	    it) if (!strcmp(json_string_value(json_object_get(it, "staff_id")), staff)) n++;
	return n;
}

static void test_overdue_by_department(void **state)
{
	json_t *j;
	char path[128];
	struct h_resp r;
	size_t i;
	json_t *it;
	(void)state;

	/* P-S2 (fiscal year, 10 days in) misses the day-one course. */
	j = get_json(NULL, "/v1/isms/training/overdue?dept=P-D2", 200);
	assert_int_equal(items_for(j, "P-S2"), 1);
	assert_string_equal(json_string_value(json_object_get(
				json_array_get(json_object_get(j, "items"), 0), "state")),
			    "missing");
	json_decref(j);
	/* The manager of P-D1 sees P-D1 only, and cannot ask for P-D2. */
	j = get_json(d1_key, "/v1/isms/training/overdue", 200);
	assert_string_equal(json_string_value(json_object_get(j, "dept")), "P-D1");
	assert_int_equal(items_for(j, "P-S2"), 0);
	assert_int_equal(items_for(j, "P-S1"), 0); /* trained today */
	json_array_foreach(json_object_get(j, "items"), i, it)
	    assert_string_equal(json_string_value(json_object_get(it, "dept")), "P-D1");
	json_decref(j);
	req(d1_key, "GET", "/v1/isms/training/overdue?dept=P-D2", NULL, NULL, &r);
	expect(&r, 403);
	h_resp_release(&r);
	/* The auditor reads any department. */
	j = get_json(auditor_key, "/v1/isms/training/overdue?dept=P-D2", 200);
	assert_int_equal(items_for(j, "P-S2"), 1);
	json_decref(j);
	/* A year from now P-S1 is out of date again. */
	{
		int32_t t = ts_jst_day(ts_now()) + 400;
		char d[DATE_TEXT_MAX];
		date_format(t, d);
		snprintf(path, sizeof(path), "/v1/isms/training/overdue?dept=P-D1&date=%s", d);
		j = get_json(NULL, path, 200);
		assert_int_equal(items_for(j, "P-S1"), 1);
		json_decref(j);
	}
	req(NULL, "GET", "/v1/isms/training/overdue?date=2026-02-30", NULL, NULL, &r);
	expect(&r, 400);
	h_resp_release(&r);
	req(NULL, "GET", "/v1/isms/training/overdue?dept=P-D2&format=csv", NULL, NULL, &r);
	expect(&r, 200);
	assert_non_null(strstr(r.body.data, "\"P-S2\""));
	h_resp_release(&r);
}

static void test_notices(void **state)
{
	struct h_resp r;
	char body[512], path[128];
	json_t *j;
	(void)state;

	snprintf(body, sizeof(body),
		 "{\"source\":\"nisc\",\"title\":\"VPN 機器の脆弱性\",\"severity\":\"critical\","
		 "\"audience_depts\":[\"P-D1\",\"P-D2\"],\"issued\":\"%s\",\"due\":\"%s\"}",
		 yesterday, yesterday);
	req(auditor_key, "POST", "/v1/isms/notices", body, NULL, &r);
	expect(&r, 403);
	h_resp_release(&r);
	create("notices", body, notice_id, sizeof(notice_id));

	snprintf(path, sizeof(path), "/v1/isms/notices/%s/ack", notice_id);
	req(auditor_key, "POST", path, "{\"staff_id\":\"P-S1\"}", NULL, &r);
	expect(&r, 403);
	h_resp_release(&r);
	req(d1_key, "POST", path, "{\"staff_id\":\"P-S2\"}", NULL, &r);
	expect(&r, 403); /* P-S2 is in P-D2 */
	h_resp_release(&r);
	req(d1_key, "POST", path, "{\"staff_id\":\"P-S1\"}", NULL, &r);
	expect(&r, 201);
	h_resp_release(&r);
	req(NULL, "POST", path, "{\"staff_id\":\"P-S1\"}", NULL, &r);
	expect(&r, 200);
	j = body_json(&r);
	assert_true(json_is_true(json_object_get(j, "already")));
	json_decref(j);
	h_resp_release(&r);
	req(NULL, "POST", path, "{}", NULL, &r);
	expect(&r, 400);
	h_resp_release(&r);

	snprintf(path, sizeof(path), "/v1/isms/notices/%s/pending", notice_id);
	j = get_json(NULL, path, 200);
	/* P-S2 and P-C1 in P-D2 have not acknowledged. */
	assert_int_equal(json_integer_value(json_object_get(j, "pending_count")), 2);
	assert_int_equal(json_integer_value(json_object_get(j, "acknowledged")), 1);
	assert_true(json_is_true(json_object_get(j, "overdue")));
	json_decref(j);
	j = get_json(d1_key, path, 200);
	assert_int_equal(json_integer_value(json_object_get(j, "pending_count")), 0);
	json_decref(j);
	j = get_json(d2_key, path, 200);
	assert_int_equal(json_integer_value(json_object_get(j, "pending_count")), 2);
	json_decref(j);

	j = get_json(NULL, "/v1/isms/notices/overdue", 200);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "by_dept"), "P-D2")),
			 2);
	assert_null(json_object_get(json_object_get(j, "by_dept"), "P-D1"));
	json_decref(j);
	j = get_json(d1_key, "/v1/isms/notices/reminders", 200);
	assert_int_equal(json_integer_value(json_object_get(j, "pending_total")), 0);
	json_decref(j);
	j = get_json(auditor_key, "/v1/isms/notices/reminders?dept=P-D2", 200);
	assert_int_equal(json_integer_value(json_object_get(j, "pending_total")), 2);
	json_decref(j);
}

static void test_contracts(void **state)
{
	struct h_resp r;
	char body[1024], ct[64], cn[64], rp[64];
	json_t *j;
	(void)state;

	create("contractors", "{\"name\":\"株式会社試験情報\",\"registry_id\":\"PX\"}", ct,
	       sizeof(ct));
	/* P-S1 is not contractor staff: refused with the field named. */
	snprintf(body, sizeof(body),
		 "{\"contractor\":\"%s\",\"title\":\"会計システム保守\",\"dept\":\"P-D2\","
		 "\"start\":\"2026-01-01\","
		 "\"end\":\"%s\",\"security_clauses\":[\"守秘義務\"],\"subcontracting\":false,"
		 "\"personnel\":[\"P-S1\"]}",
		 ct, in10);
	req(NULL, "POST", "/v1/isms/contracts", body, NULL, &r);
	if (r.status != 400 && r.status != 422)
		fprintf(stderr, "got %d: %s\n", r.status, r.body.data);
	assert_true(r.status == 400 || r.status == 422);
	assert_non_null(strstr(r.body.data, "personnel"));
	h_resp_release(&r);
	snprintf(body, sizeof(body),
		 "{\"contractor\":\"%s\",\"title\":\"会計システム保守\",\"dept\":\"P-D2\","
		 "\"start\":\"2026-01-01\","
		 "\"end\":\"%s\",\"systems\":[\"p-sys\"],\"security_clauses\":[\"守秘義務\"],"
		 "\"subcontracting\":false,\"personnel\":[\"P-C1\"]}",
		 ct, in10);
	req(d1_key, "POST", "/v1/isms/contracts", body, NULL, &r);
	expect(&r, 403);
	h_resp_release(&r);
	req(d2_key, "POST", "/v1/isms/contracts", body, NULL, &r);
	expect(&r, 201);
	j = body_json(&r);
	snprintf(cn, sizeof(cn), "%s", json_string_value(json_object_get(j, "id")));
	json_decref(j);
	h_resp_release(&r);
	snprintf(body, sizeof(body), "{\"contract\":\"%s\",\"period\":\"月次\",\"due\":\"%s\"}", cn,
		 yesterday);
	create("contractor_reports", body, rp, sizeof(rp));

	j = get_json(NULL, "/v1/isms/contracts/attention?days=30", 200);
	assert_int_equal(json_array_size(json_object_get(j, "ending")), 1);
	assert_string_equal(json_string_value(json_object_get(
				json_array_get(json_object_get(j, "ending"), 0), "id")),
			    cn);
	assert_int_equal(json_integer_value(json_object_get(
			     json_array_get(json_object_get(j, "ending"), 0), "days_left")),
			 10);
	assert_int_equal(json_array_size(json_object_get(j, "reports_overdue")), 1);
	json_decref(j);
	j = get_json(NULL, "/v1/isms/contracts/attention?days=9", 200);
	assert_int_equal(json_array_size(json_object_get(j, "ending")), 0);
	json_decref(j);
	j = get_json(d1_key, "/v1/isms/contracts/attention", 200);
	assert_int_equal(json_array_size(json_object_get(j, "ending")), 0);
	assert_int_equal(json_array_size(json_object_get(j, "reports_overdue")), 0);
	json_decref(j);
	j = get_json(auditor_key, "/v1/isms/contracts/attention", 200);
	assert_int_equal(json_array_size(json_object_get(j, "reports_overdue")), 1);
	json_decref(j);
	/* Receiving the report clears it. */
	{
		char path[128];
		snprintf(path, sizeof(path), "/v1/isms/contractor_reports/%s", rp);
		snprintf(body, sizeof(body), "{\"received\":\"%s\"}", today);
		req(auditor_key, "PATCH", path, body, NULL, &r);
		expect(&r, 403);
		h_resp_release(&r);
		req(d2_key, "PATCH", path, body, NULL, &r);
		expect(&r, 200);
		h_resp_release(&r);
	}
	j = get_json(NULL, "/v1/isms/contracts/attention", 200);
	assert_int_equal(json_array_size(json_object_get(j, "reports_overdue")), 0);
	json_decref(j);
}

/* The CLI runs the same workflows on the same instance. */
static void test_cli(void **state)
{
	struct buf o, e;
	int rc;
	(void)state;
	{
		const char *a[] = {"soa", HI.dir, "seed", NULL};
		rc = h_run(a, NULL, 0, &o, &e);
		assert_int_equal(rc, 0);
		assert_non_null(strstr(o.data, ": 0 ")); /* nothing left to seed */
		buf_release(&o);
		buf_release(&e);
	}
	{
		const char *a[] = {"notices", HI.dir, "remind", "--overdue", NULL};
		json_t *j;
		rc = h_run(a, NULL, 0, &o, &e);
		assert_int_equal(rc, 0);
		j = json_loads(o.data, 0, NULL);
		assert_non_null(j);
		assert_int_equal(
		    json_integer_value(json_object_get(json_object_get(j, "by_dept"), "P-D2")), 2);
		json_decref(j);
		buf_release(&o);
		buf_release(&e);
	}
	{
		const char *a[] = {"training", HI.dir, "overdue", "--dept", "P-D2", "--csv", NULL};
		rc = h_run(a, NULL, 0, &o, &e);
		assert_int_equal(rc, 0);
		assert_non_null(strstr(o.data, "\"P-S2\""));
		buf_release(&o);
		buf_release(&e);
	}
	{
		const char *a[] = {"training", HI.dir, "overdue", "--date", "nonsense", NULL};
		rc = h_run(a, NULL, 0, &o, &e);
		assert_int_equal(rc, 2);
		buf_release(&o);
		buf_release(&e);
	}
	{
		/* A bad completions file: exit 1, the error names file:line. */
		char path[700];
		const char *slash = strrchr(HI.dir, '/');
		snprintf(path, sizeof(path), "%.*s/bad.csv", slash ? (int)(slash - HI.dir) : 0,
			 HI.dir);
		assert_int_equal(
		    write_file(path, "staff_id,course,completed\nP-S1,SEC-ANNUAL,tomorrow\n"), 0);
		{
			const char *a[] = {"training", HI.dir, "import", path, NULL};
			rc = h_run(a, NULL, 0, &o, &e);
			assert_int_equal(rc, 1);
			assert_non_null(strstr(e.data, "bad.csv:2"));
			assert_non_null(strstr(e.data, "completed"));
			buf_release(&o);
			buf_release(&e);
		}
	}
	{
		const char *a[] = {"notices", HI.dir, "ack", notice_id, "P-C1", NULL};
		rc = h_run(a, NULL, 0, &o, &e);
		assert_int_equal(rc, 0);
		assert_non_null(strstr(o.data, "NA-"));
		buf_release(&o);
		buf_release(&e);
	}
	{
		const char *a[] = {"contracts", HI.dir, "attention", "--days", "30", NULL};
		rc = h_run(a, NULL, 0, &o, &e);
		assert_int_equal(rc, 0);
		assert_non_null(strstr(o.data, "\"ending\""));
		buf_release(&o);
		buf_release(&e);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_soa),
	    cmocka_unit_test(test_training_changes_decisions),
	    cmocka_unit_test(test_overdue_by_department),
	    cmocka_unit_test(test_notices),
	    cmocka_unit_test(test_contracts),
	    cmocka_unit_test(test_cli),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
