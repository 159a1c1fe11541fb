/*
 * watch.c - the streaming rule engine: explanations and rules for each
 * access as it arrives, peer rules and alerts when its JST day closes.
 *
 * Memory is bounded by one day: the events of the current day (a few
 * words each plus their refs), per-person search state, and a counter per
 * resident reused by the scanning rule. Nothing of an earlier day is kept
 * except the running counts.
 */
#include "base/base.h"
#include "base/buf.h"
#include "base/timeutil.h"
#include "registry/registry.h"
#include "watch/watch.h"
#include "watch/watch_int.h"

#include <string.h>

#define QUERY_MAX 128
#define NO_OFF UINT32_MAX

void watch_thresholds_default(struct watch_thresholds *t)
{
	memset(t, 0, sizeof(*t));
	t->case_grace = 7 * 86400;
	t->counter_flow = 30 * 60;
	t->namesake_window = 60 * 60;
	t->namesake_max = 10;
	t->recent_case = 86400;
	t->office_open = 8 * 3600 + 45 * 60;
	t->office_close = 17 * 3600 + 30 * 60;
	t->training_valid_days = 365;
	t->scan_window = 3600;
	t->scan_gap = 300;
	t->scan_floor = 30;
	t->scan_factor = 4.0;
	t->export_floor = 10;
	t->export_factor = 4.0;
	t->print_floor = 60;
	t->print_factor = 4.0;
	t->search_followup = 10 * 60;
	t->search_floor = 10;
	t->search_factor = 4.0;
	t->min_peers = 3;
}

const char *watch_severity_name(enum watch_severity s)
{
	switch (s) {
	case WSEV_LOW: return "low";
	case WSEV_MEDIUM: return "medium";
	case WSEV_HIGH: return "high";
	case WSEV_CRITICAL: return "critical";
	}
	return NULL;
}

static const struct watch_rule_info rules[WR__COUNT] = {
	[WR_UNEXPLAINED] = {"W-UNEXPLAINED", WSEV_MEDIUM, "業務上の理由が見当たらないアクセス",
			    "access that nothing in the registry explains", "unexplained"},
	[WR_DV] = {"W-DV-SUPPORT", WSEV_CRITICAL, "担当外の DV 等支援措置対象者へのアクセス",
		   "access to a DV support resident without an assigned case", "dv_support"},
	[WR_RELATIVE] = {"W-RELATIVE", WSEV_HIGH, "親族（同一世帯・同姓同住所）へのアクセス",
			 "access to a relative (same household, or same surname and address)",
			 "relative"},
	[WR_NEIGHBOUR] = {"W-NEIGHBOUR", WSEV_HIGH, "同じ住所の別世帯（近隣）へのアクセス",
			  "access to a neighbour (same address, another household)", "neighbour"},
	[WR_FLAGGED] = {"W-FLAGGED", WSEV_HIGH, "要人・職員関係者の記録への担当外アクセス",
			"access to a vip or staff-flagged resident without an assigned case", "vip"},
	[WR_SCAN] = {"W-BULK-SCAN", WSEV_HIGH, "同僚を大きく上回る件数の連続閲覧",
		     "bulk or sequential scanning far above peers", "bulk_scan"},
	[WR_OFF_HOURS] = {"W-OFF-HOURS", WSEV_MEDIUM, "承認された時間外勤務のない時間外アクセス",
			  "access outside office hours without approved overtime", "off_hours"},
	[WR_NOT_EMPLOYED] = {"W-AFTER-END", WSEV_CRITICAL, "在職期間外（退職後など）のアクセス",
			     "access outside the period of employment", "after_end"},
	[WR_UNTRAINED] = {"W-UNTRAINED", WSEV_MEDIUM, "研修の有効期限切れ・未受講でのアクセス",
			  "access without current security training", "untrained"},
	[WR_NO_PLEDGE] = {"W-NO-PLEDGE", WSEV_MEDIUM, "誓約書未提出でのアクセス",
			  "access without a signed pledge", "untrained"},
	[WR_EXPORT] = {"W-EXPORT-VOLUME", WSEV_HIGH, "同僚を大きく上回る件数の出力（エクスポート）",
		       "exports far above peers", "export"},
	[WR_PRINT] = {"W-PRINT-VOLUME", WSEV_MEDIUM, "同僚を大きく上回る件数の印刷",
		      "prints far above peers", "export"},
	[WR_SEARCH] = {"W-SEARCH-NO-FOLLOWUP", WSEV_LOW, "業務の続かない氏名検索の多発",
		       "many name searches with no business follow-up", NULL},
};

const struct watch_rule_info *watch_rule_info(int rule)
{
	if (rule < 0 || rule >= WR__COUNT)
		return NULL;
	return &rules[rule];
}

const char *watch_expl_name(enum watch_expl e)
{
	static const char *const names[WE__COUNT] = {
		"none",	    "no_resident", "assigned",	"declared", "dept_open",
		"dept_grace", "counter_flow", "household", "namesake", "template",
	};
	if ((int)e < 0 || e >= WE__COUNT)
		return NULL;
	return names[e];
}

int watch_action_parse_n(const char *s, size_t n, enum watch_action *out)
{
	/* The first letter names the candidate, then one compare of the
	 * whole name at a constant length (a load or two): called for every
	 * event. */
#define IS(name, a) (n == sizeof(name) - 1 && memcmp(s, name, sizeof(name) - 1) == 0 ? (a) : -1)
	int i;
	switch (n ? s[0] : '\0') {
	case 's': i = IS("search", WA_SEARCH); break;
	case 'v': i = IS("view", WA_VIEW); break;
	case 'u': i = IS("update", WA_UPDATE); break;
	case 'p': i = IS("print", WA_PRINT); break;
	case 'e': i = IS("export", WA_EXPORT); break;
	default: i = -1; break;
	}
#undef IS
	if (i < 0)
		return ERR_INVALID;
	*out = (enum watch_action)i;
	return 0;
}

int watch_action_parse(const char *s, enum watch_action *out)
{
	return watch_action_parse_n(s, strlen(s), out);
}

/* One event of the current day. */
struct day_ev {
	int64_t ts;
	uint64_t seq;
	uint32_t person; /* staff index, or nstaff + k for the k-th unknown id */
	uint32_t res;    /* resident index, WT_NONE for none or unknown */
	uint32_t ref;    /* offset in strs, NO_OFF when absent */
	uint32_t rules;
	uint8_t action, expl;
	bool has_query;
	bool strong; /* explained by evidence tied to the day's own work */
};

struct watch {
	const struct watch_tables *t;
	struct watch_thresholds th;
	watch_alert_fn fn;
	void *ctx;
	int32_t day; /* DAY_NONE before the first event */
	bool day_closed; /* jp_office_closed(day) */
	struct day_ev *ev;
	size_t nev, cap;
	struct buf strs; /* refs and unknown staff ids of the day, NUL-ended */
	uint32_t *unknown; /* offsets in strs of the day's unknown staff ids */
	size_t nunknown, capunknown;
	/* Per staff: the last search of the day. */
	int64_t *ls_ts;
	char (*ls_q)[QUERY_MAX];
	uint32_t *ls_qhash; /* watch_str_hash of ls_q, set with it */
	uint32_t *ls_used;
	uint32_t *rescount; /* per resident, zero between uses */
	struct watch_counts counts;
};

int watch_new(const struct watch_tables *t, const struct watch_thresholds *th, watch_alert_fn fn,
	      void *ctx, struct watch **out)
{
	struct watch *w = xcalloc(1, sizeof(*w));
	size_t ns = t->nstaff ? t->nstaff : 1;
	w->t = t;
	if (th)
		w->th = *th;
	else
		watch_thresholds_default(&w->th);
	w->fn = fn;
	w->ctx = ctx;
	w->day = DAY_NONE;
	buf_init(&w->strs, (size_t)UINT32_MAX - 1);
	w->ls_ts = xcalloc(ns, sizeof(*w->ls_ts));
	w->ls_q = xcalloc(ns, sizeof(*w->ls_q));
	w->ls_used = xcalloc(ns, sizeof(*w->ls_used));
	w->ls_qhash = xcalloc(ns, sizeof(*w->ls_qhash));
	w->rescount = xcalloc(t->nres ? t->nres : 1, sizeof(*w->rescount));
	for (size_t i = 0; i < ns; i++)
		w->ls_ts[i] = TS_NONE;
	*out = w;
	return 0;
}

void watch_free(struct watch *w)
{
	if (!w)
		return;
	free(w->ev);
	buf_release(&w->strs);
	free(w->unknown);
	free(w->ls_ts);
	free(w->ls_q);
	free(w->ls_used);
	free(w->ls_qhash);
	free(w->rescount);
	free(w);
}

void watch_get_counts(const struct watch *w, struct watch_counts *out)
{
	*out = w->counts;
}

/* Is the resident's surname the query of staff s's last search? The
 * hashes are compared first: the resident's record is then read only for
 * a likely match. */
static bool surname_is(const struct watch *w, uint32_t s, const struct wt_res *re)
{
	return re->surname_hash == w->ls_qhash[s] && re->surname &&
	       strcmp(re->surname, w->ls_q[s]) == 0;
}

static bool case_live(const struct watch *w, const struct wt_rcase *c, int64_t ts)
{
	return c->opened - w->th.counter_flow <= ts &&
	       (c->closed == INT64_MAX || ts <= c->closed + w->th.case_grace);
}

/* Is the path of tp one of the four the vocabulary allows (thresholds.h)?
 * The policy parser refuses the others; a template built in code that is
 * not one of them explains nothing. */
static bool template_path_ok(const struct watch_template *tp)
{
	if (tp->npath < 3 || tp->npath > WATCH_PATH_MAX)
		return false;
	if (!((tp->path[0] == WSTEP_STAFF && tp->path[1] == WSTEP_CASE_ASSIGNED) ||
	      (tp->path[0] == WSTEP_STAFF_DEPT && tp->path[1] == WSTEP_CASE_DEPT)))
		return false;
	if (tp->npath == 3)
		return tp->path[2] == WSTEP_CASE_RESIDENT;
	return tp->path[2] == WSTEP_HOUSEHOLD && tp->path[3] == WSTEP_RESIDENT;
}

/* A case a template may use at ts: opened by then, and open or closed at
 * most within_days days before. */
static bool template_case_live(const struct watch_template *tp, const struct wt_rcase *c,
			       int64_t ts)
{
	if (c->opened > ts)
		return false;
	if (c->closed == INT64_MAX || ts <= c->closed)
		return true;
	return tp->within_days > 0 && ts - c->closed <= (int64_t)tp->within_days * 86400;
}

/* The first case of resident m that ties staff s to it by tp's case step. */
static const struct wt_rcase *template_case_of(const struct watch_tables *t,
					       const struct watch_template *tp, uint32_t s,
					       uint32_t m, int64_t ts)
{
	const struct wt_res *me = &t->res[m];
	const struct wt_rcase *c = t->rcases + me->cfirst, *e = c + me->cn;
	bool by_dept = tp->path[0] == WSTEP_STAFF_DEPT;
	uint32_t dept = t->staff[s].dept;
	for (; c < e; c++) {
		if (by_dept ? c->dept != dept : c->assigned != s)
			continue;
		if (template_case_live(tp, c, ts))
			return c;
	}
	return NULL;
}

/* The case by which template tp explains staff s's access to resident rx
 * at ts, NULL if the path does not exist then. Reads the resident's cases
 * and, for a household path, those of the household's members: the same
 * indexes the built-in explanations read. */
static const struct wt_rcase *template_match(const struct watch_tables *t,
					     const struct watch_template *tp, uint32_t s,
					     uint32_t rx, int64_t ts)
{
	const struct wt_rcase *c;
	uint32_t h;
	if (!template_path_ok(tp))
		return NULL;
	if (tp->path[0] == WSTEP_STAFF_DEPT && t->staff[s].dept == WT_NONE)
		return NULL;
	if ((c = template_case_of(t, tp, s, rx, ts)) || tp->npath == 3)
		return c;
	h = t->res[rx].hh;
	if (h == WT_NONE)
		return NULL;
	for (uint32_t k = t->hh_first[h]; k < t->hh_first[h + 1]; k++)
		if (t->hh_members[k] != rx && (c = template_case_of(t, tp, s, t->hh_members[k], ts)))
			return c;
	return NULL;
}

/* The explanation of an access by known staff s to known resident rx.
 * *tmpl receives the declared template's index for WE_TEMPLATE. */
static enum watch_expl explain(struct watch *w, uint32_t s, uint32_t rx,
			       const struct watch_event *ev, const char **case_id, bool *strong,
			       uint32_t *decl_assigned, int *tmpl)
{
	const struct watch_tables *t = w->t;
	const struct wt_staff *st = &t->staff[s];
	const struct wt_res *re = &t->res[rx];
	const struct wt_rcase *c, *ce;
	int64_t ts = ev->ts;

	/*
	 * The evidence of the resident's own cases, of each kind: a live case
	 * assigned to the person, the declared case (found by the hash of its
	 * id, then the id), an open case of the department, one opened within
	 * counter_flow after the access, one closed less than case_grace ago.
	 * The explanation is the first kind in that order; of several cases
	 * of one kind, one that ties the access to today's work. The access is
	 * tied to today's work (*strong, which the scanning rule reads) when
	 * any case does so, whatever the order of the cases: an assigned or
	 * declared case still open, a department case opened within
	 * recent_case, a counter flow. The passes stop as soon as nothing
	 * further can change the answer.
	 */
	const struct wt_rcase *asg = NULL, *decl = NULL, *dopen = NULL, *dgrace = NULL, *ctr = NULL;
	const struct wt_rcase *rc = t->rcases + re->cfirst, *rce = rc + re->cn;
	bool by_dept = st->dept != WT_NONE;
	uint32_t idh = ev->case_id ? watch_str_hash(ev->case_id) : 0;

	for (c = rc; c < rce; c++) {
		if (c->assigned == s && case_live(w, c, ts)) {
			if (ts <= c->closed) {
				*case_id = c->id;
				*strong = true;
				return WE_ASSIGNED;
			}
			if (!asg)
				asg = c; /* in its grace period */
		}
		if (ev->case_id && !decl && c->idh == idh && strcmp(c->id, ev->case_id) == 0 &&
		    case_live(w, c, ts))
			decl = c;
	}
	bool tied = decl && ts <= decl->closed;
	if (by_dept && !tied) {
		/* With an assigned or declared case, only whether the access is
		 * tied is left to find. */
		bool explained = asg || decl;
		for (c = rc; c < rce; c++) {
			if (c->dept != st->dept)
				continue;
			if (c->opened <= ts && ts <= c->closed) {
				if (ts - c->opened <= w->th.recent_case) {
					dopen = c;
					tied = true;
					break;
				}
				if (!dopen)
					dopen = c;
			} else if (c->opened > ts) {
				if (c->opened - ts <= w->th.counter_flow) {
					tied = true;
					if (!ctr)
						ctr = c;
					if (explained)
						break;
				}
			} else if (c->closed < ts && ts <= c->closed + w->th.case_grace && !dgrace) {
				dgrace = c;
			}
		}
	}
	*strong = tied;
	if (asg) {
		*case_id = asg->id;
		return WE_ASSIGNED;
	}
	if (decl) {
		*case_id = decl->id;
		*decl_assigned = decl->assigned;
		return WE_DECLARED;
	}
	if (dopen || ctr || dgrace) {
		c = dopen ? dopen : ctr ? ctr : dgrace;
		*case_id = c->id;
		return dopen ? WE_DEPT_OPEN : ctr ? WE_COUNTER : WE_DEPT_GRACE;
	}
	if (by_dept) {
		/* A certificate for the whole household: an open case of
		 * another member, opened recently, in the person's department. */
		uint32_t h = re->hh;
		if (h != WT_NONE) {
			for (uint32_t k = t->hh_first[h]; k < t->hh_first[h + 1]; k++) {
				uint32_t m = t->hh_members[k];
				if (m == rx)
					continue;
				const struct wt_res *me = &t->res[m];
				for (c = t->rcases + me->cfirst, ce = c + me->cn; c < ce; c++) {
					if (c->dept == st->dept && c->opened <= ts && ts <= c->closed &&
					    ts - c->opened <= w->th.recent_case) {
						*case_id = c->id;
						*strong = true;
						return WE_HOUSEHOLD;
					}
				}
			}
		}
	}
	/* Finding the right person among namesakes: a resident of the surname
	 * the person searched for last, shortly after that search. */
	if (w->ls_ts[s] != TS_NONE && ts - w->ls_ts[s] <= w->th.namesake_window &&
	    w->ls_used[s] < w->th.namesake_max && surname_is(w, s, re)) {
		w->ls_used[s]++;
		*case_id = NULL;
		return WE_NAMESAKE;
	}
	/* The templates the policy declared, in order, after every built-in
	 * one. They are weak evidence for the scanning rule (*strong stays
	 * false): a rule of the file, not the day's own work. */
	for (uint32_t i = 0; i < w->th.ntemplates && i < WATCH_TEMPLATES_MAX; i++) {
		if ((c = template_match(t, &w->th.templates[i], s, rx, ts))) {
			*case_id = c->id;
			*tmpl = (int)i;
			return WE_TEMPLATE;
		}
	}
	*case_id = NULL;
	return WE_NONE;
}

static bool in_overtime(const struct watch *w, uint32_t s, int64_t ts)
{
	const struct watch_tables *t = w->t;
	for (uint32_t i = t->ot_first[s]; i < t->ot_first[s + 1]; i++)
		if (t->ot[i].start <= ts && ts < t->ot[i].end)
			return true;
	return false;
}

/* The string s of length n into the day's strings. */
static uint32_t strs_add(struct watch *w, const char *s, size_t n)
{
	size_t off = w->strs.len;
	if (off >= NO_OFF || buf_append(&w->strs, s, n) < 0 || buf_putc(&w->strs, '\0') < 0)
		return NO_OFF;
	return (uint32_t)off;
}

static uint32_t person_of(struct watch *w, const char *staff_id, size_t len, bool *unknown)
{
	uint32_t s = idmap_get_n(&w->t->staff_ids, staff_id, len);
	*unknown = s == WT_NONE;
	if (s != WT_NONE)
		return s;
	for (size_t k = 0; k < w->nunknown; k++)
		if (strcmp(w->strs.data + w->unknown[k], staff_id) == 0)
			return (uint32_t)(w->t->nstaff + k);
	uint32_t off = strs_add(w, staff_id, len);
	if (off == NO_OFF || ARRAY_GROW(w->unknown, w->capunknown, w->nunknown + 1) < 0)
		return WT_NONE;
	w->unknown[w->nunknown] = off;
	return (uint32_t)(w->t->nstaff + w->nunknown++);
}

uint32_t watch_prefetch(const struct watch_tables *t, const struct watch_event *ev, int stage,
			uint32_t rx)
{
	if (!ev->resident_id)
		return WT_NONE;
	size_t len = watch_len(ev->resident_id, ev->resident_len);
	switch (stage) {
	case 2:
		idmap_prefetch(&t->res_ids, ev->resident_id, len);
		return rx;
	case 1:
		if ((rx = idmap_get_n(&t->res_ids, ev->resident_id, len)) != WT_NONE)
			__builtin_prefetch(&t->res[rx]);
		return rx;
	case 0:
		/* The surname, which the namesake checks may compare. */
		if (rx < t->nres && t->res[rx].surname)
			__builtin_prefetch(t->res[rx].surname);
		if (rx < t->nres && t->res[rx].cn) {
			const struct wt_rcase *c = t->rcases + t->res[rx].cfirst;
			__builtin_prefetch(c);
			__builtin_prefetch((const char *)c + 64);
			__builtin_prefetch((const char *)(c + t->res[rx].cn) - 1);
		}
		return rx;
	default:
		return rx;
	}
}

int watch_feed(struct watch *w, const struct watch_event *ev, struct watch_verdict *verdict)
{
	return watch_feed_rx(w, ev, WT_UNSET, verdict);
}

int watch_feed_rx(struct watch *w, const struct watch_event *ev, uint32_t rx_known,
		  struct watch_verdict *verdict)
{
	const struct watch_tables *t = w->t;
	struct watch_verdict v = {.template_index = -1};
	struct day_ev *de;
	int32_t day;
	int tmpl = -1;
	uint32_t person, rx = WT_NONE, decl_assigned = WT_NONE;
	bool unknown = false;
	int r;

	if (!ev->staff_id || ev->ts == TS_NONE || (int)ev->action < 0 || ev->action >= WA__COUNT)
		return ERR_INVALID;
	day = ts_jst_day(ev->ts);
	if (w->day != DAY_NONE && day < w->day)
		return ERR_INVALID;
	if (w->day != DAY_NONE && day > w->day && (r = watch_flush(w)) < 0)
		return r;
	if (w->day != day)
		w->day_closed = jp_office_closed(day);
	w->day = day;
	person = person_of(w, ev->staff_id, watch_len(ev->staff_id, ev->staff_len), &unknown);
	if (person == WT_NONE)
		return ERR_NOMEM;
	if (ARRAY_GROW(w->ev, w->cap, w->nev + 1) < 0)
		return ERR_NOMEM;
	de = &w->ev[w->nev];
	memset(de, 0, sizeof(*de));
	de->ts = ev->ts;
	de->seq = ev->seq;
	de->person = person;
	de->action = (uint8_t)ev->action;
	de->ref = ev->ref ? strs_add(w, ev->ref, watch_len(ev->ref, ev->ref_len)) : NO_OFF;
	de->has_query = ev->query != NULL;
	if (ev->resident_id)
		rx = rx_known != WT_UNSET
			     ? rx_known
			     : idmap_get_n(&t->res_ids, ev->resident_id,
					   watch_len(ev->resident_id, ev->resident_len));
	de->res = rx;
	v.unknown_staff = unknown;

	if (unknown) {
		/* Someone the staff register does not know: not employed. */
		v.expl = ev->resident_id ? WE_NONE : WE_NO_RESIDENT;
		v.rules |= 1u << WR_NOT_EMPLOYED;
		goto store;
	}
	const struct wt_staff *st = &t->staff[person];
	const struct reg_staff *rs = st->r;
	if (!ev->resident_id) {
		v.expl = WE_NO_RESIDENT;
		if (ev->action == WA_SEARCH && ev->query) {
			size_t ql = strlen(ev->query);
			w->ls_ts[person] = ev->ts;
			w->ls_used[person] = 0;
			/* A query too long to keep cannot equal a surname we keep. */
			if (ql < QUERY_MAX)
				memcpy(w->ls_q[person], ev->query, ql + 1);
			else
				w->ls_q[person][0] = '\0';
			w->ls_qhash[person] = watch_str_hash(w->ls_q[person]);
		}
	} else if (rx == WT_NONE) {
		v.expl = WE_NONE; /* a record the registry does not know */
	} else {
		v.expl = explain(w, person, rx, ev, &v.case_id, &de->strong, &decl_assigned, &tmpl);
	}
	v.template_index = tmpl;
	if (tmpl >= 0)
		v.template_name = w->th.templates[tmpl].name;
	/* Identifying a person among namesakes lasts from the search until
	 * work on the person found starts: an update, print or export of a
	 * resident of the surname searched for. Other accesses in between
	 * are judged on their own and do not end it. */
	if (w->ls_ts[person] != TS_NONE && ev->action != WA_SEARCH && ev->action != WA_VIEW &&
	    rx != WT_NONE && surname_is(w, person, &t->res[rx]))
		w->ls_ts[person] = TS_NONE;

	/* Status of the person on that day. */
	if (day < rs->start || (rs->end != DAY_NONE && day > rs->end))
		v.rules |= 1u << WR_NOT_EMPLOYED;
	if (rs->training == DAY_NONE || rs->training > day ||
	    day - rs->training > w->th.training_valid_days)
		v.rules |= 1u << WR_UNTRAINED;
	if (rs->pledge == DAY_NONE || rs->pledge > day)
		v.rules |= 1u << WR_NO_PLEDGE;
	{
		int sod = ts_jst_second_of_day(ev->ts);
		v.off_hours = w->day_closed || sod < w->th.office_open ||
			      sod >= w->th.office_close;
		if (v.off_hours) {
			v.overtime = in_overtime(w, person, ev->ts);
			if (!v.overtime)
				v.rules |= 1u << WR_OFF_HOURS;
		}
	}
	/* Content rules: the most specific one names an access. */
	if (ev->resident_id) {
		bool assigned = false, rel = false, nb = false;
		uint8_t flags = 0;
		if (rx != WT_NONE) {
			const struct wt_res *re = &t->res[rx];
			flags = re->flags;
			assigned = v.expl == WE_ASSIGNED ||
				   (v.expl == WE_DECLARED && decl_assigned == person);
			if (st->hh != WT_NONE && re->hh == st->hh)
				rel = true;
			else if (st->addr != WT_NONE && re->addr == st->addr) {
				/* Same address: a relative when the surname is
				 * also the person's, a neighbour otherwise. */
				if (rs->surname && re->surname && strcmp(rs->surname, re->surname) == 0)
					rel = true;
				else
					nb = true;
			}
		}
		/* Only a case clears a look at one's family or neighbours: a
		 * search for one's own surname followed by one's relative's
		 * record is the pattern itself, not a namesake hunt. */
		bool no_case = v.expl == WE_NONE || v.expl == WE_NAMESAKE;
		if ((flags & WT_RF_DV) && !assigned)
			v.rules |= 1u << WR_DV;
		else if (rel && no_case)
			v.rules |= 1u << WR_RELATIVE;
		else if (nb && no_case)
			v.rules |= 1u << WR_NEIGHBOUR;
		else if ((flags & (WT_RF_VIP | WT_RF_STAFF)) && v.expl != WE_ASSIGNED &&
			 v.expl != WE_DECLARED)
			v.rules |= 1u << WR_FLAGGED;
		else if (v.expl == WE_NONE)
			v.rules |= 1u << WR_UNEXPLAINED;
	}
store:
	de->rules = v.rules;
	de->expl = (uint8_t)v.expl;
	w->nev++;
	w->counts.events++;
	w->counts.expl[v.expl]++;
	if (ev->resident_id) {
		if (v.expl == WE_NONE)
			w->counts.unexplained++;
		else
			w->counts.explained++;
	}
	if (verdict)
		*verdict = v;
	return 0;
}

/* ---- closing a day ---- */

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static double median_u32(uint32_t *v, size_t n)
{
	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), cmp_u32);
	return n % 2 ? v[n / 2] : ((double)v[n / 2 - 1] + v[n / 2]) / 2.0;
}

/* Per person of the day, for the peer rules. */
struct pstat {
	uint32_t first, n; /* range in the person-ordered index */
	uint32_t scan, exports, prints, searches;
	double med_scan, med_export, med_print, med_search;
};

enum { ST_SCAN, ST_EXPORT, ST_PRINT, ST_SEARCH, ST__COUNT };

static uint32_t stat_of(const struct pstat *p, int k)
{
	return k == ST_SCAN ? p->scan : k == ST_EXPORT ? p->exports : k == ST_PRINT ? p->prints : p->searches;
}

static void set_med(struct pstat *p, int k, double m)
{
	if (k == ST_SCAN)
		p->med_scan = m;
	else if (k == ST_EXPORT)
		p->med_export = m;
	else if (k == ST_PRINT)
		p->med_print = m;
	else
		p->med_search = m;
}

/*
 * The peer median of each statistic for each known person active today:
 * the median over the person's group (same department and roles) when it
 * has more than min_peers active members, else over the department, else
 * over everyone active. A median is not moved by the one person whose
 * numbers are far out, which is the point.
 */
/* The median of stat k per key (group or department) over the active
 * staff, for keys with more than min_peers of them (-1 otherwise). */
static void key_medians(const struct watch *w, const struct pstat *ps, uint32_t nstaff,
			const uint32_t *key, uint32_t nkeys, int k, double *med)
{
	uint32_t *first = xcalloc(nkeys + 2, sizeof(*first));
	uint32_t *fill = xcalloc(nkeys + 1, sizeof(*fill));
	uint32_t *vals = xcalloc(nstaff + 1, sizeof(*vals));
	for (uint32_t s = 0; s < nstaff; s++)
		if (ps[s].n && key[s] != WT_NONE)
			first[key[s] + 1]++;
	for (uint32_t g = 0; g < nkeys; g++)
		first[g + 1] += first[g];
	for (uint32_t s = 0; s < nstaff; s++)
		if (ps[s].n && key[s] != WT_NONE)
			vals[first[key[s]] + fill[key[s]]++] = stat_of(&ps[s], k);
	for (uint32_t g = 0; g < nkeys; g++) {
		uint32_t n = first[g + 1] - first[g];
		med[g] = n > w->th.min_peers ? median_u32(vals + first[g], n) : -1.0;
	}
	free(first);
	free(fill);
	free(vals);
}

/*
 * The peer median of each statistic for each known person active today:
 * the median over the person's group (same department and roles) when it
 * has more than min_peers active members, else over the department, else
 * over everyone active. A median is not moved by the one person whose
 * numbers are far out, which is the point.
 */
static void peer_medians(struct watch *w, struct pstat *ps, uint32_t nstaff)
{
	const struct watch_tables *t = w->t;
	uint32_t ngroups = t->ngroups, ndept = (uint32_t)t->dept_ids.n;
	uint32_t *gkey = xcalloc(nstaff + 1, sizeof(*gkey));
	uint32_t *dkey = xcalloc(nstaff + 1, sizeof(*dkey));
	uint32_t *vals = xcalloc(nstaff + 1, sizeof(*vals));
	double *gmed = xcalloc(ngroups + 1, sizeof(*gmed));
	double *dmed = xcalloc(ndept + 1, sizeof(*dmed));
	for (uint32_t s = 0; s < nstaff; s++) {
		gkey[s] = t->staff[s].group;
		dkey[s] = t->staff[s].dept;
	}
	for (int k = 0; k < ST__COUNT; k++) {
		size_t n = 0;
		double all;
		for (uint32_t s = 0; s < nstaff; s++)
			if (ps[s].n)
				vals[n++] = stat_of(&ps[s], k);
		all = median_u32(vals, n);
		key_medians(w, ps, nstaff, gkey, ngroups, k, gmed);
		key_medians(w, ps, nstaff, dkey, ndept, k, dmed);
		for (uint32_t s = 0; s < nstaff; s++) {
			double m = all;
			if (!ps[s].n)
				continue;
			if (gmed[gkey[s]] >= 0)
				m = gmed[gkey[s]];
			else if (dkey[s] != WT_NONE && dmed[dkey[s]] >= 0)
				m = dmed[dkey[s]];
			set_med(&ps[s], k, m);
		}
	}
	free(gkey);
	free(dkey);
	free(vals);
	free(gmed);
	free(dmed);
}

static double thr_of(uint32_t floor, double factor, double med)
{
	double f = factor * med;
	return f > floor ? f : floor;
}

/* Scanning: the most distinct residents in any window of scan_window, and
 * the events in windows above thr. Events idx[0..n) are one person's, in
 * time order. mark (n + 1, zeroed) receives a difference array. */
static uint32_t scan_person(struct watch *w, const uint32_t *idx, uint32_t n, double thr,
			    int32_t *mark)
{
	uint32_t lo = 0, distinct = 0, best = 0;
	for (uint32_t j = 0; j < n; j++) {
		const struct day_ev *e = &w->ev[idx[j]];
		if (e->res == WT_NONE || e->action == WA_SEARCH)
			continue;
		if (w->rescount[e->res]++ == 0)
			distinct++;
		while (w->ev[idx[lo]].ts <= e->ts - w->th.scan_window) {
			const struct day_ev *o = &w->ev[idx[lo]];
			if (o->res != WT_NONE && o->action != WA_SEARCH && --w->rescount[o->res] == 0)
				distinct--;
			lo++;
		}
		if (distinct > best)
			best = distinct;
		if (mark && distinct > thr) {
			mark[lo]++;
			mark[j + 1]--;
		}
	}
	for (; lo < n; lo++) {
		const struct day_ev *o = &w->ev[idx[lo]];
		if (o->res != WT_NONE && o->action != WA_SEARCH)
			w->rescount[o->res]--;
	}
	return best;
}

/* A search is followed up when the same person opens a record within
 * search_followup after it. */
static bool search_followed(const struct watch *w, const uint32_t *idx, uint32_t i, uint32_t n)
{
	const struct day_ev *e = &w->ev[idx[i]];
	for (uint32_t j = i + 1; j < n; j++) {
		const struct day_ev *f = &w->ev[idx[j]];
		if (f->ts - e->ts > w->th.search_followup)
			break;
		if (f->res != WT_NONE)
			return true;
	}
	return false;
}

static bool weak_access(const struct day_ev *e)
{
	return e->res != WT_NONE && e->action != WA_SEARCH && !e->strong;
}

/* mark[i] is 1 inside an episode; extend each episode forwards and
 * backwards over weak accesses at most scan_gap apart. */
static void extend_episodes(const struct watch *w, const uint32_t *idx, uint32_t n, int32_t *mark)
{
	int64_t last = TS_NONE;
	for (uint32_t i = 0; i < n; i++) {
		const struct day_ev *e = &w->ev[idx[i]];
		if (mark[i]) {
			if (weak_access(e))
				last = e->ts;
		} else if (last != TS_NONE && weak_access(e)) {
			if (e->ts - last <= w->th.scan_gap) {
				mark[i] = 1;
				last = e->ts;
			} else {
				last = TS_NONE;
			}
		}
	}
	last = TS_NONE;
	for (uint32_t i = n; i-- > 0;) {
		const struct day_ev *e = &w->ev[idx[i]];
		if (mark[i]) {
			if (weak_access(e))
				last = e->ts;
		} else if (last != TS_NONE && weak_access(e)) {
			if (last - e->ts <= w->th.scan_gap) {
				mark[i] = 1;
				last = e->ts;
			} else {
				last = TS_NONE;
			}
		}
	}
}

static int emit(struct watch *w, uint32_t person, int rule, const uint32_t *idx, uint32_t n,
		const struct pstat *p)
{
	const struct watch_tables *t = w->t;
	const struct watch_rule_info *ri = &rules[rule];
	struct watch_alert a = {0};
	const char **refs = NULL;
	uint64_t *seqs = NULL;
	size_t k = 0;
	char date[DATE_TEXT_MAX], ja[1024], en[1024], dj[256] = "", dn[256] = "";
	const char *sid, *name;
	int r;

	for (uint32_t i = 0; i < n; i++)
		if (w->ev[idx[i]].rules & (1u << rule))
			k++;
	if (!k)
		return 0;
	refs = xcalloc(k, sizeof(*refs));
	seqs = xcalloc(k, sizeof(*seqs));
	k = 0;
	for (uint32_t i = 0; i < n; i++) {
		const struct day_ev *e = &w->ev[idx[i]];
		if (!(e->rules & (1u << rule)))
			continue;
		if (!k)
			a.first_ts = e->ts;
		a.last_ts = e->ts;
		refs[k] = e->ref == NO_OFF ? "" : w->strs.data + e->ref;
		seqs[k] = e->seq;
		k++;
	}
	if (person < t->nstaff) {
		sid = t->staff[person].r->id;
		name = t->staff[person].r->name ? t->staff[person].r->name : sid;
	} else {
		sid = w->strs.data + w->unknown[person - t->nstaff];
		name = sid;
	}
	date_format(w->day, date);
	if (p && rule == WR_SCAN) {
		snprintf(dj, sizeof(dj), "1 時間に最大 %u 人の住民記録を閲覧（基準 %.0f 人、同僚の中央値 %.1f 人）。",
			 p->scan, thr_of(w->th.scan_floor, w->th.scan_factor, p->med_scan), p->med_scan);
		snprintf(dn, sizeof(dn), " Up to %u distinct residents in one hour (threshold %.0f, peer median %.1f).",
			 p->scan, thr_of(w->th.scan_floor, w->th.scan_factor, p->med_scan), p->med_scan);
	} else if (p && rule == WR_EXPORT) {
		snprintf(dj, sizeof(dj), "出力 %u 件（基準 %.0f 件、同僚の中央値 %.1f 件）。", p->exports,
			 thr_of(w->th.export_floor, w->th.export_factor, p->med_export), p->med_export);
		snprintf(dn, sizeof(dn), " %u exports (threshold %.0f, peer median %.1f).", p->exports,
			 thr_of(w->th.export_floor, w->th.export_factor, p->med_export), p->med_export);
	} else if (p && rule == WR_PRINT) {
		snprintf(dj, sizeof(dj), "印刷 %u 件（基準 %.0f 件、同僚の中央値 %.1f 件）。", p->prints,
			 thr_of(w->th.print_floor, w->th.print_factor, p->med_print), p->med_print);
		snprintf(dn, sizeof(dn), " %u prints (threshold %.0f, peer median %.1f).", p->prints,
			 thr_of(w->th.print_floor, w->th.print_factor, p->med_print), p->med_print);
	} else if (p && rule == WR_SEARCH) {
		snprintf(dj, sizeof(dj), "続く閲覧のない検索 %u 件（基準 %.0f 件）。", p->searches,
			 thr_of(w->th.search_floor, w->th.search_factor, p->med_search));
		snprintf(dn, sizeof(dn), " %u searches not followed up (threshold %.0f).", p->searches,
			 thr_of(w->th.search_floor, w->th.search_factor, p->med_search));
	}
	snprintf(ja, sizeof(ja), "%s（%s）が %s に %s：%zu 件。%s", name, sid, date, ri->title_ja, k, dj);
	snprintf(en, sizeof(en), "%s (%s) on %s: %s: %zu event%s.%s", name, sid, date, ri->title_en, k,
		 k == 1 ? "" : "s", dn);
	a.rule = (enum watch_rule)rule;
	a.code = ri->code;
	a.severity = ri->severity;
	a.staff_id = sid;
	a.staff_name = name;
	a.day = w->day;
	a.nevents = k;
	a.refs = refs;
	a.seqs = seqs;
	a.text_ja = ja;
	a.text_en = en;
	w->counts.alerts++;
	w->counts.alerts_by_rule[rule]++;
	r = w->fn ? w->fn(&a, w->ctx) : 0;
	free(refs);
	free(seqs);
	return r;
}

int watch_flush(struct watch *w)
{
	const struct watch_tables *t = w->t;
	uint32_t nstaff = (uint32_t)t->nstaff, npers = (uint32_t)(t->nstaff + w->nunknown);
	struct pstat *ps = NULL;
	uint32_t *order = NULL, *fill = NULL;
	int32_t *mark = NULL;
	int r = 0;

	if (w->day == DAY_NONE || w->nev == 0)
		goto out;
	ps = xcalloc(npers + 1, sizeof(*ps));
	order = xcalloc(w->nev, sizeof(*order));
	fill = xcalloc(npers + 1, sizeof(*fill));
	mark = xcalloc(w->nev + 1, sizeof(*mark));
	/* Group the day's events by person, keeping time order. */
	for (size_t i = 0; i < w->nev; i++)
		ps[w->ev[i].person].n++;
	for (uint32_t p = 1; p < npers; p++)
		ps[p].first = ps[p - 1].first + ps[p - 1].n;
	for (size_t i = 0; i < w->nev; i++) {
		uint32_t p = w->ev[i].person;
		order[ps[p].first + fill[p]++] = (uint32_t)i;
	}
	for (uint32_t p = 0; p < nstaff; p++) {
		const uint32_t *idx = order + ps[p].first;
		if (!ps[p].n)
			continue;
		w->counts.staff_days++;
		ps[p].scan = scan_person(w, idx, ps[p].n, 1e300, NULL);
		for (uint32_t i = 0; i < ps[p].n; i++) {
			const struct day_ev *e = &w->ev[idx[i]];
			if (e->action == WA_EXPORT)
				ps[p].exports++;
			else if (e->action == WA_PRINT)
				ps[p].prints++;
			else if (e->action == WA_SEARCH && e->res == WT_NONE && e->has_query) {
				if (!search_followed(w, idx, i, ps[p].n))
					ps[p].searches++;
			}
		}
	}
	w->counts.staff_days += npers - nstaff;
	peer_medians(w, ps, nstaff);
	for (uint32_t p = 0; p < nstaff; p++) {
		const uint32_t *idx = order + ps[p].first;
		uint32_t n = ps[p].n;
		double thr;
		if (!n)
			continue;
		thr = thr_of(w->th.scan_floor, w->th.scan_factor, ps[p].med_scan);
		if (ps[p].scan > thr) {
			int32_t run = 0;
			memset(mark, 0, (n + 1) * sizeof(*mark));
			(void)scan_person(w, idx, n, thr, mark);
			/* An episode is the union of the windows above the
			 * threshold, extended while the person keeps opening
			 * records without a reason at most scan_gap apart. */
			for (uint32_t i = 0; i < n; i++) {
				run += mark[i];
				mark[i] = run > 0;
			}
			extend_episodes(w, idx, n, mark);
			for (uint32_t i = 0; i < n; i++) {
				struct day_ev *e = &w->ev[idx[i]];
				if (mark[i] && e->res != WT_NONE && e->action != WA_SEARCH &&
				    !e->strong) {
					/* The scan names these accesses; the
					 * generic rule need not say it again. */
					e->rules |= 1u << WR_SCAN;
					e->rules &= ~(1u << WR_UNEXPLAINED);
				}
			}
		}
		if (ps[p].exports > thr_of(w->th.export_floor, w->th.export_factor, ps[p].med_export))
			for (uint32_t i = 0; i < n; i++)
				if (w->ev[idx[i]].action == WA_EXPORT)
					w->ev[idx[i]].rules |= 1u << WR_EXPORT;
		if (ps[p].prints > thr_of(w->th.print_floor, w->th.print_factor, ps[p].med_print))
			for (uint32_t i = 0; i < n; i++)
				if (w->ev[idx[i]].action == WA_PRINT)
					w->ev[idx[i]].rules |= 1u << WR_PRINT;
		if (ps[p].searches > thr_of(w->th.search_floor, w->th.search_factor, ps[p].med_search))
			for (uint32_t i = 0; i < n; i++) {
				struct day_ev *e = &w->ev[idx[i]];
				if (e->action != WA_SEARCH || e->res != WT_NONE || !e->has_query)
					continue;
				if (!search_followed(w, idx, i, n))
					e->rules |= 1u << WR_SEARCH;
			}
	}
	for (uint32_t p = 0; p < npers && r == 0; p++) {
		const uint32_t *idx = order + ps[p].first;
		uint32_t any = 0;
		if (!ps[p].n)
			continue;
		/* One pass for the rules that marked any of the person's
		 * events; emit reads the events again only for those. */
		for (uint32_t i = 0; i < ps[p].n; i++)
			any |= w->ev[idx[i]].rules;
		for (int rule = 0; rule < WR__COUNT && r == 0; rule++)
			if (any & (1u << rule))
				r = emit(w, p, rule, idx, ps[p].n, p < nstaff ? &ps[p] : NULL);
	}
	w->counts.days++;
out:
	w->nev = 0;
	w->nunknown = 0;
	buf_reset(&w->strs);
	for (size_t i = 0; i < t->nstaff; i++) {
		w->ls_ts[i] = TS_NONE;
		w->ls_used[i] = 0;
	}
	free(ps);
	free(order);
	free(fill);
	free(mark);
	return r;
}
