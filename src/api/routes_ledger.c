/*
 * routes_ledger.c - the routes of the ledger: checkpoints, entries,
 * inclusion and consistency proofs, witnesses' cosignatures, and
 * disclosure to residents (docs/api.md, docs/internals/ledger.md).
 */
#include <pthread.h>

#include <sodium.h>

#include "base/base.h"
#include "base/buf.h"
#include "base/fileio.h"
#include "base/i18n.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "api/api.h"
#include "api/api_int.h"
#include "instance/instance.h"
#include "ledger/disclose.h"
#include "ledger/ledger.h"
#include "ledger/merkle.h"
#include "ledger/note.h"
#include "ledger/verify.h"
#include "registry/registry.h"
#include "store/store.h"

/* ---- the ledger ---- */

/* Most entries one GET /v1/ledger/entries returns. */
#define LEDGER_ENTRIES_MAX 1000

static int put_b64(struct buf *b, const uint8_t h[MERKLE_HASH_SIZE])
{
	char t[sodium_base64_ENCODED_LEN(MERKLE_HASH_SIZE, sodium_base64_VARIANT_ORIGINAL)];

	sodium_bin2base64(t, sizeof(t), h, MERKLE_HASH_SIZE, sodium_base64_VARIANT_ORIGINAL);
	return buf_printf(b, "\"%s\"", t);
}

static int put_proof(struct buf *b, uint8_t (*proof)[MERKLE_HASH_SIZE], size_t n)
{
	int r;

	if ((r = buf_puts(b, ",\"proof\":[")) < 0)
		return r;
	for (size_t i = 0; i < n; i++)
		if ((i > 0 && (r = buf_putc(b, ',')) < 0) || (r = put_b64(b, proof[i])) < 0)
			return r;
	return buf_putc(b, ']');
}

/* ---- cosignatures (docs/internals/ledger.md, "Witnesses") ---- */

/* Serialises the read-merge-write of ledger/checkpoints/<size>.cosigned. */
static pthread_mutex_t cosign_lock = PTHREAD_MUTEX_INITIALIZER;



/* The path of ledger/checkpoints/<size>.<ext> into out. */
static int checkpoint_path(struct api_server *s, uint64_t size, const char *ext, struct buf *out)
{
	char rel[96];
	int n = snprintf(rel, sizeof(rel), "ledger/checkpoints/%" PRIu64 ".%s", size, ext);

	if (n < 0 || (size_t)n >= sizeof(rel))
		return ERR_TOO_LARGE;
	buf_reset(out);
	return instance_path(s->in, rel, out);
}

/*
 * If note (the latest checkpoint) has a cosigned version with the same
 * signed text, replace note with it. A missing or unreadable cosigned
 * file leaves note as it is: the instance's own signature is enough.
 */
static int cosigned_replace(struct api_server *s, struct buf *note)
{
	struct note n, c;
	struct note_checkpoint cp;
	struct buf path, text;
	int r = 0;

	if (note_parse(note->data, note->len, &n, NULL, NULL) < 0 ||
	    note_checkpoint_parse(n.text, n.text_len, &cp, NULL, NULL) < 0)
		return 0;
	buf_init(&path, 8192);
	buf_init(&text, NOTE_MAX);
	if ((r = checkpoint_path(s, cp.size, "cosigned", &path)) < 0)
		goto out;
	pthread_mutex_lock(&cosign_lock);
	r = file_read_all(path.data, NOTE_MAX, &text);
	pthread_mutex_unlock(&cosign_lock);
	if (r < 0) {
		r = 0;
		goto out;
	}
	if (note_parse(text.data, text.len, &c, NULL, NULL) == 0 && c.text_len == n.text_len &&
	    memcmp(c.text, n.text, n.text_len) == 0) {
		buf_reset(note);
		r = buf_append(note, text.data, text.len);
	}
out:
	buf_release(&path);
	buf_release(&text);
	return r;
}

/* Append sig's line to out unless a signature by the same name and key id
 * is in it already (a witness that cosigns twice is counted once). */
static int sig_merge(struct buf *out, const struct note_sig *sig, size_t *added)
{
	struct note cur;
	int r;

	if ((r = note_parse(out->data, out->len, &cur, NULL, NULL)) < 0)
		return r;
	for (size_t i = 0; i < cur.nsigs; i++)
		if (cur.sigs[i].key_id == sig->key_id && cur.sigs[i].name_len == sig->name_len &&
		    memcmp(cur.sigs[i].name, sig->name, sig->name_len) == 0)
			return 0;
	if (cur.nsigs >= NOTE_SIGS_MAX)
		return ERR_TOO_LARGE;
	if ((r = buf_puts(out, "\xe2\x80\x94 ")) < 0 ||
	    (r = buf_append(out, sig->name, sig->name_len)) < 0 || (r = buf_putc(out, ' ')) < 0 ||
	    (r = buf_append(out, sig->b64, sig->b64_len)) < 0 || (r = buf_putc(out, '\n')) < 0)
		return r;
	(*added)++;
	return 0;
}

/*
 * POST /v1/ledger/cosignature: a checkpoint note that the instance signed,
 * with one or more witnesses' signatures added. The text must be that of
 * a stored checkpoint and the instance's signature must verify; the other
 * signature lines are merged into ledger/checkpoints/<size>.cosigned. The
 * instance cannot check a witness's signature (it does not know the
 * witness's key): whoever reads the cosigned checkpoint checks the
 * signatures of the witnesses it trusts.
 */
static int h_ledger_cosignature(struct api_server *s, struct api_req *rq, struct api_reply *rep)
{
	char origin[NOTE_NAME_MAX + 1];
	uint8_t pk[NOTE_KEY_SIZE];
	uint32_t own_id;
	struct note n, stored, old;
	struct note_checkpoint cp;
	struct buf path, st, merged, prev;
	size_t added = 0, cosigs = 0, olen;
	bool locked = false;
	int r;

	buf_init(&path, 8192);
	buf_init(&st, NOTE_MAX);
	buf_init(&merged, NOTE_MAX);
	buf_init(&prev, NOTE_MAX);
	if ((r = note_parse(rq->body.data ? rq->body.data : "", rq->body.len, &n, NULL, NULL)) < 0 ||
	    (r = note_checkpoint_parse(n.text, n.text_len, &cp, NULL, NULL)) < 0) {
		r = api_reply_invalid(rep, T("本文が署名付きチェックポイント（C2SP signed note）ではありません: %s",
					 "the body is not a signed checkpoint (C2SP signed note): %s"),
				  err_msg(r));
		goto out;
	}
	if ((r = instance_origin(s->in, origin, sizeof(origin))) < 0 ||
	    (r = instance_path(s->in, "keys/signing.pub", &path)) < 0 ||
	    (r = ledger_read_public_key(path.data, pk)) < 0 ||
	    (r = checkpoint_path(s, cp.size, "note", &path)) < 0)
		goto out;
	r = file_read_all(path.data, NOTE_MAX, &st);
	if (r == ERR_NOT_FOUND || (r == 0 && (note_parse(st.data, st.len, &stored, NULL, NULL) < 0 ||
					      stored.text_len != n.text_len ||
					      memcmp(stored.text, n.text, n.text_len) != 0))) {
		r = api_reply_invalid(rep, T("この本文はこのインスタンスのサイズ %" PRIu64
					 " のチェックポイントと一致しません",
					 "the text is not this instance's checkpoint of size %" PRIu64),
				  cp.size);
		goto out;
	}
	if (r < 0)
		goto out;
	if (note_verify(&n, origin, pk) != 0) {
		r = api_reply_invalid(rep, "%s",
				  T("インスタンスの署名がないか、検証できません",
				    "the instance's signature is missing or does not verify"));
		goto out;
	}
	own_id = note_key_id(origin, strlen(origin), pk);
	for (size_t i = 0; i < n.nsigs; i++)
		if (!(n.sigs[i].key_id == own_id && n.sigs[i].name_len == strlen(origin) &&
		      memcmp(n.sigs[i].name, origin, n.sigs[i].name_len) == 0))
			cosigs++;
	if (cosigs == 0) {
		r = api_reply_invalid(rep, "%s",
				  T("インスタンス以外の署名（副署名）がありません",
				    "the note carries no signature but the instance's (no cosignature)"));
		goto out;
	}
	/* Start from the stored note (the instance's own signature), add the
	 * cosignatures already kept, then the new ones. */
	pthread_mutex_lock(&cosign_lock);
	locked = true;
	if ((r = buf_append(&merged, st.data, st.len)) < 0 ||
	    (r = checkpoint_path(s, cp.size, "cosigned", &path)) < 0)
		goto out;
	r = file_read_all(path.data, NOTE_MAX, &prev);
	if (r == 0 && note_parse(prev.data, prev.len, &old, NULL, NULL) == 0 &&
	    old.text_len == n.text_len && memcmp(old.text, n.text, n.text_len) == 0) {
		for (size_t i = 0; i < old.nsigs; i++) {
			size_t ignored = 0;
			if ((r = sig_merge(&merged, &old.sigs[i], &ignored)) < 0)
				goto out;
		}
	} else if (r < 0 && r != ERR_NOT_FOUND) {
		goto out;
	}
	olen = merged.len;
	for (size_t i = 0; i < n.nsigs; i++) {
		if ((r = sig_merge(&merged, &n.sigs[i], &added)) == ERR_TOO_LARGE) {
			r = api_reply_invalid(rep, T("署名は %d 個までです", "at most %d signatures"),
					  NOTE_SIGS_MAX);
			goto out;
		}
		if (r < 0)
			goto out;
	}
	if (merged.len != olen && (r = file_write_atomic(path.data, merged.data, merged.len, 0644)) < 0)
		goto out;
	if ((r = note_parse(merged.data, merged.len, &old, NULL, NULL)) < 0)
		goto out;
	rep->status = 200;
	r = buf_printf(&rep->body, "{\"size\":%" PRIu64 ",\"added\":%zu,\"signatures\":%zu}",
		       cp.size, added, old.nsigs);
out:
	if (locked)
		pthread_mutex_unlock(&cosign_lock);
	buf_release(&path);
	buf_release(&st);
	buf_release(&merged);
	buf_release(&prev);
	return r;
}

static int h_ledger_checkpoint(struct api_server *s, struct api_req *rq, struct api_reply *rep)
{
	int r;

	(void)rq;
	r = ledger_latest_checkpoint(instance_ledger(s->in), &rep->body);
	if (r == ERR_NOT_FOUND) {
		rep->err = ERR_NOT_FOUND;
		return buf_puts(&rep->detail, T("チェックポイントはまだありません",
					       "there is no checkpoint yet"));
	}
	if (r < 0)
		return r;
	/* With witnesses' cosignatures of this very checkpoint, serve those. */
	if ((r = cosigned_replace(s, &rep->body)) < 0)
		return r;
	rep->status = 200;
	rep->ctype = "text/plain; charset=utf-8";
	return 0;
}

static int h_ledger_inclusion(struct api_server *s, struct api_req *rq, struct api_reply *rep)
{
	struct ledger *l = instance_ledger(s->in);
	uint8_t proof[MERKLE_PROOF_MAX][MERKLE_HASH_SIZE], root[MERKLE_HASH_SIZE],
	    leaf[MERKLE_HASH_SIZE];
	uint64_t index, size, have = ledger_size(l);
	size_t n = 0;
	int r;

	if (!api_query_u64(rq, rep, "index", MERKLE_SIZE_MAX, &index) ||
	    !api_query_u64(rq, rep, "size", MERKLE_SIZE_MAX, &size))
		return 0;
	if (size > have)
		return api_reply_invalid(rep,
				     T("size %" PRIu64 " は台帳の記録数 %" PRIu64 " を超えています",
				       "size %" PRIu64 " is beyond the %" PRIu64 " entries of the ledger"),
				     size, have);
	if (index >= size)
		return api_reply_invalid(rep,
				     T("index は size より小さくしてください（index %" PRIu64
				       "、size %" PRIu64 "）",
				       "index must be less than size (index %" PRIu64 ", size %" PRIu64 ")"),
				     index, size);
	if ((r = merkle_inclusion_proof(ledger_subtree_hash, l, index, size, proof, &n)) < 0 ||
	    (r = ledger_root(l, size, root)) < 0 || (r = ledger_subtree_hash(l, index, 0, leaf)) < 0)
		return r;
	rep->status = 200;
	if ((r = buf_printf(&rep->body, "{\"index\":%" PRIu64 ",\"size\":%" PRIu64 ",\"leaf_hash\":",
			    index, size)) < 0 ||
	    (r = put_b64(&rep->body, leaf)) < 0 || (r = buf_puts(&rep->body, ",\"root\":")) < 0 ||
	    (r = put_b64(&rep->body, root)) < 0 || (r = put_proof(&rep->body, proof, n)) < 0)
		return r;
	return buf_putc(&rep->body, '}');
}

static int h_ledger_consistency(struct api_server *s, struct api_req *rq, struct api_reply *rep)
{
	struct ledger *l = instance_ledger(s->in);
	uint8_t proof[MERKLE_PROOF_MAX][MERKLE_HASH_SIZE], r1[MERKLE_HASH_SIZE],
	    r2[MERKLE_HASH_SIZE];
	uint64_t from, to, have = ledger_size(l);
	size_t n = 0;
	int r;

	if (!api_query_u64(rq, rep, "from", MERKLE_SIZE_MAX, &from) ||
	    !api_query_u64(rq, rep, "to", MERKLE_SIZE_MAX, &to))
		return 0;
	if (to > have)
		return api_reply_invalid(rep,
				     T("to %" PRIu64 " は台帳の記録数 %" PRIu64 " を超えています",
				       "to %" PRIu64 " is beyond the %" PRIu64 " entries of the ledger"),
				     to, have);
	if (from > to)
		return api_reply_invalid(rep,
				     T("from は to 以下にしてください（from %" PRIu64 "、to %" PRIu64 "）",
				       "from must not exceed to (from %" PRIu64 ", to %" PRIu64 ")"),
				     from, to);
	if ((r = merkle_consistency_proof(ledger_subtree_hash, l, from, to, proof, &n)) < 0 ||
	    (r = ledger_root(l, from, r1)) < 0 || (r = ledger_root(l, to, r2)) < 0)
		return r;
	rep->status = 200;
	if ((r = buf_printf(&rep->body, "{\"from\":%" PRIu64 ",\"to\":%" PRIu64 ",\"from_root\":",
			    from, to)) < 0 ||
	    (r = put_b64(&rep->body, r1)) < 0 || (r = buf_puts(&rep->body, ",\"to_root\":")) < 0 ||
	    (r = put_b64(&rep->body, r2)) < 0 || (r = put_proof(&rep->body, proof, n)) < 0)
		return r;
	return buf_putc(&rep->body, '}');
}

static int h_ledger_entries(struct api_server *s, struct api_req *rq, struct api_reply *rep)
{
	struct ledger *l = instance_ledger(s->in);
	uint64_t start, end, have = ledger_size(l), i;
	struct buf line;
	int r = 0;

	if (!api_query_u64(rq, rep, "start", MERKLE_SIZE_MAX, &start) ||
	    !api_query_u64(rq, rep, "end", MERKLE_SIZE_MAX, &end))
		return 0;
	if (end > have)
		return api_reply_invalid(rep,
				     T("end %" PRIu64 " は台帳の記録数 %" PRIu64 " を超えています",
				       "end %" PRIu64 " is beyond the %" PRIu64 " entries of the ledger"),
				     end, have);
	if (start >= end || end - start > LEDGER_ENTRIES_MAX)
		return api_reply_invalid(rep,
				     T("start < end かつ end - start ≦ %d にしてください（start %" PRIu64
				       "、end %" PRIu64 "）",
				       "need start < end and end - start <= %d (start %" PRIu64
				       ", end %" PRIu64 ")"),
				     LEDGER_ENTRIES_MAX, start, end);
	buf_init(&line, SIZE_MAX);
	if ((r = buf_puts(&rep->body, "{\"entries\":[")) < 0)
		goto out;
	/* Records go in verbatim (each is one JSON object); a response that
	 * would pass its limit stops early, and "end" says where. */
	for (i = start; i < end; i++) {
		if ((r = ledger_read(l, i, &line)) < 0)
			goto out;
		if (rep->body.len + line.len + 64 > API_RESPONSE_MAX && i > start)
			break;
		if ((i > start && (r = buf_putc(&rep->body, ',')) < 0) ||
		    (r = buf_append(&rep->body, line.data, line.len)) < 0)
			goto out;
	}
	if ((r = buf_printf(&rep->body, "],\"start\":%" PRIu64 ",\"end\":%" PRIu64 "}", start, i)) < 0)
		goto out;
	rep->status = 200;
out:
	buf_release(&line);
	return r;
}

/*
 * GET /v1/disclosure/{resident}?by=STAFF&for=resident|proxy: the
 * disclosure document of disclose_build, under the rules of
 * disclose_authorise; every disclosure, made or refused, is recorded.
 */
static int h_disclosure(struct api_server *s, struct api_req *rq, struct api_reply *rep)
{
	const char *resident = api_param(rq, 0);
	const char *by = api_query(rq, "by");
	const char *forw = api_query(rq, "for");
	struct registry_data *reg = NULL;
	struct store *st = NULL;
	struct disclose_result res = {0};
	struct ledger *l = instance_ledger(s->in);
	bool for_resident;
	int r, ar;

	if (!by || !*by)
		return api_reply_invalid(rep, T("クエリー引数 '%s' が必要です",
					    "query argument '%s' is required"),
				     "by");
	if (!forw || (strcmp(forw, "resident") != 0 && strcmp(forw, "proxy") != 0))
		return api_reply_invalid(rep, "%s",
				     T("クエリー引数 'for' は resident か proxy にしてください",
				       "query argument 'for' must be resident or proxy"));
	for_resident = !strcmp(forw, "resident");
	if ((r = api_pool_get(s, &st)) < 0)
		return r;
	r = registry_load_pair(st, by, resident, &reg);
	api_pool_put(s, st);
	if (r < 0)
		return r;
	if ((ar = disclose_authorise(reg, by, resident, for_resident, &rep->detail)) < 0) {
		rep->err = ar;
		r = disclose_record(l, rq->actor.name, resident, by, forw, 0, 0, true);
		goto out;
	}
	r = disclose_build(l, resident, &rep->body, &res);
	if (r == ERR_NOT_FOUND) {
		rep->err = ERR_NOT_FOUND;
		r = buf_puts(&rep->detail, T("チェックポイントはまだありません",
					     "there is no checkpoint yet"));
		goto out;
	}
	if (r < 0)
		goto out;
	/* Recorded before it is sent, so no disclosure leaves unrecorded. */
	if ((r = disclose_record(l, rq->actor.name, resident, by, forw, res.count, res.cp_size,
				 false)) < 0)
		goto out;
	rep->status = 200;
out:
	registry_data_free(reg);
	return r;
}

/* ---- verification on demand (the console's "verify now") ---- */

/* One verification at a time: it reads the whole ledger. */
static pthread_mutex_t verify_lock = PTHREAD_MUTEX_INITIALIZER;

/* The last result, kept in DIR/ledger-verified.json for GET. */
#define VERIFIED_FILE "ledger-verified.json"

static int verify_result_json(const struct ledger_verify_report *v, int r, const char *actor,
			      struct buf *b)
{
	char root[65], now[TS_TEXT_MAX];
	int e;

	ts_format_jst(ts_now(), now);
	if ((e = buf_printf(b, "{\"ok\":%s,\"at\":\"%s\",\"by\":", r == 0 ? "true" : "false",
			    now)) < 0 ||
	    (e = buf_json_str(b, actor, strlen(actor))) < 0 ||
	    (e = buf_printf(b,
			    ",\"entries\":%" PRIu64 ",\"hashes\":%" PRIu64
			    ",\"checkpoints\":%" PRIu64 ",\"segments\":%" PRIu64
			    ",\"sealed_only\":%" PRIu64,
			    v->entries, v->hashes, v->checkpoints, v->segments, v->sealed_only)) < 0)
		return e;
	if (r == 0) {
		sodium_bin2hex(root, sizeof(root), v->root, sizeof(v->root));
		return buf_printf(b, ",\"root\":\"%s\"}", root);
	}
	if ((e = buf_printf(b, ",\"entry\":%" PRId64 ",\"file\":", v->entry)) < 0 ||
	    (e = buf_json_str(b, v->file, strnlen(v->file, sizeof(v->file)))) < 0 ||
	    (e = buf_printf(b, ",\"offset\":%" PRIu64 ",\"message\":", v->offset)) < 0 ||
	    (e = buf_json_str(b, v->msg, strnlen(v->msg, sizeof(v->msg)))) < 0)
		return e;
	return buf_putc(b, '}');
}

/*
 * POST /v1/ledger/verify: run the whole verification (as `mamori verify`)
 * now. The result is the answer (200 whether the ledger agrees or not:
 * "ok" says which), is kept for GET /v1/ledger/verify, and is itself
 * recorded in the ledger (kind "ledger_verify").
 */
static int h_ledger_verify_run(struct api_server *s, struct api_req *rq, struct api_reply *rep)
{
	struct ledger_verify_report *v = NULL;
	struct buf path, pub, keep;
	uint8_t pk[32];
	int r, vr;

	if (pthread_mutex_trylock(&verify_lock) != 0)
		return api_reply_problem(rep, ERR_BUSY, "%s",
					 T("検証は実行中です。終わってから結果を見てください",
					   "a verification is already running; see its result when it ends"));
	buf_init(&path, 4096);
	buf_init(&pub, 4096);
	buf_init(&keep, 64 * 1024);
	v = xcalloc(1, sizeof(*v));
	if ((r = instance_path(s->in, "keys/signing.pub", &pub)) < 0 ||
	    (r = ledger_read_public_key(pub.data, pk)) < 0 ||
	    (r = instance_path(s->in, "ledger", &path)) < 0)
		goto out;
	vr = ledger_verify(path.data, pk, v);
	if (vr < 0 && vr != ERR_CORRUPT && vr != ERR_NOT_FOUND) {
		r = vr;
		goto out;
	}
	if ((r = verify_result_json(v, vr, rq->actor.name, &keep)) < 0)
		goto out;
	{
		struct audit_rec rec = {"ledger_verify", TS_NONE, rq->actor.name, keep.data, keep.len};
		if ((r = ledger_append(instance_ledger(s->in), &rec, NULL)) < 0)
			goto out;
	}
	buf_reset(&path);
	if ((r = instance_path(s->in, VERIFIED_FILE, &path)) < 0 ||
	    (r = file_write_atomic(path.data, keep.data, keep.len, 0600)) < 0)
		goto out;
	if ((r = buf_append(&rep->body, keep.data, keep.len)) < 0)
		goto out;
	rep->status = 200;
out:
	pthread_mutex_unlock(&verify_lock);
	free(v);
	buf_release(&path);
	buf_release(&pub);
	buf_release(&keep);
	return r;
}

/* GET /v1/ledger/verify: the last verification made through the API. */
static int h_ledger_verify_last(struct api_server *s, struct api_req *rq, struct api_reply *rep)
{
	struct buf path;
	int r;

	(void)rq;
	buf_init(&path, 4096);
	if ((r = instance_path(s->in, VERIFIED_FILE, &path)) < 0)
		goto out;
	r = file_read_all(path.data, 64 * 1024, &rep->body);
	if (r == ERR_NOT_FOUND) {
		buf_reset(&rep->body);
		r = api_reply_problem(rep, ERR_NOT_FOUND, "%s",
				      T("台帳はまだ API から検証されていません",
					"the ledger has not been verified through the API yet"));
		goto out;
	}
	if (r < 0)
		goto out;
	rep->status = 200;
out:
	buf_release(&path);
	return r;
}

/* Who may read the ledger's entries (who accessed whom) and the inclusion
 * proofs: the security office, the CISO, CSIRT, auditors, and the business
 * systems that verify their own records. The checkpoint and consistency
 * proofs are public, for witnesses and anyone holding an old checkpoint. */
#define ROLES_LEDGER_READ (ROLE_ADMIN | ROLE_CISO | ROLE_CSIRT | ROLE_AUDITOR | ROLE_SYSTEM)
/* Disclosure is made by authorised staff, or by the resident-facing
 * business system acting for them (ledger.md, "Disclosure"). */
#define ROLES_DISCLOSE (ROLE_ADMIN | ROLE_CISO | ROLE_CSIRT | ROLE_SYSTEM)

static const struct api_route routes[] = {
    {"GET", "/v1/ledger/checkpoint", h_ledger_checkpoint, 0, API_BODY_NONE},
    {"GET", "/v1/ledger/proof/inclusion", h_ledger_inclusion, ROLES_LEDGER_READ, API_BODY_NONE},
    {"GET", "/v1/ledger/proof/consistency", h_ledger_consistency, 0, API_BODY_NONE},
    {"GET", "/v1/ledger/entries", h_ledger_entries, ROLES_LEDGER_READ, API_BODY_NONE},
    /* Witnesses post their cosignatures of a checkpoint (a signed note). */
    {"POST", "/v1/ledger/cosignature", h_ledger_cosignature, ROLE_WITNESS | ROLE_ADMIN,
     API_BODY_TEXT},
    {"GET", "/v1/disclosure/{}", h_disclosure, ROLES_DISCLOSE, API_BODY_NONE},
    /* Verification on demand: the auditors' and the security office's. */
    {"POST", "/v1/ledger/verify", h_ledger_verify_run,
     ROLE_ADMIN | ROLE_CISO | ROLE_CSIRT | ROLE_AUDITOR, API_BODY_NONE},
    {"GET", "/v1/ledger/verify", h_ledger_verify_last,
     ROLE_ADMIN | ROLE_CISO | ROLE_CSIRT | ROLE_AUDITOR, API_BODY_NONE},
};

const struct api_route_table api_routes_ledger = {routes, ARRAY_SIZE(routes)};
