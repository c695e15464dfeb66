/* rss_zero.c -- anonymous memory that is read but never written, and
   memory the kernel writes for the program.

   Reading an anonymous page that was never written maps the kernel's
   shared zero page: nothing becomes resident.  A system call that writes
   into the program's memory (read(2) into a buffer) faults the pages it
   writes in, as a store would.

   RSS metric (--metric rss, --units B), function main; a 1 MiB anonymous
   mapping (256 pages), one L: line each:

     L:map         mmap                          0
     L:read_zero   one byte read per page        0  the zero page
     L:sys_read    read(/dev/zero) into it  +1048576  the kernel writes
                                                    all 256 pages
     L:write       one byte written per page     0  already resident
     L:unmap       munmap                  -1048576

   L:map, L:sys_read and L:unmap run once, the loops 257 times (entered
   once, 256 iterations).  Run natively with MEMLINE_NATIVE_HWM=1, the
   sample prints "NAME: BYTES" on stdout for each line: its VmRSS change
   across the line, the kernel's answer. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "rss_native.h"

#define SIZE (1u << 20)
#define PAGE 4096u

int main(void)
{
    unsigned sum = 0;
    rss_native_init();
    int fd = open("/dev/zero", O_RDONLY);
    if (fd < 0)
        return 1;
    rss_native_begin();

    int prot = PROT_READ | PROT_WRITE, flags = MAP_PRIVATE | MAP_ANONYMOUS;
    volatile char *m = mmap(NULL, SIZE, prot, flags, -1, 0); /* L:map */
    rss_native_step("map");
    if (m == MAP_FAILED)
        return 1;
    for (unsigned i = 0; i < SIZE; i += PAGE) sum += m[i];  /* L:read_zero */
    rss_native_step("read_zero");
    ssize_t got = read(fd, (char *)m, SIZE);                 /* L:sys_read */
    rss_native_step("sys_read");
    for (unsigned i = 0; i < SIZE; i += PAGE) m[i] = 1;      /* L:write */
    rss_native_step("write");
    munmap((char *)m, SIZE);                                 /* L:unmap */
    rss_native_step("unmap");
    close(fd);
    return got == (ssize_t)SIZE && sum == 0 ? 0 : 2;
}
