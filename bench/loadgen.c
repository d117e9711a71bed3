/*
 * loadgen.c: the benchmark's load generator: STUN Binding, authenticated
 * Allocates, and relayed traffic through a TURN server (or through the
 * forwarder in bench/fwd.c, or direct over loopback), with packet counts,
 * loss, round-trip times and the server's CPU time over the measured
 * window. One thread, epoll; every phase ends by itself (time and count).
 *
 *   loadgen binding --server IP:PORT [--sockets 64]
 *   loadgen alloc   --server IP:PORT --user U --pass P [--sockets 32]
 *   loadgen relay   --server IP:PORT --user U --pass P --allocs N --kind chan|send --size B
 *   loadgen hold    --server IP:PORT --user U --pass P --allocs N [--hold S]
 *   loadgen raw     --server IP:BASE --allocs N --size B     (fwd relay --base BASE --pairs N)
 *   loadgen direct  --allocs N --size B                      (client <-> peer, no server)
 *
 * Load: --window W (closed loop: at most W datagrams in flight, default 256)
 * or --rate PPS (open loop: datagrams per second offered by the clients).
 * Time: --warmup S (0.5), --duration S (3), then 0.3 s of drain.
 * --count N stops sending after N datagrams. --pid PID (repeatable): the
 * server whose CPU time (utime+stime, /proc/PID/stat) is read at the start
 * and the end of the measured window. --gso: the generator sends with
 * UDP_SEGMENT (its own cost only; servers see ordinary datagrams).
 * --no-echo: peers count and do not answer (one-way latency).
 * --peers K: K peer sockets shared by the allocations (default one each).
 * --bind A.B.0.0/16: clients take successive addresses of the range from a
 * random start, so no 5-tuple of an earlier run comes back (coturn keeps a
 * freed 5-tuple for a while and answers 437). --kpid: ksoftirqd of the
 * server's core, reported apart (ksirq_s).
 *
 * alloc: each client does 401 challenge, signed Allocate (REQUESTED-TRANSPORT
 * UDP, MD5 long-term key), Refresh LIFETIME 0, then starts over from a new
 * socket (a new client); Allocate successes in the window are counted.
 * relay: N allocations, each with a ChannelBind (chan) or CreatePermission
 * (send) towards its peer; the payload (>= 24 bytes) carries the flow, a
 * sequence number and a timestamp; peers echo it back through the relay, so
 * the round trip client -> relay -> peer -> relay -> client is timed, and
 * gaps in a flow's sequence count as lost. Allocations are freed at the end.
 *
 * Output: one line "RESULT key=value ..." on stdout (hold mode prints
 * "READY ..." once its allocations stand, then waits for SIGUSR1/SIGTERM
 * or --hold seconds, then frees them).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sys/epoll.h>
#include <sys/resource.h>
#include <dirent.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chandata.h"
#include "rbuf.h"
#include "stun.h"

#include "bench.h"

#define BATCH		64
#define SLOT		2048
#define PAY_MAGIC	0x424e4348u	/* "BNCH" */
#define PAY_HDR		24		/* magic, flow, seq, phase, ts */
#define HIST_US		200000		/* 1 us buckets up to 200 ms */
#define REQ_MAX		512
#define CHANNEL		0x4000
#define MAX_PIDS	8
#define MAX_CPUS	64
#define STUCK_NS	200000000ull	/* a flow silent this long lost what it had in flight */

enum mode { M_BINDING, M_ALLOC, M_RELAY, M_HOLD, M_RAW, M_DIRECT };
enum kind { K_CHAN, K_SEND, K_NONE };
enum phase { PH_WARM = 0, PH_MEAS = 1, PH_COOL = 2 };
enum st { S_IDLE, S_ALLOC0, S_ALLOC1, S_BIND, S_READY, S_FREE, S_DONE, S_FAILED };

struct opts {
	enum mode		 mode;
	enum kind		 kind;
	struct sockaddr_in	 server;
	int			 have_server;
	struct sockaddr_in	 bind_ip;	/* clients */
	struct sockaddr_in	 peer_ip;	/* peers */
	const char		*user, *pass;
	int			 nflows;
	int			 size;
	double			 rate;
	int			 window;
	double			 warmup, duration, drain, hold, setup_timeout;
	long long		 count;
	int			 gso;
	int			 echo;
	int			 concurrency;	/* control transactions in flight during setup */
	int			 npeers;	/* peer sockets (0: one per flow) */
	pid_t			 pids[MAX_PIDS];
	int			 npids;
	pid_t			 kpid;		/* ksoftirqd of the server's core */
	int			 verbose;
};

struct flow {
	int			 cfd, pfd;
	struct sockaddr_in	 caddr, paddr;	/* our client and peer addresses */
	struct sockaddr_in	 dst;		/* where the client sends */
	struct sockaddr_in	 relay;		/* relayed address (TURN) or B_i (raw) */
	enum st			 st;
	uint8_t			 txid[12];
	uint16_t		 method;	/* of the transaction in flight */
	uint8_t			 req[REQ_MAX];
	size_t			 reqlen;
	int			 tries;
	uint64_t		 deadline;
	char			 nonce[256];
	size_t			 noncelen;
	bool			 allocated;
	/* data plane */
	uint8_t			 hdr[64];
	size_t			 hdrlen, pktlen;
	uint64_t		 seq_next, rx_hi;	/* in flight: seq_next - rx_hi */
	uint64_t		 last_rx, last_tx;
};

struct counters {
	uint64_t tx, rx_up, rx_down, allocs, cycles, errors, timeouts, e401, e438, e437, eother;
};

struct snap {
	uint64_t		 srv_ticks_u, srv_ticks_s;
	uint64_t		 k_ticks_u, k_ticks_s;
	uint64_t		 other_ticks;	/* every other process, children reaped included */
	uint64_t		 cpu[MAX_CPUS][8];	/* user nice system idle iowait irq softirq steal */
	int			 ncpu;
	uint64_t		 udp_rcvbuf, udp_sndbuf, udp_inerr;
	double			 gen_cpu;
	uint64_t		 t;
};

static struct opts O;
static struct flow *F;
static int NF, EP;
static int *PEERFD;			/* the peer sockets; flow i uses PEERFD[i % NPEERS] */
static int NPEERS;
static uint64_t T0;			/* generator start: timestamps are relative to it */
static volatile sig_atomic_t stop_flag;
static struct counters C;		/* all time */
static struct counters W;		/* measured window */
static bool in_window;
static enum phase cur_phase = PH_WARM;
static uint64_t meas_tx, meas_delivered;	/* packets sent in the window, and those that came back */
static uint32_t *hist;
static uint64_t hist_n, hist_over, rtt_max_ns;
static uint64_t inflight_total;
static uint64_t stuck_lost, send_fail, gen_behind;
static int ctl_active;
static uint8_t KEY[16];
static size_t KEYLEN;
static char REALM[256];
static bool have_key;
static uint64_t rng = 0x9e3779b97f4a7c15ull;

/* Per-send scratch. */
static uint8_t TX[BATCH][SLOT];
static uint8_t RX[BATCH][SLOT];
static struct iovec TXIOV[BATCH], RXIOV[BATCH];
static struct mmsghdr TXMSG[BATCH], RXMSG[BATCH];
static struct sockaddr_in RXFROM[BATCH];

static void
on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "loadgen: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

static uint64_t
xrand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static uint64_t
now_ns(void)
{
	return bench_now_ns();
}

/* ---- measurement: /proc ---- */

static void
read_pid_ticks(pid_t pid, uint64_t *u, uint64_t *s)
{
	char path[64], buf[2048], *p;
	unsigned long long ut = 0, st = 0;
	FILE *fp;
	size_t n;
	int field;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((fp = fopen(path, "r")) == NULL)
		return;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	if ((p = strrchr(buf, ')')) == NULL)
		return;
	p += 2;		/* field 3 (state) starts here */
	for (field = 3; field < 14 && p != NULL; field++) {
		p = strchr(p, ' ');
		if (p != NULL)
			p++;
	}
	if (p == NULL || sscanf(p, "%llu %llu", &ut, &st) != 2)
		return;
	*u += ut;
	*s += st;
}

/*
 * CPU time of every process but us, the servers and the ksoftirqd threads:
 * utime+stime+cutime+cstime, so that children that exit and are reaped in
 * the window still count (through their parent). The noise of a run.
 */
static uint64_t
read_others(void)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	uint64_t sum = 0;
	pid_t self = getpid();

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		char path[64], buf[1024], *p;
		unsigned long long v[4];
		pid_t pid;
		FILE *fp;
		size_t n;
		int i, field, skip = 0;

		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		pid = (pid_t)atoi(de->d_name);
		if (pid == self || pid == O.kpid)
			continue;
		for (i = 0; i < O.npids; i++)
			skip |= pid == O.pids[i];
		if (skip)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
		if ((fp = fopen(path, "r")) == NULL)
			continue;
		n = fread(buf, 1, sizeof(buf) - 1, fp);
		fclose(fp);
		buf[n] = '\0';
		if (strstr(buf, "(ksoftirqd/") != NULL || (p = strrchr(buf, ')')) == NULL)
			continue;
		p += 2;
		for (field = 3; field < 14 && p != NULL; field++)
			if ((p = strchr(p, ' ')) != NULL)
				p++;
		if (p != NULL && sscanf(p, "%llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3]) == 4)
			sum += v[0] + v[1] + v[2] + v[3];
	}
	closedir(d);
	return sum;
}

static void
read_proc_stat(struct snap *sn)
{
	char line[512];
	FILE *fp = fopen("/proc/stat", "r");
	int i;

	sn->ncpu = 0;
	if (fp == NULL)
		return;
	while (fgets(line, sizeof(line), fp) != NULL) {
		unsigned long long v[8] = { 0 };
		int cpu;
		if (strncmp(line, "cpu", 3) != 0 || line[3] < '0' || line[3] > '9')
			continue;
		if (sscanf(line, "cpu%d %llu %llu %llu %llu %llu %llu %llu %llu", &cpu,
		    &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) < 8)
			continue;
		if (cpu < 0 || cpu >= MAX_CPUS)
			continue;
		for (i = 0; i < 8; i++)
			sn->cpu[cpu][i] = v[i];
		if (cpu + 1 > sn->ncpu)
			sn->ncpu = cpu + 1;
	}
	fclose(fp);
}

static void
read_snmp(struct snap *sn)
{
	char hdr[1024], val[1024];
	FILE *fp = fopen("/proc/net/snmp", "r");

	if (fp == NULL)
		return;
	while (fgets(hdr, sizeof(hdr), fp) != NULL) {
		char *hs, *vs, *h, *v;
		if (strncmp(hdr, "Udp: ", 5) != 0)
			continue;
		if (fgets(val, sizeof(val), fp) == NULL)
			break;
		h = strtok_r(hdr, " \n", &hs);
		v = strtok_r(val, " \n", &vs);
		while (h != NULL && v != NULL) {
			if (strcmp(h, "RcvbufErrors") == 0)
				sn->udp_rcvbuf = strtoull(v, NULL, 10);
			else if (strcmp(h, "SndbufErrors") == 0)
				sn->udp_sndbuf = strtoull(v, NULL, 10);
			else if (strcmp(h, "InErrors") == 0)
				sn->udp_inerr = strtoull(v, NULL, 10);
			h = strtok_r(NULL, " \n", &hs);
			v = strtok_r(NULL, " \n", &vs);
		}
		break;
	}
	fclose(fp);
}

static void
take_snap(struct snap *sn)
{
	struct rusage ru;
	int i;

	memset(sn, 0, sizeof(*sn));
	sn->other_ticks = read_others();
	sn->t = now_ns();
	for (i = 0; i < O.npids; i++)
		read_pid_ticks(O.pids[i], &sn->srv_ticks_u, &sn->srv_ticks_s);
	if (O.kpid > 0)
		read_pid_ticks(O.kpid, &sn->k_ticks_u, &sn->k_ticks_s);
	read_proc_stat(sn);
	read_snmp(sn);
	getrusage(RUSAGE_SELF, &ru);
	sn->gen_cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* ---- latency histogram ---- */

static void
hist_add(uint64_t ns)
{
	uint64_t us = ns / 1000;

	if (ns > rtt_max_ns)
		rtt_max_ns = ns;
	hist_n++;
	if (us >= HIST_US)
		hist_over++;
	else
		hist[us]++;
}

static double
hist_pct(double q)
{
	uint64_t want = (uint64_t)(q * (double)hist_n), acc = 0;
	unsigned i;

	if (hist_n == 0)
		return -1;
	if (want >= hist_n)
		want = hist_n - 1;
	for (i = 0; i < HIST_US; i++) {
		acc += hist[i];
		if (acc > want)
			return i + 0.5;
	}
	return HIST_US;
}

/* ---- sockets ---- */

static int
udp_socket(const struct sockaddr_in *bind_to, struct sockaddr_in *bound)
{
	socklen_t len = sizeof(*bound);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		die("socket: %s", strerror(errno));
	bench_bufs(fd, 4 << 20);
	if (bind(fd, (const struct sockaddr *)bind_to, sizeof(*bind_to)) != 0)
		die("bind: %s", strerror(errno));
	if (getsockname(fd, (struct sockaddr *)bound, &len) != 0)
		die("getsockname: %s", strerror(errno));
	return fd;
}

static void
ep_add(int fd, uint64_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = tag };

	if (epoll_ctl(EP, EPOLL_CTL_ADD, fd, &ev) != 0)
		die("epoll_ctl: %s", strerror(errno));
}

/*
 * The next client address: with --bind A.B.0.0/16 (or any prefix), clients
 * take successive addresses of the range from a random start, so that no
 * 5-tuple of an earlier run or cycle comes back while a server may still
 * remember it (coturn answers 437 to a 5-tuple it has just freed).
 */
static uint32_t client_next, client_span = 1;

static struct sockaddr_in
client_addr(void)
{
	struct sockaddr_in sin = O.bind_ip;
	uint32_t base = ntohl(O.bind_ip.sin_addr.s_addr) & ~(client_span - 1), host;

	do {
		host = client_span > 1 ? client_next++ % client_span : 0;
	} while (client_span > 1 && ((host & 0xff) == 0 || (host & 0xff) == 0xff));
	sin.sin_addr.s_addr = htonl(base + host);
	return sin;
}

/* Give a flow a new client socket (a new 5-tuple). */
static void
flow_reopen(int idx)
{
	struct flow *f = &F[idx];
	struct sockaddr_in sin = client_addr();

	epoll_ctl(EP, EPOLL_CTL_DEL, f->cfd, NULL);
	close(f->cfd);
	f->cfd = udp_socket(&sin, &f->caddr);
	ep_add(f->cfd, (uint64_t)idx << 1);
	f->allocated = false;
}

/* ---- control plane: Allocate, Refresh, ChannelBind, CreatePermission ---- */

static bool
needs_server(void)
{
	return O.mode == M_BINDING || O.mode == M_ALLOC || O.mode == M_RELAY ||
	    O.mode == M_HOLD || O.mode == M_RAW;
}

static bool
is_turn(void)
{
	return O.mode == M_ALLOC || O.mode == M_RELAY || O.mode == M_HOLD;
}

/* Build a request for the flow into f->req; authed adds the long-term credential. */
static void
build_req(struct flow *f, uint16_t method, bool authed)
{
	uint8_t txid16[16];
	struct wbuf w;
	uint64_t r1 = xrand(), r2 = xrand();
	ssize_t n;

	txid16[0] = 0x21; txid16[1] = 0x12; txid16[2] = 0xa4; txid16[3] = 0x42;
	memcpy(txid16 + 4, &r1, 8);
	memcpy(txid16 + 12, &r2, 4);
	memcpy(f->txid, txid16 + 4, 12);
	wbuf_init(&w, f->req, sizeof(f->req));
	stun_build_init(&w, method, STUN_REQUEST, txid16);
	switch (method) {
	case TURN_ALLOCATE:
		stun_put_u32(&w, STUN_A_REQUESTED_TRANSPORT, 17u << 24);
		break;
	case TURN_REFRESH:
		stun_put_u32(&w, STUN_A_LIFETIME, 0);
		break;
	case TURN_CHANNEL_BIND:
		stun_put_u32(&w, STUN_A_CHANNEL_NUMBER, (uint32_t)CHANNEL << 16);
		stun_put_xaddr(&w, STUN_A_XOR_PEER_ADDRESS, (struct sockaddr *)&f->paddr);
		break;
	case TURN_CREATE_PERMISSION:
		stun_put_xaddr(&w, STUN_A_XOR_PEER_ADDRESS, (struct sockaddr *)&f->paddr);
		break;
	}
	if (authed) {
		stun_put(&w, STUN_A_USERNAME, O.user, strlen(O.user));
		stun_put(&w, STUN_A_REALM, REALM, strlen(REALM));
		stun_put(&w, STUN_A_NONCE, f->nonce, f->noncelen);
		stun_put_integrity(&w, KEY, KEYLEN);
	}
	stun_put_fingerprint(&w);
	if ((n = stun_build_end(&w)) < 0 || w.overflow)
		die("request does not fit");
	f->reqlen = (size_t)n;
	f->method = method;
}

static void
ctl_send(struct flow *f, uint64_t now)
{
	sendto(f->cfd, f->req, f->reqlen, MSG_DONTWAIT, (struct sockaddr *)&f->dst,
	    sizeof(f->dst));
	f->deadline = now + (200000000ull << (f->tries < 3 ? f->tries : 3));
}

static void
ctl_start(struct flow *f, uint16_t method, bool authed, enum st st, uint64_t now)
{
	build_req(f, method, authed);
	f->st = st;
	f->tries = 0;
	ctl_send(f, now);
}

/* A flow's control transaction ended (success or give-up). */
static void
ctl_idle(struct flow *f, enum st st)
{
	f->st = st;
	f->deadline = 0;
	if (ctl_active > 0)
		ctl_active--;
}

/* Is the generator still running cycles (alloc mode)? */
static bool cycling;

static void
on_ctl_response(struct flow *f, const uint8_t *p, size_t len, uint64_t now)
{
	struct stun_msg m;
	const struct stun_attr *a;

	if (stun_msg_parse(&m, p, len) != 0 || m.classic)
		return;
	if ((m.cls != STUN_SUCCESS && m.cls != STUN_ERROR) ||
	    memcmp(m.txid16 + 4, f->txid, 12) != 0 || m.method != f->method)
		return;		/* a late answer to an earlier try */
	if (m.cls == STUN_ERROR) {
		const char *reason;
		size_t rlen;
		int code = 0;

		if ((a = stun_msg_find(&m, STUN_A_ERROR_CODE)) == NULL ||
		    stun_attr_error(a, &code, &reason, &rlen) != 0)
			code = 0;
		if (code == 401 || code == 438) {
			const struct stun_attr *nonce = stun_msg_find(&m, STUN_A_NONCE);
			const struct stun_attr *realm = stun_msg_find(&m, STUN_A_REALM);
			if (code == 401) {
				C.e401++;
				if (in_window)
					W.e401++;
			} else
				C.e438++;
			if (nonce == NULL || nonce->len >= sizeof(f->nonce) || f->tries > 4 ||
			    (code == 401 && f->st != S_ALLOC0 && f->tries > 0)) {
				C.eother++;
				goto fail;
			}
			memcpy(f->nonce, nonce->val, nonce->len);
			f->noncelen = nonce->len;
			if (realm != NULL && !have_key) {
				if (realm->len >= sizeof(REALM))
					die("realm too long");
				memcpy(REALM, realm->val, realm->len);
				REALM[realm->len] = '\0';
				if (stun_longterm_key(STUN_PWALG_MD5, O.user, REALM, O.pass, KEY,
				    &KEYLEN) != 0)
					die("cannot derive the long-term key");
				have_key = true;
			}
			if (!have_key)
				goto fail;
			/* resend authenticated; ALLOC0 (the challenge) becomes ALLOC1 */
			build_req(f, f->method, true);
			if (f->st == S_ALLOC0)
				f->st = S_ALLOC1;
			f->tries++;
			ctl_send(f, now);
			return;
		}
		if (code == 437 && f->st == S_ALLOC1) {
			/* an allocation of ours already stands (an answer we lost): free it */
			C.e437++;
			f->allocated = true;
			ctl_start(f, TURN_REFRESH, true, S_FREE, now);
			return;
		}
		if (code == 437 && f->st == S_ALLOC0) {
			/* the server still holds this 5-tuple: move to another */
			C.e437++;
			if (O.mode == M_ALLOC && cycling) {
				flow_reopen((int)(f - F));
				ctl_start(f, TURN_ALLOCATE, false, S_ALLOC0, now);
				return;
			}
			goto fail;
		}
		C.eother++;
		if (O.verbose && C.eother <= 10)
			fprintf(stderr, "loadgen: flow %ld: %s error %d\n", (long)(f - F),
			    stun_method_name(m.method), code);
		goto fail;
	}
	switch (f->st) {
	case S_ALLOC0:
	case S_ALLOC1:
		f->allocated = true;
		if ((a = stun_msg_find(&m, STUN_A_XOR_RELAYED_ADDRESS)) != NULL) {
			struct sockaddr_storage ss;
			if (stun_attr_xaddr(a, m.txid16, &ss) == 0 && ss.ss_family == AF_INET)
				memcpy(&f->relay, &ss, sizeof(f->relay));
		}
		C.allocs++;
		if (in_window)
			W.allocs++;
		if (O.mode == M_ALLOC)
			ctl_start(f, TURN_REFRESH, true, S_FREE, now);
		else if (O.kind == K_CHAN)
			ctl_start(f, TURN_CHANNEL_BIND, true, S_BIND, now);
		else if (O.kind == K_SEND)
			ctl_start(f, TURN_CREATE_PERMISSION, true, S_BIND, now);
		else
			ctl_idle(f, S_READY);
		return;
	case S_BIND:
		ctl_idle(f, S_READY);
		return;
	case S_FREE:
		f->allocated = false;
		C.cycles++;
		if (in_window)
			W.cycles++;
		if (O.mode == M_ALLOC && cycling) {
			/* a new client each cycle, as in life (and coturn keeps the old 5-tuple) */
			flow_reopen((int)(f - F));
			ctl_start(f, TURN_ALLOCATE, false, S_ALLOC0, now);
			return;
		}
		ctl_idle(f, S_DONE);
		return;
	default:
		return;
	}
fail:
	C.errors++;
	if (in_window)
		W.errors++;
	if (O.mode == M_ALLOC && cycling) {
		if (f->allocated)
			ctl_start(f, TURN_REFRESH, true, S_FREE, now);
		else
			ctl_start(f, TURN_ALLOCATE, false, S_ALLOC0, now);
		return;
	}
	ctl_idle(f, f->st == S_FREE ? S_DONE : S_FAILED);
}

/* Retransmit or give up on control transactions past their deadline. */
static void
ctl_timeouts(uint64_t now)
{
	int i;

	for (i = 0; i < NF; i++) {
		struct flow *f = &F[i];
		if (f->deadline == 0 || now < f->deadline)
			continue;
		if (f->tries < 3) {
			f->tries++;
			ctl_send(f, now);
			continue;
		}
		C.timeouts++;
		if (in_window)
			W.timeouts++;
		if (O.mode == M_ALLOC && cycling) {
			/* the allocation may stand: the next authed Allocate will say 437 */
			ctl_start(f, TURN_ALLOCATE, false, S_ALLOC0, now);
			continue;
		}
		ctl_idle(f, f->st == S_FREE ? S_DONE : S_FAILED);
	}
}

/* ---- data plane ---- */

/* Prepare the per-flow header template and packet length. */
static void
data_template(struct flow *f)
{
	size_t pad = 0;

	f->hdrlen = 0;
	if (O.mode == M_BINDING) {
		f->pktlen = STUN_HDR_LEN;
		return;
	}
	if (O.mode == M_RELAY && O.kind == K_CHAN) {
		chandata_write_hdr(f->hdr, CHANNEL, (uint16_t)O.size);
		f->hdrlen = CHANDATA_HDR_LEN;
	} else if (O.mode == M_RELAY && O.kind == K_SEND) {
		uint8_t txid16[16];
		uint64_t r = xrand();
		struct wbuf w;
		txid16[0] = 0x21; txid16[1] = 0x12; txid16[2] = 0xa4; txid16[3] = 0x42;
		memcpy(txid16 + 4, &r, 8);
		memset(txid16 + 12, 0, 4);
		wbuf_init(&w, f->hdr, sizeof(f->hdr));
		stun_build_init(&w, TURN_SEND, STUN_INDICATION, txid16);
		stun_put_xaddr(&w, STUN_A_XOR_PEER_ADDRESS, (struct sockaddr *)&f->paddr);
		wbuf_u16(&w, STUN_A_DATA);
		wbuf_u16(&w, (uint16_t)O.size);
		pad = (4 - (O.size & 3)) & 3;
		wbuf_put_u16_at(&w, 2, (uint16_t)(w.len - STUN_HDR_LEN + O.size + pad));
		if (w.overflow)
			die("send template");
		f->hdrlen = w.len;
	}
	f->pktlen = f->hdrlen + (size_t)O.size + pad;
}

/* Fill one datagram for flow idx into buf. */
static void
fill_packet(int idx, uint8_t *buf, uint64_t ts)
{
	struct flow *f = &F[idx];
	uint32_t seq = (uint32_t)f->seq_next++;

	if (O.mode == M_BINDING) {
		/* txid: ts (6 bytes), flow (2), seq (3), phase (1) */
		buf[0] = 0x00; buf[1] = 0x01; buf[2] = 0; buf[3] = 0;
		buf[4] = 0x21; buf[5] = 0x12; buf[6] = 0xa4; buf[7] = 0x42;
		for (int i = 0; i < 6; i++)
			buf[8 + i] = (uint8_t)(ts >> (8 * i));
		buf[14] = (uint8_t)idx; buf[15] = (uint8_t)(idx >> 8);
		buf[16] = (uint8_t)seq; buf[17] = (uint8_t)(seq >> 8); buf[18] = (uint8_t)(seq >> 16);
		buf[19] = (uint8_t)cur_phase;
		return;
	}
	uint8_t *p = buf + f->hdrlen;
	uint32_t v[4] = { PAY_MAGIC, (uint32_t)idx, seq, (uint32_t)cur_phase };
	if (f->hdrlen > 0)
		memcpy(buf, f->hdr, f->hdrlen);
	memcpy(p, v, sizeof(v));
	memcpy(p + 16, &ts, 8);
}

/* Send k datagrams on flow idx; returns how many left. */
static unsigned
flow_send(int idx, unsigned k, uint64_t now)
{
	struct flow *f = &F[idx];
	uint64_t ts = now - T0;
	unsigned i, sent = 0;
	int rc;

	if (k > BATCH)
		k = BATCH;
	for (i = 0; i < k; i++) {
		fill_packet(idx, TX[i], ts);
		TXIOV[i].iov_base = TX[i];
		TXIOV[i].iov_len = f->pktlen;
	}
	if (O.gso && k > 1)
		sent = bench_send_gso(f->cfd, (struct sockaddr *)&f->dst, sizeof(f->dst), TXIOV, k);
	else {
		for (i = 0; i < k; i++) {
			memset(&TXMSG[i].msg_hdr, 0, sizeof(TXMSG[i].msg_hdr));
			TXMSG[i].msg_hdr.msg_name = &f->dst;
			TXMSG[i].msg_hdr.msg_namelen = sizeof(f->dst);
			TXMSG[i].msg_hdr.msg_iov = &TXIOV[i];
			TXMSG[i].msg_hdr.msg_iovlen = 1;
		}
		while (sent < k) {
			rc = sendmmsg(f->cfd, TXMSG + sent, k - sent, MSG_DONTWAIT);
			if (rc <= 0)
				break;
			sent += (unsigned)rc;
		}
	}
	if (sent < k) {
		/* the kernel refused some: forget their sequence numbers */
		send_fail += k - sent;
		f->seq_next -= k - sent;
	}
	f->last_tx = now;
	inflight_total += sent;
	C.tx += sent;
	if (in_window) {
		W.tx += sent;
	}
	if (cur_phase == PH_MEAS)
		meas_tx += sent;
	return sent;
}

/* A payload came back (or reached a peer, without echo): account for it. */
static void
account(int idx, uint64_t seq24_or_full, bool seq24, unsigned phase, uint64_t ts, uint64_t now)
{
	struct flow *f;
	uint64_t seq = seq24_or_full, adv;

	if (idx < 0 || idx >= NF)
		return;
	f = &F[idx];
	if (seq24) {
		seq = (f->rx_hi & ~0xffffffull) | seq24_or_full;
		if (seq + (1u << 23) < f->rx_hi)
			seq += 1u << 24;
	} else {
		seq = (f->rx_hi & ~0xffffffffull) | (seq24_or_full & 0xffffffffull);
		if (seq + (1ull << 31) < f->rx_hi)
			seq += 1ull << 32;
	}
	if (seq >= f->rx_hi && seq < f->seq_next) {
		adv = seq + 1 - f->rx_hi;	/* the skipped ones are lost */
		inflight_total -= adv < inflight_total ? adv : inflight_total;
		f->rx_hi = seq + 1;
	}
	f->last_rx = now;
	if (phase == PH_MEAS) {
		meas_delivered++;
		hist_add(now - T0 - ts);
	}
}

static bool
payload_account(const uint8_t *p, size_t len, uint64_t now)
{
	uint32_t v[4];
	uint64_t ts;

	if (len < PAY_HDR)
		return false;
	memcpy(v, p, sizeof(v));
	if (v[0] != PAY_MAGIC)
		return false;
	memcpy(&ts, p + 16, 8);
	account((int)v[1], v[2], false, v[3], ts, now);
	return true;
}

/* A datagram on a client socket. */
static void
client_rx(struct flow *f, uint8_t *p, size_t len, uint64_t now)
{
	if (O.mode == M_BINDING) {
		uint64_t ts = 0;
		/* a Binding success response, or our request echoed (the ceiling) */
		if (len < STUN_HDR_LEN || p[4] != 0x21 || p[5] != 0x12 || p[6] != 0xa4 || p[7] != 0x42)
			return;
		if (!((p[0] == 0x01 && p[1] == 0x01) || (p[0] == 0 && p[1] == 1)))
			return;
		for (int i = 0; i < 6; i++)
			ts |= (uint64_t)p[8 + i] << (8 * i);
		C.rx_down++;
		if (in_window)
			W.rx_down++;
		account(p[14] | (p[15] << 8), p[16] | (p[17] << 8) | ((uint64_t)p[18] << 16), true,
		    p[19], ts, now);
		return;
	}
	if (O.mode == M_RAW || O.mode == M_DIRECT) {
		if (payload_account(p, len, now)) {
			C.rx_down++;
			if (in_window)
				W.rx_down++;
		}
		return;
	}
	/* TURN: ChannelData, a Data indication, or a control response */
	if (len >= 4 && (p[0] & 0xc0) == 0x40) {
		size_t clen = ((size_t)p[2] << 8) | p[3];
		if (clen + 4 <= len && payload_account(p + 4, clen, now)) {
			C.rx_down++;
			if (in_window)
				W.rx_down++;
		}
		return;
	}
	if (len >= STUN_HDR_LEN && p[0] == 0x00 && p[1] == 0x17) {	/* Data indication */
		size_t off = STUN_HDR_LEN;
		while (off + 4 <= len) {
			uint16_t t = (uint16_t)((p[off] << 8) | p[off + 1]);
			size_t alen = ((size_t)p[off + 2] << 8) | p[off + 3];
			if (off + 4 + alen > len)
				break;
			if (t == STUN_A_DATA) {
				if (payload_account(p + off + 4, alen, now)) {
					C.rx_down++;
					if (in_window)
						W.rx_down++;
				}
				return;
			}
			off += 4 + ((alen + 3) & ~(size_t)3);
		}
		return;
	}
	if (len >= STUN_HDR_LEN && (p[0] & 0xc0) == 0)
		on_ctl_response(f, p, len, now);
}

static void
arm_rx(void)
{
	for (int i = 0; i < BATCH; i++) {
		RXIOV[i].iov_base = RX[i];
		RXIOV[i].iov_len = SLOT;
		memset(&RXMSG[i].msg_hdr, 0, sizeof(RXMSG[i].msg_hdr));
		RXMSG[i].msg_hdr.msg_name = &RXFROM[i];
		RXMSG[i].msg_hdr.msg_namelen = sizeof(RXFROM[i]);
		RXMSG[i].msg_hdr.msg_iov = &RXIOV[i];
		RXMSG[i].msg_hdr.msg_iovlen = 1;
	}
}

/* Peer socket: count, and echo back to the sender (the relayed address). */
static void
peer_rx(int pfd, unsigned n, uint64_t now)
{
	unsigned i, done = 0, valid = 0;
	bool same = true;
	int rc;

	for (i = 0; i < n; i++) {
		RXIOV[i].iov_len = RXMSG[i].msg_len;
		if (RXMSG[i].msg_len >= PAY_HDR) {
			uint32_t magic;
			memcpy(&magic, RX[i], 4);
			if (magic == PAY_MAGIC)
				valid++;
		}
		if (i > 0 && (RXFROM[i].sin_port != RXFROM[0].sin_port ||
		    RXFROM[i].sin_addr.s_addr != RXFROM[0].sin_addr.s_addr))
			same = false;
	}
	C.rx_up += valid;
	if (in_window)
		W.rx_up += valid;
	if (!O.echo) {
		for (i = 0; i < n; i++)
			payload_account(RX[i], RXMSG[i].msg_len, now);
		return;
	}
	if (O.gso && same && n > 1) {
		bench_send_gso(pfd, (struct sockaddr *)&RXFROM[0], sizeof(RXFROM[0]), RXIOV, n);
		return;
	}
	for (i = 0; i < n; i++) {
		RXMSG[i].msg_hdr.msg_iov = &RXIOV[i];
		RXMSG[i].msg_hdr.msg_iovlen = 1;
		RXMSG[i].msg_hdr.msg_control = NULL;
		RXMSG[i].msg_hdr.msg_controllen = 0;
		RXMSG[i].msg_hdr.msg_flags = 0;
	}
	while (done < n) {
		rc = sendmmsg(pfd, RXMSG + done, n - done, MSG_DONTWAIT);
		if (rc <= 0) {
			send_fail += n - done;
			break;
		}
		done += (unsigned)rc;
	}
}

/* A socket is readable: up to 4 batches. */
static void
on_readable(uint64_t tag, uint64_t now)
{
	int idx = (int)(tag >> 1), is_peer = (int)(tag & 1), fd, n, turn, i;

	fd = is_peer ? PEERFD[idx] : F[idx].cfd;
	for (turn = 0; turn < 4; turn++) {
		arm_rx();
		n = recvmmsg(fd, RXMSG, BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return;
		if (is_peer)
			peer_rx(fd, (unsigned)n, now);
		else
			for (i = 0; i < n; i++)
				client_rx(&F[idx], RX[i], RXMSG[i].msg_len, now);
		if (n < BATCH)
			return;
	}
}

/* Wait for sockets up to timeout_ns, handling what arrives. */
static void
poll_once(uint64_t timeout_ns)
{
	struct epoll_event evs[256];
	struct timespec ts = { (time_t)(timeout_ns / 1000000000ull),
	    (long)(timeout_ns % 1000000000ull) };
	int n, i;
	uint64_t now;

	n = epoll_pwait2(EP, evs, 256, &ts, NULL);
	now = now_ns();
	for (i = 0; i < n; i++)
		on_readable(evs[i].data.u64, now);
}

/* Flows silent for long lost what they had in flight. */
static void
unstick(uint64_t now)
{
	int i;

	for (i = 0; i < NF; i++) {
		struct flow *f = &F[i];
		uint64_t last = f->last_rx > f->last_tx ? f->last_rx : f->last_tx;
		if (f->seq_next > f->rx_hi && now - last > STUCK_NS) {
			uint64_t n = f->seq_next - f->rx_hi;
			stuck_lost += n;
			inflight_total -= n < inflight_total ? n : inflight_total;
			f->rx_hi = f->seq_next;
		}
	}
}

/* ---- setup and teardown of allocations ---- */

static void
run_ctl_until(enum st want, double timeout_s, int start_method)
{
	uint64_t end = now_ns() + (uint64_t)(timeout_s * 1e9), last_check = 0;
	int next = 0, i, pending;

	for (;;) {
		uint64_t now = now_ns();
		while (next < NF && ctl_active < O.concurrency) {
			struct flow *f = &F[next++];
			if (start_method == TURN_ALLOCATE) {
				ctl_start(f, TURN_ALLOCATE, false, S_ALLOC0, now);
				ctl_active++;
			} else if (f->allocated) {
				ctl_start(f, TURN_REFRESH, true, S_FREE, now);
				ctl_active++;
			} else
				f->st = S_DONE;
		}
		pending = NF - next;
		for (i = 0; i < NF; i++)
			if (F[i].st != want && F[i].st != S_FAILED && F[i].st != S_DONE &&
			    F[i].st != S_READY)
				pending++;
		if (pending == 0 || now >= end || (stop_flag && start_method == TURN_ALLOCATE))
			return;
		poll_once(2000000);
		if (now - last_check > 10000000) {
			ctl_timeouts(now_ns());
			last_check = now;
		}
	}
}

/* ---- main phases ---- */

static void
usage(void)
{
	fprintf(stderr,
	    "usage: loadgen MODE [options]\n"
	    "modes: binding alloc relay hold raw direct\n"
	    "  --server IP:PORT   the server (raw: the forwarder's base port)\n"
	    "  --user U --pass P  long-term credential (MD5 key; realm from the 401)\n"
	    "  --sockets N | --allocs N   flows (binding 64, alloc 32, others 1)\n"
	    "  --kind chan|send   relay: ChannelData or Send indications (chan)\n"
	    "  --size B           relay/raw/direct payload bytes (100)\n"
	    "  --rate PPS         open loop offered rate; else --window W (256) closed loop\n"
	    "  --warmup S (0.5) --duration S (3) --drain S (0.3) --count N\n"
	    "  --hold S           hold: seconds to hold the allocations (60)\n"
	    "  --pid PID          server process to read CPU time from (repeatable)\n"
	    "  --kpid PID         ksoftirqd of the server's core (reported as ksirq_s)\n"
	    "  --bind IP[/LEN]    client addresses, successive from a random start (127.0.0.1)\n"
	    "  --peer-ip IP       peer address (127.0.0.1)\n"
	    "  --peers K          peer sockets shared by the flows (default: one per flow)\n"
	    "  --gso --no-echo --concurrency N (128) --setup-timeout S (20) -v\n");
	exit(64);
}

static void
parse_args(int argc, char **argv)
{
	int i;

	if (argc < 2)
		usage();
	memset(&O, 0, sizeof(O));
	if (strcmp(argv[1], "binding") == 0)
		O.mode = M_BINDING;
	else if (strcmp(argv[1], "alloc") == 0)
		O.mode = M_ALLOC;
	else if (strcmp(argv[1], "relay") == 0)
		O.mode = M_RELAY;
	else if (strcmp(argv[1], "hold") == 0)
		O.mode = M_HOLD;
	else if (strcmp(argv[1], "raw") == 0)
		O.mode = M_RAW;
	else if (strcmp(argv[1], "direct") == 0)
		O.mode = M_DIRECT;
	else
		usage();
	O.kind = O.mode == M_RELAY ? K_CHAN : O.mode == M_HOLD ? K_CHAN : K_NONE;
	O.nflows = O.mode == M_BINDING ? 64 : O.mode == M_ALLOC ? 32 : 1;
	O.size = 100;
	O.window = 256;
	O.warmup = 0.5;
	O.duration = 3;
	O.drain = 0.3;
	O.hold = 60;
	O.setup_timeout = 20;
	O.count = -1;
	O.echo = 1;
	O.concurrency = 128;
	bench_parse_addr("127.0.0.1", &O.bind_ip);
	bench_parse_addr("127.0.0.1", &O.peer_ip);
	for (i = 2; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(o, "--gso") == 0) { O.gso = 1; continue; }
		if (strcmp(o, "--no-echo") == 0) { O.echo = 0; continue; }
		if (strcmp(o, "-v") == 0) { O.verbose = 1; continue; }
		if (v == NULL)
			usage();
		i++;
		if (strcmp(o, "--server") == 0) {
			if (bench_parse_addr(v, &O.server) != 0)
				die("bad --server %s", v);
			O.have_server = 1;
		} else if (strcmp(o, "--bind") == 0) {
			char ip[64], *slash;
			snprintf(ip, sizeof(ip), "%s", v);
			if ((slash = strchr(ip, '/')) != NULL) {
				int plen = atoi(slash + 1);
				*slash = '\0';
				if (plen < 8 || plen > 32)
					die("bad --bind prefix %s", v);
				client_span = plen == 32 ? 1 : 1u << (32 - plen);
			}
			if (bench_parse_addr(ip, &O.bind_ip) != 0)
				die("bad --bind %s", v);
		} else if (strcmp(o, "--peer-ip") == 0) {
			if (bench_parse_addr(v, &O.peer_ip) != 0)
				die("bad --peer-ip %s", v);
		} else if (strcmp(o, "--user") == 0)
			O.user = v;
		else if (strcmp(o, "--pass") == 0)
			O.pass = v;
		else if (strcmp(o, "--sockets") == 0 || strcmp(o, "--allocs") == 0)
			O.nflows = atoi(v);
		else if (strcmp(o, "--kind") == 0) {
			if (strcmp(v, "chan") == 0)
				O.kind = K_CHAN;
			else if (strcmp(v, "send") == 0)
				O.kind = K_SEND;
			else if (strcmp(v, "none") == 0)
				O.kind = K_NONE;
			else
				usage();
		} else if (strcmp(o, "--size") == 0)
			O.size = atoi(v);
		else if (strcmp(o, "--rate") == 0)
			O.rate = atof(v);
		else if (strcmp(o, "--window") == 0)
			O.window = atoi(v);
		else if (strcmp(o, "--warmup") == 0)
			O.warmup = atof(v);
		else if (strcmp(o, "--duration") == 0)
			O.duration = atof(v);
		else if (strcmp(o, "--drain") == 0)
			O.drain = atof(v);
		else if (strcmp(o, "--count") == 0)
			O.count = atoll(v);
		else if (strcmp(o, "--hold") == 0)
			O.hold = atof(v);
		else if (strcmp(o, "--setup-timeout") == 0)
			O.setup_timeout = atof(v);
		else if (strcmp(o, "--concurrency") == 0)
			O.concurrency = atoi(v);
		else if (strcmp(o, "--peers") == 0)
			O.npeers = atoi(v);
		else if (strcmp(o, "--kpid") == 0)
			O.kpid = (pid_t)atoi(v);
		else if (strcmp(o, "--pid") == 0) {
			if (O.npids < MAX_PIDS)
				O.pids[O.npids++] = (pid_t)atoi(v);
		} else
			usage();
	}
	if (O.nflows < 1 || O.nflows > 60000)
		die("flows must be 1..60000");
	if ((O.mode == M_RELAY || O.mode == M_RAW || O.mode == M_DIRECT) &&
	    (O.size < PAY_HDR || O.size > 1400))
		die("--size must be %d..1400", PAY_HDR);
	if (needs_server() && !O.have_server)
		die("--server is needed");
	if (is_turn() && (O.user == NULL || O.pass == NULL))
		die("--user and --pass are needed");
	if (O.window < 1 || O.duration <= 0 || O.warmup < 0 || O.drain < 0 || O.hold < 0 ||
	    O.concurrency < 1)
		usage();
	if (O.mode == M_RELAY && O.kind == K_NONE)
		die("relay needs --kind chan or send");
}

/* Open the flows' sockets. */
static void
open_flows(void)
{
	int i;

	F = calloc((size_t)O.nflows, sizeof(*F));
	NF = O.nflows;
	if (O.mode == M_RELAY || O.mode == M_HOLD || O.mode == M_RAW || O.mode == M_DIRECT) {
		NPEERS = O.npeers > 0 && O.npeers < NF ? O.npeers : NF;
		PEERFD = calloc((size_t)NPEERS, sizeof(*PEERFD));
	}
	for (i = 0; i < NF; i++) {
		struct flow *f = &F[i];
		struct sockaddr_in sin = client_addr();
		f->cfd = udp_socket(&sin, &f->caddr);
		ep_add(f->cfd, (uint64_t)i << 1);
		f->pfd = -1;
		if (NPEERS > 0) {
			int k = i % NPEERS;
			socklen_t alen = sizeof(f->paddr);
			if (i < NPEERS) {
				PEERFD[k] = udp_socket(&O.peer_ip, &f->paddr);
				ep_add(PEERFD[k], ((uint64_t)k << 1) | 1);
			}
			f->pfd = PEERFD[k];
			getsockname(f->pfd, (struct sockaddr *)&f->paddr, &alen);
		}
		f->dst = O.server;
		if (O.mode == M_RAW) {
			/* fwd relay: A_i = BASE+i faces us, B_i = BASE+N+i faces the peer */
			unsigned base = ntohs(O.server.sin_port);
			f->dst.sin_port = htons((uint16_t)(base + (unsigned)i));
			f->relay = O.server;
			f->relay.sin_port = htons((uint16_t)(base + (unsigned)NF + (unsigned)i));
		} else if (O.mode == M_DIRECT)
			f->dst = f->paddr;
	}
}

static double
sdiff(const struct snap *a, const struct snap *b, int cpu, int col)
{
	return (double)(b->cpu[cpu][col] - a->cpu[cpu][col]) / (double)sysconf(_SC_CLK_TCK);
}

static void
print_result(const struct snap *s0, const struct snap *s1, double setup_s, int ready)
{
	double hz = (double)sysconf(_SC_CLK_TCK);
	double win = (double)(s1->t - s0->t) / 1e9;
	double su = (double)(s1->srv_ticks_u - s0->srv_ticks_u) / hz;
	double ss = (double)(s1->srv_ticks_s - s0->srv_ticks_s) / hz;
	double scpu = su + ss, work = 0;
	double ks = (double)(s1->k_ticks_u + s1->k_ticks_s - s0->k_ticks_u - s0->k_ticks_s) / hz;
	const char *m[] = { "binding", "alloc", "relay", "hold", "raw", "direct" };
	const char *k[] = { "chan", "send", "none" };
	int c;

	if (O.mode == M_BINDING)
		work = (double)W.rx_down;
	else if (O.mode == M_ALLOC)
		work = (double)W.allocs;
	else
		work = (double)(W.rx_up + W.rx_down);
	printf("RESULT mode=%s kind=%s size=%d n=%d ready=%d setup_s=%.3f window_s=%.3f "
	    "rate=%.0f win=%d gso=%d tx=%llu rx_up=%llu rx_down=%llu allocs=%llu cycles=%llu "
	    "work=%.0f work_per_s=%.0f meas_tx=%llu meas_delivered=%llu loss_pct=%.3f "
	    "rtt_p50_us=%.1f rtt_p90_us=%.1f rtt_p99_us=%.1f rtt_max_us=%.1f "
	    "srv_cpu_s=%.3f srv_user_s=%.3f srv_sys_s=%.3f srv_cpu_pct=%.1f work_per_cpu_s=%.0f "
	    "ksirq_s=%.3f work_per_cpu_ks_s=%.0f gen_cpu_s=%.3f gen_cpu_pct=%.1f",
	    m[O.mode], k[O.kind], O.size, NF, ready, setup_s, win, O.rate, O.window, O.gso,
	    (unsigned long long)W.tx, (unsigned long long)W.rx_up,
	    (unsigned long long)W.rx_down, (unsigned long long)W.allocs,
	    (unsigned long long)W.cycles, work, work / win,
	    (unsigned long long)meas_tx, (unsigned long long)meas_delivered,
	    meas_tx > 0 ? 100.0 * (double)(meas_tx - (meas_delivered < meas_tx ?
	    meas_delivered : meas_tx)) / (double)meas_tx : 0.0,
	    hist_pct(0.50), hist_pct(0.90), hist_pct(0.99), (double)rtt_max_ns / 1000.0,
	    scpu, su, ss, 100.0 * scpu / win, scpu > 0 ? work / scpu : 0.0,
	    ks, scpu + ks > 0 ? work / (scpu + ks) : 0.0,
	    s1->gen_cpu - s0->gen_cpu, 100.0 * (s1->gen_cpu - s0->gen_cpu) / win);
	/*
	 * Per CPU: busy = wall - idle - iowait (idle is measured exactly on a
	 * tickless kernel, the other columns are sampled at the tick), so busy
	 * includes what no process is charged with (softirq in idle, wake-ups).
	 */
	for (c = 0; c < s1->ncpu && c < s0->ncpu; c++) {
		double busy = win - sdiff(s0, s1, c, 3) - sdiff(s0, s1, c, 4);
		printf(" cpu%d_busy_s=%.3f cpu%d_sirq_s=%.3f cpu%d_steal_s=%.3f", c,
		    busy < 0 ? 0 : busy, c, sdiff(s0, s1, c, 6), c, sdiff(s0, s1, c, 7));
	}
	/* (a process that exits unreaped takes its time along: never below 0) */
	printf(" others_cpu_s=%.3f", s1->other_ticks > s0->other_ticks ?
	    (double)(s1->other_ticks - s0->other_ticks) / hz : 0.0);
	printf(" udp_rcvbuf_err=%llu udp_sndbuf_err=%llu udp_inerr=%llu send_fail=%llu "
	    "stuck_lost=%llu gen_behind=%llu errors=%llu timeouts=%llu e401=%llu e437=%llu "
	    "e438=%llu eother=%llu\n",
	    (unsigned long long)(s1->udp_rcvbuf - s0->udp_rcvbuf),
	    (unsigned long long)(s1->udp_sndbuf - s0->udp_sndbuf),
	    (unsigned long long)(s1->udp_inerr - s0->udp_inerr),
	    (unsigned long long)send_fail, (unsigned long long)stuck_lost,
	    (unsigned long long)gen_behind, (unsigned long long)C.errors,
	    (unsigned long long)C.timeouts, (unsigned long long)C.e401,
	    (unsigned long long)C.e437, (unsigned long long)C.e438,
	    (unsigned long long)C.eother);
	fflush(stdout);
}

/* The data phase: warm-up, measured window, drain. */
static void
run_data(struct snap *s0, struct snap *s1)
{
	uint64_t t_start = now_ns();
	uint64_t t_m0 = t_start + (uint64_t)(O.warmup * 1e9);
	uint64_t t_m1 = t_m0 + (uint64_t)(O.duration * 1e9);
	uint64_t t_end = t_m1 + (uint64_t)(O.drain * 1e9);
	uint64_t attempts = 0, last_unstick = t_start;
	long long total_sent = 0;
	bool got0 = false, got1 = false, sent_any;
	int rr = 0, active = 0, i;
	unsigned pf;

	for (i = 0; i < NF; i++)
		if (F[i].st == S_READY || !is_turn())
			active++;
	if (active == 0)
		return;
	pf = (unsigned)((O.window + NF - 1) / NF);
	if (pf < 1)
		pf = 1;
	for (;;) {
		uint64_t now = now_ns(), wait = 1000000;
		if (!got0 && now >= t_m0) {
			take_snap(s0);
			got0 = true;
			in_window = true;
			cur_phase = PH_MEAS;
		}
		if (!got1 && now >= t_m1) {
			take_snap(s1);
			got1 = true;
			in_window = false;
			cur_phase = PH_COOL;
		}
		if (now >= t_end || stop_flag)
			break;
		if (cur_phase != PH_COOL && (O.count < 0 || total_sent < O.count)) {
			uint64_t budget;
			if (O.rate > 0) {
				uint64_t due = (uint64_t)(O.rate * (double)(now - t_start) / 1e9);
				budget = due > attempts ? due - attempts : 0;
				if (budget > (uint64_t)(O.rate / 100) + BATCH) {	/* >10 ms behind */
					gen_behind += budget - (uint64_t)(O.rate / 100);
					attempts += budget - (uint64_t)(O.rate / 100);
					budget = (uint64_t)(O.rate / 100);
				}
			} else
				budget = inflight_total < (uint64_t)O.window ?
				    (uint64_t)O.window - inflight_total : 0;
			if (O.count >= 0 && budget > (uint64_t)(O.count - total_sent))
				budget = (uint64_t)(O.count - total_sent);
			sent_any = false;
			if (budget > 0) {
				uint64_t per = (budget + (uint64_t)active - 1) / (uint64_t)active;
				int visited;
				if (per > BATCH)
					per = BATCH;
				for (visited = 0; visited < NF && budget > 0; visited++) {
					struct flow *f = &F[rr];
					int idx = rr;
					uint64_t k = per < budget ? per : budget;
					rr = (rr + 1) % NF;
					if (is_turn() && f->st != S_READY)
						continue;
					if (O.rate <= 0) {
						uint64_t fl = f->seq_next - f->rx_hi;
						if (fl >= pf)
							continue;
						if (k > pf - fl)
							k = pf - fl;
					}
					unsigned s = flow_send(idx, (unsigned)k, now);
					attempts += k;
					budget -= k;
					total_sent += s;
					sent_any |= s > 0;
				}
			}
			if (O.rate > 0) {
				uint64_t next = t_start + (uint64_t)((double)(attempts + 1) * 1e9 / O.rate);
				now = now_ns();
				wait = next > now ? next - now : 0;
				if (wait > 1000000)
					wait = 1000000;
			} else
				wait = sent_any && budget > 0 ? 0 : 1000000;
		}
		poll_once(wait);
		now = now_ns();
		if (now - last_unstick > 20000000) {
			unstick(now);
			last_unstick = now;
		}
	}
	if (!got0)
		take_snap(s0);
	if (!got1)
		take_snap(s1);
}

/* Binding flows go straight to data; raw/direct peers say hello first. */
static void
prepare_data(void)
{
	int i;

	for (i = 0; i < NF; i++) {
		data_template(&F[i]);
		if (O.mode == M_RAW)
			sendto(F[i].pfd, "HELO", 4, MSG_DONTWAIT, (struct sockaddr *)&F[i].relay,
			    sizeof(F[i].relay));
	}
	if (O.mode == M_RAW) {
		uint64_t end = now_ns() + 50000000;
		while (now_ns() < end)
			poll_once(5000000);
	}
}

static void
run_alloc(struct snap *s0, struct snap *s1)
{
	uint64_t t_start = now_ns();
	uint64_t t_m0 = t_start + (uint64_t)(O.warmup * 1e9);
	uint64_t t_m1 = t_m0 + (uint64_t)(O.duration * 1e9);
	uint64_t last_check = t_start;
	bool got0 = false;
	int i;

	cycling = true;
	for (i = 0; i < NF; i++) {
		ctl_start(&F[i], TURN_ALLOCATE, false, S_ALLOC0, t_start);
		ctl_active++;
	}
	for (;;) {
		uint64_t now = now_ns();
		if (!got0 && now >= t_m0) {
			take_snap(s0);
			got0 = true;
			in_window = true;
		}
		if (now >= t_m1 || stop_flag ||
		    (O.count >= 0 && (long long)C.allocs >= O.count))
			break;
		poll_once(1000000);
		now = now_ns();
		if (now - last_check > 10000000) {
			ctl_timeouts(now);
			last_check = now;
		}
	}
	if (!got0)
		take_snap(s0);
	take_snap(s1);
	in_window = false;
	cycling = false;
	/* finish the cycles in flight: their Refresh frees what they hold */
	{
		uint64_t end = now_ns() + 2000000000ull;
		int busy;
		do {
			poll_once(2000000);
			ctl_timeouts(now_ns());
			busy = 0;
			for (i = 0; i < NF; i++)
				if (F[i].deadline != 0)
					busy++;
		} while (busy > 0 && now_ns() < end);
		for (i = 0; i < NF; i++)
			if (F[i].allocated)
				F[i].st = S_READY;
		ctl_active = 0;
		run_ctl_until(S_DONE, 2.0, TURN_REFRESH);
	}
}

int
main(int argc, char **argv)
{
	struct snap s0, s1;
	uint64_t t_setup;
	double setup_s = 0;
	int ready = 0, i;

	parse_args(argc, argv);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGUSR1, on_signal);
	signal(SIGPIPE, SIG_IGN);
	bench_raise_nofile();
	T0 = now_ns();
	rng ^= T0 ^ ((uint64_t)getpid() << 32);
	if ((hist = calloc(HIST_US, sizeof(*hist))) == NULL)
		die("out of memory");
	if ((EP = epoll_create1(EPOLL_CLOEXEC)) < 0)
		die("epoll_create1: %s", strerror(errno));
	client_next = (uint32_t)(xrand() % 0xffffffu);
	open_flows();
	memset(&s0, 0, sizeof(s0));
	memset(&s1, 0, sizeof(s1));

	if (O.mode == M_ALLOC) {
		run_alloc(&s0, &s1);
		print_result(&s0, &s1, 0, NF);
		return 0;
	}
	t_setup = now_ns();
	if (O.mode == M_RELAY || O.mode == M_HOLD) {
		run_ctl_until(S_READY, O.setup_timeout, TURN_ALLOCATE);
		for (i = 0; i < NF; i++)
			ready += F[i].st == S_READY;
	} else
		ready = NF;
	setup_s = (double)(now_ns() - t_setup) / 1e9;
	if (O.verbose)
		fprintf(stderr, "loadgen: %d of %d flows ready in %.3f s\n", ready, NF, setup_s);
	if (O.mode == M_HOLD) {
		uint64_t end = now_ns() + (uint64_t)(O.hold * 1e9);
		printf("READY n=%d ready=%d setup_s=%.3f\n", NF, ready, setup_s);
		fflush(stdout);
		while (!stop_flag && now_ns() < end)
			poll_once(50000000);
		stop_flag = 0;
		ctl_active = 0;
		run_ctl_until(S_DONE, 5.0, TURN_REFRESH);
		take_snap(&s0);
		s1 = s0;
		print_result(&s0, &s1, setup_s, ready);
		return 0;
	}
	if (ready == 0 && NF > 0)
		fprintf(stderr, "loadgen: no flow is ready (setup failed)\n");
	prepare_data();
	run_data(&s0, &s1);
	if (O.mode == M_RELAY) {
		stop_flag = 0;
		ctl_active = 0;
		run_ctl_until(S_DONE, 3.0, TURN_REFRESH);
	}
	print_result(&s0, &s1, setup_s, ready);
	return ready == NF ? 0 : 2;
}
