/* libFuzzer harness: a decision request (the body of POST /v1/decide). */
#include "base/base.h"
#include "base/arena.h"
#include "base/buf.h"
#include "policy/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena *a = arena_new(4096);
	struct decide_req rq;
	struct buf err;

	buf_init(&err, 4096);
	(void)decide_req_parse((const char *)data, size, 1775000000, a, &rq, &err);
	buf_release(&err);
	arena_free(a);
	return 0;
}
