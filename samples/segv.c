/* segv.c -- dies of SIGSEGV after allocating; the trace must still be
   complete (the tool's fini runs on a fatal signal and writes the
   trailer).

     L:alloc     Increment 123456  Occurrences 1
     L:crash     Occurrences 1 (the store through NULL)

   Summary: trace complete (exit by signal 11), peak 123456 B, leaked at
   exit 123456 B in 1 block.  Under the shell the process ends with
   status 139 (128 + SIGSEGV). */
#include <stdlib.h>
#include <string.h>

int main(void)
{
    char *p = malloc(123456);                 /* L:alloc */
    memset(p, 7, 123456);
    volatile int *np = NULL;
    *np = p[100];                             /* L:crash */
    return 0;
}
