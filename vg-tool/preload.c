/* preload.c -- memline's code in the program's process: where mmap puts
   a mapping of a multiple of 2 MiB or one hinted above 128 GiB, pvalloc,
   mallopt and malloc_trim.

   Linked into vgpreload_memline-<platform>.so with Valgrind's malloc
   replacements.  From Linux 6.7 the kernel places an anonymous private
   mapping whose length is a multiple of 2 MiB, asked for without an
   address, on a 2 MiB boundary (mm/mmap.c: __get_unmapped_area), so that
   all of it can be transparent huge pages; under Valgrind the core chooses
   the address and does not.  A program that touches one byte per 2 MiB of
   such a mapping has 2 MiB resident per touch natively where huge pages
   are on, and that depends on the boundary (vg-tool/ml_rss.c,
   "Transparent huge pages").  So this wrapper of libc's mmap, when the
   tool says so (the RSS simulation runs, on Linux 6.7 or later), reserves
   2 MiB more than asked with PROT_NONE, maps the request with MAP_FIXED at
   the first 2 MiB boundary inside the reservation, and gives back the
   rest: the mapping lands as it would natively, with the flags the
   program gave.  If the reservation fails, the call goes through as made.
   (glibc's own mappings -- malloc's, thread stacks -- do not go through
   the exported mmap and keep Valgrind's placement.)

   pvalloc: Valgrind's replacement of it stops the program ("Program
   aborting because of call to pvalloc", exit status 1), under Memcheck
   and Massif too.  The one here, of the same equivalence class and a
   higher priority (10191 against 10190), serves it instead, as its
   manual page describes: memalign(page size, the size rounded up to a
   multiple of the page size), through the memalign replacement, so the
   block is recorded, with that size, like every other.  (glibc 2.36's
   own arithmetic, (n + 4095) & -4095, gives a byte more for even sizes,
   which no program can count on.)

   An address hint (no MAP_FIXED or MAP_FIXED_NOREPLACE) that would put
   the mapping above the 128 GiB the simulated resident set covers is
   dropped, when the simulation runs: Valgrind honours such hints, and
   programs that spread their mappings over the address space with them
   (V8's heap) would have their pages go uncounted; a hint is only a
   hint, and the mapping lands where an unhinted one would.  MAP_FIXED
   above that, and mmap by direct system call, the tool reports once.

   mallopt and malloc_trim: Valgrind's replacements do nothing (mallopt
   answers 1, malloc_trim 0).  The ones here (10141 and 10151 against
   10140 and 10150) pass the call to the tool, whose model of glibc's
   heap (vg-tool/ml_rss.c, "Parameters") changes its thresholds or gives
   back free pages as glibc would, and answer what glibc would. */
#include <stddef.h>
#include <sys/mman.h>
#include "pub_tool_basics.h"
#include "pub_tool_redir.h"
#include "valgrind.h"
#include "memline.h"

#define TWO_MIB ((size_t)2 << 20)
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#if defined(VGP_amd64_linux)
static long raw_mmap(void *a, size_t len, long prot, long flags)
{
    long r;
    register long r10 __asm__("r10") = flags;
    register long r8 __asm__("r8") = -1;
    register long r9 __asm__("r9") = 0;
    __asm__ volatile("syscall"
                     : "=a"(r)
                     : "0"(9L), "D"(a), "S"(len), "d"(prot), "r"(r10),
                       "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return r;
}

static void raw_munmap(void *a, size_t len)
{
    long r;
    __asm__ volatile("syscall"
                     : "=a"(r)
                     : "0"(11L), "D"(a), "S"(len)
                     : "rcx", "r11", "memory");
    (void)r;
}

void *I_WRAP_SONAME_FNNAME_ZU(VG_Z_LIBC_SONAME, mmap)(void *addr, size_t len,
                                                      int prot, int flags,
                                                      int fd, long off);
void *I_WRAP_SONAME_FNNAME_ZU(VG_Z_LIBC_SONAME, mmap)(void *addr, size_t len,
                                                      int prot, int flags,
                                                      int fd, long off)
{
    OrigFn fn;
    unsigned long r;
    VALGRIND_GET_ORIG_FN(fn);
    if (addr != NULL && !(flags & (MAP_FIXED | MAP_FIXED_NOREPLACE))) {
        unsigned long limit = VALGRIND_DO_CLIENT_REQUEST_EXPR(
            0, VG_USERREQ__MEMLINE_MAP_LIMIT, 0, 0, 0, 0, 0);
        if (limit && (len > limit || (unsigned long)addr > limit - len))
            addr = NULL;
    }
    /* not MAP_32BIT (placed low), MAP_GROWSDOWN (a stack) or MAP_HUGETLB
       (explicit huge pages, aligned by the kernel in any case) */
    if (addr == NULL && len > 0 && len % TWO_MIB == 0 &&
        len <= ~(size_t)0 - TWO_MIB && (flags & MAP_ANONYMOUS) &&
        (flags & MAP_TYPE) == MAP_PRIVATE &&
        !(flags & (MAP_FIXED | MAP_FIXED_NOREPLACE | MAP_32BIT |
                   MAP_GROWSDOWN | MAP_HUGETLB)) &&
        VALGRIND_DO_CLIENT_REQUEST_EXPR(0, VG_USERREQ__MEMLINE_PLACE_ALIGNED,
                                        0, 0, 0, 0, 0)) {
        long res = raw_mmap(NULL, len + TWO_MIB, PROT_NONE,
                            MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE);
        if (res >= 0 || res < -4095) {
            char *base = (char *)res;
            char *a = (char *)(((unsigned long)base + TWO_MIB - 1) &
                               ~(unsigned long)(TWO_MIB - 1));
            CALL_FN_W_6W(r, fn, a, len, prot, flags | MAP_FIXED, fd, off);
            if ((void *)r == MAP_FAILED) {
                raw_munmap(base, len + TWO_MIB);
            } else {
                if (a > base)
                    raw_munmap(base, (size_t)(a - base));
                if (base + TWO_MIB > a)
                    raw_munmap(a + len, (size_t)(base + TWO_MIB - a));
                return (void *)r;
            }
        }
    }
    CALL_FN_W_6W(r, fn, addr, len, prot, flags, fd, off);
    return (void *)r;
}

#define PAGE_SIZE_BYTES ((SizeT)4096)

void *VG_REPLACE_FUNCTION_EZU(10110, VG_Z_LIBC_SONAME, memalign)(SizeT al,
                                                                 SizeT n);
void *VG_REPLACE_FUNCTION_EZU(10191, VG_Z_LIBC_SONAME, pvalloc)(SizeT n);
void *VG_REPLACE_FUNCTION_EZU(10191, VG_Z_LIBC_SONAME, pvalloc)(SizeT n)
{
    if (n > ~(SizeT)0 - PAGE_SIZE_BYTES)
        return NULL;                      /* glibc: ENOMEM */
    SizeT rounded = (n + PAGE_SIZE_BYTES - 1) & ~(PAGE_SIZE_BYTES - 1);
    return VG_REPLACE_FUNCTION_EZU(10110, VG_Z_LIBC_SONAME, memalign)(
        PAGE_SIZE_BYTES, rounded);
}
#endif

int VG_REPLACE_FUNCTION_EZU(10141, VG_Z_LIBC_SONAME, mallopt)(int param,
                                                              int value);
int VG_REPLACE_FUNCTION_EZU(10141, VG_Z_LIBC_SONAME, mallopt)(int param,
                                                              int value)
{
    return (int)VALGRIND_DO_CLIENT_REQUEST_EXPR(
        1, VG_USERREQ__MEMLINE_MALLOPT, param, value, 0, 0, 0);
}

int VG_REPLACE_FUNCTION_EZU(10151, VG_Z_LIBC_SONAME, malloc_trim)(SizeT pad);
int VG_REPLACE_FUNCTION_EZU(10151, VG_Z_LIBC_SONAME, malloc_trim)(SizeT pad)
{
    return (int)VALGRIND_DO_CLIENT_REQUEST_EXPR(
        0, VG_USERREQ__MEMLINE_MALLOC_TRIM, pad, 0, 0, 0, 0);
}
