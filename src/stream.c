/*
 * stream.c: TCP and TLS client connections: cut the byte stream into
 * STUN/ChannelData frames for the core. A TLS connection is the same stream
 * behind an OpenSSL bufferevent; the core sees both as TCP.
 */
#include <sys/queue.h>
#include <sys/socket.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "addr.h"
#include "chandata.h"
#include "clock.h"
#include "conn.h"
#include "config.h"
#include "log.h"
#include "server.h"
#include "stats.h"
#include "stream.h"
#include "xmalloc.h"

#define STREAM_TX_SIZE	2048
#define STREAM_MAX_QUEUED	(1024 * 1024)	/* bytes waiting for a slow client */

/* One client connection. */
struct stream {
	struct conn		 conn;		/* first: the core answers through it */
	TAILQ_ENTRY(stream)	 entry;
	struct stream_set	*set;
	struct bufferevent	*bev;
	struct sockaddr_storage	 peer;
	struct sockaddr_storage	 local;
	bool			 tls;
	struct evbuffer		*msg;		/* TLS: one message on its way to the output */
};

/* A worker's connections, so that shutdown can free every one. */
struct stream_set {
	TAILQ_HEAD(, stream)	 conns;
	struct event_base	*base;
	const struct config	*cfg;
	struct server		*srv;
	struct stats		*stats;
	unsigned		*open;		/* atomic: connections open in all workers */
	SSL_CTX			*tls;		/* shared by all workers; NULL without TLS */
	void			 (*flush_all)(void *);	/* the worker's: send all queues */
	void			*flush_arg;
};

/* Connections for one worker. */
struct stream_set *
stream_set_new(struct event_base *base, const struct config *cfg, SSL_CTX *tls,
    unsigned *open, struct server *srv, struct stats *stats, void (*flush_all)(void *),
    void *flush_arg)
{
	struct stream_set *set = xcalloc(1, sizeof(*set));

	TAILQ_INIT(&set->conns);
	set->open = open;
	set->base = base;
	set->tls = tls;
	set->cfg = cfg;
	set->srv = srv;
	set->stats = stats;
	set->flush_all = flush_all;
	set->flush_arg = flush_arg;
	return set;
}

/* New connections use this TLS context (a reload); open ones keep theirs. */
void
stream_set_tls(struct stream_set *set, SSL_CTX *tls)
{
	set->tls = tls;
}

/* The one destructor of a connection; its allocation ends with it. */
static void
stream_free(struct stream *s)
{
	server_stream_closed(s->set->srv, TRANSPORT_TCP, (struct sockaddr *)&s->peer,
	    (struct sockaddr *)&s->local);
	TAILQ_REMOVE(&s->set->conns, s, entry);
	bufferevent_free(s->bev);
	__atomic_sub_fetch(s->set->open, 1, __ATOMIC_RELAXED);
	if (s->msg != NULL)
		evbuffer_free(s->msg);
	free(s);
}

/* Close every connection and free the set. */
void
stream_set_free(struct stream_set *set)
{
	struct stream *s;

	if (set == NULL)
		return;
	while ((s = TAILQ_FIRST(&set->conns)) != NULL)
		stream_free(s);
	free(set);
}

/*
 * Queue one message to the client. Over TLS each message gets its own
 * evbuffer chain, which the OpenSSL bufferevent writes as its own TLS
 * record: some clients (coturn's turnutils_uclient among them) read one
 * message per record and lose the rest of a record that carries two.
 */
static int
stream_write(struct stream *s, const uint8_t *data, size_t len)
{
	struct evbuffer *out = bufferevent_get_output(s->bev);

	if (!s->tls)
		return bufferevent_write(s->bev, data, len);
	if (evbuffer_add(s->msg, data, len) != 0)
		return -1;
	return evbuffer_add_buffer(out, s->msg);
}

/* Hand one complete frame to the core and queue its reply. */
static void
stream_frame(struct stream *s, const uint8_t *frame, size_t len)
{
	struct pkt_ctx pkt = { .tp = TRANSPORT_TCP, .conn = s, .wall_s = (uint64_t)time(NULL) };
	uint8_t out[STREAM_TX_SIZE];
	ssize_t n;

	pkt.now_ms = clock_now_ms();
	pkt.peer = (struct sockaddr *)&s->peer;
	pkt.local = (struct sockaddr *)&s->local;
	n = server_process(s->set->srv, &pkt, frame, len, out, sizeof(out));
	if (n > 0) {
		if (stream_write(s, out, (size_t)n) == 0)
			s->set->stats->tx_msgs++;
		else
			s->set->stats->tx_errors++;
	}
}

/* Bytes arrived: process every complete frame; close on garbage or an oversized frame. */
static void
stream_on_read(struct bufferevent *bev, void *arg)
{
	struct stream *s = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t avail;
	long flen;
	uint8_t *p;

	while ((avail = evbuffer_get_length(in)) > 0) {
		p = evbuffer_pullup(in, avail < 4 ? (ssize_t)avail : 4);
		flen = stream_frame_len(p, avail, (size_t)s->set->cfg->max_frame);
		if (flen < 0) {
			char name[ADDR_STRLEN];
			s->set->stats->tcp_closed_bad++;
			log_debug("tcp %s: bad or oversized frame, closing",
			    addr_fmt((struct sockaddr *)&s->peer, name, sizeof(name)));
			stream_free(s);
			return;
		}
		if (flen == 0 || (size_t)flen > avail)
			return;
		p = evbuffer_pullup(in, flen);
		stream_frame(s, p, (size_t)flen);
		/* Relayed data queued from this frame points into the buffer. */
		s->set->flush_all(s->set->flush_arg);
		evbuffer_drain(in, (size_t)flen);
	}
}

/* End of stream, error (a failed TLS handshake among them) or idle timeout: the connection goes. */
static void
stream_on_event(struct bufferevent *bev, short what, void *arg)
{
	struct stream *s = arg;
	char name[ADDR_STRLEN], reason[160];
	unsigned long e;

	if (what & BEV_EVENT_CONNECTED) {	/* the TLS handshake is done: now idle rules */
		struct timeval idle = { s->set->cfg->tcp_idle_timeout, 0 };
		bufferevent_set_timeouts(bev, &idle, NULL);
		return;
	}
	if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)))
		return;
	if (s->tls && (what & BEV_EVENT_ERROR)) {
		s->set->stats->tls_errors++;
		if ((e = bufferevent_get_openssl_error(bev)) != 0) {
			ERR_error_string_n(e, reason, sizeof(reason));
			log_debug("tls %s: %s", addr_fmt((struct sockaddr *)&s->peer, name,
			    sizeof(name)), reason);
		}
		while (bufferevent_get_openssl_error(bev) != 0)
			;
	}
	stream_free(s);
}

/* Queue relayed data to the client; a client that does not read loses data, not memory. */
static int
stream_conn_send(struct conn *c, const struct sockaddr *client, const struct sockaddr *local,
    const uint8_t *data, size_t len)
{
	struct stream *s = (struct stream *)c;

	if (evbuffer_get_length(bufferevent_get_output(s->bev)) > STREAM_MAX_QUEUED ||
	    stream_write(s, data, len) != 0) {
		s->set->stats->tx_errors++;
		return -1;
	}
	return 0;
}

/* The bufferevent of a new connection: plain, or TLS as the server side of a handshake. */
static struct bufferevent *
stream_bev_new(struct stream_set *set, int fd, bool tls)
{
	struct bufferevent *bev;
	SSL *ssl;

	if (!tls)
		return bufferevent_socket_new(set->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (set->tls == NULL || (ssl = SSL_new(set->tls)) == NULL)
		return NULL;
	/* With CLOSE_ON_FREE the bufferevent frees the SSL and closes the socket. */
	bev = bufferevent_openssl_socket_new(set->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
	    BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL)	/* libevent has freed the SSL already; the caller closes fd */
		return NULL;
	/* A client that just closes the TCP connection has not attacked anything. */
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

/*
 * Take ownership of an accepted connection (TLS: not yet handshaken, and
 * given tls_handshake_timeout for it). The acceptor counted it in *open;
 * stream_free uncounts it.
 */
void
stream_accept(struct stream_set *set, int fd, const struct sockaddr *peer,
    const struct sockaddr *local, bool tls)
{
	struct timeval idle = { tls ? set->cfg->tls_handshake_timeout :
	    set->cfg->tcp_idle_timeout, 0 };
	struct stream *s;

	s = xcalloc(1, sizeof(*s));
	s->conn.send = stream_conn_send;
	s->set = set;
	s->tls = tls;
	memcpy(&s->peer, peer, addr_len(peer));
	memcpy(&s->local, local, addr_len(local));
	if ((tls && (s->msg = evbuffer_new()) == NULL) ||
	    (s->bev = stream_bev_new(set, fd, tls)) == NULL) {
		if (s->msg != NULL)
			evbuffer_free(s->msg);
		close(fd);
		free(s);
		__atomic_sub_fetch(set->open, 1, __ATOMIC_RELAXED);
		return;
	}
	TAILQ_INSERT_TAIL(&set->conns, s, entry);
	set->stats->tcp_accepted++;
	if (tls)
		set->stats->tls_accepted++;
	bufferevent_setcb(s->bev, stream_on_read, NULL, stream_on_event, s);
	bufferevent_set_timeouts(s->bev, &idle, NULL);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
}
