/*
 * training.c - courses, who must take them, completions imported from an
 * e-learning CSV and applied to the registry's training and pledge dates,
 * and the overdue lists (people.h, docs/isms-people.md "Training").
 */
#include "base/base.h"
#include "base/buf.h"
#include "base/diag.h"
#include "base/i18n.h"
#include "base/timeutil.h"
#include "isms/isms_int.h"
#include "isms/people.h"
#include "isms/people_int.h"
#include "registry/registry.h"
#include "store/store.h"

/* ---- kinds ---- */

static const char *const course_types[] = {"elearning", "day_one", "annual",
					   "role",	"pledge",  NULL};
static const char *const deliveries[] = {"elearning", "classroom", "workplace", NULL};
static const char *const registry_dates[] = {"training", "pledge", NULL};

static const struct isms_field f_courses[] = {
    {"code", ISMS_TEXT, false, 64, 0, 0, NULL, NULL, "コード（eラーニングの講座コード）",
     "Code (the e-learning system's course code)"},
    {"title", ISMS_TEXT, true, 200, 0, 0, NULL, NULL, "講座名", "Title"},
    {"title_en", ISMS_TEXT, false, 200, 0, 0, NULL, NULL, "講座名（英語）", "Title in English"},
    {"type", ISMS_ENUM, true, 0, 0, 0, course_types, NULL, "種別", "Type"},
    {"delivery", ISMS_ENUM, false, 0, 0, 0, deliveries, NULL, "実施方法", "Delivery"},
    {"validity_days", ISMS_INT, true, 0, 0, 3660, NULL, NULL, "有効日数（0 は無期限）",
     "Validity in days (0: never expires)"},
    {"registry_date", ISMS_ENUM, false, 0, 0, 0, registry_dates, NULL,
     "修了で更新する台帳の日付（training: 研修受講日、pledge: 誓約日）",
     "Registry date a completion sets (training or pledge)"},
    {"description", ISMS_MARKDOWN, false, 0, 0, 0, NULL, NULL, "内容", "Description"},
};

static bool id_syntax(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return false;
	return true;
}

static int courses_check(struct isms_ctx *c, json_t *rec, struct diag *d)
{
	const char *code = pp_str(rec, "code");
	const char *type = pp_str(rec, "type");
	const char *reg = pp_str(rec, "registry_date");

	if (code && !id_syntax(code))
		diag_error(d, NULL, 0, 0, "code",
			   T("コードは空白を含まない 1〜64 文字の ASCII にしてください",
			     "the code must be 1-64 printable ASCII characters without spaces"));
	if (type && !strcmp(type, "pledge") && reg && strcmp(reg, "pledge") != 0)
		diag_error(d, NULL, 0, 0, "registry_date",
			   T("誓約の講座は台帳の誓約日（pledge）だけを更新できます",
			     "a pledge course can only set the registry's pledge date"));
	if (code) {
		/* The completions CSV names courses by code. */
		static const char *const names[] = {"code"};
		const char *values[] = {code};
		return pp_check_unique(c, &isms_kind_courses, names, values, 1, d);
	}
	return 0;
}

const struct isms_kind isms_kind_courses = {
    .name = "courses",
    .ja = "研修講座",
    .en = "Courses",
    .id_prefix = "CO",
    .fields = f_courses,
    .nfields = ARRAY_SIZE(f_courses),
    .check = courses_check,
};

static const struct isms_field f_reqs[] = {
    {"course", ISMS_REF, true, 0, 0, 0, NULL, "courses", "講座", "Course"},
    {"employment", ISMS_STRLIST, false, 32, 0, 4, NULL, NULL, "雇用区分（空は全員）",
     "Employment types (empty: everyone)"},
    {"roles", ISMS_STRLIST, false, 64, 0, 50, NULL, NULL, "役割（いずれか。空は全員）",
     "Roles (any of; empty: everyone)"},
    {"dept", ISMS_REF, false, 0, 0, 0, NULL, "departments", "部署（空は全庁）",
     "Department (empty: every department)"},
    {"due_days", ISMS_INT, true, 0, 0, 3660, NULL, NULL, "初回の期限（着任日からの日数）",
     "First completion due (days after the start)"},
    {"note", ISMS_TEXT, false, 500, 0, 0, NULL, NULL, "備考", "Note"},
};

static int reqs_check(struct isms_ctx *c, json_t *rec, struct diag *d)
{
	(void)c;
	pp_check_employment(rec, "employment", d);
	return 0;
}

const struct isms_kind isms_kind_training_requirements = {
    .name = "training_requirements",
    .ja = "受講義務",
    .en = "Training requirements",
    .id_prefix = "TQ",
    .fields = f_reqs,
    .nfields = ARRAY_SIZE(f_reqs),
    .dept_field = "dept",
    .check = reqs_check,
};

static const struct isms_field f_done[] = {
    {"staff", ISMS_REF, true, 0, 0, 0, NULL, "staff", "職員", "Staff member"},
    {"course", ISMS_REF, true, 0, 0, 0, NULL, "courses", "講座", "Course"},
    {"completed", ISMS_DATE, true, 0, 0, 0, NULL, NULL, "修了日", "Completed on"},
    {"score", ISMS_INT, false, 0, 0, 100, NULL, NULL, "得点", "Score"},
    {"ref", ISMS_TEXT, false, 64, 0, 0, NULL, NULL, "eラーニングの記録ID",
     "The e-learning system's record id"},
    {"dept", ISMS_TEXT, false, 64, 0, 0, NULL, NULL, "部署（職員の所属から）",
     "Department (from the staff member)"},
};

/* The registry department of staff member id into *dept (NULL if there
 * is no such staff member); the caller frees it. */
static int staff_dept(struct isms_ctx *c, const char *id, char **dept)
{
	struct store_stmt *s = NULL;
	int r;

	*dept = NULL;
	if ((r = store_prepare(c->st, "SELECT dept FROM staff WHERE id = ?", &s)) < 0 ||
	    (r = store_bind_str(s, 1, id)) < 0 || (r = store_step(s)) < 0)
		goto out;
	if (r == 1) {
		const char *t = store_col_text(s, 0, NULL);
		*dept = xstrdup(t ? t : "");
	}
	r = 0;
out:
	store_finalize(s);
	return r;
}

/* Department of the staff member, and no completion in the future. */
static int done_check(struct isms_ctx *c, json_t *rec, struct diag *d)
{
	char *dept = NULL;
	int32_t day = pp_day(rec, "completed");
	int r;

	if (day != DAY_NONE && day > ts_jst_day(isms_now(c)))
		diag_error(d, NULL, 0, 0, "completed",
			   T("修了日が未来の日付です", "the completion date is in the future"));
	if ((r = staff_dept(c, pp_str(rec, "staff"), &dept)) < 0)
		return r;
	if (dept)
		r = pp_set_str(rec, "dept", dept);
	free(dept);
	return r;
}

const struct isms_kind isms_kind_training_completions = {
    .name = "training_completions",
    .ja = "研修修了記録",
    .en = "Training completions",
    .id_prefix = "TC",
    .fields = f_done,
    .nfields = ARRAY_SIZE(f_done),
    .dept_field = "dept",
    .check = done_check,
};

/* ---- the pure layer ---- */

bool training_req_applies(const struct tr_req *q, const struct reg_staff *s)
{
	if (q->employment_mask && !(q->employment_mask & (1u << s->employment)))
		return false;
	if (q->dept && *q->dept && (!s->dept || strcmp(q->dept, s->dept) != 0))
		return false;
	if (q->nroles) {
		bool any = false;
		for (size_t i = 0; i < q->nroles && !any; i++)
			for (uint32_t j = 0; j < s->roles.n && !any; j++)
				any = !strcmp(q->roles[i], s->roles.v[j]);
		if (!any)
			return false;
	}
	return true;
}

static int done_cmp(const void *a, const void *b)
{
	const struct tr_done *x = a, *y = b;
	int c = strcmp(x->staff, y->staff);

	if (c == 0)
		c = strcmp(x->course, y->course);
	if (c == 0)
		c = (x->day > y->day) - (x->day < y->day);
	return c;
}

/* The latest completion of course by staff on or before day in the
 * sorted done[0..n), or DAY_NONE. */
static int32_t latest(const struct tr_done *done, size_t n, const char *staff, const char *course,
		      int32_t day)
{
	size_t lo = 0, hi = n;
	int32_t best = DAY_NONE;

	/* First entry not less than (staff, course, -inf). */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(done[mid].staff, staff);
		if (c == 0)
			c = strcmp(done[mid].course, course);
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo;
	     i < n && !strcmp(done[i].staff, staff) && !strcmp(done[i].course, course); i++)
		if (done[i].day <= day)
			best = done[i].day;
	return best;
}

int training_gaps(const struct reg_staff *staff, size_t nstaff, const struct tr_course *courses,
		  size_t ncourses, const struct tr_req *reqs, size_t nreqs,
		  const struct tr_done *done, size_t ndone, int32_t day, const char *dept,
		  struct tr_gap **out, size_t *nout)
{
	struct tr_done *sorted = NULL;
	struct tr_gap *gaps = NULL;
	size_t n = 0, cap = 0, bytes;
	int r;

	*out = NULL;
	*nout = 0;
	if (ndone) {
		if ((r = size_mul(ndone, sizeof(*sorted), &bytes)) < 0)
			return r;
		sorted = xmalloc(bytes);
		memcpy(sorted, done, bytes);
		qsort(sorted, ndone, sizeof(*sorted), done_cmp);
	}
	for (size_t i = 0; i < nstaff; i++) {
		const struct reg_staff *s = &staff[i];
		if (!people_staff_active(s, day))
			continue;
		if (dept && *dept && (!s->dept || strcmp(s->dept, dept) != 0))
			continue;
		for (size_t j = 0; j < nreqs; j++) {
			const struct tr_course *co = NULL;
			int32_t last, due, reg;
			enum tr_state st;

			for (size_t k = 0; k < ncourses && !co; k++)
				if (!strcmp(courses[k].id, reqs[j].course))
					co = &courses[k];
			if (!co || !training_req_applies(&reqs[j], s))
				continue;
			last = latest(sorted, ndone, s->id, co->id, day);
			reg = co->registry == TR_REG_TRAINING ? s->training
			      : co->registry == TR_REG_PLEDGE ? s->pledge
							      : DAY_NONE;
			if (reg != DAY_NONE && reg <= day && (last == DAY_NONE || reg > last))
				last = reg;
			if (last == DAY_NONE) {
				due = s->start + reqs[j].due_days;
				st = TR_MISSING;
			} else if (co->validity_days > 0) {
				due = last + co->validity_days;
				st = TR_EXPIRED;
			} else {
				continue;
			}
			if (due >= day)
				continue;
			if ((r = ARRAY_GROW(gaps, cap, n + 1)) < 0)
				goto out;
			gaps[n++] = (struct tr_gap){i, j, last, due, st};
		}
	}
	*out = gaps;
	*nout = n;
	gaps = NULL;
	r = 0;
out:
	free(sorted);
	free(gaps);
	return r;
}

void training_coverage(const struct reg_staff *staff, size_t nstaff, int32_t day,
		       int32_t valid_days, size_t *active, size_t *trained, size_t *pledged)
{
	*active = *trained = *pledged = 0;
	for (size_t i = 0; i < nstaff; i++) {
		const struct reg_staff *s = &staff[i];
		if (!people_staff_active(s, day))
			continue;
		(*active)++;
		if (s->training != DAY_NONE && s->training <= day &&
		    (int64_t)s->training >= (int64_t)day - valid_days)
			(*trained)++;
		if (s->pledge != DAY_NONE && s->pledge <= day)
			(*pledged)++;
	}
}

/* ---- CSV ---- */

struct csv {
	const char *p, *end;
	long line;
};

/*
 * The next row: fields (xstrndup'd) into *fields (free with
 * csv_row_free), *nf, *row_line its first line. Returns 1 for a row, 0 at
 * the end, ERR_INVALID for a quote left open or text after a closing
 * quote (the line in *row_line).
 */
static int csv_row(struct csv *cv, char ***fields, size_t *nf, long *row_line)
{
	char **f = NULL;
	size_t n = 0, cap = 0;
	struct buf cell;
	int r;

	*fields = NULL;
	*nf = 0;
	/* Blank lines are ignored (FORMATS.md). */
	while (cv->p < cv->end && (*cv->p == '\n' || *cv->p == '\r')) {
		if (*cv->p == '\n')
			cv->line++;
		cv->p++;
	}
	if (cv->p >= cv->end)
		return 0;
	*row_line = cv->line;
	buf_init(&cell, (size_t)1 << 20);
	for (;;) {
		bool end_row = false;
		buf_reset(&cell);
		if (cv->p < cv->end && *cv->p == '"') {
			cv->p++;
			for (;;) {
				if (cv->p >= cv->end) {
					r = ERR_INVALID;
					goto out;
				}
				if (*cv->p == '"') {
					if (cv->p + 1 < cv->end && cv->p[1] == '"') {
						if ((r = buf_putc(&cell, '"')) < 0)
							goto out;
						cv->p += 2;
						continue;
					}
					cv->p++;
					break;
				}
				if (*cv->p == '\n')
					cv->line++;
				if ((r = buf_putc(&cell, *cv->p++)) < 0)
					goto out;
			}
			if (cv->p < cv->end && *cv->p == '\r')
				cv->p++;
			if (cv->p < cv->end && *cv->p != ',' && *cv->p != '\n') {
				r = ERR_INVALID;
				goto out;
			}
		} else {
			while (cv->p < cv->end && *cv->p != ',' && *cv->p != '\n') {
				if (*cv->p != '\r' && (r = buf_putc(&cell, *cv->p)) < 0)
					goto out;
				cv->p++;
			}
		}
		if ((r = ARRAY_GROW(f, cap, n + 1)) < 0)
			goto out;
		f[n++] = xstrndup(cell.data ? cell.data : "", cell.len);
		if (cv->p >= cv->end) {
			end_row = true;
		} else if (*cv->p == '\n') {
			cv->p++;
			cv->line++;
			end_row = true;
		} else {
			cv->p++; /* the comma */
		}
		if (end_row)
			break;
	}
	*fields = f;
	*nf = n;
	f = NULL;
	r = 1;
out:
	for (size_t i = 0; f && i < n; i++)
		free(f[i]);
	free(f);
	buf_release(&cell);
	return r;
}

static void csv_row_free(char **f, size_t n)
{
	for (size_t i = 0; f && i < n; i++)
		free(f[i]);
	free(f);
}

/* The columns of the completions CSV and the names they may go by. */
enum { COL_STAFF, COL_COURSE, COL_COMPLETED, COL_SCORE, COL_REF, COL__N };
static const struct {
	const char *name;
	int col;
} col_names[] = {
    {"staff_id", COL_STAFF},	  {"staff", COL_STAFF},	     {"職員番号", COL_STAFF},
    {"course", COL_COURSE},	  {"講座", COL_COURSE},	     {"講座コード", COL_COURSE},
    {"completed", COL_COMPLETED}, {"修了日", COL_COMPLETED}, {"score", COL_SCORE},
    {"得点", COL_SCORE},	  {"ref", COL_REF},	     {"受講ID", COL_REF},
};

struct row {
	char *staff, *course_id;
	int32_t day;
	int64_t score; /* -1: none */
	char *ref;
	long line;
	enum tr_registry reg;
};

static void rows_free(struct row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(rows[i].staff);
		free(rows[i].course_id);
		free(rows[i].ref);
	}
	free(rows);
}

/* The course named by code or id among the active courses: *out (in
 * courses) or NULL, with *ambiguous when several have that code. */
static const json_t *course_lookup(const json_t *courses, const char *key, bool *ambiguous)
{
	const json_t *found = NULL;
	size_t i;
	json_t *co;

	*ambiguous = false;
	json_array_foreach(courses, i, co)
	{
		const char *id = pp_str(co, "_id"), *code = pp_str(co, "code");
		if ((id && !strcmp(id, key)) || (code && !strcmp(code, key))) {
			if (found && found != co)
				*ambiguous = true;
			found = co;
		}
	}
	return found;
}

static int row_cmp(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	int c = strcmp(x->staff, y->staff);

	if (c == 0)
		c = strcmp(x->course_id, y->course_id);
	if (c == 0)
		c = (x->day > y->day) - (x->day < y->day);
	return c;
}

/* Is (staff, course, day) already a stored completion? done is sorted. */
static bool stored(const struct tr_done *done, size_t n, const struct row *w)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		struct tr_done k = {w->staff, w->course_id, w->day};
		int c = done_cmp(&done[mid], &k);
		if (c == 0)
			return true;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/* Every stored completion as tr_done over strings of arr (kept alive by
 * the caller). */
static int done_from(const json_t *arr, struct tr_done **out, size_t *n)
{
	struct tr_done *v = NULL;
	size_t m = 0, bytes;
	int r;

	*out = NULL;
	*n = 0;
	if (json_array_size(arr) == 0)
		return 0;
	if ((r = size_mul(json_array_size(arr), sizeof(*v), &bytes)) < 0)
		return r;
	v = xmalloc(bytes);
	for (size_t i = 0; i < json_array_size(arr); i++) {
		const json_t *o = json_array_get(arr, i);
		const char *s = pp_str(o, "staff"), *co = pp_str(o, "course");
		int32_t day = pp_day(o, "completed");
		if (s && co && day != DAY_NONE)
			v[m++] = (struct tr_done){s, co, day};
	}
	qsort(v, m, sizeof(*v), done_cmp);
	*out = v;
	*n = m;
	return 0;
}

int isms_training_import(struct isms_ctx *c, const char *data, size_t len, const char *fname,
			 struct diag *d, size_t *created, size_t *registry_updated)
{
	struct csv cv = {data, data + len, 1};
	struct isms_ctx rc;
	struct actor ra;
	struct registry_data *reg = NULL;
	json_t *courses = NULL, *stored_done = NULL;
	struct tr_done *done = NULL;
	size_t ndone = 0, nrows = 0, cap = 0, made = 0, nupd = 0;
	struct row *rows = NULL;
	struct reg_date_update *upd = NULL;
	char **f = NULL;
	size_t nf = 0;
	int colmap[32];
	int have[COL__N] = {0};
	size_t ncols = 0;
	long line = 0;
	int32_t today = ts_jst_day(isms_now(c));
	bool tx = false;
	int r;

	if (created)
		*created = 0;
	if (registry_updated)
		*registry_updated = 0;
	if (!fname)
		fname = "completions.csv";
	if (!isms_may_write_kind(c, &isms_kind_training_completions)) {
		diag_error(d, fname, 0, 0, NULL,
			   T("役割 %s は研修修了記録を登録できません",
			     "role %s may not record training completions"),
			   role_name(c->actor ? c->actor->role : 0));
		return ERR_FORBIDDEN;
	}
	if (len > ISMS_CSV_MAX) {
		diag_error(d, fname, 0, 0, NULL,
			   T("ファイルが大きすぎます", "the file is too large"));
		return ERR_TOO_LARGE;
	}
	/* A UTF-8 byte order mark, as spreadsheet programs write. */
	if (len >= 3 && !memcmp(data, "\xef\xbb\xbf", 3))
		cv.p += 3;
	pp_reader_ctx(c, &rc, &ra);
	if ((r = registry_load_people(c->st, &reg)) < 0 ||
	    (r = pp_all(&rc, &isms_kind_courses, NULL, 0, &courses)) < 0 ||
	    (r = pp_all(&rc, &isms_kind_training_completions, NULL, 0, &stored_done)) < 0 ||
	    (r = done_from(stored_done, &done, &ndone)) < 0)
		goto out;

	/* The header. */
	if ((r = csv_row(&cv, &f, &nf, &line)) <= 0) {
		diag_error(d, fname, r == 0 ? 0 : line, 0, NULL, "%s",
			   r == 0 ? T("見出し行がありません", "there is no header row")
				  : T("引用符が閉じていません", "a quote is not closed"));
		r = ERR_INVALID;
		goto out;
	}
	if (nf > ARRAY_SIZE(colmap)) {
		diag_error(d, fname, line, 0, NULL,
			   T("列が多すぎます（最大 %zu）", "too many columns (at most %zu)"),
			   ARRAY_SIZE(colmap));
		r = ERR_INVALID;
		goto out;
	}
	ncols = nf;
	for (size_t i = 0; i < nf; i++) {
		colmap[i] = -1;
		for (size_t j = 0; j < ARRAY_SIZE(col_names); j++)
			if (!strcmp(f[i], col_names[j].name))
				colmap[i] = col_names[j].col;
		if (colmap[i] < 0)
			diag_warn(d, fname, line, 0, f[i],
				  T("不明な列は無視します", "unknown column ignored"));
		else if (have[colmap[i]]++)
			diag_error(d, fname, line, 0, f[i],
				   T("列が重複しています", "duplicate column"));
	}
	if (!have[COL_STAFF])
		diag_error(d, fname, line, 0, "staff_id", T("列がありません", "column missing"));
	if (!have[COL_COURSE])
		diag_error(d, fname, line, 0, "course", T("列がありません", "column missing"));
	if (!have[COL_COMPLETED])
		diag_error(d, fname, line, 0, "completed", T("列がありません", "column missing"));
	csv_row_free(f, nf);
	f = NULL;
	if (diag_has_errors(d)) {
		r = ERR_INVALID;
		goto out;
	}

	/* Every row, checked completely before anything is written. */
	for (;;) {
		const char *v[COL__N] = {NULL};
		struct row w = {0};
		const json_t *co;
		bool amb = false, ok = true;

		if ((r = csv_row(&cv, &f, &nf, &line)) < 0) {
			diag_error(d, fname, line, 0, NULL, "%s",
				   r == ERR_TOO_LARGE ? T("1 つの欄が 1 MiB を超えています",
							  "a cell is larger than 1 MiB")
						      : T("引用符の使い方が正しくありません",
							  "a quoted field is not closed or has "
							  "text after its closing quote"));
			r = ERR_INVALID;
			goto out;
		}
		if (r == 0)
			break;
		if (nf != ncols)
			diag_error(d, fname, line, 0, NULL,
				   T("列の数が %zu です（見出しは %zu 列）",
				     "%zu columns where the header has %zu"),
				   nf, ncols);
		for (size_t i = 0; i < nf && i < ncols; i++)
			if (colmap[i] >= 0)
				v[colmap[i]] = f[i];
		w.line = line;
		w.score = -1;
		if (!v[COL_STAFF] || !*v[COL_STAFF]) {
			diag_error(d, fname, line, 0, "staff_id", T("必須です", "required"));
			ok = false;
		} else if (!id_syntax(v[COL_STAFF])) {
			diag_error(d, fname, line, 0, "staff_id",
				   T("ID ではありません: '%s'", "not an id: '%s'"), v[COL_STAFF]);
			ok = false;
		} else if (!pp_staff_find(reg, v[COL_STAFF])) {
			diag_error(
			    d, fname, line, 0, "staff_id",
			    T("職員 '%s' は台帳にいません", "no staff member '%s' in the registry"),
			    v[COL_STAFF]);
			ok = false;
		}
		if (!v[COL_COURSE] || !*v[COL_COURSE]) {
			diag_error(d, fname, line, 0, "course", T("必須です", "required"));
			ok = false;
		} else if (!(co = course_lookup(courses, v[COL_COURSE], &amb))) {
			diag_error(d, fname, line, 0, "course",
				   T("講座 '%s' はありません（コードまたは ID）",
				     "no course '%s' (by code or id)"),
				   v[COL_COURSE]);
			ok = false;
		} else if (amb) {
			diag_error(d, fname, line, 0, "course",
				   T("コード '%s' の講座が複数あります。講座 ID を使ってください",
				     "several courses have the code '%s': use the course id"),
				   v[COL_COURSE]);
			ok = false;
		} else {
			const char *rd = pp_str(co, "registry_date");
			w.course_id = xstrdup(pp_str(co, "_id"));
			w.reg = !rd			? TR_REG_NONE
				: !strcmp(rd, "pledge") ? TR_REG_PLEDGE
							: TR_REG_TRAINING;
		}
		if (!v[COL_COMPLETED] || !*v[COL_COMPLETED]) {
			diag_error(d, fname, line, 0, "completed", T("必須です", "required"));
			ok = false;
		} else if (date_parse(v[COL_COMPLETED], strlen(v[COL_COMPLETED]), &w.day) < 0) {
			diag_error(d, fname, line, 0, "completed",
				   T("日付（YYYY-MM-DD）ではありません: '%s'",
				     "not a date (YYYY-MM-DD): '%s'"),
				   v[COL_COMPLETED]);
			ok = false;
		} else if (w.day > today) {
			diag_error(d, fname, line, 0, "completed",
				   T("未来の日付です: '%s'", "a date in the future: '%s'"),
				   v[COL_COMPLETED]);
			ok = false;
		}
		if (v[COL_SCORE] && *v[COL_SCORE] &&
		    parse_i64(v[COL_SCORE], strlen(v[COL_SCORE]), 0, 100, &w.score) < 0) {
			diag_error(d, fname, line, 0, "score",
				   T("0〜100 の整数ではありません: '%s'",
				     "not a whole number from 0 to 100: '%s'"),
				   v[COL_SCORE]);
			ok = false;
		}
		if (v[COL_REF] && strlen(v[COL_REF]) > 64) {
			diag_error(d, fname, line, 0, "ref",
				   T("64 バイトを超えています", "longer than 64 bytes"));
			ok = false;
		} else if (v[COL_REF] && *v[COL_REF]) {
			/* jansson refuses strings that are not UTF-8. */
			json_t *probe = json_string(v[COL_REF]);
			if (!probe) {
				diag_error(d, fname, line, 0, "ref",
					   T("UTF-8 ではありません", "not valid UTF-8"));
				ok = false;
			}
			json_decref(probe);
		}
		if (ok) {
			if ((r = ARRAY_GROW(rows, cap, nrows + 1)) < 0) {
				free(w.course_id);
				goto out;
			}
			w.staff = xstrdup(v[COL_STAFF]);
			w.ref = v[COL_REF] && *v[COL_REF] ? xstrdup(v[COL_REF]) : NULL;
			rows[nrows++] = w;
		} else {
			free(w.course_id);
		}
		csv_row_free(f, nf);
		f = NULL;
	}
	if (diag_has_errors(d)) {
		r = ERR_INVALID;
		goto out;
	}

	/* Write: new completions, then the registry's dates, in one
	 * transaction. Rows repeated in the file or already stored are
	 * skipped, so importing the same export twice changes nothing. */
	if (nrows) {
		size_t bytes;
		qsort(rows, nrows, sizeof(*rows), row_cmp);
		if ((r = size_mul(nrows, sizeof(*upd), &bytes)) < 0)
			goto out;
		upd = xcalloc(nrows, sizeof(*upd));
	}
	if ((r = isms_tx_begin(c)) < 0)
		goto out;
	tx = true;
	for (size_t i = 0; i < nrows; i++) {
		struct row *w = &rows[i];
		char id[ISMS_ID_MAX];
		json_t *rec;
		struct diag rd;

		if (i > 0 && !row_cmp(&rows[i - 1], w))
			continue;
		if (w->reg != TR_REG_NONE) {
			struct reg_date_update *u = nupd ? &upd[nupd - 1] : NULL;
			if (!u || strcmp(u->staff_id, w->staff) != 0) {
				u = &upd[nupd++];
				*u = (struct reg_date_update){w->staff, DAY_NONE, DAY_NONE};
			}
			if (w->reg == TR_REG_TRAINING &&
			    (u->training == DAY_NONE || w->day > u->training))
				u->training = w->day;
			if (w->reg == TR_REG_PLEDGE &&
			    (u->pledge == DAY_NONE || w->day > u->pledge))
				u->pledge = w->day;
		}
		if (stored(done, ndone, w))
			continue;
		rec = json_pack("{s:s, s:s, s:o}", "staff", w->staff, "course", w->course_id,
				"completed", pp_json_day(w->day));
		if (!rec) {
			r = ERR_NOMEM;
			goto out;
		}
		if ((w->score >= 0 &&
		     json_object_set_new(rec, "score", json_integer(w->score)) < 0) ||
		    (w->ref && json_object_set_new(rec, "ref", json_string(w->ref)) < 0)) {
			json_decref(rec);
			r = ERR_NOMEM;
			goto out;
		}
		diag_init(&rd, 20);
		r = isms_create(c, &isms_kind_training_completions, rec, &rd, id);
		json_decref(rec);
		for (size_t k = 0; k < rd.n; k++)
			diag_error(d, fname, w->line, 0, rd.items[k].field, "%s", rd.items[k].msg);
		diag_release(&rd);
		if (r < 0)
			goto out;
		made++;
	}
	{
		size_t changed = 0;
		char source[300];
		snprintf(source, sizeof(source), "training_completions:%s", fname);
		if ((r = registry_staff_set_dates(c->st, c->lg,
						  c->actor ? c->actor->name : "system", source, upd,
						  nupd, d, &changed)) < 0)
			goto out;
		if (registry_updated)
			*registry_updated = changed;
	}
	if ((r = isms_tx_commit(c)) < 0)
		goto out;
	tx = false;
	if (created)
		*created = made;
	r = 0;
out:
	if (tx)
		isms_tx_rollback(c);
	csv_row_free(f, nf);
	rows_free(rows, nrows);
	free(upd);
	free(done);
	json_decref(courses);
	json_decref(stored_done);
	registry_data_free(reg);
	return r;
}

int isms_training_complete(struct isms_ctx *c, json_t *data, struct diag *d, char id[ISMS_ID_MAX],
			   size_t *registry_updated)
{
	struct isms_row crow;
	struct reg_date_update u;
	const char *rd = NULL;
	bool have_row = false, tx = false;
	size_t changed = 0;
	int r;

	memset(&crow, 0, sizeof(crow));
	id[0] = '\0';
	if (registry_updated)
		*registry_updated = 0;
	if ((r = isms_tx_begin(c)) < 0)
		return r;
	tx = true;
	if ((r = isms_create(c, &isms_kind_training_completions, data, d, id)) < 0)
		goto out;
	r = isms_row_load(c, &isms_kind_courses, pp_str(data, "course"), &crow);
	if (r < 0)
		goto out;
	have_row = true;
	rd = pp_str(crow.data, "registry_date");
	if (rd) {
		u.staff_id = pp_str(data, "staff");
		u.training = !strcmp(rd, "training") ? pp_day(data, "completed") : DAY_NONE;
		u.pledge = !strcmp(rd, "pledge") ? pp_day(data, "completed") : DAY_NONE;
		if ((r = registry_staff_set_dates(c->st, c->lg,
						  c->actor ? c->actor->name : "system",
						  "training_completions", &u, 1, d, &changed)) < 0)
			goto out;
	}
	if ((r = isms_tx_commit(c)) < 0)
		goto out;
	tx = false;
	if (registry_updated)
		*registry_updated = changed;
out:
	if (tx)
		isms_tx_rollback(c);
	if (have_row)
		isms_row_release(&crow);
	return r;
}

/* ---- overdue ---- */

int isms_training_overdue(struct isms_ctx *c, int32_t day, const char *dept, json_t **out)
{
	struct isms_ctx rc;
	struct actor ra;
	struct registry_data *reg = NULL;
	json_t *courses = NULL, *reqs = NULL, *done_arr = NULL, *res = NULL, *items, *by_dept;
	struct tr_course *cv = NULL;
	struct tr_req *qv = NULL;
	struct tr_done *dv = NULL;
	struct tr_gap *gaps = NULL;
	const char ***roles = NULL;
	size_t nc = 0, nq = 0, nd = 0, ng = 0;
	const char *scope;
	int r;

	*out = NULL;
	if (!isms_may_read_kind(c, &isms_kind_training_completions))
		return ERR_FORBIDDEN;
	if ((r = pp_dept_scope(c, dept, &scope)) < 0)
		return r;
	pp_reader_ctx(c, &rc, &ra);
	if ((r = registry_load_people(c->st, &reg)) < 0 ||
	    (r = pp_all(&rc, &isms_kind_courses, NULL, 0, &courses)) < 0 ||
	    (r = pp_all(&rc, &isms_kind_training_requirements, NULL, 0, &reqs)) < 0 ||
	    (r = pp_all(&rc, &isms_kind_training_completions, NULL, 0, &done_arr)) < 0 ||
	    (r = done_from(done_arr, &dv, &nd)) < 0)
		goto out;
	nc = json_array_size(courses);
	nq = json_array_size(reqs);
	cv = xcalloc(nc + 1, sizeof(*cv));
	qv = xcalloc(nq + 1, sizeof(*qv));
	roles = xcalloc(nq + 1, sizeof(*roles));
	for (size_t i = 0; i < nc; i++) {
		const json_t *o = json_array_get(courses, i);
		const char *rd = pp_str(o, "registry_date");
		cv[i].id = pp_str(o, "_id");
		cv[i].validity_days = (int32_t)pp_int(o, "validity_days", 0);
		cv[i].registry = !rd			 ? TR_REG_NONE
				 : !strcmp(rd, "pledge") ? TR_REG_PLEDGE
							 : TR_REG_TRAINING;
	}
	for (size_t i = 0; i < nq; i++) {
		const json_t *o = json_array_get(reqs, i);
		qv[i].course = pp_str(o, "course");
		qv[i].employment_mask = pp_employment_mask(o, "employment");
		pp_strv(o, "roles", &roles[i], &qv[i].nroles);
		qv[i].roles = roles[i];
		qv[i].dept = pp_str(o, "dept");
		qv[i].due_days = (int32_t)pp_int(o, "due_days", 0);
		if (!qv[i].course)
			qv[i].course = "";
	}
	if ((r = training_gaps(reg->staff, reg->nstaff, cv, nc, qv, nq, dv, nd, day, scope, &gaps,
			       &ng)) < 0)
		goto out;
	if (!(res = json_object()) || json_object_set_new(res, "items", json_array()) < 0 ||
	    json_object_set_new(res, "by_dept", json_object()) < 0) {
		r = ERR_NOMEM;
		goto out;
	}
	items = json_object_get(res, "items");
	by_dept = json_object_get(res, "by_dept");
	for (size_t i = 0; i < ng; i++) {
		const struct reg_staff *s = &reg->staff[gaps[i].staff];
		const struct tr_req *q = &qv[gaps[i].req];
		const json_t *co = NULL;
		json_t *it, *cnt;

		for (size_t k = 0; k < nc && !co; k++)
			if (!strcmp(cv[k].id, q->course))
				co = json_array_get(courses, k);
		it = json_pack("{s:s, s:s, s:s?, s:s, s:s, s:s?, s:s, s:o, s:o, s:I}", "staff_id",
			       s->id, "name", s->name, "dept", s->dept, "employment",
			       employment_name(s->employment), "course", q->course, "course_title",
			       pp_str(co, "title"), "state",
			       gaps[i].state == TR_MISSING ? "missing" : "expired", "last",
			       pp_json_day(gaps[i].last), "due", pp_json_day(gaps[i].due),
			       "days_overdue", (json_int_t)(day - gaps[i].due));
		if (!it || json_array_append_new(items, it) < 0) {
			r = ERR_NOMEM;
			goto out;
		}
		cnt = json_object_get(by_dept, s->dept);
		if (json_object_set_new(by_dept, s->dept,
					json_integer(cnt ? json_integer_value(cnt) + 1 : 1)) < 0) {
			r = ERR_NOMEM;
			goto out;
		}
	}
	if (json_object_set_new(res, "date", pp_json_day(day)) < 0 ||
	    json_object_set_new(res, "dept", scope ? json_string(scope) : json_null()) < 0 ||
	    json_object_set_new(res, "count", json_integer((json_int_t)ng)) < 0) {
		r = ERR_NOMEM;
		goto out;
	}
	*out = res;
	res = NULL;
	r = 0;
out:
	for (size_t i = 0; roles && i < nq; i++)
		free(roles[i]);
	free(roles);
	free(cv);
	free(qv);
	free(dv);
	free(gaps);
	json_decref(res);
	json_decref(courses);
	json_decref(reqs);
	json_decref(done_arr);
	registry_data_free(reg);
	return r;
}
