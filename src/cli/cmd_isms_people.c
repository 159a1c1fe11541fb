/*
 * cmd_isms_people.c - the workflow commands of the people side of the
 * ISMS (docs/isms-people.md), the same functions the API calls:
 *
 *   mamori soa DIR seed | show [--date D] [--csv]
 *   mamori training DIR import FILE.csv | overdue [--dept D] [--date D] [--csv]
 *   mamori notices DIR ack NOTICE STAFF | pending NOTICE [--dept D] [--date D]
 *                    | remind [--dept D] [--date D] [--overdue]
 *   mamori contracts DIR attention [--date D] [--days N]
 *
 * The records themselves (courses, notices, contracts, ...) are created,
 * listed and exported with the generic `mamori isms DIR KIND ...`. The
 * operator at the command line acts as admin (actor_cli).
 */
#include "base/base.h"
#include "base/actor.h"
#include "base/buf.h"
#include "base/diag.h"
#include "base/fileio.h"
#include "base/i18n.h"
#include "base/timeutil.h"
#include "cli/cli.h"
#include "instance/instance.h"
#include "isms/controls.h"
#include "isms/people.h"
#include "ledger/verify.h"

#include <jansson.h>

static void usage(FILE *f)
{
	fprintf(
	    f, "%s",
	    T("使い方: mamori soa DIR seed\n"
	      "       mamori soa DIR show [--date YYYY-MM-DD] [--csv]\n"
	      "       mamori training DIR import FILE.csv\n"
	      "       mamori training DIR overdue [--dept ID] [--date YYYY-MM-DD] [--csv]\n"
	      "       mamori notices DIR ack NOTICE_ID STAFF_ID\n"
	      "       mamori notices DIR pending NOTICE_ID [--dept ID] [--date YYYY-MM-DD]\n"
	      "       mamori notices DIR remind [--dept ID] [--date YYYY-MM-DD] [--overdue]\n"
	      "       mamori contracts DIR attention [--date YYYY-MM-DD] [--days N]\n"
	      "  soa: 適用宣言書（附属書A の管理策ごとに 1 件）を作成・表示します。\n"
	      "  training: eラーニングの修了 CSV "
	      "を取り込み、台帳の研修受講日・誓約日を更新します。\n"
	      "            overdue は部署ごとの未受講・期限切れの一覧です。\n"
	      "  notices: 注意喚起の確認を記録し、未確認者と督促の一覧を示します。\n"
	      "  contracts: 終了が近い契約、期限を過ぎた報告、是正期限を過ぎた指摘を示します。\n"
	      "  結果は JSON で標準出力に出ます（--csv は CSV）。\n"
	      "終了コード: 0 成功、1 失敗、2 使い方の誤り\n",
	      "usage: mamori soa DIR seed\n"
	      "       mamori soa DIR show [--date YYYY-MM-DD] [--csv]\n"
	      "       mamori training DIR import FILE.csv\n"
	      "       mamori training DIR overdue [--dept ID] [--date YYYY-MM-DD] [--csv]\n"
	      "       mamori notices DIR ack NOTICE_ID STAFF_ID\n"
	      "       mamori notices DIR pending NOTICE_ID [--dept ID] [--date YYYY-MM-DD]\n"
	      "       mamori notices DIR remind [--dept ID] [--date YYYY-MM-DD] [--overdue]\n"
	      "       mamori contracts DIR attention [--date YYYY-MM-DD] [--days N]\n"
	      "  soa: create (one entry per Annex A control) or show the Statement of\n"
	      "       Applicability with live evidence.\n"
	      "  training: import completions from an e-learning CSV and move the registry's\n"
	      "            training and pledge dates forward; overdue lists who is missing or\n"
	      "            out of date, per department.\n"
	      "  notices: record an acknowledgement; list who has not acknowledged.\n"
	      "  contracts: contracts ending soon, reports overdue, findings past follow-up.\n"
	      "  Results are JSON on standard output (--csv: CSV).\n"
	      "exit status: 0 success, 1 failure, 2 usage error\n"));
}

bool cmd_isms_people_handles(const char *kind, const char *verb)
{
	static const char *const pairs[][2] = {
	    {"soa", "seed"},	    {"soa", "show"},
	    {"training", "import"}, {"training", "overdue"},
	    {"notices", "ack"},	    {"notices", "pending"},
	    {"notices", "remind"},  {"contracts", "attention"},
	};
	for (size_t i = 0; kind && verb && i < ARRAY_SIZE(pairs); i++)
		if (!strcmp(kind, pairs[i][0]) && !strcmp(verb, pairs[i][1]))
			return true;
	return false;
}

static bool opt_day(const char *v, int32_t *out)
{
	if (!v) {
		*out = ts_jst_day(ts_now());
		return true;
	}
	if (date_parse(v, strlen(v), out) == 0)
		return true;
	cli_error(T("--date '%s': 日付ではありません（YYYY-MM-DD）",
		    "--date '%s': not a date (YYYY-MM-DD)"),
		  v);
	return false;
}

static int print_json(const json_t *v)
{
	char *t = json_dumps(v, JSON_INDENT(2) | JSON_SORT_KEYS);

	if (!t)
		return ERR_NOMEM;
	printf("%s\n", t);
	free(t);
	return 0;
}

/* The message of a failed workflow: the diagnostics, else the code. */
static void report(int r, const struct diag *d, const char *what)
{
	if (d && d->n)
		diag_print(d, stderr);
	if (r == ERR_FORBIDDEN)
		cli_error(T("%s: 権限がありません", "%s: not allowed"), what);
	else
		cli_error("%s: %s", what, err_msg(r));
}

static int soa_show(struct instance *in, struct isms_ctx *c, int32_t day, bool csv)
{
	const struct instance_config *cfg = instance_config(in);
	struct soa_env env = {0};
	struct buf policy, pub, out;
	char origin[256];
	uint8_t pk[32];
	json_t *st = NULL;
	int r;

	buf_init(&policy, 8192);
	buf_init(&pub, 8192);
	buf_init(&out, (size_t)64 << 20);
	env.day = day;
	env.municipality = cfg->name[0] ? cfg->name : NULL;
	if (instance_path(in, cfg->policy, &policy) == 0)
		env.policy_path = policy.data;
	if (instance_origin(in, origin, sizeof(origin)) == 0 &&
	    instance_path(in, "keys/signing.pub", &pub) == 0 &&
	    ledger_read_public_key(pub.data, pk) == 0) {
		env.origin = origin;
		env.pk = pk;
	}
	if ((r = isms_soa_statement(c, &env, &st)) < 0)
		goto out;
	if (csv) {
		if ((r = isms_soa_csv(st, &out)) < 0)
			goto out;
		fwrite(out.data ? out.data : "", 1, out.len, stdout);
	} else {
		r = print_json(st);
	}
out:
	json_decref(st);
	buf_release(&policy);
	buf_release(&pub);
	buf_release(&out);
	return r;
}

static int overdue_csv(const json_t *res)
{
	size_t i;
	json_t *it;

	printf("staff_id,name,dept,employment,course,state,last,due,days_overdue\r\n");
	json_array_foreach(json_object_get(res, "items"), i, it)
	{
		const char *k[] = {"staff_id", "name",	"dept", "employment",
				   "course",   "state", "last", "due"};
		for (size_t j = 0; j < ARRAY_SIZE(k); j++) {
			const char *s = json_string_value(json_object_get(it, k[j]));
			putchar('"');
			for (; s && *s; s++) {
				if (*s == '"')
					putchar('"');
				putchar(*s);
			}
			printf("\",");
		}
		printf("%" JSON_INTEGER_FORMAT "\r\n",
		       json_integer_value(json_object_get(it, "days_overdue")));
	}
	return 0;
}

int cmd_isms_people(int argc, char **argv)
{
	const char *word = argv[0], *dept = NULL, *date = NULL, *csv = NULL, *overdue = NULL,
		   *days_s = NULL, *help = NULL;
	struct cli_opt opts[] = {
	    {"dept", true, &dept},	  {"date", true, &date},   {"csv", false, &csv},
	    {"overdue", false, &overdue}, {"days", true, &days_s}, {"help", false, &help},
	};
	char *pos[5] = {0};
	struct instance *in = NULL;
	struct isms_ctx c = {0};
	struct actor who;
	struct diag d;
	json_t *res = NULL;
	int npos, r = 0, rc = EXIT_FAIL;
	int32_t day;
	const char *verb;

	diag_init(&d, 100);
	npos = cli_parse(argc, argv, opts, ARRAY_SIZE(opts), pos, 5);
	if (help) {
		usage(stdout);
		rc = EXIT_OK;
		goto out;
	}
	if (npos < 2 || !cmd_isms_people_handles(word, pos[1])) {
		if (npos >= 0)
			usage(stderr);
		rc = EXIT_USAGE;
		goto out;
	}
	verb = pos[1];
	if (!opt_day(date, &day)) {
		rc = EXIT_USAGE;
		goto out;
	}
	actor_cli(&who);
	if ((r = instance_open(pos[0], INSTANCE_WRITE, &in, &d)) < 0) {
		diag_print(&d, stderr);
		cli_error("%s: %s", pos[0], err_msg(r));
		goto out;
	}
	c.st = instance_store(in);
	c.lg = instance_ledger(in);
	c.actor = &who;

	if (!strcmp(word, "soa") && !strcmp(verb, "seed")) {
		size_t n = 0;
		if ((r = isms_soa_seed(&c, &n)) < 0) {
			report(r, NULL, "soa seed");
			goto out;
		}
		printf(
		    T("適用宣言書: %zu 件を作成しました（附属書A の管理策 %zu 件）\n",
		      "Statement of Applicability: %zu entries created (%zu Annex A controls)\n"),
		    n, annex_ncontrols);
	} else if (!strcmp(word, "soa")) {
		if ((r = soa_show(in, &c, day, csv != NULL)) < 0) {
			report(r, NULL, "soa show");
			goto out;
		}
	} else if (!strcmp(word, "training") && !strcmp(verb, "import")) {
		struct buf data;
		size_t made = 0, upd = 0;
		if (npos < 3) {
			usage(stderr);
			rc = EXIT_USAGE;
			goto out;
		}
		buf_init(&data, ISMS_CSV_MAX);
		if ((r = file_read_all(pos[2], ISMS_CSV_MAX, &data)) < 0) {
			cli_error("%s: %s", pos[2], err_msg(r));
			buf_release(&data);
			goto out;
		}
		r = isms_training_import(&c, data.data ? data.data : "", data.len, pos[2], &d,
					 &made, &upd);
		buf_release(&data);
		if (r < 0) {
			report(r, &d, pos[2]);
			goto out;
		}
		if (d.warnings)
			diag_print(&d, stderr);
		printf(T("修了記録 %zu 件を登録し、台帳の職員 %zu 名の日付を更新しました\n",
			 "%zu completions recorded; the registry dates of %zu staff members "
			 "updated\n"),
		       made, upd);
		if (upd)
			printf(
			    "%s",
			    T("実行中の mamori serve には POST /v1/admin/reload "
			      "で反映してください\n",
			      "a running mamori serve picks this up on POST /v1/admin/reload\n"));
	} else if (!strcmp(word, "training")) {
		if ((r = isms_training_overdue(&c, day, dept, &res)) < 0) {
			report(r, NULL, "training overdue");
			goto out;
		}
		r = csv ? overdue_csv(res) : print_json(res);
	} else if (!strcmp(word, "notices") && !strcmp(verb, "ack")) {
		char id[ISMS_ID_MAX];
		if (npos < 4) {
			usage(stderr);
			rc = EXIT_USAGE;
			goto out;
		}
		r = isms_notice_ack(&c, pos[2], pos[3], &d, id);
		if (r == ERR_EXISTS) {
			printf(T("確認済みです（%s）\n", "already acknowledged (%s)\n"), id);
			r = 0;
		} else if (r < 0) {
			report(r, &d, pos[2]);
			goto out;
		} else {
			printf("%s\n", id);
		}
	} else if (!strcmp(word, "notices") && !strcmp(verb, "pending")) {
		if (npos < 3) {
			usage(stderr);
			rc = EXIT_USAGE;
			goto out;
		}
		if ((r = isms_notice_pending(&c, pos[2], day, dept, &res)) < 0) {
			report(r, NULL, pos[2]);
			goto out;
		}
		r = print_json(res);
	} else if (!strcmp(word, "notices")) {
		if ((r = isms_notice_reminders(&c, day, dept, overdue != NULL, &res)) < 0) {
			report(r, NULL, "notices remind");
			goto out;
		}
		r = print_json(res);
	} else {
		int64_t days = 60;
		if (days_s && parse_i64(days_s, strlen(days_s), 0, 3660, &days) < 0) {
			cli_error(T("--days '%s': 0〜3660 の整数にしてください",
				    "--days '%s': must be a whole number from 0 to 3660"),
				  days_s);
			rc = EXIT_USAGE;
			goto out;
		}
		if ((r = isms_contracts_attention(&c, day, (int32_t)days, &res)) < 0) {
			report(r, NULL, "contracts attention");
			goto out;
		}
		r = print_json(res);
	}
	rc = r < 0 ? EXIT_FAIL : EXIT_OK;
out:
	json_decref(res);
	instance_close(in);
	diag_release(&d);
	return rc;
}
