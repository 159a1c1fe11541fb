/*
 * jsonrec.c - a strict JSON parser for one flat record (registry_int.h).
 *
 * The top level must be an object. Values of known fields are decoded:
 * strings into rec->scratch, arrays into rec->items (string items decoded,
 * other items only typed). Everything else (numbers, literals, nested
 * objects and arrays, unknown fields) is checked for syntax and skipped.
 * Nesting is bounded so that hostile input cannot exhaust the stack.
 */
#include "base/base.h"
#include "base/diag.h"
#include "base/i18n.h"
#include "registry/registry_int.h"

#define MAX_DEPTH 32

struct jp {
	const char *p;
	size_t len, pos;
	struct reg_rec *rec;
	const char *err; /* reason, when parsing failed */
};

void reg_rec_init(struct reg_rec *r)
{
	memset(r, 0, sizeof(*r));
}

void reg_rec_release(struct reg_rec *r)
{
	free(r->items);
	free(r->scratch);
	memset(r, 0, sizeof(*r));
}

void reg_rec_reset(struct reg_rec *r, size_t need)
{
	memset(r->f, 0, sizeof(r->f));
	memset(r->t, 0, sizeof(r->t));
	r->bad = 0;
	r->nunknown = 0;
	r->nitems = 0;
	r->sused = 0;
	if (need + 1 > r->scap) {
		free(r->scratch);
		r->scap = need + 1 > 4096 ? need + 1 : 4096;
		r->scratch = xmalloc(r->scap);
	}
}

void reg_rec_push_item(struct reg_rec *r, const char *s, size_t n, uint8_t type)
{
	if (r->nitems == r->capitems) {
		r->capitems = r->capitems ? r->capitems * 2 : 64;
		r->items = xrealloc(r->items, r->capitems * sizeof(*r->items));
	}
	r->items[r->nitems].s = s;
	r->items[r->nitems].n = (uint32_t)n;
	r->items[r->nitems].type = type;
	r->nitems++;
}

static void ws(struct jp *j)
{
	while (j->pos < j->len) {
		char c = j->p[j->pos];
		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		j->pos++;
	}
}

static bool fail(struct jp *j, const char *why)
{
	if (!j->err)
		j->err = why;
	return false;
}

static int hex4(const char *s)
{
	int v = 0;
	for (int i = 0; i < 4; i++) {
		char c = s[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -1;
	}
	return v;
}

/*
 * A string at j->pos (the opening quote). When out is not NULL the decoded
 * text goes to the scratch area, described by out and n. The scratch holds
 * at least the line's length, and a decoded string plus its NUL is never
 * longer than its quoted form, so it cannot overflow.
 */
static bool str(struct jp *j, const char **out, size_t *n)
{
	struct reg_rec *r = j->rec;
	char *w = out ? r->scratch + r->sused : NULL;
	size_t wn = 0;

	j->pos++; /* the quote */
	for (;;) {
		unsigned char c;
		if (j->pos >= j->len)
			return fail(j, T("文字列が閉じられていません", "unterminated string"));
		c = (unsigned char)j->p[j->pos++];
		if (c == '"')
			break;
		if (c < 0x20)
			return fail(j,
				    T("文字列に制御文字があります", "control character in string"));
		if (c != '\\') {
			if (w)
				w[wn++] = (char)c;
			continue;
		}
		if (j->pos >= j->len)
			return fail(j, T("文字列が閉じられていません", "unterminated string"));
		c = (unsigned char)j->p[j->pos++];
		char e = 0;
		switch (c) {
		case '"':
			e = '"';
			break;
		case '\\':
			e = '\\';
			break;
		case '/':
			e = '/';
			break;
		case 'b':
			e = '\b';
			break;
		case 'f':
			e = '\f';
			break;
		case 'n':
			e = '\n';
			break;
		case 'r':
			e = '\r';
			break;
		case 't':
			e = '\t';
			break;
		case 'u': {
			int cp, lo;
			if (j->len - j->pos < 4 || (cp = hex4(j->p + j->pos)) < 0)
				return fail(j, T("\\u エスケープが不正です", "invalid \\u escape"));
			j->pos += 4;
			if (cp >= 0xdc00 && cp <= 0xdfff)
				return fail(j,
					    T("対になっていないサロゲートです", "lone surrogate"));
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (j->len - j->pos < 6 || j->p[j->pos] != '\\' ||
				    j->p[j->pos + 1] != 'u' || (lo = hex4(j->p + j->pos + 2)) < 0 ||
				    lo < 0xdc00 || lo > 0xdfff)
					return fail(j, T("対になっていないサロゲートです",
							 "lone surrogate"));
				j->pos += 6;
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			}
			if (cp == 0)
				return fail(
				    j, T("文字列に NUL 文字があります", "NUL character in string"));
			if (w) {
				if (cp < 0x80) {
					w[wn++] = (char)cp;
				} else if (cp < 0x800) {
					w[wn++] = (char)(0xc0 | (cp >> 6));
					w[wn++] = (char)(0x80 | (cp & 0x3f));
				} else if (cp < 0x10000) {
					w[wn++] = (char)(0xe0 | (cp >> 12));
					w[wn++] = (char)(0x80 | ((cp >> 6) & 0x3f));
					w[wn++] = (char)(0x80 | (cp & 0x3f));
				} else {
					w[wn++] = (char)(0xf0 | (cp >> 18));
					w[wn++] = (char)(0x80 | ((cp >> 12) & 0x3f));
					w[wn++] = (char)(0x80 | ((cp >> 6) & 0x3f));
					w[wn++] = (char)(0x80 | (cp & 0x3f));
				}
			}
			continue;
		}
		default:
			return fail(j, T("エスケープが不正です", "invalid escape"));
		}
		if (w)
			w[wn++] = e;
	}
	if (w) {
		w[wn] = '\0';
		*out = w;
		*n = wn;
		r->sused += wn + 1;
	}
	return true;
}

static bool digits(struct jp *j)
{
	size_t b = j->pos;
	while (j->pos < j->len && j->p[j->pos] >= '0' && j->p[j->pos] <= '9')
		j->pos++;
	return j->pos > b;
}

static bool number(struct jp *j)
{
	if (j->p[j->pos] == '-')
		j->pos++;
	if (j->pos < j->len && j->p[j->pos] == '0') {
		j->pos++;
	} else if (!digits(j)) {
		return fail(j, T("数値が不正です", "invalid number"));
	}
	if (j->pos < j->len && j->p[j->pos] == '.') {
		j->pos++;
		if (!digits(j))
			return fail(j, T("数値が不正です", "invalid number"));
	}
	if (j->pos < j->len && (j->p[j->pos] == 'e' || j->p[j->pos] == 'E')) {
		j->pos++;
		if (j->pos < j->len && (j->p[j->pos] == '+' || j->p[j->pos] == '-'))
			j->pos++;
		if (!digits(j))
			return fail(j, T("数値が不正です", "invalid number"));
	}
	return true;
}

static bool lit(struct jp *j, const char *word)
{
	size_t n = strlen(word);
	if (j->len - j->pos < n || memcmp(j->p + j->pos, word, n))
		return fail(j, T("不正な値です", "invalid value"));
	j->pos += n;
	return true;
}

static bool value(struct jp *j, int depth, enum jtype *type, bool decode, struct reg_val *out);

/* An array or object being skipped or, for arrays of a known field,
 * collected into rec->items. */
static bool container(struct jp *j, int depth, bool is_obj, bool collect)
{
	char close = is_obj ? '}' : ']';

	if (depth >= MAX_DEPTH)
		return fail(j, T("入れ子が深すぎます", "nesting too deep"));
	j->pos++;
	ws(j);
	if (j->pos < j->len && j->p[j->pos] == close) {
		j->pos++;
		return true;
	}
	for (;;) {
		enum jtype t;
		struct reg_val v = {0};
		ws(j);
		if (is_obj) {
			if (j->pos >= j->len || j->p[j->pos] != '"')
				return fail(j,
					    T("キーの文字列が必要です", "expected a string key"));
			if (!str(j, NULL, NULL))
				return false;
			ws(j);
			if (j->pos >= j->len || j->p[j->pos] != ':')
				return fail(j, T("':' が必要です", "expected ':'"));
			j->pos++;
			ws(j);
		}
		if (!value(j, depth + 1, &t, collect, &v))
			return false;
		if (collect)
			reg_rec_push_item(j->rec, v.s, v.n, (uint8_t)t);
		ws(j);
		if (j->pos < j->len && j->p[j->pos] == ',') {
			j->pos++;
			continue;
		}
		if (j->pos < j->len && j->p[j->pos] == close) {
			j->pos++;
			return true;
		}
		return fail(j, is_obj ? T("',' か '}' が必要です", "expected ',' or '}'")
				      : T("',' か ']' が必要です", "expected ',' or ']'"));
	}
}

static bool value(struct jp *j, int depth, enum jtype *type, bool decode, struct reg_val *out)
{
	if (j->pos >= j->len)
		return fail(j, T("値が必要です", "expected a value"));
	switch (j->p[j->pos]) {
	case '"':
		*type = J_STRING;
		return decode ? str(j, &out->s, &out->n) : str(j, NULL, NULL);
	case '{':
		*type = J_OBJECT;
		return container(j, depth, true, false);
	case '[': {
		*type = J_ARRAY;
		/* Items of a known field's array are collected; arrays inside
		 * arrays are only checked. */
		bool collect = decode && out->type == J_ABSENT && out->first == UINT32_MAX;
		if (collect)
			out->first = (uint32_t)j->rec->nitems;
		if (!container(j, depth, false, collect))
			return false;
		if (collect)
			out->count = (uint32_t)(j->rec->nitems - out->first);
		return true;
	}
	case 't':
		*type = J_BOOL;
		return lit(j, "true");
	case 'f':
		*type = J_BOOL;
		return lit(j, "false");
	case 'n':
		*type = J_NULL;
		return lit(j, "null");
	default:
		if (j->p[j->pos] == '-' || (j->p[j->pos] >= '0' && j->p[j->pos] <= '9')) {
			*type = J_NUMBER;
			return number(j);
		}
		return fail(j, T("不正な値です", "invalid value"));
	}
}

bool reg_parse_rec(enum reg_kind k, const char *p, size_t len, const char *file, long line,
		   struct diag *d, struct reg_rec *rec)
{
	struct jp j = {p, len, 0, rec, NULL};
	size_t bad;

	reg_rec_reset(rec, len);
	if (!reg_utf8_valid(p, len, &bad)) {
		diag_error(d, file, line, (long)bad + 1, NULL, "%s",
			   T("UTF-8 として不正なバイトがあります", "invalid UTF-8"));
		return false;
	}
	ws(&j);
	if (j.pos >= len || p[j.pos] != '{') {
		diag_error(d, file, line, (long)j.pos + 1, NULL, "%s",
			   T("JSON オブジェクトではありません", "expected a JSON object"));
		return false;
	}
	j.pos++;
	ws(&j);
	if (j.pos < len && p[j.pos] == '}') {
		j.pos++;
		goto end;
	}
	for (;;) {
		const char *key;
		size_t kn;
		int fi;
		enum jtype t;
		struct reg_val v = {0};

		ws(&j);
		if (j.pos >= len || p[j.pos] != '"') {
			fail(&j, T("キーの文字列が必要です", "expected a string key"));
			goto bad;
		}
		if (!str(&j, &key, &kn))
			goto bad;
		ws(&j);
		if (j.pos >= len || p[j.pos] != ':') {
			fail(&j, T("':' が必要です", "expected ':'"));
			goto bad;
		}
		j.pos++;
		ws(&j);
		fi = strlen(key) == kn ? reg_field_index(k, key) : -1;
		if (fi >= 0) {
			if (rec->f[fi].type != J_ABSENT) {
				diag_error(d, file, line, (long)j.pos, key, "%s",
					   T("フィールドが重複しています", "duplicate field"));
				return false;
			}
			v.first = UINT32_MAX;
			if (!value(&j, 1, &t, true, &v))
				goto bad;
			v.type = t;
			if (t != J_ARRAY)
				v.first = 0;
			rec->f[fi] = v;
		} else {
			for (size_t i = 0; i < rec->nunknown; i++)
				if (!strcmp(rec->unknown[i], key)) {
					diag_error(d, file, line, (long)j.pos, NULL,
						   T("フィールド '%s' が重複しています",
						     "duplicate field '%s'"),
						   key);
					return false;
				}
			if (rec->nunknown < REG_MAX_UNKNOWN)
				rec->unknown[rec->nunknown++] = key;
			if (!value(&j, 1, &t, false, &v))
				goto bad;
		}
		ws(&j);
		if (j.pos < len && p[j.pos] == ',') {
			j.pos++;
			continue;
		}
		if (j.pos < len && p[j.pos] == '}') {
			j.pos++;
			break;
		}
		fail(&j, T("',' か '}' が必要です", "expected ',' or '}'"));
		goto bad;
	}
end:
	ws(&j);
	if (j.pos != len) {
		fail(&j, T("オブジェクトの後に余分な文字があります",
			   "extra characters after the object"));
		goto bad;
	}
	return true;
bad:
	diag_error(d, file, line, (long)j.pos + 1, NULL,
		   T("JSON の構文が不正です: %s", "invalid JSON: %s"), j.err ? j.err : "?");
	return false;
}
