/* fuzz_trace_reader.c -- libFuzzer target for the whole analyzer path:
   trace reader (in memory and through a file descriptor), model, function
   selection and the text report (written to /dev/null; for one metric
   with the source files the trace names looked up).
   The two reading paths must agree on every record; a difference aborts.

   Not part of `make check`.  Build and run (clang 14), from the top of
   the tree:

     mkdir -p build/fuzz/corpus && \
     clang -g -O1 -std=c11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
       -Ianalyzer -Ivg-tool -Itests/unit \
       $(ls analyzer/[a-z]*.c | grep -v main.c) tests/fuzz/fuzz_trace_reader.c \
       -o build/fuzz/fuzz_trace_reader -lm -lzstd -pthread && \
     clang -std=c11 -D_GNU_SOURCE -DFUZZ_WRITE_SEEDS -Ivg-tool -Itests/unit \
       tests/fuzz/fuzz_trace_reader.c -o build/fuzz/write_seeds && \
     build/fuzz/write_seeds build/fuzz/corpus && \
     build/fuzz/fuzz_trace_reader -max_total_time=120 -rss_limit_mb=1024 \
       build/fuzz/corpus

   A crash leaves crash-<sha1> in the current directory; replay it with
   build/fuzz/fuzz_trace_reader crash-<sha1>. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef FUZZ_WRITE_SEEDS

#include "model.h"
#include "report_text.h"
#include "select.h"
#include "source.h"
#include "trace_reader.h"

/* Reads every record; returns a digest of what was read and the final
   status. */
static uint64_t drain(ml_reader *r, int *rc_out)
{
   uint64_t h = 14695981039346656037ULL;
   ml_record rec;
   int rc;
   while ((rc = ml_reader_next(r, &rec)) > 0) {
      uint64_t v[6] = { rec.kind, rec.offset, rec.now, 0, 0, 0 };
      switch (rec.kind) {
      case ML_REC_ALLOC:
      case ML_REC_FREE:
         v[3] = rec.u.block.size;
         v[4] = rec.u.block.id;
         break;
      case ML_REC_PAGE:
         v[3] = rec.u.page.stack;
         v[4] = rec.u.page.kind;
         v[5] = (uint64_t)rec.u.page.count;
         break;
      case ML_REC_LINE:
         v[3] = rec.u.line.hw_heap;
         v[4] = rec.u.line.hw_rss;
         break;
      case ML_REC_TRAILER:
         v[3] = (uint64_t)rec.u.trailer.has_rss;
         v[4] = rec.u.trailer.rss_peak;
         v[5] = rec.u.trailer.rss_final;
         break;
      default:
         break;
      }
      for (int i = 0; i < 6; i++)
         h = (h ^ v[i]) * 1099511628211ULL;
   }
   uint64_t off;
   h = (h ^ (uint64_t)ml_reader_end_state(r, &off)) * 1099511628211ULL;
   h = (h ^ off) * 1099511628211ULL;
   *rc_out = rc;
   return h;
}

/* Whether two error messages say the same.  For corrupt zstd data the
   part after "corrupt zstd data" is libzstd's own words, which depend on
   how much input it was handed at once (the file reader feeds it in
   chunks, the in-memory one whole): only the part up to there must agree. */
static int same_error(const char *a, const char *b)
{
   static const char z[] = "corrupt zstd data";
   const char *za = strstr(a, z), *zb = strstr(b, z);
   if (za && zb)
      return za - a == zb - b && strncmp(a, b, (size_t)(za - a)) == 0;
   return strcmp(a, b) == 0;
}

/* The same input through a memfd and the streaming reader. */
static void differential(const uint8_t *data, size_t size)
{
   int fd = memfd_create("fuzz", 0);
   if (fd < 0)
      return;
   if (write(fd, data, size) != (ssize_t)size) {
      close(fd);
      return;
   }
   char path[64];
   snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
   ml_err e1, e2;
   ml_reader *rf = ml_reader_open(path, &e1);
   ml_reader *rm = ml_reader_open_mem(data, size, path, &e2);
   if (!rf != !rm)
      abort();
   if (rf) {
      int rcf, rcm;
      if (drain(rf, &rcf) != drain(rm, &rcm) || rcf != rcm)
         abort();
      if (!same_error(ml_reader_strerror(rf), ml_reader_strerror(rm)))
         abort();
   } else if (!same_error(e1.msg, e2.msg)) {
      abort();
   }
   ml_reader_free(rf);
   ml_reader_free(rm);
   close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
   static FILE *devnull;
   if (!devnull && !(devnull = fopen("/dev/null", "w")))
      abort();

   differential(data, size);

   ml_err err;
   ml_reader *r = ml_reader_open_mem(data, size, "fuzz", &err);
   if (!r)
      return 0;
   ml_model *m = ml_model_new(r, &err);
   ml_select *s = ml_select_new(&err);
   ml_source *so = ml_source_new(&err);
   if (m && s && so && ml_model_load(m, r, &err) == 0) {
      for (int k = 0; k < ML_METRICS; k++) {
         ml_fmt f = { k ? ML_UNIT_B : ML_UNIT_MIB, 1, (ml_metric)k };
         ml_report_summary(devnull, r, m, "fuzz", &f);
         const ml_func_stats **sel;
         size_t n;
         /* the top 5 without sources; the top 20 with them (the seeds
            name samples/loop.c: run from the top of the tree) */
         if (ml_select_run(s, r, m, f.metric, k ? 20 : 5, &sel, &n, NULL,
                           &err) == 0) {
            for (size_t i = 0; i < n; i++)
               ml_report_function(devnull, r, m, k ? so : NULL, sel[i], &f,
                                  &err);
            free(sel);
         }
      }
   }
   ml_source_free(so);
   ml_select_free(s);
   ml_model_free(m);
   ml_reader_free(r);
   return 0;
}

#else  /* FUZZ_WRITE_SEEDS: writes a small seed corpus into argv[1] */

#include "trace_builder.h"

static void save(const char *dir, const char *name, const tb *b)
{
   char path[512];
   snprintf(path, sizeof path, "%s/%s", dir, name);
   FILE *fp = fopen(path, "wb");
   if (!fp || fwrite(b->buf, 1, b->len, fp) != b->len || fclose(fp))
      perror(path), exit(1);
}

int main(int argc, char **argv)
{
   if (argc != 2)
      return fprintf(stderr, "usage: write_seeds DIR\n"), 2;
   tb b;
   tb_start(&b);
   uint32_t fm = tb_string(&b, "main"), ff = tb_string(&b, "f(int)");
   uint32_t file = tb_string(&b, "samples/loop.c");
   const uint32_t fr[2][3] = { { ff, file, 3 }, { fm, file, 9 } };
   uint32_t l2 = tb_loc(&b, 0x10, 2, fr);
   uint32_t s1 = tb_stack(&b, 0, tb_loc1(&b, fm, file, 8));
   uint32_t s2 = tb_stack(&b, s1, l2);
   uint32_t cut = tb_stack(&b, 0, 0);
   uint32_t s3 = tb_stack(&b, cut, tb_loc1(&b, ff, file, 4));
   tb_thread(&b, 1);
   tb_alloc(&b, 10, s1, 100, 0x1000);
   tb_alloc(&b, 10, s2, 1 << 20, 0x2000);
   tb_time(&b, 3, 1);
   tb_page(&b, 1, s2, 0, 4);
   tb_free_known(&b, ML_TAG_FREE, 10, s2, 1);   /* the size from ALLOC's */
   tb_alloc(&b, 10, s3, 7, 0x3000);
   tb_line(&b, fm, file, 8, 1, 0);
   tb_line(&b, fm, file, 9, 2, 100);
   tb_line(&b, ff, file, 3, 1, 100);
   tb_line(&b, ff, file, 4, 1, 100);
   tb_file(&b, file, 100, 1, 2);
   tb_mark(&b, 1, tb_string(&b, "mark"));
   save(argv[1], "truncated", &b);
   tb_trailer(&b, 100, 3, 1, 100 + (1 << 20) + 7, 107, (1 << 20) + 100);
   save(argv[1], "complete", &b);
   tb_fini(&b);

   /* with RSS: PAGE records of every kind, stack 0, releases, hw_rss,
      the trailer's RSS pair */
   tb_start_rss(&b);
   fm = tb_string(&b, "main");
   ff = tb_string(&b, "f");
   file = tb_string(&b, "a.c");
   s1 = tb_stack(&b, 0, tb_loc1(&b, fm, file, 8));
   s2 = tb_stack(&b, s1, tb_loc1(&b, ff, file, 3));
   s3 = tb_stack(&b, s2, tb_loc1(&b, ff, file, 3));
   tb_page(&b, 0, 0, ML_PAGE_CODE, 40);
   tb_page(&b, 0, 0, ML_PAGE_STACK, 2);
   tb_alloc(&b, 10, s2, 1 << 20, 0x2000);
   tb_page(&b, 5, s3, ML_PAGE_ANON, 256);
   tb_page(&b, 5, s1, ML_PAGE_FILE, 3);
   tb_free(&b, 10, s1, 1 << 20, 0x2000);
   tb_page(&b, 0, s1, ML_PAGE_ANON, -256);
   tb_line_rss(&b, fm, file, 8, 1, 0, 42 * 4096);
   tb_line_rss(&b, ff, file, 3, 2, 1 << 20, 42 * 4096);
   tb_trailer_rss(&b, 40, 1, 1, 1 << 20, 0, 1 << 20, 301 * 4096,
                  45 * 4096);
   save(argv[1], "rss", &b);
   tb_fini(&b);

   /* format 4's coarse clock (dt in units of 2^20 instructions, a sum
      near the 64-bit limit) in a forked child's trace: two inherited
      blocks, then the child's own allocation at the same time */
   tb_init(&b);
   tb_header_full(&b, 64, ML_HDR_LINES | ML_HDR_FORK_CHILD, 2,
                  (uint64_t)1 << 20);
   fm = tb_string(&b, "main");
   file = tb_string(&b, "a.c");
   s1 = tb_stack(&b, 0, tb_loc1(&b, fm, file, 8));
   tb_alloc(&b, 0, 0, 1000, 0x1000);
   tb_calloc(&b, 0, 0, 24, 0x1008);
   tb_alloc(&b, 0, s1, 64, 0x2000);
   tb_time(&b, 5, 1);
   tb_free(&b, 1, s1, 1000, 0x1000);
   tb_mark(&b, (UINT64_MAX >> 20) - 7, tb_string(&b, "late"));
   tb_line(&b, fm, file, 8, 1, 1024);
   tb_trailer(&b, UINT64_MAX, 1, 1, 64, 88, 1088);
   save(argv[1], "time_unit", &b);
   tb_fini(&b);
   return 0;
}

#endif
