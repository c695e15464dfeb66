/* ml_clock.h -- the instruction clock: guest instructions executed by
   all threads, the trace's deterministic time (ml_trace.h, "time"). */
#ifndef ML_CLOCK_H
#define ML_CLOCK_H

#include "pub_tool_basics.h"
#include "pub_tool_tooliface.h"

void ml_clock_init(void);

/* Instructions executed so far, as of the last superblock exit. */
ULong ml_clock(void);

/* Adds n instructions to the running thread's count, inline. */
void ml_clock_ir_add(IRSB *sb, const VexGuestLayout *layout, ULong n);

/* The running thread's guest state, as a helper given IRExpr_GSPTR()
   sees it: from then on its count is read and reset in place, without a
   copy. */
void ml_clock_note_gs(void *gs);

#endif
