/* realloc.c -- realloc growth by doubling, then a shrink.

   realloc(old, new) counts as free(old) + alloc(new) on the same line,
   so its net increment is new - old, and it does not double-count the
   block while it is copied (Massif's convention: the peak is 1 MiB,
   not 1.5 MiB).

     L:first      Increment     1024  Occurrences 1
     L:grow_for   Increment        0  Occurrences 11 (10 iterations)
     L:grow       Increment  1047552  Occurrences 10  (1 MiB - 1 KiB)
                  Mem usage  1048576
     L:shrink     Increment -1044480  Occurrences 1   (1 MiB -> 4 KiB)
     L:from_null  Increment      512  Occurrences 1   (realloc(NULL, 512))
     L:calloc     Increment     1000  Occurrences 1   (calloc(10, 100))
     L:free_all   Increment    -5608  Occurrences 1   (4096 + 512 + 1000)

   Summary: peak 1048576 B (equal to Massif's), nothing leaked. */
#include <stdlib.h>
#include <string.h>

static void free3(void *a, void *b, void *c)
{
    free(a);
    free(b);
    free(c);
}

int main(void)
{
    size_t size;
    char *p = malloc(1024);                       /* L:first */
    memset(p, 1, 1024);

    for (size = 2048; size <= (1u << 20); size *= 2) /* L:grow_for */
        p = realloc(p, size);                     /* L:grow */

    p = realloc(p, 4096);                         /* L:shrink */
    char *q = realloc(NULL, 512);                 /* L:from_null */
    char *r = calloc(10, 100);                    /* L:calloc */
    free3(p, q, r);                               /* L:free_all */
    return 0;
}
