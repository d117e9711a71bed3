/* chandata.h: TURN ChannelData framing (RFC 8656 section 12.4) and stream message boundaries. */
#ifndef MINIRTC_CHANDATA_H
#define MINIRTC_CHANDATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CHANDATA_HDR_LEN	4
#define CHAN_MIN		0x4000
#define CHAN_MAX_RFC8656	0x4fff
#define CHAN_MAX_RFC5766	0x7fff

/* What the first byte of a datagram says it is (RFC 7983). */
enum demux_kind {
	DEMUX_STUN,
	DEMUX_DTLS,
	DEMUX_CHANDATA,
	DEMUX_RTP,
	DEMUX_OTHER,
};

/* A ChannelData message: the payload points into the caller's bytes. */
struct chandata {
	uint16_t	 channel;
	uint16_t	 len;
	const uint8_t	*data;
};

enum demux_kind	 demux_classify(const uint8_t *, size_t);
int		 chandata_parse(struct chandata *, const uint8_t *, size_t, bool);
int		 chandata_write_hdr(uint8_t *, uint16_t, uint16_t);
long		 stream_frame_len(const uint8_t *, size_t, size_t);

#endif
