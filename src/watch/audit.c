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
#include "base/timeutil.h"
#include "watch/watch.h"
#include "watch/watch_int.h"
#include "ledger/ledger.h"

#include <errno.h>
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
 * The fast path for the common line: a flat object whose values are plain
 * strings (printable ASCII, no escapes), null, numbers or booleans. Values
 * are located first and the line is modified (closing quotes become NULs)
 * only once the whole line has parsed and validated, so that any other
 * line - escapes, non-ASCII text, nesting, or an error to report - goes
 * to jansson untouched. Returns true when ev was filled.
 */
struct span {
	char *p;
	size_t n;
	bool set, null;
};

static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
		p++;
	return p;
}

static bool fast_parse(char *line, size_t len, struct watch_event *ev)
{
#define KEY(s) {s, sizeof(s) - 1}
	static const struct {
		const char *s;
		size_t n;
	} keys[] = {KEY("ts"),	    KEY("staff_id"), KEY("resident_id"), KEY("action"),
		    KEY("case_id"), KEY("query"),    KEY("ref"),	 KEY("result")};
#undef KEY
	struct span v[ARRAY_SIZE(keys)] = {0};
	const char *end = line + len, *p = skip_ws(line, end);
	if (p == end || *p++ != '{')
		return false;
	p = skip_ws(p, end);
	if (p < end && *p == '}')
		return false;
	for (;;) {
		const char *k, *q;
		size_t kn;
		int ki = -1;
		p = skip_ws(p, end);
		if (p == end || *p++ != '"')
			return false;
		k = p;
		while (p < end && *p != '"' && *p != '\\' && (unsigned char)*p >= 0x20 &&
		       (unsigned char)*p < 0x80)
			p++;
		if (p == end || *p != '"')
			return false;
		kn = (size_t)(p - k);
		p++;
		for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
			if (keys[i].n == kn && memcmp(keys[i].s, k, kn) == 0) {
				ki = (int)i;
				break;
			}
		p = skip_ws(p, end);
		if (p == end || *p++ != ':')
			return false;
		p = skip_ws(p, end);
		if (p == end)
			return false;
		if (*p == '"') {
			q = ++p;
			while (p < end && *p != '"' && *p != '\\' && (unsigned char)*p >= 0x20 &&
			       (unsigned char)*p < 0x80)
				p++;
			if (p == end || *p != '"')
				return false;
			if (ki >= 0)
				v[ki] = (struct span){(char *)q, (size_t)(p - q), true, false};
			p++;
		} else if (end - p >= 4 && memcmp(p, "null", 4) == 0) {
			if (ki >= 0)
				v[ki] = (struct span){NULL, 0, true, true};
			p += 4;
		} else {
			/* A number or a boolean: only for fields we ignore. */
			if (ki >= 0)
				return false;
			q = p;
			while (p < end && ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
					   *p == '.' || *p == '-' || *p == '+' || *p == 'E'))
				p++;
			if (p == q)
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
	if (!v[0].set || v[0].null || !v[1].set || v[1].null || v[1].n == 0 || !v[3].set ||
	    v[3].null)
		return false;
	if (ts_parse(v[0].p, v[0].n, &ev->ts, NULL) < 0)
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (v[i].set && !v[i].null)
			v[i].p[v[i].n] = '\0';
	if (watch_action_parse(v[3].p, &ev->action) < 0)
		goto undo;
	if (v[7].set && !v[7].null && strcmp(v[7].p, "ok") != 0 && strcmp(v[7].p, "denied") != 0)
		goto undo;
	if ((!v[2].set || v[2].null) && ev->action != WA_SEARCH)
		goto undo;
	ev->staff_id = v[1].p;
	ev->resident_id = v[2].set && !v[2].null ? v[2].p : NULL;
	ev->case_id = v[4].set && !v[4].null ? v[4].p : NULL;
	ev->query = v[5].set && !v[5].null ? v[5].p : NULL;
	ev->ref = v[6].set && !v[6].null ? v[6].p : NULL;
	ev->denied = v[7].set && !v[7].null && strcmp(v[7].p, "denied") == 0;
	return true;
undo:
	/* Give the line back to the slow path as it was. */
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (v[i].set && !v[i].null)
			v[i].p[v[i].n] = '"';
	return false;
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

int watch_audit_file(const struct watch_tables *t, const struct watch_audit_opts *o,
		     struct watch_counts *counts, struct watch_quality *q, struct diag *d)
{
	struct audit a = {0};
	struct watch *w = NULL;
	FILE *f = NULL;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	long ln = 0;
	bool invalid = false;
	int r;

	a.fn = o->fn;
	a.ctx = o->ctx;
	if (o->labels_path && (r = labels_read(&a, o->labels_path, d)) < 0)
		goto out;
	if (!(f = fopen(o->events_path, "r"))) {
		diag_error(d, o->events_path, 0, 0, NULL, "%s", strerror(errno));
		r = ERR_IO;
		goto out;
	}
	if ((r = watch_new(t, o->th, on_alert, &a, &w)) < 0)
		goto out;
	while ((n = getline(&line, &cap, f)) >= 0) {
		struct watch_event ev = {0};
		json_error_t jerr;
		json_t *jo = NULL;
		ln++;
		if (n == 0 || line[0] == '\n')
			continue;
		if (fast_parse(line, (size_t)n, &ev))
			goto parsed;
		memset(&ev, 0, sizeof(ev));
		jo = json_loadb(line, (size_t)n, 0, &jerr);
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
parsed:
		ev.seq = (uint64_t)ln;
		if ((r = audit_note_event(&a, ev.seq, ev.ref)) < 0) {
			json_decref(jo);
			goto out;
		}
		r = watch_feed(w, &ev, NULL);
		json_decref(jo);
		if (r == ERR_INVALID) {
			diag_error(d, o->events_path, ln, 0, "ts", "earlier than the day before it: events must be in time order");
			invalid = true;
			continue;
		}
		if (r < 0)
			goto out;
	}
	if (ferror(f)) {
		diag_error(d, o->events_path, ln, 0, NULL, "%s", strerror(errno));
		r = ERR_IO;
		goto out;
	}
	if ((r = watch_flush(w)) < 0)
		goto out;
	if (counts)
		watch_get_counts(w, counts);
	if (q)
		quality_fill(&a, q);
	r = invalid ? ERR_INVALID : 0;
out:
	watch_free(w);
	if (f)
		fclose(f);
	free(line);
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
static bool record_split(char *line, size_t len, const char **kind, size_t *kind_len,
			 char **body, size_t *body_len)
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
	if (!record_split(rec->data, rec->len, &kind, &kind_len, &body, &body_len)) {
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

static bool in_period(const struct watch_ledger_opts *o, int32_t day)
{
	return (o->from_day == DAY_NONE || day >= o->from_day) &&
	       (o->to_day == DAY_NONE || day <= o->to_day);
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
	const char *name = o->name ? o->name : "ledger";
	uint64_t size;
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
	for (uint64_t i = 0; i < size; i++) {
		struct watch_event ev;
		struct daylast *dl;
		json_t *jo;
		bool access;
		int32_t day;
		if ((r = ledger_read(l, i, &rec)) < 0) {
			char rname[160];
			rec_name(rname, sizeof(rname), name, i);
			diag_error(d, rname, 0, 0, NULL, "%s", err_msg(r));
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
	for (uint64_t i = 0; i < size; i++) {
		struct watch_event ev;
		struct daylast *dl;
		json_t *jo;
		bool access;
		int32_t day;

		if ((r = ledger_read(l, i, &rec)) < 0) {
			char rname[160];
			rec_name(rname, sizeof(rname), name, i);
			diag_error(d, rname, 0, 0, NULL, "%s", err_msg(r));
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
