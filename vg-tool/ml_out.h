/* ml_out.h -- the trace writer: an append-only 64 KiB buffer over a file
   descriptor kept above the client's range (or, compressed, a zstd
   process that writes the file), varint encoding of the records of
   ml_trace.h, and the guest-instruction clock the records are stamped
   with, in units of --time-resolution instructions.  The buffer is
   flushed when full, at least once a second while events arrive, before
   fork and execve, and at exit. */
#ifndef ML_OUT_H
#define ML_OUT_H

#include "pub_tool_basics.h"

/* --time-resolution: the instructions per dt unit (>= 1) of the traces
   opened from now on (ml_trace.h, "time"); 1 until set.  The HEADER
   records it (ml_out_time_unit). */
void ml_out_set_time_unit(ULong unit);
ULong ml_out_time_unit(void);

/* Opens the trace named by the --memline-out-file template (already
   expanded by the caller).  If a file of that name holds a trace of this
   process (an image it replaced by execve) or of its parent (a forked
   child given the same name), a suffix is added instead of clobbering
   it: .1, .2 ... after an execve, .PID for a forked child.  Returns
   False (and says why on the console) if no file could be created. */
Bool ml_out_open(const HChar *name);
/* --compress: with on, traces opened from now on are zstd streams when a
   zstd executable is found (says so on the console when none is). */
void ml_out_set_compression(Bool on, Int level);
/* Call once the HEADER record is written after ml_out_open: with
   compression, writes the magic and HEADER as a raw zstd frame and
   starts the compressor (the trace goes on as raw frames if it cannot
   start).  A no-op without compression. */
void ml_out_start(void);
Bool ml_out_is_open(void);
const HChar *ml_out_name(void);
void ml_out_flush(void);
void ml_out_close(void);
/* Drops buffered bytes and forgets the fd without closing the parent's
   file description (the forked child's first step). */
void ml_out_forget_after_fork(void);
/* Closes the trace and deletes its file, buffered records included. */
void ml_out_discard(void);
/* Before execve: flushes and remembers where the trace stands (file
   offset and encoder state).  What is written after it (the trailer)
   reaches the file at once, before the process image is replaced. */
void ml_out_seal(void);
/* execve failed: takes back everything written since ml_out_seal and
   goes on appending where the trace stood. */
void ml_out_unseal(void);

/* Flushes if anything is buffered and a second has passed since the last
   flush (called before the client blocks in a system call, so a sleeping
   or waiting program's trace is on disk). */
void ml_out_flush_if_stale(void);
/* Called at most every 'period_ms' from a timed flush, between records:
   writes a checkpoint (the line table) so a killed run keeps it. */
void ml_out_set_checkpoint(void (*fn)(void), UInt period_ms);

/* Fixed-schema records. */
/* STACK: the next node (ids from 1, in the order written) under parent */
void ml_out_stack(UInt parent, UInt loc);
/* custom: a block of a custom allocator (CALLOC / CFREE records). */
/* An ALLOC (CALLOC when custom); returns the block's id. */
ULong ml_out_alloc(ThreadId tid, UInt stack, SizeT size, Bool custom);
/* A FREE (CFREE) of block id. */
void ml_out_free(ThreadId tid, UInt stack, SizeT size, ULong id, Bool custom);
/* FREE and CFREE records of this trace that wrote their size (the
   others' blocks were in the size window). */
ULong ml_out_n_frees_sized(void);
void ml_out_time(void);
/* MARK: a named point in the run (MEMLINE_MARK), stamped like events. */
void ml_out_mark(UInt name);
/* PAGE: pages of one kind made resident (count > 0) or released.
   Consecutive page-ins of one thread, stack and kind in one time unit
   share a record. */
void ml_out_page(ThreadId tid, UInt stack, UInt kind, Long count);
/* Calls of ml_out_page, the PAGE records they wrote, and the sum of
   their counts per kind (net[ML_PAGE_KINDS]). */
void ml_out_page_stats(ULong *events, ULong *records, Long *net);

/* Length-prefixed records: begin, add fields, end. */
void ml_rec_begin(UChar tag);
void ml_rec_uv(ULong v);
void ml_rec_bytes(const void *p, SizeT n);   /* raw payload bytes */
void ml_rec_str(const HChar *s);             /* inline: length, bytes */
void ml_rec_end(void);

#endif
