/*
 * bench_append.c - durable ledger appends per second with T threads
 * (each append returns only after fdatasync; concurrent appends share
 * one lock and one sync per group). Loopback-free: files only.
 *
 *   bench_append DIR THREADS APPENDS_PER_THREAD
 *
 * DIR must be an empty folder; it becomes a ledger.
 */
#include "base/base.h"

#include <pthread.h>
#include <time.h>

#include "base/timeutil.h"
#include "ledger/ledger.h"

static struct ledger *lg;
static long per_thread;

static void *worker(void *arg)
{
	static const char body[] = "{\"staff_id\":\"S00001\",\"resident_id\":\"R0000001\","
				   "\"system\":\"juki\",\"action\":\"view\",\"zone\":\"mynumber\"}";
	(void)arg;
	for (long i = 0; i < per_thread; i++) {
		struct audit_rec r = {"access", TS_NONE, "bench", body, sizeof(body) - 1};
		if (ledger_append(lg, &r, NULL) < 0)
			BUG("append failed");
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int64_t threads, per;
	pthread_t th[256];
	struct timespec a, b;
	double secs;

	if (argc != 4 || parse_i64(argv[2], strlen(argv[2]), 1, 256, &threads) < 0 ||
	    parse_i64(argv[3], strlen(argv[3]), 1, 10000000, &per) < 0) {
		fprintf(stderr, "usage: bench_append DIR THREADS(1-256) APPENDS_PER_THREAD\n");
		return 2;
	}
	per_thread = (long)per;
	if (ledger_open(argv[1], LEDGER_WRITE, &lg) < 0) {
		fprintf(stderr, "bench_append: cannot open a ledger in %s\n", argv[1]);
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int64_t i = 0; i < threads; i++)
		pthread_create(&th[i], NULL, worker, NULL);
	for (int64_t i = 0; i < threads; i++)
		pthread_join(th[i], NULL);
	clock_gettime(CLOCK_MONOTONIC, &b);
	secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	printf("append threads=%lld appends=%lld seconds=%.3f appends_per_s=%.0f\n",
	       (long long)threads, (long long)(threads * per), secs, (double)(threads * per) / secs);
	ledger_close(lg);
	return 0;
}
