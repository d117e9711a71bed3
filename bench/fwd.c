/*
 * fwd.c: the ceiling for the benchmark: what the kernel's UDP path allows
 * a user-space relay, with no protocol work at all.
 *
 *   fwd echo  --listen IP:PORT
 *	one socket; recvmmsg, then sendmmsg of the same datagrams back to
 *	their senders (the ceiling for STUN Binding).
 *
 *   fwd relay --ip IP --base PORT --pairs N [--gso]
 *	N socket pairs, one per "allocation": A_i = IP:BASE+i faces the
 *	client, B_i = IP:BASE+N+i faces the peer. Each socket remembers the
 *	last address that sent to it; what A_i receives goes out of B_i to
 *	B_i's sender (the peer, which says hello first), and what B_i receives
 *	goes out of A_i to A_i's sender (the client). recvmmsg per socket,
 *	sendmmsg per batch, or with --gso one sendmsg with UDP_SEGMENT per run
 *	of equal-sized datagrams (all of a batch go to one destination).
 *
 * Common: --batch B (32, as turnd), --turns T (8, as turnd), --lifetime S
 * (exit after S seconds whatever happens; default 600), --rcvbuf BYTES.
 * Prints "READY" on stdout once bound; counters on stderr at exit.
 * Linux only; IPv4 only.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sys/epoll.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

#define SLOT		4096
#define MAX_BATCH	256

static volatile sig_atomic_t stop;

struct fwd {
	int			 nfd;
	int			*fd;
	struct sockaddr_in	*learned;	/* last sender of each socket */
	uint8_t			*learned_ok;
	int			 pairs;		/* 0: echo */
	int			 gso;
	unsigned		 batch;
	unsigned		 turns;
	uint8_t			*buf;
	struct sockaddr_in	 from[MAX_BATCH];
	struct iovec		 iov[MAX_BATCH];
	struct mmsghdr		 msg[MAX_BATCH];
	struct mmsghdr		 out[MAX_BATCH];
	uint64_t		 rx, tx, txerr, nodest, wakeups, recvcalls, sendcalls;
};

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: fwd echo --listen IP:PORT [common]\n"
	    "       fwd relay --ip IP --base PORT --pairs N [--gso] [common]\n"
	    "common: --batch B (32) --turns T (8) --lifetime S (600) --rcvbuf BYTES\n");
	exit(64);
}

static int
open_udp(const struct sockaddr_in *sin, int rcvbuf)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		perror("socket");
		exit(1);
	}
	if (rcvbuf > 0)
		bench_bufs(fd, rcvbuf);
	if (bind(fd, (const struct sockaddr *)sin, sizeof(*sin)) != 0) {
		char ip[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip));
		fprintf(stderr, "fwd: bind %s:%u: %s\n", ip, ntohs(sin->sin_port),
		    strerror(errno));
		exit(1);
	}
	return fd;
}


/* Send the n prepared datagrams in f->out with sendmmsg; failures are counted, not retried. */
static void
send_out(struct fwd *f, int fd, unsigned n)
{
	unsigned done = 0;
	int rc;

	while (done < n) {
		f->sendcalls++;
		rc = sendmmsg(fd, f->out + done, n - done, MSG_DONTWAIT);
		if (rc <= 0) {
			f->txerr += n - done;
			return;
		}
		f->tx += (unsigned)rc;
		done += (unsigned)rc;
	}
}

/* Send n received datagrams (iov[0..n)) to one address: sendmmsg, or GSO runs. */
static void
send_to_one(struct fwd *f, int fd, const struct sockaddr_in *to, unsigned n)
{
	unsigned i;

	if (f->gso) {
		f->sendcalls++;
		f->tx += bench_send_gso(fd, (const struct sockaddr *)to, sizeof(*to), f->iov, n);
		return;
	}
	for (i = 0; i < n; i++) {
		memset(&f->out[i].msg_hdr, 0, sizeof(f->out[i].msg_hdr));
		f->out[i].msg_hdr.msg_name = (void *)to;
		f->out[i].msg_hdr.msg_namelen = sizeof(*to);
		f->out[i].msg_hdr.msg_iov = &f->iov[i];
		f->out[i].msg_hdr.msg_iovlen = 1;
	}
	send_out(f, fd, n);
}

/* Echo: each datagram back to its sender. */
static void
send_back(struct fwd *f, int fd, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		memset(&f->out[i].msg_hdr, 0, sizeof(f->out[i].msg_hdr));
		f->out[i].msg_hdr.msg_name = &f->from[i];
		f->out[i].msg_hdr.msg_namelen = f->msg[i].msg_hdr.msg_namelen;
		f->out[i].msg_hdr.msg_iov = &f->iov[i];
		f->out[i].msg_hdr.msg_iovlen = 1;
	}
	send_out(f, fd, n);
}

/* Socket idx is readable: a bounded number of batches. */
static void
on_readable(struct fwd *f, int idx)
{
	int fd = f->fd[idx], rc;
	unsigned turn, i;

	for (turn = 0; turn < f->turns; turn++) {
		for (i = 0; i < f->batch; i++) {
			f->iov[i].iov_base = f->buf + (size_t)i * SLOT;
			f->iov[i].iov_len = SLOT;
			memset(&f->msg[i].msg_hdr, 0, sizeof(f->msg[i].msg_hdr));
			f->msg[i].msg_hdr.msg_name = &f->from[i];
			f->msg[i].msg_hdr.msg_namelen = sizeof(f->from[i]);
			f->msg[i].msg_hdr.msg_iov = &f->iov[i];
			f->msg[i].msg_hdr.msg_iovlen = 1;
		}
		f->recvcalls++;
		rc = recvmmsg(fd, f->msg, f->batch, MSG_DONTWAIT, NULL);
		if (rc <= 0)
			return;
		f->rx += (unsigned)rc;
		for (i = 0; i < (unsigned)rc; i++)
			f->iov[i].iov_len = f->msg[i].msg_len;
		if (f->pairs == 0)
			send_back(f, fd, (unsigned)rc);
		else {
			int partner = idx < f->pairs ? idx + f->pairs : idx - f->pairs;
			f->learned[idx] = f->from[rc - 1];
			f->learned_ok[idx] = 1;
			if (f->learned_ok[partner])
				send_to_one(f, f->fd[partner], &f->learned[partner], (unsigned)rc);
			else
				f->nodest += (unsigned)rc;
		}
		if ((unsigned)rc < f->batch)
			return;
	}
}

int
main(int argc, char **argv)
{
	struct fwd f;
	struct sockaddr_in listen_addr, ip;
	struct epoll_event ev, evs[256];
	int base = 0, rcvbuf = 0, ep, i, have_listen = 0, have_ip = 0;
	double lifetime = 600;
	uint64_t deadline;
	const char *mode;

	memset(&f, 0, sizeof(f));
	f.batch = 32;
	f.turns = 8;
	if (argc < 2)
		usage();
	mode = argv[1];
	for (i = 2; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(o, "--gso") == 0) {
			f.gso = 1;
			continue;
		}
		if (v == NULL)
			usage();
		i++;
		if (strcmp(o, "--listen") == 0) {
			if (bench_parse_addr(v, &listen_addr) != 0)
				usage();
			have_listen = 1;
		} else if (strcmp(o, "--ip") == 0) {
			if (bench_parse_addr(v, &ip) != 0)
				usage();
			have_ip = 1;
		} else if (strcmp(o, "--base") == 0)
			base = atoi(v);
		else if (strcmp(o, "--pairs") == 0)
			f.pairs = atoi(v);
		else if (strcmp(o, "--batch") == 0)
			f.batch = (unsigned)atoi(v);
		else if (strcmp(o, "--turns") == 0)
			f.turns = (unsigned)atoi(v);
		else if (strcmp(o, "--lifetime") == 0)
			lifetime = atof(v);
		else if (strcmp(o, "--rcvbuf") == 0)
			rcvbuf = atoi(v);
		else
			usage();
	}
	if (f.batch < 1 || f.batch > MAX_BATCH || f.turns < 1 || lifetime <= 0)
		usage();
	bench_raise_nofile();
	if (strcmp(mode, "echo") == 0) {
		if (!have_listen)
			usage();
		f.pairs = 0;
		f.nfd = 1;
		f.fd = calloc(1, sizeof(int));
		f.fd[0] = open_udp(&listen_addr, rcvbuf);
	} else if (strcmp(mode, "relay") == 0) {
		if (!have_ip || base <= 0 || f.pairs < 1 || base + 2 * f.pairs > 65536)
			usage();
		f.nfd = 2 * f.pairs;
		f.fd = calloc((size_t)f.nfd, sizeof(int));
		for (i = 0; i < f.nfd; i++) {
			struct sockaddr_in sin = ip;
			sin.sin_port = htons((uint16_t)(base + i));
			f.fd[i] = open_udp(&sin, rcvbuf);
		}
	} else
		usage();
	f.learned = calloc((size_t)f.nfd, sizeof(*f.learned));
	f.learned_ok = calloc((size_t)f.nfd, 1);
	f.buf = calloc(MAX_BATCH, SLOT);
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0) {
		perror("epoll_create1");
		return 1;
	}
	for (i = 0; i < f.nfd; i++) {
		ev.events = EPOLLIN;
		ev.data.u32 = (uint32_t)i;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, f.fd[i], &ev) != 0) {
			perror("epoll_ctl");
			return 1;
		}
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	printf("READY %s sockets=%d gso=%d batch=%u\n", mode, f.nfd, f.gso, f.batch);
	fflush(stdout);
	deadline = bench_now_ns() + (uint64_t)(lifetime * 1e9);
	while (!stop && bench_now_ns() < deadline) {
		int n = epoll_wait(ep, evs, 256, 200);
		f.wakeups++;
		for (i = 0; i < n; i++)
			on_readable(&f, (int)evs[i].data.u32);
	}
	fprintf(stderr, "fwd: rx=%llu tx=%llu txerr=%llu nodest=%llu wakeups=%llu "
	    "recvcalls=%llu sendcalls=%llu\n", (unsigned long long)f.rx,
	    (unsigned long long)f.tx, (unsigned long long)f.txerr,
	    (unsigned long long)f.nodest, (unsigned long long)f.wakeups,
	    (unsigned long long)f.recvcalls, (unsigned long long)f.sendcalls);
	for (i = 0; i < f.nfd; i++)
		close(f.fd[i]);
	close(ep);
	free(f.fd);
	free(f.learned);
	free(f.learned_ok);
	free(f.buf);
	return 0;
}
