/*
 * actor.c - roles of the console and the checks every module shares.
 */
#include <pwd.h>
#include <unistd.h>

#include "base/base.h"
#include "base/actor.h"
#include "base/i18n.h"

static const struct {
	unsigned bit;
	const char *name;
	const char *ja, *en;
} roles[] = {
    {ROLE_SYSTEM, "system", "業務システム", "business system"},
    {ROLE_WITNESS, "witness", "証人", "witness"},
    {ROLE_ADMIN, "admin", "情報セキュリティ担当", "security office"},
    {ROLE_CISO, "ciso", "CISO", "CISO"},
    {ROLE_CSIRT, "csirt", "CSIRT", "CSIRT"},
    {ROLE_DEPT_MANAGER, "dept_manager", "情報セキュリティ管理者（所属長）",
     "department manager"},
    {ROLE_AUDITOR, "auditor", "監査人", "auditor"},
    {ROLE_PERSONNEL, "personnel", "人事担当", "personnel"},
};

int role_parse(const char *s, unsigned *out)
{
	*out = 0;
	if (!s)
		return ERR_INVALID;
	for (size_t i = 0; i < ARRAY_SIZE(roles); i++) {
		if (!strcmp(s, roles[i].name)) {
			*out = roles[i].bit;
			return 0;
		}
	}
	return ERR_INVALID;
}

const char *role_name(unsigned role)
{
	for (size_t i = 0; i < ARRAY_SIZE(roles); i++)
		if (roles[i].bit == role)
			return roles[i].name;
	return "?";
}

const char *role_label(unsigned role)
{
	for (size_t i = 0; i < ARRAY_SIZE(roles); i++)
		if (roles[i].bit == role)
			return T(roles[i].ja, roles[i].en);
	return "?";
}

const char *role_names_all(void)
{
	return "system, witness, admin, ciso, csirt, dept_manager, auditor, personnel";
}

bool actor_may_read_dept(const struct actor *a, const char *dept)
{
	if (!actor_has(a, ROLES_STAFF))
		return false;
	if (a->role != ROLE_DEPT_MANAGER || !dept || !*dept)
		return true;
	return !strcmp(a->dept, dept);
}

bool actor_may_write_dept(const struct actor *a, const char *dept)
{
	if (!actor_has(a, ROLES_ISMS_WRITE))
		return false;
	if (a->role != ROLE_DEPT_MANAGER)
		return true;
	return dept && *dept && !strcmp(a->dept, dept);
}

void actor_cli(struct actor *out)
{
	struct passwd pw, *res = NULL;
	char tmp[4096];

	memset(out, 0, sizeof(*out));
	if (getpwuid_r(getuid(), &pw, tmp, sizeof(tmp), &res) == 0 && res)
		snprintf(out->name, sizeof(out->name), "cli:%.100s", res->pw_name);
	else
		snprintf(out->name, sizeof(out->name), "cli:%u", (unsigned)getuid());
	out->role = ROLE_ADMIN;
}
