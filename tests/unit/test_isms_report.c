/* Unit tests for src/isms/report.c: HTML escaping, charts, CSV, PDF. */
#include "base/base.h"

#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/fileio.h"
#include "isms/report.h"

extern char **environ;

static void test_escape(void **state)
{
	struct buf b;
	(void)state;

	buf_init(&b, 1 << 16);
	assert_int_equal(report_escape(&b, "<script>alert('x')&\"y\"</script>日本"), 0);
	assert_string_equal(b.data,
			    "&lt;script&gt;alert(&#39;x&#39;)&amp;&quot;y&quot;&lt;/script&gt;日本");
	buf_release(&b);
}

static void test_html_builder(void **state)
{
	struct report r;
	const char *head[] = {"部署", "受講率"};
	const char *cells[] = {"総務課<b>", "95%", "税務課", NULL};
	const char *labels[] = {"2026-04", "2026-05", "2026-06"};
	double values[] = {3, 0, 7.5};
	struct report_figure f[] = {{"インシデント", "12", "前年比 +2", false},
				    {"期限超過", "1", NULL, true}};
	(void)state;

	assert_int_equal(report_begin(&r, "ja", "年次報告 <2026>", "デモ市"), 0);
	assert_int_equal(report_figures(&r, f, 2), 0);
	assert_int_equal(report_table(&r, head, 2, cells, 2), 0);
	assert_int_equal(report_bar_chart(&r, "月別", labels, values, 3, 0, NULL), 0);
	assert_int_equal(report_para(&r, "一行目\n二行目 & more"), 0);
	assert_int_equal(report_end(&r), 0);
	assert_non_null(strstr(r.html.data, "<title>年次報告 &lt;2026&gt;</title>"));
	assert_non_null(strstr(r.html.data, "\"Noto Sans CJK JP\",\"IPAexGothic\",sans-serif"));
	assert_non_null(strstr(r.html.data, "<td>総務課&lt;b&gt;</td><td class=\"num\">95%</td>"));
	assert_non_null(strstr(r.html.data, "<div class=\"fig alert\">"));
	assert_non_null(strstr(r.html.data, "一行目<br>二行目 &amp; more"));
	assert_non_null(strstr(r.html.data, "<svg"));
	assert_non_null(strstr(r.html.data, ">7.5</text>"));
	/* The largest bar fills the 200-unit plot; the empty one has no height. */
	assert_non_null(strstr(r.html.data, "height=\"200.0\""));
	assert_non_null(strstr(r.html.data, "height=\"0.0\""));
	/* No external resource of any kind. */
	assert_null(strstr(r.html.data, "src="));
	assert_null(strstr(r.html.data, "href="));
	assert_null(strstr(r.html.data, "<b>"));
	report_release(&r);
}

static void test_chart_invalid(void **state)
{
	struct report r;
	const char *labels[] = {"a", "b"};
	double neg[] = {1, -1};
	(void)state;

	assert_int_equal(report_begin(&r, "en", "t", NULL), 0);
	assert_int_equal(report_bar_chart(&r, "c", labels, neg, 2, 0, NULL), ERR_INVALID);
	assert_int_equal(report_bar_chart(&r, "c", labels, neg, REPORT_CHART_MAX + 1, 0, NULL),
			 ERR_INVALID);
	/* Percentages on a fixed 100 scale: 50% is half the plot. */
	neg[1] = 50;
	assert_int_equal(report_bar_chart(&r, "c", labels, neg, 2, 100, "%"), 0);
	assert_non_null(strstr(r.html.data, "height=\"100.0\""));
	assert_non_null(strstr(r.html.data, ">50%</text>"));
	report_release(&r);
}

static void test_csv(void **state)
{
	struct buf b;
	const char *row1[] = {"id", "タイトル", "note"};
	const char *row2[] = {"IN-000001", "a,b", "say \"hi\"\nnext"};
	const char *row3[] = {NULL, "", "plain"};
	(void)state;

	buf_init(&b, 1 << 16);
	assert_int_equal(report_csv_begin(&b), 0);
	assert_int_equal(report_csv_row(&b, row1, 3), 0);
	assert_int_equal(report_csv_row(&b, row2, 3), 0);
	assert_int_equal(report_csv_row(&b, row3, 3), 0);
	assert_string_equal(b.data, "\xef\xbb\xbf"
				    "id,タイトル,note\r\n"
				    "IN-000001,\"a,b\",\"say \"\"hi\"\"\nnext\"\r\n"
				    ",,plain\r\n");
	buf_release(&b);
}

/* Run argv with stdout into out; the exit status, or -1. */
static int run_capture(char *const argv[], struct buf *out)
{
	posix_spawn_file_actions_t fa;
	int p[2], status = -1;
	pid_t pid;
	char chunk[4096];
	ssize_t n;

	if (pipe(p) != 0)
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	posix_spawn_file_actions_addclose(&fa, p[0]);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	if (posix_spawn(&pid, argv[0], &fa, NULL, argv, environ) != 0) {
		close(p[0]);
		close(p[1]);
		posix_spawn_file_actions_destroy(&fa);
		return -1;
	}
	close(p[1]);
	while ((n = read(p[0], chunk, sizeof(chunk))) > 0)
		assert_int_equal(buf_append(out, chunk, (size_t)n), 0);
	close(p[0]);
	waitpid(pid, &status, 0);
	posix_spawn_file_actions_destroy(&fa);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_pdf(void **state)
{
	struct report r;
	struct buf pdf, text;
	const char *labels[] = {"総務課", "税務課"};
	double values[] = {96, 81};
	struct report_figure f[] = {{"インシデント件数", "4217", NULL, false}};
	char path[] = "/tmp/mamori-test-pdf-XXXXXX";
	int fd;
	(void)state;

	if (access("/usr/bin/chromium", X_OK) != 0 && access("/usr/bin/chromium-browser", X_OK) != 0 &&
	    access("/usr/bin/google-chrome", X_OK) != 0) {
		/* Without Chromium the call must say so. */
		buf_init(&pdf, 1 << 20);
		assert_int_equal(report_pdf("<html></html>", 13, 5, &pdf), ERR_NOT_FOUND);
		buf_release(&pdf);
		skip();
	}
	assert_int_equal(report_begin(&r, "ja", "情報セキュリティ年次報告", "テスト市"), 0);
	assert_int_equal(report_figures(&r, f, 1), 0);
	assert_int_equal(report_bar_chart(&r, "受講率", labels, values, 2, 100, "%"), 0);
	assert_int_equal(report_para(&r, "Incidents reported: 4217"), 0);
	assert_int_equal(report_end(&r), 0);
	buf_init(&pdf, REPORT_PDF_MAX);
	assert_int_equal(report_pdf(r.html.data, r.html.len, 60, &pdf), 0);
	assert_true(pdf.len > 1000);
	assert_memory_equal(pdf.data, "%PDF-", 5);
	if (access("/usr/bin/pdftotext", X_OK) == 0) {
		char *argv[] = {"/usr/bin/pdftotext", "-enc", "UTF-8", path, "-", NULL};
		fd = mkstemp(path);
		assert_true(fd >= 0);
		close(fd);
		assert_int_equal(file_write_atomic(path, pdf.data, pdf.len, 0600), 0);
		buf_init(&text, 1 << 20);
		assert_int_equal(run_capture(argv, &text), 0);
		assert_non_null(strstr(text.data, "Incidents reported: 4217"));
		assert_non_null(strstr(text.data, "4217"));
		assert_non_null(strstr(text.data, "96%"));
		assert_non_null(strstr(text.data, "81%"));
		/* Japanese text survives (a CJK font is installed). */
		assert_non_null(strstr(text.data, "年次報告"));
		buf_release(&text);
		unlink(path);
	}
	buf_release(&pdf);
	report_release(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_escape),	cmocka_unit_test(test_html_builder),
	    cmocka_unit_test(test_chart_invalid), cmocka_unit_test(test_csv),
	    cmocka_unit_test(test_pdf),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
