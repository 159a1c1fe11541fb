/*
 * show.c - the effective policy as YAML (policy_show), and the default
 * sentences of each check's reason.
 *
 * The printed policy has every default filled in (effects, grace days,
 * need-to-know actions and scope, names), so that what a municipality
 * reads is what decides. It is itself a valid policy file: strings are
 * written as double-quoted scalars (JSON string syntax, which YAML
 * accepts), so that policy_parse(policy_show(p)) gives the same policy.
 */
#include "base/base.h"

#include "base/buf.h"
#include "base/i18n.h"
#include "policy/policy_int.h"

static int q(struct buf *b, const char *s)
{
	return buf_json_str(b, s, strlen(s));
}

static int named(struct buf *b, const char *indent, const struct pol_named *v, unsigned n)
{
	int r = 0;
	for (unsigned i = 0; i < n && r >= 0; i++) {
		r = buf_printf(b, "%s- {id: ", indent);
		if (r >= 0)
			r = q(b, v[i].id);
		if (r >= 0)
			r = buf_puts(b, ", name: ");
		if (r >= 0)
			r = q(b, v[i].name);
		if (r >= 0)
			r = buf_puts(b, "}\n");
	}
	return r;
}

/* "[a, b]" for a bit set over names. */
static int set_list(struct buf *b, uint64_t bits, const char *(*name)(const struct policy *, unsigned),
		    const struct policy *p)
{
	int r = buf_putc(b, '[');
	bool first = true;
	for (unsigned i = 0; i < 64 && r >= 0; i++) {
		if (!(bits & ((uint64_t)1 << i)))
			continue;
		if (!first)
			r = buf_puts(b, ", ");
		first = false;
		if (r >= 0)
			r = q(b, name(p, i));
	}
	if (r >= 0)
		r = buf_putc(b, ']');
	return r;
}

static const char *role_name(const struct policy *p, unsigned i)
{
	return i < p->nroles ? p->roles[i].id : "?";
}
static const char *zone_name(const struct policy *p, unsigned i)
{
	return i < p->nzones ? p->zones[i].id : "?";
}
static const char *obl_name(const struct policy *p, unsigned i)
{
	return i < p->nobligations ? p->obligations[i] : "?";
}
static const char *act_name(const struct policy *p, unsigned i)
{
	(void)p;
	return action_name((enum action)i) ? action_name((enum action)i) : "?";
}

static int show_rule(struct buf *b, const struct policy *p, const struct pol_rule *r)
{
	int rc;
	rc = buf_puts(b, "  - code: ");
	if (rc >= 0)
		rc = q(b, r->code);
	if (rc >= 0)
		rc = buf_printf(b, "\n    check: %s\n    effect: %s\n", pol_check_name(r->check),
				pol_effect_name(r->effect));
	switch (r->check) {
	case CHK_TRAINING_RECENT:
		if (rc >= 0)
			rc = buf_printf(b, "    max_age_days: %d\n", (int)r->max_age_days);
		break;
	case CHK_MFA_REQUIRED:
		if (rc >= 0)
			rc = buf_puts(b, "    zones: ");
		if (rc >= 0)
			rc = set_list(b, r->zones, zone_name, p);
		if (rc >= 0)
			rc = buf_putc(b, '\n');
		break;
	case CHK_FLAGGED_RESIDENT:
		if (rc >= 0)
			rc = buf_puts(b, "    flag: ");
		if (rc >= 0)
			rc = q(b, r->flag);
		if (rc >= 0 && r->role >= 0) {
			rc = buf_puts(b, "\n    role: ");
			if (rc >= 0)
				rc = q(b, p->roles[r->role].id);
		}
		if (rc >= 0)
			rc = buf_printf(b, "\n    assigned_case: %s\n    grace_days: %d\n",
					r->assigned_case ? "true" : "false", (int)r->grace_days);
		if (rc >= 0)
			rc = buf_puts(b, "    on_record: ");
		if (rc >= 0)
			rc = set_list(b, r->on_record, obl_name, p);
		if (rc >= 0)
			rc = buf_putc(b, '\n');
		break;
	case CHK_NEED_TO_KNOW:
		if (rc >= 0)
			rc = buf_puts(b, "    actions: ");
		if (rc >= 0)
			rc = set_list(b, r->actions, act_name, p);
		if (rc >= 0)
			rc = buf_printf(b, "\n    scope: %s\n    grace_days: %d\n",
					r->scope == SCOPE_ASSIGNED ? "assigned" : "department",
					(int)r->grace_days);
		break;
	default: break;
	}
	if (rc >= 0)
		rc = buf_puts(b, "    on_deny: ");
	if (rc >= 0)
		rc = set_list(b, r->on_deny, obl_name, p);
	if (rc >= 0)
		rc = buf_puts(b, "\n    on_warn: ");
	if (rc >= 0)
		rc = set_list(b, r->on_warn, obl_name, p);
	if (rc >= 0)
		rc = buf_putc(b, '\n');
	if (rc >= 0 && r->msg_ja) {
		rc = buf_puts(b, "    message: {ja: ");
		if (rc >= 0)
			rc = q(b, r->msg_ja);
		if (rc >= 0)
			rc = buf_puts(b, ", en: ");
		if (rc >= 0)
			rc = q(b, r->msg_en);
		if (rc >= 0)
			rc = buf_puts(b, "}\n");
	}
	return rc;
}

/* A duration in the largest unit that divides it exactly. */
static int show_duration(struct buf *b, const char *key, int64_t secs)
{
	if (secs > 0 && secs % 86400 == 0)
		return buf_printf(b, "  %s: %lldd\n", key, (long long)(secs / 86400));
	if (secs > 0 && secs % 3600 == 0)
		return buf_printf(b, "  %s: %lldh\n", key, (long long)(secs / 3600));
	if (secs > 0 && secs % 60 == 0)
		return buf_printf(b, "  %s: %lldmin\n", key, (long long)(secs / 60));
	return buf_printf(b, "  %s: %llds\n", key, (long long)secs);
}

static int show_clock(struct buf *b, const char *key, int secs)
{
	return buf_printf(b, "  %s: \"%02d:%02d\"\n", key, secs / 3600, secs / 60 % 60);
}

/* A factor in thousandths (the parser keeps no more), trailing zeros cut. */
static int show_factor(struct buf *b, const char *key, double v)
{
	long long milli = (long long)(v * 1000.0 + 0.5);
	if (milli % 1000 == 0)
		return buf_printf(b, "  %s: %lld\n", key, milli / 1000);
	if (milli % 100 == 0)
		return buf_printf(b, "  %s: %lld.%01lld\n", key, milli / 1000, milli % 1000 / 100);
	if (milli % 10 == 0)
		return buf_printf(b, "  %s: %lld.%02lld\n", key, milli / 1000, milli % 1000 / 10);
	return buf_printf(b, "  %s: %lld.%03lld\n", key, milli / 1000, milli % 1000);
}

/* The declared explanation templates, in the syntax the parser reads. */
static int show_templates(struct buf *b, const struct watch_thresholds *t)
{
	static const char *const steps[WSTEP__COUNT] = WATCH_STEP_NAMES;
	int r = 0;
	if (!t->ntemplates)
		return 0;
	r = buf_puts(b, "  explanations:\n");
	for (uint32_t i = 0; i < t->ntemplates && i < WATCH_TEMPLATES_MAX && r >= 0; i++) {
		const struct watch_template *tp = &t->templates[i];
		r = buf_printf(b, "    - name: %s\n      label: {ja: ", tp->name);
		if (r >= 0)
			r = q(b, tp->label_ja);
		if (r >= 0)
			r = buf_puts(b, ", en: ");
		if (r >= 0)
			r = q(b, tp->label_en);
		if (r >= 0)
			r = buf_puts(b, "}\n      path: \"");
		for (uint8_t k = 0; k < tp->npath && k < WATCH_PATH_MAX && r >= 0; k++)
			r = buf_printf(b, "%s%s", k ? " -> " : "",
				       tp->path[k] < WSTEP__COUNT ? steps[tp->path[k]] : "?");
		if (r >= 0)
			r = buf_puts(b, "\"\n");
		if (r >= 0 && tp->within_days > 0)
			r = buf_printf(b, "      within_days: %d\n", (int)tp->within_days);
	}
	return r;
}

static int show_watch(struct buf *b, const struct watch_thresholds *t)
{
	int r = buf_puts(b, "watch:\n");
	if (r >= 0)
		r = show_duration(b, "case_grace", t->case_grace);
	if (r >= 0)
		r = show_duration(b, "counter_flow", t->counter_flow);
	if (r >= 0)
		r = show_duration(b, "namesake_window", t->namesake_window);
	if (r >= 0)
		r = buf_printf(b, "  namesake_max: %u\n", (unsigned)t->namesake_max);
	if (r >= 0)
		r = show_duration(b, "recent_case", t->recent_case);
	if (r >= 0)
		r = show_clock(b, "office_open", t->office_open);
	if (r >= 0)
		r = show_clock(b, "office_close", t->office_close);
	if (r >= 0)
		r = buf_printf(b, "  training_valid_days: %d\n", (int)t->training_valid_days);
	if (r >= 0)
		r = show_duration(b, "scan_window", t->scan_window);
	if (r >= 0)
		r = show_duration(b, "scan_gap", t->scan_gap);
	if (r >= 0)
		r = buf_printf(b, "  scan_floor: %u\n", (unsigned)t->scan_floor);
	if (r >= 0)
		r = show_factor(b, "scan_factor", t->scan_factor);
	if (r >= 0)
		r = buf_printf(b, "  export_floor: %u\n", (unsigned)t->export_floor);
	if (r >= 0)
		r = show_factor(b, "export_factor", t->export_factor);
	if (r >= 0)
		r = buf_printf(b, "  print_floor: %u\n", (unsigned)t->print_floor);
	if (r >= 0)
		r = show_factor(b, "print_factor", t->print_factor);
	if (r >= 0)
		r = show_duration(b, "search_followup", t->search_followup);
	if (r >= 0)
		r = buf_printf(b, "  search_floor: %u\n", (unsigned)t->search_floor);
	if (r >= 0)
		r = show_factor(b, "search_factor", t->search_factor);
	if (r >= 0)
		r = buf_printf(b, "  min_peers: %u\n", (unsigned)t->min_peers);
	if (r >= 0)
		r = show_templates(b, t);
	return r;
}

int policy_show(const struct policy *p, struct buf *b)
{
	int r;

	r = buf_printf(b, "version: %d\nname: ", p->version);
	if (r >= 0)
		r = q(b, p->name ? p->name : "");
	if (r >= 0 && p->nconf + p->ninteg + p->navail) {
		r = buf_puts(b, "\nclassification:\n");
		if (r >= 0 && p->nconf) {
			r = buf_puts(b, "  confidentiality:\n");
			if (r >= 0)
				r = named(b, "    ", p->conf, p->nconf);
		}
		if (r >= 0 && p->ninteg) {
			r = buf_puts(b, "  integrity:\n");
			if (r >= 0)
				r = named(b, "    ", p->integ, p->ninteg);
		}
		if (r >= 0 && p->navail) {
			r = buf_puts(b, "  availability:\n");
			if (r >= 0)
				r = named(b, "    ", p->avail, p->navail);
		}
	} else if (r >= 0) {
		r = buf_putc(b, '\n');
	}
	if (r >= 0)
		r = buf_puts(b, "zones:\n");
	for (unsigned i = 0; i < p->nzones && r >= 0; i++) {
		r = buf_puts(b, "  - {id: ");
		if (r >= 0)
			r = q(b, p->zones[i].id);
		if (r >= 0)
			r = buf_puts(b, ", name: ");
		if (r >= 0)
			r = q(b, p->zones[i].name);
		if (r >= 0)
			r = buf_printf(b, ", mfa: %s", p->zones[i].mfa ? "required" : "optional");
		if (r >= 0 && p->zones[i].systems) {
			r = buf_puts(b, ", systems: [");
			for (unsigned k = 0; k < p->zones[i].nsystems && r >= 0; k++) {
				if (k)
					r = buf_puts(b, ", ");
				if (r >= 0)
					r = q(b, p->zones[i].systems[k]);
			}
			if (r >= 0)
				r = buf_putc(b, ']');
		}
		if (r >= 0)
			r = buf_puts(b, "}\n");
	}
	if (r >= 0)
		r = buf_puts(b, "roles:\n");
	if (r >= 0)
		r = named(b, "  ", p->roles, p->nroles);
	if (r >= 0)
		r = buf_puts(b, "actions:\n");
	for (unsigned a = 0; a < ACT__COUNT && r >= 0; a++) {
		const struct pol_action *pa = &p->actions[a];
		bool any = false;
		r = buf_printf(b, "  %s: {roles: ", action_name((enum action)a));
		if (r >= 0)
			r = set_list(b, pa->roles, role_name, p);
		for (unsigned z = 0; z < p->nzones && r >= 0; z++)
			if (pa->zone_roles[z]) {
				r = buf_puts(b, any ? ", " : ", zone_roles: {");
				any = true;
				if (r >= 0)
					r = q(b, p->zones[z].id);
				if (r >= 0)
					r = buf_puts(b, ": ");
				if (r >= 0)
					r = set_list(b, pa->zone_roles[z], role_name, p);
			}
		if (r >= 0 && any)
			r = buf_putc(b, '}');
		if (r >= 0)
			r = buf_puts(b, "}\n");
	}
	if (r >= 0)
		r = buf_printf(b, "systems:\n  need_to_know_default: %s\n",
			       p->ntk_default == NTK_ENFORCE ? "enforce" : "monitor");
	if (r >= 0 && p->nntk) {
		r = buf_puts(b, "  need_to_know:\n");
		for (unsigned i = 0; i < p->nntk && r >= 0; i++) {
			r = buf_puts(b, "    ");
			if (r >= 0)
				r = q(b, p->ntk[i].system);
			if (r >= 0)
				r = buf_printf(b, ": %s\n",
					       p->ntk[i].mode == NTK_ENFORCE ? "enforce" : "monitor");
		}
	}
	if (r >= 0)
		r = buf_puts(b, "obligations: ");
	if (r >= 0)
		r = set_list(b, p->nobligations >= 64 ? UINT64_MAX
						       : (((uint64_t)1 << p->nobligations) - 1),
			     obl_name, p);
	if (r >= 0)
		r = buf_puts(b, "\nrules:\n");
	for (unsigned i = 0; i < p->nrules && r >= 0; i++)
		r = show_rule(b, p, &p->rules[i]);
	if (r >= 0)
		r = show_watch(b, &p->watch);
	return r;
}

/* ---- sentences ---- */

void pol_rule_sentences(const struct policy *p, const struct pol_rule *r, char ja[POL_TEXT_MAX],
			char en[POL_TEXT_MAX])
{
	if (r->msg_ja) {
		snprintf(ja, POL_TEXT_MAX, "%s", r->msg_ja);
		snprintf(en, POL_TEXT_MAX, "%s", r->msg_en);
		return;
	}
	switch (r->check) {
	case CHK_KNOWN_STAFF:
		snprintf(ja, POL_TEXT_MAX, "職員が台帳に登録されていません。");
		snprintf(en, POL_TEXT_MAX, "The staff member is not in the registry.");
		break;
	case CHK_KNOWN_SYSTEM:
		snprintf(ja, POL_TEXT_MAX, "業務システムが台帳に登録されていません。");
		snprintf(en, POL_TEXT_MAX, "The business system is not in the registry.");
		break;
	case CHK_KNOWN_RESIDENT:
		snprintf(ja, POL_TEXT_MAX,
			 "住民が台帳に登録されていません（検索以外の操作では住民の指定が必要です）。");
		snprintf(en, POL_TEXT_MAX,
			 "The resident is not in the registry (every action but search names a "
			 "resident).");
		break;
	case CHK_EMPLOYMENT_PERIOD:
		snprintf(ja, POL_TEXT_MAX, "この日は職員の任用期間外です。");
		snprintf(en, POL_TEXT_MAX, "The staff member is not employed on this date.");
		break;
	case CHK_TRAINING_RECENT:
		snprintf(ja, POL_TEXT_MAX, "情報セキュリティ研修を%d日以内に受講していません。",
			 (int)r->max_age_days);
		snprintf(en, POL_TEXT_MAX,
			 "The staff member has not taken information security training in the last "
			 "%d days.",
			 (int)r->max_age_days);
		break;
	case CHK_PLEDGE_SIGNED:
		snprintf(ja, POL_TEXT_MAX, "情報セキュリティに関する誓約書が提出されていません。");
		snprintf(en, POL_TEXT_MAX, "The staff member has not signed the security pledge.");
		break;
	case CHK_ZONE_MATCH:
		snprintf(ja, POL_TEXT_MAX,
			 "要求元のネットワーク領域が、システムの領域または職員に認められた領域と一致しません（三層の対策）。");
		snprintf(en, POL_TEXT_MAX,
			 "The request's network zone is not the system's zone or not one the staff "
			 "member may use (three-layer separation).");
		break;
	case CHK_MFA_REQUIRED:
		snprintf(ja, POL_TEXT_MAX, "この領域では多要素認証が必要です。");
		snprintf(en, POL_TEXT_MAX, "Multi-factor authentication is required in this zone.");
		break;
	case CHK_DEPARTMENT_SYSTEM:
		snprintf(ja, POL_TEXT_MAX, "所属部署が利用する業務システムではありません。");
		snprintf(en, POL_TEXT_MAX,
			 "The system is not one of the staff member's department's systems.");
		break;
	case CHK_ACTION_ROLES:
		snprintf(ja, POL_TEXT_MAX, "この操作に必要な役割が職員に付与されていません。");
		snprintf(en, POL_TEXT_MAX, "The staff member lacks a role this action needs.");
		break;
	case CHK_FLAGGED_RESIDENT: {
		const char *role = r->role >= 0 ? p->roles[r->role].id : NULL;
		char rja[160] = "", ren[160] = "";
		if (role) {
			snprintf(rja, sizeof(rja), "役割 %s を持ち、", role);
			snprintf(ren, sizeof(ren), " with role %s", role);
		}
		if (r->assigned_case) {
			snprintf(ja, POL_TEXT_MAX,
				 "この住民の記録（%s）は、%s当該住民の案件の担当者として割り当てられ、その案件が継続中または終了後%d日以内の職員だけが扱えます。",
				 r->flag, rja, (int)r->grace_days);
			snprintf(en, POL_TEXT_MAX,
				 "This resident's record is flagged %s: only a staff member%s assigned "
				 "to a case for this resident, open or closed at most %d days ago, may "
				 "open it.",
				 r->flag, ren, (int)r->grace_days);
		} else {
			snprintf(ja, POL_TEXT_MAX, "この住民の記録（%s）は、%s権限のある職員だけが扱えます。",
				 r->flag, rja);
			snprintf(en, POL_TEXT_MAX,
				 "This resident's record is flagged %s: only a staff member%s may open "
				 "it.",
				 r->flag, ren);
		}
		break;
	}
	case CHK_NEED_TO_KNOW:
		if (r->scope == SCOPE_ASSIGNED) {
			snprintf(ja, POL_TEXT_MAX,
				 "この住民について、職員が担当する継続中の案件（終了後%d日以内を含む）がありません。",
				 (int)r->grace_days);
			snprintf(en, POL_TEXT_MAX,
				 "No case for this resident assigned to the staff member is open (or "
				 "closed at most %d days ago).",
				 (int)r->grace_days);
		} else {
			snprintf(ja, POL_TEXT_MAX,
				 "この住民について、所属部署の継続中の案件（終了後%d日以内を含む）がありません。",
				 (int)r->grace_days);
			snprintf(en, POL_TEXT_MAX,
				 "No case of the staff member's department for this resident is open (or "
				 "closed at most %d days ago).",
				 (int)r->grace_days);
		}
		break;
	case CHK__COUNT: BUG("bad check");
	}
}
