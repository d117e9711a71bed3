/* server.h: the protocol core's entry point: bytes and a 5-tuple in, a reply out; no I/O. */
#ifndef MINIRTC_SERVER_H
#define MINIRTC_SERVER_H

#include <sys/types.h>
#include <sys/socket.h>
#include <stddef.h>
#include <stdint.h>

#include "rbuf.h"
#include "stun.h"

struct config;
struct stats;
struct server;

enum transport {
	TRANSPORT_UDP,
	TRANSPORT_TCP,
	TRANSPORT_TLS,
	TRANSPORT_DTLS,
};

/* The 5-tuple a message arrived on, and the time (the core never reads a clock). */
struct pkt_ctx {
	enum transport		 tp;
	const struct sockaddr	*peer;	/* the client's address as we see it */
	const struct sockaddr	*local;	/* our address the message arrived at */
	uint64_t		 now_ms;
};

/* One request being answered; handlers get this and nothing else. */
struct request {
	struct server		*srv;
	const struct config	*cfg;
	struct stats		*stats;
	const struct pkt_ctx	*pkt;
	const struct stun_msg	*msg;
	struct wbuf		*out;
};

struct server	*server_new(const struct config *, struct stats *);
void		 server_free(struct server *);
ssize_t		 server_process(struct server *, const struct pkt_ctx *,
		    const uint8_t *, size_t, uint8_t *, size_t);

/* Reply helpers for handlers (server.c). */
int		 reply_begin(struct request *);
int		 reply_finish(struct request *);
int		 reply_error(struct request *, int);
int		 reply_error_unsupported(struct request *, uint16_t);

/* Method handlers: 0 when a reply was built in req->out, 1 for no reply. */
int		 binding_handle(struct request *);

#endif
