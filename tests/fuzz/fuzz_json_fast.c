/* libFuzzer harness: the one-pass JSON paths that stand in for jansson
 * must never disagree with it.
 *  - watch_canonical_event (src/watch/ingest.c): when it answers, its
 *    bytes are those of json_dumps(json_loadb(input,
 *    JSON_REJECT_DUPLICATES), JSON_COMPACT | JSON_SORT_KEYS);
 *  - ledger_body_surely_valid (src/ledger/bodycheck.c): when it says yes,
 *    jansson parses the input into an object, and the input holds no
 *    '\n' or '\r'. */
#include <jansson.h>

#include "base/base.h"
#include "ledger/ledger_int.h"
#include "watch/watch.h"
#include "watch/watch_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	json_t *j = json_loadb(in, size, JSON_REJECT_DUPLICATES, NULL);
	json_t *k = json_loadb(in, size, 0, NULL);
	char *fast = NULL, *want = NULL;

	if (watch_canonical_event(in, size, &fast)) {
		if (!j || !json_is_object(j))
			BUG("canonical body of an input jansson refuses");
		want = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
		if (!want || strcmp(fast, want) != 0)
			BUG("canonical body differs from jansson's");
	}
	if (ledger_body_surely_valid(in, size)) {
		if (!k || !json_is_object(k))
			BUG("body check passed an input jansson refuses");
		if (memchr(in, '\n', size) || memchr(in, '\r', size))
			BUG("body check passed a line break");
	}
	free(fast);
	free(want);
	json_decref(j);
	json_decref(k);
	return 0;
}
