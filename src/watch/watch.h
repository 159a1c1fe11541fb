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

struct registry_data;
struct diag;
struct buf;

/*
 * Thresholds. watch_thresholds_default() fills the defaults below; the
 * policy file will override them later. Durations are in seconds.
 */
struct watch_thresholds {
	int64_t case_grace;        /* a closed case still explains for 7 days */
	int64_t counter_flow;      /* case opened at most 30 min after a look */
	int64_t namesake_window;   /* view at most 60 min after a surname search */
	uint32_t namesake_max;     /* at most 10 namesakes explained per search */
	int64_t recent_case;       /* household or scan: case opened within 1 day */
	int office_open, office_close; /* 08:45 and 17:30 JST, seconds of day */
	int32_t training_valid_days;   /* training is current for 365 days */
	int64_t scan_window;       /* sliding window for scanning: 1 hour */
	int64_t scan_gap;          /* a scan goes on while records open 5 min apart */
	uint32_t scan_floor;       /* never a scan below 30 distinct residents */
	double scan_factor;        /* ... nor below 4 x the peer median */
	uint32_t export_floor;     /* exports per day: at least 10 */
	double export_factor;      /* ... and above 4 x the peer median */
	uint32_t print_floor;      /* prints per day: at least 60 */
	double print_factor;       /* ... and above 4 x the peer median */
	int64_t search_followup;   /* a search is followed up within 10 min */
	uint32_t search_floor;     /* searches without follow-up per day: 10 */
	double search_factor;      /* ... and above 4 x the peer median */
	uint32_t min_peers;        /* a peer group needs 3 other active staff */
};
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
};

/* What watch_feed decided about one event (for `explain` and tests). */
struct watch_verdict {
	enum watch_expl expl;
	const char *case_id;   /* the explaining case, or NULL */
	uint32_t rules;        /* bit r set: rule r marked it (per-event rules) */
	bool off_hours;        /* outside office hours */
	bool overtime;         /* ... inside approved overtime */
	bool unknown_staff;    /* staff_id is not in the registry */
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

#endif
