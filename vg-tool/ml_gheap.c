/* ml_gheap.c -- a model of glibc 2.36's malloc over heap offsets
   (ml_gheap.h).

   The model follows glibc's algorithm step by step for the main arena of
   a single-threaded x86-64 process with default tunables, so that the
   chunk it picks, the chunks it splits, merges and bins, and the moves
   of the heap's end are those glibc would make for the same sequence of
   calls.  Nothing is stored at the offsets: every chunk glibc would keep
   track of through its own headers has a record here instead.

   Records.  One array of chunk records (index 0 is "none"; indices 1 to
   127 are the bin headers, so that the bins are circular doubly linked
   lists of record indices exactly as glibc's are), grown by doubling,
   unused records on a free list.  A record holds the chunk's offset and
   size, its state (in use, mapped, in the tcache, in a fastbin, in the
   unsorted bin, in a small or large bin), its fd/bk links (the tcache
   and fastbins use fd only) and, in a large bin, its fd_nextsize /
   bk_nextsize links (0 standing for glibc's NULL).  The top chunk is not
   a record: it is the pair top / top_size, and the heap's end is always
   top + top_size (the heap is contiguous from offset 0).

   Neighbours.  glibc finds the neighbours of a chunk through its
   headers: the previous chunk through prev_size when the PREV_INUSE bit
   is clear, the next one at offset + size, whose own next chunk's
   PREV_INUSE bit says whether it is free.  Those bits are clear exactly
   for chunks in the unsorted, small and large bins (tcache and fastbin
   chunks count as in use).  Here every chunk of the heap below top has
   a record, and the records are linked in address order (prevp, nextp;
   the chunk below top is 'last'), so a chunk's neighbours are one link
   away and "is it free?" is its state: a split links the new chunk in,
   a merge links the absorbed one out.  (A hash table of the binned
   chunks' starts and ends did the same with two random probes per
   question and two insertions per binned chunk: a seventh of an
   allocation-heavy run.)

   Handles.  A live block is named by its record's index, which the
   caller keeps with its own facts of the block (memline: in the block's
   header) and passes back to free or realloc it.  (A hash table from
   the caller's keys to the records cost two random probes per block,
   about a fourteenth of an allocation-heavy run.)

   Bins.  A tcache (one per thread, MlGTcache) is 64 LIFO stacks of
   (arena, record) pairs, since a thread caches blocks of any arena it
   frees; the fastbins 10 LIFO
   lists; the unsorted, small and large bins are the circular lists above,
   large bins kept in glibc's order (by decreasing size, a new chunk of a
   size already present second in its size group) with the nextsize ring
   over the first chunk of each size.  The binmap is exact (a bin's bit is
   set while it holds chunks), which finds the same bin as glibc's lazily
   cleared one.

   What glibc writes.  The touch callback reports the heap bytes glibc's
   code stores at each step: size fields (set_head, and the PREV_INUSE bit
   of the next chunk set or cleared), boundary tags (set_foot: the next
   chunk's prev_size), the fd/bk and fd_nextsize/bk_nextsize words of a
   chunk put in a bin, the tcache entry's next/key words (and the key
   cleared when it is taken), a fastbin chunk's fd, the tcache structure
   cleared at its creation, the bytes calloc clears and the bytes realloc
   copies to a new chunk.  Left out: the link words of a chunk's
   neighbours in its list when it is unlinked or linked next to them, and
   the counts and list heads of the tcache structure -- those bytes lie in
   chunks that were written when they entered their list, or in the
   tcache structure cleared at its creation, and a heap below its top is
   given back to the kernel only by malloc_trim, which keeps each free
   chunk's first 48 bytes (its size and link words) and never touches a
   chunk in use, so they cannot change which pages are resident.

   Parameters.  The thresholds, the top pad, the fastbin limit and the
   tcache's size are glibc's process-wide settings (MlGHeapParams), by
   default glibc's defaults; mallopt and the glibc.malloc tunables change
   them (ml_gheap_set_param, ml_gheap_tunables) with glibc's checks.
   malloc_trim is ml_gheap_trim.  A perturb byte (M_PERTURB,
   MALLOC_PERTURB_) makes glibc fill each block it hands out and each
   chunk it frees (touches here).

   Threads: a model is one arena; the caller keeps one per arena and
   names the calling thread's tcache (ml_gheap_use_tcache).  An arena
   other than the main one (ops->arena_start, the offset of its first
   chunk) lies in a heap of glibc's own (new_heap): made by the request
   that creates the arena, its first page written with the heap's and
   the arena's headers, sized for that request and the top pad, and
   grown by what each request lacks in whole pages (grow_heap, no pad);
   trimmed as the main arena's top (heap_trim) but not by malloc_trim;
   calloc clears up to the largest size the heap had (mprotect_size).
   A heap is taken to grow without its 64 MiB limit (glibc would start
   another heap there).

   Left out of the model: huge pages (glibc.malloc.hugetlb); failures of brk or mmap (and with them
   the non-contiguous heap with its fenceposts: a top pad so large that
   brk would fail is taken as it comes); allocations glibc would refuse
   (requests above PTRDIFF_MAX are modelled as mapped blocks, which
   leaves the heap alone); the exact place of a mapping (only its size
   matters to glibc's threshold), and, for memalign with an alignment
   above the page size, the true alignment of the heap's start or of a
   mapping (taken as aligned to it: glibc's choice depends on addresses
   the model does not know); glibc's consistency checks (a double free
   is not detected).

   Cost: the common operations (tcache, fastbins, small bins, top) are a
   few array accesses and hash probes; unsorted-bin processing is linear
   in the chunks processed, as in glibc, and a large-bin insertion walks
   the bin's distinct sizes, as glibc's does.

   No libc: the tables come from ops->alloc / ops->free, and the few
   loops that clear or copy memory are written out. */
#include <stddef.h>
#include <stdint.h>
#include "ml_gheap.h"

/*------------------------------------------------------------*/
/*--- glibc's constants (x86-64, default tunables)         ---*/
/*------------------------------------------------------------*/

#define SIZE_SZ        8ULL
#define MINSIZE        32ULL
#define PAGE           4096ULL
#define TOP_PAD        (128ULL * 1024)        /* DEFAULT_TOP_PAD */
#define MMAP_THRESHOLD (128ULL * 1024)        /* at start */
#define TRIM_THRESHOLD (128ULL * 1024)        /* at start */
#define MMAP_THRESHOLD_MAX (32ULL * 1024 * 1024)
#define MMAPS_MAX      65536                  /* DEFAULT_MMAP_MAX */
#define IS_MMAPPED     2ULL                   /* a mapped chunk's size bit */
#define MAX_FAST       128ULL                 /* global_max_fast */
#define MAX_FAST_SIZE  160ULL                 /* M_MXFAST's limit */
#define NFASTBINS      10
#define TCACHE_BINS    64
#define TCACHE_FILL    7
#define TCACHE_COUNT_MAX 65535ULL             /* MAX_TCACHE_COUNT */
#define TCACHE_SIZE_MAX 1032ULL               /* MAX_TCACHE_SIZE */
#define ARENA_TEST     8ULL                   /* NARENAS_FROM_NCORES (1) */
#define TCACHE_STRUCT  640ULL                 /* 64 uint16 counts + 64 heads */
#define NBINS          128
#define UNSORTED       1                      /* bin 1 */
#define MIN_LARGE      1024ULL                /* smallest large-bin size */
#define CONSOLIDATE_AT 65536ULL               /* FASTBIN_CONSOLIDATION_THRESHOLD */
#define MAX_ITERS      10000                  /* unsorted chunks binned per pass */
#define HUGE_REQUEST   0x7fffffffffffffffULL  /* PTRDIFF_MAX */

#define NIL            0u                     /* "no record" (glibc's NULL) */
#define NO_OFF         (~(uint64_t)0)         /* no last_remainder */
#define NOT_LIVE       (~(uint64_t)1)         /* see ml_gheap_offset */
#define FIRST_CHUNK_REC NBINS                 /* records below are bin headers */

/* Record states */
enum {
   ST_UNUSED,      /* on the record free list (or a bin header) */
   ST_INUSE,       /* handed out (or held by glibc: the tcache structure) */
   ST_MAPPED,      /* a block glibc mapped: off is its offset in the mapping */
   ST_TCACHE,
   ST_FAST,
   ST_UNSORTED,
   ST_BINNED       /* in a small or large bin */
};

typedef struct {
   uint64_t off;         /* chunk offset from the heap's start */
   uint64_t size;        /* chunk size, flags excluded */
   uint32_t fd, bk;      /* list links (record indices) */
   uint32_t fdn, bkn;    /* fd_nextsize / bk_nextsize in a large bin */
   uint32_t prevp, nextp;/* the chunks below and above in the heap (NIL:
                            none below / top above); not for mapped ones */
   uint32_t state;
} Chunk;

struct MlGHeap {
   MlGHeapOps ops;
   Chunk   *rec;
   uint32_t nrec, cap;   /* records used (bump), allocated */
   uint32_t free_rec;    /* free list through fd */
   uint32_t last;        /* the chunk right below top, or NIL */

   uint64_t top, top_size;
   uint64_t start;              /* the first chunk's offset: 0, or in a
                                   thread's arena the headers' size */
   int      born;               /* the heap exists (a thread's arena's is
                                   made by its first request) */
   uint64_t max_end;            /* a thread's arena: its mprotect_size */
   uint64_t last_remainder;     /* an offset: glibc compares addresses */
   int      from_tcache;        /* int_malloc's chunk came from the
                                   tcache (return_cached) */
   MlGHeapParams *mp;           /* the process's parameters (own_mp or
                                   the caller's, shared by its arenas) */
   MlGHeapParams own_mp;
   MlGTcache *tc;               /* the calling thread's tcache, or NULL
                                   (no tcache for this call) */
   MlGTcache own_tc;            /* the default: one for the heap */
   int      have_fastchunks;    /* glibc's flag: set by a fastbin free,
                                   cleared only by malloc_consolidate */
   uint32_t fb_head[NFASTBINS];
   uint64_t binmap[NBINS / 64];
};

#define R(i) (h->rec[i])

static uint64_t align_up(uint64_t x, uint64_t a)   { return (x + a - 1) & ~(a - 1); }
static uint64_t align_down(uint64_t x, uint64_t a) { return x & ~(a - 1); }

/* request2size: the chunk size for a request of req bytes */
static uint64_t req2size(uint64_t req)
{
   if (req + SIZE_SZ + 15 < MINSIZE)
      return MINSIZE;
   return (req + SIZE_SZ + 15) & ~15ULL;
}

static int in_smallbin_range(uint64_t sz) { return sz < MIN_LARGE; }

static unsigned largebin_index(uint64_t sz)
{
   if ((sz >> 6) <= 48)  return 48 + (unsigned)(sz >> 6);
   if ((sz >> 9) <= 20)  return 91 + (unsigned)(sz >> 9);
   if ((sz >> 12) <= 10) return 110 + (unsigned)(sz >> 12);
   if ((sz >> 15) <= 4)  return 119 + (unsigned)(sz >> 15);
   if ((sz >> 18) <= 2)  return 124 + (unsigned)(sz >> 18);
   return 126;
}

static unsigned bin_index(uint64_t sz)
{
   return in_smallbin_range(sz) ? (unsigned)(sz >> 4) : largebin_index(sz);
}

static unsigned tcache_index(uint64_t sz) { return (unsigned)((sz - MINSIZE + 15) / 16); }
static unsigned fastbin_index(uint64_t sz) { return (unsigned)(sz >> 4) - 2; }

/*------------------------------------------------------------*/
/*--- Records                                              ---*/
/*------------------------------------------------------------*/

static uint32_t new_rec(MlGHeap *h, uint64_t off, uint64_t size, uint32_t state)
{
   uint32_t i = h->free_rec;
   if (i != NIL) {
      h->free_rec = R(i).fd;
   } else {
      if (h->nrec == h->cap) {
         uint32_t ncap = h->cap * 2;
         Chunk *n = h->ops.alloc((size_t)ncap * sizeof(Chunk));
         for (uint32_t k = 0; k < h->nrec; k++)
            n[k] = h->rec[k];
         h->ops.free(h->rec);
         h->rec = n;
         h->cap = ncap;
      }
      i = h->nrec++;
   }
   R(i).off = off;
   R(i).size = size;
   R(i).fd = R(i).bk = R(i).fdn = R(i).bkn = NIL;
   R(i).prevp = R(i).nextp = NIL;
   R(i).state = state;
   return i;
}

static void drop_rec(MlGHeap *h, uint32_t i)
{
   R(i).state = ST_UNUSED;
   R(i).fd = h->free_rec;
   h->free_rec = i;
}

/*------------------------------------------------------------*/
/*--- What glibc writes                                    ---*/
/*------------------------------------------------------------*/

static void touch(MlGHeap *h, uint64_t lo, uint64_t hi)
{
   if (h->ops.touch && hi > lo)
      h->ops.touch(h->ops.ctx, lo, hi);
}

/* The size field of the chunk at off (set_head, set_head_size, and the
   PREV_INUSE bit of a chunk's successor set or cleared). */
static void w_head(MlGHeap *h, uint64_t off)    { touch(h, off + 8, off + 16); }
/* set_foot: the prev_size field of the chunk after [off, off + size) */
static void w_foot(MlGHeap *h, uint64_t off, uint64_t size)
{
   touch(h, off + size, off + size + 8);
}
/* fd and bk (the user area's first 16 bytes) */
static void w_links(MlGHeap *h, uint64_t off)   { touch(h, off + 16, off + 32); }
/* fd_nextsize and bk_nextsize */
static void w_nextsize(MlGHeap *h, uint64_t off){ touch(h, off + 32, off + 48); }

/*------------------------------------------------------------*/
/*--- Bins                                                 ---*/
/*------------------------------------------------------------*/

static void mark_bin(MlGHeap *h, unsigned b)   { h->binmap[b >> 6] |= 1ULL << (b & 63); }
static void unmark_bin(MlGHeap *h, unsigned b) { h->binmap[b >> 6] &= ~(1ULL << (b & 63)); }

/* The first bin at or above from that holds chunks, or 0. */
static unsigned next_marked_bin(const MlGHeap *h, unsigned from)
{
   for (unsigned w = from >> 6; w < NBINS / 64; w++) {
      uint64_t m = h->binmap[w];
      if (w == from >> 6)
         m &= ~0ULL << (from & 63);
      if (m)
         return w * 64 + (unsigned)__builtin_ctzll(m);
   }
   return 0;
}

/*------------------------------------------------------------*/
/*--- Neighbours in the heap                               ---*/
/*------------------------------------------------------------*/

/* Whether record p is a chunk in the unsorted, small or large bins:
   glibc's "PREV_INUSE clear" in the chunk after it. */
static int is_binned(const MlGHeap *h, uint32_t p)
{
   return p != NIL && (R(p).state == ST_UNSORTED || R(p).state == ST_BINNED);
}

/* r, just made from the upper part of chunk v, goes right after it. */
static void link_after(MlGHeap *h, uint32_t v, uint32_t r)
{
   uint32_t n = R(v).nextp;
   R(r).prevp = v;
   R(r).nextp = n;
   if (n != NIL)
      R(n).prevp = r;
   else
      h->last = r;
   R(v).nextp = r;
}

/* Chunk q, merged into its neighbour, leaves the order. */
static void unlink_phys(MlGHeap *h, uint32_t q)
{
   uint32_t pv = R(q).prevp, n = R(q).nextp;
   if (pv != NIL)
      R(pv).nextp = n;
   if (n != NIL)
      R(n).prevp = pv;
   else
      h->last = pv;
}

/* Puts p at the front of the unsorted bin, as free, malloc_consolidate
   and the splits do. */
static void to_unsorted(MlGHeap *h, uint32_t p)
{
   uint32_t fwd = R(UNSORTED).fd;
   R(p).fd = fwd;
   R(p).bk = UNSORTED;
   R(fwd).bk = p;
   R(UNSORTED).fd = p;
   R(p).fdn = R(p).bkn = NIL;
   R(p).state = ST_UNSORTED;
   w_links(h, R(p).off);
   if (!in_smallbin_range(R(p).size))
      w_nextsize(h, R(p).off);       /* fd_nextsize = bk_nextsize = NULL */
}

/* unlink_chunk: takes a binned chunk off its list, handing its place in
   the nextsize ring to the next chunk of its size when it led a size
   group of a large bin. */
static void unlink_chunk(MlGHeap *h, uint32_t p)
{
   uint32_t fd = R(p).fd, bk = R(p).bk;
   R(fd).bk = bk;
   R(bk).fd = fd;
   if (!in_smallbin_range(R(p).size) && R(p).fdn != NIL) {
      /* a bin header's fd_nextsize word is the next bin's fd: never
         NULL */
      int fd_heads = fd < FIRST_CHUNK_REC || R(fd).fdn != NIL;
      if (!fd_heads) {
         if (R(p).fdn == p) {
            R(fd).fdn = R(fd).bkn = fd;
         } else {
            R(fd).fdn = R(p).fdn;
            R(fd).bkn = R(p).bkn;
            R(R(p).fdn).bkn = fd;
            R(R(p).bkn).fdn = fd;
         }
      } else {
         R(R(p).fdn).bkn = R(p).bkn;
         R(R(p).bkn).fdn = R(p).fdn;
      }
   }
   if (R(p).state == ST_BINNED) {
      unsigned b = bin_index(R(p).size);
      if (R(b).fd == b)
         unmark_bin(h, b);
   }
   R(p).fdn = R(p).bkn = NIL;
   R(p).state = ST_INUSE;
}

/* Places an unsorted chunk (already off the unsorted list) in its small
   or large bin, as _int_malloc's unsorted loop does. */
static void place_in_bin(MlGHeap *h, uint32_t v)
{
   uint64_t size = R(v).size;
   unsigned b = bin_index(size);
   uint32_t bck = b, fwd = R(b).fd;

   if (!in_smallbin_range(size)) {
      if (fwd != bck) {
         if (size < R(R(bck).bk).size) {
            /* smaller than the smallest: last, a size group of its own */
            fwd = bck;
            bck = R(bck).bk;
            R(v).fdn = R(fwd).fd;
            R(v).bkn = R(R(fwd).fd).bkn;
            R(R(fwd).fd).bkn = v;
            R(R(v).bkn).fdn = v;
            w_nextsize(h, R(v).off);
         } else {
            while (size < R(fwd).size)
               fwd = R(fwd).fdn;
            if (size == R(fwd).size) {
               /* always second in its size group: the group's first
                  chunk keeps the nextsize links */
               fwd = R(fwd).fd;
            } else {
               R(v).fdn = fwd;
               R(v).bkn = R(fwd).bkn;
               R(fwd).bkn = v;
               R(R(v).bkn).fdn = v;
               w_nextsize(h, R(v).off);
            }
            bck = R(fwd).bk;
         }
      } else {
         R(v).fdn = R(v).bkn = v;
         w_nextsize(h, R(v).off);
      }
   }
   mark_bin(h, b);
   R(v).bk = bck;
   R(v).fd = fwd;
   R(fwd).bk = v;
   R(bck).fd = v;
   R(v).state = ST_BINNED;
   w_links(h, R(v).off);
}

/*------------------------------------------------------------*/
/*--- tcache and fastbins                                  ---*/
/*------------------------------------------------------------*/

/* The calling thread's tcache when it exists (glibc's tcache != NULL). */
static inline MlGTcache *tcache(const MlGHeap *h)
{
   return h->tc && h->tc->on ? h->tc : NULL;
}

/* A thread's tcache holds chunks of any arena (a thread caches what it
   frees, whichever arena holds it): each bin is a stack of (heap, record)
   pairs, the newest last, grown with the heap's allocator. */
static void tcache_put(MlGHeap *h, uint32_t p, unsigned ti)
{
   MlGTcache *tc = h->tc;
   if (tc->count[ti] == tc->cap[ti]) {
      uint32_t ncap = tc->cap[ti] ? 2 * tc->cap[ti] : 8;
      MlGTcEntry *n = h->ops.alloc((size_t)ncap * sizeof *n);
      for (uint32_t k = 0; k < tc->count[ti]; k++)
         n[k] = tc->ent[ti][k];
      if (tc->ent[ti])
         tc->free(tc->ent[ti]);
      tc->ent[ti] = n;
      tc->cap[ti] = ncap;
      tc->free = h->ops.free;
   }
   tc->ent[ti][tc->count[ti]++] = (MlGTcEntry){ h, p };
   R(p).state = ST_TCACHE;
   touch(h, R(p).off + 16, R(p).off + 32);     /* next, key */
}

/* The newest chunk of the bin: its heap in *owner, its record returned. */
static uint32_t tcache_get(MlGTcache *tc, unsigned ti, MlGHeap **owner)
{
   MlGTcEntry e = tc->ent[ti][--tc->count[ti]];
   MlGHeap *h = e.heap;
   uint32_t p = e.rec;
   R(p).state = ST_INUSE;
   touch(h, R(p).off + 24, R(p).off + 32);     /* key = 0 */
   *owner = h;
   return p;
}

/* tcache_get in _int_malloc of h: the chunk this call just cached (last
   in, first out: h's) */
static uint32_t tcache_get_own(MlGHeap *h, unsigned ti)
{
   MlGHeap *owner;
   return tcache_get(h->tc, ti, &owner);
}

static uint32_t int_malloc(MlGHeap *h, uint64_t nb, uint64_t bytes);
static void int_free(MlGHeap *h, uint32_t p);

/* MAYBE_INIT_TCACHE: the first __libc_malloc, calloc, realloc or free of
   a heap chunk allocates the tcache structure with _int_malloc (while
   there is no tcache yet, so nothing is stashed) and clears it. */
static void maybe_init_tcache(MlGHeap *h)
{
   if (!h->tc || h->tc->on)
      return;
   uint32_t t = int_malloc(h, req2size(TCACHE_STRUCT), TCACHE_STRUCT);
   h->tc->on = 1;
   h->tc->self = t;
   h->tc->self_heap = h;
   touch(h, R(t).off + 16, R(t).off + 16 + TCACHE_STRUCT);
}

/*------------------------------------------------------------*/
/*--- Top, brk, consolidation                              ---*/
/*------------------------------------------------------------*/

static void set_brk(MlGHeap *h, uint64_t old_end, uint64_t new_end)
{
   if (h->ops.brk)
      h->ops.brk(h->ops.ctx, old_end, new_end);
}

/* Splits nb off the top chunk (which has room for it and MINSIZE more). */
static uint32_t from_top(MlGHeap *h, uint64_t nb)
{
   uint32_t v = new_rec(h, h->top, nb, ST_INUSE);
   R(v).prevp = h->last;
   if (h->last != NIL)
      R(h->last).nextp = v;
   h->last = v;
   h->top += nb;
   h->top_size -= nb;
   w_head(h, R(v).off);
   w_head(h, h->top);
   return v;
}

/* _int_new_arena's new_heap, for a request of bytes: the heap sized for
   the request, the headers and the top pad (at least HEAP_MIN_SIZE), in
   whole pages; its headers written. */
#define HEAP_MIN_SIZE  (32ULL * 1024)
#define HEAP_MAX_SIZE  (64ULL * 1024 * 1024)
#define ARENA_HEADERS  2248ULL           /* heap_info + malloc_state */
static void new_heap(MlGHeap *h, uint64_t bytes)
{
   uint64_t size = bytes + ARENA_HEADERS + 16;
   if (size + h->mp->top_pad < HEAP_MIN_SIZE)
      size = HEAP_MIN_SIZE;
   else if (size + h->mp->top_pad <= HEAP_MAX_SIZE)
      size += h->mp->top_pad;
   else if (size <= HEAP_MAX_SIZE)
      size = HEAP_MAX_SIZE;
   size = align_up(size, PAGE);
   h->born = 1;
   set_brk(h, 0, size);
   touch(h, 0, h->start);              /* heap_info, malloc_state */
   h->top = h->start;
   h->top_size = size - h->start;
   h->max_end = size;
   w_head(h, h->top);
}

/* sysmalloc for the main arena: a mapping of its own for a request at
   or above the mmap threshold (while fewer than n_mmaps_max mappings
   are live), otherwise the heap grown with brk by what nb, the top pad and
   MINSIZE need beyond the old top, in whole pages.  The first growth
   starts the heap at offset 0 (glibc's initial top has size 0). */
static uint32_t sysmalloc(MlGHeap *h, uint64_t nb)
{
   if (nb >= h->mp->mmap_threshold && h->mp->n_mmaps < h->mp->n_mmaps_max) {
      h->mp->n_mmaps++;
      return new_rec(h, 0, align_up(nb + SIZE_SZ, PAGE), ST_MAPPED);
   }
   uint64_t old_end = h->top + h->top_size;
   uint64_t need = align_up(MINSIZE + nb - h->top_size, PAGE);
   uint64_t size = h->start
      /* a thread's arena: grow_heap by what is missing, in pages */
      ? need
      : align_up(nb + h->mp->top_pad + MINSIZE - h->top_size, PAGE);
   if (size < need)          /* a top pad near 2^64 (mallopt's negative */
      size = need;           /* values; glibc's brk would go wrong) */
   set_brk(h, old_end, old_end + size);
   if (old_end + size > h->max_end)
      h->max_end = old_end + size;
   h->top_size += size;
   w_head(h, h->top);
   return from_top(h, nb);
}

/* systrim: gives back whole pages of top beyond pad; 1 when it did.
   (glibc compares top's area with the pad as unsigned numbers; a top
   of MINSIZE, whose area is -1, is left alone here.) */
static int systrim(MlGHeap *h, uint64_t pad)
{
   int64_t top_area = (int64_t)h->top_size - (int64_t)MINSIZE - 1;
   if (top_area < 0 || (uint64_t)top_area <= pad)
      return 0;
   uint64_t extra = align_down((uint64_t)top_area - pad, PAGE);
   if (extra == 0)
      return 0;
   uint64_t old_end = h->top + h->top_size;
   h->top_size -= extra;
   set_brk(h, old_end, old_end - extra);
   w_head(h, h->top);
   return 1;
}

/* The part of _int_free and malloc_consolidate that merges chunk p (in
   use, not in any list) with free neighbours, then puts it at the front
   of the unsorted bin or into top.  Returns glibc's "size" at the end:
   the merged chunk's size, or top's new size. */
static uint64_t release_chunk(MlGHeap *h, uint32_t p)
{
   uint64_t off = R(p).off, size = R(p).size;
   uint64_t next = off + size;

   uint32_t q = R(p).prevp;
   if (is_binned(h, q)) {               /* consolidate backward */
      unlink_chunk(h, q);
      unlink_phys(h, q);
      off = R(q).off;
      size += R(q).size;
      drop_rec(h, q);
   }
   if (next != h->top) {
      uint32_t n = R(p).nextp;
      if (is_binned(h, n)) {            /* consolidate forward */
         unlink_chunk(h, n);
         unlink_phys(h, n);
         size += R(n).size;
         drop_rec(h, n);
      } else {
         w_head(h, next);               /* its PREV_INUSE bit cleared */
      }
      R(p).off = off;
      R(p).size = size;
      to_unsorted(h, p);
      w_head(h, off);
      w_foot(h, off, size);
      return size;
   }
   h->top = off;                        /* into top */
   h->top_size += size;
   w_head(h, off);
   unlink_phys(h, p);
   drop_rec(h, p);
   return h->top_size;
}

/* malloc_consolidate: every fastbin chunk, bin by bin and each bin from
   its most recently freed chunk, merged with its free neighbours. */
static void malloc_consolidate(MlGHeap *h)
{
   h->have_fastchunks = 0;
   for (unsigned i = 0; i < NFASTBINS; i++) {
      uint32_t p = h->fb_head[i];
      h->fb_head[i] = NIL;
      while (p != NIL) {
         uint32_t nextp = R(p).fd;
         R(p).state = ST_INUSE;
         release_chunk(h, p);
         p = nextp;
      }
   }
}

/*------------------------------------------------------------*/
/*--- _int_malloc                                          ---*/
/*------------------------------------------------------------*/

/* Gives chunk v (just unlinked from a bin) for nb: whole when less than
   MINSIZE would remain, else split with the remainder at the front of
   the unsorted bin.  Returns the remainder's offset, or NO_OFF. */
static uint64_t take_chunk(MlGHeap *h, uint32_t v, uint64_t nb)
{
   uint64_t off = R(v).off, size = R(v).size;
   if (size - nb < MINSIZE) {
      w_head(h, off + size);             /* set_inuse_bit_at_offset */
      return NO_OFF;
   }
   uint32_t r = new_rec(h, off + nb, size - nb, ST_INUSE);
   link_after(h, v, r);
   R(v).size = nb;
   to_unsorted(h, r);
   w_head(h, off);
   w_head(h, off + nb);
   w_foot(h, off + nb, size - nb);
   return off + nb;
}

/* Takes the oldest chunk of small bin b (glibc's last(bin)). */
static uint32_t take_from_smallbin(MlGHeap *h, unsigned b)
{
   uint32_t v = R(b).bk;
   uint32_t bck = R(v).bk;
   R(b).bk = bck;
   R(bck).fd = b;
   if (R(b).fd == b)
      unmark_bin(h, b);
   R(v).state = ST_INUSE;
   w_head(h, R(v).off + R(v).size);     /* set_inuse_bit_at_offset */
   return v;
}

static uint32_t int_malloc_wrk(MlGHeap *h, uint64_t nb)
{
   unsigned idx;
   uint32_t v;

   if (nb <= h->mp->max_fast) {
      unsigned fi = fastbin_index(nb);
      v = h->fb_head[fi];
      if (v != NIL) {
         h->fb_head[fi] = R(v).fd;
         R(v).state = ST_INUSE;
         R(v).fd = NIL;
         /* stash the bin's other chunks in the tcache while it has room */
         unsigned ti = tcache_index(nb);
         if (tcache(h) && ti < h->mp->tcache_bins) {
            uint32_t t;
            while (h->tc->count[ti] < h->mp->tcache_count
                   && (t = h->fb_head[fi]) != NIL) {
               h->fb_head[fi] = R(t).fd;
               tcache_put(h, t, ti);
            }
         }
         return v;
      }
   }

   if (in_smallbin_range(nb)) {
      idx = (unsigned)(nb >> 4);
      if (R(idx).bk != idx) {
         v = take_from_smallbin(h, idx);
         unsigned ti = tcache_index(nb);
         if (tcache(h) && ti < h->mp->tcache_bins) {
            while (h->tc->count[ti] < h->mp->tcache_count && R(idx).bk != idx)
               tcache_put(h, take_from_smallbin(h, idx), ti);
         }
         return v;
      }
   } else {
      idx = largebin_index(nb);
      if (h->have_fastchunks)
         malloc_consolidate(h);
   }

   unsigned tc_idx = tcache_index(nb);
   int tcache_nb = tcache(h) && tc_idx < h->mp->tcache_bins;
   int return_cached = 0;
   uint64_t unsorted_count = 0;        /* tcache_unsorted_count */

   for (;;) {
      int iters = 0;
      while ((v = R(UNSORTED).bk) != UNSORTED) {
         uint32_t bck = R(v).bk;
         uint64_t size = R(v).size;

         R(UNSORTED).bk = bck;           /* off the unsorted list */
         R(bck).fd = UNSORTED;
         R(v).state = ST_INUSE;

         /* a small request takes from the last remainder when it was the
            only unsorted chunk: locality for runs of small requests (the
            remainder becomes the only unsorted chunk) */
         if (in_smallbin_range(nb) && bck == UNSORTED
             && R(v).off == h->last_remainder && size > nb + MINSIZE) {
            h->last_remainder = take_chunk(h, v, nb);
            return v;
         }

         if (size == nb) {
            w_head(h, R(v).off + size);  /* set_inuse_bit_at_offset */
            /* fill the tcache first; hand out one of them at the end */
            if (tcache_nb && h->tc->count[tc_idx] < h->mp->tcache_count) {
               tcache_put(h, v, tc_idx);
               return_cached = 1;
               continue;
            }
            return v;
         }

         place_in_bin(h, v);
         /* once the tcache has a chunk to give, at most
            tcache_unsorted_limit chunks binned (0, the default: any) */
         ++unsorted_count;
         if (return_cached && h->mp->tcache_unsorted_limit > 0
             && unsorted_count > h->mp->tcache_unsorted_limit) {
            h->from_tcache = 1;
            return tcache_get_own(h, tc_idx);
         }
         if (++iters >= MAX_ITERS)
            break;
      }

      if (return_cached) {
         h->from_tcache = 1;
         return tcache_get_own(h, tc_idx);
      }

      /* a large request: best fit in its own bin, by the nextsize ring
         from the smallest size up */
      if (!in_smallbin_range(nb)) {
         uint32_t first = R(idx).fd;
         if (first != idx && R(first).size >= nb) {
            v = R(first).bkn;
            while (R(v).size < nb)
               v = R(v).bkn;
            /* not the group's first chunk when another of its size
               follows, so that the ring need not be rerouted */
            if (v != R(idx).bk && R(v).size == R(R(v).fd).size)
               v = R(v).fd;
            unlink_chunk(h, v);
            take_chunk(h, v, nb);
            return v;
         }
      }

      /* the smallest chunk of the next non-empty larger bin */
      unsigned b = next_marked_bin(h, idx + 1);
      if (b != 0) {
         v = R(b).bk;
         unlink_chunk(h, v);
         uint64_t rem = take_chunk(h, v, nb);
         if (rem != NO_OFF && in_smallbin_range(nb))
            h->last_remainder = rem;
         return v;
      }

      /* use_top */
      if (h->top_size >= nb + MINSIZE)
         return from_top(h, nb);
      if (h->have_fastchunks) {
         malloc_consolidate(h);
         idx = bin_index(nb);
         continue;                     /* once more through the bins */
      }
      return sysmalloc(h, nb);
   }
}

/* _int_malloc for a request of bytes (chunk size nb).  With a perturb
   byte, glibc fills the block (alloc_perturb) on every path but the
   one that hands out a chunk it has just cached; a mapped block is the
   caller's to fill (it is not in the heap). */
static uint32_t int_malloc(MlGHeap *h, uint64_t nb, uint64_t bytes)
{
   if (!h->born)
      new_heap(h, bytes);
   h->from_tcache = 0;
   uint32_t v = int_malloc_wrk(h, nb);
   if (h->mp->perturb_byte && !h->from_tcache && R(v).state != ST_MAPPED)
      touch(h, R(v).off + 16, R(v).off + 16 + bytes);
   return v;
}

/*------------------------------------------------------------*/
/*--- _int_free                                            ---*/
/*------------------------------------------------------------*/

static void int_free(MlGHeap *h, uint32_t p)
{
   uint64_t size = R(p).size;

   unsigned ti = tcache_index(size);
   if (tcache(h) && ti < h->mp->tcache_bins) {
      if (h->tc->count[ti] < h->mp->tcache_count) {
         tcache_put(h, p, ti);
         return;
      }
   }

   /* free_perturb: the block filled with the perturb byte */
   if (h->mp->perturb_byte)
      touch(h, R(p).off + 16, R(p).off + size);

   if (size <= h->mp->max_fast) {
      unsigned fi = fastbin_index(size);
      R(p).fd = h->fb_head[fi];
      R(p).state = ST_FAST;
      h->fb_head[fi] = p;
      h->have_fastchunks = 1;
      touch(h, R(p).off + 16, R(p).off + 24);   /* fd */
      return;
   }

   size = release_chunk(h, p);
   /* a large free: consolidate the fastbins (they may border top), then
      trim top when it passes the threshold */
   if (size >= CONSOLIDATE_AT) {
      if (h->have_fastchunks)
         malloc_consolidate(h);
      if (h->top_size >= h->mp->trim_threshold)
         systrim(h, h->mp->top_pad);
   }
}

/*------------------------------------------------------------*/
/*--- The entry points                                     ---*/
/*------------------------------------------------------------*/

/* __libc_malloc: the tcache first (its chunk may lie in another arena:
   *owner), then _int_malloc. */
static uint32_t libc_malloc(MlGHeap *h, uint64_t bytes, MlGHeap **owner)
{
   uint64_t nb = req2size(bytes);
   maybe_init_tcache(h);
   unsigned ti = tcache_index(nb);
   *owner = h;
   if (tcache(h) && ti < h->mp->tcache_bins) {
      if (h->tc->count[ti] > 0)
         return tcache_get(h->tc, ti, owner);
   }
   return int_malloc(h, nb, bytes);
}

/* __libc_calloc: _int_malloc without the tcache, then the block
   cleared -- except, in a chunk carved from top, the part beyond the
   old top (fresh from the kernel, zero already).  That holds for memory
   the heap had before a trim too: glibc 2.36's source would clear up to
   the largest size the heap ever had (max_system_mem), but Debian 12's
   glibc leaves those pages untouched, as the comparison of resident
   pages in tests/unit/test_gheap.c shows. */
static uint32_t libc_calloc(MlGHeap *h, uint64_t bytes)
{
   maybe_init_tcache(h);
   if (!h->born)                        /* arena_get (av, sz) */
      new_heap(h, bytes);
   uint64_t oldtop = h->top;
   uint64_t oldtopsize = h->top_size;
   if (h->start && oldtopsize < h->max_end - oldtop)
      oldtopsize = h->max_end - oldtop;
   uint32_t p = int_malloc(h, req2size(bytes), bytes);
   if (R(p).state == ST_MAPPED)
      return p;
   uint64_t csz = R(p).size;
   if (!h->mp->perturb_byte && R(p).off == oldtop && csz > oldtopsize)
      csz = oldtopsize;
   touch(h, R(p).off + 16, R(p).off + 16 + csz - SIZE_SZ);
   return p;
}

static uint64_t user_offset(const MlGHeap *h, uint32_t p)
{
   return R(p).state == ST_MAPPED ? ML_GHEAP_MAPPED : R(p).off + 16;
}

/* The block is p: its handle to the caller, its offset returned. */
static uint64_t give(MlGHeap *h, uint32_t *rec, uint32_t p)
{
   *rec = p;
   return user_offset(h, p);
}

/* A request glibc refuses (ENOMEM) cannot reach the model from a program
   that got its block; keep it as a mapped block that leaves the
   heap alone. */
static uint64_t refused(MlGHeap *h, uint32_t *rec)
{
   h->mp->n_mmaps++;
   return give(h, rec, new_rec(h, 0, 0, ST_MAPPED));
}

MlGHeap *ml_gheap_new(const MlGHeapOps *ops)
{
   MlGHeap *h = ops->alloc(sizeof *h);
   if (!h)
      return NULL;
   unsigned char *b = (unsigned char *)h;
   for (size_t i = 0; i < sizeof *h; i++)
      b[i] = 0;
   h->ops = *ops;
   h->cap = 1024;
   h->rec = ops->alloc((size_t)h->cap * sizeof(Chunk));
   if (!h->rec) {
      ml_gheap_delete(h);
      return NULL;
   }
   for (uint32_t i = 0; i < FIRST_CHUNK_REC; i++) {
      R(i).off = R(i).size = 0;
      R(i).fd = R(i).bk = i;             /* empty circular bins */
      R(i).fdn = R(i).bkn = NIL;
      R(i).prevp = R(i).nextp = NIL;
      R(i).state = ST_UNUSED;
   }
   h->nrec = FIRST_CHUNK_REC;
   h->free_rec = NIL;
   h->last_remainder = NO_OFF;
   h->start = ops->arena_start;
   h->born = h->start == 0;             /* the main arena: brk from 0 */
   h->top = h->start;
   h->tc = &h->own_tc;
   ml_gheap_params_init(&h->own_mp);
   h->mp = ops->params ? ops->params : &h->own_mp;
   return h;
}

void ml_gheap_delete(MlGHeap *h)
{
   if (!h)
      return;
   ml_gheap_tcache_drop(&h->own_tc);
   if (h->rec)
      h->ops.free(h->rec);
   h->ops.free(h);
}

uint64_t ml_gheap_malloc_in(MlGHeap *h, uint64_t size, int zeroed,
                            uint32_t *rec, MlGHeap **owner)
{
   MlGHeap *o = h;
   uint64_t off;
   if (size > HUGE_REQUEST)
      off = refused(h, rec);
   else if (zeroed)
      off = give(h, rec, libc_calloc(h, size));
   else {
      uint32_t p = libc_malloc(h, size, &o);
      off = give(o, rec, p);
   }
   if (owner)
      *owner = o;
   return off;
}

uint64_t ml_gheap_malloc(MlGHeap *h, uint64_t size, int zeroed, uint32_t *rec)
{
   return ml_gheap_malloc_in(h, size, zeroed, rec, NULL);
}

void *ml_gheap_ctx(const MlGHeap *h)
{
   return h->ops.ctx;
}

/* _mid_memalign and _int_memalign.  No tcache here: the tcache is not
   even created by memalign. */
uint64_t ml_gheap_memalign(MlGHeap *h, uint64_t align, uint64_t size,
                           uint32_t *rec)
{
   if (align <= 16)
      return ml_gheap_malloc(h, size, 0, rec);
   if (align < MINSIZE)
      align = MINSIZE;
   if (align & (align - 1)) {
      uint64_t a = 32;
      while (a < align)
         a <<= 1;
      align = a;
   }
   if (size > HUGE_REQUEST || align > (HUGE_REQUEST >> 1) + 1
       || req2size(size) + align + MINSIZE > HUGE_REQUEST)
      return refused(h, rec);

   uint64_t nb = req2size(size);
   if (!h->born)                        /* arena_get's request */
      new_heap(h, size + align + MINSIZE);
   uint32_t p = int_malloc(h, req2size(nb + align + MINSIZE),
                           nb + align + MINSIZE);

   if (R(p).state == ST_MAPPED) {
      /* the mapping's start is taken as aligned (it is page-aligned;
         beyond a page its address is unknown): the block starts at the
         first aligned spot that leaves MINSIZE before its chunk */
      uint64_t lead = align - 16;
      if (lead < MINSIZE)
         lead += align;
      R(p).off = lead;
      R(p).size -= lead;
      return give(h, rec, p);
   }

   uint64_t off = R(p).off;
   if ((off + 16) % align != 0) {
      /* give back the leading part, as a chunk of at least MINSIZE */
      uint64_t brk = align_up(off + 16, align) - 16;
      if (brk - off < MINSIZE)
         brk += align;
      uint64_t lead = brk - off;
      uint64_t newsize = R(p).size - lead;
      uint32_t np = new_rec(h, brk, newsize, ST_INUSE);
      link_after(h, p, np);
      w_head(h, brk);
      w_head(h, brk + newsize);          /* set_inuse_bit_at_offset */
      w_head(h, off);                    /* the leader's size */
      R(p).size = lead;
      int_free(h, p);
      p = np;
   }

   /* and the spare room at the end */
   uint64_t csize = R(p).size;
   if (csize > nb + MINSIZE) {
      uint32_t r = new_rec(h, R(p).off + nb, csize - nb, ST_INUSE);
      link_after(h, p, r);
      w_head(h, R(r).off);
      R(p).size = nb;
      w_head(h, R(p).off);
      int_free(h, r);
   }
   return give(h, rec, p);
}

/* Whether p names a live block (in use or mapped; not a bin header). */
static int live(const MlGHeap *h, uint32_t p)
{
   return p >= FIRST_CHUNK_REC && p < h->nrec
          && (R(p).state == ST_INUSE || R(p).state == ST_MAPPED);
}

int ml_gheap_free(MlGHeap *h, uint32_t p)
{
   if (!live(h, p))
      return 0;

   if (R(p).state == ST_MAPPED) {
      /* the dynamic threshold: glibc compares the size field, which
         carries the IS_MMAPPED bit */
      uint64_t field = R(p).size | IS_MMAPPED;
      if (!h->mp->no_dyn_threshold && field > h->mp->mmap_threshold
          && field <= MMAP_THRESHOLD_MAX) {
         h->mp->mmap_threshold = R(p).size;
         h->mp->trim_threshold = 2 * R(p).size;
      }
      h->mp->n_mmaps--;
      drop_rec(h, p);
      return 1;
   }
   maybe_init_tcache(h);
   int_free(h, p);
   return 1;
}

/* _int_realloc of heap chunk p to chunk size nb. */
static uint32_t int_realloc(MlGHeap *h, uint32_t p, uint64_t nb, int *moved)
{
   uint64_t off = R(p).off, oldsize = R(p).size;
   uint64_t next = off + oldsize;
   uint64_t newsize;

   *moved = 0;
   if (oldsize >= nb) {
      newsize = oldsize;                /* big enough: split below */
   } else if (next == h->top && oldsize + h->top_size >= nb + MINSIZE) {
      /* grow into top */
      newsize = oldsize + h->top_size;
      R(p).size = nb;
      h->top = off + nb;
      h->top_size = newsize - nb;
      w_head(h, off);
      w_head(h, h->top);
      return p;
   } else {
      uint32_t n = next != h->top ? R(p).nextp : NIL;
      if (is_binned(h, n) && oldsize + R(n).size >= nb) {
         /* absorb the free next chunk; split below */
         newsize = oldsize + R(n).size;
         unlink_chunk(h, n);
         unlink_phys(h, n);
         drop_rec(h, n);
      } else {
         /* allocate, copy, free -- unless the new chunk is the next one */
         uint32_t np = int_malloc(h, nb, nb - 15);
         if (R(np).state != ST_MAPPED && R(np).off == next) {
            newsize = oldsize + R(np).size;
            unlink_phys(h, np);
            drop_rec(h, np);
         } else {
            if (R(np).state != ST_MAPPED)
               touch(h, R(np).off + 16, R(np).off + 16 + oldsize - SIZE_SZ);
            int_free(h, p);
            *moved = 1;
            return np;
         }
      }
   }

   if (newsize - nb < MINSIZE) {
      R(p).size = newsize;
      w_head(h, off);
      w_head(h, off + newsize);          /* set_inuse_bit_at_offset */
   } else {
      uint32_t r = new_rec(h, off + nb, newsize - nb, ST_INUSE);
      link_after(h, p, r);
      R(p).size = nb;
      w_head(h, off);
      w_head(h, off + nb);
      w_head(h, off + newsize);          /* "so free won't complain" */
      int_free(h, r);
   }
   return p;
}

/* __libc_realloc.  A mapped block is remapped (mremap with MREMAP_MAYMOVE)
   to the pages the new size needs and stays mapped whatever its new
   size; when the page count changes it is reported as moved, since the
   kernel may have moved it (it moves the pages, it does not copy them). */
uint64_t ml_gheap_realloc(MlGHeap *h, uint32_t *rec, uint64_t new_size,
                          int *moved)
{
   *moved = 0;
   uint32_t p = *rec;
   if (!live(h, p))
      return NOT_LIVE;

   if (new_size == 0) {                 /* REALLOC_ZERO_BYTES_FREES */
      ml_gheap_free(h, p);
      *rec = NIL;
      return NOT_LIVE;
   }

   if (R(p).state == ST_MAPPED) {
      if (new_size <= HUGE_REQUEST) {
         uint64_t lead = R(p).off;
         uint64_t total = align_up(req2size(new_size) + lead + SIZE_SZ, PAGE);
         if (total != lead + R(p).size) {
            R(p).size = total - lead;
            *moved = 1;
         }
      }
      return give(h, rec, p);
   }
   if (new_size > HUGE_REQUEST)          /* glibc fails; the block stays */
      return give(h, rec, p);

   maybe_init_tcache(h);
   p = int_realloc(h, p, req2size(new_size), moved);
   return give(h, rec, p);
}

void ml_gheap_prefetch(const MlGHeap *h, uint32_t rec)
{
   if (rec < h->nrec)
      __builtin_prefetch(&h->rec[rec]);
}

uint64_t ml_gheap_offset(const MlGHeap *h, uint32_t rec)
{
   return live(h, rec) ? user_offset(h, rec) : NOT_LIVE;
}

uint64_t ml_gheap_end(const MlGHeap *h)
{
   return h->born ? h->top + h->top_size : 0;
}

uint64_t ml_gheap_mmap_threshold(const MlGHeap *h)
{
   return h->mp->mmap_threshold;
}

/*------------------------------------------------------------*/
/*--- Parameters: mallopt and the tunables                 ---*/
/*------------------------------------------------------------*/

void ml_gheap_params_init(MlGHeapParams *mp)
{
   mp->mmap_threshold = MMAP_THRESHOLD;
   mp->trim_threshold = TRIM_THRESHOLD;
   mp->top_pad = TOP_PAD;
   mp->n_mmaps = 0;
   mp->n_mmaps_max = MMAPS_MAX;
   mp->no_dyn_threshold = 0;
   mp->max_fast = MAX_FAST;
   mp->tcache_count = TCACHE_FILL;
   mp->tcache_bins = TCACHE_BINS;
   mp->arena_max = 0;
   mp->arena_test = ARENA_TEST;
   mp->perturb_byte = 0;
   mp->tcache_unsorted_limit = 0;
}

/* glibc's do_set_* functions, which mallopt and the tunables share:
   1 when the value is taken.  (mallopt's int becomes a size_t in
   those that take one: -1 is SIZE_MAX.) */
static int set_mxfast(MlGHeapParams *mp, uint64_t v)
{
   if (v > MAX_FAST_SIZE)
      return 0;
   /* set_max_fast: 0 leaves no fastbins (MIN_CHUNK_SIZE / 2) */
   mp->max_fast = v == 0 ? MINSIZE / 2 : (v + SIZE_SZ) & ~15ULL;
   return 1;
}

/* (no upper limit in 2.36: a threshold of 4 GiB is taken) */
static int set_mmap_threshold(MlGHeapParams *mp, uint64_t v)
{
   mp->mmap_threshold = v;
   mp->no_dyn_threshold = 1;
   return 1;
}

static int set_tcache_max(MlGHeapParams *mp, uint64_t v)
{
   if (v > TCACHE_SIZE_MAX)
      return 0;
   mp->tcache_bins = tcache_index(req2size(v)) + 1;
   return 1;
}

static int set_tcache_count(MlGHeapParams *mp, uint64_t v)
{
   if (v > TCACHE_COUNT_MAX)
      return 0;
   mp->tcache_count = v;
   return 1;
}

static int set_trim_threshold(MlGHeapParams *mp, uint64_t v)
{
   mp->trim_threshold = v;
   mp->no_dyn_threshold = 1;
   return 1;
}

static int set_top_pad(MlGHeapParams *mp, uint64_t v)
{
   mp->top_pad = v;
   mp->no_dyn_threshold = 1;
   return 1;
}

static int set_mmaps_max(MlGHeapParams *mp, uint64_t v)
{
   mp->n_mmaps_max = (int32_t)v;       /* an int in glibc */
   mp->no_dyn_threshold = 1;
   return 1;
}

static int set_perturb(MlGHeapParams *mp, uint64_t v)
{
   mp->perturb_byte = (int)v;
   return 1;
}

static int set_arena_test(MlGHeapParams *mp, uint64_t v)
{
   mp->arena_test = v;
   return 1;
}

static int set_arena_max(MlGHeapParams *mp, uint64_t v)
{
   mp->arena_max = v;
   return 1;
}

static int set_unsorted_limit(MlGHeapParams *mp, uint64_t v)
{
   mp->tcache_unsorted_limit = v;
   return 1;
}

int ml_gheap_set_param(MlGHeapParams *mp, int param, int value)
{
   uint64_t v = (uint64_t)(int64_t)value;
   switch (param) {
   case ML_M_MXFAST:         return set_mxfast(mp, v);
   case ML_M_TRIM_THRESHOLD: return set_trim_threshold(mp, v);
   case ML_M_TOP_PAD:        return set_top_pad(mp, v);
   case ML_M_MMAP_THRESHOLD: return set_mmap_threshold(mp, v);
   case ML_M_MMAP_MAX:       return set_mmaps_max(mp, v);
   case ML_M_PERTURB:        return set_perturb(mp, v);
   case ML_M_ARENA_TEST:     return value > 0 ? set_arena_test(mp, v) : 1;
   case ML_M_ARENA_MAX:      return value > 0 ? set_arena_max(mp, v) : 1;
   default:                  return 1;   /* M_CHECK_ACTION, ... */
   }
}

/* glibc's _dl_strtoul on a tunable's text: blanks, a sign, then decimal,
   0x hexadecimal or 0 octal digits up to the first other character;
   UINT64_MAX on overflow, 0 without digits; '-' negates (mod 2^64). */
static uint64_t tunable_number(const char *p)
{
   while (*p == ' ' || *p == '\t')
      p++;
   int neg = 0;
   if (*p == '-' || *p == '+')
      neg = *p++ == '-';
   if (*p < '0' || *p > '9')
      return 0;
   unsigned base = 10;
   if (*p == '0') {
      if (p[1] == 'x' || p[1] == 'X') {
         base = 16;
         p += 2;
      } else {
         base = 8;
      }
   }
   uint64_t r = 0;
   for (;; p++) {
      unsigned d;
      if (*p >= '0' && *p <= '9' && (unsigned)(*p - '0') < base)
         d = (unsigned)(*p - '0');
      else if (base == 16 && *p >= 'a' && *p <= 'f')
         d = (unsigned)(*p - 'a') + 10;
      else if (base == 16 && *p >= 'A' && *p <= 'F')
         d = (unsigned)(*p - 'A') + 10;
      else
         break;
      if (r >= (UINT64_MAX - d) / base)
         return UINT64_MAX;
      r = r * base + d;
   }
   return neg ? (uint64_t)0 - r : r;
}

/* The modelled glibc.malloc tunables (dl-tunables.list): type bounds
   (signed for the int32 ones), the alias variable, and, once the
   environment is read, the value each ends with. */
enum { TU_TOP_PAD, TU_PERTURB, TU_MMAP_THRESHOLD, TU_TRIM_THRESHOLD,
       TU_MMAP_MAX, TU_ARENA_MAX, TU_ARENA_TEST, TU_TCACHE_MAX,
       TU_TCACHE_COUNT, TU_TCACHE_UNSORTED_LIMIT, TU_MXFAST, N_TUNABLES };
static const struct {
   const char *name, *alias;
   int is_int32;
   int64_t min, max;                   /* max 0: the type's */
   int (*set)(MlGHeapParams *mp, uint64_t v);   /* mallopt's, glibc's
                                                   TUNABLE_CALLBACK */
} tunable_list[N_TUNABLES] = {
   [TU_TOP_PAD]        = { "top_pad", "MALLOC_TOP_PAD_", 0, 0, 0,
                           set_top_pad },
   [TU_PERTURB]        = { "perturb", "MALLOC_PERTURB_", 1, 0, 0xff,
                           set_perturb },
   [TU_MMAP_THRESHOLD] = { "mmap_threshold", "MALLOC_MMAP_THRESHOLD_", 0, 0,
                           0, set_mmap_threshold },
   [TU_TRIM_THRESHOLD] = { "trim_threshold", "MALLOC_TRIM_THRESHOLD_", 0, 0,
                           0, set_trim_threshold },
   [TU_MMAP_MAX]       = { "mmap_max", "MALLOC_MMAP_MAX_", 1, 0, 0,
                           set_mmaps_max },
   [TU_ARENA_MAX]      = { "arena_max", "MALLOC_ARENA_MAX", 0, 1, 0,
                           set_arena_max },
   [TU_ARENA_TEST]     = { "arena_test", "MALLOC_ARENA_TEST", 0, 1, 0,
                           set_arena_test },
   [TU_TCACHE_MAX]     = { "tcache_max", NULL, 0, 0, 0, set_tcache_max },
   [TU_TCACHE_COUNT]   = { "tcache_count", NULL, 0, 0, 0, set_tcache_count },
   [TU_TCACHE_UNSORTED_LIMIT] = { "tcache_unsorted_limit", NULL, 0, 0, 0,
                                  set_unsorted_limit },
   [TU_MXFAST]         = { "mxfast", NULL, 0, 0, 0, set_mxfast },
};

/* tunable_initialize: the text's number, kept when within the bounds */
static void tunable_take(int t, const char *text, uint64_t *val,
                         unsigned char *set)
{
   uint64_t v = tunable_number(text);
   if (tunable_list[t].is_int32) {
      int64_t s = (int64_t)v;
      int64_t max = tunable_list[t].max ? tunable_list[t].max : INT32_MAX;
      if (s < tunable_list[t].min || s > max)
         return;
   } else if (v < (uint64_t)tunable_list[t].min) {
      return;
   }
   val[t] = v;
   set[t] = 1;
}

static int tunable_index(const char *name, size_t len)
{
   for (int t = 0; t < N_TUNABLES; t++) {
      const char *n = tunable_list[t].name;
      size_t k = 0;
      while (k < len && n[k] && n[k] == name[k])
         k++;
      if (k == len && n[k] == '\0')
         return t;
   }
   return -1;
}

int ml_gheap_tunables(MlGHeapParams *mp,
                      const char *(*getenv)(const char *name))
{
   uint64_t val[N_TUNABLES];
   unsigned char set[N_TUNABLES] = { 0 };
   for (int t = 0; t < N_TUNABLES; t++) {
      const char *v = tunable_list[t].alias ? getenv(tunable_list[t].alias)
                                            : NULL;
      if (v)
         tunable_take(t, v, val, set);
   }
   /* GLIBC_TUNABLES: name=value pairs separated by ':' (a name without
      '=' is skipped); glibc.malloc.NAME for the ones here */
   static const char prefix[] = "glibc.malloc.";
   const char *p = getenv("GLIBC_TUNABLES");
   while (p && *p) {
      size_t len = 0;
      while (p[len] != '=' && p[len] != ':' && p[len] != '\0')
         len++;
      if (p[len] == '\0')
         break;
      if (p[len] == ':') {
         p += len + 1;
         continue;
      }
      const char *name = p, *value = p + len + 1;
      size_t vlen = 0;
      while (value[vlen] != ':' && value[vlen] != '\0')
         vlen++;
      size_t pl = sizeof prefix - 1, k = 0;
      while (k < pl && k < len && name[k] == prefix[k])
         k++;
      int t = k == pl ? tunable_index(name + pl, len - pl) : -1;
      if (t >= 0) {
         char text[32];                 /* the value, cut at 31 chars */
         size_t n = vlen < sizeof text - 1 ? vlen : sizeof text - 1;
         for (size_t i = 0; i < n; i++)
            text[i] = value[i];
         text[n] = '\0';
         tunable_take(t, text, val, set);
      }
      p = value + vlen + (value[vlen] == ':');
   }
   /* ptmalloc_init: each tunable set goes through mallopt's checks */
   int n = 0;
   for (int t = 0; t < N_TUNABLES; t++)
      if (set[t]) {
         tunable_list[t].set(mp, val[t]);
         n++;
      }
   return n;
}

void ml_gheap_use_tcache(MlGHeap *h, MlGTcache *tc)
{
   h->tc = tc;
}

void ml_gheap_init_tcache(MlGHeap *h)
{
   maybe_init_tcache(h);
}

/* Frees chunk p of h as __libc_free does without a tcache. */
static void free_untcached(MlGHeap *h, uint32_t p)
{
   MlGTcache *was = h->tc;
   h->tc = NULL;
   int_free(h, p);
   h->tc = was;
}

/* tcache_thread_shutdown: the entries, bin by bin from each bin's head,
   each into the arena that holds it, then the structure itself, freed
   with the tcache out of the way. */
void ml_gheap_tcache_shutdown(MlGTcache *tc)
{
   if (!tc->on)
      return;
   for (unsigned i = 0; i < TCACHE_BINS; i++)
      while (tc->count[i] > 0) {
         MlGHeap *o;
         uint32_t p = tcache_get(tc, i, &o);
         free_untcached(o, p);
      }
   MlGHeap *h = tc->self_heap;
   if (h && live(h, tc->self))
      free_untcached(h, tc->self);
   ml_gheap_tcache_drop(tc);
}

void ml_gheap_tcache_drop(MlGTcache *tc)
{
   for (unsigned i = 0; i < TCACHE_BINS; i++)
      if (tc->ent[i])
         tc->free(tc->ent[i]);
   unsigned char *b = (unsigned char *)tc;
   for (size_t k = 0; k < sizeof *tc; k++)
      b[k] = 0;
}

void ml_gheap_consolidate(MlGHeap *h)
{
   malloc_consolidate(h);
}

/* mtrim.  glibc walks the unsorted bin and the bins from the one of a
   page's size up (bin_index(4096) = 99), from each bin's last chunk;
   below bin 99 no chunk can hold a whole page past its header. */
int ml_gheap_trim(MlGHeap *h, uint64_t pad, int is_main)
{
   malloc_consolidate(h);
   int done = 0;
   unsigned psindex = bin_index(PAGE);
   for (unsigned i = UNSORTED; i < NBINS; i++) {
      if (i != UNSORTED && i < psindex)
         continue;
      for (uint32_t p = R(i).bk; p != i; p = R(p).bk) {
         uint64_t size = R(p).size;
         if (size <= PAGE - 1 + 48)    /* sizeof (struct malloc_chunk) */
            continue;
         uint64_t aligned = align_up(R(p).off + 48, PAGE);
         size -= aligned - R(p).off;
         if (size > PAGE - 1) {
            if (h->ops.dontneed)
               h->ops.dontneed(h->ops.ctx, aligned,
                               aligned + align_down(size, PAGE));
            done = 1;
         }
      }
   }
   if (is_main)
      done |= systrim(h, pad);
   return done;
}

int ml_gheap_check(const MlGHeap *h)
{
   /* down from the chunk below top: each chunk ends where the one above
      starts, no two binned chunks touch, the lowest starts at 0 */
   uint64_t end = h->top, n = 0;
   uint32_t above = NIL;
   for (uint32_t p = h->last; p != NIL; above = p, p = R(p).prevp) {
      if (p < FIRST_CHUNK_REC || p >= h->nrec || ++n > h->nrec)
         return 1;
      if (R(p).state == ST_UNUSED || R(p).state == ST_MAPPED)
         return 2;
      if (R(p).nextp != above || R(p).off + R(p).size != end)
         return 3;
      if (is_binned(h, p) && is_binned(h, above))
         return 4;
      end = R(p).off;
   }
   if (end != h->start && n != 0)
      return 5;
   /* and no other chunk of the heap */
   uint64_t heap = 0;
   for (uint32_t p = FIRST_CHUNK_REC; p < h->nrec; p++)
      if (R(p).state != ST_UNUSED && R(p).state != ST_MAPPED)
         heap++;
   return heap == n ? 0 : 6;
}
