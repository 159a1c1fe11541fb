/*
 * routes_isms.h - private to src/api/: the helpers the ISMS route files
 * (routes_isms.c, routes_isms_*.c) share to run the ISMS engine for a
 * request and turn its results into replies (docs/isms.md).
 */
#ifndef MAMORI_ROUTES_ISMS_H
#define MAMORI_ROUTES_ISMS_H

#include "base/base.h"
#include "base/diag.h"
#include "api/api_int.h"
#include "isms/isms.h"

extern const struct api_route_table api_routes_isms;
extern const struct api_route_table api_routes_isms_plan;

/*
 * An engine context for the request: a store connection borrowed from the
 * pool, the instance's ledger, the request's actor. Release with
 * isms_api_ctx_close (returns the connection; rolls back a transaction
 * left open).
 */
MM_WUR int isms_api_ctx_open(struct api_server *s, struct api_req *rq, struct isms_ctx *c);
void isms_api_ctx_close(struct api_server *s, struct isms_ctx *c);

/* The kind named by path parameter i; NULL with a 404 problem set. */
const struct isms_kind *isms_api_kind(struct api_req *rq, struct api_reply *rep, unsigned i);

/*
 * Parse the request body as one JSON object into *out (caller decrefs).
 * false, with a 400 problem set, if it is not.
 */
bool isms_api_body(struct api_req *rq, struct api_reply *rep, json_t **out);

/*
 * Set the reply for an engine result r (< 0): the problem for the code,
 * with every diagnostic of d (may be NULL) as "errors":
 * [{"field","message","line"?,"file"?}] and the first as its detail; for
 * ERR_FORBIDDEN a detail naming the actor's role and department; for
 * ERR_NOT_FOUND one naming the kind and id. Returns 0 (or ERR_NOMEM).
 */
int isms_api_fail(struct api_req *rq, struct api_reply *rep, int r, const struct isms_kind *k,
		  const char *id, const struct diag *d);

/* Reply status with the JSON value v (not taken over). 413 problem if too
 * large. Returns 0 or ERR_NOMEM. */
int isms_api_json(struct api_reply *rep, int status, const json_t *v);

/* The If-Match header as a version: 0 if absent; false with a 400
 * problem if malformed. */
bool isms_api_if_match(struct api_req *rq, struct api_reply *rep, int64_t *out);

#endif
