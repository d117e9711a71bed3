/* perm.c: permissions of one allocation: peer IPs that may send to it, each with a lifetime. */
#include <errno.h>
#include <string.h>

#include "turn.h"
#include "xmalloc.h"

/* Same family and IP? */
static bool
peer_ip_eq(const struct peer_ip *a, const struct peer_ip *b)
{
	return a->family == b->family && memcmp(a->ip, b->ip, 16) == 0;
}

/* Install or refresh a permission; -ENOSPC beyond max per allocation. */
int
perm_install(struct alloc *a, const struct peer_ip *peer, bool own, uint64_t now_ms,
    unsigned max)
{
	unsigned i;

	for (i = 0; i < a->nperms; i++)
		if (peer_ip_eq(&a->perms[i].peer, peer)) {
			a->perms[i].expires_ms = now_ms + PERM_LIFETIME_MS;
			return 0;
		}
	if (a->nperms >= max)
		return -ENOSPC;
	a->perms = xreallocarray(a->perms, a->nperms + 1, sizeof(*a->perms));
	a->perms[a->nperms].peer = *peer;
	a->perms[a->nperms].own = own;
	a->perms[a->nperms].expires_ms = now_ms + PERM_LIFETIME_MS;
	a->nperms++;
	return 0;
}

/* Is there a permission (live or not yet swept) for this IP? */
bool
perm_has(const struct alloc *a, const struct peer_ip *peer)
{
	unsigned i;

	for (i = 0; i < a->nperms; i++)
		if (peer_ip_eq(&a->perms[i].peer, peer))
			return true;
	return false;
}

/* The live permission for this peer IP, or NULL. */
const struct perm *
perm_find(const struct alloc *a, const struct peer_ip *peer, uint64_t now_ms)
{
	unsigned i;

	for (i = 0; i < a->nperms; i++)
		if (peer_ip_eq(&a->perms[i].peer, peer))
			return a->perms[i].expires_ms > now_ms ? &a->perms[i] : NULL;
	return NULL;
}

/* May this peer IP talk through the allocation now? */
bool
perm_valid(const struct alloc *a, const struct peer_ip *peer, uint64_t now_ms)
{
	return perm_find(a, peer, now_ms) != NULL;
}

/* Drop expired permissions (order does not matter, so swap with the last). */
void
perm_expire(struct alloc *a, uint64_t now_ms)
{
	unsigned i = 0;

	while (i < a->nperms) {
		if (a->perms[i].expires_ms <= now_ms)
			a->perms[i] = a->perms[--a->nperms];
		else
			i++;
	}
}
