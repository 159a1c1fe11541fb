/*
 * Integration tests of the tamper-evident ledger through the real
 * binaries: `mamori serve` signs a checkpoint when it stops, and `mamori
 * verify DIR` accepts the untouched instance and names the first place
 * of a change, with its exit codes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "base/base.h"
#include "base/buf.h"
#include "integration/harness.h"
#include "ledger/ledger.h"
#include "ledger/merkle.h"
#include "ledger/note.h"
#include "ledger/verify.h"

static struct h_instance HI;

static int run(const char *const *args, struct buf *out, struct buf *err)
{
	buf_release(out);
	buf_release(err);
	return h_run(args, NULL, 0, out, err);
}

static int group_setup(void **state)
{
	(void)state;
	if (h_instance_new(&HI, 500, 20, 1000) == 0)
		return 0;
	h_instance_free(&HI);
	return -1;
}

static int group_teardown(void **state)
{
	(void)state;
	h_instance_free(&HI);
	return 0;
}

static off_t size_of(const char *rel)
{
	char p[700];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", HI.dir, rel);
	return stat(p, &st) == 0 ? st.st_size : -1;
}

/* ---- the ledger routes ---- */

static json_t *get_json(const char *path, bool auth, int want_status)
{
	struct h_resp r;
	json_t *j;
	char ct[128];

	if (auth)
		assert_int_equal(h_http_auth(&HI, "GET", path, NULL, 0, &r), 0);
	else
		assert_int_equal(h_http(HI.port, "GET", path, NULL, NULL, 0, &r), 0);
	if (r.status != want_status)
		fail_msg("%s: status %d: %s", path, r.status, r.body.data ? r.body.data : "");
	assert_int_equal(h_resp_header(&r, "Content-Type", ct, sizeof(ct)), 0);
	assert_string_equal(ct, want_status == 200 ? "application/json" : "application/problem+json");
	j = json_loadb(r.body.data, r.body.len, 0, NULL);
	assert_non_null(j);
	h_resp_release(&r);
	return j;
}

static void expect_400(const char *path, bool auth)
{
	json_t *j = get_json(path, auth, 400);

	assert_string_equal(json_string_value(json_object_get(j, "code")), "invalid");
	assert_true(strlen(json_string_value(json_object_get(j, "detail"))) > 5);
	json_decref(j);
}

static void b64_hash(json_t *v, uint8_t out[32])
{
	size_t n = 0;
	const char *s = json_string_value(v);

	assert_non_null(s);
	assert_int_equal(sodium_base642bin(out, 32, s, strlen(s), NULL, &n, NULL,
					   sodium_base64_VARIANT_ORIGINAL),
			 0);
	assert_int_equal(n, 32);
}

static size_t proof_of(json_t *j, uint8_t proof[][32])
{
	json_t *a = json_object_get(j, "proof");
	size_t i;
	json_t *v;

	assert_true(json_is_array(a));
	assert_true(json_array_size(a) <= MERKLE_PROOF_MAX);
	json_array_foreach(a, i, v) b64_hash(v, proof[i]);
	return json_array_size(a);
}

static void test_ledger_api(void **state)
{
	char p[700], path[200], origin[300];
	struct h_resp r;
	struct note n;
	struct note_checkpoint ck;
	struct ledger *l = NULL;
	struct buf rec;
	uint8_t pk[32], leaf[32], root[32], proof[MERKLE_PROOF_MAX][32], r1[32], r2[32];
	uint64_t size;
	size_t np;
	json_t *j, *e;

	(void)state;
	buf_init(&rec, SIZE_MAX);
	assert_int_equal(h_serve_start(&HI), 0);
	/* The checkpoint: a note signed by the instance key. */
	assert_int_equal(h_http(HI.port, "GET", "/v1/ledger/checkpoint", NULL, NULL, 0, &r), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(h_resp_header(&r, "Content-Type", p, sizeof(p)), 0);
	assert_string_equal(p, "text/plain; charset=utf-8");
	assert_int_equal(note_parse(r.body.data, r.body.len, &n, NULL, NULL), 0);
	assert_int_equal(note_checkpoint_parse(n.text, n.text_len, &ck, NULL, NULL), 0);
	assert_true(ck.origin_len > 7 && ck.origin_len < sizeof(origin));
	memcpy(origin, ck.origin, ck.origin_len);
	origin[ck.origin_len] = '\0';
	assert_memory_equal(origin, "mamori/", 7);
	snprintf(p, sizeof(p), "%s/keys/signing.pub", HI.dir);
	assert_int_equal(ledger_read_public_key(p, pk), 0);
	assert_int_equal(note_verify(&n, origin, pk), 0);
	size = ck.size;
	memcpy(root, ck.root, 32);
	h_resp_release(&r);
	assert_true(size >= 3);

	/* Inclusion of entry 1 against the signed root, leaf from the records. */
	snprintf(p, sizeof(p), "%s/ledger", HI.dir);
	assert_int_equal(ledger_open(p, LEDGER_READ_ONLY, &l), 0);
	assert_int_equal(ledger_read(l, 1, &rec), 0);
	merkle_leaf_hash(rec.data, rec.len, leaf);
	snprintf(path, sizeof(path), "/v1/ledger/proof/inclusion?index=1&size=%" PRIu64, size);
	j = get_json(path, true, 200);
	b64_hash(json_object_get(j, "leaf_hash"), r1);
	assert_memory_equal(r1, leaf, 32);
	b64_hash(json_object_get(j, "root"), r2);
	assert_memory_equal(r2, root, 32);
	np = proof_of(j, proof);
	assert_int_equal(merkle_verify_inclusion(leaf, 1, size, (const uint8_t(*)[32])proof, np, root), 0);
	leaf[0] ^= 1;
	assert_int_equal(merkle_verify_inclusion(leaf, 1, size, (const uint8_t(*)[32])proof, np, root),
			 ERR_CRYPTO);
	json_decref(j);

	/* Consistency from the tree of entry 0 alone to the signed tree. */
	assert_int_equal(ledger_read(l, 0, &rec), 0);
	merkle_leaf_hash(rec.data, rec.len, leaf);
	snprintf(path, sizeof(path), "/v1/ledger/proof/consistency?from=1&to=%" PRIu64, size);
	j = get_json(path, false, 200);
	b64_hash(json_object_get(j, "from_root"), r1);
	assert_memory_equal(r1, leaf, 32);
	b64_hash(json_object_get(j, "to_root"), r2);
	assert_memory_equal(r2, root, 32);
	np = proof_of(j, proof);
	assert_int_equal(merkle_verify_consistency(1, size, leaf, root, (const uint8_t(*)[32])proof, np), 0);
	json_decref(j);

	/* Entries: the records themselves. */
	j = get_json("/v1/ledger/entries?start=0&end=3", true, 200);
	e = json_object_get(j, "entries");
	assert_int_equal(json_array_size(e), 3);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(json_integer_value(json_object_get(json_array_get(e, i), "index")), (json_int_t)i);
	assert_int_equal(json_integer_value(json_object_get(j, "end")), 3);
	json_decref(j);
	ledger_close(l);
	buf_release(&rec);

	/* Bad input: problem documents, never a crash or a partial answer. */
	expect_400("/v1/ledger/proof/inclusion", true);
	expect_400("/v1/ledger/proof/inclusion?index=0", true);
	expect_400("/v1/ledger/proof/inclusion?index=abc&size=2", true);
	expect_400("/v1/ledger/proof/inclusion?index=-1&size=2", true);
	expect_400("/v1/ledger/proof/inclusion?index=2&size=2", true);
	expect_400("/v1/ledger/proof/inclusion?index=0&size=99999999999", true);
	expect_400("/v1/ledger/proof/inclusion?index=0&size=99999999999999999999999", true);
	expect_400("/v1/ledger/proof/consistency?from=3&to=2", false);
	expect_400("/v1/ledger/proof/consistency?from=0&to=99999999999", false);
	expect_400("/v1/ledger/proof/consistency?from=1", false);
	expect_400("/v1/ledger/entries?start=0&end=0", true);
	expect_400("/v1/ledger/entries?start=5&end=2", true);
	expect_400("/v1/ledger/entries?start=0&end=1001", true);
	expect_400("/v1/ledger/entries?start=0&end=99999999999", true);
	expect_400("/v1/ledger/entries?start=+1&end=2", true);
	j = get_json("/v1/ledger/entries?start=0&end=1", false, 401);
	json_decref(j);
	assert_int_equal(h_http_auth(&HI, "POST", "/v1/ledger/checkpoint", NULL, 0, &r), 0);
	assert_int_equal(r.status, 405);
	h_resp_release(&r);
	/* Edges that are fine: a proof in a tree of one, consistency from 0. */
	j = get_json("/v1/ledger/proof/inclusion?index=0&size=1", true, 200);
	assert_int_equal(json_array_size(json_object_get(j, "proof")), 0);
	json_decref(j);
	j = get_json("/v1/ledger/proof/consistency?from=0&to=1", false, 200);
	assert_int_equal(json_array_size(json_object_get(j, "proof")), 0);
	json_decref(j);
	assert_int_equal(h_serve_stop(&HI), 0);
}

static void test_serve_checkpoint_and_verify(void **state)
{
	const char *a[] = { "verify", HI.dir, NULL };
	struct buf out, err;

	(void)state;
	buf_init(&out, 1 << 20);
	buf_init(&err, 1 << 20);
	assert_int_equal(h_serve_start(&HI), 0);
	assert_int_equal(h_serve_stop(&HI), 0);
	/* The checkpoint thread signs one at start and one at a clean stop. */
	assert_true(size_of("ledger/checkpoints/latest") > 0);
	assert_int_equal(run(a, &out, &err), 0);
	assert_non_null(strstr(out.data, "verified: "));
	assert_non_null(strstr(out.data, " checkpoints agree"));
	assert_null(strstr(out.data, " 0 checkpoints"));
	buf_release(&out);
	buf_release(&err);
}

static void test_verify_tampered(void **state)
{
	const char *a[] = { "verify", HI.dir, NULL };
	struct buf out, err;
	char p[700], c;
	int fd;

	(void)state;
	buf_init(&out, 1 << 20);
	buf_init(&err, 1 << 20);
	assert_true(size_of("ledger/seg/000000000000.log") > 300);
	snprintf(p, sizeof(p), "%s/ledger/seg/000000000000.log", HI.dir);
	fd = open(p, O_RDWR);
	assert_true(fd >= 0);
	/* Byte 40 lies inside entry 0 (its header alone is about 60 bytes). */
	assert_int_equal(pread(fd, &c, 1, 40), 1);
	c ^= 0x04;
	assert_int_equal(pwrite(fd, &c, 1, 40), 1);
	assert_int_equal(run(a, &out, &err), 1);
	assert_non_null(strstr(err.data, "verification FAILED: entry 0"));
	assert_non_null(strstr(err.data, "seg/000000000000.log"));
	c ^= 0x04;
	assert_int_equal(pwrite(fd, &c, 1, 40), 1);
	close(fd);
	assert_int_equal(run(a, &out, &err), 0);
	buf_release(&out);
	buf_release(&err);
}

static void test_verify_usage(void **state)
{
	const char *none[] = { "verify", NULL };
	const char *two[] = { "verify", HI.dir, HI.dir, NULL };
	const char *missing[] = { "verify", "/nonexistent/mamori-instance", NULL };
	const char *help[] = { "verify", "--help", NULL };
	struct buf out, err;

	(void)state;
	buf_init(&out, 1 << 20);
	buf_init(&err, 1 << 20);
	assert_int_equal(run(none, &out, &err), 2);
	assert_int_equal(run(two, &out, &err), 2);
	assert_int_equal(run(missing, &out, &err), 1);
	assert_non_null(strstr(err.data, "signing.pub"));
	assert_int_equal(run(help, &out, &err), 0);
	assert_non_null(strstr(out.data, "usage: mamori verify DIR"));
	buf_release(&out);
	buf_release(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ledger_api),
		cmocka_unit_test(test_serve_checkpoint_and_verify),
		cmocka_unit_test(test_verify_tampered),
		cmocka_unit_test(test_verify_usage),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
