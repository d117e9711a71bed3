/* log.c: the logger: stderr or syslog, a level threshold, printf-checked entry points. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>

#include "log.h"

/* The logger is one of the two program-wide mutable objects (with the config snapshot). */
static struct {
	const char	*ident;
	int		 level;
	bool		 syslog;
} lg = { "turnd", LOG_LEVEL_INFO, false };

/* Choose the sink and threshold; called before any thread starts. */
void
log_init(const char *ident, int level, bool use_syslog)
{
	lg.ident = ident;
	lg.level = level;
	lg.syslog = use_syslog;
	if (use_syslog)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

/* Change the threshold. */
void
log_set_level(int level)
{
	lg.level = level;
}

/* "error", "warning", "info" or "debug" to a level; -1 for anything else. */
int
log_level_parse(const char *s)
{
	static const char *names[] = { "error", "warning", "info", "debug" };
	int i;

	for (i = 0; i < 4; i++)
		if (strcasecmp(s, names[i]) == 0)
			return i;
	return -1;
}

/* Emit one line at a level, with an optional errno text. */
static void __attribute__((format(printf, 3, 0)))
log_vemit(int level, int err, const char *fmt, va_list ap)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	static const char *tag[] = { "error", "warning", "info", "debug" };
	char msg[1024];

	if (level > lg.level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (lg.syslog) {
		if (err != 0)
			syslog(prio[level], "%s: %s", msg, strerror(err));
		else
			syslog(prio[level], "%s", msg);
		return;
	}
	if (err != 0)
		fprintf(stderr, "%s: %s: %s: %s\n", lg.ident, tag[level], msg,
		    strerror(err));
	else
		fprintf(stderr, "%s: %s: %s\n", lg.ident, tag[level], msg);
}

/* A warning with errno's text. */
void
log_warn(const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_LEVEL_WARNING, err, fmt, ap);
	va_end(ap);
}

/* A warning. */
void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_LEVEL_WARNING, 0, fmt, ap);
	va_end(ap);
}

/* Normal operation worth telling an operator. */
void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_LEVEL_INFO, 0, fmt, ap);
	va_end(ap);
}

/* Detail for -v. */
void
log_debug(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_LEVEL_DEBUG, 0, fmt, ap);
	va_end(ap);
}

/* A startup error or broken invariant, with errno's text: exit 1. */
void
fatal(const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_LEVEL_ERROR, err, fmt, ap);
	va_end(ap);
	exit(1);
}

/* A startup error or broken invariant: exit 1. */
void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_LEVEL_ERROR, 0, fmt, ap);
	va_end(ap);
	exit(1);
}
