/* turn_relay.c: CreatePermission, ChannelBind, Send/Data indications and ChannelData, both ways (RFC 8656 9-12). */
#include <netinet/in.h>
#include <errno.h>
#include <string.h>

#include "addr.h"
#include "auth.h"
#include "chandata.h"
#include "config.h"
#include "core.h"
#include "log.h"
#include "stats.h"

/* The allocation's relay of a family, or NULL (443 territory). */
static struct relay *
relay_of_family(struct alloc *a, int family)
{
	unsigned i;

	for (i = 0; i < a->nrelay; i++)
		if (a->relay[i].bound.ss_family == family)
			return &a->relay[i];
	return NULL;
}

/* The authenticated request's allocation, checked for 437 and 441; NULL after building the error. */
static struct alloc *
request_alloc(struct request *req, struct auth_result *ar)
{
	const struct pkt_ctx *pkt = req->pkt;
	struct alloc *a;

	if (turn_auth(req, ar) != 0)
		return NULL;
	if ((a = alloc_find(&req->srv->allocs, pkt->tp, pkt->peer, pkt->local)) == NULL) {
		reply_error(req, 437);
		return NULL;
	}
	if (strcmp(a->username, ar->username) != 0) {
		reply_error(req, 441);
		return NULL;
	}
	return a;
}

/* Check one XOR-PEER-ADDRESS: decodable (400), family (443), policy (403). */
static int
peer_check(struct request *req, struct alloc *a, const struct stun_attr *attr,
    struct sockaddr_storage *peer)
{
	enum policy_verdict v;
	char name[ADDR_STRLEN];

	if (stun_attr_xaddr(attr, req->msg->txid16, peer) != 0)
		return 400;
	if (relay_of_family(a, peer->ss_family) == NULL)
		return 443;
	v = policy_check_peer(&req->srv->shared->policy, (struct sockaddr *)peer);
	if (v != POLICY_ALLOW) {
		log_info("peer %s denied for %s: %s", addr_fmt((struct sockaddr *)peer,
		    name, sizeof(name)), a->username, policy_verdict_name(v));
		return 403;
	}
	return 0;
}

/* CreatePermission (RFC 8656 section 10): all peers pass the checks, or none is installed. */
int
turn_create_permission(struct request *req)
{
	const struct stun_msg *m = req->msg;
	struct sockaddr_storage peer;
	struct auth_result ar;
	struct peer_ip ip;
	struct alloc *a;
	unsigned i, n = 0, fresh = 0;
	int rc;

	if ((a = request_alloc(req, &ar)) == NULL)
		return 0;
	for (i = 0; i < m->nattrs; i++) {
		if (m->attrs[i].type != STUN_A_XOR_PEER_ADDRESS)
			continue;
		if ((rc = peer_check(req, a, &m->attrs[i], &peer)) != 0)
			return reply_error(req, rc);
		peer_ip_from(&ip, (struct sockaddr *)&peer);
		n++;
		fresh += !perm_has(a, &ip);
	}
	if (n == 0)
		return reply_error(req, 400);
	if (a->nperms + fresh > (unsigned)req->cfg->max_permissions)
		return reply_error(req, 508);
	for (i = 0; i < m->nattrs; i++) {
		if (m->attrs[i].type != STUN_A_XOR_PEER_ADDRESS)
			continue;
		stun_attr_xaddr(&m->attrs[i], m->txid16, &peer);
		peer_ip_from(&ip, (struct sockaddr *)&peer);
		perm_install(a, &ip, policy_is_own(&req->srv->shared->policy,
		    (struct sockaddr *)&peer), req->pkt->now_ms,
		    (unsigned)req->cfg->max_permissions);
	}
	reply_begin(req);
	stats_count_reply(req->stats, 0);
	return reply_finish(req);
}

/* ChannelBind (RFC 8656 section 11.2): binds, and installs or refreshes the permission. */
int
turn_channel_bind(struct request *req)
{
	const struct stun_attr *num, *pa;
	struct sockaddr_storage peer;
	struct auth_result ar;
	struct peer_ip ip;
	struct alloc *a;
	uint16_t number, max;
	int rc;

	if ((a = request_alloc(req, &ar)) == NULL)
		return 0;
	num = stun_msg_find(req->msg, STUN_A_CHANNEL_NUMBER);
	pa = stun_msg_find(req->msg, STUN_A_XOR_PEER_ADDRESS);
	if (num == NULL || pa == NULL)
		return reply_error(req, 400);
	number = (uint16_t)((num->val[0] << 8) | num->val[1]);
	max = req->cfg->strict_channels ? CHAN_MAX_RFC8656 : CHAN_MAX_RFC5766;
	if (number < CHAN_MIN || number > max)
		return reply_error(req, 400);
	if ((rc = peer_check(req, a, pa, &peer)) != 0)
		return reply_error(req, rc);
	peer_ip_from(&ip, (struct sockaddr *)&peer);
	if (chan_by_number(a, number) != chan_by_peer(a, (struct sockaddr *)&peer))
		return reply_error(req, 400);
	if (perm_install(a, &ip, policy_is_own(&req->srv->shared->policy,
	    (struct sockaddr *)&peer), req->pkt->now_ms,
	    (unsigned)req->cfg->max_permissions) != 0)
		return reply_error(req, 508);
	chan_bind(a, number, (struct sockaddr *)&peer, req->pkt->now_ms);
	reply_begin(req);
	stats_count_reply(req->stats, 0);
	return reply_finish(req);
}

/*
 * Send client data to a peer through the relay of its family, if a
 * permission allows it. Permissions cover an IP, but for this server's own
 * IPs the policy also judges ports (our listeners, ports that are not our
 * relays), so a Send indication to such an IP is checked again per
 * datagram; any other IP's verdict cannot depend on the port, and a
 * channel's port was checked when it was bound.
 */
static void
relay_out(struct server *srv, struct alloc *a, const struct sockaddr *peer,
    const uint8_t *data, size_t len, bool df, bool check_port, uint64_t now_ms)
{
	struct relay *r = relay_of_family(a, peer->sa_family);
	const struct perm *perm;
	struct peer_ip ip;

	peer_ip_from(&ip, peer);
	perm = perm_find(a, &ip, now_ms);
	if (r == NULL || perm == NULL || (check_port && (perm->own || addr_port(peer) == 0) &&
	    policy_check_peer(&srv->shared->policy, peer) != POLICY_ALLOW) ||
	    !bucket_take(&a->up, (uint64_t)srv->cfg->bandwidth, now_ms, len)) {
		srv->stats->relay_dropped++;
		return;
	}
	if (srv->io.relay_send(srv->io.arg, r->handle, peer, data, len, df) == 0) {
		srv->stats->relay_up_pkts++;
		srv->stats->relay_up_bytes += len;
		a->up_pkts++;
		a->up_bytes += len;
	} else
		srv->stats->relay_dropped++;
}

/* A Send indication (RFC 8656 section 11.2): no answer, ever; bad ones are dropped. */
int
turn_send_indication(struct request *req)
{
	const struct pkt_ctx *pkt = req->pkt;
	const struct stun_attr *pa, *data;
	struct sockaddr_storage peer;
	struct alloc *a;

	a = alloc_find(&req->srv->allocs, pkt->tp, pkt->peer, pkt->local);
	pa = stun_msg_find(req->msg, STUN_A_XOR_PEER_ADDRESS);
	data = stun_msg_find(req->msg, STUN_A_DATA);
	if (a == NULL || pa == NULL || data == NULL ||
	    stun_attr_xaddr(pa, req->msg->txid16, &peer) != 0) {
		req->stats->relay_dropped++;
		return 1;
	}
	relay_out(req->srv, a, (struct sockaddr *)&peer, data->val, data->len,
	    stun_msg_find(req->msg, STUN_A_DONT_FRAGMENT) != NULL, true, pkt->now_ms);
	return 1;
}

/* ChannelData from a client (RFC 8656 section 12.5). */
void
turn_channel_data(struct server *srv, const struct pkt_ctx *pkt, const uint8_t *in,
    size_t len)
{
	struct sockaddr_storage peer;
	struct chandata cd;
	struct alloc *a;
	struct chan *c;
	uint16_t max = srv->cfg->strict_channels ? CHAN_MAX_RFC8656 : CHAN_MAX_RFC5766;

	if (chandata_parse(&cd, in, len, pkt->tp != TRANSPORT_UDP) != 0 ||
	    cd.channel > max ||
	    (a = alloc_find(&srv->allocs, pkt->tp, pkt->peer, pkt->local)) == NULL ||
	    (c = chan_by_number(a, cd.channel)) == NULL || c->expires_ms <= pkt->now_ms) {
		srv->stats->relay_dropped++;
		return;
	}
	chan_peer_addr(c, &peer);
	relay_out(srv, a, (struct sockaddr *)&peer, cd.data, cd.len, false, false, pkt->now_ms);
}

/* Next transaction ID for a Data indication: xorshift, no syscall per packet. */
static void
next_txid(struct server *srv, uint8_t *txid16)
{
	uint64_t x = srv->txid_state;
	int i;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	srv->txid_state = x;
	txid16[0] = 0x21; txid16[1] = 0x12; txid16[2] = 0xa4; txid16[3] = 0x42;
	for (i = 0; i < 8; i++)
		txid16[4 + i] = (uint8_t)(x >> (8 * i));
	txid16[12] = (uint8_t)(srv->stats->relay_down_pkts);
	txid16[13] = (uint8_t)(srv->stats->relay_down_pkts >> 8);
	txid16[14] = (uint8_t)(srv->stats->relay_down_pkts >> 16);
	txid16[15] = (uint8_t)(srv->stats->relay_down_pkts >> 24);
}

/* Write a Data indication header in front of the payload at p; returns its start. */
static uint8_t *
data_indication(struct server *srv, const struct sockaddr *peer, uint8_t *p, size_t len,
    size_t *total)
{
	uint8_t hdr[RELAY_HEADROOM], txid16[16];
	size_t pad = (4 - (len & 3)) & 3, hlen;
	struct wbuf w;

	next_txid(srv, txid16);
	wbuf_init(&w, hdr, sizeof(hdr));
	stun_build_init(&w, TURN_DATA, STUN_INDICATION, txid16);
	stun_put_xaddr(&w, STUN_A_XOR_PEER_ADDRESS, peer);
	wbuf_u16(&w, STUN_A_DATA);
	wbuf_u16(&w, (uint16_t)len);
	hlen = w.len;
	wbuf_put_u16_at(&w, 2, (uint16_t)(hlen - STUN_HDR_LEN + len + pad));
	memcpy(p - hlen, hdr, hlen);
	memset(p + len, 0, pad);
	*total = hlen + len + pad;
	return p - hlen;
}

/*
 * Data from a peer arrived on a relay socket: payload at p, with
 * RELAY_HEADROOM bytes before it and RELAY_TAILROOM after, so the
 * ChannelData or Data indication header is written in place (no copy).
 */
void
server_relay_in(struct server *srv, struct alloc *a, const struct sockaddr *peer,
    uint8_t *p, size_t len, uint64_t now_ms)
{
	struct peer_ip ip;
	struct chan *c;
	uint8_t *start;
	size_t total;

	peer_ip_from(&ip, peer);
	if (len > 0xffff - RELAY_HEADROOM || !perm_valid(a, &ip, now_ms) ||
	    !bucket_take(&a->down, (uint64_t)srv->cfg->bandwidth, now_ms, len)) {
		srv->stats->relay_dropped++;
		return;
	}
	if ((c = chan_by_peer(a, peer)) != NULL && c->expires_ms > now_ms) {
		start = p - CHANDATA_HDR_LEN;
		chandata_write_hdr(start, c->number, (uint16_t)len);
		total = CHANDATA_HDR_LEN + len;
		if (a->tp != TRANSPORT_UDP) {	/* streams pad to 4 (RFC 8656 12.5) */
			memset(p + len, 0, (4 - (len & 3)) & 3);
			total += (4 - (len & 3)) & 3;
		}
	} else
		start = data_indication(srv, peer, p, len, &total);
	if (srv->io.client_send(srv->io.arg, a->conn, (struct sockaddr *)&a->client,
	    (struct sockaddr *)&a->local, start, total) == 0) {
		srv->stats->relay_down_pkts++;
		srv->stats->relay_down_bytes += len;
		a->down_pkts++;
		a->down_bytes += len;
	} else
		srv->stats->relay_dropped++;
}

/* ICMP worth telling the client (RFC 8656 section 11.5): unreachable and time exceeded. */
static bool
icmp_relevant(int family, uint8_t type)
{
	if (family == AF_INET)
		return type == 3 || type == 11;
	return type == 1 || type == 2 || type == 3;
}

/*
 * An ICMP error came back for a datagram the relay sent to peer: tell the
 * client in a Data indication with XOR-PEER-ADDRESS and ICMP (no DATA),
 * if a permission for that peer exists.
 */
void
server_relay_icmp(struct server *srv, struct alloc *a, const struct sockaddr *peer,
    uint8_t type, uint8_t code, uint32_t info, uint64_t now_ms)
{
	uint8_t buf[96], txid16[16], icmp[8] = { 0 };
	struct peer_ip ip;
	struct wbuf w;

	peer_ip_from(&ip, peer);
	if (!icmp_relevant(peer->sa_family, type) || !perm_valid(a, &ip, now_ms))
		return;
	icmp[2] = type;
	icmp[3] = code;
	icmp[4] = (uint8_t)(info >> 24);	/* the MTU for "fragmentation needed" */
	icmp[5] = (uint8_t)(info >> 16);
	icmp[6] = (uint8_t)(info >> 8);
	icmp[7] = (uint8_t)info;
	next_txid(srv, txid16);
	wbuf_init(&w, buf, sizeof(buf));
	stun_build_init(&w, TURN_DATA, STUN_INDICATION, txid16);
	stun_put_xaddr(&w, STUN_A_XOR_PEER_ADDRESS, peer);
	stun_put(&w, STUN_A_ICMP, icmp, sizeof(icmp));
	if (stun_build_end(&w) < 0)
		return;
	if (srv->io.client_send(srv->io.arg, a->conn, (struct sockaddr *)&a->client,
	    (struct sockaddr *)&a->local, buf, w.len) == 0)
		srv->stats->relay_icmp++;
}
