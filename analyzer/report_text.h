/* report_text.h -- the text report: a summary, then one memory_profiler
   style table per selected function.

   The table layout is memory_profiler's, kept exactly: line number
   right-aligned in 6, a space, Mem usage right-aligned in W, a space,
   Increment right-aligned in W, two spaces, Occurrences right-aligned in
   11 (the width of its header label; memory_profiler says 10 and lets
   the label overflow, which misaligns its rows by one), three spaces,
   the source line verbatim.  W is 12 unless a value
   needs more (--units B with large numbers): then both memory columns of
   that table widen to the longest value, header included.  The header is
   built with the same widths; the rule under it is as long as the header.
   Rows without data (never executed, no memory event) keep the line
   number and leave the three number fields blank; a row with no source
   text has its trailing blanks trimmed. */
#ifndef ML_REPORT_TEXT_H
#define ML_REPORT_TEXT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "err.h"
#include "model.h"
#include "source.h"
#include "trace_reader.h"

typedef enum ml_unit { ML_UNIT_B, ML_UNIT_KIB, ML_UNIT_MIB, ML_UNIT_GIB }
   ml_unit;

#define ML_PRECISION_MAX 12

/* How the report shows its numbers, and which ones. */
typedef struct ml_fmt {
   ml_unit   unit;      /* default ML_UNIT_MIB */
   int       precision; /* 0..ML_PRECISION_MAX decimals; ignored for B */
   ml_metric metric;    /* the tables' Mem usage and Increment (and the
                           summary's Metric line); 0 = ML_METRIC_HEAP */
} ml_fmt;

/* Parses "B", "KiB", "MiB", "GiB" (exact spelling).  Returns 0 and sets
   *unit, or ML_EINVAL. */
int ml_unit_parse(const char *s, ml_unit *unit);

/* Formats a byte count in the chosen unit: "23.4 MiB", "-10.0 MiB",
   "0.0 MiB" (never "-0.0"), "1234 B".  Writes at most n bytes (NUL
   included) into buf; returns the length of the full text. */
size_t ml_format_bytes(char *buf, size_t n, int64_t bytes, const ml_fmt *f);

/* Formats an unsigned count with thousands separators: "1,234,567". */
size_t ml_format_count(char *buf, size_t n, uint64_t v);

/* One table row.  text (may be NULL) is not NUL-terminated. */
typedef struct ml_row {
   uint32_t    line;
   int         has_numbers;   /* 0: the three number fields are blank */
   int         has_occurrences; /* 0: Occurrences blank (no LINE record) */
   int64_t     mem_usage, increment;
   uint64_t    occurrences;
   const char *text;
   size_t      text_len;
} ml_row;

typedef struct ml_table {
   const char        *filename;   /* printed after "Filename: " */
   const char *const *notes;      /* lines printed under the Filename */
   size_t             nnotes;
   const ml_row      *rows;
   size_t             nrows;
} ml_table;

/* Writes "Filename: ...", the notes, a blank line, header, rule and the
   rows.  Returns 0 or ML_EIO (write error on out). */
int ml_report_table(FILE *out, const ml_table *t, const ml_fmt *f);

/* Writes the summary block for a model built from r and finished:
   the heap lines always, "Time resolution:" when the trace's time unit
   is above 1 instruction (its times are then the starts of units),
   "Peak RSS:" and "Final RSS:" (or "RSS at cut:") when the trace has
   RSS, and last "Metric:" naming f->metric.
   trace_name is the trace path as the user gave it.  Returns 0 or
   ML_EIO. */
int ml_report_summary(FILE *out, const ml_reader *r, const ml_model *m,
                      const char *trace_name, const ml_fmt *f);

/* Builds and writes the table of one function (from ml_model_func):
   rows from the function's start to its end in the text (source.h's
   ml_source_function_start and _end), the numbers of f->metric, the
   source text from src, the notes "(source not found: PATH)" and
   "(source changed since the run)".  Lines with data past the end of the
   function listed so far start another table, separated by a blank line
   (overloads inlined under one name).  A function spanning more than 20000 lines
   shows only its lines with data, with a note.  src may be NULL: no
   source is looked for (every file is "not found").  Returns 0, ML_EIO or
   ML_ENOMEM (*err set). */
int ml_report_function(FILE *out, const ml_reader *r, const ml_model *m,
                       ml_source *src, const ml_func_stats *fn,
                       const ml_fmt *f, ml_err *err);

#endif /* ML_REPORT_TEXT_H */
