/* auth.c: long-term credential checks (RFC 8489 section 9.2): static users and shared secrets in one realm. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "auth.h"
#include "config.h"
#include "xmalloc.h"

#define NONCE_COOKIE		"obMatJos2"
#define NONCE_COOKIE_LEN	9
#define FEAT_PASSWORD_ALGS	0x800000	/* RFC 8489 section 18.1, bit 0 */
#define FEAT_USERHASH		0x400000	/* bit 1: username anonymity */
#define NONCE_MAC_LEN		13		/* 8 + 13 = 21 bytes: 28 base64 characters, no padding */
#define NONCE_B64_LEN		28

/* One static user with keys derived (or stored) at startup. */
struct auth_user {
	char		*name;
	bool		 has_md5;
	bool		 has_sha256;
	uint8_t		 md5[16];
	uint8_t		 sha256[32];
	uint8_t		 userhash[32];
};

struct auth {
	char		*realm;
	struct auth_user *users;
	unsigned	 nusers;
	char		**secrets;
	unsigned	 nsecrets;
	int		 secret_alg;
	uint32_t	 features;		/* nonce security feature bits */
	uint8_t		 pwalgs[8];		/* the PASSWORD-ALGORITHMS value we offer */
	size_t		 pwalgs_len;
	uint64_t	 nonce_lifetime_ms;
	uint8_t		 nonce_key[32];		/* random per process: nonces need no state */
};

/* Derive a user's keys (or take the stored ones). */
static int
auth_user_init(struct auth_user *au, const struct config_user *u, const char *realm)
{
	unsigned int n = 0;
	char buf[1100];
	size_t len;

	au->name = xstrdup(u->name);
	if (u->password != NULL) {
		if (stun_longterm_key(STUN_PWALG_MD5, u->name, realm, u->password,
		    au->md5, &len) != 0 || stun_longterm_key(STUN_PWALG_SHA256,
		    u->name, realm, u->password, au->sha256, &len) != 0)
			return -1;
		au->has_md5 = au->has_sha256 = true;
	}
	if (u->has_md5_key) {
		memcpy(au->md5, u->md5_key, 16);
		au->has_md5 = true;
	}
	if (u->has_sha256_key) {
		memcpy(au->sha256, u->sha256_key, 32);
		au->has_sha256 = true;
	}
	/* USERHASH = SHA-256(username ":" realm), RFC 8489 section 14.4. */
	snprintf(buf, sizeof(buf), "%s:%s", u->name, realm);
	EVP_Digest(buf, strlen(buf), au->userhash, &n, EVP_sha256(), NULL);
	return 0;
}

/*
 * Which password algorithms to offer. The 401 goes out before we know who
 * asks, so we offer only what every credential can serve: SHA-256 first
 * when all can, MD5 when all can. Shared secrets serve both.
 */
static int
auth_pick_algorithms(struct auth *a, bool userhash, char **cause)
{
	bool md5 = true, sha = true;
	unsigned i;
	uint8_t *p = a->pwalgs;

	for (i = 0; i < a->nusers; i++) {
		md5 = md5 && a->users[i].has_md5;
		sha = sha && a->users[i].has_sha256;
	}
	if (!md5 && !sha) {
		if (asprintf(cause, "user: stored keys leave no password algorithm "
		    "that every user can serve; store both md5_key and sha256_key") < 0)
			*cause = NULL;
		return -1;
	}
	if (sha) {
		p[0] = 0; p[1] = STUN_PWALG_SHA256; p[2] = 0; p[3] = 0;
		a->pwalgs_len = 4;
		if (md5) {
			p[4] = 0; p[5] = STUN_PWALG_MD5; p[6] = 0; p[7] = 0;
			a->pwalgs_len = 8;
		}
		a->features |= FEAT_PASSWORD_ALGS;
	}
	if (userhash)
		a->features |= FEAT_USERHASH;
	return 0;
}

/* Build the credential store from the config. */
struct auth *
auth_new(const struct config *cfg, char **cause)
{
	struct auth *a = xcalloc(1, sizeof(*a));
	unsigned i;

	*cause = NULL;
	a->realm = xstrdup(cfg->realm);
	a->users = xcalloc(cfg->nusers ? cfg->nusers : 1, sizeof(*a->users));
	for (i = 0; i < cfg->nusers; i++, a->nusers++)
		if (auth_user_init(&a->users[i], &cfg->users[i], cfg->realm) != 0) {
			if (asprintf(cause, "user %s: the password cannot be prepared "
			    "(SASLprep/OpaqueString)", cfg->users[i].name) < 0)
				*cause = NULL;
			auth_free(a);
			return NULL;
		}
	a->secrets = xcalloc(cfg->nsecrets ? cfg->nsecrets : 1, sizeof(char *));
	for (i = 0; i < cfg->nsecrets; i++)
		a->secrets[a->nsecrets++] = xstrdup(cfg->secrets[i]);
	a->secret_alg = cfg->secret_algorithm;
	a->nonce_lifetime_ms = (uint64_t)cfg->nonce_lifetime * 1000;
	if (RAND_bytes(a->nonce_key, sizeof(a->nonce_key)) != 1 ||
	    auth_pick_algorithms(a, cfg->userhash, cause) != 0) {
		auth_free(a);
		return NULL;
	}
	return a;
}

/* A reloaded store keeps the old nonce key, so nonces already handed out stay valid. */
void
auth_take_nonce_key(struct auth *dst, const struct auth *src)
{
	memcpy(dst->nonce_key, src->nonce_key, sizeof(dst->nonce_key));
}

/* Free the store, wiping keys and secrets. */
void
auth_free(struct auth *a)
{
	unsigned i;

	if (a == NULL)
		return;
	for (i = 0; i < a->nusers; i++)
		free(a->users[i].name);
	OPENSSL_cleanse(a->users, a->nusers * sizeof(*a->users));
	free(a->users);
	for (i = 0; i < a->nsecrets; i++) {
		OPENSSL_cleanse(a->secrets[i], strlen(a->secrets[i]));
		free(a->secrets[i]);
	}
	free(a->secrets);
	free(a->realm);
	OPENSSL_cleanse(a, sizeof(*a));
	free(a);
}

/* The MAC binding a nonce to its features, issue time and the client's address and port. */
static void
nonce_mac(const struct auth *a, uint32_t feat, uint64_t t, const struct sockaddr *peer,
    uint8_t *out)
{
	uint8_t in[3 + 8 + 16 + 2], mac[32];
	unsigned int maclen = 0;
	size_t n = 0;
	int i;

	in[n++] = (uint8_t)(feat >> 16);
	in[n++] = (uint8_t)(feat >> 8);
	in[n++] = (uint8_t)feat;
	for (i = 7; i >= 0; i--)
		in[n++] = (uint8_t)(t >> (8 * i));
	if (peer->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)peer;
		memcpy(in + n, &s6->sin6_addr, 16);
		n += 16;
		memcpy(in + n, &s6->sin6_port, 2);
	} else {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)peer;
		memcpy(in + n, &s4->sin_addr, 4);
		n += 4;
		memcpy(in + n, &s4->sin_port, 2);
	}
	n += 2;
	HMAC(EVP_sha256(), a->nonce_key, sizeof(a->nonce_key), in, n, mac, &maclen);
	memcpy(out, mac, NONCE_MAC_LEN);
}

/*
 * Mint a nonce: ["obMatJos2" + base64(features)] + base64(time || MAC).
 * The cookie comes only when we offer security features (RFC 8489 9.2).
 */
int
auth_nonce_mint(const struct auth *a, const struct sockaddr *peer, uint64_t now_ms,
    char *out, size_t cap)
{
	uint8_t feat[3], payload[8 + NONCE_MAC_LEN];
	size_t n = 0;
	int i;

	if (cap < NONCE_COOKIE_LEN + 4 + NONCE_B64_LEN + 1)
		return -ENOSPC;
	if (a->features != 0) {
		feat[0] = (uint8_t)(a->features >> 16);
		feat[1] = (uint8_t)(a->features >> 8);
		feat[2] = (uint8_t)a->features;
		memcpy(out, NONCE_COOKIE, NONCE_COOKIE_LEN);
		n = NONCE_COOKIE_LEN;
		n += (size_t)EVP_EncodeBlock((unsigned char *)out + n, feat, 3);
	}
	for (i = 0; i < 8; i++)
		payload[i] = (uint8_t)(now_ms >> (56 - 8 * i));
	nonce_mac(a, a->features, now_ms, peer, payload + 8);
	n += (size_t)EVP_EncodeBlock((unsigned char *)out + n, payload, sizeof(payload));
	out[n] = '\0';
	return (int)n;
}

/* Is this nonce ours, for this client, and fresh? 0, or -ESTALE / -EINVAL. */
static int
nonce_check(const struct auth *a, const struct stun_attr *nonce,
    const struct sockaddr *peer, uint64_t now_ms)
{
	uint8_t payload[8 + NONCE_MAC_LEN + 2], want[NONCE_MAC_LEN];
	unsigned char b64[NONCE_B64_LEN + 1];
	size_t skip = a->features != 0 ? NONCE_COOKIE_LEN + 4 : 0;
	uint64_t t = 0;
	int i;

	if (nonce->len != skip + NONCE_B64_LEN)
		return -EINVAL;
	memcpy(b64, nonce->val + skip, NONCE_B64_LEN);
	b64[NONCE_B64_LEN] = '\0';
	if (EVP_DecodeBlock(payload, b64, NONCE_B64_LEN) != 8 + NONCE_MAC_LEN)
		return -EINVAL;
	for (i = 0; i < 8; i++)
		t = (t << 8) | payload[i];
	/* The features were MACed as we sent them: a changed bit fails here. */
	nonce_mac(a, a->features, t, peer, want);
	if (CRYPTO_memcmp(want, payload + 8, NONCE_MAC_LEN) != 0 || t > now_ms)
		return -EINVAL;
	if (now_ms - t > a->nonce_lifetime_ms)
		return -ESTALE;
	return 0;
}

/* Append REALM, a fresh NONCE and PASSWORD-ALGORITHMS (when offered): a 401 or 438 challenge. */
int
auth_put_challenge(const struct auth *a, struct wbuf *w, const struct sockaddr *peer,
    uint64_t now_ms)
{
	char nonce[64];
	int n;

	if ((n = auth_nonce_mint(a, peer, now_ms, nonce, sizeof(nonce))) < 0)
		return n;
	stun_put(w, STUN_A_REALM, a->realm, strlen(a->realm));
	stun_put(w, STUN_A_NONCE, nonce, (size_t)n);
	if (a->pwalgs_len > 0)
		stun_put(w, STUN_A_PASSWORD_ALGORITHMS, a->pwalgs, a->pwalgs_len);
	return w->overflow ? -ENOSPC : 0;
}

/*
 * The bid-down check of RFC 8489 section 9.2.4 and the algorithm to use:
 * no PASSWORD-ALGORITHM(S) means MD5; otherwise both must be present, the
 * list must be the one we sent, and the choice must be in it.
 */
static int
auth_algorithm(const struct auth *a, const struct stun_msg *m, int *alg)
{
	const struct stun_attr *algs = stun_msg_find(m, STUN_A_PASSWORD_ALGORITHMS);
	const struct stun_attr *one = stun_msg_find(m, STUN_A_PASSWORD_ALGORITHM);
	size_t i;

	*alg = STUN_PWALG_MD5;
	if (algs == NULL && one == NULL)
		return 0;
	if (algs == NULL || one == NULL || (a->features & FEAT_PASSWORD_ALGS) == 0 ||
	    algs->len != a->pwalgs_len || memcmp(algs->val, a->pwalgs, a->pwalgs_len) != 0)
		return 400;
	*alg = (one->val[0] << 8) | one->val[1];
	for (i = 0; i < a->pwalgs_len; i += 4)
		if (((a->pwalgs[i] << 8) | a->pwalgs[i + 1]) == *alg)
			return 0;
	return 400;
}

/* Does the request's integrity attribute verify with this key? */
static bool
auth_mac_ok(const struct stun_msg *m, const uint8_t *key, size_t keylen)
{
	if (m->mi256 >= 0)
		return stun_check_integrity_sha256(m, key, keylen);
	return stun_check_integrity(m, key, keylen);
}

/* A static user by name or by USERHASH. */
static const struct auth_user *
auth_find_user(const struct auth *a, const struct stun_msg *m)
{
	const struct stun_attr *u;
	unsigned i;

	if ((u = stun_msg_find(m, STUN_A_USERHASH)) != NULL) {
		if ((a->features & FEAT_USERHASH) == 0)
			return NULL;
		for (i = 0; i < a->nusers; i++)
			if (CRYPTO_memcmp(a->users[i].userhash, u->val, 32) == 0)
				return &a->users[i];
		return NULL;
	}
	u = stun_msg_find(m, STUN_A_USERNAME);
	for (i = 0; u != NULL && i < a->nusers; i++)
		if (strlen(a->users[i].name) == u->len &&
		    memcmp(a->users[i].name, u->val, u->len) == 0)
			return &a->users[i];
	return NULL;
}

/* The shared-secret password of a username: base64(HMAC(secret, username)). */
int
auth_rest_password(const char *secret, int sha256, const char *username, char *out,
    size_t cap)
{
	uint8_t mac[32];
	unsigned int n = 0;

	if (cap < 45)
		return -ENOSPC;
	HMAC(sha256 ? EVP_sha256() : EVP_sha1(), secret, (int)strlen(secret),
	    (const unsigned char *)username, strlen(username), mac, &n);
	EVP_EncodeBlock((unsigned char *)out, mac, (int)n);
	OPENSSL_cleanse(mac, sizeof(mac));
	return 0;
}

/*
 * A time-limited username "EXPIRY[:USERID]" checked against every secret
 * (rotation keeps several live). The quota counts USERID alone.
 */
static int
auth_check_secret(const struct auth *a, const struct stun_msg *m, int alg,
    uint64_t wall_s, struct auth_result *r)
{
	char password[64], *end;
	unsigned long long expiry;
	unsigned i;

	errno = 0;
	expiry = strtoull(r->username, &end, 10);
	if (end == r->username || (*end != '\0' && *end != ':') || errno != 0)
		return 401;
	if (expiry < wall_s)
		return 401;		/* expired */
	snprintf(r->quota_id, sizeof(r->quota_id), "%s", *end == ':' ? end + 1 : r->username);
	for (i = 0; i < a->nsecrets; i++) {
		if (auth_rest_password(a->secrets[i], a->secret_alg, r->username,
		    password, sizeof(password)) != 0 ||
		    stun_longterm_key(alg, r->username, a->realm, password, r->key,
		    &r->keylen) != 0)
			continue;
		if (auth_mac_ok(m, r->key, r->keylen)) {
			OPENSSL_cleanse(password, sizeof(password));
			return 0;
		}
	}
	OPENSSL_cleanse(password, sizeof(password));
	return 401;
}

/*
 * Check a request's credentials. Returns 0 with r filled, or the error
 * code to answer: 401 (no or wrong credentials: send a challenge), 400
 * (integrity without USERNAME, REALM or NONCE; a bid-down), 438 (stale or
 * foreign nonce: send a fresh one). No state is kept for failures.
 */
int
auth_check(const struct auth *a, const struct stun_msg *m, const struct sockaddr *peer,
    uint64_t now_ms, uint64_t wall_s, struct auth_result *r)
{
	const struct stun_attr *user, *realm, *nonce;
	const struct auth_user *u;
	int alg, rc;

	memset(r, 0, sizeof(*r));
	if (m->mi < 0 && m->mi256 < 0)
		return 401;
	user = stun_msg_find(m, STUN_A_USERNAME);
	if (user == NULL)
		user = stun_msg_find(m, STUN_A_USERHASH);
	realm = stun_msg_find(m, STUN_A_REALM);
	nonce = stun_msg_find(m, STUN_A_NONCE);
	if (user == NULL || realm == NULL || nonce == NULL)
		return 400;
	if (nonce_check(a, nonce, peer, now_ms) != 0)
		return 438;
	if ((rc = auth_algorithm(a, m, &alg)) != 0)
		return rc;
	r->mi256 = m->mi256 >= 0;
	if ((u = auth_find_user(a, m)) != NULL) {
		if ((alg == STUN_PWALG_MD5 && !u->has_md5) ||
		    (alg == STUN_PWALG_SHA256 && !u->has_sha256))
			return 401;
		r->keylen = alg == STUN_PWALG_MD5 ? 16 : 32;
		memcpy(r->key, alg == STUN_PWALG_MD5 ? u->md5 : u->sha256, r->keylen);
		snprintf(r->username, sizeof(r->username), "%s", u->name);
		snprintf(r->quota_id, sizeof(r->quota_id), "%s", u->name);
		return auth_mac_ok(m, r->key, r->keylen) ? 0 : 401;
	}
	if (a->nsecrets == 0 || user->type != STUN_A_USERNAME)
		return 401;
	memcpy(r->username, user->val, user->len);
	r->username[user->len] = '\0';
	return auth_check_secret(a, m, alg, wall_s, r);
}

/* Sign a response with the integrity attribute the request used, then FINGERPRINT follows. */
int
auth_sign(struct wbuf *w, const struct auth_result *r)
{
	if (r->mi256)
		return stun_put_integrity_sha256(w, r->key, r->keylen);
	return stun_put_integrity(w, r->key, r->keylen);
}
