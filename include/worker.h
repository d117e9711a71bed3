/* worker.h: worker threads, each with its own event_base, sockets and protocol state. */
#ifndef MINIRTC_WORKER_H
#define MINIRTC_WORKER_H

#include <sys/socket.h>

struct config;
struct stats;
struct worker;

struct turn_shared;

struct worker	*worker_new(unsigned, const struct config *, struct turn_shared *);
void		 worker_start(struct worker *);
void		 worker_hand_off(struct worker *, int, const struct sockaddr *);
void		 worker_stop(struct worker *);
void		 worker_free(struct worker *, struct stats *);

#endif
