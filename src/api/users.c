/*
 * users.c - console users: creation, setup, passwords, lockout, the
 * storage of TOTP secrets, and the ledger notes of all of it (users.h,
 * docs/console-auth.md, docs/internals/console-auth.md).
 *
 * Passwords are kept only as Argon2id strings from crypto_pwhash_str with
 * at least libsodium's INTERACTIVE limits; a hash made with other limits
 * is replaced at the next successful sign-in (crypto_pwhash_str_needs_
 * rehash). An unknown login is checked against a dummy hash with the same
 * limits, so the time of an answer does not tell whether a login exists.
 */
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "base/base.h"
#include "base/actor.h"
#include "base/buf.h"
#include "base/fileio.h"
#include "base/i18n.h"
#include "base/timeutil.h"
#include "api/api_int.h"
#include "api/totp.h"
#include "api/users.h"
#include "api/users_int.h"
#include "ledger/ledger.h"
#include "store/store.h"

#define PW_OPS crypto_pwhash_OPSLIMIT_INTERACTIVE
#define PW_MEM crypto_pwhash_MEMLIMIT_INTERACTIVE
#define SEAL_PREFIX "x1:"

void users_policy_default(struct users_policy *p)
{
	p->idle_sec = 1800;
	p->max_sec = 12 * 3600;
	p->lock_failures = 5;
	p->lock_sec = 900;
}

/* ---- rules ---- */

int users_login_check(const char *login)
{
	size_t n = login ? strlen(login) : 0;

	if (n < 1 || n > USER_LOGIN_MAX)
		return ERR_INVALID;
	for (size_t i = 0; i < n; i++) {
		char ch = login[i];
		bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
		if (!alnum && (i == 0 || (ch != '.' && ch != '_' && ch != '-')))
			return ERR_INVALID;
	}
	return 0;
}

int users_password_check(const char *login, const char *pw, const char **why)
{
	size_t n, chars = 0;
	const char *w = NULL;

	if (!pw) {
		w = T("パスワードがありません", "the password is missing");
		goto bad;
	}
	n = strnlen(pw, USER_PASSWORD_MAX + 1);
	if (n > USER_PASSWORD_MAX) {
		w = T("パスワードは 1024 バイト以内にしてください",
		      "the password must be at most 1024 bytes");
		goto bad;
	}
	if (!api_utf8_valid(pw, n, NULL)) {
		w = T("パスワードが正しい UTF-8 ではありません", "the password is not valid UTF-8");
		goto bad;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char b = (unsigned char)pw[i];
		if (b < 0x20 || b == 0x7f) {
			w = T("パスワードに制御文字は使えません",
			      "the password may not contain control characters");
			goto bad;
		}
		if ((b & 0xc0) != 0x80)
			chars++;
	}
	if (chars < USER_PASSWORD_MIN) {
		w = T("パスワードは 12 文字以上にしてください",
		      "the password must be at least 12 characters long");
		goto bad;
	}
	if (login && strlen(login) == n) {
		bool same = true;
		for (size_t i = 0; i < n; i++) {
			char a = pw[i];
			if (a >= 'A' && a <= 'Z')
				a = (char)(a - 'A' + 'a');
			if (a != login[i])
				same = false;
		}
		if (same) {
			w = T("パスワードをログイン名と同じにはできません",
			      "the password may not be the login name");
			goto bad;
		}
	}
	return 0;
bad:
	if (why)
		*why = w;
	return ERR_INVALID;
}

/* ---- the key of TOTP secrets ---- */

int users_mfa_key_load(const char *path, uint8_t key[static USERS_MFA_KEY_BYTES])
{
	struct buf text;
	struct stat sb;
	size_t len = 0;
	char b64[64];
	int r;

	buf_init(&text, 4096);
	r = file_read_all(path, 4096, &text);
	if (r == ERR_NOT_FOUND) {
		randombytes_buf(key, USERS_MFA_KEY_BYTES);
		sodium_bin2base64(b64, sizeof(b64), key, USERS_MFA_KEY_BYTES,
				  sodium_base64_VARIANT_ORIGINAL);
		buf_reset(&text);
		if ((r = buf_printf(&text, "mamori-mfa-key-v1\n%s\n", b64)) < 0)
			goto out;
		/* Written atomically, so two processes racing to create it
		 * leave one whole key; the loser re-reads the winner's below. */
		if ((r = file_write_atomic(path, text.data, text.len, 0600)) < 0)
			goto out;
		buf_reset(&text);
		r = file_read_all(path, 4096, &text);
	}
	if (r < 0)
		goto out;
	if (stat(path, &sb) < 0) {
		r = ERR_IO;
		goto out;
	}
	if ((sb.st_mode & 077) != 0) {
		r = ERR_FORBIDDEN;
		goto out;
	}
	{
		const char *hdr = "mamori-mfa-key-v1\n", *p;
		size_t l;
		if (text.len < strlen(hdr) || memcmp(text.data, hdr, strlen(hdr)) != 0) {
			r = ERR_CORRUPT;
			goto out;
		}
		p = text.data + strlen(hdr);
		l = strcspn(p, "\n");
		if (sodium_base642bin(key, USERS_MFA_KEY_BYTES, p, l, NULL, &len, NULL,
				      sodium_base64_VARIANT_ORIGINAL) != 0 ||
		    len != USERS_MFA_KEY_BYTES) {
			r = ERR_CORRUPT;
			goto out;
		}
	}
	r = 0;
out:
	if (text.data)
		mem_wipe(text.data, text.cap);
	buf_release(&text);
	sodium_memzero(b64, sizeof(b64));
	return r;
}

int users_secret_seal(const struct users_ctx *c, const char *login, const uint8_t secret[static 20],
		      char *out, size_t cap)
{
	uint8_t blob[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + 20 +
		     crypto_aead_xchacha20poly1305_ietf_ABYTES];
	unsigned long long clen = 0;
	size_t need =
	    strlen(SEAL_PREFIX) +
	    sodium_base64_ENCODED_LEN(sizeof(blob), sodium_base64_VARIANT_URLSAFE_NO_PADDING);

	if (!c->mfa_key)
		return ERR_INVALID;
	if (cap < need)
		return ERR_TOO_LARGE;
	randombytes_buf(blob, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
	crypto_aead_xchacha20poly1305_ietf_encrypt(
	    blob + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, &clen, secret, 20,
	    (const unsigned char *)login, strlen(login), NULL, blob, c->mfa_key);
	memcpy(out, SEAL_PREFIX, strlen(SEAL_PREFIX));
	sodium_bin2base64(out + strlen(SEAL_PREFIX), cap - strlen(SEAL_PREFIX), blob, sizeof(blob),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return 0;
}

int users_secret_open(const struct users_ctx *c, const char *login, const char *text,
		      uint8_t secret[static 20])
{
	uint8_t blob[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + 20 +
		     crypto_aead_xchacha20poly1305_ietf_ABYTES];
	unsigned long long mlen = 0;
	size_t len = 0;
	const char *b;

	if (!c->mfa_key)
		return ERR_INVALID;
	if (!text || strncmp(text, SEAL_PREFIX, strlen(SEAL_PREFIX)) != 0)
		return ERR_CORRUPT;
	b = text + strlen(SEAL_PREFIX);
	if (sodium_base642bin(blob, sizeof(blob), b, strlen(b), NULL, &len, NULL,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    len != sizeof(blob))
		return ERR_CORRUPT;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(
		secret, &mlen, NULL, blob + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
		len - crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, (const unsigned char *)login,
		strlen(login), blob, c->mfa_key) != 0 ||
	    mlen != 20)
		return ERR_CRYPTO;
	return 0;
}

/* ---- tokens ---- */

void auth_token_new(char tok[static AUTH_TOKEN_MAX], char hex[static HASH_HEX_LEN])
{
	uint8_t raw[32];

	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(tok, AUTH_TOKEN_MAX, raw, sizeof(raw),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof(raw));
	if (!auth_token_hash(tok, hex))
		BUG("new token not well formed");
}

bool auth_token_hash(const char *tok, char hex[static HASH_HEX_LEN])
{
	uint8_t h[crypto_hash_sha256_BYTES];
	size_t n;

	if (!tok)
		return false;
	n = strnlen(tok, AUTH_TOKEN_MAX);
	if (n != AUTH_TOKEN_MAX - 1)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = tok[i];
		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		      (ch >= '0' && ch <= '9') || ch == '-' || ch == '_'))
			return false;
	}
	crypto_hash_sha256(h, (const unsigned char *)tok, n);
	sodium_bin2hex(hex, HASH_HEX_LEN, h, sizeof(h));
	return true;
}

/* ---- the store ---- */

int udb_exec(struct store *st, const char *sql, const char *types, ...)
{
	struct store_stmt *s = NULL;
	va_list ap;
	int r;

	if ((r = store_prepare(st, sql, &s)) < 0)
		return r;
	va_start(ap, types);
	for (int i = 0; types[i] && r >= 0; i++) {
		if (types[i] == 's')
			r = store_bind_str(s, i + 1, va_arg(ap, const char *));
		else
			r = store_bind_int(s, i + 1, va_arg(ap, int64_t));
	}
	va_end(ap);
	while (r >= 0 && (r = store_step(s)) == 1)
		;
	store_finalize(s);
	return r < 0 ? r : 0;
}

/* Copy text column i into dst (cap bytes); false if it does not fit. */
static bool col_copy(struct store_stmt *s, int i, char *dst, size_t cap)
{
	size_t len = 0;
	const char *v = store_col_text(s, i, &len);

	dst[0] = '\0';
	if (!v)
		return true;
	if (len >= cap)
		return false;
	memcpy(dst, v, len);
	dst[len] = '\0';
	return true;
}

int user_row_load(struct store *st, const char *login, struct user_row *u)
{
	struct store_stmt *s = NULL;
	int r;

	memset(u, 0, sizeof(*u));
	if ((r = store_prepare(
		 st,
		 "SELECT login, staff_id, role, dept, pw_hash, totp_secret, totp_pending, "
		 "totp_last_step, failures, locked_until, disabled FROM users "
		 "WHERE login = ?",
		 &s)) < 0 ||
	    (r = store_bind_str(s, 1, login)) < 0 || (r = store_step(s)) < 0)
		goto out;
	if (r == 0) {
		r = ERR_NOT_FOUND;
		goto out;
	}
	if (!col_copy(s, 0, u->login, sizeof(u->login)) ||
	    !col_copy(s, 1, u->staff_id, sizeof(u->staff_id)) ||
	    role_parse(store_col_text(s, 2, NULL), &u->role) < 0 ||
	    !col_copy(s, 3, u->dept, sizeof(u->dept)) ||
	    !col_copy(s, 4, u->pw_hash, sizeof(u->pw_hash)) ||
	    !col_copy(s, 5, u->totp, sizeof(u->totp)) ||
	    !col_copy(s, 6, u->pending, sizeof(u->pending))) {
		r = ERR_CORRUPT;
		goto out;
	}
	u->has_pw = u->pw_hash[0] != '\0';
	u->last_step = store_col_int(s, 7);
	u->failures = store_col_int(s, 8);
	u->locked_until = store_col_int(s, 9);
	u->disabled = store_col_int(s, 10) != 0;
	r = 0;
out:
	store_finalize(s);
	return r;
}

/* ---- the ledger ---- */

void users_actor_name(const char *login, char out[static ACTOR_NAME_MAX + 1])
{
	snprintf(out, ACTOR_NAME_MAX + 1, "user:%s", login);
}

int users_note(const struct users_ctx *c, const char *kind, const char *actor, const char *op,
	       const char *login, const char *result, const char *extra)
{
	struct buf body;
	int r;

	buf_init(&body, 8192);
	if ((r = buf_printf(&body, "{\"op\":\"%s\"", op)) < 0)
		goto out;
	if (login && ((r = buf_puts(&body, ",\"login\":")) < 0 ||
		      (r = buf_json_str(&body, login, strnlen(login, USER_LOGIN_MAX))) < 0))
		goto out;
	if (result && (r = buf_printf(&body, ",\"result\":\"%s\"", result)) < 0)
		goto out;
	if (c->ip && *c->ip &&
	    ((r = buf_puts(&body, ",\"ip\":")) < 0 ||
	     (r = buf_json_str(&body, c->ip, strnlen(c->ip, 64))) < 0))
		goto out;
	if (extra && (r = buf_puts(&body, extra)) < 0)
		goto out;
	if ((r = buf_putc(&body, '}')) < 0)
		goto out;
	{
		struct audit_rec rec = {kind, c->now, actor, body.data, body.len};
		r = ledger_append(c->lg, &rec, NULL);
	}
out:
	buf_release(&body);
	return r;
}

int users_fail(const struct users_ctx *c, const char *login, const char *op)
{
	struct store_stmt *s = NULL;
	char actor[ACTOR_NAME_MAX + 1], extra[96];
	int64_t fails = 0;
	int r;

	users_actor_name(login, actor);
	/* The increment is one statement, so failures of concurrent requests
	 * are all counted. */
	if ((r = udb_exec(c->st, "UPDATE users SET failures = failures + 1 WHERE login = ?", "s",
			  login)) < 0)
		goto out;
	if ((r = store_prepare(c->st, "SELECT failures FROM users WHERE login = ?", &s)) < 0 ||
	    (r = store_bind_str(s, 1, login)) < 0 || (r = store_step(s)) < 0)
		goto out;
	if (r == 1)
		fails = store_col_int(s, 0);
	store_finalize(s);
	s = NULL;
	snprintf(extra, sizeof(extra), ",\"failures\":%" PRId64, fails);
	if ((r = users_note(c, "auth", actor, op, login, "fail", extra)) < 0)
		goto out;
	if (c->pol.lock_failures > 0 && fails >= (int64_t)c->pol.lock_failures) {
		if ((r = udb_exec(c->st,
				  "UPDATE users SET failures = 0, locked_until = ? WHERE login = ?",
				  "is", (int64_t)(c->now + c->pol.lock_sec), login)) < 0 ||
		    (r = udb_exec(c->st, "DELETE FROM sessions WHERE login = ?", "s", login)) < 0)
			goto out;
		snprintf(extra, sizeof(extra), ",\"failures\":%" PRId64 ",\"seconds\":%" PRId64,
			 fails, c->pol.lock_sec);
		if ((r = users_note(c, "auth", actor, "lockout", login, NULL, extra)) < 0)
			goto out;
	}
	r = 0;
out:
	store_finalize(s);
	return r;
}

/* ---- passwords ---- */

static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;
static char dummy_hash[crypto_pwhash_STRBYTES];
/* Where the dummy check's result goes, so it is not optimised away. */
static volatile int dummy_sink;

static void dummy_make(void)
{
	uint8_t pw[16];

	randombytes_buf(pw, sizeof(pw));
	if (crypto_pwhash_str(dummy_hash, (const char *)pw, sizeof(pw), PW_OPS, PW_MEM) != 0)
		dummy_hash[0] = '\0';
}

/* Spend the same work as checking a real password, for users that do not
 * exist or may not sign in. */
static void pw_verify_dummy(const char *pw)
{
	pthread_once(&dummy_once, dummy_make);
	if (dummy_hash[0])
		dummy_sink = crypto_pwhash_str_verify(dummy_hash, pw, strlen(pw));
}

static int pw_hash(const char *pw, char out[static crypto_pwhash_STRBYTES])
{
	if (crypto_pwhash_str(out, pw, strlen(pw), PW_OPS, PW_MEM) != 0)
		return ERR_NOMEM; /* the only failure: the memory limit */
	return 0;
}

/* ---- users ---- */

static bool dept_ok(const char *d)
{
	size_t n = d ? strlen(d) : 0;

	if (n < 1 || n > ACTOR_DEPT_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)d[i] < 0x21 || (unsigned char)d[i] > 0x7e)
			return false;
	return true;
}

/* 1 if table has a row with id, 0 if not. */
static int row_exists(struct store *st, const char *sql, const char *id)
{
	struct store_stmt *s = NULL;
	int r;

	if ((r = store_prepare(st, sql, &s)) < 0 || (r = store_bind_str(s, 1, id)) < 0)
		goto out;
	r = store_step(s);
out:
	store_finalize(s);
	return r;
}

int user_add(const struct users_ctx *c, const char *login, unsigned role, const char *dept,
	     const char *staff_id, const char *actor, char token_out[static AUTH_TOKEN_MAX],
	     const char **why)
{
	char hex[HASH_HEX_LEN], now[TS_TEXT_MAX], tok[AUTH_TOKEN_MAX];
	bool in_tx = false;
	int r;

	token_out[0] = '\0';
	if (dept && !*dept)
		dept = NULL;
	if (staff_id && !*staff_id)
		staff_id = NULL;
	if (users_login_check(login) < 0) {
		if (why)
			*why =
			    T("ログイン名は英小文字・数字で始まり、英小文字・数字・「.」「_」「-」"
			      "からなる 64 文字以内にしてください",
			      "a login is 1-64 characters of a-z, 0-9, '.', '_' and '-', "
			      "beginning with a letter or digit");
		return ERR_INVALID;
	}
	if (!(role & ROLES_STAFF) || (role & (role - 1)) != 0) {
		if (why)
			*why =
			    T("役割は admin, ciso, csirt, dept_manager, auditor, personnel "
			      "のいずれかにしてください",
			      "the role must be one of admin, ciso, csirt, dept_manager, auditor, "
			      "personnel");
		return ERR_INVALID;
	}
	if ((role == ROLE_DEPT_MANAGER) != (dept != NULL) || (dept && !dept_ok(dept))) {
		if (why)
			*why = T("部署は dept_manager にだけ、必ず指定します",
				 "a department is given for dept_manager, and only for it");
		return ERR_INVALID;
	}
	if (staff_id && (strlen(staff_id) > USER_STAFF_MAX ||
			 row_exists(c->st, "SELECT 1 FROM staff WHERE id = ?", staff_id) != 1)) {
		if (why)
			*why =
			    T("その職員 ID は登録されていません", "no member of staff has that id");
		return ERR_INVALID;
	}
	if (dept && row_exists(c->st, "SELECT 1 FROM departments WHERE id = ?", dept) != 1) {
		if (why)
			*why = T("その部署 ID は登録されていません", "no department has that id");
		return ERR_INVALID;
	}
	auth_token_new(tok, hex);
	ts_format_jst(c->now, now);
	if ((r = store_begin(c->st)) < 0)
		goto out;
	in_tx = true;
	if ((r = row_exists(c->st, "SELECT 1 FROM users WHERE login = ?", login)) < 0)
		goto out;
	if (r == 1) {
		r = ERR_EXISTS;
		if (why)
			*why = T("そのログイン名は既に使われています", "that login is taken");
		goto out;
	}
	if ((r = udb_exec(
		 c->st,
		 "INSERT INTO users (login, staff_id, role, dept, setup_hash, setup_expires, "
		 "created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
		 "sssssiss", login, staff_id, role_name(role), dept, hex,
		 (int64_t)(c->now + USERS_SETUP_SEC), now, now)) < 0)
		goto out;
	{
		struct buf e;
		buf_init(&e, 512);
		if ((r = buf_printf(&e, ",\"role\":\"%s\"", role_name(role))) < 0 ||
		    (dept && ((r = buf_puts(&e, ",\"dept\":")) < 0 ||
			      (r = buf_json_str(&e, dept, strlen(dept))) < 0)) ||
		    (staff_id && ((r = buf_puts(&e, ",\"staff_id\":")) < 0 ||
				  (r = buf_json_str(&e, staff_id, strlen(staff_id))) < 0)) ||
		    (r = users_note(c, "user", actor, "add", login, NULL, e.data)) < 0) {
			buf_release(&e);
			goto out;
		}
		buf_release(&e);
	}
	if ((r = store_commit(c->st)) < 0)
		goto out;
	in_tx = false;
	memcpy(token_out, tok, AUTH_TOKEN_MAX);
	r = 0;
out:
	if (in_tx)
		store_rollback(c->st);
	sodium_memzero(tok, sizeof(tok));
	return r;
}

int user_reset(const struct users_ctx *c, const char *login, const char *actor,
	       char token_out[static AUTH_TOKEN_MAX])
{
	char hex[HASH_HEX_LEN], now[TS_TEXT_MAX], tok[AUTH_TOKEN_MAX];
	bool in_tx = false;
	int r;

	token_out[0] = '\0';
	if (users_login_check(login) < 0)
		return ERR_NOT_FOUND;
	auth_token_new(tok, hex);
	ts_format_jst(c->now, now);
	if ((r = store_begin(c->st)) < 0)
		goto out;
	in_tx = true;
	if ((r = row_exists(c->st, "SELECT 1 FROM users WHERE login = ?", login)) < 0)
		goto out;
	if (r == 0) {
		r = ERR_NOT_FOUND;
		goto out;
	}
	if ((r = udb_exec(
		 c->st,
		 "UPDATE users SET pw_hash = NULL, totp_secret = NULL, totp_pending = NULL, "
		 "totp_last_step = 0, failures = 0, locked_until = 0, disabled = 0, "
		 "setup_hash = ?, setup_expires = ?, updated = ? WHERE login = ?",
		 "siss", hex, (int64_t)(c->now + USERS_SETUP_SEC), now, login)) < 0 ||
	    (r = udb_exec(c->st, "DELETE FROM user_recovery WHERE login = ?", "s", login)) < 0 ||
	    (r = udb_exec(c->st, "DELETE FROM sessions WHERE login = ?", "s", login)) < 0 ||
	    (r = users_note(c, "user", actor, "reset", login, NULL, NULL)) < 0)
		goto out;
	if ((r = store_commit(c->st)) < 0)
		goto out;
	in_tx = false;
	memcpy(token_out, tok, AUTH_TOKEN_MAX);
	r = 0;
out:
	if (in_tx)
		store_rollback(c->st);
	sodium_memzero(tok, sizeof(tok));
	return r;
}

int user_disable(const struct users_ctx *c, const char *login, const char *actor)
{
	char now[TS_TEXT_MAX];
	bool in_tx = false;
	int r;

	if (users_login_check(login) < 0)
		return ERR_NOT_FOUND;
	ts_format_jst(c->now, now);
	if ((r = store_begin(c->st)) < 0)
		goto out;
	in_tx = true;
	if ((r = row_exists(c->st, "SELECT 1 FROM users WHERE login = ?", login)) < 0)
		goto out;
	if (r == 0) {
		r = ERR_NOT_FOUND;
		goto out;
	}
	if ((r = udb_exec(c->st,
			  "UPDATE users SET disabled = 1, setup_hash = NULL, updated = ? "
			  "WHERE login = ?",
			  "ss", now, login)) < 0 ||
	    (r = udb_exec(c->st, "DELETE FROM sessions WHERE login = ?", "s", login)) < 0 ||
	    (r = users_note(c, "user", actor, "disable", login, NULL, NULL)) < 0)
		goto out;
	if ((r = store_commit(c->st)) < 0)
		goto out;
	in_tx = false;
	r = 0;
out:
	if (in_tx)
		store_rollback(c->st);
	return r;
}

int user_list(struct store *st, int64_t now, int (*fn)(const struct user_info *u, void *arg),
	      void *arg)
{
	struct store_stmt *s = NULL;
	struct user_info u;
	int r;

	if ((r = store_prepare(
		 st,
		 "SELECT u.login, u.staff_id, u.role, u.dept, u.disabled, u.pw_hash IS NOT NULL, "
		 "u.totp_secret IS NOT NULL, u.locked_until, u.created, u.updated, "
		 "(SELECT COUNT(*) FROM user_recovery k WHERE k.login = u.login AND k.used IS "
		 "NULL) "
		 "FROM users u ORDER BY u.login",
		 &s)) < 0)
		goto out;
	while ((r = store_step(s)) == 1) {
		memset(&u, 0, sizeof(u));
		if (!col_copy(s, 0, u.login, sizeof(u.login)) ||
		    !col_copy(s, 1, u.staff_id, sizeof(u.staff_id)) ||
		    role_parse(store_col_text(s, 2, NULL), &u.role) < 0 ||
		    !col_copy(s, 3, u.dept, sizeof(u.dept)) ||
		    !col_copy(s, 8, u.created, sizeof(u.created)) ||
		    !col_copy(s, 9, u.updated, sizeof(u.updated))) {
			r = ERR_CORRUPT;
			goto out;
		}
		u.disabled = store_col_int(s, 4) != 0;
		u.has_password = store_col_int(s, 5) != 0;
		u.enrolled = store_col_int(s, 6) != 0;
		u.locked_until = store_col_int(s, 7) > now ? store_col_int(s, 7) : 0;
		u.recovery_left = (unsigned)store_col_int(s, 10);
		if ((r = fn(&u, arg)) < 0)
			goto out;
	}
out:
	store_finalize(s);
	return r;
}

int users_count(struct store *st, int64_t *n)
{
	struct store_stmt *s = NULL;
	int r;

	*n = 0;
	if ((r = store_prepare(st, "SELECT COUNT(*) FROM users", &s)) < 0 ||
	    (r = store_step(s)) < 0)
		goto out;
	*n = store_col_int(s, 0);
	r = 0;
out:
	store_finalize(s);
	return r;
}

int user_setup(const struct users_ctx *c, const char *token, const char *password,
	       struct session_out *out, const char **why)
{
	struct store_stmt *s = NULL;
	char hex[HASH_HEX_LEN], login[USER_LOGIN_MAX + 1], now[TS_TEXT_MAX],
	    pwh[crypto_pwhash_STRBYTES];
	int64_t expires = 0;
	bool disabled = true;
	int r;

	memset(out, 0, sizeof(*out));
	login[0] = '\0';
	if (!auth_token_hash(token, hex))
		return ERR_UNAUTHORIZED;
	if ((r = store_prepare(
		 c->st, "SELECT login, setup_expires, disabled FROM users WHERE setup_hash = ?",
		 &s)) < 0 ||
	    (r = store_bind_str(s, 1, hex)) < 0 || (r = store_step(s)) < 0)
		goto out;
	if (r == 1) {
		if (!col_copy(s, 0, login, sizeof(login))) {
			r = ERR_CORRUPT;
			goto out;
		}
		expires = store_col_int(s, 1);
		disabled = store_col_int(s, 2) != 0;
	}
	store_finalize(s);
	s = NULL;
	if (!login[0] || disabled || c->now >= expires) {
		if ((r = users_note(c, "auth", "anonymous", "setup", login[0] ? login : NULL,
				    "fail", NULL)) == 0)
			r = ERR_UNAUTHORIZED;
		goto out;
	}
	if ((r = users_password_check(login, password, why)) < 0)
		goto out;
	if ((r = pw_hash(password, pwh)) < 0)
		goto out;
	ts_format_jst(c->now, now);
	{
		char actor[ACTOR_NAME_MAX + 1];
		bool in_tx = false;
		users_actor_name(login, actor);
		if ((r = store_begin(c->st)) < 0)
			goto out;
		in_tx = true;
		/* The token is spent in the same statement that checks it
		 * is still there, so two racing uses cannot both succeed. */
		if ((r = udb_exec(
			 c->st,
			 "UPDATE users SET pw_hash = ?, setup_hash = NULL, setup_expires = 0, "
			 "totp_secret = NULL, totp_pending = NULL, failures = 0, "
			 "locked_until = 0, updated = ? WHERE login = ? AND setup_hash = ?",
			 "ssss", pwh, now, login, hex)) < 0)
			goto tx_out;
		if (store_changes(c->st) != 1) {
			r = ERR_UNAUTHORIZED;
			goto tx_out;
		}
		if ((r = users_note(c, "user", actor, "setup", login, NULL, NULL)) < 0 ||
		    (r = users_session_create(c, login, SESSION_ENROL, out)) < 0)
			goto tx_out;
		r = store_commit(c->st);
		in_tx = r < 0;
	tx_out:
		if (in_tx)
			store_rollback(c->st);
		if (r < 0)
			memset(out, 0, sizeof(*out));
	}
out:
	store_finalize(s);
	sodium_memzero(pwh, sizeof(pwh));
	return r;
}

int user_login(const struct users_ctx *c, const char *login, const char *password,
	       struct session_out *out)
{
	struct user_row u;
	char actor[ACTOR_NAME_MAX + 1];
	bool ok;
	int r;

	memset(out, 0, sizeof(*out));
	if (!password || strnlen(password, USER_PASSWORD_MAX + 1) > USER_PASSWORD_MAX)
		password = "";
	if (users_login_check(login) < 0) {
		pw_verify_dummy(password);
		if ((r = users_note(c, "auth", "anonymous", "login", NULL, "fail", NULL)) < 0)
			return r;
		return ERR_UNAUTHORIZED;
	}
	r = user_row_load(c->st, login, &u);
	if (r == ERR_NOT_FOUND || (r == 0 && (u.disabled || !u.has_pw))) {
		pw_verify_dummy(password);
		if ((r = users_note(c, "auth", "anonymous", "login", login, "fail", NULL)) == 0)
			r = ERR_UNAUTHORIZED;
		goto out;
	}
	if (r < 0)
		goto out;
	users_actor_name(login, actor);
	if (u.locked_until > c->now) {
		pw_verify_dummy(password);
		if ((r = users_note(c, "auth", actor, "login", login, "locked", NULL)) == 0)
			r = ERR_UNAUTHORIZED;
		goto out;
	}
	ok = crypto_pwhash_str_verify(u.pw_hash, password, strlen(password)) == 0;
	if (!ok) {
		if ((r = users_fail(c, login, "login")) < 0)
			goto out;
		r = ERR_UNAUTHORIZED;
		goto out;
	}
	/* Hashes made with weaker (or different) limits are replaced now,
	 * while the password is at hand. */
	if (crypto_pwhash_str_needs_rehash(u.pw_hash, PW_OPS, PW_MEM) != 0) {
		char pwh[crypto_pwhash_STRBYTES];
		if (pw_hash(password, pwh) == 0)
			r = udb_exec(c->st, "UPDATE users SET pw_hash = ? WHERE login = ?", "ss",
				     pwh, login);
		sodium_memzero(pwh, sizeof(pwh));
		if (r < 0)
			goto out;
	}
	if ((r = udb_exec(c->st, "UPDATE users SET failures = 0 WHERE login = ?", "s", login)) <
		0 ||
	    (r = users_note(c, "auth", actor, "login", login, "password_ok", NULL)) < 0)
		goto out;
	r = users_session_create(c, login, u.totp[0] ? SESSION_TOTP : SESSION_ENROL, out);
out:
	sodium_memzero(&u, sizeof(u));
	return r;
}

int user_password_change(const struct users_ctx *c, const char *token, const char *current,
			 const char *new_pw, const char **why)
{
	struct session_info si;
	struct user_row u;
	char hex[HASH_HEX_LEN], actor[ACTOR_NAME_MAX + 1], now[TS_TEXT_MAX],
	    pwh[crypto_pwhash_STRBYTES];
	int r;

	memset(&u, 0, sizeof(u));
	pwh[0] = '\0';
	if ((r = session_lookup(c, token, &si)) < 0)
		goto out;
	if (si.stage != SESSION_FULL || !auth_token_hash(token, hex)) {
		r = ERR_UNAUTHORIZED;
		goto out;
	}
	if ((r = user_row_load(c->st, si.login, &u)) < 0)
		goto out;
	if (!current || strnlen(current, USER_PASSWORD_MAX + 1) > USER_PASSWORD_MAX ||
	    crypto_pwhash_str_verify(u.pw_hash, current, strlen(current)) != 0) {
		if ((r = users_fail(c, si.login, "password")) < 0)
			goto out;
		r = ERR_UNAUTHORIZED;
		goto out;
	}
	if ((r = users_password_check(si.login, new_pw, why)) < 0)
		goto out;
	if ((r = pw_hash(new_pw, pwh)) < 0)
		goto out;
	users_actor_name(si.login, actor);
	ts_format_jst(c->now, now);
	if ((r = udb_exec(c->st,
			  "UPDATE users SET pw_hash = ?, failures = 0, updated = ? WHERE login = ?",
			  "sss", pwh, now, si.login)) < 0 ||
	    (r = udb_exec(c->st, "DELETE FROM sessions WHERE login = ? AND hash <> ?", "ss",
			  si.login, hex)) < 0 ||
	    (r = users_note(c, "user", actor, "password", si.login, NULL, NULL)) < 0)
		goto out;
	r = 0;
out:
	sodium_memzero(&u, sizeof(u));
	sodium_memzero(pwh, sizeof(pwh));
	return r;
}
