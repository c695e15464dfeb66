/* rss_file.c -- file-backed pages: an 8 MiB file mapped PROT_READ,
   MAP_PRIVATE, one byte read per 4 KiB page on one line, then unmapped.

   RSS metric (--metric rss, --units B).  A page of a file mapping becomes
   resident on its first access, read or write, and has the kind "file"
   (DESIGN.md section 5).  A read fault maps the 16 pages around the page
   as well (fault-around, samples/rss_fault.c): L:read makes them
   resident 16 at a time, 2048 pages in all, as it does natively.

   The file is made first, by rss_temp_file() (rss_native.h) on its own
   line: a temporary file, unlinked at once (the descriptor keeps it),
   filled with 2048 writes of a 4 KiB static buffer -- write(2) reads the
   buffer, which does not change the resident set; filling the buffer
   writes its page of .bss, on L:make_file.

     function main
       L:make_file  Increment  the buffer's page (not asserted)
       L:warm       munmap(mmap(one page of the file)) -- mmap and munmap
                    run once before the measured lines, on a mapping never
                    accessed, so that the code they run the first time
                    (and lazy binding) is resident before L:map and
                    L:unmap.  Its own increment is that code (a page or
                    so; not asserted).
       L:map        Increment  0  (mapping makes nothing resident)
       L:read       Increment  8388608 = 2048 pages, all of kind file
                    Occurrences 2049 (entered once + 2048 iterations)
                    Mem usage = the summary's Peak RSS = L:map's Mem usage
                    + 8388608 (nothing else happens while it runs)
       L:unmap      Increment -8388608 = -2048 pages; Mem usage = Peak RSS

   Summary: the Peak RSS's file component is at least 8388608 (the
   mapping, plus the read-only data of the program and its libraries).
   8 MiB is under the 16 MiB the RSS bar is about: no native comparison. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "rss_native.h"

#define SIZE  (8u << 20)
#define PAGE  4096u

int main(void)
{
    unsigned long sum = 0;
    rss_native_init();
    int fd = rss_temp_file(SIZE);                         /* L:make_file */
    if (fd < 0)
        return 1;
    munmap(mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, fd, 0), PAGE); /* L:warm */
    char *m = mmap(NULL, SIZE, PROT_READ, MAP_PRIVATE, fd, 0); /* L:map */
    if (m == MAP_FAILED)
        return 1;
    for (size_t i = 0; i < SIZE; i += PAGE) sum += (unsigned char)m[i]; /* L:read */
    munmap(m, SIZE);                                      /* L:unmap */
    close(fd);
    return sum == (unsigned long)'f' * (SIZE / PAGE) ? 0 : 1;
}
