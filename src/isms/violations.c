/*
 * violations.c - violations of the security policy recorded against a
 * person (懲戒等の措置), the kind violations (isms_cycle.h).
 *
 * Who: personnel (人事) handles disciplinary matters; the security office
 * (admin) and the CISO may also read and record them, because the policy
 * makes the CISO responsible for reporting violations and the security
 * office records them when an incident or audit finds one. CSIRT,
 * department managers and auditors do not see them: an auditor checks
 * the process through the ledger, where a violation is only a hash
 * (the kind is sensitive), not the person's record.
 */
#include "base/base.h"

#include "base/i18n.h"
#include "isms/isms_cycle_int.h"

static const char *const VI_SOURCE[] = {"incident", "audit", "report", "other", NULL};
static const char *const VI_SERIOUS[] = {"minor", "moderate", "serious", "grave", NULL};
/* 故意 (intent), 重過失 (gross negligence), 過失 (negligence). */
static const char *const VI_CULPA[] = {"intent", "gross_negligence", "negligence", "none", NULL};
/* Disciplinary measures of the 地方公務員法 art. 29 (戒告, 減給, 停職,
 * 免職) and the measures short of discipline (訓告, 厳重注意). */
static const char *const VI_OUTCOME[] = {"pending",   "none",     "caution",    "reprimand",
					 "warning",   "pay_cut",  "suspension", "dismissal",
					 NULL};

static const struct isms_field f_violations[] = {
    {"staff", ISMS_REF, true, 0, 0, 0, NULL, "staff", "職員", "Staff member"},
    {"source", ISMS_ENUM, true, 0, 0, 0, VI_SOURCE, NULL, "発端", "Source"},
    {"source_id", ISMS_TEXT, false, ISMS_ID_MAX, 0, 0, NULL, NULL, "発端の記録（IN-/FI-）",
     "Source record (IN-/FI-)"},
    {"description", ISMS_MARKDOWN, true, 20000, 0, 0, NULL, NULL, "違反の内容", "What happened"},
    {"seriousness", ISMS_ENUM, true, 0, 0, 0, VI_SERIOUS, NULL, "重大性", "Seriousness"},
    {"culpability", ISMS_ENUM, true, 0, 0, 0, VI_CULPA, NULL, "故意・過失", "Intent or negligence"},
    {"outcome", ISMS_ENUM, false, 0, 0, 0, VI_OUTCOME, NULL, "処分等", "Outcome"},
    {"decided_on", ISMS_DATE, false, 0, 0, 0, NULL, NULL, "決定日", "Decided on"},
};

static int violations_check(struct isms_ctx *c, json_t *rec, struct diag *d)
{
	const char *o = cj_str(rec, "outcome");

	(void)c;
	if (!o) {
		if (json_object_set_new(rec, "outcome", json_string("pending")) != 0)
			return ERR_NOMEM;
		o = "pending";
	}
	if (strcmp(o, "pending") != 0 && !json_object_get(rec, "decided_on"))
		diag_error(d, NULL, 0, 0, "decided_on", "%s",
			   T("処分等の決定には決定日が必要です", "an outcome needs the date decided"));
	return 0;
}

const struct isms_kind isms_kind_violations = {
    .name = "violations",
    .ja = "ポリシー違反",
    .en = "Policy violations",
    .id_prefix = "VI",
    .fields = f_violations,
    .nfields = ARRAY_SIZE(f_violations),
    .read_roles = ROLES_VIOLATIONS,
    .write_roles = ROLES_VIOLATIONS,
    .sensitive = true,
    .check = violations_check,
};
