/* libFuzzer harness: one line of each FORMATS.md file kind through the real
 * validator. The first byte picks the kind. */
#include "base/base.h"
#include "base/diag.h"
#include "registry/registry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *kinds[] = {"systems", "departments", "staff", "residents",
				      "cases",   "overtime",    "access"};
	struct diag d;

	if (size < 1)
		return 0;
	diag_init(&d, 10);
	(void)registry_check_line(kinds[data[0] % ARRAY_SIZE(kinds)], (const char *)data + 1,
				  size - 1, &d);
	diag_release(&d);
	return 0;
}
