/* libFuzzer harness: the policy file parser and checker; a policy that
 * parses is printed, compiled against an empty registry and asked one
 * decision, so the whole path from text to decide() is exercised. */
#include "base/base.h"
#include "base/arena.h"
#include "base/buf.h"
#include "base/diag.h"
#include "policy/policy.h"
#include "registry/registry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy *p = NULL;
	struct decider *dc = NULL;
	struct diag d;
	struct buf out;

	diag_init(&d, 20);
	if (policy_parse("fuzz.yaml", (const char *)data, size, &p, &d) == 0) {
		struct registry_data rd;
		struct decide_req rq = {.staff_id = "S1", .action = ACT_VIEW, .resident_id = "R1",
					.system = "juki", .zone = "mynumber", .ts = 1775000000};
		struct decide_res res;
		memset(&rd, 0, sizeof(rd));
		buf_init(&out, (size_t)16 << 20);
		if (policy_show(p, &out) < 0)
			BUG("policy_show failed on a parsed policy");
		buf_release(&out);
		if (decider_build(p, &rd, &dc, &d) == 0) {
			decide(dc, &rq, &res);
			/* The known_* rules are mandatory: an unknown staff id is denied. */
			if (res.decision != DECISION_DENY)
				BUG("unknown staff allowed");
		}
	}
	decider_free(dc);
	policy_free(p);
	diag_release(&d);
	return 0;
}
