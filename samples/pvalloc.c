/* pvalloc.c -- glibc's pvalloc, which Valgrind's own replacement answers
   by stopping the program ("Program aborting because of call to
   pvalloc", exit status 1, under Memcheck and Massif alike).  memline
   serves it as glibc does: a page-aligned block of the size rounded up
   to a whole number of pages (4096 bytes), one page for a size of 0; the
   block is recorded with that size.

     L:one_byte   Increment   4096  (pvalloc(1))
     L:zero       Increment      0  (pvalloc(0))
     L:two_pages  Increment   8192  (pvalloc(4097))
     L:exact      Increment   8192  (pvalloc(8192))
     L:free_all   Increment -20480  (all four freed)

   Each block is written over the size asked for.  Exits 1, naming the
   block, if one is NULL or not page-aligned.  Summary: peak 20480 B, 4
   allocations, 4 frees, nothing leaked. */
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *blocks[4];

static int check(void *p, size_t n, const char *what)
{
    if (p == NULL || ((uintptr_t)p & 4095) != 0) {
        fprintf(stderr, "pvalloc: %s: %p is not page-aligned\n", what, p);
        return 1;
    }
    memset(p, 1, n);
    return 0;
}

static void free_blocks(void)
{
    for (int i = 0; i < 4; i++)
        free(blocks[i]);
}

int main(void)
{
    int bad = 0;
    blocks[0] = pvalloc(1);                        /* L:one_byte */
    bad |= check(blocks[0], 1, "pvalloc(1)");
    blocks[1] = pvalloc(0);                        /* L:zero */
    bad |= check(blocks[1], 0, "pvalloc(0)");
    blocks[2] = pvalloc(4097);                     /* L:two_pages */
    bad |= check(blocks[2], 4097, "pvalloc(4097)");
    blocks[3] = pvalloc(8192);                     /* L:exact */
    bad |= check(blocks[3], 8192, "pvalloc(8192)");
    free_blocks();                                 /* L:free_all */
    return bad;
}
