/* rss_fork_file.c -- what a forked child's resident set starts with.

   The parent makes resident, before it forks:
     - 16 MiB of a file mapped MAP_PRIVATE, PROT_READ, read a byte per
       page (L:read_file): file pages of a mapping never written;
     - 4 MiB of MAP_SHARED | MAP_ANONYMOUS memory, written (L:shared);
     - 4 MiB of the same file mapped MAP_PRIVATE, PROT_READ | PROT_WRITE,
       written a byte per page (L:cow): copy-on-write pages.
   fork copies page tables only for mappings with anonymous pages, so the
   child starts with the copy-on-write pages (and the heap, stack and
   written data of the parent) but neither the read-only file pages nor
   the shared memory, nor the program's and libraries' code, which it
   faults in again as it runs.  The child then writes 8 MiB of a new
   block (L:child_touch) and exits.

   memline, RSS metric, the child's trace: peak and final RSS within 10%
   of the child's native VmHWM and VmRSS (about 14 MiB; before memline
   took the uncopied pages out, its figures were 20 MiB higher).

   Run natively with MEMLINE_NATIVE_HWM=1, the child prints
   "child_hwm: BYTES" and "child_rss: BYTES" on stdout (its VmHWM and
   VmRSS before it exits); the parent prints nothing of its own. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include "rss_native.h"

#define MIB (1ul << 20)

static volatile unsigned long sink;

/* One byte read per page of [p, p + len). */
static void read_pages(const char *p, size_t len)
{
    unsigned long sum = 0;
    for (size_t off = 0; off < len; off += 4096)
        sum += (unsigned char)p[off];
    sink += sum;
}

static void child_work(void)
{
    char *c = malloc(8 * MIB);
    if (!c)
        _exit(4);
    touch(c, 8 * MIB);                           /* L:child_touch */
    if (getenv("MEMLINE_NATIVE_HWM")) {
        char text[4096];
        if (rss_native_status(text) == 0) {
            rss_native_put(1, "child_hwm", rss_native_field(text, "VmHWM"));
            rss_native_put(1, "child_rss", rss_native_field(text, "VmRSS"));
        }
    }
    _exit(c[4096] == 1 ? 0 : 5);
}

int main(void)
{
    int fd = rss_temp_file(16 * MIB);
    if (fd < 0)
        return 2;
    char *ro = mmap(NULL, 16 * MIB, PROT_READ, MAP_PRIVATE, fd, 0);
    char *sh = mmap(NULL, 4 * MIB, PROT_READ | PROT_WRITE,
                    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    char *cow = mmap(NULL, 4 * MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE,
                     fd, 0);
    if (ro == MAP_FAILED || sh == MAP_FAILED || cow == MAP_FAILED)
        return 2;
    read_pages(ro, 16 * MIB);                    /* L:read_file */
    touch(sh, 4 * MIB);                          /* L:shared */
    touch(cow, 4 * MIB);                         /* L:cow */
    pid_t pid = fork();                          /* L:fork */
    if (pid < 0)
        return 2;
    if (pid == 0)
        child_work();
    int status = 0;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0)
        return 3;
    return 0;
}
