/* xmalloc.c: control-plane allocation wrappers; the data plane never calls these on peer input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "xmalloc.h"

/* Zeroed array of n objects of size sz. */
void *
xcalloc(size_t n, size_t sz)
{
	void *p;

	if (n == 0 || sz == 0)
		n = sz = 1;
	if ((p = calloc(n, sz)) == NULL)
		fatal("calloc %zu x %zu", n, sz);
	return p;
}

/* Resize to n objects of size sz, checking the multiplication. */
void *
xreallocarray(void *old, size_t n, size_t sz)
{
	void *p;

	if (sz != 0 && n > SIZE_MAX / sz)
		fatalx("xreallocarray: %zu x %zu overflows", n, sz);
	if ((p = realloc(old, n * sz == 0 ? 1 : n * sz)) == NULL)
		fatal("realloc %zu x %zu", n, sz);
	return p;
}

/* Copy a string. */
char *
xstrdup(const char *s)
{
	char *p;

	if ((p = strdup(s)) == NULL)
		fatal("strdup");
	return p;
}
