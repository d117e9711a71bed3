/* log.c: the logger: stderr or syslog, a level threshold, printf-checked entry points. */
#include <sys/socket.h>
#include <sys/un.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define SYSLOG_PATH	"/dev/log"

/* The logger is one of the two program-wide mutable objects (with the config snapshot). */
static struct {
	const char	*ident;
	int		 level;
	bool		 syslog;
	int		 fd;		/* datagram socket to SYSLOG_PATH, or -1 */
	bool		 stream;	/* ... or a stream socket */
} lg = { "turnd", LOG_LEVEL_INFO, false, -1, false };

/* (Re)connect the syslog socket; the descriptor itself is never replaced. */
static int
log_syslog_connect(void)
{
	struct sockaddr_un sun;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, SYSLOG_PATH, sizeof(SYSLOG_PATH));
	return connect(lg.fd, (struct sockaddr *)&sun, sizeof(sun));
}

/*
 * Choose the sink and threshold; called before any thread starts.
 *
 * Syslog goes through our own socket rather than syslog(3): each worker
 * thread has a file table of its own (worker.c), and glibc's syslog closes
 * and reopens its descriptor when the daemon restarts, which would leave the
 * other threads writing to whatever holds that number in their tables. Our
 * socket is opened here, before the tables split, and only ever reconnected.
 */
void
log_init(const char *ident, int level, bool use_syslog)
{
	lg.ident = ident;
	lg.level = level;
	lg.syslog = use_syslog;
	if (use_syslog && lg.fd < 0) {
		int rc = -1;

		lg.fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (lg.fd >= 0 && (rc = log_syslog_connect()) != 0 && errno == EPROTOTYPE) {
			/* A stream socket (old syslogds): lines end with a NUL, as
			 * syslog(3) sends them; it is not reconnected if it breaks. */
			close(lg.fd);
			lg.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
			lg.stream = true;
			rc = lg.fd >= 0 ? log_syslog_connect() : -1;
		}
		/* Datagrams are retried at each line until the daemon is there. */
		if (rc != 0)
			fprintf(stderr, "%s: warning: syslog: cannot connect to %s: %s\n", ident,
			    SYSLOG_PATH, strerror(errno));
	}
}

/* One line to syslog in the traditional format; dropped rather than block a worker. */
static void
log_syslog_send(int prio, const char *msg)
{
	char line[1200], stamp[32];
	struct tm tm;
	time_t now = time(NULL);
	int n;

	if (lg.fd < 0)
		return;
	if (localtime_r(&now, &tm) == NULL || strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S",
	    &tm) == 0)
		stamp[0] = '\0';
	n = snprintf(line, sizeof(line), "<%d>%s %s[%ld]: %s", LOG_DAEMON | prio, stamp,
	    lg.ident, (long)getpid(), msg);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	if (lg.stream)
		n++;	/* the NUL that ends a line on a stream */
	if (send(lg.fd, line, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0 || lg.stream)
		return;
	if ((errno == ENOTCONN || errno == ECONNREFUSED || errno == ECONNRESET) &&
	    log_syslog_connect() == 0)	/* the syslog daemon restarted */
		(void)send(lg.fd, line, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL);
}

/* The syslog socket's descriptor, or -1: worker.c keeps it when it prunes its table. */
int
log_fd(void)
{
	return lg.fd;
}

/* Change the threshold. */
void
log_set_level(int level)
{
	__atomic_store_n(&lg.level, level, __ATOMIC_RELAXED);	/* workers read it */
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
	char msg[1024], full[1100];

	if (level > __atomic_load_n(&lg.level, __ATOMIC_RELAXED))
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (lg.syslog) {
		if (err != 0) {
			snprintf(full, sizeof(full), "%s: %s", msg, strerror(err));
			log_syslog_send(prio[level], full);
		} else
			log_syslog_send(prio[level], msg);
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
