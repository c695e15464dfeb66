/* ml_stack.h -- what the trace says about code: interned strings, code
   locations (address -> function, file, line, with the chain of inlined
   calls) and call stacks interned as a trie (heaptrack's scheme).  Each
   string, location and stack node is written to the trace the first time
   it is used, so the trace is self-contained and append-only. */
#ifndef ML_STACK_H
#define ML_STACK_H

#include "pub_tool_basics.h"
#include "pub_tool_tooliface.h"

typedef struct {
   Addr  ip;
   UInt  flags;     /* ML_LOC_* */
   UInt  nframes;   /* >= 1 */
   UInt *frames;    /* 3 * nframes: fn, file, line; innermost first */
} MlLoc;

void ml_stack_init(UInt depth);

/* Interned string id (>= 1; 0 for NULL or ""), written when new. */
UInt ml_str_intern(const HChar *s);
const HChar *ml_str_get(UInt id);

/* Location id (>= 1) of a code address, resolved and written when new. */
UInt ml_loc_for_ip(Addr ip);
const MlLoc *ml_loc_get(UInt id);
/* The frames of ip, innermost first, as a LOC would hold them (function,
   file and line string ids, three per frame; at most max frames; returns
   how many), without creating a location: used for line slots. */
UInt ml_resolve_chain(Addr ip, UInt *fr, UInt max);

/* True if a is in the main executable's text. */
Bool ml_addr_in_main_exe(Addr a);
/* The main executable's code, [*lo, *hi); False while it is not known. */
Bool ml_main_exe_text(Addr *lo, Addr *hi);
/* The client mapped something (new objects may have debug info). */
void ml_stack_note_mmap(void);

/* Captures the client stack of tid, drops the allocator's own frames (the
   vgpreload object) and frames below main, interns it and returns its
   stack id (0 for an empty stack).  *cut is set if more than --depth
   frames were there. */
UInt ml_stack_capture(ThreadId tid, Bool *cut);
/* The stack that ml_stack_capture would return at ip, an instruction of
   the same function activation as ip_first, given stack, its result at
   ip_first: the same callers, innermost frame ip.  (When ip_first is in
   the allocator's preload object, whose frames a capture drops, that is
   stack itself.) */
UInt ml_stack_with_top(UInt stack, Addr ip_first, Addr ip);
/* Declares that the dirty call di captures a stack: it reads the guest
   registers the unwinder starts from (SP, IP, BP), which the
   instrumentation must therefore have written back before the call.  Sets
   the first nFxState entries (3); a caller may add entries after them. */
void ml_stack_dirty_reads(IRDirty *di, const VexGuestLayout *layout);
/* The same without IP, for a helper that is passed its instruction's
   address and sets the guest IP itself before it captures:
   SP and BP only (nFxState = 2). */
void ml_stack_dirty_reads_sp_bp(IRDirty *di, const VexGuestLayout *layout);

/* Statistics for -v. */
ULong ml_stack_n_nodes(void);
ULong ml_stack_n_locs(void);
void ml_stack_cache_stats(ULong *hits, ULong *misses);
void ml_stack_vcache_stats(ULong *hits, ULong *misses, ULong *spliced);

/* Writes every string, location and stack node known so far again (the
   start of a forked child's own trace). */
void ml_stack_reemit_all(void);

#endif
