#include "log.h"

#include <stdio.h>

int log_verbosity = LOG_WARN;

void log_msg(enum log_level level, const char *fmt, ...)
{
	static const char *const prefix[] = { "error", "warning", "info", "debug" };
	va_list ap;

	if ((int)level > log_verbosity)
		return;
	fprintf(stderr, "suture: %s: ", prefix[level]);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
