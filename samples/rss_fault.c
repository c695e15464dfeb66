/* rss_fault.c -- fault-around: how many pages one access to a file
   mapping makes resident.

   On a read fault of a file mapping, Linux maps besides the faulting
   page the pages around it that are in the page cache: 16 pages (64 KiB,
   fault_around_bytes) from the faulting page's 16-page-aligned address,
   or from the mapping's start if that is later, up to the mapping's end,
   the next 2 MiB page-table boundary or the file's last page.  A write
   fault on a private mapping copies one page and maps only that one.

   The file: 50 pages and 100 bytes (51 pages), written just before, so
   all of it is in the page cache.  The mappings are placed (MAP_FIXED)
   at known offsets of a 2 MiB-aligned reservation R, in pages:

     A = R + 0,         64 pages, read-only   (file ends at A + 51)
     B = R + 83,        40 pages, read-write  (83 = 5 x 16 + 3)
     C = R + 1024 - 3,  20 pages, read-only   (crosses the 2 MiB
                                               boundary R + 1024)

   RSS metric (--metric rss, --units B), function main: each L: line is
   one access; its Increment, in pages of 4096 B, and why:

     L:read_first   A[0]   16  [A, A+16)
     L:read_next    A[20]  16  [A+16, A+32)
     L:read_again   A[5]    0  already resident
     L:read_eof     A[49]   3  [A+48, A+51): the file ends at page 51
     L:write_cow    B[10]   1  a write fault maps one page
     L:read_start   B[0]   15  [B, B+16) less B[10]: the window starts
                               at the mapping's start, R+83, not R+80
     L:read_end     B[39]  11  [R+112, B+40 = R+123): the mapping ends
     L:read_pt_edge C[0]    3  [C, R+1024): a window stops at the
                               page-table boundary
     L:read_pt_next C[3]   16  [R+1024, R+1040)

   Each line runs once (Occurrences 1).  Run natively with
   MEMLINE_NATIVE_HWM=1, the sample prints "NAME: BYTES" on stdout for
   each of those lines: the change of its own VmRSS across the line, the
   kernel's answer to the same question. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "rss_native.h"

#define PAGE       4096ul
#define FILE_BYTES (50 * PAGE + 100)

/* Maps pages [first, first + pages) of the reservation r to the file. */
static volatile char *map_at(char *r, size_t first, size_t pages, int prot,
                             int fd)
{
    void *p = mmap(r + first * PAGE, pages * PAGE, prot,
                   MAP_PRIVATE | MAP_FIXED, fd, 0);
    if (p == MAP_FAILED)
        exit(1);
    return p;
}

int main(void)
{
    rss_native_init();
    int fd = rss_temp_file(FILE_BYTES);
    if (fd < 0)
        return 1;
    /* A 2 MiB-aligned reservation of 2048 pages (8 MiB), inaccessible. */
    char *res = mmap(NULL, 4096 * PAGE, PROT_NONE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (res == MAP_FAILED)
        return 1;
    char *r = (char *)(((unsigned long)res + (2ul << 20) - 1) & ~((2ul << 20) - 1));
    volatile char *a = map_at(r, 0, 64, PROT_READ, fd);
    volatile char *b = map_at(r, 83, 40, PROT_READ | PROT_WRITE, fd);
    volatile char *c = map_at(r, 1024 - 3, 20, PROT_READ, fd);
    unsigned sum = 0;
    /* Warm the measurement up: its code and stack are resident from here. */
    rss_native_begin();

    sum += a[0];                                  /* L:read_first */
    rss_native_step("read_first");
    sum += a[20 * PAGE];                          /* L:read_next */
    rss_native_step("read_next");
    sum += a[5 * PAGE];                           /* L:read_again */
    rss_native_step("read_again");
    sum += a[49 * PAGE];                          /* L:read_eof */
    rss_native_step("read_eof");
    b[10 * PAGE] = 'w';                           /* L:write_cow */
    rss_native_step("write_cow");
    sum += b[0];                                  /* L:read_start */
    rss_native_step("read_start");
    sum += b[39 * PAGE];                          /* L:read_end */
    rss_native_step("read_end");
    sum += c[0];                                  /* L:read_pt_edge */
    rss_native_step("read_pt_edge");
    sum += c[3 * PAGE];                           /* L:read_pt_next */
    rss_native_step("read_pt_next");

    close(fd);
    return sum == 8u * 'f' ? 0 : 2;
}
