/*
 * store_int.h - private to src/store/: the backend operations table and the
 * embedded migrations. Nothing outside src/store/ includes this file.
 *
 * A backend (one file each: store_sqlite.c, later store_pg.c) defines its
 * own connection and statement structs whose first member is struct store
 * or struct store_stmt below, and a const struct store_ops. store.c
 * dispatches the public functions of store.h through st->ops and holds
 * what is the same for every engine (migrations).
 */
#ifndef MAMORI_STORE_INT_H
#define MAMORI_STORE_INT_H

#include <stddef.h>

#include "base/base.h"

struct store_ops;

/* The common head of every backend's connection. */
struct store {
	const struct store_ops *ops;
	bool in_tx;
	char err[512]; /* the last error message, written by store.c or the backend */
};

/* The common head of every backend's prepared statement. */
struct store_stmt {
	struct store *st;
};

struct store_ops {
	const char *name;
	int (*open)(const char *url, bool create, struct store **out, char *errmsg, size_t errlen);
	void (*close)(struct store *st);
	int (*exec)(struct store *st, const char *sql);
	/* Start a transaction that holds the write lock from the start. */
	int (*begin)(struct store *st);
	int (*commit)(struct store *st);
	void (*rollback)(struct store *st);
	int (*prepare)(struct store *st, const char *sql, struct store_stmt **out);
	void (*finalize)(struct store_stmt *s);
	int (*bind_text)(struct store_stmt *s, int i, const char *v, size_t len);
	int (*bind_int)(struct store_stmt *s, int i, int64_t v);
	int (*bind_blob)(struct store_stmt *s, int i, const void *v, size_t len);
	int (*bind_null)(struct store_stmt *s, int i);
	int (*step)(struct store_stmt *s);
	int (*reset)(struct store_stmt *s);
	bool (*col_is_null)(struct store_stmt *s, int i);
	const char *(*col_text)(struct store_stmt *s, int i, size_t *len);
	int64_t (*col_int)(struct store_stmt *s, int i);
	const void *(*col_blob)(struct store_stmt *s, int i, size_t *len);
	int64_t (*changes)(struct store *st);
	/* The database file, NULL when none (may be NULL itself). */
	const char *(*file)(struct store *st);
};

extern const struct store_ops store_sqlite_ops;

/* One numbered schema migration, embedded from migrations/NNN_name.sql
 * by tools/embed.sh at build time. */
struct store_migration {
	int version;
	const char *name;
	const char *sql;
};

extern const struct store_migration store_migrations[];
extern const size_t store_migrations_count;

#endif
