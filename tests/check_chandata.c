/* check_chandata.c: RFC 7983 demultiplexing, ChannelData parsing and stream frame lengths. */
#include <errno.h>
#include <string.h>

#include <check.h>

#include "chandata.h"
#include "check_run.h"

START_TEST(test_demux)
{
	static const uint8_t stun[] = { 0x00, 0x01 }, dtls[] = { 22 }, cd[] = { 0x40 }, cd5766[] = { 0x7f },
	    rtp[] = { 0x80 }, other[] = { 0xff };

	ck_assert_int_eq(demux_classify(stun, 2), DEMUX_STUN);
	ck_assert_int_eq(demux_classify(dtls, 1), DEMUX_DTLS);
	ck_assert_int_eq(demux_classify(cd, 1), DEMUX_CHANDATA);
	ck_assert_int_eq(demux_classify(cd5766, 1), DEMUX_CHANDATA);	/* RFC 5766 range */
	ck_assert_int_eq(demux_classify(rtp, 1), DEMUX_RTP);
	ck_assert_int_eq(demux_classify(other, 1), DEMUX_OTHER);
	ck_assert_int_eq(demux_classify(other, 0), DEMUX_OTHER);
}
END_TEST

START_TEST(test_chandata_parse)
{
	static const uint8_t ok[] = { 0x40, 0x01, 0x00, 0x03, 'a', 'b', 'c', 0 };
	static const uint8_t short_data[] = { 0x40, 0x01, 0x00, 0x08, 'a' };
	static const uint8_t bad_chan[] = { 0x80, 0x00, 0x00, 0x00 };
	struct chandata cd;

	ck_assert_int_eq(chandata_parse(&cd, ok, sizeof(ok), false), 0);
	ck_assert_uint_eq(cd.channel, 0x4001);
	ck_assert_uint_eq(cd.len, 3);
	ck_assert(memcmp(cd.data, "abc", 3) == 0);
	ck_assert_int_eq(chandata_parse(&cd, ok, sizeof(ok), true), 0);
	ck_assert_int_eq(chandata_parse(&cd, short_data, sizeof(short_data), false), -EBADMSG);
	ck_assert_int_eq(chandata_parse(&cd, bad_chan, sizeof(bad_chan), false), -EBADMSG);
	ck_assert_int_eq(chandata_parse(&cd, ok, 3, false), -EBADMSG);
}
END_TEST

START_TEST(test_chandata_header)
{
	uint8_t h[4];

	ck_assert_int_eq(chandata_write_hdr(h, 0x4abc, 1200), 0);
	ck_assert_uint_eq(h[0], 0x4a);
	ck_assert_uint_eq(h[1], 0xbc);
	ck_assert_uint_eq((h[2] << 8) | h[3], 1200);
	ck_assert_int_eq(chandata_write_hdr(h, 0x3fff, 1), -EINVAL);
}
END_TEST

START_TEST(test_stream_frame_len)
{
	static const uint8_t stun[] = { 0x00, 0x01, 0x00, 0x08 };
	static const uint8_t stun_odd[] = { 0x00, 0x01, 0x00, 0x07 };
	static const uint8_t cd[] = { 0x40, 0x00, 0x00, 0x05 };
	static const uint8_t junk[] = { 0xff, 0x00, 0x00, 0x00 };

	ck_assert_int_eq(stream_frame_len(stun, 2, 4096), 0);
	ck_assert_int_eq(stream_frame_len(stun, 4, 4096), 28);
	ck_assert_int_eq(stream_frame_len(stun_odd, 4, 4096), -1);
	/* ChannelData over a stream is padded to a multiple of four (RFC 8656 section 12.5). */
	ck_assert_int_eq(stream_frame_len(cd, 4, 4096), 12);
	ck_assert_int_eq(stream_frame_len(junk, 4, 4096), -1);
	ck_assert_int_eq(stream_frame_len(junk, 1, 4096), -1);
	ck_assert_int_eq(stream_frame_len(stun, 4, 27), -1);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("chandata");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_demux);
	tcase_add_test(tc, test_chandata_parse);
	tcase_add_test(tc, test_chandata_header);
	tcase_add_test(tc, test_stream_frame_len);
	suite_add_tcase(s, tc);
	return check_run(s);
}
