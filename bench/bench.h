/* bench.h: small helpers shared by the load generator and the forwarder (header-only, static). */
#ifndef MINIRTC_BENCH_H
#define MINIRTC_BENCH_H

#include <sys/socket.h>
#include <sys/uio.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT	103
#endif
#define GSO_MAX_SEGS	64	/* UDP_MAX_SEGMENTS in the kernel */
#define GSO_MAX_BYTES	65000

/* Monotonic nanoseconds. */
static inline uint64_t
bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* "IP:PORT" or "IP" (port 0) into an IPv4 sockaddr; 0 or -1. */
static inline int
bench_parse_addr(const char *s, struct sockaddr_in *sin)
{
	char ip[64];
	const char *colon = strrchr(s, ':');
	size_t n = colon != NULL ? (size_t)(colon - s) : strlen(s);

	if (n >= sizeof(ip))
		return -1;
	memcpy(ip, s, n);
	ip[n] = '\0';
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	if (inet_pton(AF_INET, ip, &sin->sin_addr) != 1)
		return -1;
	if (colon != NULL) {
		char *end;
		long p = strtol(colon + 1, &end, 10);
		if (*end != '\0' || p < 0 || p > 65535)
			return -1;
		sin->sin_port = htons((uint16_t)p);
	}
	return 0;
}

/* Socket buffers as large as root may force (falls back to the capped call). */
static inline void
bench_bufs(int fd, int bytes)
{
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof(bytes)) != 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &bytes, sizeof(bytes)) != 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof(bytes));
}

/*
 * Send n datagrams, all to one destination, with UDP GSO: runs of equal
 * size go out as one sendmsg with a UDP_SEGMENT cmsg and the payloads
 * gathered from their own buffers (no copy). Returns datagrams sent.
 */
static inline unsigned
bench_send_gso(int fd, const struct sockaddr *to, socklen_t tolen, struct iovec *iov,
    unsigned n)
{
	char ctl[CMSG_SPACE(sizeof(uint16_t))];
	unsigned i = 0, sent = 0;

	while (i < n) {
		size_t seg = iov[i].iov_len, total = 0;
		unsigned k = 0;
		struct msghdr mh;
		ssize_t rc;

		while (i + k < n && k < GSO_MAX_SEGS && iov[i + k].iov_len == seg &&
		    total + seg <= GSO_MAX_BYTES) {
			total += seg;
			k++;
		}
		if (k == 0)		/* one datagram larger than a GSO send: alone */
			k = 1;
		memset(&mh, 0, sizeof(mh));
		mh.msg_name = (void *)to;
		mh.msg_namelen = tolen;
		mh.msg_iov = iov + i;
		mh.msg_iovlen = k;
		if (k > 1) {
			struct cmsghdr *c;
			uint16_t gso = (uint16_t)seg;
			memset(ctl, 0, sizeof(ctl));
			mh.msg_control = ctl;
			mh.msg_controllen = sizeof(ctl);
			c = CMSG_FIRSTHDR(&mh);
			c->cmsg_level = SOL_UDP;
			c->cmsg_type = UDP_SEGMENT;
			c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
			memcpy(CMSG_DATA(c), &gso, sizeof(gso));
		}
		rc = sendmsg(fd, &mh, MSG_DONTWAIT);
		if (rc >= 0)
			sent += k;
		i += k;
	}
	return sent;
}

/* Raise RLIMIT_NOFILE to the hard limit (for thousands of sockets). */
#include <sys/resource.h>
static inline void
bench_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

#endif
