/* ml_lines.c -- line statistics and instrumentation (ml_lines.h).

   Counting rule.  Within a superblock, an instruction starts an entry of
   its line when the line differs from the previous instruction's, or when
   its address is lower than the previous one's (a backward jump inside
   one line is a new loop iteration; VEX also unrolls small loops, which
   shows up the same way) -- unless the jumping instruction is the one
   that began the line's entry (a lone jump back to the loop's test,
   where gcc puts a `for (;;)` or `continue` of the line, is no
   iteration of its own), or the jump passes over code of other lines
   (loop_has_body: a range-based for's header, entered from its body
   each time round).  An instruction that jumps to itself is a
   string instruction with a rep prefix (VEX translates one iteration,
   then jumps back to the instruction): its repetitions are one entry, as
   a line `struct s z = {0};` (a rep stos at -O0) runs once.

   Across superblocks.  One translation of a superblock serves every way
   into it, some entering its first line, some continuing it (a jump
   within the line, the return of a call made from it, the jump back of
   a rep instruction); so what its first instruction counts is decided
   once per address (note_way: one entry, unless the first way noted is
   a call that returns there without entering a line -- recognised by
   the call's store of its own next address, since VEX may chase a call
   into its callee), and every other way corrects its own count where it
   leaves its superblock: a jump that enters no line takes the entry
   back (count -= 1 if the exit is taken), one that enters a line whose
   target counts nothing adds it.  The counts then do not depend on the
   order in which the superblocks were translated, nor on where VEX cut
   them: a while loop whose body ends with a call, whose test is reached
   both by the jump into the loop (continuing the line) and by the
   return (entering it), counts every test.  (A call that never returns
   after such a correction -- exit, longjmp, a throw -- leaves its line
   one entry short.)

   Straight runs.  A run is the code executed with no exit, jump or
   loop between (a call made from it, and its return, go on with it).
   Reaching a line forwards that ran earlier in the same run (coming
   back to it, or jumping forward from the run to more of it) is no
   entry: a statement whose code the compiler spread over other lines'
   -- a call with its arguments on the next lines, a C++ return split
   around the destructors (return line, destructors on the closing
   brace, return line, jump to the epilogue on the closing brace) -- is
   entered once.  A line is the same in the run only in the same inline
   context (same_chain): a callee inlined on two lines of a run has two
   instances of its lines.  The lines of the run are carried to the
   superblocks it goes on in (Start: a call's return, the next
   instruction where VEX only cut the code), those of every way in
   noted.  A jump back within a line that is no entry (a range-based
   for's '*it', see loop_has_body) keeps that line out of the new run,
   so the '++it' below the body enters it.  Not carried: a run across a
   branch, even forwards (a statement with a conditional inside counts
   its line again after the branch), since the superblock after it would
   be decided by the ways in translated before it.

   Inlined calls.  A line L whose code runs a callee inlined into it
   (the callee's lines, then L's own code again) is entered once: coming
   back from code inlined into L to L's own code is a return from a call,
   not a new entry (gcov counts it so too).  An instruction knows its
   inline chain (its own line and the lines of the call sites its code
   was inlined into); a line stays open from its entry while every
   instruction since has it in its chain, and reaching an open line from
   code inlined into it, forwards, is no entry.  Which lines are open at
   a superblock's start is kept with its address (those open at every
   way into it translated so far, jumps and calls' returns), so a call
   made by the inlined code (malloc) does not break the line.  Lines are
   counted only where they have code of their own: a line made wholly of
   inlined code (at -O2) shows its callee's lines, not entries.

   Storage.  Each line slot is a fixed record in a chunk that never moves,
   so the instrumentation can embed its address as a constant:
   count += 1; hw = max(hw, ml_heap_cur).

   Shared high-water marks.  The levels an entry reads change only in
   allocator calls, which end a superblock (the heap), and in the page
   helpers (the resident set).  So every entry of a stretch of a
   superblock with no exit between (and, for the resident set, no helper
   call) reads the same level, and one mark for the stretch, a cell,
   serves all its lines: the cell's mark is updated at the stretch's
   first entry, and folded into its lines' marks when the table is
   written (max is idempotent, so folding again changes nothing).  A
   line's count stays its own.  Cells are interned by their kind and
   lines, so translating the same code again reuses them.  Only a fault
   inside a stretch, which leaves the superblock between two of its
   entries, tells the difference: the lines after it get the level too
   (a line not entered shows nothing; one entered before could show a
   higher mark). */
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
static MlMap   addr_map;           /* code address -> its Chain (v1) */
static MlMap   cont_map;           /* superblock start -> its Start (v1) */

ULong ml_lines_n_slots(void) { return n_slots; }

/* Shared high-water cells (see "Shared high-water marks"): the marks in
   the tool's .bss like the first line slots, their lines beside them. */
#define CELL_POOL (1 << 20)
#define HW_OWN   (-1)              /* an entry updates its line's mark */
#define HW_NONE  (-2)              /* its stretch's cell has it */
enum { K_HEAP, K_RSS };
static ULong   cell_hw[CELL_POOL];
typedef struct {
   UInt  first, n;                 /* its lines: cell_line[first ..] */
   UInt  kind;
} Cell;
static Cell    *cells;
static UInt     n_cells, cap_cells;
static MlLine **cell_line;
static UInt     n_cell_lines, cap_cell_lines;
static MlMap    cell_map;          /* hash(kind, lines) probed -> cell */

/* A cell's content, as intern_cell looks for it. */
typedef struct {
   UInt           kind, n;
   MlLine *const *l;
} CellKey;

static Bool same_cell(UWord v1, const void *arg)
{
   const CellKey *k = arg;
   const Cell *c = &cells[v1];
   if (c->kind != k->kind || c->n != k->n)
      return False;
   for (UInt i = 0; i < k->n; i++)
      if (cell_line[c->first + i] != k->l[i])
         return False;
   return True;
}

/* The cell of these lines and kind, made if new; -1 when the pool is
   full (the lines keep marks of their own). */
static Int intern_cell(UInt kind, MlLine *const *l, UInt n)
{
   UWord h = ml_hash_word(kind + 1);
   for (UInt i = 0; i < n; i++)
      h = ml_hash_word(h ^ (UWord)l[i]);
   CellKey k = { kind, n, l };
   Bool is_new;
   MlMapEnt *e = ml_map_intern(&cell_map, h, same_cell, &k, True, &is_new);
   if (!is_new)
      return (Int)e->v1;
   if (n_cells == CELL_POOL) {
      ml_map_remove_at(&cell_map, e);
      return -1;
   }
   if (n_cells == cap_cells) {
      cap_cells = cap_cells ? 2 * cap_cells : 1024;
      cells = VG_(realloc)("ml.lines.cells", cells,
                           cap_cells * sizeof *cells);
   }
   while (n_cell_lines + n > cap_cell_lines) {
      cap_cell_lines = cap_cell_lines ? 2 * cap_cell_lines : 4096;
      cell_line = VG_(realloc)("ml.lines.cells", cell_line,
                               cap_cell_lines * sizeof *cell_line);
   }
   Cell *c = &cells[n_cells];
   c->first = n_cell_lines;
   c->n = n;
   c->kind = kind;
   for (UInt i = 0; i < n; i++)
      cell_line[n_cell_lines++] = l[i];
   cell_hw[n_cells] = 0;
   e->v1 = n_cells;
   return (Int)n_cells++;
}

ULong ml_lines_n_cells(void) { return n_cells; }
ULong ml_lines_n_addrs(void) { return addr_map.used; }

/* Every cell's mark into its lines' marks. */
static void fold_cells(void)
{
   for (UInt c = 0; c < n_cells; c++) {
      const Cell *k = &cells[c];
      for (UInt i = 0; i < k->n; i++) {
         MlLine *s = cell_line[k->first + i];
         ULong *hw = k->kind == K_HEAP ? &s->hw_heap : &s->hw_rss;
         if (cell_hw[c] > *hw)
            *hw = cell_hw[c];
      }
   }
}

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

static Bool same_slot(UWord v1, const void *arg)
{
   const MlLine *s = (const MlLine *)v1, *k = arg;
   return s->fn == k->fn && s->file == k->file && s->line == k->line;
}

static MlLine *slot_for_key(UInt fn, UInt file, UInt line, Bool create)
{
   UWord key = ml_hash_word(((UWord)fn << 32) ^ ((UWord)file << 20) ^ line);
   MlLine k = { .fn = fn, .file = file, .line = line };
   Bool is_new;
   MlMapEnt *e = ml_map_intern(&slot_map, key, same_slot, &k, create,
                               &is_new);
   if (!e)
      return NULL;
   if (is_new)
      e->v1 = (UWord)new_slot(fn, file, line);
   return (MlLine *)e->v1;
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

#define MAX_INLINE 16              /* frames kept per address */

/* The slot of a frame's line (fn, file, line string ids), or NULL if it
   is not profiled; an outer frame's only if its line has one already
   (code of its own was seen: a line made only of inlined code has no
   entries of its own, and no slot that would show 0). */
static MlLine *frame_slot(const UInt *fr, Bool outer)
{
   return fr[1] && fr[2] && fn_selected(ml_str_get(fr[0]))
          ? slot_for_key(fr[0], fr[1], fr[2], !outer) : NULL;
}

/* The lines of a code address: its own (f[0]) and, for inlined code,
   those of the call sites it was inlined into, outwards (f[1] ...); NULL
   for a frame whose function is not profiled, at least one not NULL.
   Consecutive addresses of one line share their chain.  calls: a hash of
   the call sites (file and line ids of f[1] ...), which tells two
   instances of an inlined callee apart where their call sites' lines
   have no slot yet. */
typedef struct {
   UInt    n;
   UWord   calls;
   MlLine *f[];
} Chain;

static Chain *last_chain;

static const Chain *new_chain(const UInt *fr, UInt n)
{
   MlLine *f[MAX_INLINE];
   Bool any = False;
   for (UInt i = 0; i < n; i++)
      any |= (f[i] = frame_slot(&fr[3 * i], i > 0)) != NULL;
   if (!any)
      return NULL;
   UWord calls = 0;
   for (UInt i = 1; i < n; i++)
      calls = ml_hash_word(calls ^ ((UWord)fr[3 * i + 1] << 32) ^
                           fr[3 * i + 2]);
   if (last_chain && last_chain->n == n && last_chain->calls == calls &&
       VG_(memcmp)(last_chain->f, f, n * sizeof *f) == 0)
      return last_chain;
   Chain *c = VG_(malloc)("ml.lines.chain", sizeof *c + n * sizeof *f);
   c->n = n;
   c->calls = calls;
   VG_(memcpy)(c->f, f, n * sizeof *f);
   last_chain = c;
   return c;
}

/* Addresses of the main executable's code known to have no line: a bit
   per byte of its text, made at the first one (a stripped program such
   as gcc's cc1 has nothing but these: 681 K of them, which the map of
   chains held at 48 bytes each, 2.3% of its run). */
static UChar *noline;
static Addr   noline_lo, noline_hi;

static Bool known_noline(Addr a)
{
   return noline && a >= noline_lo && a < noline_hi &&
          (noline[(a - noline_lo) >> 3] >> ((a - noline_lo) & 7) & 1);
}

static void note_noline(Addr a)
{
   if (!noline) {
      if (!ml_main_exe_text(&noline_lo, &noline_hi) ||
          noline_hi <= noline_lo)
         return;
      noline = VG_(calloc)("ml.lines.noline",
                           (noline_hi - noline_lo + 7) >> 3, 1);
   }
   if (a >= noline_lo && a < noline_hi)
      noline[(a - noline_lo) >> 3] |= (UChar)(1 << ((a - noline_lo) & 7));
}

/* The chain of a code address, or NULL if none of its lines is
   profiled.  Only the main executable's code has lines; other code
   costs one range test.  Known addresses with lines come from the map,
   those without from a bitmap.  For a new one the line table answers
   first, in a binary search, whether it has a line at all; only then is
   it described (function and inline chain, which Valgrind formats as
   text that is parsed back) and remembered. */
static const Chain *chain_for_addr(Addr a)
{
   if (!ml_addr_in_main_exe(a) || known_noline(a))
      return NULL;
   MlMapEnt *e = ml_map_find(&addr_map, a);
   if (e)
      return (const Chain *)e->v1;
   const Chain *c = NULL;
   const HChar *name, *dir;
   UInt ln;
   if (VG_(get_filename_linenum)(VG_(current_DiEpoch)(), a, &name, &dir,
                                 &ln) && ln != 0) {
      UInt fr[3 * MAX_INLINE];
      c = new_chain(fr, ml_resolve_chain(a, fr, MAX_INLINE));
   }
   if (!c) {
      note_noline(a);
      if (noline)
         return NULL;
   }
   Bool is_new;
   e = ml_map_insert(&addr_map, a, &is_new);
   e->v1 = (UWord)c;
   return c;
}

/* Whether line s is one of chain c's lines (NULL: none). */
static Bool in_chain(const Chain *c, const MlLine *s)
{
   for (UInt k = 0; c && k < c->n; k++)
      if (c->f[k] == s)
         return True;
   return False;
}

/* Whether code of a line other than s, and not inlined into it, lies
   between t and src (t < src): the backward jump from src to t, both of
   line s, closes a loop whose body has lines of their own.  g++ puts a
   range-based for's '*it' above the body and its '++it' and test below:
   the line is entered from the body each iteration, and the jump back to
   '*it' is no second entry.  (A loop written on one line has none.)
   Looked at byte by byte through the line table (a binary search), at
   translation, for jumps back within one line only; only a byte of
   another line number has its inline chain read, to tell code inlined
   into s.  A loop longer than 4 KiB has a body. */
static Bool loop_has_body(Addr t, Addr src, const MlLine *s)
{
   if (src - t > 4096)
      return True;
   DiEpoch ep = VG_(current_DiEpoch)();
   for (Addr a = t; a < src; a++) {
      const HChar *name, *dir;
      UInt ln;
      if (!VG_(get_filename_linenum)(ep, a, &name, &dir, &ln) ||
          ln == s->line)
         continue;
      const Chain *c = chain_for_addr(a);
      if (c && !in_chain(c, s))
         return True;
   }
   return False;
}

/* Where an instruction runs: the lines open (see "Inlined calls") and
   the lines of the run (see "Straight runs"). */
#define MAX_RUN 32
typedef struct {
   MlLine *open[MAX_INLINE];
   UInt    n_open;
   const Chain *run[MAX_RUN];  /* the run's lines, each in its inline
                                  context (a callee inlined at two call
                                  sites is two instances) */
   UInt    n_run;
   MlLine *excl;        /* kept out of the run (see the scan) */
} Ctx;

static Bool in_set(MlLine *const *set, UInt n, const MlLine *s)
{
   for (UInt m = 0; m < n; m++)
      if (set[m] == s)
         return True;
   return False;
}

static Bool same_chain(const Chain *a, const Chain *b)
{
   return a == b || (a && b && a->n == b->n && a->calls == b->calls &&
                     a->f[0] == b->f[0]);
}

static Bool in_run(const Ctx *x, const Chain *c)
{
   for (UInt m = 0; m < x->n_run; m++)
      if (same_chain(x->run[m], c))
         return True;
   return False;
}

/* The counting rule for one step: whether the instruction at a, of
   chain c, enters c's innermost line when it runs right after the one
   at prev_addr, of chain prev (which began its line's entry if
   started), in context x: when its line is another, unless that is
   reached forwards and is open (back from code inlined into it) or ran
   in the run that reaches it; when a jump back within the line is a new
   iteration. */
static Bool steps_in(const Chain *prev, Addr prev_addr, Bool started,
                     const Ctx *x, Addr a, const Chain *c)
{
   MlLine *s = c ? c->f[0] : NULL;
   if (!s)
      return False;
   if (s == (prev ? prev->f[0] : NULL))
      return a < prev_addr && !started && !loop_has_body(a, prev_addr, s);
   if (a >= prev_addr && (in_set(x->open, x->n_open, s) || in_run(x, c)))
      return False;
   return True;
}

/* What a superblock start knows of the ways into it (cont_map): what
   its first instruction counts on arrival (ST_COUNTS or ST_NOCOUNT,
   decided once, by the first of: a jump to it or its own translation
   (counts), or the call that returns there without entering a line (does
   not); every way in then corrects its own path where it leaves, see
   ml_instrument, so no way in depends on the order in which the others
   were translated); and, from the ways noted so far (NOTED), the lines
   open at every one of them (see "Inlined calls"), the lines of the run
   that every one carries there (see "Straight runs"; a way that starts a
   new run carries none), the line the first of them keeps out of the run
   (excl) and whether one is a jump back that enters no line (RUN_OUT:
   its line then stays out of the run).  The sets are made by the first
   way noted and only shrink after it, in place. */
#define ST_NOCOUNT 1
#define ST_COUNTS  2
#define NOTED      4
#define RUN_OUT    8
typedef struct {
   UInt          flags;
   UInt          n_open, n_run;
   MlLine       *excl;
   MlLine      **open;
   const Chain **run;
} Start;

static Start *start_of(MlMapEnt *e)
{
   if (!e->v1)
      e->v1 = (UWord)VG_(calloc)("ml.lines.start", 1, sizeof(Start));
   return (Start *)e->v1;
}

static Bool start_counts(Start *st)
{
   if (!(st->flags & (ST_COUNTS | ST_NOCOUNT)))
      st->flags |= ST_COUNTS;
   return (st->flags & ST_COUNTS) != 0;
}

static Bool same_line(const void *a, const void *b)
{
   return a == b;
}

static Bool same_chain_v(const void *a, const void *b)
{
   return same_chain(a, b);
}

/* Keeps in set[0 .. *n) the elements equal to one of with[0 .. m). */
static void keep_common(const void **set, UInt *n, const void *const *with,
                        UInt m, Bool (*eq)(const void *, const void *))
{
   UInt k = 0;
   for (UInt i = 0; i < *n; i++)
      for (UInt j = 0; j < m; j++)
         if (eq(set[i], with[j])) {
            set[k++] = set[i];
            break;
         }
   *n = k;
}

/* Notes at t's Start (in e) what a way from context x brings: the lines
   open there that t's chain tc still holds, the run if the way carries it
   (carry: it goes straight on there), and out (see Start). */
static void note_sets(MlMapEnt *e, const Ctx *x, const Chain *tc,
                      Bool carry, Bool out)
{
   const MlLine *open[MAX_INLINE];
   UInt n_open = 0, n_run = carry ? x->n_run : 0;
   for (UInt m = 0; m < x->n_open; m++)
      if (in_chain(tc, x->open[m]))
         open[n_open++] = x->open[m];
   Start *st = start_of(e);
   if (!(st->flags & NOTED)) {
      /* the first way: sets of its size, after the record */
      Start *n = VG_(malloc)("ml.lines.start", sizeof *n +
                             (n_open + n_run) * sizeof(void *));
      *n = *st;
      n->open = (MlLine **)(n + 1);
      n->run = (const Chain **)(n->open + n_open);
      n->n_open = n_open;
      n->n_run = n_run;
      VG_(memcpy)(n->open, open, n_open * sizeof *open);
      VG_(memcpy)(n->run, x->run, n_run * sizeof *x->run);
      n->excl = carry ? x->excl : NULL;
      n->flags |= NOTED;
      VG_(free)(st);
      e->v1 = (UWord)(st = n);
   } else {
      keep_common((const void **)st->open, &st->n_open,
                  (const void *const *)open, n_open, same_line);
      keep_common((const void **)st->run, &st->n_run,
                  (const void *const *)x->run, n_run, same_chain_v);
   }
   if (out)
      st->flags |= RUN_OUT;
}

/* A way from code of chain from (the instruction at src, which began its
   line's entry if started) in context x to the address t: a call's
   return (or what follows a system call) if ret, else a jump that leaves
   the superblock; carry: it goes on with the run.  Notes what the way
   brings to t (note_sets) and decides what t's first instruction counts
   if nobody has.  Returns the line whose count this way must correct,
   *delta the correction (+1: the way enters the line, its target counts
   nothing; -1: it enters none, its target counts one), or NULL. */
static MlLine *note_way(const Chain *from, const Ctx *x, Addr t, Addr src,
                        Bool started, Bool ret, Bool carry, Int *delta)
{
   *delta = 0;
   if (!from || t == ML_MAP_EMPTY)
      return NULL;
   const Chain *tc = chain_for_addr(t);
   if (!tc)
      return NULL;
   Bool is_new;
   MlMapEnt *e = ml_map_insert(&cont_map, t, &is_new);
   Bool enters = steps_in(from, src, started, x, t, tc);
   note_sets(e, x, tc, carry, !carry && !enters && t < src);
   Start *st = (Start *)e->v1;
   if (ret && !(st->flags & (ST_COUNTS | ST_NOCOUNT)))
      st->flags |= enters ? ST_COUNTS : ST_NOCOUNT;
   else
      *delta = (Int)enters - (Int)start_counts(st);
   if (!tc->f[0])
      *delta = 0;
   return *delta ? tc->f[0] : NULL;
}

/* Whether the superblock starting at a counts an entry on arrival
   (deciding so if nobody has); the lines open there and those of the
   run reaching it (x); *out: its line stays out of the run. */
static Bool start_entry(Addr a, Ctx *x, Bool *out)
{
   Bool is_new;
   Start *st = start_of(ml_map_insert(&cont_map, a, &is_new));
   x->n_open = st->n_open;
   VG_(memcpy)(x->open, st->open, st->n_open * sizeof *x->open);
   x->n_run = st->n_run;
   VG_(memcpy)(x->run, st->run, st->n_run * sizeof *x->run);
   x->excl = st->excl;
   *out = (st->flags & RUN_OUT) != 0;
   return start_counts(st);
}

/*------------------------------------------------------------*/
/*--- Instrumentation                                      ---*/
/*------------------------------------------------------------*/

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
/* per IMark that starts an entry: how it updates each kind of mark,
   HW_OWN, HW_NONE or the cell whose mark it updates */
static Int     *scan_hw[2];
static Int      cap_scan;
/* The corrections of the ways out (note_way): per Exit or return-address
   store statement, the line and +1 or -1; for the superblock's end,
   corr_next.  A correction of an Exit is made only if it is taken. */
static MlLine **scan_comp;
static Int     *scan_delta;
static MlLine  *corr_next;
static Int      corr_next_delta;

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
static void update_max_if(IRSB *sb, ULong *hw, IRTemp h, IRExpr *guard)
{
   IRTemp w = newIRTemp(sb->tyenv, Ity_I64);
   IRTemp c = newIRTemp(sb->tyenv, Ity_I1);
   addStmtToIRSB(sb, IRStmt_WrTmp(w, IRExpr_Load(Iend_LE, Ity_I64,
                                  ml_ir_addr(sb, hw))));
   /* under a guard, the level compared is 0 when it fails: no store */
   IRExpr *lv = IRExpr_RdTmp(h);
   if (guard)
      lv = ml_ir_assign(sb, Ity_I64, IRExpr_ITE(guard, lv,
                                                IRExpr_Const(IRConst_U64(0))));
   addStmtToIRSB(sb, IRStmt_WrTmp(c, IRExpr_Binop(Iop_CmpLT64U,
                                  IRExpr_RdTmp(w), lv)));
   addStmtToIRSB(sb, IRStmt_StoreG(Iend_LE, ml_ir_addr(sb, hw),
                                   IRExpr_RdTmp(h), IRExpr_RdTmp(c)));
}

/* If guard (an Ity_I1 atom, or NULL for always) holds: an entry of line
   s (delta +1: count += 1; hw_heap = max(hw_heap, heap); the same for
   RSS), or one taken back (delta -1: count -= 1).  An instruction that
   starts an entry, and a way out's correction (note_way). */
static void add_entry_hw(IRSB *sb, MlLine *s, Int delta, IRExpr *guard,
                         Int heap_hw, Int rss_hw)
{
   IRExpr *v = ml_ir_assign(sb, Ity_I64, IRExpr_Load(Iend_LE, Ity_I64,
                                                    ml_ir_addr(sb, &s->count)));
   IRExpr *d = ml_ir_assign(sb, Ity_I64, IRExpr_Binop(delta > 0 ? Iop_Add64
                                                                : Iop_Sub64,
                                    v, IRExpr_Const(IRConst_U64(1))));
   if (guard)
      addStmtToIRSB(sb, IRStmt_StoreG(Iend_LE, ml_ir_addr(sb, &s->count), d,
                                      guard));
   else
      addStmtToIRSB(sb, IRStmt_Store(Iend_LE, ml_ir_addr(sb, &s->count), d));
   if (delta < 0)
      return;
   if (heap_hw != HW_NONE)
      update_max_if(sb, heap_hw >= 0 ? &cell_hw[heap_hw] : &s->hw_heap,
                    level(sb, &cur_heap_tmp, &ml_heap_cur), guard);
   if (ml_rss_enabled() && rss_hw != HW_NONE)
      update_max_if(sb, rss_hw >= 0 ? &cell_hw[rss_hw] : &s->hw_rss,
                    level(sb, &cur_rss_tmp, &ml_rss_cur), guard);
}

static void add_entry(IRSB *sb, MlLine *s, Int delta, IRExpr *guard)
{
   add_entry_hw(sb, s, delta, guard, HW_OWN, HW_OWN);
}

/* The stretches of the superblock (see "Shared high-water marks"): the
   entries of each, collected by statement, and its cell. */
static Int     *str_pos[2];
static MlLine **str_line[2];
static UInt     str_n[2];

static void close_stretch(UInt kind)
{
   UInt n = str_n[kind];
   str_n[kind] = 0;
   if (n < 2)
      return;
   Int c = intern_cell(kind, str_line[kind], n);
   if (c < 0)
      return;
   scan_hw[kind][str_pos[kind][0]] = c;
   for (UInt i = 1; i < n; i++)
      scan_hw[kind][str_pos[kind][i]] = HW_NONE;
}

static void add_to_stretch(UInt kind, Int j)
{
   str_pos[kind][str_n[kind]] = j;
   str_line[kind][str_n[kind]++] = scan_slot[j];
}

/* Decides scan_hw: the entries from statement first on, in stretches
   ended by exits and (for the resident set) the page checks' calls, as
   the instrumentation below emits them (a check before a statement, the
   statement, a check after it). */
static void plan_cells(const IRSB *sbIn, Int first, const MlRssPlan *plan)
{
   str_n[K_HEAP] = str_n[K_RSS] = 0;
   for (Int j = first; j < sbIn->stmts_used; j++) {
      scan_hw[K_HEAP][j] = scan_hw[K_RSS][j] = HW_OWN;
      const IRStmt *st = sbIn->stmts[j];
      if (!st)
         continue;
      if (plan && ml_rss_calls_before(plan, j))
         close_stretch(K_RSS);
      if (st->tag == Ist_IMark && scan_enter[j]) {
         add_to_stretch(K_HEAP, j);
         if (plan)
            add_to_stretch(K_RSS, j);
      }
      if (st->tag == Ist_Exit) {
         close_stretch(K_HEAP);
         close_stretch(K_RSS);
      }
      if (plan && ml_rss_calls_after(plan, j))
         close_stretch(K_RSS);
   }
   close_stretch(K_HEAP);
   close_stretch(K_RSS);
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
      scan_comp = VG_(realloc)("ml.lines.scan", scan_comp,
                               cap_scan * sizeof *scan_comp);
      scan_delta = VG_(realloc)("ml.lines.scan", scan_delta,
                                cap_scan * sizeof *scan_delta);
      scan_enter = VG_(realloc)("ml.lines.scan", scan_enter,
                                cap_scan * sizeof *scan_enter);
      for (UInt k = 0; k < 2; k++) {
         scan_hw[k] = VG_(realloc)("ml.lines.scan", scan_hw[k],
                                   cap_scan * sizeof *scan_hw[k]);
         str_pos[k] = VG_(realloc)("ml.lines.scan", str_pos[k],
                                   cap_scan * sizeof *str_pos[k]);
         str_line[k] = VG_(realloc)("ml.lines.scan", str_line[k],
                                    cap_scan * sizeof *str_line[k]);
      }
   }
   Bool any_entry = False;
   corr_next = NULL;
   corr_next_delta = 0;
   {
      const Chain *prev = NULL;
      Addr prev_addr = 0, last_end = 0;
      Bool first = True, prev_started = False;
      /* broke: control left the straight run since the last instruction
         (an exit, a call, a jump VEX followed); the next instruction's
         step is judged by the run it came from, and starts a new one */
      Bool broke = False;
      UInt n_insns = 0;
      Ctx x;
      for (Int j = i; j < n; j++) {
         scan_slot[j] = NULL;
         scan_comp[j] = NULL;
         scan_delta[j] = 0;
         scan_enter[j] = False;
         IRStmt *st = sbIn->stmts[j];
         if (!st)
            continue;
         if (st->tag == Ist_Exit) {
            if (lines_on && prev && st->Ist.Exit.jk == Ijk_Boring)
               scan_comp[j] = note_way(prev, &x,
                                       const_target(st->Ist.Exit.dst),
                                       prev_addr, prev_started, False,
                                       False, &scan_delta[j]);
            broke = True;
         }
         /* A call pushes its return address: a constant store of the
            address right after the current instruction. */
         if (st->tag == Ist_Store &&
             st->Ist.Store.data->tag == Iex_Const &&
             const_target(st->Ist.Store.data->Iex.Const.con) == last_end) {
            if (lines_on && prev)
               scan_comp[j] = note_way(prev, &x, last_end, prev_addr,
                                       prev_started, True, True,
                                       &scan_delta[j]);
            broke = True;
         }
         if (st->tag != Ist_IMark)
            continue;
         n_insns++;
         if (!lines_on)
            continue;
         Addr a = (Addr)st->Ist.IMark.addr;
         const Chain *c = chain_for_addr(a);
         MlLine *s = c ? c->f[0] : NULL;
         Bool enter, back = False;
         if (first && !c) {
            /* No line here: no way in is noted (note_way), so what the
               superblock's start would hold is empty. */
            x.n_open = x.n_run = 0;
            x.excl = NULL;
            enter = False;
         } else if (first) {
            /* Every way in that enters no line takes the entry back
               where it leaves, except a call's return. */
            Bool counts = start_entry(a, &x, &back);
            enter = s && counts;
         } else {
            broke |= a != last_end;            /* a jump VEX followed */
            enter = steps_in(prev, prev_addr, prev_started, &x, a, c);
         }
         /* the open lines: entered, and their code (or code inlined into
            them) run since without a break */
         UInt k = 0;
         Bool is_open = False;
         for (UInt m = 0; m < x.n_open; m++)
            if (in_chain(c, x.open[m])) {
               is_open |= x.open[m] == s;
               x.open[k++] = x.open[m];
            }
         x.n_open = k;
         if (s && enter && !is_open && x.n_open < MAX_INLINE)
            x.open[x.n_open++] = s;
         /* the lines of the run; a jump back within a line that is no
            entry (a range-based for's '*it') leaves it out of the new
            run, which its '++it' then enters from the body */
         back |= broke && !first && a < prev_addr && !enter;
         if (broke) {
            x.n_run = 0;
            x.excl = NULL;
         }
         broke = False;
         if (back)
            x.excl = s;
         if (s && s != x.excl && !in_run(&x, c) && x.n_run < MAX_RUN)
            x.run[x.n_run++] = c;
         scan_enter[j] = enter;
         any_entry |= scan_enter[j];
         scan_slot[j] = s;
         prev_started = scan_enter[j];
         prev = c;
         prev_addr = a;
         last_end = a + st->Ist.IMark.len;
         first = False;
      }
      /* A jump at the superblock's end, or what follows a client
         request or a system call, which end a superblock and resume at
         the next instruction (treated as a return: it may not come
         back).  The run goes on where VEX only cut the code: the next
         instruction, with no exit in the last one. */
      if (lines_on && prev && sbIn->jumpkind != Ijk_Ret &&
          sbIn->jumpkind != Ijk_Call && sbIn->next->tag == Iex_Const) {
         Addr t = const_target(sbIn->next->Iex.Const.con);
         Bool ret = sbIn->jumpkind != Ijk_Boring;
         corr_next = note_way(prev, &x, t, prev_addr, prev_started, ret,
                              ret || (t == last_end && !broke),
                              &corr_next_delta);
      }
      ml_ir_translated(n_insns);
   }

   MlRssPlan *plan = NULL;
   if (rss) {
      ml_rss_code(vge);
      plan = ml_rss_plan(sbIn, layout, any_entry ? scan_enter : NULL, vge);
   }
   if (any_entry)
      plan_cells(sbIn, i, plan);

   ULong pending = 0;
   cur_heap_tmp = cur_rss_tmp = IRTemp_INVALID;

   for (; i < sbIn->stmts_used; i++) {
      IRStmt *st = sbIn->stmts[i];
      if (!st || st->tag == Ist_NoOp)
         continue;
      if (rss && ml_rss_before(plan, sbIn, i, sb, layout))
         cur_rss_tmp = IRTemp_INVALID;
      switch (st->tag) {
      case Ist_IMark:
         pending++;
         if (scan_enter[i])
            add_entry_hw(sb, scan_slot[i], 1, NULL, scan_hw[K_HEAP][i],
                         scan_hw[K_RSS][i]);
         addStmtToIRSB(sb, st);
         break;
      case Ist_Exit:
         flush_icount(sb, layout, &pending);
         if (scan_comp[i])
            add_entry(sb, scan_comp[i], scan_delta[i], st->Ist.Exit.guard);
         addStmtToIRSB(sb, st);
         break;
      case Ist_Store:
         addStmtToIRSB(sb, st);
         if (scan_comp[i])             /* a call's return address */
            add_entry(sb, scan_comp[i], scan_delta[i], NULL);
         break;
      default:
         addStmtToIRSB(sb, st);
         break;
      }
      if (rss && ml_rss_after(plan, sbIn, i, sb, layout))
         cur_rss_tmp = IRTemp_INVALID;
   }
   flush_icount(sb, layout, &pending);
   if (corr_next)
      add_entry(sb, corr_next, corr_next_delta, NULL);
   ml_heap_instrument_end(sb, layout);

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
   fold_cells();
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
   for (UInt c = 0; c < n_cells; c++)
      cell_hw[c] = 0;
}

void ml_lines_init(Bool enabled, const HChar *fns)
{
   lines_on = enabled;
   ml_map_init(&slot_map, "ml.lines.slots", 10);
   ml_map_init(&addr_map, "ml.lines.addr", 14);
   ml_map_init(&cont_map, "ml.lines.cont", 10);
   ml_map_init(&cell_map, "ml.lines.cells", 10);
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
