/*
 * policy_int.h - the checked policy model shared by the parser (parse.c),
 * the printer (show.c) and the compiler (decider.c). Not for other modules.
 *
 * Everything is validated when the model is built: ids are unique, every
 * reference (a role in an action, a zone in a rule) resolves to an index,
 * numbers are in range. The compiler can therefore trust the model.
 */
#ifndef MAMORI_POLICY_INT_H
#define MAMORI_POLICY_INT_H

#include "base/base.h"
#include "policy/policy.h"
#include "registry/registry.h"
#include "watch/thresholds.h"

/* At most 64 of each kind of set member, so that sets are one uint64_t. */
#define POL_MAX_SET 64
#define POL_MAX_CLASS 16
#define POL_MAX_RULES DECIDE_MAX_REASONS
#define POL_ID_MAX 64
#define POL_TEXT_MAX 1024

struct pol_named {
	const char *id, *name;
};

struct pol_zone {
	const char *id, *name;
	bool mfa; /* informative: mfa_required rules name their zones */
	/* Systems the policy places in this zone (optional). When listed, the
	 * policy's placement wins over the registry's systems.jsonl. */
	const char **systems;
	unsigned nsystems;
};

#define POL_MAX_ZONE_SYSTEMS 256

enum pol_check {
	CHK_KNOWN_STAFF = 0,
	CHK_KNOWN_SYSTEM,
	CHK_KNOWN_RESIDENT,
	CHK_EMPLOYMENT_PERIOD,
	CHK_TRAINING_RECENT,
	CHK_PLEDGE_SIGNED,
	CHK_ZONE_MATCH,
	CHK_MFA_REQUIRED,
	CHK_DEPARTMENT_SYSTEM,
	CHK_ACTION_ROLES,
	CHK_FLAGGED_RESIDENT,
	CHK_NEED_TO_KNOW,
	CHK__COUNT
};
const char *pol_check_name(enum pol_check c);

enum pol_effect { PEFF_DENY = 0, PEFF_WARN, PEFF_BY_SYSTEM };
const char *pol_effect_name(enum pol_effect e);

enum pol_scope { SCOPE_DEPARTMENT = 0, SCOPE_ASSIGNED };

struct pol_rule {
	const char *code;
	enum pol_check check;
	enum pol_effect effect;
	uint64_t on_deny, on_warn, on_record; /* obligation bit sets */
	const char *msg_ja, *msg_en;          /* NULL: the check's own sentence */
	/* parameters; which apply depends on check */
	int32_t max_age_days;    /* training_recent */
	uint64_t zones;          /* mfa_required: zone bit set */
	const char *flag;        /* flagged_resident */
	int role;                /* flagged_resident: role index or -1 */
	bool assigned_case;      /* flagged_resident */
	int32_t grace_days;      /* flagged_resident, need_to_know */
	uint32_t actions;        /* need_to_know: bit per enum action */
	enum pol_scope scope;    /* need_to_know */
	long line;               /* where the rule starts, for messages */
};

struct pol_action {
	uint64_t roles;                     /* every one is needed */
	uint64_t zone_roles[POL_MAX_SET];   /* extra, by the system's zone */
};

struct pol_ntk_override {
	const char *system;
	enum need_to_know mode;
};

struct policy {
	struct arena *arena;
	int version;
	const char *name;
	struct pol_named conf[POL_MAX_CLASS], integ[POL_MAX_CLASS], avail[POL_MAX_CLASS];
	unsigned nconf, ninteg, navail;
	struct pol_zone zones[POL_MAX_SET];
	unsigned nzones;
	struct pol_named roles[POL_MAX_SET];
	unsigned nroles;
	struct pol_action actions[ACT__COUNT];
	enum need_to_know ntk_default; /* NTK_MONITOR or NTK_ENFORCE */
	struct pol_ntk_override *ntk;
	unsigned nntk;
	const char *obligations[POL_MAX_SET];
	unsigned nobligations;
	struct pol_rule rules[POL_MAX_RULES];
	unsigned nrules;
	/* The `watch:` section, defaults filled in (watch/thresholds.h). */
	struct watch_thresholds watch;
};

int pol_zone_index(const struct policy *p, const char *id);
/* The zone the policy places system id in, or -1 if it lists it nowhere. */
int pol_system_zone(const struct policy *p, const char *system);
int pol_role_index(const struct policy *p, const char *id);

/* The default sentences of a rule's reason, parameters filled in, into
 * ja and en (NUL-terminated, truncated to POL_TEXT_MAX). */
void pol_rule_sentences(const struct policy *p, const struct pol_rule *r, char ja[POL_TEXT_MAX],
			char en[POL_TEXT_MAX]);

#endif
