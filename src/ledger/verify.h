/*
 * verify.h - full verification of a ledger directory (`mamori verify`).
 *
 * ledger_verify() reads the files of a ledger directory directly (it never
 * opens the ledger, takes no lock and writes nothing), recomputes every
 * leaf hash and the whole Merkle tree from records.log, and checks, entry
 * by entry: each line is a complete record carrying its own index; its
 * records.idx entry points to it; every stored subtree hash in hash/Lhh
 * equals the recomputed one; and each checkpoint in checkpoints/ is
 * signed by the instance key and has the recomputed root at its size. It
 * stops at the first difference and describes it (entry index, file,
 * byte offset). See docs/internals/ledger.md, "Verification".
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
	char file[320];       /* file, relative to the ledger directory */
	uint64_t offset;      /* byte offset in file */
	char msg[1024];       /* one sentence, in the current language */
};

/*
 * Verify the ledger in directory dir against the instance public key pk.
 * 0 when everything agrees (rep holds the counts and the root);
 * ERR_CORRUPT when something differs (rep says where and what); ERR_IO or
 * ERR_NOT_FOUND (no records.log) when the files cannot be read, with
 * rep->msg set.
 */
MM_WUR int ledger_verify(const char *dir, const uint8_t pk[32], struct ledger_verify_report *rep);

/*
 * Read an instance public key file (keys/signing.pub:
 * "mamori-ed25519-public-v1\n<base64 of 32 bytes>\n") into pk.
 * ERR_NOT_FOUND, ERR_IO, or ERR_INVALID for any other content.
 */
MM_WUR int ledger_read_public_key(const char *path, uint8_t pk[32]);

#endif
