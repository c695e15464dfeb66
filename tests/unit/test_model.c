/* test_model.c -- the numbers of the model: inclusive attribution,
   recursion counted once, negative increments, high-water marks (events
   and LINE records), leaks, peak and its time, cut stacks, anomalies and
   function ranking. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "model.h"
#include "trace_builder.h"

#define H ML_METRIC_HEAP
#define R ML_METRIC_RSS

typedef struct fixture {
   tb b;
   ml_reader *r;
   ml_model *m;
} fixture;

/* Reads b and builds the model, with the live-block table when verify;
   asserts success. */
static void load_v(fixture *f, int verify)
{
   ml_err err;
   f->r = ml_reader_open_mem(f->b.buf, f->b.len, "t", &err);
   if (!f->r)
      fail_msg("%s", err.msg);
   f->m = ml_model_new(f->r, &err);
   assert_non_null(f->m);
   ml_model_set_verify(f->m, verify);
   if (ml_model_load(f->m, f->r, &err))
      fail_msg("%s", err.msg);
}

static void load(fixture *f)
{
   load_v(f, 0);
}

static void done(fixture *f)
{
   ml_model_free(f->m);
   ml_reader_free(f->r);
   tb_fini(&f->b);
}

static const ml_line_stats *line(fixture *f, const char *fn, int n)
{
   uint32_t fid = ml_reader_find_string(f->r, fn);
   uint32_t file = ml_reader_find_string(f->r, "a.c");
   const ml_line_stats *s = ml_model_line(f->m, fid, file, (uint32_t)n);
   if (!s)
      fail_msg("no stats for %s:%d", fn, n);
   return s;
}

static const ml_func_stats *func(fixture *f, const char *fn)
{
   uint32_t fid = ml_reader_find_string(f->r, fn);
   for (size_t i = 0; i < ml_model_nfuncs(f->m); i++)
      if (ml_model_func(f->m, H, i)->fn == fid)
         return ml_model_func(f->m, H, i);
   fail_msg("no function %s", fn);
   return NULL;
}

/* main:12 calls f:5 which calls malloc(100); main:12 also mallocs 50
   directly; main:13 calls f:6 (60 bytes). */
static void test_inclusive(void **state)
{
   (void)state;
   fixture f;
   tb_start(&f.b);
   uint32_t smain = tb_string(&f.b, "main"), sf = tb_string(&f.b, "f");
   uint32_t file = tb_string(&f.b, "a.c");
   uint32_t s12 = tb_stack(&f.b, 0, tb_loc1(&f.b, smain, file, 12));
   uint32_t s12f5 = tb_stack(&f.b, s12, tb_loc1(&f.b, sf, file, 5));
   uint32_t s13 = tb_stack(&f.b, 0, tb_loc1(&f.b, smain, file, 13));
   uint32_t s13f6 = tb_stack(&f.b, s13, tb_loc1(&f.b, sf, file, 6));
   tb_alloc(&f.b, 1, s12f5, 100, 0x1000);
   tb_alloc(&f.b, 1, s12, 50, 0x2000);
   tb_alloc(&f.b, 1, s13f6, 60, 0x3000);
   tb_line(&f.b, smain, file, 12, 1, 0);
   tb_line(&f.b, smain, file, 13, 1, 150);
   tb_line(&f.b, sf, file, 5, 1, 0);
   tb_line(&f.b, sf, file, 6, 1, 150);
   tb_trailer(&f.b, 3, 3, 0, 210, 210, 210);
   load(&f);

   assert_int_equal(line(&f, "main", 12)->by[H].increment, 150);
   assert_int_equal(line(&f, "main", 12)->by[H].added, 150);
   assert_int_equal(line(&f, "f", 5)->by[H].increment, 100);
   assert_int_equal(line(&f, "main", 13)->by[H].increment, 60);
   assert_int_equal(line(&f, "f", 6)->by[H].increment, 60);
   /* mem usage: highest heap after an event under the line */
   assert_int_equal(line(&f, "main", 12)->by[H].mem_usage, 150);
   assert_int_equal(line(&f, "f", 5)->by[H].mem_usage, 100);
   assert_int_equal(line(&f, "main", 13)->by[H].mem_usage, 210);

   assert_int_equal(func(&f, "main")->by[H].added, 210);
   assert_int_equal(func(&f, "f")->by[H].added, 160);
   /* ranking: main (210) before f (160) */
   assert_int_equal(ml_model_nfuncs(f.m), 2);
   assert_int_equal(ml_model_func(f.m, H, 0)->fn, smain);
   assert_int_equal(ml_model_func(f.m, H, 1)->fn, sf);
   assert_int_equal(func(&f, "f")->first_line, 5);
   assert_int_equal(func(&f, "f")->last_line, 6);
   done(&f);
}

/* f:5 recursing three deep: the delta counts once on f:5 and on f. */
static void test_recursion_once(void **state)
{
   (void)state;
   fixture f;
   tb_start(&f.b);
   uint32_t smain = tb_string(&f.b, "main"), sf = tb_string(&f.b, "f");
   uint32_t sg = tb_string(&f.b, "g");
   uint32_t file = tb_string(&f.b, "a.c");
   uint32_t lf5 = tb_loc1(&f.b, sf, file, 5);
   uint32_t s1 = tb_stack(&f.b, 0, tb_loc1(&f.b, smain, file, 12));
   uint32_t s2 = tb_stack(&f.b, s1, lf5);
   uint32_t s3 = tb_stack(&f.b, s2, lf5);
   uint32_t s4 = tb_stack(&f.b, s3, lf5);
   /* g:8 inlined into f:5, twice in one loc (inline recursion) */
   const uint32_t fr[3][3] = { { sg, file, 8 }, { sf, file, 5 },
                               { sf, file, 5 } };
   uint32_t s5 = tb_stack(&f.b, s4, tb_loc(&f.b, 0x99, 3, fr));
   /* a sibling branch after the recursive one */
   uint32_t s6 = tb_stack(&f.b, s1, tb_loc1(&f.b, sf, file, 6));
   tb_alloc(&f.b, 1, s4, 10, 0x10);
   tb_alloc(&f.b, 1, s5, 1, 0x20);
   tb_alloc(&f.b, 1, s6, 7, 0x30);
   tb_line(&f.b, sf, file, 5, 4, 0);
   tb_line(&f.b, sf, file, 6, 1, 0);
   load(&f);

   assert_int_equal(line(&f, "f", 5)->by[H].increment, 11);
   assert_int_equal(line(&f, "f", 5)->by[H].n_events, 2);
   assert_int_equal(line(&f, "g", 8)->by[H].increment, 1);
   assert_int_equal(line(&f, "f", 6)->by[H].increment, 7);
   assert_int_equal(line(&f, "main", 12)->by[H].increment, 18);
   assert_int_equal(func(&f, "f")->by[H].added, 18);
   assert_int_equal(func(&f, "f")->by[H].increment, 18);
   done(&f);
}

/* alloc on line 12, free on line 13: +100 / -100; a spike inside line
   20 (alloc + free) shows in Mem usage, not in Increment. */
static void test_free_and_spike(void **state)
{
   (void)state;
   fixture f;
   tb_start(&f.b);
   uint32_t smain = tb_string(&f.b, "main");
   uint32_t file = tb_string(&f.b, "a.c");
   uint32_t s12 = tb_stack(&f.b, 0, tb_loc1(&f.b, smain, file, 12));
   uint32_t s13 = tb_stack(&f.b, 0, tb_loc1(&f.b, smain, file, 13));
   uint32_t s19 = tb_stack(&f.b, 0, tb_loc1(&f.b, smain, file, 19));
   uint32_t s20 = tb_stack(&f.b, 0, tb_loc1(&f.b, smain, file, 20));
   tb_alloc(&f.b, 10, s12, 100, 0xa0);
   tb_free(&f.b, 10, s13, 100, 0xa0);
   tb_alloc(&f.b, 10, s19, 500, 0xb0);
   tb_alloc(&f.b, 10, s20, 1000, 0xc0);
   tb_free(&f.b, 10, s20, 1000, 0xc0);
   tb_line(&f.b, smain, file, 12, 1, 0);
   tb_line(&f.b, smain, file, 13, 1, 100);
   tb_line(&f.b, smain, file, 19, 1, 0);
   tb_line(&f.b, smain, file, 20, 1, 500);
   tb_line(&f.b, smain, file, 20, 3, 500);        /* the last one wins */
   tb_line(&f.b, smain, file, 21, 2, 5000);       /* LINE hw is higher */
   load(&f);

   assert_int_equal(line(&f, "main", 12)->by[H].increment, 100);
   assert_int_equal(line(&f, "main", 13)->by[H].increment, -100);
   assert_int_equal(line(&f, "main", 13)->by[H].added, 0);
   /* after the free the heap is 0, but the line was entered at 100 */
   assert_int_equal(line(&f, "main", 13)->by[H].mem_usage, 100);
   assert_int_equal(line(&f, "main", 19)->by[H].mem_usage, 500);
   assert_int_equal(line(&f, "main", 20)->by[H].increment, 0);
   assert_int_equal(line(&f, "main", 20)->by[H].mem_usage, 1500);
   assert_int_equal(line(&f, "main", 20)->entries, 3);
   assert_int_equal(line(&f, "main", 21)->by[H].mem_usage, 5000);
   assert_int_equal(line(&f, "main", 21)->entries, 2);
   assert_int_equal(line(&f, "main", 21)->by[H].increment, 0);
   assert_int_equal(func(&f, "main")->by[H].increment, 500);
   assert_int_equal(func(&f, "main")->first_line, 12);
   assert_int_equal(func(&f, "main")->last_line, 21);

   const ml_summary *s = ml_model_summary(f.m);
   assert_int_equal(s->peak_heap, 1500);
   assert_int_equal(s->peak_time, 40);
   assert_int_equal(s->n_allocs, 3);
   assert_int_equal(s->n_frees, 2);
   assert_int_equal(s->bytes_allocated, 1600);
   assert_int_equal(s->leaked_bytes, 500);
   assert_int_equal(s->leaked_blocks, 1);
   assert_int_equal(s->heap, 500);
   assert_int_equal(s->instructions, 50);       /* no trailer: last event */
   assert_false(s->has_trailer);
   done(&f);
}

static void test_leaks_peak_trailer(void **state)
{
   (void)state;
   fixture f;
   tb_start(&f.b);
   uint32_t smain = tb_string(&f.b, "main");
   uint32_t file = tb_string(&f.b, "a.c");
   uint32_t s = tb_stack(&f.b, 0, tb_loc1(&f.b, smain, file, 3));
   tb_alloc(&f.b, 100, s, 1 << 20, 0x1000);       /* now 100 */
   tb_alloc(&f.b, 100, s, 2 << 20, 0x2000);       /* now 200: peak 3 MiB */
   tb_free(&f.b, 50, s, 2 << 20, 0x2000);         /* now 250 */
   tb_alloc(&f.b, 50, s, 1 << 20, 0x3000);        /* now 300: 2 MiB */
   tb_alloc(&f.b, 50, s, 1 << 20, 0x4000);        /* now 350: 3 MiB again */
   tb_trailer(&f.b, 999, 4, 1, 5 << 20, 3 << 20, 3 << 20);
   load(&f);
   const ml_summary *sm = ml_model_summary(f.m);
   assert_int_equal(sm->peak_heap, 3 << 20);
   assert_int_equal(sm->peak_time, 200);          /* first time reached */
   assert_int_equal(sm->leaked_bytes, 3 << 20);
   assert_int_equal(sm->leaked_blocks, 3);
   assert_int_equal(sm->instructions, 999);       /* from the trailer */
   assert_true(sm->has_trailer);
   assert_int_equal(sm->trailer.n_allocs, 4);
   done(&f);
}

/* A custom allocator's first block starts at its malloc'd arena's own
   address: both are live at once, and freeing one leaves the other. */
static void test_custom_blocks(void **state)
{
   (void)state;
   fixture f;
   tb_start(&f.b);
   uint32_t smain = tb_string(&f.b, "main");
   uint32_t file = tb_string(&f.b, "a.c");
   uint32_t s_arena = tb_stack(&f.b, 0, tb_loc1(&f.b, smain, file, 10));
   uint32_t s_a = tb_stack(&f.b, 0, tb_loc1(&f.b, smain, file, 11));
   uint32_t s_fa = tb_stack(&f.b, 0, tb_loc1(&f.b, smain, file, 12));
   uint32_t s_farena = tb_stack(&f.b, 0, tb_loc1(&f.b, smain, file, 13));
   tb_alloc(&f.b, 10, s_arena, 65536, 0x10000);   /* arena */
   tb_calloc(&f.b, 10, s_a, 3000, 0x10000);       /* block at its start */
   tb_cfree(&f.b, 10, s_fa, 3000, 0x10000);
   tb_free(&f.b, 10, s_farena, 65536, 0x10000);
   for (uint32_t l = 10; l <= 13; l++)
      tb_line(&f.b, smain, file, l, 1, 0);
   load_v(&f, 1);
   const ml_summary *sm = ml_model_summary(f.m);
   assert_int_equal(sm->peak_heap, 65536 + 3000);
   assert_int_equal(sm->leaked_bytes, 0);
   assert_int_equal(sm->n_allocs, 2);
   assert_int_equal(sm->n_frees, 2);
   assert_int_equal(sm->free_of_unknown, 0);
   assert_int_equal(line(&f, "main", 11)->by[H].increment, 3000);
   assert_int_equal(line(&f, "main", 12)->by[H].increment, -3000);
   /* the freeing line saw the level before its free */
   assert_int_equal(line(&f, "main", 12)->by[H].mem_usage, 65536 + 3000);
   assert_int_equal(line(&f, "main", 13)->by[H].increment, -65536);
   done(&f);
}

static void test_cut_stacks(void **state)
{
   (void)state;
   fixture f;
   tb_start(&f.b);
   uint32_t sf = tb_string(&f.b, "f");
   uint32_t file = tb_string(&f.b, "a.c");
   uint32_t cut = tb_stack(&f.b, 0, 0);
   uint32_t deep = tb_stack(&f.b, cut, tb_loc1(&f.b, sf, file, 9));
   uint32_t deeper = tb_stack(&f.b, deep, tb_loc1(&f.b, sf, file, 10));
   uint32_t whole = tb_stack(&f.b, 0, tb_loc1(&f.b, sf, file, 11));
   tb_alloc(&f.b, 1, deep, 8, 0x10);
   tb_alloc(&f.b, 1, deeper, 8, 0x20);
   tb_alloc(&f.b, 1, whole, 8, 0x30);
   tb_alloc(&f.b, 1, cut, 8, 0x40);
   load(&f);
   const ml_summary *s = ml_model_summary(f.m);
   assert_int_equal(s->cut_allocs, 3);
   assert_int_equal(s->n_allocs, 4);
   assert_int_equal(line(&f, "f", 9)->by[H].increment, 16);
   assert_int_equal(line(&f, "f", 10)->by[H].increment, 8);
   done(&f);
}

static void test_anomalies(void **state)
{
   (void)state;
   fixture f;
   tb_start(&f.b);
   uint32_t sf = tb_string(&f.b, "f");
   uint32_t file = tb_string(&f.b, "a.c");
   uint32_t s1 = tb_stack(&f.b, 0, tb_loc1(&f.b, sf, file, 1));
   uint32_t s2 = tb_stack(&f.b, 0, tb_loc1(&f.b, sf, file, 2));
   tb_alloc(&f.b, 1, s1, 100, 0x10);    /* id 0 */
   tb_alloc(&f.b, 1, s2, 30, 0x20);     /* id 1 */
   tb_free(&f.b, 1, s1, 20, 0x10);      /* id 0, size differs: record wins */
   tb_free_id(&f.b, ML_TAG_FREE, 1, s1, 7, 0);  /* id 0 again: not live */
   load_v(&f, 1);
   const ml_summary *s = ml_model_summary(f.m);
   assert_int_equal(s->free_of_unknown, 1);
   assert_int_equal(s->free_size_differs, 1);
   assert_int_equal(s->heap, 100 + 30 - 20 - 7);
   assert_int_equal(s->leaked_blocks, 1);          /* id 1, from the table */
   assert_int_equal(line(&f, "f", 2)->by[H].increment, 30);
   assert_int_equal(line(&f, "f", 1)->by[H].increment, 100 - 20 - 7);
   ml_model_free(f.m);
   ml_reader_free(f.r);

   /* without --verify nothing is checked: every record's size counts */
   load_v(&f, 0);
   s = ml_model_summary(f.m);
   assert_int_equal(s->free_of_unknown, 0);
   assert_int_equal(s->free_size_differs, 0);
   assert_int_equal(s->heap, 100 + 30 - 20 - 7);
   assert_int_equal(s->leaked_bytes, 100 + 30 - 20 - 7);
   assert_int_equal(s->leaked_blocks, 0);          /* 2 ALLOCs - 2 FREEs */
   assert_int_equal(line(&f, "f", 2)->by[H].increment, 30);
   done(&f);
}

/* functions with equal bytes rank by name; functions without LINE
   records are not listed; FILE facts are kept (last wins). */
static void test_ranking_and_files(void **state)
{
   (void)state;
   fixture f;
   tb_start(&f.b);
   uint32_t sb = tb_string(&f.b, "b"), sa = tb_string(&f.b, "a");
   uint32_t sc = tb_string(&f.b, "c"), lib = tb_string(&f.b, "libfn");
   uint32_t file = tb_string(&f.b, "a.c");
   uint32_t x = tb_stack(&f.b, 0, tb_loc1(&f.b, sb, file, 1));
   uint32_t y = tb_stack(&f.b, 0, tb_loc1(&f.b, sa, file, 2));
   uint32_t z = tb_stack(&f.b, 0, tb_loc1(&f.b, lib, file, 3));
   tb_alloc(&f.b, 1, x, 10, 1);
   tb_alloc(&f.b, 1, y, 10, 2);
   tb_alloc(&f.b, 1, z, 1000, 3);
   tb_line(&f.b, sb, file, 1, 1, 0);
   tb_line(&f.b, sa, file, 2, 1, 0);
   tb_line(&f.b, sc, file, 4, 1, 0);
   tb_file(&f.b, file, 1, 2, 3);
   tb_file(&f.b, file, 4, 5, 6);
   load(&f);
   assert_int_equal(ml_model_nfuncs(f.m), 3);
   assert_int_equal(ml_model_func(f.m, H, 0)->fn, sa);
   assert_int_equal(ml_model_func(f.m, H, 1)->fn, sb);
   assert_int_equal(ml_model_func(f.m, H, 2)->fn, sc);
   assert_int_equal(ml_model_func(f.m, H, 2)->by[H].added, 0);
   assert_null(ml_model_func(f.m, H, 3));
   ml_file_facts ff;
   assert_int_equal(ml_model_file_facts(f.m, file, &ff), 1);
   assert_int_equal(ff.size, 4);
   assert_int_equal(ff.hash, 6);
   assert_int_equal(ml_model_file_facts(f.m, sa, &ff), 0);
   /* a line nobody mentions */
   assert_null(ml_model_line(f.m, sa, file, 77));
   ml_model_free(NULL);
   done(&f);
}

/* A forked child's trace: the first HEADER-inherited ALLOCs are
   inherited blocks, live but not allocations of the child; a FREE of one
   lowers the heap. */
static void test_fork_child(void **state)
{
   (void)state;
   fixture f;
   tb_init(&f.b);
   tb_header_inherited(&f.b, 64, ML_HDR_LINES | ML_HDR_FORK_CHILD, 2);
   uint32_t sf = tb_string(&f.b, "f");
   uint32_t file = tb_string(&f.b, "a.c");
   uint32_t s1 = tb_stack(&f.b, 0, tb_loc1(&f.b, sf, file, 1));
   uint32_t s2 = tb_stack(&f.b, 0, tb_loc1(&f.b, sf, file, 2));
   tb_alloc(&f.b, 0, s1, 1000, 0x10);              /* inherited */
   tb_alloc(&f.b, 0, s1, 500, 0x20);               /* inherited */
   tb_alloc(&f.b, 30, s2, 10, 0x30);               /* the child's own */
   tb_alloc(&f.b, 0, s2, 20, 0x40);                /* dt 0 but later */
   tb_free(&f.b, 5, s2, 1000, 0x10);
   tb_trailer(&f.b, 40, 2, 1, 30, 530, 1530);
   load(&f);
   const ml_summary *s = ml_model_summary(f.m);
   assert_int_equal(s->inherited_blocks, 2);
   assert_int_equal(s->inherited_bytes, 1500);
   assert_int_equal(s->n_allocs, 2);
   assert_int_equal(s->bytes_allocated, 30);
   assert_int_equal(s->peak_heap, 1530);
   assert_int_equal(s->heap, 530);
   assert_int_equal(s->leaked_blocks, 3);
   assert_int_equal(s->free_of_unknown, 0);
   assert_int_equal(line(&f, "f", 1)->by[H].increment, 0);
   assert_int_equal(line(&f, "f", 1)->by[H].n_events, 0);
   assert_int_equal(line(&f, "f", 2)->by[H].increment, 30 - 1000);
   assert_int_equal(line(&f, "f", 2)->by[H].mem_usage, 1530);
   ml_model_free(f.m);
   ml_reader_free(f.r);

   /* the live-block table agrees */
   load_v(&f, 1);
   s = ml_model_summary(f.m);
   assert_int_equal(s->leaked_blocks, 3);
   assert_int_equal(s->leaked_bytes, 530);
   assert_int_equal(s->free_of_unknown, 0);
   done(&f);
}

/* No LINE record at all (a killed run): the program's own functions with
   events become the candidates, ranged by their frames' lines; library
   functions (no ML_LOC_MAIN_EXE) are left out. */
static void test_no_line_records(void **state)
{
   (void)state;
   fixture f;
   tb_start(&f.b);
   uint32_t smain = tb_string(&f.b, "main"), lib = tb_string(&f.b, "g_new");
   uint32_t quiet = tb_string(&f.b, "quiet");
   uint32_t file = tb_string(&f.b, "a.c"), so = tb_string(&f.b, "libg.so");
   const uint32_t fl[1][3] = { { lib, so, 0 } };
   uint32_t s7 = tb_stack(&f.b, 0, tb_loc1(&f.b, smain, file, 7));
   uint32_t s9 = tb_stack(&f.b, 0, tb_loc1(&f.b, smain, file, 9));
   uint32_t sl = tb_stack(&f.b, s9, tb_loc_flags(&f.b, 0x7000, 0, 1, fl));
   tb_stack(&f.b, 0, tb_loc1(&f.b, quiet, file, 30));   /* no events */
   tb_alloc(&f.b, 1, s7, 64, 0x10);
   tb_alloc(&f.b, 1, sl, 32, 0x20);
   load(&f);
   assert_false(ml_model_summary(f.m)->has_line_records);
   assert_int_equal(ml_model_nfuncs(f.m), 1);
   const ml_func_stats *fs = ml_model_func(f.m, H, 0);
   assert_int_equal(fs->fn, smain);
   assert_int_equal(fs->first_line, 7);
   assert_int_equal(fs->last_line, 9);
   assert_int_equal(fs->by[H].added, 96);
   assert_false(line(&f, "main", 9)->has_record);
   assert_int_equal(line(&f, "main", 9)->by[H].increment, 32);
   done(&f);
}

#define PG 4096     /* tb_header's page size */

/* RSS from PAGE records: main:12 calls f:5 which recurses (f:5 again);
   main:13 releases pages; main:14 calls g:20, which only mallocs; start-up
   pages have no stack.  Increments are inclusive and count recursion
   once; a page-in is observed after it, a page-out before it; LINE's
   hw_rss raises a line's mem usage; peak and final RSS keep their split
   per kind; the functions rank differently under the two metrics. */
static void test_rss_lines(void **state)
{
   (void)state;
   fixture f;
   tb_start_rss(&f.b);
   uint32_t smain = tb_string(&f.b, "main"), sf = tb_string(&f.b, "f");
   uint32_t sg = tb_string(&f.b, "g");
   uint32_t file = tb_string(&f.b, "a.c");
   uint32_t lf5 = tb_loc1(&f.b, sf, file, 5);
   uint32_t s12 = tb_stack(&f.b, 0, tb_loc1(&f.b, smain, file, 12));
   uint32_t s12f5 = tb_stack(&f.b, s12, lf5);
   uint32_t s12f5f5 = tb_stack(&f.b, s12f5, lf5);
   uint32_t s13 = tb_stack(&f.b, 0, tb_loc1(&f.b, smain, file, 13));
   uint32_t s14 = tb_stack(&f.b, 0, tb_loc1(&f.b, smain, file, 14));
   uint32_t s14g = tb_stack(&f.b, s14, tb_loc1(&f.b, sg, file, 20));
   tb_page(&f.b, 0, 0, ML_PAGE_CODE, 10);          /* now 0: 10 pages */
   tb_alloc(&f.b, 5, s14g, 1000, 0x10);            /* now 5 */
   tb_page(&f.b, 10, s12f5, ML_PAGE_ANON, 100);    /* now 15: 110 */
   tb_page(&f.b, 10, s12f5f5, ML_PAGE_ANON, 50);   /* now 25: 160, peak */
   tb_page(&f.b, 10, s13, ML_PAGE_ANON, -60);      /* now 35: 100 */
   tb_page(&f.b, 10, s13, ML_PAGE_STACK, 2);       /* now 45: 102 */
   tb_line_rss(&f.b, smain, file, 12, 1, 0, 10 * PG);
   tb_line_rss(&f.b, smain, file, 13, 1, 1000, 160 * PG);
   tb_line_rss(&f.b, smain, file, 14, 1, 1000, 999 * PG);
   tb_line_rss(&f.b, sf, file, 5, 2, 0, 110 * PG);
   tb_line_rss(&f.b, sg, file, 20, 1, 0, 102 * PG);
   tb_trailer_rss(&f.b, 50, 1, 0, 1000, 1000, 1000, 160 * PG, 102 * PG);
   load(&f);

   /* f:5 recursing: its 150 pages count once */
   assert_int_equal(line(&f, "f", 5)->by[R].increment, 150 * PG);
   assert_int_equal(line(&f, "f", 5)->by[R].added, 150 * PG);
   assert_int_equal(line(&f, "f", 5)->by[R].n_events, 2);
   assert_int_equal(line(&f, "f", 5)->by[R].mem_usage, 160 * PG);
   assert_int_equal(line(&f, "main", 12)->by[R].increment, 150 * PG);
   assert_int_equal(line(&f, "main", 12)->by[R].mem_usage, 160 * PG);
   /* page-out observed before it: 160 pages, not 100 */
   assert_int_equal(line(&f, "main", 13)->by[R].increment, -58 * PG);
   assert_int_equal(line(&f, "main", 13)->by[R].added, 2 * PG);
   assert_int_equal(line(&f, "main", 13)->by[R].mem_usage, 160 * PG);
   /* no page under main:14: its LINE hw_rss is its mem usage */
   assert_int_equal(line(&f, "main", 14)->by[R].increment, 0);
   assert_int_equal(line(&f, "main", 14)->by[R].n_events, 0);
   assert_int_equal(line(&f, "main", 14)->by[R].hw_at_entry, 999 * PG);
   assert_int_equal(line(&f, "main", 14)->by[R].mem_usage, 999 * PG);
   assert_int_equal(line(&f, "g", 20)->by[R].mem_usage, 102 * PG);
   /* the heap side is untouched by pages */
   assert_int_equal(line(&f, "main", 14)->by[H].increment, 1000);
   assert_int_equal(line(&f, "main", 14)->by[H].mem_usage, 1000);
   assert_int_equal(line(&f, "main", 12)->by[H].increment, 0);
   assert_int_equal(line(&f, "main", 12)->by[H].n_events, 0);
   assert_int_equal(line(&f, "main", 13)->by[H].mem_usage, 1000);

   assert_int_equal(func(&f, "main")->by[R].added, 152 * PG);
   assert_int_equal(func(&f, "main")->by[R].increment, 92 * PG);
   assert_int_equal(func(&f, "f")->by[R].added, 150 * PG);
   assert_int_equal(func(&f, "g")->by[R].added, 0);
   assert_int_equal(func(&f, "g")->by[H].added, 1000);
   /* ranking: heap g, main (1000 each: by name), f; rss main, f, g */
   assert_int_equal(ml_model_nfuncs(f.m), 3);
   assert_int_equal(ml_model_func(f.m, H, 0)->fn, sg);
   assert_int_equal(ml_model_func(f.m, H, 1)->fn, smain);
   assert_int_equal(ml_model_func(f.m, H, 2)->fn, sf);
   assert_int_equal(ml_model_func(f.m, R, 0)->fn, smain);
   assert_int_equal(ml_model_func(f.m, R, 1)->fn, sf);
   assert_int_equal(ml_model_func(f.m, R, 2)->fn, sg);
   assert_null(ml_model_func(f.m, R, 3));

   const ml_summary *sm = ml_model_summary(f.m);
   assert_true(sm->has_rss);
   assert_int_equal(sm->n_pages, 5);
   assert_int_equal(sm->peak_rss, 160 * PG);
   assert_int_equal(sm->peak_rss_time, 25);
   assert_int_equal(sm->peak_rss_kind[ML_PAGE_ANON], 150 * PG);
   assert_int_equal(sm->peak_rss_kind[ML_PAGE_FILE], 0);
   assert_int_equal(sm->peak_rss_kind[ML_PAGE_STACK], 0);
   assert_int_equal(sm->peak_rss_kind[ML_PAGE_CODE], 10 * PG);
   assert_int_equal(sm->rss, 102 * PG);
   assert_int_equal(sm->rss_kind[ML_PAGE_ANON], 90 * PG);
   assert_int_equal(sm->rss_kind[ML_PAGE_FILE], 0);
   assert_int_equal(sm->rss_kind[ML_PAGE_STACK], 2 * PG);
   assert_int_equal(sm->rss_kind[ML_PAGE_CODE], 10 * PG);
   assert_int_equal(sm->rss_underflow, 0);
   assert_int_equal(sm->peak_heap, 1000);
   assert_true(sm->trailer.has_rss);
   assert_int_equal(sm->trailer.rss_peak, 160 * PG);
   assert_int_equal(ml_model_default_metric(f.m), R);
   done(&f);
}

/* Which traces have RSS: a heap-only trace defaults to heap; the RSS flag
   alone (no PAGE yet) is RSS; a PAGE without the flag too.  A release
   below zero is tolerated and counted; peaks need a page-in. */
static void test_rss_presence(void **state)
{
   (void)state;
   fixture f;
   tb_start(&f.b);
   uint32_t sf = tb_string(&f.b, "f"), file = tb_string(&f.b, "a.c");
   uint32_t s1 = tb_stack(&f.b, 0, tb_loc1(&f.b, sf, file, 1));
   tb_alloc(&f.b, 1, s1, 10, 0x10);
   tb_line(&f.b, sf, file, 1, 1, 0);
   load(&f);
   assert_false(ml_model_summary(f.m)->has_rss);
   assert_int_equal(ml_model_default_metric(f.m), H);
   assert_int_equal(line(&f, "f", 1)->by[R].n_events, 0);
   assert_int_equal(line(&f, "f", 1)->by[R].mem_usage, 0);
   done(&f);

   tb_start_rss(&f.b);
   load(&f);
   assert_true(ml_model_summary(f.m)->has_rss);
   assert_int_equal(ml_model_summary(f.m)->peak_rss, 0);
   assert_int_equal(ml_model_default_metric(f.m), R);
   done(&f);

   tb_start(&f.b);
   sf = tb_string(&f.b, "f");
   file = tb_string(&f.b, "a.c");
   s1 = tb_stack(&f.b, 0, tb_loc1(&f.b, sf, file, 1));
   tb_page(&f.b, 3, s1, ML_PAGE_FILE, -2);        /* nothing resident */
   tb_page(&f.b, 3, s1, ML_PAGE_ANON, 1);
   load(&f);
   const ml_summary *sm = ml_model_summary(f.m);
   assert_true(sm->has_rss);
   assert_int_equal(sm->rss_underflow, 1);
   assert_int_equal(sm->rss, -PG);
   assert_int_equal(sm->rss_kind[ML_PAGE_FILE], -2 * PG);
   assert_int_equal(sm->peak_rss, 0);             /* never above 0 */
   assert_int_equal(sm->peak_rss_time, 0);
   assert_int_equal(line(&f, "f", 1)->by[R].increment, -PG);
   assert_int_equal(line(&f, "f", 1)->by[R].mem_usage, 0);
   assert_int_equal(ml_model_default_metric(f.m), R);
   done(&f);
}

/* Coarse time (--time-resolution): a forked child's own first
   allocations have dt 0 like the inherited blocks before them.  The
   HEADER's inherited count alone tells them apart: the first 3 ALLOC
   records (a CALLOC among them) are inherited, the 2 after them are the
   child's, and so is a third one after a FREE. */
static void test_fork_child_coarse_time(void **state)
{
   (void)state;
   fixture f;
   tb_init(&f.b);
   tb_header_inherited(&f.b, 64, ML_HDR_LINES | ML_HDR_FORK_CHILD, 3);
   uint32_t sf = tb_string(&f.b, "f");
   uint32_t file = tb_string(&f.b, "a.c");
   uint32_t s1 = tb_stack(&f.b, 0, tb_loc1(&f.b, sf, file, 1));
   uint32_t s2 = tb_stack(&f.b, 0, tb_loc1(&f.b, sf, file, 2));
   tb_alloc(&f.b, 0, 0, 1000, 0x10);               /* inherited */
   tb_calloc(&f.b, 0, 0, 300, 0x18);               /* inherited (pool) */
   tb_alloc(&f.b, 0, 0, 500, 0x20);                /* inherited */
   tb_alloc(&f.b, 0, s1, 10, 0x30);                /* the child's, dt 0 */
   tb_alloc(&f.b, 0, s1, 20, 0x40);                /* the child's, dt 0 */
   tb_free(&f.b, 0, s2, 1000, 0x10);               /* frees an inherited */
   tb_alloc(&f.b, 0, s2, 40, 0x50);                /* the child's, dt 0 */
   tb_trailer(&f.b, 7, 3, 1, 70, 870, 1870);
   load(&f);
   const ml_summary *s = ml_model_summary(f.m);
   assert_int_equal(s->inherited_blocks, 3);
   assert_int_equal(s->inherited_bytes, 1800);
   assert_int_equal(s->n_allocs, 3);
   assert_int_equal(s->bytes_allocated, 70);
   assert_int_equal(s->n_frees, 1);
   assert_int_equal(s->peak_heap, 1830);
   assert_int_equal(s->peak_time, 0);
   assert_int_equal(s->heap, 870);
   assert_int_equal(s->leaked_blocks, 5);
   assert_int_equal(line(&f, "f", 1)->by[H].increment, 30);
   assert_int_equal(line(&f, "f", 1)->by[H].n_events, 2);
   assert_int_equal(line(&f, "f", 1)->by[H].mem_usage, 1830);
   assert_int_equal(line(&f, "f", 2)->by[H].increment, 40 - 1000);
   assert_int_equal(line(&f, "f", 2)->by[H].n_events, 2);
   done(&f);
}

/* A forked child's start-up pages among its inherited ALLOCs do not end
   the inherited run, nor does one with a later time: the HEADER's count
   does. */
static void test_rss_fork_child(void **state)
{
   (void)state;
   fixture f;
   tb_init(&f.b);
   tb_header_inherited(&f.b, 64,
                       ML_HDR_LINES | ML_HDR_FORK_CHILD | ML_HDR_RSS, 2);
   uint32_t sf = tb_string(&f.b, "f");
   uint32_t file = tb_string(&f.b, "a.c");
   uint32_t s1 = tb_stack(&f.b, 0, tb_loc1(&f.b, sf, file, 1));
   tb_page(&f.b, 0, 0, ML_PAGE_ANON, 3);
   tb_alloc(&f.b, 0, s1, 1000, 0x10);              /* inherited */
   tb_page(&f.b, 3, 0, ML_PAGE_CODE, 1);           /* a later time */
   tb_alloc(&f.b, 0, s1, 500, 0x20);               /* inherited */
   tb_page(&f.b, 4, s1, ML_PAGE_ANON, 1);
   tb_alloc(&f.b, 0, s1, 7, 0x30);                 /* the child's */
   load(&f);
   const ml_summary *sm = ml_model_summary(f.m);
   assert_int_equal(sm->inherited_blocks, 2);
   assert_int_equal(sm->n_allocs, 1);
   assert_int_equal(sm->rss, 5 * PG);
   assert_int_equal(line(&f, "f", 1)->by[R].increment, PG);
   assert_int_equal(line(&f, "f", 1)->by[H].increment, 7);
   done(&f);
}

/* A deep chain (hostile-looking trie) is handled in linear time. */
static void test_deep_chain(void **state)
{
   (void)state;
   fixture f;
   tb_start(&f.b);
   uint32_t sf = tb_string(&f.b, "f");
   uint32_t file = tb_string(&f.b, "a.c");
   uint32_t loc = tb_loc1(&f.b, sf, file, 1);
   uint32_t s = 0;
   for (int i = 0; i < 200000; i++) {
      s = tb_stack(&f.b, s, loc);
      tb_alloc(&f.b, 1, s, 1, (uint64_t)i + 1);
   }
   load(&f);
   assert_int_equal(line(&f, "f", 1)->by[H].increment, 200000);
   assert_int_equal(line(&f, "f", 1)->by[H].mem_usage, 200000);
   done(&f);
}

int main(void)
{
   const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_inclusive),
      cmocka_unit_test(test_recursion_once),
      cmocka_unit_test(test_free_and_spike),
      cmocka_unit_test(test_leaks_peak_trailer),
      cmocka_unit_test(test_custom_blocks),
      cmocka_unit_test(test_cut_stacks),
      cmocka_unit_test(test_anomalies),
      cmocka_unit_test(test_ranking_and_files),
      cmocka_unit_test(test_fork_child),
      cmocka_unit_test(test_fork_child_coarse_time),
      cmocka_unit_test(test_no_line_records),
      cmocka_unit_test(test_rss_lines),
      cmocka_unit_test(test_rss_presence),
      cmocka_unit_test(test_rss_fork_child),
      cmocka_unit_test(test_deep_chain),
   };
   return cmocka_run_group_tests(tests, NULL, NULL);
}
