/* peakprobe.c -- an independent reference for the e2e tests: the true
   peak of requested heap bytes of a program run natively.

   Built by the tests as a shared object and LD_PRELOADed into a sample:

     cc -O2 -shared -fPIC -o peakprobe.so tests/e2e/peakprobe.c
     PEAKPROBE_OUT=FILE LD_PRELOAD=./peakprobe.so ./prog

   It interposes malloc, calloc, realloc, free, memalign, posix_memalign,
   aligned_alloc, valloc and pvalloc (C++'s operator new and delete call
   malloc and free), keeps the requested size of every live block in an
   open-addressing table, and at exit writes "peak N\n" to PEAKPROBE_OUT
   (stderr when unset): the largest total of live requested bytes after
   any call.  realloc counts as one change, new - old, as Massif and
   memline count it.  Massif is no exact reference for the peak: it picks
   its peak snapshot by heap + allocator slop, so on random sizes its
   largest mem_heap_B can fall a few bytes short of the true peak.

   Single-threaded programs only (the samples are). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

#define SLOTS (1u << 21)               /* power of two, > 2 x live blocks */

static void *key[SLOTS];
static size_t val[SLOTS];
static long long live_bytes, peak_bytes;

static size_t slot_of(const void *p)
{
    unsigned long long h = (unsigned long long)(size_t)p;
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 32;
    return (size_t)h & (SLOTS - 1);
}

static void add(void *p, size_t size)
{
    size_t i;
    if (!p)
        return;
    for (i = slot_of(p); key[i] && key[i] != p; i = (i + 1) & (SLOTS - 1))
        ;
    if (key[i] == p)
        live_bytes -= (long long)val[i];
    key[i] = p;
    val[i] = size;
    live_bytes += (long long)size;
    if (live_bytes > peak_bytes)
        peak_bytes = live_bytes;
}

/* Removes p (linear probing with backward-shift deletion, no tombstones);
   returns its size, 0 when unknown. */
static size_t del(void *p)
{
    size_t i, j, k, size;
    if (!p)
        return 0;
    for (i = slot_of(p); key[i] != p; i = (i + 1) & (SLOTS - 1))
        if (!key[i])
            return 0;
    size = val[i];
    live_bytes -= (long long)size;
    key[i] = NULL;
    for (j = (i + 1) & (SLOTS - 1); key[j]; j = (j + 1) & (SLOTS - 1)) {
        k = slot_of(key[j]);
        /* move key[j] into the hole at i unless its home k lies in (i, j] */
        if ((j > i && (k <= i || k > j)) || (j < i && (k <= i && k > j))) {
            key[i] = key[j];
            val[i] = val[j];
            key[j] = NULL;
            i = j;
        }
    }
    return size;
}

void *malloc(size_t n)
{
    void *p = __libc_malloc(n);
    add(p, n);
    return p;
}

void *calloc(size_t a, size_t b)
{
    void *p = __libc_calloc(a, b);
    add(p, a * b);
    return p;
}

void free(void *p)
{
    del(p);
    __libc_free(p);
}

void *realloc(void *old, size_t n)
{
    void *p;
    if (!old)
        return malloc(n);
    p = __libc_realloc(old, n);
    if (n == 0) {                      /* glibc: frees, returns NULL */
        del(old);
        return p;
    }
    if (!p)
        return NULL;                   /* old block untouched */
    /* one change of n - old: removing first only lowers the total, so no
       peak is seen between the two steps */
    del(old);
    add(p, n);
    return p;
}

void *memalign(size_t align, size_t n)
{
    void *p = __libc_memalign(align, n);
    add(p, n);
    return p;
}

void *aligned_alloc(size_t align, size_t n)
{
    return memalign(align, n);
}

int posix_memalign(void **out, size_t align, size_t n)
{
    void *p = __libc_memalign(align, n);
    if (!p)
        return 12;                     /* ENOMEM */
    add(p, n);
    *out = p;
    return 0;
}

void *valloc(size_t n)
{
    return memalign((size_t)sysconf(_SC_PAGESIZE), n);
}

void *pvalloc(size_t n)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    return memalign(page, (n + page - 1) / page * page);
}

static void put_num(char *buf, size_t *len, long long v)
{
    char d[24];
    int n = 0;
    if (v == 0)
        d[n++] = '0';
    while (v > 0) {
        d[n++] = (char)('0' + v % 10);
        v /= 10;
    }
    while (n > 0)
        buf[(*len)++] = d[--n];
}

__attribute__((destructor)) static void report(void)
{
    char buf[64];
    size_t len = 0;
    const char *path = getenv("PEAKPROBE_OUT");
    int fd = 2;
    memcpy(buf, "peak ", 5);
    len = 5;
    put_num(buf, &len, peak_bytes);
    buf[len++] = '\n';
    if (path && (fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0)
        return;
    if (write(fd, buf, len) < 0)
        return;
    if (fd != 2)
        close(fd);
}
