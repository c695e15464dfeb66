/* ml_heap.c -- malloc replacement and heap events (ml_heap.h).

   The client's allocations are served by Valgrind's client allocator
   (VG_(cli_malloc)); the size recorded is the size requested, as Massif
   counts with --heap-admin=0.  realloc is a FREE of the old block and an
   ALLOC of the new one at the same stack, so the line that reallocs shows
   the net growth.

   Live blocks.  A hash table keyed by address costs a cache miss per
   malloc and per free once the program has more than a few thousand live
   blocks, which dominated allocation-heavy runs.  So a malloc'd block
   keeps its facts in its own header instead: Valgrind's client arena puts
   an 8-byte low redzone right before every payload, which it sets to NULL
   when the block is handed out and does not read again until the block is
   freed (m_mallocfree.c, mkInuseBlock: the word holds the free-list link
   only while the block is free).  memline stores the block's trace id
   (40 bits) and the requested size (24 bits) there; a block whose size or
   id does not fit is marked so and kept in a small side table.  Whether an
   address is the start of a live block -- free() of a pointer memline
   never handed out must be ignored, not read through -- is one bit per
   16-byte granule in a bitmap allocated per MiB of address space on
   first use, so a check reads a few hot cache lines.  Blocks outside the
   bitmap's 128 GiB, and blocks announced by a custom allocator (which
   usually lie inside a malloc'd arena, the first one at the arena's own
   address), are in hash tables. */
#include "pub_tool_basics.h"
#include "pub_tool_libcbase.h"
#include "pub_tool_libcassert.h"
#include "pub_tool_libcprint.h"
#include "pub_tool_mallocfree.h"
#include "pub_tool_replacemalloc.h"
#include "pub_tool_tooliface.h"
#include "pub_tool_clreq.h"
#include "ml_util.h"
#include "ml_out.h"
#include "ml_stack.h"
#include "ml_heap.h"
#include "ml_rss.h"

ULong ml_heap_cur;

static MlHeapStats stats;
static MlMap blocks;             /* addr -> v1 size, v2 trace id: blocks
                                    the bitmap cannot hold (see below) */
static MlMap cblocks;            /* the same for custom-allocator blocks */

const MlHeapStats *ml_heap_stats(void) { return &stats; }

void ml_heap_reset_stats(void)
{
   ULong peak = ml_heap_cur;
   VG_(memset)(&stats, 0, sizeof stats);
   stats.peak = peak;
}

/*------------------------------------------------------------*/
/*--- Live malloc'd blocks                                 ---*/
/*------------------------------------------------------------*/

#define GRAN_SHIFT  4                       /* VG_MIN_MALLOC_SZB: 16 */
#define BM_SHIFT    20                      /* one bitmap chunk per MiB */
#define BM_LIMIT    (1ULL << 37)            /* 128 GiB: the client space */
#define BM_WORDS    ((1UL << (BM_SHIFT - GRAN_SHIFT)) / 64)
#define SIZE_BITS   24
#define META_BIG    ((1ULL << SIZE_BITS) - 1)  /* size field: see 'blocks' */
#define ID_LIMIT    (1ULL << (64 - SIZE_BITS))

static ULong **bm_dir;                      /* BM_LIMIT >> BM_SHIFT chunks */
static ULong  n_live;                       /* malloc'd blocks, all tables */

static inline ULong *bm_word(Addr a, Bool create)
{
   ULong *c = bm_dir[a >> BM_SHIFT];
   if (!c) {
      if (!create)
         return NULL;
      c = VG_(calloc)("ml.heap.bitmap", BM_WORDS, sizeof(ULong));
      bm_dir[a >> BM_SHIFT] = c;
   }
   return &c[(a & ((1UL << BM_SHIFT) - 1)) >> (GRAN_SHIFT + 6)];
}

static inline ULong bm_bit(Addr a)
{
   return 1ULL << ((a >> GRAN_SHIFT) & 63);
}

/* Can the bitmap hold a block at a? */
static inline Bool in_bitmap(Addr a)
{
   return a < BM_LIMIT && (a & ((1UL << GRAN_SHIFT) - 1)) == 0;
}

/* The block's own header word (the arena's low redzone). */
static inline ULong *meta_of(Addr a)
{
   return (ULong *)(a - sizeof(ULong));
}

/* Whether a block's size and id fit in its header word. */
static inline Bool fits_meta(SizeT size, ULong id)
{
   return size < META_BIG && id < ID_LIMIT;
}

/* Records the facts of a live block (new, or renumbered in a forked
   child). */
static void live_set(Addr a, SizeT size, ULong id)
{
   if (in_bitmap(a)) {
      *bm_word(a, True) |= bm_bit(a);
      Bool fits = fits_meta(size, id);
      *meta_of(a) = (id << SIZE_BITS) | (fits ? (ULong)size : META_BIG);
      if (fits)
         return;
   }
   Bool is_new;
   MlMapEnt *e = ml_map_insert(&blocks, a, &is_new);
   e->v1 = size;
   e->v2 = id;
}

/* Looks a up; True (with its size and id) if it is a live malloc'd
   block. */
static inline Bool live_find(Addr a, SizeT *size, ULong *id)
{
   if (in_bitmap(a)) {
      ULong *w = bm_word(a, False);
      if (!w || !(*w & bm_bit(a)))
         return False;
      ULong m = *meta_of(a);
      if ((m & META_BIG) != META_BIG) {
         *size = (SizeT)(m & META_BIG);
         *id = m >> SIZE_BITS;
         return True;
      }
   }
   MlMapEnt *e = ml_map_find(&blocks, a);
   if (!e)
      return False;
   *size = e->v1;
   *id = e->v2;
   return True;
}

/* Forgets the live block a, whose size and id live_find gave. */
static inline void live_del(Addr a, SizeT size, ULong id)
{
   n_live--;
   if (in_bitmap(a)) {
      *bm_word(a, False) &= ~bm_bit(a);
      if (fits_meta(size, id))
         return;
   }
   ml_map_remove(&blocks, a, NULL);
}

/*------------------------------------------------------------*/
/*--- Recording                                            ---*/
/*------------------------------------------------------------*/

/* Where an event happens: its stack, captured once per client call (a
   realloc's FREE and ALLOC share it). */
typedef struct {
   UInt stack;
   Bool cut;
} Where;

static inline Where where(ThreadId tid)
{
   Where w;
   w.stack = ml_stack_capture(tid, &w.cut);
   return w;
}

static void record_free(ThreadId tid, Where w, SizeT size, ULong id,
                        Bool custom);

static void record_alloc(ThreadId tid, Where w, Addr a, SizeT size,
                         Bool custom)
{
   if (custom) {
      Bool is_new;
      MlMapEnt *e = ml_map_insert(&cblocks, a, &is_new);
      if (!is_new)                    /* MALLOCLIKE over a live block: */
         record_free(tid, w, e->v1, e->v2, True);   /* that one is gone */
      e->v1 = size;
      e->v2 = ml_out_alloc(tid, w.stack, size, True);
   } else {
      n_live++;                       /* fresh from the arena: not live */
      live_set(a, size, ml_out_alloc(tid, w.stack, size, False));
   }
   ml_heap_cur += size;
   stats.n_allocs++;
   stats.bytes_allocated += size;
   stats.n_cut += w.cut;
   if (ml_heap_cur > stats.peak)
      stats.peak = ml_heap_cur;
}

/* Writes the FREE of block id of the given size, which the caller has
   taken (or is about to take) out of its table. */
static void record_free(ThreadId tid, Where w, SizeT size, ULong id,
                        Bool custom)
{
   ml_heap_cur -= size;
   stats.n_frees++;
   ml_out_free(tid, w.stack, size, id, custom);
}

/*------------------------------------------------------------*/
/*--- Replacement entry points                             ---*/
/*------------------------------------------------------------*/

static void *alloc_block(ThreadId tid, SizeT size, SizeT align, Bool zero)
{
   if ((SSizeT)size < 0)
      return NULL;
   void *p = VG_(cli_malloc)(align, size);
   if (!p)
      return NULL;
   if (zero)
      VG_(memset)(p, 0, size);
   record_alloc(tid, where(tid), (Addr)p, size, False);
   ml_rss_after_heap_op(size);
   return p;
}

static void free_block(ThreadId tid, void *p)
{
   if (!p)
      return;
   /* Only blocks we handed out go back to the client allocator. */
   SizeT size;
   ULong id;
   if (!live_find((Addr)p, &size, &id))
      return;
   Where w = where(tid);
   live_del((Addr)p, size, id);
   record_free(tid, w, size, id, False);
   VG_(cli_free)(p);
   ml_rss_after_heap_op(size);
}

static void *ml_malloc(ThreadId tid, SizeT n)
{ return alloc_block(tid, n, VG_(clo_alignment), False); }
static void *ml_builtin_new(ThreadId tid, SizeT n)
{ return alloc_block(tid, n, VG_(clo_alignment), False); }
static void *ml_builtin_new_aligned(ThreadId tid, SizeT n, SizeT al)
{ return alloc_block(tid, n, al, False); }
static void *ml_builtin_vec_new(ThreadId tid, SizeT n)
{ return alloc_block(tid, n, VG_(clo_alignment), False); }
static void *ml_builtin_vec_new_aligned(ThreadId tid, SizeT n, SizeT al)
{ return alloc_block(tid, n, al, False); }
static void *ml_memalign(ThreadId tid, SizeT al, SizeT n)
{ return alloc_block(tid, n, al, False); }

static void *ml_calloc(ThreadId tid, SizeT nmemb, SizeT size1)
{
   if (nmemb && size1 > (SizeT)-1 / nmemb)
      return NULL;
   return alloc_block(tid, nmemb * size1, VG_(clo_alignment), True);
}

static void ml_free(ThreadId tid, void *p) { free_block(tid, p); }
static void ml_builtin_delete(ThreadId tid, void *p) { free_block(tid, p); }
static void ml_builtin_delete_aligned(ThreadId tid, void *p, SizeT al)
{ free_block(tid, p); }
static void ml_builtin_vec_delete(ThreadId tid, void *p) { free_block(tid, p); }
static void ml_builtin_vec_delete_aligned(ThreadId tid, void *p, SizeT al)
{ free_block(tid, p); }

static void *ml_realloc(ThreadId tid, void *p_old, SizeT new_size)
{
   if (!p_old)
      return ml_malloc(tid, new_size);
   if (new_size == 0) {            /* glibc: free and return NULL */
      free_block(tid, p_old);
      return NULL;
   }
   SizeT old_size;
   ULong old_id;
   if (!live_find((Addr)p_old, &old_size, &old_id))
      return NULL;                 /* not a block of ours */
   if ((SSizeT)new_size < 0)
      return NULL;
   void *p_new = VG_(cli_malloc)(VG_(clo_alignment), new_size);
   if (!p_new)
      return NULL;
   VG_(memcpy)(p_new, p_old, old_size < new_size ? old_size : new_size);
   Where w = where(tid);
   live_del((Addr)p_old, old_size, old_id);
   record_free(tid, w, old_size, old_id, False);
   VG_(cli_free)(p_old);
   record_alloc(tid, w, (Addr)p_new, new_size, False);
   ml_rss_after_heap_op(old_size > new_size ? old_size : new_size);
   return p_new;
}

static SizeT ml_malloc_usable_size(ThreadId tid, void *p)
{
   SizeT size;
   ULong id;
   return live_find((Addr)p, &size, &id) ? size : 0;
}

void ml_heap_register_replacements(void)
{
   VG_(needs_malloc_replacement)(ml_malloc,
                                 ml_builtin_new,
                                 ml_builtin_new_aligned,
                                 ml_builtin_vec_new,
                                 ml_builtin_vec_new_aligned,
                                 ml_memalign,
                                 ml_calloc,
                                 ml_free,
                                 ml_builtin_delete,
                                 ml_builtin_delete_aligned,
                                 ml_builtin_vec_delete,
                                 ml_builtin_vec_delete_aligned,
                                 ml_realloc,
                                 ml_malloc_usable_size,
                                 0);
}

/*------------------------------------------------------------*/
/*--- Client requests and fork                             ---*/
/*------------------------------------------------------------*/

Bool ml_heap_client_request(ThreadId tid, UWord *arg, UWord *ret)
{
   MlMapEnt *e;
   switch (arg[0]) {
   case VG_USERREQ__MALLOCLIKE_BLOCK:
      record_alloc(tid, where(tid), arg[1], arg[2], True);
      *ret = 0;
      return True;
   case VG_USERREQ__FREELIKE_BLOCK:
      if ((e = ml_map_find(&cblocks, arg[1]))) {
         SizeT size = e->v1;
         ULong id = e->v2;
         ml_map_remove_at(&cblocks, e);
         record_free(tid, where(tid), size, id, True);
      }
      *ret = 0;
      return True;
   case VG_USERREQ__RESIZEINPLACE_BLOCK:
      if ((e = ml_map_find(&cblocks, arg[1]))) {
         SizeT size = e->v1;
         ULong id = e->v2;
         ml_map_remove_at(&cblocks, e);
         Where w = where(tid);
         record_free(tid, w, size, id, True);
         record_alloc(tid, w, arg[1], arg[3], True);
      }
      *ret = 0;
      return True;
   default:
      return False;
   }
}

ULong ml_heap_reemit_live(ThreadId tid)
{
   /* Each live block gets an ALLOC in the child's trace, and with it the
      id the child's FREEs will use.  Blocks in the bitmap first (those
      in 'blocks' too are renumbered there), then the tables. */
   ULong n = 0;
   for (UWord c = 0; c < (BM_LIMIT >> BM_SHIFT); c++) {
      ULong *words = bm_dir[c];
      if (!words)
         continue;
      for (UWord i = 0; i < BM_WORDS; i++) {
         for (ULong bits = words[i]; bits; bits &= bits - 1) {
            Addr a = ((Addr)c << BM_SHIFT) +
                     (((Addr)i * 64 + __builtin_ctzll(bits)) << GRAN_SHIFT);
            SizeT size;
            ULong id;
            if (live_find(a, &size, &id)) {
               live_set(a, size, ml_out_alloc(tid, 0, size, False));
               n++;
            }
         }
      }
   }
   for (UWord i = 0; i <= blocks.mask; i++) {
      MlMapEnt *e = &blocks.ents[i];
      if (e->key != ML_MAP_EMPTY && !in_bitmap(e->key)) {
         e->v2 = ml_out_alloc(tid, 0, e->v1, False);
         n++;
      }
   }
   for (UWord i = 0; i <= cblocks.mask; i++) {
      MlMapEnt *e = &cblocks.ents[i];
      if (e->key != ML_MAP_EMPTY) {
         e->v2 = ml_out_alloc(tid, 0, e->v1, True);
         n++;
      }
   }
   return n;
}

ULong ml_heap_n_live(void) { return n_live + cblocks.used; }

void ml_heap_init(void)
{
   ml_map_init(&blocks, "ml.heap.blocks", 6);
   ml_map_init(&cblocks, "ml.heap.cblocks", 6);
   bm_dir = VG_(calloc)("ml.heap.bitmap.dir", BM_LIMIT >> BM_SHIFT,
                        sizeof *bm_dir);
}
