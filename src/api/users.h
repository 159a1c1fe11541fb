/*
 * users.h - the people of the web console: users, passwords, the TOTP
 * second factor, recovery codes, and sessions (docs/console-auth.md).
 *
 * A user has a login name, one console role of base/actor.h (never
 * system or witness), a department when the role is dept_manager, and
 * optionally the staff id of the registry it belongs to (external
 * auditors have none). A user is created without a password: creation
 * and reset give a one-time setup token (24 hours) through which the
 * person sets a password and then enrols TOTP. Until TOTP is enrolled a
 * user can do nothing but enrol.
 *
 * Signing in is a state machine kept in the sessions table:
 *   user_login (password) or user_setup (setup token + new password)
 *     -> SESSION_TOTP  (TOTP enrolled: a code or a recovery code is next)
 *     -> SESSION_ENROL (not enrolled: session_enrol_begin / _confirm)
 *   session_totp / session_enrol_confirm -> SESSION_FULL
 * Each step up issues a new session token and deletes the old one, so a
 * token seen before the second factor is worthless after it. Only a
 * SESSION_FULL session acts on the API (session_actor).
 *
 * Every function takes a struct users_ctx: the store connection of the
 * calling thread, the ledger, the key that encrypts TOTP secrets, the
 * clock (injectable for tests) and the limits. Every sign-in, failure,
 * lockout, enrolment, recovery-code use and change of a user is appended
 * to the ledger (kinds "auth" and "user"), never with a password, secret
 * or token. Functions are thread-safe given one store per thread.
 *
 * Answers about credentials never say which part was wrong: an unknown
 * login, a wrong password, a disabled user and a locked user all give
 * ERR_UNAUTHORIZED, after the same Argon2id work.
 */
#ifndef MAMORI_USERS_H
#define MAMORI_USERS_H

#include "base/base.h"
#include "base/actor.h"

struct store;
struct ledger;

#define USER_LOGIN_MAX 64
#define USER_STAFF_MAX 32
#define USER_PASSWORD_MIN 12   /* characters (code points) */
#define USER_PASSWORD_MAX 1024 /* bytes */
/* 32 random bytes, base64url without padding, and the NUL. */
#define AUTH_TOKEN_MAX 44
#define USERS_RECOVERY_CODES 10
/* "XXXX-XXXX-XXXX-XXXX" and its NUL. */
#define RECOVERY_TEXT_MAX 20
#define USERS_MFA_KEY_BYTES 32
/* A setup token is valid this long. */
#define USERS_SETUP_SEC (24 * 3600)
/* A session that has done only the password lives at most this long. */
#define SESSION_PARTIAL_SEC 900
/* The cookie that carries the session token. */
#define AUTH_COOKIE "mamori_session"

struct users_policy {
	int64_t idle_sec;	/* a session unused this long ends (default 1800) */
	int64_t max_sec;	/* a session ends this long after sign-in (default 43200) */
	unsigned lock_failures; /* failures in a row that lock a login (default 5) */
	int64_t lock_sec;	/* for this long (default 900) */
};

struct users_ctx {
	struct store *st;
	struct ledger *lg;
	const uint8_t *mfa_key; /* USERS_MFA_KEY_BYTES; needed for TOTP only */
	int64_t now;		/* seconds since the epoch */
	struct users_policy pol;
	const char *ip; /* the client's address for the ledger, or NULL */
};

/* The defaults of struct users_policy. */
void users_policy_default(struct users_policy *p);

enum session_stage { SESSION_TOTP = 1, SESSION_ENROL = 2, SESSION_FULL = 3 };

/* A session just made: its token (for the cookie) and CSRF token. */
struct session_out {
	char token[AUTH_TOKEN_MAX];
	char csrf[AUTH_TOKEN_MAX];
	enum session_stage stage;
	char login[USER_LOGIN_MAX + 1];
};

struct session_info {
	char login[USER_LOGIN_MAX + 1];
	char staff_id[USER_STAFF_MAX + 1];
	unsigned role;
	char dept[ACTOR_DEPT_MAX + 1];
	char csrf[AUTH_TOKEN_MAX];
	enum session_stage stage;
	int64_t created, last_seen, expires; /* expires: the sooner of idle and absolute */
};

struct user_info {
	char login[USER_LOGIN_MAX + 1];
	char staff_id[USER_STAFF_MAX + 1];
	unsigned role;
	char dept[ACTOR_DEPT_MAX + 1];
	bool disabled, has_password, enrolled;
	int64_t locked_until; /* 0 when not locked */
	unsigned recovery_left;
	char created[32], updated[32];
};

/* 0 if login is a valid login name: 1-64 characters of [a-z0-9._-],
 * beginning with a letter or digit; ERR_INVALID otherwise. */
MM_WUR int users_login_check(const char *login);
/*
 * 0 if password may be used by login: at least 12 characters, at most
 * 1024 bytes, valid UTF-8 without control characters, and not the login
 * itself (in any case). ERR_INVALID otherwise, with *why (if not NULL)
 * set to a sentence for people in the thread's language.
 */
MM_WUR int users_password_check(const char *login, const char *password, const char **why);

/*
 * Load DIR's key for TOTP secrets from path (a file of mode 0600 holding
 * 32 random bytes in base64), creating it (mode 0600) if it does not
 * exist. ERR_CORRUPT if the file is malformed, ERR_FORBIDDEN if it can be
 * read by anyone but its owner.
 */
MM_WUR int users_mfa_key_load(const char *path, uint8_t key[static USERS_MFA_KEY_BYTES]);

/*
 * Create user login with role (one bit of ROLES_STAFF), dept (required
 * for ROLE_DEPT_MANAGER, refused otherwise) and staff_id (NULL or an id
 * that exists in the registry's staff table). token_out receives the
 * one-time setup token (valid USERS_SETUP_SEC). ERR_INVALID for a bad
 * login, role, dept or staff id (*why set as above), ERR_EXISTS if the
 * login is taken. Ledger: "user" op "add", with actor.
 */
MM_WUR int user_add(const struct users_ctx *c, const char *login, unsigned role, const char *dept,
		    const char *staff_id, const char *actor, char token_out[static AUTH_TOKEN_MAX],
		    const char **why);
/* Give login a new setup token and remove its password, TOTP, recovery
 * codes, sessions and lock, and enable it. ERR_NOT_FOUND if there is no
 * such user. Ledger: "user" op "reset". */
MM_WUR int user_reset(const struct users_ctx *c, const char *login, const char *actor,
		      char token_out[static AUTH_TOKEN_MAX]);
/* Disable login and end its sessions. ERR_NOT_FOUND. Ledger: "user" op
 * "disable". */
MM_WUR int user_disable(const struct users_ctx *c, const char *login, const char *actor);
/* Call fn for every user, by login; stops at fn's first negative result. */
MM_WUR int user_list(struct store *st, int64_t now, int (*fn)(const struct user_info *u, void *arg),
		     void *arg);
/* The number of users (disabled ones included) into *n. */
MM_WUR int users_count(struct store *st, int64_t *n);

/*
 * Use a setup token: set the user's password (checked as
 * users_password_check; ERR_INVALID with *why) and open a session at
 * SESSION_ENROL. ERR_UNAUTHORIZED if the token is unknown, used, expired
 * or its user disabled. Ledger: "user" op "setup".
 */
MM_WUR int user_setup(const struct users_ctx *c, const char *token, const char *password,
		      struct session_out *out, const char **why);
/*
 * First step of signing in. On success a session at SESSION_TOTP (TOTP
 * enrolled) or SESSION_ENROL. ERR_UNAUTHORIZED for any failure (see the
 * top of this file); the failure counts towards the login's lockout.
 * Ledger: "auth" op "login" with result "password_ok", "fail" or
 * "locked", and op "lockout" when this failure locks the login.
 */
MM_WUR int user_login(const struct users_ctx *c, const char *login, const char *password,
		      struct session_out *out);

/*
 * The session of token, if it exists and has not expired (idle or
 * absolute; SESSION_PARTIAL_SEC for sessions before the second factor):
 * fills out (may be NULL) and records it as used now. ERR_UNAUTHORIZED
 * otherwise (an expired session is deleted).
 */
MM_WUR int session_lookup(const struct users_ctx *c, const char *token, struct session_info *out);
/*
 * The actor of a fully signed-in session ("user:<login>", its role and
 * department), for the API's authentication. When need_csrf (a request
 * that changes state), csrf must equal the session's CSRF token (compared
 * in constant time). ERR_UNAUTHORIZED without a valid SESSION_FULL
 * session, ERR_FORBIDDEN for a missing or wrong CSRF token.
 */
MM_WUR int session_actor(const struct users_ctx *c, const char *token, bool need_csrf,
			 const char *csrf, struct actor *out);
/* Check that csrf is the CSRF token of the session described by si, in
 * constant time. */
bool session_csrf_ok(const struct session_info *si, const char *csrf);
/*
 * Second step: a TOTP code (code not NULL) or a recovery code (recovery
 * not NULL) for a SESSION_TOTP session. On success the session is
 * replaced by a new SESSION_FULL one in out. ERR_UNAUTHORIZED for a wrong
 * or reused code or a session not at that stage; a wrong code counts
 * towards lockout and a lockout ends the session. Ledger: "auth" op
 * "totp" or "recovery" (with the number of codes left), result "ok" or
 * "fail".
 */
MM_WUR int session_totp(const struct users_ctx *c, const char *token, const char *code,
			const char *recovery, struct session_out *out);
/*
 * Begin enrolment for a SESSION_ENROL session: a new TOTP secret, kept
 * (encrypted) as pending until confirmed, replacing any earlier pending
 * one. secret_b32 gets it in base32, login_out the user's login.
 * ERR_UNAUTHORIZED if the session is not at SESSION_ENROL.
 */
MM_WUR int session_enrol_begin(const struct users_ctx *c, const char *token,
			       char secret_b32[static 40],
			       char login_out[static USER_LOGIN_MAX + 1]);
/*
 * Confirm enrolment with a code of the pending secret: it becomes the
 * user's TOTP secret, USERS_RECOVERY_CODES new recovery codes are made
 * (returned once in codes, stored hashed), and the session is replaced
 * by a SESSION_FULL one in out. ERR_UNAUTHORIZED for a wrong code or no
 * pending secret (counts towards lockout). Ledger: "user" op "enrol".
 */
MM_WUR int session_enrol_confirm(const struct users_ctx *c, const char *token, const char *code,
				 char codes[static USERS_RECOVERY_CODES][RECOVERY_TEXT_MAX],
				 struct session_out *out);
/* End a session (no error if there is none). Ledger: "auth" op "logout"
 * when a session ended. */
MM_WUR int session_logout(const struct users_ctx *c, const char *token);
/*
 * Change the password of the fully signed-in session token's user:
 * current must be right (a wrong one counts towards lockout:
 * ERR_UNAUTHORIZED), new_pw must pass users_password_check (ERR_INVALID
 * with *why). The user's other sessions end. Ledger: "user" op
 * "password".
 */
MM_WUR int user_password_change(const struct users_ctx *c, const char *token, const char *current,
				const char *new_pw, const char **why);

#endif
