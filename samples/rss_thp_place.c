/* rss_thp_place.c -- which memory gets transparent huge pages, and where
   their 2 MiB blocks lie, as the kernel places the mappings.

   Natively (Linux 6.7 and later) an anonymous mapping whose length is a
   multiple of 2 MiB, asked for without an address, is placed on a 2 MiB
   boundary, so all of it can be huge pages; under Valgrind it lands
   anywhere, and memline counts its blocks from the mapping's start.  With
   "always" in /sys/kernel/mm/transparent_hugepage/enabled every private
   anonymous mapping has huge pages but those given MADV_NOHUGEPAGE and
   those mapped with MAP_STACK (6.7 and later); with "madvise" only ranges
   given MADV_HUGEPAGE.  glibc's heap, grown by brk a little at a time,
   gets small pages; a block glibc maps (16 MiB here) is a mapping of its
   own, at no particular alignment.

   RSS metric (--metric rss, --units B), function main.  A is 2097152
   where advised ranges have huge pages ("madvise" or "always"), else
   4096; W is 2097152 with "always", else 4096.  Each L: line, its
   Increment, and why:

     L:map_a      mmap 4 MiB                        0
     L:advise_a   MADV_HUGEPAGE on all of it        0
     L:write_a    a[100] = 1                        A  the first block
     L:write_a2   a[2 MiB + 100] = 1                A  the second: all of
                                                       the mapping is in
                                                       two blocks
     L:map_b      mmap 4 MiB                        0
     L:write_b    b[100] = 1                        W  not advised
     L:write_b2   b[3 MiB] = 1                      W
     L:map_c      mmap 4 MiB, MAP_STACK             0
     L:write_c    c[100] = 1                     4096  no huge pages
     L:map_d      mmap 4 MiB, then MADV_NOHUGEPAGE  0
     L:write_d    d[100] = 1                     4096  no huge pages
     L:malloc_p   malloc(16 MiB)                 4096  glibc's chunk header
     L:write_p    p[k MiB] = 1, k = 0..15           with "always" 7 or 8
                                                    huge pages and a few
                                                    small ones, as the
                                                    mapping falls
                                                    (16 small pages
                                                    otherwise)
     L:free_p     free(p)                           all of it back
     L:heap       200 x malloc(60000), a byte each  small pages only
                  (run 200 times)

   Run natively with MEMLINE_NATIVE_HWM=1, the sample prints "NAME: BYTES"
   on stdout for each of those lines: the change of its own VmRSS across
   the line, the kernel's answer. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "rss_native.h"

#define MiB   (1ul << 20)
#define PAGE  4096ul

static char *map(size_t len, int flags)
{
    char *m = mmap(NULL, len, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);
    return m == MAP_FAILED ? NULL : m;
}

int main(void)
{
    int bad = 0;
    static char *blocks[200];
    rss_native_init();
    /* mmap, madvise, malloc and free run once before the measured lines,
       so that their code (and lazy binding) is resident before them. */
    munmap(map(PAGE, 0), PAGE);
    madvise(NULL, 0, MADV_NOHUGEPAGE);
    free(malloc(16));
    rss_native_begin();

    volatile char *a = map(4 * MiB, 0);                          /* L:map_a */
    rss_native_step("map_a");
    bad |= madvise((char *)a, 4 * MiB, MADV_HUGEPAGE);           /* L:advise_a */
    rss_native_step("advise_a");
    a[100] = 1;                                                  /* L:write_a */
    rss_native_step("write_a");
    a[2 * MiB + 100] = 1;                                        /* L:write_a2 */
    rss_native_step("write_a2");

    volatile char *b = map(4 * MiB, 0);                          /* L:map_b */
    rss_native_step("map_b");
    b[100] = 1;                                                  /* L:write_b */
    rss_native_step("write_b");
    b[3 * MiB] = 1;                                              /* L:write_b2 */
    rss_native_step("write_b2");

    volatile char *c = map(4 * MiB, MAP_STACK);                  /* L:map_c */
    rss_native_step("map_c");
    c[100] = 1;                                                  /* L:write_c */
    rss_native_step("write_c");

    volatile char *d = map(4 * MiB, 0); bad |= madvise((char *)d, 4 * MiB, MADV_NOHUGEPAGE); /* L:map_d */
    rss_native_step("map_d");
    d[100] = 1;                                                  /* L:write_d */
    rss_native_step("write_d");

    char *p = malloc(16 * MiB);                                  /* L:malloc_p */
    rss_native_step("malloc_p");
    if (!p)
        return 1;
    for (int k = 0; k < 16; k++)
        p[(size_t)k * MiB] = 1;                                  /* L:write_p */
    rss_native_step("write_p");
    free(p);                                                     /* L:free_p */
    rss_native_step("free_p");

    for (int i = 0; i < 200; i++)
        if ((blocks[i] = malloc(60000)) != NULL) blocks[i][0] = 1; /* L:heap */
    rss_native_step("heap");
    return bad || !a || !b || !c || !d ? 2 : 0;
}
