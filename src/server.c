/* server.c: the single entry point for every transport: demux, parse, method table, replies, timers. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "auth.h"
#include "chandata.h"
#include "config.h"
#include "core.h"
#include "log.h"
#include "stats.h"
#include "stun.h"
#include "xmalloc.h"

/* Map a request (or indication) method to its handler. */
static const struct {
	uint16_t	 method;
	uint8_t		 cls;
	int		 (*handle)(struct request *);
} methods[] = {
	{ STUN_BINDING, STUN_REQUEST, binding_handle },
	{ TURN_ALLOCATE, STUN_REQUEST, turn_allocate },
	{ TURN_REFRESH, STUN_REQUEST, turn_refresh },
	{ TURN_CREATE_PERMISSION, STUN_REQUEST, turn_create_permission },
	{ TURN_CHANNEL_BIND, STUN_REQUEST, turn_channel_bind },
	{ TURN_SEND, STUN_INDICATION, turn_send_indication },
};

/* A core for one worker; shared is process-wide, stats are the worker's own. */
struct server *
server_new(const struct config *cfg, struct turn_shared *shared,
    const struct server_io *io, struct stats *stats)
{
	struct server *srv = xcalloc(1, sizeof(*srv));

	srv->cfg = cfg;
	srv->shared = shared;
	srv->io = *io;
	srv->stats = stats;
	srv->txid_state = 0x9e3779b97f4a7c15ull ^ (uintptr_t)srv;
	alloc_table_init(&srv->allocs);
	return srv;
}

/* Free a core and every allocation it still holds. */
void
server_free(struct server *srv)
{
	size_t i;

	if (srv == NULL)
		return;
	for (i = 0; i < srv->allocs.nbuckets; i++)
		while (srv->allocs.buckets[i] != NULL)
			server_alloc_free(srv, srv->allocs.buckets[i], ALLOC_END_SHUTDOWN);
	free(srv->allocs.buckets);
	free(srv);
}

/* Allocations this worker holds. */
size_t
server_alloc_count(const struct server *srv)
{
	return srv->allocs.count;
}

/* A name for the log: printable, no spaces or quotes, so that a line splits cleanly. */
static void
log_safe(const char *in, char *out, size_t cap)
{
	size_t i;

	for (i = 0; in[i] != '\0' && i + 1 < cap; i++)
		out[i] = (in[i] > 0x20 && in[i] < 0x7f && in[i] != '"') ? in[i] : '?';
	out[i] = '\0';
}

/* allocation_log: one line per ended allocation, with what it relayed. */
static void
server_log_alloc_end(const struct server *srv, const struct alloc *a, enum alloc_end why)
{
	static const char *const reasons[] = { "deleted", "expired", "closed", "failed",
	    "shutdown" };
	static const char *const tps[] = { "udp", "tcp" };
	char user[128], client[ADDR_STRLEN], relay[ADDR_STRLEN] = "-";

	log_safe(a->username, user, sizeof(user));
	addr_fmt((const struct sockaddr *)&a->client, client, sizeof(client));
	if (a->nrelay > 0)
		addr_fmt((const struct sockaddr *)&a->relay[0].advertised, relay, sizeof(relay));
	log_info("allocation ended: reason=%s user=%s client=%s:%s relay=%s%s seconds=%llu "
	    "up=%llu/%lluB down=%llu/%lluB", reasons[why], user,
	    tps[a->tp == TRANSPORT_UDP ? 0 : 1], client, relay, a->nrelay > 1 ? "+" : "",
	    (unsigned long long)((srv->now_ms - a->created_ms) / 1000),
	    (unsigned long long)a->up_pkts, (unsigned long long)a->up_bytes,
	    (unsigned long long)a->down_pkts, (unsigned long long)a->down_bytes);
}

/* The one destructor of an allocation: sockets, ports, quota, state. */
void
server_alloc_free(struct server *srv, struct alloc *a, enum alloc_end why)
{
	unsigned i;

	if (srv->cfg->allocation_log)
		server_log_alloc_end(srv, a, why);
	alloc_unlink(&srv->allocs, a);
	for (i = 0; i < a->nrelay; i++) {
		srv->io.relay_close(srv->io.arg, a->relay[i].handle);
		ports_release(srv->shared->ports, a->relay[i].ipidx,
		    addr_port((struct sockaddr *)&a->relay[i].bound));
	}
	if (a->quota_id != NULL)
		quota_release(srv->shared->quota, a->quota_id);
	srv->stats->allocs_freed++;
	free(a->username);
	free(a->quota_id);
	free(a->perms);
	free(a->chans);
	free(a->last_resp);
	free(a);
}

/* Start a success response to the request. */
int
reply_begin(struct request *req)
{
	return stun_build_init(req->out, req->msg->method, STUN_SUCCESS,
	    req->msg->txid16);
}

/*
 * Close a reply: SOFTWARE when configured, MESSAGE-INTEGRITY(-SHA256) when
 * the request authenticated, FINGERPRINT when the request had one.
 */
int
reply_finish(struct request *req)
{
	const char *sw = req->cfg->software;

	if (req->msg->classic)
		return 0;	/* RFC 3489 clients get the bare response */
	if (sw != NULL && sw[0] != '\0')
		stun_put(req->out, STUN_A_SOFTWARE, sw, strlen(sw));
	if (req->auth != NULL)
		auth_sign(req->out, req->auth);
	if (req->msg->fp >= 0)
		stun_put_fingerprint(req->out);
	return req->out->overflow ? -ENOSPC : 0;
}

/* Replace whatever was built with the start of an error response. */
int
reply_error_begin(struct request *req, int code)
{
	req->out->len = 0;
	req->out->overflow = false;
	stun_build_init(req->out, req->msg->method, STUN_ERROR, req->msg->txid16);
	stats_count_reply(req->stats, code);
	return stun_put_error(req->out, code, NULL);
}

/* An error response; 420 lists the types given. */
static int
reply_error_build(struct request *req, int code, const uint16_t *unknown,
    unsigned nunknown)
{
	reply_error_begin(req, code);
	if (code == 420)
		stun_put_unknown(req->out, unknown, nunknown);
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

/*
 * Authenticate a TURN request. Returns 0 and sets req->auth, or 1 after
 * building the error: 401 and 438 carry REALM, a fresh NONCE and
 * PASSWORD-ALGORITHMS; none of them is signed (we do not know the key).
 */
int
turn_auth(struct request *req, struct auth_result *ar)
{
	/* The store can be replaced by a reload (shared_swap_auth): read it once. */
	const struct auth *auth = __atomic_load_n(&req->srv->shared->auth, __ATOMIC_ACQUIRE);
	int code;

	code = auth_check(auth, req->msg, req->pkt->peer,
	    req->pkt->now_ms, req->pkt->wall_s, ar);
	if (code == 0) {
		req->auth = ar;
		return 0;
	}
	reply_error_begin(req, code);
	if (code == 401 || code == 438)
		auth_put_challenge(auth, req->out, req->pkt->peer,
		    req->pkt->now_ms);
	reply_finish(req);
	return 1;
}

/* Run the message through the method table. */
static int
server_dispatch(struct request *req)
{
	const struct stun_msg *m = req->msg;
	size_t i;

	if (m->nunknown > 0)
		return m->cls == STUN_REQUEST ? reply_error(req, 420) : 1;
	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (methods[i].method == m->method && methods[i].cls == m->cls)
			return methods[i].handle(req);
	if (m->cls != STUN_REQUEST) {
		req->stats->rx_ignored++;
		return 1;
	}
	return reply_error(req, 400);
}

/* Decide whether a parsed message gets handled at all. */
static bool
server_answerable(struct server *srv, const struct stun_msg *m)
{
	if (m->cls == STUN_SUCCESS || m->cls == STUN_ERROR) {
		srv->stats->rx_ignored++;
		return false;
	}
	/* Without the cookie only a classic Binding request makes sense (RFC 5389 section 12). */
	if (m->classic && (m->method != STUN_BINDING || m->cls != STUN_REQUEST ||
	    !srv->cfg->rfc3489)) {
		srv->stats->rx_invalid++;
		return false;
	}
	return true;
}

/*
 * Process one datagram or stream frame. Returns the length of the reply
 * written to out (0 when there is none); relayed data leaves through the
 * I/O table instead.
 */
ssize_t
server_process(struct server *srv, const struct pkt_ctx *pkt,
    const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
	struct stun_msg msg;
	struct wbuf w;
	struct request req = { srv, srv->cfg, srv->stats, pkt, &msg, &w, NULL };
	enum demux_kind kind = demux_classify(in, len);
	int rc;

	srv->now_ms = pkt->now_ms;
	if (kind == DEMUX_CHANDATA) {
		turn_channel_data(srv, pkt, in, len);
		return 0;
	}
	if (kind != DEMUX_STUN || !stun_is_stun_header(in, len)) {
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
		rc = msg.cls == STUN_REQUEST ? reply_error(&req, 400) : 1;
	else
		rc = server_dispatch(&req);
	if (rc != 0)
		return 0;
	return stun_build_end(&w) < 0 ? 0 : (ssize_t)w.len;
}

/* Once a second or so: expire allocations, permissions and channels. */
void
server_tick(struct server *srv, uint64_t now_ms)
{
	struct alloc *a, *next;
	size_t i;

	srv->now_ms = now_ms;
	ports_set_now(srv->shared->ports, now_ms);
	for (i = 0; i < srv->allocs.nbuckets; i++)
		for (a = srv->allocs.buckets[i]; a != NULL; a = next) {
			next = a->hnext;
			if (a->expires_ms <= now_ms) {
				log_debug("allocation of %s expired", a->username);
				server_alloc_free(srv, a, ALLOC_END_EXPIRED);
				continue;
			}
			perm_expire(a, now_ms);
			chan_expire(a, now_ms);
		}
}

/* A stream closed: its allocation ends at once (RFC 8656 section 3.1). */
void
server_stream_closed(struct server *srv, enum transport tp, const struct sockaddr *peer,
    const struct sockaddr *local)
{
	struct alloc *a = alloc_find(&srv->allocs, tp, peer, local);

	if (a != NULL)
		server_alloc_free(srv, a, ALLOC_END_CLOSED);
}
