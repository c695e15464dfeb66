/* trace_reader.h -- streaming reader for memline traces (vg-tool/ml_trace.h).

   The reader is the one checked door for untrusted bytes: it validates
   every varint, id reference, length and bound, and hands out records
   whose fields are safe to use (every id it returns is defined).  It reads
   through a fixed 1 MiB window refilled from the file, never the whole
   file; its memory is O(strings + locations + stacks) -- the tables it
   keeps and owns -- plus one scratch buffer for a length-prefixed record
   larger than the window (bounded by ML_MAX_PAYLOAD and grown only as
   bytes actually arrive).

   Usage:
       ml_err err;
       ml_reader *r = ml_reader_open(path, &err);     // parses the HEADER
       ml_record rec;
       int rc;
       while ((rc = ml_reader_next(r, &rec)) > 0)
           ...use rec, ml_reader_string(r, id), ml_reader_loc(r, id)...
       if (rc < 0) fail with ml_reader_strerror(r);
       ml_reader_end_state(r, &off) says complete / truncated / trailing;
       ml_reader_free(r);

   String ids handed out (in records and in the LOC table) are canonical:
   two STRING records with the same bytes yield the smaller id, so equal
   ids mean equal strings.  The raw id is what the file says; the reader
   validates the raw id and then canonicalises it.

   A trace may be zstd-compressed (the tool's default: see
   docs/trace-format.md); it is decompressed as it is read, with the same
   bounded memory (a window of at most 2^27 bytes for the decompressor).

   Error messages read "path:offset: reason", where offset is the byte
   offset of the offending field (the tag for a bad tag, the varint for an
   overlong varint or an undefined id, the record start for a cut). */
#ifndef ML_TRACE_READER_H
#define ML_TRACE_READER_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

typedef struct ml_reader ml_reader;

/* The HEADER record.  Strings are NUL-terminated copies owned by the
   reader (an embedded NUL cuts the copy short). */
typedef struct ml_header {
   uint64_t version;             /* ML_TRACE_VERSION */
   uint64_t ptr_size, pid, ppid, start_time;
   uint64_t page_size;           /* with ML_HDR_RSS: a power of two up to
                                    1 GiB (checked); otherwise unchecked */
   const char *tool_version;
   const char *exe;
   uint32_t argc;
   const char *const *argv;      /* argc entries */
   uint32_t nopts;
   const char *const *opts;      /* nopts entries */
   uint64_t depth, flags;
   uint64_t inherited;           /* forked child: ALLOCs that follow the
                                    tables and are inherited blocks */
   uint64_t time_unit;           /* guest instructions per dt unit
                                    (--time-resolution); >= 1 (checked) */
} ml_header;

/* A FILE record: facts about a source file for change detection. */
typedef struct ml_file_facts {
   uint64_t size, mtime, hash;   /* hash: FNV-1a 64, 0 = not computed */
} ml_file_facts;

typedef struct ml_trailer {
   uint64_t total_instructions, n_allocs, n_frees, bytes_allocated;
   uint64_t heap_at_exit, peak_heap, exit_kind, exit_code;
   int      has_rss;             /* the RSS pair below was present */
   uint64_t rss_peak, rss_final; /* bytes; 0 when absent */
} ml_trailer;

/* One inline frame of a location: canonical string ids, line number. */
typedef struct ml_frame {
   uint32_t fn, file, line;
} ml_frame;

typedef struct ml_loc {
   uint64_t ip, flags;
   uint32_t nframes;             /* 1..ML_MAX_FRAMES */
   const ml_frame *frames;       /* innermost first; owned by the reader,
                                    valid until the next ml_reader_next */
} ml_loc;

typedef enum ml_rec_kind {
   ML_REC_STRING = 1, ML_REC_LOC, ML_REC_STACK,
   ML_REC_ALLOC, ML_REC_FREE, ML_REC_THREAD, ML_REC_TIME, ML_REC_PAGE,
   ML_REC_LINE, ML_REC_FILE, ML_REC_MARK, ML_REC_TRAILER
} ml_rec_kind;

/* A decoded record.  Ids are defined and canonical (strings).  Only the
   union member of rec.kind is set; the others hold stale values. */
typedef struct ml_record {
   ml_rec_kind kind;
   uint64_t offset;      /* file offset of the tag byte */
   uint64_t now;         /* guest instructions so far (after this dt):
                            the sum of dt times hdr.time_unit, i.e. the
                            start of the time unit the record is in */
   union {
      struct { uint32_t id; } def;        /* STRING, LOC, STACK: new id */
      struct {                                      /* ALLOC/FREE */
         uint32_t stack;
         int custom;     /* CALLOC/CFREE: a custom allocator's block */
         uint64_t size;
         uint64_t id;    /* block id: ALLOC/CALLOC number them from 0 */
      } block;
      struct { uint64_t tid; } thread;
      struct { uint64_t wall_ms; } time;
      struct {                                      /* PAGE */
         uint32_t stack;  /* 0: no stack (e.g. resident at start-up) */
         uint32_t kind;   /* ML_PAGE_* (< ML_PAGE_KINDS, checked) */
         int64_t  count;  /* pages made resident (> 0) or released (< 0) */
      } page;
      struct {                                      /* LINE */
         uint32_t fn, file, line;
         uint64_t entries, hw_heap;
         uint64_t hw_rss;  /* 0 when absent (trace without RSS) */
      } line;
      struct { uint32_t path; ml_file_facts f; } file;
      struct { uint32_t name; } mark;
      ml_trailer trailer;
   } u;
} ml_record;

/* How reading ended (meaningful once ml_reader_next returned 0). */
typedef enum ml_end {
   ML_END_NOT_YET = 0,   /* still reading, or stopped by an error */
   ML_END_COMPLETE,      /* TRAILER seen, nothing after it */
   ML_END_TRAILING,      /* TRAILER seen, bytes after it were ignored */
   ML_END_TRUNCATED      /* no TRAILER: the trace was cut */
} ml_end;

/* Opens path, checks the magic and reads the HEADER.  Returns the reader
   (free with ml_reader_free), or NULL with *err set (err may be NULL). */
ml_reader *ml_reader_open(const char *path, ml_err *err);

/* Same, over n bytes at data (not copied: data must outlive the reader).
   name is used in messages (copied). */
ml_reader *ml_reader_open_mem(const void *data, size_t n, const char *name,
                              ml_err *err);

/* 1 when the trace is zstd-compressed (ml_reader_open and
   ml_reader_open_mem detect it by the frame magic and decompress it as
   they read); then every offset in messages and in
   ml_reader_end_state is one in the decompressed stream. */
int ml_reader_compressed(const ml_reader *r);

/* Frees the reader and all its tables; NULL is a no-op. */
void ml_reader_free(ml_reader *r);

/* Reads the next record into *rec.  Returns 1 (a record), 0 (end: see
   ml_reader_end_state), or a negative ML_E* code; errors are sticky.
   Unknown length-prefixed records are skipped, never returned. */
int ml_reader_next(ml_reader *r, ml_record *rec);

/* The last error, "path:offset: reason" ("" if none).  Owned by r. */
const char *ml_reader_strerror(const ml_reader *r);

/* The header (owned by r, valid until ml_reader_free). */
const ml_header *ml_reader_header(const ml_reader *r);

/* The path or name given at open (owned by r). */
const char *ml_reader_path(const ml_reader *r);

/* How the stream ended; *offset (may be NULL) receives the cut offset
   (TRUNCATED: start of the first incomplete record, or the file size
   for a cut at a record boundary) or the offset of the first byte after
   the TRAILER (TRAILING). */
ml_end ml_reader_end_state(const ml_reader *r, uint64_t *offset);

/* Number of ALLOC, FREE and PAGE records returned so far. */
uint64_t ml_reader_events(const ml_reader *r);

/* Tables, valid for ids defined so far.  Id 0 is "none".
   ml_reader_string: the string's bytes (NUL-terminated; *len may be NULL)
   or NULL for an undefined id; id 0 is "". */
const char *ml_reader_string(const ml_reader *r, uint32_t id, size_t *len);
/* Number of defined ids (the largest id). */
uint32_t ml_reader_nstrings(const ml_reader *r);
uint32_t ml_reader_nlocs(const ml_reader *r);
uint32_t ml_reader_nstacks(const ml_reader *r);

/* Fills *out for a defined loc id (>= 1) and returns 0, else returns
   ML_EINVAL.  out->frames stays valid until the next ml_reader_next. */
int ml_reader_loc(const ml_reader *r, uint32_t id, ml_loc *out);

/* Parent and loc of a defined stack id (>= 1): returns 0, else
   ML_EINVAL.  loc 0 is the "frames cut" marker (then parent is 0). */
int ml_reader_stack(const ml_reader *r, uint32_t id, uint32_t *parent,
                    uint32_t *loc);

/* Looks up a string by content: returns its canonical id, or 0 when no
   STRING record has those bytes. */
uint32_t ml_reader_find_string(const ml_reader *r, const char *s);

#endif /* ML_TRACE_READER_H */
