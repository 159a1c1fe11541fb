/*
 * routes_isms_people.c - the workflow routes of the people side of the
 * ISMS (docs/isms-people.md): the Statement of Applicability with live
 * evidence, training completions and overdue lists, acknowledgements of
 * security notices, contracts that need attention.
 *
 *   GET  /v1/isms/soa                        the statement (?date=&format=csv)
 *   POST /v1/isms/soa/seed                   one entry per Annex A control
 *   POST /v1/isms/training/import            e-learning completions (text/csv)
 *   POST /v1/isms/training_completions/import  the same
 *   POST /v1/isms/training_completions       one completion (JSON)
 *   GET  /v1/isms/training/overdue           ?dept=&date=&format=csv
 *   POST /v1/isms/notices/{id}/ack           {"staff_id": ...}
 *   GET  /v1/isms/notices/{id}/pending       ?dept=&date=
 *   GET  /v1/isms/notices/reminders          ?dept=&date=&overdue=1
 *   GET  /v1/isms/notices/overdue            ?dept=&date=
 *   GET  /v1/isms/contracts/attention        ?date=&days=
 *
 * This table comes before the generic ISMS routes in server.c: several
 * of these paths would otherwise be taken by /v1/isms/{kind}/{id}, and
 * importing or creating training completions must go through the
 * workflow that applies them to the registry.
 */
#include "base/base.h"
#include "base/buf.h"
#include "base/diag.h"
#include "base/i18n.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "api/api.h"
#include "api/api_int.h"
#include "api/routes_isms.h"
#include "instance/instance.h"
#include "isms/controls.h"
#include "isms/people.h"
#include "ledger/verify.h"

/* ?name= as a date into *day (today in JST when absent); false with a
 * 400 problem when malformed. */
static bool query_day(struct api_req *rq, struct api_reply *rep, const char *name, int32_t *day)
{
	const char *v = api_query(rq, name);

	if (!v || !*v) {
		*day = ts_jst_day(ts_now());
		return true;
	}
	if (date_parse(v, strlen(v), day) < 0) {
		api_reply_invalid(rep,
				  T("クエリー引数 '%s' は日付（YYYY-MM-DD）にしてください: '%.40s'",
				    "query argument '%s' must be a date (YYYY-MM-DD): '%.40s'"),
				  name, v);
		return false;
	}
	return true;
}

static bool want_csv(struct api_req *rq)
{
	const char *f = api_query(rq, "format");
	return f && !strcmp(f, "csv");
}

/* Answer a problem for a workflow error: 403 names the role and
 * department; the diagnostics become "errors". */
static int fail(struct api_req *rq, struct api_reply *rep, int r, const struct isms_kind *k,
		const char *id, const struct diag *d)
{
	if (r == ERR_FORBIDDEN && (!d || d->n == 0))
		return api_reply_problem(rep, ERR_FORBIDDEN,
					 T("役割 %s（部署 %s）にはこの操作は許可されていません",
					   "role %s (department %s) may not do this"),
					 role_name(rq->actor.role),
					 rq->actor.dept[0] ? rq->actor.dept : "-");
	return isms_api_fail(rq, rep, r, k, id, d);
}

/* After the registry's dates changed, the decision engine is reloaded so
 * that /v1/decide answers on them at once. A failed reload leaves the
 * change in place (it is committed) and is logged: the next reload picks
 * it up. */
static bool reload_engine(struct api_server *s, struct api_req *rq)
{
	struct diag d;
	int r;

	diag_init(&d, 10);
	r = instance_reload(s->in, rq->actor.name, &d);
	if (r < 0)
		log_error("reload after training update: %s", err_msg(r));
	diag_release(&d);
	return r == 0;
}

/* ---- the Statement of Applicability ---- */

static int h_soa(struct api_server *s, struct api_req *rq, struct api_reply *rep)
{
	const struct instance_config *cfg = instance_config(s->in);
	struct isms_ctx c;
	struct soa_env env = {0};
	struct buf policy, pubpath;
	char origin[256];
	uint8_t pk[32];
	json_t *st = NULL;
	int r;

	if (!query_day(rq, rep, "date", &env.day))
		return 0;
	buf_init(&policy, 8192);
	buf_init(&pubpath, 8192);
	env.municipality = cfg->name[0] ? cfg->name : NULL;
	if (instance_path(s->in, cfg->policy, &policy) == 0)
		env.policy_path = policy.data;
	if (instance_origin(s->in, origin, sizeof(origin)) == 0 &&
	    instance_path(s->in, "keys/signing.pub", &pubpath) == 0 &&
	    ledger_read_public_key(pubpath.data, pk) == 0) {
		env.origin = origin;
		env.pk = pk;
	}
	if ((r = isms_api_ctx_open(s, rq, &c)) < 0)
		goto out;
	r = isms_soa_statement(&c, &env, &st);
	isms_api_ctx_close(s, &c);
	if (r < 0) {
		r = fail(rq, rep, r, &isms_kind_soa, NULL, NULL);
		goto out;
	}
	if (want_csv(rq)) {
		if ((r = isms_soa_csv(st, &rep->body)) < 0)
			goto out;
		rep->status = 200;
		rep->ctype = "text/csv; charset=utf-8";
		r = api_reply_header(rep, "Content-Disposition",
				     "attachment; filename=\"soa.csv\"");
		goto out;
	}
	r = isms_api_json(rep, 200, st);
out:
	json_decref(st);
	buf_release(&policy);
	buf_release(&pubpath);
	return r;
}

static int h_soa_seed(struct api_server *s, struct api_req *rq, struct api_reply *rep)
{
	struct isms_ctx c;
	size_t n = 0;
	int r;

	if ((r = isms_api_ctx_open(s, rq, &c)) < 0)
		return r;
	r = isms_soa_seed(&c, &n);
	isms_api_ctx_close(s, &c);
	if (r < 0)
		return fail(rq, rep, r, &isms_kind_soa, NULL, NULL);
	rep->status = 200;
	return buf_printf(&rep->body, "{\"created\":%zu,\"controls\":%zu}", n, annex_ncontrols);
}

/* ---- training ---- */

static int h_training_import(struct api_server *s, struct api_req *rq, struct api_reply *rep)
{
	struct isms_ctx c;
	struct diag d;
	size_t made = 0, upd = 0;
	bool reloaded = false;
	int r;

	diag_init(&d, 100);
	if ((r = isms_api_ctx_open(s, rq, &c)) < 0)
		goto out;
	r = isms_training_import(&c, rq->body.data ? rq->body.data : "", rq->body.len,
				 "completions.csv", &d, &made, &upd);
	isms_api_ctx_close(s, &c);
	if (r < 0) {
		r = fail(rq, rep, r, &isms_kind_training_completions, NULL, &d);
		goto out;
	}
	if (upd > 0)
		reloaded = reload_engine(s, rq);
	rep->status = 200;
	r = buf_printf(
	    &rep->body,
	    "{\"created\":%zu,\"registry_updated\":%zu,\"reloaded\":%s,\"warnings\":%zu}", made,
	    upd, reloaded ? "true" : "false", d.warnings);
out:
	diag_release(&d);
	return r;
}

static int h_training_complete(struct api_server *s, struct api_req *rq, struct api_reply *rep)
{
	struct isms_ctx c;
	struct diag d;
	json_t *body = NULL;
	char id[ISMS_ID_MAX];
	size_t upd = 0;
	bool reloaded = false;
	int r;

	if (!isms_api_body(rq, rep, &body))
		return 0;
	diag_init(&d, 100);
	if ((r = isms_api_ctx_open(s, rq, &c)) < 0)
		goto out;
	r = isms_training_complete(&c, body, &d, id, &upd);
	isms_api_ctx_close(s, &c);
	if (r < 0) {
		r = fail(rq, rep, r, &isms_kind_training_completions, NULL, &d);
		goto out;
	}
	if (upd > 0)
		reloaded = reload_engine(s, rq);
	rep->status = 201;
	r = buf_printf(&rep->body,
		       "{\"id\":\"%s\",\"version\":1,\"registry_updated\":%zu,\"reloaded\":%s}", id,
		       upd, reloaded ? "true" : "false");
out:
	json_decref(body);
	diag_release(&d);
	return r;
}

static int csv_cell(struct buf *b, const char *s, bool last)
{
	int r;

	if ((r = buf_putc(b, '"')) < 0)
		return r;
	for (; s && *s; s++)
		if ((*s == '"' && (r = buf_putc(b, '"')) < 0) || (r = buf_putc(b, *s)) < 0)
			return r;
	if ((r = buf_putc(b, '"')) < 0)
		return r;
	return buf_puts(b, last ? "\r\n" : ",");
}

/* The items of a list as CSV with the given columns (string or integer
 * members; others empty). */
static int items_csv(const json_t *items, const char *const *cols, size_t ncols, struct buf *out)
{
	size_t i;
	json_t *it;
	int r;

	for (size_t k = 0; k < ncols; k++)
		if ((r = csv_cell(out, cols[k], k + 1 == ncols)) < 0)
			return r;
	json_array_foreach(items, i, it)
	{
		for (size_t k = 0; k < ncols; k++) {
			const json_t *v = json_object_get(it, cols[k]);
			char num[32] = "";
			const char *t = json_string_value(v);
			if (json_is_integer(v)) {
				snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
					 json_integer_value(v));
				t = num;
			}
			if ((r = csv_cell(out, t, k + 1 == ncols)) < 0)
				return r;
		}
	}
	return 0;
}

static int h_training_overdue(struct api_server *s, struct api_req *rq, struct api_reply *rep)
{
	static const char *const cols[] = {"staff_id", "name",	       "dept",	"employment",
					   "course",   "course_title", "state", "last",
					   "due",      "days_overdue"};
	struct isms_ctx c;
	json_t *res = NULL;
	int32_t day;
	int r;

	if (!query_day(rq, rep, "date", &day))
		return 0;
	if ((r = isms_api_ctx_open(s, rq, &c)) < 0)
		return r;
	r = isms_training_overdue(&c, day, api_query(rq, "dept"), &res);
	isms_api_ctx_close(s, &c);
	if (r == ERR_FORBIDDEN)
		return api_reply_problem(
		    rep, ERR_FORBIDDEN,
		    T("役割 %s（部署 %s）は部署 %.40s の一覧を見られません",
		      "role %s (department %s) may not see the list of department %.40s"),
		    role_name(rq->actor.role), rq->actor.dept[0] ? rq->actor.dept : "-",
		    api_query(rq, "dept") ? api_query(rq, "dept") : "-");
	if (r < 0)
		return fail(rq, rep, r, &isms_kind_training_completions, NULL, NULL);
	if (want_csv(rq)) {
		r = items_csv(json_object_get(res, "items"), cols, ARRAY_SIZE(cols), &rep->body);
		rep->status = 200;
		rep->ctype = "text/csv; charset=utf-8";
	} else {
		r = isms_api_json(rep, 200, res);
	}
	json_decref(res);
	return r;
}

/* ---- notices ---- */

static int h_notice_ack(struct api_server *s, struct api_req *rq, struct api_reply *rep)
{
	struct isms_ctx c;
	struct diag d;
	json_t *body = NULL;
	const char *staff;
	char ack[ISMS_ID_MAX];
	int r;

	if (!isms_api_body(rq, rep, &body))
		return 0;
	staff = json_string_value(json_object_get(body, "staff_id"));
	if (!staff) {
		json_decref(body);
		return api_reply_invalid(
		    rep, "%s",
		    T("本文に staff_id（職員ID）が必要です", "the body needs a staff_id"));
	}
	diag_init(&d, 20);
	if ((r = isms_api_ctx_open(s, rq, &c)) < 0)
		goto out;
	r = isms_notice_ack(&c, api_param(rq, 0), staff, &d, ack);
	isms_api_ctx_close(s, &c);
	if (r == ERR_EXISTS) {
		rep->status = 200;
		r = buf_printf(&rep->body, "{\"id\":\"%s\",\"already\":true}", ack);
		goto out;
	}
	if (r < 0) {
		r = fail(rq, rep, r, &isms_kind_notices, api_param(rq, 0), &d);
		goto out;
	}
	rep->status = 201;
	r = buf_printf(&rep->body, "{\"id\":\"%s\",\"already\":false}", ack);
out:
	json_decref(body);
	diag_release(&d);
	return r;
}

static int h_notice_pending(struct api_server *s, struct api_req *rq, struct api_reply *rep)
{
	struct isms_ctx c;
	json_t *res = NULL;
	int32_t day;
	int r;

	if (!query_day(rq, rep, "date", &day))
		return 0;
	if ((r = isms_api_ctx_open(s, rq, &c)) < 0)
		return r;
	r = isms_notice_pending(&c, api_param(rq, 0), day, api_query(rq, "dept"), &res);
	isms_api_ctx_close(s, &c);
	if (r < 0)
		return fail(rq, rep, r, &isms_kind_notices, api_param(rq, 0), NULL);
	r = isms_api_json(rep, 200, res);
	json_decref(res);
	return r;
}

static int reminders(struct api_server *s, struct api_req *rq, struct api_reply *rep,
		     bool overdue_only)
{
	struct isms_ctx c;
	json_t *res = NULL;
	const char *ov = api_query(rq, "overdue");
	int32_t day;
	int r;

	if (!query_day(rq, rep, "date", &day))
		return 0;
	if (ov && !strcmp(ov, "1"))
		overdue_only = true;
	if ((r = isms_api_ctx_open(s, rq, &c)) < 0)
		return r;
	r = isms_notice_reminders(&c, day, api_query(rq, "dept"), overdue_only, &res);
	isms_api_ctx_close(s, &c);
	if (r < 0)
		return fail(rq, rep, r, &isms_kind_notices, NULL, NULL);
	r = isms_api_json(rep, 200, res);
	json_decref(res);
	return r;
}

static int h_notice_reminders(struct api_server *s, struct api_req *rq, struct api_reply *rep)
{
	return reminders(s, rq, rep, false);
}

static int h_notice_overdue(struct api_server *s, struct api_req *rq, struct api_reply *rep)
{
	return reminders(s, rq, rep, true);
}

/* ---- contracts ---- */

static int h_contracts_attention(struct api_server *s, struct api_req *rq, struct api_reply *rep)
{
	struct isms_ctx c;
	json_t *res = NULL;
	uint64_t days = 60;
	int32_t day;
	int r;

	if (!query_day(rq, rep, "date", &day))
		return 0;
	if (api_query(rq, "days") && !api_query_u64(rq, rep, "days", 3660, &days))
		return 0;
	if ((r = isms_api_ctx_open(s, rq, &c)) < 0)
		return r;
	r = isms_contracts_attention(&c, day, (int32_t)days, &res);
	isms_api_ctx_close(s, &c);
	if (r < 0)
		return fail(rq, rep, r, &isms_kind_contracts, NULL, NULL);
	r = isms_api_json(rep, 200, res);
	json_decref(res);
	return r;
}

static const struct api_route routes[] = {
    {"GET", "/v1/isms/soa", h_soa, ROLES_STAFF, API_BODY_NONE},
    {"POST", "/v1/isms/soa/seed", h_soa_seed, ROLES_ISMS_WRITE, API_BODY_NONE},
    {"POST", "/v1/isms/training/import", h_training_import, ROLES_ISMS_WRITE, API_BODY_CSV},
    {"POST", "/v1/isms/training_completions/import", h_training_import, ROLES_ISMS_WRITE,
     API_BODY_CSV},
    {"POST", "/v1/isms/training_completions", h_training_complete, ROLES_ISMS_WRITE, API_BODY_JSON},
    {"GET", "/v1/isms/training/overdue", h_training_overdue, ROLES_STAFF, API_BODY_NONE},
    {"GET", "/v1/isms/notices/reminders", h_notice_reminders, ROLES_STAFF, API_BODY_NONE},
    {"GET", "/v1/isms/notices/overdue", h_notice_overdue, ROLES_STAFF, API_BODY_NONE},
    {"POST", "/v1/isms/notices/{}/ack", h_notice_ack, ROLES_ISMS_WRITE, API_BODY_JSON},
    {"GET", "/v1/isms/notices/{}/pending", h_notice_pending, ROLES_STAFF, API_BODY_NONE},
    {"GET", "/v1/isms/contracts/attention", h_contracts_attention, ROLES_STAFF, API_BODY_NONE},
};

const struct api_route_table api_routes_isms_people = {routes, ARRAY_SIZE(routes)};
