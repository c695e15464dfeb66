/* source.h -- finding and reading the source files a trace names.

   A trace records source paths as the debug info spelled them; the tree
   may have moved since.  ml_source resolves a recorded path by trying, in
   order:
     1. each --substitute-path OLD=NEW rule whose OLD is a prefix of the
        path ending at a '/' boundary (OLD replaced by NEW), in the order
        given;
     2. the path as recorded (relative paths from the current directory);
     3. for each --source-dir DIR, in the order given: DIR/path (relative
        paths only), then DIR/suffix for successively shorter suffixes of
        the path, ending with DIR/basename.
   The first regular file that opens wins.  A missing file is not an
   error: the file is "not found" and the report prints a placeholder.
   Files are read whole (sources are small) and cached per recorded path.

   Change detection against the trace's FILE record: with a recorded hash
   (non-zero), the file changed when its size or FNV-1a 64 hash differs
   (mtime alone does not count: a checkout on another machine changes it);
   without a hash, when its size or mtime differs. */
#ifndef ML_SOURCE_H
#define ML_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "trace_reader.h"   /* ml_file_facts */

typedef struct ml_source ml_source;
typedef struct ml_source_file ml_source_file;

/* A resolver with no rules.  Returns NULL with *err set on out of
   memory.  Free with ml_source_free (NULL is a no-op), which also frees
   every ml_source_file it returned. */
ml_source *ml_source_new(ml_err *err);
void ml_source_free(ml_source *s);

/* Adds a --source-dir.  Returns 0 or ML_ENOMEM. */
int ml_source_add_dir(ml_source *s, const char *dir, ml_err *err);

/* Adds a --substitute-path rule "OLD=NEW" (OLD non-empty).  Returns 0,
   ML_EINVAL ("--substitute-path: expected OLD=NEW, got 'x'") or
   ML_ENOMEM. */
int ml_source_add_subst(ml_source *s, const char *rule, ml_err *err);

/* Resolves and reads the file recorded as path.  facts (may be NULL) is
   the trace's FILE record for it.  Returns the file, owned by s and
   valid until ml_source_free, or NULL with *err set (out of memory only;
   an unreadable file is returned as not found). */
const ml_source_file *ml_source_get(ml_source *s, const char *path,
                                    const ml_file_facts *facts,
                                    ml_err *err);

/* Whether the file was found and read. */
int ml_source_found(const ml_source_file *f);

/* The path that was opened (owned by s), or NULL when not found. */
const char *ml_source_resolved(const ml_source_file *f);

/* 1 when a FILE record exists and the file found differs from it. */
int ml_source_changed(const ml_source_file *f);

/* Number of lines (0 when not found). */
uint32_t ml_source_nlines(const ml_source_file *f);

/* Line n (1-based) without its newline (a trailing "\r\n" or "\n" is
   stripped); *len receives its length (it may contain NUL bytes and is
   not NUL-terminated).  Returns NULL when n is out of range. */
const char *ml_source_line(const ml_source_file *f, uint32_t n,
                           size_t *len);

/* Where a function that starts at line start (ml_source_function_start)
   and whose LINE records end at line last ends in the text: last if that
   line starts or ends with '}' (the closing brace, or a body on one
   line) or the text is unavailable; else the first later line that
   starts with '}' indented no deeper than line start (so a C++ member
   function ends at its own brace, not at its class's), looking at most
   2000 lines ahead; last when none is found. */
uint32_t ml_source_function_end(const ml_source_file *f, uint32_t start,
                                uint32_t last);
/* The same from line 'from', or 0 when no closing line is found. */
uint32_t ml_source_function_close(const ml_source_file *f, uint32_t start,
                                  uint32_t from);

/* Where a function whose first executed line is 'first' starts in the
   text: when that line is a lone opening brace (the K&R / GNU layouts),
   the lines of the declarator above it are included — going up over
   non-blank lines that do not end a statement or a block (';', '}'),
   open one ('{': a class or namespace around a member function), nor are
   preprocessor lines or C++ access labels ("public:"), at most 16.  When
   it is a statement (it begins with for, if, while, do, switch, else or
   try, or it ends with ';' or '}' and opens no block; and the line above
   ends with ';', '{' or '}': the first executed line of optimised code
   lies inside the body), the function
   starts at the '{' above that no brace between closes (with its
   declarator when the brace stands alone), looking at most 2000 lines
   up, unless that head names a struct, class, union, enum, namespace or
   extern scope (first is then a member).  Otherwise, or without text,
   'first'. */
uint32_t ml_source_function_start(const ml_source_file *f, uint32_t first);

/* FNV-1a 64 of a whole file's contents: returns 0 and sets *hash, or
   ML_EIO. */
int ml_source_hash_file(const char *path, uint64_t *hash);

#endif /* ML_SOURCE_H */
