/* check_turn.c: the TURN core driven directly with an injected clock and an in-process I/O table (no sockets). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <openssl/evp.h>

#include "addr.h"
#include "auth.h"
#include "chandata.h"
#include "config.h"
#include "server.h"
#include "shared.h"
#include "stats.h"
#include "stun.h"
#include "check_run.h"

/* What the fake shell saw. */
static struct {
	int			 opened, closed, fail_open;
	struct sockaddr_storage	 last_bound;
	int			 relay_sends;
	struct sockaddr_storage	 relay_peer;
	uint8_t			 relay_data[2048];
	size_t			 relay_len;
	bool			 relay_df;
	int			 client_sends;
	uint8_t			 client_data[2048];
	size_t			 client_len;
} io_log;

static int
fake_relay_open(void *arg, struct alloc *a, unsigned idx, const struct sockaddr *sa, void **h)
{
	if (io_log.fail_open > 0) {
		io_log.fail_open--;
		return -EADDRINUSE;
	}
	io_log.opened++;
	memcpy(&io_log.last_bound, sa, addr_len(sa));
	*h = &io_log;
	return 0;
}

static void
fake_relay_close(void *arg, void *h)
{
	io_log.closed++;
}

static int
fake_relay_send(void *arg, void *h, const struct sockaddr *peer, const uint8_t *d, size_t n,
    bool df)
{
	io_log.relay_sends++;
	memcpy(&io_log.relay_peer, peer, addr_len(peer));
	memcpy(io_log.relay_data, d, n);
	io_log.relay_len = n;
	io_log.relay_df = df;
	return 0;
}

static int
fake_client_send(void *arg, void *conn, const struct sockaddr *client,
    const struct sockaddr *local, const uint8_t *d, size_t n)
{
	io_log.client_sends++;
	memcpy(io_log.client_data, d, n);
	io_log.client_len = n;
	return 0;
}

static const struct server_io fake_io = { NULL, fake_relay_open, fake_relay_close,
    fake_relay_send, fake_client_send };

static struct config	*cfg;
static struct turn_shared shared;
static struct stats	 st;
static struct server	*srv;
static uint64_t		 now_ms = 1000000;
static uint64_t		 wall_s = 1700000000;
static struct sockaddr_storage client, local;

/* A core with extra command-line style options. */
static void
start(const struct config_arg *extra, unsigned nextra)
{
	struct config_arg args[16] = {
		{ "user", "alice:secret" }, { "user", "bob:hunter2" },
		{ "relay_ip", "203.0.113.5" }, { "realm", "example.org" },
	};
	unsigned n = 4, i;
	char *cause = NULL;

	for (i = 0; i < nextra; i++)
		args[n++] = extra[i];
	cfg = config_load(NULL, args, n, &cause);
	ck_assert_msg(cfg != NULL, "%s", cause);
	ck_assert_msg(shared_build(cfg, &shared, &cause) == 0, "%s", cause);
	memset(&st, 0, sizeof(st));
	memset(&io_log, 0, sizeof(io_log));
	srv = server_new(cfg, &shared, &fake_io, &st);
	addr_parse("198.51.100.20:40000", 0, &client);
	addr_parse("203.0.113.5:3478", 0, &local);
}

static void
setup(void)
{
	start(NULL, 0);
}

static void
teardown(void)
{
	server_free(srv);
	shared_free(&shared);
	config_free(cfg);
	srv = NULL;
}

/* One exchange from the client's 5-tuple; returns the reply length. */
static ssize_t
exchange(const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
	struct pkt_ctx pkt = { TRANSPORT_UDP, (struct sockaddr *)&client,
	    (struct sockaddr *)&local, NULL, now_ms, wall_s, NULL, NULL };

	return server_process(srv, &pkt, in, len, out, cap);
}

/* A request under construction, with the credentials to sign it. */
struct req {
	uint8_t		 buf[1024];
	struct wbuf	 w;
	uint8_t		 txid16[16];
};

static unsigned txcounter;

/* Start a request of a method with a fresh transaction ID. */
static void
req_start(struct req *r, uint16_t method, uint8_t cls)
{
	memset(r->txid16, 0, sizeof(r->txid16));
	r->txid16[0] = 0x21; r->txid16[1] = 0x12; r->txid16[2] = 0xa4; r->txid16[3] = 0x42;
	txcounter++;
	memcpy(r->txid16 + 4, &txcounter, sizeof(txcounter));
	wbuf_init(&r->w, r->buf, sizeof(r->buf));
	stun_build_init(&r->w, method, cls, r->txid16);
}

/* Add USERNAME, REALM, NONCE and MESSAGE-INTEGRITY (MD5 key), then FINGERPRINT. */
static void
req_sign(struct req *r, const char *user, const char *password, const char *nonce)
{
	uint8_t key[32];
	size_t keylen;

	stun_put(&r->w, STUN_A_USERNAME, user, strlen(user));
	stun_put(&r->w, STUN_A_REALM, "example.org", 11);
	stun_put(&r->w, STUN_A_NONCE, nonce, strlen(nonce));
	ck_assert_int_eq(stun_longterm_key(STUN_PWALG_MD5, user, "example.org", password,
	    key, &keylen), 0);
	stun_put_integrity(&r->w, key, keylen);
	stun_put_fingerprint(&r->w);
}

/* A fresh nonce as the server would mint it for our client. */
static const char *
nonce(void)
{
	static char buf[128];

	ck_assert_int_gt(auth_nonce_mint(shared.auth, (struct sockaddr *)&client, now_ms,
	    buf, sizeof(buf)), 0);
	return buf;
}

/* Send r, parse the reply into m; returns the error code (0 for success). */
static int
send_req(struct req *r, uint8_t *out, size_t cap, struct stun_msg *m)
{
	const char *reason;
	size_t rlen;
	ssize_t n;
	int code;

	ck_assert_int_gt(stun_build_end(&r->w), 0);
	n = exchange(r->buf, r->w.len, out, cap);
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(stun_msg_parse(m, out, (size_t)n), 0);
	ck_assert(memcmp(m->txid16, r->txid16, 16) == 0);
	if (m->cls == STUN_SUCCESS)
		return 0;
	ck_assert_uint_eq(m->cls, STUN_ERROR);
	ck_assert_int_eq(stun_attr_error(stun_msg_find(m, STUN_A_ERROR_CODE), &code,
	    &reason, &rlen), 0);
	return code;
}

/* An Allocate over UDP signed as user; returns the error code. */
static int
allocate_as(const char *user, const char *password, struct stun_msg *m, uint8_t *out,
    size_t cap)
{
	static const uint8_t udp[4] = { 17, 0, 0, 0 };
	struct req r;

	req_start(&r, TURN_ALLOCATE, STUN_REQUEST);
	stun_put(&r.w, STUN_A_REQUESTED_TRANSPORT, udp, 4);
	req_sign(&r, user, password, nonce());
	return send_req(&r, out, cap, m);
}

/* An Allocate with a shared-secret credential for userid, expiring at wall_s + ttl. */
static int
allocate_rest(const char *secret, const char *userid, long ttl)
{
	char user[64], pass[64];
	uint8_t out[1024];
	struct stun_msg m;

	snprintf(user, sizeof(user), "%lld:%s", (long long)wall_s + ttl, userid);
	ck_assert_int_eq(auth_rest_password(secret, 0, user, pass, sizeof(pass)), 0);
	return allocate_as(user, pass, &m, out, sizeof(out));
}

/* An authenticated Allocate for alice over UDP; returns the error code. */
static int
allocate(struct stun_msg *m, uint8_t *out, size_t cap)
{
	return allocate_as("alice", "secret", m, out, cap);
}

START_TEST(test_challenge)
{
	static const uint8_t udp[4] = { 17, 0, 0, 0 };
	const struct stun_attr *n, *algs;
	uint8_t out[1024];
	struct stun_msg m;
	struct req r;

	req_start(&r, TURN_ALLOCATE, STUN_REQUEST);
	stun_put(&r.w, STUN_A_REQUESTED_TRANSPORT, udp, 4);
	ck_assert_int_eq(send_req(&r, out, sizeof(out), &m), 401);
	ck_assert_ptr_nonnull(stun_msg_find(&m, STUN_A_REALM));
	n = stun_msg_find(&m, STUN_A_NONCE);
	ck_assert_ptr_nonnull(n);
	ck_assert_uint_le(n->len, 128);
	/* Both users have passwords, so SHA-256 is offered, first, with the cookie. */
	ck_assert(memcmp(n->val, "obMatJos2", 9) == 0);
	algs = stun_msg_find(&m, STUN_A_PASSWORD_ALGORITHMS);
	ck_assert_ptr_nonnull(algs);
	ck_assert_uint_eq(algs->len, 8);
	ck_assert_uint_eq(algs->val[1], STUN_PWALG_SHA256);
	ck_assert_uint_eq(algs->val[5], STUN_PWALG_MD5);
	ck_assert_int_lt(m.mi, 0);		/* a 401 is not signed */
	ck_assert_int_eq(io_log.opened, 0);
}
END_TEST

START_TEST(test_allocate_and_retransmit)
{
	uint8_t out[1024], out2[1024], key[16];
	struct sockaddr_storage relayed, mapped;
	struct stun_msg m, m2;
	struct req r;
	uint32_t life;
	size_t keylen;
	static const uint8_t udp[4] = { 17, 0, 0, 0 };

	req_start(&r, TURN_ALLOCATE, STUN_REQUEST);
	stun_put(&r.w, STUN_A_REQUESTED_TRANSPORT, udp, 4);
	req_sign(&r, "alice", "secret", nonce());
	ck_assert_int_eq(send_req(&r, out, sizeof(out), &m), 0);
	ck_assert_int_eq(io_log.opened, 1);
	ck_assert_int_eq(stun_attr_xaddr(stun_msg_find(&m, STUN_A_XOR_RELAYED_ADDRESS),
	    m.txid16, &relayed), 0);
	ck_assert(addr_equal((struct sockaddr *)&relayed, (struct sockaddr *)&io_log.last_bound));
	ck_assert_uint_ge(addr_port((struct sockaddr *)&relayed), 49152);
	ck_assert_int_eq(stun_attr_xaddr(stun_msg_find(&m, STUN_A_XOR_MAPPED_ADDRESS),
	    m.txid16, &mapped), 0);
	ck_assert(addr_equal((struct sockaddr *)&mapped, (struct sockaddr *)&client));
	ck_assert_int_eq(stun_attr_u32(stun_msg_find(&m, STUN_A_LIFETIME), &life), 0);
	ck_assert_uint_eq(life, 600);
	stun_longterm_key(STUN_PWALG_MD5, "alice", "example.org", "secret", key, &keylen);
	ck_assert(stun_check_integrity(&m, key, keylen));
	ck_assert(stun_check_fingerprint(&m));
	/* The same transaction again: the same answer, no second relay. */
	ck_assert_int_eq(send_req(&r, out2, sizeof(out2), &m2), 0);
	ck_assert(memcmp(out, out2, m.rawlen) == 0);
	ck_assert_int_eq(io_log.opened, 1);
	/* A new transaction on the same 5-tuple: 437. */
	ck_assert_int_eq(allocate(&m2, out2, sizeof(out2)), 437);
	ck_assert_uint_eq(server_alloc_count(srv), 1);
}
END_TEST

START_TEST(test_auth_failures)
{
	static const uint8_t udp[4] = { 17, 0, 0, 0 };
	uint8_t out[1024];
	struct stun_msg m;
	const char *old;
	struct req r;
	char stale[128];

	req_start(&r, TURN_ALLOCATE, STUN_REQUEST);
	stun_put(&r.w, STUN_A_REQUESTED_TRANSPORT, udp, 4);
	req_sign(&r, "alice", "wrong", nonce());
	ck_assert_int_eq(send_req(&r, out, sizeof(out), &m), 401);
	ck_assert_ptr_nonnull(stun_msg_find(&m, STUN_A_NONCE));
	req_start(&r, TURN_ALLOCATE, STUN_REQUEST);
	req_sign(&r, "nobody", "secret", nonce());
	ck_assert_int_eq(send_req(&r, out, sizeof(out), &m), 401);
	/* Integrity without a NONCE: 400. */
	req_start(&r, TURN_ALLOCATE, STUN_REQUEST);
	stun_put(&r.w, STUN_A_USERNAME, "alice", 5);
	stun_put_integrity(&r.w, (const uint8_t *)"0123456789abcdef", 16);
	ck_assert_int_eq(send_req(&r, out, sizeof(out), &m), 400);
	/* A nonce past its lifetime: 438 with a fresh one. */
	old = nonce();
	snprintf(stale, sizeof(stale), "%s", old);
	now_ms += 601 * 1000;
	req_start(&r, TURN_ALLOCATE, STUN_REQUEST);
	stun_put(&r.w, STUN_A_REQUESTED_TRANSPORT, udp, 4);
	req_sign(&r, "alice", "secret", stale);
	ck_assert_int_eq(send_req(&r, out, sizeof(out), &m), 438);
	ck_assert_ptr_nonnull(stun_msg_find(&m, STUN_A_NONCE));
	/* A nonce minted for another client address: 438 (RFC 8489 section 9.2.4). */
	addr_parse("198.51.100.20:40001", 0, &client);
	req_start(&r, TURN_ALLOCATE, STUN_REQUEST);
	stun_put(&r.w, STUN_A_REQUESTED_TRANSPORT, udp, 4);
	addr_parse("198.51.100.20:40000", 0, &client);
	req_sign(&r, "alice", "secret", nonce());
	addr_parse("198.51.100.20:40001", 0, &client);
	ck_assert_int_eq(send_req(&r, out, sizeof(out), &m), 438);
	ck_assert_int_eq(io_log.opened, 0);
	ck_assert_uint_eq(st.reply_code[401], 2);
}
END_TEST

/* An Allocate signed with MESSAGE-INTEGRITY-SHA256, echoing algs and choosing alg. */
static int
allocate_sha256(const uint8_t *algs, size_t algslen, const uint8_t *alg, const uint8_t *key,
    size_t keylen, struct stun_msg *m, uint8_t *out, size_t cap)
{
	static const uint8_t udp[4] = { 17, 0, 0, 0 };
	const char *n = nonce();
	struct req r;

	req_start(&r, TURN_ALLOCATE, STUN_REQUEST);
	stun_put(&r.w, STUN_A_REQUESTED_TRANSPORT, udp, 4);
	stun_put(&r.w, STUN_A_USERNAME, "alice", 5);
	stun_put(&r.w, STUN_A_REALM, "example.org", 11);
	stun_put(&r.w, STUN_A_NONCE, n, strlen(n));
	stun_put(&r.w, STUN_A_PASSWORD_ALGORITHMS, algs, algslen);
	stun_put(&r.w, STUN_A_PASSWORD_ALGORITHM, alg, 4);
	stun_put_integrity_sha256(&r.w, key, keylen);
	return send_req(&r, out, cap, m);
}

START_TEST(test_sha256_and_bid_down)
{
	static const uint8_t algs[8] = { 0, 2, 0, 0, 0, 1, 0, 0 }, md5_only[4] = { 0, 1, 0, 0 };
	static const uint8_t sha[4] = { 0, 2, 0, 0 };
	uint8_t out[1024], key[32];
	struct stun_msg m;
	size_t keylen;

	stun_longterm_key(STUN_PWALG_SHA256, "alice", "example.org", "secret", key, &keylen);
	ck_assert_uint_eq(keylen, 32);
	ck_assert_int_eq(allocate_sha256(algs, 8, sha, key, keylen, &m, out, sizeof(out)), 0);
	ck_assert_int_ge(m.mi256, 0);		/* answered in kind */
	ck_assert(stun_check_integrity_sha256(&m, key, keylen));
	/* A list that is not the one we sent is a bid-down: 400. */
	addr_parse("198.51.100.21:40000", 0, &client);
	ck_assert_int_eq(allocate_sha256(md5_only, 4, md5_only, key, keylen, &m, out,
	    sizeof(out)), 400);
}
END_TEST

START_TEST(test_allocate_errors)
{
	static const uint8_t tcp[4] = { 6, 0, 0, 0 }, udp[4] = { 17, 0, 0, 0 };
	static const uint8_t v6[4] = { 2, 0, 0, 0 }, bad[4] = { 3, 0, 0, 0 };
	uint8_t out[1024];
	struct stun_msg m;
	struct req r;

	req_start(&r, TURN_ALLOCATE, STUN_REQUEST);
	stun_put(&r.w, STUN_A_REQUESTED_TRANSPORT, tcp, 4);
	req_sign(&r, "alice", "secret", nonce());
	ck_assert_int_eq(send_req(&r, out, sizeof(out), &m), 442);
	ck_assert_int_ge(m.mi, 0);		/* errors after authentication are signed */
	req_start(&r, TURN_ALLOCATE, STUN_REQUEST);
	req_sign(&r, "alice", "secret", nonce());
	ck_assert_int_eq(send_req(&r, out, sizeof(out), &m), 400);
	req_start(&r, TURN_ALLOCATE, STUN_REQUEST);
	stun_put(&r.w, STUN_A_REQUESTED_TRANSPORT, udp, 4);
	stun_put(&r.w, STUN_A_REQUESTED_ADDRESS_FAMILY, v6, 4);
	req_sign(&r, "alice", "secret", nonce());
	ck_assert_int_eq(send_req(&r, out, sizeof(out), &m), 440);	/* no IPv6 relay */
	req_start(&r, TURN_ALLOCATE, STUN_REQUEST);
	stun_put(&r.w, STUN_A_REQUESTED_TRANSPORT, udp, 4);
	stun_put(&r.w, STUN_A_REQUESTED_ADDRESS_FAMILY, bad, 4);
	req_sign(&r, "alice", "secret", nonce());
	ck_assert_int_eq(send_req(&r, out, sizeof(out), &m), 440);
	/* Dual allocation without an IPv6 relay: IPv4 alone, with ADDRESS-ERROR-CODE. */
	req_start(&r, TURN_ALLOCATE, STUN_REQUEST);
	stun_put(&r.w, STUN_A_REQUESTED_TRANSPORT, udp, 4);
	stun_put(&r.w, STUN_A_ADDITIONAL_ADDRESS_FAMILY, v6, 4);
	req_sign(&r, "alice", "secret", nonce());
	ck_assert_int_eq(send_req(&r, out, sizeof(out), &m), 0);
	ck_assert_ptr_nonnull(stun_msg_find(&m, STUN_A_ADDRESS_ERROR_CODE));
	ck_assert_int_eq(io_log.opened, 1);
}
END_TEST

START_TEST(test_dual_allocation_and_port_retry)
{
	static const struct config_arg v6[] = { { "relay_ip", "2001:db8::5" } };
	static const uint8_t udp[4] = { 17, 0, 0, 0 }, fam6[4] = { 2, 0, 0, 0 };
	uint8_t out[1024];
	struct stun_msg m;
	struct req r;
	unsigned i, nrelayed = 0;

	teardown();
	start(v6, 1);
	io_log.fail_open = 2;	/* two ports taken by someone else: retried */
	req_start(&r, TURN_ALLOCATE, STUN_REQUEST);
	stun_put(&r.w, STUN_A_REQUESTED_TRANSPORT, udp, 4);
	stun_put(&r.w, STUN_A_ADDITIONAL_ADDRESS_FAMILY, fam6, 4);
	req_sign(&r, "alice", "secret", nonce());
	ck_assert_int_eq(send_req(&r, out, sizeof(out), &m), 0);
	for (i = 0; i < m.nattrs; i++)
		nrelayed += m.attrs[i].type == STUN_A_XOR_RELAYED_ADDRESS;
	ck_assert_uint_eq(nrelayed, 2);
	ck_assert_ptr_null(stun_msg_find(&m, STUN_A_ADDRESS_ERROR_CODE));
	ck_assert_int_eq(io_log.opened, 2);
}
END_TEST

START_TEST(test_refresh_and_wrong_user)
{
	static const uint8_t zero[4] = { 0 };
	uint8_t out[1024];
	struct stun_msg m;
	struct req r;

	ck_assert_int_eq(allocate(&m, out, sizeof(out)), 0);
	req_start(&r, TURN_REFRESH, STUN_REQUEST);
	req_sign(&r, "bob", "hunter2", nonce());
	ck_assert_int_eq(send_req(&r, out, sizeof(out), &m), 441);
	req_start(&r, TURN_REFRESH, STUN_REQUEST);
	stun_put(&r.w, STUN_A_LIFETIME, zero, 4);
	req_sign(&r, "alice", "secret", nonce());
	ck_assert_int_eq(send_req(&r, out, sizeof(out), &m), 0);
	ck_assert_int_eq(io_log.closed, 1);
	ck_assert_uint_eq(server_alloc_count(srv), 0);
	req_start(&r, TURN_REFRESH, STUN_REQUEST);
	req_sign(&r, "alice", "secret", nonce());
	ck_assert_int_eq(send_req(&r, out, sizeof(out), &m), 437);
}
END_TEST

/* CreatePermission for one peer; returns the error code. */
static int
permit(const char *peer)
{
	struct sockaddr_storage ss;
	uint8_t out[1024];
	struct stun_msg m;
	struct req r;

	size_t len = strlen(peer);

	/* addr_parse refuses port 0, which a hostile client may still send. */
	if (len > 2 && strcmp(peer + len - 2, ":0") == 0) {
		char host[64];
		snprintf(host, sizeof(host), "%.*s", (int)(len - 2), peer);
		ck_assert_int_eq(addr_parse(host, 1, &ss), 0);
		addr_set_port((struct sockaddr *)&ss, 0);
	} else
		ck_assert_int_eq(addr_parse(peer, 1, &ss), 0);
	req_start(&r, TURN_CREATE_PERMISSION, STUN_REQUEST);
	stun_put_xaddr(&r.w, STUN_A_XOR_PEER_ADDRESS, (struct sockaddr *)&ss);
	req_sign(&r, "alice", "secret", nonce());
	return send_req(&r, out, sizeof(out), &m);
}

/* A Send indication to peer carrying data. */
static void
send_indication(const char *peer, const char *data)
{
	struct sockaddr_storage ss;
	uint8_t out[256];
	struct req r;

	addr_parse(peer, 1, &ss);
	req_start(&r, TURN_SEND, STUN_INDICATION);
	stun_put_xaddr(&r.w, STUN_A_XOR_PEER_ADDRESS, (struct sockaddr *)&ss);
	stun_put(&r.w, STUN_A_DATA, data, strlen(data));
	ck_assert_int_eq(exchange(r.buf, r.w.len, out, sizeof(out)), 0);	/* never answered */
}

/* Peer data arrives at the relay; returns client_send's count after. */
static int
peer_sends(struct alloc *a, const char *peer, const char *data)
{
	uint8_t buf[RELAY_HEADROOM + 64 + RELAY_TAILROOM];
	struct sockaddr_storage ss;

	addr_parse(peer, 1, &ss);
	memcpy(buf + RELAY_HEADROOM, data, strlen(data));
	server_relay_in(srv, a, (struct sockaddr *)&ss, buf + RELAY_HEADROOM, strlen(data),
	    now_ms);
	return io_log.client_sends;
}

/* The allocation on our 5-tuple, found through the relay socket the fake shell was given. */
static struct alloc *last_alloc;

static int
capture_open(void *arg, struct alloc *a, unsigned idx, const struct sockaddr *sa, void **h)
{
	last_alloc = a;
	return fake_relay_open(arg, a, idx, sa, h);
}

START_TEST(test_send_data_and_permission_expiry)
{
	static const struct server_io cap_io = { NULL, capture_open, fake_relay_close,
	    fake_relay_send, fake_client_send };
	struct sockaddr_storage got;
	uint8_t out[1024];
	struct stun_msg m;

	server_free(srv);
	srv = server_new(cfg, &shared, &cap_io, &st);
	ck_assert_int_eq(allocate(&m, out, sizeof(out)), 0);
	/* No permission yet: dropped both ways. */
	send_indication("192.0.2.200:5000", "early");
	ck_assert_int_eq(io_log.relay_sends, 0);
	ck_assert_int_eq(peer_sends(last_alloc, "8.8.8.8:5000", "x"), 0);
	ck_assert_int_eq(permit("8.8.8.8:1"), 0);
	send_indication("8.8.8.8:5000", "hello");
	ck_assert_int_eq(io_log.relay_sends, 1);
	ck_assert_uint_eq(io_log.relay_len, 5);
	ck_assert(memcmp(io_log.relay_data, "hello", 5) == 0);
	ck_assert_uint_eq(addr_port((struct sockaddr *)&io_log.relay_peer), 5000);
	/* The permission covers the IP: any port of it may answer, as a Data indication. */
	ck_assert_int_eq(peer_sends(last_alloc, "8.8.8.8:6000", "reply"), 1);
	ck_assert_int_eq(stun_msg_parse(&m, io_log.client_data, io_log.client_len), 0);
	ck_assert_uint_eq(m.method, TURN_DATA);
	ck_assert_uint_eq(m.cls, STUN_INDICATION);
	ck_assert_int_eq(stun_attr_xaddr(stun_msg_find(&m, STUN_A_XOR_PEER_ADDRESS), m.txid16,
	    &got), 0);
	ck_assert_uint_eq(addr_port((struct sockaddr *)&got), 6000);
	ck_assert_uint_eq(stun_msg_find(&m, STUN_A_DATA)->len, 5);
	ck_assert(memcmp(stun_msg_find(&m, STUN_A_DATA)->val, "reply", 5) == 0);
	/* 300 s later the permission is gone. */
	now_ms += 301 * 1000;
	server_tick(srv, now_ms);
	ck_assert_int_eq(peer_sends(last_alloc, "8.8.8.8:6000", "late"), 1);
	send_indication("8.8.8.8:5000", "late");
	ck_assert_int_eq(io_log.relay_sends, 1);
	/* And at the end of its lifetime the allocation goes, closing its relay. */
	now_ms += 300 * 1000;
	server_tick(srv, now_ms);
	ck_assert_int_eq(io_log.closed, 1);
	ck_assert_uint_eq(server_alloc_count(srv), 0);
}
END_TEST

START_TEST(test_send_checks_ports)
{
	uint8_t out[1024];
	struct stun_msg m;

	char relay[ADDR_STRLEN], other[ADDR_STRLEN];
	struct sockaddr_storage ss;

	ck_assert_int_eq(allocate(&m, out, sizeof(out)), 0);
	/* Our own relay socket: relay to relay, allowed. */
	addr_fmt((struct sockaddr *)&io_log.last_bound, relay, sizeof(relay));
	ck_assert_int_eq(permit(relay), 0);
	send_indication(relay, "ok");
	ck_assert_int_eq(io_log.relay_sends, 1);
	/* Another port in the relay range that is not ours: refused per datagram. */
	ss = io_log.last_bound;
	addr_set_port((struct sockaddr *)&ss, (uint16_t)(addr_port((struct sockaddr *)&ss) ^ 1));
	addr_fmt((struct sockaddr *)&ss, other, sizeof(other));
	send_indication(other, "no");
	ck_assert_int_eq(io_log.relay_sends, 1);
	/* The permission covers the IP, but not our listener, nor ports outside the range. */
	send_indication("203.0.113.5:3478", "loop");
	send_indication("203.0.113.5:22", "ssh");
	ck_assert_int_eq(io_log.relay_sends, 1);
	ck_assert_uint_eq(st.relay_dropped, 3);
}
END_TEST

START_TEST(test_icmp_to_client)
{
	static const struct server_io cap_io = { NULL, capture_open, fake_relay_close,
	    fake_relay_send, fake_client_send };
	struct sockaddr_storage peer, got;
	const struct stun_attr *icmp;
	uint8_t out[1024];
	struct stun_msg m;

	server_free(srv);
	srv = server_new(cfg, &shared, &cap_io, &st);
	ck_assert_int_eq(allocate(&m, out, sizeof(out)), 0);
	addr_parse("8.8.8.8:5000", 1, &peer);
	/* No permission: nothing is said. */
	server_relay_icmp(srv, last_alloc, (struct sockaddr *)&peer, 3, 3, 0, now_ms);
	ck_assert_int_eq(io_log.client_sends, 0);
	ck_assert_int_eq(permit("8.8.8.8:1"), 0);
	/* An echo reply is not an error: ignored. */
	server_relay_icmp(srv, last_alloc, (struct sockaddr *)&peer, 0, 0, 0, now_ms);
	ck_assert_int_eq(io_log.client_sends, 0);
	/* Fragmentation needed, MTU 1280: a Data indication with ICMP and no DATA. */
	server_relay_icmp(srv, last_alloc, (struct sockaddr *)&peer, 3, 4, 1280, now_ms);
	ck_assert_int_eq(io_log.client_sends, 1);
	ck_assert_int_eq(stun_msg_parse(&m, io_log.client_data, io_log.client_len), 0);
	ck_assert_uint_eq(m.method, TURN_DATA);
	ck_assert_ptr_null(stun_msg_find(&m, STUN_A_DATA));
	icmp = stun_msg_find(&m, STUN_A_ICMP);
	ck_assert_ptr_nonnull(icmp);
	ck_assert_uint_eq(icmp->val[2], 3);
	ck_assert_uint_eq(icmp->val[3], 4);
	ck_assert_uint_eq((icmp->val[6] << 8) | icmp->val[7], 1280);
	ck_assert_int_eq(stun_attr_xaddr(stun_msg_find(&m, STUN_A_XOR_PEER_ADDRESS), m.txid16,
	    &got), 0);
	ck_assert(addr_equal((struct sockaddr *)&got, (struct sockaddr *)&peer));
}
END_TEST

START_TEST(test_bandwidth_limit)
{
	static const struct config_arg bw[] = { { "bandwidth", "100" } };
	static const struct server_io cap_io = { NULL, capture_open, fake_relay_close,
	    fake_relay_send, fake_client_send };
	char data[61];
	uint8_t out[1024];
	struct stun_msg m;

	teardown();
	start(bw, 1);
	server_free(srv);
	srv = server_new(cfg, &shared, &cap_io, &st);
	ck_assert_int_eq(allocate(&m, out, sizeof(out)), 0);
	ck_assert_int_eq(permit("8.8.8.8:1"), 0);
	memset(data, 'x', 60);
	data[60] = '\0';
	now_ms += 2000;			/* the bucket fills to one second's worth: 100 bytes */
	send_indication("8.8.8.8:5000", data);
	send_indication("8.8.8.8:5000", data);	/* 120 > 100: dropped */
	ck_assert_int_eq(io_log.relay_sends, 1);
	now_ms += 1000;
	send_indication("8.8.8.8:5000", data);
	ck_assert_int_eq(io_log.relay_sends, 2);
	ck_assert_int_eq(peer_sends(last_alloc, "8.8.8.8:5000", "down"), 1);	/* its own bucket */
}
END_TEST

/* ChannelBind; returns the error code. */
static int
bind_channel(uint16_t number, const char *peer)
{
	struct sockaddr_storage ss;
	uint8_t out[1024], num[4] = { (uint8_t)(number >> 8), (uint8_t)number, 0, 0 };
	struct stun_msg m;
	struct req r;

	addr_parse(peer, 1, &ss);
	req_start(&r, TURN_CHANNEL_BIND, STUN_REQUEST);
	stun_put(&r.w, STUN_A_CHANNEL_NUMBER, num, 4);
	stun_put_xaddr(&r.w, STUN_A_XOR_PEER_ADDRESS, (struct sockaddr *)&ss);
	req_sign(&r, "alice", "secret", nonce());
	return send_req(&r, out, sizeof(out), &m);
}

START_TEST(test_channels)
{
	static const struct server_io cap_io = { NULL, capture_open, fake_relay_close,
	    fake_relay_send, fake_client_send };
	uint8_t out[1024], cd[16] = { 0x7f, 0xff, 0, 3, 'a', 'b', 'c', 0 };
	struct chandata parsed;
	struct stun_msg m;

	server_free(srv);
	srv = server_new(cfg, &shared, &cap_io, &st);
	ck_assert_int_eq(allocate(&m, out, sizeof(out)), 0);
	ck_assert_int_eq(bind_channel(0x3fff, "8.8.8.8:5000"), 400);
	ck_assert_int_eq(bind_channel(0x7fff, "8.8.8.8:5000"), 0);	/* RFC 5766 range */
	ck_assert_int_eq(bind_channel(0x7fff, "8.8.8.8:5000"), 0);	/* refresh */
	ck_assert_int_eq(bind_channel(0x7ffe, "8.8.8.8:5000"), 400);	/* peer has a channel */
	ck_assert_int_eq(bind_channel(0x7fff, "8.8.4.4:5000"), 400);	/* number is taken */
	ck_assert_int_eq(exchange(cd, 8, out, sizeof(out)), 0);
	ck_assert_int_eq(io_log.relay_sends, 1);
	ck_assert_uint_eq(io_log.relay_len, 3);
	ck_assert_uint_eq(addr_port((struct sockaddr *)&io_log.relay_peer), 5000);
	cd[1] = 0xfe;						/* unbound channel: dropped */
	ck_assert_int_eq(exchange(cd, 8, out, sizeof(out)), 0);
	ck_assert_int_eq(io_log.relay_sends, 1);
	/* From the bound peer: ChannelData, header written in front of the payload. */
	ck_assert_int_eq(peer_sends(last_alloc, "8.8.8.8:5000", "pong"), 1);
	ck_assert_int_eq(chandata_parse(&parsed, io_log.client_data, io_log.client_len, false), 0);
	ck_assert_uint_eq(parsed.channel, 0x7fff);
	ck_assert_uint_eq(parsed.len, 4);
	/* From another port of the same IP: permitted, but no channel: a Data indication. */
	ck_assert_int_eq(peer_sends(last_alloc, "8.8.8.8:5001", "pong"), 2);
	ck_assert_int_eq(demux_classify(io_log.client_data, io_log.client_len), DEMUX_STUN);
}
END_TEST

START_TEST(test_strict_channels)
{
	static const struct config_arg strict[] = { { "strict_channels", "true" } };
	uint8_t out[1024];
	struct stun_msg m;

	teardown();
	start(strict, 1);
	ck_assert_int_eq(allocate(&m, out, sizeof(out)), 0);
	ck_assert_int_eq(bind_channel(0x5000, "8.8.8.8:5000"), 400);
	ck_assert_int_eq(bind_channel(0x4fff, "8.8.8.8:5000"), 0);
}
END_TEST

/* Peer encodings that must be refused (the CVE-2020-26262 class and the RFC 8656 21.4 list). */
static const char *const denied[] = {
	"0.0.0.0:80", "0.1.2.3:80", "127.0.0.1:80", "127.255.255.254:80", "10.0.0.1:80",
	"10.255.255.255:80", "172.16.0.1:80", "172.31.255.255:80", "192.168.0.1:80",
	"192.168.255.255:80", "100.64.0.1:80", "100.127.255.254:80", "169.254.0.1:80",
	"169.254.169.254:80", "224.0.0.1:80", "239.255.255.250:1900", "255.255.255.255:80",
	"240.0.0.1:80", "192.0.0.1:80", "198.18.0.1:80", "198.19.255.255:80",
	"192.0.2.1:80", "198.51.100.1:80", "203.0.113.1:80", "[::]:80", "[::1]:80",
	"[::ffff:127.0.0.1]:80", "[::ffff:10.0.0.1]:80", "[::ffff:169.254.169.254]:80",
	"[::127.0.0.1]:80", "[::ffff:0:127.0.0.1]:80", "[64:ff9b::7f00:1]:80",
	"[64:ff9b::a9fe:a9fe]:80", "[64:ff9b:1::a00:1]:80", "[2002:7f00:1::1]:80",
	"[2002:c0a8:101::1]:80", "[2001:0:4136:e378:8000:63bf:3fff:fdd2]:80",
	"[fe80::1]:80", "[fc00::1]:80", "[fd12:3456::1]:80", "[fec0::1]:80",
	"[ff02::1]:80", "[ff05::1:3]:80", "[2001:db8::1]:80", "[100::1]:80",
	"[3fff::1]:80",
	"203.0.113.5:3478",	/* our own listener */
	"203.0.113.5:22",	/* our own address, outside the relay range */
	"8.8.8.8:0",		/* port zero */
};

START_TEST(test_denied_peers_get_403)
{
	static const struct config_arg v6[] = { { "relay_ip", "2001:4860::5" } };
	uint8_t out[1024];
	struct stun_msg m;
	size_t i;

	teardown();
	start(v6, 1);
	{
		static const uint8_t udp[4] = { 17, 0, 0, 0 }, fam6[4] = { 2, 0, 0, 0 };
		struct req r;
		req_start(&r, TURN_ALLOCATE, STUN_REQUEST);
		stun_put(&r.w, STUN_A_REQUESTED_TRANSPORT, udp, 4);
		stun_put(&r.w, STUN_A_ADDITIONAL_ADDRESS_FAMILY, fam6, 4);
		req_sign(&r, "alice", "secret", nonce());
		ck_assert_int_eq(send_req(&r, out, sizeof(out), &m), 0);
	}
	ck_assert_uint_ge(sizeof(denied) / sizeof(denied[0]), 40);
	for (i = 0; i < sizeof(denied) / sizeof(denied[0]); i++)
		ck_assert_msg(permit(denied[i]) == 403, "%s was not refused", denied[i]);
	/* Public peers, and relay to relay on our own relay sockets, pass. */
	ck_assert_int_eq(permit("8.8.8.8:53"), 0);
	ck_assert_int_eq(permit("[2001:4860:4860::8888]:53"), 0);
	{
		char a[ADDR_STRLEN];
		addr_fmt((struct sockaddr *)&io_log.last_bound, a, sizeof(a));
		ck_assert_int_eq(permit(a), 0);
	}
	/* Our own address in the relay range but no relay of ours: another program's socket. */
	if (addr_port((struct sockaddr *)&io_log.last_bound) != 50000)
		ck_assert_int_eq(permit("203.0.113.5:50000"), 403);
}
END_TEST

START_TEST(test_allow_and_deny_lists)
{
	static const struct config_arg lists[] = { { "allow_peer", "127.0.0.0/8" },
	    { "deny_peer", "8.8.0.0/16" } };
	uint8_t out[1024];
	struct stun_msg m;

	teardown();
	start(lists, 2);
	ck_assert_int_eq(allocate(&m, out, sizeof(out)), 0);
	ck_assert_int_eq(permit("127.0.0.1:3480"), 0);
	ck_assert_int_eq(permit("8.8.8.8:53"), 403);
	ck_assert_int_eq(permit("8.9.8.8:53"), 0);
	ck_assert_int_eq(permit("10.0.0.1:53"), 403);
}
END_TEST

/* A TLS-only address is one of ours too: its listener and its other ports are refused. */
START_TEST(test_tls_listener_is_own)
{
	static const struct config_arg tls[] = { { "tls_listen", "93.184.216.34" },
	    { "tls_cert", "cert.pem" }, { "tls_key", "key.pem" } };
	uint8_t out[1024];
	struct stun_msg m;

	teardown();
	start(tls, 3);
	ck_assert_int_eq(allocate(&m, out, sizeof(out)), 0);
	ck_assert_int_eq(permit("93.184.216.34:5349"), 403);	/* the default TLS port */
	ck_assert_int_eq(permit("93.184.216.34:6000"), 403);
	ck_assert_int_eq(permit("93.184.216.35:6000"), 0);
}
END_TEST

START_TEST(test_shared_secret_and_quota)
{
	static const struct config_arg sec[] = { { "secret", "old-secret" },
	    { "secret", "new-secret" }, { "user_quota", "1" } };
	uint8_t out[1024];
	struct stun_msg m;

	teardown();
	start(sec, 3);
	ck_assert_int_eq(allocate_rest("old-secret", "carol", 3600), 0);
	/* Same userid, another expiry and the newer secret, from another port: quota 1 -> 486. */
	addr_parse("198.51.100.20:40002", 0, &client);
	ck_assert_int_eq(allocate_rest("new-secret", "carol", 7200), 486);
	/* Another userid passes; static users still work in the same realm. */
	ck_assert_int_eq(allocate_rest("new-secret", "dave", 7200), 0);
	addr_parse("198.51.100.20:40003", 0, &client);
	ck_assert_int_eq(allocate(&m, out, sizeof(out)), 0);
	/* Expired, or signed with an unknown secret: 401. */
	addr_parse("198.51.100.20:40004", 0, &client);
	ck_assert_int_eq(allocate_rest("new-secret", "erin", -1), 401);
	ck_assert_int_eq(allocate_rest("other", "erin", 60), 401);
}
END_TEST

START_TEST(test_userhash)
{
	static const struct config_arg uh[] = { { "userhash", "true" } };
	static const uint8_t udp[4] = { 17, 0, 0, 0 };
	uint8_t out[1024], hash[32], key[16];
	unsigned int hl = 0;
	const char *n;
	struct stun_msg m;
	struct req r;
	size_t keylen;

	teardown();
	start(uh, 1);
	n = nonce();
	ck_assert(memcmp(n, "obMatJos2", 9) == 0);
	EVP_Digest("alice:example.org", 17, hash, &hl, EVP_sha256(), NULL);
	stun_longterm_key(STUN_PWALG_MD5, "alice", "example.org", "secret", key, &keylen);
	req_start(&r, TURN_ALLOCATE, STUN_REQUEST);
	stun_put(&r.w, STUN_A_REQUESTED_TRANSPORT, udp, 4);
	stun_put(&r.w, STUN_A_USERHASH, hash, 32);
	stun_put(&r.w, STUN_A_REALM, "example.org", 11);
	stun_put(&r.w, STUN_A_NONCE, n, strlen(n));
	stun_put_integrity(&r.w, key, keylen);
	ck_assert_int_eq(send_req(&r, out, sizeof(out), &m), 0);
}
END_TEST

START_TEST(test_even_port_reservation)
{
	static const uint8_t udp[4] = { 17, 0, 0, 0 }, even_r[1] = { 0x80 };
	const struct stun_attr *tok;
	struct sockaddr_storage first, second;
	uint8_t out[1024], token[8];
	struct stun_msg m;
	struct req r;

	req_start(&r, TURN_ALLOCATE, STUN_REQUEST);
	stun_put(&r.w, STUN_A_REQUESTED_TRANSPORT, udp, 4);
	stun_put(&r.w, STUN_A_EVEN_PORT, even_r, 1);
	req_sign(&r, "alice", "secret", nonce());
	ck_assert_int_eq(send_req(&r, out, sizeof(out), &m), 0);
	stun_attr_xaddr(stun_msg_find(&m, STUN_A_XOR_RELAYED_ADDRESS), m.txid16, &first);
	ck_assert_uint_eq(addr_port((struct sockaddr *)&first) % 2, 0);
	tok = stun_msg_find(&m, STUN_A_RESERVATION_TOKEN);
	ck_assert_ptr_nonnull(tok);
	memcpy(token, tok->val, 8);
	server_tick(srv, now_ms);	/* a tick before redeeming must not expire it */
	addr_parse("198.51.100.20:40010", 0, &client);
	req_start(&r, TURN_ALLOCATE, STUN_REQUEST);
	stun_put(&r.w, STUN_A_REQUESTED_TRANSPORT, udp, 4);
	stun_put(&r.w, STUN_A_RESERVATION_TOKEN, token, 8);
	req_sign(&r, "alice", "secret", nonce());
	ck_assert_int_eq(send_req(&r, out, sizeof(out), &m), 0);
	stun_attr_xaddr(stun_msg_find(&m, STUN_A_XOR_RELAYED_ADDRESS), m.txid16, &second);
	ck_assert_uint_eq(addr_port((struct sockaddr *)&second),
	    addr_port((struct sockaddr *)&first) + 1);
	/* A token is good once. */
	addr_parse("198.51.100.20:40011", 0, &client);
	req_start(&r, TURN_ALLOCATE, STUN_REQUEST);
	stun_put(&r.w, STUN_A_REQUESTED_TRANSPORT, udp, 4);
	stun_put(&r.w, STUN_A_RESERVATION_TOKEN, token, 8);
	req_sign(&r, "alice", "secret", nonce());
	ck_assert_int_eq(send_req(&r, out, sizeof(out), &m), 508);
}
END_TEST

START_TEST(test_external_address)
{
	static const struct config_arg ext[] = { { "external_ip", "198.51.100.99/203.0.113.5" } };
	struct sockaddr_storage relayed;
	uint8_t out[1024];
	struct stun_msg m;
	char a[ADDR_STRLEN];

	teardown();
	start(ext, 1);
	ck_assert_int_eq(allocate(&m, out, sizeof(out)), 0);
	stun_attr_xaddr(stun_msg_find(&m, STUN_A_XOR_RELAYED_ADDRESS), m.txid16, &relayed);
	addr_fmt_ip((struct sockaddr *)&relayed, a, sizeof(a));
	ck_assert_str_eq(a, "198.51.100.99");
	ck_assert_uint_eq(addr_port((struct sockaddr *)&relayed),
	    addr_port((struct sockaddr *)&io_log.last_bound));
	/* The external address counts as our own: relay to relay through it is allowed. */
	snprintf(a, sizeof(a), "198.51.100.99:%u", addr_port((struct sockaddr *)&relayed));
	ck_assert_int_eq(permit(a), 0);
}
END_TEST

START_TEST(test_total_quota)
{
	static const struct config_arg q[] = { { "total_quota", "1" } };
	uint8_t out[1024];
	struct stun_msg m;

	teardown();
	start(q, 1);
	ck_assert_int_eq(allocate(&m, out, sizeof(out)), 0);
	addr_parse("198.51.100.20:40020", 0, &client);
	ck_assert_int_eq(allocate(&m, out, sizeof(out)), 508);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("turn");
	TCase *tc = tcase_create("turn");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_challenge);
	tcase_add_test(tc, test_allocate_and_retransmit);
	tcase_add_test(tc, test_auth_failures);
	tcase_add_test(tc, test_sha256_and_bid_down);
	tcase_add_test(tc, test_allocate_errors);
	tcase_add_test(tc, test_dual_allocation_and_port_retry);
	tcase_add_test(tc, test_refresh_and_wrong_user);
	tcase_add_test(tc, test_send_data_and_permission_expiry);
	tcase_add_test(tc, test_send_checks_ports);
	tcase_add_test(tc, test_channels);
	tcase_add_test(tc, test_icmp_to_client);
	tcase_add_test(tc, test_bandwidth_limit);
	tcase_add_test(tc, test_strict_channels);
	tcase_add_test(tc, test_denied_peers_get_403);
	tcase_add_test(tc, test_allow_and_deny_lists);
	tcase_add_test(tc, test_shared_secret_and_quota);
	tcase_add_test(tc, test_userhash);
	tcase_add_test(tc, test_even_port_reservation);
	tcase_add_test(tc, test_external_address);
	tcase_add_test(tc, test_total_quota);
	tcase_add_test(tc, test_tls_listener_is_own);
	suite_add_tcase(s, tc);
	return check_run(s);
}
