/* tls.h: the TLS server context for turns: listeners (OpenSSL). */
#ifndef MINIRTC_TLS_H
#define MINIRTC_TLS_H

struct config;
typedef struct ssl_ctx_st SSL_CTX;

SSL_CTX	*tls_ctx_new(const struct config *, char **);
void	 tls_ctx_free(SSL_CTX *);

#endif
