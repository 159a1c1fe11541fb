/* libFuzzer harness: signed notes, checkpoints and verifier keys
 * (src/ledger/note.c). Besides not crashing, what the parsers accept must
 * put back together into exactly the bytes they were given: a note from
 * its text and signature lines, a checkpoint without extensions from its
 * three fields, a verifier key from its name and public key. */
#include <sodium.h>

#include "base/base.h"
#include "base/buf.h"
#include "base/diag.h"
#include "ledger/note.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_checkpoint(const char *text, size_t len)
{
	struct note_checkpoint cp;
	struct buf b;
	char origin[NOTE_MAX + 1];

	if (note_checkpoint_parse(text, len, &cp, NULL, NULL) != 0)
		return;
	if (cp.origin_len == 0 || cp.origin + cp.origin_len > text + len)
		BUG("checkpoint origin out of range");
	if (cp.ext_len != 0 && (cp.ext < text || cp.ext + cp.ext_len != text + len))
		BUG("checkpoint extensions out of range");
	if (cp.ext_len != 0 || !note_name_valid(cp.origin, cp.origin_len))
		return;
	memcpy(origin, cp.origin, cp.origin_len);
	origin[cp.origin_len] = '\0';
	buf_init(&b, NOTE_MAX);
	if (note_checkpoint_format(&b, origin, cp.size, cp.root) != 0)
		BUG("cannot format a checkpoint that parsed");
	if (b.len != len || memcmp(b.data, text, len) != 0)
		BUG("checkpoint does not round-trip");
	buf_release(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool init;
	static uint8_t pk[32];
	const char *s = (const char *)data;
	struct note n;
	struct note_vkey v, v2;
	struct diag d;
	struct buf b;

	if (!init) {
		uint8_t seed[32], sk[64];
		if (sodium_init() < 0)
			BUG("sodium_init");
		for (int i = 0; i < 32; i++)
			seed[i] = (uint8_t)i;
		crypto_sign_seed_keypair(pk, sk, seed);
		init = true;
	}

	diag_init(&d, 5);
	if (note_parse(s, size, &n, &d, "fuzz") == 0) {
		buf_init(&b, 2 * NOTE_MAX);
		if (n.text != s || n.text_len == 0 || n.text[n.text_len - 1] != '\n' ||
		    n.nsigs == 0 || n.nsigs > NOTE_SIGS_MAX)
			BUG("note parse: bad result");
		if (buf_append(&b, n.text, n.text_len) < 0 || buf_putc(&b, '\n') < 0)
			BUG("buf");
		for (size_t i = 0; i < n.nsigs; i++) {
			const struct note_sig *g = &n.sigs[i];
			if (!note_name_valid(g->name, g->name_len) || g->sig_len < 5)
				BUG("note parse: bad signature line accepted");
			if (buf_printf(&b, "\xe2\x80\x94 %.*s %.*s\n", (int)g->name_len, g->name,
				       (int)g->b64_len, g->b64) < 0)
				BUG("buf");
		}
		if (b.len != size || memcmp(b.data, s, size) != 0)
			BUG("note does not round-trip");
		buf_release(&b);
		(void)note_verify(&n, "mamori.example/ledger", pk);
		check_checkpoint(n.text, n.text_len);
	} else if (d.errors == 0) {
		BUG("note parse failed without a diagnostic");
	}
	diag_release(&d);

	check_checkpoint(s, size);

	if (note_vkey_parse(s, size, &v, NULL, NULL) == 0) {
		buf_init(&b, 4096);
		if (note_vkey_format(&b, v.name, v.pk) != 0 ||
		    note_vkey_parse(b.data, b.len, &v2, NULL, NULL) != 0 ||
		    memcmp(&v, &v2, sizeof(v)) != 0 || b.len != size)
			BUG("verifier key does not round-trip");
		buf_release(&b);
	}
	return 0;
}
