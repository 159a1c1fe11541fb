/*
 * api.h - the HTTP API (libmicrohttpd): routes under /v1, JSON in and out,
 * errors as application/problem+json (RFC 9457), API keys for calling
 * systems. Reference: docs/api.md and GET /v1/openapi.json.
 */
#ifndef MAMORI_API_H
#define MAMORI_API_H

#include "base/base.h"

struct instance;
struct store;
struct ledger;

struct api_opts {
	const char *listen; /* "host:port"; NULL = the instance's config */
	unsigned threads;   /* 0 = the instance's config */
	/* If not NULL, written with the port actually bound (for port 0). */
	void (*on_ready)(uint16_t port, void *arg);
	void *on_ready_arg;
};

/*
 * Serve until SIGINT or SIGTERM. SIGHUP reloads policy and registry. The
 * instance must be open with INSTANCE_WRITE | INSTANCE_ENGINE.
 */
MM_WUR int api_serve(struct instance *in, const struct api_opts *o);

/* ---- API keys ---- */

/* "mk_" + 12 chars of id + "_" + 43 chars of secret, base64url. */
#define APIKEY_TEXT_MAX 96

/*
 * Create a key named name (1-64 printable chars). The full key text is
 * written to key_out once and never stored: the store keeps only its id
 * and a SHA-256 hash of the secret. Recorded in the ledger.
 */
MM_WUR int apikey_create(struct store *st, struct ledger *lg, const char *name,
			 const char *actor, char key_out[static APIKEY_TEXT_MAX]);
/* Check a presented key in constant time. On success the key's name is
 * copied to name_out. ERR_UNAUTHORIZED if unknown, revoked or wrong. */
MM_WUR int apikey_verify(struct store *st, const char *key, char *name_out, size_t name_len);
MM_WUR int apikey_revoke(struct store *st, struct ledger *lg, const char *name, const char *actor);

#endif
