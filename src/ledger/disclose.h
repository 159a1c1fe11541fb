/*
 * disclose.h - disclosure to residents (情報提供等記録の開示): the list of
 * the ledger's "access" and "decision" records that name one resident,
 * each with an RFC 9162 inclusion proof against the latest signed
 * checkpoint, and the offline check of such a document with only the
 * instance's verifier key. See docs/internals/ledger.md, "Disclosure".
 *
 * The document (JSON, one object):
 *   {"v":1, "resident_id":R, "checkpoint":"<signed note>", "tree_size":n,
 *    "entries":[{"index":i, "kind":"access"|"decision", "staff_id":..,
 *                "ts":.., "system":.., "action":.., "case_id":..|null,
 *                "record":"<canonical record line, verbatim>",
 *                "proof":["<base64 hash>", ...]}, ...],
 *    "pending":k, "pending_note":"..."}
 * Records with index >= n are not in it (they are pending the next
 * checkpoint); pending counts them.
 *
 * Threading: no shared state; the ledger's own rules apply.
 */
#ifndef MAMORI_DISCLOSE_H
#define MAMORI_DISCLOSE_H

#include "base/base.h"

struct buf;
struct ledger;
struct registry_data;

/* The role a member of staff must hold to produce a disclosure. */
#define DISCLOSE_ROLE "clerk"

struct disclose_result {
	size_t count;	  /* entries in the document */
	size_t pending;	  /* matching records after the checkpoint */
	uint64_t cp_size; /* tree size of the checkpoint used */
};

/*
 * Build the disclosure document of resident_id from the latest checkpoint
 * of l into out (replacing its contents). ERR_NOT_FOUND when the ledger has
 * no checkpoint; ERR_CORRUPT when a record cannot be read or does not match
 * its stored leaf hash; ERR_NOMEM/ERR_TOO_LARGE from out.
 */
MM_WUR int disclose_build(struct ledger *l, const char *resident_id, struct buf *out,
			  struct disclose_result *res);

/*
 * Who may have a disclosure: by must be a member of staff holding
 * DISCLOSE_ROLE, resident_id a known resident, and for a resident with the
 * dv_support flag the request must come from the resident (for_resident
 * true). 0 when allowed; ERR_FORBIDDEN (unknown staff, staff without the
 * role, a dv_support resident asked for by a proxy) or ERR_NOT_FOUND
 * (unknown resident), with a bilingual sentence in why (replacing
 * contents).
 */
MM_WUR int disclose_authorise(const struct registry_data *reg, const char *by,
			      const char *resident_id, bool for_resident, struct buf *why);

/*
 * Append the ledger record (kind "disclosure") of a disclosure made or
 * refused: body {"resident_id","by","for","count","checkpoint_size",
 * "refused"}. for_what is "resident" or "proxy". ledger_append's errors.
 */
MM_WUR int disclose_record(struct ledger *l, const char *actor, const char *resident_id,
			   const char *by, const char *for_what, size_t count, uint64_t cp_size,
			   bool refused);

/*
 * Check a disclosure document offline: the checkpoint's signature by the
 * verifier key vkey (one line), that each entry's record names the
 * document's resident and agrees with the entry's fields, and each entry's
 * inclusion proof against the checkpoint's root. 0 with *count entries
 * checked; ERR_INVALID (malformed document or key), ERR_CRYPTO (a signature
 * or proof fails) with the reason, naming the first failing entry, in msg
 * (replacing contents).
 */
MM_WUR int disclose_verify(const char *doc, size_t len, const char *vkey, struct buf *msg,
			   size_t *count);

#endif
