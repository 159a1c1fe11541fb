/* Unit tests for the pure helpers of src/api/server.c: the UTF-8 check
 * that guards every JSON body, and listen-address parsing. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <strings.h>

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

/* True if the documented path (with "{name}" segments) is the route's
 * pattern (with "{}" segments). */
static bool same_path(const char *doc, const char *pat)
{
	while (*doc && *pat) {
		if (*doc == '{' && pat[0] == '{' && pat[1] == '}') {
			while (*doc && *doc != '}')
				doc++;
			if (!*doc)
				return false;
			doc++;
			pat += 2;
			continue;
		}
		if (*doc != *pat)
			return false;
		doc++;
		pat++;
	}
	return !*doc && !*pat;
}

/* Every route of every table is in the OpenAPI document with its method,
 * and every documented operation is a route: the document cannot drift
 * from the server. The console's static files are not API operations. */
static void test_openapi_covers_routes(void **state)
{
	json_error_t e;
	json_t *doc = json_loads(api_openapi_json(), 0, &e), *paths;
	const struct api_route_table *const *tables;
	size_t nt, routes = 0, ops = 0;
	const char *path;
	json_t *item;
	(void)state;

	assert_non_null(doc);
	paths = json_object_get(doc, "paths");
	assert_true(json_is_object(paths));
	tables = api_route_tables(&nt);
	for (size_t t = 0; t < nt; t++) {
		for (size_t i = 0; i < tables[t]->n; i++) {
			const struct api_route *rt = &tables[t]->routes[i];
			char method[16];
			bool found = false;

			if (!strcmp(rt->path, "/") || !strncmp(rt->path, "/console/", 9))
				continue;
			routes++;
			for (size_t k = 0; k < sizeof(method) - 1 && rt->method[k]; k++)
				method[k] = (char)(rt->method[k] | 0x20), method[k + 1] = '\0';
			json_object_foreach(paths, path, item)
			{
				if (same_path(path, rt->path) && json_object_get(item, method))
					found = true;
			}
			if (!found)
				fail_msg("%s %s is not in the OpenAPI document", rt->method, rt->path);
		}
	}
	json_object_foreach(paths, path, item)
	{
		const char *m;
		json_t *op;
		json_object_foreach(item, m, op)
		{
			bool found = false;
			/* A path item also holds shared parameters and text. */
			if (strcmp(m, "get") && strcmp(m, "post") && strcmp(m, "put") &&
			    strcmp(m, "patch") && strcmp(m, "delete"))
				continue;
			ops++;
			for (size_t t = 0; t < nt && !found; t++)
				for (size_t i = 0; i < tables[t]->n && !found; i++)
					if (same_path(path, tables[t]->routes[i].path) &&
					    !strcasecmp(m, tables[t]->routes[i].method))
						found = true;
			if (!found)
				fail_msg("%s %s is documented but no route answers it", m, path);
		}
	}
	assert_int_equal(ops, routes);
	json_decref(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_utf8),
	    cmocka_unit_test(test_listen_parse),
	    cmocka_unit_test(test_loopback),
	    cmocka_unit_test(test_openapi_is_json),
	    cmocka_unit_test(test_openapi_covers_routes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
