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
#include "base/jscan.h"
#include "base/timeutil.h"
#include "ledger/ledger.h"
#include "registry/registry.h"
#include "watch/ingest.h"
#include "watch/watch.h"
#include "watch/watch_int.h"

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

/*
 * The fast way to the canonical body (watch_int.h): one pass over a flat
 * object, keeping each member's key and the raw text of its value, then
 * the members sorted by key and written compactly. For the values it
 * takes the raw text is exactly what jansson writes: a string without
 * escapes (jansson escapes only '"', '\\' and control bytes, none of
 * which such a string holds), an integer in its shortest form, a literal.
 */
#define FAST_MEMBERS 64

struct member {
	const char *k, *v; /* the key's bytes without quotes; the value's text */
	size_t kn, vn;
};

static int member_cmp(const void *a, const void *b)
{
	const struct member *x = a, *y = b;
	size_t n = x->kn < y->kn ? x->kn : y->kn;
	int c = memcmp(x->k, y->k, n);

	/* strcmp's order: keys hold no NUL. */
	return c != 0 ? c : (x->kn > y->kn) - (x->kn < y->kn);
}

static const unsigned char *fast_ws(const unsigned char *p, const unsigned char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/* A string at p (its opening quote) without escapes, of plain ASCII and
 * the common UTF-8 sequences; returns after its closing quote, or NULL. */
static const unsigned char *fast_string(const unsigned char *p, const unsigned char *end)
{
	p++;
	for (;;) {
		const unsigned char *q;

		p = jscan_skip_plain(p, end);
		if (p >= end)
			return NULL;
		if (*p == '"')
			return p + 1;
		if (*p < 0x80)
			return NULL; /* a backslash or a control byte */
		q = jscan_skip_utf8(p, end);
		if (q == p)
			return NULL; /* E0, ED, a four-byte lead, a bad byte */
		p = q;
	}
}

/* After a value, the next byte must end it. */
static bool fast_ends(const unsigned char *p, const unsigned char *end)
{
	return p >= end || *p == ',' || *p == '}' || *p == ' ' || *p == '\t' || *p == '\n' ||
	       *p == '\r';
}

static const unsigned char *fast_value(const unsigned char *p, const unsigned char *end)
{
	static const char *const lits[] = { "null", "true", "false" };

	if (p >= end)
		return NULL;
	if (*p == '"')
		return fast_string(p, end);
	for (size_t i = 0; i < ARRAY_SIZE(lits); i++) {
		size_t n = strlen(lits[i]);

		if (*p == (unsigned char)lits[i][0])
			return (size_t)(end - p) >= n && memcmp(p, lits[i], n) == 0 &&
					       fast_ends(p + n, end)
				       ? p + n
				       : NULL;
	}
	{
		/* -?(0|[1-9][0-9]*), at most 18 digits (a long long), not -0. */
		const unsigned char *q = p, *d;

		if (*q == '-')
			q++;
		d = q;
		if (q >= end || *q < '0' || *q > '9')
			return NULL;
		if (*q == '0') {
			q++;
			if (p != d)
				return NULL; /* -0 is written 0 */
		} else {
			while (q < end && *q >= '0' && *q <= '9')
				q++;
		}
		if (q - d > 18 || !fast_ends(q, end))
			return NULL; /* a fraction, an exponent, a long number */
		return q;
	}
}

bool watch_canonical_event(const char *line, size_t len, char **out)
{
	const unsigned char *p = (const unsigned char *)line, *end = p + len;
	struct member m[FAST_MEMBERS];
	size_t n = 0, o = 0;
	char *b;

	*out = NULL;
	p = fast_ws(p, end);
	if (p >= end || *p != '{')
		return false;
	p = fast_ws(p + 1, end);
	if (p < end && *p == '}') {
		p++;
	} else {
		for (;;) {
			const unsigned char *k, *v;

			if (p >= end || *p != '"' || n == FAST_MEMBERS)
				return false;
			k = p;
			if ((p = fast_string(p, end)) == NULL)
				return false;
			m[n].k = (const char *)k + 1;
			m[n].kn = (size_t)(p - k) - 2;
			p = fast_ws(p, end);
			if (p >= end || *p != ':')
				return false;
			v = fast_ws(p + 1, end);
			if ((p = fast_value(v, end)) == NULL)
				return false;
			m[n].v = (const char *)v;
			m[n].vn = (size_t)(p - v);
			n++;
			p = fast_ws(p, end);
			if (p < end && *p == ',') {
				p = fast_ws(p + 1, end);
				continue;
			}
			if (p < end && *p == '}') {
				p++;
				break;
			}
			return false;
		}
	}
	if (fast_ws(p, end) != end)
		return false;
	/* At most 64 members, mostly a dozen: an insertion sort. */
	for (size_t i = 1; i < n; i++) {
		struct member x = m[i];
		size_t k = i;

		for (; k > 0 && member_cmp(&m[k - 1], &x) > 0; k--)
			m[k] = m[k - 1];
		m[k] = x;
	}
	for (size_t i = 1; i < n; i++)
		if (member_cmp(&m[i - 1], &m[i]) == 0)
			return false; /* a duplicate key: jansson's message */
	/* The output is never longer than the line (only whitespace goes). */
	b = xmalloc(len + 3);
	b[o++] = '{';
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			b[o++] = ',';
		b[o++] = '"';
		memcpy(b + o, m[i].k, m[i].kn);
		o += m[i].kn;
		b[o++] = '"';
		b[o++] = ':';
		memcpy(b + o, m[i].v, m[i].vn);
		o += m[i].vn;
	}
	b[o++] = '}';
	b[o] = '\0';
	*out = b;
	return true;
}

/* The event re-serialised canonically: compact, keys sorted, UTF-8 kept
 * as it is, so that the same event always has the same bytes. The common
 * case without jansson (watch_canonical_event), the rest with it. */
static int canonical_body(const char *line, size_t len, char **out)
{
	json_error_t je;
	json_t *j;
	int r = 0;

	if (watch_canonical_event(line, len, out))
		return 0;
	j = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
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
