/*
 * stunclient.c: the bundled diagnostic client of mini_rtc, in three parts:
 * a Binding test over UDP, TCP or TLS; the TURN test (--turn: Allocate,
 * CreatePermission, data through the relay to an echo by Send indication
 * and by ChannelData, Refresh 0); and RFC 5780 NAT behaviour discovery
 * (--nat). Text or JSON. It links the codec (libstun.a) and OpenSSL only.
 */
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <netdb.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "addr.h"
#include "chandata.h"
#include "stun.h"

/* Exit codes, documented in stunclient(1). */
#define EXIT_OK		0
#define EXIT_ERRRESP	1	/* the server answered with an error response */
#define EXIT_TIMEOUT	2	/* no answer in time */
#define EXIT_NETWORK	3	/* resolve, socket, connect or bad reply */
#define EXIT_NO5780	4	/* --nat: the server does not support RFC 5780 */
#define EXIT_USAGE	64

#define RTO_MS		500	/* RFC 8489 section 6.2.1 */
#define RC		7	/* transmissions over UDP */
#define RM		16	/* the last wait, in RTOs */
#define TI_MS		39500	/* RFC 8489 section 6.2.2 */

enum mode {
	MODE_BINDING,
	MODE_TURN,
	MODE_NAT,
};

struct opts {
	enum mode	 mode;
	int		 tcp;		/* stream framing: --tcp, and --tls over TCP */
	int		 tls;
	int		 insecure;	/* --tls: do not verify the server's certificate */
	const char	*ca_file;	/* --tls: trust these CAs instead of the system's */
	int		 family;
	int		 json;
	int		 classic;
	int		 timeout_ms;	/* 0: the RFC's own bound */
	const char	*host;
	const char	*port;
	const char	*user;		/* --turn: credentials */
	const char	*password;
	const char	*secret;
	const char	*peer;		/* --turn: ADDR:PORT, or NULL for the local echo */
};

/* A UDP retransmission schedule: rc sends, the wait doubling from rto_ms, the last rm x rto_ms. */
struct sched {
	int		 rto_ms;
	int		 rc;
	int		 rm;
};

static const struct sched sched_rfc = { RTO_MS, RC, RM };

/* What a Binding test found. */
struct result {
	struct sockaddr_storage	 server;
	struct sockaddr_storage	 local;
	struct sockaddr_storage	 mapped;
	int			 have_mapped;
	char			 software[764];
	int			 err_code;
	char			 err_reason[764];
	double			 rtt_ms;
	char			 tls_version[16];	/* --tls: what the handshake agreed */
	char			 tls_cipher[64];
};

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr,
	    "usage: stunclient [--tcp | --tls [--ca FILE | --insecure]] [-4|-6] [--json]\n"
	    "                  [--classic] [--timeout SECONDS] HOST [PORT]\n"
	    "       stunclient --turn [--tcp] [-4|-6] [--json] [--timeout SECONDS]\n"
	    "                  [--user USER --password PASSWORD | --secret SECRET [--user ID]]\n"
	    "                  [--peer ADDR:PORT] HOST [PORT]\n"
	    "       stunclient --nat [-4|-6] [--json] [--timeout SECONDS] HOST [PORT]\n");
	exit(EXIT_USAGE);
}

/* Milliseconds on the monotonic clock. */
static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

/* The value of an option that takes one, or the usage. */
static const char *
opt_value(int argc, char **argv, int *i)
{
	if (*i + 1 >= argc)
		usage();
	return argv[++*i];
}

/* Options that belong to one mode only, and credentials that go together. */
static void
opts_check(const struct opts *o)
{
	struct sockaddr_storage ss;

	if (o->host == NULL)
		usage();
	if (o->mode != MODE_TURN && (o->user != NULL || o->password != NULL ||
	    o->secret != NULL || o->peer != NULL))
		usage();
	if (o->mode != MODE_BINDING && o->classic)
		usage();
	if (o->mode == MODE_NAT && o->tcp)
		usage();
	if (o->mode == MODE_NAT && o->tls)	/* RFC 5780 tests are UDP */
		usage();
	if ((o->ca_file != NULL || o->insecure) && (!o->tls || (o->ca_file && o->insecure)))
		usage();
	if (o->password != NULL && (o->user == NULL || o->secret != NULL))
		usage();
	if (o->user != NULL && o->password == NULL && o->secret == NULL)
		usage();
	if (o->peer != NULL && (addr_parse(o->peer, 0, &ss) != 0 ||
	    addr_port((struct sockaddr *)&ss) == 0))
		usage();
}

/* Parse the command line. */
static void
opts_parse(struct opts *o, int argc, char **argv)
{
	int i, pos = 0;
	char *end;

	memset(o, 0, sizeof(*o));
	o->mode = MODE_BINDING;
	o->family = AF_UNSPEC;
	o->port = "3478";
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--tcp") == 0)
			o->tcp = 1;
		else if (strcmp(argv[i], "--tls") == 0)
			o->tls = o->tcp = 1;
		else if (strcmp(argv[i], "--ca") == 0)
			o->ca_file = opt_value(argc, argv, &i);
		else if (strcmp(argv[i], "--insecure") == 0)
			o->insecure = 1;
		else if (strcmp(argv[i], "-4") == 0)
			o->family = AF_INET;
		else if (strcmp(argv[i], "-6") == 0)
			o->family = AF_INET6;
		else if (strcmp(argv[i], "--json") == 0)
			o->json = 1;
		else if (strcmp(argv[i], "--classic") == 0)
			o->classic = 1;
		else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
			double t = strtod(argv[++i], &end);
			if (*end != '\0' || t <= 0 || t > 3600)
				usage();
			o->timeout_ms = (int)(t * 1000);
		} else if (strcmp(argv[i], "--turn") == 0 || strcmp(argv[i], "--nat") == 0) {
			enum mode m = argv[i][2] == 't' ? MODE_TURN : MODE_NAT;
			if (o->mode != MODE_BINDING && o->mode != m)
				usage();
			o->mode = m;
		} else if (strcmp(argv[i], "--user") == 0)
			o->user = opt_value(argc, argv, &i);
		else if (strcmp(argv[i], "--password") == 0)
			o->password = opt_value(argc, argv, &i);
		else if (strcmp(argv[i], "--secret") == 0)
			o->secret = opt_value(argc, argv, &i);
		else if (strcmp(argv[i], "--peer") == 0)
			o->peer = opt_value(argc, argv, &i);
		else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			usage();
		else if (argv[i][0] == '-' && argv[i][1] != '\0')
			usage();
		else if (pos == 0) {
			o->host = argv[i];
			pos++;
		} else if (pos == 1) {
			o->port = argv[i];
			pos++;
		} else
			usage();
	}
	if (o->tls && pos < 2)
		o->port = "5349";	/* RFC 8489 section 18.6: stuns */
	opts_check(o);
}

/*
 * The deadline of the wait after transmission tx (from 0) of a schedule,
 * rto being the current (doubled) timeout; --timeout caps it, counted
 * from start.
 */
static double
sched_deadline(const struct opts *o, const struct sched *s, int tx, int rto,
    double start, double sent_at)
{
	double d = sent_at + (tx == s->rc - 1 ? (double)s->rm * s->rto_ms : rto);

	if (o->timeout_ms > 0 && d > start + o->timeout_ms)
		d = start + o->timeout_ms;
	return d;
}

/* A fresh RFC 8489 transaction ID: the magic cookie and 96 random bits. */
static int
random_txid(uint8_t *txid16)
{
	if (getrandom(txid16 + 4, STUN_TXID_LEN, 0) != STUN_TXID_LEN)
		return -1;
	txid16[0] = 0x21; txid16[1] = 0x12; txid16[2] = 0xa4; txid16[3] = 0x42;
	return 0;
}

/* Resolve the server and connect a socket of this type to it; fills server and local. */
static int
client_connect(const struct opts *o, int socktype, struct sockaddr_storage *server,
    struct sockaddr_storage *local, char *err, size_t errlen)
{
	struct addrinfo hints, *res, *ai;
	socklen_t len;
	int fd = -1, rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = o->family;
	hints.ai_socktype = socktype;
	if ((rc = getaddrinfo(o->host, o->port, &hints, &res)) != 0) {
		snprintf(err, errlen, "cannot resolve %s: %s", o->host, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((fd = socket(ai->ai_family, ai->ai_socktype, 0)) < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
			memcpy(server, ai->ai_addr, ai->ai_addrlen);
			break;
		}
		snprintf(err, errlen, "connect: %s", strerror(errno));
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		if (err[0] == '\0')
			snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	len = sizeof(*local);
	getsockname(fd, (struct sockaddr *)local, &len);
	return fd;
}

/* Build the Binding request. */
static ssize_t
build_request(const struct opts *o, uint8_t *buf, size_t cap, uint8_t *txid16)
{
	struct wbuf w;

	if (getrandom(txid16, STUN_TXID16_LEN, 0) != STUN_TXID16_LEN)
		return -1;
	if (!o->classic) {
		txid16[0] = 0x21; txid16[1] = 0x12; txid16[2] = 0xa4; txid16[3] = 0x42;
	} else if (txid16[0] == 0x21)
		txid16[0] = 0;	/* a classic ID must not look like the cookie */
	wbuf_init(&w, buf, cap);
	stun_build_init(&w, STUN_BINDING, STUN_REQUEST, txid16);
	if (!o->classic)
		stun_put_fingerprint(&w);
	return stun_build_end(&w);
}

/* Is this the answer to our request? Fill r from it. */
static int
take_response(const uint8_t *buf, size_t len, const uint8_t *txid16,
    struct result *r)
{
	const struct stun_attr *a;
	struct stun_msg m;
	const char *reason;
	size_t rlen;

	if (stun_msg_parse(&m, buf, len) != 0 || m.method != STUN_BINDING ||
	    memcmp(m.txid16, txid16, STUN_TXID16_LEN) != 0 ||
	    (m.cls != STUN_SUCCESS && m.cls != STUN_ERROR))
		return 0;
	if ((a = stun_msg_find(&m, STUN_A_SOFTWARE)) != NULL)
		snprintf(r->software, sizeof(r->software), "%.*s", (int)a->len,
		    (const char *)a->val);
	if (m.cls == STUN_ERROR) {
		if ((a = stun_msg_find(&m, STUN_A_ERROR_CODE)) == NULL ||
		    stun_attr_error(a, &r->err_code, &reason, &rlen) != 0)
			r->err_code = 500;
		else
			snprintf(r->err_reason, sizeof(r->err_reason), "%.*s",
			    (int)rlen, reason);
		return 1;
	}
	if ((a = stun_msg_find(&m, STUN_A_XOR_MAPPED_ADDRESS)) != NULL &&
	    stun_attr_xaddr(a, m.txid16, &r->mapped) == 0)
		r->have_mapped = 1;
	else if ((a = stun_msg_find(&m, STUN_A_MAPPED_ADDRESS)) != NULL &&
	    stun_attr_addr(a, &r->mapped) == 0)
		r->have_mapped = 1;
	return 1;
}

/* UDP: send, and retransmit on RTO, doubling, RC times; the last wait is RM x RTO. */
static int
transact_udp(int fd, const struct opts *o, const uint8_t *req, size_t reqlen,
    const uint8_t *txid16, struct result *r)
{
	uint8_t buf[2048];
	double start = now_ms(), deadline, sent_at;
	int rto = RTO_MS, tx, wait;
	ssize_t n;

	for (tx = 0; tx < RC; tx++) {
		if (send(fd, req, reqlen, 0) < 0 && errno != ECONNREFUSED)
			return EXIT_NETWORK;
		sent_at = now_ms();
		deadline = sent_at + (tx == RC - 1 ? RM * RTO_MS : rto);
		if (o->timeout_ms > 0 && deadline > start + o->timeout_ms)
			deadline = start + o->timeout_ms;
		for (;;) {
			struct pollfd pfd = { fd, POLLIN, 0 };
			wait = (int)(deadline - now_ms());
			if (wait <= 0 || poll(&pfd, 1, wait) <= 0)
				break;
			/* ICMP errors (ECONNREFUSED) are ignored, as RFC 8489 advises. */
			if ((n = recv(fd, buf, sizeof(buf), 0)) <= 0)
				continue;
			if (take_response(buf, (size_t)n, txid16, r)) {
				r->rtt_ms = now_ms() - sent_at;
				return r->err_code ? EXIT_ERRRESP : EXIT_OK;
			}
		}
		if (o->timeout_ms > 0 && now_ms() >= start + o->timeout_ms)
			break;
		rto *= 2;
	}
	return EXIT_TIMEOUT;
}

/*
 * --- TLS (--tls) ---
 * The socket stays blocking; SO_RCVTIMEO/SO_SNDTIMEO bound each wait by the
 * deadline, so OpenSSL's reads end in time without a poll loop of our own.
 */

/* Let blocking reads and writes on fd wait at most until the deadline; -1 once it has passed. */
static int
sock_deadline(int fd, double deadline)
{
	double left = deadline - now_ms();
	struct timeval tv;

	if (left <= 0)
		return -1;
	tv.tv_sec = (time_t)(left / 1000);
	tv.tv_usec = (suseconds_t)((left - (double)tv.tv_sec * 1000.0) * 1000.0);
	if (tv.tv_sec == 0 && tv.tv_usec == 0)
		tv.tv_usec = 1;		/* 0 would mean "no timeout" */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0)
		return -1;
	return 0;
}

/* Why a TLS step failed: the certificate verdict when that was it, else OpenSSL's reason. */
static void
tls_reason(SSL *ssl, const char *what, char *err, size_t errlen)
{
	unsigned long e = ERR_peek_last_error();
	long v = SSL_get_verify_result(ssl);
	char reason[256] = "the connection was closed";

	if (v != X509_V_OK)
		snprintf(reason, sizeof(reason), "certificate rejected: %s",
		    X509_verify_cert_error_string(v));
	else if (e != 0)
		ERR_error_string_n(e, reason, sizeof(reason));
	ERR_clear_error();
	snprintf(err, errlen, "%s: %s", what, reason);
}

/* Did a blocking SSL call stop at the socket's timeout? */
static bool
tls_timed_out(SSL *ssl, int ret)
{
	int e = SSL_get_error(ssl, ret);

	return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ||
	    (e == SSL_ERROR_SYSCALL && (errno == EAGAIN || errno == EWOULDBLOCK));
}

/*
 * The TLS handshake on a connected socket: TLS 1.2 at least; the server's
 * certificate is checked against --ca (else the system's CAs) and against
 * HOST, as a name or an IP address; --insecure skips both checks.
 */
static int
tls_open(int fd, const struct opts *o, double deadline, SSL **out, char *err, size_t errlen)
{
	unsigned char ip[16];
	SSL_CTX *ctx;
	SSL *ssl;
	bool is_ip = inet_pton(AF_INET, o->host, ip) == 1 || inet_pton(AF_INET6, o->host, ip) == 1;
	int ret = -1;

	*out = NULL;
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
		SSL_CTX_free(ctx);
		snprintf(err, errlen, "tls: cannot create a context");
		return EXIT_NETWORK;
	}
	if (!o->insecure) {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
		if ((o->ca_file != NULL ? SSL_CTX_load_verify_locations(ctx, o->ca_file, NULL) :
		    SSL_CTX_set_default_verify_paths(ctx)) != 1) {
			SSL_CTX_free(ctx);
			snprintf(err, errlen, "tls: cannot load the CA file %s",
			    o->ca_file ? o->ca_file : "(system default)");
			return EXIT_NETWORK;
		}
	}
	ssl = SSL_new(ctx);
	SSL_CTX_free(ctx);	/* the SSL holds its own reference */
	if (ssl == NULL || SSL_set_fd(ssl, fd) != 1) {
		SSL_free(ssl);
		snprintf(err, errlen, "tls: cannot create a connection");
		return EXIT_NETWORK;
	}
	if (!is_ip)
		SSL_set_tlsext_host_name(ssl, o->host);	/* SNI takes names only */
	if (!o->insecure && (is_ip ?
	    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), o->host) :
	    SSL_set1_host(ssl, o->host)) != 1) {
		SSL_free(ssl);
		snprintf(err, errlen, "tls: cannot check the certificate against %s", o->host);
		return EXIT_NETWORK;
	}
	if (sock_deadline(fd, deadline) != 0 || (ret = SSL_connect(ssl)) != 1) {
		if (sock_deadline(fd, deadline) != 0 || tls_timed_out(ssl, ret)) {
			SSL_free(ssl);
			return EXIT_TIMEOUT;
		}
		tls_reason(ssl, "tls handshake", err, errlen);
		SSL_free(ssl);
		return EXIT_NETWORK;
	}
	*out = ssl;
	return EXIT_OK;
}

/* Read exactly n bytes from a stream, plain or TLS, before the deadline. */
static int
read_full(int fd, SSL *ssl, uint8_t *buf, size_t n, double deadline)
{
	size_t got = 0;
	ssize_t k;

	while (got < n) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		int wait = (int)(deadline - now_ms());
		if (ssl != NULL) {
			if (sock_deadline(fd, deadline) != 0)
				return EXIT_TIMEOUT;
			if ((k = SSL_read(ssl, buf + got, (int)(n - got))) <= 0)
				return tls_timed_out(ssl, (int)k) ? EXIT_TIMEOUT : EXIT_NETWORK;
			got += (size_t)k;
			continue;
		}
		if (wait <= 0 || poll(&pfd, 1, wait) <= 0)
			return EXIT_TIMEOUT;
		if ((k = recv(fd, buf + got, n - got, 0)) <= 0)
			return EXIT_NETWORK;
		got += (size_t)k;
	}
	return EXIT_OK;
}

/* TCP or TLS: one send; wait up to Ti (39.5 s, RFC 8489 section 6.2.2) for the framed answer. */
static int
transact_tcp(int fd, SSL *ssl, const struct opts *o, const uint8_t *req, size_t reqlen,
    const uint8_t *txid16, struct result *r)
{
	uint8_t buf[STUN_HDR_LEN + 4096];
	double sent_at = now_ms(), deadline;
	size_t body;
	int rc;

	deadline = sent_at + (o->timeout_ms > 0 ? o->timeout_ms : 39500);
	if (ssl != NULL ? (sock_deadline(fd, deadline) != 0 ||
	    SSL_write(ssl, req, (int)reqlen) != (int)reqlen) :
	    send(fd, req, reqlen, MSG_NOSIGNAL) != (ssize_t)reqlen)
		return EXIT_NETWORK;
	for (;;) {
		if ((rc = read_full(fd, ssl, buf, STUN_HDR_LEN, deadline)) != EXIT_OK)
			return rc;
		body = ((size_t)buf[2] << 8) | buf[3];
		if (body > sizeof(buf) - STUN_HDR_LEN)
			return EXIT_NETWORK;
		if ((rc = read_full(fd, ssl, buf + STUN_HDR_LEN, body, deadline)) != EXIT_OK)
			return rc;
		if (take_response(buf, STUN_HDR_LEN + body, txid16, r)) {
			r->rtt_ms = now_ms() - sent_at;
			return r->err_code ? EXIT_ERRRESP : EXIT_OK;
		}
	}
}

/* Print a JSON string (the SOFTWARE text comes from the server: escape it). */
static void
json_str(const char *s)
{
	putchar('"');
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

/* An address as a JSON string, or null. */
static void
json_addr(const struct sockaddr_storage *ss, bool have)
{
	char buf[ADDR_STRLEN];

	if (!have) {
		printf("null");
		return;
	}
	json_str(addr_fmt((const struct sockaddr *)ss, buf, sizeof(buf)));
}

/* A number with three decimals, or null. */
static void
json_num_or_null(double v, bool have)
{
	if (have)
		printf("%.3f", v);
	else
		printf("null");
}

/* A string, or null when NULL or empty. */
static void
json_str_or_null(const char *s)
{
	if (s == NULL || s[0] == '\0')
		printf("null");
	else
		json_str(s);
}

/* The JSON status of an exit code. */
static const char *
status_name(int rc)
{
	static const char *names[] = { "ok", "error-response", "timeout",
	    "network-error", "no-rfc5780" };

	return rc >= 0 && rc <= EXIT_NO5780 ? names[rc] : "error";
}

/* The transport to the server, as reported. */
static const char *
transport_name(const struct opts *o)
{
	return o->tls ? "tls" : o->tcp ? "tcp" : "udp";
}

/* Report in text or JSON. */
static void
report(const struct opts *o, const struct result *r, int rc, const char *err)
{
	char server[ADDR_STRLEN], local[ADDR_STRLEN], mapped[ADDR_STRLEN];
	addr_fmt((const struct sockaddr *)&r->server, server, sizeof(server));
	addr_fmt((const struct sockaddr *)&r->local, local, sizeof(local));
	addr_fmt((const struct sockaddr *)&r->mapped, mapped, sizeof(mapped));
	if (o->json) {
		printf("{\"test\": \"binding\", \"transport\": \"%s\", \"status\": \"%s\", "
		    "\"server\": ", transport_name(o), status_name(rc));
		json_str(server);
		printf(", \"local\": ");
		json_str(local);
		printf(", \"mapped\": ");
		r->have_mapped ? json_str(mapped) : (void)printf("null");
		printf(", \"software\": ");
		r->software[0] ? json_str(r->software) : (void)printf("null");
		if (rc == EXIT_OK || rc == EXIT_ERRRESP)
			printf(", \"rtt_ms\": %.3f", r->rtt_ms);
		if (r->tls_version[0] != '\0') {
			printf(", \"tls_version\": ");
			json_str(r->tls_version);
			printf(", \"tls_cipher\": ");
			json_str(r->tls_cipher);
		}
		if (rc == EXIT_ERRRESP) {
			printf(", \"error_code\": %d, \"error_reason\": ", r->err_code);
			json_str(r->err_reason);
		}
		if (err[0] != '\0') {
			printf(", \"error\": ");
			json_str(err);
		}
		printf("}\n");
		return;
	}
	if (rc == EXIT_OK) {
		printf("mapped address: %s\n", r->have_mapped ? mapped : "(none)");
		printf("local address: %s\n", local);
		printf("server: %s (%s)\n", server, transport_name(o));
		if (r->tls_version[0] != '\0')
			printf("tls: %s, %s\n", r->tls_version, r->tls_cipher);
		printf("software: %s\n", r->software[0] ? r->software : "(not sent)");
		printf("rtt: %.3f ms\n", r->rtt_ms);
	} else if (rc == EXIT_ERRRESP)
		printf("error response from %s: %d %s\n", server, r->err_code, r->err_reason);
	else if (rc == EXIT_TIMEOUT)
		printf("timeout: no answer from %s\n", server);
	else
		printf("error: %s\n", err[0] ? err : "network error");
}

/* ======================================================================
 * TURN (RFC 8656): --turn
 * ====================================================================== */

#define PROTO_UDP		17
#define NONCE_COOKIE		"obMatJos2"	/* RFC 8489 section 9.2 */
#define NONCE_COOKIE_LEN	9
#define FEAT_PASSWORD_ALGS	0x800000
#define REST_LIFETIME_S		3600
#define NAME_MAX_LEN		514

/* Probes: a fixed prefix, this run's token, the path they test and their number. */
#define PROBE_MAGIC		"stunclient-echo:"
#define PROBE_MAGIC_LEN		16
#define PROBE_TOKEN_LEN		8
/* 26 bytes: not a multiple of 4, so ChannelData over TCP needs its padding. */
#define PROBE_LEN		(PROBE_MAGIC_LEN + PROBE_TOKEN_LEN + 2)
#define PROBE_TRIES		3

/* Probes are sent again like requests, but given up sooner: at 0, 0.5, 1.5 s, until 3.5 s. */
static const struct sched sched_echo = { RTO_MS, PROBE_TRIES, 4 };
/* Learning the local echo's public address: at 0, 0.25 and 0.75 s, until 1.75 s. */
static const struct sched sched_echo_bind = { 250, 3, 4 };

enum probe_kind {
	PROBE_SEND = 1,		/* Send indication out, Data indication back */
	PROBE_CHANNEL = 2,	/* ChannelData both ways */
	PROBE_PUNCH = 3,	/* from the local echo to the relay, to open a NAT */
};

enum wait_for {
	WAIT_NONE,
	WAIT_RESP,
	WAIT_ECHO,
};

struct turn {
	const struct opts	*o;
	int			 fd;		/* to the server, connected */
	SSL			*ssl;		/* --tls: the session over fd */
	int			 echo_fd;	/* the local echo, or -1 */
	struct sockaddr_storage	 server, local, relayed, mapped, peer, echo_addr;
	bool			 have_relayed, have_mapped, have_peer;
	bool			 allocated, freed, server_silent;

	/* Long-term credentials (RFC 8489 section 9.2). */
	bool			 have_creds;
	char			 user[NAME_MAX_LEN];
	char			 password[NAME_MAX_LEN];
	char			 realm[764];
	char			 nonce[764];
	uint8_t			 pwalgs[256];	/* PASSWORD-ALGORITHMS to echo */
	size_t			 pwalgs_len;
	int			 alg;		/* 0 until challenged, then STUN_PWALG_* */
	uint8_t			 key[32];
	size_t			 keylen;

	/* What we wait for now. */
	enum wait_for		 waiting;
	bool			 woken;
	uint16_t		 method;
	uint8_t			 txid16[STUN_TXID16_LEN];
	uint8_t			 resp[4096];
	size_t			 resp_len;
	unsigned		 bad_integrity;
	enum probe_kind		 probe_kind;
	double			 probe_sent[PROBE_TRIES];
	int			 probes;
	double			 echo_rtt;
	uint8_t			 token[PROBE_TOKEN_LEN];

	/* Results. */
	uint16_t		 channel;
	bool			 chan_bound;
	bool			 ran_send, ran_chan;	/* the echo tests that were run */
	double			 rtt_send, rtt_chan;
	bool			 have_rtt_send, have_rtt_chan;

	/* The first failure. */
	int			 rc;
	const char		*step;
	int			 err_code;
	char			 err_reason[256];
	char			 cause[512];
	char			 note[256];

	/* Bytes from the server not yet cut into messages (TCP), or one datagram. */
	uint8_t			 sbuf[STUN_MAX_MSG + 8];
	size_t			 slen;
};

/*
 * Record the first failure of a test (its status, step and cause); later
 * ones do not replace it. Returns rc. The TURN and NAT tests share it.
 */
static int __attribute__((format(printf, 7, 0)))
record_fail(int *status, const char **stepp, char *cause, size_t cap, int rc, const char *step,
    const char *fmt, va_list ap)
{
	if (*status != EXIT_OK)
		return rc;
	*status = rc;
	*stepp = step;
	vsnprintf(cause, cap, fmt, ap);
	return rc;
}

/* The TURN test's first failure. */
static int __attribute__((format(printf, 4, 5)))
fail(struct turn *t, int rc, const char *step, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	rc = record_fail(&t->rc, &t->step, t->cause, sizeof(t->cause), rc, step, fmt, ap);
	va_end(ap);
	return rc;
}

/* What an error code means for a TURN client, in words. */
static const char *
cause_of(int code)
{
	switch (code) {
	case 300:
		return "the server redirects to an alternate server";
	case 400:
		return "the server found the request malformed";
	case 401:
		return "authentication failed: wrong user name or password, "
		    "or expired credentials";
	case 403:
		return "peer address denied by the server's policy";
	case 420:
		return "the server does not understand an attribute the request needs";
	case 437:
		return "allocation mismatch: the server has no allocation for this "
		    "client (it expired?), or already has one";
	case 438:
		return "stale nonce, again after a retry with a fresh one";
	case 440:
		return "address family not supported by the server's relays";
	case 441:
		return "wrong credentials: the allocation belongs to another user";
	case 442:
		return "unsupported transport protocol: the server does not relay UDP";
	case 443:
		return "peer address family mismatch: the relay has no address of "
		    "the peer's family";
	case 486:
		return "allocation quota reached";
	case 500:
		return "server error";
	case 508:
		return "server out of capacity: no relay port (or permission) free";
	default:
		return NULL;
	}
}

/* Record an error response as the failure. */
static int
fail_response(struct turn *t, const char *step, const struct stun_msg *m)
{
	const struct stun_attr *a;
	struct sockaddr_storage alt;
	char name[ADDR_STRLEN];
	const char *reason = "", *why;
	size_t rlen = 0;
	int code;

	if ((a = stun_msg_find(m, STUN_A_ERROR_CODE)) == NULL ||
	    stun_attr_error(a, &code, &reason, &rlen) != 0) {
		code = 500;
		reason = "";
		rlen = 0;
	}
	if (t->rc != EXIT_OK)
		return EXIT_ERRRESP;
	t->err_code = code;
	snprintf(t->err_reason, sizeof(t->err_reason), "%.*s", (int)rlen, reason);
	if (code == 401 && !t->have_creds)
		why = "authentication required: give --user and --password, or --secret";
	else if (code == 300 && (a = stun_msg_find(m, STUN_A_ALTERNATE_SERVER)) != NULL &&
	    stun_attr_addr(a, &alt) == 0)
		return fail(t, EXIT_ERRRESP, step, "the server redirects to %s "
		    "(ALTERNATE-SERVER): test that one", addr_fmt((struct sockaddr *)&alt,
		    name, sizeof(name)));
	else if ((why = cause_of(code)) == NULL)
		why = "the server refused the request";
	return fail(t, EXIT_ERRRESP, step, "%s", why);
}

/* The TURN REST API credentials (HMAC-SHA1 of the user name, base64), as turnd checks them. */
static int
rest_credentials(struct turn *t)
{
	uint8_t mac[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	const char *id = t->o->user != NULL ? t->o->user : "stunclient";

	snprintf(t->user, sizeof(t->user), "%llu:%s",
	    (unsigned long long)time(NULL) + REST_LIFETIME_S, id);
	if (HMAC(EVP_sha1(), t->o->secret, (int)strlen(t->o->secret),
	    (const unsigned char *)t->user, strlen(t->user), mac, &n) == NULL)
		return -1;
	EVP_EncodeBlock((unsigned char *)t->password, mac, (int)n);
	OPENSSL_cleanse(mac, sizeof(mac));
	return 0;
}

/* --- The sockets --- */

/* Send a whole message to the server. */
static int
send_server(struct turn *t, const uint8_t *p, size_t len)
{
	ssize_t n;

	if (!t->o->tcp) {
		if (send(t->fd, p, len, 0) < 0 && errno != ECONNREFUSED)
			return fail(t, EXIT_NETWORK, "send", "send: %s", strerror(errno));
		return EXIT_OK;
	}
	if (t->ssl != NULL) {
		if (sock_deadline(t->fd, now_ms() + TI_MS) != 0 ||
		    SSL_write(t->ssl, p, (int)len) != (int)len)
			return fail(t, EXIT_NETWORK, "send", "tls: the write failed");
		return EXIT_OK;
	}
	while (len > 0) {
		if ((n = send(t->fd, p, len, MSG_NOSIGNAL)) < 0) {
			if (errno == EINTR)
				continue;
			return fail(t, EXIT_NETWORK, "send", "send: %s", strerror(errno));
		}
		p += n;
		len -= (size_t)n;
	}
	return EXIT_OK;
}

/*
 * Read from the stream, plain or TLS: what recv would return. Over TLS the
 * socket says readable before a whole record is there, so the read may wait
 * for the rest, a second at most.
 */
static ssize_t
stream_read(struct turn *t, uint8_t *buf, size_t cap)
{
	int n;

	if (t->ssl == NULL)
		return recv(t->fd, buf, cap, 0);
	if (sock_deadline(t->fd, now_ms() + 1000) != 0)
		return -1;
	if ((n = SSL_read(t->ssl, buf, (int)cap)) > 0)
		return n;
	if (tls_timed_out(t->ssl, n)) {
		errno = EINTR;	/* nothing whole yet: try again later */
		return -1;
	}
	return SSL_get_error(t->ssl, n) == SSL_ERROR_ZERO_RETURN ? 0 : (errno = EPROTO, -1);
}

/* A probe's echo arrived by this path: is it the one we wait for? */
static void
on_data(struct turn *t, enum probe_kind path, const uint8_t *p, size_t len)
{
	unsigned seq;

	if (t->waiting != WAIT_ECHO || path != t->probe_kind || len != PROBE_LEN ||
	    memcmp(p, PROBE_MAGIC, PROBE_MAGIC_LEN) != 0 ||
	    memcmp(p + PROBE_MAGIC_LEN, t->token, PROBE_TOKEN_LEN) != 0 ||
	    p[PROBE_LEN - 2] != path)
		return;
	seq = p[PROBE_LEN - 1];
	if (seq >= (unsigned)t->probes)
		return;
	t->echo_rtt = now_ms() - t->probe_sent[seq];
	t->woken = true;
}

/* Does a success response carry the integrity of our key (RFC 8489 section 9.2.5)? */
static bool
integrity_ok(const struct turn *t, const struct stun_msg *m)
{
	if (t->alg == STUN_PWALG_SHA256)
		return stun_check_integrity_sha256(m, t->key, t->keylen);
	return stun_check_integrity(m, t->key, t->keylen);
}

/* One message from the server: a response, a Data indication or ChannelData. */
static void
on_message(struct turn *t, const uint8_t *p, size_t len)
{
	const struct stun_attr *a;
	struct chandata cd;
	struct stun_msg m;

	switch (demux_classify(p, len)) {
	case DEMUX_CHANDATA:
		if (chandata_parse(&cd, p, len, t->o->tcp) == 0 && t->channel != 0 &&
		    cd.channel == t->channel)
			on_data(t, PROBE_CHANNEL, cd.data, cd.len);
		return;
	case DEMUX_STUN:
		break;
	default:
		return;
	}
	if (stun_msg_parse(&m, p, len) != 0 || m.classic)
		return;
	if (m.cls == STUN_INDICATION && m.method == TURN_DATA) {
		if ((a = stun_msg_find(&m, STUN_A_DATA)) != NULL)
			on_data(t, PROBE_SEND, a->val, a->len);
		return;
	}
	if (t->waiting != WAIT_RESP || m.method != t->method ||
	    (m.cls != STUN_SUCCESS && m.cls != STUN_ERROR) ||
	    memcmp(m.txid16, t->txid16, STUN_TXID16_LEN) != 0 || len > sizeof(t->resp))
		return;
	if (m.cls == STUN_SUCCESS && t->alg != 0 && !integrity_ok(t, &m)) {
		t->bad_integrity++;
		return;
	}
	memcpy(t->resp, p, len);
	t->resp_len = len;
	t->woken = true;
}

/* Read what the server sent: one datagram, or what a stream holds, cut into frames. */
static int
read_server(struct turn *t)
{
	ssize_t n;
	long flen;

	if (!t->o->tcp) {
		/* ICMP errors (ECONNREFUSED) are ignored, as RFC 8489 advises. */
		if ((n = recv(t->fd, t->sbuf, sizeof(t->sbuf), 0)) > 0)
			on_message(t, t->sbuf, (size_t)n);
		return EXIT_OK;
	}
	n = stream_read(t, t->sbuf + t->slen, sizeof(t->sbuf) - t->slen);
	if (n < 0 && errno == EINTR)
		return EXIT_OK;
	if (n < 0)
		return fail(t, EXIT_NETWORK, "recv", "recv: %s", strerror(errno));
	if (n == 0)
		return fail(t, EXIT_NETWORK, "recv", "the server closed the TCP connection");
	t->slen += (size_t)n;
	for (;;) {
		flen = stream_frame_len(t->sbuf, t->slen, sizeof(t->sbuf));
		if (flen < 0)
			return fail(t, EXIT_NETWORK, "recv", "the server sent a frame that "
			    "is neither STUN nor ChannelData");
		if (flen == 0 || (size_t)flen > t->slen)
			return EXIT_OK;
		on_message(t, t->sbuf, (size_t)flen);
		memmove(t->sbuf, t->sbuf + flen, t->slen - (size_t)flen);
		t->slen -= (size_t)flen;
	}
}

/* The local echo: send our own probes back where they came from, nothing else. */
static void
echo_serve(struct turn *t)
{
	struct sockaddr_storage from;
	socklen_t flen = sizeof(from);
	uint8_t buf[2048];
	ssize_t n;

	n = recvfrom(t->echo_fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen);
	if (n != PROBE_LEN || memcmp(buf, PROBE_MAGIC, PROBE_MAGIC_LEN) != 0 ||
	    memcmp(buf + PROBE_MAGIC_LEN, t->token, PROBE_TOKEN_LEN) != 0)
		return;
	sendto(t->echo_fd, buf, (size_t)n, 0, (struct sockaddr *)&from, flen);
}

/* Serve the server socket and the echo until what we wait for arrives, or the deadline. */
static int
pump(struct turn *t, double deadline)
{
	struct pollfd pfd[2];
	nfds_t n;
	int wait, rc;

	while (!t->woken) {
		if ((wait = (int)(deadline - now_ms())) <= 0)
			return EXIT_TIMEOUT;
		/* OpenSSL may hold decrypted bytes that poll cannot see. */
		if (t->ssl != NULL && SSL_pending(t->ssl) > 0) {
			if ((rc = read_server(t)) != EXIT_OK)
				return rc;
			continue;
		}
		pfd[0].fd = t->fd;
		pfd[0].events = POLLIN;
		pfd[0].revents = 0;
		pfd[1].fd = t->echo_fd;
		pfd[1].events = POLLIN;
		pfd[1].revents = 0;
		n = t->echo_fd >= 0 ? 2 : 1;
		if (poll(pfd, n, wait) < 0) {
			if (errno == EINTR)
				continue;
			return fail(t, EXIT_NETWORK, "poll", "poll: %s", strerror(errno));
		}
		if (n == 2 && (pfd[1].revents & POLLIN))
			echo_serve(t);
		if ((pfd[0].revents & (POLLIN | POLLERR | POLLHUP)) &&
		    (rc = read_server(t)) != EXIT_OK)
			return rc;
	}
	return EXIT_OK;
}

/* --- Requests --- */

/* Send a request and wait for its response: RFC 8489 retransmissions over UDP, Ti over TCP. */
static int
transact(struct turn *t, const uint8_t *req, size_t len, uint16_t method)
{
	double start = now_ms(), deadline;
	int tx, rto = RTO_MS, rc = EXIT_TIMEOUT;

	t->waiting = WAIT_RESP;
	t->woken = false;
	t->method = method;
	t->bad_integrity = 0;
	if (t->o->tcp) {
		if ((rc = send_server(t, req, len)) == EXIT_OK)
			rc = pump(t, start + (t->o->timeout_ms > 0 ? t->o->timeout_ms : TI_MS));
	} else {
		for (tx = 0; tx < RC; tx++, rto *= 2) {
			if ((rc = send_server(t, req, len)) != EXIT_OK)
				break;
			deadline = sched_deadline(t->o, &sched_rfc, tx, rto, start, now_ms());
			if ((rc = pump(t, deadline)) != EXIT_TIMEOUT)
				break;
			if (t->o->timeout_ms > 0 && now_ms() >= start + t->o->timeout_ms)
				break;
		}
	}
	t->waiting = WAIT_NONE;
	return rc;
}

/* Append USERNAME, REALM, NONCE, the password algorithm if offered, and the integrity. */
static void
put_auth(struct turn *t, struct wbuf *w)
{
	uint8_t alg[4] = { 0, (uint8_t)t->alg, 0, 0 };

	stun_put(w, STUN_A_USERNAME, t->user, strlen(t->user));
	stun_put(w, STUN_A_REALM, t->realm, strlen(t->realm));
	stun_put(w, STUN_A_NONCE, t->nonce, strlen(t->nonce));
	if (t->pwalgs_len > 0) {
		stun_put(w, STUN_A_PASSWORD_ALGORITHMS, t->pwalgs, t->pwalgs_len);
		stun_put(w, STUN_A_PASSWORD_ALGORITHM, alg, sizeof(alg));
	}
	if (t->alg == STUN_PWALG_SHA256)
		stun_put_integrity_sha256(w, t->key, t->keylen);
	else
		stun_put_integrity(w, t->key, t->keylen);
}

/* Copy a text attribute into a C string; -1 when absent, too long or holding a NUL. */
static int
attr_text(const struct stun_msg *m, uint16_t type, char *out, size_t cap)
{
	const struct stun_attr *a = stun_msg_find(m, type);

	if (a == NULL || a->len >= cap || memchr(a->val, '\0', a->len) != NULL)
		return -1;
	memcpy(out, a->val, a->len);
	out[a->len] = '\0';
	return 0;
}

/*
 * Does the nonce carry the RFC 8489 cookie with the password algorithms
 * bit? Only then is PASSWORD-ALGORITHMS to be believed (section 9.2.4).
 */
static bool
nonce_offers_algorithms(const char *nonce)
{
	unsigned char bits[4];

	if (strncmp(nonce, NONCE_COOKIE, NONCE_COOKIE_LEN) != 0 ||
	    strlen(nonce) < NONCE_COOKIE_LEN + 4 ||
	    EVP_DecodeBlock(bits, (const unsigned char *)nonce + NONCE_COOKIE_LEN, 4) != 3)
		return false;
	return ((bits[0] << 16 | bits[1] << 8 | bits[2]) & FEAT_PASSWORD_ALGS) != 0;
}

/* Pick MD5 when offered (or when nothing is), else SHA-256; 0 when nothing usable is offered. */
static int
pick_algorithm(struct turn *t, const struct stun_msg *m)
{
	const struct stun_attr *a = stun_msg_find(m, STUN_A_PASSWORD_ALGORITHMS);
	bool md5 = false, sha = false;
	size_t i, plen;
	unsigned alg;

	t->pwalgs_len = 0;
	if (a == NULL || !nonce_offers_algorithms(t->nonce) || a->len > sizeof(t->pwalgs))
		return STUN_PWALG_MD5;
	for (i = 0; i + 4 <= a->len; i += 4 + ((plen + 3) & ~(size_t)3)) {
		alg = (unsigned)(a->val[i] << 8 | a->val[i + 1]);
		plen = (size_t)(a->val[i + 2] << 8 | a->val[i + 3]);
		md5 = md5 || alg == STUN_PWALG_MD5;
		sha = sha || alg == STUN_PWALG_SHA256;
	}
	memcpy(t->pwalgs, a->val, a->len);
	t->pwalgs_len = a->len;
	return md5 ? STUN_PWALG_MD5 : sha ? STUN_PWALG_SHA256 : 0;
}

/* Take REALM and NONCE from a 401 and derive the key; a failure is recorded. */
static int
take_challenge(struct turn *t, const char *step, const struct stun_msg *m)
{
	if (attr_text(m, STUN_A_REALM, t->realm, sizeof(t->realm)) != 0 ||
	    attr_text(m, STUN_A_NONCE, t->nonce, sizeof(t->nonce)) != 0)
		return fail(t, EXIT_NETWORK, step, "the 401 challenge lacks a usable "
		    "REALM or NONCE");
	if ((t->alg = pick_algorithm(t, m)) == 0)
		return fail(t, EXIT_ERRRESP, step, "the server offers no password "
		    "algorithm this client knows (MD5, SHA-256)");
	if (stun_longterm_key(t->alg, t->user, t->realm, t->password, t->key,
	    &t->keylen) != 0)
		return fail(t, EXIT_NETWORK, step, "cannot derive the key from the "
		    "password and the realm \"%s\"", t->realm);
	return EXIT_OK;
}

typedef void	(*put_fn)(struct turn *, struct wbuf *);

/*
 * One authenticated request: the first 401 is the challenge (REALM and
 * NONCE, then sign), a 438 is retried once with the fresh nonce. On
 * success m holds the response (in t->resp); failures are recorded.
 */
static int
request(struct turn *t, uint16_t method, const char *step, put_fn put,
    struct stun_msg *m)
{
	const struct stun_attr *a;
	uint8_t buf[4096];
	struct wbuf w;
	ssize_t len;
	int rc, code, reason_ok, challenged = 0, stale = 0;
	const char *reason;
	size_t rlen;

	for (;;) {
		if (random_txid(t->txid16) != 0)
			return fail(t, EXIT_NETWORK, step, "getrandom: %s", strerror(errno));
		wbuf_init(&w, buf, sizeof(buf));
		stun_build_init(&w, method, STUN_REQUEST, t->txid16);
		put(t, &w);
		if (t->alg != 0)
			put_auth(t, &w);
		stun_put_fingerprint(&w);
		if ((len = stun_build_end(&w)) < 0)
			return fail(t, EXIT_NETWORK, step, "the request does not fit in "
			    "%zu bytes", sizeof(buf));
		rc = transact(t, buf, (size_t)len, method);
		if (rc == EXIT_TIMEOUT) {
			t->server_silent = true;
			if (t->bad_integrity > 0)
				return fail(t, rc, step, "responses arrived, but their "
				    "MESSAGE-INTEGRITY did not verify with our key");
			return fail(t, rc, step, "no answer from the server");
		}
		if (rc != EXIT_OK)
			return rc;
		if (stun_msg_parse(m, t->resp, t->resp_len) != 0)
			return fail(t, EXIT_NETWORK, step, "malformed response");
		if (m->cls == STUN_SUCCESS)
			return EXIT_OK;
		a = stun_msg_find(m, STUN_A_ERROR_CODE);
		reason_ok = a != NULL && stun_attr_error(a, &code, &reason, &rlen) == 0;
		if (!reason_ok)
			code = 500;
		if (code == 401 && t->have_creds && t->alg == 0 && !challenged) {
			challenged = 1;
			if ((rc = take_challenge(t, step, m)) != EXIT_OK)
				return rc;
			continue;
		}
		if (code == 437 && method == TURN_REFRESH)
			return EXIT_OK;		/* gone already: a lost response, or expiry */
		if (code == 438 && t->alg != 0 && !stale &&
		    attr_text(m, STUN_A_NONCE, t->nonce, sizeof(t->nonce)) == 0) {
			stale = 1;
			continue;
		}
		return fail_response(t, step, m);
	}
}

static void
put_allocate(struct turn *t, struct wbuf *w)
{
	static const uint8_t udp[4] = { PROTO_UDP, 0, 0, 0 };
	static const uint8_t v6[4] = { STUN_FAMILY_IPV6, 0, 0, 0 };

	stun_put(w, STUN_A_REQUESTED_TRANSPORT, udp, sizeof(udp));
	/* IPv4 is the default (RFC 8656 section 7.2); say nothing then, for RFC 5766 servers. */
	if (t->peer.ss_family == AF_INET6)
		stun_put(w, STUN_A_REQUESTED_ADDRESS_FAMILY, v6, sizeof(v6));
}

static void
put_peer(struct turn *t, struct wbuf *w)
{
	stun_put_xaddr(w, STUN_A_XOR_PEER_ADDRESS, (struct sockaddr *)&t->peer);
}

static void
put_channel_bind(struct turn *t, struct wbuf *w)
{
	uint8_t num[4] = { (uint8_t)(t->channel >> 8), (uint8_t)t->channel, 0, 0 };

	stun_put(w, STUN_A_CHANNEL_NUMBER, num, sizeof(num));
	put_peer(t, w);
}

static void
put_lifetime_zero(struct turn *t, struct wbuf *w)
{
	(void)t;
	stun_put_u32(w, STUN_A_LIFETIME, 0);
}

/* Allocate: the relayed and mapped addresses. */
static int
allocate(struct turn *t)
{
	const struct stun_attr *a;
	struct stun_msg m;
	int rc;

	if ((rc = request(t, TURN_ALLOCATE, "Allocate", put_allocate, &m)) != EXIT_OK)
		return rc;
	t->allocated = true;
	if ((a = stun_msg_find(&m, STUN_A_XOR_MAPPED_ADDRESS)) != NULL &&
	    stun_attr_xaddr(a, m.txid16, &t->mapped) == 0)
		t->have_mapped = true;
	if ((a = stun_msg_find(&m, STUN_A_XOR_RELAYED_ADDRESS)) == NULL ||
	    stun_attr_xaddr(a, m.txid16, &t->relayed) != 0)
		return fail(t, EXIT_NETWORK, "Allocate", "the success response has no "
		    "usable XOR-RELAYED-ADDRESS");
	t->have_relayed = true;
	return EXIT_OK;
}

/* --- The local echo --- */

/* A UDP socket on the IP we reach the server from: the peer, unless --peer names one. */
static int
echo_open(struct turn *t)
{
	socklen_t len = sizeof(t->echo_addr);

	t->echo_addr = t->local;
	addr_set_port((struct sockaddr *)&t->echo_addr, 0);
	if ((t->echo_fd = socket(t->echo_addr.ss_family, SOCK_DGRAM, 0)) < 0 ||
	    bind(t->echo_fd, (struct sockaddr *)&t->echo_addr,
	    addr_len((struct sockaddr *)&t->echo_addr)) != 0 ||
	    getsockname(t->echo_fd, (struct sockaddr *)&t->echo_addr, &len) != 0)
		return fail(t, EXIT_NETWORK, "echo", "local echo socket: %s",
		    strerror(errno));
	t->peer = t->echo_addr;
	t->have_peer = true;
	return EXIT_OK;
}

/*
 * Behind a NAT the relay must send to the echo's public address: ask the
 * server (a Binding over UDP from the echo socket). Without an answer the
 * local address stays the peer, with a note.
 */
static void
echo_public_address(struct turn *t)
{
	uint8_t req[64], buf[1024], txid16[STUN_TXID16_LEN];
	const struct stun_attr *a;
	struct stun_msg m;
	struct wbuf w;
	double start = now_ms(), deadline;
	ssize_t len, n;
	int tx, rto = sched_echo_bind.rto_ms;

	if (random_txid(txid16) != 0)
		return;
	wbuf_init(&w, req, sizeof(req));
	stun_build_init(&w, STUN_BINDING, STUN_REQUEST, txid16);
	stun_put_fingerprint(&w);
	if ((len = stun_build_end(&w)) < 0)
		return;
	for (tx = 0; tx < sched_echo_bind.rc; tx++, rto *= 2) {
		sendto(t->echo_fd, req, (size_t)len, 0, (struct sockaddr *)&t->server,
		    addr_len((struct sockaddr *)&t->server));
		deadline = sched_deadline(t->o, &sched_echo_bind, tx, rto, start, now_ms());
		for (;;) {
			struct pollfd pfd = { t->echo_fd, POLLIN, 0 };
			int wait = (int)(deadline - now_ms());
			if (wait <= 0 || poll(&pfd, 1, wait) <= 0)
				break;
			if ((n = recv(t->echo_fd, buf, sizeof(buf), 0)) <= 0 ||
			    stun_msg_parse(&m, buf, (size_t)n) != 0 ||
			    m.cls != STUN_SUCCESS || m.method != STUN_BINDING ||
			    memcmp(m.txid16, txid16, STUN_TXID16_LEN) != 0)
				continue;
			if ((a = stun_msg_find(&m, STUN_A_XOR_MAPPED_ADDRESS)) != NULL &&
			    stun_attr_xaddr(a, m.txid16, &t->peer) == 0)
				return;
		}
	}
	snprintf(t->note, sizeof(t->note), "behind a NAT, and the server told the "
	    "local echo no public address over UDP: the relay may not reach it; "
	    "try --peer");
}

/* --- Data through the relay --- */

/* Send probe number seq by Send indication or by ChannelData. */
static int
send_probe(struct turn *t, int seq)
{
	uint8_t probe[PROBE_LEN], buf[256], txid16[STUN_TXID16_LEN];
	struct wbuf w;
	ssize_t len;
	size_t pad;

	memcpy(probe, PROBE_MAGIC, PROBE_MAGIC_LEN);
	memcpy(probe + PROBE_MAGIC_LEN, t->token, PROBE_TOKEN_LEN);
	probe[PROBE_LEN - 2] = (uint8_t)t->probe_kind;
	probe[PROBE_LEN - 1] = (uint8_t)seq;
	if (t->probe_kind == PROBE_CHANNEL) {
		/* Over a stream ChannelData is padded to 4 (RFC 8656 section 12.5). */
		pad = t->o->tcp ? (4 - (PROBE_LEN & 3)) & 3 : 0;
		memset(buf, 0, sizeof(buf));
		chandata_write_hdr(buf, t->channel, PROBE_LEN);
		memcpy(buf + CHANDATA_HDR_LEN, probe, PROBE_LEN);
		len = (ssize_t)(CHANDATA_HDR_LEN + PROBE_LEN + pad);
	} else {
		if (random_txid(txid16) != 0)
			return fail(t, EXIT_NETWORK, "Send", "getrandom: %s", strerror(errno));
		wbuf_init(&w, buf, sizeof(buf));
		stun_build_init(&w, TURN_SEND, STUN_INDICATION, txid16);
		put_peer(t, &w);
		stun_put(&w, STUN_A_DATA, probe, sizeof(probe));
		stun_put_fingerprint(&w);
		if ((len = stun_build_end(&w)) < 0)
			return fail(t, EXIT_NETWORK, "Send", "indication too large");
	}
	t->probe_sent[seq] = now_ms();
	t->probes = seq + 1;
	return send_server(t, buf, (size_t)len);
}

/* Send probes by one path until one comes back; the round trip is from its own send. */
static int
echo_test(struct turn *t, enum probe_kind kind, const char *step)
{
	double start = now_ms(), deadline;
	int tx, rto = sched_echo.rto_ms, rc = EXIT_TIMEOUT;

	if (kind == PROBE_SEND)
		t->ran_send = true;
	else
		t->ran_chan = true;
	t->probe_kind = kind;
	t->probes = 0;
	t->waiting = WAIT_ECHO;
	t->woken = false;
	for (tx = 0; tx < sched_echo.rc; tx++, rto *= 2) {
		if ((rc = send_probe(t, tx)) != EXIT_OK)
			break;
		deadline = sched_deadline(t->o, &sched_echo, tx, rto, start, now_ms());
		if ((rc = pump(t, deadline)) != EXIT_TIMEOUT)
			break;
		if (t->o->timeout_ms > 0 && now_ms() >= start + t->o->timeout_ms)
			break;
	}
	t->waiting = WAIT_NONE;
	if (rc == EXIT_TIMEOUT)
		return fail(t, rc, step, "no echo from the peer through the relay%s",
		    t->echo_fd >= 0 ? "" : " (is the peer a UDP echo service?)");
	if (rc != EXIT_OK)
		return rc;
	if (kind == PROBE_SEND) {
		t->rtt_send = t->echo_rtt;
		t->have_rtt_send = true;
	} else {
		t->rtt_chan = t->echo_rtt;
		t->have_rtt_chan = true;
	}
	return EXIT_OK;
}

/* Open a NAT in front of the local echo towards the relay: one datagram from the echo to it. */
static void
echo_punch(struct turn *t)
{
	uint8_t probe[PROBE_LEN];

	memcpy(probe, PROBE_MAGIC, PROBE_MAGIC_LEN);
	memcpy(probe + PROBE_MAGIC_LEN, t->token, PROBE_TOKEN_LEN);
	probe[PROBE_LEN - 2] = PROBE_PUNCH;
	probe[PROBE_LEN - 1] = 0;
	sendto(t->echo_fd, probe, sizeof(probe), 0, (struct sockaddr *)&t->relayed,
	    addr_len((struct sockaddr *)&t->relayed));
}

/* This run's probe token, so that the echo answers our probes and nothing else. */
static int
getrandom_token(struct turn *t)
{
	if (getrandom(t->token, sizeof(t->token), 0) != (ssize_t)sizeof(t->token))
		return fail(t, EXIT_NETWORK, "getrandom", "getrandom: %s", strerror(errno));
	return EXIT_OK;
}

/* The whole test, stopping at the first failure but freeing what was allocated. */
static void
turn_run(struct turn *t)
{
	struct stun_msg m;
	uint16_t r;
	bool nat;

	if (getrandom_token(t) != 0)
		return;
	if (t->o->peer != NULL) {
		addr_parse(t->o->peer, 0, &t->peer);
		t->have_peer = true;
	} else if (echo_open(t) != EXIT_OK)
		return;
	if (allocate(t) != EXIT_OK)
		goto done;
	/* Behind a NAT the local echo needs its public address, and a way in. */
	nat = t->echo_fd >= 0 && t->have_mapped &&
	    !addr_equal((struct sockaddr *)&t->mapped, (struct sockaddr *)&t->local);
	if (nat)
		echo_public_address(t);
	if (request(t, TURN_CREATE_PERMISSION, "CreatePermission", put_peer, &m) != EXIT_OK)
		goto done;
	if (nat)
		echo_punch(t);
	if (echo_test(t, PROBE_SEND, "Send indication") == EXIT_NETWORK)
		goto done;
	r = (uint16_t)(t->token[0] << 8 | t->token[1]);
	t->channel = (uint16_t)(CHAN_MIN + r % (CHAN_MAX_RFC8656 - CHAN_MIN + 1));
	if (request(t, TURN_CHANNEL_BIND, "ChannelBind", put_channel_bind, &m) != EXIT_OK)
		goto done;
	t->chan_bound = true;
	echo_test(t, PROBE_CHANNEL, "ChannelData");
done:
	if (!t->allocated || t->server_silent ||
	    (t->rc == EXIT_NETWORK && t->o->tcp))
		return;
	if (request(t, TURN_REFRESH, "Refresh", put_lifetime_zero, &m) == EXIT_OK)
		t->freed = true;
}

/* Credentials the codec cannot carry are a usage error, found before any traffic. */
static int
credentials_check(const struct opts *o)
{
	char buf[NAME_MAX_LEN];

	if (o->user != NULL && strlen(o->user) >= (o->secret != NULL ? 256 : NAME_MAX_LEN)) {
		fprintf(stderr, "stunclient: --user is too long\n");
		return -1;
	}
	if (o->password != NULL && (stun_prep_saslprep(o->password, buf, sizeof(buf)) != 0 ||
	    stun_prep_opaque(o->password, buf, sizeof(buf)) != 0)) {
		OPENSSL_cleanse(buf, sizeof(buf));
		fprintf(stderr, "stunclient: --password is too long or holds characters "
		    "SASLprep refuses\n");
		return -1;
	}
	OPENSSL_cleanse(buf, sizeof(buf));
	return 0;
}

/* Text: what was found, one item a line, then the failure if any. */
static void
report_text(const struct turn *t)
{
	char a[ADDR_STRLEN];
	const char *tp = transport_name(t->o);

	if (t->have_relayed)
		printf("relayed address: %s\n", addr_fmt((const struct sockaddr *)&t->relayed,
		    a, sizeof(a)));
	if (t->have_mapped)
		printf("mapped address: %s\n", addr_fmt((const struct sockaddr *)&t->mapped,
		    a, sizeof(a)));
	if (t->have_peer)
		printf("peer: %s (%s)\n", addr_fmt((const struct sockaddr *)&t->peer, a,
		    sizeof(a)), t->echo_fd >= 0 ? "local echo" : "--peer");
	if (t->server.ss_family != AF_UNSPEC)
		printf("server: %s (%s)\n", addr_fmt((const struct sockaddr *)&t->server,
		    a, sizeof(a)), tp);
	if (t->have_rtt_send)
		printf("rtt via send indication: %.3f ms\n", t->rtt_send);
	else if (t->ran_send)
		printf("rtt via send indication: no echo\n");
	if (t->have_rtt_chan)
		printf("rtt via channel 0x%04x: %.3f ms\n", t->channel, t->rtt_chan);
	else if (t->ran_chan)
		printf("rtt via channel 0x%04x: no echo\n", t->channel);
	if (t->freed)
		printf("allocation freed\n");
	if (t->note[0] != '\0')
		printf("note: %s\n", t->note);
	if (t->rc == EXIT_ERRRESP && t->err_code != 0)
		printf("error response to %s: %d %s: %s\n", t->step, t->err_code,
		    t->err_reason[0] ? t->err_reason : stun_reason(t->err_code), t->cause);
	else if (t->rc == EXIT_TIMEOUT)
		printf("timeout: %s: %s\n", t->step, t->cause);
	else if (t->rc != EXIT_OK && strncmp(t->cause, t->step, strlen(t->step)) == 0)
		printf("error: %s\n", t->cause);	/* "connect: ..." says where already */
	else if (t->rc != EXIT_OK)
		printf("error: %s: %s\n", t->step, t->cause);
}

/* JSON: one object, every member present (null when unknown). */
static void
report_json(const struct turn *t)
{
	printf("{\"test\": \"turn\", \"transport\": \"%s\", \"status\": \"%s\", "
	    "\"server\": ", transport_name(t->o),
	    status_name(t->rc));
	json_addr(&t->server, t->server.ss_family != AF_UNSPEC);
	printf(", \"local\": ");
	json_addr(&t->local, t->local.ss_family != AF_UNSPEC);
	printf(", \"relayed\": ");
	json_addr(&t->relayed, t->have_relayed);
	printf(", \"mapped\": ");
	json_addr(&t->mapped, t->have_mapped);
	printf(", \"peer\": ");
	json_addr(&t->peer, t->have_peer);
	printf(", \"local_echo\": %s, \"channel\": ", t->echo_fd >= 0 ? "true" : "false");
	if (t->chan_bound)
		printf("%u", t->channel);
	else
		printf("null");
	printf(", \"rtt_ms\": {\"send_indication\": ");
	json_num_or_null(t->rtt_send, t->have_rtt_send);
	printf(", \"channel\": ");
	json_num_or_null(t->rtt_chan, t->have_rtt_chan);
	printf("}, \"freed\": %s, \"step\": ", t->freed ? "true" : "false");
	json_str_or_null(t->rc != EXIT_OK ? t->step : NULL);
	printf(", \"error_code\": ");
	if (t->rc == EXIT_ERRRESP && t->err_code != 0)
		printf("%d, \"error_reason\": ", t->err_code);
	else
		printf("null, \"error_reason\": ");
	json_str_or_null(t->rc == EXIT_ERRRESP && t->err_code != 0 ?
	    (t->err_reason[0] ? t->err_reason : stun_reason(t->err_code)) : NULL);
	printf(", \"cause\": ");
	json_str_or_null(t->rc != EXIT_OK ? t->cause : NULL);
	printf(", \"note\": ");
	json_str_or_null(t->note);
	printf("}\n");
}

static int
turn_main(const struct opts *o)
{
	struct turn *t;
	char err[256] = "";
	int rc;

	if ((t = calloc(1, sizeof(*t))) == NULL) {
		perror("stunclient");
		return EXIT_NETWORK;
	}
	t->o = o;
	t->fd = t->echo_fd = -1;
	if (credentials_check(o) != 0) {
		free(t);
		return EXIT_USAGE;
	}
	if (o->secret != NULL) {
		t->have_creds = true;
		if (rest_credentials(t) != 0)
			fail(t, EXIT_NETWORK, "credentials", "HMAC failed");
	} else if (o->user != NULL) {
		t->have_creds = true;
		snprintf(t->user, sizeof(t->user), "%s", o->user);
		snprintf(t->password, sizeof(t->password), "%s", o->password);
	}
	if (t->rc == EXIT_OK && (t->fd = client_connect(o, o->tcp ? SOCK_STREAM :
	    SOCK_DGRAM, &t->server, &t->local, err, sizeof(err))) < 0)
		fail(t, EXIT_NETWORK, "connect", "%s", err);
	if (t->rc == EXIT_OK && o->tls && (rc = tls_open(t->fd, o, now_ms() +
	    (o->timeout_ms > 0 ? o->timeout_ms : TI_MS), &t->ssl, err, sizeof(err))) != EXIT_OK)
		fail(t, rc, "tls", "%s", err[0] ? err : "the TLS handshake timed out");
	if (t->rc == EXIT_OK)
		turn_run(t);
	if (o->json)
		report_json(t);
	else
		report_text(t);
	if (t->ssl != NULL) {
		(void)SSL_shutdown(t->ssl);
		SSL_free(t->ssl);
	}
	if (t->fd >= 0)
		close(t->fd);
	if (t->echo_fd >= 0)
		close(t->echo_fd);
	rc = t->rc;
	OPENSSL_cleanse(t->password, sizeof(t->password));
	OPENSSL_cleanse(t->key, sizeof(t->key));
	free(t);
	return rc;
}

/* ======================================================================
 * NAT behaviour discovery (RFC 5780 section 4): --nat
 * ====================================================================== */

#define CHANGE_IP	0x04
#define CHANGE_PORT	0x02
#define SHORT_RTO_MIN	100	/* ms: the filtering and hairpinning tests, where silence is an answer */
#define SHORT_TRIES	3
#define SHORT_RM	4	/* the last wait, in initial RTOs: 0, 1, 3 and 7 RTOs */

/* A NAT behaviour (RFC 4787), for mapping and for filtering. */
enum behaviour {
	B_UNKNOWN,
	B_EI,		/* endpoint-independent */
	B_AD,		/* address-dependent */
	B_APD,		/* address-and-port-dependent */
};

/* What one Binding transaction brought back. */
struct answer {
	struct sockaddr_storage	 from;		/* where the response came from */
	struct sockaddr_storage	 mapped;
	struct sockaddr_storage	 other;
	bool			 have_mapped, have_other;
	int			 err_code;
	char			 err_reason[256];
	double			 rtt_ms;
};

struct nat {
	const struct opts	*o;
	struct sockaddr_storage	 server, local, mapped, other;
	bool			 have_local, have_mapped, have_other;
	bool			 nat;
	struct sched		 quick;		/* for tests where no answer is an answer */
	enum behaviour		 mapping, filtering;
	int			 hairpin;	/* 1, 0, or -1: not tested or not applicable */
	char			 verdict[512];
	char			 note[256];

	/* The first failure. */
	int			 rc;
	const char		*step;
	int			 err_code;
	char			 err_reason[256];
	char			 cause[512];
};

/* The NAT test's first failure. */
static int __attribute__((format(printf, 4, 5)))
nat_fail(struct nat *n, int rc, const char *step, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	rc = record_fail(&n->rc, &n->step, n->cause, sizeof(n->cause), rc, step, fmt, ap);
	va_end(ap);
	return rc;
}

/* An error response as the failure, keeping its code and reason. */
static int
nat_fail_response(struct nat *n, int rc, const char *step, const struct answer *ans,
    const char *why)
{
	if (n->rc == EXIT_OK) {
		n->err_code = ans->err_code;
		snprintf(n->err_reason, sizeof(n->err_reason), "%s", ans->err_reason);
	}
	return nat_fail(n, rc, step, "%s", why);
}

static const char *
behaviour_name(enum behaviour b)
{
	static const char *names[] = { NULL, "endpoint-independent", "address-dependent",
	    "address-and-port-dependent" };

	return names[b];
}

/* A UDP socket on the local IP we reach the server from, any port; not connected. */
static int
nat_socket(const struct sockaddr_storage *ip, struct sockaddr_storage *bound)
{
	socklen_t len = sizeof(*bound);
	int fd;

	*bound = *ip;
	addr_set_port((struct sockaddr *)bound, 0);
	if ((fd = socket(bound->ss_family, SOCK_DGRAM, 0)) < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)bound, addr_len((struct sockaddr *)bound)) != 0 ||
	    getsockname(fd, (struct sockaddr *)bound, &len) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Is this datagram the response to txid16? Fill ans from it. */
static bool
take_answer(const uint8_t *buf, size_t len, const uint8_t *txid16, struct answer *ans)
{
	const struct stun_attr *a;
	struct stun_msg m;
	const char *reason;
	size_t rlen;

	if (stun_msg_parse(&m, buf, len) != 0 || m.method != STUN_BINDING ||
	    (m.cls != STUN_SUCCESS && m.cls != STUN_ERROR) ||
	    memcmp(m.txid16, txid16, STUN_TXID16_LEN) != 0)
		return false;
	if (m.cls == STUN_ERROR) {
		if ((a = stun_msg_find(&m, STUN_A_ERROR_CODE)) == NULL ||
		    stun_attr_error(a, &ans->err_code, &reason, &rlen) != 0) {
			ans->err_code = 500;
			reason = "";
			rlen = 0;
		}
		snprintf(ans->err_reason, sizeof(ans->err_reason), "%.*s", (int)rlen, reason);
		if (ans->err_reason[0] == '\0')
			snprintf(ans->err_reason, sizeof(ans->err_reason), "%s",
			    stun_reason(ans->err_code));
		return true;
	}
	if ((a = stun_msg_find(&m, STUN_A_XOR_MAPPED_ADDRESS)) != NULL &&
	    stun_attr_xaddr(a, m.txid16, &ans->mapped) == 0)
		ans->have_mapped = true;
	else if ((a = stun_msg_find(&m, STUN_A_MAPPED_ADDRESS)) != NULL &&
	    stun_attr_addr(a, &ans->mapped) == 0)
		ans->have_mapped = true;
	if ((a = stun_msg_find(&m, STUN_A_OTHER_ADDRESS)) != NULL &&
	    stun_attr_addr(a, &ans->other) == 0)
		ans->have_other = true;
	return true;
}

/* Build a Binding request, with CHANGE-REQUEST when flags are set. */
static ssize_t
build_binding(uint8_t *buf, size_t cap, uint8_t *txid16, uint32_t change)
{
	struct wbuf w;

	if (random_txid(txid16) != 0)
		return -1;
	wbuf_init(&w, buf, cap);
	stun_build_init(&w, STUN_BINDING, STUN_REQUEST, txid16);
	if (change != 0)
		stun_put_u32(&w, STUN_A_CHANGE_REQUEST, change);
	stun_put_fingerprint(&w);
	return stun_build_end(&w);
}

/*
 * One Binding transaction from an unconnected socket: the answer may come
 * from any address (that is the point of CHANGE-REQUEST). Returns
 * EXIT_OK, EXIT_ERRRESP, EXIT_TIMEOUT or EXIT_NETWORK.
 */
static int
binding(const struct nat *n, int fd, const struct sockaddr *to, uint32_t change,
    const struct sched *s, struct answer *ans)
{
	uint8_t req[64], buf[2048], txid16[STUN_TXID16_LEN];
	struct sockaddr_storage from;
	socklen_t flen;
	double start = now_ms(), sent_at, deadline;
	ssize_t len, k;
	int tx, rto = s->rto_ms, wait;

	memset(ans, 0, sizeof(*ans));
	if ((len = build_binding(req, sizeof(req), txid16, change)) < 0)
		return EXIT_NETWORK;
	for (tx = 0; tx < s->rc; tx++, rto *= 2) {
		if (sendto(fd, req, (size_t)len, 0, to, addr_len(to)) < 0)
			return EXIT_NETWORK;
		sent_at = now_ms();
		deadline = sched_deadline(n->o, s, tx, rto, start, sent_at);
		for (;;) {
			struct pollfd pfd = { fd, POLLIN, 0 };
			if ((wait = (int)(deadline - now_ms())) <= 0 || poll(&pfd, 1, wait) <= 0)
				break;
			flen = sizeof(from);
			if ((k = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from,
			    &flen)) <= 0 || !take_answer(buf, (size_t)k, txid16, ans))
				continue;
			ans->from = from;
			ans->rtt_ms = now_ms() - sent_at;
			return ans->err_code != 0 ? EXIT_ERRRESP : EXIT_OK;
		}
		if (n->o->timeout_ms > 0 && now_ms() >= start + n->o->timeout_ms)
			break;
	}
	return EXIT_TIMEOUT;
}

/* The address of the server's other IP with the primary port (mapping test II). */
static struct sockaddr_storage
other_ip_primary_port(const struct nat *n)
{
	struct sockaddr_storage ss = n->other;

	addr_set_port((struct sockaddr *)&ss, addr_port((const struct sockaddr *)&n->server));
	return ss;
}

/* The primary IP with the other port: where a change-port answer comes from. */
static struct sockaddr_storage
primary_ip_other_port(const struct nat *n)
{
	struct sockaddr_storage ss = n->server;

	addr_set_port((struct sockaddr *)&ss, addr_port((const struct sockaddr *)&n->other));
	return ss;
}

/* A required Binding test failed: record why. */
static void
test_failed(struct nat *n, int rc, const char *step, const struct sockaddr *to,
    const struct answer *ans)
{
	char a[ADDR_STRLEN];

	addr_fmt(to, a, sizeof(a));
	if (rc == EXIT_TIMEOUT)
		nat_fail(n, rc, step, "no answer from %s", a);
	else if (rc == EXIT_ERRRESP)
		nat_fail_response(n, rc, step, ans, "the server answered with an error");
	else if (rc == EXIT_OK)
		nat_fail(n, EXIT_NETWORK, step, "the answer from %s carries no mapped "
		    "address", a);
	else
		nat_fail(n, EXIT_NETWORK, step, "cannot send to %s: %s", a, strerror(errno));
}

/* Test I: the mapped address and OTHER-ADDRESS; false when nothing more can be tested. */
static bool
test_one(struct nat *n, int fd)
{
	struct sockaddr_storage pio;
	struct answer ans;
	int rc;

	rc = binding(n, fd, (struct sockaddr *)&n->server, 0, &sched_rfc, &ans);
	if (rc != EXIT_OK) {
		test_failed(n, rc, "test I", (struct sockaddr *)&n->server, &ans);
		return false;
	}
	if (!ans.have_mapped) {
		test_failed(n, rc, "test I", (struct sockaddr *)&n->server, &ans);
		return false;
	}
	n->mapped = ans.mapped;
	n->have_mapped = true;
	n->nat = !addr_equal((struct sockaddr *)&n->mapped, (struct sockaddr *)&n->local);
	/* Silence is an answer in later tests: wait a few round trips, 100 ms at least. */
	n->quick.rto_ms = (int)(2 * ans.rtt_ms) + 1;
	if (n->quick.rto_ms < SHORT_RTO_MIN)
		n->quick.rto_ms = SHORT_RTO_MIN;
	n->quick.rc = SHORT_TRIES;
	n->quick.rm = SHORT_RM;
	if (!ans.have_other) {
		nat_fail(n, EXIT_NO5780, "test I", "the server does not support RFC 5780 "
		    "(no OTHER-ADDRESS in its Binding response)");
		return false;
	}
	n->other = ans.other;
	n->have_other = true;
	if (n->other.ss_family != n->server.ss_family ||
	    addr_port((struct sockaddr *)&n->other) ==
	    addr_port((struct sockaddr *)&n->server)) {
		nat_fail(n, EXIT_NO5780, "test I", "the server's OTHER-ADDRESS is unusable "
		    "(another family, or the same port)");
		return false;
	}
	pio = primary_ip_other_port(n);
	if (addr_equal((struct sockaddr *)&pio, (struct sockaddr *)&n->other))
		snprintf(n->note, sizeof(n->note), "the server's other address has the "
		    "same IP: address-dependent behaviour cannot be told apart");
	return true;
}

/* Mapping (RFC 5780 section 4.3): tests II and III from the socket of test I. */
static void
test_mapping(struct nat *n, int fd)
{
	struct sockaddr_storage to = other_ip_primary_port(n), m2;
	struct answer ans;
	int rc;

	rc = binding(n, fd, (struct sockaddr *)&to, 0, &sched_rfc, &ans);
	if (rc != EXIT_OK || !ans.have_mapped) {
		test_failed(n, rc, "mapping test II",
		    (struct sockaddr *)&to, &ans);
		return;
	}
	if (addr_equal((struct sockaddr *)&ans.mapped, (struct sockaddr *)&n->mapped)) {
		n->mapping = B_EI;
		return;
	}
	m2 = ans.mapped;
	rc = binding(n, fd, (struct sockaddr *)&n->other, 0, &sched_rfc, &ans);
	if (rc != EXIT_OK || !ans.have_mapped) {
		test_failed(n, rc, "mapping test III",
		    (struct sockaddr *)&n->other, &ans);
		return;
	}
	n->mapping = addr_equal((struct sockaddr *)&ans.mapped, (struct sockaddr *)&m2) ?
	    B_AD : B_APD;
}

/*
 * A CHANGE-REQUEST test: 1 when the answer came from where it should,
 * 0 when none came, -1 when the server does not do what was asked.
 */
static int
change_test(struct nat *n, int fd, uint32_t flags, const struct sockaddr *expect,
    const char *step)
{
	char want[ADDR_STRLEN], got[ADDR_STRLEN];
	struct answer ans;
	int rc;

	rc = binding(n, fd, (struct sockaddr *)&n->server, flags, &n->quick, &ans);
	if (rc == EXIT_TIMEOUT)
		return 0;
	if (rc == EXIT_ERRRESP) {
		nat_fail_response(n, EXIT_NO5780, step, &ans, "the server refuses "
		    "CHANGE-REQUEST: it does not support RFC 5780");
		return -1;
	}
	if (rc != EXIT_OK) {
		test_failed(n, rc, step, (struct sockaddr *)&n->server, &ans);
		return -1;
	}
	if (!addr_equal((struct sockaddr *)&ans.from, expect)) {
		nat_fail(n, EXIT_NO5780, step, "the server answered CHANGE-REQUEST from "
		    "%s, not %s: it does not honour it",
		    addr_fmt((struct sockaddr *)&ans.from, got, sizeof(got)),
		    addr_fmt(expect, want, sizeof(want)));
		return -1;
	}
	return 1;
}

/*
 * Filtering (RFC 5780 section 4.4), from a fresh socket so that the
 * mapping tests (which sent to the other IP) opened nothing: test I to the
 * primary address, then ask for the answer from the other IP and port,
 * then from the other port alone.
 */
static void
test_filtering(struct nat *n)
{
	struct sockaddr_storage bound, pio = primary_ip_other_port(n);
	struct answer ans;
	int fd, rc;

	if ((fd = nat_socket(&n->local, &bound)) < 0) {
		nat_fail(n, EXIT_NETWORK, "filtering test I", "socket: %s", strerror(errno));
		return;
	}
	rc = binding(n, fd, (struct sockaddr *)&n->server, 0, &sched_rfc, &ans);
	if (rc != EXIT_OK) {
		test_failed(n, rc, "filtering test I", (struct sockaddr *)&n->server, &ans);
		close(fd);
		return;
	}
	rc = change_test(n, fd, CHANGE_IP | CHANGE_PORT, (struct sockaddr *)&n->other,
	    "filtering test II");
	if (rc == 1)
		n->filtering = B_EI;
	else if (rc == 0) {
		rc = change_test(n, fd, CHANGE_PORT, (struct sockaddr *)&pio,
		    "filtering test III");
		if (rc >= 0)
			n->filtering = rc == 1 ? B_AD : B_APD;
	}
	close(fd);
}

/*
 * Hairpinning (RFC 5780 section 4.5): a Binding request from a second
 * socket to the mapped address of the first; if the first receives it,
 * the NAT hairpins. Without a NAT there is nothing to test.
 */
static void
test_hairpinning(struct nat *n, int fd)
{
	uint8_t req[64], buf[2048], txid16[STUN_TXID16_LEN];
	struct sockaddr_storage bound;
	struct stun_msg m;
	double start = now_ms(), deadline;
	ssize_t len, k;
	int tx, rto = n->quick.rto_ms, wait, fd2;

	n->hairpin = -1;
	if (!n->nat)
		return;
	if ((fd2 = nat_socket(&n->local, &bound)) < 0 ||
	    (len = build_binding(req, sizeof(req), txid16, 0)) < 0) {
		if (fd2 >= 0)
			close(fd2);
		nat_fail(n, EXIT_NETWORK, "hairpinning", "socket: %s", strerror(errno));
		return;
	}
	n->hairpin = 0;
	for (tx = 0; tx < n->quick.rc && n->hairpin == 0; tx++, rto *= 2) {
		sendto(fd2, req, (size_t)len, 0, (struct sockaddr *)&n->mapped,
		    addr_len((struct sockaddr *)&n->mapped));
		deadline = sched_deadline(n->o, &n->quick, tx, rto, start, now_ms());
		for (;;) {
			struct pollfd pfd = { fd, POLLIN, 0 };
			if ((wait = (int)(deadline - now_ms())) <= 0 || poll(&pfd, 1, wait) <= 0)
				break;
			if ((k = recv(fd, buf, sizeof(buf), 0)) > 0 &&
			    stun_msg_parse(&m, buf, (size_t)k) == 0 &&
			    m.cls == STUN_REQUEST && m.method == STUN_BINDING &&
			    memcmp(m.txid16, txid16, STUN_TXID16_LEN) == 0) {
				n->hairpin = 1;
				break;
			}
		}
		if (n->o->timeout_ms > 0 && now_ms() >= start + n->o->timeout_ms)
			break;
	}
	close(fd2);
}

/* Put the findings into one sentence a person can act on. */
static void
make_verdict(struct nat *n)
{
	const char *m = behaviour_name(n->mapping), *f = behaviour_name(n->filtering);
	char *v = n->verdict;
	size_t cap = sizeof(n->verdict), len;

	if (!n->have_mapped)
		return;
	if (!n->have_other)
		snprintf(v, cap, n->nat ? "behind a NAT (the mapped address differs "
		    "from the local one); its type is unknown: the server does not "
		    "support RFC 5780" : "no NAT (the mapped address is the local "
		    "one); filtering is unknown: the server does not support RFC 5780");
	else if (!n->nat && n->filtering == B_EI)
		snprintf(v, cap, "no NAT: the server sees this host's own address, and "
		    "incoming traffic is not filtered (open internet); peers can connect "
		    "directly");
	else if (!n->nat && n->filtering == B_AD)
		snprintf(v, cap, "no NAT, but a firewall lets in only traffic from "
		    "addresses this host has sent to (address-dependent filtering); "
		    "direct connections work when both peers send first, as ICE does");
	else if (!n->nat && n->filtering == B_APD)
		snprintf(v, cap, "no NAT, but a firewall lets in only traffic from the "
		    "addresses and ports this host has sent to (address-and-port-dependent "
		    "filtering); direct connections to peers behind symmetric NATs will "
		    "fail; use TURN");
	else if (!n->nat)
		snprintf(v, cap, "no NAT (filtering unknown)");
	else if (n->mapping == B_EI && n->filtering == B_EI)
		snprintf(v, cap, "NAT: full cone (%s mapping, %s filtering); peers can "
		    "reach this host directly once they know its mapped address", m, f);
	else if (n->mapping == B_EI && n->filtering == B_AD)
		snprintf(v, cap, "NAT: restricted cone (%s mapping, %s filtering); direct "
		    "connections work with most peers, including those behind "
		    "symmetric NATs", m, f);
	else if (n->mapping == B_EI && n->filtering == B_APD)
		snprintf(v, cap, "NAT: port-restricted cone (%s mapping, %s filtering); "
		    "direct connections to peers behind symmetric NATs will fail; "
		    "use TURN", m, f);
	else if (n->mapping == B_EI)
		snprintf(v, cap, "NAT with %s mapping (a cone NAT), filtering unknown; "
		    "direct connections work with most peers", m);
	else if (n->mapping != B_UNKNOWN)
		snprintf(v, cap, "NAT: symmetric (%s mapping, %s filtering); direct "
		    "connections to peers behind port-restricted cone or symmetric NATs "
		    "will fail; use TURN", m, f != NULL ? f : "unknown");
	else
		snprintf(v, cap, "NAT of unknown type (the mapping tests failed)");
	len = strlen(v);
	if (n->hairpin == 0 && len < cap)
		snprintf(v + len, cap - len, "; no hairpinning: hosts behind this NAT "
		    "cannot reach each other at their mapped addresses");
}

/* Text: the findings, the failure if any, and the verdict last. */
static void
nat_report_text(const struct nat *n)
{
	char a[ADDR_STRLEN], b[ADDR_STRLEN];
	const char *m = behaviour_name(n->mapping), *f = behaviour_name(n->filtering);

	if (n->have_mapped)
		printf("mapped address: %s\n", addr_fmt((const struct sockaddr *)&n->mapped,
		    a, sizeof(a)));
	if (n->have_local)
		printf("local address: %s\n", addr_fmt((const struct sockaddr *)&n->local,
		    a, sizeof(a)));
	if (n->server.ss_family != AF_UNSPEC && n->have_mapped)
		printf("server: %s (udp), other address: %s\n",
		    addr_fmt((const struct sockaddr *)&n->server, a, sizeof(a)),
		    n->have_other ? addr_fmt((const struct sockaddr *)&n->other, b,
		    sizeof(b)) : "(none)");
	else if (n->server.ss_family != AF_UNSPEC)
		printf("server: %s (udp)\n", addr_fmt((const struct sockaddr *)&n->server,
		    a, sizeof(a)));
	if (n->have_other) {
		printf("mapping: %s\n", m != NULL ? m : "unknown");
		printf("filtering: %s\n", f != NULL ? f : "unknown");
		printf("hairpinning: %s\n", n->hairpin == 1 ? "yes" : n->hairpin == 0 ?
		    "no" : n->nat ? "unknown" : "not applicable (no NAT)");
	}
	if (n->note[0] != '\0')
		printf("note: %s\n", n->note);
	if (n->rc == EXIT_ERRRESP || (n->rc == EXIT_NO5780 && n->err_code != 0))
		printf("error response to %s: %d %s: %s\n", n->step, n->err_code,
		    n->err_reason, n->cause);
	else if (n->rc == EXIT_TIMEOUT)
		printf("timeout: %s: %s\n", n->step, n->cause);
	else if (n->rc == EXIT_NO5780)
		printf("%s\n", n->cause);
	else if (n->rc != EXIT_OK && strncmp(n->cause, n->step, strlen(n->step)) == 0)
		printf("error: %s\n", n->cause);
	else if (n->rc != EXIT_OK)
		printf("error: %s: %s\n", n->step, n->cause);
	if (n->verdict[0] != '\0')
		printf("%s\n", n->verdict);
}

/* JSON: one object, every member present (null when unknown). */
static void
nat_report_json(const struct nat *n)
{
	printf("{\"test\": \"nat\", \"transport\": \"udp\", \"status\": \"%s\", "
	    "\"server\": ", status_name(n->rc));
	json_addr(&n->server, n->server.ss_family != AF_UNSPEC);
	printf(", \"local\": ");
	json_addr(&n->local, n->have_local);
	printf(", \"mapped\": ");
	json_addr(&n->mapped, n->have_mapped);
	printf(", \"other_address\": ");
	json_addr(&n->other, n->have_other);
	printf(", \"nat\": %s, \"mapping\": ", !n->have_mapped ? "null" :
	    n->nat ? "true" : "false");
	json_str_or_null(behaviour_name(n->mapping));
	printf(", \"filtering\": ");
	json_str_or_null(behaviour_name(n->filtering));
	printf(", \"hairpinning\": %s, \"verdict\": ", n->hairpin == 1 ? "true" :
	    n->hairpin == 0 ? "false" : "null");
	json_str_or_null(n->verdict);
	printf(", \"step\": ");
	json_str_or_null(n->rc != EXIT_OK ? n->step : NULL);
	printf(", \"error_code\": ");
	if (n->err_code != 0)
		printf("%d", n->err_code);
	else
		printf("null");
	printf(", \"error_reason\": ");
	json_str_or_null(n->err_code != 0 ? n->err_reason : NULL);
	printf(", \"cause\": ");
	json_str_or_null(n->rc != EXIT_OK ? n->cause : NULL);
	printf(", \"note\": ");
	json_str_or_null(n->note);
	printf("}\n");
}

static int
nat_main(const struct opts *o)
{
	struct sockaddr_storage conn_local;
	struct nat n;
	char err[256] = "";
	int fd;

	memset(&n, 0, sizeof(n));
	n.o = o;
	n.hairpin = -1;
	/* A connected socket finds the server and the local IP towards it. */
	if ((fd = client_connect(o, SOCK_DGRAM, &n.server, &conn_local, err,
	    sizeof(err))) < 0)
		nat_fail(&n, EXIT_NETWORK, "connect", "%s", err);
	else {
		close(fd);
		if ((fd = nat_socket(&conn_local, &n.local)) < 0)
			nat_fail(&n, EXIT_NETWORK, "socket", "socket: %s", strerror(errno));
		else {
			n.have_local = true;
			if (test_one(&n, fd)) {
				test_mapping(&n, fd);
				test_filtering(&n);
				test_hairpinning(&n, fd);
			}
			close(fd);
		}
	}
	make_verdict(&n);
	if (o->json)
		nat_report_json(&n);
	else
		nat_report_text(&n);
	return n.rc;
}

/* ======================================================================
 * main
 * ====================================================================== */

int
main(int argc, char **argv)
{
	uint8_t req[64], txid16[STUN_TXID16_LEN];
	struct result r;
	struct opts o;
	char err[256] = "";
	ssize_t reqlen;
	SSL *ssl = NULL;
	int fd, rc;

	opts_parse(&o, argc, argv);
	signal(SIGPIPE, SIG_IGN);	/* OpenSSL writes with write(2): a reset is an error, not a kill */
	if (o.mode == MODE_TURN)
		return turn_main(&o);
	if (o.mode == MODE_NAT)
		return nat_main(&o);
	memset(&r, 0, sizeof(r));
	if ((fd = client_connect(&o, o.tcp ? SOCK_STREAM : SOCK_DGRAM, &r.server,
	    &r.local, err, sizeof(err))) < 0) {
		report(&o, &r, EXIT_NETWORK, err);
		return EXIT_NETWORK;
	}
	if ((reqlen = build_request(&o, req, sizeof(req), txid16)) < 0) {
		close(fd);
		return EXIT_NETWORK;
	}
	if (o.tls && (rc = tls_open(fd, &o, now_ms() + (o.timeout_ms > 0 ? o.timeout_ms : TI_MS),
	    &ssl, err, sizeof(err))) != EXIT_OK) {
		close(fd);
		report(&o, &r, rc, err);
		return rc;
	}
	if (ssl != NULL) {
		snprintf(r.tls_version, sizeof(r.tls_version), "%s", SSL_get_version(ssl));
		snprintf(r.tls_cipher, sizeof(r.tls_cipher), "%s", SSL_get_cipher_name(ssl));
	}
	if (o.tcp)
		rc = transact_tcp(fd, ssl, &o, req, (size_t)reqlen, txid16, &r);
	else
		rc = transact_udp(fd, &o, req, (size_t)reqlen, txid16, &r);
	if (ssl != NULL) {
		(void)SSL_shutdown(ssl);	/* our close_notify; no wait for theirs */
		SSL_free(ssl);
	}
	close(fd);
	if (rc == EXIT_NETWORK && err[0] == '\0')
		snprintf(err, sizeof(err), "connection failed or reply malformed");
	report(&o, &r, rc, err);
	return rc;
}
