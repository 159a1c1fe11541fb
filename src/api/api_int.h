/*
 * api_int.h - private to src/api/ and its tests.
 */
#ifndef MAMORI_API_INT_H
#define MAMORI_API_INT_H

#include "base/base.h"

/* The version reported by GET /v1/health and the OpenAPI document. */
#define MAMORI_VERSION "0.1.0"

/* The OpenAPI 3.1 document served at GET /v1/openapi.json (a static,
 * NUL-terminated JSON text). */
const char *api_openapi_json(void);

/*
 * Check that s[0..len) is well-formed UTF-8 (RFC 3629: shortest form, no
 * surrogates, nothing above U+10FFFF). On failure *bad_at (if not NULL)
 * receives the offset of the first byte of the bad sequence.
 */
bool api_utf8_valid(const char *s, size_t len, size_t *bad_at);

/*
 * Split a listen address "host:port" ("[v6]:port" for IPv6; "localhost"
 * means 127.0.0.1) into a numeric host and a port (0-65535). host_out
 * receives the host without brackets. ERR_INVALID if malformed.
 */
MM_WUR int api_listen_parse(const char *listen, char *host_out, size_t host_len, uint16_t *port);
/* True if host (numeric, as from api_listen_parse) is a loopback address. */
bool api_host_is_loopback(const char *host);

#endif
