/*
 * bench_checkpoint.c - how long appends wait while checkpoints are made:
 * T threads append single records (each `ledger_append` returns after its
 * fdatasync) while another thread signs a checkpoint every C records, as
 * `mamori serve` does with checkpoint_entries (docs/internals/ledger.md,
 * "Checkpoints"). Files only, no network.
 *
 *   bench_checkpoint DIR [THREADS [PER_THREAD [EVERY [PRELOAD]]]]
 *
 * DIR must be an empty folder; it becomes a ledger, first given PRELOAD
 * records in groups of 1,000 (default 50,000) so that its hash files
 * have levels to sync. Defaults: 4 threads, 3,000 appends each, a
 * checkpoint every 1,000 records.
 *
 * Output, one line:
 *   checkpoint appends=N p50_ms=.. p99_ms=.. p999_ms=.. max_ms=..
 *              checkpoints=K mean_checkpoint_ms=..
 */
#include "base/base.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "base/timeutil.h"
#include "ledger/ledger.h"

#define THREADS_MAX 64
#define PER_MAX 100000
#define CPS_MAX 10000

static struct ledger *lg;
static atomic_int stop;
static uint8_t seed[32];
static long per_thread = 3000;
static uint64_t every = 1000;
static double *lat; /* thread t's append i at lat[t * per_thread + i] */
static double cp_ms[CPS_MAX];
static int ncp;
static atomic_int failed;

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void *appender(void *arg)
{
	long t = (long)(intptr_t)arg;
	char body[320];

	for (long i = 0; i < per_thread; i++) {
		int n = snprintf(body, sizeof(body),
				 "{\"staff_id\":\"S%05ld\",\"resident_id\":\"R%07ld\",\"pad\":\"%0200ld\"}",
				 t, i, i);
		struct audit_rec r = { "access", TS_NONE, "bench", body, (size_t)n };
		double t0 = now();

		if (ledger_append(lg, &r, NULL) != 0) {
			atomic_store(&failed, 1);
			break;
		}
		lat[t * per_thread + i] = now() - t0;
	}
	return NULL;
}

/* Looks every millisecond, like the server's thread looks every second. */
static void *checkpointer(void *arg)
{
	uint64_t last = ledger_size(lg);

	(void)arg;
	while (!atomic_load(&stop) && ncp < CPS_MAX) {
		uint64_t n = ledger_size(lg);
		struct timespec ms = { 0, 1000000 };

		if (n - last >= every) {
			double t0 = now();

			if (ledger_checkpoint(lg, "bench/checkpoint", seed, NULL, NULL) != 0) {
				atomic_store(&failed, 1);
				break;
			}
			cp_ms[ncp++] = (now() - t0) * 1e3;
			last = n;
		}
		nanosleep(&ms, NULL);
	}
	return NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int preload(int64_t n)
{
	static char bodies[1000][64];
	struct audit_rec recs[1000];

	for (int64_t done = 0; done < n;) {
		int k = 0;

		for (; k < 1000 && done < n; k++, done++) {
			int len = snprintf(bodies[k], sizeof(bodies[k]), "{\"preload\":%lld}",
					   (long long)done);

			recs[k] = (struct audit_rec){ "access", TS_NONE, "bench", bodies[k], (size_t)len };
		}
		if (ledger_append_many(lg, recs, (size_t)k, NULL) != 0)
			return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	int64_t threads = 4, per = 3000, ev = 1000, pre = 50000;
	pthread_t th[THREADS_MAX], cp;
	double sum = 0;
	size_t m;
	int rc = 1;

	if (argc < 2 || argc > 6 ||
	    (argc > 2 && parse_i64(argv[2], strlen(argv[2]), 1, THREADS_MAX, &threads) < 0) ||
	    (argc > 3 && parse_i64(argv[3], strlen(argv[3]), 1, PER_MAX, &per) < 0) ||
	    (argc > 4 && parse_i64(argv[4], strlen(argv[4]), 1, 1000000, &ev) < 0) ||
	    (argc > 5 && parse_i64(argv[5], strlen(argv[5]), 0, 10000000, &pre) < 0)) {
		fprintf(stderr, "usage: bench_checkpoint DIR [THREADS(1-64) [PER_THREAD(1-100000) "
				"[EVERY(1-1000000) [PRELOAD(0-10000000)]]]]\n");
		return 2;
	}
	per_thread = (long)per;
	every = (uint64_t)ev;
	for (int i = 0; i < 32; i++)
		seed[i] = (uint8_t)(i * 7 + 1);
	if (ledger_open(argv[1], LEDGER_WRITE, &lg) < 0) {
		fprintf(stderr, "bench_checkpoint: cannot open a ledger in %s\n", argv[1]);
		return 1;
	}
	if (ledger_size(lg) != 0) {
		fprintf(stderr, "bench_checkpoint: %s already holds records; give an empty folder\n",
			argv[1]);
		goto out;
	}
	if (preload(pre) < 0) {
		fprintf(stderr, "bench_checkpoint: preload failed\n");
		goto out;
	}
	m = (size_t)(threads * per);
	lat = xcalloc(m, sizeof(*lat));
	if (pthread_create(&cp, NULL, checkpointer, NULL) != 0)
		BUG("pthread_create");
	for (int64_t t = 0; t < threads; t++)
		if (pthread_create(&th[t], NULL, appender, (void *)(intptr_t)t) != 0)
			BUG("pthread_create");
	for (int64_t t = 0; t < threads; t++)
		pthread_join(th[t], NULL);
	atomic_store(&stop, 1);
	pthread_join(cp, NULL);
	if (atomic_load(&failed)) {
		fprintf(stderr, "bench_checkpoint: an append or a checkpoint failed\n");
		goto out;
	}
	qsort(lat, m, sizeof(*lat), cmp_double);
	for (int i = 0; i < ncp; i++)
		sum += cp_ms[i];
	printf("checkpoint appends=%zu p50_ms=%.2f p99_ms=%.2f p999_ms=%.2f max_ms=%.2f "
	       "checkpoints=%d mean_checkpoint_ms=%.1f\n",
	       m, lat[m / 2] * 1e3, lat[m * 99 / 100] * 1e3, lat[m * 999 / 1000] * 1e3,
	       lat[m - 1] * 1e3, ncp, ncp ? sum / ncp : 0.0);
	rc = 0;
out:
	free(lat);
	ledger_close(lg);
	return rc;
}
