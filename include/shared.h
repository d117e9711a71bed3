/* shared.h: building the process-wide TURN state (credentials, port pool, quotas, peer policy). */
#ifndef MINIRTC_SHARED_H
#define MINIRTC_SHARED_H

struct auth;
struct config;
struct turn_shared;

int		 shared_build(const struct config *, struct turn_shared *, char **);
struct auth	*shared_swap_auth(struct turn_shared *, struct auth *);
void		 shared_free(struct turn_shared *);

#endif
