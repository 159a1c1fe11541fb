/*
 * cmd_isms.c - `mamori isms DIR KIND VERB ...`: the ISMS records of every
 * kind (list, get, history, create, update, retire, import, export) and
 * the plan workflows (approve a document version, who holds which role,
 * an asset's handling rules, the risk heat map, the public policy page).
 * A thin shell over src/isms/ (the API calls the same functions). The
 * operator at the command line acts as admin (actor_cli); workflows of
 * the people side (soa, training, notices, contracts) are handed to
 * cmd_isms_people.
 */
#include "base/base.h"

#include <jansson.h>

#include "base/actor.h"
#include "base/buf.h"
#include "base/diag.h"
#include "base/fileio.h"
#include "base/i18n.h"
#include "cli/cli.h"
#include "instance/instance.h"
#include "isms/isms.h"
#include "isms/plan.h"

#define JSON_IN_MAX ((size_t)8 << 20)

static void usage(FILE *f)
{
	fprintf(
	    f, "%s",
	    T("使い方: mamori isms DIR kinds\n"
	      "        mamori isms DIR KIND list [--filter 項目=値]... [--q 文字列] [--sort 項目]\n"
	      "                     [--desc] [--page N] [--per-page N] [--include-retired] [--csv] "
	      "[--json]\n"
	      "        mamori isms DIR KIND get ID | history ID\n"
	      "        mamori isms DIR KIND create --json FILE|-\n"
	      "        mamori isms DIR KIND update ID --json FILE|- [--if-match 版]\n"
	      "        mamori isms DIR KIND retire ID --reason 理由\n"
	      "        mamori isms DIR KIND import FILE.csv\n"
	      "        mamori isms DIR KIND export [FILE]   (絞り込みは list と同じ)\n"
	      "  業務の手続:\n"
	      "        mamori isms DIR document_versions approve ID [--if-match 版]\n"
	      "        mamori isms DIR documents public [--html]\n"
	      "        mamori isms DIR org holders [--date YYYY-MM-DD]\n"
	      "        mamori isms DIR assets handling ID\n"
	      "        mamori isms DIR risks heatmap | threats\n"
	      "  KIND は mamori isms DIR kinds で一覧できます(assets, risks, documents ...)。\n"
	      "  コマンドラインの操作者は admin として記録されます(台帳の actor は "
	      "cli:<利用者>)。\n"
	      "  基本方針と対策基準の承認は CISO の役割のキーで API から行います。\n"
	      "終了コード: 0 成功、1 失敗(入力の誤りは FILE:LINE: 項目 の形で表示)、2 "
	      "使い方の誤り\n",
	      "usage: mamori isms DIR kinds\n"
	      "       mamori isms DIR KIND list [--filter FIELD=VALUE]... [--q TEXT] [--sort "
	      "FIELD]\n"
	      "                    [--desc] [--page N] [--per-page N] [--include-retired] [--csv] "
	      "[--json]\n"
	      "       mamori isms DIR KIND get ID | history ID\n"
	      "       mamori isms DIR KIND create --json FILE|-\n"
	      "       mamori isms DIR KIND update ID --json FILE|- [--if-match VERSION]\n"
	      "       mamori isms DIR KIND retire ID --reason TEXT\n"
	      "       mamori isms DIR KIND import FILE.csv\n"
	      "       mamori isms DIR KIND export [FILE]   (filters as for list)\n"
	      "  workflows:\n"
	      "       mamori isms DIR document_versions approve ID [--if-match VERSION]\n"
	      "       mamori isms DIR documents public [--html]\n"
	      "       mamori isms DIR org holders [--date YYYY-MM-DD]\n"
	      "       mamori isms DIR assets handling ID\n"
	      "       mamori isms DIR risks heatmap | threats\n"
	      "  mamori isms DIR kinds lists the KINDs (assets, risks, documents, ...).\n"
	      "  The operator at the command line acts as admin (ledger actor cli:<user>).\n"
	      "  The basic policy and standards are approved through the API with a ciso key.\n"
	      "exit status: 0 success, 1 failure (bad input shown as FILE:LINE: field), 2 usage "
	      "error\n"));
}

/* The options of every verb; which apply is checked by the verb. */
struct isms_opts {
	const char *filters[16][2];
	size_t nfilters;
	const char *q, *sort, *page, *per_page, *json, *reason, *if_match, *date;
	bool desc, retired, csv, json_out, html, help;
	char *pos[6];
	int npos;
};

/* Parse argv (after "isms"); false after a usage message. */
static bool parse_args(int argc, char **argv, struct isms_opts *o)
{
	static const struct {
		const char *name;
		size_t off;
	} valued[] = {
	    {"q", offsetof(struct isms_opts, q)},
	    {"sort", offsetof(struct isms_opts, sort)},
	    {"page", offsetof(struct isms_opts, page)},
	    {"per-page", offsetof(struct isms_opts, per_page)},
	    {"json", offsetof(struct isms_opts, json)},
	    {"reason", offsetof(struct isms_opts, reason)},
	    {"if-match", offsetof(struct isms_opts, if_match)},
	    {"date", offsetof(struct isms_opts, date)},
	};
	bool opts_done = false;

	memset(o, 0, sizeof(*o));
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val = NULL;
		char name[32];
		bool found = false;
		if (opts_done || strncmp(a, "--", 2) || !strcmp(a, "-")) {
			if (o->npos >= (int)ARRAY_SIZE(o->pos)) {
				cli_error(T("引数が多すぎます: %s", "too many arguments: %s"), a);
				return false;
			}
			o->pos[o->npos++] = argv[i];
			continue;
		}
		if (!strcmp(a, "--")) {
			opts_done = true;
			continue;
		}
		a += 2;
		{
			const char *eq = strchr(a, '=');
			size_t n = eq ? (size_t)(eq - a) : strlen(a);
			if (n >= sizeof(name)) {
				cli_error(T("不明なオプション --%s", "unknown option --%s"), a);
				return false;
			}
			memcpy(name, a, n);
			name[n] = '\0';
			if (eq)
				val = eq + 1;
		}
		if (!strcmp(name, "desc") || !strcmp(name, "include-retired") ||
		    !strcmp(name, "csv") || !strcmp(name, "html") || !strcmp(name, "help") ||
		    (!strcmp(name, "json") && !val &&
		     (i + 1 >= argc || !strncmp(argv[i + 1], "--", 2)))) {
			if (!strcmp(name, "desc"))
				o->desc = true;
			else if (!strcmp(name, "include-retired"))
				o->retired = true;
			else if (!strcmp(name, "csv"))
				o->csv = true;
			else if (!strcmp(name, "html"))
				o->html = true;
			else if (!strcmp(name, "help"))
				o->help = true;
			else
				o->json_out = true;
			continue;
		}
		if (!val) {
			if (i + 1 >= argc) {
				cli_error(T("--%s には値が必要です", "--%s needs a value"), name);
				return false;
			}
			val = argv[++i];
		}
		if (!strcmp(name, "filter")) {
			const char *eq = strchr(val, '=');
			if (!eq || eq == val || o->nfilters >= ARRAY_SIZE(o->filters)) {
				cli_error(T("--filter は 項目=値 の形です(16 個まで): %s",
					    "--filter takes FIELD=VALUE (at most 16): %s"),
					  val);
				return false;
			}
			/* Split in place: argv strings are ours to change. */
			*(char *)eq = '\0';
			o->filters[o->nfilters][0] = val;
			o->filters[o->nfilters][1] = eq + 1;
			o->nfilters++;
			continue;
		}
		for (size_t k = 0; k < ARRAY_SIZE(valued); k++)
			if (!strcmp(name, valued[k].name)) {
				*(const char **)((char *)o + valued[k].off) = val;
				found = true;
			}
		if (!found) {
			cli_error(T("不明なオプション --%s", "unknown option --%s"), name);
			return false;
		}
	}
	return true;
}

static bool parse_count(const char *opt, const char *s, int64_t max, size_t *out)
{
	int64_t n;

	if (!s)
		return true;
	if (parse_i64(s, strlen(s), 1, max, &n) < 0) {
		cli_error(T("--%s は 1 から %" PRId64 " の整数です: %s",
			    "--%s is a whole number from 1 to %" PRId64 ": %s"),
			  opt, max, s);
		return false;
	}
	*out = (size_t)n;
	return true;
}

/* Print a JSON value, indented, on stdout. */
static int print_json(const json_t *v)
{
	char *text = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

	if (!text)
		return ERR_NOMEM;
	printf("%s\n", text);
	free(text);
	return 0;
}

/* Report an engine error, with every diagnostic. */
static void report(int r, const struct diag *d, const char *what)
{
	if (d && d->n > 0)
		diag_print(d, stderr);
	cli_error("%s: %s", what, err_msg(r));
}

/* The display width of s, counting non-ASCII characters as two cells. */
static int width_of(const char *s, size_t n)
{
	int w = 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x80)
			w++;
		else if (((unsigned char)s[i] & 0xc0) != 0x80)
			w += 2;
	return w;
}

/* Print s in a column of width cells, cut (at a character boundary) when
 * longer, newlines shown as spaces. */
static void cell(const char *s, int width)
{
	size_t n = 0, len = strlen(s);
	int w = 0;

	while (n < len) {
		size_t step = 1;
		while (n + step < len && ((unsigned char)s[n + step] & 0xc0) == 0x80)
			step++;
		int cw = width_of(s + n, step);
		if (w + cw > width - 1)
			break;
		for (size_t k = 0; k < step; k++)
			putchar(s[n + k] == '\n' || s[n + k] == '\t' ? ' ' : s[n + k]);
		w += cw;
		n += step;
	}
	printf("%*s", width > w ? width - w : 0, "");
}

static void value_text(const json_t *v, char *out, size_t cap)
{
	if (json_is_string(v))
		snprintf(out, cap, "%s", json_string_value(v));
	else if (json_is_integer(v))
		snprintf(out, cap, "%" PRId64, (int64_t)json_integer_value(v));
	else if (json_is_boolean(v))
		snprintf(out, cap, "%s", json_is_true(v) ? "true" : "false");
	else if (json_is_array(v)) {
		size_t i, used = 0;
		json_t *it;
		out[0] = '\0';
		json_array_foreach(v, i, it)
		{
			int n = snprintf(out + used, cap - used, "%s%s", i ? ";" : "",
					 json_is_string(it) ? json_string_value(it) : "?");
			if (n < 0 || (size_t)n >= cap - used)
				break;
			used += (size_t)n;
		}
	} else
		out[0] = '\0';
}

/* A table: id, version, then the kind's first fields. */
static void print_table(const struct isms_kind *k, const json_t *items, size_t total,
			const struct isms_query *q)
{
	size_t ncols = k->nfields < 4 ? k->nfields : 4, i;
	json_t *it;
	char tmp[512];

	cell("id", 12);
	cell("v", 4);
	for (size_t c = 0; c < ncols; c++)
		cell(T(k->fields[c].ja, k->fields[c].en), c + 1 == ncols ? 40 : 22);
	putchar('\n');
	json_array_foreach(items, i, it)
	{
		snprintf(tmp, sizeof(tmp), "%s%s", json_string_value(json_object_get(it, "_id")),
			 strcmp(json_string_value(json_object_get(it, "_status")), "retired")
			     ? ""
			     : "*");
		cell(tmp, 12);
		snprintf(tmp, sizeof(tmp), "%" PRId64,
			 (int64_t)json_integer_value(json_object_get(it, "_version")));
		cell(tmp, 4);
		for (size_t c = 0; c < ncols; c++) {
			value_text(json_object_get(it, k->fields[c].name), tmp, sizeof(tmp));
			cell(tmp, c + 1 == ncols ? 40 : 22);
		}
		putchar('\n');
	}
	printf(T("%zu 件中 %zu 件(%zu ページ目)%s\n", "%zu records, %zu shown (page %zu)%s\n"),
	       total, json_array_size(items), q->page ? q->page : 1,
	       q->include_retired ? T("  * は廃止", "  * retired") : "");
}

/* Read a JSON object from path ("-" = stdin). */
static int read_json(const char *path, json_t **out)
{
	struct buf b;
	json_error_t e;
	int r;

	*out = NULL;
	buf_init(&b, JSON_IN_MAX);
	if (!strcmp(path, "-")) {
		char chunk[4096];
		size_t n;
		while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
			if ((r = buf_append(&b, chunk, n)) < 0)
				goto out;
	} else if ((r = file_read_all(path, JSON_IN_MAX, &b)) < 0) {
		cli_error("%s: %s", path, err_msg(r));
		goto out;
	}
	*out = json_loadb(b.data ? b.data : "", b.len, JSON_REJECT_DUPLICATES, &e);
	if (!*out || !json_is_object(*out)) {
		cli_error(T("%s:%d:%d: JSON オブジェクトではありません: %s",
			    "%s:%d:%d: not a JSON object: %s"),
			  path, e.line, e.column, *out ? "" : e.text);
		json_decref(*out);
		*out = NULL;
		r = ERR_INVALID;
		goto out;
	}
	r = 0;
out:
	buf_release(&b);
	return r;
}

static void heatmap_grid(const json_t *m, const char *title)
{
	printf("%s\n", title);
	printf(T("影響度\\発生可能性  1    2    3    4    5\n",
		 "impact\\likelihood   1    2    3    4    5\n"));
	for (int i = 4; i >= 0; i--) {
		const json_t *row = json_array_get(m, (size_t)i);
		printf("        %d        ", i + 1);
		for (int l = 0; l < 5; l++) {
			int64_t n = json_integer_value(json_array_get(row, (size_t)l));
			if (n)
				printf("%4" PRId64 " ", n);
			else
				printf("   . ");
		}
		putchar('\n');
	}
}

/* The plan workflows; *handled false when KIND VERB is none of them. */
static int workflow(struct isms_ctx *c, const char *kind, const char *verb,
		    const struct isms_opts *o, bool *handled, struct diag *d)
{
	json_t *res = NULL;
	int r = 0;

	*handled = true;
	if (!strcmp(kind, "document_versions") && !strcmp(verb, "approve")) {
		int64_t ifv = 0;
		if (o->npos < 4 || (o->if_match && parse_i64(o->if_match, strlen(o->if_match), 1,
							     INT64_MAX, &ifv) < 0))
			return ERR_USAGE;
		if ((r = isms_document_approve(c, o->pos[3], ifv, d)) < 0)
			return r;
		printf(T("%s を承認しました\n", "%s approved\n"), o->pos[3]);
	} else if (!strcmp(kind, "documents") && !strcmp(verb, "public")) {
		if ((r = isms_public_policy(c, &res)) < 0)
			return r;
		if (o->html) {
			struct buf b;
			buf_init(&b, BUF_MAX_DEFAULT);
			if ((r = isms_public_policy_html(res, &b)) == 0)
				fwrite(b.data ? b.data : "", 1, b.len, stdout);
			buf_release(&b);
		} else {
			r = print_json(res);
		}
	} else if (!strcmp(kind, "org") && !strcmp(verb, "holders")) {
		size_t i;
		json_t *h;
		if ((r = isms_org_holders(c, o->date, &res)) == ERR_INVALID) {
			cli_error(T("--date は YYYY-MM-DD です: %s", "--date is YYYY-MM-DD: %s"),
				  o->date);
			r = ERR_USAGE;
		}
		if (r < 0)
			return r;
		if (o->json_out) {
			r = print_json(res);
			goto out;
		}
		printf(T("%s 時点の担当\n", "holders on %s\n"),
		       json_string_value(json_object_get(res, "date")));
		json_array_foreach(json_object_get(res, "holders"), i, h)
		{
			const json_t *sn = json_object_get(h, "staff_name");
			const json_t *dn = json_object_get(h, "deputy_name");
			cell(json_string_value(json_object_get(h, T("role_ja", "role_en"))), 48);
			cell(json_is_string(json_object_get(h, "dept"))
				 ? json_string_value(json_object_get(h, "dept"))
				 : "-",
			     8);
			printf("%s", json_string_value(json_object_get(h, "staff")));
			if (json_is_string(sn))
				printf(" (%s)", json_string_value(sn));
			if (json_is_string(json_object_get(h, "deputy"))) {
				printf(T("  代理: %s", "  deputy: %s"),
				       json_string_value(json_object_get(h, "deputy")));
				if (json_is_string(dn))
					printf(" (%s)", json_string_value(dn));
			}
			putchar('\n');
		}
		json_array_foreach(json_object_get(res, "vacant"), i, h)
		{
			const struct isms_org_role *ro = isms_org_role_find(json_string_value(h));
			cell(ro ? T(ro->ja, ro->en) : json_string_value(h), 48);
			printf("%s\n", T("(空席)", "(vacant)"));
		}
	} else if (!strcmp(kind, "assets") && !strcmp(verb, "handling")) {
		size_t i;
		json_t *a = NULL, *h;
		if (o->npos < 4)
			return ERR_USAGE;
		if ((r = isms_get(c, &isms_kind_assets, o->pos[3], &a)) < 0)
			return r;
		printf(T("%s 機密性 %s / 完全性 %s / 可用性 %s\n",
			 "%s confidentiality %s / integrity %s / availability %s\n"),
		       o->pos[3], json_string_value(json_object_get(a, "confidentiality")),
		       json_string_value(json_object_get(a, "integrity")),
		       json_string_value(json_object_get(a, "availability")));
		json_array_foreach(json_object_get(a, "handling"), i, h)
		    printf("  - %s\n", json_string_value(json_object_get(h, "text")));
		json_decref(a);
	} else if (!strcmp(kind, "risks") && !strcmp(verb, "heatmap")) {
		if ((r = isms_risk_heatmap(c, &res)) < 0)
			return r;
		if (o->json_out) {
			r = print_json(res);
			goto out;
		}
		heatmap_grid(json_object_get(res, "inherent"), T("固有リスク", "inherent risk"));
		putchar('\n');
		heatmap_grid(json_object_get(res, "residual"), T("残留リスク", "residual risk"));
		printf(T("\nリスク %" PRId64 " 件(残留リスク未評価 %" PRId64 " 件)\n",
			 "\n%" PRId64 " risks (%" PRId64 " without residual assessment)\n"),
		       (int64_t)json_integer_value(json_object_get(res, "total")),
		       (int64_t)json_integer_value(json_object_get(res, "residual_unassessed")));
	} else if (!strcmp(kind, "risks") && !strcmp(verb, "threats")) {
		for (size_t i = 0; isms_threats[i].code; i++) {
			cell(isms_threats[i].code, 24);
			cell(isms_threat_category_label(isms_threats[i].category), 38);
			printf("%s\n", T(isms_threats[i].ja, isms_threats[i].en));
		}
	} else {
		*handled = false;
	}
out:
	json_decref(res);
	return r;
}

static int generic(struct isms_ctx *c, const struct isms_kind *k, const char *verb,
		   const struct isms_opts *o, struct diag *d)
{
	struct isms_query q = {0};
	json_t *v = NULL, *items = NULL;
	size_t total = 0;
	int r;

	for (size_t i = 0; i < o->nfilters; i++) {
		q.filters[i][0] = o->filters[i][0];
		q.filters[i][1] = o->filters[i][1];
	}
	q.nfilters = o->nfilters;
	q.q = o->q;
	q.sort = o->sort;
	q.desc = o->desc;
	q.include_retired = o->retired;
	if (!parse_count("page", o->page, 1000000, &q.page) ||
	    !parse_count("per-page", o->per_page, ISMS_PER_PAGE_MAX, &q.per_page))
		return ERR_USAGE;

	if (!strcmp(verb, "list")) {
		if (o->csv) {
			struct buf b;
			buf_init(&b, BUF_MAX_DEFAULT);
			if ((r = isms_export_csv(c, k, &q, &b)) == 0)
				fwrite(b.data ? b.data : "", 1, b.len, stdout);
			buf_release(&b);
			return r;
		}
		if ((r = isms_list(c, k, &q, &items, &total)) < 0)
			return r;
		if (o->json_out) {
			v = json_pack("{s:I,s:O}", "total", (json_int_t)total, "items", items);
			r = v ? print_json(v) : ERR_NOMEM;
		} else {
			print_table(k, items, total, &q);
		}
	} else if (!strcmp(verb, "export")) {
		struct buf b;
		buf_init(&b, BUF_MAX_DEFAULT);
		if ((r = isms_export_csv(c, k, &q, &b)) == 0) {
			if (o->npos >= 4 && strcmp(o->pos[3], "-")) {
				if ((r = file_write_atomic(o->pos[3], b.data ? b.data : "", b.len,
							   0600)) < 0)
					cli_error("%s: %s", o->pos[3], err_msg(r));
				else
					fprintf(stderr,
						T("%s に書き出しました\n", "written to %s\n"),
						o->pos[3]);
			} else {
				fwrite(b.data ? b.data : "", 1, b.len, stdout);
			}
		}
		buf_release(&b);
	} else if (!strcmp(verb, "get") || !strcmp(verb, "history")) {
		if (o->npos < 4)
			return ERR_USAGE;
		r = !strcmp(verb, "get") ? isms_get(c, k, o->pos[3], &v)
					 : isms_history(c, k, o->pos[3], &v);
		if (r == 0)
			r = print_json(v);
	} else if (!strcmp(verb, "create")) {
		char id[ISMS_ID_MAX];
		if (!o->json)
			return ERR_USAGE;
		if ((r = read_json(o->json, &v)) < 0)
			return r;
		if ((r = isms_create(c, k, v, d, id)) == 0)
			printf("%s\n", id);
	} else if (!strcmp(verb, "update")) {
		int64_t ifv = 0;
		if (o->npos < 4 || !o->json ||
		    (o->if_match &&
		     parse_i64(o->if_match, strlen(o->if_match), 1, INT64_MAX, &ifv) < 0))
			return ERR_USAGE;
		if ((r = read_json(o->json, &v)) < 0)
			return r;
		if ((r = isms_update(c, k, o->pos[3], v, ifv, d)) == 0)
			printf(T("%s を更新しました\n", "%s updated\n"), o->pos[3]);
	} else if (!strcmp(verb, "retire")) {
		if (o->npos < 4 || !o->reason || !*o->reason)
			return ERR_USAGE;
		if ((r = isms_retire(c, k, o->pos[3], o->reason)) == 0)
			printf(T("%s を廃止しました\n", "%s retired\n"), o->pos[3]);
	} else if (!strcmp(verb, "import")) {
		struct buf b;
		size_t n = 0;
		if (o->npos < 4)
			return ERR_USAGE;
		buf_init(&b, ISMS_CSV_MAX);
		if ((r = file_read_all(o->pos[3], ISMS_CSV_MAX, &b)) < 0) {
			cli_error("%s: %s", o->pos[3], err_msg(r));
			buf_release(&b);
			return r;
		}
		r = isms_import_csv(c, k, b.data ? b.data : "", b.len, o->pos[3], d, &n);
		buf_release(&b);
		if (r == 0)
			printf(T("%zu 件を取り込みました\n", "%zu records imported\n"), n);
	} else {
		return ERR_USAGE;
	}
	json_decref(v);
	json_decref(items);
	return r;
}

int cmd_isms(int argc, char **argv)
{
	struct isms_opts o;
	struct instance *in = NULL;
	struct isms_ctx c = {0};
	struct actor who;
	struct diag d;
	const struct isms_kind *k = NULL;
	const char *kind, *verb;
	bool handled = false;
	int r = 0, rc = EXIT_FAIL;

	diag_init(&d, 100);
	/* The people side's workflows (soa, training, notices, contracts)
	 * have their own command and options: `mamori isms DIR KIND VERB ...`
	 * is handed over whole as `KIND DIR VERB ...`. */
	if (argc >= 4 && cmd_isms_people_handles(argv[2], argv[3])) {
		char **args = xcalloc((size_t)argc + 1, sizeof(*args));
		args[0] = argv[2];
		args[1] = argv[1];
		for (int i = 3; i < argc; i++)
			args[i - 1] = argv[i];
		rc = cmd_isms_people(argc - 1, args);
		free(args);
		goto out;
	}
	if (!parse_args(argc, argv, &o)) {
		rc = EXIT_USAGE;
		goto out;
	}
	if (o.help) {
		usage(stdout);
		rc = EXIT_OK;
		goto out;
	}
	if (o.npos < 2 || (strcmp(o.pos[1], "kinds") && o.npos < 3)) {
		usage(stderr);
		rc = EXIT_USAGE;
		goto out;
	}
	kind = o.pos[1];
	verb = o.npos >= 3 ? o.pos[2] : "";
	if (!strcmp(kind, "kinds")) {
		for (size_t i = 0; isms_kinds[i]; i++) {
			cell(isms_kinds[i]->name, 28);
			printf("%s\n", T(isms_kinds[i]->ja, isms_kinds[i]->en));
		}
		rc = EXIT_OK;
		goto out;
	}
	k = isms_kind_find(kind);
	actor_cli(&who);
	if ((r = instance_open(o.pos[0], INSTANCE_WRITE, &in, &d)) < 0) {
		diag_print(&d, stderr);
		cli_error("%s: %s", o.pos[0], err_msg(r));
		goto out;
	}
	c.st = instance_store(in);
	c.lg = instance_ledger(in);
	c.actor = &who;
	r = workflow(&c, kind, verb, &o, &handled, &d);
	if (!handled) {
		if (!k) {
			cli_error(T("ISMS の種類 '%s' はありません(mamori isms DIR kinds で一覧)",
				    "no ISMS kind '%s' (mamori isms DIR kinds lists them)"),
				  kind);
			rc = EXIT_USAGE;
			goto out;
		}
		r = generic(&c, k, verb, &o, &d);
	}
	if (r == ERR_USAGE) {
		usage(stderr);
		rc = EXIT_USAGE;
		goto out;
	}
	if (r < 0) {
		char what[96];
		snprintf(what, sizeof(what), "%s %s%s%s", kind, verb, o.npos >= 4 ? " " : "",
			 o.npos >= 4 ? o.pos[3] : "");
		report(r, &d, what);
		goto out;
	}
	rc = EXIT_OK;
out:
	diag_release(&d);
	instance_close(in);
	return rc;
}
