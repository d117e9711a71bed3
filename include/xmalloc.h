/* xmalloc.h: control-plane allocation that aborts on failure or overflow. */
#ifndef MINIRTC_XMALLOC_H
#define MINIRTC_XMALLOC_H

#include <stddef.h>

void	*xcalloc(size_t, size_t);
void	*xreallocarray(void *, size_t, size_t);
char	*xstrdup(const char *);

#endif
