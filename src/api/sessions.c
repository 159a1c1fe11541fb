/*
 * sessions.c - console sessions, the second factor and enrolment
 * (users.h, docs/console-auth.md).
 *
 * A session is a random 256-bit token in the mamori_session cookie; the
 * store keeps only its SHA-256, with the user, the stage of sign-in, the
 * CSRF token, and the times that bound it: created (absolute timeout)
 * and last_seen (idle timeout). Each step up the stages replaces the
 * token, so a token observed before the second factor (or fixed by an
 * attacker before sign-in) never becomes a signed-in one.
 */
#include <sodium.h>

#include "base/base.h"
#include "base/actor.h"
#include "base/buf.h"
#include "base/timeutil.h"
#include "api/totp.h"
#include "api/users.h"
#include "api/users_int.h"
#include "store/store.h"

int users_session_create(const struct users_ctx *c, const char *login, enum session_stage stage,
			 struct session_out *out)
{
	char hex[HASH_HEX_LEN], unused[HASH_HEX_LEN];
	int r;

	memset(out, 0, sizeof(*out));
	auth_token_new(out->token, hex);
	auth_token_new(out->csrf, unused);
	out->stage = stage;
	snprintf(out->login, sizeof(out->login), "%s", login);
	/* Sessions past either timeout are removed whenever a new one
	 * starts, so the table holds only live sessions and a few stale
	 * ones, without a sweeper thread. */
	if ((r = udb_exec(c->st, "DELETE FROM sessions WHERE last_seen <= ? OR created <= ?", "ii",
			  (int64_t)(c->now - c->pol.idle_sec),
			  (int64_t)(c->now - c->pol.max_sec))) < 0 ||
	    (r = udb_exec(c->st,
			  "INSERT INTO sessions (hash, login, csrf, stage, created, last_seen) "
			  "VALUES (?, ?, ?, ?, ?, ?)",
			  "sssiii", hex, login, out->csrf, (int64_t)stage, c->now, c->now)) < 0)
		memset(out, 0, sizeof(*out));
	return r;
}

int session_lookup(const struct users_ctx *c, const char *token, struct session_info *out)
{
	struct store_stmt *s = NULL;
	struct session_info si;
	char hex[HASH_HEX_LEN];
	int64_t max, stage;
	bool dead;
	int r;

	memset(&si, 0, sizeof(si));
	if (out)
		memset(out, 0, sizeof(*out));
	if (!auth_token_hash(token, hex))
		return ERR_UNAUTHORIZED;
	if ((r = store_prepare(c->st,
			       "SELECT s.login, s.csrf, s.stage, s.created, s.last_seen, u.role, "
			       "u.dept, u.staff_id, u.disabled, u.locked_until "
			       "FROM sessions s JOIN users u ON u.login = s.login WHERE s.hash = ?",
			       &s)) < 0 ||
	    (r = store_bind_str(s, 1, hex)) < 0 || (r = store_step(s)) < 0)
		goto out;
	if (r == 0) {
		r = ERR_UNAUTHORIZED;
		goto out;
	}
	{
		const char *v;
		size_t len;
		if (!(v = store_col_text(s, 0, &len)) || len >= sizeof(si.login))
			goto corrupt;
		memcpy(si.login, v, len);
		if (!(v = store_col_text(s, 1, &len)) || len >= sizeof(si.csrf))
			goto corrupt;
		memcpy(si.csrf, v, len);
		if (role_parse(store_col_text(s, 5, NULL), &si.role) < 0)
			goto corrupt;
		if ((v = store_col_text(s, 6, &len))) {
			if (len >= sizeof(si.dept))
				goto corrupt;
			memcpy(si.dept, v, len);
		}
		if ((v = store_col_text(s, 7, &len))) {
			if (len >= sizeof(si.staff_id))
				goto corrupt;
			memcpy(si.staff_id, v, len);
		}
	}
	stage = store_col_int(s, 2);
	if (stage < SESSION_TOTP || stage > SESSION_FULL)
		goto corrupt;
	si.stage = (enum session_stage)stage;
	si.created = store_col_int(s, 3);
	si.last_seen = store_col_int(s, 4);
	max = c->pol.max_sec;
	if (si.stage != SESSION_FULL && max > SESSION_PARTIAL_SEC)
		max = SESSION_PARTIAL_SEC;
	dead = c->now - si.last_seen >= c->pol.idle_sec || c->now - si.created >= max ||
	       store_col_int(s, 8) != 0 || store_col_int(s, 9) > c->now;
	store_finalize(s);
	s = NULL;
	if (dead) {
		if ((r = udb_exec(c->st, "DELETE FROM sessions WHERE hash = ?", "s", hex)) == 0)
			r = ERR_UNAUTHORIZED;
		goto out;
	}
	if (c->now > si.last_seen) {
		if ((r = udb_exec(c->st, "UPDATE sessions SET last_seen = ? WHERE hash = ?", "is",
				  c->now, hex)) < 0)
			goto out;
		si.last_seen = c->now;
	}
	si.expires = si.last_seen + c->pol.idle_sec;
	if (si.created + max < si.expires)
		si.expires = si.created + max;
	if (out)
		*out = si;
	r = 0;
	goto out;
corrupt:
	r = ERR_CORRUPT;
out:
	store_finalize(s);
	sodium_memzero(&si, sizeof(si));
	return r;
}

bool session_csrf_ok(const struct session_info *si, const char *csrf)
{
	size_t n = strlen(si->csrf);

	if (!csrf || n == 0 || strnlen(csrf, n + 1) != n)
		return false;
	return mem_equal_ct(si->csrf, csrf, n);
}

int session_actor(const struct users_ctx *c, const char *token, bool need_csrf, const char *csrf,
		  struct actor *out)
{
	struct session_info si;
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = session_lookup(c, token, &si)) < 0)
		return r;
	if (si.stage != SESSION_FULL) {
		r = ERR_UNAUTHORIZED;
		goto out;
	}
	if (need_csrf && !session_csrf_ok(&si, csrf)) {
		r = ERR_FORBIDDEN;
		goto out;
	}
	users_actor_name(si.login, out->name);
	out->role = si.role;
	if (si.role == ROLE_DEPT_MANAGER)
		snprintf(out->dept, sizeof(out->dept), "%s", si.dept);
	r = 0;
out:
	sodium_memzero(&si, sizeof(si));
	return r;
}

/* Replace the session hex by a new one at stage for login. */
static int session_promote(const struct users_ctx *c, const char *hex, const char *login,
			   enum session_stage stage, struct session_out *out)
{
	int r;

	if ((r = udb_exec(c->st, "DELETE FROM sessions WHERE hash = ?", "s", hex)) < 0)
		return r;
	return users_session_create(c, login, stage, out);
}

/* The canonical form of a typed recovery code: its 16 base32 characters,
 * upper case, without dashes or spaces. false if it is not one. */
static bool recovery_normalise(const char *in, char out[static 17])
{
	size_t o = 0;

	for (const char *p = in; *p; p++) {
		char ch = *p;
		if (ch == '-' || ch == ' ')
			continue;
		if (ch >= 'a' && ch <= 'z')
			ch = (char)(ch - 'a' + 'A');
		if (!((ch >= 'A' && ch <= 'Z') || (ch >= '2' && ch <= '7')) || o >= 16)
			return false;
		out[o++] = ch;
	}
	out[o] = '\0';
	return o == 16;
}

static void recovery_hash(const char norm[static 17], char hex[static HASH_HEX_LEN])
{
	uint8_t h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, (const unsigned char *)norm, 16);
	sodium_bin2hex(hex, HASH_HEX_LEN, h, sizeof(h));
}

int session_totp(const struct users_ctx *c, const char *token, const char *code,
		 const char *recovery, struct session_out *out)
{
	struct session_info si;
	struct user_row u;
	char hex[HASH_HEX_LEN], actor[ACTOR_NAME_MAX + 1], extra[64];
	uint8_t secret[TOTP_SECRET_BYTES];
	uint64_t step = 0;
	const char *op = code ? "totp" : "recovery";
	bool ok = false;
	int r;

	memset(out, 0, sizeof(*out));
	memset(&u, 0, sizeof(u));
	extra[0] = '\0';
	if ((r = session_lookup(c, token, &si)) < 0)
		goto out;
	if (si.stage != SESSION_TOTP || !auth_token_hash(token, hex) || (!code == !recovery)) {
		r = ERR_UNAUTHORIZED;
		goto out;
	}
	users_actor_name(si.login, actor);
	if ((r = user_row_load(c->st, si.login, &u)) < 0)
		goto out;
	if (code) {
		if (!u.totp[0] || (r = users_secret_open(c, si.login, u.totp, secret)) < 0) {
			r = r < 0 ? r : ERR_UNAUTHORIZED;
			goto out;
		}
		if (totp_check(secret, sizeof(secret), c->now, (uint64_t)u.last_step, code,
			       &step) == 0) {
			/* Spend the step only if no other request spent it
			 * (or a later one) meanwhile. */
			if ((r = udb_exec(c->st,
					  "UPDATE users SET totp_last_step = ? WHERE login = ? AND "
					  "totp_last_step < ?",
					  "isi", (int64_t)step, si.login, (int64_t)step)) < 0)
				goto out;
			ok = store_changes(c->st) == 1;
		}
	} else {
		char norm[17], rh[HASH_HEX_LEN], now[TS_TEXT_MAX];
		if (recovery_normalise(recovery, norm)) {
			recovery_hash(norm, rh);
			ts_format_jst(c->now, now);
			if ((r = udb_exec(c->st,
					  "UPDATE user_recovery SET used = ? WHERE login = ? AND "
					  "hash = ? AND used IS NULL",
					  "sss", now, si.login, rh)) < 0)
				goto out;
			ok = store_changes(c->st) == 1;
		}
		sodium_memzero(norm, sizeof(norm));
		if (ok) {
			struct store_stmt *s = NULL;
			int64_t left = 0;
			if ((r = store_prepare(c->st,
					       "SELECT COUNT(*) FROM user_recovery WHERE login = ? "
					       "AND used IS NULL",
					       &s)) == 0 &&
			    (r = store_bind_str(s, 1, si.login)) == 0 && (r = store_step(s)) == 1)
				left = store_col_int(s, 0);
			store_finalize(s);
			if (r < 0)
				goto out;
			snprintf(extra, sizeof(extra), ",\"codes_left\":%" PRId64, left);
		}
	}
	if (!ok) {
		if ((r = users_fail(c, si.login, op)) < 0)
			goto out;
		r = ERR_UNAUTHORIZED;
		goto out;
	}
	if ((r = udb_exec(c->st, "UPDATE users SET failures = 0 WHERE login = ?", "s", si.login)) <
		0 ||
	    (r = users_note(c, "auth", actor, op, si.login, "ok", extra[0] ? extra : NULL)) < 0 ||
	    (r = session_promote(c, hex, si.login, SESSION_FULL, out)) < 0)
		goto out;
	r = 0;
out:
	sodium_memzero(secret, sizeof(secret));
	sodium_memzero(&u, sizeof(u));
	sodium_memzero(&si, sizeof(si));
	return r;
}

int session_enrol_begin(const struct users_ctx *c, const char *token, char secret_b32[static 40],
			char login_out[static USER_LOGIN_MAX + 1])
{
	struct session_info si;
	uint8_t secret[TOTP_SECRET_BYTES];
	char sealed[256];
	int r;

	secret_b32[0] = '\0';
	login_out[0] = '\0';
	if ((r = session_lookup(c, token, &si)) < 0)
		goto out;
	if (si.stage != SESSION_ENROL) {
		r = ERR_UNAUTHORIZED;
		goto out;
	}
	randombytes_buf(secret, sizeof(secret));
	if ((r = users_secret_seal(c, si.login, secret, sealed, sizeof(sealed))) < 0 ||
	    (r = udb_exec(c->st, "UPDATE users SET totp_pending = ? WHERE login = ?", "ss", sealed,
			  si.login)) < 0 ||
	    (r = base32_encode(secret, sizeof(secret), secret_b32, 40)) < 0)
		goto out;
	snprintf(login_out, USER_LOGIN_MAX + 1, "%s", si.login);
	r = 0;
out:
	if (r < 0)
		sodium_memzero(secret_b32, 40);
	sodium_memzero(secret, sizeof(secret));
	sodium_memzero(&si, sizeof(si));
	return r;
}

int session_enrol_confirm(const struct users_ctx *c, const char *token, const char *code,
			  char codes[static USERS_RECOVERY_CODES][RECOVERY_TEXT_MAX],
			  struct session_out *out)
{
	struct session_info si;
	struct user_row u;
	uint8_t secret[TOTP_SECRET_BYTES];
	char hex[HASH_HEX_LEN], actor[ACTOR_NAME_MAX + 1], sealed[256], now[TS_TEXT_MAX];
	uint64_t step = 0;
	bool in_tx = false;
	int r;

	memset(out, 0, sizeof(*out));
	memset(&u, 0, sizeof(u));
	memset(codes, 0, USERS_RECOVERY_CODES * RECOVERY_TEXT_MAX);
	if ((r = session_lookup(c, token, &si)) < 0)
		goto out;
	if (si.stage != SESSION_ENROL || !auth_token_hash(token, hex)) {
		r = ERR_UNAUTHORIZED;
		goto out;
	}
	if ((r = user_row_load(c->st, si.login, &u)) < 0)
		goto out;
	users_actor_name(si.login, actor);
	if (!u.pending[0] || users_secret_open(c, si.login, u.pending, secret) < 0 ||
	    totp_check(secret, sizeof(secret), c->now, 0, code, &step) < 0) {
		if ((r = users_fail(c, si.login, "enrol")) < 0)
			goto out;
		r = ERR_UNAUTHORIZED;
		goto out;
	}
	/* Sealed again: the pending text is moved, but a fresh nonce costs
	 * nothing and keeps the two columns from ever sharing one. */
	if ((r = users_secret_seal(c, si.login, secret, sealed, sizeof(sealed))) < 0)
		goto out;
	ts_format_jst(c->now, now);
	if ((r = store_begin(c->st)) < 0)
		goto out;
	in_tx = true;
	if ((r = udb_exec(
		 c->st,
		 "UPDATE users SET totp_secret = ?, totp_pending = NULL, totp_last_step = ?, "
		 "failures = 0, updated = ? WHERE login = ?",
		 "siss", sealed, (int64_t)step, now, si.login)) < 0 ||
	    (r = udb_exec(c->st, "DELETE FROM user_recovery WHERE login = ?", "s", si.login)) < 0)
		goto out;
	for (unsigned i = 0; i < USERS_RECOVERY_CODES; i++) {
		uint8_t raw[10];
		char b32[17], rh[HASH_HEX_LEN];
		randombytes_buf(raw, sizeof(raw));
		if ((r = base32_encode(raw, sizeof(raw), b32, sizeof(b32))) < 0)
			goto out;
		recovery_hash(b32, rh);
		snprintf(codes[i], RECOVERY_TEXT_MAX, "%.4s-%.4s-%.4s-%.4s", b32, b32 + 4, b32 + 8,
			 b32 + 12);
		sodium_memzero(raw, sizeof(raw));
		sodium_memzero(b32, sizeof(b32));
		if ((r = udb_exec(c->st, "INSERT INTO user_recovery (login, hash) VALUES (?, ?)",
				  "ss", si.login, rh)) < 0)
			goto out;
	}
	if ((r = users_note(c, "user", actor, "enrol", si.login, NULL, ",\"recovery_codes\":10")) <
		0 ||
	    (r = session_promote(c, hex, si.login, SESSION_FULL, out)) < 0)
		goto out;
	if ((r = store_commit(c->st)) < 0)
		goto out;
	in_tx = false;
	r = 0;
out:
	if (in_tx)
		store_rollback(c->st);
	if (r < 0) {
		sodium_memzero(codes, USERS_RECOVERY_CODES * RECOVERY_TEXT_MAX);
		memset(out, 0, sizeof(*out));
	}
	sodium_memzero(secret, sizeof(secret));
	sodium_memzero(sealed, sizeof(sealed));
	sodium_memzero(&u, sizeof(u));
	sodium_memzero(&si, sizeof(si));
	return r;
}

int session_logout(const struct users_ctx *c, const char *token)
{
	struct store_stmt *s = NULL;
	char hex[HASH_HEX_LEN], login[USER_LOGIN_MAX + 1], actor[ACTOR_NAME_MAX + 1];
	size_t len = 0;
	const char *v;
	int r;

	login[0] = '\0';
	if (!auth_token_hash(token, hex))
		return 0;
	if ((r = store_prepare(c->st, "SELECT login FROM sessions WHERE hash = ?", &s)) < 0 ||
	    (r = store_bind_str(s, 1, hex)) < 0 || (r = store_step(s)) < 0)
		goto out;
	if (r == 1 && (v = store_col_text(s, 0, &len)) && len < sizeof(login)) {
		memcpy(login, v, len);
		login[len] = '\0';
	}
	store_finalize(s);
	s = NULL;
	if (!login[0]) {
		r = 0;
		goto out;
	}
	users_actor_name(login, actor);
	if ((r = udb_exec(c->st, "DELETE FROM sessions WHERE hash = ?", "s", hex)) < 0 ||
	    (r = users_note(c, "auth", actor, "logout", login, NULL, NULL)) < 0)
		goto out;
	r = 0;
out:
	store_finalize(s);
	return r;
}
