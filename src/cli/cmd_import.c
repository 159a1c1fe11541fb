/*
 * cmd_import.c - `mamori import DIR DATADIR [--staff-csv FILE]
 *                 [--max-errors N] [--quiet]`
 */
#include <unistd.h>

#include "base/base.h"
#include "base/diag.h"
#include "base/i18n.h"
#include "cli/cli.h"
#include "instance/instance.h"
#include "registry/registry.h"

static void import_usage(FILE *f)
{
	fprintf(
	    f, "%s",
	    T("使い方: mamori import DIR DATADIR [--staff-csv FILE] [--max-errors N] [--quiet]\n"
	      "  DATADIR の systems.jsonl, departments.jsonl, staff.jsonl, residents.jsonl,\n"
	      "  cases.jsonl, overtime.jsonl（あるものだけ）をインスタンス DIR に取り込みます。\n"
	      "  すべてのファイルを先に検査し、誤りが一つでもあれば何も書き込みません。\n"
	      "  同じファイルを再度取り込んでも何も変わりません（ID で上書き）。\n"
	      "  --staff-csv FILE  人事システムの職員 CSV（見出し行つき）も取り込む\n"
	      "  --max-errors N    表示する問題の最大数（既定 100）\n"
	      "  --quiet           進捗表示と集計表を出さない\n"
	      "終了コード: 0 成功、1 データの誤りまたは失敗、2 使い方の誤り\n",
	      "usage: mamori import DIR DATADIR [--staff-csv FILE] [--max-errors N] [--quiet]\n"
	      "  Imports systems.jsonl, departments.jsonl, staff.jsonl, residents.jsonl,\n"
	      "  cases.jsonl and overtime.jsonl (those present) from DATADIR into instance DIR.\n"
	      "  Every file is validated first; if anything is wrong, nothing is written.\n"
	      "  Importing the same files again changes nothing (upsert by id).\n"
	      "  --staff-csv FILE  also import the HR system's staff CSV (with a header row)\n"
	      "  --max-errors N    show at most N problems (default 100)\n"
	      "  --quiet           no progress bar and no summary table\n"
	      "exit status: 0 success, 1 invalid data or failure, 2 usage error\n"));
}

/* Print s left- or right-aligned in a column of width cells, counting
 * non-ASCII characters (here: Japanese) as two cells, as terminals do. */
static void cell(const char *s, int width, bool right)
{
	int w = 0, pad;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x80)
			w++;
		else if ((*p & 0xc0) != 0x80)
			w += 2;
	pad = width > w ? width - w : 0;
	if (right)
		printf("%*s%s", pad, "", s);
	else
		printf("%s%*s", s, pad, "");
}

int cmd_import(int argc, char **argv)
{
	const char *csv = NULL, *maxerr = NULL, *quiet = NULL, *help = NULL;
	struct cli_opt opts[] = {
	    {"staff-csv", true, &csv},
	    {"max-errors", true, &maxerr},
	    {"quiet", false, &quiet},
	    {"help", false, &help},
	};
	struct import_stats stats[8];
	struct import_opts io = {0};
	struct instance *in = NULL;
	char *pos[2], actor[160];
	size_t nstats = 0;
	int64_t maxe = 100;
	struct diag d;
	int n, r, rc = EXIT_FAIL;

	n = cli_parse(argc, argv, opts, ARRAY_SIZE(opts), pos, 2);
	if (help && n >= 0) {
		import_usage(stdout);
		return EXIT_OK;
	}
	if (n != 2) {
		import_usage(stderr);
		return EXIT_USAGE;
	}
	if (maxerr && parse_i64(maxerr, strlen(maxerr), 1, 1000000, &maxe) < 0) {
		cli_error(T("--max-errors には 1 以上の整数を指定してください",
			    "--max-errors needs a whole number of at least 1"));
		return EXIT_USAGE;
	}
	diag_init(&d, (size_t)maxe);
	if ((r = instance_open(pos[0], INSTANCE_WRITE, &in, &d)) < 0) {
		diag_print(&d, stderr);
		goto out;
	}
	cli_actor(actor, sizeof(actor));
	io.datadir = pos[1];
	io.staff_csv = csv;
	io.actor = actor;
	io.progress = !quiet && cli_stderr_is_tty();
	io.max_errors = (size_t)maxe;
	r = registry_import(instance_store(in), instance_ledger(in), &io, &d, stats, &nstats);
	diag_print(&d, stderr);
	if (r < 0) {
		if (r == ERR_INVALID)
			cli_error(T("データに %zu 件の誤りがあります。何も取り込んでいません。",
				    "%zu problem(s) in the data; nothing was imported."),
				  d.errors);
		else
			cli_error(T("取り込みに失敗しました: %s", "import failed: %s"), err_msg(r));
		goto out;
	}
	{
		/* Load once, so that the next command finds the registry
		 * image ready (docs/internals/registry.md); only time is at
		 * stake, so a failure here is no failure of the import. */
		struct registry_data *rd = NULL;
		if (registry_load(instance_store(in), &rd) == 0)
			registry_data_free(rd);
	}
	if (!quiet) {
		cell(T("ファイル", "file"), 14, false);
		cell(T("行数", "lines"), 11, true);
		cell(T("追加", "inserted"), 11, true);
		cell(T("更新", "updated"), 11, true);
		cell(T("変更なし", "unchanged"), 11, true);
		putchar('\n');
		for (size_t i = 0; i < nstats; i++)
			printf("%-14s %10zu %10zu %10zu %10zu\n", stats[i].kind, stats[i].lines,
			       stats[i].inserted, stats[i].updated, stats[i].unchanged);
	}
	rc = EXIT_OK;
out:
	instance_close(in);
	diag_release(&d);
	return rc;
}
