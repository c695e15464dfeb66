/* forker.c -- a forked child writes its own trace.

   The parent allocates 1000 bytes, forks; the child inherits that block,
   allocates 200000 more and exits; the parent waits for it, then
   allocates 300000.  Run with --memline-out-file=DIR/memline.out.%p:
   two traces appear, one per process, each with its own numbers.

     child's trace (the 1000-byte block is inherited and live):
       L:child      Increment  200000  Occurrences 1
       L:parent     never executed (blank)
       peak 201000 B, leaked at exit 201000 B in 2 blocks
     parent's trace:
       L:before     Increment    1000  Occurrences 1
       L:parent     Increment  300000  Occurrences 1
       L:child      never executed (blank)
       peak 301000 B, leaked at exit 301000 B in 2 blocks

   With the argument "nested" the child first forks a grandchild, which
   allocates 50000 bytes (L:grandchild) and exits, and waits for it; the
   grandchild's trace: peak 51000 B, leaked 51000 B in 2 blocks.  Given a
   file name without %p, three traces must appear and none overwrite
   another (a grandchild's default name is its grandparent's). */
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static void grandchild(void)
{
    pid_t pid = fork();                       /* L:fork_grandchild */
    if (pid < 0)
        exit(2);
    if (pid == 0) {
        char *g = malloc(50000);              /* L:grandchild */
        memset(g, 4, 50000);
        exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        exit(3);
}

int main(int argc, char **argv)
{
    int nested = argc > 1 && strcmp(argv[1], "nested") == 0;
    char *before = malloc(1000);              /* L:before */
    memset(before, 1, 1000);
    pid_t pid = fork();                       /* L:fork */
    if (pid < 0)
        return 2;
    if (pid == 0) {
        if (nested)
            grandchild();
        char *c = malloc(200000);             /* L:child */
        memset(c, 2, 200000);
        exit(0);                              /* L:child_exit */
    }
    int status = 0;
    waitpid(pid, &status, 0);                 /* L:wait */
    char *p = malloc(300000);                 /* L:parent */
    memset(p, 3, 300000);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
