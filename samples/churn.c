/* churn.c -- allocation-heavy workload for scripts/bench.sh.

   usage: churn [SCALE]      SCALE (default 1.0) multiplies every phase;
                              the e2e tests run "churn 0.02".

   Deterministic (a fixed linear congruential generator), no stdio, so two
   runs make the same allocations in the same order.  At SCALE 1 it makes
   4,142,251 allocations (reallocs included) and as many frees, peaks at
   22262388 B, and runs for about a second natively:

     mixed    2,000,000 malloc/free pairs of varied sizes over a pool of
              8192 live slots (70% 8..135 B, 25% 136..4231 B, 5% up to
              64 KiB), each block's first and last byte written;
     tree     a complete binary tree of depth 16 (65535 nodes of 32 B,
              each with a 16..79 B payload), summed and freed, 8 times;
     strings  100,000 strings grown by realloc in 16-byte steps until
              they hold 40..295 bytes, then freed;
     vector   one array grown by doubling with realloc up to 8 MiB.

   Below SCALE 1 the tree has depth 10 and the vector stops at 64 KiB.

   Run with MEMLINE_NATIVE_HWM=1, it prints its own VmHWM and VmRSS at
   exit on stderr (rss_native.h).

   The exact heap numbers are not stated here: the e2e test compares
   memline's peak with the true peak of requested bytes, measured natively
   by tests/e2e/peakprobe.c (churn 0.02: 20488300 B).  Massif is not
   exact here: it decides when to take its peak snapshot from the heap
   *plus* the allocator's slop (even with --heap-admin=0), so its largest
   mem_heap_B misses the true peak by a few bytes (20488285 B). */
#include <stdlib.h>
#include <string.h>
#include "rss_native.h"

static unsigned long long rng_state = 0x9e3779b97f4a7c15ull;

static unsigned rnd(void)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (unsigned)(rng_state >> 33);
}

static size_t pick_size(void)
{
    unsigned r = rnd() % 100;
    if (r < 70)
        return 8 + rnd() % 128;
    if (r < 95)
        return 136 + rnd() % 4096;
    return 4232 + rnd() % (65536 - 4232);
}

#define SLOTS 8192

static unsigned long mixed(long iterations)
{
    static char *slot[SLOTS];
    static size_t slot_size[SLOTS];
    unsigned long check = 0;
    long i;

    for (i = 0; i < iterations; i++) {
        unsigned j = rnd() % SLOTS;
        if (slot[j]) {
            check += (unsigned char)slot[j][slot_size[j] - 1];
            free(slot[j]);
        }
        slot_size[j] = pick_size();
        slot[j] = malloc(slot_size[j]);
        slot[j][0] = (char)i;
        slot[j][slot_size[j] - 1] = (char)j;
    }
    for (i = 0; i < SLOTS; i++) {
        free(slot[i]);
        slot[i] = NULL;
    }
    return check;
}

struct node {
    struct node *left, *right;
    char *payload;
    unsigned long value;
};

static struct node *build(int depth)
{
    struct node *n = malloc(sizeof *n);
    size_t len = 16 + rnd() % 64;
    n->payload = malloc(len);
    n->payload[0] = (char)len;
    n->value = len;
    n->left = depth > 1 ? build(depth - 1) : NULL;
    n->right = depth > 1 ? build(depth - 1) : NULL;
    return n;
}

static unsigned long sum_free(struct node *n)
{
    unsigned long s;
    if (!n)
        return 0;
    s = n->value + sum_free(n->left) + sum_free(n->right);
    free(n->payload);
    free(n);
    return s;
}

static unsigned long strings(long count)
{
    char **s = malloc((size_t)count * sizeof *s);
    unsigned long check = 0;
    long i;

    for (i = 0; i < count; i++) {
        size_t target = 40 + rnd() % 256, len;
        char *p = NULL;
        for (len = 16; len < target + 16; len += 16) {
            p = realloc(p, len);
            p[len - 1] = 'x';
        }
        s[i] = p;
    }
    for (i = 0; i < count; i++) {
        check += (unsigned char)s[i][15];
        free(s[i]);
    }
    free(s);
    return check;
}

static unsigned long vector(size_t limit)
{
    size_t cap = 16, n;
    char *v = malloc(cap);
    unsigned long check = 0;

    for (n = 0; cap < limit; n++) {
        if (n == cap) {
            cap *= 2;
            v = realloc(v, cap);
        }
        v[n] = (char)n;
    }
    check = (unsigned char)v[n / 2];
    free(v);
    return check;
}

int main(int argc, char **argv)
{
    double scale = argc > 1 ? atof(argv[1]) : 1.0;
    unsigned long check = 0;
    int t, rounds = (int)(8 * scale + 0.5);

    rss_native_init();
    if (scale <= 0)
        return 2;
    check += mixed((long)(2000000 * scale));
    for (t = 0; t < (rounds > 0 ? rounds : 1); t++) {
        struct node *root = build(scale >= 1 ? 16 : 10);
        check += sum_free(root);
    }
    check += strings((long)(100000 * scale) + 1);
    check += vector(scale >= 1 ? (8u << 20) : (64u << 10));
    return check == 0 ? 1 : 0;
}
