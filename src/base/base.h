/*
 * base.h - the header every mamori source file includes first.
 *
 * It pulls in the C library pieces used everywhere, the project's error
 * codes, and banned.h (which must come after the system headers so that it
 * can poison the functions we do not use).
 */
#ifndef MAMORI_BASE_H
#define MAMORI_BASE_H

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define MM_UNUSED __attribute__((unused))
#define MM_WUR __attribute__((warn_unused_result))
#define MM_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define MM_NORETURN _Noreturn

/* BUG() aborts on a broken invariant. It never handles bad input. */
MM_NORETURN void bug_at(const char *file, int line, const char *msg);
#define BUG(msg) bug_at(__FILE__, __LINE__, (msg))
#define BUG_ON(cond)                                                          \
	do {                                                                  \
		if (cond)                                                     \
			bug_at(__FILE__, __LINE__, #cond);                    \
	} while (0)

/*
 * Allocation that cannot return NULL: on out-of-memory it reports and
 * aborts. Used for small, bounded allocations; code that allocates sizes
 * derived from input checks the size first (see size_mul/size_add).
 */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/*
 * Zeroed memory for a large table read at random (n elements of size
 * bytes, n == 0 taken as 1): in 2 MiB pages where the kernel gives them
 * on request (transparent huge pages in "madvise" mode), because with
 * 4 KiB pages nearly every random read of a table of tens of MB also
 * misses the TLB, which a prefetch cannot hide. Below 2 MiB it is
 * xcalloc. Aborts on overflow or out of memory. Released with free().
 */
void *xcalloc_huge(size_t n, size_t size);

/* Overflow-checked size arithmetic: 0 on success, ERR_OVERFLOW otherwise. */
static inline MM_WUR int size_add(size_t a, size_t b, size_t *out)
{
	return __builtin_add_overflow(a, b, out) ? ERR_OVERFLOW : 0;
}
static inline MM_WUR int size_mul(size_t a, size_t b, size_t *out)
{
	return __builtin_mul_overflow(a, b, out) ? ERR_OVERFLOW : 0;
}

/* Grow an array of *cap elements of size elem so that it holds need. */
MM_WUR int array_grow(void **arr, size_t *cap, size_t need, size_t elem);
#define ARRAY_GROW(arr, cap, need)                                            \
	array_grow((void **)&(arr), &(cap), (need), sizeof(*(arr)))

/* Constant-time comparison of n bytes: true when equal. */
bool mem_equal_ct(const void *a, const void *b, size_t n);

/* Zero memory that held a secret; the compiler may not elide it. */
void mem_wipe(void *p, size_t n);

/*
 * Parse a whole decimal integer in [min, max]. The text must be exactly the
 * number: no spaces, no sign unless min < 0, no trailing characters.
 */
MM_WUR int parse_i64(const char *s, size_t len, int64_t min, int64_t max,
		     int64_t *out);

/*
 * True when s[0, n) is well-formed UTF-8: no overlong form, no surrogate,
 * nothing above U+10FFFF (NUL and control characters are the caller's
 * business). Otherwise false, with *bad (when not NULL) the offset of the
 * first byte of the first bad sequence. ASCII and runs of the common two-
 * and three-byte sequences are taken many bytes at a time (base/jscan.h).
 */
bool utf8_valid(const char *s, size_t n, size_t *bad);

#include "base/banned.h"

#endif
