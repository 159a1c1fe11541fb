/*
 * ledger.c - the audit record log: segment files DIR/seg/<first>.log (one
 * canonical JSON record per line) and DIR/seg/<first>.idx (8-byte
 * little-endian offsets), the Merkle tree's hash files DIR/hash/Lhh, and
 * DIR/LOCK (flock held by whichever process is appending a group, for the
 * length of that append only). Sealing and archiving of full segments are
 * at the end. See docs/internals/ledger.md.
 */
#include "base/base.h"
#include "base/buf.h"
#include "base/fileio.h"
#include "base/i18n.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "ledger/ledger.h"
#include "ledger/ledger_int.h"
#include "ledger/merkle.h"
#include "ledger/note.h"
#include "ledger/par.h"

#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <sodium.h>
#include <stdatomic.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* Hash files: DIR/hash/L00 .. L62, the 32-byte hashes of one level each. */
#define HASH_DIR "hash"
/* Leaves hashed before a rebuild writes its hashes out. */
#define REBUILD_BATCH 4096

/* A record line holds the body plus a bounded header; this caps reads. */
#define LEDGER_LINE_MAX (LEDGER_BODY_MAX + 4096)
/* Segments whose files a handle keeps open for reading at most. */
#define SEG_FD_CACHE 32
/* The largest number of records per segment a handle accepts. */
#define SEG_ENTRIES_MAX ((uint64_t)1 << 40)

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

/*
 * A segment as the readers of a handle know it: its first index and, once
 * read, descriptors of its files (those of its archive copy when the
 * segment was archived). The table is sorted by first.
 */
struct rseg {
	uint64_t first;
	int log_fd; /* -1 until opened */
	int idx_fd;
	bool archived; /* the descriptors are of the archive's copy */
	char *arch_log; /* then the path of that copy's .log (malloc'd) */
	uint64_t used; /* when last read (for closing the least recent) */
};

struct ledger {
	enum ledger_mode mode;
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
	uint64_t seg_first; /* first index of the last segment */
	uint64_t log_end;   /* end of the last segment's .log */
	int wlog_fd;        /* the last segment's files, read-write */
	int widx_fd;
	uint64_t seg_entries; /* records per segment; set before use */
	/*
	 * The tree of the first n records, kept by the group leader like n;
	 * hashes_dirty forces a check of the hash files against the records
	 * at the next group (after a failed write).
	 */
	struct merkle_builder tree;
	bool hashes_dirty;
	/* set at open: trust stored hashes only up to hash/synced */
	bool hashes_check_synced;
	char *dir;
	/* Descriptors of the hash files, opened on first use (under fd_mu). */
	pthread_mutex_t fd_mu;
	int hash_fd[MERKLE_HEIGHT_MAX];
	/* The readers' table of segments (under seg_mu). */
	pthread_mutex_t seg_mu;
	struct rseg *segs;
	size_t nsegs, segs_cap;
	uint64_t clock;
	unsigned open_segs;
	/* The second thread for the body checks, lines and leaf hashes of
	 * large appends, and a third that writes and syncs their lines
	 * meanwhile (par.h; ledger_commit). */
	struct par par, io;
	/* DIR/idx-synced (writers only) and the count it last held as this
	 * process knows it: see idx_mark_write. */
	int mark_fd;
	uint64_t idx_synced;
	/* The group leader's arrays and line buffer (ledger_commit), kept
	 * from one group to the next so that a stream of groups does not
	 * fault fresh pages in each time; released when larger than
	 * SCRATCH_KEEP. */
	struct {
		size_t cap, text_cap; /* records, bytes */
		size_t *start;
		const struct audit_rec **rec;
		uint8_t (*leaf)[MERKLE_HASH_SIZE];
		atomic_uchar *ready; /* cap / LEAF_RUN + 1 */
		char *text;
	} cs;
};

#define SCRATCH_KEEP ((size_t)64 << 20)

static void scratch_release(struct ledger *l)
{
	free(l->cs.start);
	free(l->cs.rec);
	free(l->cs.leaf);
	free(l->cs.ready);
	free(l->cs.text);
	memset(&l->cs, 0, sizeof(l->cs));
}

/* Appends of at least this many records split their CPU work in two. */
#define PAR_MIN 128

/*
 * The hashes that a run of appended leaves completes, per level, waiting
 * to be written: lv[h] holds consecutive hashes of level h starting at
 * position first[h] of that level (subtree [first[h] * 2^h, ...)).
 */
struct hash_batch {
	struct buf lv[MERKLE_HEIGHT_MAX];
	uint64_t first[MERKLE_HEIGHT_MAX];
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

		if ((r = fd_pread_all(fd, chunk, want, off)) < 0)
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

/* ---- the hash files ---- */

/*
 * The descriptor of the hash file of level h, opened on first use; with
 * create, the file (and DIR/hash) is created when missing. ERR_NOT_FOUND
 * when it does not exist and create is false.
 */
static int hash_fd_get(struct ledger *l, unsigned h, bool create, int *fd)
{
	char path[4096];
	int n, r = 0;

	if (h >= MERKLE_HEIGHT_MAX)
		return ERR_INVALID;
	pthread_mutex_lock(&l->fd_mu);
	if (l->hash_fd[h] >= 0) {
		*fd = l->hash_fd[h];
		goto out;
	}
	n = snprintf(path, sizeof(path), "%s/" HASH_DIR, l->dir);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		r = ERR_INVALID;
		goto out;
	}
	if (create && l->mode == LEDGER_WRITE && mkdir(path, 0700) != 0 && errno != EEXIST) {
		r = ERR_IO;
		goto out;
	}
	n = snprintf(path, sizeof(path), "%s/" HASH_DIR "/L%02u", l->dir, h);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		r = ERR_INVALID;
		goto out;
	}
	if (l->mode == LEDGER_WRITE)
		l->hash_fd[h] = open(path, O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0600);
	else
		l->hash_fd[h] = open(path, O_RDONLY | O_CLOEXEC);
	if (l->hash_fd[h] < 0) {
		r = errno == ENOENT ? ERR_NOT_FOUND : ERR_IO;
		goto out;
	}
	*fd = l->hash_fd[h];
out:
	pthread_mutex_unlock(&l->fd_mu);
	return r;
}

int ledger_subtree_hash(void *ctx, uint64_t start, unsigned height, uint8_t out[MERKLE_HASH_SIZE])
{
	struct ledger *l = ctx;
	int fd, r;

	if (l == NULL || height >= MERKLE_HEIGHT_MAX || (start & (((uint64_t)1 << height) - 1)) != 0)
		return ERR_INVALID;
	if ((r = hash_fd_get(l, height, false, &fd)) < 0)
		return r == ERR_NOT_FOUND ? ERR_CORRUPT : r;
	return fd_pread_all(fd, out, MERKLE_HASH_SIZE, (start >> height) * MERKLE_HASH_SIZE);
}

static void batch_init(struct hash_batch *hb)
{
	for (unsigned h = 0; h < MERKLE_HEIGHT_MAX; h++) {
		buf_init(&hb->lv[h], SIZE_MAX);
		hb->first[h] = 0;
	}
}

static void batch_release(struct hash_batch *hb)
{
	for (unsigned h = 0; h < MERKLE_HEIGHT_MAX; h++)
		buf_release(&hb->lv[h]);
}

/* Add the hashes that the leaf making the tree size leaves completed. */
static int batch_add(struct hash_batch *hb, uint64_t size, uint8_t (*completed)[MERKLE_HASH_SIZE],
		     unsigned k)
{
	int r;

	for (unsigned h = 0; h < k; h++) {
		if (hb->lv[h].len == 0)
			hb->first[h] = (size >> h) - 1;
		if ((r = buf_append(&hb->lv[h], completed[h], MERKLE_HASH_SIZE)) < 0)
			return r;
	}
	return 0;
}

/* Write the batch's hashes at their places (no sync) and empty it; the
 * levels written are marked in *touched (bit h). */
static int batch_write(struct ledger *l, struct hash_batch *hb, uint64_t *touched)
{
	int fd, r;

	for (unsigned h = 0; h < MERKLE_HEIGHT_MAX; h++) {
		if (hb->lv[h].len == 0)
			continue;
		if ((r = hash_fd_get(l, h, true, &fd)) < 0 ||
		    (r = fd_pwrite_all(fd, hb->lv[h].data, hb->lv[h].len,
				    hb->first[h] * MERKLE_HASH_SIZE)) < 0)
			return r;
		*touched |= (uint64_t)1 << h;
		buf_reset(&hb->lv[h]);
	}
	return 0;
}

static int hashes_datasync(struct ledger *l, uint64_t touched)
{
	for (unsigned h = 0; h < MERKLE_HEIGHT_MAX; h++)
		if ((touched & ((uint64_t)1 << h)) && l->hash_fd[h] >= 0 &&
		    fdatasync(l->hash_fd[h]) != 0)
			return ERR_IO;
	return 0;
}

/*
 * hash/synced holds, as 8 little-endian bytes, a count s such that the
 * hashes of every subtree of the first s leaves are on disk. Appends do not
 * sync the hash files (they are recomputed from the records after a crash);
 * a checkpoint, a recomputation and a clean close sync them all and move s.
 * Written under the flock, so one process at a time.
 */
static int write_atomic(const char *dir, const char *name, const void *data, size_t len);

static uint64_t hashes_synced_read(struct ledger *l)
{
	char path[4096];
	uint8_t e[8];
	int fd, n;
	uint64_t v = 0;

	n = snprintf(path, sizeof(path), "%s/hash/synced", l->dir);
	if (n < 0 || (size_t)n >= sizeof(path))
		return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (fd_pread_all(fd, e, 8, 0) == 0)
		v = get_le64(e);
	close(fd);
	return v;
}

/* Write the mark n (the hash files already synced up to it). */
static int hashes_mark_write(struct ledger *l, uint64_t n)
{
	char dir[4096];
	uint8_t e[8];
	int k;

	k = snprintf(dir, sizeof(dir), "%s/hash", l->dir);
	if (k < 0 || (size_t)k >= sizeof(dir))
		return ERR_INVALID;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return ERR_IO;
	put_le64(e, n);
	return write_atomic(dir, "synced", e, 8);
}

static int hashes_mark_synced(struct ledger *l, uint64_t n)
{
	if (hashes_datasync(l, UINT64_MAX) < 0)
		return ERR_IO;
	return hashes_mark_write(l, n);
}


/*
 * The .idx entries are not synced with every group (the .log is): after a
 * power loss those written since the last sync may be lost anywhere in the
 * file, not only at its end, and they are rebuilt from the log. DIR/idx-synced
 * holds a count s (8 bytes little-endian, then its complement, so that a
 * torn write reads as no mark) such that the entries of the first s
 * records are on disk. A writer syncs the last segment's .idx and moves s
 * every LEDGER_IDX_SYNC_EVERY records (ledger_int.h), when a segment
 * fills, and at a clean close, and checks the entries past s against the
 * log when it opens the ledger
 * (idx_check). Written under the flock. docs/internals/ledger.md,
 * "Durability".
 */
static int fsync_dir(const char *path);
#define IDX_MARK_SIZE 16

/* The mark, or false when there is none that can be read. */
static bool idx_mark_read(struct ledger *l, uint64_t *s)
{
	uint8_t e[IDX_MARK_SIZE];
	uint64_t a, b;

	if (l->mark_fd < 0 || fd_pread_all(l->mark_fd, e, sizeof(e), 0) < 0)
		return false;
	a = get_le64(e);
	b = get_le64(e + 8);
	if (a != ~b)
		return false;
	*s = a;
	return true;
}

/* Set the mark to s; the caller has synced the .idx entries it covers. */
static int idx_mark_write(struct ledger *l, uint64_t s)
{
	uint8_t e[IDX_MARK_SIZE];

	put_le64(e, s);
	put_le64(e + 8, ~s);
	if (fd_pwrite_all(l->mark_fd, e, sizeof(e), 0) < 0 || fdatasync(l->mark_fd) != 0)
		return ERR_IO;
	l->idx_synced = s;
	return 0;
}

/*
 * Open DIR/idx-synced into l->mark_fd, creating it (and making its name
 * durable) when missing: 1 when it was there, 0 when it was created.
 */
static int idx_mark_open(struct ledger *l)
{
	char p[4096];
	int k = snprintf(p, sizeof(p), "%s/idx-synced", l->dir);

	if (k < 0 || (size_t)k >= sizeof(p))
		return ERR_INVALID;
	l->mark_fd = open(p, O_RDWR | O_CLOEXEC);
	if (l->mark_fd >= 0)
		return 1;
	if (errno != ENOENT)
		return ERR_IO;
	l->mark_fd = open(p, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (l->mark_fd < 0 || fsync_dir(l->dir) < 0)
		return ERR_IO;
	return 0;
}

/* Sync the last segment's .idx and move the mark to the end. */
static int idx_sync_all(struct ledger *l)
{
	if (l->widx_fd >= 0 && fdatasync(l->widx_fd) != 0)
		return ERR_IO;
	return idx_mark_write(l, l->n);
}

/* ---- paths ---- */

static int dir_path(const struct ledger *l, const char *rel, char *out, size_t cap)
{
	int k = snprintf(out, cap, "%s/%s", l->dir, rel);

	return k < 0 || (size_t)k >= cap ? ERR_INVALID : 0;
}

/* DIR/seg/<first>.<ext> */
static int seg_file(const struct ledger *l, uint64_t first, const char *ext, char *out, size_t cap)
{
	struct seg_info s = { .first = first };

	return seg_path(l->dir, &s, ext, out, cap);
}

static bool path_exists(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0;
}

/* Whether DIR/seg/<first>.idx exists: a segment starting at first (the
 * successor of a segment that ends there, when that one is not empty). */
static bool seg_idx_exists(const struct ledger *l, uint64_t first)
{
	char p[4096];

	return seg_file(l, first, "idx", p, sizeof(p)) == 0 && path_exists(p);
}

static int fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r = 0;

	if (fd < 0)
		return ERR_IO;
	if (fsync(fd) != 0)
		r = ERR_IO;
	close(fd);
	return r;
}

static int fsync_seg_dir(const struct ledger *l)
{
	char p[4096];
	int r;

	if ((r = dir_path(l, SEG_DIR, p, sizeof(p))) < 0)
		return r;
	return fsync_dir(p);
}

/* ---- the readers' table of segments ---- */

static void rseg_close(struct ledger *l, struct rseg *s)
{
	if (s->log_fd >= 0) {
		close(s->log_fd);
		l->open_segs--;
	}
	if (s->idx_fd >= 0)
		close(s->idx_fd);
	s->log_fd = s->idx_fd = -1;
	s->archived = false;
	free(s->arch_log);
	s->arch_log = NULL;
}

/*
 * Rebuild the table from the directory (seg_mu held): a segment counts
 * for readers once its .idx exists (a writer creates it after the lines
 * and hashes of the segment's first records, and after the index entries
 * of the segment before), or, once archived, its .seal. Descriptors of
 * segments still listed are kept.
 */
static int tab_rescan(struct ledger *l)
{
	struct seg_info *v = NULL;
	struct rseg *t = NULL;
	size_t n = 0, k = 0, j = 0;
	int r;

	if ((r = seg_list(l->dir, &v, &n)) < 0)
		return r;
	if (n > 0)
		t = xcalloc(n, sizeof(*t));
	for (size_t i = 0; i < n; i++) {
		if (!v[i].idx && !v[i].seal)
			continue;
		t[k].first = v[i].first;
		t[k].log_fd = t[k].idx_fd = -1;
		while (j < l->nsegs && l->segs[j].first < v[i].first)
			rseg_close(l, &l->segs[j++]);
		if (j < l->nsegs && l->segs[j].first == v[i].first) {
			t[k].log_fd = l->segs[j].log_fd;
			t[k].idx_fd = l->segs[j].idx_fd;
			t[k].archived = l->segs[j].archived;
			t[k].arch_log = l->segs[j].arch_log;
			t[k].used = l->segs[j].used;
			j++;
		}
		k++;
	}
	while (j < l->nsegs)
		rseg_close(l, &l->segs[j++]);
	free(l->segs);
	l->segs = t;
	l->nsegs = k;
	l->segs_cap = n;
	free(v);
	return 0;
}

/* The segment holding index i (the last one starting at or before it). */
static struct rseg *tab_find(struct ledger *l, uint64_t i)
{
	size_t lo = 0, hi = l->nsegs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (l->segs[mid].first <= i)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo == 0 ? NULL : &l->segs[lo - 1];
}

static int open_ro(const char *path, int *fd)
{
	*fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0)
		return errno == ENOENT ? ERR_NOT_FOUND : ERR_IO;
	return 0;
}

/* Open the .log and .idx at the two paths; both or neither. */
static int open_pair(const char *logp, const char *idxp, int *log_fd, int *idx_fd)
{
	int r;

	if ((r = open_ro(idxp, idx_fd)) < 0)
		return r;
	if ((r = open_ro(logp, log_fd)) < 0) {
		close(*idx_fd);
		*idx_fd = -1;
	}
	return r;
}

/*
 * Give segment s open descriptors (seg_mu held): its files in DIR/seg;
 * for segment 0, those of the single-file layout (not yet moved); and for
 * a segment whose files are gone, the copy in the archive its seal names.
 * ERR_ARCHIVED when the seal names an archive that does not hold the
 * segment (moved away or not mounted), ERR_CORRUPT when there is no seal.
 */
static int tab_open(struct ledger *l, struct rseg *s)
{
	char logp[4096], idxp[4096], name[SEG_NAME_MAX];
	struct seg_seal seal;
	int r;

	s->used = ++l->clock;
	/* An archive copy is read only while it is where the seal says:
	 * descriptors kept open would outlive its move. */
	if (s->log_fd >= 0 && s->archived && !path_exists(s->arch_log))
		rseg_close(l, s);
	if (s->log_fd >= 0)
		return 0;
	/* Close the least recently read segment when too many are open. */
	if (l->open_segs >= SEG_FD_CACHE) {
		struct rseg *old = NULL;

		for (size_t i = 0; i < l->nsegs; i++)
			if (l->segs[i].log_fd >= 0 && (old == NULL || l->segs[i].used < old->used))
				old = &l->segs[i];
		if (old != NULL)
			rseg_close(l, old);
	}
	if ((r = seg_file(l, s->first, "log", logp, sizeof(logp))) < 0 ||
	    (r = seg_file(l, s->first, "idx", idxp, sizeof(idxp))) < 0)
		return r;
	r = open_pair(logp, idxp, &s->log_fd, &s->idx_fd);
	if (r == ERR_NOT_FOUND && s->first == 0 && dir_path(l, "records.log", logp, sizeof(logp)) == 0 &&
	    dir_path(l, "records.idx", idxp, sizeof(idxp)) == 0) {
		/* Not yet moved, or being moved by a writer (the index first). */
		if (path_exists(idxp))
			r = open_pair(logp, idxp, &s->log_fd, &s->idx_fd);
		else if (seg_file(l, 0, "idx", idxp, sizeof(idxp)) == 0)
			r = open_pair(logp, idxp, &s->log_fd, &s->idx_fd);
	}
	if (r == ERR_NOT_FOUND) {
		if ((r = seg_file(l, s->first, "seal", logp, sizeof(logp))) < 0)
			return r;
		r = seg_seal_load(logp, &seal);
		if (r == ERR_NOT_FOUND || (r == 0 && seal.archive[0] == '\0'))
			return ERR_CORRUPT;
		if (r < 0)
			return r;
		seg_name(s->first, name);
		if (snprintf(logp, sizeof(logp), "%s/%s.log", seal.archive, name) >= (int)sizeof(logp) ||
		    snprintf(idxp, sizeof(idxp), "%s/%s.idx", seal.archive, name) >= (int)sizeof(idxp))
			return ERR_ARCHIVED;
		r = open_pair(logp, idxp, &s->log_fd, &s->idx_fd);
		if (r == ERR_NOT_FOUND)
			return ERR_ARCHIVED;
		if (r < 0)
			return r;
		s->archived = true;
		s->arch_log = xstrdup(logp);
	}
	if (r < 0)
		return r;
	l->open_segs++;
	return 0;
}

/*
 * The number of records (seg_mu held): the first index of the last
 * segment plus its whole index entries. A segment that another process
 * started since the table was built shows as a file named after the end
 * of the last one; the table is then rebuilt.
 */
static int tab_size(struct ledger *l, uint64_t *n)
{
	uint64_t size, count;
	int r;

	*n = 0;
	if (l->nsegs == 0 && (r = tab_rescan(l)) < 0)
		return r;
	for (unsigned tries = 0; l->nsegs > 0; tries++) {
		struct rseg *s = &l->segs[l->nsegs - 1];

		r = tab_open(l, s);
		if (r == ERR_CORRUPT && tries == 0) {
			/* The table is older than the directory (a segment a
			 * writer removed in a repair): read it again, once. */
			if ((r = tab_rescan(l)) < 0)
				return r;
			continue;
		}
		if (r < 0 || (r = file_size(s->idx_fd, &size)) < 0)
			return r;
		count = size / 8;
		if (count == 0 || !seg_idx_exists(l, s->first + count) || tries > 1000) {
			*n = s->first + count;
			return 0;
		}
		if ((r = tab_rescan(l)) < 0)
			return r;
	}
	return 0;
}

/*
 * Read record index into out (seg_mu held, index known to exist). A
 * record read from an archive copy is checked against its leaf hash in
 * hash/L00, which the signed checkpoints cover: a copy altered outside
 * the instance gives ERR_CORRUPT, not altered bytes.
 */
static int tab_read(struct ledger *l, uint64_t index, struct buf *out)
{
	struct rseg *s = tab_find(l, index);
	uint8_t e[8], leaf[MERKLE_HASH_SIZE], stored[MERKLE_HASH_SIZE];
	uint64_t off, log_size;
	int r;

	if (s == NULL)
		return ERR_CORRUPT;
	if ((r = tab_open(l, s)) < 0)
		return r;
	if ((r = fd_pread_all(s->idx_fd, e, 8, (index - s->first) * 8)) < 0 ||
	    (r = file_size(s->log_fd, &log_size)) < 0)
		return r;
	off = get_le64(e);
	if (off >= log_size)
		return ERR_CORRUPT;
	if ((r = read_line(s->log_fd, off, log_size, out)) < 0)
		return r;
	if (s->archived) {
		merkle_leaf_hash(out->data, out->len, leaf);
		if ((r = ledger_subtree_hash(l, index, 0, stored)) < 0)
			return r;
		if (memcmp(leaf, stored, MERKLE_HASH_SIZE) != 0) {
			log_error(T("監査記録: 記録 %" PRIu64 "（セグメント %" PRIu64
				    " の保管先）がハッシュと一致しません",
				    "ledger: record %" PRIu64 " in the archive of segment %" PRIu64
				    " does not match its hash"),
				  index, s->first);
			return ERR_CORRUPT;
		}
	}
	return 0;
}

/* ---- the writer's segments (flock held, group leader) ---- */

static void w_close(struct ledger *l)
{
	if (l->wlog_fd >= 0)
		close(l->wlog_fd);
	if (l->widx_fd >= 0)
		close(l->widx_fd);
	l->wlog_fd = l->widx_fd = -1;
}

/* Open (creating when missing; with trunc, emptying) segment first's
 * files read-write into *log_fd and *idx_fd. */
static int w_open(struct ledger *l, uint64_t first, bool trunc, int *log_fd, int *idx_fd)
{
	char p[4096];
	int flags = O_RDWR | O_CREAT | O_CLOEXEC | (trunc ? O_TRUNC : 0), r;

	*log_fd = *idx_fd = -1;
	if ((r = dir_path(l, SEG_DIR, p, sizeof(p))) < 0)
		return r;
	if (mkdir(p, 0700) != 0 && errno != EEXIST)
		return ERR_IO;
	if ((r = seg_file(l, first, "log", p, sizeof(p))) < 0)
		return r;
	if ((*log_fd = open(p, flags, 0600)) < 0)
		return ERR_IO;
	if ((r = seg_file(l, first, "idx", p, sizeof(p))) < 0)
		goto fail;
	if ((*idx_fd = open(p, flags, 0600)) < 0) {
		r = ERR_IO;
		goto fail;
	}
	return 0;
fail:
	close(*log_fd);
	*log_fd = -1;
	return r;
}

static int w_use(struct ledger *l, uint64_t first)
{
	int lf, xf, r;

	if (l->wlog_fd >= 0 && l->seg_first == first)
		return 0;
	if ((r = w_open(l, first, false, &lf, &xf)) < 0)
		return r;
	w_close(l);
	l->wlog_fd = lf;
	l->widx_fd = xf;
	l->seg_first = first;
	return 0;
}

/* Remove a segment's files (a segment that cannot follow the records
 * before it: what a writer that died while starting it left). */
static void w_remove(struct ledger *l, uint64_t first)
{
	char p[4096];
	const char *ext[] = { "idx", "log" };

	log_warn(T("監査記録: 前の記録に続かないセグメント %" PRIu64 " を削除します",
		   "ledger: removing segment %" PRIu64 ", which does not follow the records before it"),
		 first);
	for (size_t i = 0; i < ARRAY_SIZE(ext); i++)
		if (seg_file(l, first, ext[i], p, sizeof(p)) == 0)
			(void)unlink(p);
}

/*
 * Whether the segment s is whole up to end (its successor's first): an
 * archived one by its seal, else its .idx holds exactly end - first
 * entries and the last points to the record end - 1, ending its .log.
 */
static bool seg_whole(struct ledger *l, const struct seg_info *s, uint64_t end)
{
	char logp[4096], idxp[4096];
	uint64_t log_size, idx_size, off;
	struct seg_seal seal;
	struct buf line;
	uint8_t e[8];
	int lf = -1, xf = -1;
	bool ok = false;

	buf_init(&line, LEDGER_LINE_MAX);
	if (!s->log && !s->idx) {
		ok = s->seal && seg_path(l->dir, s, "seal", logp, sizeof(logp)) == 0 &&
		     seg_seal_load(logp, &seal) == 0 && seal.first + seal.count == end;
		goto out;
	}
	if (end <= s->first || seg_path(l->dir, s, "log", logp, sizeof(logp)) < 0 ||
	    seg_path(l->dir, s, "idx", idxp, sizeof(idxp)) < 0 ||
	    open_pair(logp, idxp, &lf, &xf) < 0 || file_size(lf, &log_size) < 0 ||
	    file_size(xf, &idx_size) < 0 || idx_size != (end - s->first) * 8 ||
	    fd_pread_all(xf, e, 8, idx_size - 8) < 0)
		goto out;
	off = get_le64(e);
	ok = off < log_size && read_line(lf, off, log_size, &line) == 0 &&
	     off + line.len + 1 == log_size && line_is_record(&line, end - 1);
out:
	if (lf >= 0)
		close(lf);
	if (xf >= 0)
		close(xf);
	buf_release(&line);
	return ok;
}

/*
 * Bring one segment's .log and .idx (first index first, named name in
 * messages) back to a consistent pair after a crash: keep the longest
 * prefix of complete, parseable records, rebuild missing index entries
 * from the log, and truncate anything after it. *count and *end receive
 * the records kept and the end of the log. The caller holds the flock on
 * LOCK, so no live process is in the middle of an append: whatever is
 * inconsistent was left by one that died (or failed) mid-write.
 */
static int seg_recover(int log_fd, int idx_fd, uint64_t first, const char *name, uint64_t *count,
		       uint64_t *end)
{
	uint64_t log_size, idx_size, k, k0, off = 0, off0;
	struct buf line;
	uint8_t e[8];
	int r;

	buf_init(&line, LEDGER_LINE_MAX);
	if ((r = file_size(log_fd, &log_size)) < 0 || (r = file_size(idx_fd, &idx_size)) < 0)
		goto out;
	/* Find the last index entry whose record is whole and matches. */
	for (k = idx_size / 8; k > 0; k--) {
		if ((r = fd_pread_all(idx_fd, e, 8, (k - 1) * 8)) < 0)
			goto out;
		off = get_le64(e);
		if (off < log_size && read_line(log_fd, off, log_size, &line) == 0 &&
		    line_is_record(&line, first + k - 1)) {
			off += line.len + 1;
			break;
		}
	}
	if (k == 0)
		off = 0;
	if (idx_size != k * 8)
		log_warn(T("監査記録: %s.idx を %" PRIu64 " バイトから %" PRIu64 " バイトに切り詰めます",
			   "ledger: truncating %s.idx from %" PRIu64 " to %" PRIu64 " bytes"),
			 name, idx_size, k * 8);
	if (ftruncate(idx_fd, (off_t)(k * 8)) != 0) {
		r = ERR_IO;
		goto out;
	}
	/* Records the log holds beyond the index get their entries back. */
	k0 = k;
	off0 = off;
	while (off < log_size && read_line(log_fd, off, log_size, &line) == 0 &&
	       line_is_record(&line, first + k)) {
		put_le64(e, off);
		if ((r = fd_pwrite_all(idx_fd, e, 8, k * 8)) < 0)
			goto out;
		k++;
		off += line.len + 1;
	}
	if (k > k0)
		log_warn(T("監査記録: 記録 %" PRIu64 "〜%" PRIu64 " (%s.log のバイト位置 %" PRIu64
			   " から) の索引をログから再構築しました",
			   "ledger: rebuilt the index entries of records %" PRIu64 " to %" PRIu64
			   " from %s.log (from byte offset %" PRIu64 ")"),
			 first + k0, first + k - 1, name, off0);
	if (off < log_size) {
		log_warn(T("監査記録: %s.log のバイト位置 %" PRIu64
			   " 以降の不完全な末尾 (%" PRIu64 " バイト) を切り詰めます",
			   "ledger: truncating torn tail of %s.log at byte offset %" PRIu64 " (%" PRIu64
			   " bytes)"),
			 name, off, log_size - off);
		if (ftruncate(log_fd, (off_t)off) != 0) {
			r = ERR_IO;
			goto out;
		}
	}
	if (fdatasync(log_fd) != 0 || fdatasync(idx_fd) != 0) {
		r = ERR_IO;
		goto out;
	}
	*count = k;
	*end = off;
	r = 0;
out:
	buf_release(&line);
	return r;
}

/*
 * Move a ledger of the single-file layout (DIR/records.log and
 * records.idx) to segment 0 (DIR/seg/000000000000.*), flock held. The
 * index moves first: a reader that finds no records.idx looks for the
 * segment's .idx and still finds the log under either name. A move cut
 * short by a crash is finished by the next writer.
 */
static int w_migrate(struct ledger *l)
{
	const char *ext[] = { "idx", "log" };
	char from[4096], to[4096];
	bool moved = false;
	int r;

	for (size_t i = 0; i < ARRAY_SIZE(ext); i++) {
		snprintf(to, sizeof(to), "records.%s", ext[i]);
		if ((r = dir_path(l, to, from, sizeof(from))) < 0)
			return r;
		if (!path_exists(from))
			continue;
		if ((r = dir_path(l, SEG_DIR, to, sizeof(to))) < 0)
			return r;
		if (mkdir(to, 0700) != 0 && errno != EEXIST)
			return ERR_IO;
		if ((r = seg_file(l, 0, ext[i], to, sizeof(to))) < 0)
			return r;
		if (path_exists(to)) {
			log_error(T("監査記録: %s と %s の両方があります",
				    "ledger: both %s and %s exist"),
				  from, to);
			return ERR_CORRUPT;
		}
		if (rename(from, to) != 0)
			return ERR_IO;
		moved = true;
	}
	if (!moved)
		return 0;
	if ((r = fsync_seg_dir(l)) < 0 || (r = fsync_dir(l->dir)) < 0)
		return r;
	log_info(T("監査記録: records.log と records.idx を seg/000000000000.log と .idx に移しました",
		   "ledger: moved records.log and records.idx to seg/000000000000.log and .idx"));
	return 0;
}

/*
 * Whether a segment's files are a consistent pair as they are (the
 * common case when another process appended): whole index entries, the
 * last pointing to the record first + k - 1 that ends the log, or both
 * empty. *count and *end receive the records and the log's size.
 */
static bool seg_tail_ok(int log_fd, int idx_fd, uint64_t first, uint64_t *count, uint64_t *end)
{
	uint64_t log_size, idx_size, k, off;
	struct buf line;
	uint8_t e[8];
	bool ok = false;

	buf_init(&line, LEDGER_LINE_MAX);
	if (file_size(log_fd, &log_size) < 0 || file_size(idx_fd, &idx_size) < 0 ||
	    idx_size % 8 != 0)
		goto out;
	k = idx_size / 8;
	if (k == 0) {
		ok = log_size == 0;
	} else if (fd_pread_all(idx_fd, e, 8, (k - 1) * 8) == 0) {
		off = get_le64(e);
		ok = off < log_size && read_line(log_fd, off, log_size, &line) == 0 &&
		     off + line.len + 1 == log_size && line_is_record(&line, first + k - 1);
	}
	*count = k;
	*end = log_size;
out:
	buf_release(&line);
	return ok;
}

/*
 * With the flock held, the slow path of finding the end: list the
 * segments and check the last one (and, when it is new to this handle,
 * that the one before it is whole). Anything else can only be what a
 * writer that died mid-append left (a live writer would hold the flock),
 * and is repaired: from the last whole segment on, each segment is
 * recovered like a torn tail, and a segment that does not start where
 * the records before it end is removed (its records were never reported
 * durable).
 */
static int w_settle(struct ledger *l)
{
	struct seg_info *v = NULL;
	char name[SEG_NAME_MAX + 8];
	uint64_t end = 0, count = 0, log_end = 0, last = 0, seen_first = l->seg_first;
	bool seen = l->wlog_fd >= 0, whole;
	size_t n = 0, j;
	int r;

	if ((r = w_migrate(l)) < 0 || (r = seg_list(l->dir, &v, &n)) < 0)
		goto out;
	if (n == 0) {
		if ((r = w_use(l, 0)) < 0)
			goto out;
		l->n = 0;
		l->log_end = 0;
		goto out;
	}
	if ((v[n - 1].log || v[n - 1].idx) && (r = w_use(l, v[n - 1].first)) < 0)
		goto out;
	if ((v[n - 1].log || v[n - 1].idx) &&
	    seg_tail_ok(l->wlog_fd, l->widx_fd, v[n - 1].first, &count, &log_end) &&
	    (n == 1 ? v[0].first == 0
		    : (seen && seen_first == v[n - 1].first) || seg_whole(l, &v[n - 2], v[n - 1].first))) {
		l->n = v[n - 1].first + count;
		l->log_end = log_end;
		goto out;
	}
	/* The last segment whole up to its successor, searching back. */
	for (j = n - 1; j > 0; j--) {
		if (seg_whole(l, &v[j - 1], v[j].first))
			break;
	}
	/* j: the first segment that may need repair; all before are whole. */
	if (j == 0 && v[0].first != 0) {
		log_error(T("監査記録: 記録 0 を含むセグメントがありません",
			    "ledger: no segment holds record 0"));
		r = ERR_CORRUPT;
		goto out;
	}
	end = v[j].first;
	whole = false;
	for (size_t i = j; i < n; i++) {
		int lf, xf;

		if (v[i].first != end) {
			w_remove(l, v[i].first);
			continue;
		}
		if (!v[i].log && !v[i].idx) {
			log_error(T("監査記録: セグメント %" PRIu64 " のファイルがありません",
				    "ledger: the files of segment %" PRIu64 " are missing"),
				  v[i].first);
			r = ERR_CORRUPT;
			goto out;
		}
		if ((r = w_open(l, v[i].first, false, &lf, &xf)) < 0)
			goto out;
		snprintf(name, sizeof(name), SEG_DIR "/%012" PRIu64, v[i].first);
		r = seg_recover(lf, xf, v[i].first, name, &count, &log_end);
		close(lf);
		close(xf);
		if (r < 0)
			goto out;
		last = v[i].first;
		end = v[i].first + count;
		whole = true;
	}
	if (!whole) {
		r = ERR_CORRUPT;
		goto out;
	}
	if ((r = w_use(l, last)) < 0)
		goto out;
	l->n = end;
	l->log_end = log_end;
	log_warn(T("監査記録: 不完全な末尾を修復しました。記録は %" PRIu64 " 件、%s.log は %" PRIu64
		   " バイトです",
		   "ledger: repaired a torn tail; the ledger now holds %" PRIu64 " records, %s.log %" PRIu64
		   " bytes"),
		 end, name, log_end);
out:
	free(v);
	return r;
}

/* The canonical bytes of record i (its line without '\n') into out. */
static int record_bytes(struct ledger *l, uint64_t i, struct buf *out)
{
	int r;

	/* The table may not know the segment yet (another process, or this
	 * one, started it since): a read past a segment's index rebuilds it. */
	pthread_mutex_lock(&l->seg_mu);
	r = tab_find(l, i) != NULL ? tab_read(l, i, out) : ERR_CORRUPT;
	if (r == ERR_CORRUPT && (r = tab_rescan(l)) == 0)
		r = tab_read(l, i, out);
	pthread_mutex_unlock(&l->seg_mu);
	return r;
}

/* The end of the sealed segments at the start of the ledger: the first
 * index not in one (0 when segment 0 is not sealed). */
static uint64_t sealed_end(struct ledger *l)
{
	struct seg_info *v = NULL;
	uint64_t end = 0;
	size_t n = 0;

	if (seg_list(l->dir, &v, &n) < 0)
		return 0;
	for (size_t i = 0; i + 1 < n && v[i].seal && v[i].first == end; i++)
		end = v[i + 1].first;
	free(v);
	return end;
}

/*
 * With the flock held and l->n the true number of records, bring the hash
 * files and l->tree to the tree of exactly those records. The hash files
 * are derived data: hashes beyond the records are cut (whoever wrote them
 * died before its records were complete), and hashes missing (a writer
 * that died between writing its lines and its hashes, or a ledger written
 * before the hashes existed) are recomputed from the records. Each change
 * is logged.
 */
static int hashes_sync(struct ledger *l)
{
	uint64_t n = l->n, m = n, m_files, sealed, touched = 0;
	uint8_t completed[MERKLE_HEIGHT_MAX][MERKLE_HASH_SIZE], leaf[MERKLE_HASH_SIZE],
	    stored[MERKLE_HASH_SIZE];
	struct hash_batch hb;
	struct buf line;
	int fd, r;

	batch_init(&hb);
	buf_init(&line, LEDGER_LINE_MAX);
	for (unsigned h = 0; h < MERKLE_HEIGHT_MAX; h++) {
		uint64_t need = n >> h, size, have;

		r = hash_fd_get(l, h, need > 0, &fd);
		if (r == ERR_NOT_FOUND) {
			continue; /* need is 0: nothing to keep */
		}
		if (r < 0 || (r = file_size(fd, &size)) < 0)
			goto out;
		have = size / MERKLE_HASH_SIZE;
		if (have > need || size % MERKLE_HASH_SIZE != 0) {
			if (have > need)
				have = need;
			log_warn(T("監査記録: hash/L%02u を %" PRIu64 " バイトから %" PRIu64
					 " バイトに切り詰めます（記録のないハッシュ）",
					 "ledger: truncating hash/L%02u from %" PRIu64 " to %" PRIu64
					 " bytes (hashes beyond the records)"),
				 h, size, have * MERKLE_HASH_SIZE);
			if (ftruncate(fd, (off_t)(have * MERKLE_HASH_SIZE)) != 0) {
				r = ERR_IO;
				goto out;
			}
			touched |= (uint64_t)1 << h;
		}
		if (have < (m >> h))
			m = have << h;
	}
	/* After this process opened the ledger (possibly after a crash of the
	 * machine), only hashes marked durable are trusted; the rest are
	 * recomputed from the records. Hashes another live process wrote
	 * since are in the page cache and are read as they are. */
	m_files = m;
	if (l->hashes_check_synced) {
		uint64_t s_ok = hashes_synced_read(l);
		if (m > s_ok)
			m = s_ok;
	}
	/* The hashes of sealed segments were durable and checked against
	 * their records when they were sealed, and their records may be in
	 * an archive out of reach: they are never recomputed. (Only looked
	 * up when something is to be recomputed: a directory listing.) */
	sealed = 0;
	if (m < n) {
		sealed = sealed_end(l);
		if (sealed > m_files)
			sealed = m_files;
		if (m < sealed)
			m = sealed;
	}
	/* A hash written but lost in a crash could read back as anything:
	 * check the last kept leaf against its record before building on it
	 * (a record archived out of reach was checked when it was sealed). */
	if (m > sealed) {
		if ((r = ledger_subtree_hash(l, m - 1, 0, stored)) < 0)
			goto out;
		r = record_bytes(l, m - 1, &line);
		if (r < 0 && r != ERR_ARCHIVED)
			goto out;
		if (r == 0)
			merkle_leaf_hash(line.data, line.len, leaf);
		if (r == 0 && memcmp(leaf, stored, MERKLE_HASH_SIZE) != 0) {
			log_warn(T("監査記録: hash/L00 の記録 %" PRIu64
					 " のハッシュが記録と一致しません。すべてのハッシュを再計算します",
					 "ledger: the hash of record %" PRIu64
					 " in hash/L00 does not match the record; recomputing every hash"),
				 m - 1);
			sealed = sealed_end(l);
			m = sealed < m ? sealed : 0;
		}
		r = 0;
	}
	if ((r = merkle_builder_load(&l->tree, m, ledger_subtree_hash, l)) < 0)
		goto out;
	if (m < n)
		log_warn(T("監査記録: 記録 %" PRIu64 " から %" PRIu64
				 " までのハッシュを記録から再計算します",
				 "ledger: recomputing the hashes of records %" PRIu64 " to %" PRIu64
				 " from the records"),
			 m, n - 1);
	for (uint64_t i = m; i < n; i++) {
		unsigned k;

		if ((r = record_bytes(l, i, &line)) < 0)
			goto out;
		merkle_leaf_hash(line.data, line.len, leaf);
		if ((r = merkle_builder_append(&l->tree, leaf, completed, &k)) < 0 ||
		    (r = batch_add(&hb, l->tree.size, completed, k)) < 0)
			goto out;
		if ((i + 1) % REBUILD_BATCH == 0 && (r = batch_write(l, &hb, &touched)) < 0)
			goto out;
	}
	if ((r = batch_write(l, &hb, &touched)) < 0)
		goto out;
	if (l->hashes_check_synced || m < n) {
		if ((r = hashes_mark_synced(l, n)) < 0)
			goto out;
		l->hashes_check_synced = false;
	}
	l->hashes_dirty = false;
	r = 0;
out:
	if (r < 0) {
		l->hashes_dirty = true;
		log_error(T("監査記録: ハッシュファイルを記録に合わせられません: %s",
			    "ledger: cannot bring the hash files in line with the records: %s"),
			  err_msg(r));
	}
	buf_release(&line);
	batch_release(&hb);
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
 * l->n, l->seg_first and l->log_end: another process may have appended
 * since this one last looked. Nothing changed when the last segment's
 * files have the sizes this process left and no segment starts where it
 * ends (the common case for a single writer: the files only grow, except
 * by a repair, which leaves a consistent pair). Otherwise w_settle looks
 * at the directory.
 */
static int find_records_end(struct ledger *l)
{
	uint64_t log_size, idx_size, count, end;

	if (l->wlog_fd >= 0 && file_size(l->wlog_fd, &log_size) == 0 &&
	    file_size(l->widx_fd, &idx_size) == 0) {
		if (idx_size == (l->n - l->seg_first) * 8 && log_size == l->log_end &&
		    (l->n == l->seg_first || !seg_idx_exists(l, l->n)))
			return 0;
		/* Another process appended to the same segment (the common
		 * case with several writers): it is still the last one when no
		 * segment starts where it ends and it is a consistent pair. */
		if ((idx_size < 8 || !seg_idx_exists(l, l->seg_first + idx_size / 8)) &&
		    seg_tail_ok(l->wlog_fd, l->widx_fd, l->seg_first, &count, &end)) {
			l->n = l->seg_first + count;
			l->log_end = end;
			return 0;
		}
	}
	return w_settle(l);
}

/*
 * With the flock held, find the true end of the ledger (above) and bring
 * the hash files and the in-memory tree to it: when another process
 * appended, the tree is reloaded from the hash files (and what that
 * process left incomplete is recomputed).
 */
static int ledger_find_end(struct ledger *l)
{
	uint64_t n0 = l->n, e0 = l->log_end, f0 = l->seg_first;
	int r;

	if ((r = find_records_end(l)) < 0)
		return r;
	if (l->hashes_dirty || l->n != n0 || l->log_end != e0 || l->seg_first != f0 ||
	    l->tree.size != l->n)
		return hashes_sync(l);
	return 0;
}

/*
 * With the flock held, at a writer's open: check the .idx entries of the
 * last segment past the mark against its log — each must be where the
 * line before it ends, and the line there must begin as record i's — and,
 * at the first that is not, rebuild them from the log (seg_recover) and
 * say so. A ledger that has no mark file was written when every group
 * synced its .idx: it gets a mark and nothing is checked.
 */
static int idx_check(struct ledger *l, bool had_mark)
{
	static const char head[] = "{\"v\":1,\"index\":";
	uint64_t s = 0, k = 0, off = 0;
	struct buf line;
	char name[SEG_NAME_MAX + 8];
	int r = 0;

	if (!had_mark || l->wlog_fd < 0)
		return idx_sync_all(l);
	if (!idx_mark_read(l, &s))
		s = 0; /* unreadable: check the whole last segment */
	l->idx_synced = s;
	if (s >= l->n)
		return 0;
	if (s < l->seg_first)
		s = l->seg_first;
	buf_init(&line, LEDGER_LINE_MAX);
	if (s > l->seg_first) {
		uint8_t e[8];

		/* Entry s - 1 is on disk: its line's end is where s begins. */
		if ((r = fd_pread_all(l->widx_fd, e, 8, (s - 1 - l->seg_first) * 8)) < 0 ||
		    (r = read_line(l->wlog_fd, get_le64(e), l->log_end, &line)) < 0)
			goto repair;
		off = get_le64(e) + line.len + 1;
	}
	for (k = s; k < l->n; k++) {
		uint8_t e[8];
		char want[64];
		int n = snprintf(want, sizeof(want), "%s%" PRIu64 ",", head, k);

		if (fd_pread_all(l->widx_fd, e, 8, (k - l->seg_first) * 8) < 0 || get_le64(e) != off ||
		    read_line(l->wlog_fd, off, l->log_end, &line) < 0 || line.len < (size_t)n ||
		    memcmp(line.data, want, (size_t)n) != 0)
			goto repair;
		off += line.len + 1;
	}
	if (off != l->log_end)
		goto repair;
	r = idx_sync_all(l);
	goto out;
repair:
	k = k > s ? k : s;
	log_warn(T("監査記録: 記録 %" PRIu64 " 以降の索引がログと一致しません（同期前の電源断など）。ログから再構築します",
		   "ledger: the index entries from record %" PRIu64
		   " on do not match the log (a power loss before they were synced?); rebuilding them from the log"),
		 k);
	snprintf(name, sizeof(name), SEG_DIR "/%012" PRIu64, l->seg_first);
	{
		uint64_t count = 0, end = 0;

		if (ftruncate(l->widx_fd, (off_t)((k - l->seg_first) * 8)) != 0) {
			r = ERR_IO;
			goto out;
		}
		if ((r = seg_recover(l->wlog_fd, l->widx_fd, l->seg_first, name, &count, &end)) < 0)
			goto out;
		l->n = l->seg_first + count;
		l->log_end = end;
	}
	l->hashes_dirty = true;
	if ((r = hashes_sync(l)) < 0)
		goto out;
	r = idx_sync_all(l);
out:
	buf_release(&line);
	return r;
}

int ledger_open(const char *dir, enum ledger_mode mode, struct ledger **out)
{
	struct ledger *l = NULL;
	char p[4096];
	int r;

	*out = NULL;
	if (mode == LEDGER_WRITE && mkdir(dir, 0700) != 0 && errno != EEXIST)
		return ERR_IO;
	l = xcalloc(1, sizeof(*l));
	l->mode = mode;
	l->lock_fd = l->wlog_fd = l->widx_fd = l->mark_fd = -1;
	l->tail = &l->queue;
	l->dir = xstrdup(dir);
	l->seg_entries = LEDGER_SEGMENT_ENTRIES_DEFAULT;
	l->hashes_dirty = true; /* check the hash files at the first lock */
	l->hashes_check_synced = true;
	merkle_builder_init(&l->tree);
	for (unsigned h = 0; h < MERKLE_HEIGHT_MAX; h++)
		l->hash_fd[h] = -1;
	pthread_mutex_init(&l->fd_mu, NULL);
	pthread_mutex_init(&l->seg_mu, NULL);
	pthread_mutex_init(&l->mu, NULL);
	pthread_cond_init(&l->cv, NULL);
	par_init(&l->par);
	par_init(&l->io);
	if (mode == LEDGER_WRITE) {
		if ((r = dir_path(l, "LOCK", p, sizeof(p))) < 0)
			goto out;
		l->lock_fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (l->lock_fd < 0) {
			r = ERR_IO;
			goto out;
		}
		/*
		 * A writer checks the tail now, under the flock, so that a
		 * crash of the last writer is repaired (and reported) at once
		 * rather than at the first append, and a ledger of the
		 * single-file layout is moved to segment files. Other writers
		 * may keep the ledger open; they hold the flock only while
		 * appending.
		 */
		if ((r = ledger_lock(l)) < 0)
			goto out;
		r = ledger_find_end(l);
		if (r == 0)
			r = idx_mark_open(l);
		if (r >= 0)
			r = idx_check(l, r == 1);
		ledger_unlock(l);
		if (r < 0)
			goto out;
	} else {
		/* A reader needs a ledger there: at least one segment. */
		pthread_mutex_lock(&l->seg_mu);
		r = tab_rescan(l);
		if (r == 0 && l->nsegs == 0)
			r = ERR_NOT_FOUND;
		pthread_mutex_unlock(&l->seg_mu);
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

int ledger_set_segment_entries(struct ledger *l, uint64_t n)
{
	if (l == NULL || n == 0 || n > SEG_ENTRIES_MAX)
		return ERR_INVALID;
	pthread_mutex_lock(&l->mu);
	l->seg_entries = n;
	pthread_mutex_unlock(&l->mu);
	return 0;
}

void ledger_close(struct ledger *l)
{
	if (l == NULL)
		return;
	/* A clean close makes this process's hashes durable, so that the next
	 * open recomputes nothing. */
	if (l->mode == LEDGER_WRITE && !l->failed && !l->hashes_dirty && l->lock_fd >= 0 &&
	    l->tree.size > 0 && ledger_lock(l) == 0) {
		if (ledger_find_end(l) == 0 && !l->hashes_dirty) {
			(void)hashes_mark_synced(l, l->tree.size);
			if (l->mark_fd >= 0 && l->idx_synced != l->n)
				(void)idx_sync_all(l);
		}
		ledger_unlock(l);
	}
	par_stop(&l->par);
	par_stop(&l->io);
	if (l->mark_fd >= 0)
		close(l->mark_fd);
	w_close(l);
	if (l->lock_fd >= 0)
		close(l->lock_fd); /* would release the flock, were it held */
	for (unsigned h = 0; h < MERKLE_HEIGHT_MAX; h++)
		if (l->hash_fd[h] >= 0)
			close(l->hash_fd[h]);
	for (size_t i = 0; i < l->nsegs; i++)
		rseg_close(l, &l->segs[i]);
	free(l->segs);
	free(l->dir);
	scratch_release(l);
	pthread_mutex_destroy(&l->fd_mu);
	pthread_mutex_destroy(&l->seg_mu);
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

	if (b == NULL || n == 0 || n > LEDGER_BODY_MAX)
		return false;
	/* The one-pass check settles the common case (a body it passes has
	 * no '\n' or '\r'); jansson stays the judge of everything it is not
	 * sure of (bodycheck.c). */
	if (ledger_body_surely_valid(b, n))
		return true;
	if (memchr(b, '\n', n) != NULL || memchr(b, '\r', n) != NULL)
		return false;
	j = json_loadb(b, n, 0, NULL);
	ok = j != NULL && json_is_object(j);
	json_decref(j);
	return ok;
}

/*
 * The last timestamp rendered, so that the records of a group written in
 * the same second share one rendering.
 */
struct ts_memo {
	int64_t secs;
	bool valid;
	size_t len;
	char text[TS_TEXT_MAX];
};

static const char *ts_memo_text(struct ts_memo *tm, int64_t secs, size_t *len)
{
	if (!tm->valid || tm->secs != secs) {
		ts_format_jst(secs, tm->text);
		tm->len = strlen(tm->text);
		tm->secs = secs;
		tm->valid = true;
	}
	*len = tm->len;
	return tm->text;
}

/*
 * One record line: {"v":1,"index":N,"ts":"...","kind":"...","actor":"...",
 * "body":BODY}\n. Its length is worked out first (line_len), so that the
 * lines of a group can be rendered straight into their places, in two
 * halves at once (lines_range).
 */
#define L_HEAD "{\"v\":1,\"index\":"
#define L_TS ",\"ts\":\""
#define L_KIND "\",\"kind\":\""
#define L_ACTOR "\",\"actor\":"
#define L_BODY ",\"body\":"
#define L_END "}\n"
#define L_FIXED                                                                             \
	(sizeof(L_HEAD) - 1 + sizeof(L_TS) - 1 + sizeof(L_KIND) - 1 + sizeof(L_ACTOR) - 1 + \
	 sizeof(L_BODY) - 1 + sizeof(L_END) - 1)

static size_t u64_digits(uint64_t v)
{
	size_t n = 1;

	for (; v >= 10; v /= 10)
		n++;
	return n;
}

static char *put_u64(char *p, uint64_t v, size_t digits)
{
	for (size_t k = digits; k-- > 0; v /= 10)
		p[k] = (char)('0' + v % 10);
	return p + digits;
}

static char *put_mem(char *p, const void *s, size_t n)
{
	memcpy(p, s, n);
	return p + n;
}

/* The actor as a JSON string. actor_valid lets through printable UTF-8
 * only, so '"' and '\\' are the only bytes to escape (which is what
 * buf_json_str would write for it). */
static size_t actor_json_len(const char *a, size_t n)
{
	size_t e = n + 2;

	for (size_t i = 0; i < n; i++)
		e += a[i] == '"' || a[i] == '\\';
	return e;
}

static char *put_actor(char *p, const char *a, size_t n)
{
	*p++ = '"';
	for (size_t i = 0; i < n; i++) {
		if (a[i] == '"' || a[i] == '\\')
			*p++ = '\\';
		*p++ = a[i];
	}
	*p++ = '"';
	return p;
}

static size_t line_len(const struct audit_rec *rec, uint64_t index, size_t ts_len)
{
	return L_FIXED + u64_digits(index) + ts_len + strlen(rec->kind) +
	       actor_json_len(rec->actor, strlen(rec->actor)) + rec->body_len;
}

/*
 * The part of a group that goes to one segment: the lines text[t0, t1)
 * written at byte log_off of the segment's .log, and their index entries
 * idx[x0, x1) at byte idx_off of its .idx. A chunk of a segment that the
 * group starts has its own descriptors (fresh == true).
 */
struct chunk {
	uint64_t seg;
	uint64_t log_off, idx_off;
	size_t t0, t1, x0, x1;
	bool fresh;
	int log_fd, idx_fd;
};

/*
 * The lines of a group: record k (index first + k) is rec[k], its line
 * text[start[k], start[k + 1]) with its '\n' last, its leaf hash leaf[k].
 */
struct lines {
	const struct audit_rec **rec;
	uint64_t first;
	int64_t now; /* the time of records without one */
	bool hash;   /* lines_range hashes each line too */
	char *text;
	size_t *start;
	uint8_t (*leaf)[MERKLE_HASH_SIZE];
	/* With ch (a large group): lines_range also writes the lines it
	 * rendered into the .log of their chunks, and says how that went in
	 * wr[0] for the range that starts at 0, wr[1] for the other. */
	size_t n; /* lines */
	const struct chunk *ch;
	size_t nch;
	int wr[2], werr[2];
	/* The leaf hashes of a large group, in runs of LEAF_RUN lines that
	 * two threads claim in turn (leaf_run_claim): run c is claimed when
	 * claim > c and its leaves are there when ready[c] is set. */
	atomic_size_t claim;
	atomic_uchar *ready;
	size_t nruns;
};

/* Lines per run of leaf hashes: small enough that a thread waiting for a
 * run the other is hashing waits a few microseconds, large enough that
 * claiming costs nothing next to the hashes. */
#define LEAF_RUN 32

/* Write text[a, b) of a group into the .log of the chunks it falls in. */
static int lines_write(const struct lines *ln, size_t a, size_t b)
{
	for (size_t i = 0; i < ln->nch; i++) {
		const struct chunk *c = &ln->ch[i];
		size_t x0 = a > c->t0 ? a : c->t0, x1 = b < c->t1 ? b : c->t1;

		if (x0 < x1 && fd_pwrite_all(c->log_fd, ln->text + x0, x1 - x0,
					  c->log_off + (x0 - c->t0)) < 0)
			return ERR_IO;
	}
	return 0;
}

/* Render lines [lo, hi) into their places, and with ln->hash hash each
 * while it is still in the cache. */
static void lines_range(void *ctx, size_t lo, size_t hi)
{
	struct lines *ln = ctx;
	struct ts_memo tm = { 0 };

	for (size_t k = lo; k < hi; k++) {
		const struct audit_rec *rec = ln->rec[k];
		uint64_t index = ln->first + k;
		char *line = ln->text + ln->start[k], *p = line;
		size_t len = ln->start[k + 1] - ln->start[k], tl;
		const char *ts = ts_memo_text(&tm, rec->ts == TS_NONE ? ln->now : rec->ts, &tl);

		p = put_mem(p, L_HEAD, sizeof(L_HEAD) - 1);
		p = put_u64(p, index, u64_digits(index));
		p = put_mem(p, L_TS, sizeof(L_TS) - 1);
		p = put_mem(p, ts, tl);
		p = put_mem(p, L_KIND, sizeof(L_KIND) - 1);
		p = put_mem(p, rec->kind, strlen(rec->kind));
		p = put_mem(p, L_ACTOR, sizeof(L_ACTOR) - 1);
		p = put_actor(p, rec->actor, strlen(rec->actor));
		p = put_mem(p, L_BODY, sizeof(L_BODY) - 1);
		p = put_mem(p, rec->body, rec->body_len);
		p = put_mem(p, L_END, sizeof(L_END) - 1);
		if ((size_t)(p - line) != len)
			BUG("ledger: a record line is not the length worked out for it");
		if (ln->hash)
			merkle_leaf_hash(line, len - 1, ln->leaf[k]);
	}
	/* Written at once, while the other half is still being rendered:
	 * the kernel's copy into the page cache is done on both cores, and
	 * the sync can start as soon as both halves are in. */
	if (ln->ch != NULL && lo < hi &&
	    (ln->wr[lo != 0] = lines_write(ln, ln->start[lo], ln->start[hi])) < 0)
		ln->werr[lo != 0] = errno;
}

/* The leaf hashes of lines [lo, hi): each line without its '\n'. */
static void leaves_range(void *ctx, size_t lo, size_t hi)
{
	struct lines *ln = ctx;

	for (size_t k = lo; k < hi; k++)
		merkle_leaf_hash(ln->text + ln->start[k], ln->start[k + 1] - ln->start[k] - 1,
				 ln->leaf[k]);
}

/* Claim the next run of leaves not yet claimed and hash it; false when
 * every run has been claimed already. */
static bool leaf_run_claim(struct lines *ln)
{
	size_t c = atomic_fetch_add_explicit(&ln->claim, 1, memory_order_relaxed), lo, hi;

	if (c >= ln->nruns)
		return false;
	lo = c * LEAF_RUN;
	hi = ln->n - lo > LEAF_RUN ? lo + LEAF_RUN : ln->n;
	leaves_range(ln, lo, hi);
	atomic_store_explicit(&ln->ready[c], 1, memory_order_release);
	return true;
}

/* The second thread's part: runs, as long as there are any. */
static void leaf_runs(void *ctx, size_t lo, size_t hi)
{
	(void)lo;
	(void)hi;
	while (leaf_run_claim(ctx))
		;
}

/*
 * Wait until run c's leaves are there, hashing runs meanwhile: the
 * thread growing the tree never idles while leaves remain to be hashed,
 * and once every run is claimed it waits for at most the one run the
 * other thread is on (a few microseconds).
 */
static void leaf_run_wait(struct lines *ln, size_t c)
{
	unsigned spins = 0;

	while (!atomic_load_explicit(&ln->ready[c], memory_order_acquire)) {
		if (leaf_run_claim(ln))
			continue;
		if (++spins < 256) {
#if defined(__x86_64__) || defined(__i386__)
			__builtin_ia32_pause();
#endif
		} else {
			sched_yield();
			spins = 0;
		}
	}
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

static void chunks_close(struct chunk *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!c[i].fresh)
			continue;
		if (c[i].log_fd >= 0)
			close(c[i].log_fd);
		if (c[i].idx_fd >= 0)
			close(c[i].idx_fd);
		c[i].log_fd = c[i].idx_fd = -1;
	}
}

/*
 * Take back a failed group: the last segment's files are cut back to
 * where they were, and segments the group started are removed, so that
 * the files stay a valid set; if even that fails, the next writer's
 * check repairs the tail. Returns false when the cut failed.
 */
static bool commit_undo(struct ledger *l, struct chunk *c, size_t n)
{
	bool ok = true;
	char p[4096];

	for (size_t i = n; i-- > 0;) {
		if (!c[i].fresh)
			continue;
		if (seg_file(l, c[i].seg, "idx", p, sizeof(p)) == 0 && unlink(p) != 0 && errno != ENOENT)
			ok = false;
		if (seg_file(l, c[i].seg, "log", p, sizeof(p)) == 0 && unlink(p) != 0 && errno != ENOENT)
			ok = false;
	}
	if (ftruncate(l->wlog_fd, (off_t)l->log_end) != 0 ||
	    ftruncate(l->widx_fd, (off_t)((l->n - l->seg_first) * 8)) != 0)
		ok = false;
	return ok;
}

/*
 * Writing the lines of a group into the .log of each chunk. With sync,
 * each .log is then fdatasync'ed (this runs on the second thread while
 * the calling thread grows the tree); without, the writeback is only
 * started, and the caller syncs later.
 */
struct log_io {
	const struct chunk *ch;
	size_t nch;
	const char *text;
	bool sync;
	int wr, sr;     /* results of the writes and of the syncs */
	int werr, serr; /* their errno */
	bool written;   /* the lines are written already: only sync */
};

static void log_io_run(void *ctx, size_t lo, size_t hi)
{
	struct log_io *io = ctx;

	(void)lo;
	(void)hi;
	for (size_t i = 0; i < io->nch && !io->written; i++) {
		const struct chunk *c = &io->ch[i];

		if (fd_pwrite_all(c->log_fd, io->text + c->t0, c->t1 - c->t0, c->log_off) < 0) {
			io->werr = errno;
			io->wr = ERR_IO;
			return;
		}
		if (!io->sync)
			(void)sync_file_range(c->log_fd, (off64_t)c->log_off, (off64_t)(c->t1 - c->t0),
					      SYNC_FILE_RANGE_WRITE);
	}
	for (size_t i = 0; io->sync && i < io->nch; i++) {
		if (fdatasync(io->ch[i].log_fd) != 0) {
			io->serr = errno;
			io->sr = ERR_IO;
			return;
		}
	}
}

/*
 * Write one group (the appends queued in this process, in order) at the
 * end of the ledger and make it durable, all under the flock: find the
 * true end, assign indexes, lay the lines out, render and hash them (on
 * two cores when the group is large), write the lines and make them
 * durable on the second thread while this one grows the tree and writes
 * its hashes, then write the index entries, unlock. A segment holding
 * per_seg records or more takes no more: the next record starts a
 * segment, which may happen inside a group (the group's records then
 * span segments). Sets each request's first index and result. Called by
 * the group leader without l->mu held; *failed is set when the files may
 * no longer be a consistent set or a sync failed.
 */
static void ledger_commit(struct ledger *l, struct append_req *group, uint64_t per_seg,
			  bool *failed)
{
	uint8_t completed[MERKLE_HEIGHT_MAX][MERKLE_HASH_SIZE];
	struct merkle_builder *tree = xmalloc(sizeof(*tree));
	struct lines ln = { .rec = NULL };
	struct log_io io = { NULL, 0, NULL, false, 0, 0, 0, 0, false };
	size_t text_len = 0;
	struct hash_batch hb;
	struct buf idx;
	struct chunk *ch = NULL;
	size_t nch = 0, capch = 0;
	uint64_t start, total = 0, touched = 0, seg, in_seg, seg_off;
	struct ts_memo tm = { 0 };
	bool locked = false, fresh = false, async = false, helped = false;
	int r;

	atomic_init(&ln.claim, 0);
	buf_init(&idx, SIZE_MAX);
	batch_init(&hb);
	if ((r = group_count(group, &total)) < 0)
		goto out;
	/* Each record's line start (one more for the end), record and leaf
	 * hash: below SIZE_MAX / 64 records, their sizes cannot overflow. */
	if (total >= SIZE_MAX / 64) {
		r = ERR_TOO_LARGE;
		goto out;
	}
	if (l->cs.cap < total + 1) {
		scratch_release(l);
		l->cs.cap = (size_t)total + 1;
		l->cs.start = xmalloc(l->cs.cap * sizeof(*l->cs.start));
		l->cs.rec = xmalloc(l->cs.cap * sizeof(*l->cs.rec));
		l->cs.leaf = xmalloc(l->cs.cap * MERKLE_HASH_SIZE);
		l->cs.ready = xmalloc((l->cs.cap / LEAF_RUN + 1) * sizeof(*l->cs.ready));
	}
	ln.start = l->cs.start;
	ln.rec = l->cs.rec;
	ln.leaf = l->cs.leaf;
	ln.ready = l->cs.ready;
	ln.n = (size_t)total;
	ln.nruns = ((size_t)total + LEAF_RUN - 1) / LEAF_RUN;
	for (size_t c = 0; c < ln.nruns; c++)
		atomic_init(&ln.ready[c], 0);
	{
		size_t k = 0;

		for (struct append_req *g = group; g != NULL; g = g->next)
			for (size_t i = 0; i < g->n; i++)
				ln.rec[k++] = &g->recs[i];
	}
	ln.now = ts_now();
	if ((r = ledger_lock(l)) < 0)
		goto out;
	locked = true;
	if ((r = ledger_find_end(l)) < 0)
		goto out;
	/* The tree grows in a copy, kept only once the group is on disk. */
	*tree = l->tree;
	start = ln.first = l->n;
	seg = l->seg_first;
	in_seg = l->n - l->seg_first;
	seg_off = l->log_end;
	{
		uint64_t next = start;

		for (struct append_req *g = group; g != NULL; g = g->next) {
			g->first = next;
			next += g->n;
		}
	}
	/* The layout: each line's place, the chunks, the index entries. */
	for (uint64_t k = 0; k < total; k++) {
		const struct audit_rec *rec = ln.rec[k];
		struct chunk *c;
		uint8_t e[8];
		size_t tl;

		(void)ts_memo_text(&tm, rec->ts == TS_NONE ? ln.now : rec->ts, &tl);
		if (in_seg >= per_seg || nch == 0) {
			if (in_seg >= per_seg) {
				seg = start + k;
				in_seg = 0;
				seg_off = 0;
				fresh = true;
			}
			if (nch == capch) {
				capch = capch ? capch * 2 : 4;
				ch = xrealloc(ch, capch * sizeof(*ch));
			}
			ch[nch++] = (struct chunk){ seg,     seg_off, in_seg * 8, text_len, text_len,
						    idx.len, idx.len, fresh,	  -1,	    -1 };
		}
		c = &ch[nch - 1];
		put_le64(e, c->log_off + (text_len - c->t0));
		if ((r = buf_append(&idx, e, 8)) < 0)
			goto out;
		ln.start[k] = text_len;
		if (__builtin_add_overflow(text_len, line_len(rec, start + k, tl), &text_len)) {
			r = ERR_TOO_LARGE;
			goto out;
		}
		c->t1 = text_len;
		c->x1 = idx.len;
		in_seg++;
	}
	ln.start[total] = text_len;
	if (l->cs.text_cap < text_len + 1) {
		free(l->cs.text);
		l->cs.text_cap = text_len + 1;
		l->cs.text = xmalloc(l->cs.text_cap);
	}
	ln.text = l->cs.text;
	/*
	 * The lines go into segments the group starts, whose .log is created
	 * empty (a leftover of a writer that died there counts for no one,
	 * having no .idx); their hashes go into the hash files meanwhile; the
	 * index entries that make them count come after both, segment by
	 * segment, a started segment's .idx created only then: a reader never
	 * follows an index entry to bytes (or asks for hashes) that are not
	 * there yet, and counts a segment only after the one before it is
	 * complete.
	 */
	for (size_t i = 0; i < nch && r == 0; i++) {
		char p[4096];

		if (!ch[i].fresh) {
			ch[i].log_fd = l->wlog_fd;
			ch[i].idx_fd = l->widx_fd;
		} else if ((r = seg_file(l, ch[i].seg, "log", p, sizeof(p))) == 0) {
			ch[i].log_fd = open(p, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
			if (ch[i].log_fd < 0)
				r = ERR_IO;
		}
	}
	/*
	 * A small group's lines are rendered and hashed in one pass, then
	 * written. A large group's are rendered on two cores, each half
	 * written as soon as it is rendered; a third thread then syncs them
	 * while the first two hash the leaves in runs and this one grows the
	 * tree behind them (docs/internals/ledger.md, "Durability: group
	 * commit").
	 */
	ln.hash = total < PAR_MIN;
	if (!ln.hash) {
		ln.ch = ch;
		ln.nch = nch;
	}
	if (r == 0) {
		par_split(&l->par, lines_range, &ln, (size_t)total, PAR_MIN);
		for (int h = 0; h < 2 && r == 0; h++)
			if (ln.wr[h] < 0) {
				errno = io.werr = ln.werr[h];
				io.wr = r = ln.wr[h];
			}
	}
	if (r == 0) {
		io = (struct log_io){ ch, nch, ln.text, true, 0, 0, 0, 0, !ln.hash };
		async = !ln.hash && par_begin(&l->io, log_io_run, &io, 0, 1);
		if (!async) {
			io.sync = false;
			log_io_run(&io, 0, 1);
		}
		if (!ln.hash)
			helped = par_begin(&l->par, leaf_runs, &ln, 0, 1);
	}
	for (uint64_t i = 0; i < total && r == 0; i++) {
		unsigned k;

		if (!ln.hash && i % LEAF_RUN == 0)
			leaf_run_wait(&ln, (size_t)i / LEAF_RUN);
		if ((r = merkle_builder_append(tree, ln.leaf[i], completed, &k)) == 0)
			r = batch_add(&hb, tree->size, completed, k);
	}
	if (helped)
		par_end(&l->par);
	if (r == 0)
		r = batch_write(l, &hb, &touched);
	if (async)
		par_end(&l->io);
	if (r == 0 && io.wr < 0) {
		errno = io.werr;
		r = io.wr;
	}
	for (size_t i = 0; i < nch && r == 0; i++) {
		char p[4096];

		if (ch[i].fresh && (r = seg_file(l, ch[i].seg, "idx", p, sizeof(p))) == 0) {
			ch[i].idx_fd = open(p, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
			if (ch[i].idx_fd < 0)
				r = ERR_IO;
		}
		if (r == 0)
			r = fd_pwrite_all(ch[i].idx_fd, idx.data + ch[i].x0, ch[i].x1 - ch[i].x0,
				       ch[i].idx_off);
	}
	if (r < 0) {
		/* Hashes written beyond the records are cut by the next check. */
		log_error(T("監査記録: 書き込みに失敗しました: %s", "ledger: write failed: %s"),
			  strerror(errno));
		l->hashes_dirty = true;
		if (!commit_undo(l, ch, nch) || io.sr < 0)
			*failed = true;
		r = ERR_IO;
		goto out;
	}
	/* The hash files are derived from the records and are not synced
	 * here: hash/synced says up to where they are durable, and after a
	 * crash the rest is recomputed from the records (hashes_sync). A
	 * started segment's names are made durable with the directory. */
	/* The .log of every chunk is synced (above, on the second thread, for
	 * a large group); a .idx only when its segment is left behind or full
	 * (the mark below covers the last one). */
	if (io.sr < 0) {
		errno = io.serr;
		r = ERR_IO;
	}
	for (size_t i = 0; i < nch && r == 0; i++) {
		bool full = ch[i].idx_off / 8 + (ch[i].x1 - ch[i].x0) / 8 >= per_seg;

		if ((!async && fdatasync(ch[i].log_fd) != 0) ||
		    ((i + 1 < nch || full) && fdatasync(ch[i].idx_fd) != 0))
			r = ERR_IO;
	}
	if (r == 0 && fresh)
		r = fsync_seg_dir(l);
	if (r == 0 && nch > 0 && l->mark_fd >= 0 &&
	    (start + total - l->idx_synced >= LEDGER_IDX_SYNC_EVERY || start + total < l->idx_synced)) {
		if (fdatasync(ch[nch - 1].idx_fd) != 0)
			r = ERR_IO;
		else
			r = idx_mark_write(l, start + total);
	}
	if (r < 0) {
		/* The records may or may not be on disk; other processes may
		 * already read them. Refuse further appends in this process. */
		log_error(T("監査記録: fdatasync に失敗しました: %s", "ledger: fdatasync failed: %s"),
			  strerror(errno));
		*failed = true;
		r = ERR_IO;
		goto out;
	}
	l->n = start + total;
	if (nch > 0 && ch[nch - 1].fresh) {
		struct chunk *c = &ch[nch - 1];

		/* The group's last segment is the one appends now go to. */
		w_close(l);
		l->wlog_fd = c->log_fd;
		l->widx_fd = c->idx_fd;
		c->log_fd = c->idx_fd = -1;
		l->seg_first = c->seg;
		l->log_end = c->log_off + (c->t1 - c->t0);
	} else {
		l->log_end += text_len;
	}
	l->tree = *tree;
	r = 0;
out:
	if (locked)
		ledger_unlock(l);
	for (struct append_req *g = group; g != NULL; g = g->next)
		g->r = r;
	chunks_close(ch, nch);
	free(ch);
	batch_release(&hb);
	free(tree);
	if (l->cs.text_cap > SCRATCH_KEEP || l->cs.cap * MERKLE_HASH_SIZE > SCRATCH_KEEP)
		scratch_release(l);
	buf_release(&idx);
}

/* The records of one append checked, in two halves (par.h): bad[0] for
 * the half that starts at 0, bad[1] for the other. */
struct recs_check {
	const struct audit_rec *recs;
	bool bad[2];
};

static void recs_check_range(void *ctx, size_t lo, size_t hi)
{
	struct recs_check *c = ctx;
	bool bad = false;

	for (size_t i = lo; i < hi && !bad; i++)
		bad = !kind_valid(c->recs[i].kind) || !actor_valid(c->recs[i].actor) ||
		      !body_valid(c->recs[i].body, c->recs[i].body_len);
	c->bad[lo != 0] = bad;
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
	{
		struct recs_check rc = { recs, { false, false } };

		par_split(&l->par, recs_check_range, &rc, n, PAR_MIN);
		if (rc.bad[0] || rc.bad[1]) {
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
			uint64_t per_seg = l->seg_entries;

			pthread_mutex_unlock(&l->mu);
			ledger_commit(l, group, per_seg, &failed);
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
 * The number of records: the first index of the last segment plus its
 * whole index entries, read from the files each time (other processes
 * may have appended). A writer writes a record's line before its entry,
 * and a segment's .idx only after the entries of the segment before, so
 * every entry counted here points to a complete line (records still
 * being synced by their writer included).
 */
uint64_t ledger_size(struct ledger *l)
{
	uint64_t n = 0;

	if (l == NULL)
		return 0;
	pthread_mutex_lock(&l->seg_mu);
	if (tab_size(l, &n) < 0)
		n = 0;
	pthread_mutex_unlock(&l->seg_mu);
	return n;
}

int ledger_read(struct ledger *l, uint64_t index, struct buf *out)
{
	uint64_t n = 0;
	int r;

	if (l == NULL || out == NULL)
		return ERR_INVALID;
	pthread_mutex_lock(&l->seg_mu);
	/* A record before the last known segment exists (segments followed
	 * by another never change); only beyond that is the size needed. */
	if (l->nsegs > 0 && index < l->segs[l->nsegs - 1].first)
		r = tab_read(l, index, out);
	else if ((r = tab_size(l, &n)) == 0)
		r = index < n ? tab_read(l, index, out) : ERR_NOT_FOUND;
	pthread_mutex_unlock(&l->seg_mu);
	return r;
}

/* ---- sequential reading ---- */

/* Index entries and log bytes a cursor reads at a time; the block grows
 * (up to CURSOR_BLOCK_MAX) for a line longer than it (a body of
 * LEDGER_BODY_MAX bytes and its record around it). */
#define CURSOR_ENTS 8192
#define CURSOR_BLOCK ((size_t)1 << 20)
#define CURSOR_BLOCK_MAX ((size_t)4 << 20)

struct ledger_cursor {
	struct ledger *l;
	uint64_t next, to;
	/* The segment being read: [seg_first, seg_end), its own descriptors
	 * (duplicates of the table's, which may close them), or by_record
	 * for an archived one. seg_end == 0: none yet. */
	uint64_t seg_first, seg_end;
	bool by_record;
	int log_fd, idx_fd;
	/* Index entries of records [ents_first, ents_first + nents). */
	uint8_t *ents;
	uint64_t ents_first;
	size_t nents;
	/* Log bytes [blk_off, blk_off + blk_len) in blk[blk_cap]. */
	char *blk;
	uint64_t blk_off;
	size_t blk_len, blk_cap;
};

static void cursor_seg_close(struct ledger_cursor *c)
{
	if (c->log_fd >= 0)
		close(c->log_fd);
	if (c->idx_fd >= 0)
		close(c->idx_fd);
	c->log_fd = c->idx_fd = -1;
	c->nents = 0;
	c->blk_len = 0;
	c->seg_end = 0;
	c->by_record = false;
}

/* Move to the segment that holds record c->next. */
static int cursor_seg(struct ledger_cursor *c)
{
	struct ledger *l = c->l;
	struct rseg *s;
	uint64_t n;
	int r;

	cursor_seg_close(c);
	pthread_mutex_lock(&l->seg_mu);
	if ((r = tab_size(l, &n)) < 0)
		goto out;
	if ((s = tab_find(l, c->next)) == NULL) {
		r = ERR_CORRUPT;
		goto out;
	}
	if ((r = tab_open(l, s)) < 0)
		goto out;
	c->seg_first = s->first;
	c->seg_end = (size_t)(s - l->segs) + 1 < l->nsegs ? s[1].first : UINT64_MAX;
	if (s->archived) {
		c->by_record = true;
	} else if ((c->log_fd = fcntl(s->log_fd, F_DUPFD_CLOEXEC, 0)) < 0 ||
		   (c->idx_fd = fcntl(s->idx_fd, F_DUPFD_CLOEXEC, 0)) < 0) {
		r = ERR_IO;
	}
out:
	pthread_mutex_unlock(&l->seg_mu);
	if (r < 0)
		cursor_seg_close(c);
	return r;
}

/* Read up to n bytes at off; the count read (short only at the end of
 * the file), or -1. */
static ssize_t pread_upto(int fd, char *p, size_t n, uint64_t off)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = pread(fd, p + got, n - got, (off_t)(off + got));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

int ledger_cursor_open(struct ledger *l, uint64_t from, uint64_t to, struct ledger_cursor **out)
{
	struct ledger_cursor *c;
	uint64_t n;

	if (out != NULL)
		*out = NULL;
	if (l == NULL || out == NULL || from > to)
		return ERR_INVALID;
	n = ledger_size(l);
	c = xcalloc(1, sizeof(*c));
	c->l = l;
	c->next = from;
	c->to = to < n ? to : n;
	c->log_fd = c->idx_fd = -1;
	c->ents = xmalloc(CURSOR_ENTS * 8);
	c->blk_cap = CURSOR_BLOCK;
	c->blk = xmalloc(c->blk_cap);
	*out = c;
	return 0;
}

int ledger_cursor_next(struct ledger_cursor *c, uint64_t *index, struct buf *out)
{
	uint64_t off, i;
	const char *p, *nl = NULL;
	int r;

	if (c == NULL || index == NULL || out == NULL)
		return ERR_INVALID;
	*index = i = c->next;
	if (i >= c->to)
		return 0;
	if ((c->seg_end == 0 || i >= c->seg_end) && (r = cursor_seg(c)) < 0)
		return r;
	if (c->by_record) {
		if ((r = ledger_read(c->l, i, out)) < 0)
			return r;
		c->next = i + 1;
		return 1;
	}
	if (i < c->ents_first || i - c->ents_first >= c->nents) {
		uint64_t end = c->to < c->seg_end ? c->to : c->seg_end;
		size_t k = end - i < CURSOR_ENTS ? (size_t)(end - i) : CURSOR_ENTS;
		ssize_t got;

		/* As many whole entries as the file holds: one missing (a
		 * segment's .idx cut short) is an error at its own record. */
		c->nents = 0;
		if ((got = pread_upto(c->idx_fd, (char *)c->ents, k * 8, (i - c->seg_first) * 8)) < 0)
			return ERR_IO;
		if (got < 8)
			return ERR_CORRUPT;
		c->ents_first = i;
		c->nents = (size_t)got / 8;
	}
	off = get_le64(c->ents + (i - c->ents_first) * 8);
	/* Past any file that can exist (and past what pread can be asked):
	 * an entry that is not an offset, as ledger_read says. */
	if (off > (uint64_t)INT64_MAX - CURSOR_BLOCK_MAX)
		return ERR_CORRUPT;
	if (off >= c->blk_off && off - c->blk_off < c->blk_len) {
		p = c->blk + (off - c->blk_off);
		nl = memchr(p, '\n', c->blk_len - (size_t)(off - c->blk_off));
	}
	while (nl == NULL) {
		ssize_t got = pread_upto(c->log_fd, c->blk, c->blk_cap, off);

		c->blk_len = 0;
		if (got < 0)
			return ERR_IO;
		c->blk_off = off;
		c->blk_len = (size_t)got;
		p = c->blk;
		if ((nl = memchr(p, '\n', c->blk_len)) != NULL)
			break;
		/* No end of line: the end of the file (a line cut short), or
		 * a line longer than the block, which may be a record's. */
		if (c->blk_len < c->blk_cap || c->blk_cap >= CURSOR_BLOCK_MAX)
			return ERR_CORRUPT;
		c->blk_cap *= 2;
		c->blk = xrealloc(c->blk, c->blk_cap);
	}
	buf_reset(out);
	if ((r = buf_append(out, p, (size_t)(nl - p))) < 0)
		return r == ERR_TOO_LARGE ? ERR_CORRUPT : r;
	c->next = i + 1;
	return 1;
}

void ledger_cursor_close(struct ledger_cursor *c)
{
	if (c == NULL)
		return;
	cursor_seg_close(c);
	free(c->ents);
	free(c->blk);
	free(c);
}

/* ---- roots and checkpoints ---- */

static int seal_covered(struct ledger *l, const uint8_t *pk, bool wait, uint64_t *sealed);

int ledger_root(struct ledger *l, uint64_t size, uint8_t out[MERKLE_HASH_SIZE])
{
	if (l == NULL || out == NULL)
		return ERR_INVALID;
	if (size > ledger_size(l))
		return ERR_NOT_FOUND;
	return merkle_root(ledger_subtree_hash, l, size, out);
}

/* Write dir/name with data through a temporary file and a rename, synced,
 * so that a reader sees the old file or the new one, never a part. */
static int write_atomic(const char *dir, const char *name, const void *data, size_t len)
{
	char path[4096];
	int n = snprintf(path, sizeof(path), "%s/%s", dir, name);

	if (n < 0 || (size_t)n >= sizeof(path))
		return ERR_INVALID;
	return file_write_atomic(path, data, len, 0644);
}

/* Take checkpoints/.lock (exclusive, waiting): it orders the notes of
 * checkpoints made by several threads and processes, and is held only
 * while one is signed and written. */
static int cp_lock(const char *cpdir, int *fd)
{
	char p[4200];
	int n = snprintf(p, sizeof(p), "%s/.lock", cpdir);

	*fd = -1;
	if (n < 0 || (size_t)n >= sizeof(p))
		return ERR_INVALID;
	if ((*fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0)
		return ERR_IO;
	while (flock(*fd, LOCK_EX) != 0) {
		if (errno == EINTR)
			continue;
		close(*fd);
		*fd = -1;
		return ERR_IO;
	}
	return 0;
}

/* Become this process's group leader (no append of it moves the end or
 * the tree until lead_end), and say so to the others. */
static void lead_begin(struct ledger *l)
{
	pthread_mutex_lock(&l->mu);
	while (l->leading)
		pthread_cond_wait(&l->cv, &l->mu);
	l->leading = true;
	pthread_mutex_unlock(&l->mu);
}

static void lead_end(struct ledger *l)
{
	pthread_mutex_lock(&l->mu);
	l->leading = false;
	pthread_cond_broadcast(&l->cv);
	pthread_mutex_unlock(&l->mu);
}

/* The size of the checkpoint in checkpoints/latest, or 0 when there is
 * none or it does not parse (it is then replaced). */
static uint64_t cp_latest_size(struct ledger *l)
{
	struct note_checkpoint ck;
	struct note n;
	struct buf b;
	uint64_t size = 0;

	buf_init(&b, NOTE_MAX);
	if (ledger_latest_checkpoint(l, &b) == 0 &&
	    note_parse(b.data ? b.data : "", b.len, &n, NULL, NULL) == 0 &&
	    note_checkpoint_parse(n.text, n.text_len, &ck, NULL, NULL) == 0)
		size = ck.size;
	buf_release(&b);
	return size;
}

/*
 * A checkpoint of the records present now. Appends wait only while the
 * size and root are taken and while the mark hash/synced is moved (each
 * a moment under the flock); the syncs of the hash files, the signature
 * and the notes happen while they go on (docs/internals/ledger.md,
 * "Checkpoints"):
 *
 * 1. as leader under the flock: the size n and the root;
 * 2. no lock: every hash file fdatasync'ed (the hashes of the first n
 *    leaves never change again, and nothing cuts a hash file below its
 *    records, so a sync now covers them whatever is appended meanwhile);
 * 3. as leader under the flock: hash/synced moved to n (when below);
 * 4. under checkpoints/.lock (which orders the checkpoints of several
 *    threads and processes; not the maintenance lock, which an archive
 *    may hold for long): the note signed and written as <n>.note, and as
 *    latest unless latest is already of a larger size.
 *
 * What a checkpoint signs can always be proved: its hashes are durable
 * (2) before the signature exists (4).
 */
int ledger_checkpoint(struct ledger *l, const char *origin, const uint8_t seed[NOTE_SEED_SIZE],
		      struct buf *out, uint64_t *size)
{
	uint8_t root[MERKLE_HASH_SIZE];
	struct buf text, note;
	char cpdir[4096], name[64];
	uint64_t cp = 0;
	int n, r, s, cfd = -1;

	buf_init(&text, NOTE_MAX);
	buf_init(&note, NOTE_MAX);
	if (l == NULL || origin == NULL || seed == NULL)
		return ERR_INVALID;
	if (l->mode != LEDGER_WRITE)
		return ERR_FORBIDDEN;
	n = snprintf(cpdir, sizeof(cpdir), "%s/checkpoints", l->dir);
	if (n < 0 || (size_t)n >= sizeof(cpdir))
		return ERR_INVALID;
	if (mkdir(cpdir, 0700) != 0 && errno != EEXIST) {
		r = ERR_IO;
		goto out;
	}
	/* 1. */
	lead_begin(l);
	if ((r = ledger_lock(l)) == 0) {
		if ((r = ledger_find_end(l)) == 0) {
			merkle_builder_root(&l->tree, root);
			cp = l->tree.size;
		}
		ledger_unlock(l);
	}
	lead_end(l);
	if (r < 0)
		goto out;
	/* 2. Every level the first cp leaves have hashes in, whether or not
	 * this process wrote them (another writer may have). */
	for (unsigned h = 0; h < MERKLE_HEIGHT_MAX && (cp >> h) > 0 && r == 0; h++) {
		int fd;

		if ((r = hash_fd_get(l, h, false, &fd)) == 0 && fdatasync(fd) != 0)
			r = ERR_IO;
	}
	if (r < 0)
		goto out;
	/* 3. */
	lead_begin(l);
	if ((r = ledger_lock(l)) == 0) {
		if (hashes_synced_read(l) < cp)
			r = hashes_mark_write(l, cp);
		ledger_unlock(l);
	}
	lead_end(l);
	if (r < 0)
		goto out;
	/* 4. */
	if ((r = cp_lock(cpdir, &cfd)) < 0)
		goto out;
	if ((r = note_checkpoint_format(&text, origin, cp, root)) < 0 ||
	    (r = note_sign(&note, text.data, text.len, origin, seed)) < 0)
		goto out;
	snprintf(name, sizeof(name), "%" PRIu64 ".note", cp);
	if ((r = write_atomic(cpdir, name, note.data, note.len)) < 0)
		goto out;
	if (cp_latest_size(l) <= cp && (r = write_atomic(cpdir, "latest", note.data, note.len)) < 0)
		goto out;
	if (size != NULL)
		*size = cp;
	if (out != NULL) {
		buf_reset(out);
		r = buf_append(out, note.data, note.len);
	}
out:
	if (cfd >= 0)
		close(cfd); /* and the lock with it */
	if (r < 0)
		log_error(T("監査記録: チェックポイントを作成できません: %s",
			    "ledger: cannot make a checkpoint: %s"),
			  err_msg(r));
	/*
	 * Segments the new checkpoint covers are sealed now, after the
	 * appends of this process were let go again: sealing reads whole
	 * segments, and full segments are never written to. The checkpoint
	 * stands whether or not sealing works; a failure is logged and the
	 * next checkpoint (or `mamori ledger seal`) tries again.
	 */
	if (r == 0 && (s = seal_covered(l, NULL, false, NULL)) < 0)
		log_warn(T("監査記録: セグメントを封印できません: %s",
			   "ledger: cannot seal segments: %s"),
			 err_msg(s));
	buf_release(&note);
	buf_release(&text);
	return r;
}

int ledger_latest_checkpoint(struct ledger *l, struct buf *out)
{
	char path[4096];
	int n;

	if (l == NULL || out == NULL)
		return ERR_INVALID;
	n = snprintf(path, sizeof(path), "%s/checkpoints/latest", l->dir);
	if (n < 0 || (size_t)n >= sizeof(path))
		return ERR_INVALID;
	return file_read_all(path, NOTE_MAX, out);
}

/* ---- sealing and archiving ---- */

/*
 * The maintenance lock, DIR/seg/LOCK: sealing and archiving take it (not
 * the append lock, so that appends go on while whole segments are read
 * and copied). With wait false, ERR_BUSY when another process holds it.
 */
static int maint_lock(struct ledger *l, bool wait, int *fd)
{
	char p[4096];
	int r;

	*fd = -1;
	if ((r = dir_path(l, SEG_DIR, p, sizeof(p))) < 0)
		return r;
	if (mkdir(p, 0700) != 0 && errno != EEXIST)
		return ERR_IO;
	if ((r = dir_path(l, SEG_DIR "/LOCK", p, sizeof(p))) < 0)
		return r;
	if ((*fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0)
		return ERR_IO;
	while (flock(*fd, LOCK_EX | (wait ? 0 : LOCK_NB)) != 0) {
		if (errno == EINTR)
			continue;
		r = errno == EWOULDBLOCK ? ERR_BUSY : ERR_IO;
		close(*fd);
		*fd = -1;
		return r;
	}
	return 0;
}

static void maint_unlock(int fd)
{
	if (fd >= 0)
		close(fd); /* releases the flock */
}

/*
 * The latest checkpoint (checkpoints/latest): its size and root, after
 * checking its signature under its own origin with pk (when not NULL)
 * and that its root is the root of this ledger's hash files at its size.
 */
static int cp_latest(struct ledger *l, const uint8_t *pk, uint64_t *size,
		     uint8_t root[MERKLE_HASH_SIZE])
{
	uint8_t have[MERKLE_HASH_SIZE];
	char origin[NOTE_NAME_MAX + 1];
	struct note_checkpoint ck;
	struct note n;
	struct buf b;
	int r;

	buf_init(&b, NOTE_MAX);
	if ((r = ledger_latest_checkpoint(l, &b)) < 0)
		goto out;
	if (note_parse(b.data ? b.data : "", b.len, &n, NULL, NULL) < 0 ||
	    note_checkpoint_parse(n.text, n.text_len, &ck, NULL, NULL) < 0 ||
	    ck.origin_len > NOTE_NAME_MAX) {
		r = ERR_CORRUPT;
		goto out;
	}
	memcpy(origin, ck.origin, ck.origin_len);
	origin[ck.origin_len] = '\0';
	if (pk != NULL && note_verify(&n, origin, pk) < 0) {
		log_error(T("監査記録: checkpoints/latest の署名が正しくありません",
			    "ledger: the signature of checkpoints/latest does not verify"));
		r = ERR_CRYPTO;
		goto out;
	}
	if ((r = ledger_root(l, ck.size, have)) < 0 || memcmp(have, ck.root, MERKLE_HASH_SIZE) != 0) {
		log_error(T("監査記録: checkpoints/latest の root がハッシュファイルと一致しません",
			    "ledger: the root of checkpoints/latest differs from the hash files"));
		r = ERR_CORRUPT;
		goto out;
	}
	*size = ck.size;
	memcpy(root, ck.root, MERKLE_HASH_SIZE);
out:
	buf_release(&b);
	return r;
}

/*
 * Seal segment [first, first + count): read its .log once, checking each
 * record's index, its .idx entry and its leaf hash in hash/L00; compute
 * the SHA-256 of both files and, for an aligned segment of 2^h records,
 * its subtree root (which must equal the stored one); then write the
 * manifest <first>.seal (through a synced rename) and make the files
 * read-only. The checkpoint (cp_size, cp_root) covers the segment.
 */
static int seal_one(struct ledger *l, uint64_t first, uint64_t count, uint64_t cp_size,
		    const uint8_t cp_root[MERKLE_HASH_SIZE])
{
	char logp[4096], idxp[4096], sealp[4096], want[64], ts[TS_TEXT_MAX];
	uint8_t leaf[MERKLE_HASH_SIZE], stored[MERKLE_HASH_SIZE];
	struct merkle_builder *t = xmalloc(sizeof(*t));
	crypto_hash_sha256_state sha;
	struct seg_seal s;
	struct buf text;
	uint64_t off = 0, idx_size, j = 0;
	char *line = NULL;
	size_t cap = 0;
	FILE *f = NULL;
	int xf = -1, r;

	memset(&s, 0, sizeof(s));
	buf_init(&text, SEG_SEAL_MAX);
	merkle_builder_init(t);
	if ((r = seg_file(l, first, "log", logp, sizeof(logp))) < 0 ||
	    (r = seg_file(l, first, "idx", idxp, sizeof(idxp))) < 0 ||
	    (r = seg_file(l, first, "seal", sealp, sizeof(sealp))) < 0 ||
	    (r = open_ro(idxp, &xf)) < 0 || (r = file_size(xf, &idx_size)) < 0)
		goto out;
	if (idx_size != count * 8 || (f = fopen(logp, "rbe")) == NULL) {
		r = f == NULL && idx_size == count * 8 ? ERR_IO : ERR_CORRUPT;
		goto out;
	}
	crypto_hash_sha256_init(&sha);
	for (;; j++) {
		ssize_t len = getline(&line, &cap, f);
		uint8_t e[8];
		int k;

		if (len < 0)
			break;
		crypto_hash_sha256_update(&sha, (const unsigned char *)line, (unsigned long long)len);
		k = snprintf(want, sizeof(want), "{\"v\":1,\"index\":%" PRIu64 ",", first + j);
		if (j >= count || line[len - 1] != '\n' || (size_t)len <= (size_t)k ||
		    memcmp(line, want, (size_t)k) != 0 || fd_pread_all(xf, e, 8, j * 8) < 0 ||
		    get_le64(e) != off) {
			r = ERR_CORRUPT;
			goto out;
		}
		merkle_leaf_hash(line, (size_t)len - 1, leaf);
		if ((r = ledger_subtree_hash(l, first + j, 0, stored)) < 0)
			goto out;
		if (memcmp(leaf, stored, MERKLE_HASH_SIZE) != 0 ||
		    (r = merkle_builder_append(t, leaf, NULL, NULL)) < 0) {
			r = r < 0 ? r : ERR_CORRUPT;
			goto out;
		}
		off += (uint64_t)len;
	}
	if (ferror(f) || j != count) {
		r = ferror(f) ? ERR_IO : ERR_CORRUPT;
		goto out;
	}
	crypto_hash_sha256_final(&sha, s.log_sha256);
	if ((r = seg_file_sha256(idxp, s.idx_sha256, NULL)) < 0)
		goto out;
	s.first = first;
	s.count = count;
	s.log_bytes = off;
	if ((count & (count - 1)) == 0 && (first & (count - 1)) == 0) {
		s.has_subtree = true;
		s.subtree_height = (unsigned)__builtin_ctzll(count);
		merkle_builder_root(t, s.subtree_root);
		if ((r = ledger_subtree_hash(l, first, s.subtree_height, stored)) < 0)
			goto out;
		if (memcmp(stored, s.subtree_root, MERKLE_HASH_SIZE) != 0) {
			r = ERR_CORRUPT;
			goto out;
		}
	}
	s.cp_size = cp_size;
	memcpy(s.cp_root, cp_root, MERKLE_HASH_SIZE);
	ts_format_jst(ts_now(), ts);
	snprintf(s.sealed_at, sizeof(s.sealed_at), "%s", ts);
	if ((r = seg_seal_render(&s, &text)) < 0 ||
	    (r = file_write_atomic(sealp, text.data, text.len, 0400)) < 0)
		goto out;
	if (chmod(logp, 0400) != 0 || chmod(idxp, 0400) != 0) {
		r = ERR_IO;
		goto out;
	}
	log_info(T("監査記録: セグメント %s（記録 %" PRIu64 "〜%" PRIu64 "）を封印しました",
		   "ledger: sealed segment %s (records %" PRIu64 " to %" PRIu64 ")"),
		 logp, first, first + count - 1);
	r = 0;
out:
	if (r == ERR_CORRUPT)
		log_error(T("監査記録: セグメント %s（記録 %" PRIu64 "）がハッシュファイルと一致しないため封印しません",
			    "ledger: not sealing %s: record %" PRIu64
			    " does not match the index or the hash files"),
			  logp, first + j);
	if (f != NULL)
		fclose(f);
	if (xf >= 0)
		close(xf);
	free(line);
	free(t);
	buf_release(&text);
	return r;
}

/*
 * Seal every full segment that the latest checkpoint covers and that is
 * not sealed yet. A segment is full once the next one has its .idx: the
 * writer never goes back to it. With wait false, gives up at once (0,
 * nothing sealed) when another process is sealing or archiving.
 */
static int seal_covered(struct ledger *l, const uint8_t *pk, bool wait, uint64_t *sealed)
{
	uint8_t root[MERKLE_HASH_SIZE];
	struct seg_info *v = NULL;
	uint64_t cp_size = 0, done = 0;
	size_t n = 0;
	int mfd = -1, r;

	if (l->mode != LEDGER_WRITE)
		return ERR_FORBIDDEN;
	if ((r = maint_lock(l, wait, &mfd)) < 0) {
		if (r == ERR_BUSY && !wait)
			r = 0;
		goto out;
	}
	if ((r = cp_latest(l, pk, &cp_size, root)) < 0 || (r = seg_list(l->dir, &v, &n)) < 0)
		goto out;
	for (size_t i = 0; i + 1 < n; i++) {
		uint64_t end = v[i + 1].first;

		if (end > cp_size || !(v[i + 1].idx || v[i + 1].seal))
			break;
		if (v[i].seal)
			continue;
		if (v[i].legacy || !v[i].log || !v[i].idx) {
			r = ERR_CORRUPT;
			goto out;
		}
		if ((r = seal_one(l, v[i].first, end - v[i].first, cp_size, root)) < 0)
			goto out;
		done++;
	}
	if (done > 0)
		r = fsync_seg_dir(l);
out:
	if (sealed != NULL)
		*sealed = done;
	maint_unlock(mfd);
	free(v);
	return r;
}

int ledger_seal(struct ledger *l, const uint8_t pk[32], uint64_t *sealed)
{
	if (sealed != NULL)
		*sealed = 0;
	if (l == NULL)
		return ERR_INVALID;
	return seal_covered(l, pk, true, sealed);
}

/* Copy src to dir/name through dir/name.tmp, synced, read-only. */
static int copy_file(const char *src, const char *dir, const char *name)
{
	char tmp[4096], dst[4096];
	char *chunk = NULL;
	int in = -1, out = -1, r = 0;

	if (snprintf(tmp, sizeof(tmp), "%s/%s.tmp", dir, name) >= (int)sizeof(tmp) ||
	    snprintf(dst, sizeof(dst), "%s/%s", dir, name) >= (int)sizeof(dst))
		return ERR_INVALID;
	if ((r = open_ro(src, &in)) < 0)
		return r;
	out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (out < 0) {
		r = ERR_IO;
		goto out;
	}
	chunk = xmalloc(1 << 16);
	for (;;) {
		ssize_t got = read(in, chunk, 1 << 16);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			r = ERR_IO;
			goto out;
		}
		if (got == 0)
			break;
		for (ssize_t done = 0; done < got;) {
			ssize_t w = write(out, chunk + done, (size_t)(got - done));

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				r = ERR_IO;
				goto out;
			}
			done += w;
		}
	}
	if (fsync(out) != 0 || fchmod(out, 0400) != 0) {
		r = ERR_IO;
		goto out;
	}
	close(out);
	out = -1;
	if (rename(tmp, dst) != 0)
		r = ERR_IO;
out:
	if (out >= 0)
		close(out);
	if (r < 0)
		(void)unlink(tmp);
	close(in);
	free(chunk);
	return r;
}

/* Compare the SHA-256 (and size, when want_size is not UINT64_MAX) of the
 * file at path with a seal's; ERR_CORRUPT (logged) when they differ. */
static int sha_matches(const char *path, const uint8_t want[32], uint64_t want_size)
{
	uint8_t got[32];
	uint64_t size = 0;
	int r;

	if ((r = seg_file_sha256(path, got, &size)) < 0)
		return r;
	if (memcmp(got, want, 32) != 0 || (want_size != UINT64_MAX && size != want_size)) {
		log_error(T("監査記録: %s の SHA-256 が封印と一致しません",
			    "ledger: the SHA-256 of %s differs from its seal"),
			  path);
		return ERR_CORRUPT;
	}
	return 0;
}

/*
 * Archive one sealed segment (maintenance lock held): check its files
 * against the seal, copy them, the seal and the checkpoint note that
 * covers it to dir (absolute), check the copies against the seal, record
 * dir in the seal left behind, and remove the files.
 */
static int archive_one(struct ledger *l, const struct seg_info *si, const char *dir,
		       struct seg_seal *s)
{
	char logp[4096], idxp[4096], sealp[4096], p[4096], cpdir[4096], name[SEG_NAME_MAX],
	    fname[SEG_NAME_MAX + 8], ts[TS_TEXT_MAX];
	struct buf text;
	int r;

	buf_init(&text, SEG_SEAL_MAX);
	seg_name(si->first, name);
	if ((r = seg_path(l->dir, si, "log", logp, sizeof(logp))) < 0 ||
	    (r = seg_path(l->dir, si, "idx", idxp, sizeof(idxp))) < 0 ||
	    (r = seg_path(l->dir, si, "seal", sealp, sizeof(sealp))) < 0 ||
	    (r = seg_seal_load(sealp, s)) < 0)
		goto out;
	if (s->first != si->first) {
		r = ERR_CORRUPT;
		goto out;
	}
	if ((r = sha_matches(logp, s->log_sha256, s->log_bytes)) < 0 ||
	    (r = sha_matches(idxp, s->idx_sha256, s->count * 8)) < 0)
		goto out;
	if (snprintf(cpdir, sizeof(cpdir), "%s/checkpoints", dir) >= (int)sizeof(cpdir) ||
	    snprintf(fname, sizeof(fname), "%s.log", name) >= (int)sizeof(fname)) {
		r = ERR_INVALID;
		goto out;
	}
	if ((r = copy_file(logp, dir, fname)) < 0)
		goto out;
	snprintf(fname, sizeof(fname), "%s.idx", name);
	if ((r = copy_file(idxp, dir, fname)) < 0)
		goto out;
	snprintf(fname, sizeof(fname), "%s.seal", name);
	if ((r = copy_file(sealp, dir, fname)) < 0)
		goto out;
	snprintf(fname, sizeof(fname), "%" PRIu64 ".note", s->cp_size);
	if (snprintf(p, sizeof(p), "%s/checkpoints/%s", l->dir, fname) >= (int)sizeof(p)) {
		r = ERR_INVALID;
		goto out;
	}
	if ((r = copy_file(p, cpdir, fname)) < 0 || (r = fsync_dir(cpdir)) < 0 ||
	    (r = fsync_dir(dir)) < 0)
		goto out;
	/* The copies, read back, must be what was sealed. */
	r = ERR_INVALID;
	if (snprintf(p, sizeof(p), "%s/%.31s.log", dir, name) >= (int)sizeof(p) ||
	    (r = sha_matches(p, s->log_sha256, s->log_bytes)) < 0)
		goto out;
	r = ERR_INVALID;
	if (snprintf(p, sizeof(p), "%s/%.31s.idx", dir, name) >= (int)sizeof(p) ||
	    (r = sha_matches(p, s->idx_sha256, s->count * 8)) < 0)
		goto out;
	/* The seal stays behind and says where the segment went (the caller
	 * checked that dir fits). */
	if (strlen(dir) >= sizeof(s->archive)) {
		r = ERR_TOO_LARGE;
		goto out;
	}
	memcpy(s->archive, dir, strlen(dir) + 1);
	ts_format_jst(ts_now(), ts);
	snprintf(s->archived_at, sizeof(s->archived_at), "%s", ts);
	if ((r = seg_seal_render(s, &text)) < 0 ||
	    (r = file_write_atomic(sealp, text.data, text.len, 0400)) < 0)
		goto out;
	if (unlink(idxp) != 0 || unlink(logp) != 0) {
		r = ERR_IO;
		goto out;
	}
	if ((r = fsync_seg_dir(l)) < 0)
		goto out;
	log_info(T("監査記録: セグメント %s（記録 %" PRIu64 "〜%" PRIu64 "）を %s に保管しました",
		   "ledger: archived segment %s (records %" PRIu64 " to %" PRIu64 ") to %s"),
		 name, s->first, s->first + s->count - 1, dir);
out:
	buf_release(&text);
	return r;
}

int ledger_archive(struct ledger *l, const char *to, uint64_t before, const char *actor,
		   uint64_t *segments, uint64_t *entries)
{
	char abs[PATH_MAX], segdir[PATH_MAX], p[4096], hex[65];
	struct seg_info *v = NULL;
	json_t *body = NULL, *list = NULL;
	char *text = NULL;
	uint64_t nseg = 0, nent = 0, lo = UINT64_MAX, hi = 0;
	size_t n = 0;
	int mfd = -1, r;

	if (segments != NULL)
		*segments = 0;
	if (entries != NULL)
		*entries = 0;
	if (l == NULL || to == NULL || to[0] == '\0' || actor == NULL)
		return ERR_INVALID;
	if (l->mode != LEDGER_WRITE)
		return ERR_FORBIDDEN;
	if ((r = maint_lock(l, true, &mfd)) < 0)
		goto out;
	if (mkdir(to, 0700) != 0 && errno != EEXIST) {
		r = ERR_IO;
		goto out;
	}
	if (realpath(to, abs) == NULL || strlen(abs) >= SEG_ARCHIVE_PATH_MAX) {
		r = realpath(to, abs) == NULL ? ERR_IO : ERR_TOO_LARGE;
		goto out;
	}
	/* An archive inside the segment directory would be removed with it. */
	if ((r = dir_path(l, SEG_DIR, p, sizeof(p))) < 0)
		goto out;
	if (realpath(p, segdir) != NULL && strcmp(segdir, abs) == 0) {
		r = ERR_INVALID;
		goto out;
	}
	if (snprintf(p, sizeof(p), "%s/checkpoints", abs) >= (int)sizeof(p)) {
		r = ERR_INVALID;
		goto out;
	}
	if (mkdir(p, 0700) != 0 && errno != EEXIST) {
		r = ERR_IO;
		goto out;
	}
	if (!(list = json_array())) {
		r = ERR_NOMEM;
		goto out;
	}
	if ((r = seg_list(l->dir, &v, &n)) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		struct seg_seal s;
		json_t *e;

		if (!v[i].seal || !(v[i].log || v[i].idx))
			continue;
		if (i + 1 < n && v[i + 1].first > before)
			break;
		if ((r = archive_one(l, &v[i], abs, &s)) < 0)
			goto out;
		if (s.first + s.count > before) /* cannot happen: checked above */
			break;
		sodium_bin2hex(hex, sizeof(hex), s.log_sha256, 32);
		e = json_pack("{s:I,s:I,s:s}", "first", (json_int_t)s.first, "count",
			      (json_int_t)s.count, "log_sha256", hex);
		if (e == NULL || json_array_append_new(list, e) < 0) {
			r = ERR_NOMEM;
			goto out;
		}
		nseg++;
		nent += s.count;
		if (s.first < lo)
			lo = s.first;
		if (s.first + s.count > hi)
			hi = s.first + s.count;
	}
	if (nseg > 0) {
		struct audit_rec rec;

		/* Every archiving is itself an audit record. */
		body = json_pack("{s:s,s:I,s:I,s:I,s:O}", "archive", abs, "first", (json_int_t)lo,
				 "end", (json_int_t)hi, "entries", (json_int_t)nent, "segments", list);
		if (body == NULL || (text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER)) == NULL) {
			r = ERR_NOMEM;
			goto out;
		}
		rec = (struct audit_rec){ "ledger_archive", TS_NONE, actor, text, strlen(text) };
		if ((r = ledger_append(l, &rec, NULL)) < 0)
			goto out;
	}
	r = 0;
out:
	if (segments != NULL)
		*segments = nseg;
	if (entries != NULL)
		*entries = nent;
	maint_unlock(mfd);
	free(text);
	json_decref(body);
	json_decref(list);
	free(v);
	return r;
}
