/*
 * sqlite_append.c - the SQLite peer of bench_append: the same access
 * events (bench/events.h) inserted into one unindexed table.
 *
 *   sqlite_append DBFILE N [--batch B] [--sync NORMAL|FULL]
 *
 * DBFILE must not exist. journal_mode=WAL; synchronous=NORMAL by default
 * (SQLite's usual setting for WAL: a commit is not synced, the WAL is
 * synced at each checkpoint, so the last transactions before a power
 * failure may be lost) or FULL (the WAL is synced at each commit, which
 * is the durability of a ledger append). One writer, one prepared
 * INSERT, B rows per transaction (default 1000).
 *
 * Output, one line:
 *   sqlite rows=N batch=B sync=S seconds=T rows_per_s=X body_MB_per_s=Y avg_body=A
 * This program links only SQLite (and mamori's argument parser); it is
 * never part of mamori.
 */
#include "base/base.h"

#include <sqlite3.h>
#include <sys/stat.h>
#include <time.h>

#include "../events.h"

static int exec(sqlite3 *db, const char *sql)
{
	char *err = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
		fprintf(stderr, "sqlite_append: %s: %s\n", sql, err ? err : "?");
		sqlite3_free(err);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	int64_t n, batch = 1000;
	const char *sync = "NORMAL";
	sqlite3 *db = NULL;
	sqlite3_stmt *ins = NULL;
	struct timespec t0, t1;
	struct stat st;
	char(*evs)[BENCH_EVENT_MAX] = NULL, pragma[64];
	size_t *evs_len = NULL;
	unsigned long long bytes = 0;
	double secs;
	int rc = 1, bad = 0;

	for (int i = 3; i < argc; i += 2) {
		if (i + 1 >= argc)
			bad = 1;
		else if (!strcmp(argv[i], "--batch"))
			bad |= parse_i64(argv[i + 1], strlen(argv[i + 1]), 1, 1000000, &batch) < 0;
		else if (!strcmp(argv[i], "--sync") &&
			 (!strcmp(argv[i + 1], "NORMAL") || !strcmp(argv[i + 1], "FULL")))
			sync = argv[i + 1];
		else
			bad = 1;
	}
	if (argc < 3 || bad || parse_i64(argv[2], strlen(argv[2]), 1, 100000000, &n) < 0) {
		fprintf(stderr, "usage: sqlite_append DBFILE N [--batch B] [--sync NORMAL|FULL]\n");
		return 2;
	}
	if (stat(argv[1], &st) == 0) {
		fprintf(stderr, "sqlite_append: %s exists; give a new file\n", argv[1]);
		return 2;
	}
	if (sqlite3_open(argv[1], &db) != SQLITE_OK) {
		fprintf(stderr, "sqlite_append: cannot open %s\n", argv[1]);
		goto out;
	}
	snprintf(pragma, sizeof(pragma), "PRAGMA synchronous=%s", sync);
	if (exec(db, "PRAGMA journal_mode=WAL") < 0 || exec(db, pragma) < 0 ||
	    exec(db, "CREATE TABLE events (ts INTEGER NOT NULL, kind TEXT NOT NULL, "
		     "actor TEXT NOT NULL, body TEXT NOT NULL)") < 0)
		goto out;
	if (sqlite3_prepare_v2(db, "INSERT INTO events (ts, kind, actor, body) VALUES (?, ?, ?, ?)",
			       -1, &ins, NULL) != SQLITE_OK) {
		fprintf(stderr, "sqlite_append: prepare: %s\n", sqlite3_errmsg(db));
		goto out;
	}
	/* The events are made before the timed part, as in bench_append. */
	evs = xmalloc((size_t)n * BENCH_EVENT_MAX);
	evs_len = xmalloc((size_t)n * sizeof(*evs_len));
	for (int64_t k = 0; k < n; k++)
		evs_len[k] = bench_event((uint64_t)k, evs[k]);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int64_t i = 0; i < n; i += batch) {
		int64_t end = i + batch < n ? i + batch : n;

		if (exec(db, "BEGIN") < 0)
			goto out;
		for (int64_t k = i; k < end; k++) {
			size_t len = evs_len[k];
			const char *body = evs[k];

			bytes += len;
			/* The time of the append, as the ledger takes it. */
			sqlite3_bind_int64(ins, 1, (sqlite3_int64)time(NULL));
			sqlite3_bind_text(ins, 2, "access", 6, SQLITE_STATIC);
			sqlite3_bind_text(ins, 3, "bench", 5, SQLITE_STATIC);
			sqlite3_bind_text(ins, 4, body, (int)len, SQLITE_TRANSIENT);
			if (sqlite3_step(ins) != SQLITE_DONE) {
				fprintf(stderr, "sqlite_append: insert: %s\n", sqlite3_errmsg(db));
				goto out;
			}
			sqlite3_reset(ins);
		}
		if (exec(db, "COMMIT") < 0)
			goto out;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("sqlite rows=%lld batch=%lld sync=%s seconds=%.3f rows_per_s=%.0f "
	       "body_MB_per_s=%.2f avg_body=%.1f\n",
	       (long long)n, (long long)batch, sync, secs, (double)n / secs,
	       (double)bytes / secs / 1e6, (double)bytes / (double)n);
	rc = 0;
out:
	free(evs);
	free(evs_len);
	sqlite3_finalize(ins);
	sqlite3_close(db);
	return rc;
}
