/*
 * indicators.c - evaluation (評価): indicators computed from live data,
 * management reviews (見直し) that keep them and schedule the next policy
 * review, and the reports made of it all (isms_cycle.h).
 */
#include "base/base.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/i18n.h"
#include "base/timeutil.h"
#include "isms/isms_cycle_int.h"
#include "isms/isms_int.h"
#include "isms/people.h"
#include "isms/report.h"
#include "ledger/ledger.h"
#include "ledger/verify.h"
#include "registry/registry.h"
#include "watch/alerts.h"

/* ---- management reviews ---- */

static const struct isms_field f_reviews[] = {
    {"date", ISMS_DATE, true, 0, 0, 0, NULL, NULL, "開催日", "Date"},
    {"title", ISMS_TEXT, false, 200, 0, 0, NULL, NULL, "件名", "Title"},
    {"attendees", ISMS_STRLIST, false, 200, 0, 50, NULL, NULL, "出席者", "Attendees"},
    {"inputs", ISMS_MARKDOWN, false, 50000, 0, 0, NULL, NULL, "インプット（監査結果等）",
     "Inputs (audit results, ...)"},
    {"decisions", ISMS_MARKDOWN, true, 50000, 0, 0, NULL, NULL, "決定事項", "Decisions"},
    {"next_policy_review", ISMS_DATE, true, 0, 0, 0, NULL, NULL, "次回のポリシー見直し",
     "Next policy review"},
    {"actions", ISMS_STRLIST, false, ISMS_ID_MAX, 0, 50, NULL, "corrective_actions",
     "決定による是正処置", "Actions decided"},
    {"indicators", ISMS_MARKDOWN, false, 100000, 0, 0, NULL, NULL,
     "指標（開催時点、JSON）", "Indicators at the time (JSON)"},
};

static int reviews_check(struct isms_ctx *c, json_t *rec, struct diag *d)
{
	int32_t on = cj_day(rec, "date"), next = cj_day(rec, "next_policy_review");

	(void)c;
	if (on != DAY_NONE && next != DAY_NONE && next <= on)
		diag_error(d, NULL, 0, 0, "next_policy_review", "%s",
			   T("次回の見直しは開催日より後にしてください",
			     "the next review must come after the meeting"));
	return 0;
}

const struct isms_kind isms_kind_management_reviews = {
    .name = "management_reviews",
    .ja = "マネジメントレビュー",
    .en = "Management reviews",
    .id_prefix = "MR",
    .fields = f_reviews,
    .nfields = ARRAY_SIZE(f_reviews),
    .write_roles = ROLE_ADMIN | ROLE_CISO,
    .check = reviews_check,
};

/* ---- indicators ---- */

/* The number of alerts matching dept (NULL any) and days [from, to]. */
static int alerts_count(struct isms_ctx *c, const char *dept, int32_t from, int32_t to,
			int64_t *n)
{
	struct alert_filter f;
	struct buf b;
	json_t *j;
	int r;

	memset(&f, 0, sizeof(f));
	f.dept = dept;
	f.from = from;
	f.to = to;
	f.page = 1;
	f.per_page = 1;
	*n = 0;
	/* Only roles that may read alerts count them; the others see none. */
	if (!actor_has(c->actor, ROLE_ADMIN | ROLE_CISO | ROLE_CSIRT | ROLE_AUDITOR |
				     ROLE_DEPT_MANAGER))
		return 0;
	buf_init(&b, (size_t)1 << 20);
	r = alerts_list_json(c->st, c->actor, &f, &b);
	if (r == ERR_FORBIDDEN) {
		r = 0;
		goto out;
	}
	if (r < 0)
		goto out;
	if ((j = json_loadb(b.data, b.len, 0, NULL)) != NULL) {
		*n = cj_int(j, "total", 0);
		json_decref(j);
	}
out:
	buf_release(&b);
	return r;
}

static double pct(size_t part, size_t whole)
{
	return whole ? round(1000.0 * (double)part / (double)whole) / 10.0 : 0;
}

static double per_1000(int64_t n, size_t staff)
{
	return staff ? round(10000.0 * (double)n / (double)staff) / 10.0 : 0;
}

static void inc_key(json_t *o, const char *key)
{
	json_object_set_new(o, key, json_integer(cj_int(o, key, 0) + 1));
}

static int ledger_status(const struct cycle_env *env, json_t **out)
{
	struct ledger_verify_report *rep = xcalloc(1, sizeof(*rep));
	struct buf dir, key;
	uint8_t pk[32];
	int r;

	buf_init(&dir, 8192);
	buf_init(&key, 8192);
	if ((r = buf_printf(&dir, "%s/ledger", env->instance_dir)) < 0 ||
	    (r = buf_printf(&key, "%s/keys/signing.pub", env->instance_dir)) < 0)
		goto out;
	if ((r = ledger_read_public_key(key.data, pk)) == 0)
		r = ledger_verify(dir.data, pk, rep);
	*out = json_pack("{s:b,s:I,s:I,s:s}", "ok", r == 0, "entries", (json_int_t)rep->entries,
			 "checkpoints", (json_int_t)rep->checkpoints, "message",
			 r == 0 ? T("検証済み", "verified") : rep->msg[0] ? rep->msg : err_msg(r));
	r = *out ? 0 : ERR_NOMEM;
out:
	buf_release(&dir);
	buf_release(&key);
	free(rep);
	return r;
}

int cycle_indicators(struct isms_ctx *c, const struct cycle_env *env, json_t **out)
{
	int32_t today = cycle_today(c);
	struct registry_data *reg = NULL;
	struct reg_staff *tmp = NULL;
	json_t *res = NULL, *incidents = NULL, *findings = NULL, *actions = NULL, *reviews = NULL;
	json_t *bydept = NULL, *bycat = NULL, *months = NULL, *days = NULL, *acks = NULL, *e;
	json_t *ack_by = NULL, *lstat = NULL, *bcp = NULL, *next_j;
	size_t i, active = 0, trained = 0, pledged = 0, ppc_overdue = 0, open_inc = 0;
	int64_t alerts_total = 0, findings_open = 0, actions_overdue = 0, acks_overdue = 0;
	int32_t next_review = DAY_NONE;
	char t[DATE_TEXT_MAX];
	int r;

	if ((r = registry_load_people(c->st, &reg)) < 0 ||
	    (r = cycle_list_all(c, &isms_kind_incidents, NULL, 0, &incidents)) < 0 ||
	    (r = cycle_list_all(c, &isms_kind_findings, NULL, 0, &findings)) < 0 ||
	    (r = cycle_list_all(c, &isms_kind_corrective_actions, NULL, 0, &actions)) < 0 ||
	    (r = cycle_list_all(c, &isms_kind_management_reviews, NULL, 0, &reviews)) < 0 ||
	    (r = alerts_count(c, NULL, DAY_NONE, DAY_NONE, &alerts_total)) < 0 ||
	    (r = cycle_bcp_status(c, &bcp)) < 0)
		goto out;
	if (isms_notice_reminders(c, today, NULL, true, &acks) == 0)
		ack_by = json_object_get(acks, "by_dept");
	if (!(bydept = json_array()) || !(bycat = json_object()) || !(months = json_array()) ||
	    !(days = json_array())) {
		r = ERR_NOMEM;
		goto out;
	}
	training_coverage(reg->staff, reg->nstaff, today, 365, &active, &trained, &pledged);
	json_array_foreach(incidents, i, e) {
		json_t *ppc = NULL;
		inc_key(bycat, cj_str(e, "category") ? cj_str(e, "category") : "uncategorised");
		if (strcmp(cj_strd(e, "status"), "closed") != 0)
			open_inc++;
		if ((r = cycle_incident_ppc(c, env, e, &ppc)) < 0)
			goto out;
		ppc_overdue += cj_bool(ppc, "overdue");
		json_decref(ppc);
	}
	json_array_foreach(findings, i, e)
		findings_open += !strcmp(cj_strd(e, "status"), "open");
	json_array_foreach(actions, i, e) {
		int32_t due = cj_day(e, "due");
		actions_overdue += strcmp(cj_strd(e, "status"), "verified") != 0 && due != DAY_NONE &&
				   due < today;
	}
	json_array_foreach(reviews, i, e) {
		int32_t n = cj_day(e, "next_policy_review");
		if (n != DAY_NONE && (next_review == DAY_NONE || cj_day(e, "date") != DAY_NONE))
			next_review = n; /* listed in id order: the latest review wins */
	}
	if (ack_by) {
		const char *k;
		json_t *v;
		json_object_foreach(ack_by, k, v)
			acks_overdue += json_integer_value(v);
	}
	/* Incidents by month of awareness: the twelve months to this one. */
	{
		int y, m, d;
		civil_from_days(today, &y, &m, &d);
		for (int k = 11; k >= 0; k--) {
			int yy = y, mm = m - k;
			char key[8];
			int64_t n = 0;
			while (mm <= 0) {
				mm += 12;
				yy--;
			}
			cycle_fmt(key, sizeof(key), "%04d-%02d", yy, mm);
			json_array_foreach(incidents, i, e) {
				const char *a = cj_str(e, "aware_at");
				int32_t ad;
				int ay, am, adm;
				if (!a)
					continue;
				ad = ts_jst_day(cj_ts(e, "aware_at"));
				civil_from_days(ad, &ay, &am, &adm);
				n += ay == yy && am == mm;
			}
			json_array_append_new(months, json_pack("{s:s,s:I}", "month", key, "count",
								(json_int_t)n));
		}
	}
	/* Alerts per day: the last 30 days. */
	for (int k = 29; k >= 0; k--) {
		int64_t n;
		if ((r = alerts_count(c, NULL, today - k, today - k, &n)) < 0)
			goto out;
		date_format(today - k, t);
		json_array_append_new(days, json_pack("{s:s,s:I}", "day", t, "count", (json_int_t)n));
	}
	/* Per department the actor may read. */
	tmp = xcalloc(reg->nstaff + 1, sizeof(*tmp));
	for (size_t k = 0; k < reg->ndepartments; k++) {
		const struct reg_department *dp = &reg->departments[k];
		size_t n = 0, a2 = 0, t2 = 0, p2 = 0;
		int64_t inc = 0, fo = 0, ao = 0, al = 0, ack = 0;
		json_t *o;
		if (!actor_may_read_dept(c->actor, dp->id))
			continue;
		for (size_t s = 0; s < reg->nstaff; s++)
			if (reg->staff[s].dept && !strcmp(reg->staff[s].dept, dp->id))
				tmp[n++] = reg->staff[s];
		training_coverage(tmp, n, today, 365, &a2, &t2, &p2);
		json_array_foreach(incidents, i, e)
			inc += cj_str(e, "dept") && !strcmp(cj_str(e, "dept"), dp->id);
		json_array_foreach(findings, i, e)
			fo += cj_str(e, "dept") && !strcmp(cj_str(e, "dept"), dp->id) &&
			      !strcmp(cj_strd(e, "status"), "open");
		json_array_foreach(actions, i, e) {
			int32_t due = cj_day(e, "due");
			ao += cj_str(e, "dept") && !strcmp(cj_str(e, "dept"), dp->id) &&
			      strcmp(cj_strd(e, "status"), "verified") != 0 && due != DAY_NONE &&
			      due < today;
		}
		if ((r = alerts_count(c, dp->id, DAY_NONE, DAY_NONE, &al)) < 0)
			goto out;
		ack = ack_by ? cj_int(ack_by, dp->id, 0) : 0;
		o = json_pack("{s:s,s:s,s:I,s:I,s:f,s:f,s:I,s:I,s:I,s:I,s:I,s:f}", "dept", dp->id,
			      "name", dp->name ? dp->name : dp->id, "staff", (json_int_t)a2,
			      "trained", (json_int_t)t2, "training_coverage_pct", pct(t2, a2),
			      "pledge_pct", pct(p2, a2), "acks_overdue", (json_int_t)ack, "incidents",
			      (json_int_t)inc, "findings_open", (json_int_t)fo, "actions_overdue",
			      (json_int_t)ao, "alerts", (json_int_t)al, "alerts_per_1000_staff",
			      per_1000(al, a2));
		if (!o || json_array_append_new(bydept, o) != 0) {
			r = ERR_NOMEM;
			goto out;
		}
	}
	if ((r = ledger_status(env, &lstat)) < 0)
		goto out;
	if (next_review != DAY_NONE) {
		char nr[DATE_TEXT_MAX];
		date_format(next_review, nr);
		next_j = json_string(nr);
	} else {
		next_j = json_null();
	}
	date_format(today, t);
	res = json_pack("{s:s,s:{s:I,s:I,s:I,s:f,s:f,s:I,s:I,s:I,s:I,s:O,s:I,s:I,s:I,s:f,s:I},"
			"s:O,s:O,s:O,s:O,s:{s:o,s:b}}",
			"date", t, "overall", "staff", (json_int_t)active, "trained",
			(json_int_t)trained, "pledged", (json_int_t)pledged, "training_coverage_pct",
			pct(trained, active), "pledge_pct", pct(pledged, active), "acks_overdue",
			(json_int_t)acks_overdue, "incidents", (json_int_t)json_array_size(incidents),
			"incidents_open", (json_int_t)open_inc, "ppc_overdue", (json_int_t)ppc_overdue,
			"incidents_by_category", bycat, "findings_open", (json_int_t)findings_open,
			"actions_overdue", (json_int_t)actions_overdue, "alerts",
			(json_int_t)alerts_total, "alerts_per_1000_staff",
			per_1000(alerts_total, active), "drills_overdue",
			(json_int_t)cj_int(bcp, "drills_overdue", 0), "by_dept", bydept,
			"incidents_by_month", months, "alerts_per_day", days, "ledger", lstat,
			"policy_review", "next", next_j, "overdue", next_review == DAY_NONE || next_review < today);
	if (!res)
		r = ERR_NOMEM;
out:
	free(tmp);
	registry_data_free(reg);
	json_decref(incidents);
	json_decref(findings);
	json_decref(actions);
	json_decref(reviews);
	json_decref(bydept);
	json_decref(bycat);
	json_decref(months);
	json_decref(days);
	json_decref(acks);
	json_decref(lstat);
	json_decref(bcp);
	if (r == 0)
		*out = res;
	return r;
}

int cycle_review_create(struct isms_ctx *c, const struct cycle_env *env, json_t *data,
			struct diag *d, char id_out[ISMS_ID_MAX])
{
	json_t *rec = NULL, *ind = NULL;
	char *s = NULL;
	int r;

	if (!json_is_object(data)) {
		diag_error(d, NULL, 0, 0, NULL, "%s",
			   T("本文は JSON オブジェクトです", "the body must be a JSON object"));
		return ERR_INVALID;
	}
	if (!isms_may_write_kind(c, &isms_kind_management_reviews))
		return ERR_FORBIDDEN;
	if ((r = cycle_indicators(c, env, &ind)) < 0)
		return r;
	json_object_del(ind, "alerts_per_day");
	if (!(rec = json_deep_copy(data)) || !(s = json_dumps(ind, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(6)))) {
		r = ERR_NOMEM;
		goto out;
	}
	if (strlen(s) > 100000) {
		/* Keep the overall figures when the departments do not fit. */
		json_object_del(ind, "by_dept");
		free(s);
		if (!(s = json_dumps(ind, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(6)))) {
			r = ERR_NOMEM;
			goto out;
		}
	}
	json_object_set_new(rec, "indicators", json_string(s));
	r = isms_create(c, &isms_kind_management_reviews, rec, d, id_out);
out:
	free(s);
	json_decref(rec);
	json_decref(ind);
	return r;
}
