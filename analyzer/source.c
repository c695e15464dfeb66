/* source.c -- source file resolution, reading and change detection
   (source.h).  Workload: a handful of files per report, each read once
   and split into lines; resolution tries a short list of candidate paths
   built from the --substitute-path and --source-dir rules. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <ctype.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hash.h"
#include "source.h"

#define MAX_SOURCE_BYTES ((off_t)1 << 30)   /* larger files: not read */
#define BRACE_LOOKAHEAD  2000u
#define BRACE_LOOKBACK   2000u

struct ml_source_file {
   char     *recorded;    /* the key */
   char     *resolved;    /* NULL when not found */
   char     *text;        /* whole contents, NUL-terminated */
   size_t   *starts;      /* nlines + 1 offsets: line i is text[starts[i-1],
                             starts[i]) minus its newline */
   uint32_t  nlines;
   int       changed;
};

typedef struct subst { char *old, *new_; } subst;

struct ml_source {
   char  **dirs;     size_t ndirs;
   subst  *substs;   size_t nsubsts;
   ml_source_file **files; size_t nfiles;
};

static int nomem(ml_err *err)
{
   return ml_err_set(err, ML_ENOMEM, "out of memory");
}

ml_source *ml_source_new(ml_err *err)
{
   ml_source *s = calloc(1, sizeof *s);
   if (!s)
      nomem(err);
   return s;
}

static void file_free(ml_source_file *f)
{
   if (!f)
      return;
   free(f->recorded);
   free(f->resolved);
   free(f->text);
   free(f->starts);
   free(f);
}

void ml_source_free(ml_source *s)
{
   if (!s)
      return;
   for (size_t i = 0; i < s->ndirs; i++)
      free(s->dirs[i]);
   free(s->dirs);
   for (size_t i = 0; i < s->nsubsts; i++) {
      free(s->substs[i].old);
      free(s->substs[i].new_);
   }
   free(s->substs);
   for (size_t i = 0; i < s->nfiles; i++)
      file_free(s->files[i]);
   free(s->files);
   free(s);
}

int ml_source_add_dir(ml_source *s, const char *dir, ml_err *err)
{
   char **nd = realloc(s->dirs, (s->ndirs + 1) * sizeof *nd);
   if (!nd)
      return nomem(err);
   s->dirs = nd;
   if (!(nd[s->ndirs] = strdup(dir)))
      return nomem(err);
   s->ndirs++;
   return 0;
}

int ml_source_add_subst(ml_source *s, const char *rule, ml_err *err)
{
   const char *eq = strchr(rule, '=');
   if (!eq || eq == rule)
      return ml_err_set(err, ML_EINVAL,
                        "--substitute-path: expected OLD=NEW, got '%s'",
                        rule);
   subst *ns = realloc(s->substs, (s->nsubsts + 1) * sizeof *ns);
   if (!ns)
      return nomem(err);
   s->substs = ns;
   subst *r = &ns[s->nsubsts];
   r->old = strndup(rule, (size_t)(eq - rule));
   r->new_ = strdup(eq + 1);
   if (!r->old || !r->new_) {
      free(r->old);
      free(r->new_);
      return nomem(err);
   }
   /* "OLD/" and "OLD" mean the same prefix */
   size_t n = strlen(r->old);
   if (n > 1 && r->old[n - 1] == '/')
      r->old[n - 1] = '\0';
   s->nsubsts++;
   return 0;
}

/*--- reading ---------------------------------------------------------*/

/* Opens path for reading if it is a regular file (st: its status), or
   returns NULL.  Opened without blocking, so that a FIFO or a device
   named by a trace's debug info cannot stall the report. */
static FILE *open_regular(const char *path, struct stat *st)
{
   int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
   if (fd < 0)
      return NULL;
   int flags = fcntl(fd, F_GETFL);
   FILE *fp;
   if (fstat(fd, st) || !S_ISREG(st->st_mode) || flags < 0 ||
       fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) ||
       !(fp = fdopen(fd, "rb"))) {
      close(fd);
      return NULL;
   }
   return fp;
}

/* Reads a regular file whole.  Returns 0, ML_EIO (not a regular file,
   unreadable, too large) or ML_ENOMEM. */
static int slurp(const char *path, char **text, size_t *n, struct stat *st)
{
   FILE *fp = open_regular(path, st);
   if (!fp)
      return ML_EIO;
   int rc = ML_EIO;
   char *buf = NULL;
   if (st->st_size > MAX_SOURCE_BYTES)
      goto out;
   size_t cap = (size_t)st->st_size + 1, len = 0;
   buf = malloc(cap);
   if (!buf) {
      rc = ML_ENOMEM;
      goto out;
   }
   for (;;) {                     /* the file may grow while we read */
      len += fread(buf + len, 1, cap - 1 - len, fp);
      if (len < cap - 1 || (off_t)cap > MAX_SOURCE_BYTES)
         break;
      char *nb = realloc(buf, cap * 2);
      if (!nb) {
         rc = ML_ENOMEM;
         goto out;
      }
      buf = nb;
      cap *= 2;
   }
   if (ferror(fp))
      goto out;
   buf[len] = '\0';
   *text = buf;
   *n = len;
   buf = NULL;
   rc = 0;
out:
   free(buf);
   fclose(fp);
   return rc;
}

int ml_source_hash_file(const char *path, uint64_t *hash)
{
   struct stat st;
   FILE *fp = open_regular(path, &st);
   if (!fp)
      return ML_EIO;
   unsigned char buf[65536];
   uint64_t h = ML_FNV1A64_INIT;
   size_t n;
   while ((n = fread(buf, 1, sizeof buf, fp)) > 0)
      h = ml_fnv1a64(buf, n, h);
   int bad = ferror(fp);
   fclose(fp);
   if (bad)
      return ML_EIO;
   *hash = h;
   return 0;
}

static int split_lines(ml_source_file *f, size_t n)
{
   size_t count = 0;
   for (size_t i = 0; i < n; i++)
      count += f->text[i] == '\n';
   if (n > 0 && f->text[n - 1] != '\n')
      count++;                    /* last line without a newline */
   if (count >= UINT32_MAX)
      count = UINT32_MAX - 1;
   f->starts = malloc((count + 1) * sizeof *f->starts);
   if (!f->starts)
      return ML_ENOMEM;
   size_t k = 0;
   f->starts[0] = 0;
   for (size_t i = 0; i < n && k < count; i++)
      if (f->text[i] == '\n')
         f->starts[++k] = i + 1;
   if (k < count)
      f->starts[++k] = n;
   f->nlines = (uint32_t)count;
   return 0;
}

/* Tries one candidate.  Returns 1 found, 0 not, ML_ENOMEM. */
static int try_path(ml_source_file *f, const char *cand,
                    const ml_file_facts *facts)
{
   char *text;
   size_t n;
   struct stat st;
   int rc = slurp(cand, &text, &n, &st);
   if (rc == ML_EIO)
      return 0;
   if (rc)
      return rc;
   f->text = text;
   if (!(f->resolved = strdup(cand)) || split_lines(f, n))
      return ML_ENOMEM;
   if (facts) {
      if ((uint64_t)n != facts->size)
         f->changed = 1;
      else if (facts->hash != 0)
         f->changed = ml_fnv1a64(text, n, ML_FNV1A64_INIT) != facts->hash;
      else
         f->changed = (uint64_t)st.st_mtime != facts->mtime;
   }
   return 1;
}

static char *join(const char *dir, const char *rest)
{
   char *p;
   size_t dl = strlen(dir);
   int slash = dl > 0 && dir[dl - 1] == '/';
   if (asprintf(&p, "%s%s%s", dir, slash ? "" : "/", rest) < 0)
      return NULL;
   return p;
}

/* try_path on dir/rel.  Returns what try_path returns, or ML_ENOMEM. */
static int try_joined(ml_source_file *f, const char *dir, const char *rel,
                      const ml_file_facts *facts)
{
   char *cand = join(dir, rel);
   if (!cand)
      return ML_ENOMEM;
   int rc = try_path(f, cand, facts);
   free(cand);
   return rc;
}

/* Runs the search of source.h; returns 1 found, 0 not, ML_ENOMEM. */
static int resolve(const ml_source *s, ml_source_file *f, const char *path,
                   const ml_file_facts *facts)
{
   int rc;
   for (size_t i = 0; i < s->nsubsts; i++) {
      const subst *r = &s->substs[i];
      size_t ol = strlen(r->old);
      if (strncmp(path, r->old, ol) != 0 ||
          (path[ol] != '/' && path[ol] != '\0' && r->old[ol - 1] != '/'))
         continue;
      char *cand;
      if (asprintf(&cand, "%s%s", r->new_, path + ol) < 0)
         return ML_ENOMEM;
      rc = try_path(f, cand, facts);
      free(cand);
      if (rc)
         return rc;
   }
   if ((rc = try_path(f, path, facts)))
      return rc;
   for (size_t d = 0; d < s->ndirs; d++) {
      const char *dir = s->dirs[d];
      if (path[0] != '/' && (rc = try_joined(f, dir, path, facts)))
         return rc;
      for (const char *p = strchr(path, '/'); p; p = strchr(p + 1, '/')) {
         if (p[1] == '\0')
            break;
         if ((rc = try_joined(f, dir, p + 1, facts)))
            return rc;
      }
   }
   return 0;
}

const ml_source_file *ml_source_get(ml_source *s, const char *path,
                                    const ml_file_facts *facts,
                                    ml_err *err)
{
   for (size_t i = 0; i < s->nfiles; i++)
      if (strcmp(s->files[i]->recorded, path) == 0)
         return s->files[i];
   ml_source_file **nf = realloc(s->files, (s->nfiles + 1) * sizeof *nf);
   if (!nf) {
      nomem(err);
      return NULL;
   }
   s->files = nf;
   ml_source_file *f = calloc(1, sizeof *f);
   if (!f || !(f->recorded = strdup(path)) ||
       resolve(s, f, path, facts) < 0) {
      file_free(f);
      nomem(err);
      return NULL;
   }
   s->files[s->nfiles++] = f;
   return f;
}

int ml_source_found(const ml_source_file *f)
{
   return f->resolved != NULL;
}

const char *ml_source_resolved(const ml_source_file *f)
{
   return f->resolved;
}

int ml_source_changed(const ml_source_file *f)
{
   return f->changed;
}

uint32_t ml_source_nlines(const ml_source_file *f)
{
   return f->nlines;
}

const char *ml_source_line(const ml_source_file *f, uint32_t n,
                           size_t *len)
{
   if (n == 0 || n > f->nlines)
      return NULL;
   size_t a = f->starts[n - 1], b = f->starts[n];
   if (b > a && f->text[b - 1] == '\n')
      b--;
   if (b > a && f->text[b - 1] == '\r')
      b--;
   *len = b - a;
   return f->text + a;
}

/* Trims blanks at both ends: *b, *len describe what is left. */
static void trim(const char **b, size_t *len)
{
   while (*len > 0 && (**b == ' ' || **b == '\t')) {
      (*b)++;
      (*len)--;
   }
   while (*len > 0 && ((*b)[*len - 1] == ' ' || (*b)[*len - 1] == '\t' ||
                       (*b)[*len - 1] == '\r'))
      (*len)--;
}

/* Reads line n as code: comments within the line are skipped, string
   and character literals count as their quote character.  Gives the
   number of braces, and the last character (0 if none). */
static char scan_code(const ml_source_file *f, uint32_t n,
                      unsigned *opens, unsigned *closes)
{
   size_t len = 0;
   const char *t = ml_source_line(f, n, &len);
   char last = 0;
   *opens = *closes = 0;
   for (size_t i = 0; t && i < len; i++) {
      char c = t[i];
      if (c == '/' && i + 1 < len && t[i + 1] == '/')
         break;
      if (c == '/' && i + 1 < len && t[i + 1] == '*') {
         for (i += 2; i + 1 < len && !(t[i] == '*' && t[i + 1] == '/'); i++)
            ;
         i++;
         continue;
      }
      if (c == '"' || c == '\'') {
         for (i++; i < len && t[i] != c; i++)
            if (t[i] == '\\')
               i++;
      } else if (c == '{') {
         (*opens)++;
      } else if (c == '}') {
         (*closes)++;
      }
      if (c != ' ' && c != '\t' && c != '\r')
         last = c;
   }
   return last;
}

static int is_ident_char(char c)
{
   return isalnum((unsigned char)c) || c == '_';
}

/* Whether one of the words kw[0 .. n) stands in t at i, as a whole
   word. */
static int word_at(const char *t, size_t len, size_t i,
                   const char *const *kw, size_t n)
{
   if (i > 0 && is_ident_char(t[i - 1]))
      return 0;
   for (size_t k = 0; k < n; k++) {
      size_t m = strlen(kw[k]);
      if (len - i >= m && memcmp(t + i, kw[k], m) == 0 &&
          (len - i == m || !is_ident_char(t[i + m])))
         return 1;
   }
   return 0;
}

/* Whether line n names a scope that is not a function's: struct,
   class, union, enum, namespace, extern "C" (as whole words). */
static int opens_type_scope(const ml_source_file *f, uint32_t n)
{
   static const char *const kw[] = { "struct", "class", "union", "enum",
                                     "namespace", "extern" };
   size_t len = 0;
   const char *t = ml_source_line(f, n, &len);
   for (size_t i = 0; t && i < len; i++)
      if (word_at(t, len, i, kw, sizeof kw / sizeof *kw))
         return 1;
   return 0;
}

/* Whether t declares a defaulted or deleted member ("= default" or
   "= delete"). */
static int is_defaulted(const char *t, size_t len)
{
   for (size_t i = 0; i + 1 < len; i++)
      if (t[i] == '=') {
         size_t j = i + 1;
         while (j < len && (t[j] == ' ' || t[j] == '\t'))
            j++;
         if ((len - j >= 7 && memcmp(t + j, "default", 7) == 0) ||
             (len - j >= 6 && memcmp(t + j, "delete", 6) == 0))
            return 1;
      }
   return 0;
}

/* The column where line t's text starts (tabs to multiples of 8) and,
   in *first, its first non-blank character (0 for a blank line). */
static size_t indent_of(const char *t, size_t len, char *first)
{
   size_t col = 0, i = 0;
   for (; i < len && (t[i] == ' ' || t[i] == '\t'); i++)
      col = t[i] == '\t' ? (col / 8 + 1) * 8 : col + 1;
   *first = i < len ? t[i] : 0;
   return col;
}

/* The last character of t other than blanks (0 if none). */
static char last_char(const char *t, size_t len)
{
   trim(&t, &len);
   return len > 0 ? t[len - 1] : 0;
}

uint32_t ml_source_function_close(const ml_source_file *f, uint32_t start,
                                  uint32_t from)
{
   size_t len, slen;
   const char *t = ml_source_line(f, from, &len);
   const char *st = ml_source_line(f, start, &slen);
   if (!t || !st)
      return 0;
   char c;
   size_t col0 = indent_of(st, slen, &c);
   indent_of(t, len, &c);
   char end = last_char(t, len);
   unsigned opens, closes;
   scan_code(f, from, &opens, &closes);
   if (c == '}' || end == '}' || (opens > 0 && opens == closes))
      return from;             /* the closing brace, or a body on one line
                                  ('{ ... };' too) */
   if (start == from && (opens_type_scope(f, from) ||
                         (end == ';' && is_defaulted(t, len))))
      return from;             /* a member the compiler wrote (an implicit
                                  destructor at its class's head, or
                                  'S(S&&) = default;') */
   for (uint32_t n = from + 1; n <= f->nlines && n - from <= BRACE_LOOKAHEAD;
        n++) {
      t = ml_source_line(f, n, &len);
      if (indent_of(t, len, &c) <= col0 &&
          (c == '}' || last_char(t, len) == '}'))
         return n;             /* the closing brace, or '{ body }' or
                                  ': init() { }' on one line */
   }
   return 0;
}

uint32_t ml_source_function_end(const ml_source_file *f, uint32_t start,
                                uint32_t last)
{
   uint32_t n = ml_source_function_close(f, start, last);
   return n ? n : last;
}

/* Whether trimmed text t begins with a statement keyword that can open
   a block (for, if, while, do, switch, else, try). */
static int starts_statement(const char *t, size_t len)
{
   static const char *const kw[] = { "for", "if", "while", "do", "switch",
                                     "else", "try" };
   return word_at(t, len, 0, kw, sizeof kw / sizeof *kw);
}

/* "public:", "protected:" or "private:" (trimmed). */
static int is_access_label(const char *t, size_t len)
{
   static const char *const labels[] = { "public:", "protected:", "private:" };
   for (size_t i = 0; i < sizeof labels / sizeof *labels; i++)
      if (len == strlen(labels[i]) && memcmp(t, labels[i], len) == 0)
         return 1;
   return 0;
}

/* The declarator lines above the lone '{' at line brace, at most 16. */
static uint32_t declarator_above(const ml_source_file *f, uint32_t brace)
{
   size_t len;
   const char *t;
   uint32_t start = brace;
   for (uint32_t n = brace - 1; n >= 1 && brace - n <= 16; n--) {
      t = ml_source_line(f, n, &len);
      if (!t)
         break;
      trim(&t, &len);
      if (len == 0 || t[0] == '#' || t[len - 1] == ';' || t[len - 1] == '}' ||
          t[len - 1] == '{' || is_access_label(t, len) ||
          (len >= 2 && t[len - 2] == '*' && t[len - 1] == '/'))
         break;                 /* the end of what came before */
      start = n;
   }
   return start;
}

uint32_t ml_source_function_start(const ml_source_file *f, uint32_t first)
{
   size_t len;
   const char *t = ml_source_line(f, first, &len);
   if (!t)
      return first;
   trim(&t, &len);
   if (len == 1 && t[0] == '{')
      return declarator_above(f, first);
   /* A statement (the line above ends one or opens a block): the body's
      first executed line of optimised code.  The function starts at the
      '{' that no brace below it closes. */
   uint32_t p = first - 1;
   char end = 0;
   unsigned opens, closes;
   char own = scan_code(f, first, &opens, &closes);
   if (!starts_statement(t, len) &&
       (opens > closes || (own != ';' && own != '}')))
      return first;             /* a head that opens its body, or a
                                   declarator's line (ends otherwise) */
   for (; p >= 1 && first - p <= 16 && !end; p--)
      end = scan_code(f, p, &opens, &closes);
   if (end != ';' && end != '{' && end != '}')
      return first;             /* a declarator's line, or no guide */
   long depth = 0;
   for (uint32_t n = first - 1; n >= 1 && first - n <= BRACE_LOOKBACK; n--) {
      scan_code(f, n, &opens, &closes);
      depth += (long)closes - (long)opens;
      if (depth < 0) {
         t = ml_source_line(f, n, &len);
         trim(&t, &len);
         uint32_t head = len == 1 && t[0] == '{' ? declarator_above(f, n) : n;
         for (uint32_t h = head; h <= n; h++)
            if (opens_type_scope(f, h))
               return first;    /* a class or namespace body, not a
                                   function's: first is a member */
         return head;
      }
   }
   return first;
}
