/* ports.c: the relay port pool shared by all workers: random free ports per relay IP, EVEN-PORT reservations. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "addr.h"
#include "turn.h"
#include "log.h"
#include "xmalloc.h"

#define PORTS_MAX_RESERVED	1024

/* A port held for a RESERVATION-TOKEN until it is redeemed or expires. */
struct reservation {
	uint8_t		 token[8];
	int		 ipidx;
	uint16_t	 port;
	uint64_t	 expires_ms;
};

struct ports_ip {
	struct sockaddr_storage	 ip;
	uint8_t			 used[65536 / 8];
};

/* Locked: taken only when allocations are made or freed, never per packet. */
struct ports {
	pthread_mutex_t		 lock;
	struct ports_ip		*ips;
	unsigned		 nips;
	unsigned		 next_ip;	/* round-robin over IPs of a family */
	uint16_t		 min;
	uint16_t		 max;
	struct reservation	 res[PORTS_MAX_RESERVED];
	unsigned		 nres;
	uint64_t		 now_ms;
};

/* A pool over the relay IPs and the port range [min, max]. */
struct ports *
ports_new(const struct sockaddr_storage *ips, unsigned nips, int min, int max)
{
	struct ports *p = xcalloc(1, sizeof(*p));
	unsigned i;

	pthread_mutex_init(&p->lock, NULL);
	p->ips = xcalloc(nips ? nips : 1, sizeof(*p->ips));
	for (i = 0; i < nips; i++)
		p->ips[i].ip = ips[i];
	p->nips = nips;
	p->min = (uint16_t)min;
	p->max = (uint16_t)max;
	return p;
}

/* Free the pool. */
void
ports_free(struct ports *p)
{
	if (p == NULL)
		return;
	pthread_mutex_destroy(&p->lock);
	free(p->ips);
	free(p);
}

/* The IP of a pool index. */
const struct sockaddr *
ports_ip(const struct ports *p, int idx)
{
	return (const struct sockaddr *)&p->ips[idx].ip;
}

/* Is there a relay IP of this family? */
bool
ports_has_family(const struct ports *p, int family)
{
	unsigned i;

	for (i = 0; i < p->nips; i++)
		if (p->ips[i].ip.ss_family == family)
			return true;
	return false;
}

/* Bits are read and written atomically: ports_in_use reads them without the lock. */
static bool
do_used(const struct ports_ip *ip, unsigned port)
{
	return (__atomic_load_n(&ip->used[port / 8], __ATOMIC_RELAXED) >> (port % 8)) & 1;
}

static void
do_mark(struct ports_ip *ip, unsigned port, bool used)
{
	if (used)
		__atomic_fetch_or(&ip->used[port / 8], (uint8_t)(1u << (port % 8)),
		    __ATOMIC_RELAXED);
	else
		__atomic_fetch_and(&ip->used[port / 8], (uint8_t)~(1u << (port % 8)),
		    __ATOMIC_RELAXED);
}

/* Is addr one of our relay sockets (or a reserved port)? Lock-free: the policy asks per Send. */
bool
ports_in_use(const void *arg, const struct sockaddr *sa)
{
	const struct ports *p = arg;
	struct sockaddr_storage ip;
	unsigned i;

	memset(&ip, 0, sizeof(ip));
	memcpy(&ip, sa, addr_len(sa));
	addr_set_port((struct sockaddr *)&ip, 0);
	for (i = 0; i < p->nips; i++)
		if (addr_equal((const struct sockaddr *)&p->ips[i].ip, (struct sockaddr *)&ip))
			return do_used(&p->ips[i], addr_port(sa));
	return false;
}

/* Give back the ports of expired reservations. Lock held. */
static void
do_expire_reservations(struct ports *p)
{
	unsigned i = 0;

	while (i < p->nres) {
		if (p->res[i].expires_ms <= p->now_ms) {
			do_mark(&p->ips[p->res[i].ipidx], p->res[i].port, false);
			p->res[i] = p->res[--p->nres];
		} else
			i++;
	}
}

/* Find a free port on one IP from a random start; even (and its successor free) when asked. Lock held. */
static int
do_pick(struct ports *p, struct ports_ip *ip, bool even, bool pair, uint16_t *port)
{
	unsigned span = (unsigned)p->max - p->min + 1, start, k, cand;
	uint32_t r;

	if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
		r = (uint32_t)random();
	start = r % span;
	for (k = 0; k < span; k++) {
		cand = p->min + (start + k) % span;
		if ((even && (cand & 1)) || do_used(ip, cand))
			continue;
		if (pair && (cand + 1 > p->max || do_used(ip, cand + 1)))
			continue;
		*port = (uint16_t)cand;
		return 0;
	}
	return -ENOSPC;
}

/*
 * Take a free port on a relay IP of this family. With reserve, the next
 * port is held too under a fresh token (EVEN-PORT with the R bit).
 */
int
ports_take(struct ports *p, int family, bool even, bool reserve, int *ipidx,
    uint16_t *port, uint8_t *token)
{
	unsigned i, idx;
	int rc = -ENOSPC;

	pthread_mutex_lock(&p->lock);
	do_expire_reservations(p);
	for (i = 0; i < p->nips && rc != 0; i++) {
		idx = (p->next_ip + i) % p->nips;
		if (p->ips[idx].ip.ss_family != family)
			continue;
		if (reserve && p->nres == PORTS_MAX_RESERVED)
			break;
		if ((rc = do_pick(p, &p->ips[idx], even, reserve, port)) != 0)
			continue;
		*ipidx = (int)idx;
		do_mark(&p->ips[idx], *port, true);
		if (reserve) {
			struct reservation *r = &p->res[p->nres++];
			if (RAND_bytes(r->token, sizeof(r->token)) != 1)
				fatalx("RAND_bytes failed");
			memcpy(token, r->token, sizeof(r->token));
			r->ipidx = (int)idx;
			r->port = (uint16_t)(*port + 1);
			r->expires_ms = p->now_ms + RESERVATION_MS;
			do_mark(&p->ips[idx], r->port, true);
		}
		p->next_ip = idx + 1;
	}
	pthread_mutex_unlock(&p->lock);
	return rc;
}

/* Redeem a RESERVATION-TOKEN: the held port, or -ENOENT. */
int
ports_take_reserved(struct ports *p, const uint8_t *token, uint64_t now_ms, int *ipidx,
    uint16_t *port)
{
	unsigned i;
	int rc = -ENOENT;

	pthread_mutex_lock(&p->lock);
	if (now_ms > p->now_ms)
		p->now_ms = now_ms;
	do_expire_reservations(p);
	for (i = 0; i < p->nres; i++)
		if (memcmp(p->res[i].token, token, 8) == 0) {
			*ipidx = p->res[i].ipidx;
			*port = p->res[i].port;
			p->res[i] = p->res[--p->nres];
			rc = 0;
			break;
		}
	pthread_mutex_unlock(&p->lock);
	return rc;
}

/* Give a port back. */
void
ports_release(struct ports *p, int ipidx, uint16_t port)
{
	pthread_mutex_lock(&p->lock);
	do_mark(&p->ips[ipidx], port, false);
	pthread_mutex_unlock(&p->lock);
}

/* Tell the pool the time, for reservation expiry. */
void
ports_set_now(struct ports *p, uint64_t now_ms)
{
	pthread_mutex_lock(&p->lock);
	if (now_ms > p->now_ms)
		p->now_ms = now_ms;
	pthread_mutex_unlock(&p->lock);
}
