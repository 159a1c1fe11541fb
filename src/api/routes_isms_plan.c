/*
 * routes_isms_plan.c - the workflow and view routes of the plan side of
 * the ISMS (src/isms/plan.h, docs/isms.md):
 *
 *   POST /v1/isms/document_versions/{id}/approve   approve a draft (If-Match)
 *   GET  /v1/public/policy                         published documents, no
 *                                                  authentication; HTML when
 *                                                  Accept prefers text/html
 *   GET  /v1/isms/org/holders?date=YYYY-MM-DD      who holds which role
 *   GET  /v1/isms/assets/{id}/handling             the handling rules
 *   GET  /v1/isms/risks/heatmap                    5x5 counts
 *   GET  /v1/isms/threats                          the threat catalogue
 */
#include "base/base.h"
#include "base/buf.h"
#include "base/diag.h"
#include "base/i18n.h"
#include "api/api.h"
#include "api/api_int.h"
#include "api/routes_isms.h"
#include "isms/isms.h"
#include "isms/plan.h"

static int h_approve(struct api_server *s, struct api_req *rq, struct api_reply *rep)
{
	struct isms_ctx c = {0};
	json_t *o = NULL;
	int64_t ifv = 0;
	struct diag d;
	int r;

	if (!isms_api_if_match(rq, rep, &ifv))
		return 0;
	diag_init(&d, 100);
	if ((r = isms_api_ctx_open(s, rq, &c)) < 0)
		goto out;
	if ((r = isms_document_approve(&c, api_param(rq, 0), ifv, &d)) < 0 ||
	    (r = isms_get(&c, &isms_kind_document_versions, api_param(rq, 0), &o)) < 0) {
		r = isms_api_fail(rq, rep, r, &isms_kind_document_versions, api_param(rq, 0), &d);
		goto out;
	}
	r = isms_api_json(rep, 200, o);
out:
	json_decref(o);
	diag_release(&d);
	isms_api_ctx_close(s, &c);
	return r;
}

/* The quality (q) the Accept header gives to media type mt ("text/html"),
 * counting "type/ *" and "* / *" ranges; -1 if it does not accept it. */
static double accept_q(const char *accept, const char *mt)
{
	const char *slash = strchr(mt, '/');
	size_t tlen = slash ? (size_t)(slash - mt) : strlen(mt);
	double best = -1;
	int best_spec = -1;
	const char *p = accept;

	while (p && *p) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		const char *semi = memchr(p, ';', n);
		size_t rn = semi ? (size_t)(semi - p) : n;
		double q = 1.0;
		int spec = -1;

		while (rn > 0 && *p == ' ')
			p++, rn--, n--;
		while (rn > 0 && p[rn - 1] == ' ')
			rn--;
		if (rn == strlen(mt) && !strncmp(p, mt, rn))
			spec = 2;
		else if (rn == tlen + 2 && !strncmp(p, mt, tlen) && !strncmp(p + tlen, "/*", 2))
			spec = 1;
		else if (rn == 3 && !strncmp(p, "*/*", 3))
			spec = 0;
		if (semi) {
			const char *qs = semi;
			while (qs < p + n && (qs = memchr(qs, 'q', (size_t)(p + n - qs)))) {
				if (qs + 1 < p + n && qs[1] == '=') {
					/* q is 0, 1, or 0.d{1,3} (RFC 9110 12.4.2). */
					const char *v = qs + 2;
					q = *v == '1' ? 1.0 : 0.0;
					if (*v == '0' && v[1] == '.') {
						double f = 0.1;
						for (v += 2; *v >= '0' && *v <= '9'; v++, f /= 10)
							q += (*v - '0') * f;
					}
					break;
				}
				qs++;
			}
		}
		if (spec > best_spec) {
			best_spec = spec;
			best = q;
		}
		p = end ? end + 1 : NULL;
	}
	return best_spec < 0 ? -1 : best;
}

static int h_public_policy(struct api_server *s, struct api_req *rq, struct api_reply *rep)
{
	struct isms_ctx c = {0};
	json_t *pub = NULL;
	const char *fmt = api_query(rq, "format");
	const char *accept = api_header(rq, "Accept");
	bool html;
	int r;

	if (fmt && strcmp(fmt, "html") && strcmp(fmt, "json"))
		return api_reply_invalid(rep,
					 T("format は html か json です('%.40s')",
					   "format is html or json (got '%.40s')"),
					 fmt);
	html =
	    fmt ? !strcmp(fmt, "html")
		: (accept && accept_q(accept, "text/html") > accept_q(accept, "application/json"));
	if ((r = isms_api_ctx_open(s, rq, &c)) < 0)
		return r;
	if ((r = isms_public_policy(&c, &pub)) < 0)
		goto out;
	if ((r = api_reply_header(rep, "Vary", "Accept")) < 0)
		goto out;
	if (html) {
		if ((r = isms_public_policy_html(pub, &rep->body)) < 0)
			goto out;
		rep->status = 200;
		rep->ctype = "text/html; charset=utf-8";
		/* The page is self-contained: nothing may load from elsewhere. */
		r = api_reply_header(rep, "Content-Security-Policy",
				     "default-src 'none'; style-src 'unsafe-inline'; "
				     "frame-ancestors 'none'");
		goto out;
	}
	r = isms_api_json(rep, 200, pub);
out:
	json_decref(pub);
	isms_api_ctx_close(s, &c);
	return r;
}

static int h_holders(struct api_server *s, struct api_req *rq, struct api_reply *rep)
{
	struct isms_ctx c = {0};
	const char *date = api_query(rq, "date");
	json_t *o = NULL;
	int r;

	if ((r = isms_api_ctx_open(s, rq, &c)) < 0)
		return r;
	r = isms_org_holders(&c, date, &o);
	if (r == ERR_INVALID) {
		r = api_reply_invalid(rep,
				      T("date は YYYY-MM-DD の日付にしてください('%.40s')",
					"date must be a date YYYY-MM-DD (got '%.40s')"),
				      date ? date : "");
		goto out;
	}
	if (r < 0) {
		r = isms_api_fail(rq, rep, r, &isms_kind_role_assignments, NULL, NULL);
		goto out;
	}
	r = isms_api_json(rep, 200, o);
out:
	json_decref(o);
	isms_api_ctx_close(s, &c);
	return r;
}

static int h_handling(struct api_server *s, struct api_req *rq, struct api_reply *rep)
{
	struct isms_ctx c = {0};
	json_t *a = NULL, *o = NULL;
	int r;

	if ((r = isms_api_ctx_open(s, rq, &c)) < 0)
		return r;
	if ((r = isms_get(&c, &isms_kind_assets, api_param(rq, 0), &a)) < 0) {
		r = isms_api_fail(rq, rep, r, &isms_kind_assets, api_param(rq, 0), NULL);
		goto out;
	}
	o = json_pack("{s:s,s:O?,s:O?,s:O?,s:O?}", "id", api_param(rq, 0), "confidentiality",
		      json_object_get(a, "confidentiality"), "integrity",
		      json_object_get(a, "integrity"), "availability",
		      json_object_get(a, "availability"), "handling",
		      json_object_get(a, "handling"));
	r = o ? isms_api_json(rep, 200, o) : ERR_NOMEM;
out:
	json_decref(a);
	json_decref(o);
	isms_api_ctx_close(s, &c);
	return r;
}

static int h_heatmap(struct api_server *s, struct api_req *rq, struct api_reply *rep)
{
	struct isms_ctx c = {0};
	json_t *o = NULL;
	int r;

	if ((r = isms_api_ctx_open(s, rq, &c)) < 0)
		return r;
	if ((r = isms_risk_heatmap(&c, &o)) < 0) {
		r = isms_api_fail(rq, rep, r, &isms_kind_risks, NULL, NULL);
		goto out;
	}
	r = isms_api_json(rep, 200, o);
out:
	json_decref(o);
	isms_api_ctx_close(s, &c);
	return r;
}

static int h_threats(struct api_server *s, struct api_req *rq, struct api_reply *rep)
{
	json_t *arr = json_array();
	int r;

	(void)s;
	(void)rq;
	if (!arr)
		return ERR_NOMEM;
	for (size_t i = 0; isms_threats[i].code; i++) {
		const struct isms_threat *t = &isms_threats[i];
		json_t *o =
		    json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "code", t->code, "category", t->category,
			      "category_label", isms_threat_category_label(t->category), "label",
			      T(t->ja, t->en), "ja", t->ja, "en", t->en);
		if (!o || json_array_append_new(arr, o) < 0) {
			json_decref(arr);
			return ERR_NOMEM;
		}
	}
	r = isms_api_json(rep, 200, arr);
	json_decref(arr);
	return r;
}

static const struct api_route routes[] = {
    {"POST", "/v1/isms/document_versions/{}/approve", h_approve, ROLES_STAFF, API_BODY_NONE},
    {"GET", "/v1/public/policy", h_public_policy, 0, API_BODY_NONE},
    {"GET", "/v1/isms/org/holders", h_holders, ROLES_STAFF, API_BODY_NONE},
    {"GET", "/v1/isms/assets/{}/handling", h_handling, ROLES_STAFF, API_BODY_NONE},
    {"GET", "/v1/isms/risks/heatmap", h_heatmap, ROLES_STAFF, API_BODY_NONE},
    {"GET", "/v1/isms/threats", h_threats, ROLES_STAFF, API_BODY_NONE},
};

const struct api_route_table api_routes_isms_plan = {routes, ARRAY_SIZE(routes)};
