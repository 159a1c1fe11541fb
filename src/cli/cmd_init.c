/*
 * cmd_init.c - `mamori init DIR [--name NAME]`
 */
#include "base/base.h"
#include "base/diag.h"
#include "base/i18n.h"
#include "cli/cli.h"
#include "instance/instance.h"

static void init_usage(FILE *f)
{
	fprintf(f, "%s",
		T("使い方: mamori init DIR [--name 自治体名]\n"
		  "  DIR にインスタンス（データベース、ポリシー、署名鍵、台帳、設定）を作成します。\n"
		  "  既存のインスタンスや空でないディレクトリには手を触れません。\n",
		  "usage: mamori init DIR [--name NAME]\n"
		  "  Creates an instance in DIR: database, policy, signing key, ledger, config.\n"
		  "  Refuses to touch an existing instance or a non-empty directory.\n"));
}

int cmd_init(int argc, char **argv)
{
	const char *name = NULL, *help = NULL;
	struct cli_opt opts[] = {{"name", true, &name}, {"help", false, &help}};
	char *pos[1];
	struct diag d;
	int n, r;

	n = cli_parse(argc, argv, opts, ARRAY_SIZE(opts), pos, 1);
	if (help) {
		init_usage(stdout);
		return EXIT_OK;
	}
	if (n != 1) {
		init_usage(stderr);
		return EXIT_USAGE;
	}
	diag_init(&d, 50);
	r = instance_init(pos[0], name, &d);
	if (r < 0) {
		diag_print(&d, stderr);
		diag_release(&d);
		return EXIT_FAIL;
	}
	diag_release(&d);
	printf(T("インスタンスを作成しました: %s\n"
		 "  設定      %s/mamori.conf\n"
		 "  ポリシー  %s/policy.yaml\n"
		 "  署名鍵    %s/keys/signing.key（モード 0600）\n"
		 "次は: mamori import %s DATADIR\n",
		 "created instance: %s\n"
		 "  config    %s/mamori.conf\n"
		 "  policy    %s/policy.yaml\n"
		 "  key       %s/keys/signing.key (mode 0600)\n"
		 "next: mamori import %s DATADIR\n"),
	       pos[0], pos[0], pos[0], pos[0], pos[0]);
	return EXIT_OK;
}
