/* ml_trace.h -- the memline trace format: the one contract between the
   Valgrind tool (vg-tool/, no libc) and the analyzer (analyzer/).

   A trace is an 8-byte magic followed by a stream of records.  Every
   record starts with a one-byte tag.  Integers are LEB128 varints
   (unsigned, at most 10 bytes); signed values are zigzag-encoded.

   Tags below ML_TAG_LEN_PREFIXED are fixed-schema, hot records with no
   length prefix (events, stack nodes).  Tags at or above it carry a
   varint payload length right after the tag, so a reader can bound every
   field by the payload and skip records it does not know; later versions
   may append fields at the end of such a payload.

   Ids are implicit: the n-th STRING record defines string id n (from 1),
   likewise LOC and STACK.  Id 0 means "none" (empty string, the root of
   the stack trie, the "frames cut" pseudo-location).  A record only
   refers to ids defined before it.

   docs/trace-format.md documents every field; keep the two in step.
   This header must compile without libc: it uses no includes. */
#ifndef ML_TRACE_H
#define ML_TRACE_H

#define ML_TRACE_MAGIC      "MEMLINE\0"   /* 8 bytes, NUL included */
#define ML_TRACE_MAGIC_LEN  8
#define ML_TRACE_VERSION    7
#define ML_TRACE_VERSION_MIN 4     /* oldest version a reader accepts:
                                      version 6 is version 7 without the
                                      stack field 0 (the newest node),
                                      version 5 version 6 with the STACK
                                      parent as an id, version 4 version
                                      5 without ML_TAG_SIZE_KNOWN */

/* ---- fixed-schema records (no length prefix) ---------------------- */
enum {
   /* STACK: up, loc id.  Defines the next stack id, id; its parent is
      id - up (1 <= up <= id): 1 when the parent is the node defined just
      before it, as along a new path of the trie, id for a root.  (In
      versions 4 and 5 the field is the parent id itself.)  A node whose
      loc is 0 marks a stack cut at --depth; it is always a root (parent
      0). */
   ML_TAG_STACK   = 0x01,
   /* ALLOC: dt (time units since the previous timed record: see "Time"
      below), stack (see "Event fields" below), size in bytes.  The block
      becomes live; its id is the number of ALLOC and CALLOC records
      before this one. */
   ML_TAG_ALLOC   = 0x02,
   /* FREE: dt, stack (where the free happened), size freed (absent with
      ML_TAG_SIZE_KNOWN), block id (see "Event fields"). */
   ML_TAG_FREE    = 0x03,
   /* THREAD: thread id that executes the following events. */
   ML_TAG_THREAD  = 0x04,
   /* TIME: dt, wall-clock milliseconds since the start of the run. */
   ML_TAG_TIME    = 0x05,
   /* PAGE: dt, stack (0: none, e.g. pages resident at start-up or
      inherited by a forked child), kind (ML_PAGE_*), zigzag signed page
      count: pages made resident (> 0) or released (< 0). */
   ML_TAG_PAGE    = 0x06,
   /* CALLOC / CFREE: as ALLOC / FREE, for blocks announced by a custom
      allocator (VALGRIND_MALLOCLIKE_BLOCK / FREELIKE_BLOCK /
      RESIZEINPLACE_BLOCK); they share the numbering of block ids with
      ALLOC.  A custom block usually lies inside a malloc'd arena that
      stays live with it. */
   ML_TAG_CALLOC  = 0x07,
   ML_TAG_CFREE   = 0x08,

   /* OR'ed into the tag of an event (ALLOC, FREE, PAGE, CALLOC, CFREE):
      its stack is the same as the previous event's of its class, and the
      stack field is left out (0x12, 0x13, 0x16, 0x17, 0x18). */
   ML_TAG_SAME_STACK = 0x10,
   /* OR'ed into the tag of a FREE or CFREE (version 5): the size field
      is left out, the block being one of the last ML_SIZE_WINDOW
      allocated (see "Event fields"; 0x23, 0x33, 0x28, 0x38). */
   ML_TAG_SIZE_KNOWN = 0x20,

   ML_TAG_LEN_PREFIXED = 0x40,

   /* ---- length-prefixed records: tag, payload length, payload ------ */
   /* HEADER (first record, exactly once): format version
      (ML_TRACE_VERSION), pointer size, page size, pid, ppid, start time
      (unix seconds), tool version string, executable path string, argc,
      argv strings, option count, option strings, depth, flags (ML_HDR_*),
      inherited (a forked child: number of ALLOC and CALLOC records, the
      first ones after the tables, that are blocks inherited from the
      parent; 0 otherwise), time unit (guest instructions per dt unit,
      >= 1: --time-resolution; see "Time").
      Strings here are inline: length, bytes. */
   ML_TAG_HEADER  = 0x40,
   /* STRING: the payload is the string's bytes (no NUL). */
   ML_TAG_STRING  = 0x41,
   /* LOC: code address, flags (ML_LOC_*), frame count n (>= 1), then n
      frames innermost first (an inlined function before the function it
      was inlined into): function string id, file string id, line. */
   ML_TAG_LOC     = 0x42,
   /* LINE: per-line statistics, cumulative since the start of the run:
      function string id, file string id, line, entries, highest heap
      bytes at entry, then (when RSS is recorded) highest RSS bytes at
      entry.  A later LINE for the same (function, file, line)
      replaces an earlier one (checkpoints). */
   ML_TAG_LINE    = 0x43,
   /* FILE: source file facts for change detection: path string id,
      size, mtime (unix seconds), FNV-1a 64-bit hash of the contents
      (0 when the file could not be read). */
   ML_TAG_FILE    = 0x44,
   /* MARK: dt, name string id (client-request snapshot / mark). */
   ML_TAG_MARK    = 0x45,
   /* TRAILER (last record): total instructions (exact, not in time
      units), allocations, frees,
      bytes allocated, heap bytes live at exit, peak heap bytes,
      exit kind (ML_EXIT_*), exit code or signal number, then (when RSS
      is recorded) peak RSS bytes and RSS bytes at exit.  A trace
      without a TRAILER is incomplete (killed or still being written). */
   ML_TAG_TRAILER = 0x7f
};

/* HEADER flags */
#define ML_HDR_LINES        0x1u   /* line statistics were recorded */
#define ML_HDR_FORK_CHILD   0x2u   /* this trace belongs to a forked child:
                                      its first ALLOCs are inherited blocks */
#define ML_HDR_RSS          0x4u   /* RSS was recorded: PAGE records present,
                                      LINE carries hw_rss, TRAILER carries
                                      rss_peak and rss_final */

/* PAGE kinds (the PAGE record's kind field; any other value is corrupt) */
#define ML_PAGE_ANON        0u     /* anonymous memory: heap, mmap, brk */
#define ML_PAGE_FILE        1u     /* file-backed data mappings */
#define ML_PAGE_STACK       2u     /* thread stacks */
#define ML_PAGE_CODE        3u     /* code pages fetched for execution */
#define ML_PAGE_KINDS       4u     /* number of kinds */

/* LOC flags */
#define ML_LOC_MAIN_EXE     0x1u   /* address is in the main executable */
#define ML_LOC_BELOW_MAIN   0x2u   /* frame is below main (libc start-up) */

/* TRAILER exit kinds */
#define ML_EXIT_NORMAL      0u     /* exit()/return from main/_exit: code is
                                      the exit status */
#define ML_EXIT_SIGNAL      1u     /* killed by a fatal signal: code is the
                                      signal when the process sent it to
                                      itself (abort, raise), else 0 */
#define ML_EXIT_EXEC        2u     /* the process called execve */

/* ---- time (version 4) ----------------------------------------------

   The clock is the number of guest instructions executed, counted
   exactly by the tool and recorded at a resolution of U instructions per
   unit (the HEADER's time unit; --time-resolution, default 2^20).  Every
   record with a dt field (ALLOC, FREE, CALLOC, CFREE, PAGE, TIME, MARK)
   is a timed record, and its dt is the difference of quantized clocks:
   floor(icount / U) - floor(icount of the previous timed record / U)
   (for the first one: of the trace's start).  So a reader's sum of the
   dt so far, times U, is the start of the U-instruction interval in
   which the record happened, and rounding never accumulates.  (A forked
   child's trace starts its clock at 0 in the unit in which it forked.)
   U = 1 gives exact instruction counts; those were almost all of a
   compressed trace's entropy. */

/* ---- event fields (version 3) --------------------------------------

   Stack: events fall in three classes -- allocations (ALLOC, CALLOC),
   frees (FREE, CFREE) and PAGE -- and each class remembers the stack id
   of its previous event (0 at the start of the trace).  An event whose
   stack equals it sets ML_TAG_SAME_STACK and has no stack field; any
   other writes the zigzag difference (stack - previous) as a varint,
   but for the newest stack node (the id of the last STACK record),
   which it writes as 0 (version 7): a difference of 0 is never needed,
   and an event at a stack seen for the first time comes right after
   that stack's new nodes (gcc's cc1: 58 K of its 921 K stack changes,
   a difference zstd could not predict).

   Block id: blocks are numbered in the order of their ALLOC and CALLOC
   records, from 0 (a forked child's inherited blocks first).  The id
   identifies a block for its whole life; addresses are not recorded
   (they cost more than all other fields together after compression,
   and no number in a report depends on them).  A FREE carries the id of
   the block it frees as the zigzag difference from the id of the
   previous FREE of its space (FREE or CFREE; 0 at the start): a program
   that frees in a regular order -- a garbage collector's sweep, a list
   torn down -- writes the same few bytes again and again.

   Freed size (version 5): both sides keep the sizes of the last
   ML_SIZE_WINDOW blocks allocated, block id i at i % ML_SIZE_WINDOW (a
   size of 2^32 - 1 or more is kept as ML_SIZE_UNKNOWN).  A FREE of a
   block with id >= (ALLOC and CALLOC records so far) - ML_SIZE_WINDOW
   whose kept size is not ML_SIZE_UNKNOWN may set ML_TAG_SIZE_KNOWN and
   leave out its size: it is the kept one.  The size of a freed block
   is implied by its id; a reader that keeps nothing per live block
   still learns it for a free of a recent block, which is most frees
   (containers: all but 1 of 1.29 M; churn, random frees among 100 K
   live blocks: 98%), at a fixed 1 MiB on each side. */
#define ML_SIZE_WINDOW       (1u << 18)
#define ML_SIZE_UNKNOWN      0xffffffffu
/* The window's entry for block id, and what it keeps of a size. */
#define ML_SIZE_SLOT(id)     ((id) & (ML_SIZE_WINDOW - 1))
static inline unsigned ml_size_kept(unsigned long long size)
{
   return size < ML_SIZE_UNKNOWN ? (unsigned)size : ML_SIZE_UNKNOWN;
}
#define ML_STACK_CLASS_ALLOC 0
#define ML_STACK_CLASS_FREE  1
#define ML_STACK_CLASS_PAGE  2
#define ML_STACK_CLASSES     3
#define ML_BLOCK_SPACES      2      /* 0 malloc (FREE), 1 custom (CFREE) */

/* Largest value of a few fields a reader accepts before calling a trace
   hostile; bounds keep a corrupt trace from making the analyzer allocate
   without limit. */
#define ML_MAX_FRAMES       1024u  /* inline frames in one LOC */
#define ML_MAX_PAYLOAD      (1u << 24) /* bytes in one length-prefixed record */
#define ML_MAX_VARINT_LEN   10

/* ---- varints ------------------------------------------------------- */

/* Writes v as LEB128 at p (room for ML_MAX_VARINT_LEN bytes needed);
   returns the number of bytes written (1..10). */
static inline int ml_put_uvarint(unsigned char *p, unsigned long long v)
{
   int n = 0;
   while (v >= 0x80) {
      p[n++] = (unsigned char)(v | 0x80);
      v >>= 7;
   }
   p[n++] = (unsigned char)v;
   return n;
}

/* Reads a LEB128 varint from [p, end).  Returns the number of bytes used
   (1..10), 0 when the input ends inside the varint, -1 when it is
   overlong (more than 10 bytes, or bits beyond 64). */
static inline int ml_get_uvarint(const unsigned char *p,
                                 const unsigned char *end,
                                 unsigned long long *out)
{
   unsigned long long v = 0;
   int shift = 0, n = 0;
   for (;;) {
      if (p + n >= end)
         return 0;
      unsigned char b = p[n++];
      if (shift == 63 && (b & 0x7e))
         return -1;                       /* bits beyond 64 */
      v |= (unsigned long long)(b & 0x7f) << shift;
      if (!(b & 0x80))
         break;
      shift += 7;
      if (n == ML_MAX_VARINT_LEN)
         return -1;
   }
   *out = v;
   return n;
}

static inline unsigned long long ml_zigzag(long long v)
{
   return ((unsigned long long)v << 1) ^ (unsigned long long)(v >> 63);
}

static inline long long ml_unzigzag(unsigned long long v)
{
   return (long long)(v >> 1) ^ -(long long)(v & 1);
}

/* ---- zstd framing ----------------------------------------------------

   A compressed trace is a sequence of zstd frames whose decompressed
   contents, concatenated, are the trace (docs/trace-format.md).  The
   tool writes some frames itself, without compressing: a frame holding
   n bytes stored raw (1 <= n <= ML_ZSTD_RAW_MAX) is the 12-byte header
   below followed by the n bytes.  Its first frame is one of these (the
   magic and HEADER record, readable without a decompressor), and a
   skippable frame (8-byte header, then n ignored bytes) blots out a
   trailer that an execve which failed took back. */

#define ML_ZSTD_RAW_HDR_LEN   12
#define ML_ZSTD_RAW_MAX       (128u * 1024) /* zstd's largest block */
#define ML_ZSTD_SKIP_HDR_LEN  8

static inline void ml_put_le32(unsigned char *p, unsigned v)
{
   p[0] = (unsigned char)v;
   p[1] = (unsigned char)(v >> 8);
   p[2] = (unsigned char)(v >> 16);
   p[3] = (unsigned char)(v >> 24);
}

/* The header of a frame of n raw bytes: magic 28 B5 2F FD; frame header
   descriptor 0xA0 (4-byte content size, single segment: the window is
   the content, no checksum, no dictionary); the content size; one block
   header (last block, type raw, size n). */
static inline void ml_zstd_raw_header(unsigned char *p, unsigned n)
{
   ml_put_le32(p, 0xFD2FB528u);
   p[4] = 0xA0;
   ml_put_le32(p + 5, n);
   unsigned b = (n << 3) | 1;
   p[9] = (unsigned char)b;
   p[10] = (unsigned char)(b >> 8);
   p[11] = (unsigned char)(b >> 16);
}

/* The header of a skippable frame whose n bytes follow it. */
static inline void ml_zstd_skip_header(unsigned char *p, unsigned n)
{
   ml_put_le32(p, 0x184D2A50u);
   ml_put_le32(p + 4, n);
}

#endif /* ML_TRACE_H */
