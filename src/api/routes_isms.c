/*
 * routes_isms.c - the generic routes of the ISMS records (docs/isms.md):
 * list, create, read, update, retire, history, CSV import and export of
 * every kind the engine knows (src/isms/isms.h). The engine enforces who
 * may read and change what; these routes only translate HTTP.
 *
 *   GET   /v1/isms                     the kinds and their fields
 *   GET   /v1/isms/{kind}              list (?q=&sort=&desc=1&page=&per_page=
 *                                      &include_retired=1&<field>=<value>&format=csv)
 *   POST  /v1/isms/{kind}              create → 201 {"id","version"}
 *   GET   /v1/isms/{kind}/{id}         one record
 *   PATCH /v1/isms/{kind}/{id}         JSON merge update (If-Match: <version>)
 *   POST  /v1/isms/{kind}/{id}/retire  {"reason":...}
 *   GET   /v1/isms/{kind}/{id}/history
 *   POST  /v1/isms/{kind}/import       text/csv, all or nothing
 */
#include "base/base.h"
#include "base/buf.h"
#include "base/diag.h"
#include "base/i18n.h"
#include "api/api.h"
#include "api/api_int.h"
#include "api/routes_isms.h"
#include "instance/instance.h"
#include "isms/isms.h"
#include "store/store.h"

/* ---- shared helpers (routes_isms.h) ---- */

int isms_api_ctx_open(struct api_server *s, struct api_req *rq, struct isms_ctx *c)
{
	struct store *st = NULL;
	int r;

	memset(c, 0, sizeof(*c));
	if ((r = api_pool_get(s, &st)) < 0)
		return r;
	c->st = st;
	c->lg = instance_ledger(s->in);
	c->actor = &rq->actor;
	return 0;
}

void isms_api_ctx_close(struct api_server *s, struct isms_ctx *c)
{
	if (!c->st)
		return;
	isms_tx_rollback(c);
	api_pool_put(s, c->st);
	c->st = NULL;
}

const struct isms_kind *isms_api_kind(struct api_req *rq, struct api_reply *rep, unsigned i)
{
	const struct isms_kind *k = isms_kind_find(api_param(rq, i));

	if (!k)
		api_reply_problem(rep, ERR_NOT_FOUND,
				  T("ISMS の種類 '%s' はありません(GET /v1/isms に一覧があります)",
				    "no ISMS kind '%s' (GET /v1/isms lists them)"),
				  api_param(rq, i));
	return k;
}

bool isms_api_body(struct api_req *rq, struct api_reply *rep, json_t **out)
{
	json_error_t e;
	json_t *v = json_loadb(rq->body.data ? rq->body.data : "", rq->body.len,
			       JSON_REJECT_DUPLICATES, &e);

	*out = NULL;
	if (!v) {
		api_reply_invalid(rep,
				  T("本文が JSON ではありません(%d 行 %d 列: %s)",
				    "the body is not JSON (line %d column %d: %s)"),
				  e.line, e.column, e.text);
		return false;
	}
	if (!json_is_object(v)) {
		json_decref(v);
		api_reply_invalid(
		    rep, "%s",
		    T("本文は JSON オブジェクトにしてください", "the body must be a JSON object"));
		return false;
	}
	*out = v;
	return true;
}

int isms_api_json(struct api_reply *rep, int status, const json_t *v)
{
	char *text = json_dumps(v, JSON_COMPACT);
	int r;

	if (!text)
		return ERR_NOMEM;
	buf_reset(&rep->body);
	r = buf_puts(&rep->body, text);
	free(text);
	if (r == ERR_TOO_LARGE) {
		buf_reset(&rep->body);
		return api_reply_problem(rep, ERR_TOO_LARGE, "%s",
					 T("応答が大きすぎます。per_page を小さくしてください",
					   "the answer is too large; ask for a smaller per_page"));
	}
	if (r < 0)
		return r;
	rep->status = status;
	return 0;
}

int isms_api_fail(struct api_req *rq, struct api_reply *rep, int r, const struct isms_kind *k,
		  const char *id, const struct diag *d)
{
	json_t *errors = NULL;
	char *text = NULL;
	int e = 0;

	rep->err = r;
	buf_reset(&rep->detail);
	if (d && d->n > 0) {
		const struct diag_item *it = &d->items[0];
		if ((e = diag_item_format(it, &rep->detail)) < 0)
			buf_reset(&rep->detail);
		if (d->errors > 1 && buf_printf(&rep->detail, T("(ほか %zu 件)", " (and %zu more)"),
						d->errors - 1) < 0)
			buf_reset(&rep->detail);
		if (!(errors = json_array()))
			return ERR_NOMEM;
		for (size_t i = 0; i < d->n; i++) {
			json_t *o = json_object();
			it = &d->items[i];
			if (!o)
				goto nomem;
			json_object_set_new(o, "field",
					    it->field ? json_string(it->field) : json_null());
			json_object_set_new(o, "message", json_string(it->msg));
			if (it->line > 0)
				json_object_set_new(o, "line", json_integer(it->line));
			if (it->file)
				json_object_set_new(o, "file", json_string(it->file));
			json_array_append_new(errors, o);
		}
		if (!(text = json_dumps(errors, JSON_COMPACT)))
			goto nomem;
		buf_reset(&rep->extra);
		if (buf_puts(&rep->extra, ",\"errors\":") < 0 || buf_puts(&rep->extra, text) < 0)
			buf_reset(&rep->extra);
		free(text);
		json_decref(errors);
		if (r != ERR_FORBIDDEN)
			return 0;
	}
	if (r == ERR_FORBIDDEN && rep->detail.len == 0)
		e = buf_printf(&rep->detail,
			       T("役割「%s」(部署 %s)にはこの操作が許されていません(%s)",
				 "the role '%s' (department %s) may not do this (%s)"),
			       role_name(rq->actor.role), *rq->actor.dept ? rq->actor.dept : "-",
			       k ? k->name : "isms");
	else if (r == ERR_NOT_FOUND && k && id)
		e = buf_printf(&rep->detail,
			       T("%s の記録 '%s' はありません", "no record of %s with id '%s'"),
			       k->name, id);
	else if (r == ERR_CONFLICT)
		e = buf_printf(
		    &rep->detail, "%s",
		    T("記録は別の変更で新しい版になっているか、廃止されています。"
		      "読み直してからやり直してください",
		      "the record has a newer version or is retired; read it again and retry"));
	if (e < 0)
		buf_reset(&rep->detail);
	return 0;
nomem:
	json_decref(errors);
	return ERR_NOMEM;
}

bool isms_api_if_match(struct api_req *rq, struct api_reply *rep, int64_t *out)
{
	const char *h = api_header(rq, "If-Match");
	const char *p;
	size_t n;

	*out = 0;
	if (!h || !*h)
		return true;
	p = h;
	if (!strncmp(p, "W/", 2))
		p += 2;
	n = strlen(p);
	if (n >= 2 && p[0] == '"' && p[n - 1] == '"') {
		p++;
		n -= 2;
	}
	if (parse_i64(p, n, 1, INT64_MAX, out) < 0) {
		api_reply_invalid(
		    rep,
		    T("If-Match は記録の版(例: \"3\")にしてください('%.40s')",
		      "If-Match must be the record's version, e.g. \"3\" (got '%.40s')"),
		    h);
		return false;
	}
	return true;
}

/* ---- the routes ---- */

static const char *ftype_name(enum isms_ftype t)
{
	static const char *const names[] = {"text", "markdown", "date", "datetime", "int",
					    "bool", "enum",	"ref",	"strlist"};
	return (size_t)t < ARRAY_SIZE(names) ? names[t] : "?";
}

/* GET /v1/isms: the kinds, each with its fields, for consoles and tools. */
static int h_kinds(struct api_server *s, struct api_req *rq, struct api_reply *rep)
{
	json_t *arr = json_array();
	int r;

	(void)s;
	(void)rq;
	if (!arr)
		return ERR_NOMEM;
	for (size_t i = 0; isms_kinds[i]; i++) {
		const struct isms_kind *k = isms_kinds[i];
		json_t *o = json_object(), *fs = json_array();
		if (!o || !fs) {
			json_decref(o);
			json_decref(fs);
			json_decref(arr);
			return ERR_NOMEM;
		}
		json_object_set_new(o, "name", json_string(k->name));
		json_object_set_new(o, "label", json_string(T(k->ja, k->en)));
		json_object_set_new(o, "ja", json_string(k->ja));
		json_object_set_new(o, "en", json_string(k->en));
		json_object_set_new(o, "id_prefix", json_string(k->id_prefix));
		json_object_set_new(o, "dept_field",
				    k->dept_field ? json_string(k->dept_field) : json_null());
		json_object_set_new(o, "sensitive", json_boolean(k->sensitive));
		for (size_t j = 0; j < k->nfields; j++) {
			const struct isms_field *f = &k->fields[j];
			json_t *fo = json_object();
			if (!fo)
				continue;
			json_object_set_new(fo, "name", json_string(f->name));
			json_object_set_new(fo, "type", json_string(ftype_name(f->type)));
			json_object_set_new(fo, "required", json_boolean(f->required));
			json_object_set_new(fo, "label", json_string(T(f->ja, f->en)));
			if (f->type == ISMS_INT && (f->min || f->max)) {
				json_object_set_new(fo, "min", json_integer(f->min));
				json_object_set_new(fo, "max", json_integer(f->max));
			}
			if (f->type == ISMS_ENUM && f->values) {
				json_t *vs = json_array();
				for (size_t v = 0; vs && f->values[v]; v++)
					json_array_append_new(vs, json_string(f->values[v]));
				json_object_set_new(fo, "values", vs);
			}
			if (f->ref_kind)
				json_object_set_new(fo, "ref_kind", json_string(f->ref_kind));
			json_array_append_new(fs, fo);
		}
		json_object_set_new(o, "fields", fs);
		json_array_append_new(arr, o);
	}
	r = isms_api_json(rep, 200, arr);
	json_decref(arr);
	return r;
}

/* Fill q from the query arguments (filter names kept in names, which must
 * live as long as q); false with a 400 problem if bad. */
static bool query_from_args(struct api_req *rq, struct api_reply *rep, const struct isms_kind *k,
			    struct isms_query *q, char names[16][80])
{
	const char *v;
	int64_t n;

	memset(q, 0, sizeof(*q));
	q->q = api_query(rq, "q");
	q->sort = api_query(rq, "sort");
	if (q->sort && *q->sort && q->sort[0] != '_' && strcmp(q->sort, "id") &&
	    !isms_field_find(k, q->sort)) {
		api_reply_invalid(rep,
				  T("sort: %s にこの項目はありません", "sort: no field '%s' in %s"),
				  q->sort, k->name);
		return false;
	}
	v = api_query(rq, "desc");
	q->desc = v && (!strcmp(v, "1") || !strcmp(v, "true"));
	v = api_query(rq, "include_retired");
	q->include_retired = v && (!strcmp(v, "1") || !strcmp(v, "true"));
	if ((v = api_query(rq, "page")) && *v) {
		if (parse_i64(v, strlen(v), 1, 1000000, &n) < 0) {
			api_reply_invalid(rep,
					  T("page は 1 以上の整数にしてください('%.40s')",
					    "page must be a whole number from 1 (got '%.40s')"),
					  v);
			return false;
		}
		q->page = (size_t)n;
	}
	if ((v = api_query(rq, "per_page")) && *v) {
		if (parse_i64(v, strlen(v), 1, ISMS_PER_PAGE_MAX, &n) < 0) {
			api_reply_invalid(
			    rep,
			    T("per_page は 1 から %d の整数にしてください('%.40s')",
			      "per_page must be a whole number from 1 to %d (got '%.40s')"),
			    ISMS_PER_PAGE_MAX, v);
			return false;
		}
		q->per_page = (size_t)n;
	}
	/* Every argument named like a field (or _status, id) filters, and
	 * <field>.min / <field>.max bound numbers and dates. */
	for (size_t i = 0; i < 3 * k->nfields + 2; i++) {
		char name_buf[80];
		const char *name;
		if (i < k->nfields)
			name = k->fields[i].name;
		else if (i == k->nfields)
			name = "_status";
		else if (i == k->nfields + 1)
			name = "id";
		else {
			const struct isms_field *f = &k->fields[(i - k->nfields - 2) / 2];
			if (f->type != ISMS_INT && f->type != ISMS_DATE && f->type != ISMS_DATETIME)
				continue;
			snprintf(name_buf, sizeof(name_buf), "%s.%s", f->name,
				 (i - k->nfields - 2) % 2 ? "max" : "min");
			name = name_buf;
		}
		if (!(v = api_query(rq, name)))
			continue;
		if (q->nfilters >= ARRAY_SIZE(q->filters)) {
			api_reply_invalid(rep, "%s",
					  T("絞り込みの条件が多すぎます", "too many filters"));
			return false;
		}
		if (!strcmp(name, "_status") && strcmp(v, "active") && strcmp(v, "retired")) {
			api_reply_invalid(rep,
					  T("_status は active か retired です('%.40s')",
					    "_status is active or retired (got '%.40s')"),
					  v);
			return false;
		}
		snprintf(names[q->nfilters], 80, "%s", name);
		q->filters[q->nfilters][0] = names[q->nfilters];
		q->filters[q->nfilters][1] = v;
		q->nfilters++;
	}
	return true;
}

static int h_list(struct api_server *s, struct api_req *rq, struct api_reply *rep)
{
	const struct isms_kind *k = isms_api_kind(rq, rep, 0);
	struct isms_ctx c = {0};
	struct isms_query q;
	char names[16][80];
	const char *fmt = api_query(rq, "format");
	json_t *items = NULL, *o = NULL;
	size_t total = 0;
	int r;

	if (!k || !query_from_args(rq, rep, k, &q, names))
		return 0;
	if (fmt && strcmp(fmt, "csv") && strcmp(fmt, "json"))
		return api_reply_invalid(
		    rep,
		    T("format は json か csv です('%.40s')", "format is json or csv (got '%.40s')"),
		    fmt);
	if ((r = isms_api_ctx_open(s, rq, &c)) < 0)
		return r;
	if (fmt && !strcmp(fmt, "csv")) {
		char disp[128];
		r = isms_export_csv(&c, k, &q, &rep->body);
		if (r == ERR_TOO_LARGE) {
			buf_reset(&rep->body);
			r = api_reply_problem(rep, ERR_TOO_LARGE, "%s",
					      T("CSV が大きすぎます。絞り込んでください",
						"the CSV is too large; filter the records"));
			goto out;
		}
		if (r < 0) {
			buf_reset(&rep->body);
			r = isms_api_fail(rq, rep, r, k, NULL, NULL);
			goto out;
		}
		snprintf(disp, sizeof(disp), "attachment; filename=\"%s.csv\"", k->name);
		rep->status = 200;
		rep->ctype = "text/csv; charset=utf-8";
		r = api_reply_header(rep, "Content-Disposition", disp);
		goto out;
	}
	if ((r = isms_list(&c, k, &q, &items, &total)) < 0) {
		if (r == ERR_INVALID)
			r = api_reply_invalid(
			    rep, "%s",
			    T("絞り込みの値が項目の型に合いません(.min/.max は数値か日付)",
			      "a filter's value does not fit its field (.min/.max take a "
			      "number or a date)"));
		else
			r = isms_api_fail(rq, rep, r, k, NULL, NULL);
		goto out;
	}
	if (!(o = json_object())) {
		r = ERR_NOMEM;
		goto out;
	}
	json_object_set_new(o, "kind", json_string(k->name));
	json_object_set_new(o, "total", json_integer((json_int_t)total));
	json_object_set_new(o, "page", json_integer((json_int_t)(q.page ? q.page : 1)));
	json_object_set_new(
	    o, "per_page",
	    json_integer((json_int_t)(q.per_page ? q.per_page : ISMS_PER_PAGE_DEFAULT)));
	json_object_set(o, "items", items);
	r = isms_api_json(rep, 200, o);
out:
	json_decref(items);
	json_decref(o);
	isms_api_ctx_close(s, &c);
	return r;
}

static int h_create(struct api_server *s, struct api_req *rq, struct api_reply *rep)
{
	const struct isms_kind *k = isms_api_kind(rq, rep, 0);
	struct isms_ctx c = {0};
	json_t *body = NULL, *o = NULL;
	char id[ISMS_ID_MAX], loc[128];
	struct diag d;
	int r;

	diag_init(&d, 100);
	if (!k || !isms_api_body(rq, rep, &body))
		return 0;
	if ((r = isms_api_ctx_open(s, rq, &c)) < 0)
		goto out;
	if ((r = isms_create(&c, k, body, &d, id)) < 0) {
		r = isms_api_fail(rq, rep, r, k, NULL, &d);
		goto out;
	}
	snprintf(loc, sizeof(loc), "/v1/isms/%s/%s", k->name, id);
	if ((r = api_reply_header(rep, "Location", loc)) < 0)
		goto out;
	o = json_pack("{s:s,s:i}", "id", id, "version", 1);
	r = o ? isms_api_json(rep, 201, o) : ERR_NOMEM;
out:
	json_decref(o);
	json_decref(body);
	diag_release(&d);
	isms_api_ctx_close(s, &c);
	return r;
}

static int h_get(struct api_server *s, struct api_req *rq, struct api_reply *rep)
{
	const struct isms_kind *k = isms_api_kind(rq, rep, 0);
	struct isms_ctx c = {0};
	json_t *o = NULL;
	int r;

	if (!k)
		return 0;
	if ((r = isms_api_ctx_open(s, rq, &c)) < 0)
		return r;
	if ((r = isms_get(&c, k, api_param(rq, 1), &o)) < 0) {
		r = isms_api_fail(rq, rep, r, k, api_param(rq, 1), NULL);
		goto out;
	}
	{
		char etag[32];
		snprintf(etag, sizeof(etag), "\"%" PRId64 "\"",
			 (int64_t)json_integer_value(json_object_get(o, "_version")));
		if ((r = api_reply_header(rep, "ETag", etag)) < 0)
			goto out;
	}
	r = isms_api_json(rep, 200, o);
out:
	json_decref(o);
	isms_api_ctx_close(s, &c);
	return r;
}

static int h_update(struct api_server *s, struct api_req *rq, struct api_reply *rep)
{
	const struct isms_kind *k = isms_api_kind(rq, rep, 0);
	struct isms_ctx c = {0};
	json_t *body = NULL, *o = NULL;
	int64_t ifv = 0;
	struct diag d;
	int r;

	diag_init(&d, 100);
	if (!k || !isms_api_if_match(rq, rep, &ifv) || !isms_api_body(rq, rep, &body))
		return 0;
	if ((r = isms_api_ctx_open(s, rq, &c)) < 0)
		goto out;
	if ((r = isms_update(&c, k, api_param(rq, 1), body, ifv, &d)) < 0 ||
	    (r = isms_get(&c, k, api_param(rq, 1), &o)) < 0) {
		r = isms_api_fail(rq, rep, r, k, api_param(rq, 1), &d);
		goto out;
	}
	r = isms_api_json(rep, 200, o);
out:
	json_decref(o);
	json_decref(body);
	diag_release(&d);
	isms_api_ctx_close(s, &c);
	return r;
}

static int h_retire(struct api_server *s, struct api_req *rq, struct api_reply *rep)
{
	const struct isms_kind *k = isms_api_kind(rq, rep, 0);
	struct isms_ctx c = {0};
	json_t *body = NULL, *reason, *o = NULL;
	int r;

	if (!k || !isms_api_body(rq, rep, &body))
		return 0;
	reason = json_object_get(body, "reason");
	if (!json_is_string(reason) || json_string_length(reason) == 0 ||
	    json_string_length(reason) > 1000) {
		json_decref(body);
		return api_reply_invalid(rep, "%s",
					 T("reason(1 から 1000 バイトの文字列)が必要です",
					   "a reason (a string of 1 to 1000 bytes) is required"));
	}
	if ((r = isms_api_ctx_open(s, rq, &c)) < 0)
		goto out;
	if ((r = isms_retire(&c, k, api_param(rq, 1), json_string_value(reason))) < 0 ||
	    (r = isms_get(&c, k, api_param(rq, 1), &o)) < 0) {
		r = isms_api_fail(rq, rep, r, k, api_param(rq, 1), NULL);
		goto out;
	}
	r = isms_api_json(rep, 200, o);
out:
	json_decref(o);
	json_decref(body);
	isms_api_ctx_close(s, &c);
	return r;
}

static int h_history(struct api_server *s, struct api_req *rq, struct api_reply *rep)
{
	const struct isms_kind *k = isms_api_kind(rq, rep, 0);
	struct isms_ctx c = {0};
	json_t *h = NULL, *o = NULL;
	int r;

	if (!k)
		return 0;
	if ((r = isms_api_ctx_open(s, rq, &c)) < 0)
		return r;
	if ((r = isms_history(&c, k, api_param(rq, 1), &h)) < 0) {
		r = isms_api_fail(rq, rep, r, k, api_param(rq, 1), NULL);
		goto out;
	}
	o = json_pack("{s:s,s:s,s:O}", "kind", k->name, "id", api_param(rq, 1), "history", h);
	r = o ? isms_api_json(rep, 200, o) : ERR_NOMEM;
out:
	json_decref(h);
	json_decref(o);
	isms_api_ctx_close(s, &c);
	return r;
}

static int h_import(struct api_server *s, struct api_req *rq, struct api_reply *rep)
{
	const struct isms_kind *k = isms_api_kind(rq, rep, 0);
	struct isms_ctx c = {0};
	char fname[64];
	size_t count = 0;
	struct diag d;
	json_t *o = NULL;
	int r;

	if (!k)
		return 0;
	diag_init(&d, 200);
	snprintf(fname, sizeof(fname), "%s.csv", k->name);
	if ((r = isms_api_ctx_open(s, rq, &c)) < 0)
		goto out;
	if ((r = isms_import_csv(&c, k, rq->body.data, rq->body.len, fname, &d, &count)) < 0) {
		r = isms_api_fail(rq, rep, r, k, NULL, &d);
		goto out;
	}
	o = json_pack("{s:s,s:I}", "kind", k->name, "count", (json_int_t)count);
	r = o ? isms_api_json(rep, 200, o) : ERR_NOMEM;
out:
	json_decref(o);
	diag_release(&d);
	isms_api_ctx_close(s, &c);
	return r;
}

static const struct api_route routes[] = {
    {"GET", "/v1/isms", h_kinds, ROLES_STAFF, API_BODY_NONE},
    {"GET", "/v1/isms/{}", h_list, ROLES_STAFF, API_BODY_NONE},
    {"POST", "/v1/isms/{}", h_create, ROLES_STAFF, API_BODY_JSON},
    {"POST", "/v1/isms/{}/import", h_import, ROLES_STAFF, API_BODY_CSV},
    {"GET", "/v1/isms/{}/{}", h_get, ROLES_STAFF, API_BODY_NONE},
    {"PATCH", "/v1/isms/{}/{}", h_update, ROLES_STAFF, API_BODY_JSON},
    {"POST", "/v1/isms/{}/{}/retire", h_retire, ROLES_STAFF, API_BODY_JSON},
    {"GET", "/v1/isms/{}/{}/history", h_history, ROLES_STAFF, API_BODY_NONE},
};

const struct api_route_table api_routes_isms = {routes, ARRAY_SIZE(routes)};
