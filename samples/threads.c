/* threads.c -- allocations in four threads.

   Each of 4 threads allocates 10000 bytes at the same line and returns;
   main joins them all, then frees the blocks.  Valgrind runs one thread at
   a time; memline attributes each thread's allocation to that thread's
   own stack (worker <- start_thread), so main's lines do not see it.

     function worker
       L:worker_alloc  Increment 40000  Occurrences 4
     function main
       L:free_all      Increment -40000 Occurrences 5 (one-line loop)

   pthread_create allocates thread bookkeeping of glibc's choosing (its
   size is not ours to state; 4 x 272 B with glibc 2.36): the peak is
   40000 B plus that, compared with Massif's. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define NTHREADS 4

static char *blocks[NTHREADS];

static void *worker(void *arg)
{
    long i = (long)arg;
    blocks[i] = malloc(10000);                        /* L:worker_alloc */
    memset(blocks[i], (int)i, 10000);
    return NULL;
}

int main(void)
{
    pthread_t t[NTHREADS];
    long i;

    for (i = 0; i < NTHREADS; i++)
        if (pthread_create(&t[i], NULL, worker, (void *)i) != 0) /* L:create */
            return 1;
    for (i = 0; i < NTHREADS; i++)
        pthread_join(t[i], NULL);                     /* L:join */
    for (i = 0; i < NTHREADS; i++) free(blocks[i]);   /* L:free_all */
    return 0;
}
