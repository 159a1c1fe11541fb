/*
 * bench_sha.c - the cost of one SHA-256 call as the ledger makes it
 * (merkle_sha256: libcrypto's SHA256_* where they exist) against the same
 * hash through EVP (EVP_DigestInit_ex2 / Update / Final_ex on a reused
 * context), for an interior node (65 bytes) and an access record (357
 * bytes): docs/internals/ledger.md, "Hashing".
 *
 *   bench_sha [CALLS]      (default 2,000,000 per size and way; fastest of 3)
 *
 * Prints one line per size:
 *   sha bytes=B calls=N merkle_ns=.. evp_ns=..
 * Both results are compared on every call; a difference exits 1.
 */
#include "base/base.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <time.h>

#include "ledger/merkle.h"

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	static const size_t sizes[] = { 65, 357 };
	int64_t calls = 2000000;
	EVP_MD *md = EVP_MD_fetch(NULL, "SHA256", NULL);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t in[512];

	if ((argc == 2 && parse_i64(argv[1], strlen(argv[1]), 1, 100000000, &calls) < 0) ||
	    argc > 2) {
		fprintf(stderr, "usage: bench_sha [CALLS(1-100000000)]\n");
		return 2;
	}
	if (md == NULL || ctx == NULL) {
		fprintf(stderr, "bench_sha: libcrypto has no SHA-256\n");
		return 1;
	}
	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 31 + 7);
	for (size_t s = 0; s < ARRAY_SIZE(sizes); s++) {
		double best_m = 1e30, best_e = 1e30;

		for (int rep = 0; rep < 3; rep++) {
			double t0, t1, t2;
			uint8_t a[32], b[32];

			t0 = now();
			for (int64_t i = 0; i < calls; i++) {
				in[0] = (uint8_t)i;
				merkle_sha256(in, sizes[s], NULL, 0, a);
			}
			t1 = now();
			for (int64_t i = 0; i < calls; i++) {
				in[0] = (uint8_t)i;
				if (EVP_DigestInit_ex2(ctx, md, NULL) != 1 ||
				    EVP_DigestUpdate(ctx, in, sizes[s]) != 1 ||
				    EVP_DigestFinal_ex(ctx, b, NULL) != 1)
					return 1;
			}
			t2 = now();
			/* The last input of both loops was the same: so are the hashes. */
			if (memcmp(a, b, 32) != 0) {
				fprintf(stderr, "bench_sha: merkle_sha256 and EVP differ\n");
				return 1;
			}
			if (t1 - t0 < best_m)
				best_m = t1 - t0;
			if (t2 - t1 < best_e)
				best_e = t2 - t1;
		}
		printf("sha bytes=%zu calls=%lld merkle_ns=%.1f evp_ns=%.1f\n", sizes[s],
		       (long long)calls, best_m * 1e9 / (double)calls, best_e * 1e9 / (double)calls);
	}
	EVP_MD_CTX_free(ctx);
	EVP_MD_free(md);
	return 0;
}
