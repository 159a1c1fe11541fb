/*
 * deadlines.h - whether a leak of personal information must be reported to
 * the 個人情報保護委員会 (Personal Information Protection Commission, PPC),
 * and the clocks of the reports and of the notice to the people concerned.
 *
 * The rules (docs/isms-cycle.md, "Reporting to the PPC"): since April 2023
 * a public body reports a leak (漏えい等, actual or possible) to the PPC
 * (個人情報保護法 art. 68, rules art. 43) when it involves 要配慮個人情報,
 * a risk of financial harm, a possibly improper purpose (不正の目的), or
 * more than 100 people; a leak of data under strong encryption is exempt.
 * Leaks of 特定個人情報 (My Number data) carry their own duty (番号法
 * art. 29-4) and are treated here as reportable. The people concerned are
 * notified whenever the PPC is (art. 68(2)).
 *
 * Deadlines, counted in calendar days (土日・祝日も含める: the commission
 * counts weekends and holidays, and a limit that falls on a day the office
 * is closed is not moved to the next open day):
 *   速報 (preliminary report): "promptly", in practice about 3 to 5 days
 *        after becoming aware. Modelled as a target (day 3) and a limit
 *        (day 5): the target is what the CSIRT aims for, the limit is the
 *        end of the "about 3-5 days" range, after which the report is late.
 *   確報 (final report): within 30 days, or 60 days when an improper
 *        purpose is involved.
 *   本人通知 (notice): "promptly" with no number in the law; the policy
 *        default is the same day as the 速報 limit.
 * The day of awareness counts as day 1 by default (first_day_counts): it
 * is the earlier, and so the safer, of the two readings (民法 art. 140
 * would not count a first day that does not start at midnight). Each limit
 * is the end (23:59:59 JST) of its day. When a limit falls on a day the
 * office is closed (weekend, holiday, 12/29-1/3), the clock says so and
 * gives prepare_by, the last open day on or before the limit, so the
 * report is not left to a day nobody works.
 *
 * All values are in struct ppc_policy (defaults from ppc_policy_default)
 * and may be changed by the instance's isms-cycle.conf (ppc_policy_load).
 * Pure functions, thread-safe.
 */
#ifndef MAMORI_ISMS_DEADLINES_H
#define MAMORI_ISMS_DEADLINES_H

#include "base/base.h"

#include "base/diag.h"

struct ppc_policy {
	int64_t people_threshold;  /* reportable when people > this (100) */
	unsigned prelim_target_days; /* 速報 target: day 3 */
	unsigned prelim_limit_days;  /* 速報 limit: day 5 */
	unsigned final_days;         /* 確報: 30 */
	unsigned final_days_improper; /* 確報 with an improper purpose: 60 */
	unsigned notice_days;        /* 本人通知 target: 5 */
	unsigned due_soon_days;      /* a clock is "due soon" within this many days of its limit: 2 */
	bool first_day_counts;       /* the day of awareness is day 1 (true) or day 0 */
};

/* What the incident's record says about the leak. */
struct ppc_facts {
	bool personal_data;    /* personal information is involved */
	int64_t people;        /* number of people concerned; < 0 unknown */
	bool special_care;     /* 要配慮個人情報 */
	bool financial_harm;   /* 財産的被害が生じるおそれ */
	bool improper_purpose; /* 不正の目的によるおそれ */
	bool encrypted;        /* protected by strong encryption (高度な暗号化): exempt */
	bool my_number;        /* 特定個人情報 */
	int64_t aware_at;      /* when the body became aware (TS); TS_NONE unknown */
};

enum ppc_reason {
	PPC_R_SPECIAL_CARE = 1u << 0,
	PPC_R_FINANCIAL = 1u << 1,
	PPC_R_IMPROPER = 1u << 2,
	PPC_R_PEOPLE = 1u << 3,
	PPC_R_MY_NUMBER = 1u << 4,
};

struct ppc_decision {
	bool required;      /* report to the PPC and notify the people */
	unsigned reasons;   /* enum ppc_reason bits that made it required (or would have, if exempt) */
	bool exempt_encrypted; /* a reason applied but the data were strongly encrypted */
};

enum ppc_clock_state {
	CLOCK_NOT_REQUIRED = 0,
	CLOCK_UNKNOWN,  /* required, but the time of awareness is not recorded */
	CLOCK_RUNNING,
	CLOCK_DUE_SOON, /* past the target, or within due_soon_days of the limit */
	CLOCK_OVERDUE,  /* past the limit and not done */
	CLOCK_DONE,     /* done on or before the limit */
	CLOCK_DONE_LATE /* done after the limit */
};

struct ppc_clock {
	enum ppc_clock_state state;
	int32_t target_day;     /* DAY_NONE when the clock has no separate target */
	int32_t limit_day;      /* DAY_NONE when not required or unknown */
	int64_t limit_at;       /* end of limit_day, 23:59:59 JST */
	bool limit_closed;      /* limit_day is a day the office is closed */
	int32_t prepare_by;     /* last open day on or before limit_day */
	int64_t seconds_left;   /* limit_at - now (negative when overdue) */
	unsigned days;          /* the number of days the limit is counted with */
};

struct ppc_schedule {
	struct ppc_decision decision;
	struct ppc_clock prelim, final, notice;
};

/* When each step was done (TS_NONE = not yet). */
struct ppc_done {
	int64_t prelim_at, final_at, notice_at;
};

void ppc_policy_default(struct ppc_policy *p);

/*
 * Read settings into *p (which holds the defaults) from the text of a
 * key = value file (isms-cycle.conf: '#' comments, blank lines). Keys:
 * ppc_people_threshold, ppc_prelim_target_days, ppc_prelim_limit_days,
 * ppc_final_days, ppc_final_days_improper, ppc_notice_days,
 * ppc_due_soon_days, ppc_first_day_counts (true/false). Unknown keys and
 * bad values are errors named fname:line in d (ERR_INVALID); the target
 * must not be after the limit. Keys of other modules are not allowed here.
 */
MM_WUR int ppc_policy_parse(struct ppc_policy *p, const char *text, size_t len,
			    const char *fname, struct diag *d);

void ppc_decide(const struct ppc_policy *p, const struct ppc_facts *f, struct ppc_decision *out);

/* The day limit counted n days from the day of awareness, as p says. */
int32_t ppc_day_limit(const struct ppc_policy *p, int32_t aware_day, unsigned n);

/*
 * The whole schedule of facts f at time now (TS), with the steps done so
 * far. Never fails: a required report with no time of awareness has
 * clocks in CLOCK_UNKNOWN.
 */
void ppc_schedule_compute(const struct ppc_policy *p, const struct ppc_facts *f,
			  const struct ppc_done *done, int64_t now, struct ppc_schedule *out);

/* "not_required", "unknown", "running", "due_soon", "overdue", "done", "done_late". */
const char *ppc_clock_state_name(enum ppc_clock_state s);
/* The reason's code ("special_care", ...) and its label for people. */
const char *ppc_reason_name(enum ppc_reason r);
const char *ppc_reason_label(enum ppc_reason r);

/* True if the clock is in a state someone must act on (overdue). */
static inline bool ppc_clock_overdue(const struct ppc_clock *c)
{
	return c->state == CLOCK_OVERDUE;
}

#endif
