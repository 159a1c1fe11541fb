/* Unit tests for src/ledger: append, read, reopen, validation, locking,
 * torn-tail recovery, concurrent group commit. */
#include "base/base.h"

#include <setjmp.h>
#include <cmocka.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "ledger/ledger.h"

static char *make_dir(void)
{
	char *d = xstrdup("/tmp/mamori-ledger-XXXXXX");

	assert_non_null(mkdtemp(d));
	return d;
}

static void rm_dir(char *d)
{
	const char *names[] = { "records.log", "records.idx", "LOCK" };
	char p[512];

	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		snprintf(p, sizeof(p), "%s/%s", d, names[i]);
		unlink(p);
	}
	rmdir(d);
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
	/* Edge values that are valid: 32-byte kind, 128-byte actor. */
	long_kind[32] = '\0';
	big_actor[128] = '\0';
	ok = rec_of(long_kind, big_actor, "{}");
	assert_int_equal(ledger_append(l, &ok, &idx), 0);
	assert_int_equal(idx, 1);
	ledger_close(l);
	rm_dir(dir);
}

static void test_second_writer_busy(void **state)
{
	char *dir = make_dir();
	struct ledger *a = NULL, *b = NULL, *r = NULL;
	(void)state;
	assert_int_equal(ledger_open(dir, LEDGER_WRITE, &a), 0);
	assert_int_equal(ledger_open(dir, LEDGER_WRITE, &b), ERR_BUSY);
	assert_null(b);
	assert_int_equal(ledger_open(dir, LEDGER_READ_ONLY, &r), 0);
	ledger_close(r);
	ledger_close(a);
	assert_int_equal(ledger_open(dir, LEDGER_WRITE, &b), 0);
	ledger_close(b);
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
	log_len = fsize(dir, "records.log");

	/* A partial line without its newline is cut off. */
	append_raw(dir, "records.log", "{\"v\":1,\"index\":3,\"ts", 21);
	assert_int_equal(ledger_open(dir, LEDGER_WRITE, &l), 0);
	assert_int_equal(ledger_size(l), 3);
	assert_int_equal(fsize(dir, "records.log"), log_len);
	assert_int_equal(ledger_append(l, &r, &idx), 0);
	assert_int_equal(idx, 3);
	ledger_close(l);
	log_len = fsize(dir, "records.log");

	/* A complete line of garbage and a half index entry are cut off too. */
	append_raw(dir, "records.log", "garbage\n", 8);
	append_raw(dir, "records.idx", "\x01\x02\x03", 3);
	assert_int_equal(ledger_open(dir, LEDGER_WRITE, &l), 0);
	assert_int_equal(ledger_size(l), 4);
	assert_int_equal(fsize(dir, "records.log"), log_len);
	assert_int_equal(fsize(dir, "records.idx"), 32);
	ledger_close(l);

	/* An index shorter than the log is rebuilt from the log. */
	{
		char p[512];
		snprintf(p, sizeof(p), "%s/records.idx", dir);
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
	append_raw(dir, "records.idx", "\xff\xff\xff\xff\x00\x00\x00\x00", 8);
	assert_int_equal(ledger_open(dir, LEDGER_WRITE, &l), 0);
	assert_int_equal(ledger_size(l), 5);
	assert_int_equal(fsize(dir, "records.idx"), 40);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_append_read_reopen),
		cmocka_unit_test(test_reject_bad_records),
		cmocka_unit_test(test_second_writer_busy),
		cmocka_unit_test(test_torn_tail),
		cmocka_unit_test(test_concurrent),
		cmocka_unit_test(test_japanese_body),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
