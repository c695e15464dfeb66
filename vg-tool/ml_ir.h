/* ml_ir.h -- building blocks for memline's instrumentation: flat IR
   statements, and addresses of the tool's own data that cost a 32-bit
   displacement instead of a 64-bit constant. */
#ifndef ML_IR_H
#define ML_IR_H

#include "pub_tool_basics.h"
#include "pub_tool_tooliface.h"

/* Call once per superblock, before instrumenting its first instruction. */
void ml_ir_begin(const VexGuestLayout *layout);

/* t = e; returns t, as an atom. */
IRExpr *ml_ir_assign(IRSB *sb, IRType ty, IRExpr *e);

/* An atom holding address p (the tool's data), for one load or store of
   the instrumentation: a new temporary each time, so that the backend
   can fold it into that access's addressing mode. */
IRExpr *ml_ir_addr(IRSB *sb, const void *p);

/* Chasing: VEX following an unconditional jump or call into the same
   superblock (see ml_ir.c, "Chasing").  ml_ir_chase_auto (at start-up,
   unless the user chose with --vex-guest-chase) leaves chasing on until
   the program has translated ML_CHASE_LIMIT guest instructions, then
   turns it off; ml_ir_translated is told of every superblock's. */
#define ML_CHASE_LIMIT 100000
void ml_ir_chase_auto(void);
void ml_ir_translated(UInt guest_insns);
/* Guest instructions translated so far, and how many had been when
   chasing stopped (0: it did not). */
ULong ml_ir_n_translated(void);
ULong ml_ir_chase_stopped_at(void);

#endif
