/*
 * verify.c - recompute a ledger's tree from its records and compare it
 * with everything stored: segment files and their index, subtree hashes,
 * signed checkpoints, seal manifests; archived segments are read from
 * the archive directories given, or checked by their seals alone.
 */
#include "base/base.h"
#include "base/buf.h"
#include "base/i18n.h"
#include "ledger/ledger.h"
#include "ledger/ledger_int.h"
#include "ledger/merkle.h"
#include "ledger/note.h"
#include "ledger/verify.h"

#include <dirent.h>
#include <fcntl.h>
#include "ledger/par.h"
#include <sodium.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>

#define VERIFY_LINE_MAX (LEDGER_BODY_MAX + 4096)
#define VERIFY_CHECKPOINTS_MAX 100000

struct cp {
	char name[320]; /* "checkpoints/<size>.note" or "checkpoints/latest" */
	uint64_t size;
	uint8_t root[MERKLE_HASH_SIZE];
	int status;     /* 0, or what was wrong with the file itself */
	char why[256];  /* when status < 0 */
};

/*
 * Positioned reads through one buffer: the stored hashes of each level and
 * a segment's index entries are read in order, one after the other, so a
 * buffer of RC_CAP bytes turns thousands of 32- or 8-byte preads into one.
 * rc_read() behaves as pread() of those bytes would (a short count only at
 * the end of the file); the buffer holds only bytes read from the file.
 */
#define RC_CAP (256 * 1024)

struct rcache {
	uint8_t *buf; /* RC_CAP bytes once used */
	uint64_t off; /* file offset of buf[0] */
	size_t len;   /* bytes of the file in buf */
};

struct verifier {
	const char *dir;
	const char *const *archives;
	size_t narchives;
	struct ledger_verify_report *rep;
	struct cp *cps; /* sorted by size */
	size_t ncps;
	int lv_fd[MERKLE_HEIGHT_MAX];
	struct rcache lv_rc[MERKLE_HEIGHT_MAX];
	/* The segment being read. */
	uint64_t seg_first;
	int idx_fd;
	struct rcache idx_rc; /* emptied whenever idx_fd changes */
	char log_name[4096]; /* its .log as reports name it */
	char idx_name[4096];
	bool in_archive;     /* read from an archive directory */
	struct par par;      /* the second thread that hashes batches */
};

static void report(struct verifier *v, int64_t entry, const char *file, uint64_t offset,
		   const char *fmt, ...) MM_PRINTF(5, 6);

static void report(struct verifier *v, int64_t entry, const char *file, uint64_t offset,
		   const char *fmt, ...)
{
	va_list ap;

	v->rep->entry = entry;
	v->rep->file_in_archive = v->in_archive && (file == v->log_name || file == v->idx_name);
	snprintf(v->rep->file, sizeof(v->rep->file), "%s", file);
	v->rep->offset = offset;
	va_start(ap, fmt);
	vsnprintf(v->rep->msg, sizeof(v->rep->msg), fmt, ap);
	va_end(ap);
}

static int read_small(const char *path, size_t max, struct buf *out)
{
	char chunk[4096];
	int fd = open(path, O_RDONLY | O_CLOEXEC), r = 0;

	if (fd < 0)
		return errno == ENOENT ? ERR_NOT_FOUND : ERR_IO;
	buf_reset(out);
	for (;;) {
		ssize_t got = read(fd, chunk, sizeof(chunk));

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			r = ERR_IO;
			break;
		}
		if (got == 0)
			break;
		if (out->len + (size_t)got > max) {
			r = ERR_TOO_LARGE;
			break;
		}
		if ((r = buf_append(out, chunk, (size_t)got)) < 0)
			break;
	}
	close(fd);
	return r;
}

int ledger_read_public_key(const char *path, uint8_t pk[32])
{
	static const char head[] = "mamori-ed25519-public-v1\n";
	struct buf b;
	size_t bin_len = 0;
	const char *end = NULL, *p;
	int r;

	buf_init(&b, 4096);
	if ((r = read_small(path, 4096, &b)) < 0)
		goto out;
	r = ERR_INVALID;
	if (b.len < sizeof(head) || memcmp(b.data, head, sizeof(head) - 1) != 0 ||
	    b.data[b.len - 1] != '\n')
		goto out;
	p = b.data + sizeof(head) - 1;
	if (sodium_base642bin(pk, 32, p, b.len - (sizeof(head) - 1) - 1, NULL, &bin_len, &end,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    bin_len != 32 || end != b.data + b.len - 1)
		goto out;
	r = 0;
out:
	buf_release(&b);
	return r;
}

static int cp_cmp(const void *a, const void *b)
{
	const struct cp *x = a, *y = b;

	if (x->size != y->size)
		return x->size < y->size ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* Parse and check the signature of one checkpoint file into c. */
static void cp_load(struct verifier *v, const char *fname, const uint8_t pk[32], struct cp *c)
{
	char path[4096];
	struct note n;
	struct note_checkpoint ck;
	struct buf b;
	int r;

	buf_init(&b, NOTE_MAX);
	snprintf(c->name, sizeof(c->name), "checkpoints/%s", fname);
	c->size = UINT64_MAX; /* unknown until parsed: reported first */
	c->status = 0;
	snprintf(path, sizeof(path), "%s/checkpoints/%s", v->dir, fname);
	if ((r = read_small(path, NOTE_MAX, &b)) < 0 ||
	    (r = note_parse(b.data ? b.data : "", b.len, &n, NULL, NULL)) < 0 ||
	    (r = note_checkpoint_parse(n.text, n.text_len, &ck, NULL, NULL)) < 0) {
		c->status = r;
		snprintf(c->why, sizeof(c->why), "%s",
			 T("署名付きチェックポイントとして読めません",
			   "cannot be read as a signed checkpoint"));
		goto out;
	}
	c->size = ck.size;
	memcpy(c->root, ck.root, MERKLE_HASH_SIZE);
	{
		char origin[NOTE_NAME_MAX + 1];

		if (ck.origin_len > NOTE_NAME_MAX) {
			c->status = ERR_INVALID;
			snprintf(c->why, sizeof(c->why), "%s",
				 T("origin 行が長すぎます", "the origin line is too long"));
			goto out;
		}
		memcpy(origin, ck.origin, ck.origin_len);
		origin[ck.origin_len] = '\0';
		r = note_verify(&n, origin, pk);
	}
	if (r < 0) {
		c->status = ERR_CRYPTO;
		snprintf(c->why, sizeof(c->why), "%s",
			 r == ERR_NOT_FOUND
				 ? T("インスタンスの鍵（keys/signing.pub）による署名がありません",
				     "carries no signature by the instance key (keys/signing.pub)")
				 : T("署名が正しくありません（偽造または改ざん）",
				     "has a signature that does not verify (forged or altered)"));
		goto out;
	}
	if (strcmp(fname, "latest") != 0) {
		char want[64];

		snprintf(want, sizeof(want), "%" PRIu64 ".note", ck.size);
		if (strcmp(want, fname) != 0) {
			c->status = ERR_INVALID;
			snprintf(c->why, sizeof(c->why),
				 T("ファイル名と木のサイズ %" PRIu64 " が一致しません",
				   "its name does not match its tree size %" PRIu64),
				 ck.size);
		}
	}
out:
	buf_release(&b);
}

static int cps_load(struct verifier *v, const uint8_t pk[32])
{
	char path[4096];
	DIR *dh;
	struct dirent *e;
	size_t cap = 0;

	snprintf(path, sizeof(path), "%s/checkpoints", v->dir);
	dh = opendir(path);
	if (dh == NULL)
		return errno == ENOENT ? 0 : ERR_IO;
	while ((e = readdir(dh)) != NULL) {
		size_t len = strlen(e->d_name);

		if (e->d_name[0] == '.')
			continue;
		if (strcmp(e->d_name, "latest") != 0 &&
		    (len < 6 || len > 40 || strcmp(e->d_name + len - 5, ".note") != 0))
			continue;
		if (v->ncps == VERIFY_CHECKPOINTS_MAX)
			break;
		if (v->ncps == cap) {
			cap = cap ? cap * 2 : 16;
			v->cps = xrealloc(v->cps, cap * sizeof(*v->cps));
		}
		cp_load(v, e->d_name, pk, &v->cps[v->ncps++]);
	}
	closedir(dh);
	if (v->ncps > 0)
		qsort(v->cps, v->ncps, sizeof(*v->cps), cp_cmp);
	return 0;
}

/* Check checkpoint c against the tree of c->size entries with root. */
static int cp_check(struct verifier *v, const struct cp *c, const uint8_t root[MERKLE_HASH_SIZE])
{
	int64_t last = c->size > 0 && c->size != UINT64_MAX ? (int64_t)(c->size - 1) : -1;

	if (c->status < 0) {
		report(v, last, c->name, 0, T("%s: %s", "%s: %s"), c->name, c->why);
		return ERR_CORRUPT;
	}
	if (memcmp(c->root, root, MERKLE_HASH_SIZE) != 0) {
		report(v, last, c->name, 0,
		       T("%s: 署名された木（先頭 %" PRIu64 " 件）の root が記録から再計算した root"
			 "と一致しません。記録 0 から %" PRId64 " までのどこかが署名後に書き換えられています",
			 "%s: the signed root of the first %" PRIu64 " entries differs from the root "
			 "recomputed from the records: entries 0 to %" PRId64
			 " were rewritten after they were signed"),
		       c->name, c->size, last);
		return ERR_CORRUPT;
	}
	v->rep->checkpoints++;
	return 0;
}

/* Read n bytes at off of fd through c: the number of bytes read (fewer
 * than n only at the end of the file), or -1 with errno. */
static ssize_t rc_read(struct rcache *c, int fd, void *out, size_t n, uint64_t off)
{
	ssize_t got;
	size_t have;

	BUG_ON(n > RC_CAP);
	if (off < c->off || off - c->off >= c->len || c->len - (off - c->off) < n) {
		if (c->buf == NULL)
			c->buf = xmalloc(RC_CAP);
		c->len = 0;
		c->off = off;
		do
			got = pread(fd, c->buf, RC_CAP, (off_t)off);
		while (got < 0 && errno == EINTR);
		if (got < 0)
			return -1;
		c->len = (size_t)got;
	}
	have = c->len - (size_t)(off - c->off);
	if (have > n)
		have = n;
	memcpy(out, c->buf + (off - c->off), have);
	return (ssize_t)have;
}

static void rc_reset(struct rcache *c)
{
	c->off = 0;
	c->len = 0;
}

static void rc_release(struct rcache *c)
{
	free(c->buf);
	c->buf = NULL;
	rc_reset(c);
}

static int lv_fd(struct verifier *v, unsigned h)
{
	char path[4096];

	if (v->lv_fd[h] == -2) {
		snprintf(path, sizeof(path), "%s/hash/L%02u", v->dir, h);
		v->lv_fd[h] = open(path, O_RDONLY | O_CLOEXEC);
	}
	return v->lv_fd[h];
}

/* Compare the stored hash of subtree (level h, position pos) with want;
 * for a leaf, a difference is reported at the record (rec_off in the
 * segment's .log). */
static int hash_check(struct verifier *v, unsigned h, uint64_t pos,
		      const uint8_t want[MERKLE_HASH_SIZE], uint64_t rec_off)
{
	uint8_t got[MERKLE_HASH_SIZE];
	char file[24];
	uint64_t off = pos * MERKLE_HASH_SIZE, first = pos << h, last = first + ((uint64_t)1 << h) - 1;
	int fd = lv_fd(v, h);
	ssize_t r = -1;

	if (fd >= 0)
		r = rc_read(&v->lv_rc[h], fd, got, sizeof(got), off);
	if (r == (ssize_t)sizeof(got) && memcmp(got, want, MERKLE_HASH_SIZE) == 0) {
		v->rep->hashes++;
		return 0;
	}
	/* Something differs: name the file (only now, it costs a format). */
	snprintf(file, sizeof(file), "hash/L%02u", h);
	if (r != (ssize_t)sizeof(got)) {
		report(v, (int64_t)last, file, off,
		       T("%s のバイト位置 %" PRIu64 ": 記録 %" PRIu64 "〜%" PRIu64
			 " の部分木ハッシュがありません",
			 "%s at byte offset %" PRIu64 ": the subtree hash of entries %" PRIu64
			 " to %" PRIu64 " is missing"),
		       file, off, first, last);
		return ERR_CORRUPT;
	}
	if (memcmp(got, want, MERKLE_HASH_SIZE) != 0 && h == 0) {
		/* The leaf: name the record first, the stored hash second. */
		report(v, (int64_t)first, v->log_name, rec_off,
		       T("記録 %" PRIu64 "（%s のバイト位置 %" PRIu64 "）のハッシュが %s のバイト位置 %" PRIu64
			 " に保存されたものと一致しません（記録が書き換えられたか、ハッシュが改ざんされています）",
			 "entry %" PRIu64 " (%s byte offset %" PRIu64 "): its hash differs from the one "
			 "stored in %s at byte offset %" PRIu64 " (the entry or the stored hash was altered)"),
		       first, v->log_name, rec_off, file, off);
		return ERR_CORRUPT;
	}
	if (memcmp(got, want, MERKLE_HASH_SIZE) != 0) {
		report(v, (int64_t)last, file, off,
		       T("記録 %" PRIu64 "〜%" PRIu64 ": %s のバイト位置 %" PRIu64
			 " に保存された部分木ハッシュが再計算したものと一致しません",
			 "entries %" PRIu64 " to %" PRIu64 ": the subtree hash stored in %s at byte offset %" PRIu64
			 " differs from the recomputed one"),
		       first, last, file, off);
		return ERR_CORRUPT;
	}
	v->rep->hashes++;
	return 0;
}

/* Check one record line (without '\n') at byte offset off of the current
 * segment's .log: entry i. */
static int line_check(struct verifier *v, uint64_t i, uint64_t off, const char *line, size_t len)
{
	static const char head[] = "{\"v\":1,\"index\":";
	char want[64], digits[20];
	size_t n = sizeof(head) - 1, nd = 0;
	uint64_t j = i - v->seg_first, stored = 0, x = i;
	uint8_t e[8];
	ssize_t r;

	/* want = head, the digits of i, ','; built by hand (once per record). */
	do {
		digits[sizeof(digits) - 1 - nd++] = (char)('0' + x % 10);
		x /= 10;
	} while (x != 0);
	memcpy(want, head, n);
	memcpy(want + n, digits + sizeof(digits) - nd, nd);
	n += nd;
	want[n++] = ',';
	if (n > len || memcmp(line, want, n) != 0) {
		const char *p = "{\"v\":1,\"index\":";
		size_t pl = strlen(p), k = pl;
		uint64_t other = 0;
		bool num = len > pl && memcmp(line, p, pl) == 0;

		while (num && k < len && line[k] >= '0' && line[k] <= '9' && k < pl + 19)
			other = other * 10 + (uint64_t)(line[k++] - '0');
		if (num && k > pl && k < len && line[k] == ',') {
			report(v, (int64_t)i, v->log_name, off,
			       T("記録 %" PRIu64 "（%s のバイト位置 %" PRIu64 "）の index が %" PRIu64
				 " です。記録が削除・挿入・入れ替えされています",
				 "entry %" PRIu64 " (%s byte offset %" PRIu64 ") carries index %" PRIu64
				 ": entries were deleted, inserted or swapped"),
			       i, v->log_name, off, other);
		} else {
			report(v, (int64_t)i, v->log_name, off,
			       T("記録 %" PRIu64 "（%s のバイト位置 %" PRIu64
				 "）は監査記録の形式ではありません",
				 "entry %" PRIu64 " (%s byte offset %" PRIu64 ") is not an audit record"),
			       i, v->log_name, off);
		}
		return ERR_CORRUPT;
	}
	r = rc_read(&v->idx_rc, v->idx_fd, e, 8, j * 8);
	if (r == 8)
		for (int k = 7; k >= 0; k--)
			stored = (stored << 8) | e[k];
	if (r != 8 || stored != off) {
		report(v, (int64_t)i, v->idx_name, j * 8,
		       r != 8 ? T("%s はバイト位置 %" PRIu64 " で終わっていますが、記録 %" PRIu64 " があります",
				  "%s ends at byte offset %" PRIu64 " but entry %" PRIu64 " exists")
			      : T("%s のバイト位置 %" PRIu64 ": 記録 %" PRIu64 " の位置が .log と一致しません",
				  "%s at byte offset %" PRIu64 ": the offset of entry %" PRIu64
				  " does not match the .log"),
		       v->idx_name, j * 8, i);
		return ERR_CORRUPT;
	}
	return 0;
}

/* The tree so far: check the checkpoints of its size. */
static int cps_at(struct verifier *v, const struct merkle_builder *t, size_t *next_cp)
{
	uint8_t root[MERKLE_HASH_SIZE];
	int r;

	if (*next_cp < v->ncps && v->cps[*next_cp].size == t->size) {
		merkle_builder_root(t, root);
		while (*next_cp < v->ncps && v->cps[*next_cp].size == t->size)
			if ((r = cp_check(v, &v->cps[(*next_cp)++], root)) < 0)
				return r;
	}
	return 0;
}

/* Add a leaf to the tree (and to the segment's own tree seg_t, when a seal
 * asks for it; else seg_t is NULL) and check the stored hashes it
 * completes. */
static int leaf_add(struct verifier *v, struct merkle_builder *t, struct merkle_builder *seg_t,
		    const uint8_t leaf[MERKLE_HASH_SIZE], uint64_t rec_off, size_t *next_cp)
{
	uint8_t completed[MERKLE_HEIGHT_MAX][MERKLE_HASH_SIZE];
	unsigned k;
	int r;

	if ((r = merkle_builder_append(t, leaf, completed, &k)) < 0 ||
	    (seg_t != NULL && (r = merkle_builder_append(seg_t, leaf, NULL, NULL)) < 0))
		return r;
	for (unsigned h = 0; h < k; h++)
		if ((r = hash_check(v, h, (t->size >> h) - 1, completed[h], rec_off)) < 0)
			return r;
	v->rep->entries = t->size;
	return cps_at(v, t, next_cp);
}

static void hex_of(const uint8_t h[32], char out[65])
{
	sodium_bin2hex(out, 65, h, 32);
}

/*
 * Check a seal against what was found: count records, a segment tree
 * seg_t, and (when the files were read) the SHA-256 and size of its
 * .log and the SHA-256 of its .idx.
 */
static int seal_check(struct verifier *v, const char *seal_name, const struct seg_seal *s,
		      uint64_t count, const struct merkle_builder *seg_t, const uint8_t *log_sha,
		      uint64_t log_bytes, const uint8_t *idx_sha)
{
	uint8_t root[MERKLE_HASH_SIZE];
	const struct cp *c = NULL;
	int64_t last = (int64_t)(s->first + count) - 1;
	char a[65], b[65];

	if (s->count != count) {
		report(v, last, seal_name, 0,
		       T("%s: 封印では記録 %" PRIu64 " 件ですが、セグメントには %" PRIu64 " 件あります",
			 "%s: the seal says %" PRIu64 " entries but the segment holds %" PRIu64),
		       seal_name, s->count, count);
		return ERR_CORRUPT;
	}
	if (log_sha != NULL && (memcmp(log_sha, s->log_sha256, 32) != 0 || log_bytes != s->log_bytes)) {
		hex_of(log_sha, a);
		hex_of(s->log_sha256, b);
		report(v, last, seal_name, 0,
		       T("%s: %s の SHA-256 %s（%" PRIu64 " バイト）が封印の %s（%" PRIu64 " バイト）と一致しません",
			 "%s: the SHA-256 of %s, %s (%" PRIu64 " bytes), differs from the sealed %s (%" PRIu64
			 " bytes)"),
		       seal_name, v->log_name, a, log_bytes, b, s->log_bytes);
		return ERR_CORRUPT;
	}
	if (idx_sha != NULL && memcmp(idx_sha, s->idx_sha256, 32) != 0) {
		report(v, last, seal_name, 0,
		       T("%s: %s の SHA-256 が封印と一致しません", "%s: the SHA-256 of %s differs from the seal"),
		       seal_name, v->idx_name);
		return ERR_CORRUPT;
	}
	merkle_builder_root(seg_t, root);
	if (s->has_subtree != ((count & (count - 1)) == 0 && (s->first & (count - 1)) == 0) ||
	    (s->has_subtree && memcmp(root, s->subtree_root, MERKLE_HASH_SIZE) != 0)) {
		report(v, last, seal_name, 0,
		       T("%s: 封印の部分木 root が記録 %" PRIu64 "〜%" PRId64 " の木と一致しません",
			 "%s: the sealed subtree root differs from the tree of entries %" PRIu64
			 " to %" PRId64),
		       seal_name, s->first, last);
		return ERR_CORRUPT;
	}
	for (size_t k = 0; k < v->ncps; k++)
		if (v->cps[k].size == s->cp_size && v->cps[k].status == 0)
			c = &v->cps[k];
	if (c == NULL || memcmp(c->root, s->cp_root, MERKLE_HASH_SIZE) != 0) {
		report(v, last, seal_name, 0,
		       c == NULL ? T("%s: 封印が示すチェックポイント checkpoints/%" PRIu64 ".note がありません",
				     "%s: the checkpoint the seal names, checkpoints/%" PRIu64
				     ".note, is missing")
				 : T("%s: 封印のチェックポイント root（木のサイズ %" PRIu64
				     "）が署名付きチェックポイントと一致しません",
				     "%s: the sealed checkpoint root (tree size %" PRIu64
				     ") differs from the signed checkpoint"),
		       seal_name, s->cp_size);
		return ERR_CORRUPT;
	}
	v->rep->seals++;
	return 0;
}

/* Open the .log and .idx of segment si: locally, or in the first archive
 * directory holding both. Sets v's names; *f and v->idx_fd, or 1 (and
 * nothing open) when neither place has them. */
static int seg_open(struct verifier *v, const struct seg_info *si, FILE **f)
{
	char name[SEG_NAME_MAX], logp[4096], idxp[4096];
	int r;

	*f = NULL;
	v->idx_fd = -1;
	rc_reset(&v->idx_rc);
	v->in_archive = false;
	seg_name(si->first, name);
	if (si->log || si->idx) {
		if (si->legacy) {
			snprintf(v->log_name, sizeof(v->log_name), "records.log");
			snprintf(v->idx_name, sizeof(v->idx_name), "records.idx");
		} else {
			snprintf(v->log_name, sizeof(v->log_name), SEG_DIR "/%s.log", name);
			snprintf(v->idx_name, sizeof(v->idx_name), SEG_DIR "/%s.idx", name);
		}
		if ((r = seg_path(v->dir, si, "log", logp, sizeof(logp))) < 0 ||
		    (r = seg_path(v->dir, si, "idx", idxp, sizeof(idxp))) < 0)
			return r;
		/* A move from the single-file layout cut short: the index
		 * moves first, the log is still records.log. */
		if (si->first == 0 && !si->log && si->idx && !si->legacy) {
			snprintf(logp, sizeof(logp), "%s/records.log", v->dir);
			snprintf(v->log_name, sizeof(v->log_name), "records.log");
		}
	} else {
		size_t a;

		for (a = 0; a < v->narchives; a++) {
			snprintf(logp, sizeof(logp), "%s/%s.log", v->archives[a], name);
			snprintf(idxp, sizeof(idxp), "%s/%s.idx", v->archives[a], name);
			if (access(logp, F_OK) == 0 && access(idxp, F_OK) == 0)
				break;
		}
		if (a == v->narchives)
			return 1;
		snprintf(v->log_name, sizeof(v->log_name), "%s", logp);
		snprintf(v->idx_name, sizeof(v->idx_name), "%s", idxp);
		v->in_archive = true;
	}
	*f = fopen(logp, "rbe");
	if (*f == NULL) {
		report(v, (int64_t)si->first, v->log_name, 0, T("%s を開けません: %s", "cannot open %s: %s"),
		       v->log_name, strerror(errno));
		return errno == ENOENT ? ERR_CORRUPT : ERR_IO;
	}
	/* Records are read in order: a large buffer means few reads. */
	setvbuf(*f, NULL, _IOFBF, RC_CAP);
	v->idx_fd = open(idxp, O_RDONLY | O_CLOEXEC);
	if (v->idx_fd < 0) {
		report(v, (int64_t)si->first, v->idx_name, 0, T("%s を開けません: %s", "cannot open %s: %s"),
		       v->idx_name, strerror(errno));
		fclose(*f);
		*f = NULL;
		return errno == ENOENT ? ERR_CORRUPT : ERR_IO;
	}
	return 0;
}

/*
 * Read one segment's records (entries first ..): each line complete,
 * carrying its index, pointed to by its .idx entry, its leaf hash and the
 * subtree hashes it completes equal to the stored ones, checkpoints at
 * their sizes. *count gets the records read; with the seal's hashes
 * wanted (sha != NULL), the SHA-256 of the .log and its size.
 */
/*
 * Records are read in batches: the lines of up to VB_LINES records, whose
 * leaf hashes are computed apart and which are then checked in order, one
 * record after the other, exactly as one at a time. With two cores, a
 * second thread hashes the leaves of batch k while this one reads batch
 * k + 1 (the hashes are independent of one another and hashing has no
 * side effect), so hashing ahead changes nothing that is checked nor the
 * order in which a difference is found. MAMORI_VERIFY_THREADS=1 keeps
 * everything on one core.
 */
#define VB_LINES 4096
/* Room for the hashes a batch completes: each leaf itself, and at most one
 * interior hash per leaf plus the levels above the batch. */
#define VB_DONE (2 * VB_LINES + 2 * MERKLE_HEIGHT_MAX)

/* The root of the tree after leaf k of a batch, where a checkpoint is. */
struct vroot {
	size_t k;
	uint8_t root[MERKLE_HASH_SIZE];
};

/*
 * A batch of lines and what hashing it computed. The tree grows on the
 * hashing side: t (and seg_t, for a sealed segment) gain the batch's
 * leaves in order, and the hashes each leaf completes (itself first, then
 * the interior hashes, level by level) are kept for the checking side,
 * with the root at each checkpoint's size. The checking side then compares
 * them with what is stored, record by record, and never touches t while a
 * batch is being hashed.
 */
struct vbatch {
	struct buf text;            /* the lines, '\n' included, back to back */
	size_t start[VB_LINES + 1]; /* line k is text[start[k], start[k + 1]) */
	size_t n;
	bool torn; /* the line after the n read lacks its '\n' (or is too long) */
	/* The leaf hashes; the first pre of them computed by the reading
	 * side (below), the others by hashing. */
	uint8_t leaf[VB_LINES][MERKLE_HASH_SIZE];
	size_t pre;
	/* Set before hashing. */
	struct merkle_builder *t, *seg_t;
	const struct cp *cps;
	size_t ncps;
	/* Set by hashing: t->size before the batch; leaf k completed the
	 * hashes done[dstart[k], dstart[k + 1]), of levels 0, 1, ... */
	uint64_t base;
	int err;
	size_t nok; /* leaves added to the tree: n, or fewer after err */
	size_t dstart[VB_LINES + 1];
	uint8_t done[VB_DONE][MERKLE_HASH_SIZE];
	struct vroot *roots; /* in order of k; malloc'd, kept for reuse */
	size_t nroots, roots_cap;
};

/* The leaf hashes of lines [lo, hi) of b. */
static void vbatch_leaves(struct vbatch *b, size_t lo, size_t hi)
{
	for (size_t k = lo; k < hi; k++)
		merkle_leaf_hash(b->text.data + b->start[k], b->start[k + 1] - b->start[k] - 1,
				 b->leaf[k]);
}

static void vbatch_hash(struct vbatch *b)
{
	size_t d = 0, lo = 0, hi = b->ncps;

	b->base = b->t->size;
	b->err = 0;
	b->nok = 0;
	b->nroots = 0;
	/* The first checkpoint beyond the tree as it is (cps are sorted by
	 * size). */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (b->cps[mid].size <= b->base)
			lo = mid + 1;
		else
			hi = mid;
	}
	vbatch_leaves(b, b->pre, b->n);
	for (size_t k = 0; k < b->n; k++) {
		unsigned kk;

		b->dstart[k] = d;
		BUG_ON(d + MERKLE_HEIGHT_MAX > VB_DONE);
		if ((b->err = merkle_builder_append(b->t, b->leaf[k], b->done + d, &kk)) < 0 ||
		    (b->seg_t != NULL &&
		     (b->err = merkle_builder_append(b->seg_t, b->leaf[k], NULL, NULL)) < 0)) {
			break;
		}
		d += kk;
		b->nok = k + 1;
		if (lo < b->ncps && b->cps[lo].size == b->t->size) {
			if (b->nroots == b->roots_cap) {
				b->roots_cap = b->roots_cap ? b->roots_cap * 2 : 16;
				b->roots = xrealloc(b->roots, b->roots_cap * sizeof(*b->roots));
			}
			b->roots[b->nroots].k = k;
			merkle_builder_root(b->t, b->roots[b->nroots++].root);
			while (lo < b->ncps && b->cps[lo].size == b->t->size)
				lo++;
		}
	}
	b->dstart[b->nok] = d;
}

/* vbatch_hash as the second thread's work (par.h); the range is unused. */
static void vbatch_hash_range(void *ctx, size_t lo, size_t hi)
{
	(void)lo;
	(void)hi;
	vbatch_hash(ctx);
}

/*
 * Check record k of a hashed batch (it is entry i, at byte off of the
 * .log): the stored hashes it completes, then the checkpoints of the
 * tree's size after it, as leaf_add does for one leaf.
 */
static int vbatch_check(struct verifier *v, const struct vbatch *b, size_t k, uint64_t off,
			size_t *ri, size_t *next_cp)
{
	uint64_t size = b->base + k + 1;
	int r;

	for (size_t j = b->dstart[k]; j < b->dstart[k + 1]; j++) {
		unsigned h = (unsigned)(j - b->dstart[k]);

		if ((r = hash_check(v, h, (size >> h) - 1, b->done[j], off)) < 0)
			return r;
	}
	v->rep->entries = size;
	if (*next_cp < v->ncps && v->cps[*next_cp].size == size) {
		while (*ri < b->nroots && b->roots[*ri].k < k)
			(*ri)++;
		BUG_ON(*ri >= b->nroots || b->roots[*ri].k != k);
		while (*next_cp < v->ncps && v->cps[*next_cp].size == size)
			if ((r = cp_check(v, &v->cps[(*next_cp)++], b->roots[*ri].root)) < 0)
				return r;
	}
	return 0;
}

static unsigned verify_threads(void)
{
	const char *e = getenv("MAMORI_VERIFY_THREADS");
	long cpus;

	if (e != NULL && strcmp(e, "1") == 0)
		return 1;
	cpus = sysconf(_SC_NPROCESSORS_ONLN);
	return cpus >= 2 ? 2 : 1;
}

/*
 * Read the next batch of lines from f into b, in blocks straight into
 * b->text (no line is copied twice): the bytes of prev after its last
 * whole line (the start of a line the block cut) come first. The seal's
 * digest, when st->ctx is set, takes every byte read, once, in order.
 * *eof at the end of the file or after a torn line (one without its '\n',
 * or longer than VERIFY_LINE_MAX), which is not kept.
 */
static int vbatch_read(struct vbatch *b, const struct vbatch *prev, FILE *f,
		       struct merkle_sha256_stream *st, bool *eof)
{
	size_t pos = 0;
	bool at_end = false;
	int r;

	buf_reset(&b->text);
	b->n = 0;
	b->start[0] = 0;
	b->torn = false;
	if (prev != NULL && prev->text.len > prev->start[prev->n] &&
	    (r = buf_append(&b->text, prev->text.data + prev->start[prev->n],
			    prev->text.len - prev->start[prev->n])) < 0)
		return r;
	while (b->n < VB_LINES) {
		const char *nl = pos < b->text.len ? memchr(b->text.data + pos, '\n', b->text.len - pos)
						   : NULL;
		size_t got;

		if (nl != NULL) {
			size_t end = (size_t)(nl - b->text.data) + 1;

			if (end - b->start[b->n] > VERIFY_LINE_MAX) {
				b->torn = true;
				*eof = true;
				break;
			}
			b->start[++b->n] = end;
			pos = end;
			continue;
		}
		pos = b->text.len;
		/* No '\n' in what is here: a line longer than any record, the
		 * end of the file (a torn last line if anything is left), or
		 * time to read the next block. */
		if (b->text.len - b->start[b->n] > VERIFY_LINE_MAX || at_end) {
			if (b->text.len > b->start[b->n])
				b->torn = true;
			*eof = true;
			break;
		}
		if ((r = buf_reserve(&b->text, RC_CAP)) < 0)
			return r;
		got = fread(b->text.data + b->text.len, 1, RC_CAP, f);
		if (got == 0) {
			at_end = true;
			continue;
		}
		if (st->ctx != NULL &&
		    (r = merkle_sha256_update(st, b->text.data + b->text.len, got)) < 0)
			return r;
		b->text.len += got;
	}
	return 0;
}

/*
 * Read one segment's records (entries first ..): each line complete,
 * carrying its index, pointed to by its .idx entry, its leaf hash and the
 * subtree hashes it completes equal to the stored ones, checkpoints at
 * their sizes. *count gets the records read; with the seal's hashes
 * wanted (sha != NULL), the SHA-256 of the .log and its size.
 */
static int seg_read(struct verifier *v, FILE *f, bool last, struct merkle_builder *t,
		    struct merkle_builder *seg_t, size_t *next_cp, uint64_t *count, uint8_t *sha,
		    uint64_t *bytes)
{
	struct vbatch *bb = xcalloc(2, sizeof(*bb)), *cur = &bb[0], *nxt = &bb[1];
	struct merkle_sha256_stream st = { NULL };
	unsigned threads = verify_threads();
	uint64_t i = v->seg_first, off = 0;
	struct stat sb;
	bool eof = false, more;
	int r = 0;

	buf_init(&bb[0].text, SIZE_MAX);
	buf_init(&bb[1].text, SIZE_MAX);
	/* The SHA-256 of the whole .log only when a seal asks for it. */
	if (sha != NULL && (r = merkle_sha256_begin(&st)) < 0)
		goto out;
	if ((r = vbatch_read(cur, NULL, f, &st, &eof)) < 0)
		goto out;
	cur->pre = 0;
	for (;;) {
		bool threaded = false;

		/* Hash cur and grow the tree with it (on the second thread
		 * when there is one) while the next batch is read; then check
		 * cur in order. */
		size_t ri = 0;

		more = !eof;
		cur->t = t;
		cur->seg_t = seg_t;
		cur->cps = v->cps;
		cur->ncps = v->ncps;
		if (threads >= 2 && more && cur->n >= 64)
			threaded = par_begin(&v->par, vbatch_hash_range, cur, 0, 1);
		if (!threaded)
			vbatch_hash(cur);
		if (more)
			r = vbatch_read(nxt, cur, f, &st, &eof);
		/* The thread has more to do per line (the tree as well): the
		 * reading side takes the first third of the next batch's
		 * leaves, so that both finish at about the same time. */
		nxt->pre = 0;
		if (threaded && r == 0 && more) {
			nxt->pre = nxt->n / 3;
			vbatch_leaves(nxt, 0, nxt->pre);
		}
		if (threaded)
			par_end(&v->par);
		if (r < 0)
			goto out;
		for (size_t k = 0; k < cur->nok; k++, i++) {
			size_t ll = cur->start[k + 1] - cur->start[k];

			if ((r = line_check(v, i, off, cur->text.data + cur->start[k], ll - 1)) < 0 ||
			    (r = vbatch_check(v, cur, k, off, &ri, next_cp)) < 0)
				goto out;
			off += ll;
		}
		if (cur->err < 0) {
			r = cur->err;
			goto out;
		}
		if (cur->torn) {
			report(v, (int64_t)i, v->log_name, off,
			       T("記録 %" PRIu64 "（%s のバイト位置 %" PRIu64 "）が不完全です（改行がありません）",
				 "entry %" PRIu64 " (%s byte offset %" PRIu64 ") is incomplete (no newline)"),
			       i, v->log_name, off);
			r = ERR_CORRUPT;
			goto out;
		}
		if (!more)
			break;
		{
			struct vbatch *x = cur;

			cur = nxt;
			nxt = x;
		}
	}
	if (ferror(f)) {
		report(v, (int64_t)i, v->log_name, off, T("%s を読めません", "cannot read %s"), v->log_name);
		r = ERR_IO;
		goto out;
	}
	/* A checkpoint beyond the last record says more than a long index:
	 * the log was truncated (reported by the caller). */
	*bytes = off;
	if (last && *next_cp < v->ncps && v->cps[*next_cp].size != UINT64_MAX) {
		*count = i - v->seg_first;
		goto out;
	}
	/* The index ends where the records end. */
	if (fstat(v->idx_fd, &sb) != 0 || (uint64_t)sb.st_size != (i - v->seg_first) * 8) {
		report(v, (int64_t)i, v->idx_name, (i - v->seg_first) * 8,
		       T("%s にはバイト位置 %" PRIu64 " 以降に余分な索引があります。%s は記録 %" PRIu64
			 " 件（バイト位置 %" PRIu64 "）で終わっています。記録が切り詰められています",
			 "%s has entries beyond byte offset %" PRIu64 " but %s ends after %" PRIu64
			 " entries (byte offset %" PRIu64 "): the log was truncated"),
		       v->idx_name, (i - v->seg_first) * 8, v->log_name, i - v->seg_first, off);
		r = ERR_CORRUPT;
		goto out;
	}
	*count = i - v->seg_first;
	if (sha != NULL)
		r = merkle_sha256_end(&st, sha);
out:
	(void)merkle_sha256_end(&st, NULL);
	buf_release(&bb[0].text);
	buf_release(&bb[1].text);
	free(bb[0].roots);
	free(bb[1].roots);
	free(bb);
	return r;
}

/* An archived segment without its files: take its leaves from hash/L00
 * and check the tree above them, the checkpoints and the seal. */
static int seg_from_hashes(struct verifier *v, const struct seg_seal *s, struct merkle_builder *t,
			   struct merkle_builder *seg_t, size_t *next_cp)
{
	uint8_t leaf[MERKLE_HASH_SIZE];
	int fd = lv_fd(v, 0);
	int r;

	snprintf(v->log_name, sizeof(v->log_name), "hash/L00");
	for (uint64_t j = 0; j < s->count; j++) {
		uint64_t i = s->first + j;
		ssize_t got = -1;

		if (fd >= 0)
			got = rc_read(&v->lv_rc[0], fd, leaf, sizeof(leaf), i * MERKLE_HASH_SIZE);
		if (got != (ssize_t)sizeof(leaf)) {
			report(v, (int64_t)i, "hash/L00", i * MERKLE_HASH_SIZE,
			       T("hash/L00 のバイト位置 %" PRIu64 ": 保管された記録 %" PRIu64 " のハッシュがありません",
				 "hash/L00 at byte offset %" PRIu64 ": the hash of archived entry %" PRIu64
				 " is missing"),
			       i * MERKLE_HASH_SIZE, i);
			return ERR_CORRUPT;
		}
		if ((r = leaf_add(v, t, seg_t, leaf, i * MERKLE_HASH_SIZE, next_cp)) < 0)
			return r;
	}
	return 0;
}

static int verify_run(struct verifier *v)
{
	uint8_t root[MERKLE_HASH_SIZE], log_sha[32], idx_sha[32];
	struct merkle_builder *t = xmalloc(sizeof(*t)), *seg_t = xmalloc(sizeof(*seg_t));
	struct seg_info *segs = NULL;
	char seal_name[SEG_NAME_MAX + 16], sealp[4096];
	size_t nsegs = 0, next_cp = 0;
	uint64_t expected = 0, last_bytes = 0;
	struct stat st;
	FILE *f = NULL;
	int r;

	merkle_builder_init(t);
	/* Checkpoints that cannot be read at all (size unknown) come first,
	 * as do those of the empty tree. */
	merkle_empty_root(root);
	for (size_t k = 0; k < v->ncps; k++) {
		if (v->cps[k].size == UINT64_MAX && (r = cp_check(v, &v->cps[k], root)) < 0)
			goto out;
	}
	while (next_cp < v->ncps && v->cps[next_cp].size == 0)
		if ((r = cp_check(v, &v->cps[next_cp++], root)) < 0)
			goto out;
	if ((r = seg_list(v->dir, &segs, &nsegs)) < 0) {
		report(v, -1, SEG_DIR, 0, "%s", T("seg を読めません", "cannot read seg"));
		goto out;
	}
	if (nsegs == 0) {
		report(v, -1, SEG_DIR, 0, "%s",
		       T("記録のセグメントがありません", "there is no segment of records"));
		r = ERR_NOT_FOUND;
		goto out;
	}
	for (size_t k = 0; k < nsegs; k++) {
		const struct seg_info *si = &segs[k];
		struct seg_seal seal;
		char name[SEG_NAME_MAX];
		uint64_t count = 0, bytes = 0;
		int o;

		seg_name(si->first, name);
		snprintf(seal_name, sizeof(seal_name), SEG_DIR "/%s.seal", name);
		snprintf(v->log_name, sizeof(v->log_name), SEG_DIR "/%s.log", name);
		v->in_archive = false;
		if (si->first != expected) {
			report(v, (int64_t)expected, v->log_name, 0,
			       T("記録 %" PRIu64 " から始まるセグメントがあるはずですが、%s は記録 %" PRIu64
				 " から始まります（セグメントが欠けているか、余分です）",
				 "a segment starting at entry %" PRIu64 " was expected, but %s starts at entry %" PRIu64
				 " (a segment is missing or extra)"),
			       expected, v->log_name, si->first);
			r = ERR_CORRUPT;
			goto out;
		}
		if (si->seal) {
			if ((r = seg_path(v->dir, si, "seal", sealp, sizeof(sealp))) < 0)
				goto out;
			if (seg_seal_load(sealp, &seal) < 0 || seal.first != si->first) {
				report(v, (int64_t)si->first, seal_name, 0,
				       T("%s は封印として読めません", "%s cannot be read as a seal"), seal_name);
				r = ERR_CORRUPT;
				goto out;
			}
		}
		if (!(si->log || si->idx) && !si->seal) {
			report(v, (int64_t)si->first, v->log_name, 0,
			       T("%s がありません", "%s is missing"), v->log_name);
			r = ERR_CORRUPT;
			goto out;
		}
		merkle_builder_init(seg_t);
		v->seg_first = si->first;
		o = seg_open(v, si, &f);
		if (o < 0) {
			r = o;
			goto out;
		}
		if (o == 0) {
			v->rep->segments++;
			if (v->in_archive)
				v->rep->archived++;
			/* The segment's own tree only for its seal. */
			r = seg_read(v, f, k + 1 == nsegs, t, si->seal ? seg_t : NULL, &next_cp, &count,
				     si->seal ? log_sha : NULL, &bytes);
			fclose(f);
			f = NULL;
			if (r == 0 && si->seal) {
				char idxp[4096];

				if (v->in_archive)
					snprintf(idxp, sizeof(idxp), "%s", v->idx_name);
				else
					r = seg_path(v->dir, si, "idx", idxp, sizeof(idxp));
				if (r == 0 && seg_file_sha256(idxp, idx_sha, NULL) < 0) {
					report(v, (int64_t)si->first, v->idx_name, 0,
					       T("%s を読めません", "cannot read %s"), v->idx_name);
					r = ERR_IO;
				}
			}
			close(v->idx_fd);
			v->idx_fd = -1;
			rc_reset(&v->idx_rc);
			if (r < 0)
				goto out;
			if (si->seal && (r = seal_check(v, seal_name, &seal, count, seg_t, log_sha, bytes,
							idx_sha)) < 0)
				goto out;
			/* A segment followed by another is whole: a sealed one by
			 * its seal, the others by where the next begins. */
			if (k + 1 < nsegs && si->first + count != segs[k + 1].first && !si->seal) {
				report(v, (int64_t)(si->first + count), v->log_name, bytes,
				       T("%s は記録 %" PRIu64 " 件で終わっていますが、次のセグメントは記録 %" PRIu64
					 " から始まります",
					 "%s ends after %" PRIu64 " entries but the next segment starts at entry %" PRIu64),
				       v->log_name, count, segs[k + 1].first);
				r = ERR_CORRUPT;
				goto out;
			}
		} else {
			/* Archived, and no archive directory given holds it. */
			v->in_archive = false;
			if ((r = seg_from_hashes(v, &seal, t, seg_t, &next_cp)) < 0 ||
			    (r = seal_check(v, seal_name, &seal, seal.count, seg_t, NULL, 0, NULL)) < 0)
				goto out;
			count = seal.count;
			v->rep->sealed_only += count;
			v->rep->sealed_only_segments++;
		}
		expected = si->first + count;
		last_bytes = bytes;
	}
	v->in_archive = false;
	/* Everything stored must end where the records end. */
	if (next_cp < v->ncps && v->cps[next_cp].size != UINT64_MAX) {
		const struct cp *c = &v->cps[next_cp];

		report(v, (int64_t)expected, v->log_name, last_bytes,
		       T("%s は %" PRIu64 " 件の記録に署名していますが、%s には %" PRIu64
			 " 件までしかありません（バイト位置 %" PRIu64 " で終わっています）。記録が切り詰められています",
			 "%s signs %" PRIu64 " entries but %s holds only %" PRIu64
			 " (it ends at byte offset %" PRIu64 "): the log was truncated"),
		       c->name, c->size, v->log_name, expected, last_bytes);
		r = ERR_CORRUPT;
		goto out;
	}
	for (unsigned h = 0; h < MERKLE_HEIGHT_MAX; h++) {
		uint64_t want = (expected >> h) * MERKLE_HASH_SIZE;
		int fd = lv_fd(v, h);
		char file[24];

		if (fd < 0)
			continue;
		snprintf(file, sizeof(file), "hash/L%02u", h);
		if (fstat(fd, &st) != 0 || (uint64_t)st.st_size != want) {
			report(v, (int64_t)expected, file, want,
			       T("%s にはバイト位置 %" PRIu64 " 以降に、記録 %" PRIu64
				 " 件を超えるハッシュがあります。記録が切り詰められています",
				 "%s holds hashes beyond byte offset %" PRIu64 ", more than the %" PRIu64
				 " entries of the ledger: the log was truncated"),
			       file, want, expected);
			r = ERR_CORRUPT;
			goto out;
		}
	}
	merkle_builder_root(t, v->rep->root);
	r = 0;
out:
	if (f != NULL)
		fclose(f);
	if (v->idx_fd >= 0)
		close(v->idx_fd);
	free(segs);
	free(seg_t);
	free(t);
	return r;
}

int ledger_verify_archives(const char *dir, const uint8_t pk[32], const char *const *archives,
			   size_t narchives, struct ledger_verify_report *rep)
{
	struct verifier v = { 0 };
	int r;

	memset(rep, 0, sizeof(*rep));
	rep->entry = -1;
	v.dir = dir;
	v.archives = archives;
	v.narchives = narchives;
	v.rep = rep;
	v.idx_fd = -1;
	for (unsigned h = 0; h < MERKLE_HEIGHT_MAX; h++)
		v.lv_fd[h] = -2; /* not tried yet */
	par_init(&v.par);
	if ((r = cps_load(&v, pk)) < 0) {
		report(&v, -1, "checkpoints", 0, "%s",
		       T("checkpoints を読めません", "cannot read checkpoints"));
		goto out;
	}
	r = verify_run(&v);
out:
	for (unsigned h = 0; h < MERKLE_HEIGHT_MAX; h++) {
		if (v.lv_fd[h] >= 0)
			close(v.lv_fd[h]);
		rc_release(&v.lv_rc[h]);
	}
	rc_release(&v.idx_rc);
	par_stop(&v.par);
	free(v.cps);
	return r;
}

int ledger_verify(const char *dir, const uint8_t pk[32], struct ledger_verify_report *rep)
{
	return ledger_verify_archives(dir, pk, NULL, 0, rep);
}
