/*
 * routes_watch.c - the routes of alerts: list with filters, one alert
 * with its events and history, and triage (docs/api.md "Alerts",
 * src/watch/alerts.h).
 *
 * Who may: admin, CISO, CSIRT and auditors read every alert; a
 * department manager reads only the alerts of their own department (the
 * listing is limited to it, another department is 403). Triage: admin,
 * CISO, CSIRT, and a department manager for their own department's
 * alerts; an auditor never writes (403 from the route's roles).
 *
 * Every bad input answers a problem document whose extension member
 * "field" names the query argument, path segment or body member at fault.
 */
#include "base/base.h"
#include "base/actor.h"
#include "base/buf.h"
#include "base/i18n.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "api/api.h"
#include "api/api_int.h"
#include "instance/instance.h"
#include "store/store.h"
#include "watch/alerts.h"
#include "watch/watch.h"

#include <string.h>

#include <jansson.h>

#define ALERT_READ (ROLE_ADMIN | ROLE_CISO | ROLE_CSIRT | ROLE_AUDITOR | ROLE_DEPT_MANAGER)
#define ALERT_WRITE (ROLE_ADMIN | ROLE_CISO | ROLE_CSIRT | ROLE_DEPT_MANAGER)
/* The longest triage body: a reason and a little JSON around it. */
#define TRIAGE_BODY_MAX ((size_t)16 << 10)

/* A 400 problem naming field; returns 0 for `return bad_field(...)`. */
static int bad_field(struct api_reply *rep, const char *field, const char *fmt, ...)
	MM_PRINTF(3, 4);
static int bad_field(struct api_reply *rep, const char *field, const char *fmt, ...)
{
	va_list ap;

	rep->err = ERR_INVALID;
	buf_reset(&rep->detail);
	va_start(ap, fmt);
	if (buf_vprintf(&rep->detail, fmt, ap) < 0)
		buf_reset(&rep->detail);
	va_end(ap);
	buf_reset(&rep->extra);
	if (buf_puts(&rep->extra, ",\"field\":") < 0 ||
	    buf_json_str(&rep->extra, field, strlen(field)) < 0)
		buf_reset(&rep->extra);
	return 0;
}

/* An id as FORMATS.md has it: 1-64 printable ASCII characters, no space. */
static bool id_ok(const char *s)
{
	size_t n = strlen(s);
	if (n < 1 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return false;
	return true;
}

static bool severity_ok(const char *s)
{
	for (int v = WSEV_LOW; v <= WSEV_CRITICAL; v++)
		if (strcmp(s, watch_severity_name((enum watch_severity)v)) == 0)
			return true;
	return false;
}

static bool rule_ok(const char *s)
{
	for (int i = 0; i < WR__COUNT; i++)
		if (strcmp(s, watch_rule_info(i)->code) == 0)
			return true;
	return false;
}

/* A whole number 1..max from the query, or def when absent. */
static bool query_count(struct api_req *rq, struct api_reply *rep, const char *name,
			uint64_t max, uint64_t def, uint64_t *out)
{
	const char *v = api_query(rq, name);
	int64_t n;

	*out = def;
	if (!v)
		return true;
	if (parse_i64(v, strlen(v), 1, (int64_t)max, &n) < 0) {
		bad_field(rep, name,
			  T("クエリー引数 '%s' は 1 から %" PRIu64 " までの整数にしてください（'%.40s'）",
			    "query argument '%s' must be a whole number from 1 to %" PRIu64
			    " (got '%.40s')"),
			  name, max, v);
		return false;
	}
	*out = (uint64_t)n;
	return true;
}

static bool query_date(struct api_req *rq, struct api_reply *rep, const char *name, int32_t *out)
{
	const char *v = api_query(rq, name);

	*out = DAY_NONE;
	if (!v)
		return true;
	if (date_parse(v, strlen(v), out) < 0) {
		bad_field(rep, name,
			  T("クエリー引数 '%s' は日付（YYYY-MM-DD）にしてください（'%.40s'）",
			    "query argument '%s' must be a date (YYYY-MM-DD), got '%.40s'"),
			  name, v);
		return false;
	}
	return true;
}

/* Map an error of the alert functions to the reply. */
static int reply_err(struct api_reply *rep, int r, const char *what)
{
	switch (r) {
	case ERR_NOT_FOUND:
		return api_reply_problem(rep, r, T("アラート %s はありません", "no alert %s"), what);
	case ERR_FORBIDDEN:
		return api_reply_problem(rep, r, "%s",
					 T("このアラートは権限の範囲外です（所属外のアラート）",
					   "this alert is outside what you may see or change "
					   "(another department)"));
	case ERR_NOMEM:
	case ERR_TOO_LARGE:
		rep->err = r;
		return 0;
	default:
		log_error("alerts %s: %s", what, err_msg(r));
		rep->err = ERR_INTERNAL;
		return 0;
	}
}

static int h_alerts_list(struct api_server *s, struct api_req *rq, struct api_reply *rep)
{
	struct alert_filter f = {0};
	struct store *st = NULL;
	enum alert_status as;
	int r;

	f.status = api_query(rq, "status");
	f.severity = api_query(rq, "severity");
	f.rule = api_query(rq, "rule");
	f.staff = api_query(rq, "staff");
	f.dept = api_query(rq, "dept");
	if (f.status && alert_status_parse(f.status, &as) < 0)
		return bad_field(rep, "status",
				 T("status は open, confirmed, false_positive, escalated のいずれかです（'%.40s'）",
				   "status must be one of open, confirmed, false_positive, escalated "
				   "(got '%.40s')"),
				 f.status);
	if (f.severity && !severity_ok(f.severity))
		return bad_field(rep, "severity",
				 T("severity は low, medium, high, critical のいずれかです（'%.40s'）",
				   "severity must be one of low, medium, high, critical (got '%.40s')"),
				 f.severity);
	if (f.rule && !rule_ok(f.rule))
		return bad_field(rep, "rule",
				 T("rule '%.40s' はありません（例: W-UNEXPLAINED, W-DV-SUPPORT）",
				   "no rule '%.40s' (e.g. W-UNEXPLAINED, W-DV-SUPPORT)"),
				 f.rule);
	if (f.staff && !id_ok(f.staff))
		return bad_field(rep, "staff",
				 T("staff は空白を含まない 1〜64 文字の ID です",
				   "staff must be an id of 1-64 printable characters without spaces"));
	if (f.dept && !id_ok(f.dept))
		return bad_field(rep, "dept",
				 T("dept は空白を含まない 1〜64 文字の ID です",
				   "dept must be an id of 1-64 printable characters without spaces"));
	if (!query_date(rq, rep, "from", &f.from) || !query_date(rq, rep, "to", &f.to))
		return 0;
	if (f.from != DAY_NONE && f.to != DAY_NONE && f.from > f.to)
		return bad_field(rep, "from", "%s",
				 T("from が to より後の日付です", "from is after to"));
	if (!query_count(rq, rep, "page", 1000000, 1, &f.page) ||
	    !query_count(rq, rep, "per_page", ALERT_PAGE_MAX, 50, &f.per_page))
		return 0;
	if (rq->actor.role == ROLE_DEPT_MANAGER && f.dept && strcmp(f.dept, rq->actor.dept) != 0)
		return api_reply_problem(rep, ERR_FORBIDDEN,
					 T("所属 %s のアラートだけを見られます（dept=%.40s）",
					   "you may see the alerts of department %s only (dept=%.40s)"),
					 rq->actor.dept, f.dept);
	if ((r = api_pool_get(s, &st)) < 0) {
		rep->err = r;
		return 0;
	}
	r = alerts_list_json(st, &rq->actor, &f, &rep->body);
	api_pool_put(s, st);
	if (r < 0) {
		buf_reset(&rep->body);
		return reply_err(rep, r, "list");
	}
	rep->status = 200;
	return 0;
}

/* The {id} segment as a positive integer; false with the problem set. */
static bool alert_id(struct api_req *rq, struct api_reply *rep, int64_t *id)
{
	const char *v = api_param(rq, 0);

	if (parse_i64(v, strlen(v), 1, INT64_MAX, id) < 0) {
		bad_field(rep, "id",
			  T("アラート ID は正の整数です（'%.40s'）",
			    "an alert id is a positive whole number (got '%.40s')"),
			  v);
		return false;
	}
	return true;
}

static int h_alert_get(struct api_server *s, struct api_req *rq, struct api_reply *rep)
{
	struct store *st = NULL;
	int64_t id;
	int r;

	if (!alert_id(rq, rep, &id))
		return 0;
	if ((r = api_pool_get(s, &st)) < 0) {
		rep->err = r;
		return 0;
	}
	r = alerts_get_json(st, &rq->actor, id, &rep->body);
	api_pool_put(s, st);
	if (r < 0) {
		buf_reset(&rep->body);
		return reply_err(rep, r, api_param(rq, 0));
	}
	rep->status = 200;
	return 0;
}

static int h_alert_triage(struct api_server *s, struct api_req *rq, struct api_reply *rep)
{
	struct store *st = NULL;
	json_t *j = NULL, *v;
	json_error_t jerr;
	const char *key, *status = NULL, *reason = NULL;
	enum alert_status to;
	int64_t id;
	int r = 0;

	if (!alert_id(rq, rep, &id))
		return 0;
	if (rq->body.len > TRIAGE_BODY_MAX)
		return api_reply_problem(rep, ERR_TOO_LARGE,
					 T("本文は %zu バイトまでです", "the body may be at most %zu bytes"),
					 TRIAGE_BODY_MAX);
	j = json_loadb(rq->body.data ? rq->body.data : "", rq->body.len, JSON_REJECT_DUPLICATES,
		       &jerr);
	if (!json_is_object(j)) {
		bad_field(rep, "body",
			  T("本文は JSON オブジェクト {\"status\":…, \"reason\":…} です（%s）",
			    "the body must be a JSON object {\"status\":…, \"reason\":…} (%s)"),
			  j ? T("オブジェクトではありません", "not an object") : jerr.text);
		goto out;
	}
	json_object_foreach(j, key, v) {
		if (strcmp(key, "status") == 0) {
			if (!json_is_string(v)) {
				bad_field(rep, "status", "%s",
					  T("status は文字列です", "status must be a string"));
				goto out;
			}
			status = json_string_value(v);
		} else if (strcmp(key, "reason") == 0) {
			if (!json_is_string(v) && !json_is_null(v)) {
				bad_field(rep, "reason", "%s",
					  T("reason は文字列です", "reason must be a string"));
				goto out;
			}
			reason = json_string_value(v);
		} else {
			bad_field(rep, key,
				  T("不明なフィールド '%.40s'（status と reason だけを指定できます）",
				    "unknown field '%.40s' (only status and reason)"),
				  key);
			goto out;
		}
	}
	if (!status) {
		bad_field(rep, "status", "%s",
			  T("status が必要です（open, confirmed, false_positive, escalated）",
			    "status is required (open, confirmed, false_positive, escalated)"));
		goto out;
	}
	if (alert_status_parse(status, &to) < 0) {
		bad_field(rep, "status",
			  T("status は open, confirmed, false_positive, escalated のいずれかです（'%.40s'）",
			    "status must be one of open, confirmed, false_positive, escalated (got "
			    "'%.40s')"),
			  status);
		goto out;
	}
	if (reason && strlen(reason) > ALERT_REASON_MAX) {
		bad_field(rep, "reason",
			  T("reason は %d バイトまでです", "reason may be at most %d bytes"),
			  ALERT_REASON_MAX);
		goto out;
	}
	if ((r = api_pool_get(s, &st)) < 0) {
		rep->err = r;
		r = 0;
		goto out;
	}
	r = alerts_triage(st, instance_ledger(s->in), &rq->actor, id, to, reason, NULL);
	if (r == 0)
		r = alerts_get_json(st, &rq->actor, id, &rep->body);
	api_pool_put(s, st);
	if (r == ERR_INVALID) {
		r = bad_field(rep, "reason", "%s",
			      T("誤検知（false_positive）には理由（reason）が必要です。理由は改行・タブ以外の"
				"制御文字を含まない UTF-8 の文です",
				"a false positive needs a reason; a reason is UTF-8 text without "
				"control characters other than tab and newline"));
		goto out;
	}
	if (r == ERR_CONFLICT) {
		r = api_reply_problem(rep, ERR_CONFLICT,
				      T("アラート %s は既に %s です", "alert %s is already %s"),
				      api_param(rq, 0), status);
		goto out;
	}
	if (r < 0) {
		buf_reset(&rep->body);
		r = reply_err(rep, r, api_param(rq, 0));
		goto out;
	}
	rep->status = 200;
out:
	json_decref(j);
	return r;
}

static const struct api_route routes[] = {
    {"GET", "/v1/alerts", h_alerts_list, ALERT_READ, API_BODY_NONE},
    {"GET", "/v1/alerts/{}", h_alert_get, ALERT_READ, API_BODY_NONE},
    {"POST", "/v1/alerts/{}", h_alert_triage, ALERT_WRITE, API_BODY_JSON},
};

const struct api_route_table api_routes_watch = {routes, ARRAY_SIZE(routes)};
