/*
 * bench_append.c - durable ledger appends per second with T threads
 * (each append returns only after fdatasync; concurrent appends share
 * one lock and one sync per group). Loopback-free: files only.
 *
 *   bench_append DIR THREADS APPENDS_PER_THREAD [--batch B]
 *
 * DIR must be an empty folder; it becomes a ledger. Each append is one
 * access event of bench/events.h (about 262-byte bodies). With --batch B
 * each thread appends B events at a time with ledger_append_many (one
 * durable group, as `mamori ingest` does); the default, 1, is one
 * ledger_append per event, as the server does for each decision.
 *
 * Output, one line:
 *   append threads=T batch=B appends=N seconds=S appends_per_s=X
 *          body_MB_per_s=Y record_MB_per_s=Z avg_body=A avg_record=R cpu_s=C
 * body_MB_per_s counts the events' bytes; record_MB_per_s the canonical
 * record lines the ledger stored and hashed (read back after the run
 * with ledger_read), which is what the hashing limit applies to.
 * MB is 10^6 bytes. cpu_s is the CPU time (user and system, every thread
 * of the process, the ledger's own among them) of the timed part. A second line prices, per record and outside the
 * timed part, two things every append does before it writes: the check
 * that the body is one JSON object (a jansson parse, which the ledger did
 * for every body before its one-pass check, src/ledger/bodycheck.c)
 * and the leaf hash of the record line (merkle_leaf_hash: libcrypto's SHA-256):
 *   cost_us threads=T batch=B json_parse=.. body_check=.. leaf_hash=.. append=..
 * (body_check: the ledger's one-pass check, src/ledger/bodycheck.c, of
 * every event in one loop)
 * (append: the wall time of one append as one thread sees it; --no-cost
 * leaves the second line out, so that a profile sees only the appends).
 * The events are made before the timed part (as in the SQLite peer), so
 * that the time is the store's, not the making of the test data's.
 */
#include "base/base.h"

#include <jansson.h>
#include <pthread.h>
#include <sys/resource.h>
#include <stdatomic.h>
#include <time.h>

#include "base/buf.h"
#include "base/timeutil.h"
#include "events.h"
#include "ledger/ledger.h"
#include "ledger/ledger_int.h"
#include "ledger/merkle.h"

#define BATCH_MAX 10000

static struct ledger *lg;
static long per_thread;
static long batch = 1;
static atomic_ullong body_bytes;
static atomic_int failed;
/* Every event of the run, made before the timed part: event i is
 * events[i], of events_len[i] bytes. */
static char (*events)[BENCH_EVENT_MAX];
static bool no_cost; /* --no-cost: skip the per-record costs (for profiling) */
static size_t *events_len;

static double tv_secs(struct timeval tv)
{
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static void *worker(void *arg)
{
	uint64_t base = (uint64_t)(uintptr_t)arg * (uint64_t)per_thread;
	struct audit_rec *recs = xcalloc((size_t)batch, sizeof(*recs));
	unsigned long long bytes = 0;

	for (long i = 0; i < per_thread; i += batch) {
		long n = per_thread - i < batch ? per_thread - i : batch;
		uint64_t first;

		for (long k = 0; k < n; k++) {
			uint64_t e = base + (uint64_t)(i + k);
			size_t len = events_len[e];
			struct audit_rec r = {"access", TS_NONE, "bench", events[e], len};

			recs[k] = r;
			bytes += len;
		}
		if ((n == 1 ? ledger_append(lg, recs, &first)
			    : ledger_append_many(lg, recs, (size_t)n, &first)) < 0) {
			atomic_store(&failed, 1);
			break;
		}
	}
	atomic_fetch_add(&body_bytes, bytes);
	free(recs);
	return NULL;
}

int main(int argc, char **argv)
{
	int64_t threads, per, b = 1;
	pthread_t th[256];
	struct timespec t0, t1, c0, c1, c2;
	double t_json = 0, t_hash = 0, t_check = 0;
	struct buf rec;
	uint64_t n, rec_bytes = 0;
	double secs, cpu;
	struct rusage ru0, ru1;
	int rc = 1;

	if (argc > 1 && !strcmp(argv[argc - 1], "--no-cost")) {
		no_cost = true;
		argc--;
	}
	if (argc == 6 && !strcmp(argv[4], "--batch") &&
	    parse_i64(argv[5], strlen(argv[5]), 1, BATCH_MAX, &b) < 0)
		argc = 0;
	if ((argc != 4 && argc != 6) || parse_i64(argv[2], strlen(argv[2]), 1, 256, &threads) < 0 ||
	    parse_i64(argv[3], strlen(argv[3]), 1, 10000000, &per) < 0) {
		fprintf(stderr, "usage: bench_append DIR THREADS(1-256) APPENDS_PER_THREAD "
				"[--batch B(1-10000)] [--no-cost]\n");
		return 2;
	}
	per_thread = (long)per;
	batch = (long)b;
	if (ledger_open(argv[1], LEDGER_WRITE, &lg) < 0) {
		fprintf(stderr, "bench_append: cannot open a ledger in %s\n", argv[1]);
		return 1;
	}
	if (ledger_size(lg) != 0) {
		fprintf(stderr, "bench_append: %s already holds records; give an empty folder\n",
			argv[1]);
		goto out;
	}
	events = xmalloc((size_t)(threads * per) * BENCH_EVENT_MAX);
	events_len = xmalloc((size_t)(threads * per) * sizeof(*events_len));
	for (int64_t i = 0; i < threads * per; i++)
		events_len[i] = bench_event((uint64_t)i, events[i]);
	getrusage(RUSAGE_SELF, &ru0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int64_t i = 0; i < threads; i++)
		if (pthread_create(&th[i], NULL, worker, (void *)(uintptr_t)i) != 0)
			BUG("pthread_create");
	for (int64_t i = 0; i < threads; i++)
		pthread_join(th[i], NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	getrusage(RUSAGE_SELF, &ru1);
	cpu = tv_secs(ru1.ru_utime) - tv_secs(ru0.ru_utime) + tv_secs(ru1.ru_stime) -
	      tv_secs(ru0.ru_stime);
	if (atomic_load(&failed)) {
		fprintf(stderr, "bench_append: an append failed\n");
		goto out;
	}
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	/* The stored records, read back outside the timed part: their
	 * lines (plus the newline) are what the ledger wrote and hashed. */
	n = ledger_size(lg);
	if (n != (uint64_t)(threads * per)) {
		fprintf(stderr, "bench_append: %llu records, expected %lld\n",
			(unsigned long long)n, (long long)(threads * per));
		goto out;
	}
	buf_init(&rec, LEDGER_BODY_MAX * 2);
	for (uint64_t i = 0; i < n && !no_cost; i++) {
		uint8_t leaf[MERKLE_HASH_SIZE];
		char body[BENCH_EVENT_MAX];
		size_t len = bench_event(i, body);
		json_t *j;

		if (ledger_read(lg, i, &rec) < 0)
			BUG("ledger_read");
		rec_bytes += rec.len + 1;
		clock_gettime(CLOCK_MONOTONIC, &c0);
		j = json_loadb(body, len, 0, NULL);
		clock_gettime(CLOCK_MONOTONIC, &c1);
		merkle_leaf_hash(rec.data, rec.len, leaf);
		clock_gettime(CLOCK_MONOTONIC, &c2);
		if (j == NULL)
			BUG("bench_event made bad JSON");
		json_decref(j);
		t_json += (double)(c1.tv_sec - c0.tv_sec) + (double)(c1.tv_nsec - c0.tv_nsec) / 1e9;
		t_hash += (double)(c2.tv_sec - c1.tv_sec) + (double)(c2.tv_nsec - c1.tv_nsec) / 1e9;
	}
	buf_release(&rec);
	/* The one-pass check of every body (ledger_body_surely_valid), in
	 * one timed loop over the events as made. */
	if (!no_cost) {
		size_t ok = 0;

		clock_gettime(CLOCK_MONOTONIC, &c0);
		for (uint64_t i = 0; i < n; i++)
			ok += ledger_body_surely_valid(events[i], events_len[i]);
		clock_gettime(CLOCK_MONOTONIC, &c1);
		if (ok != n)
			BUG("the body check refused an event");
		t_check = (double)(c1.tv_sec - c0.tv_sec) + (double)(c1.tv_nsec - c0.tv_nsec) / 1e9;
	}
	printf("append threads=%lld batch=%lld appends=%llu seconds=%.3f appends_per_s=%.0f "
	       "body_MB_per_s=%.2f record_MB_per_s=%.2f avg_body=%.1f avg_record=%.1f cpu_s=%.3f\n",
	       (long long)threads, (long long)batch, (unsigned long long)n, secs, (double)n / secs,
	       (double)atomic_load(&body_bytes) / secs / 1e6, (double)rec_bytes / secs / 1e6,
	       (double)atomic_load(&body_bytes) / (double)n, (double)rec_bytes / (double)n, cpu);
	printf("cost_us threads=%lld batch=%lld json_parse=%.2f body_check=%.3f leaf_hash=%.2f "
	       "append=%.2f\n",
	       (long long)threads, (long long)batch, t_json * 1e6 / (double)n,
	       t_check * 1e6 / (double)n,
	       t_hash * 1e6 / (double)n, secs * 1e6 / (double)n * (double)threads);
	rc = 0;
out:
	free(events);
	free(events_len);
	ledger_close(lg);
	return rc;
}
