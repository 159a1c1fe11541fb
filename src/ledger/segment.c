/*
 * segment.c - names, listing and seal manifests of the ledger's segment
 * files (ledger_int.h).
 */
#include "base/base.h"
#include "base/buf.h"
#include "base/fileio.h"
#include "ledger/ledger_int.h"

#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

void seg_name(uint64_t first, char out[static SEG_NAME_MAX])
{
	snprintf(out, SEG_NAME_MAX, "%012" PRIu64, first);
}

/* Parse "<digits>.<ext>"; true with *first and *ext when it is one. */
static bool seg_parse_name(const char *name, uint64_t *first, const char **ext)
{
	const char *dot = strchr(name, '.');
	size_t nd = dot ? (size_t)(dot - name) : 0;
	int64_t v;

	if (dot == NULL || nd < 12 || nd > 19)
		return false;
	for (size_t i = 0; i < nd; i++)
		if (name[i] < '0' || name[i] > '9')
			return false;
	if (parse_i64(name, nd, 0, INT64_MAX, &v) < 0)
		return false;
	/* One spelling per segment: exactly 12 digits, or more without a
	 * leading zero. */
	if (nd > 12 && name[0] == '0')
		return false;
	*first = (uint64_t)v;
	*ext = dot + 1;
	return true;
}

static int seg_cmp(const void *a, const void *b)
{
	const struct seg_info *x = a, *y = b;

	return x->first < y->first ? -1 : x->first > y->first;
}

static struct seg_info *seg_find_add(struct seg_info **v, size_t *n, size_t *cap, uint64_t first)
{
	for (size_t i = 0; i < *n; i++)
		if ((*v)[i].first == first)
			return &(*v)[i];
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		*v = xrealloc(*v, *cap * sizeof(**v));
	}
	memset(&(*v)[*n], 0, sizeof(**v));
	(*v)[*n].first = first;
	return &(*v)[(*n)++];
}

int seg_list(const char *dir, struct seg_info **out, size_t *n)
{
	struct seg_info *v = NULL, *s;
	size_t cnt = 0, cap = 0;
	char path[4096];
	struct dirent *e;
	struct stat st;
	bool have0 = false;
	DIR *dh;
	int k;

	*out = NULL;
	*n = 0;
	k = snprintf(path, sizeof(path), "%s/" SEG_DIR, dir);
	if (k < 0 || (size_t)k >= sizeof(path))
		return ERR_INVALID;
	dh = opendir(path);
	if (dh == NULL && errno != ENOENT)
		return ERR_IO;
	while (dh != NULL && (e = readdir(dh)) != NULL) {
		uint64_t first;
		const char *ext;

		if (!seg_parse_name(e->d_name, &first, &ext))
			continue;
		if (strcmp(ext, "log") != 0 && strcmp(ext, "idx") != 0 && strcmp(ext, "seal") != 0)
			continue;
		s = seg_find_add(&v, &cnt, &cap, first);
		if (ext[0] == 'l')
			s->log = true;
		else if (ext[0] == 'i')
			s->idx = true;
		else
			s->seal = true;
		if (first == 0)
			have0 = true;
	}
	if (dh != NULL)
		closedir(dh);
	if (!have0) {
		bool lg, ix;

		k = snprintf(path, sizeof(path), "%s/records.log", dir);
		lg = k > 0 && (size_t)k < sizeof(path) && stat(path, &st) == 0;
		k = snprintf(path, sizeof(path), "%s/records.idx", dir);
		ix = k > 0 && (size_t)k < sizeof(path) && stat(path, &st) == 0;
		if (lg || ix) {
			s = seg_find_add(&v, &cnt, &cap, 0);
			s->log = lg;
			s->idx = ix;
			s->legacy = true;
		}
	}
	if (cnt > 1)
		qsort(v, cnt, sizeof(*v), seg_cmp);
	*out = v;
	*n = cnt;
	return 0;
}

int seg_path(const char *dir, const struct seg_info *s, const char *ext, char *out, size_t cap)
{
	char name[SEG_NAME_MAX];
	int k;

	if (s->legacy && strcmp(ext, "seal") != 0) {
		k = snprintf(out, cap, "%s/records.%s", dir, ext);
	} else {
		seg_name(s->first, name);
		k = snprintf(out, cap, "%s/" SEG_DIR "/%s.%s", dir, name, ext);
	}
	return k < 0 || (size_t)k >= cap ? ERR_INVALID : 0;
}

/* ---- seal manifests ---- */

static int hex32(json_t *o, const char *key, uint8_t out[32])
{
	const char *s = json_string_value(json_object_get(o, key));
	size_t bin = 0;

	if (s == NULL || strlen(s) != 64 ||
	    sodium_hex2bin(out, 32, s, 64, NULL, &bin, NULL) != 0 || bin != 32)
		return ERR_CORRUPT;
	return 0;
}

static int u64_of(json_t *o, const char *key, uint64_t *out)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return ERR_CORRUPT;
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

static int str_of(json_t *o, const char *key, char *out, size_t cap)
{
	const char *s = json_string_value(json_object_get(o, key));

	if (s == NULL || strlen(s) >= cap)
		return ERR_CORRUPT;
	memcpy(out, s, strlen(s) + 1);
	return 0;
}

int seg_seal_parse(const char *text, size_t len, struct seg_seal *s)
{
	json_t *j = json_loadb(text ? text : "", len, 0, NULL), *sub, *cp, *ar, *v;
	uint64_t h = 0;
	int r = ERR_CORRUPT;

	memset(s, 0, sizeof(*s));
	if (!json_is_object(j))
		goto out;
	v = json_object_get(j, "v");
	if (!json_is_integer(v) || json_integer_value(v) != 1)
		goto out;
	if (u64_of(j, "first", &s->first) < 0 || u64_of(j, "count", &s->count) < 0 ||
	    u64_of(j, "log_bytes", &s->log_bytes) < 0 || hex32(j, "log_sha256", s->log_sha256) < 0 ||
	    hex32(j, "idx_sha256", s->idx_sha256) < 0 ||
	    str_of(j, "sealed_at", s->sealed_at, sizeof(s->sealed_at)) < 0 || s->count == 0)
		goto out;
	sub = json_object_get(j, "subtree");
	if (json_is_object(sub)) {
		if (u64_of(sub, "height", &h) < 0 || h >= MERKLE_HEIGHT_MAX ||
		    hex32(sub, "root", s->subtree_root) < 0 || ((uint64_t)1 << h) != s->count ||
		    (s->first & (s->count - 1)) != 0)
			goto out;
		s->has_subtree = true;
		s->subtree_height = (unsigned)h;
	} else if (!json_is_null(sub)) {
		goto out;
	}
	cp = json_object_get(j, "checkpoint");
	if (!json_is_object(cp) || u64_of(cp, "size", &s->cp_size) < 0 ||
	    hex32(cp, "root", s->cp_root) < 0 || s->cp_size < s->first + s->count)
		goto out;
	ar = json_object_get(j, "archive");
	if (json_is_object(ar)) {
		if (str_of(ar, "path", s->archive, sizeof(s->archive)) < 0 || s->archive[0] == '\0' ||
		    str_of(ar, "at", s->archived_at, sizeof(s->archived_at)) < 0)
			goto out;
	} else if (!json_is_null(ar)) {
		goto out;
	}
	r = 0;
out:
	json_decref(j);
	return r;
}

int seg_seal_load(const char *path, struct seg_seal *s)
{
	struct buf b;
	int r;

	buf_init(&b, SEG_SEAL_MAX);
	r = file_read_all(path, SEG_SEAL_MAX, &b);
	if (r == ERR_TOO_LARGE)
		r = ERR_CORRUPT;
	if (r == 0)
		r = seg_seal_parse(b.data, b.len, s);
	buf_release(&b);
	return r;
}

int seg_seal_render(const struct seg_seal *s, struct buf *out)
{
	char h1[65], h2[65], h3[65], h4[65];
	json_t *ar = NULL;
	char *arch = NULL;
	int r;

	sodium_bin2hex(h1, sizeof(h1), s->log_sha256, 32);
	sodium_bin2hex(h2, sizeof(h2), s->idx_sha256, 32);
	sodium_bin2hex(h3, sizeof(h3), s->subtree_root, 32);
	sodium_bin2hex(h4, sizeof(h4), s->cp_root, 32);
	buf_reset(out);
	if ((r = buf_printf(out,
			    "{\"v\":1,\"first\":%" PRIu64 ",\"count\":%" PRIu64 ",\"log_bytes\":%" PRIu64
			    ",\"log_sha256\":\"%s\",\"idx_sha256\":\"%s\",",
			    s->first, s->count, s->log_bytes, h1, h2)) < 0)
		return r;
	if (s->has_subtree)
		r = buf_printf(out, "\"subtree\":{\"height\":%u,\"root\":\"%s\"},", s->subtree_height, h3);
	else
		r = buf_puts(out, "\"subtree\":null,");
	if (r < 0 ||
	    (r = buf_printf(out,
			    "\"checkpoint\":{\"size\":%" PRIu64 ",\"root\":\"%s\",\"note\":\"checkpoints/%" PRIu64
			    ".note\"},\"sealed_at\":\"%s\",\"archive\":",
			    s->cp_size, h4, s->cp_size, s->sealed_at)) < 0)
		return r;
	if (s->archive[0] == '\0')
		return buf_puts(out, "null}\n");
	ar = json_pack("{s:s,s:s}", "path", s->archive, "at", s->archived_at);
	if (ar == NULL || (arch = json_dumps(ar, JSON_COMPACT | JSON_PRESERVE_ORDER)) == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	if ((r = buf_puts(out, arch)) == 0)
		r = buf_puts(out, "}\n");
out:
	free(arch);
	json_decref(ar);
	return r;
}

int seg_file_sha256(const char *path, uint8_t out[32], uint64_t *size)
{
	struct merkle_sha256_stream st;
	uint8_t *chunk;
	uint64_t total = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC), r;

	if (fd < 0)
		return errno == ENOENT ? ERR_NOT_FOUND : ERR_IO;
	if ((r = merkle_sha256_begin(&st)) < 0) {
		close(fd);
		return r;
	}
	chunk = xmalloc(1 << 16);
	for (;;) {
		ssize_t got = read(fd, chunk, 1 << 16);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			r = ERR_IO;
			break;
		}
		if (got == 0)
			break;
		if ((r = merkle_sha256_update(&st, chunk, (size_t)got)) < 0)
			break;
		total += (uint64_t)got;
	}
	close(fd);
	free(chunk);
	if (r == 0) {
		r = merkle_sha256_end(&st, out);
		if (r == 0 && size != NULL)
			*size = total;
	} else {
		(void)merkle_sha256_end(&st, NULL);
	}
	return r;
}
