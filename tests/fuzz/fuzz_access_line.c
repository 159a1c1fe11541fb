/* libFuzzer harness: the access-line scanner of `mamori audit --events`
 * (watch_scan_line, src/watch/audit.c) stands in for jansson and
 * event_parse, so it must never disagree with them: a line it accepts
 * gives the event the slow path gives (time, action, denied, every
 * string), and a line it refuses is left exactly as it was (the slow
 * path then reads it). The input is cut after its first '\n', as the
 * audit hands out lines. */
#include <jansson.h>

#include "base/base.h"
#include "watch/watch.h"
#include "watch/watch_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool same_str(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct watch_scan sc;
	const uint8_t *nl = memchr(data, '\n', size);
	size_t n = nl ? (size_t)(nl - data) + 1 : size;
	char *line = xmalloc(n + 1), *orig = xmalloc(n + 1);
	struct watch_event fast = { 0 }, slow;
	void *hold = NULL;
	bool ok;
	int r;

	memcpy(line, data, n);
	line[n] = '\0';
	memcpy(orig, line, n + 1);
	ok = watch_scan_line(&sc, line, n, &fast);
	r = watch_line_slow(orig, n, &slow, &hold);
	if (ok) {
		if (r != 0)
			BUG("the scanner accepts a line the slow path refuses");
		if (fast.ts != slow.ts || fast.action != slow.action || fast.denied != slow.denied ||
		    !same_str(fast.staff_id, slow.staff_id) ||
		    !same_str(fast.resident_id, slow.resident_id) ||
		    !same_str(fast.case_id, slow.case_id) || !same_str(fast.query, slow.query) ||
		    !same_str(fast.ref, slow.ref))
			BUG("the scanner's event differs from the slow path's");
	} else if (memcmp(line, data, n) != 0) {
		BUG("the scanner changed a line it refused");
	}
	json_decref((json_t *)hold);
	free(line);
	free(orig);
	return 0;
}
