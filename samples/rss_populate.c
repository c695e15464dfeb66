/* rss_populate.c -- memory the kernel faults in on the program's behalf:
   mmap with MAP_POPULATE and madvise(MADV_POPULATE_READ / _WRITE).

   The kernel faults every page of the range in as an access would
   (mm/gup.c, populate_vma_page_range): a private writable mapping with
   write faults (each page its own copy), any other with read faults (a
   file's pages, the shared zero page for anonymous memory, which is not
   resident); pages past the end of a file are left alone (an access
   would raise SIGBUS).  MAP_NONBLOCK turns MAP_POPULATE off.

   RSS metric (--metric rss, --units B), function main.  The file is
   1 MiB + 100 bytes (257 pages, made by rss_temp_file() on L:make_file);
   the file mappings are 2 MiB.  Each L: line, its Increment, and why:

     L:pop_anon      anonymous, read-write, populated   +2097152  512 pages
     L:write_anon    one byte written per page                 0  resident
     L:pop_nonblock  populated with MAP_NONBLOCK               0  none
     L:pop_ro        anonymous, read-only, populated           0  zero page
     L:pop_file      the file, read-only, populated     +1052672  257 pages
     L:pop_file_w    the file, private writable,        +1052672  257 copies
                     populated
     L:pop_shared    the file, shared writable,         +1052672  257 pages
                     populated                                    of the page
                                                                  cache (read
                                                                  faults)
     L:map_d         anonymous, read-write                     0
     L:madv_write    MADV_POPULATE_WRITE on 1 MiB of it +1048576  256 pages
     L:madv_read     MADV_POPULATE_READ on the other MiB       0  zero page
     L:map_f         the file, read-only                       0
     L:madv_read_f   MADV_POPULATE_READ on the file's   +1052672  257 pages
                     bytes

   A page of the file counts once in every mapping that maps it (VmRSS
   counts mapped pages per mapping), so L:pop_file, L:pop_shared and
   L:madv_read_f each add the 257 pages.  The populated file ranges end
   at the file's end: the pages the kernel maps around each read fault
   (fault-around, samples/rss_fault.c) stop there, wherever the mapping
   lies, where a range ending inside the file could gain up to 15 pages
   past its end, depending on the mapping's alignment.  Every line
   runs once.

   Run natively with MEMLINE_NATIVE_HWM=1, the sample prints "NAME: BYTES"
   on stdout for each of those lines: the change of its own VmRSS across
   the line, the kernel's answer. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "rss_native.h"

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#define MiB   (1ul << 20)
#define PAGE  4096ul
#define FILE_BYTES (MiB + 100)

int main(void)
{
    int rw = PROT_READ | PROT_WRITE, anon = MAP_PRIVATE | MAP_ANONYMOUS;
    int bad = 0;
    rss_native_init();
    int fd = rss_temp_file(FILE_BYTES);                       /* L:make_file */
    if (fd < 0)
        return 1;
    /* mmap, madvise and munmap run once before the measured lines, so
       that their code (and lazy binding) is resident before them. */
    munmap(mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0), PAGE);
    madvise(NULL, 0, MADV_POPULATE_READ);
    rss_native_begin();

    char *a = mmap(NULL, 2 * MiB, rw, anon | MAP_POPULATE, -1, 0); /* L:pop_anon */
    rss_native_step("pop_anon");
    if (a == MAP_FAILED)
        return 1;
    for (size_t i = 0; i < 2 * MiB; i += PAGE) a[i] = 1;      /* L:write_anon */
    rss_native_step("write_anon");
    char *b = mmap(NULL, MiB, rw, anon | MAP_POPULATE | MAP_NONBLOCK, -1, 0); /* L:pop_nonblock */
    rss_native_step("pop_nonblock");
    char *c = mmap(NULL, MiB, PROT_READ, anon | MAP_POPULATE, -1, 0); /* L:pop_ro */
    rss_native_step("pop_ro");
    char *f = mmap(NULL, 2 * MiB, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0); /* L:pop_file */
    rss_native_step("pop_file");
    char *g = mmap(NULL, 2 * MiB, rw, MAP_PRIVATE | MAP_POPULATE, fd, 0); /* L:pop_file_w */
    rss_native_step("pop_file_w");
    char *h = mmap(NULL, 2 * MiB, rw, MAP_SHARED | MAP_POPULATE, fd, 0); /* L:pop_shared */
    rss_native_step("pop_shared");
    char *d = mmap(NULL, 2 * MiB, rw, anon, -1, 0);            /* L:map_d */
    rss_native_step("map_d");
    if (d == MAP_FAILED)
        return 1;
    bad |= madvise(d, MiB, MADV_POPULATE_WRITE);              /* L:madv_write */
    rss_native_step("madv_write");
    bad |= madvise(d + MiB, MiB, MADV_POPULATE_READ);         /* L:madv_read */
    rss_native_step("madv_read");
    char *e = mmap(NULL, 2 * MiB, PROT_READ, MAP_PRIVATE, fd, 0); /* L:map_f */
    rss_native_step("map_f");
    if (e == MAP_FAILED)
        return 1;
    bad |= madvise(e, FILE_BYTES, MADV_POPULATE_READ);        /* L:madv_read_f */
    rss_native_step("madv_read_f");

    if (b == MAP_FAILED || c == MAP_FAILED || f == MAP_FAILED ||
        g == MAP_FAILED || h == MAP_FAILED || bad)
        return 2;
    close(fd);
    return 0;
}
