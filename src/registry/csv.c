/*
 * csv.c - the HR system's staff CSV (RFC 4180), turned into the same
 * records as staff.jsonl so that one validator and one upsert serve both.
 *
 * Accepted: UTF-8 with or without a BOM, CRLF or LF record ends, quoted
 * fields with "" for a quote and line breaks inside quotes. The header row
 * names the columns with staff.jsonl field names or their Japanese names
 * (職員番号, 氏名, ...). Cells are trimmed of surrounding ASCII spaces and
 * tabs; an empty cell is an absent field, except for the list columns
 * (roles, zones: items separated by ';') where it is an empty list.
 */
#include "base/base.h"
#include "base/buf.h"
#include "base/diag.h"
#include "base/i18n.h"
#include "registry/registry_int.h"

#define CSV_MAX_COLS 64

static const struct {
	const char *alias, *field;
} aliases[] = {
    {"職員番号", "id"},		{"氏名", "name"},	    {"姓", "surname"},
    {"所属", "dept"},		{"任用区分", "employment"}, {"役割", "roles"},
    {"ゾーン", "zones"},	{"開始日", "start"},	    {"終了日", "end"},
    {"研修受講日", "training"}, {"誓約日", "pledge"},
};

static const struct {
	const char *ja, *en;
} emp_ja[] = {
    {"正規職員", "regular"},	  {"会計年度任用職員", "fiscal_year"},	{"臨時職員", "temporary"},
    {"委託事業者", "contractor"}, {"委託事業者の従事者", "contractor"},
};

struct cell {
	const char *p; /* points into text, or into the unquote buffer */
	size_t n;
};

struct csv {
	const char *text;
	size_t len, pos;
	long line;	    /* physical line of pos */
	struct buf scratch; /* unquoted field bytes of the current record */
	size_t offs[CSV_MAX_COLS], lens[CSV_MAX_COLS];
	size_t ncells;
};

static void trim(const char **p, size_t *n)
{
	while (*n && (**p == ' ' || **p == '\t'))
		(*p)++, (*n)--;
	while (*n && ((*p)[*n - 1] == ' ' || (*p)[*n - 1] == '\t'))
		(*n)--;
}

/*
 * Read one record into c->offs/lens (offsets into c->scratch). Returns 1
 * for a record, 0 at the end, ERR_INVALID after a diagnostic.
 */
static int csv_record(struct csv *c, const char *file, struct diag *d)
{
	long start_line = c->line;
	int r;

	if (c->pos >= c->len)
		return 0;
	buf_reset(&c->scratch);
	c->ncells = 0;
	for (;;) {
		size_t off = c->scratch.len;
		if (c->ncells >= CSV_MAX_COLS) {
			diag_error(d, file, start_line, 0, NULL,
				   T("列が多すぎます（最大 %d）", "too many columns (at most %d)"),
				   CSV_MAX_COLS);
			return ERR_INVALID;
		}
		if (c->pos < c->len && c->text[c->pos] == '"') {
			c->pos++;
			for (;;) {
				if (c->pos >= c->len) {
					diag_error(d, file, start_line, 0, NULL, "%s",
						   T("引用符が閉じられていません",
						     "unterminated quoted field"));
					return ERR_INVALID;
				}
				char ch = c->text[c->pos++];
				if (ch == '"') {
					if (c->pos < c->len && c->text[c->pos] == '"') {
						c->pos++;
					} else {
						break;
					}
				} else if (ch == '\n') {
					c->line++;
				}
				if ((r = buf_putc(&c->scratch, ch)) < 0)
					return r;
			}
			if (c->pos < c->len && c->text[c->pos] != ',' && c->text[c->pos] != '\n' &&
			    !(c->text[c->pos] == '\r' && c->pos + 1 < c->len &&
			      c->text[c->pos + 1] == '\n') &&
			    c->text[c->pos] != '\r') {
				diag_error(d, file, c->line, 0, NULL, "%s",
					   T("閉じ引用符の後に文字があります",
					     "characters after a closing quote"));
				return ERR_INVALID;
			}
		} else {
			size_t b = c->pos;
			while (c->pos < c->len && c->text[c->pos] != ',' &&
			       c->text[c->pos] != '\n' && c->text[c->pos] != '\r') {
				if (c->text[c->pos] == '"') {
					diag_error(
					    d, file, c->line, 0, NULL, "%s",
					    T("引用符で囲まれていないフィールドに引用符があります",
					      "quote inside an unquoted field"));
					return ERR_INVALID;
				}
				c->pos++;
			}
			if ((r = buf_append(&c->scratch, c->text + b, c->pos - b)) < 0)
				return r;
		}
		c->offs[c->ncells] = off;
		c->lens[c->ncells] = c->scratch.len - off;
		c->ncells++;
		if (c->pos >= c->len)
			break;
		if (c->text[c->pos] == ',') {
			c->pos++;
			continue;
		}
		if (c->text[c->pos] == '\r')
			c->pos++;
		if (c->pos < c->len && c->text[c->pos] == '\n')
			c->pos++;
		c->line++;
		break;
	}
	return 1;
}

static struct cell csv_cell(struct csv *c, size_t i)
{
	struct cell x = {c->scratch.data ? c->scratch.data + c->offs[i] : "", c->lens[i]};
	trim(&x.p, &x.n);
	return x;
}

/* Copy into the record's scratch area, NUL-terminated. reg_rec_reset
 * reserved room for every cell and list item of the record. */
static const char *rec_str(struct reg_rec *rec, const char *p, size_t n)
{
	char *w = rec->scratch + rec->sused;
	memcpy(w, p, n);
	w[n] = '\0';
	rec->sused += n + 1;
	return w;
}

static void list_value(struct reg_rec *rec, struct reg_val *v, struct cell x)
{
	size_t i = 0;
	v->type = J_ARRAY;
	v->first = (uint32_t)rec->nitems;
	while (i <= x.n) {
		size_t j = i;
		while (j < x.n && x.p[j] != ';')
			j++;
		const char *ip = x.p + i;
		size_t in = j - i;
		trim(&ip, &in);
		if (in)
			reg_rec_push_item(rec, rec_str(rec, ip, in), in, J_STRING);
		i = j + 1;
	}
	v->count = (uint32_t)(rec->nitems - v->first);
}

int reg_csv_parse(const char *text, size_t len, const char *file, struct diag *d, reg_csv_fn fn,
		  void *ctx)
{
	struct csv c = {text, len, 0, 1};
	const char *cols[CSV_MAX_COLS];
	size_t ncols, bad;
	int fidx[CSV_MAX_COLS];
	struct reg_rec rec;
	int r;

	buf_init(&c.scratch, REG_LINE_MAX);
	reg_rec_init(&rec);
	if (len >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3))
		c.pos = 3;
	if (!reg_utf8_valid(text, len, &bad)) {
		long line = 1;
		for (size_t i = 0; i < bad; i++)
			line += text[i] == '\n';
		diag_error(d, file, line, 0, NULL, "%s",
			   T("UTF-8 として不正なバイトがあります", "invalid UTF-8"));
		r = ERR_INVALID;
		goto out;
	}
	if ((r = csv_record(&c, file, d)) <= 0) {
		if (r == 0) {
			diag_error(d, file, 1, 0, NULL, "%s",
				   T("見出し行がありません", "no header row"));
			r = ERR_INVALID;
		}
		goto out;
	}
	ncols = c.ncells;
	for (size_t i = 0; i < ncols; i++) {
		struct cell h = csv_cell(&c, i);
		char name[128];
		snprintf(name, sizeof(name), "%.*s", (int)(h.n < 127 ? h.n : 127), h.p);
		cols[i] = NULL;
		for (size_t a = 0; a < ARRAY_SIZE(aliases); a++)
			if (!strcmp(name, aliases[a].alias))
				cols[i] = aliases[a].field;
		if (!cols[i] && reg_field_index(K_STAFF, name) >= 0)
			cols[i] = reg_kinds[K_STAFF].fields[reg_field_index(K_STAFF, name)].name;
		fidx[i] = cols[i] ? reg_field_index(K_STAFF, cols[i]) : -1;
		if (!cols[i]) {
			diag_warn(d, file, 1, 0, NULL,
				  T("不明な列 '%s' を無視します", "unknown column '%s' ignored"),
				  name);
			continue;
		}
		for (size_t j = 0; j < i; j++)
			if (cols[j] && !strcmp(cols[j], cols[i])) {
				diag_error(d, file, 1, 0, cols[i], "%s",
					   T("列が重複しています", "duplicate column"));
				r = ERR_INVALID;
			}
	}
	for (size_t f = 0; f < reg_kinds[K_STAFF].nfields; f++) {
		const struct reg_field *rf = &reg_kinds[K_STAFF].fields[f];
		bool have = false;
		for (size_t i = 0; i < ncols; i++)
			have |= cols[i] && !strcmp(cols[i], rf->name);
		if (rf->required && !have) {
			diag_error(d, file, 1, 0, rf->name, "%s",
				   T("必須の列がありません", "required column is missing"));
			r = ERR_INVALID;
		}
	}
	if (r < 0)
		goto out;
	for (;;) {
		long line = c.line;
		if ((r = csv_record(&c, file, d)) < 0)
			goto out;
		if (r == 0)
			break;
		if (c.ncells == 1 && csv_cell(&c, 0).n == 0)
			continue; /* a blank line */
		if (c.ncells != ncols) {
			diag_error(
			    d, file, line, 0, NULL,
			    T("列の数が %zu ではなく %zu です", "expected %zu fields, got %zu"),
			    ncols, c.ncells);
			continue;
		}
		/* Each cell, and each list item, fits its copy plus a NUL. */
		reg_rec_reset(&rec, 2 * c.scratch.len + 2 * ncols + 16);
		for (size_t i = 0; i < ncols; i++) {
			struct cell x = csv_cell(&c, i);
			struct reg_val *v;
			if (fidx[i] < 0)
				continue;
			v = &rec.f[fidx[i]];
			if (!strcmp(cols[i], "roles") || !strcmp(cols[i], "zones")) {
				list_value(&rec, v, x);
				continue;
			}
			if (x.n == 0)
				continue;
			if (!strcmp(cols[i], "employment"))
				for (size_t e = 0; e < ARRAY_SIZE(emp_ja); e++)
					if (strlen(emp_ja[e].ja) == x.n &&
					    !memcmp(emp_ja[e].ja, x.p, x.n)) {
						x.p = emp_ja[e].en;
						x.n = strlen(x.p);
						break;
					}
			v->type = J_STRING;
			v->s = rec_str(&rec, x.p, x.n);
			v->n = x.n;
		}
		if ((r = fn(&rec, line, ctx)) < 0)
			goto out;
	}
	r = 0;
out:
	reg_rec_release(&rec);
	buf_release(&c.scratch);
	return r;
}
