/* recurse.c -- recursion: each memory change counts once per line.

   rec(10) allocates 1000 bytes at each of its 10 levels, then recurses.
   While the allocation of level k happens, the lines rec(n - 1) of the
   k - 1 outer frames are all executing; memline counts the change once
   for that line, not once per frame (a per-frame sum would give
   1000 * (1 + 2 + ... + 9) = 45000 on L:rec_call).

     function rec
       L:rec_alloc  Increment 10000  Occurrences 10  Mem usage 10000
       L:rec_if     Increment     0  Occurrences 10
       L:rec_call   Increment  9000  Occurrences 9   Mem usage 10000
                    (levels 2..10 allocate inside an outer rec(n - 1))
     function free_all
       L:free_one   Increment -10000 Occurrences 11 (one-line loop:
                    entered once, 10 backward jumps)
     function main
       L:main_rec   Increment 10000  Occurrences 1   Mem usage 10000
       L:main_free  Increment -10000 Occurrences 1

   Summary: peak 10000 B, 10 allocations, 10 frees, nothing leaked. */
#include <stdlib.h>

static char *blocks[64];
static int nblocks;

static void rec(int n)
{
    blocks[nblocks++] = malloc(1000);         /* L:rec_alloc */
    if (n > 1)                                /* L:rec_if */
        rec(n - 1);                           /* L:rec_call */
}

static void free_all(void)
{
    while (nblocks > 0) free(blocks[--nblocks]);  /* L:free_one */
}

int main(void)
{
    rec(10);                                  /* L:main_rec */
    free_all();                               /* L:main_free */
    return 0;
}
