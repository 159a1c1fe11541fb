/*
 * Integration tests of the mamori command: exit codes and messages of
 * init, import, policy and decide, run as the real binary on a temporary
 * instance. The instance holds a small generated municipality plus a
 * hand-written department so that each decision is known in advance.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/base.h"
#include "base/buf.h"
#include "integration/harness.h"

static struct h_instance HI;
static char tdata[600];

static const char *T_SYSTEMS =
    "{\"id\":\"c-sys\",\"name\":\"試験システム\",\"zone\":\"mynumber\",\"confidentiality\":\"3B\"}\n";
static const char *T_DEPARTMENTS =
    "{\"id\":\"C-D1\",\"name\":\"試験課\",\"parent\":null,\"systems\":[\"c-sys\"]}\n";
static const char *T_STAFF =
    "{\"id\":\"C-S1\",\"name\":\"試験 太郎\",\"surname\":\"試験\",\"dept\":\"C-D1\","
    "\"employment\":\"regular\",\"roles\":[\"clerk\"],\"zones\":[\"mynumber\"],"
    "\"start\":\"2020-04-01\",\"end\":null,\"training\":\"2026-01-10\",\"pledge\":\"2020-04-01\"}\n";
static const char *T_RESIDENTS =
    "{\"id\":\"C-R1\",\"surname\":\"佐藤\",\"given\":\"花子\",\"birth\":\"1980-01-01\","
    "\"address_id\":\"C-A1\",\"household_id\":\"C-H1\",\"flags\":[]}\n";
static const char *T_CASES =
    "{\"id\":\"C-C1\",\"resident_id\":\"C-R1\",\"dept\":\"C-D1\",\"kind\":\"certificate\","
    "\"assigned_to\":\"C-S1\",\"opened\":\"2026-03-01T09:00:00+09:00\","
    "\"closed\":\"2026-03-10T12:00:00+09:00\"}\n";

#define RQ_ALLOW                                                                              \
	"{\"staff_id\":\"C-S1\",\"action\":\"view\",\"resident_id\":\"C-R1\",\"system\":\"c-sys\"," \
	"\"zone\":\"mynumber\",\"mfa\":true,\"ts\":\"2026-03-17T12:00:00+09:00\"}"
/* one second past the 7 x 24 h after the case closed: monitor → warn */
#define RQ_WARN                                                                               \
	"{\"staff_id\":\"C-S1\",\"action\":\"view\",\"resident_id\":\"C-R1\",\"system\":\"c-sys\"," \
	"\"zone\":\"mynumber\",\"mfa\":true,\"ts\":\"2026-03-17T12:00:01+09:00\"}"
#define RQ_DENY                                                                               \
	"{\"staff_id\":\"C-S1\",\"action\":\"view\",\"resident_id\":\"C-R1\",\"system\":\"c-sys\"," \
	"\"zone\":\"mynumber\",\"mfa\":false,\"ts\":\"2026-03-17T12:00:00+09:00\"}"

static void write_file(const char *dir, const char *name, const char *text)
{
	char p[700];
	FILE *f;
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	f = fopen(p, "wb");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

/* h_run initialises out and err itself: release what they held first. */
static int run(const char *const *args, const char *in, struct buf *out, struct buf *err)
{
	buf_release(out);
	buf_release(err);
	return h_run(args, in, in ? strlen(in) : 0, out, err);
}

static int setup(void **state)
{
	struct buf out, err;
	int rc;
	(void)state;
	if (h_instance_new(&HI, 500, 20, 1000) < 0)
		return -1;
	snprintf(tdata, sizeof(tdata), "%s-cli", HI.datadir);
	if (mkdir(tdata, 0700) < 0)
		return -1;
	write_file(tdata, "systems.jsonl", T_SYSTEMS);
	write_file(tdata, "departments.jsonl", T_DEPARTMENTS);
	write_file(tdata, "staff.jsonl", T_STAFF);
	write_file(tdata, "residents.jsonl", T_RESIDENTS);
	write_file(tdata, "cases.jsonl", T_CASES);
	buf_init(&out, 1 << 20);
	buf_init(&err, 1 << 20);
	rc = run((const char *const[]){"import", HI.dir, tdata, "--quiet", NULL}, NULL, &out, &err);
	if (rc != 0)
		fprintf(stderr, "import: %s\n", err.data ? err.data : "");
	buf_release(&out);
	buf_release(&err);
	return rc == 0 ? 0 : -1;
}

static void rm_tree(const char *dir)
{
	const char *names[] = {"systems.jsonl", "departments.jsonl", "staff.jsonl",
			       "residents.jsonl", "cases.jsonl", "bad.yaml", "ok.yaml"};
	char p[700];
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
		unlink(p);
	}
	rmdir(dir);
}

static int teardown(void **state)
{
	(void)state;
	rm_tree(tdata);
	h_instance_free(&HI);
	return 0;
}

struct io {
	struct buf out, err;
};

static int io_setup(void **state)
{
	struct io *io = xcalloc(1, sizeof(*io));
	buf_init(&io->out, 16 << 20);
	buf_init(&io->err, 16 << 20);
	*state = io;
	return 0;
}

static int io_teardown(void **state)
{
	struct io *io = *state;
	buf_release(&io->out);
	buf_release(&io->err);
	free(io);
	return 0;
}

static bool has(const struct buf *b, const char *s)
{
	return b->data && strstr(b->data, s);
}

static void test_usage_codes(void **state)
{
	struct io *io = *state;
	assert_int_equal(run((const char *const[]){NULL}, NULL, &io->out, &io->err), 2);
	assert_int_equal(run((const char *const[]){"frobnicate", NULL}, NULL, &io->out, &io->err), 2);
	assert_true(has(&io->err, "frobnicate"));
	assert_int_equal(run((const char *const[]){"--help", NULL}, NULL, &io->out, &io->err), 0);
	assert_true(has(&io->out, "decide"));
	assert_int_equal(run((const char *const[]){"decide", NULL}, NULL, &io->out, &io->err), 2);
	assert_int_equal(run((const char *const[]){"decide", HI.dir, "--bogus", NULL}, NULL, &io->out,
			     &io->err),
			 2);
	assert_int_equal(run((const char *const[]){"policy", NULL}, NULL, &io->out, &io->err), 2);
	assert_int_equal(run((const char *const[]){"policy", "lint", "x", NULL}, NULL, &io->out,
			     &io->err),
			 2);
	assert_int_equal(run((const char *const[]){"decide", "--help", NULL}, NULL, &io->out,
			     &io->err),
			 0);
	assert_true(has(&io->out, "--batch"));
}

static void test_init_refuses_existing(void **state)
{
	struct io *io = *state;
	assert_int_equal(run((const char *const[]){"init", HI.dir, NULL}, NULL, &io->out, &io->err), 1);
	/* and nothing in it changed: it still decides */
	assert_int_equal(run((const char *const[]){"decide", HI.dir, NULL}, RQ_ALLOW, &io->out,
			     &io->err),
			 0);
}

static void test_decide_single(void **state)
{
	struct io *io = *state;
	const char *en[] = {NULL};
	(void)en;
	setenv("MAMORI_LANG", "en", 1);
	assert_int_equal(run((const char *const[]){"decide", HI.dir, NULL}, RQ_ALLOW, &io->out,
			     &io->err),
			 0);
	assert_true(has(&io->out, "{\"decision\":\"allow\",\"obligations\":[],\"reasons\":[],"
				  "\"ledger_index\":"));
	assert_int_equal(run((const char *const[]){"decide", HI.dir, NULL}, RQ_WARN, &io->out,
			     &io->err),
			 0);
	assert_true(has(&io->out, "\"decision\":\"allow\",\"obligations\":[\"alert\"]"));
	assert_true(has(&io->out, "\"code\":\"no_case\",\"effect\":\"warn\""));
	assert_int_equal(run((const char *const[]){"decide", HI.dir, NULL}, RQ_DENY, &io->out,
			     &io->err),
			 3);
	assert_true(has(&io->out, "\"code\":\"mfa_required\",\"effect\":\"deny\""));
	/* malformed requests: exit 2, the field named on stderr, nothing on stdout */
	assert_int_equal(run((const char *const[]){"decide", HI.dir, NULL},
			     "{\"staff_id\":\"C-S1\",\"action\":\"view\"}", &io->out, &io->err),
			 2);
	assert_true(has(&io->err, "field 'system': required"));
	assert_int_equal(io->out.len, 0);
	assert_int_equal(run((const char *const[]){"decide", HI.dir, NULL}, "{not json", &io->out,
			     &io->err),
			 2);
	assert_true(has(&io->err, "not valid JSON"));
	assert_int_equal(run((const char *const[]){"decide", HI.dir, NULL}, "", &io->out, &io->err),
			 2);
	/* Japanese by default */
	setenv("MAMORI_LANG", "ja", 1);
	assert_int_equal(run((const char *const[]){"decide", HI.dir, NULL},
			     "{\"staff_id\":\"C-S1\",\"action\":\"view\"}", &io->out, &io->err),
			 2);
	assert_true(has(&io->err, "フィールド 'system': 必須です"));
	unsetenv("MAMORI_LANG");
}

static long count_lines(const struct buf *b)
{
	long n = 0;
	for (size_t i = 0; i < b->len; i++)
		n += b->data[i] == '\n';
	return n;
}

static void test_decide_batch(void **state)
{
	struct io *io = *state;
	const char *all_allow = RQ_ALLOW "\n" RQ_WARN "\n\n" RQ_ALLOW "\n";
	const char *with_deny = RQ_ALLOW "\n" RQ_DENY "\n";
	const char *with_bad = RQ_ALLOW "\n{\"staff_id\":5}\n" RQ_DENY "\n";
	unsigned long long a = 0, b = 0;
	const char *p;

	assert_int_equal(run((const char *const[]){"decide", HI.dir, "--batch", NULL}, all_allow,
			     &io->out, &io->err),
			 0);
	assert_int_equal(count_lines(&io->out), 3); /* the blank line is skipped */
	/* ledger indexes increase line by line */
	p = strstr(io->out.data, "\"ledger_index\":");
	assert_non_null(p);
	a = strtoull(p + 15, NULL, 10);
	p = strstr(p + 15, "\"ledger_index\":");
	assert_non_null(p);
	b = strtoull(p + 15, NULL, 10);
	assert_int_equal(b, a + 1);

	assert_int_equal(run((const char *const[]){"decide", HI.dir, "--batch", NULL}, with_deny,
			     &io->out, &io->err),
			 3);
	assert_int_equal(count_lines(&io->out), 2);
	assert_true(has(&io->out, "\"decision\":\"deny\""));

	assert_int_equal(run((const char *const[]){"decide", HI.dir, "--batch", NULL}, with_bad,
			     &io->out, &io->err),
			 2);
	/* every line answered, in order: the bad one as an error line */
	assert_int_equal(count_lines(&io->out), 3);
	assert_true(has(&io->out, "\n{\"error\":{\"line\":2,\"code\":\"invalid\",\"detail\":"));
	assert_true(has(&io->err, "stdin:2:"));
}

static void test_policy_check_and_show(void **state)
{
	struct io *io = *state;
	char ok[700], bad[700], pol[700];
	snprintf(pol, sizeof(pol), "%s/policy.yaml", HI.dir);
	snprintf(ok, sizeof(ok), "%s/ok.yaml", tdata);
	snprintf(bad, sizeof(bad), "%s/bad.yaml", tdata);
	setenv("MAMORI_LANG", "en", 1);
	assert_int_equal(run((const char *const[]){"policy", "check", pol, NULL}, NULL, &io->out,
			     &io->err),
			 0);
	assert_int_equal(run((const char *const[]){"policy", "show", HI.dir, NULL}, NULL, &io->out,
			     &io->err),
			 0);
	assert_true(has(&io->out, "max_age_days: 365"));
	/* what show prints is itself a valid policy */
	write_file(tdata, "ok.yaml", io->out.data);
	assert_int_equal(run((const char *const[]){"policy", "check", ok, NULL}, NULL, &io->out,
			     &io->err),
			 0);
	write_file(tdata, "bad.yaml",
		   "version: 1\nzones:\n  - {id: mynumber, mfa: always}\nroles: [{id: clerk}]\n"
		   "actions: {search: {roles: [clerk]}, view: {roles: [clerk]}, update: {roles: [clerk]},"
		   " print: {roles: [clerk]}, export: {roles: [clerk, boss]}}\nrules: []\n");
	assert_int_equal(run((const char *const[]){"policy", "check", bad, NULL}, NULL, &io->out,
			     &io->err),
			 1);
	assert_true(has(&io->err, "bad.yaml:3:25: field 'mfa': must be required or optional"));
	assert_true(has(&io->err, "bad.yaml:5:"));
	assert_true(has(&io->err, "role 'boss' is not defined under roles"));
	assert_true(has(&io->err, "a rule with check known_staff is required"));
	assert_int_equal(run((const char *const[]){"policy", "check", "/nonexistent/p.yaml", NULL},
			 NULL, &io->out, &io->err),
			 1);
	unsetenv("MAMORI_LANG");
}

/* A broken policy in the instance: decide refuses to run rather than
 * decide on something else. */
static void test_broken_instance_policy(void **state)
{
	struct io *io = *state;
	char pol[700], saved[700];
	snprintf(pol, sizeof(pol), "%s/policy.yaml", HI.dir);
	snprintf(saved, sizeof(saved), "%s/policy.yaml.saved", HI.dir);
	assert_int_equal(rename(pol, saved), 0);
	write_file(HI.dir, "policy.yaml", "version: 1\nrules: [\n");
	assert_int_equal(run((const char *const[]){"decide", HI.dir, NULL}, RQ_ALLOW, &io->out,
			     &io->err),
			 1);
	assert_true(has(&io->err, "policy.yaml:"));
	assert_int_equal(io->out.len, 0);
	assert_int_equal(rename(saved, pol), 0);
	assert_int_equal(run((const char *const[]){"decide", HI.dir, NULL}, RQ_ALLOW, &io->out,
			     &io->err),
			 0);
}

static void test_import_errors(void **state)
{
	struct io *io = *state;
	char bad[700];
	snprintf(bad, sizeof(bad), "%s-bad", HI.datadir);
	assert_int_equal(mkdir(bad, 0700), 0);
	write_file(bad, "staff.jsonl",
		   "{\"id\":\"X1\",\"name\":\"a\",\"surname\":\"a\",\"dept\":\"C-D1\",\"employment\":"
		   "\"forever\",\"roles\":[],\"zones\":[],\"start\":\"2020-13-01\",\"end\":null,"
		   "\"training\":null,\"pledge\":null}\n");
	setenv("MAMORI_LANG", "en", 1);
	assert_int_equal(run((const char *const[]){"import", HI.dir, bad, "--quiet", NULL}, NULL,
			     &io->out, &io->err),
			 1);
	assert_true(has(&io->err, "staff.jsonl:1: field 'employment'"));
	assert_true(has(&io->err, "staff.jsonl:1: field 'start'"));
	unsetenv("MAMORI_LANG");
	/* nothing was written: X1 is unknown to decide */
	assert_int_equal(run((const char *const[]){"decide", HI.dir, NULL},
			     "{\"staff_id\":\"X1\",\"action\":\"search\",\"system\":\"c-sys\","
			     "\"zone\":\"mynumber\",\"mfa\":true}",
			     &io->out, &io->err),
			 3);
	assert_true(has(&io->out, "unknown_staff"));
	rm_tree(bad);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_usage_codes, io_setup, io_teardown),
	    cmocka_unit_test_setup_teardown(test_init_refuses_existing, io_setup, io_teardown),
	    cmocka_unit_test_setup_teardown(test_decide_single, io_setup, io_teardown),
	    cmocka_unit_test_setup_teardown(test_decide_batch, io_setup, io_teardown),
	    cmocka_unit_test_setup_teardown(test_policy_check_and_show, io_setup, io_teardown),
	    cmocka_unit_test_setup_teardown(test_broken_instance_policy, io_setup, io_teardown),
	    cmocka_unit_test_setup_teardown(test_import_errors, io_setup, io_teardown),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
