/* stream.h: one TCP client connection: framing only; messages go to the core. */
#ifndef MINIRTC_STREAM_H
#define MINIRTC_STREAM_H

#include <sys/socket.h>
#include <stdbool.h>

struct config;
struct event_base;
struct server;
struct stats;
struct stream_set;
typedef struct ssl_ctx_st SSL_CTX;

struct stream_set *stream_set_new(struct event_base *, const struct config *,
	    SSL_CTX *, unsigned *, struct server *, struct stats *, void (*)(void *), void *);
void	 stream_set_free(struct stream_set *);
void	 stream_set_tls(struct stream_set *, SSL_CTX *);
void	 stream_accept(struct stream_set *, int, const struct sockaddr *,
	    const struct sockaddr *, bool);

#endif
