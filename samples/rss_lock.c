/* rss_lock.c -- memory locked into RAM: mlock, MAP_LOCKED and mlockall.

   Locking a range faults its pages in, as mmap's MAP_POPULATE does
   (mm/gup.c, populate_vma_page_range): a private writable mapping with
   write faults (each page its own copy), any other with read faults (a
   file's pages; for anonymous memory the zero page, not resident).
   (mlock2, whose MLOCK_ONFAULT locks pages only as they are touched, is
   not here: Valgrind 3.19 does not know the system call.)  mlockall with
   MCL_FUTURE populates every mapping made after it, until munlockall;
   with MCL_CURRENT, every mapping there is (L:lock_all, last).

   RSS metric (--metric rss, --units B), function main.  The file is
   1 MiB + 100 bytes (257 pages, made by rss_temp_file() on L:make_file).
   Each L: line, its Increment, and why (MiB = 1048576 B, 256 pages):

     L:map_a        a: 1 MiB, private anonymous          0
     L:mlock        mlock(a)                      +1048576  written
     L:locked       c: 1 MiB, MAP_LOCKED          +1048576
     L:map_d        d: 1 MiB, anonymous read-only        0
     L:mlock_ro     mlock(d)                             0  the zero page
     L:map_f        f: the file, shared, 2 MiB           0
     L:mlock_shared mlock(f, the file's bytes)    +1052672  257 pages of
                                                            the page cache
     L:map_g        g: the file, private writable        0
     L:mlock_cow    mlock(g, the file's bytes)    +1052672  257 copies
     L:future       mlockall(MCL_FUTURE)                 0
     L:map_e        e: 1 MiB, private anonymous   +1048576  locked: populated
     L:unlock_all   munlockall()                         0
     L:map_h        h: 1 MiB, private anonymous          0
     L:lock_all     mlockall(MCL_CURRENT)                   every mapping's
                                                            pages (not
                                                            pinned here: see
                                                            the test)

   The file ranges end at the file's end: locking a page past it fails.
   Every line runs once.  Run natively with MEMLINE_NATIVE_HWM=1, the
   sample prints "NAME: BYTES" on stdout for each of those lines: the
   change of its own VmRSS across the line, the kernel's answer.  Locking
   needs RLIMIT_MEMLOCK room (about 8 MiB here before L:lock_all) or
   CAP_IPC_LOCK; the sample exits with status 3 when a lock is refused. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "rss_native.h"

#define MiB   (1ul << 20)
#define PAGE  4096ul
#define FILE_BYTES (MiB + 100)

int main(void)
{
    int rw = PROT_READ | PROT_WRITE, anon = MAP_PRIVATE | MAP_ANONYMOUS;
    int bad = 0;
    rss_native_init();
    int fd = rss_temp_file(FILE_BYTES);                          /* L:make_file */
    if (fd < 0)
        return 1;
    /* mmap, mlock, mlockall and munlockall run once before the measured
       lines, so that their code (and lazy binding) is resident before
       them. */
    char *w = mmap(NULL, PAGE, rw, anon, -1, 0);
    if (w == MAP_FAILED || mlock(w, PAGE) || munlockall() ||
        mlockall(MCL_FUTURE) || munlockall())
        return 3;
    munmap(w, PAGE);
    rss_native_begin();

    char *a = mmap(NULL, MiB, rw, anon, -1, 0);                     /* L:map_a */
    rss_native_step("map_a");
    bad |= mlock(a, MiB);                                           /* L:mlock */
    rss_native_step("mlock");
    char *c = mmap(NULL, MiB, rw, anon | MAP_LOCKED, -1, 0);        /* L:locked */
    rss_native_step("locked");
    char *d = mmap(NULL, MiB, PROT_READ, anon, -1, 0);              /* L:map_d */
    rss_native_step("map_d");
    bad |= mlock(d, MiB);                                           /* L:mlock_ro */
    rss_native_step("mlock_ro");
    char *f = mmap(NULL, 2 * MiB, rw, MAP_SHARED, fd, 0);           /* L:map_f */
    rss_native_step("map_f");
    bad |= mlock(f, FILE_BYTES);                                    /* L:mlock_shared */
    rss_native_step("mlock_shared");
    char *g = mmap(NULL, 2 * MiB, rw, MAP_PRIVATE, fd, 0);          /* L:map_g */
    rss_native_step("map_g");
    bad |= mlock(g, FILE_BYTES);                                    /* L:mlock_cow */
    rss_native_step("mlock_cow");
    bad |= mlockall(MCL_FUTURE);                                    /* L:future */
    rss_native_step("future");
    char *e = mmap(NULL, MiB, rw, anon, -1, 0);                     /* L:map_e */
    rss_native_step("map_e");
    bad |= munlockall();                                            /* L:unlock_all */
    rss_native_step("unlock_all");
    char *h = mmap(NULL, MiB, rw, anon, -1, 0);                     /* L:map_h */
    rss_native_step("map_h");
    bad |= mlockall(MCL_CURRENT);                                   /* L:lock_all */
    rss_native_step("lock_all");
    munlockall();

    if (a == MAP_FAILED || c == MAP_FAILED ||
        d == MAP_FAILED || e == MAP_FAILED || f == MAP_FAILED ||
        g == MAP_FAILED || h == MAP_FAILED)
        return 1;
    close(fd);
    return bad ? 3 : 0;
}
