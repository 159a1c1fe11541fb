/*
 * isms_cycle_int.h - private to the files of the ISMS cycle
 * (incidents.c, audits.c, bcp.c, violations.c, indicators.c, cycle_util.c):
 * small JSON helpers shared by them.
 */
#ifndef MAMORI_ISMS_CYCLE_INT_H
#define MAMORI_ISMS_CYCLE_INT_H

#include "base/base.h"

#include "isms/isms_cycle.h"

/* The string member name of o, or NULL if absent or not a string. */
const char *cj_str(const json_t *o, const char *name);
/* The string member, or "" if absent. */
static inline const char *cj_strd(const json_t *o, const char *name)
{
	const char *s = cj_str(o, name);
	return s ? s : "";
}
/* The boolean member (false if absent). */
bool cj_bool(const json_t *o, const char *name);
/* The integer member, or dflt if absent. */
int64_t cj_int(const json_t *o, const char *name, int64_t dflt);
/* The member as a timestamp (RFC 3339), TS_NONE if absent or malformed. */
int64_t cj_ts(const json_t *o, const char *name);
/* The member as a date "YYYY-MM-DD", DAY_NONE if absent or malformed. */
int32_t cj_day(const json_t *o, const char *name);

/*
 * Every record of k the actor may read matching the filters (pairs
 * field/value, nf of them), in id order, into *out (new array). Pages
 * through isms_list.
 */
MM_WUR int cycle_list_all(struct isms_ctx *c, const struct isms_kind *k,
			  const char *const (*filters)[2], size_t nf, json_t **out);

/* The ctx's date (JST). */
int32_t cycle_today(const struct isms_ctx *c);

/* Set member name of o to a new string s (NULL: nothing). */
MM_WUR int cj_set_str(json_t *o, const char *name, const char *s);

/*
 * Copy into rec's "dept" the department of the record of kind pk that
 * rec's member field names (and remove it when that record has none), so
 * that a department manager sees the child records of their department's
 * records only. A field naming no record is an error on field in d, the
 * kind named what_ja / what_en in the message; rec without field is left
 * as it is.
 */
MM_WUR int cycle_dept_from(struct isms_ctx *c, const struct isms_kind *pk, const char *field,
			   const char *what_ja, const char *what_en, json_t *rec, struct diag *d);

/* A record's "_id". */
static inline const char *cj_id(const json_t *rec)
{
	return cj_str(rec, "_id");
}

/* Put format fmt into a fixed buffer (cut when too long). */
void cycle_fmt(char *out, size_t cap, const char *fmt, ...) MM_PRINTF(3, 4);

/* The incident's PPC facts from its record. */
void cycle_incident_facts(const json_t *rec, struct ppc_facts *f, struct ppc_done *done);

/* Render a report built in html to the format's bytes. */
MM_WUR int cycle_report_finish(struct buf *html, enum cycle_format fmt, struct buf *out,
			       const char **ctype);

#endif
