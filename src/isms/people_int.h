/*
 * people_int.h - private to the people side of src/isms/ (soa.c,
 * training.c, notices.c, contractors.c): small helpers over records.
 */
#ifndef MAMORI_ISMS_PEOPLE_INT_H
#define MAMORI_ISMS_PEOPLE_INT_H

#include "base/base.h"

#include <jansson.h>

#include "isms/isms.h"
#include "isms/people.h"

/*
 * Every active record of k that the actor may read and that matches the
 * (field, value) filters (nfilters pairs, may be 0), as a new JSON array
 * of the stored fields plus "_id" and "_version", ordered by id.
 * ERR_FORBIDDEN when the actor may not read k at all.
 */
MM_WUR int pp_all(struct isms_ctx *c, const struct isms_kind *k, const char *const (*filters)[2],
		  size_t nfilters, json_t **out);

/* The string member key of o, or NULL (absent, null or not a string). */
const char *pp_str(const json_t *o, const char *key);
/* The date member key of o in days, DAY_NONE when absent or not a date. */
int32_t pp_day(const json_t *o, const char *key);
/* The integer member key of o, def when absent. */
int64_t pp_int(const json_t *o, const char *key, int64_t def);
/* The boolean member key of o, false when absent. */
bool pp_bool(const json_t *o, const char *key);
/*
 * The strings of array member key of o as a new array of pointers into o
 * (*out: free(); NULL with *n 0 when the member is absent or empty).
 */
void pp_strv(const json_t *o, const char *key, const char ***out, size_t *n);
/* The mask of employment types named in array member key (bit 1 << e);
 * unknown names are ignored (the kind's check rejects them). */
unsigned pp_employment_mask(const json_t *o, const char *key);

/* Check that each item of STRLIST field name is an employment type,
 * adding an error per bad item to d. */
void pp_check_employment(const json_t *rec, const char *name, struct diag *d);

/* A date "YYYY-MM-DD" of day into json (null for DAY_NONE); a new reference. */
json_t *pp_json_day(int32_t day);

/* The staff member id in reg (sorted by id), or NULL. */
const struct reg_staff *pp_staff_find(const struct registry_data *reg, const char *id);
/* The department's name in reg, or NULL. */
const char *pp_dept_name(const struct registry_data *reg, const char *id);

/*
 * The department a department manager is limited to: for another actor
 * want (NULL or "" = all) is returned as is; for a department manager,
 * want must be empty or their own department (else ERR_FORBIDDEN) and
 * *eff is their department.
 */
MM_WUR int pp_dept_scope(const struct isms_ctx *c, const char *want, const char **eff);

/* rc: c with an actor that reads everything and writes nothing (role
 * auditor, same name), for computations whose results are then limited
 * to what the caller may see. a holds the actor and must outlive rc. */
void pp_reader_ctx(const struct isms_ctx *c, struct isms_ctx *rc, struct actor *a);

/*
 * In a kind's check hook: add an error on field (named in the message)
 * when another active record of k (not c->id) has the same values of the
 * nf fields names[i] = values[i]. Values NULL: nothing to check.
 */
MM_WUR int pp_check_unique(struct isms_ctx *c, const struct isms_kind *k, const char *const *names,
			   const char *const *values, size_t nf, struct diag *d);

/* Set member key of o to a new string (or null when s is NULL);
 * ERR_NOMEM. */
MM_WUR int pp_set_str(json_t *o, const char *key, const char *s);

#endif
