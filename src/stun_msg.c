/* stun_msg.c: STUN header checks, the attribute walk, and the message builder (no I/O). */
#include <errno.h>
#include <string.h>

#include "stun.h"

/* Pack a method and class into the 14-bit message type (RFC 8489 section 5). */
uint16_t
stun_type(uint16_t method, uint8_t cls)
{
	return (uint16_t)((method & 0x000f) | ((method & 0x0070) << 1) |
	    ((method & 0x0f80) << 2) | ((cls & 1) << 4) | ((cls & 2) << 7));
}

/* Unpack a message type into its method. */
static uint16_t
stun_type_method(uint16_t type)
{
	return (uint16_t)((type & 0x000f) | ((type & 0x00e0) >> 1) |
	    ((type & 0x3e00) >> 2));
}

/* Unpack a message type into its class. */
static uint8_t
stun_type_class(uint16_t type)
{
	return (uint8_t)(((type >> 4) & 1) | ((type >> 7) & 2));
}

/* Does this datagram or frame carry a plausible STUN header covering exactly len bytes? */
int
stun_is_stun_header(const uint8_t *buf, size_t len)
{
	size_t body;

	if (len < STUN_HDR_LEN || (buf[0] & 0xc0) != 0)
		return 0;
	body = ((size_t)buf[2] << 8) | buf[3];
	return (body & 3) == 0 && STUN_HDR_LEN + body == len;
}

/* Fill the header fields of m; the attribute walk comes after. */
static void
stun_hdr_fill(struct stun_msg *m, const uint8_t *buf, size_t len)
{
	uint32_t cookie;

	memset(m, 0, sizeof(*m));
	m->raw = buf;
	m->rawlen = len;
	m->type = (uint16_t)((buf[0] << 8) | buf[1]);
	m->method = stun_type_method(m->type);
	m->cls = stun_type_class(m->type);
	cookie = ((uint32_t)buf[4] << 24) | ((uint32_t)buf[5] << 16) |
	    ((uint32_t)buf[6] << 8) | buf[7];
	m->classic = cookie != STUN_MAGIC_COOKIE;
	m->txid16 = buf + 4;
	m->mi = m->mi256 = m->fp = -1;
}

/* Keep one attribute, or note it as unknown when it demands comprehension. */
static int
stun_msg_keep(struct stun_msg *m, uint16_t type, uint16_t len, const uint8_t *val)
{
	if (!stun_attr_len_ok(type, len))
		return -EBADMSG;
	if (m->nattrs == STUN_MAX_ATTRS)
		return -EBADMSG;
	if (!stun_attr_known(type) && type < 0x8000 &&
	    m->nunknown < STUN_MAX_UNKNOWN)
		m->unknown[m->nunknown++] = type;
	if (type == STUN_A_MESSAGE_INTEGRITY)
		m->mi = (int)m->nattrs;
	else if (type == STUN_A_MESSAGE_INTEGRITY_SHA256)
		m->mi256 = (int)m->nattrs;
	else if (type == STUN_A_FINGERPRINT)
		m->fp = (int)m->nattrs;
	m->attrs[m->nattrs].type = type;
	m->attrs[m->nattrs].len = len;
	m->attrs[m->nattrs].val = val;
	m->nattrs++;
	return 0;
}

/*
 * Which attributes count, by position (RFC 8489 section 14.5 and 14.6):
 * after MESSAGE-INTEGRITY only MESSAGE-INTEGRITY-SHA256 and FINGERPRINT
 * are processed, after MESSAGE-INTEGRITY-SHA256 only FINGERPRINT; the
 * rest are ignored, which is not an error. Nothing may follow FINGERPRINT.
 */
static bool
stun_msg_counts(const struct stun_msg *m, uint16_t type)
{
	if (type == STUN_A_FINGERPRINT)
		return true;
	if (m->mi256 >= 0)
		return false;
	if (m->mi >= 0)
		return type == STUN_A_MESSAGE_INTEGRITY_SHA256;
	return true;
}

/* Walk the attributes; each value is read through its own bounded reader. */
static int
stun_msg_walk(struct stun_msg *m)
{
	struct rbuf r, val;
	uint16_t type, len;
	size_t pad;

	rbuf_init(&r, m->raw + STUN_HDR_LEN, m->rawlen - STUN_HDR_LEN);
	while (rbuf_left(&r) > 0) {
		if (m->fp >= 0)
			return -EBADMSG;	/* FINGERPRINT was not last */
		if (rbuf_u16(&r, &type) != 0 || rbuf_u16(&r, &len) != 0 ||
		    rbuf_sub(&r, &val, len) != 0)
			return -EBADMSG;
		/* Padding bytes may hold any value (RFC 8489 section 14). */
		pad = (4 - (len & 3)) & 3;
		if (rbuf_skip(&r, pad) != 0)
			return -EBADMSG;
		if (!stun_msg_counts(m, type))
			continue;
		if (stun_msg_keep(m, type, len, val.p) != 0)
			return -EBADMSG;
	}
	return 0;
}

/*
 * Parse a whole datagram or frame. Returns 0; -EINVAL when it is not a
 * STUN message (or its FINGERPRINT is wrong: RFC 8489 section 7.3 says to
 * discard it) and m is untouched; or -EBADMSG when the header is sound but
 * the attributes are not, and m then holds the header alone so that a
 * request can still be answered with 400.
 */
int
stun_msg_parse(struct stun_msg *m, const uint8_t *buf, size_t len)
{
	struct stun_msg tmp;
	int rc;

	if (!stun_is_stun_header(buf, len))
		return -EINVAL;
	stun_hdr_fill(&tmp, buf, len);
	if ((rc = stun_msg_walk(&tmp)) != 0) {
		stun_hdr_fill(m, buf, len);
		return rc;
	}
	if (tmp.fp >= 0 && !stun_check_fingerprint(&tmp))
		return -EINVAL;
	*m = tmp;
	return 0;
}

/* The first attribute of this type (later duplicates are ignored), or NULL. */
const struct stun_attr *
stun_msg_find(const struct stun_msg *m, uint16_t type)
{
	unsigned i;

	for (i = 0; i < m->nattrs; i++)
		if (m->attrs[i].type == type)
			return &m->attrs[i];
	return NULL;
}

/* Keep the header's length field equal to the attributes written so far. */
static int
stun_build_sync_len(struct wbuf *w)
{
	if (w->overflow || w->len < STUN_HDR_LEN)
		return -ENOSPC;
	return wbuf_put_u16_at(w, 2, (uint16_t)(w->len - STUN_HDR_LEN));
}

/* Start a message; txid16 is the cookie and transaction ID to carry (echoed for replies). */
int
stun_build_init(struct wbuf *w, uint16_t method, uint8_t cls, const uint8_t *txid16)
{
	wbuf_u16(w, stun_type(method, cls));
	wbuf_u16(w, 0);
	wbuf_mem(w, txid16, STUN_TXID16_LEN);
	return stun_build_sync_len(w);
}

/* Append one attribute with zero padding. */
int
stun_put(struct wbuf *w, uint16_t type, const void *val, size_t len)
{
	if (len > 0xffff - 4)
		return -EINVAL;
	wbuf_u16(w, type);
	wbuf_u16(w, (uint16_t)len);
	wbuf_mem(w, val, len);
	wbuf_zero(w, (4 - (len & 3)) & 3);
	if (w->len - STUN_HDR_LEN > 0xffff)
		w->overflow = true;
	return stun_build_sync_len(w);
}

/* Append a 32-bit attribute. */
int
stun_put_u32(struct wbuf *w, uint16_t type, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };

	return stun_put(w, type, b, sizeof(b));
}

/* Finish: the message length, or -ENOSPC when anything did not fit. */
ssize_t
stun_build_end(struct wbuf *w)
{
	if (stun_build_sync_len(w) != 0)
		return -ENOSPC;
	return (ssize_t)w->len;
}

/* A method's name, for logs and the tool. */
const char *
stun_method_name(uint16_t method)
{
	static const struct { uint16_t method; const char *name; } names[] = {
		{ STUN_BINDING, "Binding" },
		{ TURN_ALLOCATE, "Allocate" },
		{ TURN_REFRESH, "Refresh" },
		{ TURN_SEND, "Send" },
		{ TURN_DATA, "Data" },
		{ TURN_CREATE_PERMISSION, "CreatePermission" },
		{ TURN_CHANNEL_BIND, "ChannelBind" },
		{ TURN_CONNECT, "Connect" },
		{ TURN_CONNECTION_BIND, "ConnectionBind" },
		{ TURN_CONNECTION_ATTEMPT, "ConnectionAttempt" },
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].method == method)
			return names[i].name;
	return "unknown";
}

/* A class's name. */
const char *
stun_class_name(uint8_t cls)
{
	static const char *names[] = { "request", "indication", "success", "error" };

	return names[cls & 3];
}
