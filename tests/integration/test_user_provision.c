/*
 * Integration tests of `mamori user add ... --password-stdin
 * --totp-secret-out FILE` (docs/console-auth.md, "Provisioning for
 * automation"): the user is created with its password and TOTP in one
 * command, the secret file is mode 0600 and never printed, bad input
 * creates nothing, and the user then signs in through the real `mamori
 * serve` with the password and a TOTP code computed here from the file
 * (and with a recovery code from it), with its role; the ledger records
 * the steps and never the password or the secret.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "base/base.h"
#include "base/buf.h"
#include "api/totp.h"
#include "integration/harness.h"
#include "ledger/ledger.h"

#define PW "provisioned passphrase 7"

static struct h_instance HI;

/* What the secret file holds. */
struct secret_file {
	char login[80];
	char secret[64];
	char uri[256];
	char recovery[10][32];
	int nrecovery;
};

/* ---- helpers ---- */

static json_t *body_json(const struct h_resp *r)
{
	json_error_t e;
	return json_loadb(r->body.data ? r->body.data : "", r->body.len, 0, &e);
}

static const char *jstr(json_t *j, const char *k)
{
	json_t *v = json_object_get(j, k);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* `mamori user add DIR login --role role [--dept dept] --password-stdin
 * --totp-secret-out file` with password on standard input; the exit
 * status, with stdout and stderr into out and err. */
static int provision(const char *login, const char *role, const char *dept, const char *file,
		     const char *stdin_text, struct buf *out, struct buf *err)
{
	const char *args[12];
	int n = 0;

	args[n++] = "user";
	args[n++] = "add";
	args[n++] = HI.dir;
	args[n++] = login;
	args[n++] = "--role";
	args[n++] = role;
	if (dept) {
		args[n++] = "--dept";
		args[n++] = dept;
	}
	args[n++] = "--password-stdin";
	if (file) {
		args[n++] = "--totp-secret-out";
		args[n++] = file;
	}
	args[n] = NULL;
	/* h_run initialises out and err itself. */
	buf_release(out);
	buf_release(err);
	return h_run(args, stdin_text, stdin_text ? strlen(stdin_text) : 0, out, err);
}

static void tmp_path(const char *name, char *out, size_t len)
{
	snprintf(out, len, "%s/%s", HI.datadir, name);
}

static bool user_listed(const char *login)
{
	const char *args[] = {"user", "list", HI.dir, NULL};
	struct buf out;
	char pfx[80];
	bool found;

	buf_init(&out, 1 << 16);
	assert_int_equal(h_run(args, NULL, 0, &out, NULL), 0);
	snprintf(pfx, sizeof(pfx), "\n%s ", login);
	found = !strncmp(out.data ? out.data : "", pfx + 1, strlen(pfx + 1)) ||
		strstr(out.data ? out.data : "", pfx) != NULL;
	buf_release(&out);
	return found;
}

static void read_secret_file(const char *path, struct secret_file *sf)
{
	FILE *f = fopen(path, "r");
	char line[512];

	assert_non_null(f);
	memset(sf, 0, sizeof(*sf));
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (!strncmp(line, "login=", 6))
			snprintf(sf->login, sizeof(sf->login), "%.79s", line + 6);
		else if (!strncmp(line, "totp_secret=", 12))
			snprintf(sf->secret, sizeof(sf->secret), "%.63s", line + 12);
		else if (!strncmp(line, "otpauth_uri=", 12))
			snprintf(sf->uri, sizeof(sf->uri), "%.255s", line + 12);
		else if (!strncmp(line, "recovery_code=", 14) && sf->nrecovery < 10)
			snprintf(sf->recovery[sf->nrecovery++], sizeof(sf->recovery[0]), "%.31s",
				 line + 14);
		else
			assert_true(line[0] == '#' || line[0] == '\0');
	}
	fclose(f);
}

/* The TOTP code of secret, offset steps from now. */
static void code_now(const char *secret, int offset, char out[7])
{
	uint8_t k[64];
	size_t n = 0;

	assert_int_equal(base32_decode(secret, k, sizeof(k), &n), 0);
	assert_int_equal(n, TOTP_SECRET_BYTES);
	snprintf(out, 7, "%06" PRIu32,
		 hotp(k, n, (uint64_t)((int64_t)totp_step(time(NULL)) + offset), 6));
}

/* Sign in with password and then code or recovery code; the status of
 * the second step, the session cookie into cookie (when it succeeded). */
static int sign_in(const char *login, const char *pw, const char *code, const char *recovery,
		   char cookie[128])
{
	struct h_resp r;
	char body[256], hdr[512], sc[512];
	const char *v;
	json_t *j;
	int status;

	snprintf(body, sizeof(body), "{\"login\":\"%s\",\"password\":\"%s\"}", login, pw);
	assert_int_equal(
	    h_http(HI.port, "POST", "/v1/auth/login", "Content-Type: application/json\r\n", body,
		   strlen(body), &r),
	    0);
	if (r.status != 200) {
		status = r.status;
		h_resp_release(&r);
		return status;
	}
	j = body_json(&r);
	assert_non_null(j);
	assert_string_equal(jstr(j, "stage"), "totp");
	assert_int_equal(h_resp_header(&r, "Set-Cookie", sc, sizeof(sc)), 0);
	v = sc + strlen("mamori_session=");
	snprintf(hdr, sizeof(hdr),
		 "Content-Type: application/json\r\nCookie: mamori_session=%.*s\r\n"
		 "X-CSRF-Token: %s\r\n",
		 (int)strcspn(v, ";"), v, jstr(j, "csrf_token"));
	json_decref(j);
	h_resp_release(&r);

	if (code)
		snprintf(body, sizeof(body), "{\"code\":\"%s\"}", code);
	else
		snprintf(body, sizeof(body), "{\"recovery_code\":\"%s\"}", recovery);
	assert_int_equal(h_http(HI.port, "POST", "/v1/auth/totp", hdr, body, strlen(body), &r), 0);
	status = r.status;
	if (status == 200) {
		j = body_json(&r);
		assert_non_null(j);
		assert_string_equal(jstr(j, "stage"), "full");
		json_decref(j);
		assert_int_equal(h_resp_header(&r, "Set-Cookie", sc, sizeof(sc)), 0);
		v = sc + strlen("mamori_session=");
		snprintf(cookie, 128, "%.*s", (int)strcspn(v, ";"), v);
	}
	h_resp_release(&r);
	return status;
}

static void get_cookie(const char *cookie, const char *path, struct h_resp *r)
{
	char hdr[256];

	snprintf(hdr, sizeof(hdr), "Cookie: mamori_session=%s\r\n", cookie);
	assert_int_equal(h_http(HI.port, "GET", path, hdr, NULL, 0, r), 0);
}

static int ledger_count(const char *n1, const char *n2)
{
	struct ledger *lg = NULL;
	struct buf b;
	char dir[600];
	int n = 0;

	snprintf(dir, sizeof(dir), "%s/ledger", HI.dir);
	assert_int_equal(ledger_open(dir, LEDGER_READ_ONLY, &lg), 0);
	buf_init(&b, LEDGER_BODY_MAX * 2);
	for (uint64_t i = 0; i < ledger_size(lg); i++) {
		assert_int_equal(ledger_read(lg, i, &b), 0);
		if (strstr(b.data, n1) && (!n2 || strstr(b.data, n2)))
			n++;
	}
	buf_release(&b);
	ledger_close(lg);
	return n;
}

/* The id of the first department of the generated data. */
static void first_dept(char out[64])
{
	char path[700], line[1024];
	const char *p;
	FILE *f;

	snprintf(path, sizeof(path), "%s/departments.jsonl", HI.datadir);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	p = strstr(line, "\"id\":\"");
	assert_non_null(p);
	p += 6;
	snprintf(out, 64, "%.*s", (int)strcspn(p, "\""), p);
	assert_true(strlen(out) > 0);
}

/* ---- fixtures ---- */

static int group_setup(void **state)
{
	(void)state;
	if (h_instance_new(&HI, 500, 20, 1000) < 0)
		return -1;
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	h_instance_free(&HI);
	return 0;
}

/* ---- tests ---- */

/* Bad input is refused with exit status 2 (or 1 for an existing file or
 * a taken login) and leaves neither a user nor a file behind. */
static void test_bad_input(void **state)
{
	struct buf out, err;
	char file[700], big[1100];
	struct stat sb;
	(void)state;

	buf_init(&out, 1 << 16);
	buf_init(&err, 1 << 16);
	tmp_path("bad.totp", file, sizeof(file));
	unlink(file);

	/* Too short: 11 characters. */
	assert_int_equal(provision("bad1", "admin", NULL, file, "abcdefghijk\n", &out, &err), 2);
	assert_non_null(strstr(err.data, "12"));
	/* Exactly 12 characters is enough: the other side of the edge. */
	assert_int_equal(provision("edge12", "auditor", NULL, file, "abcdefghijkl\n", &out, &err),
			 0);
	assert_true(user_listed("edge12"));
	assert_int_equal(unlink(file), 0);
	/* The login itself, in another case. */
	assert_int_equal(
	    provision("samelogin123", "admin", NULL, file, "SAMELOGIN123\n", &out, &err), 2);
	/* More than 1024 bytes. */
	memset(big, 'x', 1025);
	big[1025] = '\n';
	big[1026] = '\0';
	assert_int_equal(provision("bad2", "admin", NULL, file, big, &out, &err), 2);
	/* Empty standard input. */
	assert_int_equal(provision("bad3", "admin", NULL, file, "", &out, &err), 2);
	/* --password-stdin without --totp-secret-out. */
	assert_int_equal(provision("bad4", "admin", NULL, NULL, PW "\n", &out, &err), 2);
	/* A role a person cannot have, and dept_manager without --dept. */
	assert_int_equal(provision("bad5", "system", NULL, file, PW "\n", &out, &err), 2);
	assert_int_equal(provision("bad6", "dept_manager", NULL, file, PW "\n", &out, &err), 2);
	/* A bad login. */
	assert_int_equal(provision("Bad Login", "admin", NULL, file, PW "\n", &out, &err), 2);
	assert_int_equal(lstat(file, &sb), -1);

	/* An existing file is never overwritten, and no user is made. */
	{
		FILE *f = fopen(file, "w");
		assert_non_null(f);
		fputs("keep me\n", f);
		fclose(f);
	}
	assert_int_equal(provision("bad7", "admin", NULL, file, PW "\n", &out, &err), 1);
	{
		FILE *f = fopen(file, "r");
		char line[64] = "";
		assert_non_null(f);
		assert_non_null(fgets(line, sizeof(line), f));
		fclose(f);
		assert_string_equal(line, "keep me\n");
	}
	assert_int_equal(unlink(file), 0);

	for (int i = 1; i <= 7; i++) {
		char l[16];
		snprintf(l, sizeof(l), "bad%d", i);
		assert_false(user_listed(l));
	}
	assert_false(user_listed("samelogin123"));
	buf_release(&out);
	buf_release(&err);
}

/* Provision a CSIRT member, check the file, then sign in through the
 * real server with the password and a code computed from the file. */
static void test_provision_and_sign_in(void **state)
{
	struct buf out, err;
	char file[700], file2[700], code[7], cookie[128] = "", dept[64];
	struct secret_file sf;
	struct stat sb;
	struct h_resp r;
	json_t *j;
	(void)state;

	buf_init(&out, 1 << 16);
	buf_init(&err, 1 << 16);
	tmp_path("ops.totp", file, sizeof(file));
	tmp_path("ops2.totp", file2, sizeof(file2));
	unlink(file);
	unlink(file2);

	/* "\r\n" ends the password as "\n" does. */
	assert_int_equal(provision("ops", "csirt", NULL, file, PW "\r\n", &out, &err), 0);
	/* Nothing on standard output: no link, no secret. */
	assert_int_equal(out.len, 0);
	assert_int_equal(lstat(file, &sb), 0);
	assert_true(S_ISREG(sb.st_mode));
	assert_int_equal(sb.st_mode & 0777, 0600);
	read_secret_file(file, &sf);
	assert_string_equal(sf.login, "ops");
	assert_int_equal(strlen(sf.secret), 32);
	assert_null(strstr(err.data, sf.secret));
	assert_null(strstr(err.data, PW));
	assert_non_null(strstr(sf.uri, "otpauth://totp/mamori:ops?secret="));
	assert_non_null(strstr(sf.uri, sf.secret));
	assert_int_equal(sf.nrecovery, 10);
	assert_int_equal(strlen(sf.recovery[0]), 19);
	assert_true(user_listed("ops"));

	/* The login is taken now: refused, and the second file not made. */
	assert_int_equal(provision("ops", "csirt", NULL, file2, PW "\n", &out, &err), 1);
	assert_int_equal(lstat(file2, &sb), -1);

	/* A department manager with its department. */
	first_dept(dept);
	assert_int_equal(provision("mgr", "dept_manager", dept, file2, PW "\n", &out, &err), 0);

	assert_int_equal(h_serve_start(&HI), 0);

	/* A wrong password and a wrong code are refused. */
	code_now(sf.secret, 0, code);
	assert_int_equal(sign_in("ops", "not the passphrase", code, NULL, cookie), 401);
	assert_int_equal(sign_in("ops", PW, code[0] == '0' ? "111111" : "000000", NULL, cookie),
			 401);
	/* The code of now, computed from the file, signs in at once. */
	assert_int_equal(sign_in("ops", PW, code, NULL, cookie), 200);
	get_cookie(cookie, "/v1/auth/session", &r);
	assert_int_equal(r.status, 200);
	j = body_json(&r);
	assert_non_null(j);
	assert_string_equal(jstr(j, "login"), "ops");
	assert_string_equal(jstr(j, "role"), "csirt");
	assert_string_equal(jstr(j, "stage"), "full");
	json_decref(j);
	h_resp_release(&r);
	/* The session acts with the CSIRT role on an ordinary route. */
	get_cookie(cookie, "/v1/alerts", &r);
	assert_int_equal(r.status, 200);
	h_resp_release(&r);
	/* The same code is not accepted twice; a recovery code is. */
	assert_int_equal(sign_in("ops", PW, code, NULL, cookie), 401);
	assert_int_equal(sign_in("ops", PW, NULL, sf.recovery[3], cookie), 200);

	/* The department manager is bound to its department. */
	read_secret_file(file2, &sf);
	code_now(sf.secret, 0, code);
	assert_int_equal(sign_in("mgr", PW, code, NULL, cookie), 200);
	get_cookie(cookie, "/v1/auth/session", &r);
	j = body_json(&r);
	assert_non_null(j);
	assert_string_equal(jstr(j, "role"), "dept_manager");
	assert_string_equal(jstr(j, "dept"), dept);
	json_decref(j);
	h_resp_release(&r);
	assert_int_equal(h_serve_stop(&HI), 0);

	/* The ledger has each step, never the password or the secret. */
	assert_int_equal(ledger_count("\"op\":\"add\",\"login\":\"ops\"", "\"role\":\"csirt\""), 1);
	assert_int_equal(ledger_count("\"op\":\"setup\",\"login\":\"ops\"", NULL), 1);
	assert_int_equal(ledger_count("\"op\":\"enrol\",\"login\":\"ops\"", NULL), 1);
	assert_int_equal(ledger_count("\"op\":\"add\",\"login\":\"mgr\"", dept), 1);
	assert_int_equal(ledger_count(PW, NULL), 0);
	read_secret_file(file, &sf);
	assert_int_equal(ledger_count(sf.secret, NULL), 0);
	assert_int_equal(ledger_count(sf.recovery[0], NULL), 0);

	unlink(file);
	unlink(file2);
	buf_release(&out);
	buf_release(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bad_input),
	    cmocka_unit_test(test_provision_and_sign_in),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
