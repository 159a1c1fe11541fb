/*
 * Integration tests of `mamori audit DIR` over the ledger: a small
 * generated municipality is ingested, and the audit of the ledger must
 * give the same alerts as the audit of the file; --from/--to restrict by
 * event time; decisions count as accesses; events that reach the ledger
 * out of order are put back in order (up to a day late) and later ones
 * are reported; the policy file's watch: section sets the thresholds.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/base.h"
#include "base/buf.h"
#include "integration/harness.h"
#include "ledger/ledger.h"

static struct h_instance HI;

/* ---- helpers ---- */

static int write_text(const char *path, const char *s, size_t n)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return -1;
	if (fwrite(s, 1, n, f) != n) {
		fclose(f);
		return -1;
	}
	return fclose(f) == 0 ? 0 : -1;
}

static char *read_text(const char *path)
{
	FILE *f = fopen(path, "rb");
	struct buf b;
	char chunk[65536];
	size_t n;
	if (!f)
		return NULL;
	buf_init(&b, (size_t)1 << 28);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		assert_int_equal(buf_append(&b, chunk, n), 0);
	fclose(f);
	assert_int_equal(buf_append(&b, "", 0), 0);
	return b.data;
}

static uint64_t ledger_count(void)
{
	char path[700];
	struct ledger *l = NULL;
	uint64_t n;
	snprintf(path, sizeof(path), "%s/ledger", HI.dir);
	assert_int_equal(ledger_open(path, LEDGER_READ_ONLY, &l), 0);
	n = ledger_size(l);
	ledger_close(l);
	return n;
}

/*
 * Run `mamori audit` with the arguments given after DIR; the alerts
 * (stdout) go to out, with each alert's "lines":[...] or "indexes":[...]
 * removed so that a file audit and a ledger audit compare; the summary
 * (stderr) goes to err. Returns the exit status.
 */
static int audit(struct buf *out, struct buf *err, const char *a1, const char *a2,
		 const char *a3, const char *a4, const char *a5)
{
	const char *a[] = {"audit", HI.dir, "--json", a1, a2, a3, a4, a5, NULL};
	struct buf o;
	int rc = h_run(a, NULL, 0, &o, err);
	buf_init(out, (size_t)1 << 28);
	for (const char *p = o.data ? o.data : ""; *p;) {
		const char *k = strstr(p, ",\"lines\":[");
		const char *k2 = strstr(p, ",\"indexes\":[");
		const char *e;
		if (!k || (k2 && k2 < k))
			k = k2;
		if (!k) {
			assert_int_equal(buf_puts(out, p), 0);
			break;
		}
		assert_int_equal(buf_append(out, p, (size_t)(k - p)), 0);
		e = strchr(k, ']');
		assert_non_null(e);
		p = e + 1;
	}
	assert_int_equal(buf_append(out, "", 0), 0);
	buf_release(&o);
	return rc;
}

static size_t count_lines(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void ingest_text(const char *name, const char *text)
{
	char path[700];
	struct buf o, e;
	snprintf(path, sizeof(path), "%s/%s", HI.datadir, name);
	assert_int_equal(write_text(path, text, strlen(text)), 0);
	{
		const char *a[] = {"ingest", HI.dir, path, "--quiet", NULL};
		int rc = h_run(a, NULL, 0, &o, &e);
		if (rc != 0)
			fail_msg("ingest %s: %s", name, e.data ? e.data : "");
	}
	buf_release(&o);
	buf_release(&e);
}

/* One access event, as a business system reports it. */
static void event(struct buf *b, const char *ts, const char *staff, const char *resident,
		  const char *action, const char *ref)
{
	assert_int_equal(buf_printf(b,
				    "{\"ts\":\"%s\",\"staff_id\":\"%s\",\"resident_id\":\"%s\","
				    "\"system\":\"juki\",\"action\":\"%s\",\"zone\":\"mynumber\","
				    "\"result\":\"ok\",\"ref\":\"%s\"}\n",
				    ts, staff, resident, action, ref),
			 0);
}

/* ---- tests ---- */

/* The ledger holds exactly the generated events: same alerts as the file. */
static void test_ledger_equals_file(void **state)
{
	char events[700], labels[700];
	struct buf fo, fe, lo, le;
	(void)state;
	snprintf(events, sizeof(events), "%s/access.jsonl", HI.datadir);
	snprintf(labels, sizeof(labels), "%s/labels.jsonl", HI.datadir);
	{
		struct buf o, e;
		const char *a[] = {"ingest", HI.dir, events, "--quiet", NULL};
		assert_int_equal(h_run(a, NULL, 0, &o, &e), 0);
		buf_release(&o);
		buf_release(&e);
	}
	assert_int_equal(audit(&fo, &fe, "--events", events, "--labels", labels, NULL), 0);
	assert_int_equal(audit(&lo, &le, "--labels", labels, NULL, NULL, NULL), 0);
	/* Something to compare: the generator injects misuse of every kind. */
	assert_true(count_lines(fo.data) >= 20);
	assert_non_null(strstr(fo.data, "\"code\":\"W-DV-SUPPORT\""));
	assert_non_null(strstr(fo.data, "\"code\":\"W-UNEXPLAINED\""));
	assert_string_equal(fo.data, lo.data);
	/* The same counts and quality: the summaries agree line for line
	 * once the ledger's own line is set aside. */
	{
		const char *s = strstr(le.data, "ledger records: ");
		const char *nl;
		assert_non_null(s);
		assert_non_null(strstr(s, " access events, 0 decisions, 0 outside the period"));
		nl = strchr(s, '\n');
		assert_non_null(nl);
		assert_string_equal(fe.data, nl + 1);
		assert_non_null(strstr(fe.data, "overall"));
	}
	/* Ledger mode names events by ledger index. */
	{
		const char *a[] = {"audit", HI.dir, "--json", NULL};
		struct buf o, e;
		assert_int_equal(h_run(a, NULL, 0, &o, &e), 0);
		assert_non_null(strstr(o.data, "\"indexes\":["));
		assert_null(strstr(o.data, "\"lines\":["));
		buf_release(&o);
		buf_release(&e);
	}
	buf_release(&fo);
	buf_release(&fe);
	buf_release(&lo);
	buf_release(&le);
}

/* --from/--to keep the alerts of those days and only those: each day is
 * audited on its own, so they are the full audit's alerts of those days. */
static void test_period(void **state)
{
	struct buf all, e, part, want;
	(void)state;
	assert_int_equal(audit(&all, &e, "--to", "2026-12-31", NULL, NULL, NULL), 0);
	buf_release(&e);
	assert_int_equal(audit(&part, &e, "--from", "2026-04-02", "--to", "2026-04-03", NULL), 0);
	assert_non_null(strstr(e.data, "outside the period"));
	assert_null(strstr(e.data, " 0 outside the period"));
	buf_release(&e);
	buf_init(&want, (size_t)1 << 28);
	for (const char *p = all.data; *p;) {
		const char *nl = strchr(p, '\n');
		assert_non_null(nl);
		const char *day = strstr(p, "\"day\":\"");
		assert_true(day && day < nl);
		day += strlen("\"day\":\"");
		if (!strncmp(day, "2026-04-02\"", 11) || !strncmp(day, "2026-04-03\"", 11))
			assert_int_equal(buf_append(&want, p, (size_t)(nl - p + 1)), 0);
		p = nl + 1;
	}
	assert_int_equal(buf_append(&want, "", 0), 0);
	assert_true(count_lines(want.data) >= 2);
	assert_true(count_lines(want.data) < count_lines(all.data));
	assert_string_equal(part.data, want.data);
	buf_release(&part);
	/* One day: its edges. */
	assert_int_equal(audit(&part, &e, "--from", "2026-04-02", "--to", "2026-04-02", NULL), 0);
	assert_true(count_lines(part.data) >= 1);
	assert_null(strstr(part.data, "\"day\":\"2026-04-01\""));
	assert_null(strstr(part.data, "\"day\":\"2026-04-03\""));
	buf_release(&part);
	buf_release(&e);
	/* A period with no event: no alert, success. */
	assert_int_equal(audit(&part, &e, "--from", "2030-01-01", NULL, NULL, NULL), 0);
	assert_string_equal(part.data, "");
	assert_non_null(strstr(e.data, " 0 access events"));
	buf_release(&part);
	buf_release(&e);
	buf_release(&all);
	buf_release(&want);
}

static void test_bad_dates(void **state)
{
	struct buf o, e;
	(void)state;
	assert_int_equal(audit(&o, &e, "--from", "2026-13-01", NULL, NULL, NULL), 2);
	assert_non_null(strstr(e.data, "--from '2026-13-01': not a date (write it as YYYY-MM-DD)"));
	buf_release(&o);
	buf_release(&e);
	assert_int_equal(audit(&o, &e, "--to", "yesterday", NULL, NULL, NULL), 2);
	assert_non_null(strstr(e.data, "--to 'yesterday': not a date"));
	buf_release(&o);
	buf_release(&e);
	assert_int_equal(audit(&o, &e, "--to", "2026-02-29", NULL, NULL, NULL), 2);
	assert_non_null(strstr(e.data, "not a date"));
	buf_release(&o);
	buf_release(&e);
	assert_int_equal(audit(&o, &e, "--from", "2026-04-05", "--to", "2026-04-04", NULL), 2);
	assert_non_null(strstr(e.data, "--from 2026-04-05 is after --to 2026-04-04"));
	buf_release(&o);
	buf_release(&e);
	assert_int_equal(audit(&o, &e, "--events", "x.jsonl", "--from", "2026-04-01", NULL), 2);
	assert_non_null(strstr(e.data, "--from and --to apply to the ledger only"));
	buf_release(&o);
	buf_release(&e);
	assert_int_equal(audit(&o, &e, "--from", NULL, NULL, NULL, NULL), 2);
	buf_release(&o);
	buf_release(&e);
}

/* A decision recorded by `mamori decide` is an access like any other. */
static void test_decision_counts(void **state)
{
	static const char req[] =
		"{\"staff_id\":\"S00001\",\"resident_id\":\"R0000001\",\"system\":\"juki\","
		"\"action\":\"view\",\"zone\":\"mynumber\",\"terminal\":\"T00001\",\"mfa\":true,"
		"\"ts\":\"2026-12-06T22:10:00+09:00\"}";
	const char *a[] = {"decide", HI.dir, NULL};
	struct buf o, e;
	char want[64];
	uint64_t index;
	(void)state;
	{
		/* Exit status 0 allow, 3 deny: either way it is recorded. */
		int rc = h_run(a, req, strlen(req), &o, &e);
		assert_true(rc == 0 || rc == 3);
		assert_non_null(strstr(o.data, "\"ledger_index\":"));
	}
	buf_release(&o);
	buf_release(&e);
	index = ledger_count() - 1;
	{
		const char *b[] = {"audit", HI.dir, "--json", "--from", "2026-12-06", "--to",
				   "2026-12-06", NULL};
		assert_int_equal(h_run(b, NULL, 0, &o, &e), 0);
	}
	/* A Sunday night, no overtime: off hours, naming the decision. */
	assert_non_null(strstr(o.data, "\"code\":\"W-OFF-HOURS\""));
	snprintf(want, sizeof(want), "\"indexes\":[%" PRIu64 "]", index);
	assert_non_null(strstr(o.data, want));
	assert_non_null(strstr(o.data, "\"day\":\"2026-12-06\""));
	assert_non_null(strstr(e.data, " 0 access events, 1 decisions"));
	buf_release(&o);
	buf_release(&e);
}

/* Events that reach the ledger out of order, by up to a day, are audited
 * in the order they happened: the same alerts as the file in time order. */
static void test_out_of_order(void **state)
{
	struct buf sorted, shuffled, fo, fe, lo, le;
	char path[700];
	(void)state;
	buf_init(&sorted, 1 << 20);
	buf_init(&shuffled, 1 << 20);
	/* Thursday and Friday; S00002 looks at records with no case, once
	 * before opening hours, and exports. */
	event(&sorted, "2026-12-10T08:00:00+09:00", "S00002", "R0000003", "view", "X1");
	event(&sorted, "2026-12-10T10:05:00+09:00", "S00002", "R0000004", "view", "X2");
	event(&sorted, "2026-12-10T10:06:00+09:00", "S00002", "R0000005", "print", "X3");
	event(&sorted, "2026-12-11T09:30:00+09:00", "S00002", "R0000006", "view", "X4");
	event(&sorted, "2026-12-11T10:00:00+09:00", "S00002", "R0000007", "view", "X5");
	event(&shuffled, "2026-12-11T10:00:00+09:00", "S00002", "R0000007", "view", "X5");
	event(&shuffled, "2026-12-10T10:06:00+09:00", "S00002", "R0000005", "print", "X3");
	event(&shuffled, "2026-12-10T08:00:00+09:00", "S00002", "R0000003", "view", "X1");
	event(&shuffled, "2026-12-11T09:30:00+09:00", "S00002", "R0000006", "view", "X4");
	event(&shuffled, "2026-12-10T10:05:00+09:00", "S00002", "R0000004", "view", "X2");
	ingest_text("shuffled.jsonl", shuffled.data);
	snprintf(path, sizeof(path), "%s/sorted.jsonl", HI.datadir);
	assert_int_equal(write_text(path, sorted.data, sorted.len), 0);
	assert_int_equal(audit(&fo, &fe, "--events", path, NULL, NULL, NULL), 0);
	assert_int_equal(audit(&lo, &le, "--from", "2026-12-10", "--to", "2026-12-11", NULL), 0);
	assert_non_null(strstr(fo.data, "\"refs\":[\"X1\",\"X2\",\"X3\"]"));
	assert_non_null(strstr(fo.data, "\"code\":\"W-OFF-HOURS\""));
	assert_string_equal(fo.data, lo.data);
	assert_non_null(strstr(le.data, " 5 access events"));
	buf_release(&fo);
	buf_release(&fe);
	buf_release(&lo);
	buf_release(&le);
	buf_release(&sorted);
	buf_release(&shuffled);
}

/* The thresholds are the policy file's: office hours moved to 10:00. */
static void test_policy_thresholds(void **state)
{
	char path[700];
	char *orig, *at;
	struct buf pol, o, e;
	(void)state;
	/* A Thursday, 09:30: inside the default office hours. */
	buf_init(&o, 4096);
	event(&o, "2026-12-17T09:30:00+09:00", "S00003", "R0000008", "search", "Y1");
	ingest_text("y.jsonl", o.data);
	buf_release(&o);
	assert_int_equal(audit(&o, &e, "--from", "2026-12-17", "--to", "2026-12-17", NULL), 0);
	assert_null(strstr(o.data, "W-OFF-HOURS"));
	buf_release(&o);
	buf_release(&e);

	snprintf(path, sizeof(path), "%s/policy.yaml", HI.dir);
	orig = read_text(path);
	assert_non_null(orig);
	at = strstr(orig, "version: 1\n");
	assert_non_null(at);
	at += strlen("version: 1\n");
	buf_init(&pol, 1 << 20);
	assert_int_equal(buf_append(&pol, orig, (size_t)(at - orig)), 0);
	assert_int_equal(buf_puts(&pol, "watch:\n  office_open: \"10:00\"\n"), 0);
	assert_int_equal(buf_puts(&pol, at), 0);
	assert_int_equal(write_text(path, pol.data, pol.len), 0);
	assert_int_equal(audit(&o, &e, "--from", "2026-12-17", "--to", "2026-12-17", NULL), 0);
	assert_non_null(strstr(o.data, "\"code\":\"W-OFF-HOURS\""));
	assert_non_null(strstr(o.data, "\"refs\":[\"Y1\"]"));
	buf_release(&o);
	buf_release(&e);

	/* A bad section: the audit refuses, naming the place. */
	buf_reset(&pol);
	assert_int_equal(buf_append(&pol, orig, (size_t)(at - orig)), 0);
	assert_int_equal(buf_puts(&pol, "watch:\n  office_open: \"9:00\"\n"), 0);
	assert_int_equal(buf_puts(&pol, at), 0);
	assert_int_equal(write_text(path, pol.data, pol.len), 0);
	assert_int_equal(audit(&o, &e, "--from", "2026-12-17", NULL, NULL, NULL), 1);
	assert_non_null(strstr(e.data, "policy.yaml:"));
	assert_non_null(strstr(e.data, "field 'office_open': must be a time HH:MM"));
	buf_release(&o);
	buf_release(&e);

	assert_int_equal(write_text(path, orig, strlen(orig)), 0);
	free(orig);
	buf_release(&pol);
}

/* Lines of s, sorted, as one string: to compare alerts in any order. */
static char *sorted_lines(const char *s)
{
	size_t n = count_lines(s), k = 0;
	char **v = calloc(n + 1, sizeof(*v));
	char *copy = strdup(s), *p = copy, *out;
	struct buf b;
	assert_non_null(v);
	assert_non_null(copy);
	while (*p) {
		char *nl = strchr(p, '\n');
		assert_non_null(nl);
		*nl = '\0';
		v[k++] = p;
		p = nl + 1;
	}
	for (size_t i = 1; i < k; i++)
		for (size_t j = i; j > 0 && strcmp(v[j - 1], v[j]) > 0; j--) {
			char *t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	buf_init(&b, (size_t)1 << 28);
	for (size_t i = 0; i < k; i++)
		assert_int_equal(buf_printf(&b, "%s\n", v[i]), 0);
	assert_int_equal(buf_append(&b, "", 0), 0);
	out = b.data;
	free(v);
	free(copy);
	return out;
}

/* An event that reaches the ledger days after later days' events is
 * audited with its own day, not lost and not an error. */
static void test_late_event(void **state)
{
	struct buf b, o, e, fo, fe;
	char path[700], *x, *y;
	(void)state;
	buf_init(&b, 4096);
	event(&b, "2026-12-21T10:00:00+09:00", "S00004", "R0000009", "view", "Z1");
	event(&b, "2026-12-23T10:00:00+09:00", "S00004", "R0000010", "view", "Z2");
	event(&b, "2026-12-24T10:00:00+09:00", "S00004", "R0000011", "view", "Z3");
	ingest_text("late1.jsonl", b.data);
	buf_release(&b);
	buf_init(&b, 4096);
	/* Three days late, after the 12-24 event. */
	event(&b, "2026-12-21T11:00:00+09:00", "S00004", "R0000014", "view", "Z6");
	ingest_text("late2.jsonl", b.data);
	buf_release(&b);
	assert_int_equal(audit(&o, &e, "--from", "2026-12-21", "--to", "2026-12-24", NULL), 0);
	/* Both 12-21 views are in that day's alert, in time order. */
	assert_non_null(strstr(o.data, "\"refs\":[\"Z1\",\"Z6\"]"));
	assert_non_null(strstr(e.data, "1 days had events recorded after later days'"));
	/* The same alerts as the file in time order (the order of the
	 * alerts differs: the late day's come last). */
	buf_init(&b, 4096);
	event(&b, "2026-12-21T10:00:00+09:00", "S00004", "R0000009", "view", "Z1");
	event(&b, "2026-12-21T11:00:00+09:00", "S00004", "R0000014", "view", "Z6");
	event(&b, "2026-12-23T10:00:00+09:00", "S00004", "R0000010", "view", "Z2");
	event(&b, "2026-12-24T10:00:00+09:00", "S00004", "R0000011", "view", "Z3");
	snprintf(path, sizeof(path), "%s/late-sorted.jsonl", HI.datadir);
	assert_int_equal(write_text(path, b.data, b.len), 0);
	buf_release(&b);
	assert_int_equal(audit(&fo, &fe, "--events", path, NULL, NULL, NULL), 0);
	assert_true(count_lines(fo.data) >= 3);
	x = sorted_lines(fo.data);
	y = sorted_lines(o.data);
	assert_string_equal(x, y);
	free(x);
	free(y);
	/* The late day's alerts come out of day order, after those of the
	 * days already closed when it completed (12-23). */
	assert_non_null(strstr(o.data, "\"day\":\"2026-12-23\""));
	assert_true(strstr(o.data, "\"day\":\"2026-12-21\"") > strstr(o.data, "\"day\":\"2026-12-23\""));
	buf_release(&o);
	buf_release(&e);
	buf_release(&fo);
	buf_release(&fe);
	/* A period that leaves the late day out does not hold it. */
	assert_int_equal(audit(&o, &e, "--from", "2026-12-22", "--to", "2026-12-23", NULL), 0);
	assert_non_null(strstr(o.data, "\"refs\":[\"Z2\"]"));
	assert_null(strstr(o.data, "Z1"));
	assert_null(strstr(e.data, "audited on their own"));
	buf_release(&o);
	buf_release(&e);
}

static int group_setup(void **state)
{
	(void)state;
	setenv("MAMORI_LANG", "en", 1);
	if (h_instance_new(&HI, 1500, 40, 12000) < 0) {
		h_instance_free(&HI);
		return -1;
	}
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	h_instance_free(&HI);
	return 0;
}

int main(void)
{
	/* In this order: the first compares the whole ledger with the file,
	 * the later ones add records of their own days. */
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ledger_equals_file), cmocka_unit_test(test_period),
	    cmocka_unit_test(test_bad_dates),	       cmocka_unit_test(test_decision_counts),
	    cmocka_unit_test(test_out_of_order),       cmocka_unit_test(test_policy_thresholds),
	    cmocka_unit_test(test_late_event),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
