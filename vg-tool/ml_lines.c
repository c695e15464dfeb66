/* ml_lines.c -- line statistics and instrumentation (ml_lines.h).

   Counting rule.  Within a superblock, an instruction starts an entry of
   its line when the line differs from the previous instruction's, or when
   its address is lower than the previous one's (a backward jump inside
   one line is a new loop iteration; VEX also unrolls small loops, which
   shows up the same way).  An instruction that jumps to itself is a
   string instruction with a rep prefix (VEX translates one iteration,
   then jumps back to the instruction): its iterations are one entry, as
   the line `char buf[256] = {0};` (rep stos) runs once.  The first instruction of a superblock
   starts an entry unless it is a known continuation of the same line:
   the return address of a call made from that line (recognised by the
   call's store of its own next address: VEX may chase a call into its
   callee, so the superblock's jump kind cannot be relied on), or the target of a
   forward jump, a fall-through or a rep instruction's jump back to itself
   from that line, recorded when the superblock that ends there was
   translated.  Without that, returning
   from a call would count the calling line twice.

   Storage.  Each line slot is a fixed record in a chunk that never moves,
   so the instrumentation can embed its address as a constant:
   count += 1; hw = max(hw, ml_heap_cur). */
#include "pub_tool_basics.h"
#include "pub_tool_debuginfo.h"
#include "pub_tool_libcbase.h"
#include "pub_tool_libcassert.h"
#include "pub_tool_libcfile.h"
#include "pub_tool_libcprint.h"
#include "pub_tool_mallocfree.h"
#include "pub_tool_seqmatch.h"
#include "pub_tool_tooliface.h"
#include "pub_tool_vki.h"
#include "ml_trace.h"
#include "ml_util.h"
#include "ml_out.h"
#include "ml_stack.h"
#include "ml_heap.h"
#include "ml_rss.h"
#include "ml_lines.h"
#include "ml_ir.h"
#include "ml_clock.h"

typedef struct {
   ULong count;     /* entries */
   ULong hw_heap;   /* highest ml_heap_cur seen at an entry */
   ULong hw_rss;    /* highest ml_rss_cur seen at an entry */
   UInt  fn, file, line;
   UInt  pad;
} MlLine;

#define CHUNK_SLOTS 1024
/* The first chunks come from the tool's .bss, below 2 GiB, so the
   counters' updates address them with a 32-bit displacement (ml_ir.c):
   256 K lines (12 MiB of address space, backed only where used). */
#define POOL_CHUNKS 256
static MlLine slot_pool[POOL_CHUNKS][CHUNK_SLOTS];

static Bool    lines_on;
static HChar **fn_globs;           /* NULL-terminated, or NULL for all */
static MlLine **chunks;
static UInt    n_chunks, cap_chunks;
static UInt    n_slots;
static MlMap   slot_map;           /* hash(fn,file,line) probed -> slot ptr */
static MlMap   addr_map;           /* code address -> slot ptr (v1), v2 = 1 */
static MlMap   cont_map;           /* continuation address -> slot ptr */

ULong ml_lines_n_slots(void) { return n_slots; }

static MlLine *new_slot(UInt fn, UInt file, UInt line)
{
   if (n_slots == n_chunks * CHUNK_SLOTS) {
      if (n_chunks == cap_chunks) {
         cap_chunks = cap_chunks ? 2 * cap_chunks : 64;
         chunks = VG_(realloc)("ml.lines.chunks", chunks,
                               cap_chunks * sizeof *chunks);
      }
      chunks[n_chunks] = n_chunks < POOL_CHUNKS
                         ? slot_pool[n_chunks]
                         : VG_(calloc)("ml.lines.chunk", CHUNK_SLOTS,
                                       sizeof(MlLine));
      n_chunks++;
   }
   MlLine *s = &chunks[n_slots / CHUNK_SLOTS][n_slots % CHUNK_SLOTS];
   n_slots++;
   s->fn = fn;
   s->file = file;
   s->line = line;
   return s;
}

static MlLine *slot_for_key(UInt fn, UInt file, UInt line)
{
   UWord key = ml_hash_word(((UWord)fn << 32) ^ ((UWord)file << 20) ^ line);
   for (;;) {
      if (key == ML_MAP_EMPTY)
         key = 0;
      Bool is_new;
      MlMapEnt *e = ml_map_insert(&slot_map, key, &is_new);
      if (is_new) {
         MlLine *s = new_slot(fn, file, line);
         e->v1 = (UWord)s;
         return s;
      }
      MlLine *s = (MlLine *)e->v1;
      if (s->fn == fn && s->file == file && s->line == line)
         return s;
      key++;
   }
}

static Bool fn_selected(const HChar *fn)
{
   if (!fn_globs)
      return True;
   for (UInt i = 0; fn_globs[i]; i++)
      if (VG_(string_match)(fn_globs[i], fn))
         return True;
   return False;
}

/* The line slot of a code address, or NULL if it is not profiled.
   Known addresses come from the map.  For a new one the line table
   answers first, in a binary search, whether it has a line at all; only
   then is it described (function and inline chain, which Valgrind
   formats as text that is parsed back) and remembered.  Code without
   line information (a stripped program such as gcc's cc1, or a part
   built without -g) costs neither. */
static MlLine *slot_for_addr(Addr a)
{
   MlMapEnt *e = ml_map_find(&addr_map, a);
   if (e)
      return (MlLine *)e->v1;
   const HChar *name, *dir;
   UInt ln;
   if (!ml_addr_in_main_exe(a) ||
       !VG_(get_filename_linenum)(VG_(current_DiEpoch)(), a, &name, &dir,
                                  &ln) || ln == 0)
      return NULL;
   MlLine *s = NULL;
   UInt fn, file, line;
   ml_resolve_line(a, &fn, &file, &line);
   if (file && line && fn_selected(ml_str_get(fn)))
      s = slot_for_key(fn, file, line);
   Bool is_new;
   e = ml_map_insert(&addr_map, a, &is_new);
   e->v1 = (UWord)s;
   return s;
}

static void note_continuation(Addr target, MlLine *s)
{
   if (!s || target == ML_MAP_EMPTY)
      return;
   Bool is_new;
   MlMapEnt *e = ml_map_insert(&cont_map, target, &is_new);
   e->v1 = (UWord)s;
}

static Bool is_continuation(Addr a, MlLine *s)
{
   MlMapEnt *e = ml_map_find(&cont_map, a);
   return e && (MlLine *)e->v1 == s;
}

/*------------------------------------------------------------*/
/*--- Instrumentation                                      ---*/
/*------------------------------------------------------------*/

static void add_to_u64(IRSB *sb, void *where, IRExpr *amount)
{
   IRExpr *v = ml_ir_assign(sb, Ity_I64, IRExpr_Load(Iend_LE, Ity_I64,
                                                    ml_ir_addr(sb, where)));
   IRExpr *sum = ml_ir_assign(sb, Ity_I64, IRExpr_Binop(Iop_Add64, v, amount));
   addStmtToIRSB(sb, IRStmt_Store(Iend_LE, ml_ir_addr(sb, where), sum));
}

static void flush_icount(IRSB *sb, const VexGuestLayout *layout,
                         ULong *pending)
{
   if (*pending == 0)
      return;
   ml_clock_ir_add(sb, layout, *pending);
   *pending = 0;
}

/* The current heap and RSS levels, loaded at most once per stretch of a
   superblock in which they cannot change: the heap level changes only in
   allocator calls, which end a superblock; the RSS level also in the page
   helpers, after which it is loaded again. */
static IRTemp cur_heap_tmp, cur_rss_tmp;

/* Per statement of the superblock being instrumented: the line slot of
   an IMark (NULL elsewhere, or without a slot) and whether it starts an
   entry of its line. */
static MlLine **scan_slot;
static Bool    *scan_enter;
static Int      cap_scan;

static IRTemp level(IRSB *sb, IRTemp *cache, ULong *cur)
{
   if (*cache == IRTemp_INVALID) {
      *cache = newIRTemp(sb->tyenv, Ity_I64);
      addStmtToIRSB(sb, IRStmt_WrTmp(*cache, IRExpr_Load(Iend_LE, Ity_I64,
                                     ml_ir_addr(sb, cur))));
   }
   return *cache;
}

/* *hw = max(*hw, cur), inline: a guarded store, made only when the level
   is above the mark, which it rarely is, so the next entry's load does
   not wait for this one's store (against the unconditional store of
   the maximum it replaced: `compute` default mode 1.88 -> 1.79 s user,
   `containers` 3.29 -> 3.20 s, medians of 5 and 3 alternating runs). */
static void update_max(IRSB *sb, ULong *hw, IRTemp h)
{
   IRTemp w = newIRTemp(sb->tyenv, Ity_I64);
   IRTemp c = newIRTemp(sb->tyenv, Ity_I1);
   addStmtToIRSB(sb, IRStmt_WrTmp(w, IRExpr_Load(Iend_LE, Ity_I64,
                                  ml_ir_addr(sb, hw))));
   addStmtToIRSB(sb, IRStmt_WrTmp(c, IRExpr_Binop(Iop_CmpLT64U,
                                  IRExpr_RdTmp(w), IRExpr_RdTmp(h))));
   addStmtToIRSB(sb, IRStmt_StoreG(Iend_LE, ml_ir_addr(sb, hw),
                                   IRExpr_RdTmp(h), IRExpr_RdTmp(c)));
}

/* count += 1; hw_heap = max(hw_heap, heap); the same for RSS */
static void count_entry(IRSB *sb, MlLine *s)
{
   add_to_u64(sb, &s->count, IRExpr_Const(IRConst_U64(1)));
   update_max(sb, &s->hw_heap, level(sb, &cur_heap_tmp, &ml_heap_cur));
   if (ml_rss_enabled())
      update_max(sb, &s->hw_rss, level(sb, &cur_rss_tmp, &ml_rss_cur));
}

static Addr const_target(const IRConst *c)
{
   switch (c->tag) {
   case Ico_U64: return (Addr)c->Ico.U64;
   case Ico_U32: return (Addr)c->Ico.U32;
   default:      return ML_MAP_EMPTY;
   }
}

IRSB *ml_instrument(VgCallbackClosure *closure, IRSB *sbIn,
                    const VexGuestLayout *layout,
                    const VexGuestExtents *vge,
                    const VexArchInfo *archinfo_host,
                    IRType gWordTy, IRType hWordTy)
{
   if (gWordTy != hWordTy)
      VG_(tool_panic)("memline: host/guest word size mismatch");
   tl_assert(hWordTy == Ity_I64);

   IRSB *sb = deepCopyIRSBExceptStmts(sbIn);
   Int i = 0;
   for (; i < sbIn->stmts_used && sbIn->stmts[i]->tag != Ist_IMark; i++)
      addStmtToIRSB(sb, sbIn->stmts[i]);
   Bool rss = ml_rss_enabled();
   ml_ir_begin(layout);

   /* Where line entries start (see the counting rule): decided before
      the page checks are planned, which must not let one helper call
      reach across an entry. */
   Int n = sbIn->stmts_used;
   if (n > cap_scan) {
      cap_scan = 2 * n;
      scan_slot = VG_(realloc)("ml.lines.scan", scan_slot,
                               cap_scan * sizeof *scan_slot);
      scan_enter = VG_(realloc)("ml.lines.scan", scan_enter,
                                cap_scan * sizeof *scan_enter);
   }
   Bool any_entry = False;
   {
      MlLine *prev = NULL;
      Addr prev_addr = 0;
      Bool first = True;
      UInt n_insns = 0;
      for (Int j = i; j < n; j++) {
         scan_slot[j] = NULL;
         scan_enter[j] = False;
         IRStmt *st = sbIn->stmts[j];
         if (!st || st->tag != Ist_IMark)
            continue;
         n_insns++;
         if (!lines_on)
            continue;
         Addr a = (Addr)st->Ist.IMark.addr;
         MlLine *s = slot_for_addr(a);
         if (s)
            scan_enter[j] = first ? !is_continuation(a, s)
                                  : (s != prev || a < prev_addr);
         any_entry |= scan_enter[j];
         scan_slot[j] = s;
         prev = s;
         prev_addr = a;
         first = False;
      }
      ml_ir_translated(n_insns);
   }

   MlRssPlan *plan = NULL;
   if (rss) {
      ml_rss_code(vge);
      plan = ml_rss_plan(sbIn, layout, any_entry ? scan_enter : NULL, vge);
   }

   ULong pending = 0;
   MlLine *prev = NULL;
   cur_heap_tmp = cur_rss_tmp = IRTemp_INVALID;
   Addr prev_addr = 0, last_end = 0;

   for (; i < sbIn->stmts_used; i++) {
      IRStmt *st = sbIn->stmts[i];
      if (!st || st->tag == Ist_NoOp)
         continue;
      if (rss && ml_rss_before(plan, sbIn, i, sb, layout))
         cur_rss_tmp = IRTemp_INVALID;
      switch (st->tag) {
      case Ist_IMark: {
         Addr a = (Addr)st->Ist.IMark.addr;
         pending++;
         if (scan_enter[i])
            count_entry(sb, scan_slot[i]);
         prev = scan_slot[i];
         prev_addr = a;
         last_end = a + st->Ist.IMark.len;
         addStmtToIRSB(sb, st);
         break;
      }
      case Ist_Exit:
         flush_icount(sb, layout, &pending);
         if (lines_on && prev && st->Ist.Exit.jk == Ijk_Boring) {
            Addr t = const_target(st->Ist.Exit.dst);
            if (t != ML_MAP_EMPTY && t >= prev_addr && slot_for_addr(t) == prev)
               note_continuation(t, prev);
         }
         addStmtToIRSB(sb, st);
         break;
      case Ist_Store: {
         /* A call pushes its return address: a constant store of the
            address right after the current instruction. */
         IRExpr *data = st->Ist.Store.data;
         if (lines_on && prev && data->tag == Iex_Const &&
             const_target(data->Iex.Const.con) == last_end)
            note_continuation(last_end, prev);
         addStmtToIRSB(sb, st);
         break;
      }
      default:
         addStmtToIRSB(sb, st);
         break;
      }
      if (rss && ml_rss_after(plan, sbIn, i, sb, layout))
         cur_rss_tmp = IRTemp_INVALID;
   }
   flush_icount(sb, layout, &pending);
   ml_heap_instrument_end(sb, layout);

   if (lines_on && prev) {
      /* Also after client requests and system calls, which end a
         superblock and resume at the next instruction. */
      if (sbIn->jumpkind != Ijk_Ret && sbIn->next->tag == Iex_Const) {
         Addr t = const_target(sbIn->next->Iex.Const.con);
         if (t != ML_MAP_EMPTY && t >= prev_addr && slot_for_addr(t) == prev)
            note_continuation(t, prev);
      }
   }
   return sb;
}

/*------------------------------------------------------------*/
/*--- Output                                               ---*/
/*------------------------------------------------------------*/

static void write_file_record(UInt file_id)
{
   const HChar *path = ml_str_get(file_id);
   struct vg_stat st;
   ULong size = 0, mtime = 0, hash = 0;
   SysRes r = VG_(stat)(path, &st);
   if (!sr_isError(r)) {
      size = st.size;
      mtime = st.mtime;
      SysRes o = VG_(open)(path, VKI_O_RDONLY, 0);
      if (!sr_isError(o)) {
         Int fd = sr_Res(o);
         static UChar buf[65536];
         Int n;
         hash = ML_FNV_BASIS;
         while ((n = VG_(read)(fd, buf, sizeof buf)) > 0)
            hash = ml_fnv1a(buf, n, hash);
         VG_(close)(fd);
      }
   }
   ml_rec_begin(ML_TAG_FILE);
   ml_rec_uv(file_id);
   ml_rec_uv(size);
   ml_rec_uv(mtime);
   ml_rec_uv(hash);
   ml_rec_end();
}

void ml_lines_write_table(Bool with_files)
{
   MlMap files;
   ml_map_init(&files, "ml.lines.files", 6);
   for (UInt i = 0; i < n_slots; i++) {
      MlLine *s = &chunks[i / CHUNK_SLOTS][i % CHUNK_SLOTS];
      ml_rec_begin(ML_TAG_LINE);
      ml_rec_uv(s->fn);
      ml_rec_uv(s->file);
      ml_rec_uv(s->line);
      ml_rec_uv(s->count);
      ml_rec_uv(s->hw_heap);
      if (ml_rss_enabled())
         ml_rec_uv(s->hw_rss);
      ml_rec_end();
      Bool is_new;
      ml_map_insert(&files, s->file, &is_new);
      if (is_new && with_files)
         write_file_record(s->file);
   }
   VG_(free)(files.ents);
}

void ml_lines_reset(void)
{
   for (UInt i = 0; i < n_slots; i++) {
      MlLine *s = &chunks[i / CHUNK_SLOTS][i % CHUNK_SLOTS];
      s->count = 0;
      s->hw_heap = 0;
      s->hw_rss = 0;
   }
}

void ml_lines_init(Bool enabled, const HChar *fns)
{
   lines_on = enabled;
   ml_map_init(&slot_map, "ml.lines.slots", 10);
   ml_map_init(&addr_map, "ml.lines.addr", 14);
   ml_map_init(&cont_map, "ml.lines.cont", 10);
   if (fns && *fns) {
      UInt n = 1;
      for (const HChar *p = fns; *p; p++)
         n += *p == ',';
      fn_globs = VG_(malloc)("ml.lines.globs", (n + 1) * sizeof *fn_globs);
      HChar *copy = VG_(strdup)("ml.lines.globs", fns);
      UInt k = 0;
      HChar *save = NULL;
      for (HChar *t = VG_(strtok_r)(copy, ",", &save); t;
           t = VG_(strtok_r)(NULL, ",", &save))
         fn_globs[k++] = t;
      fn_globs[k] = NULL;
   }
}
