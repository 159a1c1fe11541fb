/*
 * isms.c - the ISMS record engine: validation, versions, history, the
 * ledger, permissions, listings (isms.h; docs/internals/isms.md).
 */
#include "base/base.h"

#include <sodium.h>

#include "base/buf.h"
#include "base/i18n.h"
#include "base/timeutil.h"
#include "isms/isms.h"
#include "isms/isms_int.h"
#include "ledger/ledger.h"
#include "store/store.h"

/* ---- kinds and fields ---- */

const struct isms_kind *isms_kind_find(const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; isms_kinds[i]; i++)
		if (!strcmp(isms_kinds[i]->name, name))
			return isms_kinds[i];
	return NULL;
}

const struct isms_field *isms_field_find(const struct isms_kind *k, const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < k->nfields; i++)
		if (!strcmp(k->fields[i].name, name))
			return &k->fields[i];
	return NULL;
}

int64_t isms_now(const struct isms_ctx *c)
{
	return c->now ? c->now : ts_now();
}

void isms_today(const struct isms_ctx *c, char out[11])
{
	char tmp[DATE_TEXT_MAX];

	date_format(ts_jst_day(isms_now(c)), tmp);
	memcpy(out, tmp, 11);
	out[10] = '\0';
}

const char *isms_record_dept(const struct isms_kind *k, const json_t *rec)
{
	const json_t *v;

	if (!k->dept_field || !rec)
		return "";
	v = json_object_get(rec, k->dept_field);
	return json_is_string(v) ? json_string_value(v) : "";
}

/* ---- permissions ---- */

bool isms_may_read_kind(const struct isms_ctx *c, const struct isms_kind *k)
{
	return actor_has(c->actor, k->read_roles ? k->read_roles : ROLES_STAFF);
}

bool isms_may_write_kind(const struct isms_ctx *c, const struct isms_kind *k)
{
	/* An auditor reads and never changes anything, whatever a kind says. */
	if (actor_has(c->actor, ROLE_AUDITOR))
		return false;
	return actor_has(c->actor, k->write_roles ? k->write_roles : ROLES_ISMS_WRITE);
}

/*
 * May the actor change a record of department dept, once the kind's roles
 * allowed them to write at all? Only a department manager is limited: to
 * their own department, never organisation-wide records. (Not
 * actor_may_write_dept: a kind may let roles outside ROLES_ISMS_WRITE
 * write, e.g. personnel for violations.)
 */
static bool dept_write_ok(const struct actor *a, const char *dept)
{
	if (a->role != ROLE_DEPT_MANAGER)
		return true;
	return dept && *dept && !strcmp(a->dept, dept);
}

/* ---- canonical form ---- */

int isms_canonical(const json_t *rec, struct buf *out, char hex[65])
{
	json_t *copy = json_object();
	const char *key;
	json_t *v;
	char *text = NULL;
	int r;

	if (!copy)
		return ERR_NOMEM;
	json_object_foreach((json_t *)rec, key, v)
	{
		if (key[0] == '_')
			continue;
		if (json_object_set(copy, key, v) < 0) {
			r = ERR_NOMEM;
			goto out;
		}
	}
	text = json_dumps(copy, JSON_COMPACT | JSON_SORT_KEYS);
	if (!text) {
		r = ERR_NOMEM;
		goto out;
	}
	if ((r = buf_puts(out, text)) < 0)
		goto out;
	if (hex) {
		unsigned char h[crypto_hash_sha256_BYTES];
		crypto_hash_sha256(h, (const unsigned char *)text, strlen(text));
		sodium_bin2hex(hex, 65, h, sizeof(h));
	}
	r = 0;
out:
	free(text);
	json_decref(copy);
	return r;
}

/* ---- transactions ---- */

int isms_tx_begin(struct isms_ctx *c)
{
	int r;

	BUG_ON(c->in_tx);
	if ((r = store_begin(c->st)) < 0)
		return r;
	c->in_tx = true;
	return 0;
}

int isms_tx_commit(struct isms_ctx *c)
{
	int r;

	BUG_ON(!c->in_tx);
	r = store_commit(c->st);
	if (r < 0)
		store_rollback(c->st);
	c->in_tx = false;
	return r;
}

void isms_tx_rollback(struct isms_ctx *c)
{
	if (!c->in_tx)
		return;
	store_rollback(c->st);
	c->in_tx = false;
}

int isms_tx_enter(struct isms_ctx *c, bool *own)
{
	int r;

	*own = false;
	if (c->in_tx)
		return 0;
	if ((r = store_begin(c->st)) < 0)
		return r;
	/* Engine calls made inside (a workflow's steps, a hook's reads) see
	 * the transaction and join it. */
	c->in_tx = true;
	*own = true;
	return 0;
}

int isms_tx_leave(struct isms_ctx *c, bool own, int r)
{
	if (!own)
		return r;
	c->in_tx = false;
	if (r < 0) {
		store_rollback(c->st);
		return r;
	}
	if ((r = store_commit(c->st)) < 0)
		store_rollback(c->st);
	return r;
}

/* ---- rows ---- */

void isms_row_release(struct isms_row *r)
{
	if (!r)
		return;
	free(r->dept);
	free(r->created_by);
	free(r->updated_by);
	json_decref(r->data);
	memset(r, 0, sizeof(*r));
}

void isms_rows_free(struct isms_row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++)
		isms_row_release(&rows[i]);
	free(rows);
}

#define ROW_COLS "id, dept, version, status, data, created, created_by, updated, updated_by"

static void copy_text(char *dst, size_t cap, const char *s)
{
	snprintf(dst, cap, "%s", s ? s : "");
}

/* Fill *out from the current row of s (columns ROW_COLS). */
static int row_from_stmt(struct store_stmt *s, struct isms_row *out)
{
	json_error_t je;
	size_t len = 0;
	const char *data;

	memset(out, 0, sizeof(*out));
	copy_text(out->id, sizeof(out->id), store_col_text(s, 0, NULL));
	if (!store_col_is_null(s, 1))
		out->dept = xstrdup(store_col_text(s, 1, NULL));
	out->version = store_col_int(s, 2);
	out->retired =
	    !strcmp(store_col_text(s, 3, NULL) ? store_col_text(s, 3, NULL) : "", "retired");
	data = store_col_text(s, 4, &len);
	out->data = data ? json_loadb(data, len, 0, &je) : NULL;
	if (!json_is_object(out->data)) {
		isms_row_release(out);
		return ERR_CORRUPT;
	}
	copy_text(out->created, sizeof(out->created), store_col_text(s, 5, NULL));
	out->created_by = xstrdup(store_col_text(s, 6, NULL) ? store_col_text(s, 6, NULL) : "");
	copy_text(out->updated, sizeof(out->updated), store_col_text(s, 7, NULL));
	out->updated_by = xstrdup(store_col_text(s, 8, NULL) ? store_col_text(s, 8, NULL) : "");
	return 0;
}

int isms_row_load(struct isms_ctx *c, const struct isms_kind *k, const char *id,
		  struct isms_row *out)
{
	struct store_stmt *s = NULL;
	int r;

	memset(out, 0, sizeof(*out));
	if (!id || !*id || strlen(id) >= ISMS_ID_MAX)
		return ERR_NOT_FOUND;
	if ((r = store_prepare(c->st,
			       "SELECT " ROW_COLS " FROM isms_records WHERE kind = ? AND id = ?",
			       &s)) < 0 ||
	    (r = store_bind_str(s, 1, k->name)) < 0 || (r = store_bind_str(s, 2, id)) < 0)
		goto out;
	if ((r = store_step(s)) < 0)
		goto out;
	if (r == 0) {
		r = ERR_NOT_FOUND;
		goto out;
	}
	r = row_from_stmt(s, out);
out:
	store_finalize(s);
	return r;
}

/* The record as callers see it: fields, '_' members, derived members. */
static int row_output(struct isms_ctx *c, const struct isms_kind *k, const struct isms_row *row,
		      json_t **out)
{
	json_t *o = json_deep_copy(row->data);
	int r;

	*out = NULL;
	if (!o)
		return ERR_NOMEM;
	if (json_object_set_new(o, "_id", json_string(row->id)) < 0 ||
	    json_object_set_new(o, "_version", json_integer(row->version)) < 0 ||
	    json_object_set_new(o, "_status", json_string(row->retired ? "retired" : "active")) <
		0 ||
	    json_object_set_new(o, "_created", json_string(row->created)) < 0 ||
	    json_object_set_new(o, "_created_by", json_string(row->created_by)) < 0 ||
	    json_object_set_new(o, "_updated", json_string(row->updated)) < 0 ||
	    json_object_set_new(o, "_updated_by", json_string(row->updated_by)) < 0) {
		json_decref(o);
		return ERR_NOMEM;
	}
	if (k->derive && (r = k->derive(c, o)) < 0) {
		json_decref(o);
		return r;
	}
	*out = o;
	return 0;
}

/* ---- validation ---- */

/* Messages go to d at w, naming the field. */
MM_PRINTF(4, 5)
static void verr(struct diag *d, const struct isms_where *w, const char *field, const char *fmt,
		 ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_verror(d, false, w ? w->file : NULL, w ? w->line : 0, 0, field, fmt, ap);
	va_end(ap);
}

/* True if s[0..n) has a control character not allowed in this type. */
static bool has_controls(const char *s, size_t n, bool multiline)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == 0x7f)
			return true;
		if (ch < 0x20 && !(multiline && (ch == '\n' || ch == '\t' || ch == '\r')))
			return true;
	}
	return false;
}

/*
 * Does a record that a reference may point to exist (and is it active)?
 * A record of an ISMS kind counts only if the actor may read it: a
 * department manager cannot learn that another department's asset exists
 * by referring to it.
 */
static int ref_exists(struct isms_ctx *c, const char *ref_kind, const char *id, bool *found)
{
	const struct isms_kind *rk = NULL;
	struct store_stmt *s = NULL;
	const char *sql;
	int r;

	*found = false;
	if (!strcmp(ref_kind, "departments"))
		sql = "SELECT NULL FROM departments WHERE id = ?";
	else if (!strcmp(ref_kind, "staff"))
		sql = "SELECT NULL FROM staff WHERE id = ?";
	else {
		sql =
		    "SELECT dept FROM isms_records WHERE id = ? AND kind = ? AND status = 'active'";
		rk = isms_kind_find(ref_kind);
	}
	if ((r = store_prepare(c->st, sql, &s)) < 0 || (r = store_bind_str(s, 1, id)) < 0)
		goto out;
	if (strcmp(ref_kind, "departments") && strcmp(ref_kind, "staff") &&
	    (r = store_bind_str(s, 2, ref_kind)) < 0)
		goto out;
	if ((r = store_step(s)) < 0)
		goto out;
	*found = r == 1;
	if (*found && rk)
		*found = isms_may_read_kind(c, rk) &&
			 actor_may_read_dept(
			     c->actor, store_col_is_null(s, 0) ? "" : store_col_text(s, 0, NULL));
	r = 0;
out:
	store_finalize(s);
	return r;
}

/* Check one short string (TEXT, an ENUM, a REF or a list item). */
static bool short_ok(struct diag *d, const struct isms_where *w, const struct isms_field *f,
		     const char *s, size_t n, unsigned max)
{
	if (n > max) {
		verr(d, w, f->name, T("長すぎます(最大 %u バイト)", "too long (at most %u bytes)"),
		     max);
		return false;
	}
	if (has_controls(s, n, false)) {
		verr(d, w, f->name, T("制御文字を含んでいます", "contains control characters"));
		return false;
	}
	return true;
}

static int check_ref(struct isms_ctx *c, struct diag *d, const struct isms_where *w,
		     const struct isms_field *f, const char *id)
{
	bool found;
	int r;

	if ((r = ref_exists(c, f->ref_kind, id, &found)) < 0)
		return r;
	if (!found)
		verr(d, w, f->name,
		     T("参照先の %s に '%s' がありません(または廃止されています)",
		       "no %s '%s' (or it is retired)"),
		     f->ref_kind, id);
	return 0;
}

/*
 * Check value v of field f. check_ref says whether references must be
 * looked up (only when the value is new or changed, so that a record
 * referring to something since retired can still be edited otherwise).
 * Problems go to d; the result is negative only for store failures.
 */
static int check_value(struct isms_ctx *c, const struct isms_field *f, json_t *v, bool check_refs,
		       struct diag *d, const struct isms_where *w)
{
	unsigned max;
	int r;

	switch (f->type) {
	case ISMS_TEXT:
	case ISMS_MARKDOWN: {
		bool md = f->type == ISMS_MARKDOWN;
		max = f->max_len ? f->max_len
				 : (md ? ISMS_MARKDOWN_DEFAULT_MAX : ISMS_TEXT_DEFAULT_MAX);
		if (!json_is_string(v)) {
			verr(d, w, f->name, T("文字列ではありません", "not a string"));
			return 0;
		}
		if (json_string_length(v) > max) {
			verr(d, w, f->name,
			     T("長すぎます(最大 %u バイト)", "too long (at most %u bytes)"), max);
			return 0;
		}
		if (has_controls(json_string_value(v), json_string_length(v), md))
			verr(d, w, f->name,
			     T("制御文字を含んでいます", "contains control characters"));
		return 0;
	}
	case ISMS_DATE: {
		int32_t day;
		if (!json_is_string(v) ||
		    date_parse(json_string_value(v), json_string_length(v), &day) < 0)
			verr(d, w, f->name,
			     T("日付(YYYY-MM-DD)ではありません", "not a date (YYYY-MM-DD)"));
		return 0;
	}
	case ISMS_DATETIME: {
		int64_t ts;
		if (!json_is_string(v) ||
		    ts_parse(json_string_value(v), json_string_length(v), &ts, NULL) < 0)
			verr(d, w, f->name,
			     T("日時(RFC 3339、時差付き)ではありません",
			       "not a date and time (RFC 3339 with an offset)"));
		return 0;
	}
	case ISMS_INT: {
		int64_t lo = f->min, hi = f->max;
		if (lo == 0 && hi == 0) {
			lo = INT64_MIN;
			hi = INT64_MAX;
		}
		if (!json_is_integer(v)) {
			verr(d, w, f->name, T("整数ではありません", "not an integer"));
			return 0;
		}
		if (json_integer_value(v) < lo || json_integer_value(v) > hi)
			verr(d, w, f->name,
			     T("%" PRId64 " から %" PRId64 " の範囲外です",
			       "out of range %" PRId64 " to %" PRId64),
			     lo, hi);
		return 0;
	}
	case ISMS_BOOL:
		if (!json_is_boolean(v))
			verr(d, w, f->name, T("true か false ではありません", "not true or false"));
		return 0;
	case ISMS_ENUM: {
		if (json_is_string(v) && f->values)
			for (size_t i = 0; f->values[i]; i++)
				if (!strcmp(f->values[i], json_string_value(v)) &&
				    strlen(f->values[i]) == json_string_length(v))
					return 0;
		{
			struct buf list;
			buf_init(&list, 4096);
			for (size_t i = 0; f->values && f->values[i]; i++)
				if ((i && buf_puts(&list, ", ") < 0) ||
				    buf_puts(&list, f->values[i]) < 0)
					break;
			verr(d, w, f->name,
			     T("次のいずれかでなければなりません: %s", "must be one of: %s"),
			     list.data ? list.data : "");
			buf_release(&list);
		}
		return 0;
	}
	case ISMS_REF:
		if (!json_is_string(v)) {
			verr(d, w, f->name, T("文字列ではありません", "not a string"));
			return 0;
		}
		if (!short_ok(d, w, f, json_string_value(v), json_string_length(v),
			      ISMS_TEXT_DEFAULT_MAX))
			return 0;
		if (check_refs && f->ref_kind)
			return check_ref(c, d, w, f, json_string_value(v));
		return 0;
	case ISMS_STRLIST: {
		size_t i, most = f->max > 0 ? (size_t)f->max : ISMS_STRLIST_DEFAULT_ITEMS;
		json_t *it;
		max = f->max_len ? f->max_len : ISMS_TEXT_DEFAULT_MAX;
		if (!json_is_array(v)) {
			verr(d, w, f->name,
			     T("文字列の配列ではありません", "not a list of strings"));
			return 0;
		}
		if (json_array_size(v) > most) {
			verr(d, w, f->name,
			     T("項目が多すぎます(最大 %zu 個)", "too many items (at most %zu)"),
			     most);
			return 0;
		}
		json_array_foreach(v, i, it)
		{
			if (!json_is_string(it) || json_string_length(it) == 0) {
				verr(d, w, f->name,
				     T("%zu 番目の項目が空か文字列ではありません",
				       "item %zu is empty or not a string"),
				     i + 1);
				return 0;
			}
			if (!short_ok(d, w, f, json_string_value(it), json_string_length(it), max))
				return 0;
			if (strchr(json_string_value(it), ';')) {
				/* ';' separates the items in CSV. */
				verr(d, w, f->name,
				     T("項目に ';' は使えません", "an item may not contain ';'"));
				return 0;
			}
			if (check_refs && f->ref_kind &&
			    (r = check_ref(c, d, w, f, json_string_value(it))) < 0)
				return r;
		}
		return 0;
	}
	}
	BUG("unknown field type");
}

/* Is the value "not set"? null and empty strings and lists count as unset,
 * so that an empty CSV cell and an absent member mean the same. */
static bool value_unset(const json_t *v)
{
	return !v || json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0) ||
	       (json_is_array(v) && json_array_size(v) == 0);
}

/* Copy the hook's diagnostics into d at w. */
static void diag_move(struct diag *d, const struct diag *from, const struct isms_where *w)
{
	for (size_t i = 0; i < from->n; i++)
		verr(d, w, from->items[i].field, "%s", from->items[i].msg);
	if (from->errors > from->n)
		verr(d, w, NULL, T("(ほか %zu 件)", "(and %zu more)"), from->errors - from->n);
}

int isms_prepare(struct isms_ctx *c, const struct isms_kind *k, const struct isms_row *old,
		 json_t *patch, const char *op, struct diag *d, const struct isms_where *w,
		 json_t **out)
{
	json_t *rec = NULL;
	const char *key;
	json_t *v;
	size_t errors0 = d->errors;
	struct diag hook;
	int r;

	*out = NULL;
	diag_init(&hook, 0);
	if (!json_is_object(patch)) {
		verr(d, w, NULL, T("JSON オブジェクトではありません", "not a JSON object"));
		r = ERR_INVALID;
		goto out;
	}
	rec = old ? json_deep_copy(old->data) : json_object();
	if (!rec) {
		r = ERR_NOMEM;
		goto out;
	}
	json_object_foreach(patch, key, v)
	{
		if (key[0] == '_')
			continue;
		if (!isms_field_find(k, key)) {
			verr(d, w, key, T("%s にこの項目はありません", "not a field of %s"),
			     k->name);
			continue;
		}
		if (value_unset(v)) {
			json_object_del(rec, key);
			continue;
		}
		if (json_object_set(rec, key, v) < 0) {
			r = ERR_NOMEM;
			goto out;
		}
	}
	for (size_t i = 0; i < k->nfields; i++) {
		const struct isms_field *f = &k->fields[i];
		json_t *nv = json_object_get(rec, f->name);
		json_t *ov = old ? json_object_get(old->data, f->name) : NULL;
		if (!nv) {
			if (f->required)
				verr(d, w, f->name, T("必須です", "required"));
			continue;
		}
		if ((r = check_value(c, f, nv, !ov || !json_equal(ov, nv), d, w)) < 0)
			goto out;
	}
	if (d->errors > errors0) {
		r = ERR_INVALID;
		goto out;
	}
	if (k->check) {
		c->op = op;
		c->id = old ? old->id : NULL;
		c->old = old ? old->data : NULL;
		r = k->check(c, rec, &hook);
		c->op = NULL;
		c->id = NULL;
		c->old = NULL;
		if (r < 0)
			goto out;
		diag_move(d, &hook, w);
		if (hook.errors) {
			r = ERR_INVALID;
			goto out;
		}
	}
	/* A department manager may neither touch another department's record
	 * nor move a record of theirs to another department. */
	{
		const char *before = old ? isms_record_dept(k, old->data) : NULL;
		const char *after = isms_record_dept(k, rec);
		const char *bad = NULL;
		if (before && !dept_write_ok(c->actor, before))
			bad = before;
		else if (!dept_write_ok(c->actor, after))
			bad = after;
		if (bad) {
			if (*bad)
				verr(d, w, k->dept_field,
				     T("役割 %s(部署 %s)は部署 %s の記録を変更できません",
				       "role %s (department %s) may not change records of "
				       "department %s"),
				     role_name(c->actor->role),
				     *c->actor->dept ? c->actor->dept : "-", bad);
			else
				verr(d, w, k->dept_field,
				     T("役割 %s(部署 %s)は全庁の記録を変更できません",
				       "role %s (department %s) may not change organisation-wide "
				       "records"),
				     role_name(c->actor->role),
				     *c->actor->dept ? c->actor->dept : "-");
			r = ERR_FORBIDDEN;
			goto out;
		}
	}
	*out = rec;
	rec = NULL;
	r = 0;
out:
	diag_release(&hook);
	json_decref(rec);
	return r;
}

/* ---- writing ---- */

static int next_id(struct isms_ctx *c, const struct isms_kind *k, char id_out[ISMS_ID_MAX])
{
	struct store_stmt *s = NULL;
	int64_t next = 1;
	int r, n;

	if ((r = store_prepare(c->st, "SELECT next FROM isms_seq WHERE kind = ?", &s)) < 0 ||
	    (r = store_bind_str(s, 1, k->name)) < 0 || (r = store_step(s)) < 0)
		goto out;
	if (r == 1)
		next = store_col_int(s, 0);
	store_finalize(s);
	s = NULL;
	n = snprintf(id_out, ISMS_ID_MAX, "%s-%06" PRId64, k->id_prefix, next);
	if (n < 0 || n >= ISMS_ID_MAX) {
		r = ERR_OVERFLOW;
		goto out;
	}
	if ((r = store_prepare(c->st,
			       "INSERT INTO isms_seq (kind, next) VALUES (?, ?) "
			       "ON CONFLICT (kind) DO UPDATE SET next = excluded.next",
			       &s)) < 0 ||
	    (r = store_bind_str(s, 1, k->name)) < 0 || (r = store_bind_int(s, 2, next + 1)) < 0 ||
	    (r = store_step(s)) < 0)
		goto out;
	r = 0;
out:
	store_finalize(s);
	return r;
}

/* The ledger record of one step; its index into *index. */
static int ledger_step(struct isms_ctx *c, const struct isms_kind *k, const char *id,
		       int64_t version, const char *op, const char *hex, json_t *rec,
		       const char *reason, uint64_t *index)
{
	json_t *body = json_object();
	char *text = NULL;
	int r;

	if (!body)
		return ERR_NOMEM;
	if (json_object_set_new(body, "op", json_string(op)) < 0 ||
	    json_object_set_new(body, "kind", json_string(k->name)) < 0 ||
	    json_object_set_new(body, "id", json_string(id)) < 0 ||
	    json_object_set_new(body, "version", json_integer(version)) < 0 ||
	    json_object_set_new(body, "sha256", json_string(hex)) < 0 ||
	    (reason && json_object_set_new(body, "reason", json_string(reason)) < 0) ||
	    (!k->sensitive && json_object_set(body, "data", rec) < 0)) {
		r = ERR_NOMEM;
		goto out;
	}
	text = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
	if (text && strlen(text) > LEDGER_BODY_MAX) {
		/* A record too large for one ledger record is proven by its hash
		 * alone; the history keeps the text. */
		free(text);
		json_object_del(body, "data");
		json_object_set_new(body, "data_omitted", json_true());
		text = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
	}
	if (!text) {
		r = ERR_NOMEM;
		goto out;
	}
	{
		struct audit_rec ar = {"isms", TS_NONE, c->actor->name, text, strlen(text)};
		r = ledger_append(c->lg, &ar, index);
	}
out:
	free(text);
	json_decref(body);
	return r;
}

int isms_write(struct isms_ctx *c, const struct isms_kind *k, const struct isms_row *old,
	       json_t *rec, bool retire, const char *op, const char *reason,
	       char id_out[ISMS_ID_MAX])
{
	return isms_write_ex(c, k, old, rec, retire, op, reason, id_out, false);
}

int isms_write_ex(struct isms_ctx *c, const struct isms_kind *k, const struct isms_row *old,
		  json_t *rec, bool retire, const char *op, const char *reason,
		  char id_out[ISMS_ID_MAX], bool provisional)
{
	struct store_stmt *s = NULL;
	struct buf canon;
	char hex[65], now[TS_TEXT_MAX], id[ISMS_ID_MAX];
	const char *dept = isms_record_dept(k, rec);
	int64_t version = old ? old->version + 1 : 1;
	uint64_t index = 0;
	int r;

	buf_init(&canon, (size_t)64 << 20);
	ts_format_jst(isms_now(c), now);
	if ((r = isms_canonical(rec, &canon, hex)) < 0)
		goto out;
	if (old) {
		copy_text(id, sizeof(id), old->id);
		if ((r = store_prepare(c->st,
				       "UPDATE isms_records SET dept = ?, version = ?, status = ?, "
				       "data = ?, updated = ?, updated_by = ? "
				       "WHERE kind = ? AND id = ? AND version = ?",
				       &s)) < 0 ||
		    (r = store_bind_str(s, 1, *dept ? dept : NULL)) < 0 ||
		    (r = store_bind_int(s, 2, version)) < 0 ||
		    (r = store_bind_str(s, 3, retire ? "retired" : "active")) < 0 ||
		    (r = store_bind_text(s, 4, canon.data, canon.len)) < 0 ||
		    (r = store_bind_str(s, 5, now)) < 0 ||
		    (r = store_bind_str(s, 6, c->actor->name)) < 0 ||
		    (r = store_bind_str(s, 7, k->name)) < 0 || (r = store_bind_str(s, 8, id)) < 0 ||
		    (r = store_bind_int(s, 9, old->version)) < 0 || (r = store_step(s)) < 0)
			goto out;
		if (store_changes(c->st) != 1) {
			r = ERR_CONFLICT;
			goto out;
		}
	} else {
		if ((r = next_id(c, k, id)) < 0)
			goto out;
		if ((r = store_prepare(
			 c->st,
			 "INSERT INTO isms_records (kind, id, dept, version, status, data, "
			 "created, created_by, updated, updated_by) "
			 "VALUES (?, ?, ?, 1, 'active', ?, ?, ?, ?, ?)",
			 &s)) < 0 ||
		    (r = store_bind_str(s, 1, k->name)) < 0 || (r = store_bind_str(s, 2, id)) < 0 ||
		    (r = store_bind_str(s, 3, *dept ? dept : NULL)) < 0 ||
		    (r = store_bind_text(s, 4, canon.data, canon.len)) < 0 ||
		    (r = store_bind_str(s, 5, now)) < 0 ||
		    (r = store_bind_str(s, 6, c->actor->name)) < 0 ||
		    (r = store_bind_str(s, 7, now)) < 0 ||
		    (r = store_bind_str(s, 8, c->actor->name)) < 0 || (r = store_step(s)) < 0)
			goto out;
	}
	store_finalize(s);
	s = NULL;
	if (provisional) {
		if (id_out)
			copy_text(id_out, ISMS_ID_MAX, id);
		r = 0;
		goto out;
	}
	if ((r = ledger_step(c, k, id, version, op, hex, rec, reason, &index)) < 0)
		goto out;
	if ((r = store_prepare(
		 c->st,
		 "INSERT INTO isms_history (kind, id, version, op, data, reason, actor, "
		 "at, ledger_index) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
		 &s)) < 0 ||
	    (r = store_bind_str(s, 1, k->name)) < 0 || (r = store_bind_str(s, 2, id)) < 0 ||
	    (r = store_bind_int(s, 3, version)) < 0 || (r = store_bind_str(s, 4, op)) < 0 ||
	    (r = store_bind_text(s, 5, canon.data, canon.len)) < 0 ||
	    (r = store_bind_str(s, 6, reason)) < 0 ||
	    (r = store_bind_str(s, 7, c->actor->name)) < 0 || (r = store_bind_str(s, 8, now)) < 0 ||
	    (r = store_bind_int(s, 9, (int64_t)index)) < 0 || (r = store_step(s)) < 0)
		goto out;
	if (id_out)
		copy_text(id_out, ISMS_ID_MAX, id);
	r = 0;
out:
	store_finalize(s);
	buf_release(&canon);
	return r;
}

/* ---- the public steps ---- */

static bool op_ok(const char *op)
{
	size_t n = op ? strlen(op) : 0;

	if (n < 1 || n > 32)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((op[i] >= 'a' && op[i] <= 'z') || op[i] == '_'))
			return false;
	return true;
}

static void forbidden_kind(struct isms_ctx *c, const struct isms_kind *k, struct diag *d)
{
	if (d)
		diag_error(d, NULL, 0, 0, NULL,
			   T("役割 %s は %s(%s)を変更できません", "role %s may not change %s (%s)"),
			   role_name(c->actor->role), k->name, T(k->ja, k->en));
}

int isms_create(struct isms_ctx *c, const struct isms_kind *k, json_t *data, struct diag *d,
		char id_out[ISMS_ID_MAX])
{
	json_t *rec = NULL;
	bool own = false;
	int r;

	id_out[0] = '\0';
	if (!isms_may_write_kind(c, k)) {
		forbidden_kind(c, k, d);
		return ERR_FORBIDDEN;
	}
	if ((r = isms_tx_enter(c, &own)) < 0)
		return r;
	if ((r = isms_prepare(c, k, NULL, data, "create", d, NULL, &rec)) < 0)
		goto out;
	r = isms_write(c, k, NULL, rec, false, "create", NULL, id_out);
out:
	r = isms_tx_leave(c, own, r);
	if (r < 0)
		id_out[0] = '\0';
	json_decref(rec);
	return r;
}

int isms_update_op(struct isms_ctx *c, const struct isms_kind *k, const char *id, json_t *patch,
		   int64_t if_version, const char *op, struct diag *d)
{
	struct isms_row old = {0};
	json_t *rec = NULL;
	bool own = false;
	int r;

	if (!op_ok(op))
		BUG("isms_update_op: bad op");
	if (!isms_may_write_kind(c, k)) {
		forbidden_kind(c, k, d);
		return ERR_FORBIDDEN;
	}
	if ((r = isms_tx_enter(c, &own)) < 0)
		return r;
	if ((r = isms_row_load(c, k, id, &old)) < 0)
		goto out;
	if (!actor_may_read_dept(c->actor, isms_record_dept(k, old.data))) {
		r = ERR_NOT_FOUND;
		goto out;
	}
	if ((if_version && old.version != if_version) || old.retired) {
		r = ERR_CONFLICT;
		goto out;
	}
	if ((r = isms_prepare(c, k, &old, patch, op, d, NULL, &rec)) < 0)
		goto out;
	r = isms_write(c, k, &old, rec, false, op, NULL, NULL);
out:
	r = isms_tx_leave(c, own, r);
	json_decref(rec);
	isms_row_release(&old);
	return r;
}

int isms_update(struct isms_ctx *c, const struct isms_kind *k, const char *id, json_t *patch,
		int64_t if_version, struct diag *d)
{
	return isms_update_op(c, k, id, patch, if_version, "update", d);
}

int isms_retire(struct isms_ctx *c, const struct isms_kind *k, const char *id, const char *reason)
{
	struct isms_row old = {0};
	bool own = false;
	int r;

	if (!isms_may_write_kind(c, k))
		return ERR_FORBIDDEN;
	if (reason && (strlen(reason) > 1000 || has_controls(reason, strlen(reason), true)))
		return ERR_INVALID;
	if (reason && !*reason)
		reason = NULL;
	if ((r = isms_tx_enter(c, &own)) < 0)
		return r;
	if ((r = isms_row_load(c, k, id, &old)) < 0)
		goto out;
	if (!actor_may_read_dept(c->actor, isms_record_dept(k, old.data))) {
		r = ERR_NOT_FOUND;
		goto out;
	}
	if (!dept_write_ok(c->actor, isms_record_dept(k, old.data))) {
		r = ERR_FORBIDDEN;
		goto out;
	}
	if (old.retired) {
		r = ERR_CONFLICT;
		goto out;
	}
	r = isms_write(c, k, &old, old.data, true, "retire", reason, NULL);
out:
	r = isms_tx_leave(c, own, r);
	isms_row_release(&old);
	return r;
}

int isms_get(struct isms_ctx *c, const struct isms_kind *k, const char *id, json_t **out)
{
	struct isms_row row = {0};
	int r;

	*out = NULL;
	if (!isms_may_read_kind(c, k))
		return ERR_FORBIDDEN;
	if ((r = isms_row_load(c, k, id, &row)) < 0)
		goto out;
	if (!actor_may_read_dept(c->actor, isms_record_dept(k, row.data))) {
		r = ERR_NOT_FOUND;
		goto out;
	}
	r = row_output(c, k, &row, out);
out:
	isms_row_release(&row);
	return r;
}

int isms_history(struct isms_ctx *c, const struct isms_kind *k, const char *id, json_t **out)
{
	struct isms_row row = {0};
	struct store_stmt *s = NULL;
	json_t *arr = NULL;
	int r;

	*out = NULL;
	if (!isms_may_read_kind(c, k))
		return ERR_FORBIDDEN;
	if ((r = isms_row_load(c, k, id, &row)) < 0)
		goto out;
	if (!actor_may_read_dept(c->actor, isms_record_dept(k, row.data))) {
		r = ERR_NOT_FOUND;
		goto out;
	}
	if (!(arr = json_array())) {
		r = ERR_NOMEM;
		goto out;
	}
	if ((r = store_prepare(c->st,
			       "SELECT version, op, actor, at, ledger_index, data, reason "
			       "FROM isms_history WHERE kind = ? AND id = ? ORDER BY version",
			       &s)) < 0 ||
	    (r = store_bind_str(s, 1, k->name)) < 0 || (r = store_bind_str(s, 2, row.id)) < 0)
		goto out;
	while ((r = store_step(s)) == 1) {
		json_error_t je;
		size_t len = 0;
		const char *text = store_col_text(s, 5, &len);
		json_t *data = text ? json_loadb(text, len, 0, &je) : NULL;
		json_t *h = json_object();
		if (!data || !h) {
			json_decref(data);
			json_decref(h);
			r = data ? ERR_NOMEM : ERR_CORRUPT;
			goto out;
		}
		json_object_set_new(h, "version", json_integer(store_col_int(s, 0)));
		json_object_set_new(h, "op", json_string(store_col_text(s, 1, NULL)));
		json_object_set_new(h, "actor", json_string(store_col_text(s, 2, NULL)));
		json_object_set_new(h, "at", json_string(store_col_text(s, 3, NULL)));
		json_object_set_new(h, "ledger_index",
				    store_col_is_null(s, 4) ? json_null()
							    : json_integer(store_col_int(s, 4)));
		json_object_set_new(h, "data", data);
		if (!store_col_is_null(s, 6))
			json_object_set_new(h, "reason", json_string(store_col_text(s, 6, NULL)));
		if (json_array_append_new(arr, h) < 0) {
			r = ERR_NOMEM;
			goto out;
		}
	}
	if (r < 0)
		goto out;
	*out = arr;
	arr = NULL;
	r = 0;
out:
	store_finalize(s);
	json_decref(arr);
	isms_row_release(&row);
	return r;
}

/* ---- listing ---- */

/* The text form of a value for filters: strings as they are, integers in
 * decimal, booleans as true/false. */
static bool value_matches(const json_t *v, const char *want)
{
	char tmp[32];
	size_t i;
	json_t *it;

	if (json_is_string(v))
		return !strcmp(json_string_value(v), want);
	if (json_is_integer(v)) {
		snprintf(tmp, sizeof(tmp), "%" PRId64, (int64_t)json_integer_value(v));
		return !strcmp(tmp, want);
	}
	if (json_is_boolean(v))
		return !strcmp(json_is_true(v) ? "true" : "false", want) ||
		       !strcmp(json_is_true(v) ? "1" : "0", want);
	if (json_is_array(v))
		json_array_foreach(v, i, it)
		{
			if (json_is_string(it) && !strcmp(json_string_value(it), want))
				return true;
		}
	return false;
}

static bool row_has_text(const struct isms_kind *k, const struct isms_row *row, const char *q)
{
	if (strstr(row->id, q))
		return true;
	for (size_t i = 0; i < k->nfields; i++) {
		json_t *v = json_object_get(row->data, k->fields[i].name), *it;
		size_t j;
		if (json_is_string(v) && strstr(json_string_value(v), q))
			return true;
		if (json_is_array(v))
			json_array_foreach(v, j, it)
			{
				if (json_is_string(it) && strstr(json_string_value(it), q))
					return true;
			}
	}
	return false;
}

static int row_cmp(const void *pa, const void *pb)
{
	const struct isms_row *a = pa, *b = pb;
	int c;

	if (a->key_missing != b->key_missing)
		return a->key_missing ? -1 : 1;
	if (!a->key_missing) {
		if (a->key_str || b->key_str) {
			c = strcmp(a->key_str ? a->key_str : "", b->key_str ? b->key_str : "");
			if (c)
				return c;
		} else if (a->key_int != b->key_int) {
			return a->key_int < b->key_int ? -1 : 1;
		}
	}
	return strcmp(a->id, b->id);
}

static void row_key(struct isms_row *row, const char *sort)
{
	json_t *v;

	row->key_missing = false;
	row->key_str = NULL;
	row->key_int = 0;
	if (!sort || !*sort || !strcmp(sort, "_id") || !strcmp(sort, "id")) {
		row->key_str = row->id;
	} else if (!strcmp(sort, "_created")) {
		row->key_str = row->created;
	} else if (!strcmp(sort, "_updated")) {
		row->key_str = row->updated;
	} else if (!strcmp(sort, "_version")) {
		row->key_int = row->version;
	} else {
		v = json_object_get(row->data, sort);
		if (json_is_string(v))
			row->key_str = json_string_value(v);
		else if (json_is_integer(v))
			row->key_int = json_integer_value(v);
		else if (json_is_boolean(v))
			row->key_int = json_is_true(v);
		else if (json_is_array(v))
			row->key_int = (int64_t)json_array_size(v);
		else
			row->key_missing = true;
	}
}

static bool sort_ok(const struct isms_kind *k, const char *sort)
{
	static const char *const sys[] = {"_id", "id", "_created", "_updated", "_version", NULL};

	if (!sort || !*sort)
		return true;
	for (size_t i = 0; sys[i]; i++)
		if (!strcmp(sys[i], sort))
			return true;
	return isms_field_find(k, sort) != NULL;
}

/*
 * A range filter "<field>.min" or "<field>.max" (both ends included) on an
 * INT, DATE or DATETIME field: *f is the field and *max says which end.
 * NULL if name is not one.
 */
static const struct isms_field *range_filter(const struct isms_kind *k, const char *name, bool *max)
{
	const char *dot = strrchr(name, '.');
	char base[64];
	const struct isms_field *f;

	if (!dot || (strcmp(dot, ".min") && strcmp(dot, ".max")) ||
	    (size_t)(dot - name) >= sizeof(base))
		return NULL;
	memcpy(base, name, (size_t)(dot - name));
	base[dot - name] = '\0';
	f = isms_field_find(k, base);
	if (!f || (f->type != ISMS_INT && f->type != ISMS_DATE && f->type != ISMS_DATETIME))
		return NULL;
	*max = !strcmp(dot, ".max");
	return f;
}

/* Does value v of f lie on the right side of bound? Unset values never do. */
static bool range_matches(const struct isms_field *f, const json_t *v, const char *bound, bool max)
{
	if (f->type == ISMS_INT) {
		int64_t b;
		if (!json_is_integer(v) ||
		    parse_i64(bound, strlen(bound), INT64_MIN, INT64_MAX, &b) < 0)
			return false;
		return max ? json_integer_value(v) <= b : json_integer_value(v) >= b;
	}
	if (f->type == ISMS_DATETIME) {
		int64_t a, b;
		if (!json_is_string(v) ||
		    ts_parse(json_string_value(v), json_string_length(v), &a, NULL) < 0 ||
		    ts_parse(bound, strlen(bound), &b, NULL) < 0)
			return false;
		return max ? a <= b : a >= b;
	}
	/* Dates as YYYY-MM-DD compare as text. */
	if (!json_is_string(v))
		return false;
	return max ? strcmp(json_string_value(v), bound) <= 0
		   : strcmp(json_string_value(v), bound) >= 0;
}

/* Is bound a valid bound for field f? */
static bool range_bound_ok(const struct isms_field *f, const char *bound)
{
	int64_t x;
	int32_t day;

	if (f->type == ISMS_INT)
		return parse_i64(bound, strlen(bound), INT64_MIN, INT64_MAX, &x) == 0;
	if (f->type == ISMS_DATETIME)
		return ts_parse(bound, strlen(bound), &x, NULL) == 0;
	return date_parse(bound, strlen(bound), &day) == 0;
}

int isms_select(struct isms_ctx *c, const struct isms_kind *k, const struct isms_query *q,
		struct isms_row **rows_out, size_t *n_out)
{
	static const struct isms_query none;
	struct store_stmt *s = NULL;
	struct isms_row *rows = NULL;
	size_t n = 0, cap = 0;
	bool retired = false;
	const char *status = NULL;
	int r;

	*rows_out = NULL;
	*n_out = 0;
	if (!q)
		q = &none;
	if (!isms_may_read_kind(c, k))
		return ERR_FORBIDDEN;
	if (q->nfilters > ARRAY_SIZE(q->filters) || !sort_ok(k, q->sort))
		return ERR_INVALID;
	for (size_t i = 0; i < q->nfilters; i++) {
		const char *f = q->filters[i][0], *v = q->filters[i][1];
		if (!f || !v)
			return ERR_INVALID;
		if (!strcmp(f, "_status")) {
			if (strcmp(v, "active") && strcmp(v, "retired"))
				return ERR_INVALID;
			status = v;
		} else if (strcmp(f, "_id") && strcmp(f, "id") && !isms_field_find(k, f)) {
			bool max;
			const struct isms_field *rf = range_filter(k, f, &max);
			if (!rf || !range_bound_ok(rf, v))
				return ERR_INVALID;
		}
	}
	retired = q->include_retired || status;
	if ((r = store_prepare(c->st,
			       retired ? "SELECT " ROW_COLS
					 " FROM isms_records WHERE kind = ? ORDER BY id"
				       : "SELECT " ROW_COLS " FROM isms_records WHERE kind = ? "
					 "AND status = 'active' ORDER BY id",
			       &s)) < 0 ||
	    (r = store_bind_str(s, 1, k->name)) < 0)
		goto out;
	while ((r = store_step(s)) == 1) {
		struct isms_row row;
		bool keep = true;
		if ((r = row_from_stmt(s, &row)) < 0)
			goto out;
		if (!actor_may_read_dept(c->actor, isms_record_dept(k, row.data)))
			keep = false;
		if (keep && status && strcmp(status, row.retired ? "retired" : "active"))
			keep = false;
		for (size_t i = 0; keep && i < q->nfilters; i++) {
			const char *f = q->filters[i][0], *v = q->filters[i][1];
			if (!strcmp(f, "_status"))
				continue;
			const struct isms_field *rf;
			bool max;
			if (!strcmp(f, "_id") || !strcmp(f, "id"))
				keep = !strcmp(row.id, v);
			else if (!isms_field_find(k, f) && (rf = range_filter(k, f, &max)))
				keep =
				    range_matches(rf, json_object_get(row.data, rf->name), v, max);
			else
				keep = value_matches(json_object_get(row.data, f), v);
		}
		if (keep && q->q && *q->q)
			keep = row_has_text(k, &row, q->q);
		if (!keep) {
			isms_row_release(&row);
			continue;
		}
		if ((r = ARRAY_GROW(rows, cap, n + 1)) < 0) {
			isms_row_release(&row);
			goto out;
		}
		rows[n++] = row;
	}
	if (r < 0)
		goto out;
	for (size_t i = 0; i < n; i++)
		row_key(&rows[i], q->sort);
	if (n > 1)
		qsort(rows, n, sizeof(*rows), row_cmp);
	if (q->desc)
		for (size_t i = 0; i < n / 2; i++) {
			struct isms_row t = rows[i];
			rows[i] = rows[n - 1 - i];
			rows[n - 1 - i] = t;
		}
	*rows_out = rows;
	*n_out = n;
	rows = NULL;
	n = 0;
	r = 0;
out:
	store_finalize(s);
	isms_rows_free(rows, n);
	return r;
}

int isms_list(struct isms_ctx *c, const struct isms_kind *k, const struct isms_query *q,
	      json_t **items_out, size_t *total_out)
{
	struct isms_row *rows = NULL;
	size_t n = 0, page = 1, per = ISMS_PER_PAGE_DEFAULT, first;
	json_t *arr = NULL;
	int r;

	*items_out = NULL;
	*total_out = 0;
	if (q && q->page)
		page = q->page;
	if (q && q->per_page)
		per = q->per_page > ISMS_PER_PAGE_MAX ? ISMS_PER_PAGE_MAX : q->per_page;
	if ((r = isms_select(c, k, q, &rows, &n)) < 0)
		return r;
	if (!(arr = json_array())) {
		r = ERR_NOMEM;
		goto out;
	}
	if (size_mul(page - 1, per, &first) < 0)
		first = SIZE_MAX;
	for (size_t i = first; i < n && i - first < per; i++) {
		json_t *o;
		if ((r = row_output(c, k, &rows[i], &o)) < 0)
			goto out;
		if (json_array_append_new(arr, o) < 0) {
			r = ERR_NOMEM;
			goto out;
		}
	}
	*items_out = arr;
	*total_out = n;
	arr = NULL;
	r = 0;
out:
	json_decref(arr);
	isms_rows_free(rows, n);
	return r;
}
