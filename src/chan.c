/* chan.c: channel bindings of one allocation: number <-> peer transport address, each with a lifetime. */
#include <netinet/in.h>
#include <errno.h>
#include <string.h>

#include "addr.h"
#include "turn.h"
#include "xmalloc.h"

/* The binding with this number, or NULL. */
struct chan *
chan_by_number(const struct alloc *a, uint16_t number)
{
	unsigned i;

	for (i = 0; i < a->nchans; i++)
		if (a->chans[i].number == number)
			return &a->chans[i];
	return NULL;
}

/* The binding to this peer address and port, or NULL. */
struct chan *
chan_by_peer(const struct alloc *a, const struct sockaddr *peer)
{
	struct peer_ip ip;
	uint16_t port = addr_port(peer);
	unsigned i;

	peer_ip_from(&ip, peer);
	for (i = 0; i < a->nchans; i++)
		if (a->chans[i].port == port && a->chans[i].peer.family == ip.family &&
		    memcmp(a->chans[i].peer.ip, ip.ip, 16) == 0)
			return &a->chans[i];
	return NULL;
}

/*
 * Bind or refresh (RFC 8656 section 12.2): a number already bound to
 * another peer, or a peer already bound to another number, is -EEXIST.
 */
int
chan_bind(struct alloc *a, uint16_t number, const struct sockaddr *peer, uint64_t now_ms)
{
	struct chan *byn = chan_by_number(a, number), *byp = chan_by_peer(a, peer);

	if (byn != byp)
		return -EEXIST;
	if (byn != NULL) {
		byn->expires_ms = now_ms + CHAN_LIFETIME_MS;
		return 0;
	}
	a->chans = xreallocarray(a->chans, a->nchans + 1, sizeof(*a->chans));
	byn = &a->chans[a->nchans++];
	peer_ip_from(&byn->peer, peer);
	byn->port = addr_port(peer);
	byn->number = number;
	byn->expires_ms = now_ms + CHAN_LIFETIME_MS;
	return 0;
}

/* Drop expired bindings. */
void
chan_expire(struct alloc *a, uint64_t now_ms)
{
	unsigned i = 0;

	while (i < a->nchans) {
		if (a->chans[i].expires_ms <= now_ms)
			a->chans[i] = a->chans[--a->nchans];
		else
			i++;
	}
}

/* The peer transport address of a binding. */
void
chan_peer_addr(const struct chan *c, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	ss->ss_family = c->peer.family;
	if (c->peer.family == AF_INET6)
		memcpy(&((struct sockaddr_in6 *)ss)->sin6_addr, c->peer.ip, 16);
	else
		memcpy(&((struct sockaddr_in *)ss)->sin_addr, c->peer.ip, 4);
	addr_set_port((struct sockaddr *)ss, c->port);
}
