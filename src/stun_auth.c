/* stun_auth.c: FINGERPRINT, MESSAGE-INTEGRITY(-SHA256) and long-term keys (OpenSSL, libidn SASLprep). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stringprep.h>

#include "stun.h"

#define MI_LEN		20
#define MI256_LEN	32

static uint32_t		 crc_table[256];
static EVP_MAC		*hmac_alg;
static pthread_once_t	 auth_once = PTHREAD_ONCE_INIT;

/* Build the CRC-32 table and fetch the HMAC implementation, once per process. */
static void
stun_auth_init(void)
{
	uint32_t c;
	unsigned i, k;

	for (i = 0; i < 256; i++) {
		c = i;
		for (k = 0; k < 8; k++)
			c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
		crc_table[i] = c;
	}
	hmac_alg = EVP_MAC_fetch(NULL, "HMAC", NULL);
}

/* CRC-32 (ISO 3309, as zlib computes it). */
uint32_t
stun_crc32(const uint8_t *p, size_t n)
{
	uint32_t c = 0xffffffffu;

	pthread_once(&auth_once, stun_auth_init);
	while (n-- > 0)
		c = crc_table[(c ^ *p++) & 0xff] ^ (c >> 8);
	return c ^ 0xffffffffu;
}

/* HMAC over a header whose length field is replaced by hdrlen, then body bytes. */
static int
stun_hmac(const char *digest, const uint8_t *key, size_t keylen,
    const uint8_t *msg, size_t upto, uint16_t hdrlen, uint8_t *out, size_t outcap)
{
	OSSL_PARAM params[2];
	EVP_MAC_CTX *ctx;
	uint8_t hdr[STUN_HDR_LEN];
	size_t outlen = 0;
	int ok;

	pthread_once(&auth_once, stun_auth_init);
	if (hmac_alg == NULL || upto < STUN_HDR_LEN)
		return -EINVAL;
	memcpy(hdr, msg, STUN_HDR_LEN);
	hdr[2] = (uint8_t)(hdrlen >> 8);
	hdr[3] = (uint8_t)hdrlen;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    (char *)digest, 0);
	params[1] = OSSL_PARAM_construct_end();
	if ((ctx = EVP_MAC_CTX_new(hmac_alg)) == NULL)
		return -ENOMEM;
	ok = EVP_MAC_init(ctx, key, keylen, params) &&
	    EVP_MAC_update(ctx, hdr, sizeof(hdr)) &&
	    EVP_MAC_update(ctx, msg + STUN_HDR_LEN, upto - STUN_HDR_LEN) &&
	    EVP_MAC_final(ctx, out, &outlen, outcap);
	EVP_MAC_CTX_free(ctx);
	return ok ? (int)outlen : -EINVAL;
}

/* Append FINGERPRINT; it must be the last attribute. */
int
stun_put_fingerprint(struct wbuf *w)
{
	uint32_t crc;

	if (w->overflow || w->len < STUN_HDR_LEN || w->cap - w->len < 8) {
		w->overflow = true;	/* a message missing its FINGERPRINT must not go out */
		return -ENOSPC;
	}
	/* The CRC covers the header with its length already counting FINGERPRINT. */
	wbuf_put_u16_at(w, 2, (uint16_t)(w->len + 8 - STUN_HDR_LEN));
	crc = stun_crc32(w->p, w->len) ^ STUN_FP_XOR;
	return stun_put_u32(w, STUN_A_FINGERPRINT, crc);
}

/* Append an integrity attribute of the given digest and length. */
static int
stun_put_mac(struct wbuf *w, uint16_t type, const char *digest, size_t maclen,
    const uint8_t *key, size_t keylen)
{
	uint8_t mac[EVP_MAX_MD_SIZE];
	uint16_t hdrlen;

	if (w->overflow || w->len < STUN_HDR_LEN || w->cap - w->len < 4 + maclen) {
		w->overflow = true;	/* nor one missing its integrity */
		return -ENOSPC;
	}
	hdrlen = (uint16_t)(w->len + 4 + maclen - STUN_HDR_LEN);
	if (stun_hmac(digest, key, keylen, w->p, w->len, hdrlen, mac,
	    sizeof(mac)) < (int)maclen) {
		w->overflow = true;
		return -EINVAL;
	}
	return stun_put(w, type, mac, maclen);
}

/* Append MESSAGE-INTEGRITY (HMAC-SHA1). */
int
stun_put_integrity(struct wbuf *w, const uint8_t *key, size_t keylen)
{
	return stun_put_mac(w, STUN_A_MESSAGE_INTEGRITY, "SHA1", MI_LEN, key, keylen);
}

/* Append MESSAGE-INTEGRITY-SHA256, untruncated. */
int
stun_put_integrity_sha256(struct wbuf *w, const uint8_t *key, size_t keylen)
{
	return stun_put_mac(w, STUN_A_MESSAGE_INTEGRITY_SHA256, "SHA256",
	    MI256_LEN, key, keylen);
}

/* Offset of an attribute's header from the start of the message. */
static size_t
stun_attr_offset(const struct stun_msg *m, int idx)
{
	return (size_t)(m->attrs[idx].val - m->raw) - 4;
}

/* Is the FINGERPRINT right? */
bool
stun_check_fingerprint(const struct stun_msg *m)
{
	const struct stun_attr *a;
	size_t off;
	uint32_t want;

	if (m->fp < 0)
		return false;
	a = &m->attrs[m->fp];
	off = stun_attr_offset(m, m->fp);
	if (stun_attr_u32(a, &want) != 0)
		return false;
	return (stun_crc32(m->raw, off) ^ STUN_FP_XOR) == want;
}

/* Check one integrity attribute in constant time; the MAC may be truncated (SHA-256). */
static bool
stun_check_mac(const struct stun_msg *m, int idx, const char *digest,
    const uint8_t *key, size_t keylen)
{
	uint8_t mac[EVP_MAX_MD_SIZE];
	const struct stun_attr *a;
	size_t off;
	int n;

	if (idx < 0)
		return false;
	a = &m->attrs[idx];
	off = stun_attr_offset(m, idx);
	n = stun_hmac(digest, key, keylen, m->raw, off,
	    (uint16_t)(off + 4 + a->len - STUN_HDR_LEN), mac, sizeof(mac));
	if (n < (int)a->len)
		return false;
	return CRYPTO_memcmp(mac, a->val, a->len) == 0;
}

/* Does MESSAGE-INTEGRITY match this key? */
bool
stun_check_integrity(const struct stun_msg *m, const uint8_t *key, size_t keylen)
{
	return stun_check_mac(m, m->mi, "SHA1", key, keylen);
}

/* Does MESSAGE-INTEGRITY-SHA256 match this key? */
bool
stun_check_integrity_sha256(const struct stun_msg *m, const uint8_t *key,
    size_t keylen)
{
	return stun_check_mac(m, m->mi256, "SHA256", key, keylen);
}

/* SASLprep (RFC 4013), as RFC 5389 prepares passwords; ASCII passes unchanged. */
int
stun_prep_saslprep(const char *in, char *out, size_t outcap)
{
	char *prepped = NULL;
	size_t n;

	if (stringprep_profile(in, &prepped, "SASLprep", 0) != STRINGPREP_OK)
		return -EINVAL;
	n = strlen(prepped);
	if (n >= outcap) {
		free(prepped);
		return -ENOSPC;
	}
	memcpy(out, prepped, n + 1);
	free(prepped);
	return 0;
}

/*
 * OpaqueString (RFC 8265), as RFC 8489 prepares passwords and realms.
 * Control characters are refused and non-ASCII spaces map to U+0020; NFC
 * normalisation is not applied (no Debian library offers it alone), so a
 * non-ASCII password must already be in NFC, which input methods produce.
 */
int
stun_prep_opaque(const char *in, char *out, size_t outcap)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t n = 0;

	while (*s != '\0') {
		size_t skip = 0;

		if (*s < 0x20 || *s == 0x7f)
			return -EINVAL;
		if (s[0] == 0xc2 && s[1] == 0xa0)
			skip = 2;				/* U+00A0 */
		else if (s[0] == 0xe2 && s[1] == 0x80 && s[2] >= 0x80 &&
		    (s[2] <= 0x8a || s[2] == 0xaf))
			skip = 3;				/* U+2000-200A, U+202F */
		else if (s[0] == 0xe3 && s[1] == 0x80 && s[2] == 0x80)
			skip = 3;				/* U+3000 */
		if (n + 1 >= outcap)
			return -ENOSPC;
		if (skip > 0) {
			out[n++] = ' ';
			s += skip;
		} else
			out[n++] = (char)*s++;
	}
	if (n == 0 && outcap == 0)
		return -ENOSPC;
	out[n] = '\0';
	return 0;
}

/* Long-term key: MD5 or SHA-256 of "user:realm:password" (RFC 8489 section 9.2.2). */
int
stun_longterm_key(int alg, const char *user, const char *realm,
    const char *password, uint8_t *key, size_t *keylen)
{
	char prepped[514], buf[2048];
	unsigned int outlen = 0;
	const EVP_MD *md;
	int n, rc;

	if (alg == STUN_PWALG_MD5) {
		md = EVP_md5();
		rc = stun_prep_saslprep(password, prepped, sizeof(prepped));
	} else if (alg == STUN_PWALG_SHA256) {
		md = EVP_sha256();
		rc = stun_prep_opaque(password, prepped, sizeof(prepped));
	} else
		return -EINVAL;
	if (rc != 0)
		return rc;
	n = snprintf(buf, sizeof(buf), "%s:%s:%s", user, realm, prepped);
	OPENSSL_cleanse(prepped, sizeof(prepped));
	if (n < 0 || (size_t)n >= sizeof(buf))
		return -ENOSPC;
	rc = EVP_Digest(buf, (size_t)n, key, &outlen, md, NULL) ? 0 : -EINVAL;
	OPENSSL_cleanse(buf, sizeof(buf));
	*keylen = outlen;
	return rc;
}
