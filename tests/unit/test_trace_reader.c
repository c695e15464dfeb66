/* test_trace_reader.c -- the trace reader: every record kind decoded,
   every malformed record rejected with the exact "name:offset: reason",
   truncation and trailing data reported with their offsets, the
   file-streaming path (records and payloads straddling the 1 MiB window)
   agreeing with the in-memory path, the event encodings (stack and
   block id deltas) round-tripping, format 4's clock (dt in units of the
   HEADER's time unit, overflow and unit 0 refused), and zstd-compressed
   traces (the tool's framing, cut, corrupt) read like raw ones. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <zstd.h>

#include "trace_builder.h"
#include "trace_reader.h"

/* Opens b in memory as "t"; fails the test if the open fails. */
static ml_reader *open_ok(const tb *b)
{
   ml_err err;
   ml_reader *r = ml_reader_open_mem(b->buf, b->len, "t", &err);
   if (!r)
      fail_msg("open failed: %s", err.msg);
   return r;
}

/* Reads b to the end; asserts an error with exactly msg. */
/* A trace started with one string ("f") and one location of it, line
   1: the location's id. */
static uint32_t start_with_loc(tb *b)
{
   tb_start(b);
   uint32_t s = tb_string(b, "f");
   return tb_loc1(b, s, s, 1);
}

static void expect_error(const tb *b, const char *msg)
{
   ml_reader *r = open_ok(b);
   ml_record rec;
   int rc;
   while ((rc = ml_reader_next(r, &rec)) > 0)
      ;
   assert_int_equal(rc, ML_ECORRUPT);
   assert_string_equal(ml_reader_strerror(r), msg);
   /* errors are sticky */
   assert_int_equal(ml_reader_next(r, &rec), ML_ECORRUPT);
   ml_reader_free(r);
}

/* Asserts that opening b fails with msg. */
static void expect_open_error(const tb *b, const char *msg)
{
   ml_err err;
   ml_reader *r = ml_reader_open_mem(b->buf, b->len, "t", &err);
   assert_null(r);
   assert_string_equal(err.msg, msg);
}

static void test_all_records(void **state)
{
   (void)state;
   tb b;
   tb_start(&b);
   uint32_t fmain = tb_string(&b, "main");
   uint32_t file = tb_string(&b, "a.c");
   uint32_t dup = tb_string(&b, "main");          /* same bytes: canonical */
   assert_int_equal(dup, 3);
   const uint32_t fr[2][3] = { { dup, file, 7 }, { fmain, file, 12 } };
   uint32_t loc = tb_loc(&b, 0x1234, 2, fr);
   uint32_t st = tb_stack(&b, 0, loc);
   tb_thread(&b, 2);
   tb_alloc(&b, 100, st, 4096, 0x5000);
   tb_time(&b, 5, 77);
   tb_page(&b, 1, st, 3, -2);
   size_t o = tb_begin(&b, 0x50);                 /* unknown: skipped */
   tb_u(&b, 42);
   tb_end(&b, o);
   tb_free(&b, 10, 0, 4096, 0x5000);
   o = tb_begin(&b, ML_TAG_LINE);
   tb_u(&b, fmain); tb_u(&b, file); tb_u(&b, 12); tb_u(&b, 3); tb_u(&b, 99);
   tb_u(&b, 12345);                               /* hw_rss */
   tb_u(&b, 777);                                 /* extra field: ignored */
   tb_end(&b, o);
   tb_file(&b, file, 10, 20, 30);
   uint32_t mname = tb_string(&b, "phase1");
   tb_mark(&b, 4, mname);
   tb_trailer(&b, 1000, 1, 1, 4096, 0, 4096);

   ml_reader *r = open_ok(&b);
   const ml_header *h = ml_reader_header(r);
   assert_int_equal(h->ptr_size, 8);
   assert_int_equal(h->page_size, 4096);
   assert_int_equal(h->pid, 1234);
   assert_string_equal(h->tool_version, "memline-test");
   assert_string_equal(h->exe, "./prog");
   assert_int_equal(h->argc, 1);
   assert_string_equal(h->argv[0], "10");
   assert_int_equal(h->nopts, 1);
   assert_string_equal(h->opts[0], "--depth=64");
   assert_int_equal(h->depth, 64);
   assert_int_equal(h->flags, ML_HDR_LINES);

   ml_record rec;
   static const ml_rec_kind kinds[] = {
      ML_REC_STRING, ML_REC_STRING, ML_REC_STRING, ML_REC_LOC, ML_REC_STACK,
      ML_REC_THREAD, ML_REC_ALLOC, ML_REC_TIME, ML_REC_PAGE, ML_REC_FREE,
      ML_REC_LINE, ML_REC_FILE, ML_REC_STRING, ML_REC_MARK, ML_REC_TRAILER };
   for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
      assert_int_equal(ml_reader_next(r, &rec), 1);
      assert_int_equal(rec.kind, kinds[i]);
      switch (rec.kind) {
      case ML_REC_LOC: {
         ml_loc l;
         assert_int_equal(ml_reader_loc(r, rec.u.def.id, &l), 0);
         assert_int_equal(l.ip, 0x1234);
         assert_int_equal(l.nframes, 2);
         assert_int_equal(l.frames[0].fn, fmain);   /* canonicalised */
         assert_int_equal(l.frames[0].line, 7);
         assert_int_equal(l.frames[1].line, 12);
         break;
      }
      case ML_REC_ALLOC:
         assert_int_equal(rec.now, 100);
         assert_int_equal(rec.u.block.size, 4096);
         assert_int_equal(rec.u.block.id, 0);
         assert_int_equal(rec.u.block.stack, st);
         break;
      case ML_REC_TIME:
         assert_int_equal(rec.now, 105);
         assert_int_equal(rec.u.time.wall_ms, 77);
         break;
      case ML_REC_PAGE:
         assert_int_equal(rec.now, 106);
         assert_int_equal(rec.u.page.count, -2);
         assert_int_equal(rec.u.page.kind, 3);
         break;
      case ML_REC_FREE:
         assert_int_equal(rec.now, 116);
         break;
      case ML_REC_LINE:
         assert_int_equal(rec.u.line.entries, 3);
         assert_int_equal(rec.u.line.hw_heap, 99);
         assert_int_equal(rec.u.line.hw_rss, 12345);
         assert_int_equal(rec.u.line.line, 12);
         break;
      case ML_REC_FILE:
         assert_int_equal(rec.u.file.f.mtime, 20);
         assert_int_equal(rec.u.file.f.hash, 30);
         break;
      case ML_REC_MARK:
         assert_int_equal(rec.now, 120);
         assert_string_equal(ml_reader_string(r, rec.u.mark.name, NULL),
                             "phase1");
         break;
      case ML_REC_TRAILER:
         assert_int_equal(rec.u.trailer.total_instructions, 1000);
         assert_int_equal(rec.u.trailer.peak_heap, 4096);
         assert_false(rec.u.trailer.has_rss);
         assert_int_equal(rec.u.trailer.rss_peak, 0);
         break;
      default:
         break;
      }
   }
   assert_int_equal(ml_reader_next(r, &rec), 0);
   uint64_t off;
   assert_int_equal(ml_reader_end_state(r, &off), ML_END_COMPLETE);
   assert_int_equal(off, b.len);
   assert_int_equal(ml_reader_events(r), 3);
   assert_int_equal(ml_reader_find_string(r, "main"), fmain);
   assert_int_equal(ml_reader_find_string(r, "nope"), 0);
   assert_int_equal(ml_reader_nstacks(r), 1);
   ml_reader_free(r);
   tb_fini(&b);
}

static void test_bad_magic(void **state)
{
   (void)state;
   tb b;
   memset(&b, 0, sizeof b);
   tb_bytes(&b, "MEMLINX\0", 8);
   tb_header(&b, 64);
   expect_open_error(&b, "t:0: not a memline trace (bad magic)");
   b.len = 3;
   expect_open_error(&b, "t:0: not a memline trace (bad magic)");
   b.len = 0;
   expect_open_error(&b, "t:0: empty file, not a memline trace");
   tb_fini(&b);
}

static void test_bad_header(void **state)
{
   (void)state;
   tb b;
   /* first record must be the HEADER */
   tb_init(&b);
   tb_string(&b, "x");
   expect_open_error(&b, "t:8: first record is not a HEADER (tag 0x41)");
   tb_fini(&b);

   /* unsupported format version: offset of the payload (8 + tag + len) */
   tb_init(&b);
   size_t o = tb_begin(&b, ML_TAG_HEADER);
   tb_u(&b, 99);
   tb_end(&b, o);
   expect_open_error(&b, "t:10: unsupported trace format version 99 (this "
                     "memline-report reads versions 4 to 7)");
   tb_fini(&b);

   /* the previous version is refused as clearly */
   tb_init(&b);
   o = tb_begin(&b, ML_TAG_HEADER);
   tb_u(&b, 3);
   tb_end(&b, o);
   expect_open_error(&b, "t:10: unsupported trace format version 3 (this "
                     "memline-report reads versions 4 to 7)");
   tb_fini(&b);

   /* unsupported pointer size */
   tb_init(&b);
   o = tb_begin(&b, ML_TAG_HEADER);
   tb_u(&b, ML_TRACE_VERSION);
   tb_u(&b, 3);
   tb_end(&b, o);
   expect_open_error(&b, "t:10: unsupported pointer size 3 in HEADER");
   tb_fini(&b);

   /* inline string longer than the payload */
   tb_init(&b);
   o = tb_begin(&b, ML_TAG_HEADER);
   tb_u(&b, ML_TRACE_VERSION); tb_u(&b, 8); tb_u(&b, 4096); tb_u(&b, 1); tb_u(&b, 1); tb_u(&b, 1);
   size_t at = b.len + 1;     /* +1: the length varint inserted by tb_end */
   tb_u(&b, 100);
   tb_bytes(&b, "abc", 3);
   tb_end(&b, o);
   char msg[128];
   snprintf(msg, sizeof msg, "t:%zu: HEADER record: tool_version string "
            "length 100 past the end of its payload", at);
   expect_open_error(&b, msg);
   tb_fini(&b);

   /* argc larger than what the payload can hold */
   tb_init(&b);
   o = tb_begin(&b, ML_TAG_HEADER);
   tb_u(&b, ML_TRACE_VERSION); tb_u(&b, 8); tb_u(&b, 4096); tb_u(&b, 1); tb_u(&b, 1); tb_u(&b, 1);
   tb_istr(&b, "v"); tb_istr(&b, "e");
   at = b.len + 1;
   tb_u(&b, 1000000);
   tb_end(&b, o);
   snprintf(msg, sizeof msg, "t:%zu: HEADER record: argc 1000000 past the "
            "end of its payload", at);
   expect_open_error(&b, msg);
   tb_fini(&b);

   /* cut inside the header: nothing can be reported */
   tb_start(&b);
   b.len -= 3;
   expect_open_error(&b, "t:8: trace is truncated inside its HEADER record");
   tb_fini(&b);

   /* a second HEADER */
   tb_start(&b);
   at = b.len;
   tb_header(&b, 64);
   snprintf(msg, sizeof msg, "t:%zu: second HEADER record", at);
   expect_error(&b, msg);
   tb_fini(&b);
}

static void test_bad_tag(void **state)
{
   (void)state;
   char msg[128];
   tb b;
   static const unsigned tags[] = { 0x00, 0x09, 0x3f };
   for (size_t i = 0; i < 3; i++) {
      tb_start(&b);
      tb_string(&b, "x");
      size_t at = b.len;
      tb_byte(&b, tags[i]);
      tb_u(&b, 1);
      snprintf(msg, sizeof msg, "t:%zu: bad record tag 0x%02x", at, tags[i]);
      expect_error(&b, msg);
      tb_fini(&b);
   }
}

/* Reads b to the end, expecting only events; checks every FREE's size
   against want[id] (ids below nwant) and returns the FREE records seen. */
static unsigned read_free_sizes(const tb *b, const uint64_t *want,
                                size_t nwant)
{
   ml_reader *r = open_ok(b);
   ml_record rec;
   int rc;
   unsigned frees = 0;
   while ((rc = ml_reader_next(r, &rec)) > 0) {
      if (rec.kind != ML_REC_FREE)
         continue;
      assert_true(rec.u.block.id < nwant);
      assert_int_equal(rec.u.block.size, want[rec.u.block.id]);
      frees++;
   }
   assert_int_equal(rc, 0);
   ml_reader_free(r);
   return frees;
}

/* Version 6: a STACK's parent is written as ids up from the node's own.
   The same trie of 3,000 nodes (chains, roots, jumps back, cut markers)
   written as version 6 and as version 5 reads back with the same
   parents and locations, on the fast path and on the checked one (the
   stack table grows as it goes, and the last records have no room after
   them); version 6 writes one byte for every node whose parent is the
   node just before it. */
static void test_stack_up(void **state)
{
   (void)state;
   enum { N = 3000 };
   static uint32_t parent[N + 1], loc[N + 1];
   size_t len[2] = { 0, 0 };
   for (int pass = 0; pass < 2; pass++) {
      tb b;
      tb_init(&b);
      b.version = pass ? 5 : 0;
      tb_header(&b, 64);
      uint32_t s = tb_string(&b, "f");
      uint32_t l1 = tb_loc1(&b, s, s, 1), l2 = tb_loc1(&b, s, s, 2);
      size_t start = b.len;
      uint32_t seed = 7;
      for (uint32_t id = 1; id <= N; id++) {
         seed = seed * 1103515245u + 12345u;
         uint32_t pick = (seed >> 16) % 10;
         uint32_t p = pick < 7 ? id - 1                 /* a chain */
                    : pick < 8 ? 0                      /* a root */
                    : (seed >> 8) % id;                 /* anywhere back */
         uint32_t lc = (seed >> 4) % 3 == 0 ? l2 : l1;
         if (pick == 9 && id % 50 == 0)
            p = 0, lc = 0;                              /* a cut marker */
         parent[id] = p;
         loc[id] = lc;
         assert_int_equal(tb_stack(&b, p, lc), id);
      }
      len[pass] = b.len - start;
      ml_reader *r = open_ok(&b);
      ml_record rec;
      int rc;
      uint32_t n = 0;
      while ((rc = ml_reader_next(r, &rec)) > 0)
         if (rec.kind == ML_REC_STACK)
            n = rec.u.def.id;
      assert_int_equal(rc, 0);
      assert_int_equal(n, N);
      for (uint32_t id = 1; id <= N; id++) {
         uint32_t p, lc;
         assert_int_equal(ml_reader_stack(r, id, &p, &lc), 0);
         assert_int_equal(p, parent[id]);
         assert_int_equal(lc, loc[id]);
      }
      ml_reader_free(r);
      tb_fini(&b);
   }
   /* 3 bytes a node (tag, up, loc) where 70% are chains */
   assert_true(len[0] < len[1]);
   assert_true(len[0] <= 3 * (size_t)N + N / 2);
}

/* Version 7: an event's stack field 0 names the newest stack node.  The
   same events (ALLOC, FREE and PAGE, at new and older stacks, 600 of
   them so that the fast path reads most and the checked path the last
   ones) written as version 7 and as version 6 read back at the same
   stacks; version 7's is shorter.  In version 6 a 0 was the previous
   stack of the class (never written by the tool, still read so). */
static void test_stack_newest(void **state)
{
   (void)state;
   enum { N = 600 };
   static uint32_t want[N];
   size_t len[2] = { 0, 0 };
   for (int pass = 0; pass < 2; pass++) {
      tb b;
      tb_init(&b);
      b.version = pass ? 6 : 0;
      tb_header_flags(&b, 64, ML_HDR_LINES | ML_HDR_RSS);
      uint32_t s = tb_string(&b, "f");
      uint32_t l = tb_loc1(&b, s, s, 1);
      uint32_t seed = 11, nblocks = 0;
      for (int i = 0; i < N; i++) {
         seed = seed * 1103515245u + 12345u;
         uint32_t st;
         if (b.nstack == 0 || (seed >> 16) % 3 == 0)
            st = tb_stack(&b, (seed >> 8) % (b.nstack + 1), l); /* new */
         else
            st = 1 + (seed >> 4) % b.nstack;            /* any so far */
         want[i] = st;
         switch ((seed >> 12) % 3) {
         case 0: tb_alloc(&b, 0, st, 16, 0); nblocks++; break;
         case 1:
            if (nblocks) {
               tb_free(&b, 0, st, 16, --nblocks);
               break;
            }
            tb_alloc(&b, 0, st, 16, 0);
            nblocks++;
            break;
         default: tb_page(&b, 0, st, 0, 1); break;
         }
      }
      len[pass] = b.len;
      ml_reader *r = open_ok(&b);
      ml_record rec;
      int rc, i = 0;
      while ((rc = ml_reader_next(r, &rec)) > 0) {
         if (rec.kind == ML_REC_ALLOC || rec.kind == ML_REC_FREE) {
            assert_true(i < N);
            assert_int_equal(rec.u.block.stack, want[i++]);
         } else if (rec.kind == ML_REC_PAGE) {
            assert_true(i < N);
            assert_int_equal(rec.u.page.stack, want[i++]);
         }
      }
      assert_int_equal(rc, 0);
      assert_int_equal(i, N);
      ml_reader_free(r);
      tb_fini(&b);
   }
   assert_true(len[0] < len[1]);

   /* version 6: 0 is a difference of 0 (the previous stack, 1), not the
      newest node (2) */
   tb b;
   tb_init(&b);
   b.version = 6;
   tb_header(&b, 64);
   uint32_t s = tb_string(&b, "f");
   uint32_t l = tb_loc1(&b, s, s, 1);
   uint32_t s1 = tb_stack(&b, 0, l);
   tb_alloc(&b, 0, s1, 8, 0);
   tb_stack(&b, s1, l);
   tb_byte(&b, ML_TAG_ALLOC); tb_u(&b, 0); tb_u(&b, 0); tb_u(&b, 8);
   ml_reader *r = open_ok(&b);
   ml_record rec;
   uint32_t got = 0;
   int rc;
   while ((rc = ml_reader_next(r, &rec)) > 0)
      if (rec.kind == ML_REC_ALLOC)
         got = rec.u.block.stack;
   assert_int_equal(rc, 0);
   assert_int_equal(got, 1);
   ml_reader_free(r);
   tb_fini(&b);
}

/* Version 5: a FREE with ML_TAG_SIZE_KNOWN takes its size from the last
   ML_SIZE_WINDOW blocks allocated, on the fast path (records with more
   after them) and the checked one (the last records); refused for an
   older block, a size the window does not keep, a record other than
   FREE and CFREE, and in a version 4 trace. */
static void test_free_size_window(void **state)
{
   (void)state;
   const uint64_t W = ML_SIZE_WINDOW, big = (1ull << 32) + 5;
   uint64_t *want = malloc((W + 2) * sizeof *want);
   assert_non_null(want);
   tb b;
   char msg[160];
   /* ids 0 (100 B), 1 (2^32 + 5 B, not kept), 2 .. W - 1 (1..997 B, and
      a CALLOC at W - 1): W blocks, so block 0 is the oldest in the
      window */
   for (int pass = 0; pass < 2; pass++) {
      tb_start(&b);
      want[0] = 100;
      want[1] = big;
      tb_alloc(&b, 0, 0, want[0], 0);
      tb_alloc(&b, 0, 0, want[1], 1);
      for (uint64_t i = 2; i < W; i++) {
         want[i] = i % 997 + 1;
         tb_block(&b, i == W - 1 ? ML_TAG_CALLOC : ML_TAG_ALLOC, 0, 0,
                  want[i], i);
      }
      /* the same frees twice (the reader does not check liveness):
         first followed by TIME records, on the fast path, then as the
         trace's last records */
      for (int k = 0; k < 2; k++) {
         tb_free_known(&b, ML_TAG_FREE, 0, 0, 0);
         tb_free_id(&b, ML_TAG_FREE, 0, 0, big, 1);
         tb_free_known(&b, ML_TAG_FREE, 0, 0, 7);
         tb_free_known(&b, ML_TAG_CFREE, 0, 0, W - 1);
         tb_free_known(&b, ML_TAG_FREE, 1, 0, W - 2);  /* new stack */
         if (k == 0)
            for (int t = 0; t < 40; t++)
               tb_time(&b, 0, 0);
      }
      if (pass == 0) {
         assert_int_equal(read_free_sizes(&b, want, W), 10);
         tb_fini(&b);
         continue;
      }
      /* one more block: block 0 has left the window */
      want[W] = 3;
      tb_alloc(&b, 0, 0, want[W], W);
      size_t good = b.len;
      uint64_t good_prev = b.prev_free_id[0];
      for (int where = 0; where < 2; where++) {
         b.len = good;
         b.prev_free_id[0] = good_prev;
         size_t at = b.len + 1;                   /* after the tag */
         tb_free_known(&b, ML_TAG_FREE, 0, 0, 0);
         if (where == 0)
            for (int t = 0; t < 40; t++)
               tb_time(&b, 0, 0);
         snprintf(msg, sizeof msg, "t:%zu: FREE record: no size for block "
                  "0, older than the last %u allocated", at, ML_SIZE_WINDOW);
         expect_error(&b, msg);
         b.len = good;
         b.prev_free_id[0] = good_prev;
         tb_free_known(&b, ML_TAG_FREE, 0, 0, 1);
         if (where == 0)
            for (int t = 0; t < 40; t++)
               tb_time(&b, 0, 0);
         snprintf(msg, sizeof msg, "t:%zu: FREE record: no size for block "
                  "1, whose size is not kept", at);
         expect_error(&b, msg);
      }
      /* an ALLOC, a PAGE or a STACK with the bit is no record */
      static const unsigned bad[] = {
         ML_TAG_ALLOC | ML_TAG_SIZE_KNOWN, ML_TAG_PAGE | ML_TAG_SIZE_KNOWN,
         ML_TAG_STACK | ML_TAG_SIZE_KNOWN };
      for (int i = 0; i < 3; i++) {
         b.len = good;
         tb_byte(&b, bad[i]);
         for (int t = 0; t < 40; t++)
            tb_u(&b, 0);
         snprintf(msg, sizeof msg, "t:%zu: bad record tag 0x%02x", good,
                  bad[i]);
         expect_error(&b, msg);
      }
      tb_fini(&b);
   }
   free(want);

   /* version 4 traces are read, without the bit */
   tb_init(&b);
   b.version = 4;
   tb_header(&b, 64);
   tb_alloc(&b, 0, 0, 9, 0);
   tb_free(&b, 0, 0, 9, 0);
   uint64_t nine = 9;
   assert_int_equal(read_free_sizes(&b, &nine, 1), 1);
   size_t at = b.len;
   tb_free_known(&b, ML_TAG_FREE, 0, 0, 0);
   for (int t = 0; t < 40; t++)
      tb_time(&b, 0, 0);
   snprintf(msg, sizeof msg, "t:%zu: bad record tag 0x%02x in a version 4 "
            "trace", at, ML_TAG_FREE | ML_TAG_SIZE_KNOWN | ML_TAG_SAME_STACK);
   expect_error(&b, msg);
   tb_fini(&b);
}

static void test_overlong_varint(void **state)
{
   (void)state;
   char msg[128];
   tb b;
   tb_start(&b);
   tb_byte(&b, ML_TAG_ALLOC);
   tb_u(&b, 1);                                   /* dt */
   tb_u(&b, 0);                                   /* stack delta */
   size_t at = b.len;
   for (int i = 0; i < 10; i++)
      tb_byte(&b, 0xff);
   tb_byte(&b, 0x01);
   tb_u(&b, 0x1000);
   snprintf(msg, sizeof msg, "t:%zu: overlong varint (ALLOC size)", at);
   expect_error(&b, msg);
   tb_fini(&b);

   /* in a payload length */
   tb_start(&b);
   at = b.len;
   tb_byte(&b, ML_TAG_STRING);
   for (int i = 0; i < 11; i++)
      tb_byte(&b, 0x80);
   snprintf(msg, sizeof msg, "t:%zu: overlong varint (length-prefixed "
            "payload length)", at + 1);
   expect_error(&b, msg);
   tb_fini(&b);
}

static void test_undefined_ids(void **state)
{
   (void)state;
   char msg[160];
   tb b;

   /* string id in a LOC frame */
   tb_start(&b);
   uint32_t s = tb_string(&b, "f");
   size_t o = tb_begin(&b, ML_TAG_LOC);
   tb_u(&b, 1); tb_u(&b, 0); tb_u(&b, 1);
   tb_u(&b, s);
   size_t at = b.len + 1;
   tb_u(&b, 5);               /* file string 5: undefined */
   tb_u(&b, 3);
   tb_end(&b, o);
   snprintf(msg, sizeof msg, "t:%zu: string id 5 not defined", at);
   expect_error(&b, msg);
   tb_fini(&b);

   /* loc id in a STACK */
   tb_start(&b);
   at = b.len + 2;
   tb_stack(&b, 0, 1);
   snprintf(msg, sizeof msg, "t:%zu: loc id 1 not defined", at);
   expect_error(&b, msg);
   tb_fini(&b);

   /* parent stack id in a STACK: a version 5 trace names it */
   tb_init(&b);
   b.version = 5;
   tb_header(&b, 64);
   s = tb_string(&b, "f");
   uint32_t l = tb_loc1(&b, s, s, 1);
   at = b.len + 1;
   tb_stack(&b, 2, l);
   snprintf(msg, sizeof msg, "t:%zu: stack id 2 not defined", at);
   expect_error(&b, msg);
   tb_fini(&b);

   /* ... from version 6 it is ids up from the node: 0 is the node */
   l = start_with_loc(&b);
   at = b.len + 1;
   tb_stack(&b, 2, l);
   snprintf(msg, sizeof msg, "t:%zu: STACK record: parent 0 ids up from "
            "stack id 1, the node itself", at);
   expect_error(&b, msg);
   tb_fini(&b);

   /* ... and more than the node's id is past the root */
   l = start_with_loc(&b);
   tb_stack(&b, 0, l);
   at = b.len + 1;
   tb_byte(&b, ML_TAG_STACK); tb_u(&b, 3); tb_u(&b, l);
   snprintf(msg, sizeof msg, "t:%zu: STACK record: parent 3 ids up from "
            "stack id 2, before the root", at);
   expect_error(&b, msg);
   tb_fini(&b);

   /* stack id 57 in an ALLOC */
   tb_start(&b);
   at = b.len + 2;
   tb_alloc(&b, 1, 57, 8, 0x10);
   snprintf(msg, sizeof msg, "t:%zu: stack id 57 not defined", at);
   expect_error(&b, msg);
   tb_fini(&b);

   /* stack id in a PAGE */
   tb_start(&b);
   at = b.len + 2;
   tb_page(&b, 1, 3, 0, 1);
   snprintf(msg, sizeof msg, "t:%zu: stack id 3 not defined", at);
   expect_error(&b, msg);
   tb_fini(&b);

   /* string id in a LINE */
   tb_start(&b);
   at = b.len + 2;
   tb_line(&b, 9, 0, 1, 1, 0);
   snprintf(msg, sizeof msg, "t:%zu: string id 9 not defined", at);
   expect_error(&b, msg);
   tb_fini(&b);
}

/* The RSS additions: PAGE kinds and counts (stack 0 allowed, negative
   counts), LINE's hw_rss (absent -> 0), the TRAILER's RSS pair (absent,
   present, half present), the page size when RSS was recorded. */
static void test_rss_records(void **state)
{
   (void)state;
   char msg[200];
   tb b;
   tb_start_rss(&b);
   uint32_t fn = tb_string(&b, "f");
   uint32_t st = tb_stack(&b, 0, tb_loc1(&b, fn, fn, 3));
   tb_page(&b, 0, 0, ML_PAGE_CODE, 5);            /* no stack: start-up */
   tb_page(&b, 7, st, ML_PAGE_ANON, 1000000);
   tb_page(&b, 1, st, ML_PAGE_STACK, -3);
   tb_page(&b, 1, st, ML_PAGE_FILE, INT64_MIN);   /* extreme, still parsed */
   tb_line(&b, fn, fn, 3, 1, 10);                 /* no hw_rss */
   tb_line_rss(&b, fn, fn, 3, 2, 10, 8192);
   tb_trailer_rss(&b, 9, 0, 0, 0, 0, 0, 4096000, 1 << 20);
   ml_reader *r = open_ok(&b);
   assert_int_equal(ml_reader_header(r)->flags, ML_HDR_LINES | ML_HDR_RSS);
   ml_record rec;
   static const struct { uint32_t stack, kind; int64_t count; uint64_t now; }
      pages[] = { { 0, ML_PAGE_CODE, 5, 0 }, { 1, ML_PAGE_ANON, 1000000, 7 },
                  { 1, ML_PAGE_STACK, -3, 8 }, { 1, ML_PAGE_FILE, INT64_MIN,
                  9 } };
   while (ml_reader_next(r, &rec) == 1 && rec.kind != ML_REC_PAGE)
      ;
   for (int i = 0; i < 4; i++) {
      if (i)
         assert_int_equal(ml_reader_next(r, &rec), 1);
      assert_int_equal(rec.kind, ML_REC_PAGE);
      assert_int_equal(rec.u.page.stack, pages[i].stack);
      assert_int_equal(rec.u.page.kind, pages[i].kind);
      assert_true(rec.u.page.count == pages[i].count);
      assert_int_equal(rec.now, pages[i].now);
   }
   assert_int_equal(ml_reader_next(r, &rec), 1);
   assert_int_equal(rec.kind, ML_REC_LINE);
   assert_int_equal(rec.u.line.hw_heap, 10);
   assert_int_equal(rec.u.line.hw_rss, 0);
   assert_int_equal(ml_reader_next(r, &rec), 1);
   assert_int_equal(rec.u.line.entries, 2);
   assert_int_equal(rec.u.line.hw_rss, 8192);
   assert_int_equal(ml_reader_next(r, &rec), 1);
   assert_int_equal(rec.kind, ML_REC_TRAILER);
   assert_true(rec.u.trailer.has_rss);
   assert_int_equal(rec.u.trailer.rss_peak, 4096000);
   assert_int_equal(rec.u.trailer.rss_final, 1 << 20);
   assert_int_equal(ml_reader_next(r, &rec), 0);
   assert_int_equal(ml_reader_events(r), 4);
   ml_reader_free(r);
   tb_fini(&b);

   /* a kind out of range: the offset is the kind field's */
   tb_start_rss(&b);
   size_t at = b.len + 2;      /* tag, dt; stack 0 repeats: left out */
   tb_page(&b, 1, 0, ML_PAGE_KINDS, 1);
   snprintf(msg, sizeof msg, "t:%zu: PAGE record: page kind 4 not in 0..3",
            at);
   expect_error(&b, msg);
   tb_fini(&b);

   tb_start(&b);                                  /* also without RSS */
   tb_page(&b, 1, 0, ML_PAGE_ANON, 1);
   at = b.len + 2;                                /* tag, dt */
   tb_page(&b, 1, 0, 1000, 1);                    /* a 2-byte varint */
   snprintf(msg, sizeof msg, "t:%zu: PAGE record: page kind 1000 not in "
            "0..3", at);
   expect_error(&b, msg);
   tb_fini(&b);

   /* a TRAILER with rss_peak but no rss_final */
   tb_start_rss(&b);
   size_t o = tb_begin(&b, ML_TAG_TRAILER);
   for (int i = 0; i < 8; i++)
      tb_u(&b, 0);
   tb_u(&b, 4096);                                /* rss_peak */
   at = b.len;                                    /* rss_final, missing */
   tb_end(&b, o);
   at += 1;                                       /* the length byte */
   snprintf(msg, sizeof msg, "t:%zu: TRAILER record: rss_final runs past "
            "the end of its payload", at);
   expect_error(&b, msg);
   tb_fini(&b);

   /* RSS recorded with a page size that is not a power of two */
   static const uint64_t bad[] = { 0, 3000, (uint64_t)1 << 31 };
   for (int i = 0; i < 3; i++) {
      tb_init(&b);
      o = tb_begin(&b, ML_TAG_HEADER);
      tb_u(&b, ML_TRACE_VERSION);
      tb_u(&b, 8);
      at = b.len + 1;                            /* + the length byte */
      tb_u(&b, bad[i]); tb_u(&b, 1); tb_u(&b, 1); tb_u(&b, 1);
      tb_istr(&b, "t"); tb_istr(&b, "p"); tb_u(&b, 0); tb_u(&b, 0);
      tb_u(&b, 64); tb_u(&b, ML_HDR_RSS); tb_u(&b, 0); tb_u(&b, 1);
      tb_end(&b, o);
      snprintf(msg, sizeof msg, "t:%zu: HEADER record: page size %llu with "
               "RSS recorded (not a power of two up to 1073741824)", at,
               (unsigned long long)bad[i]);
      expect_open_error(&b, msg);
      tb_fini(&b);
   }
}

static void test_payload_bounds(void **state)
{
   (void)state;
   char msg[160];
   tb b;

   /* payload length above ML_MAX_PAYLOAD: corrupt, offset of the length */
   tb_start(&b);
   size_t at = b.len;
   tb_byte(&b, ML_TAG_STRING);
   tb_u(&b, ML_MAX_PAYLOAD + 1ULL);
   tb_bytes(&b, "xyz", 3);
   snprintf(msg, sizeof msg, "t:%zu: payload length %llu exceeds the "
            "maximum %u", at + 1, ML_MAX_PAYLOAD + 1ULL, ML_MAX_PAYLOAD);
   expect_error(&b, msg);
   tb_fini(&b);

   /* a field runs past the end of its payload */
   tb_start(&b);
   uint32_t s = tb_string(&b, "f");
   size_t o = tb_begin(&b, ML_TAG_LINE);
   tb_u(&b, s); tb_u(&b, s); tb_u(&b, 4);
   at = b.len + 1;
   tb_end(&b, o);
   tb_trailer(&b, 0, 0, 0, 0, 0, 0);
   snprintf(msg, sizeof msg, "t:%zu: LINE record: entries runs past the end "
            "of its payload", at);
   expect_error(&b, msg);
   tb_fini(&b);

   /* a payload length past the end of the file is a cut, not corruption:
      everything before it is reported */
   tb_start(&b);
   tb_string(&b, "f");
   at = b.len;
   tb_byte(&b, ML_TAG_STRING);
   tb_u(&b, 1000);
   tb_bytes(&b, "abc", 3);
   ml_reader *r = open_ok(&b);
   ml_record rec;
   assert_int_equal(ml_reader_next(r, &rec), 1);
   assert_int_equal(ml_reader_next(r, &rec), 0);
   uint64_t off;
   assert_int_equal(ml_reader_end_state(r, &off), ML_END_TRUNCATED);
   assert_int_equal(off, at);
   ml_reader_free(r);
   tb_fini(&b);
}

static void test_frames_and_cut_nodes(void **state)
{
   (void)state;
   char msg[160];
   tb b;
   static const unsigned long long bad[] = { 0, ML_MAX_FRAMES + 1ULL };
   for (int i = 0; i < 2; i++) {
      tb_start(&b);
      size_t o = tb_begin(&b, ML_TAG_LOC);
      tb_u(&b, 1); tb_u(&b, 0);
      size_t at = b.len + 1;
      tb_u(&b, bad[i]);
      tb_u(&b, 0); tb_u(&b, 0); tb_u(&b, 1);
      tb_end(&b, o);
      snprintf(msg, sizeof msg, "t:%zu: LOC record: frame count %llu not in "
               "1..%u", at, bad[i], ML_MAX_FRAMES);
      expect_error(&b, msg);
      tb_fini(&b);
   }

   /* ML_MAX_FRAMES itself is fine */
   tb_start(&b);
   size_t o = tb_begin(&b, ML_TAG_LOC);
   tb_u(&b, 1); tb_u(&b, 0); tb_u(&b, ML_MAX_FRAMES);
   for (unsigned i = 0; i < ML_MAX_FRAMES; i++) {
      tb_u(&b, 0); tb_u(&b, 0); tb_u(&b, i);
   }
   tb_end(&b, o);
   ml_reader *r = open_ok(&b);
   ml_record rec;
   assert_int_equal(ml_reader_next(r, &rec), 1);
   ml_loc l;
   assert_int_equal(ml_reader_loc(r, 1, &l), 0);
   assert_int_equal(l.nframes, ML_MAX_FRAMES);
   ml_reader_free(r);
   tb_fini(&b);

   /* a frames-cut node (loc 0) must be a root */
   uint32_t loc = start_with_loc(&b);
   uint32_t st = tb_stack(&b, 0, loc);
   size_t at = b.len + 2;
   tb_stack(&b, st, 0);
   snprintf(msg, sizeof msg, "t:%zu: STACK record: frames-cut node (loc 0) "
            "has parent 1", at);
   expect_error(&b, msg);
   tb_fini(&b);

   /* ... and as a root it is fine, with children */
   loc = start_with_loc(&b);
   st = tb_stack(&b, 0, 0);
   tb_stack(&b, st, loc);
   r = open_ok(&b);
   assert_int_equal(ml_reader_next(r, &rec), 1);
   assert_int_equal(ml_reader_next(r, &rec), 1);
   assert_int_equal(ml_reader_next(r, &rec), 1);
   assert_int_equal(ml_reader_next(r, &rec), 1);
   assert_int_equal(rec.u.def.id, 2);
   ml_reader_free(r);
   tb_fini(&b);
}

static void test_truncated(void **state)
{
   (void)state;
   tb b;
   tb_start(&b);
   uint32_t s = tb_string(&b, "f");
   uint32_t st = tb_stack(&b, 0, tb_loc1(&b, s, s, 3));
   tb_alloc(&b, 10, st, 100, 0x1000);
   tb_alloc(&b, 10, st, 200, 0x2000);
   size_t cut = b.len;
   tb_alloc(&b, 10, st, 300, 0x3000);
   size_t whole = b.len;

   /* every cut inside the last ALLOC reports the two before it */
   for (size_t end = cut; end < whole; end++) {
      ml_err err;
      ml_reader *r = ml_reader_open_mem(b.buf, end, "t", &err);
      assert_non_null(r);
      ml_record rec;
      int n = 0, rc;
      while ((rc = ml_reader_next(r, &rec)) > 0)
         n += rec.kind == ML_REC_ALLOC;
      assert_int_equal(rc, 0);
      assert_int_equal(n, 2);
      uint64_t off;
      assert_int_equal(ml_reader_end_state(r, &off), ML_END_TRUNCATED);
      assert_int_equal(off, cut);
      assert_int_equal(ml_reader_events(r), 2);
      ml_reader_free(r);
   }
   /* a clean cut at the end of a record: the cut is the file size */
   ml_reader *r = open_ok(&b);
   ml_record rec;
   while (ml_reader_next(r, &rec) > 0)
      ;
   uint64_t off;
   assert_int_equal(ml_reader_end_state(r, &off), ML_END_TRUNCATED);
   assert_int_equal(off, whole);
   assert_int_equal(ml_reader_events(r), 3);
   ml_reader_free(r);
   tb_fini(&b);
}

static void test_after_trailer(void **state)
{
   (void)state;
   tb b;
   tb_start(&b);
   tb_trailer(&b, 0, 0, 0, 0, 0, 0);
   size_t at = b.len;
   tb_alloc(&b, 1, 0, 8, 8);
   ml_reader *r = open_ok(&b);
   ml_record rec;
   assert_int_equal(ml_reader_next(r, &rec), 1);
   assert_int_equal(rec.kind, ML_REC_TRAILER);
   assert_int_equal(ml_reader_next(r, &rec), 0);
   uint64_t off;
   assert_int_equal(ml_reader_end_state(r, &off), ML_END_TRAILING);
   assert_int_equal(off, at);
   assert_int_equal(ml_reader_events(r), 0);   /* the ALLOC is not read */
   ml_reader_free(r);
   tb_fini(&b);
}

static void test_dt_overflow(void **state)
{
   (void)state;
   char msg[128];
   tb b;
   tb_start(&b);
   tb_time(&b, UINT64_MAX, 0);
   size_t at = b.len + 1;
   tb_time(&b, 1, 0);
   snprintf(msg, sizeof msg, "t:%zu: instruction counter overflows 64 bits",
            at);
   expect_error(&b, msg);
   tb_fini(&b);
}

/* Format 4: dt counts units of the HEADER's time unit U; every record's
   now is the sum of dt so far times U -- for events decoded by the fast
   path (a full window behind them) and by the checked path (the last
   records of the input), for TIME and MARK, and for records without dt.
   The TRAILER's instruction count stays exact. */
static void test_time_unit(void **state)
{
   (void)state;
   static const uint64_t units[] = { 1000, (uint64_t)1 << 20, 1 };
   static const struct { ml_rec_kind kind; uint64_t sum; } want[] = {
      { ML_REC_ALLOC, 3 }, { ML_REC_ALLOC, 3 }, { ML_REC_TIME, 5 },
      { ML_REC_PAGE, 12 }, { ML_REC_MARK, 16 }, { ML_REC_FREE, 1000016 },
      { ML_REC_STRING, 1000016 },
      { ML_REC_ALLOC, 1000019 }, { ML_REC_ALLOC, 1000019 },
      { ML_REC_TIME, 1000021 }, { ML_REC_PAGE, 1000028 },
      { ML_REC_MARK, 1000032 }, { ML_REC_FREE, 2000032 },
      { ML_REC_TRAILER, 2000032 } };
   const size_t nwant = sizeof want / sizeof want[0];
   for (int u = 0; u < 3; u++) {
      const uint64_t U = units[u];
      tb b;
      tb_start_unit(&b, U);
      uint32_t fn = tb_string(&b, "f");
      uint32_t st = tb_stack(&b, 0, tb_loc1(&b, fn, fn, 1));
      for (int pass = 0; pass < 2; pass++) {
         tb_alloc(&b, 3, st, 10, 0x10 + (uint64_t)pass);
         tb_alloc(&b, 0, st, 20, 0x20 + (uint64_t)pass);   /* same unit */
         tb_time(&b, 2, 50);
         tb_page(&b, 7, st, ML_PAGE_ANON, 1);
         tb_mark(&b, 4, fn);
         tb_free(&b, 1000000, st, 10, 0x10 + (uint64_t)pass);
         if (pass == 0)            /* more than FIXED_MAX bytes behind */
            tb_string(&b, "................................................"
                          "................................................");
      }
      tb_trailer(&b, 12345, 4, 2, 60, 40, 40);

      ml_reader *r = open_ok(&b);
      assert_int_equal(ml_reader_header(r)->time_unit, U);
      ml_record rec;
      size_t i = 0;
      int rc;
      while ((rc = ml_reader_next(r, &rec)) > 0) {
         if (i == 0 && rec.kind != ML_REC_ALLOC) {
            assert_int_equal(rec.now, 0);   /* the tables before them */
            continue;
         }
         assert_true(i < nwant);
         assert_int_equal(rec.kind, want[i].kind);
         assert_true(rec.now == want[i].sum * U);
         if (rec.kind == ML_REC_TRAILER)
            assert_int_equal(rec.u.trailer.total_instructions, 12345);
         i++;
      }
      assert_int_equal(rc, 0);
      assert_int_equal(i, nwant);
      ml_reader_free(r);
      tb_fini(&b);
   }
}

/* A time unit of 0 is a corrupt HEADER; a header without one is cut
   short; a clock whose sum of dt times the unit leaves 64 bits is
   refused at the dt that overflows, on every path. */
static void test_time_unit_bad(void **state)
{
   (void)state;
   char msg[160];
   tb b;

   /* unit 0: the offset is the time unit field's */
   tb_init(&b);
   size_t o = tb_begin(&b, ML_TAG_HEADER);
   tb_header_fields(&b, 64, 0, 0);
   size_t at = b.len + 1;                        /* + the length byte */
   tb_u(&b, 0);
   tb_end(&b, o);
   snprintf(msg, sizeof msg, "t:%zu: HEADER record: time unit 0 "
            "(instructions per dt unit must be at least 1)", at);
   expect_open_error(&b, msg);
   tb_fini(&b);

   /* a version 4 HEADER that ends after inherited (a version 3 layout) */
   tb_init(&b);
   o = tb_begin(&b, ML_TAG_HEADER);
   tb_header_fields(&b, 64, 0, 0);
   at = b.len + 1;
   tb_end(&b, o);
   snprintf(msg, sizeof msg, "t:%zu: HEADER record: time_unit runs past "
            "the end of its payload", at);
   expect_open_error(&b, msg);
   tb_fini(&b);

   /* unit 2^20: a sum of dt of UINT64_MAX >> 20 is the largest clock
      (2^64 - 2^20); one more unit overflows, whichever record adds it */
   const uint64_t U = (uint64_t)1 << 20, top = UINT64_MAX >> 20;
   for (int kind = 0; kind < 4; kind++) {
      tb_start_unit(&b, U);
      tb_time(&b, top - 1, 0);
      tb_alloc(&b, 1, 0, 8, 0x10);               /* exactly the top */
      at = b.len + 1;                            /* the dt after the tag */
      switch (kind) {
      case 0:                                    /* fast path: followed */
         tb_alloc(&b, 1, 0, 8, 0x20);            /* by FIXED_MAX bytes */
         tb_string(&b, "padding: more than FIXED_MAX bytes follow");
         break;
      case 1:                                    /* checked path: last */
         tb_page(&b, 1, 0, ML_PAGE_ANON, 1);
         break;
      case 2:
         tb_time(&b, 1, 0);
         break;
      case 3:
         at = b.len + 2;                         /* tag, payload length */
         tb_mark(&b, 1, 0);
         break;
      }
      ml_reader *r = open_ok(&b);
      ml_record rec;
      assert_int_equal(ml_reader_next(r, &rec), 1);
      assert_int_equal(rec.now, (top - 1) * U);
      assert_int_equal(ml_reader_next(r, &rec), 1);
      assert_int_equal(rec.kind, ML_REC_ALLOC);
      assert_true(rec.now == top * U);
      assert_true(rec.now == UINT64_MAX - (U - 1));
      ml_reader_free(r);
      snprintf(msg, sizeof msg, "t:%zu: instruction counter overflows 64 "
               "bits", at);
      expect_error(&b, msg);
      tb_fini(&b);
   }

   /* one dt alone too large for the unit */
   tb_start_unit(&b, 1000);
   at = b.len + 1;
   tb_alloc(&b, UINT64_MAX / 1000 + 1, 0, 8, 0x10);
   snprintf(msg, sizeof msg, "t:%zu: instruction counter overflows 64 bits",
            at);
   expect_error(&b, msg);
   tb_fini(&b);
}

/* Reads every record of r; returns a digest of kinds, ids and values. */
static uint64_t digest(ml_reader *r, int *rc_out)
{
   uint64_t h = 1469598103934665603ULL;
   ml_record rec;
   int rc;
   while ((rc = ml_reader_next(r, &rec)) > 0) {
      uint64_t v[4] = { rec.kind, rec.offset, rec.now,
                        rec.kind == ML_REC_ALLOC ? rec.u.block.size : 0 };
      for (int i = 0; i < 4; i++)
         h = (h ^ v[i]) * 1099511628211ULL;
      if (rec.kind == ML_REC_STRING) {
         size_t n;
         const char *s = ml_reader_string(r, rec.u.def.id, &n);
         h = (h ^ n ^ (uint8_t)s[n ? n - 1 : 0]) * 1099511628211ULL;
      }
   }
   *rc_out = rc;
   return h;
}

static void test_streaming_matches_memory(void **state)
{
   (void)state;
   tb b;
   tb_start(&b);
   uint32_t s = tb_string(&b, "f");
   uint32_t st = tb_stack(&b, 0, tb_loc1(&b, s, s, 1));
   /* > 2 MiB of events so records straddle the 1 MiB window */
   for (int i = 0; i < 300000; i++)
      tb_alloc(&b, (uint64_t)i % 300, st, (uint64_t)i * 7 + 1,
               0x10000000ULL + (uint64_t)i * 16);
   /* a STRING larger than the window (scratch path) */
   size_t o = tb_begin(&b, ML_TAG_STRING);
   for (int i = 0; i < (3 << 19); i++)
      tb_byte(&b, 'a' + i % 26);
   tb_end(&b, o);
   o = tb_begin(&b, 0x60);               /* large unknown record: skipped */
   for (int i = 0; i < (3 << 19); i++)
      tb_byte(&b, 0);
   tb_end(&b, o);
   tb_trailer(&b, 1, 2, 3, 4, 5, 6);

   char path[64];
   assert_int_equal(tb_write_file(&b, path), 0);
   ml_err err;
   ml_reader *rf = ml_reader_open(path, &err);
   assert_non_null(rf);
   ml_reader *rm = open_ok(&b);
   int rcf, rcm;
   assert_true(digest(rf, &rcf) == digest(rm, &rcm));
   assert_int_equal(rcf, 0);
   assert_int_equal(rcm, 0);
   assert_int_equal(ml_reader_end_state(rf, NULL), ML_END_COMPLETE);
   assert_int_equal(ml_reader_events(rf), 300000);
   size_t n;
   assert_non_null(ml_reader_string(rf, 2, &n));
   assert_int_equal(n, 3 << 19);
   ml_reader_free(rf);
   ml_reader_free(rm);

   /* the same file cut inside the big STRING: truncated at its start */
   size_t cut = (size_t)(b.len - (3 << 19) - 100);  /* in the STRING */
   assert_int_equal(truncate(path, (off_t)cut), 0);
   rf = ml_reader_open(path, &err);
   assert_non_null(rf);
   ml_record rec;
   while (ml_reader_next(rf, &rec) > 0)
      ;
   uint64_t off;
   assert_int_equal(ml_reader_end_state(rf, &off), ML_END_TRUNCATED);
   assert_true(off < cut);
   assert_int_equal(ml_reader_events(rf), 300000);
   ml_reader_free(rf);
   unlink(path);
   tb_fini(&b);
}

static void test_file_errors(void **state)
{
   (void)state;
   ml_err err;
   assert_null(ml_reader_open("/nonexistent/trace", &err));
   assert_string_equal(err.msg,
                       "/nonexistent/trace: No such file or directory");
   assert_null(ml_reader_open("/", &err));
   assert_string_equal(err.msg, "/: Is a directory");

   tb b;
   tb_start(&b);
   size_t at = b.len;
   tb_byte(&b, 0x22);
   char path[64], msg[160];
   assert_int_equal(tb_write_file(&b, path), 0);
   ml_reader *r = ml_reader_open(path, &err);
   assert_non_null(r);
   ml_record rec;
   assert_int_equal(ml_reader_next(r, &rec), ML_ECORRUPT);
   snprintf(msg, sizeof msg, "%s:%zu: bad record tag 0x22", path, at);
   assert_string_equal(ml_reader_strerror(r), msg);
   ml_reader_free(r);
   ml_reader_free(NULL);
   unlink(path);
   tb_fini(&b);
}

/* Version 3 events: stacks and freed block ids are written as deltas
   against per-class and per-space state, ALLOC ids are implicit; every
   value comes back exactly, whatever the jumps between them. */
static void test_v3_roundtrip(void **state)
{
   (void)state;
   enum { N = 14 };
   tb b;
   tb_start(&b);
   uint32_t sf = tb_string(&b, "f");
   uint32_t file = tb_string(&b, "a.c");
   uint32_t st[300];
   for (int i = 0; i < 300; i++)
      st[i] = tb_stack(&b, 0, tb_loc1(&b, sf, file, (uint32_t)i + 1));
   /* stack ids: repeats, small steps, big jumps both ways, 0 (none) */
   uint32_t stk[N];
   for (int i = 0; i < N; i++)
      stk[i] = i % 4 == 1 ? 0 : st[(i * 97) % 300];
   stk[2] = stk[3] = st[299];
   /* blocks i get ids 2i (ALLOC) and 2i + 1 (CALLOC); they are freed in
      a scrambled order: ids jump both ways, and repeat across spaces */
   for (int i = 0; i < N; i++) {
      tb_alloc(&b, (uint64_t)i, stk[i], (uint64_t)i * 1000, (uint64_t)i);
      tb_calloc(&b, 1, stk[N - 1 - i], 7, (uint64_t)i);
      tb_page(&b, 1, stk[i], ML_PAGE_ANON, -(int64_t)i);
   }
   for (int j = 0; j < N; j++) {
      int i = (j * 5) % N;
      tb_free(&b, 2, stk[(i + 3) % N], (uint64_t)i, (uint64_t)i);
      tb_cfree(&b, 0, stk[i], 7, (uint64_t)(N - 1 - i));
   }

   ml_reader *r = open_ok(&b);
   ml_record rec;
   int n = 0;
   int rc;
   while ((rc = ml_reader_next(r, &rec)) > 0) {
      if (rec.kind != ML_REC_ALLOC && rec.kind != ML_REC_FREE &&
          rec.kind != ML_REC_PAGE)
         continue;
      if (n < 3 * N) {
         int i = n / 3;
         switch (n % 3) {
         case 0:
            assert_int_equal(rec.kind, ML_REC_ALLOC);
            assert_false(rec.u.block.custom);
            assert_int_equal(rec.u.block.stack, stk[i]);
            assert_int_equal(rec.u.block.size, (uint64_t)i * 1000);
            assert_int_equal(rec.u.block.id, 2 * i);
            break;
         case 1:
            assert_int_equal(rec.kind, ML_REC_ALLOC);
            assert_true(rec.u.block.custom);
            assert_int_equal(rec.u.block.stack, stk[N - 1 - i]);
            assert_int_equal(rec.u.block.id, 2 * i + 1);
            break;
         case 2:
            assert_int_equal(rec.kind, ML_REC_PAGE);
            assert_int_equal(rec.u.page.stack, stk[i]);
            assert_int_equal(rec.u.page.count, -(int64_t)i);
            break;
         }
      } else {
         int j = (n - 3 * N) / 2, i = (j * 5) % N;
         assert_int_equal(rec.kind, ML_REC_FREE);
         if ((n - 3 * N) % 2 == 0) {
            assert_false(rec.u.block.custom);
            assert_int_equal(rec.u.block.stack, stk[(i + 3) % N]);
            assert_int_equal(rec.u.block.size, (uint64_t)i);
            assert_int_equal(rec.u.block.id, 2 * i);
         } else {
            assert_true(rec.u.block.custom);
            assert_int_equal(rec.u.block.stack, stk[i]);
            assert_int_equal(rec.u.block.id, 2 * (N - 1 - i) + 1);
         }
      }
      n++;
   }
   assert_int_equal(rc, 0);
   assert_int_equal(n, 5 * N);
   ml_reader_free(r);
   tb_fini(&b);

   /* a same-stack tag or delta that leaves the defined stacks */
   char msg[128];
   tb_start(&b);
   uint32_t s1 = tb_stack(&b, 0, tb_loc1(&b, tb_string(&b, "f"),
                                         tb_string(&b, "a.c"), 1));
   tb_alloc(&b, 1, s1, 8, 0x1000);
   size_t at = b.len + 2;                         /* tag, dt */
   tb_byte(&b, ML_TAG_FREE);
   tb_u(&b, 1);
   tb_u(&b, ml_zigzag(-2));                       /* 0 - 2 */
   tb_u(&b, 8);
   tb_u(&b, 0);
   snprintf(msg, sizeof msg, "t:%zu: stack id -2 not defined", at);
   expect_error(&b, msg);
   tb_fini(&b);

   /* a FREE of a block id no ALLOC gave out */
   tb_start(&b);
   tb_alloc(&b, 1, 0, 8, 0x1000);                 /* id 0 */
   at = b.len + 1;                                /* after the tag */
   tb_free_id(&b, ML_TAG_FREE, 1, 0, 8, 1);
   snprintf(msg, sizeof msg, "t:%zu: FREE record: block id 1 was never "
            "allocated", at);
   expect_error(&b, msg);
   tb_fini(&b);
}

/* A trace like the tool's compressed one: the magic and HEADER in a raw
   frame written without a compressor, a skippable frame, then the rest
   compressed with a checksum.  Returns a malloc'd buffer, *n its size. */
static unsigned char *compress_like_tool(const tb *b, size_t hdr_len,
                                         size_t *n)
{
   size_t rest = b->len - hdr_len;
   size_t cap = ML_ZSTD_RAW_HDR_LEN + hdr_len + ML_ZSTD_SKIP_HDR_LEN + 5 +
                ZSTD_compressBound(rest);
   unsigned char *z = malloc(cap);
   assert_non_null(z);
   size_t o = 0;
   ml_zstd_raw_header(z, (unsigned)hdr_len);
   memcpy(z + ML_ZSTD_RAW_HDR_LEN, b->buf, hdr_len);
   o = ML_ZSTD_RAW_HDR_LEN + hdr_len;
   ml_zstd_skip_header(z + o, 5);
   memcpy(z + o + ML_ZSTD_SKIP_HDR_LEN, "xxxxx", 5);
   o += ML_ZSTD_SKIP_HDR_LEN + 5;
   ZSTD_CCtx *cc = ZSTD_createCCtx();
   assert_non_null(cc);
   ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 1);
   size_t zn = ZSTD_compress2(cc, z + o, cap - o, b->buf + hdr_len, rest);
   assert_false(ZSTD_isError(zn));
   ZSTD_freeCCtx(cc);
   *n = o + zn;
   return z;
}

/* Every record of a and b (same count, kinds, offsets, clocks, fields). */
static void expect_same_records(ml_reader *a, ml_reader *b, uint64_t *events)
{
   ml_record x, y;
   int ra, rb;
   *events = 0;
   while ((ra = ml_reader_next(a, &x)) > 0) {
      rb = ml_reader_next(b, &y);
      assert_int_equal(rb, 1);
      assert_int_equal(x.kind, y.kind);
      assert_int_equal(x.offset, y.offset);
      assert_int_equal(x.now, y.now);
      if (x.kind == ML_REC_ALLOC || x.kind == ML_REC_FREE) {
         assert_int_equal(x.u.block.stack, y.u.block.stack);
         assert_int_equal(x.u.block.size, y.u.block.size);
         assert_true(x.u.block.id == y.u.block.id);
         (*events)++;
      }
   }
   assert_int_equal(ra, 0);
   assert_int_equal(ml_reader_next(b, &y), 0);
}

/* A trace big enough to straddle the 1 MiB window several times. */
static void build_big(tb *b, size_t *hdr_len)
{
   tb_start(b);
   *hdr_len = b->len;
   uint32_t sf = tb_string(b, "f");
   uint32_t file = tb_string(b, "a.c");
   uint32_t s[64];
   for (int i = 0; i < 64; i++)
      s[i] = tb_stack(b, 0, tb_loc1(b, sf, file, (uint32_t)i + 1));
   uint64_t x = 12345;
   for (int i = 0; i < 400000; i++) {
      x = x * 6364136223846793005ull + 1442695040888963407ull;
      uint64_t a = 0x4000000 + ((x >> 33) % 8192) * 48;
      tb_alloc(b, 30 + (x >> 60), s[(x >> 40) % 64], 8 + (x >> 50) % 200, a);
      tb_free(b, 7, s[(x >> 47) % 4], 8 + (x >> 50) % 200, a);
   }
   tb_trailer(b, 1, 400000, 400000, 0, 0, 0);
}

static void test_zstd(void **state)
{
   (void)state;
   tb b;
   size_t hdr_len, zn;
   build_big(&b, &hdr_len);
   unsigned char *z = compress_like_tool(&b, hdr_len, &zn);
   assert_true(zn < b.len);

   ml_err err;
   uint64_t events;
   /* in memory */
   ml_reader *raw = open_ok(&b);
   ml_reader *zr = ml_reader_open_mem(z, zn, "z", &err);
   if (!zr)
      fail_msg("%s", err.msg);
   assert_false(ml_reader_compressed(raw));
   assert_true(ml_reader_compressed(zr));
   expect_same_records(raw, zr, &events);
   assert_int_equal(events, 800000);
   uint64_t off;
   assert_int_equal(ml_reader_end_state(zr, &off), ML_END_COMPLETE);
   assert_int_equal(off, b.len);
   ml_reader_free(raw);
   ml_reader_free(zr);

   /* from a file */
   tb zb = { .buf = z, .len = zn, .cap = zn };
   char path[64];
   assert_int_equal(tb_write_file(&zb, path), 0);
   raw = open_ok(&b);
   zr = ml_reader_open(path, &err);
   if (!zr)
      fail_msg("%s", err.msg);
   assert_true(ml_reader_compressed(zr));
   expect_same_records(raw, zr, &events);
   assert_int_equal(ml_reader_end_state(zr, NULL), ML_END_COMPLETE);
   ml_reader_free(raw);
   ml_reader_free(zr);
   unlink(path);
   free(z);
   tb_fini(&b);
}

/* A compressed trace cut anywhere: the records before the cut, then a
   truncated end whose offset (in the decompressed stream) is the start
   of the first record that did not arrive whole. */
static void test_zstd_truncated(void **state)
{
   (void)state;
   tb b;
   size_t hdr_len, zn;
   build_big(&b, &hdr_len);
   unsigned char *z = compress_like_tool(&b, hdr_len, &zn);
   ml_err err;
   /* inside a block, near the end, inside the second frame's header */
   size_t cuts[] = { zn / 2, zn - 10, ML_ZSTD_RAW_HDR_LEN + hdr_len + 3 };
   for (size_t c = 0; c < sizeof cuts / sizeof cuts[0]; c++) {
      tb zb = { .buf = z, .len = cuts[c], .cap = zn };
      char path[64];
      assert_int_equal(tb_write_file(&zb, path), 0);
      ml_reader *zr = ml_reader_open(path, &err);
      if (!zr)
         fail_msg("%s", err.msg);
      ml_reader *raw = open_ok(&b);
      ml_record x, y;
      int rc;
      uint64_t n = 0;
      while ((rc = ml_reader_next(zr, &x)) > 0) {
         assert_int_equal(ml_reader_next(raw, &y), 1);
         assert_int_equal(x.kind, y.kind);
         assert_int_equal(x.offset, y.offset);
         n++;
      }
      assert_int_equal(rc, 0);
      uint64_t off;
      assert_int_equal(ml_reader_end_state(zr, &off), ML_END_TRUNCATED);
      assert_true(off < b.len);
      /* the cut is where the raw reader's next record starts */
      assert_int_equal(ml_reader_next(raw, &y), 1);
      assert_int_equal(off, y.offset);
      if (c == 0)
         assert_true(n > 1000);
      ml_reader_free(zr);
      ml_reader_free(raw);
      unlink(path);
   }
   free(z);
   tb_fini(&b);
}

/* Corrupt compressed bytes: a clean error naming the decompressed
   offset, never a crash. */
static void test_zstd_corrupt(void **state)
{
   (void)state;
   tb b;
   size_t hdr_len, zn;
   build_big(&b, &hdr_len);
   unsigned char *z = compress_like_tool(&b, hdr_len, &zn);
   for (size_t i = zn / 3; i < zn / 3 + 64; i++)
      z[i] ^= 0x5a;
   ml_err err;
   ml_reader *zr = ml_reader_open_mem(z, zn, "z", &err);
   assert_non_null(zr);
   ml_record rec;
   int rc;
   while ((rc = ml_reader_next(zr, &rec)) > 0)
      ;
   assert_int_equal(rc, ML_ECORRUPT);
   const char *msg = ml_reader_strerror(zr);
   assert_true(strncmp(msg, "z:", 2) == 0);
   assert_non_null(strstr(msg, "(offset in the decompressed stream)"));
   assert_int_equal(ml_reader_next(zr, &rec), ML_ECORRUPT);   /* sticky */
   ml_reader_free(zr);

   /* a zstd frame whose first block has the reserved type */
   static const unsigned char junk[] = { 0x28, 0xb5, 0x2f, 0xfd, 0x20, 0x10,
                                         0x07, 0x00, 0x00 };
   assert_null(ml_reader_open_mem(junk, sizeof junk, "j", &err));
   assert_non_null(strstr(err.msg, "j:0: corrupt zstd data"));
   /* a zstd magic and a cut frame header: no data at all */
   assert_null(ml_reader_open_mem(junk, 5, "j", &err));
   assert_string_equal(err.msg, "j:0: no data in the zstd stream (cut or "
                       "empty), not a memline trace (offset in the "
                       "decompressed stream)");
   free(z);
   tb_fini(&b);
}

int main(void)
{
   const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_all_records),
      cmocka_unit_test(test_bad_magic),
      cmocka_unit_test(test_bad_header),
      cmocka_unit_test(test_bad_tag),
      cmocka_unit_test(test_free_size_window),
      cmocka_unit_test(test_stack_up),
      cmocka_unit_test(test_stack_newest),
      cmocka_unit_test(test_overlong_varint),
      cmocka_unit_test(test_undefined_ids),
      cmocka_unit_test(test_rss_records),
      cmocka_unit_test(test_payload_bounds),
      cmocka_unit_test(test_frames_and_cut_nodes),
      cmocka_unit_test(test_truncated),
      cmocka_unit_test(test_after_trailer),
      cmocka_unit_test(test_dt_overflow),
      cmocka_unit_test(test_time_unit),
      cmocka_unit_test(test_time_unit_bad),
      cmocka_unit_test(test_streaming_matches_memory),
      cmocka_unit_test(test_file_errors),
      cmocka_unit_test(test_v3_roundtrip),
      cmocka_unit_test(test_zstd),
      cmocka_unit_test(test_zstd_truncated),
      cmocka_unit_test(test_zstd_corrupt),
   };
   return cmocka_run_group_tests(tests, NULL, NULL);
}
