/*
 * cmd_isms_cycle.c - the commands of the ISMS cycle (docs/isms-cycle.md),
 * the same functions the API calls:
 *
 *   mamori incident DIR list [--overdue] [--csv]
 *   mamori incident DIR show ID
 *   mamori incident DIR report (--json FILE|-)
 *   mamori incident DIR triage ID (--json FILE|-)
 *   mamori incident DIR note ID --type TYPE --text TEXT [--party NAME]
 *   mamori incident DIR close ID (--json FILE|-)
 *   mamori incident DIR from-alert ALERT_ID
 *   mamori incident DIR ppc-report ID [--pdf FILE]
 *   mamori checklists DIR issue --year YEAR [--dept ID]
 *   mamori escalations DIR
 *   mamori indicators DIR
 *   mamori bcp DIR status
 *   mamori report DIR NAME [--format html|pdf|csv] [--dept ID] [--year YEAR] [--out FILE]
 *
 * The records themselves are created, listed and exported with the
 * generic `mamori isms DIR KIND ...`. The operator at the command line
 * acts as admin (actor_cli); ("audit" is taken by the watch command,
 * hence "checklists" and "report").
 */
#include "base/base.h"

#include <jansson.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/actor.h"
#include "base/buf.h"
#include "base/diag.h"
#include "base/fileio.h"
#include "base/i18n.h"
#include "cli/cli.h"
#include "instance/instance.h"
#include "isms/isms_cycle.h"
#include "isms/report.h"

static void usage(FILE *f)
{
	fprintf(f, "%s",
		T("使い方: mamori incident DIR list [--overdue] [--csv] | show ID\n"
		  "       mamori incident DIR report (--json FILE|-)\n"
		  "       mamori incident DIR triage ID (--json FILE|-) | close ID (--json FILE|-)\n"
		  "       mamori incident DIR note ID --type TYPE --text TEXT [--party NAME]\n"
		  "       mamori incident DIR from-alert ALERT_ID | ppc-report ID [--pdf FILE]\n"
		  "       mamori checklists DIR issue --year 年度 [--dept ID]\n"
		  "       mamori escalations DIR | indicators DIR | bcp DIR status\n"
		  "       mamori report DIR NAME [--format html|pdf|csv] [--dept ID] [--year 年度] "
		  "[--out FILE]\n"
		  "  incident: インシデントの報告・トリアージ・経過・終結、監視アラートからの"
		  "エスカレーション、\n"
		  "            個人情報保護委員会への報告期限（速報・確報・本人通知）の表示。\n"
		  "  checklists: 自己点検票を部署に送ります。escalations: 期限超過の是正処置等。\n"
		  "  report NAME: annual, soa, incidents, audit-summary, dept-status。\n"
		  "  結果は JSON（report は HTML/PDF/CSV）で標準出力または --out に出ます。\n"
		  "終了コード: 0 成功、1 失敗、2 使い方の誤り\n",
		  "usage: mamori incident DIR list [--overdue] [--csv] | show ID\n"
		  "       mamori incident DIR report (--json FILE|-)\n"
		  "       mamori incident DIR triage ID (--json FILE|-) | close ID (--json FILE|-)\n"
		  "       mamori incident DIR note ID --type TYPE --text TEXT [--party NAME]\n"
		  "       mamori incident DIR from-alert ALERT_ID | ppc-report ID [--pdf FILE]\n"
		  "       mamori checklists DIR issue --year YEAR [--dept ID]\n"
		  "       mamori escalations DIR | indicators DIR | bcp DIR status\n"
		  "       mamori report DIR NAME [--format html|pdf|csv] [--dept ID] [--year YEAR] "
		  "[--out FILE]\n"
		  "  incident: report, triage, timeline and closure of incidents, escalation of a\n"
		  "            watch alert, and the clocks of the reports to the PPC.\n"
		  "  checklists: send the self-inspection to departments. escalations: overdue\n"
		  "              corrective actions, tasks and checklists.\n"
		  "  report NAME: annual, soa, incidents, audit-summary, dept-status.\n"
		  "  Results are JSON (reports HTML/PDF/CSV) on standard output or --out.\n"
		  "exit status: 0 success, 1 failure, 2 usage error\n"));
}

static int print_json(const json_t *v)
{
	char *t = json_dumps(v, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(6));

	if (!t)
		return ERR_NOMEM;
	printf("%s\n", t);
	free(t);
	return 0;
}

static void report_err(int r, const struct diag *d, const char *what)
{
	if (d && d->n)
		diag_print(d, stderr);
	if (r == ERR_FORBIDDEN)
		cli_error(T("%s: 権限がありません", "%s: not allowed"), what);
	else
		cli_error("%s: %s", what, err_msg(r));
}

/* The JSON object of --json FILE ("-" = standard input). */
static int read_json(const char *file, json_t **out)
{
	json_error_t e;

	if (!file) {
		cli_error("%s", T("--json FILE が必要です", "--json FILE is required"));
		return ERR_USAGE;
	}
	*out = strcmp(file, "-") ? json_load_file(file, 0, &e) : json_loadf(stdin, 0, &e);
	if (!*out || !json_is_object(*out)) {
		cli_error("%s:%d: %s", file, e.line,
			  *out ? T("JSON オブジェクトではありません", "not a JSON object") : e.text);
		json_decref(*out);
		*out = NULL;
		return ERR_INVALID;
	}
	return 0;
}

static int write_out(const char *file, const struct buf *b)
{
	if (!file || !strcmp(file, "-"))
		return fwrite(b->data, 1, b->len, stdout) == b->len ? 0 : ERR_IO;
	return file_write_atomic(file, b->data, b->len, 0644);
}

static int do_incident(struct isms_ctx *c, const struct cycle_env *env, char **pos, int npos,
		       const char *json_file, const char *type, const char *text,
		       const char *party, const char *pdf, bool overdue, bool csv, struct diag *d)
{
	const char *verb = pos[1], *id = npos > 2 ? pos[2] : NULL;
	char newid[ISMS_ID_MAX];
	json_t *in = NULL, *res = NULL;
	struct buf b;
	int r = 0;

	buf_init(&b, (size_t)64 << 20);
	if (!strcmp(verb, "list")) {
		struct isms_query q = {0};
		size_t total = 0, i;
		json_t *it, *kept;
		if (csv) {
			const char *ct;
			if ((r = cycle_report(c, env, "incidents", CYCLE_CSV, NULL, 0, &b, &ct)) == 0)
				r = write_out(NULL, &b);
			goto out;
		}
		q.per_page = ISMS_PER_PAGE_MAX;
		if ((r = cycle_incident_list(c, env, &q, &res, &total)) < 0)
			goto out;
		kept = json_array();
		json_array_foreach(res, i, it)
			if (!overdue ||
			    json_is_true(json_object_get(json_object_get(it, "ppc"), "overdue")))
				json_array_append(kept, it);
		r = print_json(kept);
		json_decref(kept);
	} else if (!strcmp(verb, "report")) {
		if ((r = read_json(json_file, &in)) < 0 ||
		    (r = cycle_incident_report(c, in, d, newid)) < 0 ||
		    (r = cycle_incident_view(c, env, newid, &res)) < 0)
			goto out;
		r = print_json(res);
	} else if (!id) {
		r = ERR_USAGE;
	} else if (!strcmp(verb, "show")) {
		if ((r = cycle_incident_view(c, env, id, &res)) == 0)
			r = print_json(res);
	} else if (!strcmp(verb, "triage") || !strcmp(verb, "close")) {
		if ((r = read_json(json_file, &in)) < 0)
			goto out;
		r = !strcmp(verb, "triage") ? cycle_incident_triage(c, id, in, d)
					    : cycle_incident_close(c, id, in, d);
		if (r == 0 && (r = cycle_incident_view(c, env, id, &res)) == 0)
			r = print_json(res);
	} else if (!strcmp(verb, "note")) {
		if (!text) {
			cli_error("%s", T("--text が必要です", "--text is required"));
			r = ERR_USAGE;
			goto out;
		}
		if ((r = cycle_incident_note(c, id, type ? type : "note", text, party, d, newid)) == 0)
			printf("%s\n", newid);
	} else if (!strcmp(verb, "from-alert")) {
		int64_t aid;
		if (parse_i64(id, strlen(id), 1, INT64_MAX, &aid) < 0) {
			r = ERR_USAGE;
			goto out;
		}
		newid[0] = '\0';
		r = cycle_incident_from_alert(c, aid, d, newid);
		if (newid[0] && cycle_incident_view(c, env, newid, &res) == 0)
			(void)print_json(res);
	} else if (!strcmp(verb, "ppc-report")) {
		if ((r = cycle_ppc_draft_html(c, env, id, &b)) < 0)
			goto out;
		if (pdf) {
			struct buf p;
			buf_init(&p, REPORT_PDF_MAX);
			if ((r = report_pdf(b.data, b.len, 0, &p)) == 0)
				r = write_out(pdf, &p);
			else if (r == ERR_NOT_FOUND)
				cli_error("%s", report_pdf_missing_msg());
			buf_release(&p);
		} else {
			r = write_out(NULL, &b);
		}
	} else {
		r = ERR_USAGE;
	}
out:
	json_decref(in);
	json_decref(res);
	buf_release(&b);
	return r;
}

int cmd_isms_cycle(int argc, char **argv)
{
	const char *word = argv[0], *json_file = NULL, *type = NULL, *text = NULL, *party = NULL,
		   *pdf = NULL, *overdue = NULL, *csv = NULL, *year_s = NULL, *dept = NULL,
		   *format = NULL, *outf = NULL, *help = NULL;
	struct cli_opt opts[] = {
	    {"json", true, &json_file}, {"type", true, &type},	   {"text", true, &text},
	    {"party", true, &party},	{"pdf", true, &pdf},	   {"overdue", false, &overdue},
	    {"csv", false, &csv},	{"year", true, &year_s},   {"dept", true, &dept},
	    {"format", true, &format},	{"out", true, &outf},	   {"help", false, &help},
	};
	char *pos[4] = {0};
	struct instance *in = NULL;
	struct isms_ctx c = {0};
	struct cycle_env env;
	struct actor who;
	struct diag d;
	json_t *res = NULL;
	int64_t year = 0;
	int npos, r = 0, rc = EXIT_FAIL;
	bool need_verb = strcmp(word, "escalations") != 0 && strcmp(word, "indicators") != 0;

	diag_init(&d, 100);
	npos = cli_parse(argc, argv, opts, ARRAY_SIZE(opts), pos, 4);
	if (help) {
		usage(stdout);
		rc = EXIT_OK;
		goto out;
	}
	if (npos < (need_verb ? 2 : 1) ||
	    (year_s && parse_i64(year_s, strlen(year_s), 2000, 2999, &year) < 0)) {
		if (npos >= 0)
			usage(stderr);
		rc = EXIT_USAGE;
		goto out;
	}
	actor_cli(&who);
	if ((r = instance_open(pos[0], INSTANCE_WRITE, &in, &d)) < 0) {
		diag_print(&d, stderr);
		cli_error("%s: %s", pos[0], err_msg(r));
		goto out;
	}
	if ((r = cycle_env_load(&env, instance_dir(in), instance_config(in)->name, &d)) < 0) {
		report_err(r, &d, "isms-cycle.conf");
		goto out;
	}
	c.st = instance_store(in);
	c.lg = instance_ledger(in);
	c.actor = &who;

	if (!strcmp(word, "incident")) {
		r = do_incident(&c, &env, pos, npos, json_file, type, text, party, pdf,
				overdue != NULL, csv != NULL, &d);
	} else if (!strcmp(word, "checklists") && !strcmp(pos[1], "issue")) {
		json_t *depts = NULL;
		size_t made = 0;
		if (!year) {
			usage(stderr);
			rc = EXIT_USAGE;
			goto out;
		}
		if (dept)
			depts = json_pack("[s]", dept);
		r = cycle_checklists_issue(&c, year, depts, &made);
		json_decref(depts);
		if (r == 0)
			printf(T("自己点検票: %zu 部署に送付しました\n",
				 "self-inspection: sent to %zu departments\n"),
			       made);
	} else if (!strcmp(word, "escalations")) {
		if ((r = cycle_escalations(&c, &res)) == 0)
			r = print_json(res);
	} else if (!strcmp(word, "indicators")) {
		if ((r = cycle_indicators(&c, &env, &res)) == 0)
			r = print_json(res);
	} else if (!strcmp(word, "bcp") && !strcmp(pos[1], "status")) {
		if ((r = cycle_bcp_status(&c, &res)) == 0)
			r = print_json(res);
	} else if (!strcmp(word, "report")) {
		enum cycle_format f = CYCLE_HTML;
		const char *ct;
		struct buf b;
		if (format && !strcmp(format, "pdf"))
			f = CYCLE_PDF;
		else if (format && !strcmp(format, "csv"))
			f = CYCLE_CSV;
		else if (format && strcmp(format, "html") != 0) {
			usage(stderr);
			rc = EXIT_USAGE;
			goto out;
		}
		buf_init(&b, (size_t)64 << 20);
		r = cycle_report(&c, &env, pos[1], f, dept, year, &b, &ct);
		if (r == ERR_NOT_FOUND && f == CYCLE_PDF)
			cli_error("%s", report_pdf_missing_msg());
		if (r == 0)
			r = write_out(outf, &b);
		buf_release(&b);
	} else {
		r = ERR_USAGE;
	}
	if (r == ERR_USAGE) {
		usage(stderr);
		rc = EXIT_USAGE;
		goto out;
	}
	if (r < 0) {
		report_err(r, &d, word);
		goto out;
	}
	rc = EXIT_OK;
out:
	json_decref(res);
	diag_release(&d);
	instance_close(in);
	return rc;
}
