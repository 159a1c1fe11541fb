/*
 * ledger.c - the audit record log: DIR/records.log (one canonical JSON
 * record per line), DIR/records.idx (8-byte little-endian offsets) and
 * DIR/LOCK (flock held by whichever process is appending a group, for the
 * length of that append only). See docs/internals/ledger.md.
 */
#include "base/base.h"
#include "base/buf.h"
#include "base/fileio.h"
#include "base/i18n.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "ledger/ledger.h"
#include "ledger/merkle.h"
#include "ledger/note.h"

#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* Hash files: DIR/hash/L00 .. L62, the 32-byte hashes of one level each. */
#define HASH_DIR "hash"
/* Leaves hashed before a rebuild writes its hashes out. */
#define REBUILD_BATCH 4096

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
};

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
	return pread_all(fd, out, MERKLE_HASH_SIZE, (start >> height) * MERKLE_HASH_SIZE);
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
		    (r = pwrite_all(fd, hb->lv[h].data, hb->lv[h].len,
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
	if (pread_all(fd, e, 8, 0) == 0)
		v = get_le64(e);
	close(fd);
	return v;
}

static int hashes_mark_synced(struct ledger *l, uint64_t n)
{
	char dir[4096];
	uint8_t e[8];
	int k;

	if (hashes_datasync(l, UINT64_MAX) < 0)
		return ERR_IO;
	k = snprintf(dir, sizeof(dir), "%s/hash", l->dir);
	if (k < 0 || (size_t)k >= sizeof(dir))
		return ERR_INVALID;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return ERR_IO;
	put_le64(e, n);
	return write_atomic(dir, "synced", e, 8);
}

/* The canonical bytes of record i (its line without '\n') into out. */
static int record_bytes(struct ledger *l, uint64_t i, uint64_t log_size, struct buf *out)
{
	uint8_t e[8];
	uint64_t off;
	int r;

	if ((r = pread_all(l->idx_fd, e, 8, i * 8)) < 0)
		return r;
	off = get_le64(e);
	if (off >= log_size)
		return ERR_CORRUPT;
	return read_line(l->log_fd, off, log_size, out);
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
	uint64_t n = l->n, m = n, log_size, touched = 0;
	uint8_t completed[MERKLE_HEIGHT_MAX][MERKLE_HASH_SIZE], leaf[MERKLE_HASH_SIZE],
	    stored[MERKLE_HASH_SIZE];
	struct hash_batch hb;
	struct buf line;
	int fd, r;

	batch_init(&hb);
	buf_init(&line, LEDGER_LINE_MAX);
	if ((r = file_size(l->log_fd, &log_size)) < 0)
		goto out;
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
	if (l->hashes_check_synced) {
		uint64_t s_ok = hashes_synced_read(l);
		if (m > s_ok)
			m = s_ok;
	}
	/* A hash written but lost in a crash could read back as anything:
	 * check the last kept leaf against its record before building on it. */
	if (m > 0) {
		if ((r = ledger_subtree_hash(l, m - 1, 0, stored)) < 0 ||
		    (r = record_bytes(l, m - 1, log_size, &line)) < 0)
			goto out;
		merkle_leaf_hash(line.data, line.len, leaf);
		if (memcmp(leaf, stored, MERKLE_HASH_SIZE) != 0) {
			log_warn(T("監査記録: hash/L00 の記録 %" PRIu64
					 " のハッシュが記録と一致しません。すべてのハッシュを再計算します",
					 "ledger: the hash of record %" PRIu64
					 " in hash/L00 does not match the record; recomputing every hash"),
				 m - 1);
			m = 0;
		}
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

		if ((r = record_bytes(l, i, log_size, &line)) < 0)
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
static int find_records_end(struct ledger *l)
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

/*
 * With the flock held, find the true end of the ledger (above) and bring
 * the hash files and the in-memory tree to it: when another process
 * appended, the tree is reloaded from the hash files (and what that
 * process left incomplete is recomputed).
 */
static int ledger_find_end(struct ledger *l)
{
	uint64_t n0 = l->n, e0 = l->log_end;
	int r;

	if ((r = find_records_end(l)) < 0)
		return r;
	if (l->hashes_dirty || l->n != n0 || l->log_end != e0 || l->tree.size != l->n)
		return hashes_sync(l);
	return 0;
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
	l->dir = xstrdup(dir);
	l->hashes_dirty = true; /* check the hash files at the first lock */
	l->hashes_check_synced = true;
	merkle_builder_init(&l->tree);
	for (unsigned h = 0; h < MERKLE_HEIGHT_MAX; h++)
		l->hash_fd[h] = -1;
	pthread_mutex_init(&l->fd_mu, NULL);
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
	/* A clean close makes this process's hashes durable, so that the next
	 * open recomputes nothing. */
	if (l->mode == LEDGER_WRITE && !l->failed && !l->hashes_dirty && l->lock_fd >= 0 &&
	    l->tree.size > 0 && ledger_lock(l) == 0) {
		if (ledger_find_end(l) == 0 && !l->hashes_dirty)
			(void)hashes_mark_synced(l, l->tree.size);
		ledger_unlock(l);
	}
	if (l->log_fd >= 0)
		close(l->log_fd);
	if (l->idx_fd >= 0)
		close(l->idx_fd);
	if (l->lock_fd >= 0)
		close(l->lock_fd); /* would release the flock, were it held */
	for (unsigned h = 0; h < MERKLE_HEIGHT_MAX; h++)
		if (l->hash_fd[h] >= 0)
			close(l->hash_fd[h]);
	free(l->dir);
	pthread_mutex_destroy(&l->fd_mu);
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
	uint8_t completed[MERKLE_HEIGHT_MAX][MERKLE_HASH_SIZE], leaf[MERKLE_HASH_SIZE];
	struct merkle_builder *tree = xmalloc(sizeof(*tree));
	struct hash_batch hb;
	struct buf text, idx;
	uint64_t start, total = 0, next, touched = 0;
	bool locked = false;
	int r;

	buf_init(&text, SIZE_MAX);
	buf_init(&idx, SIZE_MAX);
	batch_init(&hb);
	if ((r = group_count(group, &total)) < 0)
		goto out;
	if ((r = ledger_lock(l)) < 0)
		goto out;
	locked = true;
	if ((r = ledger_find_end(l)) < 0)
		goto out;
	/* The tree grows in a copy, kept only once the group is on disk. */
	*tree = l->tree;
	start = next = l->n;
	for (struct append_req *g = group; g != NULL; g = g->next) {
		g->first = next;
		for (size_t i = 0; i < g->n; i++, next++) {
			size_t line_start = text.len;
			unsigned k;
			uint8_t e[8];

			put_le64(e, l->log_end + text.len);
			if ((r = buf_append(&idx, e, 8)) < 0 ||
			    (r = rec_render(&g->recs[i], next, &text)) < 0)
				goto out;
			/* The leaf is the line without its '\n'. */
			merkle_leaf_hash(text.data + line_start, text.len - line_start - 1, leaf);
			if ((r = merkle_builder_append(tree, leaf, completed, &k)) < 0 ||
			    (r = batch_add(&hb, tree->size, completed, k)) < 0)
				goto out;
		}
	}
	/*
	 * The lines go first, then their hashes, then the index entries that
	 * make them count: a reader never follows an index entry to bytes (or
	 * asks for hashes) that are not there yet.
	 */
	if ((r = pwrite_all(l->log_fd, text.data, text.len, l->log_end)) < 0 ||
	    (r = batch_write(l, &hb, &touched)) < 0 ||
	    (r = pwrite_all(l->idx_fd, idx.data, idx.len, start * 8)) < 0) {
		/* Take back a partial write so that the files stay a valid pair;
		 * if even that fails, the next writer's check repairs the tail.
		 * Hashes written beyond the records are cut by the next check. */
		log_error(T("監査記録: 書き込みに失敗しました: %s", "ledger: write failed: %s"),
			  strerror(errno));
		l->hashes_dirty = true;
		if (ftruncate(l->log_fd, (off_t)l->log_end) != 0 ||
		    ftruncate(l->idx_fd, (off_t)(start * 8)) != 0)
			*failed = true;
		goto out;
	}
	/* The hash files are derived from the records and are not synced
	 * here: hash/synced says up to where they are durable, and after a
	 * crash the rest is recomputed from the records (hashes_sync). */
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
	l->tree = *tree;
	r = 0;
out:
	if (locked)
		ledger_unlock(l);
	for (struct append_req *g = group; g != NULL; g = g->next)
		g->r = r;
	batch_release(&hb);
	free(tree);
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

/* ---- roots and checkpoints ---- */

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

int ledger_checkpoint(struct ledger *l, const char *origin, const uint8_t seed[NOTE_SEED_SIZE],
		      struct buf *out, uint64_t *size)
{
	uint8_t root[MERKLE_HASH_SIZE];
	struct buf text, note;
	char cpdir[4096], name[64];
	bool locked = false;
	int n, r;

	buf_init(&text, NOTE_MAX);
	buf_init(&note, NOTE_MAX);
	if (l == NULL || origin == NULL || seed == NULL)
		return ERR_INVALID;
	if (l->mode != LEDGER_WRITE)
		return ERR_FORBIDDEN;
	/*
	 * Become the group leader, so that no append of this process moves
	 * the end (or the tree) meanwhile; the flock keeps other processes
	 * out, and the checkpoint is of exactly the records then present.
	 */
	pthread_mutex_lock(&l->mu);
	while (l->leading)
		pthread_cond_wait(&l->cv, &l->mu);
	l->leading = true;
	pthread_mutex_unlock(&l->mu);
	n = snprintf(cpdir, sizeof(cpdir), "%s/checkpoints", l->dir);
	if (n < 0 || (size_t)n >= sizeof(cpdir)) {
		r = ERR_INVALID;
		goto out;
	}
	if (mkdir(cpdir, 0700) != 0 && errno != EEXIST) {
		r = ERR_IO;
		goto out;
	}
	if ((r = ledger_lock(l)) < 0)
		goto out;
	locked = true;
	if ((r = ledger_find_end(l)) < 0)
		goto out;
	merkle_builder_root(&l->tree, root);
	/* What a checkpoint signs can always be proved: its hashes are
	 * durable before the signature exists. */
	if ((r = hashes_mark_synced(l, l->tree.size)) < 0)
		goto out;
	if ((r = note_checkpoint_format(&text, origin, l->tree.size, root)) < 0 ||
	    (r = note_sign(&note, text.data, text.len, origin, seed)) < 0)
		goto out;
	snprintf(name, sizeof(name), "%" PRIu64 ".note", l->tree.size);
	if ((r = write_atomic(cpdir, name, note.data, note.len)) < 0 ||
	    (r = write_atomic(cpdir, "latest", note.data, note.len)) < 0)
		goto out;
	if (size != NULL)
		*size = l->tree.size;
	if (out != NULL) {
		buf_reset(out);
		r = buf_append(out, note.data, note.len);
	}
out:
	if (locked)
		ledger_unlock(l);
	if (r < 0)
		log_error(T("監査記録: チェックポイントを作成できません: %s",
			    "ledger: cannot make a checkpoint: %s"),
			  err_msg(r));
	pthread_mutex_lock(&l->mu);
	l->leading = false;
	pthread_cond_broadcast(&l->cv);
	pthread_mutex_unlock(&l->mu);
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
