/*
 * ledger_int.h - private to src/ledger/: the segment files and their seal
 * manifests, shared by the ledger (ledger.c) and its verifier (verify.c).
 * See docs/internals/ledger.md, "Segments".
 *
 * The records live in segment files DIR/seg/<first>.log and .idx, <first>
 * being the index of the segment's first record written with at least 12
 * decimal digits. A ledger written before segments existed keeps its
 * records in DIR/records.log and DIR/records.idx until a writer moves them
 * to DIR/seg/000000000000.*; until then they are segment 0 ("legacy").
 *
 * Threading: no shared state.
 */
#ifndef MAMORI_LEDGER_INT_H
#define MAMORI_LEDGER_INT_H

#include "base/base.h"
#include "ledger/merkle.h"

struct buf;

#define SEG_DIR "seg"
/* Room for a segment file name: 20 digits, a dot, "seal", NUL. */
#define SEG_NAME_MAX 32
/* The largest seal manifest read. */
#define SEG_SEAL_MAX 8192
/* Longest archive path kept in a seal. */
#define SEG_ARCHIVE_PATH_MAX 1024
/*
 * Records between two syncs of the last segment's .idx (and moves of the
 * mark DIR/idx-synced; ledger.c, idx_mark_write). A sync of the .idx
 * costs as much as the group's own sync of the .log, so it is kept rare;
 * after a power loss a writer checks at most this many entries against
 * the log when it opens (some 23 MB of access records).
 */
#define LEDGER_IDX_SYNC_EVERY 65536

/* "<first>" zero-padded to 12 digits, without extension. */
void seg_name(uint64_t first, char out[static SEG_NAME_MAX]);

/* What the directory holds for one segment. */
struct seg_info {
	uint64_t first;
	bool log;    /* <first>.log exists */
	bool idx;    /* <first>.idx exists */
	bool seal;   /* <first>.seal exists */
	bool legacy; /* records.log / records.idx of the single-file layout */
};

/*
 * List the segments of the ledger in dir, sorted by first: every name of
 * DIR/seg of the form <digits>.log, .idx or .seal, and the single-file
 * layout's records.log / records.idx as segment 0 when DIR/seg holds no
 * segment 0. *out (malloc'd, the caller frees it) is NULL when there are
 * none. ERR_IO when a directory cannot be read.
 */
MM_WUR int seg_list(const char *dir, struct seg_info **out, size_t *n);

/*
 * The path of a segment's file with extension ext ("log", "idx", "seal")
 * into out: DIR/records.<ext> for the legacy segment (log and idx), else
 * DIR/seg/<first>.<ext>. ERR_INVALID when it does not fit.
 */
MM_WUR int seg_path(const char *dir, const struct seg_info *s, const char *ext, char *out,
		    size_t cap);

/* A seal manifest (DIR/seg/<first>.seal), see docs/internals/ledger.md. */
struct seg_seal {
	uint64_t first;
	uint64_t count;
	uint64_t log_bytes;
	uint8_t log_sha256[32];
	uint8_t idx_sha256[32];
	bool has_subtree; /* the segment is a perfect, aligned subtree */
	unsigned subtree_height;
	uint8_t subtree_root[MERKLE_HASH_SIZE];
	uint64_t cp_size; /* the signed checkpoint that covers the segment */
	uint8_t cp_root[MERKLE_HASH_SIZE];
	char sealed_at[32];
	char archive[SEG_ARCHIVE_PATH_MAX]; /* "" unless archived */
	char archived_at[32];
};

/* Parse a seal manifest; ERR_CORRUPT for anything but the format. */
MM_WUR int seg_seal_parse(const char *text, size_t len, struct seg_seal *s);
/* Read and parse the file at path; ERR_NOT_FOUND, ERR_IO, ERR_CORRUPT. */
MM_WUR int seg_seal_load(const char *path, struct seg_seal *s);
/* Render s as its manifest text (one JSON object and '\n') into out. */
MM_WUR int seg_seal_render(const struct seg_seal *s, struct buf *out);

/*
 * True when body[0 .. n) is surely a JSON object that jansson's
 * json_loadb(body, n, 0, NULL) accepts (bodycheck.c); false means "not
 * sure": ask jansson. Never true for an input jansson refuses, nor for
 * one that holds '\n' or '\r'. Any thread.
 */
bool ledger_body_surely_valid(const char *body, size_t n);

/* SHA-256 of the whole file at path, and its size. ERR_NOT_FOUND, ERR_IO. */
MM_WUR int seg_file_sha256(const char *path, uint8_t out[32], uint64_t *size);

#endif
