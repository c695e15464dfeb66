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

   Guest instruction addresses passed to helpers.  When a translation
   is entered, the guest IP holds the address it was entered at: the
   dispatcher found it by that address, a chained jump stores it before
   jumping, and a translation whose event check fails is re-entered from
   it.  So the guest IP read before any statement of the superblock, plus
   a constant, gives any of its instructions' addresses; the constant is
   small, and VEX turns the sum into a short lea. */
#include "pub_tool_basics.h"
#include "pub_tool_libcassert.h"
#include "libvex_guest_amd64.h"
#include "ml_ir.h"

/* The shadow of guest R15 (ml_clock.c counts in R14's; the core itself
   writes only the shadow SP, for tools that keep shadow registers). */
static Int    zero_offset;
static IRTemp zero_tmp = IRTemp_INVALID;
static IRTemp entry_tmp = IRTemp_INVALID;   /* guest IP at entry */
static Addr   entry_addr;

void ml_ir_begin(IRSB *sb, const VexGuestLayout *layout, Bool with_ip,
                 Addr entry)
{
   zero_offset = layout->total_sizeB +
                 (Int)offsetof(VexGuestAMD64State, guest_R15);
   zero_tmp = IRTemp_INVALID;
   entry_tmp = IRTemp_INVALID;
   if (!with_ip)
      return;
   /* Read now, before the superblock's own statements can set the IP;
      dropped by VEX if no helper uses it. */
   entry_tmp = newIRTemp(sb->tyenv, Ity_I64);
   addStmtToIRSB(sb, IRStmt_WrTmp(entry_tmp,
                                  IRExpr_Get(layout->offset_IP, Ity_I64)));
   entry_addr = entry;
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

IRExpr *ml_ir_guest_ip(IRSB *sb, Addr ip)
{
   tl_assert(entry_tmp != IRTemp_INVALID);
   return ml_ir_assign(sb, Ity_I64, IRExpr_Binop(Iop_Add64,
                       IRExpr_RdTmp(entry_tmp),
                       IRExpr_Const(IRConst_U64((ULong)(ip - entry_addr)))));
}
