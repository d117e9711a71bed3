/* binding.c: the Binding method (RFC 8489 section 7, classic RFC 3489 clients, RFC 5780 NAT behaviour discovery). */
#include <string.h>

#include "addr.h"
#include "config.h"
#include "server.h"
#include "stats.h"
#include "stun.h"

#define CHANGE_IP	0x04
#define CHANGE_PORT	0x02
#define PADDING_MAX	1400	/* keep a padded response within a typical MTU */

/* Which of the four RFC 5780 addresses is this ([ip][port]), or false. */
static bool
nat_role(const struct config *cfg, const struct sockaddr *local, int *ip, int *port)
{
	int i, k;

	for (i = 0; i < 2; i++)
		for (k = 0; k < 2; k++)
			if (addr_equal((const struct sockaddr *)&cfg->nat_addr[i][k], local)) {
				*ip = i;
				*port = k;
				return true;
			}
	return false;
}

/* The CHANGE-REQUEST flags, 0 when absent. */
static uint32_t
change_flags(const struct stun_msg *m)
{
	const struct stun_attr *a = stun_msg_find(m, STUN_A_CHANGE_REQUEST);
	uint32_t flags = 0;

	if (a != NULL)
		stun_attr_u32(a, &flags);
	return flags & (CHANGE_IP | CHANGE_PORT);
}

/*
 * Without RFC 5780 here (no alternate address, a stream, or a listener the
 * four addresses do not include), CHANGE-REQUEST with a flag set and
 * RESPONSE-PORT get 420 (RFC 5780 section 6.1), so a client learns that
 * discovery is not offered. CHANGE-REQUEST with no flags asks for nothing.
 */
static uint16_t
binding_unsupported_5780(const struct stun_msg *m)
{
	if (change_flags(m) != 0)
		return STUN_A_CHANGE_REQUEST;
	if (stun_msg_find(m, STUN_A_RESPONSE_PORT) != NULL)
		return STUN_A_RESPONSE_PORT;
	return 0;
}

/* RFC 5780 section 6: route the reply and add OTHER-ADDRESS and RESPONSE-ORIGIN. */
static int
binding_5780(struct request *req, int ip, int port)
{
	const struct config *cfg = req->cfg;
	const struct stun_attr *rp, *pad;
	uint32_t flags = change_flags(req->msg), rport;
	const struct sockaddr *from;
	int fi, fp;

	fi = (flags & CHANGE_IP) ? !ip : ip;
	fp = (flags & CHANGE_PORT) ? !port : port;
	from = (const struct sockaddr *)&cfg->nat_addr[fi][fp];
	if (fi != ip || fp != port)
		memcpy(req->pkt->reply_from, from, addr_len(from));
	if ((rp = stun_msg_find(req->msg, STUN_A_RESPONSE_PORT)) != NULL) {
		if (stun_attr_u32(rp, &rport) != 0 || (rport >> 16) == 0)
			return reply_error(req, 400);
		memcpy(req->pkt->reply_to, req->pkt->peer, addr_len(req->pkt->peer));
		addr_set_port((struct sockaddr *)req->pkt->reply_to, (uint16_t)(rport >> 16));
	}
	stun_put_xaddr(req->out, STUN_A_XOR_MAPPED_ADDRESS, req->pkt->peer);
	stun_put_addr(req->out, STUN_A_OTHER_ADDRESS,
	    (const struct sockaddr *)&cfg->nat_addr[!ip][!port]);
	stun_put_addr(req->out, STUN_A_RESPONSE_ORIGIN, from);
	if ((pad = stun_msg_find(req->msg, STUN_A_PADDING)) != NULL) {
		static const uint8_t zeros[PADDING_MAX];
		stun_put(req->out, STUN_A_PADDING, zeros,
		    pad->len < PADDING_MAX ? pad->len : PADDING_MAX);
	}
	return 0;
}

/* Answer a Binding request with the address we saw it come from. */
int
binding_handle(struct request *req)
{
	const struct sockaddr *peer = req->pkt->peer;
	uint16_t unsupported;
	int ip, port, rc;

	if (req->cfg->rfc5780 && !req->msg->classic && req->pkt->tp == TRANSPORT_UDP &&
	    req->pkt->reply_from != NULL && req->pkt->reply_to != NULL &&
	    nat_role(req->cfg, req->pkt->local, &ip, &port)) {
		reply_begin(req);
		if ((rc = binding_5780(req, ip, port)) != 0)
			return rc;
	} else {
		if ((unsupported = binding_unsupported_5780(req->msg)) != 0)
			return reply_error_unsupported(req, unsupported);
		reply_begin(req);
		if (req->msg->classic) {
			/* RFC 3489 clients know MAPPED-ADDRESS only (RFC 5389 section 12.2). */
			stun_put_addr(req->out, STUN_A_MAPPED_ADDRESS, peer);
		} else
			stun_put_xaddr(req->out, STUN_A_XOR_MAPPED_ADDRESS, peer);
	}
	if (req->cfg->mapped_address && !req->msg->classic)
		stun_put_addr(req->out, STUN_A_MAPPED_ADDRESS, peer);
	stats_count_reply(req->stats, 0);
	return reply_finish(req);
}
