/* stats.c: counter arithmetic and the summary log line. */
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "stats.h"

/* Add src into dst (summing workers for a report). */
void
stats_add(struct stats *dst, const struct stats *src)
{
	size_t i;

	dst->rx_msgs += src->rx_msgs;
	dst->rx_nonstun += src->rx_nonstun;
	dst->rx_invalid += src->rx_invalid;
	dst->rx_ignored += src->rx_ignored;
	dst->rx_kernel_drops += src->rx_kernel_drops;
	dst->tx_msgs += src->tx_msgs;
	dst->tx_errors += src->tx_errors;
	dst->tx_gso += src->tx_gso;
	dst->tcp_accepted += src->tcp_accepted;
	dst->tcp_closed_bad += src->tcp_closed_bad;
	dst->tls_accepted += src->tls_accepted;
	dst->tls_errors += src->tls_errors;
	dst->tcp_dropped_nofile += src->tcp_dropped_nofile;
	dst->tcp_refused += src->tcp_refused;
	dst->allocs_created += src->allocs_created;
	dst->allocs_freed += src->allocs_freed;
	dst->relay_up_pkts += src->relay_up_pkts;
	dst->relay_up_bytes += src->relay_up_bytes;
	dst->relay_down_pkts += src->relay_down_pkts;
	dst->relay_down_bytes += src->relay_down_bytes;
	dst->relay_dropped += src->relay_dropped;
	dst->relay_icmp += src->relay_icmp;
	dst->relay_kernel_drops += src->relay_kernel_drops;
	dst->reply_ok += src->reply_ok;
	for (i = 0; i < sizeof(dst->reply_code) / sizeof(dst->reply_code[0]); i++)
		dst->reply_code[i] += src->reply_code[i];
}

/* Count one reply: 0 for success, else its error code. */
void
stats_count_reply(struct stats *s, int code)
{
	if (code == 0)
		s->reply_ok++;
	else if (code >= 300 && code < 700)
		s->reply_code[code]++;
}

/* Log the counters in one line, error codes only where non-zero. */
void
stats_log(const struct stats *s)
{
	char codes[512] = "";
	size_t i, n = 0;

	for (i = 300; i < 700 && n < sizeof(codes) - 24; i++)
		if (s->reply_code[i] != 0)
			n += (size_t)snprintf(codes + n, sizeof(codes) - n, " e%zu=%llu",
			    i, (unsigned long long)s->reply_code[i]);
	log_info("stats: rx=%llu nonstun=%llu invalid=%llu ignored=%llu kernel_drops=%llu tx=%llu "
	    "tx_errors=%llu gso=%llu tcp_accepted=%llu tcp_closed_bad=%llu tls_accepted=%llu tls_errors=%llu tcp_dropped_nofile=%llu tcp_refused=%llu allocs=%llu "
	    "freed=%llu up=%llu/%lluB down=%llu/%lluB relay_dropped=%llu relay_kernel_drops=%llu icmp=%llu ok=%llu%s",
	    (unsigned long long)s->rx_msgs, (unsigned long long)s->rx_nonstun,
	    (unsigned long long)s->rx_invalid, (unsigned long long)s->rx_ignored,
	    (unsigned long long)s->rx_kernel_drops,
	    (unsigned long long)s->tx_msgs, (unsigned long long)s->tx_errors,
	    (unsigned long long)s->tx_gso,
	    (unsigned long long)s->tcp_accepted,
	    (unsigned long long)s->tcp_closed_bad,
	    (unsigned long long)s->tls_accepted, (unsigned long long)s->tls_errors,
	    (unsigned long long)s->tcp_dropped_nofile, (unsigned long long)s->tcp_refused,
	    (unsigned long long)s->allocs_created, (unsigned long long)s->allocs_freed,
	    (unsigned long long)s->relay_up_pkts, (unsigned long long)s->relay_up_bytes,
	    (unsigned long long)s->relay_down_pkts, (unsigned long long)s->relay_down_bytes,
	    (unsigned long long)s->relay_dropped, (unsigned long long)s->relay_kernel_drops,
	    (unsigned long long)s->relay_icmp,
	    (unsigned long long)s->reply_ok, codes);
}
