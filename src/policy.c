/* policy.c: the only peer address policy: own ports, configured lists, then the reserved ranges. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "policy.h"

/*
 * Denied unless the allow list says otherwise (CVE-2020-26262 taught that
 * every IPv4 address has IPv6 spellings: they are all here).
 */
static const char *const default_deny[] = {
	"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8",
	"169.254.0.0/16", "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24",
	"192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24",
	"203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
	"::/128", "::1/128",
	"::/96",		/* IPv4-compatible */
	"::ffff:0:0/96",	/* IPv4-mapped */
	"::ffff:0:0:0/96",	/* IPv4-translated */
	"64:ff9b::/96", "64:ff9b:1::/48",	/* NAT64 */
	"100::/64",		/* discard-only */
	"2001::/32",		/* Teredo */
	"2001:db8::/32", "3fff::/20",	/* documentation */
	"2002::/16",		/* 6to4 */
	"fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8",
};

#define NDEFAULT	(sizeof(default_deny) / sizeof(default_deny[0]))

/* Parse "a.b.c.d/n", "v6/n" or a bare address (a host prefix). */
int
cidr_parse(const char *s, struct cidr *c)
{
	char buf[64], *slash, *end;
	long bits;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	memset(c, 0, sizeof(*c));
	if ((slash = strchr(buf, '/')) != NULL)
		*slash = '\0';
	if (inet_pton(AF_INET, buf, c->addr) == 1)
		c->family = AF_INET;
	else if (inet_pton(AF_INET6, buf, c->addr) == 1)
		c->family = AF_INET6;
	else
		return -EINVAL;
	c->bits = c->family == AF_INET ? 32 : 128;
	if (slash != NULL) {
		bits = strtol(slash + 1, &end, 10);
		if (slash[1] == '\0' || *end != '\0' || bits < 0 || bits > (long)c->bits)
			return -EINVAL;
		c->bits = (unsigned)bits;
	}
	return 0;
}

/* The raw address bytes of a sockaddr. */
static const uint8_t *
sa_bytes(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr;
	return (const uint8_t *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
}

/* Does the address fall in the prefix? Families must match. */
bool
cidr_match(const struct cidr *c, const struct sockaddr *sa)
{
	const uint8_t *a;
	unsigned full, rest;

	if (sa->sa_family != c->family)
		return false;
	a = sa_bytes(sa);
	full = c->bits / 8;
	rest = c->bits % 8;
	if (memcmp(a, c->addr, full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((a[full] ^ c->addr[full]) & (0xff << (8 - rest))) == 0;
}

/* Is the address in any of the n prefixes? */
static bool
cidr_any(const struct cidr *list, unsigned n, const struct sockaddr *sa)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (cidr_match(&list[i], sa))
			return true;
	return false;
}

/* Parse the default deny list once; every verdict then compares bytes only. */
void
policy_init(struct policy *p)
{
	size_t i;

	p->nreserved = 0;
	for (i = 0; i < NDEFAULT && i < POLICY_MAX_CIDRS; i++)
		if (cidr_parse(default_deny[i], &p->reserved[p->nreserved]) == 0)
			p->nreserved++;
}

/* Same IP, ignoring ports? */
static bool
same_ip(const struct sockaddr *a, const struct sockaddr *b)
{
	if (a->sa_family != b->sa_family)
		return false;
	return memcmp(sa_bytes(a), sa_bytes(b), a->sa_family == AF_INET ? 4 : 16) == 0;
}

/* Is this one of our own IPs (relay, external or listen address)? */
bool
policy_is_own(const struct policy *p, const struct sockaddr *sa)
{
	unsigned i;

	for (i = 0; i < p->nown; i++)
		if (same_ip((const struct sockaddr *)&p->own[i], sa))
			return true;
	return false;
}

/* Is this one of our listener sockets (a wildcard listener matches each of our own IPs)? */
static bool
policy_is_listener(const struct policy *p, const struct sockaddr *sa)
{
	unsigned i;

	for (i = 0; i < p->nlisteners; i++) {
		const struct sockaddr *l = (const struct sockaddr *)&p->listeners[i];

		if (l->sa_family != sa->sa_family || addr_port(l) != addr_port(sa))
			continue;
		if (same_ip(l, sa) || (addr_is_any(l) && policy_is_own(p, sa)))
			return true;
	}
	return false;
}

/*
 * May we relay to this peer? In order: our listener ports never; our own
 * relay sockets always (relay to relay through one server is the common
 * case, even when that address is private); the deny list; the allow
 * list; any other port on our own addresses never (another program's
 * socket in the relay port range included: the relay range overlaps the
 * kernel's ephemeral ports); then the reserved and private ranges.
 */
enum policy_verdict
policy_check_peer(const struct policy *p, const struct sockaddr *sa)
{
	uint16_t port = addr_port(sa);
	bool own;

	if (sa->sa_family != AF_INET && sa->sa_family != AF_INET6)
		return POLICY_DENY_DEFAULT;
	if (policy_is_listener(p, sa))
		return POLICY_DENY_LISTENER;
	own = policy_is_own(p, sa);
	if (own && port >= p->relay_min && port <= p->relay_max &&
	    (p->relay_in_use == NULL || p->relay_in_use(p->relay_arg, sa)))
		return POLICY_ALLOW;
	if (cidr_any(p->deny, p->ndeny, sa))
		return POLICY_DENY_LIST;
	if (cidr_any(p->allow, p->nallow, sa))
		return POLICY_ALLOW;
	if (own)
		return POLICY_DENY_OWN;
	if (port == 0 || cidr_any(p->reserved, p->nreserved, sa))
		return POLICY_DENY_DEFAULT;
	return POLICY_ALLOW;
}

/* A verdict's name, for logs. */
const char *
policy_verdict_name(enum policy_verdict v)
{
	switch (v) {
	case POLICY_ALLOW: return "allowed";
	case POLICY_DENY_LISTENER: return "a listener of this server";
	case POLICY_DENY_LIST: return "in deny_peer";
	case POLICY_DENY_OWN: return "this server's address, not one of its relays";
	default: return "a reserved or private range";
	}
}
