/* stun_attr.c: per-attribute codecs, from one table of every attribute we know (RFC 8489, 8656, 6062, 5780, 3489). */
#include <netinet/in.h>
#include <errno.h>
#include <string.h>

#include "stun.h"

/* Length rules; 0xffff as a maximum means "any". */
struct stun_attr_def {
	uint16_t	 type;
	const char	*name;
	uint16_t	 minlen;
	uint16_t	 maxlen;
	uint16_t	 multiple;	/* the length must be a multiple of this */
};

#define ADDR	8, 20, 4	/* IPv4 (8) or IPv6 (20) address; checked again on decode */
#define ANY	0, 0xffff, 1

/* RFC 8489 section 14 bounds text attributes: 763 bytes for REALM, NONCE,
 * SOFTWARE and the ERROR-CODE reason, 513 for USERNAME. */
static const struct stun_attr_def stun_attr_defs[] = {
	{ STUN_A_MAPPED_ADDRESS, "MAPPED-ADDRESS", ADDR },
	{ STUN_A_RESPONSE_ADDRESS, "RESPONSE-ADDRESS", ADDR },
	{ STUN_A_CHANGE_REQUEST, "CHANGE-REQUEST", 4, 4, 1 },
	{ STUN_A_SOURCE_ADDRESS, "SOURCE-ADDRESS", ADDR },
	{ STUN_A_CHANGED_ADDRESS, "CHANGED-ADDRESS", ADDR },
	{ STUN_A_USERNAME, "USERNAME", 0, 513, 1 },
	{ STUN_A_MESSAGE_INTEGRITY, "MESSAGE-INTEGRITY", 20, 20, 1 },
	{ STUN_A_ERROR_CODE, "ERROR-CODE", 4, 4 + 763, 1 },
	{ STUN_A_UNKNOWN_ATTRIBUTES, "UNKNOWN-ATTRIBUTES", 0, 0xffff, 2 },
	{ STUN_A_CHANNEL_NUMBER, "CHANNEL-NUMBER", 4, 4, 1 },
	{ STUN_A_LIFETIME, "LIFETIME", 4, 4, 1 },
	{ STUN_A_XOR_PEER_ADDRESS, "XOR-PEER-ADDRESS", ADDR },
	{ STUN_A_DATA, "DATA", ANY },
	{ STUN_A_REALM, "REALM", 0, 763, 1 },
	{ STUN_A_NONCE, "NONCE", 0, 763, 1 },
	{ STUN_A_XOR_RELAYED_ADDRESS, "XOR-RELAYED-ADDRESS", ADDR },
	{ STUN_A_REQUESTED_ADDRESS_FAMILY, "REQUESTED-ADDRESS-FAMILY", 4, 4, 1 },
	{ STUN_A_EVEN_PORT, "EVEN-PORT", 1, 1, 1 },
	{ STUN_A_REQUESTED_TRANSPORT, "REQUESTED-TRANSPORT", 4, 4, 1 },
	{ STUN_A_DONT_FRAGMENT, "DONT-FRAGMENT", 0, 0, 1 },
	{ STUN_A_MESSAGE_INTEGRITY_SHA256, "MESSAGE-INTEGRITY-SHA256", 16, 32, 4 },
	{ STUN_A_PASSWORD_ALGORITHM, "PASSWORD-ALGORITHM", 4, 0xffff, 1 },
	{ STUN_A_USERHASH, "USERHASH", 32, 32, 1 },
	{ STUN_A_XOR_MAPPED_ADDRESS, "XOR-MAPPED-ADDRESS", ADDR },
	{ STUN_A_RESERVATION_TOKEN, "RESERVATION-TOKEN", 8, 8, 1 },
	{ STUN_A_PRIORITY, "PRIORITY", 4, 4, 1 },
	{ STUN_A_USE_CANDIDATE, "USE-CANDIDATE", 0, 0, 1 },
	{ STUN_A_PADDING, "PADDING", ANY },
	{ STUN_A_RESPONSE_PORT, "RESPONSE-PORT", 4, 4, 1 },
	{ STUN_A_CONNECTION_ID, "CONNECTION-ID", 4, 4, 1 },
	{ STUN_A_ADDITIONAL_ADDRESS_FAMILY, "ADDITIONAL-ADDRESS-FAMILY", 4, 4, 1 },
	{ STUN_A_ADDRESS_ERROR_CODE, "ADDRESS-ERROR-CODE", 4, 4 + 763, 1 },
	{ STUN_A_PASSWORD_ALGORITHMS, "PASSWORD-ALGORITHMS", 0, 0xffff, 4 },
	{ STUN_A_ALTERNATE_DOMAIN, "ALTERNATE-DOMAIN", 0, 255, 1 },
	{ STUN_A_ICMP, "ICMP", 8, 8, 1 },
	{ STUN_A_SOFTWARE, "SOFTWARE", 0, 763, 1 },
	{ STUN_A_ALTERNATE_SERVER, "ALTERNATE-SERVER", ADDR },
	{ STUN_A_CACHE_TIMEOUT, "CACHE-TIMEOUT", 4, 4, 1 },
	{ STUN_A_FINGERPRINT, "FINGERPRINT", 4, 4, 1 },
	{ STUN_A_ICE_CONTROLLED, "ICE-CONTROLLED", 8, 8, 1 },
	{ STUN_A_ICE_CONTROLLING, "ICE-CONTROLLING", 8, 8, 1 },
	{ STUN_A_RESPONSE_ORIGIN, "RESPONSE-ORIGIN", ADDR },
	{ STUN_A_OTHER_ADDRESS, "OTHER-ADDRESS", ADDR },
};

/* The table entry for a type, or NULL. */
static const struct stun_attr_def *
stun_attr_def(uint16_t type)
{
	size_t i;

	for (i = 0; i < sizeof(stun_attr_defs) / sizeof(stun_attr_defs[0]); i++)
		if (stun_attr_defs[i].type == type)
			return &stun_attr_defs[i];
	return NULL;
}

/* Is this an attribute we understand? */
bool
stun_attr_known(uint16_t type)
{
	return stun_attr_def(type) != NULL;
}

/* Does a value of this length fit the attribute's rules? Unknown types take any length. */
int
stun_attr_len_ok(uint16_t type, size_t len)
{
	const struct stun_attr_def *d = stun_attr_def(type);

	if (d == NULL)
		return 1;
	return len >= d->minlen && len <= d->maxlen && len % d->multiple == 0;
}

/* An attribute's name, for logs and the tool. */
const char *
stun_attr_name(uint16_t type)
{
	const struct stun_attr_def *d = stun_attr_def(type);

	return d != NULL ? d->name : "unknown";
}

/* Decode an address value, XORed with key (NULL for plain addresses). */
static int
stun_attr_addr_decode(const struct stun_attr *a, const uint8_t *key,
    struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	uint8_t ip[16], reserved, family;
	uint16_t port;
	struct rbuf r;
	size_t i, iplen;

	rbuf_init(&r, a->val, a->len);
	if (rbuf_u8(&r, &reserved) != 0 || rbuf_u8(&r, &family) != 0 ||
	    rbuf_u16(&r, &port) != 0)
		return -EBADMSG;
	if (family == STUN_FAMILY_IPV4)
		iplen = 4;
	else if (family == STUN_FAMILY_IPV6)
		iplen = 16;
	else
		return -EAFNOSUPPORT;
	if (rbuf_left(&r) != iplen || rbuf_mem(&r, ip, iplen) != 0)
		return -EBADMSG;
	if (key != NULL) {
		port ^= (uint16_t)((key[0] << 8) | key[1]);
		for (i = 0; i < iplen; i++)
			ip[i] ^= key[i];
	}
	memset(ss, 0, sizeof(*ss));
	if (family == STUN_FAMILY_IPV4) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		memcpy(&sin->sin_addr, ip, 4);
	} else {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		memcpy(&sin6->sin6_addr, ip, 16);
	}
	return 0;
}

/* Decode a plain address attribute (MAPPED-ADDRESS, OTHER-ADDRESS, ...). */
int
stun_attr_addr(const struct stun_attr *a, struct sockaddr_storage *ss)
{
	return stun_attr_addr_decode(a, NULL, ss);
}

/* Decode an XOR address attribute; txid16 is the message's cookie and transaction ID. */
int
stun_attr_xaddr(const struct stun_attr *a, const uint8_t *txid16,
    struct sockaddr_storage *ss)
{
	return stun_attr_addr_decode(a, txid16, ss);
}

/* Decode a 32-bit attribute. */
int
stun_attr_u32(const struct stun_attr *a, uint32_t *v)
{
	struct rbuf r;

	rbuf_init(&r, a->val, a->len);
	if (a->len != 4 || rbuf_u32(&r, v) != 0)
		return -EBADMSG;
	return 0;
}

/* Decode ERROR-CODE into a number (300-699) and a reason that points into the message. */
int
stun_attr_error(const struct stun_attr *a, int *code, const char **reason,
    size_t *reasonlen)
{
	uint8_t zero[2], cls, num;
	struct rbuf r;

	rbuf_init(&r, a->val, a->len);
	if (rbuf_mem(&r, zero, 2) != 0 || rbuf_u8(&r, &cls) != 0 ||
	    rbuf_u8(&r, &num) != 0)
		return -EBADMSG;
	cls &= 0x07;
	if (cls < 3 || cls > 6 || num > 99)
		return -EBADMSG;
	*code = cls * 100 + num;
	*reason = (const char *)a->val + 4;
	*reasonlen = rbuf_left(&r);
	return 0;
}

/* Encode an address value, XORed with key when key is not NULL. */
static int
stun_put_addr_encode(struct wbuf *w, uint16_t type, const struct sockaddr *sa,
    const uint8_t *key)
{
	uint8_t v[20];
	const uint8_t *ip;
	uint16_t port;
	size_t i, iplen;

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
		ip = (const uint8_t *)&sin->sin_addr;
		iplen = 4;
		port = ntohs(sin->sin_port);
		v[1] = STUN_FAMILY_IPV4;
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
		ip = (const uint8_t *)&sin6->sin6_addr;
		iplen = 16;
		port = ntohs(sin6->sin6_port);
		v[1] = STUN_FAMILY_IPV6;
	} else
		return -EAFNOSUPPORT;
	v[0] = 0;
	memcpy(v + 4, ip, iplen);
	if (key != NULL) {
		port ^= (uint16_t)((key[0] << 8) | key[1]);
		for (i = 0; i < iplen; i++)
			v[4 + i] ^= key[i];
	}
	v[2] = (uint8_t)(port >> 8);
	v[3] = (uint8_t)port;
	return stun_put(w, type, v, 4 + iplen);
}

/* Append a plain address attribute. */
int
stun_put_addr(struct wbuf *w, uint16_t type, const struct sockaddr *sa)
{
	return stun_put_addr_encode(w, type, sa, NULL);
}

/* Append an XOR address attribute, keyed by the transaction ID already in the header. */
int
stun_put_xaddr(struct wbuf *w, uint16_t type, const struct sockaddr *sa)
{
	if (w->len < STUN_HDR_LEN)
		return -EINVAL;
	return stun_put_addr_encode(w, type, sa, w->p + 4);
}

/* Append ERROR-CODE; a NULL reason takes the standard phrase. */
int
stun_put_error(struct wbuf *w, int code, const char *reason)
{
	uint8_t v[4 + 128];
	size_t n;

	if (code < 300 || code > 699)
		return -EINVAL;
	if (reason == NULL)
		reason = stun_reason(code);
	n = strnlen(reason, sizeof(v) - 4);
	v[0] = v[1] = 0;
	v[2] = (uint8_t)(code / 100);
	v[3] = (uint8_t)(code % 100);
	memcpy(v + 4, reason, n);
	return stun_put(w, STUN_A_ERROR_CODE, v, 4 + n);
}

/* Append UNKNOWN-ATTRIBUTES listing types. */
int
stun_put_unknown(struct wbuf *w, const uint16_t *types, unsigned n)
{
	uint8_t v[2 * STUN_MAX_UNKNOWN];
	unsigned i;

	if (n > STUN_MAX_UNKNOWN)
		n = STUN_MAX_UNKNOWN;
	for (i = 0; i < n; i++) {
		v[2 * i] = (uint8_t)(types[i] >> 8);
		v[2 * i + 1] = (uint8_t)types[i];
	}
	return stun_put(w, STUN_A_UNKNOWN_ATTRIBUTES, v, 2 * n);
}

/* The standard reason phrase of an error code (RFC 8489 section 14.8, RFC 8656 section 19). */
const char *
stun_reason(int code)
{
	switch (code) {
	case 300: return "Try Alternate";
	case 400: return "Bad Request";
	case 401: return "Unauthenticated";
	case 403: return "Forbidden";
	case 405: return "Mobility Forbidden";
	case 420: return "Unknown Attribute";
	case 437: return "Allocation Mismatch";
	case 438: return "Stale Nonce";
	case 440: return "Address Family not Supported";
	case 441: return "Wrong Credentials";
	case 442: return "Unsupported Transport Protocol";
	case 443: return "Peer Address Family Mismatch";
	case 446: return "Connection Already Exists";
	case 447: return "Connection Timeout or Failure";
	case 486: return "Allocation Quota Reached";
	case 487: return "Role Conflict";
	case 500: return "Server Error";
	case 508: return "Insufficient Capacity";
	default: return "Error";
	}
}
