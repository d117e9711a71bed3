/* relay.c: relay sockets: bind, recvmmsg into buffers with headroom, hand each datagram to the core. */
#include <sys/socket.h>
#include <netinet/in.h>
#include <linux/errqueue.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "addr.h"
#include "clock.h"
#include "listen.h"
#include "log.h"
#include "relay.h"
#include "server.h"
#include "stats.h"
#include "txq.h"
#include "xmalloc.h"

#define RELAY_BATCH	32
#define RELAY_POOL	(4 * RELAY_BATCH)	/* slots filled before a loop turn must flush */
#define RELAY_MAX_TURNS	8
#define RELAY_SLOT	(RELAY_HEADROOM + 65536 + RELAY_TAILROOM)
#define RELAY_TXQS	16	/* send queues lent to relay sockets with data waiting */

struct relay_sock;

/*
 * A worker's buffers for all its relay sockets: one loop thread, so one
 * set. Send queues are lent to the sockets that have data waiting in a
 * loop turn, so an idle allocation carries no queue (memory per allocation
 * stays small) while a busy one still gets sendmmsg and GSO.
 */
struct relay_rx {
	uint8_t			*buf;	/* RELAY_POOL slots of RELAY_SLOT bytes */
	unsigned		 used;	/* slots holding data not yet sent on */
	struct event		*flush_ev;	/* lowest priority: runs at the end of a loop turn */
	struct sockaddr_storage	 peer[RELAY_BATCH];
	struct iovec		 iov[RELAY_BATCH];
	struct mmsghdr		 msg[RELAY_BATCH];
	/* SO_RXQ_OVFL: the socket's drop count so far, with each datagram */
	uint8_t			 ctl[RELAY_BATCH][CMSG_SPACE(sizeof(uint32_t))];
	void			 (*flush_all)(void *);	/* the worker's: send all queues */
	void			*flush_arg;
	bool			 gso;
	struct stats		*stats;
	struct txq		 txq[RELAY_TXQS];
	struct relay_sock	*txq_owner[RELAY_TXQS];	/* NULL: free */
};

/* One relayed address of one allocation. */
struct relay_sock {
	int			 fd;
	int			 family;
	struct event		*ev;
	struct relay_rx		*rx;
	struct server		*srv;
	struct alloc		*alloc;
	int			 txq;		/* index of the lent queue, or -1 */
	uint32_t		 kernel_drops;	/* the socket's SO_RXQ_OVFL count so far */
};

/* Buffers for one worker. */
/* The end of a loop turn: send what the relay batches of this turn queued. */
static void
relay_on_flush(evutil_socket_t fd, short what, void *arg)
{
	struct relay_rx *rx = arg;

	rx->flush_all(rx->flush_arg);
}

/*
 * Buffers for one worker. Batches from several relay sockets in one loop
 * turn fill successive slots, so datagrams they send to one client socket
 * leave in one sendmmsg at the end of the turn; the base must have been
 * given RELAY_PRIORITIES priorities, the flush taking the lowest.
 */
struct relay_rx *
relay_rx_new(struct event_base *base, struct stats *stats, bool gso,
    void (*flush_all)(void *), void *flush_arg)
{
	struct relay_rx *rx = xcalloc(1, sizeof(*rx));

	rx->buf = xcalloc(RELAY_POOL, RELAY_SLOT);
	rx->flush_ev = event_new(base, -1, 0, relay_on_flush, rx);
	if (rx->flush_ev == NULL ||
	    event_priority_set(rx->flush_ev, RELAY_PRIORITIES - 1) != 0)
		fatalx("relay: cannot create the flush event");
	rx->stats = stats;
	rx->gso = gso;
	rx->flush_all = flush_all;
	rx->flush_arg = flush_arg;
	return rx;
}

/* Send one socket's queue and give the queue back. */
static void
relay_flush_sock(struct relay_sock *rs)
{
	if (rs->txq < 0)
		return;
	txq_flush(&rs->rx->txq[rs->txq]);
	rs->rx->txq_owner[rs->txq] = NULL;
	rs->txq = -1;
}

/* Send every relay socket's queue (after each client batch: the data points into it). */
void
relay_flush_all(struct relay_rx *rx)
{
	unsigned i;

	for (i = 0; i < RELAY_TXQS; i++)
		if (rx->txq_owner[i] != NULL)
			relay_flush_sock(rx->txq_owner[i]);
}

/* Every queue of the worker has been sent: the receive slots are free again. */
void
relay_rx_recycle(struct relay_rx *rx)
{
	rx->used = 0;
}

/* A queue for this socket: its own, a free one, or one freed by flushing all. */
static struct txq *
relay_txq(struct relay_sock *rs)
{
	struct relay_rx *rx = rs->rx;
	unsigned i;

	if (rs->txq >= 0)
		return &rx->txq[rs->txq];
	for (i = 0; i < RELAY_TXQS && rx->txq_owner[i] != NULL; i++)
		;
	if (i == RELAY_TXQS) {
		relay_flush_all(rx);
		i = 0;
	}
	rx->txq_owner[i] = rs;
	rs->txq = (int)i;
	txq_init(&rx->txq[i], rs->fd, rx->gso, rx->stats);
	return &rx->txq[i];
}

/* Free a worker's buffers. */
void
relay_rx_free(struct relay_rx *rx)
{
	if (rx == NULL)
		return;
	event_free(rx->flush_ev);
	free(rx->buf);
	free(rx);
}

/* What the kernel dropped for want of buffer since the last datagram we read (SO_RXQ_OVFL). */
static void
relay_count_drops(struct relay_sock *rs, struct msghdr *mh)
{
	struct cmsghdr *c;
	uint32_t drops;

	for (c = CMSG_FIRSTHDR(mh); c != NULL; c = CMSG_NXTHDR(mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL &&
		    c->cmsg_len == CMSG_LEN(sizeof(drops))) {
			memcpy(&drops, CMSG_DATA(c), sizeof(drops));
			if (drops > rs->kernel_drops) {
				rs->rx->stats->relay_kernel_drops += drops - rs->kernel_drops;
				rs->kernel_drops = drops;
			}
		}
}

/* Read the ICMP errors queued on the socket (IP_RECVERR) and pass each to the core. */
static void
relay_read_errors(struct relay_sock *rs)
{
	struct sockaddr_storage peer;
	char ctl[512], dummy[64];
	struct iovec iov = { dummy, sizeof(dummy) };
	struct msghdr mh;
	struct cmsghdr *c;
	int k;

	for (k = 0; k < RELAY_BATCH; k++) {
		memset(&mh, 0, sizeof(mh));
		mh.msg_name = &peer;
		mh.msg_namelen = sizeof(peer);
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = ctl;
		mh.msg_controllen = sizeof(ctl);
		if (recvmsg(rs->fd, &mh, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
			return;
		for (c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c)) {
			struct sock_extended_err ee;

			if (!((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR) ||
			    (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_RECVERR)))
				continue;
			memcpy(&ee, CMSG_DATA(c), sizeof(ee));
			if (ee.ee_origin != SO_EE_ORIGIN_ICMP && ee.ee_origin != SO_EE_ORIGIN_ICMP6)
				continue;
			server_relay_icmp(rs->srv, rs->alloc, (struct sockaddr *)&peer,
			    ee.ee_type, ee.ee_code, ee.ee_info, clock_now_ms());
			rs->rx->flush_all(rs->rx->flush_arg);	/* the indication is on our stack */
		}
	}
}

/* Peer datagrams arrived: batch them into the core, payload placed after the headroom. */
static void
relay_on_read(evutil_socket_t fd, short what, void *arg)
{
	struct relay_sock *rs = arg;
	struct relay_rx *rx = rs->rx;
	unsigned turn, i;
	uint64_t now;
	int n;

	for (turn = 0; turn < RELAY_MAX_TURNS; turn++) {
		if (rx->used + RELAY_BATCH > RELAY_POOL)
			rx->flush_all(rx->flush_arg);	/* recycles the slots */
		for (i = 0; i < RELAY_BATCH; i++) {
			rx->iov[i].iov_base = rx->buf + (size_t)(rx->used + i) * RELAY_SLOT +
			    RELAY_HEADROOM;
			rx->iov[i].iov_len = 65536;
			/* Every field, so no memset: this runs for each wake-up of each relay. */
			rx->msg[i].msg_hdr.msg_flags = 0;
			rx->msg[i].msg_hdr.msg_name = &rx->peer[i];
			rx->msg[i].msg_hdr.msg_namelen = sizeof(rx->peer[i]);
			rx->msg[i].msg_hdr.msg_iov = &rx->iov[i];
			rx->msg[i].msg_hdr.msg_iovlen = 1;
			rx->msg[i].msg_hdr.msg_control = rx->ctl[i];
			rx->msg[i].msg_hdr.msg_controllen = sizeof(rx->ctl[i]);
		}
		if ((n = recvmmsg(fd, rx->msg, RELAY_BATCH, MSG_DONTWAIT, NULL)) < 0 &&
		    errno != EAGAIN && errno != EWOULDBLOCK) {
			relay_read_errors(rs);	/* an ICMP error is pending */
			continue;
		}
		if (n <= 0)
			return;
		relay_count_drops(rs, &rx->msg[n - 1].msg_hdr);	/* the count is cumulative */
		rx->used += (unsigned)n;
		now = clock_now_ms();
		for (i = 0; i < (unsigned)n; i++)
			server_relay_in(rs->srv, rs->alloc, (struct sockaddr *)&rx->peer[i],
			    rx->iov[i].iov_base, rx->msg[i].msg_len, now);
		/* What went to clients points into the slots: sent at the end of this turn. */
		event_active(rx->flush_ev, EV_TIMEOUT, 1);
		if (n < RELAY_BATCH)
			return;
	}
}

/* Bind a relay socket; -EADDRINUSE tells the core to try another port. */
int
relay_sock_open(struct event_base *base, struct relay_rx *rx, struct server *srv,
    struct alloc *alloc, const struct sockaddr *bind_addr, int bufsize, void **handle)
{
	struct relay_sock *rs;
	int fd, on = 1, pmtu = IP_PMTUDISC_DONT, err;

	fd = socket(bind_addr->sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* ICMP errors for relayed datagrams reach the client (RFC 8656 section 11.5). */
	if (bind_addr->sa_family == AF_INET6) {
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
		setsockopt(fd, IPPROTO_IPV6, IPV6_RECVERR, &on, sizeof(on));
	} else {	/* no DF unless a Send indication asks for it (RFC 8656 section 11.2) */
		setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof(pmtu));
		setsockopt(fd, IPPROTO_IP, IP_RECVERR, &on, sizeof(on));
	}
	setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &on, sizeof(on));
	listen_set_buffers(fd, bufsize);
	if (bind(fd, bind_addr, addr_len(bind_addr)) != 0) {
		err = errno;
		close(fd);
		return -err;
	}
	rs = xcalloc(1, sizeof(*rs));
	rs->fd = fd;
	rs->family = bind_addr->sa_family;
	rs->rx = rx;
	rs->srv = srv;
	rs->alloc = alloc;
	rs->txq = -1;
	rs->ev = event_new(base, fd, EV_READ | EV_PERSIST, relay_on_read, rs);
	if (rs->ev == NULL || event_add(rs->ev, NULL) != 0)
		fatalx("relay: cannot add event");
	*handle = rs;
	return 0;
}

/* Close a relay socket (called from the allocation's destructor). */
void
relay_sock_close(void *handle)
{
	struct relay_sock *rs = handle;

	relay_flush_sock(rs);	/* data queued earlier in this turn still goes */
	event_free(rs->ev);
	close(rs->fd);
	free(rs);
}

/* Set or clear Don't Fragment on the socket. */
static void
relay_set_df(struct relay_sock *rs, bool df)
{
	int v;

	if (rs->family == AF_INET6) {
		v = df ? 1 : 0;
		setsockopt(rs->fd, IPPROTO_IPV6, IPV6_DONTFRAG, &v, sizeof(v));
	} else {
		v = df ? IP_PMTUDISC_DO : IP_PMTUDISC_DONT;
		setsockopt(rs->fd, IPPROTO_IP, IP_MTU_DISCOVER, &v, sizeof(v));
	}
}

/*
 * Send to a peer: queued for the end of the loop turn, or at once with DF
 * set for this datagram alone when asked (after what was queued, in order).
 */
int
relay_sock_send(void *handle, const struct sockaddr *peer, const uint8_t *data, size_t len,
    bool df)
{
	struct relay_sock *rs = handle;
	ssize_t n;

	if (!df) {
		txq_add(relay_txq(rs), peer, NULL, data, len);
		return 0;
	}
	relay_flush_sock(rs);
	relay_set_df(rs, true);
	n = sendto(rs->fd, data, len, 0, peer, addr_len(peer));
	relay_set_df(rs, false);
	return n == (ssize_t)len ? 0 : -1;
}
