/* longlived.c -- blocks freed long after they were allocated.

   A FREE record leaves out the freed size when the block is one of the
   last 262,144 (ML_SIZE_WINDOW) allocated: the reader keeps their sizes.
   Here `old` is allocated, then `edge`, then 262,143 short-lived blocks,
   so that when `edge` is freed it is exactly the 262,144th block from
   the newest (the oldest the window holds) and `old`, freed next, is
   just outside it: its FREE must carry its size, and both must come out
   right in the report.  The short-lived blocks have old's size, so
   the window's entry that the newest of them takes over from old holds
   the same number: only the ids tell that old is out.  A huge block (2^32 + 5 bytes, reserved but never
   touched) is too large for the window's 32-bit entries and also freed
   with its size written.

     L:old        Increment     1000  Occurrences 1
     L:edge       Increment     2000  Occurrences 1
     L:churn      Increment        0  Occurrences 262,143 (malloc + free)
     L:free_edge  Increment    -2000  Occurrences 1
     L:free_old   Increment    -1000  Occurrences 1
     L:huge       Increment 4294967301  Occurrences 1
     L:free_huge  Increment -4294967301  Occurrences 1

   Under memline -v -v: 2 of 262,146 frees wrote their size (old's and
   the huge block's). */
#include <stdint.h>
#include <stdlib.h>

#define WINDOW 262144

int main(void)
{
    char *old = malloc(1000);                   /* L:old */
    char *edge = malloc(2000);                  /* L:edge */
    for (int i = 0; i < WINDOW - 1; i++)
        free(malloc(1000));                     /* L:churn */
    free(edge);                                 /* L:free_edge */
    free(old);                                  /* L:free_old */
    size_t big = ((size_t)1 << 32) + 5;
    char *huge = malloc(big);                   /* L:huge */
    if (!huge)
        return 1;
    free(huge);                                 /* L:free_huge */
    return 0;
}
