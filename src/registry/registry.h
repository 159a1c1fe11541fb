/*
 * registry.h - the municipality's people and records: systems, departments,
 * staff, residents, cases, overtime (../shared/FORMATS.md), their import
 * and validation, and the in-memory snapshot the hot paths read.
 *
 * Import is all-or-nothing: every file in the data directory is validated
 * completely first; any error means nothing is written. Valid files upsert
 * by id in one transaction; importing the same files again changes
 * nothing. Each successful import is recorded in the ledger (kind
 * "import") by registry_import itself.
 */
#ifndef MAMORI_REGISTRY_H
#define MAMORI_REGISTRY_H

#include "base/base.h"

struct store;
struct ledger;
struct diag;
struct arena;

enum employment {
	EMP_REGULAR = 0,  /* 正規職員 */
	EMP_FISCAL_YEAR,  /* 会計年度任用職員 */
	EMP_TEMPORARY,    /* 臨時職員 */
	EMP_CONTRACTOR,   /* 委託事業者の従事者 */
	EMP__COUNT
};
/* "regular", ... ; NULL for an out-of-range value. */
const char *employment_name(enum employment e);
int employment_parse(const char *s, enum employment *out);

enum need_to_know { NTK_DEFAULT = 0, NTK_MONITOR, NTK_ENFORCE };

/* A string list: items point into the snapshot's arena. */
struct strlist {
	const char **v;
	uint32_t n;
};

struct reg_system {
	const char *id, *name, *zone;
	const char *confidentiality, *integrity, *availability; /* may be NULL */
	enum need_to_know need_to_know;
};

struct reg_department {
	const char *id, *name, *parent; /* parent may be NULL */
	struct strlist systems;
};

struct reg_staff {
	const char *id, *name, *surname, *dept;
	enum employment employment;
	struct strlist roles, zones;
	int32_t start, end, training, pledge; /* DAY_NONE when absent */
	const char *address_id, *household_id, *contractor; /* may be NULL */
};

struct reg_resident {
	const char *id, *surname, *given;
	int32_t birth;
	const char *address_id, *household_id;
	struct strlist flags;
};

struct reg_case {
	const char *id, *resident_id, *dept, *kind;
	const char *assigned_to; /* may be NULL */
	int64_t opened, closed;  /* closed is TS_NONE while open */
};

struct reg_overtime {
	const char *staff_id;
	int64_t start, end;
};

/*
 * A read-only snapshot of the registry, loaded whole from the store. All
 * strings live in the snapshot's arena. Arrays are sorted by id (cases by
 * resident_id then opened; overtime by staff_id then start).
 *
 * registry_load keeps its result in a file beside a store kept in a file
 * (the registry image, "<database>-registry"), marked with the registry's
 * stamp, a random token that every change of the registry tables made by
 * mamori replaces in its own transaction; while the stamp is unchanged, a
 * load reads that file instead of the tables. A change made to the
 * registry tables by anything but mamori must remove the image (or call
 * registry_stamp_renew): docs/internals/registry.md.
 */
struct registry_data {
	struct arena *arena;
	struct reg_system *systems;
	size_t nsystems;
	struct reg_department *departments;
	size_t ndepartments;
	struct reg_staff *staff;
	size_t nstaff;
	struct reg_resident *residents;
	size_t nresidents;
	struct reg_case *cases;
	size_t ncases;
	struct reg_overtime *overtime;
	size_t novertime;
	/* Where every string above lies: blocks of the arena, for the image
	 * writer (image.c), which stores the strings as offsets. */
	struct reg_block {
		const char *p;
		size_t n;
	} *blocks;
	size_t nblocks;
};

MM_WUR int registry_load(struct store *st, struct registry_data **out);
void registry_data_free(struct registry_data *d); /* NULL is a no-op */
/* The systems, departments and staff only, from the tables (residents,
 * cases and overtime are left empty): what the ISMS pages need, a few
 * thousand rows whatever the city's size, where registry_load reads the
 * whole registry (1.26 GB at 2 million residents). */
MM_WUR int registry_load_people(struct store *st, struct registry_data **out);
/* One member of staff and one resident by id, from the tables, and
 * nothing else (either array is empty when the registry does not hold
 * that id): what authorising a disclosure reads. */
MM_WUR int registry_load_pair(struct store *st, const char *staff_id, const char *resident_id,
			      struct registry_data **out);
/* Replace the registry's stamp with a new random token, so that no image
 * made before is read again. In the transaction of the change it marks,
 * when there is one. */
MM_WUR int registry_stamp_renew(struct store *st);

/* What an import did, per file kind. */
struct import_stats {
	const char *kind; /* "systems", "departments", ... */
	size_t lines;     /* non-blank lines read */
	size_t inserted, updated, unchanged;
};

struct import_opts {
	const char *datadir;   /* folder holding some of the FORMATS.md files */
	const char *staff_csv; /* optional HR CSV with a header row, or NULL */
	const char *actor;     /* who imports, for the ledger */
	bool progress;         /* draw a progress bar on stderr */
	size_t max_errors;     /* diagnostics kept; 0 = 100 */
};

/*
 * Validate then import. On any validation error: returns ERR_INVALID,
 * every problem is in d (as "FILE:LINE: field 'x': reason"), nothing is
 * written. On success stats[0..*nstats) describe each file imported
 * (stats must hold 8 entries; the staff CSV has kind "staff_csv").
 * lg may be NULL only for tools and tests on a scratch store: then the
 * import is not recorded.
 */
MM_WUR int registry_import(struct store *st, struct ledger *lg, const struct import_opts *o,
			   struct diag *d, struct import_stats stats[8], size_t *nstats);

/*
 * Validate one line of a FORMATS.md file of the given kind ("systems",
 * "departments", "staff", "residents", "cases", "overtime", "access")
 * on its own: JSON syntax, field types, enums, dates, id syntax; no
 * cross-file checks. Problems go to d under file name `kind`.jsonl and
 * line 1. Returns 0 or ERR_INVALID. Used by the fuzz harnesses and by
 * `POST /v1/events` later.
 */
MM_WUR int registry_check_line(const char *kind, const char *line, size_t len, struct diag *d);

/* One change of a staff member's dates (DAY_NONE: leave that date). */
struct reg_date_update {
	const char *staff_id;
	int32_t training, pledge;
};

/*
 * Move staff members' training and pledge dates (the dates the decision
 * engine checks) forward: a date is written only when it is later than the
 * stored one or none is stored, so applying the same updates twice changes
 * nothing. Runs inside the caller's open transaction (store_begin) and
 * appends, before returning, one ledger record of kind "registry" with
 * body {"op":"staff_dates","source":source,"changes":[{"id","training",
 * "previous_training","pledge","previous_pledge"}]} when anything changed
 * (none when nothing did). *changed (may be NULL) gets the number of staff
 * rows changed. ERR_NOT_FOUND names no staff member (the first unknown id
 * goes to d if d is not NULL); store and ledger errors. lg may be NULL
 * only for tests on a scratch store. The running decision engine sees
 * the new dates at its next reload (instance_reload).
 */
MM_WUR int registry_staff_set_dates(struct store *st, struct ledger *lg, const char *actor,
				    const char *source, const struct reg_date_update *u,
				    size_t n, struct diag *d, size_t *changed);

#endif
