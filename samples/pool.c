/* pool.c -- a custom pool allocator annotated with Valgrind's client
   requests, and a memline mark.

   The pool takes one 65536-byte arena from malloc and hands out pieces,
   announcing each with VALGRIND_MALLOCLIKE_BLOCK; memline counts those
   like malloc'd blocks (as Massif does: the arena and its pieces both
   count, so the peak is 65536 + 8000).

     function main
       L:init        Increment  65536  Occurrences 1
       L:alloc_a     Increment   3000  Occurrences 1
       L:alloc_b     Increment   5000  Occurrences 1  Mem usage 73536
       L:mark        Increment      0  (MEMLINE_MARK("two pieces"))
       L:resize      Increment  -2000  (RESIZEINPLACE 3000 -> 1000)
       L:free_b      Increment  -5000
       L:free_a      Increment  -1000
       L:free_arena  Increment -65536
     function pool_alloc
       L:malloclike  Increment   8000  Occurrences 2

   Summary: peak 73536 B (equal to Massif's), nothing leaked. */
#include <stdlib.h>
#include "memline.h"

struct pool {
    char *base;
    size_t used, size;
};

static void pool_init(struct pool *p, size_t size)
{
    p->base = malloc(size);                           /* L:arena */
    p->used = 0;
    p->size = size;
}

static void *pool_alloc(struct pool *p, size_t n)
{
    char *r = p->base + p->used;
    p->used += (n + 15) & ~(size_t)15;
    VALGRIND_MALLOCLIKE_BLOCK(r, n, 0, 0);            /* L:malloclike */
    return r;
}

static void pool_free(struct pool *p, void *r)
{
    (void)p;
    VALGRIND_FREELIKE_BLOCK(r, 0);                    /* L:freelike */
}

int main(void)
{
    struct pool pool;
    pool_init(&pool, 65536);                          /* L:init */
    char *a = pool_alloc(&pool, 3000);                /* L:alloc_a */
    char *b = pool_alloc(&pool, 5000);                /* L:alloc_b */
    MEMLINE_MARK("two pieces");                       /* L:mark */
    VALGRIND_RESIZEINPLACE_BLOCK(a, 3000, 1000, 0);   /* L:resize */
    pool_free(&pool, b);                              /* L:free_b */
    pool_free(&pool, a);                              /* L:free_a */
    free(pool.base);                                  /* L:free_arena */
    return 0;
}
