/*
 * users_int.h - private to users.c, sessions.c and routes_auth.c: the stored user row,
 * tokens, the encryption of TOTP secrets, ledger notes and failure
 * counting.
 */
#ifndef MAMORI_USERS_INT_H
#define MAMORI_USERS_INT_H

#include <sodium.h>

#include "base/base.h"
#include "api/users.h"

#define HASH_HEX_LEN 65 /* SHA-256 hex and its NUL */

struct user_row {
	char login[USER_LOGIN_MAX + 1];
	char staff_id[USER_STAFF_MAX + 1];
	unsigned role;
	char dept[ACTOR_DEPT_MAX + 1];
	char pw_hash[crypto_pwhash_STRBYTES];
	bool has_pw;
	char totp[256];	   /* encrypted secret, "" when not enrolled */
	char pending[256]; /* encrypted secret being enrolled, "" when none */
	int64_t last_step, failures, locked_until;
	bool disabled;
};

/* Run sql with parameters typed by types ('s' const char *, NULL binds
 * NULL; 'i' int64_t), ignoring any rows. */
MM_WUR int udb_exec(struct store *st, const char *sql, const char *types, ...);
/* Load the user login into *u; ERR_NOT_FOUND if there is none. */
MM_WUR int user_row_load(struct store *st, const char *login, struct user_row *u);

/* A new random token (32 bytes, base64url) and the hex SHA-256 of it. */
void auth_token_new(char tok[static AUTH_TOKEN_MAX], char hex[static HASH_HEX_LEN]);
/* The hex SHA-256 of a presented token; false if it is not well formed. */
bool auth_token_hash(const char *tok, char hex[static HASH_HEX_LEN]);

/* Encrypt or decrypt a TOTP secret for login (the login is the associated
 * data, so a secret moved to another row does not decrypt). */
MM_WUR int users_secret_seal(const struct users_ctx *c, const char *login,
			     const uint8_t secret[static 20], char *out, size_t cap);
MM_WUR int users_secret_open(const struct users_ctx *c, const char *login, const char *text,
			     uint8_t secret[static 20]);

/*
 * Append a ledger record of kind ("auth" or "user") by actor with body
 * {"op":op,"login":login,"result":result,"ip":ip<extra>}; login and
 * result may be NULL; extra is ",\"k\":v..." or NULL.
 */
MM_WUR int users_note(const struct users_ctx *c, const char *kind, const char *actor,
		      const char *op, const char *login, const char *result, const char *extra);
/* "user:<login>" into out. */
void users_actor_name(const char *login, char out[static ACTOR_NAME_MAX + 1]);
/*
 * Count a failed credential of an existing user (op names the step for
 * the ledger); at pol.lock_failures in a row the login is locked for
 * pol.lock_sec, its sessions end, and a "lockout" record is written.
 */
MM_WUR int users_fail(const struct users_ctx *c, const char *login, const char *op);
/* Open a new session for login at stage; fills out. */
MM_WUR int users_session_create(const struct users_ctx *c, const char *login,
				enum session_stage stage, struct session_out *out);

#endif
