/*
 * log.h - operational log lines on stderr (or a file), one line each:
 *   2026-04-01T09:15:02+09:00 info  server listening on 127.0.0.1:8080
 * Thread-safe. Not for audit records: those go to the ledger.
 */
#ifndef MAMORI_LOG_H
#define MAMORI_LOG_H

#include "base/base.h"

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

void log_set_level(enum log_level l);
void log_set_file(FILE *f);
void log_msg(enum log_level l, const char *fmt, ...) MM_PRINTF(2, 3);

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
