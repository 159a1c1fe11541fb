/*
 * Integration tests of the console's sign-in through the real `mamori
 * serve` (docs/console-auth.md): the first-run link, `mamori user add`
 * and its setup link, password, TOTP enrolment (codes computed here from
 * the secret the server shows), the session cookie acting with its
 * user's role on the ordinary routes (and refused where the role is
 * not), CSRF, logout, the second factor and recovery codes at sign-in,
 * lockout, the per-address limit, the ledger's records, and HTTPS with a
 * certificate made for the test.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "base/base.h"
#include "base/buf.h"
#include "api/totp.h"
#include "integration/harness.h"
#include "ledger/ledger.h"

#define PW "integration passphrase 1"
#define PW_ADMIN "administrator passphrase"

static struct h_instance HI;

/* One signed-in (or half signed-in) browser. */
struct browser {
	char cookie[128];
	char csrf[64];
	char secret[40];
	char recovery[10][24];
};
static struct browser AUD, ADM;

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

/* A request with the browser's cookie and, if csrf, its CSRF token. */
static void req(uint16_t port, const char *method, const char *path, const struct browser *b,
		bool csrf, const char *json, struct h_resp *r)
{
	char hdr[512];
	int n = 0;

	hdr[0] = '\0';
	if (b && b->cookie[0])
		n += snprintf(hdr + n, sizeof(hdr) - (size_t)n, "Cookie: mamori_session=%s\r\n",
			      b->cookie);
	if (b && csrf)
		snprintf(hdr + n, sizeof(hdr) - (size_t)n, "X-CSRF-Token: %s\r\n", b->csrf);
	assert_int_equal(h_http(port, method, path, hdr, json, json ? strlen(json) : 0, r), 0);
}

/* Take the session cookie and CSRF token of a reply into b. */
static void take_session(const struct h_resp *r, struct browser *b)
{
	char sc[512];
	json_t *j;
	const char *v;

	assert_int_equal(h_resp_header(r, "Set-Cookie", sc, sizeof(sc)), 0);
	assert_memory_equal(sc, "mamori_session=", 15);
	v = sc + 15;
	snprintf(b->cookie, sizeof(b->cookie), "%.*s", (int)strcspn(v, ";"), v);
	assert_int_equal(strlen(b->cookie), 43);
	assert_non_null(strstr(sc, "; HttpOnly"));
	assert_non_null(strstr(sc, "; SameSite=Strict"));
	assert_non_null(strstr(sc, "; Path=/"));
	j = body_json(r);
	assert_non_null(j);
	assert_non_null(jstr(j, "csrf_token"));
	snprintf(b->csrf, sizeof(b->csrf), "%s", jstr(j, "csrf_token"));
	json_decref(j);
}

/* The current TOTP code of secret, offset steps from now. */
static void code_now(const char *secret, int offset, char out[7])
{
	uint8_t k[64];
	size_t n = 0;

	assert_int_equal(base32_decode(secret, k, sizeof(k), &n), 0);
	snprintf(out, 7, "%06" PRIu32,
		 hotp(k, n, (uint64_t)((int64_t)totp_step(time(NULL)) + offset), 6));
}

/* `mamori user add|reset ...`: the token of the printed link. */
static void cli_link(const char *const *args, char tok[64])
{
	struct buf out, err;
	const char *t;

	buf_init(&out, 1 << 16);
	buf_init(&err, 1 << 16);
	assert_int_equal(h_run(args, NULL, 0, &out, &err), 0);
	t = strstr(out.data ? out.data : "", "/console/#/setup?token=");
	assert_non_null(t);
	t += strlen("/console/#/setup?token=");
	snprintf(tok, 64, "%.*s", (int)strcspn(t, "\r\n"), t);
	assert_int_equal(strlen(tok), 43);
	buf_release(&out);
	buf_release(&err);
}

/* Set up and enrol through the API with a setup token; b is then fully
 * signed in. */
static void setup_and_enrol(uint16_t port, const char *tok, const char *pw, struct browser *b)
{
	struct h_resp r;
	char body[256], code[7];
	json_t *j;

	memset(b, 0, sizeof(*b));
	snprintf(body, sizeof(body), "{\"token\":\"%s\",\"password\":\"%s\"}", tok, pw);
	req(port, "POST", "/v1/auth/setup", NULL, false, body, &r);
	assert_int_equal(r.status, 200);
	take_session(&r, b);
	j = body_json(&r);
	assert_string_equal(jstr(j, "stage"), "enrol");
	json_decref(j);
	h_resp_release(&r);

	/* Half signed in: the ordinary routes do not know this session. */
	req(port, "GET", "/v1/ledger/entries?start=0&end=1", b, false, NULL, &r);
	assert_int_equal(r.status, 401);
	h_resp_release(&r);

	req(port, "GET", "/v1/auth/enrol", b, false, NULL, &r);
	assert_int_equal(r.status, 200);
	j = body_json(&r);
	assert_non_null(jstr(j, "secret"));
	snprintf(b->secret, sizeof(b->secret), "%s", jstr(j, "secret"));
	assert_int_equal(strlen(b->secret), 32);
	assert_non_null(strstr(jstr(j, "uri"), "otpauth://totp/mamori:"));
	assert_non_null(strstr(jstr(j, "uri"), b->secret));
	assert_memory_equal(jstr(j, "qr_svg"), "<svg ", 5);
	assert_non_null(strstr(jstr(j, "qr_svg"), "<path"));
	json_decref(j);
	h_resp_release(&r);

	/* The confirmation changes state: without the CSRF token, refused. */
	code_now(b->secret, 0, code);
	snprintf(body, sizeof(body), "{\"code\":\"%s\"}", code);
	req(port, "POST", "/v1/auth/enrol", b, false, body, &r);
	assert_int_equal(r.status, 403);
	h_resp_release(&r);
	req(port, "POST", "/v1/auth/enrol", b, true, "{\"code\":\"12345\"}", &r);
	assert_int_equal(r.status, 401);
	h_resp_release(&r);
	req(port, "POST", "/v1/auth/enrol", b, true, body, &r);
	assert_int_equal(r.status, 200);
	{
		char old[128];
		snprintf(old, sizeof(old), "%s", b->cookie);
		take_session(&r, b);
		assert_string_not_equal(old, b->cookie);
	}
	j = body_json(&r);
	assert_string_equal(jstr(j, "stage"), "full");
	{
		json_t *codes = json_object_get(j, "recovery_codes");
		assert_int_equal(json_array_size(codes), 10);
		for (size_t i = 0; i < 10; i++) {
			const char *c = json_string_value(json_array_get(codes, i));
			assert_non_null(c);
			assert_int_equal(strlen(c), 19);
			snprintf(b->recovery[i], sizeof(b->recovery[i]), "%s", c);
		}
	}
	json_decref(j);
	h_resp_release(&r);
}

/* Run a shell command line (test fixtures only); its exit status. */
static int sh(const char *cmd)
{
	int st = 0;
	pid_t pid = fork();

	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Read one line of fd (without the newline) within ms; false on EOF or
 * timeout. */
static bool read_line(int fd, char *out, size_t cap, int ms)
{
	size_t used = 0;
	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (used + 1 < cap) {
		struct pollfd p = {fd, POLLIN, 0};
		int left, k;
		ssize_t n;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		left = ms -
		       (int)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0)
			return false;
		k = poll(&p, 1, left);
		if (k <= 0)
			continue;
		n = read(fd, out + used, 1);
		if (n <= 0)
			return false;
		if (out[used] == '\n')
			break;
		used++;
	}
	out[used] = '\0';
	return true;
}

struct srv {
	pid_t pid;
	int out;
	uint16_t port;
};

/* Start `mamori serve DIR args...` with its stdout on a pipe; stderr goes
 * to the instance's auth-serve.log. */
static pid_t srv_spawn(const char *const *args, struct srv *s)
{
	int p[2];
	char logp[600];
	pid_t pid;

	memset(s, 0, sizeof(*s));
	s->out = -1;
	snprintf(logp, sizeof(logp), "%s/../auth-serve.log", HI.dir);
	if (pipe(p) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		const char *argv[16];
		size_t n = 0;
		int lf = open(logp, O_WRONLY | O_CREAT | O_APPEND, 0600);
		argv[n++] = h_bin();
		for (size_t i = 0; args[i] && n < 15; i++)
			argv[n++] = args[i];
		argv[n] = NULL;
		dup2(p[1], 1);
		if (lf >= 0)
			dup2(lf, 2);
		close(p[0]);
		close(p[1]);
		execv(h_bin(), (char *const *)argv);
		_exit(127);
	}
	close(p[1]);
	s->pid = pid;
	s->out = p[0];
	return pid;
}

/* Wait for the process (up to 20 s, then SIGKILL); its exit status or -1. */
static int srv_wait(struct srv *s)
{
	int st = 0;

	for (int i = 0; i < 400; i++) {
		pid_t w = waitpid(s->pid, &st, WNOHANG);
		if (w == s->pid) {
			s->pid = 0;
			if (s->out >= 0)
				close(s->out);
			s->out = -1;
			return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
		}
		usleep(50000);
	}
	kill(s->pid, SIGKILL);
	waitpid(s->pid, &st, 0);
	s->pid = 0;
	return -1;
}

static int srv_stop(struct srv *s)
{
	if (s->pid > 0)
		kill(s->pid, SIGTERM);
	return srv_wait(s);
}

/* Start and read the "listening on SCHEME://127.0.0.1:PORT" line. */
static int srv_start(const char *const *args, const char *scheme, struct srv *s)
{
	char line[512], pre[64];
	int64_t port;

	if (srv_spawn(args, s) < 0)
		return -1;
	snprintf(pre, sizeof(pre), "listening on %s://", scheme);
	if (!read_line(s->out, line, sizeof(line), 30000) || strncmp(line, pre, strlen(pre)) != 0) {
		fprintf(stderr, "server said '%s'\n", line);
		srv_stop(s);
		return -1;
	}
	{
		const char *colon = strrchr(line, ':');
		if (!colon || parse_i64(colon + 1, strlen(colon + 1), 1, 65535, &port) < 0) {
			srv_stop(s);
			return -1;
		}
	}
	s->port = (uint16_t)port;
	return 0;
}

/* How many ledger records contain every one of the needles (NULL-ended). */
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

static int ledger_has_text(const char *s)
{
	assert_true(strlen(s) >= 8);
	return ledger_count(s, NULL);
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

/* With no user at all, `mamori serve` prints a one-time link that
 * creates the first administrator; with a user, it prints none. */
static void test_first_run(void **state)
{
	const char *args[] = {"serve", HI.dir, "--listen", "127.0.0.1:0", NULL};
	struct srv s;
	struct h_resp r;
	char line[512], tok[64] = "", body[256];
	json_t *j;
	(void)state;

	assert_int_equal(srv_start(args, "http", &s), 0);
	for (int i = 0; i < 4 && !tok[0]; i++) {
		const char *t;
		assert_true(read_line(s.out, line, sizeof(line), 20000));
		if ((t = strstr(line, "/console/#/setup?token="))) {
			char want[64];
			snprintf(want, sizeof(want), "  http://127.0.0.1:%u/console/", s.port);
			assert_memory_equal(line, want, strlen(want));
			snprintf(tok, sizeof(tok), "%s", t + strlen("/console/#/setup?token="));
		}
	}
	assert_int_equal(strlen(tok), 43);
	/* A wrong token and a bad password do not spend it. */
	req(s.port, "POST", "/v1/auth/setup", NULL, false,
	    "{\"token\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\",\"password\":\"" PW_ADMIN
	    "\"}",
	    &r);
	assert_int_equal(r.status, 401);
	h_resp_release(&r);
	snprintf(body, sizeof(body),
		 "{\"token\":\"%s\",\"password\":\"short\",\"login\":\"chief\"}", tok);
	req(s.port, "POST", "/v1/auth/setup", NULL, false, body, &r);
	assert_int_equal(r.status, 400);
	h_resp_release(&r);
	/* The right password: the first administrator is made. */
	snprintf(body, sizeof(body), "{\"token\":\"%s\",\"password\":\"%s\",\"login\":\"chief\"}",
		 tok, PW_ADMIN);
	req(s.port, "POST", "/v1/auth/setup", NULL, false, body, &r);
	assert_int_equal(r.status, 200);
	j = body_json(&r);
	assert_string_equal(jstr(j, "stage"), "enrol");
	assert_string_equal(jstr(j, "login"), "chief");
	json_decref(j);
	h_resp_release(&r);
	/* Used once only. */
	req(s.port, "POST", "/v1/auth/setup", NULL, false, body, &r);
	assert_int_equal(r.status, 401);
	h_resp_release(&r);
	assert_int_equal(srv_stop(&s), 0);
	assert_int_equal(ledger_count("\"op\":\"add\",\"login\":\"chief\"", "\"role\":\"admin\""),
			 1);
	assert_int_equal(ledger_count("system:bootstrap", NULL), 1);

	/* A user exists now: no link. */
	assert_int_equal(srv_start(args, "http", &s), 0);
	kill(s.pid, SIGTERM);
	while (read_line(s.out, line, sizeof(line), 20000))
		assert_null(strstr(line, "setup?token="));
	assert_int_equal(srv_wait(&s), 0);
}

static void test_cli_users(void **state)
{
	const char *bad1[] = {"user", "add", HI.dir, "x1", "--role", "system", NULL};
	const char *bad2[] = {"user", "add", HI.dir, "x1", "--role", "dept_manager", NULL};
	const char *bad3[] = {"user", "add", HI.dir, "Bad Name", "--role", "csirt", NULL};
	const char *bad4[] = {"user",  "add",	  HI.dir, "x1", "--role",
			      "csirt", "--staff", "NOPE", NULL};
	const char *nouser[] = {"user", "disable", HI.dir, "nobody", NULL};
	const char *list[] = {"user", "list", HI.dir, NULL};
	struct buf out;
	(void)state;

	assert_int_equal(h_run(bad1, NULL, 0, NULL, NULL), 2);
	assert_int_equal(h_run(bad2, NULL, 0, NULL, NULL), 2);
	assert_int_equal(h_run(bad3, NULL, 0, NULL, NULL), 2);
	assert_int_equal(h_run(bad4, NULL, 0, NULL, NULL), 2);
	assert_int_equal(h_run(nouser, NULL, 0, NULL, NULL), 1);
	buf_init(&out, 1 << 16);
	assert_int_equal(h_run(list, NULL, 0, &out, NULL), 0);
	assert_non_null(strstr(out.data, "chief"));
	assert_null(strstr(out.data, "x1"));
	buf_release(&out);
}

/* A user made with `mamori user add` signs up through the link; the
 * session acts with its role on the ordinary routes. */
static void test_auditor_role(void **state)
{
	const char *add[] = {"user", "add", HI.dir, "aud1", "--role", "auditor", NULL};
	const char *dup[] = {"user", "add", HI.dir, "aud1", "--role", "auditor", NULL};
	char tok[64];
	struct h_resp r;
	json_t *j;
	(void)state;

	cli_link(add, tok);
	assert_int_equal(h_run(dup, NULL, 0, NULL, NULL), 1);
	assert_int_equal(h_serve_start(&HI), 0);
	setup_and_enrol(HI.port, tok, PW, &AUD);

	req(HI.port, "GET", "/v1/auth/session", &AUD, false, NULL, &r);
	assert_int_equal(r.status, 200);
	j = body_json(&r);
	assert_string_equal(jstr(j, "login"), "aud1");
	assert_string_equal(jstr(j, "role"), "auditor");
	assert_string_equal(jstr(j, "stage"), "full");
	assert_string_equal(jstr(j, "csrf_token"), AUD.csrf);
	assert_true(json_is_null(json_object_get(j, "dept")));
	json_decref(j);
	h_resp_release(&r);

	/* A route an auditor may read. */
	req(HI.port, "GET", "/v1/ledger/entries?start=0&end=1", &AUD, false, NULL, &r);
	assert_int_equal(r.status, 200);
	h_resp_release(&r);
	/* A change an auditor may not make, CSRF token or not. */
	req(HI.port, "POST", "/v1/admin/reload", &AUD, true, NULL, &r);
	assert_int_equal(r.status, 403);
	assert_non_null(strstr(r.body.data, "\"code\":\"forbidden\""));
	h_resp_release(&r);
	req(HI.port, "POST", "/v1/decide", &AUD, true, "{}", &r);
	assert_int_equal(r.status, 403);
	h_resp_release(&r);
	/* A cookie nobody issued. */
	{
		struct browser fake = AUD;
		fake.cookie[3] = fake.cookie[3] == 'A' ? 'B' : 'A';
		req(HI.port, "GET", "/v1/ledger/entries?start=0&end=1", &fake, false, NULL, &r);
		assert_int_equal(r.status, 401);
		h_resp_release(&r);
	}
	/* The setup link is spent. */
	{
		char body[256];
		snprintf(body, sizeof(body), "{\"token\":\"%s\",\"password\":\"%s\"}", tok, PW);
		req(HI.port, "POST", "/v1/auth/setup", NULL, false, body, &r);
		assert_int_equal(r.status, 401);
		h_resp_release(&r);
	}
}

/* An administrator's session: CSRF decides, the API key needs none. */
static void test_admin_csrf(void **state)
{
	const char *add[] = {"user", "add", HI.dir, "adm1", "--role", "admin", NULL};
	char tok[64];
	struct h_resp r;
	(void)state;

	cli_link(add, tok);
	setup_and_enrol(HI.port, tok, PW_ADMIN, &ADM);
	req(HI.port, "POST", "/v1/admin/reload", &ADM, false, NULL, &r);
	assert_int_equal(r.status, 403);
	assert_non_null(strstr(r.body.data, "X-CSRF-Token"));
	h_resp_release(&r);
	{
		struct browser wrong = ADM;
		wrong.csrf[0] = wrong.csrf[0] == 'A' ? 'B' : 'A';
		req(HI.port, "POST", "/v1/admin/reload", &wrong, true, NULL, &r);
		assert_int_equal(r.status, 403);
		h_resp_release(&r);
		/* Another session's token is not this one's. */
		snprintf(wrong.csrf, sizeof(wrong.csrf), "%s", AUD.csrf);
		req(HI.port, "POST", "/v1/admin/reload", &wrong, true, NULL, &r);
		assert_int_equal(r.status, 403);
		h_resp_release(&r);
	}
	req(HI.port, "POST", "/v1/admin/reload", &ADM, true, NULL, &r);
	assert_int_equal(r.status, 200);
	h_resp_release(&r);
	/* Reads need no CSRF token. */
	req(HI.port, "GET", "/v1/ledger/entries?start=0&end=1", &ADM, false, NULL, &r);
	assert_int_equal(r.status, 200);
	h_resp_release(&r);
	/* A Bearer API key never needs one, with or without a cookie. */
	assert_int_equal(h_http_auth(&HI, "POST", "/v1/admin/reload", NULL, 0, &r), 0);
	assert_int_equal(r.status, 200);
	h_resp_release(&r);
	/* The reload is recorded with the console user as actor. */
	assert_true(ledger_count("user:adm1", "reload") >= 1);
}

/* The first two department ids of the generated registry. */
static void two_depts(char a[64], char b[64])
{
	char path[700];
	json_error_t e;
	FILE *f;
	char line[4096];
	int n = 0;

	snprintf(path, sizeof(path), "%s/departments.jsonl", HI.datadir);
	f = fopen(path, "r");
	assert_non_null(f);
	while (n < 2 && fgets(line, sizeof(line), f)) {
		json_t *j = json_loads(line, 0, &e);
		assert_non_null(j);
		snprintf(n == 0 ? a : b, 64, "%s", jstr(j, "id"));
		json_decref(j);
		n++;
	}
	fclose(f);
	assert_int_equal(n, 2);
}

/* A department manager sees only their department; personnel may not
 * read the ledger: the roles of the API hold for sessions too. */
static void test_dept_manager_personnel(void **state)
{
	char own[64], other[64], tok[64], path[256];
	const char *add_dm[] = {"user",		"add",	  HI.dir, "dm1", "--role",
				"dept_manager", "--dept", own,	  NULL};
	const char *add_pe[] = {"user", "add", HI.dir, "hr1", "--role", "personnel", NULL};
	struct browser dm, pe;
	struct h_resp r;
	json_t *j;
	(void)state;

	two_depts(own, other);
	cli_link(add_dm, tok);
	setup_and_enrol(HI.port, tok, PW, &dm);
	req(HI.port, "GET", "/v1/auth/session", &dm, false, NULL, &r);
	j = body_json(&r);
	assert_string_equal(jstr(j, "role"), "dept_manager");
	assert_string_equal(jstr(j, "dept"), own);
	json_decref(j);
	h_resp_release(&r);
	snprintf(path, sizeof(path), "/v1/alerts?dept=%s", own);
	req(HI.port, "GET", path, &dm, false, NULL, &r);
	assert_int_equal(r.status, 200);
	h_resp_release(&r);
	snprintf(path, sizeof(path), "/v1/alerts?dept=%s", other);
	req(HI.port, "GET", path, &dm, false, NULL, &r);
	assert_int_equal(r.status, 403);
	h_resp_release(&r);
	req(HI.port, "POST", "/v1/admin/reload", &dm, true, NULL, &r);
	assert_int_equal(r.status, 403);
	h_resp_release(&r);

	cli_link(add_pe, tok);
	setup_and_enrol(HI.port, tok, PW, &pe);
	req(HI.port, "GET", "/v1/ledger/entries?start=0&end=1", &pe, false, NULL, &r);
	assert_int_equal(r.status, 403);
	h_resp_release(&r);
	req(HI.port, "GET", "/v1/ledger/entries?start=0&end=1", &ADM, false, NULL, &r);
	assert_int_equal(r.status, 200);
	h_resp_release(&r);
}

/* Sign out, then sign in again with password and TOTP, then with a
 * recovery code. */
static void test_logout_login(void **state)
{
	struct h_resp r;
	char body[256], code[7], sc[512];
	struct browser b;
	json_t *j;
	(void)state;

	req(HI.port, "POST", "/v1/auth/logout", &AUD, false, NULL, &r);
	assert_int_equal(r.status, 403);
	h_resp_release(&r);
	req(HI.port, "POST", "/v1/auth/logout", &AUD, true, NULL, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(h_resp_header(&r, "Set-Cookie", sc, sizeof(sc)), 0);
	assert_non_null(strstr(sc, "Max-Age=0"));
	h_resp_release(&r);
	req(HI.port, "GET", "/v1/auth/session", &AUD, false, NULL, &r);
	assert_int_equal(r.status, 401);
	h_resp_release(&r);
	req(HI.port, "GET", "/v1/ledger/entries?start=0&end=1", &AUD, false, NULL, &r);
	assert_int_equal(r.status, 401);
	h_resp_release(&r);

	/* Password, then a code of the next step (the enrolment spent this
	 * one, and one step of drift is allowed). */
	memset(&b, 0, sizeof(b));
	req(HI.port, "POST", "/v1/auth/login", NULL, false,
	    "{\"login\":\"aud1\",\"password\":\"" PW "\"}", &r);
	assert_int_equal(r.status, 200);
	take_session(&r, &b);
	j = body_json(&r);
	assert_string_equal(jstr(j, "stage"), "totp");
	json_decref(j);
	h_resp_release(&r);
	req(HI.port, "GET", "/v1/ledger/entries?start=0&end=1", &b, false, NULL, &r);
	assert_int_equal(r.status, 401);
	h_resp_release(&r);
	req(HI.port, "POST", "/v1/auth/totp", &b, true,
	    "{\"code\":\"000000\",\"recovery_code\":\"x\"}", &r);
	assert_int_equal(r.status, 400);
	h_resp_release(&r);
	code_now(AUD.secret, 1, code);
	snprintf(body, sizeof(body), "{\"code\":\"%s\"}", code);
	req(HI.port, "POST", "/v1/auth/totp", &b, false, body, &r);
	assert_int_equal(r.status, 403);
	h_resp_release(&r);
	req(HI.port, "POST", "/v1/auth/totp", &b, true, body, &r);
	assert_int_equal(r.status, 200);
	take_session(&r, &b);
	h_resp_release(&r);
	req(HI.port, "GET", "/v1/ledger/entries?start=0&end=1", &b, false, NULL, &r);
	assert_int_equal(r.status, 200);
	h_resp_release(&r);

	/* With a recovery code instead; once only. */
	memset(&b, 0, sizeof(b));
	req(HI.port, "POST", "/v1/auth/login", NULL, false,
	    "{\"login\":\"aud1\",\"password\":\"" PW "\"}", &r);
	assert_int_equal(r.status, 200);
	take_session(&r, &b);
	h_resp_release(&r);
	snprintf(body, sizeof(body), "{\"recovery_code\":\"%s\"}", AUD.recovery[0]);
	req(HI.port, "POST", "/v1/auth/totp", &b, true, body, &r);
	assert_int_equal(r.status, 200);
	take_session(&r, &b);
	h_resp_release(&r);
	/* The browser keeps this session; the secret and codes stay known. */
	memcpy(AUD.cookie, b.cookie, sizeof(AUD.cookie));
	memcpy(AUD.csrf, b.csrf, sizeof(AUD.csrf));
	memset(&b, 0, sizeof(b));
	req(HI.port, "POST", "/v1/auth/login", NULL, false,
	    "{\"login\":\"aud1\",\"password\":\"" PW "\"}", &r);
	take_session(&r, &b);
	h_resp_release(&r);
	req(HI.port, "POST", "/v1/auth/totp", &b, true, body, &r);
	assert_int_equal(r.status, 401);
	h_resp_release(&r);

	assert_true(ledger_count("\"op\":\"login\",\"login\":\"aud1\"", "password_ok") >= 3);
	assert_int_equal(
	    ledger_count("\"op\":\"recovery\",\"login\":\"aud1\"", "\"result\":\"ok\""), 1);
	assert_int_equal(
	    ledger_count("\"op\":\"recovery\",\"login\":\"aud1\"", "\"result\":\"fail\""), 1);
	assert_int_equal(ledger_count("\"op\":\"logout\",\"login\":\"aud1\"", NULL), 1);
	assert_int_equal(ledger_count("\"op\":\"enrol\",\"login\":\"aud1\"", "recovery_codes"), 1);
	/* Never a password, secret, token or recovery code. */
	assert_int_equal(ledger_has_text(PW), 0);
	assert_int_equal(ledger_has_text(PW_ADMIN), 0);
	assert_int_equal(ledger_has_text(AUD.secret), 0);
	assert_int_equal(ledger_has_text(AUD.recovery[0]), 0);
	assert_int_equal(ledger_has_text(AUD.cookie), 0);
	assert_int_equal(ledger_has_text(AUD.csrf), 0);
}

static void test_password_change(void **state)
{
	struct h_resp r;
	(void)state;

	req(HI.port, "POST", "/v1/auth/password", &ADM, true,
	    "{\"current\":\"wrong wrong wrong\",\"new\":\"a brand new passphrase\"}", &r);
	assert_int_equal(r.status, 401);
	h_resp_release(&r);
	req(HI.port, "POST", "/v1/auth/password", &ADM, true,
	    "{\"current\":\"" PW_ADMIN "\",\"new\":\"adm1\"}", &r);
	assert_int_equal(r.status, 400);
	h_resp_release(&r);
	req(HI.port, "POST", "/v1/auth/password", &ADM, false,
	    "{\"current\":\"" PW_ADMIN "\",\"new\":\"a brand new passphrase\"}", &r);
	assert_int_equal(r.status, 403);
	h_resp_release(&r);
	req(HI.port, "POST", "/v1/auth/password", &ADM, true,
	    "{\"current\":\"" PW_ADMIN "\",\"new\":\"a brand new passphrase\"}", &r);
	assert_int_equal(r.status, 200);
	h_resp_release(&r);
	req(HI.port, "POST", "/v1/auth/login", NULL, false,
	    "{\"login\":\"adm1\",\"password\":\"" PW_ADMIN "\"}", &r);
	assert_int_equal(r.status, 401);
	h_resp_release(&r);
	req(HI.port, "POST", "/v1/auth/login", NULL, false,
	    "{\"login\":\"adm1\",\"password\":\"a brand new passphrase\"}", &r);
	assert_int_equal(r.status, 200);
	h_resp_release(&r);
	assert_int_equal(ledger_count("\"op\":\"password\",\"login\":\"adm1\"", NULL), 2);
}

/* Five failures lock a login for 15 minutes; the answer is the same as
 * for a login that does not exist. */
static void test_lockout(void **state)
{
	const char *add[] = {"user", "add", HI.dir, "lock1", "--role", "csirt", NULL};
	const char *reset[] = {"user", "reset", HI.dir, "lock1", NULL};
	struct browser b;
	struct h_resp r;
	char tok[64], unknown_detail[512], detail[512];
	json_t *j;
	(void)state;

	cli_link(add, tok);
	setup_and_enrol(HI.port, tok, PW, &b);
	req(HI.port, "POST", "/v1/auth/login", NULL, false,
	    "{\"login\":\"nosuchuser\",\"password\":\"" PW "\"}", &r);
	assert_int_equal(r.status, 401);
	j = body_json(&r);
	snprintf(unknown_detail, sizeof(unknown_detail), "%s", jstr(j, "detail"));
	json_decref(j);
	h_resp_release(&r);
	for (int i = 0; i < 5; i++) {
		req(HI.port, "POST", "/v1/auth/login", NULL, false,
		    "{\"login\":\"lock1\",\"password\":\"not the password\"}", &r);
		assert_int_equal(r.status, 401);
		j = body_json(&r);
		assert_string_equal(jstr(j, "detail"), unknown_detail);
		json_decref(j);
		h_resp_release(&r);
	}
	assert_int_equal(ledger_count("\"op\":\"lockout\",\"login\":\"lock1\"", NULL), 1);
	/* The right password now fails, exactly as an unknown login does. */
	req(HI.port, "POST", "/v1/auth/login", NULL, false,
	    "{\"login\":\"lock1\",\"password\":\"" PW "\"}", &r);
	assert_int_equal(r.status, 401);
	j = body_json(&r);
	snprintf(detail, sizeof(detail), "%s", jstr(j, "detail"));
	json_decref(j);
	assert_string_equal(detail, unknown_detail);
	assert_null(strstr(r.headers.data, "Set-Cookie"));
	h_resp_release(&r);
	/* The session it had is gone too. */
	req(HI.port, "GET", "/v1/auth/session", &b, false, NULL, &r);
	assert_int_equal(r.status, 401);
	h_resp_release(&r);
	assert_int_equal(
	    ledger_count("\"op\":\"login\",\"login\":\"lock1\"", "\"result\":\"locked\""), 1);
	assert_int_equal(
	    ledger_count("\"op\":\"login\",\"login\":\"lock1\"", "\"result\":\"fail\""), 5);
	/* Other users are not locked out. */
	req(HI.port, "POST", "/v1/auth/login", NULL, false,
	    "{\"login\":\"aud1\",\"password\":\"" PW "\"}", &r);
	assert_int_equal(r.status, 200);
	h_resp_release(&r);
	/* An administrator's reset lifts the lock (with a new setup). */
	cli_link(reset, tok);
	setup_and_enrol(HI.port, tok, "yet another passphrase", &b);
	assert_int_equal(ledger_count("\"op\":\"reset\",\"login\":\"lock1\"", NULL), 1);
}

static void test_disable(void **state)
{
	const char *dis[] = {"user", "disable", HI.dir, "aud1", NULL};
	struct h_resp r;
	(void)state;

	req(HI.port, "GET", "/v1/ledger/entries?start=0&end=1", &AUD, false, NULL, &r);
	assert_int_equal(r.status, 200);
	h_resp_release(&r);
	assert_int_equal(h_run(dis, NULL, 0, NULL, NULL), 0);
	req(HI.port, "GET", "/v1/ledger/entries?start=0&end=1", &AUD, false, NULL, &r);
	assert_int_equal(r.status, 401);
	h_resp_release(&r);
	req(HI.port, "POST", "/v1/auth/login", NULL, false,
	    "{\"login\":\"aud1\",\"password\":\"" PW "\"}", &r);
	assert_int_equal(r.status, 401);
	h_resp_release(&r);
	assert_int_equal(ledger_count("\"op\":\"disable\",\"login\":\"aud1\"", NULL), 1);
}

/* The per-address limit: 20 failures in 10 minutes (counting those of the
 * tests before) close sign-in from the address, even with the right
 * password; the limit lives in memory and a restart clears it. */
static void test_ip_limit(void **state)
{
	struct h_resp r;
	int limited = 0;
	(void)state;

	for (int i = 0; i < 25; i++) {
		req(HI.port, "POST", "/v1/auth/login", NULL, false,
		    "{\"login\":\"nosuchuser\",\"password\":\"whatever it is\"}", &r);
		assert_true(r.status == 401 || r.status == 503);
		limited += r.status == 503;
		h_resp_release(&r);
	}
	assert_true(limited >= 5);
	req(HI.port, "POST", "/v1/auth/login", NULL, false,
	    "{\"login\":\"adm1\",\"password\":\"a brand new passphrase\"}", &r);
	assert_int_equal(r.status, 503);
	h_resp_release(&r);
	assert_true(ledger_count("\"op\":\"login\"", "\"result\":\"rate_limited\"") >= 5);
	assert_int_equal(h_serve_stop(&HI), 0);
	assert_int_equal(h_serve_start(&HI), 0);
	req(HI.port, "POST", "/v1/auth/login", NULL, false,
	    "{\"login\":\"adm1\",\"password\":\"a brand new passphrase\"}", &r);
	assert_int_equal(r.status, 200);
	h_resp_release(&r);
	assert_int_equal(h_serve_stop(&HI), 0);
}

/* HTTPS with a self-signed certificate made now; the key's mode is
 * checked; with TLS a non-loopback address is allowed. */
static void test_tls(void **state)
{
	char base[600], cert[700], key[700], cmd[2400], line[256];
	const char *plain_remote[] = {"serve", HI.dir, "--listen", "0.0.0.0:0", NULL};
	struct srv s;
	struct buf out;
	int rc;
	(void)state;

	if (access("/usr/bin/openssl", X_OK) != 0 || access("/usr/bin/curl", X_OK) != 0) {
		fprintf(stderr, "test_tls: skipped: needs /usr/bin/openssl and /usr/bin/curl\n");
		skip();
	}
	snprintf(base, sizeof(base), "%s/..", HI.dir);
	snprintf(cert, sizeof(cert), "%s/tls-cert.pem", base);
	snprintf(key, sizeof(key), "%s/tls-key.pem", base);
	snprintf(cmd, sizeof(cmd),
		 "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
		 "-days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 "
		 "-keyout '%s' -out '%s' >/dev/null 2>&1",
		 key, cert);
	assert_int_equal(sh(cmd), 0);

	/* Plain HTTP on a non-loopback address is refused. */
	assert_int_equal(h_run(plain_remote, NULL, 0, NULL, NULL), 2);
	/* A key others can read is refused. */
	assert_int_equal(chmod(key, 0644), 0);
	{
		const char *a[] = {"serve", HI.dir,	 "--listen", "127.0.0.1:0", "--tls-cert",
				   cert,    "--tls-key", key,	     NULL};
		struct buf err;
		buf_init(&err, 1 << 16);
		rc = h_run(a, NULL, 0, NULL, &err);
		assert_int_not_equal(rc, 0);
		assert_non_null(strstr(err.data, "0600"));
		buf_release(&err);
	}
	{
		const char *a[] = {"serve", HI.dir, "--tls-cert", cert, NULL};
		assert_int_equal(h_run(a, NULL, 0, NULL, NULL), 2);
	}
	assert_int_equal(chmod(key, 0600), 0);
	{
		const char *a[] = {"serve", HI.dir,	 "--listen", "0.0.0.0:0", "--tls-cert",
				   cert,    "--tls-key", key,	     NULL};
		assert_int_equal(srv_start(a, "https", &s), 0);
	}
	buf_init(&out, 1 << 16);
	{
		char url[128], hdrs[700];
		snprintf(url, sizeof(url), "https://127.0.0.1:%u/v1/health", s.port);
		{
			const char *a[] = {"/usr/bin/curl", "-sS", "--cacert", cert, url, NULL};
			int p[2];
			pid_t pid;
			ssize_t n;
			char chunk[4096];
			assert_int_equal(pipe(p), 0);
			pid = fork();
			if (pid == 0) {
				dup2(p[1], 1);
				close(p[0]);
				execv(a[0], (char *const *)a);
				_exit(127);
			}
			close(p[1]);
			while ((n = read(p[0], chunk, sizeof(chunk))) > 0)
				assert_int_equal(buf_append(&out, chunk, (size_t)n), 0);
			close(p[0]);
			assert_int_equal(waitpid(pid, &rc, 0), pid);
			assert_int_equal(WEXITSTATUS(rc), 0);
			assert_non_null(strstr(out.data, "\"status\":\"ok\""));
		}
		/* Sign in over HTTPS: the cookie is Secure. */
		snprintf(url, sizeof(url), "https://127.0.0.1:%u/v1/auth/login", s.port);
		snprintf(hdrs, sizeof(hdrs), "%s/tls-headers.txt", base);
		snprintf(cmd, sizeof(cmd),
			 "curl -sS --cacert '%s' -D '%s' -o /dev/null -H 'Content-Type: "
			 "application/json' -d '{\"login\":\"adm1\",\"password\":\"a brand new "
			 "passphrase\"}' '%s'",
			 cert, hdrs, url);
		assert_int_equal(sh(cmd), 0);
		buf_reset(&out);
		{
			FILE *f = fopen(hdrs, "r");
			assert_non_null(f);
			while (fgets(line, sizeof(line), f))
				assert_int_equal(buf_puts(&out, line), 0);
			fclose(f);
		}
		assert_non_null(strstr(out.data, " 200"));
		assert_non_null(strstr(out.data, "mamori_session="));
		assert_non_null(strstr(out.data, "; Secure"));
		/* Without the certificate's trust, curl refuses: it is real TLS. */
		snprintf(cmd, sizeof(cmd),
			 "curl -sS -o /dev/null 'https://127.0.0.1:%u/v1/health' "
			 ">/dev/null 2>&1",
			 s.port);
		assert_int_not_equal(sh(cmd), 0);
	}
	buf_release(&out);
	assert_int_equal(srv_stop(&s), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_first_run),
	    cmocka_unit_test(test_cli_users),
	    cmocka_unit_test(test_auditor_role),
	    cmocka_unit_test(test_admin_csrf),
	    cmocka_unit_test(test_dept_manager_personnel),
	    cmocka_unit_test(test_logout_login),
	    cmocka_unit_test(test_password_change),
	    cmocka_unit_test(test_lockout),
	    cmocka_unit_test(test_disable),
	    cmocka_unit_test(test_ip_limit),
	    cmocka_unit_test(test_tls),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
