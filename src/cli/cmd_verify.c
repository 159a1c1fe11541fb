/*
 * cmd_verify.c - `mamori verify DIR [--archive ARCHDIR]...`: recompute the
 * ledger's Merkle tree from its records (archived segments read from the
 * archive directories given) and check every stored hash, checkpoint and
 * seal (src/ledger/verify.h).
 */
#include "base/base.h"
#include "base/i18n.h"
#include "cli/cli.h"
#include "ledger/verify.h"

#include <sodium.h>
#include <sys/stat.h>

static void verify_usage(FILE *f)
{
	fprintf(f, "%s",
		T("使い方: mamori verify DIR [--archive ARCHDIR]...\n"
		  "  インスタンス DIR の監査台帳（DIR/ledger）を記録から再計算し、保存された索引・\n"
		  "  部分木ハッシュ・署名付きチェックポイント（DIR/keys/signing.pub で検証）・\n"
		  "  セグメントの封印と照合します。最初に食い違った箇所（記録番号、ファイル、\n"
		  "  バイト位置）を示します。\n"
		  "  --archive ARCHDIR  保管先に移したセグメントをここから読む（複数指定可）。\n"
		  "                     指定がなければ、保管済みの記録はハッシュと封印だけで検証し、\n"
		  "                     その件数を警告として示します。\n"
		  "終了コード: 0 すべて一致、1 食い違いあり、または読めない、2 使い方の誤り\n",
		  "usage: mamori verify DIR [--archive ARCHDIR]...\n"
		  "  Recomputes the audit ledger of instance DIR (DIR/ledger) from its records and\n"
		  "  checks the index, every stored subtree hash, every signed checkpoint\n"
		  "  (against DIR/keys/signing.pub) and every segment seal. Names the first place\n"
		  "  that differs (entry index, file, byte offset).\n"
		  "  --archive ARCHDIR  read archived segments from ARCHDIR (may be repeated).\n"
		  "                     Without it, archived entries are checked by their hashes\n"
		  "                     and seals only, and a warning says how many.\n"
		  "exit status: 0 all agree, 1 something differs or cannot be read, 2 usage error\n"));
}

int cmd_verify(int argc, char **argv)
{
	const char *help = NULL;
	struct cli_opt opts[] = {{"help", false, &help}};
	struct ledger_verify_report *rep = NULL;
	char *pos[1], path[4096], root[65];
	const char **archives = xcalloc((size_t)argc + 1, sizeof(*archives));
	char **rest = xcalloc((size_t)argc + 1, sizeof(*rest));
	size_t narch = 0;
	uint8_t pk[32];
	int n, nrest = 0, r, rc = EXIT_FAIL;

	/* --archive may be given more than once: take every one out before
	 * the common parser, which keeps one value per option. */
	for (int i = 0; i < argc; i++) {
		if (i > 0 && strcmp(argv[i], "--") == 0) {
			while (i < argc)
				rest[nrest++] = argv[i++];
			break;
		}
		if (i > 0 && strcmp(argv[i], "--archive") == 0) {
			if (i + 1 >= argc || argv[i + 1][0] == '\0') {
				cli_error(T("--archive には保管先のディレクトリが必要です",
					    "--archive needs an archive directory"));
				rc = EXIT_USAGE;
				goto out;
			}
			archives[narch++] = argv[++i];
		} else if (i > 0 && strncmp(argv[i], "--archive=", 10) == 0 && argv[i][10] != '\0') {
			archives[narch++] = argv[i] + 10;
		} else {
			rest[nrest++] = argv[i];
		}
	}
	n = cli_parse(nrest, rest, opts, ARRAY_SIZE(opts), pos, 1);
	if (help && n >= 0) {
		verify_usage(stdout);
		rc = EXIT_OK;
		goto out;
	}
	if (n != 1) {
		verify_usage(stderr);
		rc = EXIT_USAGE;
		goto out;
	}
	if (sodium_init() < 0)
		goto out;
	n = snprintf(path, sizeof(path), "%s/keys/signing.pub", pos[0]);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		cli_error(T("パスが長すぎます", "path too long"));
		rc = EXIT_USAGE;
		goto out;
	}
	if ((r = ledger_read_public_key(path, pk)) < 0) {
		cli_error(T("%s: 公開鍵を読めません: %s", "%s: cannot read the public key: %s"), path,
			  err_msg(r));
		goto out;
	}
	for (size_t i = 0; i < narch; i++) {
		struct stat st;

		if (stat(archives[i], &st) != 0 || !S_ISDIR(st.st_mode)) {
			cli_error(T("%s: 保管先のディレクトリがありません", "%s: no such archive directory"),
				  archives[i]);
			goto out;
		}
	}
	n = snprintf(path, sizeof(path), "%s/ledger", pos[0]);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		rc = EXIT_USAGE;
		goto out;
	}
	rep = xcalloc(1, sizeof(*rep));
	r = ledger_verify_archives(path, pk, archives, narch, rep);
	if (r < 0) {
		if (rep->entry >= 0 && rep->file_in_archive)
			cli_error(T("検証失敗: 記録 %" PRId64 "、%s のバイト位置 %" PRIu64 ": %s",
				    "verification FAILED: entry %" PRId64 ", %s byte offset %" PRIu64 ": %s"),
				  rep->entry, rep->file, rep->offset, rep->msg);
		else if (rep->entry >= 0)
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
	if (rep->seals > 0 || rep->archived > 0)
		printf(T("セグメント %" PRIu64 " 個（うち保管先から %" PRIu64 " 個）、封印 %" PRIu64
			 " 個が一致しました\n",
			 "%" PRIu64 " segments (%" PRIu64 " read from an archive) and %" PRIu64
			 " seals agree\n"),
		       rep->segments, rep->archived, rep->seals);
	if (rep->sealed_only > 0)
		cli_error(T("警告: 保管先に移された %" PRIu64 " 件の記録（セグメント %" PRIu64
			    " 個）は読まずに、ハッシュと封印だけで検証しました。記録そのものも"
			    "検証するには --archive ARCHDIR を指定してください",
			    "warning: %" PRIu64 " archived entries (%" PRIu64
			    " segments) were checked only by their hashes and seals, not read; "
			    "pass --archive ARCHDIR to check the records themselves"),
			  rep->sealed_only, rep->sealed_only_segments);
	rc = EXIT_OK;
out:
	free(rep);
	free(archives);
	free(rest);
	return rc;
}
