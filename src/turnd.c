/* turnd.c: main: flags, config load, -n configtest, daemonize, workers, TCP acceptor, signals. */
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "addr.h"
#include "auth.h"
#include "config.h"
#include "listen.h"
#include "log.h"
#include "metrics.h"
#include "privdrop.h"
#include "server.h"
#include "shared.h"
#include "stats.h"
#include "tls.h"
#include "worker.h"
#include "xmalloc.h"

#define MAX_ARGS	256

struct args;
struct turnd;

/* What a listener's callback needs: the daemon, and whether it is TLS. */
struct acceptor {
	struct turnd	*t;
	bool		 tls;
};

/* What main owns while running. */
struct turnd {
	const struct args	*args;		/* to read the configuration again (SIGHUP) */
	const struct config	*cfg;
	struct turn_shared	 shared;
	struct event_base	*base;
	struct worker		**workers;
	unsigned		 nworkers;
	unsigned		 next;		/* round-robin for TCP hand-off */
	struct evconnlistener	*tcp[2 * CONFIG_MAX_ADDRS];	/* TCP, then TLS */
	struct acceptor		 acc[2];	/* [0] TCP, [1] TLS */
	unsigned		 ntcp;
	SSL_CTX			*tls;		/* NULL without tls_listen */
	struct privdrop		 drop;		/* run_as */
	struct metrics		*metrics;	/* NULL without metrics_listen */
	unsigned		 open;		/* atomic: TCP and TLS connections open */
	uint64_t		 refused;	/* connections closed at accept: max_connections */
	int			 start_dir;	/* where relative paths point (a daemon moves to /) */
	struct event		*sig[3];
};

/* The command line, split into our flags and config overrides. */
struct args {
	const char		*config_path;
	int			 foreground;
	int			 configtest;
	int			 verbose;
	struct config_arg	 opts[MAX_ARGS];
	unsigned		 nopts;
};

static void __attribute__((noreturn))
usage(int status)
{
	FILE *f = status == 0 ? stdout : stderr;

	fprintf(f, "usage: turnd [-fnv] [-c file] [--option value ...]\n"
	    "  -c file     read this configuration file (default: none, built-in defaults)\n"
	    "  -f          stay in the foreground, log to stderr\n"
	    "  -n          check the configuration and exit\n"
	    "  -v          more log detail (repeatable)\n"
	    "  -h          this help\n"
	    "  --version   print the version\n"
	    "options (as in the config file; the command line overrides the file):\n");
	config_print_help(f);
	exit(status);
}

/* Parse argv; "--name value" for every config option, short flags for the rest. */
static void
args_parse(struct args *a, int argc, char **argv)
{
	int i;

	memset(a, 0, sizeof(*a));
	for (i = 1; i < argc; i++) {
		const char *s = argv[i];

		if (strcmp(s, "--version") == 0) {
			printf("turnd (%s) %s\n", PACKAGE_NAME, PACKAGE_VERSION);
			exit(0);
		} else if (strcmp(s, "-h") == 0 || strcmp(s, "--help") == 0)
			usage(0);
		else if (strncmp(s, "--", 2) == 0 && s[2] != '\0') {
			if (!config_is_option(s + 2)) {
				fprintf(stderr, "turnd: unknown option %s\n", s);
				usage(1);
			}
			if (i + 1 >= argc || a->nopts == MAX_ARGS) {
				fprintf(stderr, "turnd: %s needs a value\n", s);
				usage(1);
			}
			a->opts[a->nopts].name = s + 2;
			a->opts[a->nopts++].value = argv[++i];
		} else if (s[0] == '-' && s[1] != '\0' && s[1] != '-') {
			for (s++; *s != '\0'; s++) {
				switch (*s) {
				case 'f': a->foreground = 1; break;
				case 'n': a->configtest = 1; break;
				case 'v': a->verbose++; break;
				case 'c':
					if (s[1] != '\0')
						a->config_path = s + 1;
					else if (i + 1 < argc)
						a->config_path = argv[++i];
					else
						usage(1);
					s += strlen(s) - 1;
					break;
				default:
					fprintf(stderr, "turnd: unknown flag -%c\n", *s);
					usage(1);
				}
			}
		} else {
			fprintf(stderr, "turnd: unexpected argument %s\n", s);
			usage(1);
		}
	}
}

/* Detach from the terminal: fork, new session, stdio to /dev/null. */
static void
daemonize(void)
{
	int fd;

	switch (fork()) {
	case -1:
		fatal("fork");
	case 0:
		break;
	default:
		_exit(0);
	}
	if (setsid() < 0)
		fatal("setsid");
	if (chdir("/") != 0)
		fatal("chdir /");
	if ((fd = open("/dev/null", O_RDWR)) >= 0) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
}

/* Workers: as configured, else one per CPU this process may run on. */
static unsigned
worker_count(const struct config *cfg)
{
	cpu_set_t set;
	int n;

	if (cfg->workers > 0)
		return (unsigned)cfg->workers;
	if (sched_getaffinity(0, sizeof(set), &set) != 0 || (n = CPU_COUNT(&set)) < 1)
		return 1;
	return (unsigned)n;
}

/* A TCP (or TLS) connection arrived: hand it to the next worker. */
static void
on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct acceptor *acc = arg;
	struct turnd *t = acc->t;
	unsigned max = (unsigned)t->cfg->max_connections;

	if (max > 0 && __atomic_load_n(&t->open, __ATOMIC_RELAXED) >= max) {
		if (t->refused++ == 0)
			log_warnx("max_connections (%u) reached: refusing TCP and TLS "
			    "connections while it lasts", max);
		close(fd);
		return;
	}
	__atomic_add_fetch(&t->open, 1, __ATOMIC_RELAXED);
	evutil_make_socket_nonblocking(fd);
	worker_hand_off(t->workers[t->next++ % t->nworkers], fd, sa, acc->tls);
}

/* Open one TCP listener on the main thread. */
static void
open_listener(struct turnd *t, const struct sockaddr *sa, bool tls)
{
	char *cause = NULL;
	int fd;

	if ((fd = listen_tcp_socket(sa, &cause)) < 0)
		fatalx("tcp: %s", cause);
	t->acc[tls].t = t;
	t->acc[tls].tls = tls;
	t->tcp[t->ntcp] = evconnlistener_new(t->base, on_accept, &t->acc[tls],
	    LEV_OPT_CLOSE_ON_FREE, -1, fd);
	if (t->tcp[t->ntcp] == NULL)
		fatalx("tcp: cannot create listener");
	t->ntcp++;
}

/* Open the TCP and TLS listeners. */
static void
open_tcp(struct turnd *t)
{
	unsigned i;

	for (i = 0; t->cfg->tcp && i < t->cfg->listen.n; i++)
		open_listener(t, (const struct sockaddr *)&t->cfg->listen.addr[i], false);
	for (i = 0; i < t->cfg->tls_listen.n; i++)
		open_listener(t, (const struct sockaddr *)&t->cfg->tls_listen.addr[i], true);
}

/* The log level: the configured one, plus one step per -v. */
static int
effective_level(const struct config *cfg, int verbose)
{
	return cfg->log_level + verbose > LOG_LEVEL_DEBUG ? LOG_LEVEL_DEBUG :
	    cfg->log_level + verbose;
}

/* Go to a directory; a failure only means relative names may not be found. */
static void
enter_dir(int dirfd)
{
	if (dirfd >= 0 && fchdir(dirfd) != 0)
		log_warn("reload: fchdir");
}

/*
 * Build what a reload puts in place: the new snapshot, its credential store
 * and, with TLS listeners, its TLS context. Relative names (-c, tls_cert,
 * tls_key) mean what they meant at start, though a daemon has moved to /.
 * All or nothing: -1 with *cause, and nothing left allocated.
 */
static int
reload_build(struct turnd *t, struct config **next, struct auth **auth, SSL_CTX **tls,
    char **cause)
{
	int here = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC), rc = -1;

	*auth = NULL;
	*tls = NULL;
	enter_dir(t->start_dir);
	if ((*next = config_load(t->args->config_path, t->args->opts, t->args->nopts,
	    cause)) != NULL && (*auth = auth_new(*next, cause)) != NULL &&
	    (t->tls == NULL || (*next)->tls_listen.n == 0 ||	/* gone: at the restart */
	    (*tls = tls_ctx_new(*next, cause)) != NULL))
		rc = 0;
	enter_dir(here);
	if (here >= 0)
		close(here);
	if (rc != 0) {
		auth_free(*auth);
		config_free(*next);
	}
	return rc;
}

/*
 * SIGHUP: read the configuration again (the same file and command line) and
 * apply what can change while running: credentials (users, secrets, realm,
 * the secret algorithm, userhash, nonce_lifetime), the TLS certificate and
 * key, and the log level. Everything is built first; if any part fails the
 * running configuration stays whole. Nonces already handed out stay valid,
 * allocations stay, and open TLS connections keep their certificate.
 */
static void
turnd_reload(struct turnd *t)
{
	const char *path = t->args->config_path;
	struct config *next;
	struct auth *auth, *old;
	SSL_CTX *tls;
	char *cause = NULL;
	unsigned i, later;
	bool synced = true;

	if (reload_build(t, &next, &auth, &tls, &cause) != 0) {
		log_warnx("reload failed, the running configuration stays: %s",
		    cause ? cause : "cannot build it");
		free(cause);
		return;
	}
	later = config_log_unreloaded(t->cfg, next);
	auth_take_nonce_key(auth, t->shared.auth);
	old = shared_swap_auth(&t->shared, auth);
	for (i = 0; i < t->nworkers; i++)
		if (worker_sync(t->workers[i], tls != NULL ? tls : t->tls) != 0)
			synced = false;
	if (synced)
		auth_free(old);		/* no worker can be holding it now */
	else
		log_warnx("reload: the old credentials stay in memory until exit");
	if (tls != NULL) {		/* workers and connections hold their own references */
		tls_ctx_free(t->tls);
		t->tls = tls;
	}
	log_set_level(effective_level(next, t->args->verbose));
	log_info("reloaded %s: %u user(s), %u secret(s)%s%s", path ? path : "the command line",
	    next->nusers, next->nsecrets, tls != NULL ? ", the TLS certificate" : "",
	    later > 0 ? "; see above for what needs a restart" : "");
	config_free(next);
}

/* SIGHUP: reload. */
static void
on_reload_signal(evutil_socket_t sig, short what, void *arg)
{
	turnd_reload(arg);
}

/* SIGINT or SIGTERM: leave the main loop; cleanup follows. */
static void
on_stop_signal(evutil_socket_t sig, short what, void *arg)
{
	struct turnd *t = arg;

	log_info("signal %d: stopping", (int)sig);
	event_base_loopbreak(t->base);
}

/*
 * Each allocation holds a socket per relayed address (a TCP client's
 * connection is one more), so raise the file limit to the hard maximum, and
 * say plainly when even that is too low for the configured quota. The limit
 * counts per file table, and each worker has its own (worker.c), so workers
 * multiply it; NOFILE_SPARE descriptors per table are kept for listeners and
 * the like.
 */
#define NOFILE_SPARE	64

static void
raise_nofile(const struct config *cfg, unsigned nworkers)
{
	struct rlimit rl;
	rlim_t want, room;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			log_warn("setrlimit RLIMIT_NOFILE");
	}
	/* Two descriptors per allocation at worst (dual-stack, or TCP + relay). */
	want = cfg->total_quota > 0 ?
	    ((rlim_t)cfg->total_quota * 2 + nworkers - 1) / nworkers + NOFILE_SPARE : 16384;
	room = rl.rlim_cur > NOFILE_SPARE ? (rl.rlim_cur - NOFILE_SPARE) * nworkers : 0;
	if (rl.rlim_cur < want)
		log_warnx("open file limit %llu (per worker) is below %llu: with %u worker(s), "
		    "allocations will fail with 508 beyond about %llu (UDP, one address family; "
		    "fewer when clients spread unevenly); raise it (ulimit -n, LimitNOFILE=) or "
		    "add workers", (unsigned long long)rl.rlim_cur, (unsigned long long)want,
		    nworkers, (unsigned long long)room);
	else
		log_debug("open file limit %llu per worker", (unsigned long long)rl.rlim_cur);
}

/* Bind every socket and build the workers, before any fork, so bind errors reach the terminal. */
static void
turnd_open(struct turnd *t)
{
	char *cause = NULL;
	unsigned i;

	if (privdrop_resolve(t->cfg->run_as, &t->drop, &cause) != 0)
		fatalx("%s", cause ? cause : "run_as: cannot resolve");
	t->nworkers = worker_count(t->cfg);
	raise_nofile(t->cfg, t->nworkers);
	if (shared_build(t->cfg, &t->shared, &cause) != 0)
		fatalx("%s", cause ? cause : "cannot set up TURN state");
	if (t->cfg->tls_listen.n > 0 && (t->tls = tls_ctx_new(t->cfg, &cause)) == NULL)
		fatalx("%s", cause ? cause : "tls: cannot set up");
	t->workers = xcalloc(t->nworkers, sizeof(*t->workers));
	for (i = 0; i < t->nworkers; i++)
		t->workers[i] = worker_new(i, t->cfg, &t->shared, t->tls, &t->open);
	open_tcp(t);
	if (t->cfg->metrics_listen.n > 0) {
		struct metrics_src src = { t->workers, t->nworkers, &t->open, &t->refused };
		if ((t->metrics = metrics_new(t->base, t->cfg, &src, &cause)) == NULL)
			fatalx("%s", cause ? cause : "metrics: cannot set up");
	}
}

/* Install signal handlers and start the worker threads (after any fork). */
static void
turnd_start(struct turnd *t)
{
	char name[ADDR_STRLEN];
	unsigned i;

	t->sig[0] = evsignal_new(t->base, SIGINT, on_stop_signal, t);
	t->sig[1] = evsignal_new(t->base, SIGTERM, on_stop_signal, t);
	t->sig[2] = evsignal_new(t->base, SIGHUP, on_reload_signal, t);
	for (i = 0; i < 3; i++)
		if (t->sig[i] == NULL || event_add(t->sig[i], NULL) != 0)
			fatalx("cannot install signal handlers");
	privdrop_apply(&t->drop);	/* before any thread: all run as one user */
	for (i = 0; i < t->nworkers; i++)
		worker_start(t->workers[i]);
	for (i = 0; (t->cfg->udp || t->cfg->tcp) && i < t->cfg->listen.n; i++)
		log_info("listening on %s (%s%s%s)", addr_fmt((const struct sockaddr *)
		    &t->cfg->listen.addr[i], name, sizeof(name)), t->cfg->udp ? "udp" : "",
		    t->cfg->udp && t->cfg->tcp ? ", " : "", t->cfg->tcp ? "tcp" : "");
	for (i = 0; i < t->cfg->tls_listen.n; i++)
		log_info("listening on %s (tls)", addr_fmt((const struct sockaddr *)
		    &t->cfg->tls_listen.addr[i], name, sizeof(name)));
	for (i = 0; i < t->cfg->metrics_listen.n; i++)
		log_info("metrics on http://%s/metrics", addr_fmt((const struct sockaddr *)
		    &t->cfg->metrics_listen.addr[i], name, sizeof(name)));
	log_info("%s %s started with %u worker(s)", PACKAGE_NAME, PACKAGE_VERSION,
	    t->nworkers);
}

/* Stop workers, log the counters and free everything. */
static void
turnd_stop(struct turnd *t)
{
	struct stats total;
	unsigned i;

	memset(&total, 0, sizeof(total));
	for (i = 0; i < t->ntcp; i++)
		evconnlistener_free(t->tcp[i]);
	metrics_free(t->metrics);
	for (i = 0; i < t->nworkers; i++)
		worker_stop(t->workers[i]);
	for (i = 0; i < t->nworkers; i++)
		worker_free(t->workers[i], &total);	/* counts what shutdown frees too */
	total.tcp_refused = t->refused;
	stats_log(&total);
	free(t->workers);
	tls_ctx_free(t->tls);
	shared_free(&t->shared);
	for (i = 0; i < 3; i++)
		event_free(t->sig[i]);
	event_base_free(t->base);
	libevent_global_shutdown();
}

/* -n: what start-up would check beyond the file: credentials, run_as, the TLS files. */
static int
configtest(const struct config *cfg)
{
	struct turn_shared sh;
	struct privdrop pd;
	char *cause = NULL;
	SSL_CTX *tls;

	if (shared_build(cfg, &sh, &cause) != 0)
		goto bad;
	shared_free(&sh);
	if (privdrop_resolve(cfg->run_as, &pd, &cause) != 0)
		goto bad;
	if (cfg->tls_listen.n > 0) {
		if ((tls = tls_ctx_new(cfg, &cause)) == NULL)
			goto bad;
		tls_ctx_free(tls);
	}
	printf("turnd: configuration OK\n");
	return 0;
bad:
	fprintf(stderr, "turnd: %s\n", cause ? cause : "configuration error");
	free(cause);
	return 1;
}

int
main(int argc, char **argv)
{
	struct turnd t;
	struct args a;
	struct config *cfg;
	char *cause = NULL;

	args_parse(&a, argc, argv);
	log_init("turnd", LOG_LEVEL_INFO, false);
	if ((cfg = config_load(a.config_path, a.opts, a.nopts, &cause)) == NULL) {
		fprintf(stderr, "turnd: %s\n", cause ? cause : "configuration error");
		free(cause);
		return 1;
	}
	if (a.configtest) {
		int rc = configtest(cfg);
		config_free(cfg);
		return rc;
	}
	log_init("turnd", effective_level(cfg, a.verbose), cfg->syslog);
	signal(SIGPIPE, SIG_IGN);
	memset(&t, 0, sizeof(t));
	t.args = &a;
	t.cfg = cfg;
	t.start_dir = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if ((t.base = event_base_new()) == NULL)
		fatalx("cannot create event base");
	turnd_open(&t);
	if (!a.foreground) {
		log_init("turnd", effective_level(cfg, a.verbose), true);
		daemonize();
		if (event_reinit(t.base) != 0)
			fatalx("cannot reinitialise the event base after fork");
	}
	turnd_start(&t);
	event_base_dispatch(t.base);
	turnd_stop(&t);
	if (t.start_dir >= 0)
		close(t.start_dir);
	config_free(cfg);
	return 0;
}
