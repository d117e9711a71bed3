/* stats.h: per-worker counters, including one per reply code; summed for reports. */
#ifndef MINIRTC_STATS_H
#define MINIRTC_STATS_H

#include <stdint.h>

/*
 * One per worker, written only by its owner thread, so no lock or atomic;
 * the worker copies it once a second under a lock for the metrics page.
 */
struct stats {
	uint64_t	rx_msgs;	/* STUN messages accepted for processing */
	uint64_t	rx_nonstun;	/* datagrams or frames that are not STUN: dropped */
	uint64_t	rx_invalid;	/* STUN-looking but invalid (bad FINGERPRINT...): dropped */
	uint64_t	rx_ignored;	/* indications and responses we do not answer */
	uint64_t	rx_kernel_drops;	/* dropped by the kernel: receive buffer full (SO_RXQ_OVFL) */
	uint64_t	tx_msgs;
	uint64_t	tx_errors;	/* send failures */
	uint64_t	tx_gso;		/* datagrams that left as UDP GSO segments */
	uint64_t	tcp_accepted;
	uint64_t	tcp_closed_bad;	/* closed for a bad or oversized frame */
	uint64_t	tls_accepted;	/* of tcp_accepted, on a TLS listener */
	uint64_t	tls_errors;	/* failed handshakes and TLS errors */
	uint64_t	tcp_dropped_nofile;	/* hand-offs lost: the worker's file table was full */
	uint64_t	tcp_refused;	/* closed at accept: max_connections (main's count) */
	uint64_t	allocs_created;
	uint64_t	allocs_freed;
	uint64_t	relay_up_pkts;	/* client -> peer */
	uint64_t	relay_up_bytes;
	uint64_t	relay_down_pkts;	/* peer -> client */
	uint64_t	relay_down_bytes;
	uint64_t	relay_dropped;	/* no allocation, permission or channel; over bandwidth */
	uint64_t	relay_kernel_drops;	/* peer datagrams the kernel dropped (relay buffers full) */
	uint64_t	relay_icmp;	/* ICMP errors passed on to clients */
	uint64_t	reply_ok;
	uint64_t	reply_code[700];	/* error responses by code, 300-699 */
};

void	stats_add(struct stats *, const struct stats *);
void	stats_count_reply(struct stats *, int);
void	stats_log(const struct stats *);

#endif
