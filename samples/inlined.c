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

int main(int argc, char **argv)
{
    size_t n = (size_t)argc << 20;
    char *a = make(n);                         /* L:first */
    char *b = make(2 * n);                     /* L:second */
    int r = a && b ? a[5] + b[7] : 0;
    free(a);
    free(b);
    (void)argv;
    return r == 2 ? 0 : 1;
}
