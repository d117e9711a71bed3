/* listen.c: listener sockets, and the UDP path: recvmmsg -> core -> sendmmsg, per event loop turn. */
#include <sys/socket.h>
#include <netinet/in.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "addr.h"
#include "clock.h"
#include "conn.h"
#include "listen.h"
#include "log.h"
#include "server.h"
#include "stats.h"
#include "txq.h"
#include "xmalloc.h"

#define UDP_BATCH	32
#define UDP_RX_SIZE	65536	/* any datagram fits, so none is truncated */
#define UDP_TX_SIZE	2048
#define UDP_MAX_TURNS	8	/* batches per wake-up, so one socket cannot starve others */
#define CMSG_SPACE_PKTINFO \
	((CMSG_SPACE(sizeof(struct in6_pktinfo)) > CMSG_SPACE(sizeof(struct in_pktinfo)) ? \
	 CMSG_SPACE(sizeof(struct in6_pktinfo)) : CMSG_SPACE(sizeof(struct in_pktinfo))) + \
	 CMSG_SPACE(sizeof(uint32_t)))	/* and SO_RXQ_OVFL */

/* A worker's UDP socket on one listen address, with its batch buffers. */
struct udp_listener {
	struct conn		 conn;		/* first: the core answers through it */
	int			 fd;
	struct sockaddr_storage	 bound;
	int			 wildcard;	/* bound to 0.0.0.0 or ::, so replies need pktinfo */
	uint32_t		 kernel_drops;	/* the socket's SO_RXQ_OVFL count so far */
	struct event		*ev;
	struct server		*srv;
	struct stats		*stats;
	struct udp_listener	**siblings;	/* the worker's other UDP sockets (RFC 5780) */
	unsigned		 nsiblings;
	void			 (*flush_all)(void *);	/* the worker's: send all queues */
	void			*flush_arg;
	uint8_t			*rx;		/* UDP_BATCH x UDP_RX_SIZE */
	uint8_t			 tx[UDP_BATCH][UDP_TX_SIZE];
	struct sockaddr_storage	 peer[UDP_BATCH];
	struct sockaddr_storage	 local[UDP_BATCH];
	char			 rxctl[UDP_BATCH][CMSG_SPACE_PKTINFO];
	struct iovec		 rxiov[UDP_BATCH];
	struct mmsghdr		 rxmsg[UDP_BATCH];
	struct txq		 out;		/* replies and relayed data to clients */
};

#define LS_REUSEADDR	1
#define LS_REUSEPORT	2

/* Set *cause and return -1 after closing fd. */
static int __attribute__((format(printf, 3, 4)))
listen_fail(int fd, char **cause, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	int err = errno;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (asprintf(cause, "%s: %s", msg, strerror(err)) < 0)
		*cause = NULL;
	if (fd >= 0)
		close(fd);
	return -1;
}

/* Create a non-blocking socket bound to sa; IPv6 sockets are IPv6-only. */
static int
listen_socket(const struct sockaddr *sa, int type, int flags, char **cause)
{
	char name[ADDR_STRLEN];
	int fd, on = 1;

	addr_fmt(sa, name, sizeof(name));
	if ((fd = socket(sa->sa_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		return listen_fail(-1, cause, "socket %s", name);
	if (((flags & LS_REUSEADDR) &&
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0) ||
	    ((flags & LS_REUSEPORT) &&
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) < 0))
		return listen_fail(fd, cause, "setsockopt %s", name);
	/* Otherwise IPv4 clients would show up as ::ffff:a.b.c.d. */
	if (sa->sa_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) < 0)
		return listen_fail(fd, cause, "IPV6_V6ONLY %s", name);
	if (bind(fd, sa, addr_len(sa)) < 0)
		return listen_fail(fd, cause, "bind %s", name);
	return fd;
}

/*
 * Size a socket's buffers; as root the FORCE variants pass rmem_max and
 * wmem_max, so a burst at line rate is not dropped. 0 keeps the kernel's.
 */
void
listen_set_buffers(int fd, int bufsize)
{
	if (bufsize <= 0)
		return;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bufsize, sizeof(bufsize)) != 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bufsize, sizeof(bufsize));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &bufsize, sizeof(bufsize)) != 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bufsize, sizeof(bufsize));
}

/* A UDP socket for one worker (SO_REUSEPORT: the kernel keeps a 5-tuple on one socket). */
int
listen_udp_socket(const struct sockaddr *sa, int bufsize, char **cause)
{
	int fd, on = 1;

	if ((fd = listen_socket(sa, SOCK_DGRAM, LS_REUSEPORT, cause)) < 0)
		return -1;
	if (sa->sa_family == AF_INET6 ?
	    setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof(on)) :
	    setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof(on)))
		return listen_fail(fd, cause, "pktinfo");
	/* The kernel reports its receive drops with each datagram (SO_RXQ_OVFL). */
	setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &on, sizeof(on));
	listen_set_buffers(fd, bufsize);
	return fd;
}

/*
 * Is the UDP address free? Workers share it through SO_REUSEPORT, which
 * would also let a second turnd join silently and take half the clients;
 * a bind without it fails when anyone holds the port.
 */
int
listen_udp_probe(const struct sockaddr *sa, char **cause)
{
	int fd;

	if ((fd = listen_socket(sa, SOCK_DGRAM, 0, cause)) < 0)
		return -1;
	close(fd);	/* (no SO_REUSEADDR either: on UDP it too would let us share) */
	return 0;
}

/* A listening TCP socket (accepted connections are handed to workers). */
int
listen_tcp_socket(const struct sockaddr *sa, char **cause)
{
	int fd;

	if ((fd = listen_socket(sa, SOCK_STREAM, LS_REUSEADDR, cause)) < 0)
		return -1;
	if (listen(fd, 1024) < 0)
		return listen_fail(fd, cause, "listen");
	return fd;
}

/* Read the datagram's destination address from its pktinfo, into local; count kernel drops. */
static void
udp_local_addr(struct udp_listener *ul, struct msghdr *mh,
    struct sockaddr_storage *local)
{
	struct cmsghdr *c;

	memcpy(local, &ul->bound, sizeof(*local));
	for (c = CMSG_FIRSTHDR(mh); c != NULL; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			((struct sockaddr_in *)local)->sin_addr = pi.ipi_addr;
		} else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi6;
			memcpy(&pi6, CMSG_DATA(c), sizeof(pi6));
			((struct sockaddr_in6 *)local)->sin6_addr = pi6.ipi6_addr;
		} else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
			uint32_t drops;
			memcpy(&drops, CMSG_DATA(c), sizeof(drops));
			if (drops > ul->kernel_drops) {
				ul->stats->rx_kernel_drops += drops - ul->kernel_drops;
				ul->kernel_drops = drops;
			}
		}
	}
}

/* Arm the receive headers for a batch. */
static void
udp_arm_rx(struct udp_listener *ul)
{
	unsigned i;

	for (i = 0; i < UDP_BATCH; i++) {
		struct msghdr *mh = &ul->rxmsg[i].msg_hdr;
		mh->msg_name = &ul->peer[i];
		mh->msg_namelen = sizeof(ul->peer[i]);
		mh->msg_iov = &ul->rxiov[i];
		mh->msg_iovlen = 1;
		mh->msg_control = ul->rxctl[i];
		mh->msg_controllen = sizeof(ul->rxctl[i]);
		mh->msg_flags = 0;
	}
}

/*
 * Send a reply the core moved (RFC 5780): from another of this worker's
 * sockets and/or to another port. Rare, so sent at once, not batched.
 */
static void
udp_send_routed(struct udp_listener *ul, const struct sockaddr_storage *from,
    const struct sockaddr_storage *to, const uint8_t *data, size_t len)
{
	struct udp_listener *out = ul;
	unsigned i;

	if (from->ss_family != AF_UNSPEC) {
		for (i = 0, out = NULL; i < ul->nsiblings; i++)
			if (addr_equal((struct sockaddr *)&ul->siblings[i]->bound,
			    (const struct sockaddr *)from))
				out = ul->siblings[i];
		if (out == NULL) {
			ul->stats->tx_errors++;
			return;
		}
	}
	if (sendto(out->fd, data, len, MSG_DONTWAIT, (const struct sockaddr *)to,
	    addr_len((const struct sockaddr *)to)) == (ssize_t)len)
		ul->stats->tx_msgs++;
	else
		ul->stats->tx_errors++;
}

/* Run one received batch through the core and queue the replies. */
static void
udp_process_batch(struct udp_listener *ul, unsigned n, uint64_t now)
{
	struct sockaddr_storage from, to;
	struct pkt_ctx pkt = { .tp = TRANSPORT_UDP, .conn = ul, .now_ms = now,
	    .wall_s = (uint64_t)time(NULL), .reply_from = &from, .reply_to = &to };
	unsigned i;
	ssize_t len;

	for (i = 0; i < n; i++) {
		struct msghdr *mh = &ul->rxmsg[i].msg_hdr;
		struct sockaddr *local = (struct sockaddr *)&ul->local[i];

		if (mh->msg_flags & MSG_TRUNC) {
			ul->stats->rx_nonstun++;
			continue;
		}
		udp_local_addr(ul, mh, &ul->local[i]);
		pkt.peer = (struct sockaddr *)&ul->peer[i];
		pkt.local = local;
		from.ss_family = to.ss_family = AF_UNSPEC;
		len = server_process(ul->srv, &pkt, ul->rx + (size_t)i * UDP_RX_SIZE,
		    ul->rxmsg[i].msg_len, ul->tx[i], UDP_TX_SIZE);
		if (len <= 0)
			continue;
		if (from.ss_family != AF_UNSPEC || to.ss_family != AF_UNSPEC) {
			udp_send_routed(ul, &from, to.ss_family != AF_UNSPEC ? &to :
			    &ul->peer[i], ul->tx[i], (size_t)len);
			continue;
		}
		txq_add(&ul->out, pkt.peer, ul->wildcard ? local : NULL, ul->tx[i], (size_t)len);
	}
}

/*
 * The socket is readable: drain a bounded number of batches. Replies and
 * relayed datagrams queued by a batch point into its buffers, so every
 * queue of the worker is sent before the next recvmmsg reuses them.
 */
static void
udp_on_read(evutil_socket_t fd, short what, void *arg)
{
	struct udp_listener *ul = arg;
	unsigned turn;
	int n;

	for (turn = 0; turn < UDP_MAX_TURNS; turn++) {
		udp_arm_rx(ul);
		n = recvmmsg(fd, ul->rxmsg, UDP_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			break;
		udp_process_batch(ul, (unsigned)n, clock_now_ms());
		ul->flush_all(ul->flush_arg);
		if (n < UDP_BATCH)
			break;
	}
}

/* Queue relayed data to a client; it leaves from the address the client used, at the next flush. */
static int
udp_conn_send(struct conn *c, const struct sockaddr *client, const struct sockaddr *local,
    const uint8_t *data, size_t len)
{
	struct udp_listener *ul = (struct udp_listener *)c;

	txq_add(&ul->out, client, ul->wildcard ? local : NULL, data, len);
	return 0;
}

/* Send what is queued on this listener. */
void
udp_listener_flush(struct udp_listener *ul)
{
	if (txq_pending(&ul->out))
		txq_flush(&ul->out);
}

/* Wrap a worker's UDP socket; the listener owns fd from here on. */
struct udp_listener *
udp_listener_new(struct event_base *base, int fd, const struct sockaddr *bound,
    struct server *srv, struct stats *stats, bool gso, void (*flush_all)(void *),
    void *flush_arg)
{
	struct udp_listener *ul = xcalloc(1, sizeof(*ul));
	unsigned i;

	ul->conn.send = udp_conn_send;
	ul->fd = fd;
	memcpy(&ul->bound, bound, addr_len(bound));
	ul->wildcard = addr_is_any(bound);
	ul->srv = srv;
	ul->stats = stats;
	ul->flush_all = flush_all;
	ul->flush_arg = flush_arg;
	txq_init(&ul->out, fd, gso, stats);
	ul->rx = xcalloc(UDP_BATCH, UDP_RX_SIZE);
	for (i = 0; i < UDP_BATCH; i++) {
		ul->rxiov[i].iov_base = ul->rx + (size_t)i * UDP_RX_SIZE;
		ul->rxiov[i].iov_len = UDP_RX_SIZE;
	}
	ul->ev = event_new(base, fd, EV_READ | EV_PERSIST, udp_on_read, ul);
	if (ul->ev == NULL || event_add(ul->ev, NULL) != 0)
		fatalx("udp listener: cannot add event");
	return ul;
}

/* Tell a listener about the worker's other UDP sockets. */
void
udp_listener_set_siblings(struct udp_listener *ul, struct udp_listener **all, unsigned n)
{
	ul->siblings = all;
	ul->nsiblings = n;
}

/* Close and free a UDP listener. */
void
udp_listener_free(struct udp_listener *ul)
{
	if (ul == NULL)
		return;
	event_free(ul->ev);
	close(ul->fd);
	free(ul->rx);
	free(ul);
}
