/*
 * privdrop.c: become the run_as user ("user" or "user:group") after the
 * listeners are bound, the TLS key is read and the log is open, and before
 * any worker thread exists, so every thread runs with the same credentials.
 * The user is looked up at start, before any fork, so that a typo stops
 * turnd on the terminal.
 */
#include <sys/types.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "privdrop.h"

/* Set *cause and return -1. */
static int
privdrop_fail(char **cause, const char *what, const char *name)
{
	if (asprintf(cause, "run_as: %s: %s", name, what) < 0)
		*cause = NULL;
	return -1;
}

/* Look the user (and group) up; spec "" leaves pd inactive. */
int
privdrop_resolve(const char *spec, struct privdrop *pd, char **cause)
{
	char user[64], *group;
	struct passwd *pw;
	struct group *gr;

	memset(pd, 0, sizeof(*pd));
	*cause = NULL;
	if (spec == NULL || spec[0] == '\0')
		return 0;
	if (strlen(spec) >= sizeof(user))
		return privdrop_fail(cause, "too long", spec);
	memcpy(user, spec, strlen(spec) + 1);
	if ((group = strchr(user, ':')) != NULL)
		*group++ = '\0';
	if ((pw = getpwnam(user)) == NULL)
		return privdrop_fail(cause, "no such user", user);
	pd->uid = pw->pw_uid;
	pd->gid = pw->pw_gid;
	if (group != NULL) {
		if ((gr = getgrnam(group)) == NULL)
			return privdrop_fail(cause, "no such group", group);
		pd->gid = gr->gr_gid;
	}
	if (pd->uid == 0)
		return privdrop_fail(cause, "is root: nothing would be dropped", user);
	if (geteuid() != 0)
		return privdrop_fail(cause, "needs turnd to start as root", user);
	memcpy(pd->name, user, strlen(user) + 1);
	pd->active = true;
	return 0;
}

/* Drop to the user for good: groups, then group, then user; make sure root cannot come back. */
void
privdrop_apply(const struct privdrop *pd)
{
	if (!pd->active)
		return;
	if (initgroups(pd->name, pd->gid) != 0)
		fatal("run_as %s: initgroups", pd->name);
	if (setresgid(pd->gid, pd->gid, pd->gid) != 0)
		fatal("run_as %s: setresgid", pd->name);
	if (setresuid(pd->uid, pd->uid, pd->uid) != 0)
		fatal("run_as %s: setresuid", pd->name);
	if (setuid(0) == 0 || geteuid() == 0)
		fatalx("run_as %s: root could be regained; stopping", pd->name);
	log_info("running as %s (uid %u, gid %u)", pd->name, (unsigned)pd->uid,
	    (unsigned)pd->gid);
}
