/* privdrop.h: run as an unprivileged user once every socket is bound (run_as). */
#ifndef MINIRTC_PRIVDROP_H
#define MINIRTC_PRIVDROP_H

#include <sys/types.h>
#include <stdbool.h>

struct privdrop {
	bool	 active;	/* run_as was set */
	uid_t	 uid;
	gid_t	 gid;
	char	 name[64];	/* the user, for initgroups and the log */
};

int	privdrop_resolve(const char *, struct privdrop *, char **);
void	privdrop_apply(const struct privdrop *);

#endif
