/*
 * cmd_ingest.c - `mamori ingest DIR FILE [--quiet]`: append the access
 * events of FILE (access.jsonl, or "-" for standard input) to the ledger
 * of instance DIR, in batches of up to INGEST_MAX_EVENTS lines through
 * watch_ingest, the function behind POST /v1/events.
 *
 * Each batch is all-or-nothing, but the batches before a bad line are
 * already in the ledger when it is found: a ledger is append-only, and
 * holding a whole file back would need memory in proportion to the file.
 * The message on a bad line therefore says how many events went in and
 * from which line to start again.
 */
#include <sys/stat.h>
#include <time.h>

#include "base/base.h"
#include "base/buf.h"
#include "base/diag.h"
#include "base/i18n.h"
#include "cli/cli.h"
#include "instance/instance.h"
#include "ledger/ledger.h"
#include "watch/ingest.h"

/* A batch also ends once it holds this many bytes, so that a file of
 * long lines does not make one huge group. */
#define BATCH_BYTES ((size_t)8 << 20)
/* Longer lines are refused before they are kept (the registry allows
 * much less anyway). */
#define LINE_MAX_BYTES ((size_t)1 << 20)

static void ingest_usage(FILE *f)
{
	fprintf(f, "%s",
		T("使い方: mamori ingest DIR FILE [--quiet]\n"
		  "  アクセス記録 FILE（access.jsonl、- は標準入力）をインスタンス DIR の\n"
		  "  監査台帳に追記します。10,000 行ごとのバッチで検査してから書き込み、\n"
		  "  不正な行のあるバッチは何も書き込みません。ただし、それより前のバッチは\n"
		  "  取り込み済みのまま残ります（メッセージに件数と再開する行を示します）。\n"
		  "  --quiet  進捗表示と集計を出さない\n"
		  "終了コード: 0 成功、1 不正な行または失敗、2 使い方の誤り\n",
		  "usage: mamori ingest DIR FILE [--quiet]\n"
		  "  Appends the access events in FILE (access.jsonl, - for standard input)\n"
		  "  to the audit ledger of instance DIR, in batches of 10,000 lines. Each\n"
		  "  batch is validated before it is written, and a batch with a bad line\n"
		  "  writes nothing; the batches before it stay ingested (the message says\n"
		  "  how many events and from which line to start again).\n"
		  "  --quiet  no progress bar and no summary\n"
		  "exit status: 0 success, 1 a bad line or a failure, 2 usage error\n"));
}

static double now_sec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct progress {
	bool on;
	const char *file;
	uint64_t total; /* bytes of FILE, 0 if unknown (a pipe) */
	double t0, last;
};

/* Redraw at most ten times a second, and always when final. */
static void progress_draw(struct progress *p, uint64_t done, size_t events, bool final)
{
	char bar[31];
	double t;
	int pct, fill;

	if (!p->on)
		return;
	t = now_sec();
	if (!final && t - p->last < 0.1)
		return;
	p->last = t;
	pct = p->total ? (int)(done * 100 / p->total) : (final ? 100 : 0);
	if (pct > 100)
		pct = 100;
	fill = pct * 30 / 100;
	memset(bar, '#', (size_t)fill);
	memset(bar + fill, ' ', (size_t)(30 - fill));
	bar[30] = '\0';
	fprintf(stderr, "\r%s %-18.18s [%s] %3d%% %10zu %s", T("取込", "ingest"), p->file, bar,
		pct, events, T("件", "events"));
	if (final)
		fputc('\n', stderr);
	fflush(stderr);
}

struct ingest_run {
	struct ledger *l;
	const char *file, *actor;
	struct diag *d;
	struct buf batch;
	long batch_first; /* line number of the batch's first line */
	size_t batch_events;
	size_t events;	   /* ingested so far */
	uint64_t first, last; /* ledger indexes of the events ingested */
};

/* Send the batch held; on a bad line, say what is already in. */
static int run_flush(struct ingest_run *ir)
{
	uint64_t first = 0;
	size_t count = 0;
	int r;

	if (ir->batch_events == 0)
		goto done;
	r = watch_ingest(ir->l, ir->actor, ir->batch.data, ir->batch.len, ir->file,
			 ir->batch_first - 1, ir->d, &first, &count);
	if (r < 0)
		return r;
	if (ir->events == 0)
		ir->first = first;
	ir->last = first + count - 1;
	ir->events += count;
done:
	buf_reset(&ir->batch);
	ir->batch_events = 0;
	return 0;
}

int cmd_ingest(int argc, char **argv)
{
	const char *quiet = NULL, *help = NULL;
	struct cli_opt opts[] = {
	    {"quiet", false, &quiet},
	    {"help", false, &help},
	};
	struct ingest_run ir = {0};
	struct instance *in = NULL;
	struct progress prog = {0};
	struct diag d;
	struct stat st;
	char *pos[2], actor[160], *line = NULL;
	size_t cap = 0;
	ssize_t n;
	long lineno = 0;
	uint64_t consumed = 0;
	FILE *f = NULL;
	double t0, secs;
	int r, npos, rc = EXIT_FAIL;

	npos = cli_parse(argc, argv, opts, ARRAY_SIZE(opts), pos, 2);
	if (help && npos >= 0) {
		ingest_usage(stdout);
		return EXIT_OK;
	}
	if (npos != 2) {
		ingest_usage(stderr);
		return EXIT_USAGE;
	}
	diag_init(&d, 20);
	buf_init(&ir.batch, BATCH_BYTES + LINE_MAX_BYTES + 2);
	if (!strcmp(pos[1], "-"))
		f = stdin;
	else if (!(f = fopen(pos[1], "r"))) {
		cli_error(T("%s を開けません: %s", "cannot open %s: %s"), pos[1], strerror(errno));
		goto out;
	}
	if ((r = instance_open(pos[0], INSTANCE_WRITE, &in, &d)) < 0) {
		diag_print(&d, stderr);
		cli_error(T("インスタンス %s を開けません: %s", "cannot open instance %s: %s"),
			  pos[0], err_msg(r));
		goto out;
	}
	cli_actor(actor, sizeof(actor));
	ir.l = instance_ledger(in);
	ir.file = pos[1];
	ir.actor = actor;
	ir.d = &d;
	ir.batch_first = 1;
	prog.on = !quiet && cli_stderr_is_tty();
	prog.file = pos[1];
	prog.total = fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
	t0 = prog.t0 = now_sec();

	while ((n = getline(&line, &cap, f)) >= 0) {
		size_t len = (size_t)n;
		bool blank = true;

		lineno++;
		consumed += len;
		if (len > LINE_MAX_BYTES) {
			diag_error(&d, pos[1], lineno, 0, NULL,
				   T("行が長すぎます（%zu バイト超）", "line too long (over %zu bytes)"),
				   LINE_MAX_BYTES);
			r = ERR_INVALID;
			goto bad;
		}
		for (size_t i = 0; i < len && blank; i++)
			blank = line[i] == ' ' || line[i] == '\t' || line[i] == '\r' ||
				line[i] == '\n';
		/* The batch keeps blank lines too, so that its numbering stays
		 * that of the file. */
		if ((r = buf_append(&ir.batch, line, len)) < 0)
			goto fail;
		if (len == 0 || line[len - 1] != '\n') {
			if ((r = buf_putc(&ir.batch, '\n')) < 0)
				goto fail;
		}
		if (!blank)
			ir.batch_events++;
		if (ir.batch_events == INGEST_MAX_EVENTS || ir.batch.len >= BATCH_BYTES) {
			if ((r = run_flush(&ir)) < 0)
				goto bad;
			ir.batch_first = lineno + 1;
			progress_draw(&prog, consumed, ir.events, false);
		}
	}
	if (ferror(f)) {
		cli_error(T("%s を読めません: %s", "cannot read %s: %s"), pos[1], strerror(errno));
		goto out;
	}
	if ((r = run_flush(&ir)) < 0)
		goto bad;
	progress_draw(&prog, consumed, ir.events, true);
	if (ir.events == 0) {
		cli_error(T("%s にイベントがありません", "no events in %s"), pos[1]);
		goto out;
	}
	secs = now_sec() - t0;
	if (!quiet)
		printf(T("%zu 件のイベントを %.2f 秒で取り込みました（%.0f 件/秒、台帳の索引 "
			 "%" PRIu64 "〜%" PRIu64 "）\n",
			 "ingested %zu events in %.2f s (%.0f events/s, ledger indexes %" PRIu64
			 "-%" PRIu64 ")\n"),
		       ir.events, secs, secs > 0 ? (double)ir.events / secs : 0.0, ir.first,
		       ir.last);
	rc = EXIT_OK;
	goto out;
bad:
	if (prog.on)
		fputc('\n', stderr);
	diag_print(&d, stderr);
	if ((r == ERR_INVALID || r == ERR_TOO_LARGE) && ir.events == 0)
		cli_error("%s", T("不正な行があるため止めました。何も取り込んでいません。",
				  "stopped at a bad line; nothing was ingested."));
	else if (r == ERR_INVALID || r == ERR_TOO_LARGE)
		cli_error(T("不正な行があるため止めました。%ld 行目からのバッチは取り込んでいません。"
			    "それより前の %zu 件（%ld 行目まで）は取り込み済みです。"
			    "直してから %ld 行目以降を取り込んでください。",
			    "stopped at a bad line; the batch from line %ld was not ingested. "
			    "The %zu events before it (up to line %ld) are already ingested; "
			    "fix the line and ingest again from line %ld."),
			  ir.batch_first, ir.events, ir.batch_first - 1, ir.batch_first);
	else
		cli_error(T("取り込みに失敗しました: %s（取り込み済み %zu 件）",
			    "ingest failed: %s (%zu events already ingested)"),
			  err_msg(r), ir.events);
	goto out;
fail:
	cli_error(T("取り込みに失敗しました: %s（取り込み済み %zu 件）",
		    "ingest failed: %s (%zu events already ingested)"),
		  err_msg(r), ir.events);
out:
	free(line);
	if (f && f != stdin)
		fclose(f);
	buf_release(&ir.batch);
	instance_close(in);
	diag_release(&d);
	return rc;
}
