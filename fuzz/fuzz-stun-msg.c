/*
 * fuzz-stun-msg.c: libFuzzer target for the STUN codec (parse, attribute
 * decoders, writer), stream/ChannelData framing, and the TURN core driven
 * through a sequence of messages per input.
 *
 * Input format:
 *   byte 0   flags: bit 0 the configuration (0 or 1, see fuzz_variants);
 *            bit 1 TCP, else UDP; bit 2 an IPv6 5-tuple, else IPv4;
 *            bit 3 start with an authenticated Allocate built here;
 *            bit 4 that Allocate asks for IPv6 as well; bit 5 it carries
 *            FINGERPRINT; bits 6-7 its credential kind (enum fuzz_cred)
 *   byte 1   relay_open: call n fails with -EADDRINUSE when bit n % 8 is set
 *   byte 2   relay_send call n fails when bit n % 4 is set; client_send
 *            call n when bit 4 + n % 4 is set
 *   then up to FUZZ_MAX_OPS records: op (1 byte), length (2 bytes, big
 *   endian; cut to what is left), payload. op & 7 is one of enum fuzz_op:
 *     RAW     payload as a datagram, or on TCP cut into frames as stream.c
 *             does; op >> 3, when not 0, makes the output buffer 8 * that
 *     SIGNED  payload is type (2), transaction ID (12), then attributes as
 *             type (2), length (2), value (unpadded); the harness drops
 *             any credential attributes and appends USERNAME (or
 *             USERHASH), REALM, a NONCE minted for this client,
 *             PASSWORD-ALGORITHM(S) and MESSAGE-INTEGRITY(-SHA256) with
 *             the right key; op bits 3-4 the credential kind, bit 5
 *             FINGERPRINT, bit 6 a stale nonce, bit 7 another client's
 *     RELAY_IN payload: selector byte (bit 0 an explicit peer follows as
 *             family (1), port (2), IP (4 or 16), else the last permitted
 *             peer; bit 1 with that, the port follows (2)), then the
 *             datagram, handed to server_relay_in on this 5-tuple's
 *             allocation
 *     TICK    advance the clock by the payload's first 4 bytes (ms,
 *             big endian; 1 s when empty), then server_tick
 *     CLIENT  payload[0]: bits 0-1 client port, bit 2 TCP, bit 3 IPv6
 *     CLOSE   server_stream_closed on this 5-tuple
 *     CODEC   the codec and framing checks alone on the payload
 *     BADKEY  as SIGNED, but with a wrong password: 401 (or 438) expected
 *
 * A fresh core and fresh shared state (credentials, port pool, quotas) are
 * built for every input; at its end the clock jumps far ahead, every
 * allocation must expire, every relay handle be closed and (in variant 1,
 * which has eight relay ports and a total quota of three) every port and
 * quota slot be free again.
 *
 * Setting FUZZ_SKIP_POLICY in the environment disables the check that
 * relay_send only ever sends to a peer address the policy allows, and
 * FUZZ_SKIP_ATOMIC the check that a failed CreatePermission/ChannelBind
 * changes nothing, so that fuzzing can go on past those findings.
 * FUZZ_TRACE prints each message and its answer, for checking seeds.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "addr.h"
#include "auth.h"
#include "chandata.h"
#include "config.h"
#include "core.h"
#include "log.h"
#include "policy.h"
#include "rbuf.h"
#include "server.h"
#include "shared.h"
#include "stats.h"
#include "stun.h"
#include "turn.h"

#define FUZZ_KEY	"VOkJxbRl1RmTxUk/WvJxBt"	/* RFC 5769 short-term password */
#define FUZZ_KEYLEN	(sizeof(FUZZ_KEY) - 1)
#define FUZZ_OUT_LEN	2048	/* what listen.c gives the core */
#define FUZZ_NOW_MS	1000000000ull
#define FUZZ_WALL_S	1700000000ull
#define FUZZ_FAR_MS	(100ull * 86400 * 1000)	/* past every lifetime */
#define FUZZ_MAX_OPS	64
#define FUZZ_SIGNED_CAP	8192	/* the default max_frame */
#define FUZZ_NCLIENTS	4
#define FUZZ_HANDLE_MAGIC 0x52454c41u

/* A failed check is a finding: say which, then abort so libFuzzer keeps the input. */
#define FUZZ_CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: check failed: %s\n",		\
		    __FILE__, __LINE__, #cond);				\
		abort();						\
	}								\
} while (0)

/* How fuzz_codec writes an attribute back. */
enum fuzz_how {
	FUZZ_RAW,	/* stun_put of the bytes as they came */
	FUZZ_ADDR,	/* stun_put_addr of the decoded address */
	FUZZ_XADDR,	/* stun_put_xaddr of the decoded address */
	FUZZ_U32,	/* stun_put_u32 of the decoded value */
};

/* One attribute as decoded, ready to be written back. */
struct fuzz_attr {
	enum fuzz_how		 how;
	struct sockaddr_storage	 ss;
	uint32_t		 v;
};

/* The records of an input. */
enum fuzz_op {
	OP_RAW,
	OP_SIGNED,
	OP_RELAY_IN,
	OP_TICK,
	OP_CLIENT,
	OP_CLOSE,
	OP_CODEC,
	OP_BADKEY,
};

/* Which credentials a signed request carries. */
enum fuzz_cred {
	CRED_MD5,	/* USERNAME alice, MESSAGE-INTEGRITY */
	CRED_SHA256,	/* alice, PASSWORD-ALGORITHM SHA-256, MESSAGE-INTEGRITY-SHA256 */
	CRED_ALT,	/* variant 0: USERHASH of alice; variant 1: a shared-secret user */
	CRED_MD5_MI256,	/* alice, PASSWORD-ALGORITHM MD5, MESSAGE-INTEGRITY-SHA256 */
};

/* What a signed request must get. */
enum fuzz_expect {
	EXPECT_NONE,	/* not signed here */
	EXPECT_AUTH,	/* passes authentication: every reply signed with the key */
	EXPECT_401,
	EXPECT_438,
};

/* How a request was signed. */
struct fuzz_sign {
	enum fuzz_expect	 expect;
	const uint8_t		*key;
	size_t			 keylen;
};

/* One configuration and the keys its users have. */
struct fuzz_variant {
	struct config	*cfg;
	uint8_t		 md5[16], sha256[32], alt[16];
	uint8_t		 bad_md5[16], bad_sha256[32], bad_alt[16];
	uint8_t		 userhash[32];
	char		 rest_user[64];
};

/* A relay "socket" the stub I/O table handed out. */
struct fuzz_handle {
	struct fuzz_handle	*next;
	uint32_t		 magic;
	struct alloc		*a;
	unsigned		 idx;
	struct sockaddr_storage	 bound;
};

/* A server_relay_in call in flight, for client_send to check against. */
struct fuzz_relay {
	struct alloc		*a;
	const struct sockaddr	*peer;
	const uint8_t		*payload;	/* the original bytes */
	size_t			 len;
	const uint8_t		*buf;		/* the buffer the core writes into */
	size_t			 cap;
	int			 chan;		/* the channel expected, or -1: Data indication */
	unsigned		 calls;
};

/* Everything one input runs with. */
struct fuzz_run {
	const struct fuzz_variant *v;
	const struct config	*cfg;
	struct turn_shared	 shared;
	struct stats		 stats;
	struct server		*srv;
	struct pkt_ctx		 pkt;
	struct sockaddr_storage	 peer, local;
	uint64_t		 now;
	uint8_t			 open_mask, send_mask;
	unsigned		 open_calls, relay_send_calls, client_send_calls;
	/* The message server_process is working on. */
	bool			 in_process;
	const uint8_t		*cur;
	size_t			 curlen;
	/* The relay_in in flight. */
	struct fuzz_relay	*relay;
	/* The peer of the last successful CreatePermission or ChannelBind. */
	struct sockaddr_storage	 last_peer;
	bool			 have_peer;
};

/* A copy of an allocation's permissions and channels, to show that a failure changed nothing. */
struct fuzz_snap {
	struct alloc	*a;
	uint64_t	 expires_ms;
	unsigned	 nrelay;
	unsigned	 nperms;
	struct peer_ip	*perms;
	unsigned	 nchans;
	struct chan	*chans;
};

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct fuzz_variant	 fuzz_variants[2];
static struct fuzz_handle	*fuzz_handles;
static unsigned			 fuzz_nhandles;
static struct fuzz_run		*fuzz_cur;	/* for the I/O callbacks */
static bool			 fuzz_skip_policy, fuzz_skip_atomic, fuzz_trace;
/* The shell's connection objects: one per client port, transport and family. */
static char			 fuzz_conns[FUZZ_NCLIENTS][2][2];
static const uint8_t		 fuzz_pwalgs[8] = { 0, 2, 0, 0, 0, 1, 0, 0 };

/* Fill an address, or abort: the harness's own addresses are constants. */
static void
fuzz_addr(struct sockaddr_storage *ss, const char *s)
{
	FUZZ_CHECK(addr_parse(s, 0, ss) == 0);
}

/* Derive a long-term key, or abort. */
static void
fuzz_key(int alg, const char *user, const char *realm, const char *pw, uint8_t *key)
{
	size_t len;

	FUZZ_CHECK(stun_longterm_key(alg, user, realm, pw, key, &len) == 0);
	FUZZ_CHECK(len == (alg == STUN_PWALG_MD5 ? 16u : 32u));
}

/* Load one configuration and derive its users' keys. */
static void
fuzz_variant_load(struct fuzz_variant *v, const struct config_arg *args, unsigned n)
{
	char *cause = NULL, buf[600], pw[64];
	unsigned int hlen = 0;
	const char *realm;

	if ((v->cfg = config_load(NULL, args, n, &cause)) == NULL) {
		fprintf(stderr, "config_load: %s\n", cause ? cause : "failed");
		abort();
	}
	realm = v->cfg->realm;
	fuzz_key(STUN_PWALG_MD5, "alice", realm, "secret", v->md5);
	fuzz_key(STUN_PWALG_SHA256, "alice", realm, "secret", v->sha256);
	fuzz_key(STUN_PWALG_MD5, "alice", realm, "wrong", v->bad_md5);
	fuzz_key(STUN_PWALG_SHA256, "alice", realm, "wrong", v->bad_sha256);
	/* USERHASH = SHA-256(username ":" realm), RFC 8489 section 14.4. */
	snprintf(buf, sizeof(buf), "alice:%s", realm);
	FUZZ_CHECK(EVP_Digest(buf, strlen(buf), v->userhash, &hlen, EVP_sha256(),
	    NULL) == 1 && hlen == 32);
	if (v->cfg->nsecrets > 0) {
		snprintf(v->rest_user, sizeof(v->rest_user), "1900000000:bob");
		FUZZ_CHECK(auth_rest_password(v->cfg->secrets[0],
		    v->cfg->secret_algorithm, v->rest_user, pw, sizeof(pw)) == 0);
		fuzz_key(STUN_PWALG_MD5, v->rest_user, realm, pw, v->alt);
		fuzz_key(STUN_PWALG_MD5, v->rest_user, realm, "wrong", v->bad_alt);
	} else {
		snprintf(v->rest_user, sizeof(v->rest_user), "alice");
		memcpy(v->alt, v->md5, 16);
		memcpy(v->bad_alt, v->bad_md5, 16);
	}
}

/* Load both configurations once per process. */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	/* Dual-stack relays, USERHASH offered, loopback peers allowed. */
	static const struct config_arg v0[] = {
		{ "listen", "198.51.100.1:3478" },
		{ "listen", "[2001:db8::2]:3478" },
		{ "user", "alice:secret" },
		{ "user", "carol:hunter2" },
		{ "relay_ip", "127.0.0.1" },
		{ "relay_ip", "::1" },
		{ "allow_peer", "127.0.0.0/8" },
		{ "userhash", "true" },
		{ "log_level", "error" },
	};
	/* IPv4 relays behind 1:1 NAT, shared secrets, tight limits everywhere. */
	static const struct config_arg v1[] = {
		{ "listen", "198.51.100.1:3478" },
		{ "listen", "[2001:db8::2]:3478" },
		{ "user", "alice:secret" },
		{ "secret", "s3cr3t" },
		{ "secret_algorithm", "sha256" },
		{ "strict_channels", "true" },
		{ "software", "" },
		{ "rfc3489", "false" },
		{ "mapped_address", "true" },
		{ "relay_ip", "127.0.0.1" },
		{ "allow_peer", "127.0.0.0/8" },
		{ "deny_peer", "127.0.0.2" },
		{ "external_ip", "203.0.113.5/127.0.0.1" },
		{ "relay_ports", "50000-50007" },
		{ "user_quota", "2" },
		{ "total_quota", "3" },
		{ "max_permissions", "2" },
		{ "bandwidth", "2000" },
		{ "nonce_lifetime", "10" },
		{ "allocation_lifetime", "60" },
		{ "max_allocation_lifetime", "120" },
		{ "log_level", "error" },
	};

	(void)argc;
	(void)argv;
	log_set_level(LOG_LEVEL_ERROR);
	fuzz_variant_load(&fuzz_variants[0], v0, sizeof(v0) / sizeof(v0[0]));
	fuzz_variant_load(&fuzz_variants[1], v1, sizeof(v1) / sizeof(v1[0]));
	fuzz_skip_policy = getenv("FUZZ_SKIP_POLICY") != NULL;
	fuzz_skip_atomic = getenv("FUZZ_SKIP_ATOMIC") != NULL;
	fuzz_trace = getenv("FUZZ_TRACE") != NULL;
	return 0;
}

/* Is this a plain (not XORed) address attribute? */
static bool
fuzz_is_addr(uint16_t type)
{
	switch (type) {
	case STUN_A_MAPPED_ADDRESS:
	case STUN_A_RESPONSE_ADDRESS:
	case STUN_A_SOURCE_ADDRESS:
	case STUN_A_CHANGED_ADDRESS:
	case STUN_A_ALTERNATE_SERVER:
	case STUN_A_RESPONSE_ORIGIN:
	case STUN_A_OTHER_ADDRESS:
		return true;
	}
	return false;
}

/* Is this an XOR address attribute? */
static bool
fuzz_is_xaddr(uint16_t type)
{
	switch (type) {
	case STUN_A_XOR_MAPPED_ADDRESS:
	case STUN_A_XOR_PEER_ADDRESS:
	case STUN_A_XOR_RELAYED_ADDRESS:
		return true;
	}
	return false;
}

/* Is this a 32-bit attribute (FINGERPRINT aside, which has its own writer)? */
static bool
fuzz_is_u32(uint16_t type)
{
	switch (type) {
	case STUN_A_CHANGE_REQUEST:
	case STUN_A_CHANNEL_NUMBER:
	case STUN_A_LIFETIME:
	case STUN_A_REQUESTED_ADDRESS_FAMILY:
	case STUN_A_REQUESTED_TRANSPORT:
	case STUN_A_PRIORITY:
	case STUN_A_RESPONSE_PORT:
	case STUN_A_CONNECTION_ID:
	case STUN_A_ADDITIONAL_ADDRESS_FAMILY:
	case STUN_A_CACHE_TIMEOUT:
		return true;
	}
	return false;
}

/* Did an address decoder's success match the value's length and family byte? */
static void
fuzz_check_decoded(const struct stun_attr *a, const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		FUZZ_CHECK(a->len == 8 && a->val[1] == STUN_FAMILY_IPV4);
	else
		FUZZ_CHECK(ss->ss_family == AF_INET6 && a->len == 20 &&
		    a->val[1] == STUN_FAMILY_IPV6);
}

/* Run one attribute through every decoder; what it decoded to is left in fa. */
static void
fuzz_decode_attr(const struct stun_msg *m, unsigned i, struct fuzz_attr *fa)
{
	const struct stun_attr *a = &m->attrs[i], *first;
	struct sockaddr_storage tmp;
	const char *reason;
	size_t reasonlen;
	uint32_t v;
	int code, rc;

	fa->how = FUZZ_RAW;
	first = stun_msg_find(m, a->type);
	FUZZ_CHECK(first != NULL && first <= a && first->type == a->type);
	FUZZ_CHECK(a->val >= m->raw + STUN_HDR_LEN + 4 &&
	    a->val + a->len <= m->raw + m->rawlen);
	FUZZ_CHECK(stun_attr_len_ok(a->type, a->len));
	(void)stun_attr_name(a->type);

	/* Every decoder on every attribute: each must reject what it cannot read. */
	if (stun_attr_addr(a, &tmp) == 0) {
		fuzz_check_decoded(a, &tmp);
		if (fuzz_is_addr(a->type)) {
			fa->ss = tmp;
			fa->how = FUZZ_ADDR;
		}
	}
	if (stun_attr_xaddr(a, m->txid16, &tmp) == 0) {
		fuzz_check_decoded(a, &tmp);
		if (fuzz_is_xaddr(a->type)) {
			fa->ss = tmp;
			fa->how = FUZZ_XADDR;
		}
	}
	rc = stun_attr_u32(a, &v);
	FUZZ_CHECK((rc == 0) == (a->len == 4));
	if (rc == 0) {
		FUZZ_CHECK(v == ((uint32_t)a->val[0] << 24 |
		    (uint32_t)a->val[1] << 16 | (uint32_t)a->val[2] << 8 |
		    a->val[3]));
		if (fuzz_is_u32(a->type)) {
			fa->v = v;
			fa->how = FUZZ_U32;
		}
	}
	if (stun_attr_error(a, &code, &reason, &reasonlen) == 0) {
		FUZZ_CHECK(code >= 300 && code <= 699);
		FUZZ_CHECK(a->len >= 4 && reason == (const char *)a->val + 4 &&
		    reasonlen == (size_t)a->len - 4);
	}
}

/* Write one attribute back: through its typed writer when it decoded, else as bytes. */
static void
fuzz_encode_attr(struct wbuf *w, const struct stun_attr *a,
    const struct fuzz_attr *fa)
{
	if (a->type == STUN_A_FINGERPRINT)
		stun_put_fingerprint(w);
	else if (a->type == STUN_A_MESSAGE_INTEGRITY)
		stun_put_integrity(w, (const uint8_t *)FUZZ_KEY, FUZZ_KEYLEN);
	else if (a->type == STUN_A_MESSAGE_INTEGRITY_SHA256)
		stun_put_integrity_sha256(w, (const uint8_t *)FUZZ_KEY,
		    FUZZ_KEYLEN);
	else if (fa->how == FUZZ_ADDR)
		stun_put_addr(w, a->type, (const struct sockaddr *)&fa->ss);
	else if (fa->how == FUZZ_XADDR)
		stun_put_xaddr(w, a->type, (const struct sockaddr *)&fa->ss);
	else if (fa->how == FUZZ_U32)
		stun_put_u32(w, a->type, fa->v);
	else
		stun_put(w, a->type, a->val, a->len);
}

/* The value length an attribute has once re-encoded (MESSAGE-INTEGRITY-SHA256 is written untruncated). */
static size_t
fuzz_encoded_len(const struct stun_attr *a)
{
	return a->type == STUN_A_MESSAGE_INTEGRITY_SHA256 ? 32 : a->len;
}

/* Compare a re-encoded message with the original, attribute by attribute. */
static void
fuzz_check_reencoded(const struct stun_msg *m, const uint8_t *p, size_t n,
    const struct fuzz_attr *fa)
{
	struct stun_msg m2;
	const struct stun_attr *a, *b;
	unsigned i;

	FUZZ_CHECK(stun_msg_parse(&m2, p, n) == 0);
	FUZZ_CHECK(m2.type == m->type && m2.classic == m->classic);
	FUZZ_CHECK(memcmp(m2.txid16, m->txid16, STUN_TXID16_LEN) == 0);
	FUZZ_CHECK(m2.nattrs == m->nattrs && m2.mi == m->mi &&
	    m2.mi256 == m->mi256 && m2.fp == m->fp);
	FUZZ_CHECK(m2.nunknown == m->nunknown);
	for (i = 0; i < m->nattrs; i++) {
		a = &m->attrs[i];
		b = &m2.attrs[i];
		FUZZ_CHECK(a->type == b->type && fuzz_encoded_len(a) == b->len);
		if (a->type == STUN_A_FINGERPRINT ||
		    a->type == STUN_A_MESSAGE_INTEGRITY ||
		    a->type == STUN_A_MESSAGE_INTEGRITY_SHA256)
			continue;
		if (fa[i].how == FUZZ_ADDR || fa[i].how == FUZZ_XADDR)
			/* The reserved first byte is written as 0. */
			FUZZ_CHECK(b->val[0] == 0 &&
			    memcmp(a->val + 1, b->val + 1, a->len - 1) == 0);
		else
			FUZZ_CHECK(memcmp(a->val, b->val, a->len) == 0);
	}
	if (m2.mi >= 0)
		FUZZ_CHECK(stun_check_integrity(&m2, (const uint8_t *)FUZZ_KEY,
		    FUZZ_KEYLEN));
	if (m2.mi256 >= 0)
		FUZZ_CHECK(stun_check_integrity_sha256(&m2,
		    (const uint8_t *)FUZZ_KEY, FUZZ_KEYLEN));
	if (m2.fp >= 0)
		FUZZ_CHECK(stun_check_fingerprint(&m2));
}

/* Copy a text attribute into a C string, cut at cap - 1 bytes. */
static void
fuzz_cstr(char *dst, size_t cap, const struct stun_attr *a)
{
	size_t n = a->len < cap - 1 ? a->len : cap - 1;

	memcpy(dst, a->val, n);
	dst[n] = '\0';
}

/* Long-term credentials: keys from the message's USERNAME and REALM, and NONCE prepared as a password. */
static void
fuzz_longterm(const struct stun_msg *m)
{
	/* The password of RFC 5769 section 2.4, so that vector verifies. */
	static const char password[] = "The" "\xc2\xad" "M" "\xc2\xaa" "tr" "\xe2\x85\xa8";
	static char user[514], realm[764], text[764], out[764];
	const struct stun_attr *u, *r, *n;
	uint8_t key[64];
	size_t keylen;
	const char *c;

	if ((n = stun_msg_find(m, STUN_A_NONCE)) != NULL) {
		fuzz_cstr(text, sizeof(text), n);
		if (stun_prep_opaque(text, out, sizeof(out)) == 0) {
			FUZZ_CHECK(strlen(out) <= strlen(text));
			for (c = out; *c != '\0'; c++)
				FUZZ_CHECK((unsigned char)*c >= 0x20 && *c != 0x7f);
		}
		(void)stun_prep_saslprep(text, out, sizeof(out));
	}
	if ((u = stun_msg_find(m, STUN_A_USERNAME)) == NULL ||
	    (r = stun_msg_find(m, STUN_A_REALM)) == NULL)
		return;
	fuzz_cstr(user, sizeof(user), u);
	fuzz_cstr(realm, sizeof(realm), r);
	if (stun_longterm_key(STUN_PWALG_MD5, user, realm, password, key,
	    &keylen) == 0) {
		FUZZ_CHECK(keylen == 16);
		(void)stun_check_integrity(m, key, keylen);
	}
	if (stun_longterm_key(STUN_PWALG_SHA256, user, realm, password, key,
	    &keylen) == 0) {
		FUZZ_CHECK(keylen == 32);
		(void)stun_check_integrity_sha256(m, key, keylen);
	}
}

/*
 * The codec on its own. Parse, decode every attribute, check the integrity
 * attributes, then write the message again into a buffer of exactly cap
 * bytes (so ASan sees any overrun); cap is sometimes too small, and the
 * writer must then fail as a whole rather than drop or mangle anything.
 */
static void
fuzz_codec(const uint8_t *data, size_t size)
{
	static struct stun_msg m;
	static struct fuzz_attr fa[STUN_MAX_ATTRS];
	struct wbuf w;
	uint8_t *buf, t;
	size_t need, cap;
	ssize_t n;
	unsigned i;
	int rc;

	rc = stun_msg_parse(&m, data, size);
	if (rc == -EINVAL)
		return;
	FUZZ_CHECK(rc == 0 || rc == -EBADMSG);
	FUZZ_CHECK(m.raw == data && m.rawlen == size && m.txid16 == data + 4);
	(void)stun_method_name(m.method);
	(void)stun_class_name(m.cls);
	if (rc == -EBADMSG) {
		FUZZ_CHECK(m.nattrs == 0 && m.fp < 0 && m.mi < 0 && m.mi256 < 0);
		return;
	}
	FUZZ_CHECK(m.nattrs <= STUN_MAX_ATTRS && m.nunknown <= STUN_MAX_UNKNOWN);
	FUZZ_CHECK(stun_type(m.method, m.cls) == m.type);

	need = STUN_HDR_LEN;
	for (i = 0; i < m.nattrs; i++) {
		fuzz_decode_attr(&m, i, &fa[i]);
		need += 4 + ((fuzz_encoded_len(&m.attrs[i]) + 3) & ~(size_t)3);
	}
	if (m.fp >= 0)
		FUZZ_CHECK(m.fp == (int)m.nattrs - 1 && stun_check_fingerprint(&m));
	(void)stun_check_integrity(&m, (const uint8_t *)FUZZ_KEY, FUZZ_KEYLEN);
	(void)stun_check_integrity_sha256(&m, (const uint8_t *)FUZZ_KEY,
	    FUZZ_KEYLEN);
	fuzz_longterm(&m);

	/* Odd last byte: room to spare; even: a cut somewhere short of need. */
	t = data[size - 1];
	cap = (t & 1) ? need + (t >> 1) : need * (t >> 1) / 128;
	if ((buf = malloc(cap > 0 ? cap : 1)) == NULL)
		return;
	wbuf_init(&w, buf, cap);
	stun_build_init(&w, m.method, m.cls, m.txid16);
	for (i = 0; i < m.nattrs; i++)
		fuzz_encode_attr(&w, &m.attrs[i], &fa[i]);
	n = stun_build_end(&w);
	FUZZ_CHECK(w.len <= cap);
	if (cap >= need && need - STUN_HDR_LEN <= 0xffff) {
		FUZZ_CHECK(n >= 0 && (size_t)n == need);
		fuzz_check_reencoded(&m, buf, (size_t)n, fa);
	} else
		FUZZ_CHECK(n == -ENOSPC && w.overflow);
	free(buf);
}

/* Does an address attribute of a reply carry the peer's address? */
static void
fuzz_check_mapped(const struct stun_msg *r, uint16_t type, bool xored,
    const struct sockaddr *peer)
{
	const struct stun_attr *a = stun_msg_find(r, type);
	struct sockaddr_storage ss;

	FUZZ_CHECK(a != NULL);
	if (xored)
		FUZZ_CHECK(stun_attr_xaddr(a, r->txid16, &ss) == 0);
	else
		FUZZ_CHECK(stun_attr_addr(a, &ss) == 0);
	FUZZ_CHECK(addr_equal((struct sockaddr *)&ss, peer));
}


/* Framing on its own: stream lengths and ChannelData, as a datagram and as a stream frame. */
static void
fuzz_framing(const uint8_t *data, size_t size)
{
	static const size_t maxes[] = { 24, 8192, 65540, (size_t)-1 };
	struct chandata cd;
	uint8_t hdr[CHANDATA_HDR_LEN];
	long flen;
	size_t i;
	int s;

	for (i = 0; i < sizeof(maxes) / sizeof(maxes[0]); i++) {
		flen = stream_frame_len(data, size, maxes[i]);
		FUZZ_CHECK(flen >= -1);
		FUZZ_CHECK(flen != 0 || size < 4);
		if (flen > 0)
			FUZZ_CHECK((size_t)flen <= maxes[i] && (flen & 3) == 0 &&
			    flen >= CHANDATA_HDR_LEN);
	}
	for (s = 0; s < 2; s++) {
		if (chandata_parse(&cd, data, size, s == 1) != 0)
			continue;
		FUZZ_CHECK(cd.channel >= CHAN_MIN && cd.channel <= CHAN_MAX_RFC5766);
		FUZZ_CHECK(cd.data == data + CHANDATA_HDR_LEN &&
		    CHANDATA_HDR_LEN + (size_t)cd.len <= size);
		if (s == 1)
			FUZZ_CHECK(size - CHANDATA_HDR_LEN - cd.len <= 3);
		FUZZ_CHECK(chandata_write_hdr(hdr, cd.channel, cd.len) == 0 &&
		    memcmp(hdr, data, CHANDATA_HDR_LEN) == 0);
	}
}


/* Same IP, ports aside? */
static bool
fuzz_same_ip(const struct sockaddr *a, const struct sockaddr *b)
{
	struct sockaddr_storage x, y;

	if (a->sa_family != b->sa_family)
		return false;
	memset(&x, 0, sizeof(x));
	memset(&y, 0, sizeof(y));
	memcpy(&x, a, addr_len(a));
	memcpy(&y, b, addr_len(b));
	addr_set_port((struct sockaddr *)&x, 0);
	addr_set_port((struct sockaddr *)&y, 0);
	return addr_equal((struct sockaddr *)&x, (struct sockaddr *)&y);
}

/* A handle the stub handed out and has not seen closed, or NULL. */
static struct fuzz_handle *
fuzz_handle_find(const void *handle)
{
	struct fuzz_handle *h;

	for (h = fuzz_handles; h != NULL; h = h->next)
		if (h == handle) {
			FUZZ_CHECK(h->magic == FUZZ_HANDLE_MAGIC);
			return h;
		}
	return NULL;
}

/* The I/O table: relay_open hands out a fake socket for an address the pool chose. */
static int
fuzz_relay_open(void *arg, struct alloc *a, unsigned idx, const struct sockaddr *sa,
    void **handle)
{
	struct fuzz_run *r = arg;
	const struct config *cfg = r->cfg;
	struct fuzz_handle *h;
	bool ours = false;
	uint16_t port;
	unsigned i;

	FUZZ_CHECK(r == fuzz_cur && r->in_process && r->relay == NULL);
	FUZZ_CHECK(a != NULL && sa != NULL && handle != NULL);
	FUZZ_CHECK(idx < ALLOC_RELAYS && idx == a->nrelay);
	FUZZ_CHECK(sa->sa_family == AF_INET || sa->sa_family == AF_INET6);
	for (i = 0; i < cfg->relay_ip.n; i++)
		ours = ours || fuzz_same_ip((const struct sockaddr *)&cfg->relay_ip.addr[i], sa);
	FUZZ_CHECK(ours);
	port = addr_port(sa);
	FUZZ_CHECK(port >= cfg->relay_port_min && port <= cfg->relay_port_max);
	/* The pool must never hand out a port that is still bound. */
	for (h = fuzz_handles; h != NULL; h = h->next)
		FUZZ_CHECK(!addr_equal((struct sockaddr *)&h->bound, sa));
	for (i = 0; i < idx; i++)
		FUZZ_CHECK(a->relay[i].bound.ss_family != sa->sa_family);
	if ((r->open_mask >> (r->open_calls++ % 8)) & 1)
		return -EADDRINUSE;
	FUZZ_CHECK((h = calloc(1, sizeof(*h))) != NULL);
	h->magic = FUZZ_HANDLE_MAGIC;
	h->a = a;
	h->idx = idx;
	memcpy(&h->bound, sa, addr_len(sa));
	h->next = fuzz_handles;
	fuzz_handles = h;
	fuzz_nhandles++;
	*handle = h;
	return 0;
}

/* relay_close: only what is open, and only once. */
static void
fuzz_relay_close(void *arg, void *handle)
{
	struct fuzz_handle **pp, *h;

	FUZZ_CHECK(arg == fuzz_cur);
	for (pp = &fuzz_handles; *pp != NULL && *pp != handle; pp = &(*pp)->next)
		;
	FUZZ_CHECK(*pp != NULL);
	h = *pp;
	FUZZ_CHECK(h->magic == FUZZ_HANDLE_MAGIC);
	*pp = h->next;
	h->magic = 0;
	free(h);
	fuzz_nhandles--;
}

/* relay_send: client data to a permitted peer, from the sender's own allocation. */
static int
fuzz_relay_send(void *arg, void *handle, const struct sockaddr *peer, const uint8_t *data,
    size_t len, bool df)
{
	struct fuzz_run *r = arg;
	struct fuzz_handle *h = fuzz_handle_find(handle);
	enum policy_verdict pv;
	char name[ADDR_STRLEN];
	struct peer_ip ip;

	(void)df;
	FUZZ_CHECK(r == fuzz_cur && r->in_process && r->relay == NULL);
	FUZZ_CHECK(h != NULL && peer != NULL && data != NULL);
	FUZZ_CHECK(peer->sa_family == h->bound.ss_family);
	FUZZ_CHECK(len <= 0xffff);
	FUZZ_CHECK(data >= r->cur && data + len <= r->cur + r->curlen);
	FUZZ_CHECK(h->a == alloc_find(&r->srv->allocs, r->pkt.tp, r->pkt.peer, r->pkt.local));
	peer_ip_from(&ip, peer);
	FUZZ_CHECK(perm_valid(h->a, &ip, r->now));
	if (!fuzz_skip_policy &&
	    (pv = policy_check_peer(&r->shared.policy, peer)) != POLICY_ALLOW) {
		fprintf(stderr, "relay_send to %s, which the policy refuses: %s\n",
		    addr_fmt(peer, name, sizeof(name)), policy_verdict_name(pv));
		FUZZ_CHECK(pv == POLICY_ALLOW);
	}
	return (r->send_mask >> (r->relay_send_calls++ % 4)) & 1 ? -EAGAIN : 0;
}

/* client_send: peer data to the allocation's client, as ChannelData or a Data indication. */
static int
fuzz_client_send(void *arg, void *conn, const struct sockaddr *client,
    const struct sockaddr *local, const uint8_t *data, size_t len)
{
	struct fuzz_run *r = arg;
	struct fuzz_relay *ri = r->relay;
	const struct stun_attr *pa, *d;
	struct sockaddr_storage ss;
	static struct stun_msg m;
	struct chandata cd;
	bool stream;
	size_t i;

	FUZZ_CHECK(r == fuzz_cur && ri != NULL && !r->in_process);
	FUZZ_CHECK(conn != NULL && conn == ri->a->conn);
	FUZZ_CHECK(client != NULL && addr_equal(client, (struct sockaddr *)&ri->a->client));
	FUZZ_CHECK(local != NULL && addr_equal(local, (struct sockaddr *)&ri->a->local));
	FUZZ_CHECK(data != NULL && data >= ri->buf && len <= ri->cap &&
	    data + len <= ri->buf + ri->cap);
	FUZZ_CHECK(++ri->calls == 1);
	stream = ri->a->tp != TRANSPORT_UDP;
	if (ri->chan >= 0) {
		FUZZ_CHECK(demux_classify(data, len) == DEMUX_CHANDATA);
		FUZZ_CHECK(chandata_parse(&cd, data, len, stream) == 0);
		FUZZ_CHECK(cd.channel == ri->chan && cd.len == ri->len &&
		    memcmp(cd.data, ri->payload, ri->len) == 0);
		if (stream) {
			FUZZ_CHECK((len & 3) == 0);
			for (i = CHANDATA_HDR_LEN + cd.len; i < len; i++)
				FUZZ_CHECK(data[i] == 0);
		} else
			FUZZ_CHECK(len == CHANDATA_HDR_LEN + (size_t)cd.len);
	} else {
		FUZZ_CHECK(demux_classify(data, len) == DEMUX_STUN);
		FUZZ_CHECK(stun_msg_parse(&m, data, len) == 0);
		FUZZ_CHECK(!m.classic && m.cls == STUN_INDICATION && m.method == TURN_DATA);
		FUZZ_CHECK(m.mi < 0 && m.mi256 < 0 && m.fp < 0 && m.nunknown == 0);
		FUZZ_CHECK((pa = stun_msg_find(&m, STUN_A_XOR_PEER_ADDRESS)) != NULL);
		FUZZ_CHECK(stun_attr_xaddr(pa, m.txid16, &ss) == 0 &&
		    addr_equal((struct sockaddr *)&ss, ri->peer));
		FUZZ_CHECK((d = stun_msg_find(&m, STUN_A_DATA)) != NULL);
		FUZZ_CHECK(d->len == ri->len && memcmp(d->val, ri->payload, ri->len) == 0);
		FUZZ_CHECK((len & 3) == 0);
	}
	return (r->send_mask >> (4 + r->client_send_calls++ % 4)) & 1 ? -EAGAIN : 0;
}

/* Does some relay of the allocation have this family? */
static bool
fuzz_has_family(const struct alloc *a, int family)
{
	unsigned i;

	for (i = 0; i < a->nrelay; i++)
		if (a->relay[i].bound.ss_family == family)
			return true;
	return false;
}

/* Walk every allocation: table, relays against the open handles, permissions, channels. */
static void
fuzz_check_state(const struct fuzz_run *r, bool ticked)
{
	const struct alloc_table *t = &r->srv->allocs;
	uint16_t chmax = r->cfg->strict_channels ? CHAN_MAX_RFC8656 : CHAN_MAX_RFC5766;
	const struct fuzz_handle *h;
	const struct alloc *a;
	size_t i, n = 0, nrel = 0;
	unsigned j, k;

	for (i = 0; i < t->nbuckets; i++)
		for (a = t->buckets[i]; a != NULL; a = a->hnext) {
			n++;
			FUZZ_CHECK(alloc_find(t, a->tp, (struct sockaddr *)&a->client,
			    (struct sockaddr *)&a->local) == a);
			FUZZ_CHECK(a->username != NULL && a->quota_id != NULL);
			FUZZ_CHECK(a->conn != NULL);
			FUZZ_CHECK(a->nrelay >= 1 && a->nrelay <= ALLOC_RELAYS);
			FUZZ_CHECK(!ticked || a->expires_ms > r->now);
			for (j = 0; j < a->nrelay; j++) {
				h = fuzz_handle_find(a->relay[j].handle);
				FUZZ_CHECK(h != NULL && h->a == a && h->idx == j);
				FUZZ_CHECK(addr_equal((struct sockaddr *)&h->bound,
				    (struct sockaddr *)&a->relay[j].bound));
				FUZZ_CHECK(a->relay[j].advertised.ss_family ==
				    a->relay[j].bound.ss_family);
				for (k = 0; k < j; k++)
					FUZZ_CHECK(a->relay[k].bound.ss_family !=
					    a->relay[j].bound.ss_family);
				nrel++;
			}
			FUZZ_CHECK(a->nperms <= (unsigned)r->cfg->max_permissions);
			for (j = 0; j < a->nperms; j++) {
				FUZZ_CHECK(fuzz_has_family(a, a->perms[j].peer.family));
				FUZZ_CHECK(!ticked || a->perms[j].expires_ms > r->now);
				for (k = 0; k < j; k++)
					FUZZ_CHECK(memcmp(&a->perms[k].peer, &a->perms[j].peer,
					    sizeof(struct peer_ip)) != 0);
			}
			for (j = 0; j < a->nchans; j++) {
				const struct chan *c = &a->chans[j];

				FUZZ_CHECK(c->number >= CHAN_MIN && c->number <= chmax);
				FUZZ_CHECK(fuzz_has_family(a, c->peer.family));
				FUZZ_CHECK(!ticked || c->expires_ms > r->now);
				for (k = 0; k < j; k++) {
					FUZZ_CHECK(a->chans[k].number != c->number);
					FUZZ_CHECK(a->chans[k].port != c->port ||
					    memcmp(&a->chans[k].peer, &c->peer,
					    sizeof(struct peer_ip)) != 0);
				}
			}
		}
	FUZZ_CHECK(n == t->count && n == server_alloc_count(r->srv));
	FUZZ_CHECK(nrel == fuzz_nhandles);
	FUZZ_CHECK(r->stats.allocs_created - r->stats.allocs_freed == n);
}

/* Copy what a failed request must leave as it was. */
static void
fuzz_snap_take(struct fuzz_snap *s, struct alloc *a)
{
	unsigned i;

	memset(s, 0, sizeof(*s));
	if ((s->a = a) == NULL)
		return;
	s->expires_ms = a->expires_ms;
	s->nrelay = a->nrelay;
	s->nperms = a->nperms;
	FUZZ_CHECK((s->perms = calloc(a->nperms + 1, sizeof(*s->perms))) != NULL);
	for (i = 0; i < a->nperms; i++)
		s->perms[i] = a->perms[i].peer;
	s->nchans = a->nchans;
	FUZZ_CHECK((s->chans = calloc(a->nchans + 1, sizeof(*s->chans))) != NULL);
	if (a->nchans > 0)
		memcpy(s->chans, a->chans, a->nchans * sizeof(*s->chans));
}

/* Nothing changed: the same relays, permissions and channels (lifetimes aside). */
static void
fuzz_snap_same(const struct fuzz_snap *s, const struct alloc *a)
{
	unsigned i;

	FUZZ_CHECK(a == s->a);
	if (a == NULL)
		return;
	FUZZ_CHECK(a->nrelay == s->nrelay);
	FUZZ_CHECK(a->nperms == s->nperms);
	for (i = 0; i < a->nperms; i++)
		FUZZ_CHECK(memcmp(&a->perms[i].peer, &s->perms[i], sizeof(s->perms[i])) == 0);
	FUZZ_CHECK(a->nchans == s->nchans);
	for (i = 0; i < a->nchans; i++)
		FUZZ_CHECK(a->chans[i].number == s->chans[i].number &&
		    a->chans[i].port == s->chans[i].port &&
		    memcmp(&a->chans[i].peer, &s->chans[i].peer,
		    sizeof(struct peer_ip)) == 0);
}

static void
fuzz_snap_free(struct fuzz_snap *s)
{
	free(s->perms);
	free(s->chans);
}

/* What fuzz_process knows of a message before the core sees it. */
struct fuzz_req {
	struct stun_msg		 q;
	int			 qrc;		/* stun_msg_parse; 1 when not STUN at all */
	const struct fuzz_sign	*si;
	struct alloc		*a0;		/* the 5-tuple's allocation before */
	struct fuzz_snap	 snap;
	uint8_t			*cached;	/* what a retransmitted Allocate must get */
	size_t			 cachedlen;
	unsigned		 nhandles;	/* relay handles open before */
};

/* A TURN request the core authenticates? */
static bool
fuzz_is_turn_request(const struct stun_msg *q)
{
	if (q->cls != STUN_REQUEST || q->classic)
		return false;
	switch (q->method) {
	case TURN_ALLOCATE:
	case TURN_REFRESH:
	case TURN_CREATE_PERMISSION:
	case TURN_CHANNEL_BIND:
		return true;
	}
	return false;
}

/* Must this message get an answer (when the output buffer is roomy)? */
static bool
fuzz_answerable(const struct fuzz_run *r, const struct fuzz_req *fr)
{
	const struct stun_msg *q = &fr->q;

	if (fr->qrc != 0 && fr->qrc != -EBADMSG)
		return false;
	if (q->cls != STUN_REQUEST)
		return false;
	return !q->classic || (q->method == STUN_BINDING && r->cfg->rfc3489);
}

/* The LIFETIME of a reply. */
static uint32_t
fuzz_lifetime(const struct stun_msg *m)
{
	const struct stun_attr *a = stun_msg_find(m, STUN_A_LIFETIME);
	uint32_t v = 0;

	FUZZ_CHECK(a != NULL && stun_attr_u32(a, &v) == 0);
	return v;
}

/* A success response: the state it reports is the state the core now has. */
static void
fuzz_check_success(struct fuzz_run *r, const struct fuzz_req *fr, const struct stun_msg *m)
{
	const struct config *cfg = r->cfg;
	const struct stun_msg *q = &fr->q;
	struct alloc *a = alloc_find(&r->srv->allocs, r->pkt.tp, r->pkt.peer, r->pkt.local);
	const struct stun_attr *at, *num, *even;
	struct sockaddr_storage ss;
	struct peer_ip ip;
	struct chan *c;
	unsigned i, nrel = 0;
	uint32_t lt;

	switch (q->method) {
	case STUN_BINDING:
		if (q->classic)
			fuzz_check_mapped(m, STUN_A_MAPPED_ADDRESS, false, r->pkt.peer);
		else {
			fuzz_check_mapped(m, STUN_A_XOR_MAPPED_ADDRESS, true, r->pkt.peer);
			if (cfg->mapped_address)
				fuzz_check_mapped(m, STUN_A_MAPPED_ADDRESS, false,
				    r->pkt.peer);
		}
		return;
	case TURN_ALLOCATE:
		/* Not a retransmission (fuzz_check_reply took those): a new allocation. */
		FUZZ_CHECK(fr->a0 == NULL && a != NULL);
		FUZZ_CHECK(a->conn == r->pkt.conn && a->tp == r->pkt.tp);
		for (i = 0; i < m->nattrs; i++) {
			if (m->attrs[i].type != STUN_A_XOR_RELAYED_ADDRESS)
				continue;
			FUZZ_CHECK(nrel < a->nrelay);
			FUZZ_CHECK(stun_attr_xaddr(&m->attrs[i], m->txid16, &ss) == 0);
			FUZZ_CHECK(addr_equal((struct sockaddr *)&ss,
			    (struct sockaddr *)&a->relay[nrel].advertised));
			FUZZ_CHECK(addr_port((struct sockaddr *)&ss) ==
			    addr_port((struct sockaddr *)&a->relay[nrel].bound));
			nrel++;
		}
		FUZZ_CHECK(nrel == a->nrelay && nrel >= 1);
		FUZZ_CHECK(fuzz_nhandles == fr->nhandles + a->nrelay);
		even = stun_msg_find(q, STUN_A_EVEN_PORT);
		if (even != NULL && stun_msg_find(q, STUN_A_RESERVATION_TOKEN) == NULL)
			for (i = 0; i < a->nrelay; i++)
				FUZZ_CHECK((addr_port((struct sockaddr *)&a->relay[i].bound) &
				    1) == 0);
		if (stun_msg_find(m, STUN_A_RESERVATION_TOKEN) != NULL)
			FUZZ_CHECK(even != NULL && (even->val[0] & 0x80) != 0);
		lt = fuzz_lifetime(m);
		FUZZ_CHECK(lt >= (uint32_t)cfg->allocation_lifetime &&
		    lt <= (uint32_t)cfg->max_allocation_lifetime);
		FUZZ_CHECK(a->expires_ms == r->now + (uint64_t)lt * 1000);
		fuzz_check_mapped(m, STUN_A_XOR_MAPPED_ADDRESS, true, r->pkt.peer);
		return;
	case TURN_REFRESH:
		FUZZ_CHECK(fr->a0 != NULL);
		lt = fuzz_lifetime(m);
		if (lt == 0) {
			FUZZ_CHECK(a == NULL && fuzz_nhandles + fr->snap.nrelay == fr->nhandles);
			return;
		}
		FUZZ_CHECK(a == fr->a0 && lt >= (uint32_t)cfg->allocation_lifetime &&
		    lt <= (uint32_t)cfg->max_allocation_lifetime);
		FUZZ_CHECK(a->expires_ms == r->now + (uint64_t)lt * 1000);
		return;
	case TURN_CREATE_PERMISSION:
		FUZZ_CHECK(a != NULL && a == fr->a0);
		for (i = 0; i < q->nattrs; i++) {
			if (q->attrs[i].type != STUN_A_XOR_PEER_ADDRESS)
				continue;
			FUZZ_CHECK(stun_attr_xaddr(&q->attrs[i], q->txid16, &ss) == 0);
			peer_ip_from(&ip, (struct sockaddr *)&ss);
			FUZZ_CHECK(perm_valid(a, &ip, r->now));
			if (nrel++ == 0) {
				r->last_peer = ss;
				r->have_peer = true;
			}
		}
		FUZZ_CHECK(nrel > 0);
		return;
	case TURN_CHANNEL_BIND:
		FUZZ_CHECK(a != NULL && a == fr->a0);
		num = stun_msg_find(q, STUN_A_CHANNEL_NUMBER);
		at = stun_msg_find(q, STUN_A_XOR_PEER_ADDRESS);
		FUZZ_CHECK(num != NULL && at != NULL);
		FUZZ_CHECK(stun_attr_xaddr(at, q->txid16, &ss) == 0);
		c = chan_by_number(a, (uint16_t)(num->val[0] << 8 | num->val[1]));
		FUZZ_CHECK(c != NULL && c == chan_by_peer(a, (struct sockaddr *)&ss));
		FUZZ_CHECK(c->expires_ms > r->now);
		peer_ip_from(&ip, (struct sockaddr *)&ss);
		FUZZ_CHECK(perm_valid(a, &ip, r->now));
		r->last_peer = ss;
		r->have_peer = true;
		return;
	}
	FUZZ_CHECK(!"a success response to a method that has none");
}

/* An error response: nothing changed (a failed Allocate leaves no allocation behind). */
static void
fuzz_check_failure(const struct fuzz_run *r, const struct fuzz_req *fr)
{
	struct alloc *a = alloc_find(&r->srv->allocs, r->pkt.tp, r->pkt.peer, r->pkt.local);

	FUZZ_CHECK(a == fr->a0);
	FUZZ_CHECK(fuzz_nhandles == fr->nhandles);
	if (a == NULL)
		return;
	switch (fr->q.method) {
	case TURN_CREATE_PERMISSION:
	case TURN_CHANNEL_BIND:
		if (fuzz_skip_atomic)
			return;
		/* FALLTHROUGH */
	default:
		FUZZ_CHECK(a->expires_ms == fr->snap.expires_ms);
		fuzz_snap_same(&fr->snap, a);
	}
}

/* A reply must be a well-formed response to the very request it answers. */
static void
fuzz_check_reply(struct fuzz_run *r, const struct fuzz_req *fr, const uint8_t *out,
    size_t n)
{
	const struct stun_msg *q = &fr->q;
	const struct fuzz_sign *si = fr->si;
	const struct stun_attr *ea;
	static struct stun_msg m;
	const char *reason;
	size_t reasonlen;
	int code = 0;

	FUZZ_CHECK(fr->qrc == 0 || fr->qrc == -EBADMSG);
	FUZZ_CHECK(q->cls == STUN_REQUEST);
	FUZZ_CHECK(!q->classic || (q->method == STUN_BINDING && r->cfg->rfc3489));
	FUZZ_CHECK(stun_msg_parse(&m, out, n) == 0);
	FUZZ_CHECK(memcmp(m.txid16, q->txid16, STUN_TXID16_LEN) == 0);
	FUZZ_CHECK(m.method == q->method && m.classic == q->classic);
	FUZZ_CHECK(m.cls == STUN_SUCCESS || m.cls == STUN_ERROR);
	FUZZ_CHECK(m.nunknown == 0);
	if (fr->cached != NULL && m.cls == STUN_SUCCESS) {
		/* A retransmitted Allocate gets the first answer, byte for byte. */
		FUZZ_CHECK(n == fr->cachedlen && memcmp(out, fr->cached, n) == 0);
		FUZZ_CHECK(alloc_find(&r->srv->allocs, r->pkt.tp, r->pkt.peer,
		    r->pkt.local) == fr->a0 && fuzz_nhandles == fr->nhandles);
		return;
	}
	/* FINGERPRINT in, FINGERPRINT out; classic clients get none. */
	FUZZ_CHECK((m.fp >= 0) == (fr->qrc == 0 && q->fp >= 0 && !q->classic));
	if (m.cls == STUN_ERROR) {
		FUZZ_CHECK((ea = stun_msg_find(&m, STUN_A_ERROR_CODE)) != NULL);
		FUZZ_CHECK(stun_attr_error(ea, &code, &reason, &reasonlen) == 0);
		if (code == 401 || code == 438) {
			/* A challenge: realm and a fresh nonce, and no signature (no key yet). */
			FUZZ_CHECK(stun_msg_find(&m, STUN_A_REALM) != NULL &&
			    stun_msg_find(&m, STUN_A_NONCE) != NULL);
			FUZZ_CHECK(m.mi < 0 && m.mi256 < 0);
		}
		if (code == 420)
			FUZZ_CHECK(stun_msg_find(&m, STUN_A_UNKNOWN_ATTRIBUTES) != NULL);
	} else {
		FUZZ_CHECK(fr->qrc == 0 && q->nunknown == 0);
		FUZZ_CHECK(q->method == STUN_BINDING || fuzz_is_turn_request(q));
	}
	if (fuzz_is_turn_request(q) && fr->qrc == 0 && q->nunknown == 0) {
		if (m.cls == STUN_SUCCESS)
			FUZZ_CHECK((q->mi >= 0 || q->mi256 >= 0) && (m.mi >= 0 || m.mi256 >= 0));
		switch (si->expect) {
		case EXPECT_AUTH:
			/* Authenticated: whatever the answer, it is signed with our key the way we signed. */
			FUZZ_CHECK(code != 401 && code != 438);
			if (q->mi256 >= 0)
				FUZZ_CHECK(m.mi256 >= 0 &&
				    stun_check_integrity_sha256(&m, si->key, si->keylen));
			else
				FUZZ_CHECK(m.mi >= 0 && m.mi256 < 0 &&
				    stun_check_integrity(&m, si->key, si->keylen));
			break;
		case EXPECT_401:
			FUZZ_CHECK(code == 401);
			break;
		case EXPECT_438:
			FUZZ_CHECK(code == 438);
			break;
		case EXPECT_NONE:
			break;
		}
	}
	if (m.cls == STUN_SUCCESS)
		fuzz_check_success(r, fr, &m);
	else if (fuzz_is_turn_request(q))
		fuzz_check_failure(r, fr);
}

/* Say what went in and what came out (FUZZ_TRACE). */
static void
fuzz_trace_msg(const struct fuzz_run *r, const struct fuzz_req *fr, const uint8_t *out,
    ssize_t n)
{
	const struct stun_attr *ea;
	static struct stun_msg m;
	const char *reason = "";
	size_t reasonlen = 0;
	int code = 0;

	fprintf(stderr, "t=%llu %s client %u: ", (unsigned long long)(r->now - FUZZ_NOW_MS),
	    r->pkt.tp == TRANSPORT_UDP ? "udp" : "tcp", addr_port(r->pkt.peer));
	if (fr->qrc == 1)
		fprintf(stderr, "non-STUN (%zu allocs, %u relays open)\n",
		    server_alloc_count(r->srv), fuzz_nhandles);
	else
		fprintf(stderr, "%s %s (parse %d) -> ", stun_method_name(fr->q.method),
		    stun_class_name(fr->q.cls), fr->qrc);
	if (fr->qrc == 1)
		return;
	if (n > 0 && stun_msg_parse(&m, out, (size_t)n) == 0) {
		if ((ea = stun_msg_find(&m, STUN_A_ERROR_CODE)) != NULL)
			stun_attr_error(ea, &code, &reason, &reasonlen);
		fprintf(stderr, "%s %d %.*s", stun_class_name(m.cls), code, (int)reasonlen,
		    reason);
	} else
		fprintf(stderr, "no reply");
	fprintf(stderr, " (%zu allocs, %u relays open)\n", server_alloc_count(r->srv),
	    fuzz_nhandles);
}

/* One message through the core into an output buffer of exactly cap bytes, checked. */
static void
fuzz_process(struct fuzz_run *r, const uint8_t *in, size_t len, size_t cap,
    const struct fuzz_sign *si)
{
	static const struct fuzz_sign none = { EXPECT_NONE, NULL, 0 };
	static struct fuzz_req fr;
	uint8_t *out;
	ssize_t n;

	memset(&fr, 0, sizeof(fr));
	fr.si = si != NULL ? si : &none;
	fr.qrc = demux_classify(in, len) == DEMUX_STUN ? stun_msg_parse(&fr.q, in, len) : 1;
	fr.a0 = alloc_find(&r->srv->allocs, r->pkt.tp, r->pkt.peer, r->pkt.local);
	fuzz_snap_take(&fr.snap, fr.a0);
	fr.nhandles = fuzz_nhandles;
	if (fr.qrc == 0 && fr.q.cls == STUN_REQUEST && fr.q.method == TURN_ALLOCATE &&
	    !fr.q.classic && fr.a0 != NULL && fr.a0->last_resp != NULL &&
	    memcmp(fr.a0->last_txid, in + 8, STUN_TXID_LEN) == 0) {
		fr.cachedlen = fr.a0->last_resp_len;
		FUZZ_CHECK((fr.cached = malloc(fr.cachedlen)) != NULL);
		memcpy(fr.cached, fr.a0->last_resp, fr.cachedlen);
	}
	FUZZ_CHECK((out = malloc(cap > 0 ? cap : 1)) != NULL);
	r->in_process = true;
	r->cur = in;
	r->curlen = len;
	n = server_process(r->srv, &r->pkt, in, len, out, cap);
	r->in_process = false;
	r->cur = NULL;
	r->curlen = 0;
	FUZZ_CHECK(n >= 0 && (size_t)n <= cap);
	if (fuzz_trace)
		fuzz_trace_msg(r, &fr, out, n);
	if (n > 0)
		fuzz_check_reply(r, &fr, out, (size_t)n);
	else if (cap >= FUZZ_OUT_LEN && fuzz_answerable(r, &fr))
		FUZZ_CHECK(!"a request went unanswered");
	fuzz_check_state(r, false);
	free(out);
	free(fr.cached);
	fuzz_snap_free(&fr.snap);
}

/* The 5-tuple and connection the next messages arrive on. */
static void
fuzz_set_tuple(struct fuzz_run *r, unsigned idx, enum transport tp, bool v6)
{
	char buf[64];

	idx %= FUZZ_NCLIENTS;
	snprintf(buf, sizeof(buf), v6 ? "[2001:db8::1]:%u" : "192.0.2.1:%u", 40000 + idx);
	fuzz_addr(&r->peer, buf);
	fuzz_addr(&r->local, v6 ? "[2001:db8::2]:3478" : "198.51.100.1:3478");
	r->pkt.tp = tp;
	r->pkt.peer = (struct sockaddr *)&r->peer;
	r->pkt.local = (struct sockaddr *)&r->local;
	r->pkt.conn = &fuzz_conns[idx][tp == TRANSPORT_TCP][v6];
}

/* The clock as the messages see it. */
static void
fuzz_set_time(struct fuzz_run *r)
{
	r->pkt.now_ms = r->now;
	r->pkt.wall_s = FUZZ_WALL_S + (r->now - FUZZ_NOW_MS) / 1000;
}

/* Attributes the harness writes itself when it signs. */
static bool
fuzz_is_cred_attr(uint16_t type)
{
	switch (type) {
	case STUN_A_USERNAME:
	case STUN_A_USERHASH:
	case STUN_A_REALM:
	case STUN_A_NONCE:
	case STUN_A_PASSWORD_ALGORITHM:
	case STUN_A_PASSWORD_ALGORITHMS:
	case STUN_A_MESSAGE_INTEGRITY:
	case STUN_A_MESSAGE_INTEGRITY_SHA256:
	case STUN_A_FINGERPRINT:
		return true;
	}
	return false;
}

/*
 * Build a request from type, transaction ID and attributes, sign it with
 * long-term credentials as a real client would after a 401, and run it.
 * opts: bits 0-1 enum fuzz_cred, bit 2 FINGERPRINT, bit 3 a stale nonce,
 * bit 4 a nonce minted for another client.
 */
static void
fuzz_signed(struct fuzz_run *r, const uint8_t *p, size_t len, unsigned opts, bool badkey)
{
	static uint8_t buf[FUZZ_SIGNED_CAP];
	const struct fuzz_variant *v = r->v;
	uint8_t txid16[STUN_TXID16_LEN] = { 0x21, 0x12, 0xa4, 0x42 }, pa[4] = { 0 };
	enum fuzz_cred kind = (enum fuzz_cred)(opts & 3);
	struct sockaddr_storage other;
	uint16_t type, method, t, l;
	const char *user = "alice";
	struct fuzz_sign si;
	uint64_t minted = r->now;
	char nonce[128];
	struct wbuf w;
	size_t k;
	uint8_t cls;
	ssize_t n;
	int nlen;

	if (len < 2)
		return;
	type = (uint16_t)((p[0] << 8 | p[1]) & 0x3fff);
	p += 2;
	len -= 2;
	k = len < STUN_TXID_LEN ? len : STUN_TXID_LEN;
	memcpy(txid16 + 4, p, k);
	p += k;
	len -= k;
	cls = (uint8_t)(((type >> 4) & 1) | ((type >> 7) & 2));
	method = (uint16_t)((type & 0xf) | ((type >> 1) & 0x70) | ((type >> 2) & 0xf80));
	FUZZ_CHECK(stun_type(method, cls) == type);

	wbuf_init(&w, buf, sizeof(buf));
	stun_build_init(&w, method, cls, txid16);
	while (len >= 4) {
		t = (uint16_t)(p[0] << 8 | p[1]);
		l = (uint16_t)(p[2] << 8 | p[3]);
		p += 4;
		len -= 4;
		if (l > len)
			l = (uint16_t)len;
		if (!fuzz_is_cred_attr(t))
			stun_put(&w, t, p, l);
		p += l;
		len -= l;
	}

	memset(&si, 0, sizeof(si));
	if (kind == CRED_ALT && r->cfg->userhash)
		stun_put(&w, STUN_A_USERHASH, v->userhash, sizeof(v->userhash));
	else {
		if (kind == CRED_ALT)
			user = v->rest_user;
		stun_put(&w, STUN_A_USERNAME, user, strlen(user));
	}
	stun_put(&w, STUN_A_REALM, r->cfg->realm, strlen(r->cfg->realm));
	if (opts & 8)
		minted = r->now - (uint64_t)(r->cfg->nonce_lifetime + 1) * 1000;
	if (opts & 16)
		fuzz_addr(&other, r->peer.ss_family == AF_INET6 ? "[2001:db8::77]:40000" :
		    "192.0.2.77:40000");
	nlen = auth_nonce_mint(r->shared.auth, (opts & 16) ? (struct sockaddr *)&other :
	    r->pkt.peer, minted, nonce, sizeof(nonce));
	FUZZ_CHECK(nlen > 0 && (size_t)nlen < sizeof(nonce));
	stun_put(&w, STUN_A_NONCE, nonce, (size_t)nlen);
	switch (kind) {
	case CRED_SHA256:
		si.key = badkey ? v->bad_sha256 : v->sha256;
		si.keylen = 32;
		break;
	case CRED_ALT:
		si.key = badkey ? v->bad_alt : v->alt;
		si.keylen = 16;
		break;
	default:
		si.key = badkey ? v->bad_md5 : v->md5;
		si.keylen = 16;
		break;
	}
	if (kind == CRED_SHA256 || kind == CRED_MD5_MI256) {
		pa[1] = kind == CRED_SHA256 ? STUN_PWALG_SHA256 : STUN_PWALG_MD5;
		stun_put(&w, STUN_A_PASSWORD_ALGORITHMS, fuzz_pwalgs, sizeof(fuzz_pwalgs));
		stun_put(&w, STUN_A_PASSWORD_ALGORITHM, pa, sizeof(pa));
		stun_put_integrity_sha256(&w, si.key, si.keylen);
	} else
		stun_put_integrity(&w, si.key, si.keylen);
	if (opts & 4)
		stun_put_fingerprint(&w);
	if ((n = stun_build_end(&w)) < 0)
		return;
	si.expect = (opts & 24) ? EXPECT_438 : badkey ? EXPECT_401 : EXPECT_AUTH;
	fuzz_codec(buf, (size_t)n);
	fuzz_process(r, buf, (size_t)n, FUZZ_OUT_LEN, &si);
}

/* Bytes as they arrive: one datagram, or frames cut as stream.c cuts them. */
static void
fuzz_raw(struct fuzz_run *r, const uint8_t *p, size_t len, size_t cap)
{
	size_t max = (size_t)r->cfg->max_frame;
	struct chandata cd;
	long flen;

	fuzz_codec(p, len);
	fuzz_framing(p, len);
	if (r->pkt.tp == TRANSPORT_UDP) {
		fuzz_process(r, p, len, cap, NULL);
		return;
	}
	while (len > 0) {
		flen = stream_frame_len(p, len, max);
		if (flen < 0) {
			/* stream.c closes the connection, and its allocation ends. */
			server_stream_closed(r->srv, r->pkt.tp, r->pkt.peer, r->pkt.local);
			FUZZ_CHECK(alloc_find(&r->srv->allocs, r->pkt.tp, r->pkt.peer,
			    r->pkt.local) == NULL);
			fuzz_check_state(r, false);
			return;
		}
		if (flen == 0 || (size_t)flen > len)
			return;
		FUZZ_CHECK((size_t)flen <= max && (flen & 3) == 0);
		if (demux_classify(p, len) == DEMUX_STUN)
			FUZZ_CHECK(stun_is_stun_header(p, (size_t)flen));
		else {
			FUZZ_CHECK(demux_classify(p, len) == DEMUX_CHANDATA);
			FUZZ_CHECK(chandata_parse(&cd, p, (size_t)flen, true) == 0);
			FUZZ_CHECK(CHANDATA_HDR_LEN + (size_t)cd.len <= (size_t)flen &&
			    (size_t)flen - CHANDATA_HDR_LEN - cd.len <= 3);
		}
		fuzz_process(r, p, (size_t)flen, cap, NULL);
		p += flen;
		len -= (size_t)flen;
	}
}

/* A datagram from a peer on this 5-tuple's allocation, in a buffer with the room relay.c leaves. */
static void
fuzz_relay_in(struct fuzz_run *r, const uint8_t *p, size_t len)
{
	struct alloc *a = alloc_find(&r->srv->allocs, r->pkt.tp, r->pkt.peer, r->pkt.local);
	struct sockaddr_storage peer;
	struct sockaddr_in *sin = (struct sockaddr_in *)&peer;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&peer;
	struct fuzz_relay ri;
	struct peer_ip ip;
	struct chan *c;
	uint8_t sel, *buf;
	size_t total, iplen;
	bool expect;

	if (a == NULL || len < 1)
		return;
	sel = p[0];
	p++;
	len--;
	memset(&peer, 0, sizeof(peer));
	if (sel & 1) {
		/* family (bit 0: IPv6), port, IP */
		iplen = len > 0 && (p[0] & 1) ? 16 : 4;
		if (len < 3 + iplen)
			return;
		if (iplen == 16) {
			sin6->sin6_family = AF_INET6;
			memcpy(&sin6->sin6_addr, p + 3, 16);
		} else {
			sin->sin_family = AF_INET;
			memcpy(&sin->sin_addr, p + 3, 4);
		}
		addr_set_port((struct sockaddr *)&peer, (uint16_t)(p[1] << 8 | p[2]));
		p += 3 + iplen;
		len -= 3 + iplen;
	} else {
		if (!r->have_peer)
			return;
		peer = r->last_peer;
		if (sel & 2) {
			if (len < 2)
				return;
			addr_set_port((struct sockaddr *)&peer, (uint16_t)(p[0] << 8 | p[1]));
			p += 2;
			len -= 2;
		}
	}
	/* relay.c reads a socket of one family: only that family's peers arrive. */
	if (!fuzz_has_family(a, peer.ss_family))
		return;
	total = RELAY_HEADROOM + len + RELAY_TAILROOM;
	FUZZ_CHECK((buf = malloc(total)) != NULL);
	memset(buf, 0xa5, total);
	memcpy(buf + RELAY_HEADROOM, p, len);
	peer_ip_from(&ip, (struct sockaddr *)&peer);
	c = chan_by_peer(a, (struct sockaddr *)&peer);
	memset(&ri, 0, sizeof(ri));
	ri.a = a;
	ri.peer = (struct sockaddr *)&peer;
	ri.payload = p;
	ri.len = len;
	ri.buf = buf;
	ri.cap = total;
	ri.chan = c != NULL && c->expires_ms > r->now ? c->number : -1;
	expect = perm_valid(a, &ip, r->now) && len <= 0xffff - RELAY_HEADROOM;
	r->relay = &ri;
	server_relay_in(r->srv, a, (struct sockaddr *)&peer, buf + RELAY_HEADROOM, len, r->now);
	r->relay = NULL;
	if (r->cfg->bandwidth == 0)
		FUZZ_CHECK(ri.calls == (expect ? 1u : 0u));
	else
		FUZZ_CHECK(ri.calls <= (expect ? 1u : 0u));
	free(buf);
	fuzz_check_state(r, false);
}

/* Let time pass and the core expire what ran out. */
static void
fuzz_tick(struct fuzz_run *r, const uint8_t *p, size_t len)
{
	uint32_t d = 1000;
	size_t i;

	if (len > 0)
		for (d = 0, i = 0; i < 4 && i < len; i++)
			d = d << 8 | p[i];
	r->now += d;
	fuzz_set_time(r);
	server_tick(r->srv, r->now);
	fuzz_check_state(r, true);
}

/* One record of the input. */
static void
fuzz_op(struct fuzz_run *r, uint8_t op, const uint8_t *p, size_t len)
{
	switch ((enum fuzz_op)(op & 7)) {
	case OP_RAW:
		fuzz_raw(r, p, len, (op >> 3) != 0 ? (size_t)(op >> 3) * 8 : FUZZ_OUT_LEN);
		break;
	case OP_SIGNED:
		fuzz_signed(r, p, len, op >> 3, false);
		break;
	case OP_RELAY_IN:
		fuzz_relay_in(r, p, len);
		break;
	case OP_TICK:
		fuzz_tick(r, p, len);
		break;
	case OP_CLIENT:
		if (len > 0)
			fuzz_set_tuple(r, p[0] & 3, (p[0] & 4) ? TRANSPORT_TCP : TRANSPORT_UDP,
			    (p[0] & 8) != 0);
		break;
	case OP_CLOSE:
		/* Only streams close (stream.c); a UDP 5-tuple just goes quiet. */
		if (r->pkt.tp != TRANSPORT_UDP) {
			server_stream_closed(r->srv, r->pkt.tp, r->pkt.peer, r->pkt.local);
			FUZZ_CHECK(alloc_find(&r->srv->allocs, r->pkt.tp, r->pkt.peer,
			    r->pkt.local) == NULL);
			fuzz_check_state(r, false);
		}
		break;
	case OP_CODEC:
		fuzz_codec(p, len);
		fuzz_framing(p, len);
		break;
	case OP_BADKEY:
		fuzz_signed(r, p, len, op >> 3, true);
		break;
	}
}

/* An authenticated Allocate built here, so that sequences start from a live allocation. */
static void
fuzz_prelude(struct fuzz_run *r, uint8_t flags)
{
	static const uint8_t head[2 + STUN_TXID_LEN] = {
		0x00, 0x03, 'f', 'u', 'z', 'z', '-', 'p', 'r', 'e', 'l', 'u', 'd', 'e'
	};
	static const uint8_t udp[8] = { 0x00, 0x19, 0x00, 0x04, 17, 0, 0, 0 };
	static const uint8_t aaf6[8] = { 0x80, 0x00, 0x00, 0x04, 2, 0, 0, 0 };
	uint8_t req[sizeof(head) + sizeof(udp) + sizeof(aaf6)];
	size_t len = 0;

	memcpy(req, head, sizeof(head));
	len += sizeof(head);
	memcpy(req + len, udp, sizeof(udp));
	len += sizeof(udp);
	if (flags & 0x10) {
		memcpy(req + len, aaf6, sizeof(aaf6));
		len += sizeof(aaf6);
	}
	fuzz_signed(r, req, len, (unsigned)(flags >> 6) | ((flags & 0x20) ? 4u : 0u), false);
	if (r->open_mask == 0)
		FUZZ_CHECK(alloc_find(&r->srv->allocs, r->pkt.tp, r->pkt.peer,
		    r->pkt.local) != NULL);
}

/* The relay IPs of a family in the configuration. */
static unsigned
fuzz_relay_ips(const struct config *cfg, int family)
{
	unsigned i, n = 0;

	for (i = 0; i < cfg->relay_ip.n; i++)
		n += cfg->relay_ip.addr[i].ss_family == family;
	return n;
}

/*
 * The end of an input: far in the future every allocation has expired,
 * every relay handle is closed, and a small pool or quota has every slot
 * back (a leak there would starve a long-running server).
 */
static void
fuzz_finish(struct fuzz_run *r)
{
	static const int families[2] = { AF_INET, AF_INET6 };
	const struct config *cfg = r->cfg;
	unsigned span = (unsigned)(cfg->relay_port_max - cfg->relay_port_min + 1);
	uint8_t token[8];
	uint16_t port;
	unsigned i, k, got;
	char name[16];
	int ipidx;

	r->now += FUZZ_FAR_MS;
	fuzz_set_time(r);
	server_tick(r->srv, r->now);
	fuzz_check_state(r, true);
	FUZZ_CHECK(server_alloc_count(r->srv) == 0);
	FUZZ_CHECK(fuzz_nhandles == 0 && fuzz_handles == NULL);
	FUZZ_CHECK(r->stats.allocs_created == r->stats.allocs_freed);
	if (span <= 64)
		for (k = 0; k < 2; k++) {
			if (!ports_has_family(r->shared.ports, families[k]))
				continue;
			for (got = 0; got <= span * fuzz_relay_ips(cfg, families[k]); got++)
				if (ports_take(r->shared.ports, families[k], false, false,
				    &ipidx, &port, token) != 0)
					break;
			FUZZ_CHECK(got == span * fuzz_relay_ips(cfg, families[k]));
		}
	if (cfg->total_quota > 0 && cfg->total_quota <= 64) {
		for (i = 0; i < (unsigned)cfg->total_quota; i++) {
			snprintf(name, sizeof(name), "quota-%u", i);
			FUZZ_CHECK(quota_take(r->shared.quota, name) == 0);
		}
		FUZZ_CHECK(quota_take(r->shared.quota, "quota-over") == 508);
	}
	server_free(r->srv);
	shared_free(&r->shared);
	FUZZ_CHECK(fuzz_handles == NULL);
	fuzz_cur = NULL;
}

/* One input: a header, then a sequence of records against a fresh core. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fuzz_run run;
	struct fuzz_run *r = &run;
	struct server_io io = { r, fuzz_relay_open, fuzz_relay_close, fuzz_relay_send,
	    fuzz_client_send };
	char *cause = NULL;
	unsigned ops = 0;
	uint8_t flags, op;
	size_t len;

	if (size < 3) {
		fuzz_codec(data, size);
		fuzz_framing(data, size);
		return 0;
	}
	memset(r, 0, sizeof(*r));
	flags = data[0];
	r->v = &fuzz_variants[flags & 1];
	r->cfg = r->v->cfg;
	r->open_mask = data[1];
	r->send_mask = data[2];
	if (shared_build(r->cfg, &r->shared, &cause) != 0) {
		fprintf(stderr, "shared_build: %s\n", cause ? cause : "failed");
		abort();
	}
	r->srv = server_new(r->cfg, &r->shared, &io, &r->stats);
	fuzz_cur = r;
	r->now = FUZZ_NOW_MS;
	fuzz_set_time(r);
	fuzz_set_tuple(r, 0, (flags & 2) ? TRANSPORT_TCP : TRANSPORT_UDP, (flags & 4) != 0);
	if (flags & 8)
		fuzz_prelude(r, flags);
	data += 3;
	size -= 3;
	while (size >= 3 && ops++ < FUZZ_MAX_OPS) {
		op = data[0];
		len = (size_t)data[1] << 8 | data[2];
		data += 3;
		size -= 3;
		if (len > size)
			len = size;
		fuzz_op(r, op, data, len);
		data += len;
		size -= len;
	}
	fuzz_finish(r);
	return 0;
}
