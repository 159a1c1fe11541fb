/*
 * main.c - the `mamori` command: dispatch to subcommands.
 */
#include <unistd.h>

#include "base/base.h"
#include "base/i18n.h"
#include "cli/cli.h"

struct subcommand {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *ja, *en;
};

static const struct subcommand subcommands[] = {
	{"init", cmd_init, "インスタンスを作成する", "create an instance directory"},
	{"gen", cmd_gen, "合成データ（架空の自治体）を生成する",
	 "generate a synthetic municipality"},
	{"import", cmd_import, "台帳データを取り込む", "import registry data files"},
	{"policy", cmd_policy, "ポリシーを検査・表示する", "check or show the policy"},
	{"decide", cmd_decide, "アクセスの可否を判定する", "decide whether an access is allowed"},
	{"serve", cmd_serve, "HTTP API を提供する", "serve the HTTP API"},
	{"apikey", cmd_apikey, "API キーを作成・一覧・失効する", "create, list or revoke API keys"},
	{"verify", cmd_verify, "監査台帳を検証する", "verify the audit ledger"},
	{"audit", cmd_audit, "アクセス記録を監査しアラートを出す", "audit access events and report alerts"},
	{"ingest", cmd_ingest, "アクセス記録を監査台帳に取り込む", "append access events to the ledger"},
	{"witness", cmd_witness, "監査台帳のチェックポイントに立会人として副署名する",
	 "witness and cosign the ledger's checkpoints"},
	{"disclose", cmd_disclose, "住民の記録へのアクセスを証明付きで開示する",
	 "disclose the accesses to a resident's record, with proofs"},
	{"verify-proof", cmd_verify_proof, "開示文書を検証鍵で検証する",
	 "check a disclosure document with the verifier key"},
};

static void usage(FILE *f)
{
	fprintf(f, "%s", T("使い方: mamori <サブコマンド> [引数]\n\nサブコマンド:\n",
			   "usage: mamori <subcommand> [args]\n\nsubcommands:\n"));
	for (size_t i = 0; i < ARRAY_SIZE(subcommands); i++)
		fprintf(f, "  %-8s %s\n", subcommands[i].name,
			T(subcommands[i].ja, subcommands[i].en));
	fprintf(f, "%s",
		T("\n各サブコマンドの詳細: mamori <サブコマンド> --help\n"
		  "言語: MAMORI_LANG=ja|en（既定は LANG に従う）\n",
		  "\nDetails: mamori <subcommand> --help\n"
		  "Language: MAMORI_LANG=ja|en (default follows LANG)\n"));
}

int main(int argc, char **argv)
{
	i18n_init_from_env();
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return EXIT_OK;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("mamori 0.1.0\n");
		return EXIT_OK;
	}
	for (size_t i = 0; i < ARRAY_SIZE(subcommands); i++)
		if (!strcmp(argv[1], subcommands[i].name))
			return subcommands[i].fn(argc - 1, argv + 1);
	cli_error(T("不明なサブコマンド '%s'", "unknown subcommand '%s'"), argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}
