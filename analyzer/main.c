/* main.c -- memline-report: reads a memline trace and prints the summary
   and the line-by-line tables (docs/report.md).

     memline-report [options] TRACE

   Exit status: 0 report written (also for a truncated trace, with a
   warning); 1 --function/--file matched no profiled function (the summary
   is still written); 2 usage error, unreadable or corrupt trace, write
   error -- one line "memline-report: what is wrong" on stderr and, for a
   corrupt trace, nothing on stdout.

   This is the only file that prints to stderr or exits. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ml_trace.h"
#include "model.h"
#include "report_text.h"
#include "select.h"
#include "source.h"
#include "trace_reader.h"

#define PROG    "memline-report"
#define VERSION "0.1.0"

enum { EXIT_NOMATCH = 1, EXIT_ERROR = 2 };

static const char usage[] =
   "usage: " PROG " [options] TRACE\n"
   "\n"
   "Prints a line-by-line memory report of a memline trace\n"
   "(valgrind --tool=memline writes memline.out.<pid>).\n"
   "\n"
   "  --function GLOB       report functions matching GLOB (repeatable)\n"
   "  --file GLOB           report functions in files matching GLOB\n"
   "                        (path or basename; repeatable)\n"
   "  --top N               without --function/--file: the N functions\n"
   "                        that added most memory (default 5, 0 = all)\n"
   "  --metric rss|heap     memory metric: resident pages or live heap\n"
   "                        bytes (default rss when the trace has RSS)\n"
   "  --units B|KiB|MiB|GiB units of memory columns (default MiB)\n"
   "  --precision N         decimal places, 0..12 (default 1)\n"
   "  --source-dir DIR      also look for sources under DIR (repeatable)\n"
   "  --substitute-path OLD=NEW\n"
   "                        rewrite a source path prefix (repeatable)\n"
   "  --verify              check every free against the live blocks\n"
   "                        (counts frees of unknown blocks, size\n"
   "                        mismatches, allocations over live blocks;\n"
   "                        slower, memory grows with the live blocks)\n"
   "  -o, --output FILE     write the report to FILE\n"
   "  -h, --help            show this help\n"
   "  --version             show the version\n"
   "\n"
   "Exit status: 0 ok, 1 no function matched, 2 error.\n";

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2),
                                                     noreturn));
static void die(const char *fmt, ...)
{
   va_list ap;
   va_start(ap, fmt);
   fputs(PROG ": ", stderr);
   vfprintf(stderr, fmt, ap);
   fputc('\n', stderr);
   va_end(ap);
   exit(EXIT_ERROR);
}

static void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void warn(const char *fmt, ...)
{
   va_list ap;
   va_start(ap, fmt);
   fputs(PROG ": warning: ", stderr);
   vfprintf(stderr, fmt, ap);
   fputc('\n', stderr);
   va_end(ap);
}

typedef struct opts {
   const char *trace;
   const char *output;
   int metric;          /* -1: by the trace (rss if it has RSS), else
                           an ml_metric */
   ml_fmt fmt;
   unsigned long top;
   int verify;          /* --verify: keep the live-block table */
   ml_select *sel;
   ml_source *src;
} opts;

/* Parses a whole decimal integer in [lo, hi]; 0 ok, -1 not. */
static int parse_int(const char *s, long lo, long hi, long *out)
{
   char *end;
   errno = 0;
   long v = strtol(s, &end, 10);
   if (errno || end == s || *end != '\0' || v < lo || v > hi)
      return -1;
   *out = v;
   return 0;
}

enum { O_FUNCTION, O_FILE, O_TOP, O_METRIC, O_UNITS, O_PRECISION,
       O_SOURCE_DIR, O_SUBST, O_OUTPUT, O_HELP, O_VERSION, O_VERIFY };

static const struct { const char *name; int id, has_arg; } options[] = {
   { "function", O_FUNCTION, 1 },  { "file", O_FILE, 1 },
   { "top", O_TOP, 1 },            { "metric", O_METRIC, 1 },
   { "units", O_UNITS, 1 },        { "precision", O_PRECISION, 1 },
   { "source-dir", O_SOURCE_DIR, 1 },
   { "substitute-path", O_SUBST, 1 },
   { "output", O_OUTPUT, 1 },      { "help", O_HELP, 0 },
   { "version", O_VERSION, 0 },    { "verify", O_VERIFY, 0 },
};

static void apply(opts *o, int id, const char *name, const char *val)
{
   ml_err err;
   long v;
   switch (id) {
   case O_FUNCTION:
      if (ml_select_add_function(o->sel, val, &err))
         die("%s", err.msg);
      break;
   case O_FILE:
      if (ml_select_add_file(o->sel, val, &err))
         die("%s", err.msg);
      break;
   case O_TOP:
      if (parse_int(val, 0, INT_MAX, &v))
         die("--top: expected a count >= 0, got '%s'", val);
      o->top = (unsigned long)v;
      break;
   case O_METRIC:
      if (strcmp(val, "heap") == 0)
         o->metric = ML_METRIC_HEAP;
      else if (strcmp(val, "rss") == 0)
         o->metric = ML_METRIC_RSS;
      else
         die("--metric: expected heap or rss, got '%s'", val);
      break;
   case O_UNITS:
      if (ml_unit_parse(val, &o->fmt.unit))
         die("--units: expected B, KiB, MiB or GiB, got '%s'", val);
      break;
   case O_PRECISION:
      if (parse_int(val, 0, ML_PRECISION_MAX, &v))
         die("--precision: expected an integer 0..%d, got '%s'",
             ML_PRECISION_MAX, val);
      o->fmt.precision = (int)v;
      break;
   case O_SOURCE_DIR:
      if (ml_source_add_dir(o->src, val, &err))
         die("%s", err.msg);
      break;
   case O_SUBST:
      if (ml_source_add_subst(o->src, val, &err))
         die("%s", err.msg);
      break;
   case O_OUTPUT:
      if (*val == '\0')
         die("%s: expected a file name", name);
      o->output = val;
      break;
   case O_VERIFY:
      o->verify = 1;
      break;
   case O_HELP:
      fputs(usage, stdout);
      exit(0);
   case O_VERSION:
      printf("%s %s (trace format %d)\n", PROG, VERSION, ML_TRACE_VERSION);
      exit(0);
   }
}

static void parse_args(opts *o, int argc, char **argv)
{
   int only_files = 0;
   for (int i = 1; i < argc; i++) {
      const char *a = argv[i];
      if (only_files || a[0] != '-' || a[1] == '\0') {
         if (o->trace)
            die("more than one trace given ('%s', '%s')", o->trace, a);
         o->trace = a;
         continue;
      }
      if (strcmp(a, "--") == 0) {
         only_files = 1;
         continue;
      }
      if (a[1] != '-') {          /* short options: -h, -o FILE, -oFILE */
         if (strcmp(a, "-h") == 0)
            apply(o, O_HELP, a, NULL);
         if (strncmp(a, "-o", 2) != 0)
            die("unknown option '%s' (try --help)", a);
         const char *val = a[2] ? a + 2 : (i + 1 < argc ? argv[++i] : NULL);
         if (!val)
            die("option '-o' needs a value");
         apply(o, O_OUTPUT, "-o", val);
         continue;
      }
      const char *eq = strchr(a + 2, '=');
      size_t nl = eq ? (size_t)(eq - (a + 2)) : strlen(a + 2);
      size_t k;
      for (k = 0; k < sizeof options / sizeof options[0]; k++)
         if (strlen(options[k].name) == nl &&
             strncmp(options[k].name, a + 2, nl) == 0)
            break;
      if (k == sizeof options / sizeof options[0])
         die("unknown option '%.*s' (try --help)", (int)nl + 2, a);
      const char *val = NULL;
      if (options[k].has_arg) {
         if (eq)
            val = eq + 1;
         else if (i + 1 < argc)
            val = argv[++i];
         else
            die("option '--%s' needs a value", options[k].name);
      } else if (eq) {
         die("option '--%s' takes no value", options[k].name);
      }
      apply(o, options[k].id, a, val);
   }
}

/* Warnings about how the trace ended and about tolerated anomalies. */
static void trace_warnings(const ml_reader *r, const ml_model *m)
{
   const char *path = ml_reader_path(r);
   const ml_summary *s = ml_model_summary(m);
   uint64_t off;
   ml_end end = ml_reader_end_state(r, &off);
   const char *dec = ml_reader_compressed(r)
                        ? " (offset in the decompressed stream)" : "";
   if (end == ML_END_TRUNCATED)
      warn("%s:%llu: trace is truncated (no trailer); reporting the %llu "
           "events before the cut%s", path, (unsigned long long)off,
           (unsigned long long)ml_reader_events(r), dec);
   else if (end == ML_END_TRAILING)
      warn("%s:%llu: data after the trailer ignored%s", path,
           (unsigned long long)off, dec);

   if (s->rss_underflow)
      warn("%s: inconsistent events tolerated: %llu page release(s) below "
           "zero resident pages of their kind", path,
           (unsigned long long)s->rss_underflow);

   if (s->free_of_unknown || s->free_size_differs)
      warn("%s: inconsistent events tolerated: %llu free(s) of a block "
           "that is not live, %llu free(s) with a size differing from the "
           "allocation", path,
           (unsigned long long)s->free_of_unknown,
           (unsigned long long)s->free_size_differs);

   if (s->has_trailer) {
      const ml_trailer *t = &s->trailer;
      char buf[512];
      size_t n = 0;
#define CHECK(field, mine, what)                                           \
      if (t->field != (uint64_t)(mine) && n < sizeof buf)                  \
         n += (size_t)snprintf(buf + n, sizeof buf - n,                    \
                               "%s%s %llu in the trailer, %llu in the "    \
                               "events", n ? "; " : "", what,              \
                               (unsigned long long)t->field,               \
                               (unsigned long long)(uint64_t)(mine));
      CHECK(n_allocs, s->n_allocs, "allocations");
      CHECK(n_frees, s->n_frees, "frees");
      CHECK(bytes_allocated, s->bytes_allocated, "bytes allocated");
      CHECK(peak_heap, s->peak_heap, "peak heap");
      CHECK(heap_at_exit, s->heap, "heap at exit");
      if (t->has_rss) {
         CHECK(rss_peak, s->peak_rss, "peak RSS");
         CHECK(rss_final, s->rss, "RSS at exit");
      }
#undef CHECK
      if (n)
         warn("%s: trailer disagrees with the events: %s", path, buf);
   }
}

int main(int argc, char **argv)
{
   ml_err err;
   opts o = { .fmt = { ML_UNIT_MIB, 1, ML_METRIC_HEAP }, .top = 5,
              .metric = -1 };
   if (!(o.sel = ml_select_new(&err)) || !(o.src = ml_source_new(&err)))
      die("%s", err.msg);
   parse_args(&o, argc, argv);
   if (!o.trace)
      die("no trace file given (try --help)");

   ml_reader *r = ml_reader_open(o.trace, &err);
   if (!r)
      die("%s", err.msg);
   ml_model *m = ml_model_new(r, &err);
   if (m)
      ml_model_set_verify(m, o.verify);
   if (!m || ml_model_load(m, r, &err)) {
      if (err.code == ML_ENOMEM)
         die("%s: out of memory after %llu events (the trace's stacks, "
             "lines and strings need more than there is)", o.trace,
             (unsigned long long)ml_reader_events(r));
      die("%s", err.msg);
   }
   int has_rss = ml_model_summary(m)->has_rss;
   if (o.metric == ML_METRIC_RSS && !has_rss)
      die("%s: --metric rss: this trace has no RSS data (recorded without "
          "RSS)", o.trace);
   o.fmt.metric = o.metric >= 0 ? (ml_metric)o.metric
                                : ml_model_default_metric(m);
   trace_warnings(r, m);

   const ml_func_stats **sel = NULL;
   size_t nsel = 0;
   char *unmatched = NULL;
   if (ml_select_run(o.sel, r, m, o.fmt.metric, o.top, &sel, &nsel,
                     &unmatched, &err))
      die("%s", err.msg);

   FILE *out = stdout;
   if (o.output && !(out = fopen(o.output, "w")))
      die("%s: %s", o.output, strerror(errno));

   int rc = ml_report_summary(out, r, m, o.trace, &o.fmt);
   for (size_t i = 0; rc == 0 && i < nsel; i++) {
      fputc('\n', out);
      rc = ml_report_function(out, r, m, o.src, sel[i], &o.fmt, &err);
      if (rc && rc != ML_EIO)
         die("%s", err.msg);
   }
   int status = 0;
   if (ml_select_has_globs(o.sel)) {
      if (nsel == 0) {
         /* one line naming every glob */
         char line[2048];
         size_t n = 0;
         for (const char *u = unmatched; *u && n < sizeof line;
              u += strlen(u) + 1)
            n += (size_t)snprintf(line + n, sizeof line - n, "%s%s",
                                  n ? " " : "", u);
         fprintf(stderr, "%s: no profiled function matches %s\n", PROG,
                 line);
         status = EXIT_NOMATCH;
      } else {
         for (const char *u = unmatched; *u; u += strlen(u) + 1)
            warn("%s matches no profiled function", u);
      }
   } else if (nsel == 0) {
      fprintf(stderr, "%s: note: %s: no function of the program has "
              "memory events or line statistics: only the summary is "
              "shown\n", PROG, o.trace);
   }
   if (nsel > 0 && !ml_model_summary(m)->has_line_records)
      fprintf(stderr, "%s: note: %s has no line statistics (%s): "
              "functions and lines come from the stacks of the memory "
              "events, Occurrences are blank\n", PROG, o.trace,
              ml_reader_header(r)->flags & ML_HDR_LINES
                 ? "no LINE records, e.g. a killed run"
                 : "recorded with --lines=no");

   if (fflush(out) || ferror(out) || (out != stdout && fclose(out)))
      die("%s: write error: %s", o.output ? o.output : "standard output",
          strerror(errno));
   if (out != stdout)
      out = NULL;
   free(sel);
   free(unmatched);
   ml_model_free(m);
   ml_reader_free(r);
   ml_source_free(o.src);
   ml_select_free(o.sel);
   return status;
}
