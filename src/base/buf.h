/*
 * buf.h - a growable byte buffer with a hard maximum size.
 *
 * Every byte that crosses a boundary (HTTP bodies, file lines, rendered
 * JSON) goes through a struct buf whose max says how large it may ever
 * grow; an append past max fails with ERR_TOO_LARGE and leaves the buffer
 * as it was. data is always NUL-terminated (the NUL is not counted in len)
 * once anything has been appended.
 *
 *	struct buf b;
 *	buf_init(&b, 1 << 20);
 *	if ((r = buf_append(&b, p, n)) < 0) goto out;
 *	...
 *	buf_release(&b);
 */
#ifndef MAMORI_BUF_H
#define MAMORI_BUF_H

#include "base/base.h"

struct buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max;
};

#define BUF_MAX_DEFAULT ((size_t)64 << 20)

void buf_init(struct buf *b, size_t max);
void buf_release(struct buf *b);
/* Forget the contents but keep the memory. */
void buf_reset(struct buf *b);
MM_WUR int buf_reserve(struct buf *b, size_t extra);
MM_WUR int buf_append(struct buf *b, const void *p, size_t n);
MM_WUR int buf_puts(struct buf *b, const char *s);
MM_WUR int buf_putc(struct buf *b, char c);
MM_WUR int buf_printf(struct buf *b, const char *fmt, ...) MM_PRINTF(2, 3);
MM_WUR int buf_vprintf(struct buf *b, const char *fmt, va_list ap);
/* Append s as a JSON string literal, quotes included. Invalid UTF-8 is
 * replaced by U+FFFD so the output is always valid JSON. */
MM_WUR int buf_json_str(struct buf *b, const char *s, size_t n);
/* Take the data out; the caller frees it. The buffer is left empty. */
char *buf_detach(struct buf *b, size_t *len);

#endif
