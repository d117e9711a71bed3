/* alloc.c: the per-worker allocation table, keyed by 5-tuple, and small helpers the TURN files share. */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "turn.h"
#include "xmalloc.h"

#define ALLOC_BUCKETS_MIN	1024

/* FNV-1a over the bytes that identify an address. */
static uint64_t
hash_addr(uint64_t h, const struct sockaddr *sa)
{
	const uint8_t *p;
	size_t n, i;
	uint16_t port = addr_port(sa);

	if (sa->sa_family == AF_INET6) {
		p = (const uint8_t *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
		n = 16;
	} else {
		p = (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr;
		n = 4;
	}
	for (i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	h = (h ^ (port & 0xff)) * 0x100000001b3ull;
	return (h ^ (port >> 8)) * 0x100000001b3ull;
}

/* The bucket of a 5-tuple. */
static size_t
alloc_bucket(const struct alloc_table *t, enum transport tp, const struct sockaddr *client,
    const struct sockaddr *local)
{
	uint64_t h = 0xcbf29ce484222325ull ^ (uint64_t)tp;

	h = hash_addr(h, client);
	h = hash_addr(h, local);
	return (size_t)(h & (t->nbuckets - 1));
}

/* An empty table. */
void
alloc_table_init(struct alloc_table *t)
{
	t->nbuckets = ALLOC_BUCKETS_MIN;
	t->buckets = xcalloc(t->nbuckets, sizeof(*t->buckets));
	t->count = 0;
}

/* The allocation on this 5-tuple, or NULL. */
struct alloc *
alloc_find(const struct alloc_table *t, enum transport tp, const struct sockaddr *client,
    const struct sockaddr *local)
{
	struct alloc *a;

	for (a = t->buckets[alloc_bucket(t, tp, client, local)]; a != NULL; a = a->hnext)
		if (a->tp == tp && addr_equal((struct sockaddr *)&a->client, client) &&
		    addr_equal((struct sockaddr *)&a->local, local))
			return a;
	return NULL;
}

/* Double the table when it is fuller than one allocation per bucket. */
static void
alloc_grow(struct alloc_table *t)
{
	struct alloc **old = t->buckets, *a, *next;
	size_t i, oldn = t->nbuckets;

	t->nbuckets *= 2;
	t->buckets = xcalloc(t->nbuckets, sizeof(*t->buckets));
	for (i = 0; i < oldn; i++)
		for (a = old[i]; a != NULL; a = next) {
			size_t b = alloc_bucket(t, a->tp, (struct sockaddr *)&a->client,
			    (struct sockaddr *)&a->local);
			next = a->hnext;
			a->hnext = t->buckets[b];
			t->buckets[b] = a;
		}
	free(old);
}

/* A new, empty allocation on this 5-tuple (the caller checked there was none). */
struct alloc *
alloc_insert(struct alloc_table *t, enum transport tp, const struct sockaddr *client,
    const struct sockaddr *local)
{
	struct alloc *a = xcalloc(1, sizeof(*a));
	size_t b;

	if (t->count >= t->nbuckets)
		alloc_grow(t);
	a->tp = tp;
	memcpy(&a->client, client, addr_len(client));
	memcpy(&a->local, local, addr_len(local));
	b = alloc_bucket(t, tp, client, local);
	a->hnext = t->buckets[b];
	t->buckets[b] = a;
	t->count++;
	return a;
}

/* Take an allocation out of the table; freeing it is the caller's (server.c owns the destructor). */
void
alloc_unlink(struct alloc_table *t, struct alloc *a)
{
	struct alloc **pp = &t->buckets[alloc_bucket(t, a->tp,
	    (struct sockaddr *)&a->client, (struct sockaddr *)&a->local)];

	for (; *pp != NULL; pp = &(*pp)->hnext)
		if (*pp == a) {
			*pp = a->hnext;
			t->count--;
			return;
		}
}

/* The IP of an address, as permissions key it. */
void
peer_ip_from(struct peer_ip *p, const struct sockaddr *sa)
{
	memset(p, 0, sizeof(*p));
	p->family = (uint8_t)sa->sa_family;
	if (sa->sa_family == AF_INET6)
		memcpy(p->ip, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
	else
		memcpy(p->ip, &((const struct sockaddr_in *)sa)->sin_addr, 4);
}

/* Take len bytes from a bucket refilled at rate bytes/s (burst: one second); false drops. */
bool
bucket_take(struct bucket *b, uint64_t rate, uint64_t now_ms, size_t len)
{
	if (rate == 0)
		return true;
	if (now_ms > b->last_ms) {
		b->tokens += (now_ms - b->last_ms) * rate / 1000;
		if (b->tokens > rate)
			b->tokens = rate;
		b->last_ms = now_ms;
	}
	if (b->tokens < len)
		return false;
	b->tokens -= len;
	return true;
}
