/*
 * ingest.h - access events into the ledger (docs/watch.md, "Ingest").
 *
 * Business systems report their accesses to residents' records as JSON
 * Lines (FORMATS.md, access.jsonl), through `POST /v1/events` or `mamori
 * ingest`. A batch is all-or-nothing: every line is validated before
 * anything is written, and the valid batch goes to the ledger as one
 * durable group (ledger_append_many), one record of kind "access" per
 * event, in the order of the lines.
 *
 * Threading: watch_ingest may be called from many threads at once on one
 * struct ledger, and from several processes on one ledger directory (the
 * ledger serialises the appends).
 */
#ifndef MAMORI_WATCH_INGEST_H
#define MAMORI_WATCH_INGEST_H

#include "base/base.h"

struct ledger;
struct diag;

/* At most this many events in one batch (blank lines are not counted). */
#define INGEST_MAX_EVENTS 10000

/*
 * Validate and append a batch of access events.
 *
 * data[0..len) holds the lines, separated by "\n" (a "\r" before it is
 * ignored; the last line may lack its newline; blank lines are skipped
 * but counted in the numbering). actor is the API key name or
 * "cli:<user>". file names the source in diagnostics (NULL: none) and
 * line_base is the number of lines before data in that source, so that
 * a diagnostic names the line of the whole file (0 for a lone batch).
 *
 * Every line is checked with registry_check_line("access") and parsed
 * before anything is written. On the first bad line, one diagnostic goes
 * to d naming file, line (line_base + the line in data) and field, and
 * the result is ERR_INVALID with nothing written. Each body stored is the
 * event re-serialised canonically (compact, keys sorted, UTF-8 kept).
 *
 * Results: 0 and *first (index of the first record) and *count (events
 * appended, >= 1). ERR_INVALID: a bad line, or no event at all (a
 * diagnostic says which). ERR_TOO_LARGE: more than INGEST_MAX_EVENTS
 * events (a diagnostic says so). The ledger's errors (ERR_IO,
 * ERR_FORBIDDEN on a read-only ledger). d is required.
 */
MM_WUR int watch_ingest(struct ledger *l, const char *actor, const char *data, size_t len,
			const char *file, long line_base, struct diag *d, uint64_t *first,
			size_t *count);

#endif
