/* log.h: leveled logging to stderr or syslog, and fatal exits. */
#ifndef MINIRTC_LOG_H
#define MINIRTC_LOG_H

#include <stdbool.h>

#define LOG_LEVEL_ERROR		0
#define LOG_LEVEL_WARNING	1
#define LOG_LEVEL_INFO		2
#define LOG_LEVEL_DEBUG		3

void	log_init(const char *, int, bool);
void	log_set_level(int);
int	log_fd(void);
int	log_level_parse(const char *);
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	fatal(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

#endif
