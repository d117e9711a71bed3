/* binding.c: the Binding method (RFC 8489 section 7, classic RFC 3489 clients). */
#include "config.h"
#include "server.h"
#include "stats.h"
#include "stun.h"

/*
 * RFC 5780 attributes ask for things only a server with an alternate
 * address can do. Until one is configured, CHANGE-REQUEST with a flag set
 * and RESPONSE-PORT get 420 (RFC 5780 section 6.1), so a client learns
 * that NAT behaviour discovery is not offered here. CHANGE-REQUEST with no
 * flags asks for nothing and is answered.
 */
static uint16_t
binding_unsupported_5780(const struct stun_msg *m)
{
	const struct stun_attr *a;
	uint32_t flags;

	if ((a = stun_msg_find(m, STUN_A_CHANGE_REQUEST)) != NULL &&
	    stun_attr_u32(a, &flags) == 0 && (flags & 0x6) != 0)
		return STUN_A_CHANGE_REQUEST;
	if (stun_msg_find(m, STUN_A_RESPONSE_PORT) != NULL)
		return STUN_A_RESPONSE_PORT;
	return 0;
}

/* Answer a Binding request with the address we saw it come from. */
int
binding_handle(struct request *req)
{
	const struct sockaddr *peer = req->pkt->peer;
	uint16_t unsupported;

	if ((unsupported = binding_unsupported_5780(req->msg)) != 0)
		return reply_error_unsupported(req, unsupported);
	reply_begin(req);
	if (req->msg->classic) {
		/* RFC 3489 clients know MAPPED-ADDRESS only (RFC 5389 section 12.2). */
		stun_put_addr(req->out, STUN_A_MAPPED_ADDRESS, peer);
	} else {
		stun_put_xaddr(req->out, STUN_A_XOR_MAPPED_ADDRESS, peer);
		if (req->cfg->mapped_address)
			stun_put_addr(req->out, STUN_A_MAPPED_ADDRESS, peer);
	}
	stats_count_reply(req->stats, 0);
	return reply_finish(req);
}
