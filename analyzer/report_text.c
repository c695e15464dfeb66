/* report_text.c -- text output of memline-report (report_text.h): number
   formatting, the summary block and the per-function tables in
   memory_profiler's layout. */
#include <stdlib.h>
#include <string.h>

#include "report_text.h"

#define MEM_COL_MIN   12     /* memory_profiler's width */
/* memory_profiler formats Occurrences with width 10, but its header
   label "Occurrences" is 11 wide, so its rows end one column left of the
   header.  We right-align the counts under the label (width 11): rows and
   header line up, as in DESIGN.md's example, byte for byte. */
#define OCC_COL       11
#define NUM_BUF       64
#define SPARSE_LINES  20000u /* wider functions: only lines with data */
#define LABEL_WIDTH   18

int ml_unit_parse(const char *s, ml_unit *unit)
{
   static const char *const names[] = { "B", "KiB", "MiB", "GiB" };
   for (int i = 0; i < 4; i++)
      if (strcmp(s, names[i]) == 0) {
         *unit = (ml_unit)i;
         return 0;
      }
   return ML_EINVAL;
}

size_t ml_format_bytes(char *buf, size_t n, int64_t bytes, const ml_fmt *f)
{
   static const char *const names[] = { "B", "KiB", "MiB", "GiB" };
   static const double div[] = { 1.0, 1024.0, 1048576.0, 1073741824.0 };
   char tmp[NUM_BUF + 32];
   int len;
   if (f->unit == ML_UNIT_B) {
      len = snprintf(tmp, sizeof tmp, "%lld B", (long long)bytes);
   } else {
      int prec = f->precision < 0 ? 0
               : f->precision > ML_PRECISION_MAX ? ML_PRECISION_MAX
               : f->precision;
      len = snprintf(tmp, sizeof tmp, "%.*f %s", prec,
                     (double)bytes / div[f->unit], names[f->unit]);
      if (tmp[0] == '-') {        /* "-0.0" -> "0.0" */
         int zero = 1;
         for (const char *p = tmp + 1; *p && *p != ' '; p++)
            if (*p >= '1' && *p <= '9')
               zero = 0;
         if (zero) {
            memmove(tmp, tmp + 1, (size_t)len);
            len--;
         }
      }
   }
   if (n > 0)
      snprintf(buf, n, "%s", tmp);
   return (size_t)len;
}

size_t ml_format_count(char *buf, size_t n, uint64_t v)
{
   char digits[32], out[48];
   int nd = snprintf(digits, sizeof digits, "%llu", (unsigned long long)v);
   size_t k = 0;
   for (int i = 0; i < nd; i++) {
      if (i > 0 && (nd - i) % 3 == 0)
         out[k++] = ',';
      out[k++] = digits[i];
   }
   out[k] = '\0';
   if (n > 0)
      snprintf(buf, n, "%s", out);
   return k;
}

/*--- tables ----------------------------------------------------------*/

/* Writes s, trimming trailing blanks when trim is set. */
static void put_row(FILE *out, const char *s, int trim)
{
   size_t n = strlen(s);
   if (trim)
      while (n > 0 && s[n - 1] == ' ')
         n--;
   fwrite(s, 1, n, out);
}

int ml_report_table(FILE *out, const ml_table *t, const ml_fmt *f)
{
   char mem[NUM_BUF], inc[NUM_BUF], occ[NUM_BUF], head[256], row[512];
   int w = MEM_COL_MIN;
   for (size_t i = 0; i < t->nrows; i++) {
      const ml_row *r = &t->rows[i];
      if (!r->has_numbers)
         continue;
      int a = (int)ml_format_bytes(mem, sizeof mem, r->mem_usage, f);
      int b = (int)ml_format_bytes(inc, sizeof inc, r->increment, f);
      if (a > w)
         w = a;
      if (b > w)
         w = b;
   }
   fprintf(out, "Filename: %s\n", t->filename);
   for (size_t i = 0; i < t->nnotes; i++)
      fprintf(out, "%s\n", t->notes[i]);
   int hl = snprintf(head, sizeof head, "%6s %*s %*s  %*s   %s", "Line #",
                     w, "Mem usage", w, "Increment", OCC_COL, "Occurrences",
                     "Line Contents");
   fprintf(out, "\n%s\n", head);
   for (int i = 0; i < hl; i++)
      fputc('=', out);
   fputc('\n', out);

   for (size_t i = 0; i < t->nrows; i++) {
      const ml_row *r = &t->rows[i];
      mem[0] = inc[0] = occ[0] = '\0';
      if (r->has_numbers) {
         ml_format_bytes(mem, sizeof mem, r->mem_usage, f);
         ml_format_bytes(inc, sizeof inc, r->increment, f);
         if (r->has_occurrences)
            snprintf(occ, sizeof occ, "%llu",
                     (unsigned long long)r->occurrences);
      }
      snprintf(row, sizeof row, "%6u %*s %*s  %*s   ", (unsigned)r->line,
               w, mem, w, inc, OCC_COL, occ);
      int has_text = r->text && r->text_len > 0;
      put_row(out, row, !has_text);
      if (has_text)
         fwrite(r->text, 1, r->text_len, out);
      fputc('\n', out);
   }
   return ferror(out) ? ML_EIO : 0;
}

/*--- summary ---------------------------------------------------------*/

static void label(FILE *out, const char *l)
{
   fprintf(out, "%-*s", LABEL_WIDTH, l);
}

/* An argument as a shell would need it: bare when safe, else quoted. */
static void put_arg(FILE *out, const char *a)
{
   int safe = *a != '\0';
   for (const char *p = a; *p; p++)
      if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                  "0123456789_-+=/.,:@%", *p))
         safe = 0;
   if (safe) {
      fputs(a, out);
      return;
   }
   fputc('\'', out);
   for (const char *p = a; *p; p++) {
      if (*p == '\'')
         fputs("'\\''", out);
      else
         fputc(*p, out);
   }
   fputc('\'', out);
}

/* "anon 64.1, file 0.0, stack 0.1, code 4.0 MiB": the resident bytes
   per page kind, the unit written once, after the last. */
static void put_kinds(FILE *out, const int64_t *v, const ml_fmt *f)
{
   static const char *const names[] = { "anon", "file", "stack", "code" };
   _Static_assert(sizeof names / sizeof names[0] == ML_PAGE_KINDS,
                  "a name for every page kind");
   char a[NUM_BUF];
   for (unsigned k = 0; k < ML_PAGE_KINDS; k++) {
      ml_format_bytes(a, sizeof a, v[k], f);
      char *unit = strrchr(a, ' ');
      if (unit && k + 1 < ML_PAGE_KINDS)
         *unit = '\0';
      fprintf(out, "%s%s %s", k ? ", " : "", names[k], a);
   }
}

int ml_report_summary(FILE *out, const ml_reader *r, const ml_model *m,
                      const char *trace_name, const ml_fmt *f)
{
   const ml_header *h = ml_reader_header(r);
   const ml_summary *s = ml_model_summary(m);
   char a[NUM_BUF], b[NUM_BUF];
   uint64_t off;
   ml_end end = ml_reader_end_state(r, &off);
   int truncated = end == ML_END_TRUNCATED || end == ML_END_NOT_YET;

   label(out, "Command:");        /* exe, then argv (without the exe) */
   put_arg(out, h->exe);
   for (uint32_t i = 0; i < h->argc; i++) {
      fputc(' ', out);
      put_arg(out, h->argv[i]);
   }
   fputc('\n', out);

   label(out, "Trace:");
   if (truncated)
      fprintf(out, "%s (truncated at offset %llu%s)\n", trace_name,
              (unsigned long long)off,
              ml_reader_compressed(r) ? " of the decompressed stream" : "");
   else
      fprintf(out, "%s (complete)\n", trace_name);

   label(out, "Instructions:");
   ml_format_count(a, sizeof a, s->instructions);
   fprintf(out, "%s\n", a);

   /* the times below are the starts of units of this many instructions */
   if (h->time_unit > 1) {
      label(out, "Time resolution:");
      ml_format_count(a, sizeof a, h->time_unit);
      fprintf(out, "%s instructions\n", a);
   }

   if (s->has_rss) {
      label(out, "Peak RSS:");
      ml_format_bytes(a, sizeof a, s->peak_rss, f);
      ml_format_count(b, sizeof b, s->peak_rss_time);
      fprintf(out, "%s at instruction %s (", a, b);
      put_kinds(out, s->peak_rss_kind, f);
      fputs(")\n", out);

      label(out, truncated ? "RSS at cut:" : "Final RSS:");
      ml_format_bytes(a, sizeof a, s->rss, f);
      fprintf(out, "%s (", a);
      put_kinds(out, s->rss_kind, f);
      fputs(")\n", out);
   }

   label(out, "Peak heap:");
   ml_format_bytes(a, sizeof a, s->peak_heap, f);
   ml_format_count(b, sizeof b, s->peak_time);
   fprintf(out, "%s at instruction %s\n", a, b);

   label(out, "Allocations:");
   ml_format_count(a, sizeof a, s->n_allocs);
   ml_format_bytes(b, sizeof b, s->bytes_allocated > INT64_MAX ? INT64_MAX
                   : (int64_t)s->bytes_allocated, f);
   fprintf(out, "%s (%s allocated)\n", a, b);

   label(out, "Frees:");
   ml_format_count(a, sizeof a, s->n_frees);
   fprintf(out, "%s\n", a);

   /* a cut trace did not exit: what is live is live at the cut */
   label(out, truncated ? "Live at cut:" : "Leaked at exit:");
   ml_format_bytes(a, sizeof a, s->leaked_bytes > INT64_MAX ? INT64_MAX
                   : (int64_t)s->leaked_bytes, f);
   ml_format_count(b, sizeof b, s->leaked_blocks);
   fprintf(out, "%s in %s block%s\n", a, b, s->leaked_blocks == 1 ? "" : "s");

   if (s->inherited_blocks) {     /* forked child: blocks of the parent */
      label(out, "Inherited:");
      ml_format_bytes(a, sizeof a, s->inherited_bytes > INT64_MAX ? INT64_MAX
                      : (int64_t)s->inherited_bytes, f);
      ml_format_count(b, sizeof b, s->inherited_blocks);
      fprintf(out, "%s in %s block%s from the parent\n", a, b,
              s->inherited_blocks == 1 ? "" : "s");
   }

   label(out, "Stacks cut:");
   ml_format_count(a, sizeof a, s->cut_allocs);
   ml_format_count(b, sizeof b, s->n_allocs);
   fprintf(out, "%s of %s allocations (depth %llu)\n", a, b,
           (unsigned long long)h->depth);

   label(out, "Metric:");
   if (f->metric == ML_METRIC_RSS)
      fputs("rss (resident pages; --metric heap for the heap)\n", out);
   else if (s->has_rss)
      fputs("heap (live malloc/new bytes; --metric rss for resident "
            "pages)\n", out);
   else
      fputs("heap (live malloc/new bytes; no RSS in this trace)\n", out);
   return ferror(out) ? ML_EIO : 0;
}

/*--- one function ----------------------------------------------------*/

static void fill_row(ml_row *row, const ml_line_stats *ls, ml_metric metric,
                     const ml_source_file *sf, uint32_t line)
{
   memset(row, 0, sizeof *row);
   row->line = line;
   const ml_usage *u = ls ? &ls->by[metric] : NULL;
   if (u && (ls->entries > 0 || u->n_events > 0 || u->increment != 0)) {
      row->has_numbers = 1;
      row->mem_usage = u->mem_usage;
      row->increment = u->increment;
      row->occurrences = ls->entries;
      row->has_occurrences = ls->has_record;
   }
   if (sf)
      row->text = ml_source_line(sf, line, &row->text_len);
}

/* Whether line l of function fn has something to show. */
static int has_data(const ml_model *m, const ml_func_stats *fn, uint32_t l,
                    ml_metric metric)
{
   const ml_line_stats *ls = ml_model_line(m, fn->fn, fn->file, l);
   return ls && (ls->has_record || ls->by[metric].n_events);
}

/* Prints lines first..last of fn as one table. */
static int report_range(FILE *out, const ml_model *m,
                        const ml_func_stats *fn, const ml_fmt *f,
                        const char *path, const ml_source_file *sf,
                        uint32_t first, uint32_t last,
                        const char **notes, size_t nnotes)
{
   const char *sparse_note[4];
   uint64_t span = (uint64_t)last - first + 1;
   size_t nrows = 0;
   ml_row *rows = NULL;
   if (span <= SPARSE_LINES) {
      rows = malloc((size_t)span * sizeof *rows);
      if (!rows)
         return ML_ENOMEM;
      for (uint32_t l = first;; l++) {
         fill_row(&rows[nrows++], ml_model_line(m, fn->fn, fn->file, l),
                  f->metric, sf, l);
         if (l == last)
            break;
      }
   } else {
      /* the source range is no guide: list the model's lines of this
         function that have data, in line order */
      memcpy(sparse_note, notes, nnotes * sizeof *notes);
      sparse_note[nnotes++] = "(function spans too many lines: only lines "
                              "with data are shown)";
      notes = sparse_note;
      size_t cap = 0, pos;
      size_t n = ml_model_func_lines(m, fn->fn, fn->file, &pos);
      for (size_t i = pos; i < pos + n; i++) {
         const ml_line_stats *ls = ml_model_line_by_func(m, i);
         if (!(ls->has_record || ls->by[f->metric].n_events) ||
             ls->line < first || ls->line > last)
            continue;
         if (nrows == cap) {
            cap = cap ? cap * 2 : 64;
            ml_row *nr = realloc(rows, cap * sizeof *rows);
            if (!nr) {
               free(rows);
               return ML_ENOMEM;
            }
            rows = nr;
         }
         fill_row(&rows[nrows++], ls, f->metric, sf, ls->line);
      }
   }
   ml_table t = { path, notes, nnotes, rows, nrows };
   int rc = ml_report_table(out, &t, f);
   free(rows);
   return rc ? ML_EIO : 0;
}

int ml_report_function(FILE *out, const ml_reader *r, const ml_model *m,
                       ml_source *src, const ml_func_stats *fn,
                       const ml_fmt *f, ml_err *err)
{
   const char *path = ml_reader_string(r, fn->file, NULL);
   ml_file_facts facts;
   int has_facts = ml_model_file_facts(m, fn->file, &facts);
   const ml_source_file *sf = NULL;
   if (src) {
      sf = ml_source_get(src, path, has_facts ? &facts : NULL, err);
      if (!sf)
         return ML_ENOMEM;
   }
   int found = sf && ml_source_found(sf);

   char *note_buf = NULL;
   const char *notes[3];
   size_t nnotes = 0;
   if (!found) {
      if (asprintf(&note_buf, "(source not found: %s)", path) < 0) {
         ml_err_set(err, ML_ENOMEM, "out of memory");
         return ML_ENOMEM;
      }
      notes[nnotes++] = note_buf;
   } else if (ml_source_changed(sf)) {
      notes[nnotes++] = "(source changed since the run)";
   }

   /* One table per stretch of the text that is one function: lines of
      data past the end of the function listed so far start another (two
      inlined overloads of one name, which the debug info names alike,
      fall in one model function). */
   uint32_t first = fn->first_line, last = fn->last_line;
   int rc = 0;
   if (found && (uint64_t)last - first + 1 <= SPARSE_LINES) {
      /* hi: the function's closing line, 0 while none was found (a body
         longer than the look-ahead: the stretch then runs to the last
         line with data, and is closed from there) */
      uint32_t lo = ml_source_function_start(sf, first);
      uint32_t hi = ml_source_function_close(sf, lo, first), at = first;
      /* 64-bit: a last line of 2^32 - 1 (a hostile trace) must end it */
      for (uint64_t l64 = (uint64_t)first + 1; l64 <= last && !rc; l64++) {
         uint32_t l = (uint32_t)l64;
         if (!has_data(m, fn, l, f->metric))
            continue;
         if (!hi || l <= hi) {
            at = l;
            continue;
         }
         rc = report_range(out, m, fn, f, path, sf, lo, hi, notes, nnotes);
         if (!rc && fputc('\n', out) == EOF)
            rc = ML_EIO;
         nnotes = 0;
         lo = ml_source_function_start(sf, l);
         if (lo <= hi)
            lo = hi + 1;
         hi = ml_source_function_close(sf, lo, l);
         at = l;
      }
      if (!hi)
         hi = ml_source_function_end(sf, lo, at);
      if (!rc)
         rc = report_range(out, m, fn, f, path, sf, lo, hi, notes, nnotes);
   } else {
      rc = report_range(out, m, fn, f, path, found ? sf : NULL, first, last,
                        notes, nnotes);
   }
   if (rc == ML_ENOMEM)
      ml_err_set(err, rc, "out of memory");
   else if (rc)
      ml_err_set(err, rc, "write error");
   free(note_buf);
   return rc;
}
