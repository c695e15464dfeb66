/* rss_group.c -- one straight run of code that accesses memory through
   one pointer, one access per line.

   The tool checks such a group of accesses with one inline test of the
   pages they can reach, and, in code without line counters (--lines=no,
   or functions outside --fns), with one helper call at the first access
   for the whole group.  That call must still charge each page to the line
   whose access touched it first, with that line's stack, exactly as a
   check per access does (which line-counted code keeps).

   touch(p) is one superblock: a prologue, five accesses through p (kept
   in rbx: a register variable, which gcc honours at -O0), an epilogue.
   p points 2048 bytes into a fresh page-aligned anonymous mapping, so
   p[0 .. 2047] lie on its first page and p[2048 .. 6143] on its second.

   RSS metric (--metric rss, --units B), functions touch and main:

     L:first    p[0] = 1        +4096   first page, first written
     L:again    p[1024] = 2         0   first page again
     L:load     x = p[100]          0   a read of a resident page
     L:second   p[2048] = 3     +4096   second page, first written
     L:last     p[4095] = 4         0   second page again
     L:call     touch(m + 2048) +8192   both pages (touch's own frame
                                        lands on stack pages that are
                                        resident already)

   Each of touch's lines runs once.

   alias(b), b the mapping's third page (b[0 .. 4095], the fourth page
   after it): accesses through two registers, p = b + 100 and
   q = b + 4104, whose pages meet.  p's two accesses are one group, and
   q's access falls between them, on the page of p's second:

     L:p_first  p[0] = 1        +4096   third page, first written
     L:q_first  q[0] = 2        +4096   fourth page, first written here
     L:p_later  p[4000] = 3         0   fourth page again (b + 4100)
     L:call2    alias(m + 8192) +8192

   A call for p's group that also took p[4000]'s page before q[0] ran
   would charge the fourth page to L:p_later instead.

   The same numbers must come out with line counters (a check per
   access), without (--lines=no: one call per group), and with
   --vex-guest-chase=yes, where VEX follows main's calls into touch and
   alias and the caller's and callee's stack accesses meet in one
   superblock: a group must not reach across the call. */
#include <stdio.h>
#include <sys/mman.h>

static int touch(volatile char *base)
{
    register volatile char *p = base;
    int x;
    p[0] = 1;                                   /* L:first */
    p[1024] = 2;                                /* L:again */
    x = p[100];                                 /* L:load */
    p[2048] = 3;                                /* L:second */
    p[4095] = 4;                                /* L:last */
    return x;
}

static void alias(volatile char *b)
{
    register volatile char *p = b + 100;
    register volatile char *q = b + 4104;
    p[0] = 1;                                   /* L:p_first */
    q[0] = 2;                                   /* L:q_first */
    p[4000] = 3;                                /* L:p_later */
}

int main(void)
{
    char *m = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return 1;
    int x = touch(m + 2048);                    /* L:call */
    alias(m + 8192);                            /* L:call2 */
    printf("x: %d\n", x);
    return 0;
}
