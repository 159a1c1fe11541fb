/*
 * cmd_policy.c - `mamori policy check FILE` and `mamori policy show DIR`.
 */
#include "base/base.h"

#include "base/buf.h"
#include "base/diag.h"
#include "base/i18n.h"
#include "cli/cli.h"
#include "instance/instance.h"
#include "policy/policy.h"

static void policy_usage(FILE *f)
{
	fprintf(f, "%s",
		T("使い方: mamori policy check FILE\n"
		  "       mamori policy show DIR\n"
		  "  check  ポリシーファイルを検査し、すべての誤りを行と列つきで示します。\n"
		  "  show   インスタンス DIR の有効なポリシー（既定値を補ったもの）を表示します。\n"
		  "終了コード: 0 正常、1 ポリシーの誤りまたは失敗、2 使い方の誤り\n",
		  "usage: mamori policy check FILE\n"
		  "       mamori policy show DIR\n"
		  "  check  check a policy file and report every error with line and column\n"
		  "  show   print the effective policy of instance DIR, defaults filled in\n"
		  "exit status: 0 valid, 1 invalid policy or failure, 2 usage error\n"));
}

static int policy_check_cmd(const char *file)
{
	struct policy *p = NULL;
	struct diag d;
	int r;

	diag_init(&d, 200);
	r = policy_load_file(file, &p, &d);
	diag_print(&d, stderr);
	diag_release(&d);
	if (r < 0) {
		cli_error(T("%s: ポリシーに誤りがあります。読み込まれません。",
			    "%s: the policy is not valid and would not be loaded."),
			  file);
		return EXIT_FAIL;
	}
	printf(T("%s: 正常です\n", "%s: valid\n"), file);
	policy_free(p);
	return EXIT_OK;
}

static int policy_show_cmd(const char *dir)
{
	struct instance *in = NULL;
	struct policy *p = NULL;
	struct buf path, out;
	struct diag d;
	int rc = EXIT_FAIL;

	diag_init(&d, 100);
	buf_init(&path, 4096);
	buf_init(&out, (size_t)16 << 20);
	if (instance_open(dir, INSTANCE_READ_ONLY, &in, &d) < 0)
		goto out;
	if (instance_path(in, instance_config(in)->policy, &path) < 0)
		goto out;
	if (policy_load_file(path.data, &p, &d) < 0)
		goto out;
	if (policy_show(p, &out) < 0) {
		cli_error("%s", err_msg(ERR_TOO_LARGE));
		goto out;
	}
	printf(T("# 有効なポリシー: %s（既定値を補って表示）\n",
		 "# effective policy: %s (defaults filled in)\n"),
	       path.data);
	fwrite(out.data, 1, out.len, stdout);
	rc = EXIT_OK;
out:
	diag_print(&d, stderr);
	diag_release(&d);
	policy_free(p);
	instance_close(in);
	buf_release(&out);
	buf_release(&path);
	return rc;
}

int cmd_policy(int argc, char **argv)
{
	const char *help = NULL;
	struct cli_opt opts[] = {{"help", false, &help}};
	char *pos[2];
	int n = cli_parse(argc, argv, opts, ARRAY_SIZE(opts), pos, 2);

	if (help && n >= 0) {
		policy_usage(stdout);
		return EXIT_OK;
	}
	if (n == 2 && !strcmp(pos[0], "check"))
		return policy_check_cmd(pos[1]);
	if (n == 2 && !strcmp(pos[0], "show"))
		return policy_show_cmd(pos[1]);
	policy_usage(stderr);
	return EXIT_USAGE;
}
