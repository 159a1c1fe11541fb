/*
 * store_sqlite.c - the embedded SQLite backend of store.h (store_sqlite_ops).
 *
 * One struct store is one sqlite3 connection opened in WAL mode with
 * synchronous=NORMAL (durable at checkpoints, never corrupt), foreign keys
 * on and a 5 s busy timeout so that a reader and the writer of another
 * process wait for each other instead of failing. Statements are compiled
 * with SQLITE_PREPARE_PERSISTENT because callers keep them for the whole of
 * a bulk operation and re-run them with store_reset().
 */
#include <sqlite3.h>

#include "base/base.h"
#include "store/store.h"
#include "store/store_int.h"

struct sq_store {
	struct store base; /* first: a struct store * points here */
	sqlite3 *db;
};

struct sq_stmt {
	struct store_stmt base; /* first */
	sqlite3_stmt *s;
};

#define DB(st) (((struct sq_store *)(st))->db)
#define STMT(x) (((struct sq_stmt *)(x))->s)

static void set_err(struct store *st, const char *what)
{
	snprintf(st->err, sizeof(st->err), "%s: %s", what,
		 DB(st) ? sqlite3_errmsg(DB(st)) : "no database");
}

/* Map an SQLite result code to a mamori error. */
static int map_rc(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return 0;
	case SQLITE_NOMEM:
		return ERR_NOMEM;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return ERR_BUSY;
	case SQLITE_CONSTRAINT:
		return ERR_EXISTS;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return ERR_CORRUPT;
	case SQLITE_IOERR:
	case SQLITE_CANTOPEN:
	case SQLITE_FULL:
	case SQLITE_READONLY:
		return ERR_IO;
	case SQLITE_TOOBIG:
		return ERR_TOO_LARGE;
	default:
		return ERR_DB;
	}
}

static void sq_close(struct store *st);

static int sq_open(const char *url, bool create, struct store **out, char *errmsg, size_t errlen)
{
	static const char *const setup[] = {
	    "PRAGMA journal_mode=WAL",
	    "PRAGMA synchronous=NORMAL",
	    "PRAGMA foreign_keys=ON",
	    "PRAGMA temp_store=MEMORY",
	    /* 64 MiB of page cache: bulk upserts into large indexes stay in memory. */
	    "PRAGMA cache_size=-65536",
	};
	struct sq_store *st = NULL;
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
	int rc, r = 0;

	*out = NULL;
	if (errmsg && errlen)
		errmsg[0] = '\0';
	if (create)
		flags |= SQLITE_OPEN_CREATE;
	st = xcalloc(1, sizeof(*st));
	st->base.ops = &store_sqlite_ops;
	rc = sqlite3_open_v2(url, &st->db, flags, NULL);
	if (rc != SQLITE_OK) {
		r = map_rc(rc);
		if (errmsg)
			snprintf(errmsg, errlen, "%s: %s", url,
				 st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
		goto out;
	}
	sqlite3_extended_result_codes(st->db, 1);
	sqlite3_busy_timeout(st->db, 5000);
	for (size_t i = 0; i < ARRAY_SIZE(setup); i++) {
		rc = sqlite3_exec(st->db, setup[i], NULL, NULL, NULL);
		if (rc != SQLITE_OK) {
			r = map_rc(rc);
			if (errmsg)
				snprintf(errmsg, errlen, "%s: %s", url, sqlite3_errmsg(st->db));
			goto out;
		}
	}
	*out = &st->base;
	st = NULL;
out:
	sq_close(st ? &st->base : NULL);
	return r;
}

static void sq_close(struct store *st)
{
	if (!st)
		return;
	if (st->in_tx)
		sqlite3_exec(DB(st), "ROLLBACK", NULL, NULL, NULL);
	/* close_v2 tolerates statements a caller forgot; the database is
	 * released once they are finalized, instead of leaking silently. */
	sqlite3_close_v2(DB(st));
	free((struct sq_store *)st);
}

static int sq_exec(struct store *st, const char *sql)
{
	int rc = sqlite3_exec(DB(st), sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		set_err(st, "exec");
		return map_rc(rc);
	}
	return 0;
}

static int sq_begin(struct store *st)
{
	/* IMMEDIATE takes the write lock now, so that a transaction never
	 * fails half-way because another writer got there first. */
	return sq_exec(st, "BEGIN IMMEDIATE");
}

static int sq_commit(struct store *st)
{
	return sq_exec(st, "COMMIT");
}

static void sq_rollback(struct store *st)
{
	sqlite3_exec(DB(st), "ROLLBACK", NULL, NULL, NULL);
}

/* ---- statements ---- */

static int sq_prepare(struct store *st, const char *sql, struct store_stmt **out)
{
	sqlite3_stmt *s = NULL;
	int rc;

	*out = NULL;
	rc = sqlite3_prepare_v3(DB(st), sql, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL);
	if (rc != SQLITE_OK) {
		set_err(st, "prepare");
		return map_rc(rc) == 0 ? ERR_DB : map_rc(rc);
	}
	if (!s) {
		snprintf(st->err, sizeof(st->err), "prepare: empty statement");
		return ERR_DB;
	}
	{
		struct sq_stmt *x = xmalloc(sizeof(*x));
		x->base.st = st;
		x->s = s;
		*out = &x->base;
	}
	return 0;
}

static void sq_finalize(struct store_stmt *s)
{
	if (!s)
		return;
	sqlite3_finalize(STMT(s));
	free((struct sq_stmt *)s);
}

static int bind_rc(struct store_stmt *s, int rc)
{
	if (rc == SQLITE_OK)
		return 0;
	set_err(s->st, "bind");
	return rc == SQLITE_RANGE ? ERR_INVALID : map_rc(rc);
}

static int sq_bind_text(struct store_stmt *s, int i, const char *v, size_t len)
{
	if (len > INT_MAX)
		return ERR_TOO_LARGE;
	return bind_rc(s, sqlite3_bind_text(STMT(s), i, v ? v : "", (int)len, SQLITE_TRANSIENT));
}

static int sq_bind_int(struct store_stmt *s, int i, int64_t v)
{
	return bind_rc(s, sqlite3_bind_int64(STMT(s), i, v));
}

static int sq_bind_blob(struct store_stmt *s, int i, const void *v, size_t len)
{
	if (len > INT_MAX)
		return ERR_TOO_LARGE;
	return bind_rc(s, sqlite3_bind_blob(STMT(s), i, v ? v : "", (int)len, SQLITE_TRANSIENT));
}

static int sq_bind_null(struct store_stmt *s, int i)
{
	return bind_rc(s, sqlite3_bind_null(STMT(s), i));
}

static int sq_step(struct store_stmt *s)
{
	int rc = sqlite3_step(STMT(s));
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	set_err(s->st, "step");
	return map_rc(rc) == 0 ? ERR_DB : map_rc(rc);
}

static int sq_reset(struct store_stmt *s)
{
	/* sqlite3_reset repeats the error of the last step, which the
	 * caller has already seen; the statement is usable again either way. */
	sqlite3_reset(STMT(s));
	sqlite3_clear_bindings(STMT(s));
	return 0;
}

static bool sq_col_is_null(struct store_stmt *s, int i)
{
	return sqlite3_column_type(STMT(s), i) == SQLITE_NULL;
}

static const char *sq_col_text(struct store_stmt *s, int i, size_t *len)
{
	const char *t = (const char *)sqlite3_column_text(STMT(s), i);
	if (len)
		*len = t ? (size_t)sqlite3_column_bytes(STMT(s), i) : 0;
	return t;
}

static int64_t sq_col_int(struct store_stmt *s, int i)
{
	return sqlite3_column_int64(STMT(s), i);
}

static const void *sq_col_blob(struct store_stmt *s, int i, size_t *len)
{
	const void *p = sqlite3_column_blob(STMT(s), i);
	if (len)
		*len = p ? (size_t)sqlite3_column_bytes(STMT(s), i) : 0;
	return p;
}

static int64_t sq_changes(struct store *st)
{
	return sqlite3_changes64(DB(st));
}

static const char *sq_file(struct store *st)
{
	const char *f = sqlite3_db_filename(DB(st), "main");
	return f && *f ? f : NULL; /* "" for an in-memory or temporary database */
}

const struct store_ops store_sqlite_ops = {
    .name = "sqlite",
    .open = sq_open,
    .close = sq_close,
    .exec = sq_exec,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .prepare = sq_prepare,
    .finalize = sq_finalize,
    .bind_text = sq_bind_text,
    .bind_int = sq_bind_int,
    .bind_blob = sq_bind_blob,
    .bind_null = sq_bind_null,
    .step = sq_step,
    .reset = sq_reset,
    .col_is_null = sq_col_is_null,
    .col_text = sq_col_text,
    .col_int = sq_col_int,
    .col_blob = sq_col_blob,
    .changes = sq_changes,
    .file = sq_file,
};
