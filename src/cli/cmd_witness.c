/*
 * cmd_witness.c - `mamori witness`: an independent party (an external
 * auditor, the prefecture) that keeps the last checkpoint it accepted from
 * an instance, checks that each new one extends it (an RFC 9162
 * consistency proof) and cosigns it. A checkpoint that does not extend the
 * accepted one means the instance rewrote its history or shows different
 * histories to different readers (a split view); the witness refuses it
 * and keeps its state. See docs/internals/ledger.md, "Witnesses".
 *
 * STATEDIR holds witness.key (the Ed25519 seed, mode 0600), witness.vkey
 * (the verifier key line, which also names the witness) and latest (the
 * last accepted checkpoint, cosigned).
 */
#include <fcntl.h>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "base/base.h"
#include "base/buf.h"
#include "base/fileio.h"
#include "base/i18n.h"
#include "cli/cli.h"
#include "ledger/merkle.h"
#include "ledger/note.h"
#include "ledger/verify.h"

#define WITNESS_RESPONSE_MAX ((size_t)1 << 20)
#define WITNESS_TIMEOUT_SEC 10
#define SEED_HEAD "mamori-ed25519-seed-v1\n"

static void witness_usage(FILE *f)
{
	fprintf(
	    f, "%s",
	    T("使い方: mamori witness init STATEDIR --name NAME\n"
	      "        mamori witness check STATEDIR --url http://HOST:PORT --vkey 検証鍵\n"
	      "                             [--api-key キー]\n"
	      "        mamori witness vkey インスタンスDIR\n"
	      "  init: 立会人（witness）の Ed25519 鍵を作り、検証鍵の行を表示します。\n"
	      "  check: インスタンスの最新チェックポイントを取得して署名を検証し、前回受理した\n"
	      "  チェックポイントとの一貫性証明を確かめて副署名し、インスタンスへ送ります。\n"
	      "  履歴の書き換え（分岐した履歴）を見つけたときは状態を変えずに終了コード 1。\n"
	      "  vkey: インスタンスの検証鍵の行を表示します（立会人に渡すもの）。\n",
	      "usage: mamori witness init STATEDIR --name NAME\n"
	      "       mamori witness check STATEDIR --url http://HOST:PORT --vkey VERIFIER_KEY\n"
	      "                            [--api-key KEY]\n"
	      "       mamori witness vkey INSTANCE_DIR\n"
	      "  init: create the witness's Ed25519 key and print its verifier key line.\n"
	      "  check: fetch the instance's latest checkpoint, verify its signature and its\n"
	      "  consistency with the checkpoint accepted before, cosign it and send the\n"
	      "  cosignature to the instance. A rewritten history (a split view) is refused:\n"
	      "  the state is kept and the exit code is 1.\n"
	      "  vkey: print the instance's verifier key line (to give to witnesses).\n"));
}

/* ---- files ---- */

static int path_in(char *out, size_t cap, const char *dir, const char *name)
{
	int n = snprintf(out, cap, "%s/%s", dir, name);

	return n < 0 || (size_t)n >= cap ? ERR_TOO_LARGE : 0;
}



/* The witness's seed and verifier key from dir. */
static int load_witness(const char *dir, uint8_t seed[NOTE_SEED_SIZE], struct note_vkey *vk)
{
	char path[4096];
	struct buf t;
	const char *end = NULL;
	size_t bin = 0, hl = strlen(SEED_HEAD);
	int r;

	buf_init(&t, 4096);
	if ((r = path_in(path, sizeof(path), dir, "witness.key")) < 0 ||
	    (r = file_read_all(path, 4096, &t)) < 0)
		goto out;
	r = ERR_INVALID;
	if (t.len <= hl || memcmp(t.data, SEED_HEAD, hl) != 0 || t.data[t.len - 1] != '\n' ||
	    sodium_base642bin(seed, NOTE_SEED_SIZE, t.data + hl, t.len - hl - 1, NULL, &bin, &end,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    bin != NOTE_SEED_SIZE || end != t.data + t.len - 1)
		goto out;
	if ((r = path_in(path, sizeof(path), dir, "witness.vkey")) < 0 ||
	    (r = file_read_all(path, 4096, &t)) < 0)
		goto out;
	while (t.len > 0 && t.data[t.len - 1] == '\n')
		t.len--;
	r = note_vkey_parse(t.data, t.len, vk, NULL, NULL);
out:
	if (t.data)
		mem_wipe(t.data, t.cap);
	buf_release(&t);
	if (r < 0)
		cli_error(
		    T("%s: 立会人の鍵を読めません（mamori witness init で作成）: %s",
		      "%s: cannot read the witness key (create it with mamori witness init): %s"),
		    dir, err_msg(r));
	return r;
}

/* ---- a small HTTP/1.1 client ---- */

struct url {
	char host[256];
	char port[8];
};

/* "http://host[:port][/]" into u; no other path, no https. */
static int url_parse(const char *s, struct url *u)
{
	const char *h, *colon, *end;
	size_t hl;

	if (strncmp(s, "http://", 7) != 0)
		return ERR_INVALID;
	h = s + 7;
	end = h + strlen(h);
	if (end > h && end[-1] == '/')
		end--;
	if (memchr(h, '/', (size_t)(end - h)) || memchr(h, '@', (size_t)(end - h)))
		return ERR_INVALID;
	colon = memchr(h, ':', (size_t)(end - h));
	hl = (size_t)((colon ? colon : end) - h);
	if (hl == 0 || hl >= sizeof(u->host))
		return ERR_INVALID;
	memcpy(u->host, h, hl);
	u->host[hl] = '\0';
	if (colon) {
		int64_t p;
		size_t pl = (size_t)(end - colon - 1);
		if (pl == 0 || pl >= sizeof(u->port) || parse_i64(colon + 1, pl, 1, 65535, &p) < 0)
			return ERR_INVALID;
		snprintf(u->port, sizeof(u->port), "%d", (int)p);
	} else {
		snprintf(u->port, sizeof(u->port), "80");
	}
	return 0;
}

static int send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return ERR_IO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * One request on a new connection (Connection: close); the response body
 * into body and the status into *status. Every send and receive times out
 * after WITNESS_TIMEOUT_SEC; a response larger than WITNESS_RESPONSE_MAX
 * is ERR_TOO_LARGE; a chunked or malformed one ERR_INVALID.
 */
static int http_do(const struct url *u, const char *method, const char *path, const char *headers,
		   const char *body, size_t body_len, int *status, struct buf *out)
{
	struct addrinfo hints = {0}, *ai = NULL, *a;
	struct timeval tv = {WITNESS_TIMEOUT_SEC, 0};
	struct buf req, resp;
	char tmp[8192];
	const char *sep, *p;
	int fd = -1, r;
	int64_t st;

	buf_init(&req, 64 * 1024 + NOTE_MAX);
	buf_init(&resp, WITNESS_RESPONSE_MAX + 16384);
	buf_reset(out);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(u->host, u->port, &hints, &ai) != 0) {
		r = ERR_IO;
		goto out;
	}
	r = ERR_IO;
	for (a = ai; a; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
		if (fd < 0)
			continue;
		/* On Linux SO_SNDTIMEO also bounds connect(). */
		if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0 &&
		    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == 0 &&
		    connect(fd, a->ai_addr, a->ai_addrlen) == 0)
			break;
		close(fd);
		fd = -1;
	}
	if (fd < 0)
		goto out;
	if ((r = buf_printf(&req,
			    "%s %s HTTP/1.1\r\nHost: %s:%s\r\nConnection: close\r\n"
			    "User-Agent: mamori-witness\r\n%sContent-Length: %zu\r\n\r\n",
			    method, path, u->host, u->port, headers ? headers : "", body_len)) <
		0 ||
	    (body_len > 0 && (r = buf_append(&req, body, body_len)) < 0) ||
	    (r = send_all(fd, req.data, req.len)) < 0)
		goto out;
	for (;;) {
		ssize_t got = recv(fd, tmp, sizeof(tmp), 0);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			r = ERR_IO;
			goto out;
		}
		if (got == 0)
			break;
		if ((r = buf_append(&resp, tmp, (size_t)got)) < 0)
			goto out;
	}
	r = ERR_INVALID;
	if (resp.len < 12 || memcmp(resp.data, "HTTP/1.", 7) != 0 ||
	    parse_i64(resp.data + 9, 3, 100, 599, &st) < 0)
		goto out;
	sep = strstr(resp.data, "\r\n\r\n");
	if (!sep)
		goto out;
	/* Header names are case-insensitive; look for chunked and a length. */
	for (p = resp.data; p < sep; p++) {
		if (*p != '\n')
			continue;
		if (!strncasecmp(p + 1, "transfer-encoding:", 18))
			goto out; /* mamori serve sends a length; others are refused */
		if (!strncasecmp(p + 1, "content-length:", 15)) {
			const char *v = p + 16, *e = strchr(v, '\r');
			int64_t cl;
			while (*v == ' ')
				v++;
			if (!e || parse_i64(v, (size_t)(e - v), 0, INT64_MAX, &cl) < 0 ||
			    (uint64_t)cl != resp.len - (size_t)(sep + 4 - resp.data))
				goto out;
		}
	}
	sep += 4;
	if ((size_t)(resp.data + resp.len - sep) > WITNESS_RESPONSE_MAX) {
		r = ERR_TOO_LARGE;
		goto out;
	}
	if ((r = buf_append(out, sep, (size_t)(resp.data + resp.len - sep))) < 0)
		goto out;
	*status = (int)st;
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	if (ai)
		freeaddrinfo(ai);
	buf_release(&req);
	buf_release(&resp);
	return r;
}

/* ---- init ---- */

static int witness_init(const char *dir, const char *name)
{
	uint8_t seed[NOTE_SEED_SIZE], pk[NOTE_KEY_SIZE], sk[crypto_sign_SECRETKEYBYTES];
	char b64[sodium_base64_ENCODED_LEN(NOTE_SEED_SIZE, sodium_base64_VARIANT_ORIGINAL)];
	char path[4096];
	struct buf t, vk;
	int r, fd;

	buf_init(&t, 4096);
	buf_init(&vk, 4096);
	if (!note_name_valid(name, strlen(name)) || strlen(name) > NOTE_NAME_MAX) {
		cli_error(T("名前 '%s' は鍵の名前に使えません（空白・'+'・制御文字は不可）",
			    "'%s' cannot name a key (no spaces, '+' or control characters)"),
			  name);
		r = ERR_INVALID;
		goto out;
	}
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		cli_error(
		    T("%s: ディレクトリを作れません: %s", "%s: cannot create the directory: %s"),
		    dir, strerror(errno));
		r = ERR_IO;
		goto out;
	}
	randombytes_buf(seed, sizeof(seed));
	crypto_sign_seed_keypair(pk, sk, seed);
	mem_wipe(sk, sizeof(sk));
	sodium_bin2base64(b64, sizeof(b64), seed, sizeof(seed), sodium_base64_VARIANT_ORIGINAL);
	if ((r = buf_printf(&t, SEED_HEAD "%s\n", b64)) < 0 ||
	    (r = note_vkey_format(&vk, name, pk)) < 0 || (r = buf_putc(&vk, '\n')) < 0 ||
	    (r = path_in(path, sizeof(path), dir, "witness.key")) < 0)
		goto out;
	/* O_EXCL: an existing witness key is never overwritten. */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		cli_error(T("%s: 作成できません（すでにある立会人は上書きしません）: %s",
			    "%s: cannot create it (an existing witness is never overwritten): %s"),
			  path, strerror(errno));
		r = ERR_IO;
		goto out;
	}
	if (write(fd, t.data, t.len) != (ssize_t)t.len || fsync(fd) != 0) {
		close(fd);
		unlink(path);
		r = ERR_IO;
		goto out;
	}
	close(fd);
	if ((r = path_in(path, sizeof(path), dir, "witness.vkey")) < 0 ||
	    (r = file_write_atomic(path, vk.data, vk.len, 0644)) < 0)
		goto out;
	fputs(vk.data, stdout);
out:
	mem_wipe(seed, sizeof(seed));
	mem_wipe(b64, sizeof(b64));
	if (t.data)
		mem_wipe(t.data, t.cap);
	buf_release(&t);
	buf_release(&vk);
	return r;
}

/* ---- check ---- */

static void hex_root(const uint8_t root[NOTE_HASH_SIZE], char out[2 * NOTE_HASH_SIZE + 1])
{
	sodium_bin2hex(out, 2 * NOTE_HASH_SIZE + 1, root, NOTE_HASH_SIZE);
}

static void split_view(uint64_t m, const uint8_t mroot[NOTE_HASH_SIZE], uint64_t n,
		       const uint8_t nroot[NOTE_HASH_SIZE], const char *why)
{
	char a[2 * NOTE_HASH_SIZE + 1], b[2 * NOTE_HASH_SIZE + 1];

	hex_root(mroot, a);
	hex_root(nroot, b);
	fprintf(stderr, "%s",
		T("mamori: !!! 分岐した履歴（スプリットビュー）: "
		  "監査台帳の履歴が書き換えられています !!!\n",
		  "mamori: !!! SPLIT VIEW: the audit ledger's history has been rewritten !!!\n"));
	fprintf(
	    stderr,
	    T("  受理済み: サイズ %" PRIu64 "、ルート %s\n  新しい:   サイズ %" PRIu64
	      "、ルート %s\n  理由: %s\n  "
	      "このチェックポイントには副署名せず、受理済みの状態を保ちます。\n",
	      "  accepted: size %" PRIu64 ", root %s\n  new:      size %" PRIu64
	      ", root %s\n  reason: %s\n  This checkpoint is not cosigned; the accepted state is "
	      "kept.\n"),
	    m, a, n, b, why);
}

/* Decode a base64 hash from a JSON string. */
static int json_hash(json_t *v, uint8_t out[MERKLE_HASH_SIZE])
{
	const char *s = json_string_value(v), *end = NULL;
	size_t bin = 0;

	if (!s ||
	    sodium_base642bin(out, MERKLE_HASH_SIZE, s, strlen(s), NULL, &bin, &end,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    bin != MERKLE_HASH_SIZE || *end != '\0')
		return ERR_INVALID;
	return 0;
}

/* Fetch and verify the consistency proof from (m, mroot) to (n, nroot):
 * 0 when consistent, ERR_CRYPTO when not, other errors when the proof
 * could not be had. */
static int check_consistency(const struct url *u, uint64_t m, const uint8_t mroot[32], uint64_t n,
			     const uint8_t nroot[32])
{
	uint8_t(*proof)[MERKLE_HASH_SIZE] = NULL;
	char path[128];
	struct buf body;
	json_t *j = NULL, *arr;
	size_t np;
	int status = 0, r;

	buf_init(&body, WITNESS_RESPONSE_MAX);
	snprintf(path, sizeof(path), "/v1/ledger/proof/consistency?from=%" PRIu64 "&to=%" PRIu64, m,
		 n);
	if ((r = http_do(u, "GET", path, NULL, NULL, 0, &status, &body)) < 0)
		goto out;
	r = ERR_INVALID;
	if (status != 200) {
		cli_error(T("一貫性証明を取得できません（HTTP %d）: %.300s",
			    "cannot fetch the consistency proof (HTTP %d): %.300s"),
			  status, body.data ? body.data : "");
		goto out;
	}
	j = json_loadb(body.data, body.len, 0, NULL);
	arr = j ? json_object_get(j, "proof") : NULL;
	if (!json_is_array(arr) || json_array_size(arr) > MERKLE_PROOF_MAX) {
		cli_error("%s", T("一貫性証明の形式が正しくありません",
				  "the consistency proof is malformed"));
		goto out;
	}
	np = json_array_size(arr);
	proof = xcalloc(np ? np : 1, MERKLE_HASH_SIZE);
	for (size_t i = 0; i < np; i++)
		if ((r = json_hash(json_array_get(arr, i), proof[i])) < 0) {
			cli_error("%s", T("一貫性証明の形式が正しくありません",
					  "the consistency proof is malformed"));
			goto out;
		}
	/* The roots come from the two signed checkpoints, never from the
	 * answer: only the proof hashes are taken from the instance. */
	r = merkle_verify_consistency(m, n, mroot, nroot, (const uint8_t(*)[MERKLE_HASH_SIZE])proof,
				      np) == 0
		? 0
		: ERR_CRYPTO;
out:
	free(proof);
	json_decref(j);
	buf_release(&body);
	return r;
}

/* Rebuild the note from its text and the signatures by key (name, pk)
 * only, dropping any other cosignature the instance served with it. */
static int note_keep_signer(const struct note *n, const struct note_vkey *vk, struct buf *out)
{
	size_t nl = strlen(vk->name);
	int r;

	buf_reset(out);
	if ((r = buf_append(out, n->text, n->text_len)) < 0 || (r = buf_putc(out, '\n')) < 0)
		return r;
	for (size_t i = 0; i < n->nsigs; i++) {
		const struct note_sig *s = &n->sigs[i];
		if (s->key_id != vk->key_id || s->name_len != nl || memcmp(s->name, vk->name, nl))
			continue;
		if ((r = buf_puts(out, "\xe2\x80\x94 ")) < 0 ||
		    (r = buf_append(out, s->name, s->name_len)) < 0 ||
		    (r = buf_putc(out, ' ')) < 0 || (r = buf_append(out, s->b64, s->b64_len)) < 0 ||
		    (r = buf_putc(out, '\n')) < 0)
			return r;
	}
	return 0;
}

static int witness_check(const char *dir, const char *url_s, const char *vkey_s, const char *apikey)
{
	uint8_t seed[NOTE_SEED_SIZE];
	struct note_vkey me, inst;
	struct url u;
	struct buf body, old, cos, hdr;
	struct note n, on;
	struct note_checkpoint cp, ocp;
	char path[4096], rootx[2 * NOTE_HASH_SIZE + 1];
	bool have_old = false;
	int status = 0, r, rc = EXIT_FAIL;

	buf_init(&body, WITNESS_RESPONSE_MAX);
	buf_init(&old, NOTE_MAX);
	buf_init(&cos, NOTE_MAX);
	buf_init(&hdr, 1024);
	if (url_parse(url_s, &u) < 0) {
		cli_error(T("--url '%s' は http://ホスト:ポート の形にしてください",
			    "--url '%s' must be http://host:port"),
			  url_s);
		rc = EXIT_USAGE;
		goto out;
	}
	if (note_vkey_parse(vkey_s, strlen(vkey_s), &inst, NULL, NULL) < 0) {
		cli_error(T("--vkey が検証鍵の行（名前+鍵ID+鍵）ではありません",
			    "--vkey is not a verifier key line (name+keyid+key)"));
		rc = EXIT_USAGE;
		goto out;
	}
	if (load_witness(dir, seed, &me) < 0)
		goto out;
	/* The new checkpoint, signed by the instance. */
	if ((r = http_do(&u, "GET", "/v1/ledger/checkpoint", NULL, NULL, 0, &status, &body)) < 0) {
		cli_error(T("%s: チェックポイントを取得できません: %s",
			    "%s: cannot fetch the checkpoint: %s"),
			  url_s, err_msg(r));
		goto out;
	}
	if (status != 200) {
		cli_error(T("%s: チェックポイントを取得できません（HTTP %d）",
			    "%s: cannot fetch the checkpoint (HTTP %d)"),
			  url_s, status);
		goto out;
	}
	if ((r = note_parse(body.data, body.len, &n, NULL, NULL)) < 0 ||
	    (r = note_checkpoint_parse(n.text, n.text_len, &cp, NULL, NULL)) < 0) {
		cli_error(T("受け取ったチェックポイントの形式が正しくありません: %s",
			    "the checkpoint received is malformed: %s"),
			  err_msg(r));
		goto out;
	}
	if ((r = note_verify(&n, inst.name, inst.pk)) != 0) {
		cli_error(T("チェックポイントの署名を検証鍵 %s で確認できません: %s",
			    "the checkpoint's signature does not verify with the key %s: %s"),
			  inst.name, err_msg(r));
		goto out;
	}
	if (cp.origin_len != strlen(inst.name) || memcmp(cp.origin, inst.name, cp.origin_len)) {
		cli_error(T("チェックポイントの origin が検証鍵の名前 %s と違います",
			    "the checkpoint's origin differs from the key name %s"),
			  inst.name);
		goto out;
	}
	/* The checkpoint accepted before, if any. */
	if ((r = path_in(path, sizeof(path), dir, "latest")) < 0)
		goto out;
	r = file_read_all(path, NOTE_MAX, &old);
	if (r == 0) {
		if (note_parse(old.data, old.len, &on, NULL, NULL) < 0 ||
		    note_checkpoint_parse(on.text, on.text_len, &ocp, NULL, NULL) < 0 ||
		    note_verify(&on, inst.name, inst.pk) != 0) {
			cli_error(
			    T("%s: 受理済みのチェックポイントが壊れているか、別の鍵のものです",
			      "%s: the accepted checkpoint is damaged or under another key"),
			    path);
			goto out;
		}
		have_old = true;
	} else if (r != ERR_NOT_FOUND) {
		cli_error(T("%s: 読めません: %s", "%s: cannot read it: %s"), path, err_msg(r));
		goto out;
	}
	if (have_old) {
		if (cp.size < ocp.size) {
			split_view(ocp.size, ocp.root, cp.size, cp.root,
				   T("台帳が受理済みのサイズより小さくなっています",
				     "the ledger is smaller than the size already accepted"));
			goto out;
		}
		r = check_consistency(&u, ocp.size, ocp.root, cp.size, cp.root);
		if (r == ERR_CRYPTO) {
			split_view(
			    ocp.size, ocp.root, cp.size, cp.root,
			    cp.size == ocp.size
				? T("同じサイズでルートが異なります",
				    "the same size with a different root")
				: T("一貫性証明が成り立ちません（過去の記録が変わっています）",
				    "the consistency proof fails (past entries have changed)"));
			goto out;
		}
		if (r < 0) {
			cli_error(T("一貫性証明を確認できません: %s",
				    "cannot check the consistency proof: %s"),
				  err_msg(r));
			goto out;
		}
	}
	/* Cosign: the text, the instance's signature and ours. */
	if ((r = note_keep_signer(&n, &inst, &cos)) < 0 ||
	    (r = note_add_sig(&cos, me.name, seed)) < 0 ||
	    (r = file_write_atomic(path, cos.data, cos.len, 0644)) < 0) {
		cli_error(
		    T("%s: 副署名を保存できません: %s", "%s: cannot store the cosignature: %s"),
		    path, err_msg(r));
		goto out;
	}
	hex_root(cp.root, rootx);
	printf(T("受理して副署名しました: サイズ %" PRIu64 "、ルート %s%s\n",
		 "accepted and cosigned: size %" PRIu64 ", root %s%s\n"),
	       cp.size, rootx,
	       have_old ? T("（一貫性を確認）", " (consistent)") : T("（初回）", " (first)"));
	if (!apikey) {
		printf("%s", T("--api-key がないので副署名はインスタンスへ送っていません\n",
			       "no --api-key: the cosignature was not sent to the instance\n"));
		rc = EXIT_OK;
		goto out;
	}
	if ((r = buf_printf(
		 &hdr, "Authorization: Bearer %s\r\nContent-Type: text/plain; charset=utf-8\r\n",
		 apikey)) < 0 ||
	    (r = http_do(&u, "POST", "/v1/ledger/cosignature", hdr.data, cos.data, cos.len, &status,
			 &body)) < 0) {
		cli_error(T("副署名を送れません: %s", "cannot send the cosignature: %s"),
			  err_msg(r));
		goto out;
	}
	if (status != 200) {
		cli_error(T("インスタンスが副署名を受け付けません（HTTP %d）: %.300s",
			    "the instance refused the cosignature (HTTP %d): %.300s"),
			  status, body.data ? body.data : "");
		goto out;
	}
	rc = EXIT_OK;
out:
	mem_wipe(seed, sizeof(seed));
	if (hdr.data)
		mem_wipe(hdr.data, hdr.cap);
	buf_release(&body);
	buf_release(&old);
	buf_release(&cos);
	buf_release(&hdr);
	return rc;
}

/* The verifier key line of the instance in dir: its checkpoints' origin
 * (from ledger/checkpoints/latest) and keys/signing.pub. */
static int witness_vkey(const char *dir)
{
	char path[4096];
	uint8_t pk[NOTE_KEY_SIZE];
	char origin[NOTE_NAME_MAX + 1];
	struct buf t, vk;
	struct note n;
	struct note_checkpoint cp;
	int r;

	buf_init(&t, NOTE_MAX);
	buf_init(&vk, 4096);
	if ((r = path_in(path, sizeof(path), dir, "keys/signing.pub")) < 0 ||
	    (r = ledger_read_public_key(path, pk)) < 0 ||
	    (r = path_in(path, sizeof(path), dir, "ledger/checkpoints/latest")) < 0 ||
	    (r = file_read_all(path, NOTE_MAX, &t)) < 0 ||
	    (r = note_parse(t.data, t.len, &n, NULL, NULL)) < 0 ||
	    (r = note_checkpoint_parse(n.text, n.text_len, &cp, NULL, NULL)) < 0)
		goto out;
	if (cp.origin_len > NOTE_NAME_MAX) {
		r = ERR_INVALID;
		goto out;
	}
	memcpy(origin, cp.origin, cp.origin_len);
	origin[cp.origin_len] = '\0';
	if ((r = note_vkey_format(&vk, origin, pk)) < 0)
		goto out;
	printf("%s\n", vk.data);
out:
	if (r < 0)
		cli_error(T("%s: 検証鍵を作れません（keys/signing.pub と ledger/checkpoints/latest "
			    "が必要）: %s",
			    "%s: cannot make the verifier key (needs keys/signing.pub and "
			    "ledger/checkpoints/latest): %s"),
			  dir, err_msg(r));
	buf_release(&t);
	buf_release(&vk);
	return r;
}

int cmd_witness(int argc, char **argv)
{
	const char *help = NULL, *name = NULL, *url = NULL, *vkey = NULL, *apikey = NULL;
	struct cli_opt opts[] = {{"help", false, &help},
				 {"name", true, &name},
				 {"url", true, &url},
				 {"vkey", true, &vkey},
				 {"api-key", true, &apikey}};
	char *pos[2];
	int n;

	n = cli_parse(argc, argv, opts, ARRAY_SIZE(opts), pos, 2);
	if (help && n >= 0) {
		witness_usage(stdout);
		return EXIT_OK;
	}
	if (n != 2) {
		witness_usage(stderr);
		return EXIT_USAGE;
	}
	if (sodium_init() < 0)
		return EXIT_FAIL;
	if (!strcmp(pos[0], "init") && name && !url && !vkey && !apikey)
		return witness_init(pos[1], name) < 0 ? EXIT_FAIL : EXIT_OK;
	if (!strcmp(pos[0], "vkey") && !name && !url && !vkey && !apikey)
		return witness_vkey(pos[1]) < 0 ? EXIT_FAIL : EXIT_OK;
	if (!strcmp(pos[0], "check") && url && vkey && !name)
		return witness_check(pos[1], url, vkey, apikey);
	witness_usage(stderr);
	return EXIT_USAGE;
}
