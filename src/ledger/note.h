/*
 * note.h - C2SP signed notes, tlog checkpoints and verifier keys.
 *
 * A signed note (https://c2sp.org/signed-note) is a UTF-8 text ending in a
 * newline, a blank line, and one or more signature lines
 *
 *	— <key name> <base64(4-byte key id || signature)>
 *
 * (an em dash U+2014 and a space first). mamori signs with Ed25519
 * (signature type 0x01), whose key id is the first four bytes of
 * SHA-256(key name || 0x0A || 0x01 || 32-byte public key), read big-endian.
 * A checkpoint (https://c2sp.org/tlog-checkpoint) is a note whose text is
 * the log's origin, the tree size in decimal and the base64 root hash, one
 * per line, then optional extension lines. A verifier key is the one-line
 * form of Go's golang.org/x/mod/sumdb/note:
 * "<name>+<8 hex digits of key id>+<base64(0x01 || public key)>".
 * Base64 is the standard, padded alphabet (RFC 4648 section 4); decoding
 * is strict (padding required, no stray bits, no other characters).
 *
 * Limits: a note is at most NOTE_MAX bytes with at most NOTE_SIGS_MAX
 * signatures (the spec's minimum that verifiers must accept); names used
 * for signing and in verifier keys are at most NOTE_NAME_MAX bytes.
 *
 * Parsers take an optional struct diag and a label (a file name, "HTTP
 * body") for their error messages; both may be NULL. Parsed structures
 * point into the caller's text, which must outlive them.
 *
 * Keys: signing takes the instance's 32-byte Ed25519 seed (the form kept in
 * keys/signing.key); the expanded secret key lives on the stack only for
 * the call and is wiped. Threading: no shared state; call from any thread.
 */
#ifndef MAMORI_NOTE_H
#define MAMORI_NOTE_H

#include "base/base.h"

struct buf;
struct diag;

#define NOTE_MAX ((size_t)64 << 10)
#define NOTE_SIGS_MAX 16
#define NOTE_NAME_MAX 255
#define NOTE_KEY_SIZE 32  /* Ed25519 public key */
#define NOTE_SEED_SIZE 32 /* Ed25519 seed */
#define NOTE_HASH_SIZE 32 /* checkpoint root hash */

/* One signature line, as found; verified or not. */
struct note_sig {
	const char *name; /* key name, not NUL-terminated */
	size_t name_len;
	uint32_t key_id; /* the first four bytes of the decoded signature */
	const char *b64; /* the whole base64 field, not NUL-terminated */
	size_t b64_len;
	size_t sig_len; /* decoded length, key id included (>= 5) */
};

struct note {
	const char *text; /* the signed text, final newline included */
	size_t text_len;
	size_t nsigs; /* 1 .. NOTE_SIGS_MAX */
	struct note_sig sigs[NOTE_SIGS_MAX];
};

/* Key id of an Ed25519 key under name, as the signed-note spec says. */
uint32_t note_key_id(const char *name, size_t name_len, const uint8_t pk[static NOTE_KEY_SIZE]);

/* True when name may name a key: non-empty, valid UTF-8, no control
 * character, no Unicode space and no '+'. */
bool note_name_valid(const char *name, size_t len);

/*
 * Split msg[0..len) into its text and signature lines, checking the
 * format strictly: at most NOTE_MAX bytes (else ERR_TOO_LARGE), valid
 * UTF-8 without control characters other than newline, ending in a
 * newline, a blank line before the signatures (the last blank line is the
 * separator), each signature line well formed with a valid key name and a
 * base64 signature of at least 5 bytes, at most NOTE_SIGS_MAX of them (else
 * ERR_TOO_LARGE). Other errors: ERR_INVALID. No signature is verified
 * here. out points into msg.
 */
MM_WUR int note_parse(const char *msg, size_t len, struct note *out, struct diag *d,
		      const char *what);

/*
 * Verify n's signatures by the Ed25519 key (name, pk). Following the spec,
 * signatures under another name or key id are ignored, and every signature
 * under this name and key id must verify. 0 when at least one does and
 * none fails; ERR_CRYPTO when one fails (or is not 4 + 64 bytes);
 * ERR_NOT_FOUND when the note carries no signature by this key.
 */
MM_WUR int note_verify(const struct note *n, const char *name,
		       const uint8_t pk[static NOTE_KEY_SIZE]);

/*
 * Append to out the signed note text + blank line + one signature line by
 * the key derived from seed under name. text must be non-empty, end in a
 * newline and obey the note rules (valid UTF-8, no control characters but
 * newline); name must be valid and at most NOTE_NAME_MAX bytes; the whole
 * note must fit in NOTE_MAX. ERR_INVALID, ERR_TOO_LARGE (also when out's
 * own limit is reached) or ERR_CRYPTO; on error out is as it was.
 */
MM_WUR int note_sign(struct buf *out, const char *text, size_t text_len, const char *name,
		     const uint8_t seed[static NOTE_SEED_SIZE]);

/*
 * Add a signature line by (name, seed) to the signed note held in nb (a
 * cosignature, or a second key during a rotation). The note must parse;
 * ERR_TOO_LARGE when it already has NOTE_SIGS_MAX signatures or would
 * exceed NOTE_MAX. On error nb is as it was.
 */
MM_WUR int note_add_sig(struct buf *nb, const char *name,
			const uint8_t seed[static NOTE_SEED_SIZE]);

/* ---- checkpoints ---- */

struct note_checkpoint {
	const char *origin; /* first line, without its newline */
	size_t origin_len;
	uint64_t size;
	uint8_t root[NOTE_HASH_SIZE];
	const char *ext; /* extension lines, each ending in a newline */
	size_t ext_len;	 /* 0 (and ext NULL) when there are none */
};

/*
 * Append the checkpoint text "<origin>\n<size>\n<base64 root>\n" to out.
 * origin must be a valid key name (the spec recommends it; mamori signs
 * its checkpoints under the origin); size at most INT64_MAX.
 * ERR_INVALID or ERR_TOO_LARGE; on error out is as it was.
 */
MM_WUR int note_checkpoint_format(struct buf *out, const char *origin, uint64_t size,
				  const uint8_t root[static NOTE_HASH_SIZE]);

/*
 * Parse a checkpoint text (a note's text, final newline included): a
 * non-empty origin line; the tree size in ASCII decimal without sign or
 * leading zeros ("0" alone for the empty tree), at most INT64_MAX; the root
 * hash in base64 decoding to exactly 32 bytes; then extension lines, which
 * the spec allows but requires to be non-empty. Callers that accept no
 * extensions check ext_len == 0. ERR_INVALID, or ERR_TOO_LARGE past
 * NOTE_MAX. out points into text.
 */
MM_WUR int note_checkpoint_parse(const char *text, size_t len, struct note_checkpoint *out,
				 struct diag *d, const char *what);

/* ---- verifier keys ---- */

struct note_vkey {
	char name[NOTE_NAME_MAX + 1]; /* NUL-terminated */
	uint32_t key_id;
	uint8_t pk[NOTE_KEY_SIZE];
};

/* Append "<name>+<key id as 8 lower-case hex digits>+<base64(0x01 || pk)>"
 * to out. ERR_INVALID for a bad name; ERR_TOO_LARGE from out. */
MM_WUR int note_vkey_format(struct buf *out, const char *name,
			    const uint8_t pk[static NOTE_KEY_SIZE]);

/*
 * Parse a verifier key line (no newline): a valid name of at most
 * NOTE_NAME_MAX bytes, '+', exactly 8 hex digits, '+', base64 of 33 bytes
 * starting with the Ed25519 type 0x01, a public key that is a canonical
 * point of the main subgroup, and a key id that matches the one computed
 * from name and key. ERR_INVALID otherwise.
 */
MM_WUR int note_vkey_parse(const char *s, size_t len, struct note_vkey *out, struct diag *d,
			   const char *what);

#endif
