/*
 * isms.h - the ISMS record engine.
 *
 * Everything the information security management system keeps (policy
 * documents, role assignments, assets, risks, controls, SoA entries,
 * courses, notices, contractors, contracts, ...) is a *record* of a *kind*.
 * One engine stores, validates, versions, lists, exports and records in
 * the ledger every record; a kind is declared as data (struct isms_kind:
 * its fields) plus optional hooks (cross-field checks, derived fields).
 * Workflows with real logic (approving a document, risk scores, overdue
 * training) are functions on top of this interface.
 *
 * Records. A record is one JSON object whose members are the kind's
 * fields; members absent or null are "not set". The engine adds, on
 * output only, the members "_id", "_version", "_status" ("active" or
 * "retired"), "_created", "_created_by", "_updated", "_updated_by"
 * (times as RFC 3339 in JST, actors as in the ledger). Input members
 * starting with '_' are ignored; any other member that is not a field of
 * the kind is an error. Ids are "<id_prefix>-<6 digits>" ("AS-000001"),
 * given by the engine in order per kind and never reused.
 *
 * Versions and history. Every create, update, retire or workflow step
 * makes a new version (1, 2, ...) and one row of history holding the whole
 * record as it was after the step, the op, the actor, the time, and the
 * index of the ledger record that proves it.
 *
 * Ledger. Every step appends one ledger record of kind "isms", actor the
 * ctx actor's name, body
 *   {"op":"create","kind":"assets","id":"AS-000001","version":3,
 *    "sha256":"<hex SHA-256 of the canonical JSON of the record>",
 *    "data":{...the record...}}
 * where "data" is left out for sensitive kinds. The canonical JSON is the
 * record's fields only (no '_' members), keys sorted, compact, UTF-8
 * (isms_canonical()). The store write and the ledger append happen in one
 * transaction: begin, write, append, commit; a failure before the append
 * leaves nothing, and the record is only visible after the commit.
 *
 * Permissions (struct actor, base/actor.h). Read: the kind's read_roles
 * (0 = ROLES_STAFF); a department manager sees only records whose
 * department field is their department or empty (actor_may_read_dept).
 * Write: the kind's write_roles (0 = ROLES_ISMS_WRITE) and, for a
 * department manager, the department of the record both before and after
 * the change must be theirs (a department manager cannot move a record
 * out of, or into, another department, and never writes
 * organisation-wide records); an auditor never writes, whatever the kind
 * says. Refusals are ERR_FORBIDDEN. Reading a record one may not read
 * gives ERR_NOT_FOUND in isms_get (so as not to reveal it exists) and
 * leaves it out of lists; a reference (ISMS_REF) to such a record is
 * invalid, as if it did not exist.
 *
 * Errors. Validation problems are added to the caller's struct diag, one
 * per problem, each naming the field (and, for CSV, file and line), and
 * the function returns ERR_INVALID. Other codes: ERR_NOT_FOUND (no such
 * record), ERR_FORBIDDEN, ERR_CONFLICT (If-Match version is stale, or
 * the record is retired), ERR_DB / ERR_IO (store or ledger).
 *
 * Threading: a struct isms_ctx is used by one thread at a time (its store
 * is one connection). The kind tables are constant and shared.
 */
#ifndef MAMORI_ISMS_H
#define MAMORI_ISMS_H

#include "base/base.h"

#include <jansson.h>

#include "base/actor.h"
#include "base/diag.h"

struct store;
struct ledger;
struct buf;

/* "AS-000001" and longer prefixes, with room to spare. */
#define ISMS_ID_MAX 32
#define ISMS_KIND_NAME_MAX 32
#define ISMS_PER_PAGE_DEFAULT 50
#define ISMS_PER_PAGE_MAX 500
#define ISMS_TEXT_DEFAULT_MAX 200
#define ISMS_MARKDOWN_DEFAULT_MAX 100000
#define ISMS_STRLIST_DEFAULT_ITEMS 100
/* Largest CSV import accepted (bytes). */
#define ISMS_CSV_MAX ((size_t)16 << 20)

enum isms_ftype {
	ISMS_TEXT,     /* one line of text: no control characters */
	ISMS_MARKDOWN, /* text with newlines (and tabs) */
	ISMS_DATE,     /* "YYYY-MM-DD", a real calendar date */
	ISMS_DATETIME, /* RFC 3339 with offset: "2026-04-01T09:00:00+09:00" */
	ISMS_INT,      /* JSON integer in [min, max]; CSV decimal */
	ISMS_BOOL,     /* JSON true/false; CSV "true"/"false" (also 1/0, yes/no) */
	ISMS_ENUM,     /* one of values[] */
	ISMS_REF,      /* id of a record of ref_kind (must exist, not retired) */
	ISMS_STRLIST,  /* JSON array of short strings; CSV items separated by ';' */
};

struct isms_field {
	const char *name; /* JSON member and CSV column, [a-z0-9_]+ */
	enum isms_ftype type;
	bool required;
	/* TEXT/MARKDOWN: maximum bytes; STRLIST: maximum bytes of each item.
	 * 0 = ISMS_TEXT_DEFAULT_MAX (text, strlist items) or
	 * ISMS_MARKDOWN_DEFAULT_MAX (markdown). */
	unsigned max_len;
	/* INT: the range, both ends included (min == max == 0 means any
	 * int64). STRLIST: max is the most items (0 = ISMS_STRLIST_DEFAULT_ITEMS). */
	int64_t min, max;
	const char *const *values; /* ENUM: NULL-terminated list */
	/* REF: the kind referred to. "departments" means the registry's
	 * departments and "staff" the registry's staff (checked against the
	 * registry tables); any other name is an ISMS kind. Each item of a
	 * STRLIST with ref_kind set is checked the same way. */
	const char *ref_kind;
	const char *ja, *en; /* label for people (CSV header comment, console) */
};

/*
 * What every engine call needs. st and lg are the caller's (not owned);
 * actor is who acts. now, if not 0, is the time of the step in seconds
 * since the epoch (tests use it for repeatable dates; 0 = the clock).
 * in_tx, op, id and old are the engine's own: leave them zero. While a
 * kind's check hook runs, op is the step ("create", "update", or the
 * workflow's verb given to isms_update_op), id the record's id and old the
 * record before the step (both NULL when creating), so that a hook can
 * keep some changes to workflows (e.g. only "approve" may set a document
 * version's status) and find other records than this one.
 */
struct isms_ctx {
	struct store *st;
	struct ledger *lg;
	const struct actor *actor;
	int64_t now;
	bool in_tx;
	const char *op;
	const char *id;
	const json_t *old;
};

struct isms_kind {
	const char *name; /* "assets": URL segment and CLI word, [a-z_]+ */
	const char *ja, *en;
	const char *id_prefix; /* "AS" */
	const struct isms_field *fields;
	size_t nfields;
	const char *dept_field; /* field holding the department id, NULL = organisation-wide */
	unsigned read_roles, write_roles; /* 0 = ROLES_STAFF / ROLES_ISMS_WRITE */
	bool sensitive;			  /* the ledger keeps only the hash */
	/* Optional: cross-field checks, called on create and update (and each
	 * CSV row) with the full merged record after every field passed its
	 * own checks; add errors to d naming the field (file/line NULL/0: the
	 * engine adds them for CSV). Return 0, or a negative ERR_* for a
	 * failure that is not the input's fault (the step is abandoned). A
	 * hook may also set members of rec that are derived from others
	 * (e.g. a risk score) - they must be fields of the kind. */
	int (*check)(struct isms_ctx *c, json_t *rec, struct diag *d);
	/* Optional: members computed for output only (e.g. the handling rules
	 * of an asset's classification), added to out (the record as
	 * isms_get returns it) on get and list; not stored, not in CSV. */
	int (*derive)(struct isms_ctx *c, json_t *out);
};

/* All kinds, NULL-terminated: the table in src/isms/kinds.c. Each kind
 * is defined in its own file as `const struct isms_kind isms_kind_<name>`
 * and listed there with one line. */
extern const struct isms_kind *const isms_kinds[];

/* The kind called name, or NULL if none. */
const struct isms_kind *isms_kind_find(const char *name);
/* The field called name in kind k, or NULL. */
const struct isms_field *isms_field_find(const struct isms_kind *k, const char *name);

/*
 * Create a record from data (the caller keeps ownership of data; it is
 * not changed). On success id_out holds the new id and the record is at
 * version 1. Errors: ERR_INVALID with d filled, ERR_FORBIDDEN (role, or a
 * department manager creating outside their department), store/ledger
 * errors.
 */
MM_WUR int isms_create(struct isms_ctx *c, const struct isms_kind *k, json_t *data, struct diag *d,
		       char id_out[ISMS_ID_MAX]);

/*
 * Update record id by merging patch into it (JSON merge: a member set to
 * null removes the field; members not named keep their value). if_version
 * 0 means no check; otherwise the record must be at exactly that version
 * or the result is ERR_CONFLICT. A retired record cannot be updated
 * (ERR_CONFLICT). An update that changes nothing still makes a version (it
 * is an act someone did). The ledger op is "update".
 */
MM_WUR int isms_update(struct isms_ctx *c, const struct isms_kind *k, const char *id, json_t *patch,
		       int64_t if_version, struct diag *d);

/* As isms_update, with op (a word [a-z_]{1,32}, e.g. "approve",
 * "supersede") as the ledger op and history op. For workflows. */
MM_WUR int isms_update_op(struct isms_ctx *c, const struct isms_kind *k, const char *id,
			  json_t *patch, int64_t if_version, const char *op, struct diag *d);

/*
 * Retire record id (it stays, with its history, but leaves lists unless
 * asked for and cannot be referred to by new references). reason (may be
 * NULL) goes to the history and ledger body as "reason". Retiring a
 * retired record is ERR_CONFLICT. Write permissions as for update.
 */
MM_WUR int isms_retire(struct isms_ctx *c, const struct isms_kind *k, const char *id,
		       const char *reason);

/* The record id, with the '_' members and the kind's derived members, in
 * *out (a new reference the caller releases with json_decref).
 * ERR_NOT_FOUND if there is none or the actor may not read it. */
MM_WUR int isms_get(struct isms_ctx *c, const struct isms_kind *k, const char *id, json_t **out);

/*
 * A listing. filters: pairs (field, value) that must all match: for TEXT,
 * ENUM, REF, DATE, INT, BOOL the text form of the value equals value; for
 * STRLIST one item equals value; "<field>.min" and "<field>.max" bound an
 * INT, DATE or DATETIME field (both ends included; records without the
 * field never match), e.g. ("review_due.max", "2026-04-01"); "_status"
 * filters on "active"/"retired" (and implies include_retired). q: a case-sensitive substring to
 * find in any text field or the id. sort: a field name or "_id" (default),
 * "_updated", "_created", "_version"; records without the field sort
 * first. page from 1 (0 = 1), per_page 0 = 50, at most 500.
 */
struct isms_query {
	const char *filters[16][2];
	size_t nfilters;
	const char *q;
	const char *sort;
	bool desc;
	size_t page, per_page;
	bool include_retired;
};

/*
 * List records of k that the actor may read and that match q (NULL = all,
 * first page): *items_out is a new JSON array of records as isms_get
 * gives them, *total_out the number of matching records over all pages.
 * ERR_INVALID (with no diag: the message is in the code) for a filter or
 * sort naming no field, or a range bound that is not of the field's type; ERR_FORBIDDEN if the role
 * may not read the kind.
 */
MM_WUR int isms_list(struct isms_ctx *c, const struct isms_kind *k, const struct isms_query *q,
		     json_t **items_out, size_t *total_out);

/* The history of id: a new JSON array, oldest first, of
 * {"version","op","actor","at","ledger_index","data"} (data is the
 * record's fields after the step; "reason" for retire). Read rules as
 * for isms_get. */
MM_WUR int isms_history(struct isms_ctx *c, const struct isms_kind *k, const char *id,
			json_t **out);

/*
 * The records matching q (paging ignored: every match) as CSV (RFC 4180,
 * UTF-8, CRLF line ends) appended to out: a header row "id" followed by
 * the kind's field names in order, then one row per record. STRLIST items
 * are joined with ';', BOOL as true/false, unset as an empty cell. A text
 * cell starting with = + - @, a tab, a CR or an apostrophe gets a leading
 * apostrophe (so that a spreadsheet runs no formula from a record).
 * Retired records are included only with include_retired (then a column
 * "_status" is added at the end).
 */
MM_WUR int isms_export_csv(struct isms_ctx *c, const struct isms_kind *k,
			   const struct isms_query *q, struct buf *out);

/*
 * Import CSV: a header row naming columns (field names; "id" optional;
 * unknown columns are errors; '_'-prefixed columns are ignored), then one
 * record per row. A row with an id updates that record (all columns
 * given replace its values; an empty cell unsets; columns not given keep
 * theirs); an id that does not exist (or that the actor may not read) is
 * an error; a row without an id creates a record. Blank lines are
 * skipped; a UTF-8 byte order mark is skipped; one leading apostrophe of
 * a cell is taken off (the spreadsheets' text mark, see the export). All or nothing: every
 * row is checked and every error is added to d as fname:line: field
 * 'x': reason; if there is any error nothing is written and the result is
 * ERR_INVALID. On success *count is the number of rows written.
 * Permissions are checked per row (ERR_FORBIDDEN if any row is refused,
 * also named in d). Everything happens in one transaction.
 */
MM_WUR int isms_import_csv(struct isms_ctx *c, const struct isms_kind *k, const char *data,
			   size_t len, const char *fname, struct diag *d, size_t *count);

/*
 * Several steps in one transaction, for workflows (e.g. approving a new
 * version and superseding the old one). Between isms_tx_begin and
 * isms_tx_commit, the engine's calls on the same ctx write in the open
 * transaction instead of their own. Ledger records appended inside are
 * not taken back by a rollback (the ledger is append-only); a workflow
 * therefore checks everything it can before its first write.
 * isms_tx_rollback on no open transaction is a no-op.
 */
MM_WUR int isms_tx_begin(struct isms_ctx *c);
MM_WUR int isms_tx_commit(struct isms_ctx *c);
void isms_tx_rollback(struct isms_ctx *c);

/*
 * The canonical JSON of a record's fields (members not starting with '_',
 * keys sorted, compact, UTF-8, no escaping of non-ASCII) appended to out,
 * and its SHA-256 as 64 lower-case hex characters in hex (may be NULL).
 * This is what the ledger's "sha256" proves.
 */
MM_WUR int isms_canonical(const json_t *rec, struct buf *out, char hex[65]);

/* The department of a stored or proposed record ("" if the kind has no
 * department field or the field is not set). Valid while rec lives. */
const char *isms_record_dept(const struct isms_kind *k, const json_t *rec);

/* Today's date "YYYY-MM-DD" in JST at the ctx's time, into out[11]. */
void isms_today(const struct isms_ctx *c, char out[11]);

#endif
