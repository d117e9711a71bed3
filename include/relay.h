/* relay.h: relay sockets: one UDP socket per relayed address, read in batches with headroom. */
#ifndef MINIRTC_RELAY_H
#define MINIRTC_RELAY_H

#include <sys/socket.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct alloc;
struct event_base;
struct relay_rx;
struct server;
struct stats;

#define RELAY_PRIORITIES	3	/* the worker base's; ordinary events take the middle one */

struct relay_rx	*relay_rx_new(struct event_base *, struct stats *, bool, void (*)(void *),
		    void *);
void		 relay_flush_all(struct relay_rx *);
void		 relay_rx_recycle(struct relay_rx *);
void		 relay_rx_free(struct relay_rx *);
int		 relay_sock_open(struct event_base *, struct relay_rx *, struct server *,
		    struct alloc *, const struct sockaddr *, int, void **);
void		 relay_sock_close(void *);
int		 relay_sock_send(void *, const struct sockaddr *, const uint8_t *, size_t,
		    bool);

#endif
