/* Unit tests for src/ledger: append, read, reopen, validation, several
 * writers (handles, threads and processes), torn-tail recovery, a writer
 * killed mid-append, concurrent group commit. */
#include "fx_tree.h"
#include "base/base.h"

#include <setjmp.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "ledger/ledger.h"
#include "ledger/ledger_int.h"

static char *make_dir(void)
{
	char *d = xstrdup("/tmp/mamori-ledger-XXXXXX");

	assert_non_null(mkdtemp(d));
	return d;
}

/* Remove a directory tree (the ledger's files, seg/ and hash/). */

static void rm_dir(char *d)
{
	fx_rm_tree(d);
	free(d);
}

static struct audit_rec rec_of(const char *kind, const char *actor, const char *body)
{
	struct audit_rec r = { kind, TS_NONE, actor, body, body ? strlen(body) : 0 };

	return r;
}

static json_t *read_json(struct ledger *l, uint64_t i, struct buf *b)
{
	json_t *j;

	assert_int_equal(ledger_read(l, i, b), 0);
	j = json_loadb(b->data, b->len, 0, NULL);
	assert_non_null(j);
	return j;
}

static void test_append_read_reopen(void **state)
{
	char *dir = make_dir();
	struct ledger *l = NULL;
	struct buf b;
	uint64_t idx = 99;
	struct audit_rec r = rec_of("decision", "staff:1001", "{\"allow\":true}");
	json_t *j;
	(void)state;
	buf_init(&b, 1 << 21);
	assert_int_equal(ledger_open(dir, LEDGER_WRITE, &l), 0);
	assert_int_equal(ledger_size(l), 0);
	assert_int_equal(ledger_read(l, 0, &b), ERR_NOT_FOUND);
	r.ts = 1775002502;
	assert_int_equal(ledger_append(l, &r, &idx), 0);
	assert_int_equal(idx, 0);
	assert_int_equal(ledger_read(l, 0, &b), 0);
	assert_string_equal(b.data, "{\"v\":1,\"index\":0,\"ts\":\"2026-04-01T09:15:02+09:00\","
				    "\"kind\":\"decision\",\"actor\":\"staff:1001\","
				    "\"body\":{\"allow\":true}}");
	r.ts = TS_NONE;
	assert_int_equal(ledger_append(l, &r, &idx), 0);
	assert_int_equal(idx, 1);
	j = read_json(l, 1, &b);
	{
		int64_t t = 0;
		const char *ts = json_string_value(json_object_get(j, "ts"));

		assert_non_null(ts);
		assert_int_equal(ts_parse(ts, strlen(ts), &t, NULL), 0);
		assert_true(t >= ts_now() - 60 && t <= ts_now());
	}
	json_decref(j);
	ledger_close(l);

	/* Indexes continue after reopening; a reader sees the same records. */
	assert_int_equal(ledger_open(dir, LEDGER_WRITE, &l), 0);
	assert_int_equal(ledger_size(l), 2);
	{
		struct audit_rec many[3] = { rec_of("import", "system", "{\"n\":1}"),
					     rec_of("import", "system", "{\"n\":2}"),
					     rec_of("import", "system", "{\"n\":3}") };
		assert_int_equal(ledger_append_many(l, many, 3, &idx), 0);
	}
	assert_int_equal(idx, 2);
	assert_int_equal(ledger_size(l), 5);
	ledger_close(l);
	assert_int_equal(ledger_open(dir, LEDGER_READ_ONLY, &l), 0);
	assert_int_equal(ledger_size(l), 5);
	for (uint64_t i = 0; i < 5; i++) {
		j = read_json(l, i, &b);
		assert_int_equal(json_integer_value(json_object_get(j, "index")), i);
		json_decref(j);
	}
	j = read_json(l, 4, &b);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "body"), "n")), 3);
	json_decref(j);
	assert_int_equal(ledger_append(l, &r, &idx), ERR_FORBIDDEN);
	assert_int_equal(ledger_read(l, 5, &b), ERR_NOT_FOUND);
	ledger_close(l);
	buf_release(&b);
	rm_dir(dir);
}

static void test_reject_bad_records(void **state)
{
	char *dir = make_dir();
	struct ledger *l = NULL;
	char big_actor[130], long_kind[34];
	char *big_body;
	struct audit_rec bad[] = {
		rec_of("", "a", "{}"), rec_of("Decision", "a", "{}"), rec_of("de-cision", "a", "{}"),
		rec_of("decision1", "a", "{}"), rec_of(NULL, "a", "{}"), rec_of(long_kind, "a", "{}"),
		rec_of("k", "", "{}"), rec_of("k", NULL, "{}"), rec_of("k", "a\nb", "{}"),
		rec_of("k", "a\x7f", "{}"), rec_of("k", "\xff\xfe", "{}"), rec_of("k", "\xe3\x81", "{}"),
		rec_of("k", big_actor, "{}"), rec_of("k", "a", ""), rec_of("k", "a", "[]"),
		rec_of("k", "a", "{} {}"), rec_of("k", "a", "{\"a\":1,}"), rec_of("k", "a", "{\n}"),
		rec_of("k", "a", "\"x\""), rec_of("k", "a", NULL), rec_of("k", "a", "{\"a\":"),
	};
	struct audit_rec ok = rec_of("k", "a", "{}");
	uint64_t idx = 7;
	(void)state;
	memset(big_actor, 'a', 129);
	big_actor[129] = '\0';
	memset(long_kind, 'k', 33);
	long_kind[33] = '\0';
	assert_int_equal(ledger_open(dir, LEDGER_WRITE, &l), 0);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		if (ledger_append(l, &bad[i], &idx) != ERR_INVALID)
			fail_msg("record %zu accepted", i);
	}
	/* A body one byte over the limit is refused even if it is valid JSON. */
	big_body = xcalloc(1, LEDGER_BODY_MAX + 2);
	memset(big_body, ' ', LEDGER_BODY_MAX + 1);
	big_body[0] = '{';
	big_body[LEDGER_BODY_MAX] = '}';
	bad[0] = rec_of("k", "a", big_body);
	assert_int_equal(ledger_append(l, &bad[0], &idx), ERR_INVALID);
	bad[0].body_len = LEDGER_BODY_MAX;
	big_body[LEDGER_BODY_MAX - 1] = '}';
	assert_int_equal(ledger_append(l, &bad[0], &idx), 0);
	assert_int_equal(idx, 0);
	free(big_body);
	/* A group with one bad record appends nothing. */
	{
		struct audit_rec grp[2] = { ok, rec_of("K", "a", "{}") };
		assert_int_equal(ledger_append_many(l, grp, 2, &idx), ERR_INVALID);
	}
	assert_int_equal(ledger_size(l), 1);
	/* Large groups are checked in two halves (on two cores): a bad
	 * record in either half, or at the split, refuses the whole group. */
	{
		enum { G = 500 };
		struct audit_rec *grp = xcalloc(G, sizeof(*grp));
		static const size_t at[] = { 0, 10, G / 2 - 1, G / 2, 400, G - 1 };

		for (size_t i = 0; i < G; i++)
			grp[i] = ok;
		for (size_t k = 0; k < ARRAY_SIZE(at); k++) {
			grp[at[k]] = rec_of("k", "a", "{\"a\":1,}");
			assert_int_equal(ledger_append_many(l, grp, G, &idx), ERR_INVALID);
			grp[at[k]] = rec_of("k", "a\n", "{}");
			assert_int_equal(ledger_append_many(l, grp, G, &idx), ERR_INVALID);
			grp[at[k]] = ok;
		}
		assert_int_equal(ledger_size(l), 1);
		free(grp);
	}
	/* Edge values that are valid: 32-byte kind, 128-byte actor. */
	long_kind[32] = '\0';
	big_actor[128] = '\0';
	ok = rec_of(long_kind, big_actor, "{}");
	assert_int_equal(ledger_append(l, &ok, &idx), 0);
	assert_int_equal(idx, 1);
	ledger_close(l);
	rm_dir(dir);
}

/* Two write handles at once (as two processes would have) share the ledger:
 * neither is refused, and each continues after the other's records. */
static void test_two_writers(void **state)
{
	char *dir = make_dir();
	struct ledger *a = NULL, *b = NULL, *r = NULL;
	struct audit_rec ra = rec_of("access", "a", "{\"w\":\"a\"}");
	struct audit_rec rb = rec_of("access", "b", "{\"w\":\"b\"}");
	uint64_t idx = 99;
	struct buf buf;
	(void)state;
	buf_init(&buf, 1 << 21);
	assert_int_equal(ledger_open(dir, LEDGER_WRITE, &a), 0);
	assert_int_equal(ledger_open(dir, LEDGER_WRITE, &b), 0);
	assert_non_null(b);
	assert_int_equal(ledger_open(dir, LEDGER_READ_ONLY, &r), 0);
	for (uint64_t i = 0; i < 6; i += 2) {
		assert_int_equal(ledger_append(a, &ra, &idx), 0);
		assert_int_equal(idx, i);
		assert_int_equal(ledger_size(b), i + 1);
		assert_int_equal(ledger_append(b, &rb, &idx), 0);
		assert_int_equal(idx, i + 1);
		assert_int_equal(ledger_size(a), i + 2);
	}
	/* Each handle reads the other's records, and so does a reader. */
	assert_int_equal(ledger_read(a, 5, &buf), 0);
	assert_non_null(strstr(buf.data, "\"index\":5,"));
	assert_non_null(strstr(buf.data, "{\"w\":\"b\"}"));
	assert_int_equal(ledger_read(b, 4, &buf), 0);
	assert_non_null(strstr(buf.data, "{\"w\":\"a\"}"));
	assert_int_equal(ledger_size(r), 6);
	assert_int_equal(ledger_read(r, 6, &buf), ERR_NOT_FOUND);
	ledger_close(r);
	ledger_close(a);
	assert_int_equal(ledger_append(b, &rb, &idx), 0);
	assert_int_equal(idx, 6);
	ledger_close(b);
	buf_release(&buf);
	rm_dir(dir);
}

static void append_raw(const char *dir, const char *name, const void *p, size_t n)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, p, n), (ssize_t)n);
	close(fd);
}

static uint64_t fsize(const char *dir, const char *name)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(stat(path, &st), 0);
	return (uint64_t)st.st_size;
}

static void fill(struct ledger *l, int n)
{
	struct audit_rec r = rec_of("access", "staff:7", "{\"resident\":\"R1\"}");

	for (int i = 0; i < n; i++)
		assert_int_equal(ledger_append(l, &r, NULL), 0);
}

static void test_torn_tail(void **state)
{
	char *dir = make_dir();
	struct ledger *l = NULL;
	struct buf b;
	uint64_t log_len, idx = 0;
	struct audit_rec r = rec_of("access", "staff:8", "{\"after\":1}");
	(void)state;
	buf_init(&b, 1 << 21);
	assert_int_equal(ledger_open(dir, LEDGER_WRITE, &l), 0);
	fill(l, 3);
	ledger_close(l);
	log_len = fsize(dir, "seg/000000000000.log");

	/* A partial line without its newline is cut off, by a writer only:
	 * a reader sees the three records and leaves the files alone. */
	append_raw(dir, "seg/000000000000.log", "{\"v\":1,\"index\":3,\"ts", 21);
	assert_int_equal(ledger_open(dir, LEDGER_READ_ONLY, &l), 0);
	assert_int_equal(ledger_size(l), 3);
	assert_int_equal(ledger_read(l, 2, &b), 0);
	ledger_close(l);
	assert_int_equal(fsize(dir, "seg/000000000000.log"), log_len + 21);
	assert_int_equal(ledger_open(dir, LEDGER_WRITE, &l), 0);
	assert_int_equal(ledger_size(l), 3);
	assert_int_equal(fsize(dir, "seg/000000000000.log"), log_len);
	assert_int_equal(ledger_append(l, &r, &idx), 0);
	assert_int_equal(idx, 3);
	ledger_close(l);
	log_len = fsize(dir, "seg/000000000000.log");

	/* A complete line of garbage and a half index entry are cut off too. */
	append_raw(dir, "seg/000000000000.log", "garbage\n", 8);
	append_raw(dir, "seg/000000000000.idx", "\x01\x02\x03", 3);
	assert_int_equal(ledger_open(dir, LEDGER_WRITE, &l), 0);
	assert_int_equal(ledger_size(l), 4);
	assert_int_equal(fsize(dir, "seg/000000000000.log"), log_len);
	assert_int_equal(fsize(dir, "seg/000000000000.idx"), 32);
	ledger_close(l);

	/* An index shorter than the log is rebuilt from the log. */
	{
		char p[512];
		snprintf(p, sizeof(p), "%s/seg/000000000000.idx", dir);
		assert_int_equal(truncate(p, 8), 0);
	}
	assert_int_equal(ledger_open(dir, LEDGER_WRITE, &l), 0);
	assert_int_equal(ledger_size(l), 4);
	assert_int_equal(ledger_read(l, 3, &b), 0);
	assert_non_null(strstr(b.data, "\"index\":3,"));
	assert_non_null(strstr(b.data, "{\"after\":1}"));
	assert_int_equal(ledger_append(l, &r, &idx), 0);
	assert_int_equal(idx, 4);
	ledger_close(l);

	/* An index entry that points past the log is dropped. */
	append_raw(dir, "seg/000000000000.idx", "\xff\xff\xff\xff\x00\x00\x00\x00", 8);
	assert_int_equal(ledger_open(dir, LEDGER_WRITE, &l), 0);
	assert_int_equal(ledger_size(l), 5);
	assert_int_equal(fsize(dir, "seg/000000000000.idx"), 40);
	ledger_close(l);
	buf_release(&b);
	rm_dir(dir);
}

struct worker {
	struct ledger *l;
	int id;
	uint64_t got[500];
	int err;
};

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	char body[64];

	for (int i = 0; i < 500; i++) {
		struct audit_rec r;

		snprintf(body, sizeof(body), "{\"t\":%d,\"i\":%d}", w->id, i);
		r = rec_of("access", "system", body);
		if (ledger_append(w->l, &r, &w->got[i]) != 0) {
			w->err = 1;
			break;
		}
	}
	return NULL;
}

static void test_concurrent(void **state)
{
	char *dir = make_dir();
	struct ledger *l = NULL;
	struct worker *w = xcalloc(8, sizeof(*w));
	pthread_t th[8];
	bool *seen = xcalloc(4000, sizeof(bool));
	struct buf b;
	(void)state;
	buf_init(&b, 1 << 21);
	assert_int_equal(ledger_open(dir, LEDGER_WRITE, &l), 0);
	for (int i = 0; i < 8; i++) {
		w[i].l = l;
		w[i].id = i;
		assert_int_equal(pthread_create(&th[i], NULL, worker_run, &w[i]), 0);
	}
	for (int i = 0; i < 8; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(ledger_size(l), 4000);
	for (int i = 0; i < 8; i++) {
		assert_int_equal(w[i].err, 0);
		for (int k = 0; k < 500; k++) {
			uint64_t g = w[i].got[k];
			json_t *j, *body;

			assert_true(g < 4000);
			assert_false(seen[g]);
			seen[g] = true;
			/* Each thread's own records come in the order it appended. */
			if (k > 0)
				assert_true(g > w[i].got[k - 1]);
			j = read_json(l, g, &b);
			body = json_object_get(j, "body");
			assert_int_equal(json_integer_value(json_object_get(j, "index")), g);
			assert_int_equal(json_integer_value(json_object_get(body, "t")), i);
			assert_int_equal(json_integer_value(json_object_get(body, "i")), k);
			json_decref(j);
		}
	}
	ledger_close(l);
	assert_int_equal(ledger_open(dir, LEDGER_WRITE, &l), 0);
	assert_int_equal(ledger_size(l), 4000);
	ledger_close(l);
	buf_release(&b);
	free(seen);
	free(w);
	rm_dir(dir);
}

static void test_japanese_body(void **state)
{
	char *dir = make_dir();
	struct ledger *l = NULL;
	struct buf b;
	const char *body = "{\"住民\":\"山田 太郎\",\"理由\":\"転入届の確認（窓口）\"}";
	struct audit_rec r = rec_of("access", "職員:佐藤", body);
	uint64_t idx;
	const char *p;
	(void)state;
	buf_init(&b, 1 << 21);
	assert_int_equal(ledger_open(dir, LEDGER_WRITE, &l), 0);
	assert_int_equal(ledger_append(l, &r, &idx), 0);
	assert_int_equal(ledger_read(l, idx, &b), 0);
	p = strstr(b.data, ",\"body\":");
	assert_non_null(p);
	p += strlen(",\"body\":");
	assert_int_equal(b.len - (size_t)(p - b.data), strlen(body) + 1);
	assert_memory_equal(p, body, strlen(body));
	assert_int_equal(p[strlen(body)], '}');
	assert_non_null(strstr(b.data, "\"actor\":\"職員:佐藤\""));
	ledger_close(l);
	buf_release(&b);
	rm_dir(dir);
}

/* ---- several processes ---- */

/* Children still running; the teardown kills them if a test failed before
 * it could wait for them, so that no test leaves a process behind. */
static pid_t children[4];

static pid_t fork_child(void)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid > 0) {
		for (size_t i = 0; i < ARRAY_SIZE(children); i++) {
			if (children[i] == 0) {
				children[i] = pid;
				break;
			}
		}
	}
	return pid;
}

/* Wait for a child and return its status. */
static int wait_child(pid_t pid)
{
	int st = 0;

	assert_int_equal(waitpid(pid, &st, 0), pid);
	for (size_t i = 0; i < ARRAY_SIZE(children); i++)
		if (children[i] == pid)
			children[i] = 0;
	return st;
}

static int kill_children(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(children); i++) {
		if (children[i] > 0) {
			kill(children[i], SIGKILL);
			waitpid(children[i], NULL, 0);
		}
		children[i] = 0;
	}
	return 0;
}

/* Read a whole file of the ledger directory into out. */
static void slurp(const char *dir, const char *name, struct buf *out)
{
	char path[512], chunk[65536];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	buf_reset(out);
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		assert_int_equal(buf_append(out, chunk, (size_t)n), 0);
	assert_int_equal(n, 0);
	close(fd);
}

/*
 * Check the files directly, without the ledger code: the segment's .log is
 * exactly n lines, each the canonical JSON object of its position (parsed
 * with jansson, "v" 1 and "index" equal to the line number), and its .idx is
 * exactly n entries, entry i the byte offset of line i. For each record,
 * visit (if not NULL) gets its parsed body.
 */
static void check_files(const char *dir, uint64_t n, void (*visit)(json_t *body, uint64_t i, void *),
			void *arg)
{
	struct buf log, idx;
	size_t off = 0;

	buf_init(&log, (size_t)1 << 30);
	buf_init(&idx, (size_t)1 << 30);
	slurp(dir, "seg/000000000000.log", &log);
	slurp(dir, "seg/000000000000.idx", &idx);
	assert_int_equal(idx.len, n * 8);
	for (uint64_t i = 0; i < n; i++) {
		const uint8_t *e = (const uint8_t *)idx.data + i * 8;
		uint64_t want = 0;
		const char *nl;
		json_t *j;
		json_error_t err;

		for (int b = 7; b >= 0; b--)
			want = (want << 8) | e[b];
		if (want != off)
			fail_msg(".idx entry %" PRIu64 " is %" PRIu64 ", line starts at %zu", i,
				 want, off);
		assert_true(off < log.len);
		nl = memchr(log.data + off, '\n', log.len - off);
		assert_non_null(nl);
		j = json_loadb(log.data + off, (size_t)(nl - (log.data + off)), 0, &err);
		if (j == NULL)
			fail_msg("record %" PRIu64 " is not JSON: %s", i, err.text);
		assert_true(json_is_object(j));
		assert_int_equal(json_integer_value(json_object_get(j, "v")), 1);
		if (json_integer_value(json_object_get(j, "index")) != (json_int_t)i)
			fail_msg("line %" PRIu64 " holds index %" PRId64, i,
				 (int64_t)json_integer_value(json_object_get(j, "index")));
		assert_true(json_is_object(json_object_get(j, "body")));
		if (visit)
			visit(json_object_get(j, "body"), i, arg);
		json_decref(j);
		off = (size_t)(nl - log.data) + 1;
	}
	assert_int_equal(off, log.len);
	buf_release(&log);
	buf_release(&idx);
}

#define PROCS 2
#define PER_PROC 2000
#define GROUP 10

struct proc_thread {
	struct ledger *l;
	int proc;
	bool many; /* ledger_append_many in groups of GROUP, else one by one */
	int err;
};

/* Body {"p":proc,"i":i,"m":many}; check that record idx holds it. */
static int append_check(struct proc_thread *t, int i0, int count, struct buf *b)
{
	struct audit_rec recs[GROUP];
	char bodies[GROUP][64];
	uint64_t first = UINT64_MAX;

	for (int k = 0; k < count; k++) {
		snprintf(bodies[k], sizeof(bodies[k]), "{\"p\":%d,\"i\":%d,\"m\":%d}", t->proc, i0 + k,
			 t->many);
		recs[k] = rec_of("access", t->many ? "many" : "one", bodies[k]);
	}
	if ((t->many ? ledger_append_many(t->l, recs, (size_t)count, &first)
		     : ledger_append(t->l, &recs[0], &first)) != 0)
		return 1;
	/* The returned index names this record, whoever appended around it:
	 * a group's records are consecutive. */
	for (int k = 0; k < count; k++) {
		char want[96];

		snprintf(want, sizeof(want), "\"index\":%" PRIu64 ",", first + (uint64_t)k);
		if (ledger_read(t->l, first + (uint64_t)k, b) != 0 || !strstr(b->data, want) ||
		    !strstr(b->data, bodies[k]))
			return 2;
	}
	return 0;
}

static void *proc_thread_run(void *arg)
{
	struct proc_thread *t = arg;
	struct buf b;
	int half = PER_PROC / 2, base = t->many ? half : 0;

	buf_init(&b, 1 << 21);
	for (int i = 0; i < half && t->err == 0; i += t->many ? GROUP : 1)
		t->err = append_check(t, base + i, t->many ? GROUP : 1, &b);
	buf_release(&b);
	return NULL;
}

/* The body of a child writer: wait for the start signal, then append
 * PER_PROC records from two threads. Exits 0 when all went well. */
static void child_writer(const char *dir, int proc, int start_fd)
{
	struct ledger *l = NULL;
	struct proc_thread t[2];
	pthread_t th[2];
	char c;
	int rc = 0;

	if (read(start_fd, &c, 1) < 0)
		_exit(10);
	if (ledger_open(dir, LEDGER_WRITE, &l) != 0)
		_exit(11);
	for (int k = 0; k < 2; k++) {
		t[k] = (struct proc_thread){ l, proc, k == 1, 0 };
		if (pthread_create(&th[k], NULL, proc_thread_run, &t[k]) != 0)
			_exit(12);
	}
	for (int k = 0; k < 2; k++) {
		pthread_join(th[k], NULL);
		if (t[k].err != 0)
			rc = 20 + t[k].err;
	}
	ledger_close(l);
	_exit(rc);
}

struct seen_state {
	unsigned char *seen; /* [PROCS * PER_PROC] */
	int last_proc;
	int switches;
	int last_i[PROCS][2];
};

static void visit_seen(json_t *body, uint64_t i, void *arg)
{
	struct seen_state *s = arg;
	json_int_t p = json_integer_value(json_object_get(body, "p"));
	json_int_t k = json_integer_value(json_object_get(body, "i"));
	json_int_t m = json_integer_value(json_object_get(body, "m"));

	if (p < 0 || p >= PROCS || k < 0 || k >= PER_PROC || (m != 0 && m != 1))
		fail_msg("record %" PRIu64 " has an unexpected body", i);
	if (s->seen[p * PER_PROC + k]++)
		fail_msg("record p=%d i=%d appears twice (again at %" PRIu64 ")", (int)p, (int)k, i);
	/* Each thread's records come in the order it appended them. */
	assert_true(k > s->last_i[p][m]);
	s->last_i[p][m] = (int)k;
	if (s->last_proc >= 0 && s->last_proc != p)
		s->switches++;
	s->last_proc = (int)p;
}

/* Two processes (two threads each, one of them appending in groups) write
 * the same ledger at once: every index once, every record whole. */
static void test_processes_concurrent(void **state)
{
	char *dir = make_dir();
	struct ledger *l = NULL;
	struct seen_state s;
	pid_t pid[PROCS];
	int go[2];
	(void)state;
	memset(&s, 0, sizeof(s));
	s.seen = xcalloc(PROCS * PER_PROC, 1);
	s.last_proc = -1;
	for (int p = 0; p < PROCS; p++)
		s.last_i[p][0] = s.last_i[p][1] = -1;
	assert_int_equal(pipe(go), 0);
	for (int p = 0; p < PROCS; p++) {
		pid[p] = fork_child();
		if (pid[p] == 0) {
			close(go[1]);
			child_writer(dir, p, go[0]);
		}
	}
	close(go[0]);
	close(go[1]); /* both children start now */
	for (int p = 0; p < PROCS; p++) {
		int st = wait_child(pid[p]);

		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			fail_msg("writer %d ended with status %#x", p, st);
	}
	check_files(dir, PROCS * PER_PROC, visit_seen, &s);
	for (int k = 0; k < PROCS * PER_PROC; k++)
		assert_int_equal(s.seen[k], 1);
	/* The two really ran at the same time. */
	assert_true(s.switches >= 2);
	/* A writer opened afterwards finds nothing to repair and continues. */
	assert_int_equal(ledger_open(dir, LEDGER_WRITE, &l), 0);
	assert_int_equal(ledger_size(l), PROCS * PER_PROC);
	{
		struct audit_rec r = rec_of("access", "after", "{\"p\":0,\"i\":0}");
		uint64_t idx = 0;

		assert_int_equal(ledger_append(l, &r, &idx), 0);
		assert_int_equal(idx, PROCS * PER_PROC);
	}
	ledger_close(l);
	free(s.seen);
	rm_dir(dir);
}

/* A process that keeps the ledger open sees what another process appends,
 * through ledger_size and ledger_read, and continues after it. */
static void test_sees_other_process(void **state)
{
	char *dir = make_dir();
	struct ledger *a = NULL, *ro = NULL;
	struct audit_rec r = rec_of("access", "parent", "{\"who\":\"parent\"}");
	struct buf b;
	uint64_t idx = 0;
	pid_t pid;
	int st = 0;
	(void)state;
	buf_init(&b, 1 << 21);
	assert_int_equal(ledger_open(dir, LEDGER_WRITE, &a), 0);
	assert_int_equal(ledger_open(dir, LEDGER_READ_ONLY, &ro), 0);
	fill(a, 3);
	assert_int_equal(ledger_size(a), 3);
	pid = fork_child();
	if (pid == 0) {
		struct ledger *c = NULL;
		struct audit_rec cr[2] = { rec_of("import", "child", "{\"who\":\"child\",\"n\":1}"),
					   rec_of("import", "child", "{\"who\":\"child\",\"n\":2}") };
		uint64_t first = 0;

		if (ledger_open(dir, LEDGER_WRITE, &c) != 0 || ledger_size(c) != 3)
			_exit(1);
		for (uint64_t i = 0; i < 5; i++)
			if (ledger_append(c, &cr[0], &first) != 0 || first != 3 + i)
				_exit(2);
		if (ledger_append_many(c, cr, 2, &first) != 0 || first != 8)
			_exit(3);
		ledger_close(c);
		_exit(0);
	}
	st = wait_child(pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	/* A read beyond what this process wrote works without asking the size. */
	assert_int_equal(ledger_read(a, 9, &b), 0);
	assert_non_null(strstr(b.data, "\"index\":9,"));
	assert_non_null(strstr(b.data, "{\"who\":\"child\",\"n\":2}"));
	assert_int_equal(ledger_read(a, 10, &b), ERR_NOT_FOUND);
	assert_int_equal(ledger_size(a), 10);
	assert_int_equal(ledger_size(ro), 10);
	assert_int_equal(ledger_read(ro, 3, &b), 0);
	assert_non_null(strstr(b.data, "\"actor\":\"child\""));
	/* The next append from this process follows the other's records. */
	assert_int_equal(ledger_append(a, &r, &idx), 0);
	assert_int_equal(idx, 10);
	assert_int_equal(ledger_size(ro), 11);
	ledger_close(ro);
	ledger_close(a);
	check_files(dir, 11, NULL, NULL);
	buf_release(&b);
	rm_dir(dir);
}

static void read_full(int fd, void *p, size_t n)
{
	char *c = p;

	while (n > 0) {
		ssize_t r = read(fd, c, n);

		assert_true(r > 0);
		c += r;
		n -= (size_t)r;
	}
}

#define KILL_AFTER 40

static void visit_kill(json_t *body, uint64_t i, void *arg)
{
	(void)arg;
	assert_int_equal(json_integer_value(json_object_get(body, "i")), (json_int_t)i);
}

/* A writer killed with SIGKILL while appending (large records, so that the
 * kill may well land inside a write): the next open repairs the tail, and
 * every record the writer was told was durable is there, whole. */
static void test_killed_writer(void **state)
{
	char *dir = make_dir();
	struct ledger *l = NULL;
	uint64_t acked = 0, got;
	int ack[2], st = 0;
	pid_t pid;
	(void)state;
	assert_int_equal(pipe(ack), 0);
	pid = fork_child();
	if (pid == 0) {
		size_t pad = 256 * 1024;
		char *body = xmalloc(pad + 64);
		int n;

		close(ack[0]);
		if (ledger_open(dir, LEDGER_WRITE, &l) != 0)
			_exit(1);
		for (uint64_t i = 0; i < 100000; i++) {
			struct audit_rec r;
			uint64_t idx;

			n = snprintf(body, 64, "{\"i\":%" PRIu64 ",\"pad\":\"", i);
			memset(body + n, 'x', pad);
			memcpy(body + (size_t)n + pad, "\"}", 3);
			r = rec_of("access", "doomed", body);
			if (ledger_append(l, &r, &idx) != 0 || idx != i)
				_exit(2);
			/* Acknowledged: tell the parent. */
			if (write(ack[1], &idx, sizeof(idx)) != (ssize_t)sizeof(idx))
				_exit(3);
		}
		_exit(4);
	}
	close(ack[1]);
	for (uint64_t i = 0; i < KILL_AFTER; i++) {
		read_full(ack[0], &got, sizeof(got));
		assert_int_equal(got, i);
	}
	assert_int_equal(kill(pid, SIGKILL), 0);
	st = wait_child(pid);
	assert_true(WIFSIGNALED(st));
	/* Acknowledgements sent before the kill. */
	acked = KILL_AFTER;
	while (read(ack[0], &got, sizeof(got)) == (ssize_t)sizeof(got)) {
		assert_int_equal(got, acked);
		acked++;
	}
	close(ack[0]);
	assert_int_equal(ledger_open(dir, LEDGER_WRITE, &l), 0);
	got = ledger_size(l);
	assert_true(got >= acked);
	/* At most the one append in flight can have become a record too. */
	assert_true(got <= acked + 1);
	ledger_close(l);
	check_files(dir, got, visit_kill, NULL);
	rm_dir(dir);
}

/*
 * The .idx is synced only every LEDGER_IDX_SYNC_EVERY records, when a
 * segment fills and at a clean close; after a power loss the entries
 * written since may be lost anywhere in the file. A writer that ends
 * without closing (as at a power loss) leaves the mark behind; the
 * entries past it are then damaged the ways a lost page would damage
 * them, and the next writer must find every record again from the log.
 */
static uint64_t mark_of(const char *dir)
{
	char p[512];
	uint8_t e[16];
	uint64_t a = 0, b = 0;
	int fd;

	snprintf(p, sizeof(p), "%s/idx-synced", dir);
	fd = open(p, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, e, 16, 0), 16);
	close(fd);
	for (int k = 7; k >= 0; k--) {
		a = (a << 8) | e[k];
		b = (b << 8) | e[8 + k];
	}
	assert_true(a == ~b);
	return a;
}

static void append_unclosed(const char *dir, uint64_t n)
{
	pid_t pid = fork_child();

	if (pid == 0) {
		struct ledger *l = NULL;
		struct audit_rec r[100];
		char body[100][48];

		if (ledger_open(dir, LEDGER_WRITE, &l) != 0)
			_exit(1);
		for (uint64_t i = ledger_size(l); i < n;) {
			size_t k = 0;

			for (; k < 100 && i < n; k++, i++) {
				snprintf(body[k], sizeof(body[k]), "{\"i\":%" PRIu64 "}", i);
				r[k] = rec_of("access", "a", body[k]);
			}
			if (ledger_append_many(l, r, k, NULL) != 0)
				_exit(2);
		}
		_exit(0); /* no ledger_close: nothing more is synced */
	}
	assert_int_equal(wait_child(pid), 0);
}

static void idx_damage(const char *dir, int how, uint64_t from, uint64_t n)
{
	char p[512];
	uint8_t z[8 * 64] = { 0 };
	int fd;

	snprintf(p, sizeof(p), "%s/seg/000000000000.idx", dir);
	fd = open(p, O_RDWR);
	assert_true(fd >= 0);
	if (how == 0) /* a lost page in the middle: zeros */
		assert_int_equal(pwrite(fd, z, sizeof(z), (off_t)(from * 8)), (ssize_t)sizeof(z));
	else if (how == 1) /* a lost tail */
		assert_int_equal(ftruncate(fd, (off_t)(from * 8)), 0);
	else /* entries that point elsewhere */
		for (uint64_t i = from; i < n && i < from + 10; i++) {
			uint8_t e[8] = { (uint8_t)(i * 7), 1 };
			assert_int_equal(pwrite(fd, e, 8, (off_t)(i * 8)), 8);
		}
	close(fd);
}

static void all_there(const char *dir, uint64_t n)
{
	struct ledger *l = NULL;
	struct buf b;

	buf_init(&b, SIZE_MAX);
	assert_int_equal(ledger_open(dir, LEDGER_WRITE, &l), 0);
	assert_int_equal(ledger_size(l), n);
	for (uint64_t i = 0; i < n; i++) {
		char want[48];

		assert_int_equal(ledger_read(l, i, &b), 0);
		snprintf(want, sizeof(want), "\"body\":{\"i\":%" PRIu64 "}}", i);
		assert_non_null(strstr(b.data, want));
	}
	ledger_close(l);
	/* The clean close moved the mark to the end. */
	assert_int_equal(mark_of(dir), n);
	buf_release(&b);
}

static void test_idx_rebuilt_after_power_loss(void **state)
{
	(void)state;
	for (int how = 0; how < 3; how++) {
		char *dir = make_dir();

		const uint64_t every = LEDGER_IDX_SYNC_EVERY, n = 3000 + every + 1000;

		append_unclosed(dir, 3000);
		assert_int_equal(mark_of(dir), 0); /* fewer than `every` since open */
		idx_damage(dir, how, 1500, 3000);
		all_there(dir, 3000);
		/* Past the mark of a longer ledger: `every` synced, the rest not. */
		append_unclosed(dir, n);
		assert_true(mark_of(dir) >= 3000 + every && mark_of(dir) <= n);
		idx_damage(dir, how, n - 500, n);
		all_there(dir, n);
		rm_dir(dir);
	}
}

struct blocked_append {
	struct ledger *l;
	uint64_t idx;
	int r;
	atomic_int done;
};

static void *blocked_append_run(void *arg)
{
	struct blocked_append *ba = arg;
	struct audit_rec r = rec_of("access", "waiting", "{\"waited\":true}");

	ba->r = ledger_append(ba->l, &r, &ba->idx);
	atomic_store(&ba->done, 1);
	return NULL;
}

/* While a live process holds the lock in the middle of an append, the tail
 * looks torn; nobody may repair it then. Appends and opens for writing
 * wait; readers do not. Once the process dies, the tail is repaired. */
static void test_no_repair_while_live(void **state)
{
	char *dir = make_dir();
	struct ledger *a = NULL, *ro = NULL;
	struct blocked_append ba;
	uint64_t log_len;
	pthread_t th;
	int ready[2], st = 0;
	char c;
	pid_t pid;
	(void)state;
	assert_int_equal(ledger_open(dir, LEDGER_WRITE, &a), 0);
	fill(a, 3);
	log_len = fsize(dir, "seg/000000000000.log");
	assert_int_equal(pipe(ready), 0);
	pid = fork_child();
	if (pid == 0) {
		char path[512];
		int fd, log;

		/* What a writer does: lock, then write; here it stops halfway.
		 * (No cmocka asserts in a child: only exit codes.) */
		snprintf(path, sizeof(path), "%s/LOCK", dir);
		fd = open(path, O_RDWR);
		if (fd < 0 || flock(fd, LOCK_EX) != 0)
			_exit(1);
		snprintf(path, sizeof(path), "%s/seg/000000000000.log", dir);
		log = open(path, O_WRONLY | O_APPEND);
		if (log < 0 || write(log, "{\"v\":1,\"index\":3,\"ts", 21) != 21)
			_exit(2);
		if (write(ready[1], "x", 1) != 1)
			_exit(3);
		for (;;)
			pause();
	}
	close(ready[1]);
	read_full(ready[0], &c, 1);
	close(ready[0]);
	ba.l = a;
	ba.r = 1;
	atomic_init(&ba.done, 0);
	assert_int_equal(pthread_create(&th, NULL, blocked_append_run, &ba), 0);
	/* A reader opens and reads at once, and sees the three records. */
	assert_int_equal(ledger_open(dir, LEDGER_READ_ONLY, &ro), 0);
	assert_int_equal(ledger_size(ro), 3);
	usleep(300 * 1000);
	assert_int_equal(atomic_load(&ba.done), 0);
	assert_int_equal(fsize(dir, "seg/000000000000.log"), log_len + 21);
	assert_int_equal(ledger_size(a), 3);
	/* The writer dies: the kernel drops its lock, the waiting append
	 * repairs the tail and goes on. */
	assert_int_equal(kill(pid, SIGKILL), 0);
	st = wait_child(pid);
	assert_true(WIFSIGNALED(st));
	pthread_join(th, NULL);
	assert_int_equal(ba.r, 0);
	assert_int_equal(ba.idx, 3);
	assert_int_equal(ledger_size(ro), 4);
	ledger_close(ro);
	ledger_close(a);
	check_files(dir, 4, NULL, NULL);
	rm_dir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_append_read_reopen),
		cmocka_unit_test(test_reject_bad_records),
		cmocka_unit_test(test_two_writers),
		cmocka_unit_test(test_torn_tail),
		cmocka_unit_test(test_concurrent),
		cmocka_unit_test(test_japanese_body),
		cmocka_unit_test_teardown(test_processes_concurrent, kill_children),
		cmocka_unit_test_teardown(test_sees_other_process, kill_children),
		cmocka_unit_test_teardown(test_killed_writer, kill_children),
		cmocka_unit_test_teardown(test_idx_rebuilt_after_power_loss, kill_children),
		cmocka_unit_test_teardown(test_no_repair_while_live, kill_children),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
