#include <pthread.h>
#include <time.h>

#include "base/log.h"
#include "base/timeutil.h"

static enum log_level min_level = LOG_INFO;
static FILE *log_out;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

void log_set_level(enum log_level l)
{
	min_level = l;
}

void log_set_file(FILE *f)
{
	log_out = f;
}

void log_msg(enum log_level l, const char *fmt, ...)
{
	static const char *names[] = {"debug", "info", "warn", "error"};
	char ts[TS_TEXT_MAX];
	va_list ap;
	FILE *f;

	if (l < min_level)
		return;
	ts_format_jst(ts_now(), ts);
	pthread_mutex_lock(&log_lock);
	f = log_out ? log_out : stderr;
	fprintf(f, "%s %-5s ", ts, names[l]);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
	fflush(f);
	pthread_mutex_unlock(&log_lock);
}
