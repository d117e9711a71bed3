/*
 * tls.c: the TLS server context shared by every worker: the certificate
 * chain and key from the config, TLS 1.2 at least, no renegotiation.
 * Connections are TCP streams once decrypted (stream.c); one SSL_CTX serves
 * all threads, which OpenSSL 3 allows.
 */
#include <stdio.h>
#include <stdlib.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "config.h"
#include "tls.h"

/* Set *cause to "what: path: OpenSSL's reason" and return NULL. */
static SSL_CTX *
tls_fail(SSL_CTX *ctx, char **cause, const char *what, const char *path)
{
	char reason[256];
	unsigned long e = ERR_peek_last_error();

	if (e != 0)
		ERR_error_string_n(e, reason, sizeof(reason));
	else
		snprintf(reason, sizeof(reason), "unknown error");
	ERR_clear_error();
	if (asprintf(cause, "%s%s%s: %s", what, path ? ": " : "", path ? path : "",
	    reason) < 0)
		*cause = NULL;
	SSL_CTX_free(ctx);
	return NULL;
}

/* Build the server context; NULL with *cause when the certificate or key cannot be used. */
SSL_CTX *
tls_ctx_new(const struct config *cfg, char **cause)
{
	static const unsigned char sid_ctx[] = "turnd";
	SSL_CTX *ctx;

	*cause = NULL;
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL)
		return tls_fail(NULL, cause, "tls: cannot create a context", NULL);
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1)
		return tls_fail(ctx, cause, "tls: cannot require TLS 1.2", NULL);
	/*
	 * A peer that closes without close_notify (browsers closing a page)
	 * ends the stream, not in an error: STUN and ChannelData frames carry
	 * their own lengths, so a cut cannot pass for a whole message.
	 */
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
	    SSL_OP_NO_COMPRESSION | SSL_OP_IGNORE_UNEXPECTED_EOF);
	/* Partial writes and moving buffers: what a bufferevent does. */
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	if (SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1) != 1)
		return tls_fail(ctx, cause, "tls: cannot set the session context", NULL);
	if (SSL_CTX_use_certificate_chain_file(ctx, cfg->tls_cert) != 1)
		return tls_fail(ctx, cause, "tls_cert", cfg->tls_cert);
	if (SSL_CTX_use_PrivateKey_file(ctx, cfg->tls_key, SSL_FILETYPE_PEM) != 1)
		return tls_fail(ctx, cause, "tls_key", cfg->tls_key);
	if (SSL_CTX_check_private_key(ctx) != 1)
		return tls_fail(ctx, cause, "tls_key does not match tls_cert", cfg->tls_key);
	return ctx;
}

void
tls_ctx_free(SSL_CTX *ctx)
{
	SSL_CTX_free(ctx);
}
