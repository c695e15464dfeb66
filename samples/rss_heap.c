/* rss_heap.c -- the resident pages of glibc's heap: what a malloc makes
   resident, what a free keeps, what a trim gives back.

   glibc's malloc carves blocks below its mmap threshold (128 KiB here)
   from one heap that grows with brk.  It writes a chunk's header (8
   bytes before the block) and the header of what follows it, so a small
   block's pages are resident from the malloc on; a big block's middle
   pages only once the program writes them.  Freed chunks stay in the heap
   (the tcache, the bins, or merged into the unused top), resident; only
   when the top grows past 128 KiB does free give memory back (brk
   shrinks, keeping 128 KiB).  memline plays every call on a model of
   glibc's allocator (--rss-heap=glibc, the default; vg-tool/ml_gheap.c)
   and counts the heap's pages where glibc would have put the blocks.

   RSS metric (--metric rss, --units B), function main.  Each L: line, and
   why it changes the resident set as it does natively:

     L:small      2000 x malloc(200), a byte written in each: the blocks
                  are carved from the top one after another, 208 bytes
                  each; the heap's pages become resident as the top's
                  header moves through them (about 102 pages)
     L:free_odd   every other block freed: 7 go to the tcache, the rest
                  into the bins, and no two freed blocks touch: nothing
                  given back (0)
     L:reuse      1000 x malloc(200) again: served from the freed chunks,
                  already resident (0)
     L:big        malloc(100000), its first and last bytes written: from
                  the top: the header's page and the last page
     L:big_touch  every page of it written: the middle pages
     L:free_all   everything freed: the chunks merge, the top reaches
                  past 128 KiB, and brk shrinks to 128 KiB above what is
                  still in use (the first block's neighbours in the
                  tcache): most of the heap given back
     L:grow       one block grown by realloc 4 KiB at a time to 256 KiB,
                  its last byte written each time: it grows in place
                  into the top, over the 128 KiB that the trim kept
                  resident (nothing new), until the top cannot hold it
                  and it is past the mmap threshold: realloc copies it
                  into a mapping of its own (its 33 pages), which then
                  grows by mremap, a page per step: 65 pages in all
     L:free_grow  freed: the mapping is unmapped (65 pages)

   Run natively with MEMLINE_NATIVE_HWM=1, the sample prints "NAME: BYTES"
   on stdout for each of those lines: the change of its own anonymous
   resident memory (RssAnon) across the line, the kernel's answer, which
   the end-to-end test compares with memline's line by line.  Not VmRSS:
   now and then it also counts 16 pages of libc's code that fault-around
   maps (rss_native.h). */
#include <stdlib.h>
#include <string.h>
#include "rss_native.h"

#define N 2000

int main(void)
{
    static char *s[N];
    rss_native_init();
    /* malloc and free run once before the measured lines, so that their
       code (and lazy binding) is resident before them. */
    free(malloc(16));
    rss_native_counted = "RssAnon";
    rss_native_begin();

    for (int i = 0; i < N; i++)
        if ((s[i] = malloc(200)) != NULL) s[i][0] = 1;          /* L:small */
    rss_native_step("small");
    for (int i = 1; i < N; i += 2)
        free(s[i]);                                              /* L:free_odd */
    rss_native_step("free_odd");
    for (int i = 1; i < N; i += 2)
        if ((s[i] = malloc(200)) != NULL) s[i][0] = 2;          /* L:reuse */
    rss_native_step("reuse");
    char *b = malloc(100000); if (b) { b[0] = 1; b[99999] = 1; } /* L:big */
    rss_native_step("big");
    if (b) touch(b, 100000);                                     /* L:big_touch */
    rss_native_step("big_touch");
    free(b); for (int i = 0; i < N; i++) free(s[i]);             /* L:free_all */
    rss_native_step("free_all");
    char *g = NULL, *n;
    for (size_t k = 1; k <= 64 && (n = realloc(g, k * 4096)); k++) { g = n; g[k * 4096 - 1] = 1; } /* L:grow */
    rss_native_step("grow");
    free(g);                                                     /* L:free_grow */
    rss_native_step("free_grow");
    return 0;
}
