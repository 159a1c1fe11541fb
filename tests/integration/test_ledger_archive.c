/*
 * Integration tests of the ledger's segments through the real binary:
 * `segment_entries` in mamori.conf, `mamori ledger seal`, `mamori ledger
 * archive`, `mamori verify` with and without --archive (a flipped bit in
 * an archived segment, an altered seal), reads of archived records and
 * ERR_ARCHIVED when the archive is moved away, and the usage errors.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fx_tree.h"
#include "base/base.h"
#include "base/buf.h"
#include "base/diag.h"
#include "base/timeutil.h"
#include "instance/instance.h"
#include "integration/harness.h"
#include "ledger/ledger.h"

static struct h_instance HI;
static char ARCH[600], ARCH2[600], LDIR[600];

static int run(const char *const *args, struct buf *out, struct buf *err)
{
	buf_release(out);
	buf_release(err);
	return h_run(args, NULL, 0, out, err);
}

static int group_setup(void **state)
{
	char p[700];
	FILE *f;

	(void)state;
	if (h_instance_new(&HI, 500, 20, 1000) != 0) {
		h_instance_free(&HI);
		return -1;
	}
	snprintf(p, sizeof(p), "%s/mamori.conf", HI.dir);
	f = fopen(p, "a");
	if (f == NULL)
		return -1;
	fprintf(f, "segment_entries = 8\n");
	fclose(f);
	snprintf(ARCH, sizeof(ARCH), "%s-archive", HI.dir);
	snprintf(ARCH2, sizeof(ARCH2), "%s-archive-moved", HI.dir);
	snprintf(LDIR, sizeof(LDIR), "%s/ledger", HI.dir);
	return 0;
}


static int group_teardown(void **state)
{
	(void)state;
	fx_rm_tree(ARCH);
	fx_rm_tree(ARCH2);
	h_instance_free(&HI);
	return 0;
}

/* The first indexes of the segments with a .idx in DIR/ledger/seg. */
static size_t seg_firsts(uint64_t *out, size_t cap)
{
	char p[700];
	DIR *dh;
	struct dirent *e;
	size_t n = 0;

	snprintf(p, sizeof(p), "%s/seg", LDIR);
	dh = opendir(p);
	assert_non_null(dh);
	while ((e = readdir(dh)) != NULL) {
		size_t len = strlen(e->d_name);
		int64_t v;

		if (len != 16 || strcmp(e->d_name + 12, ".idx") != 0 || n == cap)
			continue;
		assert_int_equal(parse_i64(e->d_name, 12, 0, INT64_MAX, &v), 0);
		out[n++] = (uint64_t)v;
	}
	closedir(dh);
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && out[j - 1] > out[j]; j--) {
			uint64_t t = out[j];

			out[j] = out[j - 1];
			out[j - 1] = t;
		}
	return n;
}

static bool exists(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0;
}

static void flip(const char *path, off_t off)
{
	char c;
	int fd;

	assert_int_equal(chmod(path, 0600), 0);
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &c, 1, off), 1);
	c ^= 0x04;
	assert_int_equal(pwrite(fd, &c, 1, off), 1);
	close(fd);
}

static void test_segments_seal_archive_verify(void **state)
{
	const char *seal[] = { "ledger", "seal", HI.dir, NULL };
	const char *verify[] = { "verify", HI.dir, NULL };
	const char *verify_a[] = { "verify", HI.dir, "--archive", ARCH, NULL };
	struct instance *in = NULL;
	struct ledger *l = NULL;
	struct audit_rec recs[30];
	char bodies[30][48], p[800], before[32];
	uint64_t firsts[64], n0, size = 0;
	struct buf out, err, rec;
	struct diag d;
	size_t nseg;
	int lockfd;

	(void)state;
	buf_init(&out, 1 << 20);
	buf_init(&err, 1 << 20);
	buf_init(&rec, 1 << 21);
	/* The instance's ledger takes segment_entries from mamori.conf. */
	diag_init(&d, 10);
	assert_int_equal(instance_open(HI.dir, INSTANCE_WRITE, &in, &d), 0);
	diag_release(&d);
	assert_int_equal(instance_config(in)->segment_entries, 8);
	l = instance_ledger(in);
	n0 = ledger_size(l);
	assert_true(n0 > 0);
	for (int i = 0; i < 30; i++) {
		snprintf(bodies[i], sizeof(bodies[i]), "{\"seq\":%d}", i);
		recs[i] = (struct audit_rec){ "access", TS_NONE, "staff:test", bodies[i], strlen(bodies[i]) };
	}
	/* One group of 30: it spans segments of 8. */
	assert_int_equal(ledger_append_many(l, recs, 30, NULL), 0);
	nseg = seg_firsts(firsts, ARRAY_SIZE(firsts));
	assert_true(nseg >= 4);
	assert_int_equal(firsts[0], 0);
	for (size_t i = 2; i < nseg; i++)
		assert_int_equal(firsts[i] - firsts[i - 1], 8);
	/* A checkpoint while another process holds the maintenance lock does
	 * not wait for it: it signs and leaves the sealing for later. */
	snprintf(p, sizeof(p), "%s/seg/LOCK", LDIR);
	lockfd = open(p, O_RDWR | O_CREAT, 0600);
	assert_true(lockfd >= 0);
	assert_int_equal(flock(lockfd, LOCK_EX), 0);
	assert_int_equal(instance_checkpoint(in, NULL, &size), 0);
	assert_int_equal(size, n0 + 30);
	close(lockfd);
	snprintf(p, sizeof(p), "%s/seg/000000000000.seal", LDIR);
	assert_false(exists(p));
	instance_close(in);

	/* mamori ledger seal: every full segment the checkpoint covers. */
	assert_int_equal(run(seal, &out, &err), 0);
	snprintf(p, sizeof(p), "sealed %zu segments", nseg - 1);
	if (!strstr(out.data, p))
		fail_msg("%s / %s", out.data, err.data ? err.data : "");
	assert_int_equal(run(seal, &out, &err), 0);
	assert_non_null(strstr(out.data, "sealed 0 segments"));

	/* mamori ledger archive --before: only what ends by then. */
	snprintf(before, sizeof(before), "%" PRIu64, firsts[1]);
	{
		const char *a[] = { "ledger", "archive", HI.dir, "--to", ARCH, "--before", before, NULL };

		assert_int_equal(run(a, &out, &err), 0);
		snprintf(p, sizeof(p), "archived 1 segments (%" PRIu64 " entries)", firsts[1]);
		assert_non_null(strstr(out.data, p));
	}
	snprintf(p, sizeof(p), "%s/000000000000.log", ARCH);
	assert_true(exists(p));
	snprintf(p, sizeof(p), "%s/checkpoints/%" PRIu64 ".note", ARCH, size);
	assert_true(exists(p));
	snprintf(p, sizeof(p), "%s/seg/000000000000.log", LDIR);
	assert_false(exists(p));

	/* The archiving is in the ledger; archived records read from the
	 * archive, and ERR_ARCHIVED once it is moved away. */
	assert_int_equal(ledger_open(LDIR, LEDGER_READ_ONLY, &l), 0);
	assert_int_equal(ledger_size(l), n0 + 31);
	assert_int_equal(ledger_read(l, n0 + 30, &rec), 0);
	assert_non_null(strstr(rec.data, "\"kind\":\"ledger_archive\""));
	assert_non_null(strstr(rec.data, "\"actor\":\"cli:"));
	assert_int_equal(ledger_read(l, 0, &rec), 0);
	assert_non_null(strstr(rec.data, "{\"v\":1,\"index\":0,"));
	assert_int_equal(rename(ARCH, ARCH2), 0);
	assert_int_equal(ledger_read(l, 0, &rec), ERR_ARCHIVED);
	assert_int_equal(ledger_read(l, firsts[1], &rec), 0);
	assert_int_equal(rename(ARCH2, ARCH), 0);
	assert_int_equal(ledger_read(l, 1, &rec), 0);
	ledger_close(l);

	/* verify without the archive: passes, and says what it could not read. */
	assert_int_equal(run(verify, &out, &err), 0);
	assert_non_null(strstr(out.data, "verified: "));
	snprintf(p, sizeof(p), "warning: %" PRIu64 " archived entries (1 segments) were checked only",
		 firsts[1]);
	if (!strstr(err.data, p))
		fail_msg("stderr: %s", err.data);
	/* ... and with it, reads it, quietly. */
	assert_int_equal(run(verify_a, &out, &err), 0);
	assert_non_null(strstr(out.data, "(1 read from an archive)"));
	assert_true(err.data == NULL || strstr(err.data, "warning") == NULL);

	/* A flipped bit in the archived segment: named with its file and
	 * offset, only when the archive is read. */
	snprintf(p, sizeof(p), "%s/000000000000.log", ARCH);
	flip(p, 40);
	assert_int_equal(run(verify_a, &out, &err), 1);
	assert_non_null(strstr(err.data, "verification FAILED: entry 0, "));
	snprintf(p, sizeof(p), "%s/000000000000.log byte offset 0", ARCH);
	if (!strstr(err.data, p))
		fail_msg("stderr: %s", err.data);
	assert_int_equal(run(verify, &out, &err), 0);
	snprintf(p, sizeof(p), "%s/000000000000.log", ARCH);
	flip(p, 40);
	assert_int_equal(run(verify_a, &out, &err), 0);

	/* An altered seal fails verification, archive or not. */
	{
		char sp[800], *text;
		struct stat st;
		char *c;
		int fd;

		snprintf(sp, sizeof(sp), "%s/seg/000000000000.seal", LDIR);
		assert_int_equal(stat(sp, &st), 0);
		text = xcalloc(1, (size_t)st.st_size + 1);
		assert_int_equal(chmod(sp, 0600), 0);
		fd = open(sp, O_RDWR);
		assert_true(fd >= 0);
		assert_int_equal(read(fd, text, (size_t)st.st_size), st.st_size);
		c = strstr(text, "\"checkpoint\":{\"size\":");
		assert_non_null(c);
		c = strstr(c, "\"root\":\"");
		assert_non_null(c);
		c += strlen("\"root\":\"");
		*c = *c == '0' ? '1' : '0';
		assert_int_equal(pwrite(fd, text, (size_t)st.st_size, 0), st.st_size);
		assert_int_equal(run(verify, &out, &err), 1);
		assert_non_null(strstr(err.data, "seg/000000000000.seal"));
		assert_int_equal(run(verify_a, &out, &err), 1);
		assert_non_null(strstr(err.data, "seg/000000000000.seal"));
		assert_int_equal(ftruncate(fd, 0), 0);
		assert_int_equal(run(verify, &out, &err), 1);
		assert_non_null(strstr(err.data, "cannot be read as a seal"));
		close(fd);
		free(text);
		assert_int_equal(unlink(sp), 0);
		/* Without its seal, an archived segment is simply missing. */
		assert_int_equal(run(verify_a, &out, &err), 1);
		assert_non_null(strstr(err.data, "a segment starting at entry 0 was expected"));
		/* The archive keeps a copy of the seal: put it back. */
		snprintf(p, sizeof(p), "%s/000000000000.seal", ARCH);
		{
			struct buf sb;
			int in_fd = open(p, O_RDONLY), out_fd;
			char chunk[8192];
			ssize_t got;

			buf_init(&sb, 1 << 20);
			assert_true(in_fd >= 0);
			while ((got = read(in_fd, chunk, sizeof(chunk))) > 0)
				assert_int_equal(buf_append(&sb, chunk, (size_t)got), 0);
			close(in_fd);
			out_fd = open(sp, O_WRONLY | O_CREAT | O_TRUNC, 0400);
			assert_true(out_fd >= 0);
			assert_int_equal(write(out_fd, sb.data, sb.len), (ssize_t)sb.len);
			close(out_fd);
			buf_release(&sb);
		}
		/* That copy predates the archiving (no archive path), so the
		 * instance no longer knows where the segment went, but
		 * verification with the archive passes again. */
		assert_int_equal(run(verify_a, &out, &err), 0);
	}

	/* The rest of the sealed segments. */
	{
		const char *a[] = { "ledger", "archive", HI.dir, "--to", ARCH, NULL };

		assert_int_equal(run(a, &out, &err), 0);
		snprintf(p, sizeof(p), "archived %zu segments", nseg - 2);
		assert_non_null(strstr(out.data, p));
	}
	assert_int_equal(run(verify_a, &out, &err), 0);
	buf_release(&out);
	buf_release(&err);
	buf_release(&rec);
}

static void test_ledger_usage(void **state)
{
	const char *none[] = { "ledger", NULL };
	const char *help[] = { "ledger", "--help", NULL };
	const char *no_to[] = { "ledger", "archive", HI.dir, NULL };
	const char *bad_action[] = { "ledger", "frob", HI.dir, NULL };
	const char *bad_before[] = { "ledger", "archive", HI.dir, "--to", ARCH, "--before", "x1", NULL };
	const char *seal_to[] = { "ledger", "seal", HI.dir, "--to", ARCH, NULL };
	const char *not_inst[] = { "ledger", "seal", "/nonexistent/mamori", NULL };
	const char *v_noarg[] = { "verify", HI.dir, "--archive", NULL };
	const char *v_nodir[] = { "verify", HI.dir, "--archive", "/nonexistent/archive", NULL };
	const char *v_help[] = { "verify", "--help", NULL };
	struct buf out, err;

	(void)state;
	buf_init(&out, 1 << 20);
	buf_init(&err, 1 << 20);
	assert_int_equal(run(none, &out, &err), 2);
	assert_int_equal(run(help, &out, &err), 0);
	assert_non_null(strstr(out.data, "usage: mamori ledger seal DIR"));
	assert_int_equal(run(no_to, &out, &err), 2);
	assert_non_null(strstr(err.data, "--to ARCHDIR"));
	assert_int_equal(run(bad_action, &out, &err), 2);
	assert_non_null(strstr(err.data, "unknown action 'frob'"));
	assert_int_equal(run(bad_before, &out, &err), 2);
	assert_non_null(strstr(err.data, "--before 'x1'"));
	assert_int_equal(run(seal_to, &out, &err), 2);
	assert_int_equal(run(not_inst, &out, &err), 1);
	assert_int_equal(run(v_noarg, &out, &err), 2);
	assert_int_equal(run(v_nodir, &out, &err), 1);
	assert_non_null(strstr(err.data, "no such archive directory"));
	assert_int_equal(run(v_help, &out, &err), 0);
	assert_non_null(strstr(out.data, "--archive ARCHDIR"));
	buf_release(&out);
	buf_release(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_segments_seal_archive_verify),
		cmocka_unit_test(test_ledger_usage),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
