/*
 * cmd_ledger.c - `mamori ledger seal DIR` and `mamori ledger archive DIR
 * --to ARCHDIR [--before INDEX]`: seal the full segments of the audit
 * ledger that a signed checkpoint covers, and move sealed segments to an
 * archive directory (src/ledger/ledger.h, docs/internals/ledger.md).
 */
#include "base/base.h"
#include "base/diag.h"
#include "base/i18n.h"
#include "cli/cli.h"
#include "instance/instance.h"
#include "ledger/ledger.h"
#include "ledger/verify.h"

#include <sodium.h>

static void ledger_usage(FILE *f)
{
	fprintf(f, "%s",
		T("使い方: mamori ledger seal DIR\n"
		  "       mamori ledger archive DIR --to ARCHDIR [--before INDEX]\n"
		  "  seal     最新の署名付きチェックポイントが含む、満杯のセグメントを封印する\n"
		  "           （DIR/ledger/seg/<first>.seal を書き、セグメントを読み取り専用にする）。\n"
		  "  archive  封印済みのセグメント（--before があれば、記録 INDEX より前で終わる\n"
		  "           もの）を ARCHDIR に複製し、SHA-256 を封印と照合してから DIR から削除する。\n"
		  "           封印は DIR に残り、保管先を記録する。保管は監査台帳に記録される。\n"
		  "終了コード: 0 成功、1 失敗、2 使い方の誤り\n",
		  "usage: mamori ledger seal DIR\n"
		  "       mamori ledger archive DIR --to ARCHDIR [--before INDEX]\n"
		  "  seal     seal the full segments that the latest signed checkpoint covers\n"
		  "           (writes DIR/ledger/seg/<first>.seal, makes the segment read-only).\n"
		  "  archive  copy the sealed segments (with --before, those that end at or\n"
		  "           before entry INDEX) to ARCHDIR, check the copies' SHA-256 against\n"
		  "           the seal, then remove them from DIR. The seal stays in DIR and\n"
		  "           records where they went; the archiving is recorded in the ledger.\n"
		  "exit status: 0 success, 1 failure, 2 usage error\n"));
}

/* Open the instance for writing; prints the problems on failure. */
static int ledger_instance(const char *dir, struct instance **in)
{
	struct diag d;
	int r;

	diag_init(&d, 50);
	if ((r = instance_open(dir, INSTANCE_WRITE, in, &d)) < 0) {
		diag_print(&d, stderr);
		cli_error(T("%s: インスタンスを開けません: %s", "%s: cannot open the instance: %s"), dir,
			  err_msg(r));
	}
	diag_release(&d);
	return r;
}

static int ledger_seal_cmd(const char *dir)
{
	struct instance *in = NULL;
	char path[4096];
	uint64_t sealed = 0;
	uint8_t pk[32];
	int n, r, rc = EXIT_FAIL;

	n = snprintf(path, sizeof(path), "%s/keys/signing.pub", dir);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		cli_error(T("パスが長すぎます", "path too long"));
		return EXIT_USAGE;
	}
	if ((r = ledger_read_public_key(path, pk)) < 0) {
		cli_error(T("%s: 公開鍵を読めません: %s", "%s: cannot read the public key: %s"), path,
			  err_msg(r));
		return EXIT_FAIL;
	}
	if (ledger_instance(dir, &in) < 0)
		return EXIT_FAIL;
	if ((r = ledger_seal(instance_ledger(in), pk, &sealed)) < 0) {
		cli_error(r == ERR_NOT_FOUND
				  ? T("封印できません: 署名付きチェックポイントがありません",
				      "cannot seal: there is no signed checkpoint")
				  : T("封印できません: %s", "cannot seal: %s"),
			  err_msg(r));
		goto out;
	}
	printf(T("セグメント %" PRIu64 " 個を封印しました\n", "sealed %" PRIu64 " segments\n"), sealed);
	rc = EXIT_OK;
out:
	instance_close(in);
	return rc;
}

static int ledger_archive_cmd(const char *dir, const char *to, const char *before_s)
{
	struct instance *in = NULL;
	uint64_t before = UINT64_MAX, segs = 0, entries = 0;
	char actor[256];
	int64_t v;
	int r, rc = EXIT_FAIL;

	if (before_s != NULL) {
		if (parse_i64(before_s, strlen(before_s), 0, INT64_MAX, &v) < 0) {
			cli_error(T("--before '%s': 記録番号（0 以上の整数）ではありません",
				    "--before '%s': not an entry index (an integer from 0)"),
				  before_s);
			return EXIT_USAGE;
		}
		before = (uint64_t)v;
	}
	if (ledger_instance(dir, &in) < 0)
		return EXIT_FAIL;
	cli_actor(actor, sizeof(actor));
	r = ledger_archive(instance_ledger(in), to, before, actor, &segs, &entries);
	if (r < 0) {
		cli_error(T("%s へ保管できません: %s（%" PRIu64 " 個のセグメントは保管済み）",
			    "cannot archive to %s: %s (%" PRIu64 " segments were archived)"),
			  to, err_msg(r), segs);
		goto out;
	}
	printf(T("セグメント %" PRIu64 " 個（記録 %" PRIu64 " 件）を %s に保管しました\n",
		 "archived %" PRIu64 " segments (%" PRIu64 " entries) to %s\n"),
	       segs, entries, to);
	rc = EXIT_OK;
out:
	instance_close(in);
	return rc;
}

int cmd_ledger(int argc, char **argv)
{
	const char *help = NULL, *to = NULL, *before = NULL;
	struct cli_opt opts[] = {
		{"help", false, &help},
		{"to", true, &to},
		{"before", true, &before},
	};
	char *pos[2];
	int n;

	if (sodium_init() < 0)
		return EXIT_FAIL;
	n = cli_parse(argc, argv, opts, ARRAY_SIZE(opts), pos, 2);
	if (help && n >= 0) {
		ledger_usage(stdout);
		return EXIT_OK;
	}
	if (n == 2 && strcmp(pos[0], "seal") == 0 && to == NULL && before == NULL)
		return ledger_seal_cmd(pos[1]);
	if (n == 2 && strcmp(pos[0], "archive") == 0 && to != NULL && to[0] != '\0')
		return ledger_archive_cmd(pos[1], to, before);
	if (n == 2 && strcmp(pos[0], "archive") == 0)
		cli_error(T("archive には --to ARCHDIR が必要です", "archive needs --to ARCHDIR"));
	else if (n == 2 && strcmp(pos[0], "seal") != 0)
		cli_error(T("不明な操作 '%s'", "unknown action '%s'"), pos[0]);
	ledger_usage(stderr);
	return EXIT_USAGE;
}
