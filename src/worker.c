/*
 * worker.c: one thread per worker with its own event_base, UDP sockets,
 * connections and core, and its own file table.
 *
 * Each worker thread unshares its file descriptor table (CLONE_FILES) before
 * it opens anything. RLIMIT_NOFILE bounds descriptor numbers per table, so
 * N workers hold N times as many relay sockets as one process could: with
 * the common hard limit of 20,000 or so, two workers are enough for 35,000
 * allocations. The price is that a descriptor means something only in the
 * thread that opened it. So the sockets a worker uses are bound by main
 * (before any fork, so that a bind error reaches the terminal), and the
 * worker builds everything else after it has unshared; accepted TCP
 * connections cross over as SCM_RIGHTS messages, not as numbers; the
 * worker closes what it opened itself, before its thread ends; and the
 * logger writes through a socket opened before the tables split (log.c).
 */
#include <sys/resource.h>
#include <sys/socket.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include <openssl/ssl.h>

#include "addr.h"
#include "clock.h"
#include "config.h"
#include "conn.h"
#include "listen.h"
#include "log.h"
#include "relay.h"
#include "server.h"
#include "stats.h"
#include "stream.h"
#include "worker.h"
#include "xmalloc.h"

#define WORKER_MAX_UDP	(CONFIG_MAX_ADDRS + 3)	/* listen addresses and the RFC 5780 three */

/* A hand-off message; an accepted connection's descriptor rides along as SCM_RIGHTS. */
struct handoff {
	int			 stop;	/* 1: stop the loop (no descriptor) */
	int			 sync;	/* 1: a reload: take tls_ctx, then post synced */
	int			 tls;	/* the connection came in on a TLS listener */
	SSL_CTX			*tls_ctx;	/* sync: the TLS context from now on */
	uint64_t		 gen;		/* sync: which reload this is */
	struct sockaddr_storage	 peer;
	struct sockaddr_storage	 local;
};

struct worker {
	unsigned		 id;
	pthread_t		 thread;
	int			 running;
	bool			 started;	/* the thread took over its descriptors */
	bool			 own_files;	/* the thread has a file table of its own */
	sem_t			 ready;		/* posted once the thread has built its loop */
	sem_t			 synced;	/* posted when a reload message is taken */
	uint64_t		 sync_sent;	/* main: the last reload sent */
	uint64_t		 sync_taken;	/* atomic: the last reload the worker took */
	struct event_base	*base;
	const struct config	*cfg;
	SSL_CTX			*tls;		/* our own reference; NULL without TLS listeners */
	unsigned		*open;		/* atomic: TCP and TLS connections open (max_connections) */
	struct server		*srv;
	struct stats		 stats;
	pthread_mutex_t		 snap_lock;	/* guards snap and snap_allocs */
	struct stats		 snap;		/* stats as of the last tick, for the metrics page */
	size_t			 snap_allocs;	/* allocations alive then */
	int			 udp_fd[WORKER_MAX_UDP];	/* bound by main, used by the thread */
	struct sockaddr_storage	 udp_addr[WORKER_MAX_UDP];
	struct udp_listener	*udp[WORKER_MAX_UDP];
	unsigned		 nudp;
	struct stream_set	*streams;
	struct relay_rx		*relay_rx;
	int			 chan[2];	/* hand-off socket pair: [0] worker, [1] acceptor */
	struct event		*chan_ev;
	struct event		*tick_ev;	/* expiry sweep, once a second */
};

/* The core's I/O table, bound to this worker. */
static int
io_relay_open(void *arg, struct alloc *a, unsigned idx, const struct sockaddr *sa,
    void **handle)
{
	struct worker *w = arg;

	return relay_sock_open(w->base, w->relay_rx, w->srv, a, sa, w->cfg->relay_buffer,
	    handle);
}

static void
io_relay_close(void *arg, void *handle)
{
	relay_sock_close(handle);
}

static int
io_relay_send(void *arg, void *handle, const struct sockaddr *peer, const uint8_t *data,
    size_t len, bool df)
{
	return relay_sock_send(handle, peer, data, len, df);
}

static int
io_client_send(void *arg, void *conn, const struct sockaddr *client,
    const struct sockaddr *local, const uint8_t *data, size_t len)
{
	struct conn *c = conn;

	return c->send(c, client, local, data, len);
}

/* Send every queued datagram of this worker: to clients and to peers. */
static void
worker_flush_all(void *arg)
{
	struct worker *w = arg;
	unsigned i;

	relay_flush_all(w->relay_rx);
	for (i = 0; i < w->nudp; i++)
		udp_listener_flush(w->udp[i]);
	relay_rx_recycle(w->relay_rx);	/* nothing points into its slots now */
}

/* Copy the counters where the main thread may read them (worker_snapshot). */
static void
worker_publish(struct worker *w)
{
	pthread_mutex_lock(&w->snap_lock);
	w->snap = w->stats;
	w->snap_allocs = server_alloc_count(w->srv);
	pthread_mutex_unlock(&w->snap_lock);
}

/* Once a second: let the core expire what has run out, and publish the counters. */
static void
worker_on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;

	server_tick(w->srv, clock_now_ms());
	worker_publish(w);
}

/* The counters as of the worker's last tick, added to sum; its live allocations added to *allocs. */
void
worker_snapshot(struct worker *w, struct stats *sum, size_t *allocs)
{
	pthread_mutex_lock(&w->snap_lock);
	stats_add(sum, &w->snap);
	*allocs += w->snap_allocs;
	pthread_mutex_unlock(&w->snap_lock);
}

/* Room for the one descriptor a hand-off carries. */
union fd_cmsg {
	struct cmsghdr	 hdr;
	char		 buf[CMSG_SPACE(sizeof(int))];
};

/* A message header for one hand-off, with room for a descriptor. */
static void
handoff_msg(struct msghdr *msg, struct iovec *iov, struct handoff *h, union fd_cmsg *ctl)
{
	memset(msg, 0, sizeof(*msg));
	memset(ctl, 0, sizeof(*ctl));
	iov->iov_base = h;
	iov->iov_len = sizeof(*h);
	msg->msg_iov = iov;
	msg->msg_iovlen = 1;
	msg->msg_control = ctl->buf;
	msg->msg_controllen = sizeof(ctl->buf);
}

/* Read one hand-off; *fd gets the connection it carries, -1 for none, -2 when it was lost. */
static ssize_t
worker_recv_handoff(int chan, struct handoff *h, int *fd)
{
	union fd_cmsg ctl;
	struct iovec iov;
	struct msghdr msg;
	struct cmsghdr *cm;
	ssize_t n;

	handoff_msg(&msg, &iov, h, &ctl);
	*fd = -1;
	if ((n = recvmsg(chan, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC)) < 0)
		return n;
	for (cm = CMSG_FIRSTHDR(&msg); cm != NULL; cm = CMSG_NXTHDR(&msg, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
		    cm->cmsg_len == CMSG_LEN(sizeof(int)))
			memcpy(fd, CMSG_DATA(cm), sizeof(int));
	/* The kernel drops a passed descriptor when this table is full. */
	if ((msg.msg_flags & MSG_CTRUNC) && *fd < 0 && !h->stop && !h->sync)
		*fd = -2;
	return n;
}

/* Take hand-offs: a new TCP connection, or the order to stop. */
static void
worker_on_chan(evutil_socket_t chan, short what, void *arg)
{
	struct worker *w = arg;
	struct handoff h;
	int fd;

	while (worker_recv_handoff(chan, &h, &fd) == (ssize_t)sizeof(h)) {
		if (h.stop) {
			event_base_loopbreak(w->base);
			return;
		}
		if (h.sync) {	/* between two events: nothing of the old state is in use */
			if (h.tls_ctx != NULL)
				SSL_CTX_up_ref(h.tls_ctx);
			SSL_CTX_free(w->tls);	/* open connections hold their own */
			w->tls = h.tls_ctx;
			stream_set_tls(w->streams, h.tls_ctx);
			__atomic_store_n(&w->sync_taken, h.gen, __ATOMIC_RELEASE);
			sem_post(&w->synced);
			continue;
		}
		if (fd >= 0)
			stream_accept(w->streams, fd, (struct sockaddr *)&h.peer,
			    (struct sockaddr *)&h.local, h.tls != 0);
		else if (fd == -2) {
			__atomic_sub_fetch(w->open, 1, __ATOMIC_RELAXED);
			w->stats.tcp_dropped_nofile++;
			log_warnx("worker %u: a TCP connection was lost: open file limit "
			    "reached", w->id);
		}
	}
}

/* Bind one UDP socket for this worker (main thread; the worker wraps it later). */
static void
worker_add_udp(struct worker *w, const struct sockaddr *sa)
{
	char *cause = NULL;
	int fd;

	if (w->nudp == WORKER_MAX_UDP)
		fatalx("udp: too many sockets");
	if ((fd = listen_udp_socket(sa, w->cfg->udp_buffer, &cause)) < 0)
		fatalx("udp: %s", cause);
	w->udp_fd[w->nudp] = fd;
	memcpy(&w->udp_addr[w->nudp], sa, addr_len(sa));
	w->nudp++;
}

/* Bind this worker's UDP sockets: one per listen address (SO_REUSEPORT), plus the RFC 5780 ones. */
static void
worker_bind_udp(struct worker *w)
{
	unsigned i, k;
	int a, b;

	for (i = 0; i < w->cfg->listen.n; i++)
		worker_add_udp(w, (const struct sockaddr *)&w->cfg->listen.addr[i]);
	for (a = 0; w->cfg->rfc5780 && a < 2; a++)
		for (b = 0; b < 2; b++) {
			const struct sockaddr *sa = (const struct sockaddr *)&w->cfg->nat_addr[a][b];
			for (k = 0; k < w->cfg->listen.n; k++)
				if (addr_equal(sa, (const struct sockaddr *)&w->cfg->listen.addr[k]))
					break;
			if (k == w->cfg->listen.n)
				worker_add_udp(w, sa);
		}
}

/* Before the first worker binds: fail if another process holds a UDP address. */
static void
worker_probe_udp(const struct config *cfg)
{
	char *cause = NULL;
	unsigned i;
	int a, b;

	for (i = 0; i < cfg->listen.n; i++)
		if (listen_udp_probe((const struct sockaddr *)&cfg->listen.addr[i], &cause) != 0)
			fatalx("udp: %s", cause);
	for (a = 0; cfg->rfc5780 && a < 2; a++)
		for (b = 0; b < 2; b++)
			if (listen_udp_probe((const struct sockaddr *)&cfg->nat_addr[a][b],
			    &cause) != 0 && !(a == 0 && b == 0))
				fatalx("udp: %s", cause);
}

/* Build a worker: its core, its hand-off pair and its bound UDP sockets, so a bind error stops startup. */
struct worker *
worker_new(unsigned id, const struct config *cfg, struct turn_shared *shared, SSL_CTX *tls,
    unsigned *open)
{
	struct worker *w = xcalloc(1, sizeof(*w));
	struct server_io io = { w, io_relay_open, io_relay_close, io_relay_send,
	    io_client_send };

	w->id = id;
	w->cfg = cfg;
	w->open = open;
	if (tls != NULL)
		SSL_CTX_up_ref(tls);
	w->tls = tls;
	w->srv = server_new(cfg, shared, &io, &w->stats);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, w->chan) != 0)
		fatal("worker %u: socketpair", id);
	if (sem_init(&w->ready, 0, 0) != 0 || sem_init(&w->synced, 0, 0) != 0)
		fatal("worker %u: sem_init", id);
	pthread_mutex_init(&w->snap_lock, NULL);
	if (cfg->udp && id == 0)
		worker_probe_udp(cfg);
	if (cfg->udp)
		worker_bind_udp(w);
	return w;
}

/* In the thread: the event loop and everything on it, in this thread's file table. */
static void
worker_build_loop(struct worker *w)
{
	struct timeval second = { 1, 0 };
	struct event_config *ec;
	unsigned i;

	/* Only this thread touches the base, so libevent need not lock it. */
	if ((ec = event_config_new()) == NULL ||
	    event_config_set_flag(ec, EVENT_BASE_FLAG_NOLOCK) != 0 ||
	    (w->base = event_base_new_with_config(ec)) == NULL ||
	    event_base_priority_init(w->base, RELAY_PRIORITIES) != 0)
		fatalx("worker %u: cannot create event base", w->id);
	event_config_free(ec);
	w->relay_rx = relay_rx_new(w->base, &w->stats, w->cfg->udp_gso, worker_flush_all, w);
	w->tick_ev = event_new(w->base, -1, EV_PERSIST, worker_on_tick, w);
	if (w->tick_ev == NULL || event_add(w->tick_ev, &second) != 0)
		fatalx("worker %u: cannot add timer", w->id);
	w->streams = stream_set_new(w->base, w->cfg, w->tls, w->open, w->srv, &w->stats,
	    worker_flush_all, w);
	w->chan_ev = event_new(w->base, w->chan[0], EV_READ | EV_PERSIST, worker_on_chan, w);
	if (w->chan_ev == NULL || event_add(w->chan_ev, NULL) != 0)
		fatalx("worker %u: cannot add hand-off event", w->id);
	for (i = 0; i < w->nudp; i++)
		w->udp[i] = udp_listener_new(w->base, w->udp_fd[i],
		    (const struct sockaddr *)&w->udp_addr[i], w->srv, &w->stats,
		    w->cfg->udp_gso, worker_flush_all, w);
	for (i = 0; i < w->nudp; i++)
		udp_listener_set_siblings(w->udp[i], w->udp, w->nudp);
}

/* Close connections handed off but never taken (the loop stopped first). */
static void
worker_drain_chan(struct worker *w)
{
	struct handoff h;
	int fd;

	while (worker_recv_handoff(w->chan[0], &h, &fd) > 0)
		if (fd >= 0) {
			close(fd);
			__atomic_sub_fetch(w->open, 1, __ATOMIC_RELAXED);
		}
}

/* In the thread, after the loop: close and free what the thread opened, in its own table. */
static void
worker_teardown(struct worker *w)
{
	unsigned i;

	/* Streams first: closing one ends its allocation in the core. */
	stream_set_free(w->streams);
	SSL_CTX_free(w->tls);
	w->tls = NULL;
	server_free(w->srv);
	for (i = 0; i < w->nudp; i++)
		udp_listener_free(w->udp[i]);	/* closes the socket */
	relay_rx_free(w->relay_rx);
	event_free(w->tick_ev);
	worker_drain_chan(w);
	event_free(w->chan_ev);
	close(w->chan[0]);
	event_base_free(w->base);
}

/* Is this descriptor one the worker keeps from the table it inherited? */
static bool
worker_keeps(const struct worker *w, int fd)
{
	unsigned i;

	if (fd <= STDERR_FILENO || fd == w->chan[0] || fd == log_fd())
		return true;
	for (i = 0; i < w->nudp; i++)
		if (fd == w->udp_fd[i])
			return true;
	return false;
}

/*
 * Close this table's copies of everything that belongs to main or to other
 * workers: they would take room under the limit, and a copy of a listener
 * would keep it open after main closes it. Descriptors at or above the soft
 * limit are left alone (valgrind keeps its own there).
 */
static void
worker_close_inherited(const struct worker *w)
{
	struct rlimit rl;
	struct dirent *de;
	DIR *dir;
	int fd, self;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 ||
	    (dir = opendir("/proc/thread-self/fd")) == NULL)
		return;
	self = dirfd(dir);
	while ((de = readdir(dir)) != NULL) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		fd = atoi(de->d_name);
		if (fd != self && (rlim_t)fd < rl.rlim_cur && !worker_keeps(w, fd))
			close(fd);
	}
	closedir(dir);
}

/*
 * The thread body. Unsharing can fail where a sandbox forbids it; the worker
 * then runs in the common table, as threads usually do, and only the file
 * limit is lower.
 */
static void *
worker_main(void *arg)
{
	struct worker *w = arg;

	if (unshare(CLONE_FILES) == 0) {
		w->own_files = true;
		worker_close_inherited(w);
	} else
		log_warn("worker %u: no file table of its own (unshare); the open file "
		    "limit counts for all workers together", w->id);
	worker_build_loop(w);
	sem_post(&w->ready);
	event_base_dispatch(w->base);
	worker_teardown(w);
	return NULL;
}

/*
 * Start the worker's thread and wait until it has built its loop. Signals
 * stay with the main thread. Then main closes its own copies of the
 * worker's descriptors, so that only the worker holds them.
 */
void
worker_start(struct worker *w)
{
	sigset_t all, old;
	unsigned i;
	int rc;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&w->thread, NULL, worker_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		errno = rc;
		fatal("worker %u: pthread_create", w->id);
	}
	w->running = 1;
	w->started = true;
	while (sem_wait(&w->ready) != 0 && errno == EINTR)
		;
	if (!w->own_files)
		return;
	for (i = 0; i < w->nudp; i++)
		close(w->udp_fd[i]);
	close(w->chan[0]);
}

/*
 * Send one hand-off, with a descriptor or none; the socket pair is all the
 * threads share on this path. A connection is dropped rather than block
 * the acceptor; the order to stop waits (up to a few seconds) for room.
 */
static int
worker_send_handoff(struct worker *w, const struct handoff *h, int fd)
{
	struct pollfd pfd = { w->chan[1], POLLOUT, 0 };
	int tries = h->stop || h->sync ? 50 : 0;	/* 50 x 100 ms */
	union fd_cmsg ctl;
	struct iovec iov;
	struct msghdr msg;
	struct cmsghdr *cm;
	ssize_t n;

	handoff_msg(&msg, &iov, (struct handoff *)h, &ctl);
	if (fd < 0) {
		msg.msg_control = NULL;
		msg.msg_controllen = 0;
	} else {
		cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	for (;;) {
		n = sendmsg(w->chan[1], &msg, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN && tries-- > 0) {
			(void)poll(&pfd, 1, 100);
			continue;
		}
		break;
	}
	if (n == (ssize_t)sizeof(*h))
		return 0;
	log_warn("worker %u: hand-off failed", w->id);
	return -1;
}

/* Give an accepted TCP (or TLS) connection to this worker; main's copy is closed either way. */
void
worker_hand_off(struct worker *w, int fd, const struct sockaddr *peer, bool tls)
{
	struct handoff h;
	socklen_t len = sizeof(h.local);

	memset(&h, 0, sizeof(h));
	h.tls = tls;
	memcpy(&h.peer, peer, addr_len(peer));
	if (getsockname(fd, (struct sockaddr *)&h.local, &len) != 0 ||
	    worker_send_handoff(w, &h, fd) != 0)
		__atomic_sub_fetch(w->open, 1, __ATOMIC_RELAXED);	/* it never arrives */
	close(fd);
}

/* Tell the worker to stop and wait for its thread, which frees its loop on the way out. */
void
worker_stop(struct worker *w)
{
	struct handoff h;

	if (!w->running)
		return;
	memset(&h, 0, sizeof(h));
	h.stop = 1;
	if (worker_send_handoff(w, &h, -1) != 0)
		fatalx("worker %u: cannot tell it to stop", w->id);
	pthread_join(w->thread, NULL);
	w->running = 0;
}

/*
 * A reload: hand the worker its TLS context from now on (it takes a
 * reference of its own), and wait until it has taken this very message;
 * answers to an earlier reload that timed out do not count. Its loop takes
 * messages between events, so once it has, it holds no reference to the
 * credential store that was swapped out before (shared_swap_auth) and the
 * caller may free that. -1 when the worker did not answer in time: then the
 * old store must be kept.
 */
int
worker_sync(struct worker *w, SSL_CTX *tls)
{
	struct handoff h;
	struct timespec until;

	if (!w->running)
		return 0;
	memset(&h, 0, sizeof(h));
	h.sync = 1;
	h.tls_ctx = tls;
	h.gen = ++w->sync_sent;
	if (worker_send_handoff(w, &h, -1) != 0)
		return -1;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 5;
	while (__atomic_load_n(&w->sync_taken, __ATOMIC_ACQUIRE) < h.gen)
		if (sem_timedwait(&w->synced, &until) != 0 && errno != EINTR) {
			log_warnx("worker %u: did not take the reload in 5 s", w->id);
			return -1;
		}
	return 0;
}

/* Free what is left of a worker; its thread must have stopped. */
void
worker_free(struct worker *w, struct stats *sum)
{
	unsigned i;

	if (w == NULL)
		return;
	if (sum != NULL)
		stats_add(sum, &w->stats);
	if (!w->started) {	/* main still owns it all */
		SSL_CTX_free(w->tls);
		server_free(w->srv);
		for (i = 0; i < w->nudp; i++)
			close(w->udp_fd[i]);
		close(w->chan[0]);
	}
	close(w->chan[1]);
	sem_destroy(&w->ready);
	sem_destroy(&w->synced);
	pthread_mutex_destroy(&w->snap_lock);
	free(w);
}
