/* ml_heap.c -- malloc replacement and heap events (ml_heap.h).

   The client's allocations are served by Valgrind's client allocator
   (VG_(cli_malloc)); the size recorded is the size requested, as Massif
   counts with --heap-admin=0.  realloc is a FREE of the old block and an
   ALLOC of the new one at the same stack, so the line that reallocs shows
   the net growth.  The live-block table maps an address to its size and
   allocation stack; blocks announced by a custom allocator have a table
   of their own, since they usually lie inside a malloc'd arena and the
   first one starts at the arena's own address. */
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
static MlMap blocks;             /* addr -> v1 size, v2 alloc stack */
static MlMap cblocks;            /* the same for custom-allocator blocks */

const MlHeapStats *ml_heap_stats(void) { return &stats; }

void ml_heap_reset_stats(void)
{
   ULong peak = ml_heap_cur;
   VG_(memset)(&stats, 0, sizeof stats);
   stats.peak = peak;
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

static void record_alloc(ThreadId tid, Where w, Addr a, SizeT size,
                         Bool custom)
{
   Bool is_new;
   MlMapEnt *e = ml_map_insert(custom ? &cblocks : &blocks, a, &is_new);
   if (!is_new)                       /* MALLOCLIKE over a live block */
      ml_heap_cur -= e->v1;
   e->v1 = size;
   e->v2 = w.stack;
   ml_heap_cur += size;
   stats.n_allocs++;
   stats.bytes_allocated += size;
   stats.n_cut += w.cut;
   if (ml_heap_cur > stats.peak)
      stats.peak = ml_heap_cur;
   ml_out_alloc(tid, w.stack, size, a, custom);
}

/* Writes the FREE of the live block e (found in its table m by the
   caller, no table change since) and removes it. */
static void record_free(ThreadId tid, Where w, MlMap *m, MlMapEnt *e,
                        Bool custom)
{
   Addr a = e->key;
   SizeT size = e->v1;
   ml_map_remove_at(m, e);
   ml_heap_cur -= size;
   stats.n_frees++;
   ml_out_free(tid, w.stack, size, a, custom);
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
   MlMapEnt *e = ml_map_find(&blocks, (Addr)p);
   if (!e)
      return;
   SizeT size = e->v1;
   record_free(tid, where(tid), &blocks, e, False);
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
   MlMapEnt *e = ml_map_find(&blocks, (Addr)p_old);
   if (!e)
      return NULL;                 /* not a block of ours */
   SizeT old_size = e->v1;
   if ((SSizeT)new_size < 0)
      return NULL;
   void *p_new = VG_(cli_malloc)(VG_(clo_alignment), new_size);
   if (!p_new)
      return NULL;
   VG_(memcpy)(p_new, p_old, old_size < new_size ? old_size : new_size);
   Where w = where(tid);
   record_free(tid, w, &blocks, e, False);  /* e: no table change since */
   VG_(cli_free)(p_old);
   record_alloc(tid, w, (Addr)p_new, new_size, False);
   ml_rss_after_heap_op(old_size > new_size ? old_size : new_size);
   return p_new;
}

static SizeT ml_malloc_usable_size(ThreadId tid, void *p)
{
   MlMapEnt *e = ml_map_find(&blocks, (Addr)p);
   return e ? e->v1 : 0;
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
      if ((e = ml_map_find(&cblocks, arg[1])))
         record_free(tid, where(tid), &cblocks, e, True);
      *ret = 0;
      return True;
   case VG_USERREQ__RESIZEINPLACE_BLOCK:
      if ((e = ml_map_find(&cblocks, arg[1]))) {
         Where w = where(tid);
         record_free(tid, w, &cblocks, e, True);
         record_alloc(tid, w, arg[1], arg[3], True);
      }
      *ret = 0;
      return True;
   default:
      return False;
   }
}

void ml_heap_reemit_live(ThreadId tid)
{
   for (Int k = 0; k < 2; k++) {
      MlMap *m = k ? &cblocks : &blocks;
      for (UWord i = 0; i <= m->mask; i++) {
         MlMapEnt *e = &m->ents[i];
         if (e->key != ML_MAP_EMPTY)
            ml_out_alloc(tid, (UInt)e->v2, e->v1, e->key, k == 1);
      }
   }
}

ULong ml_heap_n_live(void) { return blocks.used + cblocks.used; }

void ml_heap_init(void)
{
   ml_map_init(&blocks, "ml.heap.blocks", 14);
   ml_map_init(&cblocks, "ml.heap.cblocks", 6);
}
