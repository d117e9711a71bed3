/* turn.h: TURN state inside the core: allocations, permissions, channels, relay ports, quotas (no I/O). */
#ifndef MINIRTC_TURN_H
#define MINIRTC_TURN_H

#include <sys/socket.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server.h"

#define PERM_LIFETIME_MS	(300 * 1000)	/* RFC 8656 section 9 */
#define CHAN_LIFETIME_MS	(600 * 1000)	/* RFC 8656 section 12 */
#define RESERVATION_MS		(30 * 1000)	/* RFC 8656 section 7.2: about 30 s */
#define ALLOC_RELAYS		2		/* IPv4 and IPv6 (dual allocation) */

/* A peer IP (permissions ignore the port, RFC 8656 section 9). */
struct peer_ip {
	uint8_t		 family;
	uint8_t		 ip[16];
};

struct perm {
	struct peer_ip	 peer;
	bool		 own;		/* one of this server's IPs: ports still matter */
	uint64_t	 expires_ms;
};

struct chan {
	struct peer_ip	 peer;
	uint16_t	 port;
	uint16_t	 number;
	uint64_t	 expires_ms;
};

/* One relayed address of an allocation. */
struct relay {
	void			*handle;	/* the shell's socket */
	struct sockaddr_storage	 bound;		/* what the socket is bound to */
	struct sockaddr_storage	 advertised;	/* what XOR-RELAYED-ADDRESS says (external IP) */
	int			 ipidx;		/* relay IP index in the port pool */
};

/* A token bucket, for the optional per-allocation bandwidth limit. */
struct bucket {
	uint64_t	 tokens;
	uint64_t	 last_ms;
};

/* One allocation, owned by the worker whose listener received its Allocate. */
struct alloc {
	struct alloc		*hnext;		/* 5-tuple hash chain */
	enum transport		 tp;
	struct sockaddr_storage	 client;
	struct sockaddr_storage	 local;
	void			*conn;		/* the shell's listener or stream */
	char			*username;
	char			*quota_id;
	uint64_t		 expires_ms;
	struct relay		 relay[ALLOC_RELAYS];
	unsigned		 nrelay;
	struct perm		*perms;
	unsigned		 nperms;
	struct chan		*chans;
	unsigned		 nchans;
	uint8_t			 last_txid[STUN_TXID_LEN];	/* Allocate retransmissions */
	uint8_t			*last_resp;
	uint16_t		 last_resp_len;
	struct bucket		 up;		/* client -> peer */
	struct bucket		 down;		/* peer -> client */
	uint64_t		 created_ms;	/* for the allocation log */
	uint64_t		 up_pkts, up_bytes;	/* relayed client -> peer */
	uint64_t		 down_pkts, down_bytes;	/* relayed peer -> client */
};

/* The per-worker allocation table. */
struct alloc_table {
	struct alloc	**buckets;
	size_t		 nbuckets;
	size_t		 count;
};

/* alloc.c */
void		 alloc_table_init(struct alloc_table *);
struct alloc	*alloc_find(const struct alloc_table *, enum transport,
		    const struct sockaddr *, const struct sockaddr *);
struct alloc	*alloc_insert(struct alloc_table *, enum transport,
		    const struct sockaddr *, const struct sockaddr *);
void		 alloc_unlink(struct alloc_table *, struct alloc *);
void		 peer_ip_from(struct peer_ip *, const struct sockaddr *);
bool		 bucket_take(struct bucket *, uint64_t, uint64_t, size_t);

/* perm.c */
int		 perm_install(struct alloc *, const struct peer_ip *, bool, uint64_t, unsigned);
const struct perm *perm_find(const struct alloc *, const struct peer_ip *, uint64_t);
bool		 perm_has(const struct alloc *, const struct peer_ip *);
bool		 perm_valid(const struct alloc *, const struct peer_ip *, uint64_t);
void		 perm_expire(struct alloc *, uint64_t);

/* chan.c */
struct chan	*chan_by_number(const struct alloc *, uint16_t);
struct chan	*chan_by_peer(const struct alloc *, const struct sockaddr *);
int		 chan_bind(struct alloc *, uint16_t, const struct sockaddr *, uint64_t);
void		 chan_expire(struct alloc *, uint64_t);
void		 chan_peer_addr(const struct chan *, struct sockaddr_storage *);

/* ports.c: shared by all workers, locked (allocation time only) */
struct ports;
struct ports	*ports_new(const struct sockaddr_storage *, unsigned, int, int);
void		 ports_free(struct ports *);
int		 ports_take(struct ports *, int, bool, bool, int *, uint16_t *, uint8_t *);
int		 ports_take_reserved(struct ports *, const uint8_t *, uint64_t, int *,
		    uint16_t *);
void		 ports_release(struct ports *, int, uint16_t);
void		 ports_set_now(struct ports *, uint64_t);
const struct sockaddr *ports_ip(const struct ports *, int);
bool		 ports_has_family(const struct ports *, int);
bool		 ports_in_use(const void *, const struct sockaddr *);

/* quota.c: shared by all workers, locked (allocation time only) */
struct quota;
struct quota	*quota_new(int, int);
void		 quota_free(struct quota *);
int		 quota_take(struct quota *, const char *);
void		 quota_release(struct quota *, const char *);

#endif
