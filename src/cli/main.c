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
	{"user", cmd_user, "コンソールの利用者を追加・一覧・無効化・再設定する",
	 "add, list, disable or reset console users"},
	{"apikey", cmd_apikey, "API キーを作成・一覧・失効する", "create, list or revoke API keys"},
	{"verify", cmd_verify, "監査台帳を検証する", "verify the audit ledger"},
	{"ledger", cmd_ledger, "監査台帳のセグメントを封印・保管する",
	 "seal and archive the audit ledger's segments"},
	{"audit", cmd_audit, "アクセス記録を監査しアラートを出す", "audit access events and report alerts"},
	{"ingest", cmd_ingest, "アクセス記録を監査台帳に取り込む", "append access events to the ledger"},
	{"alerts", cmd_alerts, "アラートを一覧・表示・対応する", "list, show or triage alerts"},
	{"explain", cmd_explain, "アクセスが説明できるかを示す", "show why an access is or is not explained"},
	{"witness", cmd_witness, "監査台帳のチェックポイントに立会人として副署名する",
	 "witness and cosign the ledger's checkpoints"},
	{"disclose", cmd_disclose, "住民の記録へのアクセスを証明付きで開示する",
	 "disclose the accesses to a resident's record, with proofs"},
	{"isms", cmd_isms, "ISMS の記録(文書・資産・リスクなど)を扱う",
	 "ISMS records: documents, assets, risks and more"},
	{"soa", cmd_isms_people, "適用宣言書を作成・表示する", "seed or show the Statement of Applicability"},
	{"training", cmd_isms_people, "研修修了を取り込み、未受講を一覧する",
	 "import training completions, list who is overdue"},
	{"notices", cmd_isms_people, "注意喚起の確認を記録し、未確認者を一覧する",
	 "record acknowledgements of notices, list who is pending"},
	{"contracts", cmd_isms_people, "注意が必要な委託契約を一覧する", "list contracts that need attention"},
	{"incident", cmd_isms_cycle, "インシデントを報告・対応し、委員会への報告期限を示す",
	 "report and handle incidents, with the PPC's reporting clocks"},
	{"checklists", cmd_isms_cycle, "自己点検票を部署に送る", "send self-inspection checklists"},
	{"escalations", cmd_isms_cycle, "期限超過の是正処置・タスクを一覧する",
	 "list overdue corrective actions and tasks"},
	{"indicators", cmd_isms_cycle, "ISMS の指標を計算する", "compute the ISMS indicators"},
	{"bcp", cmd_isms_cycle, "業務継続の重要システムと訓練の状況を示す",
	 "show critical systems and overdue drills"},
	{"report", cmd_isms_cycle, "報告書（年次・SoA・台帳・監査概要・部署別）を作る",
	 "make a report (annual, SoA, register, audit summary, department)"},
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
