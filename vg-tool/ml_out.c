/* ml_out.c -- the trace writer of ml_out.h.

   Events are encoded straight into a 64 KiB buffer; length-prefixed
   records are first built in a growable scratch buffer so that their
   length can precede them.  Every timed record's dt comes from one
   helper, take_dt: the advance of the instruction clock counted in
   units of --time-resolution instructions (ml_trace.h, "time").  The
   file descriptor is moved above the client's descriptor range and
   marked close-on-exec (VG_(safe_fd)), so the client can neither see nor
   close it.

   Compression (--compress=yes, the default, when a zstd executable is
   found).  The trace file then holds zstd frames (docs/trace-format.md,
   "Compression"): the tool itself writes the first one, the magic and
   HEADER stored raw, so that the file can be recognised without a
   decompressor (trace_pid below); then a `zstd -q -c` process compresses
   everything else while the program runs, on another CPU.  The tool
   sends its flushed buffers into a socket (send with MSG_NOSIGNAL: a
   compressor that died must not raise SIGPIPE in the client) whose other
   end is the compressor's stdin; the compressor's stdout is the trace
   file; its stderr is a pipe whose write end only it holds, so reading
   that pipe to end-of-file waits until it has written its last byte and
   exited (ml_out_close, and ml_out_seal before execve).

   The compressor is started by a double fork: the tool's child calls
   setsid and forks the compressor, then exits at once and is reaped here.
   So the compressor is not the client's child (a waitpid(-1) of the
   client never sees it) and not in its process group or session (a
   Ctrl-C, kill(0, ...) or hangup aimed at the client spares it).  When
   the process dies, even by SIGKILL, the compressor reads end-of-file and
   ends its frame: the trace holds everything flushed before.  A forked
   client child closes its copies of the parent's descriptors and starts
   its own compressor for its own trace. */
#include "pub_tool_basics.h"
#include "pub_tool_libcbase.h"
#include "pub_tool_libcassert.h"
#include "pub_tool_libcfile.h"
#include "pub_tool_libcprint.h"
#include "pub_tool_libcproc.h"
#include "pub_tool_mallocfree.h"
#include "pub_tool_vki.h"
#include "pub_tool_threadstate.h"
#include "pub_tool_vkiscnums.h"
#include "ml_trace.h"
#include "ml_out.h"
#include "ml_clock.h"

/* Not in the pub_tool headers, but exported by libcoregrind: moves an fd
   above the client's range and sets close-on-exec; checks a file is an
   executable; makes a system call; fcntl. */
extern Int VG_(safe_fd)(Int oldfd);
extern Int VG_(check_executable)(Bool *is_setuid, const HChar *f,
                                 Bool allow_setuid);
extern SysRes VG_(do_syscall)(UWord sysno, RegWord a1, RegWord a2,
                              RegWord a3, RegWord a4, RegWord a5,
                              RegWord a6, RegWord a7, RegWord a8);
extern Int VG_(fcntl)(Int fd, Int cmd, Addr arg);
#define ml_syscall(n, a, b, c, d, e, f) \
   VG_(do_syscall)((n), (RegWord)(a), (RegWord)(b), (RegWord)(c), \
                   (RegWord)(d), (RegWord)(e), (RegWord)(f), 0, 0)
#ifndef __NR_close_range
#define __NR_close_range 436
#endif
#define ML_SOCK_STREAM 1


#define OUT_BUF_SIZE  (64 * 1024)
#define TICK_EVENTS   1024         /* check the clock every N events */
#define FLUSH_MS      1000

static Int    out_fd = -1;
static HChar *out_name;

/* Compression (see the top of the file). */
static Int    z_level;             /* 0: --compress=no */
static HChar *z_path;              /* the zstd executable, or NULL */
static Bool   z_mode;              /* this trace is a zstd stream */
static Int    z_fd = -1;           /* socket into the compressor's stdin */
static Int    z_err_fd = -1;       /* read end of its stderr pipe */
static UChar  out_buf[OUT_BUF_SIZE];
static UInt   out_pos;
static ULong  out_resets;          /* times out_pos went back to 0 */
static ULong  out_file_off;        /* bytes already written to the file */
/* Encoder state (ml_trace.h, "event fields"): reset when a trace is
   opened, saved by ml_out_seal and put back by ml_out_unseal. */
typedef struct {
   ULong    prev_units;            /* quantized clock (ml_clock() / time
                                      unit) at the previous record with
                                      dt, or at the trace's start */
   ULong    next_unit_at;          /* the first ml_clock() of the unit
                                      after prev_units: below it, dt is 0 */
   ThreadId last_tid;
   UInt     prev_stack[ML_STACK_CLASSES];
   UInt     n_stacks;              /* STACK records written: the id of
                                      the newest node, as the reader
                                      numbers them */
   ULong    next_id;               /* id of the next ALLOC / CALLOC */
   ULong    prev_free_id[ML_BLOCK_SPACES];
   ULong    n_frees_sized;         /* FREE and CFREE records that wrote
                                      their size (-v -v) */
} EncState;
static EncState enc;
/* Sizes of the last ML_SIZE_WINDOW blocks allocated (ml_trace.h, "Freed
   size"): entry id % ML_SIZE_WINDOW for ids below enc.next_id.  Not
   reset with enc: every entry a FREE can name, one of the last window
   of ids given out since, has been written again after the reset. */
static UInt size_window[ML_SIZE_WINDOW];

/* The time unit (--time-resolution): instructions per dt unit. */
static ULong  time_unit = 1;

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

static void stop_output(const HChar *why)
{
   VG_(umsg)("memline: %s %s; trace output stopped\n", why,
             out_name ? out_name : "trace");
   if (z_fd >= 0)
      VG_(close)(z_fd);
   z_fd = -1;
   if (out_fd >= 0)
      VG_(close)(out_fd);
   out_fd = -1;
}

/* Writes n bytes to fd (the trace file, or the compressor's socket).
   Returns False after stopping the output on an error. */
static Bool put_bytes(Int fd, const UChar *p, SizeT n, Bool sock)
{
   while (n > 0) {
      Int chunk = n > (1u << 30) ? (1 << 30) : (Int)n;
      Long w;
      if (sock) {
         SysRes r = ml_syscall(__NR_sendto, fd, p, chunk, VKI_MSG_NOSIGNAL,
                               0, 0);
         if (sr_isError(r) && sr_Err(r) == VKI_EINTR)
            continue;
         w = sr_isError(r) ? -1 : (Long)sr_Res(r);
      } else {
         w = VG_(write)(fd, p, chunk);
      }
      if (w <= 0) {
         stop_output(sock ? "the zstd compressor stopped reading; lost"
                          : "error writing");
         return False;
      }
      p += w;
      n -= w;
   }
   return True;
}

/* Writes n bytes to the file as frames of raw bytes (a zstd stream
   while no compressor runs: the HEADER, a tail before execve). */
static void put_raw_frames(const UChar *p, SizeT n)
{
   while (n > 0 && out_fd >= 0) {
      UInt k = n > ML_ZSTD_RAW_MAX ? ML_ZSTD_RAW_MAX : (UInt)n;
      UChar h[ML_ZSTD_RAW_HDR_LEN];
      ml_zstd_raw_header(h, k);
      if (!put_bytes(out_fd, h, sizeof h, False) ||
          !put_bytes(out_fd, p, k, False))
         return;
      p += k;
      n -= k;
   }
}

static void write_all(const UChar *p, SizeT n)
{
   if (out_fd < 0)
      return;
   if (z_fd >= 0)
      put_bytes(z_fd, p, n, True);
   else if (z_mode)
      put_raw_frames(p, n);
   else
      put_bytes(out_fd, p, n, False);
   out_file_off += n;             /* offset in the (decompressed) trace */
}

/*------------------------------------------------------------*/
/*--- The compressor                                       ---*/
/*------------------------------------------------------------*/

/* The zstd executable: the first in the client's PATH, else
   /usr/bin/zstd; NULL when there is none. */
static HChar *find_zstd(void)
{
   const HChar *path = VG_(getenv)("PATH");
   if (path) {
      SizeT n = VG_(strlen)(path);
      HChar *buf = VG_(malloc)("ml.out.zpath", n + 8);
      for (const HChar *p = path; *p;) {
         const HChar *e = VG_(strchr)(p, ':');
         SizeT len = e ? (SizeT)(e - p) : VG_(strlen)(p);
         if (len > 0 && p[0] == '/') {     /* absolute entries only */
            VG_(memcpy)(buf, p, len);
            VG_(strcpy)(buf + len, "/zstd");
            Bool setuid;
            if (VG_(check_executable)(&setuid, buf, False) == 0)
               return buf;
         }
         p += len + (e ? 1 : 0);
      }
      VG_(free)(buf);
   }
   Bool setuid;
   if (VG_(check_executable)(&setuid, "/usr/bin/zstd", False) == 0)
      return VG_(strdup)("ml.out.zpath", "/usr/bin/zstd");
   return NULL;
}

/* In the compressor's process: fd on top of the others, then on to. */
static void move_fd(Int fd, Int to)
{
   Int tmp = VG_(fcntl)(fd, VKI_F_DUPFD, 16);
   if (tmp >= 0)
      VG_(dup2)(tmp, to);
}

/* The compressor, after the double fork: stdin the socket, stdout the
   trace, stderr the pipe; every other descriptor closed (the client's
   too: the compressor must not hold a pipe the client's peers wait on);
   then exec.  Never returns. */
static void exec_compressor(Int in, Int out, Int err)
{
   move_fd(in, 100);
   move_fd(out, 101);
   move_fd(err, 102);
   VG_(dup2)(100, 0);
   VG_(dup2)(101, 1);
   VG_(dup2)(102, 2);
   SysRes r = ml_syscall(__NR_close_range, 3, ~0u, 0, 0, 0, 0);
   if (sr_isError(r))
      for (Int fd = 3; fd < 1024; fd++)
         VG_(close)(fd);
   HChar level[16];
   VG_(sprintf)(level, "-%d", z_level);
   const HChar *argv[] = { z_path, "-q", "-c", level, NULL };
   VG_(execv)(z_path, argv);
   VG_(exit)(127);
}

/* Starts a compressor writing at out_fd's offset.  Returns False (the
   trace then goes on as raw frames) when it cannot. */
static Bool start_compressor(void)
{
   Int sv[2], ep[2];
   SysRes r = ml_syscall(__NR_socketpair, VKI_AF_UNIX, ML_SOCK_STREAM, 0,
                         (Addr)sv, 0, 0);
   if (sr_isError(r))
      return False;
   if (VG_(pipe)(ep) < 0) {
      VG_(close)(sv[0]);
      VG_(close)(sv[1]);
      return False;
   }
   Int pid = VG_(fork)();
   if (pid == 0) {
      /* the intermediate child: a new session, the compressor, exit */
      ml_syscall(__NR_setsid, 0, 0, 0, 0, 0, 0);
      if (VG_(fork)() == 0)
         exec_compressor(sv[1], out_fd, ep[1]);
      VG_(exit)(0);
   }
   VG_(close)(sv[1]);
   VG_(close)(ep[1]);
   if (pid < 0) {
      VG_(close)(sv[0]);
      VG_(close)(ep[0]);
      return False;
   }
   Int status;
   VG_(waitpid)(pid, &status, 0);
   z_fd = VG_(safe_fd)(sv[0]);
   z_err_fd = VG_(safe_fd)(ep[0]);
   if (z_fd < 0 || z_err_fd < 0) {
      if (z_fd >= 0)
         VG_(close)(z_fd);
      if (z_err_fd >= 0)
         VG_(close)(z_err_fd);
      z_fd = z_err_fd = -1;
      return False;
   }
   return True;
}

/* Ends the compressor's input and waits until it has written everything
   and exited (its stderr pipe reaches end-of-file); says what it printed,
   if anything. */
static void stop_compressor(void)
{
   if (z_fd >= 0)
      VG_(close)(z_fd);
   z_fd = -1;
   if (z_err_fd < 0)
      return;
   HChar msg[256];
   Int len = 0, n;
   HChar sink[256];
   while ((n = VG_(read)(z_err_fd, sink, sizeof sink)) != 0) {
      if (n < 0) {
         if (n == -VKI_EINTR)
            continue;
         break;
      }
      for (Int i = 0; i < n && len < (Int)sizeof msg - 1; i++)
         msg[len++] = sink[i] == '\n' ? ' ' : sink[i];
   }
   VG_(close)(z_err_fd);
   z_err_fd = -1;
   msg[len] = 0;
   if (len > 0)
      VG_(umsg)("memline: zstd: %s\n", msg);
}

void ml_out_set_time_unit(ULong unit)
{
   tl_assert(unit >= 1);
   time_unit = unit;
}

ULong ml_out_time_unit(void) { return time_unit; }

void ml_out_set_compression(Bool on, Int level)
{
   z_level = on ? level : 0;
   if (on && !z_path) {
      z_path = find_zstd();
      if (!z_path)
         VG_(umsg)("memline: no zstd executable in PATH or /usr/bin; the "
                   "trace is written uncompressed\n");
   }
}

void ml_out_start(void)
{
   if (!z_mode || out_fd < 0)
      return;
   /* the magic and HEADER in a frame of their own, stored raw */
   put_raw_frames(out_buf, out_pos);
   out_file_off += out_pos;
   out_pos = 0;
   out_resets++;
   if (out_fd >= 0 && !start_compressor())
      VG_(umsg)("memline: cannot start %s; the trace is written "
                "uncompressed\n", z_path);
}

void ml_out_flush(void)
{
   if (out_pos > 0) {
      write_all(out_buf, out_pos);
      out_pos = 0;
      out_resets++;
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

/* Takes the clock's unit as the previous timed record's (at a trace's
   start and at every timed record that crosses into a new unit: one
   division per unit, not per event). */
static void clock_mark(void)
{
   ULong now = ml_clock();
   enc.prev_units = now / time_unit;
   ULong end = (enc.prev_units + 1) * time_unit;
   /* a product that wraps is a boundary past 2^64: never reached */
   enc.next_unit_at = end > now ? end : ~0ULL;
}

/* The dt of a timed record stamped now -- the one place dt is computed
   (ml_trace.h, "time"): the quantized clock's advance since the previous
   timed record, floor(ml_clock() / unit) - floor(previous ml_clock() /
   unit), so rounding never accumulates.  Events in the unit of the
   previous one (most of them, at the default unit) cost a comparison. */
static inline ULong take_dt(void)
{
   if (ml_clock() < enc.next_unit_at)
      return 0;
   ULong prev = enc.prev_units;
   clock_mark();
   return enc.prev_units - prev;
}

static inline void put_dt(void)
{
   put_uv(take_dt());
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
   const UChar *p = b, *end = b + (n > 0 ? n : 0);
   /* a compressed trace starts with a frame of raw bytes (ml_out_start) */
   if (n >= ML_ZSTD_RAW_HDR_LEN && b[0] == 0x28 && b[1] == 0xB5 &&
       b[2] == 0x2F && b[3] == 0xFD && b[4] == 0xA0)
      p += ML_ZSTD_RAW_HDR_LEN;
   if (end - p < ML_TRACE_MAGIC_LEN + 2 ||
       VG_(memcmp)(p, ML_TRACE_MAGIC, ML_TRACE_MAGIC_LEN) != 0)
      return -1;
   p += ML_TRACE_MAGIC_LEN;
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

/* The parent of process pid from /proc/PID/stat ("pid (comm) state
   ppid ..."; comm may hold spaces and parentheses: the field follows
   the last ')'), or -1. */
static Long proc_ppid(Long pid)
{
   HChar path[40], b[512];
   VG_(sprintf)(path, "/proc/%lld/stat", pid);
   SysRes r = VG_(open)(path, VKI_O_RDONLY, 0);
   if (sr_isError(r))
      return -1;
   Int fd = sr_Res(r);
   Int n = VG_(read)(fd, b, sizeof b - 1);
   VG_(close)(fd);
   if (n <= 0)
      return -1;
   b[n] = 0;
   HChar *p = VG_(strrchr)(b, ')');
   if (!p || p[1] != ' ' || !p[2] || p[3] != ' ')
      return -1;
   p += 4;
   Long v = 0;
   if (*p < '0' || *p > '9')
      return -1;
   for (; *p >= '0' && *p <= '9'; p++)
      v = v * 10 + (*p - '0');
   return v;
}

/* The processes whose traces this one must not overwrite: itself (the
   image before an execve) and its ancestors up to init (a forked child,
   or grandchild, given the same name; up to ML_MAX_ANCESTORS). */
#define ML_MAX_ANCESTORS 64
static Int own_lineage(Long *pids)
{
   Int n = 0;
   pids[n++] = VG_(getpid)();
   Long p = VG_(getppid)();
   while (p > 1 && n < ML_MAX_ANCESTORS) {
      pids[n++] = p;
      p = proc_ppid(p);
   }
   return n;
}

Bool ml_out_open(const HChar *name)
{
   /* Never clobber a trace of this process (the image before an execve:
      add .1, .2 ...) or of an ancestor, which may still be writing it (a
      forked child or grandchild given the same name: add .PID, which
      keeps forked siblings apart). */
   SizeT len = VG_(strlen)(name);
   HChar *chosen = VG_(malloc)("ml.out.name", len + 40);
   Long lineage[ML_MAX_ANCESTORS], pid = VG_(getpid)();
   Int n_lineage = own_lineage(lineage);
   Int seq = 0;
   Bool pid_tried = False;
   VG_(strcpy)(chosen, name);
   for (Int i = 0; i < 1000; i++) {
      Long owner = trace_pid(chosen);
      Int k = 0;
      while (k < n_lineage && (owner < 0 || lineage[k] != owner))
         k++;
      if (k == n_lineage)
         break;                         /* no trace, or not ours */
      if (owner != pid && !pid_tried) {
         VG_(sprintf)(chosen, "%s.%lld", name, pid);
         pid_tried = True;
      } else {
         VG_(sprintf)(chosen, "%s.%d", name, ++seq);
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
   z_mode = z_level > 0 && z_path != NULL;
   out_pos = 0;
   out_resets++;
   out_file_off = 0;
   VG_(memset)(&enc, 0, sizeof enc);
   clock_mark();
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
   stop_compressor();
   if (out_fd >= 0)
      VG_(close)(out_fd);
   out_fd = -1;
}

void ml_out_forget_after_fork(void)
{
   /* The child shares the parent's open file description and socket:
      closing our copies is safe (and needed: the parent's compressor
      ends when every copy of its input is closed), writing is not. */
   if (out_fd >= 0)
      VG_(close)(out_fd);
   if (z_fd >= 0)
      VG_(close)(z_fd);
   if (z_err_fd >= 0)
      VG_(close)(z_err_fd);
   out_fd = z_fd = z_err_fd = -1;
   out_pos = 0;
   out_resets++;
}

/* Removes the trace file: what was written and what is buffered (an
   idle forked child's trace before a successful execve, ml_main.c). */
void ml_out_discard(void)
{
   out_pos = 0;
   out_resets++;
   stop_compressor();
   if (out_fd >= 0)
      VG_(close)(out_fd);
   out_fd = -1;
   if (out_name)
      VG_(unlink)(out_name);
}

/* Before execve: where the trace stood, to take back what is written
   between ml_out_seal and ml_out_unseal (a trailer) if execve fails.
   A compressed trace is sealed by ending the compressor's stream (so the
   file is whole before the image is replaced); the tail then goes to
   the file as raw frames, and is blotted out by a skippable frame if it
   must be taken back. */
static ULong    seal_off;          /* file offset (raw) or file size (z) */
static EncState seal_enc;
static Bool     seal_restart;      /* a compressor ran before the seal */

void ml_out_seal(void)
{
   ml_out_flush();
   seal_enc = enc;
   if (z_mode) {
      seal_restart = z_fd >= 0;
      stop_compressor();
      seal_off = out_fd >= 0 ? (ULong)VG_(lseek)(out_fd, 0, VKI_SEEK_END)
                             : 0;
   } else {
      seal_off = out_file_off;
   }
}

void ml_out_unseal(void)
{
   ml_out_flush();
   enc = seal_enc;
   if (out_fd < 0)
      return;
   if (!z_mode) {
      VG_(lseek)(out_fd, (Off64T)seal_off, VKI_SEEK_SET);
      out_file_off = seal_off;
      return;
   }
   Off64T end = VG_(lseek)(out_fd, 0, VKI_SEEK_END);
   if (end >= (Off64T)(seal_off + ML_ZSTD_SKIP_HDR_LEN)) {
      UChar h[ML_ZSTD_SKIP_HDR_LEN];
      ml_zstd_skip_header(h, (UInt)(end - seal_off - ML_ZSTD_SKIP_HDR_LEN));
      VG_(lseek)(out_fd, (Off64T)seal_off, VKI_SEEK_SET);
      put_bytes(out_fd, h, sizeof h, False);
      if (out_fd >= 0)
         VG_(lseek)(out_fd, end, VKI_SEEK_SET);
   }
   if (seal_restart && out_fd >= 0 && !start_compressor())
      VG_(umsg)("memline: cannot restart %s; the trace goes on "
                "uncompressed\n", z_path);
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
   put_uv(++enc.n_stacks - parent);   /* up: from the node's own id */
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
      /* 0: the newest stack node (ml_trace.h, "event fields") */
      put_uv(stack == enc.n_stacks ? 0
                                       : ml_zigzag((Long)stack - (Long)prev));
      enc.prev_stack[cls] = stack;
   }
}

ULong ml_out_alloc(ThreadId tid, UInt stack, SizeT size, Bool custom)
{
   event_prologue(tid);
   put_event_head(custom ? ML_TAG_CALLOC : ML_TAG_ALLOC,
                  ML_STACK_CLASS_ALLOC, stack);
   put_uv(size);
   size_window[ML_SIZE_SLOT(enc.next_id)] = ml_size_kept(size);
   return enc.next_id++;
}

void ml_out_free(ThreadId tid, UInt stack, SizeT size, ULong id, Bool custom)
{
   event_prologue(tid);
   /* The size only when the reader cannot know it: a block older than
      the window, a size the window does not keep (or a size that is not
      the one allocated, which would be a bug of the caller's: written as
      it is, --verify then finds it). */
   UChar tag = custom ? ML_TAG_CFREE : ML_TAG_FREE;
   Bool known = size < ML_SIZE_UNKNOWN &&
                enc.next_id - id <= ML_SIZE_WINDOW &&
                size_window[ML_SIZE_SLOT(id)] == size;
   put_event_head(known ? (UChar)(tag | ML_TAG_SIZE_KNOWN) : tag,
                  ML_STACK_CLASS_FREE, stack);
   if (!known) {
      put_uv(size);
      enc.n_frees_sized++;
   }
   ULong *prev = &enc.prev_free_id[custom ? 1 : 0];
   put_uv(ml_zigzag((Long)(id - *prev)));
   *prev = id;
}

ULong ml_out_n_frees_sized(void)
{
   return enc.n_frees_sized;
}

void ml_out_mark(UInt name)
{
   ULong dt = take_dt();
   ml_rec_begin(ML_TAG_MARK);
   ml_rec_uv(dt);
   ml_rec_uv(name);
   ml_rec_end();
}

/* The last PAGE record while nothing has been written after it (its
   thread and stack are then the encoder's last_tid and PAGE prev_stack):
   a page-in of the same thread, stack and kind in the same time unit adds
   its pages to that record's instead of writing one of its own.  A loop
   touching memory page by page (a memset, an array filled) then writes
   a record per time unit instead of one per page (`pages`: 206,284 page
   events in 103 records), and every number memline-report derives is
   the same: the record's stack node gets the same sums, the level after
   the last of the merged page-ins is the highest of theirs, and they
   share their timestamp.  Releases are never merged. */
static struct {
   Bool  open;
   ULong resets;                   /* out_resets when it was written */
   UInt  count_pos, end;           /* its count field, its end in out_buf */
   UInt  kind;
   Long  count;
} last_page;
static ULong n_page_events, n_page_records;
static Long  page_net[ML_PAGE_KINDS];  /* pages per kind, by the events */

void ml_out_page(ThreadId tid, UInt stack, UInt kind, Long count)
{
   n_page_events++;
   if (kind < ML_PAGE_KINDS)
      page_net[kind] += count;
   if (last_page.open && last_page.resets == out_resets &&
       last_page.end == out_pos && enc.last_tid == tid &&
       enc.prev_stack[ML_STACK_CLASS_PAGE] == stack &&
       last_page.kind == kind && count > 0 && count < (1LL << 40) &&
       last_page.count < (1LL << 40) && ml_clock() < enc.next_unit_at) {
      /* the record was written after need() made room for every field at
         its longest: its count can be rewritten in place */
      last_page.count += count;
      out_pos = last_page.count_pos;
      put_uv(ml_zigzag(last_page.count));
      last_page.end = out_pos;
      return;
   }
   n_page_records++;
   event_prologue(tid);
   put_event_head(ML_TAG_PAGE, ML_STACK_CLASS_PAGE, stack);
   put_uv(kind);
   last_page.count_pos = out_pos;
   put_uv(ml_zigzag(count));
   /* only a page-in can take later ones */
   last_page.open = count > 0;
   last_page.resets = out_resets;
   last_page.end = out_pos;
   last_page.kind = kind;
   last_page.count = count;
}

void ml_out_page_stats(ULong *events, ULong *records, Long *net)
{
   *events = n_page_events;
   *records = n_page_records;
   for (UInt k = 0; k < ML_PAGE_KINDS; k++)
      net[k] = page_net[k];
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
