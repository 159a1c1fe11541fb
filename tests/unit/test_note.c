/*
 * Unit tests for src/ledger/note.c: C2SP signed notes, checkpoints and
 * verifier keys.
 *
 * Two sets of known answers: the PeterNeumann and EnochRoot keys and notes
 * published with Go's golang.org/x/mod/sumdb/note (note_test.go), and the
 * values printed by tests/unit/vectors/merkle_vectors.py, computed with
 * Python's hashlib and the 'cryptography' package's Ed25519 from a fixed
 * seed (the bytes 0..31).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sodium.h>

#include "base/base.h"
#include "base/buf.h"
#include "base/diag.h"
#include "ledger/merkle.h"
#include "ledger/note.h"

/* From golang.org/x/mod/sumdb/note, note_test.go. */
#define GO_VKEY "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
#define GO_SKEY "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
#define GO_TEXT                                                                                    \
	"If you think cryptography is the answer to your problem,\n"                               \
	"then you don't know what your problem is.\n"
#define GO_PETER_SIG                                                                               \
	"— PeterNeumann "                                                                        \
	"x08go/ZJkuBS9UG/"                                                                         \
	"SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
#define GO_ENOCH_VKEY "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
#define GO_ENOCH_SIG                                                                               \
	"— EnochRoot "                                                                           \
	"rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/"                                             \
	"5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n"

/* From tests/unit/vectors/merkle_vectors.py: */
/* Seed bytes 0..31, name mamori.example/ledger. */
#define VEC_PK "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8"
#define VEC_KEY_ID 0x991e14c1U
#define VEC_VKEY "mamori.example/ledger+991e14c1+AQOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4"
#define VEC_BODY "mamori.example/ledger\n1000\nGXZWywpUOmNYZy0E4uzPy9DynpQ2+VSVbYQT/qtLEXQ=\n"
#define VEC_NOTE                                                                                   \
	VEC_BODY "\n"                                                                              \
		 "— mamori.example/ledger "                                                      \
		 "mR4UwZxGItaeTYP1hDrLeAHadwjKHif9/"                                               \
		 "66FWgMkqJ8QhhXeQ5An5ZxTy2DWlrpLTKldrc3UhkZPULgYH8lu6qAVjQw=\n"

/* The root of the tree of the first 1000 leaves (see test_merkle.c). */
#define VEC_ROOT_1000 "197656cb0a543a6358672d04e2eccfcbd0f29e9436f954956d8413feab4b1174"

#define ORIGIN "mamori.example/ledger"

static void seed_of(uint8_t seed[NOTE_SEED_SIZE])
{
	for (int i = 0; i < NOTE_SEED_SIZE; i++)
		seed[i] = (uint8_t)i;
}

static void pk_of(const uint8_t seed[NOTE_SEED_SIZE], uint8_t pk[NOTE_KEY_SIZE])
{
	uint8_t sk[crypto_sign_SECRETKEYBYTES];
	assert_int_equal(crypto_sign_seed_keypair(pk, sk, seed), 0);
	sodium_memzero(sk, sizeof(sk));
}

static void hex_to(const char *hex, uint8_t *out, size_t n)
{
	size_t got = 0;
	assert_int_equal(sodium_hex2bin(out, n, hex, strlen(hex), NULL, &got, NULL), 0);
	assert_int_equal(got, n);
}

static int parse_str(const char *s, struct note *n)
{
	return note_parse(s, strlen(s), n, NULL, NULL);
}

/* Parse s and verify it under (name, pk). */
static int open_str(const char *s, const char *name, const uint8_t pk[NOTE_KEY_SIZE])
{
	struct note n;
	int r = parse_str(s, &n);
	return r < 0 ? r : note_verify(&n, name, pk);
}

/* ---- the Go reference vectors ---- */

static void test_go_vectors(void **state)
{
	struct note_vkey peter, enoch;
	struct note n;
	struct buf b;
	uint8_t skey[1 + NOTE_SEED_SIZE], pk[NOTE_KEY_SIZE];
	/* PRIVATE+KEY+<name>+<id>+<base64>; the base64 may hold '+'. */
	const char *b64 = GO_SKEY + strlen("PRIVATE+KEY+PeterNeumann+c74f20a3+");
	size_t len = 0;
	(void)state;

	assert_int_equal(note_vkey_parse(GO_VKEY, strlen(GO_VKEY), &peter, NULL, NULL), 0);
	assert_string_equal(peter.name, "PeterNeumann");
	assert_int_equal(peter.key_id, 0xc74f20a3);
	assert_int_equal(note_key_id("PeterNeumann", 12, peter.pk), 0xc74f20a3);
	assert_int_equal(note_vkey_parse(GO_ENOCH_VKEY, strlen(GO_ENOCH_VKEY), &enoch, NULL, NULL),
			 0);
	assert_int_equal(enoch.key_id, 0xaf0cfe78);

	/* The private key is 0x01 || seed; Ed25519 is deterministic, so our
	 * signature must be Go's byte for byte. */
	assert_int_equal(sodium_base642bin(skey, sizeof(skey), b64, strlen(b64), NULL, &len, NULL,
					   sodium_base64_VARIANT_ORIGINAL),
			 0);
	assert_int_equal(len, sizeof(skey));
	assert_int_equal(skey[0], 1);
	pk_of(skey + 1, pk);
	assert_memory_equal(pk, peter.pk, NOTE_KEY_SIZE);
	buf_init(&b, NOTE_MAX);
	assert_int_equal(note_sign(&b, GO_TEXT, strlen(GO_TEXT), "PeterNeumann", skey + 1), 0);
	assert_string_equal(b.data, GO_TEXT "\n" GO_PETER_SIG);
	buf_reset(&b);
	assert_int_equal(note_vkey_format(&b, "PeterNeumann", pk), 0);
	assert_string_equal(b.data, GO_VKEY);
	buf_release(&b);
	sodium_memzero(skey, sizeof(skey));

	/* One note, two signers: each verifies under its own key, neither
	 * under a key that did not sign. */
	assert_int_equal(parse_str(GO_TEXT "\n" GO_PETER_SIG GO_ENOCH_SIG, &n), 0);
	assert_int_equal(n.nsigs, 2);
	assert_int_equal(n.text_len, strlen(GO_TEXT));
	assert_memory_equal(n.text, GO_TEXT, n.text_len);
	assert_int_equal(n.sigs[0].key_id, 0xc74f20a3);
	assert_int_equal(n.sigs[1].name_len, 9);
	assert_memory_equal(n.sigs[1].name, "EnochRoot", 9);
	assert_int_equal(note_verify(&n, "PeterNeumann", peter.pk), 0);
	assert_int_equal(note_verify(&n, "EnochRoot", enoch.pk), 0);
	assert_int_equal(note_verify(&n, "PeterNeumann", enoch.pk), ERR_NOT_FOUND);
	assert_int_equal(note_verify(&n, "EnochRoot", peter.pk), ERR_NOT_FOUND);
	assert_int_equal(open_str(GO_TEXT "\n" GO_ENOCH_SIG, "PeterNeumann", peter.pk),
			 ERR_NOT_FOUND);

	/* Go's "invalid signature": four more base64 characters inside the
	 * signature keep it well formed but break it. */
	{
		char bad[512];
		const char *sig = GO_PETER_SIG;
		snprintf(bad, sizeof(bad), "%s\n%.60sABCD%s", GO_TEXT, sig, sig + 60);
		assert_int_equal(open_str(bad, "PeterNeumann", peter.pk), ERR_CRYPTO);
	}
	/* Go's malformed notes. */
	{
		const char *bad[] = {
		    GO_TEXT,
		    GO_TEXT "\n",
		    "\x01" GO_TEXT "\n" GO_PETER_SIG,
		    "\xff" GO_TEXT "\n" GO_PETER_SIG,
		    GO_TEXT
		    "\n— Bad Name "
		    "x08go/ZJkuBS9UG/"
		    "SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=",
		    GO_TEXT "\n— Bad Name "
			    "x08go/ZJkuBS9UG/"
			    "SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyB"
			    "wJnAM=\n",
		    GO_TEXT "\n" GO_PETER_SIG "Unexpected line.\n",
		};
		for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
			assert_int_equal(parse_str(bad[i], &n), ERR_INVALID);
		/* Without the final newline. */
		const char *full = GO_TEXT "\n" GO_PETER_SIG;
		assert_int_equal(note_parse(full, strlen(full) - 1, &n, NULL, NULL), ERR_INVALID);
	}
}

/* Go's mangling test: every proper substring of a verifier key and every
 * one-byte change of it must be refused. */
static void test_vkey_mangling(void **state)
{
	struct note_vkey v;
	char k[sizeof(GO_VKEY)];
	size_t len = strlen(GO_VKEY);
	(void)state;
	for (size_t i = 0; i <= len; i++)
		for (size_t j = i + 1; j <= len; j++)
			if (i != 0 || j != len)
				assert_int_equal(
				    note_vkey_parse(GO_VKEY + i, j - i, &v, NULL, NULL),
				    ERR_INVALID);
	memcpy(k, GO_VKEY, sizeof(k));
	for (size_t i = 0; i < len; i++) {
		k[i]++;
		assert_int_equal(note_vkey_parse(k, len, &v, NULL, NULL), ERR_INVALID);
		k[i]--;
	}
	/* Go's: a key of the wrong length and an unknown algorithm, each
	 * with a key id adjusted to match. */
	{
		const char *a =
		    "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==";
		const char *b =
		    "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
		assert_int_equal(note_vkey_parse(a, strlen(a), &v, NULL, NULL), ERR_INVALID);
		assert_int_equal(note_vkey_parse(b, strlen(b), &v, NULL, NULL), ERR_INVALID);
	}
	/* Upper-case hex is the same key id. */
	{
		const char *u =
		    "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
		assert_int_equal(note_vkey_parse(u, strlen(u), &v, NULL, NULL), 0);
		assert_int_equal(v.key_id, 0xc74f20a3);
	}
}

/* ---- the independently computed vector ---- */

static void test_python_vector(void **state)
{
	uint8_t seed[NOTE_SEED_SIZE], pk[NOTE_KEY_SIZE], want_pk[NOTE_KEY_SIZE], root[32];
	struct note_checkpoint cp;
	struct note_vkey v;
	struct note n;
	struct buf b;
	(void)state;
	seed_of(seed);
	pk_of(seed, pk);
	hex_to(VEC_PK, want_pk, sizeof(want_pk));
	assert_memory_equal(pk, want_pk, NOTE_KEY_SIZE);
	assert_int_equal(note_key_id(ORIGIN, strlen(ORIGIN), pk), VEC_KEY_ID);

	buf_init(&b, NOTE_MAX);
	hex_to(VEC_ROOT_1000, root, sizeof(root));
	assert_int_equal(note_checkpoint_format(&b, ORIGIN, 1000, root), 0);
	assert_string_equal(b.data, VEC_BODY);
	buf_reset(&b);
	assert_int_equal(note_sign(&b, VEC_BODY, strlen(VEC_BODY), ORIGIN, seed), 0);
	assert_string_equal(b.data, VEC_NOTE);
	buf_reset(&b);
	assert_int_equal(note_vkey_format(&b, ORIGIN, pk), 0);
	assert_string_equal(b.data, VEC_VKEY);
	buf_release(&b);

	assert_int_equal(note_vkey_parse(VEC_VKEY, strlen(VEC_VKEY), &v, NULL, NULL), 0);
	assert_string_equal(v.name, ORIGIN);
	assert_int_equal(v.key_id, VEC_KEY_ID);
	assert_memory_equal(v.pk, pk, NOTE_KEY_SIZE);
	assert_int_equal(parse_str(VEC_NOTE, &n), 0);
	assert_int_equal(note_verify(&n, v.name, v.pk), 0);
	assert_int_equal(note_checkpoint_parse(n.text, n.text_len, &cp, NULL, NULL), 0);
	assert_int_equal(cp.origin_len, strlen(ORIGIN));
	assert_memory_equal(cp.origin, ORIGIN, cp.origin_len);
	assert_int_equal(cp.size, 1000);
	assert_memory_equal(cp.root, root, 32);
	assert_null(cp.ext);
	assert_int_equal(cp.ext_len, 0);
}

/* ---- tampering ---- */

static void test_tamper(void **state)
{
	uint8_t seed[NOTE_SEED_SIZE], pk[NOTE_KEY_SIZE], other[NOTE_SEED_SIZE], opk[NOTE_KEY_SIZE];
	char *m;
	size_t len = strlen(VEC_NOTE);
	(void)state;
	seed_of(seed);
	pk_of(seed, pk);
	memcpy(other, seed, sizeof(other));
	other[0] ^= 1;
	pk_of(other, opk);
	assert_int_equal(open_str(VEC_NOTE, ORIGIN, pk), 0);
	/* Any flipped bit anywhere in the note: the text, the blank line,
	 * the em dash, the name, the signature, the final newline. */
	m = xstrdup(VEC_NOTE);
	for (size_t i = 0; i < len; i++) {
		for (int bit = 0; bit < 8; bit += 3) {
			m[i] ^= (char)(1 << bit);
			if (m[i] != '\0')
				assert_int_not_equal(
				    note_parse(m, len, &(struct note){0}, NULL, NULL) < 0
					? -1
					: open_str(m, ORIGIN, pk),
				    0);
			m[i] ^= (char)(1 << bit);
		}
	}
	free(m);
	/* Wrong key, wrong name. */
	assert_int_equal(open_str(VEC_NOTE, ORIGIN, opk), ERR_NOT_FOUND);
	assert_int_equal(open_str(VEC_NOTE, "mamori.example/ledger2", pk), ERR_NOT_FOUND);
	/* The right name and key id with a signature that does not verify:
	 * the whole note is rejected, even next to a good signature. */
	{
		struct note n;
		uint8_t raw[68];
		char b64[sodium_base64_ENCODED_LEN(68, sodium_base64_VARIANT_ORIGINAL)];
		char bad[1024];
		size_t got;
		assert_int_equal(parse_str(VEC_NOTE, &n), 0);
		assert_int_equal(sodium_base642bin(raw, sizeof(raw), n.sigs[0].b64,
						   n.sigs[0].b64_len, NULL, &got, NULL,
						   sodium_base64_VARIANT_ORIGINAL),
				 0);
		raw[40] ^= 0x20;
		sodium_bin2base64(b64, sizeof(b64), raw, sizeof(raw),
				  sodium_base64_VARIANT_ORIGINAL);
		snprintf(bad, sizeof(bad), "%s\n— %s %s\n", VEC_BODY, ORIGIN, b64);
		assert_int_equal(open_str(bad, ORIGIN, pk), ERR_CRYPTO);
		snprintf(bad, sizeof(bad), "%s— %s %s\n", VEC_NOTE, ORIGIN, b64);
		assert_int_equal(open_str(bad, ORIGIN, pk), ERR_CRYPTO);
		/* A signature of the wrong length under the right key id. */
		sodium_bin2base64(b64, sizeof(b64), raw, 67, sodium_base64_VARIANT_ORIGINAL);
		snprintf(bad, sizeof(bad), "%s\n— %s %s\n", VEC_BODY, ORIGIN, b64);
		assert_int_equal(open_str(bad, ORIGIN, pk), ERR_CRYPTO);
		/* An unknown key's signature next to the good one is ignored. */
		snprintf(bad, sizeof(bad), "%s— other.example/key AAAAAAAA\n", VEC_NOTE);
		assert_int_equal(open_str(bad, ORIGIN, pk), 0);
	}
}

/* ---- what the parser refuses ---- */

static void test_parse_rejects(void **state)
{
	static const struct {
		const char *msg;
		int err;
	} cases[] = {
	    {"", ERR_INVALID},
	    {"text\n— a AAAAAAAA\n", ERR_INVALID}, /* no blank line */
	    {"text\n\n— a AAAAAAAA", ERR_INVALID}, /* no final newline */
	    {"text\n\n", ERR_INVALID},		   /* no signature */
	    {"text\n\n\n", ERR_INVALID},
	    {"text\n\n— a AAAAAA=A\n", ERR_INVALID}, /* bad padding */
	    {"text\n\n— a AAAAAAAA=\n", ERR_INVALID},
	    {"text\n\n— a AAAAAAA\n", ERR_INVALID},  /* no padding */
	    {"text\n\n— a AAAA*AAA\n", ERR_INVALID}, /* bad character */
	    {"text\n\n— a AAAAAB==\n", ERR_INVALID}, /* stray bits */
	    {"text\n\n— a AAAA-_AA\n", ERR_INVALID}, /* URL alphabet */
	    {"text\n\n— a AAAA\xcc\x8e"
	     "AA\n",
	     ERR_INVALID},					/* not base64 */
	    {"text\n\n— a AAAA\n", ERR_INVALID},		/* 3 bytes < 5 */
	    {"text\n\n— a \n", ERR_INVALID},			/* empty signature */
	    {"text\n\n— a AAAAAAAA AAAAAAAA\n", ERR_INVALID},	/* two fields */
	    {"text\n\n-- a AAAAAAAA\n", ERR_INVALID},		/* not an em dash */
	    {"text\n\n\xe2\x80\x93 a AAAAAAAA\n", ERR_INVALID}, /* en dash U+2013 */
	    {"text\n\n\xe2\x80\x94"
	     "a AAAAAAAA\n",
	     ERR_INVALID},					 /* no space */
	    {"text\n\n\xe2\x80\x94  a AAAAAAAA\n", ERR_INVALID}, /* empty name */
	    {"text\n\n— a+b AAAAAAAA\n", ERR_INVALID},		 /* plus in name */
	    {"text\n\n— a\xe3\x80\x80"
	     "b AAAAAAAA\n",
	     ERR_INVALID}, /* U+3000 in name */
	    {"text\n\n— a\xc2\xa0"
	     "b AAAAAAAA\n",
	     ERR_INVALID},			       /* U+00A0 in name */
	    {"te\txt\n\n— a AAAAAAAA\n", ERR_INVALID}, /* control character */
	    {"text\r\n\n— a AAAAAAAA\n", ERR_INVALID},
	    {"te\xc0\xafxt\n\n— a AAAAAAAA\n", ERR_INVALID},	     /* overlong UTF-8 */
	    {"te\xed\xa0\x80xt\n\n— a AAAAAAAA\n", ERR_INVALID},     /* surrogate */
	    {"te\xf4\x90\x80\x80xt\n\n— a AAAAAAAA\n", ERR_INVALID}, /* past U+10FFFF */
	};
	struct note n;
	struct diag d;
	struct buf b;
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int r = parse_str(cases[i].msg, &n);
		if (r != cases[i].err)
			fail_msg("case %zu: got %d, want %d", i, r, cases[i].err);
		assert_int_equal(n.nsigs, 0);
		assert_null(n.text);
	}
	/* Accepted forms: text with empty lines and Japanese, the minimal
	 * text "\n", a name in Japanese. */
	assert_int_equal(parse_str("一行目\n\n三行目\n\n— 守り/台帳 AAAAAAAA\n", &n), 0);
	assert_int_equal(n.text_len, strlen("一行目\n\n三行目\n"));
	assert_int_equal(n.sigs[0].name_len, strlen("守り/台帳"));
	assert_int_equal(n.sigs[0].key_id, 0);
	assert_int_equal(n.sigs[0].sig_len, 6);
	assert_int_equal(parse_str("\n\n— a AAAAAAAA\n", &n), 0);
	assert_int_equal(n.text_len, 1);
	/* Only the last blank line separates: what looks like a signature
	 * above it is text. */
	assert_int_equal(parse_str("text\n\n— a AAAAAAAA\n\n— b AAAAAAAA\n", &n), 0);
	assert_int_equal(n.text_len, strlen("text\n\n— a AAAAAAAA\n"));
	assert_int_equal(n.nsigs, 1);
	assert_memory_equal(n.sigs[0].name, "b", 1);

	/* Exactly NOTE_SIGS_MAX signatures pass; one more is too many. */
	buf_init(&b, 2 * NOTE_MAX);
	assert_int_equal(buf_puts(&b, "text\n\n"), 0);
	for (int i = 0; i < NOTE_SIGS_MAX; i++)
		assert_int_equal(buf_printf(&b, "— k%d AAAAAAAA\n", i), 0);
	assert_int_equal(note_parse(b.data, b.len, &n, NULL, NULL), 0);
	assert_int_equal(n.nsigs, NOTE_SIGS_MAX);
	assert_int_equal(buf_puts(&b, "— k AAAAAAAA\n"), 0);
	assert_int_equal(note_parse(b.data, b.len, &n, NULL, NULL), ERR_TOO_LARGE);

	/* Size: NOTE_MAX bytes pass, one more does not. */
	buf_reset(&b);
	while (b.len < NOTE_MAX - 40)
		assert_int_equal(buf_puts(&b, "0123456789abcdef\n"), 0);
	while (b.len < NOTE_MAX - strlen("\n— a AAAAAAAA\n") - 1)
		assert_int_equal(buf_putc(&b, 'x'), 0);
	assert_int_equal(buf_puts(&b, "\n\n— a AAAAAAAA\n"), 0);
	assert_int_equal(b.len, NOTE_MAX);
	assert_int_equal(note_parse(b.data, b.len, &n, NULL, NULL), 0);
	buf_reset(&b);
	while (b.len < NOTE_MAX - strlen("\n— a AAAAAAAA\n"))
		assert_int_equal(buf_putc(&b, 'x'), 0);
	assert_int_equal(buf_puts(&b, "\n\n— a AAAAAAAA\n"), 0);
	assert_int_equal(b.len, NOTE_MAX + 1);
	assert_int_equal(note_parse(b.data, b.len, &n, NULL, NULL), ERR_TOO_LARGE);
	buf_release(&b);

	/* The diagnostic names the line. */
	diag_init(&d, 10);
	{
		const char *m = "a\nb\n\n— k AAAAAAAA\n— k AAAA\n";
		assert_int_equal(note_parse(m, strlen(m), &n, &d, "cp.txt"), ERR_INVALID);
	}
	assert_int_equal(d.errors, 1);
	assert_string_equal(d.items[0].file, "cp.txt");
	assert_int_equal(d.items[0].line, 5);
	diag_release(&d);
}

/* ---- checkpoints ---- */

static void test_checkpoint(void **state)
{
	static const char *bad_sizes[] = {"",
					  "01",
					  "00",
					  "+1",
					  "-1",
					  "1e3",
					  " 1",
					  "1 ",
					  "0x10",
					  "9223372036854775808",
					  "18446744073709551615",
					  "99999999999999999999",
					  "１０"};
	static const char *bad_hashes[] = {
	    "",
	    "AAAA",
	    "GXZWywpUOmNYZy0E4uzPy9DynpQ2+VSVbYQT/qtLEX==", /* 31 bytes */
	    "GXZWywpUOmNYZy0E4uzPy9DynpQ2+VSVbYQT/qtLEXQA", /* 33 bytes */
	    "GXZWywpUOmNYZy0E4uzPy9DynpQ2+VSVbYQT/qtLEXQ",  /* no padding */
	    "GXZWywpUOmNYZy0E4uzPy9DynpQ2-VSVbYQT_qtLEXQ=", /* URL alphabet */
	    "GXZWywpUOmNYZy0E4uzPy9DynpQ2+VSVbYQT/qtLEXR=", /* stray bits */
	    " GXZWywpUOmNYZy0E4uzPy9DynpQ2+VSVbYQT/qtLEXQ=",
	    /* Bytes that libsodium's decoder alone would take for digits. */
	    "GXZWywpUOmNYZy0E4uzPy9DynpQ2+VSVbYQT\xcc\x8etLEXQ=",
	};
	struct note_checkpoint cp;
	uint8_t root[32];
	char t[256];
	struct buf b;
	(void)state;
	hex_to(VEC_ROOT_1000, root, sizeof(root));

	assert_int_equal(note_checkpoint_parse(VEC_BODY, strlen(VEC_BODY), &cp, NULL, NULL), 0);
	assert_int_equal(cp.size, 1000);
	/* Sizes at the edges. */
	snprintf(t, sizeof(t), "o\n0\n%s\n", "GXZWywpUOmNYZy0E4uzPy9DynpQ2+VSVbYQT/qtLEXQ=");
	assert_int_equal(note_checkpoint_parse(t, strlen(t), &cp, NULL, NULL), 0);
	assert_int_equal(cp.size, 0);
	snprintf(t, sizeof(t), "o\n9223372036854775807\n%s\n",
		 "GXZWywpUOmNYZy0E4uzPy9DynpQ2+VSVbYQT/qtLEXQ=");
	assert_int_equal(note_checkpoint_parse(t, strlen(t), &cp, NULL, NULL), 0);
	assert_int_equal(cp.size, (uint64_t)INT64_MAX);
	for (size_t i = 0; i < ARRAY_SIZE(bad_sizes); i++) {
		snprintf(t, sizeof(t), "o\n%s\nGXZWywpUOmNYZy0E4uzPy9DynpQ2+VSVbYQT/qtLEXQ=\n",
			 bad_sizes[i]);
		if (note_checkpoint_parse(t, strlen(t), &cp, NULL, NULL) != ERR_INVALID)
			fail_msg("size '%s' accepted", bad_sizes[i]);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad_hashes); i++) {
		snprintf(t, sizeof(t), "o\n5\n%s\n", bad_hashes[i]);
		if (note_checkpoint_parse(t, strlen(t), &cp, NULL, NULL) != ERR_INVALID)
			fail_msg("hash '%s' accepted", bad_hashes[i]);
	}
	/* Lines: at least three, non-empty origin, final newline, extension
	 * lines allowed but never empty. */
	{
		static const char *bad[] = {
		    "o\n5\n",
		    "o\n5",
		    "\n5\nGXZWywpUOmNYZy0E4uzPy9DynpQ2+VSVbYQT/qtLEXQ=\n",
		    "o\n5\nGXZWywpUOmNYZy0E4uzPy9DynpQ2+VSVbYQT/qtLEXQ=",
		    "o\n5\nGXZWywpUOmNYZy0E4uzPy9DynpQ2+VSVbYQT/qtLEXQ=\n\n",
		    "o\n5\nGXZWywpUOmNYZy0E4uzPy9DynpQ2+VSVbYQT/qtLEXQ=\next\n\n",
		    "o\n5\nGXZWywpUOmNYZy0E4uzPy9DynpQ2+VSVbYQT/qtLEXQ=\n\next\n",
		    "o\t\n5\nGXZWywpUOmNYZy0E4uzPy9DynpQ2+VSVbYQT/qtLEXQ=\n",
		    "o\r\n5\nGXZWywpUOmNYZy0E4uzPy9DynpQ2+VSVbYQT/qtLEXQ=\n",
		    "o\xff\n5\nGXZWywpUOmNYZy0E4uzPy9DynpQ2+VSVbYQT/qtLEXQ=\n",
		};
		for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
			if (note_checkpoint_parse(bad[i], strlen(bad[i]), &cp, NULL, NULL) !=
			    ERR_INVALID)
				fail_msg("checkpoint %zu accepted", i);
		const char *ext =
		    "example.com/log 42\n5\nGXZWywpUOmNYZy0E4uzPy9DynpQ2+VSVbYQT/qtLEXQ=\nx1\n拡張 "
		    "2\n";
		assert_int_equal(note_checkpoint_parse(ext, strlen(ext), &cp, NULL, NULL), 0);
		/* The origin is only recommended to be a key name. */
		assert_int_equal(cp.origin_len, strlen("example.com/log 42"));
		assert_int_equal(cp.ext_len, strlen("x1\n拡張 2\n"));
		assert_memory_equal(cp.ext, "x1\n拡張 2\n", cp.ext_len);
		assert_memory_equal(cp.root, root, 32);
	}
	/* Format: round trip, and refusals that leave the buffer alone. */
	buf_init(&b, 4096);
	assert_int_equal(buf_puts(&b, "keep"), 0);
	assert_int_equal(note_checkpoint_format(&b, "a b", 1, root), ERR_INVALID);
	assert_int_equal(note_checkpoint_format(&b, "", 1, root), ERR_INVALID);
	assert_int_equal(note_checkpoint_format(&b, "a+b", 1, root), ERR_INVALID);
	assert_int_equal(note_checkpoint_format(&b, "a", (uint64_t)INT64_MAX + 1, root),
			 ERR_INVALID);
	assert_string_equal(b.data, "keep");
	buf_reset(&b);
	assert_int_equal(note_checkpoint_format(&b, "守り.example/台帳", (uint64_t)INT64_MAX, root),
			 0);
	assert_int_equal(note_checkpoint_parse(b.data, b.len, &cp, NULL, NULL), 0);
	assert_int_equal(cp.size, (uint64_t)INT64_MAX);
	assert_memory_equal(cp.origin, "守り.example/台帳", cp.origin_len);
	assert_memory_equal(cp.root, root, 32);
	buf_release(&b);
}

/* ---- signing ---- */

static void test_sign(void **state)
{
	uint8_t seed[NOTE_SEED_SIZE], pk[NOTE_KEY_SIZE], s2[NOTE_SEED_SIZE], pk2[NOTE_KEY_SIZE];
	struct note n;
	struct buf b, small;
	char name[NOTE_NAME_MAX + 2];
	(void)state;
	seed_of(seed);
	pk_of(seed, pk);
	memset(s2, 0x5a, sizeof(s2));
	pk_of(s2, pk2);
	buf_init(&b, 2 * NOTE_MAX);
	assert_int_equal(buf_puts(&b, "keep"), 0);
	assert_int_equal(note_sign(&b, "", 0, ORIGIN, seed), ERR_INVALID);
	assert_int_equal(note_sign(&b, "no newline", 10, ORIGIN, seed), ERR_INVALID);
	assert_int_equal(note_sign(&b, "tab\there\n", 10, ORIGIN, seed), ERR_INVALID);
	assert_int_equal(note_sign(&b, "bad \xff\n", 6, ORIGIN, seed), ERR_INVALID);
	assert_int_equal(note_sign(&b, "ok\n", 3, "bad name", seed), ERR_INVALID);
	assert_int_equal(note_sign(&b, "ok\n", 3, "", seed), ERR_INVALID);
	memset(name, 'n', sizeof(name));
	name[NOTE_NAME_MAX + 1] = '\0';
	assert_int_equal(note_sign(&b, "ok\n", 3, name, seed), ERR_INVALID);
	assert_string_equal(b.data, "keep");
	name[NOTE_NAME_MAX] = '\0';
	buf_reset(&b);
	assert_int_equal(note_sign(&b, "ok\n", 3, name, seed), 0);
	assert_int_equal(open_str(b.data, name, pk), 0);
	/* The buffer's own limit is respected and the buffer kept. */
	buf_init(&small, 50);
	assert_int_equal(note_sign(&small, "ok\n", 3, ORIGIN, seed), ERR_TOO_LARGE);
	assert_int_equal(small.len, 0);
	buf_release(&small);

	/* Cosigning: each key verifies, up to NOTE_SIGS_MAX signatures. */
	buf_reset(&b);
	assert_int_equal(note_sign(&b, VEC_BODY, strlen(VEC_BODY), ORIGIN, seed), 0);
	assert_int_equal(note_add_sig(&b, "witness.example/w1", s2), 0);
	assert_int_equal(note_parse(b.data, b.len, &n, NULL, NULL), 0);
	assert_int_equal(n.nsigs, 2);
	assert_int_equal(n.text_len, strlen(VEC_BODY));
	assert_int_equal(note_verify(&n, ORIGIN, pk), 0);
	assert_int_equal(note_verify(&n, "witness.example/w1", pk2), 0);
	assert_int_equal(note_verify(&n, "witness.example/w1", pk), ERR_NOT_FOUND);
	for (int i = 2; i < NOTE_SIGS_MAX; i++) {
		char w[32];
		snprintf(w, sizeof(w), "w%d", i);
		assert_int_equal(note_add_sig(&b, w, s2), 0);
	}
	{
		size_t len = b.len;
		assert_int_equal(note_add_sig(&b, "one.too.many", s2), ERR_TOO_LARGE);
		assert_int_equal(b.len, len);
		assert_int_equal(note_add_sig(&b, "bad+name", s2), ERR_TOO_LARGE);
	}
	assert_int_equal(note_parse(b.data, b.len, &n, NULL, NULL), 0);
	assert_int_equal(n.nsigs, NOTE_SIGS_MAX);
	assert_int_equal(note_verify(&n, "w15", pk2), 0);
	/* Adding to something that is not a note fails. */
	buf_reset(&b);
	assert_int_equal(buf_puts(&b, "not a note\n"), 0);
	assert_int_equal(note_add_sig(&b, "w", s2), ERR_INVALID);
	assert_string_equal(b.data, "not a note\n");
	buf_release(&b);
}

/* ---- verifier keys ---- */

static void test_vkey(void **state)
{
	uint8_t seed[NOTE_SEED_SIZE], pk[NOTE_KEY_SIZE], ident[NOTE_KEY_SIZE] = {1};
	struct note_vkey v;
	struct diag d;
	struct buf b;
	(void)state;
	seed_of(seed);
	pk_of(seed, pk);
	buf_init(&b, 4096);
	assert_int_equal(note_vkey_format(&b, "bad name", pk), ERR_INVALID);
	assert_int_equal(note_vkey_format(&b, "守り.example/台帳", pk), 0);
	assert_int_equal(note_vkey_parse(b.data, b.len, &v, NULL, NULL), 0);
	assert_string_equal(v.name, "守り.example/台帳");
	assert_memory_equal(v.pk, pk, NOTE_KEY_SIZE);
	assert_int_equal(v.key_id, note_key_id(v.name, strlen(v.name), pk));
	/* A well-formed line with a matching key id but a key that is the
	 * identity point (small order) is refused. */
	buf_reset(&b);
	assert_int_equal(note_vkey_format(&b, "weak", ident), 0);
	diag_init(&d, 10);
	assert_int_equal(note_vkey_parse(b.data, b.len, &v, &d, "auditor.conf"), ERR_INVALID);
	assert_int_equal(d.errors, 1);
	assert_non_null(strstr(d.items[0].msg, "Ed25519"));
	diag_release(&d);
	/* Trailing newline or space is not part of the format. */
	buf_reset(&b);
	assert_int_equal(note_vkey_format(&b, "k", pk), 0);
	assert_int_equal(buf_putc(&b, '\n'), 0);
	assert_int_equal(note_vkey_parse(b.data, b.len, &v, NULL, NULL), ERR_INVALID);
	assert_int_equal(note_vkey_parse(b.data, b.len - 1, &v, NULL, NULL), 0);
	buf_release(&b);
	assert_int_equal(note_vkey_parse("", 0, &v, NULL, NULL), ERR_INVALID);
	assert_int_equal(note_vkey_parse("+", 1, &v, NULL, NULL), ERR_INVALID);
	assert_int_equal(note_vkey_parse("a+12345678+", 11, &v, NULL, NULL), ERR_INVALID);
	assert_int_equal(note_vkey_parse("a+1234567+AQ==", 14, &v, NULL, NULL), ERR_INVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_go_vectors),	  cmocka_unit_test(test_vkey_mangling),
	    cmocka_unit_test(test_python_vector), cmocka_unit_test(test_tamper),
	    cmocka_unit_test(test_parse_rejects), cmocka_unit_test(test_checkpoint),
	    cmocka_unit_test(test_sign),	  cmocka_unit_test(test_vkey),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
