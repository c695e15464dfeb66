/* execer.c -- execve: the trace is completed before the exec, and the new
   image (same pid) writes its own trace without overwriting it.

   Run as `execer` (by its full path): allocates 4000 bytes, then execs
   itself as `execer again`, which allocates 7000 bytes and exits.  Under
   `valgrind --trace-children=yes --tool=memline
   --memline-out-file=DIR/memline.out.%p` two traces appear:

     DIR/memline.out.PID     complete (ended by the exec):
       L:before_exec  Increment 4000  Occurrences 1
       L:after_exec   never executed (blank)
       peak 4000 B, 4000 B in 1 block live at the exec
     DIR/memline.out.PID.1   the exec'd image:
       L:after_exec   Increment 7000  Occurrences 1
       L:before_exec  never executed (blank)
       peak 7000 B, leaked at exit 7000 B in 1 block */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "again") == 0) {
        char *q = malloc(7000);                       /* L:after_exec */
        q[0] = 1;
        return 0;
    }
    char *p = malloc(4000);                           /* L:before_exec */
    p[0] = 1;
    execl(argv[0], argv[0], "again", (char *)NULL);   /* L:exec */
    return 1;
}
