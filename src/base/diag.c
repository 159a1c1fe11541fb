#include "base/diag.h"
#include "base/buf.h"
#include "base/i18n.h"

void diag_init(struct diag *d, size_t limit)
{
	memset(d, 0, sizeof(*d));
	d->limit = limit ? limit : 100;
}

void diag_release(struct diag *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->items[i].file);
		free(d->items[i].field);
		free(d->items[i].msg);
	}
	free(d->items);
	diag_init(d, d->limit);
}

void diag_verror(struct diag *d, bool warning, const char *file, long line,
		 long col, const char *field, const char *fmt, va_list ap)
{
	struct buf b;
	struct diag_item *it;

	if (warning)
		d->warnings++;
	else
		d->errors++;
	if (d->n >= d->limit)
		return;
	if (ARRAY_GROW(d->items, d->cap, d->n + 1) < 0)
		return;
	buf_init(&b, 4096);
	if (buf_vprintf(&b, fmt, ap) < 0)
		buf_reset(&b);
	it = &d->items[d->n++];
	it->file = file ? xstrdup(file) : NULL;
	it->line = line;
	it->col = col;
	it->field = field ? xstrdup(field) : NULL;
	it->msg = buf_detach(&b, NULL);
	it->warning = warning;
}

void diag_error(struct diag *d, const char *file, long line, long col,
		const char *field, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	diag_verror(d, false, file, line, col, field, fmt, ap);
	va_end(ap);
}

void diag_warn(struct diag *d, const char *file, long line, long col,
	       const char *field, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	diag_verror(d, true, file, line, col, field, fmt, ap);
	va_end(ap);
}

int diag_item_format(const struct diag_item *it, struct buf *out)
{
	int r = 0;
	if (it->file && (r = buf_printf(out, "%s:", it->file)) < 0)
		return r;
	if (it->line > 0 && (r = buf_printf(out, "%ld:", it->line)) < 0)
		return r;
	if (it->col > 0 && (r = buf_printf(out, "%ld:", it->col)) < 0)
		return r;
	if (out->len && (r = buf_putc(out, ' ')) < 0)
		return r;
	if (it->warning && (r = buf_puts(out, T("警告: ", "warning: "))) < 0)
		return r;
	if (it->field &&
	    (r = buf_printf(out, T("フィールド '%s': ", "field '%s': "), it->field)) < 0)
		return r;
	return buf_puts(out, it->msg);
}

void diag_print(const struct diag *d, FILE *f)
{
	struct buf b;
	size_t dropped;

	buf_init(&b, 8192);
	for (size_t i = 0; i < d->n; i++) {
		buf_reset(&b);
		if (diag_item_format(&d->items[i], &b) == 0)
			fprintf(f, "%s\n", b.data);
	}
	buf_release(&b);
	dropped = d->errors + d->warnings - d->n;
	if (dropped > 0)
		fprintf(f, T("（ほかに %zu 件）\n", "(and %zu more)\n"), dropped);
}
