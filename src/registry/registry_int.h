/*
 * registry_int.h - private to src/registry/: the field schemas of the
 * FORMATS.md files and the validation of one record, shared by the
 * importer, the CSV reader and registry_check_line().
 */
#ifndef MAMORI_REGISTRY_INT_H
#define MAMORI_REGISTRY_INT_H

#include "base/base.h"
#include "registry/registry.h"

#define REG_LINE_MAX ((size_t)64 * 1024)
#define REG_MAX_FIELDS 16

enum ftype {
	F_STR,	    /* any UTF-8 string */
	F_ID,	    /* 1-64 printable ASCII, no spaces */
	F_ENUM,	    /* one of field.enums */
	F_DATE,	    /* YYYY-MM-DD */
	F_TS,	    /* RFC 3339 with offset */
	F_IDLIST,   /* array of ids */
	F_ENUMLIST, /* array of enum values */
};

struct reg_field {
	const char *name;   /* field name in the file */
	const char *column; /* column in the store */
	enum ftype type;
	bool required;
	const char *const *enums; /* NULL-terminated, for F_ENUM/F_ENUMLIST */
};

enum reg_kind {
	K_SYSTEMS = 0,
	K_DEPARTMENTS,
	K_STAFF,
	K_RESIDENTS,
	K_CASES,
	K_OVERTIME,
	K_ACCESS,
	K__COUNT
};

struct reg_kind_def {
	const char *name;  /* "staff" */
	const char *file;  /* "staff.jsonl" */
	const char *table; /* NULL: not stored by the registry */
	const struct reg_field *fields;
	size_t nfields;
	size_t nkeys; /* the first nkeys fields are the key */
};

extern const struct reg_kind_def reg_kinds[K__COUNT];

/*
 * One record of a FORMATS.md file, parsed. Every file is a flat JSON object
 * whose values mamori reads are strings, null or arrays of strings, so a
 * small parser made for that shape fills this directly, without a tree or
 * an allocation per value (a general JSON library costs more than the
 * whole rest of the import). It still checks full JSON syntax.
 */
enum jtype { J_ABSENT = 0, J_NULL, J_STRING, J_NUMBER, J_BOOL, J_ARRAY, J_OBJECT };

struct reg_item {
	const char *s; /* decoded, NUL-terminated, when type is J_STRING */
	uint32_t n;
	uint8_t type;
};

struct reg_val {
	enum jtype type;
	const char *s; /* J_STRING: decoded, NUL-terminated */
	size_t n;
	uint32_t first, count; /* J_ARRAY: rec->items[first .. first+count) */
};

#define REG_MAX_UNKNOWN 16

struct reg_rec {
	struct reg_val f[REG_MAX_FIELDS];     /* by field index of the kind */
	int64_t t[REG_MAX_FIELDS];	      /* parsed date (days) or timestamp (s) */
	uint32_t bad;			      /* bit i: field i failed validation */
	const char *unknown[REG_MAX_UNKNOWN]; /* names of unknown fields */
	size_t nunknown;
	struct reg_item *items;
	size_t nitems, capitems;
	char *scratch; /* decoded strings */
	size_t scap, sused;
};

void reg_rec_init(struct reg_rec *r);
void reg_rec_release(struct reg_rec *r);
/* Forget the values; keep the memory. need: bytes of scratch to reserve. */
void reg_rec_reset(struct reg_rec *r, size_t need);
/* Append an array item (for builders such as the CSV reader). */
void reg_rec_push_item(struct reg_rec *r, const char *s, size_t n, uint8_t type);

/* Names already warned about (unknown fields), per file. */
struct reg_warned {
	char **names;
	size_t n, cap;
};
void reg_warned_release(struct reg_warned *w);

/* Field index by name in a kind, or -1. */
int reg_field_index(enum reg_kind k, const char *name);

/*
 * Parse one JSON Lines line (not blank) of kind k into rec: UTF-8, JSON
 * syntax, an object, no duplicate keys. Returns true, or false after
 * adding a diagnostic for file:line.
 */
bool reg_parse_rec(enum reg_kind k, const char *p, size_t len, const char *file, long line,
		   struct diag *d, struct reg_rec *rec);

/*
 * Validate a parsed record of kind k: field types, ids, enums, dates,
 * timestamps, required fields, logical order (end >= start, closed >=
 * opened); fills rec->t and marks failed fields in rec->bad (so that
 * callers check references only on good fields). Unknown fields warn once
 * per name (w may be NULL: then every time). Returns true when valid.
 */
bool reg_validate_rec(enum reg_kind k, struct reg_rec *rec, const char *file, long line,
		      struct reg_warned *w, struct diag *d);

/* True when s[0..n) is valid UTF-8 (no overlongs, no surrogates). On
 * failure *bad gets the offset of the first bad byte. */
bool reg_utf8_valid(const char *s, size_t n, size_t *bad);
/* True when s[0..n) is an id: 1-64 printable ASCII without spaces. */
bool reg_id_valid(const char *s, size_t n);

/* The staff CSV: parse the whole text into staff records. For each record
 * calls fn(obj, line, ctx); problems of the CSV itself go to d under file.
 * Returns 0, or ERR_INVALID when the CSV structure is broken. */
typedef int (*reg_csv_fn)(struct reg_rec *rec, long line, void *ctx);
MM_WUR int reg_csv_parse(const char *text, size_t len, const char *file, struct diag *d,
			 reg_csv_fn fn, void *ctx);

/* ---- the registry image (image.c) ---- */

#define REG_STAMP_LEN 16

/* The registry's stamp: 1 and tok filled, 0 when it has none (no change
 * made since the stamp came in, or a store without the table). */
MM_WUR int reg_stamp_get(struct store *st, uint8_t tok[REG_STAMP_LEN]);
/* The image's path for this store (malloc'ed), NULL when the store is no
 * file. */
char *reg_image_path(struct store *st);
/* The image at path, if it is whole, was made by this build's layout and
 * carries tok: 0 and *out; ERR_NOT_FOUND when there is none or it carries
 * another stamp; ERR_CORRUPT when it is damaged; ERR_IO, ERR_NOMEM. */
MM_WUR int reg_image_read(const char *path, const uint8_t tok[REG_STAMP_LEN],
			  struct registry_data **out);
/* Recompute the checksum in an image of n bytes held in memory (for the
 * tests that change an image and want its checks on the fields to judge
 * it, not the checksum). */
void reg_image_seal(void *img, size_t n);
/* Write d as the image at path with stamp tok (a temporary file renamed
 * over it, mode 0600). 0, or ERR_IO, or ERR_INVALID when a string of d
 * lies outside d->blocks. registry_load ignores a failure: the image is a
 * cache. */
int reg_image_write(const char *path, const uint8_t tok[REG_STAMP_LEN],
		    const struct registry_data *d);

#endif
