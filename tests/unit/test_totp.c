/*
 * Unit tests for src/api/totp.c: SHA-1 (FIPS 180 examples), HOTP (RFC 4226
 * Appendix D), TOTP (RFC 6238 Appendix B, the SHA-1 rows), the checking of
 * typed codes (window, reuse, malformed input) and base32 (RFC 4648
 * section 10).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/base.h"
#include "api/totp.h"

/* The secret of RFC 4226 and RFC 6238 (SHA-1): the ASCII digits. */
static const uint8_t rfc_key[] = "12345678901234567890";
#define RFC_KEYLEN 20

static void hex(const uint8_t *d, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void test_sha1(void **state)
{
	uint8_t h[SHA1_BYTES];
	char x[41];
	char *million;
	(void)state;

	sha1("", 0, h);
	hex(h, sizeof(h), x);
	assert_string_equal(x, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
	sha1("abc", 3, h);
	hex(h, sizeof(h), x);
	assert_string_equal(x, "a9993e364706816aba3e25717850c26c9cd0d89d");
	/* 56 bytes: the padding needs a second block. */
	sha1("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, h);
	hex(h, sizeof(h), x);
	assert_string_equal(x, "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
	million = xmalloc(1000000);
	memset(million, 'a', 1000000);
	sha1(million, 1000000, h);
	free(million);
	hex(h, sizeof(h), x);
	assert_string_equal(x, "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
}

static void test_hmac_sha1(void **state)
{
	uint8_t mac[SHA1_BYTES], key[80];
	char x[41];
	(void)state;

	/* RFC 2202 test cases 2 and 6 (a key longer than the block). */
	hmac_sha1((const uint8_t *)"Jefe", 4, "what do ya want for nothing?", 28, mac);
	hex(mac, sizeof(mac), x);
	assert_string_equal(x, "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
	memset(key, 0xaa, sizeof(key));
	hmac_sha1(key, 80, "Test Using Larger Than Block-Size Key - Hash Key First", 54, mac);
	hex(mac, sizeof(mac), x);
	assert_string_equal(x, "aa4ae5e15272d00e95705637ce8a3b55ed402112");
}

static void test_hotp_rfc4226(void **state)
{
	static const uint32_t want[] = {755224, 287082, 359152, 969429, 338314,
					254676, 287922, 162583, 399871, 520489};
	(void)state;

	for (uint64_t c = 0; c < ARRAY_SIZE(want); c++)
		assert_int_equal(hotp(rfc_key, RFC_KEYLEN, c, 6), want[c]);
}

static void test_totp_rfc6238(void **state)
{
	static const struct {
		int64_t t;
		uint32_t code;
	} v[] = {
	    {59, 94287082},	    {1111111109, 7081804},  {1111111111, 14050471},
	    {1234567890, 89005924}, {2000000000, 69279037}, {20000000000, 65353130},
	};
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(v); i++)
		assert_int_equal(hotp(rfc_key, RFC_KEYLEN, totp_step(v[i].t), 8), v[i].code);
	assert_int_equal(totp_step(59), 1);
	assert_int_equal(totp_step(60), 2);
	assert_int_equal(totp_step(-5), 0);
}

static void code_at(uint64_t step, char out[7])
{
	snprintf(out, 7, "%06" PRIu32, hotp(rfc_key, RFC_KEYLEN, step, 6));
}

static void test_totp_check(void **state)
{
	const int64_t now = 1111111111; /* step 37037037 */
	const uint64_t step = totp_step(now);
	uint64_t got = 0;
	char code[7], bad[7];
	(void)state;

	code_at(step, code);
	assert_int_equal(totp_check(rfc_key, RFC_KEYLEN, now, 0, code, &got), 0);
	assert_int_equal(got, step);
	/* Spent: the same step is never accepted again, nor an earlier one. */
	assert_int_equal(totp_check(rfc_key, RFC_KEYLEN, now, step, code, &got), ERR_UNAUTHORIZED);
	code_at(step - 1, code);
	assert_int_equal(totp_check(rfc_key, RFC_KEYLEN, now, step, code, &got), ERR_UNAUTHORIZED);
	/* One step either way is drift; two is not. */
	assert_int_equal(totp_check(rfc_key, RFC_KEYLEN, now, 0, code, &got), 0);
	assert_int_equal(got, step - 1);
	code_at(step + 1, code);
	assert_int_equal(totp_check(rfc_key, RFC_KEYLEN, now, 0, code, &got), 0);
	assert_int_equal(got, step + 1);
	code_at(step + 2, code);
	assert_int_equal(totp_check(rfc_key, RFC_KEYLEN, now, 0, code, &got), ERR_UNAUTHORIZED);
	code_at(step - 2, code);
	assert_int_equal(totp_check(rfc_key, RFC_KEYLEN, now, 0, code, &got), ERR_UNAUTHORIZED);
	/* The right code under another key is wrong. */
	code_at(step, code);
	assert_int_equal(
	    totp_check((const uint8_t *)"another secret key!!", 20, now, 0, code, &got),
	    ERR_UNAUTHORIZED);
	/* A code off by one digit. */
	memcpy(bad, code, sizeof(bad));
	bad[5] = bad[5] == '9' ? '0' : (char)(bad[5] + 1);
	assert_int_equal(totp_check(rfc_key, RFC_KEYLEN, now, 0, bad, &got), ERR_UNAUTHORIZED);
	/* Malformed input. */
	assert_int_equal(totp_check(rfc_key, RFC_KEYLEN, now, 0, "12345", &got), ERR_INVALID);
	assert_int_equal(totp_check(rfc_key, RFC_KEYLEN, now, 0, "1234567", &got), ERR_INVALID);
	assert_int_equal(totp_check(rfc_key, RFC_KEYLEN, now, 0, "12a456", &got), ERR_INVALID);
	assert_int_equal(totp_check(rfc_key, RFC_KEYLEN, now, 0, " 23456", &got), ERR_INVALID);
	assert_int_equal(totp_check(rfc_key, RFC_KEYLEN, now, 0, "", &got), ERR_INVALID);
	assert_int_equal(totp_check(rfc_key, RFC_KEYLEN, now, 0, NULL, &got), ERR_INVALID);
	/* At the epoch there is no step before 0. */
	code_at(0, code);
	assert_int_equal(totp_check(rfc_key, RFC_KEYLEN, 10, 0, code, &got), ERR_UNAUTHORIZED);
	code_at(1, code);
	assert_int_equal(totp_check(rfc_key, RFC_KEYLEN, 10, 0, code, &got), 0);
	assert_int_equal(got, 1);
}

static void test_base32(void **state)
{
	static const char *const v[][2] = {
	    {"", ""},
	    {"f", "MY"},
	    {"fo", "MZXQ"},
	    {"foo", "MZXW6"},
	    {"foob", "MZXW6YQ"},
	    {"fooba", "MZXW6YTB"},
	    {"foobar", "MZXW6YTBOI"},
	};
	char out[64];
	uint8_t bin[64];
	size_t n = 0;
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		assert_int_equal(
		    base32_encode((const uint8_t *)v[i][0], strlen(v[i][0]), out, sizeof(out)), 0);
		assert_string_equal(out, v[i][1]);
		assert_int_equal(base32_decode(v[i][1], bin, sizeof(bin), &n), 0);
		assert_int_equal(n, strlen(v[i][0]));
		assert_memory_equal(bin, v[i][0], n);
	}
	/* Lower case, padding and spaces as people and apps write them. */
	assert_int_equal(base32_decode("mzxw 6ytb oi======", bin, sizeof(bin), &n), 0);
	assert_int_equal(n, 6);
	assert_memory_equal(bin, "foobar", 6);
	/* Bad characters, leftover bits, too small outputs. */
	assert_int_equal(base32_decode("MZXW1", bin, sizeof(bin), &n), ERR_INVALID);
	assert_int_equal(base32_decode("MZ8", bin, sizeof(bin), &n), ERR_INVALID);
	assert_int_equal(base32_decode("MZ", bin, sizeof(bin), &n),
			 ERR_INVALID); /* 'Z': bits left */
	assert_int_equal(base32_decode("MZXW6YTBOI", bin, 5, &n), ERR_TOO_LARGE);
	assert_int_equal(base32_encode((const uint8_t *)"foobar", 6, out, 10), ERR_TOO_LARGE);
	assert_int_equal(base32_encode((const uint8_t *)"foobar", 6, out, 11), 0);
	/* A 20-byte secret is 32 characters. */
	assert_int_equal(base32_encode(rfc_key, RFC_KEYLEN, out, TOTP_SECRET_B32_MAX), 0);
	assert_int_equal(strlen(out), 32);
	assert_string_equal(out, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sha1),	 cmocka_unit_test(test_hmac_sha1),
	    cmocka_unit_test(test_hotp_rfc4226), cmocka_unit_test(test_totp_rfc6238),
	    cmocka_unit_test(test_totp_check),	 cmocka_unit_test(test_base32),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
