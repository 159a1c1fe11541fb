/*
 * isms_people_fx.h - the fixture shared by the unit tests of the people
 * side of the ISMS (test_isms_controls.c, test_isms_training.c,
 * test_isms_notices.c): a scratch store and ledger in a temporary
 * directory, two departments, a few staff members, and actors of each
 * role. Included by those tests only (static functions).
 */
#ifndef MAMORI_TEST_ISMS_PEOPLE_FX_H
#define MAMORI_TEST_ISMS_PEOPLE_FX_H

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "base/base.h"
#include "base/actor.h"
#include "base/buf.h"
#include "base/diag.h"
#include "base/timeutil.h"
#include "isms/isms.h"
#include "isms/people.h"
#include "ledger/ledger.h"
#include "registry/registry.h"
#include "store/store.h"

struct fx {
	char dir[256];
	char ledger_dir[300];
	struct store *st;
	struct ledger *lg;
	struct actor admin, dm1, dm2, auditor;
	struct isms_ctx c; /* acts as admin */
};

static inline void fx_actor(struct actor *a, const char *name, unsigned role, const char *dept)
{
	memset(a, 0, sizeof(*a));
	snprintf(a->name, sizeof(a->name), "%s", name);
	a->role = role;
	snprintf(a->dept, sizeof(a->dept), "%s", dept ? dept : "");
}

/* The ctx of f acting as a. */
static inline struct isms_ctx fx_as(struct fx *f, const struct actor *a)
{
	struct isms_ctx c = f->c;
	c.actor = a;
	return c;
}

/* 2026-06-01T12:00:00+09:00, the "today" of every test. */
#define FX_NOW ((int64_t)1780282800)

static inline int fx_setup(void **state)
{
	struct fx *f = xcalloc(1, sizeof(*f));
	const char *tmp = getenv("TMPDIR");
	char db[320], err[256];

	if (sodium_init() < 0)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "%s/mamori-people-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(db, sizeof(db), "%s/mamori.db", f->dir);
	snprintf(f->ledger_dir, sizeof(f->ledger_dir), "%s/ledger", f->dir);
	if (store_open(db, true, &f->st, err, sizeof(err)) < 0 || store_migrate(f->st) < 0)
		return -1;
	if (mkdir(f->ledger_dir, 0700) < 0 || ledger_open(f->ledger_dir, LEDGER_WRITE, &f->lg) < 0)
		return -1;
	/* S001 regular in D01 trained 2025-01-10 (expired by 2026-06-01);
	 * S002 fiscal-year in D01 starting 2026-05-25, never trained;
	 * S003 regular in D02 trained 2026-04-01; S004 contractor staff of
	 * contractor X1 in D02; S005 left on 2026-03-31. */
	if (store_exec(
		f->st,
		"INSERT INTO departments (id, name, parent, systems) VALUES "
		"('D01', '総務課', NULL, '[]'), ('D02', '税務課', NULL, '[]');"
		"INSERT INTO staff (id, name, surname, dept, employment, roles, zones, "
		"start_date, end_date, training, pledge, address_id, household_id, contractor) "
		"VALUES "
		"('S001', '山田 太郎', '山田', 'D01', 'regular', '[\"clerk\"]', '[\"lgwan\"]', "
		" '2020-04-01', NULL, '2025-01-10', '2020-04-01', NULL, NULL, NULL),"
		"('S002', '佐藤 花子', '佐藤', 'D01', 'fiscal_year', '[\"clerk\"]', '[\"lgwan\"]', "
		" '2026-05-25', NULL, NULL, NULL, NULL, NULL, NULL),"
		"('S003', '鈴木 一郎', '鈴木', 'D02', 'regular', '[\"clerk\",\"sysadmin\"]', "
		" '[\"lgwan\"]', '2019-04-01', NULL, '2026-04-01', '2019-04-01', NULL, NULL, NULL),"
		"('S004', '田中 次郎', '田中', 'D02', 'contractor', '[\"clerk\"]', '[\"lgwan\"]', "
		" '2026-04-01', NULL, '2026-04-01', '2026-04-01', NULL, NULL, 'X1'),"
		"('S005', '高橋 三郎', '高橋', 'D01', 'regular', '[\"clerk\"]', '[\"lgwan\"]', "
		" '2010-04-01', '2026-03-31', NULL, NULL, NULL, NULL, NULL)") < 0)
		return -1;
	fx_actor(&f->admin, "cli:root", ROLE_ADMIN, NULL);
	fx_actor(&f->dm1, "key:dm1", ROLE_DEPT_MANAGER, "D01");
	fx_actor(&f->dm2, "key:dm2", ROLE_DEPT_MANAGER, "D02");
	fx_actor(&f->auditor, "key:aud", ROLE_AUDITOR, NULL);
	f->c.st = f->st;
	f->c.lg = f->lg;
	f->c.actor = &f->admin;
	f->c.now = FX_NOW;
	*state = f;
	return 0;
}

static inline void fx_rm(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[1024];

	if (!d)
		return;
	while ((e = readdir(d))) {
		struct stat sb;
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		int n = snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		if (n < 0 || (size_t)n >= sizeof(p))
			continue;
		if (lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode))
			fx_rm(p);
		else
			unlink(p);
	}
	closedir(d);
	rmdir(dir);
}

static inline int fx_teardown(void **state)
{
	struct fx *f = *state;

	store_close(f->st);
	ledger_close(f->lg);
	fx_rm(f->dir);
	free(f);
	return 0;
}

/* A staff member's registry date column ("training" or "pledge") into out. */
static inline void fx_staff_date(struct fx *f, const char *id, const char *col, char out[16])
{
	struct store_stmt *s = NULL;
	char sql[128];
	const char *t;

	snprintf(sql, sizeof(sql), "SELECT %s FROM staff WHERE id = ?", col);
	out[0] = '\0';
	if (store_prepare(f->st, sql, &s) < 0 || store_bind_str(s, 1, id) < 0 ||
	    store_step(s) != 1) {
		store_finalize(s);
		return;
	}
	t = store_col_text(s, 0, NULL);
	snprintf(out, 16, "%s", t ? t : "");
	store_finalize(s);
}

/* Create a record of kind k from JSON text as the ctx's actor; the id into id. */
static inline int fx_create(struct isms_ctx *c, const struct isms_kind *k, const char *json,
			    char id[ISMS_ID_MAX])
{
	json_error_t je;
	json_t *o = json_loads(json, 0, &je);
	struct diag d;
	int r;

	if (!o)
		return ERR_INVALID;
	diag_init(&d, 20);
	r = isms_create(c, k, o, &d, id);
	if (r < 0 && d.n)
		fprintf(stderr, "create %s: %s: %s\n", k->name,
			d.items[0].field ? d.items[0].field : "", d.items[0].msg);
	diag_release(&d);
	json_decref(o);
	return r;
}

#endif
