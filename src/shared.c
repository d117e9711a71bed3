/* shared.c: the process-wide TURN state, built from the config before the workers start. */
#include <sys/socket.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "auth.h"
#include "config.h"
#include "log.h"
#include "server.h"
#include "shared.h"
#include "turn.h"

/* Add an IP (port 0) to a list unless it is there already. */
static void
ip_add(struct sockaddr_storage *list, unsigned *n, unsigned max, const struct sockaddr *sa)
{
	struct sockaddr_storage ss;
	unsigned i;

	memset(&ss, 0, sizeof(ss));
	memcpy(&ss, sa, addr_len(sa));
	addr_set_port((struct sockaddr *)&ss, 0);
	for (i = 0; i < *n; i++)
		if (addr_equal((struct sockaddr *)&list[i], (struct sockaddr *)&ss))
			return;
	if (*n < max)
		list[(*n)++] = ss;
}

/* Relay IPs: as configured, else every listen address that is not a wildcard. */
static unsigned
relay_ips(const struct config *cfg, struct sockaddr_storage *ips, unsigned max)
{
	const struct addr_list *l = cfg->relay_ip.n > 0 ? &cfg->relay_ip : &cfg->listen;
	unsigned i, n = 0;

	for (i = 0; i < l->n; i++)
		if (!addr_is_any((const struct sockaddr *)&l->addr[i]))
			ip_add(ips, &n, max, (const struct sockaddr *)&l->addr[i]);
	return n;
}

/* Listener k of all: the listen addresses, then the TLS ones, then the metrics ones. */
static const struct sockaddr_storage *
listener_at(const struct config *cfg, unsigned k)
{
	if (k < cfg->listen.n)
		return &cfg->listen.addr[k];
	k -= cfg->listen.n;
	if (k < cfg->tls_listen.n)
		return &cfg->tls_listen.addr[k];
	return &cfg->metrics_listen.addr[k - cfg->tls_listen.n];
}

/* Our own addresses for the policy: relay, external, every listener's, and every interface's when we listen on a wildcard. */
static void
policy_own(const struct config *cfg, const struct sockaddr_storage *relays, unsigned nrelay,
    struct policy *p)
{
	struct ifaddrs *ifa, *i;
	bool wildcard = false;
	unsigned k;

	for (k = 0; k < nrelay; k++)
		ip_add(p->own, &p->nown, POLICY_MAX_OWN, (const struct sockaddr *)&relays[k]);
	for (k = 0; k < cfg->nexternal; k++)
		ip_add(p->own, &p->nown, POLICY_MAX_OWN,
		    (const struct sockaddr *)&cfg->external[k].public);
	for (k = 0; k < cfg->listen.n + cfg->tls_listen.n + cfg->metrics_listen.n; k++) {
		const struct sockaddr *sa = (const struct sockaddr *)listener_at(cfg, k);
		if (addr_is_any(sa))
			wildcard = true;
		else
			ip_add(p->own, &p->nown, POLICY_MAX_OWN, sa);
		if (p->nlisteners < POLICY_MAX_OWN)
			memcpy(&p->listeners[p->nlisteners++], sa, addr_len(sa));
	}
	for (k = 0; cfg->rfc5780 && k < 4; k++) {
		const struct sockaddr *sa = (const struct sockaddr *)&cfg->nat_addr[k / 2][k % 2];
		ip_add(p->own, &p->nown, POLICY_MAX_OWN, sa);
		if (p->nlisteners < POLICY_MAX_OWN)
			memcpy(&p->listeners[p->nlisteners++], sa, addr_len(sa));
	}
	if (!wildcard || getifaddrs(&ifa) != 0)
		return;
	for (i = ifa; i != NULL; i = i->ifa_next)
		if (i->ifa_addr != NULL && (i->ifa_addr->sa_family == AF_INET ||
		    i->ifa_addr->sa_family == AF_INET6))
			ip_add(p->own, &p->nown, POLICY_MAX_OWN, i->ifa_addr);
	freeifaddrs(ifa);
}

/*
 * Put a new credential store in place (SIGHUP) and return the old one. The
 * caller frees the old one only after every worker has passed a point
 * where it holds no reference (worker_sync).
 */
struct auth *
shared_swap_auth(struct turn_shared *sh, struct auth *auth)
{
	return __atomic_exchange_n(&sh->auth, auth, __ATOMIC_ACQ_REL);
}

/*
 * Is this one of our relay sockets? A peer may name it by its advertised
 * (external) address, so that is mapped back to the bound one first.
 */
static bool
shared_relay_in_use(const void *arg, const struct sockaddr *sa)
{
	const struct turn_shared *sh = arg;
	const struct config *cfg = sh->cfg;
	struct sockaddr_storage pub, priv;
	unsigned i, k;

	if (ports_in_use(sh->ports, sa))
		return true;
	memset(&pub, 0, sizeof(pub));
	memcpy(&pub, sa, addr_len(sa));
	addr_set_port((struct sockaddr *)&pub, 0);
	for (i = 0; i < cfg->nexternal; i++) {
		if (!addr_equal((const struct sockaddr *)&cfg->external[i].public,
		    (struct sockaddr *)&pub))
			continue;
		for (k = 0; k < CONFIG_MAX_ADDRS; k++) {
			if (cfg->external[i].private.ss_family != AF_UNSPEC) {
				if (k > 0)
					break;
				priv = cfg->external[i].private;
			} else if (k < cfg->relay_ip.n)
				priv = cfg->relay_ip.addr[k];
			else
				break;
			addr_set_port((struct sockaddr *)&priv, addr_port(sa));
			if (ports_in_use(sh->ports, (struct sockaddr *)&priv))
				return true;
		}
	}
	return false;
}

/* Build everything the workers share; on error, *cause says why. */
int
shared_build(const struct config *cfg, struct turn_shared *sh, char **cause)
{
	struct sockaddr_storage ips[CONFIG_MAX_ADDRS];
	unsigned n;

	memset(sh, 0, sizeof(*sh));
	if ((sh->auth = auth_new(cfg, cause)) == NULL)
		return -1;
	n = relay_ips(cfg, ips, CONFIG_MAX_ADDRS);
	if (n == 0)
		log_warnx("no relay address (set relay_ip, or listen on a specific "
		    "address): Allocate requests will fail with 440");
	sh->ports = ports_new(ips, n, cfg->relay_port_min, cfg->relay_port_max);
	sh->quota = quota_new(cfg->user_quota, cfg->total_quota);
	policy_init(&sh->policy);
	memcpy(sh->policy.allow, cfg->allow_peer.cidr, sizeof(sh->policy.allow));
	sh->policy.nallow = cfg->allow_peer.n;
	memcpy(sh->policy.deny, cfg->deny_peer.cidr, sizeof(sh->policy.deny));
	sh->policy.ndeny = cfg->deny_peer.n;
	sh->policy.relay_min = (uint16_t)cfg->relay_port_min;
	sh->policy.relay_max = (uint16_t)cfg->relay_port_max;
	sh->cfg = cfg;
	sh->policy.relay_in_use = shared_relay_in_use;
	sh->policy.relay_arg = sh;
	policy_own(cfg, ips, n, &sh->policy);
	if (cfg->nusers == 0 && cfg->nsecrets == 0)
		log_info("no user or secret configured: TURN requests will get 401");
	return 0;
}

/* Free what shared_build made. */
void
shared_free(struct turn_shared *sh)
{
	auth_free(sh->auth);
	ports_free(sh->ports);
	quota_free(sh->quota);
	memset(sh, 0, sizeof(*sh));
}
