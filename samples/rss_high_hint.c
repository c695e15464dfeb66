/* rss_high_hint.c -- a mapping asked for above 128 GiB.

   mmap of 32 MiB, anonymous and private, with the address hint
   0x2f7159400000 (47 TiB; V8 hints its heap's mappings at random
   addresses like it), every page written (L:touch).  Natively the
   mapping lands at the hint.  Valgrind honours the hint too, above the
   128 GiB memline's simulated resident set covers; memline's preload
   drops such a hint, so the mapping lands where an unhinted one would
   and its pages are counted: peak RSS within 5% of the native VmHWM
   (about 34 MiB).

   With the argument "fixed" the mapping is made with MAP_FIXED_NOREPLACE
   at that address instead, which memline leaves alone: it says once, on
   Valgrind's output, that pages there are not counted.  The program
   prints "at_hint: 1" when the mapping landed at the hint, else 0. */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include "rss_native.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define HINT ((void *)0x2f7159400000ul)
#define SIZE (32ul << 20)

int main(int argc, char **argv)
{
    rss_native_init();
    int fixed = argc > 1 && strcmp(argv[1], "fixed") == 0;
    char *p = mmap(HINT, SIZE, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS |
                   (fixed ? MAP_FIXED_NOREPLACE : 0), -1, 0);
    if (p == MAP_FAILED)
        return 2;
    touch(p, SIZE);                              /* L:touch */
    printf("at_hint: %d\n", p == (char *)HINT);
    return 0;
}
