/* metrics.h: the Prometheus metrics page (metrics_listen), served by main's loop. */
#ifndef MINIRTC_METRICS_H
#define MINIRTC_METRICS_H

struct config;
struct event_base;
struct metrics;
struct worker;

struct metrics	*metrics_new(struct event_base *, const struct config *, struct worker **,
		    unsigned, char **);
void		 metrics_free(struct metrics *);

#endif
