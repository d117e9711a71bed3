/* server.c: the single entry point for every transport: demux, parse, method table, replies. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "chandata.h"
#include "config.h"
#include "server.h"
#include "stats.h"
#include "stun.h"
#include "xmalloc.h"

/* Per-worker protocol state; the worker owns it, so nothing here is locked. */
struct server {
	const struct config	*cfg;
	struct stats		*stats;
};

/* Map a request method to its handler. */
static const struct {
	uint16_t	 method;
	int		 (*handle)(struct request *);
} methods[] = {
	{ STUN_BINDING, binding_handle },
};

/* A core for one worker; stats are the worker's own counters. */
struct server *
server_new(const struct config *cfg, struct stats *stats)
{
	struct server *srv = xcalloc(1, sizeof(*srv));

	srv->cfg = cfg;
	srv->stats = stats;
	return srv;
}

/* Free a core. */
void
server_free(struct server *srv)
{
	free(srv);
}

/* Start a success response to the request. */
int
reply_begin(struct request *req)
{
	return stun_build_init(req->out, req->msg->method, STUN_SUCCESS,
	    req->msg->txid16);
}

/* Close a reply: SOFTWARE when configured, FINGERPRINT when the request had one. */
int
reply_finish(struct request *req)
{
	const char *sw = req->cfg->software;

	if (req->msg->classic)
		return 0;	/* RFC 3489 clients get the bare response */
	if (sw != NULL && sw[0] != '\0')
		stun_put(req->out, STUN_A_SOFTWARE, sw, strlen(sw));
	if (req->msg->fp >= 0)
		stun_put_fingerprint(req->out);
	return req->out->overflow ? -ENOSPC : 0;
}

/* Replace whatever was built with an error response; 420 lists the types given. */
static int
reply_error_build(struct request *req, int code, const uint16_t *unknown,
    unsigned nunknown)
{
	req->out->len = 0;
	req->out->overflow = false;
	stun_build_init(req->out, req->msg->method, STUN_ERROR, req->msg->txid16);
	stun_put_error(req->out, code, NULL);
	if (code == 420)
		stun_put_unknown(req->out, unknown, nunknown);
	stats_count_reply(req->stats, code);
	return reply_finish(req);
}

/* Answer with an error; a 420 lists the request's unknown attributes. */
int
reply_error(struct request *req, int code)
{
	return reply_error_build(req, code, req->msg->unknown, req->msg->nunknown);
}

/* Answer 420 for one attribute we know but do not serve in this setup. */
int
reply_error_unsupported(struct request *req, uint16_t type)
{
	return reply_error_build(req, 420, &type, 1);
}

/* Run the request through the method table. */
static int
server_dispatch(struct request *req)
{
	const struct stun_msg *m = req->msg;
	size_t i;

	if (m->nunknown > 0)
		return reply_error(req, 420);
	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (methods[i].method == m->method)
			return methods[i].handle(req);
	return reply_error(req, 400);
}

/* Decide whether a parsed message gets an answer at all. */
static bool
server_answerable(struct server *srv, const struct stun_msg *m)
{
	if (m->cls != STUN_REQUEST) {
		srv->stats->rx_ignored++;
		return false;
	}
	/* Without the cookie only a classic Binding makes sense (RFC 5389 section 12). */
	if (m->classic && (m->method != STUN_BINDING || !srv->cfg->rfc3489)) {
		srv->stats->rx_invalid++;
		return false;
	}
	return true;
}

/*
 * Process one datagram or stream frame. Returns the length of the reply
 * written to out (0 when there is none to send).
 */
ssize_t
server_process(struct server *srv, const struct pkt_ctx *pkt,
    const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
	struct stun_msg msg;
	struct wbuf w;
	struct request req = { srv, srv->cfg, srv->stats, pkt, &msg, &w };
	int rc;

	if (demux_classify(in, len) != DEMUX_STUN || !stun_is_stun_header(in, len)) {
		srv->stats->rx_nonstun++;
		return 0;
	}
	rc = stun_msg_parse(&msg, in, len);
	if (rc == -EINVAL) {
		srv->stats->rx_invalid++;
		return 0;
	}
	srv->stats->rx_msgs++;
	if (!server_answerable(srv, &msg))
		return 0;
	wbuf_init(&w, out, cap);
	if (rc == -EBADMSG)
		rc = reply_error(&req, 400);
	else
		rc = server_dispatch(&req);
	if (rc == 1)
		return 0;
	if (rc != 0)
		return 0;
	return stun_build_end(&w) < 0 ? 0 : (ssize_t)w.len;
}
