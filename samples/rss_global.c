/* rss_global.c -- memory at addresses the code names itself (globals),
   released and touched again.

   memline leaves out the page check of an access at an address known
   when the code is translated if the page is resident by then, and
   discards such translations when the page is released or moved
   (vg-tool/ml_rss.c, "Checks left out").  Each function below touches
   one fixed address, so its translation is made on its first call: the
   L:warm lines call them once the pages are resident, and the later calls
   must still see the pages come back after a release.

   Two places: a page of a global array (.bss), and a page mapped at a
   fixed address (FIXED, with MAP_FIXED) that the code also names as a
   constant.  RSS metric (--metric rss, --units B), function main; each
   L: line, its Increment, and why:

     L:fill_g    memset of the global's page            4096
     L:warm_g    set_g() (translated now)                  0  resident
     L:drop_g    madvise(MADV_DONTNEED) of it          -4096
     L:again_g   set_g()                                4096  back
     L:map_f     mmap of 2 pages at FIXED                  0
     L:fill_f    memset of them                         8192
     L:warm_f    set_f(), read_f()                         0  resident
     L:unmap_f   munmap                                -8192
     L:remap_f   mmap at FIXED again                       0
     L:again_f   set_f()                                4096  back
     L:warm_f3   set_f3() (translated now)                 0  resident
     L:move_f    mremap of the 2 pages to AWAY             0  moved
     L:remap_f2  mmap at FIXED again                       0
     L:again_f3  set_f3()                               4096  a new page

   Every line runs once.  Run natively with MEMLINE_NATIVE_HWM=1, the
   sample prints "NAME: BYTES" on stdout for each of those lines: the
   change of its own VmRSS across the line, the kernel's answer. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "rss_native.h"

#define PAGE  4096ul
#define FIXED 0x200000000ul
#define AWAY  0x210000000ul

static char glob[4 * PAGE] __attribute__((aligned(4096)));

/* Not inlined (the samples are built with -fno-inline): each is one
   translation touching one fixed address. */
static void set_g(void) { glob[PAGE + 8] = 1; }
static void set_f(void) { *(volatile char *)FIXED = 1; }
static int read_f(void) { return *(volatile char *)(FIXED + PAGE); }
static void set_f3(void) { *(volatile char *)(FIXED + 8) = 3; }

/* Two fresh pages at FIXED (over whatever is there), or NULL. */
static char *map_fixed(void)
{
    char *f = mmap((void *)FIXED, 2 * PAGE, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    return f == (char *)FIXED ? f : NULL;
}

int main(void)
{
    int rw = PROT_READ | PROT_WRITE, bad = 0;
    rss_native_init();
    /* mmap, munmap, madvise, mremap and memset run once before the
       measured lines, so that their code (and lazy binding) is resident
       before them. */
    char *w = mmap(NULL, PAGE, rw, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (w == MAP_FAILED)
        return 1;
    memset(w, 0, PAGE);
    madvise(w, PAGE, MADV_DONTNEED);
    w = mremap(w, PAGE, PAGE, MREMAP_MAYMOVE);
    munmap(w, PAGE);
    rss_native_begin();

    memset(glob + PAGE, 1, PAGE);                                 /* L:fill_g */
    rss_native_step("fill_g");
    set_g();                                                      /* L:warm_g */
    rss_native_step("warm_g");
    bad |= madvise(glob + PAGE, PAGE, MADV_DONTNEED);             /* L:drop_g */
    rss_native_step("drop_g");
    set_g();                                                      /* L:again_g */
    rss_native_step("again_g");

    char *f = map_fixed();                                    /* L:map_f */
    rss_native_step("map_f");
    if (!f)
        return 1;
    memset(f, 1, 2 * PAGE);                                       /* L:fill_f */
    rss_native_step("fill_f");
    set_f(), bad |= read_f() != 1;                                /* L:warm_f */
    rss_native_step("warm_f");
    munmap(f, 2 * PAGE);                                          /* L:unmap_f */
    rss_native_step("unmap_f");
    f = map_fixed();                                          /* L:remap_f */
    rss_native_step("remap_f");
    if (!f)
        return 1;
    set_f();                                                      /* L:again_f */
    rss_native_step("again_f");
    set_f3();                                                     /* L:warm_f3 */
    rss_native_step("warm_f3");
    bad |= mremap(f, 2 * PAGE, 2 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, (void *)AWAY) != (void *)AWAY; /* L:move_f */
    rss_native_step("move_f");
    f = map_fixed();                                          /* L:remap_f2 */
    rss_native_step("remap_f2");
    if (!f)
        return 1;
    set_f3();                                                     /* L:again_f3 */
    rss_native_step("again_f3");
    return bad ? 2 : 0;
}
