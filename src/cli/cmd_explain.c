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

/*
 * The explanation templates the policy file declares (watch:
 * explanations:), tried in this order after the built-in ones: a result
 * "template" above is the first of them whose path exists for the access.
 * Nothing when none is declared.
 */
static int explain_templates(const struct watch_thresholds *th, struct buf *out)
{
	static const char *const steps[WSTEP__COUNT] = WATCH_STEP_NAMES;
	int r = 0;
	if (!th->ntemplates)
		return 0;
	r = buf_puts(out, T("ポリシーで定義した説明のひな形（組み込みの説明の後に上から順に試します）:\n",
			    "templates the policy declares (tried in this order after the built-in ones):\n"));
	for (uint32_t i = 0; i < th->ntemplates && i < WATCH_TEMPLATES_MAX && r >= 0; i++) {
		const struct watch_template *tp = &th->templates[i];
		r = buf_printf(out, "  %s: %s (", tp->name, T(tp->label_ja, tp->label_en));
		for (uint8_t k = 0; k < tp->npath && k < WATCH_PATH_MAX && r >= 0; k++)
			r = buf_printf(out, "%s%s", k ? " -> " : "",
				       tp->path[k] < WSTEP__COUNT ? steps[tp->path[k]] : "?");
		if (r >= 0 && tp->within_days > 0)
			r = buf_printf(out, T("、終了後 %d 日まで", ", up to %d days after closing"),
				       (int)tp->within_days);
		if (r >= 0)
			r = buf_puts(out, ")\n");
	}
	return r < 0 ? r : 0;
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
	/* The policy file's watch: section, as mamori audit reads it: its
	 * thresholds and its declared explanation templates. */
	if ((r = instance_watch_thresholds(in, &th, &d)) < 0) {
		diag_print(&d, stderr);
		cli_error(T("ポリシーファイルを読めません: %s", "cannot read the policy file: %s"),
			  err_msg(r));
		goto out;
	}
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
	if ((r = explain_templates(&th, &out)) < 0) {
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
