/* freeport.c: print a port that is free for UDP and TCP on 127.0.0.1, ::1 and the wildcards. */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define TRIES	50

/* Fill ss with ip:port; IPv6 when the text has a colon. */
static socklen_t
make_addr(struct sockaddr_storage *ss, const char *ip, unsigned port)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (strchr(ip, ':') != NULL) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		inet_pton(AF_INET6, ip, &sin6->sin6_addr);
		return sizeof(*sin6);
	}
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)port);
	inet_pton(AF_INET, ip, &sin->sin_addr);
	return sizeof(*sin);
}

/* Bind to ip:port without SO_REUSEADDR, so any other user makes it fail; fd or -1. */
static int
try_bind(const char *ip, int type, unsigned port)
{
	struct sockaddr_storage ss;
	socklen_t len = make_addr(&ss, ip, port);
	int fd, on = 1, err;

	if ((fd = socket(ss.ss_family, type | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	/* As turnd does: its IPv6 sockets do not take IPv4. */
	if (ss.ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) < 0)
		goto fail;
	if (bind(fd, (struct sockaddr *)&ss, len) < 0)
		goto fail;
	return fd;
fail:
	err = errno;
	close(fd);
	errno = err;
	return -1;
}

/* Let the kernel pick a port for TCP on 127.0.0.1; 0 on failure. */
static unsigned
pick_port(void)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	unsigned port = 0;
	int fd;

	if ((fd = try_bind("127.0.0.1", SOCK_STREAM, 0)) < 0)
		return 0;
	if (getsockname(fd, (struct sockaddr *)&sin, &len) == 0)
		port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

/* Is port free for both transports on every address turnd tests use? */
static int
port_free(unsigned port)
{
	static const char *ips[] = { "127.0.0.1", "::1", "0.0.0.0", "::" };
	static const int types[] = { SOCK_STREAM, SOCK_DGRAM };
	size_t i, k;
	int fd;

	for (i = 0; i < sizeof(ips) / sizeof(ips[0]); i++)
		for (k = 0; k < sizeof(types) / sizeof(types[0]); k++) {
			if ((fd = try_bind(ips[i], types[k], port)) < 0)
				return 0;
			close(fd);
		}
	return 1;
}

/* Print one free port, or fail with a reason after TRIES candidates. */
int
main(void)
{
	unsigned port;
	int tries, fd;

	/* Without IPv6 on loopback no port can ever pass: say so at once. */
	if ((fd = try_bind("::1", SOCK_DGRAM, 0)) < 0) {
		fprintf(stderr, "freeport: cannot bind [::1]: %s\n", strerror(errno));
		return 1;
	}
	close(fd);
	for (tries = 0; tries < TRIES; tries++) {
		if ((port = pick_port()) == 0) {
			fprintf(stderr, "freeport: cannot bind 127.0.0.1: %s\n",
			    strerror(errno));
			return 1;
		}
		if (port_free(port)) {
			printf("%u\n", port);
			return 0;
		}
	}
	fprintf(stderr, "freeport: no free port in %d tries\n", TRIES);
	return 1;
}
