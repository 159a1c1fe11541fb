/*
 * verify.h - full verification of a ledger directory (`mamori verify`).
 *
 * ledger_verify() reads the files of a ledger directory directly (it never
 * opens the ledger, takes no lock and writes nothing), recomputes every
 * leaf hash and the whole Merkle tree from the segment files (seg/<first>.log,
 * or records.log of the single-file layout), and checks, entry by entry:
 * each line is a complete record carrying its own index; its .idx entry
 * points to it; every stored subtree hash in hash/Lhh equals the
 * recomputed one; each checkpoint in checkpoints/ is signed by the
 * instance key and has the recomputed root at its size; and each seal
 * manifest (seg/<first>.seal) matches its segment (count, SHA-256 of the
 * files, subtree root, covering checkpoint). Archived segments are read
 * from the archive directories given; without them, their leaves are
 * taken from hash/L00 and checked only against the tree, the checkpoints
 * and their seal. It stops at the first difference and describes it
 * (entry index, file, byte offset). See docs/internals/ledger.md,
 * "Verification".
 *
 * Threading: no shared state.
 */
#ifndef MAMORI_LEDGER_VERIFY_H
#define MAMORI_LEDGER_VERIFY_H

#include "base/base.h"

struct ledger_verify_report {
	uint64_t entries;     /* records checked */
	uint64_t hashes;      /* stored subtree hashes compared */
	uint64_t checkpoints; /* checkpoint files verified */
	uint8_t root[32];     /* root of all the records (when ok) */
	/* The first difference found (when ledger_verify returned ERR_CORRUPT). */
	int64_t entry;        /* entry index concerned, -1 if none */
	char file[4200];      /* file, relative to the ledger directory */
	uint64_t offset;      /* byte offset in file */
	char msg[1024];       /* one sentence, in the current language */
	bool file_in_archive; /* file is a path in an archive directory instead */
	/* Segments and seals (also when ledger_verify returned 0). */
	uint64_t segments;    /* segment files read (locally or in an archive) */
	uint64_t archived;    /* of them, read from an archive directory */
	uint64_t seals;       /* seal manifests that agree */
	/* Entries of archived segments not found in any archive directory:
	 * their leaf hashes were checked against the tree, the signed
	 * checkpoints and their seal, but their records were not read. */
	uint64_t sealed_only;
	uint64_t sealed_only_segments;
};

/*
 * Verify the ledger in directory dir against the instance public key pk.
 * 0 when everything agrees (rep holds the counts and the root);
 * ERR_CORRUPT when something differs (rep says where and what); ERR_IO or
 * ERR_NOT_FOUND (no segment) when the files cannot be read, with
 * rep->msg set.
 */
MM_WUR int ledger_verify(const char *dir, const uint8_t pk[32], struct ledger_verify_report *rep);
/*
 * ledger_verify, reading the segments that were archived (their files
 * gone from dir/seg, their seal naming an archive) from the first of the
 * narchives directories archives[] that holds <first>.log and .idx.
 */
MM_WUR int ledger_verify_archives(const char *dir, const uint8_t pk[32], const char *const *archives,
				  size_t narchives, struct ledger_verify_report *rep);

/*
 * Read an instance public key file (keys/signing.pub:
 * "mamori-ed25519-public-v1\n<base64 of 32 bytes>\n") into pk.
 * ERR_NOT_FOUND, ERR_IO, or ERR_INVALID for any other content.
 */
MM_WUR int ledger_read_public_key(const char *path, uint8_t pk[32]);

#endif
