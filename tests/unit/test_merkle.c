/*
 * Unit tests for src/ledger/merkle.c: RFC 9162 hashing, the tree builder,
 * proof generation from subtree hashes and proof verification.
 *
 * The known answers below come from tests/unit/vectors/merkle_vectors.py,
 * which computes them with Python's hashlib straight from the RFC's
 * definitions; re-run it to check them. Leaf i is the entry made of the
 * bytes 0, 1, ..., i-1, so leaf 0 is the empty entry.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sodium.h>

#include "base/base.h"
#include "ledger/merkle.h"

#define HS MERKLE_HASH_SIZE
#define NLEAVES 1000

/* Roots of the trees of the first n leaves. */
static const struct {
	uint64_t n;
	const char *root;
} root_vectors[] = {
    {0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
    {1, "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"},
    {2, "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"},
    {3, "7c5baf8115036846bcffe694086acb27d8da58ce4bb743dde47a1df186764f9b"},
    {4, "d80139611aeba322149a7957725a4372fea4fcd73ee8680b1d2b4a0f43e0321d"},
    {5, "39b936ebf6662e3a7726e73bf72c38477e5e4b01aaccf83305483cdc4b47e052"},
    {6, "86e310e0cc1e943bd7fff8b35c2b24d8b926e22550f7b5e51f7af54a6406874b"},
    {7, "d9156da9eb924b45710df9e9ba4460c67972698661273289f8511e19e126a7a5"},
    {8, "4af06916341c678d35d25f5184558a75d00a8063a6b39f7e0ca538a55a1f60c5"},
    {1000, "197656cb0a543a6358672d04e2eccfcbd0f29e9436f954956d8413feab4b1174"},
};

static const struct {
	uint64_t index, size;
	size_t n;
	const char *proof[16];
} inclusion_vectors[] = {
    {0, 1, 0, {NULL}},
    {0, 2, 1, {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"}},
    {1, 2, 1, {"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"}},
    {0,
     8,
     3,
     {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "e3461352fc901a729b7b942becc0844df12d09f3ca87ace013131e1feac43aa2",
      "a790b4f7d4210323eb1a114e1c076ce82fbb04d8592b36749d556e04ad89bb67"}},
    {5,
     8,
     3,
     {"a498efa8d0759e7b704095853db9bc1ef8cf65af37bed9d006c4b2917e695061",
      "44876c24880b9d4f50cd6344169e447a5ec776cbedc8d606c3cf33427e745e30",
      "d80139611aeba322149a7957725a4372fea4fcd73ee8680b1d2b4a0f43e0321d"}},
    {7,
     8,
     3,
     {"891fe040c6c42e5704a332ebbec128f55261135a5b448ab70ce8d1023ce26229",
      "9d1adba852aa202cc0d7aa070750d365992ebc0b581674317c471e1c4816e83e",
      "d80139611aeba322149a7957725a4372fea4fcd73ee8680b1d2b4a0f43e0321d"}},
    {2, 3, 1, {"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"}},
    {6,
     7,
     2,
     {"9d1adba852aa202cc0d7aa070750d365992ebc0b581674317c471e1c4816e83e",
      "d80139611aeba322149a7957725a4372fea4fcd73ee8680b1d2b4a0f43e0321d"}},
    {4, 5, 1, {"d80139611aeba322149a7957725a4372fea4fcd73ee8680b1d2b4a0f43e0321d"}},
    {0,
     1000,
     10,
     {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "e3461352fc901a729b7b942becc0844df12d09f3ca87ace013131e1feac43aa2",
      "a790b4f7d4210323eb1a114e1c076ce82fbb04d8592b36749d556e04ad89bb67",
      "7fbbb569169bd45d731137bddafdeb9fafb3cbef45ea099a08b73218633f09bd",
      "339d38ba58d5bf1bab4bdd2339d894086611a3465a36fde98bb891bde2211f01",
      "f619958e63fe8399216dc4ad36d9a1c73528bdd43828f04b666a91757b54622d",
      "3d5c6eb763b6f90f89cdd6f6912dfc59846a717438dbef2907c12b3ca77aae41",
      "d720cbdf67e94fffe55f4799e43678713aa598b006d5ff72af5331fd3f63c94c",
      "bc444b2191dd231d1a69de83bb0c87a3d53ee167d11241a153a1cddb839209ac",
      "51f30632874ed0189b777ac2495f57026d46b7839ab9c2ad954253d03b8e0d35"}},
    {500,
     1000,
     10,
     {"9de7466f1465cec3330eb00126a15243599b51959c303255d12d7000b5ff6fd5",
      "b1e7ab81512b3aa9485aa381868b8a34535a06e5b6925aa3d24fadaece38b80c",
      "25de1ef551a2ab13c180acdd81d6802dd6ef84dc46be42d65beef21aecfb306c",
      "4d27767088416e7a31ca6de537218b59cb27a538cf6790e91378021079a480de",
      "14dee7a0cd8b6d800fa88a36e876c0b83f4dd90291cc9d5cd580d6c39760e085",
      "32e06867a7e543f902fb931874b13909d1790d80e028f8efb72d9146b65f6e22",
      "ec6257fcf4e57b5c6c99d6791ffebc717b79bf79dba41d7efd06194ed8918eb1",
      "85904f3b287d6d67e8b62dec7d408cceb2e8af4a8e9cb9d08758d8053e3e3519",
      "10a80aa63f76b104a2645d4819bbbbdc6e9545b2b0c5430ad3540535a5478c74",
      "51f30632874ed0189b777ac2495f57026d46b7839ab9c2ad954253d03b8e0d35"}},
    {999,
     1000,
     8,
     {"35986a3e678e1ddb5472c2c7709b0a6885b3c2d6a466747fbc2c5cf7b593ec43",
      "ecf58130b9713476c366817f12cc38df1b015d5585b876ecefac50b171730af3",
      "300bc0d0b917671db45fb7a615d080100f51735224fba0eb09687c2cc9de630b",
      "560877bfe34501851a700abb88353e2ffd35b920aa73777a497a81148aa404dc",
      "a5fc0da913eaf37eb4ee8ed75dfb1c021c2ad5bb7a2228fa3a0fe19363c0429d",
      "5245bfeea74bc30025b2b8d11e9babcf119660b306529c4ca0444b4ad0bbb955",
      "c9e5dfe3399a2f63f295e3c9147aec929dadb0667d0b9ebea2efb8fee18e0da3",
      "91c8459c9e9392b7a1929b218ed6da3e49eecc4f29b41b8a440058efa96b5920"}},
};

static const struct {
	uint64_t from, to;
	size_t n;
	const char *proof[20];
} consistency_vectors[] = {
    {1, 2, 1, {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"}},
    {1,
     8,
     3,
     {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "e3461352fc901a729b7b942becc0844df12d09f3ca87ace013131e1feac43aa2",
      "a790b4f7d4210323eb1a114e1c076ce82fbb04d8592b36749d556e04ad89bb67"}},
    {6,
     8,
     3,
     {"9d1adba852aa202cc0d7aa070750d365992ebc0b581674317c471e1c4816e83e",
      "44876c24880b9d4f50cd6344169e447a5ec776cbedc8d606c3cf33427e745e30",
      "d80139611aeba322149a7957725a4372fea4fcd73ee8680b1d2b4a0f43e0321d"}},
    {2,
     5,
     2,
     {"e3461352fc901a729b7b942becc0844df12d09f3ca87ace013131e1feac43aa2",
      "a498efa8d0759e7b704095853db9bc1ef8cf65af37bed9d006c4b2917e695061"}},
    {3,
     7,
     4,
     {"cf7605ed1bc735f6c825554154627467e1cac9df54cee8699218ed434603c568",
      "6b0271f8cc97121c9e25e8c731f47c941b487c583f5fe15498a4c6f1994af299",
      "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
      "dbd83df536802f510d83439979c9a3028aa72013842a7b8ef6e4d1d9d745e6a3"}},
    {4, 8, 1, {"a790b4f7d4210323eb1a114e1c076ce82fbb04d8592b36749d556e04ad89bb67"}},
    {7,
     8,
     4,
     {"891fe040c6c42e5704a332ebbec128f55261135a5b448ab70ce8d1023ce26229",
      "da6facbcb5fcb5aac2d7a1cc1af6eae5f2f6b3cd86f5d0ad3470a55407914fea",
      "9d1adba852aa202cc0d7aa070750d365992ebc0b581674317c471e1c4816e83e",
      "d80139611aeba322149a7957725a4372fea4fcd73ee8680b1d2b4a0f43e0321d"}},
    {3,
     5,
     4,
     {"cf7605ed1bc735f6c825554154627467e1cac9df54cee8699218ed434603c568",
      "6b0271f8cc97121c9e25e8c731f47c941b487c583f5fe15498a4c6f1994af299",
      "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
      "a498efa8d0759e7b704095853db9bc1ef8cf65af37bed9d006c4b2917e695061"}},
    {5,
     1000,
     11,
     {"a498efa8d0759e7b704095853db9bc1ef8cf65af37bed9d006c4b2917e695061",
      "9d1cf1e12fa64e20ccd2a5387504b99e89e24ef55dba8399637c3f5b6615c0ad",
      "44876c24880b9d4f50cd6344169e447a5ec776cbedc8d606c3cf33427e745e30",
      "d80139611aeba322149a7957725a4372fea4fcd73ee8680b1d2b4a0f43e0321d",
      "7fbbb569169bd45d731137bddafdeb9fafb3cbef45ea099a08b73218633f09bd",
      "339d38ba58d5bf1bab4bdd2339d894086611a3465a36fde98bb891bde2211f01",
      "f619958e63fe8399216dc4ad36d9a1c73528bdd43828f04b666a91757b54622d",
      "3d5c6eb763b6f90f89cdd6f6912dfc59846a717438dbef2907c12b3ca77aae41",
      "d720cbdf67e94fffe55f4799e43678713aa598b006d5ff72af5331fd3f63c94c",
      "bc444b2191dd231d1a69de83bb0c87a3d53ee167d11241a153a1cddb839209ac",
      "51f30632874ed0189b777ac2495f57026d46b7839ab9c2ad954253d03b8e0d35"}},
    {300,
     1000,
     9,
     {"7b8aaed66d1eff4733879d12f6336a63f7e98b87068c1c7ee4b53a3dadf5d359",
      "ac8c6570ca825681fd569a693fa73449b5b2280f2311d50b9b376b123f9982a2",
      "612260e68999a106cb9f877b4caf930c5a602318c4728432d56cbf5fe2612009",
      "4d21c0d7d094acebbdee305640b0f16e1a724425e5c0d32bfa12a30261d06cde",
      "2425e447e9844a14f5de85cbbf48bea3ef2a494629911141b3554b8e681023c5",
      "09f02908ed8d7535fa9263c809cb06c7ede8efbf57bffbc699cebcda809899f1",
      "7704f5ecd28aa3f9efd3587c450f077f0769d639f41656d2232aa0675c418854",
      "10a80aa63f76b104a2645d4819bbbbdc6e9545b2b0c5430ad3540535a5478c74",
      "51f30632874ed0189b777ac2495f57026d46b7839ab9c2ad954253d03b8e0d35"}},
    {512, 1000, 1, {"51f30632874ed0189b777ac2495f57026d46b7839ab9c2ad954253d03b8e0d35"}},
    {999,
     1000,
     9,
     {"35986a3e678e1ddb5472c2c7709b0a6885b3c2d6a466747fbc2c5cf7b593ec43",
      "66fb46faaaa6805933ae0fa050d6724d3ba8b374602e59ab46b3ac27f1b7c08f",
      "ecf58130b9713476c366817f12cc38df1b015d5585b876ecefac50b171730af3",
      "300bc0d0b917671db45fb7a615d080100f51735224fba0eb09687c2cc9de630b",
      "560877bfe34501851a700abb88353e2ffd35b920aa73777a497a81148aa404dc",
      "a5fc0da913eaf37eb4ee8ed75dfb1c021c2ad5bb7a2228fa3a0fe19363c0429d",
      "5245bfeea74bc30025b2b8d11e9babcf119660b306529c4ca0444b4ad0bbb955",
      "c9e5dfe3399a2f63f295e3c9147aec929dadb0667d0b9ebea2efb8fee18e0da3",
      "91c8459c9e9392b7a1929b218ed6da3e49eecc4f29b41b8a440058efa96b5920"}},
};

/* ---- a tiled store of every perfect subtree hash ---- */

struct store {
	uint8_t (*level[11])[HS]; /* level[h][i] = subtree [i * 2^h, (i + 1) * 2^h) */
	uint64_t count[11];
	uint64_t size; /* the tree size the store answers for */
	unsigned calls;
	int fail_after; /* return ERR_IO after this many calls; -1 never */
};

static uint8_t leaves[NLEAVES][HS];
/* Roots of the first n leaves, computed by the reference implementation;
 * the small ones once, since the exhaustive tests ask for them often. */
static uint8_t small_roots[66][HS];

static struct store st;

static void leaves_init(void)
{
	uint8_t e[NLEAVES];

	for (size_t i = 0; i < NLEAVES; i++)
		e[i] = (uint8_t)i;
	for (size_t i = 0; i < NLEAVES; i++)
		merkle_leaf_hash(e, i, leaves[i]);
}

static int setup(void **state)
{
	(void)state;
	leaves_init();
	memset(&st, 0, sizeof(st));
	for (unsigned h = 0; h < 11; h++) {
		st.count[h] = NLEAVES >> h;
		st.level[h] = st.count[h] ? calloc(st.count[h], HS) : NULL;
	}
	memcpy(st.level[0], leaves, sizeof(leaves));
	for (unsigned h = 1; h < 11; h++)
		for (uint64_t i = 0; i < st.count[h]; i++)
			merkle_node_hash(st.level[h - 1][2 * i], st.level[h - 1][2 * i + 1],
					 st.level[h][i]);
	st.fail_after = -1;
	for (uint64_t n = 0; n < ARRAY_SIZE(small_roots); n++)
		merkle_root_ref((const uint8_t(*)[HS])leaves, n, small_roots[n]);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	for (unsigned h = 0; h < 11; h++)
		free(st.level[h]);
	return 0;
}

/* The callback: only complete, aligned subtrees inside the current size,
 * as a tiled store can answer. Anything else fails the test. */
static int store_get(void *ctx, uint64_t start, unsigned height, uint8_t out[HS])
{
	struct store *s = ctx;
	uint64_t w;

	assert_true(height < 11);
	w = (uint64_t)1 << height;
	assert_int_equal(start % w, 0);
	assert_true(start + w <= s->size);
	if (s->fail_after >= 0 && s->calls >= (unsigned)s->fail_after)
		return ERR_IO;
	s->calls++;
	memcpy(out, s->level[height][start >> height], HS);
	return 0;
}

static void hex32(const char *hex, uint8_t out[HS])
{
	size_t n = 0;
	assert_non_null(hex);
	assert_int_equal(sodium_hex2bin(out, HS, hex, strlen(hex), NULL, &n, NULL), 0);
	assert_int_equal(n, HS);
}

static void root_of(uint64_t n, uint8_t out[HS])
{
	if (n < ARRAY_SIZE(small_roots))
		memcpy(out, small_roots[n], HS);
	else
		merkle_root_ref((const uint8_t(*)[HS])leaves, n, out);
}

/* ---- known answers ---- */

static void test_hash_primitives(void **state)
{
	uint8_t h[HS], want[HS], a[HS], b[HS];
	(void)state;
	/* The empty tree's root is SHA-256(""). */
	merkle_empty_root(h);
	hex32("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", want);
	assert_memory_equal(h, want, HS);
	/* A leaf hash is SHA-256(0x00 || entry): for the empty entry that is
	 * SHA-256 of the single byte 0x00. */
	merkle_leaf_hash(NULL, 0, h);
	hex32("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d", want);
	assert_memory_equal(h, want, HS);
	/* Node hashes are ordered and may write over an input. */
	memcpy(a, leaves[0], HS);
	memcpy(b, leaves[1], HS);
	merkle_node_hash(a, b, h);
	merkle_node_hash(b, a, want);
	assert_memory_not_equal(h, want, HS);
	merkle_node_hash(a, b, a);
	assert_memory_equal(a, h, HS);
	merkle_node_hash(b, b, b);
	merkle_node_hash(leaves[1], leaves[1], want);
	assert_memory_equal(b, want, HS);
	/* A node is SHA-256(0x01 || left || right): checked against the
	 * plain hash of those 65 bytes for many inputs. */
	for (int k = 0; k < 256; k++) {
		uint8_t in[1 + 2 * HS];

		in[0] = 0x01;
		for (int i = 0; i < 2 * HS; i++)
			in[1 + i] = (uint8_t)(k * 7 + i * 13 + (k >> 3) * i);
		merkle_node_hash(in + 1, in + 1 + HS, h);
		merkle_sha256(in, sizeof(in), NULL, 0, want);
		assert_memory_equal(h, want, HS);
	}
}

static void test_roots(void **state)
{
	uint8_t want[HS], got[HS];
	struct merkle_builder b;
	uint64_t next = 0;
	(void)state;
	merkle_builder_init(&b);
	for (size_t v = 0; v < ARRAY_SIZE(root_vectors); v++) {
		uint64_t n = root_vectors[v].n;
		hex32(root_vectors[v].root, want);
		root_of(n, got);
		assert_memory_equal(got, want, HS);
		while (next < n)
			assert_int_equal(merkle_builder_append(&b, leaves[next++], NULL, NULL), 0);
		assert_int_equal(b.size, n);
		merkle_builder_root(&b, got);
		assert_memory_equal(got, want, HS);
		st.size = n;
		assert_int_equal(merkle_root(store_get, &st, n, got), 0);
		assert_memory_equal(got, want, HS);
	}
	/* A different leaf gives a different root. */
	root_of(8, want);
	merkle_builder_init(&b);
	for (int i = 0; i < 8; i++)
		assert_int_equal(merkle_builder_append(&b, leaves[i == 5 ? 6 : i], NULL, NULL), 0);
	merkle_builder_root(&b, got);
	assert_memory_not_equal(got, want, HS);
}

static void test_inclusion_vectors(void **state)
{
	uint8_t proof[MERKLE_PROOF_MAX][HS], want[HS], root[HS];
	size_t n;
	(void)state;
	for (size_t v = 0; v < ARRAY_SIZE(inclusion_vectors); v++) {
		uint64_t i = inclusion_vectors[v].index, size = inclusion_vectors[v].size;
		st.size = size;
		assert_int_equal(merkle_inclusion_proof(store_get, &st, i, size, proof, &n), 0);
		assert_int_equal(n, inclusion_vectors[v].n);
		for (size_t k = 0; k < n; k++) {
			hex32(inclusion_vectors[v].proof[k], want);
			assert_memory_equal(proof[k], want, HS);
		}
		root_of(size, root);
		assert_int_equal(merkle_verify_inclusion(leaves[i], i, size,
							 (const uint8_t(*)[HS])proof, n, root),
				 0);
	}
}

static void test_consistency_vectors(void **state)
{
	uint8_t proof[MERKLE_PROOF_MAX][HS], want[HS], r1[HS], r2[HS];
	size_t n;
	(void)state;
	for (size_t v = 0; v < ARRAY_SIZE(consistency_vectors); v++) {
		uint64_t m = consistency_vectors[v].from, size = consistency_vectors[v].to;
		st.size = size;
		assert_int_equal(merkle_consistency_proof(store_get, &st, m, size, proof, &n), 0);
		assert_int_equal(n, consistency_vectors[v].n);
		for (size_t k = 0; k < n; k++) {
			hex32(consistency_vectors[v].proof[k], want);
			assert_memory_equal(proof[k], want, HS);
		}
		root_of(m, r1);
		root_of(size, r2);
		assert_int_equal(
		    merkle_verify_consistency(m, size, r1, r2, (const uint8_t(*)[HS])proof, n), 0);
		/* Swapped roots must fail. */
		assert_int_equal(
		    merkle_verify_consistency(m, size, r2, r1, (const uint8_t(*)[HS])proof, n),
		    ERR_CRYPTO);
	}
}

/* ---- every index and pair up to 64 leaves ---- */

#define P(x) ((const uint8_t(*)[HS])(x))

static void test_inclusion_exhaustive(void **state)
{
	uint8_t proof[MERKLE_PROOF_MAX + 1][HS], ref[MERKLE_PROOF_MAX][HS], root[HS], leaf[HS];
	size_t n, nref, checked = 0;
	(void)state;
	for (uint64_t size = 1; size <= 64; size++) {
		root_of(size, root);
		st.size = size;
		for (uint64_t i = 0; i < size; i++) {
			st.calls = 0;
			assert_int_equal(merkle_inclusion_proof(store_get, &st, i, size, proof, &n),
					 0);
			/* At most popcount(size) + depth look-ups. */
			assert_true(st.calls <= 2 * 7);
			assert_int_equal(merkle_inclusion_proof_ref(P(leaves), i, size, ref, &nref),
					 0);
			assert_int_equal(n, nref);
			assert_memory_equal(proof, ref, n * HS);
			assert_int_equal(
			    merkle_verify_inclusion(leaves[i], i, size, P(proof), n, root), 0);
			/* A flipped bit anywhere: in each proof hash, the leaf,
			 * the root. */
			for (size_t k = 0; k < n; k++) {
				unsigned bit = (unsigned)((i * 31 + k * 7 + size) % 256);
				proof[k][bit / 8] ^= (uint8_t)(1u << (bit % 8));
				assert_int_equal(
				    merkle_verify_inclusion(leaves[i], i, size, P(proof), n, root),
				    ERR_CRYPTO);
				proof[k][bit / 8] ^= (uint8_t)(1u << (bit % 8));
			}
			memcpy(leaf, leaves[i], HS);
			leaf[i % HS] ^= 0x80;
			assert_int_equal(merkle_verify_inclusion(leaf, i, size, P(proof), n, root),
					 ERR_CRYPTO);
			root[(i + 3) % HS] ^= 0x01;
			assert_int_equal(
			    merkle_verify_inclusion(leaves[i], i, size, P(proof), n, root),
			    ERR_CRYPTO);
			root[(i + 3) % HS] ^= 0x01;
			/* Another leaf at this index, or this leaf at another
			 * index, fails. */
			if (size > 1)
				assert_int_equal(merkle_verify_inclusion(leaves[(i + 1) % size], i,
									 size, P(proof), n, root),
						 ERR_CRYPTO);
			if (i + 1 < size)
				assert_int_equal(merkle_verify_inclusion(leaves[i], i + 1, size,
									 P(proof), n, root),
						 ERR_CRYPTO);
			if (i > 0)
				assert_int_equal(merkle_verify_inclusion(leaves[i], i - 1, size,
									 P(proof), n, root),
						 ERR_CRYPTO);
			/* The wrong size, with that size's true root. */
			for (uint64_t other = i + 1; other <= 65; other++) {
				uint8_t oroot[HS];
				if (other == size)
					continue;
				root_of(other, oroot);
				assert_int_equal(merkle_verify_inclusion(leaves[i], i, other,
									 P(proof), n, oroot),
						 ERR_CRYPTO);
			}
			/* Index past the end is an argument error. */
			assert_int_equal(
			    merkle_verify_inclusion(leaves[i], size, size, P(proof), n, root),
			    ERR_INVALID);
			/* Truncated and extended proofs. */
			if (n > 0)
				assert_int_equal(merkle_verify_inclusion(leaves[i], i, size,
									 P(proof), n - 1, root),
						 ERR_CRYPTO);
			memcpy(proof[n], root, HS);
			assert_int_equal(
			    merkle_verify_inclusion(leaves[i], i, size, P(proof), n + 1, root),
			    ERR_CRYPTO);
			memcpy(proof[n], leaves[0], HS);
			assert_int_equal(
			    merkle_verify_inclusion(leaves[i], i, size, P(proof), n + 1, root),
			    ERR_CRYPTO);
			checked++;
		}
	}
	assert_int_equal(checked, 64 * 65 / 2);
}

static void test_consistency_exhaustive(void **state)
{
	uint8_t proof[MERKLE_PROOF_MAX + 1][HS], ref[MERKLE_PROOF_MAX][HS];
	uint8_t r1[HS], r2[HS], o[HS];
	size_t n, nref, checked = 0;
	(void)state;
	for (uint64_t to = 1; to <= 64; to++) {
		root_of(to, r2);
		st.size = to;
		for (uint64_t from = 0; from <= to; from++) {
			root_of(from, r1);
			st.calls = 0;
			assert_int_equal(
			    merkle_consistency_proof(store_get, &st, from, to, proof, &n), 0);
			assert_true(st.calls <= 2 * 7);
			assert_int_equal(
			    merkle_consistency_proof_ref(P(leaves), from, to, ref, &nref), 0);
			assert_int_equal(n, nref);
			assert_memory_equal(proof, ref, n * HS);
			if (from == 0 || from == to)
				assert_int_equal(n, 0);
			else
				assert_true(n > 0);
			assert_int_equal(merkle_verify_consistency(from, to, r1, r2, P(proof), n),
					 0);
			for (size_t k = 0; k < n; k++) {
				unsigned bit = (unsigned)((from * 13 + k * 5 + to) % 256);
				proof[k][bit / 8] ^= (uint8_t)(1u << (bit % 8));
				assert_int_equal(
				    merkle_verify_consistency(from, to, r1, r2, P(proof), n),
				    ERR_CRYPTO);
				proof[k][bit / 8] ^= (uint8_t)(1u << (bit % 8));
			}
			/* Either root changed. */
			memcpy(o, r1, HS);
			o[from % HS] ^= 0x04;
			assert_int_equal(merkle_verify_consistency(from, to, o, r2, P(proof), n),
					 ERR_CRYPTO);
			memcpy(o, r2, HS);
			o[to % HS] ^= 0x10;
			/* The empty tree is a prefix of any tree: from 0 there
			 * is nothing to check about the second root. */
			assert_int_equal(merkle_verify_consistency(from, to, r1, o, P(proof), n),
					 from == 0 ? 0 : ERR_CRYPTO);
			/* Wrong sizes, each with its true root. */
			for (uint64_t f = 0; f <= to; f++) {
				if (f == from)
					continue;
				root_of(f, o);
				/* Only the claims that need no proof are true
				 * with the empty one: from the empty tree, or
				 * from the tree itself. */
				assert_int_equal(
				    merkle_verify_consistency(f, to, o, r2, P(proof), n),
				    n == 0 && (f == 0 || f == to) ? 0 : ERR_CRYPTO);
			}
			for (uint64_t t = from; t <= 65; t++) {
				if (t == to)
					continue;
				root_of(t, o);
				assert_int_equal(
				    merkle_verify_consistency(from, t, r1, o, P(proof), n),
				    n == 0 && from == 0 ? 0 : ERR_CRYPTO);
			}
			/* The true roots claimed for a second size past the
			 * next power of two: the proof is then too short, and
			 * only the RFC's final "sn is 0" check refuses it.
			 * (Up to the next power of two the RFC algorithm does
			 * not tell sizes of the same shape apart: a signed
			 * checkpoint binds size and root, not the proof.) */
			{
				uint64_t p2 = 1;
				while (p2 < to)
					p2 <<= 1;
				for (uint64_t t = p2 + 1; t <= 2 * p2 + 2; t++)
					assert_int_equal(
					    merkle_verify_consistency(from, t, r1, r2, P(proof), n),
					    n == 0 && from == 0 ? 0 : ERR_CRYPTO);
			}
			/* Truncated and extended. */
			if (n > 0)
				assert_int_equal(
				    merkle_verify_consistency(from, to, r1, r2, P(proof), n - 1),
				    ERR_CRYPTO);
			memcpy(proof[n], r2, HS);
			assert_int_equal(
			    merkle_verify_consistency(from, to, r1, r2, P(proof), n + 1),
			    ERR_CRYPTO);
			memcpy(proof[n], leaves[to - 1], HS);
			assert_int_equal(
			    merkle_verify_consistency(from, to, r1, r2, P(proof), n + 1),
			    ERR_CRYPTO);
			checked++;
		}
	}
	assert_int_equal(checked, 64 * 67 / 2);
}

/* ---- the builder against the store ---- */

static void test_builder(void **state)
{
	struct merkle_builder b, l;
	uint8_t completed[MERKLE_HEIGHT_MAX][HS], r1[HS], r2[HS];
	unsigned nc;
	(void)state;
	merkle_builder_init(&b);
	for (uint64_t i = 0; i < NLEAVES; i++) {
		uint64_t size = i + 1;
		assert_int_equal(merkle_builder_append(&b, leaves[i], completed, &nc), 0);
		/* The leaf completes one subtree per trailing zero bit of the
		 * new size, plus itself. */
		assert_int_equal(nc, (unsigned)__builtin_ctzll(size) + 1);
		for (unsigned h = 0; h < nc; h++)
			assert_memory_equal(completed[h], st.level[h][(size >> h) - 1], HS);
		assert_int_equal(b.depth, (unsigned)__builtin_popcountll(size));
		if (size <= 70 || size % 97 == 0 || size == NLEAVES) {
			merkle_builder_root(&b, r1);
			root_of(size, r2);
			assert_memory_equal(r1, r2, HS);
			/* Resuming from the store gives the same state. */
			st.size = size;
			assert_int_equal(merkle_builder_load(&l, size, store_get, &st), 0);
			assert_int_equal(l.size, b.size);
			assert_int_equal(l.depth, b.depth);
			assert_memory_equal(l.edge, b.edge, (size_t)b.depth * HS);
		}
	}
	/* A full tree refuses another leaf. */
	b.size = MERKLE_SIZE_MAX;
	b.depth = 63;
	assert_int_equal(merkle_builder_append(&b, leaves[0], NULL, NULL), ERR_OVERFLOW);
	assert_int_equal(b.size, MERKLE_SIZE_MAX);
	assert_int_equal(merkle_builder_load(&l, MERKLE_SIZE_MAX + 1, store_get, &st), ERR_INVALID);
}

/* ---- arguments and errors ---- */

static void test_limits(void **state)
{
	uint8_t proof[MERKLE_PROOF_MAX + 1][HS], h[HS];
	size_t n = 99;
	(void)state;
	memset(proof, 0, sizeof(proof));
	st.size = 8;
	assert_int_equal(merkle_inclusion_proof(store_get, &st, 8, 8, proof, &n), ERR_INVALID);
	assert_int_equal(n, 0);
	assert_int_equal(merkle_inclusion_proof(store_get, &st, 0, 0, proof, &n), ERR_INVALID);
	assert_int_equal(merkle_inclusion_proof(store_get, &st, 0, MERKLE_SIZE_MAX + 1, proof, &n),
			 ERR_INVALID);
	assert_int_equal(merkle_consistency_proof(store_get, &st, 5, 4, proof, &n), ERR_INVALID);
	assert_int_equal(
	    merkle_consistency_proof(store_get, &st, 1, MERKLE_SIZE_MAX + 1, proof, &n),
	    ERR_INVALID);
	assert_int_equal(merkle_inclusion_proof_ref(P(leaves), 3, 3, proof, &n), ERR_INVALID);
	assert_int_equal(merkle_consistency_proof_ref(P(leaves), 4, 3, proof, &n), ERR_INVALID);
	root_of(8, h);
	assert_int_equal(merkle_verify_inclusion(leaves[0], 0, 0, P(proof), 0, h), ERR_INVALID);
	assert_int_equal(merkle_verify_inclusion(leaves[0], UINT64_MAX, UINT64_MAX, P(proof), 3, h),
			 ERR_INVALID);
	assert_int_equal(
	    merkle_verify_inclusion(leaves[0], 0, 8, P(proof), MERKLE_PROOF_MAX + 1, h),
	    ERR_INVALID);
	assert_int_equal(merkle_verify_inclusion(leaves[0], 0, 8, NULL, 3, h), ERR_INVALID);
	assert_int_equal(merkle_verify_consistency(5, 4, h, h, P(proof), 1), ERR_INVALID);
	assert_int_equal(merkle_verify_consistency(1, UINT64_MAX, h, h, P(proof), 1), ERR_INVALID);
	assert_int_equal(merkle_verify_consistency(1, 8, h, h, P(proof), MERKLE_PROOF_MAX + 1),
			 ERR_INVALID);
	/* Size 1: the leaf is the root and the proof is empty. */
	assert_int_equal(merkle_verify_inclusion(leaves[0], 0, 1, NULL, 0, leaves[0]), 0);
	assert_int_equal(merkle_verify_inclusion(leaves[0], 0, 1, P(proof), 1, leaves[0]),
			 ERR_CRYPTO);
	/* From the empty tree: only the empty root and an empty proof. */
	merkle_empty_root(proof[0]);
	assert_int_equal(merkle_verify_consistency(0, 8, proof[0], h, NULL, 0), 0);
	assert_int_equal(merkle_verify_consistency(0, 0, proof[0], proof[0], NULL, 0), 0);
	assert_int_equal(merkle_verify_consistency(0, 8, h, h, NULL, 0), ERR_CRYPTO);
	assert_int_equal(merkle_verify_consistency(0, 8, proof[0], h, P(proof), 1), ERR_CRYPTO);
	/* Same size: equal roots and nothing else. */
	assert_int_equal(merkle_verify_consistency(8, 8, h, h, NULL, 0), 0);
	assert_int_equal(merkle_verify_consistency(8, 8, h, proof[0], NULL, 0), ERR_CRYPTO);
	assert_int_equal(merkle_verify_consistency(8, 8, h, h, P(proof), 1), ERR_CRYPTO);
	/* 0 < from < to needs a proof. */
	assert_int_equal(merkle_verify_consistency(4, 8, h, h, NULL, 0), ERR_CRYPTO);
}

static void test_callback_errors(void **state)
{
	uint8_t proof[MERKLE_PROOF_MAX][HS], h[HS];
	struct merkle_builder b;
	size_t n;
	(void)state;
	st.size = 1000;
	for (int k = 0; k < 12; k++) {
		st.calls = 0;
		st.fail_after = k;
		int r1 = merkle_inclusion_proof(store_get, &st, 500, 1000, proof, &n);
		st.calls = 0;
		int r2 = merkle_consistency_proof(store_get, &st, 300, 1000, proof, &n);
		st.calls = 0;
		int r3 = merkle_root(store_get, &st, 1000, h);
		st.calls = 0;
		int r4 = merkle_builder_load(&b, 999, store_get, &st);
		/* 1000 has 6 one bits, 999 has 8; the proofs need more
		 * look-ups than 12. */
		assert_int_equal(r1, ERR_IO);
		assert_int_equal(r2, ERR_IO);
		assert_int_equal(r3, k < 6 ? ERR_IO : 0);
		assert_int_equal(r4, k < 8 ? ERR_IO : 0);
	}
	st.fail_after = -1;
}

/* ---- the largest trees ---- */

/* A tree whose leaves all have the same hash: a perfect subtree's hash
 * then depends only on its height, so trees of 2^63 - 1 leaves cost
 * nothing to describe and proofs reach their maximum length. */
static uint8_t same[MERKLE_HEIGHT_MAX][HS];

static int same_get(void *ctx, uint64_t start, unsigned height, uint8_t out[HS])
{
	(void)ctx;
	assert_true(height < MERKLE_HEIGHT_MAX);
	assert_int_equal(start % ((uint64_t)1 << height), 0);
	memcpy(out, same[height], HS);
	return 0;
}

static void test_huge(void **state)
{
	static const uint64_t sizes[] = {MERKLE_SIZE_MAX, MERKLE_SIZE_MAX - 1,
					 ((uint64_t)1 << 62) + 1, ((uint64_t)1 << 62), 1000000007};
	uint8_t proof[MERKLE_PROOF_MAX][HS], r1[HS], r2[HS];
	size_t n, longest = 0;
	(void)state;
	memcpy(same[0], leaves[7], HS);
	for (unsigned h = 1; h < MERKLE_HEIGHT_MAX; h++)
		merkle_node_hash(same[h - 1], same[h - 1], same[h]);
	for (size_t s = 0; s < ARRAY_SIZE(sizes); s++) {
		uint64_t size = sizes[s];
		const uint64_t idx[] = {0, 1, 2, size / 2, size / 3, size - 2, size - 1};
		assert_int_equal(merkle_root(same_get, NULL, size, r2), 0);
		for (size_t k = 0; k < ARRAY_SIZE(idx); k++) {
			assert_int_equal(
			    merkle_inclusion_proof(same_get, NULL, idx[k], size, proof, &n), 0);
			assert_true(n <= MERKLE_PROOF_MAX);
			assert_int_equal(
			    merkle_verify_inclusion(same[0], idx[k], size, P(proof), n, r2), 0);
			if (n > 0) {
				proof[n / 2][0] ^= 1;
				assert_int_equal(
				    merkle_verify_inclusion(same[0], idx[k], size, P(proof), n, r2),
				    ERR_CRYPTO);
			}
			if (idx[k] == 0)
				continue;
			assert_int_equal(merkle_root(same_get, NULL, idx[k], r1), 0);
			assert_int_equal(
			    merkle_consistency_proof(same_get, NULL, idx[k], size, proof, &n), 0);
			if (n > longest)
				longest = n;
			assert_int_equal(
			    merkle_verify_consistency(idx[k], size, r1, r2, P(proof), n), 0);
			if (n > 0) {
				proof[n - 1][HS - 1] ^= 0x40;
				assert_int_equal(
				    merkle_verify_consistency(idx[k], size, r1, r2, P(proof), n),
				    ERR_CRYPTO);
			}
		}
	}
	/* From 3 to 2^62 + 1: down the left 2^62 subtree to a single leaf,
	 * then the final subtree, 64 hashes in all. */
	assert_int_equal(
	    merkle_consistency_proof(same_get, NULL, 3, ((uint64_t)1 << 62) + 1, proof, &n), 0);
	assert_true(n <= MERKLE_PROOF_MAX);
	assert_true(longest >= 60);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hash_primitives),
	    cmocka_unit_test(test_roots),
	    cmocka_unit_test(test_inclusion_vectors),
	    cmocka_unit_test(test_consistency_vectors),
	    cmocka_unit_test(test_inclusion_exhaustive),
	    cmocka_unit_test(test_consistency_exhaustive),
	    cmocka_unit_test(test_builder),
	    cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_callback_errors),
	    cmocka_unit_test(test_huge),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, setup, teardown);
}
