/*
 * deadlines.c - the PPC reporting duty and its clocks (deadlines.h).
 */
#include "base/base.h"

#include <string.h>

#include "base/i18n.h"
#include "base/timeutil.h"
#include "isms/deadlines.h"

#define DAY_SEC 86400

void ppc_policy_default(struct ppc_policy *p)
{
	p->people_threshold = 100;
	p->prelim_target_days = 3;
	p->prelim_limit_days = 5;
	p->final_days = 30;
	p->final_days_improper = 60;
	p->notice_days = 5;
	p->due_soon_days = 2;
	p->first_day_counts = true;
}

static void trim(const char **s, size_t *n)
{
	while (*n > 0 && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*n)--;
	}
	while (*n > 0 && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t' || (*s)[*n - 1] == '\r'))
		(*n)--;
}

static bool key_is(const char *k, size_t kn, const char *want)
{
	return strlen(want) == kn && memcmp(k, want, kn) == 0;
}

int ppc_policy_parse(struct ppc_policy *p, const char *text, size_t len, const char *fname,
		     struct diag *d)
{
	struct {
		const char *key;
		unsigned *u;
		int64_t *i;
		int64_t max;
	} num[] = {
	    {"ppc_people_threshold", NULL, &p->people_threshold, 100000000},
	    {"ppc_prelim_target_days", &p->prelim_target_days, NULL, 365},
	    {"ppc_prelim_limit_days", &p->prelim_limit_days, NULL, 365},
	    {"ppc_final_days", &p->final_days, NULL, 365},
	    {"ppc_final_days_improper", &p->final_days_improper, NULL, 365},
	    {"ppc_notice_days", &p->notice_days, NULL, 365},
	    {"ppc_due_soon_days", &p->due_soon_days, NULL, 365},
	};
	size_t pos = 0;
	long line = 0;
	bool bad = false;

	while (pos < len) {
		const char *l = text + pos, *nl = memchr(l, '\n', len - pos), *eq;
		size_t n = nl ? (size_t)(nl - l) : len - pos, kn, vn;
		const char *k, *v;
		bool found = false;

		pos += n + (nl ? 1 : 0);
		line++;
		trim(&l, &n);
		if (n == 0 || l[0] == '#')
			continue;
		eq = memchr(l, '=', n);
		if (!eq) {
			diag_error(d, fname, line, 0, NULL, "%s",
				   T("「キー = 値」の形ではありません", "not a 'key = value' line"));
			bad = true;
			continue;
		}
		k = l;
		kn = (size_t)(eq - l);
		v = eq + 1;
		vn = n - kn - 1;
		trim(&k, &kn);
		trim(&v, &vn);
		if (vn >= 2 && v[0] == '"' && v[vn - 1] == '"') {
			v++;
			vn -= 2;
		}
		if (key_is(k, kn, "ppc_first_day_counts")) {
			if (vn == 4 && !memcmp(v, "true", 4))
				p->first_day_counts = true;
			else if (vn == 5 && !memcmp(v, "false", 5))
				p->first_day_counts = false;
			else {
				diag_error(d, fname, line, 0, "ppc_first_day_counts", "%s",
					   T("true か false を指定してください", "must be true or false"));
				bad = true;
			}
			continue;
		}
		for (size_t i = 0; i < ARRAY_SIZE(num); i++) {
			int64_t x;
			if (!key_is(k, kn, num[i].key))
				continue;
			found = true;
			if (parse_i64(v, vn, num[i].i ? 0 : 1, num[i].max, &x) < 0) {
				diag_error(d, fname, line, 0, num[i].key,
					   T("%s 以上 %" PRId64 " 以下の整数を指定してください",
					     "must be a whole number from %s to %" PRId64),
					   num[i].i ? "0" : "1", num[i].max);
				bad = true;
			} else if (num[i].i) {
				*num[i].i = x;
			} else {
				*num[i].u = (unsigned)x;
			}
		}
		if (!found) {
			diag_error(d, fname, line, 0, NULL, T("不明なキー「%.*s」", "unknown key '%.*s'"),
				   (int)(kn > 64 ? 64 : kn), k);
			bad = true;
		}
	}
	if (!bad && p->prelim_target_days > p->prelim_limit_days) {
		diag_error(d, fname, 0, 0, "ppc_prelim_target_days", "%s",
			   T("速報の目標日が期限より後になっています",
			     "the preliminary report's target is after its limit"));
		bad = true;
	}
	return bad ? ERR_INVALID : 0;
}

void ppc_decide(const struct ppc_policy *p, const struct ppc_facts *f, struct ppc_decision *out)
{
	unsigned r = 0;

	memset(out, 0, sizeof(*out));
	if (!f->personal_data)
		return;
	if (f->special_care)
		r |= PPC_R_SPECIAL_CARE;
	if (f->financial_harm)
		r |= PPC_R_FINANCIAL;
	if (f->improper_purpose)
		r |= PPC_R_IMPROPER;
	if (f->people > p->people_threshold)
		r |= PPC_R_PEOPLE;
	if (f->my_number)
		r |= PPC_R_MY_NUMBER;
	out->reasons = r;
	/* Strong encryption (高度な暗号化) exempts the leak from the duty,
	 * whatever made it reportable (DOMAIN.md; rules art. 43). Whoever
	 * records the incident says whether the key leaked too: then the data
	 * were not protected and "encrypted" must not be set. */
	if (r != 0 && f->encrypted) {
		out->exempt_encrypted = true;
		return;
	}
	out->required = r != 0;
}

int32_t ppc_day_limit(const struct ppc_policy *p, int32_t aware_day, unsigned n)
{
	if (n == 0)
		return aware_day;
	return aware_day + (int32_t)n - (p->first_day_counts ? 1 : 0);
}

static int32_t last_open_on_or_before(int32_t day)
{
	/* The longest run of closed days (year end plus a weekend, or Golden
	 * Week) is well under 20 days. */
	for (int i = 0; i < 20 && jp_office_closed(day); i++)
		day--;
	return day;
}

static void clock_set(const struct ppc_policy *p, struct ppc_clock *c, int64_t aware_at,
		      unsigned target_days, unsigned limit_days, int64_t done_at, int64_t now)
{
	int32_t aware_day = ts_jst_day(aware_at);
	int64_t target_end;

	c->days = limit_days;
	c->target_day = target_days ? ppc_day_limit(p, aware_day, target_days) : DAY_NONE;
	c->limit_day = ppc_day_limit(p, aware_day, limit_days);
	c->limit_at = day_jst_midnight(c->limit_day + 1) - 1;
	c->limit_closed = jp_office_closed(c->limit_day);
	c->prepare_by = last_open_on_or_before(c->limit_day);
	c->seconds_left = c->limit_at - now;
	if (done_at != TS_NONE) {
		c->state = done_at <= c->limit_at ? CLOCK_DONE : CLOCK_DONE_LATE;
		return;
	}
	if (now > c->limit_at) {
		c->state = CLOCK_OVERDUE;
		return;
	}
	target_end = c->target_day != DAY_NONE ? day_jst_midnight(c->target_day + 1) - 1 : INT64_MAX;
	if (now > target_end || c->seconds_left < (int64_t)p->due_soon_days * DAY_SEC)
		c->state = CLOCK_DUE_SOON;
	else
		c->state = CLOCK_RUNNING;
}

static void clock_none(struct ppc_clock *c, enum ppc_clock_state st)
{
	memset(c, 0, sizeof(*c));
	c->state = st;
	c->target_day = c->limit_day = c->prepare_by = DAY_NONE;
	c->limit_at = TS_NONE;
}

void ppc_schedule_compute(const struct ppc_policy *p, const struct ppc_facts *f,
			  const struct ppc_done *done, int64_t now, struct ppc_schedule *out)
{
	enum ppc_clock_state none;

	memset(out, 0, sizeof(*out));
	ppc_decide(p, f, &out->decision);
	if (!out->decision.required || f->aware_at == TS_NONE) {
		none = out->decision.required ? CLOCK_UNKNOWN : CLOCK_NOT_REQUIRED;
		clock_none(&out->prelim, none);
		clock_none(&out->final, none);
		clock_none(&out->notice, none);
		return;
	}
	clock_set(p, &out->prelim, f->aware_at, p->prelim_target_days, p->prelim_limit_days,
		  done->prelim_at, now);
	clock_set(p, &out->final, f->aware_at, 0,
		  f->improper_purpose ? p->final_days_improper : p->final_days, done->final_at, now);
	clock_set(p, &out->notice, f->aware_at, 0, p->notice_days, done->notice_at, now);
}

const char *ppc_clock_state_name(enum ppc_clock_state s)
{
	switch (s) {
	case CLOCK_NOT_REQUIRED: return "not_required";
	case CLOCK_UNKNOWN: return "unknown";
	case CLOCK_RUNNING: return "running";
	case CLOCK_DUE_SOON: return "due_soon";
	case CLOCK_OVERDUE: return "overdue";
	case CLOCK_DONE: return "done";
	case CLOCK_DONE_LATE: return "done_late";
	}
	return "?";
}

const char *ppc_reason_name(enum ppc_reason r)
{
	switch (r) {
	case PPC_R_SPECIAL_CARE: return "special_care";
	case PPC_R_FINANCIAL: return "financial_harm";
	case PPC_R_IMPROPER: return "improper_purpose";
	case PPC_R_PEOPLE: return "people";
	case PPC_R_MY_NUMBER: return "my_number";
	}
	return "?";
}

const char *ppc_reason_label(enum ppc_reason r)
{
	switch (r) {
	case PPC_R_SPECIAL_CARE: return T("要配慮個人情報の漏えい等", "special-care personal information");
	case PPC_R_FINANCIAL: return T("財産的被害が生じるおそれ", "risk of financial harm");
	case PPC_R_IMPROPER: return T("不正の目的によるおそれ", "possibly an improper purpose");
	case PPC_R_PEOPLE: return T("本人の数が基準を超える", "more people than the threshold");
	case PPC_R_MY_NUMBER: return T("特定個人情報の漏えい等（番号法）", "My Number data (番号法)");
	}
	return "?";
}
