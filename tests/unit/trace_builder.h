/* trace_builder.h -- header-only helper for the unit tests: builds a
   memline trace (vg-tool/ml_trace.h) in a growing memory buffer, record
   by record, with ml_put_uvarint, and can write it to a temporary file.

   Every tb_* record function returns or records nothing clever: ids are
   counted like the reader counts them (the n-th STRING is id n), and
   b->len before a call is the offset the record will start at, which is
   what the tests compare error offsets against.  Allocation failure
   aborts (tests only). */
#ifndef TRACE_BUILDER_H
#define TRACE_BUILDER_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ml_trace.h"

typedef struct tb {
   unsigned char *buf;
   size_t len, cap;
   uint32_t nstr, nloc, nstack;
   /* event field encoding (ml_trace.h, "event fields"), as the tool
      keeps it: previous stack per class, the next block id, the id of the
      previous FREE per space */
   uint32_t prev_stack[ML_STACK_CLASSES];
   uint64_t next_id;
   uint64_t prev_free_id[ML_BLOCK_SPACES];
   /* tests name blocks by a handle (an "address"): the live ones and
      their ids, and the last id freed */
   struct { uint64_t handle, id; int custom; } *live;
   size_t nlive, live_cap;
   uint64_t last_freed;
   uint64_t version;     /* the HEADER's format version; 0: the current */
} tb;

static inline void tb_reserve(tb *b, size_t n)
{
   if (b->len + n <= b->cap)
      return;
   size_t cap = b->cap ? b->cap : 256;
   while (cap < b->len + n)
      cap *= 2;
   b->buf = realloc(b->buf, cap);
   if (!b->buf)
      abort();
   b->cap = cap;
}

static inline void tb_bytes(tb *b, const void *p, size_t n)
{
   tb_reserve(b, n);
   if (n)
      memcpy(b->buf + b->len, p, n);
   b->len += n;
}

static inline void tb_byte(tb *b, unsigned v)
{
   unsigned char c = (unsigned char)v;
   tb_bytes(b, &c, 1);
}

static inline void tb_u(tb *b, uint64_t v)
{
   tb_reserve(b, ML_MAX_VARINT_LEN);
   b->len += (size_t)ml_put_uvarint(b->buf + b->len, v);
}

/* An empty trace: just the magic. */
static inline void tb_init(tb *b)
{
   memset(b, 0, sizeof *b);
   tb_bytes(b, ML_TRACE_MAGIC, ML_TRACE_MAGIC_LEN);
}

static inline void tb_fini(tb *b)
{
   free(b->buf);
   free(b->live);
   memset(b, 0, sizeof *b);
}

/* Starts a length-prefixed record; returns its offset for tb_end. */
static inline size_t tb_begin(tb *b, unsigned tag)
{
   size_t off = b->len;
   tb_byte(b, tag);
   return off;
}

/* Ends the record started at off: inserts the payload length after the
   tag. */
static inline void tb_end(tb *b, size_t off)
{
   size_t plen = b->len - off - 1;
   unsigned char v[ML_MAX_VARINT_LEN];
   int n = ml_put_uvarint(v, plen);
   tb_reserve(b, (size_t)n);
   memmove(b->buf + off + 1 + n, b->buf + off + 1, plen);
   memcpy(b->buf + off + 1, v, (size_t)n);
   b->len += (size_t)n;
}

static inline void tb_istr(tb *b, const char *s)
{
   tb_u(b, strlen(s));
   tb_bytes(b, s, strlen(s));
}

/* The HEADER payload of "./prog 10" (exe "./prog", argv without the
   exe: "10"; ptr 8, page 4096, pid 1234) up to and including depth,
   flags and the inherited count (a forked child's: its first ALLOC
   records that are inherited blocks): everything but the time unit,
   inside a record the caller began. */
static inline void tb_header_fields(tb *b, uint64_t depth, uint64_t flags,
                                    uint64_t inherited)
{
   tb_u(b, b->version ? b->version : ML_TRACE_VERSION);
   tb_u(b, 8); tb_u(b, 4096); tb_u(b, 1234); tb_u(b, 1); tb_u(b, 1700000000);
   tb_istr(b, "memline-test");
   tb_istr(b, "./prog");
   tb_u(b, 1); tb_istr(b, "10");
   tb_u(b, 1); tb_istr(b, "--depth=64");
   tb_u(b, depth);
   tb_u(b, flags);
   tb_u(b, inherited);
}

/* That HEADER with the time unit (instructions per dt unit). */
static inline void tb_header_full(tb *b, uint64_t depth, uint64_t flags,
                                  uint64_t inherited, uint64_t time_unit)
{
   size_t o = tb_begin(b, ML_TAG_HEADER);
   tb_header_fields(b, depth, flags, inherited);
   tb_u(b, time_unit);
   tb_end(b, o);
}

/* The same with exact time (unit 1): dt values are instructions. */
static inline void tb_header_inherited(tb *b, uint64_t depth, uint64_t flags,
                                       uint64_t inherited)
{
   tb_header_full(b, depth, flags, inherited, 1);
}

/* The same, inheriting nothing. */
static inline void tb_header_flags(tb *b, uint64_t depth, uint64_t flags)
{
   tb_header_inherited(b, depth, flags, 0);
}

static inline void tb_header(tb *b, uint64_t depth)
{
   tb_header_flags(b, depth, ML_HDR_LINES);
}

/* Magic + default header. */
static inline void tb_start(tb *b)
{
   tb_init(b);
   tb_header(b, 64);
}

/* Magic + default header with dt counted in units of time_unit
   instructions. */
static inline void tb_start_unit(tb *b, uint64_t time_unit)
{
   tb_init(b);
   tb_header_full(b, 64, ML_HDR_LINES, 0, time_unit);
}

/* Magic + default header with RSS recorded (page size 4096). */
static inline void tb_start_rss(tb *b)
{
   tb_init(b);
   tb_header_flags(b, 64, ML_HDR_LINES | ML_HDR_RSS);
}

static inline uint32_t tb_string(tb *b, const char *s)
{
   size_t o = tb_begin(b, ML_TAG_STRING);
   tb_bytes(b, s, strlen(s));
   tb_end(b, o);
   return ++b->nstr;
}

/* A LOC of n frames, frames[i] = { fn, file, line }, innermost first,
   with the given ML_LOC_* flags. */
static inline uint32_t tb_loc_flags(tb *b, uint64_t ip, uint64_t flags,
                                    unsigned n, const uint32_t (*frames)[3])
{
   size_t o = tb_begin(b, ML_TAG_LOC);
   tb_u(b, ip); tb_u(b, flags); tb_u(b, n);
   for (unsigned i = 0; i < n; i++) {
      tb_u(b, frames[i][0]); tb_u(b, frames[i][1]); tb_u(b, frames[i][2]);
   }
   tb_end(b, o);
   return ++b->nloc;
}

/* The same in the main executable. */
static inline uint32_t tb_loc(tb *b, uint64_t ip, unsigned n,
                              const uint32_t (*frames)[3])
{
   return tb_loc_flags(b, ip, ML_LOC_MAIN_EXE, n, frames);
}

static inline uint32_t tb_loc1(tb *b, uint32_t fn, uint32_t file,
                               uint32_t line)
{
   const uint32_t f[1][3] = { { fn, file, line } };
   return tb_loc(b, 0x400000u + line, 1, f);
}

/* STACK: from version 6 the parent as ids up from the new node's own
   (a parent not defined yet is written as 0 up, which is invalid);
   before, the parent id. */
static inline uint32_t tb_stack(tb *b, uint32_t parent, uint32_t loc)
{
   tb_byte(b, ML_TAG_STACK);
   if (b->version && b->version < 6)
      tb_u(b, parent);
   else
      tb_u(b, parent <= b->nstack ? b->nstack + 1 - parent : 0);
   tb_u(b, loc);
   return ++b->nstack;
}

/* The tag, dt and stack of an event of stack class cls: the stack is left
   out (ML_TAG_SAME_STACK) when it repeats the class's previous one, and
   from version 7 written as 0 when it is the newest node, as the tool
   does. */
static inline void tb_event_head(tb *b, unsigned tag, unsigned cls,
                                 uint64_t dt, uint32_t stack)
{
   uint32_t prev = b->prev_stack[cls];
   tb_byte(b, stack == prev ? (tag | ML_TAG_SAME_STACK) : tag);
   tb_u(b, dt);
   if (stack != prev)
      tb_u(b, stack == b->nstack && !(b->version && b->version < 7)
                 ? 0 : ml_zigzag((long long)stack - (long long)prev));
   b->prev_stack[cls] = stack;
}

/* A FREE or CFREE of block id, whatever it is. */
static inline void tb_free_id(tb *b, unsigned tag, uint64_t dt,
                              uint32_t stack, uint64_t size, uint64_t id)
{
   int custom = tag == ML_TAG_CFREE;
   tb_event_head(b, tag, ML_STACK_CLASS_FREE, dt, stack);
   tb_u(b, size);
   tb_u(b, ml_zigzag((long long)(id - b->prev_free_id[custom])));
   b->prev_free_id[custom] = id;
   b->last_freed = id;
}

/* A FREE or CFREE of block id with ML_TAG_SIZE_KNOWN: no size field,
   whether or not the reader has the block's size. */
static inline void tb_free_known(tb *b, unsigned tag, uint64_t dt,
                                 uint32_t stack, uint64_t id)
{
   int custom = tag == ML_TAG_CFREE;
   tb_event_head(b, tag | ML_TAG_SIZE_KNOWN, ML_STACK_CLASS_FREE, dt,
                 stack);
   tb_u(b, ml_zigzag((long long)(id - b->prev_free_id[custom])));
   b->prev_free_id[custom] = id;
   b->last_freed = id;
}

/* A block event: tag ML_TAG_ALLOC, FREE, CALLOC or CFREE of the block
   the test calls handle.  An ALLOC gives the handle the next id; a FREE
   frees the live block of that handle, or, when there is none, the
   block freed last (a double free). */
static inline void tb_block(tb *b, unsigned tag, uint64_t dt, uint32_t stack,
                            uint64_t size, uint64_t handle)
{
   int custom = tag == ML_TAG_CALLOC || tag == ML_TAG_CFREE;
   if (tag == ML_TAG_ALLOC || tag == ML_TAG_CALLOC) {
      tb_event_head(b, tag, ML_STACK_CLASS_ALLOC, dt, stack);
      tb_u(b, size);
      if (b->nlive == b->live_cap) {
         b->live_cap = b->live_cap ? 2 * b->live_cap : 16;
         b->live = realloc(b->live, b->live_cap * sizeof *b->live);
         if (!b->live)
            abort();
      }
      b->live[b->nlive].handle = handle;
      b->live[b->nlive].id = b->next_id++;
      b->live[b->nlive].custom = custom;
      b->nlive++;
      return;
   }
   uint64_t id = b->last_freed;
   for (size_t i = b->nlive; i > 0; i--) {
      if (b->live[i - 1].handle == handle && b->live[i - 1].custom == custom) {
         id = b->live[i - 1].id;
         b->live[i - 1] = b->live[--b->nlive];
         break;
      }
   }
   tb_free_id(b, tag, dt, stack, size, id);
}

static inline void tb_alloc(tb *b, uint64_t dt, uint32_t stack,
                            uint64_t size, uint64_t addr)
{
   tb_block(b, ML_TAG_ALLOC, dt, stack, size, addr);
}

static inline void tb_free(tb *b, uint64_t dt, uint32_t stack,
                           uint64_t size, uint64_t addr)
{
   tb_block(b, ML_TAG_FREE, dt, stack, size, addr);
}

/* Custom-allocator blocks (CALLOC / CFREE). */
static inline void tb_calloc(tb *b, uint64_t dt, uint32_t stack,
                             uint64_t size, uint64_t addr)
{
   tb_block(b, ML_TAG_CALLOC, dt, stack, size, addr);
}

static inline void tb_cfree(tb *b, uint64_t dt, uint32_t stack,
                            uint64_t size, uint64_t addr)
{
   tb_block(b, ML_TAG_CFREE, dt, stack, size, addr);
}

static inline void tb_thread(tb *b, uint64_t tid)
{
   tb_byte(b, ML_TAG_THREAD); tb_u(b, tid);
}

static inline void tb_time(tb *b, uint64_t dt, uint64_t wall_ms)
{
   tb_byte(b, ML_TAG_TIME); tb_u(b, dt); tb_u(b, wall_ms);
}

static inline void tb_page(tb *b, uint64_t dt, uint32_t stack,
                           uint64_t kind, int64_t count)
{
   tb_event_head(b, ML_TAG_PAGE, ML_STACK_CLASS_PAGE, dt, stack);
   tb_u(b, kind); tb_u(b, ml_zigzag(count));
}

static inline void tb_line(tb *b, uint32_t fn, uint32_t file, uint32_t line,
                           uint64_t entries, uint64_t hw)
{
   size_t o = tb_begin(b, ML_TAG_LINE);
   tb_u(b, fn); tb_u(b, file); tb_u(b, line); tb_u(b, entries); tb_u(b, hw);
   tb_end(b, o);
}

/* A LINE with the appended hw_rss field (traces with RSS). */
static inline void tb_line_rss(tb *b, uint32_t fn, uint32_t file,
                               uint32_t line, uint64_t entries, uint64_t hw,
                               uint64_t hw_rss)
{
   size_t o = tb_begin(b, ML_TAG_LINE);
   tb_u(b, fn); tb_u(b, file); tb_u(b, line); tb_u(b, entries); tb_u(b, hw);
   tb_u(b, hw_rss);
   tb_end(b, o);
}

static inline void tb_file(tb *b, uint32_t path, uint64_t size,
                           uint64_t mtime, uint64_t hash)
{
   size_t o = tb_begin(b, ML_TAG_FILE);
   tb_u(b, path); tb_u(b, size); tb_u(b, mtime); tb_u(b, hash);
   tb_end(b, o);
}

static inline void tb_mark(tb *b, uint64_t dt, uint32_t name)
{
   size_t o = tb_begin(b, ML_TAG_MARK);
   tb_u(b, dt); tb_u(b, name);
   tb_end(b, o);
}

/* TRAILER with the given totals, exit normal 0. */
static inline void tb_trailer(tb *b, uint64_t insns, uint64_t nallocs,
                              uint64_t nfrees, uint64_t bytes,
                              uint64_t heap_at_exit, uint64_t peak)
{
   size_t o = tb_begin(b, ML_TAG_TRAILER);
   tb_u(b, insns); tb_u(b, nallocs); tb_u(b, nfrees); tb_u(b, bytes);
   tb_u(b, heap_at_exit); tb_u(b, peak); tb_u(b, ML_EXIT_NORMAL); tb_u(b, 0);
   tb_end(b, o);
}

/* TRAILER with the appended RSS pair (peak and final resident bytes). */
static inline void tb_trailer_rss(tb *b, uint64_t insns, uint64_t nallocs,
                                  uint64_t nfrees, uint64_t bytes,
                                  uint64_t heap_at_exit, uint64_t peak,
                                  uint64_t rss_peak, uint64_t rss_final)
{
   size_t o = tb_begin(b, ML_TAG_TRAILER);
   tb_u(b, insns); tb_u(b, nallocs); tb_u(b, nfrees); tb_u(b, bytes);
   tb_u(b, heap_at_exit); tb_u(b, peak); tb_u(b, ML_EXIT_NORMAL); tb_u(b, 0);
   tb_u(b, rss_peak); tb_u(b, rss_final);
   tb_end(b, o);
}

/* Writes the trace to a new temporary file; path receives its name
   (at least 64 bytes).  Returns 0, or -1. */
static inline int tb_write_file(const tb *b, char *path)
{
   const char *dir = getenv("TMPDIR");
   snprintf(path, 64, "%.40s/memline-test-XXXXXX", dir ? dir : "/tmp");
   int fd = mkstemp(path);
   if (fd < 0)
      return -1;
   size_t off = 0;
   while (off < b->len) {
      ssize_t n = write(fd, b->buf + off, b->len - off);
      if (n <= 0) {
         close(fd);
         return -1;
      }
      off += (size_t)n;
   }
   return close(fd);
}

#endif /* TRACE_BUILDER_H */
