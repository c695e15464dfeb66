/* rss_release.c -- pages given back to the kernel: 16 MiB of anonymous
   mmap written whole, half dropped with madvise(MADV_DONTNEED), the
   other half unmapped.

   RSS metric (--metric rss, --units B).  A page written by the program is
   resident; madvise(DONTNEED/FREE/REMOVE) and munmap release it
   (DESIGN.md section 5).

     function main
       L:warm_*    Each call the measured lines make (mmap, memset,
                   munmap, madvise) runs once before them on something
                   that holds no resident page -- a one-page mapping never
                   written, then unmapped; the first page of the 16 MiB
                   advised away before it is written -- so that the code
                   they run the first time (and lazy binding) is resident
                   before the measured lines, whose increments are then
                   the data pages alone.  L:warm_unmap, L:warm_madvise:
                   Increment 0.
       L:map       Increment  0  (mmap makes nothing resident)
       L:touch     memset(p, 1, 16 MiB)  Increment  16777216 = +4096 pages
                   Mem usage = the summary's Peak RSS
       L:dontneed  madvise(p, 8 MiB, MADV_DONTNEED)  Increment  -8388608
                   = -2048 pages; Mem usage = Peak RSS
       L:unmap     munmap(p + 8 MiB, 8 MiB)  Increment  -8388608 = -2048

   Summary: Peak RSS = start-up pages + 16777216, anon >= 16777216; within
   5% of the native VmHWM (MEMLINE_NATIVE_HWM=1, see rss_native.h).  Final
   RSS is the start-up pages only (no 5% claim: see rss_buffer.c).  No
   heap. */
#include <string.h>
#include <sys/mman.h>
#include "rss_native.h"

#define SIZE  (16u << 20)
#define HALF  (SIZE / 2)
#define PAGE  4096u
#define MAP_RW(n) \
    mmap(NULL, (n), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)

int main(void)
{
    static char warm[64];
    rss_native_init();
    char *w = MAP_RW(PAGE);                               /* L:warm_map */
    char *p = MAP_RW(SIZE);                               /* L:map */
    if (w == MAP_FAILED || p == MAP_FAILED)
        return 1;
    memset(warm, 1, sizeof warm);                         /* L:warm_memset */
    munmap(w, PAGE);                                      /* L:warm_unmap */
    madvise(p, PAGE, MADV_DONTNEED);                      /* L:warm_madvise */
    memset(p, 1, SIZE);                                   /* L:touch */
    madvise(p, HALF, MADV_DONTNEED);                      /* L:dontneed */
    munmap(p + HALF, HALF);                               /* L:unmap */
    return 0;
}
