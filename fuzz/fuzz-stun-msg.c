/* fuzz-stun-msg.c: libFuzzer target for the STUN codec (parse, attribute decoders, writer), the protocol core, and stream/ChannelData framing. */
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

#include "addr.h"
#include "chandata.h"
#include "config.h"
#include "rbuf.h"
#include "server.h"
#include "stats.h"
#include "stun.h"

#define FUZZ_KEY	"VOkJxbRl1RmTxUk/WvJxBt"	/* RFC 5769 short-term password */
#define FUZZ_KEYLEN	(sizeof(FUZZ_KEY) - 1)
#define FUZZ_OUT_LEN	2048	/* what listen.c and stream.c give the core */
#define FUZZ_NOW_MS	1000000

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

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* The cores, built once: [0] with the defaults, [1] with the reply-shaping options flipped. */
static struct stats	 fuzz_stats;
static struct config	*fuzz_cfg[2];
static struct server	*fuzz_srv[2];

/* Fixed 5-tuples: a peer and a local address of each family. */
static struct sockaddr_in	 fuzz_peer4, fuzz_local4;
static struct sockaddr_in6	 fuzz_peer6, fuzz_local6;

/* Fill one IPv4 address. */
static void
fuzz_sin(struct sockaddr_in *sin, const char *ip, uint16_t port)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	FUZZ_CHECK(inet_pton(AF_INET, ip, &sin->sin_addr) == 1);
}

/* Fill one IPv6 address. */
static void
fuzz_sin6(struct sockaddr_in6 *sin6, const char *ip, uint16_t port)
{
	memset(sin6, 0, sizeof(*sin6));
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
	FUZZ_CHECK(inet_pton(AF_INET6, ip, &sin6->sin6_addr) == 1);
}

/* Load both configurations, build both cores and the addresses, once per process. */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const struct config_arg alt[] = {
		{ "software", "" },
		{ "rfc3489", "false" },
		{ "mapped_address", "true" },
	};
	char *cause = NULL;
	unsigned i;

	fuzz_cfg[0] = config_load(NULL, NULL, 0, &cause);
	if (fuzz_cfg[0] != NULL)
		fuzz_cfg[1] = config_load(NULL, alt, sizeof(alt) / sizeof(alt[0]),
		    &cause);
	if (fuzz_cfg[0] == NULL || fuzz_cfg[1] == NULL) {
		fprintf(stderr, "config_load: %s\n", cause ? cause : "failed");
		abort();
	}
	for (i = 0; i < 2; i++)
		fuzz_srv[i] = server_new(fuzz_cfg[i], &fuzz_stats);
	fuzz_sin(&fuzz_peer4, "192.0.2.1", 40000);
	fuzz_sin(&fuzz_local4, "198.51.100.1", 3478);
	fuzz_sin6(&fuzz_peer6, "2001:db8::1", 40001);
	fuzz_sin6(&fuzz_local6, "2001:db8::2", 3478);
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
 * Part 1: the codec. Parse, decode every attribute, check the integrity
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

/* A reply must be a well-formed response to the very request it answers. */
static void
fuzz_check_reply(const struct config *cfg, const struct pkt_ctx *pkt,
    const uint8_t *in, size_t len, const uint8_t *out, size_t n)
{
	static struct stun_msg q, r;
	int rc;

	rc = stun_msg_parse(&q, in, len);
	FUZZ_CHECK(rc == 0 || rc == -EBADMSG);
	FUZZ_CHECK(q.cls == STUN_REQUEST);
	FUZZ_CHECK(!q.classic || (q.method == STUN_BINDING && cfg->rfc3489));
	FUZZ_CHECK(stun_msg_parse(&r, out, n) == 0);
	FUZZ_CHECK(memcmp(r.txid16, in + 4, STUN_TXID16_LEN) == 0);
	FUZZ_CHECK(r.method == q.method && r.classic == q.classic);
	FUZZ_CHECK(r.cls == STUN_SUCCESS || r.cls == STUN_ERROR);
	FUZZ_CHECK(r.nunknown == 0);
	/* FINGERPRINT in, FINGERPRINT out; classic clients get none. */
	FUZZ_CHECK((r.fp >= 0) == (rc == 0 && q.fp >= 0 && !q.classic));
	if (r.cls == STUN_ERROR) {
		FUZZ_CHECK(stun_msg_find(&r, STUN_A_ERROR_CODE) != NULL);
		return;
	}
	FUZZ_CHECK(rc == 0 && q.nunknown == 0 && q.method == STUN_BINDING);
	if (q.classic)
		fuzz_check_mapped(&r, STUN_A_MAPPED_ADDRESS, false, pkt->peer);
	else {
		fuzz_check_mapped(&r, STUN_A_XOR_MAPPED_ADDRESS, true, pkt->peer);
		if (cfg->mapped_address)
			fuzz_check_mapped(&r, STUN_A_MAPPED_ADDRESS, false,
			    pkt->peer);
	}
}

/* One message through one core into an output buffer of exactly cap bytes. */
static void
fuzz_core_one(int k, const struct pkt_ctx *pkt, const uint8_t *in, size_t len,
    size_t cap)
{
	uint8_t *out;
	ssize_t n;

	if ((out = malloc(cap > 0 ? cap : 1)) == NULL)
		return;
	n = server_process(fuzz_srv[k], pkt, in, len, out, cap);
	FUZZ_CHECK(n >= 0 && (size_t)n <= cap);
	if (n > 0)
		fuzz_check_reply(fuzz_cfg[k], pkt, in, len, out, (size_t)n);
	free(out);
}

/* Cut the input into frames as stream.c does and check what it cuts. */
static void
fuzz_stream(int k, const struct pkt_ctx *pkt, const uint8_t *data, size_t size)
{
	size_t max = (size_t)fuzz_cfg[k]->max_frame;
	struct chandata cd;
	long flen;

	while (size > 0) {
		flen = stream_frame_len(data, size, max);
		if (flen <= 0 || (size_t)flen > size)
			return;
		FUZZ_CHECK((size_t)flen <= max && (flen & 3) == 0);
		if (demux_classify(data, size) == DEMUX_STUN) {
			FUZZ_CHECK(stun_is_stun_header(data, (size_t)flen));
			fuzz_core_one(k, pkt, data, (size_t)flen, FUZZ_OUT_LEN);
		} else {
			FUZZ_CHECK(demux_classify(data, size) == DEMUX_CHANDATA);
			FUZZ_CHECK(chandata_parse(&cd, data, (size_t)flen, true) == 0);
			FUZZ_CHECK(CHANDATA_HDR_LEN + (size_t)cd.len <= (size_t)flen &&
			    (size_t)flen - CHANDATA_HDR_LEN - cd.len <= 3);
		}
		data += flen;
		size -= (size_t)flen;
	}
}

/* Part 2: the whole core, over UDP and TCP, from an IPv4 and an IPv6 peer, with both configurations. */
static void
fuzz_core(const uint8_t *data, size_t size)
{
	const struct sockaddr *peers[2] = {
		(struct sockaddr *)&fuzz_peer4, (struct sockaddr *)&fuzz_peer6
	};
	const struct sockaddr *locals[2] = {
		(struct sockaddr *)&fuzz_local4, (struct sockaddr *)&fuzz_local6
	};
	struct pkt_ctx pkt;
	int k, f;

	memset(&pkt, 0, sizeof(pkt));
	for (k = 0; k < 2; k++)
		for (f = 0; f < 2; f++) {
			pkt.peer = peers[f];
			pkt.local = locals[f];
			pkt.now_ms = FUZZ_NOW_MS;
			pkt.tp = TRANSPORT_UDP;
			fuzz_core_one(k, &pkt, data, size, FUZZ_OUT_LEN);
			pkt.tp = TRANSPORT_TCP;
			fuzz_stream(k, &pkt, data, size);
		}
	/* A tight output buffer: the reply must fit whole or not be sent. */
	if (size == 0)
		return;
	pkt.peer = peers[size & 1];
	pkt.local = locals[size & 1];
	pkt.tp = TRANSPORT_UDP;
	fuzz_core_one(0, &pkt, data, size, data[size / 2] & 0x7f);
}

/* Part 3: framing on its own: stream lengths and ChannelData, as a datagram and as a stream frame. */
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

/* One input through the codec, the core and the framing. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_codec(data, size);
	fuzz_core(data, size);
	fuzz_framing(data, size);
	return 0;
}
