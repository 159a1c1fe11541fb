/*
 * ledger.h - the audit-record interface.
 *
 * Every change of state that matters to an auditor (a decision, an access
 * event, an import, an edit of policy) is appended here by the function
 * that makes the change. Callers see only this interface: the store behind
 * it is append-only segment files of canonical records (a fixed number of
 * records each), the hashes of an RFC 9162 Merkle tree over them, one file
 * per tree level, and signed checkpoints; full segments covered by a
 * checkpoint are sealed and may be archived elsewhere (see
 * docs/internals/ledger.md).
 *
 * A record is: a kind (short ASCII word: "decision", "access", "import",
 * "policy", "apikey", ...), a time, an actor (staff id, API key name,
 * "cli:<user>", "system"), and a body that is one JSON object (UTF-8, no
 * newline). The ledger assigns consecutive indexes from 0.
 *
 * Durability: ledger_append() returns only once the record is on disk
 * (fsync). Concurrent appenders in one process share one fsync (group
 * commit), so many threads appending at once cost about one fsync per
 * group, not per record.
 *
 * Threading: a struct ledger may be used by many threads at once, and many
 * processes may open the same ledger for writing at once (e.g. `mamori
 * serve` and `mamori import` or `mamori apikey`). Each append takes an
 * exclusive flock on DIR/LOCK only while it finds the current end of the
 * ledger, writes its group and syncs it, so indexes stay consecutive and
 * unique across processes and no record is interleaved with another's;
 * an append waits while another process holds the lock. ledger_size() and
 * ledger_read() see the records of other processes (they look at the files
 * on each call). Opening for writing repairs a tail torn by a writer that
 * died mid-append (under the same lock); a read-only open never writes.
 * Do not use a struct ledger across fork(): each process opens its own.
 */
#ifndef MAMORI_LEDGER_H
#define MAMORI_LEDGER_H

#include "base/base.h"

struct ledger;
struct buf;

#define LEDGER_KIND_MAX 32
#define LEDGER_ACTOR_MAX 128
#define LEDGER_BODY_MAX ((size_t)1 << 20)

struct audit_rec {
	const char *kind;  /* [a-z_]{1,32} */
	int64_t ts;        /* seconds since the epoch; TS_NONE means now */
	const char *actor; /* printable, 1-128 bytes */
	const char *body;  /* one JSON object, at most LEDGER_BODY_MAX bytes */
	size_t body_len;
};

enum ledger_mode { LEDGER_READ_ONLY = 0, LEDGER_WRITE = 1 };

/*
 * Open (creating when mode is LEDGER_WRITE) the ledger in directory dir.
 * A writer repairs a torn tail, and moves a ledger of the single-file
 * layout (DIR/records.log, records.idx) to segment 0 under the append
 * lock; a reader reads that layout as it is. ERR_NOT_FOUND for a reader
 * when dir holds no segment.
 */
MM_WUR int ledger_open(const char *dir, enum ledger_mode mode, struct ledger **out);
void ledger_close(struct ledger *l); /* NULL is a no-op */

/* Append one record; on success *index (if not NULL) is its index. */
MM_WUR int ledger_append(struct ledger *l, const struct audit_rec *rec, uint64_t *index);
/* Append n records as one durable group; *first gets the first index. */
MM_WUR int ledger_append_many(struct ledger *l, const struct audit_rec *recs, size_t n,
			      uint64_t *first);
/* Number of records. */
uint64_t ledger_size(struct ledger *l);
/*
 * Read the canonical bytes of record index into out (replacing contents).
 * ERR_NOT_FOUND beyond ledger_size(). A record of an archived segment is
 * read from the archive its seal names, and checked against its leaf
 * hash (ERR_CORRUPT if it differs); ERR_ARCHIVED when that archive does
 * not hold it (moved away or not mounted).
 */
MM_WUR int ledger_read(struct ledger *l, uint64_t index, struct buf *out);

/*
 * Sequential reading: records [from, to) in order, each exactly as
 * ledger_read gives it, read from the segment files a megabyte and 8,192
 * index entries at a time instead of with a few system calls per record.
 * to is capped at ledger_size() when the cursor is opened (records
 * appended later are not read). Archived segments are read record by
 * record through ledger_read, with its hash check. A cursor belongs to
 * one thread; several may read one handle at once.
 *
 * ledger_cursor_next: 1 with the record's index in *index and its bytes
 * in out; 0 after the last; < 0 on an error (ERR_CORRUPT when the files
 * disagree, as ledger_read would say), *index then naming the record
 * that could not be read.
 */
struct ledger_cursor;
MM_WUR int ledger_cursor_open(struct ledger *l, uint64_t from, uint64_t to,
			      struct ledger_cursor **out);
MM_WUR int ledger_cursor_next(struct ledger_cursor *c, uint64_t *index, struct buf *out);
void ledger_cursor_close(struct ledger_cursor *c); /* NULL is a no-op */

/* ---- segments (docs/internals/ledger.md, "Segments") ---- */

#define LEDGER_SEGMENT_ENTRIES_DEFAULT ((uint64_t)1 << 20)

/*
 * Records per segment file for the appends of this handle (the instance
 * config's segment_entries; default LEDGER_SEGMENT_ENTRIES_DEFAULT): a
 * segment holding n records or more takes no more, and the next record
 * starts a new one. Existing segments keep their size. Call before the
 * handle is shared between threads. ERR_INVALID for 0 or above 2^40.
 */
MM_WUR int ledger_set_segment_entries(struct ledger *l, uint64_t n);
/*
 * Seal every full segment (one followed by another) that the latest
 * checkpoint covers: check each record against its index entry and its
 * hash, write DIR/seg/<first>.seal (SHA-256 of the files, the subtree
 * root when the segment is an aligned subtree, the covering checkpoint)
 * and make the segment's files read-only. pk (may be NULL) is the
 * instance public key the latest checkpoint must be signed with. Called
 * by ledger_checkpoint too. *sealed (may be NULL) gets the number sealed.
 * ERR_FORBIDDEN on a read-only ledger, ERR_NOT_FOUND without a
 * checkpoint, ERR_CRYPTO for a bad signature, ERR_CORRUPT when the
 * checkpoint or a segment does not match the hash files. Takes the
 * maintenance lock DIR/seg/LOCK, not the append lock: appends go on.
 */
MM_WUR int ledger_seal(struct ledger *l, const uint8_t pk[32], uint64_t *sealed);
/*
 * Move every sealed segment that ends at or before index before
 * (UINT64_MAX: all) to the directory to (created if missing): check the
 * files against the seal, copy them with the seal and the checkpoint note
 * that covers them (to/<first>.log, .idx, .seal, to/checkpoints/<n>.note;
 * each synced), check the copies' SHA-256 against the seal, record the
 * absolute path of to in the seal left in DIR/seg, and remove the files.
 * When a segment moved, appends a record of kind "ledger_archive" (by
 * actor) naming them. *segments and *entries (may be NULL) get what moved.
 * ERR_FORBIDDEN read-only, ERR_CORRUPT when a file differs from its seal,
 * ERR_IO. Holds the maintenance lock.
 */
MM_WUR int ledger_archive(struct ledger *l, const char *to, uint64_t before, const char *actor,
			  uint64_t *segments, uint64_t *entries);

/* ---- the Merkle tree (docs/internals/ledger.md) ---- */

/*
 * The hash of the perfect subtree [start, start + 2^height) of the tree of
 * the records, read from the hash files: a merkle_subtree_fn with ctx the
 * struct ledger (for merkle_*_proof). Only subtrees inside ledger_size()
 * are meaningful. ERR_INVALID for a misaligned start or height >= 63,
 * ERR_CORRUPT when the hash files do not hold it. Any thread.
 */
MM_WUR int ledger_subtree_hash(void *ctx, uint64_t start, unsigned height, uint8_t out[32]);
/* Root hash (RFC 9162) of the first size records; ERR_NOT_FOUND when size
 * is beyond ledger_size(). Any thread, any mode. */
MM_WUR int ledger_root(struct ledger *l, uint64_t size, uint8_t out[32]);
/*
 * Make a signed checkpoint (C2SP tlog-checkpoint: origin, size, root,
 * signed under the key name origin with the Ed25519 seed) of every record
 * present now, and store it as DIR/checkpoints/<size>.note and
 * DIR/checkpoints/latest (each replaced atomically). out (may be NULL)
 * receives the note, *size (may be NULL) the tree size. Waits for the
 * appends of this process in progress and holds the append lock while it
 * works. ERR_FORBIDDEN on a read-only ledger; note_sign's errors.
 */
MM_WUR int ledger_checkpoint(struct ledger *l, const char *origin, const uint8_t seed[32],
			     struct buf *out, uint64_t *size);
/* The note of DIR/checkpoints/latest into out; ERR_NOT_FOUND if none. */
MM_WUR int ledger_latest_checkpoint(struct ledger *l, struct buf *out);

#endif
