/*
 * thresholds.h - the thresholds of the watch rules as plain data
 * (docs/watch.md, "Thresholds"; docs/policy.md, "watch").
 *
 * This header holds a struct and its default values only: no function,
 * no include but base.h. It is shared by two modules that must not depend
 * on each other's code: the policy module parses the `watch:` section of
 * the policy file into it, and the watch module runs its rules with it.
 * Keeping the type in a leaf header lets the policy module (which sits
 * below watch in DESIGN.md's table) fill a struct watch_thresholds without
 * calling into, or linking against, the watch engine.
 *
 * WATCH_THRESHOLDS_DEFAULT is the initializer of the defaults; the watch
 * module's watch_thresholds_default() gives the same values (a unit test
 * holds them equal).
 */
#ifndef MAMORI_WATCH_THRESHOLDS_H
#define MAMORI_WATCH_THRESHOLDS_H

#include "base/base.h"

/*
 * Explanation templates the policy file declares (watch: explanations:,
 * docs/watch.md "Declared explanation templates"): a path of relations
 * from the person to the resident. The steps form a fixed vocabulary, each
 * a relation the compact tables index:
 *
 *   staff -> case.assigned            a case assigned to the person
 *   staff.department -> case.department  a case in the person's department
 *   ... -> case.resident              the case is the resident's
 *   ... -> resident.household -> resident  the case is of someone in the
 *                                     resident's household
 *
 * A path is a start (staff or staff.department), the matching case step,
 * and an end (case.resident, or resident.household -> resident): four
 * paths in all. The case must be open at the event time or, with
 * within_days > 0, closed at most within_days days before it.
 */
enum watch_step {
	WSTEP_STAFF = 0,      /* "staff" */
	WSTEP_STAFF_DEPT,     /* "staff.department" */
	WSTEP_CASE_ASSIGNED,  /* "case.assigned" */
	WSTEP_CASE_DEPT,      /* "case.department" */
	WSTEP_CASE_RESIDENT,  /* "case.resident" */
	WSTEP_HOUSEHOLD,      /* "resident.household" */
	WSTEP_RESIDENT,       /* "resident" */
	WSTEP__COUNT
};
/* The step names in enum order, for the parser and the policy shown. */
#define WATCH_STEP_NAMES                                                                     \
	{                                                                                    \
		"staff", "staff.department", "case.assigned", "case.department",             \
		"case.resident", "resident.household", "resident"                            \
	}

#define WATCH_TEMPLATES_MAX 16
#define WATCH_PATH_MAX 4
#define WATCH_TEMPLATE_NAME_MAX 48  /* bytes, NUL included */
#define WATCH_TEMPLATE_LABEL_MAX 256 /* bytes, NUL included */

struct watch_template {
	char name[WATCH_TEMPLATE_NAME_MAX];          /* [a-z_]+ */
	char label_ja[WATCH_TEMPLATE_LABEL_MAX];
	char label_en[WATCH_TEMPLATE_LABEL_MAX];
	uint8_t path[WATCH_PATH_MAX];                /* enum watch_step */
	uint8_t npath;
	int32_t within_days;                         /* 0: open at the time only */
};

/* Durations are in seconds; office hours in seconds of the JST day. */
struct watch_thresholds {
	int64_t case_grace;        /* a closed case still explains for 7 days */
	int64_t counter_flow;      /* case opened at most 30 min after a look */
	int64_t namesake_window;   /* view at most 60 min after a surname search */
	uint32_t namesake_max;     /* at most 10 namesakes explained per search */
	int64_t recent_case;       /* household or scan: case opened within 1 day */
	int office_open, office_close; /* 08:45 and 17:30 JST, seconds of day */
	int32_t training_valid_days;   /* training is current for 365 days */
	int64_t scan_window;       /* sliding window for scanning: 1 hour */
	int64_t scan_gap;          /* a scan goes on while records open 5 min apart */
	uint32_t scan_floor;       /* never a scan below 30 distinct residents */
	double scan_factor;        /* ... nor below 4 x the peer median */
	uint32_t export_floor;     /* exports per day: at least 10 */
	double export_factor;      /* ... and above 4 x the peer median */
	uint32_t print_floor;      /* prints per day: at least 60 */
	double print_factor;       /* ... and above 4 x the peer median */
	int64_t search_followup;   /* a search is followed up within 10 min */
	uint32_t search_floor;     /* searches without follow-up per day: 10 */
	double search_factor;      /* ... and above 4 x the peer median */
	uint32_t min_peers;        /* a peer group needs 3 other active staff */
	/* Declared explanation templates, tried in order after the built-in
	 * explanations; none by default. */
	uint32_t ntemplates;
	struct watch_template templates[WATCH_TEMPLATES_MAX];
};

#define WATCH_THRESHOLDS_DEFAULT                                                             \
	{                                                                                    \
		.case_grace = 7 * 86400, .counter_flow = 30 * 60, .namesake_window = 60 * 60, \
		.namesake_max = 10, .recent_case = 86400,                                    \
		.office_open = 8 * 3600 + 45 * 60, .office_close = 17 * 3600 + 30 * 60,      \
		.training_valid_days = 365, .scan_window = 3600, .scan_gap = 300,            \
		.scan_floor = 30, .scan_factor = 4.0, .export_floor = 10,                    \
		.export_factor = 4.0, .print_floor = 60, .print_factor = 4.0,                \
		.search_followup = 10 * 60, .search_floor = 10, .search_factor = 4.0,        \
		.min_peers = 3                                                               \
	}

#endif
