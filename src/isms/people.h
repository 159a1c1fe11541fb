/*
 * people.h - the people side of the ISMS: the Statement of Applicability,
 * training and pledges, security notices, contractors
 * (docs/isms-people.md, docs/internals/isms-people.md).
 *
 * Two layers. The pure layer computes over plain structs (registry staff,
 * courses, requirements, completions, notices' audiences, contracts): no
 * store, no allocation beyond the results, any thread. The workflow layer
 * reads and writes ISMS records through the engine (isms.h) with the
 * caller's struct isms_ctx, and applies completed training to the
 * registry's staff dates that the decision engine reads.
 *
 * Kinds declared here (each in its own file, listed in kinds.c):
 *   soa                  one entry per Annex A control (soa.c)
 *   courses, training_requirements, training_completions   (training.c)
 *   notices, notice_acks                                   (notices.c)
 *   contractors, contracts, contractor_reports, contractor_checks
 *                                                          (contractors.c)
 */
#ifndef MAMORI_ISMS_PEOPLE_H
#define MAMORI_ISMS_PEOPLE_H

#include "base/base.h"

#include <jansson.h>

#include "isms/isms.h"
#include "registry/registry.h"

struct buf;

extern const struct isms_kind isms_kind_soa;
extern const struct isms_kind isms_kind_courses;
extern const struct isms_kind isms_kind_training_requirements;
extern const struct isms_kind isms_kind_training_completions;
extern const struct isms_kind isms_kind_notices;
extern const struct isms_kind isms_kind_notice_acks;
extern const struct isms_kind isms_kind_contractors;
extern const struct isms_kind isms_kind_contracts;
extern const struct isms_kind isms_kind_contractor_reports;
extern const struct isms_kind isms_kind_contractor_checks;

/* ======================= the pure layer ======================= */

/* True if the staff member is employed on day: start <= day <= end (end
 * DAY_NONE = still employed). */
bool people_staff_active(const struct reg_staff *s, int32_t day);

/* ---- training ---- */

/* Which registry date a course's completion stands for. */
enum tr_registry { TR_REG_NONE = 0, TR_REG_TRAINING, TR_REG_PLEDGE };

struct tr_course {
	const char *id;
	int32_t validity_days; /* 0: a completion never expires */
	enum tr_registry registry;
};

/* Who must take a course. Empty criteria match everyone; given criteria
 * must all match (employment in the mask, one of the roles, the dept). */
struct tr_req {
	const char *course;
	unsigned employment_mask; /* bit 1 << enum employment; 0 = every */
	const char *const *roles; /* any of these; nroles 0 = every */
	size_t nroles;
	const char *dept; /* NULL or "" = every department */
	int32_t due_days; /* first completion due start + due_days */
};

struct tr_done {
	const char *staff, *course;
	int32_t day;
};

enum tr_state { TR_MISSING = 1, TR_EXPIRED = 2 };

/* One gap: staff[staff] has not satisfied reqs[req] on the day asked. */
struct tr_gap {
	size_t staff, req;
	int32_t last; /* latest completion, DAY_NONE if none */
	int32_t due;  /* the day by which it was due */
	enum tr_state state;
};

/* True if requirement q applies to staff member s. */
bool training_req_applies(const struct tr_req *q, const struct reg_staff *s);

/*
 * The gaps on day: for each staff member active on day (and in dept when
 * dept is not NULL/""), each requirement that applies, the latest
 * completion of its course on or before day (the registry's training or
 * pledge date counts as a completion of a course with that registry
 * role). Missing: no completion and start + due_days < day. Expired: the
 * latest completion + validity_days < day (validity 0 never expires). A
 * requirement naming a course not in courses is ignored. *out (free())
 * gets the gaps ordered by staff then requirement. ERR_NOMEM/ERR_OVERFLOW.
 */
MM_WUR int training_gaps(const struct reg_staff *staff, size_t nstaff,
			 const struct tr_course *courses, size_t ncourses,
			 const struct tr_req *reqs, size_t nreqs, const struct tr_done *done,
			 size_t ndone, int32_t day, const char *dept, struct tr_gap **out,
			 size_t *nout);

/* Staff active on day with a registry training date within valid_days
 * before day (*trained) and with a pledge signed on or before day
 * (*pledged), out of *active. */
void training_coverage(const struct reg_staff *staff, size_t nstaff, int32_t day,
		       int32_t valid_days, size_t *active, size_t *trained, size_t *pledged);

/* ---- notices ---- */

/* Who a notice is for: everyone (all), or those matching every criterion
 * given (a department among depts, a role among roles, an employment in
 * the mask). A notice with no criterion and not all is for nobody. */
struct nt_audience {
	bool all;
	const char *const *depts;
	size_t ndepts;
	const char *const *roles;
	size_t nroles;
	unsigned employment_mask;
};

bool notice_addresses(const struct nt_audience *a, const struct reg_staff *s);

/*
 * The staff who have not acknowledged: active on day, addressed by a, in
 * dept (NULL/"" = any), and not in acked[0..nacked) (staff ids, any
 * order). *out (free()) gets indexes into staff, in staff order.
 */
MM_WUR int notice_pending(const struct reg_staff *staff, size_t nstaff, const struct nt_audience *a,
			  const char *const *acked, size_t nacked, int32_t day, const char *dept,
			  size_t **out, size_t *nout);

/* ---- contractors ---- */

/* True if a contract with that end date ends within days of day
 * (day <= end <= day + days). */
bool contract_ending(int32_t end, int32_t day, int32_t days);
/* True if a report due on due, received on received (DAY_NONE if not),
 * is overdue on day: not received and due < day. */
bool report_overdue(int32_t due, int32_t received, int32_t day);

/* ======================= the workflow layer ======================= */

/*
 * What live evidence is computed from. policy_path is the policy file
 * (its SHA-256 is shown), origin and pk the ledger's checkpoint key
 * (pk NULL: the checkpoint's signature is not checked), day the date of
 * the statement; training_valid_days the policy's limit (0 = 365).
 */
struct soa_env {
	const char *municipality;
	const char *policy_path;
	const char *origin;
	const uint8_t *pk;
	int32_t day;
	int32_t training_valid_days;
};

/*
 * Create the SoA entries missing for Annex A controls (one per control;
 * existing entries are left as they are), in one transaction: applicable,
 * status planned, a justification saying that the entry was seeded and
 * which mamori evidence exists. *created gets the number made (0 when the
 * statement was complete). Needs write permission on kind soa.
 */
MM_WUR int isms_soa_seed(struct isms_ctx *c, size_t *created);

/*
 * The whole statement as JSON into *out (new reference): every entry
 * (ordered by control) with the control's title, theme, the MIC chapters
 * mapped to it and, for the controls mamori evidences, "live_evidence"
 * computed now; counts; "missing": controls without an entry.
 */
MM_WUR int isms_soa_statement(struct isms_ctx *c, const struct soa_env *env, json_t **out);
/* The statement as CSV (RFC 4180, CRLF) appended to out. */
MM_WUR int isms_soa_csv(const json_t *statement, struct buf *out);

/*
 * Import training completions from an e-learning CSV (docs/isms-people.md,
 * "Completions CSV"). All or nothing: every row is checked (file:line:
 * field errors in d, ERR_INVALID, nothing written). Rows already stored
 * (same staff, course and date) are skipped. In one transaction: one
 * training_completions record per new row, and the registry's training
 * and pledge dates moved forward for courses that stand for them
 * (registry_staff_set_dates; recorded in the ledger). *created and
 * *registry_updated (may be NULL) get the counts.
 */
MM_WUR int isms_training_import(struct isms_ctx *c, const char *data, size_t len, const char *fname,
				struct diag *d, size_t *created, size_t *registry_updated);

/*
 * Record one completion (data: the fields of training_completions) and,
 * for a course that stands for a registry date, move that date forward,
 * in one transaction. id gets the new record's id. The engine's errors.
 */
MM_WUR int isms_training_complete(struct isms_ctx *c, json_t *data, struct diag *d,
				  char id[ISMS_ID_MAX], size_t *registry_updated);

/*
 * The overdue list on day for dept (NULL/"" = every department the actor
 * may read; a department manager is limited to their own and asking for
 * another is ERR_FORBIDDEN) as JSON into *out: {"date","dept","count",
 * "items":[{"staff_id","name","dept","employment","course","course_title",
 * "state","last","due"}],"by_dept":{"D01":n,...}}.
 */
MM_WUR int isms_training_overdue(struct isms_ctx *c, int32_t day, const char *dept, json_t **out);

/*
 * Acknowledge notice id for staff_id at the ctx's time: creates a
 * notice_acks record (ERR_EXISTS when already acknowledged: *ack_id then
 * holds the existing one). ERR_INVALID when the staff member is not in the
 * notice's audience (message in d).
 */
MM_WUR int isms_notice_ack(struct isms_ctx *c, const char *id, const char *staff_id, struct diag *d,
			   char ack_id[ISMS_ID_MAX]);
/* Who has not acknowledged notice id on day (limited to the actor's
 * department for a department manager, or to dept): JSON into *out. */
MM_WUR int isms_notice_pending(struct isms_ctx *c, const char *id, int32_t day, const char *dept,
			       json_t **out);
/*
 * Reminders on day: for every active notice with a due date that has
 * staff pending, the notice and its pending staff; "overdue" marks those
 * past due. With overdue_only, only notices past due. Includes
 * "by_dept": pending acknowledgements per department.
 */
MM_WUR int isms_notice_reminders(struct isms_ctx *c, int32_t day, const char *dept,
				 bool overdue_only, json_t **out);

/*
 * Contracts that need attention on day: "ending" (end within days),
 * "reports_overdue" (reports not received after their due date),
 * "checks_open" (on-site checks with findings whose follow-up is past due
 * and not closed). Limited to what the actor may read.
 */
MM_WUR int isms_contracts_attention(struct isms_ctx *c, int32_t day, int32_t days, json_t **out);

#endif
