/* ml_rss.c -- the simulated resident set (ml_rss.h).

   Page map: one byte per page of the 128 GiB Valgrind gives the client
   on amd64 Linux (2^25 pages, a 32 MiB map reserved up front and backed
   by the kernel only where pages are used), so the inline check is one
   shift, one mask and one load.  Pages above (the vsyscall page) are not
   tracked.  Byte values:
     0            not resident
     PG_READ      anonymous page read but never written (the kernel maps
                  the shared zero page: not resident, and loads of it need
                  no further check)
     PG_RES|kind  resident, with its kind (ML_PAGE_*)
   Inline check, per store: helper if !(b & PG_RES); per load: helper if
   b == 0.  The helper runs once per page and kind of access, takes the
   stack, and writes a PAGE record. */
#include "pub_tool_basics.h"
#include "pub_tool_libcbase.h"
#include "pub_tool_libcassert.h"
#include "pub_tool_libcprint.h"
#include "pub_tool_mallocfree.h"
#include "pub_tool_aspacemgr.h"
#include "pub_tool_machine.h"
#include "pub_tool_threadstate.h"
#include "pub_tool_tooliface.h"
#include "pub_tool_vki.h"
#include "libvex_guest_amd64.h"
#include "ml_trace.h"
#include "ml_out.h"
#include "ml_stack.h"
#include "ml_rss.h"

/* Exported by the core (pub_core_threadstate.h), not in pub_tool. */
extern Bool VG_(is_valid_tid)(ThreadId tid);

#define PG_SHIFT   12
#define PG_SIZE    (1UL << PG_SHIFT)
#define MAX_PAGE   (1ULL << 25)         /* first page past 128 GiB */

#define PG_READ    0x01
#define PG_RES     0x10

ULong ml_rss_cur;

static Bool   rss_on;
static UChar *pmap;                     /* MAX_PAGE bytes */
/* Non-zero bytes per 1 MiB chunk of the map, and a bit per chunk that
   has any: lets release and the sweep skip empty address space. */
#define CHUNK_SHIFT 8                   /* 256 pages */
#define N_CHUNKS    (MAX_PAGE >> CHUNK_SHIFT)
static UShort *ccnt;
static ULong  *cbits;
static ULong  n_pages[ML_PAGE_KINDS];
static ULong  peak;
static Bool   startup_done;

Bool ml_rss_enabled(void) { return rss_on; }
ULong ml_rss_peak(void) { return peak; }

/* Sets a page's byte (page < MAX_PAGE), keeping the chunk counts. */
static inline void set_page(ULong page, UChar v)
{
   UChar *b = &pmap[page];
   ULong c = page >> CHUNK_SHIFT;
   if (!*b && v) {
      if (ccnt[c]++ == 0)
         cbits[c >> 6] |= 1ULL << (c & 63);
   } else if (*b && !v) {
      if (--ccnt[c] == 0)
         cbits[c >> 6] &= ~(1ULL << (c & 63));
   }
   *b = v;
}

static UInt stack_of(ThreadId tid)
{
   if (tid == VG_INVALID_THREADID || !VG_(is_valid_tid)(tid))
      return 0;
   Bool cut;
   return ml_stack_capture(tid, &cut);
}

static void count(UInt kind, Long pages)
{
   n_pages[kind] += pages;
   ml_rss_cur += pages * PG_SIZE;
   if (ml_rss_cur > peak)
      peak = ml_rss_cur;
}

static Bool in_stack(Addr a, ThreadId tid)
{
   if (tid == VG_INVALID_THREADID || !VG_(is_valid_tid)(tid))
      return False;
   Addr max = VG_(thread_get_stack_max)(tid);
   SizeT sz = VG_(thread_get_stack_size)(tid);
   return a <= max && a + sz >= max;
}

/* First access of a page that the map does not show resident. */
static void touch_page(ULong page, Bool write, ThreadId tid, UInt *stack,
                       Bool *have_stack)
{
   if (page >= MAX_PAGE)
      return;
   if (pmap[page] & PG_RES)
      return;
   Addr a = page << PG_SHIFT;
   NSegment const *seg = VG_(am_find_nsegment)(a);
   if (!seg)
      return;
   UInt kind;
   if (seg->kind == SkFileC || seg->kind == SkShmC)
      kind = ML_PAGE_FILE;
   else if (seg->kind == SkAnonC)
      kind = in_stack(a, tid) ? ML_PAGE_STACK : ML_PAGE_ANON;
   else if (seg->kind == SkResvn && write && in_stack(a, tid))
      kind = ML_PAGE_STACK;   /* the store faults, the stack grows into it */
   else
      return;                               /* not the client's memory */
   if (!write && kind != ML_PAGE_FILE) {
      set_page(page, PG_READ);              /* the zero page: not RSS */
      return;
   }
   set_page(page, PG_RES | kind);
   count(kind, 1);
   if (!*have_stack) {
      *stack = stack_of(tid);
      *have_stack = True;
   }
   ml_out_page(tid, *stack, kind, 1);
}

static void touch(Addr a, SizeT size, Bool write, ThreadId tid)
{
   if (size == 0)
      size = 1;
   UInt stack = 0;
   Bool have = False;
   for (ULong p = a >> PG_SHIFT; p <= (a + size - 1) >> PG_SHIFT; p++)
      touch_page(p, write, tid, &stack, &have);
}

static VG_REGPARM(2) void ml_rss_store_helper(Addr a, UWord size)
{
   touch(a, size, True, VG_(get_running_tid)());
}

static VG_REGPARM(2) void ml_rss_load_helper(Addr a, UWord size)
{
   touch(a, size, False, VG_(get_running_tid)());
}

/* Makes [a, a+len) not resident; one PAGE record per kind released. */
static void release(Addr a, SizeT len, ThreadId tid)
{
   if (len == 0)
      return;
   Long freed[ML_PAGE_KINDS] = { 0 };
   ULong first = a >> PG_SHIFT, last = (a + len - 1) >> PG_SHIFT;
   if (last >= MAX_PAGE)
      last = MAX_PAGE - 1;
   if (first > last)
      return;
   for (ULong p = first; p <= last; ) {
      ULong cmask = (1ULL << CHUNK_SHIFT) - 1;
      ULong chunk_end = (p | cmask) < last ? (p | cmask) : last;
      if (ccnt[p >> CHUNK_SHIFT]) {
         for (ULong q = p; q <= chunk_end; q++) {
            UChar b = pmap[q];
            if (b & PG_RES)
               freed[b & 0x0f]++;
            if (b)
               set_page(q, 0);
         }
      }
      p = chunk_end + 1;
   }
   UInt stack = 0;
   Bool have = False;
   for (UInt k = 0; k < ML_PAGE_KINDS; k++) {
      if (!freed[k])
         continue;
      count(k, -freed[k]);
      if (!have) {
         stack = stack_of(tid);
         have = True;
      }
      ml_out_page(tid, stack, k, -freed[k]);
   }
}

/*------------------------------------------------------------*/
/*--- Core events                                          ---*/
/*------------------------------------------------------------*/

static void on_munmap(Addr a, SizeT len)
{
   release(a, len, VG_(get_running_tid)());
}

static void on_brk_shrink(Addr a, SizeT len)
{
   release(a, len, VG_(get_running_tid)());
}

static void on_remap(Addr from, Addr to, SizeT len)
{
   /* The pages move with the mapping: no change in the total. */
   for (SizeT off = 0; off < len; off += PG_SIZE) {
      ULong pf = (from + off) >> PG_SHIFT, pt = (to + off) >> PG_SHIFT;
      if (pf >= MAX_PAGE || pt >= MAX_PAGE)
         continue;
      UChar v = pmap[pf];
      if (!v)
         continue;
      set_page(pt, v);
      set_page(pf, 0);
   }
}

static void on_kernel_write(CorePart part, ThreadId tid, Addr a, SizeT len)
{
   if (len > 0)
      touch(a, len, True, tid);
}

void ml_rss_madvise(Addr a, SizeT len, UWord advice)
{
   /* MADV_DONTNEED 4, MADV_FREE 8, MADV_REMOVE 9 (not in vki). */
   if (rss_on && (advice == 4 || advice == 8 || advice == 9))
      release(a, len, VG_(get_running_tid)());
}

static inline Bool client_mapped(NSegment const *seg)
{
   return seg && (seg->kind == SkAnonC || seg->kind == SkFileC ||
                  seg->kind == SkShmC);
}

/* Valgrind's allocator unmaps client memory without telling the tool: a
   large block's own mapping when it is freed, and a superblock that all
   its blocks have left, later (its reclaim is deferred to the next such
   free, or to the mapping of a new superblock).  A sweep walks the 1 MiB
   chunks that hold resident pages, skips the parts still mapped for the
   client, and releases resident pages found anywhere else. */
void ml_rss_sweep(void)
{
   if (!rss_on)
      return;
   ThreadId tid = VG_(get_running_tid)();
   /* [.., mapped_to) is known to be mapped for the client: a segment
      spanning many chunks is looked up once, so a sweep costs about one
      lookup per mapping that holds resident pages. */
   Addr mapped_to = 0;
   for (ULong w = 0; w < N_CHUNKS / 64; w++) {
      for (ULong bits = cbits[w]; bits; bits &= bits - 1) {
         ULong c = w * 64 + __builtin_ctzll(bits);
         Addr p = (Addr)c << (CHUNK_SHIFT + PG_SHIFT);
         Addr end = p + ((Addr)1 << (CHUNK_SHIFT + PG_SHIFT));
         if (p < mapped_to)
            p = mapped_to;
         while (p < end && ccnt[c]) {
            NSegment const *seg = VG_(am_find_nsegment)(p);
            Addr next = seg ? seg->end + 1 : p + PG_SIZE;
            if (next <= p)
               next = end;
            if (client_mapped(seg)) {
               mapped_to = next;
            } else {
               if (next > end)
                  next = end;
               release(p, next - p, tid);
            }
            p = next;
         }
      }
   }
}

static UInt alloc_ops;

/* A sweep after any allocator call on a block of 64 KiB or more (those
   are what unmapping follows) and after every 1024th call. */
void ml_rss_after_heap_op(SizeT len)
{
   if (rss_on && (len >= 64 * 1024 || (++alloc_ops & 1023) == 0))
      ml_rss_sweep();
}

void ml_rss_code(const VexGuestExtents *vge)
{
   ThreadId tid = VG_(get_running_tid)();
   if (!startup_done && tid != VG_INVALID_THREADID) {
      /* The initial stack (arguments, environment, auxv) was written
         before the client ran: resident, as the kernel's would be. */
      startup_done = True;
      Addr sp = VG_(get_SP)(tid), max = VG_(thread_get_stack_max)(tid);
      Long pages = 0;
      for (ULong p = sp >> PG_SHIFT; p <= max >> PG_SHIFT && p < MAX_PAGE; p++) {
         if (!(pmap[p] & PG_RES)) {
            set_page(p, PG_RES | ML_PAGE_STACK);
            pages++;
         }
      }
      if (pages) {
         count(ML_PAGE_STACK, pages);
         ml_out_page(tid, 0, ML_PAGE_STACK, pages);
      }
   }
   UInt stack = 0;
   Bool have = False;
   for (UInt i = 0; i < vge->n_used; i++) {
      Addr a = (Addr)vge->base[i];
      SizeT len = vge->len[i] ? vge->len[i] : 1;
      for (ULong p = a >> PG_SHIFT; p <= (a + len - 1) >> PG_SHIFT; p++) {
         if (p >= MAX_PAGE)
            break;
         if (pmap[p] & PG_RES)
            continue;
         NSegment const *seg = VG_(am_find_nsegment)(p << PG_SHIFT);
         if (!seg || (seg->kind != SkFileC && seg->kind != SkAnonC &&
                      seg->kind != SkShmC))
            continue;
         UInt kind = seg->kind == SkAnonC ? ML_PAGE_ANON : ML_PAGE_CODE;
         set_page(p, PG_RES | kind);
         count(kind, 1);
         if (!have) {
            stack = stack_of(tid);
            have = True;
         }
         ml_out_page(tid, stack, kind, 1);
      }
   }
}

void ml_rss_reemit(void)
{
   for (UInt k = 0; k < ML_PAGE_KINDS; k++)
      if (n_pages[k])
         ml_out_page(VG_(get_running_tid)(), 0, k, (Long)n_pages[k]);
}

/*------------------------------------------------------------*/
/*--- Instrumentation                                      ---*/
/*------------------------------------------------------------*/

static IRExpr *assign(IRSB *sb, IRType ty, IRExpr *e)
{
   IRTemp t = newIRTemp(sb->tyenv, ty);
   addStmtToIRSB(sb, IRStmt_WrTmp(t, e));
   return IRExpr_RdTmp(t);
}

/* if (first touch of the page of addr) helper(addr, size) */
static void check_access(IRSB *sb, IRExpr *addr, Int size, Bool write,
                         const VexGuestLayout *layout)
{
   if (size <= 0)
      size = 1;
   IRExpr *pg = assign(sb, Ity_I64, IRExpr_Binop(Iop_Shr64, addr,
                                                 IRExpr_Const(IRConst_U8(PG_SHIFT))));
   IRExpr *pgi = assign(sb, Ity_I64, IRExpr_Binop(Iop_And64, pg,
                        IRExpr_Const(IRConst_U64(MAX_PAGE - 1))));
   IRExpr *ba = assign(sb, Ity_I64, IRExpr_Binop(Iop_Add64, pgi,
                       mkIRExpr_HWord((HWord)pmap)));
   IRExpr *b = assign(sb, Ity_I8, IRExpr_Load(Iend_LE, Ity_I8, ba));
   IRExpr *guard;
   if (write) {
      IRExpr *r = assign(sb, Ity_I8, IRExpr_Binop(Iop_And8, b,
                         IRExpr_Const(IRConst_U8(PG_RES))));
      guard = assign(sb, Ity_I1, IRExpr_Binop(Iop_CmpEQ8, r,
                     IRExpr_Const(IRConst_U8(0))));
   } else {
      guard = assign(sb, Ity_I1, IRExpr_Binop(Iop_CmpEQ8, b,
                     IRExpr_Const(IRConst_U8(0))));
   }
   IRDirty *di = unsafeIRDirty_0_N(
      2, write ? "ml_rss_store_helper" : "ml_rss_load_helper",
      VG_(fnptr_to_fnentry)(write ? (void *)&ml_rss_store_helper
                                  : (void *)&ml_rss_load_helper),
      mkIRExprVec_2(addr, mkIRExpr_HWord((HWord)size)));
   di->guard = guard;
   /* The helper takes a stack trace: it reads SP, IP and BP. */
   di->nFxState = 3;
   VG_(memset)(&di->fxState, 0, sizeof(di->fxState));
   di->fxState[0].fx = Ifx_Read;
   di->fxState[0].offset = layout->offset_SP;
   di->fxState[0].size = layout->sizeof_SP;
   di->fxState[1].fx = Ifx_Read;
   di->fxState[1].offset = layout->offset_IP;
   di->fxState[1].size = layout->sizeof_IP;
   di->fxState[2].fx = Ifx_Read;
   di->fxState[2].offset = offsetof(VexGuestAMD64State, guest_RBP);
   di->fxState[2].size = 8;
   addStmtToIRSB(sb, IRStmt_Dirty(di));
}

/* The address a statement accesses memory at, or NULL. */
static IRExpr *access_addr(const IRStmt *st)
{
   switch (st->tag) {
   case Ist_Store: return st->Ist.Store.addr;
   case Ist_StoreG: return st->Ist.StoreG.details->addr;
   case Ist_WrTmp:
      return st->Ist.WrTmp.data->tag == Iex_Load
                ? st->Ist.WrTmp.data->Iex.Load.addr : NULL;
   case Ist_LoadG: return st->Ist.LoadG.details->addr;
   case Ist_CAS: return st->Ist.CAS.details->addr;
   case Ist_LLSC: return st->Ist.LLSC.addr;
   case Ist_Dirty:
      return st->Ist.Dirty.details->mFx != Ifx_None
                ? st->Ist.Dirty.details->mAddr : NULL;
   default: return NULL;
   }
}

/* Where each statement's check goes.  A check runs as early as its
   address is known: right after the statement that computes the
   address, when that is in the same guest instruction.  So the check of
   a push or call runs before the instruction moves the stack pointer,
   while the guest state still matches the instruction's unwind info, and
   a page first touched by a push is charged to the full call stack. */
struct MlRssPlan {
   Int   n;
   Int  *after_head;   /* per statement: first check to run after it */
   Int  *next;         /* per statement: next check in the same list */
   Bool *hoisted;      /* per statement: its check runs earlier */
};

MlRssPlan *ml_rss_plan(const IRSB *sbIn)
{
   Int n = sbIn->stmts_used, nt = sbIn->tyenv->types_used;
   MlRssPlan *pl = VG_(malloc)("ml.rss.plan", sizeof *pl);
   pl->n = n;
   pl->after_head = VG_(malloc)("ml.rss.plan", (n + 1) * sizeof(Int));
   pl->next = VG_(malloc)("ml.rss.plan", (n + 1) * sizeof(Int));
   pl->hoisted = VG_(malloc)("ml.rss.plan", (n + 1) * sizeof(Bool));
   Int *def = VG_(malloc)("ml.rss.plan", (nt + 1) * sizeof(Int));
   for (Int t = 0; t < nt; t++)
      def[t] = -1;
   Int imark = -1;
   for (Int i = 0; i < n; i++) {
      pl->after_head[i] = -1;
      pl->next[i] = -1;
      pl->hoisted[i] = False;
      const IRStmt *st = sbIn->stmts[i];
      if (!st)
         continue;
      IRExpr *a = access_addr(st);
      if (a && a->tag == Iex_RdTmp) {
         Int d = def[a->Iex.RdTmp.tmp];
         if (d > imark && d < i) {
            pl->next[i] = pl->after_head[d];
            pl->after_head[d] = i;
            pl->hoisted[i] = True;
         }
      }
      if (st->tag == Ist_IMark)
         imark = i;
      else if (st->tag == Ist_WrTmp)
         def[st->Ist.WrTmp.tmp] = i;
   }
   VG_(free)(def);
   return pl;
}

void ml_rss_plan_free(MlRssPlan *pl)
{
   VG_(free)(pl->after_head);
   VG_(free)(pl->next);
   VG_(free)(pl->hoisted);
   VG_(free)(pl);
}

static void instrument_stmt(IRSB *sb, IRStmt *st, const VexGuestLayout *l);

void ml_rss_before(const MlRssPlan *pl, const IRSB *sbIn, Int i, IRSB *sb,
                   const VexGuestLayout *l)
{
   if (!pl->hoisted[i])
      instrument_stmt(sb, sbIn->stmts[i], l);
}

void ml_rss_after(const MlRssPlan *pl, const IRSB *sbIn, Int i, IRSB *sb,
                  const VexGuestLayout *l)
{
   /* The list is in reverse statement order; checks are independent. */
   for (Int k = pl->after_head[i]; k >= 0; k = pl->next[k])
      instrument_stmt(sb, sbIn->stmts[k], l);
}

static void instrument_stmt(IRSB *sb, IRStmt *st, const VexGuestLayout *l)
{
   switch (st->tag) {
   case Ist_Store:
      check_access(sb, st->Ist.Store.addr,
                   sizeofIRType(typeOfIRExpr(sb->tyenv, st->Ist.Store.data)),
                   True, l);
      break;
   case Ist_StoreG: {
      IRStoreG *sg = st->Ist.StoreG.details;
      check_access(sb, sg->addr,
                   sizeofIRType(typeOfIRExpr(sb->tyenv, sg->data)), True, l);
      break;
   }
   case Ist_WrTmp: {
      IRExpr *e = st->Ist.WrTmp.data;
      if (e->tag == Iex_Load)
         check_access(sb, e->Iex.Load.addr, sizeofIRType(e->Iex.Load.ty),
                      False, l);
      break;
   }
   case Ist_LoadG: {
      IRLoadG *lg = st->Ist.LoadG.details;
      check_access(sb, lg->addr, 8, False, l);
      break;
   }
   case Ist_CAS: {
      IRCAS *cas = st->Ist.CAS.details;
      Int sz = sizeofIRType(typeOfIRExpr(sb->tyenv, cas->dataLo));
      check_access(sb, cas->addr, cas->dataHi ? 2 * sz : sz, True, l);
      break;
   }
   case Ist_LLSC:
      check_access(sb, st->Ist.LLSC.addr, 8, st->Ist.LLSC.storedata != NULL,
                   l);
      break;
   case Ist_Dirty: {
      IRDirty *d = st->Ist.Dirty.details;
      if (d->mFx != Ifx_None && d->mAddr)
         check_access(sb, d->mAddr, d->mSize,
                      d->mFx == Ifx_Write || d->mFx == Ifx_Modify, l);
      break;
   }
   default:
      break;
   }
}

/*------------------------------------------------------------*/
/*--- Set-up                                               ---*/
/*------------------------------------------------------------*/

void ml_rss_enable(void)
{
   pmap = VG_(am_shadow_alloc)(MAX_PAGE);
   if (!pmap) {
      VG_(umsg)("memline: cannot reserve the page map; running with "
                "--rss=no\n");
      return;
   }
   ccnt = VG_(calloc)("ml.rss.ccnt", N_CHUNKS, sizeof(UShort));
   cbits = VG_(calloc)("ml.rss.cbits", N_CHUNKS / 64, sizeof(ULong));
   rss_on = True;
   VG_(track_die_mem_munmap)(on_munmap);
   VG_(track_die_mem_brk)(on_brk_shrink);
   VG_(track_copy_mem_remap)(on_remap);
   VG_(track_post_mem_write)(on_kernel_write);
}

