/*
 * cmd_disclose.c - `mamori disclose` (the list of accesses to one
 * resident's record, with inclusion proofs, for that resident) and
 * `mamori verify-proof` (its offline check with the verifier key).
 */
#include "base/base.h"

#include <strings.h>

#include "base/buf.h"
#include "base/diag.h"
#include "base/i18n.h"
#include "cli/cli.h"
#include "instance/instance.h"
#include "ledger/disclose.h"
#include "ledger/ledger.h"
#include "registry/registry.h"

static void disclose_usage(FILE *f)
{
	fputs(T("使い方: mamori disclose DIR 住民ID --by 職員ID --for resident|proxy [--out FILE]\n"
		"  住民の記録へのアクセス（access と decision の記録）を、最新の署名付き\n"
		"  チェックポイントに対する包含証明付きで JSON に書き出します。\n"
		"  --by: 開示を行う職員（役割 clerk が必要）\n"
		"  --for: 請求者が本人（resident）か代理人・世帯員（proxy）か。\n"
		"  DV 等支援措置の対象者は本人の請求にのみ開示します。\n"
		"  開示も拒否もすべて監査台帳に記録されます（kind \"disclosure\"）。\n",
		"usage: mamori disclose DIR RESIDENT_ID --by STAFF_ID --for resident|proxy [--out FILE]\n"
		"  Write the accesses to a resident's record (the ledger's access and decision\n"
		"  records) as JSON, each with an inclusion proof against the latest signed\n"
		"  checkpoint.\n"
		"  --by: the member of staff making the disclosure (needs the role clerk)\n"
		"  --for: who asks: the resident, or a proxy or household member.\n"
		"  A dv_support resident's disclosure is made only at the resident's request.\n"
		"  Every disclosure, made or refused, is recorded in the ledger (kind\n"
		"  \"disclosure\").\n"),
	      f);
}

static void verify_proof_usage(FILE *f)
{
	fputs(T("使い方: mamori verify-proof --vkey \"検証鍵\" FILE\n"
		"  開示文書を検証鍵だけで検査します: チェックポイントの署名と各項目の包含証明。\n"
		"  検証鍵は mamori witness vkey DIR で表示できます。\n",
		"usage: mamori verify-proof --vkey \"VERIFIER_KEY\" FILE\n"
		"  Check a disclosure document with only the instance's verifier key: the\n"
		"  checkpoint's signature and each entry's inclusion proof.\n"
		"  mamori witness vkey DIR prints the verifier key.\n"),
	      f);
}

static int write_file(const char *path, const struct buf *b)
{
	FILE *f = fopen(path, "w");
	int r = 0;

	if (!f)
		return ERR_IO;
	if (fwrite(b->data, 1, b->len, f) != b->len)
		r = ERR_IO;
	if (fclose(f) != 0)
		r = ERR_IO;
	return r;
}

int cmd_disclose(int argc, char **argv)
{
	const char *by = NULL, *forw = NULL, *outp = NULL, *help = NULL;
	struct cli_opt opts[] = {
	    {"by", true, &by},
	    {"for", true, &forw},
	    {"out", true, &outp},
	    {"help", false, &help},
	};
	struct instance *in = NULL;
	struct registry_data *reg = NULL;
	struct disclose_result res = {0};
	struct buf doc, why;
	struct diag d;
	char *pos[2], actor[160];
	bool for_resident;
	int r, npos, rc = EXIT_FAIL;

	npos = cli_parse(argc, argv, opts, ARRAY_SIZE(opts), pos, 2);
	if (help && npos >= 0) {
		disclose_usage(stdout);
		return EXIT_OK;
	}
	if (npos != 2 || !by || !forw ||
	    (strcasecmp(forw, "resident") != 0 && strcasecmp(forw, "proxy") != 0)) {
		disclose_usage(stderr);
		return EXIT_USAGE;
	}
	for_resident = !strcasecmp(forw, "resident");
	diag_init(&d, 20);
	buf_init(&doc, BUF_MAX_DEFAULT);
	buf_init(&why, 4096);
	if ((r = instance_open(pos[0], INSTANCE_WRITE, &in, &d)) < 0) {
		diag_print(&d, stderr);
		cli_error(T("インスタンス %s を開けません: %s", "cannot open instance %s: %s"),
			  pos[0], err_msg(r));
		goto out;
	}
	cli_actor(actor, sizeof(actor));
	if ((r = registry_load_pair(instance_store(in), by, pos[1], &reg)) < 0) {
		cli_error(T("台帳データを読めません: %s", "cannot load the registry: %s"),
			  err_msg(r));
		goto out;
	}
	if ((r = disclose_authorise(reg, by, pos[1], for_resident, &why)) < 0) {
		cli_error(T("開示を拒否しました: %s", "disclosure refused: %s"),
			  why.len ? why.data : err_msg(r));
		if ((r = disclose_record(instance_ledger(in), actor, pos[1], by,
					 for_resident ? "resident" : "proxy", 0, 0, true)) < 0)
			cli_error(T("拒否を監査台帳に記録できません: %s",
				    "cannot record the refusal in the ledger: %s"),
				  err_msg(r));
		goto out;
	}
	if ((r = disclose_build(instance_ledger(in), pos[1], &doc, &res)) < 0) {
		if (r == ERR_NOT_FOUND)
			cli_error("%s", T("署名付きチェックポイントがまだありません（mamori serve が作ります）",
					  "there is no signed checkpoint yet (mamori serve makes them)"));
		else
			cli_error(T("開示文書を作れません: %s", "cannot build the disclosure: %s"),
				  err_msg(r));
		goto out;
	}
	if (outp) {
		if ((r = write_file(outp, &doc)) < 0) {
			cli_error(T("%s に書けません: %s", "cannot write %s: %s"), outp,
				  strerror(errno));
			goto out;
		}
	}
	/* The record comes before the document is shown, so that no disclosure
	 * leaves the instance unrecorded. */
	if ((r = disclose_record(instance_ledger(in), actor, pos[1], by,
				 for_resident ? "resident" : "proxy", res.count, res.cp_size,
				 false)) < 0) {
		cli_error(T("開示を監査台帳に記録できません: %s",
			    "cannot record the disclosure in the ledger: %s"),
			  err_msg(r));
		goto out;
	}
	if (!outp)
		fwrite(doc.data, 1, doc.len, stdout);
	fprintf(outp ? stdout : stderr,
		T("住民 %s: %zu 件を開示しました（チェックポイントの大きさ %" PRIu64
		  "、次のチェックポイント待ち %zu 件）\n",
		  "resident %s: %zu entries disclosed (checkpoint size %" PRIu64
		  ", %zu pending the next checkpoint)\n"),
		pos[1], res.count, res.cp_size, res.pending);
	rc = EXIT_OK;
out:
	registry_data_free(reg);
	instance_close(in);
	buf_release(&doc);
	buf_release(&why);
	diag_release(&d);
	return rc;
}

int cmd_verify_proof(int argc, char **argv)
{
	const char *vkey = NULL, *help = NULL;
	struct cli_opt opts[] = {
	    {"vkey", true, &vkey},
	    {"help", false, &help},
	};
	struct buf doc, msg;
	char *pos[1], chunk[65536];
	size_t n, count = 0;
	FILE *f = NULL;
	int r, npos, rc = EXIT_FAIL;

	npos = cli_parse(argc, argv, opts, ARRAY_SIZE(opts), pos, 1);
	if (help && npos >= 0) {
		verify_proof_usage(stdout);
		return EXIT_OK;
	}
	if (npos != 1 || !vkey) {
		verify_proof_usage(stderr);
		return EXIT_USAGE;
	}
	buf_init(&doc, BUF_MAX_DEFAULT);
	buf_init(&msg, 4096);
	if (!(f = fopen(pos[0], "r"))) {
		cli_error(T("%s を開けません: %s", "cannot open %s: %s"), pos[0], strerror(errno));
		goto out;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if ((r = buf_append(&doc, chunk, n)) < 0) {
			cli_error(T("%s を読めません: %s", "cannot read %s: %s"), pos[0], err_msg(r));
			goto out;
		}
	if (ferror(f)) {
		cli_error(T("%s を読めません: %s", "cannot read %s: %s"), pos[0], strerror(errno));
		goto out;
	}
	if ((r = disclose_verify(doc.data ? doc.data : "", doc.len, vkey, &msg, &count)) < 0) {
		cli_error(T("%s: 検証に失敗しました: %s", "%s: verification FAILED: %s"), pos[0],
			  msg.len ? msg.data : err_msg(r));
		goto out;
	}
	printf(T("%s: 検証しました: チェックポイントの署名と %zu 件の包含証明\n",
		 "%s: verified: the checkpoint's signature and %zu inclusion proofs\n"),
	       pos[0], count);
	rc = EXIT_OK;
out:
	if (f)
		fclose(f);
	buf_release(&doc);
	buf_release(&msg);
	return rc;
}
