/* chandata.c: ChannelData decode and encode, RFC 7983 demultiplexing, and stream framing lengths. */
#include <errno.h>

#include "chandata.h"
#include "rbuf.h"
#include "stun.h"

/*
 * Classify a datagram by its first byte (RFC 7983 section 7). RFC 7983
 * gives TURN channels 64-79 (0x4000-0x4FFF, RFC 8656), but RFC 5766
 * clients use channels up to 0x7FFF, and 80-127 belong to nothing else,
 * so the whole 64-127 is ChannelData; the channel limit is checked later.
 */
enum demux_kind
demux_classify(const uint8_t *p, size_t len)
{
	if (len == 0)
		return DEMUX_OTHER;
	if (p[0] <= 3)
		return DEMUX_STUN;
	if (p[0] >= 20 && p[0] <= 63)
		return DEMUX_DTLS;
	if (p[0] >= 64 && p[0] <= 127)
		return DEMUX_CHANDATA;
	if (p[0] >= 128 && p[0] <= 191)
		return DEMUX_RTP;
	return DEMUX_OTHER;
}

/*
 * Parse a ChannelData message. Over UDP the datagram may carry padding
 * after the payload (RFC 8656 section 12.5); over a stream the caller has
 * already cut the frame with stream_frame_len. The channel number range is
 * the caller's to check against its own limit.
 */
int
chandata_parse(struct chandata *cd, const uint8_t *p, size_t len, bool stream)
{
	struct rbuf r;
	uint16_t channel, dlen;
	const uint8_t *data;

	rbuf_init(&r, p, len);
	if (rbuf_u16(&r, &channel) != 0 || rbuf_u16(&r, &dlen) != 0)
		return -EBADMSG;
	if (channel < CHAN_MIN || channel > CHAN_MAX_RFC5766)
		return -EBADMSG;
	if (rbuf_ptr(&r, &data, dlen) != 0)
		return -EBADMSG;
	if (stream && rbuf_left(&r) > 3)
		return -EBADMSG;
	cd->channel = channel;
	cd->len = dlen;
	cd->data = data;
	return 0;
}

/* Write a 4-byte ChannelData header into p. */
int
chandata_write_hdr(uint8_t *p, uint16_t channel, uint16_t len)
{
	if (channel < CHAN_MIN || channel > CHAN_MAX_RFC5766)
		return -EINVAL;
	p[0] = (uint8_t)(channel >> 8);
	p[1] = (uint8_t)channel;
	p[2] = (uint8_t)(len >> 8);
	p[3] = (uint8_t)len;
	return 0;
}

/*
 * How long is the message at the head of a stream? Returns its length in
 * bytes (ChannelData rounded up to 4, RFC 8656 section 12.5), 0 when more
 * bytes are needed to tell, or -1 when the bytes are neither STUN nor
 * ChannelData or the frame would exceed max: the connection must close.
 */
long
stream_frame_len(const uint8_t *p, size_t avail, size_t max)
{
	size_t len;

	if (avail < 4)
		return avail > 0 && demux_classify(p, avail) != DEMUX_STUN &&
		    demux_classify(p, avail) != DEMUX_CHANDATA ? -1 : 0;
	len = ((size_t)p[2] << 8) | p[3];
	switch (demux_classify(p, avail)) {
	case DEMUX_STUN:
		if ((p[0] & 0xc0) != 0 || (len & 3) != 0)
			return -1;
		len += STUN_HDR_LEN;
		break;
	case DEMUX_CHANDATA:
		len = CHANDATA_HDR_LEN + ((len + 3) & ~(size_t)3);
		break;
	default:
		return -1;
	}
	return len > max ? -1 : (long)len;
}
