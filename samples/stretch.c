/* stretch.c -- lines run in one superblock, each with its own Mem usage.

   The tool updates one high-water mark for the lines a superblock enters
   between two exits, and, for the resident set, between two page checks
   that may make a page resident (vg-tool/ml_lines.c, "Shared high-water
   marks").  This sample has a line past a conditional exit and a line
   past a page made resident in one superblock, whose Mem usage must
   stay their own:

   probe(enter) enters L:pr_first and L:pr_test, then L:pr_body only when
   enter is set (past the test's exit; Valgrind 3.19 ends the superblock
   at the conditional jump, so the body's line is in the next one, and a
   stretch of one superblock goes on past an exit only in the loops VEX
   unrolls, which repeat the same lines).  main calls probe(1)
   with nothing allocated and probe(0) while it holds 1 MiB; heap metric:
       L:pr_first  Mem usage 1048576  Occurrences 2
       L:pr_test   Mem usage 1048576  Occurrences 2
       L:pr_body   Mem usage       0  Occurrences 1

   touch(p), one superblock, reads a fresh anonymous page (L:t_read: a
   read makes nothing resident), writes it (L:t_write: Increment 4096)
   and reads it again (L:t_again); rss metric: Mem usage of L:t_write
   and L:t_again is L:t_read's + 4096 (L:t_write's is the level after
   its page, a line's Mem usage being the highest level seen while it
   ran; L:t_again's is the level at its entry).

   Exit status 0. */
#include <stdlib.h>
#include <sys/mman.h>

static int sink;

static void probe(int enter)
{
    int x = enter;                              /* L:pr_first */
    if (!enter)                                 /* L:pr_test */
        return;
    sink += x;                                  /* L:pr_body */
}

static void touch(volatile char *p)
{
    char c = p[0];                              /* L:t_read */
    p[0] = (char)(c + 1);                       /* L:t_write */
    sink += p[1];                               /* L:t_again */
}

int main(void)
{
    probe(1);                                   /* L:m_probe1 */
    char *b = malloc(1 << 20);                  /* L:m_alloc */
    probe(0);                                   /* L:m_probe0 */
    free(b);                                    /* L:m_free */
    char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return 1;
    touch(p);                                   /* L:m_touch */
    munmap(p, 4096);
    return sink == 1 ? 0 : 2;
}
