/* check_stun.c: the codec against the RFC 5769 vectors, malformed messages and RFC 8489 parsing rules. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <string.h>

#include <check.h>
#include <openssl/hmac.h>

#include "rfc5769_vectors.h"
#include "stun.h"
#include "check_run.h"

#define PW	((const uint8_t *)RFC5769_SHORT_TERM_PASSWORD)
#define PWLEN	(sizeof(RFC5769_SHORT_TERM_PASSWORD) - 1)

/* An attribute's value as a NUL-terminated string, for comparisons. */
static const char *
attr_str(const struct stun_msg *m, uint16_t type, char *buf, size_t len)
{
	const struct stun_attr *a = stun_msg_find(m, type);

	ck_assert_ptr_nonnull(a);
	ck_assert_uint_lt(a->len, len);
	memcpy(buf, a->val, a->len);
	buf[a->len] = '\0';
	return buf;
}

START_TEST(test_rfc5769_request)
{
	struct stun_msg m;
	char s[64];
	uint32_t prio;

	ck_assert_int_eq(stun_msg_parse(&m, rfc5769_request, sizeof(rfc5769_request)), 0);
	ck_assert_uint_eq(m.method, STUN_BINDING);
	ck_assert_uint_eq(m.cls, STUN_REQUEST);
	ck_assert(!m.classic);
	ck_assert(memcmp(m.txid16 + 4, rfc5769_transaction_id, 12) == 0);
	ck_assert_str_eq(attr_str(&m, STUN_A_SOFTWARE, s, sizeof(s)), RFC5769_REQUEST_SOFTWARE);
	ck_assert_str_eq(attr_str(&m, STUN_A_USERNAME, s, sizeof(s)), RFC5769_REQUEST_USERNAME);
	ck_assert_int_eq(stun_attr_u32(stun_msg_find(&m, STUN_A_PRIORITY), &prio), 0);
	ck_assert_uint_eq(prio, RFC5769_REQUEST_PRIORITY);
	ck_assert_uint_eq(m.nunknown, 0);
	ck_assert(stun_check_fingerprint(&m));
	ck_assert(stun_check_integrity(&m, PW, PWLEN));
	ck_assert(!stun_check_integrity(&m, (const uint8_t *)"wrong", 5));
}
END_TEST

/* Check one RFC 5769 response: mapped address, integrity, fingerprint, and our encoding of the address. */
static void
check_response(const uint8_t *msg, size_t len, const struct sockaddr *want)
{
	struct sockaddr_storage got;
	const struct stun_attr *a;
	struct stun_msg m;
	uint8_t out[128];
	struct wbuf w;
	char s[64];

	ck_assert_int_eq(stun_msg_parse(&m, msg, len), 0);
	ck_assert_uint_eq(m.cls, STUN_SUCCESS);
	ck_assert_str_eq(attr_str(&m, STUN_A_SOFTWARE, s, sizeof(s)), RFC5769_RESPONSE_SOFTWARE);
	a = stun_msg_find(&m, STUN_A_XOR_MAPPED_ADDRESS);
	ck_assert_ptr_nonnull(a);
	ck_assert_int_eq(stun_attr_xaddr(a, m.txid16, &got), 0);
	ck_assert_int_eq(got.ss_family, want->sa_family);
	ck_assert(memcmp(&got, want, want->sa_family == AF_INET ?
	    sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6)) == 0);
	ck_assert(stun_check_integrity(&m, PW, PWLEN));
	ck_assert(stun_check_fingerprint(&m));
	/* Our encoder writes the same XOR-MAPPED-ADDRESS bytes as the RFC. */
	wbuf_init(&w, out, sizeof(out));
	ck_assert_int_eq(stun_build_init(&w, STUN_BINDING, STUN_SUCCESS, m.txid16), 0);
	ck_assert_int_eq(stun_put_xaddr(&w, STUN_A_XOR_MAPPED_ADDRESS, want), 0);
	ck_assert(memcmp(out + STUN_HDR_LEN, a->val - 4, 4 + a->len) == 0);
}

START_TEST(test_rfc5769_response_v4)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(RFC5769_MAPPED_PORT) };

	memcpy(&sin.sin_addr, rfc5769_mapped_v4, 4);
	check_response(rfc5769_response_v4, sizeof(rfc5769_response_v4), (struct sockaddr *)&sin);
}
END_TEST

START_TEST(test_rfc5769_response_v6)
{
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_port = htons(RFC5769_MAPPED_PORT) };

	memcpy(&sin6.sin6_addr, rfc5769_mapped_v6, 16);
	check_response(rfc5769_response_v6, sizeof(rfc5769_response_v6), (struct sockaddr *)&sin6);
}
END_TEST

START_TEST(test_rfc5769_longterm)
{
	uint8_t key[32], out[256], txid16[16];
	struct stun_msg m;
	struct wbuf w;
	size_t keylen;
	char s[64];

	/* The password needs SASLprep: U+00AD vanishes, U+00AA and U+2168 map. */
	ck_assert_int_eq(stun_prep_saslprep(rfc5769_lt_password, s, sizeof(s)), 0);
	ck_assert_str_eq(s, RFC5769_LT_PASSWORD_SASLPREP);
	ck_assert_int_eq(stun_longterm_key(STUN_PWALG_MD5, rfc5769_lt_username,
	    RFC5769_LT_REALM, rfc5769_lt_password, key, &keylen), 0);
	ck_assert_uint_eq(keylen, 16);
	ck_assert(memcmp(key, rfc5769_lt_key, 16) == 0);
	ck_assert_int_eq(stun_msg_parse(&m, rfc5769_request_lt, sizeof(rfc5769_request_lt)), 0);
	ck_assert_str_eq(attr_str(&m, STUN_A_USERNAME, s, sizeof(s)), RFC5769_LT_USERNAME);
	ck_assert_str_eq(attr_str(&m, STUN_A_NONCE, s, sizeof(s)), RFC5769_LT_NONCE);
	ck_assert_str_eq(attr_str(&m, STUN_A_REALM, s, sizeof(s)), RFC5769_LT_REALM);
	ck_assert(stun_check_integrity(&m, key, keylen));
	/* This vector pads with zeros, so our builder must reproduce it byte for byte. */
	memcpy(txid16, m.txid16, 16);
	wbuf_init(&w, out, sizeof(out));
	stun_build_init(&w, STUN_BINDING, STUN_REQUEST, txid16);
	stun_put(&w, STUN_A_USERNAME, RFC5769_LT_USERNAME, strlen(RFC5769_LT_USERNAME));
	stun_put(&w, STUN_A_NONCE, RFC5769_LT_NONCE, strlen(RFC5769_LT_NONCE));
	stun_put(&w, STUN_A_REALM, RFC5769_LT_REALM, strlen(RFC5769_LT_REALM));
	ck_assert_int_eq(stun_put_integrity(&w, key, keylen), 0);
	ck_assert_int_eq(stun_build_end(&w), (ssize_t)sizeof(rfc5769_request_lt));
	ck_assert(memcmp(out, rfc5769_request_lt, sizeof(rfc5769_request_lt)) == 0);
}
END_TEST

/* Build a Binding request with a FINGERPRINT into out; returns its length. */
static size_t
build_binding(uint8_t *out, size_t cap)
{
	static const uint8_t txid16[16] = { 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };
	struct wbuf w;

	wbuf_init(&w, out, cap);
	stun_build_init(&w, STUN_BINDING, STUN_REQUEST, txid16);
	stun_put(&w, STUN_A_SOFTWARE, "abc", 3);
	stun_put_fingerprint(&w);
	ck_assert_int_gt(stun_build_end(&w), 0);
	return w.len;
}

START_TEST(test_malformed_header)
{
	uint8_t b[64];
	struct stun_msg m;
	size_t n = build_binding(b, sizeof(b));

	ck_assert_int_eq(stun_msg_parse(&m, b, n), 0);
	ck_assert_int_eq(stun_msg_parse(&m, b, 19), -EINVAL);		/* truncated header */
	ck_assert_int_eq(stun_msg_parse(&m, b, n - 4), -EINVAL);	/* length does not match */
	b[3] ^= 2;							/* not a multiple of 4 */
	ck_assert_int_eq(stun_msg_parse(&m, b, n), -EINVAL);
	b[3] ^= 2;
	b[0] |= 0x80;							/* first two bits must be 0 */
	ck_assert_int_eq(stun_msg_parse(&m, b, n), -EINVAL);
}
END_TEST

START_TEST(test_attr_overrun_and_bad_fingerprint)
{
	uint8_t b[64];
	struct stun_msg m;
	size_t n = build_binding(b, sizeof(b));

	/* SOFTWARE claims 200 bytes: the attribute runs past the message. */
	b[STUN_HDR_LEN + 2] = 0;
	b[STUN_HDR_LEN + 3] = 200;
	ck_assert_int_eq(stun_msg_parse(&m, b, n), -EBADMSG);
	ck_assert_uint_eq(m.method, STUN_BINDING);	/* the header is kept, to answer 400 */
	ck_assert_uint_eq(m.nattrs, 0);
	n = build_binding(b, sizeof(b));
	b[n - 1] ^= 1;					/* wrong FINGERPRINT: discarded */
	ck_assert_int_eq(stun_msg_parse(&m, b, n), -EINVAL);
}
END_TEST

/* Start a message of method and class in b (cap bytes), with a fixed transaction ID. */
static void
begin_msg(struct wbuf *w, uint8_t *b, size_t cap, uint16_t method, uint8_t cls)
{
	static const uint8_t txid16[16] = { 0x21, 0x12, 0xa4, 0x42, 7 };

	wbuf_init(w, b, cap);
	ck_assert_int_eq(stun_build_init(w, method, cls, txid16), 0);
}

START_TEST(test_fingerprint_not_last)
{
	uint8_t b[64];
	struct stun_msg m;
	struct wbuf w;

	begin_msg(&w, b, sizeof(b), STUN_BINDING, STUN_REQUEST);
	stun_put_fingerprint(&w);
	stun_put(&w, STUN_A_SOFTWARE, "x", 1);
	ck_assert_int_eq(stun_msg_parse(&m, b, w.len), -EBADMSG);
}
END_TEST

START_TEST(test_after_integrity_ignored)
{
	static const uint8_t key[] = "k";
	uint8_t b[256];
	struct stun_msg m;
	struct wbuf w;

	begin_msg(&w, b, sizeof(b), STUN_BINDING, STUN_REQUEST);
	stun_put(&w, STUN_A_USERNAME, "u", 1);
	stun_put_integrity(&w, key, 1);
	stun_put(&w, STUN_A_SOFTWARE, "late", 4);	/* after MI: ignored */
	stun_put(&w, 0x0031, "zz", 2);			/* unknown but after MI: ignored too */
	stun_put_integrity_sha256(&w, key, 1);		/* allowed after MI */
	stun_put(&w, STUN_A_REALM, "late", 4);		/* after MI-SHA256: ignored */
	stun_put_fingerprint(&w);
	ck_assert_int_eq(stun_msg_parse(&m, b, w.len), 0);
	ck_assert_ptr_null(stun_msg_find(&m, STUN_A_SOFTWARE));
	ck_assert_ptr_null(stun_msg_find(&m, STUN_A_REALM));
	ck_assert_uint_eq(m.nunknown, 0);
	ck_assert_int_ge(m.mi256, 0);
	ck_assert(stun_check_integrity(&m, key, 1));
	ck_assert(stun_check_integrity_sha256(&m, key, 1));
	ck_assert(!stun_check_integrity_sha256(&m, (const uint8_t *)"j", 1));
	ck_assert(stun_check_fingerprint(&m));
}
END_TEST

START_TEST(test_integrity_sha256_truncated)
{
	uint8_t b[128], mac[32];
	unsigned int maclen = 0;
	struct stun_msg m;
	struct wbuf w;
	size_t at;

	/* RFC 8489 section 14.6: a MESSAGE-INTEGRITY-SHA256 of 16 bytes is the leading bytes. */
	begin_msg(&w, b, sizeof(b), STUN_BINDING, STUN_REQUEST);
	stun_put(&w, STUN_A_USERNAME, "user", 4);
	at = w.len;
	wbuf_put_u16_at(&w, 2, (uint16_t)(at + 4 + 16 - STUN_HDR_LEN));
	ck_assert_ptr_nonnull(HMAC(EVP_sha256(), "key", 3, b, at, mac, &maclen));
	stun_put(&w, STUN_A_MESSAGE_INTEGRITY_SHA256, mac, 16);
	ck_assert_int_eq(stun_msg_parse(&m, b, w.len), 0);
	ck_assert(stun_check_integrity_sha256(&m, (const uint8_t *)"key", 3));
	b[at + 4 + 15] ^= 1;
	ck_assert_int_eq(stun_msg_parse(&m, b, w.len), 0);
	ck_assert(!stun_check_integrity_sha256(&m, (const uint8_t *)"key", 3));
}
END_TEST

START_TEST(test_unknown_attributes)
{
	uint8_t b[64];
	struct stun_msg m;
	struct wbuf w;

	begin_msg(&w, b, sizeof(b), STUN_BINDING, STUN_REQUEST);
	stun_put(&w, 0x8fff, "opt", 3);		/* comprehension-optional: ignored */
	stun_put(&w, 0x0031, "req", 3);		/* comprehension-required: noted */
	stun_put(&w, STUN_A_SOFTWARE, "one", 3);
	stun_put(&w, STUN_A_SOFTWARE, "two", 3);	/* a duplicate: the first counts */
	ck_assert_int_eq(stun_msg_parse(&m, b, w.len), 0);
	ck_assert_uint_eq(m.nunknown, 1);
	ck_assert_uint_eq(m.unknown[0], 0x0031);
	ck_assert(memcmp(stun_msg_find(&m, STUN_A_SOFTWARE)->val, "one", 3) == 0);
}
END_TEST

START_TEST(test_attribute_length_rules)
{
	uint8_t b[64];
	struct stun_msg m;
	struct wbuf w;

	begin_msg(&w, b, sizeof(b), STUN_BINDING, STUN_REQUEST);
	stun_put(&w, STUN_A_MESSAGE_INTEGRITY, "short", 5);
	ck_assert_int_eq(stun_msg_parse(&m, b, w.len), -EBADMSG);
	begin_msg(&w, b, sizeof(b), STUN_BINDING, STUN_REQUEST);
	stun_put(&w, STUN_A_XOR_MAPPED_ADDRESS, "\0\3\0\0\1\2\3\4", 8);	/* family 3 */
	ck_assert_int_eq(stun_msg_parse(&m, b, w.len), 0);
	{
		struct sockaddr_storage ss;
		ck_assert_int_eq(stun_attr_xaddr(&m.attrs[0], m.txid16, &ss), -EAFNOSUPPORT);
	}
}
END_TEST

START_TEST(test_builder_capacity)
{
	uint8_t b[40];
	struct wbuf w;

	memset(b, 0xee, sizeof(b));
	begin_msg(&w, b, 32, STUN_BINDING, STUN_SUCCESS);
	stun_put(&w, STUN_A_SOFTWARE, "0123456789", 10);	/* needs 36 bytes in all */
	ck_assert_int_eq(stun_build_end(&w), -ENOSPC);
	ck_assert_int_eq(stun_put_fingerprint(&w), -ENOSPC);
	ck_assert_uint_eq(b[32], 0xee);
	ck_assert_uint_eq(b[39], 0xee);
}
END_TEST

START_TEST(test_type_encoding)
{
	ck_assert_uint_eq(stun_type(STUN_BINDING, STUN_REQUEST), 0x0001);
	ck_assert_uint_eq(stun_type(STUN_BINDING, STUN_SUCCESS), 0x0101);
	ck_assert_uint_eq(stun_type(STUN_BINDING, STUN_ERROR), 0x0111);
	ck_assert_uint_eq(stun_type(STUN_BINDING, STUN_INDICATION), 0x0011);
	ck_assert_uint_eq(stun_type(TURN_ALLOCATE, STUN_ERROR), 0x0113);
	ck_assert_uint_eq(stun_type(TURN_DATA, STUN_INDICATION), 0x0017);
	ck_assert_uint_eq(stun_type(TURN_CONNECTION_ATTEMPT, STUN_INDICATION), 0x001c);
	ck_assert_uint_eq(stun_type(0xfff, STUN_ERROR), 0x3fff);
}
END_TEST

START_TEST(test_error_code_roundtrip)
{
	const char *reason;
	struct stun_msg m;
	uint8_t b[128];
	struct wbuf w;
	size_t rlen;
	int code;

	begin_msg(&w, b, sizeof(b), TURN_ALLOCATE, STUN_ERROR);
	ck_assert_int_eq(stun_put_error(&w, 437, NULL), 0);
	ck_assert_int_eq(stun_put_error(&w, 700, NULL), -EINVAL);
	ck_assert_int_eq(stun_msg_parse(&m, b, w.len), 0);
	ck_assert_int_eq(stun_attr_error(stun_msg_find(&m, STUN_A_ERROR_CODE), &code,
	    &reason, &rlen), 0);
	ck_assert_int_eq(code, 437);
	ck_assert_uint_eq(rlen, strlen("Allocation Mismatch"));
	ck_assert(memcmp(reason, "Allocation Mismatch", rlen) == 0);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("stun");
	TCase *vec = tcase_create("rfc5769"), *bad = tcase_create("malformed"),
	    *rules = tcase_create("rules");

	tcase_add_test(vec, test_rfc5769_request);
	tcase_add_test(vec, test_rfc5769_response_v4);
	tcase_add_test(vec, test_rfc5769_response_v6);
	tcase_add_test(vec, test_rfc5769_longterm);
	tcase_add_test(bad, test_malformed_header);
	tcase_add_test(bad, test_attr_overrun_and_bad_fingerprint);
	tcase_add_test(bad, test_fingerprint_not_last);
	tcase_add_test(bad, test_attribute_length_rules);
	tcase_add_test(rules, test_after_integrity_ignored);
	tcase_add_test(rules, test_integrity_sha256_truncated);
	tcase_add_test(rules, test_unknown_attributes);
	tcase_add_test(rules, test_builder_capacity);
	tcase_add_test(rules, test_type_encoding);
	tcase_add_test(rules, test_error_code_roundtrip);
	suite_add_tcase(s, vec);
	suite_add_tcase(s, bad);
	suite_add_tcase(s, rules);
	return check_run(s);
}
