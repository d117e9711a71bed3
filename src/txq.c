/* txq.c: batch outgoing datagrams per socket: one sendmmsg per loop turn, UDP GSO for runs to one destination. */
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <errno.h>
#include <string.h>

#include "addr.h"
#include "log.h"
#include "stats.h"
#include "txq.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT	103
#endif
#define GSO_MAX_BYTES	65000	/* a GSO send is one UDP datagram to the kernel */

/* An empty queue on fd. */
void
txq_init(struct txq *q, int fd, bool gso, struct stats *stats)
{
	memset(q, 0, sizeof(*q));
	q->fd = fd;
	q->gso = gso;
	q->stats = stats;
}

/* Anything waiting? */
bool
txq_pending(const struct txq *q)
{
	return q->ngroups > 0;
}

/* Same destination and source? */
static bool
txq_same_route(const struct txq_group *g, const struct sockaddr *dst,
    const struct sockaddr *src)
{
	if (!addr_equal((const struct sockaddr *)&g->dst, dst))
		return false;
	if (src == NULL)
		return g->src.ss_family == AF_UNSPEC;
	return addr_equal((const struct sockaddr *)&g->src, src);
}

/*
 * Queue one datagram from src (NULL: the socket's address) to dst. It
 * joins the previous group as a GSO segment when it goes the same way and
 * has the same size; a full queue is flushed first.
 */
void
txq_add(struct txq *q, const struct sockaddr *dst, const struct sockaddr *src,
    const void *data, size_t len)
{
	struct txq_group *g;

	if (q->niov == TXQ_MAX)
		txq_flush(q);
	g = q->ngroups > 0 ? &q->group[q->ngroups - 1] : NULL;
	if (q->gso && g != NULL && g->seglen == len && g->total + len <= GSO_MAX_BYTES &&
	    txq_same_route(g, dst, src)) {
		g->count++;
		g->total += len;
	} else {
		g = &q->group[q->ngroups++];
		g->start = q->niov;
		g->count = 1;
		g->seglen = len;
		g->total = len;
		memcpy(&g->dst, dst, addr_len(dst));
		g->src.ss_family = AF_UNSPEC;
		if (src != NULL)
			memcpy(&g->src, src, addr_len(src));
	}
	q->iov[q->niov].iov_base = (void *)data;
	q->iov[q->niov].iov_len = len;
	q->niov++;
}

/* Append one control message at ctl + *used (zeroed, room checked by TXQ_CTL_SPACE). */
static void
txq_cmsg(char *ctl, size_t *used, int level, int type, const void *data, size_t len)
{
	struct cmsghdr *c = (struct cmsghdr *)(ctl + *used);

	c->cmsg_level = level;
	c->cmsg_type = type;
	c->cmsg_len = CMSG_LEN(len);
	memcpy(CMSG_DATA(c), data, len);
	*used += CMSG_SPACE(len);
}

/* Control messages for a group: the source address (pktinfo) and the GSO segment size. */
static size_t
txq_control(const struct txq_group *g, char *ctl)
{
	size_t used = 0;
	uint16_t seg = (uint16_t)g->seglen;

	memset(ctl, 0, TXQ_CTL_SPACE);
	if (g->src.ss_family == AF_INET) {
		struct in_pktinfo pi = { 0 };
		pi.ipi_spec_dst = ((const struct sockaddr_in *)&g->src)->sin_addr;
		txq_cmsg(ctl, &used, IPPROTO_IP, IP_PKTINFO, &pi, sizeof(pi));
	} else if (g->src.ss_family == AF_INET6) {
		struct in6_pktinfo pi6 = { 0 };
		pi6.ipi6_addr = ((const struct sockaddr_in6 *)&g->src)->sin6_addr;
		txq_cmsg(ctl, &used, IPPROTO_IPV6, IPV6_PKTINFO, &pi6, sizeof(pi6));
	}
	if (g->count > 1)
		txq_cmsg(ctl, &used, SOL_UDP, UDP_SEGMENT, &seg, sizeof(seg));
	return used;
}

/* Split a GSO group the kernel refused into plain datagrams, and stop using GSO here. */
static void
txq_ungso(struct txq *q, unsigned gi)
{
	struct txq_group *g = &q->group[gi];
	unsigned k;

	log_warnx("UDP GSO refused on this socket (%s): sending datagrams one by one",
	    strerror(errno));
	q->gso = false;
	for (k = 0; k < g->count; k++) {
		struct msghdr mh = { .msg_name = &g->dst,
		    .msg_namelen = addr_len((struct sockaddr *)&g->dst),
		    .msg_iov = &q->iov[g->start + k], .msg_iovlen = 1 };
		struct txq_group one = *g;
		char ctl[TXQ_CTL_SPACE];

		one.count = 1;
		mh.msg_control = ctl;
		mh.msg_controllen = txq_control(&one, ctl);
		if (mh.msg_controllen == 0)
			mh.msg_control = NULL;
		if (sendmsg(q->fd, &mh, MSG_DONTWAIT) < 0)
			q->stats->tx_errors++;
		else
			q->stats->tx_msgs++;
	}
}

/* Send everything queued: one sendmmsg, each entry a datagram or a GSO run. */
void
txq_flush(struct txq *q)
{
	unsigned i, done = 0;
	int rc;

	for (i = 0; i < q->ngroups; i++) {
		struct txq_group *g = &q->group[i];
		struct msghdr *mh = &q->msg[i].msg_hdr;

		memset(mh, 0, sizeof(*mh));
		mh->msg_name = &g->dst;
		mh->msg_namelen = addr_len((struct sockaddr *)&g->dst);
		mh->msg_iov = &q->iov[g->start];
		mh->msg_iovlen = g->count;
		mh->msg_controllen = txq_control(g, q->ctl[i]);
		mh->msg_control = mh->msg_controllen > 0 ? q->ctl[i] : NULL;
	}
	while (done < q->ngroups) {
		rc = sendmmsg(q->fd, q->msg + done, q->ngroups - done, MSG_DONTWAIT);
		if (rc > 0) {
			for (i = done; i < done + (unsigned)rc; i++) {
				q->stats->tx_msgs += q->group[i].count;
				if (q->group[i].count > 1)
					q->stats->tx_gso += q->group[i].count;
			}
			done += (unsigned)rc;
			continue;
		}
		if (errno == EINTR)
			continue;
		/* The first entry failed: GSO unsupported, or a drop; never retried. */
		if (q->group[done].count > 1 && (errno == EIO || errno == EINVAL ||
		    errno == EOPNOTSUPP || errno == ENOPROTOOPT))
			txq_ungso(q, done);
		else
			q->stats->tx_errors += q->group[done].count;
		done++;
	}
	q->ngroups = 0;
	q->niov = 0;
}
