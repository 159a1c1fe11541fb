/*
 * cmd_verify.c - `mamori verify DIR`: recompute the ledger's Merkle tree
 * from its records and check every stored hash and checkpoint
 * (src/ledger/verify.h).
 */
#include "base/base.h"
#include "base/i18n.h"
#include "cli/cli.h"
#include "ledger/verify.h"

#include <sodium.h>

static void verify_usage(FILE *f)
{
	fprintf(f, "%s",
		T("使い方: mamori verify DIR\n"
		  "  インスタンス DIR の監査台帳（DIR/ledger）を記録から再計算し、保存された索引・\n"
		  "  部分木ハッシュ・署名付きチェックポイント（DIR/keys/signing.pub で検証）と\n"
		  "  照合します。最初に食い違った箇所（記録番号、ファイル、バイト位置）を示します。\n"
		  "終了コード: 0 すべて一致、1 食い違いあり、または読めない、2 使い方の誤り\n",
		  "usage: mamori verify DIR\n"
		  "  Recomputes the audit ledger of instance DIR (DIR/ledger) from its records and\n"
		  "  checks the index, every stored subtree hash and every signed checkpoint\n"
		  "  (against DIR/keys/signing.pub). Names the first place that differs (entry\n"
		  "  index, file, byte offset).\n"
		  "exit status: 0 all agree, 1 something differs or cannot be read, 2 usage error\n"));
}

int cmd_verify(int argc, char **argv)
{
	const char *help = NULL;
	struct cli_opt opts[] = {{"help", false, &help}};
	struct ledger_verify_report *rep = NULL;
	char *pos[1], path[4096], root[65];
	uint8_t pk[32];
	int n, r, rc = EXIT_FAIL;

	n = cli_parse(argc, argv, opts, ARRAY_SIZE(opts), pos, 1);
	if (help && n >= 0) {
		verify_usage(stdout);
		return EXIT_OK;
	}
	if (n != 1) {
		verify_usage(stderr);
		return EXIT_USAGE;
	}
	if (sodium_init() < 0)
		return EXIT_FAIL;
	n = snprintf(path, sizeof(path), "%s/keys/signing.pub", pos[0]);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		cli_error(T("パスが長すぎます", "path too long"));
		return EXIT_USAGE;
	}
	if ((r = ledger_read_public_key(path, pk)) < 0) {
		cli_error(T("%s: 公開鍵を読めません: %s", "%s: cannot read the public key: %s"), path,
			  err_msg(r));
		return EXIT_FAIL;
	}
	n = snprintf(path, sizeof(path), "%s/ledger", pos[0]);
	if (n < 0 || (size_t)n >= sizeof(path))
		return EXIT_USAGE;
	rep = xcalloc(1, sizeof(*rep));
	r = ledger_verify(path, pk, rep);
	if (r < 0) {
		if (rep->entry >= 0)
			cli_error(T("検証失敗: 記録 %" PRId64 "、%s/%s のバイト位置 %" PRIu64 ": %s",
				    "verification FAILED: entry %" PRId64 ", %s/%s byte offset %" PRIu64
				    ": %s"),
				  rep->entry, path, rep->file, rep->offset, rep->msg);
		else
			cli_error(T("検証失敗: %s/%s のバイト位置 %" PRIu64 ": %s",
				    "verification FAILED: %s/%s byte offset %" PRIu64 ": %s"),
				  path, rep->file, rep->offset, rep->msg);
		goto out;
	}
	sodium_bin2hex(root, sizeof(root), rep->root, sizeof(rep->root));
	printf(T("検証成功: 記録 %" PRIu64 " 件、部分木ハッシュ %" PRIu64 " 個、チェックポイント %" PRIu64
		 " 個が一致しました（root %s）\n",
		 "verified: %" PRIu64 " entries, %" PRIu64 " subtree hashes and %" PRIu64
		 " checkpoints agree (root %s)\n"),
	       rep->entries, rep->hashes, rep->checkpoints, root);
	rc = EXIT_OK;
out:
	free(rep);
	return rc;
}
