/*
 * alerts.h - stored alerts, their triage, the streaming watcher that
 * raises them from the ledger, and the explanation of one access
 * (docs/watch.md "Alerts", "Streaming", "Explain"; docs/internals/watch.md).
 *
 * An alert groups the access events of one person, one rule and one JST
 * day. It is kept in the store (tables alerts, alert_events,
 * alert_history; migration 004) and recorded in the ledger: a new alert,
 * or events added to one, as a record of kind "alert"; every change of
 * status as a record of kind "alert_triage", with the actor.
 *
 * Status: open (new), confirmed (misuse), false_positive (with a reason),
 * escalated (handed to the incident process). Any status may follow any
 * other (a CSIRT may reopen), but not itself.
 *
 * Threading: the functions taking a struct store use that connection only
 * (one thread at a time, store.h); the ledger may be shared.
 */
#ifndef MAMORI_WATCH_ALERTS_H
#define MAMORI_WATCH_ALERTS_H

#include "base/base.h"

struct actor;
struct buf;
struct diag;
struct ledger;
struct store;
struct watch_tables;
struct watch_thresholds;

enum alert_status { AS_OPEN = 0, AS_CONFIRMED, AS_FALSE_POSITIVE, AS_ESCALATED, AS__COUNT };
/* "open", "confirmed", "false_positive", "escalated"; NULL out of range. */
const char *alert_status_name(enum alert_status s);
/* ERR_INVALID for anything else. */
MM_WUR int alert_status_parse(const char *s, enum alert_status *out);

/* The longest triage reason, in bytes. */
#define ALERT_REASON_MAX 2000
/* The most alerts one page of a listing holds. */
#define ALERT_PAGE_MAX 200

/* One access event named by an alert. */
struct alert_event {
	uint64_t index;  /* ledger index of the access or decision record */
	const char *ref; /* the source system's ref, "" when it sent none */
	int64_t ts;      /* when the access happened */
};

/*
 * A batch of alert contributions collected by the watcher between two
 * commits: (person, rule, day) keys with their events. Strings are copied.
 */
struct alert_batch;
struct alert_batch *alert_batch_new(void);
void alert_batch_free(struct alert_batch *b); /* NULL is a no-op */
void alert_batch_clear(struct alert_batch *b);
size_t alert_batch_count(const struct alert_batch *b); /* distinct keys */

/*
 * Add events to the alert (staff_id, rule, day) of the batch. rule is an
 * enum watch_rule. staff_name and dept may be NULL (an unknown person).
 * detail_ja/en (may be NULL) is a further sentence that says how far a
 * threshold was passed (peer rules); the last one given is kept.
 * ERR_INVALID for a rule out of range, ERR_NOMEM.
 */
MM_WUR int alert_batch_add(struct alert_batch *b, int rule, const char *staff_id,
			   const char *staff_name, const char *dept, int32_t day,
			   const struct alert_event *ev, size_t nev, const char *detail_ja,
			   const char *detail_en);

/* Where the watcher is in the ledger (table watch_state). */
struct watch_position {
	uint64_t next;      /* the first record not yet read */
	uint64_t day_start; /* the first record of the engine's open day */
	int32_t closed_day; /* the last day closed on a quiet ledger, DAY_NONE */
};
/* Zeros (closed_day DAY_NONE) when nothing is stored yet. Store errors. */
MM_WUR int watch_position_load(struct store *st, struct watch_position *pos);

struct alerts_commit_stats {
	size_t created, grown;  /* alerts new, alerts with new events */
	size_t events_added;
};

/*
 * Merge the batch into the store in one transaction, with pos (may be
 * NULL) as the new position: a key without an alert creates one (status
 * open) and appends an "alert" record; events an alert already names are
 * skipped, so merging the same batch twice changes nothing (this is what
 * makes replaying the ledger after a restart safe); an alert that gains
 * events is updated and an "alert" record with op "events" lists the new
 * ones. The ledger records of one commit are one durable group, appended
 * before the store commits: a crash in between may record an alert twice
 * in the ledger, never an alert the ledger lacks. The batch is cleared.
 * stats may be NULL. Returns 0, or store and ledger errors.
 */
MM_WUR int alerts_commit(struct store *st, struct ledger *lg, const char *actor,
			 struct alert_batch *b, const struct watch_position *pos,
			 struct alerts_commit_stats *stats);

/* A listing's filters; NULL or DAY_NONE means any. */
struct alert_filter {
	const char *status, *severity, *rule, *staff, *dept;
	int32_t from, to;  /* JST days, inclusive */
	uint64_t page;     /* from 1 */
	uint64_t per_page; /* 1 .. ALERT_PAGE_MAX */
};

/*
 * The alerts matching f that who may read (a department manager sees only
 * their department's), newest day first, as
 * {"alerts":[...],"page":P,"per_page":N,"total":T} into out. Alerts are
 * rendered without their events (see alerts_get_json). An instance whose
 * store has no alert tables yet lists nothing. Store errors.
 */
MM_WUR int alerts_list_json(struct store *st, const struct actor *who,
			    const struct alert_filter *f, struct buf *out);

/*
 * One alert with its events and its history as a JSON object into out.
 * ERR_NOT_FOUND, ERR_FORBIDDEN (a department manager, another
 * department), store errors.
 */
MM_WUR int alerts_get_json(struct store *st, const struct actor *who, int64_t id,
			   struct buf *out);

/*
 * Set the status of alert id (a triage step): records "alert_triage" in
 * the ledger (actor who->name, body {"id","rule","staff_id","day","from",
 * "to","reason"}), then the history row and the new status, in one store
 * transaction. reason may be NULL or "" except for AS_FALSE_POSITIVE.
 * Who may: admin, ciso, csirt anywhere, a department manager for alerts
 * of their own department (actor_may_write_dept); auditors never.
 * *ledger_index (may be NULL) receives the triage record's index.
 * ERR_NOT_FOUND, ERR_FORBIDDEN, ERR_INVALID (a false positive without a
 * reason, a reason too long or not UTF-8), ERR_CONFLICT (the alert
 * already has that status), store and ledger errors.
 */
MM_WUR int alerts_triage(struct store *st, struct ledger *lg, const struct actor *who, int64_t id,
			 enum alert_status to, const char *reason, uint64_t *ledger_index);

/* ---- the streaming watcher (stream.c) ---- */

struct watch_stream_opts {
	struct ledger *ledger;  /* shared, must outlive the watcher */
	const char *db_path;    /* the store the watcher opens a connection to */
	const char *actor;      /* ledger actor of its records, e.g. "system:watch" */
	unsigned poll_ms;       /* the longest sleep between looks, 0: 25 ms */
	unsigned idle_close_ms; /* close the open day when the clock has passed it
				 * and nothing was read for this long; 0: 60 s */
	/* The thresholds of the rules (the policy file's watch: section,
	 * policy_watch_thresholds); NULL: watch_thresholds_default. Copied. */
	const struct watch_thresholds *thresholds;
};

struct watch_stream;

/*
 * Start the watcher thread: it opens its own store connection, loads the
 * registry into watch tables, reads its position (watch_position_load)
 * and follows the ledger from there, feeding every "access" and
 * "decision" record to a watch engine and committing the alerts it
 * raises (alerts_commit) together with its new position. It rebuilds the
 * tables when it reads a "reload" or "import" record. The peer rules of
 * a day run when an event of a later day is read, or when the ledger has
 * been quiet for idle_close_ms after the day ended on the clock; events
 * of a closed day read later are judged per event. Loading happens in
 * the thread, so that a large registry does not delay the server; errors
 * there and later are logged and retried after a pause. Returns 0 or
 * ERR_NOMEM / ERR_INTERNAL when the thread cannot start.
 */
MM_WUR int watch_stream_start(const struct watch_stream_opts *o, struct watch_stream **out);
/* Wake the watcher now (after an append of this process). Any thread. */
void watch_stream_kick(struct watch_stream *s);
/* Stop the thread (after it commits what it has read) and free. NULL ok. */
void watch_stream_stop(struct watch_stream *s);

/* Counters of a running watcher (for logs and tests). */
struct watch_stream_stats {
	uint64_t records, events, alerts_created, rounds, late_events;
	uint64_t next;
};
void watch_stream_get_stats(struct watch_stream *s, struct watch_stream_stats *out);

/*
 * The thresholds the watcher and `mamori explain` run with. This is the
 * one place where the policy file's watch: section is to be read; for now
 * it gives watch_thresholds_default().
 */
void watch_stream_thresholds(struct watch_thresholds *th);

/*
 * Turn a ledger record of kind "access" or "decision" (its canonical
 * line, docs/internals/ledger.md) into an event. The strings of *ev point
 * into rec, which the common access record is read in place from (some
 * of its bytes become NULs), or into *hold, a jansson object the caller
 * releases with json_decref (passed as void ** so that this header does
 * not need jansson; NULL when nothing was held).
 * Returns 1 when rec is such a record and ev is filled, 0 for a record of
 * another kind (*kind gets its kind, at most 32 bytes + NUL), ERR_INVALID
 * when the record is malformed.
 */
struct watch_event;
MM_WUR int watch_record_event(char *rec, size_t len, char kind[static 33],
			      struct watch_event *ev, void **hold);

/* ---- explaining one access (alerts.c) ---- */

/*
 * Find the access event with source ref ref (or, when ref is NULL, the
 * access or decision record at index) in the ledger, replay the events of
 * its JST day through a watch engine, and write into out, in the current
 * language (base/i18n.h), every explanation template tried with the
 * evidence found (cases of the resident and of its household, the last
 * search, overtime, employment, training, pledge, relations and flags),
 * the explanation chosen, and the rules that fired for this event,
 * per-event and peer rules alike. ERR_NOT_FOUND when no such event,
 * ERR_INVALID when index names another kind of record, ledger errors.
 */
MM_WUR int watch_explain(const struct watch_tables *t, const struct watch_thresholds *th,
			 struct ledger *lg, const char *ref, uint64_t index, struct buf *out);

#endif
