/* spike.c -- a spike allocated and freed inside one line.

   main holds 1 MiB, then calls spike(8 MiB), which allocates 8 MiB,
   writes it and frees it.  The line that calls spike() changes nothing
   in the end (Increment 0) but the heap reached 9 MiB while it ran, so
   its Mem usage is 9 MiB (memory_profiler misses this: its issue #208).

     function main
       L:base       Increment  1048576  Occurrences 1  Mem usage 1048576
       L:spike      Increment        0  Occurrences 1  Mem usage 9437184
       L:free_base  Increment -1048576  Occurrences 1  Mem usage 1048576
     function spike
       L:sp_alloc   Increment  8388608  Occurrences 1  Mem usage 9437184
       L:sp_free    Increment -8388608  Occurrences 1

   Summary: peak 9437184 B (equal to Massif's), 2 allocations, 2 frees,
   nothing leaked. */
#include <stdlib.h>
#include <string.h>

static void spike(size_t n)
{
    char *p = malloc(n);                      /* L:sp_alloc */
    memset(p, 0xab, n);                       /* L:sp_touch */
    free(p);                                  /* L:sp_free */
}

int main(void)
{
    char *base = malloc(1 << 20);             /* L:base */
    memset(base, 1, 1 << 20);                 /* L:base_touch */
    spike(8 << 20);                           /* L:spike */
    free(base);                               /* L:free_base */
    return 0;
}
