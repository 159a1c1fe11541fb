/* Unit tests for src/watch: explanations, every rule on both sides of its
 * threshold, the legitimate hard negatives, alerts, bad input, and an
 * end-to-end audit of generated data measured against its labels. */
#include <ftw.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/base.h"
#include "base/buf.h"
#include "base/diag.h"
#include "base/timeutil.h"
#include "gen/gen.h"
#include "ledger/ledger.h"
#include "registry/registry.h"
#include "store/store.h"
#include "watch/watch.h"
#include "watch/watch_int.h"
#include "../../bench/events.h"

#include <string.h>

/* ---- a hand-built registry ---- */

static const char *ROLES_CLERK[] = {"clerk"};
static const char *FLAG_DV[] = {"dv_support"}, *FLAG_VIP[] = {"vip"}, *FLAG_STAFF[] = {"staff"};

#define NSTAFF 9
#define NRES 200

enum {
	S1 = 0, /* 山田, D1, lives at A1 in H1 */
	S2,     /* colleague in D1 */
	S3,     /* D2 */
	S4,     /* D1, employment ended on DAY0 - 1 */
	S5,     /* D1, training 366 days before DAY0 */
	S6,     /* D1, no pledge */
	S7, S8, S9 /* D1 peers */
};

struct fx {
	struct registry_data rd;
	struct reg_department dept[2];
	struct reg_staff staff[NSTAFF];
	struct reg_resident res[NRES];
	struct reg_case cases[32];
	struct reg_overtime ot[1];
	char ids[NRES][16], sids[NSTAFF][16];
	struct watch_tables *t;
	/* events to feed */
	struct watch_event ev[512];
	char refs[512][16];
	size_t nev;
	/* alerts seen */
	struct {
		int rule;
		char staff[16];
		int32_t day;
		size_t n;
		char refs[2048];
	} al[64];
	size_t nal;
	struct watch_verdict v[512];
};

static int32_t DAY0; /* Wednesday 2026-04-08, an office day */

static int64_t at(int32_t day, int h, int m, int s)
{
	return day_jst_midnight(day) + h * 3600 + m * 60 + s;
}

static void add_case(struct fx *f, const char *id, int res, const char *dept, int assigned,
		     int64_t opened, int64_t closed)
{
	struct reg_case *c = &f->cases[f->rd.ncases++];
	c->id = id;
	c->resident_id = f->ids[res];
	c->dept = dept;
	c->kind = "k";
	c->assigned_to = assigned >= 0 ? f->sids[assigned] : NULL;
	c->opened = opened;
	c->closed = closed;
}

static struct fx *fx_new(void)
{
	struct fx *f = xcalloc(1, sizeof(*f));
	DAY0 = days_from_civil(2026, 4, 8);
	f->dept[0] = (struct reg_department){.id = "D1", .name = "区民課"};
	f->dept[1] = (struct reg_department){.id = "D2", .name = "税務課"};
	for (int i = 0; i < NSTAFF; i++) {
		struct reg_staff *s = &f->staff[i];
		snprintf(f->sids[i], sizeof(f->sids[i]), "S%d", i + 1);
		s->id = f->sids[i];
		s->name = f->sids[i];
		s->surname = "高木";
		s->dept = i == S3 ? "D2" : "D1";
		s->roles = (struct strlist){ROLES_CLERK, 1};
		s->start = DAY0 - 1000;
		s->end = DAY_NONE;
		s->training = DAY0 - 30;
		s->pledge = DAY0 - 900;
	}
	f->staff[S1].surname = "山田";
	f->staff[S1].address_id = "A1";
	f->staff[S1].household_id = "H1";
	f->staff[S4].end = DAY0 - 1;
	f->staff[S5].training = DAY0 - 366;
	f->staff[S6].pledge = DAY_NONE;
	for (int i = 0; i < NRES; i++) {
		struct reg_resident *r = &f->res[i];
		snprintf(f->ids[i], sizeof(f->ids[i]), "R%04d", i);
		r->id = f->ids[i];
		r->surname = "中川";
		r->given = "一";
		r->address_id = "A100";
		r->household_id = "H100"; /* overwritten below for most */
	}
	/* Everyone in a household of their own unless said otherwise. */
	static char hh[NRES][16], ad[NRES][16];
	for (int i = 0; i < NRES; i++) {
		snprintf(hh[i], sizeof(hh[i]), "HX%d", i);
		snprintf(ad[i], sizeof(ad[i]), "AX%d", i);
		f->res[i].household_id = hh[i];
		f->res[i].address_id = ad[i];
	}
	/* R1 lives with S1; R2 is next door (same building, other household);
	 * R3 is a 山田 elsewhere; R9 is a 山田 in S1's building, other household. */
	f->res[1].surname = "山田", f->res[1].address_id = "A1", f->res[1].household_id = "H1";
	f->res[1].flags = (struct strlist){FLAG_STAFF, 1};
	f->res[2].surname = "鈴木", f->res[2].address_id = "A1", f->res[2].household_id = "H2";
	f->res[3].surname = "山田";
	f->res[9].surname = "山田", f->res[9].address_id = "A1", f->res[9].household_id = "H3";
	f->res[4].flags = (struct strlist){FLAG_DV, 1};
	f->res[5].flags = (struct strlist){FLAG_VIP, 1};
	f->res[6].flags = (struct strlist){FLAG_STAFF, 1};
	/* R7, R8: one household (H5). */
	f->res[7].household_id = "H5", f->res[8].household_id = "H5";
	/* R11-R13: namesakes 佐藤. */
	for (int i = 11; i <= 13; i++)
		f->res[i].surname = "佐藤";
	f->rd.departments = f->dept;
	f->rd.ndepartments = 2;
	f->rd.staff = f->staff;
	f->rd.nstaff = NSTAFF;
	f->rd.residents = f->res;
	f->rd.nresidents = NRES;
	f->rd.cases = f->cases;
	f->rd.overtime = f->ot;
	return f;
}

static void fx_build(struct fx *f)
{
	assert_int_equal(watch_tables_build(&f->rd, &f->t), 0);
}

static void fx_free(struct fx *f)
{
	watch_tables_free(f->t);
	free(f);
}

static size_t add(struct fx *f, int64_t ts, int staff, int res, enum watch_action a,
		  const char *case_id, const char *query)
{
	size_t i = f->nev++;
	assert_true(i < ARRAY_SIZE(f->ev));
	struct watch_event *e = &f->ev[i];
	memset(e, 0, sizeof(*e));
	snprintf(f->refs[i], sizeof(f->refs[i]), "E%zu", i);
	e->ts = ts;
	e->seq = i + 1;
	e->staff_id = staff >= 0 ? f->sids[staff] : "S999";
	e->resident_id = res >= 0 ? f->ids[res] : NULL;
	e->case_id = case_id;
	e->query = query;
	e->ref = f->refs[i];
	e->action = a;
	return i;
}

static int collect(const struct watch_alert *a, void *ctx)
{
	struct fx *f = ctx;
	assert_true(f->nal < ARRAY_SIZE(f->al));
	f->al[f->nal].rule = (int)a->rule;
	snprintf(f->al[f->nal].staff, sizeof(f->al[f->nal].staff), "%s", a->staff_id);
	f->al[f->nal].day = a->day;
	f->al[f->nal].n = a->nevents;
	size_t o = 0;
	for (size_t i = 0; i < a->nevents && o + 16 < sizeof(f->al[0].refs); i++)
		o += (size_t)snprintf(f->al[f->nal].refs + o, sizeof(f->al[0].refs) - o, "%s ", a->refs[i]);
	assert_non_null(a->text_ja);
	assert_non_null(strstr(a->text_en, a->staff_id));
	f->nal++;
	return 0;
}

/* Feed the events (stable-sorted by time) and close the last day. */
static void run(struct fx *f, const struct watch_thresholds *th)
{
	struct watch *w = NULL;
	size_t *order = xcalloc(f->nev + 1, sizeof(*order));
	for (size_t i = 0; i < f->nev; i++) {
		size_t j = i;
		while (j > 0 && f->ev[order[j - 1]].ts > f->ev[i].ts) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = i;
	}
	f->nal = 0;
	assert_int_equal(watch_new(f->t, th, collect, f, &w), 0);
	for (size_t k = 0; k < f->nev; k++)
		assert_int_equal(watch_feed(w, &f->ev[order[k]], &f->v[order[k]]), 0);
	assert_int_equal(watch_flush(w), 0);
	watch_free(w);
	free(order);
}

/* Number of alerts of rule for staff (index), and the event count of the first. */
static size_t alerts(const struct fx *f, int rule, int staff, size_t *nev)
{
	size_t n = 0;
	for (size_t i = 0; i < f->nal; i++)
		if (f->al[i].rule == rule && strcmp(f->al[i].staff, f->sids[staff]) == 0) {
			if (n == 0 && nev)
				*nev = f->al[i].n;
			n++;
		}
	return n;
}

static bool flagged(const struct fx *f, size_t ev, int rule)
{
	char key[20];
	snprintf(key, sizeof(key), "%s ", f->refs[ev]);
	for (size_t i = 0; i < f->nal; i++) {
		if (rule >= 0 && f->al[i].rule != rule)
			continue;
		const char *p = f->al[i].refs;
		while ((p = strstr(p, key))) {
			if (p == f->al[i].refs || p[-1] == ' ')
				return true;
			p++;
		}
	}
	return false;
}

/* ---- explanations and hard negatives ---- */

/* The five action names, whole, and nothing else: a prefix, a longer
 * word, another case, an empty span, a span shorter than its string. */
static void test_action_names(void **state)
{
	static const char *const good[] = {"search", "view", "update", "print", "export"};
	static const char *const bad[] = {"", "s", "sea", "searchx", "Search", "viewer", "vie",
					  "prin", "exports", "delete", "v\0ew"};
	enum watch_action a;
	(void)state;

	for (int i = 0; i < WA__COUNT; i++) {
		assert_int_equal(watch_action_parse(good[i], &a), 0);
		assert_int_equal(a, i);
		assert_int_equal(watch_action_parse_n(good[i], strlen(good[i]), &a), 0);
		assert_int_equal(a, i);
		assert_int_equal(watch_action_parse_n(good[i], strlen(good[i]) - 1, &a), ERR_INVALID);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		assert_int_equal(watch_action_parse(bad[i], &a), ERR_INVALID);
	assert_int_equal(watch_action_parse_n("view", 0, &a), ERR_INVALID);
	assert_int_equal(watch_action_parse_n("v\0ew", 4, &a), ERR_INVALID);
}

static void test_department_case_and_grace(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	/* A case of R20 in D1 assigned to S1, closed on DAY0 at 10:00. */
	add_case(f, "C1", 20, "D1", S1, at(DAY0, 9, 0, 0), at(DAY0, 10, 0, 0));
	f->rd.ncases = 1;
	fx_build(f);
	size_t a = add(f, at(DAY0, 9, 30, 0), S2, 20, WA_VIEW, NULL, NULL);     /* colleague covering */
	size_t b = add(f, at(DAY0 + 6, 9, 30, 0), S2, 20, WA_VIEW, NULL, NULL); /* grace: 6 days */
	size_t c = add(f, at(DAY0 + 8, 9, 30, 0), S2, 20, WA_VIEW, NULL, NULL); /* 8 days: not */
	size_t d = add(f, at(DAY0 + 8, 9, 40, 0), S3, 21, WA_VIEW, NULL, NULL); /* other dept, no case */
	run(f, NULL);
	assert_int_equal(f->v[a].expl, WE_DEPT_OPEN);
	assert_string_equal(f->v[a].case_id, "C1");
	assert_int_equal(f->v[a].rules, 0);
	assert_int_equal(f->v[b].expl, WE_DEPT_GRACE);
	assert_int_equal(f->v[b].rules, 0);
	assert_int_equal(f->v[c].expl, WE_NONE);
	assert_true(f->v[c].rules & (1u << WR_UNEXPLAINED));
	assert_int_equal(f->v[d].expl, WE_NONE);
	assert_false(flagged(f, a, -1));
	assert_false(flagged(f, b, -1));
	assert_true(flagged(f, c, WR_UNEXPLAINED));
	assert_int_equal(alerts(f, WR_UNEXPLAINED, S2, NULL), 1);
	assert_int_equal(alerts(f, WR_UNEXPLAINED, S3, NULL), 1);
	fx_free(f);
}

static void test_counter_flow(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	add_case(f, "C1", 22, "D1", S2, at(DAY0, 10, 25, 0), at(DAY0, 11, 0, 0)); /* 25 min after */
	add_case(f, "C2", 23, "D1", S2, at(DAY0, 10, 35, 0), at(DAY0, 11, 0, 0)); /* 35 min after */
	f->rd.ncases = 2;
	fx_build(f);
	size_t s = add(f, at(DAY0, 9, 59, 0), S1, -1, WA_SEARCH, NULL, "中川");
	size_t a = add(f, at(DAY0, 10, 0, 0), S1, 22, WA_VIEW, NULL, NULL);
	size_t b = add(f, at(DAY0, 10, 0, 10), S7, 23, WA_VIEW, NULL, NULL);
	run(f, NULL);
	assert_int_equal(f->v[s].expl, WE_NO_RESIDENT);
	assert_int_equal(f->v[a].expl, WE_COUNTER);
	assert_int_equal(f->v[a].rules, 0);
	assert_int_equal(f->v[b].expl, WE_NONE);
	assert_true(flagged(f, b, WR_UNEXPLAINED));
	fx_free(f);
}

static void test_household_certificate(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	add_case(f, "C1", 7, "D1", S1, at(DAY0, 10, 0, 0), at(DAY0, 10, 40, 0));
	f->rd.ncases = 1;
	fx_build(f);
	size_t a = add(f, at(DAY0, 10, 5, 0), S1, 8, WA_VIEW, NULL, NULL);  /* member, case open */
	size_t b = add(f, at(DAY0, 10, 6, 0), S3, 8, WA_VIEW, NULL, NULL);  /* other dept */
	size_t c = add(f, at(DAY0, 11, 30, 0), S2, 8, WA_VIEW, NULL, NULL); /* case closed */
	run(f, NULL);
	assert_int_equal(f->v[a].expl, WE_HOUSEHOLD);
	assert_false(flagged(f, a, -1));
	assert_int_equal(f->v[b].expl, WE_NONE);
	assert_true(flagged(f, b, WR_UNEXPLAINED));
	assert_int_equal(f->v[c].expl, WE_NONE);
	fx_free(f);
}

static void test_namesakes_after_search(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	add_case(f, "C1", 12, "D1", S1, at(DAY0, 10, 0, 0), at(DAY0, 11, 0, 0));
	f->rd.ncases = 1;
	fx_build(f);
	add(f, at(DAY0, 9, 58, 0), S1, -1, WA_SEARCH, NULL, "佐藤");
	size_t a = add(f, at(DAY0, 10, 1, 0), S1, 11, WA_VIEW, NULL, NULL); /* namesake */
	size_t b = add(f, at(DAY0, 10, 2, 0), S1, 12, WA_VIEW, NULL, NULL); /* the right one */
	add(f, at(DAY0, 10, 3, 0), S1, 12, WA_UPDATE, "C1", NULL);          /* work starts */
	size_t c = add(f, at(DAY0, 10, 4, 0), S1, 13, WA_VIEW, NULL, NULL); /* after: not */
	/* A view more than the window after a search is not explained. */
	add(f, at(DAY0, 13, 0, 0), S2, -1, WA_SEARCH, NULL, "佐藤");
	size_t d = add(f, at(DAY0, 14, 0, 1), S2, 11, WA_VIEW, NULL, NULL);
	size_t e = add(f, at(DAY0, 13, 59, 0), S7, 11, WA_VIEW, NULL, NULL);
	add(f, at(DAY0, 13, 30, 0), S7, -1, WA_SEARCH, NULL, "佐藤");
	/* A view of another surname after the search is not a namesake. */
	size_t g = add(f, at(DAY0, 13, 40, 0), S7, 14, WA_VIEW, NULL, NULL);
	run(f, NULL);
	assert_int_equal(f->v[a].expl, WE_NAMESAKE);
	assert_false(flagged(f, a, -1));
	assert_int_equal(f->v[b].expl, WE_ASSIGNED);
	assert_int_equal(f->v[c].expl, WE_NONE);
	assert_true(flagged(f, c, WR_UNEXPLAINED));
	assert_int_equal(f->v[d].expl, WE_NONE);
	assert_int_equal(f->v[e].expl, WE_NAMESAKE);
	assert_int_equal(f->v[g].expl, WE_NONE);
	fx_free(f);
}

static void test_declared_case(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	add_case(f, "C1", 30, "D2", S3, at(DAY0, 9, 0, 0), TS_NONE);
	add_case(f, "C2", 31, "D2", S3, at(DAY0, 9, 0, 0), TS_NONE);
	f->rd.ncases = 2;
	fx_build(f);
	size_t a = add(f, at(DAY0, 10, 0, 0), S1, 30, WA_VIEW, "C1", NULL);
	size_t b = add(f, at(DAY0, 10, 1, 0), S1, 30, WA_VIEW, "C2", NULL); /* another's case */
	size_t c = add(f, at(DAY0, 10, 2, 0), S1, 30, WA_VIEW, "C404", NULL);
	run(f, NULL);
	assert_int_equal(f->v[a].expl, WE_DECLARED);
	assert_int_equal(f->v[b].expl, WE_NONE);
	assert_int_equal(f->v[c].expl, WE_NONE);
	fx_free(f);
}

/* ---- content rules ---- */

static void test_dv_support(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	add_case(f, "C1", 4, "D1", S2, at(DAY0, 9, 0, 0), at(DAY0, 12, 0, 0));
	f->rd.ncases = 1;
	fx_build(f);
	size_t a = add(f, at(DAY0, 10, 0, 0), S2, 4, WA_VIEW, NULL, NULL); /* assigned */
	size_t b = add(f, at(DAY0, 10, 5, 0), S1, 4, WA_VIEW, NULL, NULL); /* dept case, not assigned */
	run(f, NULL);
	assert_int_equal(f->v[a].rules, 0);
	assert_int_equal(f->v[b].expl, WE_DEPT_OPEN);
	assert_true(f->v[b].rules & (1u << WR_DV));
	assert_true(flagged(f, b, WR_DV));
	assert_int_equal(alerts(f, WR_DV, S1, NULL), 1);
	assert_int_equal(watch_rule_info(WR_DV)->severity, WSEV_CRITICAL);
	fx_free(f);
}

static void test_relative_neighbour_surname(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	/* A 山田 elsewhere with a proper case: the common surname is not enough. */
	add_case(f, "C1", 3, "D1", -1, at(DAY0, 9, 0, 0), at(DAY0, 12, 0, 0));
	f->rd.ncases = 1;
	fx_build(f);
	size_t a = add(f, at(DAY0, 10, 0, 0), S1, 1, WA_VIEW, NULL, NULL); /* same household */
	size_t b = add(f, at(DAY0, 10, 1, 0), S1, 2, WA_VIEW, NULL, NULL); /* neighbour */
	size_t c = add(f, at(DAY0, 10, 2, 0), S1, 3, WA_VIEW, NULL, NULL); /* namesake with case */
	/* Searching one's own surname does not make a relative a namesake. */
	add(f, at(DAY0, 10, 2, 30), S1, -1, WA_SEARCH, NULL, "山田");
	size_t d = add(f, at(DAY0, 10, 3, 0), S1, 9, WA_VIEW, NULL, NULL); /* same surname+address */
	size_t e = add(f, at(DAY0, 10, 4, 0), S2, 1, WA_VIEW, NULL, NULL); /* not S2's family */
	run(f, NULL);
	assert_true(f->v[a].rules & (1u << WR_RELATIVE));
	assert_false(f->v[a].rules & (1u << WR_UNEXPLAINED));
	assert_true(f->v[b].rules & (1u << WR_NEIGHBOUR));
	assert_int_equal(f->v[c].rules, 0);
	assert_false(flagged(f, c, -1));
	assert_int_equal(f->v[d].expl, WE_NAMESAKE);
	assert_true(f->v[d].rules & (1u << WR_RELATIVE));
	/* R1 carries the staff flag: for S2 it is a flagged record. */
	assert_true(f->v[e].rules & (1u << WR_FLAGGED));
	assert_int_equal(alerts(f, WR_RELATIVE, S1, NULL), 1);
	assert_int_equal(alerts(f, WR_NEIGHBOUR, S1, NULL), 1);
	fx_free(f);
}

static void test_vip_and_staff_flag(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	add_case(f, "C1", 5, "D1", S1, at(DAY0, 9, 0, 0), at(DAY0, 12, 0, 0));
	add_case(f, "C2", 6, "D1", S2, at(DAY0, 9, 0, 0), at(DAY0, 12, 0, 0));
	f->rd.ncases = 2;
	fx_build(f);
	size_t a = add(f, at(DAY0, 10, 0, 0), S1, 5, WA_VIEW, NULL, NULL); /* own case */
	size_t b = add(f, at(DAY0, 10, 1, 0), S7, 5, WA_VIEW, NULL, NULL); /* colleague's */
	size_t c = add(f, at(DAY0, 10, 2, 0), S1, 6, WA_VIEW, NULL, NULL);
	run(f, NULL);
	assert_int_equal(f->v[a].rules, 0);
	assert_true(f->v[b].rules & (1u << WR_FLAGGED));
	assert_true(f->v[c].rules & (1u << WR_FLAGGED));
	fx_free(f);
}

/* ---- time and status rules ---- */

static void test_office_hours_and_holidays(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	int32_t sub = days_from_civil(2026, 5, 6), sat = days_from_civil(2026, 4, 11);
	const char *name = NULL;
	/* 2026-05-03 (憲法記念日) is a Sunday: 05-06 is its substitute. */
	assert_true(jp_holiday(sub, &name));
	assert_string_equal(name, "振替休日");
	assert_false(jp_holiday(days_from_civil(2026, 5, 7), NULL));
	add_case(f, "C1", 40, "D1", S1, at(DAY0 - 1, 9, 0, 0), TS_NONE);
	f->rd.ncases = 1;
	f->ot[0] = (struct reg_overtime){"S2", at(DAY0, 17, 30, 0), at(DAY0, 19, 0, 0)};
	f->rd.novertime = 1;
	fx_build(f);
	size_t a = add(f, at(DAY0, 8, 44, 59), S1, 40, WA_VIEW, NULL, NULL);
	size_t b = add(f, at(DAY0, 8, 45, 0), S1, 40, WA_VIEW, NULL, NULL);
	size_t c = add(f, at(DAY0, 17, 29, 59), S1, 40, WA_VIEW, NULL, NULL);
	size_t d = add(f, at(DAY0, 17, 30, 0), S1, 40, WA_VIEW, NULL, NULL);
	size_t e = add(f, at(DAY0, 18, 0, 0), S2, 40, WA_VIEW, NULL, NULL); /* overtime */
	size_t g = add(f, at(DAY0, 19, 0, 0), S2, 40, WA_VIEW, NULL, NULL); /* overtime ended */
	size_t h = add(f, at(sat, 10, 0, 0), S1, 40, WA_VIEW, NULL, NULL);
	size_t i = add(f, at(sub, 10, 0, 0), S1, 40, WA_VIEW, NULL, NULL);
	size_t j = add(f, at(sub + 1, 10, 0, 0), S1, 40, WA_VIEW, NULL, NULL);
	run(f, NULL);
	assert_true(f->v[a].rules & (1u << WR_OFF_HOURS));
	assert_false(f->v[b].rules & (1u << WR_OFF_HOURS));
	assert_false(f->v[c].rules & (1u << WR_OFF_HOURS));
	assert_true(f->v[d].rules & (1u << WR_OFF_HOURS));
	assert_true(f->v[e].off_hours);
	assert_true(f->v[e].overtime);
	assert_int_equal(f->v[e].rules, 0);
	assert_true(f->v[g].rules & (1u << WR_OFF_HOURS));
	assert_true(f->v[h].rules & (1u << WR_OFF_HOURS));
	assert_true(f->v[i].rules & (1u << WR_OFF_HOURS));
	assert_false(f->v[j].off_hours);
	/* One alert per person, rule and day: a and d share DAY0. */
	size_t n = 0;
	assert_int_equal(alerts(f, WR_OFF_HOURS, S1, &n), 3);
	assert_int_equal(n, 2);
	fx_free(f);
}

static void test_employment_training_pledge(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	add_case(f, "C1", 41, "D1", -1, at(DAY0 - 3, 9, 0, 0), TS_NONE);
	f->rd.ncases = 1;
	f->staff[S7].training = DAY0 - 365; /* the last day it is current */
	f->staff[S8].end = DAY0;            /* the last day of employment */
	fx_build(f);
	size_t a = add(f, at(DAY0, 10, 0, 0), S4, 41, WA_VIEW, NULL, NULL);
	size_t b = add(f, at(DAY0, 10, 0, 0), S8, 41, WA_VIEW, NULL, NULL);
	size_t c = add(f, at(DAY0, 10, 0, 0), S5, 41, WA_VIEW, NULL, NULL);
	size_t d = add(f, at(DAY0, 10, 0, 0), S7, 41, WA_VIEW, NULL, NULL);
	size_t e = add(f, at(DAY0, 10, 0, 0), S6, 41, WA_VIEW, NULL, NULL);
	size_t g = add(f, at(DAY0, 10, 0, 0), -1, 41, WA_VIEW, NULL, NULL); /* unknown id */
	run(f, NULL);
	assert_int_equal(f->v[a].rules, 1u << WR_NOT_EMPLOYED);
	assert_int_equal(f->v[b].rules, 0);
	assert_int_equal(f->v[c].rules, 1u << WR_UNTRAINED);
	assert_int_equal(f->v[d].rules, 0);
	assert_int_equal(f->v[e].rules, 1u << WR_NO_PLEDGE);
	assert_true(f->v[g].unknown_staff);
	assert_true(f->v[g].rules & (1u << WR_NOT_EMPLOYED));
	assert_true(flagged(f, g, WR_NOT_EMPLOYED));
	fx_free(f);
}

/* ---- peer rules ---- */

/* Peers S2, S7, S8, S9 each look at 4 residents with cases in one hour. */
static void peers_work(struct fx *f)
{
	const int peers[] = {S2, S7, S8, S9};
	for (int p = 0; p < 4; p++)
		for (int k = 0; k < 4; k++) {
			int r = 140 + k;
			add(f, at(DAY0, 9, 10 + 10 * k, p), peers[p], r, WA_VIEW, NULL, NULL);
			add(f, at(DAY0, 9, 12 + 10 * k, p), peers[p], r, WA_EXPORT, NULL, NULL);
			add(f, at(DAY0, 11, 0, k * 10 + p), peers[p], -1, WA_SEARCH, NULL, "中川");
			add(f, at(DAY0, 11, 1, k * 10 + p), peers[p], r, WA_VIEW, NULL, NULL);
		}
}

static void scan_case(uint32_t distinct, bool expect)
{
	struct fx *f = fx_new();
	size_t first = 0, last = 0;
	for (int k = 0; k < 4; k++)
		add_case(f, k == 0 ? "C0" : k == 1 ? "C1" : k == 2 ? "C2" : "C3", 140 + k, "D1", -1,
			 at(DAY0, 8, 0, 0), TS_NONE);
	f->rd.ncases = 4;
	fx_build(f);
	peers_work(f);
	for (uint32_t k = 0; k < distinct; k++) {
		size_t i = add(f, at(DAY0, 14, 0, 0) + (int64_t)k * 90, S1, 15 + (int)k, WA_VIEW, NULL, NULL);
		if (k == 0)
			first = i;
		last = i;
	}
	run(f, NULL);
	size_t n = 0;
	assert_int_equal(alerts(f, WR_SCAN, S1, &n), expect ? 1 : 0);
	if (expect) {
		assert_int_equal(n, distinct);
		assert_true(flagged(f, first, WR_SCAN));
		assert_true(flagged(f, last, WR_SCAN));
		/* The scan names these accesses; no second alert says it. */
		assert_int_equal(alerts(f, WR_UNEXPLAINED, S1, NULL), 0);
	} else {
		assert_int_equal(alerts(f, WR_UNEXPLAINED, S1, &n), 1);
		assert_int_equal(n, distinct);
	}
	for (int p = S2; p <= S9; p++)
		assert_int_equal(alerts(f, WR_SCAN, p, NULL), 0);
	fx_free(f);
}

/* Of several cases of one resident, the evidence that ties an access to
 * today's work counts, whatever the order of the cases: a look during a
 * scan at a resident with an old assigned case in its grace period and
 * an open one listed after it, or with an old open department case and a
 * recent one, is not named by the scan. */
static void test_strongest_evidence(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	size_t a = 0, b = 0, first = 0;
	for (int k = 0; k < 4; k++)
		add_case(f, k == 0 ? "C0" : k == 1 ? "C1" : k == 2 ? "C2" : "C3", 140 + k, "D1", -1,
			 at(DAY0, 8, 0, 0), TS_NONE);
	add_case(f, "C8", 15, "D2", S1, at(DAY0 - 10, 9, 0, 0), at(DAY0 - 2, 9, 0, 0));
	add_case(f, "C9", 15, "D2", S1, at(DAY0, 13, 0, 0), TS_NONE);
	add_case(f, "C10", 16, "D1", -1, at(DAY0 - 5, 9, 0, 0), TS_NONE);
	add_case(f, "C11", 16, "D1", -1, at(DAY0, 13, 30, 0), TS_NONE);
	f->rd.ncases = 8;
	fx_build(f);
	peers_work(f);
	for (uint32_t k = 0; k < 40; k++) {
		size_t i = add(f, at(DAY0, 14, 0, 0) + (int64_t)k * 60, S1, 15 + (int)k, WA_VIEW, NULL, NULL);
		if (k == 0)
			a = i;
		else if (k == 1)
			b = i;
		else if (k == 2)
			first = i;
	}
	run(f, NULL);
	assert_int_equal(f->v[a].expl, WE_ASSIGNED);
	assert_string_equal(f->v[a].case_id, "C9");
	assert_int_equal(f->v[b].expl, WE_DEPT_OPEN);
	assert_string_equal(f->v[b].case_id, "C11");
	size_t n = 0;
	assert_int_equal(alerts(f, WR_SCAN, S1, &n), 1);
	assert_int_equal(n, 38);
	assert_false(flagged(f, a, -1));
	assert_false(flagged(f, b, -1));
	assert_true(flagged(f, first, WR_SCAN));
	fx_free(f);
}

static void test_bulk_scan_threshold(void **state)
{
	(void)state;
	/* Peers see 4 residents an hour: 4 x 4 = 16 is below the floor of
	 * 30, so more than 30 distinct residents in an hour is a scan. */
	scan_case(30, false);
	scan_case(31, true);
	scan_case(120, true);
}

static void export_case(uint32_t nexp, bool expect)
{
	struct fx *f = fx_new();
	for (int k = 0; k < 4; k++)
		add_case(f, k == 0 ? "C0" : k == 1 ? "C1" : k == 2 ? "C2" : "C3", 140 + k, "D1", -1,
			 at(DAY0, 8, 0, 0), TS_NONE);
	f->rd.ncases = 4;
	fx_build(f);
	peers_work(f);
	for (uint32_t k = 0; k < nexp; k++)
		add(f, at(DAY0, 15, 0, 0) + (int64_t)k * 60, S1, 140 + (int)(k % 4), WA_EXPORT, NULL, NULL);
	run(f, NULL);
	size_t n = 0;
	/* Peers export 4 a day: 4 x 4 = 16 is the threshold, above the floor of 10. */
	assert_int_equal(alerts(f, WR_EXPORT, S1, &n), expect ? 1 : 0);
	if (expect)
		assert_int_equal(n, nexp);
	for (int p = S2; p <= S9; p++)
		assert_int_equal(alerts(f, WR_EXPORT, p, NULL), 0);
	fx_free(f);
}

static void test_export_volume_threshold(void **state)
{
	(void)state;
	export_case(16, false);
	export_case(17, true);
}

static void search_case(uint32_t nsearch, bool follow, bool expect)
{
	struct fx *f = fx_new();
	fx_build(f);
	peers_work(f);
	for (uint32_t k = 0; k < nsearch; k++) {
		add(f, at(DAY0, 13, 0, 0) + (int64_t)k * 1200, S1, -1, WA_SEARCH, NULL, "田村");
		if (follow)
			add(f, at(DAY0, 13, 5, 0) + (int64_t)k * 1200, S1, 140, WA_VIEW, NULL, NULL);
	}
	run(f, NULL);
	assert_int_equal(alerts(f, WR_SEARCH, S1, NULL), expect ? 1 : 0);
	fx_free(f);
}

static void test_search_without_followup(void **state)
{
	(void)state;
	search_case(10, false, false);
	search_case(11, false, true);
	search_case(11, true, false);
}

/* ---- grouping, order, bad input ---- */

static void test_alert_grouping_and_order(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	struct watch *w = NULL;
	struct watch_verdict v;
	fx_build(f);
	add(f, at(DAY0, 10, 0, 0), S1, 60, WA_VIEW, NULL, NULL);
	add(f, at(DAY0, 10, 5, 0), S1, 61, WA_VIEW, NULL, NULL);
	add(f, at(DAY0 + 1, 10, 0, 0), S1, 62, WA_VIEW, NULL, NULL);
	run(f, NULL);
	size_t n = 0;
	assert_int_equal(alerts(f, WR_UNEXPLAINED, S1, &n), 2);
	assert_int_equal(n, 2);
	assert_int_equal(f->al[0].day, DAY0);
	assert_string_equal(f->al[0].refs, "E0 E1 ");
	/* An event of an earlier day than the current one is refused. */
	assert_int_equal(watch_new(f->t, NULL, collect, f, &w), 0);
	assert_int_equal(watch_feed(w, &f->ev[2], &v), 0);
	assert_int_equal(watch_feed(w, &f->ev[0], &v), ERR_INVALID);
	struct watch_event bad = f->ev[2];
	bad.staff_id = NULL;
	assert_int_equal(watch_feed(w, &bad, &v), ERR_INVALID);
	bad = f->ev[2];
	bad.action = WA__COUNT;
	assert_int_equal(watch_feed(w, &bad, &v), ERR_INVALID);
	watch_free(w);
	fx_free(f);
}

static void test_alert_json(void **state)
{
	(void)state;
	const char *refs[] = {"E1", "E\"2"};
	const uint64_t seqs[] = {10, 11};
	struct watch_alert a = {.rule = WR_DV, .code = "W-DV-SUPPORT", .severity = WSEV_CRITICAL,
				.staff_id = "S1", .staff_name = "山田 花子", .nevents = 2,
				.refs = refs, .seqs = seqs, .text_ja = "理由", .text_en = "why"};
	struct buf b;
	json_error_t jerr;
	a.day = days_from_civil(2026, 4, 8);
	a.first_ts = at(a.day, 10, 0, 0);
	a.last_ts = at(a.day, 10, 5, 0);
	buf_init(&b, 1 << 16);
	assert_int_equal(watch_alert_json(&a, &b), 0);
	json_t *o = json_loadb(b.data, b.len, 0, &jerr);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "code")), "W-DV-SUPPORT");
	assert_string_equal(json_string_value(json_object_get(o, "severity")), "critical");
	assert_string_equal(json_string_value(json_object_get(o, "day")), "2026-04-08");
	assert_string_equal(json_string_value(json_object_get(o, "first")), "2026-04-08T10:00:00+09:00");
	assert_string_equal(json_string_value(json_array_get(json_object_get(o, "refs"), 1)), "E\"2");
	assert_int_equal(json_integer_value(json_array_get(json_object_get(o, "lines"), 0)), 10);
	assert_string_equal(json_string_value(json_object_get(o, "staff_name")), "山田 花子");
	json_decref(o);
	buf_release(&b);
}

/* ---- thresholds ---- */

/* The leaf header's defaults (what the policy module fills) are the
 * engine's defaults, field by field. */
static void test_thresholds_default_agree(void **state)
{
	(void)state;
	const struct watch_thresholds h = WATCH_THRESHOLDS_DEFAULT;
	struct watch_thresholds t;
	memset(&t, 0x5a, sizeof(t));
	watch_thresholds_default(&t);
	assert_int_equal(t.case_grace, h.case_grace);
	assert_int_equal(t.counter_flow, h.counter_flow);
	assert_int_equal(t.namesake_window, h.namesake_window);
	assert_int_equal(t.namesake_max, h.namesake_max);
	assert_int_equal(t.recent_case, h.recent_case);
	assert_int_equal(t.office_open, h.office_open);
	assert_int_equal(t.office_close, h.office_close);
	assert_int_equal(t.training_valid_days, h.training_valid_days);
	assert_int_equal(t.scan_window, h.scan_window);
	assert_int_equal(t.scan_gap, h.scan_gap);
	assert_int_equal(t.scan_floor, h.scan_floor);
	assert_true(t.scan_factor == h.scan_factor);
	assert_int_equal(t.export_floor, h.export_floor);
	assert_true(t.export_factor == h.export_factor);
	assert_int_equal(t.print_floor, h.print_floor);
	assert_true(t.print_factor == h.print_factor);
	assert_int_equal(t.search_followup, h.search_followup);
	assert_int_equal(t.search_floor, h.search_floor);
	assert_true(t.search_factor == h.search_factor);
	assert_int_equal(t.min_peers, h.min_peers);
}

/* Thresholds given to the engine are the ones it applies: office hours
 * and the case grace period moved, on both sides of the new edges. */
static void test_thresholds_applied(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	struct watch_thresholds th;
	add_case(f, "C1", 40, "D1", S1, at(DAY0 - 10, 9, 0, 0), at(DAY0 - 3, 9, 0, 0));
	f->rd.ncases = 1;
	fx_build(f);
	size_t a = add(f, at(DAY0, 9, 59, 59), S1, 40, WA_VIEW, NULL, NULL);
	size_t b = add(f, at(DAY0, 10, 0, 0), S1, 40, WA_VIEW, NULL, NULL);
	size_t c = add(f, at(DAY0, 16, 0, 0), S1, 40, WA_VIEW, NULL, NULL);
	run(f, NULL);
	/* Defaults: 08:45-17:30, a case closed 3 days ago still explains. */
	assert_false(f->v[a].off_hours);
	assert_false(f->v[c].off_hours);
	assert_int_equal(f->v[a].expl, WE_ASSIGNED);
	watch_thresholds_default(&th);
	th.office_open = 10 * 3600;
	th.office_close = 16 * 3600;
	th.case_grace = 3 * 86400 - 1; /* closed at 09:00 three days ago */
	run(f, &th);
	assert_true(f->v[a].rules & (1u << WR_OFF_HOURS));
	assert_false(f->v[b].off_hours);
	assert_true(f->v[c].rules & (1u << WR_OFF_HOURS));
	/* 09:59:59 is 3 days and 59:59 after the close: past the grace. */
	assert_int_equal(f->v[a].expl, WE_NONE);
	assert_true(f->v[a].rules & (1u << WR_UNEXPLAINED));
	th.case_grace = 3 * 86400 + 3600; /* up to 10:00 */
	run(f, &th);
	assert_int_equal(f->v[a].expl, WE_ASSIGNED);
	assert_int_equal(f->v[b].expl, WE_ASSIGNED);
	assert_int_equal(f->v[c].expl, WE_NONE);
	fx_free(f);
}


/* Declared explanation templates (watch: explanations: in the policy):
 * tried after the built-in explanations; the verdict names the one that
 * explained an access; within_days on both sides of its edge. */
static void set_template(struct watch_template *tp, const char *name, const uint8_t *path,
			 uint8_t npath, int32_t within_days)
{
	memset(tp, 0, sizeof(*tp));
	snprintf(tp->name, sizeof(tp->name), "%s", name);
	snprintf(tp->label_ja, sizeof(tp->label_ja), "%s", "ラベル");
	snprintf(tp->label_en, sizeof(tp->label_en), "%s", "label");
	memcpy(tp->path, path, npath);
	tp->npath = npath;
	tp->within_days = within_days;
}

static void test_declared_templates(void **state)
{
	(void)state;
	static const uint8_t dept_path[] = {WSTEP_STAFF_DEPT, WSTEP_CASE_DEPT, WSTEP_CASE_RESIDENT};
	static const uint8_t hh_path[] = {WSTEP_STAFF, WSTEP_CASE_ASSIGNED, WSTEP_HOUSEHOLD,
					  WSTEP_RESIDENT};
	static const uint8_t bad_path[] = {WSTEP_STAFF, WSTEP_CASE_DEPT, WSTEP_CASE_RESIDENT};
	struct fx *f = fx_new();
	struct watch_thresholds th;
	/* C1: R30's case in D1, closed 20 days before DAY0 at 10:00 (far past
	 * the 7-day grace). C2: R7's case assigned to S3 (D2), opened 100
	 * days ago and open: R8 shares R7's household, but the household
	 * certificate wants a case opened within a day. C3: R31's open case
	 * in D1 (a built-in explanation). */
	add_case(f, "C1", 30, "D1", S2, at(DAY0 - 40, 9, 0, 0), at(DAY0 - 20, 10, 0, 0));
	add_case(f, "C2", 7, "D2", S3, at(DAY0 - 100, 9, 0, 0), INT64_MAX);
	add_case(f, "C3", 31, "D1", S2, at(DAY0 - 5, 9, 0, 0), INT64_MAX);
	fx_build(f);
	size_t a = add(f, at(DAY0, 10, 0, 0), S1, 30, WA_VIEW, NULL, NULL); /* closed + 20 d */
	size_t b = add(f, at(DAY0, 10, 0, 1), S1, 30, WA_VIEW, NULL, NULL); /* ... + 1 s */
	size_t c = add(f, at(DAY0, 11, 0, 0), S3, 8, WA_VIEW, NULL, NULL);  /* R7's household */
	size_t d = add(f, at(DAY0, 11, 5, 0), S2, 8, WA_VIEW, NULL, NULL);  /* not S2's case */
	size_t e = add(f, at(DAY0, 11, 10, 0), S1, 31, WA_VIEW, NULL, NULL); /* built-in */
	size_t g = add(f, at(DAY0, 11, 15, 0), S3, 30, WA_VIEW, NULL, NULL); /* D2: no path */

	/* Without templates (the default): nothing explains a to d. */
	run(f, NULL);
	for (size_t i = 0; i < f->nev; i++)
		if (i != e) {
			assert_int_equal(f->v[i].expl, WE_NONE);
			assert_true(f->v[i].rules & (1u << WR_UNEXPLAINED));
			assert_null(f->v[i].template_name);
			assert_int_equal(f->v[i].template_index, -1);
		}
	assert_int_equal(f->v[e].expl, WE_DEPT_OPEN);
	assert_true(flagged(f, a, WR_UNEXPLAINED));
	assert_true(flagged(f, c, WR_UNEXPLAINED));

	/* A department case up to 20 days after closing; a case assigned
	 * to the person for someone of the resident's household. */
	watch_thresholds_default(&th);
	set_template(&th.templates[0], "dept_month", dept_path, 3, 20);
	set_template(&th.templates[1], "assigned_hh", hh_path, 4, 0);
	th.ntemplates = 2;
	run(f, &th);
	assert_int_equal(f->v[a].expl, WE_TEMPLATE);
	/* template_name points into the engine's copy of the thresholds,
	 * freed by run(): the index names the same template here. */
	assert_non_null(f->v[a].template_name);
	assert_string_equal(th.templates[f->v[a].template_index].name, "dept_month");
	assert_int_equal(f->v[a].template_index, 0);
	assert_string_equal(f->v[a].case_id, "C1");
	assert_int_equal(f->v[a].rules, 0);
	assert_false(flagged(f, a, -1));
	assert_int_equal(f->v[b].expl, WE_NONE);
	assert_null(f->v[b].template_name);
	assert_true(flagged(f, b, WR_UNEXPLAINED));
	assert_int_equal(f->v[c].expl, WE_TEMPLATE);
	assert_non_null(f->v[c].template_name);
	assert_int_equal(f->v[c].template_index, 1);
	assert_string_equal(f->v[c].case_id, "C2");
	assert_false(flagged(f, c, -1));
	assert_int_equal(f->v[d].expl, WE_NONE);
	assert_true(flagged(f, d, WR_UNEXPLAINED));
	/* The built-in explanations come first. */
	assert_int_equal(f->v[e].expl, WE_DEPT_OPEN);
	assert_null(f->v[e].template_name);
	assert_int_equal(f->v[g].expl, WE_NONE);
	assert_string_equal(watch_expl_name(WE_TEMPLATE), "template");

	/* One day more on within_days moves the edge by a day. */
	th.templates[0].within_days = 19;
	run(f, &th);
	assert_int_equal(f->v[a].expl, WE_NONE);
	th.templates[0].within_days = 21;
	run(f, &th);
	assert_int_equal(f->v[a].expl, WE_TEMPLATE);
	assert_int_equal(f->v[b].expl, WE_TEMPLATE);

	/* Without within_days only an open case counts: C1 is closed. */
	th.templates[0].within_days = 0;
	run(f, &th);
	assert_int_equal(f->v[a].expl, WE_NONE);
	assert_int_equal(f->v[c].expl, WE_TEMPLATE);

	/* A path outside the vocabulary's four explains nothing. */
	set_template(&th.templates[0], "bad", bad_path, 3, 30);
	th.ntemplates = 1;
	run(f, &th);
	assert_int_equal(f->v[a].expl, WE_NONE);
	assert_int_equal(f->v[c].expl, WE_NONE);
	fx_free(f);
}

static void test_alert_json_keyed(void **state)
{
	(void)state;
	const char *refs[] = {"E1"};
	const uint64_t seqs[] = {123456789012ULL};
	struct watch_alert a = {.rule = WR_UNEXPLAINED, .code = "W-UNEXPLAINED",
				.severity = WSEV_MEDIUM, .staff_id = "S1", .staff_name = "x",
				.nevents = 1, .refs = refs, .seqs = seqs, .text_ja = "j",
				.text_en = "e"};
	struct buf b;
	a.day = days_from_civil(2026, 4, 8);
	a.first_ts = a.last_ts = at(a.day, 10, 0, 0);
	buf_init(&b, 1 << 16);
	assert_int_equal(watch_alert_json_keyed(&a, "indexes", &b), 0);
	assert_non_null(strstr(b.data, "\"indexes\":[123456789012],\"ja\""));
	assert_null(strstr(b.data, "\"lines\""));
	buf_release(&b);
}

static char tmpdir[64];

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void rm_tmp(void)
{
	if (strncmp(tmpdir, "/tmp/mamori-watch-", 18) == 0)
		nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static void test_audit_file_bad_input(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	struct watch_audit_opts o = {0};
	struct diag d;
	char path[128], lpath[128];
	fx_build(f);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/mamori-watch-XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	snprintf(path, sizeof(path), "%s/access.jsonl", tmpdir);
	snprintf(lpath, sizeof(lpath), "%s/labels.jsonl", tmpdir);
	write_file(path,
		   "{\"ts\":\"2026-04-08T10:00:00+09:00\",\"staff_id\":\"S1\",\"resident_id\":\"R0060\","
		   "\"system\":\"juki\",\"action\":\"view\",\"zone\":\"lgwan\",\"ref\":\"E1\"}\n"
		   "{\"ts\":\"yesterday\",\"staff_id\":\"S1\",\"action\":\"view\"}\n"
		   "not json\n"
		   "{\"ts\":\"2026-04-08T10:00:00+09:00\",\"staff_id\":\"S1\",\"action\":\"peek\"}\n");
	write_file(lpath, "{\"ref\":\"E1\",\"kind\":\"unexplained\"}\n");
	diag_init(&d, 20);
	o.events_path = path;
	o.labels_path = lpath;
	assert_int_equal(watch_audit_file(f->t, &o, NULL, NULL, &d), ERR_INVALID);
	assert_int_equal(d.errors, 3);
	assert_int_equal(d.items[0].line, 2);
	assert_string_equal(d.items[0].field, "ts");
	assert_int_equal(d.items[1].line, 3);
	assert_int_equal(d.items[2].line, 4);
	assert_string_equal(d.items[2].field, "action");
	diag_release(&d);
	/* A good file: the one unexplained view is found and it is the label. */
	write_file(path,
		   "{\"ts\":\"2026-04-08T10:00:00+09:00\",\"staff_id\":\"S1\",\"resident_id\":\"R0060\","
		   "\"system\":\"juki\",\"action\":\"view\",\"zone\":\"lgwan\",\"ref\":\"E1\"}\n"
		   "{\"ts\":\"2026-04-08T10:01:00+09:00\",\"staff_id\":\"S1\",\"resident_id\":null,"
		   "\"system\":\"juki\",\"action\":\"search\",\"zone\":\"lgwan\",\"query\":\"x\",\"ref\":\"E2\"}\n"
		   /* escapes and Japanese text take the slow path; same result */
		   "{\"ts\":\"2026-04-08T10:02:00+09:00\",\"staff_id\":\"S1\",\"resident_id\":\"R0061\","
		   "\"system\":\"juki\",\"action\":\"view\",\"zone\":\"lgwan\",\"query\":\"中川\",\"ref\":\"E\\u0033\"}\n"
		   "  { \"ts\" : \"2026-04-08T10:03:00+09:00\" , \"staff_id\":\"S1\",\"resident_id\":\"R0062\","
		   "\"action\":\"view\",\"n\":12.5,\"ok\":true,\"result\":\"denied\",\"ref\":\"E4\"}  \n");
	write_file(lpath, "{\"ref\":\"E1\",\"kind\":\"unexplained\"}\n{\"ref\":\"E3\",\"kind\":\"unexplained\"}\n"
			  "{\"ref\":\"E4\",\"kind\":\"unexplained\"}\n");
	struct watch_quality q;
	struct watch_counts c;
	diag_init(&d, 20);
	assert_int_equal(watch_audit_file(f->t, &o, &c, &q, &d), 0);
	assert_int_equal(c.events, 4);
	assert_int_equal(q.labels, 3);
	assert_int_equal(q.unmatched_labels, 0);
	assert_int_equal(q.flagged, 3);
	assert_int_equal(q.flagged_true, 3);
	assert_int_equal(q.hit[0], 3);
	diag_release(&d);
	/* A missing file and a bad label kind name their file. */
	o.events_path = "/nonexistent/access.jsonl";
	o.labels_path = NULL;
	diag_init(&d, 20);
	assert_int_equal(watch_audit_file(f->t, &o, NULL, NULL, &d), ERR_IO);
	diag_release(&d);
	write_file(lpath, "{\"ref\":\"E1\",\"kind\":\"curious\"}\n");
	o.events_path = path;
	o.labels_path = lpath;
	diag_init(&d, 20);
	assert_int_equal(watch_audit_file(f->t, &o, NULL, NULL, &d), ERR_INVALID);
	assert_string_equal(d.items[0].field, "kind");
	diag_release(&d);
	rm_tmp();
	fx_free(f);
}

/* ---- the access-line scanner ---- */

#define LINE_HEAD "{\"ts\":\"2026-04-08T10:00:00+09:00\",\"staff_id\":\"S1\","

/* The line as jansson reads it and as event_parse would take it: NULL
 * fields are absent or null. Returns false when jansson refuses it. */
static bool jansson_fields(const char *line, const char *out[5])
{
	static const char *const names[5] = {"staff_id", "resident_id", "case_id", "query", "ref"};
	json_error_t e;
	json_t *o = json_loads(line, 0, &e);
	static char *keep[5];
	if (!o)
		return false;
	for (int i = 0; i < 5; i++) {
		const char *v = json_string_value(json_object_get(o, names[i]));
		free(keep[i]);
		keep[i] = v ? xstrdup(v) : NULL;
		out[i] = keep[i];
	}
	json_decref(o);
	return true;
}

/* Scan line: when accepted, every field must equal jansson's reading;
 * when refused, the line must be unchanged. Returns the scanner's answer. */
static bool scan_check(struct watch_scan *sc, const char *text, struct watch_event *ev)
{
	/* The event's strings point into the line: it lives until the
	 * next call. */
	static char *line;
	size_t n = strlen(text);
	char *copy = xmalloc(n + 1);
	bool ok;
	free(line);
	line = xmalloc(n + 1);
	memcpy(line, text, n + 1);
	memcpy(copy, text, n + 1);
	memset(ev, 0, sizeof(*ev));
	ok = watch_scan_line(sc, line, n, ev);
	if (ok) {
		const char *jf[5];
		const char *sf[5] = {ev->staff_id, ev->resident_id, ev->case_id, ev->query, ev->ref};
		assert_true(jansson_fields(copy, jf));
		for (int i = 0; i < 5; i++) {
			if (!jf[i])
				assert_null(sf[i]);
			else
				assert_string_equal(sf[i], jf[i]);
		}
		/* The lengths handed on are the strings' own. */
		assert_int_equal(ev->staff_len, strlen(ev->staff_id));
		assert_int_equal(ev->resident_len, ev->resident_id ? strlen(ev->resident_id) : 0);
		assert_int_equal(ev->ref_len, ev->ref ? strlen(ev->ref) : 0);
	} else {
		assert_memory_equal(line, copy, n);
	}
	free(copy);
	return ok;
}

/*
 * The canonical body of an ingested event without jansson
 * (watch_canonical_event) must be byte for byte what jansson gives
 * (json_dumps of json_loadb with JSON_REJECT_DUPLICATES, compact, keys
 * sorted) whenever it answers: on hand-made edge cases, on access events
 * and on random mutations of them. It must answer for the common events.
 */
static long canon_mismatch, canon_fast;

static void canon_check(const char *line, size_t n)
{
	json_t *j = json_loadb(line, n, JSON_REJECT_DUPLICATES, NULL);
	char *want = j && json_is_object(j) ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	char *got = NULL;

	if (watch_canonical_event(line, n, &got)) {
		canon_fast++;
		if (want == NULL || strcmp(got, want) != 0) {
			if (canon_mismatch++ < 5)
				fprintf(stderr, "line  %.*s\nfast  %s\njansson %s\n", (int)n, line, got,
					want ? want : "(refused)");
		}
	}
	free(got);
	free(want);
	json_decref(j);
}

static void test_canonical_event(void **state)
{
	static const char *const cases[] = {
		"{}", " { } ", "{\"b\":1,\"a\":2}", "{\"a\":1,\"a\":2}", "{\"ab\":1,\"a\":2,\"b\":3}",
		"{\"a\":-0}", "{\"a\":0}", "{\"a\":-12}", "{\"a\":01}", "{\"a\":1.5}", "{\"a\":1e3}",
		"{\"a\":123456789012345678}", "{\"a\":1234567890123456789}", "{\"a\":null}",
		"{\"a\":true,\"b\":false}", "{\"a\":tru}", "{\"a\":truex}", "{\"a\":\"x\\ny\"}",
		"{\"a\\u0041\":1}", "{\"a\":\"\x7f\"}", "{\"a\":\"\t\"}", "{\"a\":[1]}", "{\"a\":{}}",
		"{\"a\":1}x", "{\"a\":1,}", "{\"a\" : \"佐藤\" ,\t\"b\":\"é\"}\r", "[1]", "",
		"{\"名前\":\"値\",\"name\":\"v\"}", "{\"a\":\"\xe0\xa4\x80\"}", "{\"a\":\"\xed\x9f\xbf\"}",
		"{\"a\":\"\xf0\x9f\x98\x80\"}", "{\"a\":\"\xe4\xb8\"}", "{\"a\":\"/\"}",
		"{\"a\":1 ,\"b\":2 }", "{\"\":1}", "{\"a\":-}", "{\"a\":\"unterminated}",
	};
	char ev[BENCH_EVENT_MAX + 64], t[BENCH_EVENT_MAX + 64];
	uint64_t rng = 11;
	long fast_events = 0;
	(void)state;

	canon_mismatch = 0;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		canon_check(cases[i], strlen(cases[i]));
	assert_int_equal(canon_mismatch, 0);
	for (uint64_t i = 0; i < 20000; i++) {
		size_t n = bench_event(i, ev);
		long before = canon_fast;

		canon_check(ev, n);
		fast_events += canon_fast - before;
		for (int k = 0; k < 6; k++) {
			size_t tn;

			memcpy(t, ev, n);
			tn = bench_mutate(&rng, t, n, sizeof(t));
			canon_check(t, tn);
		}
	}
	assert_int_equal(canon_mismatch, 0);
	/* The events themselves (strings without escapes, integers) all take
	 * the fast way. */
	assert_int_equal(fast_events, 20000);
	/* And so do the many mutations that leave an event well-formed (about
	 * 28,000 of the 120,000), each compared with jansson above. */
	assert_true(canon_fast >= 40000);
}

static void test_scanner_accepts(void **state)
{
	(void)state;
	struct watch_scan sc = {0};
	struct watch_event ev;
	int64_t ts;
	assert_int_equal(ts_parse("2026-04-08T10:00:00+09:00", 25, &ts, NULL), 0);
	/* The common line. */
	assert_true(scan_check(&sc, LINE_HEAD "\"resident_id\":\"R0060\",\"system\":\"juki\","
				    "\"action\":\"view\",\"zone\":\"lgwan\",\"ref\":\"E1\"}\n", &ev));
	assert_int_equal(ev.ts, ts);
	assert_int_equal(ev.action, WA_VIEW);
	assert_string_equal(ev.resident_id, "R0060");
	assert_false(ev.denied);
	/* The same timestamp again comes from the scanner's memory; another
	 * one is parsed. */
	assert_true(scan_check(&sc, "{\"ts\":\"2026-04-08T10:00:01+09:00\",\"staff_id\":\"S1\","
				    "\"action\":\"search\",\"query\":null,\"result\":\"denied\"}", &ev));
	assert_int_equal(ev.ts, ts + 1);
	assert_true(ev.denied);
	assert_null(ev.resident_id);
	/* Japanese text (UTF-8) in the scanner, no escapes. */
	assert_true(scan_check(&sc, LINE_HEAD "\"resident_id\":null,\"action\":\"search\","
				    "\"query\":\"中川\",\"terminal\":\"端末 1\"}", &ev));
	assert_string_equal(ev.query, "中川");
	/* Runs of two- and three-byte sequences (and a four-byte one) of
	 * every length around the 16-byte blocks. */
	assert_true(scan_check(&sc, LINE_HEAD "\"resident_id\":null,\"action\":\"search\","
				    "\"query\":\"ésumé 佐藤 花子 𝔸 ÿ ߿ 〇 Ｚ\",\"terminal\":\"abcdefghijklmnop窓口\"}",
			       &ev));
	assert_string_equal(ev.query, "ésumé 佐藤 花子 𝔸 ÿ ߿ 〇 Ｚ");
	/* Escapes, decoded as jansson decodes them: the simple ones, \u in
	 * each UTF-8 length, a surrogate pair. */
	assert_true(scan_check(&sc, LINE_HEAD "\"resident_id\":\"R\\u0030060\",\"action\":\"view\","
				    "\"query\":\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\","
				    "\"case_id\":\"\\u00e9\\u4E2D\\ud83d\\ude00\",\"ref\":\"E\\u0033\"}", &ev));
	assert_string_equal(ev.resident_id, "R0060");
	assert_string_equal(ev.query, "a\"b\\c/d\b\f\n\r\t");
	assert_string_equal(ev.case_id, "\xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80");
	assert_string_equal(ev.ref, "E3");
	/* Fields we do not read may hold numbers, booleans, null and any
	 * string; whitespace anywhere JSON allows it. */
	assert_true(scan_check(&sc, "  {  \"ts\" : \"2026-04-08T10:00:00+09:00\" ,\t\"staff_id\":\"S1\","
				    "\"action\":\"print\",\"resident_id\":\"R1\",\"n\":-12.5,\"z\":0,"
				    "\"t\":true,\"f\":false,\"x\":null,\"名前\":\"値\"} \r\n", &ev));
	assert_int_equal(ev.action, WA_PRINT);
	/* A repeated key keeps its last value, as in jansson. */
	assert_true(scan_check(&sc, LINE_HEAD "\"action\":\"view\",\"resident_id\":\"R1\","
				    "\"ref\":\"A\",\"ref\":\"B\",\"resident_id\":\"R2\"}", &ev));
	assert_string_equal(ev.ref, "B");
	assert_string_equal(ev.resident_id, "R2");
	/* A very long line: a 200,000-byte ref and a 100,000-byte query of
	 * Japanese text. */
	{
		struct buf b;
		buf_init(&b, BUF_MAX_DEFAULT);
		assert_int_equal(buf_puts(&b, LINE_HEAD "\"action\":\"search\",\"query\":\""), 0);
		for (int i = 0; i < 100000 / 3; i++)
			assert_int_equal(buf_puts(&b, "検"), 0);
		assert_int_equal(buf_puts(&b, "\",\"ref\":\""), 0);
		for (int i = 0; i < 200000; i++)
			assert_int_equal(buf_putc(&b, (char)('a' + i % 26)), 0);
		assert_int_equal(buf_puts(&b, "\\n\"}"), 0);
		assert_int_equal(buf_putc(&b, '\0'), 0);
		assert_true(scan_check(&sc, b.data, &ev));
		assert_int_equal(strlen(ev.ref), 200001);
		assert_int_equal(strlen(ev.query), 100000 / 3 * 3);
		buf_release(&b);
	}
	watch_scan_release(&sc);
	/* Without a scratch buffer a string with escapes is left to jansson. */
	assert_false(scan_check(NULL, LINE_HEAD "\"action\":\"search\",\"ref\":\"E\\u0033\"}", &ev));
	assert_true(scan_check(NULL, LINE_HEAD "\"action\":\"search\",\"query\":\"中\"}", &ev));
}

static void test_scanner_refuses(void **state)
{
	(void)state;
	struct watch_scan sc = {0};
	struct watch_event ev;
	/* Every line here is left untouched for jansson (which then reports
	 * it or, for the last group, parses it). */
	static const char *const bad[] = {
		/* each field's bad values */
		"{\"ts\":12,\"staff_id\":\"S1\",\"action\":\"view\",\"resident_id\":\"R1\"}",
		"{\"ts\":\"yesterday\",\"staff_id\":\"S1\",\"action\":\"view\",\"resident_id\":\"R1\"}",
		"{\"ts\":\"2026-02-30T10:00:00+09:00\",\"staff_id\":\"S1\",\"action\":\"view\",\"resident_id\":\"R1\"}",
		"{\"ts\":null,\"staff_id\":\"S1\",\"action\":\"view\",\"resident_id\":\"R1\"}",
		"{\"staff_id\":\"S1\",\"action\":\"view\",\"resident_id\":\"R1\"}",
		LINE_HEAD "\"action\":\"peek\",\"resident_id\":\"R1\"}",
		LINE_HEAD "\"action\":\"views\",\"resident_id\":\"R1\"}",
		LINE_HEAD "\"action\":null,\"resident_id\":\"R1\"}",
		LINE_HEAD "\"action\":3,\"resident_id\":\"R1\"}",
		LINE_HEAD "\"resident_id\":\"R1\"}",
		"{\"ts\":\"2026-04-08T10:00:00+09:00\",\"staff_id\":\"\",\"action\":\"view\",\"resident_id\":\"R1\"}",
		"{\"ts\":\"2026-04-08T10:00:00+09:00\",\"staff_id\":7,\"action\":\"view\",\"resident_id\":\"R1\"}",
		"{\"ts\":\"2026-04-08T10:00:00+09:00\",\"staff_id\":null,\"action\":\"view\",\"resident_id\":\"R1\"}",
		"{\"ts\":\"2026-04-08T10:00:00+09:00\",\"action\":\"view\",\"resident_id\":\"R1\"}",
		LINE_HEAD "\"action\":\"view\",\"resident_id\":5}",
		LINE_HEAD "\"action\":\"view\",\"resident_id\":null}",
		LINE_HEAD "\"action\":\"view\"}",
		LINE_HEAD "\"action\":\"view\",\"resident_id\":\"R1\",\"case_id\":1}",
		LINE_HEAD "\"action\":\"search\",\"query\":[\"x\"]}",
		LINE_HEAD "\"action\":\"view\",\"resident_id\":\"R1\",\"ref\":true}",
		LINE_HEAD "\"action\":\"view\",\"resident_id\":\"R1\",\"result\":\"maybe\"}",
		LINE_HEAD "\"action\":\"view\",\"resident_id\":\"R1\",\"result\":0}",
		/* strings JSON or UTF-8 refuse */
		LINE_HEAD "\"action\":\"search\",\"query\":\"\\ud800\"}",
		LINE_HEAD "\"action\":\"search\",\"query\":\"\\udc00x\"}",
		LINE_HEAD "\"action\":\"search\",\"query\":\"\\ud800\\u0041\"}",
		LINE_HEAD "\"action\":\"search\",\"query\":\"\\u0000\"}",
		LINE_HEAD "\"action\":\"search\",\"query\":\"\\u12G4\"}",
		LINE_HEAD "\"action\":\"search\",\"query\":\"\\x41\"}",
		LINE_HEAD "\"action\":\"search\",\"query\":\"\\u12\"}",
		LINE_HEAD "\"action\":\"search\",\"query\":\"\xc0\x80\"}",
		LINE_HEAD "\"action\":\"search\",\"query\":\"\xe0\x80\x80\"}",
		LINE_HEAD "\"action\":\"search\",\"query\":\"\xf0\x80\x80\x80\"}",
		LINE_HEAD "\"action\":\"search\",\"query\":\"\xe4\xb8\x41\"}",
		LINE_HEAD "\"action\":\"search\",\"query\":\"\xf5\x80\x80\x80\"}",
		LINE_HEAD "\"action\":\"search\",\"query\":\"\xed\xa0\x80\"}",
		LINE_HEAD "\"action\":\"search\",\"query\":\"\xf4\x90\x80\x80\"}",
		LINE_HEAD "\"action\":\"search\",\"query\":\"\xe4\xb8\"}",
		LINE_HEAD "\"action\":\"search\",\"query\":\"\x80\"}",
		LINE_HEAD "\"action\":\"search\",\"query\":\"\xff\"}",
		LINE_HEAD "\"action\":\"search\",\"query\":\"tab\there\"}",
		LINE_HEAD "\"action\":\"search\",\"x\":\"\xe4\xb8\"}",
		/* bad sequences after a run of good ones (the run's fast path
		 * must hand them to the careful one), a control byte after 16
		 * and more plain bytes */
		LINE_HEAD "\"action\":\"search\",\"query\":\"佐藤花子\xed\xa0\x80\"}",
		LINE_HEAD "\"action\":\"search\",\"query\":\"佐藤\xe0\x80\x80花子\"}",
		LINE_HEAD "\"action\":\"search\",\"query\":\"佐藤\xe4\x41\xb8\"}",
		LINE_HEAD "\"action\":\"search\",\"query\":\"é佐藤\xc3\"}",
		LINE_HEAD "\"action\":\"search\",\"query\":\"佐藤\xc1\xbf\"}",
		LINE_HEAD "\"action\":\"search\",\"query\":\"abcdefghijklmnopqrstuvwxyz\x01\"}",
		LINE_HEAD "\"action\":\"search\",\"query\":\"abcdefghijklmnopq\x7f\x1f\"}",
		/* structure */
		"",
		"not json",
		"[]",
		"{}",
		LINE_HEAD "\"action\":\"search\"",
		LINE_HEAD "\"action\":\"search\"}x",
		LINE_HEAD "\"action\":\"search\",}",
		LINE_HEAD "\"action\" \"search\"}",
		LINE_HEAD "\"action\":\"search\",\"q\":tru}",
		LINE_HEAD "\"action\":\"search\",\"q\":nul}",
		LINE_HEAD "\"action\":\"search\",\"q\":01}",
		LINE_HEAD "\"action\":\"search\",\"q\":1.}",
		LINE_HEAD "\"action\":\"search\",\"q\":-}",
		LINE_HEAD "\"action\":\"search\",\"q\":\"unterminated}",
		/* valid JSON left to jansson: nesting, a key with an escape,
		 * numbers that might be too large, an escaped timestamp */
		LINE_HEAD "\"action\":\"search\",\"extra\":{\"a\":1}}",
		LINE_HEAD "\"action\":\"search\",\"extra\":[1,2]}",
		LINE_HEAD "\"action\":\"search\",\"ref\\u0041\":\"x\"}",
		LINE_HEAD "\"action\":\"search\",\"big\":123456789012345678901234567890}",
		LINE_HEAD "\"action\":\"search\",\"e\":1e400}",
		"{\"ts\":\"2026-04-08T10:00:00\\u002b09:00\",\"staff_id\":\"S1\",\"action\":\"search\"}",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		if (scan_check(&sc, bad[i], &ev))
			fail_msg("accepted: %s", bad[i]);
	}
	watch_scan_release(&sc);
}

/* The file audit with the scanner: the same diagnostics as jansson's, in
 * line order (a time-order error before a later parse error), a line far
 * longer than the reader's block, and a last line without a newline. */
static void test_audit_file_scanner(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	struct watch_audit_opts o = {0};
	struct watch_counts c;
	struct diag d;
	struct buf b;
	char path[128];
	fx_build(f);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/mamori-watch-XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	snprintf(path, sizeof(path), "%s/access.jsonl", tmpdir);
	write_file(path,
		   "{\"ts\":\"2026-04-09T10:00:00+09:00\",\"staff_id\":\"S1\",\"resident_id\":\"R0060\",\"action\":\"view\"}\n"
		   "\n"
		   "{\"ts\":\"2026-04-08T10:00:00+09:00\",\"staff_id\":\"S1\",\"resident_id\":\"R0061\",\"action\":\"view\"}\n"
		   "{\"ts\":\"2026-04-09T10:00:00+09:00\",\"staff_id\":\"S1\",\"resident_id\":5,\"action\":\"view\"}\n"
		   "{\"ts\":\"2026-04-09T10:00:01+09:00\",\"staff_id\":\"S1\",\"resident_id\":\"R0062\",\"action\":\"view\",\"query\":\"\\ud800\"}\n"
		   "{\"ts\":\"2026-04-09T10:00:02+09:00\",\"staff_id\":\"S1\",\"resident_id\":\"R0063\",\"action\":\"view\",\"result\":\"maybe\"}");
	diag_init(&d, 20);
	o.events_path = path;
	memset(&c, 0, sizeof(c));
	assert_int_equal(watch_audit_file(f->t, &o, &c, NULL, &d), ERR_INVALID);
	assert_int_equal(c.events, 1); /* the first line; the others are refused */
	assert_int_equal(d.errors, 4);
	assert_int_equal(d.items[0].line, 3);
	assert_string_equal(d.items[0].field, "ts");
	assert_int_equal(d.items[1].line, 4);
	assert_string_equal(d.items[1].field, "resident_id");
	assert_int_equal(d.items[2].line, 5); /* jansson: invalid Unicode */
	assert_null(d.items[2].field);
	assert_int_equal(d.items[3].line, 6);
	assert_string_equal(d.items[3].field, "result");
	diag_release(&d);
	/* A 9 MB line (more than twice the reader's block) between two short
	 * ones, and no newline at the end. */
	buf_init(&b, BUF_MAX_DEFAULT);
	assert_int_equal(buf_puts(&b, "{\"ts\":\"2026-04-08T10:00:00+09:00\",\"staff_id\":\"S1\",\"resident_id\":\"R0060\",\"action\":\"view\",\"ref\":\"E1\"}\n"
				      "{\"ts\":\"2026-04-08T10:00:01+09:00\",\"staff_id\":\"S1\",\"resident_id\":\"R0061\",\"action\":\"view\",\"pad\":\""), 0);
	for (int i = 0; i < 9 * 1024 * 1024; i++)
		assert_int_equal(buf_putc(&b, 'x'), 0);
	assert_int_equal(buf_puts(&b, "\"}\n{\"ts\":\"2026-04-08T10:00:02+09:00\",\"staff_id\":\"S1\",\"resident_id\":\"R0062\",\"action\":\"view\"}"), 0);
	assert_int_equal(buf_putc(&b, '\0'), 0);
	write_file(path, b.data);
	buf_release(&b);
	memset(&c, 0, sizeof(c));
	diag_init(&d, 20);
	assert_int_equal(watch_audit_file(f->t, &o, &c, NULL, &d), 0);
	assert_int_equal(d.errors, 0);
	assert_int_equal(c.events, 3);
	assert_int_equal(c.unexplained, 3);
	diag_release(&d);
	rm_tmp();
	fx_free(f);
}

/* The ledger audit over hand-made records: other kinds are skipped, a
 * decision is an access, malformed bodies are named by index and the
 * audit still reads to the end. */
static void append(struct ledger *l, const char *kind, const char *body)
{
	struct audit_rec rec = {kind, TS_NONE, "test", body, strlen(body)};
	assert_int_equal(ledger_append(l, &rec, NULL), 0);
}

struct lctx {
	char codes[512];
	uint64_t idx[16];
	size_t n;
};

static int lcollect(const struct watch_alert *a, void *ctx)
{
	struct lctx *c = ctx;
	size_t o = strlen(c->codes);
	snprintf(c->codes + o, sizeof(c->codes) - o, "%s ", a->code);
	for (size_t i = 0; i < a->nevents && c->n < ARRAY_SIZE(c->idx); i++)
		c->idx[c->n++] = a->seqs[i];
	return 0;
}

static void test_audit_ledger_records(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	struct ledger *l = NULL;
	struct watch_ledger_opts o = {0};
	struct watch_ledger_stats st;
	struct watch_counts c;
	struct lctx lc = {0};
	struct diag d;
	char dir[160];
	fx_build(f);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/mamori-watch-XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	snprintf(dir, sizeof(dir), "%s/ledger", tmpdir);
	assert_int_equal(ledger_open(dir, LEDGER_WRITE, &l), 0);
	append(l, "import", "{\"files\":3}");
	/* 1: Saturday 2026-04-11, an access to a record with no case. */
	append(l, "access",
	       "{\"action\":\"view\",\"ref\":\"E1\",\"resident_id\":\"R0060\",\"result\":\"ok\","
	       "\"staff_id\":\"S1\",\"system\":\"juki\",\"ts\":\"2026-04-11T10:00:00+09:00\",\"zone\":\"lgwan\"}");
	append(l, "access", "{\"action\":\"view\",\"staff_id\":\"S1\",\"ts\":\"soon\"}");
	/* 3: a denied decision on Wednesday 2026-04-08 (earlier: reordered). */
	append(l, "decision",
	       "{\"request\":{\"staff_id\":\"S1\",\"action\":\"view\",\"resident_id\":\"R0061\","
	       "\"system\":\"juki\",\"zone\":\"lgwan\",\"terminal\":null,\"case_id\":null,\"mfa\":true,"
	       "\"ts\":\"2026-04-08T10:00:00+09:00\"},\"decision\":\"deny\",\"reasons\":[],"
	       "\"obligations\":[]}");
	append(l, "decision", "{\"decision\":\"allow\"}");
	/* 5: Japanese text in the body takes the slow path. */
	append(l, "access",
	       "{\"action\":\"search\",\"query\":\"山田\",\"ref\":\"E5\",\"resident_id\":null,"
	       "\"staff_id\":\"S1\",\"system\":\"juki\",\"ts\":\"2026-04-11T10:05:00+09:00\",\"zone\":\"lgwan\"}");
	diag_init(&d, 20);
	o.from_day = o.to_day = DAY_NONE;
	o.fn = lcollect;
	o.ctx = &lc;
	assert_int_equal(watch_audit_ledger(f->t, l, &o, &c, &st, NULL, &d), ERR_INVALID);
	assert_int_equal(d.errors, 2);
	assert_string_equal(d.items[0].file, "ledger#2");
	assert_string_equal(d.items[0].field, "ts");
	assert_string_equal(d.items[1].file, "ledger#4");
	assert_string_equal(d.items[1].field, "request");
	diag_release(&d);
	assert_int_equal(st.records, 6);
	assert_int_equal(st.access, 2);
	assert_int_equal(st.decision, 1);
	assert_int_equal(c.events, 3);
	assert_int_equal(c.days, 2);
	/* 04-08 first (the decision: unexplained), then 04-11 (off hours
	 * and unexplained for record 1). */
	assert_int_equal(lc.idx[0], 3);
	assert_non_null(strstr(lc.codes, "W-UNEXPLAINED"));
	assert_non_null(strstr(lc.codes, "W-OFF-HOURS"));
	/* A period: only 04-11. */
	memset(&lc, 0, sizeof(lc));
	o.from_day = days_from_civil(2026, 4, 9);
	o.to_day = days_from_civil(2026, 4, 11);
	diag_init(&d, 20);
	assert_int_equal(watch_audit_ledger(f->t, l, &o, &c, &st, NULL, &d), ERR_INVALID);
	assert_int_equal(st.decision, 0);
	assert_int_equal(st.outside, 1);
	assert_int_equal(c.events, 2);
	for (size_t i = 0; i < lc.n; i++)
		assert_int_not_equal(lc.idx[i], 3);
	diag_release(&d);
	/* Outside every event: nothing, and the malformed records still
	 * count as errors. */
	o.from_day = o.to_day = days_from_civil(2026, 5, 1);
	diag_init(&d, 20);
	assert_int_equal(watch_audit_ledger(f->t, l, &o, &c, &st, NULL, &d), ERR_INVALID);
	assert_int_equal(c.events, 0);
	assert_int_equal(st.outside, 3);
	diag_release(&d);
	ledger_close(l);
	rm_tmp();
	fx_free(f);
}

/* ---- end to end on generated data ---- */

static void test_end_to_end_generated(void **state)
{
	(void)state;
	struct gen_opts go = {0};
	struct gen_stats gs;
	struct diag d;
	struct store *st = NULL;
	struct registry_data *rd = NULL;
	struct watch_tables *t = NULL;
	struct import_stats is[8];
	size_t nis = 0;
	char data[128], db[160], err[256], ev[192], lab[192];
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/mamori-watch-XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	snprintf(data, sizeof(data), "%s/data", tmpdir);
	snprintf(db, sizeof(db), "%s/t.db", tmpdir);
	diag_init(&d, 20);
	go.scale = GEN_S;
	go.seed = 11;
	go.outdir = data;
	go.residents = 2000;
	go.staff = 40;
	go.events = 40000;
	assert_int_equal(gen_run(&go, &gs, &d), 0);
	assert_int_equal(store_open(db, true, &st, err, sizeof(err)), 0);
	assert_int_equal(store_migrate(st), 0);
	struct import_opts io = {data, NULL, "test", false, 20};
	assert_int_equal(registry_import(st, NULL, &io, &d, is, &nis), 0);
	assert_int_equal(registry_load(st, &rd), 0);
	assert_int_equal(watch_tables_build(rd, &t), 0);
	snprintf(ev, sizeof(ev), "%s/access.jsonl", data);
	snprintf(lab, sizeof(lab), "%s/labels.jsonl", data);
	struct watch_audit_opts o = {.events_path = ev, .labels_path = lab};
	struct watch_counts c;
	struct watch_quality q;
	assert_int_equal(watch_audit_file(t, &o, &c, &q, &d), 0);
	assert_int_equal(c.events, gs.events);
	assert_int_equal(q.labels, gs.labels);
	assert_int_equal(q.unmatched_labels, 0);
	size_t hit = 0;
	for (size_t k = 0; k < q.nkinds; k++) {
		print_message("%-12s labels %4zu found %4zu flagged %4zu precision %.3f\n",
			      q.kind_names[k], q.labelled[k], q.hit[k], q.flagged_by_kind[k],
			      q.flagged_by_kind[k] ? (double)q.flagged_true_by_kind[k] / (double)q.flagged_by_kind[k] : 0.0);
		hit += q.hit[k];
		/* Every kind with enough labels to measure is found at 0.8 or
		 * more (S scale measures 0.97-1.0 per kind; small data have
		 * a handful of labels per kind, where one miss costs 0.1). */
		if (q.labelled[k] >= 10)
			assert_true((double)q.hit[k] >= 0.8 * (double)q.labelled[k]);
	}
	/* Overall: recall 0.9 and precision 0.85 at least (S scale measures
	 * 0.99 and 0.98-0.99; the floors leave room for small-sample noise
	 * and fail on any rule that goes silent or floods). */
	print_message("overall: labels %zu found %zu flagged %zu true %zu\n", q.labels, hit, q.flagged,
		      q.flagged_true);
	assert_true((double)hit >= 0.9 * (double)q.labels);
	assert_true((double)q.flagged_true >= 0.85 * (double)q.flagged);
	/* The hard negatives were generated and did not flood the alerts. */
	for (int h = 0; h < GEN_H_COUNT; h++)
		assert_true(gs.hard[h] > 0);
	assert_true(q.flagged - q.flagged_true < gs.events / 500);
	watch_tables_free(t);
	registry_data_free(rd);
	store_close(st);
	diag_release(&d);
	rm_tmp();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_action_names),
		cmocka_unit_test(test_department_case_and_grace),
		cmocka_unit_test(test_counter_flow),
		cmocka_unit_test(test_strongest_evidence),
		cmocka_unit_test(test_household_certificate),
		cmocka_unit_test(test_namesakes_after_search),
		cmocka_unit_test(test_declared_case),
		cmocka_unit_test(test_dv_support),
		cmocka_unit_test(test_relative_neighbour_surname),
		cmocka_unit_test(test_vip_and_staff_flag),
		cmocka_unit_test(test_office_hours_and_holidays),
		cmocka_unit_test(test_employment_training_pledge),
		cmocka_unit_test(test_bulk_scan_threshold),
		cmocka_unit_test(test_export_volume_threshold),
		cmocka_unit_test(test_search_without_followup),
		cmocka_unit_test(test_alert_grouping_and_order),
		cmocka_unit_test(test_alert_json),
		cmocka_unit_test(test_thresholds_default_agree),
		cmocka_unit_test(test_thresholds_applied),
		cmocka_unit_test(test_declared_templates),
		cmocka_unit_test(test_alert_json_keyed),
		cmocka_unit_test(test_audit_file_bad_input),
		cmocka_unit_test(test_canonical_event),
		cmocka_unit_test(test_scanner_accepts),
		cmocka_unit_test(test_scanner_refuses),
		cmocka_unit_test(test_audit_file_scanner),
		cmocka_unit_test(test_audit_ledger_records),
		cmocka_unit_test(test_end_to_end_generated),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
