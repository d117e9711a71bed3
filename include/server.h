/* server.h: the protocol core's entry points: bytes and a 5-tuple in, replies and relayed data out through an injected I/O table. */
#ifndef MINIRTC_SERVER_H
#define MINIRTC_SERVER_H

#include <sys/types.h>
#include <sys/socket.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy.h"
#include "rbuf.h"
#include "stun.h"

struct alloc;
struct auth;
struct auth_result;
struct config;
struct ports;
struct quota;
struct server;
struct stats;

/* Room a relay receive buffer leaves before the payload for a Data indication header. */
#define RELAY_HEADROOM	48
/* Room after the payload: stream padding and Data indication padding. */
#define RELAY_TAILROOM	4

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
	void			*conn;	/* the shell's listener or stream it came through */
	uint64_t		 now_ms;	/* monotonic */
	uint64_t		 wall_s;	/* Unix time, for credential expiry */
	/* Where the reply goes when the core moves it (RFC 5780 CHANGE-REQUEST,
	 * RESPONSE-PORT): the shell points these at AF_UNSPEC storage, or
	 * leaves them NULL where it cannot send from another address. */
	struct sockaddr_storage	*reply_from;
	struct sockaddr_storage	*reply_to;
};

/* What the core asks of the shell; unit tests pass their own. */
struct server_io {
	void	*arg;
	/* Open a UDP relay socket bound to addr for the allocation's relay slot idx. */
	int	(*relay_open)(void *, struct alloc *, unsigned, const struct sockaddr *,
		    void **);
	void	(*relay_close)(void *, void *);
	/* Send a datagram to a peer from a relay socket; df asks for Don't Fragment. */
	int	(*relay_send)(void *, void *, const struct sockaddr *, const uint8_t *,
		    size_t, bool);
	/* Send bytes to an allocation's client over the connection it came through. */
	int	(*client_send)(void *, void *, const struct sockaddr *,
		    const struct sockaddr *, const uint8_t *, size_t);
};

/* Process-wide TURN state, built by main before the workers start. */
struct turn_shared {
	const struct config *cfg;
	struct auth	*auth;
	struct ports	*ports;
	struct quota	*quota;
	struct policy	 policy;
};

/* One request being answered; handlers get this and nothing else. */
struct request {
	struct server		*srv;
	const struct config	*cfg;
	struct stats		*stats;
	const struct pkt_ctx	*pkt;
	const struct stun_msg	*msg;
	struct wbuf		*out;
	const struct auth_result *auth;	/* set once the request passed authentication */
};

struct server	*server_new(const struct config *, struct turn_shared *,
		    const struct server_io *, struct stats *);
void		 server_free(struct server *);
ssize_t		 server_process(struct server *, const struct pkt_ctx *,
		    const uint8_t *, size_t, uint8_t *, size_t);
void		 server_relay_in(struct server *, struct alloc *, const struct sockaddr *,
		    uint8_t *, size_t, uint64_t);
void		 server_relay_icmp(struct server *, struct alloc *, const struct sockaddr *,
		    uint8_t, uint8_t, uint32_t, uint64_t);
void		 server_tick(struct server *, uint64_t);
void		 server_stream_closed(struct server *, enum transport,
		    const struct sockaddr *, const struct sockaddr *);
size_t		 server_alloc_count(const struct server *);

/* Reply helpers for handlers (server.c). */
int		 reply_begin(struct request *);
int		 reply_error_begin(struct request *, int);
int		 reply_finish(struct request *);
int		 reply_error(struct request *, int);
int		 reply_error_unsupported(struct request *, uint16_t);

/* Method handlers: 0 when a reply was built in req->out, 1 for no reply. */
int		 binding_handle(struct request *);
int		 turn_allocate(struct request *);
int		 turn_refresh(struct request *);
int		 turn_create_permission(struct request *);
int		 turn_channel_bind(struct request *);
int		 turn_send_indication(struct request *);
void		 turn_channel_data(struct server *, const struct pkt_ctx *, const uint8_t *,
		    size_t);

#endif
