/* libFuzzer harness: the policy file parser and checker. */
#include "base/base.h"
#include "base/buf.h"
#include "base/diag.h"
#include "policy/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy *p = NULL;
	struct diag d;
	struct buf out;

	diag_init(&d, 20);
	if (policy_parse("fuzz.yaml", (const char *)data, size, &p, &d) == 0) {
		buf_init(&out, (size_t)16 << 20);
		(void)policy_show(p, &out);
		buf_release(&out);
	}
	policy_free(p);
	diag_release(&d);
	return 0;
}
