/* libFuzzer harness: RFC 3339 timestamps and dates; what parses must format
 * back to a timestamp that parses to the same instant. */
#include "base/base.h"
#include "base/timeutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int64_t t, t2;
	int off;
	int32_t day;
	char out[TS_TEXT_MAX];

	if (ts_parse((const char *)data, size, &t, &off) == 0) {
		ts_format_offset(t, off, out);
		if (ts_parse(out, strlen(out), &t2, NULL) != 0 || t2 != t)
			BUG("timestamp round trip");
		(void)jp_holiday(ts_jst_day(t), NULL);
	}
	if (date_parse((const char *)data, size, &day) == 0) {
		char d[DATE_TEXT_MAX];
		int32_t d2;
		date_format(day, d);
		if (date_parse(d, strlen(d), &d2) != 0 || d2 != day)
			BUG("date round trip");
	}
	return 0;
}
