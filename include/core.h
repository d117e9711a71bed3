/* core.h: the core's per-worker state, shared by server.c and the TURN method files only. */
#ifndef MINIRTC_CORE_H
#define MINIRTC_CORE_H

#include "server.h"
#include "turn.h"

/* Per-worker protocol state; the worker owns it, so nothing here is locked. */
struct server {
	const struct config	*cfg;
	struct turn_shared	*shared;
	struct server_io	 io;
	struct stats		*stats;
	struct alloc_table	 allocs;
	uint64_t		 txid_state;	/* for Data indication transaction IDs */
	uint64_t		 now_ms;	/* the latest time the shell told the core */
};

/* Why an allocation ended, for the allocation log. */
enum alloc_end {
	ALLOC_END_DELETED,	/* Refresh with lifetime 0 */
	ALLOC_END_EXPIRED,
	ALLOC_END_CLOSED,	/* its TCP or TLS connection closed */
	ALLOC_END_FAILED,	/* its relays could not be opened */
	ALLOC_END_SHUTDOWN,
};

void	server_alloc_free(struct server *, struct alloc *, enum alloc_end);
int	turn_auth(struct request *, struct auth_result *);

#endif
