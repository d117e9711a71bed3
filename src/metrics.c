/*
 * metrics.c: GET /metrics on the metrics_listen addresses, in the Prometheus
 * text format: the workers' counters summed (as of their last tick, at most
 * a second old), live allocations, and the number of workers. It runs on
 * main's event loop, so it never slows a worker down; there is no
 * authentication, so it belongs on loopback or a management network.
 */
#include <sys/socket.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/util.h>

#include "config.h"
#include "listen.h"
#include "log.h"
#include "metrics.h"
#include "stats.h"
#include "worker.h"
#include "xmalloc.h"

struct metrics {
	struct evhttp		*http;
	struct metrics_src	 src;
	time_t			 started;
};

#define STAT(f)	offsetof(struct stats, f)
#define MAX_SERIES	4

/* A counter of struct stats, or a family of them told apart by one label. */
struct counter_def {
	const char	*name;
	const char	*help;
	const char	*label;		/* NULL: one series, no label */
	struct {
		const char	*value;
		size_t		 off;
	} series[MAX_SERIES];
};

static const struct counter_def counters[] = {
	{ "turnd_allocations_created_total", "Allocations created.", NULL,
	  { { NULL, STAT(allocs_created) } } },
	{ "turnd_allocations_freed_total", "Allocations ended.", NULL,
	  { { NULL, STAT(allocs_freed) } } },
	{ "turnd_stun_messages_total", "STUN messages received and processed.", NULL,
	  { { NULL, STAT(rx_msgs) } } },
	{ "turnd_dropped_total", "Messages and datagrams dropped, by reason.", "reason",
	  { { "not_stun", STAT(rx_nonstun) }, { "invalid", STAT(rx_invalid) },
	    { "ignored", STAT(rx_ignored) }, { "relay_refused", STAT(relay_dropped) } } },
	{ "turnd_kernel_drops_total",
	  "Datagrams the kernel dropped for full receive buffers (SO_RXQ_OVFL).", "socket",
	  { { "listener", STAT(rx_kernel_drops) }, { "relay", STAT(relay_kernel_drops) } } },
	{ "turnd_send_errors_total", "Replies that could not be sent.", NULL,
	  { { NULL, STAT(tx_errors) } } },
	{ "turnd_gso_writes_total", "UDP GSO writes.", NULL, { { NULL, STAT(tx_gso) } } },
	{ "turnd_relayed_datagrams_total", "Datagrams relayed, by direction.", "direction",
	  { { "to_peer", STAT(relay_up_pkts) }, { "to_client", STAT(relay_down_pkts) } } },
	{ "turnd_relayed_bytes_total", "Payload bytes relayed, by direction.", "direction",
	  { { "to_peer", STAT(relay_up_bytes) }, { "to_client", STAT(relay_down_bytes) } } },
	{ "turnd_icmp_errors_total", "ICMP errors passed on to clients.", NULL,
	  { { NULL, STAT(relay_icmp) } } },
	{ "turnd_tcp_accepted_total", "TCP connections accepted (TLS too).", NULL,
	  { { NULL, STAT(tcp_accepted) } } },
	{ "turnd_tls_accepted_total", "TLS connections accepted.", NULL,
	  { { NULL, STAT(tls_accepted) } } },
	{ "turnd_tls_errors_total", "Failed TLS handshakes and TLS errors.", NULL,
	  { { NULL, STAT(tls_errors) } } },
	{ "turnd_tcp_closed_bad_total", "TCP connections closed for a bad or oversized frame.",
	  NULL, { { NULL, STAT(tcp_closed_bad) } } },
	{ "turnd_tcp_dropped_nofile_total",
	  "Connections lost because a worker's file table was full.", NULL,
	  { { NULL, STAT(tcp_dropped_nofile) } } },
	{ "turnd_tcp_refused_total", "Connections closed at accept: max_connections reached.",
	  NULL, { { NULL, STAT(tcp_refused) } } },
};

/* HELP and TYPE lines. */
static void
metric_head(struct evbuffer *b, const char *name, const char *type, const char *help)
{
	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One counter family of the table. */
static void
metric_counter(struct evbuffer *b, const struct counter_def *d, const struct stats *s)
{
	unsigned k;
	uint64_t v;

	metric_head(b, d->name, "counter", d->help);
	for (k = 0; k < MAX_SERIES && (k == 0 || d->series[k].value != NULL); k++) {
		memcpy(&v, (const char *)s + d->series[k].off, sizeof(v));
		if (d->label == NULL)
			evbuffer_add_printf(b, "%s %llu\n", d->name, (unsigned long long)v);
		else
			evbuffer_add_printf(b, "%s{%s=\"%s\"} %llu\n", d->name, d->label,
			    d->series[k].value, (unsigned long long)v);
	}
}

/* The page: the gauges, every counter of the table, responses by code. */
static void
metrics_write(const struct metrics *m, struct evbuffer *b)
{
	struct stats s;
	size_t allocs = 0;
	unsigned i;

	memset(&s, 0, sizeof(s));
	for (i = 0; i < m->src.nworkers; i++)
		worker_snapshot(m->src.workers[i], &s, &allocs);
	s.tcp_refused = *m->src.refused;	/* main's own: this is main's thread */
	metric_head(b, "turnd_workers", "gauge", "Worker threads.");
	evbuffer_add_printf(b, "turnd_workers %u\n", m->src.nworkers);
	metric_head(b, "turnd_connections", "gauge", "TCP and TLS connections open.");
	evbuffer_add_printf(b, "turnd_connections %u\n",
	    __atomic_load_n(m->src.open, __ATOMIC_RELAXED));
	metric_head(b, "turnd_start_time_seconds", "gauge", "When turnd started, in Unix time.");
	evbuffer_add_printf(b, "turnd_start_time_seconds %lld\n", (long long)m->started);
	metric_head(b, "turnd_allocations", "gauge", "Allocations alive.");
	evbuffer_add_printf(b, "turnd_allocations %zu\n", allocs);
	for (i = 0; i < sizeof(counters) / sizeof(counters[0]); i++)
		metric_counter(b, &counters[i], &s);
	metric_head(b, "turnd_responses_total", "counter", "STUN responses sent, by error code.");
	evbuffer_add_printf(b, "turnd_responses_total{code=\"success\"} %llu\n",
	    (unsigned long long)s.reply_ok);
	for (i = 300; i < 700; i++)
		if (s.reply_code[i] != 0)
			evbuffer_add_printf(b, "turnd_responses_total{code=\"%u\"} %llu\n", i,
			    (unsigned long long)s.reply_code[i]);
}

/* GET /metrics. */
static void
metrics_on_get(struct evhttp_request *req, void *arg)
{
	struct metrics *m = arg;
	struct evbuffer *b;
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);

	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD");
		evhttp_send_error(req, 405, "Method Not Allowed");
		return;
	}
	if ((b = evbuffer_new()) == NULL) {
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
	    "text/plain; version=0.0.4; charset=utf-8");
	if (cmd == EVHTTP_REQ_GET)	/* HEAD: the headers alone */
		metrics_write(m, b);
	evhttp_send_reply(req, HTTP_OK, "OK", b);
	evbuffer_free(b);
}

/* Anything else: 404. */
static void
metrics_on_other(struct evhttp_request *req, void *arg)
{
	evhttp_send_error(req, HTTP_NOTFOUND, NULL);
}

/* Listen on every metrics_listen address; NULL with *cause when one cannot be bound. */
struct metrics *
metrics_new(struct event_base *base, const struct config *cfg,
    const struct metrics_src *src, char **cause)
{
	struct metrics *m = xcalloc(1, sizeof(*m));
	unsigned i;
	int fd;

	*cause = NULL;
	m->src = *src;
	m->started = time(NULL);
	if ((m->http = evhttp_new(base)) == NULL) {
		free(m);
		if (asprintf(cause, "metrics: cannot create the HTTP server") < 0)
			*cause = NULL;
		return NULL;
	}
	/* Other known methods reach the handler for a 405; unknown ones get 501. */
	evhttp_set_allowed_methods(m->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
	    EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
	evhttp_set_timeout(m->http, 10);
	/* Requests carry no body here: refuse one (413) rather than buffer it. */
	evhttp_set_max_body_size(m->http, 0);
	evhttp_set_max_headers_size(m->http, 8192);
	evhttp_set_cb(m->http, "/metrics", metrics_on_get, m);
	evhttp_set_gencb(m->http, metrics_on_other, m);
	for (i = 0; i < cfg->metrics_listen.n; i++) {
		if ((fd = listen_tcp_socket((const struct sockaddr *)&cfg->metrics_listen.addr[i],
		    cause)) < 0 || evutil_make_socket_nonblocking(fd) != 0 ||
		    evhttp_accept_socket_with_handle(m->http, fd) == NULL) {
			if (fd >= 0) {
				close(fd);
				if (asprintf(cause, "metrics: cannot serve HTTP") < 0)
					*cause = NULL;
			}
			metrics_free(m);
			return NULL;
		}
	}
	return m;
}

void
metrics_free(struct metrics *m)
{
	if (m == NULL)
		return;
	evhttp_free(m->http);
	free(m);
}
