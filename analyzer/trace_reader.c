/* trace_reader.c -- streaming, validating reader of memline traces.

   Implements trace_reader.h for the format in vg-tool/ml_trace.h.  The
   workload is a trace of up to tens of millions of fixed-schema event
   records (ALLOC/FREE, a few bytes each) interleaved with table records;
   the reader decodes them from a 1 MiB window that is refilled with
   read(2), so memory never depends on the number of events.

   Every untrusted byte passes through the cursor functions below (cur_u,
   cur_id, cur_str): they bound each field by the window (fixed-schema
   records, where running out means the trace was cut) or by the record's
   payload (length-prefixed records, where running out means corruption).
   Tables only grow by records actually read, so their size is bounded by
   the file size; nothing is allocated from a length field before the
   bytes it announces have arrived. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zstd.h>

#include "hash.h"
#include "ml_trace.h"
#include "trace_reader.h"

#define WIN_CAP      ((size_t)1 << 20)  /* read window (fd mode) */
#define ZIN_CAP      ((size_t)1 << 17)  /* compressed input buffer */
#define ZBLK_CAP     ((size_t)1 << 18)  /* decompressed block handed over */
#define ZNBLK        4                  /* blocks in flight */
#define FIXED_MAX    (2 + 4 * ML_MAX_VARINT_LEN)  /* longest fixed record:
                                  tag, 4 varints, an address's low bits */
#define RD_TRUNC     (-100)  /* internal: the input ends inside a record */
#define ML_MAX_PAGE_SIZE ((uint64_t)1 << 30)  /* largest page size taken */

typedef struct str_ent {
   size_t   off;     /* into sbytes; the bytes are NUL-terminated there */
   uint32_t len;
   uint32_t canon;   /* smallest id with the same bytes (may be itself) */
} str_ent;

typedef struct loc_ent {
   uint64_t ip, flags;
   size_t   first;   /* index of its first frame in frames[] */
   uint32_t n;       /* 1..ML_MAX_FRAMES */
} loc_ent;

typedef struct stack_ent {
   uint32_t parent;  /* 0 or an earlier stack id */
   uint32_t loc;     /* 0 ("frames cut", then parent == 0) or a loc id */
} stack_ent;

struct ml_reader {
   char *path;                 /* for messages */

   /* Input window: bytes [0, len) of win are file offsets
      [win_off, win_off + len); pos is the next unread byte. */
   int            fd;          /* -1 when reading from memory */
   const uint8_t *win;         /* buf (fd mode) or the caller's data */
   uint8_t       *buf;         /* owned, WIN_CAP bytes (fd mode) */
   size_t         cap, pos, len;
   uint64_t       win_off;
   int            eof;         /* nothing beyond len */
   int            whole;       /* the window is the whole input (an
                                  uncompressed trace in memory) */

   /* A zstd-compressed trace (it starts with a zstd or skippable frame
      magic): the window holds decompressed bytes and every offset is
      one in the decompressed stream.  The compressed bytes come from fd
      through zin, or from the caller's memory (zib over it). */
   ZSTD_DStream  *zs;          /* NULL: the input is not compressed */
   uint8_t       *zin;         /* owned, ZIN_CAP bytes (fd mode) */
   ZSTD_inBuffer  zib;         /* compressed bytes not yet decompressed */
   int            zin_eof;     /* no compressed bytes beyond zib */
   int            zframe_open; /* inside a frame: the input must go on */
   struct zpipe  *zp;          /* the decompressing thread, once started */
   uint8_t       *scratch;     /* a payload larger than the window */
   size_t         scratch_cap;

   int      failed;            /* sticky error code (0 = none) */
   ml_err   err;
   ml_end   end;
   uint64_t end_off;
   int      trailer_seen;
   /* The clock (ml_trace.h, "time"): ticks is the sum of all dt so
      far, in units of hdr.time_unit instructions (1 until the HEADER
      is read); records carry ticks * hdr.time_unit.  ticks <= max_ticks
      = UINT64_MAX / hdr.time_unit, so the product never wraps.
      pend_ticks: the ticks after the record being decoded, taken once
      it is whole. */
   uint64_t ticks, pend_ticks, max_ticks;
   uint64_t events;
   /* event field decoding state (ml_trace.h, "event fields"): the stack
      of the previous event per class, the next block id, the id of the
      previous FREE per space */
   uint32_t prev_stack[ML_STACK_CLASSES];
   uint64_t next_id;
   uint64_t prev_free_id[ML_BLOCK_SPACES];
   /* sizes of the last ML_SIZE_WINDOW blocks allocated (ml_trace.h,
      "Freed size"): entry id % ML_SIZE_WINDOW for ids below next_id */
   uint32_t *size_win;

   ml_header hdr;
   char     *hdr_arena;        /* every header string, NUL-terminated */
   char    **hdr_argv, **hdr_opts;

   /* STRING table: id i is strs[i - 1]. */
   char    *sbytes;
   size_t   sbytes_len, sbytes_cap;
   str_ent *strs;
   uint32_t nstr;
   size_t   str_cap;
   ml_idx   str_idx;           /* content -> id, first id per content */

   /* LOC table: id i is locs[i - 1]; frames hold canonical string ids. */
   loc_ent  *locs;
   uint32_t  nloc;
   size_t    loc_cap;
   ml_frame *frames;
   size_t    nframes, frames_cap;

   /* STACK table: id i is stacks[i - 1]. */
   stack_ent *stacks;
   uint32_t   nstack;
   size_t     stack_cap;
};

/*--- errors ----------------------------------------------------------*/

static int fail(ml_reader *r, int code, uint64_t off, const char *fmt, ...)
   __attribute__((format(printf, 4, 5)));

static int fail(ml_reader *r, int code, uint64_t off, const char *fmt, ...)
{
   char reason[ML_ERR_MAX / 2];
   va_list ap;
   va_start(ap, fmt);
   vsnprintf(reason, sizeof reason, fmt, ap);
   va_end(ap);
   ml_err_set(&r->err, code, "%s:%llu: %s%s", r->path,
              (unsigned long long)off, reason,
              r->zs ? " (offset in the decompressed stream)" : "");
   r->failed = code;
   return code;
}

static int nomem(ml_reader *r)
{
   r->failed = ML_ENOMEM;
   return ml_err_set(&r->err, ML_ENOMEM, "%s: out of memory", r->path);
}


/*--- the input window ------------------------------------------------*/

static uint64_t cur_offset(const ml_reader *r)
{
   return r->win_off + r->pos;
}

/* Decompression runs in a thread of its own (the second CPU), ZNBLK
   blocks ahead of the parser: on an allocation-heavy trace it is a third
   of the work.  The thread owns zs, zib, zin, fd and zin_eof; the parser
   takes whole blocks in order (zread), and sees an error only after all
   the bytes decompressed before it. */
typedef struct zpipe {
   pthread_t       th;
   pthread_mutex_t mu;
   pthread_cond_t  cv;
   uint8_t        *blk[ZNBLK];
   size_t          blen[ZNBLK];
   uint64_t        head, tail;  /* blocks published / given back */
   uint64_t        produced;    /* decompressed bytes published (thread) */
   int             done, stop;
   int             err;         /* 0, ML_EIO or ML_ECORRUPT after done */
   int             err_errno;
   const char     *err_name;    /* ZSTD_getErrorName */
   uint64_t        err_off;     /* decompressed offset of a corruption */
   /* the parser's side */
   int             have;        /* holds block tail % ZNBLK */
   size_t          pos;         /* next byte of it */
} zpipe;

/* Decompresses into dst[0, cap) (thread side): returns the bytes made
   (> 0), 0 at the end of the input, or -1 with z->err set.  A stream
   that ends inside a frame simply ends: what was decompressed is read as
   a truncated trace. */
static ssize_t zdecode(ml_reader *r, zpipe *z, uint8_t *dst, size_t cap,
                       uint64_t base)
{
   ZSTD_outBuffer out = { dst, cap, 0 };
   while (out.pos == 0) {
      if (r->zib.pos == r->zib.size) {
         if (r->zin_eof || !r->zin)
            return 0;
         ssize_t n = read(r->fd, r->zin, ZIN_CAP);
         if (n < 0) {
            if (errno == EINTR)
               continue;
            z->err = ML_EIO;
            z->err_errno = errno;
            return -1;
         }
         if (n == 0) {
            r->zin_eof = 1;
            return 0;
         }
         r->zib = (ZSTD_inBuffer){ r->zin, (size_t)n, 0 };
      }
      size_t ret = ZSTD_decompressStream(r->zs, &out, &r->zib);
      if (ZSTD_isError(ret)) {
         z->err = ML_ECORRUPT;
         z->err_name = ZSTD_getErrorName(ret);
         z->err_off = base + out.pos;
         return -1;
      }
      r->zframe_open = ret != 0;
   }
   return (ssize_t)out.pos;
}

static void *zthread(void *arg)
{
   ml_reader *r = arg;
   zpipe *z = r->zp;
   for (;;) {
      pthread_mutex_lock(&z->mu);
      while (!z->stop && z->head - z->tail == ZNBLK)
         pthread_cond_wait(&z->cv, &z->mu);
      int stop = z->stop;
      uint8_t *b = z->blk[z->head % ZNBLK];
      pthread_mutex_unlock(&z->mu);
      if (stop)
         return NULL;
      size_t n = 0;
      int end = 0;
      while (n < ZBLK_CAP) {
         ssize_t k = zdecode(r, z, b + n, ZBLK_CAP - n, z->produced + n);
         if (k <= 0) {
            end = 1;
            break;
         }
         n += (size_t)k;
      }
      pthread_mutex_lock(&z->mu);
      z->blen[z->head % ZNBLK] = n;
      z->produced += n;
      z->head++;
      z->done = end;
      pthread_cond_broadcast(&z->cv);
      pthread_mutex_unlock(&z->mu);
      if (end)
         return NULL;
   }
}

/* Starts the thread; returns 0 or ML_ENOMEM / ML_EIO (sticky error). */
static int zstart(ml_reader *r)
{
   zpipe *z = calloc(1, sizeof *z);
   if (!z)
      return nomem(r);
   for (int i = 0; i < ZNBLK; i++)
      if (!(z->blk[i] = malloc(ZBLK_CAP))) {
         for (int j = 0; j < i; j++)
            free(z->blk[j]);
         free(z);
         return nomem(r);
      }
   pthread_mutex_init(&z->mu, NULL);
   pthread_cond_init(&z->cv, NULL);
   r->zp = z;
   if (pthread_create(&z->th, NULL, zthread, r) != 0) {
      r->zp = NULL;
      for (int i = 0; i < ZNBLK; i++)
         free(z->blk[i]);
      free(z);
      r->failed = ML_EIO;
      return ml_err_set(&r->err, ML_EIO, "%s: cannot start a thread",
                        r->path);
   }
   return 0;
}

static void zstop(ml_reader *r)
{
   zpipe *z = r->zp;
   if (!z)
      return;
   pthread_mutex_lock(&z->mu);
   z->stop = 1;
   pthread_cond_broadcast(&z->cv);
   pthread_mutex_unlock(&z->mu);
   pthread_join(z->th, NULL);
   pthread_mutex_destroy(&z->mu);
   pthread_cond_destroy(&z->cv);
   for (int i = 0; i < ZNBLK; i++)
      free(z->blk[i]);
   free(z);
   r->zp = NULL;
}

/* Parser side: copies decompressed bytes into dst[0, cap); returns the
   count (> 0), 0 at the end, or -1 with errno set (read error) or the
   sticky error set (corrupt compressed data, at its decompressed
   offset). */
static ssize_t zread(ml_reader *r, uint8_t *dst, size_t cap)
{
   if (!r->zp && zstart(r))
      return -1;
   zpipe *z = r->zp;
   for (;;) {
      size_t i = z->tail % ZNBLK;
      if (z->have && z->pos < z->blen[i]) {
         size_t n = z->blen[i] - z->pos;
         if (n > cap)
            n = cap;
         memcpy(dst, z->blk[i] + z->pos, n);
         z->pos += n;
         return (ssize_t)n;
      }
      pthread_mutex_lock(&z->mu);
      if (z->have) {              /* give the used block back */
         z->tail++;
         z->have = 0;
         pthread_cond_broadcast(&z->cv);
      }
      while (z->head == z->tail && !z->done)
         pthread_cond_wait(&z->cv, &z->mu);
      int more = z->head != z->tail;
      pthread_mutex_unlock(&z->mu);
      if (more) {
         z->have = 1;
         z->pos = 0;
         continue;
      }
      if (z->err == ML_EIO) {
         errno = z->err_errno;
         return -1;
      }
      if (z->err == ML_ECORRUPT) {
         fail(r, ML_ECORRUPT, z->err_off, "corrupt zstd data: %s",
              z->err_name);
         return -1;
      }
      return 0;
   }
}

/* Makes at least need unread bytes available in the window, unless the
   input ends first (need <= cap).  Returns 0, ML_EIO or ML_ECORRUPT
   (corrupt compressed data). */
static int fill(ml_reader *r, size_t need)
{
   if (r->len - r->pos >= need || r->eof)
      return 0;
   if (r->pos > 0) {
      memmove(r->buf, r->buf + r->pos, r->len - r->pos);
      r->win_off += r->pos;
      r->len -= r->pos;
      r->pos = 0;
   }
   while (r->len < need && !r->eof) {
      ssize_t n = r->zs ? zread(r, r->buf + r->len, r->cap - r->len)
                        : read(r->fd, r->buf + r->len, r->cap - r->len);
      if (n < 0) {
         if (r->failed)
            return r->failed;     /* zread: corrupt compressed data */
         if (errno == EINTR)
            continue;
         r->failed = ML_EIO;
         return ml_err_set(&r->err, ML_EIO, "%s: %s", r->path,
                           strerror(errno));
      }
      if (n == 0)
         r->eof = 1;
      r->len += (size_t)n;
   }
   return 0;
}

/* Consumes n bytes without looking at them.  Returns 0, RD_TRUNC when
   the input ends first, or ML_EIO. */
static int skip_bytes(ml_reader *r, uint64_t n)
{
   while (n > 0) {
      if (r->pos == r->len) {
         int rc = fill(r, 1);
         if (rc)
            return rc;
         if (r->pos == r->len)
            return RD_TRUNC;
      }
      size_t take = r->len - r->pos;
      if (take > n)
         take = (size_t)n;
      r->pos += take;
      n -= take;
   }
   return 0;
}

/* The payload of a length-prefixed record whose tag and length occupy
   hdr_len bytes at pos: makes its plen bytes contiguous, consumes the
   whole record and returns them in *out (valid until the next read).
   Returns 0, RD_TRUNC, ML_EIO or ML_ENOMEM.  A payload larger than the
   window is gathered into scratch, grown only as bytes arrive. */
static int take_payload(ml_reader *r, size_t hdr_len, size_t plen,
                        const uint8_t **out)
{
   int rc;
   if (hdr_len + plen <= r->cap) {
      if ((rc = fill(r, hdr_len + plen)))
         return rc;
      if (r->len - r->pos < hdr_len + plen)
         return RD_TRUNC;
      *out = r->win + r->pos + hdr_len;
      r->pos += hdr_len + plen;
      return 0;
   }
   if (r->whole)                  /* memory mode: the window is all */
      return RD_TRUNC;
   r->pos += hdr_len;
   size_t have = 0;
   while (have < plen) {
      if (r->pos == r->len) {
         if ((rc = fill(r, 1)))
            return rc;
         if (r->pos == r->len)
            return RD_TRUNC;
      }
      size_t take = r->len - r->pos;
      if (take > plen - have)
         take = plen - have;
      if (have + take > r->scratch_cap) {
         size_t want = r->scratch_cap ? r->scratch_cap * 2 : WIN_CAP;
         while (want < have + take)
            want *= 2;
         if (want > plen)
            want = plen;
         uint8_t *ns = realloc(r->scratch, want);
         if (!ns)
            return nomem(r);
         r->scratch = ns;
         r->scratch_cap = want;
      }
      memcpy(r->scratch + have, r->win + r->pos, take);
      have += take;
      r->pos += take;
   }
   *out = r->scratch;
   return 0;
}

/*--- the checked door: cursors over a record -------------------------*/

typedef struct cur {
   ml_reader     *r;
   const uint8_t *base, *p, *end;
   uint64_t       base_off;    /* file offset of base */
   int            in_payload;  /* running out is corruption, not a cut */
   const char    *rec;         /* record name for messages */
} cur;

static uint64_t cur_off(const cur *c)
{
   return c->base_off + (uint64_t)(c->p - c->base);
}

/* Reads one varint field.  Returns 0, RD_TRUNC (fixed record cut by the
   end of input) or ML_ECORRUPT. */
static int cur_u_slow(cur *c, uint64_t *v, const char *field);

static inline __attribute__((always_inline))
int cur_u(cur *c, uint64_t *v, const char *field)
{
   if (c->end - c->p >= ML_MAX_VARINT_LEN) {
      /* fast path: ten bytes are there, no bounds check per byte */
      const uint8_t *p = c->p;
      uint64_t x = p[0];
      if (x < 0x80) {
         c->p = p + 1;
         *v = x;
         return 0;
      }
      x &= 0x7f;
      for (int i = 1; i < ML_MAX_VARINT_LEN - 1; i++) {
         uint64_t b = p[i];
         x |= (b & 0x7f) << (7 * i);
         if (b < 0x80) {
            c->p = p + i + 1;
            *v = x;
            return 0;
         }
      }
      /* tenth byte: the checked decoder reports overlong input */
   }
   return cur_u_slow(c, v, field);
}

static int cur_u_slow(cur *c, uint64_t *v, const char *field)
{
   unsigned long long x;
   int n = ml_get_uvarint(c->p, c->end, &x);
   if (n < 0)
      return fail(c->r, ML_ECORRUPT, cur_off(c),
                  "overlong varint (%s %s)", c->rec, field);
   if (n == 0) {
      if (!c->in_payload)
         return RD_TRUNC;
      return fail(c->r, ML_ECORRUPT, cur_off(c),
                  "%s record: %s runs past the end of its payload",
                  c->rec, field);
   }
   c->p += n;
   *v = x;
   return 0;
}

/* Reads an id field that must be 0 (when zero_ok) or <= defined.  kind
   names the table in messages ("string", "loc", "stack"). */
static inline int cur_id(cur *c, uint32_t *id, uint32_t defined, int zero_ok,
                  const char *kind, const char *field)
{
   uint64_t off = cur_off(c), v;
   int rc = cur_u(c, &v, field);
   if (rc)
      return rc;
   if (v == 0 && !zero_ok)
      return fail(c->r, ML_ECORRUPT, off, "%s record: %s id 0 not allowed",
                  c->rec, kind);
   if (v > defined)
      return fail(c->r, ML_ECORRUPT, off, "%s id %llu not defined", kind,
                  (unsigned long long)v);
   *id = (uint32_t)v;
   return 0;
}

/* A string id, canonicalised. */
static int cur_str_id(cur *c, uint32_t *id, const char *field)
{
   int rc = cur_id(c, id, c->r->nstr, 1, "string", field);
   if (rc == 0 && *id)
      *id = c->r->strs[*id - 1].canon;
   return rc;
}

/* A line number (must fit 32 bits). */
static int cur_line(cur *c, uint32_t *line)
{
   uint64_t off = cur_off(c), v;
   int rc = cur_u(c, &v, "line");
   if (rc)
      return rc;
   if (v > UINT32_MAX)
      return fail(c->r, ML_ECORRUPT, off, "line number %llu out of range",
                  (unsigned long long)v);
   *line = (uint32_t)v;
   return 0;
}

/* A PAGE kind: one of ML_PAGE_*. */
static int cur_kind(cur *c, uint32_t *kind)
{
   uint64_t off = cur_off(c), v;
   int rc = cur_u(c, &v, "kind");
   if (rc)
      return rc;
   if (v >= ML_PAGE_KINDS)
      return fail(c->r, ML_ECORRUPT, off, "%s record: page kind %llu not "
                  "in 0..%u", c->rec, (unsigned long long)v,
                  ML_PAGE_KINDS - 1);
   *kind = (uint32_t)v;
   return 0;
}

/* An inline string (length, bytes) inside a payload. */
static int cur_str(cur *c, const uint8_t **s, size_t *n, const char *field)
{
   uint64_t off = cur_off(c), len;
   int rc = cur_u(c, &len, field);
   if (rc)
      return rc;
   if (len > (uint64_t)(c->end - c->p))
      return fail(c->r, ML_ECORRUPT, off,
                  "%s record: %s string length %llu past the end of its "
                  "payload", c->rec, field, (unsigned long long)len);
   *s = c->p;
   *n = (size_t)len;
   c->p += len;
   return 0;
}

/* The clock after a dt read at off: *now = (ticks + dt) * unit,
   refusing a sum or product that does not fit 64 bits.  The reader's
   ticks move on once the record is whole (pend_ticks). */
static int add_dt(cur *c, uint64_t off, uint64_t dt, uint64_t *now)
{
   ml_reader *r = c->r;
   if (dt > r->max_ticks - r->ticks)
      return fail(r, ML_ECORRUPT, off,
                  "instruction counter overflows 64 bits");
   r->pend_ticks = r->ticks + dt;
   *now = r->pend_ticks * r->hdr.time_unit;
   return 0;
}

/* The stack of an event of class cls (ml_trace.h, "event fields"): the
   class's previous stack when the tag has ML_TAG_SAME_STACK, else that
   plus a zigzag delta.  The result must be 0 (no stack) or a defined
   stack id.  Does not update the class's state. */

static int cur_event_stack(cur *c, int tag, int cls, uint32_t *stack)
{
   ml_reader *r = c->r;
   uint64_t off = cur_off(c), v;
   int64_t id = r->prev_stack[cls];
   if (!(tag & ML_TAG_SAME_STACK)) {
      int rc = cur_u(c, &v, "stack");
      if (rc)
         return rc;
      /* 0: the newest node (version 7); a delta beyond 2^40 is out of
         range whatever its sign */
      id = v == 0 && r->hdr.version >= 7 ? (int64_t)r->nstack
         : v > (uint64_t)1 << 40 ? INT64_MAX : id + ml_unzigzag(v);
   }
   if (id < 0 || id > (int64_t)r->nstack)
      return fail(r, ML_ECORRUPT, off, "stack id %lld not defined",
                  (long long)id);
   *stack = (uint32_t)id;
   return 0;
}

/*--- tables ----------------------------------------------------------*/

typedef struct str_key { const uint8_t *p; size_t n; } str_key;

static int str_eq(const void *ctx, uint32_t id, const void *key)
{
   const ml_reader *r = ctx;
   const str_key *k = key;
   const str_ent *e = &r->strs[id - 1];
   return e->len == k->n && memcmp(r->sbytes + e->off, k->p, k->n) == 0;
}

static int add_string(ml_reader *r, const uint8_t *p, size_t n,
                      uint64_t off)
{
   if (r->nstr == UINT32_MAX - 1)
      return fail(r, ML_ECORRUPT, off, "too many STRING records");
   if (n > UINT32_MAX)
      return fail(r, ML_ECORRUPT, off, "string too long");
   if (ml_grow((void **)&r->strs, &r->str_cap, (size_t)r->nstr + 1,
            sizeof *r->strs) ||
       ml_grow((void **)&r->sbytes, &r->sbytes_cap, r->sbytes_len + n + 1, 1))
      return nomem(r);
   uint32_t id = r->nstr + 1;
   str_ent *e = &r->strs[id - 1];
   e->off = r->sbytes_len;
   e->len = (uint32_t)n;
   if (n)
      memcpy(r->sbytes + e->off, p, n);
   r->sbytes[e->off + n] = '\0';
   r->sbytes_len += n + 1;
   r->nstr = id;

   str_key k = { p, n };
   uint64_t h = ml_hash_bytes(p, n);
   uint32_t prev = ml_idx_find(&r->str_idx, h, &k, str_eq, r);
   if (prev) {
      e->canon = prev;
   } else {
      e->canon = id;
      if (ml_idx_insert(&r->str_idx, h, id))
         return nomem(r);
   }
   return 0;
}

/*--- records ---------------------------------------------------------*/

static int parse_header(ml_reader *r, cur *c)
{
   uint64_t v[5], version;
   static const char *const names[5] = {
      "ptr_size", "page_size", "pid", "ppid", "start_time" };
   int rc;
   if ((rc = cur_u(c, &version, "version")))
      return rc;
   if (version < ML_TRACE_VERSION_MIN || version > ML_TRACE_VERSION)
      return fail(r, ML_ECORRUPT, c->base_off,
                  "unsupported trace format version %llu (this "
                  "memline-report reads versions %d to %d)",
                  (unsigned long long)version, ML_TRACE_VERSION_MIN,
                  ML_TRACE_VERSION);
   r->hdr.version = version;
   uint64_t ps_off = 0;
   for (int i = 0; i < 5; i++) {
      if (i == 1)
         ps_off = cur_off(c);
      if ((rc = cur_u(c, &v[i], names[i])))
         return rc;
      if (i == 0 && v[0] != 4 && v[0] != 8)
         return fail(r, ML_ECORRUPT, c->base_off,
                     "unsupported pointer size %llu in HEADER",
                     (unsigned long long)v[0]);
   }
   r->hdr.ptr_size = v[0];
   r->hdr.page_size = v[1];
   r->hdr.pid = v[2];
   r->hdr.ppid = v[3];
   r->hdr.start_time = v[4];

   /* Every string below fits in the payload, so the arena needs at most
      payload + one NUL per string (<= payload) bytes. */
   size_t plen = (size_t)(c->end - c->base);
   r->hdr_arena = malloc(2 * plen + 2);
   if (!r->hdr_arena)
      return nomem(r);
   size_t used = 0;
   const uint8_t *s;
   size_t n;
#define COPY_STR(dst, field)                                           \
   do {                                                                \
      if ((rc = cur_str(c, &s, &n, field)))                            \
         return rc;                                                    \
      (dst) = r->hdr_arena + used;                                     \
      memcpy(r->hdr_arena + used, s, n);                               \
      r->hdr_arena[used + n] = '\0';                                   \
      used += n + 1;                                                   \
   } while (0)

   char *tv, *exe;
   COPY_STR(tv, "tool_version");
   COPY_STR(exe, "exe");
   r->hdr.tool_version = tv;
   r->hdr.exe = exe;

   for (int pass = 0; pass < 2; pass++) {
      const char *what = pass ? "nopts" : "argc";
      uint64_t off = cur_off(c), cnt;
      if ((rc = cur_u(c, &cnt, what)))
         return rc;
      /* each string takes at least its length byte */
      if (cnt > (uint64_t)(c->end - c->p))
         return fail(r, ML_ECORRUPT, off,
                     "HEADER record: %s %llu past the end of its payload",
                     what, (unsigned long long)cnt);
      char **arr = calloc(cnt ? (size_t)cnt : 1, sizeof *arr);
      if (!arr)
         return nomem(r);
      if (pass) {
         r->hdr_opts = arr;
         r->hdr.nopts = (uint32_t)cnt;
         r->hdr.opts = (const char *const *)arr;
      } else {
         r->hdr_argv = arr;
         r->hdr.argc = (uint32_t)cnt;
         r->hdr.argv = (const char *const *)arr;
      }
      for (uint64_t i = 0; i < cnt; i++)
         COPY_STR(arr[i], pass ? "option" : "argv");
   }
#undef COPY_STR
   if ((rc = cur_u(c, &r->hdr.depth, "depth")) ||
       (rc = cur_u(c, &r->hdr.flags, "flags")) ||
       (rc = cur_u(c, &r->hdr.inherited, "inherited")))
      return rc;
   uint64_t tu_off = cur_off(c);
   if ((rc = cur_u(c, &r->hdr.time_unit, "time_unit")))
      return rc;
   /* dt fields count units of this many instructions */
   if (r->hdr.time_unit == 0)
      return fail(r, ML_ECORRUPT, tu_off, "HEADER record: time unit 0 "
                  "(instructions per dt unit must be at least 1)");
   r->max_ticks = UINT64_MAX / r->hdr.time_unit;
   /* PAGE counts are multiplied by the page size: with RSS recorded it
      must be a real one */
   uint64_t ps = r->hdr.page_size;
   if ((r->hdr.flags & ML_HDR_RSS) &&
       (ps == 0 || (ps & (ps - 1)) != 0 || ps > ML_MAX_PAGE_SIZE))
      return fail(r, ML_ECORRUPT, ps_off,
                  "HEADER record: page size %llu with RSS recorded (not a "
                  "power of two up to %llu)", (unsigned long long)ps,
                  (unsigned long long)ML_MAX_PAGE_SIZE);
   return 0;                      /* trailing bytes: future fields */
}

static int parse_loc(ml_reader *r, cur *c, ml_record *rec)
{
   uint64_t ip, flags, n;
   int rc;
   if ((rc = cur_u(c, &ip, "ip")) || (rc = cur_u(c, &flags, "flags")))
      return rc;
   uint64_t off = cur_off(c);
   if ((rc = cur_u(c, &n, "nframes")))
      return rc;
   if (n == 0 || n > ML_MAX_FRAMES)
      return fail(r, ML_ECORRUPT, off,
                  "LOC record: frame count %llu not in 1..%u",
                  (unsigned long long)n, ML_MAX_FRAMES);
   if (r->nloc == UINT32_MAX - 1)
      return fail(r, ML_ECORRUPT, rec->offset, "too many LOC records");
   if (ml_grow((void **)&r->frames, &r->frames_cap, r->nframes + n,
            sizeof *r->frames) ||
       ml_grow((void **)&r->locs, &r->loc_cap, (size_t)r->nloc + 1,
            sizeof *r->locs))
      return nomem(r);
   ml_frame *f = &r->frames[r->nframes];
   for (uint64_t i = 0; i < n; i++) {
      if ((rc = cur_str_id(c, &f[i].fn, "function")) ||
          (rc = cur_str_id(c, &f[i].file, "file")) ||
          (rc = cur_line(c, &f[i].line)))
         return rc;
   }
   loc_ent *e = &r->locs[r->nloc];
   e->ip = ip;
   e->flags = flags;
   e->first = r->nframes;
   e->n = (uint32_t)n;
   r->nframes += n;
   rec->u.def.id = ++r->nloc;
   return 0;
}

/* Decodes the payload of a length-prefixed record (tag known). */
static int parse_payload(ml_reader *r, int tag, cur *c, ml_record *rec)
{
   int rc;
   switch (tag) {
   case ML_TAG_HEADER:
      return fail(r, ML_ECORRUPT, rec->offset, "second HEADER record");
   case ML_TAG_STRING:
      rec->kind = ML_REC_STRING;
      if ((rc = add_string(r, c->p, (size_t)(c->end - c->p), rec->offset)))
         return rc;
      rec->u.def.id = r->nstr;
      return 0;
   case ML_TAG_LOC:
      rec->kind = ML_REC_LOC;
      return parse_loc(r, c, rec);
   case ML_TAG_LINE:
      rec->kind = ML_REC_LINE;
      if ((rc = cur_str_id(c, &rec->u.line.fn, "function")) ||
          (rc = cur_str_id(c, &rec->u.line.file, "file")) ||
          (rc = cur_line(c, &rec->u.line.line)) ||
          (rc = cur_u(c, &rec->u.line.entries, "entries")) ||
          (rc = cur_u(c, &rec->u.line.hw_heap, "hw_heap_at_entry")))
         return rc;
      rec->u.line.hw_rss = 0;        /* absent without RSS */
      if (c->p < c->end &&
          (rc = cur_u(c, &rec->u.line.hw_rss, "hw_rss_at_entry")))
         return rc;
      return 0;
   case ML_TAG_FILE:
      rec->kind = ML_REC_FILE;
      if ((rc = cur_str_id(c, &rec->u.file.path, "path")) ||
          (rc = cur_u(c, &rec->u.file.f.size, "size")) ||
          (rc = cur_u(c, &rec->u.file.f.mtime, "mtime")) ||
          (rc = cur_u(c, &rec->u.file.f.hash, "hash")))
         return rc;
      return 0;
   case ML_TAG_MARK: {
      rec->kind = ML_REC_MARK;
      uint64_t off = cur_off(c), dt;
      if ((rc = cur_u(c, &dt, "dt")) ||
          (rc = cur_str_id(c, &rec->u.mark.name, "name")) ||
          (rc = add_dt(c, off, dt, &rec->now)))
         return rc;
      return 0;
   }
   case ML_TAG_TRAILER: {
      rec->kind = ML_REC_TRAILER;
      ml_trailer *t = &rec->u.trailer;
      if ((rc = cur_u(c, &t->total_instructions, "total_instructions")) ||
          (rc = cur_u(c, &t->n_allocs, "n_allocs")) ||
          (rc = cur_u(c, &t->n_frees, "n_frees")) ||
          (rc = cur_u(c, &t->bytes_allocated, "bytes_allocated")) ||
          (rc = cur_u(c, &t->heap_at_exit, "heap_at_exit")) ||
          (rc = cur_u(c, &t->peak_heap, "peak_heap")) ||
          (rc = cur_u(c, &t->exit_kind, "exit_kind")) ||
          (rc = cur_u(c, &t->exit_code, "exit_code")))
         return rc;
      /* RSS totals: an appended pair, both or neither */
      t->has_rss = c->p < c->end;
      t->rss_peak = t->rss_final = 0;
      if (t->has_rss && ((rc = cur_u(c, &t->rss_peak, "rss_peak")) ||
                         (rc = cur_u(c, &t->rss_final, "rss_final"))))
         return rc;
      return 0;
   }
   }
   return fail(r, ML_ECORRUPT, rec->offset, "internal: tag 0x%02x", tag);
}

/* Defines the next stack id (the table has room): STACK's effect, for
   parse_fixed and fast_stack. */
static inline void define_stack(ml_reader *r, ml_record *rec,
                                uint32_t parent, uint32_t loc)
{
   r->stacks[r->nstack].parent = parent;
   r->stacks[r->nstack].loc = loc;
   rec->kind = ML_REC_STACK;
   rec->u.def.id = ++r->nstack;
}

/* Decodes a fixed-schema record from the window; on success consumes it. */
static int parse_fixed(ml_reader *r, int tag, ml_record *rec)
{
   cur c = { r, r->win + r->pos, r->win + r->pos + 1, r->win + r->len,
             rec->offset, 0, "" };
   uint64_t off, dt;
   int rc;
   switch (tag) {
   case ML_TAG_STACK: {
      c.rec = "STACK";
      uint32_t parent = 0, loc = 0;
      if (r->hdr.version >= 6) {
         /* up: the parent is up ids before the node's own, nstack + 1 */
         uint64_t up;
         off = cur_off(&c);
         if ((rc = cur_u(&c, &up, "up")))
            return rc;
         if (up == 0 || up > (uint64_t)r->nstack + 1)
            return fail(r, ML_ECORRUPT, off,
                        "STACK record: parent %llu ids up from stack id "
                        "%llu, %s", (unsigned long long)up,
                        (unsigned long long)r->nstack + 1,
                        up == 0 ? "the node itself" : "before the root");
         parent = (uint32_t)(r->nstack + 1 - up);
      } else if ((rc = cur_id(&c, &parent, r->nstack, 1, "stack",
                              "parent"))) {
         return rc;
      }
      off = cur_off(&c);
      if ((rc = cur_id(&c, &loc, r->nloc, 1, "loc", "loc")))
         return rc;
      if (loc == 0 && parent != 0)
         return fail(r, ML_ECORRUPT, off,
                     "STACK record: frames-cut node (loc 0) has parent %u",
                     parent);
      if (r->nstack == UINT32_MAX - 1)
         return fail(r, ML_ECORRUPT, rec->offset, "too many STACK records");
      if (ml_grow((void **)&r->stacks, &r->stack_cap, (size_t)r->nstack + 1,
               sizeof *r->stacks))
         return nomem(r);
      define_stack(r, rec, parent, loc);
      break;
   }
   case ML_TAG_ALLOC:
   case ML_TAG_FREE:
   case ML_TAG_CALLOC:
   case ML_TAG_CFREE:
   case ML_TAG_ALLOC | ML_TAG_SAME_STACK:
   case ML_TAG_FREE | ML_TAG_SAME_STACK:
   case ML_TAG_CALLOC | ML_TAG_SAME_STACK:
   case ML_TAG_CFREE | ML_TAG_SAME_STACK:
   case ML_TAG_FREE | ML_TAG_SIZE_KNOWN:
   case ML_TAG_CFREE | ML_TAG_SIZE_KNOWN:
   case ML_TAG_FREE | ML_TAG_SIZE_KNOWN | ML_TAG_SAME_STACK:
   case ML_TAG_CFREE | ML_TAG_SIZE_KNOWN | ML_TAG_SAME_STACK: {
      int t = tag & ~(ML_TAG_SAME_STACK | ML_TAG_SIZE_KNOWN);
      int size_known = (tag & ML_TAG_SIZE_KNOWN) != 0;
      c.rec = t == ML_TAG_ALLOC ? "ALLOC" : t == ML_TAG_FREE ? "FREE"
            : t == ML_TAG_CALLOC ? "CALLOC" : "CFREE";
      int is_alloc = t == ML_TAG_ALLOC || t == ML_TAG_CALLOC;
      int custom = t == ML_TAG_CALLOC || t == ML_TAG_CFREE;
      uint32_t stack = 0;
      uint64_t size = 0, w = 0, id;
      rec->kind = is_alloc ? ML_REC_ALLOC : ML_REC_FREE;
      rec->u.block.custom = custom;
      if (size_known && r->hdr.version < 5)
         return fail(r, ML_ECORRUPT, rec->offset, "bad record tag "
                     "0x%02x in a version %llu trace", tag,
                     (unsigned long long)r->hdr.version);
      off = cur_off(&c);
      if ((rc = cur_u(&c, &dt, "dt")) ||
          (rc = cur_event_stack(&c, tag, is_alloc ? ML_STACK_CLASS_ALLOC
                                                  : ML_STACK_CLASS_FREE,
                                &stack)) ||
          (!size_known && (rc = cur_u(&c, &size, "size"))) ||
          (!is_alloc && (rc = cur_u(&c, &w, "block id"))) ||
          (rc = add_dt(&c, off, dt, &rec->now)))
         return rc;
      if (is_alloc) {
         id = r->next_id++;
         r->size_win[ML_SIZE_SLOT(id)] = ml_size_kept(size);
      } else {
         id = r->prev_free_id[custom] + (uint64_t)ml_unzigzag(w);
         if (id >= r->next_id)
            return fail(r, ML_ECORRUPT, off, "%s record: block id %llu "
                        "was never allocated", c.rec,
                        (unsigned long long)id);
         if (size_known) {
            if (r->next_id - id > ML_SIZE_WINDOW)
               return fail(r, ML_ECORRUPT, off, "%s record: no size for "
                           "block %llu, older than the last %u allocated",
                           c.rec, (unsigned long long)id, ML_SIZE_WINDOW);
            size = r->size_win[ML_SIZE_SLOT(id)];
            if (size == ML_SIZE_UNKNOWN)
               return fail(r, ML_ECORRUPT, off, "%s record: no size for "
                           "block %llu, whose size is not kept", c.rec,
                           (unsigned long long)id);
         }
         r->prev_free_id[custom] = id;
      }
      r->prev_stack[is_alloc ? ML_STACK_CLASS_ALLOC
                             : ML_STACK_CLASS_FREE] = stack;
      rec->u.block.stack = stack;
      rec->u.block.size = size;
      rec->u.block.id = id;
      r->events++;
      break;
   }
   case ML_TAG_THREAD:
      c.rec = "THREAD";
      rec->kind = ML_REC_THREAD;
      if ((rc = cur_u(&c, &rec->u.thread.tid, "tid")))
         return rc;
      break;
   case ML_TAG_TIME:
      c.rec = "TIME";
      rec->kind = ML_REC_TIME;
      off = cur_off(&c);
      if ((rc = cur_u(&c, &dt, "dt")) ||
          (rc = cur_u(&c, &rec->u.time.wall_ms, "wall_ms")) ||
          (rc = add_dt(&c, off, dt, &rec->now)))
         return rc;
      break;
   case ML_TAG_PAGE:
   case ML_TAG_PAGE | ML_TAG_SAME_STACK: {
      c.rec = "PAGE";
      rec->kind = ML_REC_PAGE;
      uint64_t zz;
      uint32_t stack;
      off = cur_off(&c);
      if ((rc = cur_u(&c, &dt, "dt")) ||
          (rc = cur_event_stack(&c, tag, ML_STACK_CLASS_PAGE, &stack)) ||
          (rc = cur_kind(&c, &rec->u.page.kind)) ||
          (rc = cur_u(&c, &zz, "count")) ||
          (rc = add_dt(&c, off, dt, &rec->now)))
         return rc;
      r->prev_stack[ML_STACK_CLASS_PAGE] = stack;
      rec->u.page.stack = stack;
      rec->u.page.count = ml_unzigzag(zz);
      r->events++;
      break;
   }
   default:
      return fail(r, ML_ECORRUPT, rec->offset, "bad record tag 0x%02x", tag);
   }
   r->pos += (size_t)(c.p - c.base);
   return 0;
}

/* Reads one record (HEADER included) into rec.  Returns 1, 0 for a
   skipped unknown record, RD_TRUNC, or a negative error. */
static int read_record(ml_reader *r, ml_record *rec, int want_header)
{
   int rc;
   if ((rc = fill(r, FIXED_MAX)))
      return rc;
   if (r->pos == r->len)
      return RD_TRUNC;
   /* no memset: each parser sets every field of its kind (a memset of
      the whole record costs more than decoding an ALLOC) */
   rec->offset = cur_offset(r);
   rec->now = r->ticks * r->hdr.time_unit;
   r->pend_ticks = r->ticks;
   int tag = r->win[r->pos];

   if (want_header && tag != ML_TAG_HEADER)
      return fail(r, ML_ECORRUPT, rec->offset,
                  "first record is not a HEADER (tag 0x%02x)", tag);
   if (tag < ML_TAG_LEN_PREFIXED) {
      if ((rc = parse_fixed(r, tag, rec)))
         return rc;
      r->ticks = r->pend_ticks;
      return 1;
   }

   cur lc = { r, r->win + r->pos, r->win + r->pos + 1, r->win + r->len,
              rec->offset, 0, "length-prefixed" };
   uint64_t plen;
   uint64_t len_off = cur_off(&lc);
   if ((rc = cur_u(&lc, &plen, "payload length")))
      return rc;
   if (plen > ML_MAX_PAYLOAD)
      return fail(r, ML_ECORRUPT, len_off,
                  "payload length %llu exceeds the maximum %u",
                  (unsigned long long)plen, ML_MAX_PAYLOAD);
   size_t hdr_len = (size_t)(lc.p - lc.base);
   int known = tag == ML_TAG_HEADER || tag == ML_TAG_STRING ||
               tag == ML_TAG_LOC || tag == ML_TAG_LINE ||
               tag == ML_TAG_FILE || tag == ML_TAG_MARK ||
               tag == ML_TAG_TRAILER;
   if (!known)
      return (rc = skip_bytes(r, hdr_len + plen)) ? rc : 0;

   const uint8_t *payload = NULL;
   if ((rc = take_payload(r, hdr_len, (size_t)plen, &payload)))
      return rc;
   static const char *const names[] = {
      [ML_TAG_HEADER - 0x40] = "HEADER", [ML_TAG_STRING - 0x40] = "STRING",
      [ML_TAG_LOC - 0x40] = "LOC", [ML_TAG_LINE - 0x40] = "LINE",
      [ML_TAG_FILE - 0x40] = "FILE", [ML_TAG_MARK - 0x40] = "MARK",
      [ML_TAG_TRAILER - 0x40] = "TRAILER" };
   cur c = { r, payload, payload, payload + plen, rec->offset + hdr_len, 1,
             names[tag - 0x40] };
   if (tag == ML_TAG_HEADER && want_header)
      return (rc = parse_header(r, &c)) ? rc : 1;
   if ((rc = parse_payload(r, tag, &c, rec)))
      return rc;
   r->ticks = r->pend_ticks;
   return 1;
}

/*--- public API ------------------------------------------------------*/

static ml_reader *new_reader(const char *name, ml_err *err)
{
   ml_reader *r = calloc(1, sizeof *r);
   if (r) {
      r->path = strdup(name);
      r->size_win = malloc(ML_SIZE_WINDOW * sizeof *r->size_win);
   }
   if (!r || !r->path || !r->size_win) {
      if (r) {
         free(r->path);
         free(r->size_win);
      }
      free(r);
      ml_err_set(err, ML_ENOMEM, "%s: out of memory", name);
      return NULL;
   }
   r->fd = -1;
   r->hdr.time_unit = 1;          /* until the HEADER says */
   r->max_ticks = UINT64_MAX;
   return r;
}

/* Checks the magic and reads the HEADER; on failure frees r. */
static ml_reader *start(ml_reader *r, ml_err *err)
{
   int rc = fill(r, ML_TRACE_MAGIC_LEN);
   if (rc == 0 && (r->len - r->pos < ML_TRACE_MAGIC_LEN ||
                   memcmp(r->win + r->pos, ML_TRACE_MAGIC,
                          ML_TRACE_MAGIC_LEN) != 0))
      rc = fail(r, ML_ECORRUPT, 0, r->len > 0 ? "not a memline trace "
                "(bad magic)" : r->zs ? "no data in the zstd stream (cut "
                "or empty), not a memline trace" : "empty file, not a "
                "memline trace");
   if (rc == 0) {
      r->pos += ML_TRACE_MAGIC_LEN;
      ml_record rec;
      rc = read_record(r, &rec, 1);
      if (rc == RD_TRUNC)
         rc = fail(r, ML_ECORRUPT, ML_TRACE_MAGIC_LEN,
                   "trace is truncated inside its HEADER record");
   }
   if (rc < 0) {
      if (err)
         *err = r->err;
      ml_reader_free(r);
      return NULL;
   }
   return r;
}

/* Does the input start with a zstd frame or a zstd skippable frame? */
static int is_zstd(const uint8_t *p, size_t n)
{
   if (n < 4)
      return 0;
   uint32_t m = (uint32_t)p[0] | (uint32_t)p[1] << 8 |
                (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
   return m == ZSTD_MAGICNUMBER ||
          (m & ZSTD_MAGIC_SKIPPABLE_MASK) == ZSTD_MAGIC_SKIPPABLE_START;
}

/* Gives r its window buffer and, when compressed, its decompressor.
   Returns 0 or ML_ENOMEM (err set). */
static int setup_window(ml_reader *r, int compressed, ml_err *err)
{
   r->buf = malloc(WIN_CAP);
   if (compressed && r->buf) {
      r->zs = ZSTD_createDStream();
      /* a frame may ask for a window of at most 2^27 bytes (the
         library's default limit, bounding what a hostile trace makes
         us allocate) */
      if (r->zs && ZSTD_isError(ZSTD_initDStream(r->zs))) {
         ZSTD_freeDStream(r->zs);
         r->zs = NULL;
      }
   }
   if (!r->buf || (compressed && !r->zs))
      return ml_err_set(err, ML_ENOMEM, "%s: out of memory", r->path);
   r->win = r->buf;
   r->cap = WIN_CAP;
   return 0;
}

ml_reader *ml_reader_open(const char *path, ml_err *err)
{
   ml_reader *r = new_reader(path, err);
   if (!r)
      return NULL;
   r->fd = open(path, O_RDONLY | O_CLOEXEC);
   if (r->fd < 0) {
      ml_err_set(err, ML_EIO, "%s: %s", path, strerror(errno));
      ml_reader_free(r);
      return NULL;
   }
   /* the first bytes say whether the trace is compressed */
   uint8_t head[4];
   size_t nhead = 0;
   while (nhead < sizeof head) {
      ssize_t n = read(r->fd, head + nhead, sizeof head - nhead);
      if (n < 0 && errno == EINTR)
         continue;
      if (n < 0) {
         ml_err_set(err, ML_EIO, "%s: %s", path, strerror(errno));
         ml_reader_free(r);
         return NULL;
      }
      if (n == 0)
         break;
      nhead += (size_t)n;
   }
   int compressed = is_zstd(head, nhead);
   if (setup_window(r, compressed, err) ||
       (compressed && !(r->zin = malloc(ZIN_CAP)))) {
      if (compressed && !r->zin)
         ml_err_set(err, ML_ENOMEM, "%s: out of memory", path);
      ml_reader_free(r);
      return NULL;
   }
   if (compressed) {
      memcpy(r->zin, head, nhead);
      r->zib = (ZSTD_inBuffer){ r->zin, nhead, 0 };
   } else {
      memcpy(r->buf, head, nhead);
      r->len = nhead;
   }
   return start(r, err);
}

ml_reader *ml_reader_open_mem(const void *data, size_t n, const char *name,
                              ml_err *err)
{
   ml_reader *r = new_reader(name ? name : "<memory>", err);
   if (!r)
      return NULL;
   if (is_zstd(data, n)) {
      /* decompressed through a window; the caller's bytes are all the
         compressed input there is */
      if (setup_window(r, 1, err)) {
         ml_reader_free(r);
         return NULL;
      }
      r->zib = (ZSTD_inBuffer){ data, n, 0 };
      r->zin_eof = 1;
      return start(r, err);
   }
   r->win = data;
   r->cap = r->len = n;
   r->eof = 1;
   r->whole = 1;
   return start(r, err);
}

int ml_reader_compressed(const ml_reader *r)
{
   return r->zs != NULL;
}

void ml_reader_free(ml_reader *r)
{
   if (!r)
      return;
   zstop(r);                  /* its thread reads r->fd: join it first */
   if (r->fd >= 0)
      close(r->fd);
   free(r->buf);
   free(r->size_win);
   free(r->zin);
   ZSTD_freeDStream(r->zs);
   free(r->scratch);
   free(r->hdr_arena);
   free(r->hdr_argv);
   free(r->hdr_opts);
   free(r->sbytes);
   free(r->strs);
   ml_idx_fini(&r->str_idx);
   free(r->locs);
   free(r->frames);
   free(r->stacks);
   free(r->path);
   free(r);
}

/* One varint from p, which has at least ML_MAX_VARINT_LEN readable
   bytes; NULL for a ten-byte (possibly overlong) one, left to the
   checked decoder. */
static inline __attribute__((always_inline))
const uint8_t *fast_uv(const uint8_t *p, uint64_t *v)
{
   uint64_t x = p[0];
   if (x < 0x80) {
      *v = x;
      return p + 1;
   }
   x &= 0x7f;
   for (int i = 1; i < ML_MAX_VARINT_LEN - 1; i++) {
      uint64_t b = p[i];
      x |= (b & 0x7f) << (7 * i);
      if (b < 0x80) {
         *v = x;
         return p + i + 1;
      }
   }
   return NULL;
}

/* fast_event's STACK record (p: its first field).  A trace has one for
   every few allocations (gcc's cc1: 192 K for 530 K), and through the
   checked path each cost 150 instructions. */
static inline int fast_stack(ml_reader *r, ml_record *rec, const uint8_t *p)
{
   uint64_t parent, loc;
   if (!(p = fast_uv(p, &parent)))
      return 0;
   if (r->hdr.version >= 6) {             /* parent is up ids before */
      if (parent - 1 >= (uint64_t)r->nstack + 1)
         return 0;                         /* 0, or past the root */
      parent = r->nstack + 1 - parent;
   }
   if (parent > r->nstack ||
       !(p = fast_uv(p, &loc)) || loc > r->nloc ||
       (loc == 0 && parent != 0) || r->nstack >= r->stack_cap ||
       r->nstack >= UINT32_MAX - 1)
      return 0;             /* errors, and growing the table: checked path */
   define_stack(r, rec, (uint32_t)parent, (uint32_t)loc);
   rec->offset = r->win_off + r->pos;
   rec->now = r->ticks * r->hdr.time_unit;
   r->pos = (size_t)(p - r->win);
   return 1;
}

/* The hot path: an event record (ALLOC, FREE, CALLOC, CFREE, PAGE) or a
   STACK record that lies whole in the window (FIXED_MAX bytes are
   there).  Decodes it into rec and consumes it, returning 1; returns 0
   without consuming anything for any other record and for anything
   unusual (long varints, ids out of range, a wrapping clock, a full
   table), which the checked path then decodes or reports with its
   messages.  Same results as parse_fixed. */
static inline int fast_event(ml_reader *r, ml_record *rec)
{
   const uint8_t *p = r->win + r->pos;
   unsigned tag = p[0],
            t = tag & ~(unsigned)(ML_TAG_SAME_STACK | ML_TAG_SIZE_KNOWN);
   unsigned cls;
   int custom = 0;
   switch (t) {
   case ML_TAG_STACK:  /* in the switch: no test on the events' path */
      return tag == ML_TAG_STACK && fast_stack(r, rec, p + 1);
   case ML_TAG_ALLOC:  cls = ML_STACK_CLASS_ALLOC; break;
   case ML_TAG_FREE:   cls = ML_STACK_CLASS_FREE;  break;
   case ML_TAG_CALLOC: cls = ML_STACK_CLASS_ALLOC; custom = 1; break;
   case ML_TAG_CFREE:  cls = ML_STACK_CLASS_FREE;  custom = 1; break;
   case ML_TAG_PAGE:   cls = ML_STACK_CLASS_PAGE;  break;
   default:
      return 0;
   }
   /* the size-known bit: on FREE and CFREE from version 5 on only */
   if ((tag & ML_TAG_SIZE_KNOWN) &&
       (cls != ML_STACK_CLASS_FREE || r->hdr.version < 5))
      return 0;
   uint64_t dt, v;
   if (!(p = fast_uv(p + 1, &dt)))
      return 0;
   uint64_t stack = r->prev_stack[cls];
   if (!(tag & ML_TAG_SAME_STACK)) {
      if (!(p = fast_uv(p, &v)) || v > (uint64_t)1 << 40)
         return 0;
      if (v == 0 && r->hdr.version >= 7)
         stack = r->nstack;                   /* the newest node */
      else
         stack += (uint64_t)ml_unzigzag(v);  /* wraps if negative */
   }
   if (stack > r->nstack)
      return 0;
   if (dt > r->max_ticks - r->ticks)
      return 0;                               /* the clock overflows */
   uint64_t ticks = r->ticks + dt;
   if (cls == ML_STACK_CLASS_PAGE) {
      uint64_t kind, zz;
      if (!(p = fast_uv(p, &kind)) || kind >= ML_PAGE_KINDS ||
          !(p = fast_uv(p, &zz)))
         return 0;
      rec->kind = ML_REC_PAGE;
      rec->u.page.stack = (uint32_t)stack;
      rec->u.page.kind = (uint32_t)kind;
      rec->u.page.count = ml_unzigzag(zz);
   } else {
      uint64_t size = 0, w, id;
      if (!(tag & ML_TAG_SIZE_KNOWN) && !(p = fast_uv(p, &size)))
         return 0;
      if (cls == ML_STACK_CLASS_ALLOC) {
         id = r->next_id++;
         r->size_win[ML_SIZE_SLOT(id)] = ml_size_kept(size);
      } else {
         if (!(p = fast_uv(p, &w)))
            return 0;
         id = r->prev_free_id[custom] + (uint64_t)ml_unzigzag(w);
         if (id >= r->next_id)
            return 0;                         /* the checked path says */
         if (tag & ML_TAG_SIZE_KNOWN) {
            if (r->next_id - id > ML_SIZE_WINDOW ||
                (size = r->size_win[ML_SIZE_SLOT(id)]) ==
                   ML_SIZE_UNKNOWN)
               return 0;                      /* the checked path says */
         }
         r->prev_free_id[custom] = id;
      }
      rec->kind = cls == ML_STACK_CLASS_ALLOC ? ML_REC_ALLOC : ML_REC_FREE;
      rec->u.block.stack = (uint32_t)stack;
      rec->u.block.custom = custom;
      rec->u.block.size = size;
      rec->u.block.id = id;
   }
   r->prev_stack[cls] = (uint32_t)stack;
   rec->offset = r->win_off + r->pos;
   r->ticks = ticks;
   rec->now = ticks * r->hdr.time_unit;
   r->pos = (size_t)(p - r->win);
   r->events++;
   return 1;
}

int ml_reader_next(ml_reader *r, ml_record *rec)
{
   if (r->len - r->pos >= FIXED_MAX && !r->failed && !r->trailer_seen &&
       r->end == ML_END_NOT_YET && fast_event(r, rec))
      return 1;
   if (r->failed)
      return r->failed;
   if (r->end != ML_END_NOT_YET)
      return 0;
   for (;;) {
      if (r->trailer_seen) {
         int rc = fill(r, 1);
         if (rc)
            return rc;
         r->end = r->pos < r->len ? ML_END_TRAILING : ML_END_COMPLETE;
         r->end_off = cur_offset(r);
         return 0;
      }
      uint64_t start_off = cur_offset(r);
      int rc = read_record(r, rec, 0);
      if (rc == RD_TRUNC) {
         r->end = ML_END_TRUNCATED;
         r->end_off = start_off;
         return 0;
      }
      if (rc < 0)
         return rc;
      if (rc == 0)
         continue;                /* skipped an unknown record */
      if (rec->kind == ML_REC_TRAILER)
         r->trailer_seen = 1;
      return 1;
   }
}

const char *ml_reader_strerror(const ml_reader *r)
{
   return r->failed ? r->err.msg : "";
}

const ml_header *ml_reader_header(const ml_reader *r)
{
   return &r->hdr;
}

const char *ml_reader_path(const ml_reader *r)
{
   return r->path;
}

ml_end ml_reader_end_state(const ml_reader *r, uint64_t *offset)
{
   if (offset)
      *offset = r->end_off;
   return r->end;
}

uint64_t ml_reader_events(const ml_reader *r)
{
   return r->events;
}

const char *ml_reader_string(const ml_reader *r, uint32_t id, size_t *len)
{
   if (id == 0) {
      if (len)
         *len = 0;
      return "";
   }
   if (id > r->nstr)
      return NULL;
   const str_ent *e = &r->strs[id - 1];
   if (len)
      *len = e->len;
   return r->sbytes + e->off;
}

uint32_t ml_reader_nstrings(const ml_reader *r) { return r->nstr; }
uint32_t ml_reader_nlocs(const ml_reader *r) { return r->nloc; }
uint32_t ml_reader_nstacks(const ml_reader *r) { return r->nstack; }

int ml_reader_loc(const ml_reader *r, uint32_t id, ml_loc *out)
{
   if (id == 0 || id > r->nloc)
      return ML_EINVAL;
   const loc_ent *e = &r->locs[id - 1];
   out->ip = e->ip;
   out->flags = e->flags;
   out->nframes = e->n;
   out->frames = &r->frames[e->first];
   return 0;
}

int ml_reader_stack(const ml_reader *r, uint32_t id, uint32_t *parent,
                    uint32_t *loc)
{
   if (id == 0 || id > r->nstack)
      return ML_EINVAL;
   *parent = r->stacks[id - 1].parent;
   *loc = r->stacks[id - 1].loc;
   return 0;
}

uint32_t ml_reader_find_string(const ml_reader *r, const char *s)
{
   str_key k = { (const uint8_t *)s, strlen(s) };
   return ml_idx_find(&r->str_idx, ml_hash_bytes(k.p, k.n), &k, str_eq, r);
}
