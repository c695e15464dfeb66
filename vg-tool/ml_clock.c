/* ml_clock.c -- the instruction clock (ml_clock.h).

   Each thread counts the instructions it executes in a word of its own
   guest state: one in the first shadow area, which memline does not
   otherwise use.  The translation adds to it at each superblock exit
   with a load, an add and a store relative to the guest-state pointer,
   where a counter in the tool's memory costs a base address first (on
   gcc's cc1, translation-bound, that difference is 4% of a heap-only
   run's translated code).

   Which word matters.  The count is a chain through memory: each
   superblock loads what the one before stored.  On the machines the
   benchmark runs on (AMD EPYC) that chain is nearly free when the word
   is addressed off the guest-state pointer (%rbp in translated code)
   with a displacement below 1024, and costs up to a third of a
   heap-only run above.  Why is not established: the three instructions
   in a loop of their own run as fast at either displacement; what holds
   is that the boundary is the displacement, not the address (the guest
   state of `lua5.4` and of `containers` lie at different offsets in
   their pages, and both are slow at 1056 and fast at 944).  The first
   shadow area starts at 928 bytes, so only its first twelve words
   qualify.
   Measured, heap-only runs of `lua5.4 samples/bench/alloc.lua 0.3`,
   user seconds, 5 alternating runs each: the count at offset 944 (RAX's
   shadow) 2.15-2.34, 1008 (R8's) 2.12-2.59, 1016 (R9's) 2.14-2.50; at
   1040 (R12's) 3.51-3.83, 1056 (R14's, before this choice) 2.93-3.46,
   and spread over four words from 1024 by superblock address
   2.94-3.19; nulgrind 1.6-1.9.  The shadow of RSP (976) is the one the
   core writes.

   When the thread stops running translated code, its count is added to
   the clock and set back to 0; so outside translated code every count is
   0 and the clock is exact, and inside, the clock is the folded sum plus
   the running thread's count.

   Stopping is the only place that writes the word.  Helpers called from
   translated code only read it.  The core copies a thread's guest state
   to a cloned thread and into a signal frame and back; each happens
   after the thread stopped, with the word at 0, so nothing is counted
   twice. */
#include "pub_tool_basics.h"
#include "pub_tool_libcassert.h"
#include "pub_tool_machine.h"
#include "pub_tool_mallocfree.h"
#include "pub_tool_threadstate.h"
#include "pub_tool_tooliface.h"
#include "libvex_guest_amd64.h"
#include "ml_clock.h"

/* In the first shadow area, at guest RAX's place: 944 bytes from the
   guest-state pointer (see "Which word matters"; ml_ir.c uses R15's). */
#define COUNT_OFFSET ((Int)__builtin_offsetof(VexGuestAMD64State, guest_RAX))
_Static_assert(sizeof(VexGuestAMD64State) + COUNT_OFFSET + 8 <= 1024,
               "the count must sit below 1024 bytes of the guest state");

static ULong    folded;               /* all threads, up to their last stop */
static Bool     running;              /* a thread runs translated code */
static ThreadId running_tid;
static ULong  **count_ptr;            /* per thread, its count's address in
                                         its guest state, once a helper
                                         was given that (VG_N_THREADS) */
static ULong   *running_count;        /* count_ptr[running_tid] */

static ULong count_of(ThreadId tid)
{
   ULong v = 0;
   VG_(get_shadow_regs_area)(tid, (UChar *)&v, 1, COUNT_OFFSET, sizeof v);
   return v;
}

static void on_start(ThreadId tid, ULong blocks_done)
{
   running = True;
   running_tid = tid;
   running_count = count_ptr[tid];
}

static void on_stop(ThreadId tid, ULong blocks_done)
{
   if (running_count) {
      folded += *running_count;
      *running_count = 0;
   } else {
      ULong v = count_of(tid);
      if (v) {
         folded += v;
         ULong zero = 0;
         VG_(set_shadow_regs_area)(tid, 1, COUNT_OFFSET, sizeof zero,
                                   (const UChar *)&zero);
      }
   }
   running = False;
}

void ml_clock_init(void)
{
   tl_assert(sizeof(VexGuestAMD64State) % 16 == 0);
   count_ptr = VG_(calloc)("ml.clock.counts", VG_N_THREADS, sizeof *count_ptr);
   VG_(track_start_client_code)(on_start);
   VG_(track_stop_client_code)(on_stop);
}

ULong ml_clock(void)
{
   if (!running)
      return folded;
   return folded + (running_count ? *running_count : count_of(running_tid));
}

void ml_clock_note_gs(void *gs)
{
   if (running && !running_count)
      running_count = count_ptr[running_tid] =
         (ULong *)((UChar *)gs + sizeof(VexGuestAMD64State) + COUNT_OFFSET);
}

void ml_clock_ir_add(IRSB *sb, const VexGuestLayout *layout, ULong n)
{
   Int off = layout->total_sizeB + COUNT_OFFSET;
   IRTemp t1 = newIRTemp(sb->tyenv, Ity_I64);
   IRTemp t2 = newIRTemp(sb->tyenv, Ity_I64);
   addStmtToIRSB(sb, IRStmt_WrTmp(t1, IRExpr_Get(off, Ity_I64)));
   addStmtToIRSB(sb, IRStmt_WrTmp(t2, IRExpr_Binop(Iop_Add64,
                 IRExpr_RdTmp(t1), IRExpr_Const(IRConst_U64(n)))));
   addStmtToIRSB(sb, IRStmt_Put(off, IRExpr_RdTmp(t2)));
}
