/* rss_fork_arena.c -- after fork, the child's new threads get the arenas
   of the parent's other threads.

   A thread T allocates 2000 blocks of 1000 bytes in its own arena,
   writes them and frees all but the last, which keeps T's heap from
   being trimmed: about 2 MB of free chunks stay resident in it.  Then
   the main thread forks.  In the child only the main thread goes on;
   glibc's fork handler has put T's arena on the free list, so the
   child's new thread U gets it, and U's 2000 blocks of 1000 bytes land
   in the free chunks T left: they make next to no page resident.  (Had
   U got an arena of its own, its blocks would be 2 MB of new pages.)
   A thread W, made first, does no malloc and waits to the end: under
   Valgrind the child's U then takes the thread slot W had, not T's, so
   that U's arena has to come from the free list.

   RSS metric (--metric rss, --units B), the child's trace:

     function u_work
       L:u_alloc   Increment within 64 KiB of the native RssAnon change
                   across L:child_thread (a few pages: the blocks that
                   T's free chunks cannot hold, from the heap's top, and
                   natively U's stack), far under 2 MB

   Run natively with MEMLINE_NATIVE_HWM=1, the child prints
   "child_thread: BYTES" on stdout: its RssAnon change across the
   creation and join of U.  The parent waits for the child, then lets T
   end. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "rss_native.h"

#define N     2000
#define BLOCK 1000

static char *t_blocks[N], *u_blocks[N];
static pthread_barrier_t t_ready;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t done_cond = PTHREAD_COND_INITIALIZER;
static int done;

/* Until the parent is done with the child. */
static void wait_done(void)
{
    pthread_mutex_lock(&lock);
    while (!done)
        pthread_cond_wait(&done_cond, &lock);
    pthread_mutex_unlock(&lock);
}

static void *t_work(void *arg)
{
    for (int i = 0; i < N; i++)
        if ((t_blocks[i] = malloc(BLOCK))) memset(t_blocks[i], 1, BLOCK); /* L:t_alloc */
    for (int i = 0; i < N - 1; i++)
        free(t_blocks[i]);                                    /* L:t_free */
    pthread_barrier_wait(&t_ready);
    wait_done();
    return arg;
}

static void *w_work(void *arg)
{
    wait_done();
    return arg;
}

static void *u_work(void *arg)
{
    for (int i = 0; i < N; i++)
        if ((u_blocks[i] = malloc(BLOCK))) memset(u_blocks[i], 2, BLOCK); /* L:u_alloc */
    return arg;
}

int main(void)
{
    pthread_t w, t, u;
    pthread_barrier_init(&t_ready, NULL, 2);
    if (pthread_create(&w, NULL, w_work, NULL) != 0 ||
        pthread_create(&t, NULL, t_work, NULL) != 0)
        return 1;
    pthread_barrier_wait(&t_ready);
    pid_t pid = fork();                                       /* L:fork */
    if (pid < 0)
        return 2;
    if (pid == 0) {
        rss_native_counted = "RssAnon";
        rss_native_begin();
        if (pthread_create(&u, NULL, u_work, NULL) != 0 ||
            pthread_join(u, NULL) != 0)                      /* L:child_thread */
            _exit(3);
        rss_native_step("child_thread");
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    pthread_mutex_lock(&lock);
    done = 1;
    pthread_cond_broadcast(&done_cond);
    pthread_mutex_unlock(&lock);
    pthread_join(t, NULL);
    pthread_join(w, NULL);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
