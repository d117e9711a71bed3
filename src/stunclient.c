/* stunclient.c: the bundled diagnostic client: a Binding test over UDP or TCP, text or JSON. */
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <netdb.h>
#include <netinet/in.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "stun.h"

/* Exit codes, documented in stunclient(1). */
#define EXIT_OK		0
#define EXIT_ERRRESP	1	/* the server answered with an error response */
#define EXIT_TIMEOUT	2	/* no answer in time */
#define EXIT_NETWORK	3	/* resolve, socket, connect or bad reply */
#define EXIT_USAGE	64

#define RTO_MS		500	/* RFC 8489 section 6.2.1 */
#define RC		7	/* transmissions over UDP */
#define RM		16	/* the last wait, in RTOs */

struct opts {
	int		 tcp;
	int		 family;
	int		 json;
	int		 classic;
	int		 timeout_ms;	/* 0: the RFC's own bound */
	const char	*host;
	const char	*port;
};

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
};

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: stunclient [--tcp] [-4|-6] [--json] [--classic] "
	    "[--timeout SECONDS] HOST [PORT]\n");
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

/* Parse the command line. */
static void
opts_parse(struct opts *o, int argc, char **argv)
{
	int i, pos = 0;
	char *end;

	memset(o, 0, sizeof(*o));
	o->family = AF_UNSPEC;
	o->port = "3478";
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--tcp") == 0)
			o->tcp = 1;
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
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
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
	if (o->host == NULL)
		usage();
}

/* Resolve the server and connect a socket to it. */
static int
client_connect(const struct opts *o, struct result *r, char *err, size_t errlen)
{
	struct addrinfo hints, *res, *ai;
	socklen_t len;
	int fd = -1, rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = o->family;
	hints.ai_socktype = o->tcp ? SOCK_STREAM : SOCK_DGRAM;
	if ((rc = getaddrinfo(o->host, o->port, &hints, &res)) != 0) {
		snprintf(err, errlen, "cannot resolve %s: %s", o->host, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((fd = socket(ai->ai_family, ai->ai_socktype, 0)) < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
			memcpy(&r->server, ai->ai_addr, ai->ai_addrlen);
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
	len = sizeof(r->local);
	getsockname(fd, (struct sockaddr *)&r->local, &len);
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

/* Read exactly n bytes from a stream before the deadline. */
static int
read_full(int fd, uint8_t *buf, size_t n, double deadline)
{
	size_t got = 0;
	ssize_t k;

	while (got < n) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		int wait = (int)(deadline - now_ms());
		if (wait <= 0 || poll(&pfd, 1, wait) <= 0)
			return EXIT_TIMEOUT;
		if ((k = recv(fd, buf + got, n - got, 0)) <= 0)
			return EXIT_NETWORK;
		got += (size_t)k;
	}
	return EXIT_OK;
}

/* TCP: one send; wait up to Ti (39.5 s, RFC 8489 section 6.2.2) for the framed answer. */
static int
transact_tcp(int fd, const struct opts *o, const uint8_t *req, size_t reqlen,
    const uint8_t *txid16, struct result *r)
{
	uint8_t buf[STUN_HDR_LEN + 4096];
	double sent_at = now_ms(), deadline;
	size_t body;
	int rc;

	deadline = sent_at + (o->timeout_ms > 0 ? o->timeout_ms : 39500);
	if (send(fd, req, reqlen, MSG_NOSIGNAL) != (ssize_t)reqlen)
		return EXIT_NETWORK;
	for (;;) {
		if ((rc = read_full(fd, buf, STUN_HDR_LEN, deadline)) != EXIT_OK)
			return rc;
		body = ((size_t)buf[2] << 8) | buf[3];
		if (body > sizeof(buf) - STUN_HDR_LEN)
			return EXIT_NETWORK;
		if ((rc = read_full(fd, buf + STUN_HDR_LEN, body, deadline)) != EXIT_OK)
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

/* Report in text or JSON. */
static void
report(const struct opts *o, const struct result *r, int rc, const char *err)
{
	char server[ADDR_STRLEN], local[ADDR_STRLEN], mapped[ADDR_STRLEN];
	static const char *status[] = { "ok", "error-response", "timeout", "network-error" };

	addr_fmt((const struct sockaddr *)&r->server, server, sizeof(server));
	addr_fmt((const struct sockaddr *)&r->local, local, sizeof(local));
	addr_fmt((const struct sockaddr *)&r->mapped, mapped, sizeof(mapped));
	if (o->json) {
		printf("{\"test\": \"binding\", \"transport\": \"%s\", \"status\": \"%s\", "
		    "\"server\": ", o->tcp ? "tcp" : "udp", status[rc]);
		json_str(server);
		printf(", \"local\": ");
		json_str(local);
		printf(", \"mapped\": ");
		r->have_mapped ? json_str(mapped) : (void)printf("null");
		printf(", \"software\": ");
		r->software[0] ? json_str(r->software) : (void)printf("null");
		if (rc == EXIT_OK || rc == EXIT_ERRRESP)
			printf(", \"rtt_ms\": %.3f", r->rtt_ms);
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
		printf("server: %s (%s)\n", server, o->tcp ? "tcp" : "udp");
		printf("software: %s\n", r->software[0] ? r->software : "(not sent)");
		printf("rtt: %.3f ms\n", r->rtt_ms);
	} else if (rc == EXIT_ERRRESP)
		printf("error response from %s: %d %s\n", server, r->err_code, r->err_reason);
	else if (rc == EXIT_TIMEOUT)
		printf("timeout: no answer from %s\n", server);
	else
		printf("error: %s\n", err[0] ? err : "network error");
}

int
main(int argc, char **argv)
{
	uint8_t req[64], txid16[STUN_TXID16_LEN];
	struct result r;
	struct opts o;
	char err[256] = "";
	ssize_t reqlen;
	int fd, rc;

	opts_parse(&o, argc, argv);
	memset(&r, 0, sizeof(r));
	if ((fd = client_connect(&o, &r, err, sizeof(err))) < 0) {
		report(&o, &r, EXIT_NETWORK, err);
		return EXIT_NETWORK;
	}
	if ((reqlen = build_request(&o, req, sizeof(req), txid16)) < 0) {
		close(fd);
		return EXIT_NETWORK;
	}
	if (o.tcp)
		rc = transact_tcp(fd, &o, req, (size_t)reqlen, txid16, &r);
	else
		rc = transact_udp(fd, &o, req, (size_t)reqlen, txid16, &r);
	close(fd);
	if (rc == EXIT_NETWORK && err[0] == '\0')
		snprintf(err, sizeof(err), "connection failed or reply malformed");
	report(&o, &r, rc, err);
	return rc;
}
