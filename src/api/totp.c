/*
 * totp.c - SHA-1, HMAC-SHA-1, HOTP, TOTP and base32 (totp.h).
 */
#include "base/base.h"
#include "api/totp.h"

static uint32_t rol32(uint32_t x, unsigned n)
{
	return (x << n) | (x >> (32 - n));
}

static void sha1_block(uint32_t h[static 5], const uint8_t b[static 64])
{
	uint32_t w[80], a, bb, c, d, e;

	for (unsigned i = 0; i < 16; i++)
		w[i] = (uint32_t)b[4 * i] << 24 | (uint32_t)b[4 * i + 1] << 16 |
		       (uint32_t)b[4 * i + 2] << 8 | (uint32_t)b[4 * i + 3];
	for (unsigned i = 16; i < 80; i++)
		w[i] = rol32(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
	a = h[0], bb = h[1], c = h[2], d = h[3], e = h[4];
	for (unsigned i = 0; i < 80; i++) {
		uint32_t f, k, t;
		if (i < 20)
			f = (bb & c) | (~bb & d), k = 0x5a827999u;
		else if (i < 40)
			f = bb ^ c ^ d, k = 0x6ed9eba1u;
		else if (i < 60)
			f = (bb & c) | (bb & d) | (c & d), k = 0x8f1bbcdcu;
		else
			f = bb ^ c ^ d, k = 0xca62c1d6u;
		t = rol32(a, 5) + f + e + k + w[i];
		e = d, d = c, c = rol32(bb, 30), bb = a, a = t;
	}
	h[0] += a, h[1] += bb, h[2] += c, h[3] += d, h[4] += e;
}

void sha1(const void *data, size_t len, uint8_t out[static SHA1_BYTES])
{
	uint32_t h[5] = {0x67452301u, 0xefcdab89u, 0x98badcfeu, 0x10325476u, 0xc3d2e1f0u};
	const uint8_t *p = data;
	uint8_t last[128];
	size_t rest = len % 64, nlast;
	uint64_t bits = (uint64_t)len * 8;

	for (size_t i = 0; i + 64 <= len; i += 64)
		sha1_block(h, p + i);
	memset(last, 0, sizeof(last));
	if (rest)
		memcpy(last, p + len - rest, rest);
	last[rest] = 0x80;
	nlast = rest + 1 + 8 <= 64 ? 64 : 128;
	for (unsigned i = 0; i < 8; i++)
		last[nlast - 1 - i] = (uint8_t)(bits >> (8 * i));
	sha1_block(h, last);
	if (nlast == 128)
		sha1_block(h, last + 64);
	for (unsigned i = 0; i < 5; i++) {
		out[4 * i] = (uint8_t)(h[i] >> 24);
		out[4 * i + 1] = (uint8_t)(h[i] >> 16);
		out[4 * i + 2] = (uint8_t)(h[i] >> 8);
		out[4 * i + 3] = (uint8_t)h[i];
	}
	mem_wipe(last, sizeof(last));
}

void hmac_sha1(const uint8_t *key, size_t keylen, const void *msg, size_t len,
	       uint8_t out[static SHA1_BYTES])
{
	uint8_t k[64], inner[SHA1_BYTES], *buf;
	size_t n;

	memset(k, 0, sizeof(k));
	if (keylen > 64)
		sha1(key, keylen, k);
	else if (keylen)
		memcpy(k, key, keylen);
	/* One buffer serves the inner hash (pad + message) and the outer one
	 * (pad + inner digest), so it is sized for the larger of the two. */
	if (size_add(64, len > SHA1_BYTES ? len : SHA1_BYTES, &n) < 0)
		BUG("hmac_sha1 length");
	buf = xmalloc(n);
	for (unsigned i = 0; i < 64; i++)
		buf[i] = k[i] ^ 0x36;
	if (len)
		memcpy(buf + 64, msg, len);
	sha1(buf, 64 + len, inner);
	for (unsigned i = 0; i < 64; i++)
		buf[i] = k[i] ^ 0x5c;
	memcpy(buf + 64, inner, SHA1_BYTES);
	sha1(buf, 64 + SHA1_BYTES, out);
	mem_wipe(buf, n);
	free(buf);
	mem_wipe(k, sizeof(k));
	mem_wipe(inner, sizeof(inner));
}

uint32_t hotp(const uint8_t *key, size_t keylen, uint64_t counter, unsigned digits)
{
	uint8_t msg[8], mac[SHA1_BYTES];
	uint32_t bin, mod = 1;
	unsigned off;

	BUG_ON(digits < 1 || digits > 9);
	for (unsigned i = 0; i < 8; i++)
		msg[7 - i] = (uint8_t)(counter >> (8 * i));
	hmac_sha1(key, keylen, msg, sizeof(msg), mac);
	/* Dynamic truncation, RFC 4226 section 5.3. */
	off = mac[SHA1_BYTES - 1] & 0x0f;
	bin = (uint32_t)(mac[off] & 0x7f) << 24 | (uint32_t)mac[off + 1] << 16 |
	      (uint32_t)mac[off + 2] << 8 | (uint32_t)mac[off + 3];
	for (unsigned i = 0; i < digits; i++)
		mod *= 10;
	mem_wipe(mac, sizeof(mac));
	return bin % mod;
}

uint64_t totp_step(int64_t now)
{
	return now < 0 ? 0 : (uint64_t)now / TOTP_PERIOD;
}

int totp_check(const uint8_t *key, size_t keylen, int64_t now, uint64_t last_step, const char *code,
	       uint64_t *step_out)
{
	char want[TOTP_DIGITS + 1];
	uint64_t step = totp_step(now);
	bool found = false;
	uint64_t hit = 0;

	if (!code || strlen(code) != TOTP_DIGITS)
		return ERR_INVALID;
	for (unsigned i = 0; i < TOTP_DIGITS; i++)
		if (code[i] < '0' || code[i] > '9')
			return ERR_INVALID;
	/* Every candidate is computed and compared, whatever matched, so the
	 * time taken says nothing about which step a code belongs to. */
	for (int d = -1; d <= 1; d++) {
		uint64_t s = step + (uint64_t)(int64_t)d;
		bool eq;
		if (d < 0 && step == 0)
			continue;
		snprintf(want, sizeof(want), "%0*" PRIu32, TOTP_DIGITS,
			 hotp(key, keylen, s, TOTP_DIGITS));
		eq = mem_equal_ct(want, code, TOTP_DIGITS);
		if (eq && s > last_step && !found) {
			found = true;
			hit = s;
		}
	}
	mem_wipe(want, sizeof(want));
	if (!found)
		return ERR_UNAUTHORIZED;
	*step_out = hit;
	return 0;
}

static const char b32_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

int base32_encode(const uint8_t *in, size_t len, char *out, size_t cap)
{
	size_t o = 0;
	uint32_t acc = 0;
	unsigned bits = 0;

	for (size_t i = 0; i < len; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 5) {
			if (o + 1 >= cap)
				return ERR_TOO_LARGE;
			out[o++] = b32_alphabet[(acc >> (bits - 5)) & 31];
			bits -= 5;
		}
	}
	if (bits > 0) {
		if (o + 1 >= cap)
			return ERR_TOO_LARGE;
		out[o++] = b32_alphabet[(acc << (5 - bits)) & 31];
	}
	if (o >= cap)
		return ERR_TOO_LARGE;
	out[o] = '\0';
	return 0;
}

int base32_decode(const char *in, uint8_t *out, size_t cap, size_t *outlen)
{
	size_t o = 0;
	uint32_t acc = 0;
	unsigned bits = 0;

	for (const char *p = in; *p; p++) {
		char c = *p;
		int v;
		if (c == ' ' || c == '=')
			continue;
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		if (c >= 'A' && c <= 'Z')
			v = c - 'A';
		else if (c >= '2' && c <= '7')
			v = c - '2' + 26;
		else
			return ERR_INVALID;
		acc = (acc << 5) | (uint32_t)v;
		bits += 5;
		if (bits >= 8) {
			if (o >= cap)
				return ERR_TOO_LARGE;
			out[o++] = (uint8_t)(acc >> (bits - 8));
			bits -= 8;
		}
		acc &= (1u << bits) - 1;
	}
	if (bits >= 5 || (acc & ((1u << bits) - 1)) != 0)
		return ERR_INVALID;
	*outlen = o;
	return 0;
}
