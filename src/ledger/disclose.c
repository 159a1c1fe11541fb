/*
 * disclose.c - disclosure documents for residents and their offline check
 * (see disclose.h and docs/internals/ledger.md, "Disclosure").
 */
#include "base/base.h"

#include <stdarg.h>

#include <jansson.h>
#include <sodium.h>

#include "base/buf.h"
#include "base/i18n.h"
#include "base/timeutil.h"
#include "ledger/disclose.h"
#include "ledger/ledger.h"
#include "ledger/merkle.h"
#include "ledger/note.h"
#include "registry/registry.h"

/* The fields a disclosure shows for each entry, in document order. */
static const char *const FIELDS[] = {"staff_id", "ts", "system", "action", "case_id"};

/* The object that holds the request fields of a record of kind "access" or
 * "decision" naming resident_id, or NULL when the record is of another kind
 * or names someone else. *kind receives the record's kind. */
static json_t *record_subject(json_t *rec, const char *resident_id, const char **kind)
{
	json_t *body = json_object_get(rec, "body");
	const char *k = json_string_value(json_object_get(rec, "kind"));
	json_t *req = NULL;
	const char *rid;

	*kind = k;
	if (!k || !json_is_object(body))
		return NULL;
	if (!strcmp(k, "access"))
		req = body;
	else if (!strcmp(k, "decision"))
		req = json_object_get(body, "request");
	if (!json_is_object(req))
		return NULL;
	rid = json_string_value(json_object_get(req, "resident_id"));
	return rid && !strcmp(rid, resident_id) ? req : NULL;
}

/* Put the shown fields of req into entry (null when absent). */
static int entry_fields(json_t *entry, json_t *req)
{
	for (size_t i = 0; i < ARRAY_SIZE(FIELDS); i++) {
		json_t *v = json_object_get(req, FIELDS[i]);

		if (json_object_set_new(entry, FIELDS[i], v ? json_deep_copy(v) : json_null()) < 0)
			return ERR_NOMEM;
	}
	return 0;
}

static int b64_hash(const uint8_t h[MERKLE_HASH_SIZE], json_t *arr)
{
	char s[sodium_base64_ENCODED_LEN(MERKLE_HASH_SIZE, sodium_base64_VARIANT_ORIGINAL)];

	sodium_bin2base64(s, sizeof(s), h, MERKLE_HASH_SIZE, sodium_base64_VARIANT_ORIGINAL);
	return json_array_append_new(arr, json_string(s)) < 0 ? ERR_NOMEM : 0;
}

int disclose_build(struct ledger *l, const char *resident_id, struct buf *out,
		   struct disclose_result *res)
{
	struct buf note_b, line;
	struct note n;
	struct note_checkpoint cp;
	uint8_t root[MERKLE_HASH_SIZE], leaf[MERKLE_HASH_SIZE], stored[MERKLE_HASH_SIZE];
	uint8_t(*proof)[MERKLE_HASH_SIZE] = NULL;
	json_t *doc = NULL, *entries = NULL, *rec = NULL;
	struct ledger_cursor *cur = NULL;
	uint64_t size, i;
	size_t rlen = strlen(resident_id);
	char *text = NULL;
	int r;

	memset(res, 0, sizeof(*res));
	buf_init(&note_b, NOTE_MAX);
	buf_init(&line, LEDGER_BODY_MAX + 4096);
	if ((r = ledger_latest_checkpoint(l, &note_b)) < 0 ||
	    (r = note_parse(note_b.data, note_b.len, &n, NULL, NULL)) < 0 ||
	    (r = note_checkpoint_parse(n.text, n.text_len, &cp, NULL, NULL)) < 0)
		goto out;
	size = cp.size;
	/* The stored checkpoint must describe this ledger: a document whose
	 * proofs cannot verify would only mislead the resident. */
	if ((r = ledger_root(l, size, root)) < 0)
		goto out;
	if (memcmp(root, cp.root, MERKLE_HASH_SIZE) != 0) {
		r = ERR_CORRUPT;
		goto out;
	}
	if (!(proof = calloc(MERKLE_PROOF_MAX, sizeof(*proof))) ||
	    !(doc = json_object()) || !(entries = json_array())) {
		r = ERR_NOMEM;
		goto out;
	}
	/* Every record, read in order (ledger_cursor_next). */
	if ((r = ledger_cursor_open(l, 0, UINT64_MAX, &cur)) < 0)
		goto out;
	while ((r = ledger_cursor_next(cur, &i, &line)) != 0) {
		const char *kind;
		json_t *req, *entry, *parr;
		size_t np;

		if (r < 0)
			goto out;
		/* Most records do not name the resident: skip them unparsed. */
		if (rlen == 0 || !memmem(line.data, line.len, resident_id, rlen))
			continue;
		json_decref(rec);
		if (!(rec = json_loadb(line.data, line.len, 0, NULL))) {
			r = ERR_CORRUPT;
			goto out;
		}
		if (!(req = record_subject(rec, resident_id, &kind)))
			continue;
		if (i >= size) {
			res->pending++;
			continue;
		}
		merkle_leaf_hash(line.data, line.len, leaf);
		if ((r = ledger_subtree_hash(l, i, 0, stored)) < 0)
			goto out;
		if (memcmp(leaf, stored, MERKLE_HASH_SIZE) != 0) {
			r = ERR_CORRUPT;
			goto out;
		}
		if ((r = merkle_inclusion_proof(ledger_subtree_hash, l, i, size, proof, &np)) < 0)
			goto out;
		if (!(entry = json_object()) || json_array_append_new(entries, entry) < 0 ||
		    !(parr = json_array())) {
			r = ERR_NOMEM;
			goto out;
		}
		if (json_object_set_new(entry, "index", json_integer((json_int_t)i)) < 0 ||
		    json_object_set_new(entry, "kind", json_string(kind)) < 0 ||
		    (r = entry_fields(entry, req)) < 0 ||
		    json_object_set_new(entry, "record", json_stringn(line.data, line.len)) < 0 ||
		    json_object_set_new(entry, "proof", parr) < 0) {
			r = r < 0 ? r : ERR_NOMEM;
			goto out;
		}
		for (size_t k = 0; k < np; k++)
			if ((r = b64_hash(proof[k], parr)) < 0)
				goto out;
		res->count++;
	}
	res->cp_size = size;
	if (json_object_set_new(doc, "v", json_integer(1)) < 0 ||
	    json_object_set_new(doc, "resident_id", json_string(resident_id)) < 0 ||
	    json_object_set_new(doc, "checkpoint", json_stringn(note_b.data, note_b.len)) < 0 ||
	    json_object_set_new(doc, "tree_size", json_integer((json_int_t)size)) < 0 ||
	    json_object_set(doc, "entries", entries) < 0 ||
	    json_object_set_new(doc, "pending", json_integer((json_int_t)res->pending)) < 0 ||
	    json_object_set_new(doc, "pending_note",
				json_string(res->pending
						? "later records naming this resident are pending "
						  "the next checkpoint"
						: "no record is pending the next checkpoint")) < 0) {
		r = ERR_NOMEM;
		goto out;
	}
	if (!(text = json_dumps(doc, JSON_INDENT(1) | JSON_PRESERVE_ORDER))) {
		r = ERR_NOMEM;
		goto out;
	}
	buf_reset(out);
	if ((r = buf_puts(out, text)) < 0 || (r = buf_putc(out, '\n')) < 0)
		goto out;
	r = 0;
out:
	ledger_cursor_close(cur);
	free(text);
	free(proof);
	json_decref(rec);
	json_decref(entries);
	json_decref(doc);
	buf_release(&note_b);
	buf_release(&line);
	return r;
}

static bool strlist_has(const struct strlist *l, const char *s)
{
	for (uint32_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i], s))
			return true;
	return false;
}

int disclose_authorise(const struct registry_data *reg, const char *by, const char *resident_id,
		       bool for_resident, struct buf *why)
{
	const struct reg_staff *st = NULL;
	const struct reg_resident *res = NULL;
	int r;

	buf_reset(why);
	for (size_t i = 0; i < reg->nstaff && !st; i++)
		if (!strcmp(reg->staff[i].id, by))
			st = &reg->staff[i];
	for (size_t i = 0; i < reg->nresidents && !res; i++)
		if (!strcmp(reg->residents[i].id, resident_id))
			res = &reg->residents[i];
	if (!st) {
		r = buf_printf(why, T("職員 %s は登録されていません", "staff %s is not in the registry"),
			       by);
		return r < 0 ? r : ERR_FORBIDDEN;
	}
	if (!strlist_has(&st->roles, DISCLOSE_ROLE)) {
		r = buf_printf(why,
			       T("職員 %s は役割 %s を持たないため開示できません",
				 "staff %s does not hold the role %s needed to disclose"),
			       by, DISCLOSE_ROLE);
		return r < 0 ? r : ERR_FORBIDDEN;
	}
	if (!res) {
		r = buf_printf(why, T("住民 %s は登録されていません",
				      "resident %s is not in the registry"),
			       resident_id);
		return r < 0 ? r : ERR_NOT_FOUND;
	}
	/* DV等支援措置: the person the resident is protected from may be the
	 * proxy or a member of the household, so only the resident may ask. */
	if (!for_resident && strlist_has(&res->flags, "dv_support")) {
		r = buf_printf(why, "%s",
			       T("この住民は DV 等支援措置の対象者です。開示は本人からの請求に限り、"
				 "代理人や同一世帯の方の請求には応じられません。",
				 "this resident is under DV support measures (DV等支援措置): a "
				 "disclosure is made only at the request of the resident, never of a "
				 "proxy or another member of the household."));
		return r < 0 ? r : ERR_FORBIDDEN;
	}
	return 0;
}

int disclose_record(struct ledger *l, const char *actor, const char *resident_id, const char *by,
		    const char *for_what, size_t count, uint64_t cp_size, bool refused)
{
	json_t *body = json_pack("{s:s, s:s, s:s, s:I, s:I, s:b}", "resident_id", resident_id,
				 "by", by, "for", for_what, "count", (json_int_t)count,
				 "checkpoint_size", (json_int_t)cp_size, "refused", (int)refused);
	struct audit_rec rec = {"disclosure", TS_NONE, actor, NULL, 0};
	char *text = NULL;
	int r;

	if (!body || !(text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER))) {
		r = ERR_NOMEM;
		goto out;
	}
	rec.body = text;
	rec.body_len = strlen(text);
	r = ledger_append(l, &rec, NULL);
out:
	free(text);
	json_decref(body);
	return r;
}

/* Put a message in msg; a message that does not fit is dropped, which
 * leaves the error code to speak alone. */
static void say(struct buf *msg, const char *fmt, ...) MM_PRINTF(2, 3);
static void say(struct buf *msg, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (buf_vprintf(msg, fmt, ap) < 0)
		buf_reset(msg);
	va_end(ap);
}

/* Check one entry; 0, or an error with the reason in msg. */
static int verify_entry(json_t *e, size_t k, const char *resident_id,
			const struct note_checkpoint *cp, struct buf *msg)
{
	uint8_t(*proof)[MERKLE_HASH_SIZE] = NULL;
	uint8_t leaf[MERKLE_HASH_SIZE];
	json_t *rec = NULL, *jidx = json_object_get(e, "index"), *parr = json_object_get(e, "proof");
	const char *line = json_string_value(json_object_get(e, "record"));
	const char *kind, *ekind = json_string_value(json_object_get(e, "kind"));
	json_t *req;
	json_int_t idx;
	size_t np, len;
	int r;

	if (!json_is_integer(jidx) || json_integer_value(jidx) < 0 || !line ||
	    !json_is_array(parr) || json_array_size(parr) > MERKLE_PROOF_MAX) {
		r = ERR_INVALID;
		say(msg, T("項目 %zu: 形式が不正です", "entry %zu: malformed"), k);
		goto out;
	}
	idx = json_integer_value(jidx);
	len = json_string_length(json_object_get(e, "record"));
	if ((uint64_t)idx >= cp->size) {
		r = ERR_INVALID;
		say(msg,
				 T("項目 %zu（索引 %lld）: チェックポイントの範囲外です",
				   "entry %zu (index %lld): beyond the checkpoint"),
				 k, (long long)idx);
		goto out;
	}
	/* The shown fields must be those of the record the proof covers. */
	rec = json_loadb(line, len, 0, NULL);
	req = rec ? record_subject(rec, resident_id, &kind) : NULL;
	r = ERR_CRYPTO;
	if (!req || !ekind || strcmp(kind, ekind) ||
	    !json_equal(json_object_get(rec, "index"), jidx)) {
		say(msg,
				 T("項目 %zu（索引 %lld）: 記録がこの住民のこの索引の記録ではありません",
				   "entry %zu (index %lld): the record is not this resident's record "
				   "at this index"),
				 k, (long long)idx);
		goto out;
	}
	for (size_t i = 0; i < ARRAY_SIZE(FIELDS); i++) {
		json_t *a = json_object_get(req, FIELDS[i]), *b = json_object_get(e, FIELDS[i]);

		if (!a)
			a = json_null();
		if (!b || !json_equal(a, b)) {
			say(msg,
					 T("項目 %zu（索引 %lld）: %s が記録と一致しません",
					   "entry %zu (index %lld): %s does not match the record"),
					 k, (long long)idx, FIELDS[i]);
			goto out;
		}
	}
	if (!(proof = calloc(MERKLE_PROOF_MAX, sizeof(*proof)))) {
		r = ERR_NOMEM;
		goto out;
	}
	np = json_array_size(parr);
	for (size_t i = 0; i < np; i++) {
		const char *s = json_string_value(json_array_get(parr, i));
		size_t n = 0;

		if (!s || sodium_base642bin(proof[i], MERKLE_HASH_SIZE, s, strlen(s), NULL, &n, NULL,
					    sodium_base64_VARIANT_ORIGINAL) != 0 ||
		    n != MERKLE_HASH_SIZE) {
			r = ERR_INVALID;
			say(msg,
					 T("項目 %zu（索引 %lld）: 証明のハッシュ %zu が不正です",
					   "entry %zu (index %lld): proof hash %zu is malformed"),
					 k, (long long)idx, i);
			goto out;
		}
	}
	merkle_leaf_hash(line, len, leaf);
	if ((r = merkle_verify_inclusion(leaf, (uint64_t)idx, cp->size,
					 (const uint8_t(*)[MERKLE_HASH_SIZE])proof, np,
					 cp->root)) < 0) {
		say(msg,
				 T("項目 %zu（索引 %lld）: 包含証明が検証できません",
				   "entry %zu (index %lld): the inclusion proof does not verify"),
				 k, (long long)idx);
		goto out;
	}
	r = 0;
out:
	free(proof);
	json_decref(rec);
	return r;
}

int disclose_verify(const char *doc, size_t len, const char *vkey, struct buf *msg, size_t *count)
{
	struct note_vkey vk;
	struct note n;
	struct note_checkpoint cp;
	json_t *d = NULL, *entries;
	const char *rid, *note_text;
	json_t *jsize;
	int r;

	buf_reset(msg);
	*count = 0;
	if ((r = note_vkey_parse(vkey, strlen(vkey), &vk, NULL, NULL)) < 0) {
		say(msg, "%s", T("検証鍵が不正です", "the verifier key is malformed"));
		goto out;
	}
	d = json_loadb(doc, len, 0, NULL);
	rid = json_string_value(json_object_get(d, "resident_id"));
	note_text = json_string_value(json_object_get(d, "checkpoint"));
	jsize = json_object_get(d, "tree_size");
	entries = json_object_get(d, "entries");
	if (!d || !rid || !note_text || !json_is_integer(jsize) || !json_is_array(entries)) {
		r = ERR_INVALID;
		say(msg, "%s", T("開示文書の形式が不正です",
				      "the disclosure document is malformed"));
		goto out;
	}
	if ((r = note_parse(note_text, json_string_length(json_object_get(d, "checkpoint")), &n,
			    NULL, NULL)) < 0 ||
	    (r = note_checkpoint_parse(n.text, n.text_len, &cp, NULL, NULL)) < 0) {
		say(msg, "%s", T("チェックポイントの形式が不正です",
				      "the checkpoint is malformed"));
		goto out;
	}
	if ((r = note_verify(&n, vk.name, vk.pk)) < 0 || cp.origin_len != strlen(vk.name) ||
	    memcmp(cp.origin, vk.name, cp.origin_len) != 0) {
		r = ERR_CRYPTO;
		say(msg, "%s", T("チェックポイントの署名がこの検証鍵で検証できません",
				      "the checkpoint's signature does not verify with this key"));
		goto out;
	}
	if (json_integer_value(jsize) < 0 || (uint64_t)json_integer_value(jsize) != cp.size) {
		r = ERR_CRYPTO;
		say(msg, "%s", T("tree_size がチェックポイントと一致しません",
				      "tree_size does not match the checkpoint"));
		goto out;
	}
	for (size_t k = 0; k < json_array_size(entries); k++) {
		if ((r = verify_entry(json_array_get(entries, k), k, rid, &cp, msg)) < 0)
			goto out;
		(*count)++;
	}
	r = 0;
out:
	json_decref(d);
	return r;
}
