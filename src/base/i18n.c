#include "base/base.h"
#include "base/i18n.h"

static enum lang process_lang = LANG_JA;
static _Thread_local int thread_lang = -1;

static bool starts_with_ja(const char *s)
{
	return s && (s[0] == 'j' || s[0] == 'J') && (s[1] == 'a' || s[1] == 'A');
}

void i18n_init_from_env(void)
{
	const char *vars[] = {"MAMORI_LANG", "LC_ALL", "LC_MESSAGES", "LANG"};
	for (size_t i = 0; i < ARRAY_SIZE(vars); i++) {
		const char *v = getenv(vars[i]);
		if (!v || !*v)
			continue;
		/* C/POSIX locales say nothing about the language wanted. */
		if (!strcmp(v, "C") || !strcmp(v, "POSIX") || !strncmp(v, "C.", 2))
			continue;
		process_lang = starts_with_ja(v) ? LANG_JA : LANG_EN;
		return;
	}
	process_lang = LANG_JA;
}

void i18n_set_thread(enum lang l)
{
	thread_lang = (int)l;
}

void i18n_clear_thread(void)
{
	thread_lang = -1;
}

enum lang i18n_current(void)
{
	return thread_lang >= 0 ? (enum lang)thread_lang : process_lang;
}

bool i18n_is_ja(void)
{
	return i18n_current() == LANG_JA;
}

enum lang i18n_from_accept_language(const char *h, enum lang fallback)
{
	if (!h)
		return fallback;
	/* The first listed language wins; q-values are rarely used by the
	 * clients that call mamori and are ignored. */
	while (*h == ' ')
		h++;
	if (starts_with_ja(h))
		return LANG_JA;
	if ((h[0] == 'e' || h[0] == 'E') && (h[1] == 'n' || h[1] == 'N'))
		return LANG_EN;
	return fallback;
}
