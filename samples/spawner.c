/* spawner.c -- a forked child that only calls execve leaves no trace.

   The parent allocates 1000 bytes (L:before), forks, waits for the child,
   then allocates 3000 more (L:parent).  What the child does depends on
   the argument:

     exec    execs this program as `spawner leaf` at once (no allocation
             of its own); the leaf allocates 7000 bytes (L:leaf) and exits.
     retry   first tries to exec a path that does not exist (execve fails
             with ENOENT), then allocates 123 bytes (L:after_failed_exec)
             and exits.

   Under `valgrind --tool=memline --memline-out-file=DIR/memline.out`:

     exec, --trace-children=no: one trace, DIR/memline.out, the parent's
       (L:before 1000, L:parent 4000 / +3000, peak 4000 B, 2 blocks
       leaked).  The child's trace, opened at the fork, is removed before
       its execve: it holds nothing but what the child inherited.
     exec, --trace-children=yes: two traces, the parent's and the leaf
       image's, DIR/memline.out.PID (L:leaf 7000, peak 7000 B).
     retry: two traces, the parent's and the child's, DIR/memline.out.PID,
       complete: written again after the failed execve, with the 1000-byte
       block inherited (Inherited: 1000 B in 1 block) and L:after_failed_exec
       1123 / +123 (peak 1123 B, 1123 B in 2 blocks leaked). */
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "exec";
    if (strcmp(mode, "leaf") == 0) {
        char *l = malloc(7000);                        /* L:leaf */
        memset(l, 1, 7000);
        return 0;
    }
    char *before = malloc(1000);                       /* L:before */
    memset(before, 1, 1000);
    pid_t pid = fork();
    if (pid < 0)
        return 2;
    if (pid == 0) {
        if (strcmp(mode, "retry") == 0) {
            execl("/nonexistent/memline-spawner", "x", (char *)NULL);
            char *c = malloc(123);                     /* L:after_failed_exec */
            memset(c, 2, 123);
            _exit(0);
        }
        execl(argv[0], argv[0], "leaf", (char *)NULL);
        _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    char *p = malloc(3000);                            /* L:parent */
    memset(p, 3, 3000);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
