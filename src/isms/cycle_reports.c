/*
 * cycle_reports.c - the reports of the ISMS cycle (cycle_report in
 * isms_cycle.h): the annual information-security report, the SoA, the
 * incident register, the public audit summary and a department's status
 * sheet, each as HTML, PDF (the HTML printed by Chromium) or CSV (its
 * main table, UTF-8 with BOM).
 */
#include "base/base.h"

#include <stdlib.h>
#include <string.h>

#include "base/i18n.h"
#include "base/timeutil.h"
#include "isms/isms_cycle_int.h"
#include "isms/people.h"
#include "isms/report.h"

/* A report being built: the HTML page and, for CSV, its main table. */
struct rb {
	struct report rp;
	enum cycle_format fmt;
	struct buf csv;
	bool csv_done;
};

/* rows: JSON array of arrays of strings (or null). Rendered as a table;
 * the first table marked primary is the CSV. */
static int rb_table(struct rb *b, const char *heading, const char *const *head, size_t ncols,
		    const json_t *rows, bool primary)
{
	size_t n = json_array_size(rows), total;
	const char **cells;
	json_t *row;
	size_t i;
	int r = 0;

	if (size_mul(n ? n : 1, ncols, &total) < 0)
		return ERR_TOO_LARGE;
	cells = xcalloc(total, sizeof(*cells));
	json_array_foreach(rows, i, row)
		for (size_t c = 0; c < ncols; c++) {
			json_t *v = json_array_get(row, c);
			cells[i * ncols + c] = json_is_string(v) ? json_string_value(v) : NULL;
		}
	if (heading && (r = report_heading(&b->rp, 2, heading)) < 0)
		goto out;
	if ((r = report_table(&b->rp, head, ncols, cells, n)) < 0)
		goto out;
	if (primary && !b->csv_done) {
		b->csv_done = true;
		if ((r = report_csv_begin(&b->csv)) < 0 || (r = report_csv_row(&b->csv, head, ncols)) < 0)
			goto out;
		for (i = 0; i < n; i++)
			if ((r = report_csv_row(&b->csv, cells + i * ncols, ncols)) < 0)
				goto out;
	}
out:
	free(cells);
	return r;
}

/* Append a row of strings (NULL = empty) to rows. */
static int row_add(json_t *rows, size_t n, const char *const *v)
{
	json_t *row = json_array();

	if (!row)
		return ERR_NOMEM;
	for (size_t i = 0; i < n; i++)
		json_array_append_new(row, v[i] ? json_string(v[i]) : json_null());
	return json_array_append_new(rows, row) == 0 ? 0 : ERR_NOMEM;
}

static int rb_finish(struct rb *b, struct buf *out, const char **ctype)
{
	int r;

	if ((r = report_end(&b->rp)) < 0)
		return r;
	if (b->fmt == CYCLE_CSV) {
		*ctype = "text/csv; charset=utf-8";
		return buf_append(out, b->csv.data, b->csv.len);
	}
	return cycle_report_finish(&b->rp.html, b->fmt, out, ctype);
}

static const char *s_or(const json_t *o, const char *k)
{
	const char *s = cj_str(o, k);
	return s ? s : "";
}

/* Key figures both as the page's boxes and as a table (the CSV of
 * reports whose main content is figures). */
static int rb_figures(struct rb *b, const struct report_figure *f, size_t n, bool primary)
{
	const char *head[] = {T("指標", "Indicator"), T("値", "Value")};
	json_t *rows = json_array();
	int r;

	if (!rows)
		return ERR_NOMEM;
	for (size_t i = 0; i < n; i++) {
		const char *v[] = {f[i].label, f[i].value};
		if ((r = row_add(rows, 2, v)) < 0)
			goto out;
	}
	if ((r = report_figures(&b->rp, f, n)) < 0)
		goto out;
	if (primary && !b->csv_done) {
		json_t *row;
		size_t i;
		b->csv_done = true;
		if ((r = report_csv_begin(&b->csv)) < 0 || (r = report_csv_row(&b->csv, head, 2)) < 0)
			goto out;
		json_array_foreach(rows, i, row) {
			const char *v[] = {json_string_value(json_array_get(row, 0)),
					   json_string_value(json_array_get(row, 1))};
			if ((r = report_csv_row(&b->csv, v, 2)) < 0)
				goto out;
		}
	}
out:
	json_decref(rows);
	return r;
}

/* A chart from an array of objects {label_key: "...", value_key: n}. */
static int rb_chart(struct rb *b, const char *heading, const json_t *arr, const char *label_key,
		    const char *value_key, double max, const char *unit)
{
	size_t n = json_array_size(arr), i;
	const char **labels = xcalloc(n + 1, sizeof(*labels));
	double *values = xcalloc(n + 1, sizeof(*values));
	json_t *e;
	int r;

	json_array_foreach(arr, i, e) {
		json_t *v = json_object_get(e, value_key);
		labels[i] = s_or(e, label_key);
		values[i] = json_is_number(v) ? json_number_value(v) : 0;
	}
	if ((r = report_heading(&b->rp, 2, heading)) == 0)
		r = report_bar_chart(&b->rp, heading, labels, values, n, max, unit);
	free(labels);
	free(values);
	return r;
}

static void num(char *out, size_t cap, int64_t v)
{
	cycle_fmt(out, cap, "%" PRId64, v);
}

static void pctf(char *out, size_t cap, double v)
{
	cycle_fmt(out, cap, "%.1f%%", v);
}

/* ---- the reports ---- */

static int rep_incidents(struct isms_ctx *c, const struct cycle_env *env, struct rb *b)
{
	const char *head[] = {T("番号", "Id"),		   T("件名", "Title"),
			      T("分類", "Category"),	   T("重大度", "Severity"),
			      T("状態", "Status"),		   T("部署", "Dept"),
			      T("認知日時", "Aware at"),	   T("委員会報告", "PPC report"),
			      T("速報", "Preliminary"),	   T("確報", "Final"),
			      T("確報期限", "Final due")};
	json_t *list = NULL, *rows = json_array(), *e;
	size_t i;
	int r;

	if (!rows)
		return ERR_NOMEM;
	if ((r = cycle_list_all(c, &isms_kind_incidents, NULL, 0, &list)) < 0)
		goto out;
	json_array_foreach(list, i, e) {
		json_t *ppc = NULL, *cl;
		if ((r = cycle_incident_ppc(c, env, e, &ppc)) < 0)
			goto out;
		cl = json_object_get(ppc, "clocks");
		{
			const char *v[] = {
			    cj_id(e), s_or(e, "title"), s_or(e, "category"), s_or(e, "severity"),
			    s_or(e, "status"), s_or(e, "dept"), s_or(e, "aware_at"),
			    cj_bool(ppc, "required") ? T("要", "required") : T("不要", "no"),
			    s_or(json_object_get(cl, "prelim"), "state"),
			    s_or(json_object_get(cl, "final"), "state"),
			    s_or(json_object_get(cl, "final"), "limit")};
			r = row_add(rows, ARRAY_SIZE(head), v);
		}
		json_decref(ppc);
		if (r < 0)
			goto out;
	}
	r = rb_table(b, T("インシデント台帳", "Incident register"), head, ARRAY_SIZE(head), rows,
		     true);
out:
	json_decref(list);
	json_decref(rows);
	return r;
}

static int rep_soa(struct isms_ctx *c, struct rb *b)
{
	const char *head[] = {T("管理策", "Control"), T("名称", "Title"), T("適用", "Applicable"),
			      T("実施状況", "Status"), T("理由", "Justification")};
	json_t *list = NULL, *rows = json_array(), *e;
	size_t i;
	int r;

	if (!rows)
		return ERR_NOMEM;
	if ((r = cycle_list_all(c, &isms_kind_soa, NULL, 0, &list)) < 0)
		goto out;
	json_array_foreach(list, i, e) {
		const char *v[] = {s_or(e, "control"), s_or(e, "title"),
				   cj_bool(e, "applicable") ? T("適用", "yes") : T("除外", "no"),
				   s_or(e, "status"), s_or(e, "justification")};
		if ((r = row_add(rows, ARRAY_SIZE(head), v)) < 0)
			goto out;
	}
	r = rb_table(b, T("適用宣言書", "Statement of Applicability"), head, ARRAY_SIZE(head),
		     rows, true);
out:
	json_decref(list);
	json_decref(rows);
	return r;
}

static int rep_audit_summary(struct isms_ctx *c, int64_t year, struct rb *b)
{
	const char *head[] = {T("監査", "Audit"),	T("種別", "Type"),
			      T("年度", "Fiscal year"), T("期間", "Period"),
			      T("範囲", "Scope"),	T("概要", "Summary"),
			      T("重大な指摘", "Major"), T("軽微な指摘", "Minor"),
			      T("観察事項", "Observations"), T("是正処置（完了/全体）", "Actions (verified/total)")};
	json_t *sum = NULL, *rows = json_array(), *e;
	size_t i;
	int r;

	if (!rows)
		return ERR_NOMEM;
	if ((r = cycle_audit_summary(c, year, &sum)) < 0)
		goto out;
	json_array_foreach(json_object_get(sum, "audits"), i, e) {
		char fy[16], period[32], ma[16], mi[16], ob[16], ac[40];
		json_t *f = json_object_get(e, "findings"), *a = json_object_get(e, "actions");
		num(fy, sizeof(fy), cj_int(e, "fiscal_year", 0));
		cycle_fmt(period, sizeof(period), "%s – %s", s_or(e, "start"), s_or(e, "end"));
		num(ma, sizeof(ma), cj_int(f, "major", 0));
		num(mi, sizeof(mi), cj_int(f, "minor", 0));
		num(ob, sizeof(ob), cj_int(f, "observation", 0));
		cycle_fmt(ac, sizeof(ac), "%" PRId64 "/%" PRId64, cj_int(a, "verified", 0),
			  cj_int(a, "total", 0));
		{
			const char *v[] = {s_or(e, "title"), s_or(e, "type"), fy, period,
					   s_or(e, "scope"), s_or(e, "summary"), ma, mi, ob, ac};
			if ((r = row_add(rows, ARRAY_SIZE(head), v)) < 0)
				goto out;
		}
	}
	if ((r = report_para(&b->rp, T("本市が実施した情報セキュリティ監査の概要を公表します。",
				       "An overview of the information-security audits carried out."))) < 0)
		goto out;
	r = rb_table(b, T("監査の概要", "Audits"), head, ARRAY_SIZE(head), rows, true);
out:
	json_decref(sum);
	json_decref(rows);
	return r;
}

static json_t *find_dept(const json_t *ind, const char *dept)
{
	json_t *e;
	size_t i;

	json_array_foreach(json_object_get(ind, "by_dept"), i, e)
		if (!strcmp(s_or(e, "dept"), dept))
			return e;
	return NULL;
}

static int rep_dept(struct isms_ctx *c, const struct cycle_env *env, const char *dept,
		    struct rb *b)
{
	const char *head[] = {T("種別", "Kind"), T("番号", "Id"), T("件名", "Title"),
			      T("状態", "Status"), T("期限", "Due")};
	const char *const f[1][2] = {{"dept", dept}};
	json_t *ind = NULL, *d, *rows = json_array(), *list = NULL, *e;
	char v1[32], v2[32], v3[32], v4[32], v5[32], v6[32];
	size_t i;
	int r;

	if (!rows)
		return ERR_NOMEM;
	if ((r = cycle_indicators(c, env, &ind)) < 0)
		goto out;
	if (!(d = find_dept(ind, dept))) {
		r = ERR_NOT_FOUND;
		goto out;
	}
	pctf(v1, sizeof(v1), json_number_value(json_object_get(d, "training_coverage_pct")));
	num(v2, sizeof(v2), cj_int(d, "acks_overdue", 0));
	num(v3, sizeof(v3), cj_int(d, "incidents", 0));
	num(v4, sizeof(v4), cj_int(d, "findings_open", 0));
	num(v5, sizeof(v5), cj_int(d, "actions_overdue", 0));
	num(v6, sizeof(v6), cj_int(d, "alerts", 0));
	{
		struct report_figure fig[] = {
		    {T("研修受講率", "Training coverage"), v1, NULL, false},
		    {T("未確認の通知（期限超過）", "Notices unacknowledged (overdue)"), v2, NULL,
		     cj_int(d, "acks_overdue", 0) > 0},
		    {T("インシデント", "Incidents"), v3, NULL, false},
		    {T("未完了の指摘", "Open findings"), v4, NULL, false},
		    {T("期限超過の是正処置", "Overdue actions"), v5, NULL,
		     cj_int(d, "actions_overdue", 0) > 0},
		    {T("監視アラート", "Watch alerts"), v6, NULL, false},
		};
		if ((r = rb_figures(b, fig, ARRAY_SIZE(fig), true)) < 0)
			goto out;
	}
	if ((r = cycle_list_all(c, &isms_kind_corrective_actions, f, 1, &list)) < 0)
		goto out;
	json_array_foreach(list, i, e) {
		const char *v[] = {T("是正処置", "Action"), cj_id(e), s_or(e, "title"),
				   s_or(e, "status"), s_or(e, "due")};
		if ((r = row_add(rows, 5, v)) < 0)
			goto out;
	}
	json_decref(list);
	list = NULL;
	if ((r = cycle_list_all(c, &isms_kind_checklists, f, 1, &list)) < 0)
		goto out;
	json_array_foreach(list, i, e) {
		const char *v[] = {T("自己点検", "Self-inspection"), cj_id(e), s_or(e, "dept"),
				   s_or(e, "status"), s_or(e, "due")};
		if ((r = row_add(rows, 5, v)) < 0)
			goto out;
	}
	json_decref(list);
	list = NULL;
	if ((r = cycle_list_all(c, &isms_kind_incidents, f, 1, &list)) < 0)
		goto out;
	json_array_foreach(list, i, e) {
		const char *v[] = {T("インシデント", "Incident"), cj_id(e), s_or(e, "title"),
				   s_or(e, "status"), NULL};
		if ((r = row_add(rows, 5, v)) < 0)
			goto out;
	}
	r = rb_table(b, T("部署の課題", "The department's open items"), head, 5, rows, false);
out:
	json_decref(list);
	json_decref(ind);
	json_decref(rows);
	return r;
}

static int rep_annual(struct isms_ctx *c, const struct cycle_env *env, int64_t year,
		      struct rb *b)
{
	json_t *ind = NULL, *o, *list = NULL, *e, *months = json_array(), *rows = json_array();
	int64_t n_inc = 0, n_ppc = 0;
	char v[8][32];
	size_t i;
	int r;

	if (!months || !rows) {
		r = ERR_NOMEM;
		goto out;
	}
	if ((r = cycle_indicators(c, env, &ind)) < 0 ||
	    (r = cycle_list_all(c, &isms_kind_incidents, NULL, 0, &list)) < 0)
		goto out;
	o = json_object_get(ind, "overall");
	/* Incidents of the fiscal year, April to March, by month of awareness. */
	for (int m = 0; m < 12; m++) {
		int yy = (int)year + (m >= 9 ? 1 : 0), mm = (m + 3) % 12 + 1;
		int64_t n = 0;
		char key[8];
		json_array_foreach(list, i, e) {
			int64_t t = cj_ts(e, "aware_at");
			int y2, m2, d2;
			if (t == TS_NONE)
				continue;
			civil_from_days(ts_jst_day(t), &y2, &m2, &d2);
			if (y2 == yy && m2 == mm) {
				json_t *ppc = NULL;
				n++;
				if ((r = cycle_incident_ppc(c, env, e, &ppc)) < 0)
					goto out;
				n_ppc += cj_bool(ppc, "required");
				json_decref(ppc);
			}
		}
		n_inc += n;
		cycle_fmt(key, sizeof(key), "%04d-%02d", yy, mm);
		json_array_append_new(months, json_pack("{s:s,s:I}", "month", key, "count",
							(json_int_t)n));
	}
	num(v[0], 32, n_inc);
	num(v[1], 32, n_ppc);
	pctf(v[2], 32, json_number_value(json_object_get(o, "training_coverage_pct")));
	num(v[3], 32, cj_int(o, "findings_open", 0));
	num(v[4], 32, cj_int(o, "actions_overdue", 0));
	num(v[5], 32, cj_int(o, "drills_overdue", 0));
	num(v[6], 32, cj_int(o, "alerts", 0));
	cycle_fmt(v[7], 32, "%s",
		  cj_bool(json_object_get(ind, "ledger"), "ok") ? T("正常", "verified")
								: T("異常", "FAILED"));
	{
		struct report_figure fig[] = {
		    {T("インシデント件数", "Incidents"), v[0], NULL, false},
		    {T("委員会への報告対象", "Reportable to the PPC"), v[1], NULL, false},
		    {T("研修受講率", "Training coverage"), v[2], NULL, false},
		    {T("未完了の監査指摘", "Open audit findings"), v[3], NULL, false},
		    {T("期限超過の是正処置", "Overdue corrective actions"), v[4], NULL,
		     cj_int(o, "actions_overdue", 0) > 0},
		    {T("訓練期限超過のシステム", "Systems with a drill overdue"), v[5], NULL,
		     cj_int(o, "drills_overdue", 0) > 0},
		    {T("監視アラート", "Watch alerts"), v[6], NULL, false},
		    {T("台帳の検証", "Ledger verification"), v[7], NULL,
		     !cj_bool(json_object_get(ind, "ledger"), "ok")},
		};
		if ((r = rb_figures(b, fig, ARRAY_SIZE(fig), true)) < 0)
			goto out;
	}
	if ((r = rb_chart(b, T("月別インシデント件数", "Incidents by month"), months, "month",
			  "count", 0, NULL)) < 0 ||
	    (r = rb_chart(b, T("部署別の研修受講率", "Training coverage by department"),
			  json_object_get(ind, "by_dept"), "name", "training_coverage_pct", 100,
			  "%")) < 0 ||
	    (r = rb_chart(b, T("日別の監視アラート（直近30日）", "Alerts per day (last 30 days)"),
			  json_object_get(ind, "alerts_per_day"), "day", "count", 0, NULL)) < 0)
		goto out;
	{
		const char *head[] = {T("分類", "Category"), T("件数", "Incidents")};
		const char *k;
		json_t *val;
		json_object_foreach(json_object_get(o, "incidents_by_category"), k, val) {
			char nb[32];
			num(nb, sizeof(nb), json_integer_value(val));
			const char *rv[] = {k, nb};
			if ((r = row_add(rows, 2, rv)) < 0)
				goto out;
		}
		if ((r = rb_table(b, T("分類別インシデント件数", "Incidents by category"), head, 2,
				  rows, false)) < 0)
			goto out;
	}
	r = rep_audit_summary(c, year, b);
out:
	json_decref(ind);
	json_decref(list);
	json_decref(months);
	json_decref(rows);
	return r;
}

int cycle_report(struct isms_ctx *c, const struct cycle_env *env, const char *name,
		 enum cycle_format fmt, const char *dept, int64_t year, struct buf *out,
		 const char **ctype)
{
	static const struct {
		const char *name, *ja, *en;
	} names[] = {
	    {"annual", "情報セキュリティ年次報告書", "Annual information-security report"},
	    {"soa", "適用宣言書", "Statement of Applicability"},
	    {"incidents", "インシデント台帳", "Incident register"},
	    {"audit-summary", "情報セキュリティ監査の概要", "Summary of information-security audits"},
	    {"dept-status", "部署別状況", "Department status sheet"},
	};
	struct rb b;
	char sub[300], today[DATE_TEXT_MAX];
	size_t k;
	int r;

	for (k = 0; k < ARRAY_SIZE(names); k++)
		if (!strcmp(names[k].name, name))
			break;
	if (k == ARRAY_SIZE(names))
		return ERR_NOT_FOUND;
	if (!strcmp(name, "dept-status") && (!dept || !*dept))
		return ERR_INVALID;
	if (year == 0 && (!strcmp(name, "annual")))
		year = cycle_fiscal_year(cycle_today(c));
	date_format(cycle_today(c), today);
	if (!strcmp(name, "annual") || (!strcmp(name, "audit-summary") && year))
		cycle_fmt(sub, sizeof(sub), "%s — %s %" PRId64 " — %s %s",
			  env->municipality ? env->municipality : "", T("年度", "fiscal year"),
			  year, T("作成日", "made on"), today);
	else if (dept)
		cycle_fmt(sub, sizeof(sub), "%s — %s — %s %s",
			  env->municipality ? env->municipality : "", dept, T("作成日", "made on"),
			  today);
	else
		cycle_fmt(sub, sizeof(sub), "%s — %s %s", env->municipality ? env->municipality : "",
			  T("作成日", "made on"), today);
	memset(&b, 0, sizeof(b));
	b.fmt = fmt;
	buf_init(&b.csv, (size_t)16 << 20);
	if ((r = report_begin(&b.rp, i18n_is_ja() ? "ja" : "en", T(names[k].ja, names[k].en),
			      sub)) < 0)
		goto out;
	if (!strcmp(name, "annual"))
		r = rep_annual(c, env, year, &b);
	else if (!strcmp(name, "soa"))
		r = rep_soa(c, &b);
	else if (!strcmp(name, "incidents"))
		r = rep_incidents(c, env, &b);
	else if (!strcmp(name, "audit-summary"))
		r = rep_audit_summary(c, year, &b);
	else
		r = rep_dept(c, env, dept, &b);
	if (r < 0)
		goto out;
	r = rb_finish(&b, out, ctype);
out:
	report_release(&b.rp);
	buf_release(&b.csv);
	return r;
}
