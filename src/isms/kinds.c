/*
 * kinds.c - the table of every ISMS kind (isms.h). Each kind is defined in
 * its own file as `const struct isms_kind isms_kind_<name>`; adding a kind
 * is one declaration and one line of the table here.
 */
#include "base/base.h"

#include "isms/isms.h"
#include "isms/isms_cycle.h"
#include "isms/people.h"
#include "isms/plan.h"

const struct isms_kind *const isms_kinds[] = {
    &isms_kind_documents,
    &isms_kind_document_versions,
    &isms_kind_role_assignments,
    &isms_kind_assets,
    &isms_kind_risks,
    &isms_kind_soa,
    &isms_kind_courses,
    &isms_kind_training_requirements,
    &isms_kind_training_completions,
    &isms_kind_notices,
    &isms_kind_notice_acks,
    &isms_kind_contractors,
    &isms_kind_contracts,
    &isms_kind_contractor_reports,
    &isms_kind_contractor_checks,
    &isms_kind_incidents,
    &isms_kind_incident_tasks,
    &isms_kind_incident_timeline,
    &isms_kind_incident_evidence,
    &isms_kind_audits,
    &isms_kind_findings,
    &isms_kind_corrective_actions,
    &isms_kind_checklists,
    &isms_kind_checklist_answers,
    &isms_kind_management_reviews,
    &isms_kind_bcp_systems,
    &isms_kind_bcp_drills,
    &isms_kind_violations,
    NULL,
};
