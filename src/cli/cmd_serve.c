/*
 * cmd_serve.c - `mamori serve DIR [--listen HOST:PORT] [--threads N]
 *               [--allow-remote-http] [--tls-cert FILE --tls-key FILE]`:
 *               the HTTP API (docs/api.md, docs/console-auth.md).
 */
#include <signal.h>

#include "base/base.h"
#include "base/diag.h"
#include "base/i18n.h"
#include "api/api.h"
#include "cli/cli.h"
#include "instance/instance.h"

static void serve_usage(FILE *f)
{
	fprintf(
	    f, "%s",
	    T("使い方: mamori serve DIR [--listen HOST:PORT] [--threads N] [--allow-remote-http]\n"
	      "                         [--tls-cert FILE --tls-key FILE]\n"
	      "  インスタンス DIR の HTTP API（/v1/...、docs/api.md）を提供します。\n"
	      "  SIGHUP でポリシーと登録情報を再読み込みし、SIGINT / SIGTERM で停止します。\n"
	      "  監査台帳の署名付きチェックポイントを定期的に（mamori.conf の\n"
	      "  checkpoint_entries / checkpoint_seconds）と停止時に作成します。\n"
	      "  --listen HOST:PORT   待ち受けアドレス（既定は mamori.conf の listen）。\n"
	      "                       PORT 0 なら空いているポートを使います\n"
	      "  --threads N          ワーカースレッド数（1-256、既定は mamori.conf）\n"
	      "  --allow-remote-http  ループバック以外での待ち受けを許可する。\n"
	      "                       TLS はないので、TLS 終端のプロキシの背後でのみ使うこと\n"
	      "  --tls-cert FILE      HTTPS で提供する（PEM の証明書）。--tls-key と一緒に使い、\n"
	      "  --tls-key FILE       秘密鍵（PEM、モード 0600 以下）。TLS ならループバック以外\n"
	      "                       でも待ち受けできます\n"
	      "  コンソールの利用者がいなければ、最初の管理者を作る 1 回限りのリンクを表示します\n"
	      "終了コード: 0 正常停止、1 失敗、2 使い方または待ち受けアドレスの誤り\n",
	      "usage: mamori serve DIR [--listen HOST:PORT] [--threads N] [--allow-remote-http]\n"
	      "                        [--tls-cert FILE --tls-key FILE]\n"
	      "  Serves the HTTP API (/v1/..., docs/api.md) of instance DIR.\n"
	      "  SIGHUP reloads policy and registry; SIGINT or SIGTERM stops the server.\n"
	      "  Signs a ledger checkpoint periodically (checkpoint_entries and\n"
	      "  checkpoint_seconds in mamori.conf) and when it stops.\n"
	      "  --listen HOST:PORT   address to listen on (default: listen in mamori.conf);\n"
	      "                       PORT 0 picks a free port\n"
	      "  --threads N          worker threads (1-256, default from mamori.conf)\n"
	      "  --allow-remote-http  allow a non-loopback address. There is no TLS: use it\n"
	      "                       only behind a TLS-terminating proxy\n"
	      "  --tls-cert FILE      serve HTTPS with this PEM certificate and the PEM\n"
	      "  --tls-key FILE       key (mode 0600 or stricter); with TLS any address\n"
	      "                       may be used\n"
	      "  With no console user yet, prints a one-time link for the first administrator\n"
	      "exit status: 0 clean stop, 1 failure, 2 usage error or bad listen address\n"));
}

int cmd_serve(int argc, char **argv)
{
	const char *listen = NULL, *threads = NULL, *remote = NULL, *help = NULL;
	const char *tls_cert = NULL, *tls_key = NULL;
	struct cli_opt opts[] = {
	    {"tls-cert", true, &tls_cert},
	    {"tls-key", true, &tls_key},
	    {"listen", true, &listen},
	    {"threads", true, &threads},
	    {"allow-remote-http", false, &remote},
	    {"help", false, &help},
	};
	struct api_opts o = {0};
	struct instance *in = NULL;
	sigset_t set;
	char *pos[1];
	int64_t nthreads = 0;
	struct diag d;
	int n, r, rc = EXIT_FAIL;

	n = cli_parse(argc, argv, opts, ARRAY_SIZE(opts), pos, 1);
	if (help && n >= 0) {
		serve_usage(stdout);
		return EXIT_OK;
	}
	if (n != 1) {
		serve_usage(stderr);
		return EXIT_USAGE;
	}
	if (threads && parse_i64(threads, strlen(threads), 1, 256, &nthreads) < 0) {
		cli_error(T("--threads には 1 から 256 の整数を指定してください",
			    "--threads needs a whole number from 1 to 256"));
		return EXIT_USAGE;
	}
	if ((tls_cert != NULL) != (tls_key != NULL)) {
		cli_error("%s", T("--tls-cert と --tls-key は両方指定してください",
				  "give both --tls-cert and --tls-key"));
		return EXIT_USAGE;
	}
	/*
	 * Block the signals the server waits for before anything else runs,
	 * so that no thread started while opening the instance can take one
	 * with its default action; api_serve() waits for them.
	 */
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	/* A client that goes away must not kill the server. */
	signal(SIGPIPE, SIG_IGN);

	diag_init(&d, 50);
	if ((r = instance_open(pos[0], INSTANCE_WRITE | INSTANCE_ENGINE, &in, &d)) < 0) {
		diag_print(&d, stderr);
		cli_error(T("インスタンスを開けません: %s", "cannot open the instance: %s"),
			  err_msg(r));
		goto out;
	}
	/* Warnings of the first load (e.g. roles the policy does not define). */
	diag_print(&d, stderr);
	o.listen = listen;
	o.threads = (unsigned)nthreads;
	o.allow_remote_http = remote != NULL;
	o.tls_cert = tls_cert;
	o.tls_key = tls_key;
	/* Signed checkpoints every checkpoint_entries records or
	 * checkpoint_seconds seconds while serving, and one at the end. */
	if ((r = instance_checkpointer_start(in)) < 0) {
		cli_error(T("チェックポイントのスレッドを開始できません: %s",
			    "cannot start the checkpoint thread: %s"),
			  err_msg(r));
		goto out;
	}
	r = api_serve(in, &o);
	instance_checkpointer_stop(in);
	if (r == ERR_INVALID || r == ERR_FORBIDDEN) {
		rc = EXIT_USAGE;
		goto out;
	}
	if (r < 0) {
		cli_error(T("サーバーが失敗しました: %s", "the server failed: %s"), err_msg(r));
		goto out;
	}
	rc = EXIT_OK;
out:
	instance_close(in);
	diag_release(&d);
	return rc;
}
