/* test_report_text.c -- exact text of the report: memory_profiler's
   table layout at the default precision, precision 3, --units B with
   widened columns, KiB, negative and near-zero values, blank rows, notes,
   the summary block and the per-function table built from a trace. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hash.h"
#include "model.h"
#include "report_text.h"
#include "source.h"
#include "trace_builder.h"

#define MIB 1048576LL

/* Runs ml_report_table into a string (caller frees). */
static char *table_text(const ml_table *t, ml_unit unit, int precision)
{
   char *buf = NULL;
   size_t n = 0;
   FILE *fp = open_memstream(&buf, &n);
   assert_non_null(fp);
   ml_fmt f = { unit, precision, ML_METRIC_HEAP };
   assert_int_equal(ml_report_table(fp, t, &f), 0);
   fclose(fp);
   return buf;
}

static ml_row row(uint32_t line, int64_t mem, int64_t inc, uint64_t occ,
                  const char *text)
{
   ml_row r = { line, 1, 1, mem, inc, occ, text, text ? strlen(text) : 0 };
   return r;
}

static ml_row blank(uint32_t line, const char *text)
{
   ml_row r = { line, 0, 0, 0, 0, 0, text, text ? strlen(text) : 0 };
   return r;
}

/* Writes len bytes of text to a new temporary file, its path in src[64]. */
static void write_source(char *src, const char *text, size_t len)
{
   tb sb;
   tb_init(&sb);
   sb.len = 0;
   tb_bytes(&sb, text, len);
   assert_int_equal(tb_write_file(&sb, src), 0);
   tb_fini(&sb);
}

/* The report of trace b as memline-report writes it (caller frees): the
   summary and, after a blank line each, the tables of every function; or,
   without summary, the tables alone, a blank line between functions.
   by_default: f->metric is set to the trace's default metric first, as
   memline-report does without --metric.  *nfuncs (if not NULL): how many
   functions the model has. */
static char *report_of(const tb *b, const char *name, ml_fmt *f,
                       int by_default, int summary, size_t *nfuncs)
{
   ml_err err;
   ml_reader *r = ml_reader_open_mem(b->buf, b->len, name, &err);
   assert_non_null(r);
   ml_model *m = ml_model_new(r, &err);
   assert_int_equal(ml_model_load(m, r, &err), 0);
   if (by_default)
      f->metric = ml_model_default_metric(m);
   ml_source *so = ml_source_new(&err);
   char *out = NULL;
   size_t n = 0;
   FILE *fp = open_memstream(&out, &n);
   if (summary)
      assert_int_equal(ml_report_summary(fp, r, m, name, f), 0);
   for (size_t i = 0; i < ml_model_nfuncs(m); i++) {
      if (summary || i > 0)
         fputc('\n', fp);
      assert_int_equal(ml_report_function(fp, r, m, so,
                                          ml_model_func(m, f->metric, i),
                                          f, &err), 0);
   }
   fclose(fp);
   if (nfuncs)
      *nfuncs = ml_model_nfuncs(m);
   ml_source_free(so);
   ml_model_free(m);
   ml_reader_free(r);
   return out;
}

static char *report_text(const tb *b, const char *name, ml_fmt *f,
                         int by_default)
{
   return report_of(b, name, f, by_default, 1, NULL);
}

static const char grow_c[] = "samples/grow.c";

static void test_default_mib(void **state)
{
   (void)state;
   ml_row rows[] = {
      row(12, 24536678, 0, 1, "int main(void) {"),
      row(13, 35022438, 10 * MIB, 1,
          "    char *a = make_buffer(10 << 20);"),
      row(14, 35022438, -10 * MIB, 1, "\tfree(a);"),
      blank(15, "    return 0;"),
      row(16, 0, -1, 0, "}"),
   };
   ml_table t = { grow_c, NULL, 0, rows, 5 };
   char *s = table_text(&t, ML_UNIT_MIB, 1);
   assert_string_equal(s,
"Filename: samples/grow.c\n"
"\n"
"Line #    Mem usage    Increment  Occurrences   Line Contents\n"
"=============================================================\n"
"    12     23.4 MiB      0.0 MiB            1   int main(void) {\n"
"    13     33.4 MiB     10.0 MiB            1       char *a = make_buffer(10 << 20);\n"
"    14     33.4 MiB    -10.0 MiB            1   \tfree(a);\n"
"    15                                              return 0;\n"
"    16      0.0 MiB      0.0 MiB            0   }\n");
   free(s);
}

static void test_precision_3(void **state)
{
   (void)state;
   ml_row rows[] = {
      row(12, 24536678, 0, 1, "int main(void) {"),
      row(13, 35022438, 10 * MIB + 1, 12345, "x"),
   };
   ml_table t = { grow_c, NULL, 0, rows, 2 };
   char *s = table_text(&t, ML_UNIT_MIB, 3);
   assert_string_equal(s,
"Filename: samples/grow.c\n"
"\n"
"Line #    Mem usage    Increment  Occurrences   Line Contents\n"
"=============================================================\n"
"    12   23.400 MiB    0.000 MiB            1   int main(void) {\n"
"    13   33.400 MiB   10.000 MiB        12345   x\n");
   free(s);

   /* precision 0 */
   s = table_text(&t, ML_UNIT_MIB, 0);
   assert_non_null(strstr(s, "    12       23 MiB        0 MiB            1"));
   free(s);
}

static void test_bytes_widen(void **state)
{
   (void)state;
   ml_row rows[] = {
      row(1, 10737418240LL, 10737418240LL, 1, "big();"),
      row(2, 10737418240LL, -5, 1, "small();"),
      blank(3, NULL),
   };
   ml_table t = { "b.c", NULL, 0, rows, 3 };
   char *s = table_text(&t, ML_UNIT_B, 1);     /* precision ignored */
   assert_string_equal(s,
"Filename: b.c\n"
"\n"
"Line #     Mem usage     Increment  Occurrences   Line Contents\n"
"===============================================================\n"
"     1 10737418240 B 10737418240 B            1   big();\n"
"     2 10737418240 B          -5 B            1   small();\n"
"     3\n");
   free(s);

   /* values that fit keep width 12 */
   ml_row small[] = { row(7, 1048576, 4096, 2, "y") };
   ml_table t2 = { "b.c", NULL, 0, small, 1 };
   s = table_text(&t2, ML_UNIT_B, 1);
   assert_string_equal(s,
"Filename: b.c\n"
"\n"
"Line #    Mem usage    Increment  Occurrences   Line Contents\n"
"=============================================================\n"
"     7    1048576 B       4096 B            2   y\n");
   free(s);
}

static void test_kib_and_notes(void **state)
{
   (void)state;
   ml_row rows[] = {
      row(3, 1536, 1536, 1, NULL),
      row(4, 1536, -1536, 1, NULL),
      blank(5, NULL),
   };
   const char *notes[] = { "(source not found: k.c)" };
   ml_table t = { "k.c", notes, 1, rows, 3 };
   char *s = table_text(&t, ML_UNIT_KIB, 1);
   assert_string_equal(s,
"Filename: k.c\n"
"(source not found: k.c)\n"
"\n"
"Line #    Mem usage    Increment  Occurrences   Line Contents\n"
"=============================================================\n"
"     3      1.5 KiB      1.5 KiB            1\n"
"     4      1.5 KiB     -1.5 KiB            1\n"
"     5\n");
   free(s);
}

static void test_format_numbers(void **state)
{
   (void)state;
   char b[64];
   ml_fmt mib = { ML_UNIT_MIB, 1, ML_METRIC_HEAP };
   ml_fmt gib = { ML_UNIT_GIB, 2, ML_METRIC_HEAP };
   ml_fmt by = { ML_UNIT_B, 3, ML_METRIC_HEAP };
   ml_fmt kib = { ML_UNIT_KIB, 12, ML_METRIC_HEAP };
   ml_format_bytes(b, sizeof b, 0, &mib);
   assert_string_equal(b, "0.0 MiB");
   ml_format_bytes(b, sizeof b, -1, &mib);            /* no "-0.0" */
   assert_string_equal(b, "0.0 MiB");
   ml_format_bytes(b, sizeof b, -52428, &mib);        /* -0.0499...: 0 */
   assert_string_equal(b, "0.0 MiB");
   ml_format_bytes(b, sizeof b, -52429 * 2, &mib);
   assert_string_equal(b, "-0.1 MiB");
   ml_format_bytes(b, sizeof b, 3LL << 30, &gib);
   assert_string_equal(b, "3.00 GiB");
   ml_format_bytes(b, sizeof b, -123456789, &by);
   assert_string_equal(b, "-123456789 B");
   ml_format_bytes(b, sizeof b, 1, &kib);
   assert_string_equal(b, "0.000976562500 KiB");
   ml_format_count(b, sizeof b, 0);
   assert_string_equal(b, "0");
   ml_format_count(b, sizeof b, 999);
   assert_string_equal(b, "999");
   ml_format_count(b, sizeof b, 1234567);
   assert_string_equal(b, "1,234,567");
   ml_format_count(b, sizeof b, UINT64_MAX);
   assert_string_equal(b, "18,446,744,073,709,551,615");
   ml_unit u;
   assert_int_equal(ml_unit_parse("KiB", &u), 0);
   assert_int_equal(u, ML_UNIT_KIB);
   assert_int_equal(ml_unit_parse("kib", &u), ML_EINVAL);
}

/* A trace of samples/grow.c-like behaviour, the summary and one table
   built through model + source. */
static void test_summary_and_function(void **state)
{
   (void)state;
   char src[64];
   const char text[] =
      "#include <stdlib.h>\n"               /* 1 */
      "int main(void)\n"                    /* 2 */
      "{\n"                                 /* 3 */
      "   char *a = malloc(10 << 20);\n"    /* 4 */
      "   free(a);\n"                       /* 5 */
      "   if (0)\n"                         /* 6 */
      "      abort();\n"                    /* 7 */
      "   return 0;\n"                      /* 8 */
      "}\n";                                /* 9 */
   write_source(src, text, strlen(text));

   tb b;
   tb_start(&b);
   uint32_t smain = tb_string(&b, "main");
   uint32_t file = tb_string(&b, src);
   uint32_t s4 = tb_stack(&b, 0, tb_loc1(&b, smain, file, 4));
   uint32_t s5 = tb_stack(&b, 0, tb_loc1(&b, smain, file, 5));
   uint32_t cut = tb_stack(&b, 0, 0);
   tb_alloc(&b, 1000, s4, 10 << 20, 0x1000);
   tb_free(&b, 500, s5, 10 << 20, 0x1000);
   tb_alloc(&b, 500, cut, 1 << 20, 0x2000);
   tb_line(&b, smain, file, 3, 1, 0);
   tb_line(&b, smain, file, 4, 1, 0);
   tb_line(&b, smain, file, 5, 1, 10 << 20);
   tb_line(&b, smain, file, 6, 1, 0);
   tb_line(&b, smain, file, 8, 1, 1 << 20);
   tb_trailer(&b, 1234567, 2, 1, 11 << 20, 1 << 20, 10 << 20);

   ml_err err;
   ml_reader *r = ml_reader_open_mem(b.buf, b.len, "t", &err);
   assert_non_null(r);
   ml_model *m = ml_model_new(r, &err);
   assert_int_equal(ml_model_load(m, r, &err), 0);
   ml_source *so = ml_source_new(&err);

   char *out = NULL;
   size_t n = 0;
   FILE *fp = open_memstream(&out, &n);
   ml_fmt f = { ML_UNIT_MIB, 1, ML_METRIC_HEAP };
   assert_int_equal(ml_report_summary(fp, r, m, "memline.out.1234", &f), 0);
   fputc('\n', fp);
   assert_int_equal(ml_model_nfuncs(m), 1);
   assert_int_equal(ml_report_function(fp, r, m, so, ml_model_func(m, ML_METRIC_HEAP, 0),
                                       &f, &err), 0);
   fclose(fp);
   char expect[2048];
   snprintf(expect, sizeof expect,
"Command:          ./prog 10\n"
"Trace:            memline.out.1234 (complete)\n"
"Instructions:     1,234,567\n"
"Peak heap:        10.0 MiB at instruction 1,000\n"
"Allocations:      2 (11.0 MiB allocated)\n"
"Frees:            1\n"
"Leaked at exit:   1.0 MiB in 1 block\n"
"Stacks cut:       1 of 2 allocations (depth 64)\n"
"Metric:           heap (live malloc/new bytes; no RSS in this trace)\n"
"\n"
"Filename: %s\n"
"\n"
"Line #    Mem usage    Increment  Occurrences   Line Contents\n"
"=============================================================\n"
"     2                                          int main(void)\n"
"     3      0.0 MiB      0.0 MiB            1   {\n"
"     4     10.0 MiB     10.0 MiB            1      char *a = malloc(10 << 20);\n"
"     5     10.0 MiB    -10.0 MiB            1      free(a);\n"
"     6      0.0 MiB      0.0 MiB            1      if (0)\n"
"     7                                                abort();\n"
"     8      1.0 MiB      0.0 MiB            1      return 0;\n"
"     9                                          }\n", src);
   assert_string_equal(out, expect);
   free(out);

   /* the same file, changed since the run per its FILE record */
   ml_source_free(so);
   so = ml_source_new(&err);
   ml_file_facts facts = { strlen(text), 0, 12345 };
   const ml_source_file *sf = ml_source_get(so, src, &facts, &err);
   assert_true(ml_source_found(sf));
   assert_true(ml_source_changed(sf));
   facts.hash = ml_fnv1a64(text, strlen(text), ML_FNV1A64_INIT);
   ml_source_free(so);
   so = ml_source_new(&err);
   sf = ml_source_get(so, src, &facts, &err);
   assert_false(ml_source_changed(sf));

   ml_source_free(so);
   ml_model_free(m);
   ml_reader_free(r);
   tb_fini(&b);
   unlink(src);
}

/* Two member functions of one name (inlined overloads, which the debug
   info names alike) fall in one model function: each is listed as a
   table of its own, from its declarator (or its one line) to its closing
   brace, not the text between them or the class around them. */
static void test_overloads_split(void **state)
{
   (void)state;
   char src[64];
   const char text[] =
      "struct S {\n"                        /* 1 */
      "  int\n"                             /* 2 */
      "  get(int i)\n"                      /* 3 */
      "  {\n"                               /* 4 */
      "    check(i);\n"                     /* 5 */
      "    return v[i];\n"                  /* 6 */
      "  }\n"                               /* 7 */
      "  // the other one\n"                /* 8 */
      "  int\n"                             /* 9 */
      "  get() { return v[0]; }\n"          /* 10 */
      "};\n";                               /* 11 */
   write_source(src, text, strlen(text));

   tb b;
   tb_start(&b);
   uint32_t sget = tb_string(&b, "get");
   uint32_t file = tb_string(&b, src);
   tb_line(&b, sget, file, 6, 3, 0);
   tb_line(&b, sget, file, 10, 2, 0);
   tb_trailer(&b, 1000, 0, 0, 0, 0, 0);

   ml_fmt f = { ML_UNIT_B, 0, ML_METRIC_HEAP };
   size_t nfuncs;
   char *out = report_of(&b, "t", &f, 0, 0, &nfuncs);
   assert_int_equal(nfuncs, 1);
   char expect[2048];
   snprintf(expect, sizeof expect,
"Filename: %s\n"
"\n"
"Line #    Mem usage    Increment  Occurrences   Line Contents\n"
"=============================================================\n"
"     2                                            int\n"
"     3                                            get(int i)\n"
"     4                                            {\n"
"     5                                              check(i);\n"
"     6          0 B          0 B            3       return v[i];\n"
"     7                                            }\n"
"\n"
"Filename: %s\n"
"\n"
"Line #    Mem usage    Increment  Occurrences   Line Contents\n"
"=============================================================\n"
"    10          0 B          0 B            2     get() { return v[0]; }\n",
            src, src);
   assert_string_equal(out, expect);
   free(out);
   tb_fini(&b);
   unlink(src);
}

/* A function longer than the look-ahead for its closing brace is still
   one table, from its declarator to its closing brace. */
static void test_long_function_one_table(void **state)
{
   (void)state;
   char src[64], text[16 + 2500 * 7 + 2 + 1];
   size_t len = (size_t)sprintf(text, "void f(void) {\n");  /* line 1 */
   for (int i = 0; i < 2500; i++)                     /* lines 2..2501 */
      len += (size_t)sprintf(text + len, "  x++;\n");
   len += (size_t)sprintf(text + len, "}\n");        /* line 2502 */
   write_source(src, text, len);

   tb b;
   tb_start(&b);
   uint32_t sf_ = tb_string(&b, "f");
   uint32_t file = tb_string(&b, src);
   tb_line(&b, sf_, file, 1, 1, 0);
   tb_line(&b, sf_, file, 2, 1, 0);
   tb_line(&b, sf_, file, 2501, 1, 0);
   tb_trailer(&b, 1000, 0, 0, 0, 0, 0);

   ml_fmt f = { ML_UNIT_B, 0, ML_METRIC_HEAP };
   char *out = report_of(&b, "t", &f, 0, 0, NULL);
   size_t tables = 0, rows = 0;
   for (const char *p = out; (p = strstr(p, "Filename: ")); p++)
      tables++;
   for (const char *p = out; *p; p++)
      rows += *p == '\n';
   assert_int_equal(tables, 1);
   assert_int_equal(rows, 4 + 2502);        /* heading, blank, header, rule */
   assert_non_null(strstr(out, "  2502                                          }\n"));
   free(out);
   tb_fini(&b);
   unlink(src);
}

/* LINE records up to the largest line number, 2^32 - 1, of a source
   that exists: the walk over the function's lines ends there (a 32-bit
   counter wrapped around and never did). */
static void test_last_line_number(void **state)
{
   (void)state;
   char src[64];
   write_source(src, "int main(void)\n{\n}\n", 19);
   tb b;
   tb_start(&b);
   uint32_t fn = tb_string(&b, "main");
   uint32_t file = tb_string(&b, src);
   tb_line(&b, fn, file, 4294967292u, 1, 0);
   tb_line(&b, fn, file, 4294967295u, 2, 0);
   tb_trailer(&b, 10, 0, 0, 0, 0, 0);
   ml_fmt f = { ML_UNIT_B, 0, ML_METRIC_HEAP };
   char *out = report_of(&b, "t", &f, 0, 0, NULL);
   assert_non_null(strstr(out, "4294967292          0 B          0 B            1\n"
                               "4294967293\n4294967294\n"));
   assert_non_null(strstr(out, "4294967295          0 B          0 B            2\n"));
   free(out);
   tb_fini(&b);
   unlink(src);
}

/* Functions wider than a table can walk list only their lines with data,
   in line order, each function its own (the lines of all functions are
   indexed by function once, not searched per function). */
static void test_sparse_functions(void **state)
{
   (void)state;
   tb b;
   tb_start(&b);
   uint32_t g = tb_string(&b, "g");
   uint32_t h = tb_string(&b, "h");
   uint32_t file = tb_string(&b, "/nonexistent/wide.c");
   tb_line(&b, h, file, 90000, 3, 0);
   tb_line(&b, g, file, 50000, 2, 0);
   tb_line(&b, h, file, 10, 4, 0);
   tb_line(&b, g, file, 5, 1, 0);
   tb_line(&b, h, file, 40000, 5, 0);
   tb_trailer(&b, 10, 0, 0, 0, 0, 0);
   ml_fmt f = { ML_UNIT_B, 0, ML_METRIC_HEAP };
   char *out = report_of(&b, "t", &f, 0, 0, NULL);
   const char *gt = strstr(out, "     5          0 B          0 B            1\n"
                                " 50000          0 B          0 B            2\n");
   const char *ht = strstr(out, "    10          0 B          0 B            4\n"
                                " 40000          0 B          0 B            5\n"
                                " 90000          0 B          0 B            3\n");
   assert_non_null(gt);
   assert_non_null(ht);
   size_t notes = 0;
   for (const char *p = out; (p = strstr(p, "only lines with data are shown")); p++)
      notes++;
   assert_int_equal(notes, 2);
   free(out);
   tb_fini(&b);
}

/* Missing source: placeholder note, empty contents, range from LINE
   records only; truncated trace summary. */
static void test_missing_source_truncated(void **state)
{
   (void)state;
   tb b;
   tb_start(&b);
   uint32_t sf = tb_string(&b, "f(int)");
   uint32_t file = tb_string(&b, "/nonexistent/dir/x.c");
   uint32_t s = tb_stack(&b, 0, tb_loc1(&b, sf, file, 21));
   tb_line(&b, sf, file, 20, 1, 0);
   tb_line(&b, sf, file, 22, 0, 0);
   tb_alloc(&b, 7, s, 2048, 0x10);
   size_t cut = b.len;
   tb_alloc(&b, 7, s, 2048, 0x20);
   b.len = cut + 2;

   ml_err err;
   ml_reader *r = ml_reader_open_mem(b.buf, b.len, "t", &err);
   ml_model *m = ml_model_new(r, &err);
   assert_int_equal(ml_model_load(m, r, &err), 0);
   ml_source *so = ml_source_new(&err);
   char *out = NULL;
   size_t n = 0;
   FILE *fp = open_memstream(&out, &n);
   ml_fmt f = { ML_UNIT_KIB, 1, ML_METRIC_HEAP };
   ml_report_summary(fp, r, m, "t", &f);
   ml_report_function(fp, r, m, so, ml_model_func(m, ML_METRIC_HEAP, 0), &f, &err);
   fclose(fp);
   char expect[2048];
   snprintf(expect, sizeof expect,
"Command:          ./prog 10\n"
"Trace:            t (truncated at offset %zu)\n"
"Instructions:     7\n"
"Peak heap:        2.0 KiB at instruction 7\n"
"Allocations:      1 (2.0 KiB allocated)\n"
"Frees:            0\n"
"Live at cut:      2.0 KiB in 1 block\n"
"Stacks cut:       0 of 1 allocations (depth 64)\n"
"Metric:           heap (live malloc/new bytes; no RSS in this trace)\n"
"Filename: /nonexistent/dir/x.c\n"
"(source not found: /nonexistent/dir/x.c)\n"
"\n"
"Line #    Mem usage    Increment  Occurrences   Line Contents\n"
"=============================================================\n"
"    20      0.0 KiB      0.0 KiB            1\n"
"    21      2.0 KiB      2.0 KiB\n"
"    22\n", cut);
   assert_string_equal(out, expect);
   free(out);
   ml_source_free(so);
   ml_model_free(m);
   ml_reader_free(r);
   tb_fini(&b);
}

/* A trace with RSS: the summary's RSS lines (complete and cut, KiB and
   B) and the same function's table under each metric. */
static void test_rss_summary_and_tables(void **state)
{
   (void)state;
   char src[64];
   const char text[] =
      "#include <stdlib.h>\n"               /* 1 */
      "int main(void)\n"                    /* 2 */
      "{\n"                                 /* 3 */
      "   char *a = malloc(10 << 20);\n"    /* 4 */
      "   memset(a, 1, 10 << 20);\n"        /* 5 */
      "   free(a);\n"                       /* 6 */
      "   return 0;\n"                      /* 7 */
      "}\n";                                /* 8 */
   write_source(src, text, strlen(text));

   const uint64_t K = 1024, base = 264 * K;  /* code 256 KiB, stack 8 */
   tb b;
   tb_start_rss(&b);
   uint32_t smain = tb_string(&b, "main");
   uint32_t file = tb_string(&b, src);
   uint32_t s4 = tb_stack(&b, 0, tb_loc1(&b, smain, file, 4));
   uint32_t s5 = tb_stack(&b, 0, tb_loc1(&b, smain, file, 5));
   uint32_t s6 = tb_stack(&b, 0, tb_loc1(&b, smain, file, 6));
   tb_page(&b, 0, 0, ML_PAGE_CODE, 64);
   tb_page(&b, 0, 0, ML_PAGE_STACK, 2);
   tb_alloc(&b, 1000, s4, 10 << 20, 0x1000);
   tb_page(&b, 500, s5, ML_PAGE_ANON, 2560);
   tb_free(&b, 500, s6, 10 << 20, 0x1000);
   tb_page(&b, 0, s6, ML_PAGE_ANON, -2560);
   tb_line_rss(&b, smain, file, 3, 1, 0, base);
   tb_line_rss(&b, smain, file, 4, 1, 0, base);
   tb_line_rss(&b, smain, file, 5, 1, 10 << 20, base);
   tb_line_rss(&b, smain, file, 6, 1, 10 << 20, base + (10 << 20));
   tb_line_rss(&b, smain, file, 7, 1, 0, base);
   size_t cut = b.len;
   tb_trailer_rss(&b, 2000, 1, 1, 10 << 20, 0, 10 << 20, base + (10 << 20),
                  base);

   /* the default for a trace with RSS */
   ml_fmt f = { ML_UNIT_KIB, 1, ML_METRIC_HEAP };
   char *out = report_text(&b, "memline.out.1234", &f, 1);
   assert_int_equal(f.metric, ML_METRIC_RSS);
   char expect[4096];
   snprintf(expect, sizeof expect,
"Command:          ./prog 10\n"
"Trace:            memline.out.1234 (complete)\n"
"Instructions:     2,000\n"
"Peak RSS:         10504.0 KiB at instruction 1,500 (anon 10240.0, file 0.0, stack 8.0, code 256.0 KiB)\n"
"Final RSS:        264.0 KiB (anon 0.0, file 0.0, stack 8.0, code 256.0 KiB)\n"
"Peak heap:        10240.0 KiB at instruction 1,000\n"
"Allocations:      1 (10240.0 KiB allocated)\n"
"Frees:            1\n"
"Leaked at exit:   0.0 KiB in 0 blocks\n"
"Stacks cut:       0 of 1 allocations (depth 64)\n"
"Metric:           rss (resident pages; --metric heap for the heap)\n"
"\n"
"Filename: %s\n"
"\n"
"Line #    Mem usage    Increment  Occurrences   Line Contents\n"
"=============================================================\n"
"     2                                          int main(void)\n"
"     3    264.0 KiB      0.0 KiB            1   {\n"
"     4    264.0 KiB      0.0 KiB            1      char *a = malloc(10 << 20);\n"
"     5  10504.0 KiB  10240.0 KiB            1      memset(a, 1, 10 << 20);\n"
"     6  10504.0 KiB -10240.0 KiB            1      free(a);\n"
"     7    264.0 KiB      0.0 KiB            1      return 0;\n"
"     8                                          }\n", src);
   assert_string_equal(out, expect);
   free(out);

   /* --metric heap on the same trace */
   f.metric = ML_METRIC_HEAP;
   out = report_text(&b, "memline.out.1234", &f, 0);
   snprintf(expect, sizeof expect,
"Command:          ./prog 10\n"
"Trace:            memline.out.1234 (complete)\n"
"Instructions:     2,000\n"
"Peak RSS:         10504.0 KiB at instruction 1,500 (anon 10240.0, file 0.0, stack 8.0, code 256.0 KiB)\n"
"Final RSS:        264.0 KiB (anon 0.0, file 0.0, stack 8.0, code 256.0 KiB)\n"
"Peak heap:        10240.0 KiB at instruction 1,000\n"
"Allocations:      1 (10240.0 KiB allocated)\n"
"Frees:            1\n"
"Leaked at exit:   0.0 KiB in 0 blocks\n"
"Stacks cut:       0 of 1 allocations (depth 64)\n"
"Metric:           heap (live malloc/new bytes; --metric rss for resident pages)\n"
"\n"
"Filename: %s\n"
"\n"
"Line #    Mem usage    Increment  Occurrences   Line Contents\n"
"=============================================================\n"
"     2                                          int main(void)\n"
"     3      0.0 KiB      0.0 KiB            1   {\n"
"     4  10240.0 KiB  10240.0 KiB            1      char *a = malloc(10 << 20);\n"
"     5  10240.0 KiB      0.0 KiB            1      memset(a, 1, 10 << 20);\n"
"     6  10240.0 KiB -10240.0 KiB            1      free(a);\n"
"     7      0.0 KiB      0.0 KiB            1      return 0;\n"
"     8                                          }\n", src);
   assert_string_equal(out, expect);
   free(out);

   /* cut before the TRAILER, in bytes: "RSS at cut:", the kinds in B */
   b.len = cut;
   f = (ml_fmt){ ML_UNIT_B, 1, ML_METRIC_RSS };
   out = report_text(&b, "t", &f, 0);
   snprintf(expect, sizeof expect,
"Command:          ./prog 10\n"
"Trace:            t (truncated at offset %zu)\n"
"Instructions:     2,000\n"
"Peak RSS:         10756096 B at instruction 1,500 (anon 10485760, file 0, stack 8192, code 262144 B)\n"
"RSS at cut:       270336 B (anon 0, file 0, stack 8192, code 262144 B)\n"
"Peak heap:        10485760 B at instruction 1,000\n", cut);
   assert_non_null(out);
   assert_memory_equal(out, expect, strlen(expect));
   free(out);

   tb_fini(&b);
   unlink(src);
}

/* A trace timed in units of U instructions: the summary says the
   resolution once, under Instructions (exact, from the TRAILER), and its
   peak times are starts of units; with U = 1 there is no such line. */
static void test_time_resolution(void **state)
{
   (void)state;
   static const struct { uint64_t unit; const char *expect; } cases[] = {
      { (uint64_t)1 << 20,
"Command:          ./prog 10\n"
"Trace:            t (complete)\n"
"Instructions:     9,999,999\n"
"Time resolution:  1,048,576 instructions\n"
"Peak RSS:         12.0 KiB at instruction 5,242,880 (anon 8.0, file 0.0, stack 0.0, code 4.0 KiB)\n"
"Final RSS:        8.0 KiB (anon 4.0, file 0.0, stack 0.0, code 4.0 KiB)\n"
"Peak heap:        3.0 KiB at instruction 3,145,728\n" },
      { 1000,
"Command:          ./prog 10\n"
"Trace:            t (complete)\n"
"Instructions:     9,999,999\n"
"Time resolution:  1,000 instructions\n"
"Peak RSS:         12.0 KiB at instruction 5,000 (anon 8.0, file 0.0, stack 0.0, code 4.0 KiB)\n"
"Final RSS:        8.0 KiB (anon 4.0, file 0.0, stack 0.0, code 4.0 KiB)\n"
"Peak heap:        3.0 KiB at instruction 3,000\n" },
      { 1,
"Command:          ./prog 10\n"
"Trace:            t (complete)\n"
"Instructions:     9,999,999\n"
"Peak RSS:         12.0 KiB at instruction 5 (anon 8.0, file 0.0, stack 0.0, code 4.0 KiB)\n"
"Final RSS:        8.0 KiB (anon 4.0, file 0.0, stack 0.0, code 4.0 KiB)\n"
"Peak heap:        3.0 KiB at instruction 3\n" },
   };
   for (int i = 0; i < 3; i++) {
      tb b;
      tb_init(&b);
      tb_header_full(&b, 64, ML_HDR_LINES | ML_HDR_RSS, 0, cases[i].unit);
      uint32_t fn = tb_string(&b, "main");
      uint32_t st = tb_stack(&b, 0, tb_loc1(&b, fn, fn, 1));
      tb_page(&b, 0, 0, ML_PAGE_CODE, 1);
      tb_alloc(&b, 1, st, 1024, 0x10);             /* unit 1 */
      tb_alloc(&b, 2, st, 2048, 0x20);             /* unit 3: peak heap */
      tb_page(&b, 2, st, ML_PAGE_ANON, 2);         /* unit 5: peak RSS */
      tb_free(&b, 1, st, 2048, 0x20);
      tb_page(&b, 0, st, ML_PAGE_ANON, -1);
      tb_trailer_rss(&b, 9999999, 2, 1, 3072, 1024, 3072, 12288, 8192);
      ml_fmt f = { ML_UNIT_KIB, 1, ML_METRIC_HEAP };
      char *out = report_text(&b, "t", &f, 0);
      assert_non_null(out);
      assert_memory_equal(out, cases[i].expect, strlen(cases[i].expect));
      free(out);
      tb_fini(&b);
   }
}

int main(void)
{
   const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_default_mib),
      cmocka_unit_test(test_precision_3),
      cmocka_unit_test(test_bytes_widen),
      cmocka_unit_test(test_kib_and_notes),
      cmocka_unit_test(test_format_numbers),
      cmocka_unit_test(test_summary_and_function),
      cmocka_unit_test(test_overloads_split),
      cmocka_unit_test(test_long_function_one_table),
      cmocka_unit_test(test_last_line_number),
      cmocka_unit_test(test_sparse_functions),
      cmocka_unit_test(test_missing_source_truncated),
      cmocka_unit_test(test_rss_summary_and_tables),
      cmocka_unit_test(test_time_resolution),
   };
   return cmocka_run_group_tests(tests, NULL, NULL);
}
