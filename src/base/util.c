#include "base/base.h"
#include "base/jscan.h"

#include <stdlib.h>
#include <sys/mman.h>

void bug_at(const char *file, int line, const char *msg)
{
	fprintf(stderr, "mamori: BUG at %s:%d: %s\n", file, line, msg);
	abort();
}

static void *oom(size_t n)
{
	fprintf(stderr, "mamori: out of memory (%zu bytes)\n", n);
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	return p ? p : oom(n);
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	return p ? p : oom(n * size);
}

#define HUGE_PAGE ((size_t)2 << 20)

void *xcalloc_huge(size_t n, size_t size)
{
	size_t bytes;
	void *p;

	if (size_mul(n ? n : 1, size ? size : 1, &bytes) < 0)
		BUG("xcalloc_huge: size overflows");
	if (bytes < HUGE_PAGE)
		return xcalloc(n, size);
	if (size_add(bytes, HUGE_PAGE - 1, &bytes) < 0)
		BUG("xcalloc_huge: size overflows");
	bytes -= bytes % HUGE_PAGE;
	if (posix_memalign(&p, HUGE_PAGE, bytes) != 0)
		return oom(bytes);
	(void)madvise(p, bytes, MADV_HUGEPAGE); /* advice only */
	memset(p, 0, bytes);
	return p;
}

void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	return q ? q : oom(n);
}

char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

int array_grow(void **arr, size_t *cap, size_t need, size_t elem)
{
	size_t ncap, bytes;
	void *p;

	if (need <= *cap)
		return 0;
	ncap = *cap ? *cap : 8;
	while (ncap < need)
		if (size_mul(ncap, 2, &ncap))
			return ERR_OVERFLOW;
	if (size_mul(ncap, elem, &bytes))
		return ERR_OVERFLOW;
	p = realloc(*arr, bytes);
	if (!p)
		return ERR_NOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

bool mem_equal_ct(const void *a, const void *b, size_t n)
{
	const volatile unsigned char *x = a, *y = b;
	unsigned char d = 0;
	for (size_t i = 0; i < n; i++)
		d |= x[i] ^ y[i];
	return d == 0;
}

void mem_wipe(void *p, size_t n)
{
	volatile unsigned char *v = p;
	while (n--)
		*v++ = 0;
}

int parse_i64(const char *s, size_t len, int64_t min, int64_t max, int64_t *out)
{
	size_t i = 0;
	bool neg = false;
	uint64_t v = 0, lim;

	if (len == 0)
		return ERR_INVALID;
	if (s[0] == '-') {
		if (min >= 0)
			return ERR_INVALID;
		neg = true;
		i = 1;
		if (len == 1)
			return ERR_INVALID;
	}
	lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; i < len; i++) {
		unsigned d;
		if (s[i] < '0' || s[i] > '9')
			return ERR_INVALID;
		d = (unsigned)(s[i] - '0');
		if (v > (lim - d) / 10)
			return ERR_OVERFLOW;
		v = v * 10 + d;
	}
	{
		int64_t r = neg ? (int64_t)(0 - v) : (int64_t)v;
		if (r < min || r > max)
			return ERR_OVERFLOW;
		*out = r;
	}
	return 0;
}

bool utf8_valid(const char *str, size_t n, size_t *bad)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < n) {
		unsigned c, need, cp;
		unsigned min;
		const unsigned char *q;

		/* ASCII many bytes at a time, then runs of the common two- and
		 * three-byte sequences (base/jscan.h); the rest one by one. */
		i = (size_t)(jscan_skip_ascii(s + i, s + n) - s);
		if (i >= n)
			break;
		q = jscan_skip_utf8(s + i, s + n);
		if (q != s + i) {
			i = (size_t)(q - s);
			continue;
		}
		c = s[i];
		if (c >= 0xc2 && c <= 0xdf) {
			need = 1, cp = c & 0x1f, min = 0x80;
		} else if (c >= 0xe0 && c <= 0xef) {
			need = 2, cp = c & 0x0f, min = 0x800;
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3, cp = c & 0x07, min = 0x10000;
		} else {
			goto fail;
		}
		if (n - i <= need)
			goto fail;
		for (unsigned j = 1; j <= need; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				goto fail;
			cp = (cp << 6) | (s[i + j] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			goto fail;
		i += need + 1;
	}
	return true;
fail:
	if (bad)
		*bad = i;
	return false;
}
