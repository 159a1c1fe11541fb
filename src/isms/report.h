/*
 * report.h - reports as HTML, CSV and PDF.
 *
 * HTML: a small builder writes one self-contained page (no external
 * resource: styles inline, charts as inline SVG, fonts from the system
 * with the list "Noto Sans CJK JP", "IPAexGothic", sans-serif). Every text
 * given to the builder is escaped; callers never write markup.
 *
 * CSV: RFC 4180 (fields quoted when they hold a comma, quote, CR or LF;
 * quotes doubled; CRLF line ends), UTF-8 with a byte order mark first,
 * because Excel in Japan opens a CSV without a BOM as Shift_JIS and shows
 * mojibake. Programs that read the file must skip the BOM (EF BB BF).
 *
 * PDF: the HTML rendered by headless Chromium's print-to-PDF
 * (report_pdf), spawned with fixed arguments, no shell, in a private
 * temporary folder, with a time limit.
 *
 * Threading: a struct report is used by one thread; report_pdf may run in
 * many threads at once (each call has its own folder).
 */
#ifndef MAMORI_ISMS_REPORT_H
#define MAMORI_ISMS_REPORT_H

#include "base/base.h"

#include "base/buf.h"

struct report {
	struct buf html;
	bool ended;
};

struct report_figure {
	const char *label; /* "インシデント件数 / Incidents" */
	const char *value; /* "12" */
	const char *note;  /* may be NULL */
	bool alert;        /* shown in red (something overdue) */
};

/* Most bars one chart draws; more are an ERR_INVALID. */
#define REPORT_CHART_MAX 400
/* Time limit of one PDF rendering. */
#define REPORT_PDF_TIMEOUT_SEC 60
/* Largest PDF read back. */
#define REPORT_PDF_MAX ((size_t)32 << 20)

/* Start a page titled title (lang "ja" or "en" for the html element).
 * Writes the document head and an h1 with title and, if not NULL,
 * a line with subtitle. */
MM_WUR int report_begin(struct report *r, const char *lang, const char *title,
			const char *subtitle);
/* A heading of level 2 or 3. */
MM_WUR int report_heading(struct report *r, int level, const char *text);
/* A paragraph of text (newlines kept as line breaks). */
MM_WUR int report_para(struct report *r, const char *text);
/* A row of key figures. */
MM_WUR int report_figures(struct report *r, const struct report_figure *f, size_t n);
/*
 * A table of nrows rows of ncols cells (cells row-major, a NULL cell is
 * empty) under the headings head[ncols]. Cells that look like numbers are
 * right-aligned.
 */
MM_WUR int report_table(struct report *r, const char *const *head, size_t ncols,
			const char *const *cells, size_t nrows);
/*
 * A bar chart as inline SVG: one bar per label with its value (>= 0),
 * the value written above the bar. max is the top of the scale (0 = the
 * largest value); unit is appended to values ("%", may be NULL).
 * title is the chart's accessible name. ERR_INVALID for n > REPORT_CHART_MAX
 * or a negative or non-finite value.
 */
MM_WUR int report_bar_chart(struct report *r, const char *title, const char *const *labels,
			    const double *values, size_t n, double max, const char *unit);
/* Close the page; r->html then holds the whole document. */
MM_WUR int report_end(struct report *r);
void report_release(struct report *r);

/* Append s (NUL-terminated, UTF-8) escaped for HTML text and attributes. */
MM_WUR int report_escape(struct buf *out, const char *s);

/* The byte order mark that starts every CSV mamori writes for people. */
#define REPORT_CSV_BOM "\xef\xbb\xbf"
/* Append the BOM (once, at the start). */
MM_WUR int report_csv_begin(struct buf *out);
/* Append one CSV record of n fields (NULL = empty), CRLF-terminated. */
MM_WUR int report_csv_row(struct buf *out, const char *const *fields, size_t n);

/*
 * Render html (a whole document) to PDF into pdf (appended). Chromium is
 * looked for at fixed paths (/usr/bin/chromium, /usr/bin/chromium-browser,
 * /usr/bin/google-chrome); the page is written to a folder made with
 * mkdtemp under $TMPDIR (or /tmp), Chromium runs there with its own
 * profile folder, stdin/stdout/stderr to /dev/null, and is killed after
 * timeout_sec (0 = REPORT_PDF_TIMEOUT_SEC). The folder is removed
 * afterwards. Errors: ERR_NOT_FOUND when no Chromium is installed (the
 * message to show is report_pdf_missing_msg()), ERR_TIMEOUT-like
 * ERR_IO when it ran too long or failed, ERR_TOO_LARGE past REPORT_PDF_MAX.
 * Thread-safe.
 */
MM_WUR int report_pdf(const char *html, size_t len, unsigned timeout_sec, struct buf *pdf);
/* "Chromium is not installed: apt-get install chromium" in the thread's language. */
const char *report_pdf_missing_msg(void);

#endif
