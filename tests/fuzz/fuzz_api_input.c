/* libFuzzer harness: what the HTTP server checks before any parser sees a
 * request. The UTF-8 check must agree with jansson's own validation of
 * string contents (an independent implementation), and listen-address
 * parsing must never accept what it cannot hand back as a numeric host. */
#include <arpa/inet.h>

#include <jansson.h>

#include "base/base.h"
#include "api/api_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	size_t bad = SIZE_MAX;
	bool ok = api_utf8_valid(s, size, &bad);
	json_t *j = json_stringn(s, size);
	char host[64], text[300];
	uint16_t port;

	if (ok != (j != NULL))
		BUG("UTF-8 check disagrees with jansson");
	if (!ok && (bad >= size || api_utf8_valid(s, bad, NULL) == false))
		BUG("UTF-8 check: bad offset");
	json_decref(j);

	if (size < sizeof(text)) {
		memcpy(text, s, size);
		text[size] = '\0';
		if (api_listen_parse(text, host, sizeof(host), &port) == 0) {
			unsigned char a[16];
			if (inet_pton(AF_INET, host, a) != 1 && inet_pton(AF_INET6, host, a) != 1)
				BUG("listen parse accepted a host that is not numeric");
			(void)api_host_is_loopback(host);
		}
	}
	return 0;
}
