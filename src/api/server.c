/*
 * server.c - the HTTP API on libmicrohttpd (docs/api.md, docs/internals/api.md).
 *
 * libmicrohttpd calls on_request() several times per request: once when
 * the headers are in, once per piece of body, and once when the request is
 * complete. Everything that can be decided from the headers (route, method,
 * API key, Content-Type, declared length) is decided on the first call, so
 * that a request that will be refused is answered before its body is read;
 * libmicrohttpd then discards the rest and closes the connection. The body
 * is collected into a bounded buffer and the route's handler runs on the
 * last call. Every error leaves as an RFC 9457 problem document in the
 * language the request asked for (Accept-Language; Japanese by default).
 *
 * Threads: libmicrohttpd runs a pool of worker threads, each polling its
 * own connections. A handler runs on a worker; it may use the instance's
 * thread-safe functions (instance_decide, instance_reload, the ledger) and
 * a store connection borrowed from the server's pool, never the instance's
 * own connection. The thread that called api_serve() waits for signals
 * with sigwait(): SIGHUP reloads, SIGINT and SIGTERM stop the server.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "base/base.h"
#include "base/buf.h"
#include "base/fileio.h"
#include "base/diag.h"
#include "base/i18n.h"
#include "base/log.h"
#include "api/api.h"
#include "api/api_int.h"
#include "api/routes_isms.h"
#include "api/users.h"
#include "instance/instance.h"
#include "registry/registry.h"
#include "ledger/disclose.h"
#include "ledger/ledger.h"
#include "ledger/merkle.h"
#include "ledger/note.h"
#include "ledger/verify.h"
#include "store/store.h"
#include "watch/ingest.h"
#include "watch/thresholds.h"
#include "watch/alerts.h"

#include <sodium.h>

#define PROBLEM_BASE "https://mamori.invalid/problems/"
/* Past the body limit of a chunked upload, libmicrohttpd cannot answer
 * before the body ends: the excess is read and dropped, never kept, and
 * beyond this much more the connection is simply closed. */
#define DISCARD_MAX ((size_t)64 << 20)
#define RESPONSE_MAX API_RESPONSE_MAX
#define LOG_PATH_MAX API_LOG_PATH_MAX

/* Every route table the server answers; the OpenAPI document (openapi.c)
 * describes each route and the integration tests check that it does. */
static const struct api_route_table *const route_tables[] = {
    &api_routes_core,
    &api_routes_ledger,
    &api_routes_watch,
    &api_routes_console,
    &api_routes_auth,
    &api_routes_isms_people, /* before the generic ISMS routes: literal paths first */
    &api_routes_isms_cycle,
    &api_routes_isms,
    &api_routes_isms_plan,
};

const struct api_route_table *const *api_route_tables(size_t *n)
{
	*n = ARRAY_SIZE(route_tables);
	return route_tables;
}

/* ---- small helpers ---- */

bool api_utf8_valid(const char *str, size_t len, size_t *bad_at)
{
	return utf8_valid(str, len, bad_at);
}

int api_listen_parse(const char *listen, char *host_out, size_t host_len, uint16_t *port)
{
	const char *colon, *h;
	size_t hlen;
	int64_t p;
	unsigned char tmp[sizeof(struct in6_addr)];
	char host[INET6_ADDRSTRLEN + 1];

	if (!listen || !(colon = strrchr(listen, ':')))
		return ERR_INVALID;
	h = listen;
	hlen = (size_t)(colon - listen);
	if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']') {
		h++;
		hlen -= 2;
		if (hlen == 0 || hlen >= sizeof(host))
			return ERR_INVALID;
		memcpy(host, h, hlen);
		host[hlen] = '\0';
		if (inet_pton(AF_INET6, host, tmp) != 1)
			return ERR_INVALID;
	} else {
		if (hlen == 0 || hlen >= sizeof(host))
			return ERR_INVALID;
		memcpy(host, h, hlen);
		host[hlen] = '\0';
		if (!strcmp(host, "localhost"))
			snprintf(host, sizeof(host), "127.0.0.1");
		else if (inet_pton(AF_INET, host, tmp) != 1)
			return ERR_INVALID;
	}
	if (parse_i64(colon + 1, strlen(colon + 1), 0, 65535, &p) < 0)
		return ERR_INVALID;
	if (strlen(host) >= host_len)
		return ERR_TOO_LARGE;
	memcpy(host_out, host, strlen(host) + 1);
	*port = (uint16_t)p;
	return 0;
}

bool api_host_is_loopback(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return false;
}

static int64_t elapsed_us(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (int64_t)(t1.tv_sec - t0->tv_sec) * 1000000 + (t1.tv_nsec - t0->tv_nsec) / 1000;
}

/* Copy at most cap-1 bytes of s for a log line, with anything that is not
 * visible ASCII replaced, so a hostile path cannot forge log lines. */
static void log_safe_copy(char *dst, size_t cap, const char *s)
{
	size_t i = 0;
	for (; s && s[i] && i + 1 < cap; i++)
		dst[i] = ((unsigned char)s[i] > 0x20 && (unsigned char)s[i] < 0x7f) ? s[i] : '?';
	dst[i] = '\0';
}

static bool ascii_prefix_ci(const char *s, const char *prefix)
{
	for (; *prefix; s++, prefix++) {
		char a = *s, b = *prefix;
		if (a >= 'A' && a <= 'Z')
			a = (char)(a - 'A' + 'a');
		if (a != b)
			return false;
	}
	return true;
}

/* ---- the store connection pool ---- */

int api_pool_get(struct api_server *s, struct store **out)
{
	*out = NULL;
	pthread_mutex_lock(&s->pool_lock);
	if (s->npool > 0)
		*out = s->pool[--s->npool];
	pthread_mutex_unlock(&s->pool_lock);
	if (*out)
		return 0;
	return instance_store_open(s->in, out);
}

void api_pool_put(struct api_server *s, struct store *st)
{
	bool kept = false;

	if (!st)
		return;
	pthread_mutex_lock(&s->pool_lock);
	if (s->npool < s->cap) {
		s->pool[s->npool++] = st;
		kept = true;
	}
	pthread_mutex_unlock(&s->pool_lock);
	if (!kept)
		store_close(st);
}

/* ---- responses ---- */

static enum MHD_Result send_bytes(struct MHD_Connection *c, struct api_req *rq, int status,
				  const char *ctype, const char *data, size_t len,
				  const char *hname, const char *hvalue)
{
	struct MHD_Response *resp;
	enum MHD_Result ok;

	resp = MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	/* Decisions and keys' results must not be kept by proxies. */
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	if (hname)
		MHD_add_response_header(resp, hname, hvalue);
	ok = MHD_queue_response(c, (unsigned)status, resp);
	MHD_destroy_response(resp);
	if (ok == MHD_YES)
		rq->status = status;
	return ok;
}

/* Send a handler's successful reply, with its extra headers. */
static enum MHD_Result send_reply(struct MHD_Connection *c, struct api_req *rq,
				  const struct api_reply *rep)
{
	struct MHD_Response *resp;
	enum MHD_Result ok;

	resp = MHD_create_response_from_buffer(rep->body.len,
					       (void *)(rep->body.data ? rep->body.data : ""),
					       MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				rep->ctype ? rep->ctype : "application/json");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	for (unsigned i = 0; i < rep->nheaders; i++)
		MHD_add_response_header(resp, rep->headers[i].name, rep->headers[i].value);
	ok = MHD_queue_response(c, (unsigned)rep->status, resp);
	MHD_destroy_response(resp);
	if (ok == MHD_YES)
		rq->status = rep->status;
	return ok;
}

/*
 * Render an RFC 9457 problem document for err: type and code are the
 * stable name of the code, title its message in the request's language.
 */
static int problem_render(struct buf *b, int err, const char *detail, size_t dlen,
			  const char *extra, size_t elen)
{
	int r;
	const char *name = err_name(err);

	buf_reset(b);
	if ((r = buf_printf(b, "{\"type\":\"" PROBLEM_BASE "%s\",\"title\":", name)) < 0 ||
	    (r = buf_json_str(b, err_msg(err), strlen(err_msg(err)))) < 0 ||
	    (r = buf_printf(b, ",\"status\":%d,\"code\":\"%s\",\"detail\":", err_http_status(err),
			    name)) < 0 ||
	    (r = buf_json_str(b, detail, dlen)) < 0)
		return r;
	if (elen > 0 && (r = buf_append(b, extra, elen)) < 0)
		return r;
	return buf_putc(b, '}');
}

static enum MHD_Result send_problem_ex(struct MHD_Connection *c, struct api_req *rq, int err,
				       const char *detail, size_t dlen, const char *extra,
				       size_t elen, const char *hname, const char *hvalue)
{
	struct buf b;
	enum MHD_Result ok;
	int status = err_http_status(err);

	if (!detail || dlen == 0) {
		detail = err_msg(err);
		dlen = strlen(detail);
	}
	if (status < 400 || status > 599) {
		err = ERR_INTERNAL;
		status = 500;
	}
	buf_init(&b, RESPONSE_MAX);
	if (problem_render(&b, err, detail, dlen, extra, elen) < 0) {
		buf_release(&b);
		return MHD_NO;
	}
	ok = send_bytes(c, rq, status, "application/problem+json", b.data, b.len, hname, hvalue);
	buf_release(&b);
	return ok;
}

static enum MHD_Result send_problem(struct MHD_Connection *c, struct api_req *rq, int err,
				    const char *hname, const char *hvalue, const char *fmt, ...)
    MM_PRINTF(6, 7);

static enum MHD_Result send_problem(struct MHD_Connection *c, struct api_req *rq, int err,
				    const char *hname, const char *hvalue, const char *fmt, ...)
{
	struct buf d;
	va_list ap;
	enum MHD_Result ok;

	buf_init(&d, 8192);
	va_start(ap, fmt);
	/* A detail too long for its buffer is sent as the generic message. */
	if (buf_vprintf(&d, fmt, ap) < 0)
		buf_reset(&d);
	va_end(ap);
	ok = send_problem_ex(c, rq, err, d.data, d.len, NULL, 0, hname, hvalue);
	buf_release(&d);
	return ok;
}

/* ---- what handlers use ---- */

const char *api_param(const struct api_req *rq, unsigned i)
{
	return i < rq->nparams ? rq->params[i] : "";
}

const char *api_query(const struct api_req *rq, const char *name)
{
	return MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *api_header(const struct api_req *rq, const char *name)
{
	return MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, name);
}

static int reply_vproblem(struct api_reply *rep, int err, const char *fmt, va_list ap)
{
	rep->err = err;
	buf_reset(&rep->detail);
	/* A detail too long for its buffer leaves the generic message. */
	if (buf_vprintf(&rep->detail, fmt, ap) < 0)
		buf_reset(&rep->detail);
	return 0;
}

int api_reply_invalid(struct api_reply *rep, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = reply_vproblem(rep, ERR_INVALID, fmt, ap);
	va_end(ap);
	return r;
}

int api_reply_problem(struct api_reply *rep, int err, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = reply_vproblem(rep, err, fmt, ap);
	va_end(ap);
	return r;
}

int api_reply_header(struct api_reply *rep, const char *name, const char *value)
{
	if (rep->nheaders >= API_HEADERS_MAX)
		return ERR_TOO_LARGE;
	rep->headers[rep->nheaders].name = name;
	snprintf(rep->headers[rep->nheaders].value, sizeof(rep->headers[0].value), "%s", value);
	rep->nheaders++;
	return 0;
}

bool api_query_u64(struct api_req *rq, struct api_reply *rep, const char *name, uint64_t max,
		   uint64_t *out)
{
	const char *v = api_query(rq, name);
	int64_t n;

	if (v == NULL || *v == '\0') {
		api_reply_invalid(rep, T("クエリー引数 '%s' が必要です",
					 "query argument '%s' is required"),
				  name);
		return false;
	}
	for (const char *p = v; *p; p++) {
		if (*p < '0' || *p > '9') {
			api_reply_invalid(
			    rep,
			    T("クエリー引数 '%s' は 0 以上の整数にしてください（'%.40s'）",
			      "query argument '%s' must be a whole number (got '%.40s')"),
			    name, v);
			return false;
		}
	}
	if (parse_i64(v, strlen(v), 0, INT64_MAX, &n) < 0 || (uint64_t)n > max) {
		api_reply_invalid(
		    rep,
		    T("クエリー引数 '%s' が範囲外です（'%.40s'、上限 %" PRIu64 "）",
		      "query argument '%s' is out of range (got '%.40s', at most %" PRIu64 ")"),
		    name, v, max);
		return false;
	}
	*out = (uint64_t)n;
	return true;
}

/* ---- the request state machine ---- */

/* The value of one hex digit, or -1. */
static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * URL-decode the segment seg[0..len) into out (at most API_PARAM_MAX
 * bytes). false for a bad escape, an encoded NUL or '/', or a segment too
 * long: such a path matches no route.
 */
static bool segment_decode(const char *seg, size_t len, char out[static API_PARAM_MAX + 1])
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		char c = seg[i];

		if (c == '%') {
			int h, l;
			if (i + 2 >= len)
				return false;
			h = hexval(seg[i + 1]);
			l = hexval(seg[i + 2]);
			if (h < 0 || l < 0)
				return false;
			c = (char)(h * 16 + l);
			if (c == '\0' || c == '/')
				return false;
			i += 2;
		}
		if (o >= API_PARAM_MAX)
			return false;
		out[o++] = c;
	}
	out[o] = '\0';
	return o > 0;
}

/*
 * True when url is the path of route rt: the same text, where each "{}"
 * segment of the pattern takes any one non-empty segment of url. The
 * segments taken are decoded into rq->params when rq is not NULL.
 */
static bool route_match(const struct api_route *rt, const char *url, struct api_req *rq)
{
	const char *p = rt->path, *u = url;
	unsigned np = 0;

	while (*p && *u) {
		if (p[0] == '{' && p[1] == '}') {
			const char *end = strchr(u, '/');
			size_t len = end ? (size_t)(end - u) : strlen(u);
			char tmp[API_PARAM_MAX + 1];

			if (len == 0 || np >= API_PARAMS_MAX || !segment_decode(u, len, tmp))
				return false;
			if (rq)
				memcpy(rq->params[np], tmp, sizeof(tmp));
			np++;
			p += 2;
			u += len;
			continue;
		}
		if (*p != *u)
			return false;
		p++;
		u++;
	}
	if (*p || *u)
		return false;
	if (rq)
		rq->nparams = np;
	return true;
}

/* The number of "{}" segments of a route's path. */
static unsigned route_params(const struct api_route *rt)
{
	unsigned n = 0;
	for (const char *p = rt->path; (p = strstr(p, "{}")); p += 2)
		n++;
	return n;
}

/*
 * The route for method and url. When several match (GET /v1/isms/{}/{}
 * and GET /v1/isms/risks/heatmap), the one with the fewest "{}" segments
 * wins, whatever the order of the tables; among equals, the first.
 */
static const struct api_route *route_find(const char *method, const char *url,
					  struct api_req *rq, bool *path_known)
{
	const struct api_route *best = NULL;

	*path_known = false;
	for (size_t t = 0; t < ARRAY_SIZE(route_tables); t++) {
		const struct api_route_table *tb = route_tables[t];
		for (size_t i = 0; i < tb->n; i++) {
			if (!route_match(&tb->routes[i], url, NULL))
				continue;
			*path_known = true;
			if (!strcmp(tb->routes[i].method, method) &&
			    (!best || route_params(&tb->routes[i]) < route_params(best)))
				best = &tb->routes[i];
		}
	}
	if (best && !route_match(best, url, rq))
		return NULL;
	return best;
}

static void route_allow(const char *url, char *out, size_t cap)
{
	size_t used = 0;
	out[0] = '\0';
	for (size_t t = 0; t < ARRAY_SIZE(route_tables); t++) {
		const struct api_route_table *tb = route_tables[t];
		for (size_t i = 0; i < tb->n; i++) {
			int n;
			if (!route_match(&tb->routes[i], url, NULL))
				continue;
			n = snprintf(out + used, cap - used, "%s%s", used ? ", " : "",
				     tb->routes[i].method);
			if (n < 0 || (size_t)n >= cap - used)
				return;
			used += (size_t)n;
		}
	}
}

/*
 * A console session (cookie mamori_session, docs/console-auth.md): the
 * same actor as a key would give, so every route's role check applies.
 * A request that changes something must carry the session's CSRF token.
 */
static enum MHD_Result check_session(struct api_server *s, struct MHD_Connection *c,
				     struct api_req *rq, const char *cookie, bool *ok)
{
	int r = auth_session_actor(s, c, rq->method, cookie, &rq->actor);

	if (r == ERR_FORBIDDEN)
		return send_problem(
		    c, rq, ERR_FORBIDDEN, NULL, NULL, "%s",
		    T("変更の要求には X-CSRF-Token ヘッダーにセッションの CSRF トークンを付けてください",
		      "a request that changes something must carry the session's CSRF token in an "
		      "X-CSRF-Token header"));
	if (r == ERR_UNAUTHORIZED)
		return send_problem(c, rq, ERR_UNAUTHORIZED, NULL, NULL, "%s",
				    T("サインインしていないか、セッションの期限が切れています",
				      "not signed in, or the session has expired"));
	if (r < 0) {
		log_error("session check: %s", err_msg(r));
		return send_problem(c, rq, r == ERR_BUSY ? ERR_BUSY : ERR_INTERNAL, NULL, NULL,
				    "%s", err_msg(r == ERR_BUSY ? ERR_BUSY : ERR_INTERNAL));
	}
	*ok = true;
	return MHD_YES;
}

/* Check the API key (or else the console session) of a request; on
 * success rq->actor is its actor. */
static enum MHD_Result check_auth(struct api_server *s, struct MHD_Connection *c,
				  struct api_req *rq, bool *ok)
{
	const char *h =
	    MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	const char *cookie = MHD_lookup_connection_value(c, MHD_COOKIE_KIND, AUTH_COOKIE);
	struct store *st = NULL;
	int r;

	*ok = false;
	if ((!h || !*h) && cookie)
		return check_session(s, c, rq, cookie, ok);
	if (!h || !*h)
		return send_problem(
		    c, rq, ERR_UNAUTHORIZED, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
		    "Bearer realm=\"mamori\"", "%s",
		    T("API キーを「Authorization: Bearer <キー>」ヘッダーで送ってください",
		      "send an API key in an 'Authorization: Bearer <key>' header"));
	if (!ascii_prefix_ci(h, "bearer "))
		return send_problem(
		    c, rq, ERR_UNAUTHORIZED, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
		    "Bearer realm=\"mamori\", error=\"invalid_request\"", "%s",
		    T("Authorization ヘッダーは「Bearer <キー>」の形式にしてください",
		      "the Authorization header must read 'Bearer <key>'"));
	h += 7;
	while (*h == ' ')
		h++;
	if ((r = api_pool_get(s, &st)) < 0)
		return send_problem(c, rq, ERR_BUSY, NULL, NULL, "%s", err_msg(ERR_BUSY));
	r = apikey_verify(st, h, &rq->actor);
	api_pool_put(s, st);
	if (r == ERR_UNAUTHORIZED)
		return send_problem(c, rq, ERR_UNAUTHORIZED, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
				    "Bearer realm=\"mamori\", error=\"invalid_token\"", "%s",
				    T("API キーが無効です（不明、失効済み、または誤り）",
				      "the API key is not valid (unknown, revoked or wrong)"));
	if (r < 0) {
		log_error("api key check: %s", err_msg(r));
		return send_problem(c, rq, r == ERR_BUSY ? ERR_BUSY : ERR_INTERNAL, NULL, NULL,
				    "%s", err_msg(r == ERR_BUSY ? ERR_BUSY : ERR_INTERNAL));
	}
	*ok = true;
	return MHD_YES;
}

/* True if ct is the media type mt (lower case), with or without
 * parameters. */
static bool content_type_is(const char *ct, const char *mt)
{
	if (!ct)
		return false;
	while (*ct == ' ')
		ct++;
	if (!ascii_prefix_ci(ct, mt))
		return false;
	ct += strlen(mt);
	while (*ct == ' ')
		ct++;
	return *ct == '\0' || *ct == ';';
}

static bool content_type_is_json(const char *ct)
{
	return content_type_is(ct, "application/json");
}

/* JSON Lines go by several names; plain JSON is accepted too, since a
 * batch of one event is also one JSON text. */
static bool content_type_is_lines(const char *ct)
{
	return content_type_is(ct, "application/x-ndjson") ||
	       content_type_is(ct, "application/json-lines") ||
	       content_type_is(ct, "application/jsonl") || content_type_is(ct, "application/json");
}

/* The first call: headers are in, no body yet. Answer now whatever can be
 * answered from the headers; return MHD_YES without a response to go on. */
static enum MHD_Result on_headers(struct api_server *s, struct MHD_Connection *c,
				  struct api_req *rq, const char *url, const char *method)
{
	bool known = false, ok = false;
	const char *cl;

	rq->route = route_find(method, url, rq, &known);
	if (!rq->route) {
		char allow[64];
		if (!known)
			return send_problem(
			    c, rq, ERR_NOT_FOUND, NULL, NULL,
			    T("パス '%.200s' はありません（GET /v1/openapi.json に一覧があります）",
			      "no such path '%.200s' (GET /v1/openapi.json lists them)"),
			    url);
		route_allow(url, allow, sizeof(allow));
		return send_problem(c, rq, ERR_METHOD, MHD_HTTP_HEADER_ALLOW, allow,
				    T("%.200s は %.16s を受け付けません（使えるメソッド: %s）",
				      "%.200s does not accept %.16s (allowed: %s)"),
				    url, method, allow);
	}
	if (rq->route->roles) {
		enum MHD_Result res = check_auth(s, c, rq, &ok);
		if (!ok)
			return res;
		if (!actor_has(&rq->actor, rq->route->roles))
			return send_problem(
			    c, rq, ERR_FORBIDDEN, NULL, NULL,
			    T("役割「%s」では %.16s %.200s を使えません",
			      "the role '%s' may not use %.16s %.200s"),
			    role_label(rq->actor.role), method, url);
	}
	if (rq->route->body == API_BODY_JSON) {
		const char *ct =
		    MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
		if (!content_type_is_json(ct))
			return send_problem(
			    c, rq, ERR_UNSUPPORTED, NULL, NULL,
			    T("本文は Content-Type: application/json "
			      "で送ってください（受け取ったもの: %.100s）",
			      "send the body with Content-Type: application/json (got: %.100s)"),
			    ct ? ct : T("なし", "none"));
	}
	if (rq->route->body == API_BODY_TEXT || rq->route->body == API_BODY_CSV) {
		const char *want = rq->route->body == API_BODY_TEXT ? "text/plain" : "text/csv";
		const char *ct =
		    MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
		if (!content_type_is(ct, want))
			return send_problem(c, rq, ERR_UNSUPPORTED, NULL, NULL,
					    T("本文は Content-Type: %s で送ってください"
					      "（受け取ったもの: %.100s）",
					      "send the body with Content-Type: %s (got: %.100s)"),
					    want, ct ? ct : T("なし", "none"));
	}
	if (rq->route->body == API_BODY_LINES) {
		const char *ct =
		    MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
		if (!content_type_is_lines(ct))
			return send_problem(
			    c, rq, ERR_UNSUPPORTED, NULL, NULL,
			    T("本文は JSON Lines（Content-Type: application/x-ndjson、"
			      "application/json-lines または application/json）で送ってください"
			      "（受け取ったもの: %.100s）",
			      "send the body as JSON Lines (Content-Type: application/x-ndjson, "
			      "application/json-lines or application/json) (got: %.100s)"),
			    ct ? ct : T("なし", "none"));
	}
	cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl) {
		int64_t n;
		/* libmicrohttpd has already refused a malformed length. */
		if (parse_i64(cl, strlen(cl), 0, INT64_MAX, &n) < 0 || (uint64_t)n > s->max_body)
			return send_problem(c, rq, ERR_TOO_LARGE, NULL, NULL,
					    T("本文が上限の %zu バイトを超えています",
					      "the body is larger than the limit of %zu bytes"),
					    s->max_body);
	}
	return MHD_YES;
}

/* The last call: the body (if any) is in. Run the route's handler. */
static enum MHD_Result on_complete(struct api_server *s, struct MHD_Connection *c,
				   struct api_req *rq)
{
	struct api_reply rep = {0};
	enum MHD_Result res;
	size_t bad = 0;
	int r;

	if (rq->too_large)
		return send_problem(c, rq, ERR_TOO_LARGE, NULL, NULL,
				    T("本文が上限の %zu バイトを超えています",
				      "the body is larger than the limit of %zu bytes"),
				    s->max_body);
	if (rq->route->body == API_BODY_LINES && rq->body.len == 0)
		return send_problem(c, rq, ERR_INVALID, NULL, NULL, "%s",
				    T("本文が空です。1 行に 1 件のイベントを送ってください",
				      "the body is empty; send one event per line"));
	if (rq->route->body != API_BODY_NONE) {
		if (rq->body.len == 0)
			return send_problem(
			    c, rq, ERR_INVALID, NULL, NULL, "%s",
			    rq->route->body == API_BODY_JSON
				? T("本文が空です。JSON オブジェクトを送ってください",
				    "the body is empty; send a JSON object")
				: T("本文が空です", "the body is empty"));
		if (!api_utf8_valid(rq->body.data, rq->body.len, &bad))
			return send_problem(c, rq, ERR_INVALID, NULL, NULL,
					    T("本文が正しい UTF-8 ではありません（%zu バイト目）",
					      "the body is not valid UTF-8 (at byte %zu)"),
					    bad);
	}
	buf_init(&rep.body, RESPONSE_MAX);
	buf_init(&rep.detail, 64 * 1024);
	buf_init(&rep.extra, RESPONSE_MAX / 2);
	rq->conn = c;
	r = rq->route->fn(s, rq, &rep);
	if (r < 0) {
		log_error("%s %s: %s", rq->method, rq->path, err_msg(r));
		res = send_problem_ex(c, rq, ERR_INTERNAL, NULL, 0, NULL, 0, NULL, NULL);
	} else if (rep.err < 0) {
		res = send_problem_ex(c, rq, rep.err, rep.detail.data, rep.detail.len,
				      rep.extra.data, rep.extra.len, NULL, NULL);
	} else {
		res = send_reply(c, rq, &rep);
	}
	buf_release(&rep.body);
	buf_release(&rep.detail);
	buf_release(&rep.extra);
	return res;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	struct api_server *s = cls;
	struct api_req *rq = *con_cls;
	enum MHD_Result res;

	(void)version;
	if (!rq) {
		const char *al = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
							     MHD_HTTP_HEADER_ACCEPT_LANGUAGE);
		rq = xcalloc(1, sizeof(*rq));
		clock_gettime(CLOCK_MONOTONIC, &rq->t0);
		log_safe_copy(rq->method, sizeof(rq->method), method);
		log_safe_copy(rq->path, sizeof(rq->path), url);
		/* Japanese unless the caller asks otherwise, as everywhere in mamori. */
		rq->lang = i18n_from_accept_language(al, LANG_JA);
		buf_init(&rq->body, s->max_body);
		*con_cls = rq;
		i18n_set_thread(rq->lang);
		res = on_headers(s, c, rq, url, method);
		i18n_clear_thread();
		return res;
	}
	if (*upload_data_size > 0) {
		size_t n = *upload_data_size;

		*upload_data_size = 0;
		/* The connection timeout only bounds silence; this bounds a
		 * body that trickles in forever. No response can be queued
		 * while the body is arriving, so the connection is closed. */
		if (elapsed_us(&rq->t0) > (int64_t)s->timeout_sec * 1000000) {
			log_warn("%s %s: %s", rq->method, rq->path, err_msg(ERR_TIMEOUT));
			return MHD_NO;
		}
		if (!rq->too_large && buf_append(&rq->body, upload_data, n) < 0) {
			rq->too_large = true;
			buf_release(&rq->body);
			buf_init(&rq->body, 0);
		}
		if (rq->too_large) {
			rq->discarded += n;
			if (rq->discarded > DISCARD_MAX)
				return MHD_NO;
		}
		return MHD_YES;
	}
	i18n_set_thread(rq->lang);
	res = on_complete(s, c, rq);
	i18n_clear_thread();
	return res;
}

static const char *termination_text(enum MHD_RequestTerminationCode toe)
{
	switch (toe) {
	case MHD_REQUEST_TERMINATED_TIMEOUT_REACHED:
		return T("タイムアウト", "timeout");
	case MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN:
		return T("サーバー停止", "server stopping");
	case MHD_REQUEST_TERMINATED_READ_ERROR:
		return T("読み込みエラー", "read error");
	case MHD_REQUEST_TERMINATED_CLIENT_ABORT:
		return T("クライアントが切断", "client went away");
	case MHD_REQUEST_TERMINATED_WITH_ERROR:
		return T("エラーまたは制限超過", "error or limit exceeded");
	default:
		return T("その他", "other");
	}
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct api_req *rq = *con_cls;

	(void)cls;
	(void)c;
	if (!rq)
		return;
	if (rq->status)
		log_info("%s %s %d %" PRId64 "us%s%s", rq->method, rq->path, rq->status,
			 elapsed_us(&rq->t0), rq->actor.name[0] ? " actor=" : "", rq->actor.name);
	else
		log_warn("%s %s - %" PRId64 "us (%s: %s)", rq->method, rq->path,
			 elapsed_us(&rq->t0),
			 T("応答前に接続が終了", "connection ended before a response"),
			 termination_text(toe));
	buf_release(&rq->body);
	free(rq);
	*con_cls = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	log_warn("httpd: %s", msg);
}

/* ---- listening ---- */

static int listen_socket(const char *host, uint16_t port, int *fd_out, uint16_t *bound)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd = -1, one = 1, r;

	memset(&ss, 0, sizeof(ss));
	if (strchr(host, ':')) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons(port);
		if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
			return ERR_INVALID;
		sl = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		a->sin_family = AF_INET;
		a->sin_port = htons(port);
		if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
			return ERR_INVALID;
		sl = sizeof(*a);
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return ERR_IO;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, 128) < 0) {
		log_error(T("%s:%u で待ち受けできません: %s", "cannot listen on %s:%u: %s"), host,
			  (unsigned)port, strerror(errno));
		r = ERR_IO;
		goto fail;
	}
	sl = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) {
		r = ERR_IO;
		goto fail;
	}
	*bound = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
						: ((struct sockaddr_in *)&ss)->sin_port);
	*fd_out = fd;
	return 0;
fail:
	close(fd);
	return r;
}

static void reload_on_signal(struct instance *in)
{
	struct diag d;
	struct buf line;

	diag_init(&d, 50);
	buf_init(&line, 8192);
	log_info("%s", T("SIGHUP: ポリシーと登録情報（職員・住民・案件など）を再読み込みします",
			 "SIGHUP: reloading policy and registry"));
	if (instance_reload(in, "signal:SIGHUP", &d) < 0)
		log_error("%s", T("再読み込みに失敗しました。以前のポリシーで動作を続けます",
				  "reload failed; still serving the previous policy"));
	for (size_t i = 0; i < d.n; i++) {
		buf_reset(&line);
		if (diag_item_format(&d.items[i], &line) == 0)
			log_msg(d.items[i].warning ? LOG_WARN : LOG_ERROR, "%s", line.data);
	}
	buf_release(&line);
	diag_release(&d);
}

int api_serve(struct instance *in, const struct api_opts *o)
{
	const struct instance_config *cfg = instance_config(in);
	struct api_server s = {0};
	struct MHD_Daemon *d = NULL;
	struct watch_stream *ws = NULL;
	sigset_t set, old;
	char host[INET6_ADDRSTRLEN + 1];
	const char *listen_at = o && o->listen ? o->listen : cfg->listen;
	unsigned threads = o && o->threads ? o->threads : cfg->threads;
	uint16_t port = 0, bound = 0;
	int fd = -1, lock_fd = -1, r, sig;
	bool tls = o && (o->tls_cert || o->tls_key);
	char *tls_cert = NULL, *tls_key = NULL;
	struct MHD_OptionItem tls_opts[3] = {{MHD_OPTION_END, 0, NULL}};

	if (!instance_engine(in) || !instance_ledger(in))
		return ERR_INVALID;
	if (tls && MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
		log_error("%s", T("この libmicrohttpd は TLS なしでビルドされています。--tls-cert / "
				  "--tls-key は使えません",
				  "this libmicrohttpd was built without TLS; --tls-cert and "
				  "--tls-key cannot be used"));
		return ERR_UNSUPPORTED;
	}
	if (tls) {
		if ((r = api_tls_load(o->tls_cert, o->tls_key, &tls_cert, &tls_key)) < 0)
			return r == ERR_FORBIDDEN || r == ERR_INVALID ? r : ERR_INVALID;
		tls_opts[0] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, tls_cert};
		tls_opts[1] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, tls_key};
		tls_opts[2] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
	}
	if ((r = api_listen_parse(listen_at, host, sizeof(host), &port)) < 0) {
		log_error(T("待ち受けアドレス '%s' が不正です（HOST:PORT、HOST は数値の IP "
			    "アドレスか localhost）",
			    "bad listen address '%s' (HOST:PORT, HOST a numeric IP address or "
			    "localhost)"),
			  listen_at);
		api_tls_free(tls_cert, tls_key);
		return ERR_INVALID;
	}
	if (!api_host_is_loopback(host) && !(o && o->allow_remote_http) && !tls) {
		log_error(
		    T("%s はループバック以外のアドレスです。mamori serve は TLS を持たない平文の "
		      "HTTP なので、"
		      "API キーと判定が盗聴されます。TLS 終端のリバースプロキシの背後でのみ "
		      "--allow-remote-http を付けて使ってください",
		      "%s is not a loopback address. mamori serve speaks plain HTTP without TLS, "
		      "so API keys and decisions could be read on the network; use "
		      "--allow-remote-http only behind a TLS-terminating reverse proxy"),
		    listen_at);
		api_tls_free(tls_cert, tls_key);
		return ERR_FORBIDDEN;
	}
	/* Other commands may write the ledger while the server runs, but two
	 * servers on one instance would be a mistake (two deciders, two
	 * reload schedules): the first holds serve.lock for its life. */
	{
		struct buf lp;
		buf_init(&lp, 4096);
		if (instance_path(in, "serve.lock", &lp) < 0) {
			buf_release(&lp);
			api_tls_free(tls_cert, tls_key);
			return ERR_TOO_LARGE;
		}
		lock_fd = open(lp.data, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (lock_fd < 0 || flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
			bool busy = lock_fd >= 0 && errno == EWOULDBLOCK;
			log_error("%s: %s", lp.data,
				  busy ? T("このインスタンスでは既に mamori serve が動作しています",
					   "another mamori serve is already running on this instance")
				       : strerror(errno));
			if (lock_fd >= 0)
				close(lock_fd);
			buf_release(&lp);
			api_tls_free(tls_cert, tls_key);
			return busy ? ERR_BUSY : ERR_IO;
		}
		buf_release(&lp);
	}
	if (threads < 1)
		threads = 1;
	if (threads > 256)
		threads = 256;
	s.in = in;
	s.max_body = cfg->max_body;
	s.timeout_sec = cfg->timeout_sec;
	s.cap = (size_t)threads * 2;
	s.pool = xcalloc(s.cap, sizeof(*s.pool));
	s.tls = tls;
	pthread_mutex_init(&s.pool_lock, NULL);

	/* Block the signals before the worker threads exist so that they
	 * inherit the mask and only sigwait() below ever takes them. */
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, &old);

	if ((r = listen_socket(host, port, &fd, &bound)) < 0)
		goto out;
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG |
				 (tls ? MHD_USE_TLS : 0),
			     0,
			     NULL, NULL, on_request, &s, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log,
			     NULL, MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_THREAD_POOL_SIZE,
			     threads, MHD_OPTION_CONNECTION_TIMEOUT, cfg->timeout_sec,
			     MHD_OPTION_NOTIFY_COMPLETED, on_completed, &s, MHD_OPTION_ARRAY,
			     tls_opts, MHD_OPTION_END);
	if (!d) {
		log_error("%s", T("HTTP サーバーを開始できません", "cannot start the HTTP server"));
		close(fd);
		r = ERR_IO;
		goto out;
	}
	if (strchr(host, ':'))
		printf("listening on %s://[%s]:%u\n", tls ? "https" : "http", host, (unsigned)bound);
	else
		printf("listening on %s://%s:%u\n", tls ? "https" : "http", host, (unsigned)bound);
	fflush(stdout);
	auth_serve_ready(&s, host, bound);
	log_info(T("%u スレッドで待ち受け中: %s:%u（本文の上限 %zu バイト、タイムアウト %u 秒）",
		   "serving with %u threads on %s:%u (body limit %zu bytes, timeout %u s)"),
		 threads, host, (unsigned)bound, s.max_body, s.timeout_sec);
	/* The watcher follows the ledger and raises alerts while the server
	 * runs (src/watch/stream.c); it keeps its own position in the store.
	 * MAMORI_WATCH=off leaves it out (docs/watch.md, "Streaming"): for a
	 * node whose alerts another node raises, or a test that counts the
	 * ledger's records exactly. */
	if (!getenv("MAMORI_WATCH") || strcmp(getenv("MAMORI_WATCH"), "off") != 0) {
		struct watch_stream_opts wo = {0};
		struct watch_thresholds th;
		struct diag td;
		struct buf db;
		buf_init(&db, 4096);
		diag_init(&td, 20);
		/* The engine loaded the same file a moment ago, so it parses. */
		if (instance_watch_thresholds(in, &th, &td) == 0)
			wo.thresholds = &th;
		else
			log_warn("%s", T("ポリシーファイルの watch: を読めません。既定のしきい値で監視します",
					 "cannot read the policy file's watch: section; watching with the default thresholds"));
		diag_release(&td);
		wo.ledger = instance_ledger(in);
		wo.actor = "system:watch";
		if (instance_path(in, cfg->database, &db) == 0) {
			wo.db_path = db.data;
			if (watch_stream_start(&wo, &ws) < 0)
				log_error("%s", T("監視スレッドを開始できません", "cannot start the watcher thread"));
		}
		buf_release(&db);
	}
	if (o && o->on_ready)
		o->on_ready(bound, o->on_ready_arg);

	for (;;) {
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			reload_on_signal(in);
			continue;
		}
		log_info(T("シグナル %d を受けました。停止します", "signal %d received; stopping"),
			 sig);
		break;
	}
	/* Waits for requests in flight and closes the listening socket. */
	MHD_stop_daemon(d);
	r = 0;
out:
	watch_stream_stop(ws);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	for (size_t i = 0; i < s.npool; i++)
		store_close(s.pool[i]);
	free(s.pool);
	pthread_mutex_destroy(&s.pool_lock);
	close(lock_fd); /* releases serve.lock */
	api_tls_free(tls_cert, tls_key);
	return r;
}
