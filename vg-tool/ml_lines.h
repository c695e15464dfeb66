/* ml_lines.h -- per-line statistics and the instrumentation that keeps
   them: the guest instruction clock, and for each source line of the
   profiled functions the number of times execution entered it and the
   highest live-heap total at an entry.  All of it is inline IR
   (load/add/store), no helper call per line. */
#ifndef ML_LINES_H
#define ML_LINES_H

#include "pub_tool_basics.h"
#include "pub_tool_tooliface.h"

/* fns: NULL or a comma-separated list of globs restricting which
   functions get line statistics. */
void ml_lines_init(Bool enabled, const HChar *fns);

IRSB *ml_instrument(VgCallbackClosure *closure, IRSB *sbIn,
                    const VexGuestLayout *layout,
                    const VexGuestExtents *vge,
                    const VexArchInfo *archinfo_host,
                    IRType gWordTy, IRType hWordTy);

/* Writes a LINE record for every line slot and, if with_files, a FILE
   record for every source file they name (stat + hash: only at the end). */
void ml_lines_write_table(Bool with_files);
/* Zeroes every counter (a forked child's statistics start afresh). */
void ml_lines_reset(void);
ULong ml_lines_n_slots(void);
/* Shared high-water cells made (ml_lines.c, "Shared high-water marks"). */
ULong ml_lines_n_cells(void);
/* Code addresses whose line chain is kept (those with lines). */
ULong ml_lines_n_addrs(void);

#endif
