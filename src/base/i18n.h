/*
 * i18n.h - Japanese and English text.
 *
 * Every sentence a person reads exists in both languages, side by side at
 * the place it is written: T("日本語", "English"). The language is chosen
 * per thread (the server sets it per request from Accept-Language); the
 * process default comes from MAMORI_LANG, then LANG/LC_ALL/LC_MESSAGES
 * ("ja*" selects Japanese, anything else English). With nothing set the
 * default is Japanese.
 *
 * Both strings of a pair must take the same printf arguments in the same
 * order; -Wformat checks each when the pair is used as a format.
 */
#ifndef MAMORI_I18N_H
#define MAMORI_I18N_H

#include <stdbool.h>

enum lang { LANG_JA = 0, LANG_EN = 1 };

/* Read the environment and set the process default. Call once in main(). */
void i18n_init_from_env(void);
/* Set the language of the calling thread (overrides the default). */
void i18n_set_thread(enum lang l);
/* Forget the thread's choice; the process default applies again. */
void i18n_clear_thread(void);
enum lang i18n_current(void);
bool i18n_is_ja(void);
/* Parse an Accept-Language header value; NULL or unknown gives fallback. */
enum lang i18n_from_accept_language(const char *header, enum lang fallback);

#define T(ja, en) (i18n_is_ja() ? (ja) : (en))

#endif
