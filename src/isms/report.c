/*
 * report.c - HTML, CSV and PDF output of reports (report.h).
 */
#include "base/base.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/fileio.h"
#include "base/i18n.h"
#include "base/log.h"
#include "isms/report.h"

extern char **environ;

/* ---- HTML ---- */

int report_escape(struct buf *out, const char *s)
{
	int r = 0;

	for (; *s && r == 0; s++) {
		switch (*s) {
		case '&': r = buf_puts(out, "&amp;"); break;
		case '<': r = buf_puts(out, "&lt;"); break;
		case '>': r = buf_puts(out, "&gt;"); break;
		case '"': r = buf_puts(out, "&quot;"); break;
		case '\'': r = buf_puts(out, "&#39;"); break;
		default: r = buf_putc(out, *s); break;
		}
	}
	return r;
}

static const char STYLE[] =
    "<style>\n"
    "body{font-family:\"Noto Sans CJK JP\",\"IPAexGothic\",sans-serif;color:#1b1b1b;"
    "margin:24px;font-size:11pt;line-height:1.5}\n"
    "h1{font-size:18pt;border-bottom:3px solid #1d4e89;padding-bottom:4px;margin:0 0 4px}\n"
    "h2{font-size:14pt;color:#1d4e89;margin:20px 0 6px;border-left:6px solid #1d4e89;"
    "padding-left:6px}\n"
    "h3{font-size:12pt;margin:14px 0 4px}\n"
    ".sub{color:#555;margin:0 0 12px}\n"
    ".figs{display:flex;flex-wrap:wrap;gap:8px;margin:8px 0}\n"
    ".fig{border:1px solid #c8d3e0;border-radius:4px;padding:6px 10px;min-width:120px}\n"
    ".fig .v{font-size:18pt;font-weight:bold;color:#1d4e89}\n"
    ".fig.alert .v{color:#b3261e}\n"
    ".fig .l,.fig .n{font-size:9pt;color:#444}\n"
    "table{border-collapse:collapse;margin:6px 0;font-size:9.5pt;width:100%}\n"
    "th,td{border:1px solid #b8c2cc;padding:3px 6px;vertical-align:top}\n"
    "th{background:#e8eef5;text-align:left}\n"
    "td.num{text-align:right}\n"
    "svg{max-width:100%;margin:6px 0}\n"
    "@media print{body{margin:0}h2{break-after:avoid}tr{break-inside:avoid}}\n"
    "</style>\n";

int report_begin(struct report *r, const char *lang, const char *title, const char *subtitle)
{
	int e;

	buf_init(&r->html, (size_t)16 << 20);
	r->ended = false;
	if ((e = buf_printf(&r->html,
			    "<!DOCTYPE html>\n<html lang=\"%s\">\n<head>\n<meta charset=\"utf-8\">\n"
			    "<title>",
			    strcmp(lang, "en") == 0 ? "en" : "ja")) < 0 ||
	    (e = report_escape(&r->html, title)) < 0 ||
	    (e = buf_puts(&r->html, "</title>\n")) < 0 || (e = buf_puts(&r->html, STYLE)) < 0 ||
	    (e = buf_puts(&r->html, "</head>\n<body>\n<h1>")) < 0 ||
	    (e = report_escape(&r->html, title)) < 0 || (e = buf_puts(&r->html, "</h1>\n")) < 0)
		return e;
	if (subtitle) {
		if ((e = buf_puts(&r->html, "<p class=\"sub\">")) < 0 ||
		    (e = report_escape(&r->html, subtitle)) < 0 ||
		    (e = buf_puts(&r->html, "</p>\n")) < 0)
			return e;
	}
	return 0;
}

int report_heading(struct report *r, int level, const char *text)
{
	int e, l = level < 2 ? 2 : level > 3 ? 3 : level;

	if ((e = buf_printf(&r->html, "<h%d>", l)) < 0 || (e = report_escape(&r->html, text)) < 0)
		return e;
	return buf_printf(&r->html, "</h%d>\n", l);
}

int report_para(struct report *r, const char *text)
{
	int e = buf_puts(&r->html, "<p>");

	for (const char *p = text; e == 0 && *p; p++) {
		char one[2] = {*p, 0};
		e = *p == '\n' ? buf_puts(&r->html, "<br>") : report_escape(&r->html, one);
	}
	return e < 0 ? e : buf_puts(&r->html, "</p>\n");
}

int report_figures(struct report *r, const struct report_figure *f, size_t n)
{
	int e;

	if ((e = buf_puts(&r->html, "<div class=\"figs\">\n")) < 0)
		return e;
	for (size_t i = 0; i < n; i++) {
		if ((e = buf_printf(&r->html, "<div class=\"fig%s\"><div class=\"l\">",
				    f[i].alert ? " alert" : "")) < 0 ||
		    (e = report_escape(&r->html, f[i].label ? f[i].label : "")) < 0 ||
		    (e = buf_puts(&r->html, "</div><div class=\"v\">")) < 0 ||
		    (e = report_escape(&r->html, f[i].value ? f[i].value : "")) < 0 ||
		    (e = buf_puts(&r->html, "</div>")) < 0)
			return e;
		if (f[i].note && ((e = buf_puts(&r->html, "<div class=\"n\">")) < 0 ||
				  (e = report_escape(&r->html, f[i].note)) < 0 ||
				  (e = buf_puts(&r->html, "</div>")) < 0))
			return e;
		if ((e = buf_puts(&r->html, "</div>\n")) < 0)
			return e;
	}
	return buf_puts(&r->html, "</div>\n");
}

static bool looks_numeric(const char *s)
{
	bool digit = false;

	if (*s == '-' || *s == '+')
		s++;
	for (; *s; s++) {
		if (*s >= '0' && *s <= '9')
			digit = true;
		else if (*s != '.' && *s != ',' && *s != '%')
			return false;
	}
	return digit;
}

int report_table(struct report *r, const char *const *head, size_t ncols, const char *const *cells,
		 size_t nrows)
{
	size_t total;
	int e;

	if (size_mul(ncols, nrows, &total) < 0)
		return ERR_TOO_LARGE;
	if ((e = buf_puts(&r->html, "<table>\n<thead><tr>")) < 0)
		return e;
	for (size_t c = 0; c < ncols; c++)
		if ((e = buf_puts(&r->html, "<th>")) < 0 ||
		    (e = report_escape(&r->html, head[c] ? head[c] : "")) < 0 ||
		    (e = buf_puts(&r->html, "</th>")) < 0)
			return e;
	if ((e = buf_puts(&r->html, "</tr></thead>\n<tbody>\n")) < 0)
		return e;
	for (size_t i = 0; i < nrows; i++) {
		if ((e = buf_puts(&r->html, "<tr>")) < 0)
			return e;
		for (size_t c = 0; c < ncols; c++) {
			const char *v = cells[i * ncols + c] ? cells[i * ncols + c] : "";
			if ((e = buf_puts(&r->html, looks_numeric(v) ? "<td class=\"num\">" : "<td>")) < 0 ||
			    (e = report_escape(&r->html, v)) < 0 || (e = buf_puts(&r->html, "</td>")) < 0)
				return e;
		}
		if ((e = buf_puts(&r->html, "</tr>\n")) < 0)
			return e;
	}
	return buf_puts(&r->html, "</tbody></table>\n");
}

static int fmt_value(char *out, size_t cap, double v, const char *unit)
{
	int n;

	if (v == floor(v) && fabs(v) < 1e15)
		n = snprintf(out, cap, "%.0f%s", v, unit ? unit : "");
	else
		n = snprintf(out, cap, "%.1f%s", v, unit ? unit : "");
	return n < 0 || (size_t)n >= cap ? ERR_TOO_LARGE : 0;
}

int report_bar_chart(struct report *r, const char *title, const char *const *labels,
		     const double *values, size_t n, double max, const char *unit)
{
	/* Geometry in SVG user units: a plot 200 high, bars at least 12
	 * wide, labels under the bars (turned when there are many). */
	const double plot_h = 200, top = 24, left = 10;
	double slot, bar_w, width, scale = max;
	bool turn = n > 12;
	double label_h = turn ? 70 : 34;
	char v[64];
	int e;

	if (n > REPORT_CHART_MAX)
		return ERR_INVALID;
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(values[i]) || values[i] < 0)
			return ERR_INVALID;
		if (max <= 0 && values[i] > scale)
			scale = values[i];
	}
	if (scale <= 0)
		scale = 1;
	slot = n > 0 && 680.0 / (double)n >= 16 ? 680.0 / (double)n : 16;
	bar_w = slot * 0.7;
	width = left * 2 + slot * (double)(n ? n : 1);
	if ((e = buf_printf(&r->html,
			    "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" width=\"%.0f\" "
			    "height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" font-size=\"10\" "
			    "font-family=\"Noto Sans CJK JP, IPAexGothic, sans-serif\"><title>",
			    width, top + plot_h + label_h, width, top + plot_h + label_h)) < 0 ||
	    (e = report_escape(&r->html, title)) < 0 || (e = buf_puts(&r->html, "</title>")) < 0 ||
	    (e = buf_printf(&r->html,
			    "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#666\"/>",
			    left, top + plot_h, width - left, top + plot_h)) < 0)
		return e;
	for (size_t i = 0; i < n; i++) {
		double val = values[i] > scale ? scale : values[i];
		double h = plot_h * val / scale, x = left + slot * (double)i + (slot - bar_w) / 2;
		double cx = x + bar_w / 2, ly = top + plot_h + 12;

		if ((e = fmt_value(v, sizeof(v), values[i], unit)) < 0)
			return e;
		if ((e = buf_printf(&r->html,
				    "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
				    "fill=\"#1d4e89\"/><text x=\"%.1f\" y=\"%.1f\" "
				    "text-anchor=\"middle\">%s</text>",
				    x, top + plot_h - h, bar_w, h, cx, top + plot_h - h - 3, v)) < 0)
			return e;
		if (turn)
			e = buf_printf(&r->html,
				       "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" "
				       "transform=\"rotate(-60 %.1f %.1f)\">",
				       cx, ly, cx, ly);
		else
			e = buf_printf(&r->html, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">",
				       cx, ly);
		if (e < 0 || (e = report_escape(&r->html, labels[i] ? labels[i] : "")) < 0 ||
		    (e = buf_puts(&r->html, "</text>")) < 0)
			return e;
	}
	return buf_puts(&r->html, "</svg>\n");
}

int report_end(struct report *r)
{
	if (r->ended)
		return 0;
	r->ended = true;
	return buf_puts(&r->html, "</body>\n</html>\n");
}

void report_release(struct report *r)
{
	buf_release(&r->html);
}

/* ---- CSV ---- */

int report_csv_begin(struct buf *out)
{
	return buf_puts(out, REPORT_CSV_BOM);
}

int report_csv_row(struct buf *out, const char *const *fields, size_t n)
{
	int e = 0;

	for (size_t i = 0; i < n && e == 0; i++) {
		const char *f = fields[i] ? fields[i] : "";
		bool quote = strpbrk(f, ",\"\r\n") != NULL;

		if (i > 0 && (e = buf_putc(out, ',')) < 0)
			break;
		if (!quote) {
			e = buf_puts(out, f);
			continue;
		}
		if ((e = buf_putc(out, '"')) < 0)
			break;
		for (; *f && e == 0; f++)
			e = *f == '"' ? buf_puts(out, "\"\"") : buf_putc(out, *f);
		if (e == 0)
			e = buf_putc(out, '"');
	}
	return e < 0 ? e : buf_puts(out, "\r\n");
}

/* ---- PDF ---- */

static const char *const CHROMIUM_PATHS[] = {
    "/usr/bin/chromium",
    "/usr/bin/chromium-browser",
    "/usr/bin/google-chrome",
};

const char *report_pdf_missing_msg(void)
{
	return T("PDF を作成できません: Chromium がインストールされていません"
		 "（apt-get install chromium）",
		 "cannot make the PDF: Chromium is not installed (apt-get install chromium)");
}

/* Remove the files of the temporary folder (one level: the page, the
 * PDF, and Chromium's profile, which may have subfolders). */
static void rm_tree(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;

	if (d) {
		while ((e = readdir(d)) != NULL) {
			char sub[4096];
			int n;
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			n = snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
			if (n < 0 || (size_t)n >= sizeof(sub))
				continue;
			if (e->d_type == DT_DIR)
				rm_tree(sub);
			else if (unlink(sub) != 0 && errno == EISDIR)
				rm_tree(sub);
		}
		closedir(d);
	}
	if (rmdir(path) != 0)
		(void)unlink(path);
}

static int spawn_wait(pid_t pid, unsigned timeout_sec, int *status)
{
	struct timespec t0, now, nap = {0, 50 * 1000 * 1000};

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		pid_t w = waitpid(pid, status, WNOHANG);
		if (w == pid)
			return 0;
		if (w < 0 && errno != EINTR)
			return ERR_IO;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - t0.tv_sec >= (time_t)timeout_sec) {
			/* Chromium starts helper processes in its own process
			 * group; killing the main process makes them exit. */
			(void)kill(pid, SIGKILL);
			while (waitpid(pid, status, 0) < 0 && errno == EINTR)
				;
			return ERR_TIMEOUT;
		}
		nanosleep(&nap, NULL);
	}
}

int report_pdf(const char *html, size_t len, unsigned timeout_sec, struct buf *pdf)
{
	const char *chromium = NULL, *tmp = getenv("TMPDIR");
	char dir[512], page[600], out[600], prof[600], url[640], home[600];
	char arg_out[640], arg_prof[640];
	posix_spawn_file_actions_t fa;
	bool fa_init = false, have_dir = false;
	struct stat st;
	struct buf data;
	pid_t pid;
	int status = 0, r, n;

	buf_init(&data, REPORT_PDF_MAX);
	for (size_t i = 0; i < ARRAY_SIZE(CHROMIUM_PATHS); i++)
		if (access(CHROMIUM_PATHS[i], X_OK) == 0) {
			chromium = CHROMIUM_PATHS[i];
			break;
		}
	if (!chromium) {
		log_msg(LOG_ERROR, "%s", report_pdf_missing_msg());
		r = ERR_NOT_FOUND;
		goto out;
	}
	if (!tmp || tmp[0] != '/' || strlen(tmp) > 400)
		tmp = "/tmp";
	n = snprintf(dir, sizeof(dir), "%s/mamori-report-XXXXXX", tmp);
	if (n < 0 || (size_t)n >= sizeof(dir) || !mkdtemp(dir)) {
		r = ERR_IO;
		goto out;
	}
	have_dir = true;
	if (snprintf(page, sizeof(page), "%s/report.html", dir) < 0 ||
	    snprintf(out, sizeof(out), "%s/report.pdf", dir) < 0 ||
	    snprintf(prof, sizeof(prof), "%s/profile", dir) < 0 ||
	    snprintf(home, sizeof(home), "HOME=%s", dir) < 0 ||
	    snprintf(url, sizeof(url), "file://%s", page) < 0 ||
	    snprintf(arg_out, sizeof(arg_out), "--print-to-pdf=%s", out) < 0 ||
	    snprintf(arg_prof, sizeof(arg_prof), "--user-data-dir=%s", prof) < 0) {
		r = ERR_TOO_LARGE;
		goto out;
	}
	if ((r = file_write_atomic(page, html, len, 0600)) < 0)
		goto out;
	{
		/* Fixed arguments; the only variable parts are paths inside the
		 * folder made above. Chromium's sandbox cannot start as root,
		 * so --no-sandbox is given only then (the page is mamori's own,
		 * with no script and no external resource). */
		char *argv[16];
		char *envp[] = {home, "PATH=/usr/bin:/bin", "LANG=C.UTF-8", NULL};
		size_t a = 0;
		argv[a++] = (char *)chromium;
		argv[a++] = "--headless";
		if (geteuid() == 0)
			argv[a++] = "--no-sandbox";
		argv[a++] = "--disable-gpu";
		argv[a++] = "--disable-extensions";
		argv[a++] = "--no-first-run";
		argv[a++] = "--disable-dev-shm-usage";
		argv[a++] = "--no-pdf-header-footer";
		argv[a++] = "--run-all-compositor-stages-before-draw";
		argv[a++] = arg_prof;
		argv[a++] = arg_out;
		argv[a++] = url;
		argv[a] = NULL;
		if (posix_spawn_file_actions_init(&fa) != 0) {
			r = ERR_NOMEM;
			goto out;
		}
		fa_init = true;
		if (posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0) != 0 ||
		    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0) != 0 ||
		    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0) != 0) {
			r = ERR_NOMEM;
			goto out;
		}
		if (posix_spawn(&pid, chromium, &fa, NULL, argv, envp) != 0) {
			log_msg(LOG_ERROR, "%s: %s", chromium, strerror(errno));
			r = ERR_IO;
			goto out;
		}
	}
	if ((r = spawn_wait(pid, timeout_sec ? timeout_sec : REPORT_PDF_TIMEOUT_SEC, &status)) < 0) {
		log_msg(LOG_ERROR, T("Chromium が %u 秒以内に終了しませんでした",
				     "Chromium did not finish within %u seconds"),
			timeout_sec ? timeout_sec : REPORT_PDF_TIMEOUT_SEC);
		goto out;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || stat(out, &st) != 0) {
		log_msg(LOG_ERROR, T("Chromium が PDF を作成できませんでした（終了状態 %d）",
				     "Chromium did not make the PDF (exit status %d)"),
			WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		r = ERR_IO;
		goto out;
	}
	if ((r = file_read_all(out, REPORT_PDF_MAX, &data)) < 0)
		goto out;
	if (data.len < 5 || memcmp(data.data, "%PDF-", 5) != 0) {
		r = ERR_IO;
		goto out;
	}
	r = buf_append(pdf, data.data, data.len);
out:
	if (fa_init)
		posix_spawn_file_actions_destroy(&fa);
	if (have_dir)
		rm_tree(dir);
	buf_release(&data);
	return r;
}
