/* Unit tests for the ledger's segment files: rollover inside one append
 * group, reopening across many segments, several processes appending
 * across a boundary, torn tails in the last segment, the move of a
 * single-file ledger, sealing, archiving, reads from the archive and
 * ERR_ARCHIVED, and verification across archives (tampering included). */
#include "fx_tree.h"
#include "base/base.h"

#include <setjmp.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <sodium.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/i18n.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "ledger/ledger.h"
#include "ledger/ledger_int.h"
#include "ledger/merkle.h"
#include "ledger/note.h"
#include "ledger/verify.h"

#define ORIGIN "mamori/test"

static uint8_t seed[32], pk[32];


static char *make_dir(void)
{
	char *d = xstrdup("/tmp/mamori-lseg-XXXXXX");

	assert_non_null(mkdtemp(d));
	return d;
}

static void done_dir(char *d)
{
	fx_rm_tree(d);
	free(d);
}

static struct ledger *open_w(const char *d, uint64_t per_seg)
{
	struct ledger *l = NULL;

	assert_int_equal(ledger_open(d, LEDGER_WRITE, &l), 0);
	assert_int_equal(ledger_set_segment_entries(l, per_seg), 0);
	return l;
}

/* Append n records in groups of group (bodies {"n":i} from base). */
static void append_n(struct ledger *l, unsigned base, unsigned n, unsigned group)
{
	struct audit_rec recs[64];
	char bodies[64][64];

	assert_true(group >= 1 && group <= 64);
	for (unsigned i = 0; i < n;) {
		unsigned k = 0;
		uint64_t first = 0, before = ledger_size(l);

		for (; k < group && i < n; k++, i++) {
			snprintf(bodies[k], sizeof(bodies[k]), "{\"n\":%u}", base + i);
			recs[k] = (struct audit_rec){ "access", 1700000000 + base + i, "staff:1",
						      bodies[k], strlen(bodies[k]) };
		}
		assert_int_equal(ledger_append_many(l, recs, k, &first), 0);
		assert_int_equal(first, before);
	}
}

static off_t fsize(const char *d, const char *rel)
{
	char p[1024];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", d, rel);
	return stat(p, &st) == 0 ? st.st_size : -1;
}

static bool exists(const char *d, const char *rel)
{
	return fsize(d, rel) >= 0;
}

/* Every record i reads back carrying index i and body {"n":i}. */
static void check_reads(struct ledger *l, uint64_t n)
{
	struct buf b;
	char want[96];

	buf_init(&b, SIZE_MAX);
	assert_int_equal(ledger_size(l), n);
	for (uint64_t i = 0; i < n; i++) {
		assert_int_equal(ledger_read(l, i, &b), 0);
		snprintf(want, sizeof(want), "{\"v\":1,\"index\":%" PRIu64 ",", i);
		if (strncmp(b.data, want, strlen(want)) != 0)
			fail_msg("record %" PRIu64 ": %s", i, b.data);
		snprintf(want, sizeof(want), ",\"body\":{\"n\":%" PRIu64 "}}", i);
		assert_non_null(strstr(b.data, want));
	}
	assert_int_equal(ledger_read(l, n, &b), ERR_NOT_FOUND);
	buf_release(&b);
}

/* The root from the hash files equals the reference tree over the reads. */
static void check_root(struct ledger *l)
{
	uint64_t n = ledger_size(l);
	uint8_t(*lv)[MERKLE_HASH_SIZE] = xcalloc(n + 1, MERKLE_HASH_SIZE);
	uint8_t want[32], got[32];
	struct buf b;

	buf_init(&b, SIZE_MAX);
	for (uint64_t i = 0; i < n; i++) {
		assert_int_equal(ledger_read(l, i, &b), 0);
		merkle_leaf_hash(b.data, b.len, lv[i]);
	}
	merkle_root_ref(lv, n, want);
	assert_int_equal(ledger_root(l, n, got), 0);
	assert_memory_equal(want, got, 32);
	buf_release(&b);
	free(lv);
}

static void verify_ok(const char *d, uint64_t entries)
{
	struct ledger_verify_report rep;

	if (ledger_verify(d, pk, &rep) != 0)
		fail_msg("verify: entry %" PRId64 " %s@%" PRIu64 ": %s", rep.entry, rep.file, rep.offset,
			 rep.msg);
	assert_int_equal(rep.entries, entries);
}

/*
 * Large groups (128 records and more) are laid out first, rendered on two
 * cores, written and synced on a third thread while the leaves are hashed
 * and the tree grows behind them: the records, the hash files and the
 * root must be exactly those of the same records appended one by one,
 * also where a group spans several segments and when records carry an
 * actor that needs escapes and their own times.
 */
static void test_large_groups(void **state)
{
	enum { N = 1000, SEG = 100 };
	static const unsigned groups[] = { 300, 128, 1, 250, 321 };
	char *da = make_dir(), *db = make_dir();
	struct ledger *a = open_w(da, SEG), *b = open_w(db, SEG);
	struct audit_rec *recs = xcalloc(N, sizeof(*recs));
	char(*bodies)[64] = xcalloc(N, 64);
	struct buf ra, rb;
	uint8_t roota[32], rootb[32];
	unsigned done = 0;

	(void)state;
	buf_init(&ra, SIZE_MAX);
	buf_init(&rb, SIZE_MAX);
	for (unsigned i = 0; i < N; i++) {
		snprintf(bodies[i], 64, "{\"n\":%u,\"q\":\"佐藤\"}", i);
		recs[i] = (struct audit_rec){ i % 3 ? "access" : "decision",
					      i % 7 ? 1700000000 + (int64_t)i / 5 : TS_NONE,
					      i % 2 ? "staff:\"q\\1" : "職員:佐藤", bodies[i],
					      strlen(bodies[i]) };
		if (recs[i].ts == TS_NONE)
			recs[i].ts = 1700000000; /* both ledgers must render the same time */
	}
	for (size_t g = 0; g < ARRAY_SIZE(groups); g++) {
		uint64_t first = 0;

		assert_int_equal(ledger_append_many(a, recs + done, groups[g], &first), 0);
		assert_int_equal(first, done);
		done += groups[g];
	}
	assert_int_equal(done, N);
	for (unsigned i = 0; i < N; i++)
		assert_int_equal(ledger_append(b, &recs[i], NULL), 0);
	for (uint64_t i = 0; i < N; i++) {
		assert_int_equal(ledger_read(a, i, &ra), 0);
		assert_int_equal(ledger_read(b, i, &rb), 0);
		assert_int_equal(ra.len, rb.len);
		assert_memory_equal(ra.data, rb.data, ra.len);
	}
	assert_int_equal(ledger_read(a, 1, &ra), 0);
	assert_non_null(strstr(ra.data, "\"actor\":\"staff:\\\"q\\\\1\""));
	for (uint64_t n = 1; n <= N; n += 37) {
		assert_int_equal(ledger_root(a, n, roota), 0);
		assert_int_equal(ledger_root(b, n, rootb), 0);
		assert_memory_equal(roota, rootb, 32);
	}
	check_root(a);
	assert_true(exists(da, "seg/000000000900.idx"));
	ledger_close(a);
	ledger_close(b);
	verify_ok(da, N);
	verify_ok(db, N);
	buf_release(&ra);
	buf_release(&rb);
	free(recs);
	free(bodies);
	done_dir(da);
	done_dir(db);
}

static void test_rollover_in_group(void **state)
{
	char *d = make_dir();
	struct ledger *l = open_w(d, 8), *ro = NULL;

	(void)state;
	assert_int_equal(ledger_set_segment_entries(l, 0), ERR_INVALID);
	assert_int_equal(ledger_open(d, LEDGER_READ_ONLY, &ro), 0);
	/* One group of 20 from empty: segments 0, 8 and 16. */
	append_n(l, 0, 20, 20);
	assert_int_equal(fsize(d, "seg/000000000000.idx"), 8 * 8);
	assert_int_equal(fsize(d, "seg/000000000008.idx"), 8 * 8);
	assert_int_equal(fsize(d, "seg/000000000016.idx"), 4 * 8);
	assert_false(exists(d, "seg/000000000024.idx"));
	/* A group of 5 from 20 crosses the boundary at 24: 4 + 1. */
	append_n(l, 20, 5, 5);
	assert_int_equal(fsize(d, "seg/000000000016.idx"), 8 * 8);
	assert_int_equal(fsize(d, "seg/000000000024.idx"), 1 * 8);
	/* A group that ends exactly at a boundary leaves no empty segment. */
	append_n(l, 25, 7, 7);
	assert_int_equal(fsize(d, "seg/000000000024.idx"), 8 * 8);
	assert_false(exists(d, "seg/000000000032.log"));
	append_n(l, 32, 1, 1);
	assert_int_equal(fsize(d, "seg/000000000032.idx"), 8);
	/* A reader opened before all this sees every segment. */
	check_reads(ro, 33);
	check_reads(l, 33);
	check_root(ro);
	ledger_close(ro);
	ledger_close(l);
	verify_ok(d, 33);
	done_dir(d);
}

/* A large group whose lines cannot all be written (the file size limit
 * stands in for a full disk) fails as a whole: no record of it counts,
 * the log is cut back, and the next group goes on from the same place. */
static void test_large_group_write_fails(void **state)
{
	enum { N = 1000, BEFORE = 200 };
	char *d = make_dir();
	struct ledger *l = open_w(d, 100000);
	struct audit_rec *recs = xcalloc(N, sizeof(*recs));
	char(*bodies)[96] = xcalloc(N, 96);
	struct rlimit saved, lim;
	uint64_t first = 0;
	off_t log_len;

	(void)state;
	for (unsigned i = 0; i < N; i++) {
		snprintf(bodies[i], 96, "{\"n\":%u,\"note\":\"住民記録の照会 %u\"}", i, i * 7);
		recs[i] = (struct audit_rec){ "access", 1700000000 + (int64_t)i, "staff:1", bodies[i],
					      strlen(bodies[i]) };
	}
	assert_int_equal(ledger_append_many(l, recs, BEFORE, NULL), 0);
	log_len = fsize(d, "seg/000000000000.log");
	assert_true(log_len > 0);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved), 0);
	lim = saved;
	lim.rlim_cur = (rlim_t)log_len + 20000; /* the group needs some 100 KB */
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	assert_int_equal(ledger_append_many(l, recs + BEFORE, N - BEFORE, &first), ERR_IO);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved), 0);
	signal(SIGXFSZ, SIG_DFL);
	assert_int_equal(ledger_size(l), BEFORE);
	assert_int_equal(fsize(d, "seg/000000000000.log"), log_len);
	assert_int_equal(fsize(d, "seg/000000000000.idx"), BEFORE * 8);
	/* The same group again, now that there is room. */
	assert_int_equal(ledger_append_many(l, recs + BEFORE, N - BEFORE, &first), 0);
	assert_int_equal(first, BEFORE);
	check_root(l);
	ledger_close(l);
	verify_ok(d, N);
	free(recs);
	free(bodies);
	done_dir(d);
}

/* Read [from, to) with a cursor and compare each record with ledger_read;
 * returns how many were read. */
static uint64_t cursor_matches(struct ledger *l, uint64_t from, uint64_t to)
{
	struct ledger_cursor *c = NULL;
	struct buf a, b;
	uint64_t i, want = from, n = 0;
	int r;

	buf_init(&a, LEDGER_BODY_MAX + 4096);
	buf_init(&b, LEDGER_BODY_MAX + 4096);
	assert_int_equal(ledger_cursor_open(l, from, to, &c), 0);
	while ((r = ledger_cursor_next(c, &i, &a)) == 1) {
		assert_int_equal(i, want);
		assert_int_equal(ledger_read(l, i, &b), 0);
		assert_int_equal(a.len, b.len);
		assert_memory_equal(a.data, b.data, a.len);
		want++;
		n++;
	}
	assert_int_equal(r, 0);
	assert_int_equal(ledger_cursor_next(c, &i, &a), 0); /* stays at the end */
	ledger_cursor_close(c);
	buf_release(&a);
	buf_release(&b);
	return n;
}

/* The sequential reader gives what ledger_read gives, across segments of
 * several sizes, from and to anywhere, through an archived segment, not
 * past the size it was opened at; a wrong index entry is ERR_CORRUPT. */
static void test_cursor(void **state)
{
	char *d = make_dir(), arch[600], p[700];
	struct ledger *l = open_w(d, 8);
	struct ledger_cursor *c = NULL;
	uint64_t size = 0, segs = 0, ents = 0, i;
	struct buf b;
	uint8_t e[8];
	int fd;

	(void)state;
	buf_init(&b, LEDGER_BODY_MAX + 4096);
	snprintf(arch, sizeof(arch), "%s-arch", d);
	append_n(l, 0, 20, 7);
	assert_int_equal(ledger_set_segment_entries(l, 100), 0);
	append_n(l, 20, 310, 64); /* segment 16 fills at 100: 16, 116, 216, 316 */
	assert_int_equal(ledger_size(l), 330);
	assert_int_equal(cursor_matches(l, 0, 330), 330);
	assert_int_equal(cursor_matches(l, 0, UINT64_MAX), 330);
	assert_int_equal(cursor_matches(l, 5, 6), 1);
	assert_int_equal(cursor_matches(l, 7, 9), 2);  /* across a boundary */
	assert_int_equal(cursor_matches(l, 115, 317), 202);
	assert_int_equal(cursor_matches(l, 330, 330), 0);
	assert_int_equal(cursor_matches(l, 329, 400), 1);
	assert_int_equal(ledger_cursor_open(l, 5, 4, &c), ERR_INVALID);
	assert_null(c);
	/* Records appended after the cursor opened are not read. */
	assert_int_equal(ledger_cursor_open(l, 320, UINT64_MAX, &c), 0);
	append_n(l, 330, 5, 5);
	for (uint64_t want = 320; want < 330; want++) {
		assert_int_equal(ledger_cursor_next(c, &i, &b), 1);
		assert_int_equal(i, want);
	}
	assert_int_equal(ledger_cursor_next(c, &i, &b), 0);
	ledger_cursor_close(c);
	ledger_cursor_close(NULL);
	/* Segments 0 and 8 sealed and segment 0 archived: read through
	 * ledger_read, with its hash check. */
	assert_int_equal(ledger_checkpoint(l, ORIGIN, seed, NULL, &size), 0);
	assert_int_equal(ledger_archive(l, arch, 8, "cli:tester", &segs, &ents), 0);
	assert_int_equal(segs, 1);
	assert_false(exists(d, "seg/000000000000.log"));
	assert_int_equal(cursor_matches(l, 0, UINT64_MAX), ledger_size(l));
	assert_int_equal(cursor_matches(l, 3, 12), 9);
	/* An index entry that points past the end of the log. */
	snprintf(p, sizeof(p), "%s/seg/000000000216.idx", d);
	fd = open(p, O_RDWR);
	assert_true(fd >= 0);
	memset(e, 0x7f, sizeof(e));
	e[7] = 0;
	assert_int_equal(pwrite(fd, e, 8, 8 * 10), 8);
	close(fd);
	assert_int_equal(ledger_cursor_open(l, 200, UINT64_MAX, &c), 0);
	for (uint64_t want = 200; want < 226; want++) {
		assert_int_equal(ledger_cursor_next(c, &i, &b), 1);
		assert_int_equal(i, want);
	}
	assert_int_equal(ledger_cursor_next(c, &i, &b), ERR_CORRUPT);
	assert_int_equal(i, 226); /* names the record it could not read */
	assert_int_equal(ledger_read(l, 226, &b), ERR_CORRUPT);
	ledger_cursor_close(c);
	/* A record with a body of the largest size: its line is longer than
	 * the cursor's first block, which grows for it. */
	{
		char *big = xmalloc(LEDGER_BODY_MAX);
		struct audit_rec br = { "access", 1700000000, "staff:1", big, LEDGER_BODY_MAX };
		uint64_t at = 0;

		memcpy(big, "{\"a\":\"", 6);
		memset(big + 6, 'x', LEDGER_BODY_MAX - 8);
		memcpy(big + LEDGER_BODY_MAX - 2, "\"}", 2);
		assert_int_equal(ledger_append(l, &br, &at), 0);
		append_n(l, 1000, 2, 2);
		assert_int_equal(cursor_matches(l, at - 1, UINT64_MAX), 4);
		free(big);
	}
	buf_release(&b);
	ledger_close(l);
	done_dir(d);
	fx_rm_tree(arch);
}


static void test_reopen_many(void **state)
{
	char *d = make_dir();
	struct ledger *l = open_w(d, 4);
	unsigned groups[] = { 1, 3, 4, 5, 9, 2, 17, 1, 6 };
	unsigned n = 0;

	(void)state;
	for (size_t k = 0; k < ARRAY_SIZE(groups); k++) {
		append_n(l, n, groups[k] * 2, groups[k]);
		n += groups[k] * 2;
	}
	ledger_close(l);
	/* 96 records: 24 segments of 4. */
	assert_int_equal(n, 96);
	assert_true(exists(d, "seg/000000000092.idx"));
	assert_false(exists(d, "seg/000000000096.idx"));
	l = open_w(d, 4);
	assert_int_equal(ledger_size(l), 96);
	append_n(l, 96, 3, 3);
	ledger_close(l);
	assert_int_equal(ledger_open(d, LEDGER_READ_ONLY, &l), 0);
	check_reads(l, 99);
	check_root(l);
	ledger_close(l);
	verify_ok(d, 99);
	/* A bigger segment size on reopen keeps the old segments, and the
	 * last one grows to the new size. */
	l = open_w(d, 16);
	append_n(l, 99, 20, 4);
	assert_int_equal(fsize(d, "seg/000000000096.idx"), 16 * 8);
	assert_int_equal(fsize(d, "seg/000000000112.idx"), 7 * 8);
	check_reads(l, 119);
	ledger_close(l);
	verify_ok(d, 119);
	done_dir(d);
}

/* Two writers with different segment sizes (a config changed while one
 * ran): each continues after the other, in the other's new segment. */
static void test_mixed_sizes(void **state)
{
	char *d = make_dir();
	struct ledger *a = open_w(d, 100), *b = open_w(d, 4);

	(void)state;
	append_n(a, 0, 3, 3);
	append_n(b, 3, 3, 3); /* 3..5: segment 0 reaches 4, segment 4 starts */
	assert_int_equal(fsize(d, "seg/000000000004.idx"), 2 * 8);
	append_n(a, 6, 2, 1); /* not full for a, but a follows into segment 4 */
	assert_int_equal(fsize(d, "seg/000000000000.idx"), 4 * 8);
	assert_int_equal(fsize(d, "seg/000000000004.idx"), 4 * 8);
	append_n(b, 8, 1, 1);
	assert_int_equal(fsize(d, "seg/000000000008.idx"), 8);
	append_n(a, 9, 5, 5);
	assert_int_equal(fsize(d, "seg/000000000008.idx"), 6 * 8);
	check_reads(a, 14);
	check_reads(b, 14);
	check_root(b);
	ledger_close(a);
	ledger_close(b);
	verify_ok(d, 14);
	done_dir(d);
}

/* Two processes append across segment boundaries at once. */
static void child_append(const char *d, int p, int fd)
{
	struct ledger *l = NULL;
	struct audit_rec recs[5];
	char bodies[5][64], c;

	if (read(fd, &c, 1) < 0 || ledger_open(d, LEDGER_WRITE, &l) != 0 ||
	    ledger_set_segment_entries(l, 8) != 0)
		_exit(1);
	for (int i = 0; i < 120;) {
		int k = (i / 5) % 2 ? 5 : 1;

		for (int j = 0; j < k; j++) {
			snprintf(bodies[j], sizeof(bodies[j]), "{\"p\":%d,\"i\":%d}", p, i + j);
			recs[j] = (struct audit_rec){ "access", TS_NONE, "w", bodies[j], strlen(bodies[j]) };
		}
		if (ledger_append_many(l, recs, (size_t)k, NULL) != 0)
			_exit(2);
		i += k;
	}
	ledger_close(l);
	_exit(0);
}

static void test_processes_across_boundary(void **state)
{
	char *d = make_dir();
	struct ledger *l = NULL;
	unsigned char seen[2][120];
	struct buf b;
	pid_t pid[2];
	int go[2];

	(void)state;
	memset(seen, 0, sizeof(seen));
	buf_init(&b, SIZE_MAX);
	assert_int_equal(pipe(go), 0);
	for (int p = 0; p < 2; p++) {
		pid[p] = fork();
		assert_true(pid[p] >= 0);
		if (pid[p] == 0) {
			close(go[1]);
			child_append(d, p, go[0]);
		}
	}
	close(go[0]);
	close(go[1]);
	for (int p = 0; p < 2; p++) {
		int st = 0;

		assert_int_equal(waitpid(pid[p], &st, 0), pid[p]);
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), 0);
	}
	assert_int_equal(ledger_open(d, LEDGER_READ_ONLY, &l), 0);
	assert_int_equal(ledger_size(l), 240);
	for (uint64_t i = 0; i < 240; i++) {
		json_t *j, *body;
		char want[64];

		assert_int_equal(ledger_read(l, i, &b), 0);
		snprintf(want, sizeof(want), "{\"v\":1,\"index\":%" PRIu64 ",", i);
		assert_int_equal(strncmp(b.data, want, strlen(want)), 0);
		j = json_loadb(b.data, b.len, 0, NULL);
		assert_non_null(j);
		body = json_object_get(j, "body");
		json_int_t p = json_integer_value(json_object_get(body, "p"));
		json_int_t k = json_integer_value(json_object_get(body, "i"));
		assert_true(p >= 0 && p < 2 && k >= 0 && k < 120);
		assert_int_equal(seen[p][k]++, 0);
		json_decref(j);
	}
	/* Every segment but the last holds exactly 8 records. */
	for (unsigned s = 0; s < 30; s++) {
		char rel[64];

		snprintf(rel, sizeof(rel), "seg/%012u.idx", s * 8);
		assert_int_equal(fsize(d, rel), 64);
	}
	assert_false(exists(d, "seg/000000000240.idx"));
	check_root(l);
	ledger_close(l);
	verify_ok(d, 240);
	buf_release(&b);
	done_dir(d);
}

static void append_raw(const char *d, const char *rel, const char *text)
{
	char p[1024];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", d, rel);
	fd = open(p, O_WRONLY | O_APPEND | O_CREAT, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void test_torn_tail_last_segment(void **state)
{
	char *d = make_dir();
	struct ledger *l = open_w(d, 8);
	off_t len16;
	char line[256];

	(void)state;
	log_set_level(LOG_ERROR);
	append_n(l, 0, 20, 6);
	ledger_close(l);
	len16 = fsize(d, "seg/000000000016.log");
	/* A half line at the end of the last segment is cut off. */
	append_raw(d, "seg/000000000016.log", "{\"v\":1,\"index\":20,\"ts");
	l = open_w(d, 8);
	assert_int_equal(ledger_size(l), 20);
	assert_int_equal(fsize(d, "seg/000000000016.log"), len16);
	append_n(l, 20, 4, 4);
	ledger_close(l);
	/* A writer died after starting segment 24: a .log with a whole
	 * record and a half one, no .idx. The whole record gets its index
	 * entry back, the half one is cut. */
	snprintf(line, sizeof(line),
		 "{\"v\":1,\"index\":24,\"ts\":\"2026-04-01T09:00:00+09:00\",\"kind\":\"access\","
		 "\"actor\":\"staff:1\",\"body\":{\"n\":24}}\n{\"v\":1,\"ind");
	append_raw(d, "seg/000000000024.log", line);
	assert_int_equal(ledger_open(d, LEDGER_READ_ONLY, &l), 0);
	assert_int_equal(ledger_size(l), 24); /* a reader ignores it */
	ledger_close(l);
	l = open_w(d, 8);
	assert_int_equal(ledger_size(l), 25);
	assert_int_equal(fsize(d, "seg/000000000024.idx"), 8);
	append_n(l, 25, 2, 2);
	check_reads(l, 27);
	check_root(l);
	ledger_close(l);
	verify_ok(d, 27);
	/* A segment that does not follow the records before it (a gap) is
	 * removed by the next writer. */
	append_raw(d, "seg/000000000040.log", "{\"v\":1,\"index\":40}\n");
	append_raw(d, "seg/000000000040.idx", "");
	l = open_w(d, 8);
	assert_int_equal(ledger_size(l), 27);
	assert_false(exists(d, "seg/000000000040.log"));
	ledger_close(l);
	verify_ok(d, 27);
	log_set_level(LOG_INFO);
	done_dir(d);
}

static void mv(const char *d, const char *from, const char *to)
{
	char a[1024], b[1024];

	snprintf(a, sizeof(a), "%s/%s", d, from);
	snprintf(b, sizeof(b), "%s/%s", d, to);
	assert_int_equal(rename(a, b), 0);
}

/* A ledger of the single-file layout opens, reads and verifies as it is,
 * and a writer moves it to segment 0. */
static void test_migration(void **state)
{
	char *d = make_dir(), p[1024];
	struct ledger *l = open_w(d, 1000);

	(void)state;
	log_set_level(LOG_ERROR);
	append_n(l, 0, 6, 2);
	ledger_close(l);
	mv(d, "seg/000000000000.log", "records.log");
	mv(d, "seg/000000000000.idx", "records.idx");
	snprintf(p, sizeof(p), "%s/seg", d);
	assert_int_equal(rmdir(p), 0);
	/* Read-only: nothing moves. */
	assert_int_equal(ledger_open(d, LEDGER_READ_ONLY, &l), 0);
	check_reads(l, 6);
	ledger_close(l);
	assert_true(exists(d, "records.log"));
	verify_ok(d, 6);
	/* A move cut short after the index (the first file moved). */
	assert_int_equal(mkdir(p, 0700), 0);
	mv(d, "records.idx", "seg/000000000000.idx");
	assert_int_equal(ledger_open(d, LEDGER_READ_ONLY, &l), 0);
	check_reads(l, 6);
	ledger_close(l);
	verify_ok(d, 6);
	/* A writer finishes the move; segment 0 keeps its 6 records, more
	 * than the segment size, and appends start segment 6. */
	l = open_w(d, 4);
	assert_false(exists(d, "records.log"));
	assert_false(exists(d, "records.idx"));
	assert_int_equal(fsize(d, "seg/000000000000.idx"), 6 * 8);
	append_n(l, 6, 5, 5);
	assert_int_equal(fsize(d, "seg/000000000006.idx"), 4 * 8);
	assert_int_equal(fsize(d, "seg/000000000010.idx"), 1 * 8);
	check_reads(l, 11);
	check_root(l);
	ledger_close(l);
	verify_ok(d, 11);
	/* Both layouts at once is refused rather than guessed at. */
	append_raw(d, "records.log", "");
	assert_int_equal(ledger_open(d, LEDGER_WRITE, &l), ERR_CORRUPT);
	log_set_level(LOG_INFO);
	done_dir(d);
}

static char *slurp(const char *d, const char *rel, size_t *len)
{
	char p[1024];
	struct stat st;
	char *b;
	int fd;

	snprintf(p, sizeof(p), "%s/%s", d, rel);
	fd = open(p, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	b = xmalloc((size_t)st.st_size + 1);
	assert_int_equal(read(fd, b, (size_t)st.st_size), st.st_size);
	b[st.st_size] = '\0';
	close(fd);
	*len = (size_t)st.st_size;
	return b;
}

static void spill(const char *d, const char *rel, const char *data, size_t len)
{
	char p[1024];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", d, rel);
	(void)chmod(p, 0600);
	fd = open(p, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

/* Segment files damaged at random (a byte changed, a file cut short, an
 * index entry pointed elsewhere), 300 times: the cursor gives exactly
 * what ledger_read gives for each record, and fails where it fails,
 * with the same error. */
static void test_cursor_damaged(void **state)
{
	static const char *const names[] = { "seg/000000000000.log", "seg/000000000000.idx",
					     "seg/000000000064.log", "seg/000000000064.idx",
					     "seg/000000000128.log", "seg/000000000128.idx" };
	enum { NF = 6, ROUNDS = 300 };
	char *d = make_dir(), *orig[NF];
	size_t olen[NF];
	struct ledger *l = open_w(d, 64);
	struct buf a, b;
	uint64_t seed_state = 0x9e3779b97f4a7c15u;
	unsigned opened = 0, failed_reads = 0;

	(void)state;
	buf_init(&a, LEDGER_BODY_MAX + 4096);
	buf_init(&b, LEDGER_BODY_MAX + 4096);
	append_n(l, 0, 150, 50);
	ledger_close(l);
	for (int f = 0; f < NF; f++)
		orig[f] = slurp(d, names[f], &olen[f]);
	for (int round = 0; round < ROUNDS; round++) {
		struct ledger *ro = NULL;
		struct ledger_cursor *c = NULL;
		uint64_t n, i, want = 0;
		int f, kind, rc, rr;
		char *m;
		size_t mlen;

		/* xorshift64: the same damage on every run */
		seed_state ^= seed_state << 13;
		seed_state ^= seed_state >> 7;
		seed_state ^= seed_state << 17;
		f = (int)(seed_state % NF);
		kind = (int)((seed_state >> 8) % 3);
		mlen = olen[f];
		m = xmalloc(mlen + 1);
		memcpy(m, orig[f], mlen);
		if (mlen > 0 && kind == 0) {
			m[(seed_state >> 16) % mlen] ^= (char)(1 + (seed_state >> 40) % 255);
		} else if (mlen > 0 && kind == 1) {
			mlen = (size_t)((seed_state >> 16) % mlen);
		} else if (mlen >= 8 && f % 2 == 1) {
			size_t e = (size_t)((seed_state >> 16) % (mlen / 8)) * 8;
			uint64_t off = (seed_state >> 24) % (olen[f - 1] + 16);

			for (int k = 0; k < 8; k++)
				m[e + (size_t)k] = (char)(off >> (8 * k));
		}
		spill(d, names[f], m, mlen);
		free(m);
		if (ledger_open(d, LEDGER_READ_ONLY, &ro) == 0) {
			opened++;
			n = ledger_size(ro);
			assert_int_equal(ledger_cursor_open(ro, 0, UINT64_MAX, &c), 0);
			while ((rc = ledger_cursor_next(c, &i, &a)) != 0) {
				assert_int_equal(i, want);
				rr = ledger_read(ro, i, &b);
				if ((rc < 0 ? rc : 0) != rr)
					print_message("round %d, file %s, damage %d: record %llu: "
						      "cursor %d, ledger_read %d\n",
						      round, names[f], kind, (unsigned long long)i, rc, rr);
				assert_int_equal(rc < 0 ? rc : 0, rr);
				if (rc < 0) {
					failed_reads++;
					break;
				}
				assert_int_equal(a.len, b.len);
				assert_memory_equal(a.data, b.data, a.len);
				want++;
			}
			if (rc == 0) {
				/* Read to the end: ledger_read agrees there is no
				 * error left to find. */
				assert_int_equal(want, n);
			}
			ledger_cursor_close(c);
			ledger_close(ro);
		}
		spill(d, names[f], orig[f], olen[f]);
	}
	/* The damage was seen both ways: some opens worked, some reads failed. */
	assert_true(opened > ROUNDS / 2);
	assert_true(failed_reads > 10);
	for (int f = 0; f < NF; f++)
		free(orig[f]);
	buf_release(&a);
	buf_release(&b);
	done_dir(d);
}
static void flip(const char *d, const char *rel, size_t off)
{
	size_t len;
	char *b = slurp(d, rel, &len);

	assert_true(off < len);
	b[off] ^= 0x01;
	spill(d, rel, b, len);
	free(b);
}

static void test_seal_archive(void **state)
{
	char *d = make_dir(), arch[600], moved[600], rel[700], *text;
	struct ledger *l = open_w(d, 8), *ro = NULL;
	struct ledger_verify_report rep;
	struct seg_seal seal;
	struct buf b, r3;
	uint8_t h[32];
	uint64_t sealed = 9, segs = 0, ents = 0, size = 0;
	struct stat st;
	size_t len;
	const char *archives[1];

	(void)state;
	buf_init(&b, SIZE_MAX);
	buf_init(&r3, SIZE_MAX);
	snprintf(arch, sizeof(arch), "%s-arch", d);
	snprintf(moved, sizeof(moved), "%s-moved", d);
	append_n(l, 0, 20, 7);
	/* No checkpoint yet: nothing can be sealed. */
	log_set_level(LOG_ERROR);
	assert_int_equal(ledger_seal(l, pk, &sealed), ERR_NOT_FOUND);
	log_set_level(LOG_INFO);
	assert_int_equal(sealed, 0);
	/* A checkpoint of 20 seals segments 0 and 8; 16 is not full. */
	assert_int_equal(ledger_checkpoint(l, ORIGIN, seed, NULL, &size), 0);
	assert_int_equal(size, 20);
	assert_true(exists(d, "seg/000000000000.seal"));
	assert_true(exists(d, "seg/000000000008.seal"));
	assert_false(exists(d, "seg/000000000016.seal"));
	snprintf(rel, sizeof(rel), "%s/seg/000000000008.log", d);
	assert_int_equal(stat(rel, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0400);
	snprintf(rel, sizeof(rel), "%s/seg/000000000000.seal", d);
	assert_int_equal(seg_seal_load(rel, &seal), 0);
	assert_int_equal(seal.first, 0);
	assert_int_equal(seal.count, 8);
	assert_true(seal.has_subtree);
	assert_int_equal(seal.subtree_height, 3);
	assert_int_equal(ledger_subtree_hash(l, 0, 3, h), 0);
	assert_memory_equal(h, seal.subtree_root, 32);
	assert_int_equal(seal.cp_size, 20);
	assert_int_equal(seal.log_bytes, (uint64_t)fsize(d, "seg/000000000000.log"));
	assert_string_equal(seal.archive, "");
	/* Sealing again finds nothing new; the signature is checked. */
	assert_int_equal(ledger_seal(l, pk, &sealed), 0);
	assert_int_equal(sealed, 0);
	{
		uint8_t other[32];

		memset(other, 7, sizeof(other));
		log_set_level(LOG_ERROR);
		assert_int_equal(ledger_seal(l, other, &sealed), ERR_CRYPTO);
		log_set_level(LOG_INFO);
	}
	assert_int_equal(ledger_read(l, 3, &r3), 0);
	verify_ok(d, 20);

	/* Archive what ends at or before 8: segment 0 only. */
	assert_int_equal(ledger_archive(l, arch, 8, "cli:tester", &segs, &ents), 0);
	assert_int_equal(segs, 1);
	assert_int_equal(ents, 8);
	assert_false(exists(d, "seg/000000000000.log"));
	assert_false(exists(d, "seg/000000000000.idx"));
	assert_true(exists(d, "seg/000000000000.seal"));
	assert_true(exists(d, "seg/000000000008.log"));
	assert_true(exists(arch, "000000000000.log"));
	assert_true(exists(arch, "000000000000.idx"));
	assert_true(exists(arch, "000000000000.seal"));
	assert_true(exists(arch, "checkpoints/20.note"));
	assert_int_equal(seg_seal_load(rel, &seal), 0);
	assert_non_null(strstr(seal.archive, "-arch"));
	/* The archiving is a record of its own. */
	assert_int_equal(ledger_size(l), 21);
	assert_int_equal(ledger_read(l, 20, &b), 0);
	assert_non_null(strstr(b.data, "\"kind\":\"ledger_archive\""));
	assert_non_null(strstr(b.data, "\"actor\":\"cli:tester\""));
	assert_non_null(strstr(b.data, "\"entries\":8"));
	/* Read from the archive, byte for byte, by any handle. */
	assert_int_equal(ledger_read(l, 3, &b), 0);
	assert_int_equal(b.len, r3.len);
	assert_memory_equal(b.data, r3.data, r3.len);
	assert_int_equal(ledger_open(d, LEDGER_READ_ONLY, &ro), 0);
	assert_int_equal(ledger_read(ro, 7, &b), 0);
	assert_non_null(strstr(b.data, "\"index\":7,"));
	/* Moved away: ERR_ARCHIVED for archived records only. */
	assert_int_equal(rename(arch, moved), 0);
	ledger_close(ro);
	assert_int_equal(ledger_open(d, LEDGER_READ_ONLY, &ro), 0);
	assert_int_equal(ledger_read(ro, 3, &b), ERR_ARCHIVED);
	assert_int_equal(ledger_read(ro, 8, &b), 0);
	assert_int_equal(err_http_status(ERR_ARCHIVED), 410);
	assert_string_equal(err_name(ERR_ARCHIVED), "archived");
	assert_string_equal(err_msg_en(ERR_ARCHIVED), "archived, and the archive is not reachable");
	assert_true(strlen(err_msg_ja(ERR_ARCHIVED)) > 10);
	/* Verification without the archive: exit clean, N entries by seal. */
	assert_int_equal(ledger_verify(d, pk, &rep), 0);
	assert_int_equal(rep.entries, 21);
	assert_int_equal(rep.sealed_only, 8);
	assert_int_equal(rep.sealed_only_segments, 1);
	assert_int_equal(rep.seals, 2);
	/* Back in place: read again; verify with the archive reads it. */
	assert_int_equal(rename(moved, arch), 0);
	assert_int_equal(ledger_read(ro, 3, &b), 0);
	archives[0] = arch;
	assert_int_equal(ledger_verify_archives(d, pk, archives, 1, &rep), 0);
	assert_int_equal(rep.entries, 21);
	assert_int_equal(rep.sealed_only, 0);
	assert_int_equal(rep.archived, 1);
	/* A flipped bit in the archive copy: verify names the archived file
	 * and the byte; a read returns ERR_CORRUPT, not altered bytes. */
	{
		char *log = slurp(arch, "000000000000.log", &len), *l5, *l6;
		size_t o5, o6;

		l5 = strstr(log, "{\"v\":1,\"index\":5,");
		l6 = strstr(log, "{\"v\":1,\"index\":6,");
		assert_non_null(l5);
		assert_non_null(l6);
		o5 = (size_t)(l5 - log);
		o6 = (size_t)(l6 - log);
		free(log);
		flip(arch, "000000000000.log", o6 - 4);
		ledger_close(ro);
		assert_int_equal(ledger_open(d, LEDGER_READ_ONLY, &ro), 0);
		log_set_level(LOG_ERROR);
		assert_int_equal(ledger_read(ro, 5, &b), ERR_CORRUPT);
		log_set_level(LOG_INFO);
		assert_int_equal(ledger_verify_archives(d, pk, archives, 1, &rep), ERR_CORRUPT);
		assert_int_equal(rep.entry, 5);
		assert_true(rep.file_in_archive);
		snprintf(rel, sizeof(rel), "%s/000000000000.log", arch);
		assert_string_equal(rep.file, rel);
		assert_int_equal(rep.offset, o5);
		assert_non_null(strstr(rep.msg, "entry 5"));
		/* Without the archive the same ledger still verifies by seal. */
		assert_int_equal(ledger_verify(d, pk, &rep), 0);
		flip(arch, "000000000000.log", o6 - 4);
		assert_int_equal(ledger_verify_archives(d, pk, archives, 1, &rep), 0);
	}
	/* A seal altered: its SHA-256 (checked against the local files). */
	text = slurp(d, "seg/000000000008.seal", &len);
	{
		char *p = strstr(text, "\"log_sha256\":\""), was;

		assert_non_null(p);
		p += strlen("\"log_sha256\":\"");
		was = *p;
		*p = was == 'a' ? 'b' : 'a';
		spill(d, "seg/000000000008.seal", text, len);
		assert_int_equal(ledger_verify(d, pk, &rep), ERR_CORRUPT);
		assert_string_equal(rep.file, "seg/000000000008.seal");
		assert_non_null(strstr(rep.msg, "SHA-256"));
		*p = was;
		spill(d, "seg/000000000008.seal", text, len);
		verify_ok(d, 21);
	}
	free(text);
	/* An archived segment's seal altered (its count): found without the
	 * archive too. */
	text = slurp(d, "seg/000000000000.seal", &len);
	{
		char *p = strstr(text, "\"count\":8,");

		assert_non_null(p);
		p[8] = '9';
		spill(d, "seg/000000000000.seal", text, len);
		assert_int_equal(ledger_verify(d, pk, &rep), ERR_CORRUPT);
		assert_string_equal(rep.file, "seg/000000000000.seal");
		p[8] = '8';
		spill(d, "seg/000000000000.seal", text, len);
	}
	free(text);
	/* Archiving on: the sealed segment 8, and nothing without seals. */
	assert_int_equal(ledger_archive(l, arch, UINT64_MAX, "cli:tester", &segs, &ents), 0);
	assert_int_equal(segs, 1);
	assert_int_equal(ents, 8);
	assert_int_equal(ledger_archive(l, arch, UINT64_MAX, "cli:tester", &segs, &ents), 0);
	assert_int_equal(segs, 0);
	assert_int_equal(ledger_size(l), 22); /* one record per archiving that moved something */
	assert_int_equal(ledger_archive(ro, arch, UINT64_MAX, "x", NULL, NULL), ERR_FORBIDDEN);
	assert_int_equal(ledger_seal(ro, pk, NULL), ERR_FORBIDDEN);
	/* A writer whose hash/synced is gone recomputes from the records
	 * after the sealed segments, even with the archive out of reach. */
	ledger_close(l);
	assert_int_equal(rename(arch, moved), 0);
	snprintf(rel, sizeof(rel), "%s/hash/synced", d);
	assert_int_equal(unlink(rel), 0);
	log_set_level(LOG_ERROR);
	l = open_w(d, 8);
	log_set_level(LOG_INFO);
	append_n(l, 100, 3, 3);
	assert_int_equal(ledger_read(l, 24, &b), 0);
	assert_int_equal(ledger_read(l, 15, &b), ERR_ARCHIVED);
	ledger_close(l);
	assert_int_equal(ledger_verify(d, pk, &rep), 0);
	assert_int_equal(rep.entries, 25);
	assert_int_equal(rep.sealed_only, 16);
	assert_int_equal(rename(moved, arch), 0);
	archives[0] = arch;
	assert_int_equal(ledger_verify_archives(d, pk, archives, 1, &rep), 0);
	assert_int_equal(rep.sealed_only, 0);
	ledger_close(ro);
	buf_release(&b);
	buf_release(&r3);
	fx_rm_tree(arch);
	done_dir(d);
}

/* Seal manifests: what parses and what does not. */
static void test_seal_format(void **state)
{
	struct seg_seal s, t;
	struct buf b;
	const char *bad[] = {
		"", "{}", "[]", "{\"v\":2}",
		"{\"v\":1,\"first\":0,\"count\":0,\"log_bytes\":1,\"log_sha256\":\"00\"}",
	};

	(void)state;
	buf_init(&b, SEG_SEAL_MAX);
	memset(&s, 0, sizeof(s));
	s.first = 16;
	s.count = 8;
	s.log_bytes = 1234;
	memset(s.log_sha256, 0xab, 32);
	memset(s.idx_sha256, 0xcd, 32);
	s.has_subtree = true;
	s.subtree_height = 3;
	memset(s.subtree_root, 0x11, 32);
	s.cp_size = 30;
	memset(s.cp_root, 0x22, 32);
	snprintf(s.sealed_at, sizeof(s.sealed_at), "2026-04-01T09:00:00+09:00");
	assert_int_equal(seg_seal_render(&s, &b), 0);
	assert_int_equal(seg_seal_parse(b.data, b.len, &t), 0);
	assert_int_equal(t.first, 16);
	assert_int_equal(t.count, 8);
	assert_memory_equal(t.log_sha256, s.log_sha256, 32);
	assert_memory_equal(t.cp_root, s.cp_root, 32);
	assert_true(t.has_subtree);
	assert_string_equal(t.archive, "");
	snprintf(s.archive, sizeof(s.archive), "/srv/アーカイブ \"x\"");
	snprintf(s.archived_at, sizeof(s.archived_at), "2026-04-02T09:00:00+09:00");
	assert_int_equal(seg_seal_render(&s, &b), 0);
	assert_int_equal(seg_seal_parse(b.data, b.len, &t), 0);
	assert_string_equal(t.archive, "/srv/アーカイブ \"x\"");
	/* A subtree that the count and first do not allow is refused. */
	s.first = 12;
	assert_int_equal(seg_seal_render(&s, &b), 0);
	assert_int_equal(seg_seal_parse(b.data, b.len, &t), ERR_CORRUPT);
	s.first = 16;
	/* A checkpoint that does not cover the segment is refused. */
	s.cp_size = 20;
	assert_int_equal(seg_seal_render(&s, &b), 0);
	assert_int_equal(seg_seal_parse(b.data, b.len, &t), ERR_CORRUPT);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		assert_int_equal(seg_seal_parse(bad[i], strlen(bad[i]), &t), ERR_CORRUPT);
	buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rollover_in_group),
		cmocka_unit_test(test_large_groups),
		cmocka_unit_test(test_large_group_write_fails),
		cmocka_unit_test(test_cursor),
		cmocka_unit_test(test_cursor_damaged),
		cmocka_unit_test(test_reopen_many),
		cmocka_unit_test(test_mixed_sizes),
		cmocka_unit_test(test_processes_across_boundary),
		cmocka_unit_test(test_torn_tail_last_segment),
		cmocka_unit_test(test_migration),
		cmocka_unit_test(test_seal_archive),
		cmocka_unit_test(test_seal_format),
	};

	if (sodium_init() < 0)
		return 1;
	i18n_set_thread(LANG_EN);
	{
		uint8_t sk[64];

		randombytes_buf(seed, sizeof(seed));
		crypto_sign_seed_keypair(pk, sk, seed);
		sodium_memzero(sk, sizeof(sk));
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
