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

/* The guest state of thread tid, as a helper given IRExpr_GSPTR() sees
   it: lets ml_clock read that thread's count without a copy. */
void ml_clock_note_gs(ThreadId tid, void *gs);

#endif
