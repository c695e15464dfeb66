/* rss_reuse.c -- freeing does not always give pages back, and reusing a
   freed block does not add them again.

   RSS metric (--metric rss, --units B), with --rss-heap=valgrind (the
   figures below are those of Valgrind's allocator; by default memline
   counts the heap as glibc would lay it out: samples/rss_heap.c).
   memline simulates the resident
   set of the program as it runs under Valgrind, whose allocator replaces
   malloc: 4 MiB superblocks carved into blocks; a block larger than that
   gets a mapping of its own, unmapped when it is freed.  Each block below
   is written one byte per 4 KiB page from its first byte, which writes
   exactly size / 4096 distinct pages whatever the block's alignment (see
   rss_buffer.c), and no page of a neighbouring block.

   Part 1, a big block (8 MiB, above the superblock size):
       L:big_alloc     Increment  4096: glibc maps the block and writes
                       its header in the mapping's first page, the page
                       of the block's first byte (malloc and free ran
                       once before, on L:warm)
       L:big_touch     Increment  8384512 = +2047 pages, the first
                       resident since L:big_alloc
       L:big_free      Increment -8388608 = -2048 pages: the mapping is gone
       L:big_alloc2    Increment  0
       L:big_touch2    Increment  8388608 = +2048 pages again: a new
                       mapping, whose pages the kernel gives out zeroed on
                       first write -- freed and allocated again, a block
                       this large does cost its pages twice.  (glibc
                       natively: the first 8 MiB block is mmapped and
                       unmapped; freeing it raises glibc's mmap threshold,
                       so the second comes from the brk heap -- new pages
                       there too.)
       L:big_free2     Increment -8388608 = -2048 pages

   Part 2, small blocks (64 x 256 KiB = 16 MiB, 15 to a superblock):
       L:alloc_all     Increment  0
       L:touch_all     Increment  16777216 = +4096 pages (64 x 64)
       L:free_odd      Increment  0 -- the 32 odd blocks go back to the
                       allocator's free lists; their superblocks still hold
                       the even blocks, so nothing is unmapped and the
                       pages stay resident (as natively: glibc keeps freed
                       chunks of its heap too)
       L:alloc_odd     Increment  0 -- 32 x 256 KiB again: the freed
                       blocks, reused
       L:touch_odd     Increment  0 -- the point: writing a reused block
                       touches pages that are still resident.
                       Mem usage = L:touch_all's: not even the high-water
                       mark moves

   The 64 blocks stay allocated until exit (leaked on purpose), so the
   final resident set holds them too.

   Summary: Peak RSS and Final RSS are both the start-up pages + 16777216
   (the pages of part 1 were released before part 2 began; exit code adds
   a few pages after L:touch_odd), anon >= 16777216; within 5% of the
   native VmHWM and of the native VmRSS at exit respectively
   (MEMLINE_NATIVE_HWM=1, see rss_native.h).  Heap: peak 16777216 B,
   leaked at exit 16777216 B in 64 blocks. */
#include <stdlib.h>
#include "rss_native.h"

#define BIG   (8u << 20)
#define SMALL (256u << 10)
#define N     64

int main(void)
{
    static char *blk[N];
    int i;
    rss_native_init();
    free(malloc(1));                                      /* L:warm */

    char *p = malloc(BIG);                                /* L:big_alloc */
    touch(p, BIG);                                        /* L:big_touch */
    free(p);                                              /* L:big_free */
    p = malloc(BIG);                                      /* L:big_alloc2 */
    touch(p, BIG);                                        /* L:big_touch2 */
    free(p);                                              /* L:big_free2 */

    for (i = 0; i < N; i++) blk[i] = malloc(SMALL);       /* L:alloc_all */
    for (i = 0; i < N; i++) touch(blk[i], SMALL);         /* L:touch_all */
    for (i = 1; i < N; i += 2) free(blk[i]);              /* L:free_odd */
    for (i = 1; i < N; i += 2) blk[i] = malloc(SMALL);    /* L:alloc_odd */
    for (i = 1; i < N; i += 2) touch(blk[i], SMALL);      /* L:touch_odd */
    return 0;
}
