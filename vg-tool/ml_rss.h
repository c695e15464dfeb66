/* ml_rss.h -- the simulated resident set of the client (DESIGN §5).

   Every 4 KiB page of client memory has one byte in a two-level page
   map: not resident, or resident with its kind (anon, file, stack, code).
   A page becomes resident on the client's first write (anonymous memory,
   heap, stack, bss/data) or first access of any kind (file-backed
   mappings; code pages when the code is translated); kernel writes into
   client memory count as writes.  It stops being resident on munmap, brk
   shrink, mremap (moved), madvise(DONTNEED/FREE/REMOVE) and the free() of
   a block Valgrind's allocator unmaps.  Each change is a PAGE record with
   the stack of the instruction (or system call) that caused it. */
#ifndef ML_RSS_H
#define ML_RSS_H

#include "pub_tool_basics.h"
#include "pub_tool_tooliface.h"

/* Resident bytes now: read inline by the line counters. */
extern ULong ml_rss_cur;

/* After options, when --rss=yes: reserves the page map and registers the
   core events it needs (munmap, brk, mremap, kernel writes); glibc_heap:
   --rss-heap=glibc (the heap's pages from a simulation of glibc's heap,
   ml_rss.c "The heap as glibc lays it out"). */
void ml_rss_enable(Bool glibc_heap);
Bool ml_rss_enabled(void);
Bool ml_rss_glibc_heap(void);

/* The page checks of a superblock: ml_rss_plan decides where each
   statement's check goes; the instrumentation (ml_lines.c) calls
   ml_rss_before before copying statement i and ml_rss_after after it.
   The plan is valid until the next call (one superblock at a time). */
typedef struct MlRssPlan MlRssPlan;
/* entry[i] (or NULL for none): statement i starts a line entry, which
   reads the RSS level; a helper call for a group of accesses does not
   reach across one (see ml_rss.c).  vge: the superblock's guest code,
   for the translations that leave out checks of resident pages. */
MlRssPlan *ml_rss_plan(const IRSB *sbIn, const VexGuestLayout *layout,
                       const Bool *entry, const VexGuestExtents *vge);
/* Both return True when they emitted a helper call (which may change
   ml_rss_cur). */
Bool ml_rss_before(const MlRssPlan *pl, const IRSB *sbIn, Int i, IRSB *sb,
                   const VexGuestLayout *l);
Bool ml_rss_after(const MlRssPlan *pl, const IRSB *sbIn, Int i, IRSB *sb,
                  const VexGuestLayout *l);
/* Whether ml_rss_before (ml_rss_after) of statement i will emit a helper
   call, known before they run. */
Bool ml_rss_calls_before(const MlRssPlan *pl, Int i);
Bool ml_rss_calls_after(const MlRssPlan *pl, Int i);
/* Marks the code pages of a translated superblock resident. */
void ml_rss_code(const VexGuestExtents *vge);
/* After an allocator call (malloc, free, realloc) on a block of len
   bytes: releases the pages the allocator may have unmapped (see
   ml_rss_sweep). */
void ml_rss_after_heap_op(SizeT len);
/* Releases every resident page that is no longer mapped for the client. */
void ml_rss_sweep(void);
/* madvise(a, len, advice) succeeded. */
void ml_rss_madvise(Addr a, SizeT len, UWord advice);
/* The kernel faulted in [a, a+len) for the program (MADV_POPULATE_*):
   with write faults when write, else read faults. */
void ml_rss_populate(Addr a, SizeT len, Bool write);
/* mlock(a, len), mlockall(flags), munlockall() succeeded. */
void ml_rss_lock(Addr a, SizeT len);
void ml_rss_lock_all(UWord flags);
void ml_rss_unlock_all(void);

ULong ml_rss_peak(void);
/* Planning and helper statistics, for -v -v. */
void ml_rss_print_stats(void);
/* Writes every resident page as PAGE records with stack 0 (the start of
   a forked child's trace). */
void ml_rss_reemit(void);
/* The heap's blocks, for the blocks glibc would have served with a
   mapping of their own and the simulated glibc heap (ml_rss.c): a
   malloc'd block (of that alignment; zeroed: calloc), a freed one, and a
   realloc from old to p (p may be old; called after the heap module's
   own records).  mword is the block's (the old block's) word of
   ml_heap_model_word, read before the heap module let the block go. */
void ml_rss_block_alloc(Addr p, SizeT size, SizeT align, Bool zeroed);
void ml_rss_block_free(Addr p, SizeT size, ULong mword);
/* The block of that word is about to be freed or realloc'd (a hint,
   given before the heap module's own work: the model's record of it is
   fetched meanwhile). */
void ml_rss_block_soon(ULong mword);
void ml_rss_block_realloc(Addr old, SizeT old_size, ULong mword, Addr p,
                          SizeT size);
/* Whether the program's mappings of 2 MiB multiples should land 2 MiB-
   aligned, as the kernel places them natively (the preload asks). */
Bool ml_rss_place_aligned(void);
/* The first address past the simulated resident set's reach (128 GiB),
   0 when the simulation is off: the preload drops mmap hints beyond it. */
Addr ml_rss_map_limit(void);
/* The program's prctl(PR_SET_THP_DISABLE, disable, flags) succeeded. */
void ml_rss_thp_disable(UWord disable, UWord flags);
/* In a forked child, before its trace restates the resident pages:
   thread tid forked, the others are gone; the pages the kernel does not
   copy at a fork leave the map. */
void ml_rss_fork_child(ThreadId tid);
/* The program's mallopt(param, value) and malloc_trim(pad), passed on by
   the preload: glibc's result (the simulated glibc heap follows them). */
Int  ml_rss_mallopt(Int param, Int value);
Int  ml_rss_malloc_trim(SizeT pad);
/* mmap succeeded with flags at [a, a+len), of the file open as fd unless
   MAP_ANONYMOUS (any mapping: it replaces what was there; MAP_POPULATE,
   MAP_LOCKED and mlockall(MCL_FUTURE) populate it). */
void ml_rss_mapped(Addr a, SizeT len, UWord flags, Int fd);
/* The program called exit_group: no page changes from here on. */
void ml_rss_freeze(void);

#endif
