/* sendraw.c: send hex bytes to a loopback server over UDP or TCP and print the reply as hex. */
#include <sys/socket.h>
#include <sys/types.h>
#include <netdb.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Exit codes; the regression scripts rely on them. */
#define EXIT_REPLY	0	/* a reply was printed */
#define EXIT_NOREPLY	1	/* nothing came back in time */
#define EXIT_CLOSED	2	/* TCP: the server closed the connection */
#define EXIT_ERROR	3	/* bad address, socket or connect error */
#define EXIT_USAGE	64

#define MAX_BYTES	(65536 + 64)
#define DEF_TIMEOUT	1000

/* Print the usage line and exit. */
static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: sendraw [--tcp] HOST PORT HEX [TIMEOUT_MS]\n");
	exit(EXIT_USAGE);
}

/* Milliseconds on the monotonic clock. */
static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The value of one hex digit, or -1. */
static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode hex (blanks allowed between bytes) into buf; the length, or -1. */
static long
hex_decode(const char *s, unsigned char *buf, size_t cap)
{
	size_t n = 0;
	int hi, lo;

	while (*s != '\0') {
		if (*s == ' ' || *s == '\t' || *s == '\n') {
			s++;
			continue;
		}
		if ((hi = hexval((unsigned char)s[0])) < 0 ||
		    (lo = hexval((unsigned char)s[1])) < 0 || n == cap)
			return -1;
		buf[n++] = (unsigned char)(hi << 4 | lo);
		s += 2;
	}
	return (long)n;
}

/* Print bytes as lowercase hex on one line. */
static void
hex_print(const unsigned char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		printf("%02x", buf[i]);
	printf("\n");
}

/* Wait until fd is readable or the deadline passes; 1 when readable. */
static int
wait_readable(int fd, long long deadline)
{
	struct pollfd pfd;
	long long left;
	int rc;

	for (;;) {
		left = deadline - now_ms();
		if (left < 0)
			left = 0;
		pfd.fd = fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		rc = poll(&pfd, 1, (int)left);
		if (rc < 0 && errno == EINTR)
			continue;
		return rc > 0;
	}
}

/* Resolve a numeric host and port and connect a socket of this type. */
static int
open_conn(const char *host, const char *port, int type)
{
	struct addrinfo hints, *res;
	int fd, rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = type;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		fprintf(stderr, "sendraw: %s: %s\n", host, gai_strerror(rc));
		return -1;
	}
	if ((fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, 0)) < 0 ||
	    connect(fd, res->ai_addr, res->ai_addrlen) != 0) {
		fprintf(stderr, "sendraw: connect %s %s: %s\n", host, port,
		    strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

/* UDP: one datagram out, the first datagram back. */
static int
run_udp(int fd, const unsigned char *msg, size_t len, long long deadline)
{
	static unsigned char buf[MAX_BYTES];
	ssize_t n;

	if (send(fd, msg, len, 0) != (ssize_t)len) {
		fprintf(stderr, "sendraw: send: %s\n", strerror(errno));
		return EXIT_ERROR;
	}
	while (wait_readable(fd, deadline)) {
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)	/* ECONNREFUSED: nobody listens, so no reply */
			return EXIT_NOREPLY;
		hex_print(buf, (size_t)n);
		return EXIT_REPLY;
	}
	return EXIT_NOREPLY;
}

/* The length of the STUN or ChannelData frame at the head of buf; 0 if unknown yet. */
static size_t
frame_len(const unsigned char *buf, size_t got)
{
	size_t len;

	if (got < 4)
		return 0;
	len = (size_t)buf[2] << 8 | buf[3];
	if ((buf[0] & 0xc0) == 0)
		return 20 + len;
	if ((buf[0] & 0xc0) == 0x40)
		return 4 + ((len + 3) & ~(size_t)3);
	return 0;
}

/* TCP: write the bytes, read until one whole frame, the deadline, or the end. */
static int
run_tcp(int fd, const unsigned char *msg, size_t len, long long deadline)
{
	static unsigned char buf[MAX_BYTES];
	size_t got = 0, off = 0, want;
	ssize_t n;
	int closed = 0;

	while (off < len) {
		n = send(fd, msg + off, len - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			if (errno == EPIPE || errno == ECONNRESET)
				return EXIT_CLOSED;
			fprintf(stderr, "sendraw: send: %s\n", strerror(errno));
			return EXIT_ERROR;
		}
		off += (size_t)n;
	}
	while (got < sizeof(buf) && wait_readable(fd, deadline)) {
		n = recv(fd, buf + got, sizeof(buf) - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			closed = 1;	/* EOF or reset: the server closed it */
			break;
		}
		got += (size_t)n;
		if ((want = frame_len(buf, got)) != 0 && got >= want)
			break;
	}
	if (got > 0)
		hex_print(buf, got);
	if (closed)
		return EXIT_CLOSED;
	return got > 0 ? EXIT_REPLY : EXIT_NOREPLY;
}

/* Parse the command line, send, print the reply; the exit code tells what happened. */
int
main(int argc, char **argv)
{
	static unsigned char msg[MAX_BYTES];
	long timeout = DEF_TIMEOUT, len;
	int tcp = 0, fd, rc;
	char *end;

	if (argc > 1 && strcmp(argv[1], "--tcp") == 0) {
		tcp = 1;
		argc--;
		argv++;
	}
	if (argc != 4 && argc != 5)
		usage();
	if (argc == 5) {
		errno = 0;
		timeout = strtol(argv[4], &end, 10);
		if (argv[4][0] == '\0' || *end != '\0' || errno != 0 ||
		    timeout < 0 || timeout > 3600000)
			usage();
	}
	if ((len = hex_decode(argv[3], msg, sizeof(msg))) < 0) {
		fprintf(stderr, "sendraw: bad hex\n");
		return EXIT_USAGE;
	}
	if ((fd = open_conn(argv[1], argv[2], tcp ? SOCK_STREAM : SOCK_DGRAM)) < 0)
		return EXIT_ERROR;
	fflush(stdout);
	if (tcp)
		rc = run_tcp(fd, msg, (size_t)len, now_ms() + timeout);
	else
		rc = run_udp(fd, msg, (size_t)len, now_ms() + timeout);
	close(fd);
	return rc;
}
