/* kinds.c -- every C allocation function memline intercepts, once each.

     L:malloc         Increment   100  Occurrences 1
     L:calloc         Increment   300  (calloc(3, 100))
     L:memalign       Increment   200  (memalign(64, 200))
     L:posix_memalign Increment   400  (posix_memalign(&p, 128, 400))
     L:aligned_alloc  Increment  8192  (aligned_alloc(4096, 8192))
     L:valloc         Increment   500  (valloc(500))
     L:strdup         Increment    12  (strdup of an 11-character string:
                                        libc's malloc call is replaced too)
     L:realloc        Increment   900  (realloc of the 100-byte block to 1000)
     L:free_all       Increment -10604 (every block above)

   Summary: peak 10604 B (equal to Massif's), nothing leaked. */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

static void *blocks[8];

static void free_blocks(void)
{
    int i;
    for (i = 0; i < 8; i++) free(blocks[i]);
}

int main(void)
{
    void *p = NULL;
    blocks[0] = malloc(100);                      /* L:malloc */
    blocks[1] = calloc(3, 100);                   /* L:calloc */
    blocks[2] = memalign(64, 200);                /* L:memalign */
    if (posix_memalign(&p, 128, 400) != 0)        /* L:posix_memalign */
        return 1;
    blocks[3] = p;
    blocks[4] = aligned_alloc(4096, 8192);        /* L:aligned_alloc */
    blocks[5] = valloc(500);                      /* L:valloc */
    blocks[6] = strdup("hello world");            /* L:strdup */
    blocks[0] = realloc(blocks[0], 1000);         /* L:realloc */
    free_blocks();                                /* L:free_all */
    return 0;
}
