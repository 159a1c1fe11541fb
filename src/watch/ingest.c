/*
 * ingest.c - validate a batch of access events and append it to the
 * ledger as one group (ingest.h, docs/internals/watch.md).
 *
 * Two passes over the batch: the first checks every line and builds its
 * canonical body, the second (one call) appends them all. Nothing reaches
 * the ledger until every line has passed, so a rejected batch leaves no
 * trace and the sender can fix the line and send the whole batch again.
 */
#include <jansson.h>

#include "base/base.h"
#include "base/diag.h"
#include "base/i18n.h"
#include "base/timeutil.h"
#include "ledger/ledger.h"
#include "registry/registry.h"
#include "watch/ingest.h"

static bool line_blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return false;
	return true;
}

/* Copy the first problem the registry found (reported as line 1 of
 * access.jsonl) to d with the place in the caller's source. */
static void report_line(struct diag *d, const struct diag *one, const char *file, long line)
{
	const struct diag_item *it = one->n > 0 ? &one->items[0] : NULL;

	if (it)
		diag_error(d, file, line, it->col, it->field, "%s", it->msg);
	else
		diag_error(d, file, line, 0, NULL, "%s",
			   T("アクセス記録として正しくありません", "not a valid access event"));
}

/* The event re-serialised canonically: compact, keys sorted, UTF-8 kept
 * as it is, so that the same event always has the same bytes. */
static int canonical_body(const char *line, size_t len, char **out)
{
	json_error_t je;
	json_t *j = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
	int r = 0;

	*out = NULL;
	if (!j || !json_is_object(j)) {
		r = ERR_INVALID;
		goto out;
	}
	*out = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	if (!*out)
		r = ERR_NOMEM;
out:
	json_decref(j);
	return r;
}

int watch_ingest(struct ledger *l, const char *actor, const char *data, size_t len,
		 const char *file, long line_base, struct diag *d, uint64_t *first,
		 size_t *count)
{
	struct audit_rec *recs = NULL;
	char **bodies = NULL;
	size_t n = 0, cap = 0, pos = 0;
	long lineno = 0;
	struct diag one;
	int r = 0;

	diag_init(&one, 1);
	*first = 0;
	*count = 0;
	while (pos < len) {
		const char *s = data + pos, *nl = memchr(s, '\n', len - pos);
		size_t ll = nl ? (size_t)(nl - s) : len - pos;

		pos += ll + (nl ? 1 : 0);
		lineno++;
		if (ll > 0 && s[ll - 1] == '\r')
			ll--;
		if (line_blank(s, ll))
			continue;
		if (n == INGEST_MAX_EVENTS) {
			diag_error(d, file, line_base + lineno, 0, NULL,
				   T("一度に送れるイベントは %d 件までです。分けて送ってください",
				     "at most %d events per batch; send the rest in another batch"),
				   INGEST_MAX_EVENTS);
			r = ERR_TOO_LARGE;
			goto out;
		}
		diag_release(&one);
		diag_init(&one, 1);
		if (registry_check_line("access", s, ll, &one) < 0) {
			report_line(d, &one, file, line_base + lineno);
			r = ERR_INVALID;
			goto out;
		}
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 256;
			if (ncap > INGEST_MAX_EVENTS)
				ncap = INGEST_MAX_EVENTS;
			/* ncap <= INGEST_MAX_EVENTS: the product cannot overflow. */
			bodies = xrealloc(bodies, ncap * sizeof(*bodies));
			cap = ncap;
		}
		r = canonical_body(s, ll, &bodies[n]);
		if (r == ERR_INVALID) {
			/* The registry accepted it; jansson is stricter only about
			 * duplicate keys, which would make the body ambiguous. */
			diag_error(d, file, line_base + lineno, 0, NULL, "%s",
				   T("JSON オブジェクトとして読めません（キーの重複など）",
				     "not a JSON object (duplicate keys?)"));
			goto out;
		}
		if (r < 0)
			goto out;
		n++;
	}
	if (n == 0) {
		diag_error(d, file, line_base + (lineno > 0 ? lineno : 1), 0, NULL, "%s",
			   T("イベントがありません（空のバッチ）", "no events (the batch is empty)"));
		r = ERR_INVALID;
		goto out;
	}
	recs = xcalloc(n, sizeof(*recs));
	for (size_t i = 0; i < n; i++) {
		recs[i].kind = "access";
		recs[i].ts = TS_NONE;
		recs[i].actor = actor;
		recs[i].body = bodies[i];
		recs[i].body_len = strlen(bodies[i]);
	}
	if ((r = ledger_append_many(l, recs, n, first)) < 0)
		goto out;
	*count = n;
out:
	for (size_t i = 0; i < n; i++)
		free(bodies[i]);
	free(bodies);
	free(recs);
	diag_release(&one);
	return r;
}
