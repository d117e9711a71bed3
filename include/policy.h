/* policy.h: the one function that decides whether a peer address may be relayed to. */
#ifndef MINIRTC_POLICY_H
#define MINIRTC_POLICY_H

#include <sys/socket.h>
#include <stdbool.h>
#include <stdint.h>

#define POLICY_MAX_CIDRS	64
#define POLICY_MAX_OWN		64

/* An IPv4 or IPv6 prefix; IPv4 is kept as IPv4, never as a mapped IPv6 address. */
struct cidr {
	int		family;
	uint8_t		addr[16];
	unsigned	bits;
};

/* Everything the decision depends on; built from the config at startup, then read-only. */
struct policy {
	struct cidr		 allow[POLICY_MAX_CIDRS];
	unsigned		 nallow;
	struct cidr		 deny[POLICY_MAX_CIDRS];
	unsigned		 ndeny;
	struct sockaddr_storage	 listeners[POLICY_MAX_OWN];	/* our listener addr:port */
	unsigned		 nlisteners;
	struct sockaddr_storage	 own[POLICY_MAX_OWN];		/* our IPs: relay, external, listen */
	unsigned		 nown;
	uint16_t		 relay_min;
	uint16_t		 relay_max;
	struct cidr		 reserved[POLICY_MAX_CIDRS];	/* the default deny list, parsed */
	unsigned		 nreserved;
	/* Is this our own relay socket now? (the port pool answers; NULL: any
	 * port of the relay range counts) */
	bool			 (*relay_in_use)(const void *, const struct sockaddr *);
	const void		*relay_arg;
};

enum policy_verdict {
	POLICY_ALLOW,
	POLICY_DENY_LISTENER,	/* one of our own listener ports */
	POLICY_DENY_LIST,	/* the configured deny list */
	POLICY_DENY_OWN,	/* our own address, outside the relay port range */
	POLICY_DENY_DEFAULT,	/* a reserved, private or special-purpose range */
};

void			 policy_init(struct policy *);
int			 cidr_parse(const char *, struct cidr *);
bool			 cidr_match(const struct cidr *, const struct sockaddr *);
bool			 policy_is_own(const struct policy *, const struct sockaddr *);
enum policy_verdict	 policy_check_peer(const struct policy *, const struct sockaddr *);
const char		*policy_verdict_name(enum policy_verdict);

#endif
