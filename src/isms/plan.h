/*
 * plan.h - the plan side of the ISMS built on the record engine (isms.h):
 * policy documents and their approval, the organisation of
 * responsibility, information assets and their handling rules, risks and
 * the heat map (docs/isms.md). Each kind is a record kind of the engine;
 * the functions here are the workflows and views on top of it. All take
 * a struct isms_ctx and obey the engine's permission rules.
 */
#ifndef MAMORI_ISMS_PLAN_H
#define MAMORI_ISMS_PLAN_H

#include "base/base.h"
#include "isms/isms.h"

struct buf;

/* The kinds defined here (also listed in kinds.c). */
extern const struct isms_kind isms_kind_documents;
extern const struct isms_kind isms_kind_document_versions;
extern const struct isms_kind isms_kind_role_assignments;
extern const struct isms_kind isms_kind_assets;
extern const struct isms_kind isms_kind_risks;

/* ---- policy documents (documents.c) ---- */

/*
 * Approve document version vid (a record of document_versions in status
 * draft; if_version 0 or its current version, else ERR_CONFLICT). Who:
 * the CISO approves every layer; an admin (the security office) may
 * approve a procedure (実施手順) but not the basic policy (基本方針) or a
 * standard (対策基準); anyone else gets ERR_FORBIDDEN (with d naming the
 * role). In one transaction: the version becomes "approved" with
 * approved_by (the actor), approved_on (today) and review_due (today plus
 * the document's review cycle), op "approve"; the document's previously
 * approved version becomes "superseded" (op "supersede"); the document
 * records current_version, approved_on and review_due (op "approve").
 * ERR_NOT_FOUND, ERR_CONFLICT (not a draft, retired, or stale), ERR_INVALID.
 */
MM_WUR int isms_document_approve(struct isms_ctx *c, const char *vid, int64_t if_version,
				 struct diag *d);

/*
 * What is public without authentication: every document of publication
 * "public" that is not retired and has an approved current version, as
 * {"documents":[{"id","title","layer","version_id","version_label",
 * "approved_on","review_due","text"}], "audit_summaries":[]} (a new
 * reference in *out). Only the store of c is used; c's actor is ignored.
 */
MM_WUR int isms_public_policy(struct isms_ctx *c, json_t **out);

/* The same as a complete, printable HTML page in Japanese (no external
 * resources; every text escaped; the Markdown of each document rendered
 * as headings, lists and paragraphs), appended to out. */
MM_WUR int isms_public_policy_html(const json_t *pub, struct buf *out);

/* Markdown (the subset above: #-headings, - and 1. lists, paragraphs,
 * blank lines) to escaped HTML, appended to out. */
MM_WUR int isms_markdown_html(const char *md, struct buf *out);

/* ---- organisation (org.c) ---- */

/* The management roles of the seed policies: code, Japanese, English,
 * whether the role is held per department, and whether one person holds
 * it at a time (per department where per department). */
struct isms_org_role {
	const char *code, *ja, *en;
	bool per_dept;
	bool single;
};
extern const struct isms_org_role isms_org_roles[];
const struct isms_org_role *isms_org_role_find(const char *code);

/*
 * Who holds which responsibility on date (YYYY-MM-DD; NULL = today): the
 * active role assignments whose period (from .. to, both included; no
 * "to" = open) covers date and that the actor may read, as a new JSON
 * object {"date":..., "holders":[{"role","role_ja","role_en","dept",
 * "staff","staff_name","deputy","deputy_name","from","to","assignment"}]}
 * ordered by the table of roles, then department. Roles of the table
 * with no holder on that date are listed in "vacant" (organisation-wide
 * roles only). ERR_INVALID for a bad date.
 */
MM_WUR int isms_org_holders(struct isms_ctx *c, const char *date, json_t **out);

/* ---- information assets (assets.c) ---- */

/*
 * The handling rules implied by a classification (DOMAIN.md; defaults a
 * municipality may change in its standards): a new JSON array of
 * {"rule","ja","en","because"} for confidentiality (3A/3B/3C/3/2/1),
 * integrity (2/1) and availability (2/1); NULL or unknown levels imply
 * nothing.
 */
MM_WUR int isms_asset_handling(const char *confidentiality, const char *integrity,
			       const char *availability, json_t **out);

/* ---- risks (risks.c) ---- */

/* The threat catalogue of the seed policies (札幌市情報セキュリティ
 * ポリシー 基本方針 8「情報セキュリティに対する脅威」). */
struct isms_threat {
	const char *code;     /* "unauthorized_access" */
	const char *category; /* "intentional", "accidental", "environmental" */
	const char *ja, *en;
};
extern const struct isms_threat isms_threats[];
const struct isms_threat *isms_threat_find(const char *code);
/* The category's name for people ("意図的(計画的)な人為的脅威" ...). */
const char *isms_threat_category_label(const char *category);

/*
 * The heat map of the active risks the actor may read: a new JSON object
 * {"total":N, "inherent":[[..5]..5], "residual":[[..5]..5],
 * "residual_unassessed":M} where matrix[i][l] counts the risks of impact
 * i+1 and likelihood l+1 (rows impact 1..5, columns likelihood 1..5).
 * Risks without residual values are counted in residual_unassessed.
 */
MM_WUR int isms_risk_heatmap(struct isms_ctx *c, json_t **out);

#endif
