/* rss_mapped.c -- big blocks: the ones glibc's malloc maps one by one and
   unmaps on free, and the threshold that decides which they are.

   glibc serves a request whose chunk (size + 8, rounded up to 16) reaches
   its mmap threshold with a mapping of its own and unmaps it on free.
   The threshold starts at 128 KiB; freeing a mapped chunk raises it to
   that chunk's mapping size (up to 32 MiB).  A mapped chunk that is
   realloc'd moves with mremap; a heap chunk grown past the threshold is
   copied into a new mapping.  Under Valgrind every block comes from
   Valgrind's allocator instead (up to 4 MiB from shared 4 MiB
   superblocks, unmapped late); memline gives a block's pages back at its
   free when glibc would have mapped it (vg-tool/ml_rss.c, "Blocks glibc
   would have mapped").

   RSS metric (--metric rss, --units B), function main.  Each block is
   written one byte per 4 KiB page from its first byte (touch()), so a
   block of N pages makes N pages resident; glibc's malloc writes the
   chunk's header, in the page where a mapped block starts, itself.  Each
   L: line, its Increment, and why (MiB = 1048576 B, P = 4096 B):

     L:alloc_a     a = malloc(3 MiB)       +P  mapped (threshold 128 KiB):
                                               the header's page
     L:alloc_c     c = malloc(256 KiB)     +P  mapped
     L:touch_a                     +3 MiB - P
     L:touch_c                   +256 KiB - P
     L:free_a                        -3145728  unmapped; the threshold
                                               rises to 3 MiB + 4 KiB
     L:free_c                         -262144  mapped when allocated,
                                               so unmapped, though now
                                               under the threshold
     L:alloc_d     d = malloc(256 KiB)     +P  under the threshold: heap
                                               (glibc's header for the
                                               rest of the heap after it)
     L:touch_d                  +256 KiB - 3P  (249856 natively: 3 of the
                                               64 pages it writes hold
                                               heap memory glibc had
                                               written before, such as its
                                               own tcache block)
     L:alloc_p     p = malloc(1 MiB)       +P  heap, after d
     L:touch_p                     +1 MiB - P
     L:grow_p      p = realloc(p, 4 MiB)
                                 +1 MiB + P    over the threshold: a new
                                               mapping, 1 MiB copied into
                                               it and its header; the old
                                               block stays in the heap
     L:move_p      p = realloc(p, 5 MiB)    0  mapped: mremap moves its
                                               pages (-1 MiB + 1 MiB)
     L:free_p                    -1 MiB - P    unmapped: the copied MiB
                                               and the header's page (the
                                               rest was never written)
     L:free_d                               0  heap memory stays

   Under memline each figure may be a page off (Valgrind's allocator
   keeps the partial pages at a block's ends with its neighbours, and
   puts blocks where freed ones were).

   d stays allocated until the end so that, under Valgrind, the
   superblock that holds it and p's first block is never empty: its pages
   stay resident, as glibc's heap keeps them.

   Every line runs once.  Run natively with MEMLINE_NATIVE_HWM=1, the
   sample prints "NAME: BYTES" on stdout for each of those lines: the
   change of its own VmRSS across the line: within a page of the
   numbers above but for glibc's chunk headers, heap pages reused from
   the warm-up's blocks, and the odd 16-page window of libc's code (the
   test allows 64 KiB natively, a page under memline). */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "rss_native.h"

#define MiB (1ul << 20)
#define KiB (1ul << 10)

int main(void)
{
    rss_native_init();
    /* Natively, the first run of each allocator path faults its code in,
       16 pages at a time, which would show on the measured lines: run
       them all once.  A mapped block (130 KiB), moved by realloc (mremap),
       freed (the threshold rises to 144 KiB); a heap block grown into a
       mapping (200 KiB), freed (the threshold: 204 KiB, still under the
       256 KiB of c below). */
    free(malloc(1));
    char *w = malloc(130 * KiB);
    w = realloc(w, 140 * KiB);
    free(w);
    w = malloc(64 * KiB);
    w = realloc(w, 200 * KiB);
    free(w);
    rss_native_begin();

    char *a = malloc(3 * MiB);                            /* L:alloc_a */
    rss_native_step("alloc_a");
    char *c = malloc(256 * KiB);                          /* L:alloc_c */
    rss_native_step("alloc_c");
    if (!a || !c)
        return 1;
    touch(a, 3 * MiB);                                    /* L:touch_a */
    rss_native_step("touch_a");
    touch(c, 256 * KiB);                                  /* L:touch_c */
    rss_native_step("touch_c");
    free(a);                                              /* L:free_a */
    rss_native_step("free_a");
    free(c);                                              /* L:free_c */
    rss_native_step("free_c");

    char *d = malloc(256 * KiB);                          /* L:alloc_d */
    rss_native_step("alloc_d");
    if (!d)
        return 1;
    touch(d, 256 * KiB);                                  /* L:touch_d */
    rss_native_step("touch_d");

    char *p = malloc(1 * MiB);                            /* L:alloc_p */
    rss_native_step("alloc_p");
    if (!p)
        return 1;
    touch(p, 1 * MiB);                                    /* L:touch_p */
    rss_native_step("touch_p");
    p = realloc(p, 4 * MiB);                              /* L:grow_p */
    rss_native_step("grow_p");
    if (!p)
        return 1;
    p = realloc(p, 5 * MiB);                              /* L:move_p */
    rss_native_step("move_p");
    if (!p)
        return 1;
    free(p);                                              /* L:free_p */
    rss_native_step("free_p");
    free(d);                                              /* L:free_d */
    rss_native_step("free_d");
    return 0;
}
