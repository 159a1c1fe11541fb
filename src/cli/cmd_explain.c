/*
 * cmd_explain.c - `mamori explain DIR --ref REF | --index N`: why one
 * access in the ledger is or is not explained by the registry, which
 * evidence each explanation template found, and which rules fired
 * (watch_explain, src/watch/alerts.h; docs/watch.md "Explain").
 */
#include "base/base.h"
#include "base/buf.h"
#include "base/diag.h"
#include "base/i18n.h"
#include "cli/cli.h"
#include "instance/instance.h"
#include "registry/registry.h"
#include "watch/alerts.h"
#include "watch/watch.h"

#include <string.h>

static void explain_usage(FILE *f)
{
	fprintf(f, "%s",
		T("使い方: mamori explain DIR --ref REF\n"
		  "       mamori explain DIR --index N\n"
		  "  監査台帳にあるアクセス（業務システムの ref、または台帳の番号で指定）が\n"
		  "  台帳（案件・世帯・時間外勤務など）で説明できるかを示します。試した説明の\n"
		  "  ひな形ごとに見つかった証拠と、このアクセスに該当した規則を表示します。\n"
		  "  その日のアクセスを時刻順に再生して判定するので、mamori audit と同じ結果です。\n"
		  "終了コード: 0 成功、1 見つからない・読めない、2 使い方の誤り\n",
		  "usage: mamori explain DIR --ref REF\n"
		  "       mamori explain DIR --index N\n"
		  "  Shows whether the registry (cases, households, overtime, ...) explains one\n"
		  "  access in the ledger, named by the source system's ref or by its ledger\n"
		  "  index: each explanation template tried with the evidence found, and the\n"
		  "  rules that fired for it. The accesses of its day are replayed in time\n"
		  "  order, so the answer is the one mamori audit gives.\n"
		  "exit status: 0 success, 1 not found or unreadable, 2 usage error\n"));
}

int cmd_explain(int argc, char **argv)
{
	const char *help = NULL, *ref = NULL, *index = NULL;
	struct cli_opt opts[] = {{"help", false, &help}, {"ref", true, &ref}, {"index", true, &index}};
	struct instance *in = NULL;
	struct registry_data *rd = NULL;
	struct watch_tables *t = NULL;
	struct watch_thresholds th;
	struct diag d;
	struct buf out;
	int64_t idx = 0;
	char *pos[1];
	int n, r, rc = EXIT_FAIL;

	n = cli_parse(argc, argv, opts, ARRAY_SIZE(opts), pos, 1);
	if (help && n >= 0) {
		explain_usage(stdout);
		return EXIT_OK;
	}
	if (n != 1 || (!ref == !index)) {
		explain_usage(stderr);
		return EXIT_USAGE;
	}
	if (ref && !*ref) {
		cli_error("%s", T("--ref が空です", "--ref is empty"));
		return EXIT_USAGE;
	}
	if (index && parse_i64(index, strlen(index), 0, INT64_MAX, &idx) < 0) {
		cli_error(T("--index '%s': 0 以上の整数にしてください", "--index '%s': must be a whole number"),
			  index);
		return EXIT_USAGE;
	}
	diag_init(&d, 20);
	buf_init(&out, BUF_MAX_DEFAULT);
	if ((r = instance_open(pos[0], INSTANCE_READ_ONLY, &in, &d)) < 0) {
		diag_print(&d, stderr);
		cli_error(T("%s: インスタンスを開けません: %s", "%s: cannot open the instance: %s"), pos[0],
			  err_msg(r));
		goto out;
	}
	if ((r = registry_load(instance_store(in), &rd)) < 0) {
		cli_error(T("台帳を読み込めません: %s", "cannot load the registry: %s"), err_msg(r));
		goto out;
	}
	if ((r = watch_tables_build(rd, &t)) < 0) {
		cli_error(T("監視表を作れません: %s", "cannot build the watch tables: %s"), err_msg(r));
		goto out;
	}
	watch_stream_thresholds(&th);
	r = watch_explain(t, &th, instance_ledger(in), ref, (uint64_t)idx, &out);
	if (r == ERR_NOT_FOUND) {
		if (ref)
			cli_error(T("ref '%s' のアクセスは監査台帳にありません",
				    "no access with ref '%s' in the ledger"),
				  ref);
		else
			cli_error(T("監査台帳に %s 番の記録はありません", "no ledger record %s"), index);
		goto out;
	}
	if (r == ERR_INVALID) {
		cli_error(T("監査台帳の %s 番はアクセスの記録ではありません",
			    "ledger record %s is not an access or decision"),
			  index);
		goto out;
	}
	if (r < 0) {
		cli_error(T("説明できません: %s", "cannot explain: %s"), err_msg(r));
		goto out;
	}
	fwrite(out.data, 1, out.len, stdout);
	rc = EXIT_OK;
out:
	watch_tables_free(t);
	registry_data_free(rd);
	instance_close(in);
	buf_release(&out);
	diag_release(&d);
	return rc;
}
