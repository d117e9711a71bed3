/* listen.h: listener sockets; UDP batches in and out of the core. */
#ifndef MINIRTC_LISTEN_H
#define MINIRTC_LISTEN_H

#include <sys/socket.h>
#include <stdbool.h>

struct event_base;
struct server;
struct stats;
struct udp_listener;

int	 listen_udp_socket(const struct sockaddr *, int, char **);
void	 listen_set_buffers(int, int);
int	 listen_udp_probe(const struct sockaddr *, char **);
int	 listen_tcp_socket(const struct sockaddr *, char **);
struct udp_listener *udp_listener_new(struct event_base *, int,
	    const struct sockaddr *, struct server *, struct stats *, bool,
	    void (*)(void *), void *);
void	 udp_listener_flush(struct udp_listener *);
void	 udp_listener_set_siblings(struct udp_listener *, struct udp_listener **,
	    unsigned);
void	 udp_listener_free(struct udp_listener *);

#endif
