/*
 * apikey.c - API keys for the business systems that call the HTTP API.
 *
 * A key reads "mk_" + id (12 characters, [a-z0-9]) + "_" + secret (43
 * characters, base64url without padding, of 32 random bytes). The id finds
 * the row; the secret proves possession. The store keeps the id, the name
 * and SHA-256 of the secret text, never the secret itself, so that a copy
 * of the database does not let anyone call the API. Verification compares
 * the hashes in constant time. Creation and revocation are recorded in the
 * ledger (kind "apikey"), with the name and the id and never the secret.
 */
#include <sodium.h>

#include "base/base.h"
#include "base/actor.h"
#include "base/buf.h"
#include "base/timeutil.h"
#include "api/api.h"
#include "ledger/ledger.h"
#include "store/store.h"

#define ID_LEN 12
#define SECRET_BYTES 32
#define SECRET_LEN 43 /* base64url, no padding, of 32 bytes */
#define KEY_LEN (3 + ID_LEN + 1 + SECRET_LEN)
#define HASH_HEX 65

_Static_assert(KEY_LEN < APIKEY_TEXT_MAX, "APIKEY_TEXT_MAX too small");
_Static_assert(APIKEY_ID_LEN == ID_LEN, "APIKEY_ID_LEN");

static const char id_alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";

int apikey_name_check(const char *name)
{
	size_t n;

	if (!name)
		return ERR_INVALID;
	n = strlen(name);
	if (n < 1 || n > APIKEY_NAME_MAX)
		return ERR_INVALID;
	/* Visible ASCII only: the name is an actor in the ledger and in logs,
	 * and is typed on command lines; spaces and look-alike characters
	 * would make two keys hard to tell apart. */
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)name[i] < 0x21 || (unsigned char)name[i] > 0x7e)
			return ERR_INVALID;
	return 0;
}

static bool is_b64url(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_';
}

static bool is_id_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* Split a presented key into id and secret; false if it is not well formed. */
static bool key_split(const char *key, char id[static ID_LEN + 1], const char **secret)
{
	size_t n;

	if (!key)
		return false;
	n = strnlen(key, KEY_LEN + 1);
	if (n != KEY_LEN || memcmp(key, "mk_", 3) != 0 || key[3 + ID_LEN] != '_')
		return false;
	for (size_t i = 0; i < ID_LEN; i++)
		if (!is_id_char(key[3 + i]))
			return false;
	for (size_t i = 0; i < SECRET_LEN; i++)
		if (!is_b64url(key[4 + ID_LEN + i]))
			return false;
	memcpy(id, key + 3, ID_LEN);
	id[ID_LEN] = '\0';
	*secret = key + 4 + ID_LEN;
	return true;
}

static void secret_hash(const char *secret, unsigned char h[static crypto_hash_sha256_BYTES])
{
	crypto_hash_sha256(h, (const unsigned char *)secret, SECRET_LEN);
}

static int ledger_note(struct ledger *lg, const char *op, const char *name, const char *id,
		       unsigned role, const char *dept, const char *actor)
{
	struct buf body;
	int r;

	buf_init(&body, 1024);
	if ((r = buf_printf(&body, "{\"op\":\"%s\",\"name\":", op)) < 0 ||
	    (r = buf_json_str(&body, name, strlen(name))) < 0 ||
	    (r = buf_printf(&body, ",\"id\":\"%s\"", id)) < 0)
		goto out;
	if (role && (r = buf_printf(&body, ",\"role\":\"%s\"", role_name(role))) < 0)
		goto out;
	if (dept && *dept &&
	    ((r = buf_puts(&body, ",\"dept\":")) < 0 ||
	     (r = buf_json_str(&body, dept, strlen(dept))) < 0))
		goto out;
	if ((r = buf_putc(&body, '}')) < 0)
		goto out;
	{
		struct audit_rec rec = {"apikey", TS_NONE, actor, body.data, body.len};
		r = ledger_append(lg, &rec, NULL);
	}
out:
	buf_release(&body);
	return r;
}

/* A department id as the registry writes them: 1-32 visible ASCII. */
static bool dept_ok(const char *d)
{
	size_t n = d ? strlen(d) : 0;

	if (n < 1 || n > ACTOR_DEPT_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)d[i] < 0x21 || (unsigned char)d[i] > 0x7e)
			return false;
	return true;
}

int apikey_create(struct store *st, struct ledger *lg, const char *name, unsigned role,
		  const char *dept, const char *actor, char key_out[static APIKEY_TEXT_MAX])
{
	unsigned char raw[SECRET_BYTES], h[crypto_hash_sha256_BYTES];
	char id[ID_LEN + 1], secret[SECRET_LEN + 1], hex[HASH_HEX], now[TS_TEXT_MAX];
	struct store_stmt *s = NULL;
	bool in_tx = false;
	int r;

	key_out[0] = '\0';
	if ((r = apikey_name_check(name)) < 0)
		return r;
	if (!strcmp(role_name(role), "?"))
		return ERR_INVALID;
	if (dept && !*dept)
		dept = NULL;
	/* A department manager's key is limited to one department, and only
	 * such a key has one. */
	if ((role == ROLE_DEPT_MANAGER) != (dept != NULL) || (dept && !dept_ok(dept)))
		return ERR_INVALID;
	for (size_t i = 0; i < ID_LEN; i++)
		id[i] = id_alphabet[randombytes_uniform((uint32_t)(sizeof(id_alphabet) - 1))];
	id[ID_LEN] = '\0';
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(secret, sizeof(secret), raw, sizeof(raw),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	secret_hash(secret, h);
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	ts_format_jst(ts_now(), now);

	if ((r = store_begin(st)) < 0)
		goto out;
	in_tx = true;
	if ((r = store_prepare(st, "SELECT 1 FROM api_keys WHERE name = ? OR id = ?", &s)) < 0 ||
	    (r = store_bind_str(s, 1, name)) < 0 || (r = store_bind_str(s, 2, id)) < 0)
		goto out;
	if ((r = store_step(s)) < 0)
		goto out;
	if (r == 1) {
		/* A name is taken for good, even by a revoked key: names are the
		 * actors in the ledger and must keep meaning one key. (An id
		 * collision, 36^12 to one, is reported the same way.) */
		r = ERR_EXISTS;
		goto out;
	}
	store_finalize(s);
	s = NULL;
	if ((r = store_prepare(st,
			       "INSERT INTO api_keys (id, name, hash, created, revoked, role, dept) "
			       "VALUES (?, ?, ?, ?, NULL, ?, ?)",
			       &s)) < 0 ||
	    (r = store_bind_str(s, 1, id)) < 0 || (r = store_bind_str(s, 2, name)) < 0 ||
	    (r = store_bind_str(s, 3, hex)) < 0 || (r = store_bind_str(s, 4, now)) < 0 ||
	    (r = store_bind_str(s, 5, role_name(role))) < 0 || (r = store_bind_str(s, 6, dept)) < 0)
		goto out;
	if ((r = store_step(s)) < 0)
		goto out;
	store_finalize(s);
	s = NULL;
	if ((r = ledger_note(lg, "create", name, id, role, dept, actor)) < 0)
		goto out;
	if ((r = store_commit(st)) < 0)
		goto out;
	in_tx = false;
	snprintf(key_out, APIKEY_TEXT_MAX, "mk_%s_%s", id, secret);
	r = 0;
out:
	store_finalize(s);
	if (in_tx)
		store_rollback(st);
	sodium_memzero(raw, sizeof(raw));
	sodium_memzero(secret, sizeof(secret));
	return r;
}

int apikey_verify(struct store *st, const char *key, struct actor *out)
{
	static const unsigned char dummy[crypto_hash_sha256_BYTES];
	unsigned char h[crypto_hash_sha256_BYTES], want[crypto_hash_sha256_BYTES];
	char id[ID_LEN + 1];
	const char *secret = NULL, *hex, *name, *role, *dept;
	struct store_stmt *s = NULL;
	bool found = false, ok;
	size_t hexlen = 0, nlen = 0, dlen = 0;
	int r;

	memset(out, 0, sizeof(*out));
	if (!key_split(key, id, &secret))
		return ERR_UNAUTHORIZED;
	secret_hash(secret, h);
	memcpy(want, dummy, sizeof(want));
	if ((r = store_prepare(
		 st, "SELECT name, hash, role, dept FROM api_keys WHERE id = ? AND revoked IS NULL",
		 &s)) < 0 ||
	    (r = store_bind_str(s, 1, id)) < 0)
		goto out;
	if ((r = store_step(s)) < 0)
		goto out;
	if (r == 1) {
		name = store_col_text(s, 0, &nlen);
		hex = store_col_text(s, 1, &hexlen);
		role = store_col_text(s, 2, NULL);
		dept = store_col_text(s, 3, &dlen);
		if (name && hex && nlen < sizeof(out->name) && dlen < sizeof(out->dept) &&
		    role_parse(role, &out->role) == 0 &&
		    sodium_hex2bin(want, sizeof(want), hex, hexlen, NULL, NULL, NULL) == 0) {
			found = true;
			memcpy(out->name, name, nlen);
			out->name[nlen] = '\0';
			if (dept)
				memcpy(out->dept, dept, dlen);
			out->dept[dlen] = '\0';
		}
	}
	/* Compare even when the id is unknown, so that the time taken does
	 * not depend on whether it exists. */
	ok = sodium_memcmp(h, want, sizeof(h)) == 0;
	if (!found || !ok) {
		memset(out, 0, sizeof(*out));
		r = ERR_UNAUTHORIZED;
		goto out;
	}
	r = 0;
out:
	store_finalize(s);
	sodium_memzero(h, sizeof(h));
	return r;
}

int apikey_revoke(struct store *st, struct ledger *lg, const char *name, const char *actor)
{
	struct store_stmt *s = NULL;
	char now[TS_TEXT_MAX], id[ID_LEN + 1];
	bool in_tx = false;
	size_t len = 0;
	const char *t;
	int r;

	if ((r = apikey_name_check(name)) < 0)
		return ERR_NOT_FOUND;
	ts_format_jst(ts_now(), now);
	if ((r = store_begin(st)) < 0)
		goto out;
	in_tx = true;
	if ((r = store_prepare(st, "SELECT id FROM api_keys WHERE name = ? AND revoked IS NULL",
			       &s)) < 0 ||
	    (r = store_bind_str(s, 1, name)) < 0)
		goto out;
	if ((r = store_step(s)) < 0)
		goto out;
	if (r == 0) {
		r = ERR_NOT_FOUND;
		goto out;
	}
	t = store_col_text(s, 0, &len);
	if (!t || len != ID_LEN) {
		r = ERR_CORRUPT;
		goto out;
	}
	memcpy(id, t, ID_LEN);
	id[ID_LEN] = '\0';
	store_finalize(s);
	s = NULL;
	if ((r = store_prepare(st, "UPDATE api_keys SET revoked = ? WHERE id = ?", &s)) < 0 ||
	    (r = store_bind_str(s, 1, now)) < 0 || (r = store_bind_str(s, 2, id)) < 0)
		goto out;
	if ((r = store_step(s)) < 0)
		goto out;
	if ((r = ledger_note(lg, "revoke", name, id, 0, NULL, actor)) < 0)
		goto out;
	if ((r = store_commit(st)) < 0)
		goto out;
	in_tx = false;
	r = 0;
out:
	store_finalize(s);
	if (in_tx)
		store_rollback(st);
	return r;
}

int apikey_list(struct store *st, int (*fn)(const struct apikey_info *k, void *arg), void *arg)
{
	struct store_stmt *s = NULL;
	struct apikey_info k;
	int r;

	if ((r = store_prepare(st, "SELECT id, name, created, revoked, role, dept FROM api_keys ORDER BY name",
			       &s)) < 0)
		goto out;
	while ((r = store_step(s)) == 1) {
		const char *v;
		size_t len;

		memset(&k, 0, sizeof(k));
		if ((v = store_col_text(s, 0, &len)) && len < sizeof(k.id))
			memcpy(k.id, v, len);
		if ((v = store_col_text(s, 1, &len)) && len < sizeof(k.name))
			memcpy(k.name, v, len);
		if ((v = store_col_text(s, 2, &len)) && len < sizeof(k.created))
			memcpy(k.created, v, len);
		if ((v = store_col_text(s, 3, &len)) && len < sizeof(k.revoked))
			memcpy(k.revoked, v, len);
		if (role_parse(store_col_text(s, 4, NULL), &k.role) < 0)
			k.role = 0;
		if ((v = store_col_text(s, 5, &len)) && len < sizeof(k.dept))
			memcpy(k.dept, v, len);
		if ((r = fn(&k, arg)) < 0)
			goto out;
	}
out:
	store_finalize(s);
	return r;
}
