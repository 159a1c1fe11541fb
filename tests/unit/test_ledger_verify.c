/* Unit tests for the ledger's Merkle tree: the hash files kept on append
 * (against the reference tree of merkle.c), their repair, checkpoints,
 * and ledger_verify() detecting each kind of tampering at the right place;
 * the instance's checkpoint settings and signing. */
#include "base/base.h"

#include <setjmp.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/diag.h"
#include "base/i18n.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "instance/instance.h"
#include "instance/instance_int.h"
#include "ledger/ledger.h"
#include "ledger/merkle.h"
#include "ledger/note.h"
#include "ledger/verify.h"

#define ORIGIN "mamori/test"

static uint8_t seed[32], pk[32];

static void rm_tree(const char *dir)
{
	char cmd[600];
	DIR *dh = opendir(dir);
	struct dirent *e;

	if (dh == NULL) {
		unlink(dir);
		return;
	}
	while ((e = readdir(dh)) != NULL) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(cmd, sizeof(cmd), "%s/%s", dir, e->d_name);
		rm_tree(cmd);
	}
	closedir(dh);
	rmdir(dir);
}

static char *make_dir(void)
{
	char *d = xstrdup("/tmp/mamori-lverify-XXXXXX");

	assert_non_null(mkdtemp(d));
	return d;
}

static void append_n(struct ledger *l, unsigned n, unsigned group)
{
	struct audit_rec recs[8];
	char bodies[8][128];

	assert_true(group >= 1 && group <= 8);
	for (unsigned i = 0; i < n;) {
		unsigned k = 0;

		for (; k < group && i < n; k++, i++) {
			snprintf(bodies[k], sizeof(bodies[k]), "{\"resident\":\"R%05u\",\"n\":%u}", i, i);
			recs[k] = (struct audit_rec){ "access", 1700000000 + i, "staff:1001", bodies[k],
						      strlen(bodies[k]) };
		}
		assert_int_equal(ledger_append_many(l, recs, k, NULL), 0);
	}
}

/* Leaf hashes of every record, computed from ledger_read. */
static uint8_t (*leaves_of(struct ledger *l, uint64_t *n))[MERKLE_HASH_SIZE]
{
	uint8_t(*lv)[MERKLE_HASH_SIZE];
	struct buf b;

	*n = ledger_size(l);
	lv = xcalloc(*n + 1, MERKLE_HASH_SIZE);
	buf_init(&b, SIZE_MAX);
	for (uint64_t i = 0; i < *n; i++) {
		assert_int_equal(ledger_read(l, i, &b), 0);
		merkle_leaf_hash(b.data, b.len, lv[i]);
	}
	buf_release(&b);
	return lv;
}

static void check_against_reference(struct ledger *l)
{
	uint64_t n;
	uint8_t(*lv)[MERKLE_HASH_SIZE] = leaves_of(l, &n);
	uint8_t want[32], got[32], proof[MERKLE_PROOF_MAX][32];
	size_t np;

	for (uint64_t s = 0; s <= n; s++) {
		merkle_root_ref(lv, s, want);
		assert_int_equal(ledger_root(l, s, got), 0);
		assert_memory_equal(want, got, 32);
		for (uint64_t i = 0; i < s; i += 3) {
			assert_int_equal(merkle_inclusion_proof(ledger_subtree_hash, l, i, s, proof, &np), 0);
			assert_int_equal(merkle_verify_inclusion(lv[i], i, s, (const uint8_t(*)[32])proof, np, want), 0);
		}
	}
	assert_int_equal(ledger_root(l, n + 1, got), ERR_NOT_FOUND);
	free(lv);
}

static void test_hashes_on_append(void **state)
{
	char *d = make_dir();
	struct ledger *a = NULL, *b = NULL, *ro = NULL;
	uint8_t empty[32], got[32];

	(void)state;
	assert_int_equal(ledger_open(d, LEDGER_WRITE, &a), 0);
	merkle_empty_root(empty);
	assert_int_equal(ledger_root(a, 0, got), 0);
	assert_memory_equal(empty, got, 32);
	append_n(a, 1, 1);
	check_against_reference(a);
	append_n(a, 20, 3);
	/* A second handle appends: the first must reload its tree. */
	assert_int_equal(ledger_open(d, LEDGER_WRITE, &b), 0);
	append_n(b, 7, 2);
	append_n(a, 5, 5);
	append_n(b, 4, 1);
	assert_int_equal(ledger_size(a), 37);
	check_against_reference(a);
	assert_int_equal(ledger_open(d, LEDGER_READ_ONLY, &ro), 0);
	check_against_reference(ro);
	/* Misaligned or too-tall subtrees are refused. */
	assert_int_equal(ledger_subtree_hash(ro, 1, 1, got), ERR_INVALID);
	assert_int_equal(ledger_subtree_hash(ro, 0, 63, got), ERR_INVALID);
	ledger_close(ro);
	ledger_close(b);
	ledger_close(a);
	rm_tree(d);
	free(d);
}

static void verify_ok(const char *d, uint64_t entries)
{
	struct ledger_verify_report rep;

	assert_int_equal(ledger_verify(d, pk, &rep), 0);
	assert_int_equal(rep.entries, entries);
}

static void file_truncate(const char *d, const char *name, off_t size)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s", d, name);
	assert_int_equal(truncate(p, size), 0);
}

static off_t file_len(const char *d, const char *name)
{
	char p[512];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", d, name);
	if (stat(p, &st) != 0)
		return -1;
	return st.st_size;
}

static void test_hash_repair(void **state)
{
	char *d = make_dir(), p[512];
	struct ledger *l = NULL;
	int fd;

	(void)state;
	log_set_level(LOG_ERROR);
	assert_int_equal(ledger_open(d, LEDGER_WRITE, &l), 0);
	append_n(l, 13, 4);
	ledger_close(l);
	/* A writer died after its hashes were partly written: L00 short,
	 * L01 with a hash beyond the records. */
	file_truncate(d, "hash/L00", 10 * 32 + 5);
	snprintf(p, sizeof(p), "%s/hash/L01", d);
	fd = open(p, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, seed, 32), 32);
	close(fd);
	assert_int_equal(file_len(d, "hash/L01"), 7 * 32);
	assert_int_equal(ledger_open(d, LEDGER_WRITE, &l), 0);
	assert_int_equal(file_len(d, "hash/L00"), 13 * 32);
	assert_int_equal(file_len(d, "hash/L01"), 6 * 32);
	check_against_reference(l);
	ledger_close(l);
	verify_ok(d, 13);
	/* Hash files gone altogether (a ledger older than the tree). */
	for (unsigned h = 0; h < 4; h++) {
		snprintf(p, sizeof(p), "%s/hash/L%02u", d, h);
		unlink(p);
	}
	assert_int_equal(ledger_open(d, LEDGER_WRITE, &l), 0);
	check_against_reference(l);
	append_n(l, 3, 2);
	check_against_reference(l);
	ledger_close(l);
	verify_ok(d, 16);
	/* A last leaf hash that reads back wrong makes the repair start over. */
	snprintf(p, sizeof(p), "%s/hash/L00", d);
	fd = open(p, O_WRONLY);
	assert_int_equal(pwrite(fd, "XXXX", 4, 15 * 32), 4);
	close(fd);
	file_truncate(d, "hash/L01", 7 * 32); /* forces the check */
	assert_int_equal(ledger_open(d, LEDGER_WRITE, &l), 0);
	check_against_reference(l);
	ledger_close(l);
	verify_ok(d, 16);
	log_set_level(LOG_INFO);
	rm_tree(d);
	free(d);
}

/*
 * Appends do not sync the hash files; hash/synced says up to where they are
 * durable. After a crash of the machine a hash beyond that point may read
 * back as anything, even when the last one looks right: the next writer
 * recomputes everything past hash/synced from the records.
 */
static void test_hashes_past_synced_recomputed(void **state)
{
	char *d = make_dir(), p[512];
	struct ledger *l = NULL;
	uint8_t e[8];
	pid_t pid;
	int fd, st;

	(void)state;
	log_set_level(LOG_ERROR);
	assert_int_equal(ledger_open(d, LEDGER_WRITE, &l), 0);
	append_n(l, 20, 4);
	ledger_close(l); /* a clean close: hash/synced = 20 */
	snprintf(p, sizeof(p), "%s/hash/synced", d);
	fd = open(p, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, e, 8), 8);
	close(fd);
	assert_int_equal(e[0], 20);
	/* A writer appends 10 more and stops without closing. */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct ledger *c = NULL;
		if (ledger_open(d, LEDGER_WRITE, &c) != 0)
			_exit(1);
		append_n(c, 10, 3);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	/* A hash past the durable point comes back as garbage; the last leaf
	 * hash (29) is intact, so only hash/synced can tell. */
	snprintf(p, sizeof(p), "%s/hash/L00", d);
	fd = open(p, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "GARBAGE!", 8, 24 * 32), 8);
	close(fd);
	assert_int_equal(ledger_open(d, LEDGER_WRITE, &l), 0);
	check_against_reference(l);
	ledger_close(l);
	verify_ok(d, 30);
	log_set_level(LOG_INFO);
	rm_tree(d);
	free(d);
}

/*
 * Checkpoints are made while appends go on (the hash files are synced
 * outside the append lock) and by two threads at once: every checkpoint
 * made must verify, hash/synced must cover the largest, and latest must
 * be the largest, never an older one written after it.
 */
struct cp_thread {
	struct ledger *l;
	uint64_t max; /* the largest size this thread checkpointed */
	int failed;
};

static void *cp_run(void *arg)
{
	struct cp_thread *t = arg;

	for (int i = 0; i < 15; i++) {
		uint64_t size = 0;

		if (ledger_checkpoint(t->l, ORIGIN, seed, NULL, &size) != 0)
			t->failed++;
		if (size > t->max)
			t->max = size;
	}
	return NULL;
}

static void *append_run(void *arg)
{
	append_n(arg, 600, 8);
	return NULL;
}

static void test_checkpoints_while_appending(void **state)
{
	char *d = make_dir(), p[512];
	struct ledger *l = NULL;
	struct cp_thread t[2];
	pthread_t th[3];
	struct ledger_verify_report rep;
	struct buf note;
	uint64_t max, synced = 0;
	uint8_t e[8];
	int fd;
	(void)state;

	buf_init(&note, NOTE_MAX);
	assert_int_equal(ledger_open(d, LEDGER_WRITE, &l), 0);
	append_n(l, 5, 1);
	for (int i = 0; i < 2; i++) {
		t[i] = (struct cp_thread){ l, 0, 0 };
		assert_int_equal(pthread_create(&th[i], NULL, cp_run, &t[i]), 0);
	}
	assert_int_equal(pthread_create(&th[2], NULL, append_run, l), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	assert_int_equal(t[0].failed + t[1].failed, 0);
	max = t[0].max > t[1].max ? t[0].max : t[1].max;
	assert_true(max >= 5);
	assert_int_equal(ledger_latest_checkpoint(l, &note), 0);
	{
		char want[64];

		snprintf(want, sizeof(want), ORIGIN "\n%" PRIu64 "\n", max);
		assert_non_null(strstr(note.data, want));
	}
	/* Read before the close, which moves the mark to the end. */
	snprintf(p, sizeof(p), "%s/hash/synced", d);
	fd = open(p, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, e, 8), 8);
	close(fd);
	for (int i = 7; i >= 0; i--)
		synced = synced << 8 | e[i];
	assert_true(synced >= max);
	ledger_close(l);
	assert_int_equal(ledger_verify(d, pk, &rep), 0);
	assert_int_equal(rep.entries, 605);
	assert_true(rep.checkpoints >= 2);
	buf_release(&note);
	rm_tree(d);
	free(d);
}

/* A ledger of 20 records with checkpoints at 10 and 20 (and latest). */
static char *fixture(void)
{
	char *d = make_dir();
	struct ledger *l = NULL;
	struct buf note;
	uint64_t size = 0;
	struct ledger_verify_report rep;

	buf_init(&note, NOTE_MAX);
	assert_int_equal(ledger_open(d, LEDGER_WRITE, &l), 0);
	append_n(l, 10, 3);
	assert_int_equal(ledger_checkpoint(l, ORIGIN, seed, &note, &size), 0);
	assert_int_equal(size, 10);
	assert_non_null(strstr(note.data, ORIGIN "\n10\n"));
	append_n(l, 10, 4);
	assert_int_equal(ledger_checkpoint(l, ORIGIN, seed, NULL, &size), 0);
	assert_int_equal(size, 20);
	assert_int_equal(ledger_latest_checkpoint(l, &note), 0);
	assert_non_null(strstr(note.data, ORIGIN "\n20\n"));
	ledger_close(l);
	buf_release(&note);
	assert_int_equal(ledger_verify(d, pk, &rep), 0);
	assert_int_equal(rep.entries, 20);
	assert_int_equal(rep.checkpoints, 3);
	assert_true(rep.hashes >= 20);
	return d;
}

static uint64_t rec_off(const char *d, uint64_t i)
{
	char p[512];
	uint8_t e[8];
	uint64_t v = 0;
	int fd;

	snprintf(p, sizeof(p), "%s/seg/000000000000.idx", d);
	fd = open(p, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, e, 8, (off_t)(i * 8)), 8);
	close(fd);
	for (int k = 7; k >= 0; k--)
		v = (v << 8) | e[k];
	return v;
}

static char *slurp(const char *d, const char *name, size_t *len)
{
	char p[512];
	struct stat st;
	char *data;
	int fd;

	snprintf(p, sizeof(p), "%s/%s", d, name);
	fd = open(p, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	data = xmalloc((size_t)st.st_size + 1);
	assert_int_equal(read(fd, data, (size_t)st.st_size), st.st_size);
	close(fd);
	*len = (size_t)st.st_size;
	return data;
}

static void spill(const char *d, const char *name, const void *data, size_t len)
{
	char p[512];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", d, name);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static void expect(const char *d, int64_t entry, const char *file, uint64_t offset, const char *in_msg)
{
	struct ledger_verify_report rep;

	assert_int_equal(ledger_verify(d, pk, &rep), ERR_CORRUPT);
	if (rep.entry != entry || strcmp(rep.file, file) != 0 || rep.offset != offset ||
	    (in_msg && !strstr(rep.msg, in_msg)))
		fail_msg("got entry %" PRId64 " file %s offset %" PRIu64 ": %s", rep.entry, rep.file,
			 rep.offset, rep.msg);
}

static void test_flipped_bit(void **state)
{
	char *d = fixture();
	size_t len;
	char *log = slurp(d, "seg/000000000000.log", &len);
	uint64_t off = rec_off(d, 7), next = rec_off(d, 8);

	(void)state;
	log[next - 4] ^= 0x01; /* inside the body of entry 7 */
	spill(d, "seg/000000000000.log", log, len);
	expect(d, 7, "seg/000000000000.log", off, "entry 7");
	i18n_set_thread(LANG_JA);
	expect(d, 7, "seg/000000000000.log", off, "記録 7（seg/000000000000.log のバイト位置");
	i18n_set_thread(LANG_EN);
	/* Flipped back: whole again (the check is not just "file touched"). */
	log[next - 4] ^= 0x01;
	spill(d, "seg/000000000000.log", log, len);
	verify_ok(d, 20);
	free(log);
	rm_tree(d);
	free(d);
}

static void test_entry_deleted(void **state)
{
	char *d = fixture();
	size_t len;
	char *log = slurp(d, "seg/000000000000.log", &len);
	uint64_t o5 = rec_off(d, 5), o6 = rec_off(d, 6);

	(void)state;
	memmove(log + o5, log + o6, len - o6);
	spill(d, "seg/000000000000.log", log, len - (o6 - o5));
	expect(d, 5, "seg/000000000000.log", o5, "carries index 6");
	free(log);
	rm_tree(d);
	free(d);
}

static void test_entries_swapped(void **state)
{
	char *d = fixture();
	size_t len;
	char *log = slurp(d, "seg/000000000000.log", &len), *out = xmalloc(len);
	uint64_t o3 = rec_off(d, 3), o4 = rec_off(d, 4), o5 = rec_off(d, 5);

	(void)state;
	memcpy(out, log, o3);
	memcpy(out + o3, log + o4, o5 - o4);
	memcpy(out + o3 + (o5 - o4), log + o3, o4 - o3);
	memcpy(out + o5, log + o5, len - o5);
	spill(d, "seg/000000000000.log", out, len);
	expect(d, 3, "seg/000000000000.log", o3, "carries index 4");
	free(out);
	free(log);
	rm_tree(d);
	free(d);
}

static void test_truncated(void **state)
{
	char *d = fixture();
	uint64_t o15 = rec_off(d, 15), o12 = rec_off(d, 12);
	struct ledger *l = NULL;

	(void)state;
	/* Only the log: the index still lists the lost records. */
	file_truncate(d, "seg/000000000000.log", (off_t)o15);
	expect(d, 15, "seg/000000000000.log", o15, "seg/000000000000.log holds only 15");
	/* Cut consistently (the writer's repair trims index and hashes to the
	 * records): the checkpoint of 20 entries still shows the loss. */
	file_truncate(d, "seg/000000000000.log", (off_t)o12);
	log_set_level(LOG_ERROR);
	assert_int_equal(ledger_open(d, LEDGER_WRITE, &l), 0);
	log_set_level(LOG_INFO);
	assert_int_equal(ledger_size(l), 12);
	ledger_close(l);
	assert_int_equal(file_len(d, "seg/000000000000.idx"), 12 * 8);
	assert_int_equal(file_len(d, "hash/L00"), 12 * 32);
	expect(d, 12, "seg/000000000000.log", o12, "signs 20 entries");
	/* Without the later checkpoints, the prefix verifies. */
	{
		char p[512];

		snprintf(p, sizeof(p), "%s/checkpoints/20.note", d);
		assert_int_equal(unlink(p), 0);
		snprintf(p, sizeof(p), "%s/checkpoints/latest", d);
		assert_int_equal(unlink(p), 0);
	}
	verify_ok(d, 12);
	rm_tree(d);
	free(d);
}

static void test_rehashed_forgery(void **state)
{
	char *d = fixture(), p[512];
	size_t len;
	char *log = slurp(d, "seg/000000000000.log", &len), *hit;
	struct ledger *l = NULL;

	(void)state;
	/* Rewrite entry 4's resident, then rebuild index and hashes the way
	 * the ledger itself would, and drop the checkpoints that a forger
	 * cannot re-sign except the first. */
	hit = strstr(log + rec_off(d, 4), "R00004");
	assert_non_null(hit);
	hit[5] = '9';
	spill(d, "seg/000000000000.log", log, len);
	file_truncate(d, "seg/000000000000.idx", 0);
	snprintf(p, sizeof(p), "%s/hash", d);
	rm_tree(p);
	snprintf(p, sizeof(p), "%s/checkpoints/20.note", d);
	unlink(p);
	snprintf(p, sizeof(p), "%s/checkpoints/latest", d);
	unlink(p);
	log_set_level(LOG_ERROR);
	assert_int_equal(ledger_open(d, LEDGER_WRITE, &l), 0);
	log_set_level(LOG_INFO);
	assert_int_equal(ledger_size(l), 20);
	ledger_close(l);
	/* Every hash agrees with the forged records; the checkpoint does not. */
	expect(d, 9, "checkpoints/10.note", 0, "rewritten after they were signed");
	free(log);
	rm_tree(d);
	free(d);
}

static void test_forged_checkpoint(void **state)
{
	char *d = fixture();
	uint8_t other_seed[32], other_pk[32], other_sk[64], root[32];
	struct buf text, note;
	size_t len;
	char *cp, *nl;

	(void)state;
	buf_init(&text, NOTE_MAX);
	buf_init(&note, NOTE_MAX);
	/* Signed by another key under the instance's origin. */
	randombytes_buf(other_seed, sizeof(other_seed));
	crypto_sign_seed_keypair(other_pk, other_sk, other_seed);
	memset(root, 0x42, sizeof(root));
	assert_int_equal(note_checkpoint_format(&text, ORIGIN, 20, root), 0);
	assert_int_equal(note_sign(&note, text.data, text.len, ORIGIN, other_seed), 0);
	spill(d, "checkpoints/20.note", note.data, note.len);
	expect(d, 19, "checkpoints/20.note", 0, "no signature by the instance key");
	/* The genuine note with its root altered: the signature fails. */
	cp = slurp(d, "checkpoints/latest", &len);
	nl = strchr(strchr(cp, '\n') + 1, '\n');
	nl[1] = nl[1] == 'A' ? 'B' : 'A';
	spill(d, "checkpoints/20.note", cp, len);
	expect(d, 19, "checkpoints/20.note", 0, "does not verify");
	/* A note that is not a checkpoint at all comes first. */
	spill(d, "checkpoints/5.note", "hello\n", 6);
	expect(d, -1, "checkpoints/5.note", 0, "cannot be read");
	free(cp);
	buf_release(&text);
	buf_release(&note);
	rm_tree(d);
	free(d);
}

static void test_stored_hash_and_index_altered(void **state)
{
	char *d = fixture();
	size_t len;
	char *h2 = slurp(d, "hash/L02", &len), *idx;

	(void)state;
	h2[32 + 3] ^= 0x80; /* the subtree of entries 4..7 */
	spill(d, "hash/L02", h2, len);
	expect(d, 7, "hash/L02", 32, "entries 4 to 7");
	h2[32 + 3] ^= 0x80;
	spill(d, "hash/L02", h2, len);
	verify_ok(d, 20);
	idx = slurp(d, "seg/000000000000.idx", &len);
	idx[8 * 11] ^= 0x01;
	spill(d, "seg/000000000000.idx", idx, len);
	expect(d, 11, "seg/000000000000.idx", 88, NULL);
	free(idx);
	free(h2);
	rm_tree(d);
	free(d);
}

/*
 * Verification reads in batches of 4,096 records, hashing one batch (and
 * growing the tree) on a second thread while the next is read, and part
 * of each next batch's leaves on the reading side: a ledger of several
 * batches, appended in large groups (whose checks and leaf hashes are
 * split in two), with checkpoints inside batches, must verify the same on
 * one thread and two, and a change must be found at the right record in
 * either part of a batch.
 */
#define BIG_N (3 * 4096 + 77)

static void append_big(struct ledger *l, uint64_t from, uint64_t to)
{
	enum { G = 500 };
	struct audit_rec *recs = xcalloc(G, sizeof(*recs));
	char (*bodies)[96] = xcalloc(G, sizeof(*bodies));

	while (from < to) {
		size_t k = 0;

		for (; k < G && from < to; k++, from++) {
			snprintf(bodies[k], sizeof(bodies[k]), "{\"resident\":\"R%06" PRIu64 "\",\"q\":\"日本語 %" PRIu64 "\"}",
				 from, from * 7);
			recs[k] = (struct audit_rec){ "access", 1700000000 + (int64_t)from, "staff:1001",
						      bodies[k], strlen(bodies[k]) };
		}
		assert_int_equal(ledger_append_many(l, recs, k, NULL), 0);
	}
	free(recs);
	free(bodies);
}

static void verify_both_ways(const char *d, struct ledger_verify_report *rep2)
{
	struct ledger_verify_report rep1;

	setenv("MAMORI_VERIFY_THREADS", "1", 1);
	assert_int_equal(ledger_verify(d, pk, &rep1), 0);
	unsetenv("MAMORI_VERIFY_THREADS");
	assert_int_equal(ledger_verify(d, pk, rep2), 0);
	assert_int_equal(rep1.entries, rep2->entries);
	assert_int_equal(rep1.hashes, rep2->hashes);
	assert_int_equal(rep1.checkpoints, rep2->checkpoints);
}

static void test_many_batches(void **state)
{
	static const uint64_t cps[] = { 5000, 8193, 9000, BIG_N };
	char *d = make_dir();
	struct ledger *l = NULL;
	struct ledger_verify_report rep;
	uint64_t size = 0, at = 0;
	size_t len;
	char *log, *h1;

	(void)state;
	assert_int_equal(ledger_open(d, LEDGER_WRITE, &l), 0);
	for (size_t i = 0; i < ARRAY_SIZE(cps); i++) {
		append_big(l, at, cps[i]);
		at = cps[i];
		assert_int_equal(ledger_checkpoint(l, ORIGIN, seed, NULL, &size), 0);
		assert_int_equal(size, cps[i]);
	}
	/* The hash files of the split appends give the reference roots. */
	{
		uint64_t n;
		uint8_t(*lv)[MERKLE_HASH_SIZE] = leaves_of(l, &n);
		uint8_t want[32], got[32];

		for (size_t i = 0; i < ARRAY_SIZE(cps); i++) {
			merkle_root_ref(lv, cps[i], want);
			assert_int_equal(ledger_root(l, cps[i], got), 0);
			assert_memory_equal(want, got, 32);
		}
		free(lv);
	}
	ledger_close(l);
	verify_both_ways(d, &rep);
	assert_int_equal(rep.entries, BIG_N);
	assert_int_equal(rep.checkpoints, ARRAY_SIZE(cps) + 1); /* and latest */
	assert_true(rep.hashes >= 2 * BIG_N - 20);

	/* Entry 8,700 is in the first third of the third batch (hashed by
	 * the reading side), 11,000 in the rest (by the second thread). */
	log = slurp(d, "seg/000000000000.log", &len);
	for (int w = 0; w < 2; w++) {
		uint64_t e = w == 0 ? 8700 : 11000, off = rec_off(d, e), next = rec_off(d, e + 1);

		log[next - 4] ^= 0x01;
		spill(d, "seg/000000000000.log", log, len);
		expect(d, (int64_t)e, "seg/000000000000.log", off, NULL);
		setenv("MAMORI_VERIFY_THREADS", "1", 1);
		expect(d, (int64_t)e, "seg/000000000000.log", off, NULL);
		unsetenv("MAMORI_VERIFY_THREADS");
		log[next - 4] ^= 0x01;
		spill(d, "seg/000000000000.log", log, len);
	}
	verify_ok(d, BIG_N);
	/* A stored interior hash of the second batch: entries 6,000 and 6,001. */
	h1 = slurp(d, "hash/L01", &len);
	h1[3000 * 32] ^= 0x40;
	spill(d, "hash/L01", h1, len);
	expect(d, 6001, "hash/L01", 3000 * 32, "entries 6000 to 6001");
	h1[3000 * 32] ^= 0x40;
	spill(d, "hash/L01", h1, len);
	verify_ok(d, BIG_N);
	free(h1);
	free(log);
	rm_tree(d);
	free(d);
}

static void test_public_key_file(void **state)
{
	char *d = make_dir(), p[512], b64[64], text[128];
	uint8_t got[32];

	(void)state;
	sodium_bin2base64(b64, sizeof(b64), pk, 32, sodium_base64_VARIANT_ORIGINAL);
	snprintf(text, sizeof(text), "mamori-ed25519-public-v1\n%s\n", b64);
	spill(d, "k.pub", text, strlen(text));
	snprintf(p, sizeof(p), "%s/k.pub", d);
	assert_int_equal(ledger_read_public_key(p, got), 0);
	assert_memory_equal(got, pk, 32);
	snprintf(text, sizeof(text), "mamori-ed25519-public-v1\n%s", b64); /* no newline */
	spill(d, "k.pub", text, strlen(text));
	assert_int_equal(ledger_read_public_key(p, got), ERR_INVALID);
	snprintf(text, sizeof(text), "mamori-ed25519-seed-v1\n%s\n", b64);
	spill(d, "k.pub", text, strlen(text));
	assert_int_equal(ledger_read_public_key(p, got), ERR_INVALID);
	snprintf(p, sizeof(p), "%s/none.pub", d);
	assert_int_equal(ledger_read_public_key(p, got), ERR_NOT_FOUND);
	rm_tree(d);
	free(d);
}

static void test_config_keys(void **state)
{
	struct instance_config c;
	struct diag dg;
	const char *good = "checkpoint_entries = 50\ncheckpoint_seconds = 5\n";

	(void)state;
	diag_init(&dg, 10);
	assert_int_equal(instance_config_parse("m.conf", "", 0, &c, &dg), 0);
	assert_int_equal(c.checkpoint_entries, 10000);
	assert_int_equal(c.checkpoint_seconds, 60);
	assert_int_equal(instance_config_parse("m.conf", good, strlen(good), &c, &dg), 0);
	assert_int_equal(c.checkpoint_entries, 50);
	assert_int_equal(c.checkpoint_seconds, 5);
	assert_int_equal(c.segment_entries, LEDGER_SEGMENT_ENTRIES_DEFAULT);
	assert_int_equal(LEDGER_SEGMENT_ENTRIES_DEFAULT, 1048576);
	assert_int_equal(instance_config_parse("m.conf", "segment_entries = 8\n", 20, &c, &dg), 0);
	assert_int_equal(c.segment_entries, 8);
	assert_int_equal(instance_config_parse("m.conf", "segment_entries = 1099511627776\n", 32, &c,
						 &dg),
			 0);
	assert_int_equal(c.segment_entries, (uint64_t)1 << 40);
	diag_release(&dg);
	diag_init(&dg, 10);
	assert_int_equal(instance_config_parse("m.conf", "segment_entries = 0\n", 20, &c, &dg),
			 ERR_INVALID);
	diag_release(&dg);
	diag_init(&dg, 10);
	assert_int_equal(instance_config_parse("m.conf", "segment_entries = 1099511627777\n", 32, &c,
						 &dg),
			 ERR_INVALID);
	diag_release(&dg);
	diag_init(&dg, 10);
	assert_int_equal(instance_config_parse("m.conf", "checkpoint_entries = 0\n", 23, &c, &dg),
			 ERR_INVALID);
	diag_release(&dg);
	diag_init(&dg, 10);
	assert_int_equal(instance_config_parse("m.conf", "checkpoint_seconds = 86401\n", 27, &c, &dg),
			 ERR_INVALID);
	diag_release(&dg);
	diag_init(&dg, 10);
	assert_int_equal(instance_config_parse("m.conf", "checkpoint_seconds = x\n", 23, &c, &dg),
			 ERR_INVALID);
	diag_release(&dg);
}

static void test_instance_checkpoints(void **state)
{
	char *d = make_dir(), p[600], origin[300];
	struct instance *in = NULL;
	struct diag dg;
	struct buf note;
	uint64_t size = 0;
	uint8_t ipk[32];
	struct ledger_verify_report rep;
	struct audit_rec rec = { "access", TS_NONE, "staff:1", "{\"a\":1}", 7 };
	int fd;

	(void)state;
	rmdir(d);
	diag_init(&dg, 10);
	buf_init(&note, NOTE_MAX);
	assert_int_equal(instance_init(d, "札幌\xe3\x80\x80市 a+b", &dg), 0);
	/* Checkpoint every 3 records. */
	snprintf(p, sizeof(p), "%s/mamori.conf", d);
	fd = open(p, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "checkpoint_entries = 3\n", 23), 23);
	close(fd);
	assert_int_equal(instance_open(d, INSTANCE_WRITE, &in, &dg), 0);
	assert_int_equal(instance_origin(in, origin, sizeof(origin)), 0);
	assert_string_equal(origin, "mamori/札幌_市_a_b");
	assert_int_equal(instance_checkpoint(in, &note, &size), 0);
	assert_int_equal(size, ledger_size(instance_ledger(in)));
	assert_non_null(strstr(note.data, "mamori/札幌_市_a_b\n"));
	assert_int_equal(instance_checkpointer_start(in), 0);
	/* One group, so that the thread (which may wake at any moment) sees
	 * either none of the 4 or all of them, never 3 (which would make it
	 * sign at size + 3 and leave 1 short of the next). */
	{
		struct audit_rec four[4] = { rec, rec, rec, rec };

		assert_int_equal(ledger_append_many(instance_ledger(in), four, 4, NULL), 0);
	}
	/* The thread looks once a second; give it a bounded wait for the
	 * checkpoint of the 4 new records (at least 3: checkpoint_entries).
	 * The wait looks every millisecond, so that the close below usually
	 * comes while the thread is still finishing that checkpoint: the
	 * stop must not make it skip the last one. */
	snprintf(p, sizeof(p), "ledger/checkpoints/%" PRIu64 ".note", size + 4);
	for (int i = 0; i < 5000 && file_len(d, p) <= 0; i++)
		usleep(1000);
	assert_true(file_len(d, p) > 0);
	assert_int_equal(ledger_append(instance_ledger(in), &rec, NULL), 0);
	instance_close(in); /* the last checkpoint on the way out */
	snprintf(p, sizeof(p), "ledger/checkpoints/%" PRIu64 ".note", size + 5);
	assert_true(file_len(d, p) > 0);
	snprintf(p, sizeof(p), "%s/keys/signing.pub", d);
	assert_int_equal(ledger_read_public_key(p, ipk), 0);
	snprintf(p, sizeof(p), "%s/ledger", d);
	assert_int_equal(ledger_verify(p, ipk, &rep), 0);
	assert_int_equal(rep.entries, size + 5);
	assert_true(rep.checkpoints >= 4);
	/* The same files do not verify under another key. */
	assert_int_equal(ledger_verify(p, pk, &rep), ERR_CORRUPT);
	buf_release(&note);
	diag_release(&dg);
	rm_tree(d);
	free(d);
}

/* A writer killed with SIGKILL at random moments while appending: every
 * acknowledged record survives, the repair covers the hash files, and the
 * whole ledger verifies after each round. */
static void test_killed_writer_verifies(void **state)
{
	char *d = make_dir();
	uint64_t acked = 0;
	struct ledger *l = NULL;

	(void)state;
	log_set_level(LOG_ERROR);
	for (int round = 0; round < 6; round++) {
		int fds[2];
		pid_t pid;
		uint64_t idx, last = UINT64_MAX;

		assert_int_equal(pipe(fds), 0);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			struct ledger *cl = NULL;

			close(fds[0]);
			if (ledger_open(d, LEDGER_WRITE, &cl) < 0)
				_exit(1);
			for (unsigned i = 0; i < 100000; i++) {
				char body[64];
				struct audit_rec rec = { "access", TS_NONE, "staff:9", body, 0 };

				rec.body_len = (size_t)snprintf(body, sizeof(body), "{\"i\":%u}", i);
				if (ledger_append(cl, &rec, &idx) < 0)
					_exit(1);
				if (write(fds[1], &idx, sizeof(idx)) != (ssize_t)sizeof(idx))
					_exit(1);
			}
			_exit(0);
		}
		close(fds[1]);
		usleep(20000 + 15000 * (useconds_t)round);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		while (read(fds[0], &idx, sizeof(idx)) == (ssize_t)sizeof(idx))
			last = idx;
		close(fds[0]);
		if (last != UINT64_MAX)
			acked = last + 1;
		assert_int_equal(ledger_open(d, LEDGER_WRITE, &l), 0);
		assert_true(ledger_size(l) >= acked);
		ledger_close(l);
		verify_ok(d, file_len(d, "seg/000000000000.idx") / 8);
	}
	assert_true(acked > 0);
	assert_int_equal(ledger_open(d, LEDGER_READ_ONLY, &l), 0);
	check_against_reference(l);
	ledger_close(l);
	log_set_level(LOG_INFO);
	rm_tree(d);
	free(d);
}

int main(void)
{
	uint8_t sk[64];
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hashes_on_append),
		cmocka_unit_test(test_hash_repair),
		cmocka_unit_test(test_hashes_past_synced_recomputed),
		cmocka_unit_test(test_killed_writer_verifies),
		cmocka_unit_test(test_flipped_bit),
		cmocka_unit_test(test_entry_deleted),
		cmocka_unit_test(test_entries_swapped),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_rehashed_forgery),
		cmocka_unit_test(test_forged_checkpoint),
		cmocka_unit_test(test_stored_hash_and_index_altered),
		cmocka_unit_test(test_many_batches),
		cmocka_unit_test(test_checkpoints_while_appending),
		cmocka_unit_test(test_public_key_file),
		cmocka_unit_test(test_config_keys),
		cmocka_unit_test(test_instance_checkpoints),
	};

	i18n_init_from_env();
	i18n_set_thread(LANG_EN); /* the tests match the English messages */
	if (sodium_init() < 0)
		return 1;
	randombytes_buf(seed, sizeof(seed));
	crypto_sign_seed_keypair(pk, sk, seed);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
