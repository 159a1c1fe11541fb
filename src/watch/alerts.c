/*
 * alerts.c - stored alerts: collecting contributions, merging them into
 * the store with their ledger records, listing, reading and triage
 * (alerts.h, docs/watch.md "Alerts").
 */
#include "base/base.h"
#include "base/actor.h"
#include "base/buf.h"
#include "base/i18n.h"
#include "base/timeutil.h"
#include "ledger/ledger.h"
#include "store/store.h"
#include "watch/alerts.h"
#include "watch/watch.h"
#include "watch/watch_int.h"
#include "registry/registry.h"

#include <string.h>

#include <jansson.h>

/* The roles that may read alerts at all; a department manager only those
 * of their own department. */
#define ALERT_READ_ROLES (ROLE_ADMIN | ROLE_CISO | ROLE_CSIRT | ROLE_AUDITOR | ROLE_DEPT_MANAGER)
/* The first schema version that has the alert tables. */
#define ALERT_SCHEMA 4

static const char *const status_names[AS__COUNT] = {"open", "confirmed", "false_positive",
						    "escalated"};

const char *alert_status_name(enum alert_status s)
{
	if ((int)s < 0 || s >= AS__COUNT)
		return NULL;
	return status_names[s];
}

int alert_status_parse(const char *s, enum alert_status *out)
{
	for (int i = 0; i < AS__COUNT; i++)
		if (s && strcmp(s, status_names[i]) == 0) {
			*out = (enum alert_status)i;
			return 0;
		}
	return ERR_INVALID;
}

/*
 * Why a rule fires, in a plain sentence for the person who triages. The
 * rule's title says what; this says why it matters and what would have
 * explained it.
 */
static const char *const why_ja[WR__COUNT] = {
    [WR_UNEXPLAINED] = "この住民の記録を開く理由となる案件（担当・所属の案件、世帯の証明、窓口での受付、"
		       "同姓の検索）が台帳に見当たりません。",
    [WR_DV] = "DV 等支援措置の対象者の記録は、その住民の案件を担当する職員しか開けません。"
	      "この職員に割り当てられた案件がありません。",
    [WR_RELATIVE] = "職員自身の世帯、または同じ住所・同じ姓の住民（親族）の記録を、案件なしに開いています。",
    [WR_NEIGHBOUR] = "職員と同じ住所の別世帯（近隣）の住民の記録を、案件なしに開いています。",
    [WR_FLAGGED] = "要人または職員関係者として登録された住民の記録を、担当・申告の案件なしに開いています。",
    [WR_SCAN] = "同じ所属・役割の同僚を大きく上回る人数の住民記録を短時間に開いています。",
    [WR_OFF_HOURS] = "勤務時間外または閉庁日のアクセスで、承認された時間外勤務命令がありません。",
    [WR_NOT_EMPLOYED] = "在職期間（任用期間）の外、または職員台帳にない ID によるアクセスです。",
    [WR_UNTRAINED] = "情報セキュリティ研修が未受講か、受講から 1 年を超えています。",
    [WR_NO_PLEDGE] = "守秘義務の誓約書の提出がありません。",
    [WR_EXPORT] = "同僚を大きく上回る件数のデータ出力（エクスポート）があります。",
    [WR_PRINT] = "同僚を大きく上回る件数の印刷があります。",
    [WR_SEARCH] = "記録の閲覧に続かない氏名検索が同僚を大きく上回る件数あります。",
};
static const char *const why_en[WR__COUNT] = {
    [WR_UNEXPLAINED] = "Nothing in the registry explains opening this record (no case of the "
		       "person or the department, no household certificate, no counter flow, no "
		       "search for the name).",
    [WR_DV] = "The record of a resident under DV support measures may be opened only by the "
	      "person a case of that resident is assigned to; there is no such case.",
    [WR_RELATIVE] = "The person opened, without a case, the record of a relative: their own "
		    "household, or the same surname at their address.",
    [WR_NEIGHBOUR] = "The person opened, without a case, the record of a neighbour: another "
		     "household at their own address.",
    [WR_FLAGGED] = "The resident is flagged as a public figure or as staff; no case assigned to "
		   "or declared by the person explains the access.",
    [WR_SCAN] = "The person opened far more residents' records in a short time than the peers "
		"of the same department and roles.",
    [WR_OFF_HOURS] = "The access was outside office hours or on a day the office is closed, "
		     "without approved overtime.",
    [WR_NOT_EMPLOYED] = "The access was outside the person's period of employment, or by an id "
			"the staff register does not know.",
    [WR_UNTRAINED] = "The person's security training is missing or more than a year old.",
    [WR_NO_PLEDGE] = "The person has not signed the confidentiality pledge.",
    [WR_EXPORT] = "The person exported far more records than their peers.",
    [WR_PRINT] = "The person printed far more records than their peers.",
    [WR_SEARCH] = "The person made far more name searches that led to no record than their peers.",
};

/* ---- the batch ---- */

struct bev {
	uint64_t index;
	char *ref;
	int64_t ts;
};

struct bkey {
	int rule;
	int32_t day;
	char *staff_id, *staff_name, *dept;
	char *detail_ja, *detail_en;
	struct bev *ev;
	size_t nev, cap;
	/* Filled while committing. */
	int64_t id;
	bool is_new;
	size_t nnew;
	int64_t first, last;
};

struct alert_batch {
	struct bkey *k;
	size_t n, cap;
	size_t last; /* the key found last, tried first */
};

struct alert_batch *alert_batch_new(void)
{
	return xcalloc(1, sizeof(struct alert_batch));
}

static void bkey_release(struct bkey *k)
{
	for (size_t i = 0; i < k->nev; i++)
		free(k->ev[i].ref);
	free(k->ev);
	free(k->staff_id);
	free(k->staff_name);
	free(k->dept);
	free(k->detail_ja);
	free(k->detail_en);
	memset(k, 0, sizeof(*k));
}

void alert_batch_clear(struct alert_batch *b)
{
	for (size_t i = 0; i < b->n; i++)
		bkey_release(&b->k[i]);
	b->n = 0;
	b->last = 0;
}

void alert_batch_free(struct alert_batch *b)
{
	if (!b)
		return;
	alert_batch_clear(b);
	free(b->k);
	free(b);
}

size_t alert_batch_count(const struct alert_batch *b)
{
	return b->n;
}

static bool bkey_is(const struct bkey *k, int rule, const char *staff_id, int32_t day)
{
	return k->rule == rule && k->day == day && strcmp(k->staff_id, staff_id) == 0;
}

int alert_batch_add(struct alert_batch *b, int rule, const char *staff_id, const char *staff_name,
		    const char *dept, int32_t day, const struct alert_event *ev, size_t nev,
		    const char *detail_ja, const char *detail_en)
{
	struct bkey *k = NULL;

	if (!watch_rule_info(rule) || !staff_id || day == DAY_NONE)
		return ERR_INVALID;
	if (b->last < b->n && bkey_is(&b->k[b->last], rule, staff_id, day))
		k = &b->k[b->last];
	for (size_t i = 0; !k && i < b->n; i++)
		if (bkey_is(&b->k[i], rule, staff_id, day)) {
			k = &b->k[i];
			b->last = i;
		}
	if (!k) {
		if (ARRAY_GROW(b->k, b->cap, b->n + 1) < 0)
			return ERR_NOMEM;
		k = &b->k[b->n];
		memset(k, 0, sizeof(*k));
		k->rule = rule;
		k->day = day;
		k->staff_id = xstrdup(staff_id);
		k->staff_name = xstrdup(staff_name && *staff_name ? staff_name : staff_id);
		k->dept = xstrdup(dept ? dept : "");
		b->last = b->n++;
	}
	if (detail_ja && detail_en) {
		free(k->detail_ja);
		free(k->detail_en);
		k->detail_ja = xstrdup(detail_ja);
		k->detail_en = xstrdup(detail_en);
	}
	if (nev && ARRAY_GROW(k->ev, k->cap, k->nev + nev) < 0)
		return ERR_NOMEM;
	for (size_t i = 0; i < nev; i++) {
		k->ev[k->nev].index = ev[i].index;
		k->ev[k->nev].ref = xstrdup(ev[i].ref ? ev[i].ref : "");
		k->ev[k->nev].ts = ev[i].ts;
		k->nev++;
	}
	return 0;
}

static int bev_cmp(const void *x, const void *y)
{
	const struct bev *a = x, *b = y;
	return a->index < b->index ? -1 : a->index > b->index;
}

/* Sort a key's events by index and drop repeats (the same event may come
 * from the streaming verdict and again when its day closes). */
static void bkey_uniq(struct bkey *k)
{
	size_t n = 0;

	qsort(k->ev, k->nev, sizeof(*k->ev), bev_cmp);
	for (size_t i = 0; i < k->nev; i++) {
		if (n && k->ev[n - 1].index == k->ev[i].index) {
			free(k->ev[i].ref);
			continue;
		}
		k->ev[n++] = k->ev[i];
	}
	k->nev = n;
}

/* ---- commit ---- */

int watch_position_load(struct store *st, struct watch_position *pos)
{
	struct store_stmt *s = NULL;
	int r;

	memset(pos, 0, sizeof(*pos));
	pos->closed_day = DAY_NONE;
	if (store_schema_version(st) < ALERT_SCHEMA)
		return 0;
	if ((r = store_prepare(st, "SELECT name, value FROM watch_state", &s)) < 0)
		goto out;
	while ((r = store_step(s)) == 1) {
		const char *name = store_col_text(s, 0, NULL);
		int64_t v = store_col_int(s, 1);
		if (!name || v < 0)
			continue;
		if (strcmp(name, "next") == 0)
			pos->next = (uint64_t)v;
		else if (strcmp(name, "day_start") == 0)
			pos->day_start = (uint64_t)v;
		else if (strcmp(name, "closed_day") == 0 && v > 0 && v <= INT32_MAX)
			pos->closed_day = (int32_t)(v - 1);
	}
	if (pos->day_start > pos->next)
		pos->day_start = pos->next;
out:
	store_finalize(s);
	return r < 0 ? r : 0;
}

static int position_save(struct store *st, const struct watch_position *pos)
{
	static const char sql[] = "INSERT INTO watch_state (name, value) VALUES (?, ?) "
				  "ON CONFLICT (name) DO UPDATE SET value = excluded.value";
	struct store_stmt *s = NULL;
	int r;

	if ((r = store_prepare(st, sql, &s)) < 0)
		return r;
	if ((r = store_bind_str(s, 1, "next")) < 0 || (r = store_bind_int(s, 2, (int64_t)pos->next)) < 0 ||
	    (r = store_step(s)) < 0 || (r = store_reset(s)) < 0 ||
	    (r = store_bind_str(s, 1, "day_start")) < 0 ||
	    (r = store_bind_int(s, 2, (int64_t)pos->day_start)) < 0 || (r = store_step(s)) < 0 ||
	    (r = store_reset(s)) < 0 || (r = store_bind_str(s, 1, "closed_day")) < 0 ||
	    /* Days are stored plus one, so that 0 (and any negative day,
	     * before 1970) means none: the state table holds counts. */
	    (r = store_bind_int(s, 2, pos->closed_day >= 0 ? (int64_t)pos->closed_day + 1 : 0)) < 0 ||
	    (r = store_step(s)) < 0)
		goto out;
	r = 0;
out:
	store_finalize(s);
	return r;
}

static int64_t ts_of_text(const char *s)
{
	int64_t t;
	if (!s || ts_parse(s, strlen(s), &t, NULL) < 0)
		return TS_NONE;
	return t;
}

/* The alert's sentences: who, when, what, how many, and why. */
static int alert_texts(const struct bkey *k, size_t nevents, struct buf *ja, struct buf *en)
{
	const struct watch_rule_info *ri = watch_rule_info(k->rule);
	char date[DATE_TEXT_MAX];
	int r;

	date_format(k->day, date);
	buf_reset(ja);
	buf_reset(en);
	if ((r = buf_printf(ja, "%s（%s）が %s に %s：%zu 件。%s%s", k->staff_name, k->staff_id, date,
			    ri->title_ja, nevents, why_ja[k->rule],
			    k->detail_ja ? k->detail_ja : "")) < 0)
		return r;
	return buf_printf(en, "%s (%s) on %s: %s: %zu event%s. %s%s%s", k->staff_name, k->staff_id,
			  date, ri->title_en, nevents, nevents == 1 ? "" : "s", why_en[k->rule],
			  k->detail_en ? " " : "", k->detail_en ? k->detail_en : "");
}

static int put_str(struct buf *b, const char *s)
{
	return buf_json_str(b, s ? s : "", s ? strlen(s) : 0);
}

/* The body of the "alert" record of key k: the whole alert when it is new,
 * the added events otherwise. */
static int alert_record_body(const struct bkey *k, const char *ja, const char *en, struct buf *b)
{
	const struct watch_rule_info *ri = watch_rule_info(k->rule);
	char date[DATE_TEXT_MAX], ts[TS_TEXT_MAX];
	bool first = true;
	int r;

	date_format(k->day, date);
	if ((r = buf_printf(b, "{\"op\":\"%s\",\"id\":%" PRId64 ",\"rule\":\"%s\",\"severity\":\"%s\","
			       "\"staff_id\":",
			    k->is_new ? "new" : "events", k->id, ri->code,
			    watch_severity_name(ri->severity))) < 0 ||
	    (r = put_str(b, k->staff_id)) < 0 || (r = buf_puts(b, ",\"dept\":")) < 0 ||
	    (r = put_str(b, k->dept)) < 0 || (r = buf_printf(b, ",\"day\":\"%s\",\"events\":[", date)) < 0)
		return r;
	for (size_t i = 0; i < k->nev; i++) {
		if (k->ev[i].index == UINT64_MAX)
			continue; /* already named by the alert */
		ts_format_jst(k->ev[i].ts, ts);
		if ((r = buf_printf(b, "%s{\"index\":%" PRIu64 ",\"ref\":", first ? "" : ",",
				    k->ev[i].index)) < 0 ||
		    (r = put_str(b, k->ev[i].ref)) < 0 || (r = buf_printf(b, ",\"ts\":\"%s\"}", ts)) < 0)
			return r;
		first = false;
	}
	if ((r = buf_puts(b, "],\"ja\":")) < 0 || (r = put_str(b, ja)) < 0 ||
	    (r = buf_puts(b, ",\"en\":")) < 0 || (r = put_str(b, en)) < 0)
		return r;
	return buf_putc(b, '}');
}

/* Find the alert of k; mark the events it already names (index set to
 * UINT64_MAX) and count the others. */
static int commit_lookup(struct store *st, struct bkey *k, int64_t *next_id, size_t *old_n)
{
	struct store_stmt *s = NULL, *e = NULL;
	char date[DATE_TEXT_MAX];
	int r;

	date_format(k->day, date);
	*old_n = 0;
	if ((r = store_prepare(st, "SELECT id, nevents, first_ts, last_ts FROM alerts "
				   "WHERE staff_id = ? AND rule = ? AND day = ?",
			       &s)) < 0)
		goto out;
	if ((r = store_bind_str(s, 1, k->staff_id)) < 0 ||
	    (r = store_bind_str(s, 2, watch_rule_info(k->rule)->code)) < 0 ||
	    (r = store_bind_str(s, 3, date)) < 0 || (r = store_step(s)) < 0)
		goto out;
	k->first = INT64_MAX;
	k->last = INT64_MIN;
	if (r == 0) {
		k->is_new = true;
		k->id = (*next_id)++;
		k->nnew = k->nev;
	} else {
		k->is_new = false;
		k->id = store_col_int(s, 0);
		*old_n = (size_t)store_col_int(s, 1);
		k->first = ts_of_text(store_col_text(s, 2, NULL));
		k->last = ts_of_text(store_col_text(s, 3, NULL));
		if (k->first == TS_NONE)
			k->first = INT64_MAX;
		if (k->last == TS_NONE)
			k->last = INT64_MIN;
		if ((r = store_prepare(st, "SELECT 1 FROM alert_events WHERE alert_id = ? AND "
					   "ledger_index = ?",
				       &e)) < 0)
			goto out;
		k->nnew = 0;
		for (size_t i = 0; i < k->nev; i++) {
			if ((r = store_reset(e)) < 0 || (r = store_bind_int(e, 1, k->id)) < 0 ||
			    (r = store_bind_int(e, 2, (int64_t)k->ev[i].index)) < 0 ||
			    (r = store_step(e)) < 0)
				goto out;
			if (r == 1)
				k->ev[i].index = UINT64_MAX;
			else
				k->nnew++;
		}
	}
	for (size_t i = 0; i < k->nev; i++) {
		if (k->ev[i].index == UINT64_MAX)
			continue;
		if (k->ev[i].ts < k->first)
			k->first = k->ev[i].ts;
		if (k->ev[i].ts > k->last)
			k->last = k->ev[i].ts;
	}
	r = 0;
out:
	store_finalize(s);
	store_finalize(e);
	return r;
}

static int commit_write(struct store *st, struct bkey *k, size_t nevents, const char *ja,
			const char *en, uint64_t rec_index)
{
	const struct watch_rule_info *ri = watch_rule_info(k->rule);
	struct store_stmt *s = NULL;
	char date[DATE_TEXT_MAX], first[TS_TEXT_MAX], last[TS_TEXT_MAX], now[TS_TEXT_MAX];
	int r;

	date_format(k->day, date);
	ts_format_jst(k->first, first);
	ts_format_jst(k->last, last);
	ts_format_jst(ts_now(), now);
	if (k->is_new) {
		if ((r = store_prepare(st,
				       "INSERT INTO alerts (id, rule, severity, staff_id, staff_name, "
				       "dept, day, first_ts, last_ts, nevents, text_ja, text_en, "
				       "status, created, updated, ledger_index) VALUES "
				       "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'open', ?, ?, ?)",
				       &s)) < 0)
			goto out;
		if ((r = store_bind_int(s, 1, k->id)) < 0 || (r = store_bind_str(s, 2, ri->code)) < 0 ||
		    (r = store_bind_str(s, 3, watch_severity_name(ri->severity))) < 0 ||
		    (r = store_bind_str(s, 4, k->staff_id)) < 0 ||
		    (r = store_bind_str(s, 5, k->staff_name)) < 0 ||
		    (r = store_bind_str(s, 6, k->dept)) < 0 || (r = store_bind_str(s, 7, date)) < 0 ||
		    (r = store_bind_str(s, 8, first)) < 0 || (r = store_bind_str(s, 9, last)) < 0 ||
		    (r = store_bind_int(s, 10, (int64_t)nevents)) < 0 ||
		    (r = store_bind_str(s, 11, ja)) < 0 || (r = store_bind_str(s, 12, en)) < 0 ||
		    (r = store_bind_str(s, 13, now)) < 0 || (r = store_bind_str(s, 14, now)) < 0 ||
		    (r = store_bind_int(s, 15, (int64_t)rec_index)) < 0 || (r = store_step(s)) < 0)
			goto out;
	} else {
		if ((r = store_prepare(st,
				       "UPDATE alerts SET first_ts = ?, last_ts = ?, nevents = ?, "
				       "text_ja = ?, text_en = ?, updated = ? WHERE id = ?",
				       &s)) < 0)
			goto out;
		if ((r = store_bind_str(s, 1, first)) < 0 || (r = store_bind_str(s, 2, last)) < 0 ||
		    (r = store_bind_int(s, 3, (int64_t)nevents)) < 0 ||
		    (r = store_bind_str(s, 4, ja)) < 0 || (r = store_bind_str(s, 5, en)) < 0 ||
		    (r = store_bind_str(s, 6, now)) < 0 || (r = store_bind_int(s, 7, k->id)) < 0 ||
		    (r = store_step(s)) < 0)
			goto out;
	}
	store_finalize(s);
	s = NULL;
	if ((r = store_prepare(st, "INSERT INTO alert_events (alert_id, ledger_index, ref, ts) "
				   "VALUES (?, ?, ?, ?)",
			       &s)) < 0)
		goto out;
	for (size_t i = 0; i < k->nev; i++) {
		char ts[TS_TEXT_MAX];
		if (k->ev[i].index == UINT64_MAX)
			continue;
		ts_format_jst(k->ev[i].ts, ts);
		if ((r = store_reset(s)) < 0 || (r = store_bind_int(s, 1, k->id)) < 0 ||
		    (r = store_bind_int(s, 2, (int64_t)k->ev[i].index)) < 0 ||
		    (r = store_bind_str(s, 3, k->ev[i].ref)) < 0 || (r = store_bind_str(s, 4, ts)) < 0 ||
		    (r = store_step(s)) < 0)
			goto out;
	}
	r = 0;
out:
	store_finalize(s);
	return r;
}

static int next_alert_id(struct store *st, int64_t *out)
{
	struct store_stmt *s = NULL;
	int r;

	if ((r = store_prepare(st, "SELECT MAX(id) FROM alerts", &s)) < 0)
		return r;
	if ((r = store_step(s)) < 0)
		goto out;
	*out = (r == 1 && !store_col_is_null(s, 0) ? store_col_int(s, 0) : 0) + 1;
	r = 0;
out:
	store_finalize(s);
	return r;
}

int alerts_commit(struct store *st, struct ledger *lg, const char *actor, struct alert_batch *b,
		  const struct watch_position *pos, struct alerts_commit_stats *stats)
{
	struct alerts_commit_stats cs = {0};
	struct audit_rec *recs = NULL;
	struct buf *bodies = NULL, ja, en;
	size_t *old_n = NULL, nrec = 0, nkeys = b->n;
	uint64_t first = 0;
	int64_t next_id = 0;
	bool in_tx = false;
	int r;

	buf_init(&ja, 64 * 1024);
	buf_init(&en, 64 * 1024);
	if (b->n == 0 && !pos) {
		r = 0;
		goto out;
	}
	if ((r = store_begin(st)) < 0)
		goto out;
	in_tx = true;
	if ((r = next_alert_id(st, &next_id)) < 0)
		goto out;
	old_n = xcalloc(b->n + 1, sizeof(*old_n));
	recs = xcalloc(b->n + 1, sizeof(*recs));
	bodies = xcalloc(b->n + 1, sizeof(*bodies));
	for (size_t i = 0; i < b->n; i++)
		buf_init(&bodies[i], LEDGER_BODY_MAX);
	for (size_t i = 0; i < b->n; i++) {
		struct bkey *k = &b->k[i];
		bkey_uniq(k);
		if ((r = commit_lookup(st, k, &next_id, &old_n[i])) < 0)
			goto out;
		if (k->nnew == 0)
			continue;
		if ((r = alert_texts(k, old_n[i] + k->nnew, &ja, &en)) < 0 ||
		    (r = alert_record_body(k, ja.data, en.data, &bodies[i])) < 0)
			goto out;
		recs[nrec].kind = "alert";
		recs[nrec].ts = TS_NONE;
		recs[nrec].actor = actor;
		recs[nrec].body = bodies[i].data;
		recs[nrec].body_len = bodies[i].len;
		nrec++;
	}
	/* The ledger first: an alert the store holds is always in the ledger. */
	if (nrec && (r = ledger_append_many(lg, recs, nrec, &first)) < 0)
		goto out;
	nrec = 0;
	for (size_t i = 0; i < b->n; i++) {
		struct bkey *k = &b->k[i];
		if (k->nnew == 0)
			continue;
		if ((r = alert_texts(k, old_n[i] + k->nnew, &ja, &en)) < 0 ||
		    (r = commit_write(st, k, old_n[i] + k->nnew, ja.data, en.data, first + nrec)) < 0)
			goto out;
		nrec++;
		if (k->is_new)
			cs.created++;
		else
			cs.grown++;
		cs.events_added += k->nnew;
	}
	if (pos && (r = position_save(st, pos)) < 0)
		goto out;
	if ((r = store_commit(st)) < 0)
		goto out;
	in_tx = false;
	alert_batch_clear(b);
	if (stats)
		*stats = cs;
out:
	if (in_tx)
		store_rollback(st);
	if (bodies)
		for (size_t i = 0; i < nkeys; i++)
			buf_release(&bodies[i]);
	free(bodies);
	free(recs);
	free(old_n);
	buf_release(&ja);
	buf_release(&en);
	return r;
}

/* ---- reading ---- */

/* The columns every rendering of an alert reads, in this order. */
#define ALERT_COLS                                                                            \
	"id, rule, severity, staff_id, staff_name, dept, day, first_ts, last_ts, nevents, "   \
	"status, text_ja, text_en, created, updated, ledger_index"

static int col_json(struct buf *b, struct store_stmt *s, int i)
{
	size_t n = 0;
	const char *t = store_col_text(s, i, &n);
	return buf_json_str(b, t ? t : "", t ? n : 0);
}

/* Render the current row (ALERT_COLS) as the members of an alert object,
 * without the closing brace. */
static int alert_row_json(struct store_stmt *s, struct buf *b)
{
	static const char *const names[] = {"rule",  "severity", "staff_id", "staff_name",
					    "dept",  "day",	 "first_ts", "last_ts"};
	int r;

	if ((r = buf_printf(b, "{\"id\":%" PRId64, store_col_int(s, 0))) < 0)
		return r;
	for (int i = 0; i < (int)ARRAY_SIZE(names); i++)
		if ((r = buf_printf(b, ",\"%s\":", names[i])) < 0 || (r = col_json(b, s, i + 1)) < 0)
			return r;
	if ((r = buf_printf(b, ",\"nevents\":%" PRId64 ",\"status\":", store_col_int(s, 9))) < 0 ||
	    (r = col_json(b, s, 10)) < 0 || (r = buf_puts(b, ",\"ja\":")) < 0 ||
	    (r = col_json(b, s, 11)) < 0 || (r = buf_puts(b, ",\"en\":")) < 0 ||
	    (r = col_json(b, s, 12)) < 0 || (r = buf_puts(b, ",\"created\":")) < 0 ||
	    (r = col_json(b, s, 13)) < 0 || (r = buf_puts(b, ",\"updated\":")) < 0 ||
	    (r = col_json(b, s, 14)) < 0)
		return r;
	return buf_printf(b, ",\"ledger_index\":%" PRId64, store_col_int(s, 15));
}

static bool may_read(const struct actor *who)
{
	return actor_has(who, ALERT_READ_ROLES);
}

int alerts_list_json(struct store *st, const struct actor *who, const struct alert_filter *f,
		     struct buf *out)
{
	struct store_stmt *s = NULL;
	struct buf where;
	const char *dept = f->dept;
	const char *binds[8];
	char from[DATE_TEXT_MAX], to[DATE_TEXT_MAX];
	uint64_t page = f->page ? f->page : 1, per = f->per_page ? f->per_page : 50;
	int64_t total = 0;
	int nb = 0, r;

	if (!may_read(who))
		return ERR_FORBIDDEN;
	if (who->role == ROLE_DEPT_MANAGER) {
		if (dept && strcmp(dept, who->dept) != 0)
			return ERR_FORBIDDEN;
		dept = who->dept;
	}
	if (per > ALERT_PAGE_MAX)
		per = ALERT_PAGE_MAX;
	if (page > (uint64_t)INT64_MAX / ALERT_PAGE_MAX)
		return ERR_OVERFLOW;
	if (store_schema_version(st) < ALERT_SCHEMA)
		return buf_printf(out, "{\"alerts\":[],\"page\":%" PRIu64 ",\"per_page\":%" PRIu64
				       ",\"total\":0}",
				  page, per);
	buf_init(&where, 4096);
	if ((r = buf_puts(&where, " WHERE 1 = 1")) < 0)
		goto out;
#define FILTER(val, cond)                                                                     \
	if (val) {                                                                            \
		if ((r = buf_puts(&where, " AND " cond " = ?")) < 0)                          \
			goto out;                                                             \
		binds[nb++] = val;                                                            \
	}
	FILTER(f->status, "status")
	FILTER(f->severity, "severity")
	FILTER(f->rule, "rule")
	FILTER(f->staff, "staff_id")
	FILTER(dept, "dept")
#undef FILTER
	if (f->from != DAY_NONE) {
		date_format(f->from, from);
		if ((r = buf_puts(&where, " AND day >= ?")) < 0)
			goto out;
		binds[nb++] = from;
	}
	if (f->to != DAY_NONE) {
		date_format(f->to, to);
		if ((r = buf_puts(&where, " AND day <= ?")) < 0)
			goto out;
		binds[nb++] = to;
	}
	{
		struct buf sql;
		buf_init(&sql, 8192);
		r = buf_printf(&sql, "SELECT COUNT(*) FROM alerts%s", where.data);
		if (r == 0)
			r = store_prepare(st, sql.data, &s);
		buf_release(&sql);
		if (r < 0)
			goto out;
	}
	for (int i = 0; i < nb; i++)
		if ((r = store_bind_str(s, i + 1, binds[i])) < 0)
			goto out;
	if ((r = store_step(s)) < 0)
		goto out;
	total = r == 1 ? store_col_int(s, 0) : 0;
	store_finalize(s);
	s = NULL;
	{
		struct buf sql;
		buf_init(&sql, 8192);
		r = buf_printf(&sql,
			       "SELECT " ALERT_COLS " FROM alerts%s ORDER BY day DESC, id DESC "
			       "LIMIT ? OFFSET ?",
			       where.data);
		if (r == 0)
			r = store_prepare(st, sql.data, &s);
		buf_release(&sql);
		if (r < 0)
			goto out;
	}
	for (int i = 0; i < nb; i++)
		if ((r = store_bind_str(s, i + 1, binds[i])) < 0)
			goto out;
	if ((r = store_bind_int(s, nb + 1, (int64_t)per)) < 0 ||
	    (r = store_bind_int(s, nb + 2, (int64_t)((page - 1) * per))) < 0)
		goto out;
	if ((r = buf_puts(out, "{\"alerts\":[")) < 0)
		goto out;
	for (bool first = true; (r = store_step(s)) == 1; first = false)
		if ((!first && (r = buf_putc(out, ',')) < 0) || (r = alert_row_json(s, out)) < 0 ||
		    (r = buf_putc(out, '}')) < 0)
			goto out;
	if (r < 0)
		goto out;
	r = buf_printf(out, "],\"page\":%" PRIu64 ",\"per_page\":%" PRIu64 ",\"total\":%" PRId64 "}",
		       page, per, total);
out:
	store_finalize(s);
	buf_release(&where);
	return r;
}

/* The department of alert id into dept (cap bytes); ERR_NOT_FOUND. */
static int alert_dept(struct store *st, int64_t id, char *dept, size_t cap)
{
	struct store_stmt *s = NULL;
	int r;

	if (store_schema_version(st) < ALERT_SCHEMA)
		return ERR_NOT_FOUND;
	if ((r = store_prepare(st, "SELECT dept FROM alerts WHERE id = ?", &s)) < 0)
		return r;
	if ((r = store_bind_int(s, 1, id)) < 0 || (r = store_step(s)) < 0)
		goto out;
	if (r == 0) {
		r = ERR_NOT_FOUND;
		goto out;
	}
	snprintf(dept, cap, "%s", store_col_text(s, 0, NULL) ? store_col_text(s, 0, NULL) : "");
	r = 0;
out:
	store_finalize(s);
	return r;
}

/* A department manager reads and triages only their own department's
 * alerts; an alert of no department (an unknown staff id) is not theirs. */
static bool own_dept(const struct actor *who, const char *dept)
{
	return who->role != ROLE_DEPT_MANAGER || (dept[0] && strcmp(dept, who->dept) == 0);
}

int alerts_get_json(struct store *st, const struct actor *who, int64_t id, struct buf *out)
{
	struct store_stmt *s = NULL;
	char dept[256];
	bool first = true;
	int r;

	if (!may_read(who))
		return ERR_FORBIDDEN;
	if ((r = alert_dept(st, id, dept, sizeof(dept))) < 0)
		return r;
	if (!own_dept(who, dept))
		return ERR_FORBIDDEN;
	if ((r = store_prepare(st, "SELECT " ALERT_COLS " FROM alerts WHERE id = ?", &s)) < 0)
		goto out;
	if ((r = store_bind_int(s, 1, id)) < 0 || (r = store_step(s)) < 0)
		goto out;
	if (r == 0) {
		r = ERR_NOT_FOUND;
		goto out;
	}
	if ((r = alert_row_json(s, out)) < 0 || (r = buf_puts(out, ",\"events\":[")) < 0)
		goto out;
	store_finalize(s);
	s = NULL;
	if ((r = store_prepare(st, "SELECT ledger_index, ref, ts FROM alert_events WHERE alert_id = ? "
				   "ORDER BY ledger_index",
			       &s)) < 0 ||
	    (r = store_bind_int(s, 1, id)) < 0)
		goto out;
	while ((r = store_step(s)) == 1) {
		if ((r = buf_printf(out, "%s{\"index\":%" PRId64 ",\"ref\":", first ? "" : ",",
				    store_col_int(s, 0))) < 0 ||
		    (r = col_json(out, s, 1)) < 0 || (r = buf_puts(out, ",\"ts\":")) < 0 ||
		    (r = col_json(out, s, 2)) < 0 || (r = buf_putc(out, '}')) < 0)
			goto out;
		first = false;
	}
	if (r < 0 || (r = buf_puts(out, "],\"history\":[")) < 0)
		goto out;
	store_finalize(s);
	s = NULL;
	first = true;
	if ((r = store_prepare(st, "SELECT ts, actor, from_status, to_status, reason, ledger_index "
				   "FROM alert_history WHERE alert_id = ? ORDER BY seq",
			       &s)) < 0 ||
	    (r = store_bind_int(s, 1, id)) < 0)
		goto out;
	while ((r = store_step(s)) == 1) {
		if ((r = buf_puts(out, first ? "{\"ts\":" : ",{\"ts\":")) < 0 ||
		    (r = col_json(out, s, 0)) < 0 || (r = buf_puts(out, ",\"actor\":")) < 0 ||
		    (r = col_json(out, s, 1)) < 0 || (r = buf_puts(out, ",\"from\":")) < 0 ||
		    (r = col_json(out, s, 2)) < 0 || (r = buf_puts(out, ",\"to\":")) < 0 ||
		    (r = col_json(out, s, 3)) < 0 || (r = buf_puts(out, ",\"reason\":")) < 0 ||
		    (r = col_json(out, s, 4)) < 0 ||
		    (r = buf_printf(out, ",\"ledger_index\":%" PRId64 "}", store_col_int(s, 5))) < 0)
			goto out;
		first = false;
	}
	if (r < 0)
		goto out;
	r = buf_puts(out, "]}");
out:
	store_finalize(s);
	return r;
}

/* Well-formed UTF-8 without control characters other than tab and
 * newline: a reason is a sentence, not a payload. */
static bool reason_ok(const unsigned char *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		unsigned c = s[i], need, cp;
		if (c < 0x80) {
			if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f)
				return false;
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			need = 1, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			need = 2, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			need = 3, cp = c & 0x07;
		else
			return false;
		for (unsigned k = 1; k <= need; k++) {
			if (i + k >= n || (s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((need == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (need == 3 && (cp < 0x10000 || cp > 0x10ffff)))
			return false;
		i += need + 1;
	}
	return true;
}

static bool blank(const char *s)
{
	for (; s && *s; s++)
		if (*s != ' ' && *s != '\t' && *s != '\n')
			return false;
	return true;
}

int alerts_triage(struct store *st, struct ledger *lg, const struct actor *who, int64_t id,
		  enum alert_status to, const char *reason, uint64_t *ledger_index)
{
	struct store_stmt *s = NULL;
	struct buf body;
	char dept[256], rule[64], staff[256], day[DATE_TEXT_MAX], from[32], now[TS_TEXT_MAX];
	enum alert_status cur;
	uint64_t idx = 0;
	int64_t seq;
	bool in_tx = false;
	int r;

	if (!alert_status_name(to))
		return ERR_INVALID;
	if (!reason)
		reason = "";
	if (strlen(reason) > ALERT_REASON_MAX || !reason_ok((const unsigned char *)reason, strlen(reason)))
		return ERR_INVALID;
	if (to == AS_FALSE_POSITIVE && blank(reason))
		return ERR_INVALID;
	if (!actor_has(who, ROLE_ADMIN | ROLE_CISO | ROLE_CSIRT | ROLE_DEPT_MANAGER))
		return ERR_FORBIDDEN;
	if (store_schema_version(st) < ALERT_SCHEMA)
		return ERR_NOT_FOUND;
	buf_init(&body, 16384);
	if ((r = store_begin(st)) < 0)
		goto out;
	in_tx = true;
	if ((r = store_prepare(st, "SELECT status, dept, rule, staff_id, day FROM alerts WHERE id = ?",
			       &s)) < 0 ||
	    (r = store_bind_int(s, 1, id)) < 0 || (r = store_step(s)) < 0)
		goto out;
	if (r == 0) {
		r = ERR_NOT_FOUND;
		goto out;
	}
	if (alert_status_parse(store_col_text(s, 0, NULL), &cur) < 0) {
		r = ERR_CORRUPT;
		goto out;
	}
	snprintf(dept, sizeof(dept), "%s", store_col_text(s, 1, NULL) ? store_col_text(s, 1, NULL) : "");
	snprintf(rule, sizeof(rule), "%s", store_col_text(s, 2, NULL) ? store_col_text(s, 2, NULL) : "");
	snprintf(staff, sizeof(staff), "%s", store_col_text(s, 3, NULL) ? store_col_text(s, 3, NULL) : "");
	snprintf(day, sizeof(day), "%s", store_col_text(s, 4, NULL) ? store_col_text(s, 4, NULL) : "");
	store_finalize(s);
	s = NULL;
	/* A department manager triages their own department's alerts only;
	 * an alert of no department (an unknown staff id) is
	 * organisation-wide: admin, CISO and CSIRT. */
	if (!own_dept(who, dept) || !actor_may_write_dept(who, dept)) {
		r = ERR_FORBIDDEN;
		goto out;
	}
	if (cur == to) {
		r = ERR_CONFLICT;
		goto out;
	}
	snprintf(from, sizeof(from), "%s", alert_status_name(cur));
	if ((r = buf_printf(&body, "{\"id\":%" PRId64 ",\"rule\":", id)) < 0 ||
	    (r = put_str(&body, rule)) < 0 || (r = buf_puts(&body, ",\"staff_id\":")) < 0 ||
	    (r = put_str(&body, staff)) < 0 || (r = buf_puts(&body, ",\"dept\":")) < 0 ||
	    (r = put_str(&body, dept)) < 0 ||
	    (r = buf_printf(&body, ",\"day\":\"%s\",\"from\":\"%s\",\"to\":\"%s\",\"reason\":", day,
			    from, alert_status_name(to))) < 0 ||
	    (r = put_str(&body, reason)) < 0 || (r = buf_putc(&body, '}')) < 0)
		goto out;
	{
		struct audit_rec rec = {"alert_triage", TS_NONE, who->name, body.data, body.len};
		if ((r = ledger_append(lg, &rec, &idx)) < 0)
			goto out;
	}
	if ((r = store_prepare(st, "SELECT MAX(seq) FROM alert_history WHERE alert_id = ?", &s)) < 0 ||
	    (r = store_bind_int(s, 1, id)) < 0 || (r = store_step(s)) < 0)
		goto out;
	seq = (r == 1 && !store_col_is_null(s, 0) ? store_col_int(s, 0) : 0) + 1;
	store_finalize(s);
	s = NULL;
	ts_format_jst(ts_now(), now);
	if ((r = store_prepare(st, "INSERT INTO alert_history (alert_id, seq, ts, actor, from_status, "
				   "to_status, reason, ledger_index) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
			       &s)) < 0 ||
	    (r = store_bind_int(s, 1, id)) < 0 || (r = store_bind_int(s, 2, seq)) < 0 ||
	    (r = store_bind_str(s, 3, now)) < 0 || (r = store_bind_str(s, 4, who->name)) < 0 ||
	    (r = store_bind_str(s, 5, from)) < 0 ||
	    (r = store_bind_str(s, 6, alert_status_name(to))) < 0 ||
	    (r = store_bind_str(s, 7, reason)) < 0 || (r = store_bind_int(s, 8, (int64_t)idx)) < 0 ||
	    (r = store_step(s)) < 0)
		goto out;
	store_finalize(s);
	s = NULL;
	if ((r = store_prepare(st, "UPDATE alerts SET status = ?, updated = ? WHERE id = ?", &s)) < 0 ||
	    (r = store_bind_str(s, 1, alert_status_name(to))) < 0 ||
	    (r = store_bind_str(s, 2, now)) < 0 || (r = store_bind_int(s, 3, id)) < 0 ||
	    (r = store_step(s)) < 0)
		goto out;
	store_finalize(s);
	s = NULL;
	if ((r = store_commit(st)) < 0)
		goto out;
	in_tx = false;
	if (ledger_index)
		*ledger_index = idx;
	r = 0;
out:
	store_finalize(s);
	if (in_tx)
		store_rollback(st);
	buf_release(&body);
	return r;
}

/* ---- explaining one access ---- */

/* One event of the day of the access explained, with its own strings. */
struct xev {
	struct watch_event ev;
	char *strs[5]; /* staff, resident, case, query, ref */
};

static void xev_release(struct xev *x)
{
	for (int i = 0; i < 5; i++)
		free(x->strs[i]);
}

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

static void xev_set(struct xev *x, const struct watch_event *ev)
{
	x->ev = *ev;
	x->ev.staff_id = x->strs[0] = dup_or_null(ev->staff_id);
	x->ev.resident_id = x->strs[1] = dup_or_null(ev->resident_id);
	x->ev.case_id = x->strs[2] = dup_or_null(ev->case_id);
	x->ev.query = x->strs[3] = dup_or_null(ev->query);
	x->ev.ref = x->strs[4] = dup_or_null(ev->ref);
}

static int xev_cmp(const void *a, const void *b)
{
	const struct xev *x = a, *y = b;
	if (x->ev.ts != y->ev.ts)
		return x->ev.ts < y->ev.ts ? -1 : 1;
	return x->ev.seq < y->ev.seq ? -1 : x->ev.seq > y->ev.seq;
}

/* What the replay found about the target event. */
struct xctx {
	uint64_t target;
	struct buf *out;
	bool fired[WR__COUNT];
	int err;
};

static int x_on_alert(const struct watch_alert *a, void *ctx)
{
	struct xctx *x = ctx;
	for (size_t i = 0; i < a->nevents; i++)
		if (a->seqs[i] == x->target)
			x->fired[a->rule] = true;
	return 0;
}

/* True when the ledger line may hold a record with this ref: a cheap
 * look for the quoted value before parsing the record. */
static bool line_may_have(const char *line, size_t len, const char *quoted, size_t qlen)
{
	return !quoted || memmem(line, len, quoted, qlen) != NULL;
}

/* Find the target event: by ref (the first record naming it) or index. */
static int x_find(struct ledger *lg, const char *ref, uint64_t index, struct xev *out,
		  struct buf *rec)
{
	uint64_t size = ledger_size(lg), i;
	struct ledger_cursor *cur = NULL;
	struct buf q;
	int r = ERR_NOT_FOUND, c;

	buf_init(&q, 4096);
	if (ref) {
		/* Refs are usually plain ASCII: their canonical form is the
		 * quoted text. Anything else is compared after parsing. */
		bool plain = true;
		for (const char *p = ref; *p; p++)
			if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
				plain = false;
		if (plain && (r = buf_printf(&q, "\"ref\":\"%s\"", ref)) < 0)
			goto out;
		r = ERR_NOT_FOUND;
	}
	if (!ref && index >= size)
		goto out;
	if ((c = ledger_cursor_open(lg, ref ? 0 : index, ref ? size : index + 1, &cur)) < 0) {
		r = c;
		goto out;
	}
	while ((c = ledger_cursor_next(cur, &i, rec)) != 0) {
		struct watch_event ev;
		char kind[33];
		void *hold = NULL;
		int k;

		if (c < 0) {
			r = c;
			goto out;
		}
		if (ref && !line_may_have(rec->data, rec->len, q.len ? q.data : NULL, q.len)) {
			r = ERR_NOT_FOUND;
			continue;
		}
		k = watch_record_event(rec->data, rec->len, kind, &ev, &hold);
		if (k == 1 && (!ref || (ev.ref && strcmp(ev.ref, ref) == 0))) {
			ev.seq = i;
			xev_set(out, &ev);
			json_decref((json_t *)hold);
			r = 0;
			goto out;
		}
		json_decref((json_t *)hold);
		r = ref ? ERR_NOT_FOUND : ERR_INVALID;
	}
out:
	ledger_cursor_close(cur);
	buf_release(&q);
	return r;
}

/*
 * True when a ledger line may hold an event of JST day d (dates[k] the
 * text of day d - 2 + k): an event's ts begins with its own local date,
 * which for any offset the parser accepts (at most ±23:59) is one of
 * d - 2 … d + 1. A line with an escape is parsed whatever it holds.
 */
static bool day_may_hold(const char *line, size_t len, char dates[4][DATE_TEXT_MAX])
{
	if (memchr(line, '\\', len))
		return true;
	for (int k = 0; k < 4; k++)
		if (memmem(line, len, dates[k], DATE_TEXT_MAX - 1))
			return true;
	return false;
}

static void x_time(int64_t ts, char out[static TS_TEXT_MAX])
{
	if (ts == TS_NONE || ts == INT64_MAX)
		snprintf(out, TS_TEXT_MAX, "-");
	else
		ts_format_jst(ts, out);
}

static void x_date(int32_t d, char out[static DATE_TEXT_MAX])
{
	if (d == DAY_NONE)
		snprintf(out, DATE_TEXT_MAX, "-");
	else
		date_format(d, out);
}

/* One case as evidence: "C0001 (dept D, kind K, assigned S, opened T, closed T)". */
static int x_case(struct buf *b, const struct watch_tables *t, uint32_t ci)
{
	const struct reg_case *rc = &t->reg->cases[ci];
	char o[TS_TEXT_MAX], c[TS_TEXT_MAX];

	x_time(rc->opened, o);
	x_time(rc->closed, c);
	return buf_printf(b, T(" %s（所属 %s、種類 %s、担当 %s、開始 %s、終了 %s）",
			       " %s (dept %s, kind %s, assigned to %s, opened %s, closed %s)"),
			  rc->id, rc->dept, rc->kind, rc->assigned_to ? rc->assigned_to : "-", o,
			  rc->closed == TS_NONE ? T("未終了", "open") : c);
}

static int x_mark(struct buf *b, bool yes, const char *name, const char *what)
{
	return buf_printf(b, "  [%s] %-13s %s:", yes ? "x" : " ", name, what);
}

static bool x_live(const struct watch_thresholds *th, const struct wt_case *c, int64_t ts)
{
	return c->opened - th->counter_flow <= ts &&
	       (c->closed == INT64_MAX || ts <= c->closed + th->case_grace);
}

/* The templates tried for the access of staff s to resident rx. */
static int x_templates(struct buf *b, const struct watch_tables *t,
		       const struct watch_thresholds *th, const struct watch_event *ev, uint32_t s,
		       uint32_t rx, const struct watch_verdict *v, const struct xev *last_search)
{
	const struct wt_staff *st = &t->staff[s];
	uint32_t f = t->res_case_first[rx], e = t->res_case_first[rx + 1];
	int64_t ts = ev->ts;
	size_t n;
	int r;

#define ANY(cond)                                                                             \
	do {                                                                                  \
		n = 0;                                                                        \
		for (uint32_t i = f; i < e; i++) {                                            \
			uint32_t ci = t->res_cases[i];                                        \
			const struct wt_case *c = &t->cases[ci];                              \
			(void)c;                                                              \
			if (cond) {                                                           \
				if ((r = x_case(b, t, ci)) < 0)                               \
					return r;                                             \
				n++;                                                          \
			}                                                                     \
		}                                                                             \
	} while (0)

	/* assigned */
	{
		bool yes = false;
		for (uint32_t i = f; i < e; i++) {
			const struct wt_case *c = &t->cases[t->res_cases[i]];
			yes |= c->assigned == s && x_live(th, c, ts);
		}
		if ((r = x_mark(b, yes, "assigned",
				T("この職員に割り当てられた、その時点で有効な案件",
				  "a case of the resident assigned to the person, live at the time"))) < 0)
			return r;
		ANY(c->assigned == s);
		if (!n && (r = buf_puts(b, T(" なし", " none"))) < 0)
			return r;
		if ((r = buf_putc(b, '\n')) < 0)
			return r;
	}
	/* declared */
	{
		uint32_t ci = ev->case_id ? wt_case_find(t, ev->case_id) : WT_NONE;
		bool yes = ci != WT_NONE && t->cases[ci].res == rx && x_live(th, &t->cases[ci], ts);
		if ((r = x_mark(b, yes, "declared",
				T("業務システムが記録した案件（case_id）", "the case the business system declared (case_id)"))) < 0)
			return r;
		if (!ev->case_id)
			r = buf_puts(b, T(" 申告なし", " none declared"));
		else if (ci == WT_NONE)
			r = buf_printf(b, T(" %s は台帳にありません", " %s is not in the registry"), ev->case_id);
		else if ((r = x_case(b, t, ci)) == 0 && t->cases[ci].res != rx)
			r = buf_puts(b, T(" ― 別の住民の案件です", " - a case of another resident"));
		else if (r == 0 && !yes)
			r = buf_puts(b, T(" ― その時点で有効ではありません", " - not live at the time"));
		if (r < 0 || (r = buf_putc(b, '\n')) < 0)
			return r;
	}
	/* department: open, grace, counter flow */
	{
		bool yes = false;
		for (uint32_t i = f; i < e; i++) {
			const struct wt_case *c = &t->cases[t->res_cases[i]];
			yes |= c->dept == st->dept && c->opened <= ts && ts <= c->closed;
		}
		if ((r = x_mark(b, yes, "dept_open",
				T("所属の未終了の案件（同僚の代行）", "an open case in the person's department (a colleague covering)"))) < 0)
			return r;
		ANY(st->dept != WT_NONE && c->dept == st->dept && c->opened <= ts && ts <= c->closed);
		if ((!n && (r = buf_puts(b, T(" なし", " none"))) < 0) || (r = buf_putc(b, '\n')) < 0)
			return r;
		yes = false;
		for (uint32_t i = f; i < e; i++) {
			const struct wt_case *c = &t->cases[t->res_cases[i]];
			yes |= c->dept == st->dept && c->closed != INT64_MAX && c->closed < ts &&
			       ts <= c->closed + th->case_grace;
		}
		if ((r = x_mark(b, yes, "dept_grace",
				T("所属の案件で終了から猶予期間内のもの（事後処理）",
				  "a department case closed less than the grace period ago"))) < 0)
			return r;
		ANY(st->dept != WT_NONE && c->dept == st->dept && c->closed != INT64_MAX && c->closed < ts &&
		    ts <= c->closed + th->case_grace);
		if ((!n && (r = buf_puts(b, T(" なし", " none"))) < 0) || (r = buf_putc(b, '\n')) < 0)
			return r;
		yes = false;
		for (uint32_t i = f; i < e; i++) {
			const struct wt_case *c = &t->cases[t->res_cases[i]];
			yes |= c->dept == st->dept && c->opened > ts && c->opened - ts <= th->counter_flow;
		}
		if ((r = x_mark(b, yes, "counter_flow",
				T("閲覧の直後に所属で受け付けた案件（窓口での照会→受付）",
				  "a department case opened just after the look (counter flow)"))) < 0)
			return r;
		ANY(st->dept != WT_NONE && c->dept == st->dept && c->opened > ts && c->opened - ts <= th->counter_flow);
		if ((!n && (r = buf_puts(b, T(" なし", " none"))) < 0) || (r = buf_putc(b, '\n')) < 0)
			return r;
	}
#undef ANY
	/* household */
	{
		uint32_t h = t->res[rx].hh;
		bool yes = false;
		n = 0;
		if ((r = x_mark(b, v->expl == WE_HOUSEHOLD, "household",
				T("同じ世帯の別の住民の、所属で最近受け付けた未終了の案件（世帯全員の証明）",
				  "a recent open department case of another household member (a "
				  "certificate for the whole household)"))) < 0)
			return r;
		for (uint32_t k = h != WT_NONE ? t->hh_first[h] : 0; h != WT_NONE && k < t->hh_first[h + 1]; k++) {
			uint32_t m = t->hh_members[k];
			if (m == rx)
				continue;
			for (uint32_t i = t->res_case_first[m]; i < t->res_case_first[m + 1]; i++) {
				const struct wt_case *c = &t->cases[t->res_cases[i]];
				if (c->dept == st->dept && c->opened <= ts && ts <= c->closed &&
				    ts - c->opened <= th->recent_case) {
					if ((r = x_case(b, t, t->res_cases[i])) < 0)
						return r;
					yes = true;
					n++;
				}
			}
		}
		(void)yes;
		if ((!n && (r = buf_puts(b, T(" なし", " none"))) < 0) || (r = buf_putc(b, '\n')) < 0)
			return r;
	}
	/* namesake */
	{
		char when[TS_TEXT_MAX];
		if ((r = x_mark(b, v->expl == WE_NAMESAKE, "namesake",
				T("直前の氏名検索と同じ姓の住民（同姓の候補から本人を探す）",
				  "a resident of the surname the person searched for just before"))) < 0)
			return r;
		if (last_search) {
			x_time(last_search->ev.ts, when);
			r = buf_printf(b, T(" 直前の検索 '%s'（%s）、住民の姓 '%s'", " last search '%s' at %s, the resident's surname '%s'"),
				       last_search->ev.query, when, t->res[rx].r->surname ? t->res[rx].r->surname : "");
		} else {
			r = buf_puts(b, T(" この日の検索なし", " no search that day before it"));
		}
		if (r < 0 || (r = buf_putc(b, '\n')) < 0)
			return r;
	}
	return 0;
}

int watch_explain(const struct watch_tables *t, const struct watch_thresholds *th,
		  struct ledger *lg, const char *ref, uint64_t index, struct buf *out)
{
	struct watch_thresholds defth;
	struct xev target = {0}, *day = NULL;
	const struct xev *last_search = NULL;
	struct watch_verdict v = {0};
	struct xctx xc = {0};
	struct watch *w = NULL;
	struct ledger_cursor *cur = NULL;
	struct buf rec;
	size_t n = 0, cap = 0;
	uint64_t size, ri;
	char dates[4][DATE_TEXT_MAX];
	int32_t d;
	uint32_t s, rx;
	bool found_target = false;
	int r;

	if (!th) {
		watch_thresholds_default(&defth);
		th = &defth;
	}
	buf_init(&rec, LEDGER_BODY_MAX * 2);
	if ((r = x_find(lg, ref, index, &target, &rec)) < 0)
		goto out;
	d = ts_jst_day(target.ev.ts);
	/* The events of that day, replayed in time order as the audit does:
	 * the last search and the peer rules depend on them. */
	size = ledger_size(lg);
	for (int k = 0; k < 4; k++)
		date_format(d - 2 + k, dates[k]);
	if ((r = ledger_cursor_open(lg, 0, size, &cur)) < 0)
		goto out;
	while ((r = ledger_cursor_next(cur, &ri, &rec)) != 0) {
		struct watch_event ev;
		char kind[33];
		void *hold = NULL;

		if (r < 0)
			goto out;
		if (!day_may_hold(rec.data, rec.len, dates))
			continue;
		if (watch_record_event(rec.data, rec.len, kind, &ev, &hold) == 1 &&
		    ts_jst_day(ev.ts) == d) {
			if (ARRAY_GROW(day, cap, n + 1) < 0) {
				json_decref((json_t *)hold);
				r = ERR_NOMEM;
				goto out;
			}
			ev.seq = ri;
			xev_set(&day[n++], &ev);
		}
		json_decref((json_t *)hold);
	}
	qsort(day, n, sizeof(*day), xev_cmp);
	xc.target = target.ev.seq;
	if ((r = watch_new(t, th, x_on_alert, &xc, &w)) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		bool is_target = day[i].ev.seq == target.ev.seq;
		if ((r = watch_feed(w, &day[i].ev, is_target ? &v : NULL)) < 0)
			goto out;
		if (is_target)
			found_target = true;
		if (!found_target && day[i].ev.action == WA_SEARCH && day[i].ev.query &&
		    !day[i].ev.resident_id && target.ev.staff_id &&
		    strcmp(day[i].ev.staff_id, target.ev.staff_id) == 0)
			last_search = &day[i];
	}
	if ((r = watch_flush(w)) < 0)
		goto out;

	/* The access. */
	{
		char when[TS_TEXT_MAX];
		static const char *const an[WA__COUNT] = {"search", "view", "update", "print", "export"};
		x_time(target.ev.ts, when);
		if ((r = buf_printf(out, T("アクセス: 監査台帳 %" PRIu64 " 番、ref %s\n", "access: ledger index %" PRIu64 ", ref %s\n"),
				    target.ev.seq, target.ev.ref ? target.ev.ref : "-")) < 0 ||
		    (r = buf_printf(out, T("  %s に %s が住民 %s の記録を %s（申告案件 %s%s）\n",
					   "  %s: %s %s resident %s (declared case %s%s)\n"),
				    when, target.ev.staff_id, i18n_is_ja() ? (target.ev.resident_id ? target.ev.resident_id : "-") : an[target.ev.action],
				    i18n_is_ja() ? an[target.ev.action] : (target.ev.resident_id ? target.ev.resident_id : "-"),
				    target.ev.case_id ? target.ev.case_id : "-",
				    target.ev.denied ? T("、拒否された試み", ", a denied attempt") : "")) < 0)
			goto out;
	}
	s = idmap_get(&t->staff_ids, target.ev.staff_id);
	rx = target.ev.resident_id ? idmap_get(&t->res_ids, target.ev.resident_id) : WT_NONE;
	if (s == WT_NONE) {
		if ((r = buf_printf(out, T("職員: %s は職員台帳にありません\n", "staff: %s is not in the staff register\n"),
				    target.ev.staff_id)) < 0)
			goto out;
	} else {
		const struct reg_staff *rs = t->staff[s].r;
		char a[DATE_TEXT_MAX], b[DATE_TEXT_MAX], tr[DATE_TEXT_MAX], pl[DATE_TEXT_MAX];
		x_date(rs->start, a);
		x_date(rs->end, b);
		x_date(rs->training, tr);
		x_date(rs->pledge, pl);
		if ((r = buf_printf(out, T("職員: %s %s（所属 %s、%s）在職 %s〜%s、研修 %s、誓約書 %s\n",
					   "staff: %s %s (dept %s, %s), employed %s to %s, training %s, pledge %s\n"),
				    rs->id, rs->name, rs->dept, employment_name(rs->employment), a,
				    rs->end == DAY_NONE ? T("現在", "now") : b, tr, pl)) < 0)
			goto out;
	}
	if (!target.ev.resident_id) {
		r = buf_printf(out, T("住民: なし（検索 '%s'）。検索には説明は要りません\n",
				      "resident: none (a search for '%s'); a search needs no explanation\n"),
			       target.ev.query ? target.ev.query : "");
	} else if (rx == WT_NONE) {
		r = buf_printf(out, T("住民: %s は住民台帳にありません\n", "resident: %s is not in the resident register\n"),
			       target.ev.resident_id);
	} else {
		const struct reg_resident *rr = t->res[rx].r;
		struct buf fl;
		buf_init(&fl, 4096);
		for (uint32_t i = 0; i < rr->flags.n; i++)
			if (buf_printf(&fl, "%s%s", i ? "," : "", rr->flags.v[i]) < 0)
				break;
		r = buf_printf(out, T("住民: %s %s %s（世帯 %s、住所 %s、フラグ %s）\n",
				      "resident: %s %s %s (household %s, address %s, flags %s)\n"),
			       rr->id, rr->surname, rr->given, rr->household_id, rr->address_id,
			       fl.len ? fl.data : "-");
		buf_release(&fl);
		if (r == 0 && s != WT_NONE) {
			const struct wt_staff *st = &t->staff[s];
			const struct wt_res *re = &t->res[rx];
			if (st->hh != WT_NONE && re->hh == st->hh)
				r = buf_puts(out, T("  関係: 職員自身の世帯の住民です\n", "  relation: a member of the person's own household\n"));
			else if (st->addr != WT_NONE && re->addr == st->addr)
				r = buf_puts(out, T("  関係: 職員と同じ住所の住民です（同姓なら親族、別姓なら近隣）\n",
						    "  relation: lives at the person's address (a relative with the same surname, else a neighbour)\n"));
		}
	}
	if (r < 0)
		goto out;
	if (s != WT_NONE && rx != WT_NONE) {
		if ((r = buf_puts(out, T("説明のひな形（上から順に試します）:\n", "explanation templates (tried in this order):\n"))) < 0 ||
		    (r = x_templates(out, t, th, &target.ev, s, rx, &v, last_search)) < 0)
			goto out;
	}
	/* Time of day. */
	{
		int sod = ts_jst_second_of_day(target.ev.ts);
		const char *hol = NULL;
		char note[256] = "";
		if (jp_office_closed(d)) {
			(void)jp_holiday(d, &hol);
			snprintf(note, sizeof(note), T("（閉庁日%s%s）", " (office closed%s%s)"),
				 hol ? T("：", ": ") : "", hol ? hol : "");
		}
		if (v.off_hours)
			r = buf_printf(out, T("時間: %02d:%02d、勤務時間外%s。承認された時間外勤務: %s\n",
					      "time: %02d:%02d, outside office hours%s; approved overtime: %s\n"),
				       sod / 3600, sod / 60 % 60, note,
				       v.overtime ? T("あり", "yes") : T("なし", "none"));
		else
			r = buf_printf(out, T("時間: %02d:%02d、勤務時間内\n", "time: %02d:%02d, within office hours\n"),
				       sod / 3600, sod / 60 % 60);
		if (r < 0)
			goto out;
	}
	/* The result. */
	if (!target.ev.resident_id)
		r = buf_puts(out, T("結果: 検索（説明不要）\n", "result: a search (needs no explanation)\n"));
	else if (v.expl == WE_NONE)
		r = buf_puts(out, T("結果: 説明なし ― 台帳のどの証拠もこのアクセスを説明しません\n",
				    "result: NOT explained - nothing in the registry explains this access\n"));
	else if (v.case_id)
		r = buf_printf(out, T("結果: 説明あり ― %s（案件 %s）\n", "result: explained - %s (case %s)\n"),
			       v.expl == WE_TEMPLATE && v.template_name ? v.template_name
								      : watch_expl_name(v.expl),
			       v.case_id);
	else
		r = buf_printf(out, T("結果: 説明あり ― %s\n", "result: explained - %s\n"),
			       watch_expl_name(v.expl));
	if (r < 0)
		goto out;
	{
		bool any = false;
		for (int k = 0; k < WR__COUNT; k++) {
			const struct watch_rule_info *ri = watch_rule_info(k);
			if (!xc.fired[k])
				continue;
			if ((r = buf_printf(out, "%s %s [%s] %s\n", any ? "      " : T("規則:", "rules:"),
					    ri->code, watch_severity_name(ri->severity),
					    T(ri->title_ja, ri->title_en))) < 0)
				goto out;
			any = true;
		}
		if (!any && (r = buf_puts(out, T("規則: 該当なし（アラートなし）\n", "rules: none fired (no alert)\n"))) < 0)
			goto out;
	}
	r = 0;
out:
	ledger_cursor_close(cur);
	watch_free(w);
	for (size_t i = 0; i < n; i++)
		xev_release(&day[i]);
	free(day);
	xev_release(&target);
	buf_release(&rec);
	return r;
}
