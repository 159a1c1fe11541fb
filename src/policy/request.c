/*
 * request.c - the decision request of FORMATS.md: parsing and checking.
 *
 * A request is one JSON object. Unknown fields are refused rather than
 * ignored: a calling system that misspells "mfa" must learn it at once,
 * not be denied for missing MFA on every request. Every id is 1-128
 * printable bytes.
 */
#include "base/base.h"

#include <jansson.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/i18n.h"
#include "base/timeutil.h"
#include "policy/policy.h"

#define REQ_ID_MAX 128

static const char *const action_names[ACT__COUNT] = {"search", "view", "update", "print",
						     "export"};

const char *action_name(enum action a)
{
	return (unsigned)a < ACT__COUNT ? action_names[a] : NULL;
}

int action_parse(const char *s, size_t len, enum action *out)
{
	for (unsigned i = 0; i < ACT__COUNT; i++)
		if (strlen(action_names[i]) == len && !memcmp(action_names[i], s, len)) {
			*out = (enum action)i;
			return 0;
		}
	return ERR_INVALID;
}

/* The explanation is best effort: a full err buffer keeps what fits. */
static void say(struct buf *err, const char *fmt, ...) MM_PRINTF(2, 3);
static void say(struct buf *err, const char *fmt, ...)
{
	va_list ap;
	buf_reset(err);
	va_start(ap, fmt);
	if (buf_vprintf(err, fmt, ap) < 0)
		buf_reset(err);
	va_end(ap);
}

static int bad(struct buf *err, const char *field, const char *ja, const char *en)
{
	if (field)
		say(err, T("フィールド '%s': %s", "field '%s': %s"), field, T(ja, en));
	else
		say(err, "%s", T(ja, en));
	return ERR_INVALID;
}

/* A string field: absent or null gives NULL when optional. */
static int id_field(json_t *o, const char *field, bool required, struct arena *a,
		    const char **out, struct buf *err)
{
	json_t *v = json_object_get(o, field);
	const char *s;
	size_t len;

	*out = NULL;
	if (!v || json_is_null(v)) {
		if (required)
			return bad(err, field, "必須です", "required");
		return 0;
	}
	if (!json_is_string(v))
		return bad(err, field, "文字列でなければなりません", "must be a string");
	s = json_string_value(v);
	len = json_string_length(v);
	if (len == 0)
		return bad(err, field, "空です", "is empty");
	if (len > REQ_ID_MAX)
		return bad(err, field, "長すぎます（最大 128 バイト）", "too long (at most 128 bytes)");
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return bad(err, field, "制御文字を含みます", "contains a control character");
	*out = arena_strndup(a, s, len);
	return 0;
}

int decide_req_parse(const char *json, size_t len, int64_t now, struct arena *a,
		     struct decide_req *out, struct buf *err)
{
	static const char *const known[] = {"staff_id", "action",   "resident_id", "system", "zone",
					    "terminal", "case_id",  "mfa",	   "ts"};
	json_error_t je;
	json_t *o = NULL, *v;
	const char *key;
	const char *action = NULL;
	int r;

	memset(out, 0, sizeof(*out));
	if (len > DECIDE_REQ_MAX) {
		say(err, T("要求が大きすぎます（最大 %zu バイト）",
					"request too large (at most %zu bytes)"),
				 DECIDE_REQ_MAX);
		return ERR_TOO_LARGE;
	}
	o = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
	if (!o) {
		say(err, T("JSON として読めません（%d 文字目）: %s",
					"not valid JSON (at character %d): %s"),
				 je.position, je.text);
		return ERR_INVALID;
	}
	if (!json_is_object(o)) {
		r = bad(err, NULL, "要求は JSON オブジェクトでなければなりません",
			"the request must be a JSON object");
		goto out;
	}
	json_object_foreach(o, key, v) {
		bool ok = false;
		for (size_t i = 0; i < ARRAY_SIZE(known); i++)
			ok = ok || !strcmp(key, known[i]);
		if (!ok) {
			say(err, T("フィールド '%.64s': 不明なフィールドです",
						"field '%.64s': unknown field"),
					 key);
			r = ERR_INVALID;
			goto out;
		}
	}
	if ((r = id_field(o, "staff_id", true, a, &out->staff_id, err)) < 0 ||
	    (r = id_field(o, "action", true, a, &action, err)) < 0 ||
	    (r = id_field(o, "system", true, a, &out->system, err)) < 0 ||
	    (r = id_field(o, "zone", true, a, &out->zone, err)) < 0 ||
	    (r = id_field(o, "resident_id", false, a, &out->resident_id, err)) < 0 ||
	    (r = id_field(o, "terminal", false, a, &out->terminal, err)) < 0 ||
	    (r = id_field(o, "case_id", false, a, &out->case_id, err)) < 0)
		goto out;
	if (action_parse(action, strlen(action), &out->action) < 0) {
		r = bad(err, "action", "search, view, update, print, export のいずれかです",
			"must be one of search, view, update, print, export");
		goto out;
	}
	v = json_object_get(o, "mfa");
	if (v && !json_is_null(v)) {
		if (!json_is_boolean(v)) {
			r = bad(err, "mfa", "true か false でなければなりません", "must be true or false");
			goto out;
		}
		out->mfa = json_is_true(v);
	}
	v = json_object_get(o, "ts");
	out->ts = now;
	if (v && !json_is_null(v)) {
		int off;
		if (!json_is_string(v) ||
		    ts_parse(json_string_value(v), json_string_length(v), &out->ts, &off) < 0) {
			r = bad(err, "ts", "RFC 3339 の日時でなければなりません（例 2026-04-01T10:00:00+09:00）",
				"must be an RFC 3339 time (e.g. 2026-04-01T10:00:00+09:00)");
			goto out;
		}
	}
	r = 0;
out:
	json_decref(o);
	return r;
}
