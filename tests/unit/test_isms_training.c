/* Unit tests for training and pledges (src/isms/training.c): who must
 * take which course, the overdue computation, the completions CSV import
 * and its effect on the registry's dates. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "isms_people_fx.h"

static int32_t D(const char *s)
{
	int32_t d = DAY_NONE;
	if (date_parse(s, strlen(s), &d) < 0)
		fail_msg("bad date %s", s);
	return d;
}

static const char *clerk[] = {"clerk"};
static const char *admin_roles[] = {"clerk", "sysadmin"};

static struct reg_staff mk(const char *id, const char *dept, enum employment e, const char **roles,
			   uint32_t nroles, const char *start, const char *end,
			   const char *training)
{
	struct reg_staff s;
	memset(&s, 0, sizeof(s));
	s.id = id;
	s.name = id;
	s.dept = dept;
	s.employment = e;
	s.roles.v = roles;
	s.roles.n = nroles;
	s.start = D(start);
	s.end = end ? D(end) : DAY_NONE;
	s.training = training ? D(training) : DAY_NONE;
	s.pledge = DAY_NONE;
	return s;
}

static void test_applies(void **state)
{
	struct reg_staff a = mk("A", "D01", EMP_REGULAR, clerk, 1, "2020-04-01", NULL, NULL);
	struct reg_staff b =
	    mk("B", "D02", EMP_TEMPORARY, admin_roles, 2, "2020-04-01", NULL, NULL);
	const char *sys[] = {"sysadmin"};
	struct tr_req all = {"C", 0, NULL, 0, NULL, 0};
	struct tr_req temps = {"C", (1u << EMP_TEMPORARY) | (1u << EMP_FISCAL_YEAR), NULL, 0, NULL,
			       0};
	struct tr_req admins = {"C", 0, sys, 1, NULL, 0};
	struct tr_req d01 = {"C", 0, NULL, 0, "D01", 0};
	struct tr_req d02_regular = {"C", 1u << EMP_REGULAR, NULL, 0, "D02", 0};
	(void)state;
	assert_true(training_req_applies(&all, &a));
	assert_true(training_req_applies(&all, &b));
	assert_false(training_req_applies(&temps, &a));
	assert_true(training_req_applies(&temps, &b));
	assert_false(training_req_applies(&admins, &a));
	assert_true(training_req_applies(&admins, &b));
	assert_true(training_req_applies(&d01, &a));
	assert_false(training_req_applies(&d01, &b));
	/* Every given criterion must hold. */
	assert_false(training_req_applies(&d02_regular, &a));
	assert_false(training_req_applies(&d02_regular, &b));
}

/* The edges of "overdue": due on the day is not overdue, the day after
 * is; validity 0 never expires; the registry date counts for the course
 * that stands for it; staff not employed on the day are left out. */
static void test_gaps(void **state)
{
	struct reg_staff staff[] = {
	    mk("A", "D01", EMP_REGULAR, clerk, 1, "2020-04-01", NULL, "2025-06-01"),
	    mk("B", "D01", EMP_FISCAL_YEAR, clerk, 1, "2026-05-31", NULL, NULL),
	    mk("C", "D02", EMP_REGULAR, clerk, 1, "2020-04-01", "2026-05-01", NULL),
	    mk("E", "D02", EMP_REGULAR, clerk, 1, "2026-07-01", NULL, NULL),
	};
	struct tr_course courses[] = {{"ANN", 365, TR_REG_TRAINING}, {"DAY1", 0, TR_REG_NONE}};
	struct tr_req reqs[] = {
	    {"ANN", 0, NULL, 0, NULL, 30},
	    {"DAY1", 1u << EMP_FISCAL_YEAR, NULL, 0, NULL, 0},
	    {"GONE", 0, NULL, 0, NULL, 0}, /* a course that does not exist: ignored */
	};
	struct tr_done done[] = {{"B", "DAY1", D("2026-05-31")}, {"A", "DAY1", D("2020-01-01")}};
	struct tr_gap *g = NULL;
	size_t n = 9;
	(void)state;

	/* 2026-06-01: A's training of 2025-06-01 is due 2026-06-01: not yet. */
	assert_int_equal(
	    training_gaps(staff, 4, courses, 2, reqs, 3, done, 2, D("2026-06-01"), NULL, &g, &n),
	    0);
	assert_int_equal(n, 0);
	free(g);
	/* 2026-06-02: A is overdue; B did day one on the first day. */
	assert_int_equal(
	    training_gaps(staff, 4, courses, 2, reqs, 3, done, 2, D("2026-06-02"), NULL, &g, &n),
	    0);
	assert_int_equal(n, 1);
	assert_int_equal(g[0].staff, 0);
	assert_int_equal(g[0].req, 0);
	assert_int_equal(g[0].state, TR_EXPIRED);
	assert_int_equal(g[0].last, D("2025-06-01"));
	assert_int_equal(g[0].due, D("2026-06-01"));
	free(g);
	/* Without B's day-one completion, B is missing it from 2026-06-01
	 * (start + 0 days = 2026-05-31). The completion of 2020 by A is not
	 * for A's requirements (A is regular). */
	assert_int_equal(training_gaps(staff, 4, courses, 2, reqs, 3, done + 1, 1, D("2026-05-31"),
				       NULL, &g, &n),
			 0);
	assert_int_equal(n, 0);
	free(g);
	assert_int_equal(training_gaps(staff, 4, courses, 2, reqs, 3, done + 1, 1, D("2026-06-01"),
				       NULL, &g, &n),
			 0);
	assert_int_equal(n, 1);
	assert_int_equal(g[0].staff, 1);
	assert_int_equal(g[0].req, 1);
	assert_int_equal(g[0].state, TR_MISSING);
	assert_int_equal(g[0].last, DAY_NONE);
	free(g);
	/* B's annual course is due 30 days after the start: 2026-06-30. */
	assert_int_equal(
	    training_gaps(staff, 4, courses, 2, reqs, 3, done, 2, D("2026-07-01"), "D01", &g, &n),
	    0);
	assert_int_equal(n, 2); /* A expired, B missing the annual course */
	assert_int_equal(g[1].staff, 1);
	assert_int_equal(g[1].state, TR_MISSING);
	assert_int_equal(g[1].due, D("2026-06-30"));
	free(g);
	/* D02: C left on 2026-05-01 and E starts on 2026-07-01 (due 07-31). */
	assert_int_equal(
	    training_gaps(staff, 4, courses, 2, reqs, 3, done, 2, D("2026-07-01"), "D02", &g, &n),
	    0);
	assert_int_equal(n, 0);
	free(g);
	/* A completion after the day asked does not count. */
	{
		struct tr_done later[] = {{"A", "ANN", D("2026-06-10")}};
		assert_int_equal(training_gaps(staff, 1, courses, 2, reqs, 1, later, 1,
					       D("2026-06-05"), NULL, &g, &n),
				 0);
		assert_int_equal(n, 1);
		free(g);
		assert_int_equal(training_gaps(staff, 1, courses, 2, reqs, 1, later, 1,
					       D("2026-06-10"), NULL, &g, &n),
				 0);
		assert_int_equal(n, 0);
		free(g);
	}
}

static void test_coverage(void **state)
{
	struct reg_staff staff[] = {
	    mk("A", "D01", EMP_REGULAR, clerk, 1, "2020-04-01", NULL, "2025-06-01"),
	    mk("B", "D01", EMP_REGULAR, clerk, 1, "2020-04-01", NULL, "2025-05-31"),
	    mk("C", "D01", EMP_REGULAR, clerk, 1, "2020-04-01", "2026-01-01", "2026-01-01"),
	};
	size_t active, trained, pledged;
	(void)state;
	staff[0].pledge = D("2026-06-01");
	staff[1].pledge = D("2026-06-02");
	training_coverage(staff, 3, D("2026-06-01"), 365, &active, &trained, &pledged);
	assert_int_equal(active, 2);
	assert_int_equal(trained, 1);
	assert_int_equal(pledged, 1);
}

/* ---- the workflows on a scratch store ---- */

struct ids {
	char annual[ISMS_ID_MAX], day1[ISMS_ID_MAX], pledge[ISMS_ID_MAX];
};

static void make_courses(struct fx *f, struct ids *ids)
{
	char rq[ISMS_ID_MAX], json[512];

	assert_int_equal(
	    fx_create(&f->c, &isms_kind_courses,
		      "{\"code\":\"SEC-ANNUAL\",\"title\":\"情報セキュリティ研修（年次）\","
		      "\"type\":\"annual\",\"delivery\":\"elearning\",\"validity_days\":365,"
		      "\"registry_date\":\"training\"}",
		      ids->annual),
	    0);
	assert_int_equal(
	    fx_create(&f->c, &isms_kind_courses,
		      "{\"code\":\"DAY1\",\"title\":\"任用初日研修\",\"type\":\"day_one\","
		      "\"delivery\":\"workplace\",\"validity_days\":0}",
		      ids->day1),
	    0);
	assert_int_equal(fx_create(&f->c, &isms_kind_courses,
				   "{\"code\":\"PLEDGE\",\"title\":\"誓約書\",\"type\":\"pledge\","
				   "\"validity_days\":0,\"registry_date\":\"pledge\"}",
				   ids->pledge),
			 0);
	/* Codes are unique: the completions CSV names courses by code. */
	assert_int_equal(
	    fx_create(&f->c, &isms_kind_courses,
		      "{\"code\":\"DAY1\",\"title\":\"x\",\"type\":\"role\",\"validity_days\":0}",
		      rq),
	    ERR_INVALID);
	snprintf(json, sizeof(json), "{\"course\":\"%s\",\"due_days\":30}", ids->annual);
	assert_int_equal(fx_create(&f->c, &isms_kind_training_requirements, json, rq), 0);
	snprintf(
	    json, sizeof(json),
	    "{\"course\":\"%s\",\"employment\":[\"fiscal_year\",\"temporary\"],\"due_days\":0}",
	    ids->day1);
	assert_int_equal(fx_create(&f->c, &isms_kind_training_requirements, json, rq), 0);
	/* A requirement with an employment type that does not exist. */
	snprintf(json, sizeof(json),
		 "{\"course\":\"%s\",\"employment\":[\"intern\"],\"due_days\":0}", ids->day1);
	assert_int_equal(fx_create(&f->c, &isms_kind_training_requirements, json, rq), ERR_INVALID);
}

static size_t count_state(json_t *ov, const char *staff, const char *state)
{
	size_t i, n = 0;
	json_t *it;
	json_array_foreach(
	    json_object_get(ov, "items"), i,
	    it) if (!strcmp(json_string_value(json_object_get(it, "staff_id")), staff) &&
		    !strcmp(json_string_value(json_object_get(it, "state")), state)) n++;
	return n;
}

static void test_overdue_and_dept(void **state)
{
	struct fx *f = *state;
	struct ids ids;
	struct isms_ctx dm1 = fx_as(f, &f->dm1), dm2 = fx_as(f, &f->dm2),
			aud = fx_as(f, &f->auditor);
	int32_t today = ts_jst_day(FX_NOW);
	json_t *ov = NULL;

	make_courses(f, &ids);
	assert_int_equal(isms_training_overdue(&f->c, today, NULL, &ov), 0);
	/* S001's training of 2025-01-10 expired; S002 (fiscal year, from
	 * 2026-05-25) has not had the day-one course; the annual course is due
	 * for S002 only on 2026-06-24. */
	assert_int_equal(json_integer_value(json_object_get(ov, "count")), 2);
	assert_int_equal(count_state(ov, "S001", "expired"), 1);
	assert_int_equal(count_state(ov, "S002", "missing"), 1);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(ov, "by_dept"), "D01")),
			 2);
	json_decref(ov);
	/* The auditor reads all; a department manager their department only. */
	assert_int_equal(isms_training_overdue(&aud, today, NULL, &ov), 0);
	assert_int_equal(json_integer_value(json_object_get(ov, "count")), 2);
	json_decref(ov);
	assert_int_equal(isms_training_overdue(&dm1, today, NULL, &ov), 0);
	assert_int_equal(json_integer_value(json_object_get(ov, "count")), 2);
	assert_string_equal(json_string_value(json_object_get(ov, "dept")), "D01");
	json_decref(ov);
	assert_int_equal(isms_training_overdue(&dm2, today, NULL, &ov), 0);
	assert_int_equal(json_integer_value(json_object_get(ov, "count")), 0);
	json_decref(ov);
	assert_int_equal(isms_training_overdue(&dm2, today, "D01", &ov), ERR_FORBIDDEN);
	assert_null(ov);
	assert_int_equal(isms_training_overdue(&f->c, today, "D02", &ov), 0);
	assert_int_equal(json_integer_value(json_object_get(ov, "count")), 0);
	json_decref(ov);
	/* A year on, S003 and S004 are out of date too. */
	assert_int_equal(isms_training_overdue(&f->c, today + 366, "D02", &ov), 0);
	assert_int_equal(json_integer_value(json_object_get(ov, "count")), 2);
	json_decref(ov);
}

static bool diag_has(const struct diag *d, long line, const char *field)
{
	for (size_t i = 0; i < d->n; i++)
		if (!d->items[i].warning && d->items[i].line == line && d->items[i].field &&
		    !strcmp(d->items[i].field, field) && d->items[i].file &&
		    !strcmp(d->items[i].file, "elearn.csv"))
			return true;
	return false;
}

static void test_import_errors(void **state)
{
	struct fx *f = *state;
	struct ids ids;
	struct diag d;
	size_t made = 9, upd = 9;
	uint64_t size0;
	char t[16];
	const char *bad = "staff_id,course,completed,score,ref,extra\n"
			  "S001,SEC-ANNUAL,2026-05-30,80,r1,x\n" /* line 2: fine */
			  "S999,SEC-ANNUAL,2026-05-30,,,\n"	 /* 3: unknown staff */
			  "S002,NOPE,2026-05-30,,,\n"		 /* 4: unknown course */
			  "S002,DAY1,2026-02-30,,,\n"		 /* 5: not a date */
			  "S002,DAY1,2026-06-02,,,\n"		 /* 6: in the future */
			  "S003,SEC-ANNUAL,2026-05-01,101,,\n"	 /* 7: score out of range */
			  "\n"
			  "S003,SEC-ANNUAL\n"			 /* 9: too few columns, no date */
			  "S003,SEC-ANNUAL,2026-05-01,,\xff,\n"; /* 10: ref not UTF-8 */

	make_courses(f, &ids);
	size0 = ledger_size(f->lg);
	diag_init(&d, 50);
	assert_int_equal(
	    isms_training_import(&f->c, bad, strlen(bad), "elearn.csv", &d, &made, &upd),
	    ERR_INVALID);
	assert_true(diag_has(&d, 3, "staff_id"));
	assert_true(diag_has(&d, 4, "course"));
	assert_true(diag_has(&d, 5, "completed"));
	assert_true(diag_has(&d, 6, "completed"));
	assert_true(diag_has(&d, 7, "score"));
	assert_true(diag_has(&d, 9, "completed"));
	assert_true(diag_has(&d, 10, "ref"));
	assert_false(diag_has(&d, 2, "staff_id"));
	assert_int_equal(d.warnings, 1); /* the unknown column "extra" */
	assert_int_equal(made, 0);
	/* Nothing was written: neither records nor the registry. */
	assert_int_equal(ledger_size(f->lg), size0);
	fx_staff_date(f, "S001", "training", t);
	assert_string_equal(t, "2025-01-10");
	diag_release(&d);

	/* A header and no rows is a valid, empty import. */
	diag_init(&d, 50);
	assert_int_equal(isms_training_import(&f->c, "staff_id,course,completed\n", 26,
					      "elearn.csv", &d, &made, &upd),
			 0);
	assert_int_equal(made, 0);
	assert_int_equal(upd, 0);
	assert_int_equal(ledger_size(f->lg), size0);
	diag_release(&d);

	/* Structure errors: no header, a missing column, an open quote. */
	diag_init(&d, 50);
	assert_int_equal(isms_training_import(&f->c, "", 0, "elearn.csv", &d, &made, &upd),
			 ERR_INVALID);
	diag_release(&d);
	diag_init(&d, 50);
	assert_int_equal(isms_training_import(&f->c, "staff_id,completed\nS001,2026-05-30\n", 35,
					      "elearn.csv", &d, &made, &upd),
			 ERR_INVALID);
	assert_true(diag_has(&d, 1, "course"));
	diag_release(&d);
	diag_init(&d, 50);
	{
		const char *q = "staff_id,course,completed\nS001,\"SEC-ANNUAL,2026-05-30\n";
		assert_int_equal(
		    isms_training_import(&f->c, q, strlen(q), "elearn.csv", &d, &made, &upd),
		    ERR_INVALID);
		assert_int_equal(d.items[0].line, 2);
	}
	diag_release(&d);
}

static void test_import_applies(void **state)
{
	struct fx *f = *state;
	struct ids ids;
	struct diag d;
	struct isms_ctx aud = fx_as(f, &f->auditor), dm2 = fx_as(f, &f->dm2);
	size_t made = 9, upd = 9;
	uint64_t size0;
	char t[16];
	struct buf rec;
	json_t *ov = NULL;
	/* Japanese headers as an e-learning system exports them, a BOM,
	 * CRLF line ends, a quoted cell and a repeated row. */
	const char *csv = "\xef\xbb\xbf職員番号,講座,修了日,得点\r\n"
			  "S001,SEC-ANNUAL,2026-05-30,90\r\n"
			  "S002,\"DAY1\",2026-05-25,\r\n"
			  "S002,PLEDGE,2026-05-25,\r\n"
			  "S002,PLEDGE,2026-05-25,\r\n";

	make_courses(f, &ids);
	/* An auditor never writes; a department manager not for another
	 * department's staff. */
	diag_init(&d, 50);
	assert_int_equal(
	    isms_training_import(&aud, csv, strlen(csv), "elearn.csv", &d, &made, &upd),
	    ERR_FORBIDDEN);
	diag_release(&d);
	size0 = ledger_size(f->lg);
	diag_init(&d, 50);
	assert_int_equal(
	    isms_training_import(&dm2, csv, strlen(csv), "elearn.csv", &d, &made, &upd),
	    ERR_FORBIDDEN);
	diag_release(&d);
	fx_staff_date(f, "S001", "training", t);
	assert_string_equal(t, "2025-01-10");

	size0 = ledger_size(f->lg);
	diag_init(&d, 50);
	assert_int_equal(
	    isms_training_import(&f->c, csv, strlen(csv), "elearn.csv", &d, &made, &upd), 0);
	diag_release(&d);
	assert_int_equal(made, 3);
	assert_int_equal(upd, 2);
	/* Three records and one registry record in the ledger. */
	assert_int_equal(ledger_size(f->lg), size0 + 4);
	buf_init(&rec, LEDGER_BODY_MAX + 4096);
	assert_int_equal(ledger_read(f->lg, size0 + 3, &rec), 0);
	assert_non_null(strstr(rec.data, "staff_dates"));
	assert_non_null(strstr(rec.data, "\"previous_training\":\"2025-01-10\""));
	buf_release(&rec);
	fx_staff_date(f, "S001", "training", t);
	assert_string_equal(t, "2026-05-30");
	fx_staff_date(f, "S002", "pledge", t);
	assert_string_equal(t, "2026-05-25");
	fx_staff_date(f, "S002", "training", t);
	assert_string_equal(t, ""); /* the day-one course sets no registry date */
	assert_int_equal(isms_training_overdue(&f->c, ts_jst_day(FX_NOW), NULL, &ov), 0);
	assert_int_equal(json_integer_value(json_object_get(ov, "count")), 0);
	json_decref(ov);

	/* The same file again changes nothing. */
	size0 = ledger_size(f->lg);
	diag_init(&d, 50);
	assert_int_equal(
	    isms_training_import(&f->c, csv, strlen(csv), "elearn.csv", &d, &made, &upd), 0);
	diag_release(&d);
	assert_int_equal(made, 0);
	assert_int_equal(upd, 0);
	assert_int_equal(ledger_size(f->lg), size0);

	/* An older completion does not move the registry's date back. */
	diag_init(&d, 50);
	{
		const char *old = "staff_id,course,completed\nS001,SEC-ANNUAL,2026-01-05\n";
		assert_int_equal(
		    isms_training_import(&f->c, old, strlen(old), "elearn.csv", &d, &made, &upd),
		    0);
	}
	diag_release(&d);
	assert_int_equal(made, 1);
	assert_int_equal(upd, 0);
	fx_staff_date(f, "S001", "training", t);
	assert_string_equal(t, "2026-05-30");
}

static void test_registry_set_dates(void **state)
{
	struct fx *f = *state;
	struct reg_date_update u[] = {{"S003", D("2026-05-01"), DAY_NONE},
				      {"S404", D("2026-05-01"), DAY_NONE}};
	struct diag d;
	size_t changed = 9;
	char t[16];

	diag_init(&d, 10);
	assert_int_equal(store_begin(f->st), 0);
	assert_int_equal(registry_staff_set_dates(f->st, f->lg, "test", "unit", u, 2, &d, &changed),
			 ERR_NOT_FOUND);
	store_rollback(f->st);
	assert_int_equal(d.errors, 1);
	fx_staff_date(f, "S003", "training", t);
	assert_string_equal(t, "2026-04-01");
	assert_int_equal(store_begin(f->st), 0);
	assert_int_equal(registry_staff_set_dates(f->st, f->lg, "test", "unit", u, 1, &d, &changed),
			 0);
	assert_int_equal(store_commit(f->st), 0);
	assert_int_equal(changed, 1);
	fx_staff_date(f, "S003", "training", t);
	assert_string_equal(t, "2026-05-01");
	diag_release(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_applies),
	    cmocka_unit_test(test_gaps),
	    cmocka_unit_test(test_coverage),
	    cmocka_unit_test_setup_teardown(test_overdue_and_dept, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_import_errors, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_import_applies, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_registry_set_dates, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
