/*
 * image.c - the registry image: what registry_load() gave, kept in a file
 * beside the store, so that the next load reads one file instead of
 * stepping through every row of the registry tables and parsing them
 * again (docs/internals/registry.md, "The registry image").
 *
 * The file is the records of struct registry_data as they lie in memory,
 * with every string pointer replaced by its offset in one string section
 * (plus one; 0 is NULL) and every string list by its place in a section of
 * such offsets. Reading it is one read() and one pass that turns the
 * offsets back into pointers, checking each against its section. The
 * header names the layout (record sizes, byte order), the registry's
 * stamp and a checksum of the whole file: an image of another build,
 * another state of the registry or a damaged one is not read, and the
 * caller loads from the store and writes a new one.
 *
 * The image is a cache, as trusted as the store beside it: it is written
 * with mode 0600, and one that others may write, or that is not this
 * user's, is not read.
 */
#include "base/base.h"

#include <fcntl.h>
#include <sodium.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/arena.h"
#include "base/fileio.h"
#include "registry/registry.h"
#include "registry/registry_int.h"
#include "store/store.h"

_Static_assert(sizeof(const char *) == sizeof(uint64_t), "the image stores pointers as 64 bits");

#define IMG_MAGIC "MAMORIRI"
/* Bump when the meaning of a record's bytes changes without its size
 * changing (an enumeration renumbered, a field's unit): the header's
 * record sizes catch the rest. */
#define IMG_VERSION 1u
#define IMG_ENDIAN 0x01020304u
#define IMG_ALIGN 16
#define IMG_SUFFIX "-registry"
/* Far above any registry (a city of 4 million: about 8 GB). */
#define IMG_MAX ((uint64_t)64 << 30)

enum { S_SYSTEMS, S_DEPTS, S_STAFF, S_RES, S_CASES, S_OT, S_LISTS, S_STRS, S__COUNT };
#define S_RECORDS S_LISTS /* the record sections are 0 .. S_RECORDS - 1 */

struct img_head {
	char magic[8];
	uint32_t version, endian;
	uint8_t stamp[REG_STAMP_LEN];
	uint64_t elem[S__COUNT]; /* size of one entry: another layout is another format */
	uint64_t off[S__COUNT];
	uint64_t count[S__COUNT];
	uint64_t total; /* the file's size */
	uint64_t sum;	/* img_sum of the whole file with this field zero */
};

/* Which fields of each record are strings and string lists. */
#define MAX_STR 8
#define MAX_LIST 2
struct kind {
	size_t elem;
	size_t nstr, nlist;
	size_t nreq; /* the first nreq strings are NOT NULL in the store */
	size_t str[MAX_STR];
	size_t list[MAX_LIST];
};

/* A field added to a record changes its size: if it is a string or a
 * string list, it must be added to kinds[] below, or the image would keep
 * a pointer of the process that wrote it. Then change the sizes here. */
_Static_assert(sizeof(struct reg_system) == 56, "struct reg_system changed: see kinds[]");
_Static_assert(sizeof(struct reg_department) == 40, "struct reg_department changed: see kinds[]");
_Static_assert(sizeof(struct reg_staff) == 112, "struct reg_staff changed: see kinds[]");
_Static_assert(sizeof(struct reg_resident) == 64, "struct reg_resident changed: see kinds[]");
_Static_assert(sizeof(struct reg_case) == 56, "struct reg_case changed: see kinds[]");
_Static_assert(sizeof(struct reg_overtime) == 24, "struct reg_overtime changed: see kinds[]");

#define O(t, f) offsetof(struct t, f)
static const struct kind kinds[S_RECORDS] = {
    [S_SYSTEMS] = {sizeof(struct reg_system), 6, 0, 4,
		   {O(reg_system, id), O(reg_system, name), O(reg_system, zone),
		    O(reg_system, confidentiality), O(reg_system, integrity),
		    O(reg_system, availability)},
		   {0}},
    [S_DEPTS] = {sizeof(struct reg_department), 3, 1, 2,
		 {O(reg_department, id), O(reg_department, name), O(reg_department, parent)},
		 {O(reg_department, systems)}},
    [S_STAFF] = {sizeof(struct reg_staff), 7, 2, 4,
		 {O(reg_staff, id), O(reg_staff, name), O(reg_staff, surname), O(reg_staff, dept),
		  O(reg_staff, address_id), O(reg_staff, household_id), O(reg_staff, contractor)},
		 {O(reg_staff, roles), O(reg_staff, zones)}},
    [S_RES] = {sizeof(struct reg_resident), 5, 1, 5,
	       {O(reg_resident, id), O(reg_resident, surname), O(reg_resident, given),
		O(reg_resident, address_id), O(reg_resident, household_id)},
	       {O(reg_resident, flags)}},
    [S_CASES] = {sizeof(struct reg_case), 5, 0, 4,
		 {O(reg_case, id), O(reg_case, resident_id), O(reg_case, dept), O(reg_case, kind),
		  O(reg_case, assigned_to)},
		 {0}},
    [S_OT] = {sizeof(struct reg_overtime), 1, 0, 1, {O(reg_overtime, staff_id)}, {0}},
};
#undef O

/* Where record section s lies in struct registry_data: its array and its
 * count. The writer reads these fields, the reader sets them. */
#define RD(f) offsetof(struct registry_data, f)
static const struct {
	size_t arr, n;
} sec_fields[S_RECORDS] = {
    [S_SYSTEMS] = {RD(systems), RD(nsystems)},	[S_DEPTS] = {RD(departments), RD(ndepartments)},
    [S_STAFF] = {RD(staff), RD(nstaff)},	[S_RES] = {RD(residents), RD(nresidents)},
    [S_CASES] = {RD(cases), RD(ncases)},	[S_OT] = {RD(overtime), RD(novertime)},
};
#undef RD

/* The size of one entry of section s: a record, a list item (a string's
 * offset), a byte of the strings. */
static uint64_t section_elem(int s)
{
	return s < S_RECORDS ? kinds[s].elem : s == S_LISTS ? sizeof(uint64_t) : 1;
}

/* ---- checksum ---- */

/*
 * Four lanes of the xxHash64 round over 32-byte blocks: several GB/s, so
 * that checking a large image costs little next to reading it. It finds
 * damage, not forgery: the image is as trusted as the store.
 */
#define P1 0x9E3779B185EBCA87ULL
#define P2 0xC2B2AE3D27D4EB4FULL
#define P3 0x165667B19E3779F9ULL

struct img_sum {
	uint64_t h[4], len;
	unsigned char tail[32];
	size_t nt;
};

static uint64_t rotl64(uint64_t x, int r)
{
	return (x << r) | (x >> (64 - r));
}

static void sum_init(struct img_sum *s)
{
	memset(s, 0, sizeof(*s));
	s->h[0] = P1 + P2;
	s->h[1] = P2;
	s->h[2] = 0;
	s->h[3] = (uint64_t)0 - P1;
}

static void sum_block(uint64_t h[4], const unsigned char *p)
{
	for (int k = 0; k < 4; k++) {
		uint64_t w;
		memcpy(&w, p + 8 * k, 8);
		h[k] = rotl64(h[k] + w * P2, 31) * P1;
	}
}

static void sum_add(struct img_sum *s, const void *data, size_t n)
{
	const unsigned char *p = data;
	s->len += n;
	if (s->nt) {
		size_t k = 32 - s->nt < n ? 32 - s->nt : n;
		memcpy(s->tail + s->nt, p, k);
		s->nt += k, p += k, n -= k;
		if (s->nt < 32)
			return;
		sum_block(s->h, s->tail);
		s->nt = 0;
	}
	for (; n >= 32; p += 32, n -= 32)
		sum_block(s->h, p);
	memcpy(s->tail, p, n);
	s->nt = n;
}

static uint64_t sum_end(struct img_sum *s)
{
	uint64_t h = rotl64(s->h[0], 1) + rotl64(s->h[1], 7) + rotl64(s->h[2], 12) +
		     rotl64(s->h[3], 18) + s->len;
	for (size_t i = 0; i < s->nt; i++)
		h = rotl64(h ^ (s->tail[i] * P3), 11) * P1;
	h ^= h >> 33;
	h *= P2;
	h ^= h >> 29;
	h *= P3;
	return h ^ (h >> 32);
}

/* The checksum of an image of n bytes, its own field taken as zero. */
static uint64_t img_sum_of(const unsigned char *img, size_t n)
{
	struct img_head h0;
	struct img_sum sum;
	memcpy(&h0, img, sizeof(h0));
	h0.sum = 0;
	sum_init(&sum);
	sum_add(&sum, &h0, sizeof(h0));
	sum_add(&sum, img + sizeof(h0), n - sizeof(h0));
	return sum_end(&sum);
}

void reg_image_seal(void *img, size_t n)
{
	uint64_t s;
	if (n < sizeof(struct img_head))
		return;
	s = img_sum_of(img, n);
	memcpy((unsigned char *)img + offsetof(struct img_head, sum), &s, sizeof(s));
}

/* ---- the stamp ---- */

int reg_stamp_get(struct store *st, uint8_t tok[REG_STAMP_LEN])
{
	struct store_stmt *s = NULL;
	const void *b;
	size_t n = 0;
	int r;

	if ((r = store_prepare(st, "SELECT token FROM registry_stamp WHERE id = 1", &s)) < 0)
		return r;
	if ((r = store_step(s)) == 1) {
		b = store_col_blob(s, 0, &n);
		if (b && n == REG_STAMP_LEN)
			memcpy(tok, b, REG_STAMP_LEN);
		else
			r = 0; /* not a stamp of ours: as if none */
	}
	store_finalize(s);
	return r;
}

int registry_stamp_renew(struct store *st)
{
	struct store_stmt *s = NULL;
	uint8_t tok[REG_STAMP_LEN];
	int r;

	randombytes_buf(tok, sizeof(tok));
	if ((r = store_prepare(st,
			       "INSERT INTO registry_stamp (id, token) VALUES (1, ?) "
			       "ON CONFLICT (id) DO UPDATE SET token = excluded.token",
			       &s)) < 0)
		return r;
	if ((r = store_bind_blob(s, 1, tok, sizeof(tok))) == 0 && (r = store_step(s)) > 0)
		r = 0;
	store_finalize(s);
	return r;
}

char *reg_image_path(struct store *st)
{
	const char *f = store_file(st);
	size_t n;
	char *p;

	if (!f)
		return NULL;
	n = strlen(f);
	p = xmalloc(n + sizeof(IMG_SUFFIX));
	memcpy(p, f, n);
	memcpy(p + n, IMG_SUFFIX, sizeof(IMG_SUFFIX));
	return p;
}

/* ---- writing ---- */

#define WBUF ((size_t)1 << 20)

struct wr {
	int fd;
	int err;
	unsigned char *buf;
	size_t n;	/* bytes in buf, which go to the file at offset at */
	uint64_t at;
	uint64_t pos; /* bytes put so far */
	struct img_sum sum;
	/* the string blocks, by address, and where each starts in the image */
	struct reg_block *blk;
	uint64_t *blkoff;
	size_t nblk, last;
	uint64_t nlist; /* list entries given out so far */
};

static void wr_flush(struct wr *w)
{
	if (!w->err && fd_pwrite_all(w->fd, w->buf, w->n, w->at) < 0)
		w->err = ERR_IO;
	w->at += w->n;
	w->n = 0;
}

static void wr_put(struct wr *w, const void *p, size_t n)
{
	const unsigned char *s = p;
	sum_add(&w->sum, p, n);
	w->pos += n;
	while (n && !w->err) {
		size_t k = WBUF - w->n < n ? WBUF - w->n : n;
		memcpy(w->buf + w->n, s, k);
		w->n += k, s += k, n -= k;
		if (w->n == WBUF)
			wr_flush(w);
	}
}

static void wr_pad(struct wr *w)
{
	static const unsigned char zero[IMG_ALIGN];
	if (w->pos % IMG_ALIGN)
		wr_put(w, zero, IMG_ALIGN - w->pos % IMG_ALIGN);
}

static int cmp_block(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)((const struct reg_block *)a)->p;
	uintptr_t y = (uintptr_t)((const struct reg_block *)b)->p;
	return x < y ? -1 : x > y;
}

/* A string's offset in the image plus one, 0 for NULL. A string that lies
 * in none of the blocks makes the image impossible (ERR_INVALID). */
static uint64_t wr_str(struct wr *w, const char *s)
{
	uintptr_t a = (uintptr_t)s;
	const struct reg_block *b;
	size_t lo, hi;

	if (!s)
		return 0;
	b = &w->blk[w->last];
	if (w->nblk && a >= (uintptr_t)b->p && a < (uintptr_t)b->p + b->n)
		return w->blkoff[w->last] + (a - (uintptr_t)b->p) + 1;
	/* the last block whose start is at or before s */
	for (lo = 0, hi = w->nblk; lo < hi;) {
		size_t mid = lo + (hi - lo) / 2;
		if ((uintptr_t)w->blk[mid].p <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0 || a >= (uintptr_t)w->blk[lo - 1].p + w->blk[lo - 1].n) {
		w->err = ERR_INVALID;
		return 0;
	}
	w->last = lo - 1;
	return w->blkoff[w->last] + (a - (uintptr_t)w->blk[w->last].p) + 1;
}

/* Records of one kind, their strings and lists turned into offsets. */
static void wr_records(struct wr *w, const struct kind *k, const unsigned char *v, size_t n)
{
	unsigned char tmp[256];
	BUG_ON(k->elem > sizeof(tmp));
	for (size_t i = 0; i < n && !w->err; i++) {
		memcpy(tmp, v + i * k->elem, k->elem);
		for (size_t j = 0; j < k->nstr; j++) {
			const char *s;
			uint64_t o;
			memcpy(&s, tmp + k->str[j], sizeof(s));
			o = wr_str(w, s);
			memcpy(tmp + k->str[j], &o, sizeof(o));
		}
		for (size_t j = 0; j < k->nlist; j++) {
			struct strlist l;
			uint64_t o = 0;
			memcpy(&l, tmp + k->list[j], sizeof(l));
			if (l.n) {
				o = w->nlist + 1;
				w->nlist += l.n;
			}
			memcpy(tmp + k->list[j], &o, sizeof(o));
		}
		wr_put(w, tmp, k->elem);
	}
}

/* The list entries, in the order wr_records gave out their places. */
static void wr_lists(struct wr *w, const struct kind *k, const unsigned char *v, size_t n)
{
	for (size_t i = 0; i < n && !w->err; i++)
		for (size_t j = 0; j < k->nlist; j++) {
			struct strlist l;
			memcpy(&l, v + i * k->elem + k->list[j], sizeof(l));
			for (uint32_t e = 0; e < l.n; e++) {
				uint64_t o = wr_str(w, l.v[e]);
				if (o == 0)
					w->err = ERR_INVALID; /* a list holds no NULL */
				wr_put(w, &o, sizeof(o));
			}
		}
}

int reg_image_write(const char *path, const uint8_t tok[REG_STAMP_LEN],
		    const struct registry_data *d)
{
	struct wr w = {.fd = -1};
	struct img_head h;
	const void *base[S_RECORDS];
	size_t n[S_RECORDS];
	uint64_t pos, nlist = 0, nstr = 0;
	char *tmp = NULL;
	int r;

	for (int k = 0; k < S_RECORDS; k++) {
		memcpy(&base[k], (const char *)d + sec_fields[k].arr, sizeof(base[k]));
		memcpy(&n[k], (const char *)d + sec_fields[k].n, sizeof(n[k]));
	}
	/* The blocks by address, and the sizes of the two last sections. */
	w.nblk = d->nblocks;
	w.blk = xcalloc(w.nblk ? w.nblk : 1, sizeof(*w.blk));
	w.blkoff = xcalloc(w.nblk ? w.nblk : 1, sizeof(*w.blkoff));
	memcpy(w.blk, d->blocks, w.nblk * sizeof(*w.blk));
	qsort(w.blk, w.nblk, sizeof(*w.blk), cmp_block);
	for (size_t i = 0; i < w.nblk; i++) {
		w.blkoff[i] = nstr;
		nstr += w.blk[i].n;
	}
	for (int s = 0; s < S_RECORDS; s++)
		for (size_t i = 0; i < n[s]; i++)
			for (size_t j = 0; j < kinds[s].nlist; j++) {
				struct strlist l;
				memcpy(&l, (const unsigned char *)base[s] + i * kinds[s].elem +
					       kinds[s].list[j],
				       sizeof(l));
				nlist += l.n;
			}

	memset(&h, 0, sizeof(h));
	memcpy(h.magic, IMG_MAGIC, sizeof(h.magic));
	h.version = IMG_VERSION;
	h.endian = IMG_ENDIAN;
	memcpy(h.stamp, tok, REG_STAMP_LEN);
	pos = sizeof(h);
	for (int s = 0; s < S__COUNT; s++) {
		pos = (pos + IMG_ALIGN - 1) / IMG_ALIGN * IMG_ALIGN;
		h.elem[s] = section_elem(s);
		h.count[s] = s < S_RECORDS ? n[s] : s == S_LISTS ? nlist : nstr;
		h.off[s] = pos;
		pos += h.elem[s] * h.count[s];
	}
	h.total = pos;

	{
		size_t pl = strlen(path);
		tmp = xmalloc(pl + sizeof(".XXXXXX"));
		memcpy(tmp, path, pl);
		memcpy(tmp + pl, ".XXXXXX", sizeof(".XXXXXX"));
	}
	if ((w.fd = mkostemp(tmp, O_CLOEXEC)) < 0) {
		free(tmp);
		tmp = NULL;
		r = ERR_IO;
		goto out;
	}
	w.buf = xmalloc(WBUF);
	sum_init(&w.sum);
	wr_put(&w, &h, sizeof(h));
	for (int s = 0; s < S_RECORDS; s++) {
		wr_pad(&w);
		wr_records(&w, &kinds[s], base[s], n[s]);
	}
	wr_pad(&w);
	for (int s = 0; s < S_RECORDS; s++)
		wr_lists(&w, &kinds[s], base[s], n[s]);
	wr_pad(&w);
	for (size_t i = 0; i < w.nblk; i++)
		wr_put(&w, w.blk[i].p, w.blk[i].n);
	wr_flush(&w);
	BUG_ON(!w.err && w.pos != h.total);
	h.sum = sum_end(&w.sum);
	if (!w.err && fd_pwrite_all(w.fd, &h, sizeof(h), 0) < 0)
		w.err = ERR_IO;
	if ((r = w.err) < 0)
		goto out;
	if (fchmod(w.fd, 0600) < 0 || close(w.fd) < 0) {
		w.fd = -1;
		r = ERR_IO;
		goto out;
	}
	w.fd = -1;
	if (rename(tmp, path) < 0) {
		r = ERR_IO;
		goto out;
	}
	free(tmp);
	tmp = NULL;
	r = 0;
out:
	if (w.fd >= 0)
		close(w.fd);
	if (tmp) {
		(void)unlink(tmp);
		free(tmp);
	}
	free(w.buf);
	free(w.blk);
	free(w.blkoff);
	return r;
}

/* ---- reading ---- */

/* Offset + 1 (0: NULL) into a string of the section. */
static bool str_at(const char *strs, uint64_t nstr, unsigned char *field)
{
	uint64_t o;
	const char *s = NULL;
	memcpy(&o, field, sizeof(o));
	if (o) {
		if (o - 1 >= nstr)
			return false;
		s = strs + (o - 1);
	}
	memcpy(field, &s, sizeof(s));
	return true;
}

/* The header's promises: the layout of this build, sections in order,
 * inside the file, not overlapping. */
static bool head_ok(const struct img_head *h, uint64_t size)
{
	uint64_t end = sizeof(*h);
	if (memcmp(h->magic, IMG_MAGIC, sizeof(h->magic)) != 0 || h->version != IMG_VERSION ||
	    h->endian != IMG_ENDIAN || h->total != size)
		return false;
	for (int s = 0; s < S__COUNT; s++) {
		uint64_t want = section_elem(s);
		uint64_t bytes;
		if (h->elem[s] != want || h->off[s] % IMG_ALIGN || h->off[s] < end ||
		    h->off[s] > size || h->count[s] > (size - h->off[s]) / want)
			return false;
		bytes = h->count[s] * want;
		end = h->off[s] + bytes;
	}
	return end == size;
}

int reg_image_read(const char *path, const uint8_t tok[REG_STAMP_LEN],
		   struct registry_data **out)
{
	struct registry_data *d = NULL;
	struct img_head h;
	struct stat sb;
	unsigned char *img;
	const char *strs;
	uint64_t *lists;
	void *base[S_RECORDS];
	int fd, r;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return errno == ENOENT ? ERR_NOT_FOUND : ERR_IO;
	if (fstat(fd, &sb) < 0) {
		r = ERR_IO;
		goto out;
	}
	/* Ours alone, like the store; a size the header cannot promise. */
	if (!S_ISREG(sb.st_mode) || sb.st_uid != geteuid() || (sb.st_mode & 022) ||
	    (uint64_t)sb.st_size < sizeof(h) || (uint64_t)sb.st_size > IMG_MAX) {
		r = ERR_CORRUPT;
		goto out;
	}
	if ((r = fd_pread_all(fd, &h, sizeof(h), 0)) < 0)
		goto out;
	if (!head_ok(&h, (uint64_t)sb.st_size)) {
		r = ERR_CORRUPT;
		goto out;
	}
	if (memcmp(h.stamp, tok, REG_STAMP_LEN) != 0) {
		r = ERR_NOT_FOUND;
		goto out;
	}
	d = xcalloc(1, sizeof(*d));
	d->arena = arena_new(0);
	img = arena_alloc(d->arena, (size_t)h.total);
	memcpy(img, &h, sizeof(h));
	if ((r = fd_pread_all(fd, img + sizeof(h), (size_t)h.total - sizeof(h), sizeof(h))) < 0)
		goto out;
	if (img_sum_of(img, (size_t)h.total) != h.sum) {
		r = ERR_CORRUPT;
		goto out;
	}

	strs = (const char *)img + h.off[S_STRS];
	if (h.count[S_STRS] && strs[h.count[S_STRS] - 1] != '\0') {
		r = ERR_CORRUPT;
		goto out;
	}
	lists = (uint64_t *)(void *)(img + h.off[S_LISTS]);
	for (uint64_t i = 0; i < h.count[S_LISTS]; i++)
		if (lists[i] == 0 || !str_at(strs, h.count[S_STRS], (unsigned char *)&lists[i])) {
			r = ERR_CORRUPT;
			goto out;
		}
	for (int s = 0; s < S_RECORDS; s++) {
		const struct kind *k = &kinds[s];
		unsigned char *v = img + h.off[s];
		base[s] = h.count[s] ? v : NULL;
		for (uint64_t i = 0; i < h.count[s]; i++, v += k->elem) {
			for (size_t j = 0; j < k->nstr; j++) {
				const char *p;
				if (!str_at(strs, h.count[S_STRS], v + k->str[j])) {
					r = ERR_CORRUPT;
					goto out;
				}
				memcpy(&p, v + k->str[j], sizeof(p));
				if (!p && j < k->nreq) {
					r = ERR_CORRUPT;
					goto out;
				}
			}
			for (size_t j = 0; j < k->nlist; j++) {
				struct strlist l;
				uint64_t o;
				memcpy(&l, v + k->list[j], sizeof(l));
				memcpy(&o, &l.v, sizeof(o));
				if (l.n == 0)
					l.v = NULL;
				else if (o == 0 || o - 1 > h.count[S_LISTS] ||
					 l.n > h.count[S_LISTS] - (o - 1)) {
					r = ERR_CORRUPT;
					goto out;
				} else
					l.v = (const char **)(void *)(lists + (o - 1));
				memcpy(v + k->list[j], &l, sizeof(l));
			}
		}
	}
	/* Enumerations, which readers use as indexes. */
	for (uint64_t i = 0; i < h.count[S_STAFF]; i++)
		if ((unsigned)((const struct reg_staff *)base[S_STAFF])[i].employment >= EMP__COUNT) {
			r = ERR_CORRUPT;
			goto out;
		}
	for (uint64_t i = 0; i < h.count[S_SYSTEMS]; i++)
		if ((unsigned)((const struct reg_system *)base[S_SYSTEMS])[i].need_to_know >
		    NTK_ENFORCE) {
			r = ERR_CORRUPT;
			goto out;
		}
	for (int k = 0; k < S_RECORDS; k++) {
		size_t cnt = (size_t)h.count[k];
		memcpy((char *)d + sec_fields[k].arr, &base[k], sizeof(base[k]));
		memcpy((char *)d + sec_fields[k].n, &cnt, sizeof(cnt));
	}
	d->blocks = arena_alloc(d->arena, sizeof(*d->blocks));
	d->blocks[0] = (struct reg_block){strs, (size_t)h.count[S_STRS]};
	d->nblocks = h.count[S_STRS] ? 1 : 0;
	*out = d;
	d = NULL;
	r = 0;
out:
	close(fd);
	registry_data_free(d);
	return r;
}
