/*
 * registry.c - the FORMATS.md record schemas and the validation of one
 * record: types, ids, enums, dates, timestamps, required fields and the
 * order of start/end. Cross-record checks (duplicates, references) are the
 * importer's (import.c).
 */
#include "base/base.h"
#include "base/diag.h"
#include "base/i18n.h"
#include "base/timeutil.h"
#include "registry/registry.h"
#include "registry/registry_int.h"

static const char *const zones[] = {"mynumber", "lgwan", "internet", NULL};
static const char *const ntk[] = {"monitor", "enforce", NULL};
static const char *const emps[] = {"regular", "fiscal_year", "temporary", "contractor", NULL};
static const char *const actions[] = {"search", "view", "update", "print", "export", NULL};
static const char *const results[] = {"ok", "denied", NULL};

static const struct reg_field f_systems[] = {
    {"id", "id", F_ID, true, NULL},
    {"name", "name", F_STR, true, NULL},
    {"zone", "zone", F_ENUM, true, zones},
    {"confidentiality", "confidentiality", F_STR, true, NULL},
    {"integrity", "integrity", F_STR, false, NULL},
    {"availability", "availability", F_STR, false, NULL},
    {"need_to_know", "need_to_know", F_ENUM, false, ntk},
};
static const struct reg_field f_departments[] = {
    {"id", "id", F_ID, true, NULL},
    {"name", "name", F_STR, true, NULL},
    {"parent", "parent", F_ID, false, NULL},
    {"systems", "systems", F_IDLIST, true, NULL},
};
static const struct reg_field f_staff[] = {
    {"id", "id", F_ID, true, NULL},
    {"name", "name", F_STR, true, NULL},
    {"surname", "surname", F_STR, true, NULL},
    {"dept", "dept", F_ID, true, NULL},
    {"employment", "employment", F_ENUM, true, emps},
    {"roles", "roles", F_IDLIST, true, NULL},
    {"zones", "zones", F_ENUMLIST, true, zones},
    {"start", "start_date", F_DATE, true, NULL},
    {"end", "end_date", F_DATE, false, NULL},
    {"training", "training", F_DATE, false, NULL},
    {"pledge", "pledge", F_DATE, false, NULL},
    {"address_id", "address_id", F_ID, false, NULL},
    {"household_id", "household_id", F_ID, false, NULL},
    {"contractor", "contractor", F_ID, false, NULL},
};
static const struct reg_field f_residents[] = {
    {"id", "id", F_ID, true, NULL},
    {"surname", "surname", F_STR, true, NULL},
    {"given", "given", F_STR, true, NULL},
    {"birth", "birth", F_DATE, true, NULL},
    {"address_id", "address_id", F_ID, true, NULL},
    {"household_id", "household_id", F_ID, true, NULL},
    {"flags", "flags", F_IDLIST, true, NULL},
};
static const struct reg_field f_cases[] = {
    {"id", "id", F_ID, true, NULL},
    {"resident_id", "resident_id", F_ID, true, NULL},
    {"dept", "dept", F_ID, true, NULL},
    {"kind", "kind", F_STR, true, NULL},
    {"assigned_to", "assigned_to", F_ID, false, NULL},
    {"opened", "opened", F_TS, true, NULL},
    {"closed", "closed", F_TS, false, NULL},
};
static const struct reg_field f_overtime[] = {
    {"staff_id", "staff_id", F_ID, true, NULL},
    {"start", "start_ts", F_TS, true, NULL},
    {"end", "end_ts", F_TS, true, NULL},
};
static const struct reg_field f_access[] = {
    {"ts", NULL, F_TS, true, NULL},	      {"staff_id", NULL, F_ID, true, NULL},
    {"resident_id", NULL, F_ID, false, NULL}, {"system", NULL, F_ID, true, NULL},
    {"action", NULL, F_ENUM, true, actions},  {"zone", NULL, F_ENUM, true, zones},
    {"terminal", NULL, F_ID, false, NULL},    {"case_id", NULL, F_ID, false, NULL},
    {"query", NULL, F_STR, false, NULL},      {"result", NULL, F_ENUM, false, results},
    {"ref", NULL, F_STR, false, NULL},
};

#define KIND(n, t, f, keys)                                                                        \
	{                                                                                          \
		n, n ".jsonl", t, f, ARRAY_SIZE(f), keys                                           \
	}
const struct reg_kind_def reg_kinds[K__COUNT] = {
    KIND("systems", "systems", f_systems, 1), KIND("departments", "departments", f_departments, 1),
    KIND("staff", "staff", f_staff, 1),	      KIND("residents", "residents", f_residents, 1),
    KIND("cases", "cases", f_cases, 1),	      KIND("overtime", "overtime", f_overtime, 2),
    KIND("access", NULL, f_access, 0),
};
#undef KIND

_Static_assert(ARRAY_SIZE(f_staff) <= REG_MAX_FIELDS, "REG_MAX_FIELDS too small");
_Static_assert(ARRAY_SIZE(f_access) <= REG_MAX_FIELDS, "REG_MAX_FIELDS too small");

const char *employment_name(enum employment e)
{
	if ((unsigned)e >= EMP__COUNT)
		return NULL;
	return emps[e];
}

int employment_parse(const char *s, enum employment *out)
{
	for (int i = 0; i < EMP__COUNT; i++)
		if (!strcmp(s, emps[i])) {
			*out = (enum employment)i;
			return 0;
		}
	return ERR_INVALID;
}

int reg_field_index(enum reg_kind k, const char *name)
{
	const struct reg_kind_def *kd = &reg_kinds[k];
	/* Called for every key of every line: the first byte rules out most
	 * names before the full comparison. */
	for (size_t i = 0; i < kd->nfields; i++)
		if (kd->fields[i].name[0] == name[0] && !strcmp(kd->fields[i].name, name))
			return (int)i;
	return -1;
}

void reg_warned_release(struct reg_warned *w)
{
	for (size_t i = 0; i < w->n; i++)
		free(w->names[i]);
	free(w->names);
	memset(w, 0, sizeof(*w));
}

/* True the first time a name is seen (then it is remembered). */
static bool warned_first(struct reg_warned *w, const char *name)
{
	if (!w)
		return true;
	for (size_t i = 0; i < w->n; i++)
		if (!strcmp(w->names[i], name))
			return false;
	/* A hostile file could carry millions of distinct names: past a
	 * bound, stop remembering and stop warning. */
	if (w->n >= 1000 || ARRAY_GROW(w->names, w->cap, w->n + 1) < 0)
		return false;
	w->names[w->n++] = xstrdup(name);
	return true;
}

bool reg_utf8_valid(const char *str, size_t n, size_t *bad)
{
	return utf8_valid(str, n, bad);
}

bool reg_id_valid(const char *s, size_t n)
{
	if (n < 1 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] <= 0x20 || s[i] >= 0x7f)
			return false;
	return true;
}

/* How many bytes of s to quote in a message: at most 64, cut on a UTF-8
 * character boundary so the message stays valid text. */
static int quote_len(const char *s, size_t n)
{
	size_t q = n > 64 ? 64 : n;
	while (q > 0 && q < n && ((unsigned char)s[q] & 0xc0) == 0x80)
		q--;
	return (int)q;
}

static const char *type_word(enum jtype t)
{
	switch (t) {
	case J_OBJECT:
		return T("オブジェクト", "an object");
	case J_ARRAY:
		return T("配列", "an array");
	case J_STRING:
		return T("文字列", "a string");
	case J_NUMBER:
		return T("数値", "a number");
	case J_BOOL:
		return T("真偽値", "a boolean");
	default:
		return "null";
	}
}

static void enum_list(const char *const *e, char *out, size_t cap)
{
	size_t used = 0;
	out[0] = '\0';
	for (size_t i = 0; e[i] && used < cap; i++) {
		int w = snprintf(out + used, cap - used, "%s%s", i ? ", " : "", e[i]);
		if (w < 0)
			break;
		used += (size_t)w;
	}
}

static bool enum_ok(const char *const *e, const char *s)
{
	for (size_t i = 0; e[i]; i++)
		if (!strcmp(e[i], s))
			return true;
	return false;
}

/*
 * Check one scalar string value s[0..n) of type t. item is 0 for a field,
 * else the 1-based list position used in the message.
 */
static bool check_scalar(const struct reg_field *f, enum ftype t, const char *s, size_t n,
			 size_t item, const char *file, long line, struct diag *d, int64_t *parsed)
{
	char prefix[64] = "";
	char list[200];
	int32_t day;
	int64_t secs;

	if (item)
		snprintf(prefix, sizeof(prefix), T("%zu 番目の要素: ", "item %zu: "), item);
	switch (t) {
	case F_STR:
		return true;
	case F_ID:
		if (reg_id_valid(s, n))
			return true;
		diag_error(
		    d, file, line, 0, f->name,
		    T("%sID として不正です（空白を含まない印字可能な ASCII 1〜64 文字）: '%.*s'",
		      "%snot a valid id (1-64 printable ASCII characters, no spaces): '%.*s'"),
		    prefix, quote_len(s, n), s);
		return false;
	case F_ENUM:
		if (strlen(s) == n && enum_ok(f->enums, s))
			return true;
		enum_list(f->enums, list, sizeof(list));
		diag_error(
		    d, file, line, 0, f->name,
		    T("%s'%.*s' は使えません（%s のいずれか）", "%s'%.*s' is not one of: %s"),
		    prefix, quote_len(s, n), s, list);
		return false;
	case F_DATE:
		if (n == 10 && date_parse(s, n, &day) == 0) {
			*parsed = day;
			return true;
		}
		diag_error(d, file, line, 0, f->name,
			   T("%s日付（YYYY-MM-DD）ではありません: '%.*s'",
			     "%snot a date (YYYY-MM-DD): '%.*s'"),
			   prefix, quote_len(s, n), s);
		return false;
	case F_TS:
		if (ts_parse(s, n, &secs, NULL) == 0) {
			*parsed = secs;
			return true;
		}
		diag_error(d, file, line, 0, f->name,
			   T("%sオフセット付きの RFC 3339 日時ではありません: '%.*s'",
			     "%snot an RFC 3339 timestamp with offset: '%.*s'"),
			   prefix, quote_len(s, n), s);
		return false;
	default:
		BUG("list type in check_scalar");
	}
}

static bool check_field(const struct reg_field *f, struct reg_rec *rec, size_t i, const char *file,
			long line, struct diag *d)
{
	struct reg_val *v = &rec->f[i];
	bool ok = true;

	if (f->type == F_IDLIST || f->type == F_ENUMLIST) {
		enum ftype it = f->type == F_IDLIST ? F_ID : F_ENUM;
		if (v->type != J_ARRAY) {
			diag_error(d, file, line, 0, f->name,
				   T("文字列の配列ではありません（%s）",
				     "expected an array of strings, got %s"),
				   type_word(v->type));
			return false;
		}
		for (uint32_t k = 0; k < v->count; k++) {
			const struct reg_item *e = &rec->items[v->first + k];
			int64_t dummy;
			if (e->type != J_STRING) {
				diag_error(d, file, line, 0, f->name,
					   T("%u 番目の要素が文字列ではありません（%s）",
					     "item %u: expected a string, got %s"),
					   k + 1, type_word((enum jtype)e->type));
				ok = false;
				continue;
			}
			if (!check_scalar(f, it, e->s, e->n, k + 1, file, line, d, &dummy))
				ok = false;
		}
		return ok;
	}
	if (v->type != J_STRING) {
		diag_error(d, file, line, 0, f->name,
			   T("文字列ではありません（%s）", "expected a string, got %s"),
			   type_word(v->type));
		return false;
	}
	return check_scalar(f, f->type, v->s, v->n, 0, file, line, d, &rec->t[i]);
}

/* end >= start and closed >= opened, on the fields that are present. */
static bool check_order(enum reg_kind k, const char *file, long line, struct diag *d,
			const struct reg_rec *row)
{
	int a = -1, b = -1;
	const char *an, *bn;

	if (k == K_STAFF) {
		a = reg_field_index(k, "start"), b = reg_field_index(k, "end");
	} else if (k == K_OVERTIME) {
		a = reg_field_index(k, "start"), b = reg_field_index(k, "end");
	} else if (k == K_CASES) {
		a = reg_field_index(k, "opened"), b = reg_field_index(k, "closed");
	}
	if (a < 0 || row->f[a].type != J_STRING || row->f[b].type != J_STRING)
		return true;
	if (row->t[b] >= row->t[a])
		return true;
	an = reg_kinds[k].fields[a].name;
	bn = reg_kinds[k].fields[b].name;
	diag_error(d, file, line, 0, bn,
		   T("'%s'（%s）が '%s'（%s）より前です", "'%s' (%s) is before '%s' (%s)"), bn,
		   row->f[b].s, an, row->f[a].s);
	return false;
}

bool reg_validate_rec(enum reg_kind k, struct reg_rec *rec, const char *file, long line,
		      struct reg_warned *w, struct diag *d)
{
	const struct reg_kind_def *kd = &reg_kinds[k];
	bool ok = true;

	for (size_t i = 0; i < rec->nunknown; i++)
		if (warned_first(w, rec->unknown[i])) {
			const char *key = rec->unknown[i];
			diag_warn(d, file, line, 0, NULL,
				  T("不明なフィールド '%.*s' "
				    "を無視します（このファイルでは以後警告しません）",
				    "unknown field '%.*s' ignored (not repeated for this file)"),
				  quote_len(key, strlen(key)), key);
		}
	for (size_t i = 0; i < kd->nfields; i++) {
		enum jtype t = rec->f[i].type;
		if (t == J_ABSENT || t == J_NULL) {
			/* null and absent mean the same. */
			rec->f[i].type = J_ABSENT;
			if (kd->fields[i].required) {
				diag_error(
				    d, file, line, 0, kd->fields[i].name, "%s",
				    T("必須フィールドがありません", "required field is missing"));
				ok = false;
			}
			continue;
		}
		if (!check_field(&kd->fields[i], rec, i, file, line, d)) {
			rec->bad |= 1u << i;
			ok = false;
		}
	}
	if (ok && !check_order(k, file, line, d, rec))
		ok = false;
	return ok;
}

int registry_check_line(const char *kind, const char *line, size_t len, struct diag *d)
{
	struct reg_rec rec;
	int k;
	bool ok;

	for (k = 0; k < K__COUNT; k++)
		if (!strcmp(reg_kinds[k].name, kind))
			break;
	if (k == K__COUNT)
		return ERR_INVALID;
	if (len > REG_LINE_MAX) {
		diag_error(d, reg_kinds[k].file, 1, 0, NULL,
			   T("行が長すぎます（%zu バイト超）", "line too long (over %zu bytes)"),
			   REG_LINE_MAX);
		return ERR_INVALID;
	}
	reg_rec_init(&rec);
	ok = reg_parse_rec((enum reg_kind)k, line, len, reg_kinds[k].file, 1, d, &rec) &&
	     reg_validate_rec((enum reg_kind)k, &rec, reg_kinds[k].file, 1, NULL, d);
	reg_rec_release(&rec);
	return ok ? 0 : ERR_INVALID;
}
