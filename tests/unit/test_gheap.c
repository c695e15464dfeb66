/* test_gheap.c -- vg-tool/ml_gheap.c, the model of glibc's malloc,
   against the real glibc of this machine, and its touch and brk
   callbacks on hand-derived cases.

   The comparison runs each operation sequence twice: in a child process
   (this binary run again through /proc/self/exe with ML_GHEAP_REPLAY set)
   whose main does nothing but replay the sequence with the real malloc,
   calloc, realloc, memalign and free before anything else touches the
   heap, writing for each operation the block's offset from the heap's
   start (sbrk(0) when main began), whether glibc mapped it, and the
   heap's end (sbrk(0)), with write(2) from static buffers; and every
   SNAP_EVERY operations and at the end, which pages of the heap are
   resident (/proc/self/pagemap: present and mapped by this process
   alone -- a page only read maps the shared zero page, which mincore
   would count and VmRSS does not; huge pages off for the child, so that
   a page is resident exactly when glibc wrote it).  Then here on the
   model, operation by operation, with its touch, brk and dontneed
   callbacks played on a page map.  The child gets an environment of its
   own, without GLIBC_TUNABLES or MALLOC_* variables unless a test gives
   some, so that glibc runs with the model's settings.

   The sequences come from a fixed LCG and depend only on which slots are
   live, so both sides generate the same one.  Each scenario starts with
   a scripted prefix (the cases it is about) and goes on at random.

   Settings: a scenario can also run with glibc.malloc tunables in the
   child's environment (GLIBC_TUNABLES, MALLOC_*_), which the model reads
   through ml_gheap_tunables from the same strings; one scenario calls
   mallopt and malloc_trim among its operations (their results and the
   heap's end are compared). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ml_gheap.h"

#define REPLAY_ENV "ML_GHEAP_REPLAY"
#define THREAD_ENV "ML_GHEAP_THREAD"
#define NOT_LIVE   (~(uint64_t)1)

/*------------------------------------------------------------*/
/*--- Operation sequences                                  ---*/
/*------------------------------------------------------------*/

/* OP_MALLOPT: mallopt(slot, (int)size); OP_TRIM: malloc_trim(size) */
enum { OP_MALLOC, OP_CALLOC, OP_FREE, OP_REALLOC, OP_MEMALIGN, OP_MALLOPT,
       OP_TRIM };
static const char *const op_names[] = { "malloc", "calloc", "free",
                                        "realloc", "memalign", "mallopt",
                                        "malloc_trim" };

typedef struct {
   int kind;
   int slot;
   uint64_t size;
   uint64_t align;
   int thr;                    /* SC_XTHREAD: the thread that calls (0, 1) */
} Op;

enum {
   SC_SMALL,      /* tcache and fastbin churn */
   SC_MIXED,      /* all sizes and calls, random frees */
   SC_BIG,        /* around the mmap threshold */
   SC_TRIM,       /* heaps grown then freed from the top */
   SC_REALLOC,    /* realloc in place, into top, absorbing, moving */
   SC_MEMALIGN,   /* alignments 32 to 4096 among other blocks */
   SC_ITERS,      /* more than 10000 unsorted chunks at one malloc */
   SC_MALLOPT,    /* mallopt and malloc_trim among mixed calls */
   SC_UNSORTED,   /* the tcache filled from the unsorted bin */
   SC_XTHREAD,    /* two threads, each freeing the other's blocks too */
   N_SCENARIOS
};
static const char *const sc_names[] = { "small", "mixed", "big", "trim",
                                        "realloc", "memalign", "iters",
                                        "mallopt", "unsorted", "xthread" };
static const int sc_ops[] = { 6000, 8000, 1500, 4000, 5000, 4000, 31000,
                              5000, 3000, 8000 };

/* SC_ITERS: ITERS_N blocks of 1100 bytes (chunks too big for the tcache
   and the fastbins), every other one freed: 10100 unsorted chunks that
   cannot coalesce.  The next malloc bins only the 10000 oldest (glibc's
   MAX_ITERS); the following ones find the others still unsorted. */
#define ITERS_N  20200

#define NSLOTS   32768
#define MAX_OPS  32000
#define NO_SLOT  (-1)

typedef struct {
   int sc;
   int i;                      /* operations generated */
   uint64_t rng;
   unsigned char live[NSLOTS];
   int nlive;
   /* bursts: a run of allocations of one size, then their frees */
   int burst[64];
   unsigned char inburst[NSLOTS];
   int nburst, burst_left;
   uint64_t burst_size;
   int freeing;
} Gen;

static uint64_t rnd(Gen *g)
{
   g->rng = g->rng * 6364136223846793005ULL + 1442695040888963407ULL;
   return g->rng >> 33;
}

static uint64_t rnd_in(Gen *g, uint64_t lo, uint64_t hi)   /* [lo, hi] */
{
   uint64_t span = hi - lo + 1;
   uint64_t r = (rnd(g) << 31) ^ rnd(g);
   return lo + r % span;
}

static int pick_free_slot(Gen *g)
{
   int s = (int)(rnd(g) % NSLOTS);
   while (g->live[s])
      s = (s + 1) % NSLOTS;
   return s;
}

static int pick_live_slot(Gen *g)
{
   int s = (int)(rnd(g) % NSLOTS);
   while (!g->live[s])
      s = (s + 1) % NSLOTS;
   return s;
}

/* A live slot that no burst holds (there must be one). */
static int pick_live_free_slot(Gen *g)
{
   int s = (int)(rnd(g) % NSLOTS);
   while (!g->live[s] || g->inburst[s])
      s = (s + 1) % NSLOTS;
   return s;
}

/* Scripted prefixes: slots are named by the script; a free or realloc
   names a slot the script allocated. */
#define M(sl, sz)      { OP_MALLOC, sl, sz, 0, 0 }
#define C(sl, sz)      { OP_CALLOC, sl, sz, 0, 0 }
#define F(sl)          { OP_FREE, sl, 0, 0, 0 }
#define RE(sl, sz)     { OP_REALLOC, sl, sz, 0, 0 }
#define MA(sl, al, sz) { OP_MEMALIGN, sl, sz, al, 0 }
#define MO(par, val)   { OP_MALLOPT, par, (uint64_t)(int64_t)(val), 0, 0 }
#define TR(pad)        { OP_TRIM, 0, pad, 0, 0 }
#define END            { -1, 0, 0, 0, 0 }

static const Op script_small[] = {
   M(0, 100), F(0), M(0, 100),                     /* tcache round trip */
   /* ten of a fastbin size freed: seven to the tcache, three to the
      fastbin; then taken again (the fastbin refills the tcache) */
   M(1, 40), M(2, 40), M(3, 40), M(4, 40), M(5, 40), M(6, 40), M(7, 40),
   M(8, 40), M(9, 40), M(10, 40), M(11, 200),
   F(1), F(2), F(3), F(4), F(5), F(6), F(7), F(8), F(9), F(10),
   M(1, 40), M(2, 40), M(3, 40), M(4, 40), M(5, 40), M(6, 40), M(7, 40),
   M(8, 40), F(8),
   /* a large request consolidates the fastbins */
   F(1), F(2), F(3), F(4), F(5), F(6), F(7), M(12, 30), M(13, 30),
   M(14, 30), M(15, 30), M(16, 30), M(17, 30), M(18, 30), M(19, 30),
   M(20, 30), F(12), F(13), F(14), F(15), F(16), F(17), F(18), F(19),
   F(20), M(21, 2000),
   END
};

static const Op script_mixed[] = {
   /* unsorted chunks binned, a small request splits a larger one and
      then takes from the last remainder */
   M(0, 1500), M(1, 100), M(2, 3000), M(3, 100), M(4, 5000), M(5, 100),
   F(0), F(2), F(4), M(6, 1200), M(7, 300), M(8, 300), M(9, 300),
   M(10, 4000), C(11, 2500), C(12, 50), F(10), C(13, 3900),
   END
};

static const Op script_big[] = {
   M(0, 200000),                  /* mapped */
   F(0),                          /* threshold raised to its size */
   M(0, 200000),                  /* now from the heap */
   M(1, 300000), F(1),            /* mapped again: above the new threshold */
   M(2, 100000), F(0), F(2),
   M(3, 1000000), F(3),           /* mapped; threshold 1 MiB */
   M(4, 900000), M(5, 900000), F(4), F(5),
   M(6, 40000000), F(6),          /* above 32 MiB: threshold unchanged */
   M(8, 33554392), F(8),          /* a mapping of exactly 32 MiB: the
                                     size field (+ IS_MMAPPED) exceeds it */
   M(9, 2000000), F(9),           /* so this one is still mapped */
   C(7, 2000000), RE(7, 3000000), RE(7, 100), F(7),
   END
};

static const Op script_trim[] = {
   /* a small request finds top too small: the fastbins are consolidated
      (two chunks into top) before the heap would grow */
   M(0, 60000), M(1, 60000), M(2, 13016),
   M(10, 40), M(11, 40), M(12, 40), M(13, 40), M(14, 40), M(15, 40),
   M(16, 40), M(17, 40), M(18, 40),
   F(10), F(11), F(12), F(13), F(14), F(15), F(16), F(17), F(18),
   M(3, 1000),
   F(3), F(2), F(1), F(0),
   /* glibc's trim arithmetic to the byte: top starting 32 bytes below a
      page boundary, so that top_size - MINSIZE - 1 - pad falls one byte
      short of a whole page */
   M(20, 7488), M(21, 100000), M(22, 100000), F(22), F(21), F(20),
   /* the plain case */
   M(0, 100000), M(1, 100000), F(1),
   M(1, 150000), M(2, 150), F(1), F(2), F(0),
   END
};

static const Op script_realloc[] = {
   M(0, 1500), RE(0, 3000),           /* into top */
   M(1, 1500), M(2, 1500), M(3, 100), F(2),
   RE(1, 2800),                       /* absorbs the free neighbour */
   RE(1, 10000),                      /* moves */
   RE(3, 50), RE(3, 1000), RE(0, 200), RE(0, 8000),
   M(4, 100), RE(4, 130000),          /* top too small: the heap grows */
   RE(4, 200000),                     /* heap -> mapped */
   RE(4, 300000), RE(4, 20),          /* mremap, stays mapped */
   END
};

static const Op script_memalign[] = {
   /* a realloc before any malloc: no tcache made yet, and realloc does
      not make it */
   MA(0, 64, 100), RE(0, 300), MA(1, 4096, 100), MA(2, 4096, 5000), M(3, 10),
   MA(4, 64, 1), MA(5, 32, 33), MA(6, 16, 10), MA(7, 8, 10),
   MA(8, 4096, 300000), F(8), MA(8, 4096, 300000), F(0), F(1), F(2),
   END
};

static const Op script_mallopt[] = {
   /* a higher mmap threshold: 200 KB blocks from the heap */
   MO(M_MMAP_THRESHOLD, 300000), M(0, 200000), M(1, 200000), M(2, 100),
   F(0),                          /* a free chunk of 200 KB below 1 */
   TR(0),                         /* its pages given back; top trimmed */
   M(3, 40), M(4, 40), M(5, 40), M(6, 40), M(7, 40), M(8, 40), M(9, 40),
   M(10, 40), M(11, 40),
   F(3), F(4), F(5), F(6), F(7), F(8), F(9), F(10), F(11),
   MO(M_MXFAST, 0),               /* consolidates first; no fastbins */
   M(3, 40), F(3),
   MO(M_MXFAST, 161),             /* refused */
   MO(M_MMAP_THRESHOLD, 33554433), M(14, 30000000), F(14),   /* taken */
   MO(M_TOP_PAD, 0), MO(M_TRIM_THRESHOLD, 0),
   F(1),                          /* trims top down to the page */
   MO(M_MMAP_MAX, 0), M(12, 5000000), F(12),   /* no mappings at all */
   MO(M_MMAP_MAX, 65536), MO(M_TOP_PAD, 1 << 20), M(13, 100),
   TR(1 << 16), MO(M_ARENA_MAX, 4), MO(M_ARENA_TEST, -1),
   MO(M_CHECK_ACTION, 3), MO(12345, 1),
   MO(M_TRIM_THRESHOLD, 256 * 1024), MO(M_TOP_PAD, 64 * 1024),
   MO(M_MXFAST, 80),
   END
};

static const Op script_unsorted[] = {
   /* on a fresh heap, the unsorted bin holding E1, B1, B2, B3, E2, E3 (oldest first; E of
      a tcache size, B too big for it) while the tcache's bin for E is
      empty: a malloc of E's size caches E1, bins the B's, caches E2 and
      E3 and hands out E3 -- or, with tcache_unsorted_limit 2, hands out
      E1 after the third B */
   M(100, 200), M(101, 16), M(102, 1200), M(103, 16), M(104, 1300),
   M(105, 16), M(106, 1400), M(107, 16), M(108, 200), M(109, 16),
   M(110, 200), M(111, 16),
   M(120, 200), M(121, 200), M(122, 200), M(123, 200), M(124, 200),
   M(125, 200), M(126, 200),
   F(120), F(121), F(122), F(123), F(124), F(125), F(126),
   F(100), F(102), F(104), F(106), F(108), F(110),
   M(120, 200), M(121, 200), M(122, 200), M(123, 200), M(124, 200),
   M(125, 200), M(126, 200),
   M(130, 200), M(131, 200), M(132, 200),
   END
};

static const Op script_none[] = { END };

static const Op *const scripts[] = { script_small, script_mixed, script_big,
                                     script_trim, script_realloc,
                                     script_memalign, script_none,
                                     script_mallopt, script_unsorted,
                                     script_none };

/* Random sizes by scenario: a percentile draw picks a band (the first
   whose bound is above it), then a size in the band. */
typedef struct {
   uint64_t below, lo, hi;
} Band;

static const Band sizes_small[] = {
   { 60, 0, 120 }, { 95, 121, 1032 }, { 100, 1033, 3000 }
};
static const Band sizes_mixed[] = {
   { 45, 0, 256 }, { 70, 257, 4096 }, { 88, 4097, 65536 },
   { 97, 65537, 262144 }, { 100, 262145, 1 << 20 }
};
static const Band sizes_big[] = {
   { 30, 0, 2000 }, { 50, 2001, 100000 }, { 100, 100001, 1500000 }
};

static uint64_t size_in(Gen *g, const Band *b)
{
   uint64_t r = rnd(g) % 100;
   while (r >= b->below)
      b++;
   return rnd_in(g, b->lo, b->hi);
}

/* The next operation of the sequence; 0 when it has ended. */
static int gen_next(Gen *g, Op *op)
{
   const Op *script = scripts[g->sc];
   int n_script = 0;
   while (script[n_script].kind >= 0)
      n_script++;

   if (g->i >= sc_ops[g->sc])
      return 0;
   if (g->sc == SC_ITERS && g->i < ITERS_N + ITERS_N / 2 + 3) {
      int i = g->i;
      memset(op, 0, sizeof *op);
      if (i < ITERS_N) {
         op->kind = OP_MALLOC;
         op->slot = i;
         op->size = 1100;
      } else if (i < ITERS_N + ITERS_N / 2) {
         op->kind = OP_FREE;
         op->slot = 2 * (i - ITERS_N) + 1;
      } else {
         op->kind = OP_MALLOC;
         op->slot = 2 * (i - ITERS_N - ITERS_N / 2) + 1;
         op->size = i == ITERS_N + ITERS_N / 2 ? 5000 : 1100;
      }
   } else if (g->i < n_script) {
      *op = script[g->i];
   } else {
      memset(op, 0, sizeof *op);
      int want_alloc;
      uint64_t r = rnd(g) % 100;
      switch (g->sc) {
      case SC_SMALL:
      case SC_TRIM:
         /* bursts: the same size allocated many times, then freed
            (in order, reversed or shuffled: trimming needs the top's
            neighbours to go first) */
         if (g->burst_left == 0 && g->nburst == 0 && r < 15) {
            g->burst_left = (int)rnd_in(g, 8, 60);
            g->burst_size = g->sc == SC_SMALL ? size_in(g, sizes_small)
                                              : rnd_in(g, 1000, 40000);
            g->freeing = 0;
         }
         if (g->burst_left > 0 && g->nlive < NSLOTS) {
            op->kind = OP_MALLOC;
            op->slot = pick_free_slot(g);
            op->size = g->burst_size;
            g->burst[g->nburst++] = op->slot;
            g->inburst[op->slot] = 1;
            if (--g->burst_left == 0 || g->nburst == 64) {
               g->burst_left = 0;
               g->freeing = 1;
            }
            break;
         }
         if (g->freeing && g->nburst > 0) {
            int k = (g->sc == SC_TRIM || (rnd(g) & 1)) ? g->nburst - 1
                    : (int)(rnd(g) % (uint64_t)g->nburst);
            op->kind = OP_FREE;
            op->slot = g->burst[k];
            g->inburst[op->slot] = 0;
            g->burst[k] = g->burst[--g->nburst];
            if (g->nburst == 0)
               g->freeing = 0;
            break;
         }
         /* other blocks, freed at random (burst slots are left to
            their burst) */
         want_alloc = g->nlive == g->nburst ||
                      (g->nlive < NSLOTS && r < (g->sc == SC_TRIM ? 45 : 55));
         if (want_alloc) {
            op->kind = rnd(g) % 10 == 0 ? OP_CALLOC : OP_MALLOC;
            op->slot = pick_free_slot(g);
            op->size = size_in(g, g->sc == SC_SMALL ? sizes_small : sizes_mixed);
         } else {
            op->kind = OP_FREE;
            op->slot = pick_live_free_slot(g);
         }
         break;
      default: {
         const Band *sizes = g->sc == SC_BIG ? sizes_big
                             : g->sc == SC_XTHREAD ? sizes_small : sizes_mixed;
         if (g->sc == SC_XTHREAD)
            op->thr = (int)(rnd(g) & 1);
         if (g->sc == SC_MALLOPT && rnd(g) % 64 == 0) {
            op->kind = OP_TRIM;
            op->size = rnd(g) % 4 == 0 ? 0 : rnd_in(g, 1, 300000);
            break;
         }
         int p_alloc = g->sc == SC_BIG ? 50 : 48;
         int p_realloc = g->sc == SC_REALLOC ? 40 : 10;
         int p_memalign = g->sc == SC_MEMALIGN ? 40 : 5;
         if (g->nlive == 0 || (g->nlive < NSLOTS && r < (uint64_t)p_alloc)) {
            uint64_t k = rnd(g) % 100;
            op->slot = pick_free_slot(g);
            op->size = size_in(g, sizes);
            if (k < (uint64_t)p_memalign) {
               static const uint64_t aligns[] = { 64, 4096, 32, 64, 128,
                                                  4096, 1024, 8 };
               op->kind = OP_MEMALIGN;
               op->align = aligns[rnd(g) % 8];
            } else if (k < (uint64_t)p_memalign + 10) {
               op->kind = OP_CALLOC;
            } else {
               op->kind = OP_MALLOC;
            }
         } else if (r < (uint64_t)(p_alloc + p_realloc)) {
            op->kind = OP_REALLOC;
            op->slot = pick_live_slot(g);
            op->size = g->sc == SC_REALLOC && (rnd(g) & 3) != 0
                       ? rnd_in(g, 1, 20000) : size_in(g, sizes);
            if (op->size == 0)
               op->size = 1;       /* realloc to 0 is a free */
         } else {
            op->kind = OP_FREE;
            op->slot = pick_live_slot(g);
         }
         break;
      }
      }
   }
   if (op->kind == OP_FREE) {
      g->live[op->slot] = 0;
      g->nlive--;
   } else if (op->kind == OP_MALLOPT || op->kind == OP_TRIM) {
      ;                             /* no block */
   } else if (op->kind != OP_REALLOC) {
      g->live[op->slot] = 1;
      g->nlive++;
   }
   g->i++;
   return 1;
}

static void gen_init(Gen *g, int sc)
{
   memset(g, 0, sizeof *g);
   g->sc = sc;
   g->rng = 0x2545F4914F6CDD1DULL + (uint64_t)sc * 7919;
}

/*------------------------------------------------------------*/
/*--- The child: the real glibc                            ---*/
/*------------------------------------------------------------*/

/* Per operation: offset (or ML_GHEAP_MAPPED, or NOT_LIVE for a free),
   heap end, and for realloc whether the pointer changed. */
#define REPLAY_MAGIC 0x6d6c676865617031ULL
#define MAX_HEAP_PAGES (1u << 19)           /* 2 GiB */
#define SNAP_EVERY     250                  /* ops between snapshots */
#define SNAP_WORDS     (1u << 20)
static uint64_t out[4 + 3 * MAX_OPS];
static uint64_t pm_vec[MAX_HEAP_PAGES];
static uint64_t snaps[SNAP_WORDS];          /* the resident-page snapshots */
static size_t nsnap;                        /* words of snaps used */

/* The heap replayed on: the main arena's (from sbrk(0) when main began
   to sbrk(0)), or in a thread the heap of the thread's arena (64 MiB
   aligned, from its first block; its size in its heap_info), NULL until
   that block. */
#define HEAP_MAX ((uintptr_t)64 << 20)
static int in_thread;
static char *base;

static uint64_t heap_end(void)
{
   if (!in_thread)
      return (uint64_t)((char *)sbrk(0) - base);
   return base ? ((const size_t *)base)[2] : 0;   /* heap_info.size */
}

/* Appends to snaps which pages of the heap are resident: their count,
   then one bit each; ~0 alone when that cannot be read. */
static void snapshot(void)
{
   uint64_t *res = &snaps[nsnap];
   size_t len = (size_t)heap_end(), pages = len / 4096;
   size_t words = 1;
   int fd = open("/proc/self/pagemap", O_RDONLY);
   off_t at = (off_t)((uintptr_t)base / 4096 * 8);
   if ((uintptr_t)base % 4096 != 0 || len % 4096 != 0
       || pages > MAX_HEAP_PAGES || fd < 0
       || nsnap + 1 + (pages + 63) / 64 > SNAP_WORDS
       || pread(fd, pm_vec, pages * 8, at) != (ssize_t)(pages * 8)) {
      res[0] = ~(uint64_t)0;
   } else {
      res[0] = pages;
      words += (pages + 63) / 64;
      memset(res + 1, 0, (pages + 63) / 64 * sizeof(uint64_t));
      /* bit 63: present; bit 56: mapped exclusively (not the zero page) */
      for (size_t i = 0; i < pages; i++)
         if ((pm_vec[i] >> 63 & 1) && (pm_vec[i] >> 56 & 1))
            res[1 + i / 64] |= 1ULL << (i % 64);
   }
   if (fd >= 0)
      close(fd);
   nsnap += words;
}
static void *ptrs[NSLOTS];
static Gen child_gen;

static int write_all(const void *buf, size_t n)
{
   const char *p = buf;
   while (n > 0) {
      ssize_t w = write(1, p, n);
      if (w < 0 && errno == EINTR)
         continue;
      if (w <= 0)
         return -1;
      p += w;
      n -= (size_t)w;
   }
   return 0;
}

static int replay(int sc)
{
   Gen *g = &child_gen;
   gen_init(g, sc);
   Op op;
   int n = 0;
   while (n < MAX_OPS && gen_next(g, &op)) {
      void *p = NULL, *old = ptrs[op.slot];
      uint64_t *o = &out[4 + 3 * n];
      switch (op.kind) {
      case OP_MALLOC:   p = malloc(op.size); break;
      case OP_CALLOC:   p = calloc(1, op.size); break;
      case OP_MEMALIGN: p = memalign(op.align, op.size); break;
      case OP_REALLOC:  p = realloc(old, op.size); break;
      case OP_FREE:     free(old); break;
      case OP_MALLOPT:
      case OP_TRIM: {
         int res = op.kind == OP_MALLOPT ? mallopt(op.slot, (int)op.size)
                                         : malloc_trim(op.size);
         o[0] = (uint64_t)res;
         o[1] = heap_end();
         o[2] = 0;
         if (++n % SNAP_EVERY == 0)
            snapshot();
         continue;
      }
      }
      if (op.kind == OP_FREE) {
         ptrs[op.slot] = NULL;
         o[0] = NOT_LIVE;
      } else {
         if (!p)
            return 2;
         ptrs[op.slot] = p;
         /* the chunk's size field: IS_MMAPPED is bit 1 */
         int mapped = (((size_t *)p)[-1] & 2) != 0;
         if (!mapped && !base)
            base = (char *)((uintptr_t)p & ~(HEAP_MAX - 1));
         o[0] = mapped ? ML_GHEAP_MAPPED : (uint64_t)((char *)p - base);
      }
      o[1] = heap_end();
      o[2] = op.kind == OP_REALLOC && p != old;
      if (++n % SNAP_EVERY == 0)
         snapshot();
   }
   out[3] = (uint64_t)n;
   snapshot();                          /* and at the end */
   return 0;
}

/* SC_XTHREAD: two worker threads take turns, each running the
   operations the sequence gives it; per operation the block's offset in
   its heap, the heap's base (0 for a mapped block or a free) and, for
   realloc, whether it moved. */
#define XTHREAD_ENV "ML_GHEAP_XTHREAD"
static struct {
   pthread_mutex_t m;
   pthread_cond_t c;
   int turn;                   /* 0, 1: that worker's; 2: main's */
   int stop;
   Op op;
   int n;
   int bad;
} xt = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 2, 0,
         { 0 }, 0, 0 };

static uintptr_t xt_bases[2];  /* the threads' heaps, as first seen */
static int xt_nbases;

static void xt_op(const Op *op, uint64_t *o)
{
   void *p = NULL, *old = ptrs[op->slot];
   switch (op->kind) {
   case OP_MALLOC:   p = malloc(op->size); break;
   case OP_CALLOC:   p = calloc(1, op->size); break;
   case OP_MEMALIGN: p = memalign(op->align, op->size); break;
   case OP_REALLOC:  p = realloc(old, op->size); break;
   case OP_FREE:     free(old); break;
   }
   o[0] = NOT_LIVE;
   o[1] = 0;
   o[2] = 0;
   if (op->kind == OP_FREE) {
      ptrs[op->slot] = NULL;
      return;
   }
   if (!p) {
      xt.bad = 1;
      return;
   }
   ptrs[op->slot] = p;
   if (((size_t *)p)[-1] & 2) {
      o[0] = ML_GHEAP_MAPPED;
   } else {
      uintptr_t hb = (uintptr_t)p & ~(HEAP_MAX - 1);
      o[0] = (uint64_t)((uintptr_t)p - hb);
      o[1] = (uint64_t)hb;
      if (xt_nbases < 2 && (xt_nbases == 0 || xt_bases[0] != hb)
          && (xt_nbases < 2 || xt_bases[1] != hb))
         xt_bases[xt_nbases++] = hb;
   }
   o[2] = op->kind == OP_REALLOC && p != old;
}

static void *xt_worker(void *arg)
{
   int me = (int)(intptr_t)arg;
   pthread_mutex_lock(&xt.m);
   for (;;) {
      while (xt.turn != me && !xt.stop)
         pthread_cond_wait(&xt.c, &xt.m);
      if (xt.stop)
         break;
      Op op = xt.op;
      pthread_mutex_unlock(&xt.m);
      xt_op(&op, &out[4 + 3 * xt.n]);
      pthread_mutex_lock(&xt.m);
      xt.turn = 2;
      pthread_cond_broadcast(&xt.c);
   }
   pthread_mutex_unlock(&xt.m);
   return NULL;
}

static int replay_two(int sc)
{
   pthread_t w[2];
   for (intptr_t k = 0; k < 2; k++)
      if (pthread_create(&w[k], NULL, xt_worker, (void *)k))
         return 5;
   Gen *g = &child_gen;
   gen_init(g, sc);
   Op op;
   while (xt.n < MAX_OPS && gen_next(g, &op)) {
      pthread_mutex_lock(&xt.m);
      xt.op = op;
      xt.turn = op.thr;
      pthread_cond_broadcast(&xt.c);
      while (xt.turn != 2)
         pthread_cond_wait(&xt.c, &xt.m);
      xt.n++;
      pthread_mutex_unlock(&xt.m);
      if (xt.bad)
         return 2;
   }
   pthread_mutex_lock(&xt.m);
   xt.stop = 1;
   pthread_cond_broadcast(&xt.c);
   pthread_mutex_unlock(&xt.m);
   for (int k = 0; k < 2; k++)
      pthread_join(w[k], NULL);
   out[3] = (uint64_t)xt.n;
   /* each heap's base, then its resident pages */
   in_thread = 1;
   snaps[nsnap++] = (uint64_t)xt_nbases;
   for (int k = 0; k < xt_nbases; k++) {
      snaps[nsnap++] = (uint64_t)xt_bases[k];
      base = (char *)xt_bases[k];
      snapshot();
   }
   return 0;
}

static void *replay_thread(void *arg)
{
   return (void *)(intptr_t)replay((int)(intptr_t)arg);
}

static int replay_main(int sc)
{
   prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
   base = sbrk(0);
   /* glibc's heap must still be untouched: no arena yet */
   struct mallinfo2 mi = mallinfo2();
   out[0] = REPLAY_MAGIC;
   out[1] = mi.arena;
   out[2] = (uint64_t)(uintptr_t)base;
   int r;
   if (getenv(XTHREAD_ENV)) {
      r = replay_two(sc);
      if (r)
         return r;
      return write_all(out, (4 + 3 * (size_t)out[3]) * sizeof(uint64_t))
             || write_all(snaps, nsnap * sizeof(uint64_t)) ? 3 : 0;
   }
   if (getenv(THREAD_ENV)) {
      /* in a thread of its own, whose first malloc makes its arena */
      pthread_t t;
      void *res;
      in_thread = 1;
      base = NULL;
      if (pthread_create(&t, NULL, replay_thread, (void *)(intptr_t)sc)
          || pthread_join(t, &res))
         return 5;
      r = (int)(intptr_t)res;
   } else {
      r = replay(sc);
   }
   if (r)
      return r;
   return write_all(out, (4 + 3 * (size_t)out[3]) * sizeof(uint64_t))
          || write_all(snaps, nsnap * sizeof(uint64_t)) ? 3 : 0;
}

/* Runs the child for scenario sc, with the environment strings env
   (NULL-terminated, or NULL) besides its own; returns its output
   (malloc'd) and its length in words. */
static uint64_t *run_child(int sc, const char *const *env, int threaded,
                           size_t *nwords)
{
   int fds[2];
   if (pipe(fds) != 0)
      return NULL;
   pid_t pid = fork();
   if (pid < 0)
      return NULL;
   if (pid == 0) {
      char env0[64];
      snprintf(env0, sizeof env0, "%s=%d", REPLAY_ENV, sc);
      char *envp[16] = { env0 };
      int e = 1;
      if (threaded == 1)
         envp[e++] = (char *)THREAD_ENV "=1";
      else if (threaded == 2)
         envp[e++] = (char *)XTHREAD_ENV "=1";
      for (int k = 0; env && env[k] && k < 13; k++)
         envp[e++] = (char *)env[k];
      char *const argv[] = { (char *)"test_gheap", NULL };
      close(fds[0]);
      dup2(fds[1], 1);
      close(fds[1]);
      execve("/proc/self/exe", argv, envp);
      _exit(127);
   }
   close(fds[1]);
   size_t cap = 1 << 16, len = 0;
   char *buf = malloc(cap);
   for (;;) {
      if (len == cap)
         buf = realloc(buf, cap *= 2);
      ssize_t r = read(fds[0], buf + len, cap - len);
      if (r < 0 && errno == EINTR)
         continue;
      if (r <= 0)
         break;
      len += (size_t)r;
   }
   close(fds[0]);
   int status;
   waitpid(pid, &status, 0);
   if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      fprintf(stderr, "replay child for '%s' failed (status %d)\n",
              sc_names[sc], status);
      free(buf);
      return NULL;
   }
   *nwords = len / sizeof(uint64_t);
   return (uint64_t *)buf;
}

/*------------------------------------------------------------*/
/*--- The model under test                                 ---*/
/*------------------------------------------------------------*/

static void *t_alloc(size_t n) { return malloc(n); }
static void t_free(void *p) { free(p); }

typedef struct {
   uint64_t lo, hi;
} Range;

typedef struct {
   Range touches[4096];
   int ntouch;
   Range brks[64];
   int nbrk;
   Range dontneeds[64];
   int ndontneed;
   unsigned char *res;           /* the heap's pages: 1 when resident */
   size_t nres;
   uint64_t end;                 /* the heap's end as the brk calls say */
   int bad_touch;                /* a touch beyond the heap's end */
} Rec;

/* Pages [first, last] of the page map set to v (grown as needed). */
static void res_set(Rec *r, uint64_t first, uint64_t last, unsigned char v)
{
   if (last >= r->nres) {
      if (!v)
         last = r->nres ? r->nres - 1 : 0;
      else {
         size_t n = r->nres ? r->nres : 1024;
         while (n <= last)
            n *= 2;
         r->res = realloc(r->res, n);
         memset(r->res + r->nres, 0, n - r->nres);
         r->nres = n;
      }
   }
   for (uint64_t q = first; q <= last && q < r->nres; q++)
      r->res[q] = v;
}

static void t_touch(void *ctx, uint64_t lo, uint64_t hi)
{
   Rec *r = ctx;
   if (hi > r->end || lo >= hi)
      r->bad_touch = 1;
   if (hi > lo)
      res_set(r, lo / 4096, (hi - 1) / 4096, 1);
   if (r->ntouch < 4096)
      r->touches[r->ntouch++] = (Range){ lo, hi };
}

static void t_brk(void *ctx, uint64_t old_end, uint64_t new_end)
{
   Rec *r = ctx;
   if (old_end != r->end)
      r->bad_touch = 1;
   r->end = new_end;
   if (new_end < old_end)
      res_set(r, (new_end + 4095) / 4096, (old_end - 1) / 4096, 0);
   if (r->nbrk < 64)
      r->brks[r->nbrk++] = (Range){ old_end, new_end };
}

/* The model names blocks by the handles it gives out; the tests name
   them by small keys (a scenario's slot), each key's handle kept here
   (0 while the key is not live). */
static uint32_t handle[NSLOTS];

/* The model's parameters (glibc's defaults unless a test changes them),
   and the environment its tunables come from. */
static MlGHeapParams params;
static const char *const *model_env;

static const char *t_getenv(const char *name)
{
   size_t n = strlen(name);
   for (int k = 0; model_env && model_env[k]; k++)
      if (strncmp(model_env[k], name, n) == 0 && model_env[k][n] == '=')
         return model_env[k] + n + 1;
   return NULL;
}

static void t_dontneed(void *ctx, uint64_t lo, uint64_t hi)
{
   Rec *r = ctx;
   if (hi > r->end || lo >= hi || lo % 4096 || hi % 4096)
      r->bad_touch = 1;
   if (hi > lo)
      res_set(r, lo / 4096, (hi - 1) / 4096, 0);
   if (r->ndontneed < 64)
      r->dontneeds[r->ndontneed++] = (Range){ lo, hi };
}

/* A model of the main arena (arena_start 0) or of a thread's. */
static MlGHeap *new_model_at(Rec *r, uint64_t arena_start)
{
   free(r->res);         /* (a Rec is zeroed before its first model) */
   memset(r, 0, sizeof *r);
   ml_gheap_params_init(&params);
   MlGHeapOps ops = { t_alloc, t_free, t_touch, t_brk, r, t_dontneed,
                      &params, arena_start };
   MlGHeap *h = ml_gheap_new(&ops);
   assert_non_null(h);
   memset(handle, 0, sizeof handle);
   return h;
}

static MlGHeap *new_model(Rec *r)
{
   return new_model_at(r, 0);
}

static unsigned key_of(int slot) { return (unsigned)slot; }

static uint64_t k_malloc(MlGHeap *h, unsigned key, uint64_t size, int zeroed)
{
   return ml_gheap_malloc(h, size, zeroed, &handle[key]);
}

static uint64_t k_memalign(MlGHeap *h, unsigned key, uint64_t align,
                           uint64_t size)
{
   return ml_gheap_memalign(h, align, size, &handle[key]);
}

static int k_free(MlGHeap *h, unsigned key)
{
   int found = ml_gheap_free(h, handle[key]);
   handle[key] = 0;
   return found;
}

static uint64_t k_offset(MlGHeap *h, unsigned key)
{
   return handle[key] ? ml_gheap_offset(h, handle[key]) : NOT_LIVE;
}

/* realloc of key's block, which is then named new_key */
static uint64_t k_realloc(MlGHeap *h, unsigned key, unsigned new_key,
                          uint64_t size, int *moved)
{
   uint32_t r = handle[key];
   handle[key] = 0;
   uint64_t off = ml_gheap_realloc(h, &r, size, moved);
   handle[new_key] = r;
   return off;
}

static void print_op(int i, const Op *op)
{
   fprintf(stderr, "  op %d: %s slot %d size %llu", i, op_names[op->kind],
           op->slot, (unsigned long long)op->size);
   if (op->kind == OP_MEMALIGN)
      fprintf(stderr, " align %llu", (unsigned long long)op->align);
   if (op->kind == OP_MALLOPT)
      fprintf(stderr, " (param %d, value %d)", op->slot, (int)op->size);
   fprintf(stderr, "\n");
}

static void fmt_off(char *b, size_t n, uint64_t v)
{
   if (v == ML_GHEAP_MAPPED)
      snprintf(b, n, "mapped");
   else if (v == NOT_LIVE)
      snprintf(b, n, "-");
   else
      snprintf(b, n, "%llu", (unsigned long long)v);
}

/* The snapshot of resident pages at *at in the child's output (nw words
   in all) against the model's page map after op i: equal, or a failure
   naming the first page that differs.  Moves *at past the snapshot and
   returns the number of resident pages. */
static uint64_t compare_pages(int sc, const uint64_t *real, size_t nw,
                              size_t *at, const Rec *rec, int i)
{
   assert_true(*at < nw);
   const uint64_t *res = &real[*at];
   uint64_t pages = res[0], nres = 0, differ = 0, first = 0;
   if (pages == ~(uint64_t)0) {
      fprintf(stderr, "scenario '%s': the child could not read its heap's "
              "resident pages\n", sc_names[sc]);
      fail();
   }
   assert_true(nw >= *at + 1 + (pages + 63) / 64);
   for (uint64_t q = 0; q < pages; q++) {
      int native = (res[1 + q / 64] >> (q % 64)) & 1;
      int model = q < rec->nres && rec->res[q];
      nres += (uint64_t)native;
      if (native != model && differ++ == 0)
         first = q;
   }
   for (uint64_t q = pages; q < rec->nres; q++)
      if (rec->res[q] && differ++ == 0)
         first = q;
   if (differ) {
      fprintf(stderr, "scenario '%s': after op %d, %llu of %llu heap pages "
              "differ in residency, the first %llu (glibc %d, model %d)\n",
              sc_names[sc], i, (unsigned long long)differ,
              (unsigned long long)pages, (unsigned long long)first,
              first < pages ? (int)((res[1 + first / 64] >> (first % 64)) & 1)
                            : 0,
              first < rec->nres ? rec->res[first] : 0);
      fail();
   }
   *at += 1 + (pages + 63) / 64;
   return nres;
}

/* Replays scenario sc on glibc and on the model, both with the settings
   of env (or none); returns the number of operations compared, all
   equal, or fails at the first difference. */
static int compare_scenario_opts(int sc, const char *const *env,
                                 int threaded)
{
   size_t nw = 0;
   uint64_t *real = run_child(sc, env, threaded, &nw);
   assert_non_null(real);
   assert_true(nw >= 4 && real[0] == REPLAY_MAGIC);
   if (real[1] != 0) {
      fprintf(stderr, "glibc's heap was in use before main (%llu bytes): "
              "no fresh heap to compare from\n", (unsigned long long)real[1]);
      fail();
   }
   int n = (int)real[3];
   assert_true(nw >= 4 + 3 * (size_t)n + 1);
   size_t snap_at = 4 + 3 * (size_t)n;      /* the next snapshot */
   uint64_t max_res = 0;
   assert_int_equal(n, sc_ops[sc] < MAX_OPS ? sc_ops[sc] : MAX_OPS);

   Rec *rec = calloc(1, sizeof *rec);
   MlGHeap *h = new_model_at(rec, threaded ? ML_GHEAP_ARENA_START : 0);
   model_env = env;
   int tuned = ml_gheap_tunables(&params, t_getenv);
   model_env = NULL;
   Gen g;
   gen_init(&g, sc);
   Op op;
   Op hist[8];
   int mapped_count = 0, realloc_moves = 0, realloc_in_place = 0;
   for (int i = 0; i < n; i++) {
      assert_true(gen_next(&g, &op));
      hist[i % 8] = op;
      const uint64_t *o = &real[4 + 3 * i];
      uint64_t off = NOT_LIVE;
      uint64_t prev = op.kind == OP_MALLOPT || op.kind == OP_TRIM
                      ? NOT_LIVE : k_offset(h, key_of(op.slot));
      int moved = 0;
      switch (op.kind) {
      case OP_MALLOC:
         off = k_malloc(h, key_of(op.slot), op.size, 0);
         break;
      case OP_CALLOC:
         off = k_malloc(h, key_of(op.slot), op.size, 1);
         break;
      case OP_MEMALIGN:
         off = k_memalign(h, key_of(op.slot), op.align, op.size);
         break;
      case OP_REALLOC:
         off = k_realloc(h, key_of(op.slot), key_of(op.slot), op.size,
                                &moved);
         break;
      case OP_FREE:
         k_free(h, key_of(op.slot));
         break;
      case OP_MALLOPT:                  /* (the result in off) */
         if (!threaded)                 /* (mallopt's is the main arena) */
            ml_gheap_consolidate(h);
         off = (uint64_t)ml_gheap_set_param(&params, op.slot, (int)op.size);
         break;
      case OP_TRIM:
         off = (uint64_t)ml_gheap_trim(h, op.size, !threaded);
         break;
      }
      uint64_t end = ml_gheap_end(h);
      /* whether the data moved is comparable between heap chunks only:
         glibc's mremap may or may not move a mapping */
      int moved_differs = op.kind == OP_REALLOC && prev != ML_GHEAP_MAPPED
                          && off != ML_GHEAP_MAPPED
                          && (uint64_t)moved != o[2];
      if (off != o[0] || end != o[1] || moved_differs || rec->bad_touch
          || rec->end != end) {
         char a[32], b[32];
         fmt_off(a, sizeof a, o[0]);
         fmt_off(b, sizeof b, off);
         fprintf(stderr, "scenario '%s': first difference at op %d of %d\n",
                 sc_names[sc], i, n);
         for (int k = i >= 7 ? i - 7 : 0; k < i; k++)
            print_op(k, &hist[k % 8]);
         print_op(i, &op);
         fprintf(stderr, "  glibc: offset %s, heap end %llu, moved %llu\n"
                 "  model: offset %s, heap end %llu, moved %d "
                 "(brk calls end at %llu%s)\n",
                 a, (unsigned long long)o[1], (unsigned long long)o[2],
                 b, (unsigned long long)end, moved,
                 (unsigned long long)rec->end,
                 rec->bad_touch ? ", a touch beyond the heap's end" : "");
         fail();
      }
      /* the model's own structures: the chunks in address order, linked
         both ways, free ones merged (every 64th operation and the last:
         the walk is linear in the chunks) */
      if (i % 64 == 0 || i == n - 1) {
         int bad = ml_gheap_check(h);
         if (bad) {
            fprintf(stderr, "scenario '%s': model inconsistent (rule %d) "
                    "after op %d\n", sc_names[sc], bad, i);
            print_op(i, &op);
            fail();
         }
      }
      if (off == ML_GHEAP_MAPPED && op.kind != OP_MALLOPT
          && op.kind != OP_TRIM)
         mapped_count++;
      if (op.kind == OP_REALLOC && prev != ML_GHEAP_MAPPED
          && off != ML_GHEAP_MAPPED)
         *(moved ? &realloc_moves : &realloc_in_place) += 1;
      rec->ntouch = 0;
      /* the resident pages every SNAP_EVERY operations */
      if ((i + 1) % SNAP_EVERY == 0) {
         uint64_t r = compare_pages(sc, real, nw, &snap_at, rec, i);
         if (r > max_res)
            max_res = r;
      }
   }
   /* the resident pages at the end: those glibc wrote, less those
      trimmed or given back, on both sides */
   uint64_t nres = compare_pages(sc, real, nw, &snap_at, rec, n - 1);
   assert_true(snap_at == nw);
   if (nres > max_res)
      max_res = nres;
   printf("scenario '%s'%s: %d operations equal (%d mapped, realloc %d "
          "moved / %d in place), heap end %llu, mmap threshold %llu, "
          "resident pages equal at %d points, %llu of %llu at the end, "
          "at most %llu\n",
          sc_names[sc], tuned ? " (tuned)" : "", n, mapped_count,
          realloc_moves, realloc_in_place,
          (unsigned long long)ml_gheap_end(h),
          (unsigned long long)ml_gheap_mmap_threshold(h),
          n / SNAP_EVERY + 1, (unsigned long long)nres,
          (unsigned long long)ml_gheap_end(h) / 4096,
          (unsigned long long)max_res);
   ml_gheap_delete(h);
   free(rec->res);
   free(rec);
   free(real);
   return n;
}

static int compare_scenario_env(int sc, const char *const *env)
{
   return compare_scenario_opts(sc, env, 0);
}

static int compare_scenario(int sc)
{
   return compare_scenario_env(sc, NULL);
}

/* SC_XTHREAD: the two threads' calls on two models, one per thread's
   arena, each thread with its tcache (which caches the other arena's
   blocks it frees): offsets, which heap (the child's heap bases mapped
   to the models at first sight), mapped or not, and realloc's moves. */
static void compare_xthread(void)
{
   int sc = SC_XTHREAD;
   size_t nw = 0;
   uint64_t *real = run_child(sc, NULL, 2, &nw);
   assert_non_null(real);
   assert_true(nw >= 4 && real[0] == REPLAY_MAGIC);
   int n = (int)real[3];
   assert_int_equal(n, sc_ops[sc]);
   assert_true(nw >= 4 + 3 * (size_t)n);

   Rec *rec = calloc(2, sizeof *rec);
   MlGHeap *hs[2];
   hs[0] = new_model_at(&rec[0], ML_GHEAP_ARENA_START);
   MlGHeapOps ops = { t_alloc, t_free, t_touch, t_brk, &rec[1], t_dontneed,
                      &params, ML_GHEAP_ARENA_START };
   hs[1] = ml_gheap_new(&ops);
   MlGTcache tcs[2];
   memset(tcs, 0, sizeof tcs);
   static signed char heap_of[NSLOTS];
   memset(heap_of, -1, sizeof heap_of);
   uint64_t base_of[2] = { 0, 0 };
   int cross = 0, foreign_gets = 0;
   Gen g;
   gen_init(&g, sc);
   Op op;
   for (int i = 0; i < n; i++) {
      assert_true(gen_next(&g, &op));
      const uint64_t *o = &real[4 + 3 * i];
      int t = op.thr, hi = -1, moved = 0;
      MlGHeap *own = hs[t];
      MlGTcache *tc = &tcs[t];
      uint64_t off = NOT_LIVE;
      uint32_t *r = &handle[key_of(op.slot)];
      /* the thread's tcache made first (not by memalign, nor by a free
         or realloc of a mapped block) */
      int mapped_blk = heap_of[op.slot] >= 0
                       && ml_gheap_offset(hs[heap_of[op.slot]], *r)
                          == ML_GHEAP_MAPPED;
      /* (memalign up to 16 is malloc: glibc hands it to __libc_malloc) */
      int memalign = op.kind == OP_MEMALIGN && op.align > 16;
      if (!tc->on && !memalign && !mapped_blk) {
         ml_gheap_use_tcache(own, tc);
         ml_gheap_init_tcache(own);
      }
      switch (memalign ? OP_MEMALIGN
              : op.kind == OP_MEMALIGN ? OP_MALLOC : op.kind) {
      case OP_MALLOC:
      case OP_CALLOC: {
         MlGHeap *owner;
         ml_gheap_use_tcache(own, tc->on ? tc : NULL);
         off = ml_gheap_malloc_in(own, op.size, op.kind == OP_CALLOC, r,
                                  &owner);
         hi = owner == hs[0] ? 0 : 1;
         foreign_gets += hi != t;
         break;
      }
      case OP_MEMALIGN:
         ml_gheap_use_tcache(own, tc->on ? tc : NULL);
         off = ml_gheap_memalign(own, op.align, op.size, r);
         hi = t;
         break;
      case OP_REALLOC:
         hi = heap_of[op.slot];
         ml_gheap_use_tcache(hs[hi], tc->on ? tc : NULL);
         off = ml_gheap_realloc(hs[hi], r, op.size, &moved);
         cross += hi != t;
         break;
      case OP_FREE:
         hi = heap_of[op.slot];
         ml_gheap_use_tcache(hs[hi], tc->on ? tc : NULL);
         ml_gheap_free(hs[hi], *r);
         *r = 0;
         cross += hi != t;
         heap_of[op.slot] = -1;
         hi = -1;
         break;
      }
      if (op.kind != OP_FREE)
         heap_of[op.slot] = (signed char)hi;
      int ok = off == o[0];
      if (ok && op.kind != OP_FREE && off != ML_GHEAP_MAPPED) {
         if (!base_of[hi] && o[1] != base_of[1 - hi])
            base_of[hi] = o[1];
         ok = base_of[hi] == o[1];
      }
      if (ok && op.kind == OP_REALLOC && off != ML_GHEAP_MAPPED
          && o[0] != ML_GHEAP_MAPPED)
         ok = (uint64_t)moved == o[2];
      if (!ok) {
         char a[32], b[32];
         fmt_off(a, sizeof a, o[0]);
         fmt_off(b, sizeof b, off);
         fprintf(stderr, "scenario 'xthread': first difference at op %d "
                 "(thread %d)\n", i, t);
         print_op(i, &op);
         fprintf(stderr, "  glibc: offset %s in heap %#llx, moved %llu\n"
                 "  model: offset %s in model heap %d, moved %d\n",
                 a, (unsigned long long)o[1], (unsigned long long)o[2],
                 b, hi, moved);
         fail();
      }
      if (i % 64 == 0 || i == n - 1) {
         assert_int_equal(ml_gheap_check(hs[0]), 0);
         assert_int_equal(ml_gheap_check(hs[1]), 0);
      }
   }
   /* and each heap's resident pages at the end */
   size_t at = 4 + 3 * (size_t)n;
   assert_true(at < nw);
   int nheaps = (int)real[at++];
   assert_int_equal(nheaps, 2);
   uint64_t nres[2] = { 0, 0 };
   for (int k = 0; k < nheaps; k++) {
      assert_true(at < nw);
      uint64_t b = real[at++];
      int hi = b == base_of[0] ? 0 : b == base_of[1] ? 1 : -1;
      assert_true(hi >= 0);
      nres[hi] = compare_pages(sc, real, nw, &at, &rec[hi], n - 1);
   }
   assert_true(at == nw);
   printf("scenario 'xthread': %d operations equal (%d on the other "
          "thread's blocks, %d mallocs served a block of the other arena "
          "from the tcache), resident pages equal at the end (%llu and "
          "%llu)\n", n, cross, foreign_gets, (unsigned long long)nres[0],
          (unsigned long long)nres[1]);
   assert_true(cross > 0 && foreign_gets > 0);
   ml_gheap_tcache_drop(&tcs[0]);
   ml_gheap_tcache_drop(&tcs[1]);
   ml_gheap_delete(hs[0]);
   ml_gheap_delete(hs[1]);
   free(rec[0].res);
   free(rec[1].res);
   free(rec);
   free(real);
}

static void test_vs_glibc_xthread(void **state)
{
   (void)state;
   compare_xthread();
}

/* One test per scenario, each named after it. */
#define VS_GLIBC(name, sc)                              \
   static void test_vs_glibc_##name(void **state)       \
   {                                                    \
      (void)state;                                      \
      compare_scenario(sc);                             \
   }
VS_GLIBC(small, SC_SMALL)
VS_GLIBC(mixed, SC_MIXED)
VS_GLIBC(big, SC_BIG)
VS_GLIBC(trim, SC_TRIM)
VS_GLIBC(realloc, SC_REALLOC)
VS_GLIBC(memalign, SC_MEMALIGN)
VS_GLIBC(iters, SC_ITERS)
VS_GLIBC(mallopt, SC_MALLOPT)
VS_GLIBC(unsorted, SC_UNSORTED)

/* Scenarios again with settings in the environment both sides read,
   one test each: the tcache's and fastbins' limits; the unsorted bin's
   walk cut short once the tcache has a chunk; the thresholds and the top
   pad; the aliases (octal and hex values, one overridden by
   GLIBC_TUNABLES, one out of bounds); a perturb byte (glibc fills each
   block it hands out but those the tcache serves, and each chunk it
   frees: the resident pages show it). */
#define VS_GLIBC_ENV(name, sc, ...)                             \
   static void test_vs_glibc_##name(void **state)               \
   {                                                            \
      static const char *const env[] = { __VA_ARGS__, NULL };   \
      (void)state;                                              \
      compare_scenario_env(sc, env);                            \
   }
VS_GLIBC_ENV(tuned_small, SC_SMALL,
             "GLIBC_TUNABLES=glibc.malloc.tcache_count=3:"
             "glibc.malloc.tcache_max=200:glibc.malloc.mxfast=48")
VS_GLIBC_ENV(tuned_unsorted, SC_UNSORTED,
             "GLIBC_TUNABLES=glibc.malloc.tcache_unsorted_limit=2")
VS_GLIBC_ENV(tuned_iters, SC_ITERS,
             "GLIBC_TUNABLES=glibc.malloc.tcache_unsorted_limit=2")
VS_GLIBC_ENV(tuned_mixed, SC_MIXED,
             "GLIBC_TUNABLES=glibc.malloc.mmap_threshold=65536:glibc.rtld.x=1:"
             "glibc.malloc.trim_threshold=300000:glibc.malloc.top_pad=0")
VS_GLIBC_ENV(tuned_big, SC_BIG,
             "MALLOC_MMAP_MAX_=2", "MALLOC_TOP_PAD_=0x10000",
             "MALLOC_MMAP_THRESHOLD_=01400000")          /* 384 KiB (octal) */
VS_GLIBC_ENV(tuned_trim, SC_TRIM,
             "MALLOC_TRIM_THRESHOLD_=1000000",
             "GLIBC_TUNABLES=glibc.malloc.trim_threshold=0:"
             "glibc.malloc.tcache_count=0")
VS_GLIBC_ENV(perturb_realloc, SC_REALLOC, "MALLOC_PERTURB_=165")
VS_GLIBC_ENV(perturb_small, SC_SMALL, "GLIBC_TUNABLES=glibc.malloc.perturb=1")

/* The same in a thread's arena: a heap of glibc's own, headers first,
   grown without the top pad (scenarios whose heap stays under 64 MiB). */
static void test_vs_glibc_thread_arena(void **state)
{
   (void)state;
   static const int scs[] = { SC_SMALL, SC_MIXED, SC_TRIM, SC_MEMALIGN,
                              SC_ITERS, SC_MALLOPT };
   for (size_t i = 0; i < sizeof scs / sizeof scs[0]; i++)
      compare_scenario_opts(scs[i], NULL, 1);
}

/*------------------------------------------------------------*/
/*--- Hand-derived cases                                   ---*/
/*------------------------------------------------------------*/

static int touched(const Rec *r, uint64_t lo, uint64_t hi)
{
   for (int i = 0; i < r->ntouch; i++)
      if (r->touches[i].lo == lo && r->touches[i].hi == hi)
         return 1;
   return 0;
}

/* Whether any touch reaches into [lo, hi). */
static int touched_within(const Rec *r, uint64_t lo, uint64_t hi)
{
   for (int i = 0; i < r->ntouch; i++)
      if (r->touches[i].lo < hi && r->touches[i].hi > lo)
         return 1;
   return 0;
}

/* The first malloc: glibc's tcache structure (640 bytes, chunk 656) is
   carved first from a heap grown by 656 + 128 KiB + 32 rounded up to
   pages, then the block after it. */
static void test_first_malloc(void **state)
{
   (void)state;
   Rec r = { 0 };
   MlGHeap *h = new_model(&r);
   assert_true(k_malloc(h, 1, 100, 0) == 672);
   assert_int_equal(r.nbrk, 1);
   assert_true(r.brks[0].lo == 0 && r.brks[0].hi == 135168);
   assert_true(ml_gheap_end(h) == 135168);
   assert_true(touched(&r, 8, 16));          /* top's, then the tcache's size */
   assert_true(touched(&r, 16, 656));        /* the tcache cleared */
   assert_true(touched(&r, 664, 672));       /* our chunk's size */
   assert_true(touched(&r, 776, 784));       /* the new top's size */
   assert_false(r.bad_touch);
   assert_true(k_offset(h, 1) == 672);
   assert_true(k_offset(h, 2) == NOT_LIVE);

   /* freed to the tcache: next and key written; taken back: key cleared */
   r.ntouch = 0;
   k_free(h, 1);
   assert_int_equal(r.ntouch, 1);
   assert_true(touched(&r, 672, 688));
   assert_true(k_offset(h, 1) == NOT_LIVE);
   r.ntouch = 0;
   assert_true(k_malloc(h, 3, 100, 0) == 672);
   assert_int_equal(r.ntouch, 1);
   assert_true(touched(&r, 680, 688));
   ml_gheap_delete(h);
}

/* Past the tcache's seven, a fastbin size goes to its fastbin (fd
   written only), and the next malloc of that size empties the fastbin
   into the tcache. */
static void test_fastbin(void **state)
{
   (void)state;
   Rec r = { 0 };
   MlGHeap *h = new_model(&r);
   for (int i = 0; i < 9; i++)
      assert_true(k_malloc(h, 100 + i, 40, 0) == 672 + 48 * (uint64_t)i);
   for (int i = 0; i < 9; i++)
      k_free(h, 100 + i);
   /* the 8th and 9th (at 1008 and 1056) are in the fastbin: fd only */
   assert_true(touched(&r, 1008, 1016));
   assert_true(touched(&r, 1056, 1064));
   /* the tcache hands out its last one first */
   assert_true(k_malloc(h, 200, 40, 0) == 672 + 48 * 6);
   ml_gheap_delete(h);
}

/* Two 100000-byte blocks: the second grows the heap; freeing it merges
   it into top, which then passes the trim threshold: the heap's end
   comes back down to keep 128 KiB of top pad. */
static void test_trim(void **state)
{
   (void)state;
   Rec r = { 0 };
   MlGHeap *h = new_model(&r);
   assert_true(k_malloc(h, 1, 100000, 0) == 672);
   assert_true(k_malloc(h, 2, 100000, 0) == 100672 + 16);
   assert_int_equal(r.nbrk, 2);
   assert_true(r.brks[1].lo == 135168 && r.brks[1].hi == 335872);
   k_free(h, 2);
   assert_int_equal(r.nbrk, 3);
   /* top: 100672 + 235200; area 235200 - 33 - 131072 = 104095: 25 pages */
   assert_true(r.brks[2].lo == 335872 && r.brks[2].hi == 335872 - 102400);
   assert_true(ml_gheap_end(h) == 233472);
   ml_gheap_delete(h);
}

/* A mapped block moves the threshold to its size when freed; the same
   request then comes from the heap. */
static void test_mmap_threshold(void **state)
{
   (void)state;
   Rec r = { 0 };
   MlGHeap *h = new_model(&r);
   assert_true(ml_gheap_mmap_threshold(h) == 131072);
   assert_true(k_malloc(h, 1, 200000, 0) == ML_GHEAP_MAPPED);
   assert_true(k_offset(h, 1) == ML_GHEAP_MAPPED);
   k_free(h, 1);
   assert_true(ml_gheap_mmap_threshold(h) == 200704);   /* 49 pages */
   assert_true(k_malloc(h, 1, 200000, 0) == 672);
   ml_gheap_delete(h);
}

/* calloc clears the chunk, except what lies beyond the old top (fresh
   from the kernel), also where the heap reached before a trim. */
static void test_calloc_clear(void **state)
{
   (void)state;
   Rec r = { 0 };
   MlGHeap *h = new_model(&r);
   assert_true(k_malloc(h, 1, 100, 1) == 672);
   assert_true(touched(&r, 672, 672 + 104));
   uint64_t old_end = ml_gheap_end(h);
   assert_true(k_malloc(h, 2, 130000, 1) == 784);
   assert_true(touched(&r, 784, 784 + 130016 - 8));   /* from top: all */
   r.ntouch = 0;
   old_end = ml_gheap_end(h);
   uint64_t t = 768 + 130016;                 /* top's offset */
   uint64_t off = k_malloc(h, 3, 100000, 1);
   assert_true(off == t + 16);
   assert_int_equal(r.nbrk, 2);
   assert_true(touched(&r, t + 16, old_end + 8));   /* up to the old end */
   assert_false(touched_within(&r, old_end + 8, t + 100016));
   /* a block of 400000 from top, freed: the heap is trimmed below its
      end; the same calloc again clears only up to the trimmed end
      (mmap threshold 1 MiB, as by mallopt) */
   params.mmap_threshold = 1 << 20;
   params.no_dyn_threshold = 1;
   k_free(h, 3);
   assert_true(k_malloc(h, 4, 400000, 1) == t + 16);
   uint64_t grown = ml_gheap_end(h);
   k_free(h, 4);
   uint64_t trimmed = ml_gheap_end(h);
   assert_true(trimmed < t + 400016 && grown > t + 400016);
   r.ntouch = 0;
   assert_true(k_malloc(h, 5, 400000, 1) == t + 16);
   assert_true(touched(&r, t + 16, trimmed + 8));
   assert_false(touched_within(&r, trimmed + 8, t + 400016));
   ml_gheap_delete(h);
}

/* realloc: growing into top, shrinking in place (the remainder freed),
   and moving (with the copy); realloc to 0 frees. */
static void test_realloc_cases(void **state)
{
   (void)state;
   Rec r = { 0 };
   MlGHeap *h = new_model(&r);
   int moved = -1;
   assert_true(k_malloc(h, 1, 1000, 0) == 672);
   assert_true(k_realloc(h, 1, 1, 3000, &moved) == 672 && moved == 0);
   assert_true(k_malloc(h, 2, 10, 0) == 672 + 3008);
   assert_true(k_realloc(h, 1, 5, 500, &moved) == 672 && moved == 0);
   assert_true(k_offset(h, 1) == NOT_LIVE);
   assert_true(k_offset(h, 5) == 672);
   r.ntouch = 0;
   uint64_t off = k_realloc(h, 5, 5, 6000, &moved);
   assert_true(moved == 1 && off == 672 + 3008 + 32);
   assert_true(touched(&r, off, off + 512 - 8));   /* the copy */
   assert_true(k_realloc(h, 5, 5, 0, &moved) == NOT_LIVE);
   assert_true(k_offset(h, 5) == NOT_LIVE);
   ml_gheap_delete(h);
}

/* memalign: the leading part given back, the block aligned. */
static void test_memalign(void **state)
{
   (void)state;
   Rec r = { 0 };
   MlGHeap *h = new_model(&r);
   /* no tcache yet: memalign does not create it; the chunk of
      nb + 4096 + 48 starts at 0 */
   uint64_t off = k_memalign(h, 1, 4096, 100);
   assert_true(off == 4096);
   off = k_memalign(h, 2, 64, 100);
   assert_true(off % 64 == 0);
   assert_true(k_memalign(h, 3, 4096, 1 << 20) == ML_GHEAP_MAPPED);
   ml_gheap_delete(h);
}

/* ml_gheap_tunables: GLIBC_TUNABLES over the aliases, each value
   checked against its tunable's bounds (kept from before when out of
   them) and then against mallopt's (refused: the default stays). */
static void test_tunables_parse(void **state)
{
   (void)state;
   MlGHeapParams mp;
   static const char *const env1[] = {
      "MALLOC_TOP_PAD_=100", "MALLOC_ARENA_MAX=0", "MALLOC_MMAP_MAX_=-1",
      "MALLOC_ARENA_TEST=3",
      "GLIBC_TUNABLES=glibc.malloc.top_pad=010:nonsense:glibc.malloc.mxfast=999"
      ":glibc.malloc.mmap_threshold=0x2000001:glibc.malloc.tcache_count=0"
      ":glibc.malloc.tcache_max=100:glibc.malloc.perturb=5:glibc.mallocx=1"
      ":glibc.malloc.arena_max=", NULL };
   ml_gheap_params_init(&mp);
   model_env = env1;
   /* top_pad, arena_test, mxfast, mmap_threshold, tcache_count,
      tcache_max, perturb (arena_max= reads as 0: below its minimum) */
   assert_int_equal(ml_gheap_tunables(&mp, t_getenv), 7);
   assert_int_equal(mp.perturb_byte, 5);
   model_env = NULL;
   assert_true(mp.top_pad == 8);                 /* octal, over the alias */
   assert_int_equal(mp.no_dyn_threshold, 1);
   assert_true(mp.max_fast == 128);              /* 999: refused */
   assert_true(mp.mmap_threshold == 0x2000001);  /* no upper limit */
   assert_true(mp.tcache_count == 0);
   assert_true(mp.tcache_bins == 6);             /* chunks up to 112 */
   assert_true(mp.arena_max == 0);
   assert_true(mp.arena_test == 3);
   assert_true(mp.n_mmaps_max == 65536);         /* -1: below 0 */

   static const char *const env2[] = {
      "GLIBC_TUNABLES=glibc.malloc.mmap_threshold=4194304", NULL };
   ml_gheap_params_init(&mp);
   model_env = env2;
   assert_int_equal(ml_gheap_tunables(&mp, t_getenv), 1);
   model_env = NULL;
   assert_true(mp.mmap_threshold == 4194304);
   assert_int_equal(mp.no_dyn_threshold, 1);
   assert_true(mp.top_pad == 131072);

   ml_gheap_params_init(&mp);
   assert_int_equal(ml_gheap_tunables(&mp, t_getenv), 0);
   assert_int_equal(mp.no_dyn_threshold, 0);
}

/* mallopt's checks and conversions. */
static void test_set_param(void **state)
{
   (void)state;
   MlGHeapParams mp;
   ml_gheap_params_init(&mp);
   assert_int_equal(ml_gheap_set_param(&mp, M_MXFAST, 0), 1);
   assert_true(mp.max_fast == 16);               /* no fastbin chunk fits */
   assert_int_equal(ml_gheap_set_param(&mp, M_MXFAST, 160), 1);
   assert_true(mp.max_fast == 160);
   assert_int_equal(ml_gheap_set_param(&mp, M_MXFAST, 161), 0);
   assert_int_equal(ml_gheap_set_param(&mp, M_MXFAST, -1), 0);
   assert_true(mp.max_fast == 160);
   assert_int_equal(mp.no_dyn_threshold, 0);
   assert_int_equal(ml_gheap_set_param(&mp, M_MMAP_THRESHOLD, 33554433), 1);
   assert_int_equal(mp.no_dyn_threshold, 1);
   assert_true(mp.mmap_threshold == 33554433);
   assert_int_equal(ml_gheap_set_param(&mp, M_TRIM_THRESHOLD, -1), 1);
   assert_true(mp.trim_threshold == UINT64_MAX);
   assert_int_equal(ml_gheap_set_param(&mp, M_MMAP_MAX, -1), 1);
   assert_true(mp.n_mmaps_max == -1);
   assert_int_equal(ml_gheap_set_param(&mp, M_ARENA_MAX, 0), 1);
   assert_true(mp.arena_max == 0);
   assert_int_equal(ml_gheap_set_param(&mp, M_ARENA_MAX, 2), 1);
   assert_true(mp.arena_max == 2);
   assert_int_equal(ml_gheap_set_param(&mp, 999, 5), 1);
}

/* Two threads, two arenas: a block of A's arena freed by thread B goes to
   B's tcache, B's next malloc of that size gets it (from A's arena), and
   when B ends it goes back to A's arena, where A finds it. */
static void test_cross_arena_tcache(void **state)
{
   (void)state;
   Rec ra = { 0 }, rb = { 0 };
   MlGHeap *ha = new_model_at(&ra, 0);
   MlGHeapOps ops = { t_alloc, t_free, t_touch, t_brk, &rb, t_dontneed,
                      &params, ML_GHEAP_ARENA_START };
   MlGHeap *hb = ml_gheap_new(&ops);
   MlGTcache ta, tb;
   memset(&ta, 0, sizeof ta);
   memset(&tb, 0, sizeof tb);
   uint32_t a1, b1, x;
   MlGHeap *owner;

   ml_gheap_use_tcache(ha, &ta);                  /* thread A */
   assert_true(ml_gheap_malloc_in(ha, 100, 0, &a1, &owner) == 672);
   assert_ptr_equal(owner, ha);
   ml_gheap_use_tcache(hb, &tb);                  /* thread B, its arena */
   ml_gheap_init_tcache(hb);
   assert_true(ml_gheap_malloc_in(hb, 100, 0, &b1, &owner)
               == ML_GHEAP_ARENA_START + 656 + 16);
   assert_ptr_equal(owner, hb);
   ml_gheap_use_tcache(ha, &tb);                  /* B frees A's block */
   assert_int_equal(ml_gheap_free(ha, a1), 1);
   assert_int_equal(tb.count[(112 - 32) / 16], 1);
   /* B's malloc of that size: A's chunk, from B's tcache */
   assert_true(ml_gheap_malloc_in(hb, 100, 0, &x, &owner) == 672);
   assert_ptr_equal(owner, ha);
   assert_true(x == a1);
   assert_ptr_equal(ml_gheap_ctx(ha), &ra);
   assert_int_equal(ml_gheap_free(ha, x), 1);     /* cached again */
   assert_int_equal(ml_gheap_free(hb, b1), 1);    /* B's own, cached */
   ml_gheap_tcache_shutdown(&tb);                 /* B ends */
   assert_int_equal(tb.on, 0);
   /* A's chunk went back to A's fastbin: A's malloc finds it */
   ml_gheap_use_tcache(ha, &ta);
   assert_true(ml_gheap_malloc_in(ha, 100, 0, &x, &owner) == 672);
   assert_ptr_equal(owner, ha);
   assert_int_equal(ml_gheap_check(ha), 0);
   assert_int_equal(ml_gheap_check(hb), 0);
   ml_gheap_tcache_drop(&ta);
   ml_gheap_delete(ha);
   ml_gheap_delete(hb);
   free(ra.res);
   free(rb.res);
}

/* Settings no program could run with natively (a top pad of 2^64 -
   4096, with which glibc's brk would shrink the heap) leave the model
   whole. */
static void test_extreme_settings(void **state)
{
   (void)state;
   Rec r = { 0 };
   MlGHeap *h = new_model(&r);
   assert_int_equal(ml_gheap_set_param(&params, M_TOP_PAD, -4096), 1);
   assert_int_equal(ml_gheap_set_param(&params, M_TRIM_THRESHOLD, 0), 1);
   assert_int_equal(ml_gheap_set_param(&params, M_MMAP_THRESHOLD, 0), 1);
   assert_int_equal(ml_gheap_set_param(&params, M_MMAP_MAX, 0), 1);
   for (unsigned k = 1; k < 200; k++)
      assert_true(k_malloc(h, k, k * 997, k % 3 == 0) != ML_GHEAP_MAPPED);
   for (unsigned k = 1; k < 200; k += 2)
      k_free(h, k);
   assert_int_equal(ml_gheap_check(h), 0);
   assert_int_equal(ml_gheap_trim(h, ~(uint64_t)0, 1), 1);  /* the pages */
   assert_false(r.bad_touch);
   assert_int_equal(ml_gheap_set_param(&params, M_MMAP_MAX, 65536), 1);
   /* threshold 0: what neither the bins nor top can serve is mapped */
   assert_true(k_malloc(h, 300, 100000000, 0) == ML_GHEAP_MAPPED);
   ml_gheap_delete(h);
}

/* malloc_trim: the whole pages inside a free chunk, past its first 48
   bytes, given back; top trimmed to the pad; 0 when nothing was. */
static void test_trim_dontneed(void **state)
{
   (void)state;
   Rec r = { 0 };
   MlGHeap *h = new_model(&r);
   assert_true(k_malloc(h, 1, 100000, 0) == 672);
   assert_true(k_malloc(h, 2, 100, 0) == 672 + 100016);
   k_free(h, 1);              /* chunk 656..100672: unsorted, not trimmed */
   assert_int_equal(r.ndontneed, 0);
   uint64_t end = ml_gheap_end(h);
   assert_int_equal(ml_gheap_trim(h, end, 1), 1);
   /* from align_up(656 + 48) = 4096 to 100672 rounded down: 98304 */
   assert_int_equal(r.ndontneed, 1);
   assert_true(r.dontneeds[0].lo == 4096 && r.dontneeds[0].hi == 98304);
   assert_true(ml_gheap_end(h) == end);          /* the pad keeps top */
   assert_int_equal(ml_gheap_trim(h, 0, 0), 1);  /* again: not main */
   assert_true(ml_gheap_end(h) == end);
   r.ndontneed = 0;
   assert_int_equal(ml_gheap_trim(h, 0, 1), 1);  /* top down to a page */
   /* top starts at 100784 (the block of 100 above the free chunk): its
      area beyond 33 bytes, rounded down to pages, goes */
   uint64_t top = 100672 + 112;
   assert_true(ml_gheap_end(h) == end - ((end - top - 33) & ~4095ULL));
   assert_false(r.bad_touch);
   ml_gheap_delete(h);

   /* nothing free of a page: 0 */
   h = new_model(&r);
   assert_true(k_malloc(h, 1, 3000, 0) == 672);
   assert_true(k_malloc(h, 2, 100, 0) != NOT_LIVE);
   k_free(h, 1);
   assert_int_equal(ml_gheap_trim(h, 1 << 20, 1), 0);
   assert_int_equal(r.ndontneed, 0);
   ml_gheap_delete(h);
}

/* Two threads' tcaches on one arena: each made at the thread's first
   call, each caching its own frees; a thread's end empties its tcache
   into the arena; a call without a tcache bypasses both. */
static void test_thread_tcache(void **state)
{
   (void)state;
   Rec r = { 0 };
   MlGHeap *h = new_model(&r);
   MlGTcache t2;
   memset(&t2, 0, sizeof t2);
   /* main: its tcache (chunk 0, 656 bytes) then the block (chunk 656) */
   assert_true(k_malloc(h, 1, 100, 0) == 672);
   /* thread 2: its tcache (chunk 768), then its block (chunk 1424) */
   ml_gheap_use_tcache(h, &t2);
   assert_true(k_malloc(h, 2, 100, 0) == 1440);
   assert_int_equal(t2.on, 1);
   assert_int_equal(k_free(h, 2), 1);          /* to thread 2's tcache */
   assert_int_equal(t2.count[(112 - 32) / 16], 1);
   ml_gheap_use_tcache(h, NULL);
   assert_true(k_malloc(h, 3, 100, 0) == 1552); /* not thread 2's chunk */
   ml_gheap_use_tcache(h, &t2);
   assert_true(k_malloc(h, 4, 100, 0) == 1440); /* from its tcache */
   assert_int_equal(k_free(h, 4), 1);
   /* thread 2 ends: chunk 1424 to a fastbin, its tcache's chunk (768,
      between two chunks in use) to the unsorted bin */
   ml_gheap_tcache_shutdown(&t2);
   assert_int_equal(t2.on, 0);
   assert_int_equal(ml_gheap_check(h), 0);
   /* without a tcache, block 3 (chunk 1536) goes to the fastbin too;
      a malloc without one takes the fastbin's newest */
   ml_gheap_use_tcache(h, NULL);
   assert_int_equal(k_free(h, 3), 1);
   assert_true(k_malloc(h, 5, 100, 0) == 1552);
   assert_true(k_malloc(h, 6, 100, 0) == 1440);
   assert_int_equal(ml_gheap_check(h), 0);
   ml_gheap_delete(h);

   /* the same on a fresh model, ending on the main thread's tcache */
   h = new_model(&r);
   MlGTcache main_tc, t3;
   memset(&main_tc, 0, sizeof main_tc);
   memset(&t3, 0, sizeof t3);
   ml_gheap_use_tcache(h, &main_tc);
   assert_true(k_malloc(h, 1, 100, 0) == 672);
   ml_gheap_use_tcache(h, &t3);
   assert_true(k_malloc(h, 2, 100, 0) == 1440);
   assert_true(k_malloc(h, 3, 100, 0) == 1552);
   k_free(h, 2);
   k_free(h, 3);
   ml_gheap_tcache_shutdown(&t3);          /* 1536, 1424 to the fastbin */
   ml_gheap_use_tcache(h, &main_tc);
   assert_true(k_malloc(h, 4, 100, 0) == 1440);  /* fastbin head: 1424 */
   assert_true(k_malloc(h, 5, 100, 0) == 1552);  /* stashed, then taken */
   /* the tcache chunk freed by the shutdown (768, 656 bytes) serves an
      exact fit */
   assert_true(k_malloc(h, 6, 640, 0) == 784);
   assert_int_equal(ml_gheap_check(h), 0);
   ml_gheap_delete(h);
}

int main(void)
{
   const char *replay = getenv(REPLAY_ENV);
   if (replay) {
      int sc = 0;
      for (const char *p = replay; *p >= '0' && *p <= '9'; p++)
         sc = sc * 10 + (*p - '0');
      _exit(sc < N_SCENARIOS ? replay_main(sc) : 4);
   }

   const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_first_malloc),
      cmocka_unit_test(test_fastbin),
      cmocka_unit_test(test_trim),
      cmocka_unit_test(test_mmap_threshold),
      cmocka_unit_test(test_calloc_clear),
      cmocka_unit_test(test_realloc_cases),
      cmocka_unit_test(test_memalign),
      cmocka_unit_test(test_vs_glibc_small),
      cmocka_unit_test(test_vs_glibc_mixed),
      cmocka_unit_test(test_vs_glibc_big),
      cmocka_unit_test(test_vs_glibc_trim),
      cmocka_unit_test(test_vs_glibc_realloc),
      cmocka_unit_test(test_vs_glibc_memalign),
      cmocka_unit_test(test_vs_glibc_iters),
      cmocka_unit_test(test_vs_glibc_mallopt),
      cmocka_unit_test(test_vs_glibc_unsorted),
      cmocka_unit_test(test_vs_glibc_tuned_small),
      cmocka_unit_test(test_vs_glibc_tuned_unsorted),
      cmocka_unit_test(test_vs_glibc_tuned_iters),
      cmocka_unit_test(test_vs_glibc_tuned_mixed),
      cmocka_unit_test(test_vs_glibc_tuned_big),
      cmocka_unit_test(test_vs_glibc_tuned_trim),
      cmocka_unit_test(test_vs_glibc_perturb_realloc),
      cmocka_unit_test(test_vs_glibc_perturb_small),
      cmocka_unit_test(test_vs_glibc_thread_arena),
      cmocka_unit_test(test_vs_glibc_xthread),
      cmocka_unit_test(test_tunables_parse),
      cmocka_unit_test(test_set_param),
      cmocka_unit_test(test_trim_dontneed),
      cmocka_unit_test(test_extreme_settings),
      cmocka_unit_test(test_thread_tcache),
      cmocka_unit_test(test_cross_arena_tcache),
   };
   return cmocka_run_group_tests(tests, NULL, NULL);
}
