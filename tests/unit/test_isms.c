/* Unit tests for src/isms/: the ISMS record engine (isms.h). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "fx_tree.h"
#include "base/base.h"
#include "base/actor.h"
#include "base/buf.h"
#include "base/diag.h"
#include "isms/isms.h"
#include "isms/plan.h"
#include "ledger/ledger.h"
#include "store/store.h"

/* ---- a kind with every field type, used only here ---- */

static const char *const colours[] = {"red", "green", "blue", NULL};

static const struct isms_field widget_fields[] = {
    {.name = "title",
     .type = ISMS_TEXT,
     .required = true,
     .max_len = 10,
     .ja = "名称",
     .en = "title"},
    {.name = "body", .type = ISMS_MARKDOWN, .max_len = 50, .ja = "本文", .en = "body"},
    {.name = "due", .type = ISMS_DATE, .ja = "期限", .en = "due"},
    {.name = "seen", .type = ISMS_DATETIME, .ja = "確認日時", .en = "seen"},
    {.name = "level", .type = ISMS_INT, .min = 1, .max = 5, .ja = "水準", .en = "level"},
    {.name = "flag", .type = ISMS_BOOL, .ja = "旗", .en = "flag"},
    {.name = "colour", .type = ISMS_ENUM, .values = colours, .ja = "色", .en = "colour"},
    {.name = "dept", .type = ISMS_REF, .ref_kind = "departments", .ja = "部署", .en = "department"},
    {.name = "parent", .type = ISMS_REF, .ref_kind = "widgets", .ja = "親", .en = "parent"},
    {.name = "tags", .type = ISMS_STRLIST, .max = 3, .max_len = 5, .ja = "タグ", .en = "tags"},
};

/* The check hook: a green widget needs a level, and "score" is not a
 * field so the hook derives nothing; it only checks. */
static int widget_check(struct isms_ctx *c, json_t *rec, struct diag *d)
{
	(void)c;
	json_t *col = json_object_get(rec, "colour");
	if (json_is_string(col) && !strcmp(json_string_value(col), "green") &&
	    !json_object_get(rec, "level"))
		diag_error(d, NULL, 0, 0, "level", "a green widget needs a level");
	return 0;
}

static int widget_derive(struct isms_ctx *c, json_t *out)
{
	(void)c;
	json_t *lv = json_object_get(out, "level");
	return json_object_set_new(
	    out, "double_level",
	    json_integer(json_is_integer(lv) ? 2 * json_integer_value(lv) : 0));
}

static const struct isms_kind widgets = {
    .name = "widgets",
    .ja = "部品",
    .en = "widgets",
    .id_prefix = "WG",
    .fields = widget_fields,
    .nfields = ARRAY_SIZE(widget_fields),
    .dept_field = "dept",
    .check = widget_check,
    .derive = widget_derive,
};

static const struct isms_field secret_fields[] = {
    {.name = "note", .type = ISMS_TEXT, .required = true, .ja = "メモ", .en = "note"},
};

static const struct isms_kind secrets = {
    .name = "secrets",
    .ja = "機微",
    .en = "secrets",
    .id_prefix = "SC",
    .fields = secret_fields,
    .nfields = ARRAY_SIZE(secret_fields),
    .read_roles = ROLE_ADMIN | ROLE_PERSONNEL,
    .write_roles = ROLE_ADMIN | ROLE_PERSONNEL | ROLE_AUDITOR, /* auditor refused anyway */
    .sensitive = true,
};

/* ---- fixture ---- */

struct fx {
	char dir[256];
	char ledger_dir[300];
	struct store *st;
	struct ledger *lg;
	struct actor admin, dm1, dm2, auditor, csirt, personnel;
	struct isms_ctx c; /* acts as admin */
};

static void mkactor(struct actor *a, const char *name, unsigned role, const char *dept)
{
	memset(a, 0, sizeof(*a));
	snprintf(a->name, sizeof(a->name), "%s", name);
	a->role = role;
	snprintf(a->dept, sizeof(a->dept), "%s", dept ? dept : "");
}

static int setup(void **state)
{
	struct fx *f = xcalloc(1, sizeof(*f));
	const char *tmp = getenv("TMPDIR");
	char db[320], err[256];

	if (sodium_init() < 0)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "%s/mamori-isms-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(db, sizeof(db), "%s/mamori.db", f->dir);
	snprintf(f->ledger_dir, sizeof(f->ledger_dir), "%s/ledger", f->dir);
	if (store_open(db, true, &f->st, err, sizeof(err)) < 0 || store_migrate(f->st) < 0)
		return -1;
	if (mkdir(f->ledger_dir, 0700) < 0 || ledger_open(f->ledger_dir, LEDGER_WRITE, &f->lg) < 0)
		return -1;
	if (store_exec(f->st, "INSERT INTO departments (id, name, parent, systems) VALUES "
			      "('D01', '総務課', NULL, '[]'), ('D02', '税務課', NULL, '[]')") < 0 ||
	    store_exec(f->st,
		       "INSERT INTO staff (id, name, surname, dept, employment, roles, zones, "
		       "start_date) VALUES "
		       "('S1', '山田 一郎', '山田', 'D01', 'regular', '[]', '[]', '2020-04-01'), "
		       "('S2', '佐藤 花子', '佐藤', 'D02', 'regular', '[]', '[]', '2020-04-01')") <
		0)
		return -1;
	mkactor(&f->admin, "cli:root", ROLE_ADMIN, NULL);
	mkactor(&f->dm1, "key:dm1", ROLE_DEPT_MANAGER, "D01");
	mkactor(&f->dm2, "key:dm2", ROLE_DEPT_MANAGER, "D02");
	mkactor(&f->auditor, "key:aud", ROLE_AUDITOR, NULL);
	mkactor(&f->csirt, "key:csirt", ROLE_CSIRT, NULL);
	mkactor(&f->personnel, "key:hr", ROLE_PERSONNEL, NULL);
	f->c.st = f->st;
	f->c.lg = f->lg;
	f->c.actor = &f->admin;
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

/* ---- helpers ---- */

static struct isms_ctx ctx_as(struct fx *f, const struct actor *a)
{
	struct isms_ctx c = {.st = f->st, .lg = f->lg, .actor = a};
	return c;
}

static json_t *js(const char *text)
{
	json_error_t e;
	json_t *v = json_loads(text, 0, &e);
	if (!v)
		fail_msg("bad test JSON: %s: %s", text, e.text);
	return v;
}

/* Create from JSON text; returns the engine's result, id in id. */
static int create_js(struct isms_ctx *c, const struct isms_kind *k, const char *text,
		     struct diag *d, char id[ISMS_ID_MAX])
{
	json_t *v = js(text);
	int r = isms_create(c, k, v, d, id);
	json_decref(v);
	return r;
}

static int update_js(struct isms_ctx *c, const struct isms_kind *k, const char *id,
		     const char *text, int64_t ifv, struct diag *d)
{
	json_t *v = js(text);
	int r = isms_update(c, k, id, v, ifv, d);
	json_decref(v);
	return r;
}

/* True if d has an error naming field (and, if line > 0, at line). */
static bool diag_names(const struct diag *d, const char *field, long line)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->items[i].field && !strcmp(d->items[i].field, field) &&
		    (line <= 0 || d->items[i].line == line))
			return true;
	return false;
}

/* Create a widget and expect ERR_INVALID naming field, or success. */
static void expect_bad(struct fx *f, const char *text, const char *field)
{
	struct diag d;
	char id[ISMS_ID_MAX];

	diag_init(&d, 0);
	assert_int_equal(create_js(&f->c, &widgets, text, &d, id), ERR_INVALID);
	if (!diag_names(&d, field, 0)) {
		diag_print(&d, stderr);
		fail_msg("no error naming '%s' for %s", field, text);
	}
	assert_string_equal(id, "");
	diag_release(&d);
}

static void expect_ok(struct fx *f, const char *text)
{
	struct diag d;
	char id[ISMS_ID_MAX];

	diag_init(&d, 0);
	if (create_js(&f->c, &widgets, text, &d, id) != 0) {
		diag_print(&d, stderr);
		fail_msg("refused: %s", text);
	}
	assert_int_equal(d.errors, 0);
	diag_release(&d);
}

static int64_t count_records(struct fx *f, const char *kind)
{
	struct store_stmt *s = NULL;
	int64_t n = -1;

	assert_int_equal(
	    store_prepare(f->st, "SELECT COUNT(*) FROM isms_records WHERE kind = ?", &s), 0);
	assert_int_equal(store_bind_str(s, 1, kind), 0);
	assert_int_equal(store_step(s), 1);
	n = store_col_int(s, 0);
	store_finalize(s);
	return n;
}

/* ---- tests ---- */

static void test_kinds_table(void **state)
{
	(void)state;
	for (size_t i = 0; isms_kinds[i]; i++) {
		const struct isms_kind *k = isms_kinds[i];
		assert_ptr_equal(isms_kind_find(k->name), k);
		assert_non_null(k->id_prefix);
		for (size_t j = 0; j < k->nfields; j++) {
			assert_ptr_equal(isms_field_find(k, k->fields[j].name), &k->fields[j]);
			if (k->fields[j].type == ISMS_ENUM)
				assert_non_null(k->fields[j].values);
		}
		if (k->dept_field)
			assert_non_null(isms_field_find(k, k->dept_field));
	}
	assert_null(isms_kind_find("no_such_kind"));
	assert_null(isms_kind_find(NULL));
}

static void test_text_and_markdown(void **state)
{
	struct fx *f = *state;
	expect_ok(f, "{\"title\":\"abcdefghij\"}");	       /* exactly 10 */
	expect_bad(f, "{\"title\":\"abcdefghijk\"}", "title"); /* 11 */
	expect_bad(f, "{\"title\":\"a\\nb\"}", "title");       /* newline in text */
	expect_bad(f, "{\"title\":\"a\\u0001\"}", "title");    /* control */
	expect_bad(f, "{\"title\":42}", "title");	       /* not a string */
	expect_bad(f, "{}", "title");			       /* required */
	expect_bad(f, "{\"title\":\"\"}", "title");	       /* empty = unset */
	expect_bad(f, "{\"title\":null}", "title");
	expect_ok(f, "{\"title\":\"m\",\"body\":\"# h\\n\\n- a\\tb\"}"); /* markdown newlines */
	expect_bad(f, "{\"title\":\"m\",\"body\":\"a\\u0007\"}", "body");
	expect_ok(
	    f, "{\"title\":\"m\",\"body\":\"01234567890123456789012345678901234567890123456789\"}");
	expect_bad(
	    f, "{\"title\":\"m\",\"body\":\"012345678901234567890123456789012345678901234567890\"}",
	    "body");
	expect_bad(f, "{\"title\":\"m\",\"nonsense\":1}", "nonsense"); /* unknown field */
}

static void test_text_utf8_length(void **state)
{
	struct fx *f = *state;
	/* Lengths are bytes: 3 kanji are 9 bytes, 4 are 12. */
	expect_ok(f, "{\"title\":\"情報資\"}");
	expect_bad(f, "{\"title\":\"情報資産\"}", "title");
}

static void test_dates_ints_bools_enums(void **state)
{
	struct fx *f = *state;
	expect_ok(f, "{\"title\":\"d\",\"due\":\"2026-02-28\"}");
	expect_ok(f, "{\"title\":\"d\",\"due\":\"2028-02-29\"}");
	expect_bad(f, "{\"title\":\"d\",\"due\":\"2026-02-29\"}", "due");
	expect_bad(f, "{\"title\":\"d\",\"due\":\"2026-2-1\"}", "due");
	expect_bad(f, "{\"title\":\"d\",\"due\":20260201}", "due");
	expect_ok(f, "{\"title\":\"t\",\"seen\":\"2026-04-01T09:00:00+09:00\"}");
	expect_bad(f, "{\"title\":\"t\",\"seen\":\"2026-04-01 09:00\"}", "seen");
	expect_bad(f, "{\"title\":\"t\",\"seen\":\"2026-04-01T09:00:00\"}", "seen"); /* no offset */
	expect_ok(f, "{\"title\":\"i\",\"level\":1}");
	expect_ok(f, "{\"title\":\"i\",\"level\":5}");
	expect_bad(f, "{\"title\":\"i\",\"level\":0}", "level");
	expect_bad(f, "{\"title\":\"i\",\"level\":6}", "level");
	expect_bad(f, "{\"title\":\"i\",\"level\":\"3\"}", "level");
	expect_bad(f, "{\"title\":\"i\",\"level\":2.5}", "level");
	expect_ok(f, "{\"title\":\"b\",\"flag\":false}");
	expect_bad(f, "{\"title\":\"b\",\"flag\":\"true\"}", "flag");
	expect_bad(f, "{\"title\":\"b\",\"flag\":1}", "flag");
	expect_ok(f, "{\"title\":\"e\",\"colour\":\"blue\"}");
	expect_bad(f, "{\"title\":\"e\",\"colour\":\"Blue\"}", "colour");
	expect_bad(f, "{\"title\":\"e\",\"colour\":\"purple\"}", "colour");
}

static void test_refs_and_lists(void **state)
{
	struct fx *f = *state;
	char id[ISMS_ID_MAX], text[200];
	struct diag d;

	expect_ok(f, "{\"title\":\"r\",\"dept\":\"D01\"}");
	expect_bad(f, "{\"title\":\"r\",\"dept\":\"D99\"}", "dept");
	diag_init(&d, 0);
	assert_int_equal(create_js(&f->c, &widgets, "{\"title\":\"p\"}", &d, id), 0);
	assert_string_equal(id, "WG-000002");
	snprintf(text, sizeof(text), "{\"title\":\"c\",\"parent\":\"%s\"}", id);
	expect_ok(f, text);
	expect_bad(f, "{\"title\":\"c\",\"parent\":\"WG-999999\"}", "parent");
	/* A retired record can no longer be referred to by new references. */
	assert_int_equal(isms_retire(&f->c, &widgets, id, "gone"), 0);
	expect_bad(f, text, "parent");
	diag_release(&d);

	expect_ok(f, "{\"title\":\"l\",\"tags\":[\"a\",\"bb\",\"ccccc\"]}");
	expect_ok(f, "{\"title\":\"l\",\"tags\":[]}");
	expect_bad(f, "{\"title\":\"l\",\"tags\":[\"a\",\"b\",\"c\",\"d\"]}", "tags"); /* 4 > 3 */
	expect_bad(f, "{\"title\":\"l\",\"tags\":[\"cccccc\"]}", "tags");	       /* 6 > 5 */
	expect_bad(f, "{\"title\":\"l\",\"tags\":[\"a;b\"]}", "tags");
	expect_bad(f, "{\"title\":\"l\",\"tags\":[\"\"]}", "tags");
	expect_bad(f, "{\"title\":\"l\",\"tags\":[1]}", "tags");
	expect_bad(f, "{\"title\":\"l\",\"tags\":\"a\"}", "tags");
}

static void test_check_hook_and_derive(void **state)
{
	struct fx *f = *state;
	char id[ISMS_ID_MAX];
	struct diag d;
	json_t *o;

	expect_bad(f, "{\"title\":\"g\",\"colour\":\"green\"}", "level");
	diag_init(&d, 0);
	assert_int_equal(create_js(&f->c, &widgets,
				   "{\"title\":\"g\",\"colour\":\"green\",\"level\":3}", &d, id),
			 0);
	assert_int_equal(isms_get(&f->c, &widgets, id, &o), 0);
	assert_int_equal(json_integer_value(json_object_get(o, "double_level")), 6);
	assert_string_equal(json_string_value(json_object_get(o, "_id")), id);
	assert_int_equal(json_integer_value(json_object_get(o, "_version")), 1);
	assert_string_equal(json_string_value(json_object_get(o, "_status")), "active");
	assert_string_equal(json_string_value(json_object_get(o, "_created_by")), "cli:root");
	json_decref(o);
	/* Removing the level of a green widget breaks the cross-field rule. */
	assert_int_equal(update_js(&f->c, &widgets, id, "{\"level\":null}", 0, &d), ERR_INVALID);
	assert_true(diag_names(&d, "level", 0));
	diag_release(&d);
}

/* The canonical JSON and its hash, checked against a text written here. */
static void test_canonical(void **state)
{
	(void)state;
	json_t *v = js("{\"z\":1,\"a\":\"情報\",\"_id\":\"X\",\"m\":[\"b\",\"a\"],\"t\":true}");
	const char *want = "{\"a\":\"情報\",\"m\":[\"b\",\"a\"],\"t\":true,\"z\":1}";
	unsigned char h[32];
	char hex[65], whex[65];
	struct buf b;

	buf_init(&b, 1 << 20);
	assert_int_equal(isms_canonical(v, &b, hex), 0);
	assert_string_equal(b.data, want);
	crypto_hash_sha256(h, (const unsigned char *)want, strlen(want));
	sodium_bin2hex(whex, sizeof(whex), h, sizeof(h));
	assert_string_equal(hex, whex);
	buf_release(&b);
	json_decref(v);
}

static void test_versions_history_ledger(void **state)
{
	struct fx *f = *state;
	char id[ISMS_ID_MAX];
	struct diag d;
	json_t *o, *h;
	struct buf line, canon;

	diag_init(&d, 0);
	f->c.now = 1775001600; /* 2026-04-01T09:00:00+09:00 */
	assert_int_equal(create_js(&f->c, &widgets, "{\"title\":\"v1\",\"level\":1}", &d, id), 0);
	assert_int_equal(update_js(&f->c, &widgets, id, "{\"title\":\"v2\"}", 1, &d), 0);
	/* Stale If-Match: the record is at version 2 now. */
	assert_int_equal(update_js(&f->c, &widgets, id, "{\"title\":\"v3\"}", 1, &d), ERR_CONFLICT);
	assert_int_equal(update_js(&f->c, &widgets, id, "{\"title\":\"v3\",\"level\":null}", 2, &d),
			 0);
	assert_int_equal(update_js(&f->c, &widgets, "WG-424242", "{\"title\":\"x\"}", 0, &d),
			 ERR_NOT_FOUND);
	assert_int_equal(d.errors, 0);
	assert_int_equal(isms_get(&f->c, &widgets, id, &o), 0);
	assert_int_equal(json_integer_value(json_object_get(o, "_version")), 3);
	assert_string_equal(json_string_value(json_object_get(o, "title")), "v3");
	assert_null(json_object_get(o, "level"));
	assert_string_equal(json_string_value(json_object_get(o, "_created")),
			    "2026-04-01T09:00:00+09:00");
	json_decref(o);

	assert_int_equal(isms_history(&f->c, &widgets, id, &h), 0);
	assert_int_equal(json_array_size(h), 3);
	buf_init(&line, 1 << 20);
	buf_init(&canon, 1 << 20);
	static const char *const ops[] = {"create", "update", "update"};
	static const char *const titles[] = {"v1", "v2", "v3"};
	int64_t last = -1;
	for (size_t i = 0; i < 3; i++) {
		json_t *e = json_array_get(h, i), *rec, *body;
		json_error_t je;
		char hex[65];
		assert_int_equal(json_integer_value(json_object_get(e, "version")), (int64_t)i + 1);
		assert_string_equal(json_string_value(json_object_get(e, "op")), ops[i]);
		assert_string_equal(json_string_value(json_object_get(e, "actor")), "cli:root");
		assert_string_equal(
		    json_string_value(json_object_get(json_object_get(e, "data"), "title")),
		    titles[i]);
		int64_t idx = json_integer_value(json_object_get(e, "ledger_index"));
		assert_true(idx > last);
		last = idx;
		/* The ledger record at that index proves this version. */
		buf_reset(&line);
		buf_reset(&canon);
		assert_int_equal(ledger_read(f->lg, (uint64_t)idx, &line), 0);
		rec = json_loadb(line.data, line.len, 0, &je);
		assert_non_null(rec);
		assert_string_equal(json_string_value(json_object_get(rec, "kind")), "isms");
		assert_string_equal(json_string_value(json_object_get(rec, "actor")), "cli:root");
		body = json_object_get(rec, "body");
		assert_string_equal(json_string_value(json_object_get(body, "op")), ops[i]);
		assert_string_equal(json_string_value(json_object_get(body, "kind")), "widgets");
		assert_string_equal(json_string_value(json_object_get(body, "id")), id);
		assert_int_equal(json_integer_value(json_object_get(body, "version")),
				 (int64_t)i + 1);
		assert_int_equal(isms_canonical(json_object_get(e, "data"), &canon, hex), 0);
		assert_string_equal(json_string_value(json_object_get(body, "sha256")), hex);
		assert_true(json_equal(json_object_get(body, "data"), json_object_get(e, "data")));
		json_decref(rec);
	}
	buf_release(&line);
	buf_release(&canon);
	json_decref(h);
	diag_release(&d);
}

static void test_dept_manager(void **state)
{
	struct fx *f = *state;
	struct isms_ctx dm = ctx_as(f, &f->dm1);
	char a[ISMS_ID_MAX], b[ISMS_ID_MAX], org[ISMS_ID_MAX], id[ISMS_ID_MAX];
	struct diag d;
	json_t *o, *items;
	size_t total;

	diag_init(&d, 0);
	assert_int_equal(create_js(&f->c, &widgets, "{\"title\":\"a\",\"dept\":\"D01\"}", &d, a),
			 0);
	assert_int_equal(create_js(&f->c, &widgets, "{\"title\":\"b\",\"dept\":\"D02\"}", &d, b),
			 0);
	assert_int_equal(create_js(&f->c, &widgets, "{\"title\":\"org\"}", &d, org), 0);

	/* Reading: own department and organisation-wide records only. */
	assert_int_equal(isms_get(&dm, &widgets, a, &o), 0);
	json_decref(o);
	assert_int_equal(isms_get(&dm, &widgets, org, &o), 0);
	json_decref(o);
	assert_int_equal(isms_get(&dm, &widgets, b, &o), ERR_NOT_FOUND);
	assert_null(o);
	assert_int_equal(isms_history(&dm, &widgets, b, &o), ERR_NOT_FOUND);
	assert_int_equal(isms_list(&dm, &widgets, NULL, &items, &total), 0);
	assert_int_equal(total, 2);
	for (size_t i = 0; i < json_array_size(items); i++)
		assert_string_not_equal(
		    json_string_value(json_object_get(json_array_get(items, i), "_id")), b);
	json_decref(items);

	/* Writing: own department only. */
	assert_int_equal(create_js(&dm, &widgets, "{\"title\":\"c\",\"dept\":\"D01\"}", &d, id), 0);
	assert_int_equal(d.errors, 0);
	assert_int_equal(create_js(&dm, &widgets, "{\"title\":\"c\",\"dept\":\"D02\"}", &d, id),
			 ERR_FORBIDDEN);
	assert_true(diag_names(&d, "dept", 0));
	assert_string_equal(id, "");
	diag_release(&d);
	diag_init(&d, 0);
	assert_int_equal(create_js(&dm, &widgets, "{\"title\":\"c\"}", &d, id), ERR_FORBIDDEN);
	assert_int_equal(update_js(&dm, &widgets, a, "{\"title\":\"a2\"}", 0, &d), 0);
	assert_int_equal(update_js(&dm, &widgets, a, "{\"dept\":\"D02\"}", 0, &d), ERR_FORBIDDEN);
	assert_int_equal(update_js(&dm, &widgets, b, "{\"title\":\"b2\"}", 0, &d), ERR_NOT_FOUND);
	assert_int_equal(update_js(&dm, &widgets, org, "{\"title\":\"o2\"}", 0, &d), ERR_FORBIDDEN);
	assert_int_equal(isms_retire(&dm, &widgets, b, NULL), ERR_NOT_FOUND);
	assert_int_equal(isms_retire(&dm, &widgets, org, NULL), ERR_FORBIDDEN);
	assert_int_equal(isms_retire(&dm, &widgets, a, NULL), 0);
	/* Nothing of the other department changed. */
	assert_int_equal(isms_get(&f->c, &widgets, b, &o), 0);
	assert_string_equal(json_string_value(json_object_get(o, "title")), "b");
	assert_int_equal(json_integer_value(json_object_get(o, "_version")), 1);
	json_decref(o);
	/* The other department's manager sees the mirror image. */
	struct isms_ctx dm2 = ctx_as(f, &f->dm2);
	assert_int_equal(isms_get(&dm2, &widgets, b, &o), 0);
	json_decref(o);
	assert_int_equal(isms_get(&dm2, &widgets, a, &o), ERR_NOT_FOUND);
	diag_release(&d);
}

static void test_auditor_never_writes(void **state)
{
	struct fx *f = *state;
	struct isms_ctx au = ctx_as(f, &f->auditor);
	char a[ISMS_ID_MAX], id[ISMS_ID_MAX];
	struct diag d;
	json_t *o, *items;
	size_t total, n;

	diag_init(&d, 0);
	assert_int_equal(create_js(&f->c, &widgets, "{\"title\":\"a\",\"dept\":\"D02\"}", &d, a),
			 0);
	assert_int_equal(isms_get(&au, &widgets, a, &o), 0);
	json_decref(o);
	assert_int_equal(isms_list(&au, &widgets, NULL, &items, &total), 0);
	assert_int_equal(total, 1);
	json_decref(items);
	assert_int_equal(isms_history(&au, &widgets, a, &o), 0);
	json_decref(o);
	assert_int_equal(create_js(&au, &widgets, "{\"title\":\"x\"}", &d, id), ERR_FORBIDDEN);
	assert_int_equal(update_js(&au, &widgets, a, "{\"title\":\"x\"}", 0, &d), ERR_FORBIDDEN);
	assert_int_equal(isms_retire(&au, &widgets, a, NULL), ERR_FORBIDDEN);
	const char *csv = "title\r\nx\r\n";
	assert_int_equal(isms_import_csv(&au, &widgets, csv, strlen(csv), "w.csv", &d, &n),
			 ERR_FORBIDDEN);
	/* Even a kind that lists the auditor among its writers. */
	assert_int_equal(create_js(&au, &secrets, "{\"note\":\"x\"}", &d, id), ERR_FORBIDDEN);
	assert_int_equal(count_records(f, "widgets"), 1);
	assert_int_equal(count_records(f, "secrets"), 0);
	diag_release(&d);
}

static void test_narrow_roles_and_sensitive(void **state)
{
	struct fx *f = *state;
	struct isms_ctx cs = ctx_as(f, &f->csirt), hr = ctx_as(f, &f->personnel);
	char id[ISMS_ID_MAX];
	struct diag d;
	json_t *o, *h, *rec, *items;
	struct buf line;
	json_error_t je;
	size_t total;

	diag_init(&d, 0);
	assert_int_equal(create_js(&hr, &secrets, "{\"note\":\"懲戒\"}", &d, id), 0);
	assert_int_equal(isms_get(&cs, &secrets, id, &o), ERR_FORBIDDEN);
	assert_int_equal(isms_list(&cs, &secrets, NULL, &items, &total), ERR_FORBIDDEN);
	assert_int_equal(create_js(&cs, &secrets, "{\"note\":\"x\"}", &d, id), ERR_FORBIDDEN);
	assert_int_equal(isms_get(&f->c, &secrets, "SC-000001", &o), 0);
	json_decref(o);
	/* The ledger holds the hash of a sensitive record, not its text. */
	assert_int_equal(isms_history(&hr, &secrets, "SC-000001", &h), 0);
	buf_init(&line, 1 << 20);
	assert_int_equal(ledger_read(f->lg,
				     (uint64_t)json_integer_value(
					 json_object_get(json_array_get(h, 0), "ledger_index")),
				     &line),
			 0);
	assert_null(strstr(line.data, "懲戒"));
	rec = json_loadb(line.data, line.len, 0, &je);
	assert_null(json_object_get(json_object_get(rec, "body"), "data"));
	assert_int_equal(
	    strlen(json_string_value(json_object_get(json_object_get(rec, "body"), "sha256"))), 64);
	json_decref(rec);
	json_decref(h);
	buf_release(&line);
	diag_release(&d);
}

static void test_retire(void **state)
{
	struct fx *f = *state;
	char a[ISMS_ID_MAX], b[ISMS_ID_MAX];
	struct diag d;
	json_t *items, *h;
	size_t total;
	struct isms_query q = {0};

	diag_init(&d, 0);
	assert_int_equal(create_js(&f->c, &widgets, "{\"title\":\"a\"}", &d, a), 0);
	assert_int_equal(create_js(&f->c, &widgets, "{\"title\":\"b\"}", &d, b), 0);
	assert_int_equal(isms_retire(&f->c, &widgets, a, "廃棄済み"), 0);
	assert_int_equal(isms_retire(&f->c, &widgets, a, NULL), ERR_CONFLICT);
	assert_int_equal(update_js(&f->c, &widgets, a, "{\"title\":\"x\"}", 0, &d), ERR_CONFLICT);
	assert_int_equal(isms_retire(&f->c, &widgets, "WG-999999", NULL), ERR_NOT_FOUND);
	assert_int_equal(isms_list(&f->c, &widgets, NULL, &items, &total), 0);
	assert_int_equal(total, 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(items, 0), "_id")), b);
	json_decref(items);
	q.include_retired = true;
	assert_int_equal(isms_list(&f->c, &widgets, &q, &items, &total), 0);
	assert_int_equal(total, 2);
	json_decref(items);
	q.include_retired = false;
	q.filters[0][0] = "_status";
	q.filters[0][1] = "retired";
	q.nfilters = 1;
	assert_int_equal(isms_list(&f->c, &widgets, &q, &items, &total), 0);
	assert_int_equal(total, 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(items, 0), "_status")),
			    "retired");
	json_decref(items);
	assert_int_equal(isms_history(&f->c, &widgets, a, &h), 0);
	assert_int_equal(json_array_size(h), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(h, 1), "op")),
			    "retire");
	assert_string_equal(json_string_value(json_object_get(json_array_get(h, 1), "reason")),
			    "廃棄済み");
	json_decref(h);
	diag_release(&d);
}

static void test_list_filter_sort_page(void **state)
{
	struct fx *f = *state;
	static const char *const recs[] = {
	    "{\"title\":\"alpha\",\"level\":3,\"colour\":\"red\",\"tags\":[\"x\"]}",
	    "{\"title\":\"beta\",\"level\":1,\"colour\":\"blue\"}",
	    "{\"title\":\"gamma\",\"level\":5,\"colour\":\"red\",\"tags\":[\"x\",\"y\"]}",
	    "{\"title\":\"delta\",\"colour\":\"blue\"}",
	    "{\"title\":\"eps\",\"level\":2,\"colour\":\"red\"}",
	    "{\"title\":\"zeta\",\"level\":4,\"colour\":\"blue\",\"flag\":true}",
	    "{\"title\":\"eta\",\"level\":2,\"colour\":\"red\"}",
	};
	char id[ISMS_ID_MAX];
	struct diag d;
	json_t *items;
	size_t total;

	diag_init(&d, 0);
	for (size_t i = 0; i < ARRAY_SIZE(recs); i++)
		assert_int_equal(create_js(&f->c, &widgets, recs[i], &d, id), 0);

	struct isms_query q = {.filters = {{"colour", "red"}}, .nfilters = 1};
	assert_int_equal(isms_list(&f->c, &widgets, &q, &items, &total), 0);
	assert_int_equal(total, 4);
	json_decref(items);
	q.filters[1][0] = "level";
	q.filters[1][1] = "2";
	q.nfilters = 2;
	assert_int_equal(isms_list(&f->c, &widgets, &q, &items, &total), 0);
	assert_int_equal(total, 2); /* eps, eta */
	json_decref(items);
	struct isms_query qt = {.filters = {{"tags", "y"}}, .nfilters = 1};
	assert_int_equal(isms_list(&f->c, &widgets, &qt, &items, &total), 0);
	assert_int_equal(total, 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(items, 0), "title")),
			    "gamma");
	json_decref(items);
	struct isms_query qb = {.filters = {{"flag", "true"}}, .nfilters = 1};
	assert_int_equal(isms_list(&f->c, &widgets, &qb, &items, &total), 0);
	assert_int_equal(total, 1);
	json_decref(items);
	struct isms_query qq = {.q = "ta"};
	assert_int_equal(isms_list(&f->c, &widgets, &qq, &items, &total), 0);
	assert_int_equal(total, 4); /* beta, delta, zeta, eta */
	json_decref(items);

	/* Sorted by level, highest first; delta has none and comes last. */
	struct isms_query qs = {.sort = "level", .desc = true, .per_page = 3, .page = 1};
	assert_int_equal(isms_list(&f->c, &widgets, &qs, &items, &total), 0);
	assert_int_equal(total, 7);
	assert_int_equal(json_array_size(items), 3);
	assert_string_equal(json_string_value(json_object_get(json_array_get(items, 0), "title")),
			    "gamma");
	assert_string_equal(json_string_value(json_object_get(json_array_get(items, 1), "title")),
			    "zeta");
	assert_string_equal(json_string_value(json_object_get(json_array_get(items, 2), "title")),
			    "alpha");
	json_decref(items);
	qs.page = 3;
	assert_int_equal(isms_list(&f->c, &widgets, &qs, &items, &total), 0);
	assert_int_equal(json_array_size(items), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(items, 0), "title")),
			    "delta");
	json_decref(items);
	qs.page = 4;
	assert_int_equal(isms_list(&f->c, &widgets, &qs, &items, &total), 0);
	assert_int_equal(json_array_size(items), 0);
	assert_int_equal(total, 7);
	json_decref(items);
	struct isms_query qa = {.sort = "title"};
	assert_int_equal(isms_list(&f->c, &widgets, &qa, &items, &total), 0);
	assert_string_equal(json_string_value(json_object_get(json_array_get(items, 0), "title")),
			    "alpha");
	assert_string_equal(json_string_value(json_object_get(json_array_get(items, 6), "title")),
			    "zeta");
	json_decref(items);
	/* per_page is capped at 500. */
	struct isms_query qbig = {.per_page = 100000};
	assert_int_equal(isms_list(&f->c, &widgets, &qbig, &items, &total), 0);
	assert_int_equal(json_array_size(items), 7);
	json_decref(items);

	/* Ranges: both ends included, records without the field left out. */
	struct isms_query r1 = {.filters = {{"level.min", "3"}}, .nfilters = 1};
	assert_int_equal(isms_list(&f->c, &widgets, &r1, &items, &total), 0);
	assert_int_equal(total, 3); /* alpha 3, gamma 5, zeta 4 */
	json_decref(items);
	struct isms_query r2 = {.filters = {{"level.max", "2"}, {"level.min", "2"}}, .nfilters = 2};
	assert_int_equal(isms_list(&f->c, &widgets, &r2, &items, &total), 0);
	assert_int_equal(total, 2); /* eps, eta */
	json_decref(items);
	struct isms_query r3 = {.filters = {{"level.max", "0"}}, .nfilters = 1};
	assert_int_equal(isms_list(&f->c, &widgets, &r3, &items, &total), 0);
	assert_int_equal(total, 0);
	json_decref(items);
	assert_int_equal(update_js(&f->c, &widgets, "WG-000001", "{\"due\":\"2026-03-31\"}", 0, &d),
			 0);
	assert_int_equal(update_js(&f->c, &widgets, "WG-000002", "{\"due\":\"2026-04-01\"}", 0, &d),
			 0);
	assert_int_equal(update_js(&f->c, &widgets, "WG-000003", "{\"due\":\"2026-04-02\"}", 0, &d),
			 0);
	struct isms_query r4 = {.filters = {{"due.max", "2026-04-01"}}, .nfilters = 1};
	assert_int_equal(isms_list(&f->c, &widgets, &r4, &items, &total), 0);
	assert_int_equal(total, 2);
	json_decref(items);
	struct isms_query r5 = {.filters = {{"due.min", "2026-04-01"}}, .nfilters = 1};
	assert_int_equal(isms_list(&f->c, &widgets, &r5, &items, &total), 0);
	assert_int_equal(total, 2);
	json_decref(items);
	struct isms_query bad4 = {.filters = {{"level.min", "x"}}, .nfilters = 1};
	assert_int_equal(isms_list(&f->c, &widgets, &bad4, &items, &total), ERR_INVALID);
	struct isms_query bad5 = {.filters = {{"due.max", "2026-02-30"}}, .nfilters = 1};
	assert_int_equal(isms_list(&f->c, &widgets, &bad5, &items, &total), ERR_INVALID);
	struct isms_query bad6 = {.filters = {{"title.min", "a"}}, .nfilters = 1};
	assert_int_equal(isms_list(&f->c, &widgets, &bad6, &items, &total), ERR_INVALID);

	struct isms_query bad1 = {.sort = "nope"};
	assert_int_equal(isms_list(&f->c, &widgets, &bad1, &items, &total), ERR_INVALID);
	struct isms_query bad2 = {.filters = {{"nope", "1"}}, .nfilters = 1};
	assert_int_equal(isms_list(&f->c, &widgets, &bad2, &items, &total), ERR_INVALID);
	struct isms_query bad3 = {.filters = {{"_status", "gone"}}, .nfilters = 1};
	assert_int_equal(isms_list(&f->c, &widgets, &bad3, &items, &total), ERR_INVALID);
	diag_release(&d);
}

static void test_csv_export(void **state)
{
	struct fx *f = *state;
	char id[ISMS_ID_MAX];
	struct diag d;
	struct buf out;

	diag_init(&d, 0);
	assert_int_equal(
	    create_js(
		&f->c, &widgets,
		"{\"title\":\"a,b\",\"body\":\"line1\\nsaid \\\"hi\\\"\",\"level\":2,\"flag\":true,"
		"\"tags\":[\"x\",\"y\"],\"dept\":\"D01\",\"due\":\"2026-05-01\"}",
		&d, id),
	    0);
	assert_int_equal(create_js(&f->c, &widgets, "{\"title\":\"情報\"}", &d, id), 0);
	buf_init(&out, 1 << 20);
	assert_int_equal(isms_export_csv(&f->c, &widgets, NULL, &out), 0);
	assert_string_equal(
	    out.data,
	    "id,title,body,due,seen,level,flag,colour,dept,parent,tags\r\n"
	    "WG-000001,\"a,b\",\"line1\nsaid \"\"hi\"\"\",2026-05-01,,2,true,,D01,,x;y\r\n"
	    "WG-000002,情報,,,,,,,,,\r\n");
	/* A department manager's export holds only what they may read. */
	struct isms_ctx dm2 = ctx_as(f, &f->dm2);
	buf_reset(&out);
	assert_int_equal(isms_export_csv(&dm2, &widgets, NULL, &out), 0);
	assert_null(strstr(out.data, "WG-000001"));
	assert_non_null(strstr(out.data, "WG-000002"));
	buf_release(&out);
	diag_release(&d);
}

static void test_csv_import_round_trip(void **state)
{
	struct fx *f = *state;
	char id[ISMS_ID_MAX];
	struct diag d;
	struct buf out, out2;
	size_t n;
	json_t *o;

	diag_init(&d, 0);
	const char *in = "\xef\xbb\xbftitle,level,flag,tags,body,dept\r\n"
			 "one,1,TRUE,a;b,\"multi\nline\",D01\r\n"
			 "\r\n"
			 "two,,no,,,\n";
	assert_int_equal(isms_import_csv(&f->c, &widgets, in, strlen(in), "w.csv", &d, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(isms_get(&f->c, &widgets, "WG-000001", &o), 0);
	assert_string_equal(json_string_value(json_object_get(o, "body")), "multi\nline");
	assert_true(json_is_true(json_object_get(o, "flag")));
	assert_int_equal(json_array_size(json_object_get(o, "tags")), 2);
	json_decref(o);
	assert_int_equal(isms_get(&f->c, &widgets, "WG-000002", &o), 0);
	assert_true(json_is_false(json_object_get(o, "flag")));
	assert_null(json_object_get(o, "level"));
	json_decref(o);

	/* Export, change one cell, import, export again: the second export is
	 * the first with that cell changed, and the record has a new version. */
	buf_init(&out, 1 << 20);
	buf_init(&out2, 1 << 20);
	assert_int_equal(isms_export_csv(&f->c, &widgets, NULL, &out), 0);
	char *p = strstr(out.data, ",two,");
	assert_non_null(p);
	struct buf changed;
	buf_init(&changed, 1 << 20);
	assert_int_equal(buf_append(&changed, out.data, (size_t)(p - out.data)), 0);
	assert_int_equal(buf_puts(&changed, ",TWO,"), 0);
	assert_int_equal(buf_puts(&changed, p + 5), 0);
	assert_int_equal(
	    isms_import_csv(&f->c, &widgets, changed.data, changed.len, "e.csv", &d, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(isms_export_csv(&f->c, &widgets, NULL, &out2), 0);
	assert_string_equal(out2.data, changed.data);
	assert_int_equal(isms_get(&f->c, &widgets, "WG-000002", &o), 0);
	assert_string_equal(json_string_value(json_object_get(o, "title")), "TWO");
	assert_int_equal(json_integer_value(json_object_get(o, "_version")), 2);
	json_decref(o);
	assert_int_equal(count_records(f, "widgets"), 2);
	assert_int_equal(d.errors, 0);
	buf_release(&changed);
	buf_release(&out);
	buf_release(&out2);
	(void)id;
	diag_release(&d);
}

/* Texts a spreadsheet would run as formulas are exported with the text
 * mark, and come back unchanged. */
static void test_csv_formula_guard(void **state)
{
	struct fx *f = *state;
	static const char *const titles[] = {"=1+1", "+A1", "-x", "@SUM", "'q", "a=b"};
	char id[ISMS_ID_MAX];
	struct diag d;
	struct buf out, again;
	size_t n;

	diag_init(&d, 0);
	for (size_t i = 0; i < ARRAY_SIZE(titles); i++) {
		json_t *v = json_pack("{s:s,s:[s]}", "title", titles[i], "tags", "=t");
		assert_int_equal(isms_create(&f->c, &widgets, v, &d, id), 0);
		json_decref(v);
	}
	buf_init(&out, 1 << 20);
	buf_init(&again, 1 << 20);
	assert_int_equal(isms_export_csv(&f->c, &widgets, NULL, &out), 0);
	assert_non_null(strstr(out.data, "\r\nWG-000001,'=1+1,"));
	assert_non_null(strstr(out.data, ",'+A1,"));
	assert_non_null(strstr(out.data, ",'-x,"));
	assert_non_null(strstr(out.data, ",'@SUM,"));
	assert_non_null(strstr(out.data, ",''q,"));
	assert_non_null(strstr(out.data, ",a=b,"));
	assert_non_null(strstr(out.data, ",'=t\r\n"));
	assert_null(strstr(out.data, ",=")); /* no cell starts a formula */
	assert_int_equal(isms_import_csv(&f->c, &widgets, out.data, out.len, "g.csv", &d, &n), 0);
	assert_int_equal(n, ARRAY_SIZE(titles));
	for (size_t i = 0; i < ARRAY_SIZE(titles); i++) {
		json_t *o;
		snprintf(id, sizeof(id), "WG-%06zu", i + 1);
		assert_int_equal(isms_get(&f->c, &widgets, id, &o), 0);
		assert_string_equal(json_string_value(json_object_get(o, "title")), titles[i]);
		assert_string_equal(
		    json_string_value(json_array_get(json_object_get(o, "tags"), 0)), "=t");
		json_decref(o);
	}
	assert_int_equal(isms_export_csv(&f->c, &widgets, NULL, &again), 0);
	assert_string_equal(again.data, out.data);
	buf_release(&out);
	buf_release(&again);
	diag_release(&d);
}

static void test_csv_import_all_or_nothing(void **state)
{
	struct fx *f = *state;
	struct diag d;
	size_t n = 99;

	diag_init(&d, 0);
	/* Line 2 fine, line 3 bad level, line 4 (a quoted field over two
	 * lines) fine, line 6 unknown department and bad date, line 7 short. */
	const char *in = "title,level,dept,due,body\n"
			 "ok,1,D01,2026-01-01,\n"
			 "bad,9,D01,,\n"
			 "t4,2,,,\"two\nlines\"\n"
			 "x,1,D77,2026-13-01,\n"
			 "short,1\n";
	assert_int_equal(isms_import_csv(&f->c, &widgets, in, strlen(in), "w.csv", &d, &n),
			 ERR_INVALID);
	assert_int_equal(n, 0);
	assert_true(diag_names(&d, "level", 3));
	assert_true(diag_names(&d, "dept", 6));
	assert_true(diag_names(&d, "due", 6));
	assert_false(diag_names(&d, "title", 0));
	assert_int_equal(d.errors, 4);
	for (size_t i = 0; i < d.n; i++)
		assert_string_equal(d.items[i].file, "w.csv");
	bool short_line = false;
	for (size_t i = 0; i < d.n; i++)
		short_line |= d.items[i].line == 7;
	assert_true(short_line);
	{
		struct buf b;
		buf_init(&b, 4096);
		assert_int_equal(diag_item_format(&d.items[0], &b), 0);
		assert_non_null(strstr(b.data, "w.csv:3"));
		assert_non_null(strstr(b.data, "level"));
		buf_release(&b);
	}
	assert_int_equal(count_records(f, "widgets"), 0);
	diag_release(&d);

	/* Header problems, unknown ids, syntax errors. */
	static const struct {
		const char *csv, *field;
		long line;
	} bad[] = {
	    {"title,colourr\nx,red\n", "colourr", 1},
	    {"title,title\nx,y\n", "title", 1},
	    {"id,title\nWG-000777,x\n", "id", 2},
	    {"title,level\nx,one\n", "level", 2},
	    {"title,flag\nx,maybe\n", "flag", 2},
	    {"title\n\"open\n", NULL, 2},
	    {"title\nab\"c\n", NULL, 2},
	    {"title\n\"ab\"c\n", NULL, 2},
	    {"", NULL, 1},
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		diag_init(&d, 0);
		assert_int_equal(isms_import_csv(&f->c, &widgets, bad[i].csv, strlen(bad[i].csv),
						 "b.csv", &d, &n),
				 ERR_INVALID);
		assert_true(d.errors >= 1);
		assert_int_equal(d.items[0].line, bad[i].line);
		if (bad[i].field)
			assert_true(diag_names(&d, bad[i].field, bad[i].line));
		diag_release(&d);
	}
	assert_int_equal(count_records(f, "widgets"), 0);

	/* A department manager's import: one row of another department
	 * refuses the whole file. */
	struct isms_ctx dm = ctx_as(f, &f->dm1);
	const char *mixed = "title,dept\nmine,D01\ntheirs,D02\n";
	diag_init(&d, 0);
	assert_int_equal(isms_import_csv(&dm, &widgets, mixed, strlen(mixed), "m.csv", &d, &n),
			 ERR_FORBIDDEN);
	assert_true(diag_names(&d, "dept", 3));
	assert_int_equal(count_records(f, "widgets"), 0);
	diag_release(&d);
	const char *mine = "title,dept\nmine,D01\n";
	diag_init(&d, 0);
	assert_int_equal(isms_import_csv(&dm, &widgets, mine, strlen(mine), "m.csv", &d, &n), 0);
	assert_int_equal(n, 1);
	diag_release(&d);
	/* The same id twice in one file. */
	const char *twice = "id,title\nWG-000001,a\nWG-000001,b\n";
	diag_init(&d, 0);
	assert_int_equal(isms_import_csv(&f->c, &widgets, twice, strlen(twice), "t.csv", &d, &n),
			 ERR_INVALID);
	assert_true(diag_names(&d, "id", 3));
	diag_release(&d);
}

static void test_transaction(void **state)
{
	struct fx *f = *state;
	char a[ISMS_ID_MAX], b[ISMS_ID_MAX];
	struct diag d;

	diag_init(&d, 0);
	assert_int_equal(isms_tx_begin(&f->c), 0);
	assert_int_equal(create_js(&f->c, &widgets, "{\"title\":\"a\"}", &d, a), 0);
	assert_int_equal(create_js(&f->c, &widgets, "{\"title\":\"b\"}", &d, b), 0);
	isms_tx_rollback(&f->c);
	assert_int_equal(count_records(f, "widgets"), 0);
	assert_int_equal(isms_tx_begin(&f->c), 0);
	assert_int_equal(create_js(&f->c, &widgets, "{\"title\":\"a\"}", &d, a), 0);
	assert_int_equal(update_js(&f->c, &widgets, a, "{\"title\":\"a2\"}", 1, &d), 0);
	assert_int_equal(isms_tx_commit(&f->c), 0);
	assert_int_equal(count_records(f, "widgets"), 1);
	assert_false(f->c.in_tx);
	isms_tx_rollback(&f->c); /* no-op */
	diag_release(&d);
}

static void test_err_conflict(void **state)
{
	(void)state;
	assert_int_equal(err_http_status(ERR_CONFLICT), 409);
	assert_string_equal(err_name(ERR_CONFLICT), "conflict");
	assert_string_not_equal(err_msg_en(ERR_CONFLICT), "unknown error");
	assert_string_not_equal(err_msg_ja(ERR_CONFLICT), "不明なエラー");
}

static void test_today(void **state)
{
	struct fx *f = *state;
	char day[11];

	f->c.now = 1775001600 - 9 * 3600 - 1; /* 2026-03-31T23:59:59+09:00 */
	isms_today(&f->c, day);
	assert_string_equal(day, "2026-03-31");
	f->c.now++;
	isms_today(&f->c, day);
	assert_string_equal(day, "2026-04-01");
}

/* ---- the plan kinds (plan.h) ---- */

static json_t *get_rec(struct fx *f, const struct isms_kind *k, const char *id)
{
	json_t *o = NULL;
	assert_int_equal(isms_get(&f->c, k, id, &o), 0);
	return o;
}

static const char *sget(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* Create as c; expect result want; the diag must name field when given. */
static void create_expect(struct isms_ctx *c, const struct isms_kind *k, const char *text, int want,
			  const char *field, char id[ISMS_ID_MAX])
{
	struct diag d;
	int r;

	diag_init(&d, 0);
	r = create_js(c, k, text, &d, id);
	if (r != want || (field && !diag_names(&d, field, 0))) {
		diag_print(&d, stderr);
		fail_msg("%s: got %d, want %d naming %s", text, r, want, field ? field : "-");
	}
	diag_release(&d);
}

static bool has_rule(json_t *rules, const char *code)
{
	size_t i;
	json_t *it;

	json_array_foreach(rules, i, it)
	{
		if (!strcmp(json_string_value(json_object_get(it, "rule")), code))
			return true;
	}
	return false;
}

static void test_asset_handling_rules(void **state)
{
	json_t *r;

	(void)state;
	assert_int_equal(isms_asset_handling("3A", "2", "2", &r), 0);
	assert_true(has_rule(r, "secret_document"));
	assert_true(has_rule(r, "encrypt_in_transit"));
	assert_true(has_rule(r, "irrecoverable_disposal"));
	assert_true(has_rule(r, "backup"));
	assert_true(has_rule(r, "recovery_time"));
	assert_true(has_rule(r, "change_control"));
	/* backup is implied twice (integrity and availability) but listed once. */
	{
		size_t i, n = 0;
		json_t *it;
		json_array_foreach(r, i, it) n +=
		    !strcmp(json_string_value(json_object_get(it, "rule")), "backup");
		assert_int_equal(n, 1);
	}
	json_decref(r);
	assert_int_equal(isms_asset_handling("3", "1", "1", &r), 0); /* the older scheme */
	assert_true(has_rule(r, "locked_storage"));
	assert_false(has_rule(r, "secret_document"));
	assert_false(has_rule(r, "backup"));
	json_decref(r);
	assert_int_equal(isms_asset_handling("2", "1", "2", &r), 0);
	assert_true(has_rule(r, "need_to_know"));
	assert_false(has_rule(r, "encrypt_in_transit"));
	assert_true(has_rule(r, "recovery_time"));
	assert_false(has_rule(r, "change_control"));
	json_decref(r);
	assert_int_equal(isms_asset_handling("1", "1", "1", &r), 0);
	assert_int_equal(json_array_size(r), 0);
	json_decref(r);
	assert_int_equal(isms_asset_handling(NULL, "9", NULL, &r), 0);
	assert_int_equal(json_array_size(r), 0);
	json_decref(r);
}

static void test_assets(void **state)
{
	struct fx *f = *state;
	char id[ISMS_ID_MAX];
	json_t *o;

	f->c.now = 1775001600; /* 2026-04-01 JST */
	create_expect(
	    &f->c, &isms_kind_assets,
	    "{\"name\":\"住記\",\"type\":\"system\",\"confidentiality\":\"3B\",\"integrity\":\"2\","
	    "\"availability\":\"2\"}",
	    ERR_INVALID, "zone", id);
	create_expect(
	    &f->c, &isms_kind_assets,
	    "{\"name\":\"台帳\",\"type\":\"dataset\",\"confidentiality\":\"2\",\"integrity\":\"1\","
	    "\"availability\":\"1\",\"encrypted\":true}",
	    ERR_INVALID, "encrypted", id);
	create_expect(&f->c, &isms_kind_assets,
		      "{\"name\":\"USB\",\"type\":\"removable_media\",\"confidentiality\":\"3B\","
		      "\"integrity\":\"1\",\"availability\":\"1\",\"issued_to\":\"S1\"}",
		      ERR_INVALID, "encrypted", id);
	create_expect(
	    &f->c, &isms_kind_assets,
	    "{\"name\":\"USB\",\"type\":\"removable_media\",\"confidentiality\":\"3B\","
	    "\"integrity\":\"1\",\"availability\":\"1\",\"issued_to\":\"S9\",\"encrypted\":true}",
	    ERR_INVALID, "issued_to", id);
	create_expect(&f->c, &isms_kind_assets,
		      "{\"name\":\"USB\",\"type\":\"removable_media\",\"confidentiality\":\"3B\","
		      "\"integrity\":\"1\",\"availability\":\"1\",\"encrypted\":true,"
		      "\"last_inventory\":\"2026-04-02\"}",
		      ERR_INVALID, "last_inventory", id);
	create_expect(
	    &f->c, &isms_kind_assets,
	    "{\"name\":\"x\",\"type\":\"dataset\",\"confidentiality\":\"4\",\"integrity\":\"3\","
	    "\"availability\":\"0\"}",
	    ERR_INVALID, "availability", id);
	create_expect(
	    &f->c, &isms_kind_assets,
	    "{\"name\":\"USB-01\",\"type\":\"removable_media\",\"confidentiality\":\"3B\","
	    "\"integrity\":\"1\",\"availability\":\"1\",\"issued_to\":\"S1\",\"encrypted\":false,"
	    "\"last_inventory\":\"2026-04-01\",\"dept\":\"D01\",\"owner\":\"S1\"}",
	    0, NULL, id);
	o = get_rec(f, &isms_kind_assets, id);
	assert_true(has_rule(json_object_get(o, "handling"), "encrypt_when_carried"));
	json_decref(o);
	/* The handling rules are derived, never stored. */
	{
		json_t *h;
		assert_int_equal(isms_history(&f->c, &isms_kind_assets, id, &h), 0);
		assert_null(
		    json_object_get(json_object_get(json_array_get(h, 0), "data"), "handling"));
		json_decref(h);
	}
}

static void test_risks_scores_and_heatmap(void **state)
{
	struct fx *f = *state;
	struct isms_ctx dm = ctx_as(f, &f->dm1);
	char a1[ISMS_ID_MAX], a2[ISMS_ID_MAX], id[ISMS_ID_MAX], text[512];
	const struct isms_field *tf = isms_field_find(&isms_kind_risks, "threat");
	json_t *o, *hm;
	size_t n = 0;

	/* The enum of the field is exactly the catalogue. */
	for (; tf->values[n]; n++) {
		assert_non_null(isms_threat_find(tf->values[n]));
		assert_string_equal(isms_threats[n].code, tf->values[n]);
	}
	assert_null(isms_threats[n].code);
	assert_non_null(isms_threat_find("pandemic"));
	assert_string_equal(isms_threat_find("apt")->category, "intentional");
	assert_string_equal(isms_threat_find("transport_accident")->category, "accidental");
	assert_string_equal(isms_threat_find("flood")->category, "environmental");
	assert_null(isms_threat_find("meteor"));

	create_expect(
	    &f->c, &isms_kind_assets,
	    "{\"name\":\"a1\",\"type\":\"dataset\",\"confidentiality\":\"2\",\"integrity\":\"1\","
	    "\"availability\":\"1\",\"dept\":\"D01\"}",
	    0, NULL, a1);
	create_expect(
	    &f->c, &isms_kind_assets,
	    "{\"name\":\"a2\",\"type\":\"dataset\",\"confidentiality\":\"2\",\"integrity\":\"1\","
	    "\"availability\":\"1\",\"dept\":\"D02\"}",
	    0, NULL, a2);
	/* score is derived whatever the input says. */
	snprintf(
	    text, sizeof(text),
	    "{\"title\":\"r\",\"asset\":\"%s\",\"threat\":\"theft\",\"likelihood\":4,\"impact\":5,"
	    "\"score\":1}",
	    a1);
	create_expect(&f->c, &isms_kind_risks, text, 0, NULL, id);
	o = get_rec(f, &isms_kind_risks, id);
	assert_int_equal(json_integer_value(json_object_get(o, "score")), 20);
	assert_null(json_object_get(o, "residual_score"));
	assert_string_equal(sget(o, "dept"), "D01"); /* from the asset */
	assert_string_equal(sget(o, "threat_category"), "intentional");
	json_decref(o);
	/* Residual values: in pairs, with a treatment, not above the inherent risk. */
	{
		struct diag d;
		diag_init(&d, 0);
		assert_int_equal(
		    update_js(&f->c, &isms_kind_risks, id, "{\"residual_likelihood\":2}", 0, &d),
		    ERR_INVALID);
		assert_true(diag_names(&d, "residual_impact", 0));
		diag_release(&d);
		diag_init(&d, 0);
		assert_int_equal(update_js(&f->c, &isms_kind_risks, id,
					   "{\"residual_likelihood\":2,\"residual_impact\":2}", 0,
					   &d),
				 ERR_INVALID);
		assert_true(diag_names(&d, "treatment", 0));
		diag_release(&d);
		diag_init(&d, 0);
		assert_int_equal(update_js(&f->c, &isms_kind_risks, id,
					   "{\"treatment\":\"accept\",\"residual_likelihood\":5,"
					   "\"residual_impact\":5}",
					   0, &d),
				 ERR_INVALID);
		assert_true(diag_names(&d, "residual_score", 0));
		diag_release(&d);
		diag_init(&d, 0);
		/* Exactly the inherent risk is allowed (an accepted risk). */
		assert_int_equal(update_js(&f->c, &isms_kind_risks, id,
					   "{\"treatment\":\"reduce\",\"residual_likelihood\":4,"
					   "\"residual_impact\":5,\"controls\":[\"5.15\",\"8.5\"]}",
					   0, &d),
				 0);
		assert_int_equal(update_js(&f->c, &isms_kind_risks, id,
					   "{\"residual_likelihood\":2,\"residual_impact\":3}", 0,
					   &d),
				 0);
		diag_release(&d);
	}
	o = get_rec(f, &isms_kind_risks, id);
	assert_int_equal(json_integer_value(json_object_get(o, "residual_score")), 6);
	assert_int_equal(json_array_size(json_object_get(o, "controls")), 2);
	json_decref(o);
	snprintf(text, sizeof(text),
		 "{\"title\":\"q\",\"asset\":\"%s\",\"threat\":\"earthquake\",\"likelihood\":1,"
		 "\"impact\":5}",
		 a2);
	create_expect(&f->c, &isms_kind_risks, text, 0, NULL, id);
	create_expect(
	    &f->c, &isms_kind_risks,
	    "{\"title\":\"x\",\"asset\":\"AS-999999\",\"threat\":\"fire\",\"likelihood\":0,"
	    "\"impact\":6}",
	    ERR_INVALID, "asset", id);

	assert_int_equal(isms_risk_heatmap(&f->c, &hm), 0);
	assert_int_equal(json_integer_value(json_object_get(hm, "total")), 2);
	/* rows: impact-1, columns: likelihood-1 */
	assert_int_equal(json_integer_value(
			     json_array_get(json_array_get(json_object_get(hm, "inherent"), 4), 3)),
			 1);
	assert_int_equal(json_integer_value(
			     json_array_get(json_array_get(json_object_get(hm, "inherent"), 4), 0)),
			 1);
	assert_int_equal(json_integer_value(
			     json_array_get(json_array_get(json_object_get(hm, "inherent"), 3), 4)),
			 0);
	assert_int_equal(json_integer_value(
			     json_array_get(json_array_get(json_object_get(hm, "residual"), 2), 1)),
			 1);
	assert_int_equal(json_integer_value(json_object_get(hm, "residual_unassessed")), 1);
	{
		int64_t sum = 0;
		for (size_t i = 0; i < 5; i++)
			for (size_t l = 0; l < 5; l++)
				sum += json_integer_value(json_array_get(
				    json_array_get(json_object_get(hm, "inherent"), i), l));
		assert_int_equal(sum, 2);
	}
	json_decref(hm);
	/* A department manager cannot refer to another department's asset
	 * (nor learn that it exists). */
	snprintf(text, sizeof(text),
		 "{\"title\":\"m\",\"asset\":\"%s\",\"dept\":\"D01\",\"threat\":\"fire\","
		 "\"likelihood\":1,\"impact\":1}",
		 a2);
	create_expect(&dm, &isms_kind_risks, text, ERR_INVALID, "asset", id);
	snprintf(text, sizeof(text),
		 "{\"title\":\"m\",\"asset\":\"%s\",\"threat\":\"fire\",\"likelihood\":1,"
		 "\"impact\":1}",
		 a1);
	create_expect(&dm, &isms_kind_risks, text, 0, NULL, id);
	/* A department manager's map holds their department's risks only. */
	assert_int_equal(isms_risk_heatmap(&dm, &hm), 0);
	assert_int_equal(json_integer_value(json_object_get(hm, "total")), 2);
	assert_int_equal(json_integer_value(
			     json_array_get(json_array_get(json_object_get(hm, "inherent"), 0), 0)),
			 1);
	assert_int_equal(json_integer_value(
			     json_array_get(json_array_get(json_object_get(hm, "inherent"), 4), 0)),
			 0);
	json_decref(hm);
}

static void test_org_holders(void **state)
{
	struct fx *f = *state;
	char ciso[ISMS_ID_MAX], id[ISMS_ID_MAX];
	json_t *o, *h;
	struct diag d;

	create_expect(
	    &f->c, &isms_kind_role_assignments,
	    "{\"role\":\"ciso\",\"staff\":\"S1\",\"deputy\":\"S2\",\"from\":\"2026-04-01\","
	    "\"to\":\"2027-03-31\"}",
	    0, NULL, ciso);
	/* A second CISO over any part of the period is refused, before or after. */
	create_expect(
	    &f->c, &isms_kind_role_assignments,
	    "{\"role\":\"ciso\",\"staff\":\"S2\",\"from\":\"2026-01-01\",\"to\":\"2026-04-01\"}",
	    ERR_INVALID, "from", id);
	create_expect(&f->c, &isms_kind_role_assignments,
		      "{\"role\":\"ciso\",\"staff\":\"S2\",\"from\":\"2027-03-31\"}", ERR_INVALID,
		      "from", id);
	create_expect(&f->c, &isms_kind_role_assignments,
		      "{\"role\":\"ciso\",\"staff\":\"S2\",\"from\":\"2027-04-01\"}", 0, NULL, id);
	/* Editing an assignment does not conflict with itself. */
	diag_init(&d, 0);
	assert_int_equal(
	    update_js(&f->c, &isms_kind_role_assignments, ciso, "{\"note\":\"副市長\"}", 0, &d), 0);
	diag_release(&d);
	create_expect(
	    &f->c, &isms_kind_role_assignments,
	    "{\"role\":\"ciso\",\"staff\":\"S1\",\"deputy\":\"S1\",\"from\":\"2020-01-01\","
	    "\"to\":\"2019-12-31\",\"dept\":\"D01\"}",
	    ERR_INVALID, "deputy", id);
	create_expect(&f->c, &isms_kind_role_assignments,
		      "{\"role\":\"security_manager\",\"staff\":\"S1\",\"from\":\"2026-04-01\"}",
		      ERR_INVALID, "dept", id);
	/* One manager per department at a time, in each department. */
	create_expect(&f->c, &isms_kind_role_assignments,
		      "{\"role\":\"security_manager\",\"staff\":\"S1\",\"dept\":\"D01\",\"from\":"
		      "\"2026-04-01\"}",
		      0, NULL, id);
	create_expect(&f->c, &isms_kind_role_assignments,
		      "{\"role\":\"security_manager\",\"staff\":\"S2\",\"dept\":\"D02\",\"from\":"
		      "\"2026-04-01\"}",
		      0, NULL, id);
	create_expect(&f->c, &isms_kind_role_assignments,
		      "{\"role\":\"security_manager\",\"staff\":\"S2\",\"dept\":\"D01\",\"from\":"
		      "\"2026-05-01\"}",
		      ERR_INVALID, "from", id);
	/* Many committee members at once. */
	create_expect(&f->c, &isms_kind_role_assignments,
		      "{\"role\":\"committee_member\",\"staff\":\"S1\",\"from\":\"2026-04-01\"}", 0,
		      NULL, id);
	create_expect(&f->c, &isms_kind_role_assignments,
		      "{\"role\":\"committee_member\",\"staff\":\"S2\",\"from\":\"2026-04-01\"}", 0,
		      NULL, id);
	/* Department managers do not assign responsibility. */
	{
		struct isms_ctx dm = ctx_as(f, &f->dm1);
		create_expect(&dm, &isms_kind_role_assignments,
			      "{\"role\":\"system_manager\",\"staff\":\"S1\",\"dept\":\"D01\","
			      "\"from\":\"2026-04-01\"}",
			      ERR_FORBIDDEN, NULL, id);
	}

	assert_int_equal(isms_org_holders(&f->c, "2026-06-01", &o), 0);
	h = json_object_get(o, "holders");
	assert_int_equal(json_array_size(h), 5); /* ciso, 2 managers, 2 members */
	assert_string_equal(sget(json_array_get(h, 0), "role"), "ciso");
	assert_string_equal(sget(json_array_get(h, 0), "staff"), "S1");
	assert_string_equal(sget(json_array_get(h, 0), "staff_name"), "山田 一郎");
	assert_string_equal(sget(json_array_get(h, 0), "deputy_name"), "佐藤 花子");
	assert_string_equal(sget(json_array_get(h, 1), "role"), "security_manager");
	assert_string_equal(sget(json_array_get(h, 1), "dept"), "D01");
	assert_false(json_is_string(json_object_get(json_array_get(h, 1), "deputy")));
	{
		bool chief = false;
		size_t i;
		json_t *v;
		json_array_foreach(json_object_get(o, "vacant"), i, v) chief |=
		    !strcmp(json_string_value(v), "chief_officer");
		assert_true(chief);
	}
	json_decref(o);
	/* Both ends of a period are included. */
	assert_int_equal(isms_org_holders(&f->c, "2027-03-31", &o), 0);
	assert_string_equal(sget(json_array_get(json_object_get(o, "holders"), 0), "staff"), "S1");
	json_decref(o);
	assert_int_equal(isms_org_holders(&f->c, "2027-04-01", &o), 0);
	assert_string_equal(sget(json_array_get(json_object_get(o, "holders"), 0), "staff"), "S2");
	json_decref(o);
	assert_int_equal(isms_org_holders(&f->c, "2026-03-31", &o), 0);
	assert_int_equal(json_array_size(json_object_get(o, "holders")), 0);
	json_decref(o);
	assert_int_equal(isms_org_holders(&f->c, "2026-13-01", &o), ERR_INVALID);
	/* Today by default. */
	f->c.now = 1775001600; /* 2026-04-01 */
	assert_int_equal(isms_org_holders(&f->c, NULL, &o), 0);
	assert_string_equal(sget(o, "date"), "2026-04-01");
	json_decref(o);
	/* A department manager sees their department's managers and the
	 * organisation-wide roles. */
	{
		struct isms_ctx dm = ctx_as(f, &f->dm2);
		assert_int_equal(isms_org_holders(&dm, "2026-06-01", &o), 0);
		assert_int_equal(json_array_size(json_object_get(o, "holders")), 4);
		json_decref(o);
	}
	assert_non_null(isms_org_role_find("csirt_lead"));
	assert_null(isms_org_role_find("mayor"));
}

/* The rows of one CSV file see each other's checks: two holders of a
 * single-holder role in one file are refused, and nothing is written. */
static void test_org_import_sees_earlier_rows(void **state)
{
	struct fx *f = *state;
	struct diag d;
	size_t n = 9;
	json_t *o;
	const char *two = "role,staff,dept,from,to\n"
			  "csirt_lead,S1,,2026-04-01,\n"
			  "csirt_lead,S2,,2026-10-01,\n";
	const char *fine = "role,staff,dept,from,to\n"
			   "csirt_lead,S1,,2026-04-01,2026-09-30\n"
			   "csirt_lead,S2,,2026-10-01,\n";

	diag_init(&d, 0);
	assert_int_equal(
	    isms_import_csv(&f->c, &isms_kind_role_assignments, two, strlen(two), "ra.csv", &d, &n),
	    ERR_INVALID);
	assert_int_equal(n, 0);
	assert_int_equal(d.errors, 1);
	assert_true(diag_names(&d, "from", 3));
	assert_int_equal(count_records(f, "role_assignments"), 0);
	diag_release(&d);
	diag_init(&d, 0);
	assert_int_equal(isms_import_csv(&f->c, &isms_kind_role_assignments, fine, strlen(fine),
					 "ra.csv", &d, &n),
			 0);
	assert_int_equal(n, 2);
	diag_release(&d);
	/* The ids follow on as if the refused file had never been read. */
	o = get_rec(f, &isms_kind_role_assignments, "RA-000001");
	assert_string_equal(sget(o, "staff"), "S1");
	json_decref(o);
	o = get_rec(f, &isms_kind_role_assignments, "RA-000002");
	assert_string_equal(sget(o, "staff"), "S2");
	assert_int_equal(json_integer_value(json_object_get(o, "_version")), 1);
	json_decref(o);
	assert_int_equal(isms_org_holders(&f->c, "2026-10-01", &o), 0);
	assert_int_equal(json_array_size(json_object_get(o, "holders")), 1);
	json_decref(o);
}

static void test_documents_approval(void **state)
{
	struct fx *f = *state;
	struct actor ciso_a;
	struct isms_ctx ciso, dm = ctx_as(f, &f->dm1);
	char bp[ISMS_ID_MAX], st[ISMS_ID_MAX], pr[ISMS_ID_MAX], v1[ISMS_ID_MAX], v2[ISMS_ID_MAX];
	char pv[ISMS_ID_MAX], id[ISMS_ID_MAX], text[512];
	struct diag d;
	json_t *o, *h;

	mkactor(&ciso_a, "key:ciso", ROLE_CISO, NULL);
	ciso = ctx_as(f, &ciso_a);
	ciso.now = f->c.now = 1769817600; /* 2026-01-31 JST */
	create_expect(
	    &f->c, &isms_kind_documents,
	    "{\"title\":\"基本方針\",\"layer\":\"basic_policy\",\"publication\":\"public\","
	    "\"review_cycle_months\":1}",
	    0, NULL, bp);
	o = get_rec(f, &isms_kind_documents, bp);
	assert_string_equal(sget(o, "status"), "draft");
	json_decref(o);
	create_expect(
	    &f->c, &isms_kind_documents,
	    "{\"title\":\"対策基準\",\"layer\":\"standard\",\"publication\":\"internal\"}", 0, NULL,
	    st);
	create_expect(&f->c, &isms_kind_documents,
		      "{\"title\":\"誤\",\"layer\":\"standard\",\"publication\":\"internal\","
		      "\"dept\":\"D01\"}",
		      ERR_INVALID, "dept", id);
	create_expect(&f->c, &isms_kind_documents,
		      "{\"title\":\"誤\",\"layer\":\"procedure\",\"publication\":\"internal\"}",
		      ERR_INVALID, "dept", id);
	snprintf(text, sizeof(text),
		 "{\"title\":\"手順\",\"layer\":\"procedure\",\"publication\":\"restricted\","
		 "\"dept\":\"D01\","
		 "\"implements\":[\"%s\"]}",
		 bp);
	create_expect(&f->c, &isms_kind_documents, text, ERR_INVALID, "implements", id);
	snprintf(text, sizeof(text),
		 "{\"title\":\"手順\",\"layer\":\"procedure\",\"publication\":\"restricted\","
		 "\"dept\":\"D01\","
		 "\"implements\":[\"%s\"]}",
		 st);
	create_expect(&f->c, &isms_kind_documents, text, 0, NULL, pr);
	create_expect(&f->c, &isms_kind_documents,
		      "{\"title\":\"x\",\"layer\":\"standard\",\"publication\":\"internal\","
		      "\"status\":\"approved\"}",
		      ERR_INVALID, "status", id);

	snprintf(text, sizeof(text),
		 "{\"document\":\"%s\",\"version_label\":\"1\",\"text\":\"# 目的\"}", bp);
	create_expect(&f->c, &isms_kind_document_versions, text, 0, NULL, v1);
	diag_init(&d, 0);
	/* Only approval sets the status and the approver. */
	assert_int_equal(
	    update_js(&f->c, &isms_kind_document_versions, v1, "{\"approved_by\":\"me\"}", 0, &d),
	    ERR_INVALID);
	assert_true(diag_names(&d, "approved_by", 0));
	diag_release(&d);
	/* An admin may not approve the basic policy, a department manager nothing. */
	diag_init(&d, 0);
	assert_int_equal(isms_document_approve(&f->c, v1, 0, &d), ERR_FORBIDDEN);
	assert_int_equal(d.errors, 1);
	diag_release(&d);
	diag_init(&d, 0);
	assert_int_equal(isms_document_approve(&ciso, v1, 7, &d), ERR_CONFLICT);
	assert_int_equal(isms_document_approve(&ciso, "DV-999999", 0, &d), ERR_NOT_FOUND);
	assert_int_equal(isms_document_approve(&ciso, v1, 1, &d), 0);
	assert_int_equal(isms_document_approve(&ciso, v1, 0, &d), ERR_CONFLICT);
	diag_release(&d);
	o = get_rec(f, &isms_kind_document_versions, v1);
	assert_string_equal(sget(o, "status"), "approved");
	assert_string_equal(sget(o, "approved_by"), "key:ciso");
	assert_string_equal(sget(o, "approved_on"), "2026-01-31");
	assert_string_equal(sget(o, "review_due"), "2026-02-28"); /* one month, clamped */
	json_decref(o);
	o = get_rec(f, &isms_kind_documents, bp);
	assert_string_equal(sget(o, "status"), "approved");
	assert_string_equal(sget(o, "current_version"), v1);
	json_decref(o);
	/* An approved version is not edited again. */
	diag_init(&d, 0);
	assert_int_equal(
	    update_js(&f->c, &isms_kind_document_versions, v1, "{\"text\":\"x\"}", 0, &d),
	    ERR_INVALID);
	assert_true(diag_names(&d, "text", 0));
	diag_release(&d);

	/* The next version supersedes it. */
	snprintf(text, sizeof(text),
		 "{\"document\":\"%s\",\"version_label\":\"2\",\"text\":\"改定\"}", bp);
	create_expect(&f->c, &isms_kind_document_versions, text, 0, NULL, v2);
	diag_init(&d, 0);
	assert_int_equal(update_js(&f->c, &isms_kind_document_versions, v2,
				   "{\"document\":\"DOC-000002\"}", 0, &d),
			 ERR_INVALID);
	assert_true(diag_names(&d, "document", 0));
	assert_int_equal(isms_document_approve(&ciso, v2, 0, &d), 0);
	diag_release(&d);
	o = get_rec(f, &isms_kind_document_versions, v1);
	assert_string_equal(sget(o, "status"), "superseded");
	json_decref(o);
	assert_int_equal(isms_history(&f->c, &isms_kind_document_versions, v1, &h), 0);
	assert_int_equal(json_array_size(h), 3);
	assert_string_equal(sget(json_array_get(h, 1), "op"), "approve");
	assert_string_equal(sget(json_array_get(h, 1), "actor"), "key:ciso");
	assert_string_equal(sget(json_array_get(h, 2), "op"), "supersede");
	json_decref(h);
	assert_int_equal(isms_history(&f->c, &isms_kind_documents, bp, &h), 0);
	assert_int_equal(json_array_size(h), 3); /* create, approve, approve */
	json_decref(h);

	/* A procedure: its manager drafts versions, an admin approves. */
	snprintf(text, sizeof(text),
		 "{\"document\":\"%s\",\"version_label\":\"1\",\"text\":\"手順\"}", pr);
	create_expect(&dm, &isms_kind_document_versions, text, 0, NULL, pv);
	o = get_rec(f, &isms_kind_document_versions, pv);
	assert_string_equal(sget(o, "dept"), "D01"); /* the document's */
	json_decref(o);
	{
		struct isms_ctx dm2 = ctx_as(f, &f->dm2);
		/* Another department's procedure does not exist for them. */
		create_expect(&dm2, &isms_kind_document_versions, text, ERR_INVALID, "document",
			      id);
	}
	diag_init(&d, 0);
	assert_int_equal(isms_document_approve(&dm, pv, 0, &d), ERR_FORBIDDEN);
	assert_int_equal(isms_document_approve(&f->c, pv, 0, &d), 0);
	diag_release(&d);

	/* Public: the approved basic policy's current version only. */
	snprintf(text, sizeof(text),
		 "{\"document\":\"%s\",\"version_label\":\"1\",\"text\":\"内部\"}", st);
	create_expect(&f->c, &isms_kind_document_versions, text, 0, NULL, id);
	diag_init(&d, 0);
	assert_int_equal(isms_document_approve(&ciso, id, 0, &d), 0);
	diag_release(&d);
	assert_int_equal(isms_public_policy(&dm, &o), 0);
	assert_int_equal(json_array_size(json_object_get(o, "documents")), 1);
	{
		json_t *e = json_array_get(json_object_get(o, "documents"), 0);
		assert_string_equal(sget(e, "id"), bp);
		assert_string_equal(sget(e, "version_id"), v2);
		assert_string_equal(sget(e, "text"), "改定");
	}
	json_decref(o);
	/* A retired document leaves the public page. */
	assert_int_equal(isms_retire(&f->c, &isms_kind_documents, bp, "廃止"), 0);
	assert_int_equal(isms_public_policy(&f->c, &o), 0);
	assert_int_equal(json_array_size(json_object_get(o, "documents")), 0);
	json_decref(o);
}

static void test_markdown_html(void **state)
{
	struct buf b;
	(void)state;

	buf_init(&b, 1 << 20);
	assert_int_equal(
	    isms_markdown_html("# 目的 <b>\n本文 & \"引用\"\n二行目\n\n- 一\n- 二\n1. a\n2. b\n"
			       "####### 七\n<script>x</script>",
			       &b),
	    0);
	assert_string_equal(b.data, "<h3>目的 &lt;b&gt;</h3>\n"
				    "<p>本文 &amp; &quot;引用&quot;<br>\n二行目</p>\n"
				    "<ul>\n<li>一</li>\n<li>二</li>\n</ul>\n"
				    "<ol>\n<li>a</li>\n<li>b</li>\n</ol>\n"
				    "<p>####### 七<br>\n&lt;script&gt;x&lt;/script&gt;</p>\n");
	buf_reset(&b);
	assert_int_equal(isms_markdown_html("", &b), 0);
	assert_int_equal(b.len, 0);
	{
		json_t *pub =
		    js("{\"documents\":[{\"id\":\"DOC-1\",\"title\":\"<i>t</i>\",\"layer\":"
		       "\"basic_policy\",\"version_label\":\"'1'\",\"approved_on\":\"2026-04-01\","
		       "\"text\":\"x\"}]}");
		buf_reset(&b);
		assert_int_equal(isms_public_policy_html(pub, &b), 0);
		assert_non_null(strstr(b.data, "&lt;i&gt;t&lt;/i&gt;"));
		assert_non_null(strstr(b.data, "&#39;1&#39;"));
		assert_non_null(strstr(b.data, "情報セキュリティ基本方針"));
		assert_null(strstr(b.data, "<i>"));
		assert_null(strstr(b.data, "src="));
		json_decref(pub);
	}
	buf_release(&b);
}

int main(void)
{
	setenv("MAMORI_LANG", "en", 0);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_kinds_table),
	    cmocka_unit_test_setup_teardown(test_text_and_markdown, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_text_utf8_length, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dates_ints_bools_enums, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refs_and_lists, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_check_hook_and_derive, setup, teardown),
	    cmocka_unit_test(test_canonical),
	    cmocka_unit_test_setup_teardown(test_versions_history_ledger, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dept_manager, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_auditor_never_writes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_narrow_roles_and_sensitive, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_retire, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_list_filter_sort_page, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_csv_export, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_csv_import_round_trip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_csv_formula_guard, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_csv_import_all_or_nothing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_transaction, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_today, setup, teardown),
	    cmocka_unit_test(test_err_conflict),
	    cmocka_unit_test(test_asset_handling_rules),
	    cmocka_unit_test_setup_teardown(test_assets, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_risks_scores_and_heatmap, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_org_holders, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_org_import_sees_earlier_rows, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_documents_approval, setup, teardown),
	    cmocka_unit_test(test_markdown_html),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
