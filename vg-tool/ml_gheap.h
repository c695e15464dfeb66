/* ml_gheap.h -- a simulation of where glibc's malloc (2.36, x86-64, one
   arena: the main one or a thread's) puts each block, and which heap
   bytes it writes itself.

   Under Valgrind the program's blocks come from Valgrind's allocator, so
   the resident set of the heap cannot be read off their addresses.  This
   module replays the program's malloc, free, realloc, calloc and memalign
   calls on a model of glibc's allocator -- tcache, fastbins, the unsorted,
   small and large bins, the top chunk grown and trimmed with brk, the
   mmap threshold -- over offsets from the heap's start instead of
   memory, and says (through callbacks) which heap bytes glibc's own code
   writes (chunk headers, free-list links) and where the heap's end
   moves.  Plain C: no libc, no Valgrind calls (memory through the
   callbacks), so that the unit tests can compare it with the real glibc.

   Offsets are those of the user pointers malloc would return, counted
   from the heap's start (the first brk).  The heap's first chunk (offset
   0, user offset 16) is glibc's own tcache structure, which the first
   malloc, calloc, realloc or free creates, so a program's first malloc
   gets offset 672 (0x2a0); only a memalign before any of those can get
   the first chunk.

   Parameters: glibc's defaults unless the caller shares a set of
   MlGHeapParams changed by mallopt or the tunables (ml_gheap_set_param,
   ml_gheap_tunables). */
#ifndef ML_GHEAP_H
#define ML_GHEAP_H

#include <stddef.h>
#include <stdint.h>

/* Returned for a block that glibc would have served with a mapping of its
   own (mmap), outside the heap. */
#define ML_GHEAP_MAPPED (~(uint64_t)0)

typedef struct MlGHeap MlGHeap;

typedef struct {
   void *(*alloc)(size_t n);       /* memory for the model's own tables */
   void  (*free)(void *p);
   /* glibc's code wrote heap bytes [lo, hi) (offsets from the heap's
      start): a chunk header, a free-list link, a boundary tag, the tcache
      structure cleared at its creation, the bytes calloc clears (not
      those beyond the old top: fresh from the kernel), the bytes realloc
      copies into a new heap chunk, and with a perturb byte the blocks
      glibc hands out and the chunks it frees */
   void  (*touch)(void *ctx, uint64_t lo, uint64_t hi);
   /* the heap's end (brk, an offset) moved from old_end to new_end:
      grown by sbrk, or trimmed (the pages at and above new_end, rounded
      up to a page, are given back) */
   void  (*brk)(void *ctx, uint64_t old_end, uint64_t new_end);
   void *ctx;                      /* passed to touch, brk and dontneed */
   /* glibc's malloc_trim gave heap pages [lo, hi) (whole pages, inside a
      free chunk) back with madvise(MADV_DONTNEED); may be NULL */
   void  (*dontneed)(void *ctx, uint64_t lo, uint64_t hi);
   /* the process's malloc parameters (below), shared by its arenas'
      models; NULL: the model keeps its own, glibc's defaults */
   struct MlGHeapParams *params;
   /* 0: the main arena (a heap grown by brk from offset 0); else an
      arena of another thread, whose heap glibc makes at its first
      request with its headers first: the offset of its first chunk,
      ML_GHEAP_ARENA_START on x86-64 */
   uint64_t arena_start;
} MlGHeapOps;

/* Where a thread's arena's first chunk lies in its heap: heap_info and
   malloc_state (2,248 bytes), then 16-byte alignment. */
#define ML_GHEAP_ARENA_START 2256

/* glibc's malloc parameters: one set per process (glibc's mp_,
   global_max_fast and the tcache settings), which mallopt and the
   glibc.malloc tunables (GLIBC_TUNABLES, MALLOC_*_ variables) change.
   Sizes in bytes. */
typedef struct MlGHeapParams {
   uint64_t mmap_threshold;        /* 128 KiB, raised by frees of mapped */
   uint64_t trim_threshold;        /*   chunks unless no_dyn_threshold */
   uint64_t top_pad;               /* 128 KiB */
   int64_t  n_mmaps, n_mmaps_max;  /* live mappings; at most 65536 */
   int      no_dyn_threshold;      /* a threshold, the top pad or the
                                      mapping limit was set: the mmap
                                      threshold no longer moves */
   uint64_t max_fast;              /* fastbin chunks up to (128) */
   uint64_t tcache_count;          /* chunks per tcache bin (7) */
   uint64_t tcache_bins;           /* tcache bins used (64) */
   uint64_t arena_max, arena_test; /* 0 (unset), 8 */
   int      perturb_byte;          /* 0: none; else glibc fills blocks */
   uint64_t tcache_unsorted_limit; /* 0: none */
} MlGHeapParams;

/* mallopt's parameter numbers (malloc.h) */
#define ML_M_MXFAST          1
#define ML_M_TRIM_THRESHOLD (-1)
#define ML_M_TOP_PAD        (-2)
#define ML_M_MMAP_THRESHOLD (-3)
#define ML_M_MMAP_MAX       (-4)
#define ML_M_CHECK_ACTION   (-5)
#define ML_M_PERTURB        (-6)
#define ML_M_ARENA_TEST     (-7)
#define ML_M_ARENA_MAX      (-8)

/* glibc's defaults */
void ml_gheap_params_init(MlGHeapParams *mp);
/* The parameter part of mallopt(param, value): glibc's result, 1 when
   set (unknown parameters too), 0 when refused.  glibc consolidates the
   main arena's fastbins first: ml_gheap_consolidate. */
int  ml_gheap_set_param(MlGHeapParams *mp, int param, int value);
/* The glibc.malloc tunables of the environment, applied as glibc's
   start-up does: GLIBC_TUNABLES ("glibc.malloc.top_pad=0:...") and the
   older variables MALLOC_TOP_PAD_, MALLOC_TRIM_THRESHOLD_,
   MALLOC_MMAP_THRESHOLD_, MALLOC_MMAP_MAX_, MALLOC_ARENA_MAX,
   MALLOC_ARENA_TEST and MALLOC_PERTURB_ (GLIBC_TUNABLES wins), each value checked against
   the tunable's bounds, then against mallopt's; getenv(name) gives a
   variable's value or NULL.  Not modelled (ignored): check, hugetlb.  Returns how many tunables were read
   (values within their bounds; mallopt's checks may still refuse). */
int  ml_gheap_tunables(MlGHeapParams *mp,
                       const char *(*getenv)(const char *name));

/* A thread's tcache.  glibc gives each thread one, made in the thread's
   arena at its first malloc, calloc, realloc or free, which holds the
   chunks the thread frees whichever arena holds them, and empties each
   into its arena when the thread ends.  A model has one of its own, used
   until ml_gheap_use_tcache names another.  Zeroed before its first
   use; ml_gheap_tcache_drop gives its memory back. */
typedef struct MlGTcEntry {
   struct MlGHeap *heap;           /* the arena that holds the chunk */
   uint32_t rec;                   /* its record there */
} MlGTcEntry;
typedef struct {
   MlGTcEntry *ent[64];            /* each bin's chunks, the newest last */
   uint32_t count[64], cap[64];
   void (*free)(void *p);          /* for ent */
   struct MlGHeap *self_heap;      /* the arena of its own chunk */
   uint32_t self;                  /* that chunk's record */
   int      on;                    /* made */
} MlGTcache;

MlGHeap *ml_gheap_new(const MlGHeapOps *ops);
void     ml_gheap_delete(MlGHeap *h);

/* Blocks are named by handles: a live block's record in the model, never
   0, given back by the call that allocates it; the caller keeps it with
   the block and passes it to the calls below.  A handle is live from the
   block's allocation to its free or realloc. */

/* malloc(size) (calloc when zeroed: glibc's calloc does not use the
   tcache): the block's offset, or ML_GHEAP_MAPPED; *rec its handle. */
uint64_t ml_gheap_malloc(MlGHeap *h, uint64_t size, int zeroed, uint32_t *rec);
/* malloc or calloc in the arena h of the calling thread, whose tcache
   may serve a chunk of another arena: that arena's model in *owner, and
   the offset and handle (*rec) are the owner's. */
uint64_t ml_gheap_malloc_in(MlGHeap *h, uint64_t size, int zeroed,
                            uint32_t *rec, MlGHeap **owner);
/* The ctx of the model's ops (the caller's name for the arena). */
void    *ml_gheap_ctx(const MlGHeap *h);
/* memalign / posix_memalign / aligned_alloc (align a power of two) */
uint64_t ml_gheap_memalign(MlGHeap *h, uint64_t align, uint64_t size,
                           uint32_t *rec);
/* free of live block rec (a mapped block too: it moves the mmap
   threshold as glibc's free does); 0 (and nothing done) when rec is not
   a live handle */
int      ml_gheap_free(MlGHeap *h, uint32_t rec);
/* realloc of live block *rec to new_size; *rec becomes the block's new
   handle (it may stay the same).  Returns its offset (or
   ML_GHEAP_MAPPED); *moved is 1 when glibc copied the data to a new
   chunk (then the old chunk was freed), 0 when it stayed in place.  A
   mapped block stays mapped whatever its new size (glibc mremaps it):
   *moved is 1 when its page count changes, since the kernel may move it
   then (moving its pages, not copying them).  new_size 0 frees the block,
   as glibc's realloc does, sets *rec to 0 and returns ~1 (as does a
   handle that is not live, which changes nothing). */
uint64_t ml_gheap_realloc(MlGHeap *h, uint32_t *rec, uint64_t new_size,
                          int *moved);
/* The offset of live block rec (ML_GHEAP_MAPPED for a mapped one), or
   ~1 when rec is not a live handle. */
uint64_t ml_gheap_offset(const MlGHeap *h, uint32_t rec);
/* A hint: block rec will be freed or looked up soon (its record is
   fetched into the cache meanwhile). */
void     ml_gheap_prefetch(const MlGHeap *h, uint32_t rec);
/* malloc_consolidate: the fastbins' chunks merged with their free
   neighbours (mallopt does it to the main arena before any change). */
void     ml_gheap_consolidate(MlGHeap *h);
/* malloc_trim's work in one arena (mtrim): consolidate, then give back
   (dontneed) the whole pages inside every free chunk of the unsorted and
   large bins that holds one, and in the main arena (is_main) trim top
   down to pad beyond what it needs.  Returns 1 when anything was given
   back. */
int      ml_gheap_trim(MlGHeap *h, uint64_t pad, int is_main);
/* The following calls on h run in the thread whose tcache is tc, or
   with no tcache (NULL). */
void     ml_gheap_use_tcache(MlGHeap *h, MlGTcache *tc);
/* MAYBE_INIT_TCACHE: the current tcache made in h if it is not yet. */
void     ml_gheap_init_tcache(MlGHeap *h);
/* The thread of tcache tc ended: its chunks are freed, each into the
   arena that holds it, then its own chunk (tcache_thread_shutdown); tc
   is zeroed. */
void     ml_gheap_tcache_shutdown(MlGTcache *tc);
/* The thread of tcache tc is gone without ending (a forked child's other
   threads): its chunks stay in use where they are; tc is zeroed. */
void     ml_gheap_tcache_drop(MlGTcache *tc);
/* The heap's current end (brk), as an offset. */
uint64_t ml_gheap_end(const MlGHeap *h);
/* glibc's current mmap threshold (128 KiB at start, raised by frees of
   mapped chunks up to 32 MiB). */
uint64_t ml_gheap_mmap_threshold(const MlGHeap *h);

/* Consistency of the model's own structures, for tests: 0 when the heap
   below top is a sequence of chunks from offset 0, each linked to its
   neighbours, with no two free (binned) chunks side by side; otherwise
   a code saying which rule failed. */
int      ml_gheap_check(const MlGHeap *h);

#endif
