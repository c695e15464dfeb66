/* usable.c -- a program that sizes its requests by malloc_usable_size.

   For n = 0 .. 199 it allocates 7n + 1 bytes, asks malloc_usable_size of
   that block and allocates as many bytes again (as a program that grows
   a buffer into the room it was told about does), keeps all 400 blocks,
   prints the sum of the usable sizes and frees everything.  The second
   blocks' sizes, so the peak, depend on the answers: memline in its
   default mode answers what Valgrind's client arena gives the block,
   which is Massif's answer, so its peak heap equals Massif's (284,604
   bytes on Valgrind 3.19; natively glibc's answers differ, and so does
   the peak).  With --rss=no small blocks come from memline's size
   classes, whose room is glibc's answer: the sum printed and the peak
   heap are then those of a native run (141,024 usable bytes, where
   Massif's answers sum to 141,008). */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>

#define N 200

int main(void)
{
    static char *keep[2 * N];
    size_t total = 0;
    for (int n = 0; n < N; n++) {
        keep[2 * n] = malloc((size_t)n * 7 + 1);     /* L:first */
        if (!keep[2 * n])
            return 2;
        size_t u = malloc_usable_size(keep[2 * n]);
        if (u < (size_t)n * 7 + 1)
            return 3;
        keep[2 * n + 1] = malloc(u);                  /* L:second */
        if (!keep[2 * n + 1])
            return 2;
        total += u;
    }
    printf("usable: %zu\n", total);
    for (int i = 0; i < 2 * N; i++)
        free(keep[i]);
    return 0;
}
