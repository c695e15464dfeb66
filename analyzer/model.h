/* model.h -- the numbers of a memline report, built from trace records.

   Semantics (docs/report.md, DESIGN.md section 3).  A line is a
   (function, file, line) triple of canonical string ids; a function is a
   (function, file) pair.  Two metrics are modelled side by side, each
   from its own events:

     heap   ALLOC (+size) and FREE (-size); the level is the live heap
     rss    PAGE (+/- count x HEADER page size); the level is the
            resident set, summed over the page kinds

   Every event has a stack S; its delta counts once for every distinct
   line and every distinct function found in the frames (all inline
   frames of all locs) on the path from S to the root -- callees
   included, recursion counted once.  Stack 0 (no stack) counts in the
   totals and in no line.  Per line and metric (ml_usage):

     increment    sum of those deltas (may be negative)
     added        sum of the positive deltas (bytes allocated / made
                  resident)
     mem usage    max(the LINE record's high-water at entry -- hw_heap or
                      hw_rss --, the highest level observed at any event
                      whose stack contains the line)
   and per line:
     occurrences  entries of the line's last LINE record

   The level observed at an event is the one after it when memory grows
   (ALLOC, page-in) and the one before it when memory shrinks (FREE,
   page-out): the freeing line ran while the memory was still there.

   The model is linear in the trace: events only update per-stack-node
   sums; ml_model_finish distributes them over the stack trie once, so
   memory is O(stacks + locs + lines) (plus live blocks with verify),
   never O(events). */
#ifndef ML_MODEL_H
#define ML_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "ml_trace.h"       /* ML_PAGE_KINDS */
#include "trace_reader.h"

typedef struct ml_model ml_model;

/* The memory metrics (--metric): index of the by[] arrays below. */
typedef enum ml_metric { ML_METRIC_HEAP = 0, ML_METRIC_RSS = 1 } ml_metric;
#define ML_METRICS 2

typedef struct ml_summary {
   uint64_t instructions;     /* TRAILER's total when complete, else the
                                 instruction count of the last event */
   int64_t  heap;             /* heap total after the last event */
   int64_t  peak_heap;        /* highest heap total (0 if none) */
   uint64_t peak_time;        /* instruction count when first reached */
   uint64_t n_allocs, n_frees, bytes_allocated;
   uint64_t leaked_bytes, leaked_blocks;  /* live blocks at the end:
                                 without verify, the heap total and
                                 inherited + ALLOCs - FREEs (0 if
                                 negative); with verify, the table's */
   uint64_t cut_allocs;       /* ALLOCs whose stack was cut at --depth */
   /* A forked child's trace (ML_HDR_FORK_CHILD) starts with ALLOCs of the
      blocks it inherited: exactly its first n ALLOC (and CALLOC) records,
      n being the HEADER's inherited count, whatever their time (the
      child's own first allocations may have dt 0 too).  They are live
      and count in the heap total, but are not allocations of this
      process: they are not in n_allocs / bytes_allocated and not charged
      to any line. */
   uint64_t inherited_blocks, inherited_bytes;
   /* RSS: PAGE records, bytes = page count x HEADER page_size.  Values
      are wrapping sums read as int64 (a hostile trace cannot trap). */
   int      has_rss;          /* ML_HDR_RSS is set or any PAGE record */
   uint64_t n_pages;          /* PAGE records */
   int64_t  rss;              /* resident bytes after the last event */
   int64_t  rss_kind[ML_PAGE_KINDS];       /* the same per ML_PAGE_* */
   int64_t  peak_rss;         /* highest RSS total (0 if none) */
   uint64_t peak_rss_time;    /* instruction count when first reached */
   int64_t  peak_rss_kind[ML_PAGE_KINDS];  /* the split at that moment */
   /* anomalies: tolerated, counted, reported as a warning; the first
      three only with ml_model_set_verify (0 otherwise) */
   uint64_t free_of_unknown;  /* FREE of a block not live */
   uint64_t free_size_differs;/* FREE whose size differs from the ALLOC */
   uint64_t rss_underflow;    /* PAGE releases that took their kind's
                                 resident bytes below zero */
   int        has_line_records;  /* any LINE record (after finish) */
   int        has_trailer;
   ml_trailer trailer;
} ml_summary;

/* One metric's numbers of a line. */
typedef struct ml_usage {
   int64_t  hw_at_entry;      /* from the LINE record: hw_heap / hw_rss
                                 (0 if none, or absent from the trace) */
   int64_t  increment;        /* net bytes, callees included */
   uint64_t added;            /* bytes allocated / made resident,
                                 callees included */
   uint64_t n_events;         /* ALLOC+FREE / PAGE events under the line */
   int      has_mem;          /* mem_usage is meaningful */
   int64_t  mem_usage;        /* the line's high-water mark */
} ml_usage;

typedef struct ml_line_stats {
   uint32_t fn, file, line;   /* the key (canonical string ids) */
   int      has_record;       /* a LINE record exists for it */
   uint64_t entries;          /* occurrences (0 if no record) */
   ml_usage by[ML_METRICS];   /* indexed by ml_metric */
} ml_line_stats;

/* One metric's inclusive totals of a function. */
typedef struct ml_func_usage {
   uint64_t added;            /* bytes allocated / made resident */
   int64_t  increment;        /* net bytes */
} ml_func_usage;

typedef struct ml_func_stats {
   uint32_t fn, file;         /* the key (canonical string ids) */
   uint32_t first_line, last_line;  /* min/max over its LINE records */
   ml_func_usage by[ML_METRICS];    /* indexed by ml_metric */
} ml_func_stats;

/* Creates an empty model that reads tables from r (borrowed: r must
   outlive the model).  Returns NULL with *err set on out of memory. */
ml_model *ml_model_new(const ml_reader *r, ml_err *err);

/* Turns on verification (memline-report --verify), before the first
   record: the model then keeps every live block in a table keyed by
   address (memory O(live blocks), and slower) to count the anomalies of
   ml_summary and to report leaks from the table.  Off by default: heap
   accounting needs no per-block state. */
void ml_model_set_verify(ml_model *m, int on);

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

/* The metric a report shows by default: ML_METRIC_RSS when the trace has
   RSS data (summary has_rss), else ML_METRIC_HEAP. */
ml_metric ml_model_default_metric(const ml_model *m);

/* Stats of one line (owned by m), or NULL when no LINE record and no
   stack frame names it.  A line named only by frames with no events under
   them has has_record == 0, has_mem == 0 and zero sums. */
const ml_line_stats *ml_model_line(const ml_model *m, uint32_t fn,
                                   uint32_t file, uint32_t line);

/* Every line the model knows, in no particular order: i < nlines. */
size_t ml_model_nlines(const ml_model *m);
const ml_line_stats *ml_model_line_at(const ml_model *m, size_t i);

/* The lines of function fn in file, in line order: the return value's
   count of them, from position *first of ml_model_line_by_func. */
size_t ml_model_func_lines(const ml_model *m, uint32_t fn, uint32_t file,
                           size_t *first);
const ml_line_stats *ml_model_line_by_func(const ml_model *m, size_t pos);

/* The functions that can get a table, in ranking order: those with at
   least one LINE record; when the trace has no LINE record at all (a
   killed run), the functions of the main executable (ML_LOC_MAIN_EXE
   frames; any frames if none is flagged) with events under them, their
   range being the min/max line of their frames.  Ranking order, per
   metric: inclusive bytes added (allocated / made resident) descending,
   then function name, then file name, then first line.  i <
   ml_model_nfuncs(m) (the same set for both metrics); the result is
   owned by m, NULL for i out of range. */
size_t ml_model_nfuncs(const ml_model *m);
const ml_func_stats *ml_model_func(const ml_model *m, ml_metric metric,
                                   size_t i);

/* The FILE record facts for a path string id: returns 1 and fills *out,
   or 0 when the trace has no FILE record for it. */
int ml_model_file_facts(const ml_model *m, uint32_t path,
                        ml_file_facts *out);

#endif /* ML_MODEL_H */
