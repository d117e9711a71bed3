/* auth.h: long-term credentials: static users, shared secrets (TURN REST), stateless nonces. */
#ifndef MINIRTC_AUTH_H
#define MINIRTC_AUTH_H

#include <sys/socket.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rbuf.h"
#include "stun.h"

#define AUTH_KEY_MAX	32
#define AUTH_NAME_MAX	514

struct auth;
struct config;

/* Who passed, and the key to sign the answer with. */
struct auth_result {
	char		 username[AUTH_NAME_MAX];	/* as the client named itself */
	char		 quota_id[AUTH_NAME_MAX];	/* the user a quota counts */
	uint8_t		 key[AUTH_KEY_MAX];
	size_t		 keylen;
	bool		 mi256;		/* the request used MESSAGE-INTEGRITY-SHA256 */
};

struct auth	*auth_new(const struct config *, char **);
void		 auth_free(struct auth *);
void		 auth_take_nonce_key(struct auth *, const struct auth *);
int		 auth_check(const struct auth *, const struct stun_msg *,
		    const struct sockaddr *, uint64_t, uint64_t, struct auth_result *);
int		 auth_put_challenge(const struct auth *, struct wbuf *,
		    const struct sockaddr *, uint64_t);
int		 auth_sign(struct wbuf *, const struct auth_result *);
int		 auth_nonce_mint(const struct auth *, const struct sockaddr *, uint64_t,
		    char *, size_t);
int		 auth_rest_password(const char *, int, const char *, char *, size_t);

#endif
