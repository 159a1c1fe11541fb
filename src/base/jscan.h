/*
 * jscan.h - the inner loops of the one-pass JSON and UTF-8 scanners (the
 * ledger's body check, src/ledger/bodycheck.c; the access-line scanner,
 * src/watch/audit.c; the canonical body of an ingested event,
 * src/watch/ingest.c; utf8_valid, src/base/util.c, which checks registry
 * lines and API bodies): skipping the plain bytes of a string, ASCII,
 * and runs of the common multi-byte UTF-8 sequences. Header-only: they
 * are called once per string or more and must inline.
 */
#ifndef MAMORI_BASE_JSCAN_H
#define MAMORI_BASE_JSCAN_H

#include <endian.h>
#include <stdint.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/*
 * The first byte at or after p (and before end) that a string scanner must
 * look at: a quote, a backslash, a control byte (< 0x20) or a byte of a
 * multi-byte UTF-8 sequence (>= 0x80); end when there is none. With SSE2
 * (every x86-64) sixteen bytes at a time: a signed compare below 0x20
 * catches the control bytes and every byte >= 0x80 at once. Then eight at
 * a time in a 64-bit word: three zero-byte tests and the high bits flag
 * the bytes; a flag can also fall on a byte above one that truly matches
 * (a borrow runs upwards), never below it, so the lowest flag is a true
 * one. Then byte by byte.
 */
static inline const unsigned char *jscan_skip_plain(const unsigned char *p,
						    const unsigned char *end)
{
#if defined(__SSE2__)
	const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\'),
		      low = _mm_set1_epi8(0x20);

	while (end - p >= 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
		unsigned m = (unsigned)_mm_movemask_epi8(
			_mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)),
				     _mm_cmplt_epi8(v, low)));

		if (m != 0)
			return p + __builtin_ctz(m);
		p += 16;
	}
#endif
	while (end - p >= 8) {
		const uint64_t ones = UINT64_C(0x0101010101010101), highs = UINT64_C(0x8080808080808080);
		uint64_t w, q, b, m;

		memcpy(&w, p, 8);
		w = le64toh(w);
		q = w ^ (ones * '"');
		b = w ^ (ones * '\\');
		m = (((q - ones) & ~q) | ((b - ones) & ~b) | ((w - ones * 0x20) & ~w) | w) & highs;
		if (m != 0)
			return p + (unsigned)__builtin_ctzll(m) / 8;
		p += 8;
	}
	while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
		p++;
	return p;
}

/* The first byte at or after p that is not ASCII (>= 0x80), or end. */
static inline const unsigned char *jscan_skip_ascii(const unsigned char *p,
						    const unsigned char *end)
{
#if defined(__SSE2__)
	while (end - p >= 16) {
		unsigned m = (unsigned)_mm_movemask_epi8(
			_mm_loadu_si128((const __m128i *)(const void *)p));

		if (m != 0)
			return p + __builtin_ctz(m);
		p += 16;
	}
#endif
	while (end - p >= 8) {
		uint64_t w;

		memcpy(&w, p, 8);
		w = le64toh(w) & UINT64_C(0x8080808080808080);
		if (w != 0)
			return p + (unsigned)__builtin_ctzll(w) / 8;
		p += 8;
	}
	while (p < end && *p < 0x80)
		p++;
	return p;
}

/*
 * After a run of well-formed UTF-8 sequences of the common kinds starting
 * at p: three bytes led by E1-EC or EE-EF (most of Japanese text) and two
 * bytes led by C2-DF. Such a sequence is well-formed whatever its
 * continuation bytes are (U+0080-U+07FF, U+1000-U+CFFF, U+E000-U+FFFF:
 * no overlong form, no surrogate), so only those are checked. Returns p
 * itself when the first sequence is not of these kinds (E0, ED, the
 * four-byte leads, a bad byte): the caller's careful path decides.
 */
static inline const unsigned char *jscan_skip_utf8(const unsigned char *p,
						   const unsigned char *end)
{
	while (end - p >= 3 && (p[1] & 0xc0) == 0x80) {
		if (p[0] >= 0xe1 && p[0] <= 0xef && p[0] != 0xed && (p[2] & 0xc0) == 0x80)
			p += 3;
		else if (p[0] >= 0xc2 && p[0] <= 0xdf)
			p += 2;
		else
			break;
	}
	return p;
}

#endif
