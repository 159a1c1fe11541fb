/*
 * diag.h - diagnostics: the errors a person must read to fix their input.
 *
 * A parser or validator adds one diagnostic per problem found, each naming
 * the place (file, line, column, field) and the reason, and goes on to find
 * the rest. A struct diag keeps at most `limit` messages and counts the
 * others, so that a file with a million bad lines cannot exhaust memory.
 *
 * Printed form (one per line): FILE:LINE:COL: message
 * (LINE and COL are left out when 0).
 */
#ifndef MAMORI_DIAG_H
#define MAMORI_DIAG_H

#include "base/base.h"

struct diag_item {
	char *file;  /* may be NULL */
	long line;   /* 1-based, 0 if none */
	long col;    /* 1-based, 0 if none */
	char *field; /* may be NULL */
	char *msg;
	bool warning;
};

struct diag {
	struct diag_item *items;
	size_t n, cap;
	size_t limit;    /* messages kept; 0 means 100 */
	size_t errors;   /* all errors seen, kept or not */
	size_t warnings; /* all warnings seen, kept or not */
};

void diag_init(struct diag *d, size_t limit);
void diag_release(struct diag *d);
/* Add an error. field may be NULL. */
void diag_error(struct diag *d, const char *file, long line, long col,
		const char *field, const char *fmt, ...) MM_PRINTF(6, 7);
void diag_warn(struct diag *d, const char *file, long line, long col,
	       const char *field, const char *fmt, ...) MM_PRINTF(6, 7);
void diag_verror(struct diag *d, bool warning, const char *file, long line,
		 long col, const char *field, const char *fmt, va_list ap);
static inline bool diag_has_errors(const struct diag *d)
{
	return d->errors > 0;
}
/* Print every kept item, then "(and N more)" if some were dropped. */
void diag_print(const struct diag *d, FILE *f);
/* Render one item as "file:line:col: field 'x': msg" into buf. */
struct buf;
MM_WUR int diag_item_format(const struct diag_item *it, struct buf *out);

#endif
