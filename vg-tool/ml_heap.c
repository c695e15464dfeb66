/* ml_heap.c -- malloc replacement and heap events (ml_heap.h).

   The client's allocations are served by Valgrind's client allocator
   (VG_(cli_malloc)), or with --rss=no small ones by size classes of
   memline's own ("Size classes"); the size recorded is the size
   requested, as Massif counts with --heap-admin=0.  The replacement
   functions are called from translated code, not through the scheduler
   ("Allocator calls without a trip through the scheduler").  realloc is
   a FREE of the old block and an ALLOC of the new one at the same stack,
   so the line that reallocs shows the net growth.

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
   address), are in hash tables.

   The RSS model's word.  With the simulated glibc heap (--rss-heap=glibc)
   the RSS model names each block's record in its simulation by a word
   kept with the block (ml_heap_model_word): the 8 bytes before the
   header word.  For that the client arena's low redzone is widened from
   8 to 24 bytes (--redzone-size; 16 would be rounded up to 24 so that
   payloads stay 16-aligned: the first word is the arena's free-list link,
   the last two are memline's) and a size-class slot's header from 8 to
   16 bytes.  A hash table from addresses to records, which the model
   kept before, cost two random probes per block: a fourteenth of an
   allocation-heavy run.  (Given --redzone-size below 24, or if the arena
   was set up before memline could widen it, the words go in a hash table
   here instead.) */
#include "pub_tool_basics.h"
#include "pub_tool_libcbase.h"
#include "pub_tool_libcassert.h"
#include "pub_tool_libcprint.h"
#include "pub_tool_mallocfree.h"
#include "pub_tool_replacemalloc.h"
#include "pub_tool_tooliface.h"
#include "pub_tool_clreq.h"
#include "pub_tool_options.h"
#include "pub_tool_machine.h"
#include "pub_tool_threadstate.h"
#include "libvex_guest_amd64.h"
#include "ml_util.h"
#include "ml_out.h"
#include "ml_stack.h"
#include "ml_heap.h"
#include "ml_clock.h"
#include "ml_rss.h"

ULong ml_heap_cur;

static MlHeapStats stats;
static MlMap blocks;             /* addr -> v1 size, v2 trace id: blocks
                                    the bitmap cannot hold (see below) */
static MlMap cblocks;            /* the same for custom-allocator blocks */
static Bool  gheap_on;           /* the RSS model simulates glibc's heap:
                                    it asks which block holds an address
                                    and keeps a word per block */
static Bool  wide_header;        /* ... 16 bytes before it (else: mwords) */
static MlMap mwords;             /* addr -> v1 the model's word */
static SizeT hdr_bytes = 8;      /* a size-class slot's header */

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
#define META_SMALL  (1ULL << SIZE_BITS)        /* a block of a size class */
#define ID_SHIFT    (SIZE_BITS + 1)
#define ID_LIMIT    (1ULL << (64 - ID_SHIFT))
#define MAP_SMALL   (1ULL << 63)               /* the same in 'blocks' v2 */

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

/* The block's own header word (the arena's low redzone, or the last
   word of the size-class slot before it). */
static inline ULong *meta_of(Addr a)
{
   return (ULong *)(a - sizeof(ULong));
}

/* Whether a block's size and id fit in its header word. */
static inline Bool fits_meta(SizeT size, ULong id)
{
   return size < META_BIG && id < ID_LIMIT;
}

/* What memline knows of a live malloc'd block. */
typedef struct {
   SizeT size;                    /* as requested */
   ULong id;                      /* its trace id */
   Bool  small;                   /* in a size class (below), else arena */
} Block;

/* Which block holds an address (ml_heap_block_at, for the RSS model's
   simulated glibc heap).  A block that starts at most 64 KiB before the
   address is found in the bitmap, the nearest start at or below it; a
   block of 64 KiB or more is also registered in 'regions' under each
   64 KiB region whose first byte it covers, which finds it from anywhere
   past its first region.  Kept only when the RSS model asks (gheap_on). */
#define REGION_SHIFT 16
static MlMap regions;                 /* region -> start of its block */

static void regions_add(Addr a, SizeT size)
{
   if (!gheap_on || size < (1UL << REGION_SHIFT))
      return;
   Bool is_new;
   for (Addr r = (a + (1UL << REGION_SHIFT) - 1) >> REGION_SHIFT;
        r <= (a + size - 1) >> REGION_SHIFT; r++)
      ml_map_insert(&regions, r, &is_new)->v1 = a;
}

static void regions_del(Addr a, SizeT size)
{
   if (!gheap_on || size < (1UL << REGION_SHIFT))
      return;
   for (Addr r = (a + (1UL << REGION_SHIFT) - 1) >> REGION_SHIFT;
        r <= (a + size - 1) >> REGION_SHIFT; r++) {
      MlMapEnt *e = ml_map_find(&regions, r);
      if (e && e->v1 == a)
         ml_map_remove_at(&regions, e);
   }
}

/* Records the facts of a live block (new, or renumbered in a forked
   child). */
static void live_set(Addr a, Block b)
{
   regions_add(a, b.size);
   if (in_bitmap(a)) {
      *bm_word(a, True) |= bm_bit(a);
      Bool fits = fits_meta(b.size, b.id);
      *meta_of(a) = (b.id << ID_SHIFT) | (b.small ? META_SMALL : 0) |
                    (fits ? (ULong)b.size : META_BIG);
      if (fits)
         return;
   }
   Bool is_new;
   MlMapEnt *e = ml_map_insert(&blocks, a, &is_new);
   e->v1 = b.size;
   e->v2 = b.id | (b.small ? MAP_SMALL : 0);
}

/* Looks a up; True (with its facts) if it is a live malloc'd block. */
static inline Bool live_find(Addr a, Block *b)
{
   if (in_bitmap(a)) {
      ULong *w = bm_word(a, False);
      if (!w || !(*w & bm_bit(a)))
         return False;
      ULong m = *meta_of(a);
      if ((m & META_BIG) != META_BIG) {
         b->size = (SizeT)(m & META_BIG);
         b->id = m >> ID_SHIFT;
         b->small = (m & META_SMALL) != 0;
         return True;
      }
   }
   MlMapEnt *e = ml_map_find(&blocks, a);
   if (!e)
      return False;
   b->size = e->v1;
   b->id = e->v2 & ~MAP_SMALL;
   b->small = (e->v2 & MAP_SMALL) != 0;
   return True;
}

/* Forgets the live block a, whose facts live_find gave. */
static inline void live_del(Addr a, Block b)
{
   n_live--;
   regions_del(a, b.size);
   if (gheap_on && !wide_header)
      ml_map_remove(&mwords, a, NULL);
   if (in_bitmap(a)) {
      *bm_word(a, False) &= ~bm_bit(a);
      if (fits_meta(b.size, b.id))
         return;
   }
   ml_map_remove(&blocks, a, NULL);
}

ULong *ml_heap_model_word(Addr p)
{
   if (wide_header)
      return (ULong *)(p - 16);
   Bool is_new;
   MlMapEnt *e = ml_map_insert(&mwords, p, &is_new);
   if (is_new)
      e->v1 = 0;
   return (ULong *)&e->v1;          /* UWord: 64 bits on the platforms
                                       memline builds for */
}

/* The model's word of live block p, read before the block goes back to
   the allocator (which may unmap it at once). */
static inline ULong model_word_of(Addr p)
{
   if (!gheap_on)
      return 0;
   if (wide_header)
      return *(ULong *)(p - 16);
   MlMapEnt *e = ml_map_find(&mwords, p);
   return e ? e->v1 : 0;
}

Bool ml_heap_block_at(Addr x, Addr *start, SizeT *size)
{
   Addr lo = x > (1UL << REGION_SHIFT) ? x - (1UL << REGION_SHIFT) : 0;
   Addr g = x & ~(Addr)((1UL << GRAN_SHIFT) - 1), cand = 0;
   Bool found = False;
   while (g >= lo && g < BM_LIMIT) {
      ULong *w = bm_word(g, False);
      Addr word_base = g & ~(Addr)((64UL << GRAN_SHIFT) - 1);
      if (w) {
         UInt bit = (g >> GRAN_SHIFT) & 63;
         ULong bits = *w & (bit == 63 ? ~0ULL : (2ULL << bit) - 1);
         if (bits) {
            cand = word_base + ((Addr)(63 - __builtin_clzll(bits)) << GRAN_SHIFT);
            found = True;
            break;
         }
      }
      if (word_base == 0)
         break;
      g = word_base - (1UL << GRAN_SHIFT);
   }
   Block b;
   if (found) {
      /* The nearest start at or below x: blocks do not overlap, so if it
         does not hold x, none does. */
      if (cand >= lo && live_find(cand, &b) && x < cand + (b.size ? b.size : 1)) {
         *start = cand;
         *size = b.size;
         return True;
      }
      if (cand >= lo)
         return False;
   }
   MlMapEnt *e = gheap_on ? ml_map_find(&regions, x >> REGION_SHIFT) : NULL;
   if (e && live_find(e->v1, &b) && x >= e->v1 && x < e->v1 + b.size) {
      *start = e->v1;
      *size = b.size;
      return True;
   }
   return False;
}

/*------------------------------------------------------------*/
/*--- Size classes                                         ---*/
/*------------------------------------------------------------*/

/* Valgrind's client allocator coalesces every freed block with its free
   neighbours and keeps exact-fit free lists: on allocation-heavy programs
   it was a fifth of heap-only run time.  With --rss=no (where no number
   depends on where blocks lie), requests of up to SMALL_MAX bytes with
   the default alignment are instead served from size classes,
   as glibc's tcache and fast bins serve them: a slot is the request plus
   an 8-byte header (16 with the RSS model's word), rounded up to 16
   bytes, at least 32 (glibc's chunk
   size for the same request, so the client's resident memory keeps its
   native shape); freed slots go on a LIFO list of their class and are
   reused only by that class; new slots are cut from 4 MiB chunks taken
   from the client allocator and never given back.  A request of 4 MiB
   is above the client arena's superblock size, so each chunk is a
   mapping of its own and the arena's superblocks hold exactly the blocks
   they held before (which superblock empties, and when Valgrind unmaps
   it, is part of the RSS model: samples/rss_reclaim.c).  The header word is
   the one the block's facts live in (above); a free slot's first word
   links it to the next free slot of its class. */
#define SMALL_MAX    1016
#define SLOT_MIN     32
#define N_CLASSES    ((SMALL_MAX + 16 + 15) / 16 + 1)
#define SLAB_BYTES   (4UL << 20)

static Bool  small_on;                 /* default alignment: classes in use */
static Addr  free_slot[N_CLASSES];     /* LIFO list heads */
static Addr  slab_next, slab_end;      /* the chunk slots are cut from */

static inline SizeT slot_size(SizeT n)
{
   SizeT c = (n + hdr_bytes + 15) & ~(SizeT)15;
   return c < SLOT_MIN ? SLOT_MIN : c;
}

/* A slot for n <= SMALL_MAX bytes, or NULL when the client allocator has
   no chunk to give. */
static inline void *small_alloc(SizeT n)
{
   SizeT c = slot_size(n);
   Addr *head = &free_slot[c >> 4];
   Addr p = *head;
   if (p) {
      *head = *(Addr *)p;
      return (void *)p;
   }
   if (slab_next + c > slab_end) {
      /* The first payload 16 bytes into the chunk: its header word is the
         chunk's own, not the arena's redzone before it. */
      Addr chunk = (Addr)VG_(cli_malloc)(16, SLAB_BYTES);
      if (!chunk)
         return NULL;
      if (!in_bitmap(chunk) || chunk + SLAB_BYTES > BM_LIMIT) {
         VG_(cli_free)((void *)chunk);    /* slots must be in the bitmap */
         small_on = False;
         return NULL;
      }
      slab_next = chunk + 16;
      slab_end = chunk + SLAB_BYTES - 8;
   }
   p = slab_next;
   slab_next += c;
   return (void *)p;
}

static inline void small_free(Addr p, SizeT n)
{
   Addr *head = &free_slot[slot_size(n) >> 4];
   *(Addr *)p = *head;
   *head = p;
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
                         Bool custom, Bool small)
{
   if (custom) {
      Bool is_new;
      MlMapEnt *e = ml_map_insert(&cblocks, a, &is_new);
      if (!is_new)                    /* MALLOCLIKE over a live block: */
         record_free(tid, w, e->v1, e->v2, True);   /* that one is gone */
      e->v1 = size;
      e->v2 = ml_out_alloc(tid, w.stack, size, True);
   } else {
      n_live++;                       /* fresh: not live yet */
      Block b = { size, ml_out_alloc(tid, w.stack, size, False), small };
      live_set(a, b);
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

/* Memory for a new block: a size-class slot when it can be one. */
static inline void *get_block(SizeT size, SizeT align, Bool *small)
{
   if (small_on && size <= SMALL_MAX && align <= 16) {
      void *p = small_alloc(size);
      if (p) {
         *small = True;
         return p;
      }
   }
   *small = False;
   return VG_(cli_malloc)(align, size);
}

static inline void put_block(void *p, Block b)
{
   if (b.small)
      small_free((Addr)p, b.size);
   else
      VG_(cli_free)(p);
}

static void *alloc_block(ThreadId tid, SizeT size, SizeT align, Bool zero)
{
   if ((SSizeT)size < 0)
      return NULL;
   Bool small;
   void *p = get_block(size, align, &small);
   if (!p)
      return NULL;
   if (zero)
      VG_(memset)(p, 0, size);
   record_alloc(tid, where(tid), (Addr)p, size, False, small);
   ml_rss_block_alloc((Addr)p, size, align, zero);
   ml_rss_after_heap_op(size);
   return p;
}

static void free_block(ThreadId tid, void *p)
{
   if (!p)
      return;
   /* Only blocks we handed out go back to the client allocator. */
   Block b;
   if (!live_find((Addr)p, &b))
      return;
   ULong mw = model_word_of((Addr)p);
   ml_rss_block_soon(mw);             /* while the stack is taken */
   Where w = where(tid);
   live_del((Addr)p, b);
   record_free(tid, w, b.size, b.id, False);
   put_block(p, b);
   ml_rss_block_free((Addr)p, b.size, mw);
   ml_rss_after_heap_op(b.size);
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
   Block old;
   if (!live_find((Addr)p_old, &old))
      return NULL;                 /* not a block of ours */
   if ((SSizeT)new_size < 0)
      return NULL;
   ULong mw = model_word_of((Addr)p_old);
   ml_rss_block_soon(mw);
   Where w = where(tid);
   if (old.small && new_size <= SMALL_MAX &&
       slot_size(new_size) == slot_size(old.size)) {
      /* The slot fits the new size: the block stays where it is, as
         glibc's realloc keeps a chunk that fits.  Still a FREE and an
         ALLOC for the trace. */
      live_del((Addr)p_old, old);
      record_free(tid, w, old.size, old.id, False);
      record_alloc(tid, w, (Addr)p_old, new_size, False, True);
      ml_rss_block_realloc((Addr)p_old, old.size, mw, (Addr)p_old, new_size);
      return p_old;
   }
   Bool small;
   void *p_new = get_block(new_size, VG_(clo_alignment), &small);
   if (!p_new)
      return NULL;
   VG_(memcpy)(p_new, p_old, old.size < new_size ? old.size : new_size);
   live_del((Addr)p_old, old);
   record_free(tid, w, old.size, old.id, False);
   put_block(p_old, old);
   record_alloc(tid, w, (Addr)p_new, new_size, False, small);
   ml_rss_block_realloc((Addr)p_old, old.size, mw, (Addr)p_new, new_size);
   ml_rss_after_heap_op(old.size > new_size ? old.size : new_size);
   return p_new;
}

/* The room the block really has, as glibc's answers: a program may use
   it (a string grown into its slack) or size its next request by it.  A
   block of Valgrind's client arena has what that arena gives it, which
   is Massif's answer (the size asked for rounded up to 16, or more where
   the arena handed out a whole free block).  A size-class slot has its
   slot less the header: with the simulated glibc heap (a 16-byte header)
   the size rounded up to 16, Massif's answer again, so in default mode a
   program that sizes its requests by the answers allocates as under
   Massif (so with --rss-heap=valgrind, which takes every block from the
   arena); with --rss=no (an 8-byte header) the size plus 8 rounded up to
   16, at least 32, less 8: glibc's own answer.
   A block of 0 bytes has no room, as under Massif.  (Memcheck answers
   the size asked for, to report accesses past it; memline has no such
   reports to make.) */
static SizeT ml_malloc_usable_size(ThreadId tid, void *p)
{
   Block b;
   if (!live_find((Addr)p, &b) || b.size == 0)
      return 0;
   if (b.small)
      return slot_size(b.size) - hdr_bytes;
   return VG_(cli_malloc_usable_size)(p);
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
/*--- Allocator calls without a trip through the scheduler ---*/
/*------------------------------------------------------------*/

/* The replacement malloc in the client (Valgrind's vg_replace_malloc.c)
   reaches the functions above with a client request,
   VALGRIND_NON_SIMD_CALLn(fn, args): RAX points to the request's words
   {VG_USERREQ__CLIENT_CALLn, fn, arg...}, and the result comes back in
   RDX.  The superblock ends with jump kind Ijk_ClientReq, so the
   translated code returns to the scheduler, which calls fn and re-enters
   translated code: on allocation-heavy programs that round trip cost as
   much as the allocator itself.  memline's instrumentation instead calls
   ml_heap_fast_call at the end of such a superblock; when the request is
   a CLIENT_CALL of one of the functions above, it makes the call just as
   the scheduler would (same thread, same guest registers: RIP is set to
   the address after the request first), puts the result in RDX and the
   superblock continues at that address.  Any other request takes the
   ordinary path. */
static Bool is_heap_fn(UWord f)
{
   return f == (UWord)ml_malloc || f == (UWord)ml_free ||
          f == (UWord)ml_realloc || f == (UWord)ml_calloc ||
          f == (UWord)ml_builtin_new || f == (UWord)ml_builtin_delete ||
          f == (UWord)ml_builtin_vec_new ||
          f == (UWord)ml_builtin_vec_delete ||
          f == (UWord)ml_builtin_new_aligned ||
          f == (UWord)ml_builtin_delete_aligned ||
          f == (UWord)ml_builtin_vec_new_aligned ||
          f == (UWord)ml_builtin_vec_delete_aligned ||
          f == (UWord)ml_memalign || f == (UWord)ml_malloc_usable_size;
}

static UWord ml_heap_fast_call(VexGuestAMD64State *gs, UWord *arg)
{
   UWord res;
   if (arg[0] < VG_USERREQ__CLIENT_CALL1 ||
       arg[0] > VG_USERREQ__CLIENT_CALL3 || !is_heap_fn(arg[1]))
      return 0;
   ThreadId tid = VG_(get_running_tid)();
   ml_clock_note_gs(gs);
   switch (arg[0]) {
   case VG_USERREQ__CLIENT_CALL1:
      res = ((UWord (*)(ThreadId, UWord))arg[1])(tid, arg[2]);
      break;
   case VG_USERREQ__CLIENT_CALL2:
      res = ((UWord (*)(ThreadId, UWord, UWord))arg[1])(tid, arg[2],
                                                         arg[3]);
      break;
   default:
      res = ((UWord (*)(ThreadId, UWord, UWord, UWord))arg[1])(
                tid, arg[2], arg[3], arg[4]);
      break;
   }
   gs->guest_RDX = res;
   return 1;
}

void ml_heap_instrument_end(IRSB *sb, const VexGuestLayout *layout)
{
   if (sb->jumpkind != Ijk_ClientReq || sb->next->tag != Iex_Const ||
       sb->next->Iex.Const.con->tag != Ico_U64)
      return;
   IRConst *next = sb->next->Iex.Const.con;
   addStmtToIRSB(sb, IRStmt_Put(layout->offset_IP, IRExpr_Const(next)));
   IRTemp args = newIRTemp(sb->tyenv, Ity_I64);
   addStmtToIRSB(sb, IRStmt_WrTmp(args, IRExpr_Get(
                 offsetof(VexGuestAMD64State, guest_RAX), Ity_I64)));
   IRTemp done = newIRTemp(sb->tyenv, Ity_I64);
   IRDirty *di = unsafeIRDirty_1_N(
      done, 0, "ml_heap_fast_call",
      VG_(fnptr_to_fnentry)((void *)&ml_heap_fast_call),
      mkIRExprVec_2(IRExpr_GSPTR(), IRExpr_RdTmp(args)));
   /* The call takes a stack trace (SP, IP, BP), writes RDX, and reads and
      writes client memory (the request's words, the blocks). */
   ml_stack_dirty_reads(di, layout);
   tl_assert(di->nFxState < VEX_N_FXSTATE);
   __typeof__(di->fxState[0]) *rdx = &di->fxState[di->nFxState++];
   rdx->fx = Ifx_Modify;
   rdx->offset = offsetof(VexGuestAMD64State, guest_RDX);
   rdx->size = 8;
   di->mFx = Ifx_Modify;
   di->mAddr = IRExpr_RdTmp(args);
   di->mSize = 6 * sizeof(UWord);
   addStmtToIRSB(sb, IRStmt_Dirty(di));
   IRTemp taken = newIRTemp(sb->tyenv, Ity_I1);
   addStmtToIRSB(sb, IRStmt_WrTmp(taken, IRExpr_Binop(Iop_CmpNE64,
                 IRExpr_RdTmp(done), IRExpr_Const(IRConst_U64(0)))));
   addStmtToIRSB(sb, IRStmt_Exit(IRExpr_RdTmp(taken), Ijk_Boring, next,
                                 layout->offset_IP));
}

/*------------------------------------------------------------*/
/*--- Client requests and fork                             ---*/
/*------------------------------------------------------------*/

Bool ml_heap_client_request(ThreadId tid, UWord *arg, UWord *ret)
{
   MlMapEnt *e;
   switch (arg[0]) {
   case VG_USERREQ__MALLOCLIKE_BLOCK:
      record_alloc(tid, where(tid), arg[1], arg[2], True, False);
      *ret = 0;
      return True;
   case VG_USERREQ__FREELIKE_BLOCK:
   case VG_USERREQ__RESIZEINPLACE_BLOCK:
      if ((e = ml_map_find(&cblocks, arg[1]))) {
         SizeT size = e->v1;
         ULong id = e->v2;
         ml_map_remove_at(&cblocks, e);
         Where w = where(tid);
         record_free(tid, w, size, id, True);
         if (arg[0] == VG_USERREQ__RESIZEINPLACE_BLOCK)
            record_alloc(tid, w, arg[1], arg[3], True, False);
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
            Block b;
            if (live_find(a, &b)) {
               b.id = ml_out_alloc(tid, 0, b.size, False);
               live_set(a, b);
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
   /* Size classes shape the client's resident memory unlike glibc's
      coalescing heap (a program whose phases use different sizes keeps
      each phase's slots): with the RSS model on, the arena serves all --
      unless the model takes the heap's pages from its simulation of
      glibc's heap (--rss-heap=glibc), where no number depends on where
      Valgrind puts a block; it asks which block holds an address. */
   small_on = VG_(clo_alignment) == 16 &&
              (!ml_rss_enabled() || ml_rss_glibc_heap());
   gheap_on = ml_rss_glibc_heap();
   ml_map_init(&regions, "ml.heap.regions", 6);
   /* The RSS model's word per block (above, "The RSS model's word"):
      a client redzone of 24 bytes unless the user chose one. */
   if (gheap_on) {
      if (VG_(clo_redzone_size) == -1)       /* not given */
         VG_(clo_redzone_size) = 24;
      wide_header = VG_(malloc_effective_client_redzone_size)() >= 24;
      if (wide_header) {
         hdr_bytes = 16;
      } else {
         ml_map_init(&mwords, "ml.heap.mwords", 6);
         if (VG_(clo_verbosity) > 1)
            VG_(umsg)("memline: the client arena's redzone is %lu bytes: "
                      "the RSS model's words are kept in a table\n",
                      VG_(malloc_effective_client_redzone_size)());
      }
   }
}
