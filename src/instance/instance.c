/*
 * instance.c - the instance directory and the composition of store, ledger,
 * registry and policy that the CLI and the API share.
 */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "base/base.h"
#include "base/arena.h"
#include "base/buf.h"
#include "base/fileio.h"
#include "base/diag.h"
#include "base/i18n.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "instance/instance.h"
#include "watch/thresholds.h"
#include "instance/instance_int.h"
#include "ledger/ledger.h"
#include "ledger/note.h"
#include "policy/policy.h"
#include "registry/registry.h"
#include "store/store.h"

#define CONF_FILE "mamori.conf"
#define CONF_MAX ((size_t)64 * 1024)

struct instance {
	char *dir;
	struct instance_config cfg;
	struct store *store;
	struct ledger *ledger;
	struct policy_engine *engine;
	unsigned flags;
	pthread_mutex_t reload_lock;
	/* The checkpoint thread (instance_checkpointer_start). */
	pthread_t cp_thread;
	bool cp_running;
	bool cp_stop;          /* under cp_mu */
	uint64_t cp_last;      /* size of the first checkpoint, for the thread */
	pthread_mutex_t cp_mu;
	pthread_cond_t cp_cv;
};

/* ---- small file helpers ---- */

static int path_join(struct buf *out, const char *dir, const char *rel)
{
	buf_reset(out);
	if (rel[0] == '/')
		return buf_puts(out, rel);
	return buf_printf(out, "%s/%s", dir, rel);
}

/* Write data to path, created with the given mode; fails if it exists. */
static int file_create(const char *path, const void *data, size_t len, mode_t mode)
{
	const char *p = data;
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0)
		return errno == EEXIST ? ERR_EXISTS : ERR_IO;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			close(fd);
			return ERR_IO;
		}
		p += n;
		len -= (size_t)n;
	}
	if (fsync(fd) < 0 || close(fd) < 0)
		return ERR_IO;
	return 0;
}

int instance_read_file(const char *path, size_t max, struct buf *out)
{
	out->max = max;
	return file_read_all(path, max, out);
}

/* ---- configuration ---- */

static void config_defaults(struct instance_config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->listen, sizeof(c->listen), "127.0.0.1:8080");
	snprintf(c->database, sizeof(c->database), "mamori.db");
	snprintf(c->policy, sizeof(c->policy), "policy.yaml");
	c->threads = 16;
	c->max_body = (size_t)8 << 20;
	c->timeout_sec = 30;
	c->checkpoint_entries = 10000;
	c->checkpoint_seconds = 60;
	c->session_idle = 1800;
	c->session_max = 43200;
	c->login_lock_failures = 5;
	c->login_lock_seconds = 900;
	c->login_ip_failures = 20;
	c->login_ip_window = 600;
	c->segment_entries = LEDGER_SEGMENT_ENTRIES_DEFAULT;
}

static int conf_set_str(char *dst, size_t cap, const char *v, size_t vlen)
{
	if (vlen >= cap)
		return ERR_TOO_LARGE;
	memcpy(dst, v, vlen);
	dst[vlen] = '\0';
	return 0;
}

static int conf_set_num(const char *v, size_t vlen, int64_t min, int64_t max, int64_t *out)
{
	return parse_i64(v, vlen, min, max, out);
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/*
 * Parse mamori.conf: lines "key = value", '#' comments, blank lines. Every
 * problem is reported with the line; unknown keys are errors (a typo in a
 * security setting must not pass silently).
 */
int instance_config_parse(const char *name, const char *text, size_t len,
			  struct instance_config *c, struct diag *d)
{
	size_t pos = 0;
	long line = 0;

	config_defaults(c);
	while (pos < len) {
		const char *l = text + pos, *nl = memchr(l, '\n', len - pos);
		size_t ll = nl ? (size_t)(nl - l) : len - pos, klen, vlen;
		const char *eq, *k, *v;
		int64_t num;
		int r = 0;

		pos += ll + (nl ? 1 : 0);
		line++;
		while (ll > 0 && is_space(l[ll - 1]))
			ll--;
		while (ll > 0 && is_space(*l))
			l++, ll--;
		if (ll == 0 || l[0] == '#')
			continue;
		eq = memchr(l, '=', ll);
		if (!eq) {
			diag_error(d, name, line, 0, NULL, "%s",
				   T("'キー = 値' の形式ではありません",
				     "expected 'key = value'"));
			continue;
		}
		k = l;
		klen = (size_t)(eq - l);
		while (klen > 0 && is_space(k[klen - 1]))
			klen--;
		v = eq + 1;
		vlen = ll - (size_t)(v - l);
		while (vlen > 0 && is_space(*v))
			v++, vlen--;
		if (vlen >= 2 && v[0] == '"' && v[vlen - 1] == '"')
			v++, vlen -= 2;

#define KEY(s) (klen == strlen(s) && !memcmp(k, s, klen))
		if (KEY("name")) {
			r = conf_set_str(c->name, sizeof(c->name), v, vlen);
		} else if (KEY("listen")) {
			r = conf_set_str(c->listen, sizeof(c->listen), v, vlen);
		} else if (KEY("database")) {
			r = conf_set_str(c->database, sizeof(c->database), v, vlen);
		} else if (KEY("policy")) {
			r = conf_set_str(c->policy, sizeof(c->policy), v, vlen);
		} else if (KEY("threads")) {
			if ((r = conf_set_num(v, vlen, 1, 256, &num)) == 0)
				c->threads = (unsigned)num;
		} else if (KEY("max_body")) {
			if ((r = conf_set_num(v, vlen, 1024, (int64_t)1 << 30, &num)) == 0)
				c->max_body = (size_t)num;
		} else if (KEY("checkpoint_entries")) {
			if ((r = conf_set_num(v, vlen, 1, 1000000000, &num)) == 0)
				c->checkpoint_entries = (uint64_t)num;
		} else if (KEY("segment_entries")) {
			if ((r = conf_set_num(v, vlen, 1, (int64_t)1 << 40, &num)) == 0)
				c->segment_entries = (uint64_t)num;
		} else if (KEY("checkpoint_seconds")) {
			if ((r = conf_set_num(v, vlen, 1, 86400, &num)) == 0)
				c->checkpoint_seconds = (unsigned)num;
		} else if (KEY("session_idle")) {
			if ((r = conf_set_num(v, vlen, 60, 86400, &num)) == 0)
				c->session_idle = (unsigned)num;
		} else if (KEY("session_max")) {
			if ((r = conf_set_num(v, vlen, 300, 604800, &num)) == 0)
				c->session_max = (unsigned)num;
		} else if (KEY("login_lock_failures")) {
			if ((r = conf_set_num(v, vlen, 1, 100, &num)) == 0)
				c->login_lock_failures = (unsigned)num;
		} else if (KEY("login_lock_seconds")) {
			if ((r = conf_set_num(v, vlen, 1, 86400, &num)) == 0)
				c->login_lock_seconds = (unsigned)num;
		} else if (KEY("login_ip_failures")) {
			if ((r = conf_set_num(v, vlen, 1, 100000, &num)) == 0)
				c->login_ip_failures = (unsigned)num;
		} else if (KEY("login_ip_window")) {
			if ((r = conf_set_num(v, vlen, 1, 86400, &num)) == 0)
				c->login_ip_window = (unsigned)num;
		} else if (KEY("timeout")) {
			if ((r = conf_set_num(v, vlen, 1, 3600, &num)) == 0)
				c->timeout_sec = (unsigned)num;
		} else {
			diag_error(d, name, line, 1, NULL, T("不明なキー '%.*s'", "unknown key '%.*s'"),
				   (int)klen, k);
			continue;
		}
#undef KEY
		if (r < 0)
			diag_error(d, name, line, (long)(v - l) + 1, NULL,
				   T("キー '%.*s' の値 '%.*s' が不正です（%s）",
				     "key '%.*s': bad value '%.*s' (%s)"),
				   (int)klen, k, (int)vlen, v, err_msg(r));
	}
	return diag_has_errors(d) ? ERR_INVALID : 0;
}

/* ---- init ---- */

static int write_keys(const char *dir, struct diag *d)
{
	unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
	unsigned char seed[crypto_sign_SEEDBYTES];
	char b64[128];
	struct buf path, text;
	int r;

	buf_init(&path, 4096);
	buf_init(&text, 4096);
	if (crypto_sign_keypair(pk, sk) != 0) {
		r = ERR_CRYPTO;
		goto out;
	}
	crypto_sign_ed25519_sk_to_seed(seed, sk);
	sodium_bin2base64(b64, sizeof(b64), seed, sizeof(seed), sodium_base64_VARIANT_ORIGINAL);
	if ((r = buf_printf(&text, "mamori-ed25519-seed-v1\n%s\n", b64)) < 0)
		goto out;
	if ((r = path_join(&path, dir, "keys/signing.key")) < 0)
		goto out;
	if ((r = file_create(path.data, text.data, text.len, 0600)) < 0) {
		diag_error(d, path.data, 0, 0, NULL, "%s", err_msg(r));
		goto out;
	}
	mem_wipe(text.data, text.len);
	buf_reset(&text);
	sodium_bin2base64(b64, sizeof(b64), pk, sizeof(pk), sodium_base64_VARIANT_ORIGINAL);
	if ((r = buf_printf(&text, "mamori-ed25519-public-v1\n%s\n", b64)) < 0)
		goto out;
	if ((r = path_join(&path, dir, "keys/signing.pub")) < 0)
		goto out;
	if ((r = file_create(path.data, text.data, text.len, 0644)) < 0)
		diag_error(d, path.data, 0, 0, NULL, "%s", err_msg(r));
out:
	sodium_memzero(sk, sizeof(sk));
	sodium_memzero(seed, sizeof(seed));
	if (text.data)
		mem_wipe(text.data, text.cap);
	buf_release(&text);
	buf_release(&path);
	return r;
}

static int dir_state(const char *dir, bool *exists, bool *empty)
{
	DIR *dh = opendir(dir);
	struct dirent *e;

	*exists = false;
	*empty = true;
	if (!dh) {
		if (errno == ENOENT)
			return 0;
		return errno == ENOTDIR ? ERR_EXISTS : ERR_IO;
	}
	*exists = true;
	while ((e = readdir(dh)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			*empty = false;
			break;
		}
	closedir(dh);
	return 0;
}

static int json_quote(struct buf *b, const char *s)
{
	return buf_json_str(b, s, strlen(s));
}

/* Fill a fresh directory tmp with everything an instance needs. */
static int init_fill(const char *tmp, const char *name, struct diag *d)
{
	struct buf path, text;
	struct store *st = NULL;
	struct ledger *lg = NULL;
	char errmsg[256] = "";
	const char *pol = policy_default_text();
	int r;

	buf_init(&path, 4096);
	buf_init(&text, 1 << 20);
	if ((r = path_join(&path, tmp, "keys")) < 0)
		goto out;
	if (mkdir(path.data, 0700) < 0) {
		r = ERR_IO;
		goto out;
	}
	if ((r = write_keys(tmp, d)) < 0)
		goto out;
	if ((r = buf_printf(&text,
			    "# mamori instance configuration (docs/config.md)\n"
			    "# mamori インスタンス設定\n"
			    "name = %s\n"
			    "listen = 127.0.0.1:8080\n"
			    "database = mamori.db\n"
			    "policy = policy.yaml\n"
			    "threads = 16\n"
			    "max_body = 8388608\n"
			    "timeout = 30\n",
			    name)) < 0)
		goto out;
	if ((r = path_join(&path, tmp, CONF_FILE)) < 0 ||
	    (r = file_create(path.data, text.data, text.len, 0640)) < 0)
		goto out;
	if ((r = path_join(&path, tmp, "policy.yaml")) < 0 ||
	    (r = file_create(path.data, pol, strlen(pol), 0640)) < 0)
		goto out;
	if ((r = path_join(&path, tmp, "mamori.db")) < 0)
		goto out;
	if ((r = store_open(path.data, true, &st, errmsg, sizeof(errmsg))) < 0) {
		diag_error(d, path.data, 0, 0, NULL, "%s", errmsg);
		goto out;
	}
	if ((r = store_migrate(st)) < 0) {
		diag_error(d, path.data, 0, 0, NULL, "%s", store_errmsg(st));
		goto out;
	}
	if (chmod(path.data, 0600) < 0) {
		r = ERR_IO;
		goto out;
	}
	if ((r = path_join(&path, tmp, "ledger")) < 0)
		goto out;
	if (mkdir(path.data, 0700) < 0) {
		r = ERR_IO;
		goto out;
	}
	if ((r = ledger_open(path.data, LEDGER_WRITE, &lg)) < 0)
		goto out;
	buf_reset(&text);
	if ((r = buf_puts(&text, "{\"name\":")) < 0 || (r = json_quote(&text, name)) < 0 ||
	    (r = buf_printf(&text, ",\"schema\":%d}", store_schema_version(st))) < 0)
		goto out;
	{
		struct audit_rec rec = {"init", TS_NONE, "cli", text.data, text.len};
		r = ledger_append(lg, &rec, NULL);
	}
out:
	if (r < 0 && !diag_has_errors(d))
		diag_error(d, path.data ? path.data : tmp, 0, 0, NULL, "%s", err_msg(r));
	ledger_close(lg);
	store_close(st);
	buf_release(&text);
	buf_release(&path);
	return r;
}

static int rm_tree(const char *dir);

int instance_init(const char *dir, const char *name, struct diag *d)
{
	struct buf tmp, conf;
	bool exists, empty;
	int r;

	buf_init(&tmp, 4096);
	buf_init(&conf, 4096);
	if (!name || !*name)
		name = T("デモ市", "Demo City");
	if (strlen(name) > 200) {
		diag_error(d, NULL, 0, 0, "name", "%s", err_msg(ERR_TOO_LARGE));
		r = ERR_TOO_LARGE;
		goto out;
	}
	if ((r = dir_state(dir, &exists, &empty)) < 0 || (exists && !empty)) {
		if ((r = path_join(&conf, dir, CONF_FILE)) == 0 && access(conf.data, F_OK) == 0)
			diag_error(d, dir, 0, 0, NULL, "%s",
				   T("既に mamori のインスタンスです。変更しません",
				     "is already a mamori instance; not touching it"));
		else
			diag_error(d, dir, 0, 0, NULL, "%s",
				   T("空でない既存のディレクトリです。変更しません",
				     "exists and is not empty; not touching it"));
		r = ERR_EXISTS;
		goto out;
	}
	/*
	 * Build the instance in a sibling directory and rename it into place
	 * only when complete, so that a failure half-way leaves nothing that
	 * looks like an instance.
	 */
	if ((r = buf_printf(&tmp, "%s.init-XXXXXX", dir)) < 0)
		goto out;
	if (!mkdtemp(tmp.data)) {
		diag_error(d, tmp.data, 0, 0, NULL, "%s", strerror(errno));
		r = ERR_IO;
		goto out;
	}
	/* Only the account that runs mamori may enter the instance: it holds
	 * who looked at whom, evidence files and the keys (mkdtemp already
	 * makes it 0700; say so in case of an unusual umask handling). */
	chmod(tmp.data, 0700);
	if ((r = init_fill(tmp.data, name, d)) < 0) {
		rm_tree(tmp.data);
		goto out;
	}
	/* rename(2) replaces an empty directory atomically. */
	if (rename(tmp.data, dir) < 0) {
		diag_error(d, dir, 0, 0, NULL, "%s", strerror(errno));
		rm_tree(tmp.data);
		r = ERR_IO;
	}
out:
	buf_release(&conf);
	buf_release(&tmp);
	return r;
}

/* Remove a directory tree that this process created (no symlinks followed). */
static int rm_tree(const char *dir)
{
	DIR *dh = opendir(dir);
	struct dirent *e;
	struct buf p;

	if (!dh)
		return ERR_IO;
	buf_init(&p, 8192);
	while ((e = readdir(dh))) {
		struct stat sb;
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (path_join(&p, dir, e->d_name) < 0)
			continue;
		if (lstat(p.data, &sb) == 0 && S_ISDIR(sb.st_mode)) {
			char *sub = xstrdup(p.data);
			rm_tree(sub);
			free(sub);
		} else {
			unlink(p.data);
		}
	}
	closedir(dh);
	buf_release(&p);
	return rmdir(dir) == 0 ? 0 : ERR_IO;
}

/* ---- open / close ---- */

int instance_store_open(struct instance *in, struct store **out)
{
	struct buf path;
	char errmsg[256];
	int r;

	buf_init(&path, 4096);
	if ((r = path_join(&path, in->dir, in->cfg.database)) < 0)
		goto out;
	if ((r = store_open(path.data, false, out, errmsg, sizeof(errmsg))) < 0)
		log_error("%s: %s", path.data, errmsg);
out:
	buf_release(&path);
	return r;
}

int instance_open(const char *dir, unsigned flags, struct instance **out, struct diag *d)
{
	struct instance *in = xcalloc(1, sizeof(*in));
	struct buf path, text;
	char errmsg[256] = "";
	int r;

	*out = NULL;
	buf_init(&path, 4096);
	buf_init(&text, CONF_MAX);
	in->dir = xstrdup(dir);
	in->flags = flags;
	pthread_mutex_init(&in->reload_lock, NULL);
	pthread_mutex_init(&in->cp_mu, NULL);
	pthread_cond_init(&in->cp_cv, NULL);
	if (sodium_init() < 0) {
		r = ERR_CRYPTO;
		goto out;
	}
	if ((r = path_join(&path, dir, CONF_FILE)) < 0)
		goto out;
	if ((r = instance_read_file(path.data, CONF_MAX, &text)) < 0) {
		diag_error(d, path.data, 0, 0, NULL, "%s",
			   r == ERR_NOT_FOUND
				   ? T("mamori のインスタンスではありません（mamori.conf がありません）",
				       "not a mamori instance (no mamori.conf)")
				   : err_msg(r));
		goto out;
	}
	if ((r = instance_config_parse(path.data, text.data, text.len, &in->cfg, d)) < 0)
		goto out;
	if ((r = path_join(&path, dir, in->cfg.database)) < 0)
		goto out;
	if ((r = store_open(path.data, false, &in->store, errmsg, sizeof(errmsg))) < 0) {
		diag_error(d, path.data, 0, 0, NULL, "%s", errmsg);
		goto out;
	}
	if ((flags & INSTANCE_WRITE) && (r = store_migrate(in->store)) < 0) {
		diag_error(d, path.data, 0, 0, NULL, "%s: %s", err_msg(r), store_errmsg(in->store));
		goto out;
	}
	if ((r = path_join(&path, dir, "ledger")) < 0)
		goto out;
	if ((r = ledger_open(path.data, (flags & INSTANCE_WRITE) ? LEDGER_WRITE : LEDGER_READ_ONLY,
			     &in->ledger)) < 0 ||
	    (r = ledger_set_segment_entries(in->ledger, in->cfg.segment_entries)) < 0) {
		diag_error(d, path.data, 0, 0, NULL, "%s", err_msg(r));
		goto out;
	}
	if (flags & INSTANCE_ENGINE) {
		in->engine = policy_engine_new();
		if ((r = instance_reload(in, "system", d)) < 0)
			goto out;
	}
	*out = in;
	in = NULL;
out:
	buf_release(&text);
	buf_release(&path);
	instance_close(in);
	return r;
}

void instance_close(struct instance *in)
{
	if (!in)
		return;
	instance_checkpointer_stop(in);
	pthread_cond_destroy(&in->cp_cv);
	pthread_mutex_destroy(&in->cp_mu);
	policy_engine_free(in->engine);
	ledger_close(in->ledger);
	store_close(in->store);
	pthread_mutex_destroy(&in->reload_lock);
	free(in->dir);
	free(in);
}

const char *instance_dir(const struct instance *in)
{
	return in->dir;
}

const struct instance_config *instance_config(const struct instance *in)
{
	return &in->cfg;
}

struct store *instance_store(struct instance *in)
{
	return in->store;
}

struct ledger *instance_ledger(struct instance *in)
{
	return in->ledger;
}

struct policy_engine *instance_engine(struct instance *in)
{
	return in->engine;
}

int instance_path(const struct instance *in, const char *rel, struct buf *out)
{
	return path_join(out, in->dir, rel);
}

/* ---- reload ---- */

static void hex32(const unsigned char h[static 32], char out[static 65])
{
	sodium_bin2hex(out, 65, h, 32);
}

int instance_reload(struct instance *in, const char *actor, struct diag *d)
{
	struct policy *pol = NULL;
	struct registry_data *rd = NULL;
	struct decider *dc = NULL;
	struct store *st = NULL;
	struct buf path, text, body;
	unsigned char h[32];
	char hex[65];
	int r;

	if (!in->engine)
		return ERR_INVALID;
	buf_init(&path, 4096);
	buf_init(&text, (size_t)4 << 20);
	buf_init(&body, 4096);
	pthread_mutex_lock(&in->reload_lock);
	if ((r = path_join(&path, in->dir, in->cfg.policy)) < 0)
		goto out;
	if ((r = instance_read_file(path.data, (size_t)4 << 20, &text)) < 0) {
		diag_error(d, path.data, 0, 0, NULL, "%s", err_msg(r));
		goto out;
	}
	if ((r = policy_parse(path.data, text.data, text.len, &pol, d)) < 0)
		goto out;
	/* A connection of its own: reload may run on any server thread. */
	if ((r = instance_store_open(in, &st)) < 0) {
		diag_error(d, in->cfg.database, 0, 0, NULL, "%s", err_msg(r));
		goto out;
	}
	if ((r = registry_load(st, &rd)) < 0) {
		diag_error(d, in->cfg.database, 0, 0, NULL, "%s: %s", err_msg(r), store_errmsg(st));
		goto out;
	}
	policy_check_registry(pol, rd, d);
	if ((r = decider_build(pol, rd, &dc, d)) < 0)
		goto out;
	crypto_hash_sha256(h, (const unsigned char *)text.data, text.len);
	hex32(h, hex);
	if ((r = buf_printf(&body,
			    "{\"policy_sha256\":\"%s\",\"staff\":%zu,\"residents\":%zu,"
			    "\"cases\":%zu,\"systems\":%zu,\"departments\":%zu}",
			    hex, rd->nstaff, rd->nresidents, rd->ncases, rd->nsystems,
			    rd->ndepartments)) < 0)
		goto out;
	/* A read-only instance (policy show, an auditor's look) changes no
	 * state and records nothing. */
	if (in->flags & INSTANCE_WRITE) {
		struct audit_rec rec = {"reload", TS_NONE, actor, body.data, body.len};
		if ((r = ledger_append(in->ledger, &rec, NULL)) < 0)
			goto out;
	}
	policy_engine_install(in->engine, dc);
	dc = NULL;
	log_info("loaded policy %s (sha256 %.16s…): %zu staff, %zu residents, %zu cases",
		 path.data, hex, rd->nstaff, rd->nresidents, rd->ncases);
out:
	pthread_mutex_unlock(&in->reload_lock);
	decider_free(dc);
	registry_data_free(rd);
	policy_free(pol);
	store_close(st);
	buf_release(&body);
	buf_release(&text);
	buf_release(&path);
	return r;
}

/* ---- decide ---- */

int instance_decide(struct instance *in, const char *json, size_t len, const char *actor,
		    struct buf *out, int *decision)
{
	struct arena *a = arena_new(4096);
	struct decide_req rq;
	struct decide_res res;
	const struct decider *dc = NULL;
	int r;

	buf_reset(out);
	if ((r = decide_req_parse(json, len, ts_now(), a, &rq, out)) < 0)
		goto out;
	dc = policy_engine_acquire(in->engine);
	if (!dc) {
		r = ERR_BUSY;
		goto out;
	}
	if ((r = policy_decide_recorded(dc, in->ledger, &rq, actor, &res)) < 0)
		goto out;
	if ((r = decide_res_json(dc, &res, out)) < 0)
		goto out;
	*decision = (int)res.decision;
out:
	if (dc)
		policy_engine_release(in->engine, dc);
	arena_free(a);
	return r;
}

/* ---- checkpoints ---- */

int instance_origin(const struct instance *in, char *out, size_t cap)
{
	size_t n = 0;
	const char *name = in->cfg.name;
	int w = snprintf(out, cap, "mamori/");

	if (w < 0 || (size_t)w >= cap)
		return ERR_TOO_LARGE;
	n = (size_t)w;
	/* A key name has no space, '+' or control character: those of the
	 * municipality's name (ASCII and ideographic spaces) become '_'. */
	for (size_t i = 0; name[i] != '\0'; i++) {
		unsigned char c = (unsigned char)name[i];
		bool ideo = c == 0xe3 && (unsigned char)name[i + 1] == 0x80 &&
			    (unsigned char)name[i + 2] == 0x80;

		if (n + 2 > cap || n >= NOTE_NAME_MAX)
			return ERR_TOO_LARGE;
		if (ideo || c <= 0x20 || c == '+' || c == 0x7f) {
			out[n++] = '_';
			if (ideo)
				i += 2;
		} else {
			out[n++] = (char)c;
		}
	}
	if (name[0] == '\0') {
		w = snprintf(out + n, cap - n, "instance");
		if (w < 0 || (size_t)w >= cap - n)
			return ERR_TOO_LARGE;
		n += (size_t)w;
	}
	out[n] = '\0';
	return note_name_valid(out, n) ? 0 : ERR_INVALID;
}

/* The Ed25519 seed of keys/signing.key ("mamori-ed25519-seed-v1\n<base64>\n"). */
static int load_seed(const struct instance *in, uint8_t seed[NOTE_SEED_SIZE])
{
	static const char head[] = "mamori-ed25519-seed-v1\n";
	struct buf path, text;
	const char *end = NULL;
	size_t bin_len = 0;
	int r;

	buf_init(&path, 4096);
	buf_init(&text, 4096);
	if ((r = path_join(&path, in->dir, "keys/signing.key")) < 0 ||
	    (r = instance_read_file(path.data, 4096, &text)) < 0)
		goto out;
	r = ERR_INVALID;
	if (text.len < sizeof(head) || memcmp(text.data, head, sizeof(head) - 1) != 0 ||
	    text.data[text.len - 1] != '\n')
		goto out;
	if (sodium_base642bin(seed, NOTE_SEED_SIZE, text.data + sizeof(head) - 1,
			      text.len - sizeof(head), NULL, &bin_len, &end,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    bin_len != NOTE_SEED_SIZE || end != text.data + text.len - 1)
		goto out;
	r = 0;
out:
	if (r < 0)
		log_error(T("署名鍵 keys/signing.key を読めません: %s",
			    "cannot read the signing key keys/signing.key: %s"),
			  err_msg(r));
	if (text.data)
		mem_wipe(text.data, text.cap);
	buf_release(&text);
	buf_release(&path);
	return r;
}

int instance_checkpoint(struct instance *in, struct buf *out, uint64_t *size)
{
	uint8_t seed[NOTE_SEED_SIZE];
	char origin[NOTE_NAME_MAX + 1];
	int r;

	if ((r = instance_origin(in, origin, sizeof(origin))) < 0 || (r = load_seed(in, seed)) < 0)
		goto out;
	r = ledger_checkpoint(in->ledger, origin, seed, out, size);
out:
	sodium_memzero(seed, sizeof(seed));
	return r;
}

/*
 * The checkpoint thread: wakes every second (or when told to stop) and
 * makes a checkpoint when checkpoint_entries records have been appended
 * since the last one, or when checkpoint_seconds have passed and at least
 * one record has.
 */
static void *checkpointer(void *arg)
{
	struct instance *in = arg;
	uint64_t last = in->cp_last, size;
	int64_t last_time = ts_now();
	bool stop;

	/*
	 * The stop flag is read after each wait, and the round that sees it
	 * still makes the last checkpoint: a stop asked for while a
	 * checkpoint was being made (not while waiting) must not skip the
	 * records appended since.
	 */
	do {
		uint64_t now_size;

		pthread_mutex_lock(&in->cp_mu);
		if (!in->cp_stop) {
			struct timespec until;

			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_sec += 1;
			pthread_cond_timedwait(&in->cp_cv, &in->cp_mu, &until);
		}
		stop = in->cp_stop;
		pthread_mutex_unlock(&in->cp_mu);
		now_size = ledger_size(in->ledger);
		if (stop || now_size - last >= in->cfg.checkpoint_entries ||
		    (now_size != last && ts_now() - last_time >= (int64_t)in->cfg.checkpoint_seconds)) {
			if (now_size != last && instance_checkpoint(in, NULL, &size) == 0)
				last = size;
			last_time = ts_now();
		}
	} while (!stop);
	return NULL;
}

int instance_checkpointer_start(struct instance *in)
{
	int r;

	if (!(in->flags & INSTANCE_WRITE))
		return ERR_FORBIDDEN;
	if (in->cp_running)
		return 0;
	/* The first checkpoint now, so that one exists as soon as the
	 * server answers. */
	if ((r = instance_checkpoint(in, NULL, &in->cp_last)) < 0)
		return r;
	in->cp_stop = false;
	if (pthread_create(&in->cp_thread, NULL, checkpointer, in) != 0)
		return ERR_NOMEM;
	in->cp_running = true;
	return 0;
}

void instance_checkpointer_stop(struct instance *in)
{
	if (in == NULL || !in->cp_running)
		return;
	pthread_mutex_lock(&in->cp_mu);
	in->cp_stop = true;
	pthread_cond_broadcast(&in->cp_cv);
	pthread_mutex_unlock(&in->cp_mu);
	pthread_join(in->cp_thread, NULL);
	in->cp_running = false;
}

int instance_watch_thresholds(struct instance *in, struct watch_thresholds *th, struct diag *d)
{
	struct buf path;
	struct policy *p = NULL;
	int r;

	buf_init(&path, 4096);
	if ((r = instance_path(in, instance_config(in)->policy, &path)) < 0)
		goto out;
	if ((r = policy_load_file(path.data, &p, d)) < 0)
		goto out;
	policy_watch_thresholds(p, th);
out:
	policy_free(p);
	buf_release(&path);
	return r;
}
