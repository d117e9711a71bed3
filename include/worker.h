/* worker.h: worker threads, each with its own event_base, sockets and protocol state. */
#ifndef MINIRTC_WORKER_H
#define MINIRTC_WORKER_H

#include <sys/socket.h>
#include <stdbool.h>
#include <stddef.h>

struct config;
struct stats;
struct worker;

struct turn_shared;
typedef struct ssl_ctx_st SSL_CTX;

struct worker	*worker_new(unsigned, const struct config *, struct turn_shared *, SSL_CTX *,
		    unsigned *);
void		 worker_start(struct worker *);
void		 worker_hand_off(struct worker *, int, const struct sockaddr *, bool);
int		 worker_sync(struct worker *, SSL_CTX *);
void		 worker_snapshot(struct worker *, struct stats *, size_t *);
void		 worker_stop(struct worker *);
void		 worker_free(struct worker *, struct stats *);

#endif
