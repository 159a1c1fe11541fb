/*
 * verify.c - recompute a ledger's tree from its records and compare it
 * with everything stored: index, subtree hashes, signed checkpoints.
 */
#include "base/base.h"
#include "base/buf.h"
#include "base/i18n.h"
#include "ledger/ledger.h"
#include "ledger/merkle.h"
#include "ledger/note.h"
#include "ledger/verify.h"

#include <dirent.h>
#include <fcntl.h>
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

struct verifier {
	const char *dir;
	struct ledger_verify_report *rep;
	struct cp *cps; /* sorted by size */
	size_t ncps;
	int idx_fd;
	int lv_fd[MERKLE_HEIGHT_MAX];
};

static void report(struct verifier *v, int64_t entry, const char *file, uint64_t offset,
		   const char *fmt, ...) MM_PRINTF(5, 6);

static void report(struct verifier *v, int64_t entry, const char *file, uint64_t offset,
		   const char *fmt, ...)
{
	va_list ap;

	v->rep->entry = entry;
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

static int lv_fd(struct verifier *v, unsigned h)
{
	char path[4096];

	if (v->lv_fd[h] == -2) {
		snprintf(path, sizeof(path), "%s/hash/L%02u", v->dir, h);
		v->lv_fd[h] = open(path, O_RDONLY | O_CLOEXEC);
	}
	return v->lv_fd[h];
}

/* Compare the stored hash of subtree (level h, position pos) with want. */
static int hash_check(struct verifier *v, unsigned h, uint64_t pos,
		      const uint8_t want[MERKLE_HASH_SIZE], uint64_t rec_off)
{
	uint8_t got[MERKLE_HASH_SIZE];
	char file[16];
	uint64_t off = pos * MERKLE_HASH_SIZE, first = pos << h, last = first + ((uint64_t)1 << h) - 1;
	int fd = lv_fd(v, h);
	ssize_t r = -1;

	snprintf(file, sizeof(file), "hash/L%02u", h);
	if (fd >= 0) {
		do
			r = pread(fd, got, sizeof(got), (off_t)off);
		while (r < 0 && errno == EINTR);
	}
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
		report(v, (int64_t)first, "records.log", rec_off,
		       T("記録 %" PRIu64 "（records.log のバイト位置 %" PRIu64 "）のハッシュが %s のバイト位置 %" PRIu64
			 " に保存されたものと一致しません（記録が書き換えられたか、ハッシュが改ざんされています）",
			 "entry %" PRIu64 " (records.log byte offset %" PRIu64 "): its hash differs from the one "
			 "stored in %s at byte offset %" PRIu64 " (the entry or the stored hash was altered)"),
		       first, rec_off, file, off);
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

/* Check one record line (without '\n') at byte offset off: entry i. */
static int line_check(struct verifier *v, uint64_t i, uint64_t off, const char *line, size_t len)
{
	char want[64];
	int n = snprintf(want, sizeof(want), "{\"v\":1,\"index\":%" PRIu64 ",", i);
	uint8_t e[8];
	uint64_t stored = 0;
	ssize_t r;

	if ((size_t)n > len || memcmp(line, want, (size_t)n) != 0) {
		const char *p = "{\"v\":1,\"index\":";
		size_t pl = strlen(p), k = pl;
		uint64_t other = 0;
		bool num = len > pl && memcmp(line, p, pl) == 0;

		while (num && k < len && line[k] >= '0' && line[k] <= '9' && k < pl + 19)
			other = other * 10 + (uint64_t)(line[k++] - '0');
		if (num && k > pl && k < len && line[k] == ',') {
			report(v, (int64_t)i, "records.log", off,
			       T("記録 %" PRIu64 "（records.log のバイト位置 %" PRIu64 "）の index が %" PRIu64
				 " です。記録が削除・挿入・入れ替えされています",
				 "entry %" PRIu64 " (records.log byte offset %" PRIu64 ") carries index %" PRIu64
				 ": entries were deleted, inserted or swapped"),
			       i, off, other);
		} else {
			report(v, (int64_t)i, "records.log", off,
			       T("記録 %" PRIu64 "（records.log のバイト位置 %" PRIu64
				 "）は監査記録の形式ではありません",
				 "entry %" PRIu64 " (records.log byte offset %" PRIu64
				 ") is not an audit record"),
			       i, off);
		}
		return ERR_CORRUPT;
	}
	do
		r = pread(v->idx_fd, e, 8, (off_t)(i * 8));
	while (r < 0 && errno == EINTR);
	if (r == 8)
		for (int k = 7; k >= 0; k--)
			stored = (stored << 8) | e[k];
	if (r != 8 || stored != off) {
		report(v, (int64_t)i, "records.idx", i * 8,
		       r != 8 ? T("records.idx はバイト位置 %" PRIu64 " で終わっていますが、記録 %" PRIu64
				  " があります",
				  "records.idx ends at byte offset %" PRIu64 " but entry %" PRIu64
				  " exists")
			      : T("records.idx のバイト位置 %" PRIu64 ": 記録 %" PRIu64
				  " の位置が records.log と一致しません",
				  "records.idx at byte offset %" PRIu64 ": the offset of entry %" PRIu64
				  " does not match records.log"),
		       i * 8, i);
		return ERR_CORRUPT;
	}
	return 0;
}

static int verify_run(struct verifier *v, FILE *f)
{
	uint8_t completed[MERKLE_HEIGHT_MAX][MERKLE_HASH_SIZE], leaf[MERKLE_HASH_SIZE],
	    root[MERKLE_HASH_SIZE];
	struct merkle_builder *t = xmalloc(sizeof(*t));
	char *line = NULL;
	size_t cap = 0, next_cp = 0;
	uint64_t i = 0, off = 0;
	struct stat st;
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
	for (;; i++) {
		ssize_t len = getline(&line, &cap, f);
		unsigned k;

		if (len < 0)
			break;
		if (line[len - 1] != '\n' || (size_t)len > VERIFY_LINE_MAX) {
			report(v, (int64_t)i, "records.log", off,
			       T("記録 %" PRIu64 "（records.log のバイト位置 %" PRIu64
				 "）が不完全です（改行がありません）",
				 "entry %" PRIu64 " (records.log byte offset %" PRIu64
				 ") is incomplete (no newline)"),
			       i, off);
			r = ERR_CORRUPT;
			goto out;
		}
		if ((r = line_check(v, i, off, line, (size_t)len - 1)) < 0)
			goto out;
		merkle_leaf_hash(line, (size_t)len - 1, leaf);
		if ((r = merkle_builder_append(t, leaf, completed, &k)) < 0)
			goto out;
		for (unsigned h = 0; h < k; h++)
			if ((r = hash_check(v, h, (t->size >> h) - 1, completed[h], off)) < 0)
				goto out;
		v->rep->entries = t->size;
		if (next_cp < v->ncps && v->cps[next_cp].size == t->size) {
			merkle_builder_root(t, root);
			while (next_cp < v->ncps && v->cps[next_cp].size == t->size)
				if ((r = cp_check(v, &v->cps[next_cp++], root)) < 0)
					goto out;
		}
		off += (uint64_t)len;
	}
	if (ferror(f)) {
		report(v, (int64_t)i, "records.log", off, "%s",
		       T("records.log を読めません", "cannot read records.log"));
		r = ERR_IO;
		goto out;
	}
	/* Everything stored must end where the records end. */
	if (next_cp < v->ncps && v->cps[next_cp].size != UINT64_MAX) {
		const struct cp *c = &v->cps[next_cp];

		report(v, (int64_t)i, "records.log", off,
		       T("%s は %" PRIu64 " 件の記録に署名していますが、records.log には %" PRIu64
			 " 件しかありません（バイト位置 %" PRIu64 " で終わっています）。記録が切り詰められています",
			 "%s signs %" PRIu64 " entries but records.log holds only %" PRIu64
			 " (it ends at byte offset %" PRIu64 "): the log was truncated"),
		       c->name, c->size, i, off);
		r = ERR_CORRUPT;
		goto out;
	}
	if (fstat(v->idx_fd, &st) != 0 || (uint64_t)st.st_size != i * 8) {
		report(v, (int64_t)i, "records.idx", i * 8,
		       T("records.idx にはバイト位置 %" PRIu64 " 以降に余分な索引があります。records.log は記録 %" PRIu64
			 " 件（バイト位置 %" PRIu64 "）で終わっています。記録が切り詰められています",
			 "records.idx has entries beyond byte offset %" PRIu64 " but records.log ends after %" PRIu64
			 " entries (byte offset %" PRIu64 "): the log was truncated"),
		       i * 8, i, off);
		r = ERR_CORRUPT;
		goto out;
	}
	for (unsigned h = 0; h < MERKLE_HEIGHT_MAX; h++) {
		uint64_t want = (i >> h) * MERKLE_HASH_SIZE;
		int fd = lv_fd(v, h);
		char file[16];

		if (fd < 0)
			continue;
		snprintf(file, sizeof(file), "hash/L%02u", h);
		if (fstat(fd, &st) != 0 || (uint64_t)st.st_size != want) {
			report(v, (int64_t)i, file, want,
			       T("%s にはバイト位置 %" PRIu64 " 以降に、記録 %" PRIu64
				 " 件を超えるハッシュがあります。記録が切り詰められています",
				 "%s holds hashes beyond byte offset %" PRIu64 ", more than the %" PRIu64
				 " entries of records.log: the log was truncated"),
			       file, want, i);
			r = ERR_CORRUPT;
			goto out;
		}
	}
	merkle_builder_root(t, v->rep->root);
	r = 0;
out:
	free(line);
	free(t);
	return r;
}

int ledger_verify(const char *dir, const uint8_t pk[32], struct ledger_verify_report *rep)
{
	struct verifier v = { 0 };
	char path[4096];
	FILE *f = NULL;
	int r;

	memset(rep, 0, sizeof(*rep));
	rep->entry = -1;
	v.dir = dir;
	v.rep = rep;
	v.idx_fd = -1;
	for (unsigned h = 0; h < MERKLE_HEIGHT_MAX; h++)
		v.lv_fd[h] = -2; /* not tried yet */
	if ((r = cps_load(&v, pk)) < 0) {
		report(&v, -1, "checkpoints", 0, "%s",
		       T("checkpoints を読めません", "cannot read checkpoints"));
		goto out;
	}
	snprintf(path, sizeof(path), "%s/records.log", dir);
	f = fopen(path, "rbe");
	if (f == NULL) {
		r = errno == ENOENT ? ERR_NOT_FOUND : ERR_IO;
		report(&v, -1, "records.log", 0, T("%s を開けません: %s", "cannot open %s: %s"), path,
		       strerror(errno));
		goto out;
	}
	snprintf(path, sizeof(path), "%s/records.idx", dir);
	v.idx_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (v.idx_fd < 0) {
		r = errno == ENOENT ? ERR_NOT_FOUND : ERR_IO;
		report(&v, -1, "records.idx", 0, T("%s を開けません: %s", "cannot open %s: %s"), path,
		       strerror(errno));
		goto out;
	}
	r = verify_run(&v, f);
out:
	if (f != NULL)
		fclose(f);
	if (v.idx_fd >= 0)
		close(v.idx_fd);
	for (unsigned h = 0; h < MERKLE_HEIGHT_MAX; h++)
		if (v.lv_fd[h] >= 0)
			close(v.lv_fd[h]);
	free(v.cps);
	return r;
}
