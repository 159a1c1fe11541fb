/*
 * routes_isms_cycle.c - the workflow routes of the ISMS cycle
 * (docs/isms-cycle.md): incidents and their PPC clocks, self-inspection,
 * corrective actions, indicators and reviews, continuity, reports.
 *
 *   GET  /v1/incidents                      list with PPC clocks (?status=&dept=&overdue=1&at=&format=csv)
 *   POST /v1/incidents                      report an incident (any staff role but auditors)
 *   POST /v1/incidents/from-alert/{alert}   escalate a watch alert (CSIRT)
 *   GET  /v1/incidents/{id}                 the incident, clocks, tasks, timeline, evidence (?at=)
 *   POST /v1/incidents/{id}/triage          JSON merge patch (CSIRT)
 *   POST /v1/incidents/{id}/timeline        {"type","text","party"?}
 *   POST /v1/incidents/{id}/share           {"party","text"}: sharing with an outside CSIRT
 *   POST /v1/incidents/{id}/tasks           {"title","owner","due"}
 *   POST /v1/incidents/{id}/evidence        {"type":"file","name","content_base64"} |
 *                                           {"type":"alert","alert_id"} | {"type":"ledger","index"}
 *   POST /v1/incidents/{id}/close           {"root_cause","lessons","actions":[...]} (CSIRT)
 *   GET  /v1/incidents/{id}/ppc-report      draft report to the PPC (?format=html|pdf)
 *   POST /v1/ppc/schedule                   the PPC decision and clocks of given facts (no record)
 *   POST /v1/checklists/issue               {"fiscal_year","depts"?}
 *   POST /v1/corrective-actions/{id}/verify {"effective","note"}
 *   GET  /v1/escalations                    overdue actions, tasks, checklists
 *   GET  /v1/isms/actions/overdue           the overdue corrective actions only
 *   GET  /v1/indicators                     indicators from live data
 *   POST /v1/management-reviews             a review with the indicators kept
 *   GET  /v1/bcp/status                     systems, drills overdue, 72-hour checklist
 *   GET  /v1/reports/{name}                 ?format=html|pdf|csv&dept=&year= ("department" = dept-status)
 *   GET  /v1/public/audit-summary           public (?year=&format=html)
 *
 * The records themselves are also under the generic /v1/isms/{kind}
 * routes (answering a checklist is a PATCH of checklist_answers there).
 */
#include "base/base.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "base/buf.h"
#include "base/diag.h"
#include "base/i18n.h"
#include "base/timeutil.h"
#include "api/api.h"
#include "api/api_int.h"
#include "api/routes_isms.h"
#include "instance/instance.h"
#include "isms/isms_cycle.h"
#include "isms/report.h"

/* Everything a handler of this file needs: the engine's ctx and the
 * cycle's settings. */
struct cyc {
	struct isms_ctx c;
	struct cycle_env env;
	struct diag d;
	bool open;
};

static int cyc_open(struct api_server *s, struct api_req *rq, struct api_reply *rep,
		    struct cyc *x)
{
	struct diag cd;
	int r;

	memset(x, 0, sizeof(*x));
	diag_init(&x->d, 50);
	diag_init(&cd, 10);
	r = cycle_env_load(&x->env, instance_dir(s->in), instance_config(s->in)->name, &cd);
	if (r == ERR_INVALID) {
		r = isms_api_fail(rq, rep, ERR_INVALID, NULL, NULL, &cd);
		diag_release(&cd);
		return r < 0 ? r : 1;
	}
	diag_release(&cd);
	if (r < 0)
		return r;
	if ((r = isms_api_ctx_open(s, rq, &x->c)) < 0)
		return r;
	x->open = true;
	return 0;
}

static void cyc_close(struct api_server *s, struct cyc *x)
{
	if (x->open)
		isms_api_ctx_close(s, &x->c);
	diag_release(&x->d);
}

static int fail(struct api_req *rq, struct api_reply *rep, int r, const struct isms_kind *k,
		const char *id, const struct diag *d)
{
	if (r == ERR_FORBIDDEN && (!d || d->n == 0))
		return api_reply_problem(rep, ERR_FORBIDDEN,
					 T("役割 %s（部署 %s）にはこの操作は許可されていません",
					   "role %s (department %s) may not do this"),
					 role_name(rq->actor.role),
					 rq->actor.dept[0] ? rq->actor.dept : "-");
	if (r == ERR_NOT_FOUND && !k)
		return api_reply_problem(rep, ERR_NOT_FOUND, "%s", T("見つかりません", "not found"));
	return isms_api_fail(rq, rep, r, k, id, d);
}

/* ?at= (RFC 3339) as the ctx's time, for clocks "as of"; false with a
 * 400 problem when malformed. */
static bool query_at(struct api_req *rq, struct api_reply *rep, struct isms_ctx *c)
{
	const char *v = api_query(rq, "at");
	int64_t t;

	if (!v || !*v)
		return true;
	if (ts_parse(v, strlen(v), &t, NULL) < 0) {
		api_reply_invalid(rep,
				  T("クエリー引数 'at' は RFC 3339 の日時にしてください: '%.40s'",
				    "query argument 'at' must be an RFC 3339 time: '%.40s'"),
				  v);
		return false;
	}
	c->now = t;
	return true;
}

static bool query_format(struct api_req *rq, struct api_reply *rep, enum cycle_format *f,
			 bool allow_csv)
{
	const char *v = api_query(rq, "format");

	*f = CYCLE_HTML;
	if (!v || !*v || !strcmp(v, "html"))
		return true;
	if (!strcmp(v, "pdf")) {
		*f = CYCLE_PDF;
		return true;
	}
	if (allow_csv && !strcmp(v, "csv")) {
		*f = CYCLE_CSV;
		return true;
	}
	api_reply_invalid(rep, T("format は html, pdf%s のいずれかです", "format is html, pdf%s"),
			  allow_csv ? ", csv" : "");
	return false;
}

static bool query_year(struct api_req *rq, struct api_reply *rep, int64_t *year)
{
	const char *v = api_query(rq, "year");

	*year = 0;
	if (!v || !*v)
		return true;
	if (parse_i64(v, strlen(v), 2000, 2999, year) < 0) {
		api_reply_invalid(rep, "%s", T("year は 2000〜2999 の年度です",
					       "year must be a fiscal year 2000-2999"));
		return false;
	}
	return true;
}

/* Send a rendered document (HTML/PDF/CSV) with a file name. */
static int reply_doc(struct api_reply *rep, struct buf *doc, const char *ctype, const char *base)
{
	char cd[200];
	const char *ext = !strncmp(ctype, "application/pdf", 15) ? "pdf"
			  : !strncmp(ctype, "text/csv", 8)	  ? "csv"
								  : "html";
	int r;

	rep->status = 200;
	rep->ctype = ctype;
	(void)snprintf(cd, sizeof(cd), "%s; filename=\"%s.%s\"",
		  strcmp(ext, "html") ? "attachment" : "inline", base, ext);
	if ((r = api_reply_header(rep, "Content-Disposition", cd)) < 0)
		return r;
	buf_reset(&rep->body);
	return buf_append(&rep->body, doc->data, doc->len);
}

/* A report call's error: PDF without Chromium is a 503 that says so. */
static int report_fail(struct api_req *rq, struct api_reply *rep, int r, enum cycle_format f)
{
	if (f == CYCLE_PDF && r == ERR_NOT_FOUND)
		return api_reply_problem(rep, ERR_BUSY, "%s", report_pdf_missing_msg());
	if (f == CYCLE_PDF && (r == ERR_IO || r == ERR_TIMEOUT))
		return api_reply_problem(rep, r, "%s",
					 T("PDF の作成に失敗しました（Chromium）",
					   "making the PDF failed (Chromium)"));
	return fail(rq, rep, r, NULL, NULL, NULL);
}

/* Reply with v as JSON; percentages and rates print with at most six
 * significant digits (21.4, not 21.399999999999999). */
static int reply_json(struct api_reply *rep, int status, const json_t *v)
{
	char *text = json_dumps(v, JSON_COMPACT | JSON_REAL_PRECISION(6));
	int r;

	if (!text)
		return ERR_NOMEM;
	buf_reset(&rep->body);
	r = buf_puts(&rep->body, text);
	free(text);
	if (r < 0)
		return isms_api_json(rep, status, v);
	rep->status = status;
	return 0;
}

/* ---- incidents ---- */

static int h_incidents_list(struct api_server *s, struct api_req *rq, struct api_reply *rep)
{
	static const char *const filters[] = {"status", "dept", "category", "severity"};
	struct isms_query q;
	struct cyc x;
	json_t *items = NULL, *res = NULL, *kept = NULL, *it;
	size_t total = 0, i;
	bool overdue = api_query(rq, "overdue") && !strcmp(api_query(rq, "overdue"), "1");
	int r;

	if ((r = cyc_open(s, rq, rep, &x)) != 0)
		goto out;
	if (!query_at(rq, rep, &x.c))
		goto out;
	if (api_query(rq, "format") && !strcmp(api_query(rq, "format"), "csv")) {
		struct buf doc;
		const char *ct = NULL;
		buf_init(&doc, API_RESPONSE_MAX);
		r = cycle_report(&x.c, &x.env, "incidents", CYCLE_CSV, NULL, 0, &doc, &ct);
		if (r == 0)
			r = reply_doc(rep, &doc, ct, "incidents");
		else
			r = report_fail(rq, rep, r, CYCLE_CSV);
		buf_release(&doc);
		goto out;
	}
	memset(&q, 0, sizeof(q));
	for (i = 0; i < ARRAY_SIZE(filters); i++)
		if (api_query(rq, filters[i])) {
			q.filters[q.nfilters][0] = filters[i];
			q.filters[q.nfilters++][1] = api_query(rq, filters[i]);
		}
	q.q = api_query(rq, "q");
	q.sort = "_id";
	q.desc = true;
	q.per_page = ISMS_PER_PAGE_MAX;
	if ((r = cycle_incident_list(&x.c, &x.env, &q, &items, &total)) < 0) {
		r = fail(rq, rep, r, &isms_kind_incidents, NULL, NULL);
		goto out;
	}
	if (!(kept = json_array())) {
		r = ERR_NOMEM;
		goto out;
	}
	json_array_foreach(items, i, it)
		if (!overdue || json_is_true(json_object_get(json_object_get(it, "ppc"), "overdue")))
			json_array_append(kept, it);
	res = json_pack("{s:O,s:I}", "items", kept,
			"total", (json_int_t)(overdue ? json_array_size(kept) : total));
	r = res ? isms_api_json(rep, 200, res) : ERR_NOMEM;
out:
	json_decref(items);
	json_decref(kept);
	json_decref(res);
	cyc_close(s, &x);
	return r < 0 ? r : 0;
}

static int h_incident_report(struct api_server *s, struct api_req *rq, struct api_reply *rep)
{
	char id[ISMS_ID_MAX];
	struct cyc x;
	json_t *body = NULL, *res = NULL;
	int r;

	if ((r = cyc_open(s, rq, rep, &x)) != 0 || !isms_api_body(rq, rep, &body))
		goto out;
	if ((r = cycle_incident_report(&x.c, body, &x.d, id)) < 0) {
		r = fail(rq, rep, r, &isms_kind_incidents, NULL, &x.d);
		goto out;
	}
	if ((r = cycle_incident_view(&x.c, &x.env, id, &res)) < 0) {
		r = fail(rq, rep, r, &isms_kind_incidents, id, NULL);
		goto out;
	}
	r = isms_api_json(rep, 201, res);
out:
	json_decref(body);
	json_decref(res);
	cyc_close(s, &x);
	return r < 0 ? r : 0;
}

static int h_incident_get(struct api_server *s, struct api_req *rq, struct api_reply *rep)
{
	struct cyc x;
	json_t *res = NULL;
	int r;

	if ((r = cyc_open(s, rq, rep, &x)) != 0 || !query_at(rq, rep, &x.c))
		goto out;
	if ((r = cycle_incident_view(&x.c, &x.env, api_param(rq, 0), &res)) < 0) {
		r = fail(rq, rep, r, &isms_kind_incidents, api_param(rq, 0), NULL);
		goto out;
	}
	r = isms_api_json(rep, 200, res);
out:
	json_decref(res);
	cyc_close(s, &x);
	return r < 0 ? r : 0;
}

/* Answer the incident as it is after a step. */
static int reply_incident(struct cyc *x, struct api_req *rq, struct api_reply *rep, int status)
{
	json_t *res = NULL;
	int r;

	x->c.now = 0;
	if ((r = cycle_incident_view(&x->c, &x->env, api_param(rq, 0), &res)) < 0)
		return fail(rq, rep, r, &isms_kind_incidents, api_param(rq, 0), NULL);
	r = isms_api_json(rep, status, res);
	json_decref(res);
	return r;
}

/* An incident workflow that takes a JSON body and answers the incident:
 * triage and close share everything but the step itself. */
typedef int (*incident_op)(struct isms_ctx *c, const char *id, json_t *body, struct diag *d);

static int incident_body_op(struct api_server *s, struct api_req *rq, struct api_reply *rep,
			    incident_op op)
{
	struct cyc x;
	json_t *body = NULL;
	int r;

	if ((r = cyc_open(s, rq, rep, &x)) != 0 || !isms_api_body(rq, rep, &body))
		goto out;
	if ((r = op(&x.c, api_param(rq, 0), body, &x.d)) < 0) {
		r = fail(rq, rep, r, &isms_kind_incidents, api_param(rq, 0), &x.d);
		goto out;
	}
	r = reply_incident(&x, rq, rep, 200);
out:
	json_decref(body);
	cyc_close(s, &x);
	return r < 0 ? r : 0;
}

static int h_incident_triage(struct api_server *s, struct api_req *rq, struct api_reply *rep)
{
	return incident_body_op(s, rq, rep, cycle_incident_triage);
}

static int note_common(struct api_server *s, struct api_req *rq, struct api_reply *rep,
		       const char *type)
{
	char id[ISMS_ID_MAX];
	struct cyc x;
	json_t *body = NULL;
	int r;

	if ((r = cyc_open(s, rq, rep, &x)) != 0 || !isms_api_body(rq, rep, &body))
		goto out;
	if (!type)
		type = json_string_value(json_object_get(body, "type"));
	if ((r = cycle_incident_note(&x.c, api_param(rq, 0), type ? type : "note",
				     json_string_value(json_object_get(body, "text")),
				     json_string_value(json_object_get(body, "party")), &x.d, id)) <
	    0) {
		r = fail(rq, rep, r, &isms_kind_incident_timeline, api_param(rq, 0), &x.d);
		goto out;
	}
	r = reply_incident(&x, rq, rep, 201);
out:
	json_decref(body);
	cyc_close(s, &x);
	return r < 0 ? r : 0;
}

static int h_incident_timeline(struct api_server *s, struct api_req *rq, struct api_reply *rep)
{
	return note_common(s, rq, rep, NULL);
}

static int h_incident_share(struct api_server *s, struct api_req *rq, struct api_reply *rep)
{
	return note_common(s, rq, rep, "share");
}

static int h_incident_task(struct api_server *s, struct api_req *rq, struct api_reply *rep)
{
	char id[ISMS_ID_MAX];
	struct cyc x;
	json_t *body = NULL;
	int r;

	if ((r = cyc_open(s, rq, rep, &x)) != 0 || !isms_api_body(rq, rep, &body))
		goto out;
	if ((r = cycle_incident_task(&x.c, api_param(rq, 0), body, &x.d, id)) < 0) {
		r = fail(rq, rep, r, &isms_kind_incident_tasks, api_param(rq, 0), &x.d);
		goto out;
	}
	r = reply_incident(&x, rq, rep, 201);
out:
	json_decref(body);
	cyc_close(s, &x);
	return r < 0 ? r : 0;
}

static int h_incident_evidence(struct api_server *s, struct api_req *rq, struct api_reply *rep)
{
	char id[ISMS_ID_MAX];
	struct cyc x;
	json_t *body = NULL;
	const char *type;
	uint8_t *bin = NULL;
	int r;

	if ((r = cyc_open(s, rq, rep, &x)) != 0 || !isms_api_body(rq, rep, &body))
		goto out;
	type = json_string_value(json_object_get(body, "type"));
	if (type && !strcmp(type, "file")) {
		const char *b64 = json_string_value(json_object_get(body, "content_base64"));
		size_t cap, len = 0;
		if (!b64) {
			r = api_reply_invalid(rep, "%s", T("content_base64 がありません",
							   "content_base64 is missing"));
			goto out;
		}
		cap = strlen(b64) / 4 * 3 + 3;
		bin = xmalloc(cap);
		if (sodium_base642bin(bin, cap, b64, strlen(b64), " \r\n", &len, NULL,
				      sodium_base64_VARIANT_ORIGINAL) != 0) {
			r = api_reply_invalid(rep, "%s", T("content_base64 が Base64 ではありません",
							   "content_base64 is not Base64"));
			goto out;
		}
		r = cycle_evidence_file(&x.c, &x.env, api_param(rq, 0),
					json_string_value(json_object_get(body, "name")), bin, len,
					&x.d, id);
	} else if (type && !strcmp(type, "alert")) {
		json_t *a = json_object_get(body, "alert_id");
		if (!json_is_integer(a)) {
			r = api_reply_invalid(rep, "%s", T("alert_id は整数です", "alert_id must be an integer"));
			goto out;
		}
		r = cycle_evidence_alert(&x.c, api_param(rq, 0), json_integer_value(a), &x.d, id);
	} else if (type && !strcmp(type, "ledger")) {
		json_t *a = json_object_get(body, "index");
		if (!json_is_integer(a) || json_integer_value(a) < 0) {
			r = api_reply_invalid(rep, "%s", T("index は 0 以上の整数です",
							   "index must be a whole number"));
			goto out;
		}
		r = cycle_evidence_ledger(&x.c, api_param(rq, 0), (uint64_t)json_integer_value(a),
					  &x.d, id);
	} else {
		r = api_reply_invalid(rep, "%s", T("type は file, alert, ledger のいずれかです",
						   "type is one of file, alert, ledger"));
		goto out;
	}
	if (r == ERR_TOO_LARGE) {
		r = isms_api_fail(rq, rep, ERR_TOO_LARGE, NULL, NULL, &x.d);
		goto out;
	}
	if (r < 0) {
		r = fail(rq, rep, r, &isms_kind_incident_evidence, api_param(rq, 0), &x.d);
		goto out;
	}
	r = reply_incident(&x, rq, rep, 201);
out:
	free(bin);
	json_decref(body);
	cyc_close(s, &x);
	return r < 0 ? r : 0;
}

static int h_incident_close(struct api_server *s, struct api_req *rq, struct api_reply *rep)
{
	return incident_body_op(s, rq, rep, cycle_incident_close);
}

static int h_incident_from_alert(struct api_server *s, struct api_req *rq, struct api_reply *rep)
{
	char id[ISMS_ID_MAX] = "";
	struct cyc x;
	json_t *res = NULL;
	int64_t aid;
	int r;

	if ((r = cyc_open(s, rq, rep, &x)) != 0)
		goto out;
	if (parse_i64(api_param(rq, 0), strlen(api_param(rq, 0)), 1, INT64_MAX, &aid) < 0) {
		r = api_reply_problem(rep, ERR_NOT_FOUND, T("アラート '%s' はありません",
							    "there is no alert '%s'"),
				      api_param(rq, 0));
		goto out;
	}
	r = cycle_incident_from_alert(&x.c, aid, &x.d, id);
	if (r == ERR_NOT_FOUND) {
		r = api_reply_problem(rep, ERR_NOT_FOUND,
				      T("アラート %" PRId64 " はありません", "there is no alert %" PRId64),
				      aid);
		goto out;
	}
	if (r < 0 && !id[0]) {
		r = fail(rq, rep, r, &isms_kind_incidents, NULL, &x.d);
		goto out;
	}
	/* The incident exists even if the alert's own status could not be
	 * set: answer with it (the CSIRT can set the alert by hand). */
	if ((r = cycle_incident_view(&x.c, &x.env, id, &res)) < 0) {
		r = fail(rq, rep, r, &isms_kind_incidents, id, NULL);
		goto out;
	}
	r = isms_api_json(rep, 201, res);
out:
	json_decref(res);
	cyc_close(s, &x);
	return r < 0 ? r : 0;
}

static int h_incident_ppc_report(struct api_server *s, struct api_req *rq, struct api_reply *rep)
{
	enum cycle_format f;
	struct cyc x;
	struct buf html, pdf;
	char base[64];
	int r;

	buf_init(&html, API_RESPONSE_MAX);
	buf_init(&pdf, API_RESPONSE_MAX);
	if ((r = cyc_open(s, rq, rep, &x)) != 0 || !query_format(rq, rep, &f, false) ||
	    !query_at(rq, rep, &x.c))
		goto out;
	if ((r = cycle_ppc_draft_html(&x.c, &x.env, api_param(rq, 0), &html)) < 0) {
		r = fail(rq, rep, r, &isms_kind_incidents, api_param(rq, 0), NULL);
		goto out;
	}
	(void)snprintf(base, sizeof(base), "ppc-report-%s", api_param(rq, 0));
	if (f == CYCLE_PDF) {
		if ((r = report_pdf(html.data, html.len, 0, &pdf)) < 0) {
			r = report_fail(rq, rep, r, f);
			goto out;
		}
		r = reply_doc(rep, &pdf, "application/pdf", base);
	} else {
		r = reply_doc(rep, &html, "text/html; charset=utf-8", base);
	}
out:
	buf_release(&html);
	buf_release(&pdf);
	cyc_close(s, &x);
	return r < 0 ? r : 0;
}

/* The PPC decision and clocks for facts given in the body, at "now" (or
 * the clock): the same computation an incident's record gets, without a
 * record, so that the rules can be tried and checked. */
static int h_ppc_schedule(struct api_server *s, struct api_req *rq, struct api_reply *rep)
{
	struct cyc x;
	json_t *body = NULL, *res = NULL;
	const char *now;
	int64_t t;
	int r;

	if ((r = cyc_open(s, rq, rep, &x)) != 0 || !isms_api_body(rq, rep, &body))
		goto out;
	now = json_string_value(json_object_get(body, "now"));
	if (now) {
		if (ts_parse(now, strlen(now), &t, NULL) < 0) {
			r = api_reply_invalid(rep, "%s", T("now は RFC 3339 の日時です",
							   "now must be an RFC 3339 time"));
			goto out;
		}
		x.c.now = t;
	}
	{
		const char *aw = json_string_value(json_object_get(body, "aware_at"));
		if (aw && ts_parse(aw, strlen(aw), &t, NULL) < 0) {
			r = api_reply_invalid(rep, "%s", T("aware_at は RFC 3339 の日時です",
							   "aware_at must be an RFC 3339 time"));
			goto out;
		}
	}
	if ((r = cycle_incident_ppc(&x.c, &x.env, body, &res)) < 0)
		goto out;
	r = isms_api_json(rep, 200, res);
out:
	json_decref(body);
	json_decref(res);
	cyc_close(s, &x);
	return r < 0 ? r : 0;
}

/* ---- audits ---- */

static int h_checklists_issue(struct api_server *s, struct api_req *rq, struct api_reply *rep)
{
	struct cyc x;
	json_t *body = NULL, *res = NULL, *fy, *depts;
	size_t made = 0;
	int r;

	if ((r = cyc_open(s, rq, rep, &x)) != 0 || !isms_api_body(rq, rep, &body))
		goto out;
	fy = json_object_get(body, "fiscal_year");
	depts = json_object_get(body, "depts");
	if (!json_is_integer(fy) || json_integer_value(fy) < 2000 || json_integer_value(fy) > 2999 ||
	    (depts && !json_is_array(depts))) {
		r = api_reply_invalid(rep, "%s",
				      T("fiscal_year（2000〜2999）と depts（配列、省略可）を指定してください",
					"give fiscal_year (2000-2999) and depts (an array, optional)"));
		goto out;
	}
	if ((r = cycle_checklists_issue(&x.c, json_integer_value(fy), depts, &made)) < 0) {
		r = fail(rq, rep, r, &isms_kind_checklists, NULL, NULL);
		goto out;
	}
	res = json_pack("{s:I}", "created", (json_int_t)made);
	r = res ? isms_api_json(rep, 201, res) : ERR_NOMEM;
out:
	json_decref(body);
	json_decref(res);
	cyc_close(s, &x);
	return r < 0 ? r : 0;
}

static int h_action_verify(struct api_server *s, struct api_req *rq, struct api_reply *rep)
{
	struct cyc x;
	json_t *body = NULL, *res = NULL, *eff;
	int r;

	if ((r = cyc_open(s, rq, rep, &x)) != 0 || !isms_api_body(rq, rep, &body))
		goto out;
	eff = json_object_get(body, "effective");
	if (!json_is_boolean(eff)) {
		r = api_reply_invalid(rep, "%s", T("effective（true/false）を指定してください",
						   "give effective (true or false)"));
		goto out;
	}
	if ((r = cycle_action_verify(&x.c, api_param(rq, 0), json_is_true(eff),
				     json_string_value(json_object_get(body, "note")), &x.d)) < 0 ||
	    (r = isms_get(&x.c, &isms_kind_corrective_actions, api_param(rq, 0), &res)) < 0) {
		r = fail(rq, rep, r, &isms_kind_corrective_actions, api_param(rq, 0), &x.d);
		goto out;
	}
	r = isms_api_json(rep, 200, res);
out:
	json_decref(body);
	json_decref(res);
	cyc_close(s, &x);
	return r < 0 ? r : 0;
}

static int h_escalations(struct api_server *s, struct api_req *rq, struct api_reply *rep)
{
	struct cyc x;
	json_t *list = NULL, *res = NULL;
	int r;

	if ((r = cyc_open(s, rq, rep, &x)) != 0 || !query_at(rq, rep, &x.c))
		goto out;
	if ((r = cycle_escalations(&x.c, &list)) < 0) {
		r = fail(rq, rep, r, NULL, NULL, NULL);
		goto out;
	}
	res = json_pack("{s:I,s:O}", "count", (json_int_t)json_array_size(list), "items", list);
	r = res ? isms_api_json(rep, 200, res) : ERR_NOMEM;
out:
	json_decref(list);
	json_decref(res);
	cyc_close(s, &x);
	return r < 0 ? r : 0;
}

/* GET /v1/isms/actions/overdue: the corrective actions of the escalation
 * list (the console's dashboard card). */
static int h_actions_overdue(struct api_server *s, struct api_req *rq, struct api_reply *rep)
{
	struct cyc x;
	json_t *list = NULL, *kept = NULL, *res = NULL, *e;
	size_t i;
	int r;

	if ((r = cyc_open(s, rq, rep, &x)) != 0 || !query_at(rq, rep, &x.c))
		goto out;
	if ((r = cycle_escalations(&x.c, &list)) < 0) {
		r = fail(rq, rep, r, NULL, NULL, NULL);
		goto out;
	}
	if (!(kept = json_array())) {
		r = ERR_NOMEM;
		goto out;
	}
	json_array_foreach(list, i, e)
		if (!strcmp(json_string_value(json_object_get(e, "kind")), "corrective_actions"))
			json_array_append(kept, e);
	res = json_pack("{s:I,s:O}", "total", (json_int_t)json_array_size(kept), "items", kept);
	r = res ? isms_api_json(rep, 200, res) : ERR_NOMEM;
out:
	json_decref(list);
	json_decref(kept);
	json_decref(res);
	cyc_close(s, &x);
	return r < 0 ? r : 0;
}

/* ---- evaluation, continuity ---- */

static int h_indicators(struct api_server *s, struct api_req *rq, struct api_reply *rep)
{
	struct cyc x;
	json_t *res = NULL;
	int r;

	if ((r = cyc_open(s, rq, rep, &x)) != 0 || !query_at(rq, rep, &x.c))
		goto out;
	if ((r = cycle_indicators(&x.c, &x.env, &res)) < 0) {
		r = fail(rq, rep, r, NULL, NULL, NULL);
		goto out;
	}
	r = reply_json(rep, 200, res);
out:
	json_decref(res);
	cyc_close(s, &x);
	return r < 0 ? r : 0;
}

static int h_review(struct api_server *s, struct api_req *rq, struct api_reply *rep)
{
	char id[ISMS_ID_MAX];
	struct cyc x;
	json_t *body = NULL, *res = NULL;
	int r;

	if ((r = cyc_open(s, rq, rep, &x)) != 0 || !isms_api_body(rq, rep, &body))
		goto out;
	if ((r = cycle_review_create(&x.c, &x.env, body, &x.d, id)) < 0 ||
	    (r = isms_get(&x.c, &isms_kind_management_reviews, id, &res)) < 0) {
		r = fail(rq, rep, r, &isms_kind_management_reviews, NULL, &x.d);
		goto out;
	}
	r = isms_api_json(rep, 201, res);
out:
	json_decref(body);
	json_decref(res);
	cyc_close(s, &x);
	return r < 0 ? r : 0;
}

static int h_bcp_status(struct api_server *s, struct api_req *rq, struct api_reply *rep)
{
	struct cyc x;
	json_t *res = NULL;
	int r;

	if ((r = cyc_open(s, rq, rep, &x)) != 0 || !query_at(rq, rep, &x.c))
		goto out;
	if ((r = cycle_bcp_status(&x.c, &res)) < 0) {
		r = fail(rq, rep, r, &isms_kind_bcp_systems, NULL, NULL);
		goto out;
	}
	r = isms_api_json(rep, 200, res);
out:
	json_decref(res);
	cyc_close(s, &x);
	return r < 0 ? r : 0;
}

/* ---- reports ---- */

static int h_report(struct api_server *s, struct api_req *rq, struct api_reply *rep)
{
	enum cycle_format f;
	const char *ct = NULL, *name = api_param(rq, 0), *dept = api_query(rq, "dept");
	struct cyc x;
	struct buf doc;
	int64_t year;
	int r;

	buf_init(&doc, API_RESPONSE_MAX);
	if ((r = cyc_open(s, rq, rep, &x)) != 0 || !query_format(rq, rep, &f, true) ||
	    !query_year(rq, rep, &year) || !query_at(rq, rep, &x.c))
		goto out;
	if (!strcmp(name, "department"))
		name = "dept-status"; /* the console's word for the same sheet */
	if (!strcmp(name, "dept-status") && (!dept || !*dept)) {
		/* A department manager's sheet is their own department's. */
		if (rq->actor.role == ROLE_DEPT_MANAGER)
			dept = rq->actor.dept;
		else {
			r = api_reply_invalid(rep, "%s", T("dept を指定してください", "give dept"));
			goto out;
		}
	}
	r = cycle_report(&x.c, &x.env, name, f, dept, year, &doc, &ct);
	if (r == ERR_NOT_FOUND && f != CYCLE_PDF) {
		r = api_reply_problem(rep, ERR_NOT_FOUND,
				      T("報告書 '%s' はありません（annual, soa, incidents, "
					"audit-summary, dept-status）",
					"no report '%s' (annual, soa, incidents, audit-summary, "
					"dept-status)"),
				      name);
		goto out;
	}
	if (r < 0) {
		r = report_fail(rq, rep, r, f);
		goto out;
	}
	r = reply_doc(rep, &doc, ct, name);
out:
	buf_release(&doc);
	cyc_close(s, &x);
	return r < 0 ? r : 0;
}

/* The public audit summary: published audits only, no names of people.
 * Read with an internal read-only actor (an auditor's rights), since the
 * caller is anonymous. */
static int h_public_audit_summary(struct api_server *s, struct api_req *rq, struct api_reply *rep)
{
	static const struct actor public_reader = {"public", ROLE_AUDITOR, ""};
	const char *fmt = api_query(rq, "format");
	struct cyc x;
	json_t *res = NULL;
	int64_t year;
	int r;

	if ((r = cyc_open(s, rq, rep, &x)) != 0 || !query_year(rq, rep, &year))
		goto out;
	x.c.actor = &public_reader;
	if (fmt && !strcmp(fmt, "html")) {
		struct buf doc;
		const char *ct = NULL;
		buf_init(&doc, API_RESPONSE_MAX);
		r = cycle_report(&x.c, &x.env, "audit-summary", CYCLE_HTML, NULL, year, &doc, &ct);
		if (r == 0) {
			rep->status = 200;
			rep->ctype = ct;
			r = buf_append(&rep->body, doc.data, doc.len);
		}
		buf_release(&doc);
		goto out;
	}
	if ((r = cycle_audit_summary(&x.c, year, &res)) < 0)
		goto out;
	r = isms_api_json(rep, 200, res);
out:
	json_decref(res);
	cyc_close(s, &x);
	return r < 0 ? r : 0;
}

static const struct api_route routes[] = {
    {"GET", "/v1/incidents", h_incidents_list, ROLES_STAFF, API_BODY_NONE},
    {"POST", "/v1/incidents", h_incident_report, ROLES_INCIDENT_REPORT, API_BODY_JSON},
    {"POST", "/v1/incidents/from-alert/{}", h_incident_from_alert, ROLES_CSIRT_WORK,
     API_BODY_NONE},
    {"GET", "/v1/incidents/{}", h_incident_get, ROLES_STAFF, API_BODY_NONE},
    {"POST", "/v1/incidents/{}/triage", h_incident_triage, ROLES_CSIRT_WORK, API_BODY_JSON},
    {"POST", "/v1/incidents/{}/timeline", h_incident_timeline, ROLES_INCIDENT_REPORT,
     API_BODY_JSON},
    {"POST", "/v1/incidents/{}/share", h_incident_share, ROLES_CSIRT_WORK, API_BODY_JSON},
    {"POST", "/v1/incidents/{}/tasks", h_incident_task, ROLES_ISMS_WRITE, API_BODY_JSON},
    {"POST", "/v1/incidents/{}/evidence", h_incident_evidence, ROLES_ISMS_WRITE, API_BODY_JSON},
    {"POST", "/v1/incidents/{}/close", h_incident_close, ROLES_CSIRT_WORK, API_BODY_JSON},
    {"GET", "/v1/incidents/{}/ppc-report", h_incident_ppc_report, ROLES_STAFF, API_BODY_NONE},
    {"POST", "/v1/ppc/schedule", h_ppc_schedule, ROLES_STAFF, API_BODY_JSON},
    {"POST", "/v1/checklists/issue", h_checklists_issue, ROLES_CSIRT_WORK, API_BODY_JSON},
    {"POST", "/v1/corrective-actions/{}/verify", h_action_verify, ROLES_CSIRT_WORK,
     API_BODY_JSON},
    {"GET", "/v1/escalations", h_escalations, ROLES_STAFF, API_BODY_NONE},
    {"GET", "/v1/isms/actions/overdue", h_actions_overdue, ROLES_STAFF, API_BODY_NONE},
    {"GET", "/v1/indicators", h_indicators, ROLES_STAFF, API_BODY_NONE},
    {"POST", "/v1/management-reviews", h_review, ROLE_ADMIN | ROLE_CISO, API_BODY_JSON},
    {"GET", "/v1/bcp/status", h_bcp_status, ROLES_STAFF, API_BODY_NONE},
    {"GET", "/v1/reports/{}", h_report, ROLES_STAFF, API_BODY_NONE},
    {"GET", "/v1/public/audit-summary", h_public_audit_summary, 0, API_BODY_NONE},
};

const struct api_route_table api_routes_isms_cycle = {routes, ARRAY_SIZE(routes)};
