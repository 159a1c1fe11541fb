#include <pwd.h>
#include <unistd.h>

#include "base/base.h"
#include "base/i18n.h"
#include "cli/cli.h"

void cli_error(const char *fmt, ...)
{
	va_list ap;
	fputs("mamori: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

bool cli_stderr_is_tty(void)
{
	return isatty(STDERR_FILENO) == 1;
}

static struct cli_opt *find_opt(struct cli_opt *opts, size_t n, const char *name, size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(opts[i].name) == len && !memcmp(opts[i].name, name, len))
			return &opts[i];
	return NULL;
}

int cli_parse(int argc, char **argv, struct cli_opt *opts, size_t nopts, char **pos, int maxpos)
{
	int npos = 0;
	bool only_pos = false;

	for (int i = 1; i < argc; i++) {
		char *a = argv[i];
		if (!only_pos && !strcmp(a, "--")) {
			only_pos = true;
			continue;
		}
		if (!only_pos && a[0] == '-' && a[1] == '-' && a[2]) {
			const char *name = a + 2, *eq = strchr(name, '=');
			size_t len = eq ? (size_t)(eq - name) : strlen(name);
			struct cli_opt *o = find_opt(opts, nopts, name, len);
			if (!o) {
				cli_error(T("不明なオプション '%s'", "unknown option '%s'"), a);
				return -1;
			}
			if (!o->takes_value) {
				if (eq) {
					cli_error(T("オプション '--%s' は値を取りません",
						    "option '--%s' takes no value"),
						  o->name);
					return -1;
				}
				*o->value = "1";
			} else if (eq) {
				*o->value = eq + 1;
			} else if (i + 1 < argc) {
				*o->value = argv[++i];
			} else {
				cli_error(T("オプション '--%s' に値がありません",
					    "option '--%s' needs a value"),
					  o->name);
				return -1;
			}
			continue;
		}
		if (npos >= maxpos) {
			cli_error(T("余分な引数 '%s'", "unexpected argument '%s'"), a);
			return -1;
		}
		pos[npos++] = a;
	}
	return npos;
}

void cli_actor(char *out, size_t len)
{
	struct passwd pw, *res = NULL;
	char tmp[4096];
	if (getpwuid_r(getuid(), &pw, tmp, sizeof(tmp), &res) == 0 && res)
		snprintf(out, len, "cli:%s", res->pw_name);
	else
		snprintf(out, len, "cli:%u", (unsigned)getuid());
}
