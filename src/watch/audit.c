/*
 * audit.c - the batch audit of an access.jsonl file, and its quality
 * against a labels.jsonl file: per label kind, how many labelled events
 * some alert names (recall), and how many of the events each kind's rules
 * name are labelled at all (precision).
 */
#include "base/base.h"
#include "base/buf.h"
#include "base/diag.h"
#include "base/timeutil.h"
#include "watch/watch.h"
#include "watch/watch_int.h"

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
	const struct watch_audit_opts *o;
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
	return a->o->fn ? a->o->fn(al, a->o->ctx) : 0;
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
	static const char *const keys[] = {"ts", "staff_id", "resident_id", "action",
					   "case_id", "query", "ref", "result"};
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
			if (strlen(keys[i]) == kn && memcmp(keys[i], k, kn) == 0)
				ki = (int)i;
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

	a.o = o;
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
		if (a.labmap.cap) {
			if ((r = grow_events(&a, ev.seq)) < 0) {
				json_decref(jo);
				goto out;
			}
			if (ev.ref) {
				uint32_t li = idmap_get(&a.labmap, ev.ref);
				if (li != WT_NONE)
					a.ev_kind[ev.seq] = a.lab[li].kind;
			}
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
	if (q) {
		memset(q, 0, sizeof(*q));
		q->nkinds = NKINDS;
		for (size_t k = 0; k < NKINDS; k++)
			q->kind_names[k] = kinds[k];
		q->labels = a.nlab;
		for (size_t k = 0; k < a.nlab; k++)
			q->labelled[a.lab[k].kind]++;
		size_t seen = 0;
		for (size_t s = 0; s < a.nev_cap; s++) {
			bool lab = a.ev_kind[s] != KIND_NONE;
			if (lab) {
				seen++;
				if (a.ev_flag[s])
					q->hit[a.ev_kind[s]]++;
			}
			if (!a.ev_flag[s])
				continue;
			q->flagged++;
			q->flagged_true += lab;
			for (size_t k = 0; k < NKINDS; k++)
				if (a.ev_flag[s] & (1u << k)) {
					q->flagged_by_kind[k]++;
					q->flagged_true_by_kind[k] += lab;
				}
		}
		q->unmatched_labels = a.nlab - seen;
	}
	r = invalid ? ERR_INVALID : 0;
out:
	watch_free(w);
	if (f)
		fclose(f);
	free(line);
	for (size_t i = 0; i < a.nlab; i++)
		free(a.lab[i].ref);
	free(a.lab);
	idmap_release(&a.labmap);
	free(a.ev_kind);
	free(a.ev_flag);
	return r;
}

int watch_alert_json(const struct watch_alert *a, struct buf *out)
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
	if ((r = buf_puts(out, "],\"lines\":[")) < 0)
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
