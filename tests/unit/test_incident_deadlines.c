/* Unit tests for src/isms/deadlines.c: the PPC reporting duty and clocks. */
#include "base/base.h"

#include <setjmp.h>
#include <cmocka.h>

#include "base/timeutil.h"
#include "isms/deadlines.h"

static int32_t D(int y, int m, int d)
{
	return days_from_civil(y, m, d);
}

/* A JST wall-clock time. */
static int64_t J(int y, int m, int d, int h, int mi, int s)
{
	return day_jst_midnight(D(y, m, d)) + h * 3600 + mi * 60 + s;
}

static const struct ppc_done NOT_DONE = {TS_NONE, TS_NONE, TS_NONE};

static struct ppc_facts facts_people(int64_t people, int64_t aware)
{
	struct ppc_facts f = {.personal_data = true, .people = people, .aware_at = aware};
	return f;
}

static void test_decide_thresholds(void **state)
{
	struct ppc_policy p;
	struct ppc_decision d;
	struct ppc_facts f = facts_people(100, J(2026, 6, 1, 9, 0, 0));
	(void)state;

	ppc_policy_default(&p);
	ppc_decide(&p, &f, &d);
	assert_false(d.required); /* exactly 100: not "more than 100" */
	assert_int_equal(d.reasons, 0);
	f.people = 101;
	ppc_decide(&p, &f, &d);
	assert_true(d.required);
	assert_int_equal(d.reasons, PPC_R_PEOPLE);
	/* The private-sector threshold (1,000) is a setting away. */
	p.people_threshold = 1000;
	ppc_decide(&p, &f, &d);
	assert_false(d.required);

	ppc_policy_default(&p);
	f = facts_people(1, TS_NONE);
	f.special_care = true;
	ppc_decide(&p, &f, &d);
	assert_true(d.required);
	assert_int_equal(d.reasons, PPC_R_SPECIAL_CARE);
	f.special_care = false;
	f.financial_harm = true;
	ppc_decide(&p, &f, &d);
	assert_true(d.required);
	assert_int_equal(d.reasons, PPC_R_FINANCIAL);
	f.financial_harm = false;
	f.improper_purpose = true;
	ppc_decide(&p, &f, &d);
	assert_int_equal(d.reasons, PPC_R_IMPROPER);
	f.improper_purpose = false;
	f.my_number = true;
	ppc_decide(&p, &f, &d);
	assert_true(d.required);
	assert_int_equal(d.reasons, PPC_R_MY_NUMBER);
	/* Unknown number of people, nothing else: not reportable (yet). */
	f = facts_people(-1, TS_NONE);
	ppc_decide(&p, &f, &d);
	assert_false(d.required);
}

static void test_decide_exemptions(void **state)
{
	struct ppc_policy p;
	struct ppc_decision d;
	struct ppc_facts f = facts_people(5000, J(2026, 6, 1, 9, 0, 0));
	(void)state;

	ppc_policy_default(&p);
	f.special_care = true;
	f.encrypted = true;
	ppc_decide(&p, &f, &d);
	assert_false(d.required);
	assert_true(d.exempt_encrypted);
	assert_int_equal(d.reasons, PPC_R_SPECIAL_CARE | PPC_R_PEOPLE);
	/* No personal data: nothing to report even with an improper purpose. */
	f = facts_people(5000, TS_NONE);
	f.personal_data = false;
	f.improper_purpose = true;
	ppc_decide(&p, &f, &d);
	assert_false(d.required);
	assert_false(d.exempt_encrypted);
	assert_int_equal(d.reasons, 0);
}

static void test_plain_weekdays(void **state)
{
	struct ppc_policy p;
	struct ppc_schedule s;
	/* Monday 2026-06-01 09:00: day 1. */
	struct ppc_facts f = facts_people(500, J(2026, 6, 1, 9, 0, 0));
	(void)state;

	ppc_policy_default(&p);
	ppc_schedule_compute(&p, &f, &NOT_DONE, J(2026, 6, 1, 10, 0, 0), &s);
	assert_true(s.decision.required);
	assert_int_equal(s.prelim.target_day, D(2026, 6, 3));
	assert_int_equal(s.prelim.limit_day, D(2026, 6, 5));
	assert_int_equal(s.prelim.limit_at, J(2026, 6, 5, 23, 59, 59));
	assert_false(s.prelim.limit_closed);
	assert_int_equal(s.prelim.prepare_by, D(2026, 6, 5));
	assert_int_equal(s.prelim.state, CLOCK_RUNNING);
	assert_int_equal(s.final.limit_day, D(2026, 6, 30));
	assert_int_equal(s.final.days, 30);
	assert_int_equal(s.final.target_day, DAY_NONE);
	assert_int_equal(s.notice.limit_day, D(2026, 6, 5));
	assert_int_equal(s.final.state, CLOCK_RUNNING);

	/* Day 0 counting (民法 art. 140 reading): everything one day later. */
	p.first_day_counts = false;
	ppc_schedule_compute(&p, &f, &NOT_DONE, J(2026, 6, 1, 10, 0, 0), &s);
	assert_int_equal(s.prelim.limit_day, D(2026, 6, 6));
	assert_true(s.prelim.limit_closed); /* Saturday */
	assert_int_equal(s.prelim.prepare_by, D(2026, 6, 5)); /* the Friday before */
	assert_int_equal(s.final.limit_day, D(2026, 7, 1));
}

static void test_states(void **state)
{
	struct ppc_policy p;
	struct ppc_schedule s;
	struct ppc_done done = NOT_DONE;
	struct ppc_facts f = facts_people(500, J(2026, 6, 1, 9, 0, 0));
	(void)state;

	ppc_policy_default(&p);
	/* End of the target day (day 3): still running; one second later, due soon. */
	ppc_schedule_compute(&p, &f, &done, J(2026, 6, 3, 23, 59, 59), &s);
	assert_int_equal(s.prelim.state, CLOCK_RUNNING);
	ppc_schedule_compute(&p, &f, &done, J(2026, 6, 4, 0, 0, 0), &s);
	assert_int_equal(s.prelim.state, CLOCK_DUE_SOON);
	/* The limit's last second, and the first second past it. */
	ppc_schedule_compute(&p, &f, &done, J(2026, 6, 5, 23, 59, 59), &s);
	assert_int_equal(s.prelim.state, CLOCK_DUE_SOON);
	assert_int_equal(s.prelim.seconds_left, 0);
	ppc_schedule_compute(&p, &f, &done, J(2026, 6, 6, 0, 0, 0), &s);
	assert_int_equal(s.prelim.state, CLOCK_OVERDUE);
	assert_true(ppc_clock_overdue(&s.prelim));
	assert_int_equal(s.prelim.seconds_left, -1);
	/* The final report is due soon within 2 days of its limit. */
	assert_int_equal(s.final.state, CLOCK_RUNNING);
	ppc_schedule_compute(&p, &f, &done, J(2026, 6, 28, 23, 59, 59), &s);
	assert_int_equal(s.final.state, CLOCK_RUNNING);
	ppc_schedule_compute(&p, &f, &done, J(2026, 6, 29, 0, 0, 0), &s);
	assert_int_equal(s.final.state, CLOCK_DUE_SOON);
	/* Done on the limit's last second is on time; a second later is late. */
	done.prelim_at = J(2026, 6, 5, 23, 59, 59);
	ppc_schedule_compute(&p, &f, &done, J(2026, 7, 10, 0, 0, 0), &s);
	assert_int_equal(s.prelim.state, CLOCK_DONE);
	assert_int_equal(s.final.state, CLOCK_OVERDUE);
	done.prelim_at = J(2026, 6, 6, 0, 0, 0);
	done.final_at = J(2026, 6, 20, 12, 0, 0);
	done.notice_at = J(2026, 6, 2, 12, 0, 0);
	ppc_schedule_compute(&p, &f, &done, J(2026, 7, 10, 0, 0, 0), &s);
	assert_int_equal(s.prelim.state, CLOCK_DONE_LATE);
	assert_int_equal(s.final.state, CLOCK_DONE);
	assert_int_equal(s.notice.state, CLOCK_DONE);
	assert_string_equal(ppc_clock_state_name(s.prelim.state), "done_late");

	/* Not reportable: every clock says so. */
	f.people = 10;
	ppc_schedule_compute(&p, &f, &done, J(2026, 7, 10, 0, 0, 0), &s);
	assert_int_equal(s.prelim.state, CLOCK_NOT_REQUIRED);
	assert_int_equal(s.final.limit_day, DAY_NONE);
	/* Reportable but the time of awareness is missing. */
	f.people = 1000;
	f.aware_at = TS_NONE;
	ppc_schedule_compute(&p, &f, &NOT_DONE, J(2026, 7, 10, 0, 0, 0), &s);
	assert_int_equal(s.prelim.state, CLOCK_UNKNOWN);
	assert_string_equal(ppc_clock_state_name(s.final.state), "unknown");
}

static void test_weekend_limit(void **state)
{
	struct ppc_policy p;
	struct ppc_schedule s;
	/* Wednesday 2026-06-17: day 5 is Sunday 06-21. Calendar days: the
	 * limit stays on Sunday (not moved to Monday), and prepare_by is
	 * the Friday. */
	struct ppc_facts f = facts_people(500, J(2026, 6, 17, 15, 0, 0));
	(void)state;

	ppc_policy_default(&p);
	ppc_schedule_compute(&p, &f, &NOT_DONE, J(2026, 6, 17, 16, 0, 0), &s);
	assert_int_equal(s.prelim.limit_day, D(2026, 6, 21));
	assert_int_equal(day_weekday(s.prelim.limit_day), 0);
	assert_true(s.prelim.limit_closed);
	assert_int_equal(s.prelim.prepare_by, D(2026, 6, 19));
	/* Monday 06-22 00:00 is past the limit. */
	ppc_schedule_compute(&p, &f, &NOT_DONE, J(2026, 6, 22, 0, 0, 0), &s);
	assert_int_equal(s.prelim.state, CLOCK_OVERDUE);
	/* Thursday 06-18: day 5 is Monday 06-22, open. */
	f.aware_at = J(2026, 6, 18, 9, 0, 0);
	ppc_schedule_compute(&p, &f, &NOT_DONE, J(2026, 6, 18, 9, 0, 0), &s);
	assert_int_equal(s.prelim.limit_day, D(2026, 6, 22));
	assert_false(s.prelim.limit_closed);
	assert_int_equal(s.prelim.prepare_by, D(2026, 6, 22));
}

static void test_holiday_run(void **state)
{
	struct ppc_policy p;
	struct ppc_schedule s;
	/* Aware late on Friday 2026-05-01, the last open day before Golden
	 * Week: 05-02 Sat, 05-03 Sun 憲法記念日, 05-04 みどりの日, 05-05
	 * こどもの日, 05-06 振替休日 (for 05-03). Day 1 is 05-01 even at
	 * 23:50; the target (05-03) and the limit (05-05) fall in the run
	 * and the only open day to prepare on is the day of awareness. */
	struct ppc_facts f = facts_people(500, J(2026, 5, 1, 23, 50, 0));
	const char *name = NULL;
	(void)state;

	assert_true(jp_holiday(D(2026, 5, 6), &name));
	assert_string_equal(name, "振替休日");
	ppc_policy_default(&p);
	ppc_schedule_compute(&p, &f, &NOT_DONE, J(2026, 5, 1, 23, 55, 0), &s);
	assert_int_equal(s.prelim.target_day, D(2026, 5, 3));
	assert_int_equal(s.prelim.limit_day, D(2026, 5, 5));
	assert_true(s.prelim.limit_closed);
	assert_int_equal(s.prelim.prepare_by, D(2026, 5, 1));
	assert_int_equal(s.prelim.state, CLOCK_RUNNING);
	/* Ten minutes later (00:00 on 05-02): day 1 is 05-02, one day later. */
	f.aware_at = J(2026, 5, 2, 0, 0, 0);
	ppc_schedule_compute(&p, &f, &NOT_DONE, J(2026, 5, 2, 0, 0, 0), &s);
	assert_int_equal(s.prelim.limit_day, D(2026, 5, 6));
	assert_true(s.prelim.limit_closed);
	assert_int_equal(s.prelim.prepare_by, D(2026, 5, 1));
	/* With day 0 counting the limit is 05-07, the first open day. */
	p.first_day_counts = false;
	f.aware_at = J(2026, 5, 2, 0, 0, 0);
	ppc_schedule_compute(&p, &f, &NOT_DONE, J(2026, 5, 2, 0, 0, 0), &s);
	assert_int_equal(s.prelim.limit_day, D(2026, 5, 7));
	assert_false(s.prelim.limit_closed);
}

static void test_sixty_days(void **state)
{
	struct ppc_policy p;
	struct ppc_schedule s;
	struct ppc_facts f = facts_people(3, J(2026, 6, 1, 9, 0, 0));
	(void)state;

	ppc_policy_default(&p);
	f.improper_purpose = true;
	ppc_schedule_compute(&p, &f, &NOT_DONE, J(2026, 7, 1, 0, 0, 0), &s);
	assert_true(s.decision.required);
	assert_int_equal(s.final.days, 60);
	assert_int_equal(s.final.limit_day, D(2026, 7, 30));
	/* Day 31 would be overdue under the 30-day rule, not under 60. */
	assert_int_equal(s.final.state, CLOCK_RUNNING);
	/* The preliminary report has no 60-day variant. */
	assert_int_equal(s.prelim.limit_day, D(2026, 6, 5));
	assert_int_equal(s.prelim.state, CLOCK_OVERDUE);

	/* 60 days from 2026-11-01 end on 12-30, in the year-end closure:
	 * not extended to 01-04; prepare by Monday 12-28. */
	f.aware_at = J(2026, 11, 1, 9, 0, 0);
	ppc_schedule_compute(&p, &f, &NOT_DONE, J(2026, 11, 1, 10, 0, 0), &s);
	assert_int_equal(s.final.limit_day, D(2026, 12, 30));
	assert_true(s.final.limit_closed);
	assert_int_equal(s.final.prepare_by, D(2026, 12, 28));
	/* Without the improper purpose but over 100 people: 30 days. */
	f.improper_purpose = false;
	f.people = 101;
	ppc_schedule_compute(&p, &f, &NOT_DONE, J(2026, 11, 1, 10, 0, 0), &s);
	assert_int_equal(s.final.days, 30);
	assert_int_equal(s.final.limit_day, D(2026, 11, 30));
	/* 30 days from 2026-12-05 end on 2027-01-03 (closed): prepare by
	 * 12-28, the last open day before the closure. */
	f.aware_at = J(2026, 12, 5, 9, 0, 0);
	ppc_schedule_compute(&p, &f, &NOT_DONE, J(2026, 12, 5, 10, 0, 0), &s);
	assert_int_equal(s.final.limit_day, D(2027, 1, 3));
	assert_true(s.final.limit_closed);
	assert_int_equal(s.final.prepare_by, D(2026, 12, 28));
}

static void test_policy_parse(void **state)
{
	struct ppc_policy p;
	struct diag d;
	const char *ok = "# settings\nppc_people_threshold = 1000\n  ppc_prelim_limit_days=4 \r\n"
			 "ppc_first_day_counts = false\n\nppc_final_days_improper = \"61\"\n";
	const char *bad = "ppc_final_days = 0\nnonsense\nppc_colour = red\nppc_first_day_counts = maybe\n";
	(void)state;

	ppc_policy_default(&p);
	diag_init(&d, 20);
	assert_int_equal(ppc_policy_parse(&p, ok, strlen(ok), "isms-cycle.conf", &d), 0);
	assert_int_equal(p.people_threshold, 1000);
	assert_int_equal(p.prelim_limit_days, 4);
	assert_int_equal(p.prelim_target_days, 3);
	assert_false(p.first_day_counts);
	assert_int_equal(p.final_days_improper, 61);
	diag_release(&d);

	ppc_policy_default(&p);
	diag_init(&d, 20);
	assert_int_equal(ppc_policy_parse(&p, bad, strlen(bad), "isms-cycle.conf", &d), ERR_INVALID);
	assert_int_equal(d.errors, 4);
	assert_int_equal(p.final_days, 30); /* a bad value leaves the default */
	diag_release(&d);

	ppc_policy_default(&p);
	diag_init(&d, 20);
	assert_int_equal(ppc_policy_parse(&p, "ppc_prelim_target_days = 6\n", 27, "c", &d),
			 ERR_INVALID);
	diag_release(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_decide_thresholds),
	    cmocka_unit_test(test_decide_exemptions),
	    cmocka_unit_test(test_plain_weekdays),
	    cmocka_unit_test(test_states),
	    cmocka_unit_test(test_weekend_limit),
	    cmocka_unit_test(test_holiday_run),
	    cmocka_unit_test(test_sixty_days),
	    cmocka_unit_test(test_policy_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
