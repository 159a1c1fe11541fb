/*
 * bench_verify.c - full verification of a ledger (ledger_verify, what
 * `mamori verify` runs), entries/s and MB/s, and where its time goes.
 *
 *   bench_verify DIR N [--repeat R]
 *
 * If DIR holds no ledger, N access events (bench/events.h) are appended
 * first, 10,000 per durable group, and a checkpoint is signed with a key
 * made for the run, so that verification checks a signature too. Then
 * ledger_verify runs R times (default 3; the page cache is warm after the
 * first, the fastest is reported). Output lines:
 *
 *   build entries=N seconds=S                     (only when it built)
 *   verify entries=N bytes=B seconds=S entries_per_s=X MB_per_s=Y
 *   phases read_s=.. leaf_hash_s=.. tree_s=.. stored_hash_reads_s=..
 *          stored_hash_buffered_s=.. leaf_hash_MB_per_s=.. leaf_and_tree_MB_per_s=..
 *
 * bytes are the record lines verification hashes (plus their newlines).
 * The phases repeat verification's work through the public interface,
 * each timed apart, in chunks of 10,000 records: reading the records
 * (ledger_read), hashing them as leaves (merkle_leaf_hash: libcrypto's
 * SHA-256, libsodium's before), adding them to the tree (merkle_builder_append:
 * the interior hashes), and reading each stored subtree hash the leaf
 * completes (ledger_subtree_hash, one pread each). The last phase,
 * stored_hash_buffered_s, reads the same stored hashes again, each level
 * file (hash/Lhh) read in order through a 64 KiB stdio buffer instead of
 * one pread per hash: what verification would cost with buffered reads.
 * MB is 10^6 bytes.
 */
#include "base/base.h"

#include <sodium.h>
#include <time.h>

#include "base/buf.h"
#include "base/timeutil.h"
#include "events.h"
#include "ledger/ledger.h"
#include "ledger/merkle.h"
#include "ledger/verify.h"

#define GROUP 10000

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int build(const char *dir, uint64_t n, const uint8_t seed[32])
{
	struct ledger *l = NULL;
	struct audit_rec *recs = xcalloc(GROUP, sizeof(*recs));
	char(*bodies)[BENCH_EVENT_MAX] = xmalloc((size_t)GROUP * BENCH_EVENT_MAX);
	double t0 = now_s();
	uint64_t first, size = 0;
	int r;

	if ((r = ledger_open(dir, LEDGER_WRITE, &l)) < 0)
		goto out;
	for (uint64_t i = ledger_size(l); i < n; i += GROUP) {
		size_t k = n - i < GROUP ? (size_t)(n - i) : GROUP;

		for (size_t j = 0; j < k; j++) {
			struct audit_rec rec = {"access", TS_NONE, "bench", bodies[j], 0};

			rec.body_len = bench_event(i + j, bodies[j]);
			recs[j] = rec;
		}
		if ((r = ledger_append_many(l, recs, k, &first)) < 0)
			goto out;
	}
	if ((r = ledger_checkpoint(l, "mamori/bench", seed, NULL, &size)) < 0)
		goto out;
	printf("build entries=%llu seconds=%.3f\n", (unsigned long long)size, now_s() - t0);
out:
	ledger_close(l);
	free(bodies);
	free(recs);
	return r;
}

/* Verification's work through the public interface, phase by phase. */
static int phases(const char *dir, uint64_t n)
{
	struct ledger *l = NULL;
	struct merkle_builder *t = xmalloc(sizeof(*t));
	uint8_t(*leaves)[MERKLE_HASH_SIZE] = xmalloc((size_t)GROUP * MERKLE_HASH_SIZE);
	uint8_t stored[MERKLE_HASH_SIZE];
	struct buf *lines = xcalloc(GROUP, sizeof(*lines));
	unsigned *done = xcalloc(GROUP, sizeof(*done));
	uint8_t(*comp)[MERKLE_HEIGHT_MAX][MERKLE_HASH_SIZE] =
	    xmalloc((size_t)GROUP * sizeof(*comp));
	double t_read = 0, t_leaf = 0, t_tree = 0, t_stored = 0, t_buffered = 0, a;
	FILE *lvf[MERKLE_HEIGHT_MAX] = {0};
	uint64_t bytes = 0;
	int r;

	for (size_t k = 0; k < GROUP; k++)
		buf_init(&lines[k], LEDGER_BODY_MAX * 2);
	merkle_builder_init(t);
	if ((r = ledger_open(dir, LEDGER_READ_ONLY, &l)) < 0)
		goto out;
	for (uint64_t i = 0; i < n; i += GROUP) {
		size_t k = n - i < GROUP ? (size_t)(n - i) : GROUP;

		a = now_s();
		for (size_t j = 0; j < k; j++) {
			if ((r = ledger_read(l, i + j, &lines[j])) < 0)
				goto out;
			bytes += lines[j].len + 1;
		}
		t_read += now_s() - a;
		a = now_s();
		for (size_t j = 0; j < k; j++)
			merkle_leaf_hash(lines[j].data, lines[j].len, leaves[j]);
		t_leaf += now_s() - a;
		a = now_s();
		for (size_t j = 0; j < k; j++)
			if ((r = merkle_builder_append(t, leaves[j], comp[j], &done[j])) < 0)
				goto out;
		t_tree += now_s() - a;
		a = now_s();
		for (size_t j = 0; j < k; j++) {
			uint64_t size = i + j + 1;

			for (unsigned h = 0; h < done[j]; h++) {
				if ((r = ledger_subtree_hash(l, size - ((uint64_t)1 << h), h,
							     stored)) < 0)
					goto out;
				if (memcmp(stored, comp[j][h], MERKLE_HASH_SIZE) != 0) {
					fprintf(stderr,
						"bench_verify: stored hash differs at %llu/%u\n",
						(unsigned long long)size, h);
					r = ERR_CORRUPT;
					goto out;
				}
			}
		}
		t_stored += now_s() - a;
		a = now_s();
		for (size_t j = 0; j < k; j++) {
			for (unsigned h = 0; h < done[j]; h++) {
				if (lvf[h] == NULL) {
					char path[4096];

					snprintf(path, sizeof(path), "%s/hash/L%02u", dir, h);
					if ((lvf[h] = fopen(path, "rbe")) == NULL) {
						r = ERR_IO;
						goto out;
					}
					setvbuf(lvf[h], NULL, _IOFBF, 65536);
				}
				/* The hashes of each level are completed in order. */
				if (fread(stored, MERKLE_HASH_SIZE, 1, lvf[h]) != 1 ||
				    memcmp(stored, comp[j][h], MERKLE_HASH_SIZE) != 0) {
					r = ERR_CORRUPT;
					goto out;
				}
			}
		}
		t_buffered += now_s() - a;
	}
	printf("phases read_s=%.3f leaf_hash_s=%.3f tree_s=%.3f stored_hash_reads_s=%.3f "
	       "stored_hash_buffered_s=%.3f leaf_hash_MB_per_s=%.1f leaf_and_tree_MB_per_s=%.1f\n",
	       t_read, t_leaf, t_tree, t_stored, t_buffered, (double)bytes / t_leaf / 1e6,
	       (double)bytes / (t_leaf + t_tree) / 1e6);
out:
	ledger_close(l);
	for (unsigned h = 0; h < MERKLE_HEIGHT_MAX; h++)
		if (lvf[h] != NULL)
			fclose(lvf[h]);
	for (size_t k = 0; k < GROUP; k++)
		buf_release(&lines[k]);
	free(lines);
	free(done);
	free(comp);
	free(leaves);
	free(t);
	return r;
}

int main(int argc, char **argv)
{
	int64_t n, repeat = 3;
	uint8_t seed[32], pk[32], sk[64];
	struct ledger_verify_report rep;
	struct ledger *l = NULL;
	struct buf rec;
	uint64_t size, bytes = 0;
	double best = 0;
	int r;

	if (argc == 5 && !strcmp(argv[3], "--repeat") &&
	    parse_i64(argv[4], strlen(argv[4]), 1, 100, &repeat) < 0)
		argc = 0;
	if ((argc != 3 && argc != 5) || parse_i64(argv[2], strlen(argv[2]), 1, 100000000, &n) < 0) {
		fprintf(stderr, "usage: bench_verify DIR N [--repeat R]\n");
		return 2;
	}
	if (sodium_init() < 0)
		return 1;
	/* A fixed seed: the key of a benchmark protects nothing, and a rerun
	 * on the same directory must verify with the same key. */
	memset(seed, 0x5a, sizeof(seed));
	crypto_sign_seed_keypair(pk, sk, seed);
	if ((r = ledger_open(argv[1], LEDGER_READ_ONLY, &l)) == 0) {
		size = ledger_size(l);
		ledger_close(l);
	} else {
		size = 0;
	}
	if (size != (uint64_t)n && (r = build(argv[1], (uint64_t)n, seed)) < 0) {
		fprintf(stderr, "bench_verify: building the ledger in %s failed (%d)\n", argv[1],
			r);
		return 1;
	}
	if ((r = ledger_open(argv[1], LEDGER_READ_ONLY, &l)) < 0)
		return 1;
	size = ledger_size(l);
	buf_init(&rec, LEDGER_BODY_MAX * 2);
	for (uint64_t i = 0; i < size; i++) {
		if (ledger_read(l, i, &rec) < 0)
			BUG("ledger_read");
		bytes += rec.len + 1;
	}
	buf_release(&rec);
	ledger_close(l);
	for (int64_t k = 0; k < repeat; k++) {
		double a = now_s(), s;

		if ((r = ledger_verify(argv[1], pk, &rep)) < 0) {
			fprintf(stderr, "bench_verify: verification failed: %s\n", rep.msg);
			return 1;
		}
		s = now_s() - a;
		if (k == 0 || s < best)
			best = s;
	}
	if (rep.entries != size || rep.checkpoints < 1) {
		fprintf(stderr,
			"bench_verify: verified %llu entries and %llu checkpoints of %llu\n",
			(unsigned long long)rep.entries, (unsigned long long)rep.checkpoints,
			(unsigned long long)size);
		return 1;
	}
	printf("verify entries=%llu bytes=%llu hashes=%llu checkpoints=%llu seconds=%.3f "
	       "entries_per_s=%.0f MB_per_s=%.1f\n",
	       (unsigned long long)rep.entries, (unsigned long long)bytes,
	       (unsigned long long)rep.hashes, (unsigned long long)rep.checkpoints, best,
	       (double)size / best, (double)bytes / best / 1e6);
	fflush(stdout);
	return phases(argv[1], size) < 0 ? 1 : 0;
}
