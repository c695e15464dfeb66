/* model.h -- the numbers of a memline report, built from trace records.

   Semantics (docs/report.md, DESIGN.md section 3).  A line is a
   (function, file, line) triple of canonical string ids; a function is a
   (function, file) pair.  Every ALLOC (+size) and FREE (-size) event has
   a stack S; its delta counts once for every distinct line and every
   distinct function found in the frames (all inline frames of all locs)
   on the path from S to the root -- callees included, recursion counted
   once.  Per line:

     increment    sum of those deltas (may be negative)
     allocated    sum of the positive deltas (bytes allocated)
     mem usage    max(hw_heap_at_entry of the line's LINE record,
                      highest heap total just after any event whose stack
                      contains the line)
     occurrences  entries of the line's last LINE record

   The model is linear in the trace: events only update per-stack-node
   sums; ml_model_finish distributes them over the stack trie once, so
   memory is O(stacks + locs + lines + live blocks), never O(events). */
#ifndef ML_MODEL_H
#define ML_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "trace_reader.h"

typedef struct ml_model ml_model;

typedef struct ml_summary {
   uint64_t instructions;     /* TRAILER's total when complete, else the
                                 instruction count of the last event */
   int64_t  heap;             /* heap total after the last event */
   int64_t  peak_heap;        /* highest heap total (0 if none) */
   uint64_t peak_time;        /* instruction count when first reached */
   uint64_t n_allocs, n_frees, bytes_allocated;
   uint64_t leaked_bytes, leaked_blocks;  /* live blocks at the end */
   uint64_t cut_allocs;       /* ALLOCs whose stack was cut at --depth */
   /* A forked child's trace (ML_HDR_FORK_CHILD) starts with ALLOCs of the
      blocks it inherited, all with dt 0.  They are live and count in the
      heap total, but are not allocations of this process: they are not in
      n_allocs / bytes_allocated and not charged to any line. */
   uint64_t inherited_blocks, inherited_bytes;
   uint64_t n_pages;          /* PAGE records (RSS, not modelled yet) */
   /* anomalies: tolerated, counted, reported as a warning */
   uint64_t alloc_of_live;    /* ALLOC of an address already live */
   uint64_t free_of_unknown;  /* FREE of an address not live */
   uint64_t free_size_differs;/* FREE whose size differs from the ALLOC */
   int        has_line_records;  /* any LINE record (after finish) */
   int        has_trailer;
   ml_trailer trailer;
} ml_summary;

typedef struct ml_line_stats {
   uint32_t fn, file, line;   /* the key (canonical string ids) */
   int      has_record;       /* a LINE record exists for it */
   uint64_t entries;          /* occurrences (0 if no record) */
   int64_t  hw_at_entry;      /* from the LINE record (0 if none) */
   int64_t  increment;        /* net bytes, callees included */
   uint64_t allocated;        /* bytes allocated, callees included */
   uint64_t n_events;         /* ALLOC/FREE events under the line */
   int      has_mem;          /* mem_usage is meaningful */
   int64_t  mem_usage;        /* the line's high-water heap */
} ml_line_stats;

typedef struct ml_func_stats {
   uint32_t fn, file;         /* the key (canonical string ids) */
   uint32_t first_line, last_line;  /* min/max over its LINE records */
   uint64_t allocated;        /* inclusive bytes allocated */
   int64_t  increment;        /* inclusive net bytes */
} ml_func_stats;

/* Creates an empty model that reads tables from r (borrowed: r must
   outlive the model).  Returns NULL with *err set on out of memory. */
ml_model *ml_model_new(const ml_reader *r, ml_err *err);

/* Frees the model; NULL is a no-op. */
void ml_model_free(ml_model *m);

/* Applies one record (as returned by ml_reader_next, in order).  Returns
   0 or ML_ENOMEM (*err set). */
int ml_model_add(ml_model *m, const ml_record *rec, ml_err *err);

/* Distributes the per-node sums over lines and functions and ranks the
   functions.  Call once, after the last record.  Returns 0 or
   ML_ENOMEM.  The accessors below are valid after it. */
int ml_model_finish(ml_model *m, ml_err *err);

/* Reads every record of r into m and finishes m.  Returns 0, or the
   reader's negative code with *err = the reader's message ("path:offset:
   reason"), or ML_ENOMEM.  r must be the reader given to ml_model_new. */
int ml_model_load(ml_model *m, ml_reader *r, ml_err *err);

/* Totals (owned by m). */
const ml_summary *ml_model_summary(const ml_model *m);

/* Stats of one line (owned by m), or NULL when no LINE record and no
   stack frame names it.  A line named only by frames with no events under
   them has has_record == 0, has_mem == 0 and zero sums. */
const ml_line_stats *ml_model_line(const ml_model *m, uint32_t fn,
                                   uint32_t file, uint32_t line);

/* Every line the model knows, in no particular order: i < nlines. */
size_t ml_model_nlines(const ml_model *m);
const ml_line_stats *ml_model_line_at(const ml_model *m, size_t i);

/* The functions that can get a table, in ranking order: those with at
   least one LINE record; when the trace has no LINE record at all (a
   killed run), the functions of the main executable (ML_LOC_MAIN_EXE
   frames; any frames if none is flagged) with events under them, their
   range being the min/max line of their frames.  Ranking order:
   inclusive allocated bytes descending, then function name, then file
   name.  i < ml_model_nfuncs(m); the result is owned by m. */
size_t ml_model_nfuncs(const ml_model *m);
const ml_func_stats *ml_model_func(const ml_model *m, size_t i);

/* The FILE record facts for a path string id: returns 1 and fills *out,
   or 0 when the trace has no FILE record for it. */
int ml_model_file_facts(const ml_model *m, uint32_t path,
                        ml_file_facts *out);

#endif /* ML_MODEL_H */
