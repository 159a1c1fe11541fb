/*
 * bench_alert_latency - how long after `POST /v1/events` answers does the
 * alert appear in `GET /v1/alerts` (docs/watch.md, "Streaming latency").
 *
 *   bench_alert_latency PORT KEY STAFF RESIDENT [N]
 *
 * against a running `mamori serve` on 127.0.0.1:PORT with an admin (or
 * csirt) API key. Each of the N events (default 50) is a view of
 * RESIDENT by STAFF on a new JST day, from 2030-01-01 on, so that each
 * opens a new alert; choose a resident flagged dv_support and a person
 * with no case of that resident assigned (W-DV-SUPPORT), or any pair that
 * nothing in the registry explains (W-UNEXPLAINED). The listing is polled
 * every millisecond, filtered to the person and the day; the time from
 * the POST's answer to the first listing that holds an alert is printed
 * per event, then the median and the maximum. Loopback, one connection
 * per request, as a business system and a console would do.
 */
#include "base/base.h"
#include "base/buf.h"
#include "base/timeutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int64_t now_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

/* One request; the status into *status and the body into out. */
static int http(uint16_t port, const char *method, const char *path, const char *key,
		const char *body, int *status, struct buf *out)
{
	struct sockaddr_in a = {0};
	struct buf req, resp;
	char chunk[8192];
	const char *p;
	ssize_t n;
	int fd, r = ERR_IO;

	buf_init(&req, 1 << 20);
	buf_init(&resp, 16 << 20);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	a.sin_family = AF_INET;
	a.sin_port = htons(port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		goto out;
	if (buf_printf(&req,
		       "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
		       "Authorization: Bearer %s\r\n",
		       method, path, key) < 0)
		goto out;
	if (body && buf_printf(&req, "Content-Type: application/x-ndjson\r\nContent-Length: %zu\r\n\r\n%s",
			       strlen(body), body) < 0)
		goto out;
	if (!body && buf_puts(&req, "\r\n") < 0)
		goto out;
	for (size_t off = 0; off < req.len; off += (size_t)n)
		if ((n = write(fd, req.data + off, req.len - off)) <= 0)
			goto out;
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		if (buf_append(&resp, chunk, (size_t)n) < 0)
			goto out;
	if (buf_append(&resp, "", 0) < 0 || resp.len < 12)
		goto out;
	*status = (resp.data[9] - '0') * 100 + (resp.data[10] - '0') * 10 + (resp.data[11] - '0');
	p = strstr(resp.data, "\r\n\r\n");
	buf_reset(out);
	if (p && buf_puts(out, p + 4) < 0)
		goto out;
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	buf_release(&req);
	buf_release(&resp);
	return r;
}

static int cmp_i64(const void *x, const void *y)
{
	int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
	return a < b ? -1 : a > b;
}

int main(int argc, char **argv)
{
	int64_t port, n = 50, *lat;
	struct buf body, out;
	int rc = 1;

	if (argc < 5 || argc > 6 || parse_i64(argv[1], strlen(argv[1]), 1, 65535, &port) < 0 ||
	    (argc == 6 && parse_i64(argv[5], strlen(argv[5]), 1, 100000, &n) < 0)) {
		fprintf(stderr, "usage: bench_alert_latency PORT KEY STAFF RESIDENT [N]\n");
		return 2;
	}
	lat = xcalloc((size_t)n, sizeof(*lat));
	buf_init(&body, 1 << 16);
	buf_init(&out, 16 << 20);
	for (int64_t i = 0; i < n; i++) {
		int32_t d = days_from_civil(2030, 1, 1) + (int32_t)i;
		char ts[TS_TEXT_MAX], date[DATE_TEXT_MAX], path[512];
		int status = 0;
		int64_t t0;

		ts_format_jst(day_jst_midnight(d) + 10 * 3600, ts);
		date_format(d, date);
		buf_reset(&body);
		if (buf_printf(&body,
			       "{\"ts\":\"%s\",\"staff_id\":\"%s\",\"resident_id\":\"%s\",\"system\":\"juki\","
			       "\"action\":\"view\",\"zone\":\"mynumber\",\"ref\":\"BENCH-LAT-%" PRId64 "\"}\n",
			       ts, argv[3], argv[4], i) < 0)
			goto out;
		if (http((uint16_t)port, "POST", "/v1/events", argv[2], body.data, &status, &out) < 0 ||
		    status != 200) {
			fprintf(stderr, "POST /v1/events: %d %s\n", status, out.data ? out.data : "");
			goto out;
		}
		t0 = now_us();
		snprintf(path, sizeof(path), "/v1/alerts?staff=%s&from=%s&to=%s&per_page=1", argv[3], date,
			 date);
		for (;;) {
			if (http((uint16_t)port, "GET", path, argv[2], NULL, &status, &out) < 0 || status != 200) {
				fprintf(stderr, "GET %s: %d\n", path, status);
				goto out;
			}
			if (!strstr(out.data, "\"total\":0}"))
				break;
			if (now_us() - t0 > 10 * 1000000) {
				fprintf(stderr, "no alert for %s within 10 s\n", date);
				goto out;
			}
			usleep(1000);
		}
		lat[i] = now_us() - t0;
		printf("%s %.1f ms\n", date, (double)lat[i] / 1000.0);
	}
	qsort(lat, (size_t)n, sizeof(*lat), cmp_i64);
	printf("alert latency over %" PRId64 " events: median %.1f ms, max %.1f ms\n", n,
	       (double)lat[n / 2] / 1000.0, (double)lat[n - 1] / 1000.0);
	rc = 0;
out:
	free(lat);
	buf_release(&body);
	buf_release(&out);
	return rc;
}
