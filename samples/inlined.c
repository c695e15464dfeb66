/* inlined.c -- an allocation in a function the compiler inlines.

   Built -O0 by the Makefile like every sample (then nothing is inlined);
   the test that uses it (tests/e2e/cases.sh, inline_frames) builds its
   own copy with -O2, where make() is inlined into main.  Run with no
   arguments, n = 1 MiB.

   What memline must report (heap metric, --units B), read from the
   executable's inlined-frame debug info:
     inlined function make
       L:inl_malloc  Increment  3145728  (1 MiB + 2 MiB)   Occurrences 2
     function main
       L:first       Increment  1048576
       L:second      Increment  2097152
   Occurrences at -O0 (make() and count_to() are always_inline, so they
   are inlined there too): L:first 1, L:second 1 (its own code resumes
   after the inlined body: no new entry), L:inl_malloc 2, L:loops 1
   (two inlined loops, 4 and 2 iterations, on one line), L:inl_loop 8
   (the for line: entered, then once per i++: 5 + 3), L:inl_twice 2 (a
   callee inlined on two consecutive lines, L:twice1 and L:twice2, with no
   branch between: two instances of its line, one entry each).
   Without inlined frames (--read-inline-info=no) the two calls' lines
   would get nothing: the allocations would be charged to make's line
   only, as if it were a line of main. */
#include <stdlib.h>
#include <string.h>

static inline __attribute__((always_inline)) char *make(size_t n)
{
    char *p = malloc(n);                       /* L:inl_malloc */
    if (p)
        memset(p, 1, n);
    return p;
}

/* A loop inside inlined code: its backward jumps are iterations of the
   loop's lines, not new entries of the line that calls it. */
static inline __attribute__((always_inline)) int count_to(int n)
{
    int s = 0;
    for (int i = 0; i < n; i++)                /* L:inl_loop */
        s += i;
    return s;
}

static inline __attribute__((always_inline)) size_t twice(size_t v)
{
    return v * 2;                              /* L:inl_twice */
}

int main(int argc, char **argv)
{
    size_t n = (size_t)argc << 20;
    size_t d = twice(n);                       /* L:twice1 */
    size_t e = twice(d);                       /* L:twice2 */
    char *a = make(n);                         /* L:first */
    char *b = make(2 * n);                     /* L:second */
    int c = count_to(argc * 4) + count_to(argc * 2);   /* L:loops */
    int r = a && b && c == 7 && e == 4 * n ? a[5] + b[7] : 0;
    free(a);
    free(b);
    (void)argv;
    return r == 2 ? 0 : 1;
}
