/* Unit tests for security notices (src/isms/notices.c) and contractors
 * (src/isms/contractors.c). */
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

static void test_audience(void **state)
{
	const char *clerk[] = {"clerk"}, *both[] = {"clerk", "sysadmin"};
	struct reg_staff a = {0}, b = {0};
	const char *d01[] = {"D01"}, *sys[] = {"sysadmin"};
	struct nt_audience all = {true, NULL, 0, NULL, 0, 0};
	struct nt_audience none = {false, NULL, 0, NULL, 0, 0};
	struct nt_audience dept = {false, d01, 1, NULL, 0, 0};
	struct nt_audience admins = {false, NULL, 0, sys, 1, 0};
	struct nt_audience temps_d01 = {false, d01, 1, NULL, 0, 1u << EMP_TEMPORARY};
	(void)state;
	a.id = "A";
	a.dept = "D01";
	a.employment = EMP_REGULAR;
	a.roles.v = clerk;
	a.roles.n = 1;
	b.id = "B";
	b.dept = "D02";
	b.employment = EMP_TEMPORARY;
	b.roles.v = both;
	b.roles.n = 2;
	assert_true(notice_addresses(&all, &a));
	assert_false(notice_addresses(&none, &a));
	assert_true(notice_addresses(&dept, &a));
	assert_false(notice_addresses(&dept, &b));
	assert_false(notice_addresses(&admins, &a));
	assert_true(notice_addresses(&admins, &b));
	assert_false(notice_addresses(&temps_d01, &a)); /* regular */
	assert_false(notice_addresses(&temps_d01, &b)); /* other department */
	{
		struct reg_staff s[2];
		const char *acked[] = {"B"};
		size_t *idx = NULL, n = 9;
		a.start = b.start = D("2020-01-01");
		a.end = b.end = DAY_NONE;
		s[0] = a;
		s[1] = b;
		assert_int_equal(
		    notice_pending(s, 2, &all, acked, 1, D("2026-06-01"), NULL, &idx, &n), 0);
		assert_int_equal(n, 1);
		assert_int_equal(idx[0], 0);
		free(idx);
		assert_int_equal(
		    notice_pending(s, 2, &all, NULL, 0, D("2026-06-01"), "D02", &idx, &n), 0);
		assert_int_equal(n, 1);
		assert_int_equal(idx[0], 1);
		free(idx);
		/* Not yet employed: not pending. */
		assert_int_equal(
		    notice_pending(s, 2, &all, NULL, 0, D("2019-12-31"), NULL, &idx, &n), 0);
		assert_int_equal(n, 0);
		free(idx);
	}
}

static void test_contract_edges(void **state)
{
	(void)state;
	assert_true(contract_ending(D("2026-06-30"), D("2026-06-01"), 29));
	assert_false(contract_ending(D("2026-06-30"), D("2026-06-01"), 28));
	assert_true(contract_ending(D("2026-06-01"), D("2026-06-01"), 0));
	assert_false(contract_ending(D("2026-05-31"), D("2026-06-01"), 60)); /* already ended */
	assert_false(contract_ending(DAY_NONE, D("2026-06-01"), 60));
	assert_false(report_overdue(D("2026-06-01"), DAY_NONE, D("2026-06-01")));
	assert_true(report_overdue(D("2026-05-31"), DAY_NONE, D("2026-06-01")));
	assert_false(report_overdue(D("2026-05-31"), D("2026-06-01"), D("2026-06-01")));
	assert_false(report_overdue(DAY_NONE, DAY_NONE, D("2026-06-01")));
}

static json_t *pending_ids(json_t *p)
{
	return json_object_get(p, "pending");
}

static void test_notice_workflow(void **state)
{
	struct fx *f = *state;
	struct isms_ctx dm1 = fx_as(f, &f->dm1), dm2 = fx_as(f, &f->dm2),
			aud = fx_as(f, &f->auditor);
	char nt[ISMS_ID_MAX], ack[ISMS_ID_MAX], other[ISMS_ID_MAX];
	int32_t today = ts_jst_day(FX_NOW);
	json_t *p = NULL;
	struct diag d;

	/* A notice needs an audience and a due date not before its issue. */
	assert_int_equal(fx_create(&f->c, &isms_kind_notices,
				   "{\"source\":\"nisc\",\"title\":\"t\",\"severity\":\"high\","
				   "\"issued\":\"2026-05-20\"}",
				   nt),
			 ERR_INVALID);
	assert_int_equal(
	    fx_create(&f->c, &isms_kind_notices,
		      "{\"source\":\"jlis\",\"title\":\"t\",\"severity\":\"high\","
		      "\"audience_all\":true,\"issued\":\"2026-05-20\",\"due\":\"2026-05-19\"}",
		      nt),
	    ERR_INVALID);
	assert_int_equal(fx_create(&dm1, &isms_kind_notices,
				   "{\"source\":\"internal\",\"title\":\"t\",\"severity\":\"low\","
				   "\"audience_all\":true,\"issued\":\"2026-05-20\"}",
				   nt),
			 ERR_FORBIDDEN);
	assert_int_equal(
	    fx_create(&f->c, &isms_kind_notices,
		      "{\"source\":\"nisc\",\"title\":\"Emotet 再流行への注意\","
		      "\"severity\":\"high\",\"audience_all\":true,\"issued\":\"2026-05-20\","
		      "\"due\":\"2026-05-27\"}",
		      nt),
	    0);
	assert_int_equal(
	    fx_create(
		&f->c, &isms_kind_notices,
		"{\"source\":\"internal\",\"title\":\"税務課向け\",\"severity\":\"info\","
		"\"audience_depts\":[\"D02\"],\"issued\":\"2026-05-20\",\"due\":\"2026-06-30\"}",
		other),
	    0);

	assert_int_equal(isms_notice_pending(&f->c, nt, today, NULL, &p), 0);
	/* S001-S004 are employed; S005 left. */
	assert_int_equal(json_integer_value(json_object_get(p, "pending_count")), 4);
	assert_true(json_is_true(json_object_get(p, "overdue")));
	json_decref(p);

	diag_init(&d, 10);
	assert_int_equal(isms_notice_ack(&aud, nt, "S001", &d, ack), ERR_FORBIDDEN);
	assert_int_equal(isms_notice_ack(&dm2, nt, "S001", &d, ack), ERR_FORBIDDEN);
	assert_int_equal(isms_notice_ack(&dm1, nt, "S001", &d, ack), 0);
	assert_true(ack[0] != '\0');
	assert_int_equal(isms_notice_ack(&f->c, nt, "S001", &d, ack), ERR_EXISTS);
	assert_int_equal(isms_notice_ack(&f->c, nt, "S999", &d, ack), ERR_INVALID);
	assert_int_equal(isms_notice_ack(&f->c, other, "S001", &d, ack),
			 ERR_INVALID); /* not audience */
	assert_int_equal(isms_notice_ack(&f->c, "NT-999999", "S001", &d, ack), ERR_NOT_FOUND);
	diag_release(&d);

	assert_int_equal(isms_notice_pending(&f->c, nt, today, NULL, &p), 0);
	assert_int_equal(json_integer_value(json_object_get(p, "pending_count")), 3);
	assert_int_equal(json_integer_value(json_object_get(p, "acknowledged")), 1);
	json_decref(p);
	/* A department manager sees their department: S002 pending in D01. */
	assert_int_equal(isms_notice_pending(&dm1, nt, today, NULL, &p), 0);
	assert_int_equal(json_array_size(pending_ids(p)), 1);
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(pending_ids(p), 0), "staff_id")),
	    "S002");
	json_decref(p);
	assert_int_equal(isms_notice_pending(&dm1, nt, today, "D02", &p), ERR_FORBIDDEN);

	/* Reminders: both notices have pending staff; only the first is past
	 * due, and overdue acknowledgements are counted per department. */
	assert_int_equal(isms_notice_reminders(&f->c, today, NULL, false, &p), 0);
	assert_int_equal(json_array_size(json_object_get(p, "notices")), 2);
	assert_int_equal(json_integer_value(json_object_get(p, "pending_total")), 5);
	json_decref(p);
	assert_int_equal(isms_notice_reminders(&f->c, today, NULL, true, &p), 0);
	assert_int_equal(json_array_size(json_object_get(p, "notices")), 1);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(p, "by_dept"), "D01")),
			 1);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(p, "by_dept"), "D02")),
			 2);
	json_decref(p);
	assert_int_equal(isms_notice_reminders(&dm2, today, NULL, true, &p), 0);
	assert_null(json_object_get(json_object_get(p, "by_dept"), "D01"));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(p, "by_dept"), "D02")),
			 2);
	json_decref(p);
}

static void test_contracts(void **state)
{
	struct fx *f = *state;
	struct isms_ctx dm1 = fx_as(f, &f->dm1), dm2 = fx_as(f, &f->dm2),
			aud = fx_as(f, &f->auditor);
	char ct[ISMS_ID_MAX], cn[ISMS_ID_MAX], cn2[ISMS_ID_MAX], cr[ISMS_ID_MAX], ck[ISMS_ID_MAX];
	char json[1024];
	json_t *a = NULL, *got = NULL;

	assert_int_equal(fx_create(&f->c, &isms_kind_contractors,
				   "{\"name\":\"株式会社まもり情報\",\"registry_id\":\"X1\","
				   "\"corporate_number\":\"12345\"}",
				   ct),
			 ERR_INVALID);
	assert_int_equal(fx_create(&f->c, &isms_kind_contractors,
				   "{\"name\":\"株式会社まもり情報\",\"registry_id\":\"X1\","
				   "\"corporate_number\":\"1234567890123\"}",
				   ct),
			 0);
	/* Personnel must be contractor staff of this contractor. */
	snprintf(
	    json, sizeof(json),
	    "{\"contractor\":\"%s\",\"title\":\"税務システム保守\",\"dept\":\"D02\","
	    "\"start\":\"2026-04-01\",\"end\":\"2026-06-30\",\"security_clauses\":[\"守秘義務\"],"
	    "\"subcontracting\":false,\"personnel\":[\"S003\"]}",
	    ct);
	assert_int_equal(fx_create(&f->c, &isms_kind_contracts, json, cn), ERR_INVALID);
	snprintf(
	    json, sizeof(json),
	    "{\"contractor\":\"%s\",\"title\":\"税務システム保守\",\"dept\":\"D02\","
	    "\"start\":\"2026-04-01\",\"end\":\"2026-03-30\",\"security_clauses\":[\"守秘義務\"],"
	    "\"subcontracting\":false,\"subcontractors\":[\"下請\"]}",
	    ct);
	assert_int_equal(fx_create(&f->c, &isms_kind_contracts, json, cn), ERR_INVALID);
	snprintf(
	    json, sizeof(json),
	    "{\"contractor\":\"%s\",\"title\":\"税務システム保守\",\"dept\":\"D02\","
	    "\"start\":\"2026-04-01\",\"end\":\"2026-06-30\",\"systems\":[\"tax\"],"
	    "\"data_handled\":[\"課税台帳\"],\"security_clauses\":[\"守秘義務\",\"再委託禁止\"],"
	    "\"subcontracting\":false,\"personnel\":[\"S004\"],\"report_every_days\":30}",
	    ct);
	/* The department manager of D01 cannot make a contract of D02. */
	assert_int_equal(fx_create(&dm1, &isms_kind_contracts, json, cn), ERR_FORBIDDEN);
	assert_int_equal(fx_create(&aud, &isms_kind_contracts, json, cn), ERR_FORBIDDEN);
	assert_int_equal(fx_create(&dm2, &isms_kind_contracts, json, cn), 0);
	snprintf(
	    json, sizeof(json),
	    "{\"contractor\":\"%s\",\"title\":\"庁舎清掃\",\"dept\":\"D01\","
	    "\"start\":\"2026-04-01\",\"end\":\"2027-03-31\",\"security_clauses\":[\"守秘義務\"],"
	    "\"subcontracting\":true,\"subcontractors\":[\"清掃協力会社\"]}",
	    ct);
	assert_int_equal(fx_create(&f->c, &isms_kind_contracts, json, cn2), 0);

	/* A report gets the department of its contract. */
	snprintf(json, sizeof(json),
		 "{\"contract\":\"%s\",\"period\":\"2026-04\",\"due\":\"2026-05-10\"}", cn);
	assert_int_equal(fx_create(&f->c, &isms_kind_contractor_reports, json, cr), 0);
	assert_int_equal(isms_get(&f->c, &isms_kind_contractor_reports, cr, &got), 0);
	assert_string_equal(json_string_value(json_object_get(got, "dept")), "D02");
	json_decref(got);
	snprintf(json, sizeof(json),
		 "{\"contract\":\"%s\",\"period\":\"2026-05\",\"due\":\"2026-06-10\"}", cn);
	assert_int_equal(fx_create(&f->c, &isms_kind_contractor_reports, json, cr), 0);
	snprintf(json, sizeof(json),
		 "{\"contract\":\"%s\",\"date\":\"2026-05-15\",\"inspector\":\"情報政策課\","
		 "\"result\":\"findings\"}",
		 cn);
	assert_int_equal(fx_create(&f->c, &isms_kind_contractor_checks, json, ck), ERR_INVALID);
	snprintf(json, sizeof(json),
		 "{\"contract\":\"%s\",\"date\":\"2026-05-15\",\"inspector\":\"情報政策課\","
		 "\"result\":\"findings\",\"findings\":\"施錠されていない書庫\","
		 "\"followup_due\":\"2026-05-31\"}",
		 cn);
	assert_int_equal(fx_create(&f->c, &isms_kind_contractor_checks, json, ck), 0);

	assert_int_equal(isms_contracts_attention(&f->c, ts_jst_day(FX_NOW), 60, &a), 0);
	assert_int_equal(json_array_size(json_object_get(a, "ending")), 1);
	assert_string_equal(json_string_value(json_object_get(
				json_array_get(json_object_get(a, "ending"), 0), "id")),
			    cn);
	assert_int_equal(json_integer_value(json_object_get(
			     json_array_get(json_object_get(a, "ending"), 0), "days_left")),
			 29);
	assert_int_equal(json_array_size(json_object_get(a, "reports_overdue")), 1);
	assert_int_equal(json_array_size(json_object_get(a, "checks_open")), 1);
	json_decref(a);
	assert_int_equal(isms_contracts_attention(&f->c, ts_jst_day(FX_NOW), 28, &a), 0);
	assert_int_equal(json_array_size(json_object_get(a, "ending")), 0);
	json_decref(a);
	/* The department manager of D01 sees none of D02's. */
	assert_int_equal(isms_contracts_attention(&dm1, ts_jst_day(FX_NOW), 60, &a), 0);
	assert_int_equal(json_array_size(json_object_get(a, "ending")), 0);
	assert_int_equal(json_array_size(json_object_get(a, "reports_overdue")), 0);
	json_decref(a);
	assert_int_equal(isms_contracts_attention(&aud, ts_jst_day(FX_NOW), 400, &a), 0);
	assert_int_equal(json_array_size(json_object_get(a, "ending")), 2);
	json_decref(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_audience),
	    cmocka_unit_test(test_contract_edges),
	    cmocka_unit_test_setup_teardown(test_notice_workflow, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_contracts, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
