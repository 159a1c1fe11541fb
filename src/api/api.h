/*
 * api.h - the HTTP API (libmicrohttpd): routes under /v1, JSON in and out,
 * errors as application/problem+json (RFC 9457), API keys for calling
 * systems. Reference: docs/api.md and GET /v1/openapi.json.
 */
#ifndef MAMORI_API_H
#define MAMORI_API_H

#include "base/base.h"
#include "base/actor.h"

struct instance;
struct store;
struct ledger;

struct api_opts {
	const char *listen; /* "host:port"; NULL = the instance's config */
	unsigned threads;   /* 0 = the instance's config */
	/*
	 * The server speaks plain HTTP (no TLS): it refuses to listen on any
	 * address but loopback (127.0.0.0/8, ::1, localhost) unless this is
	 * set, e.g. behind a TLS-terminating proxy on another host.
	 */
	bool allow_remote_http;
	/*
	 * HTTPS with this certificate and key (PEM files; the key of mode
	 * 0600 or stricter). Both or neither. With TLS any address may be
	 * used. ERR_UNSUPPORTED if libmicrohttpd was built without TLS.
	 */
	const char *tls_cert;
	const char *tls_key;
	/* If not NULL, written with the port actually bound (for port 0). */
	void (*on_ready)(uint16_t port, void *arg);
	void *on_ready_arg;
};

/*
 * Serve until SIGINT or SIGTERM. SIGHUP reloads policy and registry. The
 * instance must be open with INSTANCE_WRITE | INSTANCE_ENGINE.
 *
 * Once listening, prints "listening on http://HOST:PORT" (the port really
 * bound) on stdout, flushes it, then calls on_ready. Blocks SIGHUP, SIGINT
 * and SIGTERM in the calling thread (the worker threads inherit the mask)
 * and waits for them with sigwait, so reloads run on an ordinary thread;
 * the previous mask is restored before returning. Returns 0 after a clean
 * stop; ERR_INVALID for an unparsable listen address, ERR_FORBIDDEN for a
 * non-loopback address without allow_remote_http, ERR_IO if the address
 * cannot be bound. With tls_cert/tls_key: "https://" in that line, a
 * non-loopback address allowed, ERR_UNSUPPORTED if libmicrohttpd has no
 * TLS, ERR_FORBIDDEN for a key file that group or others may read,
 * ERR_INVALID for missing, unreadable or non-PEM files. When the
 * instance has no console user, a one-time link for the first
 * administrator follows the "listening on" line (docs/console-auth.md).
 * The reason is logged (base/log.h).
 */
MM_WUR int api_serve(struct instance *in, const struct api_opts *o);

/* ---- API keys ---- */

/* "mk_" + 12 chars of id + "_" + 43 chars of secret, base64url. */
#define APIKEY_TEXT_MAX 96

/*
 * Create a key named name (1-64 printable chars: visible ASCII 0x21-0x7e)
 * that acts with role (one bit of enum role, base/actor.h); dept is the
 * department of a ROLE_DEPT_MANAGER key (required for that role, refused
 * for any other: ERR_INVALID). The full key text is written to key_out
 * once and never stored: the store keeps only its id and a SHA-256 hash of
 * the secret. Recorded in the ledger (kind "apikey") with actor.
 * ERR_INVALID for a bad name, role or dept, ERR_EXISTS if the name is
 * taken (names of revoked keys stay taken); key_out is "" on error. st is
 * a connection of the calling thread.
 */
MM_WUR int apikey_create(struct store *st, struct ledger *lg, const char *name, unsigned role,
			 const char *dept, const char *actor, char key_out[static APIKEY_TEXT_MAX]);
/* Check a presented key in constant time. On success *out is the key's
 * actor: its name, role and department. ERR_UNAUTHORIZED if unknown,
 * revoked or wrong. */
MM_WUR int apikey_verify(struct store *st, const char *key, struct actor *out);
/* Revoke the active key named name (recorded in the ledger). ERR_NOT_FOUND
 * if there is no active key of that name. */
MM_WUR int apikey_revoke(struct store *st, struct ledger *lg, const char *name, const char *actor);

#define APIKEY_ID_LEN 12
#define APIKEY_NAME_MAX 64

/* One key as listed: never its hash. revoked is "" while active. Times
 * are RFC 3339 in JST. */
struct apikey_info {
	char id[APIKEY_ID_LEN + 1];
	char name[APIKEY_NAME_MAX + 1];
	char created[32];
	char revoked[32];
	unsigned role;
	char dept[ACTOR_DEPT_MAX + 1];
};

/* Call fn for every key, by name. Stops at and returns fn's first
 * negative result. */
MM_WUR int apikey_list(struct store *st, int (*fn)(const struct apikey_info *k, void *arg),
		       void *arg);
/* 0 if name is acceptable for a key: 1-64 visible ASCII characters
 * (0x21-0x7e), else ERR_INVALID. */
MM_WUR int apikey_name_check(const char *name);

#endif
