/*
 * soa.c - the Statement of Applicability (適用宣言書): one record of kind
 * soa per Annex A control, seeded on first use, and the statement as a
 * whole with the live evidence mamori holds for the controls it enforces
 * or evidences (people.h, docs/isms-people.md "Statement of
 * Applicability").
 */
#include <sodium.h>

#include "base/base.h"
#include "base/buf.h"
#include "base/diag.h"
#include "base/fileio.h"
#include "base/i18n.h"
#include "base/timeutil.h"
#include "isms/controls.h"
#include "isms/isms_int.h"
#include "isms/people.h"
#include "isms/people_int.h"
#include "ledger/ledger.h"
#include "ledger/note.h"
#include "registry/registry.h"
#include "watch/alerts.h"

/* ---- the kind ---- */

static const char *const statuses[] = {"planned", "partial", "implemented", NULL};

static const struct isms_field f_soa[] = {
    {"control", ISMS_TEXT, true, CONTROL_ID_MAX, 0, 0, NULL, NULL, "管理策（附属書A）",
     "Control (Annex A)"},
    {"title", ISMS_TEXT, false, 200, 0, 0, NULL, NULL, "管理策名（自動）", "Title (set by mamori)"},
    {"applicable", ISMS_BOOL, true, 0, 0, 0, NULL, NULL, "適用", "Applicable"},
    {"justification", ISMS_TEXT, true, 2000, 0, 0, NULL, NULL, "適用・除外の理由",
     "Justification (of inclusion or exclusion)"},
    {"status", ISMS_ENUM, false, 0, 0, 0, statuses, NULL, "実施状況", "Implementation status"},
    {"evidence", ISMS_STRLIST, false, 500, 0, 50, NULL, NULL, "証跡へのリンク", "Evidence links"},
    {"owner", ISMS_TEXT, false, 200, 0, 0, NULL, NULL, "責任者", "Owner"},
    {"notes", ISMS_MARKDOWN, false, 0, 0, 0, NULL, NULL, "備考", "Notes"},
};

/* The control must be one of Annex A; its title is copied from the
 * library; an applicable control needs an implementation status. */
static int soa_check(struct isms_ctx *c, json_t *rec, struct diag *d)
{
	const char *id = pp_str(rec, "control");
	const struct annex_control *ac = annex_control_find(id);

	if (!ac) {
		diag_error(d, NULL, 0, 0, "control",
			   T("附属書A に管理策 '%s' "
			     "はありません（5.1〜5.37、6.1〜6.8、7.1〜7.14、8.1〜8.34）",
			     "no control '%s' in Annex A (5.1-5.37, 6.1-6.8, 7.1-7.14, 8.1-8.34)"),
			   id ? id : "");
		return 0;
	}
	{
		/* One entry per control: the statement is keyed by it. */
		static const char *const names[] = {"control"};
		const char *values[] = {ac->id};
		int r = pp_check_unique(c, &isms_kind_soa, names, values, 1, d);
		if (r < 0)
			return r;
	}
	if (pp_bool(rec, "applicable") && !pp_str(rec, "status"))
		diag_error(
		    d, NULL, 0, 0, "status",
		    T("適用する管理策には実施状況（planned、partial、implemented）が必要です",
		      "an applicable control needs a status (planned, partial, implemented)"));
	return pp_set_str(rec, "title", ac->en);
}

const struct isms_kind isms_kind_soa = {
    .name = "soa",
    .ja = "適用宣言書",
    .en = "Statement of Applicability",
    .id_prefix = "SOA",
    .fields = f_soa,
    .nfields = ARRAY_SIZE(f_soa),
    .check = soa_check,
};

/* ---- seeding ---- */

static const char *live_names(unsigned src, char *out, size_t cap)
{
	static const struct {
		unsigned bit;
		const char *name;
	} names[] = {
	    {SOA_LIVE_DECISIONS, "decisions"}, {SOA_LIVE_LEDGER, "ledger"},
	    {SOA_LIVE_TRAINING, "training"},   {SOA_LIVE_ALERTS, "alerts"},
	    {SOA_LIVE_INCIDENTS, "incidents"}, {SOA_LIVE_CONTRACTS, "contracts"},
	    {SOA_LIVE_NOTICES, "notices"},     {SOA_LIVE_PLEDGES, "pledges"},
	};
	size_t n = 0;

	out[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		int w;
		if (!(src & names[i].bit))
			continue;
		w = snprintf(out + n, cap - n, "%s%s", n ? ", " : "", names[i].name);
		if (w < 0 || (size_t)w >= cap - n)
			break;
		n += (size_t)w;
	}
	return out;
}

int isms_soa_seed(struct isms_ctx *c, size_t *created)
{
	struct isms_ctx rc;
	struct actor ra;
	json_t *have = NULL;
	bool *seen = NULL, tx = false;
	size_t made = 0, i;
	json_t *o;
	struct diag d;
	int r;

	*created = 0;
	diag_init(&d, 10);
	if (!isms_may_write_kind(c, &isms_kind_soa)) {
		r = ERR_FORBIDDEN;
		goto out;
	}
	/* Only active entries count: a control is excluded by marking its
	 * entry not applicable, so a control whose entry was retired has no
	 * entry and is seeded again. */
	pp_reader_ctx(c, &rc, &ra);
	if ((r = pp_all(&rc, &isms_kind_soa, NULL, 0, &have)) < 0)
		goto out;
	seen = xcalloc(annex_ncontrols, sizeof(*seen));
	json_array_foreach(have, i, o)
	{
		const struct annex_control *ac = annex_control_find(pp_str(o, "control"));
		if (ac)
			seen[ac - annex_controls] = true;
	}
	if ((r = isms_tx_begin(c)) < 0)
		goto out;
	tx = true;
	for (size_t k = 0; k < annex_ncontrols; k++) {
		const struct annex_control *ac = &annex_controls[k];
		unsigned src = soa_live_sources(ac->id);
		char names[128], just[512], id[ISMS_ID_MAX];
		json_t *rec;

		if (seen[k])
			continue;
		if (src)
			snprintf(just, sizeof(just),
				 "初期登録: 適用。mamori が証跡を示す（%s）。理由を確認すること / "
				 "Seeded: applicable; mamori holds live evidence (%s). Review the "
				 "justification.",
				 live_names(src, names, sizeof(names)), names);
		else
			snprintf(just, sizeof(just),
				 "初期登録: 適用（要見直し）。適用または除外の理由を記入すること / "
				 "Seeded: applicable (to be reviewed). State why the control is "
				 "included or excluded.");
		rec = json_pack("{s:s, s:b, s:s, s:s}", "control", ac->id, "applicable", 1,
				"justification", just, "status", "planned");
		if (!rec) {
			r = ERR_NOMEM;
			goto out;
		}
		r = isms_create(c, &isms_kind_soa, rec, &d, id);
		json_decref(rec);
		if (r < 0)
			goto out;
		made++;
	}
	if ((r = isms_tx_commit(c)) < 0)
		goto out;
	tx = false;
	*created = made;
out:
	if (tx)
		isms_tx_rollback(c);
	free(seen);
	json_decref(have);
	diag_release(&d);
	return r;
}

/* ---- live evidence ---- */

static int set_new(json_t *o, const char *key, json_t *v)
{
	return !v || json_object_set_new(o, key, v) < 0 ? ERR_NOMEM : 0;
}

static json_t *source_obj(const char *name, const char *ja, const char *en, const char *link)
{
	return json_pack("{s:s, s:s, s:s, s:s?}", "source", name, "ja", ja, "en", en, "link", link);
}

static int ev_decisions(const struct soa_env *env, json_t **out)
{
	struct buf b;
	unsigned char h[crypto_hash_sha256_BYTES];
	char hex[crypto_hash_sha256_BYTES * 2 + 1];
	json_t *o;
	int r;

	*out = o = source_obj("decisions",
			      "判定サービス（POST "
			      "/v1/"
			      "decide）がポリシーに従い、資格・研修・誓約・区域・多要素認証・最小権"
			      "限・業務上の必要性を判定し、すべての判定を台帳に記録する",
			      "The decision service (POST /v1/decide) checks employment, training, "
			      "pledge, zone, MFA, least privilege and need-to-know against the "
			      "policy and records every decision in the ledger",
			      "/v1/decide");
	if (!o)
		return ERR_NOMEM;
	buf_init(&b, (size_t)16 << 20);
	r = env->policy_path ? file_read_all(env->policy_path, (size_t)16 << 20, &b)
			     : ERR_NOT_FOUND;
	if (r == 0) {
		crypto_hash_sha256(h, (const unsigned char *)(b.data ? b.data : ""), b.len);
		sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
		r = set_new(o, "policy_sha256", json_string(hex));
	} else {
		r = set_new(o, "policy_sha256", json_null());
	}
	buf_release(&b);
	return r;
}

static int ev_ledger(struct isms_ctx *c, const struct soa_env *env, json_t **out)
{
	struct buf note;
	struct note n;
	struct note_checkpoint cp;
	uint8_t root[NOTE_HASH_SIZE];
	uint64_t size = c->lg ? ledger_size(c->lg) : 0;
	const char *status = "no_checkpoint", *sig = "unchecked";
	json_t *o;
	int r;

	*out = o = source_obj(
	    "ledger", "監査台帳（RFC 9162 の Merkle 木、Ed25519 で署名したチェックポイント）",
	    "The audit ledger (RFC 9162 Merkle tree, checkpoints signed with Ed25519)",
	    "/v1/ledger/checkpoint");
	if (!o)
		return ERR_NOMEM;
	buf_init(&note, NOTE_MAX);
	if ((r = set_new(o, "entries", json_integer((json_int_t)size))) < 0)
		goto out;
	if (!c->lg) {
		r = 0;
		goto done;
	}
	r = ledger_latest_checkpoint(c->lg, &note);
	if (r == ERR_NOT_FOUND) {
		r = 0;
		goto done;
	}
	if (r < 0)
		goto out;
	if (note_parse(note.data, note.len, &n, NULL, NULL) < 0 ||
	    note_checkpoint_parse(n.text, n.text_len, &cp, NULL, NULL) < 0) {
		status = "failed";
		goto done;
	}
	if ((r = set_new(o, "checkpoint_size", json_integer((json_int_t)cp.size))) < 0)
		goto out;
	if (env->pk && env->origin)
		sig = note_verify(&n, env->origin, env->pk) == 0 ? "valid" : "invalid";
	/* The checkpoint's root must be the root of the ledger as it is now
	 * for that size: a rewritten history would not match. */
	status = cp.size <= size && ledger_root(c->lg, cp.size, root) == 0 &&
			 sodium_memcmp(root, cp.root, sizeof(root)) == 0 && strcmp(sig, "invalid")
		     ? "verified"
		     : "failed";
done:
	if ((r = set_new(o, "signature", json_string(sig))) < 0 ||
	    (r = set_new(o, "status", json_string(status))) < 0)
		goto out;
	r = 0;
out:
	buf_release(&note);
	return r;
}

static int ev_training(struct isms_ctx *c, const struct soa_env *env,
		       const struct registry_data *reg, json_t **tr_out, json_t **pl_out)
{
	size_t active, trained, pledged;
	json_t *ov = NULL, *t, *p;
	int32_t valid = env->training_valid_days > 0 ? env->training_valid_days : 365;
	int r;

	training_coverage(reg->staff, reg->nstaff, env->day, valid, &active, &trained, &pledged);
	*tr_out = t = source_obj(
	    "training", "研修の受講状況（判定サービスは研修期限切れの職員を拒否する）",
	    "Training coverage (the decision service denies staff whose training is out of date)",
	    "/v1/isms/training/overdue");
	*pl_out = p =
	    source_obj("pledges", "誓約書の提出状況（判定サービスは誓約のない職員を拒否する）",
		       "Confidentiality pledges (the decision service denies staff without one)",
		       "/v1/isms/training/overdue");
	if (!t || !p)
		return ERR_NOMEM;
	if ((r = set_new(t, "active_staff", json_integer((json_int_t)active))) < 0 ||
	    (r = set_new(t, "trained", json_integer((json_int_t)trained))) < 0 ||
	    (r = set_new(t, "valid_days", json_integer(valid))) < 0 ||
	    (r = set_new(t, "coverage", json_real(active ? (double)trained / (double)active : 0))) <
		0 ||
	    (r = set_new(p, "active_staff", json_integer((json_int_t)active))) < 0 ||
	    (r = set_new(p, "pledged", json_integer((json_int_t)pledged))) < 0)
		return r;
	r = isms_training_overdue(c, env->day, NULL, &ov);
	if (r == 0)
		r = set_new(t, "overdue", json_incref(json_object_get(ov, "count")));
	else if (r == ERR_FORBIDDEN)
		r = 0;
	json_decref(ov);
	return r;
}

static int ev_alerts(struct isms_ctx *c, json_t **out)
{
	struct alert_filter f = {0};
	struct buf b;
	json_t *o, *j = NULL;
	int r;

	*out = o =
	    source_obj("alerts", "アクセス監査のアラート（説明のつかないアクセス等）",
		       "Alerts of the access audit (accesses nothing explains, ...)", "/v1/alerts");
	if (!o)
		return ERR_NOMEM;
	f.status = "open";
	f.from = f.to = DAY_NONE;
	f.page = 1;
	f.per_page = 1;
	buf_init(&b, (size_t)1 << 20);
	if ((r = alerts_list_json(c->st, c->actor, &f, &b)) == ERR_FORBIDDEN) {
		r = set_new(o, "status", json_string("not_permitted"));
		goto out;
	}
	if (r < 0)
		goto out;
	j = json_loadb(b.data ? b.data : "{}", b.len, 0, NULL);
	{
		json_t *tot = json_object_get(j, "total");
		r = set_new(o, "open", tot ? json_incref(tot) : json_integer(0));
	}
out:
	json_decref(j);
	buf_release(&b);
	return r;
}

static int ev_count(struct isms_ctx *c, const char *kind, const char *name, const char *ja,
		    const char *en, json_t **out)
{
	const struct isms_kind *k = isms_kind_find(kind);
	char link[64];
	json_t *all = NULL, *o;
	int r;

	snprintf(link, sizeof(link), "/v1/isms/%s", kind);
	*out = o = source_obj(name, ja, en, k ? link : NULL);
	if (!o)
		return ERR_NOMEM;
	if (!k)
		return set_new(o, "status", json_string("not_available"));
	r = pp_all(c, k, NULL, 0, &all);
	if (r == ERR_FORBIDDEN)
		return set_new(o, "status", json_string("not_permitted"));
	if (r < 0)
		return r;
	r = set_new(o, "records", json_integer((json_int_t)json_array_size(all)));
	json_decref(all);
	return r;
}

/* The evidence of each source, computed once per statement. */
struct live {
	json_t *decisions, *ledger, *training, *pledges, *alerts, *incidents, *contracts, *notices;
};

static void live_release(struct live *l)
{
	json_decref(l->decisions);
	json_decref(l->ledger);
	json_decref(l->training);
	json_decref(l->pledges);
	json_decref(l->alerts);
	json_decref(l->incidents);
	json_decref(l->contracts);
	json_decref(l->notices);
}

static int live_compute(struct isms_ctx *c, const struct soa_env *env,
			const struct registry_data *reg, struct live *l)
{
	json_t *att = NULL, *rem = NULL;
	int r;

	if ((r = ev_decisions(env, &l->decisions)) < 0 || (r = ev_ledger(c, env, &l->ledger)) < 0 ||
	    (r = ev_training(c, env, reg, &l->training, &l->pledges)) < 0 ||
	    (r = ev_alerts(c, &l->alerts)) < 0 ||
	    (r = ev_count(c, "incidents", "incidents", "インシデントの記録", "Incident records",
			  &l->incidents)) < 0 ||
	    (r = ev_count(c, "contracts", "contracts", "委託契約・報告・実地確認",
			  "Contracts, reports and on-site checks", &l->contracts)) < 0 ||
	    (r = ev_count(c, "notices", "notices", "注意喚起と確認",
			  "Security notices and acknowledgements", &l->notices)) < 0)
		return r;
	r = isms_contracts_attention(c, env->day, 60, &att);
	if (r == 0)
		r = set_new(l->contracts, "reports_overdue",
			    json_integer((json_int_t)json_array_size(
				json_object_get(att, "reports_overdue"))));
	if (r == 0)
		r = set_new(
		    l->contracts, "ending_within_60_days",
		    json_integer((json_int_t)json_array_size(json_object_get(att, "ending"))));
	if (r == ERR_FORBIDDEN)
		r = 0;
	json_decref(att);
	if (r < 0)
		return r;
	r = isms_notice_reminders(c, env->day, NULL, true, &rem);
	if (r == 0)
		r = set_new(l->notices, "acknowledgements_overdue",
			    json_incref(json_object_get(rem, "pending_total")));
	if (r == ERR_FORBIDDEN)
		r = 0;
	json_decref(rem);
	return r;
}

static int live_attach(const struct live *l, unsigned src, json_t *entry)
{
	json_t *arr = json_array();
	const struct {
		unsigned bit;
		json_t *v;
	} m[] = {
	    {SOA_LIVE_DECISIONS, l->decisions}, {SOA_LIVE_LEDGER, l->ledger},
	    {SOA_LIVE_TRAINING, l->training},	{SOA_LIVE_PLEDGES, l->pledges},
	    {SOA_LIVE_ALERTS, l->alerts},	{SOA_LIVE_INCIDENTS, l->incidents},
	    {SOA_LIVE_CONTRACTS, l->contracts}, {SOA_LIVE_NOTICES, l->notices},
	};

	if (!arr)
		return ERR_NOMEM;
	for (size_t i = 0; i < ARRAY_SIZE(m); i++)
		if ((src & m[i].bit) && m[i].v && json_array_append(arr, m[i].v) < 0) {
			json_decref(arr);
			return ERR_NOMEM;
		}
	return set_new(entry, "live_evidence", arr);
}

/* ---- the statement ---- */

int isms_soa_statement(struct isms_ctx *c, const struct soa_env *env, json_t **out)
{
	struct registry_data *reg = NULL;
	struct live l = {0};
	json_t *have = NULL, *res = NULL, *entries, *missing;
	size_t applicable = 0, excluded = 0, st_count[3] = {0}, i;
	json_t *o;
	int r;

	*out = NULL;
	if ((r = pp_all(c, &isms_kind_soa, NULL, 0, &have)) < 0 ||
	    (r = registry_load_people(c->st, &reg)) < 0 || (r = live_compute(c, env, reg, &l)) < 0)
		goto out;
	if (!(res = json_pack("{s:s?, s:o, s:s, s:[], s:[]}", "municipality", env->municipality,
			      "date", pp_json_day(env->day), "standard",
			      "ISO/IEC 27001:2022 Annex A (JIS Q 27001:2023)", "entries",
			      "missing"))) {
		r = ERR_NOMEM;
		goto out;
	}
	entries = json_object_get(res, "entries");
	missing = json_object_get(res, "missing");
	for (size_t k = 0; k < annex_ncontrols; k++) {
		const struct annex_control *ac = &annex_controls[k];
		const struct mic_chapter *ch[16];
		size_t nch = mic_chapters_of(ac->id, ch, ARRAY_SIZE(ch));
		json_t *e = NULL, *mic;
		unsigned src;

		json_array_foreach(have, i, o)
		{
			const char *cid = pp_str(o, "control");
			if (cid && !strcmp(cid, ac->id)) {
				e = o;
				break;
			}
		}
		if (!e) {
			if (json_array_append_new(missing, json_string(ac->id)) < 0) {
				r = ERR_NOMEM;
				goto out;
			}
			continue;
		}
		e = json_deep_copy(e);
		if (!e || json_array_append_new(entries, e) < 0) {
			json_decref(e);
			r = ERR_NOMEM;
			goto out;
		}
		if (pp_bool(e, "applicable")) {
			const char *s = pp_str(e, "status");
			applicable++;
			for (size_t q = 0; s && q < 3; q++)
				if (!strcmp(s, statuses[q]))
					st_count[q]++;
		} else {
			excluded++;
		}
		if (!(mic = json_array())) {
			r = ERR_NOMEM;
			goto out;
		}
		for (size_t q = 0; q < nch && q < ARRAY_SIZE(ch); q++)
			if (json_array_append_new(mic, json_pack("{s:s, s:s, s:s}", "chapter",
								 ch[q]->id, "ja", ch[q]->ja, "en",
								 ch[q]->en)) < 0) {
				json_decref(mic);
				r = ERR_NOMEM;
				goto out;
			}
		if ((r = set_new(e, "mic", mic)) < 0 ||
		    (r = set_new(e, "theme", json_integer(ac->theme))) < 0 ||
		    (r = set_new(e, "title_en", json_string(ac->en))) < 0 ||
		    (r = set_new(e, "title_ja", json_string(ac->ja))) < 0)
			goto out;
		src = soa_live_sources(ac->id);
		if (src && (r = live_attach(&l, src, e)) < 0)
			goto out;
	}
	if ((r = set_new(res, "counts",
			 json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "controls",
				   (json_int_t)annex_ncontrols, "entries",
				   (json_int_t)json_array_size(entries), "applicable",
				   (json_int_t)applicable, "excluded", (json_int_t)excluded,
				   "planned", (json_int_t)st_count[0], "partial",
				   (json_int_t)st_count[1], "implemented",
				   (json_int_t)st_count[2]))) < 0)
		goto out;
	*out = res;
	res = NULL;
	r = 0;
out:
	json_decref(res);
	json_decref(have);
	live_release(&l);
	registry_data_free(reg);
	return r;
}

/* ---- CSV ---- */

static int csv_cell(struct buf *b, const char *s, bool last)
{
	int r;

	if ((r = buf_putc(b, '"')) < 0)
		return r;
	for (; s && *s; s++)
		if ((*s == '"' && (r = buf_putc(b, '"')) < 0) || (r = buf_putc(b, *s)) < 0)
			return r;
	if ((r = buf_putc(b, '"')) < 0)
		return r;
	return buf_puts(b, last ? "\r\n" : ",");
}

/* A short text for one live evidence object: "ledger: verified", ... */
static int live_text(const json_t *ev, struct buf *t)
{
	const char *keys[] = {"status",		 "signature",	    "entries",
			      "checkpoint_size", "coverage",	    "overdue",
			      "pledged",	 "active_staff",    "open",
			      "records",	 "reports_overdue", "acknowledgements_overdue",
			      "policy_sha256"};
	int r;

	if ((r = buf_puts(t, pp_str(ev, "source") ? pp_str(ev, "source") : "?")) < 0)
		return r;
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		const json_t *v = json_object_get(ev, keys[i]);
		if (!v || json_is_null(v))
			continue;
		if (json_is_string(v))
			r = buf_printf(t, " %s=%s", keys[i], json_string_value(v));
		else if (json_is_integer(v))
			r = buf_printf(t, " %s=%" JSON_INTEGER_FORMAT, keys[i],
				       json_integer_value(v));
		else if (json_is_real(v))
			r = buf_printf(t, " %s=%.3f", keys[i], json_real_value(v));
		if (r < 0)
			return r;
	}
	return 0;
}

int isms_soa_csv(const json_t *statement, struct buf *out)
{
	static const char *const cols[] = {
	    "control",	     "title_en",     "title_ja", "applicable",
	    "justification", "status",	     "owner",	 "evidence",
	    "live_evidence", "mic_chapters", "id",	 "version"};
	const json_t *entries = json_object_get(statement, "entries");
	struct buf t;
	size_t i;
	json_t *e;
	int r = 0;

	buf_init(&t, (size_t)1 << 20);
	for (size_t k = 0; k < ARRAY_SIZE(cols); k++)
		if ((r = csv_cell(out, cols[k], k + 1 == ARRAY_SIZE(cols))) < 0)
			goto out;
	json_array_foreach(entries, i, e)
	{
		const json_t *a;
		size_t j;
		json_t *v;
		char num[32];

		if ((r = csv_cell(out, pp_str(e, "control"), false)) < 0 ||
		    (r = csv_cell(out, pp_str(e, "title_en"), false)) < 0 ||
		    (r = csv_cell(out, pp_str(e, "title_ja"), false)) < 0 ||
		    (r = csv_cell(out, pp_bool(e, "applicable") ? "true" : "false", false)) < 0 ||
		    (r = csv_cell(out, pp_str(e, "justification"), false)) < 0 ||
		    (r = csv_cell(out, pp_str(e, "status"), false)) < 0 ||
		    (r = csv_cell(out, pp_str(e, "owner"), false)) < 0)
			goto out;
		buf_reset(&t);
		a = json_object_get(e, "evidence");
		json_array_foreach(
		    a, j, v) if ((r = buf_printf(&t, "%s%s", j ? ";" : "",
						 json_string_value(v) ? json_string_value(v)
								      : "")) < 0) goto out;
		if ((r = csv_cell(out, t.data, false)) < 0)
			goto out;
		buf_reset(&t);
		a = json_object_get(e, "live_evidence");
		json_array_foreach(a, j, v)
		{
			if ((j && (r = buf_puts(&t, "; ")) < 0) || (r = live_text(v, &t)) < 0)
				goto out;
		}
		if ((r = csv_cell(out, t.data, false)) < 0)
			goto out;
		buf_reset(&t);
		a = json_object_get(e, "mic");
		json_array_foreach(
		    a, j, v) if ((r = buf_printf(&t, "%s%s", j ? ";" : "",
						 pp_str(v, "chapter") ? pp_str(v, "chapter")
								      : "")) < 0) goto out;
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
			 json_integer_value(json_object_get(e, "_version")));
		if ((r = csv_cell(out, t.data, false)) < 0 ||
		    (r = csv_cell(out, pp_str(e, "_id"), false)) < 0 ||
		    (r = csv_cell(out, num, true)) < 0)
			goto out;
	}
out:
	buf_release(&t);
	return r;
}
