/* Unit tests for src/policy: the policy file, the compiled decider at the
 * edges of every rule, the decision request, the engine. */
#include "base/base.h"

#include <setjmp.h>
#include <cmocka.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/diag.h"
#include "base/i18n.h"
#include "base/timeutil.h"
#include "policy/policy.h"
#include "registry/registry.h"
#include "watch/thresholds.h"

/* ---- helpers ---- */

static int64_t ts(const char *s)
{
	int64_t v;
	int off;
	assert_int_equal(ts_parse(s, strlen(s), &v, &off), 0);
	return v;
}

static int32_t day(const char *s)
{
	int32_t v;
	assert_int_equal(date_parse(s, strlen(s), &v), 0);
	return v;
}

static struct strlist list(struct arena *a, const char *csv)
{
	struct strlist l = {NULL, 0};
	const char *p = csv;
	if (!*csv)
		return l;
	l.v = arena_zalloc(a, 8 * sizeof(char *));
	while (*p) {
		const char *e = strchr(p, ',');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		l.v[l.n++] = arena_strndup(a, p, n);
		p += n + (e ? 1 : 0);
	}
	return l;
}

/*
 * The registry the decisions below run on (arrays sorted by id, cases by
 * resident then opening time, as registry_load gives them).
 *   systems: docs (lgwan), juki (mynumber, mode from the policy), tax (mynumber, enforce)
 *   D1 uses juki and docs; D2 uses tax.
 *   S1 D1 clerk, zones mynumber+lgwan, employed 2020-04-01..2026-03-31,
 *      training 2025-04-01, pledge 2020-04-01
 *   S2 D1 clerk+dv_support_handler+mynumber_export, zone mynumber, from 2010,
 *      training 2026-01-10, pledge 2026-03-03
 *   S3 D2 clerk, zone mynumber, no training, no pledge
 *   S4 D1 clerk+dv_support_handler, zones mynumber, assigned to nothing
 *   R1: case C1 of D1 (S1), 2026-03-01 09:00 to 2026-03-10 12:00 JST
 *   R2 (dv_support): case C2 of D1 assigned to S2, open since 2026-03-01 09:00
 *   R3: case C3 of D2 (S3), open since 2026-03-05 10:00
 */
static struct registry_data *fixture(void)
{
	struct registry_data *rd = xcalloc(1, sizeof(*rd));
	struct arena *a = arena_new(8192);
	rd->arena = a;

	rd->nsystems = 3;
	rd->systems = arena_zalloc(a, 3 * sizeof(*rd->systems));
	rd->systems[0] = (struct reg_system){"docs", "文書管理", "lgwan", "2", "2", "1", NTK_MONITOR};
	rd->systems[1] = (struct reg_system){"juki", "住民記録", "mynumber", "3B", "2", "2", NTK_DEFAULT};
	rd->systems[2] = (struct reg_system){"tax", "税務", "mynumber", "3B", "2", "2", NTK_ENFORCE};

	rd->ndepartments = 2;
	rd->departments = arena_zalloc(a, 2 * sizeof(*rd->departments));
	rd->departments[0] = (struct reg_department){"D1", "戸籍住民課", NULL, list(a, "juki,docs")};
	rd->departments[1] = (struct reg_department){"D2", "税務課", NULL, list(a, "tax")};

	rd->nstaff = 4;
	rd->staff = arena_zalloc(a, 4 * sizeof(*rd->staff));
	rd->staff[0] = (struct reg_staff){.id = "S1", .name = "一郎", .surname = "山田", .dept = "D1",
					  .roles = list(a, "clerk"), .zones = list(a, "mynumber,lgwan"),
					  .start = day("2020-04-01"), .end = day("2026-03-31"),
					  .training = day("2025-04-01"), .pledge = day("2020-04-01")};
	rd->staff[1] = (struct reg_staff){.id = "S2", .name = "花子", .surname = "佐藤", .dept = "D1",
					  .roles = list(a, "clerk,dv_support_handler,mynumber_export"),
					  .zones = list(a, "mynumber"), .start = day("2010-01-01"),
					  .end = DAY_NONE, .training = day("2026-01-10"),
					  .pledge = day("2026-03-03")};
	rd->staff[2] = (struct reg_staff){.id = "S3", .name = "次郎", .surname = "鈴木", .dept = "D2",
					  .roles = list(a, "clerk"), .zones = list(a, "mynumber"),
					  .start = day("2015-04-01"), .end = DAY_NONE,
					  .training = DAY_NONE, .pledge = DAY_NONE};
	rd->staff[3] = (struct reg_staff){.id = "S4", .name = "三郎", .surname = "高橋", .dept = "D1",
					  .roles = list(a, "clerk,dv_support_handler"),
					  .zones = list(a, "mynumber"), .start = day("2015-04-01"),
					  .end = DAY_NONE, .training = day("2026-02-01"),
					  .pledge = day("2015-04-01")};

	rd->nresidents = 3;
	rd->residents = arena_zalloc(a, 3 * sizeof(*rd->residents));
	rd->residents[0] = (struct reg_resident){.id = "R1", .surname = "田中", .flags = list(a, "")};
	rd->residents[1] = (struct reg_resident){.id = "R2", .surname = "伊藤",
						 .flags = list(a, "dv_support")};
	rd->residents[2] = (struct reg_resident){.id = "R3", .surname = "渡辺", .flags = list(a, "")};

	rd->ncases = 3;
	rd->cases = arena_zalloc(a, 3 * sizeof(*rd->cases));
	rd->cases[0] = (struct reg_case){"C1", "R1", "D1", "certificate", "S1",
					 ts("2026-03-01T09:00:00+09:00"), ts("2026-03-10T12:00:00+09:00")};
	rd->cases[1] = (struct reg_case){"C2", "R2", "D1", "dv_support", "S2",
					 ts("2026-03-01T09:00:00+09:00"), TS_NONE};
	rd->cases[2] = (struct reg_case){"C3", "R3", "D2", "tax", "S3",
					 ts("2026-03-05T10:00:00+09:00"), TS_NONE};
	return rd;
}

struct fx {
	struct registry_data *rd;
	struct policy *p;
	struct decider *dc;
};

static struct decider *build_with(struct fx *f, const char *text)
{
	struct diag d;
	diag_init(&d, 50);
	decider_free(f->dc);
	policy_free(f->p);
	f->dc = NULL;
	f->p = NULL;
	if (policy_parse("policy.yaml", text, strlen(text), &f->p, &d) < 0) {
		diag_print(&d, stderr);
		fail_msg("policy did not parse");
	}
	assert_int_equal(decider_build(f->p, f->rd, &f->dc, &d), 0);
	diag_release(&d);
	return f->dc;
}

static int setup(void **state)
{
	struct fx *f = xcalloc(1, sizeof(*f));
	i18n_set_thread(LANG_EN);
	f->rd = fixture();
	build_with(f, policy_default_text());
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	decider_free(f->dc);
	policy_free(f->p);
	registry_data_free(f->rd);
	free(f);
	return 0;
}

/* Decide and render as "allow|deny [alert] [deny:code ...] [warn:code ...]"
 * in rule order, then compare. */
static void check(struct fx *f, const char *staff, const char *action, const char *resident,
		  const char *system, const char *zone, bool mfa, const char *when, const char *want)
{
	struct decide_req rq = {0};
	struct decide_res res;
	char got[512];
	size_t n;
	enum action a;

	assert_int_equal(action_parse(action, strlen(action), &a), 0);
	rq.staff_id = staff;
	rq.action = a;
	rq.resident_id = resident;
	rq.system = system;
	rq.zone = zone;
	rq.mfa = mfa;
	rq.ts = ts(when);
	decide(f->dc, &rq, &res);
	n = (size_t)snprintf(got, sizeof(got), "%s", res.decision == DECISION_ALLOW ? "allow" : "deny");
	for (unsigned i = 0; decider_obligation_name(f->dc, i); i++)
		if (res.obligations & ((uint64_t)1 << i))
			n += (size_t)snprintf(got + n, sizeof(got) - n, " %s",
					      decider_obligation_name(f->dc, i));
	for (uint32_t i = 0; i < res.nreasons; i++) {
		n += (size_t)snprintf(got + n, sizeof(got) - n, " %s:%s",
				      res.reasons[i].effect == EFFECT_DENY ? "deny" : "warn",
				      res.reasons[i].code);
		assert_non_null(res.reasons[i].ja);
		assert_non_null(res.reasons[i].en);
		assert_true(strlen(res.reasons[i].ja) > 0 && strlen(res.reasons[i].en) > 0);
	}
	assert_true(n < sizeof(got));
	if (strcmp(got, want))
		fail_msg("%s %s %s on %s at %s: got \"%s\", want \"%s\"", staff, action,
			 resident ? resident : "-", system, when, got, want);
	assert_int_equal(res.ledger_index, UINT64_MAX);
}

#define MY "mynumber"

/* ---- decisions ---- */

static void test_allow_plain(void **state)
{
	struct fx *f = *state;
	check(f, "S1", "view", "R1", "juki", MY, true, "2026-03-05T10:00:00+09:00", "allow");
	check(f, "S1", "update", "R1", "juki", MY, true, "2026-03-05T10:00:00+09:00", "allow");
	/* search needs no resident and no case */
	check(f, "S1", "search", NULL, "juki", MY, true, "2026-03-05T10:00:00+09:00", "allow");
}

static void test_case_grace_edges(void **state)
{
	struct fx *f = *state;
	/* C1 closed 2026-03-10 12:00 JST: exactly 7 x 24 h later still counts */
	check(f, "S1", "view", "R1", "juki", MY, true, "2026-03-17T12:00:00+09:00", "allow");
	check(f, "S1", "view", "R1", "juki", MY, true, "2026-03-17T12:00:01+09:00",
	      "allow alert warn:no_case");
	/* the same instants written in UTC */
	check(f, "S1", "view", "R1", "juki", MY, true, "2026-03-17T03:00:00Z", "allow");
	check(f, "S1", "view", "R1", "juki", MY, true, "2026-03-17T03:00:01Z",
	      "allow alert warn:no_case");
	/* a look-up one second before the case was opened is not explained by it */
	check(f, "S1", "view", "R1", "juki", MY, true, "2026-03-01T08:59:59+09:00",
	      "allow alert warn:no_case");
	check(f, "S1", "view", "R1", "juki", MY, true, "2026-03-01T09:00:00+09:00", "allow");
	/* tax is enforce: a case opened at 10:00 does not explain 09:59:59 */
	check(f, "S3", "view", "R3", "tax", MY, true, "2026-03-05T09:59:59+09:00",
	      "deny deny:training_expired deny:no_pledge deny:no_case");
	check(f, "S3", "view", "R3", "tax", MY, true, "2026-03-05T10:00:00+09:00",
	      "deny deny:training_expired deny:no_pledge");
}

static void test_training_edges(void **state)
{
	struct fx *f = *state;
	/* S2 trained 2026-01-10: 2027-01-10 is the 365th day after, 01-11 the 366th */
	check(f, "S2", "view", "R2", "juki", MY, true, "2027-01-10T23:59:59+09:00", "allow alert");
	check(f, "S2", "view", "R2", "juki", MY, true, "2027-01-11T00:00:00+09:00",
	      "deny alert deny:training_expired");
	/* midnight JST is 15:00 UTC the day before */
	check(f, "S2", "view", "R2", "juki", MY, true, "2027-01-10T14:59:59Z", "allow alert");
	check(f, "S2", "view", "R2", "juki", MY, true, "2027-01-10T15:00:00Z",
	      "deny alert deny:training_expired");
	/* no training at all */
	check(f, "S3", "search", NULL, "tax", MY, true, "2026-03-05T10:00:00+09:00",
	      "deny deny:training_expired deny:no_pledge");
}

static void test_pledge_edges(void **state)
{
	struct fx *f = *state;
	/* S2's pledge is dated 2026-03-03: on that day it counts, the day before not */
	check(f, "S2", "view", "R2", "juki", MY, true, "2026-03-02T23:59:59+09:00",
	      "deny alert deny:no_pledge");
	check(f, "S2", "view", "R2", "juki", MY, true, "2026-03-03T00:00:00+09:00", "allow alert");
}

static void test_employment_edges(void **state)
{
	struct fx *f = *state;
	/* S1 employed until 2026-03-31 (JST); C1 is long closed then, so no_case warns */
	check(f, "S1", "search", NULL, "juki", MY, true, "2026-03-31T23:59:59+09:00", "allow");
	check(f, "S1", "search", NULL, "juki", MY, true, "2026-04-01T00:00:00+09:00",
	      "deny deny:not_employed");
	check(f, "S1", "search", NULL, "juki", MY, true, "2026-03-31T14:59:59Z", "allow");
	check(f, "S1", "search", NULL, "juki", MY, true, "2026-03-31T15:00:00Z",
	      "deny deny:not_employed");
	/* and from 2020-04-01 (training dated later still counts: it is "on or
	 * after" the start of the window) */
	check(f, "S1", "search", NULL, "juki", MY, true, "2020-03-31T23:59:59+09:00",
	      "deny deny:not_employed deny:no_pledge");
	check(f, "S1", "search", NULL, "juki", MY, true, "2020-04-01T00:00:00+09:00", "allow");
}

static void test_zones_and_mfa(void **state)
{
	struct fx *f = *state;
	check(f, "S1", "view", "R1", "juki", MY, false, "2026-03-05T10:00:00+09:00",
	      "deny deny:mfa_required");
	/* a request from the LGWAN zone to a mynumber-zone system */
	check(f, "S1", "view", "R1", "juki", "lgwan", false, "2026-03-05T10:00:00+09:00",
	      "deny deny:zone");
	/* LGWAN system from LGWAN: no MFA needed */
	check(f, "S1", "view", "R1", "docs", "lgwan", false, "2026-03-05T10:00:00+09:00", "allow");
	/* S2 may not use the LGWAN zone at all */
	check(f, "S2", "search", NULL, "docs", "lgwan", false, "2026-03-05T10:00:00+09:00",
	      "deny deny:zone");
	/* a zone the policy does not know */
	check(f, "S1", "search", NULL, "juki", "galaxy", true, "2026-03-05T10:00:00+09:00",
	      "deny deny:zone");
}

static void test_department_and_roles(void **state)
{
	struct fx *f = *state;
	/* tax belongs to D2; for S1 no case of D1 for R1 after grace; tax enforces */
	check(f, "S1", "view", "R1", "tax", MY, true, "2026-03-05T10:00:00+09:00",
	      "deny deny:system_not_permitted");
	check(f, "S1", "view", "R3", "tax", MY, true, "2026-03-05T10:00:00+09:00",
	      "deny deny:system_not_permitted deny:no_case");
	/* export from the mynumber zone needs mynumber_export */
	check(f, "S1", "export", "R1", "juki", MY, true, "2026-03-05T10:00:00+09:00",
	      "deny deny:role_missing");
	check(f, "S2", "export", "R2", "juki", MY, true, "2026-03-05T10:00:00+09:00", "allow alert");
	/* but not from the LGWAN zone */
	check(f, "S1", "export", "R1", "docs", "lgwan", false, "2026-03-05T10:00:00+09:00", "allow");
	check(f, "S1", "print", "R1", "juki", MY, true, "2026-03-05T10:00:00+09:00", "allow");
}

static void test_dv_support(void **state)
{
	struct fx *f = *state;
	/* the assigned handler: allowed, always alerted */
	check(f, "S2", "view", "R2", "juki", MY, true, "2026-03-05T10:00:00+09:00", "allow alert");
	/* a handler not assigned to the case */
	check(f, "S4", "view", "R2", "juki", MY, true, "2026-03-05T10:00:00+09:00",
	      "deny alert deny:dv_support");
	/* no handler role; the department's case satisfies need-to-know */
	check(f, "S1", "view", "R2", "juki", MY, true, "2026-03-05T10:00:00+09:00",
	      "deny alert deny:dv_support");
	/* even a search that names the resident is alerted and checked */
	check(f, "S1", "search", "R2", "juki", MY, true, "2026-03-05T10:00:00+09:00",
	      "deny alert deny:dv_support");
	/* a denial for another reason still alerts */
	check(f, "S2", "view", "R2", "juki", MY, false, "2026-03-05T10:00:00+09:00",
	      "deny alert deny:mfa_required");
	/* unknown staff on a DV record: denied and alerted */
	check(f, "S9", "view", "R2", "juki", MY, true, "2026-03-05T10:00:00+09:00",
	      "deny alert deny:unknown_staff");
}

static void test_unknown_ids(void **state)
{
	struct fx *f = *state;
	check(f, "S9", "view", "R1", "juki", MY, true, "2026-03-05T10:00:00+09:00",
	      "deny deny:unknown_staff");
	check(f, "S1", "view", "R1", "nosuch", MY, true, "2026-03-05T10:00:00+09:00",
	      "deny deny:unknown_system");
	check(f, "S1", "view", "R9", "juki", MY, true, "2026-03-05T10:00:00+09:00",
	      "deny deny:unknown_resident");
	check(f, "S1", "view", NULL, "juki", MY, true, "2026-03-05T10:00:00+09:00",
	      "deny deny:unknown_resident");
	check(f, "S9", "view", "R9", "x", MY, true, "2026-03-05T10:00:00+09:00",
	      "deny deny:unknown_staff deny:unknown_system deny:unknown_resident");
	/* an id that differs only in case is another id */
	check(f, "s1", "search", NULL, "juki", MY, true, "2026-03-05T10:00:00+09:00",
	      "deny deny:unknown_staff");
}

/* The same decisions change when the policy file changes, without code. */
static void test_rules_are_data(void **state)
{
	struct fx *f = *state;
	char *text = xstrdup(policy_default_text());
	char *p;

	/* juki into enforce mode by a per-system setting */
	p = strstr(text, "  # need_to_know: {juki: enforce}");
	assert_non_null(p);
	memcpy(p, "  need_to_know: {juki: enforce}  ", strlen("  # need_to_know: {juki: enforce}"));
	build_with(f, text);
	check(f, "S1", "view", "R1", "juki", MY, true, "2026-03-17T12:00:01+09:00",
	      "deny deny:no_case");
	/* docs keeps the registry's monitor */
	check(f, "S1", "view", "R3", "docs", "lgwan", false, "2026-03-05T10:00:00+09:00",
	      "allow alert warn:no_case");
	free(text);

	/* the policy places juki in the LGWAN zone: it wins over the registry */
	text = xstrdup(policy_default_text());
	{
		struct buf t;
		const char *at = strstr(text, "{id: lgwan, name: LGWAN接続系}");
		assert_non_null(at);
		buf_init(&t, 1 << 20);
		assert_int_equal(buf_append(&t, text, (size_t)(at - text)), 0);
		assert_int_equal(buf_puts(&t, "{id: lgwan, name: LGWAN接続系, systems: [juki, docs]}"), 0);
		assert_int_equal(buf_puts(&t, at + strlen("{id: lgwan, name: LGWAN接続系}")), 0);
		build_with(f, t.data);
		buf_release(&t);
	}
	check(f, "S1", "view", "R1", "juki", MY, true, "2026-03-05T10:00:00+09:00", "deny deny:zone");
	check(f, "S1", "view", "R1", "juki", "lgwan", false, "2026-03-05T10:00:00+09:00", "allow");
	{
		struct diag d;
		diag_init(&d, 20);
		policy_check_registry(f->p, f->rd, &d);
		assert_int_equal(d.warnings, 1); /* juki: registry mynumber, policy lgwan */
		diag_release(&d);
	}
	free(text);

	/* training window of 30 days */
	text = xstrdup(policy_default_text());
	p = strstr(text, "max_age_days: 365");
	assert_non_null(p);
	memcpy(p, "max_age_days: 030", strlen("max_age_days: 365"));
	build_with(f, text);
	check(f, "S2", "view", "R2", "juki", MY, true, "2026-03-05T10:00:00+09:00",
	      "deny alert deny:training_expired");
	free(text);
}

/* ---- the policy file ---- */

static void test_default_policy_round_trip(void **state)
{
	struct policy *p = NULL, *p2 = NULL;
	struct buf a, b;
	struct diag d;
	(void)state;
	diag_init(&d, 20);
	buf_init(&a, 1 << 20);
	buf_init(&b, 1 << 20);
	assert_int_equal(policy_parse("default", policy_default_text(),
				      strlen(policy_default_text()), &p, &d), 0);
	assert_int_equal(policy_show(p, &a), 0);
	assert_non_null(strstr(a.data, "max_age_days: 365"));
	assert_non_null(strstr(a.data, "grace_days: 7"));
	if (policy_parse("shown", a.data, a.len, &p2, &d) < 0) {
		diag_print(&d, stderr);
		fail_msg("the shown policy does not parse");
	}
	assert_int_equal(policy_show(p2, &b), 0);
	assert_string_equal(a.data, b.data);
	policy_free(p);
	policy_free(p2);
	buf_release(&a);
	buf_release(&b);
	diag_release(&d);
}

/* Replace the first occurrence of from in the default policy by to and
 * expect a parse error whose rendering contains want. */
static void bad_policy(const char *from, const char *to, const char *want)
{
	const char *def = policy_default_text();
	const char *at = strstr(def, from);
	struct buf t, msg;
	struct policy *p = NULL;
	struct diag d;
	int r;

	assert_non_null(at);
	buf_init(&t, 1 << 20);
	buf_init(&msg, 1 << 16);
	assert_int_equal(buf_append(&t, def, (size_t)(at - def)), 0);
	assert_int_equal(buf_puts(&t, to), 0);
	assert_int_equal(buf_puts(&t, at + strlen(from)), 0);
	diag_init(&d, 20);
	r = policy_parse("policy.yaml", t.data, t.len, &p, &d);
	assert_int_equal(r, ERR_POLICY);
	assert_null(p);
	assert_true(d.errors >= 1);
	for (size_t i = 0; i < d.n; i++) {
		assert_int_equal(diag_item_format(&d.items[i], &msg), 0);
		assert_int_equal(buf_putc(&msg, '\n'), 0);
	}
	if (!strstr(msg.data, want))
		fail_msg("want \"%s\" in:\n%s", want, msg.data);
	diag_release(&d);
	buf_release(&t);
	buf_release(&msg);
}

static int line_of(const char *needle)
{
	const char *def = policy_default_text();
	const char *at = strstr(def, needle);
	int line = 1;
	assert_non_null(at);
	for (const char *p = def; p < at; p++)
		line += *p == '\n';
	return line;
}

static void test_policy_errors(void **state)
{
	char want[128];
	(void)state;
	i18n_set_thread(LANG_EN);
	/* unknown key, at its own line and column */
	snprintf(want, sizeof(want), "policy.yaml:%d:", line_of("obligations: [alert]"));
	bad_policy("obligations: [alert]", "obligations: [alert]\nobligatoins: [x]", "unknown key");
	snprintf(want, sizeof(want), "policy.yaml:%d:68: field 'max_age_days'",
		 line_of("max_age_days: 365"));
	bad_policy("max_age_days: 365", "max_age_days: 99999", want);
	bad_policy("max_age_days: 365", "max_age_days: -1", "whole number from 0 to 36500");
	bad_policy("max_age_days: 365", "max_age_days: abc", "whole number");
	bad_policy("effect: by_system", "effect: maybe", "must be deny, warn or by_system");
	bad_policy("check: zone_match", "check: zone_matches", "unknown check 'zone_matches'");
	bad_policy("role: dv_support_handler", "role: dv_handler", "role 'dv_handler' is not defined");
	bad_policy("zones: [mynumber], effect", "zones: [mynumbr], effect", "zone 'mynumbr' is not");
	bad_policy("on_warn: [alert]", "on_warn: [page]", "obligation 'page' is not defined");
	bad_policy("{code: zone, check: zone_match, effect: deny}",
		   "{code: zone, check: zone_match, effect: deny, max_age_days: 3}",
		   "takes no such parameter");
	bad_policy("{code: unknown_staff, check: known_staff, effect: deny}",
		   "{code: unknown_staff, check: known_staff, effect: warn}",
		   "check known_staff must have effect: deny");
	bad_policy("  - {code: unknown_system, check: known_system, effect: deny}\n", "",
		   "a rule with check known_system is required");
	bad_policy("{code: no_pledge,", "{code: zone,", "'zone' is defined twice");
	bad_policy("{code: no_pledge,", "{code: No-Pledge,", "not a valid code");
	bad_policy("{code: zone, check: zone_match, effect: deny}",
		   "{code: zone, check: zone_match, effect: by_system}",
		   "by_system applies to the need_to_know check only");
	bad_policy("name: 既定ポリシー", "name: a\nname: b", "duplicate key");
	bad_policy("version: 1", "version: 2", "whole number from 1 to 1");
	bad_policy("version: 1\n", "", "field 'version': required");
	bad_policy("view: {roles: [clerk]}", "view: {roles: [clerk], extra: 1}", "unknown key");
	bad_policy("  view: {roles: [clerk]}\n", "", "field 'view': action not defined");
	bad_policy("  search: {roles", "  find: {roles", "unknown action");
	bad_policy("mfa: required}", "mfa: sometimes}", "must be required or optional");
	bad_policy("mfa: required}", "mfa: required, systems: [juki, juki]}", "'juki' is listed twice");
	bad_policy("{id: lgwan, name: LGWAN接続系}", "{id: lgwan, name: LGWAN接続系, systems: [a b]}",
		   "not a valid id");
	bad_policy("mfa: required}\n  - {id: lgwan, name: LGWAN接続系}",
		   "mfa: required, systems: [juki]}\n  - {id: lgwan, name: LGWAN接続系, systems: [juki]}",
		   "system 'juki' is already placed in another zone");
	bad_policy("assigned_case: true", "assigned_case: yes", "must be true or false");
	bad_policy("scope: department", "scope: city", "must be department or assigned");
	bad_policy("need_to_know_default: monitor", "need_to_know_default: audit",
		   "must be monitor or enforce");
	bad_policy("  # need_to_know: {juki: enforce}", "  need_to_know: {juki: strict}",
		   "must be monitor or enforce");
	bad_policy("rules:", "rules: 3\nxrules:", "expected a list");
	bad_policy("- {id: lgwan, name: LGWAN接続系}", "- {id: lgwan, name: LGWAN接続系",
		   "YAML syntax error");
	bad_policy("roles:\n", "roles: *nothing\nx:\n", "YAML syntax error");
	bad_policy("version: 1\n", "version: 1\nextra: &a [1]\nmore: *a\n", "aliases");
	bad_policy("{code: zone, check: zone_match, effect: deny}",
		   "{code: zone, check: zone_match, effect: deny, message: {ja: 領域}}",
		   "needs both ja and en");
}

static void test_policy_two_documents_and_limits(void **state)
{
	struct policy *p = NULL;
	struct diag d;
	struct buf t;
	(void)state;
	i18n_set_thread(LANG_EN);
	diag_init(&d, 20);
	buf_init(&t, (size_t)8 << 20);
	assert_int_equal(buf_puts(&t, policy_default_text()), 0);
	assert_int_equal(buf_puts(&t, "---\nversion: 1\n"), 0);
	assert_int_equal(policy_parse("p", t.data, t.len, &p, &d), ERR_POLICY);
	assert_null(p);
	diag_release(&d);
	/* empty text */
	diag_init(&d, 20);
	assert_int_equal(policy_parse("p", "", 0, &p, &d), ERR_POLICY);
	diag_release(&d);
	/* over 4 MiB */
	diag_init(&d, 20);
	buf_reset(&t);
	for (int i = 0; i < (5 << 20) / 16; i++)
		assert_int_equal(buf_puts(&t, "# padding......\n"), 0);
	assert_int_equal(policy_parse("p", t.data, t.len, &p, &d), ERR_TOO_LARGE);
	diag_release(&d);
	/* a scalar, not a mapping */
	diag_init(&d, 20);
	assert_int_equal(policy_parse("p", "hello", 5, &p, &d), ERR_POLICY);
	diag_release(&d);
	buf_release(&t);
}

static void test_policy_japanese_messages(void **state)
{
	struct policy *p = NULL;
	struct diag d;
	struct buf msg;
	const char *text = "version: 1\nzones: []\nroles: []\nactions: {}\nrules: []\nbogus: 1\n";
	(void)state;
	i18n_set_thread(LANG_JA);
	diag_init(&d, 50);
	buf_init(&msg, 1 << 16);
	assert_int_equal(policy_parse("p.yaml", text, strlen(text), &p, &d), ERR_POLICY);
	for (size_t i = 0; i < d.n; i++) {
		assert_int_equal(diag_item_format(&d.items[i], &msg), 0);
		assert_int_equal(buf_putc(&msg, '\n'), 0);
	}
	assert_non_null(strstr(msg.data, "p.yaml:6:1: フィールド 'bogus': 不明なキーです"));
	assert_non_null(strstr(msg.data, "操作の定義がありません"));
	assert_non_null(strstr(msg.data, "検査 known_staff の規則が必要です"));
	diag_release(&d);
	buf_release(&msg);
	i18n_set_thread(LANG_EN);
}

/* ---- requests ---- */

static int parse_rq(const char *json, struct arena *a, struct decide_req *rq, struct buf *err)
{
	return decide_req_parse(json, strlen(json), 1000, a, rq, err);
}

static void bad_rq(const char *json, const char *want)
{
	struct arena *a = arena_new(4096);
	struct decide_req rq;
	struct buf err;
	buf_init(&err, 4096);
	assert_int_equal(parse_rq(json, a, &rq, &err), ERR_INVALID);
	if (!err.data || !strstr(err.data, want))
		fail_msg("%s: want \"%s\", got \"%s\"", json, want, err.data ? err.data : "");
	buf_release(&err);
	arena_free(a);
}

static void test_request_parse(void **state)
{
	struct arena *a = arena_new(4096);
	struct decide_req rq;
	struct buf err;
	(void)state;
	i18n_set_thread(LANG_EN);
	buf_init(&err, 4096);
	assert_int_equal(parse_rq("{\"staff_id\":\"S0001\",\"action\":\"view\",\"resident_id\":"
				  "\"R0000042\",\"system\":\"juki\",\"zone\":\"mynumber\",\"terminal\":"
				  "\"T-12\",\"mfa\":true,\"case_id\":null,\"ts\":"
				  "\"2026-04-01T10:00:00+09:00\"}",
				  a, &rq, &err),
			 0);
	assert_string_equal(rq.staff_id, "S0001");
	assert_int_equal(rq.action, ACT_VIEW);
	assert_string_equal(rq.resident_id, "R0000042");
	assert_string_equal(rq.terminal, "T-12");
	assert_null(rq.case_id);
	assert_true(rq.mfa);
	assert_int_equal(rq.ts, ts("2026-04-01T10:00:00+09:00"));
	/* defaults: ts = now, mfa = false, resident null for search */
	assert_int_equal(parse_rq("{\"staff_id\":\"S1\",\"action\":\"search\",\"system\":\"juki\","
				  "\"zone\":\"mynumber\"}",
				  a, &rq, &err),
			 0);
	assert_int_equal(rq.ts, 1000);
	assert_false(rq.mfa);
	assert_null(rq.resident_id);

	bad_rq("{\"action\":\"view\",\"system\":\"j\",\"zone\":\"z\"}", "field 'staff_id': required");
	bad_rq("{\"staff_id\":\"S1\",\"system\":\"j\",\"zone\":\"z\"}", "field 'action': required");
	bad_rq("{\"staff_id\":\"S1\",\"action\":\"view\",\"zone\":\"z\"}", "field 'system': required");
	bad_rq("{\"staff_id\":\"S1\",\"action\":\"view\",\"system\":\"j\"}", "field 'zone': required");
	bad_rq("{\"staff_id\":1,\"action\":\"view\",\"system\":\"j\",\"zone\":\"z\"}",
	       "field 'staff_id': must be a string");
	bad_rq("{\"staff_id\":\"S1\",\"action\":\"delete\",\"system\":\"j\",\"zone\":\"z\"}",
	       "field 'action': must be one of");
	bad_rq("{\"staff_id\":\"S1\",\"action\":\"view\",\"system\":\"j\",\"zone\":\"z\",\"mfa\":\"yes\"}",
	       "field 'mfa': must be true or false");
	bad_rq("{\"staff_id\":\"S1\",\"action\":\"view\",\"system\":\"j\",\"zone\":\"z\",\"ts\":\"yesterday\"}",
	       "field 'ts': must be an RFC 3339 time");
	bad_rq("{\"staff_id\":\"S1\",\"action\":\"view\",\"system\":\"j\",\"zone\":\"z\",\"ts\":5}",
	       "field 'ts'");
	bad_rq("{\"staff_id\":\"S1\",\"action\":\"view\",\"system\":\"j\",\"zone\":\"z\",\"mfa_ok\":true}",
	       "field 'mfa_ok': unknown field");
	bad_rq("{\"staff_id\":\"\",\"action\":\"view\",\"system\":\"j\",\"zone\":\"z\"}",
	       "field 'staff_id': is empty");
	bad_rq("{\"staff_id\":\"S\\u0001\",\"action\":\"view\",\"system\":\"j\",\"zone\":\"z\"}",
	       "control character");
	bad_rq("{\"staff_id\":\"S1\",\"staff_id\":\"S2\",\"action\":\"view\",\"system\":\"j\",\"zone\":\"z\"}",
	       "not valid JSON");
	bad_rq("[1,2]", "must be a JSON object");
	bad_rq("{\"staff_id\":", "not valid JSON");
	bad_rq("\xff\xfe", "not valid JSON");
	{
		char big[400];
		memset(big, 'x', sizeof(big));
		snprintf(big, sizeof(big), "{\"staff_id\":\"%0200d\",\"action\":\"view\",\"system\":\"j\",\"zone\":\"z\"}", 1);
		bad_rq(big, "too long");
	}
	{
		size_t n = DECIDE_REQ_MAX + 10;
		char *huge = xmalloc(n);
		memset(huge, ' ', n);
		huge[0] = '{';
		huge[n - 1] = '}';
		assert_int_equal(decide_req_parse(huge, n, 0, a, &rq, &err), ERR_TOO_LARGE);
		free(huge);
	}
	buf_release(&err);
	arena_free(a);
}

static void test_response_json(void **state)
{
	struct fx *f = *state;
	struct decide_req rq = {.staff_id = "S1", .action = ACT_VIEW, .resident_id = "R1",
				.system = "juki", .zone = MY, .mfa = false};
	struct decide_res res;
	struct buf out;
	rq.ts = ts("2026-03-20T10:00:00+09:00");
	buf_init(&out, 1 << 16);
	decide(f->dc, &rq, &res);
	res.ledger_index = 42;
	assert_int_equal(decide_res_json(f->dc, &res, &out), 0);
	assert_non_null(strstr(out.data, "{\"decision\":\"deny\",\"obligations\":[\"alert\"],"
					 "\"reasons\":[{\"code\":\"mfa_required\",\"effect\":\"deny\","
					 "\"ja\":\""));
	assert_non_null(strstr(out.data, "{\"code\":\"no_case\",\"effect\":\"warn\""));
	assert_non_null(strstr(out.data, "\"ledger_index\":42}"));
	buf_release(&out);
}

/* ---- the engine ---- */

static void test_engine_swap(void **state)
{
	struct fx *f = *state;
	struct policy_engine *e = policy_engine_new();
	const struct decider *d1, *d2;
	struct decider *a = NULL, *b = NULL;
	struct diag d;

	diag_init(&d, 10);
	assert_null(policy_engine_acquire(e));
	assert_int_equal(decider_build(f->p, f->rd, &a, &d), 0);
	assert_int_equal(decider_build(f->p, f->rd, &b, &d), 0);
	policy_engine_install(e, a);
	d1 = policy_engine_acquire(e);
	assert_ptr_equal(d1, a);
	/* a request in flight keeps its decider across a reload */
	policy_engine_install(e, b);
	d2 = policy_engine_acquire(e);
	assert_ptr_equal(d2, b);
	{
		struct decide_req rq = {.staff_id = "S1", .action = ACT_SEARCH, .system = "juki",
					.zone = MY, .mfa = true};
		struct decide_res res;
		rq.ts = ts("2026-03-05T10:00:00+09:00");
		decide(d1, &rq, &res); /* ASan would catch a freed decider */
		assert_int_equal(res.decision, DECISION_ALLOW);
	}
	policy_engine_release(e, d1); /* frees a */
	policy_engine_release(e, d2);
	policy_engine_free(e); /* frees b */
	diag_release(&d);
}

static void test_check_registry_warnings(void **state)
{
	struct fx *f = *state;
	struct diag d;
	diag_init(&d, 20);
	policy_check_registry(f->p, f->rd, &d);
	assert_int_equal(d.errors, 0);
	assert_int_equal(d.warnings, 0);
	f->rd->staff[0].roles.v[0] = "superuser";
	policy_check_registry(f->p, f->rd, &d);
	assert_int_equal(d.warnings, 1);
	diag_release(&d);
}

/* ---- the watch: section (thresholds of the watch rules) ---- */

/* The default policy with text inserted after its "version: 1" line. */
static struct policy *policy_with(const char *insert, struct diag *d)
{
	const char *def = policy_default_text();
	const char *at = strstr(def, "version: 1\n");
	struct buf t;
	struct policy *p = NULL;
	assert_non_null(at);
	at += strlen("version: 1\n");
	buf_init(&t, 1 << 20);
	assert_int_equal(buf_append(&t, def, (size_t)(at - def)), 0);
	assert_int_equal(buf_puts(&t, insert), 0);
	assert_int_equal(buf_puts(&t, at), 0);
	if (policy_parse("policy.yaml", t.data, t.len, &p, d) < 0)
		p = NULL;
	buf_release(&t);
	return p;
}

static void test_policy_watch_defaults(void **state)
{
	const struct watch_thresholds def = WATCH_THRESHOLDS_DEFAULT;
	struct watch_thresholds t;
	struct policy *p = NULL;
	struct buf out;
	struct diag d;
	(void)state;
	diag_init(&d, 20);
	buf_init(&out, 1 << 20);
	/* No watch: section at all: every field is the default. */
	assert_int_equal(policy_parse("default", policy_default_text(),
				      strlen(policy_default_text()), &p, &d), 0);
	memset(&t, 0xa5, sizeof(t));
	policy_watch_thresholds(p, &t);
	assert_int_equal(t.case_grace, 7 * 86400);
	assert_int_equal(t.counter_flow, 1800);
	assert_int_equal(t.office_open, 8 * 3600 + 45 * 60);
	assert_int_equal(t.office_close, 17 * 3600 + 30 * 60);
	assert_int_equal(t.scan_floor, 30);
	assert_true(t.scan_factor == 4.0);
	assert_int_equal(t.min_peers, 3);
	assert_int_equal(t.training_valid_days, def.training_valid_days);
	assert_int_equal(t.namesake_max, def.namesake_max);
	assert_int_equal(t.search_followup, def.search_followup);
	/* The effective policy shows them. */
	assert_int_equal(policy_show(p, &out), 0);
	assert_non_null(strstr(out.data, "\nwatch:\n  case_grace: 7d\n  counter_flow: 30min\n"));
	assert_non_null(strstr(out.data, "  office_open: \"08:45\"\n  office_close: \"17:30\"\n"));
	assert_non_null(strstr(out.data, "  scan_window: 1h\n  scan_gap: 5min\n"));
	assert_non_null(strstr(out.data, "  scan_factor: 4\n"));
	policy_free(p);
	/* An empty mapping is allowed and changes nothing. */
	p = policy_with("watch: {}\n", &d);
	assert_non_null(p);
	policy_watch_thresholds(p, &t);
	assert_int_equal(t.case_grace, def.case_grace);
	assert_int_equal(t.print_floor, def.print_floor);
	policy_free(p);
	buf_release(&out);
	diag_release(&d);
}

static const char every_watch_field[] =
	"watch:\n"
	"  case_grace: 3d\n"
	"  counter_flow: 45min\n"
	"  namesake_window: 90s\n"
	"  namesake_max: 4\n"
	"  recent_case: 12h\n"
	"  office_open: \"08:30\"\n"
	"  office_close: \"17:15\"\n"
	"  training_valid_days: 400\n"
	"  scan_window: 2h\n"
	"  scan_gap: 10min\n"
	"  scan_floor: 50\n"
	"  scan_factor: 2.5\n"
	"  export_floor: 20\n"
	"  export_factor: 3.125\n"
	"  print_floor: 100\n"
	"  print_factor: 6\n"
	"  search_followup: 15min\n"
	"  search_floor: 12\n"
	"  search_factor: 1.75\n"
	"  min_peers: 5\n";

static void test_policy_watch_every_field(void **state)
{
	struct watch_thresholds t, t2;
	struct policy *p, *p2 = NULL;
	struct buf a, b;
	struct diag d;
	(void)state;
	diag_init(&d, 20);
	buf_init(&a, 1 << 20);
	buf_init(&b, 1 << 20);
	p = policy_with(every_watch_field, &d);
	if (!p) {
		diag_print(&d, stderr);
		fail_msg("the watch section does not parse");
	}
	policy_watch_thresholds(p, &t);
	assert_int_equal(t.case_grace, 3 * 86400);
	assert_int_equal(t.counter_flow, 45 * 60);
	assert_int_equal(t.namesake_window, 90);
	assert_int_equal(t.namesake_max, 4);
	assert_int_equal(t.recent_case, 12 * 3600);
	assert_int_equal(t.office_open, 8 * 3600 + 30 * 60);
	assert_int_equal(t.office_close, 17 * 3600 + 15 * 60);
	assert_int_equal(t.training_valid_days, 400);
	assert_int_equal(t.scan_window, 7200);
	assert_int_equal(t.scan_gap, 600);
	assert_int_equal(t.scan_floor, 50);
	assert_true(t.scan_factor == 2.5);
	assert_int_equal(t.export_floor, 20);
	assert_true(t.export_factor == 3.125);
	assert_int_equal(t.print_floor, 100);
	assert_true(t.print_factor == 6.0);
	assert_int_equal(t.search_followup, 900);
	assert_int_equal(t.search_floor, 12);
	assert_true(t.search_factor == 1.75);
	assert_int_equal(t.min_peers, 5);
	/* Round trip: show, parse what was shown, show again. */
	assert_int_equal(policy_show(p, &a), 0);
	assert_non_null(strstr(a.data, "  namesake_window: 90s\n"));
	assert_non_null(strstr(a.data, "  recent_case: 12h\n"));
	assert_non_null(strstr(a.data, "  export_factor: 3.125\n"));
	assert_non_null(strstr(a.data, "  search_factor: 1.75\n"));
	assert_non_null(strstr(a.data, "  office_close: \"17:15\"\n"));
	if (policy_parse("shown", a.data, a.len, &p2, &d) < 0) {
		diag_print(&d, stderr);
		fail_msg("the shown policy does not parse");
	}
	policy_watch_thresholds(p2, &t2);
	assert_memory_equal(&t, &t2, sizeof(t));
	assert_int_equal(policy_show(p2, &b), 0);
	assert_string_equal(a.data, b.data);
	policy_free(p);
	policy_free(p2);
	buf_release(&a);
	buf_release(&b);
	diag_release(&d);
}

/* A watch: section that must fail, with want in the messages. */
static void bad_watch(const char *section, const char *want)
{
	struct buf msg;
	struct diag d;
	struct policy *p;
	diag_init(&d, 20);
	buf_init(&msg, 1 << 16);
	p = policy_with(section, &d);
	assert_null(p);
	assert_true(d.errors >= 1);
	for (size_t i = 0; i < d.n; i++) {
		assert_int_equal(diag_item_format(&d.items[i], &msg), 0);
		assert_int_equal(buf_putc(&msg, '\n'), 0);
	}
	if (!strstr(msg.data, want))
		fail_msg("want \"%s\" in:\n%s", want, msg.data);
	buf_release(&msg);
	diag_release(&d);
}

static void test_policy_watch_errors(void **state)
{
	(void)state;
	i18n_set_thread(LANG_EN);
	/* The section starts on the line after "version: 1"; errors name the
	 * value's line and column. */
	char want[160];
	int l = line_of("version: 1") + 1;
	snprintf(want, sizeof(want),
		 "policy.yaml:%d:15: field 'scan_floor': must be a whole number from 1 to 1000000",
		 l + 1);
	bad_watch("watch:\n  scan_floor: 0\n", want);
	bad_watch("watch:\n  scan_floor: 1000001\n", "from 1 to 1000000");
	snprintf(want, sizeof(want), "policy.yaml:%d:9: field 'scan_flor': unknown key", l);
	bad_watch("watch: {scan_flor: 3}\n", want);
	bad_watch("watch: {case_grace: 7}\n", "field 'case_grace': must be a duration from 0 to 31536000 seconds");
	bad_watch("watch: {case_grace: 7days}\n", "must be a duration");
	bad_watch("watch: {case_grace: 366d}\n", "must be a duration");
	bad_watch("watch: {case_grace: -1d}\n", "must be a duration");
	bad_watch("watch: {scan_window: 59s}\n", "field 'scan_window': must be a duration from 60");
	bad_watch("watch: {counter_flow: 25h}\n", "from 0 to 86400 seconds");
	bad_watch("watch: {office_open: \"8:45\"}\n", "must be a time HH:MM");
	bad_watch("watch: {office_open: \"24:30\"}\n", "must be a time HH:MM");
	bad_watch("watch: {office_close: \"12:60\"}\n", "must be a time HH:MM");
	bad_watch("watch: {office_open: \"18:00\"}\n", "office_open must be earlier than office_close");
	bad_watch("watch: {office_open: \"09:00\", office_close: \"09:00\"}\n",
		  "office_open must be earlier");
	bad_watch("watch: {scan_gap: 2h}\n", "scan_gap must not be longer than scan_window");
	bad_watch("watch: {scan_factor: 0.5}\n", "field 'scan_factor': must be a number from 1 to 1000");
	bad_watch("watch: {scan_factor: 1000.5}\n", "must be a number from 1 to 1000");
	bad_watch("watch: {print_factor: 2.1234}\n", "at most 3 digits after the point");
	bad_watch("watch: {print_factor: 2.}\n", "must be a number");
	bad_watch("watch: {print_factor: 4e0}\n", "must be a number");
	bad_watch("watch: {min_peers: 0}\n", "from 1 to 1000");
	bad_watch("watch: {training_valid_days: 0}\n", "from 1 to 3650");
	bad_watch("watch: {namesake_max: x}\n", "whole number from 0 to 10000");
	bad_watch("watch: {min_peers: 3, min_peers: 4}\n", "duplicate key");
	bad_watch("watch: [1, 2]\n", "field 'watch': expected a mapping");
	bad_watch("watch: {scan_floor: [30]}\n", "expected a scalar");
	/* Both errors in one section are reported. */
	bad_watch("watch: {scan_floor: 0, export_floor: 0}\n", "field 'export_floor'");
	/* The edges that are allowed. */
	{
		struct diag d;
		struct watch_thresholds t;
		struct policy *p;
		diag_init(&d, 20);
		p = policy_with("watch: {case_grace: 0s, scan_window: 1min, scan_gap: 60s, "
				"office_open: \"00:00\", office_close: \"24:00\", scan_factor: 1, "
				"search_factor: 1000, namesake_max: 0}\n",
				&d);
		if (!p) {
			diag_print(&d, stderr);
			fail_msg("the edges do not parse");
		}
		policy_watch_thresholds(p, &t);
		assert_int_equal(t.case_grace, 0);
		assert_int_equal(t.scan_window, 60);
		assert_int_equal(t.scan_gap, 60);
		assert_int_equal(t.office_open, 0);
		assert_int_equal(t.office_close, 86400);
		assert_true(t.scan_factor == 1.0);
		assert_true(t.search_factor == 1000.0);
		assert_int_equal(t.namesake_max, 0);
		policy_free(p);
		diag_release(&d);
	}
}

/* ---- watch: explanations: (declared explanation templates) ---- */

static const char templates_section[] =
	"watch:\n"
	"  explanations:\n"
	"    - name: dept_case_month\n"
	"      label: {ja: \"所属の案件（終了後 30 日まで）\", en: \"a department case, up to 30 days after closing\"}\n"
	"      path: staff.department -> case.department -> case.resident\n"
	"      within_days: 30\n"
	"    - name: assigned_household\n"
	"      label:\n"
	"        ja: 担当案件の世帯員\n"
	"        en: a member of the household of an assigned case\n"
	"      path: \"staff -> case.assigned -> resident.household -> resident\"\n";

static void test_policy_watch_templates(void **state)
{
	struct watch_thresholds t, t2;
	struct policy *p, *p2 = NULL;
	struct buf a, b;
	struct diag d;
	(void)state;
	diag_init(&d, 20);
	buf_init(&a, 1 << 20);
	buf_init(&b, 1 << 20);
	p = policy_with(templates_section, &d);
	if (!p) {
		diag_print(&d, stderr);
		fail_msg("the explanations do not parse");
	}
	policy_watch_thresholds(p, &t);
	assert_int_equal(t.ntemplates, 2);
	assert_string_equal(t.templates[0].name, "dept_case_month");
	assert_string_equal(t.templates[0].label_ja, "所属の案件（終了後 30 日まで）");
	assert_string_equal(t.templates[0].label_en, "a department case, up to 30 days after closing");
	assert_int_equal(t.templates[0].npath, 3);
	assert_int_equal(t.templates[0].path[0], WSTEP_STAFF_DEPT);
	assert_int_equal(t.templates[0].path[1], WSTEP_CASE_DEPT);
	assert_int_equal(t.templates[0].path[2], WSTEP_CASE_RESIDENT);
	assert_int_equal(t.templates[0].within_days, 30);
	assert_string_equal(t.templates[1].name, "assigned_household");
	assert_string_equal(t.templates[1].label_ja, "担当案件の世帯員");
	assert_int_equal(t.templates[1].npath, 4);
	assert_int_equal(t.templates[1].path[0], WSTEP_STAFF);
	assert_int_equal(t.templates[1].path[1], WSTEP_CASE_ASSIGNED);
	assert_int_equal(t.templates[1].path[2], WSTEP_HOUSEHOLD);
	assert_int_equal(t.templates[1].path[3], WSTEP_RESIDENT);
	assert_int_equal(t.templates[1].within_days, 0);
	/* The other thresholds keep their defaults. */
	assert_int_equal(t.case_grace, 7 * 86400);
	/* Round trip: show, parse what was shown, show again. */
	assert_int_equal(policy_show(p, &a), 0);
	assert_non_null(strstr(a.data, "  min_peers: 3\n  explanations:\n    - name: dept_case_month\n"));
	assert_non_null(strstr(a.data, "      path: \"staff.department -> case.department -> case.resident\"\n"
				       "      within_days: 30\n"));
	assert_non_null(strstr(a.data, "      path: \"staff -> case.assigned -> resident.household -> resident\"\n"));
	if (policy_parse("shown", a.data, a.len, &p2, &d) < 0) {
		diag_print(&d, stderr);
		fail_msg("the shown policy does not parse");
	}
	policy_watch_thresholds(p2, &t2);
	assert_memory_equal(&t, &t2, sizeof(t));
	assert_int_equal(policy_show(p2, &b), 0);
	assert_string_equal(a.data, b.data);
	policy_free(p);
	policy_free(p2);
	/* Without the key: no templates, and none shown. */
	p = policy_with("watch: {case_grace: 3d}\n", &d);
	assert_non_null(p);
	policy_watch_thresholds(p, &t);
	assert_int_equal(t.ntemplates, 0);
	buf_reset(&a);
	assert_int_equal(policy_show(p, &a), 0);
	assert_null(strstr(a.data, "explanations"));
	policy_free(p);
	/* An empty list is allowed, and the largest one: 16 templates. */
	p = policy_with("watch: {explanations: []}\n", &d);
	assert_non_null(p);
	policy_watch_thresholds(p, &t);
	assert_int_equal(t.ntemplates, 0);
	policy_free(p);
	buf_reset(&a);
	assert_int_equal(buf_puts(&a, "watch:\n  explanations:\n"), 0);
	for (int i = 0; i < WATCH_TEMPLATES_MAX + 1; i++) {
		char nm[8] = {'t', '_', (char)('a' + i), 0};
		assert_int_equal(buf_printf(&a, "    - {name: %s, label: {ja: あ, en: a}, "
					       "path: staff -> case.assigned -> case.resident}\n", nm), 0);
		if (i == WATCH_TEMPLATES_MAX - 1) {
			p = policy_with(a.data, &d);
			if (!p) {
				diag_print(&d, stderr);
				fail_msg("16 templates do not parse");
			}
			policy_watch_thresholds(p, &t);
			assert_int_equal(t.ntemplates, WATCH_TEMPLATES_MAX);
			assert_string_equal(t.templates[15].name, "t_p");
			policy_free(p);
		}
	}
	buf_release(&a);
	buf_release(&b);
	diag_release(&d);
}

static void test_policy_watch_template_errors(void **state)
{
	char want[256];
	int l = line_of("version: 1") + 1;
	struct buf big;
	(void)state;
	i18n_set_thread(LANG_EN);
	/* An unknown step: the place of the step and the steps allowed. */
	snprintf(want, sizeof(want),
		 "policy.yaml:%d:32: field 'path': 'case.dept' is not a step of a path (the steps are: "
		 "staff, staff.department, case.assigned, case.department, case.resident, "
		 "resident.household, resident)",
		 l + 2);
	bad_watch("watch:\n  explanations:\n    - {name: x, path: staff -> case.dept -> case.resident, "
		  "label: {ja: あ, en: a}}\n",
		  want);
	/* In a quoted scalar the column counts the quote. */
	snprintf(want, sizeof(want), "policy.yaml:%d:15: field 'path': 'staf' is not a step", l + 2);
	bad_watch("watch:\n  explanations:\n    - {path: \"staf -> case.assigned -> case.resident\", "
		  "name: x, label: {ja: あ, en: a}}\n",
		  want);
	bad_watch("watch: {explanations: [{name: x, label: {ja: あ, en: a}, "
		  "path: staff -> case.department -> case.resident}]}\n",
		  "'staff' cannot be followed by 'case.department' (what can: case.assigned)");
	bad_watch("watch: {explanations: [{name: x, label: {ja: あ, en: a}, path: case.resident}]}\n",
		  "a path starts with staff, staff.department, not 'case.resident'");
	bad_watch("watch: {explanations: [{name: x, label: {ja: あ, en: a}, "
		  "path: staff.department -> case.department}]}\n",
		  "a path ends with case.resident or resident.household -> resident");
	bad_watch("watch: {explanations: [{name: x, label: {ja: あ, en: a}, "
		  "path: staff -> case.assigned -> resident.household}]}\n",
		  "a path ends with case.resident");
	bad_watch("watch: {explanations: [{name: x, label: {ja: あ, en: a}, "
		  "path: staff -> case.assigned -> resident.household -> resident -> resident}]}\n",
		  "the path is too long (at most 4 steps)");
	bad_watch("watch: {explanations: [{name: x, label: {ja: あ, en: a}, "
		  "path: staff case.assigned -> case.resident}]}\n",
		  "steps are separated by ->");
	bad_watch("watch: {explanations: [{name: X1, label: {ja: あ, en: a}, "
		  "path: staff -> case.assigned -> case.resident}]}\n",
		  "field 'name': 'X1' is not a valid name (a-z and _ only)");
	bad_watch("watch: {explanations: [{name: household, label: {ja: あ, en: a}, "
		  "path: staff -> case.assigned -> case.resident}]}\n",
		  "'household' is the name of a built-in explanation");
	bad_watch("watch: {explanations: [{name: x, label: {ja: あ, en: a}, "
		  "path: staff -> case.assigned -> case.resident}, {name: x, label: {ja: あ, en: a}, "
		  "path: staff -> case.assigned -> case.resident}]}\n",
		  "'x' is defined twice");
	bad_watch("watch: {explanations: [{name: x, label: {ja: あ}, "
		  "path: staff -> case.assigned -> case.resident}]}\n",
		  "field 'label': needs both ja and en");
	bad_watch("watch: {explanations: [{name: x, path: staff -> case.assigned -> case.resident}]}\n",
		  "field 'label': needs both ja and en");
	bad_watch("watch: {explanations: [{label: {ja: あ, en: a}, "
		  "path: staff -> case.assigned -> case.resident}]}\n",
		  "field 'name': required");
	bad_watch("watch: {explanations: [{name: x, label: {ja: あ, en: a}}]}\n", "field 'path': required");
	bad_watch("watch: {explanations: [{name: x, label: {ja: あ, en: a}, within_days: 0, "
		  "path: staff -> case.assigned -> case.resident}]}\n",
		  "field 'within_days': must be a whole number from 1 to 3650");
	bad_watch("watch: {explanations: [{name: x, label: {ja: あ, en: a}, why: 1, "
		  "path: staff -> case.assigned -> case.resident}]}\n",
		  "field 'why': unknown key");
	bad_watch("watch: {explanations: {name: x}}\n", "field 'explanations': expected a list");
	/* At most 16 templates. */
	buf_init(&big, 1 << 20);
	assert_int_equal(buf_puts(&big, "watch:\n  explanations:\n"), 0);
	for (int i = 0; i < WATCH_TEMPLATES_MAX + 1; i++)
		assert_int_equal(buf_printf(&big, "    - {name: t_%c, label: {ja: あ, en: a}, "
						 "path: staff -> case.assigned -> case.resident}\n",
					    'a' + i),
				 0);
	bad_watch(big.data, "field 'explanations': too many items (at most 16)");
	buf_release(&big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_allow_plain, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_case_grace_edges, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_training_edges, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pledge_edges, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_employment_edges, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_zones_and_mfa, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_department_and_roles, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dv_support, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unknown_ids, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rules_are_data, setup, teardown),
	    cmocka_unit_test(test_default_policy_round_trip),
	    cmocka_unit_test(test_policy_errors),
	    cmocka_unit_test(test_policy_two_documents_and_limits),
	    cmocka_unit_test(test_policy_japanese_messages),
	    cmocka_unit_test(test_request_parse),
	    cmocka_unit_test_setup_teardown(test_response_json, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_engine_swap, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_check_registry_warnings, setup, teardown),
	    cmocka_unit_test(test_policy_watch_defaults),
	    cmocka_unit_test(test_policy_watch_every_field),
	    cmocka_unit_test(test_policy_watch_errors),
	    cmocka_unit_test(test_policy_watch_templates),
	    cmocka_unit_test(test_policy_watch_template_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
