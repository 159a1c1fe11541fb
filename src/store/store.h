/*
 * store.h - the relational store behind one narrow interface.
 *
 * Everything mamori keeps in tables goes through this interface; nothing
 * outside src/store/ talks to a database engine directly. SQL given to
 * store_prepare() is written in the portable subset that SQLite and
 * PostgreSQL share: '?' placeholders (a backend renumbers them if it must),
 * TEXT/INTEGER/BLOB columns, INSERT ... ON CONFLICT (...) DO UPDATE for
 * upserts, no engine-specific functions. Backends implement struct
 * store_ops (store_int.h), one file each: store_sqlite.c is the embedded
 * default; a PostgreSQL backend can be added behind HAVE_LIBPQ.
 *
 * Threading: a struct store is one connection, used by one thread at a
 * time. The server opens one per worker thread (store_open is cheap).
 *
 * Schema: store_migrate() applies the numbered migrations in
 * src/store/migrations/ that the database has not seen, each in its own
 * transaction, and records the version in schema_version. A database with a
 * newer version than this program knows gives ERR_SCHEMA.
 */
#ifndef MAMORI_STORE_H
#define MAMORI_STORE_H

#include "base/base.h"

struct store;
struct store_stmt;

/*
 * Open the database at url: a path (SQLite file), or in future a
 * "postgresql://" URL. create: make the file if it does not exist.
 * On error *out is NULL and, if errmsg is not NULL, a message is written
 * there (NUL-terminated, at most errlen bytes).
 */
MM_WUR int store_open(const char *url, bool create, struct store **out,
		      char *errmsg, size_t errlen);
void store_close(struct store *st); /* NULL is a no-op */

/* Bring the schema up to date. Safe to call on every open. */
MM_WUR int store_migrate(struct store *st);
/* The schema version the database is at, and the newest this build knows. */
int store_schema_version(struct store *st);
int store_schema_latest(void);

/* Transactions. Nested begin is a BUG. rollback on no transaction is a no-op. */
MM_WUR int store_begin(struct store *st);
MM_WUR int store_commit(struct store *st);
void store_rollback(struct store *st);
/* Whether a transaction begun with store_begin is open. */
bool store_in_tx(const struct store *st);

/* The file that holds the database, for files kept beside it (the registry
 * image, docs/internals/registry.md); NULL when there is none (an
 * in-memory database, or a server). Valid until store_close. */
const char *store_file(struct store *st);

/* Run SQL with no parameters and no result rows (DDL, PRAGMA-free). */
MM_WUR int store_exec(struct store *st, const char *sql);

/*
 * Prepared statements. Parameters are numbered from 1. Text is copied by
 * the binding (the caller's string may be freed after bind). A statement
 * belongs to its store and must be finalized before store_close.
 */
MM_WUR int store_prepare(struct store *st, const char *sql, struct store_stmt **out);
void store_finalize(struct store_stmt *s); /* NULL is a no-op */
MM_WUR int store_bind_text(struct store_stmt *s, int i, const char *v, size_t len);
MM_WUR int store_bind_str(struct store_stmt *s, int i, const char *v); /* NULL binds NULL */
MM_WUR int store_bind_int(struct store_stmt *s, int i, int64_t v);
MM_WUR int store_bind_blob(struct store_stmt *s, int i, const void *v, size_t len);
MM_WUR int store_bind_null(struct store_stmt *s, int i);
/* Step: 1 when a row is ready, 0 when done, negative on error. */
MM_WUR int store_step(struct store_stmt *s);
/* Reset for re-execution with new bindings (bindings are cleared). */
MM_WUR int store_reset(struct store_stmt *s);
/* Columns of the current row, numbered from 0. Text pointers are valid
 * until the next step/reset/finalize. NULL columns: text NULL, int 0. */
bool store_col_is_null(struct store_stmt *s, int i);
const char *store_col_text(struct store_stmt *s, int i, size_t *len);
int64_t store_col_int(struct store_stmt *s, int i);
const void *store_col_blob(struct store_stmt *s, int i, size_t *len);
/* Rows changed by the last INSERT/UPDATE/DELETE statement. */
int64_t store_changes(struct store *st);

/* The last error message of the backend, for logs and diagnostics. */
const char *store_errmsg(struct store *st);

#endif
