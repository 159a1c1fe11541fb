/*
 * merkle.h - RFC 9162 Merkle tree hashing, proofs and their verification.
 *
 * The tree over n leaves is the one of RFC 9162 section 2.1 with SHA-256:
 *   leaf hash   = SHA-256(0x00 || entry)
 *   node hash   = SHA-256(0x01 || left || right)
 *   empty tree  = SHA-256("")
 * and the tree over n > 1 leaves splits at the largest power of two smaller
 * than n. See docs/internals/merkle.md.
 *
 * Sizes and indexes are uint64_t, limited to MERKLE_SIZE_MAX (2^63 - 1, the
 * range of the int64 indexes of other tlog implementations); with that
 * limit no proof is longer than MERKLE_PROOF_MAX hashes. Every index and
 * size argument is checked: out-of-range arguments give ERR_INVALID, never
 * undefined behaviour.
 *
 * Proofs are generated from a merkle_subtree_fn, a callback that returns
 * the hash of one perfect subtree [start, start + 2^height): exactly the
 * hashes a tiled store (C2SP tlog-tiles) keeps, so that a proof costs at
 * most about 2 * 63 look-ups and never rescans the log.
 *
 * Threading: the functions keep no global state; a struct merkle_builder
 * is used by one thread at a time.
 */
#ifndef MAMORI_MERKLE_H
#define MAMORI_MERKLE_H

#include "base/base.h"

#define MERKLE_HASH_SIZE 32
#define MERKLE_SIZE_MAX ((uint64_t)INT64_MAX)
/* Longest proof for a tree of at most MERKLE_SIZE_MAX leaves. */
#define MERKLE_PROOF_MAX 64
/* Height of the tallest perfect subtree in such a tree, plus one. */
#define MERKLE_HEIGHT_MAX 63

/*
 * SHA-256 of a || b (either may be NULL when its length is 0): the one
 * hash function of the ledger, OpenSSL libcrypto's (which uses the CPU's
 * SHA extensions), with libsodium's as the fallback should libcrypto fail.
 * No allocation after a thread's first call. Any thread.
 */
void merkle_sha256(const void *a, size_t alen, const void *b, size_t blen,
		   uint8_t out[static MERKLE_HASH_SIZE]);

/*
 * SHA-256 of a stream (a whole file): begin, update any number of times,
 * end. begin returns ERR_NOMEM or ERR_CRYPTO when libcrypto cannot start
 * (then end does nothing); update returns ERR_CRYPTO on failure. end
 * writes the digest into out (unless out is NULL: abandon the stream) and
 * releases the stream in every case. One thread at a time per stream.
 */
struct merkle_sha256_stream {
	void *ctx;
};
MM_WUR int merkle_sha256_begin(struct merkle_sha256_stream *s);
MM_WUR int merkle_sha256_update(struct merkle_sha256_stream *s, const void *p, size_t n);
int merkle_sha256_end(struct merkle_sha256_stream *s, uint8_t out[MERKLE_HASH_SIZE]);

/* Hash of the entry as a leaf: SHA-256(0x00 || entry). entry may be NULL
 * when len is 0. */
void merkle_leaf_hash(const void *entry, size_t len, uint8_t out[static MERKLE_HASH_SIZE]);
/* Interior node: SHA-256(0x01 || left || right). out may alias either. */
void merkle_node_hash(const uint8_t left[static MERKLE_HASH_SIZE],
		      const uint8_t right[static MERKLE_HASH_SIZE],
		      uint8_t out[static MERKLE_HASH_SIZE]);
/* Root of the empty tree: SHA-256 of the empty string. */
void merkle_empty_root(uint8_t out[static MERKLE_HASH_SIZE]);

/*
 * The hash of the perfect subtree covering the leaves
 * [start, start + 2^height) into out; height 0 is a leaf hash. The
 * generators only ask for subtrees that lie wholly inside the tree size
 * they were given and whose start is a multiple of 2^height (the tiles'
 * addressing). Returns 0, or a negative ERR_* that the caller passes on.
 */
typedef int (*merkle_subtree_fn)(void *ctx, uint64_t start, unsigned height,
				 uint8_t out[MERKLE_HASH_SIZE]);

/*
 * The incremental tree builder: the right edge of the tree, i.e. the roots
 * of the perfect subtrees that the binary digits of size describe, largest
 * (leftmost) first. Appending a leaf and computing the root are O(log n)
 * and use no memory beyond the struct (about 2 KiB). Embed it; there is
 * nothing to release.
 */
struct merkle_builder {
	uint64_t size;
	unsigned depth; /* number of hashes in edge, popcount(size) */
	uint8_t edge[MERKLE_HEIGHT_MAX][MERKLE_HASH_SIZE];
};

void merkle_builder_init(struct merkle_builder *b);
/*
 * Append one leaf hash. When completed is not NULL it receives the hashes
 * of the perfect subtrees this leaf completes, by height: completed[h] is
 * the subtree [new_size - 2^h, new_size) for h = 0 .. *ncompleted - 1
 * (completed[0] is the leaf itself): what a tiled store must write.
 * completed must then have room for MERKLE_HEIGHT_MAX hashes.
 * ERR_OVERFLOW when the tree already holds MERKLE_SIZE_MAX leaves.
 */
MM_WUR int merkle_builder_append(struct merkle_builder *b,
				 const uint8_t leaf[static MERKLE_HASH_SIZE],
				 uint8_t (*completed)[MERKLE_HASH_SIZE], unsigned *ncompleted);
/* Root of the tree of the leaves appended so far (the empty root at 0). */
void merkle_builder_root(const struct merkle_builder *b, uint8_t out[static MERKLE_HASH_SIZE]);
/*
 * Set the builder to the tree of size leaves whose perfect subtrees fn
 * knows (popcount(size) look-ups): how an append-only store resumes after
 * a restart. ERR_INVALID when size > MERKLE_SIZE_MAX; fn's errors pass
 * through and leave b unchanged.
 */
MM_WUR int merkle_builder_load(struct merkle_builder *b, uint64_t size, merkle_subtree_fn fn,
			       void *ctx);

/* Root of the tree of size leaves, from fn (popcount(size) look-ups). */
MM_WUR int merkle_root(merkle_subtree_fn fn, void *ctx, uint64_t size,
		       uint8_t out[static MERKLE_HASH_SIZE]);

/*
 * Inclusion proof of leaf index in the tree of size leaves (RFC 9162
 * 2.1.3.1, PATH(index, D[size])), ordered from the leaf's sibling up to the
 * root's child, into proof[0 .. *n - 1]; proof has room for
 * MERKLE_PROOF_MAX hashes. ERR_INVALID unless index < size <=
 * MERKLE_SIZE_MAX.
 */
MM_WUR int merkle_inclusion_proof(merkle_subtree_fn fn, void *ctx, uint64_t index, uint64_t size,
				  uint8_t proof[][MERKLE_HASH_SIZE], size_t *n);
/*
 * Consistency proof from the tree of size from to the tree of size to
 * (RFC 9162 2.1.4.1, PROOF(from, D[to])), into proof[0 .. *n - 1] (room for
 * MERKLE_PROOF_MAX hashes). The proof is empty when from is 0 or from ==
 * to, which the RFC leaves undefined and merkle_verify_consistency()
 * accepts on its own terms. ERR_INVALID unless from <= to <=
 * MERKLE_SIZE_MAX.
 */
MM_WUR int merkle_consistency_proof(merkle_subtree_fn fn, void *ctx, uint64_t from, uint64_t to,
				    uint8_t proof[][MERKLE_HASH_SIZE], size_t *n);

/*
 * Verify that leaf is leaf number index of the tree of size leaves whose
 * root is root, following RFC 9162 2.1.3.2 step by step. 0 when it is;
 * ERR_CRYPTO when the proof does not prove it; ERR_INVALID when index >=
 * size, size > MERKLE_SIZE_MAX or n > MERKLE_PROOF_MAX (proof may be NULL
 * when n is 0). No allocation.
 */
MM_WUR int merkle_verify_inclusion(const uint8_t leaf[static MERKLE_HASH_SIZE], uint64_t index,
				   uint64_t size, const uint8_t (*proof)[MERKLE_HASH_SIZE],
				   size_t n, const uint8_t root[static MERKLE_HASH_SIZE]);
/*
 * Verify that the tree of size from with root from_root is a prefix of the
 * tree of size to with root to_root, following RFC 9162 2.1.4.2 step by
 * step for 0 < from < to. For from == to the proof must be empty and the
 * roots equal; for from == 0 the proof must be empty and from_root the
 * empty root (the empty tree is a prefix of every tree). 0 when consistent;
 * ERR_CRYPTO when the proof fails; ERR_INVALID when from > to, to >
 * MERKLE_SIZE_MAX or n > MERKLE_PROOF_MAX. No allocation.
 */
MM_WUR int merkle_verify_consistency(uint64_t from, uint64_t to,
				     const uint8_t from_root[static MERKLE_HASH_SIZE],
				     const uint8_t to_root[static MERKLE_HASH_SIZE],
				     const uint8_t (*proof)[MERKLE_HASH_SIZE], size_t n);

/*
 * Reference implementations over an array of n leaf hashes, written as the
 * recursive definitions of RFC 9162 2.1.1, 2.1.3.1 and 2.1.4.1 and costing
 * O(n) each: for tests, and for checking a small log end to end. Same
 * argument checks and results as the functions above.
 */
void merkle_root_ref(const uint8_t (*leaves)[MERKLE_HASH_SIZE], uint64_t n,
		     uint8_t out[static MERKLE_HASH_SIZE]);
MM_WUR int merkle_inclusion_proof_ref(const uint8_t (*leaves)[MERKLE_HASH_SIZE], uint64_t index,
				      uint64_t size, uint8_t proof[][MERKLE_HASH_SIZE], size_t *n);
MM_WUR int merkle_consistency_proof_ref(const uint8_t (*leaves)[MERKLE_HASH_SIZE], uint64_t from,
					uint64_t to, uint8_t proof[][MERKLE_HASH_SIZE], size_t *n);

#endif
