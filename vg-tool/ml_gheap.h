/* ml_gheap.h -- a simulation of where glibc's malloc (2.36, x86-64, the
   main arena) puts each block, and which heap bytes it writes itself.

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
   the first chunk. */
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
      those above the heap's highest end so far: fresh from the kernel)
      and the bytes realloc copies into a new heap chunk */
   void  (*touch)(void *ctx, uint64_t lo, uint64_t hi);
   /* the heap's end (brk, an offset) moved from old_end to new_end:
      grown by sbrk, or trimmed (the pages at and above new_end, rounded
      up to a page, are given back) */
   void  (*brk)(void *ctx, uint64_t old_end, uint64_t new_end);
   void *ctx;                      /* passed to touch and brk */
} MlGHeapOps;

MlGHeap *ml_gheap_new(const MlGHeapOps *ops);
void     ml_gheap_delete(MlGHeap *h);

/* Blocks are named by handles: a live block's record in the model, never
   0, given back by the call that allocates it; the caller keeps it with
   the block and passes it to the calls below.  A handle is live from the
   block's allocation to its free or realloc. */

/* malloc(size) (calloc when zeroed: glibc's calloc does not use the
   tcache): the block's offset, or ML_GHEAP_MAPPED; *rec its handle. */
uint64_t ml_gheap_malloc(MlGHeap *h, uint64_t size, int zeroed, uint32_t *rec);
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
