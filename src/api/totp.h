/*
 * totp.h - one-time passwords for the console's second factor: TOTP (RFC
 * 6238) over HOTP (RFC 4226) with HMAC-SHA-1, 6 digits and 30-second
 * steps, the parameters every authenticator application understands; and
 * base32 (RFC 4648) for the secret as people and QR codes carry it.
 *
 * libsodium has no SHA-1, and HOTP is defined on HMAC-SHA-1 only (RFC 6238
 * allows SHA-256, but common authenticator apps ignore the algorithm
 * parameter), so SHA-1 is implemented here, for HMAC only, where its
 * collision weakness does not matter (RFC 6151, section 2).
 *
 * All functions are pure and thread-safe.
 */
#ifndef MAMORI_TOTP_H
#define MAMORI_TOTP_H

#include "base/base.h"

#define TOTP_DIGITS 6
#define TOTP_PERIOD 30
/* A 160-bit secret, the size RFC 4226 recommends. */
#define TOTP_SECRET_BYTES 20
/* base32 of TOTP_SECRET_BYTES without padding, and its NUL. */
#define TOTP_SECRET_B32_MAX 33
#define SHA1_BYTES 20

/* SHA-1 of data[0..len) (FIPS 180-4) into out. */
void sha1(const void *data, size_t len, uint8_t out[static SHA1_BYTES]);
/* HMAC-SHA-1 (RFC 2104) of msg under key into out. */
void hmac_sha1(const uint8_t *key, size_t keylen, const void *msg, size_t len,
	       uint8_t out[static SHA1_BYTES]);

/* HOTP value of counter under key (RFC 4226 section 5.3), reduced to
 * digits decimal digits (1-9). */
uint32_t hotp(const uint8_t *key, size_t keylen, uint64_t counter, unsigned digits);
/* The TOTP step of time now (seconds since the epoch): now / 30. */
uint64_t totp_step(int64_t now);

/*
 * Check a code typed by a person: exactly TOTP_DIGITS decimal digits, equal
 * to the TOTP of step now/30 - 1, now/30 or now/30 + 1 (one step of clock
 * drift either way), and of a step later than last_step, so that a code,
 * once accepted, is never accepted again (RFC 6238 section 5.2). The
 * comparison of digits is in constant time. On success *step_out gets the
 * step that matched (to be stored as the new last_step) and 0 is returned;
 * ERR_UNAUTHORIZED otherwise, ERR_INVALID if code is not 6 digits.
 */
MM_WUR int totp_check(const uint8_t *key, size_t keylen, int64_t now, uint64_t last_step,
		      const char *code, uint64_t *step_out);

/* base32 (RFC 4648, upper case, no padding) of in into out (cap bytes, NUL
 * included). ERR_TOO_LARGE if it does not fit. */
MM_WUR int base32_encode(const uint8_t *in, size_t len, char *out, size_t cap);
/* Decode base32 text (case-insensitive; spaces and '=' padding ignored)
 * into out (at most cap bytes); *outlen gets the length. ERR_INVALID for
 * any other character or leftover bits that are not zero, ERR_TOO_LARGE if
 * out is too small. */
MM_WUR int base32_decode(const char *in, uint8_t *out, size_t cap, size_t *outlen);

#endif
