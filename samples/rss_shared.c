/* rss_shared.c -- shared anonymous memory, a mapping put over another
   one, madvise(MADV_FREE), System V shared memory, and /dev/zero mapped.

   Shared anonymous memory (MAP_SHARED | MAP_ANONYMOUS) is the kernel's
   shmem: reading a page that was never written allocates it, as writing
   does, where private anonymous memory maps the shared zero page.  A
   mapping made with MAP_FIXED over another one replaces it: the old
   pages go.  MADV_FREE only marks pages as freeable: the kernel takes
   them back when memory runs short, and until then they stay mapped and
   counted (a write keeps them).  A System V shared memory segment, like
   shared anonymous memory, gets a page at the first access of any kind;
   a read maps no pages around it (the kernel's fault-around maps only
   pages that exist, and a new segment has none).  A mapping of /dev/zero
   is anonymous memory: private, reads map the zero page; shared, shmem.

   RSS metric (--metric rss, --units B), function main.  Each L: line,
   its Increment, and why (MiB = 1048576 B, 256 pages):

     L:map_s       s: 2 MiB, shared anonymous                0
     L:read_s      one byte read per page of its first MiB
                                                    +1048576  shmem pages
     L:write_s     one byte written per page of all of it
                                                    +1048576  the second MiB
     L:unmap_s     munmap(s)                        -2097152
     L:map_t       t: 1 MiB, shared anonymous                0
     L:write_t     one byte written per page        +1048576
     L:fixed       a private anonymous mapping over t (MAP_FIXED)
                                                    -1048576  t's pages go
     L:read_fixed  one byte read per page                    0  the zero page
     L:map_p       p: 1 MiB, private anonymous               0
     L:write_p     one byte written per page        +1048576
     L:free_p      madvise(p, MADV_FREE)                     0  still mapped
     L:rewrite_p   one byte written per page                 0  kept
     L:drop_p      madvise(p, MADV_DONTNEED)        -1048576
     L:shm_get     a 1 MiB System V segment                  0
     L:shm_at      attached                                  0
     L:shm_read    one byte read per 16th page        +65536  16 pages, no
                                                            more
     L:shm_write   one byte written per 16th page,    +65536  16 other
                   a page further                           pages
     L:zero_map    /dev/zero, 1 MiB, private                 0
     L:zero_read   one byte read per page                    0  zero page
     L:zero_write  one byte written per 2nd page     +524288  128 pages
     L:zero_shared /dev/zero, 1 MiB, shared                  0
     L:zero_read16 one byte read per 16th page        +65536  16 pages

   L:fixed puts its mapping at t's address: had memline still taken that
   range for shared memory, L:read_fixed would show 1 MiB.  The lines
   without a loop run once, each loop 257 times (entered once, 256
   iterations) but L:write_s's, 513 times, the shm loops' and
   L:zero_read16's 17, L:zero_write's 129.

   Run natively with MEMLINE_NATIVE_HWM=1, the sample prints "NAME: BYTES"
   on stdout for each of those lines: the change of its own VmRSS across
   the line, the kernel's answer. */
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <unistd.h>
#include "rss_native.h"

#define MiB   (1ul << 20)
#define PAGE  4096ul

int main(void)
{
    int rw = PROT_READ | PROT_WRITE;
    unsigned sum = 0;
    rss_native_init();
    /* mmap, munmap, madvise and the shm calls run once before the
       measured lines, so that their code (and lazy binding) is resident
       before them. */
    munmap(mmap(NULL, PAGE, rw, MAP_SHARED | MAP_ANONYMOUS, -1, 0), PAGE);
    madvise(NULL, 0, MADV_FREE);
    int wid = shmget(IPC_PRIVATE, PAGE, IPC_CREAT | 0600);
    void *wq = shmat(wid, NULL, 0);
    shmctl(wid, IPC_RMID, NULL);
    if (wq != (void *)-1)
        shmdt(wq);
    rss_native_begin();

    volatile char *s = mmap(NULL, 2 * MiB, rw, MAP_SHARED | MAP_ANONYMOUS, -1, 0); /* L:map_s */
    rss_native_step("map_s");
    if (s == MAP_FAILED)
        return 1;
    for (size_t i = 0; i < MiB; i += PAGE) sum += s[i];          /* L:read_s */
    rss_native_step("read_s");
    for (size_t i = 0; i < 2 * MiB; i += PAGE) s[i] = 1;         /* L:write_s */
    rss_native_step("write_s");
    munmap((char *)s, 2 * MiB);                                  /* L:unmap_s */
    rss_native_step("unmap_s");

    volatile char *t = mmap(NULL, MiB, rw, MAP_SHARED | MAP_ANONYMOUS, -1, 0); /* L:map_t */
    rss_native_step("map_t");
    if (t == MAP_FAILED)
        return 1;
    for (size_t i = 0; i < MiB; i += PAGE) t[i] = 1;             /* L:write_t */
    rss_native_step("write_t");
    volatile char *f = mmap((char *)t, MiB, rw, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0); /* L:fixed */
    rss_native_step("fixed");
    if (f != t)
        return 1;
    for (size_t i = 0; i < MiB; i += PAGE) sum += f[i];          /* L:read_fixed */
    rss_native_step("read_fixed");

    char *p = mmap(NULL, MiB, rw, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0); /* L:map_p */
    rss_native_step("map_p");
    if (p == MAP_FAILED)
        return 1;
    for (size_t i = 0; i < MiB; i += PAGE) p[i] = 1;             /* L:write_p */
    rss_native_step("write_p");
    int bad = madvise(p, MiB, MADV_FREE);                        /* L:free_p */
    rss_native_step("free_p");
    for (size_t i = 0; i < MiB; i += PAGE) p[i] = 2;             /* L:rewrite_p */
    rss_native_step("rewrite_p");
    bad |= madvise(p, MiB, MADV_DONTNEED);                       /* L:drop_p */
    rss_native_step("drop_p");

    int id = shmget(IPC_PRIVATE, MiB, IPC_CREAT | 0600);         /* L:shm_get */
    rss_native_step("shm_get");
    if (id < 0)
        return 1;
    volatile char *q = shmat(id, NULL, 0);                       /* L:shm_at */
    rss_native_step("shm_at");
    shmctl(id, IPC_RMID, NULL);
    if (q == (void *)-1)
        return 1;
    for (size_t i = 0; i < MiB; i += 16 * PAGE) sum += q[i];     /* L:shm_read */
    rss_native_step("shm_read");
    for (size_t i = 0; i < MiB; i += 16 * PAGE) q[i + PAGE] = 1; /* L:shm_write */
    rss_native_step("shm_write");

    int zfd = open("/dev/zero", O_RDWR);
    if (zfd < 0)
        return 1;
    rss_native_step("zero_open");
    volatile char *z = mmap(NULL, MiB, rw, MAP_PRIVATE, zfd, 0);  /* L:zero_map */
    rss_native_step("zero_map");
    if (z == MAP_FAILED)
        return 1;
    for (size_t i = 0; i < MiB; i += PAGE) sum += z[i];          /* L:zero_read */
    rss_native_step("zero_read");
    for (size_t i = 0; i < MiB; i += 2 * PAGE) z[i] = 1;         /* L:zero_write */
    rss_native_step("zero_write");
    volatile char *zs = mmap(NULL, MiB, rw, MAP_SHARED, zfd, 0); /* L:zero_shared */
    rss_native_step("zero_shared");
    if (zs == MAP_FAILED)
        return 1;
    for (size_t i = 0; i < MiB; i += 16 * PAGE) sum += zs[i];    /* L:zero_read16 */
    rss_native_step("zero_read16");
    close(zfd);
    return sum == 0 && !bad ? 0 : 2;
}
