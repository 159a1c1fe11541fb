/*
 * cmd_decide.c - `mamori decide DIR [--batch]`: the decision contract of
 * FORMATS.md on the command line. Each decision is recorded in the ledger
 * exactly as POST /v1/decide records it (instance_decide).
 */
#include "base/base.h"

#include "base/buf.h"
#include "base/diag.h"
#include "base/i18n.h"
#include "cli/cli.h"
#include "instance/instance.h"
#include "policy/policy.h"

static void decide_usage(FILE *f)
{
	fprintf(f, "%s",
		T("使い方: mamori decide DIR [--batch]\n"
		  "  標準入力の要求（JSON）を判定し、応答（JSON）を標準出力に書きます。\n"
		  "  判定はすべて台帳（ledger）に記録されます。\n"
		  "  --batch  JSON Lines: 1 行 1 要求、応答も 1 行ずつ同じ順に出力\n"
		  "           誤った行には {\"error\":...} の行を出力して続行します\n"
		  "終了コード: 0 許可、3 拒否（--batch では一つでも拒否があれば）、\n"
		  "            2 要求の誤りまたは使い方の誤り、1 失敗\n",
		  "usage: mamori decide DIR [--batch]\n"
		  "  Decides the request (JSON) on stdin and writes the response (JSON) to stdout.\n"
		  "  Every decision is recorded in the ledger.\n"
		  "  --batch  JSON Lines: one request per line, one response line each, in order;\n"
		  "           a malformed line gets an {\"error\":...} line and the rest go on\n"
		  "exit status: 0 allow, 3 deny (with --batch: any deny),\n"
		  "             2 malformed request or usage error, 1 failure\n"));
}

/* One request: 0 allow, 3 deny, 2 malformed (explained in out), <0 error. */
static int decide_one(struct instance *in, const char *json, size_t len, const char *actor,
		      struct buf *out)
{
	int decision = DECISION_DENY;
	int r = instance_decide(in, json, len, actor, out, &decision);
	if (r == ERR_INVALID || r == ERR_TOO_LARGE)
		return EXIT_USAGE;
	if (r < 0)
		return r;
	return decision == DECISION_ALLOW ? EXIT_OK : EXIT_DENY;
}

static int run_single(struct instance *in, const char *actor)
{
	struct buf body, out;
	char chunk[8192];
	size_t got;
	int rc;

	buf_init(&body, DECIDE_REQ_MAX);
	buf_init(&out, (size_t)1 << 20);
	while ((got = fread(chunk, 1, sizeof(chunk), stdin)) > 0) {
		if (buf_append(&body, chunk, got) < 0) {
			cli_error(T("要求が大きすぎます（最大 %zu バイト）",
				    "request too large (at most %zu bytes)"),
				  DECIDE_REQ_MAX);
			rc = EXIT_USAGE;
			goto out;
		}
	}
	rc = decide_one(in, body.data ? body.data : "", body.len, actor, &out);
	if (rc == EXIT_USAGE) {
		cli_error(T("要求の誤り: %s", "malformed request: %s"), out.data ? out.data : "");
	} else if (rc < 0) {
		cli_error(T("判定できませんでした: %s", "could not decide: %s"), err_msg(rc));
		rc = EXIT_FAIL;
	} else {
		printf("%s\n", out.data);
	}
out:
	buf_release(&out);
	buf_release(&body);
	return rc;
}

static int run_batch(struct instance *in, const char *actor)
{
	struct buf out, esc;
	char *line = NULL;
	size_t cap = 0;
	ssize_t got;
	long lineno = 0;
	bool any_deny = false, any_bad = false;
	int rc = EXIT_OK;

	buf_init(&out, (size_t)1 << 20);
	buf_init(&esc, (size_t)1 << 20);
	while ((got = getline(&line, &cap, stdin)) > 0) {
		size_t len = (size_t)got;
		int r;
		lineno++;
		while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			len--;
		if (!len)
			continue;
		r = decide_one(in, line, len, actor, &out);
		if (r == EXIT_USAGE) {
			any_bad = true;
			buf_reset(&esc);
			if (buf_json_str(&esc, out.data ? out.data : "", out.len) < 0)
				buf_reset(&esc);
			printf("{\"error\":{\"line\":%ld,\"code\":\"invalid\",\"detail\":%s}}\n", lineno,
			       esc.len ? esc.data : "\"\"");
			fprintf(stderr, "stdin:%ld: %s\n", lineno, out.data ? out.data : "");
			continue;
		}
		if (r < 0) {
			cli_error(T("%ld 行目で判定できませんでした: %s", "line %ld: could not decide: %s"),
				  lineno, err_msg(r));
			rc = EXIT_FAIL;
			goto out;
		}
		any_deny = any_deny || r == EXIT_DENY;
		printf("%s\n", out.data);
	}
	rc = any_bad ? EXIT_USAGE : any_deny ? EXIT_DENY : EXIT_OK;
out:
	fflush(stdout);
	free(line);
	buf_release(&esc);
	buf_release(&out);
	return rc;
}

int cmd_decide(int argc, char **argv)
{
	const char *batch = NULL, *help = NULL;
	struct cli_opt opts[] = {{"batch", false, &batch}, {"help", false, &help}};
	struct instance *in = NULL;
	char *pos[1], actor[160];
	struct diag d;
	int n, rc;

	n = cli_parse(argc, argv, opts, ARRAY_SIZE(opts), pos, 1);
	if (help && n >= 0) {
		decide_usage(stdout);
		return EXIT_OK;
	}
	if (n != 1) {
		decide_usage(stderr);
		return EXIT_USAGE;
	}
	diag_init(&d, 100);
	if (instance_open(pos[0], INSTANCE_WRITE | INSTANCE_ENGINE, &in, &d) < 0) {
		diag_print(&d, stderr);
		diag_release(&d);
		return EXIT_FAIL;
	}
	/* Warnings (a role the policy does not know) are worth seeing. */
	diag_print(&d, stderr);
	diag_release(&d);
	cli_actor(actor, sizeof(actor));
	rc = batch ? run_batch(in, actor) : run_single(in, actor);
	instance_close(in);
	return rc;
}
