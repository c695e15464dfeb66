/* grow.c -- memline's demo: a helper that allocates and touches buffers,
   called from main, then a loop, a free and a small leak.

   What memline must report (heap metric, --units B).  Tests find the lines
   by their trailing tags, never by number.

     function make_buffer
       L:mb_alloc   Increment  15728640  (10 MiB + 5 x 1 MiB)  Occurrences 6
                    Mem usage  15728640  (the 5th chunk is the peak)
       L:mb_touch   Increment         0                        Occurrences 6
     function main
       L:big        Increment  10485760                        Occurrences 1
       L:loop       Increment         0                        Occurrences 6
                    (entered once, then once per iteration's i++ : 5 + 1)
       L:chunk      Increment   5242880                        Occurrences 5
                    Mem usage  15728640
       L:free_big   Increment -10485760                        Occurrences 1
       L:leak       Increment      1000                        Occurrences 1
       L:free_chunks Increment -5242880 (one-line loop)        Occurrences 6
                    (entered once, then 5 backward jumps; returning
                    from free() is not a new entry)

   Summary: peak heap 15728640 B (equal to Massif's), 7 allocations,
   6 frees, leaked at exit 1000 B in 1 block.  No stdio, so libc
   allocates nothing else. */
#include <stdlib.h>
#include <string.h>

static char *make_buffer(size_t n)
{
    char *p = malloc(n);                  /* L:mb_alloc */
    memset(p, 'x', n);                    /* L:mb_touch */
    return p;
}

int main(void)
{
    char *big = make_buffer(10 << 20);    /* L:big */
    char *chunks[5];
    int i;

    for (i = 0; i < 5; i++)               /* L:loop */
        chunks[i] = make_buffer(1 << 20); /* L:chunk */

    free(big);                            /* L:free_big */
    char *note = malloc(1000);            /* L:leak */
    note[0] = 'x';

    for (i = 0; i < 5; i++) free(chunks[i]); /* L:free_chunks */
    return 0;
}
