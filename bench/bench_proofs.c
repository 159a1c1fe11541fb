/*
 * bench_proofs.c - latency of inclusion and consistency proofs over the
 * hash files of a very large tree (docs/internals/ledger.md: hash/Lhh
 * holds at byte 32k the hash of the perfect subtree k of height hh).
 *
 *   bench_proofs DIR N [--proofs P] [--cold C] [--warm 0|1] [--seed S]
 *   bench_proofs --ledger LEDGERDIR [--proofs P] [--seed S]
 *
 * First form: builds DIR/hash/L00 ... for a tree of N synthetic leaves
 * (leaf i is the entry {"synthetic":i}; real RFC 9162 SHA-256 leaf and
 * interior hashes through merkle_builder, written level by level as a
 * ledger writes them), unless DIR/hash/BUILT already says N. The roots of
 * 1,000 random tree sizes are kept from the builder as the build passes
 * them. Then, with a reader that does what ledger_subtree_hash does (one
 * 32-byte pread from hash/Lhh at 32 * (start >> hh), after the same
 * argument checks), it times P inclusion proofs of random leaves in the
 * tree of N, and P consistency proofs from a random kept size to N or to
 * a larger kept size, with merkle_inclusion_proof and
 * merkle_consistency_proof (the server's functions). Every proof is then
 * verified (outside the timing) against the builder's roots; the root
 * the hash files give for N and for each kept size must be the
 * builder's. With --warm 1 (the default) every hash file is read once
 * before the timed proofs, so that they find the hashes in the page cache
 * as a server that has been answering proofs would; --warm 0 measures
 * whatever the cache holds after the build. With --cold C, C more inclusion proofs each start with
 * the hash files dropped from the page cache (posix_fadvise DONTNEED, read ahead off): the case of
 * a proof whose hashes were never read before.
 *
 * Second form: the same timing on a real ledger, once through
 * ledger_subtree_hash on a read-only struct ledger and once through the
 * reader on LEDGERDIR/hash, with the two proofs compared byte for byte:
 * the check that the reader is equivalent.
 *
 * Output lines (latencies in microseconds):
 *   build leaves=N seconds=S leaves_per_s=X bytes=B     (when it built)
 *   roots ok=K
 *   inclusion size=N proofs=P median_us=.. p99_us=.. max_us=.. verified=P
 *   consistency size=N proofs=P median_us=.. p99_us=.. max_us=.. verified=P
 *   inclusion_cold ...                                  (with --cold)
 */
#include "base/base.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "events.h"
#include "ledger/ledger.h"
#include "ledger/merkle.h"

#define SAMPLES 1000
#define LEVEL_BUF ((size_t)1 << 20)

struct reader {
	int fd[MERKLE_HEIGHT_MAX];
};

struct sample {
	uint64_t size;
	uint8_t root[MERKLE_HASH_SIZE];
};

static double now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

/* What ledger_subtree_hash does, on the files of struct reader. */
static int reader_subtree(void *ctx, uint64_t start, unsigned height, uint8_t out[MERKLE_HASH_SIZE])
{
	struct reader *rd = ctx;
	uint64_t off;
	ssize_t got;

	if (height >= MERKLE_HEIGHT_MAX || (start & (((uint64_t)1 << height) - 1)) != 0)
		return ERR_INVALID;
	if (rd->fd[height] < 0)
		return ERR_CORRUPT;
	off = (start >> height) * MERKLE_HASH_SIZE;
	do
		got = pread(rd->fd[height], out, MERKLE_HASH_SIZE, (off_t)off);
	while (got < 0 && errno == EINTR);
	return got == MERKLE_HASH_SIZE ? 0 : ERR_CORRUPT;
}

static void reader_open(struct reader *rd, const char *dir)
{
	char path[4096];

	for (unsigned h = 0; h < MERKLE_HEIGHT_MAX; h++) {
		snprintf(path, sizeof(path), "%s/hash/L%02u", dir, h);
		rd->fd[h] = open(path, O_RDONLY | O_CLOEXEC);
	}
}

static void reader_close(struct reader *rd)
{
	for (unsigned h = 0; h < MERKLE_HEIGHT_MAX; h++)
		if (rd->fd[h] >= 0)
			close(rd->fd[h]);
}

static size_t leaf_entry(uint64_t i, char out[64])
{
	return (size_t)snprintf(out, 64, "{\"synthetic\":%llu}", (unsigned long long)i);
}

static int write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		ssize_t w = write(fd, c, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return ERR_IO;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int dbl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Whether DIR/hash/BUILT says a tree of n leaves was built (and its root). */
static bool built_already(const char *dir, uint64_t n, uint8_t root[MERKLE_HASH_SIZE])
{
	char path[4096], text[256];
	int fd;
	ssize_t got;
	int64_t v;
	const char *sp;
	bool ok = false;

	snprintf(path, sizeof(path), "%s/hash/BUILT", dir);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return false;
	got = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (got <= 0)
		return false;
	text[got] = '\0';
	sp = strchr(text, ' ');
	if (sp == NULL || parse_i64(text, (size_t)(sp - text), 1, INT64_MAX, &v) < 0 ||
	    (uint64_t)v != n || strlen(sp + 1) < 2 * MERKLE_HASH_SIZE)
		return false;
	ok = true;
	for (unsigned k = 0; k < MERKLE_HASH_SIZE; k++) {
		int hi = hex_digit(sp[1 + 2 * k]), lo = hex_digit(sp[2 + 2 * k]);

		if (hi < 0 || lo < 0)
			ok = false;
		else
			root[k] = (uint8_t)(hi << 4 | lo);
	}
	return ok;
}

/*
 * Build the hash files of n synthetic leaves into dir/hash; samples (sorted
 * by size) receive the builder's roots at their sizes.
 */
static int build(const char *dir, uint64_t n, struct sample *samples, size_t ns,
		 uint8_t root[MERKLE_HASH_SIZE])
{
	char path[4096], entry[64], text[256];
	uint8_t leaf[MERKLE_HASH_SIZE], completed[MERKLE_HEIGHT_MAX][MERKLE_HASH_SIZE];
	struct merkle_builder *b = xmalloc(sizeof(*b));
	char *lv[MERKLE_HEIGHT_MAX] = {0};
	size_t used[MERKLE_HEIGHT_MAX] = {0};
	int fd[MERKLE_HEIGHT_MAX];
	unsigned levels = 0, k;
	size_t next = 0;
	double t0 = now_us(), t1;
	uint64_t bytes = 0;
	int r = 0, f;

	while (levels < MERKLE_HEIGHT_MAX && (n >> levels) > 0)
		levels++;
	for (unsigned h = 0; h < MERKLE_HEIGHT_MAX; h++)
		fd[h] = -1;
	snprintf(path, sizeof(path), "%s/hash", dir);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return ERR_IO;
	if (mkdir(path, 0700) != 0 && errno != EEXIST)
		return ERR_IO;
	snprintf(path, sizeof(path), "%s/hash/BUILT", dir);
	unlink(path);
	for (unsigned h = 0; h < levels; h++) {
		snprintf(path, sizeof(path), "%s/hash/L%02u", dir, h);
		fd[h] = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd[h] < 0) {
			r = ERR_IO;
			goto out;
		}
		lv[h] = xmalloc(LEVEL_BUF);
	}
	merkle_builder_init(b);
	for (uint64_t i = 0; i < n; i++) {
		merkle_leaf_hash(entry, leaf_entry(i, entry), leaf);
		if ((r = merkle_builder_append(b, leaf, completed, &k)) < 0)
			goto out;
		for (unsigned h = 0; h < k; h++) {
			if (used[h] == LEVEL_BUF) {
				if ((r = write_all(fd[h], lv[h], used[h])) < 0)
					goto out;
				bytes += used[h];
				used[h] = 0;
			}
			memcpy(lv[h] + used[h], completed[h], MERKLE_HASH_SIZE);
			used[h] += MERKLE_HASH_SIZE;
		}
		while (next < ns && samples[next].size == i + 1)
			merkle_builder_root(b, samples[next++].root);
		if ((i + 1) % 10000000 == 0)
			fprintf(stderr, "bench_proofs: %llu leaves, %.0f s\n",
				(unsigned long long)(i + 1), (now_us() - t0) / 1e6);
	}
	for (unsigned h = 0; h < levels; h++) {
		if ((r = write_all(fd[h], lv[h], used[h])) < 0)
			goto out;
		bytes += used[h];
		/* On disk before any cold-cache measurement: dirty pages could
		 * not be dropped from the cache. */
		if (fdatasync(fd[h]) != 0) {
			r = ERR_IO;
			goto out;
		}
	}
	t1 = now_us();
	merkle_builder_root(b, root);
	printf("build leaves=%llu seconds=%.1f leaves_per_s=%.0f bytes=%llu\n",
	       (unsigned long long)n, (t1 - t0) / 1e6, (double)n / ((t1 - t0) / 1e6),
	       (unsigned long long)bytes);
	f = snprintf(text, sizeof(text), "%llu ", (unsigned long long)n);
	for (unsigned j = 0; j < MERKLE_HASH_SIZE; j++)
		f += snprintf(text + f, sizeof(text) - (size_t)f, "%02x", root[j]);
	text[f++] = '\n';
	snprintf(path, sizeof(path), "%s/hash/BUILT", dir);
	{
		int bf = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

		if (bf < 0 || write_all(bf, text, (size_t)f) < 0)
			r = ERR_IO;
		if (bf >= 0)
			close(bf);
	}
out:
	for (unsigned h = 0; h < MERKLE_HEIGHT_MAX; h++) {
		if (fd[h] >= 0)
			close(fd[h]);
		free(lv[h]);
	}
	free(b);
	return r;
}

static void report(const char *what, uint64_t size, double *lat, size_t n, size_t verified)
{
	qsort(lat, n, sizeof(*lat), dbl_cmp);
	printf("%s size=%llu proofs=%zu median_us=%.1f p99_us=%.1f max_us=%.1f verified=%zu\n",
	       what, (unsigned long long)size, n, lat[n / 2], lat[(n * 99) / 100], lat[n - 1],
	       verified);
}

static void drop_cache(struct reader *rd)
{
	for (unsigned h = 0; h < MERKLE_HEIGHT_MAX; h++)
		if (rd->fd[h] >= 0)
			(void)posix_fadvise(rd->fd[h], 0, 0, POSIX_FADV_DONTNEED);
}

/* Read every hash file once, into the page cache. */
static void warm_up(struct reader *rd)
{
	char *b = xmalloc(LEVEL_BUF);
	uint64_t bytes = 0;
	double a = now_us();

	for (unsigned h = 0; h < MERKLE_HEIGHT_MAX; h++) {
		ssize_t got;

		if (rd->fd[h] < 0)
			continue;
		for (off_t off = 0; (got = pread(rd->fd[h], b, LEVEL_BUF, off)) > 0; off += got)
			bytes += (uint64_t)got;
	}
	printf("warm bytes=%llu seconds=%.1f\n", (unsigned long long)bytes, (now_us() - a) / 1e6);
	free(b);
}

static int synthetic(const char *dir, uint64_t n, size_t proofs, size_t cold, bool warm,
		     uint64_t seed)
{
	struct sample *s = xcalloc(SAMPLES, sizeof(*s));
	uint64_t *sizes = xcalloc(SAMPLES, sizeof(*sizes));
	uint8_t(*proof)[MERKLE_HASH_SIZE] = xmalloc(MERKLE_PROOF_MAX * MERKLE_HASH_SIZE);
	uint8_t root[MERKLE_HASH_SIZE], got[MERKLE_HASH_SIZE], leaf[MERKLE_HASH_SIZE];
	double *lat = xcalloc(proofs > cold ? proofs : cold, sizeof(*lat));
	struct reader rd;
	char entry[64];
	size_t np, ok = 0;
	uint64_t x = seed;
	bool fresh = false;
	int r = 0;

	/* The kept sizes: random in [1, n], sorted, n itself last. */
	for (size_t k = 0; k + 1 < SAMPLES; k++)
		sizes[k] = 1 + (x = bench_mix(x)) % n;
	sizes[SAMPLES - 1] = n;
	qsort(sizes, SAMPLES, sizeof(*sizes), u64_cmp);
	for (size_t k = 0; k < SAMPLES; k++)
		s[k].size = sizes[k];
	if (!built_already(dir, n, root)) {
		fresh = true;
		if ((r = build(dir, n, s, SAMPLES, root)) < 0) {
			fprintf(stderr, "bench_proofs: building the hash files in %s failed\n",
				dir);
			goto out;
		}
	} else {
		/* Files of an earlier run: the kept sizes' roots are taken
		 * from the files; only the root of n is the builder's (as
		 * recorded in BUILT). */
		printf("build reused=%s/hash\n", dir);
	}
	reader_open(&rd, dir);
	if ((r = merkle_root(reader_subtree, &rd, n, got)) < 0 ||
	    memcmp(got, root, MERKLE_HASH_SIZE) != 0) {
		fprintf(stderr,
			"bench_proofs: the root of the hash files differs from the builder's\n");
		r = r < 0 ? r : ERR_CORRUPT;
		goto close;
	}
	for (size_t k = 0; k < SAMPLES; k++) {
		if ((r = merkle_root(reader_subtree, &rd, s[k].size, got)) < 0)
			goto close;
		if (!fresh)
			memcpy(s[k].root, got, MERKLE_HASH_SIZE);
		else if (memcmp(got, s[k].root, MERKLE_HASH_SIZE) != 0) {
			fprintf(stderr, "bench_proofs: root of size %llu differs\n",
				(unsigned long long)s[k].size);
			r = ERR_CORRUPT;
			goto close;
		}
		ok++;
	}
	printf("roots ok=%zu%s\n", ok, fresh ? "" : " (from the files: reused)");
	if (warm)
		warm_up(&rd);

	/* Inclusion proofs of random leaves in the tree of n. */
	ok = 0;
	for (size_t k = 0; k < proofs; k++) {
		uint64_t idx = (x = bench_mix(x)) % n;
		double a = now_us();

		r = merkle_inclusion_proof(reader_subtree, &rd, idx, n, proof, &np);
		lat[k] = now_us() - a;
		if (r < 0)
			goto close;
		merkle_leaf_hash(entry, leaf_entry(idx, entry), leaf);
		if (merkle_verify_inclusion(leaf, idx, n, (const uint8_t(*)[MERKLE_HASH_SIZE])proof,
					    np, root) == 0)
			ok++;
	}
	report("inclusion", n, lat, proofs, ok);

	/* Consistency proofs from a kept size to n or to a larger kept size. */
	ok = 0;
	for (size_t k = 0; k < proofs; k++) {
		size_t a_i = (size_t)((x = bench_mix(x)) % (SAMPLES - 1)), b_i = SAMPLES - 1;
		double a;

		if (k % 2 == 1)
			b_i = a_i + 1 + (size_t)((x = bench_mix(x)) % (SAMPLES - 1 - a_i));
		a = now_us();
		r = merkle_consistency_proof(reader_subtree, &rd, s[a_i].size, s[b_i].size, proof,
					     &np);
		lat[k] = now_us() - a;
		if (r < 0)
			goto close;
		if (merkle_verify_consistency(s[a_i].size, s[b_i].size, s[a_i].root, s[b_i].root,
					      (const uint8_t(*)[MERKLE_HASH_SIZE])proof, np) == 0)
			ok++;
	}
	report("consistency", n, lat, proofs, ok);

	if (cold > 0) {
		ok = 0;
		for (unsigned h = 0; h < MERKLE_HEIGHT_MAX; h++)
			if (rd.fd[h] >= 0)
				(void)posix_fadvise(rd.fd[h], 0, 0, POSIX_FADV_RANDOM);
		for (size_t k = 0; k < cold; k++) {
			uint64_t idx = (x = bench_mix(x)) % n;
			double a;

			drop_cache(&rd);
			a = now_us();
			r = merkle_inclusion_proof(reader_subtree, &rd, idx, n, proof, &np);
			lat[k] = now_us() - a;
			if (r < 0)
				goto close;
			merkle_leaf_hash(entry, leaf_entry(idx, entry), leaf);
			if (merkle_verify_inclusion(leaf, idx, n,
						    (const uint8_t(*)[MERKLE_HASH_SIZE])proof, np,
						    root) == 0)
				ok++;
		}
		report("inclusion_cold", n, lat, cold, ok);
	}
	r = 0;
close:
	reader_close(&rd);
out:
	free(lat);
	free(proof);
	free(sizes);
	free(s);
	return r;
}

/* Proofs on a real ledger: ledger_subtree_hash against the reader. */
static int real(const char *dir, size_t proofs, uint64_t seed)
{
	uint8_t(*p1)[MERKLE_HASH_SIZE] = xmalloc(MERKLE_PROOF_MAX * MERKLE_HASH_SIZE);
	uint8_t(*p2)[MERKLE_HASH_SIZE] = xmalloc(MERKLE_PROOF_MAX * MERKLE_HASH_SIZE);
	double *l1 = xcalloc(proofs, sizeof(*l1)), *l2 = xcalloc(proofs, sizeof(*l2));
	uint8_t root[MERKLE_HASH_SIZE], leaf[MERKLE_HASH_SIZE];
	struct ledger *l = NULL;
	struct reader rd;
	struct buf rec;
	size_t n1, n2, same = 0, ok = 0;
	uint64_t n, x = seed;
	int r;

	buf_init(&rec, LEDGER_BODY_MAX * 2);
	reader_open(&rd, dir);
	if ((r = ledger_open(dir, LEDGER_READ_ONLY, &l)) < 0)
		goto out;
	n = ledger_size(l);
	if (n == 0 || (r = ledger_root(l, n, root)) < 0) {
		r = r < 0 ? r : ERR_NOT_FOUND;
		goto out;
	}
	for (size_t k = 0; k < proofs; k++) {
		uint64_t idx = (x = bench_mix(x)) % n;
		double a;
		int r1, r2;

		/* Whichever goes second finds the same hashes just read: take
		 * turns at going first. */
		if (k % 2 == 0) {
			a = now_us();
			r1 = merkle_inclusion_proof(ledger_subtree_hash, l, idx, n, p1, &n1);
			l1[k] = now_us() - a;
			a = now_us();
			r2 = merkle_inclusion_proof(reader_subtree, &rd, idx, n, p2, &n2);
			l2[k] = now_us() - a;
		} else {
			a = now_us();
			r2 = merkle_inclusion_proof(reader_subtree, &rd, idx, n, p2, &n2);
			l2[k] = now_us() - a;
			a = now_us();
			r1 = merkle_inclusion_proof(ledger_subtree_hash, l, idx, n, p1, &n1);
			l1[k] = now_us() - a;
		}
		if (r1 < 0) {
			r = r1;
			goto out;
		}
		if (r2 == 0 && n1 == n2 && !memcmp(p1, p2, n1 * MERKLE_HASH_SIZE))
			same++;
		if ((r = ledger_read(l, idx, &rec)) < 0)
			goto out;
		merkle_leaf_hash(rec.data, rec.len, leaf);
		if (merkle_verify_inclusion(leaf, idx, n, (const uint8_t(*)[MERKLE_HASH_SIZE])p1,
					    n1, root) == 0)
			ok++;
	}
	report("ledger_inclusion", n, l1, proofs, ok);
	report("reader_inclusion", n, l2, proofs, same);
	printf("reader_equivalent same=%zu of %zu\n", same, proofs);
	r = same == proofs && ok == proofs ? 0 : ERR_CORRUPT;
out:
	ledger_close(l);
	reader_close(&rd);
	buf_release(&rec);
	free(l1);
	free(l2);
	free(p1);
	free(p2);
	return r;
}

int main(int argc, char **argv)
{
	int64_t n = 0, proofs = 10000, cold = 0, seed = 1, warm = 1;
	const char *ledger = NULL;
	int i = 1, r;

	if (argc >= 3 && !strcmp(argv[1], "--ledger")) {
		ledger = argv[2];
		i = 3;
	} else if (argc >= 3 &&
		   parse_i64(argv[2], strlen(argv[2]), 1, (int64_t)MERKLE_SIZE_MAX, &n) == 0) {
		i = 3;
	} else {
		i = argc + 1;
	}
	for (; i < argc; i += 2) {
		int64_t *v = !strcmp(argv[i], "--proofs") ? &proofs
			     : !strcmp(argv[i], "--cold") ? &cold
			     : !strcmp(argv[i], "--seed") ? &seed
			     : !strcmp(argv[i], "--warm") ? &warm
							  : NULL;

		if (v == NULL || i + 1 >= argc ||
		    parse_i64(argv[i + 1], strlen(argv[i + 1]), v == &cold || v == &warm ? 0 : 1,
			      v == &warm ? 1 : 100000000, v) < 0)
			break;
	}
	if (i != argc) {
		fprintf(stderr, "usage: bench_proofs DIR N [--proofs P] [--cold C] [--warm 0|1] "
				"[--seed S]\n"
				"       bench_proofs --ledger LEDGERDIR [--proofs P] [--seed S]\n");
		return 2;
	}
	printf("seed=%lld\n", (long long)seed);
	if (ledger)
		r = real(ledger, (size_t)proofs, (uint64_t)seed);
	else
		r = synthetic(argv[1], (uint64_t)n, (size_t)proofs, (size_t)cold, warm != 0,
			      (uint64_t)seed);
	if (r < 0)
		fprintf(stderr, "bench_proofs: failed (%d)\n", r);
	return r < 0 ? 1 : 0;
}
