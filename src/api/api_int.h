/*
 * api_int.h - private to src/api/ and its tests: the server's request and
 * reply, the route tables, and the helpers every route file shares.
 *
 * The routes live in one file per area (routes_core.c, routes_ledger.c,
 * ...), each exporting a table of struct api_route; server.c joins the
 * tables (api_route_tables) and runs the request state machine: find the
 * route, authenticate, check the actor's role against the route's roles,
 * check the body's media type and size, collect the body, call the
 * handler, and send its reply or its problem document. A handler never
 * talks to libmicrohttpd: it reads the request through api_param,
 * api_query and rq->body and fills a struct api_reply.
 */
#ifndef MAMORI_API_INT_H
#define MAMORI_API_INT_H

#include <pthread.h>
#include <time.h>

#include "base/base.h"
#include "base/actor.h"
#include "base/buf.h"
#include "base/i18n.h"

struct instance;
struct store;
struct MHD_Connection;

/* The version reported by GET /v1/health and the OpenAPI document. */
#define MAMORI_VERSION "0.1.0"

#define API_LOG_PATH_MAX 120
#define API_PARAMS_MAX 4
#define API_PARAM_MAX 128
#define API_HEADERS_MAX 4
/* The largest reply body; a handler that would exceed it answers 413 or
 * pages its results. */
#define API_RESPONSE_MAX ((size_t)4 << 20)

struct api_server {
	struct instance *in;
	size_t max_body;
	unsigned timeout_sec;
	pthread_mutex_t pool_lock;
	struct store **pool; /* idle store connections, one per busy worker at most */
	size_t npool, cap;
	bool tls; /* serving HTTPS: session cookies are marked Secure */
};

/* What a route takes as its body. */
enum api_body {
	API_BODY_NONE = 0, /* nothing (a body sent anyway is read and ignored) */
	API_BODY_JSON,	   /* one JSON text, Content-Type application/json */
	API_BODY_LINES,	   /* JSON Lines (application/x-ndjson and the like) */
	API_BODY_TEXT,	   /* text/plain */
	API_BODY_CSV,	   /* text/csv */
};

struct api_req;
struct api_reply;

typedef int (*api_handler)(struct api_server *s, struct api_req *rq, struct api_reply *rep);

/*
 * One route. path is literal except for segments "{}", each of which
 * matches one non-empty segment without '/', handed to the handler as
 * api_param(rq, 0), (rq, 1), ... in order. roles is the set of actor roles
 * (base/actor.h) that may call the route; 0 makes it public (no
 * authentication). A route with roles answers 401 without valid
 * credentials and 403 to an actor whose role is not in the set.
 */
struct api_route {
	const char *method;
	const char *path;
	api_handler fn;
	unsigned roles;
	enum api_body body;
};

struct api_route_table {
	const struct api_route *routes;
	size_t n;
};

/* The route tables of each area, joined by server.c. */
extern const struct api_route_table api_routes_core;
extern const struct api_route_table api_routes_ledger;
extern const struct api_route_table api_routes_console;
extern const struct api_route_table api_routes_auth;
/* ISMS people workflows (routes_isms_people.c): before the generic ISMS table. */
extern const struct api_route_table api_routes_isms_people;
/* The ISMS cycle: incidents, audits, evaluation, continuity, reports. */
extern const struct api_route_table api_routes_isms_cycle;

/*
 * The console's session cookie (routes_auth.c, docs/console-auth.md): the
 * actor of a fully signed-in session ("user:<login>"). method decides
 * whether the X-CSRF-Token header must match the session's token (any
 * method but GET, HEAD and OPTIONS). 0, ERR_UNAUTHORIZED without such a
 * session, ERR_FORBIDDEN for a missing or wrong CSRF token, or another
 * error. Thread-safe.
 */
MM_WUR int auth_session_actor(struct api_server *s, struct MHD_Connection *conn,
			      const char *method, const char *cookie, struct actor *out);
/* Called once listening: loads keys/mfa.key and, if no console user
 * exists, prints a one-time link for the first administrator on stdout. */
void auth_serve_ready(struct api_server *s, const char *host, uint16_t port);
/*
 * Read a TLS certificate and key (PEM files) for HTTPS. The key file must
 * not be readable or writable by group or others (ERR_FORBIDDEN); the
 * problem is logged with the file's name. The caller frees both with
 * api_tls_free (which wipes the key).
 */
MM_WUR int api_tls_load(const char *cert_path, const char *key_path, char **cert, char **key);
void api_tls_free(char *cert, char *key);
extern const struct api_route_table api_routes_watch;

/* Every route table the server answers, in the order they are searched. */
const struct api_route_table *const *api_route_tables(size_t *n);

struct api_req {
	const struct api_route *route;
	enum lang lang;
	struct actor actor; /* who is calling, once authenticated; name "" if public */
	struct buf body;
	bool too_large;
	size_t discarded;
	int status; /* the status answered, 0 while none */
	struct timespec t0;
	char method[16];
	char path[API_LOG_PATH_MAX + 1]; /* for logs only: cut and made printable */
	char params[API_PARAMS_MAX][API_PARAM_MAX + 1]; /* the "{}" segments, URL-decoded */
	unsigned nparams;
	struct MHD_Connection *conn; /* for query arguments and headers: use the helpers */
};

/* What a handler produces: a body with a status, or an error. */
struct api_reply {
	int status;
	struct buf body;
	int err;	   /* < 0: answer a problem document for this code */
	struct buf detail; /* the problem's detail; empty means err_msg(err) */
	struct buf extra;  /* extension members of the problem, ",\"k\":v..." */
	const char *ctype; /* Content-Type of body; NULL means application/json */
	/* Further response headers (Set-Cookie, Content-Disposition, ...). */
	struct {
		const char *name;
		char value[512];
	} headers[API_HEADERS_MAX];
	unsigned nheaders;
};

/* The i-th "{}" segment of the path (URL-decoded); "" past the last. */
const char *api_param(const struct api_req *rq, unsigned i);
/* The query argument name, NULL if absent. Valid during the handler. */
const char *api_query(const struct api_req *rq, const char *name);
/* A request header, NULL if absent. */
const char *api_header(const struct api_req *rq, const char *name);

/*
 * Set the reply to a problem: ERR_INVALID (400) with detail fmt. Returns 0
 * so a handler can `return api_reply_invalid(...)`.
 */
int api_reply_invalid(struct api_reply *rep, const char *fmt, ...) MM_PRINTF(2, 3);
/* Set the reply to a problem of code err with detail fmt; returns 0. */
int api_reply_problem(struct api_reply *rep, int err, const char *fmt, ...) MM_PRINTF(3, 4);
/* Add a response header (copied; cut at 511 bytes). ERR_TOO_LARGE past
 * API_HEADERS_MAX. name must be a string literal or outlive the reply. */
MM_WUR int api_reply_header(struct api_reply *rep, const char *name, const char *value);

/*
 * The query argument name as a whole number 0 .. max into *out. false
 * (with the problem set in rep) when missing or not such a number.
 */
bool api_query_u64(struct api_req *rq, struct api_reply *rep, const char *name, uint64_t max,
		   uint64_t *out);

/* Borrow a store connection for the calling thread, and give it back. */
MM_WUR int api_pool_get(struct api_server *s, struct store **out);
void api_pool_put(struct api_server *s, struct store *st);

/*
 * Check that s[0..len) is well-formed UTF-8 (RFC 3629: shortest form, no
 * surrogates, nothing above U+10FFFF). On failure *bad_at (if not NULL)
 * receives the offset of the first byte of the bad sequence.
 */
bool api_utf8_valid(const char *s, size_t len, size_t *bad_at);

/* The OpenAPI 3.1 document served at GET /v1/openapi.json (a static,
 * NUL-terminated JSON text). */
const char *api_openapi_json(void);

/*
 * Split a listen address "host:port" ("[v6]:port" for IPv6; "localhost"
 * means 127.0.0.1) into a numeric host and a port (0-65535). host_out
 * receives the host without brackets. ERR_INVALID if malformed.
 */
MM_WUR int api_listen_parse(const char *listen, char *host_out, size_t host_len, uint16_t *port);
/* True if host (numeric, as from api_listen_parse) is a loopback address. */
bool api_host_is_loopback(const char *host);

#endif
