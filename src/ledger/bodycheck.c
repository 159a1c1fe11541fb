/*
 * bodycheck.c - a one-pass check that a record body is a JSON object that
 * jansson's json_loadb(body, n, 0, ...) accepts, without building a tree
 * (ledger_int.h, ledger_body_surely_valid).
 *
 * The check answers only "surely accepted": every input it passes is one
 * jansson 2.x accepts with the flags the ledger used, and anything it is
 * not sure of (or that is wrong) is left to jansson, which stays the
 * judge. So the set of bodies the ledger accepts is exactly the set it
 * accepted with jansson alone; the check only makes the common case
 * cheap. What it is sure of, by the rules of jansson's decoder:
 *  - one object at the top, then at most spaces and tabs; spaces and tabs
 *    are the only whitespace it passes, inside or out, so a body it passes
 *    holds no '\n' and no '\r' (which a record line must not hold);
 *  - strings of well-formed UTF-8 (no overlong forms, no surrogates,
 *    nothing above U+10FFFF), no byte below 0x20, escapes \" \\ \/ \b \f
 *    \n \r \t and \uXXXX outside U+0000 and the surrogates (\u0000 and
 *    surrogate pairs are left to jansson);
 *  - numbers of the JSON grammar without an exponent and with at most 18
 *    digits before the point and 40 in all, so that an integer fits
 *    jansson's long long and a real can neither overflow nor underflow
 *    strtod (those with more are left to jansson);
 *  - true, false, null; nesting at most 1,000 deep (jansson allows 2,048);
 *  - duplicate keys: accepted, as jansson does without
 *    JSON_REJECT_DUPLICATES.
 */
#include "base/base.h"
#include "base/jscan.h"
#include "ledger/ledger_int.h"


#define BODY_DEPTH_MAX 1000

struct scan {
	const unsigned char *p, *end;
};

static void skip_ws(struct scan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t'))
		s->p++;
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* A string, s->p at its opening quote. */
static bool scan_string(struct scan *s)
{
	const unsigned char *p = s->p + 1, *end = s->end;

	while (p < end) {
		unsigned c;

		/* Plain ASCII goes many bytes at a time, up to the first byte
		 * that needs a look (base/jscan.h). */
		p = jscan_skip_plain(p, end);
		if (p >= end)
			break;
		c = *p;

		if (c == '"') {
			s->p = p + 1;
			return true;
		}
		if (c < 0x20)
			return false;
		if (c == '\\') {
			if (end - p < 2)
				return false;
			switch (p[1]) {
			case '"':
			case '\\':
			case '/':
			case 'b':
			case 'f':
			case 'n':
			case 'r':
			case 't':
				p += 2;
				continue;
			case 'u': {
				unsigned cp = 0;

				if (end - p < 6)
					return false;
				for (int k = 2; k < 6; k++) {
					int h = hexval(p[k]);

					if (h < 0)
						return false;
					cp = cp << 4 | (unsigned)h;
				}
				if (cp == 0 || (cp >= 0xd800 && cp <= 0xdfff))
					return false;
				p += 6;
				continue;
			}
			default:
				return false;
			}
		}
		if (c < 0x80) {
			p++;
			continue;
		}
		/* Runs of the common two- and three-byte sequences in a tight
		 * loop (base/jscan.h); the rest the careful way below. */
		p = jscan_skip_utf8(p, end);
		if (p >= end || *p < 0x80)
			continue;
		c = *p;
		{
			unsigned need, cp;

			if (c >= 0xc2 && c <= 0xdf) {
				need = 1;
				cp = c & 0x1f;
			} else if (c >= 0xe0 && c <= 0xef) {
				need = 2;
				cp = c & 0x0f;
			} else if (c >= 0xf0 && c <= 0xf4) {
				need = 3;
				cp = c & 0x07;
			} else {
				return false;
			}
			if ((size_t)(end - p) <= need)
				return false;
			for (unsigned j = 1; j <= need; j++) {
				if ((p[j] & 0xc0) != 0x80)
					return false;
				cp = cp << 6 | (p[j] & 0x3fu);
			}
			if ((need == 2 && cp < 0x800) ||
			    (need == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
			    (cp >= 0xd800 && cp <= 0xdfff))
				return false;
			p += need + 1;
		}
	}
	return false;
}

/* A number: -? (0 | [1-9][0-9]*) (. [0-9]+)?, bounded as above. */
static bool scan_number(struct scan *s)
{
	const unsigned char *p = s->p, *end = s->end;
	unsigned ip = 0, all = 0;

	if (p < end && *p == '-')
		p++;
	if (p >= end || *p < '0' || *p > '9')
		return false;
	if (*p == '0') {
		p++;
		ip = all = 1;
	} else {
		while (p < end && *p >= '0' && *p <= '9') {
			p++;
			ip++;
		}
		all = ip;
	}
	if (ip > 18)
		return false;
	if (p < end && *p == '.') {
		p++;
		if (p >= end || *p < '0' || *p > '9')
			return false;
		while (p < end && *p >= '0' && *p <= '9') {
			p++;
			all++;
		}
	}
	if (all > 40)
		return false;
	/* An exponent, or a letter glued on: left to jansson. */
	if (p < end && (*p == 'e' || *p == 'E' || (*p >= '0' && *p <= '9') || *p == '.' ||
			(*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
		return false;
	s->p = p;
	return true;
}

static bool scan_word(struct scan *s, const char *w, size_t n)
{
	if ((size_t)(s->end - s->p) < n || memcmp(s->p, w, n) != 0)
		return false;
	s->p += n;
	/* "truex" is one bad token to jansson. */
	if (s->p < s->end && ((*s->p >= 'a' && *s->p <= 'z') || (*s->p >= 'A' && *s->p <= 'Z') ||
			      (*s->p >= '0' && *s->p <= '9') || *s->p == '_'))
		return false;
	return true;
}

/*
 * Values without recursion: stack[d] says whether container d is an
 * object ('{') or an array ('['). After a value, the container decides
 * what may follow.
 */
bool ledger_body_surely_valid(const char *body, size_t n)
{
	char stack[BODY_DEPTH_MAX];
	struct scan s = {(const unsigned char *)body, (const unsigned char *)body + n};
	size_t d = 0;

	if (body == NULL)
		return false;
	skip_ws(&s);
	if (s.p >= s.end || *s.p != '{')
		return false;
	s.p++;
	stack[d++] = '{';
	skip_ws(&s);
	if (s.p < s.end && *s.p == '}') {
		s.p++;
		d = 0;
		goto done;
	}
	for (;;) {
		/* In an object: a key and a colon first. */
		if (stack[d - 1] == '{') {
			if (s.p >= s.end || *s.p != '"' || !scan_string(&s))
				return false;
			skip_ws(&s);
			if (s.p >= s.end || *s.p != ':')
				return false;
			s.p++;
			skip_ws(&s);
		}
		/* A value. */
		if (s.p >= s.end)
			return false;
		switch (*s.p) {
		case '{':
		case '[':
			if (d == BODY_DEPTH_MAX)
				return false;
			stack[d++] = (char)*s.p;
			s.p++;
			skip_ws(&s);
			if (s.p < s.end && *s.p == (stack[d - 1] == '{' ? '}' : ']')) {
				s.p++;
				d--;
				break;
			}
			continue; /* the container's first member */
		case '"':
			if (!scan_string(&s))
				return false;
			break;
		case 't':
			if (!scan_word(&s, "true", 4))
				return false;
			break;
		case 'f':
			if (!scan_word(&s, "false", 5))
				return false;
			break;
		case 'n':
			if (!scan_word(&s, "null", 4))
				return false;
			break;
		default:
			if (!scan_number(&s))
				return false;
			break;
		}
		/* After a value: a comma, or the end of containers. */
		for (;;) {
			skip_ws(&s);
			if (s.p >= s.end)
				return false;
			if (*s.p == ',') {
				s.p++;
				skip_ws(&s);
				break;
			}
			if (*s.p != (stack[d - 1] == '{' ? '}' : ']'))
				return false;
			s.p++;
			if (--d == 0)
				goto done;
		}
	}
done:
	skip_ws(&s);
	return s.p == s.end;
}
