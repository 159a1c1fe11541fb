/*
 * routes_auth.c - sign-in for the web console (docs/console-auth.md):
 * /v1/auth/login, /totp, /enrol, /session, /logout, /password and /setup,
 * the per-address limit of failed sign-ins, the first-run link, and the
 * session check that server.c's authentication calls for cookies.
 *
 * These routes are public in the route table (roles 0): each finds the
 * session in the mamori_session cookie itself, because a session half
 * way through sign-in (password done, second factor not yet) may use
 * them and nothing else. Every route here that changes something for an
 * existing session wants the session's CSRF token in X-CSRF-Token, as
 * every other route does for cookie-authenticated requests. Login and
 * setup have no session yet: they need a JSON body (a cross-site form
 * cannot send one without a CORS preflight, which mamori never answers)
 * and the cookie is SameSite=Strict.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>

#include <jansson.h>
#include <microhttpd.h>
#include <qrencode.h>
#include <sodium.h>

#include "base/base.h"
#include "base/actor.h"
#include "base/buf.h"
#include "base/i18n.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "api/api.h"
#include "api/api_int.h"
#include "api/totp.h"
#include "api/users.h"
#include "api/users_int.h"
#include "instance/instance.h"
#include "store/store.h"

#define IP_TEXT_MAX 64
#define IP_TABLE 1024

/* ---- per-address limit of failures (memory only) ---- */

struct ip_slot {
	char ip[IP_TEXT_MAX];
	int64_t start;
	unsigned count;
};

static pthread_mutex_t ip_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ip_slot ip_table[IP_TABLE];

/* The slot of ip, or a free or oldest one taken over for it. Called with
 * ip_lock held. */
static struct ip_slot *ip_slot_get(const char *ip, int64_t now, int64_t window)
{
	struct ip_slot *victim = NULL;

	for (size_t i = 0; i < IP_TABLE; i++) {
		struct ip_slot *sl = &ip_table[i];
		if (sl->ip[0] && !strcmp(sl->ip, ip)) {
			if (now - sl->start >= window) {
				sl->start = now;
				sl->count = 0;
			}
			return sl;
		}
		/* A free slot, else the one whose window began first. */
		if (!victim || (victim->ip[0] && (!sl->ip[0] || sl->start < victim->start)))
			victim = sl;
	}
	snprintf(victim->ip, sizeof(victim->ip), "%s", ip);
	victim->start = now;
	victim->count = 0;
	return victim;
}

static bool ip_blocked(const char *ip, int64_t now, const struct instance_config *cfg)
{
	bool b;

	pthread_mutex_lock(&ip_lock);
	b = ip_slot_get(ip, now, cfg->login_ip_window)->count >= cfg->login_ip_failures;
	pthread_mutex_unlock(&ip_lock);
	return b;
}

static void ip_fail(const char *ip, int64_t now, const struct instance_config *cfg)
{
	pthread_mutex_lock(&ip_lock);
	ip_slot_get(ip, now, cfg->login_ip_window)->count++;
	pthread_mutex_unlock(&ip_lock);
}

/* ---- the key of TOTP secrets, loaded once per process ---- */

static pthread_mutex_t key_lock = PTHREAD_MUTEX_INITIALIZER;
static uint8_t mfa_key[USERS_MFA_KEY_BYTES];
static bool mfa_key_loaded;

static int mfa_key_get(struct api_server *s, const uint8_t **out)
{
	struct buf path;
	int r = 0;

	pthread_mutex_lock(&key_lock);
	if (!mfa_key_loaded) {
		buf_init(&path, 4096);
		if ((r = instance_path(s->in, "keys/mfa.key", &path)) == 0 &&
		    (r = users_mfa_key_load(path.data, mfa_key)) == 0)
			mfa_key_loaded = true;
		else
			log_error("%s: %s", path.data ? path.data : "keys/mfa.key", err_msg(r));
		buf_release(&path);
	}
	pthread_mutex_unlock(&key_lock);
	*out = mfa_key_loaded ? mfa_key : NULL;
	return r;
}

/* ---- the first-run link (memory only) ---- */

static pthread_mutex_t boot_lock = PTHREAD_MUTEX_INITIALIZER;
static uint8_t boot_hash[crypto_hash_sha256_BYTES];
static int64_t boot_expires;

/* ---- helpers ---- */

struct auth_call {
	struct users_ctx c;
	char ip[IP_TEXT_MAX];
	const struct instance_config *cfg;
};

static void client_ip(struct MHD_Connection *conn, char out[static IP_TEXT_MAX])
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;

	snprintf(out, IP_TEXT_MAX, "unknown");
	if (!sa)
		return;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
			  IP_TEXT_MAX);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
			  out, IP_TEXT_MAX);
}

static void policy_from_config(const struct instance_config *cfg, struct users_policy *p)
{
	users_policy_default(p);
	p->idle_sec = cfg->session_idle;
	p->max_sec = cfg->session_max;
	p->lock_failures = cfg->login_lock_failures;
	p->lock_sec = cfg->login_lock_seconds;
}

static int call_open(struct api_server *s, struct MHD_Connection *conn, struct auth_call *a)
{
	int r;

	memset(a, 0, sizeof(*a));
	a->cfg = instance_config(s->in);
	client_ip(conn, a->ip);
	a->c.ip = a->ip;
	a->c.now = ts_now();
	a->c.lg = instance_ledger(s->in);
	policy_from_config(a->cfg, &a->c.pol);
	if ((r = mfa_key_get(s, &a->c.mfa_key)) < 0)
		return r;
	return api_pool_get(s, &a->c.st);
}

static void call_close(struct api_server *s, struct auth_call *a)
{
	api_pool_put(s, a->c.st);
	a->c.st = NULL;
}

static bool method_changes(const char *m)
{
	return strcmp(m, "GET") && strcmp(m, "HEAD") && strcmp(m, "OPTIONS");
}

int auth_session_actor(struct api_server *s, struct MHD_Connection *conn, const char *method,
		       const char *cookie, struct actor *out)
{
	struct auth_call a;
	const char *csrf = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-CSRF-Token");
	int r;

	if ((r = call_open(s, conn, &a)) < 0)
		return r;
	r = session_actor(&a.c, cookie, method_changes(method), csrf, out);
	call_close(s, &a);
	return r;
}

static const char *session_cookie(struct api_req *rq)
{
	return MHD_lookup_connection_value(rq->conn, MHD_COOKIE_KIND, AUTH_COOKIE);
}

static int set_cookie(struct api_server *s, struct api_reply *rep, const char *token)
{
	char v[256];

	if (token)
		snprintf(v, sizeof(v), AUTH_COOKIE "=%s; Path=/; HttpOnly; SameSite=Strict%s",
			 token, s->tls ? "; Secure" : "");
	else
		snprintf(v, sizeof(v),
			 AUTH_COOKIE "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0%s",
			 s->tls ? "; Secure" : "");
	return api_reply_header(rep, "Set-Cookie", v);
}

static const char *stage_name(enum session_stage st)
{
	switch (st) {
	case SESSION_TOTP:
		return "totp";
	case SESSION_ENROL:
		return "enrol";
	default:
		return "full";
	}
}

/* Parse the body as a JSON object into *out; false with the problem set. */
static bool body_object(struct api_req *rq, struct api_reply *rep, json_t **out)
{
	json_error_t e;
	json_t *j = json_loadb(rq->body.data, rq->body.len, JSON_REJECT_DUPLICATES, &e);

	if (!j || !json_is_object(j)) {
		json_decref(j);
		api_reply_invalid(
		    rep, "%s",
		    T("本文は JSON オブジェクトにしてください", "the body must be a JSON object"));
		return false;
	}
	*out = j;
	return true;
}

/* The string member k of j, or NULL if absent or not a string. */
static const char *jstr(json_t *j, const char *k)
{
	json_t *v = json_object_get(j, k);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static int reply_signin_failed(struct api_reply *rep)
{
	return api_reply_problem(
	    rep, ERR_UNAUTHORIZED, "%s",
	    T("サインインできませんでした。ログイン名かパスワードが誤っているか、"
	      "失敗が続いたため一時的にロックされています",
	      "sign-in failed: the login or password is wrong, or the login is locked for a "
	      "while after repeated failures"));
}

static int reply_ip_limited(struct api_reply *rep)
{
	return api_reply_problem(
	    rep, ERR_BUSY, "%s",
	    T("このアドレスからの失敗したサインインが多すぎます。しばらくしてから試してください",
	      "too many failed sign-ins from this address; try again later"));
}

static int reply_no_session(struct api_reply *rep)
{
	return api_reply_problem(rep, ERR_UNAUTHORIZED, "%s",
				 T("サインインしていないか、セッションの期限が切れています",
				   "not signed in, or the session has expired"));
}

static int reply_csrf(struct api_reply *rep)
{
	return api_reply_problem(
	    rep, ERR_FORBIDDEN, "%s",
	    T("変更の要求には X-CSRF-Token ヘッダーにセッションの CSRF トークンを付けてください",
	      "a request that changes something must carry the session's CSRF token in an "
	      "X-CSRF-Token header"));
}

/* The session of the request's cookie with its CSRF token checked; false
 * with the problem set. */
static bool session_of(struct auth_call *a, struct api_req *rq, struct api_reply *rep,
		       struct session_info *si)
{
	const char *cookie = session_cookie(rq);
	int r;

	if (!cookie || (r = session_lookup(&a->c, cookie, si)) == ERR_UNAUTHORIZED) {
		reply_no_session(rep);
		return false;
	}
	if (r < 0) {
		api_reply_problem(rep, ERR_INTERNAL, "%s", err_msg(ERR_INTERNAL));
		return false;
	}
	if (method_changes(rq->method) && !session_csrf_ok(si, api_header(rq, "X-CSRF-Token"))) {
		reply_csrf(rep);
		return false;
	}
	return true;
}

/* {"stage":...,"login":...,"csrf_token":...} and the cookie of a new
 * session. */
static int reply_session(struct api_server *s, struct api_reply *rep, const struct session_out *o,
			 const char *extra_member)
{
	int r;

	if ((r = set_cookie(s, rep, o->token)) < 0)
		return r;
	rep->status = 200;
	if ((r = buf_printf(&rep->body, "{\"stage\":\"%s\",\"login\":", stage_name(o->stage))) <
		0 ||
	    (r = buf_json_str(&rep->body, o->login, strlen(o->login))) < 0 ||
	    (r = buf_printf(&rep->body, ",\"csrf_token\":\"%s\"", o->csrf)) < 0)
		return r;
	if (extra_member && (r = buf_puts(&rep->body, extra_member)) < 0)
		return r;
	return buf_putc(&rep->body, '}');
}

/* ---- routes ---- */

/* POST /v1/auth/login {login, password} */
static int h_login(struct api_server *s, struct api_req *rq, struct api_reply *rep)
{
	struct auth_call a;
	struct session_out o;
	json_t *j = NULL;
	int r;

	if (!body_object(rq, rep, &j))
		return 0;
	if ((r = call_open(s, rq->conn, &a)) < 0)
		goto out;
	if (ip_blocked(a.ip, a.c.now, a.cfg)) {
		if ((r = users_note(&a.c, "auth", "anonymous", "login", NULL, "rate_limited",
				    NULL)) == 0)
			reply_ip_limited(rep);
		goto close;
	}
	r = user_login(&a.c, jstr(j, "login"), jstr(j, "password"), &o);
	if (r == ERR_UNAUTHORIZED) {
		ip_fail(a.ip, a.c.now, a.cfg);
		r = reply_signin_failed(rep);
		goto close;
	}
	if (r == 0)
		r = reply_session(s, rep, &o, NULL);
close:
	call_close(s, &a);
out:
	sodium_memzero(&o, sizeof(o));
	json_decref(j);
	return r;
}

/* POST /v1/auth/totp {code} or {recovery_code} */
static int h_totp(struct api_server *s, struct api_req *rq, struct api_reply *rep)
{
	struct auth_call a;
	struct session_info si;
	struct session_out o;
	const char *code, *rec;
	json_t *j = NULL;
	int r;

	memset(&o, 0, sizeof(o));
	if (!body_object(rq, rep, &j))
		return 0;
	code = jstr(j, "code");
	rec = jstr(j, "recovery_code");
	if (!code == !rec) {
		json_decref(j);
		return api_reply_invalid(
		    rep, "%s",
		    T("'code'（6 桁）か 'recovery_code' のどちらか一方を送ってください",
		      "send either 'code' (6 digits) or 'recovery_code'"));
	}
	if ((r = call_open(s, rq->conn, &a)) < 0)
		goto out;
	if (!session_of(&a, rq, rep, &si))
		goto close;
	if (ip_blocked(a.ip, a.c.now, a.cfg)) {
		reply_ip_limited(rep);
		goto close;
	}
	r = session_totp(&a.c, session_cookie(rq), code, rec, &o);
	if (r == ERR_UNAUTHORIZED) {
		ip_fail(a.ip, a.c.now, a.cfg);
		r = api_reply_problem(rep, ERR_UNAUTHORIZED, "%s",
				      T("確認コードが正しくないか、既に使われています",
					"the code is wrong or was already used"));
		goto close;
	}
	if (r == 0)
		r = reply_session(s, rep, &o, NULL);
close:
	call_close(s, &a);
out:
	sodium_memzero(&o, sizeof(o));
	sodium_memzero(&si, sizeof(si));
	json_decref(j);
	return r;
}

/* An SVG of the QR code of text: dark modules as one path, a quiet zone
 * of 4 modules. */
static int qr_svg(const char *text, struct buf *out)
{
	QRcode *q = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	int r, w;

	if (!q)
		return ERR_NOMEM;
	w = q->width;
	if ((r = buf_printf(
		 out,
		 "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
		 "width=\"%d\" height=\"%d\" shape-rendering=\"crispEdges\">"
		 "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/><path fill=\"#000\" d=\"",
		 w + 8, w + 8, (w + 8) * 6, (w + 8) * 6, w + 8, w + 8)) < 0)
		goto out;
	for (int y = 0; y < w; y++)
		for (int x = 0; x < w; x++)
			if ((q->data[y * w + x] & 1) &&
			    (r = buf_printf(out, "M%d %dh1v1h-1z", x + 4, y + 4)) < 0)
				goto out;
	r = buf_puts(out, "\"/></svg>");
out:
	QRcode_free(q);
	return r;
}

/* GET /v1/auth/enrol: a new TOTP secret for the enrolling session, with
 * its otpauth URI and QR code; shown once (a second call makes a new one). */
static int h_enrol_get(struct api_server *s, struct api_req *rq, struct api_reply *rep)
{
	struct auth_call a;
	struct session_info si;
	char secret[40], login[USER_LOGIN_MAX + 1];
	struct buf uri, svg;
	int r;

	buf_init(&uri, 1024);
	buf_init(&svg, 1 << 20);
	secret[0] = '\0';
	if ((r = call_open(s, rq->conn, &a)) < 0)
		goto out;
	if (!session_of(&a, rq, rep, &si))
		goto close;
	r = session_enrol_begin(&a.c, session_cookie(rq), secret, login);
	if (r == ERR_UNAUTHORIZED) {
		r = api_reply_problem(
		    rep, ERR_FORBIDDEN, "%s",
		    T("このセッションでは TOTP を登録できません（登録済みの場合は"
		      "管理者に mamori user reset を依頼してください）",
		      "this session cannot enrol TOTP (if it is already enrolled, "
		      "ask an administrator for mamori user reset)"));
		goto close;
	}
	if (r < 0)
		goto close;
	if ((r = buf_printf(&uri,
			    "otpauth://totp/mamori:%s?secret=%s&issuer=mamori&algorithm=SHA1&"
			    "digits=%d&period=%d",
			    login, secret, TOTP_DIGITS, TOTP_PERIOD)) < 0 ||
	    (r = qr_svg(uri.data, &svg)) < 0)
		goto close;
	rep->status = 200;
	if ((r = buf_printf(&rep->body, "{\"login\":\"%s\",\"secret\":\"%s\",\"uri\":", login,
			    secret)) < 0 ||
	    (r = buf_json_str(&rep->body, uri.data, uri.len)) < 0 ||
	    (r = buf_puts(&rep->body, ",\"qr_svg\":")) < 0 ||
	    (r = buf_json_str(&rep->body, svg.data, svg.len)) < 0 ||
	    (r = buf_printf(&rep->body, ",\"digits\":%d,\"period\":%d,\"algorithm\":\"SHA1\"}",
			    TOTP_DIGITS, TOTP_PERIOD)) < 0)
		goto close;
close:
	call_close(s, &a);
out:
	sodium_memzero(secret, sizeof(secret));
	if (uri.data)
		mem_wipe(uri.data, uri.cap);
	buf_release(&uri);
	buf_release(&svg);
	return r;
}

/* POST /v1/auth/enrol {code} */
static int h_enrol_post(struct api_server *s, struct api_req *rq, struct api_reply *rep)
{
	struct auth_call a;
	struct session_info si;
	struct session_out o;
	char codes[USERS_RECOVERY_CODES][RECOVERY_TEXT_MAX];
	struct buf extra;
	json_t *j = NULL;
	int r;

	memset(&o, 0, sizeof(o));
	memset(codes, 0, sizeof(codes));
	buf_init(&extra, 1024);
	if (!body_object(rq, rep, &j))
		goto done;
	if ((r = call_open(s, rq->conn, &a)) < 0)
		goto out;
	if (!session_of(&a, rq, rep, &si))
		goto close;
	if (ip_blocked(a.ip, a.c.now, a.cfg)) {
		reply_ip_limited(rep);
		goto close;
	}
	r = session_enrol_confirm(&a.c, session_cookie(rq), jstr(j, "code"), codes, &o);
	if (r == ERR_UNAUTHORIZED) {
		ip_fail(a.ip, a.c.now, a.cfg);
		r = api_reply_problem(rep, ERR_UNAUTHORIZED, "%s",
				      T("確認コードが正しくありません（先に GET /v1/auth/enrol で"
					"秘密鍵を受け取ってください）",
					"the code is wrong (get the secret with GET /v1/auth/enrol "
					"first)"));
		goto close;
	}
	if (r < 0)
		goto close;
	if ((r = buf_puts(&extra, ",\"recovery_codes\":[")) < 0)
		goto close;
	for (unsigned i = 0; i < USERS_RECOVERY_CODES; i++)
		if ((r = buf_printf(&extra, "%s\"%s\"", i ? "," : "", codes[i])) < 0)
			goto close;
	if ((r = buf_putc(&extra, ']')) < 0)
		goto close;
	r = reply_session(s, rep, &o, extra.data);
close:
	call_close(s, &a);
	goto out;
done:
	r = 0;
out:
	sodium_memzero(codes, sizeof(codes));
	sodium_memzero(&o, sizeof(o));
	if (extra.data)
		mem_wipe(extra.data, extra.cap);
	buf_release(&extra);
	json_decref(j);
	return r;
}

/* The name of the member of staff id, or "". */
static void staff_name(struct store *st, const char *id, char *out, size_t cap)
{
	struct store_stmt *q = NULL;
	size_t len = 0;
	const char *v;

	out[0] = '\0';
	if (!id || !*id)
		return;
	if (store_prepare(st, "SELECT name FROM staff WHERE id = ?", &q) == 0 &&
	    store_bind_str(q, 1, id) == 0 && store_step(q) == 1 &&
	    (v = store_col_text(q, 0, &len)) && len < cap) {
		memcpy(out, v, len);
		out[len] = '\0';
	}
	store_finalize(q);
}

/* GET /v1/auth/session: who is signed in */
static int h_session(struct api_server *s, struct api_req *rq, struct api_reply *rep)
{
	struct auth_call a;
	struct session_info si;
	char name[512], ts[TS_TEXT_MAX];
	struct buf *b = &rep->body;
	int r;

	if ((r = call_open(s, rq->conn, &a)) < 0)
		return r;
	if (!session_of(&a, rq, rep, &si))
		goto close;
	staff_name(a.c.st, si.staff_id, name, sizeof(name));
	ts_format_jst(si.expires, ts);
	rep->status = 200;
	if ((r = buf_printf(b, "{\"login\":\"%s\",\"actor\":\"user:%s\",\"name\":", si.login,
			    si.login)) < 0 ||
	    (r = buf_json_str(b, name, strlen(name))) < 0 ||
	    (r = buf_printf(b, ",\"role\":\"%s\",\"role_label\":", role_name(si.role))) < 0 ||
	    (r = buf_json_str(b, role_label(si.role), strlen(role_label(si.role)))) < 0 ||
	    (r = buf_puts(b, ",\"dept\":")) < 0 ||
	    (r = si.dept[0] ? buf_json_str(b, si.dept, strlen(si.dept)) : buf_puts(b, "null")) <
		0 ||
	    (r = buf_puts(b, ",\"staff_id\":")) < 0 ||
	    (r = si.staff_id[0] ? buf_json_str(b, si.staff_id, strlen(si.staff_id))
				: buf_puts(b, "null")) < 0 ||
	    (r = buf_printf(b, ",\"stage\":\"%s\",\"csrf_token\":\"%s\",\"expires\":\"%s\"}",
			    stage_name(si.stage), si.csrf, ts)) < 0)
		goto close;
close:
	call_close(s, &a);
	sodium_memzero(&si, sizeof(si));
	return r;
}

/* POST /v1/auth/logout */
static int h_logout(struct api_server *s, struct api_req *rq, struct api_reply *rep)
{
	struct auth_call a;
	struct session_info si;
	int r;

	if ((r = call_open(s, rq->conn, &a)) < 0)
		return r;
	if (!session_of(&a, rq, rep, &si))
		goto close;
	if ((r = session_logout(&a.c, session_cookie(rq))) < 0 ||
	    (r = set_cookie(s, rep, NULL)) < 0)
		goto close;
	rep->status = 200;
	r = buf_puts(&rep->body, "{\"signed_out\":true}");
close:
	call_close(s, &a);
	sodium_memzero(&si, sizeof(si));
	return r;
}

/* POST /v1/auth/password {current, new} */
static int h_password(struct api_server *s, struct api_req *rq, struct api_reply *rep)
{
	struct auth_call a;
	struct session_info si;
	const char *why = NULL;
	json_t *j = NULL;
	int r;

	if (!body_object(rq, rep, &j))
		return 0;
	if ((r = call_open(s, rq->conn, &a)) < 0)
		goto out;
	if (!session_of(&a, rq, rep, &si))
		goto close;
	if (si.stage != SESSION_FULL) {
		r = reply_no_session(rep);
		goto close;
	}
	r = user_password_change(&a.c, session_cookie(rq), jstr(j, "current"), jstr(j, "new"),
				 &why);
	if (r == ERR_UNAUTHORIZED) {
		r = api_reply_problem(
		    rep, ERR_UNAUTHORIZED, "%s",
		    T("現在のパスワードが正しくありません", "the current password is wrong"));
		goto close;
	}
	if (r == ERR_INVALID) {
		r = api_reply_invalid(rep, "%s", why ? why : err_msg(ERR_INVALID));
		goto close;
	}
	if (r == 0) {
		rep->status = 200;
		r = buf_puts(&rep->body, "{\"changed\":true}");
	}
close:
	call_close(s, &a);
out:
	sodium_memzero(&si, sizeof(si));
	json_decref(j);
	return r;
}

/*
 * The first-run token, if tok is it and no user exists yet: creates the
 * first administrator (login, default "admin") and gives its setup token
 * in dbtok. 1 if tok was the first-run token, 0 if not, negative on error
 * (ERR_INVALID with *why for a refused login or password, which leaves the
 * first-run token usable).
 */
static int boot_use(struct auth_call *a, const char *tok, const char *login, const char *pw,
		    char dbtok[static AUTH_TOKEN_MAX], const char **why)
{
	uint8_t h[crypto_hash_sha256_BYTES];
	int64_t n = 0;
	bool match;
	int r;

	if (!tok || strlen(tok) != AUTH_TOKEN_MAX - 1)
		return 0;
	crypto_hash_sha256(h, (const unsigned char *)tok, strlen(tok));
	pthread_mutex_lock(&boot_lock);
	match = boot_expires > a->c.now && sodium_memcmp(h, boot_hash, sizeof(h)) == 0;
	pthread_mutex_unlock(&boot_lock);
	if (!match)
		return 0;
	if (!login)
		login = "admin";
	if (users_login_check(login) < 0) {
		*why = T("ログイン名は英小文字・数字で始まり、英小文字・数字・「.」「_」「-」"
			 "からなる 64 文字以内にしてください",
			 "a login is 1-64 characters of a-z, 0-9, '.', '_' and '-', beginning with "
			 "a letter or digit");
		return ERR_INVALID;
	}
	if ((r = users_password_check(login, pw, why)) < 0)
		return r;
	/* Spent now, under the lock: of two racing uses one finds nothing. */
	pthread_mutex_lock(&boot_lock);
	match = boot_expires > a->c.now && sodium_memcmp(h, boot_hash, sizeof(h)) == 0;
	if (match) {
		boot_expires = 0;
		sodium_memzero(boot_hash, sizeof(boot_hash));
	}
	pthread_mutex_unlock(&boot_lock);
	if (!match)
		return 0;
	if ((r = users_count(a->c.st, &n)) < 0)
		return r;
	if (n > 0)
		return 0;
	if ((r = user_add(&a->c, login, ROLE_ADMIN, NULL, NULL, "system:bootstrap", dbtok, why)) <
	    0)
		return r;
	return 1;
}

/* POST /v1/auth/setup {token, password[, login]} */
static int h_setup(struct api_server *s, struct api_req *rq, struct api_reply *rep)
{
	struct auth_call a;
	struct session_out o;
	char dbtok[AUTH_TOKEN_MAX];
	const char *why = NULL, *tok;
	json_t *j = NULL;
	int r;

	memset(&o, 0, sizeof(o));
	dbtok[0] = '\0';
	if (!body_object(rq, rep, &j))
		return 0;
	if ((r = call_open(s, rq->conn, &a)) < 0)
		goto out;
	if (ip_blocked(a.ip, a.c.now, a.cfg)) {
		reply_ip_limited(rep);
		goto close;
	}
	tok = jstr(j, "token");
	r = boot_use(&a, tok, jstr(j, "login"), jstr(j, "password"), dbtok, &why);
	if (r == 1)
		tok = dbtok;
	if (r >= 0)
		r = user_setup(&a.c, tok, jstr(j, "password"), &o, &why);
	if (r == ERR_UNAUTHORIZED) {
		ip_fail(a.ip, a.c.now, a.cfg);
		r = api_reply_problem(
		    rep, ERR_UNAUTHORIZED, "%s",
		    T("設定用リンクが無効です（使用済み、期限切れ、または誤り）。"
		      "管理者に mamori user reset を依頼してください",
		      "the setup link is not valid (used, expired or wrong); ask an "
		      "administrator for mamori user reset"));
		goto close;
	}
	if (r == ERR_INVALID || r == ERR_EXISTS) {
		r = api_reply_problem(rep, r, "%s", why ? why : err_msg(r));
		goto close;
	}
	if (r == 0)
		r = reply_session(s, rep, &o, NULL);
close:
	call_close(s, &a);
out:
	sodium_memzero(dbtok, sizeof(dbtok));
	sodium_memzero(&o, sizeof(o));
	json_decref(j);
	return r;
}

void auth_serve_ready(struct api_server *s, const char *host, uint16_t port)
{
	struct store *st = NULL;
	char tok[AUTH_TOKEN_MAX], hex[65];
	int64_t n = 1;
	const uint8_t *key;

	/* Load (or create) the key now, so that a problem with it shows at
	 * start rather than at the first enrolment. */
	(void)mfa_key_get(s, &key);
	if (api_pool_get(s, &st) < 0)
		return;
	if (users_count(st, &n) < 0)
		n = 1;
	api_pool_put(s, st);
	if (n > 0)
		return;
	auth_token_new(tok, hex);
	pthread_mutex_lock(&boot_lock);
	crypto_hash_sha256(boot_hash, (const unsigned char *)tok, strlen(tok));
	boot_expires = ts_now() + USERS_SETUP_SEC;
	pthread_mutex_unlock(&boot_lock);
	if (!strcmp(host, "0.0.0.0") || !strcmp(host, "::"))
		host = "127.0.0.1";
	printf("%s\n",
	       T("コンソールの利用者がまだいません。最初の管理者を 24 時間以内に次のリンクで"
		 "作成してください（このサーバーが動いている間だけ有効な 1 回限りのリンク）:",
		 "No console user exists yet. Create the first administrator within 24 "
		 "hours with this one-time link (valid while this server runs):"));
	printf("  %s://%s%s%s:%u/console/#/setup?token=%s\n", s->tls ? "https" : "http",
	       strchr(host, ':') ? "[" : "", host, strchr(host, ':') ? "]" : "", (unsigned)port,
	       tok);
	fflush(stdout);
	log_info("%s", T("最初の管理者を作成する 1 回限りのリンクを標準出力に表示しました",
			 "printed a one-time link for the first administrator on stdout"));
	sodium_memzero(tok, sizeof(tok));
}

static const struct api_route routes[] = {
    {"POST", "/v1/auth/login", h_login, 0, API_BODY_JSON},
    {"POST", "/v1/auth/totp", h_totp, 0, API_BODY_JSON},
    {"GET", "/v1/auth/enrol", h_enrol_get, 0, API_BODY_NONE},
    {"POST", "/v1/auth/enrol", h_enrol_post, 0, API_BODY_JSON},
    {"GET", "/v1/auth/session", h_session, 0, API_BODY_NONE},
    {"POST", "/v1/auth/logout", h_logout, 0, API_BODY_NONE},
    {"POST", "/v1/auth/password", h_password, 0, API_BODY_JSON},
    {"POST", "/v1/auth/setup", h_setup, 0, API_BODY_JSON},
};

const struct api_route_table api_routes_auth = {routes, ARRAY_SIZE(routes)};
