/* rss_buffer.c -- one large heap buffer: 64 MiB, one byte written per
   4 KiB page on one line, then freed.

   RSS metric (--metric rss, --units B).  An anonymous page becomes
   resident when the program first writes it (DESIGN.md section 5).

     function main
       L:warm     free(malloc(1)) -- runs malloc and free once, so that the
                  code they run the first time (the allocator wrappers,
                  lazy binding in ld.so) is translated and resident before
                  the lines below: nothing else lands on them.
       L:alloc    Increment  4096  Occurrences 1
                  glibc, natively, maps the block (64 MiB is above its mmap
                  threshold) and writes its 16-byte header in the
                  mapping's first page, which memline makes resident at
                  the malloc: the page that holds the block's first byte.
       L:touch    Increment  67104768 = 16383 pages x 4096  Occurrences 16385
                  (entered once, then one new iteration per backward jump)
                  The block is not page-aligned (it starts a header's
                  length into a page), so its 64 MiB span 16385 pages, but
                  the line writes p[0], p[4096], ... p[64 MiB - 4096]:
                  with a stride of one page starting inside page 0, write
                  i lands in page i, so it writes exactly 16384 distinct
                  pages, never the 16385th, which holds only the block's
                  last bytes; the first is resident since L:alloc.  Mem
                  usage = the summary's Peak RSS.
       L:free     Increment -67108864 = -16384 pages  Occurrences 1
                  Mem usage = Peak RSS (the pages were there when it began)
                  Valgrind's allocator gives a block this large (above its
                  4 MiB superblocks) a mapping of its own and unmaps it on
                  free; memline releases the pages of the block's range,
                  16384 of them resident.  (glibc does the same natively:
                  64 MiB is above its mmap threshold.)

   Summary: Peak RSS = the start-up pages + 67108864, anon >= 67108864;
   within 5% of the native VmHWM (run with MEMLINE_NATIVE_HWM=1, see
   rss_native.h).  Final RSS is the start-up pages only, which the model
   and the kernel count differently (the kernel maps file pages 16 at a
   time around a fault, memline only the pages touched): no 5% claim for
   it.  Heap: peak 67108864 B, 2 allocations, 2 frees, nothing leaked. */
#include <stdlib.h>
#include "rss_native.h"

#define SIZE  (64u << 20)
#define PAGE  4096u

int main(void)
{
    rss_native_init();
    free(malloc(1));                                      /* L:warm */
    char *p = malloc(SIZE);                               /* L:alloc */
    for (size_t i = 0; i < SIZE; i += PAGE) p[i] = 1;     /* L:touch */
    free(p);                                              /* L:free */
    return 0;
}
