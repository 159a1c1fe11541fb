/*
 * cmd_user.c - `mamori user add|list|disable|reset DIR [LOGIN]`: the
 * people of the web console (docs/console-auth.md).
 *
 * Nothing here asks for a password: add and reset print a one-time link
 * (valid 24 hours) through which the person sets a password and enrols
 * TOTP, so that no administrator ever knows another person's password.
 *
 * The one exception is provisioning for automation (a demo, a test rig, a
 * deployment script): `add ... --password-stdin --totp-secret-out FILE`
 * sets the password read from standard input and enrols a TOTP secret at
 * once, through the same functions the setup link uses, and writes the
 * secret to FILE (mode 0600) for the script that made the user. Neither
 * the password nor the secret is ever on the command line or printed.
 */
#include "base/base.h"

#include <sodium.h>
#include <sys/stat.h>

#include "base/actor.h"
#include "base/buf.h"
#include "base/diag.h"
#include "base/fileio.h"
#include "base/i18n.h"
#include "base/timeutil.h"
#include "api/api.h"
#include "api/api_int.h"
#include "api/totp.h"
#include "api/users.h"
#include "cli/cli.h"
#include "instance/instance.h"

static void user_usage(FILE *f)
{
	fprintf(
	    f, "%s",
	    T("使い方: mamori user add DIR LOGIN --role ROLE [--dept DEPT] [--staff ID] [--url "
	      "URL]\n"
	      "        mamori user add DIR LOGIN --role ROLE [--dept DEPT] [--staff ID]\n"
	      "                        --password-stdin --totp-secret-out FILE\n"
	      "        mamori user list DIR\n"
	      "        mamori user disable DIR LOGIN\n"
	      "        mamori user reset DIR LOGIN [--url URL]\n"
	      "  add      コンソールの利用者 LOGIN（英小文字・数字・. _ - の 64 "
	      "文字以内）を作り、\n"
	      "           パスワード設定と TOTP 登録のための 1 回限りのリンク（24 時間有効）を\n"
	      "           表示します。--role: admin, ciso, csirt, dept_manager, auditor,\n"
	      "           personnel。dept_manager には --dept（所属 ID）が必要です。\n"
	      "           --staff は職員 ID（外部監査人は省略可）\n"
	      "  --password-stdin --totp-secret-out FILE（自動化用、両方を指定）\n"
	      "           リンクの代わりに、標準入力の 1 行目をパスワードとして設定し、\n"
	      "           TOTP を登録して、秘密・otpauth URI・回復コードを FILE（モード\n"
	      "           0600、既存のファイルは上書きしません）に書きます\n"
	      "  list     利用者、役割、状態を表示します（パスワードや秘密は出ません）\n"
	      "  disable  利用者を無効にし、そのセッションを終了します\n"
	      "  reset    パスワード・TOTP・回復コードを消し、新しいリンクを表示します\n"
	      "  --url    リンクの先頭（既定は http://<mamori.conf の listen>）。TLS で\n"
	      "           提供している場合は https://... を指定してください\n"
	      "  変更はすべて台帳（ledger）に記録されます。\n"
	      "終了コード: 0 成功、1 失敗、2 使い方の誤り\n",
	      "usage: mamori user add DIR LOGIN --role ROLE [--dept DEPT] [--staff ID] [--url "
	      "URL]\n"
	      "       mamori user add DIR LOGIN --role ROLE [--dept DEPT] [--staff ID]\n"
	      "                       --password-stdin --totp-secret-out FILE\n"
	      "       mamori user list DIR\n"
	      "       mamori user disable DIR LOGIN\n"
	      "       mamori user reset DIR LOGIN [--url URL]\n"
	      "  add      creates console user LOGIN (1-64 of a-z 0-9 . _ -) and prints a\n"
	      "           one-time link (valid 24 hours) to set a password and enrol TOTP.\n"
	      "           --role: admin, ciso, csirt, dept_manager, auditor, personnel;\n"
	      "           dept_manager needs --dept (a department id). --staff is the\n"
	      "           staff id (may be left out for external auditors)\n"
	      "  --password-stdin --totp-secret-out FILE (for automation; both together)\n"
	      "           instead of a link, sets the first line of standard input as the\n"
	      "           password, enrols TOTP and writes the secret, its otpauth URI and\n"
	      "           the recovery codes to FILE (mode 0600; an existing file is never\n"
	      "           overwritten)\n"
	      "  list     shows users, roles and state (never passwords or secrets)\n"
	      "  disable  disables a user and ends its sessions\n"
	      "  reset    removes password, TOTP and recovery codes and prints a new link\n"
	      "  --url    start of the link (default http://<listen of mamori.conf>); give\n"
	      "           https://... when serving with TLS\n"
	      "  Every change is recorded in the ledger.\n"
	      "exit status: 0 success, 1 failure, 2 usage error\n"));
}

static void users_ctx_cli(struct instance *in, struct users_ctx *c)
{
	const struct instance_config *cfg = instance_config(in);

	memset(c, 0, sizeof(*c));
	c->st = instance_store(in);
	c->lg = instance_ledger(in);
	c->now = ts_now();
	users_policy_default(&c->pol);
	c->pol.idle_sec = cfg->session_idle;
	c->pol.max_sec = cfg->session_max;
	c->pol.lock_failures = cfg->login_lock_failures;
	c->pol.lock_sec = cfg->login_lock_seconds;
}

static void print_link(struct instance *in, const char *url, const char *token)
{
	char host[64];
	uint16_t port = 8080;
	char ts[TS_TEXT_MAX];

	if (url) {
		size_t n = strlen(url);
		while (n > 0 && url[n - 1] == '/')
			n--;
		printf("%.*s/console/#/setup?token=%s\n", (int)n, url, token);
	} else {
		if (api_listen_parse(instance_config(in)->listen, host, sizeof(host), &port) < 0 ||
		    !strcmp(host, "0.0.0.0") || !strcmp(host, "::"))
			snprintf(host, sizeof(host), "127.0.0.1");
		printf("http://%s%s%s:%u/console/#/setup?token=%s\n", strchr(host, ':') ? "[" : "",
		       host, strchr(host, ':') ? "]" : "", (unsigned)port, token);
	}
	fflush(stdout);
	ts_format_jst(ts_now() + USERS_SETUP_SEC, ts);
	fprintf(stderr,
		T("この 1 回限りのリンクを本人に安全な方法で渡してください（%s まで有効）。\n"
		  "本人はこのリンクでパスワードを設定し、TOTP を登録します。\n",
		  "Give this one-time link to the person by a safe channel (valid until %s).\n"
		  "Through it they set a password and enrol TOTP.\n"),
		ts);
}

static int print_user(const struct user_info *u, void *arg)
{
	const char *state;
	(void)arg;

	if (u->disabled)
		state = T("無効", "disabled");
	else if (u->locked_until)
		state = T("ロック中", "locked");
	else if (!u->has_password)
		state = T("設定待ち", "awaiting setup");
	else if (!u->enrolled)
		state = T("TOTP 未登録", "TOTP not enrolled");
	else
		state = T("有効", "active");
	printf("%-24s %-13s %-10s %-10s %-18s %s %u\n", u->login, role_name(u->role),
	       u->dept[0] ? u->dept : "-", u->staff_id[0] ? u->staff_id : "-", state,
	       T("回復コード残り", "recovery codes left"), u->recovery_left);
	return 0;
}

/*
 * Read the password for --password-stdin: everything on standard input up
 * to the first newline (a "\r\n" counts as one), so that both
 * `printf %s "$pw" |` and `echo "$pw" |` work. ERR_TOO_LARGE past
 * USER_PASSWORD_MAX bytes, ERR_INVALID for a NUL byte (which would cut the
 * password short without anyone noticing).
 */
static int password_read(FILE *in, char out[static USER_PASSWORD_MAX + 1])
{
	size_t n = 0;
	int ch;

	while ((ch = getc(in)) != EOF && ch != '\n') {
		if (ch == '\0')
			return ERR_INVALID;
		if (n == USER_PASSWORD_MAX)
			return ERR_TOO_LARGE;
		out[n++] = (char)ch;
	}
	if (ferror(in))
		return ERR_IO;
	if (n > 0 && out[n - 1] == '\r')
		n--;
	out[n] = '\0';
	return 0;
}

/*
 * The setup link's path taken at once: use the setup token to set the
 * password, begin TOTP enrolment, confirm it with a code computed from the
 * new secret, and end the session that this opened. secret_b32 gets the
 * secret, codes the recovery codes.
 *
 * The enrolment is confirmed with the code of the previous 30-second step
 * (accepted as clock drift), because a step once accepted is never
 * accepted again: the code an authenticator shows right now stays usable
 * for the person's first sign-in.
 */
static int user_provision(const struct users_ctx *c, const char *token, const char *password,
			  char secret_b32[static 40], char login[static USER_LOGIN_MAX + 1],
			  char codes[static USERS_RECOVERY_CODES][RECOVERY_TEXT_MAX],
			  const char **why)
{
	struct session_out s1, s2;
	uint8_t key[TOTP_SECRET_BYTES + 8];
	size_t keylen = 0;
	char code[TOTP_DIGITS + 1];
	int r;

	memset(&s1, 0, sizeof(s1));
	memset(&s2, 0, sizeof(s2));
	if ((r = user_setup(c, token, password, &s1, why)) < 0)
		goto out;
	if ((r = session_enrol_begin(c, s1.token, secret_b32, login)) < 0 ||
	    (r = base32_decode(secret_b32, key, sizeof(key), &keylen)) < 0)
		goto out;
	snprintf(code, sizeof(code), "%0*u", TOTP_DIGITS,
		 (unsigned)hotp(key, keylen, totp_step(c->now) - 1, TOTP_DIGITS));
	if ((r = session_enrol_confirm(c, s1.token, code, codes, &s2)) < 0)
		goto out;
	r = session_logout(c, s2.token);
out:
	sodium_memzero(key, sizeof(key));
	sodium_memzero(code, sizeof(code));
	sodium_memzero(&s1, sizeof(s1));
	sodium_memzero(&s2, sizeof(s2));
	return r;
}

/* The contents of the --totp-secret-out file: key=value lines, so that a
 * script can take one with `sed -n 's/^totp_secret=//p'`. */
static int secret_file_text(const char *login, const char *secret_b32,
			    char codes[static USERS_RECOVERY_CODES][RECOVERY_TEXT_MAX],
			    struct buf *out)
{
	int r;

	if ((r = buf_printf(out,
			    "# mamori console user: TOTP (RFC 6238, SHA1, %d digits, %d s)\n"
			    "# Keep this file secret; remove it once the secret is in an "
			    "authenticator.\n"
			    "login=%s\n"
			    "totp_secret=%s\n"
			    "otpauth_uri=otpauth://totp/mamori:%s?secret=%s&issuer=mamori&"
			    "algorithm=SHA1&digits=%d&period=%d\n",
			    TOTP_DIGITS, TOTP_PERIOD, login, secret_b32, login, secret_b32,
			    TOTP_DIGITS, TOTP_PERIOD)) < 0)
		return r;
	for (size_t i = 0; i < USERS_RECOVERY_CODES; i++)
		if ((r = buf_printf(out, "recovery_code=%s\n", codes[i])) < 0)
			return r;
	return 0;
}

/*
 * `user add ... --password-stdin --totp-secret-out FILE`: create the user,
 * set its password, enrol TOTP and write FILE. The password is checked
 * and FILE is refused if it exists before anything is created, so that a
 * mistake leaves no user behind.
 */
static int provision_run(struct instance *in, const struct users_ctx *c0, const char *login,
			 unsigned role, const char *dept, const char *staff, const char *actor,
			 const char *outfile)
{
	struct users_ctx c = *c0;
	uint8_t mfa_key[USERS_MFA_KEY_BYTES];
	char pw[USER_PASSWORD_MAX + 1], tok[AUTH_TOKEN_MAX], secret[40];
	char codes[USERS_RECOVERY_CODES][RECOVERY_TEXT_MAX], ulogin[USER_LOGIN_MAX + 1];
	struct buf path, text;
	struct stat sb;
	const char *why = NULL;
	int r, rc = EXIT_FAIL;

	buf_init(&path, 4096);
	buf_init(&text, 4096);
	memset(codes, 0, sizeof(codes));
	secret[0] = '\0';
	tok[0] = '\0';
	if ((r = password_read(stdin, pw)) < 0) {
		cli_error("%s",
			  r == ERR_TOO_LARGE
			      ? T("パスワードが長すぎます（1024 バイトまで）",
				  "the password is too long (at most 1024 bytes)")
			  : r == ERR_INVALID
			      ? T("パスワードに NUL 文字があります", "the password has a NUL byte")
			      : T("標準入力からパスワードを読めません",
				  "cannot read the password from standard input"));
		rc = r == ERR_IO ? EXIT_FAIL : EXIT_USAGE;
		goto out;
	}
	if (users_login_check(login) == 0 && users_password_check(login, pw, &why) < 0) {
		cli_error(T("パスワード: %s", "password: %s"),
			  why ? why : err_msg(ERR_INVALID));
		rc = EXIT_USAGE;
		goto out;
	}
	if (lstat(outfile, &sb) == 0) {
		cli_error(T("%s は既にあります（上書きしません）",
			    "%s already exists (it is never overwritten)"),
			  outfile);
		goto out;
	}
	if ((r = instance_path(in, "keys/mfa.key", &path)) < 0 ||
	    (r = users_mfa_key_load(path.data, mfa_key)) < 0) {
		cli_error("%s: %s", path.data ? path.data : "keys/mfa.key", err_msg(r));
		goto out;
	}
	c.mfa_key = mfa_key;
	r = user_add(&c, login, role, dept, staff, actor, tok, &why);
	if (r == ERR_INVALID) {
		cli_error("%s: %s", login, why ? why : err_msg(r));
		rc = EXIT_USAGE;
		goto out;
	}
	if (r == ERR_EXISTS) {
		cli_error(T("ログイン名 '%s' は既に使われています", "the login '%s' is taken"),
			  login);
		goto out;
	}
	if (r < 0) {
		cli_error("%s: %s", login, err_msg(r));
		goto out;
	}
	if ((r = user_provision(&c, tok, pw, secret, ulogin, codes, &why)) < 0 ||
	    (r = secret_file_text(ulogin, secret, codes, &text)) < 0 ||
	    (r = file_write_atomic(outfile, text.data, text.len, 0600)) < 0) {
		cli_error(T("%s: パスワードと TOTP を設定できません: %s（mamori user reset "
			    "でやり直せます）",
			    "%s: cannot set the password and TOTP: %s (mamori user reset "
			    "starts again)"),
			  login, why ? why : err_msg(r));
		goto out;
	}
	fprintf(stderr,
		T("利用者 '%s'（%s）を作成し、パスワードと TOTP を設定しました。TOTP の秘密は "
		  "%s にあります\n",
		  "created user '%s' (%s) with its password and TOTP; the TOTP secret is in %s\n"),
		login, role_name(role), outfile);
	rc = EXIT_OK;
out:
	sodium_memzero(pw, sizeof(pw));
	sodium_memzero(tok, sizeof(tok));
	sodium_memzero(secret, sizeof(secret));
	sodium_memzero(codes, sizeof(codes));
	sodium_memzero(mfa_key, sizeof(mfa_key));
	if (text.data)
		mem_wipe(text.data, text.cap);
	buf_release(&text);
	buf_release(&path);
	return rc;
}

int cmd_user(int argc, char **argv)
{
	const char *role_s = NULL, *dept = NULL, *staff = NULL, *url = NULL, *help = NULL;
	const char *pw_stdin = NULL, *secret_out = NULL;
	struct cli_opt opts[] = {
	    {"role", true, &role_s},
	    {"dept", true, &dept},
	    {"staff", true, &staff},
	    {"url", true, &url},
	    {"password-stdin", false, &pw_stdin},
	    {"totp-secret-out", true, &secret_out},
	    {"help", false, &help},
	};
	struct instance *in = NULL;
	struct users_ctx c;
	struct diag d;
	char *pos[3] = {NULL, NULL, NULL}, actor[ACTOR_NAME_MAX + 1], tok[AUTH_TOKEN_MAX];
	const char *why = NULL, *verb;
	unsigned role = 0;
	int n, r, rc = EXIT_FAIL;

	n = cli_parse(argc, argv, opts, ARRAY_SIZE(opts), pos, 3);
	if (help && n >= 0) {
		user_usage(stdout);
		return EXIT_OK;
	}
	if (n < 2) {
		user_usage(stderr);
		return EXIT_USAGE;
	}
	verb = pos[0];
	if (!strcmp(verb, "list")
		? n != 2
		: (strcmp(verb, "add") && strcmp(verb, "disable") && strcmp(verb, "reset")) ||
		      n != 3) {
		user_usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(verb, "add")) {
		if (!role_s || role_parse(role_s, &role) < 0 || !(role & ROLES_STAFF)) {
			cli_error(
			    T("--role には admin, ciso, csirt, dept_manager, auditor, personnel "
			      "のいずれかを指定してください",
			      "--role must be one of admin, ciso, csirt, dept_manager, auditor, "
			      "personnel"));
			return EXIT_USAGE;
		}
		if ((role == ROLE_DEPT_MANAGER) != (dept != NULL)) {
			cli_error("%s", T("--dept（所属 ID）は dept_manager にだけ、必ず指定します",
					  "--dept (a department id) is required for dept_manager "
					  "and only for it"));
			return EXIT_USAGE;
		}
		if ((pw_stdin != NULL) != (secret_out != NULL) || (pw_stdin && url)) {
			cli_error("%s",
				  T("--password-stdin と --totp-secret-out は両方を指定します"
				    "（--url とは併用できません）",
				    "--password-stdin and --totp-secret-out go together (and not "
				    "with --url)"));
			return EXIT_USAGE;
		}
	} else if (role_s || dept || staff || pw_stdin || secret_out ||
		   (url && strcmp(verb, "reset"))) {
		user_usage(stderr);
		return EXIT_USAGE;
	}
	cli_actor(actor, sizeof(actor));
	diag_init(&d, 20);
	if ((r = instance_open(pos[1], INSTANCE_WRITE, &in, &d)) < 0) {
		diag_print(&d, stderr);
		cli_error(T("インスタンスを開けません: %s", "cannot open the instance: %s"),
			  err_msg(r));
		goto out;
	}
	users_ctx_cli(in, &c);
	if (!strcmp(verb, "list")) {
		if ((r = user_list(c.st, c.now, print_user, NULL)) < 0) {
			cli_error("%s", err_msg(r));
			goto out;
		}
		rc = EXIT_OK;
		goto out;
	}
	if (pw_stdin) {
		rc = provision_run(in, &c, pos[2], role, dept, staff, actor, secret_out);
		goto out;
	}
	if (!strcmp(verb, "add")) {
		r = user_add(&c, pos[2], role, dept, staff, actor, tok, &why);
		if (r == ERR_INVALID) {
			cli_error("%s: %s", pos[2], why ? why : err_msg(r));
			rc = EXIT_USAGE;
			goto out;
		}
	} else if (!strcmp(verb, "reset")) {
		r = user_reset(&c, pos[2], actor, tok);
	} else {
		r = user_disable(&c, pos[2], actor);
	}
	if (r == ERR_EXISTS) {
		cli_error(T("ログイン名 '%s' は既に使われています", "the login '%s' is taken"),
			  pos[2]);
		goto out;
	}
	if (r == ERR_NOT_FOUND) {
		cli_error(T("利用者 '%s' はいません", "no user '%s'"), pos[2]);
		goto out;
	}
	if (r < 0) {
		cli_error("%s: %s", pos[2], err_msg(r));
		goto out;
	}
	if (strcmp(verb, "disable"))
		print_link(in, url, tok);
	else
		fprintf(stderr, T("利用者 '%s' を無効にしました\n", "disabled user '%s'\n"),
			pos[2]);
	rc = EXIT_OK;
out:
	mem_wipe(tok, sizeof(tok));
	instance_close(in);
	diag_release(&d);
	return rc;
}
