/* RFC 5769 "Test Vectors for STUN": the four sample messages, byte for byte, with their parameters and expected values. */
#ifndef MINI_RTC_TESTS_RFC5769_VECTORS_H
#define MINI_RTC_TESTS_RFC5769_VECTORS_H

#include <stdint.h>

/*
 * Bytes copied from RFC 5769 section 2 and checked with python3 (zlib, hmac,
 * hashlib): for each message the STUN length field equals total length - 20,
 * FINGERPRINT = CRC-32(message up to FINGERPRINT) XOR 0x5354554e, and
 * MESSAGE-INTEGRITY = HMAC-SHA1(key, message up to MESSAGE-INTEGRITY with the
 * header length field set to end at the MESSAGE-INTEGRITY attribute).
 *
 * Padding is kept as the RFC has it: 0x20 (space) in 2.1, 2.2 and 2.3,
 * 0x00 in 2.4.  An encoder that pads with zeros will produce a different
 * MESSAGE-INTEGRITY/FINGERPRINT for 2.1-2.3, so compare decoded values or
 * verify the given bytes rather than re-encoding and comparing.
 */

/* The arrays are static in a header; not every test uses every one, and
 * -Wall makes unused static const variables a warning in C. */
#if defined(__GNUC__) || defined(__clang__)
#define RFC5769_UNUSED __attribute__((unused))
#else
#define RFC5769_UNUSED
#endif

/* ---- Common to 2.1, 2.2 and 2.3 ---------------------------------------- */

#define RFC5769_MAGIC_COOKIE            0x2112A442u
#define RFC5769_FINGERPRINT_XOR         0x5354554Eu

/* Transaction ID shared by 2.1, 2.2 and 2.3 (12 bytes). */
static const uint8_t rfc5769_transaction_id[12] RFC5769_UNUSED = {
    0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae
};

/* Short-term credential password of 2.1-2.3 (also the HMAC key). */
static const char rfc5769_request_password[] RFC5769_UNUSED = "VOkJxbRl1RmTxUk/WvJxBt";
#define RFC5769_SHORT_TERM_PASSWORD     "VOkJxbRl1RmTxUk/WvJxBt"

/* ---- 2.1 Sample Request ------------------------------------------------- */

#define RFC5769_REQUEST_SOFTWARE        "STUN test client"
#define RFC5769_REQUEST_USERNAME        "evtj:h6vY"
#define RFC5769_REQUEST_PRIORITY        0x6e0001ffu
#define RFC5769_REQUEST_ICE_CONTROLLED  UINT64_C(0x932ff9b151263b36)
#define RFC5769_REQUEST_LEN             108u   /* STUN length field 0x0058 = 88 */
#define RFC5769_REQUEST_FINGERPRINT     0xe57a3bcfu

/* RFC 5769 section 2.1 (108 bytes). */
static const uint8_t rfc5769_request[] RFC5769_UNUSED = {
    0x00, 0x01, 0x00, 0x58,  /* Request type and message length */
    0x21, 0x12, 0xa4, 0x42,  /* Magic cookie */
    0xb7, 0xe7, 0xa7, 0x01,  /* } */
    0xbc, 0x34, 0xd6, 0x86,  /* }  Transaction ID */
    0xfa, 0x87, 0xdf, 0xae,  /* } */
    0x80, 0x22, 0x00, 0x10,  /* SOFTWARE attribute header */
    0x53, 0x54, 0x55, 0x4e,  /* } */
    0x20, 0x74, 0x65, 0x73,  /* }  User agent... */
    0x74, 0x20, 0x63, 0x6c,  /* }  ...name */
    0x69, 0x65, 0x6e, 0x74,  /* } */
    0x00, 0x24, 0x00, 0x04,  /* PRIORITY attribute header */
    0x6e, 0x00, 0x01, 0xff,  /* ICE priority value */
    0x80, 0x29, 0x00, 0x08,  /* ICE-CONTROLLED attribute header */
    0x93, 0x2f, 0xf9, 0xb1,  /* }  Pseudo-random tie breaker... */
    0x51, 0x26, 0x3b, 0x36,  /* }   ...for ICE control */
    0x00, 0x06, 0x00, 0x09,  /* USERNAME attribute header */
    0x65, 0x76, 0x74, 0x6a,  /* } */
    0x3a, 0x68, 0x36, 0x76,  /* }  Username (9 bytes) and padding (3 bytes, 0x20) */
    0x59, 0x20, 0x20, 0x20,  /* } */
    0x00, 0x08, 0x00, 0x14,  /* MESSAGE-INTEGRITY attribute header */
    0x9a, 0xea, 0xa7, 0x0c,  /* } */
    0xbf, 0xd8, 0xcb, 0x56,  /* } */
    0x78, 0x1e, 0xf2, 0xb5,  /* }  HMAC-SHA1 fingerprint */
    0xb2, 0xd3, 0xf2, 0x49,  /* } */
    0xc1, 0xb5, 0x71, 0xa2,  /* } */
    0x80, 0x28, 0x00, 0x04,  /* FINGERPRINT attribute header */
    0xe5, 0x7a, 0x3b, 0xcf   /* CRC32 fingerprint */
};

/* ---- 2.2 Sample IPv4 Response ------------------------------------------- */

#define RFC5769_RESPONSE_SOFTWARE       "test vector"
#define RFC5769_MAPPED_PORT             32853u   /* 0x8055 (wire: 0x8055 ^ 0x2112 = 0xa147) */
#define RFC5769_MAPPED_V4_STR           "192.0.2.1"
#define RFC5769_MAPPED_V4_HOST          0xC0000201u   /* 192.0.2.1 in host order */
#define RFC5769_RESPONSE_V4_LEN         80u   /* STUN length field 0x003c = 60 */
#define RFC5769_RESPONSE_V4_FINGERPRINT 0xc07d4c96u

/* 192.0.2.1 in network byte order. */
static const uint8_t rfc5769_mapped_v4[4] RFC5769_UNUSED = { 0xc0, 0x00, 0x02, 0x01 };

/* RFC 5769 section 2.2 (80 bytes). */
static const uint8_t rfc5769_response_v4[] RFC5769_UNUSED = {
    0x01, 0x01, 0x00, 0x3c,  /* Response type and message length */
    0x21, 0x12, 0xa4, 0x42,  /* Magic cookie */
    0xb7, 0xe7, 0xa7, 0x01,  /* } */
    0xbc, 0x34, 0xd6, 0x86,  /* }  Transaction ID */
    0xfa, 0x87, 0xdf, 0xae,  /* } */
    0x80, 0x22, 0x00, 0x0b,  /* SOFTWARE attribute header */
    0x74, 0x65, 0x73, 0x74,  /* } */
    0x20, 0x76, 0x65, 0x63,  /* }  UTF-8 server name (11 bytes) and padding (1 byte, 0x20) */
    0x74, 0x6f, 0x72, 0x20,  /* } */
    0x00, 0x20, 0x00, 0x08,  /* XOR-MAPPED-ADDRESS attribute header */
    0x00, 0x01, 0xa1, 0x47,  /* Address family (IPv4) and xor'd mapped port number */
    0xe1, 0x12, 0xa6, 0x43,  /* Xor'd mapped IPv4 address */
    0x00, 0x08, 0x00, 0x14,  /* MESSAGE-INTEGRITY attribute header */
    0x2b, 0x91, 0xf5, 0x99,  /* } */
    0xfd, 0x9e, 0x90, 0xc3,  /* } */
    0x8c, 0x74, 0x89, 0xf9,  /* }  HMAC-SHA1 fingerprint */
    0x2a, 0xf9, 0xba, 0x53,  /* } */
    0xf0, 0x6b, 0xe7, 0xd7,  /* } */
    0x80, 0x28, 0x00, 0x04,  /* FINGERPRINT attribute header */
    0xc0, 0x7d, 0x4c, 0x96   /* CRC32 fingerprint */
};

/* ---- 2.3 Sample IPv6 Response ------------------------------------------- */

/* Same port (RFC5769_MAPPED_PORT), software and password as 2.2. */
#define RFC5769_MAPPED_V6_STR           "2001:db8:1234:5678:11:2233:4455:6677"
#define RFC5769_RESPONSE_V6_LEN         92u   /* STUN length field 0x0048 = 72 */
#define RFC5769_RESPONSE_V6_FINGERPRINT 0xc8fb0b4cu

/* 2001:db8:1234:5678:11:2233:4455:6677 in network byte order. */
static const uint8_t rfc5769_mapped_v6[16] RFC5769_UNUSED = {
    0x20, 0x01, 0x0d, 0xb8, 0x12, 0x34, 0x56, 0x78,
    0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77
};

/* RFC 5769 section 2.3 (92 bytes). */
static const uint8_t rfc5769_response_v6[] RFC5769_UNUSED = {
    0x01, 0x01, 0x00, 0x48,  /* Response type and message length */
    0x21, 0x12, 0xa4, 0x42,  /* Magic cookie */
    0xb7, 0xe7, 0xa7, 0x01,  /* } */
    0xbc, 0x34, 0xd6, 0x86,  /* }  Transaction ID */
    0xfa, 0x87, 0xdf, 0xae,  /* } */
    0x80, 0x22, 0x00, 0x0b,  /* SOFTWARE attribute header */
    0x74, 0x65, 0x73, 0x74,  /* } */
    0x20, 0x76, 0x65, 0x63,  /* }  UTF-8 server name (11 bytes) and padding (1 byte, 0x20) */
    0x74, 0x6f, 0x72, 0x20,  /* } */
    0x00, 0x20, 0x00, 0x14,  /* XOR-MAPPED-ADDRESS attribute header */
    0x00, 0x02, 0xa1, 0x47,  /* Address family (IPv6) and xor'd mapped port number */
    0x01, 0x13, 0xa9, 0xfa,  /* } */
    0xa5, 0xd3, 0xf1, 0x79,  /* }  Xor'd mapped IPv6 address */
    0xbc, 0x25, 0xf4, 0xb5,  /* } */
    0xbe, 0xd2, 0xb9, 0xd9,  /* } */
    0x00, 0x08, 0x00, 0x14,  /* MESSAGE-INTEGRITY attribute header */
    0xa3, 0x82, 0x95, 0x4e,  /* } */
    0x4b, 0xe6, 0x7b, 0xf1,  /* } */
    0x17, 0x84, 0xc9, 0x7c,  /* }  HMAC-SHA1 fingerprint */
    0x82, 0x92, 0xc2, 0x75,  /* } */
    0xbf, 0xe3, 0xed, 0x41,  /* } */
    0x80, 0x28, 0x00, 0x04,  /* FINGERPRINT attribute header */
    0xc8, 0xfb, 0x0b, 0x4c   /* CRC32 fingerprint */
};

/* ---- 2.4 Sample Request with Long-Term Authentication ------------------- */

/* Username: U+30DE U+30C8 U+30EA U+30C3 U+30AF U+30B9 in UTF-8 (18 bytes). */
#define RFC5769_LT_USERNAME             "\xe3\x83\x9e\xe3\x83\x88\xe3\x83\xaa\xe3\x83\x83\xe3\x82\xaf\xe3\x82\xb9"
static const char rfc5769_lt_username[] RFC5769_UNUSED = RFC5769_LT_USERNAME;

/* Password: "The<U+00AD>M<U+00AA>tr<U+2168>" in UTF-8 (split literals keep
 * the hex escapes from swallowing the next character).
 * SASLprep'd form: "TheMatrIX" (U+00AD removed, U+00AA -> 'a', U+2168 -> "IX"). */
static const char rfc5769_lt_password[] RFC5769_UNUSED =
    "The" "\xc2\xad" "M" "\xc2\xaa" "tr" "\xe2\x85\xa8";
#define RFC5769_LT_PASSWORD_SASLPREP    "TheMatrIX"

#define RFC5769_LT_REALM                "example.org"
#define RFC5769_LT_NONCE                "f//499k954d6OL34oL9FSTvy64sA"
#define RFC5769_REQUEST_LT_LEN          116u   /* STUN length field 0x0060 = 96; no FINGERPRINT */

/* Transaction ID of 2.4 (12 bytes). */
static const uint8_t rfc5769_lt_transaction_id[12] RFC5769_UNUSED = {
    0x78, 0xad, 0x34, 0x33, 0xc6, 0xad, 0x72, 0xc0, 0x29, 0xda, 0x41, 0x2e
};

/* Long-term key = MD5("<username>:example.org:TheMatrIX") (RFC 5389 section 15.4). */
static const uint8_t rfc5769_lt_key[16] RFC5769_UNUSED = {
    0xe8, 0xca, 0x7a, 0xd5, 0x9d, 0x5e, 0xb0, 0x51,
    0x8e, 0x31, 0x29, 0x11, 0xd2, 0xda, 0xb2, 0xa9
};

/* RFC 5769 section 2.4 (116 bytes). */
static const uint8_t rfc5769_request_lt[] RFC5769_UNUSED = {
    0x00, 0x01, 0x00, 0x60,  /* Request type and message length */
    0x21, 0x12, 0xa4, 0x42,  /* Magic cookie */
    0x78, 0xad, 0x34, 0x33,  /* } */
    0xc6, 0xad, 0x72, 0xc0,  /* }  Transaction ID */
    0x29, 0xda, 0x41, 0x2e,  /* } */
    0x00, 0x06, 0x00, 0x12,  /* USERNAME attribute header */
    0xe3, 0x83, 0x9e, 0xe3,  /* } */
    0x83, 0x88, 0xe3, 0x83,  /* } */
    0xaa, 0xe3, 0x83, 0x83,  /* }  Username value (18 bytes) and padding (2 bytes, 0x00) */
    0xe3, 0x82, 0xaf, 0xe3,  /* } */
    0x82, 0xb9, 0x00, 0x00,  /* } */
    0x00, 0x15, 0x00, 0x1c,  /* NONCE attribute header */
    0x66, 0x2f, 0x2f, 0x34,  /* } */
    0x39, 0x39, 0x6b, 0x39,  /* } */
    0x35, 0x34, 0x64, 0x36,  /* } */
    0x4f, 0x4c, 0x33, 0x34,  /* }  Nonce value (28 bytes) */
    0x6f, 0x4c, 0x39, 0x46,  /* } */
    0x53, 0x54, 0x76, 0x79,  /* } */
    0x36, 0x34, 0x73, 0x41,  /* } */
    0x00, 0x14, 0x00, 0x0b,  /* REALM attribute header */
    0x65, 0x78, 0x61, 0x6d,  /* } */
    0x70, 0x6c, 0x65, 0x2e,  /* }  Realm value (11 bytes) and padding (1 byte, 0x00) */
    0x6f, 0x72, 0x67, 0x00,  /* } */
    0x00, 0x08, 0x00, 0x14,  /* MESSAGE-INTEGRITY attribute header */
    0xf6, 0x70, 0x24, 0x65,  /* } */
    0x6d, 0xd6, 0x4a, 0x3e,  /* } */
    0x02, 0xb8, 0xe0, 0x71,  /* }  HMAC-SHA1 fingerprint */
    0x2e, 0x85, 0xc9, 0xa2,  /* } */
    0x8c, 0xa8, 0x96, 0x66   /* } */
};

#endif /* MINI_RTC_TESTS_RFC5769_VECTORS_H */
