/* slots.c -- the allocator's contract as the client sees it, for small
   blocks reused many times (memline serves them from size classes with
   --rss=no): contents survive realloc within and across size classes,
   calloc returns zeros in a slot a dirty block just left, alignment
   requests are honoured, malloc_usable_size covers the request, and no
   two live blocks overlap.  Exits 1 with a message on the first broken
   promise, 0 otherwise.

   Heap (exact, in bytes):
     L:fill      64 blocks of 1..1009 bytes (block i: 16 * i + 1 bytes,
                 i = 0..63), live together      Increment 32320
     L:grow      each block realloc'd to twice its size plus 7 (the same
                 slot for block 0, another class for the rest)
                                                Increment 32768
     L:shrink    each realloc'd back to 16 * i + 1 bytes
                                                Increment -32768
     L:drop      all freed                      Increment -32320
     L:zero      10,000 rounds of: a 200-byte block filled with 0xA5 and
                 freed, then calloc(25, 8) checked for zeros and freed
     L:align     memalign(64, 40), posix_memalign(&p, 32, 24),
                 aligned_alloc(16, 48) checked for alignment, freed
   Peak heap 65088 B (32320 + 32768, after L:grow); nothing leaked. */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N 64

static unsigned char *blk[N];
static size_t len[N];

static void check(int ok, const char *what, int i)
{
    if (!ok) {
        fprintf(stderr, "slots: %s (block %d)\n", what, i);
        exit(1);
    }
}

static void check_pattern(int i, size_t n)
{
    for (size_t k = 0; k < n; k++)
        check(blk[i][k] == (unsigned char)(i * 7 + k), "contents lost", i);
}

static void check_disjoint(void)
{
    for (int i = 0; i < N; i++)
        for (int j = i + 1; j < N; j++)
            check(blk[i] + len[i] <= blk[j] || blk[j] + len[j] <= blk[i],
                  "live blocks overlap", i);
}

int main(void)
{
    int i;
    for (i = 0; i < N; i++) {
        len[i] = 16 * (size_t)i + 1;
        blk[i] = malloc(len[i]);                                /* L:fill */
        check(blk[i] != NULL, "malloc failed", i);
        check(((uintptr_t)blk[i] & 15) == 0, "malloc not 16-aligned", i);
        check(malloc_usable_size(blk[i]) >= len[i], "usable size too small", i);
        for (size_t k = 0; k < len[i]; k++)
            blk[i][k] = (unsigned char)(i * 7 + k);
    }
    check_disjoint();
    for (i = 0; i < N; i++) {
        size_t old = len[i];
        len[i] = 2 * old + 7;
        blk[i] = realloc(blk[i], len[i]);                       /* L:grow */
        check(blk[i] != NULL, "realloc failed", i);
        check_pattern(i, old);
        for (size_t k = old; k < len[i]; k++)
            blk[i][k] = (unsigned char)(i * 7 + k);
    }
    check_disjoint();
    for (i = 0; i < N; i++) {
        len[i] = 16 * (size_t)i + 1;
        blk[i] = realloc(blk[i], len[i]);                       /* L:shrink */
        check(blk[i] != NULL, "realloc failed", i);
        check_pattern(i, len[i]);
    }
    check_disjoint();
    for (i = 0; i < N; i++)
        free(blk[i]);                                           /* L:drop */
    for (i = 0; i < 10000; i++) {
        unsigned char *d = malloc(200);
        memset(d, 0xA5, 200);
        free(d);
        unsigned char *z = calloc(25, 8);                       /* L:zero */
        for (int k = 0; k < 200; k++)
            check(z[k] == 0, "calloc block not zeroed", k);
        free(z);
    }
    void *a = memalign(64, 40), *b = NULL, *c = aligned_alloc(16, 48);
    check(posix_memalign(&b, 32, 24) == 0, "posix_memalign failed", 0);
    check(((uintptr_t)a & 63) == 0, "memalign(64) misaligned", 0);  /* L:align */
    check(((uintptr_t)b & 31) == 0, "posix_memalign(32) misaligned", 0);
    check(((uintptr_t)c & 15) == 0, "aligned_alloc(16) misaligned", 0);
    free(a);
    free(b);
    free(c);
    return 0;
}
