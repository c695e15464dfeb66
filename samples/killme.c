/* killme.c -- runs until killed; for the killed-run recovery test.

   Allocates and touches 1 MiB at once (L:first), then loops forever
   allocating and freeing 64 bytes with a 1 ms sleep between, so the tool
   keeps getting control and flushes its buffer at least once a second.
   After SIGKILL the trace has no trailer; the analyzer must say where it
   was cut and still report everything before the cut:

     L:first     Increment 1048576
                 Occurrences 1 once the tool has written a line-table
                 checkpoint (every 10 s), blank before that

   With an argument N it stops by itself after N iterations (for a quick
   native check). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

int main(int argc, char **argv)
{
    long limit = argc > 1 ? atol(argv[1]) : -1;
    struct timespec ms = { 0, 1000000 };
    long n;
    char *first = malloc(1 << 20);            /* L:first */
    memset(first, 1, 1 << 20);
    for (n = 0; limit < 0 || n < limit; n++) {
        char *p = malloc(64);                 /* L:tick */
        p[0] = (char)n;
        free(p);
        nanosleep(&ms, NULL);
    }
    free(first);
    return 0;
}
