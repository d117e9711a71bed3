/* check_rbuf.c: the bounded reader never reads past its end; the writer never writes past its capacity. */
#include <errno.h>
#include <string.h>

#include <check.h>

#include "rbuf.h"
#include "check_run.h"

START_TEST(test_reads_stop_at_end)
{
	static const uint8_t b[] = { 1, 2, 3, 4, 5, 6, 7 };
	struct rbuf r;
	uint32_t v32;
	uint16_t v16;
	uint8_t v8;

	rbuf_init(&r, b, sizeof(b));
	ck_assert_int_eq(rbuf_u32(&r, &v32), 0);
	ck_assert_uint_eq(v32, 0x01020304);
	ck_assert_int_eq(rbuf_u16(&r, &v16), 0);
	ck_assert_uint_eq(v16, 0x0506);
	ck_assert_int_eq(rbuf_u16(&r, &v16), -EOVERFLOW);
	ck_assert_uint_eq(rbuf_left(&r), 1);
	ck_assert_int_eq(rbuf_u8(&r, &v8), 0);
	ck_assert_uint_eq(v8, 7);
	ck_assert_int_eq(rbuf_u8(&r, &v8), -EOVERFLOW);
}
END_TEST

START_TEST(test_sub_reader_is_bounded)
{
	static const uint8_t b[] = { 0xaa, 0xbb, 0xcc, 0xdd, 0xee };
	struct rbuf r, sub;
	uint16_t v16;

	rbuf_init(&r, b, sizeof(b));
	ck_assert_int_eq(rbuf_sub(&r, &sub, 3), 0);
	ck_assert_int_eq(rbuf_u16(&sub, &v16), 0);
	ck_assert_uint_eq(v16, 0xaabb);
	/* One byte is left in the sub-reader although the parent has more. */
	ck_assert_int_eq(rbuf_u16(&sub, &v16), -EOVERFLOW);
	ck_assert_int_eq(rbuf_u16(&r, &v16), 0);
	ck_assert_uint_eq(v16, 0xddee);
	ck_assert_int_eq(rbuf_sub(&r, &sub, 1), -EOVERFLOW);
}
END_TEST

START_TEST(test_writer_respects_capacity)
{
	uint8_t b[8];
	struct wbuf w;

	memset(b, 0x5a, sizeof(b));
	wbuf_init(&w, b, 6);
	ck_assert_int_eq(wbuf_u32(&w, 0x01020304), 0);
	ck_assert_int_eq(wbuf_u32(&w, 0x05060708), -ENOSPC);
	ck_assert(w.overflow);
	/* Once overflowed, even a write that would fit fails. */
	ck_assert_int_eq(wbuf_u8(&w, 9), -ENOSPC);
	ck_assert_uint_eq(w.len, 4);
	ck_assert_uint_eq(b[4], 0x5a);
	ck_assert_uint_eq(b[6], 0x5a);
	ck_assert_int_eq(wbuf_put_u16_at(&w, 3, 1), -EOVERFLOW);
	ck_assert_int_eq(wbuf_put_u16_at(&w, 2, 0xbeef), 0);
	ck_assert_uint_eq(b[2], 0xbe);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("rbuf");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_reads_stop_at_end);
	tcase_add_test(tc, test_sub_reader_is_bounded);
	tcase_add_test(tc, test_writer_respects_capacity);
	suite_add_tcase(s, tc);
	return check_run(s);
}
