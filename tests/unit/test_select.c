/* test_select.c -- function selection: C++ parameter lists stripped for
   --function, basename matching for --file, AND between the two kinds,
   --top over the ranking, source order for explicit selections, and the
   list of globs that matched nothing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "select.h"
#include "trace_builder.h"

static void test_names(void **state)
{
   (void)state;
   assert_int_equal(ml_name_without_params("foo"), 3);
   assert_int_equal(ml_name_without_params("foo(int)"), 3);
   assert_int_equal(ml_name_without_params("ns::f(std::pair<int, int>) const"),
                    5);
   assert_int_equal(ml_name_without_params("operator()(int)"), 10);
   assert_int_equal(ml_name_without_params("(anonymous namespace)::g"), 24);
   assert_int_equal(ml_name_without_params("f(int (*)(char))"), 1);
   assert_true(ml_function_matches("foo", "foo(int)"));
   assert_true(ml_function_matches("foo(int)", "foo(int)"));
   assert_true(ml_function_matches("*::f", "ns::f(int) const"));
   assert_false(ml_function_matches("fo", "foo(int)"));
   assert_true(ml_file_matches("grow.c", "samples/grow.c"));
   assert_true(ml_file_matches("samples/*", "samples/grow.c"));
   assert_true(ml_file_matches("*.c", "/abs/path/x.c"));
   assert_false(ml_file_matches("*.cc", "x.c"));
}

static void test_run(void **state)
{
   (void)state;
   tb b;
   tb_start(&b);
   uint32_t fa = tb_string(&b, "alpha(int)"), fb = tb_string(&b, "beta");
   uint32_t fc = tb_string(&b, "gamma");
   uint32_t x = tb_string(&b, "src/x.c"), y = tb_string(&b, "src/y.c");
   tb_alloc(&b, 1, tb_stack(&b, 0, tb_loc1(&b, fa, y, 10)), 300, 1);
   tb_alloc(&b, 1, tb_stack(&b, 0, tb_loc1(&b, fb, x, 20)), 200, 2);
   tb_alloc(&b, 1, tb_stack(&b, 0, tb_loc1(&b, fc, x, 5)), 100, 3);
   tb_line(&b, fa, y, 10, 1, 0);
   tb_line(&b, fb, x, 20, 1, 0);
   tb_line(&b, fc, x, 5, 1, 0);
   ml_err err;
   ml_reader *r = ml_reader_open_mem(b.buf, b.len, "t", &err);
   ml_model *m = ml_model_new(r, &err);
   assert_int_equal(ml_model_load(m, r, &err), 0);

   const ml_func_stats **sel;
   size_t n;
   char *un;
   ml_select *s = ml_select_new(&err);
   /* default: --top 2 by bytes */
   assert_int_equal(ml_select_run(s, r, m, ML_METRIC_HEAP, 2, &sel, &n, &un, &err), 0);
   assert_int_equal(n, 2);
   assert_int_equal(sel[0]->fn, fa);
   assert_int_equal(sel[1]->fn, fb);
   assert_string_equal(un, "");
   free(sel);
   free(un);
   /* --top 0: all */
   assert_int_equal(ml_select_run(s, r, m, ML_METRIC_HEAP, 0, &sel, &n, NULL, &err), 0);
   assert_int_equal(n, 3);
   free(sel);

   /* --file x.c: source order (gamma at line 5 before beta at 20) */
   ml_select_add_file(s, "x.c", &err);
   assert_int_equal(ml_select_run(s, r, m, ML_METRIC_HEAP, 1, &sel, &n, &un, &err), 0);
   assert_int_equal(n, 2);
   assert_int_equal(sel[0]->fn, fc);
   assert_int_equal(sel[1]->fn, fb);
   free(sel);
   free(un);

   /* --file x.c --function alpha --function 'b*' --function nope:
      beta only (alpha is in y.c); nope reported */
   ml_select_add_function(s, "alpha", &err);
   ml_select_add_function(s, "b*", &err);
   ml_select_add_function(s, "nope", &err);
   assert_int_equal(ml_select_run(s, r, m, ML_METRIC_HEAP, 5, &sel, &n, &un, &err), 0);
   assert_int_equal(n, 1);
   assert_int_equal(sel[0]->fn, fb);
   assert_string_equal(un, "--function nope");
   assert_string_equal(un + strlen(un) + 1, "");
   free(sel);
   free(un);
   ml_select_free(s);
   ml_select_free(NULL);

   ml_model_free(m);
   ml_reader_free(r);
   tb_fini(&b);
}

int main(void)
{
   const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_names),
      cmocka_unit_test(test_run),
   };
   return cmocka_run_group_tests(tests, NULL, NULL);
}
