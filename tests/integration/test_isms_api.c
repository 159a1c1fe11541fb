/*
 * Integration tests of the ISMS routes (docs/isms.md): the real `mamori
 * serve` on 127.0.0.1 in a temporary instance, driven over HTTP with keys
 * of each role, proving the permissions (a department manager sees and
 * edits only their department, an auditor reads but never writes), the
 * problem documents of bad input, CSV export and all-or-nothing import,
 * document approval and the public policy page, who holds which role,
 * asset handling rules and the risk heat map; and the same records
 * through `mamori isms` on the command line.
 *
 * The instance holds the generated municipality plus two hand-written
 * departments I-D1 and I-D2 and staff I-S1, I-S2, so that every answer
 * below is known in advance.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "base/base.h"
#include "base/buf.h"
#include "integration/harness.h"

static struct h_instance HI;
static char k_admin[128], k_ciso[128], k_auditor[128], k_mgr1[128], k_mgr2[128], k_system[128];

static const char *I_DEPARTMENTS =
    "{\"id\":\"I-D1\",\"name\":\"情報政策課\",\"parent\":null,\"systems\":[]}\n"
    "{\"id\":\"I-D2\",\"name\":\"市民課\",\"parent\":null,\"systems\":[]}\n";
static const char *I_STAFF =
    "{\"id\":\"I-S1\",\"name\":\"副市長 一\",\"surname\":\"副市長\",\"dept\":\"I-D1\","
    "\"employment\":\"regular\",\"roles\":[\"clerk\"],\"zones\":[\"lgwan\"],"
    "\"start\":\"2020-04-01\",\"end\":null,\"training\":\"2026-01-10\",\"pledge\":\"2020-04-01\"}\n"
    "{\"id\":\"I-S2\",\"name\":\"情報 二郎\",\"surname\":\"情報\",\"dept\":\"I-D2\","
    "\"employment\":\"regular\",\"roles\":[\"clerk\"],\"zones\":[\"lgwan\"],"
    "\"start\":\"2020-04-01\",\"end\":null,\"training\":\"2026-01-10\",\"pledge\":\"2020-04-01\"}"
    "\n";

/* ---- fixtures ---- */

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f) == 0 ? 0 : -1;
}

static int make_key(const char *name, const char *role, const char *dept, char *out, size_t len)
{
	const char *a[] = {"apikey", "create", HI.dir, name, "--role", role, dept ? "--dept" : NULL,
			   dept,     NULL};
	struct buf o, e;
	int rc = h_run(a, NULL, 0, &o, &e);
	size_t n = o.data ? strcspn(o.data, "\n") : 0;

	if (rc != 0 || !o.data || strncmp(o.data, "mk_", 3) != 0 || n >= len) {
		fprintf(stderr, "apikey create %s: %d %s %s\n", name, rc, o.data ? o.data : "",
			e.data ? e.data : "");
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
	char dd[600], p[700];
	const char *slash;

	if (h_instance_new(&HI, 500, 30, 1000) < 0)
		return -1;
	slash = strrchr(HI.dir, '/');
	snprintf(dd, sizeof(dd), "%.*s/idata", slash ? (int)(slash - HI.dir) : 0, HI.dir);
	if (mkdir(dd, 0700) < 0)
		return -1;
	snprintf(p, sizeof(p), "%s/departments.jsonl", dd);
	if (write_file(p, I_DEPARTMENTS) < 0)
		return -1;
	snprintf(p, sizeof(p), "%s/staff.jsonl", dd);
	if (write_file(p, I_STAFF) < 0)
		return -1;
	{
		const char *a[] = {"import", HI.dir, dd, "--quiet", NULL};
		struct buf o, e;
		int rc = h_run(a, NULL, 0, &o, &e);
		if (rc != 0)
			fprintf(stderr, "import: %d %s %s\n", rc, o.data ? o.data : "",
				e.data ? e.data : "");
		buf_release(&o);
		buf_release(&e);
		if (rc != 0)
			return -1;
	}
	if (make_key("i-admin", "admin", NULL, k_admin, sizeof(k_admin)) < 0 ||
	    make_key("i-ciso", "ciso", NULL, k_ciso, sizeof(k_ciso)) < 0 ||
	    make_key("i-auditor", "auditor", NULL, k_auditor, sizeof(k_auditor)) < 0 ||
	    make_key("i-mgr1", "dept_manager", "I-D1", k_mgr1, sizeof(k_mgr1)) < 0 ||
	    make_key("i-mgr2", "dept_manager", "I-D2", k_mgr2, sizeof(k_mgr2)) < 0 ||
	    make_key("i-system", "system", NULL, k_system, sizeof(k_system)) < 0)
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

/* One request with key (NULL: none), a body of content type ctype. */
static void req(const char *key, const char *method, const char *path, const char *ctype,
		const char *body, const char *extra, struct h_resp *r)
{
	char hdr[1024];
	int n = snprintf(hdr, sizeof(hdr), "Accept-Language: en\r\n%s%s%s%s%s%s%s",
			 key ? "Authorization: Bearer " : "", key ? key : "", key ? "\r\n" : "",
			 ctype ? "Content-Type: " : "", ctype ? ctype : "", ctype ? "\r\n" : "",
			 extra ? extra : "");
	assert_true(n > 0 && (size_t)n < sizeof(hdr));
	assert_int_equal(h_http(HI.port, method, path, hdr, body, body ? strlen(body) : 0, r), 0);
}

static json_t *body_json(const struct h_resp *r)
{
	json_error_t e;
	json_t *j = json_loadb(r->body.data ? r->body.data : "", r->body.len, 0, &e);
	if (!j)
		fprintf(stderr, "not JSON (%s): %.300s\n", e.text,
			r->body.data ? r->body.data : "");
	assert_non_null(j);
	return j;
}

static void expect_status(const struct h_resp *r, int status)
{
	if (r->status != status)
		fprintf(stderr, "expected %d, got %d: %.500s\n", status, r->status,
			r->body.data ? r->body.data : "");
	assert_int_equal(r->status, status);
}

/* A JSON request expecting status; returns the parsed body. */
static json_t *call(const char *key, const char *method, const char *path, const char *body,
		    int status)
{
	struct h_resp r;
	json_t *j;

	req(key, method, path, body ? "application/json" : NULL, body, NULL, &r);
	expect_status(&r, status);
	j = body_json(&r);
	h_resp_release(&r);
	return j;
}

/* Create a record as key; returns its id in id. */
static void create(const char *key, const char *kind, const char *body, char id[32])
{
	char path[128];
	json_t *j;

	snprintf(path, sizeof(path), "/v1/isms/%s", kind);
	j = call(key, "POST", path, body, 201);
	assert_int_equal(json_integer_value(json_object_get(j, "version")), 1);
	snprintf(id, 32, "%s", json_string_value(json_object_get(j, "id")));
	json_decref(j);
}

/* True if the problem j lists an error for field. */
static bool names_field(json_t *j, const char *field)
{
	size_t i;
	json_t *e;

	json_array_foreach(json_object_get(j, "errors"), i, e)
	{
		if (json_is_string(json_object_get(e, "field")) &&
		    !strcmp(json_string_value(json_object_get(e, "field")), field))
			return true;
	}
	return false;
}

static int64_t total_of(const char *key, const char *path)
{
	json_t *j = call(key, "GET", path, NULL, 200);
	int64_t n = json_integer_value(json_object_get(j, "total"));
	json_decref(j);
	return n;
}

static bool list_has(json_t *list, const char *id)
{
	size_t i;
	json_t *it;

	json_array_foreach(json_object_get(list, "items"), i, it)
	{
		if (!strcmp(json_string_value(json_object_get(it, "_id")), id))
			return true;
	}
	return false;
}

#define ASSET(name, dept)                                                                          \
	"{\"name\":\"" name                                                                        \
	"\",\"type\":\"dataset\",\"confidentiality\":\"2\",\"integrity\":\"1\","                   \
	"\"availability\":\"1\"" dept "}"

/* ---- tests ---- */

static void test_kinds_and_roles(void **state)
{
	struct h_resp r;
	json_t *j;
	bool assets = false, risks = false;
	size_t i;
	json_t *k;

	(void)state;
	j = call(k_auditor, "GET", "/v1/isms", NULL, 200);
	json_array_foreach(j, i, k)
	{
		assets |= !strcmp(json_string_value(json_object_get(k, "name")), "assets");
		risks |= !strcmp(json_string_value(json_object_get(k, "name")), "risks");
	}
	assert_true(assets && risks);
	json_decref(j);
	/* A business system's key has nothing to do here; no key is 401. */
	req(k_system, "GET", "/v1/isms/assets", NULL, NULL, NULL, &r);
	expect_status(&r, 403);
	h_resp_release(&r);
	req(NULL, "GET", "/v1/isms/assets", NULL, NULL, NULL, &r);
	expect_status(&r, 401);
	h_resp_release(&r);
	req(k_admin, "GET", "/v1/isms/no_such_kind", NULL, NULL, NULL, &r);
	expect_status(&r, 404);
	h_resp_release(&r);
}

static void test_dept_manager_sees_and_edits_own_department(void **state)
{
	char a1[32], a2[32], org[32], mine[32], path[128];
	json_t *j;
	struct h_resp r;

	(void)state;
	create(k_admin, "assets", ASSET("課の台帳1", ",\"dept\":\"I-D1\""), a1);
	create(k_admin, "assets", ASSET("課の台帳2", ",\"dept\":\"I-D2\""), a2);
	create(k_admin, "assets", ASSET("全庁の台帳", ""), org);

	/* Reading: own department and organisation-wide only. */
	j = call(k_mgr1, "GET", "/v1/isms/assets?per_page=500", NULL, 200);
	assert_true(list_has(j, a1));
	assert_true(list_has(j, org));
	assert_false(list_has(j, a2));
	json_decref(j);
	j = call(k_mgr2, "GET", "/v1/isms/assets?per_page=500", NULL, 200);
	assert_true(list_has(j, a2));
	assert_false(list_has(j, a1));
	json_decref(j);
	snprintf(path, sizeof(path), "/v1/isms/assets/%s", a2);
	json_decref(call(k_mgr1, "GET", path, NULL, 404));
	snprintf(path, sizeof(path), "/v1/isms/assets/%s/history", a2);
	json_decref(call(k_mgr1, "GET", path, NULL, 404));
	snprintf(path, sizeof(path), "/v1/isms/assets/%s/handling", a2);
	json_decref(call(k_mgr1, "GET", path, NULL, 404));

	/* Writing: own department only. */
	snprintf(path, sizeof(path), "/v1/isms/assets/%s", a1);
	j = call(k_mgr1, "PATCH", path, "{\"location\":\"本庁舎3階\"}", 200);
	assert_string_equal(json_string_value(json_object_get(j, "location")), "本庁舎3階");
	assert_int_equal(json_integer_value(json_object_get(j, "_version")), 2);
	assert_string_equal(json_string_value(json_object_get(j, "_updated_by")), "i-mgr1");
	json_decref(j);
	j = call(k_mgr1, "PATCH", path, "{\"dept\":\"I-D2\"}", 403);
	assert_non_null(strstr(json_string_value(json_object_get(j, "detail")), "dept_manager"));
	assert_non_null(strstr(json_string_value(json_object_get(j, "detail")), "I-D2"));
	json_decref(j);
	snprintf(path, sizeof(path), "/v1/isms/assets/%s", a2);
	json_decref(call(k_mgr1, "PATCH", path, "{\"location\":\"x\"}", 404));
	snprintf(path, sizeof(path), "/v1/isms/assets/%s", org);
	j = call(k_mgr1, "PATCH", path, "{\"location\":\"x\"}", 403);
	assert_non_null(strstr(json_string_value(json_object_get(j, "detail")), "dept_manager"));
	json_decref(j);
	j = call(k_mgr1, "POST", "/v1/isms/assets", ASSET("他課", ",\"dept\":\"I-D2\""), 403);
	assert_true(names_field(j, "dept"));
	json_decref(j);
	json_decref(call(k_mgr1, "POST", "/v1/isms/assets", ASSET("全庁", ""), 403));
	create(k_mgr1, "assets", ASSET("自課", ",\"dept\":\"I-D1\""), mine);
	snprintf(path, sizeof(path), "/v1/isms/assets/%s/retire", a2);
	json_decref(call(k_mgr1, "POST", path, "{\"reason\":\"x\"}", 404));
	snprintf(path, sizeof(path), "/v1/isms/assets/%s/retire", mine);
	j = call(k_mgr1, "POST", path, "{\"reason\":\"登録誤り\"}", 200);
	assert_string_equal(json_string_value(json_object_get(j, "_status")), "retired");
	json_decref(j);

	/* The other department's record is as it was. */
	snprintf(path, sizeof(path), "/v1/isms/assets/%s", a2);
	j = call(k_admin, "GET", path, NULL, 200);
	assert_int_equal(json_integer_value(json_object_get(j, "_version")), 1);
	assert_null(json_object_get(j, "location"));
	json_decref(j);
	/* A department manager's CSV export holds only what they may read. */
	req(k_mgr1, "GET", "/v1/isms/assets?format=csv", NULL, NULL, NULL, &r);
	expect_status(&r, 200);
	assert_non_null(strstr(r.body.data, a1));
	assert_null(strstr(r.body.data, a2));
	h_resp_release(&r);
}

static void test_auditor_reads_never_writes(void **state)
{
	char a[32], path[128];
	struct h_resp r;
	json_t *j;
	int64_t before;

	(void)state;
	create(k_admin, "assets", ASSET("監査対象", ",\"dept\":\"I-D2\""), a);
	before = total_of(k_auditor, "/v1/isms/assets");
	assert_true(before >= 1);
	snprintf(path, sizeof(path), "/v1/isms/assets/%s", a);
	json_decref(call(k_auditor, "GET", path, NULL, 200));
	snprintf(path, sizeof(path), "/v1/isms/assets/%s/history", a);
	j = call(k_auditor, "GET", path, NULL, 200);
	assert_int_equal(json_array_size(json_object_get(j, "history")), 1);
	json_decref(j);

	j = call(k_auditor, "POST", "/v1/isms/assets", ASSET("x", ""), 403);
	assert_string_equal(json_string_value(json_object_get(j, "code")), "forbidden");
	assert_non_null(strstr(json_string_value(json_object_get(j, "detail")), "auditor"));
	json_decref(j);
	snprintf(path, sizeof(path), "/v1/isms/assets/%s", a);
	json_decref(call(k_auditor, "PATCH", path, "{\"name\":\"y\"}", 403));
	snprintf(path, sizeof(path), "/v1/isms/assets/%s/retire", a);
	json_decref(call(k_auditor, "POST", path, "{\"reason\":\"z\"}", 403));
	req(k_auditor, "POST", "/v1/isms/assets/import", "text/csv",
	    "name,type,confidentiality,integrity,availability\nq,dataset,1,1,1\n", NULL, &r);
	expect_status(&r, 403);
	h_resp_release(&r);
	json_decref(call(k_auditor, "POST", "/v1/isms/role_assignments",
			 "{\"role\":\"csirt_member\",\"staff\":\"I-S2\",\"from\":\"2026-04-01\"}",
			 403));
	/* Nothing changed. */
	assert_int_equal(total_of(k_auditor, "/v1/isms/assets"), before);
	snprintf(path, sizeof(path), "/v1/isms/assets/%s", a);
	j = call(k_auditor, "GET", path, NULL, 200);
	assert_int_equal(json_integer_value(json_object_get(j, "_version")), 1);
	assert_string_equal(json_string_value(json_object_get(j, "name")), "監査対象");
	json_decref(j);
}

static void test_bad_input_problems(void **state)
{
	char a[32], path[128];
	struct h_resp r;
	json_t *j;

	(void)state;
	j = call(
	    k_admin, "POST", "/v1/isms/assets",
	    "{\"name\":\"\",\"type\":\"printer\",\"confidentiality\":\"4\",\"integrity\":\"2\","
	    "\"availability\":\"2\",\"dept\":\"NO-SUCH\",\"encrypted\":\"yes\",\"colour\":1}",
	    400);
	assert_string_equal(json_string_value(json_object_get(j, "code")), "invalid");
	assert_true(names_field(j, "name"));
	assert_true(names_field(j, "type"));
	assert_true(names_field(j, "confidentiality"));
	assert_true(names_field(j, "dept"));
	assert_true(names_field(j, "encrypted"));
	assert_true(names_field(j, "colour"));
	assert_false(names_field(j, "integrity"));
	json_decref(j);
	/* Cross-field: removable media must say whether they are encrypted. */
	j = call(k_admin, "POST", "/v1/isms/assets",
		 "{\"name\":\"USB-01\",\"type\":\"removable_media\",\"confidentiality\":\"3B\","
		 "\"integrity\":\"1\",\"availability\":\"1\",\"issued_to\":\"I-S1\"}",
		 400);
	assert_true(names_field(j, "encrypted"));
	json_decref(j);
	json_decref(call(k_admin, "POST", "/v1/isms/assets", "[1,2]", 400));
	json_decref(call(k_admin, "POST", "/v1/isms/assets", "{\"name\":", 400));
	req(k_admin, "POST", "/v1/isms/assets", "text/plain", "{}", NULL, &r);
	expect_status(&r, 415);
	h_resp_release(&r);

	create(
	    k_admin, "assets",
	    "{\"name\":\"USB-02\",\"type\":\"removable_media\",\"confidentiality\":\"3B\","
	    "\"integrity\":\"1\",\"availability\":\"1\",\"issued_to\":\"I-S1\",\"encrypted\":true,"
	    "\"last_inventory\":\"2026-01-15\",\"dept\":\"I-D1\"}",
	    a);
	snprintf(path, sizeof(path), "/v1/isms/assets/%s", a);
	/* If-Match: the current version works once, then it is stale. */
	req(k_admin, "PATCH", path, "application/json", "{\"location\":\"金庫\"}",
	    "If-Match: \"1\"\r\n", &r);
	expect_status(&r, 200);
	h_resp_release(&r);
	req(k_admin, "PATCH", path, "application/json", "{\"location\":\"棚\"}",
	    "If-Match: \"1\"\r\n", &r);
	expect_status(&r, 409);
	j = body_json(&r);
	assert_string_equal(json_string_value(json_object_get(j, "code")), "conflict");
	json_decref(j);
	h_resp_release(&r);
	req(k_admin, "PATCH", path, "application/json", "{\"location\":\"棚\"}",
	    "If-Match: abc\r\n", &r);
	expect_status(&r, 400);
	h_resp_release(&r);
	req(k_admin, "GET", path, NULL, NULL, NULL, &r);
	expect_status(&r, 200);
	{
		char etag[32];
		assert_int_equal(h_resp_header(&r, "ETag", etag, sizeof(etag)), 0);
		assert_string_equal(etag, "\"2\"");
	}
	h_resp_release(&r);
	json_decref(call(k_admin, "GET", "/v1/isms/assets?sort=nope", NULL, 400));
	json_decref(call(k_admin, "GET", "/v1/isms/assets?per_page=501", NULL, 400));
	json_decref(call(k_admin, "GET", "/v1/isms/assets?page=0", NULL, 400));
	json_decref(call(k_admin, "GET", "/v1/isms/assets/AS-999999", NULL, 404));
	snprintf(path, sizeof(path), "/v1/isms/assets/%s/retire", a);
	json_decref(call(k_admin, "POST", path, "{}", 400));

	/* The handling rules of confidentiality 3B. */
	snprintf(path, sizeof(path), "/v1/isms/assets/%s/handling", a);
	j = call(k_auditor, "GET", path, NULL, 200);
	{
		size_t i;
		json_t *h;
		bool transit = false, backup = false;
		json_array_foreach(json_object_get(j, "handling"), i, h)
		{
			transit |= !strcmp(json_string_value(json_object_get(h, "rule")),
					   "encrypt_in_transit");
			backup |= !strcmp(json_string_value(json_object_get(h, "rule")), "backup");
		}
		assert_true(transit);
		assert_false(backup); /* integrity and availability 1 */
	}
	json_decref(j);
}

static void test_list_filters_and_paging(void **state)
{
	char id[32];
	json_t *j;

	(void)state;
	for (int i = 0; i < 7; i++) {
		char body[256];
		snprintf(body, sizeof(body),
			 "{\"name\":\"ページ%d\",\"type\":\"network\",\"zone\":\"%s\","
			 "\"confidentiality\":\"2\",\"integrity\":\"1\",\"availability\":\"1\"}",
			 i, i % 2 ? "lgwan" : "internet");
		create(k_admin, "assets", body, id);
	}
	assert_int_equal(total_of(k_admin, "/v1/isms/assets?type=network"), 7);
	assert_int_equal(total_of(k_admin, "/v1/isms/assets?type=network&zone=lgwan"), 3);
	assert_int_equal(total_of(k_admin, "/v1/isms/assets?q=%E3%83%9A%E3%83%BC%E3%82%B8"), 7);
	/* Ranges over dates: inventories up to a day. */
	{
		char body[320];
		for (int i = 1; i <= 3; i++) {
			snprintf(body, sizeof(body),
				 "{\"name\":\"媒体%d\",\"type\":\"removable_media\","
				 "\"confidentiality\":\"2\","
				 "\"integrity\":\"1\",\"availability\":\"1\",\"encrypted\":true,"
				 "\"last_inventory\":\"2025-0%d-01\"}",
				 i, i);
			create(k_admin, "assets", body, id);
		}
	}
	assert_int_equal(total_of(k_admin, "/v1/isms/assets?last_inventory.max=2025-02-01"), 2);
	assert_int_equal(
	    total_of(k_admin,
		     "/v1/isms/assets?last_inventory.min=2025-02-01&last_inventory.max=2025-12-31"),
	    2);
	json_decref(call(k_admin, "GET", "/v1/isms/assets?last_inventory.max=someday", NULL, 400));
	j = call(k_admin, "GET", "/v1/isms/assets?type=network&sort=name&desc=1&per_page=3&page=2",
		 NULL, 200);
	assert_int_equal(json_integer_value(json_object_get(j, "total")), 7);
	assert_int_equal(json_array_size(json_object_get(j, "items")), 3);
	assert_string_equal(json_string_value(json_object_get(
				json_array_get(json_object_get(j, "items"), 0), "name")),
			    "ページ3");
	json_decref(j);
}

static void test_csv_export_import(void **state)
{
	struct h_resp r, r2;
	struct buf changed;
	json_t *j;
	char *p;
	int64_t before;

	(void)state;
	req(k_admin, "POST", "/v1/isms/risks/import", "text/csv",
	    "title,asset,threat,likelihood,impact\n", NULL, &r);
	expect_status(&r, 200);
	h_resp_release(&r);
	{
		char a[32];
		create(k_admin, "assets", ASSET("CSV資産", ",\"dept\":\"I-D2\""), a);
		char csv[512];
		snprintf(csv, sizeof(csv),
			 "title,asset,threat,likelihood,impact,controls\r\n"
			 "\"誤送付, 誤操作\",%s,misoperation,4,3,A.5.12;A.8.12\r\n"
			 "停電,%s,power_outage,2,5,\r\n",
			 a, a);
		req(k_admin, "POST", "/v1/isms/risks/import", "text/csv", csv, NULL, &r);
		expect_status(&r, 200);
		j = body_json(&r);
		assert_int_equal(json_integer_value(json_object_get(j, "count")), 2);
		json_decref(j);
		h_resp_release(&r);
	}
	req(k_auditor, "GET", "/v1/isms/risks?format=csv", NULL, NULL, NULL, &r);
	expect_status(&r, 200);
	{
		char ct[64], cd[128];
		assert_int_equal(h_resp_header(&r, "Content-Type", ct, sizeof(ct)), 0);
		assert_non_null(strstr(ct, "text/csv"));
		assert_int_equal(h_resp_header(&r, "Content-Disposition", cd, sizeof(cd)), 0);
		assert_non_null(strstr(cd, "risks.csv"));
	}
	assert_non_null(strstr(r.body.data, "\"誤送付, 誤操作\""));
	assert_non_null(strstr(r.body.data, "A.5.12;A.8.12"));
	/* The score was derived: 4 x 3. */
	assert_non_null(strstr(r.body.data, ",4,3,12,"));
	/* Round trip: change one cell, import, export: the same text. */
	p = strstr(r.body.data, "停電");
	assert_non_null(p);
	buf_init(&changed, 1 << 20);
	assert_int_equal(buf_append(&changed, r.body.data, (size_t)(p - r.body.data)), 0);
	assert_int_equal(buf_puts(&changed, "大規模停電"), 0);
	assert_int_equal(buf_puts(&changed, p + strlen("停電")), 0);
	req(k_admin, "POST", "/v1/isms/risks/import", "text/csv", changed.data, NULL, &r2);
	expect_status(&r2, 200);
	h_resp_release(&r2);
	req(k_admin, "GET", "/v1/isms/risks?format=csv", NULL, NULL, NULL, &r2);
	expect_status(&r2, 200);
	assert_string_equal(r2.body.data, changed.data);
	h_resp_release(&r2);
	h_resp_release(&r);
	buf_release(&changed);

	/* All or nothing: one bad row refuses the file, naming line and field. */
	before = total_of(k_admin, "/v1/isms/risks");
	req(k_admin, "POST", "/v1/isms/risks/import", "text/csv",
	    "title,asset,threat,likelihood,impact\n"
	    "ok,AS-000001,fire,1,1\n"
	    "bad,AS-000001,meteor,9,1\n",
	    NULL, &r);
	expect_status(&r, 400);
	j = body_json(&r);
	{
		size_t i;
		json_t *e;
		bool threat = false, likelihood = false;
		json_array_foreach(json_object_get(j, "errors"), i, e)
		{
			const char *f = json_string_value(json_object_get(e, "field"));
			assert_int_equal(json_integer_value(json_object_get(e, "line")), 3);
			threat |= f && !strcmp(f, "threat");
			likelihood |= f && !strcmp(f, "likelihood");
		}
		assert_true(threat && likelihood);
		assert_non_null(
		    strstr(json_string_value(json_object_get(j, "detail")), "risks.csv:3"));
	}
	json_decref(j);
	h_resp_release(&r);
	assert_int_equal(total_of(k_admin, "/v1/isms/risks"), before);
	/* A department manager's import of another department's row: 403, nothing written. */
	req(k_mgr1, "POST", "/v1/isms/assets/import", "text/csv",
	    "name,type,confidentiality,integrity,availability,dept\n"
	    "mine,dataset,1,1,1,I-D1\n"
	    "theirs,dataset,1,1,1,I-D2\n",
	    NULL, &r);
	expect_status(&r, 403);
	j = body_json(&r);
	assert_true(names_field(j, "dept"));
	json_decref(j);
	h_resp_release(&r);
	assert_int_equal(total_of(k_admin, "/v1/isms/assets?name=mine"), 0);
}

static void test_documents_approval_and_public_page(void **state)
{
	char doc[32], v1[32], v2[32], internal[32], iv[32], proc[32], pv[32], path[160], body[512];
	struct h_resp r;
	json_t *j;

	(void)state;
	create(k_admin, "documents",
	       "{\"title\":\"情報セキュリティ基本方針 "
	       "<script>alert(1)</script>\",\"layer\":\"basic_policy\","
	       "\"publication\":\"public\",\"review_cycle_months\":12}",
	       doc);
	snprintf(body, sizeof(body),
		 "{\"document\":\"%s\",\"version_label\":\"第1版\","
		 "\"text\":\"# 目的\\n本市の情報資産を守る。\\n\\n- 機密性\\n- 完全性 & 可用性\"}",
		 doc);
	create(k_admin, "document_versions", body, v1);
	/* Only approval sets the status. */
	snprintf(path, sizeof(path), "/v1/isms/document_versions/%s", v1);
	j = call(k_admin, "PATCH", path, "{\"status\":\"approved\"}", 400);
	assert_true(names_field(j, "status"));
	json_decref(j);
	/* An admin may not approve the basic policy; the CISO may. */
	snprintf(path, sizeof(path), "/v1/isms/document_versions/%s/approve", v1);
	j = call(k_admin, "POST", path, NULL, 403);
	assert_non_null(strstr(json_string_value(json_object_get(j, "detail")), "CISO"));
	json_decref(j);
	json_decref(call(k_auditor, "POST", path, NULL, 403));
	/* Not public while not approved. */
	j = call(NULL, "GET", "/v1/public/policy", NULL, 200);
	assert_int_equal(json_array_size(json_object_get(j, "documents")), 0);
	json_decref(j);
	j = call(k_ciso, "POST", path, NULL, 200);
	assert_string_equal(json_string_value(json_object_get(j, "status")), "approved");
	assert_string_equal(json_string_value(json_object_get(j, "approved_by")), "i-ciso");
	assert_non_null(json_object_get(j, "review_due"));
	json_decref(j);
	json_decref(call(k_ciso, "POST", path, NULL, 409)); /* no longer a draft */
	/* An approved version is never edited again. */
	snprintf(path, sizeof(path), "/v1/isms/document_versions/%s", v1);
	j = call(k_admin, "PATCH", path, "{\"text\":\"changed\"}", 400);
	assert_true(names_field(j, "text"));
	json_decref(j);

	/* An internal document is never public. */
	create(k_admin, "documents",
	       "{\"title\":\"対策基準\",\"layer\":\"standard\",\"publication\":\"internal\"}",
	       internal);
	snprintf(body, sizeof(body),
		 "{\"document\":\"%s\",\"version_label\":\"1\",\"text\":\"非公開\"}", internal);
	create(k_admin, "document_versions", body, iv);
	snprintf(path, sizeof(path), "/v1/isms/document_versions/%s/approve", iv);
	json_decref(call(k_ciso, "POST", path, NULL, 200));

	/* A department's procedure implementing the standard: the manager
	 * drafts it, an admin may approve it. */
	snprintf(body, sizeof(body),
		 "{\"title\":\"市民課 実施手順\",\"layer\":\"procedure\",\"dept\":\"I-D1\","
		 "\"implements\":[\"%s\"],\"publication\":\"restricted\"}",
		 internal);
	create(k_admin, "documents", body, proc);
	snprintf(body, sizeof(body),
		 "{\"document\":\"%s\",\"version_label\":\"1\",\"text\":\"手順\"}", proc);
	create(k_mgr1, "document_versions", body, pv);
	/* Another department's procedure does not exist for its manager. */
	j = call(k_mgr2, "POST", "/v1/isms/document_versions", body, 400);
	assert_true(names_field(j, "document"));
	json_decref(j);
	snprintf(path, sizeof(path), "/v1/isms/document_versions/%s/approve", pv);
	json_decref(call(k_mgr1, "POST", path, NULL, 403));
	json_decref(call(k_admin, "POST", path, NULL, 200));
	/* A procedure implements standards only. */
	snprintf(
	    body, sizeof(body),
	    "{\"title\":\"誤り\",\"layer\":\"procedure\",\"dept\":\"I-D1\",\"implements\":[\"%s\"],"
	    "\"publication\":\"internal\"}",
	    doc);
	j = call(k_admin, "POST", "/v1/isms/documents", body, 400);
	assert_true(names_field(j, "implements"));
	json_decref(j);

	/* The public JSON: the basic policy only. */
	j = call(NULL, "GET", "/v1/public/policy", NULL, 200);
	assert_int_equal(json_array_size(json_object_get(j, "documents")), 1);
	assert_string_equal(json_string_value(json_object_get(
				json_array_get(json_object_get(j, "documents"), 0), "id")),
			    doc);
	json_decref(j);
	/* The HTML page, escaped, with no external resources. */
	req(NULL, "GET", "/v1/public/policy", NULL, NULL,
	    "Accept: text/html,application/xhtml+xml,*/*;q=0.8\r\n", &r);
	expect_status(&r, 200);
	{
		char ct[64], csp[256];
		assert_int_equal(h_resp_header(&r, "Content-Type", ct, sizeof(ct)), 0);
		assert_non_null(strstr(ct, "text/html"));
		assert_int_equal(h_resp_header(&r, "Content-Security-Policy", csp, sizeof(csp)), 0);
		assert_non_null(strstr(csp, "default-src 'none'"));
	}
	assert_non_null(strstr(r.body.data, "<html lang=\"ja\">"));
	assert_non_null(strstr(r.body.data, "&lt;script&gt;alert(1)&lt;/script&gt;"));
	assert_null(strstr(r.body.data, "<script"));
	assert_non_null(strstr(r.body.data, "<h3>目的</h3>"));
	assert_non_null(strstr(r.body.data, "<li>完全性 &amp; 可用性</li>"));
	assert_null(strstr(r.body.data, "非公開"));
	assert_null(strstr(r.body.data, "http://"));
	assert_null(strstr(r.body.data, "https://"));
	h_resp_release(&r);
	req(NULL, "GET", "/v1/public/policy", NULL, NULL, "Accept: application/json\r\n", &r);
	expect_status(&r, 200);
	json_decref(body_json(&r));
	h_resp_release(&r);

	/* A second version supersedes the first. */
	snprintf(body, sizeof(body),
		 "{\"document\":\"%s\",\"version_label\":\"第2版\",\"text\":\"改定\"}", doc);
	create(k_admin, "document_versions", body, v2);
	snprintf(path, sizeof(path), "/v1/isms/document_versions/%s/approve", v2);
	json_decref(call(k_ciso, "POST", path, NULL, 200));
	snprintf(path, sizeof(path), "/v1/isms/document_versions/%s", v1);
	j = call(k_auditor, "GET", path, NULL, 200);
	assert_string_equal(json_string_value(json_object_get(j, "status")), "superseded");
	json_decref(j);
	snprintf(path, sizeof(path), "/v1/isms/documents/%s", doc);
	j = call(k_auditor, "GET", path, NULL, 200);
	assert_string_equal(json_string_value(json_object_get(j, "current_version")), v2);
	json_decref(j);
	snprintf(path, sizeof(path), "/v1/isms/document_versions/%s/history", v1);
	j = call(k_auditor, "GET", path, NULL, 200);
	assert_int_equal(json_array_size(json_object_get(j, "history")), 3);
	assert_string_equal(json_string_value(json_object_get(
				json_array_get(json_object_get(j, "history"), 2), "op")),
			    "supersede");
	json_decref(j);
	j = call(NULL, "GET", "/v1/public/policy", NULL, 200);
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(json_object_get(j, "documents"), 0),
					      "version_label")),
	    "第2版");
	json_decref(j);
}

static void test_org_holders(void **state)
{
	char id[32];
	json_t *j, *h;
	size_t i;
	bool ciso = false;

	(void)state;
	create(k_admin, "role_assignments",
	       "{\"role\":\"ciso\",\"staff\":\"I-S1\",\"deputy\":\"I-S2\",\"from\":\"2026-04-01\","
	       "\"to\":\"2027-03-31\"}",
	       id);
	create(k_ciso, "role_assignments",
	       "{\"role\":\"security_manager\",\"staff\":\"I-S2\",\"dept\":\"I-D2\",\"from\":"
	       "\"2026-04-01\"}",
	       id);
	/* One CISO at a time; departmental roles name their department. */
	j = call(k_admin, "POST", "/v1/isms/role_assignments",
		 "{\"role\":\"ciso\",\"staff\":\"I-S2\",\"from\":\"2027-03-01\"}", 400);
	assert_true(names_field(j, "from"));
	json_decref(j);
	j = call(k_admin, "POST", "/v1/isms/role_assignments",
		 "{\"role\":\"security_officer\",\"staff\":\"I-S2\",\"from\":\"2026-04-01\","
		 "\"to\":\"2026-03-01\"}",
		 400);
	assert_true(names_field(j, "dept"));
	assert_true(names_field(j, "to"));
	json_decref(j);
	/* Assigning responsibility is for the CISO and the security office. */
	json_decref(call(k_mgr2, "POST", "/v1/isms/role_assignments",
			 "{\"role\":\"security_officer\",\"staff\":\"I-S2\",\"dept\":\"I-D2\","
			 "\"from\":\"2026-04-01\"}",
			 403));

	j = call(k_auditor, "GET", "/v1/isms/org/holders?date=2026-05-01", NULL, 200);
	json_array_foreach(json_object_get(j, "holders"), i, h)
	{
		if (!strcmp(json_string_value(json_object_get(h, "role")), "ciso")) {
			ciso = true;
			assert_string_equal(json_string_value(json_object_get(h, "staff")), "I-S1");
			assert_string_equal(json_string_value(json_object_get(h, "staff_name")),
					    "副市長 一");
			assert_string_equal(json_string_value(json_object_get(h, "deputy")),
					    "I-S2");
		}
	}
	assert_true(ciso);
	json_decref(j);
	j = call(k_auditor, "GET", "/v1/isms/org/holders?date=2026-03-31", NULL, 200);
	assert_int_equal(json_array_size(json_object_get(j, "holders")), 0);
	assert_string_equal(json_string_value(json_array_get(json_object_get(j, "vacant"), 0)),
			    "ciso");
	json_decref(j);
	j = call(k_auditor, "GET", "/v1/isms/org/holders?date=2027-04-01", NULL, 200);
	json_array_foreach(json_object_get(j, "holders"), i, h)
	    assert_string_not_equal(json_string_value(json_object_get(h, "role")), "ciso");
	json_decref(j);
	json_decref(call(k_auditor, "GET", "/v1/isms/org/holders?date=2026-02-30", NULL, 400));
}

static void test_risk_heatmap(void **state)
{
	char a1[32], a2[32], id[32], body[256];
	json_t *j, *inh, *res;
	int64_t before11, before_mgr;

	(void)state;
	j = call(k_admin, "GET", "/v1/isms/risks/heatmap", NULL, 200);
	before11 = json_integer_value(
	    json_array_get(json_array_get(json_object_get(j, "inherent"), 4), 4));
	json_decref(j);
	j = call(k_mgr1, "GET", "/v1/isms/risks/heatmap", NULL, 200);
	before_mgr = json_integer_value(json_object_get(j, "total"));
	json_decref(j);
	create(k_admin, "assets", ASSET("ヒート1", ",\"dept\":\"I-D1\""), a1);
	create(k_admin, "assets", ASSET("ヒート2", ",\"dept\":\"I-D2\""), a2);
	snprintf(body, sizeof(body),
		 "{\"title\":\"不正アクセス\",\"asset\":\"%s\",\"threat\":\"unauthorized_access\","
		 "\"likelihood\":5,\"impact\":5,\"treatment\":\"reduce\",\"residual_likelihood\":2,"
		 "\"residual_impact\":3}",
		 a1);
	create(k_admin, "risks", body, id);
	{
		char path[128];
		snprintf(path, sizeof(path), "/v1/isms/risks/%s", id);
		j = call(k_mgr1, "GET", path, NULL, 200);
		assert_int_equal(json_integer_value(json_object_get(j, "score")), 25);
		assert_int_equal(json_integer_value(json_object_get(j, "residual_score")), 6);
		assert_string_equal(json_string_value(json_object_get(j, "dept")), "I-D1");
		assert_string_equal(json_string_value(json_object_get(j, "threat_category")),
				    "intentional");
		json_decref(j);
	}
	snprintf(body, sizeof(body),
		 "{\"title\":\"地震\",\"asset\":\"%s\",\"threat\":\"earthquake\",\"likelihood\":5,"
		 "\"impact\":5}",
		 a2);
	create(k_admin, "risks", body, id);
	/* Residual risk above the inherent risk is refused. */
	snprintf(
	    body, sizeof(body),
	    "{\"title\":\"x\",\"asset\":\"%s\",\"threat\":\"fire\",\"likelihood\":1,\"impact\":2,"
	    "\"treatment\":\"accept\",\"residual_likelihood\":3,\"residual_impact\":3}",
	    a2);
	j = call(k_admin, "POST", "/v1/isms/risks", body, 400);
	assert_true(names_field(j, "residual_score"));
	json_decref(j);

	j = call(k_auditor, "GET", "/v1/isms/risks/heatmap", NULL, 200);
	inh = json_object_get(j, "inherent");
	res = json_object_get(j, "residual");
	assert_int_equal(json_integer_value(json_array_get(json_array_get(inh, 4), 4)),
			 before11 + 2);
	assert_true(json_integer_value(json_array_get(json_array_get(res, 2), 1)) >= 1);
	json_decref(j);
	/* The department manager's map counts their department's risks. */
	j = call(k_mgr1, "GET", "/v1/isms/risks/heatmap", NULL, 200);
	assert_int_equal(json_integer_value(json_object_get(j, "total")), before_mgr + 1);
	json_decref(j);
	j = call(k_auditor, "GET", "/v1/isms/threats", NULL, 200);
	assert_true(json_array_size(j) >= 15);
	json_decref(j);
}

/* Writers racing on one version: exactly one wins, the others get 409,
 * and the history has exactly two versions. */
struct racer {
	char path[128];
	int status;
};

static void *race(void *arg)
{
	struct racer *rc = arg;
	struct h_resp r;
	char hdr[512];

	snprintf(
	    hdr, sizeof(hdr),
	    "Authorization: Bearer %s\r\nContent-Type: application/json\r\nIf-Match: \"1\"\r\n",
	    k_admin);
	rc->status = h_http(HI.port, "PATCH", rc->path, hdr, "{\"location\":\"競争\"}",
			    strlen("{\"location\":\"競争\"}"), &r) == 0
			 ? r.status
			 : -1;
	if (rc->status != -1)
		h_resp_release(&r);
	return NULL;
}

static void test_if_match_race(void **state)
{
	enum { N = 8 };
	struct racer rc[N];
	pthread_t th[N];
	char id[32], path[128];
	int won = 0, lost = 0;
	json_t *j;

	(void)state;
	create(k_admin, "assets", ASSET("競争", ""), id);
	for (int i = 0; i < N; i++) {
		snprintf(rc[i].path, sizeof(rc[i].path), "/v1/isms/assets/%s", id);
		assert_int_equal(pthread_create(&th[i], NULL, race, &rc[i]), 0);
	}
	for (int i = 0; i < N; i++) {
		pthread_join(th[i], NULL);
		won += rc[i].status == 200;
		lost += rc[i].status == 409;
	}
	assert_int_equal(won, 1);
	assert_int_equal(lost, N - 1);
	snprintf(path, sizeof(path), "/v1/isms/assets/%s/history", id);
	j = call(k_auditor, "GET", path, NULL, 200);
	assert_int_equal(json_array_size(json_object_get(j, "history")), 2);
	json_decref(j);
}

static void test_cli(void **state)
{
	struct buf o, e;
	int rc;

	(void)state;
	{
		const char *a[] = {"isms", HI.dir, "assets", "create", "--json", "-", NULL};
		const char *in = ASSET("CLI資産", ",\"dept\":\"I-D1\"");
		rc = h_run(a, in, strlen(in), &o, &e);
		assert_int_equal(rc, 0);
		assert_int_equal(strncmp(o.data, "AS-", 3), 0);
		buf_release(&o);
		buf_release(&e);
	}
	{
		const char *a[] = {"isms",     HI.dir,	       "assets", "list",
				   "--filter", "name=CLI資産", "--json", NULL};
		rc = h_run(a, NULL, 0, &o, &e);
		assert_int_equal(rc, 0);
		assert_non_null(strstr(o.data, "\"total\": 1"));
		buf_release(&o);
		buf_release(&e);
	}
	{
		/* Bad input: exit 1 and the field named. */
		const char *a[] = {"isms", HI.dir, "assets", "create", "--json", "-", NULL};
		const char *in = "{\"name\":\"x\",\"type\":\"nope\"}";
		setenv("MAMORI_LANG", "en", 1);
		rc = h_run(a, in, strlen(in), &o, &e);
		assert_int_equal(rc, 1);
		assert_non_null(strstr(e.data, "type"));
		assert_non_null(strstr(e.data, "confidentiality"));
		buf_release(&o);
		buf_release(&e);
	}
	{
		const char *a[] = {"isms", HI.dir, "risks", "heatmap", NULL};
		rc = h_run(a, NULL, 0, &o, &e);
		assert_int_equal(rc, 0);
		assert_non_null(strstr(o.data, "likelihood"));
		buf_release(&o);
		buf_release(&e);
	}
	{
		const char *a[] = {"isms", HI.dir, "nothing", "list", NULL};
		rc = h_run(a, NULL, 0, &o, &e);
		assert_int_equal(rc, 2);
		buf_release(&o);
		buf_release(&e);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_kinds_and_roles),
	    cmocka_unit_test(test_dept_manager_sees_and_edits_own_department),
	    cmocka_unit_test(test_auditor_reads_never_writes),
	    cmocka_unit_test(test_bad_input_problems),
	    cmocka_unit_test(test_list_filters_and_paging),
	    cmocka_unit_test(test_csv_export_import),
	    cmocka_unit_test(test_documents_approval_and_public_page),
	    cmocka_unit_test(test_org_holders),
	    cmocka_unit_test(test_risk_heatmap),
	    cmocka_unit_test(test_if_match_race),
	    cmocka_unit_test(test_cli),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
