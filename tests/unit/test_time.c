/* Unit tests for src/base/timeutil.c: RFC 3339, civil dates, JST, holidays. */
#include "base/base.h"

#include <setjmp.h>
#include <cmocka.h>

#include "base/timeutil.h"

static int64_t parse_ok(const char *s, int *off)
{
	int64_t t = 0;

	assert_int_equal(ts_parse(s, strlen(s), &t, off), 0);
	return t;
}

static void test_parse_valid(void **state)
{
	int off = -1;
	(void)state;
	assert_int_equal(parse_ok("1970-01-01T00:00:00Z", &off), 0);
	assert_int_equal(off, 0);
	assert_int_equal(parse_ok("2026-04-01T09:15:02+09:00", &off), 1775002502);
	assert_int_equal(off, 540);
	assert_int_equal(parse_ok("2026-04-01t00:15:02.999999z", NULL), 1775002502);
	assert_int_equal(parse_ok("2026-03-31T19:15:02-05:00", &off), 1775002502);
	assert_int_equal(off, -300);
	assert_int_equal(parse_ok("2024-02-29T00:00:00Z", NULL), 1709164800);
	assert_int_equal(parse_ok("1900-01-01T00:00:00Z", NULL), -2208988800LL);
	assert_int_equal(parse_ok("9999-12-31T23:59:59Z", NULL), 253402300799LL);
	assert_int_equal(parse_ok("2000-01-01T00:00:00+23:59", NULL), 946684800 - 86340);
	/* A leap second is accepted at 23:59:60 UTC and read as :59. */
	assert_int_equal(parse_ok("2016-12-31T23:59:60Z", NULL), 1483228799);
	assert_int_equal(parse_ok("2017-01-01T08:59:60+09:00", NULL), 1483228799);
}

static void test_parse_invalid(void **state)
{
	static const char *bad[] = {
		"", "garbage", "2026-04-01T09:15:02", "2026-04-01 09:15:02Z",
		"2026-04-01T09:15:02+0900", "2026-04-01T09:15:02+09", "2026-04-01T09:15:02+09:00x",
		"2026-04-01T09:15:02.Z", "2026-04-01", "1899-12-31T23:59:59Z",
		"10000-01-01T00:00:00Z", "2026-00-01T00:00:00Z", "2026-13-01T00:00:00Z",
		"2026-04-00T00:00:00Z", "2026-04-31T00:00:00Z", "2025-02-29T00:00:00Z",
		"1900-02-29T00:00:00Z", "2026-04-01T24:00:00Z", "2026-04-01T23:60:00Z",
		"2026-04-01T23:59:61Z", "2026-04-01T12:00:60Z", "2026-04-01T00:00:00+24:00",
		"2026-04-01T00:00:00+09:60", "2026-04-01T00:00:00-24:00", "2026-4-01T00:00:00Z",
		"2026-04-01T0:00:00Z", "+026-04-01T00:00:00Z", "2026-04-01T00:00:00ZZ",
		"2026/04/01T00:00:00Z", "2026-04-01T00-00-00Z",
		"2026-04-01T00:00:00.00000000000000000000000000000000000000000000001Z",
	};
	int64_t t = 42;
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		if (ts_parse(bad[i], strlen(bad[i]), &t, NULL) != ERR_INVALID)
			fail_msg("accepted: '%s'", bad[i]);
	}
	assert_int_equal(t, 42);
	/* The length bounds the input: a valid prefix is not enough. */
	assert_int_equal(ts_parse("2026-04-01T00:00:00Z", 19, &t, NULL), ERR_INVALID);
	assert_int_equal(ts_parse("2026-04-01T00:00:00Z!", 21, &t, NULL), ERR_INVALID);
	assert_int_equal(ts_parse("2026-04-01T00:00:00Z!", 20, &t, NULL), 0);
}

static void test_format_roundtrip(void **state)
{
	char out[TS_TEXT_MAX];
	int64_t samples[] = { 0, 1775002502, -2208988800LL + 86400, 253402300799LL - 9 * 3600, 951782400,
			      -1 };
	(void)state;
	ts_format_jst(1775002502, out);
	assert_string_equal(out, "2026-04-01T09:15:02+09:00");
	ts_format_offset(1775002502, 0, out);
	assert_string_equal(out, "2026-04-01T00:15:02+00:00");
	ts_format_offset(1775002502, -330, out);
	assert_string_equal(out, "2026-03-31T18:45:02-05:30");
	ts_format_jst(-1, out);
	assert_string_equal(out, "1970-01-01T08:59:59+09:00");
	for (size_t i = 0; i < ARRAY_SIZE(samples); i++) {
		int off = 0;

		ts_format_jst(samples[i], out);
		assert_int_equal(parse_ok(out, &off), samples[i]);
		assert_int_equal(off, 540);
		ts_format_offset(samples[i], -600, out);
		assert_int_equal(parse_ok(out, &off), samples[i]);
		assert_int_equal(off, -600);
	}
}

static void test_dates(void **state)
{
	char out[DATE_TEXT_MAX];
	int32_t d = 0;
	int y, m, dd;
	(void)state;
	assert_int_equal(days_from_civil(1970, 1, 1), 0);
	assert_int_equal(days_from_civil(2000, 3, 1), 11017);
	assert_int_equal(days_from_civil(1969, 12, 31), -1);
	assert_int_equal(day_weekday(0), 4);
	assert_int_equal(day_weekday(-1), 3);
	assert_int_equal(day_weekday(days_from_civil(2026, 11, 23)), 1);
	/* Every day from 1900 to 2100 goes to civil and back. */
	for (int32_t i = days_from_civil(1900, 1, 1); i <= days_from_civil(2100, 12, 31); i++) {
		civil_from_days(i, &y, &m, &dd);
		assert_int_equal(days_from_civil(y, m, dd), i);
		assert_int_equal(day_weekday(i + 1), (day_weekday(i) + 1) % 7);
	}
	assert_int_equal(date_parse("2024-02-29", 10, &d), 0);
	date_format(d, out);
	assert_string_equal(out, "2024-02-29");
	assert_int_equal(date_parse("2023-02-29", 10, &d), ERR_INVALID);
	assert_int_equal(date_parse("2000-02-29", 10, &d), 0);
	assert_int_equal(date_parse("2100-02-29", 10, &d), ERR_INVALID);
	assert_int_equal(date_parse("2024-02-29x", 11, &d), ERR_INVALID);
	assert_int_equal(date_parse("2024-2-29", 9, &d), ERR_INVALID);
	assert_int_equal(date_parse("1899-12-31", 10, &d), ERR_INVALID);
}

static void test_jst_edges(void **state)
{
	int64_t a = parse_ok("2026-04-01T00:00:00+09:00", NULL);
	int64_t b = parse_ok("2026-03-31T23:59:59+09:00", NULL);
	int32_t apr1 = days_from_civil(2026, 4, 1);
	(void)state;
	assert_int_equal(ts_jst_day(a), apr1);
	assert_int_equal(ts_jst_day(b), apr1 - 1);
	assert_int_equal(ts_jst_second_of_day(a), 0);
	assert_int_equal(ts_jst_second_of_day(b), 86399);
	assert_int_equal(day_jst_midnight(apr1), a);
	assert_int_equal(ts_jst_day(parse_ok("2026-03-31T15:00:00Z", NULL)), apr1);
	assert_int_equal(ts_jst_day(parse_ok("2026-03-31T14:59:59Z", NULL)), apr1 - 1);
	assert_int_equal(ts_jst_day(-1), 0);
	assert_int_equal(ts_jst_day(-9 * 3600 - 1), -1);
	assert_true(ts_now() > 1700000000);
}

struct hol {
	int m, d;
	const char *name;
};

/* Check a whole year: the listed days are holidays, every other day is not. */
static void check_year(int y, const struct hol *h, size_t n)
{
	int32_t first = days_from_civil(y, 1, 1), last = days_from_civil(y, 12, 31);
	size_t found = 0;

	for (int32_t d = first; d <= last; d++) {
		const char *name = NULL, *want = NULL;
		bool is;
		int yy, m, dd;

		civil_from_days(d, &yy, &m, &dd);
		for (size_t i = 0; i < n; i++)
			if (h[i].m == m && h[i].d == dd)
				want = h[i].name;
		is = jp_holiday(d, &name);
		if (is != (want != NULL))
			fail_msg("%04d-%02d-%02d: holiday=%d, expected %d", y, m, dd, is,
				 want != NULL);
		if (want != NULL) {
			found++;
			if (strcmp(name, want) != 0)
				fail_msg("%04d-%02d-%02d: '%s', expected '%s'", y, m, dd, name, want);
			assert_true(jp_office_closed(d));
		} else {
			assert_null(name);
		}
	}
	assert_int_equal(found, n);
}

static void test_holidays_2019_2021(void **state)
{
	static const struct hol y2019[] = {
		{ 1, 1, "元日" }, { 1, 14, "成人の日" }, { 2, 11, "建国記念の日" },
		{ 3, 21, "春分の日" }, { 4, 29, "昭和の日" }, { 4, 30, "国民の休日" },
		{ 5, 1, "天皇の即位の日" }, { 5, 2, "国民の休日" }, { 5, 3, "憲法記念日" },
		{ 5, 4, "みどりの日" }, { 5, 5, "こどもの日" }, { 5, 6, "振替休日" },
		{ 7, 15, "海の日" }, { 8, 11, "山の日" }, { 8, 12, "振替休日" },
		{ 9, 16, "敬老の日" }, { 9, 23, "秋分の日" }, { 10, 14, "体育の日" },
		{ 10, 22, "即位礼正殿の儀" }, { 11, 3, "文化の日" }, { 11, 4, "振替休日" },
		{ 11, 23, "勤労感謝の日" },
	};
	static const struct hol y2020[] = {
		{ 1, 1, "元日" }, { 1, 13, "成人の日" }, { 2, 11, "建国記念の日" },
		{ 2, 23, "天皇誕生日" }, { 2, 24, "振替休日" }, { 3, 20, "春分の日" },
		{ 4, 29, "昭和の日" }, { 5, 3, "憲法記念日" }, { 5, 4, "みどりの日" },
		{ 5, 5, "こどもの日" }, { 5, 6, "振替休日" }, { 7, 23, "海の日" },
		{ 7, 24, "スポーツの日" }, { 8, 10, "山の日" }, { 9, 21, "敬老の日" },
		{ 9, 22, "秋分の日" }, { 11, 3, "文化の日" }, { 11, 23, "勤労感謝の日" },
	};
	static const struct hol y2021[] = {
		{ 1, 1, "元日" }, { 1, 11, "成人の日" }, { 2, 11, "建国記念の日" },
		{ 2, 23, "天皇誕生日" }, { 3, 20, "春分の日" }, { 4, 29, "昭和の日" },
		{ 5, 3, "憲法記念日" }, { 5, 4, "みどりの日" }, { 5, 5, "こどもの日" },
		{ 7, 22, "海の日" }, { 7, 23, "スポーツの日" }, { 8, 8, "山の日" },
		{ 8, 9, "振替休日" }, { 9, 20, "敬老の日" }, { 9, 23, "秋分の日" },
		{ 11, 3, "文化の日" }, { 11, 23, "勤労感謝の日" },
	};
	(void)state;
	check_year(2019, y2019, ARRAY_SIZE(y2019));
	check_year(2020, y2020, ARRAY_SIZE(y2020));
	check_year(2021, y2021, ARRAY_SIZE(y2021));
}

static void test_holidays_2025_2027(void **state)
{
	static const struct hol y2025[] = {
		{ 1, 1, "元日" }, { 1, 13, "成人の日" }, { 2, 11, "建国記念の日" },
		{ 2, 23, "天皇誕生日" }, { 2, 24, "振替休日" }, { 3, 20, "春分の日" },
		{ 4, 29, "昭和の日" }, { 5, 3, "憲法記念日" }, { 5, 4, "みどりの日" },
		{ 5, 5, "こどもの日" }, { 5, 6, "振替休日" }, { 7, 21, "海の日" },
		{ 8, 11, "山の日" }, { 9, 15, "敬老の日" }, { 9, 23, "秋分の日" },
		{ 10, 13, "スポーツの日" }, { 11, 3, "文化の日" }, { 11, 23, "勤労感謝の日" },
		{ 11, 24, "振替休日" },
	};
	static const struct hol y2026[] = {
		{ 1, 1, "元日" }, { 1, 12, "成人の日" }, { 2, 11, "建国記念の日" },
		{ 2, 23, "天皇誕生日" }, { 3, 20, "春分の日" }, { 4, 29, "昭和の日" },
		{ 5, 3, "憲法記念日" }, { 5, 4, "みどりの日" }, { 5, 5, "こどもの日" },
		{ 5, 6, "振替休日" }, { 7, 20, "海の日" }, { 8, 11, "山の日" },
		{ 9, 21, "敬老の日" }, { 9, 22, "国民の休日" }, { 9, 23, "秋分の日" },
		{ 10, 12, "スポーツの日" }, { 11, 3, "文化の日" }, { 11, 23, "勤労感謝の日" },
	};
	static const struct hol y2027[] = {
		{ 1, 1, "元日" }, { 1, 11, "成人の日" }, { 2, 11, "建国記念の日" },
		{ 2, 23, "天皇誕生日" }, { 3, 21, "春分の日" }, { 3, 22, "振替休日" },
		{ 4, 29, "昭和の日" }, { 5, 3, "憲法記念日" }, { 5, 4, "みどりの日" },
		{ 5, 5, "こどもの日" }, { 7, 19, "海の日" }, { 8, 11, "山の日" },
		{ 9, 20, "敬老の日" }, { 9, 23, "秋分の日" }, { 10, 11, "スポーツの日" },
		{ 11, 3, "文化の日" }, { 11, 23, "勤労感謝の日" },
	};
	(void)state;
	check_year(2025, y2025, ARRAY_SIZE(y2025));
	check_year(2026, y2026, ARRAY_SIZE(y2026));
	check_year(2027, y2027, ARRAY_SIZE(y2027));
}

static void test_holiday_range_and_office(void **state)
{
	const char *name = "x";
	(void)state;
	assert_false(jp_holiday(days_from_civil(1979, 1, 1), &name));
	assert_null(name);
	assert_false(jp_holiday(days_from_civil(2100, 1, 1), NULL));
	assert_true(jp_holiday(days_from_civil(1980, 1, 1), NULL));
	assert_true(jp_holiday(days_from_civil(2099, 1, 1), NULL));
	assert_true(jp_holiday(days_from_civil(2018, 12, 23), &name));
	assert_string_equal(name, "天皇誕生日");
	assert_true(jp_holiday(days_from_civil(2018, 12, 24), &name));
	assert_string_equal(name, "振替休日");
	assert_false(jp_holiday(days_from_civil(2019, 12, 23), NULL));
	assert_false(jp_holiday(days_from_civil(2019, 2, 23), NULL));
	/* Office closure: year end, weekends, holidays; ordinary weekdays open. */
	assert_true(jp_office_closed(days_from_civil(2026, 12, 29)));
	assert_true(jp_office_closed(days_from_civil(2027, 1, 4)) == false);
	assert_false(jp_office_closed(days_from_civil(2026, 12, 28)));
	assert_true(jp_office_closed(days_from_civil(2027, 1, 3)));
	assert_true(jp_office_closed(days_from_civil(2026, 11, 21)));  /* Sat */
	assert_true(jp_office_closed(days_from_civil(2026, 11, 22)));  /* Sun */
	assert_false(jp_office_closed(days_from_civil(2026, 11, 24))); /* Tue */
	assert_true(jp_office_closed(days_from_civil(2026, 9, 22)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_valid),
		cmocka_unit_test(test_parse_invalid),
		cmocka_unit_test(test_format_roundtrip),
		cmocka_unit_test(test_dates),
		cmocka_unit_test(test_jst_edges),
		cmocka_unit_test(test_holidays_2019_2021),
		cmocka_unit_test(test_holidays_2025_2027),
		cmocka_unit_test(test_holiday_range_and_office),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
