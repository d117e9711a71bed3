/* check_server.c: the protocol core driven directly: Binding replies, error paths, drops, counters. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "config.h"
#include "shared.h"
#include "server.h"
#include "stats.h"
#include "stun.h"
#include "check_run.h"

static struct config	*cfg;
static struct stats	 st;
static struct server	*srv;
static struct turn_shared shared;
/* Binding never opens a relay or sends data: an I/O table that fails loudly. */
static const struct server_io no_io;
static struct sockaddr_in peer4, local4;
static struct sockaddr_in6 peer6, local6;

/* A core with the given command-line style overrides. */
static void
setup_with(const struct config_arg *args, unsigned n)
{
	char *cause = NULL;

	cfg = config_load(NULL, args, n, &cause);
	ck_assert_ptr_nonnull(cfg);
	ck_assert_int_eq(shared_build(cfg, &shared, &cause), 0);
	memset(&st, 0, sizeof(st));
	srv = server_new(cfg, &shared, &no_io, &st);
	peer4.sin_family = AF_INET;
	peer4.sin_port = htons(40000);
	inet_pton(AF_INET, "198.51.100.7", &peer4.sin_addr);
	local4.sin_family = AF_INET;
	local4.sin_port = htons(3478);
	inet_pton(AF_INET, "192.0.2.1", &local4.sin_addr);
	peer6.sin6_family = AF_INET6;
	peer6.sin6_port = htons(50001);
	inet_pton(AF_INET6, "2001:db8::77", &peer6.sin6_addr);
	local6.sin6_family = AF_INET6;
	local6.sin6_port = htons(3478);
	inet_pton(AF_INET6, "2001:db8::1", &local6.sin6_addr);
}

static void
setup(void)
{
	setup_with(NULL, 0);
}

static void
teardown(void)
{
	server_free(srv);
	shared_free(&shared);
	config_free(cfg);
}

/* Run one message through the core from peer4 over UDP. */
static ssize_t
process(const uint8_t *in, size_t len, uint8_t *out, size_t cap, const struct sockaddr *peer,
    const struct sockaddr *local)
{
	struct pkt_ctx pkt = { TRANSPORT_UDP, peer, local, NULL, 1000, 0, NULL, NULL };

	return server_process(srv, &pkt, in, len, out, cap);
}

/* A request of the given method and class, with optional extra attribute and FINGERPRINT. */
static size_t
request(uint8_t *b, size_t cap, uint16_t method, uint8_t cls, const uint8_t *txid16,
    uint16_t extra_type, const void *extra, size_t extra_len, int fp)
{
	struct wbuf w;

	wbuf_init(&w, b, cap);
	stun_build_init(&w, method, cls, txid16);
	if (extra_type != 0)
		stun_put(&w, extra_type, extra, extra_len);
	if (fp)
		stun_put_fingerprint(&w);
	ck_assert_int_gt(stun_build_end(&w), 0);
	return w.len;
}

static const uint8_t txid[16] = { 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };

START_TEST(test_binding_v4)
{
	uint8_t in[128], out[512];
	struct sockaddr_storage got;
	struct stun_msg m;
	ssize_t n;

	n = process(in, request(in, sizeof(in), STUN_BINDING, STUN_REQUEST, txid, 0, NULL, 0, 1),
	    out, sizeof(out), (struct sockaddr *)&peer4, (struct sockaddr *)&local4);
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(stun_msg_parse(&m, out, (size_t)n), 0);
	ck_assert_uint_eq(m.cls, STUN_SUCCESS);
	ck_assert(memcmp(m.txid16, txid, 16) == 0);
	ck_assert_int_eq(stun_attr_xaddr(stun_msg_find(&m, STUN_A_XOR_MAPPED_ADDRESS), m.txid16, &got), 0);
	ck_assert(memcmp(&got, &peer4, sizeof(peer4)) == 0);
	ck_assert_ptr_null(stun_msg_find(&m, STUN_A_MAPPED_ADDRESS));
	ck_assert_ptr_nonnull(stun_msg_find(&m, STUN_A_SOFTWARE));
	ck_assert_int_ge(m.fp, 0);		/* the request had one */
	ck_assert_uint_eq(st.reply_ok, 1);
}
END_TEST

START_TEST(test_binding_v6_without_fingerprint)
{
	uint8_t in[128], out[512];
	struct sockaddr_storage got;
	struct stun_msg m;
	ssize_t n;

	n = process(in, request(in, sizeof(in), STUN_BINDING, STUN_REQUEST, txid, 0, NULL, 0, 0),
	    out, sizeof(out), (struct sockaddr *)&peer6, (struct sockaddr *)&local6);
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(stun_msg_parse(&m, out, (size_t)n), 0);
	ck_assert_int_eq(stun_attr_xaddr(stun_msg_find(&m, STUN_A_XOR_MAPPED_ADDRESS), m.txid16, &got), 0);
	ck_assert_int_eq(got.ss_family, AF_INET6);
	ck_assert(memcmp(&((struct sockaddr_in6 *)&got)->sin6_addr, &peer6.sin6_addr, 16) == 0);
	ck_assert_uint_eq(((struct sockaddr_in6 *)&got)->sin6_port, peer6.sin6_port);
	ck_assert_int_eq(m.fp, -1);
}
END_TEST

START_TEST(test_classic_binding)
{
	static const uint8_t classic_id[16] = { 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };
	uint8_t in[128], out[512];
	struct sockaddr_storage got;
	struct stun_msg m;
	ssize_t n;

	n = process(in, request(in, sizeof(in), STUN_BINDING, STUN_REQUEST, classic_id, 0, NULL, 0, 0),
	    out, sizeof(out), (struct sockaddr *)&peer4, (struct sockaddr *)&local4);
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(stun_msg_parse(&m, out, (size_t)n), 0);
	ck_assert(m.classic);
	ck_assert(memcmp(m.txid16, classic_id, 16) == 0);	/* all 16 bytes echoed */
	ck_assert_uint_eq(m.nattrs, 1);				/* MAPPED-ADDRESS only */
	ck_assert_int_eq(stun_attr_addr(stun_msg_find(&m, STUN_A_MAPPED_ADDRESS), &got), 0);
	ck_assert(memcmp(&got, &peer4, sizeof(peer4)) == 0);
	/* Other methods without the cookie are invalid: no answer. */
	n = process(in, request(in, sizeof(in), TURN_ALLOCATE, STUN_REQUEST, classic_id, 0, NULL, 0, 0),
	    out, sizeof(out), (struct sockaddr *)&peer4, (struct sockaddr *)&local4);
	ck_assert_int_eq(n, 0);
}
END_TEST

START_TEST(test_classic_off)
{
	static const struct config_arg args[] = { { "rfc3489", "false" } };
	static const uint8_t classic_id[16] = { 0xde, 0xad };
	uint8_t in[128], out[512];

	teardown();
	setup_with(args, 1);
	ck_assert_int_eq(process(in, request(in, sizeof(in), STUN_BINDING, STUN_REQUEST, classic_id,
	    0, NULL, 0, 0), out, sizeof(out), (struct sockaddr *)&peer4, (struct sockaddr *)&local4), 0);
}
END_TEST

START_TEST(test_mapped_address_and_no_software)
{
	static const struct config_arg args[] = { { "mapped_address", "true" }, { "software", "" } };
	uint8_t in[128], out[512];
	struct stun_msg m;
	ssize_t n;

	teardown();
	setup_with(args, 2);
	n = process(in, request(in, sizeof(in), STUN_BINDING, STUN_REQUEST, txid, 0, NULL, 0, 0),
	    out, sizeof(out), (struct sockaddr *)&peer4, (struct sockaddr *)&local4);
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(stun_msg_parse(&m, out, (size_t)n), 0);
	ck_assert_ptr_nonnull(stun_msg_find(&m, STUN_A_MAPPED_ADDRESS));
	ck_assert_ptr_nonnull(stun_msg_find(&m, STUN_A_XOR_MAPPED_ADDRESS));
	ck_assert_ptr_null(stun_msg_find(&m, STUN_A_SOFTWARE));
}
END_TEST

/* Expect an error response with this code; return the parsed reply in m. */
static void
expect_error(const uint8_t *out, ssize_t n, int want, struct stun_msg *m)
{
	const char *reason;
	size_t rlen;
	int code;

	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(stun_msg_parse(m, out, (size_t)n), 0);
	ck_assert_uint_eq(m->cls, STUN_ERROR);
	ck_assert_int_eq(stun_attr_error(stun_msg_find(m, STUN_A_ERROR_CODE), &code, &reason, &rlen), 0);
	ck_assert_int_eq(code, want);
}

START_TEST(test_unknown_attribute_420)
{
	uint8_t in[128], out[512];
	const struct stun_attr *ua;
	struct stun_msg m;

	expect_error(out, process(in, request(in, sizeof(in), STUN_BINDING, STUN_REQUEST, txid,
	    0x0031, "abcd", 4, 1), out, sizeof(out), (struct sockaddr *)&peer4,
	    (struct sockaddr *)&local4), 420, &m);
	ua = stun_msg_find(&m, STUN_A_UNKNOWN_ATTRIBUTES);
	ck_assert_ptr_nonnull(ua);
	ck_assert_uint_eq(ua->len, 2);
	ck_assert_uint_eq((ua->val[0] << 8) | ua->val[1], 0x0031);
	ck_assert_uint_eq(st.reply_code[420], 1);
}
END_TEST

START_TEST(test_change_request_420)
{
	static const uint8_t change_ip[4] = { 0, 0, 0, 4 }, none[4] = { 0 };
	uint8_t in[128], out[512];
	struct stun_msg m;

	expect_error(out, process(in, request(in, sizeof(in), STUN_BINDING, STUN_REQUEST, txid,
	    STUN_A_CHANGE_REQUEST, change_ip, 4, 0), out, sizeof(out), (struct sockaddr *)&peer4,
	    (struct sockaddr *)&local4), 420, &m);
	ck_assert_ptr_nonnull(stun_msg_find(&m, STUN_A_UNKNOWN_ATTRIBUTES));
	/* No flags asks for nothing: answered. */
	ck_assert_int_gt(process(in, request(in, sizeof(in), STUN_BINDING, STUN_REQUEST, txid,
	    STUN_A_CHANGE_REQUEST, none, 4, 0), out, sizeof(out), (struct sockaddr *)&peer4,
	    (struct sockaddr *)&local4), 0);
	ck_assert_int_eq(stun_msg_parse(&m, out, 20 + ((out[2] << 8) | out[3])), 0);
	ck_assert_uint_eq(m.cls, STUN_SUCCESS);
}
END_TEST

START_TEST(test_malformed_400_and_drops)
{
	uint8_t in[128], out[512];
	struct stun_msg m;
	size_t n;

	/* An attribute overruns the message: 400. */
	n = request(in, sizeof(in), STUN_BINDING, STUN_REQUEST, txid, STUN_A_SOFTWARE, "abcd", 4, 0);
	in[STUN_HDR_LEN + 3] = 40;
	expect_error(out, process(in, n, out, sizeof(out), (struct sockaddr *)&peer4,
	    (struct sockaddr *)&local4), 400, &m);
	/* An unknown method: 400. */
	expect_error(out, process(in, request(in, sizeof(in), 0x0ff, STUN_REQUEST, txid, 0, NULL, 0, 0),
	    out, sizeof(out), (struct sockaddr *)&peer4, (struct sockaddr *)&local4), 400, &m);
	/* Indications and responses: no answer. */
	ck_assert_int_eq(process(in, request(in, sizeof(in), STUN_BINDING, STUN_INDICATION, txid, 0,
	    NULL, 0, 0), out, sizeof(out), (struct sockaddr *)&peer4, (struct sockaddr *)&local4), 0);
	ck_assert_int_eq(process(in, request(in, sizeof(in), STUN_BINDING, STUN_SUCCESS, txid, 0,
	    NULL, 0, 0), out, sizeof(out), (struct sockaddr *)&peer4, (struct sockaddr *)&local4), 0);
	ck_assert_uint_eq(st.rx_ignored, 2);
	/* Not STUN at all: dropped and counted. */
	ck_assert_int_eq(process((const uint8_t *)"\xffhello, not stun!!", 21, out, sizeof(out),
	    (struct sockaddr *)&peer4, (struct sockaddr *)&local4), 0);
	ck_assert_uint_eq(st.rx_nonstun, 1);
	/* A reply that does not fit the output buffer is not sent half-built. */
	ck_assert_int_eq(process(in, request(in, sizeof(in), STUN_BINDING, STUN_REQUEST, txid, 0, NULL,
	    0, 1), out, 40, (struct sockaddr *)&peer4, (struct sockaddr *)&local4), 0);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("server");
	TCase *tc = tcase_create("binding");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_binding_v4);
	tcase_add_test(tc, test_binding_v6_without_fingerprint);
	tcase_add_test(tc, test_classic_binding);
	tcase_add_test(tc, test_classic_off);
	tcase_add_test(tc, test_mapped_address_and_no_software);
	tcase_add_test(tc, test_unknown_attribute_420);
	tcase_add_test(tc, test_change_request_420);
	tcase_add_test(tc, test_malformed_400_and_drops);
	suite_add_tcase(s, tc);
	return check_run(s);
}
