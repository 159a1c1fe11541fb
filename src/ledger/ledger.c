/*
 * ledger.c - the audit record log: DIR/records.log (one canonical JSON
 * record per line), DIR/records.idx (8-byte little-endian offsets) and
 * DIR/LOCK (flock held by whichever process is appending a group, for the
 * length of that append only). See docs/internals/ledger.md.
 */
#include "base/base.h"
#include "base/buf.h"
#include "base/i18n.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "ledger/ledger.h"

#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* A record line holds the body plus a bounded header; this caps reads. */
#define LEDGER_LINE_MAX (LEDGER_BODY_MAX + 4096)

/*
 * One caller of ledger_append_many waiting for its records to be written.
 * It lives on the caller's stack; the caller stays blocked (and so recs
 * stays valid) until a group leader has set done.
 */
struct append_req {
	const struct audit_rec *recs;
	size_t n;
	uint64_t first; /* index of recs[0], set by the leader */
	int r;          /* result, set by the leader */
	bool done;
	struct append_req *next;
};

struct ledger {
	enum ledger_mode mode;
	int log_fd;
	int idx_fd;
	int lock_fd;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct append_req *queue;  /* waiting appends, oldest first (under mu) */
	struct append_req **tail;  /* where the next one goes (under mu) */
	bool leading;              /* a thread is committing a group (under mu) */
	bool failed;               /* an fdatasync failed: refuse appends (under mu) */
	/*
	 * The end of the ledger as this process last saw it while holding the
	 * flock. Another process may have appended since, so these are only a
	 * hint, checked against the files under the flock before each group.
	 * Only the group leader (leading == true) touches them.
	 */
	uint64_t n;
	uint64_t log_end;
};

static void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static int pwrite_all(int fd, const void *p, size_t n, uint64_t off)
{
	const char *c = p;

	while (n > 0) {
		ssize_t w = pwrite(fd, c, n, (off_t)off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return ERR_IO;
		c += w;
		n -= (size_t)w;
		off += (uint64_t)w;
	}
	return 0;
}

static int pread_all(int fd, void *p, size_t n, uint64_t off)
{
	char *c = p;

	while (n > 0) {
		ssize_t r = pread(fd, c, n, (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return ERR_IO;
		if (r == 0)
			return ERR_CORRUPT;
		c += r;
		n -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

static int file_size(int fd, uint64_t *size)
{
	struct stat st;

	if (fstat(fd, &st) != 0)
		return ERR_IO;
	*size = (uint64_t)st.st_size;
	return 0;
}

/*
 * Read the line starting at off (before end) into out, without its '\n'.
 * ERR_CORRUPT if no '\n' comes before end or the line is too long.
 */
static int read_line(int fd, uint64_t off, uint64_t end, struct buf *out)
{
	char chunk[4096];
	int r;

	buf_reset(out);
	while (off < end) {
		size_t want = end - off < sizeof(chunk) ? (size_t)(end - off) : sizeof(chunk);
		char *nl;

		if ((r = pread_all(fd, chunk, want, off)) < 0)
			return r;
		nl = memchr(chunk, '\n', want);
		if ((r = buf_append(out, chunk, nl ? (size_t)(nl - chunk) : want)) < 0)
			return r == ERR_TOO_LARGE ? ERR_CORRUPT : r;
		if (nl != NULL)
			return 0;
		off += want;
	}
	return ERR_CORRUPT;
}

/* A stored line is a record when it is a JSON object with the expected index. */
static bool line_is_record(const struct buf *line, uint64_t index)
{
	json_t *j = json_loadb(line->data ? line->data : "", line->len, 0, NULL);
	json_t *v;
	bool ok = false;

	if (j == NULL)
		return false;
	v = json_object_get(j, "index");
	ok = json_is_object(j) && json_is_integer(v) && json_integer_value(v) >= 0 &&
	     (uint64_t)json_integer_value(v) == index;
	json_decref(j);
	return ok;
}

/*
 * Bring records.log and records.idx back to a consistent pair after a crash:
 * keep the longest prefix of complete, parseable records, rebuild missing
 * index entries from the log, and truncate anything after it. The caller
 * holds the flock on LOCK, so no live process is in the middle of an append:
 * whatever is inconsistent was left by one that died (or failed) mid-write.
 */
static int ledger_recover(struct ledger *l)
{
	uint64_t log_size, idx_size, k, off = 0;
	struct buf line;
	uint8_t e[8];
	int r;

	buf_init(&line, LEDGER_LINE_MAX);
	if ((r = file_size(l->log_fd, &log_size)) < 0 || (r = file_size(l->idx_fd, &idx_size)) < 0)
		goto out;
	/* Find the last index entry whose record is whole and matches. */
	for (k = idx_size / 8; k > 0; k--) {
		if ((r = pread_all(l->idx_fd, e, 8, (k - 1) * 8)) < 0)
			goto out;
		off = get_le64(e);
		if (off < log_size && read_line(l->log_fd, off, log_size, &line) == 0 &&
		    line_is_record(&line, k - 1)) {
			off += line.len + 1;
			break;
		}
	}
	if (k == 0)
		off = 0;
	if (idx_size != k * 8)
		log_warn(T("監査記録: records.idx を %" PRIu64 " バイトから %" PRIu64
				 " バイトに切り詰めます",
				 "ledger: truncating records.idx from %" PRIu64 " to %" PRIu64
				 " bytes"),
			 idx_size, k * 8);
	if (ftruncate(l->idx_fd, (off_t)(k * 8)) != 0) {
		r = ERR_IO;
		goto out;
	}
	/* Records the log holds beyond the index get their entries back. */
	while (off < log_size && read_line(l->log_fd, off, log_size, &line) == 0 &&
	       line_is_record(&line, k)) {
		log_warn(T("監査記録: 記録 %" PRIu64 " (バイト位置 %" PRIu64
				 ") の索引を再構築します",
				 "ledger: rebuilding index entry of record %" PRIu64
				 " at byte offset %" PRIu64),
			 k, off);
		put_le64(e, off);
		if ((r = pwrite_all(l->idx_fd, e, 8, k * 8)) < 0)
			goto out;
		k++;
		off += line.len + 1;
	}
	if (off < log_size) {
		log_warn(T("監査記録: records.log のバイト位置 %" PRIu64
				 " 以降の不完全な末尾 (%" PRIu64 " バイト) を切り詰めます",
				 "ledger: truncating torn tail of records.log at byte offset %" PRIu64
				 " (%" PRIu64 " bytes)"),
			 off, log_size - off);
		if (ftruncate(l->log_fd, (off_t)off) != 0) {
			r = ERR_IO;
			goto out;
		}
	}
	if (fdatasync(l->log_fd) != 0 || fdatasync(l->idx_fd) != 0) {
		r = ERR_IO;
		goto out;
	}
	log_warn(T("監査記録: 不完全な末尾を修復しました。記録は %" PRIu64 " 件、records.log は %" PRIu64
			 " バイトです",
			 "ledger: repaired a torn tail; the ledger now holds %" PRIu64
			 " records, records.log %" PRIu64 " bytes"),
		 k, off);
	l->n = k;
	l->log_end = off;
	r = 0;
out:
	buf_release(&line);
	return r;
}

/* Take the exclusive flock on LOCK, waiting for the process that holds it. */
static int ledger_lock(struct ledger *l)
{
	while (flock(l->lock_fd, LOCK_EX) != 0) {
		if (errno != EINTR) {
			log_error(T("監査記録: LOCK を取得できません: %s",
				    "ledger: cannot take the lock on LOCK: %s"),
				  strerror(errno));
			return ERR_IO;
		}
	}
	return 0;
}

static void ledger_unlock(struct ledger *l)
{
	/* Closing the descriptor would release it too; failure leaves it held
	 * until close, which delays other writers but loses nothing. */
	if (flock(l->lock_fd, LOCK_UN) != 0)
		log_error(T("監査記録: LOCK を解放できません: %s",
			    "ledger: cannot release the lock on LOCK: %s"),
			  strerror(errno));
}

/*
 * With the flock held, find the true end of the ledger and store it in
 * l->n and l->log_end: another process may have appended since this one
 * last looked. The files agree when records.idx holds whole entries and
 * its last entry points to a complete record with the right index that
 * ends exactly at the end of records.log. Anything else can only be the
 * torn tail of a writer that died mid-append (a live writer would hold
 * the flock), and is repaired.
 */
static int ledger_find_end(struct ledger *l)
{
	uint64_t log_size, idx_size, k, off;
	struct buf line;
	uint8_t e[8];
	int r;

	buf_init(&line, LEDGER_LINE_MAX);
	if ((r = file_size(l->log_fd, &log_size)) < 0 || (r = file_size(l->idx_fd, &idx_size)) < 0)
		goto out;
	/* Nothing changed since our last append: the common case for a
	 * single writer. The files only grow, except by a repair, which
	 * leaves a consistent pair; equal sizes mean the same records. */
	if (idx_size == l->n * 8 && log_size == l->log_end) {
		r = 0;
		goto out;
	}
	k = idx_size / 8;
	if (idx_size % 8 == 0 && k == 0 && log_size == 0) {
		l->n = 0;
		l->log_end = 0;
		r = 0;
		goto out;
	}
	if (idx_size % 8 == 0 && k > 0) {
		if ((r = pread_all(l->idx_fd, e, 8, (k - 1) * 8)) < 0)
			goto out;
		off = get_le64(e);
		if (off < log_size && read_line(l->log_fd, off, log_size, &line) == 0 &&
		    off + line.len + 1 == log_size && line_is_record(&line, k - 1)) {
			l->n = k;
			l->log_end = log_size;
			r = 0;
			goto out;
		}
	}
	r = ledger_recover(l);
out:
	buf_release(&line);
	return r;
}

static int open_in(const char *dir, const char *name, int flags, int *fd)
{
	char path[4096];
	int n = snprintf(path, sizeof(path), "%s/%s", dir, name);

	if (n < 0 || (size_t)n >= sizeof(path))
		return ERR_INVALID;
	*fd = open(path, flags | O_CLOEXEC, 0600);
	if (*fd < 0)
		return errno == ENOENT ? ERR_NOT_FOUND : ERR_IO;
	return 0;
}

int ledger_open(const char *dir, enum ledger_mode mode, struct ledger **out)
{
	struct ledger *l = NULL;
	int flags = mode == LEDGER_WRITE ? O_RDWR | O_CREAT : O_RDONLY;
	int r;

	*out = NULL;
	if (mode == LEDGER_WRITE && mkdir(dir, 0700) != 0 && errno != EEXIST)
		return ERR_IO;
	l = xcalloc(1, sizeof(*l));
	l->mode = mode;
	l->log_fd = l->idx_fd = l->lock_fd = -1;
	l->tail = &l->queue;
	pthread_mutex_init(&l->mu, NULL);
	pthread_cond_init(&l->cv, NULL);
	if (mode == LEDGER_WRITE && (r = open_in(dir, "LOCK", O_RDWR | O_CREAT, &l->lock_fd)) < 0)
		goto out;
	if ((r = open_in(dir, "records.log", flags, &l->log_fd)) < 0 ||
	    (r = open_in(dir, "records.idx", flags, &l->idx_fd)) < 0)
		goto out;
	/*
	 * A writer checks the tail now, under the flock, so that a crash of
	 * the last writer is repaired (and reported) at once rather than at
	 * the first append. Other writers may keep the ledger open; they hold
	 * the flock only while appending.
	 */
	if (mode == LEDGER_WRITE) {
		if ((r = ledger_lock(l)) < 0)
			goto out;
		r = ledger_find_end(l);
		ledger_unlock(l);
		if (r < 0)
			goto out;
	}
	*out = l;
	l = NULL;
	r = 0;
out:
	ledger_close(l);
	return r;
}

void ledger_close(struct ledger *l)
{
	if (l == NULL)
		return;
	if (l->log_fd >= 0)
		close(l->log_fd);
	if (l->idx_fd >= 0)
		close(l->idx_fd);
	if (l->lock_fd >= 0)
		close(l->lock_fd); /* would release the flock, were it held */
	pthread_cond_destroy(&l->cv);
	pthread_mutex_destroy(&l->mu);
	free(l);
}

static bool kind_valid(const char *k)
{
	size_t n;

	if (k == NULL)
		return false;
	n = strlen(k);
	if (n < 1 || n > LEDGER_KIND_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((k[i] >= 'a' && k[i] <= 'z') || k[i] == '_'))
			return false;
	return true;
}

/* Printable UTF-8: well-formed, no C0 or C1 controls, no DEL. */
static bool actor_valid(const char *a)
{
	const unsigned char *s = (const unsigned char *)a;
	size_t n, i = 0;

	if (a == NULL)
		return false;
	n = strlen(a);
	if (n < 1 || n > LEDGER_ACTOR_MAX)
		return false;
	while (i < n) {
		unsigned c = s[i], need, cp;

		if (c < 0x80) {
			if (c < 0x20 || c == 0x7f)
				return false;
			i++;
			continue;
		}
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
		if (need >= n - i)
			return false;
		for (unsigned j = 1; j <= need; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + j] & 0x3f);
		}
		if ((need == 2 && cp < 0x800) || (need == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp < 0xa0))
			return false;
		i += need + 1;
	}
	return true;
}

static bool body_valid(const char *b, size_t n)
{
	json_t *j;
	bool ok;

	if (b == NULL || n == 0 || n > LEDGER_BODY_MAX || memchr(b, '\n', n) != NULL ||
	    memchr(b, '\r', n) != NULL)
		return false;
	j = json_loadb(b, n, 0, NULL);
	ok = j != NULL && json_is_object(j);
	json_decref(j);
	return ok;
}

static int rec_render(const struct audit_rec *rec, uint64_t index, struct buf *out)
{
	char ts[TS_TEXT_MAX];
	int r;

	ts_format_jst(rec->ts == TS_NONE ? ts_now() : rec->ts, ts);
	if ((r = buf_printf(out, "{\"v\":1,\"index\":%" PRIu64 ",\"ts\":\"%s\",\"kind\":\"%s\",\"actor\":",
			    index, ts, rec->kind)) < 0 ||
	    (r = buf_json_str(out, rec->actor, strlen(rec->actor))) < 0 ||
	    (r = buf_puts(out, ",\"body\":")) < 0 || (r = buf_append(out, rec->body, rec->body_len)) < 0 ||
	    (r = buf_puts(out, "}\n")) < 0)
		return r;
	return 0;
}

/* Total number of records in a group; ERR_TOO_LARGE if it overflows. */
static int group_count(const struct append_req *g, uint64_t *total)
{
	uint64_t t = 0;

	for (; g != NULL; g = g->next)
		if (__builtin_add_overflow(t, (uint64_t)g->n, &t))
			return ERR_TOO_LARGE;
	*total = t;
	return 0;
}

/*
 * Write one group (the appends queued in this process, in order) at the
 * end of the ledger and make it durable, all under the flock: find the
 * true end, assign indexes, write the lines and then their index entries,
 * fdatasync both files, unlock. Sets each request's first index and result.
 * Called by the group leader without l->mu held; *failed is set when the
 * files may no longer be a consistent pair or a sync failed.
 */
static void ledger_commit(struct ledger *l, struct append_req *group, bool *failed)
{
	struct buf text, idx;
	uint64_t start, total = 0, next;
	bool locked = false;
	int r;

	buf_init(&text, SIZE_MAX);
	buf_init(&idx, SIZE_MAX);
	if ((r = group_count(group, &total)) < 0)
		goto out;
	if ((r = ledger_lock(l)) < 0)
		goto out;
	locked = true;
	if ((r = ledger_find_end(l)) < 0)
		goto out;
	start = next = l->n;
	for (struct append_req *g = group; g != NULL; g = g->next) {
		g->first = next;
		for (size_t i = 0; i < g->n; i++, next++) {
			uint8_t e[8];

			put_le64(e, l->log_end + text.len);
			if ((r = buf_append(&idx, e, 8)) < 0 ||
			    (r = rec_render(&g->recs[i], next, &text)) < 0)
				goto out;
		}
	}
	/* The lines go first, so that a reader never follows an index entry
	 * to bytes that are not there yet. */
	if ((r = pwrite_all(l->log_fd, text.data, text.len, l->log_end)) < 0 ||
	    (r = pwrite_all(l->idx_fd, idx.data, idx.len, start * 8)) < 0) {
		/* Take back a partial write so that the files stay a valid pair;
		 * if even that fails, the next writer's check repairs the tail. */
		log_error(T("監査記録: 書き込みに失敗しました: %s", "ledger: write failed: %s"),
			  strerror(errno));
		if (ftruncate(l->log_fd, (off_t)l->log_end) != 0 ||
		    ftruncate(l->idx_fd, (off_t)(start * 8)) != 0)
			*failed = true;
		goto out;
	}
	if (fdatasync(l->log_fd) != 0 || fdatasync(l->idx_fd) != 0) {
		/* The records may or may not be on disk; other processes may
		 * already read them. Refuse further appends in this process. */
		log_error(T("監査記録: fdatasync に失敗しました: %s", "ledger: fdatasync failed: %s"),
			  strerror(errno));
		*failed = true;
		r = ERR_IO;
		goto out;
	}
	l->n = start + total;
	l->log_end += text.len;
	r = 0;
out:
	if (locked)
		ledger_unlock(l);
	for (struct append_req *g = group; g != NULL; g = g->next)
		g->r = r;
	buf_release(&text);
	buf_release(&idx);
}

int ledger_append_many(struct ledger *l, const struct audit_rec *recs, size_t n, uint64_t *first)
{
	struct append_req req = { recs, n, 0, 0, false, NULL };
	bool locked = false;
	int r;

	if (l == NULL || l->mode != LEDGER_WRITE) {
		r = ERR_FORBIDDEN;
		goto out;
	}
	if (n == 0 || recs == NULL) {
		r = ERR_INVALID;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (!kind_valid(recs[i].kind) || !actor_valid(recs[i].actor) ||
		    !body_valid(recs[i].body, recs[i].body_len)) {
			r = ERR_INVALID;
			goto out;
		}
	}
	pthread_mutex_lock(&l->mu);
	locked = true;
	if (l->failed) {
		r = ERR_IO;
		goto out;
	}
	*l->tail = &req;
	l->tail = &req.next;
	/*
	 * Group commit: the first thread to find no leader becomes one and
	 * commits every append queued so far (its own among them) with one
	 * flock and one pair of fdatasyncs; appends that arrive meanwhile
	 * queue up and go together in the next group.
	 */
	while (!req.done) {
		struct append_req *group, *next;
		bool failed = false;

		if (l->leading) {
			pthread_cond_wait(&l->cv, &l->mu);
			continue;
		}
		l->leading = true;
		group = l->queue;
		l->queue = NULL;
		l->tail = &l->queue;
		if (l->failed) {
			for (struct append_req *g = group; g != NULL; g = g->next)
				g->r = ERR_IO;
		} else {
			pthread_mutex_unlock(&l->mu);
			ledger_commit(l, group, &failed);
			pthread_mutex_lock(&l->mu);
		}
		if (failed)
			l->failed = true;
		for (struct append_req *g = group; g != NULL; g = next) {
			next = g->next;
			g->done = true; /* g may be gone once its owner wakes */
		}
		l->leading = false;
		pthread_cond_broadcast(&l->cv);
	}
	r = req.r;
	if (r == 0 && first != NULL)
		*first = req.first;
out:
	if (locked)
		pthread_mutex_unlock(&l->mu);
	return r;
}

int ledger_append(struct ledger *l, const struct audit_rec *rec, uint64_t *index)
{
	return ledger_append_many(l, rec, 1, index);
}

/*
 * The number of records is the number of whole index entries, read from
 * the file each time: other processes may have appended. A writer writes
 * a record's line before its entry, so every entry counted here points to
 * a complete line (records still being synced by their writer included).
 */
uint64_t ledger_size(struct ledger *l)
{
	uint64_t n = 0;

	if (l == NULL || file_size(l->idx_fd, &n) < 0)
		return 0;
	return n / 8;
}

int ledger_read(struct ledger *l, uint64_t index, struct buf *out)
{
	uint8_t e[8];
	uint64_t off, log_size;
	int r;

	if (l == NULL || out == NULL)
		return ERR_INVALID;
	if (index >= ledger_size(l))
		return ERR_NOT_FOUND;
	if ((r = pread_all(l->idx_fd, e, 8, index * 8)) < 0 ||
	    (r = file_size(l->log_fd, &log_size)) < 0)
		return r;
	off = get_le64(e);
	if (off >= log_size)
		return ERR_CORRUPT;
	return read_line(l->log_fd, off, log_size, out);
}
