/* rss_thp.c -- transparent huge pages in ranges given
   madvise(MADV_HUGEPAGE).

   Where the system gives such ranges huge pages ("madvise" or "always" in
   /sys/kernel/mm/transparent_hugepage/enabled), the first write in an
   empty, 2 MiB-aligned block of an advised range of private anonymous
   memory maps a 2 MiB page: 512 pages become resident at once.  A read
   of an empty block maps the huge zero page (nothing resident); a write
   after it maps a huge page in its place since Linux 6.12, a small page
   before.  MADV_DONTNEED of the whole block empties it again.  With
   "never", every fault gets a small page.

   RSS metric (--metric rss, --units B), function main.  H is 2097152 with
   huge pages, 4096 without; Z is H on Linux 6.12 and later, else 4096.  a is 2 MiB-aligned inside a 10 MiB mapping;
   [a, a + 4 MiB) is advised, [a + 4 MiB, a + 8 MiB) advised against
   (MADV_NOHUGEPAGE, so that no system gives it huge pages).  Each L:
   line, its Increment, and why:

     L:map          mmap 10 MiB                        0
     L:advise       MADV_HUGEPAGE on 4 MiB             0
     L:noadvise     MADV_NOHUGEPAGE on the next 4 MiB  0
     L:write_huge   a[0] = 1                           H  the first block
     L:write_same   a[1 MiB] = 1                       0  in the same huge
                                                          page (4096
                                                          without)
     L:read_zero    read a[2 MiB + 5000]               0  the huge zero page
     L:write_zero   a[2 MiB + 5000] = 1                Z  in its place
     L:write_not    a[4 MiB + 100] = 1              4096  not advised
     L:drop         MADV_DONTNEED on the first block  -H  (-8192 without)
     L:rewrite      a[0] = 1                           H  empty again

   Arguments: "disable" calls prctl(PR_SET_THP_DISABLE, 1) first: then
   the process gets no huge page anywhere, and every line is as without
   them.  "launch PROGRAM ARGS..." sets the same and runs PROGRAM (the
   setting is inherited across execve), so that a program started from
   it -- Valgrind running this sample -- starts with huge pages off.

   Every line runs once.  (With use_zero_page 0 in the same directory,
   L:read_zero maps a huge page: H, and L:write_zero 0.)  Run natively with MEMLINE_NATIVE_HWM=1, the
   sample prints "NAME: BYTES" on stdout for each of those lines: the
   change of its own VmRSS across the line, the kernel's answer. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>
#include "rss_native.h"

#define MiB   (1ul << 20)
#define PAGE  4096ul

int main(int argc, char **argv)
{
    int bad = 0;
    if (argc > 1 && (strcmp(argv[1], "disable") == 0 ||
                     strcmp(argv[1], "launch") == 0)) {
        if (prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) != 0)
            return 3;
        if (argv[1][0] == 'l') {
            if (argc < 3)
                return 2;
            execvp(argv[2], argv + 2);
            return 127;
        }
    }
    rss_native_init();
    /* mmap and madvise run once before the measured lines, so that their
       code (and lazy binding) is resident before them. */
    munmap(mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), PAGE);
    madvise(NULL, 0, MADV_NOHUGEPAGE);
    rss_native_begin();

    char *m = mmap(NULL, 10 * MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0); /* L:map */
    rss_native_step("map");
    if (m == MAP_FAILED)
        return 1;
    volatile char *a = (char *)(((unsigned long)m + 2 * MiB - 1) & ~(2 * MiB - 1));
    bad |= madvise((char *)a, 4 * MiB, MADV_HUGEPAGE);           /* L:advise */
    rss_native_step("advise");
    bad |= madvise((char *)a + 4 * MiB, 4 * MiB, MADV_NOHUGEPAGE); /* L:noadvise */
    rss_native_step("noadvise");
    a[0] = 1;                                                    /* L:write_huge */
    rss_native_step("write_huge");
    a[MiB] = 1;                                                  /* L:write_same */
    rss_native_step("write_same");
    bad |= a[2 * MiB + 5000];                                    /* L:read_zero */
    rss_native_step("read_zero");
    a[2 * MiB + 5000] = 1;                                       /* L:write_zero */
    rss_native_step("write_zero");
    a[4 * MiB + 100] = 1;                                        /* L:write_not */
    rss_native_step("write_not");
    bad |= madvise((char *)a, 2 * MiB, MADV_DONTNEED);           /* L:drop */
    rss_native_step("drop");
    a[0] = 1;                                                    /* L:rewrite */
    rss_native_step("rewrite");
    return bad ? 2 : 0;
}
