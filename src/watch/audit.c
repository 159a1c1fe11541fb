/*
 * audit.c - the batch audit of an access.jsonl file, and its quality
 * against a labels.jsonl file: per label kind, how many labelled events
 * some alert names (recall), and how many of the events each kind's rules
 * name are labelled at all (precision).
 */
#include "base/base.h"
#include "base/buf.h"
#include "base/diag.h"
#include "base/i18n.h"
#include "base/jscan.h"
#include "base/timeutil.h"
#include "watch/watch.h"
#include "watch/watch_int.h"
#include "ledger/ledger.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <jansson.h>
#include <string.h>

/* The label kinds of FORMATS.md labels.jsonl, in its order. */
static const char *const kinds[] = {"unexplained", "dv_support", "relative", "neighbour",
				    "vip",	   "bulk_scan",	 "off_hours", "after_end",
				    "untrained",   "export"};
#define NKINDS ARRAY_SIZE(kinds)
#define KIND_NONE 0xff

static int kind_index(const char *s)
{
	for (size_t i = 0; i < NKINDS; i++)
		if (strcmp(kinds[i], s) == 0)
			return (int)i;
	return -1;
}

struct label {
	char *ref;
	uint8_t kind;
};

struct audit {
	watch_alert_fn fn; /* the caller's, may be NULL */
	void *ctx;
	/* labels: ref -> index in lab */
	struct label *lab;
	size_t nlab, caplab;
	struct idmap labmap;
	/* per event line: its label kind and the kinds of the rules that
	 * flagged it (bit NKINDS: a rule with no label kind) */
	uint8_t *ev_kind;
	uint16_t *ev_flag;
	size_t nev_cap;
};

static int grow_events(struct audit *a, uint64_t seq)
{
	size_t need = (size_t)seq + 1, cap = a->nev_cap;
	if (need <= cap)
		return 0;
	while (cap < need)
		cap = cap ? cap * 2 : 4096;
	if (cap > SIZE_MAX / 4)
		return ERR_OVERFLOW;
	a->ev_kind = xrealloc(a->ev_kind, cap);
	a->ev_flag = xrealloc(a->ev_flag, cap * sizeof(*a->ev_flag));
	memset(a->ev_kind + a->nev_cap, KIND_NONE, cap - a->nev_cap);
	memset(a->ev_flag + a->nev_cap, 0, (cap - a->nev_cap) * sizeof(*a->ev_flag));
	a->nev_cap = cap;
	return 0;
}

static int on_alert(const struct watch_alert *al, void *ctx)
{
	struct audit *a = ctx;
	const char *lk = watch_rule_info((int)al->rule)->label_kind;
	int k = lk ? kind_index(lk) : -1;
	uint16_t bit = (uint16_t)(1u << (k >= 0 ? (unsigned)k : NKINDS));
	int r;
	if (a->labmap.cap) {
		for (size_t i = 0; i < al->nevents; i++) {
			if ((r = grow_events(a, al->seqs[i])) < 0)
				return r;
			a->ev_flag[al->seqs[i]] |= bit;
		}
	}
	return a->fn ? a->fn(al, a->ctx) : 0;
}

static int labels_read(struct audit *a, const char *path, struct diag *d)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	long ln = 0;
	int r = 0;

	if (!f) {
		diag_error(d, path, 0, 0, NULL, "%s", strerror(errno));
		return ERR_IO;
	}
	while ((n = getline(&line, &cap, f)) >= 0) {
		json_error_t jerr;
		json_t *o;
		const char *ref, *kind;
		int k;
		ln++;
		if (n == 0 || line[0] == '\n')
			continue;
		o = json_loadb(line, (size_t)n, 0, &jerr);
		if (!o || !json_is_object(o)) {
			diag_error(d, path, ln, 0, NULL, "%s", o ? "not an object" : jerr.text);
			json_decref(o);
			r = ERR_INVALID;
			continue;
		}
		ref = json_string_value(json_object_get(o, "ref"));
		kind = json_string_value(json_object_get(o, "kind"));
		k = kind ? kind_index(kind) : -1;
		if (!ref)
			diag_error(d, path, ln, 0, "ref", "missing or not a string");
		else if (k < 0)
			diag_error(d, path, ln, 0, "kind", "unknown label kind");
		if (!ref || k < 0) {
			json_decref(o);
			r = ERR_INVALID;
			continue;
		}
		if (ARRAY_GROW(a->lab, a->caplab, a->nlab + 1) < 0) {
			json_decref(o);
			r = ERR_NOMEM;
			break;
		}
		a->lab[a->nlab].ref = xstrdup(ref);
		a->lab[a->nlab].kind = (uint8_t)k;
		a->nlab++;
		json_decref(o);
	}
	free(line);
	fclose(f);
	if (r < 0)
		return r;
	if ((r = idmap_init(&a->labmap, a->nlab)) < 0)
		return r;
	for (size_t i = 0; i < a->nlab; i++) {
		uint32_t next = (uint32_t)i;
		(void)idmap_intern(&a->labmap, a->lab[i].ref, &next);
	}
	return 0;
}

static const char *opt_str(json_t *o, const char *field, bool *bad)
{
	json_t *v = json_object_get(o, field);
	if (!v || json_is_null(v))
		return NULL;
	if (!json_is_string(v)) {
		*bad = true;
		return NULL;
	}
	return json_string_value(v);
}

/* Parse one access line into ev; problems go to d. */
static int event_parse(json_t *o, const char *path, long ln, struct watch_event *ev,
		       struct diag *d)
{
	const char *ts, *action, *result;
	bool bad = false;
	ts = json_string_value(json_object_get(o, "ts"));
	if (!ts || ts_parse(ts, strlen(ts), &ev->ts, NULL) < 0) {
		diag_error(d, path, ln, 0, "ts", "not a timestamp");
		return ERR_INVALID;
	}
	ev->staff_id = json_string_value(json_object_get(o, "staff_id"));
	if (!ev->staff_id || !*ev->staff_id) {
		diag_error(d, path, ln, 0, "staff_id", "missing or not a string");
		return ERR_INVALID;
	}
	action = json_string_value(json_object_get(o, "action"));
	if (!action || watch_action_parse(action, &ev->action) < 0) {
		diag_error(d, path, ln, 0, "action", "not one of search, view, update, print, export");
		return ERR_INVALID;
	}
	ev->resident_id = opt_str(o, "resident_id", &bad);
	if (bad) {
		diag_error(d, path, ln, 0, "resident_id", "not a string");
		return ERR_INVALID;
	}
	ev->case_id = opt_str(o, "case_id", &bad);
	ev->query = opt_str(o, "query", &bad);
	ev->ref = opt_str(o, "ref", &bad);
	result = opt_str(o, "result", &bad);
	if (bad) {
		diag_error(d, path, ln, 0, NULL, "case_id, query and ref must be strings or null");
		return ERR_INVALID;
	}
	if (result && strcmp(result, "ok") != 0 && strcmp(result, "denied") != 0) {
		diag_error(d, path, ln, 0, "result", "not ok or denied");
		return ERR_INVALID;
	}
	ev->denied = result && strcmp(result, "denied") == 0;
	if (!ev->resident_id && ev->action != WA_SEARCH) {
		diag_error(d, path, ln, 0, "resident_id", "required unless the action is search");
		return ERR_INVALID;
	}
	return 0;
}

/*
 * The scanner for access lines: one pass over the line, no allocation,
 * no tree. It accepts exactly the lines that jansson would parse into an
 * object whose known fields (FORMATS.md access.jsonl) have the types and
 * values event_parse requires, and gives the same event: strings are
 * validated as UTF-8 the way jansson validates them (no overlong forms,
 * no surrogates, nothing above U+10FFFF), escapes are decoded the same
 * way (\u0000 and unpaired surrogates refused), a repeated key keeps its
 * last value, other fields may hold any string, number, true, false or
 * null. Values are located first and the line is modified (closing
 * quotes become NULs) only once the whole line has parsed and validated;
 * a string with escapes is decoded into the scratch buffer instead. Any
 * other line - nesting, a number jansson might refuse as too large, an
 * escape in a key, or an error to report - is left untouched and returns
 * false, and the caller gives it to jansson, whose messages name the line
 * and the field as before. Returns true when ev was filled.
 */
struct span {
	char *p;
	size_t n;
	bool set, null, esc;
};

static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
		p++;
	return p;
}

/* The length of the UTF-8 sequence at p (a byte >= 0x80), 0 if invalid. */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
	unsigned char c = p[0], lo = 0x80, hi = 0xbf;
	size_t n;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		if (c == 0xe0)
			lo = 0xa0; /* overlong */
		else if (c == 0xed)
			hi = 0x9f; /* surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		if (c == 0xf0)
			lo = 0x90; /* overlong */
		else if (c == 0xf4)
			hi = 0x8f; /* above U+10FFFF */
	} else {
		return 0;
	}
	if ((size_t)(end - p) < n || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return n;
}

static int hex4(const char *p)
{
	int v = 0;
	for (int i = 0; i < 4; i++) {
		char c = p[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -1;
	}
	return v;
}

/*
 * The string whose opening quote was just passed: *pp is left after the
 * closing quote. *esc says whether it held an escape (allowed only when
 * allow_esc). False for anything jansson would refuse or decode in a way
 * the caller does not handle.
 */
static bool scan_string(const char **pp, const char *end, bool allow_esc, bool *esc)
{
	const char *p = *pp;
	*esc = false;
	for (;;) {
		/* The common run: printable ASCII, many bytes at a time while
		 * none of them is a quote, a backslash, a control character
		 * or a byte >= 0x80 (base/jscan.h). */
		p = (const char *)jscan_skip_plain((const unsigned char *)p, (const unsigned char *)end);
		if (p == end)
			return false;
		if (*p == '"')
			break;
		if ((unsigned char)*p >= 0x80) {
			/* Runs of the common sequences (most Japanese text)
			 * in a tight loop; the others one by one. */
			const char *q = (const char *)jscan_skip_utf8((const unsigned char *)p,
								      (const unsigned char *)end);
			size_t n;

			if (q != p) {
				p = q;
				continue;
			}
			n = utf8_len((const unsigned char *)p, (const unsigned char *)end);
			if (!n)
				return false;
			p += n;
			continue;
		}
		if (*p != '\\' || !allow_esc || end - p < 2)
			return false; /* a control character, or an escape we leave */
		*esc = true;
		switch (p[1]) {
		case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
			p += 2;
			continue;
		case 'u':
			break;
		default:
			return false;
		}
		int u = end - p >= 6 ? hex4(p + 2) : -1;
		if (u <= 0 || (u >= 0xdc00 && u <= 0xdfff))
			return false;
		p += 6;
		if (u >= 0xd800 && u <= 0xdbff) {
			int l = end - p >= 6 && p[0] == '\\' && p[1] == 'u' ? hex4(p + 2) : -1;
			if (l < 0xdc00 || l > 0xdfff)
				return false;
			p += 6;
		}
	}
	*pp = p + 1;
	return true;
}

/* Decode the escapes of the validated string body s[0..n) into out;
 * returns the decoded length (never more than n). */
static size_t unescape(const char *s, size_t n, char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < n;) {
		if (s[i] != '\\') {
			out[o++] = s[i++];
			continue;
		}
		char c = s[i + 1];
		if (c != 'u') {
			out[o++] = c == 'b' ? '\b' : c == 'f' ? '\f' : c == 'n' ? '\n' : c == 'r' ? '\r' :
				   c == 't' ? '\t' : c;
			i += 2;
			continue;
		}
		uint32_t u = (uint32_t)hex4(s + i + 2);
		i += 6;
		if (u >= 0xd800 && u <= 0xdbff) {
			u = 0x10000 + ((u - 0xd800) << 10) + ((uint32_t)hex4(s + i + 2) - 0xdc00);
			i += 6;
		}
		if (u < 0x80) {
			out[o++] = (char)u;
		} else if (u < 0x800) {
			out[o++] = (char)(0xc0 | (u >> 6));
			out[o++] = (char)(0x80 | (u & 0x3f));
		} else if (u < 0x10000) {
			out[o++] = (char)(0xe0 | (u >> 12));
			out[o++] = (char)(0x80 | ((u >> 6) & 0x3f));
			out[o++] = (char)(0x80 | (u & 0x3f));
		} else {
			out[o++] = (char)(0xf0 | (u >> 18));
			out[o++] = (char)(0x80 | ((u >> 12) & 0x3f));
			out[o++] = (char)(0x80 | ((u >> 6) & 0x3f));
			out[o++] = (char)(0x80 | (u & 0x3f));
		}
	}
	return o;
}

/* A JSON number small enough that jansson cannot refuse it as too large
 * (at most 18 integer digits, 30 fraction digits, no exponent); false for
 * anything else, which the caller leaves to jansson. */
static bool scan_number(const char **pp, const char *end)
{
	const char *p = *pp, *d;
	if (p < end && *p == '-')
		p++;
	d = p;
	if (p < end && *p == '0')
		p++;
	else
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	if (p == d || p - d > 18)
		return false;
	if (p < end && *p == '.') {
		d = ++p;
		while (p < end && *p >= '0' && *p <= '9')
			p++;
		if (p == d || p - d > 30)
			return false;
	}
	if (p < end && (*p == 'e' || *p == 'E' || (*p >= '0' && *p <= '9')))
		return false;
	*pp = p;
	return true;
}

bool watch_scan_line(struct watch_scan *sc, char *line, size_t len, struct watch_event *ev)
{
	/* The fields the engine reads (the others are checked, not kept). */
	enum { K_TS, K_STAFF, K_RES, K_ACTION, K_CASE, K_QUERY, K_REF, K_RESULT, K__COUNT };
	struct span v[K__COUNT] = {0};
	const char *end = line + len, *p = skip_ws(line, end);
	bool any_esc = false;
	if (p == end || *p++ != '{')
		return false;
	p = skip_ws(p, end);
	if (p < end && *p == '}')
		return false;
	for (;;) {
		const char *k, *q;
		size_t kn;
		int ki = -1;
		bool esc;
		p = skip_ws(p, end);
		if (p == end || *p++ != '"')
			return false;
		k = p;
		if (!scan_string(&p, end, false, &esc))
			return false;
		kn = (size_t)(p - 1 - k);
		/* The candidate by length, then one compare of a constant
		 * length, which the compiler makes a load or two. */
#define IS(lit) (memcmp(k, lit, sizeof(lit) - 1) == 0)
		switch (kn) {
		case 2: ki = IS("ts") ? K_TS : -1; break;
		case 3: ki = IS("ref") ? K_REF : -1; break;
		case 5: ki = IS("query") ? K_QUERY : -1; break;
		case 6: ki = IS("action") ? K_ACTION : IS("result") ? K_RESULT : -1; break;
		case 7: ki = IS("case_id") ? K_CASE : -1; break;
		case 8: ki = IS("staff_id") ? K_STAFF : -1; break;
		case 11: ki = IS("resident_id") ? K_RES : -1; break;
		default: break;
		}
#undef IS
		p = skip_ws(p, end);
		if (p == end || *p++ != ':')
			return false;
		p = skip_ws(p, end);
		if (p == end)
			return false;
		if (*p == '"') {
			q = ++p;
			if (!scan_string(&p, end, sc != NULL, &esc))
				return false;
			if (ki >= 0)
				v[ki] = (struct span){(char *)q, (size_t)(p - 1 - q), true, false, esc};
			any_esc |= ki >= 0 && esc;
		} else if (end - p >= 4 && memcmp(p, "null", 4) == 0) {
			if (ki >= 0)
				v[ki] = (struct span){NULL, 0, true, true, false};
			p += 4;
		} else if (ki >= 0) {
			return false; /* a known field of the wrong type: jansson says which */
		} else if (end - p >= 4 && memcmp(p, "true", 4) == 0) {
			p += 4;
		} else if (end - p >= 5 && memcmp(p, "false", 5) == 0) {
			p += 5;
		} else if (!scan_number(&p, end)) {
			return false;
		}
		p = skip_ws(p, end);
		if (p == end)
			return false;
		if (*p == ',') {
			p++;
			continue;
		}
		if (*p++ != '}')
			return false;
		break;
	}
	if (skip_ws(p, end) != end)
		return false;
	/* Required fields and enums, as event_parse checks them. */
	if (!v[K_TS].set || v[K_TS].null || v[K_TS].esc || !v[K_STAFF].set || v[K_STAFF].null ||
	    v[K_STAFF].n == 0 || !v[K_ACTION].set || v[K_ACTION].null || v[K_ACTION].esc ||
	    (v[K_RESULT].set && v[K_RESULT].esc))
		return false;
	/* Many events share their second: the last timestamp is kept. */
	if (sc && sc->ts_len == v[K_TS].n && memcmp(sc->ts_text, v[K_TS].p, v[K_TS].n) == 0) {
		ev->ts = sc->ts;
	} else {
		if (ts_parse(v[K_TS].p, v[K_TS].n, &ev->ts, NULL) < 0)
			return false;
		if (sc && v[K_TS].n <= sizeof(sc->ts_text)) {
			memcpy(sc->ts_text, v[K_TS].p, v[K_TS].n);
			sc->ts_len = v[K_TS].n;
			sc->ts = ev->ts;
		}
	}
	if (any_esc) {
		/* Decoded strings go to the scratch buffer, which the line's
		 * length bounds (decoding never lengthens a string). */
		size_t need = len + K__COUNT;
		if (need > sc->cap) {
			sc->buf = xrealloc(sc->buf, need);
			sc->cap = need;
		}
	}
	size_t used = 0;
	for (size_t i = 0; i < K__COUNT; i++) {
		if (!v[i].set || v[i].null)
			continue;
		if (v[i].esc) {
			char *o = sc->buf + used;
			size_t n = unescape(v[i].p, v[i].n, o);
			o[n] = '\0';
			used += n + 1;
			/* The closing quote stays: nothing to give back. */
			v[i].p = o;
			v[i].n = n;
		} else {
			v[i].p[v[i].n] = '\0';
		}
	}
	if (watch_action_parse_n(v[K_ACTION].p, v[K_ACTION].n, &ev->action) < 0)
		goto undo;
	/* The result by its length and bytes (it holds no escape: refused
	 * above), as strcmp with "ok" and "denied" would judge it. */
	bool res_ok = v[K_RESULT].n == 2 && memcmp(v[K_RESULT].p, "ok", 2) == 0;
	bool res_denied = v[K_RESULT].n == 6 && memcmp(v[K_RESULT].p, "denied", 6) == 0;
	if (v[K_RESULT].set && !v[K_RESULT].null && !res_ok && !res_denied)
		goto undo;
	if ((!v[K_RES].set || v[K_RES].null) && ev->action != WA_SEARCH)
		goto undo;
	/* A staff id with an escape may decode to an empty one, or one with
	 * a NUL: both for jansson and event_parse to judge. */
	if (v[K_STAFF].p[0] == '\0' || memchr(v[K_STAFF].p, '\0', v[K_STAFF].n))
		goto undo;
	ev->staff_id = v[K_STAFF].p;
	ev->staff_len = (uint32_t)v[K_STAFF].n;
	ev->resident_id = v[K_RES].set && !v[K_RES].null ? v[K_RES].p : NULL;
	ev->resident_len = ev->resident_id ? (uint32_t)v[K_RES].n : 0;
	ev->case_id = v[K_CASE].set && !v[K_CASE].null ? v[K_CASE].p : NULL;
	ev->query = v[K_QUERY].set && !v[K_QUERY].null ? v[K_QUERY].p : NULL;
	ev->ref = v[K_REF].set && !v[K_REF].null ? v[K_REF].p : NULL;
	ev->ref_len = ev->ref ? (uint32_t)v[K_REF].n : 0;
	ev->denied = v[K_RESULT].set && !v[K_RESULT].null && res_denied;
	return true;
undo:
	/* Give the line back to the slow path as it was. */
	for (size_t i = 0; i < K__COUNT; i++)
		if (v[i].set && !v[i].null && !v[i].esc)
			v[i].p[v[i].n] = '"';
	return false;
}

static bool fast_parse(char *line, size_t len, struct watch_event *ev)
{
	return watch_scan_line(NULL, line, len, ev);
}

static void audit_release(struct audit *a)
{
	for (size_t i = 0; i < a->nlab; i++)
		free(a->lab[i].ref);
	free(a->lab);
	idmap_release(&a->labmap);
	free(a->ev_kind);
	free(a->ev_flag);
}

/* Note the label kind of the event seq (named ref) when labels are read. */
static int audit_note_event(struct audit *a, uint64_t seq, const char *ref)
{
	int r;
	if (!a->labmap.cap)
		return 0;
	if ((r = grow_events(a, seq)) < 0)
		return r;
	if (ref) {
		uint32_t li = idmap_get(&a->labmap, ref);
		if (li != WT_NONE)
			a->ev_kind[seq] = a->lab[li].kind;
	}
	return 0;
}

/* Precision and recall from the per-event label kinds and rule marks. */
static void quality_fill(const struct audit *a, struct watch_quality *q)
{
	memset(q, 0, sizeof(*q));
	q->nkinds = NKINDS;
	for (size_t k = 0; k < NKINDS; k++)
		q->kind_names[k] = kinds[k];
	q->labels = a->nlab;
	for (size_t k = 0; k < a->nlab; k++)
		q->labelled[a->lab[k].kind]++;
	size_t seen = 0;
	for (size_t s = 0; s < a->nev_cap; s++) {
		bool lab = a->ev_kind[s] != KIND_NONE;
		if (lab) {
			seen++;
			if (a->ev_flag[s])
				q->hit[a->ev_kind[s]]++;
		}
		if (!a->ev_flag[s])
			continue;
		q->flagged++;
		q->flagged_true += lab;
		for (size_t k = 0; k < NKINDS; k++)
			if (a->ev_flag[s] & (1u << k)) {
				q->flagged_by_kind[k]++;
				q->flagged_true_by_kind[k] += lab;
			}
	}
	q->unmatched_labels = a->nlab - seen;
}

void watch_scan_release(struct watch_scan *sc)
{
	free(sc->buf);
	memset(sc, 0, sizeof(*sc));
}

/*
 * Lines of a file read in large blocks: a line is handed out in place (it
 * may be modified until the next call), with its '\n' when it has one, as
 * getline would. A line longer than the block grows the block.
 */
struct lines {
	int fd;
	char *buf;
	size_t cap, start, end;
	bool eof;
};

#define LINES_BLOCK (256u << 10)

/* 1 and the next line, 0 at the end, ERR_IO (errno set) on a read error. */
static int lines_next(struct lines *l, char **line, size_t *n)
{
	for (;;) {
		char *nl = l->start < l->end ? memchr(l->buf + l->start, '\n', l->end - l->start) : NULL;
		if (nl) {
			*line = l->buf + l->start;
			*n = (size_t)(nl - *line) + 1;
			l->start += *n;
			return 1;
		}
		if (l->eof) {
			if (l->start == l->end)
				return 0;
			*line = l->buf + l->start;
			*n = l->end - l->start;
			l->start = l->end;
			return 1;
		}
		if (l->start > 0) {
			memmove(l->buf, l->buf + l->start, l->end - l->start);
			l->end -= l->start;
			l->start = 0;
		}
		if (l->end == l->cap) {
			size_t cap;
			if (size_mul(l->cap ? l->cap : LINES_BLOCK / 2, 2, &cap) < 0)
				return ERR_OVERFLOW;
			l->buf = xrealloc(l->buf, cap);
			l->cap = cap;
		}
		ssize_t got = read(l->fd, l->buf + l->end, l->cap - l->end);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			return ERR_IO;
		}
		if (got == 0)
			l->eof = true;
		l->end += (size_t)got;
	}
}

/*
 * Events between parsing and feeding. Feeding an event reads the
 * resident's map slot, record and cases, three dependent cache misses at
 * this size; the pipe starts loading them for the events PIPE_DEPTH - 1 ..
 * 1 places behind, one stage each, so that watch_feed finds them in the
 * cache. An event's strings are copied into its place (the line they
 * point into may be moved by the reader meanwhile); the places keep their
 * buffers, so nothing is allocated per event.
 */
#define PIPE_DEPTH 4

struct pev {
	struct watch_event ev;
	uint32_t rx; /* from the prefetch stages: WT_UNSET until stage 1 */
	char *mem;
	size_t cap;
};

struct pipe {
	struct pev v[PIPE_DEPTH];
	size_t head, n; /* oldest at head */
};

static const char *pev_copy(char **at, const char *s, size_t n)
{
	if (!s)
		return NULL;
	char *d = *at;
	memcpy(d, s, n + 1);
	*at += n + 1;
	return d;
}

static void pipe_push(struct pipe *p, const struct watch_event *ev)
{
	struct pev *e = &p->v[(p->head + p->n++) % PIPE_DEPTH];
	const char *f[] = {ev->staff_id, ev->resident_id, ev->case_id, ev->query, ev->ref};
	const uint32_t given[] = {ev->staff_len, ev->resident_len, 0, 0, ev->ref_len};
	size_t len[ARRAY_SIZE(f)] = {0}, need = 0;
	char *at;
	for (size_t i = 0; i < ARRAY_SIZE(f); i++)
		if (f[i]) {
			len[i] = watch_len(f[i], given[i]);
			need += len[i] + 1;
		}
	if (need > e->cap) {
		/* Strings come from one line, which the reader bounds. */
		e->cap = need < 256 ? 256 : need;
		e->mem = xrealloc(e->mem, e->cap);
	}
	at = e->mem;
	e->ev = *ev;
	e->rx = WT_UNSET;
	e->ev.staff_id = pev_copy(&at, f[0], len[0]);
	e->ev.resident_id = pev_copy(&at, f[1], len[1]);
	e->ev.case_id = pev_copy(&at, f[2], len[2]);
	e->ev.query = pev_copy(&at, f[3], len[3]);
	e->ev.ref = pev_copy(&at, f[4], len[4]);
	e->ev.staff_len = (uint32_t)len[0];
	e->ev.resident_len = (uint32_t)len[1];
	e->ev.ref_len = (uint32_t)len[4];
}

/* The prefetch stages for the events now in the pipe. */
static void pipe_prefetch(const struct watch_tables *t, struct pipe *p)
{
	/* The newest event gets stage 2, the one fed next none. */
	for (size_t k = 1; k < p->n; k++) {
		struct pev *e = &p->v[(p->head + k) % PIPE_DEPTH];
		e->rx = watch_prefetch(t, &e->ev, 2 - (int)(p->n - 1 - k), e->rx);
	}
}

/* Feed the oldest event of the pipe. */
static int pipe_feed(struct pipe *p, struct audit *a, struct watch *w, const char *path,
		     struct diag *d, bool *invalid)
{
	struct pev *e = &p->v[p->head];
	int r;
	p->head = (p->head + 1) % PIPE_DEPTH;
	p->n--;
	if ((r = audit_note_event(a, e->ev.seq, e->ev.ref)) < 0)
		return r;
	r = watch_feed_rx(w, &e->ev, e->rx, NULL);
	if (r == ERR_INVALID) {
		diag_error(d, path, (long)e->ev.seq, 0, "ts",
			   "earlier than the day before it: events must be in time order");
		*invalid = true;
		return 0;
	}
	return r;
}

static int pipe_drain(struct pipe *p, struct audit *a, struct watch *w, const char *path,
		      struct diag *d, bool *invalid)
{
	int r = 0;
	while (p->n && r == 0)
		r = pipe_feed(p, a, w, path, d, invalid);
	return r;
}

int watch_audit_file(const struct watch_tables *t, const struct watch_audit_opts *o,
		     struct watch_counts *counts, struct watch_quality *q, struct diag *d)
{
	struct audit a = {0};
	struct watch *w = NULL;
	struct lines lr = {.fd = -1};
	struct watch_scan sc = {0};
	struct pipe pp = {0};
	char *line;
	size_t n;
	long ln = 0;
	bool invalid = false;
	int r;

	a.fn = o->fn;
	a.ctx = o->ctx;
	if (o->labels_path && (r = labels_read(&a, o->labels_path, d)) < 0)
		goto out;
	if ((lr.fd = open(o->events_path, O_RDONLY | O_CLOEXEC)) < 0) {
		diag_error(d, o->events_path, 0, 0, NULL, "%s", strerror(errno));
		r = ERR_IO;
		goto out;
	}
	if ((r = watch_new(t, o->th, on_alert, &a, &w)) < 0)
		goto out;
	(void)posix_fadvise(lr.fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	while ((r = lines_next(&lr, &line, &n)) > 0) {
		struct watch_event ev = {0};
		json_error_t jerr;
		json_t *jo = NULL;
		ln++;
		if (n == 0 || line[0] == '\n')
			continue;
		if (pp.n == PIPE_DEPTH && (r = pipe_feed(&pp, &a, w, o->events_path, d, &invalid)) < 0)
			goto out;
		if (watch_scan_line(&sc, line, n, &ev)) {
			ev.seq = (uint64_t)ln;
			pipe_push(&pp, &ev);
			pipe_prefetch(t, &pp);
			continue;
		}
		/* The slow path, and any diagnostic, after the events before
		 * it: the messages stay in line order. */
		if ((r = pipe_drain(&pp, &a, w, o->events_path, d, &invalid)) < 0)
			goto out;
		memset(&ev, 0, sizeof(ev));
		jo = json_loadb(line, n, 0, &jerr);
		if (!jo || !json_is_object(jo)) {
			diag_error(d, o->events_path, ln, jo ? 0 : jerr.column, NULL, "%s",
				   jo ? "not an object" : jerr.text);
			json_decref(jo);
			invalid = true;
			continue;
		}
		if (event_parse(jo, o->events_path, ln, &ev, d) < 0) {
			json_decref(jo);
			invalid = true;
			continue;
		}
		ev.seq = (uint64_t)ln;
		pipe_push(&pp, &ev);
		json_decref(jo);
	}
	if (r < 0) {
		diag_error(d, o->events_path, ln, 0, NULL, "%s", r == ERR_IO ? strerror(errno) : err_msg(r));
		goto out;
	}
	if ((r = pipe_drain(&pp, &a, w, o->events_path, d, &invalid)) < 0)
		goto out;
	if ((r = watch_flush(w)) < 0)
		goto out;
	if (counts)
		watch_get_counts(w, counts);
	if (q)
		quality_fill(&a, q);
	r = invalid ? ERR_INVALID : 0;
out:
	watch_free(w);
	if (lr.fd >= 0)
		close(lr.fd);
	free(lr.buf);
	watch_scan_release(&sc);
	for (size_t i = 0; i < PIPE_DEPTH; i++)
		free(pp.v[i].mem);
	audit_release(&a);
	return r;
}

/* ---- the ledger ---- */

/*
 * An event held back until its day is complete. Its strings live in the
 * holding buffer's string area at the offsets given (NO_STR: null).
 */
#define NO_STR UINT32_MAX
enum { PS_STAFF = 0, PS_RESIDENT, PS_CASE, PS_QUERY, PS_REF, PS__COUNT };

struct pend {
	int64_t ts;
	uint64_t seq;
	int32_t day;
	uint8_t action;
	bool denied;
	uint32_t str[PS__COUNT];
};

struct hold {
	struct pend *v;
	size_t n, cap;
	struct buf strs;
	size_t *idx; /* scratch for sorting a day */
	size_t idx_cap;
};

/* Per day of the period, the ledger index of its last event. */
struct daylast {
	int32_t day;
	uint64_t last;
};

struct days {
	struct daylast *v; /* sorted by day */
	size_t n, cap;
};

static struct daylast *days_find(struct days *ds, int32_t day, bool add)
{
	size_t lo = 0, hi = ds->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ds->v[mid].day < day)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < ds->n && ds->v[lo].day == day)
		return &ds->v[lo];
	if (!add || ARRAY_GROW(ds->v, ds->cap, ds->n + 1) < 0)
		return NULL;
	memmove(&ds->v[lo + 1], &ds->v[lo], (ds->n - lo) * sizeof(*ds->v));
	ds->v[lo].day = day;
	ds->v[lo].last = 0;
	ds->n++;
	return &ds->v[lo];
}

static int hold_str(struct buf *b, const char *s, uint32_t *off)
{
	int r;
	if (!s) {
		*off = NO_STR;
		return 0;
	}
	if (b->len >= NO_STR - 1)
		return ERR_OVERFLOW;
	*off = (uint32_t)b->len;
	if ((r = buf_append(b, s, strlen(s) + 1)) < 0)
		return r;
	return 0;
}

static int hold_add(struct hold *h, const struct watch_event *ev, int32_t day)
{
	struct pend *p;
	const char *strs[PS__COUNT] = {ev->staff_id, ev->resident_id, ev->case_id, ev->query,
				       ev->ref};
	int r;
	if (ARRAY_GROW(h->v, h->cap, h->n + 1) < 0)
		return ERR_NOMEM;
	p = &h->v[h->n];
	p->ts = ev->ts;
	p->seq = ev->seq;
	p->day = day;
	p->action = (uint8_t)ev->action;
	p->denied = ev->denied;
	for (int k = 0; k < PS__COUNT; k++)
		if ((r = hold_str(&h->strs, strs[k], &p->str[k])) < 0)
			return r;
	h->n++;
	return 0;
}

static int pend_cmp(const void *x, const void *y, void *base)
{
	const struct pend *v = base;
	const struct pend *a = &v[*(const size_t *)x], *b = &v[*(const size_t *)y];
	if (a->ts != b->ts)
		return a->ts < b->ts ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static void counts_add(struct watch_counts *to, const struct watch_counts *c)
{
	to->events += c->events;
	to->explained += c->explained;
	to->unexplained += c->unexplained;
	to->days += c->days;
	to->alerts += c->alerts;
	to->staff_days += c->staff_days;
	for (int r = 0; r < WR__COUNT; r++)
		to->alerts_by_rule[r] += c->alerts_by_rule[r];
	for (int e = 0; e < WE__COUNT; e++)
		to->expl[e] += c->expl[e];
}

/* What feeding a complete day needs. */
struct ledger_run {
	const struct watch_tables *t;
	const struct watch_thresholds *th;
	struct audit *a;
	struct watch *w;       /* the main engine: days in increasing order */
	int32_t w_day;         /* the last day fed to it */
	struct watch_counts side; /* counts of the days audited apart */
	uint64_t apart;
};

/*
 * Feed the held events of a complete day, in (time, index) order, and
 * drop them (the rest keep their strings, copied to a fresh area). A day
 * later than the main engine's goes to it; an earlier one (an event of it
 * reached the ledger after events of later days) is audited by an engine
 * of its own. Both give the same alerts: the engine keeps nothing from
 * one day to the next.
 */
static int hold_feed_day(struct hold *h, int32_t day, struct ledger_run *lr)
{
	struct buf keep;
	struct watch *w = lr->w, *own = NULL;
	size_t nfeed = 0, nkeep = 0;
	int r = 0;

	buf_init(&keep, h->strs.max);
	if (ARRAY_GROW(h->idx, h->idx_cap, h->n + 1) < 0) {
		r = ERR_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < h->n; i++)
		if (h->v[i].day == day)
			h->idx[nfeed++] = i;
	if (!nfeed)
		goto out;
	qsort_r(h->idx, nfeed, sizeof(*h->idx), pend_cmp, h->v);
	if (lr->w_day != DAY_NONE && day <= lr->w_day) {
		if ((r = watch_new(lr->t, lr->th, on_alert, lr->a, &own)) < 0)
			goto out;
		w = own;
		lr->apart++;
	} else {
		lr->w_day = day;
	}
	for (size_t k = 0; k < nfeed; k++) {
		const struct pend *p = &h->v[h->idx[k]];
		const char *b = h->strs.data;
		struct watch_event ev = {
			.ts = p->ts,
			.seq = p->seq,
			.staff_id = b + p->str[PS_STAFF],
			.resident_id = p->str[PS_RESIDENT] == NO_STR ? NULL : b + p->str[PS_RESIDENT],
			.case_id = p->str[PS_CASE] == NO_STR ? NULL : b + p->str[PS_CASE],
			.query = p->str[PS_QUERY] == NO_STR ? NULL : b + p->str[PS_QUERY],
			.ref = p->str[PS_REF] == NO_STR ? NULL : b + p->str[PS_REF],
			.action = (enum watch_action)p->action,
			.denied = p->denied,
		};
		if ((r = watch_feed(w, &ev, NULL)) < 0)
			goto out;
	}
	if (own) {
		struct watch_counts c;
		if ((r = watch_flush(own)) < 0)
			goto out;
		watch_get_counts(own, &c);
		counts_add(&lr->side, &c);
	}
	for (size_t i = 0; i < h->n; i++) {
		struct pend p = h->v[i];
		if (p.day == day)
			continue;
		for (int k = 0; k < PS__COUNT; k++) {
			const char *s = p.str[k] == NO_STR ? NULL : h->strs.data + p.str[k];
			if ((r = hold_str(&keep, s, &p.str[k])) < 0)
				goto out;
		}
		h->v[nkeep++] = p;
	}
	h->n = nkeep;
	buf_release(&h->strs);
	h->strs = keep;
	buf_init(&keep, h->strs.max);
out:
	watch_free(own);
	buf_release(&keep);
	return r;
}

/* The request of a decision record as an access event. */
static int decision_parse(json_t *body, const char *name, struct watch_event *ev, struct diag *d)
{
	json_t *req = json_object_get(body, "request");
	const char *ts, *action, *decision;
	bool bad = false;
	if (!json_is_object(req)) {
		diag_error(d, name, 0, 0, "request", "%s",
			   T("ないか、オブジェクトではありません", "missing or not an object"));
		return ERR_INVALID;
	}
	ts = json_string_value(json_object_get(req, "ts"));
	if (!ts || ts_parse(ts, strlen(ts), &ev->ts, NULL) < 0) {
		diag_error(d, name, 0, 0, "request.ts", "%s",
			   T("時刻ではありません", "not a timestamp"));
		return ERR_INVALID;
	}
	action = json_string_value(json_object_get(req, "action"));
	if (!action || watch_action_parse(action, &ev->action) < 0) {
		diag_error(d, name, 0, 0, "request.action", "%s",
			   T("search, view, update, print, export のいずれでもありません",
			     "not one of search, view, update, print, export"));
		return ERR_INVALID;
	}
	ev->staff_id = opt_str(req, "staff_id", &bad);
	ev->resident_id = opt_str(req, "resident_id", &bad);
	ev->case_id = opt_str(req, "case_id", &bad);
	if (bad || !ev->staff_id || !*ev->staff_id) {
		diag_error(d, name, 0, 0, "request", "%s",
			   T("staff_id は文字列、resident_id と case_id は文字列か null でなければなりません",
			     "staff_id must be a string; resident_id and case_id strings or null"));
		return ERR_INVALID;
	}
	decision = json_string_value(json_object_get(body, "decision"));
	ev->denied = decision && strcmp(decision, "deny") == 0;
	ev->query = NULL;
	ev->ref = NULL;
	return 0;
}

/* Locate kind and body in a canonical ledger line (docs/internals/ledger.md:
 * {"v":1,"index":N,"ts":"...","kind":"K","actor":"...","body":{...}}).
 * A '"' inside a JSON string is always escaped, so the first ,"kind":" and
 * ,"body": with real quotes are the record's own members. */
bool watch_record_split(char *line, size_t len, const char **kind, size_t *kind_len, char **body,
			size_t *body_len)
{
	static const char kk[] = ",\"kind\":\"", bk[] = ",\"body\":";
	char *k = memmem(line, len, kk, sizeof(kk) - 1), *e, *b;
	if (!k)
		return false;
	k += sizeof(kk) - 1;
	e = memchr(k, '"', len - (size_t)(k - line));
	if (!e)
		return false;
	*kind = k;
	*kind_len = (size_t)(e - k);
	b = memmem(e, len - (size_t)(e - line), bk, sizeof(bk) - 1);
	if (!b || len < 2 || line[len - 1] != '}')
		return false;
	b += sizeof(bk) - 1;
	if (b >= line + len - 1)
		return false;
	*body = b;
	*body_len = (size_t)(line + len - 1 - b);
	return true;
}

/* "NAME#INDEX", the name of a ledger record in diagnostics. */
static void rec_name(char *out, size_t cap, const char *name, uint64_t index)
{
	snprintf(out, cap, "%s#%" PRIu64, name, index);
}

/*
 * The access event in ledger record i (in rec, modified): 1 and *ev (its
 * strings borrowed from rec or from *jo, which the caller releases) for a
 * record of kind access or decision, 0 for any other kind, ERR_INVALID
 * with a diagnostic naming the record for a malformed one.
 */
static int ledger_event(struct buf *rec, const char *name, uint64_t i, struct watch_event *ev,
			bool *access, json_t **jo, struct diag *d)
{
	const char *kind;
	char *body;
	size_t kind_len, body_len;
	char rname[160];
	json_error_t jerr;

	*jo = NULL;
	memset(ev, 0, sizeof(*ev));
	if (!watch_record_split(rec->data, rec->len, &kind, &kind_len, &body, &body_len)) {
		rec_name(rname, sizeof(rname), name, i);
		diag_error(d, rname, 0, 0, NULL, "%s",
			   T("監査台帳の記録の形式ではありません", "not a ledger record"));
		return ERR_INVALID;
	}
	if (kind_len == 6 && memcmp(kind, "access", 6) == 0)
		*access = true;
	else if (kind_len == 8 && memcmp(kind, "decision", 8) == 0)
		*access = false;
	else
		return 0;
	if (*access && fast_parse(body, body_len, ev))
		return 1;
	memset(ev, 0, sizeof(*ev));
	/* The name is made only when there is something to say. */
	rec_name(rname, sizeof(rname), name, i);
	*jo = json_loadb(body, body_len, 0, &jerr);
	if (!*jo || !json_is_object(*jo)) {
		diag_error(d, rname, 0, 0, "body", "%s",
			   *jo ? T("オブジェクトではありません", "not an object") : jerr.text);
		return ERR_INVALID;
	}
	if ((*access ? event_parse(*jo, rname, 0, ev, d) : decision_parse(*jo, rname, ev, d)) < 0)
		return ERR_INVALID;
	return 1;
}

int watch_line_slow(const char *line, size_t len, struct watch_event *ev, void **hold)
{
	struct diag quiet;
	json_t *jo = json_loadb(line, len, 0, NULL);
	int r = ERR_INVALID;

	*hold = jo;
	memset(ev, 0, sizeof(*ev));
	diag_init(&quiet, 1);
	if (jo && json_is_object(jo) && event_parse(jo, "-", 0, ev, &quiet) == 0)
		r = 0;
	diag_release(&quiet);
	return r;
}

static bool in_period(const struct watch_ledger_opts *o, int32_t day)
{
	return (o->from_day == DAY_NONE || day >= o->from_day) &&
	       (o->to_day == DAY_NONE || day <= o->to_day);
}

/* A record the cursor could not read, named by its index. */
static void ledger_read_failed(struct diag *d, const char *name, uint64_t index, int r)
{
	char rname[160];

	rec_name(rname, sizeof(rname), name, index);
	diag_error(d, rname, 0, 0, NULL, "%s", err_msg(r));
}

int watch_audit_ledger(const struct watch_tables *t, struct ledger *l,
		       const struct watch_ledger_opts *o, struct watch_counts *counts,
		       struct watch_ledger_stats *stats, struct watch_quality *q, struct diag *d)
{
	struct audit a = {0};
	struct hold h = {0};
	struct days ds = {0};
	struct ledger_run lr = {0};
	struct watch_ledger_stats st = {0};
	struct diag quiet;
	struct buf rec;
	struct ledger_cursor *cur = NULL;
	const char *name = o->name ? o->name : "ledger";
	uint64_t size, i;
	bool invalid = false;
	int r;

	buf_init(&rec, LEDGER_BODY_MAX + 4096);
	buf_init(&h.strs, SIZE_MAX / 2);
	diag_init(&quiet, 1);
	a.fn = o->fn;
	a.ctx = o->ctx;
	lr.t = t;
	lr.th = o->th;
	lr.a = &a;
	lr.w_day = DAY_NONE;
	if (o->labels_path && (r = labels_read(&a, o->labels_path, d)) < 0)
		goto out;
	if ((r = watch_new(t, o->th, on_alert, &a, &lr.w)) < 0)
		goto out;
	/* Records appended while the audit runs are left for the next one. */
	size = ledger_size(l);

	/* First pass: where each day of the period ends in the ledger, so
	 * that the second can audit a day as soon as it has all of it,
	 * however late some of its events arrived. Problems are reported by
	 * the second pass. */
	if ((r = ledger_cursor_open(l, 0, size, &cur)) < 0)
		goto out;
	while ((r = ledger_cursor_next(cur, &i, &rec)) != 0) {
		struct watch_event ev;
		struct daylast *dl;
		json_t *jo;
		bool access;
		int32_t day;

		if (r < 0) {
			ledger_read_failed(d, name, i, r);
			goto out;
		}
		r = ledger_event(&rec, name, i, &ev, &access, &jo, &quiet);
		day = r == 1 ? ts_jst_day(ev.ts) : DAY_NONE;
		json_decref(jo);
		if (r != 1 || !in_period(o, day))
			continue;
		if (!(dl = days_find(&ds, day, true))) {
			r = ERR_NOMEM;
			goto out;
		}
		dl->last = i;
	}

	/* Second pass: hold each day's events until its last one, then feed
	 * the day sorted by (time, index). */
	ledger_cursor_close(cur);
	if ((r = ledger_cursor_open(l, 0, size, &cur)) < 0)
		goto out;
	while ((r = ledger_cursor_next(cur, &i, &rec)) != 0) {
		struct watch_event ev;
		struct daylast *dl;
		json_t *jo;
		bool access;
		int32_t day;

		if (r < 0) {
			ledger_read_failed(d, name, i, r);
			goto out;
		}
		st.records++;
		r = ledger_event(&rec, name, i, &ev, &access, &jo, d);
		if (r != 1) {
			invalid |= r < 0;
			json_decref(jo);
			continue;
		}
		ev.seq = i;
		day = ts_jst_day(ev.ts);
		if (!in_period(o, day)) {
			st.outside++;
			json_decref(jo);
			continue;
		}
		if (access)
			st.access++;
		else
			st.decision++;
		r = audit_note_event(&a, i, ev.ref);
		if (r >= 0)
			r = hold_add(&h, &ev, day);
		json_decref(jo);
		if (r < 0)
			goto out;
		/* A day the first pass did not see (the ledger cannot change
		 * below size, so this is a bug) would never be fed. */
		if (!(dl = days_find(&ds, day, false)))
			BUG("a day missing from the first pass");
		if (dl->last == i && (r = hold_feed_day(&h, day, &lr)) < 0)
			goto out;
	}
	if (h.n)
		BUG("events held after their last day");
	if ((r = watch_flush(lr.w)) < 0)
		goto out;
	if (counts) {
		watch_get_counts(lr.w, counts);
		counts_add(counts, &lr.side);
	}
	st.apart = lr.apart;
	if (stats)
		*stats = st;
	if (q)
		quality_fill(&a, q);
	r = invalid ? ERR_INVALID : 0;
out:
	ledger_cursor_close(cur);
	watch_free(lr.w);
	buf_release(&rec);
	buf_release(&h.strs);
	diag_release(&quiet);
	free(h.v);
	free(h.idx);
	free(ds.v);
	audit_release(&a);
	return r;
}

int watch_alert_json(const struct watch_alert *a, struct buf *out)
{
	return watch_alert_json_keyed(a, "lines", out);
}

int watch_alert_json_keyed(const struct watch_alert *a, const char *seq_key, struct buf *out)
{
	char date[DATE_TEXT_MAX], t0[TS_TEXT_MAX], t1[TS_TEXT_MAX];
	int r;
	date_format(a->day, date);
	ts_format_jst(a->first_ts, t0);
	ts_format_jst(a->last_ts, t1);
	if ((r = buf_printf(out, "{\"code\":\"%s\",\"severity\":\"%s\",\"staff_id\":", a->code,
			    watch_severity_name(a->severity))) < 0 ||
	    (r = buf_json_str(out, a->staff_id, strlen(a->staff_id))) < 0 ||
	    (r = buf_puts(out, ",\"staff_name\":")) < 0 ||
	    (r = buf_json_str(out, a->staff_name, strlen(a->staff_name))) < 0 ||
	    (r = buf_printf(out, ",\"day\":\"%s\",\"first\":\"%s\",\"last\":\"%s\",\"count\":%zu,\"refs\":[",
			    date, t0, t1, a->nevents)) < 0)
		return r;
	for (size_t i = 0; i < a->nevents; i++)
		if ((i && (r = buf_putc(out, ',')) < 0) ||
		    (r = buf_json_str(out, a->refs[i], strlen(a->refs[i]))) < 0)
			return r;
	if ((r = buf_printf(out, "],\"%s\":[", seq_key)) < 0)
		return r;
	for (size_t i = 0; i < a->nevents; i++)
		if ((r = buf_printf(out, "%s%" PRIu64, i ? "," : "", a->seqs[i])) < 0)
			return r;
	if ((r = buf_puts(out, "],\"ja\":")) < 0 ||
	    (r = buf_json_str(out, a->text_ja, strlen(a->text_ja))) < 0 ||
	    (r = buf_puts(out, ",\"en\":")) < 0 ||
	    (r = buf_json_str(out, a->text_en, strlen(a->text_en))) < 0 ||
	    (r = buf_putc(out, '}')) < 0)
		return r;
	return 0;
}
