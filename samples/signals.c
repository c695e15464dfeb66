/* signals.c -- the instruction clock across signal handlers.

   usage: signals K     (K: digits; 1000, 2000, 3000 have the same length,
                         so only the handler's loop differs between them)

   Raises SIGUSR1 eight times; the handler runs a loop of K iterations and
   returns.  Between two values of K, a run executes 8 * (K2 - K1) more
   iterations of the handler's loop and nothing else different, so the
   difference of the instruction totals is the same for memline's clock
   as for any exact count of guest instructions (Valgrind's lackey): the
   handler's instructions counted once, none lost when the signal frame
   restores the interrupted state, none counted twice.  One allocation
   of 1000 bytes, freed. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

static volatile unsigned long sink;
static long iterations;

static void handler(int sig)
{
    for (long i = 0; i < iterations; i++)
        sink += (unsigned long)i ^ (unsigned long)sig;
}

int main(int argc, char **argv)
{
    iterations = argc > 1 ? strtol(argv[1], NULL, 10) : 1000;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGUSR1, &sa, NULL) != 0)
        return 1;
    char *p = malloc(1000);
    for (int r = 0; r < 8; r++)
        raise(SIGUSR1);
    p[0] = (char)sink;
    free(p);
    return 0;
}
