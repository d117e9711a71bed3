/*
 * metrics.c: GET /metrics on the metrics_listen addresses, in the Prometheus
 * text format: the workers' counters summed (as of their last tick, at most
 * a second old), live allocations, and the number of workers. It runs on
 * main's event loop, so it never slows a worker down; there is no
 * authentication, so it belongs on loopback or a management network.
 */
#include <sys/socket.h>
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
	struct worker		**workers;
	unsigned		 nworkers;
	time_t			 started;
};

/* One counter or gauge with its HELP and TYPE lines. */
static void
metric(struct evbuffer *b, const char *name, const char *type, const char *help,
    unsigned long long v)
{
	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", name, help, name, type,
	    name, v);
}

/* A counter with one label, in several series. */
static void
metric_head(struct evbuffer *b, const char *name, const char *help)
{
	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s counter\n", name, help, name);
}

static void
metric_series(struct evbuffer *b, const char *name, const char *label, const char *value,
    unsigned long long v)
{
	evbuffer_add_printf(b, "%s{%s=\"%s\"} %llu\n", name, label, value, v);
}

/* The page: every counter of struct stats, summed over the workers. */
static void
metrics_write(const struct metrics *m, struct evbuffer *b)
{
	struct stats s;
	size_t allocs = 0;
	char code[8];
	unsigned i;

	memset(&s, 0, sizeof(s));
	for (i = 0; i < m->nworkers; i++)
		worker_snapshot(m->workers[i], &s, &allocs);
	metric(b, "turnd_workers", "gauge", "Worker threads.", m->nworkers);
	metric(b, "turnd_start_time_seconds", "gauge", "When turnd started, in Unix time.",
	    (unsigned long long)m->started);
	metric(b, "turnd_allocations", "gauge", "Allocations alive.", allocs);
	metric(b, "turnd_allocations_created_total", "counter", "Allocations created.",
	    s.allocs_created);
	metric(b, "turnd_allocations_freed_total", "counter", "Allocations ended.",
	    s.allocs_freed);
	metric(b, "turnd_stun_messages_total", "counter",
	    "STUN messages received and processed.", s.rx_msgs);
	metric_head(b, "turnd_dropped_total", "Messages and datagrams dropped, by reason.");
	metric_series(b, "turnd_dropped_total", "reason", "not_stun", s.rx_nonstun);
	metric_series(b, "turnd_dropped_total", "reason", "invalid", s.rx_invalid);
	metric_series(b, "turnd_dropped_total", "reason", "ignored", s.rx_ignored);
	metric_series(b, "turnd_dropped_total", "reason", "relay_refused", s.relay_dropped);
	metric_head(b, "turnd_kernel_drops_total",
	    "Datagrams the kernel dropped for full receive buffers (SO_RXQ_OVFL).");
	metric_series(b, "turnd_kernel_drops_total", "socket", "listener", s.rx_kernel_drops);
	metric_series(b, "turnd_kernel_drops_total", "socket", "relay", s.relay_kernel_drops);
	metric_head(b, "turnd_responses_total", "STUN responses sent, by error code.");
	metric_series(b, "turnd_responses_total", "code", "success", s.reply_ok);
	for (i = 300; i < 700; i++)
		if (s.reply_code[i] != 0) {
			snprintf(code, sizeof(code), "%u", i);
			metric_series(b, "turnd_responses_total", "code", code, s.reply_code[i]);
		}
	metric(b, "turnd_send_errors_total", "counter", "Replies that could not be sent.",
	    s.tx_errors);
	metric(b, "turnd_gso_writes_total", "counter", "UDP GSO writes.", s.tx_gso);
	metric_head(b, "turnd_relayed_datagrams_total", "Datagrams relayed, by direction.");
	metric_series(b, "turnd_relayed_datagrams_total", "direction", "to_peer",
	    s.relay_up_pkts);
	metric_series(b, "turnd_relayed_datagrams_total", "direction", "to_client",
	    s.relay_down_pkts);
	metric_head(b, "turnd_relayed_bytes_total", "Payload bytes relayed, by direction.");
	metric_series(b, "turnd_relayed_bytes_total", "direction", "to_peer", s.relay_up_bytes);
	metric_series(b, "turnd_relayed_bytes_total", "direction", "to_client",
	    s.relay_down_bytes);
	metric(b, "turnd_icmp_errors_total", "counter", "ICMP errors passed on to clients.",
	    s.relay_icmp);
	metric(b, "turnd_tcp_accepted_total", "counter", "TCP connections accepted (TLS too).",
	    s.tcp_accepted);
	metric(b, "turnd_tls_accepted_total", "counter", "TLS connections accepted.",
	    s.tls_accepted);
	metric(b, "turnd_tls_errors_total", "counter", "Failed TLS handshakes and TLS errors.",
	    s.tls_errors);
	metric(b, "turnd_tcp_closed_bad_total", "counter",
	    "TCP connections closed for a bad or oversized frame.", s.tcp_closed_bad);
	metric(b, "turnd_tcp_dropped_nofile_total", "counter",
	    "Connections lost because a worker's file table was full.", s.tcp_dropped_nofile);
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
metrics_new(struct event_base *base, const struct config *cfg, struct worker **ws,
    unsigned nws, char **cause)
{
	struct metrics *m = xcalloc(1, sizeof(*m));
	unsigned i;
	int fd;

	*cause = NULL;
	m->workers = ws;
	m->nworkers = nws;
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
