/*
 * merkle.c - RFC 9162 Merkle tree hashing, proofs and verification.
 *
 * The verifiers are the algorithms of RFC 9162 2.1.3.2 and 2.1.4.2 written
 * out step by step, with the RFC's variable names, because a verifier that
 * skips or reorders a step is a vulnerability. The generators walk the
 * recursive definitions of 2.1.3.1 and 2.1.4.1 iteratively and ask a
 * callback for the hash of each subtree they need.
 */
#include "base/base.h"

/* SHA256_Init and its kin are deprecated in OpenSSL 3 (below: why they
 * are still used where they exist). */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/evp.h>
#include <openssl/opensslv.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <sodium.h>

#include "ledger/merkle.h"

#define HS MERKLE_HASH_SIZE

/*
 * SHA-256 comes from OpenSSL's libcrypto, whose SHA-256 uses the CPU's SHA
 * extensions (x86 SHA-NI, ARMv8 SHA2) where there are any; libsodium's is
 * portable C, four times slower on this kind of machine, and hashing is
 * most of what appends and verification compute (docs/internals/ledger.md,
 * "Hashing"). The digest is fetched once; each thread keeps one
 * EVP_MD_CTX (freed when the thread exits), so a hash allocates nothing.
 * Should libcrypto fail (no memory for a context), libsodium computes the
 * same function: the result never depends on which library ran.
 */
static pthread_once_t sha_once = PTHREAD_ONCE_INIT;
static pthread_key_t sha_key;
static EVP_MD *sha_md;
static bool sha_key_ok;

static void sha_ctx_free(void *p)
{
	EVP_MD_CTX_free(p);
}

static void sha_init_once(void)
{
	sha_md = EVP_MD_fetch(NULL, "SHA256", NULL);
	sha_key_ok = pthread_key_create(&sha_key, sha_ctx_free) == 0;
}

/* This thread's context, ready for EVP_DigestInit_ex2; NULL when
 * libcrypto cannot be used. */
static EVP_MD_CTX *sha_ctx(void)
{
	EVP_MD_CTX *c;

	pthread_once(&sha_once, sha_init_once);
	if (sha_md == NULL || !sha_key_ok)
		return NULL;
	c = pthread_getspecific(sha_key);
	if (c == NULL) {
		c = EVP_MD_CTX_new();
		if (c == NULL)
			return NULL;
		if (pthread_setspecific(sha_key, c) != 0) {
			EVP_MD_CTX_free(c);
			return NULL;
		}
	}
	return c;
}

/*
 * The hashes of the tree are many and short (a leaf of a few hundred
 * bytes, a node of 65), so the cost of each call matters as much as the
 * speed per byte. libcrypto's SHA256_Init / _Update / _Final, deprecated
 * in OpenSSL 3 but still part of it, run the same SHA-256 code as EVP
 * without EVP's per-call work: about 150 ns against 230-300 ns for a
 * node, 375 against 440 ns for an access record (docs/internals/ledger.md,
 * "Hashing"). Where a libcrypto no longer has them, EVP does the work.
 */
#if OPENSSL_VERSION_MAJOR < 4 && !defined(OPENSSL_NO_DEPRECATED_3_0)
#define SHA_LOW_LEVEL 1
#else
#define SHA_LOW_LEVEL 0
#endif

void merkle_sha256(const void *a, size_t alen, const void *b, size_t blen, uint8_t out[static HS])
{
	EVP_MD_CTX *c;
	crypto_hash_sha256_state st;

#if SHA_LOW_LEVEL
	{
		SHA256_CTX lc;

		if (SHA256_Init(&lc) == 1 && (alen == 0 || SHA256_Update(&lc, a, alen) == 1) &&
		    (blen == 0 || SHA256_Update(&lc, b, blen) == 1) && SHA256_Final(out, &lc) == 1)
			return;
	}
#endif
	c = sha_ctx();
	if (c != NULL && EVP_DigestInit_ex2(c, sha_md, NULL) == 1 &&
	    (alen == 0 || EVP_DigestUpdate(c, a, alen) == 1) &&
	    (blen == 0 || EVP_DigestUpdate(c, b, blen) == 1) &&
	    EVP_DigestFinal_ex(c, out, NULL) == 1)
		return;
	crypto_hash_sha256_init(&st);
	if (alen > 0)
		crypto_hash_sha256_update(&st, a, alen);
	if (blen > 0)
		crypto_hash_sha256_update(&st, b, blen);
	crypto_hash_sha256_final(&st, out);
}

int merkle_sha256_begin(struct merkle_sha256_stream *s)
{
	EVP_MD_CTX *c;

	pthread_once(&sha_once, sha_init_once);
	s->ctx = NULL;
	if (sha_md == NULL)
		return ERR_CRYPTO;
	if ((c = EVP_MD_CTX_new()) == NULL)
		return ERR_NOMEM;
	if (EVP_DigestInit_ex2(c, sha_md, NULL) != 1) {
		EVP_MD_CTX_free(c);
		return ERR_CRYPTO;
	}
	s->ctx = c;
	return 0;
}

int merkle_sha256_update(struct merkle_sha256_stream *s, const void *p, size_t n)
{
	if (n == 0)
		return 0;
	return EVP_DigestUpdate(s->ctx, p, n) == 1 ? 0 : ERR_CRYPTO;
}

int merkle_sha256_end(struct merkle_sha256_stream *s, uint8_t out[static HS])
{
	int r = 0;

	if (s->ctx == NULL)
		return 0;
	if (out != NULL && EVP_DigestFinal_ex(s->ctx, out, NULL) != 1)
		r = ERR_CRYPTO;
	EVP_MD_CTX_free(s->ctx);
	s->ctx = NULL;
	return r;
}

void merkle_leaf_hash(const void *entry, size_t len, uint8_t out[static HS])
{
	static const uint8_t prefix = 0x00;

	merkle_sha256(&prefix, 1, entry, len, out);
}

void merkle_node_hash(const uint8_t left[static HS], const uint8_t right[static HS],
		      uint8_t out[static HS])
{
	uint8_t in[1 + 2 * HS];

	/* Copy first: out may be one of the inputs. */
	in[0] = 0x01;
	memcpy(in + 1, left, HS);
	memcpy(in + 1 + HS, right, HS);
	merkle_sha256(in, sizeof(in), NULL, 0, out);
}

void merkle_empty_root(uint8_t out[static HS])
{
	merkle_sha256(NULL, 0, NULL, 0, out);
}

/* The largest power of two smaller than n, for n >= 2 (RFC 9162 "k"). */
static uint64_t split_point(uint64_t n)
{
	BUG_ON(n < 2);
	return (uint64_t)1 << (63 - __builtin_clzll(n - 1));
}

static bool is_pow2(uint64_t n)
{
	return n != 0 && (n & (n - 1)) == 0;
}

/* ---- the tree builder ---- */

void merkle_builder_init(struct merkle_builder *b)
{
	memset(b, 0, sizeof(*b));
}

int merkle_builder_append(struct merkle_builder *b, const uint8_t leaf[static HS],
			  uint8_t (*completed)[HS], unsigned *ncompleted)
{
	uint8_t h[HS];
	uint64_t s = b->size;
	unsigned k = 0;

	if (b->size >= MERKLE_SIZE_MAX)
		return ERR_OVERFLOW;
	memcpy(h, leaf, HS);
	if (completed)
		memcpy(completed[0], h, HS);
	/* Each trailing one bit of the old size is a perfect subtree of the
	 * height of the new one: they merge, as in a binary increment. */
	while (s & 1) {
		BUG_ON(b->depth == 0);
		merkle_node_hash(b->edge[b->depth - 1], h, h);
		b->depth--;
		s >>= 1;
		k++;
		if (completed)
			memcpy(completed[k], h, HS);
	}
	BUG_ON(b->depth >= MERKLE_HEIGHT_MAX);
	memcpy(b->edge[b->depth++], h, HS);
	b->size++;
	if (ncompleted)
		*ncompleted = k + 1;
	return 0;
}

void merkle_builder_root(const struct merkle_builder *b, uint8_t out[static HS])
{
	uint8_t r[HS];

	if (b->depth == 0) {
		merkle_empty_root(out);
		return;
	}
	/* The tree splits at its largest perfect subtree, then recursively
	 * the rest: folding the edge from the right gives exactly that. */
	memcpy(r, b->edge[b->depth - 1], HS);
	for (unsigned i = b->depth - 1; i-- > 0;)
		merkle_node_hash(b->edge[i], r, r);
	memcpy(out, r, HS);
}

/* The perfect subtrees that make up the tree of size leaves, largest
 * first, with where each starts. */
struct edge {
	uint64_t size;
	unsigned n;
	uint64_t start[MERKLE_HEIGHT_MAX];
	uint8_t hash[MERKLE_HEIGHT_MAX][HS];
};

static int edge_load(struct edge *e, uint64_t size, merkle_subtree_fn fn, void *ctx)
{
	uint64_t start = 0;
	int r;

	e->size = size;
	e->n = 0;
	for (unsigned h = MERKLE_HEIGHT_MAX; h-- > 0;) {
		if (!(size & ((uint64_t)1 << h)))
			continue;
		e->start[e->n] = start;
		if ((r = fn(ctx, start, h, e->hash[e->n])) < 0)
			return r;
		e->n++;
		start += (uint64_t)1 << h;
	}
	return 0;
}

int merkle_builder_load(struct merkle_builder *b, uint64_t size, merkle_subtree_fn fn, void *ctx)
{
	struct edge e;
	int r;

	if (size > MERKLE_SIZE_MAX)
		return ERR_INVALID;
	if ((r = edge_load(&e, size, fn, ctx)) < 0)
		return r;
	b->size = size;
	b->depth = e.n;
	memcpy(b->edge, e.hash, (size_t)e.n * HS);
	return 0;
}

int merkle_root(merkle_subtree_fn fn, void *ctx, uint64_t size, uint8_t out[static HS])
{
	struct merkle_builder b;
	int r;

	if ((r = merkle_builder_load(&b, size, fn, ctx)) < 0)
		return r;
	merkle_builder_root(&b, out);
	return 0;
}

/* ---- proof generation from subtree hashes ---- */

/*
 * Where the generators get MTH(D[lo:lo+n]). In the RFC recursion a range
 * is either a perfect subtree (one look-up) or a suffix of the whole tree
 * that starts where one of the tree's own perfect subtrees starts (going
 * right keeps the end at size). The suffixes are folded once from the
 * right edge, so a proof costs at most popcount(size) + depth look-ups.
 */
struct ranges {
	merkle_subtree_fn fn;
	void *ctx;
	uint64_t size;
	bool loaded;
	struct edge e; /* after loading, hash[i] is MTH(D[start[i]:size]) */
};

static int range_hash(struct ranges *rg, uint64_t lo, uint64_t n, uint8_t out[static HS])
{
	int r;

	if (is_pow2(n)) {
		BUG_ON(lo % n != 0 || lo + n > rg->size);
		return rg->fn(rg->ctx, lo, (unsigned)__builtin_ctzll(n), out);
	}
	BUG_ON(lo + n != rg->size);
	if (!rg->loaded) {
		if ((r = edge_load(&rg->e, rg->size, rg->fn, rg->ctx)) < 0)
			return r;
		for (unsigned i = rg->e.n - 1; i-- > 0;)
			merkle_node_hash(rg->e.hash[i], rg->e.hash[i + 1], rg->e.hash[i]);
		rg->loaded = true;
	}
	for (unsigned i = 0; i < rg->e.n; i++) {
		if (rg->e.start[i] == lo) {
			memcpy(out, rg->e.hash[i], HS);
			return 0;
		}
	}
	BUG("range is neither a perfect subtree nor a suffix of the tree");
}

static void proof_reverse(uint8_t proof[][HS], size_t n)
{
	uint8_t t[HS];

	for (size_t i = 0; i < n / 2; i++) {
		memcpy(t, proof[i], HS);
		memcpy(proof[i], proof[n - 1 - i], HS);
		memcpy(proof[n - 1 - i], t, HS);
	}
}

int merkle_inclusion_proof(merkle_subtree_fn fn, void *ctx, uint64_t index, uint64_t size,
			   uint8_t proof[][HS], size_t *n)
{
	struct ranges rg = {.fn = fn, .ctx = ctx, .size = size};
	uint64_t lo = 0, m = index, w = size, k;
	size_t cnt = 0;
	int r;

	*n = 0;
	if (size > MERKLE_SIZE_MAX || index >= size)
		return ERR_INVALID;
	/* PATH(m, D[n]) from the top: the sibling at each level is appended
	 * after the path below it, so the list is built top-down and turned
	 * round at the end. */
	while (w > 1) {
		BUG_ON(cnt >= MERKLE_PROOF_MAX);
		k = split_point(w);
		if (m < k) {
			r = range_hash(&rg, lo + k, w - k, proof[cnt]);
			w = k;
		} else {
			r = range_hash(&rg, lo, k, proof[cnt]);
			lo += k;
			m -= k;
			w -= k;
		}
		if (r < 0)
			return r;
		cnt++;
	}
	proof_reverse(proof, cnt);
	*n = cnt;
	return 0;
}

int merkle_consistency_proof(merkle_subtree_fn fn, void *ctx, uint64_t from, uint64_t to,
			     uint8_t proof[][HS], size_t *n)
{
	struct ranges rg = {.fn = fn, .ctx = ctx, .size = to};
	uint64_t lo = 0, m = from, w = to, k;
	bool b = true;
	size_t cnt = 0;
	int r;

	*n = 0;
	if (to > MERKLE_SIZE_MAX || from > to)
		return ERR_INVALID;
	if (from == 0 || from == to)
		return 0;
	/* SUBPROOF(m, D[n], b), unrolled. */
	while (m != w) {
		BUG_ON(cnt >= MERKLE_PROOF_MAX);
		k = split_point(w);
		if (m <= k) {
			r = range_hash(&rg, lo + k, w - k, proof[cnt]);
			w = k;
		} else {
			r = range_hash(&rg, lo, k, proof[cnt]);
			lo += k;
			m -= k;
			w -= k;
			b = false;
		}
		if (r < 0)
			return r;
		cnt++;
	}
	if (!b) {
		BUG_ON(cnt >= MERKLE_PROOF_MAX);
		if ((r = range_hash(&rg, lo, w, proof[cnt])) < 0)
			return r;
		cnt++;
	}
	proof_reverse(proof, cnt);
	*n = cnt;
	return 0;
}

/* ---- verification (RFC 9162 2.1.3.2 and 2.1.4.2) ---- */

#define LSB(x) (((x)&1) != 0)

int merkle_verify_inclusion(const uint8_t leaf[static HS], uint64_t index, uint64_t size,
			    const uint8_t (*proof)[HS], size_t n, const uint8_t root[static HS])
{
	uint64_t fn, sn;
	uint8_t r[HS];

	if (size > MERKLE_SIZE_MAX || n > MERKLE_PROOF_MAX || (n > 0 && proof == NULL))
		return ERR_INVALID;
	/* 1. If leaf_index >= tree_size, fail. */
	if (index >= size)
		return ERR_INVALID;
	/* 2. Set fn to leaf_index and sn to tree_size - 1. */
	fn = index;
	sn = size - 1;
	/* 3. Set r to hash. */
	memcpy(r, leaf, HS);
	/* 4. For each value p in the inclusion_path array: */
	for (size_t i = 0; i < n; i++) {
		const uint8_t *p = proof[i];
		/* a. If sn is 0, stop and fail. */
		if (sn == 0)
			return ERR_CRYPTO;
		/* b. If LSB(fn) is set, or if fn is equal to sn: */
		if (LSB(fn) || fn == sn) {
			/* i. Set r to HASH(0x01 || p || r). */
			merkle_node_hash(p, r, r);
			/* ii. If LSB(fn) is not set, right-shift fn and sn
			 * equally until either LSB(fn) is set or fn is 0. */
			if (!LSB(fn)) {
				while (!LSB(fn) && fn != 0) {
					fn >>= 1;
					sn >>= 1;
				}
			}
		} else {
			/* Otherwise: set r to HASH(0x01 || r || p). */
			merkle_node_hash(r, p, r);
		}
		/* c. Right-shift both fn and sn one time. */
		fn >>= 1;
		sn >>= 1;
	}
	/* 5. Success if sn is 0 and r equals root_hash. */
	if (sn != 0 || !mem_equal_ct(r, root, HS))
		return ERR_CRYPTO;
	return 0;
}

int merkle_verify_consistency(uint64_t from, uint64_t to, const uint8_t from_root[static HS],
			      const uint8_t to_root[static HS], const uint8_t (*proof)[HS],
			      size_t n)
{
	uint8_t fr[HS], sr[HS], empty[HS];
	uint64_t fn, sn;
	size_t next;

	if (to > MERKLE_SIZE_MAX || from > to || n > MERKLE_PROOF_MAX || (n > 0 && proof == NULL))
		return ERR_INVALID;
	/* Outside 0 < first < second the RFC defines no proof: nothing needs
	 * proving beyond the roots themselves, so the proof must be empty. */
	if (from == to)
		return n == 0 && mem_equal_ct(from_root, to_root, HS) ? 0 : ERR_CRYPTO;
	if (from == 0) {
		merkle_empty_root(empty);
		return n == 0 && mem_equal_ct(from_root, empty, HS) ? 0 : ERR_CRYPTO;
	}
	/* 1. If consistency_path is an empty array, fail. */
	if (n == 0)
		return ERR_CRYPTO;
	/* 2. If first is an exact power of 2, prepend first_hash to the
	 * consistency_path array: the path is then first_hash, proof[0],
	 * ...; otherwise proof[0], proof[1], .... */
	/* 3. Set fn to first - 1 and sn to second - 1. */
	fn = from - 1;
	sn = to - 1;
	/* 4. If LSB(fn) is set, right-shift both fn and sn equally until
	 * LSB(fn) is not set. */
	while (LSB(fn)) {
		fn >>= 1;
		sn >>= 1;
	}
	/* 5. Set both fr and sr to the first value in the consistency_path. */
	if (is_pow2(from)) {
		memcpy(fr, from_root, HS);
		next = 0;
	} else {
		memcpy(fr, proof[0], HS);
		next = 1;
	}
	memcpy(sr, fr, HS);
	/* 6. For each subsequent value c in the consistency_path array: */
	for (size_t i = next; i < n; i++) {
		const uint8_t *c = proof[i];
		/* a. If sn is 0, stop and fail. */
		if (sn == 0)
			return ERR_CRYPTO;
		/* b. If LSB(fn) is set, or if fn is equal to sn: */
		if (LSB(fn) || fn == sn) {
			/* i. Set fr to HASH(0x01 || c || fr).
			 * ii. Set sr to HASH(0x01 || c || sr). */
			merkle_node_hash(c, fr, fr);
			merkle_node_hash(c, sr, sr);
			/* iii. If LSB(fn) is not set, right-shift fn and sn
			 * equally until either LSB(fn) is set or fn is 0. */
			if (!LSB(fn)) {
				while (!LSB(fn) && fn != 0) {
					fn >>= 1;
					sn >>= 1;
				}
			}
		} else {
			/* Otherwise: set sr to HASH(0x01 || sr || c). */
			merkle_node_hash(sr, c, sr);
		}
		/* c. Right-shift both fn and sn one time. */
		fn >>= 1;
		sn >>= 1;
	}
	/* 7. Success if fr equals first_hash, sr equals second_hash and sn
	 * is 0. */
	if (sn != 0 || !mem_equal_ct(fr, from_root, HS) || !mem_equal_ct(sr, to_root, HS))
		return ERR_CRYPTO;
	return 0;
}

/* ---- reference implementations ---- */

static void mth_ref(const uint8_t (*d)[HS], uint64_t n, uint8_t out[static HS])
{
	uint8_t l[HS], r[HS];
	uint64_t k;

	if (n == 0) {
		merkle_empty_root(out);
		return;
	}
	if (n == 1) {
		memcpy(out, d[0], HS);
		return;
	}
	k = split_point(n);
	mth_ref(d, k, l);
	mth_ref(d + k, n - k, r);
	merkle_node_hash(l, r, out);
}

void merkle_root_ref(const uint8_t (*leaves)[HS], uint64_t n, uint8_t out[static HS])
{
	mth_ref(leaves, n, out);
}

static void path_ref(const uint8_t (*d)[HS], uint64_t m, uint64_t n, uint8_t proof[][HS],
		     size_t *cnt)
{
	uint64_t k;

	if (n == 1)
		return;
	k = split_point(n);
	if (m < k) {
		path_ref(d, m, k, proof, cnt);
		mth_ref(d + k, n - k, proof[(*cnt)++]);
	} else {
		path_ref(d + k, m - k, n - k, proof, cnt);
		mth_ref(d, k, proof[(*cnt)++]);
	}
}

int merkle_inclusion_proof_ref(const uint8_t (*leaves)[HS], uint64_t index, uint64_t size,
			       uint8_t proof[][HS], size_t *n)
{
	*n = 0;
	if (size > MERKLE_SIZE_MAX || index >= size)
		return ERR_INVALID;
	path_ref(leaves, index, size, proof, n);
	return 0;
}

static void subproof_ref(const uint8_t (*d)[HS], uint64_t m, uint64_t n, bool b,
			 uint8_t proof[][HS], size_t *cnt)
{
	uint64_t k;

	if (m == n) {
		if (!b)
			mth_ref(d, n, proof[(*cnt)++]);
		return;
	}
	k = split_point(n);
	if (m <= k) {
		subproof_ref(d, m, k, b, proof, cnt);
		mth_ref(d + k, n - k, proof[(*cnt)++]);
	} else {
		subproof_ref(d + k, m - k, n - k, false, proof, cnt);
		mth_ref(d, k, proof[(*cnt)++]);
	}
}

int merkle_consistency_proof_ref(const uint8_t (*leaves)[HS], uint64_t from, uint64_t to,
				 uint8_t proof[][HS], size_t *n)
{
	*n = 0;
	if (to > MERKLE_SIZE_MAX || from > to)
		return ERR_INVALID;
	if (from == 0 || from == to)
		return 0;
	subproof_ref(leaves, from, to, true, proof, n);
	return 0;
}
