/*
 * isms_cycle.h - the check-and-act half of the ISMS: incidents handled by
 * the CSIRT with the PPC's legal clocks, self-inspection and audits with
 * findings and corrective actions, indicators and management reviews,
 * ICT business continuity (ICT-BCP) and drills, violations of policy, and
 * the reports made from them (docs/isms-cycle.md,
 * docs/internals/isms-cycle.md).
 *
 * Every record is an ISMS record (isms.h) of one of the kinds below, so
 * every change is versioned and in the ledger with its actor; the
 * functions here are the workflows on top of the engine. They take the
 * caller's struct isms_ctx (one thread at a time) and return 0 or a
 * negative ERR_*; validation problems go to the caller's struct diag
 * (ERR_INVALID). JSON results are new references the caller releases.
 *
 * Kinds (files):
 *   incidents, incident_tasks, incident_timeline, incident_evidence (incidents.c)
 *   audits, findings, corrective_actions, checklists, checklist_answers (audits.c)
 *   management_reviews (indicators.c)
 *   bcp_systems, bcp_drills (bcp.c)
 *   violations (violations.c)
 */
#ifndef MAMORI_ISMS_CYCLE_H
#define MAMORI_ISMS_CYCLE_H

#include "base/base.h"

#include <jansson.h>

#include "base/buf.h"
#include "base/diag.h"
#include "isms/deadlines.h"
#include "isms/isms.h"

extern const struct isms_kind isms_kind_incidents;
extern const struct isms_kind isms_kind_incident_tasks;
extern const struct isms_kind isms_kind_incident_timeline;
extern const struct isms_kind isms_kind_incident_evidence;
extern const struct isms_kind isms_kind_audits;
extern const struct isms_kind isms_kind_findings;
extern const struct isms_kind isms_kind_corrective_actions;
extern const struct isms_kind isms_kind_checklists;
extern const struct isms_kind isms_kind_checklist_answers;
extern const struct isms_kind isms_kind_management_reviews;
extern const struct isms_kind isms_kind_bcp_systems;
extern const struct isms_kind isms_kind_bcp_drills;
extern const struct isms_kind isms_kind_violations;

/* Who triages, changes and closes incidents: CSIRT, the security office
 * and the CISO. */
#define ROLES_CSIRT_WORK (ROLE_ADMIN | ROLE_CISO | ROLE_CSIRT)
/* Who may report an incident: every staff role but auditors (who only
 * read). */
#define ROLES_INCIDENT_REPORT                                                                 \
	(ROLE_ADMIN | ROLE_CISO | ROLE_CSIRT | ROLE_DEPT_MANAGER | ROLE_PERSONNEL)
/* Who may see and record violations (personnel matters). */
#define ROLES_VIOLATIONS (ROLE_PERSONNEL | ROLE_ADMIN | ROLE_CISO)

/* The largest evidence file kept (bytes). */
#define CYCLE_EVIDENCE_MAX ((size_t)4 << 20)

/* What the workflows need beyond the engine's ctx. */
struct cycle_env {
	const char *instance_dir; /* evidence files go to DIR/evidence/<sha256> */
	struct ppc_policy ppc;    /* deadlines (defaults + DIR/isms-cycle.conf) */
	const char *municipality; /* for reports; may be NULL */
};

/*
 * Fill env for the instance directory dir: the PPC defaults, then
 * DIR/isms-cycle.conf if it exists (ppc_policy_parse; errors in d and
 * ERR_INVALID). dir and municipality are kept as pointers.
 */
MM_WUR int cycle_env_load(struct cycle_env *env, const char *dir, const char *municipality,
			  struct diag *d);

/* ---- incidents (incidents.c) ---- */

/*
 * Report an incident (anyone in ROLES_INCIDENT_REPORT): data holds the
 * reporter's fields (title required); the status is "reported", the
 * reporter is the actor, the department defaults to the actor's and the
 * time of awareness to now. A timeline entry records the report.
 */
MM_WUR int cycle_incident_report(struct isms_ctx *c, json_t *data, struct diag *d,
				 char id_out[ISMS_ID_MAX]);
/*
 * The incident with its PPC decision and clocks ("ppc"), its tasks,
 * timeline, evidence and history, as of the ctx's time.
 */
MM_WUR int cycle_incident_view(struct isms_ctx *c, const struct cycle_env *env, const char *id,
			       json_t **out);
/* The incidents (as isms_list with q) each with "ppc"; *total as isms_list. */
MM_WUR int cycle_incident_list(struct isms_ctx *c, const struct cycle_env *env,
			       const struct isms_query *q, json_t **out, size_t *total);
/* The "ppc" object of one incident record (decision, reasons, clocks). */
MM_WUR int cycle_incident_ppc(const struct isms_ctx *c, const struct cycle_env *env,
			      const json_t *rec, json_t **out);
/* Triage or any later change by the CSIRT (patch merged; op "triage"),
 * with a timeline entry. ERR_FORBIDDEN outside ROLES_CSIRT_WORK. */
MM_WUR int cycle_incident_triage(struct isms_ctx *c, const char *id, json_t *patch,
				 struct diag *d);
/* Add a timeline entry (type: note, action, share, report, ...). For
 * "share", party names the outside CSIRT or body. */
MM_WUR int cycle_incident_note(struct isms_ctx *c, const char *id, const char *type,
			       const char *text, const char *party, struct diag *d,
			       char id_out[ISMS_ID_MAX]);
/* Add a task (title, owner, due). */
MM_WUR int cycle_incident_task(struct isms_ctx *c, const char *id, json_t *task, struct diag *d,
			       char id_out[ISMS_ID_MAX]);
/*
 * Evidence: a file (stored once under DIR/evidence/<sha256>, at most
 * CYCLE_EVIDENCE_MAX bytes; ERR_TOO_LARGE), a watch alert by id (its
 * JSON kept), or a ledger entry with its inclusion proof against the
 * ledger's current size.
 */
MM_WUR int cycle_evidence_file(struct isms_ctx *c, const struct cycle_env *env, const char *id,
			       const char *name, const void *data, size_t len, struct diag *d,
			       char id_out[ISMS_ID_MAX]);
MM_WUR int cycle_evidence_alert(struct isms_ctx *c, const char *id, int64_t alert_id,
				struct diag *d, char id_out[ISMS_ID_MAX]);
MM_WUR int cycle_evidence_ledger(struct isms_ctx *c, const char *id, uint64_t index,
				 struct diag *d, char id_out[ISMS_ID_MAX]);
/*
 * Close: body {"root_cause","lessons","actions":[{"title","owner","due",
 * "dept"?}...]} (root_cause and lessons required); each action becomes a
 * corrective action with source "incident". op "close".
 */
MM_WUR int cycle_incident_close(struct isms_ctx *c, const char *id, json_t *body,
				struct diag *d);
/*
 * Escalate watch alert alert_id into a new incident in one step: the
 * incident (category unauthorized_viewing, personal data, the alert's
 * department and person) with the alert as evidence, and the alert set
 * to "escalated". ERR_NOT_FOUND if there is no such alert.
 */
MM_WUR int cycle_incident_from_alert(struct isms_ctx *c, int64_t alert_id, struct diag *d,
				     char id_out[ISMS_ID_MAX]);
/* The draft of the report to the PPC, as an HTML page (lang "ja"/"en"). */
MM_WUR int cycle_ppc_draft_html(struct isms_ctx *c, const struct cycle_env *env, const char *id,
				struct buf *out);

/* ---- audits (audits.c) ---- */

/*
 * Send the self-inspection (自己点検) of fiscal_year to departments
 * (depts: JSON array of ids, NULL = every department of the registry):
 * one checklist per department that has none for the year, with one
 * answer row per applicable SoA control (or, when the SoA is empty,
 * per Annex A control that mamori evidences). *created = checklists made.
 */
MM_WUR int cycle_checklists_issue(struct isms_ctx *c, int64_t fiscal_year, const json_t *depts,
				  size_t *created);
/* Record the verification of a corrective action's effectiveness. */
MM_WUR int cycle_action_verify(struct isms_ctx *c, const char *id, bool effective,
			       const char *note, struct diag *d);
/* Overdue corrective actions, incident tasks and unanswered checklists
 * (the escalation list) at the ctx's date. */
MM_WUR int cycle_escalations(struct isms_ctx *c, json_t **out);
/* The public summary of audits of fiscal_year (0 = all): audits marked
 * public with their scope and summary, counts of findings by severity
 * and of actions by state. No names of people. Readable by anyone. */
MM_WUR int cycle_audit_summary(struct isms_ctx *c, int64_t fiscal_year, json_t **out);

/* ---- evaluation (indicators.c) ---- */

/* Indicators from live data, organisation-wide and per department. */
MM_WUR int cycle_indicators(struct isms_ctx *c, const struct cycle_env *env, json_t **out);
/* A management review: data (date, decisions, next_policy_review...)
 * with the indicators of now kept in it. */
MM_WUR int cycle_review_create(struct isms_ctx *c, const struct cycle_env *env, json_t *data,
			       struct diag *d, char id_out[ISMS_ID_MAX]);

/* ---- continuity (bcp.c) ---- */

/* The 72-hour initial-response checklist (template). */
MM_WUR int cycle_bcp_checklist(json_t **out);
/* Critical systems with their last drill and "drill_overdue". */
MM_WUR int cycle_bcp_status(struct isms_ctx *c, json_t **out);

/* ---- reports (reports in incidents.c/audits.c/indicators.c) ---- */

enum cycle_format { CYCLE_HTML, CYCLE_CSV, CYCLE_PDF };

/*
 * Report name ("annual", "soa", "incidents", "audit-summary",
 * "dept-status") in format into out; *ctype gets its media type. dept is
 * for "dept-status" (required there), year for "annual" and
 * "audit-summary" (0 = this fiscal year / all). ERR_NOT_FOUND for an
 * unknown name; report_pdf's errors for PDF.
 */
MM_WUR int cycle_report(struct isms_ctx *c, const struct cycle_env *env, const char *name,
			enum cycle_format fmt, const char *dept, int64_t year, struct buf *out,
			const char **ctype);

/* The fiscal year (April to March) of a date. */
int cycle_fiscal_year(int32_t day);

#endif
