/*
 * isms_int.h - private to src/isms/: the stored row of a record and the
 * engine steps shared by isms.c (records) and isms_csv.c (CSV).
 */
#ifndef MAMORI_ISMS_INT_H
#define MAMORI_ISMS_INT_H

#include "base/base.h"
#include "base/timeutil.h"
#include "isms/isms.h"

/* One row of isms_records. data is owned (json_decref); strings are owned. */
struct isms_row {
	char id[ISMS_ID_MAX];
	char *dept; /* NULL when none */
	int64_t version;
	bool retired;
	json_t *data;
	char created[TS_TEXT_MAX], updated[TS_TEXT_MAX];
	char *created_by, *updated_by;
	/* Sort key, filled by the listing. */
	bool key_missing;
	int64_t key_int;
	const char *key_str;
};

void isms_row_release(struct isms_row *r);

/* Load record id of kind k into *out: ERR_NOT_FOUND if there is none
 * (permissions are not checked here). */
MM_WUR int isms_row_load(struct isms_ctx *c, const struct isms_kind *k, const char *id,
			 struct isms_row *out);

/*
 * The records of k matching q that the actor may read, sorted as q asks
 * (paging ignored): *rows_out (free with isms_rows_free) of *n_out.
 */
MM_WUR int isms_select(struct isms_ctx *c, const struct isms_kind *k, const struct isms_query *q,
		       struct isms_row **rows_out, size_t *n_out);
void isms_rows_free(struct isms_row *rows, size_t n);

/* Where a validation error is reported: file and line (NULL/0 outside CSV). */
struct isms_where {
	const char *file;
	long line;
};

/* True if the actor's role may write (read) records of k at all. */
bool isms_may_write_kind(const struct isms_ctx *c, const struct isms_kind *k);
bool isms_may_read_kind(const struct isms_ctx *c, const struct isms_kind *k);

/*
 * Build the record that step op would store: old (NULL when creating)
 * merged with patch, every field validated, the kind's check hook run,
 * and the department rules applied. On success *out is a new object.
 * ERR_INVALID (problems in d, at w), ERR_FORBIDDEN (also in d), or an
 * error of the store.
 */
MM_WUR int isms_prepare(struct isms_ctx *c, const struct isms_kind *k, const struct isms_row *old,
			json_t *patch, const char *op, struct diag *d, const struct isms_where *w,
			json_t **out);

/*
 * Write a prepared record inside the open transaction: a new record
 * (old NULL; its id goes to id_out) or a new version of old, its history
 * row and its ledger record. retire marks it retired.
 */
MM_WUR int isms_write(struct isms_ctx *c, const struct isms_kind *k, const struct isms_row *old,
		      json_t *rec, bool retire, const char *op, const char *reason,
		      char id_out[ISMS_ID_MAX]);

/* As isms_write; provisional writes only the record's row (no history,
 * no ledger): for checking a batch whose later rows must see the earlier
 * ones, inside a savepoint that is rolled back before the real writes. */
MM_WUR int isms_write_ex(struct isms_ctx *c, const struct isms_kind *k, const struct isms_row *old,
			 json_t *rec, bool retire, const char *op, const char *reason,
			 char id_out[ISMS_ID_MAX], bool provisional);

/* Open a transaction unless the ctx has one (*own says whether we did;
 * the ctx is marked in_tx meanwhile), and end it: commit when r >= 0 and
 * we opened it, roll back when r < 0; returns r or the commit's error. */
MM_WUR int isms_tx_enter(struct isms_ctx *c, bool *own);
MM_WUR int isms_tx_leave(struct isms_ctx *c, bool own, int r);

/* The ctx's time. */
int64_t isms_now(const struct isms_ctx *c);

#endif
