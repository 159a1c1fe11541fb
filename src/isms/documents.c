/*
 * documents.c - policy documents: the basic policy (基本方針), the
 * standards (対策基準) and the departments' implementation procedures
 * (実施手順), their versions in Markdown, approval, review dates, and the
 * public page of what is published (plan.h).
 *
 * A document (kind documents) is the lasting identity: title, layer,
 * department (procedures), the standards a procedure implements,
 * publication level, review cycle. Its text lives in versions (kind
 * document_versions), each a draft until approved. Approval is a workflow
 * (isms_document_approve) and the only way to set the status, approver
 * and dates: the check hooks refuse them in ordinary updates.
 */
#include "base/base.h"

#include "base/buf.h"
#include "base/i18n.h"
#include "base/timeutil.h"
#include "isms/isms.h"
#include "isms/isms_int.h"
#include "isms/plan.h"

static const char *const layers[] = {"basic_policy", "standard", "procedure", NULL};
static const char *const publications[] = {"public", "internal", "restricted", NULL};
static const char *const doc_status[] = {"draft", "approved", NULL};
static const char *const ver_status[] = {"draft", "approved", "superseded", NULL};

static const struct isms_field doc_fields[] = {
    {.name = "title", .type = ISMS_TEXT, .required = true, .ja = "表題", .en = "title"},
    {.name = "layer",
     .type = ISMS_ENUM,
     .required = true,
     .values = layers,
     .ja = "階層",
     .en = "layer"},
    {.name = "dept",
     .type = ISMS_REF,
     .ref_kind = "departments",
     .ja = "部署(実施手順)",
     .en = "department (procedures)"},
    {.name = "implements",
     .type = ISMS_STRLIST,
     .max = 100,
     .max_len = 32,
     .ref_kind = "documents",
     .ja = "実施する対策基準",
     .en = "standards implemented"},
    {.name = "publication",
     .type = ISMS_ENUM,
     .required = true,
     .values = publications,
     .ja = "公開区分",
     .en = "publication"},
    {.name = "review_cycle_months",
     .type = ISMS_INT,
     .min = 1,
     .max = 60,
     .ja = "見直し周期(月)",
     .en = "review cycle (months)"},
    {.name = "owner", .type = ISMS_REF, .ref_kind = "staff", .ja = "担当者", .en = "owner"},
    {.name = "status", .type = ISMS_ENUM, .values = doc_status, .ja = "状態", .en = "status"},
    {.name = "current_version",
     .type = ISMS_REF,
     .ref_kind = "document_versions",
     .ja = "現行版",
     .en = "current version"},
    {.name = "approved_on", .type = ISMS_DATE, .ja = "承認日", .en = "approved on"},
    {.name = "review_due", .type = ISMS_DATE, .ja = "次回見直し期限", .en = "review due"},
};

static const struct isms_field ver_fields[] = {
    {.name = "document",
     .type = ISMS_REF,
     .required = true,
     .ref_kind = "documents",
     .ja = "文書",
     .en = "document"},
    {.name = "version_label",
     .type = ISMS_TEXT,
     .required = true,
     .max_len = 50,
     .ja = "版",
     .en = "version"},
    {.name = "text",
     .type = ISMS_MARKDOWN,
     .required = true,
     .max_len = 500000,
     .ja = "本文(Markdown)",
     .en = "text (Markdown)"},
    {.name = "change_summary",
     .type = ISMS_TEXT,
     .max_len = 1000,
     .ja = "改定の概要",
     .en = "summary of changes"},
    {.name = "dept", .type = ISMS_REF, .ref_kind = "departments", .ja = "部署", .en = "department"},
    {.name = "status", .type = ISMS_ENUM, .values = ver_status, .ja = "状態", .en = "status"},
    {.name = "approved_by", .type = ISMS_TEXT, .max_len = 128, .ja = "承認者", .en = "approved by"},
    {.name = "approved_on", .type = ISMS_DATE, .ja = "承認日", .en = "approved on"},
    {.name = "review_due", .type = ISMS_DATE, .ja = "次回見直し期限", .en = "review due"},
};

static const char *str_of(const json_t *o, const char *k)
{
	const json_t *v = json_object_get(o, k);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* The members only a workflow step (op in ops) may change: outside one,
 * each must keep its value from old (or stay unset on create). */
static void keep_workflow_fields(struct isms_ctx *c, json_t *rec, const char *const *fields,
				 const char *const *ops, struct diag *d)
{
	for (size_t i = 0; ops[i]; i++)
		if (c->op && !strcmp(c->op, ops[i]))
			return;
	for (size_t i = 0; fields[i]; i++) {
		const json_t *was = c->old ? json_object_get(c->old, fields[i]) : NULL;
		const json_t *now = json_object_get(rec, fields[i]);
		/* A new record may say it is a draft. */
		if (!c->old && !strcmp(fields[i], "status") && json_is_string(now) &&
		    !strcmp(json_string_value(now), "draft"))
			continue;
		if ((was || now) && !(was && now && json_equal((json_t *)was, (json_t *)now)))
			diag_error(d, NULL, 0, 0, fields[i],
				   T("承認の手続でだけ設定されます", "set by approval only"));
	}
}

/*
 * Documents: a procedure belongs to a department and may name the
 * standards it implements; the basic policy and standards are
 * organisation-wide and implement nothing. The status and approval
 * members are the approval's.
 */
static int doc_check(struct isms_ctx *c, json_t *rec, struct diag *d)
{
	static const char *const wf[] = {"status", "current_version", "approved_on", "review_due",
					 NULL};
	static const char *const ops[] = {"approve", NULL};
	const char *layer = str_of(rec, "layer");
	const json_t *impl = json_object_get(rec, "implements");
	bool proc = layer && !strcmp(layer, "procedure");
	size_t i;
	json_t *it;

	if (proc && !json_object_get(rec, "dept"))
		diag_error(d, NULL, 0, 0, "dept",
			   T("実施手順には部署が必要です", "a procedure needs a department"));
	if (!proc && json_object_get(rec, "dept"))
		diag_error(
		    d, NULL, 0, 0, "dept",
		    T("基本方針と対策基準は全庁の文書です(部署を指定しません)",
		      "the basic policy and standards are organisation-wide (no department)"));
	if (!proc && impl)
		diag_error(d, NULL, 0, 0, "implements",
			   T("対策基準を実施するのは実施手順だけです",
			     "only a procedure implements standards"));
	json_array_foreach(impl, i, it)
	{
		struct isms_row row;
		int r = isms_row_load(c, &isms_kind_documents, json_string_value(it), &row);
		if (r == ERR_NOT_FOUND)
			continue; /* reported by the reference check */
		if (r < 0)
			return r;
		if (!str_of(row.data, "layer") || strcmp(str_of(row.data, "layer"), "standard"))
			diag_error(d, NULL, 0, 0, "implements",
				   T("%s は対策基準ではありません", "%s is not a standard"),
				   row.id);
		isms_row_release(&row);
	}
	keep_workflow_fields(c, rec, wf, ops, d);
	if (!c->old && !json_object_get(rec, "status") &&
	    json_object_set_new(rec, "status", json_string("draft")) < 0)
		return ERR_NOMEM;
	return 0;
}

/*
 * Versions: a version stays with its document and takes the document's
 * department (so that a department manager drafts their own procedures);
 * it is a draft until approved, and an approved or superseded version is
 * never edited again: the next text is a new version.
 */
static int ver_check(struct isms_ctx *c, json_t *rec, struct diag *d)
{
	static const char *const wf[] = {"status", "approved_by", "approved_on", "review_due",
					 NULL};
	static const char *const ops[] = {"approve", "supersede", NULL};
	const char *doc = str_of(rec, "document");
	const char *was = c->old ? str_of(c->old, "status") : NULL;
	struct isms_row row;
	int r;

	if (c->old && doc && str_of(c->old, "document") && strcmp(doc, str_of(c->old, "document")))
		diag_error(
		    d, NULL, 0, 0, "document",
		    T("版の文書は変更できません", "a version cannot move to another document"));
	if (was && strcmp(was, "draft") && c->op && !strcmp(c->op, "update"))
		diag_error(d, NULL, 0, 0, "text",
			   T("承認された版は変更できません。新しい版を作ってください",
			     "an approved version cannot be changed; make a new version"));
	keep_workflow_fields(c, rec, wf, ops, d);
	if (!c->old && !json_object_get(rec, "status") &&
	    json_object_set_new(rec, "status", json_string("draft")) < 0)
		return ERR_NOMEM;
	json_object_del(rec, "dept");
	if (!doc)
		return 0;
	r = isms_row_load(c, &isms_kind_documents, doc, &row);
	if (r == ERR_NOT_FOUND)
		return 0;
	if (r < 0)
		return r;
	if (str_of(row.data, "dept"))
		json_object_set_new(rec, "dept", json_string(str_of(row.data, "dept")));
	isms_row_release(&row);
	return 0;
}

const struct isms_kind isms_kind_documents = {
    .name = "documents",
    .ja = "ポリシー文書",
    .en = "policy documents",
    .id_prefix = "DOC",
    .fields = doc_fields,
    .nfields = ARRAY_SIZE(doc_fields),
    .dept_field = "dept",
    .check = doc_check,
};

const struct isms_kind isms_kind_document_versions = {
    .name = "document_versions",
    .ja = "文書の版",
    .en = "document versions",
    .id_prefix = "DV",
    .fields = ver_fields,
    .nfields = ARRAY_SIZE(ver_fields),
    .dept_field = "dept",
    .check = ver_check,
};

/* ---- approval ---- */

/* day plus months, the day of month kept where it exists (else the
 * month's last day: 2026-01-31 + 1 month = 2026-02-28). */
static int32_t add_months(int32_t day, int64_t months)
{
	int y, m, d, last;
	int64_t total;

	civil_from_days(day, &y, &m, &d);
	total = (int64_t)y * 12 + (m - 1) + months;
	y = (int)(total / 12);
	m = (int)(total % 12) + 1;
	last = (int)(days_from_civil(m == 12 ? y + 1 : y, m == 12 ? 1 : m + 1, 1) -
		     days_from_civil(y, m, 1));
	return days_from_civil(y, m, d < last ? d : last);
}

/* A ctx that reads everything (for the workflow's own look-ups). */
static void reader(const struct isms_ctx *c, struct isms_ctx *rc, struct actor *a)
{
	memset(a, 0, sizeof(*a));
	snprintf(a->name, sizeof(a->name), "%s", c->actor ? c->actor->name : "system");
	a->role = ROLE_AUDITOR;
	*rc = *c;
	rc->actor = a;
}

int isms_document_approve(struct isms_ctx *c, const char *vid, int64_t if_version, struct diag *d)
{
	struct isms_row ver = {0}, doc = {0};
	struct isms_row *prev = NULL;
	size_t nprev = 0;
	struct isms_ctx rc;
	struct actor ra;
	char today[11], due[DATE_TEXT_MAX];
	const char *layer;
	int64_t cycle;
	int32_t day;
	json_t *p = NULL;
	bool own = false;
	int r;

	if ((r = isms_tx_enter(c, &own)) < 0)
		return r;
	if ((r = isms_row_load(c, &isms_kind_document_versions, vid, &ver)) < 0)
		goto out;
	if (!isms_may_read_kind(c, &isms_kind_document_versions) ||
	    !actor_may_read_dept(c->actor,
				 isms_record_dept(&isms_kind_document_versions, ver.data))) {
		r = ERR_NOT_FOUND;
		goto out;
	}
	if (ver.retired || (if_version && if_version != ver.version) ||
	    !str_of(ver.data, "status") || strcmp(str_of(ver.data, "status"), "draft")) {
		r = ERR_CONFLICT;
		goto out;
	}
	if ((r = isms_row_load(c, &isms_kind_documents, str_of(ver.data, "document"), &doc)) < 0) {
		r = r == ERR_NOT_FOUND ? ERR_CORRUPT : r;
		goto out;
	}
	if (doc.retired) {
		r = ERR_CONFLICT;
		goto out;
	}
	layer = str_of(doc.data, "layer");
	/* The CISO approves every layer; the security office may approve
	 * a department's procedure, never the basic policy or a standard. */
	if (!actor_has(c->actor, ROLE_CISO) &&
	    !(actor_has(c->actor, ROLE_ADMIN) && layer && !strcmp(layer, "procedure"))) {
		diag_error(d, NULL, 0, 0, NULL,
			   T("役割 %s は %s(%s)を承認できません。承認は CISO が行います",
			     "the role %s may not approve %s (%s); the CISO approves it"),
			   role_name(c->actor->role), doc.id, layer ? layer : "?");
		r = ERR_FORBIDDEN;
		goto out;
	}
	cycle = json_is_integer(json_object_get(doc.data, "review_cycle_months"))
		    ? json_integer_value(json_object_get(doc.data, "review_cycle_months"))
		    : 12;
	isms_today(c, today);
	if (date_parse(today, 10, &day) < 0) {
		r = ERR_INTERNAL;
		goto out;
	}
	date_format(add_months(day, cycle), due);
	reader(c, &rc, &ra);
	{
		struct isms_query q = {.filters = {{"document", doc.id}, {"status", "approved"}},
				       .nfilters = 2};
		if ((r = isms_select(&rc, &isms_kind_document_versions, &q, &prev, &nprev)) < 0)
			goto out;
	}
	if (!(p = json_pack("{s:s,s:s,s:s,s:s}", "status", "approved", "approved_by",
			    c->actor->name, "approved_on", today, "review_due", due))) {
		r = ERR_NOMEM;
		goto out;
	}
	if ((r = isms_update_op(c, &isms_kind_document_versions, ver.id, p, ver.version, "approve",
				d)) < 0)
		goto out;
	json_decref(p);
	if (!(p = json_pack("{s:s}", "status", "superseded"))) {
		r = ERR_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < nprev; i++)
		if ((r = isms_update_op(c, &isms_kind_document_versions, prev[i].id, p,
					prev[i].version, "supersede", d)) < 0)
			goto out;
	json_decref(p);
	if (!(p = json_pack("{s:s,s:s,s:s,s:s}", "status", "approved", "current_version", ver.id,
			    "approved_on", today, "review_due", due))) {
		r = ERR_NOMEM;
		goto out;
	}
	r = isms_update_op(c, &isms_kind_documents, doc.id, p, doc.version, "approve", d);
out:
	r = isms_tx_leave(c, own, r);
	json_decref(p);
	isms_rows_free(prev, nprev);
	isms_row_release(&ver);
	isms_row_release(&doc);
	return r;
}

/* ---- what the public sees ---- */

static int layer_rank(const char *layer)
{
	for (int i = 0; layers[i]; i++)
		if (layer && !strcmp(layers[i], layer))
			return i;
	return 9;
}

int isms_public_policy(struct isms_ctx *c, json_t **out)
{
	struct isms_ctx rc;
	struct actor ra;
	struct isms_row *rows = NULL;
	size_t n = 0;
	json_t *o = NULL, *docs = NULL;
	int r;

	*out = NULL;
	reader(c, &rc, &ra);
	snprintf(ra.name, sizeof(ra.name), "public");
	{
		struct isms_query q = {
		    .filters = {{"publication", "public"}, {"status", "approved"}}, .nfilters = 2};
		if ((r = isms_select(&rc, &isms_kind_documents, &q, &rows, &n)) < 0)
			return r;
	}
	if (!(o = json_object()) || !(docs = json_array())) {
		r = ERR_NOMEM;
		goto out;
	}
	for (int rank = 0; rank <= 9; rank++)
		for (size_t i = 0; i < n; i++) {
			struct isms_row v;
			json_t *e;
			if (layer_rank(str_of(rows[i].data, "layer")) != rank)
				continue;
			r = isms_row_load(&rc, &isms_kind_document_versions,
					  str_of(rows[i].data, "current_version"), &v);
			if (r == ERR_NOT_FOUND)
				continue;
			if (r < 0)
				goto out;
			if (v.retired || !str_of(v.data, "status") ||
			    strcmp(str_of(v.data, "status"), "approved")) {
				isms_row_release(&v);
				continue;
			}
			e = json_object();
			if (e) {
				json_object_set_new(e, "id", json_string(rows[i].id));
				json_object_set(e, "title", json_object_get(rows[i].data, "title"));
				json_object_set(e, "layer", json_object_get(rows[i].data, "layer"));
				json_object_set_new(e, "version_id", json_string(v.id));
				json_object_set(e, "version_label",
						json_object_get(v.data, "version_label"));
				json_object_set(e, "approved_on",
						json_object_get(v.data, "approved_on"));
				if (json_object_get(v.data, "review_due"))
					json_object_set(e, "review_due",
							json_object_get(v.data, "review_due"));
				json_object_set(e, "text", json_object_get(v.data, "text"));
			}
			isms_row_release(&v);
			if (!e || json_array_append_new(docs, e) < 0) {
				r = ERR_NOMEM;
				goto out;
			}
		}
	json_object_set_new(o, "documents", docs);
	docs = NULL;
	/* Public summaries of audits join here when audits are kept. */
	json_object_set_new(o, "audit_summaries", json_array());
	*out = o;
	o = NULL;
	r = 0;
out:
	json_decref(docs);
	json_decref(o);
	isms_rows_free(rows, n);
	return r;
}

/* ---- HTML ---- */

static int esc(struct buf *out, const char *s, size_t n)
{
	int r = 0;

	for (size_t i = 0; i < n && r >= 0; i++) {
		switch (s[i]) {
		case '&':
			r = buf_puts(out, "&amp;");
			break;
		case '<':
			r = buf_puts(out, "&lt;");
			break;
		case '>':
			r = buf_puts(out, "&gt;");
			break;
		case '"':
			r = buf_puts(out, "&quot;");
			break;
		case '\'':
			r = buf_puts(out, "&#39;");
			break;
		case '\r':
			break;
		default:
			r = buf_putc(out, s[i]);
		}
	}
	return r;
}

static int esc_str(struct buf *out, const char *s)
{
	return esc(out, s ? s : "", s ? strlen(s) : 0);
}

/* The number of leading '#' of a heading line ("# x"), else 0. */
static int heading_level(const char *s, size_t n)
{
	int h = 0;
	while ((size_t)h < n && s[h] == '#')
		h++;
	return h >= 1 && h <= 6 && (size_t)h < n && s[h] == ' ' ? h : 0;
}

/* The length of an ordered list marker ("12. "), else 0. */
static size_t ordered_marker(const char *s, size_t n)
{
	size_t i = 0;
	while (i < n && i < 9 && s[i] >= '0' && s[i] <= '9')
		i++;
	return i > 0 && i + 1 < n && s[i] == '.' && s[i + 1] == ' ' ? i + 2 : 0;
}

int isms_markdown_html(const char *md, struct buf *out)
{
	enum { NONE, PARA, UL, OL } open = NONE;
	const char *p = md ? md : "";
	int r = 0;

	while (*p && r >= 0) {
		const char *e = strchr(p, '\n');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		size_t lead = 0, m;
		int h;

		while (lead < n && (p[lead] == ' ' || p[lead] == '\t'))
			lead++;
		const char *s = p + lead;
		size_t sn = n - lead;
		while (sn > 0 && (s[sn - 1] == '\r' || s[sn - 1] == ' '))
			sn--;
		bool ul = sn >= 2 && (s[0] == '-' || s[0] == '*') && s[1] == ' ';
		m = ordered_marker(s, sn);
		h = heading_level(s, sn);
		/* Close what this line does not continue. */
		if ((sn == 0 || h || (open == PARA && (ul || m)) || (open == UL && !ul) ||
		     (open == OL && !m)) &&
		    open != NONE) {
			r = buf_puts(out, open == PARA ? "</p>\n"
					  : open == UL ? "</ul>\n"
						       : "</ol>\n");
			open = NONE;
		}
		if (r < 0 || sn == 0) {
			/* nothing */
		} else if (h) {
			/* Headings sit under the document's own <h2>. */
			int lv = h + 2 > 6 ? 6 : h + 2;
			const char *t = s + h + 1;
			if ((r = buf_printf(out, "<h%d>", lv)) >= 0 &&
			    (r = esc(out, t, sn - (size_t)h - 1)) >= 0)
				r = buf_printf(out, "</h%d>\n", lv);
		} else if (ul || m) {
			if (open == NONE && (r = buf_puts(out, ul ? "<ul>\n" : "<ol>\n")) >= 0)
				open = ul ? UL : OL;
			size_t skip = ul ? 2 : m;
			if (r >= 0 && (r = buf_puts(out, "<li>")) >= 0 &&
			    (r = esc(out, s + skip, sn - skip)) >= 0)
				r = buf_puts(out, "</li>\n");
		} else {
			if (open == PARA)
				r = buf_puts(out, "<br>\n");
			else if ((r = buf_puts(out, "<p>")) >= 0)
				open = PARA;
			if (r >= 0)
				r = esc(out, s, sn);
		}
		p += n + (e ? 1 : 0);
	}
	if (r >= 0 && open != NONE)
		r = buf_puts(out, open == PARA ? "</p>\n" : open == UL ? "</ul>\n" : "</ol>\n");
	return r;
}

static const char *layer_ja(const char *layer)
{
	if (!layer)
		return "";
	if (!strcmp(layer, "basic_policy"))
		return "情報セキュリティ基本方針";
	if (!strcmp(layer, "standard"))
		return "情報セキュリティ対策基準";
	if (!strcmp(layer, "procedure"))
		return "情報セキュリティ実施手順";
	return layer;
}

int isms_public_policy_html(const json_t *pub, struct buf *out)
{
	const json_t *docs = json_object_get(pub, "documents");
	size_t i;
	json_t *d;
	int r;

	if ((r = buf_puts(
		 out, "<!DOCTYPE html>\n<html lang=\"ja\">\n<head>\n<meta charset=\"utf-8\">\n"
		      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
		      "<title>情報セキュリティポリシー(公開文書)</title>\n<style>\n"
		      "body{font-family:\"Hiragino Kaku Gothic ProN\",\"Noto Sans CJK JP\","
		      "\"Yu Gothic\",Meiryo,sans-serif;max-width:46em;margin:2em auto;"
		      "padding:0 1em;line-height:1.9;color:#111;background:#fff}\n"
		      "h1{font-size:1.6em;border-bottom:2px solid #333;padding-bottom:.3em}\n"
		      "h2{font-size:1.3em;margin-top:2em;border-left:6px solid #335;"
		      "padding-left:.5em}\n"
		      "h3,h4,h5,h6{font-size:1.05em;margin-top:1.4em}\n"
		      ".meta{color:#444;font-size:.9em}\n"
		      "nav ol{padding-left:1.5em}\n"
		      "@media print{nav{display:none}article{page-break-before:always}"
		      "body{max-width:none;margin:0}}\n"
		      "</style>\n</head>\n<body>\n<header>\n<h1>情報セキュリティポリシー</h1>\n"
		      "<p>本市が公開している情報セキュリティポリシーの文書です。</p>\n"
		      "</header>\n")) < 0)
		return r;
	if (json_array_size(docs) == 0)
		return buf_puts(out, "<p>公開されている文書はありません。</p>\n</body>\n</html>\n");
	if ((r = buf_puts(out, "<nav>\n<h2>目次</h2>\n<ol>\n")) < 0)
		return r;
	json_array_foreach(docs, i, d)
	{
		if ((r = buf_puts(out, "<li><a href=\"#")) < 0 ||
		    (r = esc_str(out, str_of(d, "id"))) < 0 || (r = buf_puts(out, "\">")) < 0 ||
		    (r = esc_str(out, str_of(d, "title"))) < 0 ||
		    (r = buf_puts(out, "</a></li>\n")) < 0)
			return r;
	}
	if ((r = buf_puts(out, "</ol>\n</nav>\n")) < 0)
		return r;
	json_array_foreach(docs, i, d)
	{
		if ((r = buf_puts(out, "<article id=\"")) < 0 ||
		    (r = esc_str(out, str_of(d, "id"))) < 0 ||
		    (r = buf_puts(out, "\">\n<h2>")) < 0 ||
		    (r = esc_str(out, str_of(d, "title"))) < 0 ||
		    (r = buf_puts(out, "</h2>\n<p class=\"meta\">")) < 0 ||
		    (r = esc_str(out, layer_ja(str_of(d, "layer")))) < 0 ||
		    (r = buf_puts(out, " ・ 版: ")) < 0 ||
		    (r = esc_str(out, str_of(d, "version_label"))) < 0 ||
		    (r = buf_puts(out, " ・ 承認日: ")) < 0 ||
		    (r = esc_str(out, str_of(d, "approved_on"))) < 0)
			return r;
		if (str_of(d, "review_due") && ((r = buf_puts(out, " ・ 次回見直し: ")) < 0 ||
						(r = esc_str(out, str_of(d, "review_due"))) < 0))
			return r;
		if ((r = buf_puts(out, "</p>\n")) < 0 ||
		    (r = isms_markdown_html(str_of(d, "text"), out)) < 0 ||
		    (r = buf_puts(out, "</article>\n")) < 0)
			return r;
	}
	return buf_puts(out, "</body>\n</html>\n");
}
