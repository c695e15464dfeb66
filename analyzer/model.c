/* model.c -- builds the per-line and per-function numbers (model.h).

   Events touch only per-stack-node accumulators, one set per metric
   (self delta, self bytes added, self event count, self max = the
   highest level observed at an event at that node; the RSS sets only
   at nodes with page events and their ancestors), the live-block
   table (heap) and the resident bytes per page kind (rss).  At the end,
   ml_model_finish sums every node's subtree (children have larger ids
   than their parents, so one reverse pass does it) and walks the stack
   trie depth-first once: entering a node, each line (and function) in
   its frames that is not already active on the path from the root is a
   "topmost occurrence" and receives the node's subtree totals of every
   metric (one walk serves both); an
   active-count per line/function is incremented on entry and decremented
   on exit.  Because a line's stacks are exactly the subtrees of its
   topmost occurrences, this gives every event's delta once to every
   distinct line on its path (recursion counted once), in time linear in
   the total number of frames -- no per-event or per-node path walk, so a
   hostile, very deep trie cannot make it quadratic.

   The heap needs no per-block state: a FREE record carries the freed
   size, so the live heap is a running sum and the blocks live at the end
   a count.  Only with ml_model_set_verify (memline-report --verify) are
   the live blocks kept, in an open-addressing table keyed by block id
   with backward-shift deletion and seeded hashing (hash.h), to count
   FREEs of blocks that are not live and size mismatches; it is
   also the only part of the model whose memory grows with the live set.
   A program that is consistent gives the same numbers either way. */
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "ml_trace.h"
#include "model.h"

#define NO_MAX INT64_MIN

/* One metric's sums at a stack node (self, then subtree in distribute). */
typedef struct acc {
   uint64_t delta;      /* wrapping sum of the changes (read as int64) */
   uint64_t added;      /* bytes added (allocated / made resident) */
   uint64_t nev;        /* events */
   int64_t  max;        /* NO_MAX or the highest level observed at an
                           event here (after a growth, before a shrink) */
} acc;


typedef struct line_ent {
   ml_line_stats s;
   uint64_t incr[ML_METRICS];  /* wrapping sums, copied into s.by[] */
   int64_t  max[ML_METRICS];   /* NO_MAX or max over subtree maxima */
   uint32_t active;     /* DFS: occurrences on the current path */
} line_ent;

typedef struct func_ent {
   ml_func_stats s;
   int      has_line;   /* at least one LINE record */
   int      own_code;   /* a frame of it is in the main executable */
   uint32_t fmin, fmax; /* line range over its frames (line > 0) */
   uint64_t nev;        /* events of any metric under it (inclusive) */
   uint64_t incr[ML_METRICS];
   uint32_t active;
} func_ent;

typedef struct blk {
   uint64_t addr, size;
   uint32_t stack;
   uint32_t used;
} blk;

typedef struct file_ent {
   uint32_t path;
   ml_file_facts f;
} file_ent;

struct ml_model {
   const ml_reader *r;
   ml_summary sum;
   uint64_t   now;
   uint64_t   heap;          /* wrapping; sum.heap = (int64_t)heap */
   uint64_t   rss;           /* wrapping; sum.rss = (int64_t)rss */
   uint64_t   rss_kind[ML_PAGE_KINDS];
   uint64_t   page_size;     /* the HEADER's */

   /* per stack node, index = stack id (0 = the root, empty path).  The
      heap sums are an array of their own, so that heap events (nearly
      all events, in most traces) share cache lines with nothing else.
      The RSS sums are sparse: PAGE records come from far fewer stacks
      than allocations (gcc's cc1: 2.9 K of 192 K stack nodes have a
      page event), so a node has only a slot number, 0 or 1 + the index
      of its sums in rss_accs, given at its first page event or when
      distribute() adds a child's sums to it.  Dense, the RSS sums took
      6 of the 23 MB memline-report used on cc1's trace; sparse, the
      report makes 4,515 page faults instead of 5,685 (with the event
      handlers inlined, 8% less wall time). */
   acc      *heap_accs;
   uint32_t *rss_slot;
   acc      *rss_accs;
   size_t    n_rss, rss_cap;
   uint8_t  *cut;            /* path ends in a frames-cut marker */
   size_t    nnodes, nodes_cap;

   line_ent *lines;  size_t nlines, lines_cap;  ml_idx line_idx;
   uint32_t *by_func;       /* line indices by (fn, file, line), at finish */
   func_ent *funcs;  size_t nfuncs, funcs_cap;  ml_idx func_idx;
   file_ent *files;  size_t nfiles, files_cap;  ml_idx file_idx;

   /* Without --verify there is no per-block state: FREE records carry
      their size, so the heap total is a running sum and the live blocks
      at the end are a count.  nlive = inherited + ALLOCs - FREEs
      (wrapping: a hostile trace may free more than it allocated). */
   uint64_t nlive;
   blk   *blks;              /* --verify only: live blocks; size
                                blk_mask + 1 or NULL */
   size_t blk_mask, nblks;

   uint64_t inherit_left;    /* fork child: how many of the ALLOC
                                records still to come are inherited
                                blocks (the HEADER's count, counted
                                down) */
   int verify;               /* keep the live-block table (blks): check
                                every FREE and ALLOC against it */

   /* after finish: the candidate functions, ranked per metric */
   ml_func_stats *ranked[ML_METRICS];
   size_t         nranked;
   int            finished;
};

static int nomem(ml_err *err)
{
   return ml_err_set(err, ML_ENOMEM, "out of memory");
}


/*--- keyed tables ----------------------------------------------------*/

typedef struct line_key { uint32_t fn, file, line; } line_key;

static uint64_t line_hash(uint32_t fn, uint32_t file, uint32_t line)
{
   return ml_mix64((((uint64_t)fn << 32) | file) ^ ml_mix64(line));
}

static int line_eq(const void *ctx, uint32_t v, const void *key)
{
   const ml_model *m = ctx;
   const line_key *k = key;
   const ml_line_stats *s = &m->lines[v - 1].s;
   return s->fn == k->fn && s->file == k->file && s->line == k->line;
}

/* Index of the line entry, created if absent; -1 on out of memory. */
static long long line_get(ml_model *m, uint32_t fn, uint32_t file,
                          uint32_t line)
{
   line_key k = { fn, file, line };
   uint64_t h = line_hash(fn, file, line);
   uint32_t v = ml_idx_find(&m->line_idx, h, &k, line_eq, m);
   if (v)
      return v - 1;
   if (m->nlines >= UINT32_MAX - 1 ||
       ml_grow((void **)&m->lines, &m->lines_cap, m->nlines + 1,
            sizeof *m->lines))
      return -1;
   line_ent *e = &m->lines[m->nlines];
   memset(e, 0, sizeof *e);
   e->s.fn = fn;
   e->s.file = file;
   e->s.line = line;
   for (int i = 0; i < ML_METRICS; i++)
      e->max[i] = NO_MAX;
   if (ml_idx_insert(&m->line_idx, h, (uint32_t)m->nlines + 1))
      return -1;
   return (long long)m->nlines++;
}

static uint64_t pair_hash(uint32_t a, uint32_t b)
{
   return ml_mix64(((uint64_t)a << 32) | b);
}

static int func_eq(const void *ctx, uint32_t v, const void *key)
{
   const ml_model *m = ctx;
   const uint32_t *k = key;
   return m->funcs[v - 1].s.fn == k[0] && m->funcs[v - 1].s.file == k[1];
}

static long long func_get(ml_model *m, uint32_t fn, uint32_t file)
{
   uint32_t k[2] = { fn, file };
   uint64_t h = pair_hash(fn, file);
   uint32_t v = ml_idx_find(&m->func_idx, h, k, func_eq, m);
   if (v)
      return v - 1;
   if (m->nfuncs >= UINT32_MAX - 1 ||
       ml_grow((void **)&m->funcs, &m->funcs_cap, m->nfuncs + 1,
            sizeof *m->funcs))
      return -1;
   func_ent *e = &m->funcs[m->nfuncs];
   memset(e, 0, sizeof *e);
   e->s.fn = fn;
   e->s.file = file;
   if (ml_idx_insert(&m->func_idx, h, (uint32_t)m->nfuncs + 1))
      return -1;
   return (long long)m->nfuncs++;
}

static int file_eq(const void *ctx, uint32_t v, const void *key)
{
   const ml_model *m = ctx;
   return m->files[v - 1].path == *(const uint32_t *)key;
}

/*--- live blocks -----------------------------------------------------*/

static inline size_t blk_pos(const ml_model *m, uint64_t addr)
{
   return (size_t)ml_mix64(addr) & m->blk_mask;
}

/* The slot of addr: the live block, or the empty slot where it would be
   inserted.  The table exists. */
static inline blk *blk_slot(ml_model *m, uint64_t addr)
{
   for (size_t i = blk_pos(m, addr);; i = (i + 1) & m->blk_mask) {
      blk *b = &m->blks[i];
      if (!b->used || b->addr == addr)
         return b;
   }
}

/* Slot holding addr, or NULL. */
static inline blk *blk_find(ml_model *m, uint64_t addr)
{
   if (!m->blks)
      return NULL;
   blk *b = blk_slot(m, addr);
   return b->used ? b : NULL;
}

static int blk_grow(ml_model *m)
{
   size_t ncap = m->blks ? (m->blk_mask + 1) * 2 : 1024;
   blk *nb = calloc(ncap, sizeof *nb);
   if (!nb)
      return ML_ENOMEM;
   blk *old = m->blks;
   size_t oldcap = old ? m->blk_mask + 1 : 0;
   m->blks = nb;
   m->blk_mask = ncap - 1;
   for (size_t i = 0; i < oldcap; i++) {
      if (!old[i].used)
         continue;
      size_t j = blk_pos(m, old[i].addr);
      while (nb[j].used)
         j = (j + 1) & m->blk_mask;
      nb[j] = old[i];
   }
   free(old);
   return 0;
}

/* Makes room for one more block (load factor <= 1/2).  Returns 0 or
   ML_ENOMEM. */
static int blk_reserve(ml_model *m)
{
   if (!m->blks || (m->nblks + 1) * 2 > m->blk_mask + 1)
      return blk_grow(m);
   return 0;
}

/* Removes the block in slot b (backward-shift deletion keeps every
   remaining key reachable from its home slot without tombstones). */
static void blk_remove(ml_model *m, blk *b)
{
   size_t i = (size_t)(b - m->blks);
   for (;;) {
      m->blks[i].used = 0;
      size_t j = i;
      for (;;) {
         j = (j + 1) & m->blk_mask;
         if (!m->blks[j].used) {
            m->nblks--;
            return;
         }
         size_t home = blk_pos(m, m->blks[j].addr);
         /* can the entry at j move to i?  yes unless home is cyclically
            in (i, j] */
         int stays = i <= j ? (home > i && home <= j)
                            : (home > i || home <= j);
         if (!stays) {
            m->blks[i] = m->blks[j];
            i = j;
            break;
         }
      }
   }
}

/*--- events ----------------------------------------------------------*/

static void node_init(ml_model *m, size_t id)
{
   m->heap_accs[id] = (acc){ 0, 0, 0, NO_MAX };
   m->rss_slot[id] = 0;
}

/* Node v's sums of metric k, or NULL when v has no RSS sums. */
static inline acc *node_acc(const ml_model *m, ml_metric k, uint32_t v)
{
   if (k == ML_METRIC_HEAP)
      return &m->heap_accs[v];
   uint32_t s = m->rss_slot[v];
   return s ? &m->rss_accs[s - 1] : NULL;
}

/* Node v's RSS sums, made (zero) if it has none: NULL when out of
   memory.  May move rss_accs: pointers into it do not survive a call. */
static acc *rss_acc_make(ml_model *m, uint32_t v)
{
   uint32_t s = m->rss_slot[v];
   if (s)
      return &m->rss_accs[s - 1];
   if (m->n_rss >= UINT32_MAX - 1 ||
       ml_grow((void **)&m->rss_accs, &m->rss_cap, m->n_rss + 1,
               sizeof *m->rss_accs))
      return NULL;
   acc *a = &m->rss_accs[m->n_rss++];
   *a = (acc){ 0, 0, 0, NO_MAX };
   m->rss_slot[v] = (uint32_t)m->n_rss;
   return a;
}

/* Room for stack ids below need in every per-node array. */
static int grow_nodes(ml_model *m, size_t need)
{
   size_t cap = m->nodes_cap;
   void *p = m->cut;
   if (ml_grow(&p, &cap, need, 1))
      return ML_ENOMEM;
   m->cut = p;
   if (cap == m->nodes_cap)
      return 0;
   if (cap > SIZE_MAX / sizeof(acc))
      return ML_ENOMEM;
   acc *a = realloc(m->heap_accs, cap * sizeof(acc));
   if (!a)
      return ML_ENOMEM;
   m->heap_accs = a;
   uint32_t *s = realloc(m->rss_slot, cap * sizeof(uint32_t));
   if (!s)
      return ML_ENOMEM;
   m->rss_slot = s;
   m->nodes_cap = cap;
   return 0;
}

ml_model *ml_model_new(const ml_reader *r, ml_err *err)
{
   ml_model *m = calloc(1, sizeof *m);
   if (!m || grow_nodes(m, 1)) {
      ml_model_free(m);
      nomem(err);
      return NULL;
   }
   m->r = r;
   const ml_header *h = ml_reader_header(r);
   m->inherit_left = (h->flags & ML_HDR_FORK_CHILD) ? h->inherited : 0;
   m->sum.has_rss = (h->flags & ML_HDR_RSS) != 0;
   m->page_size = h->page_size;
   m->nnodes = 1;                 /* the root, stack id 0 */
   node_init(m, 0);
   m->cut[0] = 0;
   return m;
}

void ml_model_set_verify(ml_model *m, int on)
{
   m->verify = on != 0;
}

void ml_model_free(ml_model *m)
{
   if (!m)
      return;
   free(m->heap_accs);
   free(m->rss_slot);
   free(m->rss_accs);
   free(m->cut);
   free(m->lines);
   free(m->by_func);
   ml_idx_fini(&m->line_idx);
   free(m->funcs);
   ml_idx_fini(&m->func_idx);
   free(m->files);
   ml_idx_fini(&m->file_idx);
   free(m->blks);
   for (int k = 0; k < ML_METRICS; k++)
      free(m->ranked[k]);
   free(m);
}

static int add_stack(ml_model *m, uint32_t id, ml_err *err)
{
   uint32_t parent, loc;
   if (ml_reader_stack(m->r, id, &parent, &loc) || id != m->nnodes)
      return ml_err_set(err, ML_EINVAL, "internal: stack %u out of order",
                        id);
   if (grow_nodes(m, m->nnodes + 1))
      return nomem(err);
   node_init(m, id);
   m->cut[id] = loc == 0 || m->cut[parent];
   m->nnodes++;
   return 0;
}

/* One event at a node's sums a: its change, the bytes it added and the
   level observed while it happened. */
static inline void node_event(acc *a, uint64_t delta, uint64_t added,
                              int64_t level)
{
   a->delta += delta;
   a->added += added;
   a->nev++;
   if (level > a->max)
      a->max = level;
}

/* The --verify table's key of a block: its id, and whether a custom
   allocator's (a CFREE must free a CALLOC'd block). */
static inline uint64_t block_key(const ml_record *rec)
{
   return rec->u.block.id ^ (rec->u.block.custom ? (1ull << 63) : 0);
}

/* --verify: enters the block in the live table (ids are unique, so it
   is not there yet).  Returns 0 or ML_ENOMEM. */
static __attribute__((noinline))
int verify_alloc(ml_model *m, uint32_t stack, uint64_t size, uint64_t key)
{
   if (blk_reserve(m))
      return ML_ENOMEM;
   blk *b = blk_slot(m, key);
   if (!b->used)
      m->nblks++;
   *b = (blk){ key, size, stack, 1 };
   return 0;
}

/* --verify: takes the block out of the live table, counting a FREE of a
   block that is not live (freed twice, or freed as the wrong kind) or
   with another size. */
static __attribute__((noinline))
void verify_free(ml_model *m, uint64_t size, uint64_t addr)
{
   blk *b = blk_find(m, addr);
   if (!b)
      m->sum.free_of_unknown++;
   else {
      if (b->size != size)
         m->sum.free_size_differs++;
      blk_remove(m, b);
   }
}

/* on_alloc and on_free run once per event: inline, with the --verify
   work out of line (a call of on_alloc cost 20 instructions of its
   own). */
static inline __attribute__((always_inline))
int on_alloc(ml_model *m, const ml_record *rec, ml_err *err)
{
   uint32_t stack = rec->u.block.stack;
   uint64_t size = rec->u.block.size;
   if (m->verify && verify_alloc(m, stack, size, block_key(rec)))
      return nomem(err);
   m->nlive++;
   m->heap += size;
   if (m->inherit_left) {
      /* a block the forked child inherited: live, not allocated here */
      m->inherit_left--;
      m->sum.inherited_blocks++;
      m->sum.inherited_bytes += size;
      if ((int64_t)m->heap > m->sum.peak_heap)
         m->sum.peak_heap = (int64_t)m->heap;
      return 0;
   }
   node_event(&m->heap_accs[stack], size, size, (int64_t)m->heap);
   m->sum.n_allocs++;
   m->sum.bytes_allocated += size;
   if (m->cut[stack])
      m->sum.cut_allocs++;
   if ((int64_t)m->heap > m->sum.peak_heap) {
      m->sum.peak_heap = (int64_t)m->heap;
      m->sum.peak_time = rec->now;
   }
   return 0;
}

static inline __attribute__((always_inline))
void on_free(ml_model *m, const ml_record *rec)
{
   uint64_t size = rec->u.block.size;
   if (m->verify)
      verify_free(m, size, block_key(rec));
   m->nlive--;
   /* The level before the free was observed while the freeing line ran. */
   node_event(&m->heap_accs[rec->u.block.stack], (uint64_t)0 - size, 0,
              (int64_t)m->heap);
   m->heap -= size;
   m->sum.n_frees++;
}

/* A PAGE record: count pages of a kind made resident (> 0) or released
   (< 0) at a stack (0: none, e.g. resident at start-up).  As for the
   heap, a page-in is observed after it, a page-out before it.  Returns 0
   or ML_ENOMEM (*err set). */
static int on_page(ml_model *m, const ml_record *rec, ml_err *err)
{
   uint32_t kind = rec->u.page.kind;      /* < ML_PAGE_KINDS (reader) */
   int64_t count = rec->u.page.count;
   uint64_t bytes = (uint64_t)count * m->page_size;  /* wrapping */
   acc *a = rss_acc_make(m, rec->u.page.stack);
   if (!a)
      return nomem(err);
   m->sum.has_rss = 1;
   m->sum.n_pages++;
   if (count < 0)
      node_event(a, bytes, 0, (int64_t)m->rss);
   m->rss += bytes;
   m->rss_kind[kind] += bytes;
   if (count < 0) {
      if ((int64_t)m->rss_kind[kind] < 0)
         m->sum.rss_underflow++;
      return 0;
   }
   node_event(a, bytes, bytes, (int64_t)m->rss);
   if ((int64_t)m->rss > m->sum.peak_rss) {
      m->sum.peak_rss = (int64_t)m->rss;
      m->sum.peak_rss_time = rec->now;
      for (uint32_t k = 0; k < ML_PAGE_KINDS; k++)
         m->sum.peak_rss_kind[k] = (int64_t)m->rss_kind[k];
   }
   return 0;
}

static int on_line(ml_model *m, const ml_record *rec, ml_err *err)
{
   long long li = line_get(m, rec->u.line.fn, rec->u.line.file,
                           rec->u.line.line);
   long long fi = func_get(m, rec->u.line.fn, rec->u.line.file);
   if (li < 0 || fi < 0)
      return nomem(err);
   ml_line_stats *s = &m->lines[li].s;
   s->has_record = 1;             /* the last record wins */
   s->entries = rec->u.line.entries;
   s->by[ML_METRIC_HEAP].hw_at_entry = rec->u.line.hw_heap > INT64_MAX
                       ? INT64_MAX : (int64_t)rec->u.line.hw_heap;
   s->by[ML_METRIC_RSS].hw_at_entry = rec->u.line.hw_rss > INT64_MAX
                       ? INT64_MAX : (int64_t)rec->u.line.hw_rss;
   func_ent *f = &m->funcs[fi];
   uint32_t line = rec->u.line.line;
   if (!f->has_line || line < f->s.first_line)
      f->s.first_line = line;
   if (!f->has_line || line > f->s.last_line)
      f->s.last_line = line;
   f->has_line = 1;
   return 0;
}

static int on_file(ml_model *m, const ml_record *rec, ml_err *err)
{
   uint32_t path = rec->u.file.path;
   uint64_t h = ml_mix64(path);
   uint32_t v = ml_idx_find(&m->file_idx, h, &path, file_eq, m);
   if (!v) {
      if (ml_grow((void **)&m->files, &m->files_cap, m->nfiles + 1,
               sizeof *m->files) ||
          ml_idx_insert(&m->file_idx, h, (uint32_t)m->nfiles + 1))
         return nomem(err);
      v = (uint32_t)++m->nfiles;
      m->files[v - 1].path = path;
   }
   m->files[v - 1].f = rec->u.file.f;   /* the last record wins */
   return 0;
}

int ml_model_add(ml_model *m, const ml_record *rec, ml_err *err)
{
   switch (rec->kind) {
   case ML_REC_STACK:
      return add_stack(m, rec->u.def.id, err);
   case ML_REC_ALLOC:
      m->now = rec->now;
      return on_alloc(m, rec, err);
   case ML_REC_FREE:
      m->now = rec->now;
      on_free(m, rec);
      return 0;
   case ML_REC_PAGE:
      m->now = rec->now;
      return on_page(m, rec, err);
   case ML_REC_TIME:
   case ML_REC_MARK:
      m->now = rec->now;
      return 0;
   case ML_REC_LINE:
      return on_line(m, rec, err);
   case ML_REC_FILE:
      return on_file(m, rec, err);
   case ML_REC_TRAILER:
      m->sum.has_trailer = 1;
      m->sum.trailer = rec->u.trailer;
      return 0;
   case ML_REC_STRING:
   case ML_REC_LOC:
   case ML_REC_THREAD:
      return 0;
   }
   return 0;
}

/*--- distribution over the trie --------------------------------------*/

/* Per-loc frame -> (line index, function index), filled before the DFS.
   Returns 0 or ML_ENOMEM. */
static int map_frames(ml_model *m, size_t **first, uint32_t **fl,
                      uint32_t **ff)
{
   uint32_t nloc = ml_reader_nlocs(m->r);
   size_t total = 0;
   *fl = NULL;
   *ff = NULL;
   *first = malloc(((size_t)nloc + 2) * sizeof **first);
   if (!*first)
      return ML_ENOMEM;
   ml_loc loc;
   for (uint32_t id = 1; id <= nloc; id++) {
      ml_reader_loc(m->r, id, &loc);
      (*first)[id] = total;
      total += loc.nframes;
   }
   (*first)[nloc + 1] = total;
   *fl = malloc((total ? total : 1) * sizeof **fl);
   *ff = malloc((total ? total : 1) * sizeof **ff);
   if (!*fl || !*ff)
      return ML_ENOMEM;
   for (uint32_t id = 1; id <= nloc; id++) {
      ml_reader_loc(m->r, id, &loc);
      for (uint32_t i = 0; i < loc.nframes; i++) {
         const ml_frame *f = &loc.frames[i];
         long long li = line_get(m, f->fn, f->file, f->line);
         long long fi = func_get(m, f->fn, f->file);
         if (li < 0 || fi < 0)
            return ML_ENOMEM;
         (*fl)[(*first)[id] + i] = (uint32_t)li;
         (*ff)[(*first)[id] + i] = (uint32_t)fi;
         func_ent *fe = &m->funcs[fi];
         if (loc.flags & ML_LOC_MAIN_EXE)
            fe->own_code = 1;
         if (f->line > 0) {
            if (fe->fmin == 0 || f->line < fe->fmin)
               fe->fmin = f->line;
            if (f->line > fe->fmax)
               fe->fmax = f->line;
         }
      }
   }
   return 0;
}

/* Enter (sign > 0) or leave (sign < 0) node v, whose location is loc
   and whose subtree totals are node_acc(m, k, v). */
static void visit(ml_model *m, uint32_t v, uint32_t loc, int enter,
                  const size_t *first, const uint32_t *fl,
                  const uint32_t *ff)
{
   if (loc == 0)
      return;                     /* frames-cut marker: no frames */
   for (size_t i = first[loc]; i < first[loc + 1]; i++) {
      line_ent *l = &m->lines[fl[i]];
      func_ent *f = &m->funcs[ff[i]];
      if (!enter) {
         l->active--;
         f->active--;
         continue;
      }
      if (l->active++ == 0) {
         for (int k = 0; k < ML_METRICS; k++) {
            const acc *a = node_acc(m, (ml_metric)k, v);
            if (!a)
               continue;
            l->incr[k] += a->delta;
            l->s.by[k].added += a->added;
            l->s.by[k].n_events += a->nev;
            if (a->max > l->max[k])
               l->max[k] = a->max;
         }
      }
      if (f->active++ == 0) {
         for (int k = 0; k < ML_METRICS; k++) {
            const acc *a = node_acc(m, (ml_metric)k, v);
            if (!a)
               continue;
            f->incr[k] += a->delta;
            f->s.by[k].added += a->added;
            f->nev += a->nev;
         }
      }
   }
}

/* Adds a child's subtree sums c to its parent's p. */
static inline void add_sums(acc *p, const acc *c)
{
   p->delta += c->delta;
   p->added += c->added;
   p->nev += c->nev;
   if (c->max > p->max)
      p->max = c->max;
}

#define LEAVE 0x80000000u

static int distribute(ml_model *m)
{
   size_t n = m->nnodes;          /* ids 0..n-1 */
   int rc = ML_ENOMEM;
   /* the nodes' sums: self sums become subtree sums */
   uint32_t *child = calloc(n, sizeof *child);   /* first child */
   uint32_t *sib = calloc(n, sizeof *sib);       /* next sibling */
   /* the walk's stack: ids with the top bit for "leave" (ids stay under
      2^31: the tables of that many nodes would not fit in memory) */
   uint32_t *todo = n < LEAVE ? malloc(2 * n * sizeof *todo) : NULL;
   /* The walk below jumps about the tree; what it needs of every node
      is copied here, in order, by the pass over the ids: its location
      and whether anything happened under it.  The walk then touches a
      node's sums only when they go to a line or function. */
   uint32_t *locs = malloc(n * sizeof *locs);
   uint8_t *busy = malloc(n);
   size_t *first = NULL;
   uint32_t *fl = NULL, *ff = NULL;
   if (!child || !sib || !todo || !locs || !busy ||
       map_frames(m, &first, &fl, &ff))
      goto out;

   for (size_t v = n - 1; v >= 1; v--) {
      uint32_t parent = 0, loc = 0;
      ml_reader_stack(m->r, (uint32_t)v, &parent, &loc);
      locs[v] = loc;
      uint64_t nev = m->heap_accs[v].nev;
      add_sums(&m->heap_accs[parent], &m->heap_accs[v]);
      if (m->rss_slot[v]) {
         acc *p = rss_acc_make(m, parent);     /* may move rss_accs */
         if (!p)
            goto out;
         const acc *c = node_acc(m, ML_METRIC_RSS, (uint32_t)v);
         nev |= c->nev;
         add_sums(p, c);
      }
      busy[v] = nev != 0;
      sib[v] = child[parent];
      child[parent] = (uint32_t)v;
   }

   /* Depth-first from the root; an entry is v (enter) or v | LEAVE
      (leave).  Each node is pushed at most twice. */
   size_t top = 0;
   for (uint32_t c = child[0]; c; c = sib[c])
      todo[top++] = c;
   while (top > 0) {
      uint32_t e = todo[--top];
      uint32_t v = e & ~LEAVE;
      if (e & LEAVE) {
         visit(m, v, locs[v], 0, first, fl, ff);
         continue;
      }
      if (!busy[v])
         continue;                /* nothing happened under v */
      visit(m, v, locs[v], 1, first, fl, ff);
      todo[top++] = v | LEAVE;
      for (uint32_t c = child[v]; c; c = sib[c])
         todo[top++] = c;
   }
   rc = 0;
out:
   free(child);
   free(sib);
   free(todo);
   free(locs);
   free(busy);
   free(first);
   free(fl);
   free(ff);
   return rc;
}

typedef struct rank_ctx {
   const ml_reader *r;
   ml_metric metric;
} rank_ctx;

static int rank_cmp(const void *a, const void *b, void *ctx)
{
   const rank_ctx *rc = ctx;
   const ml_reader *cmp_reader = rc->r;
   const ml_func_stats *x = a, *y = b;
   uint64_t xa = x->by[rc->metric].added, ya = y->by[rc->metric].added;
   if (xa != ya)
      return xa > ya ? -1 : 1;
   int c = strcmp(ml_reader_string(cmp_reader, x->fn, NULL),
                  ml_reader_string(cmp_reader, y->fn, NULL));
   if (c)
      return c;
   c = strcmp(ml_reader_string(cmp_reader, x->file, NULL),
              ml_reader_string(cmp_reader, y->file, NULL));
   if (c)
      return c;
   return x->first_line < y->first_line ? -1 : x->first_line > y->first_line;
}

static int by_func_cmp(const void *a, const void *b, void *arg)
{
   const line_ent *lines = arg;
   const ml_line_stats *x = &lines[*(const uint32_t *)a].s;
   const ml_line_stats *y = &lines[*(const uint32_t *)b].s;
   if (x->fn != y->fn)
      return x->fn < y->fn ? -1 : 1;
   if (x->file != y->file)
      return x->file < y->file ? -1 : 1;
   return x->line < y->line ? -1 : x->line > y->line;
}

int ml_model_finish(ml_model *m, ml_err *err)
{
   if (m->finished)
      return 0;
   if (distribute(m))
      return nomem(err);
   /* Each function's lines together, for the tables of functions whose
      line range is too wide to walk (ml_model_func_lines). */
   if (!(m->by_func = malloc((m->nlines ? m->nlines : 1) *
                             sizeof *m->by_func)))
      return nomem(err);
   for (size_t i = 0; i < m->nlines; i++)
      m->by_func[i] = (uint32_t)i;
   qsort_r(m->by_func, m->nlines, sizeof *m->by_func, by_func_cmp, m->lines);
   for (size_t i = 0; i < m->nlines; i++) {
      line_ent *l = &m->lines[i];
      for (int k = 0; k < ML_METRICS; k++) {
         ml_usage *u = &l->s.by[k];
         u->increment = (int64_t)l->incr[k];
         u->has_mem = l->s.has_record || l->max[k] != NO_MAX;
         u->mem_usage = l->s.has_record ? u->hw_at_entry : NO_MAX;
         if (l->max[k] > u->mem_usage)
            u->mem_usage = l->max[k];
         if (!u->has_mem)
            u->mem_usage = 0;
      }
   }
   /* Candidates: functions with LINE records.  A trace without any (a
      killed run: the tool writes them at exit) falls back to the
      program's own functions that have events under them, with the line
      range of their stack frames. */
   size_t nr = 0;
   for (size_t i = 0; i < m->nfuncs; i++)
      nr += m->funcs[i].has_line;
   m->sum.has_line_records = nr > 0;
   for (int k = 0; k < ML_METRICS; k++)
      if (!(m->ranked[k] = malloc((m->nfuncs ? m->nfuncs : 1) *
                                  sizeof *m->ranked[k])))
         return nomem(err);
   int any_own = 0;
   for (size_t i = 0; i < m->nfuncs; i++)
      any_own |= m->funcs[i].own_code && m->funcs[i].nev > 0;
   for (size_t i = 0; i < m->nfuncs; i++) {
      func_ent *f = &m->funcs[i];
      for (int k = 0; k < ML_METRICS; k++)
         f->s.by[k].increment = (int64_t)f->incr[k];
      if (nr) {
         if (f->has_line)
            m->ranked[0][m->nranked++] = f->s;
      } else if (f->nev > 0 && f->fmin > 0 && (f->own_code || !any_own)) {
         f->s.first_line = f->fmin;
         f->s.last_line = f->fmax;
         m->ranked[0][m->nranked++] = f->s;
      }
   }
   for (int k = 0; k < ML_METRICS; k++) {
      rank_ctx ctx = { m->r, (ml_metric)k };
      if (k > 0)
         memcpy(m->ranked[k], m->ranked[0],
                m->nranked * sizeof *m->ranked[k]);
      qsort_r(m->ranked[k], m->nranked, sizeof *m->ranked[k], rank_cmp,
              &ctx);
   }

   if (m->verify) {
      uint64_t bytes = 0;
      for (size_t i = 0; m->blks && i <= m->blk_mask; i++)
         if (m->blks[i].used)
            bytes += m->blks[i].size;
      m->sum.leaked_bytes = bytes;
      m->sum.leaked_blocks = m->nblks;
   } else {
      /* what the events say is still live: the heap total and the
         blocks allocated (or inherited) and not freed */
      m->sum.leaked_bytes = (int64_t)m->heap < 0 ? 0 : m->heap;
      m->sum.leaked_blocks = (int64_t)m->nlive < 0 ? 0 : m->nlive;
   }
   m->sum.heap = (int64_t)m->heap;
   m->sum.rss = (int64_t)m->rss;
   for (uint32_t k = 0; k < ML_PAGE_KINDS; k++)
      m->sum.rss_kind[k] = (int64_t)m->rss_kind[k];
   m->sum.instructions = m->sum.has_trailer
                            ? m->sum.trailer.total_instructions : m->now;
   m->finished = 1;
   return 0;
}

int ml_model_load(ml_model *m, ml_reader *r, ml_err *err)
{
   ml_record rec;
   int rc;
   while ((rc = ml_reader_next(r, &rec)) > 0)
      if ((rc = ml_model_add(m, &rec, err)))
         return rc;
   if (rc < 0)
      return ml_err_set(err, rc, "%s", ml_reader_strerror(r));
   return ml_model_finish(m, err);
}

/*--- accessors -------------------------------------------------------*/

const ml_summary *ml_model_summary(const ml_model *m)
{
   return &m->sum;
}

ml_metric ml_model_default_metric(const ml_model *m)
{
   return m->sum.has_rss ? ML_METRIC_RSS : ML_METRIC_HEAP;
}

const ml_line_stats *ml_model_line(const ml_model *m, uint32_t fn,
                                   uint32_t file, uint32_t line)
{
   line_key k = { fn, file, line };
   uint32_t v = ml_idx_find(&m->line_idx, line_hash(fn, file, line), &k,
                            line_eq, m);
   return v ? &m->lines[v - 1].s : NULL;
}

size_t ml_model_nlines(const ml_model *m)
{
   return m->nlines;
}

const ml_line_stats *ml_model_line_at(const ml_model *m, size_t i)
{
   return i < m->nlines ? &m->lines[i].s : NULL;
}

size_t ml_model_func_lines(const ml_model *m, uint32_t fn, uint32_t file,
                           size_t *first)
{
   size_t lo = 0, hi = m->nlines;         /* the first not below (fn, file) */
   while (lo < hi) {
      size_t mid = lo + (hi - lo) / 2;
      const ml_line_stats *x = &m->lines[m->by_func[mid]].s;
      if (x->fn < fn || (x->fn == fn && x->file < file))
         lo = mid + 1;
      else
         hi = mid;
   }
   size_t end = lo;
   while (end < m->nlines && m->lines[m->by_func[end]].s.fn == fn &&
          m->lines[m->by_func[end]].s.file == file)
      end++;
   *first = lo;
   return end - lo;
}

const ml_line_stats *ml_model_line_by_func(const ml_model *m, size_t pos)
{
   return pos < m->nlines ? &m->lines[m->by_func[pos]].s : NULL;
}

size_t ml_model_nfuncs(const ml_model *m)
{
   return m->nranked;
}

const ml_func_stats *ml_model_func(const ml_model *m, ml_metric metric,
                                   size_t i)
{
   if (i >= m->nranked || (unsigned)metric >= ML_METRICS)
      return NULL;
   return &m->ranked[metric][i];
}

int ml_model_file_facts(const ml_model *m, uint32_t path,
                        ml_file_facts *out)
{
   uint32_t v = ml_idx_find(&m->file_idx, ml_mix64(path), &path, file_eq, m);
   if (!v)
      return 0;
   *out = m->files[v - 1].f;
   return 1;
}
