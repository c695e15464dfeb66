/* ml_rss.c -- the simulated resident set (ml_rss.h).

   Page map: one byte per page of the 128 GiB Valgrind gives the client
   on amd64 Linux (2^25 pages, a 32 MiB array in the tool's .bss, backed
   by the kernel only where pages are used), so the inline check is two
   shifts and one load at a 32-bit displacement.  Pages above
   (the vsyscall page) are not tracked.  Byte values:
     0            not resident
     PG_READ      anonymous page read but never written (the kernel maps
                  the shared zero page: not resident, and loads of it need
                  no further check)
     PG_HZERO     the same, in a block mapped by the huge zero page
                  (transparent huge pages, below)
     PG_RES|kind  resident, with its kind (ML_PAGE_*); with PG_PIN
                  when translations rely on it staying resident (below)
     PG_RES|PG_HEAPV  a page of Valgrind's client arena seen once, with
                  --rss-heap=glibc: not counted, the simulated heap's
                  pages are (below, "The heap as glibc lays it out")
   Inline check, per store: helper if !(b & PG_RES); per load: helper if
   b == 0.  Accesses off one base register share one lookup of the pages
   they can touch (and, outside line-counted code, one helper call), and
   stack reads need none (see "Where each check goes" below).  The helper
   runs once per page and kind of access, takes the stack (from SP, which
   the translation keeps exact at memory accesses, BP, which it keeps
   exact at the checks (plan_frame_pointer), and the instruction's
   address, which it is passed), and writes a PAGE record: one page, or
   on a read of a file
   mapping the pages the kernel's fault-around maps with it.  From the
   program's exit_group on, nothing changes (ml_rss_freeze). */
#include "pub_tool_basics.h"
#include "pub_tool_libcbase.h"
#include "pub_tool_libcassert.h"
#include "pub_tool_libcfile.h"
#include "pub_tool_libcprint.h"
#include "pub_tool_mallocfree.h"
#include "pub_tool_aspacemgr.h"
#include "pub_tool_libcproc.h"
#include "pub_tool_machine.h"
#include "pub_tool_threadstate.h"
#include "pub_tool_tooliface.h"
#include "pub_tool_vki.h"
#include "libvex_guest_amd64.h"
#include "ml_trace.h"
#include "ml_util.h"
#include "ml_out.h"
#include "ml_stack.h"
#include "ml_rss.h"
#include "ml_ir.h"
#include "ml_heap.h"
#include "ml_gheap.h"

/* Exported by the core (pub_core_threadstate.h), not in pub_tool. */
extern Bool VG_(is_valid_tid)(ThreadId tid);

#define PG_SHIFT   12
#define PG_SIZE    (1UL << PG_SHIFT)
#define PG_BITS    25                   /* pages tracked: 2^25 */
#define MAX_PAGE   (1ULL << PG_BITS)    /* first page past 128 GiB */

#define PG_READ    0x01
#define PG_HZERO   0x02
#define PG_RES     0x10
#define PG_PIN     0x80
#define PG_HEAPV   ML_PAGE_KINDS        /* a kind that is never counted */

ULong ml_rss_cur;

static Bool   rss_on;
/* In the tool's own .bss, which the kernel maps below 2 GiB (the tool
   is linked at valt_load_address) and backs only where written: so the
   inline check addresses it with a 32-bit displacement, where a map
   allocated from Valgrind's own memory (above 64 GiB) costs a 10-byte
   movabs and an add in every check (elsewhere, the check would still
   work, with that movabs). */
static UChar pmap[MAX_PAGE] __attribute__((aligned(4096)));
/* Non-zero bytes per 1 MiB chunk of the map, and a bit per chunk that
   has any: lets release and the sweep skip empty address space. */
#define CHUNK_SHIFT 8                   /* 256 pages */
#define N_CHUNKS    (MAX_PAGE >> CHUNK_SHIFT)
static UShort *ccnt;
static ULong  *cbits;
static ULong  n_pages[ML_PAGE_KINDS];
static ULong  peak;
static Bool   startup_done;
static Bool   frozen;

Bool ml_rss_enabled(void) { return rss_on; }
Addr ml_rss_map_limit(void) { return rss_on ? (Addr)MAX_PAGE << PG_SHIFT : 0; }
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

/* Fault-around.  A read fault on a file mapping (a load, or a fetch of
   code) makes the kernel map, besides the faulting page, the pages around
   it that are in the page cache: fault_around_bytes, 64 KiB by default,
   16 pages starting at the faulting page's 16-page-aligned address, or
   at the mapping's start if that is later, and ending at the mapping's
   end, at a 2 MiB page-table boundary or at the file's last page,
   whichever comes first (mm/memory.c, do_fault_around and
   filemap_map_pages).  Write faults (copy-on-write, shared writes) map
   one page.  The model takes the whole file to be in the page cache, as
   it is for a program, its libraries and any file it has just read or
   written; pages already resident are not counted again. */
#define FA_PAGES 16
#define PT_PAGES 512

/* Sizes of the files the client mapped, by device and inode, as they
   were at the mmap: the size of a file whose name no longer leads to it
   (unlinked, or replaced).  A small ring: the most recent mappings. */
#define N_FSIZES 64
static struct { ULong dev, ino; Long size; } fsizes[N_FSIZES];
static UInt fsizes_next;

static void note_file_size(const struct vg_stat *st)
{
   UInt i;
   for (i = 0; i < N_FSIZES; i++)
      if (fsizes[i].ino == st->ino && fsizes[i].dev == st->dev)
         break;
   if (i == N_FSIZES)
      i = fsizes_next++ % N_FSIZES;
   fsizes[i].dev = st->dev;
   fsizes[i].ino = st->ino;
   fsizes[i].size = st->size;
}

/* Pages of the file behind seg, rounded up: its size now if its name
   still leads to it, else its size when it was mapped; ~0 if unknown. */
static ULong file_pages(NSegment const *seg)
{
   const HChar *name = VG_(am_get_filename)(seg);
   struct vg_stat st;
   Long size = -1;
   if (name && !sr_isError(VG_(stat)(name, &st)) &&
       st.ino == seg->ino && st.dev == seg->dev) {
      size = st.size;
   } else {
      for (UInt i = 0; i < N_FSIZES; i++)
         if (fsizes[i].ino == seg->ino && fsizes[i].dev == seg->dev &&
             fsizes[i].ino != 0) {
            size = fsizes[i].size;
            break;
         }
   }
   return size < 0 ? ~0ULL : ((ULong)size + PG_SIZE - 1) >> PG_SHIFT;
}

/* Makes page p of file mapping seg resident together with the pages the
   kernel maps around a read fault of it, as kind; returns how many pages
   became resident. */
static Long map_around(ULong p, NSegment const *seg, UInt kind)
{
   ULong s = seg->start >> PG_SHIFT, e = (seg->end >> PG_SHIFT) + 1;
   ULong from = p & ~(ULong)(FA_PAGES - 1);
   if (from < s)
      from = s;
   ULong to = from + FA_PAGES;
   if (to > (p | (PT_PAGES - 1)) + 1)
      to = (p | (PT_PAGES - 1)) + 1;
   if (to > e)
      to = e;
   ULong fpages = file_pages(seg), first = (ULong)seg->offset >> PG_SHIFT;
   if (fpages != ~0ULL && first + (to - s) > fpages)
      to = fpages > first + (p - s) ? s + (fpages - first) : p + 1;
   if (to > MAX_PAGE)
      to = MAX_PAGE;
   Long n = 0;
   for (ULong q = from; q < to; q++) {
      if (!(pmap[q] & PG_RES)) {
         set_page(q, PG_RES | kind);
         n++;
      }
   }
   return n;
}

/* n pages of kind just made resident: counted, and written as a PAGE
   record charged to tid's stack (taken once per caller: *stack,
   *have_stack). */
static void charge(UInt kind, Long n, ThreadId tid, UInt *stack,
                   Bool *have_stack)
{
   count(kind, n);
   if (!*have_stack) {
      *stack = stack_of(tid);
      *have_stack = True;
   }
   ml_out_page(tid, *stack, kind, n);
}

/* Makes page resident as kind -- with, on a read fault of a file mapping
   (around), the pages the kernel maps around it -- and writes the PAGE
   record, charged to tid's stack (taken once per caller: *stack,
   *have_stack). */
static void page_in(ULong page, NSegment const *seg, UInt kind, Bool around,
                    ThreadId tid, UInt *stack, Bool *have_stack)
{
   Long n = 1;
   if (around)
      n = map_around(page, seg, kind);
   else
      set_page(page, PG_RES | kind);
   charge(kind, n, tid, stack, have_stack);
}

/* Address ranges the kernel treats apart, which Valgrind's segment table
   does not record, kept here as the mmap, munmap, mremap and madvise
   calls leave them: few, unordered, [lo, hi) page-aligned, adjacent ones
   merged, looked up only at a page's first access.
   - Shared anonymous mappings (MAP_SHARED | MAP_ANONYMOUS): the kernel's
     shmem, where a read of a page never written allocates it as a write
     does (private anonymous memory maps the zero page).
   - Shared file mappings: mlock faults them in for reading, where it
     writes a private writable mapping's pages (copies of its own).
   - Mappings of /dev/zero: anonymous memory, which the kernel makes of
     them at the mmap (drivers/char/mem.c: mmap_zero; a shared one is
     also in shared_anon), where Valgrind records a file mapping.
   - For transparent huge pages (below): ranges given madvise
     (MADV_HUGEPAGE), ranges that may not have them (MADV_NOHUGEPAGE,
     MAP_STACK), and the blocks glibc would have mapped. */
typedef struct {
   struct { Addr lo, hi; } *r;
   UInt n, cap;
   const HChar *cc;
} Ranges;
static Ranges shared_anon = { .cc = "ml.rss.shared" };
static Ranges shared_file = { .cc = "ml.rss.sharedf" };
static Ranges thp_advised = { .cc = "ml.rss.thp" };
static Ranges thp_never = { .cc = "ml.rss.nothp" };
static Ranges g_blocks = { .cc = "ml.rss.gblocks" };
static Ranges dev_zero = { .cc = "ml.rss.zero" };
/* - Private file mappings the program has written a page of (a
     copy-on-write fault): the whole mapping, which the kernel copies into
     a forked child (see "What a forked child starts with"). */
static Ranges cow_written = { .cc = "ml.rss.cow" };
/* What a mapping put over them, a munmap or an mremap changes. */
static Ranges *const all_ranges[] = {
   &shared_anon, &shared_file, &thp_advised, &thp_never, &g_blocks,
   &dev_zero, &cow_written
};
#define N_RANGES (sizeof all_ranges / sizeof all_ranges[0])

static void ranges_push(Ranges *s, Addr lo, Addr hi)
{
   if (s->n == s->cap) {
      s->cap = s->cap ? 2 * s->cap : 8;
      s->r = VG_(realloc)(s->cc, s->r, s->cap * sizeof *s->r);
   }
   s->r[s->n].lo = lo;
   s->r[s->n].hi = hi;
   s->n++;
}

/* Forgets [lo, hi): what is left of a range cut in the middle is two. */
static void ranges_remove(Ranges *s, Addr lo, Addr hi)
{
   for (UInt i = 0; i < s->n; ) {
      Addr rlo = s->r[i].lo, rhi = s->r[i].hi;
      if (rhi <= lo || rlo >= hi) {
         i++;
         continue;
      }
      s->r[i] = s->r[--s->n];
      if (rlo < lo)
         ranges_push(s, rlo, lo);
      if (rhi > hi)
         ranges_push(s, hi, rhi);
   }
}

static void ranges_add(Ranges *s, Addr lo, Addr hi)
{
   if (hi <= lo)
      return;
   ranges_remove(s, lo, hi);
   for (UInt i = 0; i < s->n; ) {             /* merge the neighbours */
      if (s->r[i].hi == lo || s->r[i].lo == hi) {
         if (s->r[i].lo < lo)
            lo = s->r[i].lo;
         if (s->r[i].hi > hi)
            hi = s->r[i].hi;
         s->r[i] = s->r[--s->n];
      } else {
         i++;
      }
   }
   ranges_push(s, lo, hi);
}

/* Whether one range holds all of [lo, hi). */
static Bool ranges_cover(const Ranges *s, Addr lo, Addr hi)
{
   for (UInt i = 0; i < s->n; i++)
      if (lo >= s->r[i].lo && hi <= s->r[i].hi)
         return True;
   return False;
}

/* Whether a range holds any of [lo, hi). */
static Bool ranges_meet(const Ranges *s, Addr lo, Addr hi)
{
   for (UInt i = 0; i < s->n; i++)
      if (lo < s->r[i].hi && hi > s->r[i].lo)
         return True;
   return False;
}

/* Whether one range holds address a (no search while the set is empty). */
static inline Bool ranges_has(const Ranges *s, Addr a)
{
   return s->n && ranges_cover(s, a, a + 1);
}

/* mremap moved [from, from+len) to to. */
static void ranges_move(Ranges *s, Addr from, Addr to, SizeT len)
{
   UInt n = s->n, m = 0;
   if (n == 0)
      return;
   Addr *moved = VG_(malloc)(s->cc, 2 * n * sizeof *moved);
   for (UInt i = 0; i < n; i++) {
      Addr lo = s->r[i].lo > from ? s->r[i].lo : from;
      Addr hi = s->r[i].hi < from + len ? s->r[i].hi : from + len;
      if (lo < hi) {
         moved[m++] = lo;
         moved[m++] = hi;
      }
   }
   ranges_remove(s, from, from + len);
   for (UInt k = 0; k < m; k += 2)
      ranges_add(s, to + (moved[k] - from), to + (moved[k + 1] - from));
   VG_(free)(moved);
}

/* Transparent huge pages.  The system's setting is read at start-up:
   /sys/kernel/mm/transparent_hugepage/enabled, unless its
   hugepages-2048kB/enabled names a setting of its own (not "inherit").
   With "madvise", ranges given madvise(MADV_HUGEPAGE) have huge pages;
   with "always", also every other private anonymous mapping but those
   given MADV_NOHUGEPAGE and, from Linux 6.7, those mapped with
   MAP_STACK (thread stacks: mm/mmap.c, calc_vm_flag_bits).  The first
   fault in an empty, 2 MiB-aligned block of such memory, the block
   wholly inside the mapping, maps a huge page: a write makes all 512
   pages resident at once.  A read maps the huge zero page (or, with
   use_zero_page 0, a huge page as a write would); a later write there
   maps a huge page in its place since Linux 6.12 (do_huge_zero_wp_pmd),
   a small page before.  Any fault in a block that already has a page
   gets a small page.  (mm/memory.c: __handle_mm_fault, create_huge_pmd;
   mm/huge_memory.c: do_huge_pmd_anonymous_page, do_huge_pmd_wp_page.)

   Where the blocks lie.  From Linux 6.7 the kernel places an anonymous
   private mapping whose length is a multiple of 2 MiB, asked for without
   an address, on a 2 MiB boundary (mm/mmap.c: __get_unmapped_area), so
   all of it can be huge pages; Valgrind would place it anywhere.  So
   memline's preload places such mappings as the kernel would
   (vg-tool/preload.c, asking ml_rss_place_aligned), and the blocks
   are counted at the program's own addresses, which it may have aligned
   itself.

   The heap.  glibc's heap grows by brk a little at a time: when a fault
   comes in a new 2 MiB block, the heap rarely reaches over all of it, and
   after a small page the block has a page table; so memline gives no huge
   pages to Valgrind's client arena (the superblocks holding the program's
   blocks) but inside the blocks that glibc would have mapped (g_blocks,
   kept with "always" only), which are mappings of their own natively.
   khugepaged, which later merges small pages into huge ones in the
   background, is not followed. */
#define THP_PAGES 512
enum { THP_NEVER, THP_MADVISE, THP_ALWAYS };
static UInt thp_mode;           /* the mode in effect for this process */
static UInt thp_sys_mode;       /* the system's (sysfs) */
/* prctl(PR_SET_THP_DISABLE): none, THP off, or off but where advised
   (PR_THP_DISABLE_EXCEPT_ADVISED, Linux 6.18) */
enum { THP_PROC_ON, THP_PROC_OFF, THP_PROC_ADVISED };
static UInt thp_proc;
static Bool thp_zero_page = True;
static Bool thp_zero_wp;       /* a write to the huge zero page: a THP */
static Bool thp_place;         /* 2 MiB-multiple mappings land aligned,
                                  MAP_STACK has no THP (Linux 6.7) */

/* Reads the first bytes of a sysfs file into buf; False if it cannot. */
static Bool read_small(const HChar *path, HChar *buf, Int size)
{
   SysRes r = VG_(open)(path, VKI_O_RDONLY, 0);
   if (sr_isError(r))
      return False;
   Int fd = (Int)sr_Res(r);
   Int n = VG_(read)(fd, buf, size - 1);
   VG_(close)(fd);
   if (n <= 0)
      return False;
   buf[n] = 0;
   return True;
}

/* The setting a THP "enabled" file selects; *inherit when it selects
   "inherit".  False if there is none. */
static Bool thp_setting(const HChar *path, UInt *mode, Bool *inherit)
{
   HChar buf[128];
   if (!read_small(path, buf, sizeof buf))
      return False;
   *inherit = VG_(strstr)(buf, "[inherit]") != NULL;
   *mode = VG_(strstr)(buf, "[always]") ? THP_ALWAYS
         : VG_(strstr)(buf, "[madvise]") ? THP_MADVISE : THP_NEVER;
   return True;
}

static void thp_effective(void)
{
   thp_mode = thp_proc == THP_PROC_OFF ? THP_NEVER
            : thp_proc == THP_PROC_ADVISED && thp_sys_mode == THP_ALWAYS
            ? THP_MADVISE : thp_sys_mode;
}

void ml_rss_thp_disable(UWord disable, UWord flags)
{
   thp_proc = !disable ? THP_PROC_ON
            : (flags & 2) ? THP_PROC_ADVISED : THP_PROC_OFF;
   thp_effective();
}

static void thp_init(void)
{
   HChar buf[128];
   UInt mode;
   Bool inherit = True;
   if (thp_setting("/sys/kernel/mm/transparent_hugepage/hugepages-2048kB/"
                   "enabled", &mode, &inherit) && !inherit)
      thp_sys_mode = mode;
   else if (thp_setting("/sys/kernel/mm/transparent_hugepage/enabled",
                        &mode, &inherit))
      thp_sys_mode = mode;
   /* THP disabled for the process by a parent (PR_SET_THP_DISABLE is
      inherited across fork and execve): "THP_enabled: 0" */
   HChar st[4096];
   if (read_small("/proc/self/status", st, sizeof st)) {
      const HChar *t = VG_(strstr)(st, "THP_enabled:");
      if (t) {
         t += 12;
         while (*t == ' ' || *t == '\t')
            t++;
         if (*t == '0')
            thp_proc = THP_PROC_OFF;
      }
   }
   thp_effective();
   if (read_small("/sys/kernel/mm/transparent_hugepage/use_zero_page", buf,
                  sizeof buf))
      thp_zero_page = buf[0] != '0';
   if (read_small("/proc/sys/kernel/osrelease", buf, sizeof buf)) {
      const HChar *p = buf;
      Long major = VG_(strtoll10)(p, (HChar **)&p), minor = 0;
      if (*p == '.')
         minor = VG_(strtoll10)(p + 1, NULL);
      thp_zero_wp = major > 6 || (major == 6 && minor >= 12);
      thp_place = major > 6 || (major == 6 && minor >= 7);
   }
}

Bool ml_rss_place_aligned(void)
{
   return rss_on && thp_place;
}

/* Whether a fault may map a huge page anywhere (else no lookups). */
static inline Bool thp_possible(void)
{
   return thp_mode == THP_ALWAYS ||
          (thp_mode == THP_MADVISE && thp_advised.n);
}

/* The first page of the empty huge-page block that a fault on page
   (private anonymous, in seg) would fill, or ~0ULL if it gets a small
   page. */
static ULong thp_block(ULong page, NSegment const *seg)
{
   if (!thp_possible())
      return ~0ULL;
   ULong first = page & ~(ULong)(THP_PAGES - 1), end = first + THP_PAGES;
   Addr lo = first << PG_SHIFT, hi = end << PG_SHIFT;
   if (end > MAX_PAGE || lo < seg->start || hi - 1 > seg->end)
      return ~0ULL;
   /* empty, or (a write, on kernels that replace it) all huge zero page */
   UChar want = pmap[page] == PG_HZERO && thp_zero_wp ? PG_HZERO : 0;
   for (ULong q = first; q < end; q++)
      if (pmap[q] != want)
         return ~0ULL;
   if (ranges_has(&shared_anon, lo))
      return ~0ULL;
   if (!ranges_cover(&thp_advised, lo, hi) &&
       (thp_mode != THP_ALWAYS || ranges_meet(&thp_never, lo, hi) ||
        (seg->isCH && !ranges_cover(&g_blocks, lo, hi))))
      return ~0ULL;
   return first;
}

/* Whether an access would change page p's byte: not resident (a store),
   never seen (a load). */
static inline Bool page_is_new(ULong p, Bool write)
{
   return !(pmap[p] & PG_RES) && (write || !pmap[p]);
}

static Bool heap_touch(ULong page, Addr at, Bool write, ThreadId tid,
                       UInt *stack, Bool *have_stack);
static Bool gh_on;

/* First access of a page that the map does not show resident, at
   address at in it. */
static void touch_page(ULong page, Addr at, Bool write, ThreadId tid,
                       UInt *stack, Bool *have_stack)
{
   if (page >= MAX_PAGE || frozen)
      return;
   if (!page_is_new(page, write))
      return;                               /* nothing new */
   Addr a = page << PG_SHIFT;
   NSegment const *seg = VG_(am_find_nsegment)(a);
   if (!seg)
      return;
   if (gh_on && seg->isCH &&
       heap_touch(page, at, write, tid, stack, have_stack))
      return;
   UInt kind;
   Bool zero = seg->kind == SkFileC && ranges_has(&dev_zero, a);
   if ((seg->kind == SkFileC && !zero) || seg->kind == SkShmC)
      kind = ML_PAGE_FILE;
   else if (seg->kind == SkAnonC || zero)
      kind = in_stack(a, tid) ? ML_PAGE_STACK : ML_PAGE_ANON;
   else if (seg->kind == SkResvn && write && in_stack(a, tid))
      kind = ML_PAGE_STACK;   /* the store faults, the stack grows into it */
   else
      return;                               /* not the client's memory */
   if (!write && kind == ML_PAGE_ANON && ranges_has(&shared_anon, a))
      write = True;            /* shmem: a read allocates the page too */
   if (write && kind == ML_PAGE_FILE && seg->kind == SkFileC &&
       !ranges_has(&shared_file, a) && !ranges_has(&cow_written, a))
      ranges_add(&cow_written, seg->start, seg->end + 1);
   if (kind == ML_PAGE_ANON && thp_possible()) {
      ULong first = thp_block(page, seg);
      if (first != ~0ULL) {
         if (!write && thp_zero_page) {
            for (ULong q = first; q < first + THP_PAGES; q++)
               set_page(q, PG_HZERO);    /* the huge zero page */
            return;
         }
         for (ULong q = first; q < first + THP_PAGES; q++)
            set_page(q, PG_RES | kind);
         charge(kind, THP_PAGES, tid, stack, have_stack);
         return;
      }
   }
   if (!write && kind != ML_PAGE_FILE) {
      set_page(page, PG_READ);              /* the zero page: not RSS */
      return;
   }
   /* Fault-around maps only pages already in the page cache; memline
      takes a file's to be there, but not those of a System V shared
      memory segment, which exist once touched (by this process: already
      in the map). */
   page_in(page, seg, kind, kind == ML_PAGE_FILE && !write &&
           seg->kind != SkShmC, tid, stack, have_stack);
}

/* The pages of [a, a+size) accessed; the stack is taken once for all
   (*stack, *have_stack: the caller's, possibly over several calls). */
static void touch_with(Addr a, SizeT size, Bool write, ThreadId tid,
                       UInt *stack, Bool *have_stack)
{
   if (size == 0)
      size = 1;
   for (ULong p = a >> PG_SHIFT; p <= (a + size - 1) >> PG_SHIFT; p++)
      touch_page(p, p == a >> PG_SHIFT ? a : p << PG_SHIFT, write, tid,
                 stack, have_stack);
}

static void touch(Addr a, SizeT size, Bool write, ThreadId tid)
{
   UInt stack = 0;
   Bool have = False;
   touch_with(a, size, write, tid, &stack, &have);
}

/* The helpers get the address accessed and that of the instruction:
   the guest IP is not kept exact at memory accesses (only SP is, as
   under heap-only runs), so the helper sets it before it takes the
   stack.  IP is what a precise guest state would hold there anyway. */
static ULong n_access_calls, n_group_calls;

static void set_guest_ip(ThreadId tid, Addr ip)
{
   VG_(set_shadow_regs_area)(tid, 0, offsetof(VexGuestAMD64State, guest_RIP),
                             sizeof ip, (const UChar *)&ip);
}

static void touch_at(Addr a, SizeT size, Bool write, Addr ip)
{
   n_access_calls++;
   ThreadId tid = VG_(get_running_tid)();
   set_guest_ip(tid, ip);
   touch(a, size, write, tid);
}

static VG_REGPARM(3) void ml_rss_store_helper(Addr a, UWord size, Addr ip)
{
   touch_at(a, size, True, ip);
}

static VG_REGPARM(3) void ml_rss_load_helper(Addr a, UWord size, Addr ip)
{
   touch_at(a, size, False, ip);
}

/* The same for the common sizes, with the size in the helper instead of
   an argument: one move fewer at every check, where the arguments are
   set up whether the call is taken or not. */
#define SIZED_HELPERS(n) \
   static VG_REGPARM(2) void ml_rss_store##n(Addr a, Addr ip) \
   { touch_at(a, n, True, ip); } \
   static VG_REGPARM(2) void ml_rss_load##n(Addr a, Addr ip) \
   { touch_at(a, n, False, ip); }
SIZED_HELPERS(1)
SIZED_HELPERS(2)
SIZED_HELPERS(4)
SIZED_HELPERS(8)
SIZED_HELPERS(16)
SIZED_HELPERS(32)

typedef struct {
   Int size;
   const HChar *name[2];                /* load, store */
   void *fn[2];
} SizedHelper;

#define SIZED(n) { n, { "ml_rss_load" #n, "ml_rss_store" #n }, \
                   { (void *)&ml_rss_load##n, (void *)&ml_rss_store##n } }
static const SizedHelper sized_helpers[] = {
   SIZED(1), SIZED(2), SIZED(4), SIZED(8), SIZED(16), SIZED(32)
};

/* One call for a group of accesses (see "Where each check goes"): the
   accesses in their program order, each at base + off, by the
   instruction at ip_first + ipd. */
typedef struct {
   Int    off;
   UInt   ipd;
   UShort size;
   UShort write;
} GMember;

typedef struct {
   UInt    n;
   UInt    pad;
   GMember m[];
} GDesc;

/* Whether an access of [a, a+size) would change the map: a page not
   resident (a store), or never seen (a load). */
static inline Bool needs_touch(Addr a, SizeT size, Bool write)
{
   for (ULong p = a >> PG_SHIFT; p <= (a + size - 1) >> PG_SHIFT; p++) {
      if (p >= MAX_PAGE)
         return False;
      if (page_is_new(p, write))
         return True;
   }
   return False;
}

/* Runs where the group's first access is, with that instruction's guest
   state: the stack is taken there once, and each member's page is
   charged to it with the member's own instruction as the innermost
   frame (ml_stack_with_top), which is the stack a check at the member
   itself would take.  The pages and the order they become resident in
   are those of a check per access. */
static VG_REGPARM(3) void ml_rss_group_helper(Addr base, Addr ip_first,
                                              const GDesc *d)
{
   n_group_calls++;
   if (frozen)
      return;
   ThreadId tid = VG_(get_running_tid)();
   UInt first = 0;
   Bool have_first = False;
   for (UInt i = 0; i < d->n; i++) {
      const GMember *m = &d->m[i];
      Addr a = base + (Addr)(Long)m->off;
      if (!needs_touch(a, m->size, m->write))
         continue;
      if (!have_first) {
         set_guest_ip(tid, ip_first);
         first = stack_of(tid);
         have_first = True;
      }
      UInt stack = ml_stack_with_top(first, ip_first, ip_first + m->ipd);
      Bool have = True;
      touch_with(a, m->size, m->write, tid, &stack, &have);
   }
}

/* Group descriptors live as long as the tool: interned by content (a
   superblock translated again gets the same ones back), so their number
   is bounded by the distinct groups of the code ever translated.  Kept
   in the tool's .bss while it lasts (a 32-bit constant in the call). */
static UChar  gd_pool[4 << 20] __attribute__((aligned(16)));
static SizeT  gd_used;
static MlMap  gd_map;              /* content hash (probed) -> GDesc * */
static ULong  gd_bytes;

/* A descriptor's content, as intern_gdesc looks for it. */
typedef struct {
   const GMember *m;
   UInt           n;
} GKey;

static Bool same_gdesc(UWord v1, const void *arg)
{
   const GDesc *d = (const GDesc *)v1;
   const GKey *k = arg;
   return d->n == k->n &&
          VG_(memcmp)(d->m, k->m, k->n * sizeof(GMember)) == 0;
}

static const GDesc *intern_gdesc(const GMember *m, UInt n)
{
   SizeT bytes = sizeof(GDesc) + n * sizeof(GMember);
   UWord key = ml_fnv1a((const UChar *)m, n * sizeof(GMember),
                        ML_FNV_BASIS ^ n);
   GKey k = { m, n };
   Bool is_new;
   MlMapEnt *e = ml_map_intern(&gd_map, key, same_gdesc, &k, True, &is_new);
   if (!is_new)
      return (const GDesc *)e->v1;
   GDesc *d;
   if (gd_used + bytes <= sizeof gd_pool) {
      d = (GDesc *)&gd_pool[gd_used];
      gd_used += (bytes + 15) & ~(SizeT)15;
   } else {
      d = VG_(malloc)("ml.rss.groups", bytes);
   }
   gd_bytes += bytes;
   d->n = n;
   d->pad = 0;
   for (UInt i = 0; i < n; i++)
      d->m[i] = m[i];
   e->v1 = (UWord)d;
   return d;
}

/* Makes [a, a+len) not resident; one PAGE record per kind released. */
/* Checks left out.  An access at an address known at translation time
   (a global: 31 K of the 164 K accesses with a check of their own on gcc's
   cc1) needs no check while its page is resident, and a resident page
   stops being so only at a release (munmap, madvise, brk, a mapping put
   over it, Valgrind's allocator giving back a superblock) or a move
   (mremap).  So a translation made while the page is resident leaves the
   check out, and the page gets PG_PIN and a list of the superblocks that
   rely on it (their guest code ranges).  Releasing or moving a pinned
   page discards those translations, as the core does for code that is
   unmapped; they are made again, with the check, when next run.  Every
   release runs outside generated code (system call hooks, allocator
   calls), where discarding is safe. */
extern void VG_(discard_translations)(Addr start, ULong range,
                                      const HChar *who);

typedef struct { Addr base; UInt len; Int next; } PinNode;
static PinNode *pin_nodes;
static Int     pin_n, pin_cap, pin_free = -1;
static MlMap   pin_map;                 /* page -> v1: first node + 1 */
static ULong   n_pin_checks, n_pin_pages, n_pin_discards;

static Int pin_node(Addr base, UInt len, Int next)
{
   Int i;
   if (pin_free >= 0) {
      i = pin_free;
      pin_free = pin_nodes[i].next;
   } else {
      if (pin_n == pin_cap) {
         pin_cap = pin_cap ? 2 * pin_cap : 1024;
         pin_nodes = VG_(realloc)("ml.rss.pins", pin_nodes,
                                  pin_cap * sizeof *pin_nodes);
      }
      i = pin_n++;
   }
   pin_nodes[i].base = base;
   pin_nodes[i].len = len;
   pin_nodes[i].next = next;
   return i;
}

/* The superblock being instrumented relies on page staying resident. */
static void pin(ULong page, const VexGuestExtents *vge)
{
   Bool is_new;
   MlMapEnt *e = ml_map_insert(&pin_map, page, &is_new);
   Int head = (Int)e->v1 - 1;
   for (UInt k = 0; k < vge->n_used; k++)
      head = pin_node((Addr)vge->base[k], vge->len[k] ? vge->len[k] : 1,
                      head);
   e->v1 = (UWord)(head + 1);
   if (is_new)
      n_pin_pages++;
   pmap[page] |= PG_PIN;
}

/* Page is no longer resident where it was: the translations that left
   out its checks go. */
static void unpin(ULong page)
{
   MlMapEnt out;
   pmap[page] &= (UChar)~PG_PIN;
   if (!ml_map_remove(&pin_map, page, &out))
      return;
   for (Int i = (Int)out.v1 - 1; i >= 0; ) {
      PinNode *nd = &pin_nodes[i];
      VG_(discard_translations)(nd->base, nd->len, "memline: page released");
      Int next = nd->next;
      nd->next = pin_free;
      pin_free = i;
      i = next;
   }
   n_pin_discards++;
}

/* The pages pinned for the superblock being instrumented (each once). */
#define PIN_MAX 16
static ULong sb_pins[PIN_MAX];
static Int   sb_npins;

/* Whether the access at [o, o+size), known at translation time, lies on
   resident pages: then they are pinned for the superblock of vge, and the
   access needs no check. */
static Bool pin_resident(Long o, Int size, const VexGuestExtents *vge)
{
   if (frozen || o < 0)
      return False;
   ULong p0 = (ULong)o >> PG_SHIFT;
   ULong p1 = ((ULong)o + (ULong)(size > 0 ? size : 1) - 1) >> PG_SHIFT;
   if (p1 >= MAX_PAGE || !(pmap[p0] & PG_RES) || !(pmap[p1] & PG_RES))
      return False;
   for (ULong p = p0; p <= p1; p++) {
      Int k = 0;
      while (k < sb_npins && sb_pins[k] != p)
         k++;
      if (k < sb_npins)
         continue;
      if (sb_npins == PIN_MAX)
         return False;
      sb_pins[sb_npins++] = p;
      pin(p, vge);
   }
   n_pin_checks++;
   return True;
}

/* Takes the pages of [lo, hi) out of the map, counting the resident ones
   by kind in gone[] (ML_PAGE_KINDS + 1 of them: [PG_HEAPV] is not
   counted) and unpinning the pinned; skips the empty 1 MiB chunks. */
static void forget_pages(Addr lo, Addr hi, Long *gone)
{
   ULong first = lo >> PG_SHIFT, last = (hi - 1) >> PG_SHIFT;
   if (last >= MAX_PAGE)
      last = MAX_PAGE - 1;
   for (ULong p = first; p <= last; p++) {
      if (!ccnt[p >> CHUNK_SHIFT]) {
         p |= (1ULL << CHUNK_SHIFT) - 1;       /* an empty chunk */
         continue;
      }
      UChar b = pmap[p];
      if (b & PG_RES)
         gone[b & 0x0f]++;
      if (b & PG_PIN)
         unpin(p);
      if (b)
         set_page(p, 0);
   }
}

static void release(Addr a, SizeT len, ThreadId tid)
{
   if (len == 0 || frozen)
      return;
   Long freed[ML_PAGE_KINDS + 1] = { 0 };   /* [PG_HEAPV]: not counted */
   forget_pages(a, a + len, freed);
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
/*--- Blocks glibc would have mapped                       ---*/
/*------------------------------------------------------------*/

/* Natively, glibc's malloc serves a request whose chunk (the size plus 8
   bytes, rounded up to 16, at least 32) reaches its mmap threshold with a
   mapping of its own, and unmaps it on free: the block's pages stop being
   resident at the free.  The threshold starts at 128 KiB; freeing a mapped
   chunk larger than the threshold (and at most 32 MiB) raises it to that
   chunk's size (its mapping: the chunk plus 8 bytes, rounded up to a
   page).  realloc moves a mapped chunk with mremap: it stays mapped and
   its pages stay resident at the new place.  (glibc 2.36 malloc/malloc.c:
   sysmalloc, __libc_free, __libc_realloc.)

   Under Valgrind the block comes from Valgrind's allocator: up to 4 MiB
   from a shared 4 MiB superblock, which is unmapped only once all its
   blocks are free, and then one such event later (ml_rss_sweep notices
   it).  A program that frees its big buffers before exit would keep them
   resident to the end.  So a block that glibc would have mapped -- decided
   at its allocation, with the threshold of that moment -- gives back its
   pages when it is freed: those wholly inside it (the partial pages at
   its ends may hold a neighbour, and go with the superblock).  Smaller
   blocks keep the behaviour of Valgrind's allocator, whose reuse is close
   to glibc's heap.

   realloc: Valgrind's allocator copies the data in the core, where no
   page check sees it.  A mapped block moves with mremap: its resident
   pages become resident at the same offsets of the new block, and leave
   the old one.  A block grown to the threshold is copied into a new
   mapping: the copied part of the new block becomes resident.  Otherwise
   the pages stay as they were: the old block's resident pages stand in
   for the part glibc would have kept in place or copied within its
   heap. */
#define G_THRESHOLD_MIN ((SizeT)128 << 10)
#define G_THRESHOLD_MAX ((SizeT)32 << 20)

static MlMap  gmapped;                 /* address -> size */
static SizeT  g_threshold = G_THRESHOLD_MIN;

static inline SizeT chunk_of(SizeT size)
{
   SizeT nb = (size + 8 + 15) & ~(SizeT)15;
   return nb < 32 ? 32 : nb;
}

/* Whether p, of size bytes, was a block glibc would have mapped; forgets
   it.  Blocks under the lowest threshold cannot be: no lookup. */
static Bool take_mapped(Addr p, SizeT size)
{
   if (chunk_of(size) < G_THRESHOLD_MIN || !ml_map_remove(&gmapped, p, NULL))
      return False;
   if (g_blocks.n)
      ranges_remove(&g_blocks, p, p + size);
   return True;
}

/* (With THP "always" the block may have huge pages: see thp_block.) */
static void note_mapped(Addr p, SizeT size)
{
   Bool is_new;
   ml_map_insert(&gmapped, p, &is_new)->v1 = size;
   if (thp_mode == THP_ALWAYS)
      ranges_add(&g_blocks, VG_PGROUNDUP(p), VG_PGROUNDDN(p + size));
}

/* The pages of a mapped block [a, a+len) that are its own, [*lo, *hi):
   those wholly inside it, since the partial pages at the ends may hold a
   neighbouring block of Valgrind's allocator.  With the simulated glibc
   heap the arena pages that count are only those of blocks glibc maps
   (the rest are the simulation's), so the partial pages are the block's
   too: natively they are the mapping's own. */
static void own_pages(Addr a, SizeT len, Addr *lo, Addr *hi)
{
   *lo = gh_on ? VG_PGROUNDDN(a) : VG_PGROUNDUP(a);
   *hi = gh_on ? VG_PGROUNDUP(a + len) : VG_PGROUNDDN(a + len);
}

/* Releases a mapped block's own pages. */
static void release_inside(Addr a, SizeT len, ThreadId tid)
{
   Addr lo, hi;
   own_pages(a, len, &lo, &hi);
   if (hi > lo)
      release(lo, hi - lo, tid);
}

/*------------------------------------------------------------*/
/*--- The heap as glibc lays it out (--rss-heap=glibc)     ---*/
/*------------------------------------------------------------*/

/* With --rss-heap=valgrind the heap's pages are those of Valgrind's
   allocator that the program touches.  That allocator packs blocks less
   densely than glibc (32 bytes of overhead per block against 8), and
   unmaps a superblock once it is empty where glibc's heap keeps freed
   memory (in its tcache, bins and unused top) until the top is trimmed.
   By default (--rss-heap=glibc) every malloc, free and realloc is also
   played on a model of glibc's
   allocator (ml_gheap.c), which places each block at an offset in a
   simulated heap; the heap's resident pages are pages of that heap:
   - the bytes glibc's own code writes (chunk headers, free-list links)
     make their pages resident at the call, as natively;
   - the program's first write to a page of Valgrind's client arena is
     mapped to the block that holds it (ml_heap_block_at) and from there
     to the simulated page at the same offset of the simulated block,
     which becomes resident if it was not; the arena page itself is then
     marked seen (PG_HEAPV) and counts for nothing.  An arena page that a
     new block whose simulated pages are not all resident lands on is
     marked unseen again, so that its first write is looked at;
   - a realloc that moves the data writes the copied bytes at the new
     place (glibc's memcpy; the model reports those writes too);
   - a trim of the top (brk shrinking) releases the simulated pages above
     the new end.
   Blocks the model says glibc would have mapped stay real pages of the
   arena, as in "Blocks glibc would have mapped" (the model's mmap
   threshold decides, and only when the top cannot serve the request, as
   glibc decides).  A Valgrind page covers parts of two simulated pages
   when the two layouts differ in phase: the one that its first write
   falls in becomes resident.

   Arenas.  glibc gives a thread other than the first an arena of its own
   at its first malloc (a new one while there are fewer than 8 per CPU,
   or than glibc.malloc.arena_max / MALLOC_ARENA_MAX / M_ARENA_MAX when
   set, else one of the existing ones in turn: the main arena, then the
   newest to the oldest), and hands a dead thread's arena to the next
   new thread; a block is freed and realloc'd in the arena that holds
   it.  memline keeps a model, and a page map of its simulated heap, per
   arena, assigned the same way.  A thread's arena lies in a heap of
   glibc's own (a 64 MiB mapping grown by mprotect, trimmed with
   MADV_DONTNEED), which the model follows (ml_gheap.c, "Threads").

   Parameters.  glibc's malloc parameters are the process's, one set for
   all arenas (gparams): the glibc.malloc tunables of the environment
   the program starts with (GLIBC_TUNABLES, MALLOC_TOP_PAD_ and the other
   MALLOC_*_ variables), then its calls of mallopt; its malloc_trim gives
   back the whole free pages of every arena's free chunks and trims the
   main arena's top.  memline's preload passes both calls on
   (vg-tool/preload.c). */
typedef struct {
   MlGHeap    *gh;
   UChar      *spmap;                  /* simulated page -> 1: resident */
   ULong       spmap_n;
   MlGHeapOps  ops;
   Int         next_free;              /* free list of dead threads' */
} Arena;
#define MAX_ARENAS 256
static Arena   arenas[MAX_ARENAS];
static Int     n_arenas, free_arenas = -1;
static Int     next_to_use;            /* reused_arena's next pick */
static ULong   narenas_limit;          /* glibc's, set once (0: not yet) */
static Int     cpus;                   /* for the limit: 8 per CPU */
static Int    *thread_arena;           /* tid -> arena + 1, 0: none yet */
static MlGHeapParams gparams;          /* glibc's mp_, for all arenas */
static MlGTcache **thread_tc;          /* tid -> its tcache (or NULL) */
static struct { ThreadId tid; UInt stack; Bool have; } gh_call;

Bool ml_rss_glibc_heap(void)
{
   return gh_on;
}

static void *gh_alloc(size_t n)
{
   return VG_(malloc)("ml.rss.gheap", n);
}

static void gh_free(void *p)
{
   VG_(free)(p);
}

static void spmap_reserve(Arena *a, ULong pages)
{
   if (pages <= a->spmap_n)
      return;
   ULong n = a->spmap_n ? a->spmap_n : 1024;
   while (n < pages)
      n *= 2;
   a->spmap = VG_(realloc)("ml.rss.spmap", a->spmap, n);
   VG_(memset)(a->spmap + a->spmap_n, 0, n - a->spmap_n);
   a->spmap_n = n;
}

static inline Bool sim_resident(const Arena *a, ULong sp)
{
   return sp < a->spmap_n && a->spmap[sp];
}

/* Simulated pages first..last of arena a written: the new ones become
   resident, charged to the stack of the call (*stack, *have). */
static void sim_charge(Arena *a, ULong first, ULong last, ThreadId tid,
                       UInt *stack, Bool *have)
{
   if (frozen || last < first)
      return;
   spmap_reserve(a, last + 1);
   Long n = 0;
   for (ULong q = first; q <= last; q++)
      if (!a->spmap[q]) {
         a->spmap[q] = 1;
         n++;
      }
   if (n)
      charge(ML_PAGE_ANON, n, tid, stack, have);
}

/* The model's callbacks, during one heap call (gh_begin). */
static void gh_begin(void)
{
   gh_call.tid = VG_(get_running_tid)();
   if (gh_call.tid == VG_INVALID_THREADID)
      gh_call.tid = 1;
   gh_call.stack = 0;
   gh_call.have = False;
}

static void gh_touch(void *ctx, uint64_t lo, uint64_t hi)
{
   if (hi > lo)
      sim_charge(ctx, lo >> PG_SHIFT, (hi - 1) >> PG_SHIFT, gh_call.tid,
                 &gh_call.stack, &gh_call.have);
}

/* Simulated pages first..last of arena a given back. */
static void sim_release(Arena *a, ULong first, ULong last)
{
   Long n = 0;
   for (ULong q = first; q <= last && q < a->spmap_n; q++)
      if (a->spmap[q]) {
         a->spmap[q] = 0;
         n++;
      }
   if (!n)
      return;
   count(ML_PAGE_ANON, -n);
   if (!gh_call.have) {
      gh_call.stack = stack_of(gh_call.tid);
      gh_call.have = True;
   }
   ml_out_page(gh_call.tid, gh_call.stack, ML_PAGE_ANON, -n);
}

static void gh_brk(void *ctx, uint64_t old_end, uint64_t new_end)
{
   if (new_end >= old_end || frozen)
      return;
   sim_release(ctx, VG_PGROUNDUP(new_end) >> PG_SHIFT,
               old_end ? (old_end - 1) >> PG_SHIFT : 0);
}

/* malloc_trim's madvise(MADV_DONTNEED) of whole pages [lo, hi) */
static void gh_dontneed(void *ctx, uint64_t lo, uint64_t hi)
{
   if (hi <= lo || frozen)
      return;
   sim_release(ctx, lo >> PG_SHIFT, (hi - 1) >> PG_SHIFT);
}

static Arena *new_arena(void)
{
   Arena *a = &arenas[n_arenas++];
   /* the main arena's heap grows by brk; another's is a heap of glibc's
      own with the arena's headers first */
   a->ops = (MlGHeapOps){ .alloc = gh_alloc, .free = gh_free,
                          .touch = gh_touch, .brk = gh_brk,
                          .dontneed = gh_dontneed, .params = &gparams,
                          .arena_start = n_arenas > 1 ? ML_GHEAP_ARENA_START
                                                      : 0,
                          .ctx = a };
   a->gh = ml_gheap_new(&a->ops);
   a->next_free = -1;
   return a;
}

/* The arena of thread tid (glibc's arena_get: see "Arenas"). */
static Arena *arena_of_thread(ThreadId tid)
{
   if (tid <= 1 || tid >= VG_N_THREADS)
      return &arenas[0];
   if (thread_arena[tid])
      return &arenas[thread_arena[tid] - 1];
   Int i;
   if (free_arenas >= 0) {
      i = free_arenas;
      free_arenas = arenas[i].next_free;
      thread_arena[tid] = i + 1;
      return &arenas[i];
   }
   /* arena_get2: the limit is fixed by the first thread that finds
      arena_max set, or more arenas than arena_test */
   if (narenas_limit == 0) {
      if (gparams.arena_max != 0)
         narenas_limit = gparams.arena_max;
      else if ((ULong)n_arenas > gparams.arena_test)
         narenas_limit = 8 * (ULong)cpus;
   }
   if ((ULong)n_arenas <= narenas_limit - 1 && n_arenas < MAX_ARENAS) {
      i = (Int)(new_arena() - arenas);
   } else {
      /* reused_arena: glibc's list runs from the main arena to the
         newest, then down to the oldest */
      i = next_to_use;
      next_to_use = i == 0 ? n_arenas - 1 : i - 1;
   }
   thread_arena[tid] = i + 1;
   return &arenas[i];
}

/* Tcaches.  glibc gives each thread a tcache, made in the thread's
   arena by its first malloc, calloc, realloc or free of a heap chunk
   (not memalign), which its frees fill -- whichever arena holds the
   chunk -- and its mallocs take from first, and which it empties when it
   ends, each chunk into its own arena.  memline keeps one per thread the
   same way (ml_gheap.c: a tcache names each chunk's arena). */
static MlGTcache *tcache_of(ThreadId tid)
{
   if (!thread_tc[tid])
      thread_tc[tid] = VG_(calloc)("ml.rss.tcache", 1, sizeof(MlGTcache));
   return thread_tc[tid];
}

/* A call of the running thread (gh_call.tid) in arena a, with the
   thread's tcache.  rec: the block freed or realloc'd (0 for an
   allocation); memalign: the call is memalign's.  The call makes the
   thread's tcache, in the thread's arena, if it has none (glibc's
   MAYBE_INIT_TCACHE), except memalign and a call on a mapped block. */
static void gh_use(Arena *a, uint32_t rec, Bool memalign)
{
   ThreadId tid = gh_call.tid;
   if (tid >= VG_N_THREADS) {
      ml_gheap_use_tcache(a->gh, NULL);
      return;
   }
   MlGTcache *tc = thread_tc[tid];
   if (UNLIKELY(!tc || !tc->on) && !memalign &&
       (rec == 0 || ml_gheap_offset(a->gh, rec) != ML_GHEAP_MAPPED)) {
      Arena *ta = arena_of_thread(tid);
      tc = tcache_of(tid);
      ml_gheap_use_tcache(ta->gh, tc);
      ml_gheap_init_tcache(ta->gh);
   }
   ml_gheap_use_tcache(a->gh, tc && tc->on ? tc : NULL);
}

/* malloc or calloc of size by the running thread in its arena a: the
   arena that holds the block (the thread's tcache may serve a block of
   another) and, in it, the block's offset and handle (*rec). */
static Arena *gh_malloc(Arena *a, SizeT size, Bool zeroed, uint64_t *off,
                        uint32_t *rec)
{
   MlGHeap *owner;
   gh_use(a, 0, False);
   *off = ml_gheap_malloc_in(a->gh, size, zeroed, rec, &owner);
   return ml_gheap_ctx(owner);
}

/* A thread's end: its tcache is emptied, each chunk into the arena
   that holds it, and the thread's arena
   goes to the next new thread (glibc: when no other thread uses it;
   memline: when it was a new one's). */
static void arena_thread_exit(ThreadId tid)
{
   if (!gh_on || tid <= 1 || tid >= VG_N_THREADS || !thread_arena[tid])
      return;
   Int i = thread_arena[tid] - 1;
   if (thread_tc[tid] && thread_tc[tid]->on) {
      gh_call.tid = tid;
      gh_call.stack = 0;
      gh_call.have = False;
      ml_gheap_tcache_shutdown(thread_tc[tid]);
   }
   thread_arena[tid] = 0;
   if (i == 0)
      return;                          /* still the main thread's */
   for (ThreadId t = 2; t < VG_N_THREADS; t++)
      if (thread_arena[t] == i + 1)
         return;                       /* still another thread's */
   arenas[i].next_free = free_arenas;
   free_arenas = i;
}

/* The start addresses of the client's mappings (anonymous, file and
   shared memory segments): *n of them, in an array to VG_(free). */
static Addr *client_segment_starts(Int *n)
{
   Int cap = 64, got;
   Addr *starts;
   for (;;) {
      starts = VG_(malloc)("ml.rss.segs", cap * sizeof *starts);
      got = VG_(am_get_segment_starts)(SkAnonC | SkFileC | SkShmC, starts,
                                       cap);
      if (got >= 0)
         break;
      VG_(free)(starts);
      cap = -got;
   }
   *n = got;
   return starts;
}

/* What a forked child starts with.  fork copies a mapping's page tables
   only where a fault could not fill them in again (mm/memory.c,
   vma_needs_copy): mappings with anonymous pages (an anon_vma: private
   memory that was written, copy-on-write pages of a file mapping among
   them, which carries its file pages along), not file mappings that were
   only read -- the code among them -- nor shared ones (MAP_SHARED, System
   V shared memory), whose pages stay in the page cache.  The child finds
   those not resident, and its first access faults them in again, as its
   own.  So at the fork their pages leave the child's map without a
   record (its trace starts with what is left, ml_rss_reemit), and the
   translations of the code on them are discarded, so that the child's
   first fetch of that code charges it again.  A private file mapping
   counts as written if it is writable or a write to it was seen
   (cow_written): a page that was read before it was written is not seen
   written (its store finds it resident), but a writable mapping almost
   always was written (relocations, the tail of .bss), and one that is no
   longer writable (RELRO) was seen written unless its first access was a
   read.  The child's peak starts at what it inherited. */
static void fork_uncopied(void)
{
   Int got;
   Addr *starts = client_segment_starts(&got);
   Long gone[ML_PAGE_KINDS + 1] = { 0 };     /* [PG_HEAPV]: not counted */
   for (Int i = 0; i < got; i++) {
      NSegment const *seg = VG_(am_find_nsegment)(starts[i]);
      if (!seg || seg->start != starts[i])
         continue;
      Addr lo = seg->start, hi = seg->end + 1;
      if (seg->kind == SkAnonC || ranges_has(&dev_zero, lo)) {
         for (UInt k = 0; k < shared_anon.n; k++) {
            Addr l = shared_anon.r[k].lo > lo ? shared_anon.r[k].lo : lo;
            Addr h = shared_anon.r[k].hi < hi ? shared_anon.r[k].hi : hi;
            if (l < h)
               forget_pages(l, h, gone);
         }
         continue;
      }
      if (seg->kind == SkFileC && !ranges_meet(&shared_file, lo, hi) &&
          (seg->hasW || ranges_meet(&cow_written, lo, hi)))
         continue;                            /* copied */
      forget_pages(lo, hi, gone);
      if (seg->hasX)
         VG_(discard_translations)(lo, hi - lo, "memline: fork");
   }
   VG_(free)(starts);
   for (UInt k = 0; k < ML_PAGE_KINDS; k++)
      if (gone[k])
         count(k, -gone[k]);
   peak = ml_rss_cur;
}

/* The child of a fork: only the forking thread goes on.  glibc's
   __malloc_fork_unlock_child puts every arena but that thread's on the
   free list, walking its list from the main arena (main, newest ...
   oldest) and pushing each in front; the other threads' tcaches are
   lost with them (their chunks stay in use). */
void ml_rss_fork_child(ThreadId tid)
{
   if (!rss_on)
      return;
   fork_uncopied();
   if (!gh_on || tid >= VG_N_THREADS)
      return;
   Int keep = tid <= 1 ? 0 : thread_arena[tid] - 1;   /* -1: none yet */
   for (ThreadId t = 0; t < VG_N_THREADS; t++) {
      if (t == tid)
         continue;
      thread_arena[t] = 0;
      if (thread_tc[t])
         ml_gheap_tcache_drop(thread_tc[t]);
   }
   free_arenas = -1;
   for (Int k = 0; k < n_arenas; k++) {
      Int i = k == 0 ? 0 : n_arenas - k;
      if (i == keep)
         continue;
      arenas[i].next_free = free_arenas;
      free_arenas = i;
   }
}

/* A block's word (ml_heap_model_word): the arena that holds it (index
   + 1) in the high half, its record there (the model's handle) in the
   low half; 0 for none. */
static inline ULong mword_of(const Arena *a, uint32_t rec)
{
   return ((ULong)(a - arenas + 1) << 32) | rec;
}

static inline Arena *mword_arena(ULong w)
{
   ULong i = w >> 32;
   return i >= 1 && i <= (ULong)n_arenas ? &arenas[i - 1] : NULL;
}

/* The arena that holds live block p, and the block's offset there; NULL
   if none does. */
static Arena *arena_of_block(Addr p, uint64_t *off)
{
   ULong w = *ml_heap_model_word(p);
   Arena *a = mword_arena(w);
   if (!a)
      return NULL;
   *off = ml_gheap_offset(a->gh, (uint32_t)w);
   return *off != ~(uint64_t)1 ? a : NULL;
}

/* The first access of arena page 'page' (at address at): see above.
   False when the block is one glibc would have mapped (a real page). */
static Bool heap_touch(ULong page, Addr at, Bool write, ThreadId tid,
                       UInt *stack, Bool *have_stack)
{
   Addr start;
   SizeT size;
   uint64_t off;
   Arena *a;
   if (ml_heap_block_at(at, &start, &size) &&
       (a = arena_of_block(start, &off)) != NULL) {
      if (off == ML_GHEAP_MAPPED)
         return False;
      if (!write) {
         /* a read: what it reads is resident, or reads as zeros */
         set_page(page, PG_READ);
         return True;
      }
      ULong sp = (off + (at - start)) >> PG_SHIFT;
      if (!sim_resident(a, sp))
         sim_charge(a, sp, sp, tid, stack, have_stack);
   }
   set_page(page, PG_RES | PG_HEAPV);
   return True;
}

/* Marks the arena pages of [p, p+size) unseen (seen ones, not real
   resident pages) so that their next access is looked at: a block whose
   simulated pages are not all resident (or one glibc maps: all) now
   lies there. */
static void heap_unsee(const Arena *a, Addr p, SizeT size, uint64_t off)
{
   if (size == 0)
      return;
   if (off != ML_GHEAP_MAPPED) {
      ULong q = off >> PG_SHIFT, last = (off + size - 1) >> PG_SHIFT;
      while (q <= last && sim_resident(a, q))
         q++;
      if (q > last)
         return;                       /* all resident already */
   }
   ULong last = (p + size - 1) >> PG_SHIFT;
   for (ULong v = p >> PG_SHIFT; v <= last && v < MAX_PAGE; v++) {
      UChar b = pmap[v];
      if (b == (PG_RES | PG_HEAPV) || b == PG_READ ||
          b == (PG_RES | PG_HEAPV | PG_PIN)) {
         if (b & PG_PIN)
            unpin(v);
         set_page(v, 0);
      }
   }
}

/* Moves a mapped block's resident pages from old to p (mremap): they
   leave the old block before they arrive in the new one, as natively;
   so which were resident is noted before the release.  (Valgrind's two
   blocks need not share an alignment: a page may map to two.) */
static void move_mapped(Addr old, SizeT old_size, Addr p, SizeT kept,
                        ThreadId tid)
{
   Addr lo, hi;
   own_pages(old, old_size, &lo, &hi);
   ULong n = hi > lo ? (hi - lo) >> PG_SHIFT : 0, *res = NULL;
   if (n > 0) {
      SizeT words = (SizeT)((n + 63) / 64);
      res = VG_(malloc)("ml.rss.move", words * sizeof *res);
      VG_(memset)(res, 0, words * sizeof *res);
      for (ULong i = 0; i < n && lo + (i << PG_SHIFT) < old + kept; i++) {
         ULong pg = (lo >> PG_SHIFT) + i;
         if (pg < MAX_PAGE && (pmap[pg] & PG_RES))
            res[i / 64] |= 1ULL << (i % 64);
      }
   }
   release_inside(old, old_size, tid);
   UInt stack = 0;
   Bool have = False;
   for (ULong i = 0; i < n; i++) {
      if (!(res[i / 64] & (1ULL << (i % 64))))
         continue;
      Addr at = lo + (i << PG_SHIFT);
      SizeT from = at > old ? at - old : 0, to = at + PG_SIZE - old;
      if (to > kept)
         to = kept;
      if (from >= to)
         continue;
      /* With the simulated heap, a page for a page (the first byte of its
         part): the count moves as it is; otherwise the range, which may
         make two pages of one where the blocks' alignments differ. */
      touch_with(p + from, gh_on ? 1 : to - from, True, tid, &stack, &have);
   }
   if (res)
      VG_(free)(res);
}

void ml_rss_block_alloc(Addr p, SizeT size, SizeT align, Bool zeroed)
{
   if (!rss_on)
      return;
   if (gh_on) {
      gh_begin();
      Arena *a = arena_of_thread(gh_call.tid);
      uint32_t rec;
      uint64_t off;
      if (align > 16) {
         gh_use(a, 0, True);
         off = ml_gheap_memalign(a->gh, align, size, &rec);
      } else {
         a = gh_malloc(a, size, zeroed, &off, &rec);
      }
      *ml_heap_model_word(p) = mword_of(a, rec);
      heap_unsee(a, p, size, off);
      if (off == ML_GHEAP_MAPPED) {
         note_mapped(p, size);
         /* the chunk's header, in the mapping's first page; with a
            perturb byte glibc fills the block (calloc: clears it) */
         touch(p, gparams.perturb_byte && size > 0 ? size : 1, True,
               gh_call.tid);
      }
      return;
   }
   if (chunk_of(size) < g_threshold)
      return;
   note_mapped(p, size);
   /* glibc writes the chunk's header (its size, in the 8 bytes before
      the block) into the mapping's first page at the malloc. */
   touch(p - 8, 8, True, VG_(get_running_tid)());
}

void ml_rss_block_soon(ULong mword)
{
   Arena *a = gh_on ? mword_arena(mword) : NULL;
   if (a)
      ml_gheap_prefetch(a->gh, (uint32_t)mword);
}

void ml_rss_block_free(Addr p, SizeT size, ULong mword)
{
   if (!rss_on)
      return;
   Bool mapped = take_mapped(p, size);
   if (gh_on) {
      /* in the arena that holds it */
      gh_begin();
      Arena *a = mword_arena(mword);
      if (a) {
         gh_use(a, (uint32_t)mword, False);
         ml_gheap_free(a->gh, (uint32_t)mword);
      }
   }
   if (!mapped)
      return;
   release_inside(p, size, VG_(get_running_tid)());
   if (gh_on)
      return;                          /* the model moves its threshold */
   SizeT map_len = VG_ROUNDUP(chunk_of(size) + 8, PG_SIZE);
   if (map_len > g_threshold && map_len <= G_THRESHOLD_MAX)
      g_threshold = map_len;
}

void ml_rss_block_realloc(Addr old, SizeT old_size, ULong mword, Addr p,
                          SizeT size)
{
   if (!rss_on)
      return;
   Bool old_mapped = take_mapped(old, old_size);
   ThreadId tid = VG_(get_running_tid)();
   SizeT kept = old_size < size ? old_size : size;
   if (gh_on) {
      gh_begin();
      int moved;                       /* (the pages follow from off) */
      /* in the arena that holds it */
      Arena *a = mword_arena(mword);
      uint32_t rec = (uint32_t)mword;
      if (a)
         gh_use(a, rec, False);
      uint64_t off = a ? ml_gheap_realloc(a->gh, &rec, size, &moved)
                       : ~(uint64_t)1;
      if (off == ~(uint64_t)1) {        /* not the model's: a new block */
         a = gh_malloc(arena_of_thread(gh_call.tid), size, False, &off,
                       &rec);
      }
      *ml_heap_model_word(p) = mword_of(a, rec);
      heap_unsee(a, p, size, off);
      if (off == ML_GHEAP_MAPPED) {
         if (old_mapped)
            move_mapped(old, old_size, p, kept, tid);   /* mremap */
         else if (gparams.perturb_byte && size > 0)
            touch(p, size, True, tid);  /* filled, then the copy */
         else if (kept > 0)
            touch(p, kept, True, tid);  /* copied into a new mapping */
         note_mapped(p, size);
      } else if (old_mapped) {
         /* (not glibc's way -- it mremaps a mapped chunk -- but should the
            model copy one into the heap, the mapping is gone) */
         release_inside(old, old_size, tid);
      }
      /* (a heap chunk the data was copied to: the model reports the
         copy's writes itself) */
      return;
   }
   if (old_mapped) {
      move_mapped(old, old_size, p, kept, tid);
      note_mapped(p, size);
   } else if (chunk_of(size) >= g_threshold) {
      /* Grown past the threshold: a new mapping, the data copied in. */
      if (kept > 0)
         touch(p, kept, True, tid);
      note_mapped(p, size);
   }
}

/* The kernel faults in every page of [a, a+len) on the program's
   behalf: mmap with MAP_POPULATE or MAP_LOCKED, madvise(MADV_POPULATE_READ
   / _WRITE), mlock and mlockall.  With write faults (POP_WRITE, or
   POP_MAPPED in a private writable mapping) each page becomes resident as
   a store would make it; with read faults as a load would: the pages of a
   file (with those the kernel maps around each fault), the zero page of
   private anonymous memory, which is not resident.  Pages past a file's
   end are not populated (an access would raise SIGBUS), nor is memory
   mapped PROT_NONE (mm/gup.c: populate_vma_page_range, faultin_page).
   One stack for the whole range: the call's. */
enum { POP_READ, POP_WRITE, POP_MAPPED };

static Bool is_shared(NSegment const *seg)
{
   return seg->kind == SkShmC || ranges_has(&shared_anon, seg->start) ||
          ranges_has(&shared_file, seg->start);
}

static void populate(Addr a, SizeT len, UInt how, Bool skip_stack)
{
   if (!rss_on || len == 0 || frozen)
      return;
   ThreadId tid = VG_(get_running_tid)();
   UInt stack = 0;
   Bool have = False;
   ULong p = a >> PG_SHIFT, end = (a + len - 1) >> PG_SHIFT;
   if (end >= MAX_PAGE)
      end = MAX_PAGE - 1;
   while (p <= end) {
      NSegment const *seg = VG_(am_find_nsegment)(p << PG_SHIFT);
      if (!seg)
         return;
      ULong seg_end = seg->end >> PG_SHIFT, last = seg_end < end ? seg_end : end;
      Bool skip = !(seg->kind == SkAnonC || seg->kind == SkFileC ||
                    seg->kind == SkShmC) ||
                  !(seg->hasR || seg->hasW || seg->hasX) ||
                  (skip_stack && in_stack(seg->start, tid));
      if (!skip && seg->kind == SkFileC &&
          !ranges_has(&dev_zero, seg->start)) {
         ULong fpages = file_pages(seg);
         ULong first = (ULong)seg->offset >> PG_SHIFT, s = seg->start >> PG_SHIFT;
         if (fpages != ~0ULL) {
            if (fpages <= first)
               skip = True;
            else if (last >= s + (fpages - first))
               last = s + (fpages - first) - 1;
         }
      }
      Bool write = how == POP_WRITE ||
                   (how == POP_MAPPED && seg->hasW && !is_shared(seg));
      if (!skip)
         for (ULong q = p; q <= last; q++)
            touch_page(q, q << PG_SHIFT, write, tid, &stack, &have);
      p = seg_end + 1;
   }
}

void ml_rss_populate(Addr a, SizeT len, Bool write)
{
   populate(a, len, write ? POP_WRITE : POP_READ, False);
}

/* mlockall(MCL_FUTURE) without MCL_ONFAULT: mappings made from now on
   are populated as mlock would (mm/mmap.c: do_mmap, VM_LOCKED). */
static Bool lock_future;

void ml_rss_lock(Addr a, SizeT len)
{
   populate(a, len, POP_MAPPED, False);
}

void ml_rss_lock_all(UWord flags)
{
   /* MCL_CURRENT 1, MCL_FUTURE 2, MCL_ONFAULT 4 */
   if (!rss_on || (flags & 4))
      return;
   if (flags & 2)
      lock_future = True;
   if (!(flags & 1))
      return;
   /* Every mapping of the client's but the stacks: natively a stack's
      mapping reaches only as far down as it has grown, where Valgrind
      reserves it whole, and what it has grown over is resident. */
   Int got;
   Addr *starts = client_segment_starts(&got);
   for (Int i = 0; i < got; i++) {
      NSegment const *seg = VG_(am_find_nsegment)(starts[i]);
      if (seg && seg->start == starts[i])
         populate(seg->start, seg->end - seg->start + 1, POP_MAPPED, True);
   }
   VG_(free)(starts);
}

void ml_rss_unlock_all(void)
{
   lock_future = False;
}

/*------------------------------------------------------------*/
/*--- Core events                                          ---*/
/*------------------------------------------------------------*/

static Bool warned_high;

void ml_rss_mapped(Addr a, SizeT len, UWord flags, Int fd)
{
   if (!rss_on || len == 0)
      return;
   Addr hi = VG_PGROUNDUP(a + len);
   if (hi > ml_rss_map_limit() && !warned_high) {
      /* The map covers the first 128 GiB, where Valgrind puts every
         mapping but those asked for higher: a hint there the preload
         drops (vg-tool/preload.c), MAP_FIXED and direct system calls
         remain. */
      warned_high = True;
      VG_(umsg)("memline: the program mapped %#lx-%#lx, above the 128 GiB "
                "the simulated resident set covers: pages there are not "
                "counted\n", a, hi);
   }
   /* The new mapping replaces whatever was there (MAP_FIXED): its pages
      go, as at a munmap, of which the core tells the tool nothing here. */
   release(a, hi - a, VG_(get_running_tid)());
   for (UInt k = 0; k < N_RANGES; k++)
      ranges_remove(all_ranges[k], a, hi);
   /* MAP_ANONYMOUS 0x20, or /dev/zero (character device 1:5, st_rdev
      0x105); the type bits 0x3: MAP_SHARED 1, MAP_SHARED_VALIDATE 3 */
   Bool anon = (flags & 0x20) != 0;
   struct vg_stat st;
   if (!anon && fd >= 0 && VG_(fstat)(fd, &st) == 0) {
      if (VKI_S_ISCHR(st.mode) && st.rdev == 0x105) {
         anon = True;
         ranges_add(&dev_zero, a, hi);
      } else {
         note_file_size(&st);
      }
   }
   Bool shared = (flags & 0x3) == 0x1 || (flags & 0x3) == 0x3;
   if (shared)
      ranges_add(anon ? &shared_anon : &shared_file, a, hi);
   /* MAP_STACK 0x20000: see "Transparent huge pages" */
   if (thp_place && (flags & 0x20000))
      ranges_add(&thp_never, a, hi);
   /* Populated at once: MAP_LOCKED 0x2000, or after mlockall(MCL_FUTURE),
      as mlock would; MAP_POPULATE 0x8000 unless with MAP_NONBLOCK
      0x10000, the same way (mm/mmap.c: do_mmap). */
   if ((flags & 0x2000) || lock_future || (flags & 0x18000) == 0x8000)
      populate(a, len, POP_MAPPED, False);
}

static void on_munmap(Addr a, SizeT len)
{
   for (UInt k = 0; k < N_RANGES; k++)
      ranges_remove(all_ranges[k], a, a + len);
   release(a, len, VG_(get_running_tid)());
}

static void on_brk_shrink(Addr a, SizeT len)
{
   release(a, len, VG_(get_running_tid)());
}

static void on_remap(Addr from, Addr to, SizeT len)
{
   for (UInt k = 0; k < N_RANGES; k++)
      ranges_move(all_ranges[k], from, to, len);
   /* The pages move with the mapping: no change in the total. */
   for (SizeT off = 0; off < len; off += PG_SIZE) {
      ULong pf = (from + off) >> PG_SHIFT, pt = (to + off) >> PG_SHIFT;
      if (pf >= MAX_PAGE || pt >= MAX_PAGE)
         continue;
      UChar v = pmap[pf];
      if (!v)
         continue;
      if (v & PG_PIN)
         unpin(pf);
      set_page(pt, v & (UChar)~PG_PIN);
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
   /* MADV_DONTNEED 4, MADV_REMOVE 9, MADV_POPULATE_READ 22,
      MADV_POPULATE_WRITE 23 (not in vki).  MADV_FREE (8) releases
      nothing: the kernel leaves the pages mapped, and counted, until
      memory runs short (mm/madvise.c: madvise_free_pte_range marks them
      clean and lazily freeable); a write keeps them. */
   if (!rss_on)
      return;
   if (advice == 4 || advice == 9)
      release(a, len, VG_(get_running_tid)());
   else if (advice == 14 || advice == 15) {   /* MADV_(NO)HUGEPAGE */
      Addr lo = VG_PGROUNDDN(a), hi = VG_PGROUNDUP(a + len);
      ranges_add(advice == 14 ? &thp_advised : &thp_never, lo, hi);
      ranges_remove(advice == 14 ? &thp_never : &thp_advised, lo, hi);
   }
   else if (advice == 22 || advice == 23)
      ml_rss_populate(a, len, advice == 23);
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
   if (frozen)
      return;
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
         if (seg->kind == SkAnonC)        /* generated code */
            page_in(p, seg, ML_PAGE_ANON, False, tid, &stack, &have);
         else
            page_in(p, seg, ML_PAGE_CODE, True, tid, &stack, &have);
      }
   }
}

/* The program has called exit_group: what runs after it is Valgrind's
   call of the C and C++ runtimes' freeres functions, which release the
   runtimes' buffers so that a heap profiler sees them freed.  A native
   run never executes them, so the pages they touch or release are not
   the program's: the simulated resident set stays as it was at exit. */
void ml_rss_freeze(void)
{
   frozen = True;
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

/* The page-map byte of addr, inline (at an address known at translation
   time, one load of the byte). */
static IRExpr *page_byte(IRSB *sb, IRExpr *addr)
{
   if (addr->tag == Iex_Const && addr->Iex.Const.con->tag == Ico_U64)
      return ml_ir_assign(sb, Ity_I8, IRExpr_Load(Iend_LE, Ity_I8,
                 ml_ir_addr(sb, &pmap[(addr->Iex.Const.con->Ico.U64 >> PG_SHIFT)
                                      & (MAX_PAGE - 1)])));
   /* The page number modulo MAX_PAGE: two shifts (4 bytes each) cost
      less than a shift and an and with a 32-bit mask (4 + 7). */
   IRExpr *hi = ml_ir_assign(sb, Ity_I64, IRExpr_Binop(Iop_Shl64, addr,
                             IRExpr_Const(IRConst_U8(64 - PG_SHIFT - PG_BITS))));
   IRExpr *pgi = ml_ir_assign(sb, Ity_I64, IRExpr_Binop(Iop_Shr64, hi,
                              IRExpr_Const(IRConst_U8(64 - PG_BITS))));
   IRExpr *ba = ml_ir_assign(sb, Ity_I64, IRExpr_Binop(Iop_Add64, pgi,
                             mkIRExpr_HWord((HWord)pmap)));
   return ml_ir_assign(sb, Ity_I8, IRExpr_Load(Iend_LE, Ity_I8, ba));
}

/* if (first touch of the page of addr) helper(addr, size); with a
   guard, the helper runs when the guard holds (it looks the page up
   itself).  The helpers get their instruction's address as a constant:
   one instruction (a 10-byte movabs at most) and no register.  The
   guest IP at the superblock's entry plus a 4-byte constant, used
   before, held the entry IP in a register for the whole superblock, and
   in -O0 code with a check and a line counter on every line that
   register was missed (compute, default mode: 1.71 -> 1.66 s user,
   medians of 9 alternating pairs). */
static void check_access(IRSB *sb, IRExpr *addr, Int size, Bool write,
                         IRExpr *guard, Addr ip, const VexGuestLayout *layout)
{
   if (!guard) {
      /* Compared as 64-bit values: VEX tests an 8-bit one with a 7-byte
         "testq $255", a 64-bit one against 0 with a 4-byte "cmpq $0". */
      IRExpr *b = ml_ir_assign(sb, Ity_I64, IRExpr_Unop(Iop_8Uto64,
                               page_byte(sb, addr)));
      if (write)
         b = ml_ir_assign(sb, Ity_I64, IRExpr_Binop(Iop_And64, b,
                          IRExpr_Const(IRConst_U64(PG_RES))));
      guard = ml_ir_assign(sb, Ity_I1, IRExpr_Binop(Iop_CmpEQ64, b,
                           IRExpr_Const(IRConst_U64(0))));
   }
   IRDirty *di = NULL;
   for (UInt i = 0; i < sizeof sized_helpers / sizeof sized_helpers[0]; i++)
      if (sized_helpers[i].size == size) {
         di = unsafeIRDirty_0_N(2, sized_helpers[i].name[write],
                 VG_(fnptr_to_fnentry)(sized_helpers[i].fn[write]),
                 mkIRExprVec_2(addr, mkIRExpr_HWord(ip)));
         break;
      }
   if (!di)
      di = unsafeIRDirty_0_N(
         3, write ? "ml_rss_store_helper" : "ml_rss_load_helper",
         VG_(fnptr_to_fnentry)(write ? (void *)&ml_rss_store_helper
                                     : (void *)&ml_rss_load_helper),
         mkIRExprVec_3(addr, mkIRExpr_HWord((HWord)size),
                       mkIRExpr_HWord(ip)));
   di->guard = guard;
   /* The helper takes a stack trace from SP, BP and the IP it is given. */
   ml_stack_dirty_reads_sp_bp(di, layout);
   addStmtToIRSB(sb, IRStmt_Dirty(di));
}

/* Where each check goes, and which accesses share a page lookup.

   A check runs as early as its address is known: right after the
   statement that computes the address, when that is in the same guest
   instruction.  So the check of a push or call runs before the
   instruction moves the stack pointer, while the guest state still
   matches the instruction's unwind info, and a page first touched by a
   push is charged to the full call stack.

   Shared lookups.  Plain loads and stores of a superblock whose addresses
   are one base temporary plus constants (root[t], off[t]), or constants
   (globals, ROOT_CONST), with no side exit between them, form a group
   when their bytes span at most a page:
   they lie on at most two pages, those of the lowest and the highest
   byte.  Before the group's first access, one inline test looks both
   pages up ("flag": both resident when the group stores, both seen when
   it only loads).  Nothing can make a page non-resident inside a
   superblock (releases come from system calls and allocator calls, which
   end one), so a flag stays true.  The flag guards one helper call, at
   the first access, for the group's members up to the next line entry
   or the next check of another base that may charge a page (a segment):
   ml_rss_group_helper goes through them in program order, given their
   offsets, sizes, kinds and instructions (a descriptor), and charges
   each page to the stack taken there with the member's own instruction
   as the innermost frame.  A segment of one access calls that access's
   exact helper instead.  Between the first access and a later one the
   superblock neither calls nor returns (a jump VEX followed,
   --vex-guest-chase=yes, ends the group), so the callers are the same,
   and no other access can have reached the page first: the pages made
   resident, the stacks they are charged to and the instruction count of
   their records (the clock moves at the superblock's exits) are those
   of a check per access, and so is the level each line entry reads.
   One exception is allowed for: checks off the stack pointer and checks
   off other bases do not end each other's segments (a prologue's pushes
   interleave with the function's first loads).  They could only meet on
   a page of the stack below the stack pointer reached through a register
   not derived from it in the superblock, which compilers do not emit.
   One call instead of one per access: `cc1 -O2`, 100 K accesses in 31 K
   groups with 35 K calls, translations 40.9 -> 38.6 MB.

   A load whose address derives from the stack pointer is not checked:
   stack memory is anonymous, and reading anonymous memory never makes it
   resident.  Nor is one off the frame pointer: BP read at an instruction
   where the unwind info computes the frame's CFA as BP + 16
   (bp_is_frame), so that BP points into the stack as surely as SP does.
   In code built -O0 or with frame pointers, a loop body reads its locals
   off BP, which the superblock gets from the guest state (`compute`:
   559 of its 1,668 unchecked stack reads; `-v` prints the counts). */
typedef enum { CK_PLAIN, CK_FLAG, CK_CALL, CK_PUT_BP } CheckKind;

typedef struct {
   CheckKind kind;
   IRExpr   *addr;     /* PLAIN, CALL: the (first) access's address;
                          PUT_BP: the value (NULL: the guest SP) */
   Int       size;     /* PLAIN, CALL: its size */
   Addr      ip;       /* PLAIN, CALL: its instruction's address */
   Bool      write;
   Int       group;    /* FLAG, CALL */
   Int       seg_start, seg_n;    /* CALL: its members in plan.mem */
   Int       next;     /* next check at the same place, or -1 */
} Check;

typedef struct {
   IRTemp root;
   Bool   write;               /* any member stores */
   Long   lo, hi;              /* byte span [lo, hi) relative to root */
   Int    n;                   /* members */
   Int    first_pos;           /* earliest check position of a member */
   Int    mem_start, mem_n;    /* its members in plan.mem */
   Bool   flag_placed;         /* planning: its flag check is added */
   Int    cur_call;            /* planning: the CALL of its last segment */
   Int    seg_entries;         /* planning: line entries before it */
   Int    seg_epoch;           /* planning: charging checks before it */
   IRTemp need;                /* at instrumentation: flag is false */
   IRExpr *base;               /* at instrumentation: root + lo */
} Group;

struct MlRssPlan {
   Int    n;
   Int   *before;      /* per statement: first check to run before it */
   Int   *after;       /* per statement: first check to run after it */
   Check *checks;
   Int    n_checks, cap_checks;
   Group *groups;
   Int    n_groups;
   GMember *mem;       /* members of the groups, by group */
   Int    cap_mem;
};

/* Checks planned, by kind; accesses in groups; calls for one access;
   stack reads left unchecked, off the stack and the frame pointer. */
static ULong n_planned[4], n_call_members, n_single_calls, n_stack_reads[2];

static void add_check(MlRssPlan *pl, Int *head, CheckKind kind, IRExpr *addr,
                      Int size, Bool write, Int group, Addr ip)
{
   n_planned[kind]++;
   if (pl->n_checks == pl->cap_checks) {
      pl->cap_checks = pl->cap_checks ? 2 * pl->cap_checks : 64;
      pl->checks = VG_(realloc)("ml.rss.plan", pl->checks,
                                pl->cap_checks * sizeof(Check));
   }
   Check *k = &pl->checks[pl->n_checks];
   k->kind = kind;
   k->addr = addr;
   k->size = size > 0 ? size : 1;
   k->write = write;
   k->group = group;
   k->ip = ip;
   /* Appended: a place's checks run in the order they were added. */
   k->next = -1;
   Int *p = head;
   while (*p >= 0)
      p = &pl->checks[*p].next;
   *p = pl->n_checks++;
}

/* The memory access of a statement: its address, size and kind. */
static Bool access_of(const IRSB *sbIn, const IRStmt *st, IRExpr **addr,
                      Int *size, Bool *write)
{
   IRTypeEnv *env = sbIn->tyenv;
   switch (st->tag) {
   case Ist_Store:
      *addr = st->Ist.Store.addr;
      *size = sizeofIRType(typeOfIRExpr(env, st->Ist.Store.data));
      *write = True;
      return True;
   case Ist_StoreG:
      *addr = st->Ist.StoreG.details->addr;
      *size = sizeofIRType(typeOfIRExpr(env, st->Ist.StoreG.details->data));
      *write = True;
      return True;
   case Ist_WrTmp:
      if (st->Ist.WrTmp.data->tag != Iex_Load)
         return False;
      *addr = st->Ist.WrTmp.data->Iex.Load.addr;
      *size = sizeofIRType(st->Ist.WrTmp.data->Iex.Load.ty);
      *write = False;
      return True;
   case Ist_LoadG:
      *addr = st->Ist.LoadG.details->addr;
      *size = 8;
      *write = False;
      return True;
   case Ist_CAS: {
      IRCAS *cas = st->Ist.CAS.details;
      Int sz = sizeofIRType(typeOfIRExpr(env, cas->dataLo));
      *addr = cas->addr;
      *size = cas->dataHi ? 2 * sz : sz;
      *write = True;
      return True;
   }
   case Ist_LLSC:
      *addr = st->Ist.LLSC.addr;
      *size = 8;
      *write = st->Ist.LLSC.storedata != NULL;
      return True;
   case Ist_Dirty: {
      IRDirty *d = st->Ist.Dirty.details;
      if (d->mFx == Ifx_None || !d->mAddr)
         return False;
      *addr = d->mAddr;
      *size = d->mSize;
      *write = d->mFx == Ifx_Write || d->mFx == Ifx_Modify;
      return True;
   }
   default:
      return False;
   }
}

#define MAX_GROUP_SPAN 4096
/* The "root" of accesses at addresses known at translation time
   (globals): their offsets are the addresses. */
#define ROOT_CONST ((IRTemp)0xFFFFFFFEu)

/* An access's address as root + offset: a temporary's (root[t], off[t]),
   or a constant's.  False for anything else. */
static Bool access_base(const IRExpr *a, const IRTemp *root, const Long *off,
                        IRTemp *rt, Long *o)
{
   if (a->tag == Iex_RdTmp) {
      *rt = root[a->Iex.RdTmp.tmp];
      *o = off[a->Iex.RdTmp.tmp];
      return True;
   }
   if (a->tag == Iex_Const && a->Iex.Const.con->tag == Ico_U64 &&
       a->Iex.Const.con->Ico.U64 < (1ULL << 47)) {
      *rt = ROOT_CONST;
      *o = (Long)a->Iex.Const.con->Ico.U64;
      return True;
   }
   return False;
}
#define NO_GROUP      (-1)
#define NO_CHECK      (-2)

/* The frame pointer at the checks.  A page helper unwinds from SP and
   BP, which it declares it reads, so VEX writes them back before the
   call -- the values they hold then.  But the first optimisation pass,
   before the tool sees the superblock, keeps only SP exact at memory
   accesses: when a function's prologue and its epilogue are in one
   superblock (a leaf function without branches), the prologue's
   `mov %rsp,%rbp` is dropped as overwritten by the epilogue's `leave` or
   `pop %rbp`, and a check in between would unwind with the caller's BP:
   where the unwind info says CFA = BP + 16 (code with frame pointers),
   the stack loses the function's callers.  So that write is put back
   where it was, with the value it wrote: SP after the `push %rbp` right
   before it (which, a store, keeps SP exact), or SP at the superblock's
   start when the mov is its first instruction.  It restores what the
   guest instruction does, and is then dropped again by VEX if no check
   follows. */
static Bool is_mov_rsp_rbp(Addr a, UInt len)
{
   const UChar *b = (const UChar *)a;
   return len == 3 && b[0] == 0x48 &&
          ((b[1] == 0x89 && b[2] == 0xe5) || (b[1] == 0x8b && b[2] == 0xec));
}

static void plan_frame_pointer(MlRssPlan *pl, const IRSB *sbIn,
                               const VexGuestLayout *layout)
{
   Int n = sbIn->stmts_used, bp = offsetof(VexGuestAMD64State, guest_RBP);
   Int prev_imark = -1;
   Bool prev_push_bp = False;
   IRExpr *sp_after_push = NULL;
   for (Int i = 0; i < n; i++) {
      const IRStmt *st = sbIn->stmts[i];
      if (!st || st->tag != Ist_IMark)
         continue;
      Addr a = (Addr)st->Ist.IMark.addr;
      UInt len = st->Ist.IMark.len;
      Int next = i + 1;
      Bool puts_bp = False;
      IRExpr *sp_put = NULL;
      for (; next < n; next++) {
         const IRStmt *s2 = sbIn->stmts[next];
         if (!s2)
            continue;
         if (s2->tag == Ist_IMark)
            break;
         if (s2->tag == Ist_Put && s2->Ist.Put.offset == bp)
            puts_bp = True;
         if (s2->tag == Ist_Put && s2->Ist.Put.offset == layout->offset_SP)
            sp_put = s2->Ist.Put.data;
      }
      if (next < n && !puts_bp && is_mov_rsp_rbp(a, len) &&
          (prev_imark < 0 || (prev_push_bp && sp_after_push)))
         add_check(pl, &pl->before[next], CK_PUT_BP,
                   prev_imark < 0 ? NULL : sp_after_push, 8, True, -1, a);
      prev_imark = i;
      prev_push_bp = len == 1 && *(const UChar *)a == 0x55;
      sp_after_push = sp_put;
   }
}

/* One plan at a time: superblocks are translated one by one, under the
   big lock.  Its arrays, and the planner's per-statement and
   per-temporary scratch, are kept from one superblock to the next and
   only grown (translation is most of the run of a large program: an
   allocation and a free per array and superblock showed). */
static MlRssPlan plan;
static Int    cap_stmts, cap_temps;
static Int   *s_grp, *s_pos, *t_def;
static IRTemp *t_root;
static Long  *t_off;
static UChar *t_stack;     /* per temporary: FROM_SP | FROM_FP */
#define FROM_SP 1          /* the stack pointer plus a constant */
#define FROM_FP 2          /* the frame pointer plus a constant */

/* Whether a root (its derived temporaries alike), or an access's
   address, is the stack pointer plus a constant. */
static inline Bool root_from_sp(IRTemp r)
{
   return r != ROOT_CONST && (t_stack[r] & FROM_SP);
}

static inline Bool addr_from_sp(const IRExpr *a)
{
   return a->tag == Iex_RdTmp && (t_stack[a->Iex.RdTmp.tmp] & FROM_SP);
}

/* An address in the stack: the stack pointer or the frame pointer plus
   a constant. */
static inline Bool addr_on_stack(const IRExpr *a)
{
   return a->tag == Iex_RdTmp && t_stack[a->Iex.RdTmp.tmp] != 0;
}

/* Exported by the core (m_debuginfo), not in pub_tool: the CFA of a
   frame at ip with the given SP and BP, from the CFI; 0 without CFI or
   when the rule would read memory outside [min, max]. */
extern Addr ML_(get_CFA)(Addr ip, Addr sp, Addr fp, Addr min_accessible,
                         Addr max_accessible);

/* Whether BP is the frame pointer before the instruction at ip: the
   unwind info says the frame's CFA is BP + 16 there (the `push %rbp;
   mov %rsp,%rbp` frame of code built -O0 or with -fno-omit-frame-pointer).
   The CFA is the stack pointer before the call that made the frame, so
   BP then points into the stack.  Asked with two made-up values of BP:
   the CFA must follow BP, not SP; a rule that reads memory (a DWARF
   expression) finds none accessible and gives no answer. */
static Bool bp_is_frame(Addr ip)
{
   const Addr sp = 0x10000000, fp1 = 0x20000000, fp2 = 0x30000000;
   return ML_(get_CFA)(ip, sp, fp1, 0, 0) == fp1 + 16 &&
          ML_(get_CFA)(ip, sp, fp2, 0, 0) == fp2 + 16;
}

static void *grow(void *p, SizeT elem, Int n)
{
   return VG_(realloc)("ml.rss.plan", p, elem * (SizeT)n);
}

MlRssPlan *ml_rss_plan(const IRSB *sbIn, const VexGuestLayout *layout,
                       const Bool *entry, const VexGuestExtents *vge)
{
   sb_npins = 0;
   Int n = sbIn->stmts_used, nt = sbIn->tyenv->types_used;
   MlRssPlan *pl = &plan;
   if (n + 1 > cap_stmts) {
      cap_stmts = 2 * (n + 1);
      pl->before = grow(pl->before, sizeof(Int), cap_stmts);
      pl->after = grow(pl->after, sizeof(Int), cap_stmts);
      pl->groups = grow(pl->groups, sizeof(Group), cap_stmts);
      s_grp = grow(s_grp, sizeof(Int), cap_stmts);
      s_pos = grow(s_pos, sizeof(Int), cap_stmts);
   }
   if (nt + 1 > cap_temps) {
      cap_temps = 2 * (nt + 1);
      t_def = grow(t_def, sizeof(Int), cap_temps);
      t_root = grow(t_root, sizeof(IRTemp), cap_temps);
      t_off = grow(t_off, sizeof(Long), cap_temps);
      t_stack = grow(t_stack, sizeof(UChar), cap_temps);
   }
   pl->n = n;
   pl->n_checks = 0;
   pl->n_groups = 0;
   Int *def = t_def, *grp = s_grp, *pos = s_pos;
   IRTemp *root = t_root;
   Long *off = t_off;
   UChar *stack = t_stack;
   for (Int t = 0; t < nt; t++) {
      def[t] = -1;
      root[t] = t;
      off[t] = 0;
      stack[t] = 0;
   }

   /* Pass 1: temporaries as root + offset; where each access's check
      goes (pos: 2i before statement i, 2d+1 after statement d); the
      groups. */
   Int imark = -1, run_first_group = 0;
   Addr cur_ip = 0, next_ip = 0;
   for (Int i = 0; i < n; i++) {
      pl->before[i] = pl->after[i] = -1;
      grp[i] = NO_CHECK;
      const IRStmt *st = sbIn->stmts[i];
      if (!st)
         continue;
      if (st->tag == Ist_IMark) {
         imark = i;
         cur_ip = (Addr)st->Ist.IMark.addr;
         /* A jump VEX followed (--vex-guest-chase=yes): maybe a call,
            into another activation, where a group's call cannot reach. */
         if (next_ip && cur_ip != next_ip)
            run_first_group = pl->n_groups;
         next_ip = cur_ip + st->Ist.IMark.len;
         continue;
      }
      if (st->tag == Ist_Exit) {
         run_first_group = pl->n_groups;     /* groups end at an exit */
         continue;
      }
      if (st->tag == Ist_WrTmp) {
         IRTemp t = st->Ist.WrTmp.tmp;
         IRExpr *e = st->Ist.WrTmp.data;
         def[t] = i;
         if (e->tag == Iex_Get && e->Iex.Get.offset == layout->offset_SP &&
             e->Iex.Get.ty == Ity_I64) {
            stack[t] = FROM_SP;
         } else if (e->tag == Iex_Get && e->Iex.Get.ty == Ity_I64 &&
                    e->Iex.Get.offset ==
                       offsetof(VexGuestAMD64State, guest_RBP)) {
            /* the value BP has before this instruction */
            if (imark >= 0 && bp_is_frame(cur_ip))
               stack[t] = FROM_FP;
         } else if (e->tag == Iex_Binop &&
                    (e->Iex.Binop.op == Iop_Add64 ||
                     e->Iex.Binop.op == Iop_Sub64) &&
                    e->Iex.Binop.arg1->tag == Iex_RdTmp &&
                    e->Iex.Binop.arg2->tag == Iex_Const &&
                    e->Iex.Binop.arg2->Iex.Const.con->tag == Ico_U64) {
            IRTemp b = e->Iex.Binop.arg1->Iex.RdTmp.tmp;
            Long c = (Long)e->Iex.Binop.arg2->Iex.Const.con->Ico.U64;
            if (c > -(1L << 20) && c < (1L << 20)) {
               root[t] = root[b];
               off[t] = off[b] + (e->Iex.Binop.op == Iop_Add64 ? c : -c);
               stack[t] = stack[b];
            }
         }
      }
      IRExpr *a;
      Int size;
      Bool write;
      if (!access_of(sbIn, st, &a, &size, &write))
         continue;
      grp[i] = NO_GROUP;
      pos[i] = 2 * i;
      if (a->tag == Iex_RdTmp) {
         Int d = def[a->Iex.RdTmp.tmp];
         if (d > imark && d < i)
            pos[i] = 2 * d + 1;
      }
      /* Only plain loads and stores (they always run) share lookups. */
      Bool plain = st->tag == Ist_Store ||
                   (st->tag == Ist_WrTmp &&
                    st->Ist.WrTmp.data->tag == Iex_Load);
      if (!plain)
         continue;
      IRTemp rt;
      Long o;
      if (!access_base(a, root, off, &rt, &o))
         continue;
      if (!write && addr_on_stack(a) && o > -65536 && o < 65536) {
         grp[i] = NO_CHECK;                  /* stack read */
         n_stack_reads[t_stack[a->Iex.RdTmp.tmp] & FROM_SP ? 0 : 1]++;
         continue;
      }
      if (rt == ROOT_CONST && vge && pin_resident(o, size, vge)) {
         grp[i] = NO_CHECK;                  /* a global, resident */
         continue;
      }
      Long lo = o, hi = o + (size > 0 ? size : 1);
      Int g = run_first_group;
      while (g < pl->n_groups && pl->groups[g].root != rt)
         g++;
      Group *G = &pl->groups[g];
      if (g == pl->n_groups) {
         pl->n_groups++;
         G->root = rt;
         G->write = write;
         G->lo = lo;
         G->hi = hi;
         G->n = 0;
         G->first_pos = pos[i];
         G->mem_n = 0;
         G->flag_placed = False;
         G->cur_call = -1;
         G->need = IRTemp_INVALID;
      }
      G->write |= write;
      if (lo < G->lo) G->lo = lo;
      if (hi > G->hi) G->hi = hi;
      if (pos[i] < G->first_pos) G->first_pos = pos[i];
      G->n++;
      grp[i] = g;
   }

   plan_frame_pointer(pl, sbIn, layout);

   /* Room for the groups' members. */
   Int members = 0;
   for (Int g = 0; g < pl->n_groups; g++) {
      pl->groups[g].mem_start = members;
      members += pl->groups[g].n;
   }
   if (members > pl->cap_mem) {
      pl->cap_mem = 2 * members;
      pl->mem = grow(pl->mem, sizeof(GMember), pl->cap_mem);
   }

   /* Pass 2: the checks.  A group of one access, or spanning a page or
      more, gets plain checks. */
   Addr ip = 0;
   /* Charging checks added so far, off the stack pointer and others. */
   Int entries = 0, epoch[2] = { 0, 0 };
   for (Int i = 0; i < n; i++) {
      if (sbIn->stmts[i] && sbIn->stmts[i]->tag == Ist_IMark) {
         ip = (Addr)sbIn->stmts[i]->Ist.IMark.addr;
         entries += entry && entry[i];
      }
      if (grp[i] == NO_CHECK)
         continue;
      IRExpr *a;
      Int size;
      Bool write;
      access_of(sbIn, sbIn->stmts[i], &a, &size, &write);
      Int g = grp[i];
      Bool shared = g >= 0 && pl->groups[g].n >= 2 &&
                    pl->groups[g].hi - pl->groups[g].lo <= MAX_GROUP_SPAN;
      Int p = pos[i];
      Int *head = p & 1 ? &pl->after[p >> 1] : &pl->before[p >> 1];
      if (!shared) {
         add_check(pl, head, CK_PLAIN, a, size, write, -1, ip);
         epoch[addr_from_sp(a)]++;
         continue;
      }
      Group *G = &pl->groups[g];
      if (!G->flag_placed) {
         Int fp = G->first_pos;
         add_check(pl, fp & 1 ? &pl->after[fp >> 1] : &pl->before[fp >> 1],
                   CK_FLAG, NULL, 0, G->write, g, ip);
         G->flag_placed = True;
      }
      Int *ep = &epoch[root_from_sp(G->root)];
      if (G->cur_call < 0 || G->seg_entries != entries ||
          G->seg_epoch != *ep) {
         /* A new segment: its call goes where its first access's check
            would, after the line entry before it. */
         G->cur_call = pl->n_checks;
         G->seg_entries = entries;
         G->seg_epoch = ++*ep;
         add_check(pl, head, CK_CALL, a, size, write, g, ip);
         pl->checks[G->cur_call].seg_start = G->mem_start + G->mem_n;
         pl->checks[G->cur_call].seg_n = 0;
      }
      Check *c = &pl->checks[G->cur_call];
      GMember *m = &pl->mem[G->mem_start + G->mem_n++];
      IRTemp rt;
      Long o;
      access_base(a, t_root, t_off, &rt, &o);
      m->off = (Int)(o - G->lo);
      m->ipd = (UInt)(ip - c->ip);
      m->size = (UShort)(size > 0 ? size : 1);
      m->write = write;
      c->seg_n++;
      n_call_members++;
   }
   return pl;
}

/* need = !(both pages of the group's span are resident / seen) */
static void emit_flag(IRSB *sb, Group *G)
{
   IRExpr *lo, *hi;
   if (G->root == ROOT_CONST) {
      lo = mkIRExpr_HWord((HWord)G->lo);
      hi = mkIRExpr_HWord((HWord)(G->hi - 1));
   } else {
      lo = ml_ir_assign(sb, Ity_I64, IRExpr_Binop(Iop_Add64,
                        IRExpr_RdTmp(G->root),
                        IRExpr_Const(IRConst_U64((ULong)G->lo))));
      hi = ml_ir_assign(sb, Ity_I64, IRExpr_Binop(Iop_Add64,
                        IRExpr_RdTmp(G->root),
                        IRExpr_Const(IRConst_U64((ULong)(G->hi - 1)))));
   }
   G->base = lo;
   IRExpr *b1 = ml_ir_assign(sb, Ity_I64, IRExpr_Unop(Iop_8Uto64,
                             page_byte(sb, lo)));
   IRExpr *b2 = ml_ir_assign(sb, Ity_I64, IRExpr_Unop(Iop_8Uto64,
                             page_byte(sb, hi)));
   IRExpr *miss;
   if (G->write) {
      IRExpr *both = ml_ir_assign(sb, Ity_I64,
                                  IRExpr_Binop(Iop_And64, b1, b2));
      IRExpr *r = ml_ir_assign(sb, Ity_I64, IRExpr_Binop(Iop_And64, both,
                               IRExpr_Const(IRConst_U64(PG_RES))));
      miss = IRExpr_Binop(Iop_CmpEQ64, r, IRExpr_Const(IRConst_U64(0)));
   } else {
      IRExpr *z1 = ml_ir_assign(sb, Ity_I1, IRExpr_Binop(Iop_CmpEQ64, b1,
                                IRExpr_Const(IRConst_U64(0))));
      IRExpr *z2 = ml_ir_assign(sb, Ity_I1, IRExpr_Binop(Iop_CmpEQ64, b2,
                                IRExpr_Const(IRConst_U64(0))));
      miss = IRExpr_Binop(Iop_Or1, z1, z2);
   }
   G->need = newIRTemp(sb->tyenv, Ity_I1);
   addStmtToIRSB(sb, IRStmt_WrTmp(G->need, miss));
}

/* Whether a check of this kind may call a helper (which may change
   ml_rss_cur): a flag and a frame pointer put back never do. */
static inline Bool kind_calls(CheckKind k)
{
   return k != CK_FLAG && k != CK_PUT_BP;
}

/* Emits the checks from c on; True if any may call a helper. */
static Bool emit_checks(const MlRssPlan *pl, Int c, IRSB *sb,
                        const VexGuestLayout *l)
{
   Bool calls = False;
   for (; c >= 0; c = pl->checks[c].next) {
      calls |= kind_calls(pl->checks[c].kind);
      const Check *k = &pl->checks[c];
      switch (k->kind) {
      case CK_PLAIN:
         check_access(sb, k->addr, k->size, k->write, NULL, k->ip, l);
         break;
      case CK_FLAG:
         emit_flag(sb, &pl->groups[k->group]);
         break;
      case CK_PUT_BP: {
         IRExpr *v = k->addr ? k->addr
                             : ml_ir_assign(sb, Ity_I64, IRExpr_Get(
                                  l->offset_SP, Ity_I64));
         addStmtToIRSB(sb, IRStmt_Put(
                          offsetof(VexGuestAMD64State, guest_RBP), v));
         break;
      }
      case CK_CALL: {
         const Group *G = &pl->groups[k->group];
         tl_assert(G->need != IRTemp_INVALID);
         if (k->seg_n == 1) {
            /* The exact helper of the one access, two arguments. */
            n_single_calls++;
            check_access(sb, k->addr, k->size, k->write,
                         IRExpr_RdTmp(G->need), k->ip, l);
            break;
         }
         const GDesc *d = intern_gdesc(&pl->mem[k->seg_start], k->seg_n);
         IRDirty *di = unsafeIRDirty_0_N(
            3, "ml_rss_group_helper",
            VG_(fnptr_to_fnentry)((void *)&ml_rss_group_helper),
            mkIRExprVec_3(G->base, mkIRExpr_HWord(k->ip),
                          mkIRExpr_HWord((HWord)d)));
         di->guard = IRExpr_RdTmp(G->need);
         ml_stack_dirty_reads_sp_bp(di, l);
         addStmtToIRSB(sb, IRStmt_Dirty(di));
         break;
      }
      }
   }
   return calls;
}

Bool ml_rss_before(const MlRssPlan *pl, const IRSB *sbIn, Int i, IRSB *sb,
                   const VexGuestLayout *l)
{
   return emit_checks(pl, pl->before[i], sb, l);
}

Bool ml_rss_after(const MlRssPlan *pl, const IRSB *sbIn, Int i, IRSB *sb,
                  const VexGuestLayout *l)
{
   return emit_checks(pl, pl->after[i], sb, l);
}

/* Whether checks from c on may call a helper: what emit_checks returns. */
static Bool may_call(const MlRssPlan *pl, Int c)
{
   for (; c >= 0; c = pl->checks[c].next)
      if (kind_calls(pl->checks[c].kind))
         return True;
   return False;
}

Bool ml_rss_calls_before(const MlRssPlan *pl, Int i)
{
   return may_call(pl, pl->before[i]);
}

Bool ml_rss_calls_after(const MlRssPlan *pl, Int i)
{
   return may_call(pl, pl->after[i]);
}

/*------------------------------------------------------------*/
/*--- Set-up                                               ---*/
/*------------------------------------------------------------*/

void ml_rss_print_stats(void)
{
   if (!rss_on)
      return;
   VG_(umsg)("memline: page checks planned: %llu own, %llu groups of "
             "%llu accesses with %llu calls (%llu for one access; %llu B "
             "of descriptors), %llu frame pointers restored\n",
             n_planned[CK_PLAIN], n_planned[CK_FLAG], n_call_members,
             n_planned[CK_CALL], n_single_calls, gd_bytes,
             n_planned[CK_PUT_BP]);
   VG_(umsg)("memline: page helpers run: %llu per access, %llu per group\n",
             n_access_calls, n_group_calls);
   VG_(umsg)("memline: checks left out on resident pages: %llu, on %llu "
             "pages; pinned pages released: %llu\n",
             n_pin_checks, n_pin_pages, n_pin_discards);
   VG_(umsg)("memline: stack reads left unchecked: %llu off the stack "
             "pointer, %llu off the frame pointer\n",
             n_stack_reads[0], n_stack_reads[1]);
}

/* The CPUs glibc counts for its arena limit (get_nprocs: the online
   ones), from /sys/devices/system/cpu/online ("0-3,5"); 1 if unknown. */
static Int n_cpus(void)
{
   HChar buf[256];
   if (!read_small("/sys/devices/system/cpu/online", buf, sizeof buf))
      return 1;
   Int n = 0;
   const HChar *p = buf;
   while (*p >= '0' && *p <= '9') {
      Long lo = VG_(strtoll10)(p, (HChar **)&p), hi = lo;
      if (*p == '-')
         hi = VG_(strtoll10)(p + 1, (HChar **)&p);
      n += (Int)(hi - lo + 1);
      if (*p == ',')
         p++;
   }
   return n > 0 ? n : 1;
}

static const char *tool_getenv(const char *name)
{
   return VG_(getenv)(name);
}

Int ml_rss_mallopt(Int param, Int value)
{
   if (!gh_on) {
      /* glibc's answer all the same */
      MlGHeapParams mp;
      ml_gheap_params_init(&mp);
      return ml_gheap_set_param(&mp, param, value);
   }
   /* glibc consolidates the main arena first, whatever the parameter */
   gh_begin();
   ml_gheap_consolidate(arenas[0].gh);
   return ml_gheap_set_param(&gparams, param, value);
}

Int ml_rss_malloc_trim(SizeT pad)
{
   if (!gh_on)
      return 0;
   gh_begin();
   Int done = ml_gheap_trim(arenas[0].gh, pad, 1);
   for (Int i = n_arenas - 1; i >= 1; i--)
      done |= ml_gheap_trim(arenas[i].gh, pad, 0);
   return done;
}

void ml_rss_enable(Bool glibc_heap)
{
   if (glibc_heap) {
      ml_gheap_params_init(&gparams);
      ml_gheap_tunables(&gparams, tool_getenv);
      new_arena();                      /* the main arena */
      thread_arena = VG_(calloc)("ml.rss.tarena", VG_N_THREADS,
                                 sizeof *thread_arena);
      thread_tc = VG_(calloc)("ml.rss.ttc", VG_N_THREADS, sizeof *thread_tc);
      cpus = n_cpus();
      VG_(track_pre_thread_ll_exit)(arena_thread_exit);
      gh_on = True;
   }
   ccnt = VG_(calloc)("ml.rss.ccnt", N_CHUNKS, sizeof(UShort));
   cbits = VG_(calloc)("ml.rss.cbits", N_CHUNKS / 64, sizeof(ULong));
   ml_map_init(&gmapped, "ml.rss.gmapped", 6);
   ml_map_init(&gd_map, "ml.rss.groups", 10);
   ml_map_init(&pin_map, "ml.rss.pinned", 10);
   thp_init();
   rss_on = True;
   VG_(track_die_mem_munmap)(on_munmap);
   VG_(track_die_mem_brk)(on_brk_shrink);
   VG_(track_copy_mem_remap)(on_remap);
   VG_(track_post_mem_write)(on_kernel_write);
}
