/*
 * Integration tests of `mamori witness` against a served instance: the
 * witness accepts and cosigns the first checkpoint, the instance stores
 * and serves the cosignature, a grown ledger is accepted through a
 * consistency proof, and a rewritten history under the same key (a split
 * view) or a wrong verifier key is refused with the witness's state kept.
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
#include "ledger/note.h"
#include "ledger/verify.h"

static struct h_instance HI, H2;
static char WDIR[600], URL[64], VKEY[512], WVKEY[512];

static int run(const char *const *args, struct buf *out, struct buf *err)
{
	buf_release(out);
	buf_release(err);
	return h_run(args, NULL, 0, out, err);
}

static void slurp(const char *path, struct buf *out)
{
	char tmp[4096];
	ssize_t n;
	int fd = open(path, O_RDONLY);

	buf_release(out);
	buf_init(out, 1 << 20);
	assert_true(fd >= 0);
	while ((n = read(fd, tmp, sizeof(tmp))) > 0)
		assert_int_equal(buf_append(out, tmp, (size_t)n), 0);
	close(fd);
}

static void copy_file(const char *from, const char *to)
{
	struct buf b = {0};
	int fd;

	slurp(from, &b);
	fd = open(to, O_WRONLY | O_TRUNC | O_CREAT, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, b.data, b.len), (ssize_t)b.len);
	close(fd);
	buf_release(&b);
}

static void set_url(uint16_t port)
{
	snprintf(URL, sizeof(URL), "http://127.0.0.1:%u", (unsigned)port);
}

/* The served checkpoint, parsed; the note text stays in out. */
static void get_checkpoint(struct h_instance *hi, struct buf *out, struct note *n,
			   struct note_checkpoint *cp)
{
	struct h_resp r;

	assert_int_equal(h_http(hi->port, "GET", "/v1/ledger/checkpoint", NULL, NULL, 0, &r), 0);
	assert_int_equal(r.status, 200);
	buf_release(out);
	buf_init(out, 1 << 20);
	assert_int_equal(buf_append(out, r.body.data, r.body.len), 0);
	h_resp_release(&r);
	assert_int_equal(note_parse(out->data, out->len, n, NULL, NULL), 0);
	assert_int_equal(note_checkpoint_parse(n->text, n->text_len, cp, NULL, NULL), 0);
}

static int check(const char *vkey, struct buf *out, struct buf *err)
{
	const char *a[] = {"witness", "check", WDIR,	    "--url",   URL,
			   "--vkey",  vkey,    "--api-key", HI.apikey, NULL};
	return run(a, out, err);
}

/* Grow the ledger by n decisions (denied: unknown staff, still recorded). */
static void decide_n(int n)
{
	const char *body =
	    "{\"staff_id\":\"X-NOBODY\",\"action\":\"view\",\"resident_id\":\"X-R\","
	    "\"system\":\"x-sys\",\"zone\":\"lgwan\",\"terminal\":\"T-1\",\"mfa\":false,"
	    "\"case_id\":null,\"ts\":\"2026-04-01T10:00:00+09:00\"}";
	for (int i = 0; i < n; i++) {
		struct h_resp r;
		assert_int_equal(h_http_auth(&HI, "POST", "/v1/decide", body, strlen(body), &r), 0);
		if (r.status != 200)
			fail_msg("decide: %d %s", r.status, r.body.data);
		h_resp_release(&r);
	}
}

static int group_setup(void **state)
{
	(void)state;
	if (h_instance_new(&HI, 500, 20, 1000) != 0 || h_serve_start(&HI) != 0)
		return -1;
	snprintf(WDIR, sizeof(WDIR), "%s/../witness", HI.dir);
	set_url(HI.port);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	h_instance_free(&HI);
	h_instance_free(&H2);
	return 0;
}

static void test_init_and_vkey(void **state)
{
	struct buf o = {0}, e = {0};
	struct note_vkey vk;
	struct stat st;
	char path[700], pubp[700], origin[NOTE_NAME_MAX + 1];
	uint8_t pk[32];
	struct buf cpb = {0}, want = {0};
	struct note n;
	struct note_checkpoint cp;
	(void)state;

	{
		const char *a[] = {"witness", "init", WDIR, "--name", "prefecture.example/witness",
				   NULL};
		assert_int_equal(run(a, &o, &e), 0);
	}
	assert_true(o.len > 0 && o.data[o.len - 1] == '\n');
	assert_int_equal(note_vkey_parse(o.data, o.len - 1, &vk, NULL, NULL), 0);
	assert_string_equal(vk.name, "prefecture.example/witness");
	snprintf(WVKEY, sizeof(WVKEY), "%.*s", (int)(o.len - 1), o.data);
	snprintf(path, sizeof(path), "%s/witness.key", WDIR);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* A second init never overwrites the key. */
	{
		const char *a[] = {"witness", "init", WDIR, "--name", "other", NULL};
		assert_int_equal(run(a, &o, &e), 1);
	}
	{
		const char *a[] = {"witness", "init", WDIR, "--name", "bad name", NULL};
		assert_int_equal(run(a, &o, &e), 1);
	}
	/* The instance's verifier key: from `witness vkey`, and the same
	 * computed here from keys/signing.pub and the checkpoint's origin. */
	{
		const char *a[] = {"witness", "vkey", HI.dir, NULL};
		assert_int_equal(run(a, &o, &e), 0);
	}
	snprintf(VKEY, sizeof(VKEY), "%.*s", (int)strcspn(o.data, "\n"), o.data);
	get_checkpoint(&HI, &cpb, &n, &cp);
	snprintf(origin, sizeof(origin), "%.*s", (int)cp.origin_len, cp.origin);
	snprintf(pubp, sizeof(pubp), "%s/keys/signing.pub", HI.dir);
	assert_int_equal(ledger_read_public_key(pubp, pk), 0);
	buf_init(&want, 4096);
	assert_int_equal(note_vkey_format(&want, origin, pk), 0);
	assert_string_equal(VKEY, want.data);
	buf_release(&want);
	buf_release(&cpb);
	buf_release(&o);
	buf_release(&e);
}

/* The checkpoint served carries the witness's verified signature. */
static void assert_cosigned(uint64_t *size_out)
{
	struct buf cpb = {0};
	struct note n;
	struct note_checkpoint cp;
	struct note_vkey w, in;

	get_checkpoint(&HI, &cpb, &n, &cp);
	assert_int_equal(note_vkey_parse(WVKEY, strlen(WVKEY), &w, NULL, NULL), 0);
	assert_int_equal(note_vkey_parse(VKEY, strlen(VKEY), &in, NULL, NULL), 0);
	assert_int_equal(n.nsigs, 2);
	assert_int_equal(note_verify(&n, in.name, in.pk), 0);
	assert_int_equal(note_verify(&n, w.name, w.pk), 0);
	*size_out = cp.size;
	buf_release(&cpb);
}

static void test_check_accepts_and_cosigns(void **state)
{
	struct buf o = {0}, e = {0}, latest = {0};
	struct note n;
	struct note_checkpoint cp;
	struct note_vkey w;
	char path[700];
	uint64_t size1 = 0, size2 = 0;
	(void)state;

	/* Before any check the instance serves its own signature only. */
	get_checkpoint(&HI, &latest, &n, &cp);
	assert_int_equal(n.nsigs, 1);
	assert_int_equal(check(VKEY, &o, &e), 0);
	assert_non_null(strstr(o.data, "accepted and cosigned"));
	assert_non_null(strstr(o.data, "(first)"));
	assert_cosigned(&size1);
	snprintf(path, sizeof(path), "%s/latest", WDIR);
	slurp(path, &latest);
	assert_int_equal(note_parse(latest.data, latest.len, &n, NULL, NULL), 0);
	assert_int_equal(note_vkey_parse(WVKEY, strlen(WVKEY), &w, NULL, NULL), 0);
	assert_int_equal(note_verify(&n, w.name, w.pk), 0);

	/* Checking again at the same size is consistent (equal roots). */
	assert_int_equal(check(VKEY, &o, &e), 0);
	assert_non_null(strstr(o.data, "(consistent)"));

	/* The ledger grows; a restart signs a new checkpoint. */
	decide_n(5);
	assert_int_equal(h_serve_stop(&HI), 0);
	assert_int_equal(h_serve_start(&HI), 0);
	set_url(HI.port);
	get_checkpoint(&HI, &latest, &n, &cp);
	assert_true(cp.size >= size1 + 5);
	assert_int_equal(n.nsigs, 1); /* not cosigned yet */
	assert_int_equal(check(VKEY, &o, &e), 0);
	assert_non_null(strstr(o.data, "(consistent)"));
	assert_cosigned(&size2);
	assert_int_equal(size2, cp.size);
	/* The stored cosignatures do not disturb `mamori verify`. */
	{
		const char *a[] = {"verify", HI.dir, NULL};
		assert_int_equal(run(a, &o, &e), 0);
	}
	buf_release(&latest);
	buf_release(&o);
	buf_release(&e);
}

static void post_expect(const char *body, size_t len, bool auth, int status)
{
	struct h_resp r;
	char hdr[256];

	/* A witness sends its signed note as text/plain. */
	snprintf(hdr, sizeof(hdr), "%s%s%sContent-Type: text/plain; charset=utf-8\r\n",
		 auth ? "Authorization: Bearer " : "", auth ? HI.apikey : "", auth ? "\r\n" : "");
	assert_int_equal(h_http(HI.port, "POST", "/v1/ledger/cosignature", hdr, body, len, &r), 0);
	if (r.status != status)
		fail_msg("cosignature: want %d, got %d: %s", status, r.status, r.body.data);
	if (status >= 400)
		assert_non_null(strstr(r.body.data, "\"status\":"));
	h_resp_release(&r);
}

static void test_cosignature_bad_input(void **state)
{
	struct buf cpb = {0}, bad = {0}, note = {0};
	struct note n;
	struct note_checkpoint cp;
	uint8_t seed[32];
	char path[700];
	(void)state;

	get_checkpoint(&HI, &cpb, &n, &cp);
	post_expect(cpb.data, cpb.len, false, 401);
	/* A note is text: another media type is refused before it is read. */
	{
		struct h_resp r;
		assert_int_equal(
		    h_http_auth(&HI, "POST", "/v1/ledger/cosignature", cpb.data, cpb.len, &r), 0);
		assert_int_equal(r.status, 415);
		h_resp_release(&r);
	}
	post_expect("", 0, true, 400);
	post_expect("not a note\n", 11, true, 400);
	/* Only the instance's signature: no cosignature. */
	snprintf(path, sizeof(path), "%s/ledger/checkpoints/%" PRIu64 ".note", HI.dir, cp.size);
	slurp(path, &note);
	post_expect(note.data, note.len, true, 400);
	/* A text that is not a stored checkpoint, signed by someone. */
	randombytes_buf(seed, sizeof(seed));
	buf_init(&bad, 1 << 16);
	{
		const char *t = "mamori/forged\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
		assert_int_equal(note_sign(&bad, t, strlen(t), "w", seed), 0);
	}
	post_expect(bad.data, bad.len, true, 400);
	/* The stored text with a witness's signature but not the instance's. */
	buf_reset(&bad);
	assert_int_equal(note_sign(&bad, n.text, n.text_len, "w", seed), 0);
	post_expect(bad.data, bad.len, true, 400);
	/* The stored note plus a cosignature is accepted, and a repeat adds
	 * nothing new. */
	assert_int_equal(note_add_sig(&note, "another-witness", seed), 0);
	post_expect(note.data, note.len, true, 200);
	{
		struct h_resp r;
		char hdr[256];
		snprintf(hdr, sizeof(hdr),
			 "Authorization: Bearer %s\r\nContent-Type: text/plain\r\n", HI.apikey);
		assert_int_equal(
		    h_http(HI.port, "POST", "/v1/ledger/cosignature", hdr, note.data, note.len, &r), 0);
		assert_int_equal(r.status, 200);
		assert_non_null(strstr(r.body.data, "\"added\":0"));
		assert_non_null(strstr(r.body.data, "\"signatures\":3"));
		h_resp_release(&r);
	}
	get_checkpoint(&HI, &cpb, &n, &cp);
	assert_int_equal(n.nsigs, 3);
	buf_release(&cpb);
	buf_release(&bad);
	buf_release(&note);
}

static void test_wrong_vkey(void **state)
{
	struct buf o = {0}, e = {0}, before = {0}, after = {0}, vk = {0};
	struct note_vkey in;
	uint8_t pk[32], sk[64];
	char path[700];
	(void)state;

	snprintf(path, sizeof(path), "%s/latest", WDIR);
	slurp(path, &before);
	/* The witness's own key, and the instance's name with another key. */
	assert_int_equal(check(WVKEY, &o, &e), 1);
	assert_int_equal(note_vkey_parse(VKEY, strlen(VKEY), &in, NULL, NULL), 0);
	crypto_sign_keypair(pk, sk);
	buf_init(&vk, 4096);
	assert_int_equal(note_vkey_format(&vk, in.name, pk), 0);
	assert_int_equal(check(vk.data, &o, &e), 1);
	assert_non_null(strstr(e.data, "does not verify"));
	assert_int_equal(check("garbage", &o, &e), 2);
	slurp(path, &after);
	assert_int_equal(before.len, after.len);
	assert_memory_equal(before.data, after.data, before.len);
	buf_release(&before);
	buf_release(&after);
	buf_release(&vk);
	buf_release(&o);
	buf_release(&e);
}

/*
 * A rewritten history: a second instance with the same name (so the same
 * origin) and the first one's keys, whose ledger is a different history.
 * First about the same size or smaller, then larger.
 */
static void test_split_view(void **state)
{
	struct buf o = {0}, e = {0}, before = {0}, after = {0};
	char from[700], to[700], path[700], ev[700];
	(void)state;

	snprintf(path, sizeof(path), "%s/latest", WDIR);
	slurp(path, &before);
	assert_int_equal(h_serve_stop(&HI), 0);
	assert_int_equal(h_instance_new(&H2, 500, 20, 1000), 0);
	snprintf(from, sizeof(from), "%s/keys/signing.key", HI.dir);
	snprintf(to, sizeof(to), "%s/keys/signing.key", H2.dir);
	copy_file(from, to);
	snprintf(from, sizeof(from), "%s/keys/signing.pub", HI.dir);
	snprintf(to, sizeof(to), "%s/keys/signing.pub", H2.dir);
	copy_file(from, to);
	assert_int_equal(h_serve_start(&H2), 0);
	set_url(H2.port);
	assert_int_equal(check(VKEY, &o, &e), 1);
	assert_non_null(strstr(e.data, "SPLIT VIEW"));
	assert_non_null(strstr(e.data, "accepted: size"));
	slurp(path, &after);
	assert_int_equal(before.len, after.len);
	assert_memory_equal(before.data, after.data, before.len);

	/* The same size as the accepted checkpoint, another root: enough
	 * events that, with the "reload" record `mamori serve` adds when it
	 * starts, the sizes are equal. */
	{
		struct buf cpb = {0}, lines = {0};
		struct note n;
		struct note_checkpoint cp, acc;
		uint64_t now, k;
		const char *p;

		get_checkpoint(&H2, &cpb, &n, &cp);
		now = cp.size;
		assert_int_equal(note_parse(before.data, before.len, &n, NULL, NULL), 0);
		assert_int_equal(note_checkpoint_parse(n.text, n.text_len, &acc, NULL, NULL), 0);
		assert_true(acc.size > now + 1);
		k = acc.size - now - 1;
		assert_int_equal(h_serve_stop(&H2), 0);
		snprintf(ev, sizeof(ev), "%s/access.jsonl", H2.datadir);
		slurp(ev, &lines);
		p = lines.data;
		for (uint64_t i = 0; i < k; i++) {
			p = strchr(p, '\n');
			assert_non_null(p);
			p++;
		}
		{
			const char *a[] = {"ingest", H2.dir, "-", "--quiet", NULL};
			assert_int_equal(h_run(a, lines.data, (size_t)(p - lines.data), NULL, NULL),
					 0);
		}
		assert_int_equal(h_serve_start(&H2), 0);
		set_url(H2.port);
		get_checkpoint(&H2, &cpb, &n, &cp);
		assert_int_equal(cp.size, acc.size);
		assert_int_equal(check(VKEY, &o, &e), 1);
		assert_non_null(strstr(e.data, "SPLIT VIEW"));
		assert_non_null(strstr(e.data, "the same size with a different root"));
		slurp(path, &after);
		assert_int_equal(before.len, after.len);
		assert_memory_equal(before.data, after.data, before.len);
		buf_release(&cpb);
		buf_release(&lines);
	}

	/* Larger than the accepted size: the consistency proof fails. */
	assert_int_equal(h_serve_stop(&H2), 0);
	snprintf(ev, sizeof(ev), "%s/access.jsonl", H2.datadir);
	{
		const char *a[] = {"ingest", H2.dir, ev, "--quiet", NULL};
		assert_int_equal(run(a, &o, &e), 0);
	}
	assert_int_equal(h_serve_start(&H2), 0);
	set_url(H2.port);
	assert_int_equal(check(VKEY, &o, &e), 1);
	assert_non_null(strstr(e.data, "SPLIT VIEW"));
	assert_non_null(strstr(e.data, "consistency proof fails"));
	slurp(path, &after);
	assert_int_equal(before.len, after.len);
	assert_memory_equal(before.data, after.data, before.len);
	assert_int_equal(h_serve_stop(&H2), 0);

	/* The genuine instance is still accepted. */
	assert_int_equal(h_serve_start(&HI), 0);
	set_url(HI.port);
	assert_int_equal(check(VKEY, &o, &e), 0);
	buf_release(&before);
	buf_release(&after);
	buf_release(&o);
	buf_release(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_init_and_vkey),
	    cmocka_unit_test(test_check_accepts_and_cosigns),
	    cmocka_unit_test(test_cosignature_bad_input),
	    cmocka_unit_test(test_wrong_vkey),
	    cmocka_unit_test(test_split_view),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
