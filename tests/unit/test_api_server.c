/* Unit tests for the pure helpers of src/api/server.c: the UTF-8 check
 * that guards every JSON body, and listen-address parsing. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>

#include "base/base.h"
#include "api/api_int.h"

static void test_utf8(void **state)
{
	static const struct {
		const char *s;
		size_t len;
		bool ok;
		size_t bad_at;
	} cases[] = {
	    {"", 0, true, 0},
	    {"plain ascii {\"a\":1}", 19, true, 0},
	    {"住民記録", 12, true, 0},
	    {"\xf0\x9f\x98\x80", 4, true, 0}, /* U+1F600 */
	    {"\xf4\x8f\xbf\xbf", 4, true, 0}, /* U+10FFFF, the last */
	    {"\xef\xbf\xbd", 3, true, 0},     /* U+FFFD */
	    {"a\0b", 3, true, 0},	      /* NUL is UTF-8 (JSON rejects it) */
	    {"ab\xff", 3, false, 2},
	    {"\x80", 1, false, 0},	       /* lone continuation */
	    {"\xc0\xaf", 2, false, 0},	       /* overlong */
	    {"\xc1\xbf", 2, false, 0},	       /* overlong */
	    {"\xe0\x80\xaf", 3, false, 0},     /* overlong, 3 bytes */
	    {"\xf0\x80\x80\xaf", 4, false, 0}, /* overlong, 4 bytes */
	    {"x\xed\xa0\x80", 4, false, 1},    /* surrogate D800 */
	    {"\xed\xbf\xbf", 3, false, 0},     /* surrogate DFFF */
	    {"\xed\x9f\xbf", 3, true, 0},      /* U+D7FF, just below */
	    {"\xf4\x90\x80\x80", 4, false, 0}, /* above U+10FFFF */
	    {"\xf5\x80\x80\x80", 4, false, 0},
	    {"\xe3\x81", 2, false, 0}, /* truncated at the end */
	    {"\xe3\x81"
	     "a",
	     3, false, 0}, /* truncated in the middle */
	    {"ok\xe3\x81\x82\xe3", 6, false, 5},
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		size_t bad = 999;
		bool ok = api_utf8_valid(cases[i].s, cases[i].len, &bad);
		if (ok != cases[i].ok)
			fprintf(stderr, "case %zu\n", i);
		assert_int_equal(ok, cases[i].ok);
		if (!ok)
			assert_int_equal(bad, cases[i].bad_at);
	}
}

static void test_listen_parse(void **state)
{
	char host[64];
	uint16_t port = 1;
	(void)state;

	assert_int_equal(api_listen_parse("127.0.0.1:8080", host, sizeof(host), &port), 0);
	assert_string_equal(host, "127.0.0.1");
	assert_int_equal(port, 8080);
	assert_int_equal(api_listen_parse("localhost:0", host, sizeof(host), &port), 0);
	assert_string_equal(host, "127.0.0.1");
	assert_int_equal(port, 0);
	assert_int_equal(api_listen_parse("[::1]:65535", host, sizeof(host), &port), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(port, 65535);
	assert_int_equal(api_listen_parse("0.0.0.0:80", host, sizeof(host), &port), 0);
	assert_string_equal(host, "0.0.0.0");

	static const char *const bad[] = {
	    "",
	    "8080",
	    ":8080",
	    "127.0.0.1",
	    "127.0.0.1:",
	    "127.0.0.1:65536",
	    "127.0.0.1:-1",
	    "127.0.0.1:80x",
	    "127.0.0.1: 80",
	    "example.org:80",
	    "::1:80",
	    "[::1:80",
	    "[]:80",
	    "[127.0.0.1]:80",
	    "256.0.0.1:80",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		if (api_listen_parse(bad[i], host, sizeof(host), &port) == 0)
			fprintf(stderr, "accepted '%s'\n", bad[i]);
		assert_int_not_equal(api_listen_parse(bad[i], host, sizeof(host), &port), 0);
	}
	assert_int_not_equal(api_listen_parse(NULL, host, sizeof(host), &port), 0);
	/* The host buffer must hold the host. */
	assert_int_not_equal(api_listen_parse("127.0.0.1:80", host, 4, &port), 0);
}

static void test_loopback(void **state)
{
	(void)state;
	assert_true(api_host_is_loopback("127.0.0.1"));
	assert_true(api_host_is_loopback("127.255.0.9"));
	assert_true(api_host_is_loopback("::1"));
	assert_false(api_host_is_loopback("0.0.0.0"));
	assert_false(api_host_is_loopback("128.0.0.1"));
	assert_false(api_host_is_loopback("10.0.0.1"));
	assert_false(api_host_is_loopback("::"));
	assert_false(api_host_is_loopback("::ffff:10.0.0.1"));
	assert_false(api_host_is_loopback("localhost")); /* numeric only */
}

static void test_openapi_is_json(void **state)
{
	json_error_t e;
	json_t *j = json_loads(api_openapi_json(), 0, &e);
	(void)state;
	if (!j)
		fprintf(stderr, "openapi: %s at %d:%d\n", e.text, e.line, e.column);
	assert_non_null(j);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(j, "info"), "version")),
	    MAMORI_VERSION);
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_utf8),
	    cmocka_unit_test(test_listen_parse),
	    cmocka_unit_test(test_loopback),
	    cmocka_unit_test(test_openapi_is_json),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
