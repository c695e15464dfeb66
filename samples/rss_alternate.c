/* rss_alternate.c -- pages made resident by two lines in turn.

   Two anonymous mappings of 64 pages each; one loop writes a byte of
   page i of the first (L:first) and then of the second (L:second).  In
   memline's trace, once the first round has made both stacks known,
   consecutive page-ins alternate between two stacks within a time unit:
   they must keep a PAGE record each, where the page-ins of one stack in
   a row share one (vg-tool/ml_out.c, ml_out_page).

   RSS metric (--metric rss, --units B), function main:

     L:map_first   mmap                   0
     L:map_second  mmap                   0
     L:first       64 pages        +262144  64 times
     L:second      64 pages        +262144  64 times
     L:unmap       both munmaps    -524288

   Run natively with MEMLINE_NATIVE_HWM=1, the sample prints "NAME:
   BYTES" for map, loop (L:first and L:second together, +524288) and
   unmap: its VmRSS change across them, the kernel's answer. */
#include <sys/mman.h>
#include "rss_native.h"

#define PAGES 64
#define PAGE  4096u

int main(void)
{
    rss_native_init();
    rss_native_begin();
    int prot = PROT_READ | PROT_WRITE, flags = MAP_PRIVATE | MAP_ANONYMOUS;
    volatile char *a = mmap(NULL, PAGES * PAGE, prot, flags, -1, 0); /* L:map_first */
    volatile char *b = mmap(NULL, PAGES * PAGE, prot, flags, -1, 0); /* L:map_second */
    rss_native_step("map");
    if (a == MAP_FAILED || b == MAP_FAILED)
        return 1;
    for (unsigned i = 0; i < PAGES; i++) {
        a[i * PAGE] = 1;                                         /* L:first */
        b[i * PAGE] = 2;                                         /* L:second */
    }
    rss_native_step("loop");
    munmap((char *)a, PAGES * PAGE); munmap((char *)b, PAGES * PAGE); /* L:unmap */
    rss_native_step("unmap");
    return 0;
}
