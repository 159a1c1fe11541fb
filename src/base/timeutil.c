/* timeutil.c - RFC 3339 timestamps, civil dates, JST and Japanese holidays. */
#include "base/base.h"
#include "base/timeutil.h"

#include <time.h>

int64_t ts_now(void)
{
	struct timespec t;

	if (clock_gettime(CLOCK_REALTIME, &t) != 0)
		return 0;
	return (int64_t)t.tv_sec;
}

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	if ((a % b != 0) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

/*
 * Days since 1970-01-01 of a proleptic Gregorian date. The year is shifted
 * to start in March so that the leap day is the last day of the shifted
 * year; a 400-year era then has a fixed length of 146097 days.
 */
static int64_t days_from_civil64(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = floor_div(y, 400);
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days64(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = floor_div(z, 146097);
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

int32_t days_from_civil(int y, int m, int d)
{
	return (int32_t)days_from_civil64(y, m, d);
}

void civil_from_days(int32_t days, int *y, int *m, int *d)
{
	int64_t yy;

	civil_from_days64(days, &yy, m, d);
	*y = (int)yy;
}

int day_weekday(int32_t days)
{
	/* 1970-01-01 was a Thursday (4). */
	return (int)(((int64_t)days % 7 + 11) % 7);
}

static bool is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int y, int m)
{
	static const int md[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return m == 2 && is_leap(y) ? 29 : md[m - 1];
}

/* Read exactly n decimal digits at s; -1 if any is not a digit. */
static int digits(const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* "YYYY-MM-DD" at s (10 bytes available). */
static int parse_ymd(const char *s, int *y, int *m, int *d)
{
	*y = digits(s, 4);
	*m = digits(s + 5, 2);
	*d = digits(s + 8, 2);
	if (s[4] != '-' || s[7] != '-' || *y < 1900 || *y > 9999 || *m < 1 || *m > 12 ||
	    *d < 1 || *d > month_days(*y, *m))
		return ERR_INVALID;
	return 0;
}

/* Longest timestamp accepted: a date, a time, a fraction and an offset. */
#define TS_INPUT_MAX 64

int ts_parse(const char *s, size_t len, int64_t *secs, int *offset_min)
{
	int y, mo, d, hh, mi, ss, off = 0;
	size_t p;
	int64_t t;

	if (s == NULL || len < 20 || len > TS_INPUT_MAX)
		return ERR_INVALID;
	if (parse_ymd(s, &y, &mo, &d) < 0)
		return ERR_INVALID;
	if (s[10] != 'T' && s[10] != 't')
		return ERR_INVALID;
	hh = digits(s + 11, 2);
	mi = digits(s + 14, 2);
	ss = digits(s + 17, 2);
	if (s[13] != ':' || s[16] != ':' || hh < 0 || hh > 23 || mi < 0 || mi > 59 || ss < 0 ||
	    ss > 60)
		return ERR_INVALID;
	p = 19;
	if (s[p] == '.') {
		size_t start = ++p;

		while (p < len && s[p] >= '0' && s[p] <= '9')
			p++;
		if (p == start)
			return ERR_INVALID;
	}
	if (p >= len)
		return ERR_INVALID;
	if (s[p] == 'Z' || s[p] == 'z') {
		p++;
	} else if (s[p] == '+' || s[p] == '-') {
		int oh, om;

		if (len - p != 6)
			return ERR_INVALID;
		oh = digits(s + p + 1, 2);
		om = digits(s + p + 4, 2);
		if (s[p + 3] != ':' || oh < 0 || oh > 23 || om < 0 || om > 59)
			return ERR_INVALID;
		off = oh * 60 + om;
		if (s[p] == '-')
			off = -off;
		p += 6;
	} else {
		return ERR_INVALID;
	}
	if (p != len)
		return ERR_INVALID;
	t = days_from_civil64(y, mo, d) * 86400 + hh * 3600 + mi * 60 + (ss == 60 ? 59 : ss) -
	    (int64_t)off * 60;
	/* A leap second exists only as 23:59:60 UTC; it is stored as :59. */
	if (ss == 60 && floor_div(t, 86400) * 86400 + 86399 != t)
		return ERR_INVALID;
	*secs = t;
	if (offset_min != NULL)
		*offset_min = off;
	return 0;
}

void ts_format_offset(int64_t secs, int offset_min, char out[static TS_TEXT_MAX])
{
	int64_t local, days, sod, y;
	int m, d, ao = offset_min < 0 ? -offset_min : offset_min;
	/* The clamp below keeps the text within TS_TEXT_MAX; the wider scratch
	 * buffer lets the compiler see that nothing can be cut. */
	char tmp[96];
	size_t n;

	/* Clamp so that the arithmetic below cannot overflow. */
	if (secs > INT64_C(253402300799))
		secs = INT64_C(253402300799);
	if (secs < INT64_C(-62135596800))
		secs = INT64_C(-62135596800);
	local = secs + (int64_t)offset_min * 60;
	days = floor_div(local, 86400);
	sod = local - days * 86400;
	civil_from_days64(days, &y, &m, &d);
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-truncation"
#endif
	snprintf(tmp, sizeof(tmp), "%04" PRId64 "-%02d-%02dT%02d:%02d:%02d%c%02d:%02d", y, m, d,
		 (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60),
		 offset_min < 0 ? '-' : '+', ao / 60 % 100, ao % 60);
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
	n = strlen(tmp);
	if (n >= TS_TEXT_MAX)
		n = TS_TEXT_MAX - 1;
	memcpy(out, tmp, n);
	out[n] = '\0';
}

void ts_format_jst(int64_t secs, char out[static TS_TEXT_MAX])
{
	ts_format_offset(secs, JST_OFFSET_SEC / 60, out);
}

int date_parse(const char *s, size_t len, int32_t *days)
{
	int y, m, d;

	if (s == NULL || len != 10 || parse_ymd(s, &y, &m, &d) < 0)
		return ERR_INVALID;
	*days = days_from_civil(y, m, d);
	return 0;
}

void date_format(int32_t days, char out[static DATE_TEXT_MAX])
{
	int64_t y;
	int m, d;

	civil_from_days64(days, &y, &m, &d);
	if (y < 0 || y > 9999) {
		out[0] = '\0';
		return;
	}
	snprintf(out, DATE_TEXT_MAX, "%04d-%02d-%02d", (int)y, m, d);
}

int32_t ts_jst_day(int64_t secs)
{
	return (int32_t)floor_div(secs + JST_OFFSET_SEC, 86400);
}

int ts_jst_second_of_day(int64_t secs)
{
	int64_t l = secs + JST_OFFSET_SEC;

	return (int)(l - floor_div(l, 86400) * 86400);
}

int64_t day_jst_midnight(int32_t days)
{
	return (int64_t)days * 86400 - JST_OFFSET_SEC;
}

/* ---- Japanese national holidays ---- */

#define HOL_YEAR_MIN 1980
#define HOL_YEAR_MAX 2099

/*
 * The holidays of one year, by day of the year (0 = January 1). Built on
 * the caller's stack for each query, so there is no shared state.
 */
struct hol_year {
	int year;
	int32_t jan1;
	const char *name[366];
	bool shuku[366]; /* a 国民の祝日 proper (not 振替休日 or 国民の休日) */
};

static void hol_set(struct hol_year *h, int m, int d, const char *name)
{
	int i = days_from_civil(h->year, m, d) - h->jan1;

	h->name[i] = name;
	h->shuku[i] = true;
}

/* Day of month of the nth Monday of month m. */
static int nth_monday(int y, int m, int n)
{
	int wd = day_weekday(days_from_civil(y, m, 1));

	return 1 + (8 - wd) % 7 + 7 * (n - 1);
}

static void hol_build(struct hol_year *h, int y)
{
	int n = is_leap(y) ? 366 : 365;
	int k = y - 1980;
	/* The usual approximation of the equinox days, valid 1980-2099. */
	int spring = (int)(20.8431 + 0.242194 * k) - k / 4;
	int autumn = (int)(23.2488 + 0.242194 * k) - k / 4;

	memset(h, 0, sizeof(*h));
	h->year = y;
	h->jan1 = days_from_civil(y, 1, 1);

	hol_set(h, 1, 1, "元日");
	hol_set(h, 1, y >= 2000 ? nth_monday(y, 1, 2) : 15, "成人の日");
	hol_set(h, 2, 11, "建国記念の日");
	if (y >= 2020)
		hol_set(h, 2, 23, "天皇誕生日");
	hol_set(h, 3, spring, "春分の日");
	hol_set(h, 4, 29, y <= 1988 ? "天皇誕生日" : y <= 2006 ? "みどりの日" : "昭和の日");
	hol_set(h, 5, 3, "憲法記念日");
	if (y >= 2007)
		hol_set(h, 5, 4, "みどりの日");
	hol_set(h, 5, 5, "こどもの日");
	if (y == 2020)
		hol_set(h, 7, 23, "海の日");
	else if (y == 2021)
		hol_set(h, 7, 22, "海の日");
	else if (y >= 2003)
		hol_set(h, 7, nth_monday(y, 7, 3), "海の日");
	else if (y >= 1996)
		hol_set(h, 7, 20, "海の日");
	if (y == 2020)
		hol_set(h, 8, 10, "山の日");
	else if (y == 2021)
		hol_set(h, 8, 8, "山の日");
	else if (y >= 2016)
		hol_set(h, 8, 11, "山の日");
	hol_set(h, 9, y >= 2003 ? nth_monday(y, 9, 3) : 15, "敬老の日");
	hol_set(h, 9, autumn, "秋分の日");
	if (y == 2020)
		hol_set(h, 7, 24, "スポーツの日");
	else if (y == 2021)
		hol_set(h, 7, 23, "スポーツの日");
	else if (y >= 2000)
		hol_set(h, 10, nth_monday(y, 10, 2), y >= 2020 ? "スポーツの日" : "体育の日");
	else
		hol_set(h, 10, 10, "体育の日");
	hol_set(h, 11, 3, "文化の日");
	hol_set(h, 11, 23, "勤労感謝の日");
	if (y >= 1989 && y <= 2018)
		hol_set(h, 12, 23, "天皇誕生日");
	/* One-off holidays set by their own laws. */
	if (y == 1989)
		hol_set(h, 2, 24, "昭和天皇の大喪の礼");
	if (y == 1990)
		hol_set(h, 11, 12, "即位礼正殿の儀");
	if (y == 1993)
		hol_set(h, 6, 9, "皇太子徳仁親王の結婚の儀");
	if (y == 2019) {
		hol_set(h, 5, 1, "天皇の即位の日");
		hol_set(h, 10, 22, "即位礼正殿の儀");
	}

	/*
	 * 振替休日: a 祝日 on a Sunday gives the next day off; since 2007 the
	 * next day that is not itself a holiday.
	 */
	for (int i = 0; i < n; i++) {
		int j = i + 1;

		if (!h->shuku[i] || day_weekday(h->jan1 + i) != 0)
			continue;
		if (y >= 2007)
			while (j < n && h->name[j] != NULL)
				j++;
		if (j < n && h->name[j] == NULL)
			h->name[j] = "振替休日";
	}
	/*
	 * 国民の休日 (since the 1985 amendment): a day that is not a holiday,
	 * between two 祝日. On a Sunday it changes nothing and is not marked.
	 */
	if (y >= 1986) {
		for (int i = 1; i + 1 < n; i++) {
			if (h->name[i] == NULL && h->shuku[i - 1] && h->shuku[i + 1] &&
			    day_weekday(h->jan1 + i) != 0)
				h->name[i] = "国民の休日";
		}
	}
}

bool jp_holiday(int32_t days, const char **name)
{
	/* The audit asks about every event's day, millions of times for
	 * days of the same few years: each thread keeps the last year it
	 * built (a few KiB), so the table is built once per year and thread. */
	static _Thread_local struct hol_year h;
	static _Thread_local int built = -1;
	int y, m, d;

	if (name != NULL)
		*name = NULL;
	civil_from_days(days, &y, &m, &d);
	if (y < HOL_YEAR_MIN || y > HOL_YEAR_MAX)
		return false;
	if (built != y) {
		hol_build(&h, y);
		built = y;
	}
	if (h.name[days - h.jan1] == NULL)
		return false;
	if (name != NULL)
		*name = h.name[days - h.jan1];
	return true;
}

bool jp_office_closed(int32_t days)
{
	int y, m, d, wd = day_weekday(days);

	if (wd == 0 || wd == 6)
		return true;
	civil_from_days(days, &y, &m, &d);
	if ((m == 12 && d >= 29) || (m == 1 && d <= 3))
		return true;
	return jp_holiday(days, NULL);
}
