/* rss_mallopt.c -- glibc's malloc settings change the resident set:
   mallopt, the glibc.malloc tunables and malloc_trim.

   The program allocates 32 blocks of 1 MiB, writes them all, and frees
   all but the last.  With glibc's defaults a 1 MiB block is above the
   mmap threshold (128 KiB): each is a mapping of its own, unmapped at its
   free, and the final resident set is the start-up pages and the last
   block.  With the threshold raised to 4 MiB the blocks lie in the heap;
   the 31 freed ones merge into one free chunk below the last, which
   keeps the heap's top from being trimmed: 31 MiB stay resident to the
   end.  malloc_trim(0) gives the whole pages of that free chunk back
   (madvise MADV_DONTNEED).

     rss_mallopt mallopt   mallopt(M_MMAP_THRESHOLD, 4 MiB) first
     rss_mallopt env       the same setting from the environment
                           (GLIBC_TUNABLES=glibc.malloc.mmap_threshold=
                           4194304, or MALLOC_MMAP_THRESHOLD_=4194304)
     rss_mallopt trim      as mallopt, then malloc_trim(0)
     rss_mallopt           glibc's defaults

   It prints "mallopt: R" (mallopt's result, 1 when taken) and "trim: R"
   (malloc_trim's: 1 when memory was given back) on stdout.

   RSS metric.  Peak and final RSS within 5% of the native run's
   (MEMLINE_NATIVE_HWM=1, rss_native.h): about 33 MiB both with the
   threshold raised, final about 2 MiB after the trim or with the
   defaults.  memline's model of glibc's heap takes the settings from
   the same places (vg-tool/ml_rss.c, "Parameters"). */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "rss_native.h"

#define BLOCKS 32
#define BLOCK  (1u << 20)

int main(int argc, char **argv)
{
    static char *p[BLOCKS];
    const char *mode = argc > 1 ? argv[1] : "";
    rss_native_init();
    if (strcmp(mode, "mallopt") == 0 || strcmp(mode, "trim") == 0)
        printf("mallopt: %d\n", mallopt(M_MMAP_THRESHOLD, 4 << 20));
    for (int i = 0; i < BLOCKS; i++) {
        p[i] = malloc(BLOCK);                             /* L:alloc */
        if (!p[i])
            return 1;
        memset(p[i], 1, BLOCK);                           /* L:touch */
    }
    for (int i = 0; i < BLOCKS - 1; i++)
        free(p[i]);                                       /* L:free */
    if (strcmp(mode, "trim") == 0)
        printf("trim: %d\n", malloc_trim(0));             /* L:trim */
    fflush(stdout);
    return 0;
}
