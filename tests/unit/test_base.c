/* Unit tests for src/base: errors, buffers, arena, diagnostics, numbers. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/base.h"
#include "base/arena.h"
#include "base/buf.h"
#include "base/diag.h"
#include "base/i18n.h"

static void test_err_table(void **state)
{
	(void)state;
	assert_string_equal(err_name(ERR_NOT_FOUND), "not_found");
	assert_string_equal(err_name(ERR_OK), "ok");
	assert_string_equal(err_name(-9999), "unknown");
	assert_int_equal(err_http_status(ERR_TOO_LARGE), 413);
	assert_int_equal(err_http_status(ERR_UNAUTHORIZED), 401);
	assert_int_equal(err_http_status(-9999), 500);
	assert_string_equal(err_msg_en(ERR_INVALID), "invalid input");
	assert_string_equal(err_msg_ja(ERR_INVALID), "入力が不正です");
}

static void test_buf_limit(void **state)
{
	struct buf b;
	(void)state;
	buf_init(&b, 8);
	assert_int_equal(buf_puts(&b, "12345678"), 0);
	assert_int_equal(b.len, 8);
	/* One more byte is refused and the contents stay as they were. */
	assert_int_equal(buf_putc(&b, 'x'), ERR_TOO_LARGE);
	assert_int_equal(b.len, 8);
	assert_string_equal(b.data, "12345678");
	assert_int_equal(buf_printf(&b, "%d", 1), ERR_TOO_LARGE);
	buf_reset(&b);
	assert_int_equal(buf_printf(&b, "%s-%d", "ab", 42), 0);
	assert_string_equal(b.data, "ab-42");
	buf_release(&b);
}

static void test_buf_json_str(void **state)
{
	struct buf b;
	(void)state;
	buf_init(&b, 1024);
	assert_int_equal(buf_json_str(&b, "a\"b\\c\n\x01", 7), 0);
	assert_string_equal(b.data, "\"a\\\"b\\\\c\\u000a\\u0001\"");
	buf_reset(&b);
	/* Japanese passes through byte for byte. */
	assert_int_equal(buf_json_str(&b, "山田 太郎", strlen("山田 太郎")), 0);
	assert_string_equal(b.data, "\"山田 太郎\"");
	buf_reset(&b);
	/* Invalid UTF-8 (a lone continuation byte, an overlong form, a
	 * surrogate) becomes U+FFFD. */
	assert_int_equal(buf_json_str(&b, "a\x80z", 3), 0);
	assert_string_equal(b.data, "\"a\xef\xbf\xbdz\"");
	buf_reset(&b);
	assert_int_equal(buf_json_str(&b, "\xc0\xaf", 2), 0);
	assert_string_equal(b.data, "\"\xef\xbf\xbd\xef\xbf\xbd\"");
	buf_reset(&b);
	assert_int_equal(buf_json_str(&b, "\xed\xa0\x80", 3), 0);
	assert_string_equal(b.data, "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
	buf_release(&b);
}

static void test_parse_i64(void **state)
{
	int64_t v = 0;
	(void)state;
	assert_int_equal(parse_i64("42", 2, 0, 100, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(parse_i64("101", 3, 0, 100, &v), ERR_OVERFLOW);
	assert_int_equal(parse_i64("-1", 2, 0, 100, &v), ERR_INVALID);
	assert_int_equal(parse_i64("-5", 2, -10, 100, &v), 0);
	assert_int_equal(v, -5);
	assert_int_equal(parse_i64("", 0, 0, 100, &v), ERR_INVALID);
	assert_int_equal(parse_i64("1 ", 2, 0, 100, &v), ERR_INVALID);
	assert_int_equal(parse_i64("+1", 2, 0, 100, &v), ERR_INVALID);
	assert_int_equal(parse_i64("9223372036854775807", 19, INT64_MIN, INT64_MAX, &v), 0);
	assert_true(v == INT64_MAX);
	assert_int_equal(parse_i64("9223372036854775808", 19, INT64_MIN, INT64_MAX, &v),
			 ERR_OVERFLOW);
	assert_int_equal(parse_i64("-9223372036854775808", 20, INT64_MIN, INT64_MAX, &v), 0);
	assert_true(v == INT64_MIN);
	assert_int_equal(parse_i64("-", 1, -10, 10, &v), ERR_INVALID);
}

static void test_size_helpers(void **state)
{
	size_t out;
	(void)state;
	assert_int_equal(size_add(SIZE_MAX, 1, &out), ERR_OVERFLOW);
	assert_int_equal(size_mul(SIZE_MAX / 2 + 1, 2, &out), ERR_OVERFLOW);
	assert_int_equal(size_mul(1000, 1000, &out), 0);
	assert_int_equal(out, 1000000);
}

static void test_arena(void **state)
{
	struct arena *a = arena_new(64);
	(void)state;
	char *s = arena_strdup(a, "保護課");
	void *big = arena_alloc(a, 10000);
	void *p = arena_alloc(a, 3);
	assert_string_equal(s, "保護課");
	assert_non_null(big);
	assert_int_equal((uintptr_t)p % 16, 0);
	memset(big, 0xab, 10000);
	assert_string_equal(s, "保護課");
	assert_true(arena_used(a) >= 10000);
	arena_free(a);
	arena_free(NULL);
}

static void test_diag_limit(void **state)
{
	struct diag d;
	struct buf b;
	(void)state;
	i18n_set_thread(LANG_EN);
	diag_init(&d, 3);
	for (int i = 1; i <= 10; i++)
		diag_error(&d, "staff.jsonl", i, 0, "start", "not a date");
	diag_warn(&d, "staff.jsonl", 11, 0, "colour", "unknown field");
	assert_int_equal(d.n, 3);
	assert_int_equal(d.errors, 10);
	assert_int_equal(d.warnings, 1);
	assert_true(diag_has_errors(&d));
	buf_init(&b, 1024);
	assert_int_equal(diag_item_format(&d.items[1], &b), 0);
	assert_string_equal(b.data, "staff.jsonl:2: field 'start': not a date");
	buf_release(&b);
	diag_release(&d);
	i18n_clear_thread();
}

static void test_i18n(void **state)
{
	(void)state;
	i18n_set_thread(LANG_JA);
	assert_string_equal(T("はい", "yes"), "はい");
	i18n_set_thread(LANG_EN);
	assert_string_equal(T("はい", "yes"), "yes");
	i18n_clear_thread();
	assert_int_equal(i18n_from_accept_language("ja-JP,ja;q=0.9", LANG_EN), LANG_JA);
	assert_int_equal(i18n_from_accept_language("en-US", LANG_JA), LANG_EN);
	assert_int_equal(i18n_from_accept_language("fr", LANG_JA), LANG_JA);
	assert_int_equal(i18n_from_accept_language(NULL, LANG_EN), LANG_EN);
}

static void test_mem_equal_ct(void **state)
{
	(void)state;
	assert_true(mem_equal_ct("abcd", "abcd", 4));
	assert_false(mem_equal_ct("abcd", "abce", 4));
	assert_true(mem_equal_ct("", "", 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_err_table),  cmocka_unit_test(test_buf_limit),
		cmocka_unit_test(test_buf_json_str), cmocka_unit_test(test_parse_i64),
		cmocka_unit_test(test_size_helpers), cmocka_unit_test(test_arena),
		cmocka_unit_test(test_diag_limit), cmocka_unit_test(test_i18n),
		cmocka_unit_test(test_mem_equal_ct),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
