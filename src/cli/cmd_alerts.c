/*
 * cmd_alerts.c - `mamori alerts DIR [filters] [--json]`, `mamori alerts
 * show DIR ID [--json]` and `mamori alerts triage DIR ID --status S
 * [--reason TEXT]`: the alerts the watcher of `mamori serve` raised, and
 * their triage (src/watch/alerts.h, docs/watch.md "Alerts"). The operator
 * at the command line acts as admin (actor_cli).
 */
#include "base/base.h"
#include "base/actor.h"
#include "base/buf.h"
#include "base/diag.h"
#include "base/i18n.h"
#include "base/timeutil.h"
#include "cli/cli.h"
#include "instance/instance.h"
#include "watch/alerts.h"
#include "watch/watch.h"

#include <string.h>

#include <jansson.h>

static void alerts_usage(FILE *f)
{
	fprintf(f, "%s",
		T("使い方: mamori alerts DIR [--status S] [--severity S] [--rule R] [--staff ID]\n"
		  "                        [--dept ID] [--from DATE] [--to DATE] [--page N]\n"
		  "                        [--per-page N] [--json]\n"
		  "       mamori alerts show DIR ID [--json]\n"
		  "       mamori alerts triage DIR ID --status S [--reason TEXT]\n"
		  "  mamori serve の監視が出したアラート（職員・規則・日ごとに 1 件）を新しい日から\n"
		  "  一覧します。show は 1 件をイベントと対応履歴つきで表示します。triage は対応状況を\n"
		  "  変更し、監査台帳に記録します。\n"
		  "  --status     open, confirmed, false_positive, escalated\n"
		  "  --severity   low, medium, high, critical\n"
		  "  --rule       規則コード（例 W-DV-SUPPORT）\n"
		  "  --from/--to  日付（YYYY-MM-DD、日本時間）の範囲\n"
		  "  --reason     理由（false_positive には必須）\n"
		  "  --json       JSON で出力します\n"
		  "終了コード: 0 成功、1 失敗（アラートがない・既にその状況など）、2 使い方の誤り\n",
		  "usage: mamori alerts DIR [--status S] [--severity S] [--rule R] [--staff ID]\n"
		  "                        [--dept ID] [--from DATE] [--to DATE] [--page N]\n"
		  "                        [--per-page N] [--json]\n"
		  "       mamori alerts show DIR ID [--json]\n"
		  "       mamori alerts triage DIR ID --status S [--reason TEXT]\n"
		  "  Lists the alerts the watcher of mamori serve raised (one per person, rule\n"
		  "  and day), newest day first. show prints one alert with its events and\n"
		  "  history. triage changes its status and records the step in the ledger.\n"
		  "  --status     open, confirmed, false_positive, escalated\n"
		  "  --severity   low, medium, high, critical\n"
		  "  --rule       a rule code (e.g. W-DV-SUPPORT)\n"
		  "  --from/--to  a range of days (YYYY-MM-DD, JST)\n"
		  "  --reason     why (required for false_positive)\n"
		  "  --json       print JSON\n"
		  "exit status: 0 success, 1 failure (no such alert, already that status, ...),\n"
		  "2 usage error\n"));
}

static bool opt_date(const char *name, const char *v, int32_t *out)
{
	*out = DAY_NONE;
	if (!v)
		return true;
	if (date_parse(v, strlen(v), out) == 0)
		return true;
	cli_error(T("--%s '%s': 日付ではありません（YYYY-MM-DD）", "--%s '%s': not a date (YYYY-MM-DD)"),
		  name, v);
	return false;
}

static bool opt_count(const char *name, const char *v, uint64_t max, uint64_t *out)
{
	int64_t n;
	*out = 0;
	if (!v)
		return true;
	if (parse_i64(v, strlen(v), 1, (int64_t)max, &n) == 0) {
		*out = (uint64_t)n;
		return true;
	}
	cli_error(T("--%s '%s': 1 から %" PRIu64 " までの整数にしてください",
		    "--%s '%s': must be a whole number from 1 to %" PRIu64),
		  name, v, max);
	return false;
}

static bool filter_check(const struct alert_filter *f)
{
	enum alert_status as;
	bool ok = false;

	if (f->status && alert_status_parse(f->status, &as) < 0) {
		cli_error(T("--status '%s': open, confirmed, false_positive, escalated のいずれかです",
			    "--status '%s': one of open, confirmed, false_positive, escalated"),
			  f->status);
		return false;
	}
	if (f->severity) {
		for (int v = WSEV_LOW; v <= WSEV_CRITICAL; v++)
			ok |= strcmp(f->severity, watch_severity_name((enum watch_severity)v)) == 0;
		if (!ok) {
			cli_error(T("--severity '%s': low, medium, high, critical のいずれかです",
				    "--severity '%s': one of low, medium, high, critical"),
				  f->severity);
			return false;
		}
	}
	if (f->rule) {
		ok = false;
		for (int i = 0; i < WR__COUNT; i++)
			ok |= strcmp(f->rule, watch_rule_info(i)->code) == 0;
		if (!ok) {
			cli_error(T("--rule '%s': そのような規則はありません（例 W-UNEXPLAINED）",
				    "--rule '%s': no such rule (e.g. W-UNEXPLAINED)"),
				  f->rule);
			return false;
		}
	}
	if (f->from != DAY_NONE && f->to != DAY_NONE && f->from > f->to) {
		cli_error("%s", T("--from が --to より後です", "--from is after --to"));
		return false;
	}
	return true;
}

static const char *js(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

static void print_alert_line(json_t *a)
{
	printf("#%" JSON_INTEGER_FORMAT " [%s] %s %s %s %s (%" JSON_INTEGER_FORMAT "): %s\n",
	       json_integer_value(json_object_get(a, "id")), js(a, "severity"), js(a, "rule"),
	       js(a, "staff_id"), js(a, "day"), js(a, "status"),
	       json_integer_value(json_object_get(a, "nevents")), i18n_is_ja() ? js(a, "ja") : js(a, "en"));
}

/* The listing summary and a detail view, written out separately because
 * the two languages put the numbers in a different order. */
static void print_list(json_t *j)
{
	json_t *v;
	size_t i, n = json_array_size(json_object_get(j, "alerts"));
	json_int_t total = json_integer_value(json_object_get(j, "total"));
	json_int_t page = json_integer_value(json_object_get(j, "page"));

	json_array_foreach(json_object_get(j, "alerts"), i, v)
		print_alert_line(v);
	if (i18n_is_ja())
		printf("%" JSON_INTEGER_FORMAT " 件中 %zu 件（%" JSON_INTEGER_FORMAT " ページ目）\n", total,
		       n, page);
	else
		printf("%zu of %" JSON_INTEGER_FORMAT " alerts (page %" JSON_INTEGER_FORMAT ")\n", n, total,
		       page);
}

static void print_detail(json_t *a)
{
	json_t *v;
	size_t i;

	print_alert_line(a);
	printf(T("  職員 %s（%s）、所属 %s、%s 〜 %s\n", "  staff %s (%s), dept %s, %s to %s\n"),
	       js(a, "staff_id"), js(a, "staff_name"), js(a, "dept"), js(a, "first_ts"),
	       js(a, "last_ts"));
	printf("%s\n", T("  イベント（監査台帳の番号、ref、時刻）:", "  events (ledger index, ref, time):"));
	json_array_foreach(json_object_get(a, "events"), i, v)
		printf("    %" JSON_INTEGER_FORMAT " %s %s\n", json_integer_value(json_object_get(v, "index")),
		       *js(v, "ref") ? js(v, "ref") : "-", js(v, "ts"));
	if (json_array_size(json_object_get(a, "history")))
		printf("%s\n", T("  対応履歴:", "  history:"));
	json_array_foreach(json_object_get(a, "history"), i, v)
		printf("    %s %s %s -> %s%s%s\n", js(v, "ts"), js(v, "actor"), js(v, "from"), js(v, "to"),
		       *js(v, "reason") ? ": " : "", js(v, "reason"));
}

/* The JSON in out as it is (--json), or read back and shown by show:
 * 0, or ERR_CORRUPT when it does not parse. */
static int emit(const struct buf *out, bool json, void (*show)(json_t *))
{
	json_t *j;

	if (json) {
		printf("%s\n", out->data);
		return 0;
	}
	if ((j = json_loadb(out->data, out->len, 0, NULL)) == NULL)
		return ERR_CORRUPT;
	show(j);
	json_decref(j);
	return 0;
}


static int alerts_list(int argc, char **argv)
{
	const char *help = NULL, *json = NULL, *from = NULL, *to = NULL, *page = NULL, *per = NULL;
	struct alert_filter f = {0};
	struct cli_opt opts[] = {{"help", false, &help},      {"json", false, &json},
				 {"status", true, &f.status},  {"severity", true, &f.severity},
				 {"rule", true, &f.rule},      {"staff", true, &f.staff},
				 {"dept", true, &f.dept},      {"from", true, &from},
				 {"to", true, &to},	       {"page", true, &page},
				 {"per-page", true, &per}};
	struct instance *in = NULL;
	struct actor who;
	struct diag d;
	struct buf out;
	char *pos[1];
	int n, r, rc = EXIT_FAIL;

	n = cli_parse(argc, argv, opts, ARRAY_SIZE(opts), pos, 1);
	if (help && n >= 0) {
		alerts_usage(stdout);
		return EXIT_OK;
	}
	if (n != 1) {
		alerts_usage(stderr);
		return EXIT_USAGE;
	}
	if (!opt_date("from", from, &f.from) || !opt_date("to", to, &f.to) ||
	    !opt_count("page", page, 1000000, &f.page) ||
	    !opt_count("per-page", per, ALERT_PAGE_MAX, &f.per_page) || !filter_check(&f))
		return EXIT_USAGE;
	diag_init(&d, 20);
	buf_init(&out, BUF_MAX_DEFAULT);
	actor_cli(&who);
	if ((r = instance_open(pos[0], INSTANCE_READ_ONLY, &in, &d)) < 0) {
		diag_print(&d, stderr);
		cli_error(T("%s: インスタンスを開けません: %s", "%s: cannot open the instance: %s"), pos[0],
			  err_msg(r));
		goto out;
	}
	if ((r = alerts_list_json(instance_store(in), &who, &f, &out)) < 0) {
		cli_error(T("アラートを読めません: %s", "cannot read the alerts: %s"), err_msg(r));
		goto out;
	}
	if (emit(&out, json, print_list) == 0)
		rc = EXIT_OK;
out:
	instance_close(in);
	buf_release(&out);
	diag_release(&d);
	return rc;
}

static bool alert_id_arg(const char *s, int64_t *id)
{
	if (parse_i64(s, strlen(s), 1, INT64_MAX, id) == 0)
		return true;
	cli_error(T("'%s': アラート ID は正の整数です", "'%s': an alert id is a positive whole number"), s);
	return false;
}

static int alerts_show(int argc, char **argv)
{
	const char *help = NULL, *json = NULL;
	struct cli_opt opts[] = {{"help", false, &help}, {"json", false, &json}};
	struct instance *in = NULL;
	struct actor who;
	struct diag d;
	struct buf out;
	int64_t id;
	char *pos[2];
	int n, r, rc = EXIT_FAIL;

	n = cli_parse(argc, argv, opts, ARRAY_SIZE(opts), pos, 2);
	if (help && n >= 0) {
		alerts_usage(stdout);
		return EXIT_OK;
	}
	if (n != 2) {
		alerts_usage(stderr);
		return EXIT_USAGE;
	}
	if (!alert_id_arg(pos[1], &id))
		return EXIT_USAGE;
	diag_init(&d, 20);
	buf_init(&out, BUF_MAX_DEFAULT);
	actor_cli(&who);
	if ((r = instance_open(pos[0], INSTANCE_READ_ONLY, &in, &d)) < 0) {
		diag_print(&d, stderr);
		cli_error(T("%s: インスタンスを開けません: %s", "%s: cannot open the instance: %s"), pos[0],
			  err_msg(r));
		goto out;
	}
	if ((r = alerts_get_json(instance_store(in), &who, id, &out)) < 0) {
		cli_error(r == ERR_NOT_FOUND ? T("アラート %s はありません", "no alert %s")
					     : T("アラート %s を読めません", "cannot read alert %s"),
			  pos[1]);
		goto out;
	}
	if (emit(&out, json, print_detail) == 0)
		rc = EXIT_OK;
out:
	instance_close(in);
	buf_release(&out);
	diag_release(&d);
	return rc;
}

static int alerts_triage_cmd(int argc, char **argv)
{
	const char *help = NULL, *status = NULL, *reason = NULL;
	struct cli_opt opts[] = {{"help", false, &help}, {"status", true, &status},
				 {"reason", true, &reason}};
	struct instance *in = NULL;
	struct actor who;
	struct diag d;
	enum alert_status to;
	uint64_t idx = 0;
	int64_t id;
	char *pos[2];
	int n, r, rc = EXIT_FAIL;

	n = cli_parse(argc, argv, opts, ARRAY_SIZE(opts), pos, 2);
	if (help && n >= 0) {
		alerts_usage(stdout);
		return EXIT_OK;
	}
	if (n != 2 || !status) {
		alerts_usage(stderr);
		return EXIT_USAGE;
	}
	if (!alert_id_arg(pos[1], &id))
		return EXIT_USAGE;
	if (alert_status_parse(status, &to) < 0) {
		cli_error(T("--status '%s': open, confirmed, false_positive, escalated のいずれかです",
			    "--status '%s': one of open, confirmed, false_positive, escalated"),
			  status);
		return EXIT_USAGE;
	}
	if (to == AS_FALSE_POSITIVE && (!reason || !*reason)) {
		cli_error("%s", T("誤検知（false_positive）には --reason が必要です",
				  "a false positive needs --reason"));
		return EXIT_USAGE;
	}
	diag_init(&d, 20);
	actor_cli(&who);
	if ((r = instance_open(pos[0], INSTANCE_WRITE, &in, &d)) < 0) {
		diag_print(&d, stderr);
		cli_error(T("%s: インスタンスを開けません: %s", "%s: cannot open the instance: %s"), pos[0],
			  err_msg(r));
		goto out;
	}
	r = alerts_triage(instance_store(in), instance_ledger(in), &who, id, to, reason, &idx);
	if (r == ERR_NOT_FOUND)
		cli_error(T("アラート %s はありません", "no alert %s"), pos[1]);
	else if (r == ERR_CONFLICT)
		cli_error(T("アラート %s は既に %s です", "alert %s is already %s"), pos[1], status);
	else if (r == ERR_INVALID)
		cli_error("%s", T("理由が不正です（空、長すぎる、または制御文字を含む）",
				  "the reason is not valid (empty, too long, or with control characters)"));
	else if (r < 0)
		cli_error(T("対応を記録できません: %s", "cannot record the triage: %s"), err_msg(r));
	if (r < 0)
		goto out;
	printf(T("アラート %s を %s にしました（監査台帳 %" PRIu64 " 番）\n",
		 "alert %s is now %s (ledger index %" PRIu64 ")\n"),
	       pos[1], status, idx);
	rc = EXIT_OK;
out:
	instance_close(in);
	diag_release(&d);
	return rc;
}

int cmd_alerts(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "triage") == 0)
		return alerts_triage_cmd(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "show") == 0)
		return alerts_show(argc - 1, argv + 1);
	return alerts_list(argc, argv);
}
