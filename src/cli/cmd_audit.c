/*
 * cmd_audit.c - `mamori audit DIR [--from DATE] [--to DATE] [--events FILE]
 * [--labels FILE] [--json] [--quiet]`: run every watch rule over the
 * access events of instance DIR's ledger (or of an access.jsonl file)
 * against its registry, with the thresholds of its policy file, and print
 * the alerts; with --labels, measure precision and recall per label kind
 * (src/watch/watch.h).
 */
#include "base/base.h"
#include "base/buf.h"
#include "base/diag.h"
#include "base/i18n.h"
#include "base/timeutil.h"
#include "cli/cli.h"
#include "instance/instance.h"
#include "policy/policy.h"
#include "registry/registry.h"
#include "watch/watch.h"

#include <string.h>

static void audit_usage(FILE *f)
{
	fprintf(f, "%s",
		T("使い方: mamori audit DIR [--from DATE] [--to DATE] [--labels FILE] [--json] [--quiet]\n"
		  "       mamori audit DIR --events FILE [--labels FILE] [--json] [--quiet]\n"
		  "  インスタンス DIR の監査台帳に記録されたアクセス（種類 access と decision）、\n"
		  "  または --events のアクセス記録 FILE（access.jsonl）を台帳（住民・職員・案件）と\n"
		  "  照合し、業務上の理由が見当たらないアクセスや規則違反をアラートとして出力します\n"
		  "  （職員・規則・日ごとに 1 件）。しきい値はポリシーファイルの watch: 節に従います。\n"
		  "  --from DATE    この日（YYYY-MM-DD、日本時間）以降のアクセスだけを調べます\n"
		  "  --to DATE      この日（を含む）までのアクセスだけを調べます\n"
		  "  --events FILE  監査台帳ではなくファイルを調べます（--from/--to は使えません）\n"
		  "  --labels FILE  正解ラベル（labels.jsonl）に対する種類ごとの適合率・再現率と\n"
		  "                 職員 1,000 人・1 日あたりのアラート数を表示します\n"
		  "  --json         アラートを JSON Lines で出力します（集計は標準エラーへ）\n"
		  "  --quiet        アラートを出力せず、集計だけを表示します\n"
		  "終了コード: 0 成功、1 読めない・不正な記録がある、2 使い方の誤り\n",
		  "usage: mamori audit DIR [--from DATE] [--to DATE] [--labels FILE] [--json] [--quiet]\n"
		  "       mamori audit DIR --events FILE [--labels FILE] [--json] [--quiet]\n"
		  "  Checks the accesses recorded in the ledger of instance DIR (records of\n"
		  "  kind access and decision), or with --events the access events in FILE\n"
		  "  (access.jsonl), against the registry of DIR and prints an alert for each\n"
		  "  person, rule and day with accesses that nothing explains or that break\n"
		  "  a rule. Thresholds come from the watch: section of the policy file.\n"
		  "  --from DATE    only accesses on or after this day (YYYY-MM-DD, JST)\n"
		  "  --to DATE      only accesses on or before this day\n"
		  "  --events FILE  audit the file instead of the ledger (no --from/--to)\n"
		  "  --labels FILE  precision and recall per label kind against labels.jsonl,\n"
		  "                 and alerts per 1,000 staff per day\n"
		  "  --json         alerts as JSON Lines (the summary goes to stderr)\n"
		  "  --quiet        no alerts, only the summary\n"
		  "exit status: 0 success, 1 unreadable or invalid records, 2 usage error\n"));
}

struct audit_out {
	bool json, quiet;
	const char *seq_key; /* "lines" or "indexes" */
	struct buf b;
};

static int print_alert(const struct watch_alert *a, void *ctx)
{
	struct audit_out *o = ctx;
	char date[DATE_TEXT_MAX];
	int r;
	if (o->quiet)
		return 0;
	buf_reset(&o->b);
	if (o->json) {
		if ((r = watch_alert_json_keyed(a, o->seq_key, &o->b)) < 0 || (r = buf_putc(&o->b, '\n')) < 0)
			return r;
	} else {
		date_format(a->day, date);
		if ((r = buf_printf(&o->b, "[%s] %s %s %s %zu: %s\n  refs:", watch_severity_name(a->severity),
				    a->code, a->staff_id, date, a->nevents,
				    i18n_is_ja() ? a->text_ja : a->text_en)) < 0)
			return r;
		for (size_t i = 0; i < a->nevents; i++)
			if ((r = buf_printf(&o->b, " %s", a->refs[i][0] ? a->refs[i] : "-")) < 0)
				return r;
		if ((r = buf_putc(&o->b, '\n')) < 0)
			return r;
	}
	if (fwrite(o->b.data, 1, o->b.len, stdout) != o->b.len)
		return ERR_IO;
	return 0;
}

static double ratio(size_t a, size_t b)
{
	return b ? (double)a / (double)b : 0.0;
}

static void print_summary(FILE *f, const struct watch_counts *c, size_t nstaff,
			  const struct watch_quality *q)
{
	fprintf(f, T("イベント %" PRIu64 " 件（説明あり %" PRIu64 "、説明なし %" PRIu64 "）、%" PRIu64
		     " 日、アラート %" PRIu64 " 件、職員 1,000 人・1 日あたり %.1f 件\n",
		     "%" PRIu64 " events (%" PRIu64 " explained, %" PRIu64 " unexplained), %" PRIu64
		     " days, %" PRIu64 " alerts, %.1f alerts per 1,000 staff per day\n"),
		c->events, c->explained, c->unexplained, c->days, c->alerts,
		nstaff && c->days ? 1000.0 * (double)c->alerts / ((double)nstaff * (double)c->days) : 0.0);
	for (int r = 0; r < WR__COUNT; r++)
		if (c->alerts_by_rule[r])
			fprintf(f, "  %-22s %" PRIu64 "\n", watch_rule_info(r)->code, c->alerts_by_rule[r]);
	if (!q)
		return;
	fprintf(f, T("%-12s %8s %8s %8s %8s %10s\n", "%-12s %8s %8s %8s %8s %10s\n"),
		T("種類", "kind"), T("正解", "labels"), T("検出", "found"), T("再現率", "recall"),
		T("指摘", "flagged"), T("適合率", "precision"));
	for (size_t k = 0; k < q->nkinds; k++)
		fprintf(f, "%-12s %8zu %8zu %8.3f %8zu %10.3f\n", q->kind_names[k], q->labelled[k],
			q->hit[k], ratio(q->hit[k], q->labelled[k]), q->flagged_by_kind[k],
			ratio(q->flagged_true_by_kind[k], q->flagged_by_kind[k]));
	size_t hit = 0;
	for (size_t k = 0; k < q->nkinds; k++)
		hit += q->hit[k];
	fprintf(f, "%-12s %8zu %8zu %8.3f %8zu %10.3f\n", T("全体", "overall"), q->labels, hit,
		ratio(hit, q->labels), q->flagged, ratio(q->flagged_true, q->flagged));
	if (q->unmatched_labels)
		fprintf(f, T("注意: イベントに見つからないラベル %zu 件\n",
			     "note: %zu labels name no event in the file\n"),
			q->unmatched_labels);
}

/* A --from/--to date; a clear message when it is not one. */
static bool audit_date(const char *opt, const char *s, int32_t *day)
{
	if (date_parse(s, strlen(s), day) == 0)
		return true;
	cli_error(T("--%s '%s': 日付ではありません（YYYY-MM-DD で指定してください）",
		    "--%s '%s': not a date (write it as YYYY-MM-DD)"),
		  opt, s);
	return false;
}

int cmd_audit(int argc, char **argv)
{
	const char *help = NULL, *events = NULL, *labels = NULL, *json = NULL, *quiet = NULL;
	const char *from = NULL, *to = NULL;
	struct cli_opt opts[] = {{"help", false, &help},   {"events", true, &events},
				 {"labels", true, &labels}, {"json", false, &json},
				 {"quiet", false, &quiet},  {"from", true, &from},
				 {"to", true, &to}};
	struct instance *in = NULL;
	struct registry_data *rd = NULL;
	struct watch_tables *t = NULL;
	struct watch_thresholds th;
	struct watch_counts c = {0};
	struct watch_ledger_stats st = {0};
	struct watch_quality q;
	struct audit_out o = {0};
	struct diag d;
	int32_t from_day = DAY_NONE, to_day = DAY_NONE;
	char *pos[1];
	int n, r, rc = EXIT_FAIL;

	n = cli_parse(argc, argv, opts, ARRAY_SIZE(opts), pos, 1);
	if (help && n >= 0) {
		audit_usage(stdout);
		return EXIT_OK;
	}
	if (n != 1) {
		audit_usage(stderr);
		return EXIT_USAGE;
	}
	if (events && (from || to)) {
		cli_error("%s", T("--from と --to は監査台帳を調べるときだけ使えます（--events とは併用できません）",
				  "--from and --to apply to the ledger only, not with --events"));
		return EXIT_USAGE;
	}
	if ((from && !audit_date("from", from, &from_day)) || (to && !audit_date("to", to, &to_day)))
		return EXIT_USAGE;
	if (from && to && from_day > to_day) {
		cli_error(T("--from %s は --to %s より後です", "--from %s is after --to %s"), from, to);
		return EXIT_USAGE;
	}
	diag_init(&d, 50);
	buf_init(&o.b, BUF_MAX_DEFAULT);
	o.json = json != NULL;
	o.quiet = quiet != NULL;
	o.seq_key = events ? "lines" : "indexes";
	if ((r = instance_open(pos[0], INSTANCE_READ_ONLY, &in, &d)) < 0) {
		diag_print(&d, stderr);
		cli_error(T("%s: インスタンスを開けません: %s", "%s: cannot open the instance: %s"),
			  pos[0], err_msg(r));
		goto out;
	}
	if ((r = instance_watch_thresholds(in, &th, &d)) < 0) {
		diag_print(&d, stderr);
		cli_error(T("ポリシーファイルを読めません: %s", "cannot read the policy file: %s"),
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
	if (events) {
		struct watch_audit_opts ao = {0};
		ao.events_path = events;
		ao.labels_path = labels;
		ao.th = &th;
		ao.fn = print_alert;
		ao.ctx = &o;
		r = watch_audit_file(t, &ao, &c, labels ? &q : NULL, &d);
	} else {
		struct watch_ledger_opts lo = {0};
		lo.from_day = from_day;
		lo.to_day = to_day;
		lo.labels_path = labels;
		lo.th = &th;
		lo.name = "ledger";
		lo.fn = print_alert;
		lo.ctx = &o;
		r = watch_audit_ledger(t, instance_ledger(in), &lo, &c, &st, labels ? &q : NULL, &d);
	}
	fflush(stdout);
	if (r < 0) {
		diag_print(&d, stderr);
		cli_error(T("監査に失敗しました: %s", "the audit failed: %s"), err_msg(r));
		goto out;
	}
	if (!events)
		fprintf(o.json ? stderr : stdout,
			T("監査台帳の記録 %" PRIu64 " 件: アクセス %" PRIu64 " 件、判定 %" PRIu64
			  " 件、期間外 %" PRIu64 " 件\n",
			  "%" PRIu64 " ledger records: %" PRIu64 " access events, %" PRIu64
			  " decisions, %" PRIu64 " outside the period\n"),
			st.records, st.access, st.decision, st.outside);
	if (!events && st.apart)
		fprintf(o.json ? stderr : stdout,
			T("%" PRIu64 " 日分は、後の日のイベントより後に記録されたイベントがあったため、"
			  "その日だけで監査しました（アラートは日付順から外れて出ています）\n",
			  "%" PRIu64 " days had events recorded after later days' and were audited on "
			  "their own (their alerts are out of day order)\n"),
			st.apart);
	print_summary(o.json ? stderr : stdout, &c, rd->nstaff, labels ? &q : NULL);
	rc = EXIT_OK;
out:
	watch_tables_free(t);
	registry_data_free(rd);
	instance_close(in);
	buf_release(&o.b);
	diag_release(&d);
	return rc;
}
