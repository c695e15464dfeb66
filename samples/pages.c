/* pages.c -- page-touch-heavy workload for scripts/bench.sh: few
   allocations, many pages made resident and released, so the benchmark
   shows what memline's resident-set simulation costs when the heap is
   quiet and the kernel does most of the work.

   usage: pages [SCALE]      SCALE (default 1.0) multiplies every size
                              below (rounded down to whole MiB, at least
                              1 MiB); the rounds stay.

   Deterministic, no stdio.  Every page is touched with one byte, so the
   counts below are page faults natively (4 KiB pages).  At SCALE 1:

     anon     2 rounds: mmap 128 MiB anonymous, write one byte per page
              (32768 pages), madvise(MADV_DONTNEED) every other MiB
              (16384 pages released), write every page again (16384
              pages back), munmap;                    98,304 page-ins
     heap     2 rounds: malloc 8 blocks of 16 MiB, write one byte per
              page, free them; 16 allocations,        65,536 page-ins
     file     a 32 MiB temporary file in $TMPDIR (default /tmp), unlinked
              at once, filled by write(2) from a 1 MiB buffer; 2 rounds of
              mmap PROT_READ, MAP_PRIVATE, read one byte per page
              (8192 file pages), munmap; then one private writable
              mapping written one byte per page (8192 copy-on-write
              pages);                                 24,576 page-ins

   188,416 page-ins and as many releases (736 MiB made resident in all),
   17 allocations (the heap phase and the 1 MiB buffer), peak about
   128 MiB resident.  Natively about 0.6 s on a 2-CPU virtual machine,
   nearly all of it in the kernel (page faults there cost about 3 us). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#define PAGE      4096ul
#define MIB       (1ul << 20)
#define ROUNDS    2
#define BLOCKS    8

/* sizes at SCALE 1; main() scales them */
static size_t anon_size = 128 * MIB, block_size = 16 * MIB,
              file_size = 32 * MIB;

/* one byte written per page of [p, p + len) */
static unsigned long touch(char *p, size_t len, int value)
{
    size_t off;

    for (off = 0; off < len; off += PAGE)
        p[off] = (char)(value + (int)(off >> 12));
    return (unsigned char)p[len / 2];
}

/* one byte read per page of [p, p + len) */
static unsigned long read_pages(const char *p, size_t len)
{
    unsigned long sum = 0;
    size_t off;

    for (off = 0; off < len; off += PAGE)
        sum += (unsigned char)p[off];
    return sum;
}

static unsigned long anon(void)
{
    unsigned long check = 0;
    size_t off;
    int r;

    for (r = 0; r < ROUNDS; r++) {
        char *p = mmap(NULL, anon_size, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            return 0;
        check += touch(p, anon_size, r);
        for (off = 0; off < anon_size; off += 2 * MIB)
            madvise(p + off, MIB, MADV_DONTNEED);
        check += touch(p, anon_size, r + 1);
        munmap(p, anon_size);
    }
    return check;
}

static unsigned long heap(void)
{
    char *block[BLOCKS];
    unsigned long check = 0;
    int r, b;

    for (r = 0; r < ROUNDS; r++) {
        for (b = 0; b < BLOCKS; b++) {
            block[b] = malloc(block_size);
            if (!block[b])
                return 0;
            check += touch(block[b], block_size, b);
        }
        for (b = 0; b < BLOCKS; b++)
            free(block[b]);
    }
    return check;
}

static int make_file(void)
{
    const char *dir = getenv("TMPDIR");
    char path[4096];
    char *buf;
    size_t done;
    int fd;

    if (!dir || !*dir || strlen(dir) > sizeof path - 32)
        dir = "/tmp";
    strcpy(path, dir);
    strcat(path, "/memline-pages.XXXXXX");
    fd = mkstemp(path);
    if (fd < 0)
        return -1;
    unlink(path);
    buf = malloc(MIB);
    if (!buf) {
        close(fd);
        return -1;
    }
    memset(buf, 7, MIB);
    for (done = 0; done < file_size; done += MIB)
        if (write(fd, buf, MIB) != (ssize_t)MIB) {
            free(buf);
            close(fd);
            return -1;
        }
    free(buf);
    return fd;
}

static unsigned long file(void)
{
    unsigned long check = 0;
    char *p;
    int fd = make_file(), r;

    if (fd < 0)
        return 0;
    for (r = 0; r < ROUNDS; r++) {
        p = mmap(NULL, file_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED)
            break;
        check += read_pages(p, file_size);
        munmap(p, file_size);
    }
    p = mmap(NULL, file_size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    if (p != MAP_FAILED) {
        check += touch(p, file_size, 3);
        munmap(p, file_size);
    }
    close(fd);
    return check;
}

static size_t scaled(size_t size, double scale)
{
    size_t mib = (size_t)((double)(size / MIB) * scale);
    return (mib > 0 ? mib : 1) * MIB;
}

int main(int argc, char **argv)
{
    double scale = argc > 1 ? atof(argv[1]) : 1.0;
    unsigned long check = 0;

    if (scale <= 0)
        return 2;
    anon_size = scaled(anon_size, scale);
    block_size = scaled(block_size, scale);
    file_size = scaled(file_size, scale);
    check += anon();
    check += heap();
    check += file();
    return check == 0 ? 1 : 0;
}
