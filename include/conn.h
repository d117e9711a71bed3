/* conn.h: what the shell's UDP listeners and streams share, so the core can answer through either. */
#ifndef MINIRTC_CONN_H
#define MINIRTC_CONN_H

#include <sys/socket.h>
#include <stddef.h>
#include <stdint.h>

/* The first member of every client-facing connection object. */
struct conn {
	int	(*send)(struct conn *, const struct sockaddr *, const struct sockaddr *,
		    const uint8_t *, size_t);
};

#endif
