/* rss_arenas.c -- glibc's arenas: threads that allocate at the same time
   get heaps of their own.

   glibc serves a thread other than the first from an arena of its own,
   made at its first malloc (while there are fewer than 8 per CPU), so
   four threads that each keep about 1.2 MB of small blocks live at the
   same time hold four heaps, not one.  Under Valgrind the threads run one
   at a time, but they are all alive here (a barrier before their work and
   one in its middle), so memline's model gives each its own arena as
   glibc does (vg-tool/ml_rss.c, "Arenas").  Each thread, 20 times:
   allocates 2000 blocks of 100..1080 bytes (the first 100 written), then
   frees them all; at round 10 it waits for the others.

   RSS metric.  Peak and final RSS within 5% of the native run's (run with
   MEMLINE_NATIVE_HWM=1, it prints its VmHWM and VmRSS at exit on stderr,
   rss_native.h): about 6 MB both.  Small chunks freed go to the tcache,
   the fastbins and the bins, and no free is big enough to trim a heap:
   each arena keeps its memory to the end.  (Played on one arena for
   all, the same calls give the same peak but let the heap's top be
   trimmed once the threads' chunks coalesce: 1.8 MB at the end.) */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "rss_native.h"

#define THREADS 4
#define BLOCKS  2000

static pthread_barrier_t start, middle;

static void *work(void *arg)
{
    static __thread char *p[BLOCKS];
    pthread_barrier_wait(&start);
    for (int r = 0; r < 20; r++) {
        for (int i = 0; i < BLOCKS; i++)
            if ((p[i] = malloc(100 + (size_t)(i % 50) * 20)) != NULL)
                memset(p[i], 1, 100);
        if (r == 10)
            pthread_barrier_wait(&middle);
        for (int i = 0; i < BLOCKS; i++)
            free(p[i]);
    }
    return arg;
}

int main(void)
{
    pthread_t t[THREADS];
    rss_native_init();
    pthread_barrier_init(&start, NULL, THREADS);
    pthread_barrier_init(&middle, NULL, THREADS);
    for (int i = 0; i < THREADS; i++)
        if (pthread_create(&t[i], NULL, work, NULL) != 0)
            return 1;
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    return 0;
}
