/*
 * isms_csv.c - CSV export and all-or-nothing CSV import of ISMS records
 * (isms.h). CSV is RFC 4180: fields separated by ',', records by CRLF
 * (a bare LF is accepted on input), fields holding ',', '"', CR or LF
 * quoted with '"' and inner quotes doubled. A UTF-8 byte order mark at
 * the start (as spreadsheet programs write it) is skipped.
 */
#include "base/base.h"

#include "base/buf.h"
#include "base/diag.h"
#include "base/i18n.h"
#include "isms/isms.h"
#include "isms/isms_int.h"
#include "store/store.h"

/* ---- export ---- */

/*
 * One cell. A text that a spreadsheet would run as a formula (starting
 * with =, +, -, @, a tab or a CR) is written with a leading apostrophe,
 * the spreadsheets' own mark for "this is text", so that opening an
 * export cannot run what someone typed into a record; so is a text that
 * starts with an apostrophe, and the import takes one leading apostrophe
 * off every cell, so the round trip loses nothing.
 */
static int put_cell(struct buf *out, const char *s, size_t n, bool text)
{
	bool guard = text && n > 0 && strchr("=+-@\t\r'", s[0]);
	bool quote = n > 0 && (s[0] == ' ' || s[n - 1] == ' ');
	int r;

	for (size_t i = 0; i < n && !quote; i++)
		if (s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n')
			quote = true;
	if (!quote)
		return (guard && (r = buf_putc(out, '\'')) < 0) ? r : buf_append(out, s, n);
	if ((r = buf_putc(out, '"')) < 0 || (guard && (r = buf_putc(out, '\'')) < 0))
		return r;
	for (size_t i = 0; i < n; i++)
		if ((s[i] == '"' && (r = buf_putc(out, '"')) < 0) || (r = buf_putc(out, s[i])) < 0)
			return r;
	return buf_putc(out, '"');
}

/* One value in its CSV text form. */
static int put_value(struct buf *out, const json_t *v)
{
	char tmp[32];
	struct buf joined;
	size_t i;
	json_t *it;
	int r = 0;

	if (!v || json_is_null(v))
		return 0;
	if (json_is_string(v))
		return put_cell(out, json_string_value(v), json_string_length(v), true);
	if (json_is_integer(v)) {
		snprintf(tmp, sizeof(tmp), "%" PRId64, (int64_t)json_integer_value(v));
		return buf_puts(out, tmp);
	}
	if (json_is_boolean(v))
		return buf_puts(out, json_is_true(v) ? "true" : "false");
	if (!json_is_array(v))
		return ERR_CORRUPT;
	buf_init(&joined, out->max);
	json_array_foreach(v, i, it)
	{
		if (!json_is_string(it))
			continue;
		if ((i && (r = buf_putc(&joined, ';')) < 0) ||
		    (r = buf_append(&joined, json_string_value(it), json_string_length(it))) < 0)
			goto out;
	}
	r = put_cell(out, joined.data ? joined.data : "", joined.len, true);
out:
	buf_release(&joined);
	return r;
}

int isms_export_csv(struct isms_ctx *c, const struct isms_kind *k, const struct isms_query *q,
		    struct buf *out)
{
	struct isms_row *rows = NULL;
	size_t n = 0;
	bool status = q && q->include_retired;
	int r;

	if ((r = isms_select(c, k, q, &rows, &n)) < 0)
		return r;
	if ((r = buf_puts(out, "id")) < 0)
		goto out;
	for (size_t i = 0; i < k->nfields; i++)
		if ((r = buf_putc(out, ',')) < 0 || (r = buf_puts(out, k->fields[i].name)) < 0)
			goto out;
	if (status && (r = buf_puts(out, ",_status")) < 0)
		goto out;
	if ((r = buf_puts(out, "\r\n")) < 0)
		goto out;
	for (size_t j = 0; j < n; j++) {
		if ((r = buf_puts(out, rows[j].id)) < 0)
			goto out;
		for (size_t i = 0; i < k->nfields; i++)
			if ((r = buf_putc(out, ',')) < 0 ||
			    (r = put_value(out, json_object_get(rows[j].data, k->fields[i].name))) <
				0)
				goto out;
		if (status && (r = buf_puts(out, rows[j].retired ? ",retired" : ",active")) < 0)
			goto out;
		if ((r = buf_puts(out, "\r\n")) < 0)
			goto out;
	}
	r = 0;
out:
	isms_rows_free(rows, n);
	return r;
}

/* ---- parsing ---- */

struct csv_rec {
	long line;
	char **cells;
	size_t *lens;
	size_t n, cap;
};

static void csv_rec_clear(struct csv_rec *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->cells[i]);
	r->n = 0;
}

static void csv_rec_release(struct csv_rec *r)
{
	csv_rec_clear(r);
	free(r->cells);
	free(r->lens);
	memset(r, 0, sizeof(*r));
}

static int csv_push(struct csv_rec *r, struct buf *cell)
{
	size_t cap = r->cap;
	int e;

	if ((e = ARRAY_GROW(r->cells, r->cap, r->n + 1)) < 0)
		return e;
	if (cap != r->cap)
		r->lens = xrealloc(r->lens, r->cap * sizeof(*r->lens));
	r->cells[r->n] = xstrndup(cell->data ? cell->data : "", cell->len);
	r->lens[r->n] = cell->len;
	r->n++;
	buf_reset(cell);
	return 0;
}

/*
 * Read the record starting at *pos into rec (its first line in rec->line,
 * *line advanced past it). Returns 1 for a record, 0 at the end, or
 * ERR_INVALID with the problem in d (the rest of the file is not read: a
 * broken quote makes every later line doubtful).
 */
static int csv_next(const char *p, size_t len, size_t *pos, long *line, const char *fname,
		    struct csv_rec *rec, struct diag *d)
{
	struct buf cell;
	size_t i = *pos;
	bool quoted = false, after_quote = false;
	int r;

	csv_rec_clear(rec);
	if (i >= len)
		return 0;
	buf_init(&cell, ISMS_CSV_MAX);
	rec->line = *line;
	for (;;) {
		if (i >= len) {
			if (quoted) {
				diag_error(
				    d, fname, rec->line, 0, NULL,
				    T("引用符が閉じられていません", "unterminated quoted field"));
				r = ERR_INVALID;
				goto out;
			}
			if ((r = csv_push(rec, &cell)) < 0)
				goto out;
			break;
		}
		char ch = p[i];
		if (quoted) {
			if (ch == '"') {
				if (i + 1 < len && p[i + 1] == '"') {
					if ((r = buf_putc(&cell, '"')) < 0)
						goto out;
					i += 2;
					continue;
				}
				quoted = false;
				after_quote = true;
				i++;
				continue;
			}
			if (ch == '\n')
				(*line)++;
			if ((r = buf_putc(&cell, ch)) < 0)
				goto out;
			i++;
			continue;
		}
		if (ch == ',') {
			if ((r = csv_push(rec, &cell)) < 0)
				goto out;
			after_quote = false;
			i++;
			continue;
		}
		if (ch == '\n' || (ch == '\r' && i + 1 < len && p[i + 1] == '\n')) {
			i += ch == '\r' ? 2 : 1;
			(*line)++;
			if ((r = csv_push(rec, &cell)) < 0)
				goto out;
			break;
		}
		if (after_quote) {
			diag_error(
			    d, fname, *line, 0, NULL,
			    T("閉じ引用符の後に文字があります", "text after a closing quote"));
			r = ERR_INVALID;
			goto out;
		}
		if (ch == '"') {
			if (cell.len > 0) {
				diag_error(d, fname, *line, 0, NULL,
					   T("引用されていない項目の中に引用符があります",
					     "a quote inside an unquoted field"));
				r = ERR_INVALID;
				goto out;
			}
			quoted = true;
			i++;
			continue;
		}
		if ((r = buf_putc(&cell, ch)) < 0)
			goto out;
		i++;
	}
	*pos = i;
	r = 1;
out:
	buf_release(&cell);
	return r;
}

static bool rec_blank(const struct csv_rec *rec)
{
	return rec->n == 1 && rec->lens[0] == 0;
}

/* ASCII case-insensitive equality of s[0..n) and the lower-case word w. */
static bool word_eq(const char *s, size_t n, const char *w)
{
	if (strlen(w) != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (ch >= 'A' && ch <= 'Z')
			ch = (char)(ch - 'A' + 'a');
		if (ch != w[i])
			return false;
	}
	return true;
}

/* The JSON value of one cell for field f; NULL (with an error in d) if
 * it cannot be one. An empty cell is JSON null (unset). */
static json_t *cell_value(const struct isms_field *f, const char *s, size_t n, struct diag *d,
			  const struct isms_where *w)
{
	json_t *v;

	/* One leading apostrophe is the spreadsheets' text mark (see put_cell). */
	if (n > 0 && s[0] == '\'') {
		s++;
		n--;
	}
	if (n == 0)
		return json_null();
	switch (f->type) {
	case ISMS_INT: {
		int64_t x;
		if (parse_i64(s, n, INT64_MIN, INT64_MAX, &x) < 0)
			break;
		return json_integer(x);
	}
	case ISMS_BOOL:
		if (word_eq(s, n, "true") || word_eq(s, n, "yes") || word_eq(s, n, "1"))
			return json_true();
		if (word_eq(s, n, "false") || word_eq(s, n, "no") || word_eq(s, n, "0"))
			return json_false();
		diag_error(d, w->file, w->line, 0, f->name,
			   T("true か false ではありません", "not true or false"));
		return NULL;
	case ISMS_STRLIST: {
		json_t *arr = json_array();
		size_t a = 0;
		while (arr && a <= n) {
			size_t b = a;
			while (b < n && s[b] != ';')
				b++;
			size_t x = a, y = b;
			while (x < y && s[x] == ' ')
				x++;
			while (y > x && s[y - 1] == ' ')
				y--;
			if (y > x) {
				json_t *it = json_stringn(s + x, y - x);
				if (!it) {
					json_decref(arr);
					diag_error(
					    d, w->file, w->line, 0, f->name,
					    T("UTF-8 として正しくありません", "not valid UTF-8"));
					return NULL;
				}
				json_array_append_new(arr, it);
			}
			a = b + 1;
		}
		return arr;
	}
	default:
		if (!(v = json_stringn(s, n))) {
			diag_error(d, w->file, w->line, 0, f->name,
				   T("UTF-8 として正しくありません", "not valid UTF-8"));
			return NULL;
		}
		return v;
	}
	diag_error(d, w->file, w->line, 0, f->name, T("整数ではありません", "not an integer"));
	return NULL;
}

/* One row to write, once every row has passed. */
struct import_step {
	struct isms_row old; /* id "" when creating */
	bool update;
	json_t *rec;
};

int isms_import_csv(struct isms_ctx *c, const struct isms_kind *k, const char *data, size_t len,
		    const char *fname, struct diag *d, size_t *count)
{
	struct csv_rec rec = {0};
	const struct isms_field **cols = NULL; /* NULL for id and ignored columns */
	size_t ncols = 0, id_col = SIZE_MAX, pos = 0, nsteps = 0, capsteps = 0;
	struct import_step *steps = NULL;
	bool own = false, forbidden = false, savepoint = false;
	size_t errors0 = d->errors;
	long line = 1;
	int r;

	*count = 0;
	if (!fname)
		fname = "import.csv";
	if (!isms_may_write_kind(c, k)) {
		diag_error(d, fname, 0, 0, NULL,
			   T("役割 %s は %s を変更できません", "role %s may not change %s"),
			   role_name(c->actor->role), k->name);
		return ERR_FORBIDDEN;
	}
	if (len > ISMS_CSV_MAX)
		return ERR_TOO_LARGE;
	if (len >= 3 && !memcmp(data, "\xef\xbb\xbf", 3))
		pos = 3;
	if ((r = isms_tx_enter(c, &own)) < 0)
		return r;

	/* The header names the columns. */
	if ((r = csv_next(data, len, &pos, &line, fname, &rec, d)) < 0)
		goto out;
	if (r == 0) {
		diag_error(d, fname, 1, 0, NULL, T("見出し行がありません", "no header row"));
		r = ERR_INVALID;
		goto out;
	}
	ncols = rec.n;
	cols = xcalloc(ncols, sizeof(*cols));
	for (size_t i = 0; i < ncols; i++) {
		const char *name = rec.cells[i];
		if (!strcmp(name, "id")) {
			if (id_col != SIZE_MAX)
				diag_error(d, fname, rec.line, 0, "id",
					   T("列が重複しています", "duplicate column"));
			id_col = i;
			continue;
		}
		if (name[0] == '_')
			continue;
		if (!(cols[i] = isms_field_find(k, name))) {
			diag_error(d, fname, rec.line, 0, name,
				   T("%s にこの列はありません", "no such column in %s"), k->name);
			continue;
		}
		for (size_t j = 0; j < i; j++)
			if (cols[j] == cols[i])
				diag_error(d, fname, rec.line, 0, name,
					   T("列が重複しています", "duplicate column"));
	}
	if (d->errors > errors0) {
		r = ERR_INVALID;
		goto out;
	}

	/* Every row is checked before anything is written. Each row that
	 * passes is written provisionally (its row only) inside a savepoint,
	 * so that the checks of later rows see it (a second CISO in the same
	 * file is refused); the savepoint is rolled back before the real
	 * writes, which then give the same ids in the same order. */
	if ((r = store_exec(c->st, "SAVEPOINT isms_import")) < 0)
		goto out;
	savepoint = true;
	for (;;) {
		struct isms_where w;
		struct import_step st = {0};
		json_t *patch;
		bool bad = false;
		if ((r = csv_next(data, len, &pos, &line, fname, &rec, d)) < 0)
			goto out;
		if (r == 0)
			break;
		if (rec_blank(&rec))
			continue;
		w.file = fname;
		w.line = rec.line;
		if (rec.n != ncols) {
			diag_error(d, fname, rec.line, 0, NULL,
				   T("列の数が %zu で、見出しの %zu と違います",
				     "%zu columns where the header has %zu"),
				   rec.n, ncols);
			continue;
		}
		if (!(patch = json_object())) {
			r = ERR_NOMEM;
			goto out;
		}
		for (size_t i = 0; i < ncols; i++) {
			json_t *v;
			if (!cols[i])
				continue;
			if (!(v = cell_value(cols[i], rec.cells[i], rec.lens[i], d, &w))) {
				bad = true;
				continue;
			}
			json_object_set_new(patch, cols[i]->name, v);
		}
		if (id_col != SIZE_MAX && rec.lens[id_col] > 0) {
			const char *id = rec.cells[id_col];
			r = isms_row_load(c, k, id, &st.old);
			if (r == ERR_NOT_FOUND ||
			    (r == 0 &&
			     !actor_may_read_dept(c->actor, isms_record_dept(k, st.old.data)))) {
				diag_error(d, fname, rec.line, 0, "id",
					   T("%s の記録 '%s' はありません",
					     "no record of %s with id '%s'"),
					   k->name, id);
				isms_row_release(&st.old);
				json_decref(patch);
				continue;
			}
			if (r < 0) {
				json_decref(patch);
				goto out;
			}
			st.update = true;
			if (st.old.retired) {
				diag_error(d, fname, rec.line, 0, "id",
					   T("'%s' は廃止されています", "'%s' is retired"), id);
				bad = true;
			}
			for (size_t j = 0; j < nsteps; j++)
				if (steps[j].update && !strcmp(steps[j].old.id, id)) {
					diag_error(d, fname, rec.line, 0, "id",
						   T("'%s' が二度あります", "'%s' appears twice"),
						   id);
					bad = true;
				}
		}
		if (!bad) {
			r = isms_prepare(c, k, st.update ? &st.old : NULL, patch,
					 st.update ? "update" : "create", d, &w, &st.rec);
			if (r == ERR_FORBIDDEN)
				forbidden = true;
			else if (r < 0 && r != ERR_INVALID) {
				json_decref(patch);
				isms_row_release(&st.old);
				goto out;
			}
			if (r == 0 && (r = isms_write_ex(c, k, st.update ? &st.old : NULL, st.rec,
							 false, "check", NULL, NULL, true)) < 0) {
				json_decref(patch);
				isms_row_release(&st.old);
				json_decref(st.rec);
				goto out;
			}
		}
		json_decref(patch);
		if ((r = ARRAY_GROW(steps, capsteps, nsteps + 1)) < 0) {
			isms_row_release(&st.old);
			json_decref(st.rec);
			goto out;
		}
		steps[nsteps++] = st;
	}
	savepoint = false;
	if ((r = store_exec(c->st, "ROLLBACK TO SAVEPOINT isms_import")) < 0 ||
	    (r = store_exec(c->st, "RELEASE SAVEPOINT isms_import")) < 0)
		goto out;
	if (d->errors > errors0) {
		r = forbidden ? ERR_FORBIDDEN : ERR_INVALID;
		goto out;
	}
	for (size_t j = 0; j < nsteps; j++)
		if ((r = isms_write(c, k, steps[j].update ? &steps[j].old : NULL, steps[j].rec,
				    false, steps[j].update ? "update" : "create", NULL, NULL)) < 0)
			goto out;
	*count = nsteps;
	r = 0;
out:
	/* Inside a caller's transaction, leave it as it was before us. */
	if (savepoint &&
	    (store_exec(c->st, "ROLLBACK TO SAVEPOINT isms_import") < 0 ||
	     store_exec(c->st, "RELEASE SAVEPOINT isms_import") < 0) &&
	    r == 0)
		r = ERR_DB;
	r = isms_tx_leave(c, own, r);
	if (r < 0)
		*count = 0;
	for (size_t j = 0; j < nsteps; j++) {
		isms_row_release(&steps[j].old);
		json_decref(steps[j].rec);
	}
	free(steps);
	free(cols);
	csv_rec_release(&rec);
	return r;
}
