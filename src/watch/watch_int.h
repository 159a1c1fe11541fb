/*
 * watch_int.h - the watch module's internal tables, shared by its .c files
 * only (tables.c builds them, watch.c reads them).
 */
#ifndef MAMORI_WATCH_INT_H
#define MAMORI_WATCH_INT_H

#include <string.h>

#include "base/base.h"
#include "base/buf.h"

#define WT_NONE UINT32_MAX

struct registry_data;
struct reg_staff;
struct reg_resident;
struct watch;
struct watch_tables;

/*
 * An open-addressing map from a borrowed string to a uint32_t. A slot
 * keeps the key's hash and, for keys shorter than IDMAP_INLINE bytes, the
 * key itself (zero-padded), so that a lookup costs one slot read and no
 * visit to the borrowed string: ids are short and the maps large (a
 * resident table does not fit in the cache). inl[IDMAP_INLINE - 1] is 1
 * for a longer key, which is then compared through its pointer.
 */
#define IDMAP_INLINE 16
struct idslot {
	const char *key; /* NULL: empty slot */
	uint32_t val;
	uint32_t hash;
	char inl[IDMAP_INLINE];
};
struct idmap {
	struct idslot *slot;
	size_t cap, n;
};
MM_WUR int idmap_init(struct idmap *m, size_t n);
void idmap_release(struct idmap *m);
uint32_t idmap_get(const struct idmap *m, const char *key); /* WT_NONE if absent */
uint32_t idmap_intern(struct idmap *m, const char *key, uint32_t *next);
/* The lookup of idmap_get for a key of known length that need not be
 * NUL-terminated (a span of an input line). */
uint32_t idmap_get_n(const struct idmap *m, const char *key, size_t len);
/* The slot holding key, NULL if absent. */
const struct idslot *idmap_slot_n(const struct idmap *m, const char *key, size_t len);
/* Start loading the slot where key's lookup begins into the cache. */
void idmap_prefetch(const struct idmap *m, const char *key, size_t len);
/* A 32-bit hash of a NUL-terminated string, never 0 (0 means none). */
uint32_t watch_str_hash(const char *s);

enum { WT_RF_DV = 1, WT_RF_VIP = 2, WT_RF_STAFF = 4 };

struct wt_staff {
	const struct reg_staff *r;
	uint32_t dept, hh, addr, group;
};

/* The length of s given with an event (struct watch_event's *_len), or
 * measured when none was given (0). */
static inline size_t watch_len(const char *s, uint32_t given)
{
	return given ? given : strlen(s);
}

/* A resident: its cases are rcases[cfirst .. cfirst + cn), the same as
 * res_cases[res_case_first[i] ..] but copied in place, so that explaining
 * an access reads one resident and a few consecutive cache lines. */
struct wt_res {
	const struct reg_resident *r;
	const char *surname; /* r->surname, one load nearer (the namesake checks) */
	uint32_t hh, addr;
	uint32_t cfirst, cn;
	uint32_t surname_hash; /* watch_str_hash of the surname, 0 when none */
	uint8_t flags;
};

struct wt_case {
	const char *id;
	int64_t opened, closed; /* closed is INT64_MAX while open */
	uint32_t res, dept, assigned;
	uint32_t idh; /* watch_str_hash(id) */
};

/*
 * A case as the explanation reads it, grouped by resident. A case is found
 * by its id among its resident's few cases (idh first, then the string),
 * so there is no map of all case ids: at L scale such a map (15.6 million
 * ids in 32-byte slots) was a quarter of the audit's memory.
 */
struct wt_rcase {
	int64_t opened, closed; /* closed is INT64_MAX while open */
	uint32_t dept, assigned;
	const char *id; /* cases[i].id */
	uint32_t idh;   /* watch_str_hash(id) */
};

/* The case whose id is id (of any resident), or WT_NONE: a scan of every
 * case, for explaining one event, not for the audit's loop. */
uint32_t wt_case_find(const struct watch_tables *t, const char *id);

struct wt_span {
	int64_t start, end;
};

struct watch_tables {
	const struct registry_data *reg;
	struct idmap staff_ids, res_ids, dept_ids, hh_ids, addr_ids, group_ids;
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
	struct wt_rcase *rcases;  /* the same cases, copied, grouped by resident */
	size_t nhh;
	uint32_t *hh_first;       /* nhh + 1 offsets into hh_members */
	uint32_t *hh_members;
	uint32_t *ot_first;       /* nstaff + 1 offsets into ot */
	struct wt_span *ot;
};

/*
 * The scanner of access lines (audit.c): the fields of FORMATS.md
 * access.jsonl from one line, in one pass, without a tree. True when ev
 * was filled: its strings point into line (modified: closing quotes
 * become NULs) or into sc's buffer (strings with escapes), valid until
 * the next call with the same sc. False when the line is anything the
 * scanner does not take (an error, nesting, a very large number, ...):
 * the line is then unchanged and jansson must judge it. sc may be NULL
 * (strings with escapes are then refused); it also keeps the last
 * timestamp parsed. Zero-initialise sc, release with watch_scan_release.
 */
struct watch_event;

/*
 * Start loading into the cache what watch_feed will read for ev: stage 2
 * the resident's map slot, stage 1 the resident's record (its slot
 * should be loaded by then; returns the resident's index, WT_NONE for
 * one the registry does not know), stage 0 its cases (rx: what stage 1
 * returned). Stages other than 1 return rx as given; an event without a
 * resident gives WT_NONE. Reads the tables only.
 */
uint32_t watch_prefetch(const struct watch_tables *t, const struct watch_event *ev, int stage,
			uint32_t rx);

/* Not looked up yet (a resident index is below WT_UNSET). */
#define WT_UNSET (UINT32_MAX - 1)
/*
 * watch_feed for an event whose resident the caller has looked up in the
 * same tables already (watch_prefetch's stage 1): rx is that index, or
 * WT_NONE for a resident the registry does not know, or WT_UNSET when the
 * caller did not look it up (then watch_feed looks it up itself).
 */
struct watch_verdict;
MM_WUR int watch_feed_rx(struct watch *w, const struct watch_event *ev, uint32_t rx,
			 struct watch_verdict *verdict);

struct watch_scan {
	char *buf;
	size_t cap;
	char ts_text[40];
	size_t ts_len;
	int64_t ts;
};
bool watch_scan_line(struct watch_scan *sc, char *line, size_t len, struct watch_event *ev);
/*
 * The slow path the scanner stands in for: one access line parsed by
 * jansson (json_loadb(line, len, 0)) and taken as `mamori audit --events`
 * takes it. 0 and the event (its strings borrowed from *hold, which the
 * caller json_decref's), or ERR_INVALID. For the tests and the fuzz
 * harness that hold the scanner to it.
 */
int watch_line_slow(const char *line, size_t len, struct watch_event *ev, void **hold);

/*
 * Locate kind and body in a canonical ledger line (audit.c; the line's
 * members as docs/internals/ledger.md gives them) without parsing it: the
 * first ,"kind":" and ,"body": with real quotes are the record's own, as
 * a quote inside a JSON string is always escaped. False when the line
 * does not have that shape. The body runs to the line's last '}'.
 */
bool watch_record_split(char *line, size_t len, const char **kind, size_t *kind_len, char **body,
			size_t *body_len);

/*
 * watch_record_event (alerts.h) without its fast path: the record parsed
 * by jansson as a whole. For the tests that hold the two equal.
 */
MM_WUR int watch_record_event_tree(const char *rec, size_t len, char kind[static 33],
				   struct watch_event *ev, void **hold);

/*
 * The canonical body of an ingested event (ingest.c): what
 * json_dumps(json_loadb(line, len, JSON_REJECT_DUPLICATES), JSON_COMPACT |
 * JSON_SORT_KEYS) gives, without building a tree, for the lines it is sure
 * of: one flat object whose keys hold no escape and whose values are
 * strings without escapes, canonical integers of at most 18 digits,
 * true, false or null, with distinct keys (at most 64). True with *out (a
 * malloc'ed NUL-terminated string) set; false for anything else, which is
 * then left to jansson. tests/unit/test_watch.c compares both ways.
 */
bool watch_canonical_event(const char *line, size_t len, char **out);
void watch_scan_release(struct watch_scan *sc);

#endif
