/* config.h: the configuration snapshot, read from a libconfig file and the command line. */
#ifndef MINIRTC_CONFIG_H
#define MINIRTC_CONFIG_H

#include <sys/socket.h>
#include <stdbool.h>
#include <stdio.h>

#define CONFIG_MAX_LISTEN	32
#define CONFIG_DEFAULT_PORT	3478

/* Built once, then read-only: workers hold a const pointer to it. */
struct config {
	struct sockaddr_storage	 listen[CONFIG_MAX_LISTEN];
	unsigned		 nlisten;
	int			 workers;	/* 0: one per CPU we may run on */
	bool			 udp;
	bool			 tcp;
	char			*software;	/* "" sends no SOFTWARE */
	bool			 rfc3489;
	bool			 mapped_address;
	int			 max_frame;
	int			 tcp_idle_timeout;
	int			 log_level;
	bool			 syslog;
};

struct config_arg {
	const char	*name;	/* option name, without the leading "--" */
	const char	*value;
};

struct config	*config_load(const char *, const struct config_arg *, unsigned,
		    char **);
void		 config_free(struct config *);
bool		 config_is_option(const char *);
void		 config_print_help(FILE *);

#endif
