/*
 * timeutil.h - time as mamori uses it.
 *
 * Timestamps are int64_t seconds since 1970-01-01T00:00:00Z (TS_NONE when
 * absent); fractional seconds in input are accepted and truncated. Dates
 * (a day of the civil calendar, no zone) are int32_t days since 1970-01-01
 * (DAY_NONE when absent). Municipal time is Asia/Tokyo, UTC+09:00 all year
 * (Japan has no daylight saving time), so "the date of ts" means its JST
 * date unless said otherwise.
 *
 * The Japanese national holiday calendar follows the 国民の祝日に関する法律
 * as amended, including 振替休日 (substitute holidays), 国民の休日 (a day
 * between two holidays) and the one-off moves of 2019-2021. Equinox days
 * are computed with the usual astronomical approximation valid 1980-2099.
 * All functions are pure and thread-safe.
 */
#ifndef MAMORI_TIMEUTIL_H
#define MAMORI_TIMEUTIL_H

#include "base/base.h"

#define TS_NONE INT64_MIN
#define DAY_NONE INT32_MIN
#define JST_OFFSET_SEC (9 * 3600)
/* Enough for "2026-04-01T09:15:02+09:00" and its NUL. */
#define TS_TEXT_MAX 32
#define DATE_TEXT_MAX 11

int64_t ts_now(void);

/*
 * Parse an RFC 3339 timestamp with an explicit offset ("Z" or +hh:mm).
 * Accepts 'T' or 't' between date and time, and fractional seconds.
 * Years 1900-9999 only. On success stores seconds and, if offset_min is
 * not NULL, the offset in minutes. Returns ERR_INVALID for anything else.
 */
MM_WUR int ts_parse(const char *s, size_t len, int64_t *secs, int *offset_min);
/* Format as RFC 3339 in JST: "2026-04-01T09:15:02+09:00". */
void ts_format_jst(int64_t secs, char out[static TS_TEXT_MAX]);
/* Format with the given offset in minutes ("Z" is written as +00:00). */
void ts_format_offset(int64_t secs, int offset_min, char out[static TS_TEXT_MAX]);

/* Parse "YYYY-MM-DD" (a real calendar date, years 1900-9999). */
MM_WUR int date_parse(const char *s, size_t len, int32_t *days);
void date_format(int32_t days, char out[static DATE_TEXT_MAX]);

int32_t days_from_civil(int y, int m, int d);
void civil_from_days(int32_t days, int *y, int *m, int *d);
/* 0 = Sunday ... 6 = Saturday. */
int day_weekday(int32_t days);

/* The JST date of a timestamp, and the seconds since JST midnight. */
int32_t ts_jst_day(int64_t secs);
int ts_jst_second_of_day(int64_t secs);
/* The timestamp of JST midnight starting the given date. */
int64_t day_jst_midnight(int32_t days);

/*
 * True if the date is a Japanese national holiday (祝日, 振替休日 or
 * 国民の休日). If name is not NULL it receives the holiday's Japanese name
 * (a static string), e.g. "元日", "振替休日".
 */
bool jp_holiday(int32_t days, const char **name);
/* True on Saturdays, Sundays, national holidays and the year-end closure
 * of public offices (12/29-1/3, 行政機関の休日に関する法律). */
bool jp_office_closed(int32_t days);

#endif
