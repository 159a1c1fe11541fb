/*
 * cmd_gen.c - `mamori gen --scale S|M|L --seed N --out DATADIR`
 */
#include "base/base.h"
#include "base/diag.h"
#include "base/i18n.h"
#include "cli/cli.h"
#include "gen/gen.h"

static void gen_usage(FILE *f)
{
	fprintf(f, "%s",
		T("使い方: mamori gen --scale S|M|L --seed N --out DATADIR\n"
		  "                  [--residents N] [--staff N] [--events N] [--quiet]\n"
		  "  架空の自治体（住民、職員、所属、案件、時間外勤務、アクセス記録、正解ラベル）を\n"
		  "  DATADIR に生成します。同じ規模と seed からは常に同一のファイルができます。\n"
		  "  規模: S 住民約5千・職員60・15万件、M 20万・1000・1000万件、L 200万・5000・1億件\n",
		  "usage: mamori gen --scale S|M|L --seed N --out DATADIR\n"
		  "                  [--residents N] [--staff N] [--events N] [--quiet]\n"
		  "  Writes a synthetic municipality (residents, staff, departments, cases,\n"
		  "  overtime, access events and ground-truth labels) into DATADIR. The same\n"
		  "  scale and seed always give byte-identical files.\n"
		  "  Scales: S 5k residents/60 staff/150k events, M 200k/1,000/10M, L 2M/5,000/100M\n"));
}

static int parse_count(const char *name, const char *v, size_t *out)
{
	int64_t n;
	if (!v)
		return 0;
	if (parse_i64(v, strlen(v), 1, 2000000000, &n) < 0) {
		cli_error(T("--%s: 正の整数ではありません: '%s'", "--%s: not a positive integer: '%s'"), name, v);
		return -1;
	}
	*out = (size_t)n;
	return 0;
}

int cmd_gen(int argc, char **argv)
{
	const char *scale = NULL, *seed = NULL, *out = NULL, *res = NULL, *staff = NULL,
		   *events = NULL, *quiet = NULL, *help = NULL;
	struct cli_opt opts[] = {
		{"scale", true, &scale},   {"seed", true, &seed},     {"out", true, &out},
		{"residents", true, &res}, {"staff", true, &staff},   {"events", true, &events},
		{"quiet", false, &quiet},  {"help", false, &help},
	};
	struct gen_opts o = {0};
	struct gen_stats st;
	struct diag d;
	char *pos[1];
	int64_t sv;
	int n, r;

	n = cli_parse(argc, argv, opts, ARRAY_SIZE(opts), pos, 1);
	if (help && n >= 0) {
		gen_usage(stdout);
		return EXIT_OK;
	}
	if (n != 0 || !scale || !seed || !out) {
		gen_usage(stderr);
		return EXIT_USAGE;
	}
	if (gen_scale_parse(scale, &o.scale) < 0) {
		cli_error(T("--scale は S、M、L のいずれかです: '%s'", "--scale must be S, M or L: '%s'"), scale);
		return EXIT_USAGE;
	}
	if (parse_i64(seed, strlen(seed), 0, INT64_MAX, &sv) < 0) {
		cli_error(T("--seed: 0 以上の整数ではありません: '%s'", "--seed: not a non-negative integer: '%s'"), seed);
		return EXIT_USAGE;
	}
	o.seed = (uint64_t)sv;
	if (parse_count("residents", res, &o.residents) < 0 || parse_count("staff", staff, &o.staff) < 0 ||
	    parse_count("events", events, &o.events) < 0)
		return EXIT_USAGE;
	o.outdir = out;
	o.progress = !quiet && cli_stderr_is_tty();
	diag_init(&d, 20);
	r = gen_run(&o, &st, &d);
	if (r < 0) {
		diag_print(&d, stderr);
		diag_release(&d);
		return r == ERR_INVALID ? EXIT_USAGE : EXIT_FAIL;
	}
	diag_release(&d);
	if (!quiet)
		printf(T("%s に生成しました\n"
			 "  systems.jsonl      %zu\n  departments.jsonl  %zu\n  staff.jsonl        %zu\n"
			 "  residents.jsonl    %zu\n  cases.jsonl        %zu\n  overtime.jsonl     %zu\n"
			 "  access.jsonl       %zu\n  labels.jsonl       %zu\n",
			 "generated in %s\n"
			 "  systems.jsonl      %zu\n  departments.jsonl  %zu\n  staff.jsonl        %zu\n"
			 "  residents.jsonl    %zu\n  cases.jsonl        %zu\n  overtime.jsonl     %zu\n"
			 "  access.jsonl       %zu\n  labels.jsonl       %zu\n"),
		       out, st.systems, st.departments, st.staff, st.residents, st.cases, st.overtime,
		       st.events, st.labels);
	return EXIT_OK;
}
