/*
 * store.c - the public store.h functions: dispatch to the backend chosen by
 * the URL (store_int.h, struct store_ops), plus what every engine shares:
 * transaction bookkeeping and schema migrations.
 */
#include "base/base.h"
#include "base/i18n.h"
#include "store/store.h"
#include "store/store_int.h"

int store_open(const char *url, bool create, struct store **out, char *errmsg, size_t errlen)
{
	*out = NULL;
	if (errmsg && errlen)
		errmsg[0] = '\0';
	if (!url || !*url || !strncmp(url, "postgresql://", 13) ||
	    !strncmp(url, "postgres://", 11)) {
		/* A PostgreSQL backend would be chosen here (HAVE_LIBPQ). */
		if (errmsg)
			snprintf(
			    errmsg, errlen, "%s",
			    T("対応していないデータベース URL です", "unsupported database URL"));
		return ERR_UNSUPPORTED;
	}
	return store_sqlite_ops.open(url, create, out, errmsg, errlen);
}

void store_close(struct store *st)
{
	if (st)
		st->ops->close(st);
}

int store_exec(struct store *st, const char *sql)
{
	return st->ops->exec(st, sql);
}

int store_begin(struct store *st)
{
	int r;
	BUG_ON(st->in_tx);
	if ((r = st->ops->begin(st)) < 0)
		return r;
	st->in_tx = true;
	return 0;
}

int store_commit(struct store *st)
{
	int r;
	BUG_ON(!st->in_tx);
	if ((r = st->ops->commit(st)) < 0) {
		store_rollback(st);
		return r;
	}
	st->in_tx = false;
	return 0;
}

bool store_in_tx(const struct store *st)
{
	return st->in_tx;
}

const char *store_file(struct store *st)
{
	return st->ops->file ? st->ops->file(st) : NULL;
}

void store_rollback(struct store *st)
{
	if (!st->in_tx)
		return;
	st->ops->rollback(st);
	st->in_tx = false;
}

int store_prepare(struct store *st, const char *sql, struct store_stmt **out)
{
	*out = NULL;
	return st->ops->prepare(st, sql, out);
}

void store_finalize(struct store_stmt *s)
{
	if (s)
		s->st->ops->finalize(s);
}

int store_bind_text(struct store_stmt *s, int i, const char *v, size_t len)
{
	return s->st->ops->bind_text(s, i, v, len);
}

int store_bind_str(struct store_stmt *s, int i, const char *v)
{
	if (!v)
		return store_bind_null(s, i);
	return store_bind_text(s, i, v, strlen(v));
}

int store_bind_int(struct store_stmt *s, int i, int64_t v)
{
	return s->st->ops->bind_int(s, i, v);
}

int store_bind_blob(struct store_stmt *s, int i, const void *v, size_t len)
{
	return s->st->ops->bind_blob(s, i, v, len);
}

int store_bind_null(struct store_stmt *s, int i)
{
	return s->st->ops->bind_null(s, i);
}

int store_step(struct store_stmt *s)
{
	return s->st->ops->step(s);
}

int store_reset(struct store_stmt *s)
{
	return s->st->ops->reset(s);
}

bool store_col_is_null(struct store_stmt *s, int i)
{
	return s->st->ops->col_is_null(s, i);
}

const char *store_col_text(struct store_stmt *s, int i, size_t *len)
{
	return s->st->ops->col_text(s, i, len);
}

int64_t store_col_int(struct store_stmt *s, int i)
{
	return s->st->ops->col_int(s, i);
}

const void *store_col_blob(struct store_stmt *s, int i, size_t *len)
{
	return s->st->ops->col_blob(s, i, len);
}

int64_t store_changes(struct store *st)
{
	return st->ops->changes(st);
}

const char *store_errmsg(struct store *st)
{
	return st ? st->err : "";
}

/* ---- schema ---- */

int store_schema_latest(void)
{
	int v = 0;
	for (size_t i = 0; i < store_migrations_count; i++)
		if (store_migrations[i].version > v)
			v = store_migrations[i].version;
	return v;
}

/* The version recorded in schema_version; 0 when there is no such table
 * (a new database). */
static int schema_read(struct store *st, int *version)
{
	struct store_stmt *s = NULL;
	int r;

	*version = 0;
	if (store_prepare(st, "SELECT MAX(version) FROM schema_version", &s) < 0)
		return 0;
	if ((r = store_step(s)) == 1)
		*version = (int)store_col_int(s, 0);
	store_finalize(s);
	return r < 0 ? r : 0;
}

int store_schema_version(struct store *st)
{
	int v;
	if (schema_read(st, &v) < 0)
		return -1;
	return v;
}

int store_migrate(struct store *st)
{
	int cur, latest = store_schema_latest(), r;
	struct store_stmt *ins = NULL;

	if ((r = store_exec(st, "CREATE TABLE IF NOT EXISTS schema_version ("
				"version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
				"applied TEXT NOT NULL)")) < 0)
		goto out;
	if ((r = schema_read(st, &cur)) < 0)
		goto out;
	if (cur > latest) {
		snprintf(st->err, sizeof(st->err),
			 T("データベースのスキーマ %d はこのプログラムの %d より新しいです",
			   "database schema %d is newer than this program's %d"),
			 cur, latest);
		r = ERR_SCHEMA;
		goto out;
	}
	/* The generated table is in file-name order, which is version order.
	 * Each migration and its schema_version row commit together. */
	for (size_t i = 0; i < store_migrations_count; i++) {
		const struct store_migration *m = &store_migrations[i];
		if (m->version <= cur)
			continue;
		if ((r = store_begin(st)) < 0)
			goto out;
		if ((r = store_exec(st, m->sql)) < 0) {
			char tmp[400];
			snprintf(tmp, sizeof(tmp), "%.399s", st->err);
			snprintf(st->err, sizeof(st->err), "migration %.64s: %s", m->name, tmp);
			store_rollback(st);
			goto out;
		}
		if ((r = store_prepare(st,
				       "INSERT INTO schema_version (version, name, applied) "
				       "VALUES (?, ?, CURRENT_TIMESTAMP)",
				       &ins)) < 0 ||
		    (r = store_bind_int(ins, 1, m->version)) < 0 ||
		    (r = store_bind_str(ins, 2, m->name)) < 0 || (r = store_step(ins)) < 0) {
			store_rollback(st);
			goto out;
		}
		store_finalize(ins);
		ins = NULL;
		if ((r = store_commit(st)) < 0)
			goto out;
		cur = m->version;
	}
out:
	store_finalize(ins);
	return r;
}
