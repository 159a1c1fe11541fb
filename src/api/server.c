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
#include "instance/instance.h"
#include "registry/registry.h"
#include "ledger/disclose.h"
#include "ledger/ledger.h"
#include "ledger/merkle.h"
#include "ledger/note.h"
#include "ledger/verify.h"
#include "store/store.h"
#include "watch/ingest.h"

#include <sodium.h>

#define PROBLEM_BASE "https://mamori.invalid/problems/"
#define LOG_PATH_MAX 120
/* Past the body limit of a chunked upload, libmicrohttpd cannot answer
 * before the body ends: the excess is read and dropped, never kept, and
 * beyond this much more the connection is simply closed. */
#define DISCARD_MAX ((size_t)64 << 20)
#define RESPONSE_MAX ((size_t)4 << 20)

struct api_server {
	struct instance *in;
	size_t max_body;
	unsigned timeout_sec;
	pthread_mutex_t pool_lock;
	struct store **pool; /* idle store connections, one per busy worker at most */
	size_t npool, cap;
};

struct api_req;

/* What a handler produces: a JSON body with a status, or an error. */
struct api_reply {
	int status;
	struct buf body;
	int err;	   /* < 0: answer a problem document for this code */
	struct buf detail; /* the problem's detail; empty means err_msg(err) */
	struct buf extra;  /* extension members of the problem, ",\"k\":v..." */
	const char *ctype; /* Content-Type of body; NULL means application/json */
};

typedef int (*route_fn)(struct api_server *s, struct api_req *rq, struct api_reply *rep);

struct route {
	const char *method;
	const char *path;
	route_fn fn;
	bool auth;	/* needs "Authorization: Bearer <API key>" */
	bool json_body; /* takes a JSON body (Content-Type application/json) */
	bool lines_body; /* takes JSON Lines (application/x-ndjson and the like) */
	bool prefix;	 /* path ends in one more segment: "/v1/disclosure/" + id */
};

struct api_req {
	const struct route *route;
	enum lang lang;
	char actor[APIKEY_NAME_MAX + 1]; /* the API key's name once verified */
	struct buf body;
	bool too_large;
	size_t discarded;
	int status; /* the status answered, 0 while none */
	struct timespec t0;
	char method[16];
	char path[LOG_PATH_MAX + 1];
	struct MHD_Connection *conn; /* for the query arguments, in handlers */
};

static int h_health(struct api_server *s, struct api_req *rq, struct api_reply *rep);
static int h_openapi(struct api_server *s, struct api_req *rq, struct api_reply *rep);
static int h_decide(struct api_server *s, struct api_req *rq, struct api_reply *rep);
static int h_events(struct api_server *s, struct api_req *rq, struct api_reply *rep);
static int h_reload(struct api_server *s, struct api_req *rq, struct api_reply *rep);
static int h_ledger_checkpoint(struct api_server *s, struct api_req *rq, struct api_reply *rep);
static int h_ledger_inclusion(struct api_server *s, struct api_req *rq, struct api_reply *rep);
static int h_ledger_consistency(struct api_server *s, struct api_req *rq, struct api_reply *rep);
static int h_ledger_entries(struct api_server *s, struct api_req *rq, struct api_reply *rep);
static int h_ledger_cosignature(struct api_server *s, struct api_req *rq, struct api_reply *rep);
static int h_disclosure(struct api_server *s, struct api_req *rq, struct api_reply *rep);

/* Every route the server answers; the OpenAPI document (openapi.c)
 * describes each of them and the integration tests check that it does. */
static const struct route routes[] = {
    {"GET", "/v1/health", h_health, false, false},
    {"GET", "/v1/openapi.json", h_openapi, false, false},
    {"POST", "/v1/decide", h_decide, true, true},
    {"POST", "/v1/events", h_events, true, false, true},
    {"POST", "/v1/admin/reload", h_reload, true, false},
    /* The checkpoint and consistency proofs are public, for witnesses and
     * auditors; entries (who accessed whom) and inclusion proofs need a key. */
    {"GET", "/v1/ledger/checkpoint", h_ledger_checkpoint, false, false},
    {"GET", "/v1/ledger/proof/inclusion", h_ledger_inclusion, true, false},
    {"GET", "/v1/ledger/proof/consistency", h_ledger_consistency, false, false},
    {"GET", "/v1/ledger/entries", h_ledger_entries, true, false},
    /* Witnesses post their cosignatures of a checkpoint (text/plain). */
    {"POST", "/v1/ledger/cosignature", h_ledger_cosignature, true, false},
    /* Disclosure to a resident: who accessed their record (ledger.md). */
    {"GET", "/v1/disclosure/", h_disclosure, true, false, false, true},
};

/* ---- small helpers ---- */

bool api_utf8_valid(const char *str, size_t len, size_t *bad_at)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < len) {
		unsigned c = s[i], need, cp, min;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			need = 1, cp = c & 0x1f, min = 0x80;
		else if (c >= 0xe0 && c <= 0xef)
			need = 2, cp = c & 0x0f, min = 0x800;
		else if (c >= 0xf0 && c <= 0xf4)
			need = 3, cp = c & 0x07, min = 0x10000;
		else
			goto bad;
		if (len - i <= need)
			goto bad;
		for (unsigned k = 1; k <= need; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				goto bad;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			goto bad;
		i += need + 1;
	}
	return true;
bad:
	if (bad_at)
		*bad_at = i;
	return false;
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

static int pool_get(struct api_server *s, struct store **out)
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

static void pool_put(struct api_server *s, struct store *st)
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

/* ---- handlers ---- */

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

	r = instance_decide(s->in, rq->body.data, rq->body.len, rq->actor, &rep->body, &decision);
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
	r = watch_ingest(instance_ledger(s->in), rq->actor, rq->body.data, rq->body.len, NULL, 0,
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
	r = instance_reload(s->in, rq->actor, &d);
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

/* ---- the ledger ---- */

/* Most entries one GET /v1/ledger/entries returns. */
#define LEDGER_ENTRIES_MAX 1000

/* A problem for a bad query argument: ERR_INVALID with a detail. */
static int reply_invalid(struct api_reply *rep, const char *fmt, ...) MM_PRINTF(2, 3);

static int reply_invalid(struct api_reply *rep, const char *fmt, ...)
{
	va_list ap;
	int r;

	rep->err = ERR_INVALID;
	va_start(ap, fmt);
	r = buf_vprintf(&rep->detail, fmt, ap);
	va_end(ap);
	if (r < 0)
		buf_reset(&rep->detail);
	return 0;
}

/*
 * The query argument name as a whole number 0 .. max into *out. false
 * (with the problem set in rep) when missing or not such a number.
 */
static bool query_u64(struct api_req *rq, struct api_reply *rep, const char *name, uint64_t max,
		      uint64_t *out)
{
	const char *v = MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND, name);
	int64_t n;

	if (v == NULL || *v == '\0') {
		reply_invalid(rep, T("クエリー引数 '%s' が必要です", "query argument '%s' is required"),
			      name);
		return false;
	}
	for (const char *p = v; *p; p++) {
		if (*p < '0' || *p > '9') {
			reply_invalid(rep,
				      T("クエリー引数 '%s' は 0 以上の整数にしてください（'%.40s'）",
					"query argument '%s' must be a whole number (got '%.40s')"),
				      name, v);
			return false;
		}
	}
	if (parse_i64(v, strlen(v), 0, INT64_MAX, &n) < 0 || (uint64_t)n > max) {
		reply_invalid(rep,
			      T("クエリー引数 '%s' が範囲外です（'%.40s'、上限 %" PRIu64 "）",
				"query argument '%s' is out of range (got '%.40s', at most %" PRIu64 ")"),
			      name, v, max);
		return false;
	}
	*out = (uint64_t)n;
	return true;
}

static int put_b64(struct buf *b, const uint8_t h[MERKLE_HASH_SIZE])
{
	char t[sodium_base64_ENCODED_LEN(MERKLE_HASH_SIZE, sodium_base64_VARIANT_ORIGINAL)];

	sodium_bin2base64(t, sizeof(t), h, MERKLE_HASH_SIZE, sodium_base64_VARIANT_ORIGINAL);
	return buf_printf(b, "\"%s\"", t);
}

static int put_proof(struct buf *b, uint8_t (*proof)[MERKLE_HASH_SIZE], size_t n)
{
	int r;

	if ((r = buf_puts(b, ",\"proof\":[")) < 0)
		return r;
	for (size_t i = 0; i < n; i++)
		if ((i > 0 && (r = buf_putc(b, ',')) < 0) || (r = put_b64(b, proof[i])) < 0)
			return r;
	return buf_putc(b, ']');
}

/* ---- cosignatures (docs/internals/ledger.md, "Witnesses") ---- */

/* Serialises the read-merge-write of ledger/checkpoints/<size>.cosigned. */
static pthread_mutex_t cosign_lock = PTHREAD_MUTEX_INITIALIZER;



/* The path of ledger/checkpoints/<size>.<ext> into out. */
static int checkpoint_path(struct api_server *s, uint64_t size, const char *ext, struct buf *out)
{
	char rel[96];
	int n = snprintf(rel, sizeof(rel), "ledger/checkpoints/%" PRIu64 ".%s", size, ext);

	if (n < 0 || (size_t)n >= sizeof(rel))
		return ERR_TOO_LARGE;
	buf_reset(out);
	return instance_path(s->in, rel, out);
}

/*
 * If note (the latest checkpoint) has a cosigned version with the same
 * signed text, replace note with it. A missing or unreadable cosigned
 * file leaves note as it is: the instance's own signature is enough.
 */
static int cosigned_replace(struct api_server *s, struct buf *note)
{
	struct note n, c;
	struct note_checkpoint cp;
	struct buf path, text;
	int r = 0;

	if (note_parse(note->data, note->len, &n, NULL, NULL) < 0 ||
	    note_checkpoint_parse(n.text, n.text_len, &cp, NULL, NULL) < 0)
		return 0;
	buf_init(&path, 8192);
	buf_init(&text, NOTE_MAX);
	if ((r = checkpoint_path(s, cp.size, "cosigned", &path)) < 0)
		goto out;
	pthread_mutex_lock(&cosign_lock);
	r = file_read_all(path.data, NOTE_MAX, &text);
	pthread_mutex_unlock(&cosign_lock);
	if (r < 0) {
		r = 0;
		goto out;
	}
	if (note_parse(text.data, text.len, &c, NULL, NULL) == 0 && c.text_len == n.text_len &&
	    memcmp(c.text, n.text, n.text_len) == 0) {
		buf_reset(note);
		r = buf_append(note, text.data, text.len);
	}
out:
	buf_release(&path);
	buf_release(&text);
	return r;
}

/* Append sig's line to out unless a signature by the same name and key id
 * is in it already (a witness that cosigns twice is counted once). */
static int sig_merge(struct buf *out, const struct note_sig *sig, size_t *added)
{
	struct note cur;
	int r;

	if ((r = note_parse(out->data, out->len, &cur, NULL, NULL)) < 0)
		return r;
	for (size_t i = 0; i < cur.nsigs; i++)
		if (cur.sigs[i].key_id == sig->key_id && cur.sigs[i].name_len == sig->name_len &&
		    memcmp(cur.sigs[i].name, sig->name, sig->name_len) == 0)
			return 0;
	if (cur.nsigs >= NOTE_SIGS_MAX)
		return ERR_TOO_LARGE;
	if ((r = buf_puts(out, "\xe2\x80\x94 ")) < 0 ||
	    (r = buf_append(out, sig->name, sig->name_len)) < 0 || (r = buf_putc(out, ' ')) < 0 ||
	    (r = buf_append(out, sig->b64, sig->b64_len)) < 0 || (r = buf_putc(out, '\n')) < 0)
		return r;
	(*added)++;
	return 0;
}

/*
 * POST /v1/ledger/cosignature: a checkpoint note that the instance signed,
 * with one or more witnesses' signatures added. The text must be that of
 * a stored checkpoint and the instance's signature must verify; the other
 * signature lines are merged into ledger/checkpoints/<size>.cosigned. The
 * instance cannot check a witness's signature (it does not know the
 * witness's key): whoever reads the cosigned checkpoint checks the
 * signatures of the witnesses it trusts.
 */
static int h_ledger_cosignature(struct api_server *s, struct api_req *rq, struct api_reply *rep)
{
	char origin[NOTE_NAME_MAX + 1];
	uint8_t pk[NOTE_KEY_SIZE];
	uint32_t own_id;
	struct note n, stored, old;
	struct note_checkpoint cp;
	struct buf path, st, merged, prev;
	size_t added = 0, cosigs = 0, olen;
	bool locked = false;
	int r;

	buf_init(&path, 8192);
	buf_init(&st, NOTE_MAX);
	buf_init(&merged, NOTE_MAX);
	buf_init(&prev, NOTE_MAX);
	if ((r = note_parse(rq->body.data ? rq->body.data : "", rq->body.len, &n, NULL, NULL)) < 0 ||
	    (r = note_checkpoint_parse(n.text, n.text_len, &cp, NULL, NULL)) < 0) {
		r = reply_invalid(rep, T("本文が署名付きチェックポイント（C2SP signed note）ではありません: %s",
					 "the body is not a signed checkpoint (C2SP signed note): %s"),
				  err_msg(r));
		goto out;
	}
	if ((r = instance_origin(s->in, origin, sizeof(origin))) < 0 ||
	    (r = instance_path(s->in, "keys/signing.pub", &path)) < 0 ||
	    (r = ledger_read_public_key(path.data, pk)) < 0 ||
	    (r = checkpoint_path(s, cp.size, "note", &path)) < 0)
		goto out;
	r = file_read_all(path.data, NOTE_MAX, &st);
	if (r == ERR_NOT_FOUND || (r == 0 && (note_parse(st.data, st.len, &stored, NULL, NULL) < 0 ||
					      stored.text_len != n.text_len ||
					      memcmp(stored.text, n.text, n.text_len) != 0))) {
		r = reply_invalid(rep, T("この本文はこのインスタンスのサイズ %" PRIu64
					 " のチェックポイントと一致しません",
					 "the text is not this instance's checkpoint of size %" PRIu64),
				  cp.size);
		goto out;
	}
	if (r < 0)
		goto out;
	if (note_verify(&n, origin, pk) != 0) {
		r = reply_invalid(rep, "%s",
				  T("インスタンスの署名がないか、検証できません",
				    "the instance's signature is missing or does not verify"));
		goto out;
	}
	own_id = note_key_id(origin, strlen(origin), pk);
	for (size_t i = 0; i < n.nsigs; i++)
		if (!(n.sigs[i].key_id == own_id && n.sigs[i].name_len == strlen(origin) &&
		      memcmp(n.sigs[i].name, origin, n.sigs[i].name_len) == 0))
			cosigs++;
	if (cosigs == 0) {
		r = reply_invalid(rep, "%s",
				  T("インスタンス以外の署名（副署名）がありません",
				    "the note carries no signature but the instance's (no cosignature)"));
		goto out;
	}
	/* Start from the stored note (the instance's own signature), add the
	 * cosignatures already kept, then the new ones. */
	pthread_mutex_lock(&cosign_lock);
	locked = true;
	if ((r = buf_append(&merged, st.data, st.len)) < 0 ||
	    (r = checkpoint_path(s, cp.size, "cosigned", &path)) < 0)
		goto out;
	r = file_read_all(path.data, NOTE_MAX, &prev);
	if (r == 0 && note_parse(prev.data, prev.len, &old, NULL, NULL) == 0 &&
	    old.text_len == n.text_len && memcmp(old.text, n.text, n.text_len) == 0) {
		for (size_t i = 0; i < old.nsigs; i++) {
			size_t ignored = 0;
			if ((r = sig_merge(&merged, &old.sigs[i], &ignored)) < 0)
				goto out;
		}
	} else if (r < 0 && r != ERR_NOT_FOUND) {
		goto out;
	}
	olen = merged.len;
	for (size_t i = 0; i < n.nsigs; i++) {
		if ((r = sig_merge(&merged, &n.sigs[i], &added)) == ERR_TOO_LARGE) {
			r = reply_invalid(rep, T("署名は %d 個までです", "at most %d signatures"),
					  NOTE_SIGS_MAX);
			goto out;
		}
		if (r < 0)
			goto out;
	}
	if (merged.len != olen && (r = file_write_atomic(path.data, merged.data, merged.len, 0644)) < 0)
		goto out;
	if ((r = note_parse(merged.data, merged.len, &old, NULL, NULL)) < 0)
		goto out;
	rep->status = 200;
	r = buf_printf(&rep->body, "{\"size\":%" PRIu64 ",\"added\":%zu,\"signatures\":%zu}",
		       cp.size, added, old.nsigs);
out:
	if (locked)
		pthread_mutex_unlock(&cosign_lock);
	buf_release(&path);
	buf_release(&st);
	buf_release(&merged);
	buf_release(&prev);
	return r;
}

static int h_ledger_checkpoint(struct api_server *s, struct api_req *rq, struct api_reply *rep)
{
	int r;

	(void)rq;
	r = ledger_latest_checkpoint(instance_ledger(s->in), &rep->body);
	if (r == ERR_NOT_FOUND) {
		rep->err = ERR_NOT_FOUND;
		return buf_puts(&rep->detail, T("チェックポイントはまだありません",
					       "there is no checkpoint yet"));
	}
	if (r < 0)
		return r;
	/* With witnesses' cosignatures of this very checkpoint, serve those. */
	if ((r = cosigned_replace(s, &rep->body)) < 0)
		return r;
	rep->status = 200;
	rep->ctype = "text/plain; charset=utf-8";
	return 0;
}

static int h_ledger_inclusion(struct api_server *s, struct api_req *rq, struct api_reply *rep)
{
	struct ledger *l = instance_ledger(s->in);
	uint8_t proof[MERKLE_PROOF_MAX][MERKLE_HASH_SIZE], root[MERKLE_HASH_SIZE],
	    leaf[MERKLE_HASH_SIZE];
	uint64_t index, size, have = ledger_size(l);
	size_t n = 0;
	int r;

	if (!query_u64(rq, rep, "index", MERKLE_SIZE_MAX, &index) ||
	    !query_u64(rq, rep, "size", MERKLE_SIZE_MAX, &size))
		return 0;
	if (size > have)
		return reply_invalid(rep,
				     T("size %" PRIu64 " は台帳の記録数 %" PRIu64 " を超えています",
				       "size %" PRIu64 " is beyond the %" PRIu64 " entries of the ledger"),
				     size, have);
	if (index >= size)
		return reply_invalid(rep,
				     T("index は size より小さくしてください（index %" PRIu64
				       "、size %" PRIu64 "）",
				       "index must be less than size (index %" PRIu64 ", size %" PRIu64 ")"),
				     index, size);
	if ((r = merkle_inclusion_proof(ledger_subtree_hash, l, index, size, proof, &n)) < 0 ||
	    (r = ledger_root(l, size, root)) < 0 || (r = ledger_subtree_hash(l, index, 0, leaf)) < 0)
		return r;
	rep->status = 200;
	if ((r = buf_printf(&rep->body, "{\"index\":%" PRIu64 ",\"size\":%" PRIu64 ",\"leaf_hash\":",
			    index, size)) < 0 ||
	    (r = put_b64(&rep->body, leaf)) < 0 || (r = buf_puts(&rep->body, ",\"root\":")) < 0 ||
	    (r = put_b64(&rep->body, root)) < 0 || (r = put_proof(&rep->body, proof, n)) < 0)
		return r;
	return buf_putc(&rep->body, '}');
}

static int h_ledger_consistency(struct api_server *s, struct api_req *rq, struct api_reply *rep)
{
	struct ledger *l = instance_ledger(s->in);
	uint8_t proof[MERKLE_PROOF_MAX][MERKLE_HASH_SIZE], r1[MERKLE_HASH_SIZE],
	    r2[MERKLE_HASH_SIZE];
	uint64_t from, to, have = ledger_size(l);
	size_t n = 0;
	int r;

	if (!query_u64(rq, rep, "from", MERKLE_SIZE_MAX, &from) ||
	    !query_u64(rq, rep, "to", MERKLE_SIZE_MAX, &to))
		return 0;
	if (to > have)
		return reply_invalid(rep,
				     T("to %" PRIu64 " は台帳の記録数 %" PRIu64 " を超えています",
				       "to %" PRIu64 " is beyond the %" PRIu64 " entries of the ledger"),
				     to, have);
	if (from > to)
		return reply_invalid(rep,
				     T("from は to 以下にしてください（from %" PRIu64 "、to %" PRIu64 "）",
				       "from must not exceed to (from %" PRIu64 ", to %" PRIu64 ")"),
				     from, to);
	if ((r = merkle_consistency_proof(ledger_subtree_hash, l, from, to, proof, &n)) < 0 ||
	    (r = ledger_root(l, from, r1)) < 0 || (r = ledger_root(l, to, r2)) < 0)
		return r;
	rep->status = 200;
	if ((r = buf_printf(&rep->body, "{\"from\":%" PRIu64 ",\"to\":%" PRIu64 ",\"from_root\":",
			    from, to)) < 0 ||
	    (r = put_b64(&rep->body, r1)) < 0 || (r = buf_puts(&rep->body, ",\"to_root\":")) < 0 ||
	    (r = put_b64(&rep->body, r2)) < 0 || (r = put_proof(&rep->body, proof, n)) < 0)
		return r;
	return buf_putc(&rep->body, '}');
}

static int h_ledger_entries(struct api_server *s, struct api_req *rq, struct api_reply *rep)
{
	struct ledger *l = instance_ledger(s->in);
	uint64_t start, end, have = ledger_size(l), i;
	struct buf line;
	int r = 0;

	if (!query_u64(rq, rep, "start", MERKLE_SIZE_MAX, &start) ||
	    !query_u64(rq, rep, "end", MERKLE_SIZE_MAX, &end))
		return 0;
	if (end > have)
		return reply_invalid(rep,
				     T("end %" PRIu64 " は台帳の記録数 %" PRIu64 " を超えています",
				       "end %" PRIu64 " is beyond the %" PRIu64 " entries of the ledger"),
				     end, have);
	if (start >= end || end - start > LEDGER_ENTRIES_MAX)
		return reply_invalid(rep,
				     T("start < end かつ end - start ≦ %d にしてください（start %" PRIu64
				       "、end %" PRIu64 "）",
				       "need start < end and end - start <= %d (start %" PRIu64
				       ", end %" PRIu64 ")"),
				     LEDGER_ENTRIES_MAX, start, end);
	buf_init(&line, SIZE_MAX);
	if ((r = buf_puts(&rep->body, "{\"entries\":[")) < 0)
		goto out;
	/* Records go in verbatim (each is one JSON object); a response that
	 * would pass its limit stops early, and "end" says where. */
	for (i = start; i < end; i++) {
		if ((r = ledger_read(l, i, &line)) < 0)
			goto out;
		if (rep->body.len + line.len + 64 > RESPONSE_MAX && i > start)
			break;
		if ((i > start && (r = buf_putc(&rep->body, ',')) < 0) ||
		    (r = buf_append(&rep->body, line.data, line.len)) < 0)
			goto out;
	}
	if ((r = buf_printf(&rep->body, "],\"start\":%" PRIu64 ",\"end\":%" PRIu64 "}", start, i)) < 0)
		goto out;
	rep->status = 200;
out:
	buf_release(&line);
	return r;
}

/*
 * GET /v1/disclosure/{resident}?by=STAFF&for=resident|proxy: the
 * disclosure document of disclose_build, under the rules of
 * disclose_authorise; every disclosure, made or refused, is recorded.
 */
static int h_disclosure(struct api_server *s, struct api_req *rq, struct api_reply *rep)
{
	const char *resident = rq->path + strlen("/v1/disclosure/");
	const char *by = MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND, "by");
	const char *forw = MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND, "for");
	struct registry_data *reg = NULL;
	struct store *st = NULL;
	struct disclose_result res = {0};
	struct ledger *l = instance_ledger(s->in);
	bool for_resident;
	int r, ar;

	if (!by || !*by)
		return reply_invalid(rep, T("クエリー引数 '%s' が必要です",
					    "query argument '%s' is required"),
				     "by");
	if (!forw || (strcmp(forw, "resident") != 0 && strcmp(forw, "proxy") != 0))
		return reply_invalid(rep, "%s",
				     T("クエリー引数 'for' は resident か proxy にしてください",
				       "query argument 'for' must be resident or proxy"));
	for_resident = !strcmp(forw, "resident");
	if ((r = pool_get(s, &st)) < 0)
		return r;
	r = registry_load(st, &reg);
	pool_put(s, st);
	if (r < 0)
		return r;
	if ((ar = disclose_authorise(reg, by, resident, for_resident, &rep->detail)) < 0) {
		rep->err = ar;
		r = disclose_record(l, rq->actor, resident, by, forw, 0, 0, true);
		goto out;
	}
	r = disclose_build(l, resident, &rep->body, &res);
	if (r == ERR_NOT_FOUND) {
		rep->err = ERR_NOT_FOUND;
		r = buf_puts(&rep->detail, T("チェックポイントはまだありません",
					     "there is no checkpoint yet"));
		goto out;
	}
	if (r < 0)
		goto out;
	/* Recorded before it is sent, so no disclosure leaves unrecorded. */
	if ((r = disclose_record(l, rq->actor, resident, by, forw, res.count, res.cp_size,
				 false)) < 0)
		goto out;
	rep->status = 200;
out:
	registry_data_free(reg);
	return r;
}

/* ---- the request state machine ---- */

/* True when url is the path of route rt: the same text, or for a prefix
 * route the prefix and one non-empty segment without a further '/'. */
static bool route_match(const struct route *rt, const char *url)
{
	size_t n = strlen(rt->path);

	if (!rt->prefix)
		return !strcmp(rt->path, url);
	return !strncmp(rt->path, url, n) && url[n] != '\0' && !strchr(url + n, '/');
}

static const struct route *route_find(const char *method, const char *url, bool *path_known)
{
	*path_known = false;
	for (size_t i = 0; i < ARRAY_SIZE(routes); i++) {
		if (!route_match(&routes[i], url))
			continue;
		*path_known = true;
		if (!strcmp(routes[i].method, method))
			return &routes[i];
	}
	return NULL;
}

static void route_allow(const char *url, char *out, size_t cap)
{
	size_t used = 0;
	out[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(routes); i++) {
		int n;
		if (!route_match(&routes[i], url))
			continue;
		n = snprintf(out + used, cap - used, "%s%s", used ? ", " : "", routes[i].method);
		if (n < 0 || (size_t)n >= cap - used)
			break;
		used += (size_t)n;
	}
}

/* Check the API key of a request; on success rq->actor holds its name. */
static enum MHD_Result check_auth(struct api_server *s, struct MHD_Connection *c,
				  struct api_req *rq, bool *ok)
{
	const char *h =
	    MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	struct store *st = NULL;
	int r;

	*ok = false;
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
	if ((r = pool_get(s, &st)) < 0)
		return send_problem(c, rq, ERR_BUSY, NULL, NULL, "%s", err_msg(ERR_BUSY));
	r = apikey_verify(st, h, rq->actor, sizeof(rq->actor));
	pool_put(s, st);
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

	rq->route = route_find(method, url, &known);
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
	if (rq->route->auth) {
		enum MHD_Result res = check_auth(s, c, rq, &ok);
		if (!ok)
			return res;
	}
	if (rq->route->json_body) {
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
	if (rq->route->lines_body) {
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
	if (rq->route->lines_body && rq->body.len == 0)
		return send_problem(c, rq, ERR_INVALID, NULL, NULL, "%s",
				    T("本文が空です。1 行に 1 件のイベントを送ってください",
				      "the body is empty; send one event per line"));
	if (rq->route->json_body || rq->route->lines_body) {
		if (rq->body.len == 0)
			return send_problem(c, rq, ERR_INVALID, NULL, NULL, "%s",
					    T("本文が空です。JSON オブジェクトを送ってください",
					      "the body is empty; send a JSON object"));
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
		res = send_bytes(c, rq, rep.status, rep.ctype ? rep.ctype : "application/json",
				 rep.body.data ? rep.body.data : "", rep.body.len, NULL, NULL);
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
			 elapsed_us(&rq->t0), rq->actor[0] ? " key=" : "", rq->actor);
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
	sigset_t set, old;
	char host[INET6_ADDRSTRLEN + 1];
	const char *listen_at = o && o->listen ? o->listen : cfg->listen;
	unsigned threads = o && o->threads ? o->threads : cfg->threads;
	uint16_t port = 0, bound = 0;
	int fd = -1, lock_fd = -1, r, sig;

	if (!instance_engine(in) || !instance_ledger(in))
		return ERR_INVALID;
	if ((r = api_listen_parse(listen_at, host, sizeof(host), &port)) < 0) {
		log_error(T("待ち受けアドレス '%s' が不正です（HOST:PORT、HOST は数値の IP "
			    "アドレスか localhost）",
			    "bad listen address '%s' (HOST:PORT, HOST a numeric IP address or "
			    "localhost)"),
			  listen_at);
		return ERR_INVALID;
	}
	if (!api_host_is_loopback(host) && !(o && o->allow_remote_http)) {
		log_error(
		    T("%s はループバック以外のアドレスです。mamori serve は TLS を持たない平文の "
		      "HTTP なので、"
		      "API キーと判定が盗聴されます。TLS 終端のリバースプロキシの背後でのみ "
		      "--allow-remote-http を付けて使ってください",
		      "%s is not a loopback address. mamori serve speaks plain HTTP without TLS, "
		      "so API keys and decisions could be read on the network; use "
		      "--allow-remote-http only behind a TLS-terminating reverse proxy"),
		    listen_at);
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
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG, 0,
			     NULL, NULL, on_request, &s, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log,
			     NULL, MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_THREAD_POOL_SIZE,
			     threads, MHD_OPTION_CONNECTION_TIMEOUT, cfg->timeout_sec,
			     MHD_OPTION_NOTIFY_COMPLETED, on_completed, &s, MHD_OPTION_END);
	if (!d) {
		log_error("%s", T("HTTP サーバーを開始できません", "cannot start the HTTP server"));
		close(fd);
		r = ERR_IO;
		goto out;
	}
	if (strchr(host, ':'))
		printf("listening on http://[%s]:%u\n", host, (unsigned)bound);
	else
		printf("listening on http://%s:%u\n", host, (unsigned)bound);
	fflush(stdout);
	log_info(T("%u スレッドで待ち受け中: %s:%u（本文の上限 %zu バイト、タイムアウト %u 秒）",
		   "serving with %u threads on %s:%u (body limit %zu bytes, timeout %u s)"),
		 threads, host, (unsigned)bound, s.max_body, s.timeout_sec);
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
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	for (size_t i = 0; i < s.npool; i++)
		store_close(s.pool[i]);
	free(s.pool);
	pthread_mutex_destroy(&s.pool_lock);
	close(lock_fd); /* releases serve.lock */
	return r;
}
