/* select.c -- function selection by glob or by rank (select.h). */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "select.h"

struct ml_select {
   char **fn_globs;   size_t nfn;
   char **file_globs; size_t nfile;
};

ml_select *ml_select_new(ml_err *err)
{
   ml_select *s = calloc(1, sizeof *s);
   if (!s)
      ml_err_set(err, ML_ENOMEM, "out of memory");
   return s;
}

void ml_select_free(ml_select *s)
{
   if (!s)
      return;
   for (size_t i = 0; i < s->nfn; i++)
      free(s->fn_globs[i]);
   for (size_t i = 0; i < s->nfile; i++)
      free(s->file_globs[i]);
   free(s->fn_globs);
   free(s->file_globs);
   free(s);
}

static int push(char ***v, size_t *n, const char *g, ml_err *err)
{
   char **nv = realloc(*v, (*n + 1) * sizeof *nv);
   if (!nv)
      return ml_err_set(err, ML_ENOMEM, "out of memory");
   *v = nv;
   if (!(nv[*n] = strdup(g)))
      return ml_err_set(err, ML_ENOMEM, "out of memory");
   (*n)++;
   return 0;
}

int ml_select_add_function(ml_select *s, const char *glob, ml_err *err)
{
   return push(&s->fn_globs, &s->nfn, glob, err);
}

int ml_select_add_file(ml_select *s, const char *glob, ml_err *err)
{
   return push(&s->file_globs, &s->nfile, glob, err);
}

int ml_select_has_globs(const ml_select *s)
{
   return s->nfn + s->nfile > 0;
}

size_t ml_name_without_params(const char *name)
{
   size_t n = strlen(name);
   size_t close = n;
   while (close > 0 && name[close - 1] != ')')
      close--;
   if (close == 0)
      return n;
   /* only qualifiers may follow the list: " const", " &&", " noexcept" */
   if (strspn(name + close, " abcdefghijklmnopqrstuvwxyz&") != n - close)
      return n;
   /* close - 1 is the last ')'; find its '(' */
   int depth = 0;
   for (size_t i = close; i > 0; i--) {
      char c = name[i - 1];
      if (c == ')')
         depth++;
      else if (c == '(' && --depth == 0)
         return i - 1 > 0 ? i - 1 : n;
   }
   return n;
}

int ml_function_matches(const char *glob, const char *name)
{
   if (fnmatch(glob, name, 0) == 0)
      return 1;
   size_t k = ml_name_without_params(name);
   if (k == strlen(name))
      return 0;
   char *short_name = strndup(name, k);
   int ok = short_name && fnmatch(glob, short_name, 0) == 0;
   free(short_name);
   return ok;
}

int ml_file_matches(const char *glob, const char *path)
{
   if (fnmatch(glob, path, 0) == 0)
      return 1;
   const char *base = strrchr(path, '/');
   return base && fnmatch(glob, base + 1, 0) == 0;
}

static int source_order(const void *a, const void *b, void *ctx)
{
   const ml_reader *r = ctx;
   const ml_func_stats *x = *(const ml_func_stats *const *)a;
   const ml_func_stats *y = *(const ml_func_stats *const *)b;
   int c = strcmp(ml_reader_string(r, x->file, NULL),
                  ml_reader_string(r, y->file, NULL));
   if (c)
      return c;
   if (x->first_line != y->first_line)
      return x->first_line < y->first_line ? -1 : 1;
   return strcmp(ml_reader_string(r, x->fn, NULL),
                 ml_reader_string(r, y->fn, NULL));
}

int ml_select_run(const ml_select *s, const ml_reader *r, const ml_model *m,
                  ml_metric metric, size_t top,
                  const ml_func_stats ***out, size_t *n,
                  char **unmatched, ml_err *err)
{
   size_t nf = ml_model_nfuncs(m), k = 0;
   const ml_func_stats **sel = malloc((nf ? nf : 1) * sizeof *sel);
   char *fn_hit = calloc(s->nfn + 1, 1), *file_hit = calloc(s->nfile + 1, 1);
   if (!sel || !fn_hit || !file_hit)
      goto nomem;
   for (size_t i = 0; i < nf; i++) {
      const ml_func_stats *f = ml_model_func(m, metric, i);
      if (!ml_select_has_globs(s)) {
         if (top == 0 || k < top)
            sel[k++] = f;
         continue;
      }
      const char *name = ml_reader_string(r, f->fn, NULL);
      const char *path = ml_reader_string(r, f->file, NULL);
      int fn_ok = s->nfn == 0, file_ok = s->nfile == 0;
      for (size_t g = 0; g < s->nfn; g++)
         if (ml_function_matches(s->fn_globs[g], name))
            fn_ok = fn_hit[g] = 1;
      for (size_t g = 0; g < s->nfile; g++)
         if (ml_file_matches(s->file_globs[g], path))
            file_ok = file_hit[g] = 1;
      if (fn_ok && file_ok)
         sel[k++] = f;
   }
   if (ml_select_has_globs(s) && k > 1)
      qsort_r(sel, k, sizeof *sel, source_order, (void *)r);
   if (unmatched) {
      size_t len = 1;
      for (size_t g = 0; g < s->nfn; g++)
         len += fn_hit[g] ? 0 : strlen(s->fn_globs[g]) + 12;
      for (size_t g = 0; g < s->nfile; g++)
         len += file_hit[g] ? 0 : strlen(s->file_globs[g]) + 8;
      char *u = malloc(len), *p = u;
      if (!u)
         goto nomem;
      for (size_t g = 0; g < s->nfn; g++)
         if (!fn_hit[g])
            p += sprintf(p, "--function %s", s->fn_globs[g]) + 1;
      for (size_t g = 0; g < s->nfile; g++)
         if (!file_hit[g])
            p += sprintf(p, "--file %s", s->file_globs[g]) + 1;
      *p = '\0';
      *unmatched = u;
   }
   free(fn_hit);
   free(file_hit);
   *out = sel;
   *n = k;
   return 0;
nomem:
   free(sel);
   free(fn_hit);
   free(file_hit);
   return ml_err_set(err, ML_ENOMEM, "out of memory");
}
