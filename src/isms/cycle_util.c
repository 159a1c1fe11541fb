/*
 * cycle_util.c - helpers shared by the ISMS cycle's files
 * (isms_cycle_int.h) and the environment (cycle_env_load).
 */
#include "base/base.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/diag.h"
#include "base/fileio.h"
#include "base/i18n.h"
#include "base/timeutil.h"
#include "isms/isms_cycle_int.h"
#include "isms/report.h"

const char *cj_str(const json_t *o, const char *name)
{
	json_t *v = json_object_get(o, name);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

bool cj_bool(const json_t *o, const char *name)
{
	return json_is_true(json_object_get(o, name));
}

int64_t cj_int(const json_t *o, const char *name, int64_t dflt)
{
	json_t *v = json_object_get(o, name);
	return json_is_integer(v) ? (int64_t)json_integer_value(v) : dflt;
}

int64_t cj_ts(const json_t *o, const char *name)
{
	const char *s = cj_str(o, name);
	int64_t t;

	if (!s || ts_parse(s, strlen(s), &t, NULL) < 0)
		return TS_NONE;
	return t;
}

int32_t cj_day(const json_t *o, const char *name)
{
	const char *s = cj_str(o, name);
	int32_t d;

	if (!s || date_parse(s, strlen(s), &d) < 0)
		return DAY_NONE;
	return d;
}

int cj_set_str(json_t *o, const char *name, const char *s)
{
	if (!s)
		return 0;
	return json_object_set_new(o, name, json_string(s)) == 0 ? 0 : ERR_NOMEM;
}

int cycle_dept_from(struct isms_ctx *c, const struct isms_kind *pk, const char *field,
		    const char *what_ja, const char *what_en, json_t *rec, struct diag *d)
{
	const char *id = cj_str(rec, field), *dept;
	json_t *p = NULL;
	int r;

	if (!id)
		return 0;
	r = isms_get(c, pk, id, &p);
	if (r == ERR_NOT_FOUND) {
		diag_error(d, NULL, 0, 0, field, T("%s %s はありません", "there is no %s %s"),
			   T(what_ja, what_en), id);
		return 0;
	}
	if (r < 0)
		return r;
	dept = cj_str(p, "dept");
	if (dept)
		r = cj_set_str(rec, "dept", dept);
	else
		json_object_del(rec, "dept");
	json_decref(p);
	return r;
}

void cycle_fmt(char *out, size_t cap, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out, cap, fmt, ap);
	va_end(ap);
	if (n < 0 && cap > 0)
		out[0] = '\0';
}

int32_t cycle_today(const struct isms_ctx *c)
{
	char t[11];
	int32_t d;

	isms_today(c, t);
	if (date_parse(t, 10, &d) < 0)
		return ts_jst_day(ts_now());
	return d;
}

int cycle_fiscal_year(int32_t day)
{
	int y, m, d;

	civil_from_days(day, &y, &m, &d);
	return m >= 4 ? y : y - 1;
}

int cycle_list_all(struct isms_ctx *c, const struct isms_kind *k, const char *const (*filters)[2],
		   size_t nf, json_t **out)
{
	struct isms_query q;
	json_t *all = json_array(), *items = NULL;
	size_t total = 0;
	int r = 0;

	if (!all)
		return ERR_NOMEM;
	memset(&q, 0, sizeof(q));
	if (nf > ARRAY_SIZE(q.filters)) {
		r = ERR_INVALID;
		goto out;
	}
	for (size_t i = 0; i < nf; i++) {
		q.filters[i][0] = filters[i][0];
		q.filters[i][1] = filters[i][1];
	}
	q.nfilters = nf;
	q.per_page = ISMS_PER_PAGE_MAX;
	for (q.page = 1;; q.page++) {
		if ((r = isms_list(c, k, &q, &items, &total)) < 0)
			goto out;
		if (json_array_extend(all, items) != 0) {
			r = ERR_NOMEM;
			goto out;
		}
		json_decref(items);
		items = NULL;
		if (json_array_size(all) >= total || q.page * q.per_page >= total)
			break;
	}
out:
	json_decref(items);
	if (r < 0)
		json_decref(all);
	else
		*out = all;
	return r;
}

void cycle_incident_facts(const json_t *rec, struct ppc_facts *f, struct ppc_done *done)
{
	memset(f, 0, sizeof(*f));
	f->personal_data = cj_bool(rec, "personal_data");
	f->people = cj_int(rec, "people", -1);
	f->special_care = cj_bool(rec, "special_care");
	f->financial_harm = cj_bool(rec, "financial_harm");
	f->improper_purpose = cj_bool(rec, "improper_purpose");
	f->encrypted = cj_bool(rec, "encrypted");
	f->my_number = cj_bool(rec, "my_number");
	f->aware_at = cj_ts(rec, "aware_at");
	done->prelim_at = cj_ts(rec, "ppc_prelim_at");
	done->final_at = cj_ts(rec, "ppc_final_at");
	done->notice_at = cj_ts(rec, "notice_at");
}

int cycle_report_finish(struct buf *html, enum cycle_format fmt, struct buf *out,
			const char **ctype)
{
	if (fmt == CYCLE_PDF) {
		*ctype = "application/pdf";
		return report_pdf(html->data, html->len, 0, out);
	}
	*ctype = "text/html; charset=utf-8";
	return buf_append(out, html->data, html->len);
}

int cycle_env_load(struct cycle_env *env, const char *dir, const char *municipality,
		   struct diag *d)
{
	struct buf path, text;
	int r;

	memset(env, 0, sizeof(*env));
	env->instance_dir = dir;
	env->municipality = municipality;
	ppc_policy_default(&env->ppc);
	buf_init(&path, 8192);
	buf_init(&text, 1 << 20);
	if ((r = buf_printf(&path, "%s/isms-cycle.conf", dir)) < 0)
		goto out;
	r = file_read_all(path.data, 1 << 20, &text);
	if (r == ERR_NOT_FOUND) {
		r = 0;
		goto out;
	}
	if (r < 0)
		goto out;
	r = ppc_policy_parse(&env->ppc, text.data, text.len, "isms-cycle.conf", d);
out:
	buf_release(&path);
	buf_release(&text);
	return r;
}
