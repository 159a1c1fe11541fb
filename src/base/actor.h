/*
 * actor.h - who is acting, and with which of mamori's own roles.
 *
 * Every request to the API and every CLI command runs on behalf of an
 * actor: a business system's API key, a witness, a console user, or the
 * operator at the command line. The actor carries one role of the console
 * (separate from the business roles in the policy file, which decide
 * access to residents' records) and, for a department manager, the
 * department the role is limited to. Modules below the API receive a
 * struct actor and enforce what it may see and change themselves, so that
 * the CLI and the API cannot differ (DESIGN.md: thin shells).
 *
 *   system        a business system: decisions and access events
 *   witness       an external witness: posts cosignatures
 *   admin         the security office (情報セキュリティ担当): everything
 *   ciso          CISO (最高情報セキュリティ責任者): everything, approves policy
 *   csirt         CSIRT: incidents, alerts, the ledger; reads the rest
 *   dept_manager  情報セキュリティ管理者: reads and edits only their department
 *   auditor       internal or external auditor: reads everything, changes nothing
 *   personnel     人事: violations and the people registry
 */
#ifndef MAMORI_ACTOR_H
#define MAMORI_ACTOR_H

#include "base/base.h"

enum role {
	ROLE_SYSTEM = 1u << 0,
	ROLE_WITNESS = 1u << 1,
	ROLE_ADMIN = 1u << 2,
	ROLE_CISO = 1u << 3,
	ROLE_CSIRT = 1u << 4,
	ROLE_DEPT_MANAGER = 1u << 5,
	ROLE_AUDITOR = 1u << 6,
	ROLE_PERSONNEL = 1u << 7,
};

/* Sets of roles used by permission checks. */
#define ROLES_ALL 0xffu
/* The people of the console: everyone but systems and witnesses. */
#define ROLES_STAFF                                                                         \
	(ROLE_ADMIN | ROLE_CISO | ROLE_CSIRT | ROLE_DEPT_MANAGER | ROLE_AUDITOR | ROLE_PERSONNEL)
/* Those who may change ISMS records in general (a department manager only
 * within their own department, checked where the record is known). */
#define ROLES_ISMS_WRITE (ROLE_ADMIN | ROLE_CISO | ROLE_CSIRT | ROLE_DEPT_MANAGER)

#define ACTOR_NAME_MAX 128
#define ACTOR_DEPT_MAX 32

struct actor {
	char name[ACTOR_NAME_MAX + 1]; /* as written in the ledger: "key:juki", "user:sato", "cli:root" */
	unsigned role;                 /* exactly one bit of enum role */
	char dept[ACTOR_DEPT_MAX + 1]; /* department id for ROLE_DEPT_MANAGER, else "" */
};

/* The role named s ("admin", "dept_manager", ...) into *out; ERR_INVALID
 * if there is no such role. */
MM_WUR int role_parse(const char *s, unsigned *out);
/* The name of one role bit; "?" for anything else. */
const char *role_name(unsigned role);
/* The role's name for people, in the thread's language. */
const char *role_label(unsigned role);
/* A comma-separated list of every role name, for messages. */
const char *role_names_all(void);

/* True if the actor's role is in the set roles. */
static inline bool actor_has(const struct actor *a, unsigned roles)
{
	return a && (a->role & roles) != 0;
}

/*
 * True if the actor may read records of department dept: every staff role
 * may, except a department manager outside their own department. dept
 * NULL or "" means a record of no single department (organisation-wide):
 * a department manager may read those too.
 */
bool actor_may_read_dept(const struct actor *a, const char *dept);
/*
 * True if the actor may change records of department dept: admin, CISO
 * and CSIRT anywhere, a department manager only in their own department
 * (never organisation-wide records), auditors never.
 */
bool actor_may_write_dept(const struct actor *a, const char *dept);

/* The operator at the command line: "cli:<user>" with the admin role
 * (whoever can write the instance directory administers the instance). */
void actor_cli(struct actor *out);

#endif
