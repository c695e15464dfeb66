/* test_varint.c -- the LEB128 and zigzag helpers of vg-tool/ml_trace.h:
   round trips at the size boundaries, overlong and truncated input. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "ml_trace.h"

static void roundtrip(unsigned long long v, int expect_len)
{
   unsigned char buf[ML_MAX_VARINT_LEN + 2];
   int n = ml_put_uvarint(buf, v);
   assert_int_equal(n, expect_len);
   unsigned long long out = 0;
   assert_int_equal(ml_get_uvarint(buf, buf + n, &out), n);
   assert_true(out == v);
   /* one byte short is "ends inside the varint" */
   assert_int_equal(ml_get_uvarint(buf, buf + n - 1, &out), 0);
}

static void test_roundtrip(void **state)
{
   (void)state;
   roundtrip(0, 1);
   roundtrip(127, 1);
   roundtrip(128, 2);
   roundtrip(16383, 2);
   roundtrip(16384, 3);
   roundtrip(1ULL << 32, 5);
   roundtrip(1ULL << 63, 10);
   roundtrip(UINT64_MAX, 10);
}

static void test_empty_input(void **state)
{
   (void)state;
   unsigned char b[1] = { 0 };
   unsigned long long v;
   assert_int_equal(ml_get_uvarint(b, b, &v), 0);
}

static void test_overlong(void **state)
{
   (void)state;
   unsigned long long v;
   /* 11 bytes: ten continuation bytes then a terminator */
   unsigned char eleven[11];
   for (int i = 0; i < 10; i++)
      eleven[i] = 0x80;
   eleven[10] = 0x00;
   assert_int_equal(ml_get_uvarint(eleven, eleven + 11, &v), -1);
   /* 10 bytes whose last byte carries bits beyond 64 */
   unsigned char beyond[10];
   for (int i = 0; i < 9; i++)
      beyond[i] = 0xff;
   beyond[9] = 0x02;
   assert_int_equal(ml_get_uvarint(beyond, beyond + 10, &v), -1);
   beyond[9] = 0x7f;
   assert_int_equal(ml_get_uvarint(beyond, beyond + 10, &v), -1);
   /* the largest legal 10th byte is 0x01 (UINT64_MAX) */
   beyond[9] = 0x01;
   assert_int_equal(ml_get_uvarint(beyond, beyond + 10, &v), 10);
   assert_true(v == UINT64_MAX);
}

static void test_truncated(void **state)
{
   (void)state;
   unsigned char b[3] = { 0x80, 0x80, 0x80 };
   unsigned long long v;
   assert_int_equal(ml_get_uvarint(b, b + 3, &v), 0);
   assert_int_equal(ml_get_uvarint(b, b + 1, &v), 0);
}

static void test_zigzag(void **state)
{
   (void)state;
   static const long long vals[] = { 0, 1, -1, 2, -2, 63, -64, 64,
                                     INT64_MAX, INT64_MIN, INT64_MIN + 1 };
   assert_true(ml_zigzag(0) == 0);
   assert_true(ml_zigzag(-1) == 1);
   assert_true(ml_zigzag(1) == 2);
   assert_true(ml_zigzag(INT64_MAX) == UINT64_MAX - 1);
   assert_true(ml_zigzag(INT64_MIN) == UINT64_MAX);
   for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
      unsigned char buf[ML_MAX_VARINT_LEN];
      unsigned long long u = 0;
      int n = ml_put_uvarint(buf, ml_zigzag(vals[i]));
      assert_int_equal(ml_get_uvarint(buf, buf + n, &u), n);
      assert_true(ml_unzigzag(u) == vals[i]);
   }
}

int main(void)
{
   const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_roundtrip),
      cmocka_unit_test(test_empty_input),
      cmocka_unit_test(test_overlong),
      cmocka_unit_test(test_truncated),
      cmocka_unit_test(test_zigzag),
   };
   return cmocka_run_group_tests(tests, NULL, NULL);
}
