/*
 * Unit tests for console users and sessions (src/api/users.c,
 * sessions.c): password rules and hashing, setup tokens, the TOTP
 * enrolment and second factor, recovery codes, lockout, session timeouts
 * with an injected clock, CSRF tokens, disable/reset, password change,
 * the key of TOTP secrets, and what reaches the ledger and the database.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "fx_tree.h"
#include "base/base.h"
#include "base/buf.h"
#include "base/fileio.h"
#include "api/totp.h"
#include "api/users.h"
#include "api/users_int.h"
#include "base/diag.h"
#include "instance/instance_int.h"
#include "ledger/ledger.h"
#include "store/store.h"

#define T0 1800000000 /* 2027-01-15: the injected clock starts here */
#define PW "a long passphrase 1"
#define PW2 "another passphrase 2"

struct fx {
	char dir[256];
	char db[320];
	char ledger_dir[300];
	struct store *st;
	struct ledger *lg;
	uint8_t key[USERS_MFA_KEY_BYTES];
	struct users_ctx c;
};

static int setup(void **state)
{
	struct fx *f = xcalloc(1, sizeof(*f));
	const char *tmp = getenv("TMPDIR");
	char err[256];

	if (sodium_init() < 0)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "%s/mamori-users-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->db, sizeof(f->db), "%s/mamori.db", f->dir);
	snprintf(f->ledger_dir, sizeof(f->ledger_dir), "%s/ledger", f->dir);
	if (store_open(f->db, true, &f->st, err, sizeof(err)) < 0 || store_migrate(f->st) < 0)
		return -1;
	if (mkdir(f->ledger_dir, 0700) < 0 || ledger_open(f->ledger_dir, LEDGER_WRITE, &f->lg) < 0)
		return -1;
	if (store_exec(f->st, "INSERT INTO departments (id, name, parent, systems) VALUES "
			      "('D01', '総務課', NULL, '[]')") < 0 ||
	    store_exec(f->st, "INSERT INTO staff (id, name, surname, dept, employment, roles, "
			      "zones, start_date) VALUES ('S00001', '佐藤 花子', '佐藤', 'D01', "
			      "'regular', '[]', '[]', '2020-04-01')") < 0)
		return -1;
	randombytes_buf(f->key, sizeof(f->key));
	f->c.st = f->st;
	f->c.lg = f->lg;
	f->c.mfa_key = f->key;
	f->c.now = T0;
	f->c.ip = "192.0.2.7";
	users_policy_default(&f->c.pol);
	*state = f;
	return 0;
}


static int teardown(void **state)
{
	struct fx *f = *state;
	ledger_close(f->lg);
	store_close(f->st);
	fx_rm_tree(f->dir);
	free(f);
	return 0;
}

/* ---- helpers ---- */

/* How many ledger records contain needle. */
static int ledger_count(struct fx *f, const char *needle)
{
	struct buf b;
	int n = 0;

	buf_init(&b, LEDGER_BODY_MAX * 2);
	for (uint64_t i = 0; i < ledger_size(f->lg); i++) {
		assert_int_equal(ledger_read(f->lg, i, &b), 0);
		if (strstr(b.data, needle))
			n++;
	}
	buf_release(&b);
	return n;
}

/* True if the bytes of the database file contain needle. */
static bool db_contains(struct fx *f, const char *needle)
{
	struct buf b;
	bool found = false;
	size_t n = strlen(needle);

	buf_init(&b, (size_t)64 << 20);
	assert_int_equal(file_read_all(f->db, (size_t)64 << 20, &b), 0);
	for (size_t i = 0; i + n <= b.len && !found; i++)
		found = memcmp(b.data + i, needle, n) == 0;
	buf_release(&b);
	return found;
}

static void code_for(const char *secret_b32, int64_t now, char out[7])
{
	uint8_t k[64];
	size_t n = 0;

	assert_int_equal(base32_decode(secret_b32, k, sizeof(k), &n), 0);
	assert_int_equal(n, TOTP_SECRET_BYTES);
	snprintf(out, 7, "%06" PRIu32, hotp(k, n, totp_step(now), 6));
}

/* A user login, set up and enrolled; its secret and recovery codes. */
struct enrolled {
	char secret[40];
	char codes[USERS_RECOVERY_CODES][RECOVERY_TEXT_MAX];
	struct session_out full;
};

static void make_user(struct fx *f, const char *login, unsigned role, const char *dept,
		      struct enrolled *e)
{
	char tok[AUTH_TOKEN_MAX], lg[USER_LOGIN_MAX + 1], code[7];
	struct session_out o;
	const char *why = NULL;

	assert_int_equal(user_add(&f->c, login, role, dept, NULL, "cli:test", tok, &why), 0);
	assert_int_equal(user_setup(&f->c, tok, PW, &o, &why), 0);
	assert_int_equal(o.stage, SESSION_ENROL);
	assert_int_equal(session_enrol_begin(&f->c, o.token, e->secret, lg), 0);
	assert_string_equal(lg, login);
	code_for(e->secret, f->c.now, code);
	assert_int_equal(session_enrol_confirm(&f->c, o.token, code, e->codes, &e->full), 0);
	assert_int_equal(e->full.stage, SESSION_FULL);
}

/* ---- tests ---- */

static void test_rules(void **state)
{
	const char *why = NULL;
	char big[1100];
	(void)state;

	assert_int_equal(users_login_check("sato.hanako"), 0);
	assert_int_equal(users_login_check("a"), 0);
	assert_int_equal(users_login_check("9-x_y"), 0);
	assert_int_equal(users_login_check(""), ERR_INVALID);
	assert_int_equal(users_login_check(".sato"), ERR_INVALID);
	assert_int_equal(users_login_check("Sato"), ERR_INVALID);
	assert_int_equal(users_login_check("sato hanako"), ERR_INVALID);
	assert_int_equal(users_login_check("さとう"), ERR_INVALID);
	memset(big, 'a', 65);
	big[65] = '\0';
	assert_int_equal(users_login_check(big), ERR_INVALID);
	big[64] = '\0';
	assert_int_equal(users_login_check(big), 0);

	assert_int_equal(users_password_check("sato", "123456789012", NULL), 0);
	assert_int_equal(users_password_check("sato", "12345678901", &why), ERR_INVALID);
	assert_non_null(why);
	/* Twelve characters, 36 bytes: characters count, not bytes. */
	assert_int_equal(users_password_check("sato", "情報セキュリティ対策基準", NULL), 0);
	/* Eleven characters of three bytes each are 33 bytes but too short. */
	assert_int_equal(users_password_check("sato", "情報セキュリティ対策基", NULL), ERR_INVALID);
	assert_int_equal(users_password_check("sato.hanako1", "sato.hanako1", NULL), ERR_INVALID);
	assert_int_equal(users_password_check("sato.hanako1", "SATO.Hanako1", NULL), ERR_INVALID);
	assert_int_equal(users_password_check("sato.hanako1", "sato.hanako12", NULL), 0);
	assert_int_equal(users_password_check("sato", "tab\there is bad", NULL), ERR_INVALID);
	assert_int_equal(users_password_check("sato", "bad utf8 \xff\xfe here", NULL), ERR_INVALID);
	assert_int_equal(users_password_check("sato", NULL, NULL), ERR_INVALID);
	memset(big, 'x', 1024);
	big[1024] = '\0';
	assert_int_equal(users_password_check("sato", big, NULL), 0);
	big[1024] = 'x';
	big[1025] = '\0';
	assert_int_equal(users_password_check("sato", big, NULL), ERR_INVALID);
}

static void test_add_and_hash(void **state)
{
	struct fx *f = *state;
	char tok[AUTH_TOKEN_MAX], tok2[AUTH_TOKEN_MAX];
	struct session_out o;
	struct store_stmt *s = NULL;
	const char *why = NULL;
	struct enrolled e;

	/* Bad roles, departments and staff ids. */
	assert_int_equal(user_add(&f->c, "x1", ROLE_SYSTEM, NULL, NULL, "cli:t", tok, &why),
			 ERR_INVALID);
	assert_int_equal(user_add(&f->c, "x1", ROLE_WITNESS, NULL, NULL, "cli:t", tok, &why),
			 ERR_INVALID);
	assert_int_equal(
	    user_add(&f->c, "x1", ROLE_ADMIN | ROLE_CISO, NULL, NULL, "cli:t", tok, &why),
	    ERR_INVALID);
	assert_int_equal(user_add(&f->c, "x1", ROLE_DEPT_MANAGER, NULL, NULL, "cli:t", tok, &why),
			 ERR_INVALID);
	assert_int_equal(user_add(&f->c, "x1", ROLE_DEPT_MANAGER, "D99", NULL, "cli:t", tok, &why),
			 ERR_INVALID);
	assert_int_equal(user_add(&f->c, "x1", ROLE_CSIRT, "D01", NULL, "cli:t", tok, &why),
			 ERR_INVALID);
	assert_int_equal(user_add(&f->c, "x1", ROLE_CSIRT, NULL, "S99999", "cli:t", tok, &why),
			 ERR_INVALID);
	assert_int_equal(user_add(&f->c, "X1", ROLE_CSIRT, NULL, NULL, "cli:t", tok, &why),
			 ERR_INVALID);
	assert_string_equal(tok, "");

	assert_int_equal(
	    user_add(&f->c, "sato", ROLE_DEPT_MANAGER, "D01", "S00001", "cli:t", tok, &why), 0);
	assert_int_equal(strlen(tok), AUTH_TOKEN_MAX - 1);
	assert_int_equal(user_add(&f->c, "sato", ROLE_AUDITOR, NULL, NULL, "cli:t", tok2, &why),
			 ERR_EXISTS);
	/* No password yet: signing in fails like a wrong password. */
	assert_int_equal(user_login(&f->c, "sato", "", &o), ERR_UNAUTHORIZED);
	/* The password rules apply at setup, and a refused password leaves
	 * the token usable. */
	assert_int_equal(user_setup(&f->c, tok, "short", &o, &why), ERR_INVALID);
	assert_int_equal(user_setup(&f->c, tok, "sato", &o, &why), ERR_INVALID);
	assert_int_equal(user_setup(&f->c, tok, PW, &o, &why), 0);
	assert_int_equal(o.stage, SESSION_ENROL);
	/* The token is spent. */
	assert_int_equal(user_setup(&f->c, tok, PW2, &o, &why), ERR_UNAUTHORIZED);
	assert_int_equal(user_setup(&f->c, "not a token", PW2, &o, &why), ERR_UNAUTHORIZED);

	/* Only an Argon2id string is stored, with at least the interactive
	 * limits; the password itself is nowhere in the file. */
	assert_int_equal(store_prepare(f->st, "SELECT pw_hash FROM users WHERE login = 'sato'", &s),
			 0);
	assert_int_equal(store_step(s), 1);
	{
		const char *h = store_col_text(s, 0, NULL);
		assert_non_null(h);
		assert_memory_equal(h, "$argon2id$", 10);
		assert_null(strstr(h, PW));
		assert_int_equal(crypto_pwhash_str_needs_rehash(h,
								crypto_pwhash_OPSLIMIT_INTERACTIVE,
								crypto_pwhash_MEMLIMIT_INTERACTIVE),
				 0);
		assert_int_equal(crypto_pwhash_str_verify(h, PW, strlen(PW)), 0);
	}
	store_finalize(s);
	assert_false(db_contains(f, PW));
	assert_false(db_contains(f, tok));

	/* The TOTP secret and the recovery codes are not stored as such. */
	make_user(f, "suzuki", ROLE_AUDITOR, NULL, &e);
	assert_false(db_contains(f, e.secret));
	for (int i = 0; i < USERS_RECOVERY_CODES; i++) {
		char plain[17];
		snprintf(plain, sizeof(plain), "%.4s%.4s%.4s%.4s", e.codes[i], e.codes[i] + 5,
			 e.codes[i] + 10, e.codes[i] + 15);
		assert_false(db_contains(f, e.codes[i]));
		assert_false(db_contains(f, plain));
		/* Every code differs from every other. */
		for (int k = 0; k < i; k++)
			assert_string_not_equal(e.codes[i], e.codes[k]);
	}
	assert_false(db_contains(f, e.full.token));
	/* ... nor in the ledger. */
	assert_int_equal(ledger_count(f, PW), 0);
	assert_int_equal(ledger_count(f, e.secret), 0);
	assert_int_equal(ledger_count(f, e.codes[0]), 0);
	assert_int_equal(ledger_count(f, e.full.token), 0);
	assert_int_equal(ledger_count(f, tok), 0);
	assert_int_equal(ledger_count(f, "\"op\":\"add\",\"login\":\"sato\""), 1);
	assert_int_equal(ledger_count(f, "\"op\":\"setup\",\"login\":\"sato\""), 1);
	assert_int_equal(ledger_count(f, "\"op\":\"enrol\",\"login\":\"suzuki\""), 1);
}

static void test_setup_expiry(void **state)
{
	struct fx *f = *state;
	char tok[AUTH_TOKEN_MAX];
	struct session_out o;
	const char *why = NULL;

	assert_int_equal(user_add(&f->c, "late", ROLE_CSIRT, NULL, NULL, "cli:t", tok, &why), 0);
	f->c.now = T0 + USERS_SETUP_SEC;
	assert_int_equal(user_setup(&f->c, tok, PW, &o, &why), ERR_UNAUTHORIZED);
	f->c.now = T0;
	assert_int_equal(user_add(&f->c, "early", ROLE_CSIRT, NULL, NULL, "cli:t", tok, &why), 0);
	f->c.now = T0 + USERS_SETUP_SEC - 1;
	assert_int_equal(user_setup(&f->c, tok, PW, &o, &why), 0);
}

static void test_signin_totp(void **state)
{
	struct fx *f = *state;
	struct enrolled e;
	struct session_out o, full;
	struct session_info si;
	struct actor a;
	char code[7], lg[USER_LOGIN_MAX + 1], sec[40];

	make_user(f, "tanaka", ROLE_DEPT_MANAGER, "D01", &e);
	assert_int_equal(session_actor(&f->c, e.full.token, false, NULL, &a), 0);
	assert_string_equal(a.name, "user:tanaka");
	assert_int_equal(a.role, ROLE_DEPT_MANAGER);
	assert_string_equal(a.dept, "D01");

	/* Unknown login and wrong password: the same answer. */
	assert_int_equal(user_login(&f->c, "nobody", PW, &o), ERR_UNAUTHORIZED);
	assert_int_equal(user_login(&f->c, "tanaka", PW2, &o), ERR_UNAUTHORIZED);
	assert_int_equal(user_login(&f->c, "Bad Login!", PW, &o), ERR_UNAUTHORIZED);
	assert_int_equal(user_login(&f->c, "tanaka", PW, &o), 0);
	assert_int_equal(o.stage, SESSION_TOTP);
	/* Half signed in is not signed in, and cannot enrol again. */
	assert_int_equal(session_actor(&f->c, o.token, false, NULL, &a), ERR_UNAUTHORIZED);
	assert_int_equal(session_enrol_begin(&f->c, o.token, sec, lg), ERR_UNAUTHORIZED);
	/* The code of the enrolment step was spent: the same step again fails
	 * (a replay), the next step succeeds. */
	code_for(e.secret, f->c.now, code);
	assert_int_equal(session_totp(&f->c, o.token, code, NULL, &full), ERR_UNAUTHORIZED);
	f->c.now += TOTP_PERIOD;
	code_for(e.secret, f->c.now, code);
	assert_int_equal(session_totp(&f->c, o.token, code, NULL, &full), 0);
	assert_int_equal(full.stage, SESSION_FULL);
	/* The old token is gone: a new one was issued. */
	assert_string_not_equal(full.token, o.token);
	assert_int_equal(session_lookup(&f->c, o.token, NULL), ERR_UNAUTHORIZED);
	assert_int_equal(session_lookup(&f->c, full.token, &si), 0);
	assert_int_equal(si.stage, SESSION_FULL);
	assert_string_equal(si.login, "tanaka");
	/* CSRF: required for changes, compared exactly. */
	assert_int_equal(session_actor(&f->c, full.token, true, NULL, &a), ERR_FORBIDDEN);
	assert_int_equal(session_actor(&f->c, full.token, true, "", &a), ERR_FORBIDDEN);
	assert_int_equal(session_actor(&f->c, full.token, true, e.full.csrf, &a), ERR_FORBIDDEN);
	{
		char wrong[AUTH_TOKEN_MAX];
		memcpy(wrong, full.csrf, sizeof(wrong));
		wrong[5] = wrong[5] == 'A' ? 'B' : 'A';
		assert_int_equal(session_actor(&f->c, full.token, true, wrong, &a), ERR_FORBIDDEN);
		wrong[AUTH_TOKEN_MAX - 2] = '\0';
		assert_int_equal(session_actor(&f->c, full.token, true, wrong, &a), ERR_FORBIDDEN);
	}
	assert_int_equal(session_actor(&f->c, full.token, true, full.csrf, &a), 0);
	/* Logout ends it. */
	assert_int_equal(session_logout(&f->c, full.token), 0);
	assert_int_equal(session_actor(&f->c, full.token, false, NULL, &a), ERR_UNAUTHORIZED);
	assert_int_equal(ledger_count(f, "\"op\":\"logout\",\"login\":\"tanaka\""), 1);
	assert_int_equal(ledger_count(f, "\"op\":\"totp\",\"login\":\"tanaka\",\"result\":\"ok\""),
			 1);
	assert_int_equal(
	    ledger_count(f, "\"op\":\"totp\",\"login\":\"tanaka\",\"result\":\"fail\""), 1);
	assert_int_equal(
	    ledger_count(f, "\"op\":\"login\",\"login\":\"nobody\",\"result\":\"fail\""), 1);
	assert_int_equal(ledger_count(f, "\"ip\":\"192.0.2.7\"") > 3, 1);
}

static void test_recovery(void **state)
{
	struct fx *f = *state;
	struct enrolled e;
	struct session_out o, full;
	char lower[RECOVERY_TEXT_MAX];

	make_user(f, "ito", ROLE_CISO, NULL, &e);
	assert_int_equal(user_login(&f->c, "ito", PW, &o), 0);
	/* Lower case and without dashes is the same code. */
	snprintf(lower, sizeof(lower), "%s", e.codes[3]);
	for (char *p = lower; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	assert_int_equal(session_totp(&f->c, o.token, NULL, lower, &full), 0);
	assert_int_equal(full.stage, SESSION_FULL);
	assert_int_equal(ledger_count(f, "\"op\":\"recovery\",\"login\":\"ito\",\"result\":\"ok\""),
			 1);
	assert_int_equal(ledger_count(f, "\"codes_left\":9"), 1);
	/* Once only. */
	assert_int_equal(user_login(&f->c, "ito", PW, &o), 0);
	assert_int_equal(session_totp(&f->c, o.token, NULL, e.codes[3], &full), ERR_UNAUTHORIZED);
	assert_int_equal(session_totp(&f->c, o.token, NULL, "AAAA-BBBB-CCCC-DDDD", &full),
			 ERR_UNAUTHORIZED);
	assert_int_equal(session_totp(&f->c, o.token, NULL, "not a code", &full), ERR_UNAUTHORIZED);
	assert_int_equal(session_totp(&f->c, o.token, NULL, e.codes[4], &full), 0);
	assert_int_equal(ledger_count(f, "\"codes_left\":8"), 1);
}

static void test_lockout(void **state)
{
	struct fx *f = *state;
	struct enrolled e;
	struct session_out o;

	make_user(f, "kato", ROLE_CSIRT, NULL, &e);
	/* Four failures, then a success, resets the count. */
	for (int i = 0; i < 4; i++)
		assert_int_equal(user_login(&f->c, "kato", PW2, &o), ERR_UNAUTHORIZED);
	assert_int_equal(user_login(&f->c, "kato", PW, &o), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(user_login(&f->c, "kato", PW2, &o), ERR_UNAUTHORIZED);
	/* Still open after 4. */
	assert_int_equal(ledger_count(f, "\"op\":\"lockout\""), 0);
	assert_int_equal(user_login(&f->c, "kato", PW2, &o), ERR_UNAUTHORIZED);
	assert_int_equal(ledger_count(f, "\"op\":\"lockout\",\"login\":\"kato\""), 1);
	/* Locked: the right password is refused, and the full session of
	 * the enrolment ended. */
	assert_int_equal(session_lookup(&f->c, e.full.token, NULL), ERR_UNAUTHORIZED);
	assert_int_equal(user_login(&f->c, "kato", PW, &o), ERR_UNAUTHORIZED);
	assert_int_equal(
	    ledger_count(f, "\"op\":\"login\",\"login\":\"kato\",\"result\":\"locked\""), 1);
	f->c.now += f->c.pol.lock_sec - 1;
	assert_int_equal(user_login(&f->c, "kato", PW, &o), ERR_UNAUTHORIZED);
	f->c.now += 1;
	assert_int_equal(user_login(&f->c, "kato", PW, &o), 0);
	/* Wrong TOTP codes count too, and a lockout ends the session. */
	for (int i = 0; i < 4; i++) {
		struct session_out full;
		assert_int_equal(session_totp(&f->c, o.token, "000000", NULL, &full),
				 ERR_UNAUTHORIZED);
	}
	{
		struct session_out full;
		char code[7];
		assert_int_equal(session_totp(&f->c, o.token, "000001", NULL, &full),
				 ERR_UNAUTHORIZED);
		f->c.now += TOTP_PERIOD;
		code_for(e.secret, f->c.now, code);
		assert_int_equal(session_totp(&f->c, o.token, code, NULL, &full), ERR_UNAUTHORIZED);
	}
	assert_int_equal(ledger_count(f, "\"op\":\"lockout\",\"login\":\"kato\""), 2);
	/* The lock is per login: others sign in. */
	assert_int_equal(user_login(&f->c, "nobody", PW, &o), ERR_UNAUTHORIZED);
	/* A configurable threshold. */
	f->c.now += f->c.pol.lock_sec;
	f->c.pol.lock_failures = 2;
	assert_int_equal(user_login(&f->c, "kato", PW2, &o), ERR_UNAUTHORIZED);
	assert_int_equal(user_login(&f->c, "kato", PW2, &o), ERR_UNAUTHORIZED);
	assert_int_equal(user_login(&f->c, "kato", PW, &o), ERR_UNAUTHORIZED);
	assert_int_equal(ledger_count(f, "\"op\":\"lockout\",\"login\":\"kato\""), 3);
}

static void test_session_expiry(void **state)
{
	struct fx *f = *state;
	struct enrolled e;
	struct session_out o, full;
	struct session_info si;
	char code[7];

	f->c.pol.idle_sec = 1800;
	f->c.pol.max_sec = 12 * 3600;
	make_user(f, "mori", ROLE_AUDITOR, NULL, &e);
	/* Idle: 1799 s of silence is fine and renews; 1800 s ends it. */
	f->c.now += 1799;
	assert_int_equal(session_lookup(&f->c, e.full.token, &si), 0);
	assert_int_equal(si.last_seen, f->c.now);
	f->c.now += 1799;
	assert_int_equal(session_lookup(&f->c, e.full.token, &si), 0);
	f->c.now += 1800;
	assert_int_equal(session_lookup(&f->c, e.full.token, &si), ERR_UNAUTHORIZED);
	/* Gone for good, even if asked at an earlier time. */
	f->c.now -= 1800;
	assert_int_equal(session_lookup(&f->c, e.full.token, &si), ERR_UNAUTHORIZED);

	/* Absolute: used every 20 minutes, it still ends after 12 hours. */
	assert_int_equal(user_login(&f->c, "mori", PW, &o), 0);
	f->c.now += TOTP_PERIOD;
	code_for(e.secret, f->c.now, code);
	assert_int_equal(session_totp(&f->c, o.token, code, NULL, &full), 0);
	{
		int64_t start = f->c.now;
		while (f->c.now + 1200 < start + 12 * 3600) {
			f->c.now += 1200;
			assert_int_equal(session_lookup(&f->c, full.token, &si), 0);
			assert_true(si.expires <= start + 12 * 3600);
		}
		f->c.now = start + 12 * 3600 - 1;
		assert_int_equal(session_lookup(&f->c, full.token, &si), 0);
		f->c.now = start + 12 * 3600;
		assert_int_equal(session_lookup(&f->c, full.token, &si), ERR_UNAUTHORIZED);
	}
	/* Half a sign-in lasts SESSION_PARTIAL_SEC at most. */
	assert_int_equal(user_login(&f->c, "mori", PW, &o), 0);
	f->c.now += 600;
	assert_int_equal(session_lookup(&f->c, o.token, &si), 0);
	f->c.now += SESSION_PARTIAL_SEC - 600;
	assert_int_equal(session_lookup(&f->c, o.token, &si), ERR_UNAUTHORIZED);
}

static void test_disable_reset(void **state)
{
	struct fx *f = *state;
	struct enrolled e;
	struct session_out o;
	char tok[AUTH_TOKEN_MAX], sec[40], lg[USER_LOGIN_MAX + 1];
	const char *why;

	make_user(f, "yamada", ROLE_PERSONNEL, NULL, &e);
	assert_int_equal(user_disable(&f->c, "yamada", "cli:t"), 0);
	assert_int_equal(session_lookup(&f->c, e.full.token, NULL), ERR_UNAUTHORIZED);
	assert_int_equal(user_login(&f->c, "yamada", PW, &o), ERR_UNAUTHORIZED);
	assert_int_equal(user_disable(&f->c, "nobody", "cli:t"), ERR_NOT_FOUND);
	assert_int_equal(user_reset(&f->c, "nobody", "cli:t", tok), ERR_NOT_FOUND);
	/* Reset: enabled again, with nothing of the old credentials. */
	assert_int_equal(user_reset(&f->c, "yamada", "cli:t", tok), 0);
	assert_int_equal(user_login(&f->c, "yamada", PW, &o), ERR_UNAUTHORIZED);
	assert_int_equal(user_setup(&f->c, tok, PW2, &o, &why), 0);
	assert_int_equal(o.stage, SESSION_ENROL);
	assert_int_equal(session_enrol_begin(&f->c, o.token, sec, lg), 0);
	assert_string_not_equal(sec, e.secret);
	assert_int_equal(ledger_count(f, "\"op\":\"disable\",\"login\":\"yamada\""), 1);
	assert_int_equal(ledger_count(f, "\"op\":\"reset\",\"login\":\"yamada\""), 1);
	/* An enrolment that is never confirmed leaves the user unenrolled:
	 * the next sign-in must enrol again. */
	assert_int_equal(session_logout(&f->c, o.token), 0);
	assert_int_equal(user_login(&f->c, "yamada", PW2, &o), 0);
	assert_int_equal(o.stage, SESSION_ENROL);
	/* A wrong enrolment code fails and counts. */
	{
		char codes[USERS_RECOVERY_CODES][RECOVERY_TEXT_MAX];
		struct session_out full;
		assert_int_equal(session_enrol_confirm(&f->c, o.token, "123456", codes, &full),
				 ERR_UNAUTHORIZED);
		assert_int_equal(
		    ledger_count(f, "\"op\":\"enrol\",\"login\":\"yamada\",\"result\":\"fail\""),
		    1);
	}
}

static void test_password_change(void **state)
{
	struct fx *f = *state;
	struct enrolled e;
	struct session_out o;
	const char *why = NULL;

	make_user(f, "abe", ROLE_ADMIN, NULL, &e);
	/* Another session of the same user, half signed in. */
	assert_int_equal(user_login(&f->c, "abe", PW, &o), 0);
	assert_int_equal(user_password_change(&f->c, e.full.token, PW2, PW2, &why),
			 ERR_UNAUTHORIZED);
	assert_int_equal(user_password_change(&f->c, e.full.token, PW, "abe", &why), ERR_INVALID);
	assert_int_equal(user_password_change(&f->c, e.full.token, PW, "short", &why), ERR_INVALID);
	/* A half-signed-in session may not change it. */
	assert_int_equal(user_password_change(&f->c, o.token, PW, PW2, &why), ERR_UNAUTHORIZED);
	assert_int_equal(user_password_change(&f->c, e.full.token, PW, PW2, &why), 0);
	/* The other session ended; this one lives on. */
	assert_int_equal(session_lookup(&f->c, o.token, NULL), ERR_UNAUTHORIZED);
	assert_int_equal(session_lookup(&f->c, e.full.token, NULL), 0);
	assert_int_equal(user_login(&f->c, "abe", PW, &o), ERR_UNAUTHORIZED);
	assert_int_equal(user_login(&f->c, "abe", PW2, &o), 0);
	assert_int_equal(ledger_count(f, "\"op\":\"password\",\"login\":\"abe\""), 2);
	assert_int_equal(ledger_count(f, PW2), 0);
}

/* A hash made with weaker limits is replaced at the next sign-in. */
static void test_rehash(void **state)
{
	struct fx *f = *state;
	struct enrolled e;
	struct session_out o;
	struct store_stmt *s = NULL;
	char weak[crypto_pwhash_STRBYTES], sql[512];

	make_user(f, "old", ROLE_CSIRT, NULL, &e);
	assert_int_equal(crypto_pwhash_str(weak, PW, strlen(PW), crypto_pwhash_OPSLIMIT_MIN,
					   crypto_pwhash_MEMLIMIT_MIN),
			 0);
	snprintf(sql, sizeof(sql), "UPDATE users SET pw_hash = '%s' WHERE login = 'old'", weak);
	assert_int_equal(store_exec(f->st, sql), 0);
	assert_int_equal(user_login(&f->c, "old", PW2, &o), ERR_UNAUTHORIZED);
	assert_int_equal(user_login(&f->c, "old", PW, &o), 0);
	assert_int_equal(store_prepare(f->st, "SELECT pw_hash FROM users WHERE login = 'old'", &s),
			 0);
	assert_int_equal(store_step(s), 1);
	assert_string_not_equal(store_col_text(s, 0, NULL), weak);
	assert_int_equal(crypto_pwhash_str_needs_rehash(store_col_text(s, 0, NULL),
							crypto_pwhash_OPSLIMIT_INTERACTIVE,
							crypto_pwhash_MEMLIMIT_INTERACTIVE),
			 0);
	assert_int_equal(crypto_pwhash_str_verify(store_col_text(s, 0, NULL), PW, strlen(PW)), 0);
	store_finalize(s);
	assert_int_equal(user_login(&f->c, "old", PW, &o), 0);
}

struct collected {
	int n;
	struct user_info u[4];
};

static int collect(const struct user_info *u, void *arg)
{
	struct collected *got = arg;
	if (got->n >= 4)
		return ERR_TOO_LARGE;
	got->u[got->n++] = *u;
	return 0;
}

static void test_list(void **state)
{
	struct fx *f = *state;
	struct enrolled e;
	struct collected got = {0};
	char tok[AUTH_TOKEN_MAX];
	const char *why;
	int64_t n = -1;

	assert_int_equal(users_count(f->st, &n), 0);
	assert_int_equal(n, 0);
	make_user(f, "b-user", ROLE_CSIRT, NULL, &e);
	assert_int_equal(
	    user_add(&f->c, "a-user", ROLE_DEPT_MANAGER, "D01", "S00001", "cli:t", tok, &why), 0);
	assert_int_equal(users_count(f->st, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(user_list(f->st, f->c.now, collect, &got), 0);
	assert_int_equal(got.n, 2);
	assert_string_equal(got.u[0].login, "a-user");
	assert_string_equal(got.u[0].dept, "D01");
	assert_string_equal(got.u[0].staff_id, "S00001");
	assert_int_equal(got.u[0].role, ROLE_DEPT_MANAGER);
	assert_false(got.u[0].has_password);
	assert_false(got.u[0].enrolled);
	assert_string_equal(got.u[1].login, "b-user");
	assert_true(got.u[1].has_password);
	assert_true(got.u[1].enrolled);
	assert_int_equal(got.u[1].recovery_left, 10);
	assert_int_equal(got.u[1].role, ROLE_CSIRT);
	assert_int_equal(got.u[1].locked_until, 0);
}

static void test_mfa_key(void **state)
{
	struct fx *f = *state;
	uint8_t k1[USERS_MFA_KEY_BYTES], k2[USERS_MFA_KEY_BYTES];
	char path[400];
	struct stat sb;

	snprintf(path, sizeof(path), "%s/mfa.key", f->dir);
	assert_int_equal(users_mfa_key_load(path, k1), 0);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(users_mfa_key_load(path, k2), 0);
	assert_memory_equal(k1, k2, sizeof(k1));
	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(users_mfa_key_load(path, k2), ERR_FORBIDDEN);
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(file_write_atomic(path, "mamori-mfa-key-v1\nshort\n", 24, 0600), 0);
	assert_int_equal(users_mfa_key_load(path, k2), ERR_CORRUPT);
	assert_int_equal(file_write_atomic(path, "something else\n", 15, 0600), 0);
	assert_int_equal(users_mfa_key_load(path, k2), ERR_CORRUPT);

	/* A secret sealed for one login does not open for another, nor
	 * under another key; it opens for its own. */
	{
		struct users_ctx c2 = f->c;
		uint8_t sec[20], out[20], other[USERS_MFA_KEY_BYTES];
		char sealed[256];

		randombytes_buf(sec, sizeof(sec));
		assert_int_equal(users_secret_seal(&f->c, "one", sec, sealed, sizeof(sealed)), 0);
		assert_int_equal(users_secret_open(&f->c, "one", sealed, out), 0);
		assert_memory_equal(sec, out, sizeof(sec));
		assert_int_equal(users_secret_open(&f->c, "two", sealed, out), ERR_CRYPTO);
		randombytes_buf(other, sizeof(other));
		c2.mfa_key = other;
		assert_int_equal(users_secret_open(&c2, "one", sealed, out), ERR_CRYPTO);
		assert_int_equal(users_secret_open(&f->c, "one", "x1:AAAA", out), ERR_CORRUPT);
		assert_int_equal(users_secret_open(&f->c, "one", "plain", out), ERR_CORRUPT);
	}
}

/* The sign-in keys of mamori.conf: defaults, values, ranges. */
static void test_config_keys(void **state)
{
	struct instance_config cfg;
	struct diag d;
	const char *ok = "session_idle = 600\nsession_max = 3600\nlogin_lock_failures = 3\n"
			 "login_lock_seconds = 60\nlogin_ip_failures = 7\nlogin_ip_window = 120\n";
	(void)state;

	diag_init(&d, 10);
	assert_int_equal(instance_config_parse("t.conf", "", 0, &cfg, &d), 0);
	assert_int_equal(cfg.session_idle, 1800);
	assert_int_equal(cfg.session_max, 43200);
	assert_int_equal(cfg.login_lock_failures, 5);
	assert_int_equal(cfg.login_lock_seconds, 900);
	assert_int_equal(cfg.login_ip_failures, 20);
	assert_int_equal(cfg.login_ip_window, 600);
	assert_int_equal(instance_config_parse("t.conf", ok, strlen(ok), &cfg, &d), 0);
	assert_int_equal(cfg.session_idle, 600);
	assert_int_equal(cfg.session_max, 3600);
	assert_int_equal(cfg.login_lock_failures, 3);
	assert_int_equal(cfg.login_lock_seconds, 60);
	assert_int_equal(cfg.login_ip_failures, 7);
	assert_int_equal(cfg.login_ip_window, 120);
	diag_release(&d);
	diag_init(&d, 10);
	assert_int_equal(instance_config_parse("t.conf", "session_idle = 59\n", 18, &cfg, &d),
			 ERR_INVALID);
	diag_release(&d);
	diag_init(&d, 10);
	assert_int_equal(instance_config_parse("t.conf", "login_lock_failures = 0\n", 24, &cfg, &d),
			 ERR_INVALID);
	diag_release(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rules),
	    cmocka_unit_test(test_config_keys),
	    cmocka_unit_test_setup_teardown(test_add_and_hash, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_setup_expiry, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_signin_totp, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_recovery, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_lockout, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_session_expiry, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_disable_reset, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_password_change, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_list, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rehash, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_mfa_key, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
