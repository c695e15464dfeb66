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
       peak 301000 B, leaked at exit 301000 B in 2 blocks */
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
    char *before = malloc(1000);              /* L:before */
    memset(before, 1, 1000);
    pid_t pid = fork();                       /* L:fork */
    if (pid < 0)
        return 2;
    if (pid == 0) {
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
