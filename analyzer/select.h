/* select.h -- which functions get a table (--function, --file, --top).

   --function GLOB (repeatable) matches a function name with fnmatch(3)
   (no flags), either the whole name or the name without its C++
   parameter list ("ns::f(int) const" also matches as "ns::f").
   --file GLOB (repeatable) matches the recorded source path or its
   basename.  Globs of one kind are alternatives; when both kinds are
   given a function must match one of each.  Only functions with LINE
   records (the model's ranked list) can be selected.

   With no glob, the --top N functions of the model's ranking for the
   chosen metric (inclusive bytes allocated for heap, made resident for
   rss) are selected, in ranking order (N = 0: all).  With globs every match is
   selected (--top does not apply), in source order: file path, then
   first line. */
#ifndef ML_SELECT_H
#define ML_SELECT_H

#include <stddef.h>

#include "err.h"
#include "model.h"
#include "trace_reader.h"

typedef struct ml_select ml_select;

/* Returns an empty selection, or NULL with *err set (out of memory).
   ml_select_free(NULL) is a no-op. */
ml_select *ml_select_new(ml_err *err);
void ml_select_free(ml_select *s);

/* Add a --function / --file glob (copied).  Return 0 or ML_ENOMEM. */
int ml_select_add_function(ml_select *s, const char *glob, ml_err *err);
int ml_select_add_file(ml_select *s, const char *glob, ml_err *err);

/* 1 when any glob was added. */
int ml_select_has_globs(const ml_select *s);

/* Selects functions of a finished model.  On success returns 0 and sets
   *out to a malloc'd array of *n pointers into the model (the caller
   frees the array, not the pointees); *n may be 0.  unmatched (may be
   NULL) receives a malloc'd, NUL-separated, empty-string-terminated list
   of the globs that matched nothing, formatted "--function X" (caller
   frees).  Returns ML_ENOMEM on failure. */
int ml_select_run(const ml_select *s, const ml_reader *r, const ml_model *m,
                  ml_metric metric, size_t top,
                  const ml_func_stats ***out, size_t *n,
                  char **unmatched, ml_err *err);

/* Length of name without a trailing C++ parameter list (and what follows
   it, e.g. " const"): the prefix before the '(' matching the last ')'.
   Returns strlen(name) when there is none. */
size_t ml_name_without_params(const char *name);

/* 1 when glob matches name or name without its parameter list. */
int ml_function_matches(const char *glob, const char *name);

/* 1 when glob matches path or its basename. */
int ml_file_matches(const char *glob, const char *path);

#endif /* ML_SELECT_H */
