/* Unit tests for src/instance: configuration, init, refusal to overwrite. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/base.h"
#include "base/buf.h"
#include "base/diag.h"
#include "base/i18n.h"
#include "instance/instance.h"
#include "instance/instance_int.h"
#include "ledger/ledger.h"

static void test_config_ok(void **state)
{
	const char *t = "# c\nname = 札幌市\n  listen = 127.0.0.1:9000  \nthreads=8\n"
			"max_body = 2048\ntimeout = 5\n\n";
	struct instance_config c;
	struct diag d;
	(void)state;
	diag_init(&d, 10);
	assert_int_equal(instance_config_parse("m.conf", t, strlen(t), &c, &d), 0);
	assert_string_equal(c.name, "札幌市");
	assert_string_equal(c.listen, "127.0.0.1:9000");
	assert_int_equal(c.threads, 8);
	assert_int_equal(c.max_body, 2048);
	assert_int_equal(c.timeout_sec, 5);
	assert_string_equal(c.database, "mamori.db");
	/* Unset keys keep their defaults: 16 workers (docs/config.md). */
	assert_int_equal(instance_config_parse("m.conf", "name = x\n", 9, &c, &d), 0);
	assert_int_equal(c.threads, 16);
	diag_release(&d);
}

static void test_config_errors(void **state)
{
	const char *t = "name = x\nthreads = 0\ncolour = blue\nnot a pair\nmax_body = 12x\n";
	struct instance_config c;
	struct diag d;
	struct buf b;
	(void)state;
	i18n_set_thread(LANG_EN);
	diag_init(&d, 10);
	assert_int_equal(instance_config_parse("m.conf", t, strlen(t), &c, &d), ERR_INVALID);
	assert_int_equal(d.errors, 4);
	assert_int_equal(d.items[0].line, 2);
	assert_int_equal(d.items[1].line, 3);
	assert_non_null(strstr(d.items[1].msg, "unknown key 'colour'"));
	assert_int_equal(d.items[2].line, 4);
	assert_int_equal(d.items[3].line, 5);
	buf_init(&b, 1024);
	assert_int_equal(diag_item_format(&d.items[0], &b), 0);
	assert_true(strncmp(b.data, "m.conf:2:", 9) == 0);
	buf_release(&b);
	diag_release(&d);
	i18n_clear_thread();
}

static void test_init_and_refuse(void **state)
{
	char tmpl[] = "/tmp/mamori-test-XXXXXX";
	char dir[600], path[700];
	struct diag d;
	struct stat sb;
	struct instance *in = NULL;
	(void)state;
	assert_non_null(mkdtemp(tmpl));
	snprintf(dir, sizeof(dir), "%s/inst", tmpl);
	diag_init(&d, 10);
	assert_int_equal(instance_init(dir, "テスト市", &d), 0);
	/* The signing key is readable by its owner only. */
	snprintf(path, sizeof(path), "%s/keys/signing.key", dir);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	snprintf(path, sizeof(path), "%s/mamori.db", dir);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0077, 0);
	/* So is the instance directory (who looked at whom, evidence). */
	assert_int_equal(stat(dir, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0700);
	/* A second init refuses and changes nothing. */
	assert_int_equal(instance_init(dir, NULL, &d), ERR_EXISTS);
	diag_release(&d);
	diag_init(&d, 10);
	assert_int_equal(instance_open(dir, INSTANCE_WRITE, &in, &d), 0);
	assert_string_equal(instance_config(in)->name, "テスト市");
	/* init recorded itself in the ledger. */
	assert_true(ledger_size(instance_ledger(in)) >= 1);
	instance_close(in);
	/* A non-instance directory is not opened. */
	assert_int_equal(instance_open(tmpl, INSTANCE_WRITE, &in, &d), ERR_NOT_FOUND);
	assert_null(in);
	diag_release(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_ok),
		cmocka_unit_test(test_config_errors),
		cmocka_unit_test(test_init_and_refuse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
