/* ml_out.c -- the trace writer of ml_out.h.

   Events are encoded straight into a 64 KiB buffer; length-prefixed
   records are first built in a growable scratch buffer so that their
   length can precede them.  The file descriptor is moved above the
   client's descriptor range and marked close-on-exec (VG_(safe_fd)), so
   the client can neither see nor close it. */
#include "pub_tool_basics.h"
#include "pub_tool_libcbase.h"
#include "pub_tool_libcassert.h"
#include "pub_tool_libcfile.h"
#include "pub_tool_libcprint.h"
#include "pub_tool_libcproc.h"
#include "pub_tool_mallocfree.h"
#include "pub_tool_vki.h"
#include "pub_tool_threadstate.h"
#include "ml_trace.h"
#include "ml_out.h"

/* Not in the pub_tool headers, but exported by libcoregrind: moves an fd
   above the client's range and sets close-on-exec. */
extern Int VG_(safe_fd)(Int oldfd);

ULong ml_icount;

#define OUT_BUF_SIZE  (64 * 1024)
#define TICK_EVENTS   1024         /* check the clock every N events */
#define FLUSH_MS      1000

static Int    out_fd = -1;
static HChar *out_name;
static UChar  out_buf[OUT_BUF_SIZE];
static UInt   out_pos;
static ULong  out_file_off;        /* bytes already written to the file */
/* Encoder state (ml_trace.h, "event fields"): reset when a trace is
   opened, saved by ml_out_seal and put back by ml_out_unseal. */
typedef struct {
   ULong    last_event_icount;     /* clock of the previous record with dt */
   ThreadId last_tid;
   UInt     prev_stack[ML_STACK_CLASSES];
   Addr     prev_addr[ML_ADDR_SPACES];
} EncState;
static EncState enc;
static UInt   tick;
static UInt   last_flush_ms;

static void (*checkpoint_fn)(void);
static UInt   checkpoint_period_ms, last_checkpoint_ms;
static Bool   in_checkpoint;

static UChar *rec_buf;             /* scratch for length-prefixed records */
static SizeT  rec_cap, rec_len;
static UChar  rec_tag;

/*------------------------------------------------------------*/
/*--- Low-level output                                     ---*/
/*------------------------------------------------------------*/

static void write_all(const UChar *p, SizeT n)
{
   if (out_fd < 0)
      return;
   while (n > 0) {
      Int chunk = n > (1u << 30) ? (1 << 30) : (Int)n;
      Int w = VG_(write)(out_fd, p, chunk);
      if (w <= 0) {
         VG_(umsg)("memline: error writing %s; trace output stopped\n",
                   out_name ? out_name : "trace");
         VG_(close)(out_fd);
         out_fd = -1;
         return;
      }
      p += w;
      n -= w;
      out_file_off += w;
   }
}

void ml_out_flush(void)
{
   if (out_pos > 0) {
      write_all(out_buf, out_pos);
      out_pos = 0;
   }
   last_flush_ms = VG_(read_millisecond_timer)();
}

static inline void need(UInt n)
{
   if (out_pos + n > OUT_BUF_SIZE)
      ml_out_flush();
}

static inline void put_uv(ULong v)
{
   out_pos += ml_put_uvarint(out_buf + out_pos, v);
}

static inline void put_dt(void)
{
   put_uv(ml_icount - enc.last_event_icount);
   enc.last_event_icount = ml_icount;
}

Bool ml_out_is_open(void) { return out_fd >= 0; }
const HChar *ml_out_name(void) { return out_name; }

/*------------------------------------------------------------*/
/*--- Opening                                              ---*/
/*------------------------------------------------------------*/

/* The pid in the header of the memline trace 'name', or -1 when there
   is no such file or it is not a memline trace. */
static Long trace_pid(const HChar *name)
{
   SysRes r = VG_(open)(name, VKI_O_RDONLY, 0);
   if (sr_isError(r))
      return -1;
   Int fd = sr_Res(r);
   UChar b[64];
   Int n = VG_(read)(fd, b, sizeof b);
   VG_(close)(fd);
   if (n < ML_TRACE_MAGIC_LEN + 2 ||
       VG_(memcmp)(b, ML_TRACE_MAGIC, ML_TRACE_MAGIC_LEN) != 0)
      return -1;
   const UChar *p = b + ML_TRACE_MAGIC_LEN, *end = b + n;
   unsigned long long v[5];
   if (*p++ != ML_TAG_HEADER)
      return -1;
   for (Int i = 0; i < 5; i++) {      /* len, version, ptr, page, pid */
      int k = ml_get_uvarint(p, end, &v[i]);
      if (k <= 0)
         return -1;
      p += k;
   }
   return (Long)v[4];
}

Bool ml_out_open(const HChar *name)
{
   /* Never clobber a trace of this process (the image before an execve:
      add .1, .2 ...) or of its parent (a forked child given the same
      name: add .PID, which keeps forked siblings apart). */
   SizeT len = VG_(strlen)(name);
   HChar *chosen = VG_(malloc)("ml.out.name", len + 40);
   Long pid = VG_(getpid)(), ppid = VG_(getppid)();
   Int seq = 0;
   Bool pid_tried = False;
   VG_(strcpy)(chosen, name);
   for (Int i = 0; i < 1000; i++) {
      Long owner = trace_pid(chosen);
      if (owner == ppid && !pid_tried) {
         VG_(sprintf)(chosen, "%s.%lld", name, pid);
         pid_tried = True;
      } else if (owner == pid || owner == ppid) {
         VG_(sprintf)(chosen, "%s.%d", name, ++seq);
      } else {
         break;
      }
   }

   SysRes r = VG_(open)(chosen, VKI_O_CREAT | VKI_O_TRUNC | VKI_O_WRONLY,
                        VKI_S_IRUSR | VKI_S_IWUSR | VKI_S_IRGRP | VKI_S_IROTH);
   if (sr_isError(r)) {
      VG_(umsg)("memline: cannot create trace file %s; no trace written\n",
                chosen);
      VG_(free)(chosen);
      return False;
   }
   Int fd = VG_(safe_fd)(sr_Res(r));
   if (fd < 0) {
      VG_(umsg)("memline: cannot move the trace fd out of the client's "
                "range; no trace written\n");
      VG_(free)(chosen);
      return False;
   }
   if (out_name)
      VG_(free)(out_name);
   out_name = chosen;
   out_fd = fd;
   out_pos = 0;
   out_file_off = 0;
   VG_(memset)(&enc, 0, sizeof enc);
   enc.last_event_icount = ml_icount;
   enc.last_tid = VG_INVALID_THREADID;
   last_flush_ms = VG_(read_millisecond_timer)();
   need(ML_TRACE_MAGIC_LEN);
   VG_(memcpy)(out_buf + out_pos, ML_TRACE_MAGIC, ML_TRACE_MAGIC_LEN);
   out_pos += ML_TRACE_MAGIC_LEN;
   return True;
}

void ml_out_close(void)
{
   ml_out_flush();
   if (out_fd >= 0)
      VG_(close)(out_fd);
   out_fd = -1;
}

void ml_out_forget_after_fork(void)
{
   /* The child shares the parent's open file description: closing our
      copy of the fd is safe, writing to it is not. */
   if (out_fd >= 0)
      VG_(close)(out_fd);
   out_fd = -1;
   out_pos = 0;
}

/* Before execve: where the trace stood, to take back what is written
   between ml_out_seal and ml_out_unseal (a trailer) if execve fails. */
static ULong    seal_off;
static EncState seal_enc;

void ml_out_seal(void)
{
   ml_out_flush();
   seal_off = out_file_off;
   seal_enc = enc;
}

void ml_out_unseal(void)
{
   ml_out_flush();
   enc = seal_enc;
   if (out_fd < 0)
      return;
   VG_(lseek)(out_fd, (Off64T)seal_off, VKI_SEEK_SET);
   out_file_off = seal_off;
}

/*------------------------------------------------------------*/
/*--- Records                                              ---*/
/*------------------------------------------------------------*/

void ml_out_time(void)
{
   need(1 + 2 * ML_MAX_VARINT_LEN);
   out_buf[out_pos++] = ML_TAG_TIME;
   put_dt();
   put_uv(VG_(read_millisecond_timer)());
}

void ml_out_set_checkpoint(void (*fn)(void), UInt period_ms)
{
   checkpoint_fn = fn;
   checkpoint_period_ms = period_ms;
   last_checkpoint_ms = VG_(read_millisecond_timer)();
}

/* A flush forced by the clock: a TIME record, maybe a checkpoint. */
static void timed_flush(UInt now)
{
   ml_out_time();
   if (checkpoint_fn && !in_checkpoint &&
       now - last_checkpoint_ms >= checkpoint_period_ms) {
      in_checkpoint = True;
      checkpoint_fn();
      in_checkpoint = False;
      last_checkpoint_ms = now;
   }
   ml_out_flush();
}

void ml_out_flush_if_stale(void)
{
   if (out_fd < 0)
      return;
   UInt now = VG_(read_millisecond_timer)();
   if (now - last_flush_ms >= FLUSH_MS)
      timed_flush(now);
}

static inline void event_prologue(ThreadId tid)
{
   need(2 + 6 * ML_MAX_VARINT_LEN);
   if (tid != enc.last_tid) {
      out_buf[out_pos++] = ML_TAG_THREAD;
      put_uv(tid);
      enc.last_tid = tid;
   }
   if (++tick >= TICK_EVENTS) {
      tick = 0;
      UInt now = VG_(read_millisecond_timer)();
      if (now - last_flush_ms >= FLUSH_MS) {
         timed_flush(now);
         need(2 + 6 * ML_MAX_VARINT_LEN);
      }
   }
}

void ml_out_stack(UInt parent, UInt loc)
{
   need(1 + 2 * ML_MAX_VARINT_LEN);
   out_buf[out_pos++] = ML_TAG_STACK;
   put_uv(parent);
   put_uv(loc);
}

/* The tag (with ML_TAG_SAME_STACK when the stack repeats) and the dt and
   stack fields of an event of stack class cls. */
static inline void put_event_head(UChar tag, UInt cls, UInt stack)
{
   UInt prev = enc.prev_stack[cls];
   out_buf[out_pos++] = stack == prev ? (tag | ML_TAG_SAME_STACK) : tag;
   put_dt();
   if (stack != prev) {
      put_uv(ml_zigzag((Long)stack - (Long)prev));
      enc.prev_stack[cls] = stack;
   }
}

static inline void put_block(UChar tag, UInt cls, UInt stack, SizeT size,
                             Addr a, Bool custom)
{
   put_event_head(tag, cls, stack);
   put_uv(size);
   out_pos += ml_put_addr(out_buf + out_pos, a, enc.prev_addr[custom]);
   enc.prev_addr[custom] = a;
}

void ml_out_alloc(ThreadId tid, UInt stack, SizeT size, Addr a, Bool custom)
{
   event_prologue(tid);
   put_block(custom ? ML_TAG_CALLOC : ML_TAG_ALLOC, ML_STACK_CLASS_ALLOC,
             stack, size, a, custom ? 1 : 0);
}

void ml_out_free(ThreadId tid, UInt stack, SizeT size, Addr a, Bool custom)
{
   event_prologue(tid);
   put_block(custom ? ML_TAG_CFREE : ML_TAG_FREE, ML_STACK_CLASS_FREE,
             stack, size, a, custom ? 1 : 0);
}

void ml_out_mark(UInt name)
{
   ULong dt = ml_icount - enc.last_event_icount;
   enc.last_event_icount = ml_icount;
   ml_rec_begin(ML_TAG_MARK);
   ml_rec_uv(dt);
   ml_rec_uv(name);
   ml_rec_end();
}

void ml_out_page(ThreadId tid, UInt stack, UInt kind, Long count)
{
   event_prologue(tid);
   put_event_head(ML_TAG_PAGE, ML_STACK_CLASS_PAGE, stack);
   put_uv(kind);
   put_uv(ml_zigzag(count));
}

void ml_rec_begin(UChar tag)
{
   tl_assert(tag >= ML_TAG_LEN_PREFIXED);
   rec_tag = tag;
   rec_len = 0;
}

static void rec_need(SizeT n)
{
   if (rec_len + n <= rec_cap)
      return;
   SizeT cap = rec_cap ? rec_cap : 256;
   while (cap < rec_len + n)
      cap *= 2;
   rec_buf = VG_(realloc)("ml.out.rec", rec_buf, cap);
   rec_cap = cap;
}

void ml_rec_uv(ULong v)
{
   rec_need(ML_MAX_VARINT_LEN);
   rec_len += ml_put_uvarint(rec_buf + rec_len, v);
}

void ml_rec_bytes(const void *p, SizeT n)
{
   rec_need(n);
   VG_(memcpy)(rec_buf + rec_len, p, n);
   rec_len += n;
}

void ml_rec_str(const HChar *s)
{
   SizeT n = s ? VG_(strlen)(s) : 0;
   ml_rec_uv(n);
   ml_rec_bytes(s, n);
}

void ml_rec_end(void)
{
   if (rec_len > ML_MAX_PAYLOAD)          /* never expected; keep valid */
      rec_len = ML_MAX_PAYLOAD;
   need(1 + ML_MAX_VARINT_LEN);
   out_buf[out_pos++] = rec_tag;
   put_uv(rec_len);
   if (rec_len > OUT_BUF_SIZE - out_pos) {
      ml_out_flush();
      if (rec_len > OUT_BUF_SIZE) {
         write_all(rec_buf, rec_len);
         return;
      }
   }
   VG_(memcpy)(out_buf + out_pos, rec_buf, rec_len);
   out_pos += rec_len;
}
