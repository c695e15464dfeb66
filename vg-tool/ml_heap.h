/* ml_heap.h -- the heap side of memline: Valgrind's malloc replacement
   entry points, the live-block table, and the custom-allocator client
   requests (MALLOCLIKE / FREELIKE / RESIZEINPLACE).  Every allocation and
   free becomes an ALLOC or FREE record with its call stack. */
#ifndef ML_HEAP_H
#define ML_HEAP_H

#include "pub_tool_basics.h"
#include "pub_tool_tooliface.h"

/* Bytes requested and still live: read inline by the line counters. */
extern ULong ml_heap_cur;

typedef struct {
   ULong n_allocs, n_frees, bytes_allocated, peak, n_cut;
} MlHeapStats;

void ml_heap_init(void);
void ml_heap_register_replacements(void);
const MlHeapStats *ml_heap_stats(void);
/* Handles the heap client requests; False if arg[0] is not one. */
Bool ml_heap_client_request(ThreadId tid, UWord *arg, UWord *ret);
/* Writes every live block as an ALLOC or CALLOC (a forked child
   inherits them); returns how many, which is ml_heap_n_live(). */
ULong ml_heap_reemit_live(ThreadId tid);
void ml_heap_reset_stats(void);
/* At the end of an instrumented superblock that ends in a client
   request: serve the allocator's calls in translated code. */
void ml_heap_instrument_end(IRSB *sb, const VexGuestLayout *layout);
/* The live malloc'd block that holds address x (see ml_heap.c, "Which
   block holds an address"): True with its start and size. */
Bool ml_heap_block_at(Addr x, Addr *start, SizeT *size);
/* The RSS model's word of live malloc'd block p (with --rss-heap=glibc
   only: ml_rss.c keeps there which record of which simulated arena the
   block is; 0 until it writes it).  Valid while the block is live. */
ULong *ml_heap_model_word(Addr p);
/* Number of live blocks, malloc'd and custom: a forked child's HEADER
   inherited count. */
ULong ml_heap_n_live(void);

#endif
