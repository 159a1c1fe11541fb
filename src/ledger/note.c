/*
 * note.c - C2SP signed notes, tlog checkpoints and verifier keys.
 *
 * The byte layouts follow https://c2sp.org/signed-note and
 * https://c2sp.org/tlog-checkpoint; the verifier-key line is the one of Go's
 * golang.org/x/mod/sumdb/note, so that an auditor can check mamori's
 * checkpoints with the existing tools. The parsers are strict: what they
 * accept, every conforming implementation accepts too.
 */
#include "base/base.h"

#include <sodium.h>

#include "base/buf.h"
#include "base/diag.h"
#include "base/i18n.h"
#include "ledger/merkle.h"
#include "ledger/note.h"

#define SIG_ED25519 0x01
#define EM_DASH "\xe2\x80\x94"
#define SIG_PREFIX EM_DASH " "
#define SIG_PREFIX_LEN 4
#define ED25519_SIG_LEN (4 + crypto_sign_BYTES)

static int note_err(struct diag *d, const char *what, long line, int code, const char *fmt, ...)
    MM_PRINTF(5, 6);

static int note_err(struct diag *d, const char *what, long line, int code, const char *fmt, ...)
{
	va_list ap;

	if (d) {
		va_start(ap, fmt);
		diag_verror(d, false, what, line, 0, NULL, fmt, ap);
		va_end(ap);
	}
	return code;
}

/* ---- UTF-8 and names ---- */

/*
 * Decode one UTF-8 sequence at s[0..len): the number of bytes it takes, 0
 * when it is not valid UTF-8 (overlong forms, surrogates and code points
 * past U+10FFFF included).
 */
static size_t utf8_next(const unsigned char *s, size_t len, uint32_t *cp)
{
	uint32_t c, min;
	size_t n;

	if (len == 0)
		return 0;
	c = s[0];
	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if ((c & 0xe0) == 0xc0) {
		n = 2;
		c &= 0x1f;
		min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		n = 3;
		c &= 0x0f;
		min = 0x800;
	} else if ((c & 0xf8) == 0xf0) {
		n = 4;
		c &= 0x07;
		min = 0x10000;
	} else {
		return 0;
	}
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

/* Unicode White_Space, as Go's unicode.IsSpace sees it. */
static bool is_space(uint32_t c)
{
	switch (c) {
	case '\t':
	case '\n':
	case '\v':
	case '\f':
	case '\r':
	case ' ':
	case 0x85:
	case 0xa0:
	case 0x1680:
	case 0x2028:
	case 0x2029:
	case 0x202f:
	case 0x205f:
	case 0x3000:
		return true;
	default:
		return c >= 0x2000 && c <= 0x200a;
	}
}

/*
 * Check the note rules on s[0..len): valid UTF-8 and no control character
 * below U+0020 other than newline. Returns the offset of the first bad
 * byte, or len when all is well.
 */
static size_t text_bad_at(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, n;
	uint32_t c;

	while (i < len) {
		if ((n = utf8_next(u + i, len - i, &c)) == 0)
			return i;
		if (c < 0x20 && c != '\n')
			return i;
		i += n;
	}
	return len;
}

static long line_of(const char *s, size_t off)
{
	long line = 1;

	for (size_t i = 0; i < off; i++)
		if (s[i] == '\n')
			line++;
	return line;
}

bool note_name_valid(const char *name, size_t len)
{
	const unsigned char *u = (const unsigned char *)name;
	size_t i = 0, n;
	uint32_t c;

	if (len == 0)
		return false;
	while (i < len) {
		if ((n = utf8_next(u + i, len - i, &c)) == 0)
			return false;
		if (c < 0x20 || c == '+' || is_space(c))
			return false;
		i += n;
	}
	return true;
}

uint32_t note_key_id(const char *name, size_t name_len, const uint8_t pk[static NOTE_KEY_SIZE])
{
	static const uint8_t sep[2] = {'\n', SIG_ED25519};
	crypto_hash_sha256_state st;
	uint8_t h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const unsigned char *)name, name_len);
	crypto_hash_sha256_update(&st, sep, sizeof(sep));
	crypto_hash_sha256_update(&st, pk, NOTE_KEY_SIZE);
	crypto_hash_sha256_final(&st, h);
	return (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
}

/*
 * Strict standard base64 of s[0..len) into out (room for max bytes):
 * padding required, no other characters, no stray bits. 0 and *n set, or
 * ERR_INVALID (also when the data would not fit in max).
 */
static int b64_decode(const char *s, size_t len, uint8_t *out, size_t max, size_t *n)
{
	if (len == 0 || len % 4 != 0)
		return ERR_INVALID;
	/* libsodium's decoder maps some bytes above 0x7f to base64 digits
	 * (0xcc 0x8e decodes like two letters), so the alphabet is checked
	 * here first; padding and stray bits are left to libsodium. */
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '+' || c == '/' || c == '='))
			return ERR_INVALID;
	}
	if (sodium_base642bin(out, max, s, len, NULL, n, NULL, sodium_base64_VARIANT_ORIGINAL) != 0)
		return ERR_INVALID;
	return 0;
}

/* ---- notes ---- */

static bool mem_has(const char *s, size_t len, const char *lit)
{
	size_t n = strlen(lit);
	return len >= n && memcmp(s, lit, n) == 0;
}

int note_parse(const char *msg, size_t len, struct note *out, struct diag *d, const char *what)
{
	const char *p, *end, *sp, *nl;
	uint8_t *scratch = NULL;
	size_t bad, split;
	long line;
	int r;

	memset(out, 0, sizeof(*out));
	if (len > NOTE_MAX)
		return note_err(d, what, 0, ERR_TOO_LARGE,
				T("署名付きノートが %zu バイトを超えています",
				  "signed note is larger than %zu bytes"),
				NOTE_MAX);
	if ((bad = text_bad_at(msg, len)) < len)
		return note_err(d, what, line_of(msg, bad), ERR_INVALID,
				T("不正な UTF-8 または制御文字（バイト位置 %zu）",
				  "invalid UTF-8 or control character at byte %zu"),
				bad);
	if (len == 0 || msg[len - 1] != '\n')
		return note_err(d, what, line_of(msg, len), ERR_INVALID,
				T("署名付きノートが改行で終わっていません",
				  "signed note does not end with a newline"));
	/* The text ends at the last blank line; the signature lines, which
	 * cannot be empty, come after it. */
	for (split = len - 1; split > 0; split--)
		if (msg[split - 1] == '\n' && msg[split] == '\n')
			break;
	if (split == 0)
		return note_err(d, what, 0, ERR_INVALID,
				T("本文と署名を分ける空行がありません",
				  "no blank line between the text and the signatures"));
	out->text = msg;
	out->text_len = split; /* the text keeps its final newline */
	p = msg + split + 1;
	end = msg + len;
	line = line_of(msg, split) + 1;
	if (p == end) {
		r = note_err(d, what, line, ERR_INVALID,
			     T("署名がありません", "no signature lines"));
		goto out;
	}
	scratch = xmalloc(len);
	while (p < end) {
		struct note_sig *s;
		const char *b64;
		size_t b64_len, sig_len;

		nl = memchr(p, '\n', (size_t)(end - p));
		BUG_ON(nl == NULL); /* msg ends in a newline */
		if (out->nsigs == NOTE_SIGS_MAX) {
			r = note_err(d, what, line, ERR_TOO_LARGE,
				     T("署名が %d 個を超えています", "more than %d signatures"),
				     NOTE_SIGS_MAX);
			goto out;
		}
		if (!mem_has(p, (size_t)(nl - p), SIG_PREFIX)) {
			r = note_err(
			    d, what, line, ERR_INVALID,
			    T("署名行が「— 」（全角ダッシュ U+2014 と空白）で始まっていません",
			      "signature line does not start with an em dash (U+2014) and a "
			      "space"));
			goto out;
		}
		p += SIG_PREFIX_LEN;
		sp = memchr(p, ' ', (size_t)(nl - p));
		if (sp == NULL || !note_name_valid(p, (size_t)(sp - p))) {
			r = note_err(d, what, line, ERR_INVALID,
				     T("署名行の鍵名が不正です", "signature line: bad key name"));
			goto out;
		}
		b64 = sp + 1;
		b64_len = (size_t)(nl - b64);
		if (b64_decode(b64, b64_len, scratch, len, &sig_len) < 0 || sig_len < 5) {
			r = note_err(d, what, line, ERR_INVALID,
				     T("署名行の base64 署名が不正です",
				       "signature line: bad base64 signature"));
			goto out;
		}
		s = &out->sigs[out->nsigs++];
		s->name = p;
		s->name_len = (size_t)(sp - p);
		s->key_id = (uint32_t)scratch[0] << 24 | (uint32_t)scratch[1] << 16 |
			    (uint32_t)scratch[2] << 8 | scratch[3];
		s->b64 = b64;
		s->b64_len = b64_len;
		s->sig_len = sig_len;
		p = nl + 1;
		line++;
	}
	r = 0;
out:
	free(scratch);
	if (r < 0)
		memset(out, 0, sizeof(*out));
	return r;
}

int note_verify(const struct note *n, const char *name, const uint8_t pk[static NOTE_KEY_SIZE])
{
	uint8_t sig[ED25519_SIG_LEN];
	size_t name_len = strlen(name), sig_len;
	uint32_t id = note_key_id(name, name_len, pk);
	bool found = false;

	for (size_t i = 0; i < n->nsigs; i++) {
		const struct note_sig *s = &n->sigs[i];
		if (s->key_id != id || s->name_len != name_len ||
		    memcmp(s->name, name, name_len) != 0)
			continue;
		/* A signature by a known key must verify, or the whole note
		 * is rejected (signed-note, "Signatures"). */
		if (s->sig_len != ED25519_SIG_LEN ||
		    b64_decode(s->b64, s->b64_len, sig, sizeof(sig), &sig_len) < 0 ||
		    sig_len != ED25519_SIG_LEN)
			return ERR_CRYPTO;
		if (crypto_sign_verify_detached(sig + 4, (const unsigned char *)n->text,
						n->text_len, pk) != 0)
			return ERR_CRYPTO;
		found = true;
	}
	return found ? 0 : ERR_NOT_FOUND;
}

/* Append "— name base64(key id || Ed25519(text))\n" to out. */
static int sig_line(struct buf *out, const char *text, size_t text_len, const char *name,
		    const uint8_t seed[static NOTE_SEED_SIZE])
{
	uint8_t pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
	uint8_t sig[ED25519_SIG_LEN];
	char b64[sodium_base64_ENCODED_LEN(ED25519_SIG_LEN, sodium_base64_VARIANT_ORIGINAL)];
	size_t name_len = strlen(name);
	uint32_t id;
	int r;

	if (name_len > NOTE_NAME_MAX || !note_name_valid(name, name_len))
		return ERR_INVALID;
	if (crypto_sign_seed_keypair(pk, sk, seed) != 0) {
		r = ERR_CRYPTO;
		goto out;
	}
	id = note_key_id(name, name_len, pk);
	sig[0] = (uint8_t)(id >> 24);
	sig[1] = (uint8_t)(id >> 16);
	sig[2] = (uint8_t)(id >> 8);
	sig[3] = (uint8_t)id;
	if (crypto_sign_detached(sig + 4, NULL, (const unsigned char *)text, text_len, sk) != 0) {
		r = ERR_CRYPTO;
		goto out;
	}
	sodium_bin2base64(b64, sizeof(b64), sig, sizeof(sig), sodium_base64_VARIANT_ORIGINAL);
	r = buf_printf(out, SIG_PREFIX "%s %s\n", name, b64);
out:
	sodium_memzero(sk, sizeof(sk));
	return r;
}

static void buf_truncate(struct buf *b, size_t len)
{
	b->len = len;
	if (b->data)
		b->data[len] = '\0';
}

int note_sign(struct buf *out, const char *text, size_t text_len, const char *name,
	      const uint8_t seed[static NOTE_SEED_SIZE])
{
	size_t orig = out->len;
	int r;

	if (text_len > NOTE_MAX)
		return ERR_TOO_LARGE;
	if (text_len == 0 || text[text_len - 1] != '\n' || text_bad_at(text, text_len) < text_len)
		return ERR_INVALID;
	if ((r = buf_append(out, text, text_len)) < 0 || (r = buf_putc(out, '\n')) < 0 ||
	    (r = sig_line(out, text, text_len, name, seed)) < 0)
		goto out;
	if (out->len - orig > NOTE_MAX)
		r = ERR_TOO_LARGE;
out:
	if (r < 0)
		buf_truncate(out, orig);
	return r;
}

int note_add_sig(struct buf *nb, const char *name, const uint8_t seed[static NOTE_SEED_SIZE])
{
	struct note n;
	size_t orig = nb->len;
	int r;

	if (nb->data == NULL)
		return ERR_INVALID;
	if ((r = note_parse(nb->data, nb->len, &n, NULL, NULL)) < 0)
		return r;
	if (n.nsigs >= NOTE_SIGS_MAX)
		return ERR_TOO_LARGE;
	/* n points into nb, which the append may move: sign a copy of the
	 * text's extent by offset, not by pointer. */
	{
		size_t text_len = n.text_len;
		char *text = xstrndup(nb->data, text_len);
		r = sig_line(nb, text, text_len, name, seed);
		free(text);
	}
	if (r == 0 && nb->len > NOTE_MAX)
		r = ERR_TOO_LARGE;
	if (r < 0)
		buf_truncate(nb, orig);
	return r;
}

/* ---- checkpoints ---- */

int note_checkpoint_format(struct buf *out, const char *origin, uint64_t size,
			   const uint8_t root[static NOTE_HASH_SIZE])
{
	char b64[sodium_base64_ENCODED_LEN(NOTE_HASH_SIZE, sodium_base64_VARIANT_ORIGINAL)];
	size_t orig = out->len;
	int r;

	if (!note_name_valid(origin, strlen(origin)) || size > MERKLE_SIZE_MAX)
		return ERR_INVALID;
	sodium_bin2base64(b64, sizeof(b64), root, NOTE_HASH_SIZE, sodium_base64_VARIANT_ORIGINAL);
	if ((r = buf_printf(out, "%s\n%" PRIu64 "\n%s\n", origin, size, b64)) < 0)
		buf_truncate(out, orig);
	return r;
}

int note_checkpoint_parse(const char *text, size_t len, struct note_checkpoint *out, struct diag *d,
			  const char *what)
{
	const char *line[3], *nl, *p, *end = text + len;
	size_t line_len[3], bad, n;
	int64_t v;

	memset(out, 0, sizeof(*out));
	if (len > NOTE_MAX)
		return note_err(d, what, 0, ERR_TOO_LARGE,
				T("チェックポイントが %zu バイトを超えています",
				  "checkpoint is larger than %zu bytes"),
				NOTE_MAX);
	if ((bad = text_bad_at(text, len)) < len)
		return note_err(d, what, line_of(text, bad), ERR_INVALID,
				T("不正な UTF-8 または制御文字（バイト位置 %zu）",
				  "invalid UTF-8 or control character at byte %zu"),
				bad);
	if (len == 0 || text[len - 1] != '\n')
		return note_err(d, what, line_of(text, len), ERR_INVALID,
				T("チェックポイントが改行で終わっていません",
				  "checkpoint does not end with a newline"));
	p = text;
	for (int i = 0; i < 3; i++) {
		if (p == end)
			return note_err(d, what, i + 1, ERR_INVALID,
					T("チェックポイントの行が足りません（3 行必要）",
					  "checkpoint has fewer than 3 lines"));
		nl = memchr(p, '\n', (size_t)(end - p));
		line[i] = p;
		line_len[i] = (size_t)(nl - p);
		p = nl + 1;
	}
	if (line_len[0] == 0)
		return note_err(d, what, 1, ERR_INVALID,
				T("オリジン（1 行目）が空です", "origin (line 1) is empty"));
	/* The size: ASCII decimal, no sign, no leading zero but for "0". */
	n = line_len[1];
	if (n == 0 || n > 19 || (n > 1 && line[1][0] == '0') || line[1][0] == '+' ||
	    parse_i64(line[1], n, 0, INT64_MAX, &v) < 0)
		return note_err(d, what, 2, ERR_INVALID,
				T("木のサイズ（2 行目）が 10 進数ではありません: '%.*s'",
				  "tree size (line 2) is not a decimal number: '%.*s'"),
				(int)(n > 32 ? 32 : n), line[1]);
	out->size = (uint64_t)v;
	if (b64_decode(line[2], line_len[2], out->root, NOTE_HASH_SIZE, &n) < 0 ||
	    n != NOTE_HASH_SIZE) {
		memset(out, 0, sizeof(*out));
		return note_err(d, what, 3, ERR_INVALID,
				T("ルートハッシュ（3 行目）が 32 バイトの base64 ではありません",
				  "root hash (line 3) is not base64 of 32 bytes"));
	}
	/* Extension lines are opaque, but must not be empty. */
	for (const char *q = p; q < end;) {
		nl = memchr(q, '\n', (size_t)(end - q));
		if (nl == q) {
			memset(out, 0, sizeof(*out));
			return note_err(d, what, line_of(text, (size_t)(q - text)), ERR_INVALID,
					T("拡張行が空です", "empty extension line"));
		}
		q = nl + 1;
	}
	out->origin = line[0];
	out->origin_len = line_len[0];
	if (p < end) {
		out->ext = p;
		out->ext_len = (size_t)(end - p);
	}
	return 0;
}

/* ---- verifier keys ---- */

int note_vkey_format(struct buf *out, const char *name, const uint8_t pk[static NOTE_KEY_SIZE])
{
	uint8_t key[1 + NOTE_KEY_SIZE];
	char b64[sodium_base64_ENCODED_LEN(1 + NOTE_KEY_SIZE, sodium_base64_VARIANT_ORIGINAL)];
	size_t name_len = strlen(name);

	if (name_len > NOTE_NAME_MAX || !note_name_valid(name, name_len))
		return ERR_INVALID;
	key[0] = SIG_ED25519;
	memcpy(key + 1, pk, NOTE_KEY_SIZE);
	sodium_bin2base64(b64, sizeof(b64), key, sizeof(key), sodium_base64_VARIANT_ORIGINAL);
	return buf_printf(out, "%s+%08" PRIx32 "+%s", name, note_key_id(name, name_len, pk), b64);
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int note_vkey_parse(const char *s, size_t len, struct note_vkey *out, struct diag *d,
		    const char *what)
{
	uint8_t key[1 + NOTE_KEY_SIZE];
	const char *plus, *b64;
	size_t name_len, n;
	uint32_t id = 0;

	memset(out, 0, sizeof(*out));
	plus = memchr(s, '+', len);
	name_len = plus ? (size_t)(plus - s) : len;
	if (plus == NULL || name_len > NOTE_NAME_MAX || !note_name_valid(s, name_len))
		return note_err(d, what, 0, ERR_INVALID,
				T("検証鍵の名前が不正です", "verifier key: bad name"));
	if (len - name_len < 1 + 8 + 1 || plus[9] != '+')
		return note_err(d, what, 0, ERR_INVALID,
				T("検証鍵の鍵 ID が 16 進 8 桁ではありません",
				  "verifier key: key id is not 8 hex digits"));
	for (int i = 1; i <= 8; i++) {
		int v = hex_digit(plus[i]);
		if (v < 0)
			return note_err(d, what, 0, ERR_INVALID,
					T("検証鍵の鍵 ID が 16 進 8 桁ではありません",
					  "verifier key: key id is not 8 hex digits"));
		id = id << 4 | (uint32_t)v;
	}
	b64 = plus + 10;
	if (b64_decode(b64, (size_t)(s + len - b64), key, sizeof(key), &n) < 0 ||
	    n != sizeof(key) || key[0] != SIG_ED25519)
		return note_err(d, what, 0, ERR_INVALID,
				T("検証鍵の公開鍵が Ed25519（種別 0x01、32 バイト）ではありません",
				  "verifier key: not an Ed25519 key (type 0x01, 32 bytes)"));
	if (crypto_core_ed25519_is_valid_point(key + 1) != 1)
		return note_err(d, what, 0, ERR_INVALID,
				T("検証鍵の公開鍵が有効な Ed25519 の点ではありません",
				  "verifier key: public key is not a valid Ed25519 point"));
	if (note_key_id(s, name_len, key + 1) != id)
		return note_err(d, what, 0, ERR_INVALID,
				T("検証鍵の鍵 ID が名前と公開鍵に一致しません",
				  "verifier key: key id does not match the name and key"));
	memcpy(out->name, s, name_len);
	out->name[name_len] = '\0';
	out->key_id = id;
	memcpy(out->pk, key + 1, NOTE_KEY_SIZE);
	return 0;
}
