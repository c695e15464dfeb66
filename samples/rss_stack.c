/* rss_stack.c -- stack pages: a recursion DEPTH frames deep (1024, or
   argv[1]), each frame writing a 4 KiB local array: about 4 MiB of stack.

   RSS metric (--metric rss, --units B).  A stack page becomes resident
   when the program first writes it (DESIGN.md section 5), with the kind
   "stack".

   main calls below(), whose frame holds a 64 KiB array it never writes:
   that moves the stack pointer under every page written before (ld.so,
   libc's start-up and lazy binding reach a few KiB below main's frame)
   without making anything resident.  below() calls rec(DEPTH), which
   recurses down to rec(0): DEPTH + 1 frames of FRAME bytes each (4144
   with gcc 12 -O0: buf, the counter i, n, padding, saved rbp, return
   address).  Each frame writes its whole buf, i and n; with the return
   address and the saved rbp that covers the frame up to gaps of a few
   bytes, so every page the recursion reaches is written.

   The program works out what memline must report from its own addresses
   and writes it on stdout at the end (in the run being measured, so the
   stack's placement, which moves with the environment, is that run's):

     frame: FRAME
     recurse_pages: R = page(A_top) - page(A_deep), where A_top is the
         lowest byte rec(DEPTH) writes (before it reaches L:recurse) and
         A_deep the lowest byte rec(0) writes; page(a) = a / 4096.  Every
         page from A_deep's up to, not including, A_top's is first written
         during L:recurse, and A_top's page already is resident.  Frames
         lie FRAME bytes apart and write the same offsets, so A_top -
         A_deep = DEPTH x FRAME, and R = DEPTH x FRAME / 4096 whenever
         that is a whole number: for any FRAME that is a multiple of 16 (the
         x86-64 ABI keeps the stack 16-byte aligned) when DEPTH is a
         multiple of 256.  DEPTH 1024: R = 1036; DEPTH 256: R = 259.
     call_pages: C = page(T - 1) - page(A_deep) + 1, T one past the
         return address below() pushes when it calls rec(DEPTH): all the
         pages the recursion writes, rec(DEPTH)'s own included, none of
         them resident before (64 KiB below anything written earlier);
         below()'s own pushes land next to main's frame, where
         rss_native_init's calls wrote already.  C = R + 2 or R + 3,
         depending on where rec(DEPTH)'s 4144 bytes fall in pages.

     function rec
       L:recurse  Increment  R x 4096, all of kind stack
                  Occurrences DEPTH (every frame but rec(0))
                  Counted once per line even under recursion: the pages
                  of frames rec(DEPTH - 1) .. rec(0).
     function below / function main
       L:below, L:call  Increment  C x 4096 -- only when every frame of
                  the deepest stack is recorded (--depth above DEPTH + 3);
                  Mem usage = L:recurse's (both lines were running when
                  the recursion reached its deepest point, the high-water)
                  With the default --depth=64, an event more than 64
                  frames down keeps its 64 innermost frames and does not
                  reach below() or main, so their lines miss those pages.

   Native peak is about 4 MiB + start-up, under the 16 MiB the RSS bar
   (DESIGN.md section 5) is about: no native comparison. */
#include <stddef.h>
#include <stdint.h>
#include "rss_native.h"

#define BUF   4096
#define PAD   (64 << 10)
#define PAGE  4096

static int depth = 1024;        /* DEPTH: argv[1] if given */
static char *low_at[2];         /* lowest byte written by rec(DEPTH), rec(0) */
static char *top_at;            /* one past rec(DEPTH)'s return address */
static long long frame;         /* FRAME, measured */

/* The lowest of three addresses. */
static char *lowest(char *a, char *b, char *c)
{
    char *m = a < b ? a : b;
    return m < c ? m : c;
}

static int rec(int n)
{
    char buf[BUF];
    size_t i;
    for (i = 0; i < BUF; i++) buf[i] = (char)n;          /* L:fill */
    if (n == depth) {
        low_at[0] = lowest(buf, (char *)&i, (char *)&n);
        top_at = (char *)__builtin_frame_address(0) + 2 * sizeof(void *);
    } else if (n == depth - 1) {
        frame = lowest(buf, (char *)&i, (char *)&n) - low_at[0];
        frame = -frame;
    }
    if (n == 0) {
        low_at[1] = lowest(buf, (char *)&i, (char *)&n);
        return buf[BUF - 1];
    }
    return rec(n - 1) + buf[0];                          /* L:recurse */
}

static int below(void)
{
    char pad[PAD];                  /* never written: never resident */
    return rec(depth) + (int)sizeof pad - PAD;           /* L:below */
}

static long long page_of(const char *p)
{
    return (long long)((uintptr_t)p / PAGE);
}

int main(int argc, char **argv)
{
    rss_native_init();
    if (argc > 1)
        depth = atoi(argv[1]);
    int r = below();                                     /* L:call */
    rss_native_put(1, "frame", frame);
    rss_native_put(1, "recurse_pages", page_of(low_at[0]) - page_of(low_at[1]));
    rss_native_put(1, "call_pages", page_of(top_at - 1) - page_of(low_at[1]) + 1);
    (void)r;
    return 0;
}
