/* turn_alloc.c: the Allocate and Refresh methods (RFC 8656 sections 7 and 8, RFC 6156 families). */
#include <netinet/in.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "auth.h"
#include "config.h"
#include "core.h"
#include "log.h"
#include "stats.h"
#include "xmalloc.h"

#define RELAY_OPEN_TRIES	8
#define PROTO_UDP		17

/* What an Allocate asks for, once its attributes are checked. */
struct alloc_plan {
	int		 family[ALLOC_RELAYS];	/* AF_INET and/or AF_INET6 */
	unsigned	 nfamily;
	bool		 dual;			/* ADDITIONAL-ADDRESS-FAMILY */
	bool		 even;
	bool		 reserve;		/* EVEN-PORT R bit */
	const uint8_t	*token;			/* RESERVATION-TOKEN to redeem */
	uint32_t	 lifetime_s;
};

/* A STUN family byte to AF_*, or 0. */
static int
family_of(uint8_t f)
{
	return f == STUN_FAMILY_IPV4 ? AF_INET : f == STUN_FAMILY_IPV6 ? AF_INET6 : 0;
}

/* The lifetime granted: the default when absent, else within [default, max] (RFC 8656 7.2). */
static uint32_t
alloc_lifetime(const struct request *req, bool zero_ok)
{
	const struct stun_attr *a = stun_msg_find(req->msg, STUN_A_LIFETIME);
	uint32_t want, def = (uint32_t)req->cfg->allocation_lifetime;
	uint32_t max = (uint32_t)req->cfg->max_allocation_lifetime;

	if (a == NULL || stun_attr_u32(a, &want) != 0)
		return def;
	if (want == 0 && zero_ok)
		return 0;
	return want < def ? def : want > max ? max : want;
}

/* The address family part of the plan; an error code or 0. */
static int
plan_families(const struct request *req, struct alloc_plan *p)
{
	const struct stun_attr *raf = stun_msg_find(req->msg, STUN_A_REQUESTED_ADDRESS_FAMILY);
	const struct stun_attr *aaf = stun_msg_find(req->msg, STUN_A_ADDITIONAL_ADDRESS_FAMILY);
	struct ports *ports = req->srv->shared->ports;
	int fam = AF_INET;

	if (raf != NULL && aaf != NULL)
		return 400;
	if (raf != NULL && (fam = family_of(raf->val[0])) == 0)
		return 440;
	if (aaf != NULL && family_of(aaf->val[0]) != AF_INET6)
		return 400;		/* only IPv6 may be additional (RFC 8656 7.2) */
	if (!ports_has_family(ports, fam))
		return 440;
	p->family[p->nfamily++] = fam;
	if (aaf != NULL) {
		p->dual = true;
		p->family[p->nfamily++] = AF_INET6;
	}
	return 0;
}

/* Check the Allocate's attributes into a plan; an error code or 0. */
static int
alloc_plan(const struct request *req, struct alloc_plan *p)
{
	const struct stun_msg *m = req->msg;
	const struct stun_attr *tr = stun_msg_find(m, STUN_A_REQUESTED_TRANSPORT);
	const struct stun_attr *even = stun_msg_find(m, STUN_A_EVEN_PORT);
	const struct stun_attr *tok = stun_msg_find(m, STUN_A_RESERVATION_TOKEN);
	int rc;

	memset(p, 0, sizeof(*p));
	if (tr == NULL)
		return 400;
	if (tr->val[0] != PROTO_UDP)
		return 442;		/* TCP relays (RFC 6062) are not built yet */
	if (tok != NULL && (even != NULL ||
	    stun_msg_find(m, STUN_A_REQUESTED_ADDRESS_FAMILY) != NULL ||
	    stun_msg_find(m, STUN_A_ADDITIONAL_ADDRESS_FAMILY) != NULL))
		return 400;
	if ((rc = plan_families(req, p)) != 0)
		return rc;
	p->even = even != NULL;
	p->reserve = even != NULL && (even->val[0] & 0x80) != 0;
	p->token = tok != NULL ? tok->val : NULL;
	p->lifetime_s = alloc_lifetime(req, false);
	return 0;
}

/* The address XOR-RELAYED-ADDRESS advertises for a bound relay (1:1 NAT mapping). */
static void
relay_advertise(const struct config *cfg, struct relay *r)
{
	const struct sockaddr *b = (const struct sockaddr *)&r->bound;
	unsigned i;

	r->advertised = r->bound;
	for (i = 0; i < cfg->nexternal; i++) {
		const struct external_map *m = &cfg->external[i];
		struct sockaddr_storage priv = m->private;

		if (m->public.ss_family != b->sa_family)
			continue;
		if (priv.ss_family != AF_UNSPEC) {
			addr_set_port((struct sockaddr *)&priv, addr_port(b));
			if (!addr_equal((struct sockaddr *)&priv, b))
				continue;
		}
		r->advertised = m->public;
		addr_set_port((struct sockaddr *)&r->advertised, addr_port(b));
		return;
	}
}

/* Bind the relay socket for a port the pool gave; on failure the port goes back. */
static int
relay_bind(struct server *srv, struct alloc *a, int ipidx, uint16_t port)
{
	struct relay *r = &a->relay[a->nrelay];
	int rc;

	memset(r, 0, sizeof(*r));
	memcpy(&r->bound, ports_ip(srv->shared->ports, ipidx),
	    sizeof(struct sockaddr_storage));
	addr_set_port((struct sockaddr *)&r->bound, port);
	r->ipidx = ipidx;
	rc = srv->io.relay_open(srv->io.arg, a, a->nrelay, (struct sockaddr *)&r->bound,
	    &r->handle);
	if (rc != 0) {
		ports_release(srv->shared->ports, ipidx, port);
		return rc;
	}
	relay_advertise(srv->cfg, r);
	a->nrelay++;
	return 0;
}

/*
 * Open one relay of a family: a random free port, retried when another
 * process holds it (RFC 8656 section 7.2); 508 when none can be had.
 */
static int
relay_open_family(struct server *srv, struct alloc *a, const struct alloc_plan *p,
    int family, uint8_t *token_out)
{
	uint16_t port;
	int tries, ipidx;

	if (p->token != NULL) {
		if (ports_take_reserved(srv->shared->ports, p->token, 0, &ipidx, &port) != 0)
			return 508;
		return relay_bind(srv, a, ipidx, port) == 0 ? 0 : 508;
	}
	if (!ports_has_family(srv->shared->ports, family))
		return 440;
	for (tries = 0; tries < RELAY_OPEN_TRIES; tries++) {
		if (ports_take(srv->shared->ports, family, p->even, p->reserve, &ipidx,
		    &port, token_out) != 0)
			return 508;
		if (relay_bind(srv, a, ipidx, port) == 0)
			return 0;
	}
	return 508;
}

/* Append ADDRESS-ERROR-CODE for the family a dual allocation could not get. */
static void
put_address_error(struct wbuf *w, int family, int code)
{
	uint8_t v[4 + 32];
	const char *reason = stun_reason(code);
	size_t n = strlen(reason);

	v[0] = family == AF_INET6 ? STUN_FAMILY_IPV6 : STUN_FAMILY_IPV4;
	v[1] = 0;
	v[2] = (uint8_t)(code / 100);
	v[3] = (uint8_t)(code % 100);
	memcpy(v + 4, reason, n);
	stun_put(w, STUN_A_ADDRESS_ERROR_CODE, v, 4 + n);
}

/* Build the success response and keep a copy for retransmissions. */
static int
alloc_reply(struct request *req, struct alloc *a, const struct alloc_plan *p,
    int second_err, const uint8_t *token)
{
	unsigned i;

	reply_begin(req);
	for (i = 0; i < a->nrelay; i++)
		stun_put_xaddr(req->out, STUN_A_XOR_RELAYED_ADDRESS,
		    (struct sockaddr *)&a->relay[i].advertised);
	if (second_err != 0)
		put_address_error(req->out, p->family[1], second_err);
	stun_put_u32(req->out, STUN_A_LIFETIME, p->lifetime_s);
	if (p->reserve)
		stun_put(req->out, STUN_A_RESERVATION_TOKEN, token, 8);
	stun_put_xaddr(req->out, STUN_A_XOR_MAPPED_ADDRESS, req->pkt->peer);
	reply_finish(req);
	if (req->out->overflow)
		return -ENOSPC;
	a->last_resp = xreallocarray(a->last_resp, 1, req->out->len);
	memcpy(a->last_resp, req->out->p, req->out->len);
	a->last_resp_len = (uint16_t)req->out->len;
	memcpy(a->last_txid, req->msg->txid16 + 4, STUN_TXID_LEN);
	stats_count_reply(req->stats, 0);
	return 0;
}

/* An Allocate on a 5-tuple that has one: the same transaction gets the same answer (RFC 8656 7.2). */
static int
alloc_existing(struct request *req, struct alloc *a)
{
	if (memcmp(a->last_txid, req->msg->txid16 + 4, STUN_TXID_LEN) == 0 &&
	    a->last_resp != NULL && req->out->cap >= a->last_resp_len) {
		memcpy(req->out->p, a->last_resp, a->last_resp_len);
		req->out->len = a->last_resp_len;
		req->out->overflow = false;
		return 0;
	}
	return reply_error(req, 437);
}

/* Open the planned relays; the first family must succeed, a dual's second may not. */
static int
alloc_open_relays(struct server *srv, struct alloc *a, const struct alloc_plan *p,
    uint8_t *token, int *second_err)
{
	int rc;

	if ((rc = relay_open_family(srv, a, p, p->family[0], token)) != 0)
		return rc;
	if (p->nfamily > 1) {
		struct alloc_plan second = *p;
		second.reserve = false;		/* one RESERVATION-TOKEN per allocation */
		*second_err = relay_open_family(srv, a, &second, p->family[1], NULL);
	}
	return 0;
}

/* Allocate (RFC 8656 section 7.2). */
int
turn_allocate(struct request *req)
{
	struct server *srv = req->srv;
	const struct pkt_ctx *pkt = req->pkt;
	struct auth_result ar;
	struct alloc_plan plan;
	struct alloc *a;
	uint8_t token[8] = { 0 };
	int rc, second_err = 0;

	if (turn_auth(req, &ar) != 0)
		return 0;
	if ((a = alloc_find(&srv->allocs, pkt->tp, pkt->peer, pkt->local)) != NULL)
		return alloc_existing(req, a);
	if ((rc = alloc_plan(req, &plan)) != 0)
		return reply_error(req, rc);
	if ((rc = quota_take(srv->shared->quota, ar.quota_id)) != 0)
		return reply_error(req, rc);
	/* The pool times reservations by the clock it was last told. */
	ports_set_now(srv->shared->ports, pkt->now_ms);
	a = alloc_insert(&srv->allocs, pkt->tp, pkt->peer, pkt->local);
	a->quota_id = xstrdup(ar.quota_id);
	a->username = xstrdup(ar.username);
	a->conn = pkt->conn;
	a->expires_ms = pkt->now_ms + (uint64_t)plan.lifetime_s * 1000;
	a->created_ms = pkt->now_ms;
	srv->stats->allocs_created++;
	if ((rc = alloc_open_relays(srv, a, &plan, token, &second_err)) != 0) {
		server_alloc_free(srv, a, ALLOC_END_FAILED);
		return reply_error(req, rc);
	}
	log_debug("allocation for %s: %u relay(s), %u s", a->username, a->nrelay,
	    plan.lifetime_s);
	return alloc_reply(req, a, &plan, second_err, token);
}

/* Refresh (RFC 8656 section 8.2): a new lifetime, or 0 to delete. */
int
turn_refresh(struct request *req)
{
	struct server *srv = req->srv;
	const struct pkt_ctx *pkt = req->pkt;
	const struct stun_attr *raf;
	struct auth_result ar;
	struct alloc *a;
	uint32_t lifetime;
	unsigned i;
	int fam;

	if (turn_auth(req, &ar) != 0)
		return 0;
	if ((a = alloc_find(&srv->allocs, pkt->tp, pkt->peer, pkt->local)) == NULL)
		return reply_error(req, 437);
	if (strcmp(a->username, ar.username) != 0)
		return reply_error(req, 441);
	if ((raf = stun_msg_find(req->msg, STUN_A_REQUESTED_ADDRESS_FAMILY)) != NULL) {
		fam = family_of(raf->val[0]);
		for (i = 0; i < a->nrelay; i++)
			if (a->relay[i].bound.ss_family == fam)
				break;
		if (i == a->nrelay)
			return reply_error(req, 443);
	}
	lifetime = alloc_lifetime(req, true);
	if (lifetime == 0)
		server_alloc_free(srv, a, ALLOC_END_DELETED);
	else
		a->expires_ms = pkt->now_ms + (uint64_t)lifetime * 1000;
	reply_begin(req);
	stun_put_u32(req->out, STUN_A_LIFETIME, lifetime);
	stats_count_reply(req->stats, 0);
	return reply_finish(req);
}
