/*
 * Unit tests for src/watch/alerts.c and stream.c: grouping of alert
 * contributions, merging them into the store with their ledger records
 * (idempotently), listing with filters and roles, triage, the watcher's
 * durable position across a restart, late events and decisions, and the
 * explanation of one access. A small registry is written by hand and
 * imported into a temporary store and ledger.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "fx_tree.h"
#include "base/base.h"
#include "base/actor.h"
#include "base/buf.h"
#include "base/diag.h"
#include "base/i18n.h"
#include "base/timeutil.h"
#include "ledger/ledger.h"
#include "registry/registry.h"
#include "store/store.h"
#include "watch/watch_int.h"
#include "watch/alerts.h"
#include "watch/watch.h"

struct fx {
	char dir[64], data[96], db[96];
	struct store *st;
	struct ledger *lg;
};

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[256];
	FILE *f;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* Two departments; S1 (D1) has a case of R1; S2 is in D2; S3 left on
 * 2026-03-31; R2 is under DV support measures; R3 has a D1 case that
 * closed on 2026-04-01. */
static void write_registry(const char *dir)
{
	write_file(dir, "systems.jsonl",
		   "{\"id\":\"juki\",\"name\":\"住民記録システム\",\"zone\":\"mynumber\",\"confidentiality\":\"3B\"}\n");
	write_file(dir, "departments.jsonl",
		   "{\"id\":\"D1\",\"name\":\"戸籍住民課\",\"systems\":[\"juki\"]}\n"
		   "{\"id\":\"D2\",\"name\":\"税務課\",\"systems\":[\"juki\"]}\n");
	write_file(dir, "staff.jsonl",
		   "{\"id\":\"S1\",\"name\":\"山田 太郎\",\"surname\":\"山田\",\"dept\":\"D1\",\"employment\":\"regular\","
		   "\"roles\":[\"clerk\"],\"zones\":[\"mynumber\"],\"start\":\"2020-04-01\",\"end\":null,"
		   "\"training\":\"2026-01-10\",\"pledge\":\"2020-04-01\"}\n"
		   "{\"id\":\"S2\",\"name\":\"鈴木 花子\",\"surname\":\"鈴木\",\"dept\":\"D2\",\"employment\":\"regular\","
		   "\"roles\":[\"clerk\"],\"zones\":[\"mynumber\"],\"start\":\"2020-04-01\",\"end\":null,"
		   "\"training\":\"2026-01-10\",\"pledge\":\"2020-04-01\"}\n"
		   "{\"id\":\"S3\",\"name\":\"田中 一郎\",\"surname\":\"田中\",\"dept\":\"D1\",\"employment\":\"temporary\","
		   "\"roles\":[\"clerk\"],\"zones\":[\"mynumber\"],\"start\":\"2025-04-01\",\"end\":\"2026-03-31\","
		   "\"training\":\"2026-01-10\",\"pledge\":\"2025-04-01\"}\n");
	write_file(dir, "residents.jsonl",
		   "{\"id\":\"R1\",\"surname\":\"佐藤\",\"given\":\"次郎\",\"birth\":\"1980-01-01\",\"address_id\":\"A1\","
		   "\"household_id\":\"H1\",\"flags\":[]}\n"
		   "{\"id\":\"R2\",\"surname\":\"高橋\",\"given\":\"愛\",\"birth\":\"1985-02-02\",\"address_id\":\"A2\","
		   "\"household_id\":\"H2\",\"flags\":[\"dv_support\"]}\n"
		   "{\"id\":\"R3\",\"surname\":\"伊藤\",\"given\":\"誠\",\"birth\":\"1990-03-03\",\"address_id\":\"A3\","
		   "\"household_id\":\"H3\",\"flags\":[]}\n");
	write_file(dir, "cases.jsonl",
		   "{\"id\":\"C1\",\"resident_id\":\"R1\",\"dept\":\"D1\",\"kind\":\"certificate\",\"assigned_to\":\"S1\","
		   "\"opened\":\"2026-04-01T09:00:00+09:00\",\"closed\":null}\n"
		   "{\"id\":\"C3\",\"resident_id\":\"R3\",\"dept\":\"D1\",\"kind\":\"transfer_in\",\"assigned_to\":null,"
		   "\"opened\":\"2026-03-20T09:00:00+09:00\",\"closed\":\"2026-04-01T12:00:00+09:00\"}\n");
}

static int setup(void **state)
{
	struct fx *f = xcalloc(1, sizeof(*f));
	char path[128], err[256];
	struct import_opts o = {0};
	struct import_stats stats[8];
	struct diag d;
	size_t ns = 0;
	int r;

	snprintf(f->dir, sizeof(f->dir), "/tmp/mamori-alerts-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->data, sizeof(f->data), "%s/data", f->dir);
	snprintf(f->db, sizeof(f->db), "%s/t.db", f->dir);
	mkdir(f->data, 0700);
	write_registry(f->data);
	snprintf(path, sizeof(path), "%s/ledger", f->dir);
	mkdir(path, 0700);
	if (ledger_open(path, LEDGER_WRITE, &f->lg) < 0)
		return -1;
	if (store_open(f->db, true, &f->st, err, sizeof(err)) < 0 || store_migrate(f->st) < 0)
		return -1;
	diag_init(&d, 50);
	o.datadir = f->data;
	o.actor = "test";
	r = registry_import(f->st, f->lg, &o, &d, stats, &ns);
	if (r < 0)
		diag_print(&d, stderr);
	diag_release(&d);
	*state = f;
	return r;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	store_close(f->st);
	ledger_close(f->lg);
	if (strncmp(f->dir, "/tmp/mamori-alerts-", 19) == 0)
		fx_rm_tree(f->dir);
	free(f);
	return 0;
}

static void actor_set(struct actor *a, unsigned role, const char *dept)
{
	memset(a, 0, sizeof(*a));
	snprintf(a->name, sizeof(a->name), "user:%s", role_name(role));
	a->role = role;
	if (dept)
		snprintf(a->dept, sizeof(a->dept), "%s", dept);
}

static json_t *parse(const struct buf *b)
{
	json_t *j = json_loadb(b->data, b->len, 0, NULL);
	assert_non_null(j);
	return j;
}

/* Records of kind in the ledger from index from. */
static size_t count_kind(struct ledger *lg, uint64_t from, const char *kind)
{
	struct buf rec;
	size_t n = 0;
	buf_init(&rec, LEDGER_BODY_MAX * 2);
	for (uint64_t i = from; i < ledger_size(lg); i++) {
		json_t *j;
		assert_int_equal(ledger_read(lg, i, &rec), 0);
		j = json_loadb(rec.data, rec.len, 0, NULL);
		assert_non_null(j);
		n += strcmp(json_string_value(json_object_get(j, "kind")), kind) == 0;
		json_decref(j);
	}
	buf_release(&rec);
	return n;
}

static json_t *list(struct fx *f, const struct actor *who, const struct alert_filter *fl)
{
	struct buf b;
	json_t *j;
	buf_init(&b, 1 << 24);
	assert_int_equal(alerts_list_json(f->st, who, fl, &b), 0);
	j = parse(&b);
	buf_release(&b);
	return j;
}

static struct alert_filter nofilter(void)
{
	struct alert_filter fl = {0};
	fl.from = fl.to = DAY_NONE;
	return fl;
}

/* ---- status names ---- */

static void test_status_names(void **state)
{
	enum alert_status s;
	(void)state;
	for (int i = 0; i < AS__COUNT; i++) {
		assert_int_equal(alert_status_parse(alert_status_name((enum alert_status)i), &s), 0);
		assert_int_equal(s, i);
	}
	assert_int_equal(alert_status_parse("closed", &s), ERR_INVALID);
	assert_int_equal(alert_status_parse("", &s), ERR_INVALID);
	assert_int_equal(alert_status_parse("Open", &s), ERR_INVALID);
	assert_null(alert_status_name(AS__COUNT));
}

/* ---- grouping and merging ---- */

static void test_batch_grouping(void **state)
{
	struct alert_batch *b = alert_batch_new();
	struct alert_event e1 = {10, "a", 1000}, e2 = {11, "b", 1001};
	int32_t d = days_from_civil(2026, 4, 2);
	(void)state;

	assert_int_equal(alert_batch_add(b, WR_UNEXPLAINED, "S1", "山田", "D1", d, &e1, 1, NULL, NULL), 0);
	assert_int_equal(alert_batch_add(b, WR_UNEXPLAINED, "S1", "山田", "D1", d, &e2, 1, NULL, NULL), 0);
	assert_int_equal(alert_batch_count(b), 1); /* same person, rule, day */
	assert_int_equal(alert_batch_add(b, WR_UNEXPLAINED, "S1", "山田", "D1", d + 1, &e1, 1, NULL, NULL), 0);
	assert_int_equal(alert_batch_count(b), 2); /* another day */
	assert_int_equal(alert_batch_add(b, WR_DV, "S1", "山田", "D1", d, &e1, 1, NULL, NULL), 0);
	assert_int_equal(alert_batch_count(b), 3); /* another rule */
	assert_int_equal(alert_batch_add(b, WR_DV, "S2", NULL, NULL, d, &e1, 1, NULL, NULL), 0);
	assert_int_equal(alert_batch_count(b), 4); /* another person */
	assert_int_equal(alert_batch_add(b, WR__COUNT, "S1", "x", "D1", d, &e1, 1, NULL, NULL), ERR_INVALID);
	assert_int_equal(alert_batch_add(b, -1, "S1", "x", "D1", d, &e1, 1, NULL, NULL), ERR_INVALID);
	assert_int_equal(alert_batch_add(b, WR_DV, "S1", "x", "D1", DAY_NONE, &e1, 1, NULL, NULL), ERR_INVALID);
	assert_int_equal(alert_batch_count(b), 4);
	alert_batch_clear(b);
	assert_int_equal(alert_batch_count(b), 0);
	alert_batch_free(b);
	alert_batch_free(NULL);
}

static void test_commit_idempotent(void **state)
{
	struct fx *f = *state;
	struct alert_batch *b = alert_batch_new();
	struct alert_event e1 = {100, "E1", 0}, e2 = {101, "E2", 0}, e3 = {102, "", 0};
	struct alerts_commit_stats cs;
	struct watch_position pos = {103, 100, DAY_NONE}, got;
	struct actor admin;
	int32_t d = days_from_civil(2026, 4, 2);
	uint64_t l0 = ledger_size(f->lg);
	json_t *j, *a;

	e1.ts = day_jst_midnight(d) + 10 * 3600;
	e2.ts = e1.ts + 60;
	e3.ts = e1.ts + 120;
	actor_set(&admin, ROLE_ADMIN, NULL);
	/* Nothing stored yet: the position is zero. */
	assert_int_equal(watch_position_load(f->st, &got), 0);
	assert_int_equal(got.next, 0);

	assert_int_equal(alert_batch_add(b, WR_UNEXPLAINED, "S2", "鈴木 花子", "D2", d, &e1, 1, NULL, NULL), 0);
	assert_int_equal(alert_batch_add(b, WR_UNEXPLAINED, "S2", "鈴木 花子", "D2", d, &e1, 1, NULL, NULL), 0);
	assert_int_equal(alert_batch_add(b, WR_DV, "S1", "山田 太郎", "D1", d, &e2, 1, NULL, NULL), 0);
	assert_int_equal(alerts_commit(f->st, f->lg, "system:watch", b, &pos, &cs), 0);
	assert_int_equal(cs.created, 2);
	assert_int_equal(cs.grown, 0);
	assert_int_equal(cs.events_added, 2); /* the repeated event counts once */
	assert_int_equal(alert_batch_count(b), 0);
	assert_int_equal(ledger_size(f->lg), l0 + 2);
	assert_int_equal(count_kind(f->lg, l0, "alert"), 2);
	assert_int_equal(watch_position_load(f->st, &got), 0);
	assert_int_equal(got.next, 103);
	assert_int_equal(got.day_start, 100);
	assert_int_equal(got.closed_day, DAY_NONE);

	/* The same contributions again (a replay): nothing changes. */
	assert_int_equal(alert_batch_add(b, WR_UNEXPLAINED, "S2", "鈴木 花子", "D2", d, &e1, 1, NULL, NULL), 0);
	assert_int_equal(alert_batch_add(b, WR_DV, "S1", "山田 太郎", "D1", d, &e2, 1, NULL, NULL), 0);
	assert_int_equal(alerts_commit(f->st, f->lg, "system:watch", b, NULL, &cs), 0);
	assert_int_equal(cs.created, 0);
	assert_int_equal(cs.grown, 0);
	assert_int_equal(ledger_size(f->lg), l0 + 2);

	/* A new event of the same person, rule and day grows the alert. */
	assert_int_equal(alert_batch_add(b, WR_UNEXPLAINED, "S2", "鈴木 花子", "D2", d, &e3, 1, NULL, NULL), 0);
	assert_int_equal(alert_batch_add(b, WR_UNEXPLAINED, "S2", "鈴木 花子", "D2", d, &e1, 1, NULL, NULL), 0);
	assert_int_equal(alerts_commit(f->st, f->lg, "system:watch", b, NULL, &cs), 0);
	assert_int_equal(cs.created, 0);
	assert_int_equal(cs.grown, 1);
	assert_int_equal(cs.events_added, 1);
	assert_int_equal(ledger_size(f->lg), l0 + 3);

	{
		struct alert_filter fl = nofilter();
		fl.rule = "W-UNEXPLAINED";
		j = list(f, &admin, &fl);
		assert_int_equal(json_integer_value(json_object_get(j, "total")), 1);
		a = json_array_get(json_object_get(j, "alerts"), 0);
		assert_int_equal(json_integer_value(json_object_get(a, "nevents")), 2);
		assert_string_equal(json_string_value(json_object_get(a, "status")), "open");
		assert_string_equal(json_string_value(json_object_get(a, "dept")), "D2");
		assert_string_equal(json_string_value(json_object_get(a, "day")), "2026-04-02");
		assert_string_equal(json_string_value(json_object_get(a, "first_ts")), "2026-04-02T10:00:00+09:00");
		assert_string_equal(json_string_value(json_object_get(a, "last_ts")), "2026-04-02T10:02:00+09:00");
		/* Plain sentences in both languages, with the count. */
		assert_non_null(strstr(json_string_value(json_object_get(a, "ja")), "2 件"));
		assert_non_null(strstr(json_string_value(json_object_get(a, "en")), "2 events"));
		json_decref(j);
	}
	alert_batch_free(b);
}

/* Two alerts in D1 and D2 on two days, for the listing tests. */
static void seed_alerts(struct fx *f)
{
	struct alert_batch *b = alert_batch_new();
	struct alert_event e = {0, "", 0};
	int32_t d = days_from_civil(2026, 4, 2);

	e.index = 500;
	e.ts = day_jst_midnight(d) + 36000;
	assert_int_equal(alert_batch_add(b, WR_UNEXPLAINED, "S2", "鈴木 花子", "D2", d, &e, 1, NULL, NULL), 0);
	e.index = 501;
	e.ts = day_jst_midnight(d + 1) + 36000;
	assert_int_equal(alert_batch_add(b, WR_DV, "S1", "山田 太郎", "D1", d + 1, &e, 1, NULL, NULL), 0);
	e.index = 502;
	assert_int_equal(alert_batch_add(b, WR_NOT_EMPLOYED, "X9", NULL, NULL, d + 1, &e, 1, NULL, NULL), 0);
	assert_int_equal(alerts_commit(f->st, f->lg, "system:watch", b, NULL, NULL), 0);
	alert_batch_free(b);
}

static int64_t id_of(json_t *list_json, size_t i)
{
	return json_integer_value(json_object_get(json_array_get(json_object_get(list_json, "alerts"), i), "id"));
}

static void test_list_filters_and_roles(void **state)
{
	struct fx *f = *state;
	struct actor admin, mgr, aud, pers;
	struct alert_filter fl = nofilter();
	struct buf b;
	json_t *j;

	seed_alerts(f);
	actor_set(&admin, ROLE_ADMIN, NULL);
	actor_set(&mgr, ROLE_DEPT_MANAGER, "D1");
	actor_set(&aud, ROLE_AUDITOR, NULL);
	actor_set(&pers, ROLE_PERSONNEL, NULL);

	j = list(f, &admin, &fl);
	assert_int_equal(json_integer_value(json_object_get(j, "total")), 3);
	/* Newest day first. */
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(j, "alerts"), 2), "day")),
			    "2026-04-02");
	json_decref(j);
	j = list(f, &aud, &fl);
	assert_int_equal(json_integer_value(json_object_get(j, "total")), 3);
	json_decref(j);

	/* A department manager sees the own department only (not the
	 * organisation-wide alert of an unknown id either). */
	j = list(f, &mgr, &fl);
	assert_int_equal(json_integer_value(json_object_get(j, "total")), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(j, "alerts"), 0), "dept")),
			    "D1");
	json_decref(j);
	fl.dept = "D2";
	buf_init(&b, 1 << 20);
	assert_int_equal(alerts_list_json(f->st, &mgr, &fl, &b), ERR_FORBIDDEN);
	assert_int_equal(alerts_list_json(f->st, &pers, &fl, &b), ERR_FORBIDDEN);
	buf_release(&b);
	j = list(f, &admin, &fl);
	assert_int_equal(json_integer_value(json_object_get(j, "total")), 1);
	json_decref(j);

	fl = nofilter();
	fl.severity = "critical";
	j = list(f, &admin, &fl);
	assert_int_equal(json_integer_value(json_object_get(j, "total")), 2);
	json_decref(j);
	fl = nofilter();
	fl.staff = "S1";
	j = list(f, &admin, &fl);
	assert_int_equal(json_integer_value(json_object_get(j, "total")), 1);
	json_decref(j);
	/* Dates: both ends inclusive. */
	fl = nofilter();
	fl.from = fl.to = days_from_civil(2026, 4, 2);
	j = list(f, &admin, &fl);
	assert_int_equal(json_integer_value(json_object_get(j, "total")), 1);
	json_decref(j);
	fl.from = days_from_civil(2026, 4, 3);
	fl.to = DAY_NONE;
	j = list(f, &admin, &fl);
	assert_int_equal(json_integer_value(json_object_get(j, "total")), 2);
	json_decref(j);
	fl.from = days_from_civil(2026, 4, 4);
	j = list(f, &admin, &fl);
	assert_int_equal(json_integer_value(json_object_get(j, "total")), 0);
	json_decref(j);
	/* Pages. */
	fl = nofilter();
	fl.per_page = 2;
	fl.page = 2;
	j = list(f, &admin, &fl);
	assert_int_equal(json_integer_value(json_object_get(j, "total")), 3);
	assert_int_equal(json_array_size(json_object_get(j, "alerts")), 1);
	json_decref(j);
	fl.page = 3;
	j = list(f, &admin, &fl);
	assert_int_equal(json_array_size(json_object_get(j, "alerts")), 0);
	json_decref(j);
	fl.status = "confirmed";
	fl.page = 1;
	j = list(f, &admin, &fl);
	assert_int_equal(json_integer_value(json_object_get(j, "total")), 0);
	json_decref(j);
}

static void test_get_and_triage(void **state)
{
	struct fx *f = *state;
	struct actor admin, mgr1, mgr2, aud, csirt;
	struct alert_filter fl = nofilter();
	struct buf b;
	char longr[ALERT_REASON_MAX + 2];
	int64_t id_d1, id_d2, id_org;
	uint64_t l0, idx = 0;
	json_t *j, *a;

	seed_alerts(f);
	actor_set(&admin, ROLE_ADMIN, NULL);
	actor_set(&csirt, ROLE_CSIRT, NULL);
	actor_set(&mgr1, ROLE_DEPT_MANAGER, "D1");
	actor_set(&mgr2, ROLE_DEPT_MANAGER, "D2");
	actor_set(&aud, ROLE_AUDITOR, NULL);
	fl.dept = "D1";
	j = list(f, &admin, &fl);
	id_d1 = id_of(j, 0);
	json_decref(j);
	fl.dept = "D2";
	j = list(f, &admin, &fl);
	id_d2 = id_of(j, 0);
	json_decref(j);
	fl.dept = NULL;
	fl.staff = "X9";
	j = list(f, &admin, &fl);
	id_org = id_of(j, 0);
	json_decref(j);

	buf_init(&b, 1 << 20);
	assert_int_equal(alerts_get_json(f->st, &mgr1, id_d1, &b), 0);
	j = parse(&b);
	assert_int_equal(json_array_size(json_object_get(j, "events")), 1);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(json_object_get(j, "events"), 0), "index")), 501);
	assert_int_equal(json_array_size(json_object_get(j, "history")), 0);
	json_decref(j);
	buf_reset(&b);
	assert_int_equal(alerts_get_json(f->st, &mgr1, id_d2, &b), ERR_FORBIDDEN);
	assert_int_equal(alerts_get_json(f->st, &mgr1, id_org, &b), ERR_FORBIDDEN);
	assert_int_equal(alerts_get_json(f->st, &admin, 99999, &b), ERR_NOT_FOUND);

	l0 = ledger_size(f->lg);
	/* A false positive needs a reason; blanks and control characters
	 * are not one; nor is a reason too long. */
	assert_int_equal(alerts_triage(f->st, f->lg, &csirt, id_d2, AS_FALSE_POSITIVE, NULL, NULL), ERR_INVALID);
	assert_int_equal(alerts_triage(f->st, f->lg, &csirt, id_d2, AS_FALSE_POSITIVE, " \n", NULL), ERR_INVALID);
	assert_int_equal(alerts_triage(f->st, f->lg, &csirt, id_d2, AS_CONFIRMED, "a\x01", NULL), ERR_INVALID);
	assert_int_equal(alerts_triage(f->st, f->lg, &csirt, id_d2, AS_CONFIRMED, "bad \xff utf-8", NULL), ERR_INVALID);
	memset(longr, 'x', sizeof(longr) - 1);
	longr[sizeof(longr) - 1] = '\0';
	assert_int_equal(alerts_triage(f->st, f->lg, &csirt, id_d2, AS_CONFIRMED, longr, NULL), ERR_INVALID);
	longr[ALERT_REASON_MAX] = '\0';
	/* Who may. */
	assert_int_equal(alerts_triage(f->st, f->lg, &aud, id_d2, AS_CONFIRMED, "x", NULL), ERR_FORBIDDEN);
	assert_int_equal(alerts_triage(f->st, f->lg, &mgr1, id_d2, AS_CONFIRMED, "x", NULL), ERR_FORBIDDEN);
	assert_int_equal(alerts_triage(f->st, f->lg, &mgr1, id_org, AS_CONFIRMED, "x", NULL), ERR_FORBIDDEN);
	assert_int_equal(alerts_triage(f->st, f->lg, &admin, 99999, AS_CONFIRMED, "x", NULL), ERR_NOT_FOUND);
	assert_int_equal(alerts_triage(f->st, f->lg, &admin, id_d2, AS_OPEN, NULL, NULL), ERR_CONFLICT);
	assert_int_equal(ledger_size(f->lg), l0); /* refusals write nothing */

	assert_int_equal(alerts_triage(f->st, f->lg, &csirt, id_d2, AS_FALSE_POSITIVE, "同僚の代行（課長に確認）", &idx), 0);
	assert_int_equal(idx, l0);
	assert_int_equal(alerts_triage(f->st, f->lg, &mgr2, id_d2, AS_ESCALATED, longr, NULL), 0);
	assert_int_equal(alerts_triage(f->st, f->lg, &mgr1, id_d1, AS_CONFIRMED, NULL, NULL), 0);
	assert_int_equal(alerts_triage(f->st, f->lg, &admin, id_org, AS_CONFIRMED, "", NULL), 0);
	assert_int_equal(alerts_triage(f->st, f->lg, &admin, id_d2, AS_ESCALATED, NULL, NULL), ERR_CONFLICT);
	assert_int_equal(count_kind(f->lg, l0, "alert_triage"), 4);

	/* The ledger record names the alert, the steps and the actor. */
	{
		struct buf rec;
		buf_init(&rec, LEDGER_BODY_MAX * 2);
		assert_int_equal(ledger_read(f->lg, l0, &rec), 0);
		j = parse(&rec);
		assert_string_equal(json_string_value(json_object_get(j, "kind")), "alert_triage");
		assert_string_equal(json_string_value(json_object_get(j, "actor")), "user:csirt");
		a = json_object_get(j, "body");
		assert_int_equal(json_integer_value(json_object_get(a, "id")), id_d2);
		assert_string_equal(json_string_value(json_object_get(a, "from")), "open");
		assert_string_equal(json_string_value(json_object_get(a, "to")), "false_positive");
		assert_string_equal(json_string_value(json_object_get(a, "reason")), "同僚の代行（課長に確認）");
		json_decref(j);
		buf_release(&rec);
	}
	buf_reset(&b);
	assert_int_equal(alerts_get_json(f->st, &admin, id_d2, &b), 0);
	j = parse(&b);
	assert_string_equal(json_string_value(json_object_get(j, "status")), "escalated");
	a = json_object_get(j, "history");
	assert_int_equal(json_array_size(a), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(a, 0), "to")), "false_positive");
	assert_string_equal(json_string_value(json_object_get(json_array_get(a, 1), "from")), "false_positive");
	assert_string_equal(json_string_value(json_object_get(json_array_get(a, 1), "actor")), "user:dept_manager");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(a, 0), "ledger_index")), (json_int_t)l0);
	json_decref(j);
	buf_release(&b);
}

/* ---- ledger records as events ---- */

/* watch_record_event on a copy of text (it may write into the record):
 * the copy lives in buf until the next call with the same buf. */
static int rec_event(char *buf, size_t cap, const char *text, char kind[33],
		     struct watch_event *ev, void **hold)
{
	size_t n = strlen(text);
	assert_true(n < cap);
	memcpy(buf, text, n + 1);
	return watch_record_event(buf, n, kind, ev, hold);
}

static void test_record_event(void **state)
{
	struct watch_event ev;
	char kind[33], buf[1024];
	void *hold = NULL;
	const char *acc = "{\"v\":1,\"index\":7,\"ts\":\"2026-04-02T10:00:01+09:00\",\"kind\":\"access\",\"actor\":\"k\","
			  "\"body\":{\"action\":\"view\",\"ref\":\"E1\",\"resident_id\":\"R1\",\"staff_id\":\"S1\","
			  "\"system\":\"juki\",\"ts\":\"2026-04-02T10:00:00+09:00\",\"zone\":\"mynumber\",\"result\":\"denied\"}}";
	const char *dec = "{\"v\":1,\"index\":8,\"ts\":\"2026-04-02T10:00:01+09:00\",\"kind\":\"decision\",\"actor\":\"k\","
			  "\"body\":{\"decision\":\"deny\",\"request\":{\"action\":\"export\",\"resident_id\":\"R2\","
			  "\"staff_id\":\"S2\",\"ts\":\"2026-04-02T11:00:00+09:00\",\"case_id\":null}}}";
	const char *other = "{\"v\":1,\"index\":9,\"ts\":\"2026-04-02T10:00:01+09:00\",\"kind\":\"reload\",\"actor\":\"k\","
			    "\"body\":{}}";
	const char *bad = "{\"v\":1,\"index\":9,\"ts\":\"x\",\"kind\":\"access\",\"actor\":\"k\","
			  "\"body\":{\"action\":\"peek\",\"staff_id\":\"S1\",\"ts\":\"2026-04-02T10:00:00+09:00\"}}";
	(void)state;

	assert_int_equal(rec_event(buf, sizeof(buf), acc, kind, &ev, &hold), 1);
	assert_string_equal(kind, "access");
	assert_string_equal(ev.staff_id, "S1");
	assert_string_equal(ev.ref, "E1");
	assert_int_equal(ev.action, WA_VIEW);
	assert_true(ev.denied);
	assert_int_equal(ev.ts, day_jst_midnight(days_from_civil(2026, 4, 2)) + 36000);
	json_decref(hold);
	assert_int_equal(rec_event(buf, sizeof(buf), dec, kind, &ev, &hold), 1);
	assert_string_equal(kind, "decision");
	assert_string_equal(ev.staff_id, "S2");
	assert_null(ev.ref);
	assert_null(ev.case_id);
	assert_int_equal(ev.action, WA_EXPORT);
	assert_true(ev.denied);
	json_decref(hold);
	assert_int_equal(rec_event(buf, sizeof(buf), other, kind, &ev, &hold), 0);
	assert_string_equal(kind, "reload");
	json_decref(hold);
	assert_int_equal(rec_event(buf, sizeof(buf), bad, kind, &ev, &hold), ERR_INVALID);
	json_decref(hold);
	assert_int_equal(rec_event(buf, sizeof(buf), "{", kind, &ev, &hold), ERR_INVALID);
	json_decref(hold);
}

static bool str_eq(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

static bool ev_eq(const struct watch_event *a, const struct watch_event *b)
{
	return a->ts == b->ts && a->action == b->action && a->denied == b->denied &&
	       str_eq(a->staff_id, b->staff_id) && str_eq(a->resident_id, b->resident_id) &&
	       str_eq(a->case_id, b->case_id) && str_eq(a->query, b->query) && str_eq(a->ref, b->ref);
}

/*
 * The fast path of watch_record_event (the access line scanner) gives what
 * the whole record parsed by jansson gives: on access records of every
 * shape the ingester writes (escapes, Japanese text, nulls, numbers,
 * another result, a decision), and on 3,000 of them changed one byte at a
 * time. Inside the body the two agree on every outcome; anywhere in the
 * record, whatever the tree reads as an event, the fast path reads the
 * same.
 */
static void test_record_event_fast_path(void **state)
{
	static const char *const recs[] = {
	    "{\"v\":1,\"index\":3,\"ts\":\"2026-04-02T10:00:01+09:00\",\"kind\":\"access\",\"actor\":\"k\","
	    "\"body\":{\"action\":\"search\",\"query\":\"山口\",\"ref\":\"E3\",\"resident_id\":null,"
	    "\"result\":\"ok\",\"staff_id\":\"S00044\",\"system\":\"juki\",\"terminal\":\"T1\","
	    "\"ts\":\"2026-04-01T08:45:01+09:00\",\"zone\":\"mynumber\"}}",
	    "{\"v\":1,\"index\":4,\"ts\":\"2026-04-02T10:00:01+09:00\",\"kind\":\"access\",\"actor\":\"k\","
	    "\"body\":{\"action\":\"view\",\"case_id\":\"C000000835\",\"n\":12.5,\"ok\":true,"
	    "\"ref\":\"E4\",\"resident_id\":\"R0066260\",\"result\":\"ok\",\"staff_id\":\"S00054\","
	    "\"ts\":\"2026-04-01T08:45:08Z\"}}",
	    "{\"v\":1,\"index\":5,\"ts\":\"2026-04-02T10:00:01+09:00\",\"kind\":\"access\",\"actor\":\"k\","
	    "\"body\":{\"action\":\"print\",\"ref\":\"E\\u00e95\\\"q\",\"resident_id\":\"R1\","
	    "\"staff_id\":\"S1\",\"ts\":\"2026-04-01T08:45:08+09:00\"}}",
	    "{\"v\":1,\"index\":6,\"ts\":\"2026-04-02T10:00:01+09:00\",\"kind\":\"access\",\"actor\":\"k\","
	    "\"body\":{\"action\":\"export\",\"ref\":\"E6\",\"resident_id\":\"R1\",\"result\":\"timeout\","
	    "\"staff_id\":\"S1\",\"ts\":\"2026-04-01T23:59:59-01:00\"}}",
	    "{\"v\":1,\"index\":7,\"ts\":\"2026-04-02T10:00:01+09:00\",\"kind\":\"decision\",\"actor\":\"k\","
	    "\"body\":{\"decision\":\"allow\",\"request\":{\"action\":\"view\",\"resident_id\":\"R2\","
	    "\"staff_id\":\"S2\",\"ts\":\"2026-04-02T11:00:00+09:00\"}}}",
	};
	static const char bytes[] = {'"', '\\', '}', '{', ',', ':', ' ', 'x', '0', 'n', '\x01', '\xe3',
				     '\x80', '\xff', 'u'};
	char kind_a[33], kind_b[33], a[1024], b[1024];
	uint64_t seed = 0x9E3779B97F4A7C15ULL;
	int agreed = 0;
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(recs); i++) {
		for (int round = 0; round < 601; round++) {
			struct watch_event ea, eb;
			void *ha = NULL, *hb = NULL;
			size_t n = strlen(recs[i]), body, at = 0;
			bool in_body;
			int ra, rb;

			memcpy(a, recs[i], n + 1);
			body = (size_t)(strstr(a, ",\"body\":") - a) + 8;
			if (round > 0) {
				seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
				at = (size_t)(seed % n);
				a[at] = bytes[(seed >> 32) % sizeof(bytes)];
			}
			in_body = round == 0 || (at >= body && at < n - 1);
			memcpy(b, a, n + 1);
			ra = watch_record_event_tree(a, n, kind_a, &ea, &ha);
			rb = watch_record_event(b, n, kind_b, &eb, &hb);
			if (ra == 1) {
				assert_int_equal(rb, 1);
				assert_string_equal(kind_a, kind_b);
				assert_true(ev_eq(&ea, &eb));
				agreed++;
			} else if (in_body) {
				assert_int_equal(ra, rb);
			}
			json_decref(ha);
			json_decref(hb);
		}
	}
	assert_true(agreed > 500);
}

/* ---- the watcher ---- */

static uint64_t append_access(struct ledger *lg, const char *staff, const char *res, const char *ts,
			      const char *action, const char *ref)
{
	char body[512];
	struct audit_rec rec = {"access", TS_NONE, "it", body, 0};
	uint64_t idx;
	rec.body_len = (size_t)snprintf(body, sizeof(body),
					"{\"action\":\"%s\",\"ref\":\"%s\",\"resident_id\":\"%s\",\"staff_id\":\"%s\","
					"\"system\":\"juki\",\"ts\":\"%s\",\"zone\":\"mynumber\"}",
					action, ref, res, staff, ts);
	assert_int_equal(ledger_append(lg, &rec, &idx), 0);
	return idx;
}

static int64_t now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Wait until the watcher has read the whole ledger (10 s at most). */
static void caught_up(struct watch_stream *ws, struct ledger *lg)
{
	struct watch_stream_stats s;
	int64_t until = now_ms() + 10000;
	for (;;) {
		uint64_t size = ledger_size(lg);
		watch_stream_get_stats(ws, &s);
		/* Its own alert records are appended by the round that read the
		 * events: once it has read past them too, it is idle. */
		if (s.next >= size && size == ledger_size(lg))
			break;
		assert_true(now_ms() < until);
		usleep(5000);
	}
}

static json_int_t total_of(struct fx *f, const char *rule)
{
	struct actor admin;
	struct alert_filter fl = nofilter();
	json_t *j;
	json_int_t n;
	actor_set(&admin, ROLE_ADMIN, NULL);
	fl.rule = rule;
	j = list(f, &admin, &fl);
	n = json_integer_value(json_object_get(j, "total"));
	json_decref(j);
	return n;
}

static json_int_t nevents_of(struct fx *f, const char *rule, const char *staff)
{
	struct actor admin;
	struct alert_filter fl = nofilter();
	json_t *j;
	json_int_t n;
	actor_set(&admin, ROLE_ADMIN, NULL);
	fl.rule = rule;
	fl.staff = staff;
	j = list(f, &admin, &fl);
	n = json_integer_value(json_object_get(json_array_get(json_object_get(j, "alerts"), 0), "nevents"));
	json_decref(j);
	return n;
}

static struct watch_stream *stream_start_idle(struct fx *f, unsigned idle_ms)
{
	struct watch_stream_opts o = {0};
	struct watch_stream *ws = NULL;
	o.ledger = f->lg;
	o.db_path = f->db;
	o.actor = "system:watch";
	o.poll_ms = 10;
	o.idle_close_ms = idle_ms;
	assert_int_equal(watch_stream_start(&o, &ws), 0);
	return ws;
}

static struct watch_stream *stream_start(struct fx *f)
{
	struct watch_stream_opts o = {0};
	struct watch_stream *ws = NULL;
	o.ledger = f->lg;
	o.db_path = f->db;
	o.actor = "system:watch";
	o.poll_ms = 10;
	assert_int_equal(watch_stream_start(&o, &ws), 0);
	return ws;
}

/* mamori explain replays the day of the access from the ledger, reading
 * only the records whose text may hold that day: an event of the same
 * JST day written with an offset that puts its own date two days
 * earlier (23:30 at -23:00 is 07:30 JST two days on) is still found. */
static void test_explain_far_offset(void **state)
{
	struct fx *f = *state;
	struct registry_data *rd = NULL;
	struct watch_tables *t = NULL;
	struct audit_rec rec = {"access", TS_NONE, "it", NULL, 0};
	struct buf out;
	const char *search = "{\"action\":\"search\",\"query\":\"佐藤\",\"ref\":\"Q1\",\"staff_id\":\"S1\","
			     "\"system\":\"juki\",\"ts\":\"2026-03-31T23:30:00-23:00\",\"zone\":\"mynumber\"}";

	rec.body = search;
	rec.body_len = strlen(search);
	append_access(f->lg, "S1", "R2", "2026-04-01T12:00:00+09:00", "view", "E-OTHER-DAY");
	assert_int_equal(ledger_append(f->lg, &rec, NULL), 0);
	append_access(f->lg, "S1", "R1", "2026-04-02T07:40:00+09:00", "view", "E-NS");
	i18n_set_thread(LANG_EN);
	assert_int_equal(registry_load(f->st, &rd), 0);
	assert_int_equal(watch_tables_build(rd, &t), 0);
	buf_init(&out, 1 << 20);
	assert_int_equal(watch_explain(t, NULL, f->lg, "E-NS", 0, &out), 0);
	assert_non_null(strstr(out.data, "last search '佐藤' at 2026-04-02T07:30:00+09:00"));
	i18n_clear_thread();
	buf_release(&out);
	watch_tables_free(t);
	registry_data_free(rd);
}

static void test_stream_restart_late_decision(void **state)
{
	struct fx *f = *state;
	struct watch_stream *ws = stream_start(f);
	uint64_t size, l_dv;

	/* Explained (own case), unexplained (other department), DV, and
	 * after the end of employment (explained by a department case). */
	append_access(f->lg, "S1", "R1", "2026-04-02T10:00:00+09:00", "view", "E1");
	append_access(f->lg, "S2", "R1", "2026-04-02T10:05:00+09:00", "view", "E2");
	l_dv = append_access(f->lg, "S1", "R2", "2026-04-02T10:10:00+09:00", "view", "E3");
	append_access(f->lg, "S3", "R1", "2026-04-02T11:00:00+09:00", "view", "E4");
	watch_stream_kick(ws);
	caught_up(ws, f->lg);
	assert_int_equal(total_of(f, NULL), 3);
	assert_int_equal(total_of(f, "W-UNEXPLAINED"), 1);
	assert_int_equal(total_of(f, "W-DV-SUPPORT"), 1);
	assert_int_equal(total_of(f, "W-AFTER-END"), 1);
	assert_int_equal(count_kind(f->lg, 0, "alert"), 3);

	/* The explanation of an explained and of an unexplained access. */
	{
		struct registry_data *rd = NULL;
		struct watch_tables *t = NULL;
		struct buf out;
		i18n_set_thread(LANG_EN);
		assert_int_equal(registry_load(f->st, &rd), 0);
		assert_int_equal(watch_tables_build(rd, &t), 0);
		buf_init(&out, 1 << 20);
		assert_int_equal(watch_explain(t, NULL, f->lg, "E1", 0, &out), 0);
		assert_non_null(strstr(out.data, "result: explained - assigned (case C1)"));
		assert_non_null(strstr(out.data, "rules: none fired"));
		buf_reset(&out);
		assert_int_equal(watch_explain(t, NULL, f->lg, NULL, l_dv, &out), 0);
		assert_non_null(strstr(out.data, "result: NOT explained"));
		assert_non_null(strstr(out.data, "W-DV-SUPPORT"));
		buf_reset(&out);
		assert_int_equal(watch_explain(t, NULL, f->lg, "E4", 0, &out), 0);
		assert_non_null(strstr(out.data, "dept_open"));
		assert_non_null(strstr(out.data, "W-AFTER-END"));
		buf_reset(&out);
		i18n_set_thread(LANG_JA);
		assert_int_equal(watch_explain(t, NULL, f->lg, "E2", 0, &out), 0);
		assert_non_null(strstr(out.data, "結果: 説明なし"));
		buf_reset(&out);
		assert_int_equal(watch_explain(t, NULL, f->lg, "NO-SUCH-REF", 0, &out), ERR_NOT_FOUND);
		assert_int_equal(watch_explain(t, NULL, f->lg, NULL, 0, &out), ERR_INVALID); /* an import record */
		assert_int_equal(watch_explain(t, NULL, f->lg, NULL, 1u << 30, &out), ERR_NOT_FOUND);
		i18n_clear_thread();
		buf_release(&out);
		watch_tables_free(t);
		registry_data_free(rd);
	}

	/* A restart replays the open day without alerting again. */
	watch_stream_stop(ws);
	size = ledger_size(f->lg);
	ws = stream_start(f);
	usleep(100000);
	caught_up(ws, f->lg);
	assert_int_equal(ledger_size(f->lg), size);
	assert_int_equal(total_of(f, NULL), 3);
	/* ... and goes on from where it was. */
	append_access(f->lg, "S2", "R3", "2026-04-02T12:00:00+09:00", "view", "E5"); /* no dept case */
	caught_up(ws, f->lg);
	assert_int_equal(total_of(f, "W-UNEXPLAINED"), 1);
	assert_int_equal(nevents_of(f, "W-UNEXPLAINED", "S2"), 2);
	assert_int_equal(count_kind(f->lg, size, "alert"), 1); /* op "events" */

	/* A later day, then a late event of the earlier day. */
	append_access(f->lg, "S2", "R1", "2026-04-03T10:00:00+09:00", "view", "E6");
	caught_up(ws, f->lg);
	append_access(f->lg, "S2", "R2", "2026-04-02T15:00:00+09:00", "view", "E7");
	caught_up(ws, f->lg);
	assert_int_equal(total_of(f, "W-UNEXPLAINED"), 2);
	assert_int_equal(total_of(f, "W-DV-SUPPORT"), 2);
	{
		struct watch_stream_stats s;
		watch_stream_get_stats(ws, &s);
		assert_true(s.late_events >= 1);
	}
	/* A decision counts as an access. */
	{
		const char *body = "{\"decision\":\"allow\",\"request\":{\"action\":\"view\",\"resident_id\":\"R2\","
				   "\"staff_id\":\"S1\",\"ts\":\"2026-04-03T11:00:00+09:00\"}}";
		struct audit_rec rec = {"decision", TS_NONE, "it", body, strlen(body)};
		assert_int_equal(ledger_append(f->lg, &rec, NULL), 0);
	}
	caught_up(ws, f->lg);
	assert_int_equal(total_of(f, "W-DV-SUPPORT"), 3);
	/* A malformed access record is skipped, not fatal. */
	{
		const char *body = "{\"action\":\"peek\",\"staff_id\":\"S1\"}";
		struct audit_rec rec = {"access", TS_NONE, "it", body, strlen(body)};
		assert_int_equal(ledger_append(f->lg, &rec, NULL), 0);
	}
	append_access(f->lg, "S2", "R3", "2026-04-03T12:00:00+09:00", "view", "E8");
	caught_up(ws, f->lg);
	assert_int_equal(nevents_of(f, "W-UNEXPLAINED", "S2"), 2); /* the 04-03 alert: E6, E8 */
	watch_stream_stop(ws);
	watch_stream_stop(NULL);
}

/* Peer rules need the day to close: by an event of a later day, or by a
 * quiet ledger once the day is over on the clock. */
static void test_stream_peer_rules_close(void **state)
{
	struct fx *f = *state;
	struct watch_stream *ws = stream_start_idle(f, 300);
	char ts[64], ref[32];
	int64_t t0;

	/* S1 exports eleven times while S2 and S3 export nothing: above
	 * max(10, 4 x median 0). The exports are explained (S1's own case):
	 * only the volume is at fault. */
	for (int i = 0; i < 11; i++) {
		snprintf(ts, sizeof(ts), "2026-04-06T10:%02d:00+09:00", i);
		snprintf(ref, sizeof(ref), "X%d", i);
		append_access(f->lg, "S1", "R1", ts, "export", ref);
	}
	append_access(f->lg, "S2", "R3", "2026-04-06T11:00:00+09:00", "view", "Y1");
	append_access(f->lg, "S3", "R1", "2026-04-06T11:00:00+09:00", "view", "Y2");
	caught_up(ws, f->lg);
	assert_int_equal(total_of(f, "W-EXPORT-VOLUME"), 0); /* the day is still open */
	t0 = now_ms();
	while (total_of(f, "W-EXPORT-VOLUME") == 0) {
		assert_true(now_ms() - t0 < 10000);
		usleep(20000);
	}
	assert_int_equal(nevents_of(f, "W-EXPORT-VOLUME", "S1"), 11);
	/* A later event of the closed day is judged on its own (late). */
	append_access(f->lg, "S2", "R2", "2026-04-06T15:00:00+09:00", "view", "Y3");
	caught_up(ws, f->lg);
	assert_int_equal(total_of(f, "W-DV-SUPPORT"), 1);
	{
		struct watch_stream_stats st;
		watch_stream_get_stats(ws, &st);
		assert_int_equal(st.late_events, 1);
	}
	watch_stream_stop(ws);

	/* The closed day is remembered across a restart: its events are
	 * still judged as late ones, not as a new open day. */
	ws = stream_start(f);
	append_access(f->lg, "S2", "R2", "2026-04-06T15:30:00+09:00", "view", "Y4");
	caught_up(ws, f->lg);
	assert_int_equal(total_of(f, "W-DV-SUPPORT"), 1); /* Y3 and Y4: one alert */
	assert_int_equal(nevents_of(f, "W-DV-SUPPORT", "S2"), 2);
	{
		struct watch_stream_stats st;
		watch_stream_get_stats(ws, &st);
		assert_int_equal(st.late_events, 1);
	}

	/* The same with a day closed by a later event, and no idle close. */
	for (int i = 0; i < 11; i++) {
		snprintf(ts, sizeof(ts), "2026-04-07T10:%02d:00+09:00", i);
		snprintf(ref, sizeof(ref), "Z%d", i);
		append_access(f->lg, "S1", "R1", ts, "export", ref);
	}
	append_access(f->lg, "S2", "R3", "2026-04-07T11:00:00+09:00", "view", "W1");
	append_access(f->lg, "S3", "R1", "2026-04-07T11:00:00+09:00", "view", "W2");
	caught_up(ws, f->lg);
	assert_int_equal(total_of(f, "W-EXPORT-VOLUME"), 1);
	append_access(f->lg, "S2", "R3", "2026-04-08T09:00:00+09:00", "view", "W3");
	caught_up(ws, f->lg);
	assert_int_equal(total_of(f, "W-EXPORT-VOLUME"), 2);
	watch_stream_stop(ws);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_status_names),
	    cmocka_unit_test(test_batch_grouping),
	    cmocka_unit_test(test_record_event),
	    cmocka_unit_test(test_record_event_fast_path),
	    cmocka_unit_test_setup_teardown(test_commit_idempotent, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_list_filters_and_roles, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_get_and_triage, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stream_restart_late_decision, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_explain_far_offset, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stream_peer_rules_close, setup, teardown),
	};
	i18n_init_from_env();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
