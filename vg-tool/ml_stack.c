/* ml_stack.c -- strings, locations and the stack trie of ml_stack.h.

   Resolution of an address into its chain of inlined frames uses the
   core's inline cursor (VG_(new_IIPC)) and reads each frame out of
   VG_(describe_IP) rendered in its XML form, which gives function,
   directory, file and line as separate fields.  Resolution happens once
   per distinct address; stacks are interned per (parent, location) pair
   through a hash map.  Capturing a stack avoids the unwinder where it
   can: a verified cache reuses an earlier unwind whose frames are still
   on the stack, and a miss is spliced onto the last stack when their
   outer frames agree (see "Splicing"), so only the differing inner frames
   are unwound and interned. */
#include "pub_tool_basics.h"
#include "pub_tool_libcbase.h"
#include "pub_tool_libcassert.h"
#include "pub_tool_libcprint.h"
#include "pub_tool_libcfile.h"
#include "pub_tool_mallocfree.h"
#include "pub_tool_debuginfo.h"
#include "pub_tool_stacktrace.h"
#include "pub_tool_options.h"
#include "pub_tool_clientstate.h"
#include "pub_tool_machine.h"
#include "pub_tool_threadstate.h"
#include "pub_tool_tooliface.h"
#include "libvex_guest_amd64.h"
#include "ml_trace.h"
#include "ml_util.h"
#include "ml_out.h"
#include "ml_stack.h"

#define MAX_DEPTH 500

static UInt depth = 64;

/*------------------------------------------------------------*/
/*--- Strings                                              ---*/
/*------------------------------------------------------------*/

static MlMap   str_map;          /* hash (probed on collision) -> id */
static HChar **strs;             /* strs[id], id >= 1 */
static UInt    n_strs = 1, cap_strs;

static void emit_string(UInt id)
{
   ml_rec_begin(ML_TAG_STRING);
   ml_rec_bytes(strs[id], VG_(strlen)(strs[id]));
   ml_rec_end();
}

static Bool same_str(UWord v1, const void *arg)
{
   return VG_(strcmp)(strs[v1], arg) == 0;
}

UInt ml_str_intern(const HChar *s)
{
   if (!s || !*s)
      return 0;
   UWord key = ml_fnv1a((const UChar *)s, VG_(strlen)(s), ML_FNV_BASIS);
   Bool is_new;
   MlMapEnt *e = ml_map_intern(&str_map, key, same_str, s, True, &is_new);
   if (!is_new)
      return (UInt)e->v1;
   if (n_strs >= cap_strs) {
      cap_strs = cap_strs ? cap_strs * 2 : 1024;
      strs = VG_(realloc)("ml.str.tab", strs, cap_strs * sizeof *strs);
   }
   UInt id = n_strs++;
   strs[id] = VG_(strdup)("ml.str", s);
   e->v1 = id;
   emit_string(id);
   return id;
}

const HChar *ml_str_get(UInt id)
{
   return id > 0 && id < n_strs ? strs[id] : "";
}

/*------------------------------------------------------------*/
/*--- Objects: main executable and the preload             ---*/
/*------------------------------------------------------------*/

static Addr main_lo, main_hi;        /* main executable text */
static Addr pre_lo, pre_hi;          /* vgpreload_memline text */
static Bool got_main, got_pre;
/* Set when the client maps something: only then can a search that
   failed succeed, so the hot paths (one in_preload per frame) do not
   walk the DebugInfo list again and again. */
static Bool objs_stale = True;

/* Exported by the core (pub_core_clientstate.h), not in pub_tool. */
extern UWord *VG_(client_auxv);
#define ML_AT_ENTRY 9

/* The main executable is the object holding the client's entry point
   (AT_ENTRY): right whatever name or symlink it was started by. */
static void find_objects(void)
{
   objs_stale = False;
   DiEpoch ep = VG_(current_DiEpoch)();
   if (!got_main && VG_(client_auxv)) {
      for (const UWord *a = VG_(client_auxv); a[0] != 0; a += 2)
         if (a[0] == ML_AT_ENTRY) {
            DebugInfo *di = VG_(find_DebugInfo)(ep, a[1]);
            if (di) {
               main_lo = VG_(DebugInfo_get_text_avma)(di);
               main_hi = main_lo + VG_(DebugInfo_get_text_size)(di);
               got_main = True;
            }
            break;
         }
   }
   for (const DebugInfo *di = VG_(next_DebugInfo)(NULL); di && !got_pre;
        di = VG_(next_DebugInfo)(di)) {
      const HChar *f = VG_(DebugInfo_get_filename)(di);
      if (f && VG_(strstr)(f, "vgpreload_memline")) {
         pre_lo = VG_(DebugInfo_get_text_avma)(di);
         pre_hi = pre_lo + VG_(DebugInfo_get_text_size)(di);
         got_pre = True;
      }
   }
}

static inline void refresh_objects(void)
{
   if ((!got_main || !got_pre) && objs_stale)
      find_objects();
}

void ml_stack_note_mmap(void)
{
   objs_stale = True;
}

Bool ml_addr_in_main_exe(Addr a)
{
   refresh_objects();
   return a >= main_lo && a < main_hi;
}

Bool ml_main_exe_text(Addr *lo, Addr *hi)
{
   refresh_objects();
   *lo = main_lo;
   *hi = main_hi;
   return got_main;
}

static inline Bool in_preload(Addr a)
{
   refresh_objects();
   return a >= pre_lo && a < pre_hi;
}

/*------------------------------------------------------------*/
/*--- Locations                                            ---*/
/*------------------------------------------------------------*/

static MlMap  loc_map;              /* ip -> loc id */
static MlLoc *locs;                 /* locs[id], id >= 1 */
static UInt   n_locs = 1, cap_locs;

/* Copies the text between <tag> and </tag> in s into out (unescaping
   XML entities).  Returns False if the tag is absent. */
static Bool xml_field(const HChar *s, const HChar *tag, HChar *out,
                      SizeT outsz)
{
   HChar open[16], close[16];
   VG_(sprintf)(open, "<%s>", tag);
   VG_(sprintf)(close, "</%s>", tag);
   const HChar *b = VG_(strstr)(s, open);
   if (!b)
      return False;
   b += VG_(strlen)(open);
   const HChar *e = VG_(strstr)(b, close);
   if (!e)
      return False;
   SizeT o = 0;
   while (b < e && o + 1 < outsz) {
      if (*b == '&') {
         static const struct { const HChar *ent; HChar c; } ents[] = {
            { "&amp;", '&' }, { "&lt;", '<' }, { "&gt;", '>' },
            { "&quot;", '"' }, { "&apos;", '\'' } };
         Bool done = False;
         for (UInt i = 0; i < sizeof ents / sizeof ents[0]; i++) {
            SizeT l = VG_(strlen)(ents[i].ent);
            if (VG_(strncmp)(b, ents[i].ent, l) == 0) {
               out[o++] = ents[i].c; b += l; done = True; break;
            }
         }
         if (done)
            continue;
      }
      out[o++] = *b++;
   }
   out[o] = 0;
   return True;
}

#define FIELD 4096

static void resolve_frame(DiEpoch ep, Addr ip, InlIPCursor *iipc,
                          UInt *fr)
{
   static HChar fn[FIELD], dir[FIELD], file[FIELD], line[32], obj[FIELD];
   static HChar path[2 * FIELD + 2];
   Bool saved = VG_(clo_xml);
   VG_(clo_xml) = True;
   const HChar *d = VG_(describe_IP)(ep, ip, iipc);
   VG_(clo_xml) = saved;

   if (!xml_field(d, "fn", fn, sizeof fn))
      VG_(strcpy)(fn, "???");
   Bool has_file = xml_field(d, "file", file, sizeof file);
   Bool has_dir = xml_field(d, "dir", dir, sizeof dir);
   UInt lineno = 0;
   if (has_file && xml_field(d, "line", line, sizeof line))
      lineno = (UInt)VG_(strtoll10)(line, NULL);
   if (has_file) {
      if (has_dir && dir[0] && file[0] != '/')
         VG_(snprintf)(path, sizeof path, "%s/%s", dir, file);
      else
         VG_(snprintf)(path, sizeof path, "%s", file);
   } else if (xml_field(d, "obj", obj, sizeof obj)) {
      VG_(snprintf)(path, sizeof path, "%s", obj);
   } else {
      path[0] = 0;
   }
   fr[0] = ml_str_intern(fn);
   fr[1] = ml_str_intern(path);
   fr[2] = lineno;
}

static void emit_loc(UInt id)
{
   const MlLoc *l = &locs[id];
   ml_rec_begin(ML_TAG_LOC);
   ml_rec_uv(l->ip);
   ml_rec_uv(l->flags);
   ml_rec_uv(l->nframes);
   for (UInt i = 0; i < 3 * l->nframes; i++)
      ml_rec_uv(l->frames[i]);
   ml_rec_end();
}

/* Direct-mapped cache in front of loc_map: deep recursive programs have
   many distinct stacks over few addresses, and this keeps their frame
   lookups in cache. */
#define LCACHE_SLOTS 16384
static struct { Addr ip; UInt loc; } lcache[LCACHE_SLOTS];

static UInt loc_for_ip_slow(Addr ip);

UInt ml_loc_for_ip(Addr ip)
{
   UWord h = (ip ^ (ip >> 14)) & (LCACHE_SLOTS - 1);
   if (lcache[h].ip == ip && lcache[h].loc)
      return lcache[h].loc;
   UInt loc = loc_for_ip_slow(ip);
   lcache[h].ip = ip;
   lcache[h].loc = loc;
   return loc;
}

static UInt loc_for_ip_slow(Addr ip)
{
   Bool is_new;
   UWord key = ip == ML_MAP_EMPTY ? 0 : ip;
   MlMapEnt *e = ml_map_insert(&loc_map, key, &is_new);
   if (!is_new)
      return (UInt)e->v1;

   UInt fr_buf[3 * 64];
   UInt n = ml_resolve_chain(ip, fr_buf, 64);
   DiEpoch ep = VG_(current_DiEpoch)();

   if (n_locs >= cap_locs) {
      cap_locs = cap_locs ? cap_locs * 2 : 1024;
      locs = VG_(realloc)("ml.loc.tab", locs, cap_locs * sizeof *locs);
   }
   UInt id = n_locs++;
   MlLoc *l = &locs[id];
   l->ip = ip;
   l->nframes = n;
   l->frames = VG_(malloc)("ml.loc.frames", 3 * n * sizeof(UInt));
   VG_(memcpy)(l->frames, fr_buf, 3 * n * sizeof(UInt));
   l->flags = 0;
   if (ml_addr_in_main_exe(ip))
      l->flags |= ML_LOC_MAIN_EXE;
   const HChar *outer = ml_str_get(fr_buf[3 * (n - 1)]);
   if (VG_(get_fnname_kind_from_IP)(ep, ip) == Vg_FnNameBelowMain ||
       VG_(strcmp)(outer, "(below main)") == 0)
      l->flags |= ML_LOC_BELOW_MAIN;
   /* The map may have grown during resolution (string interning does
      not touch it, but be safe): look the entry up again. */
   e = ml_map_find(&loc_map, key);
   e->v1 = id;
   emit_loc(id);
   return id;
}

UInt ml_resolve_chain(Addr ip, UInt *fr, UInt max)
{
   UInt n = 0;
   DiEpoch ep = VG_(current_DiEpoch)();
   InlIPCursor *iipc = VG_(new_IIPC)(ep, ip);
   do {
      resolve_frame(ep, ip, iipc, &fr[3 * n]);
      n++;
   } while (n < max && VG_(next_IIPC)(iipc));
   VG_(delete_IIPC)(iipc);
   return n;
}

const MlLoc *ml_loc_get(UInt id)
{
   tl_assert(id > 0 && id < n_locs);
   return &locs[id];
}

ULong ml_stack_n_locs(void) { return n_locs - 1; }

/*------------------------------------------------------------*/
/*--- Stack trie                                           ---*/
/*------------------------------------------------------------*/

/* Node id 0 is the root; node "cut" is the marker root of stacks that were
   cut at --depth (a STACK record with loc 0). */
static MlMap node_map;             /* (parent << 32 | loc) -> node id */
static UInt *node_parent, *node_loc;
static UInt  n_nodes = 1, cap_nodes;
static UInt  cut_node;

/* Each node remembers the last KID_HINTS children it was asked for, most
   recent first: a frame calls out from few places (a recursive tree
   build: its malloc and its two recursive calls, in turn), so the hints
   answer nearly every lookup from one cache line indexed by the parent,
   where a direct-mapped cache of (parent, loc) pairs lost to capacity on
   deep recursions (churn: 400 K nodes) and sent each miss on to
   node_map.  Two hints miss every time on that three-way cycle. */
#define KID_HINTS 4
typedef struct {
   UInt loc[KID_HINTS], kid[KID_HINTS];   /* kid 0: no hint */
} KidHint;
static KidHint *node_kids;           /* cap_nodes entries */

static UInt intern_node_slow(UInt parent, UInt loc);

static void grow_nodes(void)
{
   UInt old_cap = cap_nodes;
   cap_nodes = cap_nodes ? cap_nodes * 2 : 4096;
   node_parent = VG_(realloc)("ml.node.p", node_parent,
                              cap_nodes * sizeof(UInt));
   node_loc = VG_(realloc)("ml.node.l", node_loc, cap_nodes * sizeof(UInt));
   node_kids = VG_(realloc)("ml.node.k", node_kids,
                            cap_nodes * sizeof *node_kids);
   VG_(memset)(node_kids + old_cap, 0,
               (cap_nodes - old_cap) * sizeof *node_kids);
}

static UInt intern_node(UInt parent, UInt loc)
{
   KidHint *k = &node_kids[parent];
   if (k->kid[0] && k->loc[0] == loc)
      return k->kid[0];
   UInt i = 1, node = 0;
   for (; i < KID_HINTS; i++) {
      if (k->kid[i] && k->loc[i] == loc) {
         node = k->kid[i];
         break;
      }
   }
   if (!node) {
      node = intern_node_slow(parent, loc);
      k = &node_kids[parent];        /* the slow path may have grown it */
      i = KID_HINTS - 1;
   }
   for (; i > 0; i--) {              /* to the front */
      k->loc[i] = k->loc[i - 1];
      k->kid[i] = k->kid[i - 1];
   }
   k->loc[0] = loc;
   k->kid[0] = node;
   return node;
}

static UInt intern_node_slow(UInt parent, UInt loc)
{
   UWord key = ((UWord)parent << 32) | loc;
   Bool is_new;
   MlMapEnt *e = ml_map_insert(&node_map, key, &is_new);
   if (!is_new)
      return (UInt)e->v1;
   if (n_nodes >= cap_nodes)
      grow_nodes();
   UInt id = n_nodes++;
   node_parent[id] = parent;
   node_loc[id] = loc;
   e->v1 = id;
   ml_out_stack(parent, loc);
   return id;
}

ULong ml_stack_n_nodes(void) { return n_nodes - 1; }

/* Whole stacks are looked up by a 128-bit hash of their frame addresses
   (two independent 64-bit hashes: one is the map key, the other checked
   on a hit), so a stack seen before costs one hash over the frames and
   one map probe, whatever its depth; deep recursive programs with many
   distinct stacks would otherwise pay a trie step per frame.  The map
   holds one entry per distinct stack. */
static MlMap stack_map;               /* h1 -> v1 value, v2 h2 */
static ULong scache_hits, scache_misses;

void ml_stack_cache_stats(ULong *hits, ULong *misses)
{
   *hits = scache_hits;
   *misses = scache_misses;
}

/* Interns the stack f[0 .. n) (innermost first; the caller has dropped
   the frames from the first one below main outwards) under the cut
   marker when is_cut. */
static UInt intern_frames(const Addr *f, UInt n, Bool is_cut)
{
   UInt locbuf[MAX_DEPTH + 8];
   for (UInt i = 0; i < n; i++)
      locbuf[i] = ml_loc_for_ip(f[i]);
   UInt node = 0;
   if (is_cut) {
      if (!cut_node)
         cut_node = intern_node(0, 0);
      node = cut_node;
   }
   for (UInt i = n; i > 0; i--)
      node = intern_node(node, locbuf[i - 1]);
   return node;
}

/* How many raw frames to ask the unwinder for: enough for the deepest
   stack so far to reach its first frame below main, plus one.  Unwinding past
   main (start-up code, then garbage) costs as much as unwinding the
   program's own frames; when the guess is short, we unwind again in full. */
static UInt unwind_guess;

static inline Bool below_main(Addr ip)
{
   UInt id = ml_loc_for_ip(ip);      /* may move 'locs': call it first */
   return (locs[id].flags & ML_LOC_BELOW_MAIN) != 0;
}

/* The key of an unwound stack: two independent 64-bit hashes over its
   frames and over whether the unwinder stopped at our frame limit (then
   the limit too: more frames may have followed). */
static inline void stack_hash(const Addr *f, UInt n, UInt limited,
                              UWord *h1o, UWord *h2o)
{
   UWord h1 = 0x243f6a8885a308d3ULL ^ n ^ ((UWord)limited << 40);
   UWord h2 = 0x13198a2e03707344ULL + n + limited;
   for (UInt i = 0; i < n; i++) {
      h1 = (h1 ^ f[i]) * 0x9e3779b97f4a7c15ULL;
      h1 ^= h1 >> 29;
      h2 = (h2 + f[i]) * 0xc2b2ae3d27d4eb4fULL;
      h2 ^= h2 >> 31;
   }
   *h1o = h1 == ML_MAP_EMPTY ? 0 : h1;
   *h2o = h2;
}

/* Looks the key up; returns the entry's value (node | cut << 32 | frames << 40) or
   ~0 when absent, and the map entry to fill in *slot_out. */
static ULong stack_lookup(UWord h1, UWord h2, MlMapEnt **slot_out)
{
   for (UWord k = h1;; k++) {
      if (k == ML_MAP_EMPTY)
         k = 0;
      Bool is_new;
      MlMapEnt *e = ml_map_insert(&stack_map, k, &is_new);
      if (is_new) {
         e->v2 = h2;
         e->v1 = ~(UWord)0;         /* to be filled by the caller */
         *slot_out = e;
         return ~0ULL;
      }
      if (e->v2 == h2 && e->v1 == ~(UWord)0) {
         *slot_out = e;             /* known key, result still unknown */
         return ~0ULL;
      }
      if (e->v2 == h2) {
         *slot_out = NULL;
         return e->v1;
      }
   }
}


/* Unwinds and interns; the raw frames of the last unwind it made are left
   in ips/sps/fps, and *nraw_out says how many of them decide the result
   (through the first frame below main when there is one), for the
   verified cache below. */
static ULong capture_unwind(ThreadId tid, Addr *ips, Addr *sps, Addr *fps,
                            UInt *nraw_out, UInt *skip_out)
{
   UInt want = depth + 4;      /* allocator frames + one to detect a cut */
   UInt lim = unwind_guess ? unwind_guess : want;
   UInt nraw, skip, n, top;
   Bool found;
   if (lim > want)
      lim = want;

   /* Fast path: this exact unwind was seen before. */
   nraw = VG_(get_StackTrace)(tid, ips, lim, sps, fps, 0);
   *nraw_out = nraw;   /* refined below on the slow path */
   skip = 0;
   while (skip < nraw && in_preload(ips[skip]))
      skip++;
   UWord h1, h2;
   UInt limited = nraw == lim ? lim : 0;
   stack_hash(ips + skip, nraw - skip, limited, &h1, &h2);
   MlMapEnt *e;
   ULong val = stack_lookup(h1, h2, &e);
   if (val != ~0ULL) {
      scache_hits++;
      *nraw_out = (UInt)((val >> 40) & 0xffff);
      *skip_out = skip;
      return val;
   }
   scache_misses++;

   /* Slow path: find the first frame below main, unwinding in full if
      the guess was short, and intern the frames above it. */
   for (;;) {
      n = nraw - skip;
      top = n;
      found = False;
      for (UInt i = 1; i < n; i++)
         if (below_main(ips[skip + i])) {
            top = i;
            found = True;
            break;
         }
      if (found || nraw < lim || lim == want)
         break;
      lim = want;
      nraw = VG_(get_StackTrace)(tid, ips, lim, sps, fps, 0);
      *nraw_out = nraw;
      skip = 0;
      while (skip < nraw && in_preload(ips[skip]))
         skip++;
      /* The result belongs to the full unwind: key it by that.  The
         short unwind's entry stays unfilled (and is reused if that short
         unwind recurs). */
      e = NULL;
   }
   /* The guess only grows: a stack's key includes the limit when the
      unwinder stopped at it, and a guess that swung with the depth of
      the last stack made one stack show up under several keys (and
      unwound twice when short).  Unwinding a few frames past main on a
      shallow stack costs less, and the verified cache skips most
      unwinds anyway. */
   UInt need = found ? skip + top + 2 : nraw + 1;
   if (need > unwind_guess)
      unwind_guess = need;
   *nraw_out = found ? skip + top + 1 : nraw;
   *skip_out = skip;
   Bool is_cut = False;
   if (!found && n > depth) {
      top = depth;
      is_cut = True;
   }
   UInt node = top ? intern_frames(ips + skip, top, is_cut) : 0;
   /* node | cut << 32 | frames that decide the result << 40 */
   val = (ULong)node | ((ULong)is_cut << 32) |
         ((ULong)(found ? skip + top + 1 : nraw) << 40);
   if (!e) {
      limited = nraw == lim ? lim : 0;
      stack_hash(ips + skip, nraw - skip, limited, &h1, &h2);
      (void)stack_lookup(h1, h2, &e);
   }
   if (e)
      e->v1 = val;
   return val;
}

/* Verified stack cache.  Unwinding (CFI lookups per frame) is the main
   cost of an event, and most events repeat a stack seen moments ago from
   a function that has not returned since.  The unwinder's result is a
   function of the innermost frame's IP, SP and BP and of the memory it
   reads: for each frame, the return address at CFA-8 and, with frame
   pointers, the saved BP at CFA-16.  So a cached unwind is reused when
   the thread's IP, SP and BP equal its first frame's and every outer
   frame's return-address slot (and saved-BP slot where the frame keeps
   one there) still holds what it held: then the unwinder would find the
   same frames.  A hit costs a few reads of the client's stack instead of
   a call to the unwinder.  The cache is 4-way set-associative on (IP,
   SP, thread): an interpreter reaches the allocator at one SP from
   several call chains in turn (lua: 1.6 M hits and 2.7 M misses with one
   way, 3.5 M and 0.75 M with four). */
#define VS_SETS     256
#define VS_WAYS     4
#define VS_SLOTS    (VS_SETS * VS_WAYS)
#define VS_FRAMES   (MAX_DEPTH + 8)
typedef struct {
   ThreadId tid;                      /* VG_INVALID_THREADID: empty */
   UInt     n;
   ULong    val;                      /* node | cut << 32 */
   Addr     *ips, *sps, *fps;         /* vs_frames each (vs_init) */
   Bool     *bp_saved;                /* fps[i] was at sps[i] - 16 */
} VStack;
static UInt vs_frames;                /* depth + 8: an unwind has at most
                                         depth + 4 frames */

static void vs_init(VStack *v)
{
   UChar *m = VG_(malloc)("ml.stack.frames",
                          vs_frames * (3 * sizeof(Addr) + sizeof(Bool)));
   v->tid = VG_INVALID_THREADID;
   v->n = 0;
   v->ips = (Addr *)m;
   v->sps = v->ips + vs_frames;
   v->fps = v->sps + vs_frames;
   v->bp_saved = (Bool *)(v->fps + vs_frames);
}
static VStack *vstacks;
static ULong vs_hits, vs_misses;
static UChar vs_victim[VS_SETS];       /* round-robin replacement */

static inline Bool slot_ok(Addr a, Addr lo, Addr hi)
{
   return a >= lo && a + sizeof(Addr) <= hi;
}

/* True if frames [from, v->n) of v still have their return address (and,
   where they keep one at CFA-16, their saved BP) on the stack [lo, hi). */
static Bool frames_intact_from(const VStack *v, UInt from, Addr lo, Addr hi)
{
   for (UInt i = from; i < v->n; i++) {
      Addr ra = v->sps[i] - sizeof(Addr);
      if (!slot_ok(ra, lo, hi) || *(Addr *)ra != v->ips[i] + 1)
         return False;
      if (v->bp_saved[i]) {
         Addr bp = v->sps[i] - 2 * sizeof(Addr);
         if (!slot_ok(bp, lo, hi) || *(Addr *)bp != v->fps[i])
            return False;
      }
   }
   return True;
}

/* Every outer frame of v (frame 0 is checked by the caller). */
static inline Bool frames_intact(const VStack *v, Addr lo, Addr hi)
{
   return frames_intact_from(v, 1, lo, hi);
}

/* Splicing.  A verified-cache miss usually shares its outer frames with
   the stack captured just before (a recursive tree build allocates at a
   new depth or in a sibling subtree each time, so every stack differs
   but only in its innermost frames).  The last captured stack is kept
   with the trie node of each of its frames.  On a miss, a short unwind
   of a few frames is made first; if one of its outer frames is a frame
   of the last stack (same IP, SP and BP) whose outer frames are intact
   (the test of the verified cache), the unwinder would continue exactly
   as it did then: the new stack is the short unwind's inner frames on top
   of that frame's trie node, with no full unwind and no whole-stack
   lookup. */
#define SPLICE_FRAMES 6

typedef struct {
   VStack v;                          /* v.tid VG_INVALID_THREADID: none */
   UInt   lo, hi;                     /* frames [lo, hi) are in the trie */
   UInt   node[VS_FRAMES];            /* frames k .. hi-1, k in [lo, hi) */
} LastStack;
static LastStack *last;
static ULong splice_hits;

/* *dst = *src, copying only the frames in use (plain loops: the core's
   VG_(memcpy) goes byte by byte on short copies). */
static void vs_copy(VStack *dst, const VStack *src)
{
   dst->tid = src->tid;
   dst->n = src->n;
   dst->val = src->val;
   for (UInt i = 0; i < src->n; i++) {
      dst->ips[i] = src->ips[i];
      dst->sps[i] = src->sps[i];
      dst->fps[i] = src->fps[i];
      dst->bp_saved[i] = src->bp_saved[i];
   }
}

/* Moves frames [k, k + len) of v (and their trie nodes) to [i, ...). */
static void move_frames(VStack *v, UInt *node, UInt i, UInt k, UInt len)
{
   if (i == k)
      return;
   if (i < k) {
      for (UInt j = 0; j < len; j++) {
         v->ips[i + j] = v->ips[k + j];
         v->sps[i + j] = v->sps[k + j];
         v->fps[i + j] = v->fps[k + j];
         v->bp_saved[i + j] = v->bp_saved[k + j];
         node[i + j] = node[k + j];
      }
   } else {
      for (UInt j = len; j > 0; j--) {
         v->ips[i + j - 1] = v->ips[k + j - 1];
         v->sps[i + j - 1] = v->sps[k + j - 1];
         v->fps[i + j - 1] = v->fps[k + j - 1];
         v->bp_saved[i + j - 1] = v->bp_saved[k + j - 1];
         node[i + j - 1] = node[k + j - 1];
      }
   }
}

static void fill_bp_saved(VStack *v, UInt from, UInt to, Addr lo, Addr hi)
{
   for (UInt i = from; i < to; i++) {
      Addr bp = v->sps[i] - 2 * sizeof(Addr);
      v->bp_saved[i] = i > 0 && slot_ok(bp, lo, hi) && *(Addr *)bp == v->fps[i];
   }
}

/* Makes v (a full unwind, skip preload frames, result val) the last
   stack, or forgets the last stack when v cannot be spliced onto. */
static void set_last(const VStack *v, UInt skip)
{
   last->v.tid = VG_INVALID_THREADID;
   if (v->tid == VG_INVALID_THREADID || ((v->val >> 32) & 1))
      return;                         /* not verified, or cut */
   UInt node = (UInt)v->val, k = skip;
   for (UInt nd = node; nd; nd = node_parent[nd]) {
      if (k >= v->n)
         return;                      /* cannot happen: be safe */
      last->node[k++] = nd;
   }
   vs_copy(&last->v, v);
   last->lo = skip;
   last->hi = k;
}

static Bool try_splice(ThreadId tid, Addr ip0, Addr sp0, Addr bp0,
                       Addr lo, Addr hi, ULong *val_out)
{
   LastStack *L = last;
   if (L->v.tid != tid)
      return False;
   Addr ips[SPLICE_FRAMES], sps[SPLICE_FRAMES], fps[SPLICE_FRAMES];
   UInt m = VG_(get_StackTrace)(tid, ips, SPLICE_FRAMES, sps, fps, 0);
   if (m == 0 || ips[0] != ip0 || sps[0] != sp0 || fps[0] != bp0)
      return False;
   UInt skip = 0;
   while (skip < m && in_preload(ips[skip]))
      skip++;
   /* Both stacks' SPs grow outwards: one scan of the last stack serves
      every frame of the short unwind. */
   UInt k = L->lo > 0 ? L->lo : 1;
   for (UInt i = skip + 1; i < m; i++) {
      while (k < L->hi && L->v.sps[k] < sps[i])
         k++;
      if (k >= L->hi)
         return False;
      if (L->v.sps[k] != sps[i] || L->v.ips[k] != ips[i] ||
          L->v.fps[k] != fps[i])
         continue;
      /* Frames i.. of the new stack are frames k.. of the last one.  A
         full unwind ends the stack before its first frame below main
         other than the innermost: none may be among the new inner
         frames, nor be frame k when k was the last stack's innermost. */
      UInt inner = i - skip, outer = L->hi - k;
      if (inner + outer > depth || i + (L->v.n - k) >= depth + 4 ||
          (k == L->lo && below_main(L->v.ips[k])) ||
          !frames_intact_from(&L->v, k + 1, lo, hi))
         return False;
      /* Locations are resolved in the order a full unwind resolves them
         (the outer frames while looking for main, then the innermost),
         so that both write the same LOC records. */
      UInt inner_locs[SPLICE_FRAMES];
      for (UInt j = skip + 1; j < i; j++) {
         inner_locs[j] = ml_loc_for_ip(ips[j]);
         if (locs[inner_locs[j]].flags & ML_LOC_BELOW_MAIN)
            return False;
      }
      inner_locs[skip] = ml_loc_for_ip(ips[skip]);
      UInt node = L->node[k];
      UInt nodes[SPLICE_FRAMES];
      for (UInt j = i; j > skip; j--) {
         node = intern_node(node, inner_locs[j - 1]);
         nodes[j - 1] = node;
      }
      /* The new last stack: the short unwind's frames [0, i), then the
         last stack's frames from k on. */
      UInt n = i + (L->v.n - k);
      /* node[] is meaningful for the trie frames only; moving the rest
         along is harmless. */
      move_frames(&L->v, L->node, i, k, L->v.n - k);
      for (UInt j = 0; j < i; j++) {
         L->v.ips[j] = ips[j];
         L->v.sps[j] = sps[j];
         L->v.fps[j] = fps[j];
         if (j >= skip)
            L->node[j] = nodes[j];
      }
      fill_bp_saved(&L->v, 0, i, lo, hi);
      L->v.n = n;
      L->v.val = node;
      L->lo = skip;
      L->hi = i + outer;
      splice_hits++;
      *val_out = node;
      return True;
   }
   return False;
}

UInt ml_stack_capture(ThreadId tid, Bool *cut)
{
   Addr ip0 = VG_(get_IP)(tid), sp0 = VG_(get_SP)(tid), bp0 = 0;
   VG_(get_shadow_regs_area)(tid, (UChar *)&bp0, 0,
                             offsetof(VexGuestAMD64State, guest_RBP),
                             sizeof bp0);
   Addr lo = sp0, hi = VG_(thread_get_stack_max)(tid) + 1;
   UWord h = ml_hash_word(ip0 ^ (sp0 << 7) ^ ((UWord)tid << 56));
   UWord set = h & (VS_SETS - 1);
   VStack *ways = &vstacks[set * VS_WAYS];
   for (UInt w = 0; w < VS_WAYS; w++) {
      VStack *c = &ways[w];
      if (c->tid == tid && c->n > 0 && c->ips[0] == ip0 &&
          c->sps[0] == sp0 && c->fps[0] == bp0 && frames_intact(c, lo, hi)) {
         vs_hits++;
         *cut = (Bool)((c->val >> 32) & 1);
         return (UInt)c->val;
      }
   }
   vs_misses++;
   VStack *v = &ways[vs_victim[set]++ % VS_WAYS];
   ULong val;
   if (try_splice(tid, ip0, sp0, bp0, lo, hi, &val)) {
      vs_copy(v, &last->v);           /* verified by construction */
      *cut = False;
      return (UInt)val;
   }
   Addr ips[VS_FRAMES], sps[VS_FRAMES], fps[VS_FRAMES];
   UInt nraw = 0, skip = 0;
   val = capture_unwind(tid, ips, sps, fps, &nraw, &skip);
   /* Remember it if the unwind started where we look and every return
      address is where frames_intact will look for it. */
   v->tid = tid;
   v->n = nraw;
   v->val = val;
   for (UInt i = 0; i < nraw; i++) {
      v->ips[i] = ips[i];
      v->sps[i] = sps[i];
      v->fps[i] = fps[i];
   }
   fill_bp_saved(v, 0, nraw, lo, hi);
   if (nraw == 0 || ips[0] != ip0 || sps[0] != sp0 || fps[0] != bp0 ||
       !frames_intact(v, lo, hi))
      v->tid = VG_INVALID_THREADID;
   set_last(v, skip);
   *cut = (Bool)((val >> 32) & 1);
   return (UInt)val;
}

UInt ml_stack_with_top(UInt stack, Addr ip_first, Addr ip)
{
   if (stack == 0 || ip == ip_first || stack == cut_node ||
       in_preload(ip_first))
      return stack;
   UInt loc = ml_loc_for_ip(ip);
   if (loc == node_loc[stack])
      return stack;
   return intern_node(node_parent[stack], loc);
}

/* Appends a read of guest state [offset, offset+size) to di's effects
   (entries past nFxState are zero: ml_stack_dirty_reads_sp_bp). */
static void dirty_reads(IRDirty *di, Int offset, Int size)
{
   tl_assert(di->nFxState < VEX_N_FXSTATE);
   __typeof__(di->fxState[0]) *fx = &di->fxState[di->nFxState++];
   fx->fx = Ifx_Read;
   fx->offset = offset;
   fx->size = size;
}

void ml_stack_dirty_reads_sp_bp(IRDirty *di, const VexGuestLayout *layout)
{
   di->nFxState = 0;
   VG_(memset)(&di->fxState, 0, sizeof(di->fxState));
   dirty_reads(di, layout->offset_SP, layout->sizeof_SP);
   dirty_reads(di, offsetof(VexGuestAMD64State, guest_RBP), 8);
}

void ml_stack_dirty_reads(IRDirty *di, const VexGuestLayout *layout)
{
   ml_stack_dirty_reads_sp_bp(di, layout);
   dirty_reads(di, layout->offset_IP, layout->sizeof_IP);
}

void ml_stack_vcache_stats(ULong *hits, ULong *misses, ULong *spliced)
{
   *hits = vs_hits;
   *misses = vs_misses;
   *spliced = splice_hits;
}

/*------------------------------------------------------------*/
/*--- Fork: write the tables again                         ---*/
/*------------------------------------------------------------*/

void ml_stack_reemit_all(void)
{
   for (UInt i = 1; i < n_strs; i++)
      emit_string(i);
   for (UInt i = 1; i < n_locs; i++)
      emit_loc(i);
   for (UInt i = 1; i < n_nodes; i++)
      ml_out_stack(node_parent[i], node_loc[i]);
}

void ml_stack_init(UInt d)
{
   tl_assert(d >= 1 && d <= MAX_DEPTH);
   depth = d;
   ml_map_init(&str_map, "ml.str.map", 12);
   ml_map_init(&loc_map, "ml.loc.map", 12);
   ml_map_init(&node_map, "ml.node.map", 14);
   grow_nodes();                     /* the root's child hints */
   ml_map_init(&stack_map, "ml.stack.map", 12);
   vs_frames = depth + 8;
   vstacks = VG_(calloc)("ml.stack.verified", VS_SLOTS, sizeof(VStack));
   for (UInt i = 0; i < VS_SLOTS; i++)
      vs_init(&vstacks[i]);
   last = VG_(calloc)("ml.stack.last", 1, sizeof *last);
   vs_init(&last->v);
}
