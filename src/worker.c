/* worker.c: one thread per worker with its own event_base, UDP sockets, connections and core. */
#include <sys/socket.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

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

/* What the acceptor writes into a worker's pipe; small enough to be written atomically. */
struct handoff {
	int			 fd;	/* -1: stop the loop */
	struct sockaddr_storage	 peer;
	struct sockaddr_storage	 local;
};

struct worker {
	unsigned		 id;
	pthread_t		 thread;
	int			 running;
	struct event_base	*base;
	const struct config	*cfg;
	struct server		*srv;
	struct stats		 stats;
	struct udp_listener	*udp[WORKER_MAX_UDP];
	unsigned		 nudp;
	struct stream_set	*streams;
	struct relay_rx		*relay_rx;
	int			 pipe[2];	/* acceptor -> worker hand-off */
	struct event		*pipe_ev;
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

/* Once a second: let the core expire what has run out. */
static void
worker_on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;

	server_tick(w->srv, clock_now_ms());
}

/* Take a hand-off from the pipe: a new TCP connection, or the order to stop. */
static void
worker_on_pipe(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	struct handoff h;
	ssize_t n;

	while ((n = read(fd, &h, sizeof(h))) == (ssize_t)sizeof(h)) {
		if (h.fd < 0) {
			event_base_loopbreak(w->base);
			return;
		}
		stream_accept(w->streams, h.fd, (struct sockaddr *)&h.peer,
		    (struct sockaddr *)&h.local);
	}
}

/* Open one UDP socket of this worker. */
static void
worker_add_udp(struct worker *w, const struct sockaddr *sa)
{
	char *cause = NULL;
	int fd;

	if (w->nudp == WORKER_MAX_UDP)
		fatalx("udp: too many sockets");
	if ((fd = listen_udp_socket(sa, w->cfg->udp_buffer, &cause)) < 0)
		fatalx("udp: %s", cause);
	w->udp[w->nudp++] = udp_listener_new(w->base, fd, sa, w->srv, &w->stats,
	    w->cfg->udp_gso, worker_flush_all, w);
}

/* Open this worker's UDP sockets: one per listen address (SO_REUSEPORT), plus the RFC 5780 ones. */
static void
worker_open_udp(struct worker *w)
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
	for (i = 0; i < w->nudp; i++)
		udp_listener_set_siblings(w->udp[i], w->udp, w->nudp);
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

/* Build a worker; its sockets are bound now, so a bind error stops startup. */
struct worker *
worker_new(unsigned id, const struct config *cfg, struct turn_shared *shared)
{
	struct worker *w = xcalloc(1, sizeof(*w));
	struct server_io io = { w, io_relay_open, io_relay_close, io_relay_send,
	    io_client_send };
	struct timeval second = { 1, 0 };
	struct event_config *ec;

	w->id = id;
	w->cfg = cfg;
	/* Only this thread touches the base, so libevent need not lock it. */
	if ((ec = event_config_new()) == NULL ||
	    event_config_set_flag(ec, EVENT_BASE_FLAG_NOLOCK) != 0 ||
	    (w->base = event_base_new_with_config(ec)) == NULL ||
	    event_base_priority_init(w->base, RELAY_PRIORITIES) != 0)
		fatalx("worker %u: cannot create event base", id);
	event_config_free(ec);
	w->srv = server_new(cfg, shared, &io, &w->stats);
	w->relay_rx = relay_rx_new(w->base, &w->stats, cfg->udp_gso, worker_flush_all, w);
	w->tick_ev = event_new(w->base, -1, EV_PERSIST, worker_on_tick, w);
	if (w->tick_ev == NULL || event_add(w->tick_ev, &second) != 0)
		fatalx("worker %u: cannot add timer", id);
	w->streams = stream_set_new(w->base, cfg, w->srv, &w->stats, worker_flush_all, w);
	if (pipe2(w->pipe, O_NONBLOCK | O_CLOEXEC) != 0)
		fatal("worker %u: pipe", id);
	w->pipe_ev = event_new(w->base, w->pipe[0], EV_READ | EV_PERSIST,
	    worker_on_pipe, w);
	if (w->pipe_ev == NULL || event_add(w->pipe_ev, NULL) != 0)
		fatalx("worker %u: cannot add pipe event", id);
	if (cfg->udp && id == 0)
		worker_probe_udp(cfg);
	if (cfg->udp)
		worker_open_udp(w);
	return w;
}

/* The thread body: run the loop until told to stop. */
static void *
worker_main(void *arg)
{
	struct worker *w = arg;

	event_base_dispatch(w->base);
	return NULL;
}

/* After a fork, give each worker's event base fresh kernel state. */
int
workers_reinit(struct worker **ws, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (event_reinit(ws[i]->base) != 0)
			return -1;
	return 0;
}

/* Start the worker's thread. */
void
worker_start(struct worker *w)
{
	int rc;

	if ((rc = pthread_create(&w->thread, NULL, worker_main, w)) != 0) {
		errno = rc;
		fatal("worker %u: pthread_create", w->id);
	}
	w->running = 1;
}

/* Write one hand-off; the pipe is the only thing the threads share on this path. */
static void
worker_write(struct worker *w, const struct handoff *h)
{
	ssize_t n;

	do
		n = write(w->pipe[1], h, sizeof(*h));
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(*h)) {
		log_warn("worker %u: hand-off failed", w->id);
		if (h->fd >= 0)
			close(h->fd);
	}
}

/* Give an accepted TCP connection to this worker. */
void
worker_hand_off(struct worker *w, int fd, const struct sockaddr *peer)
{
	struct handoff h;
	socklen_t len = sizeof(h.local);

	memset(&h, 0, sizeof(h));
	h.fd = fd;
	memcpy(&h.peer, peer, addr_len(peer));
	if (getsockname(fd, (struct sockaddr *)&h.local, &len) != 0) {
		close(fd);
		return;
	}
	worker_write(w, &h);
}

/* Tell the worker to stop and wait for its thread. */
void
worker_stop(struct worker *w)
{
	struct handoff h;

	if (!w->running)
		return;
	memset(&h, 0, sizeof(h));
	h.fd = -1;
	worker_write(w, &h);
	pthread_join(w->thread, NULL);
	w->running = 0;
}

/* Close connections handed off but never taken (the loop stopped first). */
static void
worker_drain_pipe(struct worker *w)
{
	struct handoff h;

	while (read(w->pipe[0], &h, sizeof(h)) == (ssize_t)sizeof(h))
		if (h.fd >= 0)
			close(h.fd);
}

/* Free everything the worker owns; its thread must have stopped. */
void
worker_free(struct worker *w, struct stats *sum)
{
	unsigned i;

	if (w == NULL)
		return;
	/* Streams first: closing one ends its allocation in the core. */
	stream_set_free(w->streams);
	server_free(w->srv);
	if (sum != NULL)
		stats_add(sum, &w->stats);
	for (i = 0; i < w->nudp; i++)
		udp_listener_free(w->udp[i]);
	relay_rx_free(w->relay_rx);
	event_free(w->tick_ev);
	worker_drain_pipe(w);
	event_free(w->pipe_ev);
	close(w->pipe[0]);
	close(w->pipe[1]);
	event_base_free(w->base);
	free(w);
}
