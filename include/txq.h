/* txq.h: a queue of outgoing UDP datagrams on one socket, sent with sendmmsg and UDP GSO. */
#ifndef MINIRTC_TXQ_H
#define MINIRTC_TXQ_H

#include <sys/socket.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TXQ_MAX		64	/* datagrams per queue, and UDP_MAX_SEGMENTS */
#define TXQ_CTL_SPACE	(CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(uint16_t)))

struct stats;

/* Datagrams of one sendmmsg entry: equal sizes to one destination become one GSO send. */
struct txq_group {
	unsigned		 start;		/* first iov */
	unsigned		 count;
	size_t			 seglen;
	size_t			 total;
	struct sockaddr_storage	 dst;
	struct sockaddr_storage	 src;		/* AF_UNSPEC: the socket's own address */
};

/* The data is not copied: it must stay put until txq_flush. */
struct txq {
	int			 fd;
	bool			 gso;
	struct stats		*stats;
	unsigned		 ngroups;
	unsigned		 niov;
	struct txq_group	 group[TXQ_MAX];
	struct iovec		 iov[TXQ_MAX];
	struct mmsghdr		 msg[TXQ_MAX];
	char			 ctl[TXQ_MAX][TXQ_CTL_SPACE];
};

void	txq_init(struct txq *, int, bool, struct stats *);
void	txq_add(struct txq *, const struct sockaddr *, const struct sockaddr *,
	    const void *, size_t);
void	txq_flush(struct txq *);
bool	txq_pending(const struct txq *);

#endif
