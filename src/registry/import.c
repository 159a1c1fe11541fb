/*
 * import.c - registry_import(): validate every file completely, then upsert
 * everything in one transaction, then record the import in the ledger.
 *
 * Two passes over each file keep memory bounded by the number of ids, not
 * the size of the files: pass 1 validates each record and collects the ids
 * (for duplicates and references), pass 2 re-reads and writes. Each file's
 * SHA-256 is computed in both passes; a file that changes in between makes
 * the import fail before commit.
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "base/base.h"
#include "base/arena.h"
#include "base/buf.h"
#include "base/diag.h"
#include "base/i18n.h"
#include "base/timeutil.h"
#include "ledger/ledger.h"
#include "registry/registry.h"
#include "registry/registry_int.h"
#include "store/store.h"

#define READ_CHUNK ((size_t)1 << 20)
#define CSV_MAX ((size_t)256 << 20)

/* ---- progress bar ---- */

struct progress {
	bool on;
	const char *phase, *file;
	uint64_t total, done;
	double t0, last;
};

static double now_sec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void progress_start(struct progress *p, const char *phase, const char *file, uint64_t total)
{
	p->phase = phase;
	p->file = file;
	p->total = total;
	p->done = 0;
	p->t0 = now_sec();
	p->last = 0;
}

/* Redraw at most ten times a second, and always when final. */
static void progress_draw(struct progress *p, uint64_t done, bool final)
{
	char bar[31];
	double t, rate;
	int pct, fill;

	if (!p->on)
		return;
	p->done = done;
	t = now_sec();
	if (!final && t - p->last < 0.1)
		return;
	p->last = t;
	pct = p->total ? (int)(done * 100 / p->total) : 100;
	if (pct > 100)
		pct = 100;
	fill = pct * 30 / 100;
	memset(bar, '#', (size_t)fill);
	memset(bar + fill, ' ', (size_t)(30 - fill));
	bar[30] = '\0';
	rate = t > p->t0 ? (double)done / (t - p->t0) / 1e6 : 0;
	fprintf(stderr, "\r%s %-18s [%s] %3d%% %7.1f MB/s", p->phase, p->file, bar, pct, rate);
	if (final)
		fputc('\n', stderr);
	fflush(stderr);
}

/* ---- line reader ---- */

struct lreader {
	int fd;
	char *buf;
	size_t beg, end;
	bool eof, skipping;
	long line;
	uint64_t consumed, size;
	struct timespec mtime;
	bool hash; /* compute the SHA-256 while reading */
	crypto_hash_sha256_state sha;
	struct progress *prog;
};

enum { LR_EOF = 0, LR_LINE = 1, LR_TOO_LONG = 2 };

static int lreader_open(struct lreader *r, const char *path, struct progress *prog, bool hash)
{
	struct stat sb;
	memset(r, 0, sizeof(*r));
	r->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (r->fd < 0)
		return errno == ENOENT ? ERR_NOT_FOUND : ERR_IO;
	if (fstat(r->fd, &sb) == 0) {
		r->size = (uint64_t)sb.st_size;
		r->mtime = sb.st_mtim;
	}
	r->hash = hash;
	r->buf = xmalloc(READ_CHUNK);
	r->prog = prog;
	crypto_hash_sha256_init(&r->sha);
	return 0;
}

static void lreader_close(struct lreader *r)
{
	if (r->fd >= 0)
		close(r->fd);
	free(r->buf);
	r->fd = -1;
	r->buf = NULL;
}

/*
 * Next line without its '\n'. Returns LR_LINE, LR_TOO_LONG (the line was
 * longer than REG_LINE_MAX and has been skipped; r->line is its number),
 * LR_EOF, or ERR_IO.
 */
static int lreader_next(struct lreader *r, const char **p, size_t *n)
{
	for (;;) {
		char *nl = memchr(r->buf + r->beg, '\n', r->end - r->beg);
		if (nl) {
			size_t len = (size_t)(nl - (r->buf + r->beg));
			*p = r->buf + r->beg;
			*n = len;
			r->beg += len + 1;
			r->consumed += len + 1;
			r->line++;
			if (r->skipping) {
				r->skipping = false;
				return LR_TOO_LONG;
			}
			return len > REG_LINE_MAX ? LR_TOO_LONG : LR_LINE;
		}
		if (r->skipping || r->end - r->beg > REG_LINE_MAX) {
			r->skipping = true;
			r->consumed += r->end - r->beg;
			r->beg = r->end = 0;
		}
		if (r->eof) {
			if (r->skipping) {
				r->skipping = false;
				r->line++;
				return LR_TOO_LONG;
			}
			if (r->end > r->beg) {
				*p = r->buf + r->beg;
				*n = r->end - r->beg;
				r->consumed += *n;
				r->beg = r->end;
				r->line++;
				return LR_LINE;
			}
			return LR_EOF;
		}
		memmove(r->buf, r->buf + r->beg, r->end - r->beg);
		r->end -= r->beg;
		r->beg = 0;
		for (;;) {
			ssize_t got = read(r->fd, r->buf + r->end, READ_CHUNK - r->end);
			if (got < 0 && errno == EINTR)
				continue;
			if (got < 0)
				return ERR_IO;
			if (got == 0) {
				r->eof = true;
			} else {
				if (r->hash)
					crypto_hash_sha256_update(&r->sha,
								  (unsigned char *)r->buf + r->end,
								  (unsigned long long)got);
				r->end += (size_t)got;
			}
			break;
		}
		if (r->prog)
			progress_draw(r->prog, r->consumed, false);
	}
}

static bool is_blank(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
			return false;
	return true;
}

/* ---- id sets: open addressing over strings packed in an arena ---- */

struct idslot {
	const char *key; /* length-prefixed: key[0] is the length */
	uint32_t hash;
	uint32_t line;
};

struct idset {
	struct idslot *slots;
	size_t cap, n;
	struct arena *arena;
	char *pool;
	size_t left;
};

static uint32_t hash_bytes(const char *s, size_t n)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

static void idset_release(struct idset *s)
{
	free(s->slots);
	arena_free(s->arena);
	memset(s, 0, sizeof(*s));
}

static struct idslot *idset_find(const struct idset *s, const char *k, size_t n, uint32_t h)
{
	size_t mask = s->cap - 1;
	for (size_t i = h & mask;; i = (i + 1) & mask) {
		struct idslot *e = &s->slots[i];
		if (!e->key)
			return e;
		if (e->hash == h && (unsigned char)e->key[0] == n && !memcmp(e->key + 1, k, n))
			return e;
	}
}

static void idset_grow(struct idset *s)
{
	size_t ncap = s->cap ? s->cap * 2 : 1024;
	struct idslot *old = s->slots;
	size_t ocap = s->cap;

	s->slots = xcalloc(ncap, sizeof(*s->slots));
	s->cap = ncap;
	for (size_t i = 0; i < ocap; i++)
		if (old[i].key)
			*idset_find(s, old[i].key + 1, (unsigned char)old[i].key[0], old[i].hash) =
			    old[i];
	free(old);
}

/* Add a key of at most 255 bytes. Returns true when new; when it was
 * there, *first gets the line it was first seen on. */
static bool idset_add(struct idset *s, const char *k, size_t n, long line, long *first)
{
	uint32_t h = hash_bytes(k, n);
	struct idslot *e;

	BUG_ON(n > 255);
	if ((s->n + 1) * 10 > s->cap * 7)
		idset_grow(s);
	e = idset_find(s, k, n, h);
	if (e->key) {
		if (first)
			*first = (long)e->line;
		return false;
	}
	if (!s->arena)
		s->arena = arena_new(0);
	if (s->left < n + 1) {
		s->pool = arena_alloc(s->arena, 1 << 20);
		s->left = 1 << 20;
	}
	s->pool[0] = (char)n;
	memcpy(s->pool + 1, k, n);
	e->key = s->pool;
	e->hash = h;
	e->line = line > UINT32_MAX ? UINT32_MAX : (uint32_t)line;
	s->pool += n + 1;
	s->left -= n + 1;
	s->n++;
	return true;
}

static bool idset_has(const struct idset *s, const char *k, size_t n)
{
	if (!s->cap || n > 255)
		return false;
	return idset_find(s, k, n, hash_bytes(k, n))->key != NULL;
}

/* ---- the import ---- */

/* One input file: a JSON Lines file of a kind, or the staff CSV. */
struct source {
	enum reg_kind kind;
	bool csv;
	char *path;
	const char *name; /* file name used in messages */
	char *text;	  /* the CSV, read whole */
	size_t text_len;
	unsigned char sha[crypto_hash_sha256_BYTES];
	uint64_t size;
	struct timespec mtime;
	struct import_stats st;
};

struct pending_ref {
	char *id;
	long line;
};

struct ctx {
	struct store *st;
	struct diag *d;
	struct progress prog;
	struct idset ids[K__COUNT]; /* keys seen per kind (overtime: staff_id\tstart) */
	struct store_stmt *exists[K__COUNT];
	struct pending_ref *pend;
	size_t npend, cappend;
	/* pass 2 */
	struct store_stmt *upsert;
	struct source *src;
	struct reg_warned warned;
	struct diag quiet; /* pass 2 repeats pass 1's warnings; drop them */
	struct reg_rec rec;
	struct buf list; /* a list field rendered as JSON */
	int err;
};

static const char *ref_word(enum reg_kind k)
{
	switch (k) {
	case K_SYSTEMS:
		return T("システム", "system");
	case K_DEPARTMENTS:
		return T("部署", "department");
	case K_STAFF:
		return T("職員", "staff member");
	case K_RESIDENTS:
		return T("住民", "resident");
	default:
		return "?";
	}
}

/* True when id exists in the files seen so far or in the store. */
static bool ref_exists(struct ctx *c, enum reg_kind k, const char *id, size_t n)
{
	struct store_stmt *s;
	char sql[96];
	int r;

	if (idset_has(&c->ids[k], id, n))
		return true;
	if (!c->exists[k]) {
		snprintf(sql, sizeof(sql), "SELECT 1 FROM %s WHERE id = ?", reg_kinds[k].table);
		if (store_prepare(c->st, sql, &c->exists[k]) < 0)
			return false;
	}
	s = c->exists[k];
	if (store_bind_text(s, 1, id, n) < 0)
		return false;
	r = store_step(s);
	if (store_reset(s) < 0 && r >= 0)
		r = ERR_DB;
	return r == 1;
}

static void check_ref(struct ctx *c, enum reg_kind target, const char *file, long line,
		      const char *field, const char *id, size_t n)
{
	if (!id)
		return; /* absent, or failed its own check */
	if (!ref_exists(c, target, id, n))
		diag_error(c->d, file, line, 0, field,
			   T("%s '%.*s' がありません", "unknown %s '%.*s'"), ref_word(target),
			   (int)n, id);
}

static size_t fi(enum reg_kind k, const char *name)
{
	int i = reg_field_index(k, name);
	BUG_ON(i < 0);
	return (size_t)i;
}

/* The key of a record: its id, or staff_id TAB start for overtime. */
static int row_key(enum reg_kind k, const struct reg_rec *row, char out[256], size_t *n)
{
	const struct reg_val *a = &row->f[0], *b = &row->f[1];
	if (k == K_OVERTIME) {
		int w;
		if (a->type != J_STRING || b->type != J_STRING)
			return ERR_INVALID;
		w = snprintf(out, 256, "%.*s\t%.*s", (int)a->n, a->s, (int)b->n, b->s);
		if (w < 0 || w > 255)
			return ERR_TOO_LARGE;
		*n = (size_t)w;
		return 0;
	}
	if (a->type != J_STRING || !reg_id_valid(a->s, a->n))
		return ERR_INVALID;
	memcpy(out, a->s, a->n);
	*n = a->n;
	return 0;
}

/* A field's string when present and valid, else NULL. */
static const struct reg_val *good(const struct reg_rec *row, enum reg_kind k, const char *name)
{
	static const struct reg_val none = {J_ABSENT, NULL, 0, 0, 0};
	size_t i = fi(k, name);
	if (row->bad & (1u << i) || (row->f[i].type != J_STRING && row->f[i].type != J_ARRAY))
		return &none;
	return &row->f[i];
}

/* Pass 1 on one record: duplicates, then references of the fields that
 * are themselves valid (so that one record can show all its problems). */
static void check_record(struct ctx *c, enum reg_kind k, const char *file, long line,
			 const struct reg_rec *row, bool valid)
{
	char key[256];
	size_t kn;
	long first = 0;

	if (row_key(k, row, key, &kn) == 0 && !idset_add(&c->ids[k], key, kn, line, &first)) {
		if (k == K_OVERTIME)
			diag_error(
			    c->d, file, line, 0, "start",
			    T("職員 '%.*s' の同じ開始時刻の行が重複しています（最初は %ld 行目）",
			      "duplicate overtime for staff '%.*s' at this start (first on line "
			      "%ld)"),
			    (int)row->f[0].n, row->f[0].s, first);
		else
			diag_error(c->d, file, line, 0, reg_kinds[k].fields[0].name,
				   T("ID '%.*s' が重複しています（最初は %ld 行目）",
				     "duplicate id '%.*s' (first on line %ld)"),
				   (int)kn, key, first);
	}
	(void)valid;
	switch (k) {
	case K_DEPARTMENTS: {
		const struct reg_val *p = good(row, k, "parent"), *s = good(row, k, "systems");
		if (p->type == J_STRING) {
			/* A parent may come later in the same file. */
			if (ARRAY_GROW(c->pend, c->cappend, c->npend + 1) == 0) {
				c->pend[c->npend].id = xstrndup(p->s, p->n);
				c->pend[c->npend].line = line;
				c->npend++;
			}
		}
		for (uint32_t i = 0; i < s->count; i++) {
			const struct reg_item *e = &row->items[s->first + i];
			check_ref(c, K_SYSTEMS, file, line, "systems", e->s, e->n);
		}
		break;
	}
	case K_STAFF: {
		const struct reg_val *dp = good(row, k, "dept");
		check_ref(c, K_DEPARTMENTS, file, line, "dept", dp->s, dp->n);
		break;
	}
	case K_CASES: {
		const struct reg_val *rs = good(row, k, "resident_id"), *dp = good(row, k, "dept"),
				     *as = good(row, k, "assigned_to");
		check_ref(c, K_RESIDENTS, file, line, "resident_id", rs->s, rs->n);
		check_ref(c, K_DEPARTMENTS, file, line, "dept", dp->s, dp->n);
		check_ref(c, K_STAFF, file, line, "assigned_to", as->s, as->n);
		break;
	}
	case K_OVERTIME:
		check_ref(c, K_STAFF, file, line, "staff_id", good(row, k, "staff_id")->s,
			  good(row, k, "staff_id")->n);
		break;
	default:
		break;
	}
}

static void resolve_pending(struct ctx *c, const char *file)
{
	for (size_t i = 0; i < c->npend; i++) {
		check_ref(c, K_DEPARTMENTS, file, c->pend[i].line, "parent", c->pend[i].id,
			  strlen(c->pend[i].id));
		free(c->pend[i].id);
	}
	c->npend = 0;
}

/* Pass 2 on one record: upsert it and count what happened. */
static int write_record(struct ctx *c, enum reg_kind k, const struct reg_rec *row)
{
	const struct reg_kind_def *kd = &reg_kinds[k];
	struct store_stmt *s = c->upsert;
	int r = 0;

	for (size_t i = 0; i < kd->nfields && r == 0; i++) {
		const struct reg_val *v = &row->f[i];
		int col = (int)i + 1;
		if (v->type == J_ARRAY) {
			/* Lists are stored as compact JSON arrays of strings. */
			buf_reset(&c->list);
			r = buf_putc(&c->list, '[');
			for (uint32_t j = 0; j < v->count && r == 0; j++) {
				const struct reg_item *e = &row->items[v->first + j];
				if (j)
					r = buf_putc(&c->list, ',');
				if (r == 0)
					r = buf_json_str(&c->list, e->s, e->n);
			}
			if (r == 0)
				r = buf_putc(&c->list, ']');
			if (r == 0)
				r = store_bind_text(s, col, c->list.data, c->list.len);
		} else if (v->type == J_STRING) {
			r = store_bind_text(s, col, v->s, v->n);
		} else {
			r = store_bind_null(s, col);
		}
	}
	if (r == 0 && (r = store_step(s)) >= 0) {
		if (store_changes(c->st) > 0)
			c->src->st.updated++; /* inserted are split off by counting rows */
		else
			c->src->st.unchanged++;
		r = 0;
	}
	if (store_reset(s) < 0 && r >= 0)
		r = ERR_DB;
	return r;
}

/* Handle one parsed record in the current pass. */
static int on_record(struct ctx *c, struct reg_rec *rec, long line, bool pass2)
{
	struct source *src = c->src;
	bool ok;

	src->st.lines++;
	if (!pass2) {
		ok = reg_validate_rec(src->kind, rec, src->name, line, &c->warned, c->d);
		check_record(c, src->kind, src->name, line, rec, ok);
		return 0;
	}
	if (!reg_validate_rec(src->kind, rec, src->name, line, NULL, &c->quiet)) {
		diag_error(c->d, src->name, line, 0, NULL, "%s",
			   T("ファイルが取り込み中に変更されました",
			     "the file changed during the import"));
		return ERR_INVALID;
	}
	return write_record(c, src->kind, rec);
}

static int csv_cb(struct reg_rec *rec, long line, void *ctx)
{
	struct ctx *c = ctx;
	return on_record(c, rec, line, c->upsert != NULL);
}

static int run_jsonl(struct ctx *c, bool pass2)
{
	struct source *src = c->src;
	struct lreader rd;
	const char *p;
	size_t n;
	int r;

	if ((r = lreader_open(&rd, src->path, &c->prog, !pass2)) < 0) {
		diag_error(c->d, src->path, 0, 0, NULL, "%s", err_msg(r));
		return r;
	}
	progress_start(&c->prog, pass2 ? T("取込", "write") : T("検査", "check"), src->name,
		       rd.size);
	while ((r = lreader_next(&rd, &p, &n)) > 0) {
		if (r == LR_TOO_LONG) {
			src->st.lines++;
			diag_error(
			    c->d, src->name, rd.line, 0, NULL,
			    T("行が長すぎます（%zu バイト超）", "line too long (over %zu bytes)"),
			    REG_LINE_MAX);
			if (pass2) {
				r = ERR_INVALID;
				break;
			}
			continue;
		}
		if (is_blank(p, n))
			continue;
		if (!reg_parse_rec(src->kind, p, n, src->name, rd.line, pass2 ? &c->quiet : c->d,
				   &c->rec)) {
			src->st.lines++;
			if (pass2) {
				diag_error(c->d, src->name, rd.line, 0, NULL, "%s",
					   T("ファイルが取り込み中に変更されました",
					     "the file changed during the import"));
				r = ERR_INVALID;
				break;
			}
			continue;
		}
		r = on_record(c, &c->rec, rd.line, pass2);
		if (r < 0)
			break;
	}
	if (r == ERR_IO)
		diag_error(c->d, src->path, 0, 0, NULL, "%s", err_msg(r));
	if (r >= 0) {
		progress_draw(&c->prog, rd.consumed, true);
		/* Pass 1 hashes the file for the ledger; pass 2 checks that the
		 * file is the one hashed by its size and modification time
		 * (hashing twice would cost as much as the rest of pass 2). */
		if (!pass2) {
			crypto_hash_sha256_final(&rd.sha, src->sha);
			src->size = rd.size;
			src->mtime = rd.mtime;
		} else if (src->size != rd.size || rd.consumed != rd.size ||
			   src->mtime.tv_sec != rd.mtime.tv_sec ||
			   src->mtime.tv_nsec != rd.mtime.tv_nsec) {
			diag_error(c->d, src->name, 0, 0, NULL, "%s",
				   T("ファイルが取り込み中に変更されました",
				     "the file changed during the import"));
			r = ERR_INVALID;
		}
		if (r >= 0)
			r = 0;
	}
	lreader_close(&rd);
	return r;
}

static int run_source(struct ctx *c, struct source *src, bool pass2)
{
	int r;

	c->src = src;
	memset(&src->st, 0, sizeof(src->st));
	src->st.kind = src->csv ? "staff_csv" : reg_kinds[src->kind].name;
	reg_warned_release(&c->warned);
	if (!src->csv)
		return run_jsonl(c, pass2);
	progress_start(&c->prog, pass2 ? T("取込", "write") : T("検査", "check"), src->name,
		       src->text_len);
	r = reg_csv_parse(src->text, src->text_len, src->name, pass2 ? &c->quiet : c->d, csv_cb, c);
	progress_draw(&c->prog, src->text_len, true);
	return r;
}

static int read_csv(const char *path, struct source *src, struct diag *d)
{
	struct buf b;
	char chunk[65536];
	int r = 0, fd = open(path, O_RDONLY | O_CLOEXEC);

	buf_init(&b, CSV_MAX);
	if (fd < 0) {
		r = errno == ENOENT ? ERR_NOT_FOUND : ERR_IO;
		goto out;
	}
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = ERR_IO;
			break;
		}
		if (n == 0)
			break;
		if ((r = buf_append(&b, chunk, (size_t)n)) < 0)
			break;
	}
	close(fd);
	if (r == 0 && (r = buf_append(&b, "", 0)) == 0) {
		src->text = buf_detach(&b, &src->text_len);
		crypto_hash_sha256(src->sha, (unsigned char *)src->text, src->text_len);
	}
out:
	if (r < 0)
		diag_error(d, path, 0, 0, NULL, "%s", err_msg(r));
	buf_release(&b);
	return r;
}

static int64_t table_count(struct store *st, const char *table, int *err)
{
	struct store_stmt *s = NULL;
	char sql[64];
	int64_t n = 0;
	int r;

	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM %s", table);
	if ((r = store_prepare(st, sql, &s)) < 0 || (r = store_step(s)) < 0) {
		*err = r;
	} else if (r == 1) {
		n = store_col_int(s, 0);
	}
	store_finalize(s);
	return n;
}

static int upsert_prepare(struct store *st, enum reg_kind k, struct store_stmt **out)
{
	const struct reg_kind_def *kd = &reg_kinds[k];
	struct buf sql;
	int r = 0;

	buf_init(&sql, 8192);
	r = buf_printf(&sql, "INSERT INTO %s (", kd->table);
	for (size_t i = 0; i < kd->nfields && r == 0; i++)
		r = buf_printf(&sql, "%s%s", i ? ", " : "", kd->fields[i].column);
	if (r == 0)
		r = buf_puts(&sql, ") VALUES (");
	for (size_t i = 0; i < kd->nfields && r == 0; i++)
		r = buf_puts(&sql, i ? ", ?" : "?");
	if (r == 0)
		r = buf_puts(&sql, ") ON CONFLICT (");
	for (size_t i = 0; i < kd->nkeys && r == 0; i++)
		r = buf_printf(&sql, "%s%s", i ? ", " : "", kd->fields[i].column);
	if (r == 0)
		r = buf_puts(&sql, ") DO UPDATE SET ");
	for (size_t i = kd->nkeys; i < kd->nfields && r == 0; i++)
		r = buf_printf(&sql, "%s%s = excluded.%s", i > kd->nkeys ? ", " : "",
			       kd->fields[i].column, kd->fields[i].column);
	if (r == 0)
		r = buf_puts(&sql, " WHERE ");
	/* Update only what differs, so that an unchanged row is not
	 * rewritten and store_changes() tells updated from unchanged. */
	for (size_t i = kd->nkeys; i < kd->nfields && r == 0; i++)
		r = buf_printf(&sql, "%s%s.%s IS DISTINCT FROM excluded.%s",
			       i > kd->nkeys ? " OR " : "", kd->table, kd->fields[i].column,
			       kd->fields[i].column);
	if (r == 0)
		r = store_prepare(st, sql.data, out);
	buf_release(&sql);
	return r;
}

static int write_source(struct ctx *c, struct source *src)
{
	const char *table = reg_kinds[src->kind].table;
	int64_t before, after;
	int r = 0;

	before = table_count(c->st, table, &r);
	if (r < 0)
		return r;
	if ((r = upsert_prepare(c->st, src->kind, &c->upsert)) < 0)
		return r;
	r = run_source(c, src, true);
	store_finalize(c->upsert);
	c->upsert = NULL;
	if (r < 0)
		return r;
	after = table_count(c->st, table, &r);
	if (r < 0)
		return r;
	/* Each key occurs once in a valid set, so the growth of the table is
	 * the number of rows inserted; the rest that changed were updated. */
	src->st.inserted = (size_t)(after - before);
	src->st.updated -= src->st.inserted;
	return 0;
}

static int ledger_record(struct ledger *lg, const struct import_opts *o, struct source *srcs,
			 size_t n)
{
	struct buf b;
	int r;

	buf_init(&b, LEDGER_BODY_MAX);
	r = buf_puts(&b, "{\"datadir\":");
	if (r == 0)
		r = buf_json_str(&b, o->datadir ? o->datadir : "",
				 o->datadir ? strlen(o->datadir) : 0);
	if (r == 0)
		r = buf_puts(&b, ",\"files\":[");
	for (size_t i = 0; i < n && r == 0; i++) {
		char hex[crypto_hash_sha256_BYTES * 2 + 1];
		sodium_bin2hex(hex, sizeof(hex), srcs[i].sha, sizeof(srcs[i].sha));
		r = buf_printf(&b, "%s{\"file\":", i ? "," : "");
		if (r == 0)
			r = buf_json_str(&b, srcs[i].name, strlen(srcs[i].name));
		if (r == 0)
			r = buf_printf(&b,
				       ",\"kind\":\"%s\",\"sha256\":\"%s\",\"lines\":%zu,"
				       "\"inserted\":%zu,\"updated\":%zu,\"unchanged\":%zu}",
				       srcs[i].st.kind, hex, srcs[i].st.lines, srcs[i].st.inserted,
				       srcs[i].st.updated, srcs[i].st.unchanged);
	}
	if (r == 0)
		r = buf_puts(&b, "]}");
	if (r == 0) {
		struct audit_rec rec = {"import", TS_NONE, o->actor ? o->actor : "system", b.data,
					b.len};
		r = ledger_append(lg, &rec, NULL);
	}
	buf_release(&b);
	return r;
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

int registry_import(struct store *st, struct ledger *lg, const struct import_opts *o,
		    struct diag *d, struct import_stats stats[8], size_t *nstats)
{
	struct source srcs[8];
	size_t nsrc = 0;
	struct ctx c;
	bool in_tx = false;
	size_t errors0;
	int r = 0;

	memset(srcs, 0, sizeof(srcs));
	memset(&c, 0, sizeof(c));
	c.st = st;
	c.d = d;
	c.prog.on = o->progress;
	if (o->max_errors)
		d->limit = o->max_errors;
	errors0 = d->errors;
	diag_init(&c.quiet, 1);
	reg_rec_init(&c.rec);
	buf_init(&c.list, REG_LINE_MAX * 2);
	*nstats = 0;

	/* The files present, in the order references need. */
	for (int k = 0; k < K_ACCESS; k++) {
		struct buf path;
		struct stat sb;
		buf_init(&path, 8192);
		if (buf_printf(&path, "%s/%s", o->datadir ? o->datadir : ".", reg_kinds[k].file) <
		    0) {
			buf_release(&path);
			r = ERR_TOO_LARGE;
			goto out;
		}
		if (stat(path.data, &sb) == 0) {
			srcs[nsrc].kind = (enum reg_kind)k;
			srcs[nsrc].path = buf_detach(&path, NULL);
			srcs[nsrc].name = reg_kinds[k].file;
			nsrc++;
		}
		buf_release(&path);
		if (k == K_STAFF && o->staff_csv) {
			srcs[nsrc].kind = K_STAFF;
			srcs[nsrc].csv = true;
			srcs[nsrc].path = xstrdup(o->staff_csv);
			srcs[nsrc].name = base_name(o->staff_csv);
			if ((r = read_csv(o->staff_csv, &srcs[nsrc], d)) < 0) {
				nsrc++;
				goto out;
			}
			nsrc++;
		}
	}
	if (nsrc == 0) {
		diag_error(
		    d, o->datadir, 0, 0, NULL, "%s",
		    T("取り込むファイルがありません（systems.jsonl, departments.jsonl, "
		      "staff.jsonl, residents.jsonl, cases.jsonl, overtime.jsonl）",
		      "no registry files found (systems.jsonl, departments.jsonl, staff.jsonl, "
		      "residents.jsonl, cases.jsonl, overtime.jsonl)"));
		r = ERR_INVALID;
		goto out;
	}

	/* Pass 1: validate everything. */
	for (size_t i = 0; i < nsrc; i++) {
		if ((r = run_source(&c, &srcs[i], false)) < 0 && r != ERR_INVALID)
			goto out;
		if (srcs[i].kind == K_DEPARTMENTS && !srcs[i].csv)
			resolve_pending(&c, srcs[i].name);
	}
	if (d->errors > errors0) {
		r = ERR_INVALID;
		goto out;
	}

	/* Pass 2: write everything in one transaction. */
	if ((r = store_begin(st)) < 0)
		goto out;
	in_tx = true;
	for (size_t i = 0; i < nsrc; i++)
		if ((r = write_source(&c, &srcs[i])) < 0) {
			if (r != ERR_INVALID)
				diag_error(d, srcs[i].name, 0, 0, NULL, "%s: %s", err_msg(r),
					   store_errmsg(st));
			goto out;
		}
	if ((r = registry_stamp_renew(st)) < 0) {
		diag_error(d, NULL, 0, 0, NULL, "%s: %s", err_msg(r), store_errmsg(st));
		goto out;
	}
	if ((r = store_commit(st)) < 0) {
		in_tx = false;
		diag_error(d, NULL, 0, 0, NULL, "%s: %s", err_msg(r), store_errmsg(st));
		goto out;
	}
	in_tx = false;
	for (size_t i = 0; i < nsrc; i++)
		stats[i] = srcs[i].st;
	*nstats = nsrc;
	if (lg && (r = ledger_record(lg, o, srcs, nsrc)) < 0)
		diag_error(d, NULL, 0, 0, NULL,
			   T("取り込みは完了しましたが台帳への記録に失敗しました: %s",
			     "the import was committed but recording it in the ledger failed: %s"),
			   err_msg(r));
out:
	if (in_tx)
		store_rollback(st);
	for (size_t i = 0; i < nsrc; i++) {
		free(srcs[i].path);
		free(srcs[i].text);
	}
	for (int k = 0; k < K__COUNT; k++) {
		idset_release(&c.ids[k]);
		store_finalize(c.exists[k]);
	}
	for (size_t i = 0; i < c.npend; i++)
		free(c.pend[i].id);
	free(c.pend);
	reg_warned_release(&c.warned);
	diag_release(&c.quiet);
	reg_rec_release(&c.rec);
	buf_release(&c.list);
	return r;
}
