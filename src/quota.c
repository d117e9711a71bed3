/* quota.c: allocation quotas shared by all workers: per user (486) and in total (508). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "turn.h"
#include "xmalloc.h"

#define QUOTA_BUCKETS	4096

struct quota_user {
	struct quota_user	*next;
	unsigned		 count;
	char			 name[];
};

/* Locked: taken when allocations are made or freed, never per packet. */
struct quota {
	pthread_mutex_t		 lock;
	int			 per_user;	/* 0: no limit */
	int			 total_max;	/* 0: no limit */
	unsigned		 total;
	struct quota_user	*buckets[QUOTA_BUCKETS];
};

/* Limits of 0 mean none. */
struct quota *
quota_new(int per_user, int total_max)
{
	struct quota *q = xcalloc(1, sizeof(*q));

	pthread_mutex_init(&q->lock, NULL);
	q->per_user = per_user;
	q->total_max = total_max;
	return q;
}

/* Free the quota table. */
void
quota_free(struct quota *q)
{
	struct quota_user *u, *next;
	size_t i;

	if (q == NULL)
		return;
	for (i = 0; i < QUOTA_BUCKETS; i++)
		for (u = q->buckets[i]; u != NULL; u = next) {
			next = u->next;
			free(u);
		}
	pthread_mutex_destroy(&q->lock);
	free(q);
}

/* The bucket head for a user name. */
static struct quota_user **
do_slot(struct quota *q, const char *name)
{
	uint64_t h = 0xcbf29ce484222325ull;
	const char *s;

	for (s = name; *s != '\0'; s++)
		h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
	return &q->buckets[h % QUOTA_BUCKETS];
}

/* Count one allocation for a user: 0, or 486 (user quota) or 508 (total). */
int
quota_take(struct quota *q, const char *name)
{
	struct quota_user **slot, *u;
	int rc = 0;

	pthread_mutex_lock(&q->lock);
	slot = do_slot(q, name);
	for (u = *slot; u != NULL && strcmp(u->name, name) != 0; u = u->next)
		;
	if (q->total_max > 0 && q->total >= (unsigned)q->total_max)
		rc = 508;
	else if (q->per_user > 0 && u != NULL && u->count >= (unsigned)q->per_user)
		rc = 486;
	else {
		if (u == NULL) {
			u = xcalloc(1, sizeof(*u) + strlen(name) + 1);
			strcpy(u->name, name);
			u->next = *slot;
			*slot = u;
		}
		u->count++;
		q->total++;
	}
	pthread_mutex_unlock(&q->lock);
	return rc;
}

/* Uncount one allocation; a user at zero is forgotten. */
void
quota_release(struct quota *q, const char *name)
{
	struct quota_user **pp, *u;

	pthread_mutex_lock(&q->lock);
	for (pp = do_slot(q, name); (u = *pp) != NULL; pp = &u->next)
		if (strcmp(u->name, name) == 0) {
			q->total--;
			if (--u->count == 0) {
				*pp = u->next;
				free(u);
			}
			break;
		}
	pthread_mutex_unlock(&q->lock);
}
