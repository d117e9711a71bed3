/* stun.h: the STUN message codec (RFC 8489, RFC 5389, RFC 3489 classic): parse and build, no I/O. */
#ifndef MINIRTC_STUN_H
#define MINIRTC_STUN_H

#include <sys/types.h>
#include <sys/socket.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rbuf.h"

#define STUN_HDR_LEN		20
#define STUN_MAGIC_COOKIE	0x2112A442u
#define STUN_TXID_LEN		12
/* The cookie and the transaction ID together: the 16 bytes a reply echoes,
 * and the whole transaction ID of a classic RFC 3489 message. */
#define STUN_TXID16_LEN		16
#define STUN_FP_XOR		0x5354554eu
#define STUN_MAX_ATTRS		64
#define STUN_MAX_UNKNOWN	16
#define STUN_MAX_MSG		(65535 + STUN_HDR_LEN)

/* Methods. */
#define STUN_BINDING		0x001
#define TURN_ALLOCATE		0x003
#define TURN_REFRESH		0x004
#define TURN_SEND		0x006
#define TURN_DATA		0x007
#define TURN_CREATE_PERMISSION	0x008
#define TURN_CHANNEL_BIND	0x009
#define TURN_CONNECT		0x00a
#define TURN_CONNECTION_BIND	0x00b
#define TURN_CONNECTION_ATTEMPT	0x00c

/* Classes. */
#define STUN_REQUEST		0
#define STUN_INDICATION		1
#define STUN_SUCCESS		2
#define STUN_ERROR		3

/* Attributes: comprehension-required (below 0x8000). */
#define STUN_A_MAPPED_ADDRESS		0x0001
#define STUN_A_RESPONSE_ADDRESS		0x0002	/* RFC 3489 */
#define STUN_A_CHANGE_REQUEST		0x0003	/* RFC 5780 */
#define STUN_A_SOURCE_ADDRESS		0x0004	/* RFC 3489 */
#define STUN_A_CHANGED_ADDRESS		0x0005	/* RFC 3489 */
#define STUN_A_USERNAME			0x0006
#define STUN_A_MESSAGE_INTEGRITY	0x0008
#define STUN_A_ERROR_CODE		0x0009
#define STUN_A_UNKNOWN_ATTRIBUTES	0x000a
#define STUN_A_CHANNEL_NUMBER		0x000c
#define STUN_A_LIFETIME			0x000d
#define STUN_A_XOR_PEER_ADDRESS		0x0012
#define STUN_A_DATA			0x0013
#define STUN_A_REALM			0x0014
#define STUN_A_NONCE			0x0015
#define STUN_A_XOR_RELAYED_ADDRESS	0x0016
#define STUN_A_REQUESTED_ADDRESS_FAMILY	0x0017
#define STUN_A_EVEN_PORT		0x0018
#define STUN_A_REQUESTED_TRANSPORT	0x0019
#define STUN_A_DONT_FRAGMENT		0x001a
#define STUN_A_MESSAGE_INTEGRITY_SHA256	0x001c
#define STUN_A_PASSWORD_ALGORITHM	0x001d
#define STUN_A_USERHASH			0x001e
#define STUN_A_XOR_MAPPED_ADDRESS	0x0020
#define STUN_A_RESERVATION_TOKEN	0x0022
#define STUN_A_PRIORITY			0x0024	/* ICE */
#define STUN_A_USE_CANDIDATE		0x0025	/* ICE */
#define STUN_A_PADDING			0x0026	/* RFC 5780 */
#define STUN_A_RESPONSE_PORT		0x0027	/* RFC 5780 */
#define STUN_A_CONNECTION_ID		0x002a	/* RFC 6062 */
/* Comprehension-optional. */
#define STUN_A_ADDITIONAL_ADDRESS_FAMILY 0x8000
#define STUN_A_ADDRESS_ERROR_CODE	0x8001
#define STUN_A_PASSWORD_ALGORITHMS	0x8002
#define STUN_A_ALTERNATE_DOMAIN		0x8003
#define STUN_A_ICMP			0x8004
#define STUN_A_SOFTWARE			0x8022
#define STUN_A_ALTERNATE_SERVER		0x8023
#define STUN_A_CACHE_TIMEOUT		0x8027	/* RFC 5780 */
#define STUN_A_FINGERPRINT		0x8028
#define STUN_A_ICE_CONTROLLED		0x8029
#define STUN_A_ICE_CONTROLLING		0x802a
#define STUN_A_RESPONSE_ORIGIN		0x802b	/* RFC 5780 */
#define STUN_A_OTHER_ADDRESS		0x802c	/* RFC 5780 */

/* Password algorithms (RFC 8489 section 18.5). */
#define STUN_PWALG_MD5		0x0001
#define STUN_PWALG_SHA256	0x0002

/* Address families as STUN encodes them. */
#define STUN_FAMILY_IPV4	0x01
#define STUN_FAMILY_IPV6	0x02

/* One attribute as found in a parsed message; val points into the message. */
struct stun_attr {
	uint16_t	 type;
	uint16_t	 len;
	const uint8_t	*val;
};

/* A parsed message. It points into the caller's bytes and owns nothing. */
struct stun_msg {
	const uint8_t	*raw;
	size_t		 rawlen;
	uint16_t	 type;
	uint16_t	 method;
	uint8_t		 cls;
	bool		 classic;	/* no magic cookie: an RFC 3489 message */
	const uint8_t	*txid16;	/* raw + 4: cookie and transaction ID */
	unsigned	 nattrs;
	struct stun_attr attrs[STUN_MAX_ATTRS];
	int		 mi;		/* index of MESSAGE-INTEGRITY, or -1 */
	int		 mi256;		/* index of MESSAGE-INTEGRITY-SHA256, or -1 */
	int		 fp;		/* index of FINGERPRINT, or -1 */
	unsigned	 nunknown;	/* unknown comprehension-required types */
	uint16_t	 unknown[STUN_MAX_UNKNOWN];
};

/* stun_msg.c */
uint16_t	 stun_type(uint16_t method, uint8_t cls);
int		 stun_is_stun_header(const uint8_t *, size_t);
int		 stun_msg_parse(struct stun_msg *, const uint8_t *, size_t);
const struct stun_attr *stun_msg_find(const struct stun_msg *, uint16_t);
int		 stun_build_init(struct wbuf *, uint16_t, uint8_t, const uint8_t *);
int		 stun_put(struct wbuf *, uint16_t, const void *, size_t);
int		 stun_put_u32(struct wbuf *, uint16_t, uint32_t);
ssize_t		 stun_build_end(struct wbuf *);
const char	*stun_method_name(uint16_t);
const char	*stun_class_name(uint8_t);

/* stun_attr.c */
bool		 stun_attr_known(uint16_t);
int		 stun_attr_len_ok(uint16_t, size_t);
const char	*stun_attr_name(uint16_t);
int		 stun_attr_addr(const struct stun_attr *, struct sockaddr_storage *);
int		 stun_attr_xaddr(const struct stun_attr *, const uint8_t *,
		    struct sockaddr_storage *);
int		 stun_attr_u32(const struct stun_attr *, uint32_t *);
int		 stun_attr_error(const struct stun_attr *, int *, const char **,
		    size_t *);
int		 stun_put_addr(struct wbuf *, uint16_t, const struct sockaddr *);
int		 stun_put_xaddr(struct wbuf *, uint16_t, const struct sockaddr *);
int		 stun_put_error(struct wbuf *, int, const char *);
int		 stun_put_unknown(struct wbuf *, const uint16_t *, unsigned);
const char	*stun_reason(int);

/* stun_auth.c */
uint32_t	 stun_crc32(const uint8_t *, size_t);
int		 stun_put_fingerprint(struct wbuf *);
int		 stun_put_integrity(struct wbuf *, const uint8_t *, size_t);
int		 stun_put_integrity_sha256(struct wbuf *, const uint8_t *, size_t);
bool		 stun_check_fingerprint(const struct stun_msg *);
bool		 stun_check_integrity(const struct stun_msg *, const uint8_t *,
		    size_t);
bool		 stun_check_integrity_sha256(const struct stun_msg *,
		    const uint8_t *, size_t);
int		 stun_prep_saslprep(const char *, char *, size_t);
int		 stun_prep_opaque(const char *, char *, size_t);
int		 stun_longterm_key(int, const char *, const char *, const char *,
		    uint8_t *, size_t *);

#endif
