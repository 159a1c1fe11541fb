/*
 * stream.c - the streaming watcher: a thread of `mamori serve` that
 * follows the ledger and turns its access events into alerts within a
 * second (alerts.h, docs/internals/watch.md "Streaming").
 *
 * The ledger is read in index order from a position kept in the store
 * (watch_state: next, day_start). Each round reads what is new (at most
 * ROUND_MAX records), feeds the events to the engine, and commits the
 * alerts raised together with the new position in one store transaction,
 * so that a restart resumes exactly where the last commit left off.
 *
 * The engine keeps the state of its open JST day (the person's last
 * search, the day's events for the peer rules) in memory only. A restart
 * therefore replays the ledger from day_start, the first record of the
 * open day: merging alerts is idempotent (alerts_commit skips events an
 * alert already names), so the replay rebuilds the state without
 * alerting twice. A change of the registry ("reload" or "import" record)
 * rebuilds the tables and replays the open day the same way.
 *
 * Per-event rules mark an event when it is fed: their alerts are
 * committed in the same round. Peer rules (scanning, export and print
 * volume, searches without follow-up) need the whole day: they alert when
 * the day closes, i.e. when the first event of a later day is read. An
 * event of a day earlier than the open one (a late sender) is judged by
 * a second engine for that day, per-event rules only; `mamori audit`
 * covers late days completely.
 */
#include "base/base.h"
#include "base/buf.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "ledger/ledger.h"
#include "registry/registry.h"
#include "store/store.h"
#include "watch/alerts.h"
#include "watch/watch.h"
#include "watch/watch_int.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

/* Records read before a commit: bounds a round's memory and its time. */
#define ROUND_MAX 4096
/* The pause after an error before trying again, in milliseconds. */
#define RETRY_MS 1000
/* A quiet ledger closes the open day once the JST day is over on the
 * clock and nothing has been read for this long, in milliseconds. */
#define IDLE_CLOSE_MS 60000

void watch_stream_thresholds(struct watch_thresholds *th)
{
	/* The server passes the policy file's watch: section in the options
	 * (instance_watch_thresholds); this is what a watcher without it uses. */
	watch_thresholds_default(th);
}

/* ---- ledger records as events ---- */

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

int watch_record_event(char *rec, size_t len, char kind[static 33], struct watch_event *ev,
		       void **hold)
{
	const char *k;
	char *fb;
	size_t kl, fbl;

	*hold = NULL;
	kind[0] = '\0';
	memset(ev, 0, sizeof(*ev));
	/* An access record as the ledger holds it goes through the access
	 * line scanner of `mamori audit` (audit.c), many times faster than
	 * a tree; its strings then point into rec, which it changes (closing
	 * quotes become NULs). The scanner takes a body only when jansson
	 * would read the same event from it; anything else (a decision, an
	 * escape, a result other than ok or denied) is read by
	 * watch_record_event_tree, from the unchanged record. */
	if (watch_record_split(rec, len, &k, &kl, &fb, &fbl) && kl == 6 &&
	    memcmp(k, "access", 6) == 0 && watch_scan_line(NULL, fb, fbl, ev)) {
		memcpy(kind, "access", 7);
		return 1;
	}
	return watch_record_event_tree(rec, len, kind, ev, hold);
}

int watch_record_event_tree(const char *rec, size_t len, char kind[static 33],
			    struct watch_event *ev, void **hold)
{
	json_t *root, *body, *src;
	const char *k, *ts, *action, *result;
	bool bad = false;

	*hold = NULL;
	kind[0] = '\0';
	memset(ev, 0, sizeof(*ev));
	root = json_loadb(rec, len, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(root)) {
		json_decref(root);
		return ERR_INVALID;
	}
	*hold = root;
	k = json_string_value(json_object_get(root, "kind"));
	body = json_object_get(root, "body");
	if (!k || strlen(k) > 32 || !json_is_object(body))
		return ERR_INVALID;
	snprintf(kind, 33, "%s", k);
	if (strcmp(k, "access") == 0) {
		src = body;
	} else if (strcmp(k, "decision") == 0) {
		/* A decision is the access the business system asked for; a
		 * denied one is a denied access attempt. */
		const char *d = json_string_value(json_object_get(body, "decision"));
		src = json_object_get(body, "request");
		if (!json_is_object(src))
			return ERR_INVALID;
		ev->denied = d && strcmp(d, "deny") == 0;
	} else {
		return 0;
	}
	ts = json_string_value(json_object_get(src, "ts"));
	if (!ts || ts_parse(ts, strlen(ts), &ev->ts, NULL) < 0)
		return ERR_INVALID;
	action = json_string_value(json_object_get(src, "action"));
	if (!action || watch_action_parse(action, &ev->action) < 0)
		return ERR_INVALID;
	ev->staff_id = opt_str(src, "staff_id", &bad);
	ev->resident_id = opt_str(src, "resident_id", &bad);
	ev->case_id = opt_str(src, "case_id", &bad);
	ev->query = opt_str(src, "query", &bad);
	ev->ref = opt_str(src, "ref", &bad);
	result = opt_str(src, "result", &bad);
	if (bad || !ev->staff_id || !*ev->staff_id)
		return ERR_INVALID;
	if (result && strcmp(result, "denied") == 0)
		ev->denied = true;
	if (!ev->resident_id && ev->action != WA_SEARCH)
		return ERR_INVALID;
	return 1;
}

/* ---- the watcher ---- */

struct day_seen {
	uint64_t index;
	int64_t ts;
};

struct watch_stream {
	struct ledger *lg;
	char *db_path, *actor;
	unsigned poll_ms, idle_close_ms;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop, kicked; /* under mu */
	struct watch_stream_stats stats; /* under mu */

	/* Owned by the thread. */
	struct store *st;
	struct registry_data *rd;
	struct watch_tables *t;
	struct watch *w;      /* the engine of the open day */
	struct watch *late;   /* the engine of late events of late_day */
	int32_t late_day;
	int32_t open_day;     /* the engine's day, DAY_NONE before any */
	int32_t closed_day;   /* closed while the ledger was quiet; later
			       * events up to it are late */
	int64_t last_read_ms; /* monotonic time of the last record read */
	struct watch_thresholds th;
	struct alert_batch *batch;
	struct watch_position pos;
	uint64_t cur;         /* the next record to read */
	uint64_t rebuild_from; /* reload/import records from here rebuild */
	struct day_seen *seen; /* the open day's events: index -> time */
	size_t nseen, capseen;
	int cb_err;
	struct buf rec;
};

/* The department and name of staff_id, or NULL for an unknown id. */
static const struct reg_staff *staff_of(const struct watch_stream *s, const char *staff_id)
{
	uint32_t i = idmap_get(&s->t->staff_ids, staff_id);
	return i == WT_NONE ? NULL : s->t->staff[i].r;
}

static int64_t seen_ts(const struct watch_stream *s, uint64_t index, int64_t fallback)
{
	size_t lo = 0, hi = s->nseen;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->seen[mid].index < index)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < s->nseen && s->seen[lo].index == index ? s->seen[lo].ts : fallback;
}

/* The part of an engine sentence after its count: the threshold and the
 * peer median of a peer rule ("" when there is none). */
static const char *detail_after(const char *text, const char *const *marks, size_t nmarks)
{
	for (size_t i = 0; i < nmarks; i++) {
		const char *p = strstr(text, marks[i]);
		if (p) {
			p += strlen(marks[i]);
			while (*p == ' ')
				p++;
			return p;
		}
	}
	return "";
}

/* Alerts of a closed day (all rules, peer rules included). */
static int on_day_alert(const struct watch_alert *a, void *ctx)
{
	static const char *const ja_marks[] = {"件。"};
	static const char *const en_marks[] = {" events.", " event."};
	struct watch_stream *s = ctx;
	const struct reg_staff *rs = staff_of(s, a->staff_id);
	struct alert_event *ev = xcalloc(a->nevents + 1, sizeof(*ev));
	const char *dj = detail_after(a->text_ja, ja_marks, ARRAY_SIZE(ja_marks));
	const char *dn = detail_after(a->text_en, en_marks, ARRAY_SIZE(en_marks));
	int r;

	for (size_t i = 0; i < a->nevents; i++) {
		ev[i].index = a->seqs[i];
		ev[i].ref = a->refs[i];
		ev[i].ts = seen_ts(s, a->seqs[i], a->first_ts);
	}
	r = alert_batch_add(s->batch, (int)a->rule, a->staff_id, rs ? rs->name : NULL,
			    rs ? rs->dept : NULL, a->day, ev, a->nevents, *dj ? dj : NULL,
			    *dn ? dn : NULL);
	free(ev);
	return r;
}

static void engines_free(struct watch_stream *s)
{
	watch_free(s->w);
	watch_free(s->late);
	s->w = s->late = NULL;
	s->late_day = DAY_NONE;
	s->open_day = DAY_NONE;
	s->nseen = 0;
}

static void tables_free(struct watch_stream *s)
{
	engines_free(s);
	watch_tables_free(s->t);
	registry_data_free(s->rd);
	s->t = NULL;
	s->rd = NULL;
}

/* Load the registry and make a fresh engine. */
static int tables_load(struct watch_stream *s)
{
	int r;

	tables_free(s);
	if ((r = registry_load(s->st, &s->rd)) < 0) {
		log_error("watch: %s: %s", err_msg(r), store_errmsg(s->st));
		return r;
	}
	if ((r = watch_tables_build(s->rd, &s->t)) < 0)
		return r;
	return watch_new(s->t, &s->th, on_day_alert, s, &s->w);
}

/* Per-event rules of a verdict into the batch. */
static int verdict_alerts(struct watch_stream *s, const struct watch_event *ev,
			  const struct watch_verdict *v)
{
	const struct reg_staff *rs = staff_of(s, ev->staff_id);
	struct alert_event ae = {ev->seq, ev->ref ? ev->ref : "", ev->ts};
	int32_t day = ts_jst_day(ev->ts);
	int r;

	for (int rule = 0; rule < WR__COUNT; rule++) {
		if (!(v->rules & (1u << rule)))
			continue;
		if ((r = alert_batch_add(s->batch, rule, ev->staff_id, rs ? rs->name : NULL,
					 rs ? rs->dept : NULL, day, &ae, 1, NULL, NULL)) < 0)
			return r;
	}
	return 0;
}

static int feed_event(struct watch_stream *s, const struct watch_event *ev)
{
	struct watch_verdict v;
	int32_t day = ts_jst_day(ev->ts);
	int r;

	if ((s->open_day != DAY_NONE && day < s->open_day) ||
	    (s->closed_day != DAY_NONE && day <= s->closed_day)) {
		/* Late: its own engine, per-event rules only. */
		if (!s->late || day != s->late_day) {
			watch_free(s->late);
			s->late = NULL;
			if ((r = watch_new(s->t, &s->th, NULL, NULL, &s->late)) < 0)
				return r;
			s->late_day = day;
		}
		if ((r = watch_feed(s->late, ev, &v)) < 0)
			return r;
		pthread_mutex_lock(&s->mu);
		s->stats.late_events++;
		pthread_mutex_unlock(&s->mu);
		return verdict_alerts(s, ev, &v);
	}
	if (day != s->open_day) {
		/* The day's first event: the replay point after a restart. The
		 * previous day closes inside watch_feed (on_day_alert), with
		 * its events' times still in seen. */
		s->pos.day_start = ev->seq;
	}
	if ((r = watch_feed(s->w, ev, &v)) < 0)
		return r;
	if (day != s->open_day) {
		s->nseen = 0;
		s->open_day = day;
	}
	if (ARRAY_GROW(s->seen, s->capseen, s->nseen + 1) < 0)
		return ERR_NOMEM;
	s->seen[s->nseen].index = ev->seq;
	s->seen[s->nseen].ts = ev->ts;
	s->nseen++;
	return verdict_alerts(s, ev, &v);
}

/* Read records [cur, size) (at most ROUND_MAX) and commit. */
static int round_run(struct watch_stream *s, uint64_t size)
{
	struct alerts_commit_stats cs = {0};
	uint64_t end = size - s->cur > ROUND_MAX ? s->cur + ROUND_MAX : size, events = 0, n = 0, idx;
	struct ledger_cursor *c = NULL;
	bool rebuild = false;
	int r;

	/* The round's records in order, read in large blocks. */
	if ((r = ledger_cursor_open(s->lg, s->cur, end, &c)) < 0)
		goto out;
	while ((r = ledger_cursor_next(c, &idx, &s->rec)) != 0) {
		struct watch_event ev;
		char kind[33];
		void *hold = NULL;

		if (r < 0) {
			log_error("watch: ledger record %" PRIu64 ": %s", idx, err_msg(r));
			goto out;
		}
		r = watch_record_event(s->rec.data, s->rec.len, kind, &ev, &hold);
		if (r == 1) {
			ev.seq = idx;
			r = feed_event(s, &ev);
			if (r == ERR_INVALID) {
				log_warn("watch: ledger record %" PRIu64 ": not an access event the "
					 "engine takes; skipped",
					 idx);
				r = 0;
			}
			events++;
		} else if (r == 0 && idx >= s->rebuild_from &&
			   (strcmp(kind, "reload") == 0 || strcmp(kind, "import") == 0)) {
			rebuild = true;
			s->rebuild_from = idx + 1;
		} else if (r < 0 && r != ERR_NOMEM) {
			log_warn("watch: ledger record %" PRIu64 ": malformed access record; skipped",
				 idx);
			r = 0;
		}
		json_decref(hold);
		if (r < 0)
			goto out;
		s->cur = idx + 1;
		n++;
		if (rebuild)
			break;
	}
	ledger_cursor_close(c);
	c = NULL;
	s->pos.next = s->cur;
	if (s->open_day == DAY_NONE)
		s->pos.day_start = s->cur;
	if ((r = alerts_commit(s->st, s->lg, s->actor, s->batch, &s->pos, &cs)) < 0) {
		log_error("watch: cannot store alerts: %s: %s", err_msg(r), store_errmsg(s->st));
		goto out;
	}
	if (cs.created)
		log_info("watch: %zu new alert%s (ledger up to %" PRIu64 ")", cs.created,
			 cs.created == 1 ? "" : "s", s->cur);
	pthread_mutex_lock(&s->mu);
	s->stats.records += n;
	s->stats.events += events;
	s->stats.alerts_created += cs.created;
	s->stats.rounds++;
	s->stats.next = s->cur;
	pthread_mutex_unlock(&s->mu);
	if (rebuild) {
		/* The registry changed: judge the open day again with it. */
		log_info("%s", "watch: registry changed; rebuilding the watch tables");
		if ((r = tables_load(s)) < 0)
			goto out;
		s->cur = s->pos.day_start;
	}
out:
	ledger_cursor_close(c);
	if (r < 0) {
		/* Start again from the last commit with a clean engine. */
		alert_batch_clear(s->batch);
		tables_free(s);
	}
	return r;
}

static int64_t mono_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/*
 * The peer rules need the whole day, which normally ends when an event of
 * a later day is read. When the ledger has been quiet for IDLE_CLOSE_MS
 * and the clock says the open day is over (a night, a weekend, or the end
 * of a replayed history), close it now so that its peer alerts are not
 * held back; events of that day read later are judged as late ones.
 */
static int idle_close(struct watch_stream *s)
{
	struct alerts_commit_stats cs = {0};
	int r;

	if (!s->w || s->open_day == DAY_NONE || ts_jst_day(ts_now()) <= s->open_day ||
	    mono_ms() - s->last_read_ms < (int64_t)s->idle_close_ms)
		return 0;
	if ((r = watch_flush(s->w)) < 0)
		goto out;
	s->nseen = 0;
	s->closed_day = s->open_day;
	s->pos.closed_day = s->closed_day;
	s->open_day = DAY_NONE;
	s->pos.next = s->cur;
	s->pos.day_start = s->cur;
	if ((r = alerts_commit(s->st, s->lg, s->actor, s->batch, &s->pos, &cs)) < 0)
		goto out;
	if (cs.created)
		log_info("watch: %zu new alert%s closing the day", cs.created, cs.created == 1 ? "" : "s");
	pthread_mutex_lock(&s->mu);
	s->stats.alerts_created += cs.created;
	pthread_mutex_unlock(&s->mu);
out:
	if (r < 0) {
		alert_batch_clear(s->batch);
		tables_free(s);
	}
	return r;
}

static void wait_ms(struct watch_stream *s, unsigned ms)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += (long)(ms % 1000) * 1000000L;
	until.tv_sec += ms / 1000 + until.tv_nsec / 1000000000L;
	until.tv_nsec %= 1000000000L;
	pthread_mutex_lock(&s->mu);
	while (!s->stop && !s->kicked)
		if (pthread_cond_timedwait(&s->cv, &s->mu, &until) == ETIMEDOUT)
			break;
	s->kicked = false;
	pthread_mutex_unlock(&s->mu);
}

static bool stopping(struct watch_stream *s)
{
	bool stop;
	pthread_mutex_lock(&s->mu);
	stop = s->stop;
	pthread_mutex_unlock(&s->mu);
	return stop;
}

/* Open the store, load the tables, and go back to the last commit. */
static int setup(struct watch_stream *s)
{
	char errmsg[256] = "";
	uint64_t size;
	int r;

	if (!s->st && (r = store_open(s->db_path, false, &s->st, errmsg, sizeof(errmsg))) < 0) {
		log_error("watch: %s: %s", s->db_path, errmsg);
		return r;
	}
	if ((r = watch_position_load(s->st, &s->pos)) < 0) {
		log_error("watch: %s: %s", err_msg(r), store_errmsg(s->st));
		return r;
	}
	/* The registry about to be loaded includes every reload or import
	 * already in the ledger: replaying needs no rebuild for them. */
	size = ledger_size(s->lg);
	if ((r = tables_load(s)) < 0)
		return r;
	s->cur = s->pos.day_start;
	s->closed_day = s->pos.closed_day;
	s->rebuild_from = size > s->pos.next ? size : s->pos.next;
	return 0;
}

static void *stream_main(void *arg)
{
	struct watch_stream *s = arg;

	while (!stopping(s)) {
		uint64_t size;
		if (!s->w && setup(s) < 0) {
			tables_free(s);
			wait_ms(s, RETRY_MS);
			continue;
		}
		size = ledger_size(s->lg);
		if (s->cur < size) {
			s->last_read_ms = mono_ms();
			if (round_run(s, size) < 0)
				wait_ms(s, RETRY_MS);
			continue;
		}
		if (idle_close(s) < 0) {
			wait_ms(s, RETRY_MS);
			continue;
		}
		wait_ms(s, s->poll_ms);
	}
	tables_free(s);
	store_close(s->st);
	s->st = NULL;
	return NULL;
}

int watch_stream_start(const struct watch_stream_opts *o, struct watch_stream **out)
{
	struct watch_stream *s = xcalloc(1, sizeof(*s));

	s->lg = o->ledger;
	s->db_path = xstrdup(o->db_path);
	s->actor = xstrdup(o->actor ? o->actor : "system:watch");
	s->poll_ms = o->poll_ms ? o->poll_ms : 25;
	s->idle_close_ms = o->idle_close_ms ? o->idle_close_ms : IDLE_CLOSE_MS;
	s->late_day = DAY_NONE;
	s->open_day = DAY_NONE;
	s->closed_day = DAY_NONE;
	s->batch = alert_batch_new();
	if (o->thresholds)
		s->th = *o->thresholds;
	else
		watch_stream_thresholds(&s->th);
	buf_init(&s->rec, LEDGER_BODY_MAX * 2);
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	if (pthread_create(&s->thread, NULL, stream_main, s) != 0) {
		pthread_cond_destroy(&s->cv);
		pthread_mutex_destroy(&s->mu);
		buf_release(&s->rec);
		alert_batch_free(s->batch);
		free(s->db_path);
		free(s->actor);
		free(s);
		*out = NULL;
		return ERR_INTERNAL;
	}
	*out = s;
	return 0;
}

void watch_stream_kick(struct watch_stream *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->mu);
	s->kicked = true;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

void watch_stream_get_stats(struct watch_stream *s, struct watch_stream_stats *out)
{
	pthread_mutex_lock(&s->mu);
	*out = s->stats;
	pthread_mutex_unlock(&s->mu);
}

void watch_stream_stop(struct watch_stream *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->mu);
	s->stop = true;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->thread, NULL);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	buf_release(&s->rec);
	alert_batch_free(s->batch);
	free(s->seen);
	free(s->db_path);
	free(s->actor);
	free(s);
}
