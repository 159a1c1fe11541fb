/*
 * routes_core.c - the routes of the decision service: health, the OpenAPI
 * document, decisions, access events, reload (docs/api.md).
 */
#include "base/base.h"
#include "base/buf.h"
#include "base/diag.h"
#include "base/i18n.h"
#include "base/log.h"
#include "api/api.h"
#include "api/api_int.h"
#include "instance/instance.h"
#include "ledger/ledger.h"
#include "watch/ingest.h"

static int h_health(struct api_server *s, struct api_req *rq, struct api_reply *rep)
{
	(void)rq;
	rep->status = 200;
	return buf_printf(&rep->body,
			  "{\"status\":\"ok\",\"version\":\"%s\",\"ledger_size\":%" PRIu64 "}",
			  MAMORI_VERSION, ledger_size(instance_ledger(s->in)));
}

static int h_openapi(struct api_server *s, struct api_req *rq, struct api_reply *rep)
{
	(void)s;
	(void)rq;
	rep->status = 200;
	return buf_puts(&rep->body, api_openapi_json());
}

static int h_decide(struct api_server *s, struct api_req *rq, struct api_reply *rep)
{
	int decision = -1, r;

	r = instance_decide(s->in, rq->body.data, rq->body.len, rq->actor.name, &rep->body, &decision);
	if (r < 0) {
		rep->err = r;
		/* For a bad request the explanation is in the body buffer. */
		if ((r == ERR_INVALID || r == ERR_TOO_LARGE || r == ERR_OVERFLOW) &&
		    rep->body.len > 0 &&
		    buf_append(&rep->detail, rep->body.data, rep->body.len) < 0)
			buf_reset(&rep->detail);
		buf_reset(&rep->body);
		return 0;
	}
	rep->status = 200;
	return 0;
}

/*
 * POST /v1/events: a JSON Lines batch of access events, all appended to the
 * ledger before the answer or, if any line is bad, none (watch_ingest).
 * The problem document of a bad line names it in its detail and in the
 * extension members "line" and "field".
 */
static int h_events(struct api_server *s, struct api_req *rq, struct api_reply *rep)
{
	struct diag d;
	uint64_t first = 0;
	size_t count = 0;
	int r;

	diag_init(&d, 1);
	r = watch_ingest(instance_ledger(s->in), rq->actor.name, rq->body.data, rq->body.len, NULL, 0,
			 &d, &first, &count);
	if (r == ERR_INVALID || r == ERR_TOO_LARGE) {
		const struct diag_item *it = d.n > 0 ? &d.items[0] : NULL;

		rep->err = r;
		r = 0;
		if (!it)
			goto out;
		if (it->field)
			r = buf_printf(&rep->detail,
				       T("%ld 行目: フィールド '%s': %s", "line %ld: field '%s': %s"),
				       it->line, it->field, it->msg);
		else
			r = buf_printf(&rep->detail, T("%ld 行目: %s", "line %ld: %s"), it->line,
				       it->msg);
		if (r == 0)
			r = buf_printf(&rep->extra, ",\"line\":%ld", it->line);
		if (r == 0 && it->field && (r = buf_puts(&rep->extra, ",\"field\":")) == 0)
			r = buf_json_str(&rep->extra, it->field, strlen(it->field));
		if (r < 0) {
			/* Too long to quote: the generic message still answers. */
			buf_reset(&rep->detail);
			buf_reset(&rep->extra);
			r = 0;
		}
		goto out;
	}
	if (r < 0) {
		log_error("POST /v1/events: %s", err_msg(r));
		rep->err = r == ERR_BUSY ? ERR_BUSY : ERR_INTERNAL;
		r = 0;
		goto out;
	}
	rep->status = 200;
	r = buf_printf(&rep->body,
		       "{\"accepted\":%zu,\"first_index\":%" PRIu64 ",\"last_index\":%" PRIu64 "}",
		       count, first, first + count - 1);
out:
	diag_release(&d);
	return r;
}

/* Append the items of d (errors, or warnings when warnings is set) as a
 * JSON array of strings. */
static int diag_json_array(const struct diag *d, bool warnings, struct buf *out)
{
	struct buf line;
	bool first = true;
	int r;

	buf_init(&line, 8192);
	if ((r = buf_putc(out, '[')) < 0)
		goto out;
	for (size_t i = 0; i < d->n; i++) {
		if (d->items[i].warning != warnings)
			continue;
		buf_reset(&line);
		if ((r = diag_item_format(&d->items[i], &line)) < 0)
			goto out;
		if ((!first && (r = buf_putc(out, ',')) < 0) ||
		    (r = buf_json_str(out, line.data ? line.data : "", line.len)) < 0)
			goto out;
		first = false;
	}
	r = buf_putc(out, ']');
out:
	buf_release(&line);
	return r;
}

static int h_reload(struct api_server *s, struct api_req *rq, struct api_reply *rep)
{
	struct diag d;
	int r;

	diag_init(&d, 50);
	r = instance_reload(s->in, rq->actor.name, &d);
	if (r < 0) {
		/* Anything the operator has to fix in the policy or the data is
		 * one kind of problem (422), whatever the code underneath. */
		rep->err = diag_has_errors(&d) ? ERR_POLICY : r;
		log_warn("%s", T("再読み込みに失敗しました。以前のポリシーで動作を続けます",
				 "reload failed; still serving the previous policy"));
		if ((r = buf_printf(&rep->detail, "%s (%s)",
				    T("再読み込みに失敗しました。以前のポリシーが有効なままです",
				      "reload failed; the previous policy stays in force"),
				    err_msg(r))) < 0 ||
		    (r = buf_puts(&rep->extra, ",\"diagnostics\":")) < 0 ||
		    (r = diag_json_array(&d, false, &rep->extra)) < 0)
			goto out;
		r = 0;
		goto out;
	}
	rep->status = 200;
	if ((r = buf_puts(&rep->body, "{\"reloaded\":true,\"warnings\":")) < 0 ||
	    (r = diag_json_array(&d, true, &rep->body)) < 0 || (r = buf_putc(&rep->body, '}')) < 0)
		goto out;
out:
	diag_release(&d);
	return r;
}

static const struct api_route routes[] = {
    {"GET", "/v1/health", h_health, 0, API_BODY_NONE},
    {"GET", "/v1/openapi.json", h_openapi, 0, API_BODY_NONE},
    {"POST", "/v1/decide", h_decide, ROLE_SYSTEM | ROLE_ADMIN, API_BODY_JSON},
    {"POST", "/v1/events", h_events, ROLE_SYSTEM | ROLE_ADMIN, API_BODY_LINES},
    {"POST", "/v1/admin/reload", h_reload, ROLE_ADMIN, API_BODY_NONE},
};

const struct api_route_table api_routes_core = {routes, ARRAY_SIZE(routes)};
