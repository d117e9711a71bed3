/* worker.h: worker threads, each with its own event_base, sockets and protocol state. */
#ifndef MINIRTC_WORKER_H
#define MINIRTC_WORKER_H

#include <sys/socket.h>

struct config;
struct stats;
struct worker;

struct worker	*worker_new(unsigned, const struct config *);
void		 worker_start(struct worker *);
void		 worker_hand_off(struct worker *, int, const struct sockaddr *);
void		 worker_stop(struct worker *);
void		 worker_free(struct worker *);
const struct stats *worker_stats(const struct worker *);

#endif
