/* addr.h: socket address parsing, formatting and comparison (no I/O). */
#ifndef MINIRTC_ADDR_H
#define MINIRTC_ADDR_H

#include <sys/types.h>
#include <sys/socket.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ADDR_STRLEN	64	/* "[v6]:port" with room to spare */

int		 addr_parse(const char *, uint16_t, struct sockaddr_storage *);
const char	*addr_fmt(const struct sockaddr *, char *, size_t);
const char	*addr_fmt_ip(const struct sockaddr *, char *, size_t);
socklen_t	 addr_len(const struct sockaddr *);
uint16_t	 addr_port(const struct sockaddr *);
void		 addr_set_port(struct sockaddr *, uint16_t);
bool		 addr_is_any(const struct sockaddr *);
bool		 addr_equal(const struct sockaddr *, const struct sockaddr *);

#endif
