/*
 * watch.h - insider-access detection: which accesses to residents' records
 * does nothing in the registry explain, and which break a rule
 * (docs/watch.md).
 *
 * Three layers:
 *   1. struct watch_tables: the registry compiled into compact tables
 *      (hash by id, cases per resident, households, overtime per staff).
 *      Built once from a registry snapshot; read-only afterwards, so one
 *      set of tables may be shared by several struct watch.
 *   2. struct watch: a streaming rule engine. Events are fed one by one in
 *      time order (watch_feed); each is explained or not at once, and the
 *      per-event rules mark it. Only the state of the current JST day is
 *      kept (per person); when the day changes, the peer rules (scanning,
 *      export volume, searches without follow-up) run over that day and
 *      every alert of the day is handed to the caller's callback. The same
 *      engine serves the batch audit of a file and, later, the ledger.
 *   3. watch_audit_file (audit.c): read an access.jsonl file, run the
 *      engine, and optionally measure precision and recall against a
 *      labels.jsonl file.
 *
 * Threading: a struct watch belongs to one thread at a time. Tables are
 * immutable after watch_tables_build and may be read from many threads.
 */
#ifndef MAMORI_WATCH_H
#define MAMORI_WATCH_H

#include "base/base.h"
#include "watch/thresholds.h"

struct registry_data;
struct diag;
struct buf;

/*
 * Thresholds (struct watch_thresholds, watch/thresholds.h): the policy
 * file's `watch:` section sets them (policy_watch_thresholds); fields it
 * does not name keep the defaults that watch_thresholds_default() fills.
 * Durations are in seconds.
 */
void watch_thresholds_default(struct watch_thresholds *t);

enum watch_severity { WSEV_LOW = 1, WSEV_MEDIUM, WSEV_HIGH, WSEV_CRITICAL };
/* "low", "medium", "high", "critical". */
const char *watch_severity_name(enum watch_severity s);

/* The rules. Codes are stable (they appear in alerts and in triage). */
enum watch_rule {
	WR_UNEXPLAINED = 0, /* W-UNEXPLAINED */
	WR_DV,              /* W-DV-SUPPORT */
	WR_RELATIVE,        /* W-RELATIVE */
	WR_NEIGHBOUR,       /* W-NEIGHBOUR */
	WR_FLAGGED,         /* W-FLAGGED (vip or staff) */
	WR_SCAN,            /* W-BULK-SCAN */
	WR_OFF_HOURS,       /* W-OFF-HOURS */
	WR_NOT_EMPLOYED,    /* W-AFTER-END (also before the start) */
	WR_UNTRAINED,       /* W-UNTRAINED */
	WR_NO_PLEDGE,       /* W-NO-PLEDGE */
	WR_EXPORT,          /* W-EXPORT-VOLUME */
	WR_PRINT,           /* W-PRINT-VOLUME */
	WR_SEARCH,          /* W-SEARCH-NO-FOLLOWUP */
	WR__COUNT
};

struct watch_rule_info {
	const char *code;
	enum watch_severity severity;
	const char *title_ja, *title_en; /* one line, for lists */
	const char *label_kind;          /* labels.jsonl kind it detects, or NULL */
};
/* NULL for an out-of-range rule. */
const struct watch_rule_info *watch_rule_info(int rule);

/* Why an access is explained (the first evidence found, in this order). */
enum watch_expl {
	WE_NONE = 0,     /* nothing explains it */
	WE_NO_RESIDENT,  /* a search or an access to no record */
	WE_ASSIGNED,     /* a case of the resident assigned to the person */
	WE_DECLARED,     /* the declared case_id is the resident's, live */
	WE_DEPT_OPEN,    /* a case of the resident in the person's dept, open */
	WE_DEPT_GRACE,   /* ... closed less than case_grace ago */
	WE_COUNTER,      /* a dept case opened within counter_flow after */
	WE_HOUSEHOLD,    /* an open dept case of a household member */
	WE_NAMESAKE,     /* same surname as the person's last search */
	WE_TEMPLATE,     /* a template the policy declared (thresholds.h) */
	WE__COUNT
};
/* "assigned", ... ; NULL for an out-of-range value. */
const char *watch_expl_name(enum watch_expl e);

struct watch_tables;

/* Compile the registry. The tables keep pointers into reg's strings: reg
 * must outlive them. Returns 0 or ERR_NOMEM. */
MM_WUR int watch_tables_build(const struct registry_data *reg, struct watch_tables **out);
void watch_tables_free(struct watch_tables *t); /* NULL is a no-op */

enum watch_action { WA_SEARCH = 0, WA_VIEW, WA_UPDATE, WA_PRINT, WA_EXPORT, WA__COUNT };
int watch_action_parse(const char *s, enum watch_action *out);
/* The same for the n bytes at s (a span of an input line). */
int watch_action_parse_n(const char *s, size_t n, enum watch_action *out);

/* One access event. Strings are borrowed for the duration of the call. */
struct watch_event {
	int64_t ts;
	uint64_t seq;             /* ledger index, or line number in a file */
	const char *staff_id;
	const char *resident_id;  /* may be NULL */
	const char *case_id;      /* may be NULL */
	const char *query;        /* may be NULL */
	const char *ref;          /* may be NULL */
	enum watch_action action;
	bool denied;
	/* The lengths of staff_id, resident_id and ref when the producer
	 * knows them (the access-line scanner does), so that the engine and
	 * the audit's pipe need not measure them again; 0: not given, the
	 * reader calls strlen. */
	uint32_t staff_len, resident_len, ref_len;
};

/* What watch_feed decided about one event (for `explain` and tests). */
struct watch_verdict {
	enum watch_expl expl;
	const char *case_id;   /* the explaining case, or NULL */
	uint32_t rules;        /* bit r set: rule r marked it (per-event rules) */
	bool off_hours;        /* outside office hours */
	bool overtime;         /* ... inside approved overtime */
	bool unknown_staff;    /* staff_id is not in the registry */
	/* With expl == WE_TEMPLATE: the declared template's name (borrowed
	 * from the engine's thresholds, valid while the engine lives) and its
	 * index; NULL and -1 otherwise. */
	const char *template_name;
	int template_index;
};

/*
 * An alert: the events of one person, rule and JST day. All pointers are
 * valid only during the callback.
 */
struct watch_alert {
	enum watch_rule rule;
	const char *code;
	enum watch_severity severity;
	const char *staff_id, *staff_name;
	int32_t day;
	size_t nevents;
	const char *const *refs; /* refs[i] may be "" if the event had none */
	const uint64_t *seqs;
	int64_t first_ts, last_ts;
	const char *text_ja, *text_en; /* a plain sentence saying why */
};
/* Return 0 to go on, a negative ERR_* to stop the engine with it. */
typedef int (*watch_alert_fn)(const struct watch_alert *a, void *ctx);

struct watch;

/* th may be NULL for the defaults (copied). fn is called for each alert. */
MM_WUR int watch_new(const struct watch_tables *t, const struct watch_thresholds *th,
		     watch_alert_fn fn, void *ctx, struct watch **out);
void watch_free(struct watch *w); /* NULL is a no-op; does not flush */

/*
 * Feed one event. Events must come in non-decreasing ts order per JST day
 * (an event of an earlier day than the current one is ERR_INVALID). When
 * ev is of a later day, the current day is closed first (its alerts are
 * delivered). verdict may be NULL. Returns 0, ERR_INVALID, ERR_NOMEM or
 * the callback's error.
 */
MM_WUR int watch_feed(struct watch *w, const struct watch_event *ev, struct watch_verdict *verdict);
/* Close the current day: run the peer rules, deliver its alerts. */
MM_WUR int watch_flush(struct watch *w);

/* Counts since watch_new, for reports. */
struct watch_counts {
	uint64_t events, explained, unexplained, days, alerts;
	uint64_t alerts_by_rule[WR__COUNT];
	uint64_t expl[WE__COUNT];
	uint64_t staff_days; /* (person, day) pairs with at least one event */
};
void watch_get_counts(const struct watch *w, struct watch_counts *out);

/* ---- batch audit of a file (audit.c) ---- */

struct watch_quality {
	size_t labelled[16], hit[16];      /* per label kind index (see names) */
	size_t flagged_by_kind[16], flagged_true_by_kind[16];
	size_t nkinds;
	const char *kind_names[16];
	size_t labels, flagged, flagged_true, unmatched_labels;
};

struct watch_audit_opts {
	const char *events_path;  /* access.jsonl */
	const char *labels_path;  /* labels.jsonl or NULL */
	const struct watch_thresholds *th; /* NULL for the defaults */
	watch_alert_fn fn;        /* each alert, may be NULL */
	void *ctx;
};

/*
 * Audit one access.jsonl file against the tables. Malformed lines are
 * reported in d as "FILE:LINE: field 'x': reason" and make the result
 * ERR_INVALID (nothing is half-counted: the audit runs to the end so every
 * problem is listed). With labels_path, q receives precision and recall
 * (q may be NULL otherwise). counts may be NULL.
 */
MM_WUR int watch_audit_file(const struct watch_tables *t, const struct watch_audit_opts *o,
			    struct watch_counts *counts, struct watch_quality *q, struct diag *d);

/* Render one alert as a JSON object (one line, no newline) into out. */
MM_WUR int watch_alert_json(const struct watch_alert *a, struct buf *out);

/* ---- batch audit of the ledger (audit.c) ---- */

struct ledger;

struct watch_ledger_opts {
	int32_t from_day, to_day; /* JST days of event time, inclusive; DAY_NONE: open */
	const char *labels_path;  /* labels.jsonl or NULL */
	const struct watch_thresholds *th; /* NULL for the defaults */
	const char *name;         /* names the ledger in diagnostics ("ledger") */
	watch_alert_fn fn;        /* each alert, may be NULL */
	void *ctx;
};

/* What the ledger audit read besides what the engine counts. */
struct watch_ledger_stats {
	uint64_t records;      /* ledger records read */
	uint64_t access, decision; /* events of each kind in the period */
	uint64_t outside;      /* access events outside the period */
	uint64_t apart;        /* days audited apart: an event of theirs came after later days' */
};

/*
 * Audit the access events of the ledger: records of kind "access" (the
 * body is an access.jsonl event) and "decision" (the body's request is
 * the access the business system asked for; a denied decision counts as
 * a denied access), whose event time falls in [from_day, to_day]. The
 * alerts name events by ledger index (watch_alert.seqs).
 *
 * The ledger is in the order events arrived, not the order they
 * happened. Two passes over the records present when the call starts:
 * the first finds the ledger index of the last event of each day of the
 * period; the second holds each day's events until that index and then
 * feeds the day to the engine sorted by (time, index), so the alerts are
 * those of the same events in time order however late some arrived.
 * Memory is the days not yet complete: about one day's events for a
 * ledger written in time order. A day completed after a later one is
 * audited by an engine of its own (days are independent), so its alerts
 * come out of day order, after those of the days already closed.
 *
 * A malformed record is reported in d ("NAME#INDEX: ...") and makes the
 * result ERR_INVALID; the audit reads to the end so every problem is
 * listed. Returns 0, ERR_INVALID, ERR_NOMEM, ERR_IO or the ledger's and
 * the callback's errors. counts, stats and q may be NULL (q is filled
 * only with labels_path).
 */
MM_WUR int watch_audit_ledger(const struct watch_tables *t, struct ledger *l,
			      const struct watch_ledger_opts *o, struct watch_counts *counts,
			      struct watch_ledger_stats *stats, struct watch_quality *q,
			      struct diag *d);

/*
 * As watch_alert_json, with the events' seqs under the key seq_key
 * ("lines" for a file, "indexes" for the ledger).
 */
MM_WUR int watch_alert_json_keyed(const struct watch_alert *a, const char *seq_key,
				  struct buf *out);

#endif
