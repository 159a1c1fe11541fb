/* libFuzzer harness: mamori.conf. */
#include "base/base.h"
#include "base/diag.h"
#include "instance/instance_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct instance_config c;
	struct diag d;

	diag_init(&d, 10);
	(void)instance_config_parse("fuzz.conf", (const char *)data, size, &c, &d);
	diag_release(&d);
	return 0;
}
