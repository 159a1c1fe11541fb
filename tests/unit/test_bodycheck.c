/*
 * test_bodycheck.c - the ledger's one-pass body check
 * (ledger_body_surely_valid, src/ledger/bodycheck.c) never accepts a body
 * that jansson refuses: the set of bodies the ledger takes must stay
 * exactly jansson's. Checked on edge cases, on deep nesting around the
 * limit, and on access events with random mutations (seeded).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>

#include "base/base.h"
#include "ledger/ledger_int.h"
#include "../../bench/events.h"

static long mismatches, fast_yes, total;

static bool jansson_ok(const char *b, size_t n)
{
	json_t *j = json_loadb(b, n, 0, NULL);
	bool ok = j && json_is_object(j);
	json_decref(j);
	return ok;
}

static void check(const char *b, size_t n)
{
	bool f = ledger_body_surely_valid(b, n), j = jansson_ok(b, n);

	total++;
	fast_yes += f;
	/* A record line must hold no '\n' or '\r': a body passed fast has
	 * none (the ledger no longer looks for them then). */
	if (f && (memchr(b, '\n', n) != NULL || memchr(b, '\r', n) != NULL)) {
		mismatches++;
		fprintf(stderr, "accepted with a line break: %.*s\n", (int)n, b);
	}
	if (f && !j) {
		mismatches++;
		if (mismatches < 10)
			fprintf(stderr, "accepted but jansson refuses: %.*s\n", (int)n, b);
	}
}

static void test_edge_cases(void **state)
{
	static const char *const cases[] = {
	    "{}", " {} ", "{ }", "{\"a\":1}", "{\"a\":-0}", "{\"a\":01}", "{\"a\":1.}", "{\"a\":.5}",
	    "{\"a\":1e5}", "{\"a\":1.5e3}", "{\"a\":123456789012345678}",
	    "{\"a\":1234567890123456789}", "{\"a\":99999999999999999999}", "{\"a\":tru}",
	    "{\"a\":truex}", "{\"a\":true}", "{\"a\":[1,2,]}", "{\"a\":[]}", "{\"a\":{}}",
	    "{\"a\":[{}]}", "{\"a\":\"\\u0000\"}", "{\"a\":\"\\ud800\"}",
	    "{\"a\":\"\\ud83d\\ude00\"}", "{\"a\":\"\\x\"}", "{\"a\":\"\t\"}", "{\"a\":1,\"a\":2}",
	    "{\"a\" : 1 }\t", "[1]", "1", "\"s\"", "{\"a\":1}x", "{\"a\":1}{}", "{\"a\":nul}",
	    "{\"a\":null}", "{\"a\":-}", "{\"a\":-1.25}", "{\"\":0}", "{\"a\":\"\xc3\xa9\"}",
	    "{\"a\":\"\xc0\xaf\"}", "{\"a\":\"\xed\xa0\x80\"}", "{\"a\":\"\xf4\x90\x80\x80\"}",
	    "{\"a\":\"\xe6\x97\xa5\"}", "{\"a\":\"\x7f\"}", "{\"a\":1,}", "{,}", "{\"a\"1}",
	    "{\"a\":0.0000000000000000000000000000000000001}", "{\"a\":[[[[1]]]]}",
	    "{\"a\":\"\\/\\b\\f\\n\\r\\t\\\"\\\\\"}", "{\"a\":\"\\u00e9\\uFFFF\"}", "", "{",
	    "}", "{\"a\":\"unterminated}",
	};
	(void)state;
	mismatches = 0;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		check(cases[i], strlen(cases[i]));
	assert_int_equal(mismatches, 0);
	/* It must also say yes to the common case, or it would be useless. */
	{
		const char *common = "{\"a\":1,\"b\":\"日本\",\"c\":[true,null]}";
		assert_true(ledger_body_surely_valid(common, strlen(common)));
	}
	assert_false(ledger_body_surely_valid("{\"a\":1", 6));
	assert_false(ledger_body_surely_valid("[1]", 3));
}

static void test_nesting_limit(void **state)
{
	static char deep[5000];
	(void)state;
	mismatches = 0;
	for (int d = 990; d < 1010; d++) {
		size_t k = 0;
		deep[k++] = '{';
		memcpy(deep + k, "\"a\":", 4);
		k += 4;
		for (int i = 0; i < d; i++)
			deep[k++] = '[';
		for (int i = 0; i < d; i++)
			deep[k++] = ']';
		deep[k++] = '}';
		check(deep, k);
	}
	assert_int_equal(mismatches, 0);
}

/*
 * Strings are scanned sixteen or eight bytes at a time while they are
 * plain ASCII: every byte value at every position of a block (and across
 * blocks, and in the tail shorter than a block) must be judged as jansson
 * judges it, and plain bytes must pass.
 */
static void test_string_words(void **state)
{
	char t[64];
	(void)state;

	mismatches = 0;
	for (size_t pos = 0; pos < 43; pos++) {
		for (unsigned b = 1; b < 256; b++) {
			size_t k = 0;

			memcpy(t, "{\"k\":\"", 6);
			k = 6;
			memset(t + k, 'a', 43);
			t[k + pos] = (char)b;
			k += 43;
			memcpy(t + k, "\"}", 2);
			k += 2;
			check(t, k);
			if (b >= 0x20 && b < 0x7f && b != '"' && b != '\\')
				assert_true(ledger_body_surely_valid(t, k));
			if (b < 0x20 || b == '"')
				assert_false(ledger_body_surely_valid(t, k));
		}
	}
	assert_int_equal(mismatches, 0);
}

/*
 * Runs of two- and three-byte UTF-8 sequences go through a fast path:
 * every lead byte with continuation bytes at the edges of their range,
 * after a run of good characters and before more, must be judged as
 * jansson judges it; well-formed Japanese text must pass.
 */
static void test_utf8_runs(void **state)
{
	static const unsigned char conts[] = { 0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90,
					       0x9f, 0xa0, 0xbf, 0xc0, 0xff };
	char t[96];
	(void)state;

	mismatches = 0;
	for (unsigned lead = 0x80; lead < 0x100; lead++) {
		for (size_t i = 0; i < sizeof(conts); i++) {
			for (size_t j = 0; j < sizeof(conts); j++) {
				for (size_t tail = 0; tail < 3; tail++) {
					size_t k = 0;

					memcpy(t + k, "{\"k\":\"\xe6\x97\xa5\xc3\xa9", 11);
					k += 11;
					t[k++] = (char)lead;
					t[k++] = (char)conts[i];
					t[k++] = (char)conts[j];
					/* tail 0: the string ends right after. */
					if (tail == 1) {
						memcpy(t + k, "\xe6\x9c\xac", 3);
						k += 3;
					} else if (tail == 2) {
						memcpy(t + k, "abc", 3);
						k += 3;
					}
					memcpy(t + k, "\"}", 2);
					k += 2;
					check(t, k);
				}
			}
		}
	}
	assert_int_equal(mismatches, 0);
	{
		const char *jp = "{\"q\":\"佐藤 花子\",\"d\":\"保険年金課-窓口\",\"e\":\"é ü ß\"}";

		assert_true(ledger_body_surely_valid(jp, strlen(jp)));
	}
}

static void test_mutated_events(void **state)
{
	char ev[BENCH_EVENT_MAX + 64], t[BENCH_EVENT_MAX + 64];
	uint64_t rng = 7;
	(void)state;

	mismatches = 0;
	fast_yes = 0;
	total = 0;
	for (uint64_t i = 0; i < 20000; i++) {
		size_t n = bench_event(i, ev);
		check(ev, n);
		for (int m = 0; m < 8; m++) {
			size_t tn;

			memcpy(t, ev, n);
			tn = bench_mutate(&rng, t, n, sizeof(t));
			check(t, tn);
		}
	}
	assert_int_equal(mismatches, 0);
	/* The unmutated events are the common case and all pass fast. */
	assert_true(fast_yes >= 20000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_edge_cases),
	    cmocka_unit_test(test_nesting_limit),
	    cmocka_unit_test(test_string_words),
	    cmocka_unit_test(test_utf8_runs),
	    cmocka_unit_test(test_mutated_events),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
