/* metrics.h: the Prometheus metrics page (metrics_listen), served by main's loop. */
#ifndef MINIRTC_METRICS_H
#define MINIRTC_METRICS_H

#include <stdint.h>

struct config;
struct event_base;
struct metrics;
struct worker;

/* What the page reads: the workers' published counters, and main's own. */
struct metrics_src {
	struct worker	**workers;
	unsigned	 nworkers;
	const unsigned	*open;		/* atomic: TCP and TLS connections open */
	const uint64_t	*refused;	/* main's: closed at accept (max_connections) */
};

struct metrics	*metrics_new(struct event_base *, const struct config *,
		    const struct metrics_src *, char **);
void		 metrics_free(struct metrics *);

#endif
