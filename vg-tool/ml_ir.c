/* ml_ir.c -- instrumentation building blocks (ml_ir.h).

   Addresses of the tool's data.  VEX has no absolute addressing mode on
   amd64: a load or store at a constant address costs a 10-byte movabs
   of the address into a register, then the access.  The tool is linked
   below 2 GiB (valt_load_address), so the address of anything in its
   .data or .bss fits a 32-bit displacement, if only there is a base
   register holding 0.  The base is a read of a guest-state word that is
   always 0: one in the first shadow area, which memline does not
   otherwise use (the core zeroes it when it creates a thread and only
   copies it: to a cloned thread, into a signal frame and back).  VEX
   cannot fold a guest-state read, loads it once per superblock and keeps
   it in a register; every access of the instrumentation is then
   "op disp32(%base)", as a memory operand of the one instruction.  The
   users: the line counters and the heap and RSS levels (ml_lines.c), the
   page-map byte of an access at a constant address (ml_rss.c).  The
   instruction clock needs no base: it counts in guest state
   (ml_clock.c).

   Chasing.  With --vex-guest-chase=yes (Valgrind's default) a superblock
   that reaches an unconditional jump or a call goes on at its target, up
   to three pieces of code in one translation; that code is translated
   again as a superblock of its own when it is entered otherwise.  A
   program whose run is mostly the same hot code gains (fewer trips
   through the dispatcher, more code optimised together); one whose run
   is mostly translation loses (more code translated).  The two kinds
   differ by a factor of ten in how much code they translate: the
   benchmark's allocation-, instruction- and container-heavy samples and
   the Lua interpreter translate 13 K to 33 K guest instructions in all
   (start-up included), gcc's cc1 compiling one file 750 K.  So chasing
   stays on until the program has translated ML_CHASE_LIMIT (100 K) guest
   instructions, and is then turned off for every later translation.
   Measured on this rule's two sides (heap-only runs, user seconds):
   chasing took `containers` 2.9-3.1 s where no chasing took 3.2-3.5 s,
   `lua5.4 samples/bench/alloc.lua 0.3` 3.0-3.1 s against 3.5-3.6 s; cc1
   9.3-10.5 s against 8.4-9.1 s.  VEX reads the setting from its own
   copy of the control block (vex_control, made at the first
   translation) at every translation, so that copy is the one changed.
   Deterministic: it depends on the code translated, not on time.  What
   the rule can cost a program it misjudges is bounded: at most the
   first 100 K instructions are translated with chasing (cc1: 33 K more
   guest instructions translated in all, 4%), and a program that goes on
   to run hot loops after translating more than that runs them as
   without chasing, as before.  (Not every hot program gains: xz -6 on
   4 MB translates 32 K and keeps chasing, in the same time as without.) */
#include "pub_tool_basics.h"
#include "pub_tool_libcassert.h"
#include "libvex_guest_amd64.h"
#include "ml_ir.h"

/* VEX's settings (VEX/priv/main_globals.h): LibVEX_Init copies
   VG_(clo_vex_control) here; bb_to_IR reads guest_chase from here. */
extern VexControl vex_control;

static Bool  chase_auto;
static ULong n_translated, chase_stopped_at;

void ml_ir_chase_auto(void)
{
   chase_auto = True;
}

void ml_ir_translated(UInt guest_insns)
{
   n_translated += guest_insns;
   if (chase_auto && n_translated >= ML_CHASE_LIMIT) {
      chase_auto = False;
      vex_control.guest_chase = False;
      chase_stopped_at = n_translated;
   }
}

ULong ml_ir_n_translated(void)     { return n_translated; }
ULong ml_ir_chase_stopped_at(void) { return chase_stopped_at; }

/* The shadow of guest R15 (ml_clock.c counts in RAX's; the core itself
   writes only the shadow SP, for tools that keep shadow registers). */
static Int    zero_offset;
static IRTemp zero_tmp = IRTemp_INVALID;

void ml_ir_begin(const VexGuestLayout *layout)
{
   zero_offset = layout->total_sizeB +
                 (Int)offsetof(VexGuestAMD64State, guest_R15);
   zero_tmp = IRTemp_INVALID;
}

IRExpr *ml_ir_assign(IRSB *sb, IRType ty, IRExpr *e)
{
   IRTemp t = newIRTemp(sb->tyenv, ty);
   addStmtToIRSB(sb, IRStmt_WrTmp(t, e));
   return IRExpr_RdTmp(t);
}

IRExpr *ml_ir_addr(IRSB *sb, const void *p)
{
   HWord a = (HWord)p;
   if (a >= 0x80000000UL)
      return mkIRExpr_HWord(a);
   /* The first use dominates the later ones: a superblock is straight
      line code whose side exits only leave it. */
   if (zero_tmp == IRTemp_INVALID) {
      zero_tmp = newIRTemp(sb->tyenv, Ity_I64);
      addStmtToIRSB(sb, IRStmt_WrTmp(zero_tmp,
                                     IRExpr_Get(zero_offset, Ity_I64)));
   }
   return ml_ir_assign(sb, Ity_I64, IRExpr_Binop(Iop_Add64,
                       IRExpr_RdTmp(zero_tmp),
                       IRExpr_Const(IRConst_U64((ULong)a))));
}
