/* rss_reclaim.c -- small blocks freed until whole superblocks are empty:
   Valgrind's allocator unmaps those superblocks, and their pages are no
   longer resident.

   RSS metric (--metric rss, --units B), with --rss-heap=valgrind (the
   figures below are those of Valgrind's allocator; by default memline
   counts the heap as glibc would lay it out: samples/rss_heap.c).
   Under Valgrind, malloc is
   Valgrind's allocator (coregrind/m_mallocfree.c, 3.19): blocks up to
   4 MiB are carved from 4 MiB superblocks, 63 blocks of 64 KiB to one
   (a superblock holds 4194272 bytes; a 64 KiB block takes 65536 plus 32
   bytes of header and redzones).  When a free() leaves a superblock
   without a block in use, the allocator defers its reclaim: the
   superblock is unmapped when the next superblock becomes empty, or when
   a new one is needed.  The core unmaps it without telling the tool (no
   munmap event), exactly like the large-block case rss_buffer.c tests,
   so memline has to notice it itself.  DESIGN.md section 5: a page stops
   being resident on munmap.  64 KiB is under glibc's mmap threshold
   (128 KiB): natively these blocks come from the heap, and memline keeps
   the behaviour of Valgrind's allocator for them (blocks glibc would map
   are rss_mapped.c's subject).

   Each block is written one byte per 4 KiB page from its first byte: 16
   distinct pages per block, whatever the alignment (see rss_buffer.c).

     function main
       L:warm        free(malloc(1)): the allocator's code and lazy
                     binding resident before the measured lines
       L:alloc_all   256 x malloc(64 KiB) in superblocks S1..S5 (63, 63,
                     63, 63, 4 blocks)                  Increment 0
       L:touch_all   Increment  16777216 = +4096 pages (256 x 16)
       L:free_all    frees blocks 0..255 in order: S1 empties and is
                     deferred; S2 empties, S1 is unmapped; ... S5 empties,
                     S4 is unmapped.  4 x 63 x 16 = 4032 pages released:
                     Increment -16515072; S5 stays mapped (deferred)
       L:big_alloc   malloc(6 MiB): above the superblock size, a new
                     mapping, and before making it the allocator unmaps
                     the deferred S5: its 4 x 16 = 64 pages released,
                     and glibc's header written in the first page of the
                     block's mapping: Increment -262144 + 4096 = -258048
       L:big_touch   Increment  6287360 = +1535 pages (the first since
                     L:big_alloc): the 6 MiB block is
                     a new mapping, all its pages fresh (it may well reuse
                     the addresses of S1..S2, which makes a stale page map
                     show here as too few pages)

   L:free_all + L:big_alloc = -16777216 + 4096: everything the small blocks made
   resident is given back, as natively (there the blocks free in order
   coalesce, and the last free merges them with the top of the heap,
   which glibc then trims: all 4096 pages go on L:free_all).

   Summary: Peak RSS = start-up pages + 16777216 (at L:touch_all), within
   5% of the native VmHWM (MEMLINE_NATIVE_HWM=1, see rss_native.h); Final
   RSS = start-up pages + 6291456 (the big block is still allocated at
   exit), anon >= 6291456 and < 16777216.  Heap: peak 16777216 B, leaked
   at exit 6291456 B in 1 block. */
#include <stdlib.h>
#include "rss_native.h"

#define SMALL (64u << 10)
#define N     256
#define BIG   (6u << 20)

int main(void)
{
    static char *blk[N];
    int i;
    rss_native_init();
    free(malloc(1));                                      /* L:warm */
    for (i = 0; i < N; i++) blk[i] = malloc(SMALL);       /* L:alloc_all */
    for (i = 0; i < N; i++) touch(blk[i], SMALL);         /* L:touch_all */
    for (i = 0; i < N; i++) free(blk[i]);                 /* L:free_all */
    char *big = malloc(BIG);                              /* L:big_alloc */
    touch(big, BIG);                                      /* L:big_touch */
    return 0;
}
