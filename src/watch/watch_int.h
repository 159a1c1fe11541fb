/*
 * watch_int.h - the watch module's internal tables, shared by its .c files
 * only (tables.c builds them, watch.c reads them).
 */
#ifndef MAMORI_WATCH_INT_H
#define MAMORI_WATCH_INT_H

#include "base/base.h"
#include "base/buf.h"

#define WT_NONE UINT32_MAX

struct registry_data;
struct reg_staff;
struct reg_resident;

/* An open-addressing map from a borrowed string to a uint32_t. */
struct idmap {
	const char **key;
	uint32_t *val;
	size_t cap, n;
};
MM_WUR int idmap_init(struct idmap *m, size_t n);
void idmap_release(struct idmap *m);
uint32_t idmap_get(const struct idmap *m, const char *key); /* WT_NONE if absent */
uint32_t idmap_intern(struct idmap *m, const char *key, uint32_t *next);

enum { WT_RF_DV = 1, WT_RF_VIP = 2, WT_RF_STAFF = 4 };

struct wt_staff {
	const struct reg_staff *r;
	uint32_t dept, hh, addr, group;
};

struct wt_res {
	const struct reg_resident *r;
	uint32_t hh, addr;
	uint8_t flags;
};

struct wt_case {
	const char *id;
	int64_t opened, closed; /* closed is INT64_MAX while open */
	uint32_t res, dept, assigned;
};

struct wt_span {
	int64_t start, end;
};

struct watch_tables {
	const struct registry_data *reg;
	struct idmap staff_ids, res_ids, case_ids, dept_ids, hh_ids, addr_ids, group_ids;
	struct wt_staff *staff;
	size_t nstaff;
	char **group_keys;
	uint32_t ngroups;
	struct wt_res *res;
	size_t nres;
	struct wt_case *cases;
	size_t ncases, ndept;
	uint32_t *res_case_first; /* nres + 1 offsets into res_cases */
	uint32_t *res_cases;      /* case indexes grouped by resident */
	size_t nhh;
	uint32_t *hh_first;       /* nhh + 1 offsets into hh_members */
	uint32_t *hh_members;
	uint32_t *ot_first;       /* nstaff + 1 offsets into ot */
	struct wt_span *ot;
};

#endif
