/*--------------------------------------------------------------------*/
/*--- memline: a line-by-line memory profiler.           ml_main.c ---*/
/*--------------------------------------------------------------------*/

/* Overview of operation
   ---------------------
   memline records, for a program run under Valgrind, every heap change
   and every change of its simulated resident set (pages made resident or
   released) with its call stack and, for every source line of the
   program's own functions, how often execution entered it.  It writes them to a binary
   trace (vg-tool/ml_trace.h, docs/trace-format.md) that memline-report
   turns into memory_profiler-style per-line tables.

   Modules:
     ml_out.c    trace writer: buffer, varints, file naming, flushing
     ml_stack.c  strings, locations (with inlined frames), stack trie
     ml_heap.c   malloc replacement, live blocks, allocator client requests
     ml_lines.c  instrumentation: the superblock's walk, line entry counters
     ml_clock.c  the instruction clock: per-thread counts in guest state
     ml_rss.c    the page map, page checks, releases (the RSS metric)
     ml_gheap.c  a model of glibc's malloc, where the RSS metric's heap
                 pages lie (--rss-heap=glibc)
     preload.c   (in the program's process) mmap placed as the kernel
                 places it
     ml_ir.c     IR building blocks: short addresses of the tool's data
     ml_util.c   the word hash map everything above uses
     ml_main.c   options, start-up, fork/execve, exit (this file)

   Options:
     --memline-out-file=<file>  trace file name [memline.out.%p]; %p is the
                                pid, %q{VAR} an environment variable
     --depth=<1..500>           call-stack frames recorded [64]; deeper
                                stacks are kept from the innermost frame
                                and marked as cut
     --lines=yes|no             count line entries [yes]
     --rss=yes|no               simulate the resident set [yes]
     --rss-heap=glibc|valgrind  where the heap's resident pages come from:
                                a simulation of glibc's heap layout, or
                                Valgrind's allocator [glibc]
     --fns=GLOB[,GLOB...]       count lines only in matching functions
                                [all functions of the main executable]
     --compress=yes|no          stream the trace through a zstd process
                                [yes; uncompressed when there is no zstd]
     --time-resolution=<1..2^40>  guest instructions per unit of the
                                trace's timestamps [1048576 = 2^20]; an
                                event's time is the start of its unit, 1
                                records exact instruction counts

   Output: one trace per process.  A forked child writes its own complete
   trace (header and tables again, then the blocks it inherited), removed
   before its execve if the child allocated, freed and marked nothing
   ("A forked child's trace" below).  Before execve the trace is
   completed with a trailer.  A trace never overwrites
   one written by this process or an ancestor (the image before an execve
   has the same pid; a forked child or grandchild whose file name has no
   %p gets its parent's or grandparent's name, a trace that process may
   still be writing): .1 is added after an execve, .PID for a forked
   child.  The tool's
   fini, which writes the line table and the trailer, runs on normal exit,
   _exit, abort and fatal signals; a run killed with SIGKILL loses at most
   the last 64 KiB or one second of events, and the analyzer reports a
   trace without trailer as truncated. */

#include "pub_tool_basics.h"
#include "pub_tool_libcbase.h"
#include "pub_tool_libcassert.h"
#include "pub_tool_libcprint.h"
#include "pub_tool_libcproc.h"
#include "pub_tool_libcfile.h"
#include "pub_tool_mallocfree.h"
#include "pub_tool_options.h"
#include "pub_tool_tooliface.h"
#include "pub_tool_clientstate.h"
#include "pub_tool_replacemalloc.h"
#include "pub_tool_xarray.h"
#include "pub_tool_vki.h"
#include "pub_tool_vkiscnums.h"
#include "pub_tool_machine.h"
#include "pub_tool_debuginfo.h"
#include "ml_trace.h"
#include "ml_out.h"
#include "ml_clock.h"
#include "ml_stack.h"
#include "ml_heap.h"
#include "ml_lines.h"
#include "ml_ir.h"
#include "ml_rss.h"
#include "ml_util.h"
#include "memline.h"

/* Not in the pub_tool headers; set before option parsing so that inline
   frames are read by default while --read-inline-info=no still works. */
extern Bool VG_(clo_read_inline_info);
/* The scheduler's lock (pub_core_options.h: disable_fair_sched,
   enable_fair_sched, try_fair_sched); also set before option parsing,
   so that --fair-sched=no still works.  See ml_pre_clo_init. */
extern Int VG_(clo_fair_sched);
#define ML_TRY_FAIR_SCHED 2
/* Exported by the core (pub_core_threadstate.h, pub_core_libcfile.h),
   not in pub_tool. */
extern Int VG_(count_living_threads)(void);
extern Bool VG_(resolve_filename)(Int fd, const HChar **buf);

#define ML_VERSION "0.1.0"

/*------------------------------------------------------------*/
/*--- Command line options                                 ---*/
/*------------------------------------------------------------*/

static const HChar *clo_out_file = "memline.out.%p";
static Long         clo_depth = 64;
static Bool         clo_lines = True;
static Bool         clo_rss = True;
static Bool         clo_rss_glibc = True;
static const HChar *clo_fns = NULL;
static Bool         clo_compress = True;
static Bool         clo_inline_libs = False;
/* Instructions per time unit.  2^20 is a fraction of a millisecond of
   the program's native run (heaptrack samples every 10 ms); exact counts
   (1) were most of a compressed trace's bytes (ml_trace.h, "time"). */
static Long         clo_time_res = 1 << 20;
#define ML_TIME_RES_MAX (1LL << 40)

/* zstd level of the compressor (--compress=yes).  Level 6, not zstd's
   default 3: it finds the repeats of an interpreter's trace that level 3
   misses (lua's: 162 KB at 3, 112 KB at 6), compresses churn's 39 MB
   heap-only trace in 0.75 s of CPU while the run takes 2.5 s to produce
   it, and runs on another CPU (churn's wall time was the same at 3 and
   6 in 5 alternating runs each way; docs/trace-format.md,
   "Compression"). */
#define ML_ZSTD_LEVEL 6

static Bool ml_process_cmd_line_option(const HChar *arg)
{
   if VG_STR_CLO(arg, "--memline-out-file", clo_out_file) {}
   else if VG_BINT_CLO(arg, "--depth", clo_depth, 1, 500) {}
   else if VG_BOOL_CLO(arg, "--lines", clo_lines) {}
   else if VG_BOOL_CLO(arg, "--rss", clo_rss) {}
   else if VG_XACT_CLO(arg, "--rss-heap=valgrind", clo_rss_glibc, False) {}
   else if VG_XACT_CLO(arg, "--rss-heap=glibc", clo_rss_glibc, True) {}
   else if VG_STR_CLO(arg, "--fns", clo_fns) {}
   else if VG_BOOL_CLO(arg, "--compress", clo_compress) {}
   else if VG_BOOL_CLO(arg, "--inline-libs", clo_inline_libs) {}
   else if VG_BINT_CLO(arg, "--time-resolution", clo_time_res, 1,
                       ML_TIME_RES_MAX) {}
   else
      return VG_(replacement_malloc_process_cmd_line_option)(arg);
   return True;
}

static void ml_print_usage(void)
{
   VG_(printf)(
"    --memline-out-file=<file> trace file name [memline.out.%%p]\n"
"                              (%%p: pid, %%q{VAR}: environment variable)\n"
"    --depth=<number>          call-stack frames per event, 1..500 [64]\n"
"    --lines=no|yes            count entries of every source line [yes]\n"
"    --rss=no|yes              simulate the resident set page by page [yes]\n"
"    --rss-heap=glibc|valgrind the heap's resident pages from a simulation\n"
"                              of glibc's heap layout, or from Valgrind's\n"
"                              allocator [glibc]\n"
"    --fns=GLOB[,GLOB...]      count lines only in matching functions\n"
"                              [every function of the main executable]\n"
"    --compress=no|yes         compress the trace with zstd while the\n"
"                              program runs (a zstd process on another\n"
"                              CPU; no zstd in PATH: uncompressed) [yes]\n"
"    --inline-libs=no|yes      read inlined frames of libraries under\n"
"                              /usr/lib and /lib too (their debug info\n"
"                              from /usr/lib/debug, such as libc6-dbg's,\n"
"                              costs start-up time) [no]\n"
"    --time-resolution=<n>     guest instructions per unit of the trace's\n"
"                              timestamps, 1..2^40; an event is stamped\n"
"                              with the start of its unit, 1 gives exact\n"
"                              counts [1048576 = 2^20]\n"
   );
}

static void ml_print_debug_usage(void)
{
   VG_(printf)("    (none)\n");
}

/*------------------------------------------------------------*/
/*--- Trace header and trailer                             ---*/
/*------------------------------------------------------------*/

static ULong start_unix;
static Bool  trailer_written;
static Bool  fork_child;         /* this image is a forked child */
static ULong own_marks;          /* MARKs since the trace was opened */
static Bool  idle_dropped;       /* its trace removed before execve */

static void write_header(UInt flags, ULong inherited)
{
   ml_rec_begin(ML_TAG_HEADER);
   ml_rec_uv(ML_TRACE_VERSION);
   ml_rec_uv(sizeof(void *));
   ml_rec_uv(VKI_PAGE_SIZE);
   ml_rec_uv(VG_(getpid)());
   ml_rec_uv(VG_(getppid)());
   ml_rec_uv(start_unix);
   ml_rec_str("memline " ML_VERSION);
   ml_rec_str(VG_(args_the_exename));
   Word argc = VG_(sizeXA)(VG_(args_for_client));
   ml_rec_uv(argc);
   for (Word i = 0; i < argc; i++)
      ml_rec_str(*(HChar **)VG_(indexXA)(VG_(args_for_client), i));
   Word nopt = VG_(sizeXA)(VG_(args_for_valgrind));
   ml_rec_uv(nopt);
   for (Word i = 0; i < nopt; i++)
      ml_rec_str(*(HChar **)VG_(indexXA)(VG_(args_for_valgrind), i));
   ml_rec_uv(clo_depth);
   ml_rec_uv(flags | (clo_lines ? ML_HDR_LINES : 0) |
             (clo_rss ? ML_HDR_RSS : 0));
   ml_rec_uv(inherited);
   ml_rec_uv(ml_out_time_unit());
   ml_rec_end();
}

static void write_trailer(UInt kind, ULong code)
{
   const MlHeapStats *s = ml_heap_stats();
   ml_rec_begin(ML_TAG_TRAILER);
   ml_rec_uv(ml_clock());
   ml_rec_uv(s->n_allocs);
   ml_rec_uv(s->n_frees);
   ml_rec_uv(s->bytes_allocated);
   ml_rec_uv(ml_heap_cur);
   ml_rec_uv(s->peak);
   ml_rec_uv(kind);
   ml_rec_uv(code);
   if (clo_rss) {
      ml_rec_uv(ml_rss_peak());
      ml_rec_uv(ml_rss_cur);
   }
   ml_rec_end();
}

/* Line table, file facts and trailer: what makes a trace complete. */
static void finish_trace(UInt kind, ULong code)
{
   if (!ml_out_is_open())
      return;
   ml_rss_sweep();
   ml_out_time();
   if (clo_lines)
      ml_lines_write_table(True);
   write_trailer(kind, code);
   ml_out_flush();
   trailer_written = True;
}

static Bool open_trace(UInt flags, ULong inherited)
{
   HChar *name = VG_(expand_file_name)("--memline-out-file", clo_out_file);
   Bool ok = ml_out_open(name);
   VG_(free)(name);
   if (ok) {
      write_header(flags, inherited);
      ml_out_start();
   }
   return ok;
}

/*------------------------------------------------------------*/
/*--- Client requests                                      ---*/
/*------------------------------------------------------------*/

static Bool ml_handle_client_request(ThreadId tid, UWord *arg, UWord *ret)
{
   if (ml_heap_client_request(tid, arg, ret))
      return True;
   if (arg[0] == VG_USERREQ__MEMLINE_MARK) {
      const HChar *name = (const HChar *)arg[1];
      ml_out_mark(ml_str_intern(name ? name : "mark"));
      own_marks++;
      *ret = 0;
      return True;
   }
   if (arg[0] == VG_USERREQ__MEMLINE_PLACE_ALIGNED) {
      *ret = ml_rss_place_aligned();
      return True;
   }
   if (arg[0] == VG_USERREQ__MEMLINE_MAP_LIMIT) {
      *ret = ml_rss_map_limit();
      return True;
   }
   if (arg[0] == VG_USERREQ__MEMLINE_MALLOPT) {
      *ret = (UWord)(Word)ml_rss_mallopt((Int)arg[1], (Int)arg[2]);
      return True;
   }
   if (arg[0] == VG_USERREQ__MEMLINE_MALLOC_TRIM) {
      *ret = (UWord)(Word)ml_rss_malloc_trim((SizeT)arg[1]);
      return True;
   }
   return False;
}

/*------------------------------------------------------------*/
/*--- Fork and execve                                      ---*/
/*------------------------------------------------------------*/

static void ml_checkpoint(void)
{
   ml_lines_write_table(False);
}

static void ml_pre_fork(ThreadId tid)
{
   ml_out_flush();
}

static void ml_parent_after_fork(ThreadId tid) {}

/* A forked child's trace.  It starts with what the child inherited: the
   tables, the live blocks, the resident pages the kernel copies at a fork
   (ml_rss_fork_child).  A child that neither
   allocates, frees nor marks before it calls execve -- the usual fork
   and exec of a shell, make or a compiler driver -- has nothing of its
   own to show, and its trace is removed before the execve (as Massif
   writes no file for such a child): only if the execve fails is it
   written again, from the state at that point.  The child's page
   touches and line counts before that execve go with it (fork_child,
   own_marks, idle_dropped above). */
static void open_child_trace(ThreadId tid, Bool at_fork)
{
   /* The reader takes exactly the first 'inherited' ALLOC records after
      the tables for the inherited blocks (their time does not tell them
      apart from the child's own first allocations). */
   ULong inherited = ml_heap_n_live();
   own_marks = 0;
   if (!open_trace(ML_HDR_FORK_CHILD, inherited))
      return;
   ml_stack_reemit_all();
   ULong written = ml_heap_reemit_live(tid);
   tl_assert(written == inherited);
   if (clo_rss) {
      if (at_fork)
         ml_rss_fork_child(tid);
      ml_rss_reemit();
   }
   ml_heap_reset_stats();
   if (at_fork)
      ml_lines_reset();
   ml_out_flush();
   if (clo_lines)
      ml_out_set_checkpoint(ml_checkpoint, 10000);
}

static void ml_child_after_fork(ThreadId tid)
{
   ml_out_forget_after_fork();
   fork_child = True;
   idle_dropped = False;
   open_child_trace(tid, True);
}

/* A forked child with no event of its own in its trace. */
static Bool child_idle(void)
{
   const MlHeapStats *s = ml_heap_stats();
   return fork_child && s->n_allocs == 0 && s->n_frees == 0 &&
          own_marks == 0;
}

/* System calls that may block for long: flush a stale buffer first. */
static Bool may_block(UInt sysno)
{
   switch (sysno) {
   case __NR_nanosleep: case __NR_clock_nanosleep: case __NR_wait4:
   case __NR_waitid: case __NR_pause: case __NR_poll: case __NR_ppoll:
   case __NR_select: case __NR_pselect6: case __NR_epoll_wait:
   case __NR_epoll_pwait: case __NR_futex: case __NR_read:
   case __NR_accept: case __NR_accept4: case __NR_recvfrom:
   case __NR_recvmsg: case __NR_rt_sigsuspend: case __NR_rt_sigtimedwait:
      return True;
   default:
      return False;
   }
}

/* How the process ends: the core passes no exit code to fini, so the
   tool watches exit_group and signals a process sends itself. */
static Bool  seen_exit;
static ULong exit_status;
static Int   self_signal;

/* Inline frames of system libraries.  The core reads an object's debug
   info when the object is mapped, inlined frames included while
   VG_(clo_read_inline_info) is set: for libc, whose debug info comes from
   libc6-dbg (which Debian's valgrind recommends), that is most of a
   start-up (grow: 0.27 s against 0.21 s with --read-inline-info=no).
   Inlined frames matter in the program's own code, whose lines the
   report shows; in a library they only split a frame of its stacks.  So
   unless --inline-libs=yes, the flag is cleared around each mmap of a
   file in a system directory, the call that makes the core read a
   library, and set back after it.  The main executable and the dynamic
   linker are read at start-up, before any system call. */
static Bool inline_user;          /* the flag as the options left it */
static Bool inline_cleared;
static XArray *inline_skipped;    /* the files, each once (for -v -v) */
static HChar   inline_path[VKI_PATH_MAX];   /* the file of the call */

static Bool in_system_dir(const HChar *path)
{
   static const HChar *const dirs[] = { "/usr/lib/", "/usr/lib64/",
                                        "/lib/", "/lib64/" };
   for (UInt i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
      if (VG_(strncmp)(path, dirs[i], VG_(strlen)(dirs[i])) == 0)
         return True;
   return False;
}

static void inline_before(UInt sysno, const UWord *args, UInt nArgs)
{
   const HChar *path;
   if (clo_inline_libs || !inline_user || sysno != __NR_mmap ||
       nArgs <= 4 || (args[3] & VKI_MAP_ANONYMOUS) ||
       !VG_(resolve_filename)((Int)args[4], &path) || !in_system_dir(path))
      return;
   VG_(clo_read_inline_info) = False;
   inline_cleared = True;
   VG_(strncpy)(inline_path, path, sizeof inline_path - 1);
}

/* Lists the file of the call, once, if it is an object with debug info
   now (not a locale file, say). */
static void note_skipped(const HChar *path)
{
   Bool object = False;
   for (const DebugInfo *di = VG_(next_DebugInfo)(NULL); di && !object;
        di = VG_(next_DebugInfo)(di)) {
      const HChar *f = VG_(DebugInfo_get_filename)(di);
      object = f && VG_(strcmp)(f, path) == 0;
   }
   if (!object)
      return;
   if (!inline_skipped)
      inline_skipped = VG_(newXA)(VG_(malloc), "ml.inline.skipped",
                                  VG_(free), sizeof(HChar *));
   Word n = VG_(sizeXA)(inline_skipped);
   for (Word i = 0; i < n; i++)
      if (VG_(strcmp)(*(HChar **)VG_(indexXA)(inline_skipped, i), path) == 0)
         return;
   HChar *copy = VG_(strdup)("ml.inline.path", path);
   VG_(addToXA)(inline_skipped, &copy);
}

static void inline_after(void)
{
   if (inline_cleared) {
      VG_(clo_read_inline_info) = inline_user;
      inline_cleared = False;
      note_skipped(inline_path);
   }
}

static Addr  madv_addr;
static SizeT madv_len;
static UWord madv_advice;
static Bool  in_exec;

static void ml_pre_syscall(ThreadId tid, UInt sysno, UWord *args, UInt nArgs)
{
   inline_before(sysno, args, nArgs);
   if (sysno == __NR_execve || sysno == __NR_execveat) {
      in_exec = True;
      if (child_idle() && ml_out_is_open()) {
         ml_out_discard();
         idle_dropped = True;
      } else {
         ml_out_seal();
         finish_trace(ML_EXIT_EXEC, 0);
      }
   } else if (sysno == __NR_exit_group ||
              (sysno == __NR_exit && VG_(count_living_threads)() <= 1)) {
      seen_exit = True;
      exit_status = args[0] & 0xff;
      ml_rss_freeze();
   } else if ((sysno == __NR_kill && (Int)args[0] == VG_(getpid)()) ||
              (sysno == __NR_tgkill && (Int)args[0] == VG_(getpid)()) ||
              sysno == __NR_tkill) {
      Int sig = (Int)(sysno == __NR_tgkill ? args[2] : args[1]);
      if (sig > 0)
         self_signal = sig;
   } else if (sysno == __NR_madvise) {
      madv_addr = args[0];
      madv_len = args[1];
      madv_advice = args[2];
   } else if (may_block(sysno)) {
      ml_out_flush_if_stale();
   }
}

static void ml_post_syscall(ThreadId tid, UInt sysno, UWord *args,
                            UInt nArgs, SysRes res)
{
   inline_after();
   if (sysno == __NR_madvise && !sr_isError(res)) {
      ml_rss_madvise(madv_addr, madv_len, madv_advice);
      return;
   }
   if (sysno == __NR_mmap && !sr_isError(res) && nArgs > 4) {
      UWord flags = args[3];
      ml_rss_mapped(sr_Res(res), args[1], flags,
                    flags & VKI_MAP_ANONYMOUS ? -1 : (Int)args[4]);
      return;
   }
   if (!sr_isError(res)) {
      /* (mlock2: Valgrind 3.19 fails it with ENOSYS) */
      if (sysno == __NR_prctl && nArgs >= 3 && args[0] == 41)
         ml_rss_thp_disable(args[1], args[2]);   /* PR_SET_THP_DISABLE */
      else if (sysno == __NR_mlock)
         ml_rss_lock(args[0], args[1]);
      else if (sysno == __NR_mlockall)
         ml_rss_lock_all(args[0]);
      else if (sysno == __NR_munlockall)
         ml_rss_unlock_all();
   }
   if (in_exec && (sysno == __NR_execve || sysno == __NR_execveat)) {
      /* execve failed: take the trailer back and go on (or write the
         idle child's trace again). */
      in_exec = False;
      if (idle_dropped) {
         idle_dropped = False;
         open_child_trace(tid, False);
      } else {
         trailer_written = False;
         ml_out_unseal();
      }
   }
}

/*------------------------------------------------------------*/
/*--- Initialisation and finalisation                      ---*/
/*------------------------------------------------------------*/

static void ml_new_mem_mmap(Addr a, SizeT len, Bool rr, Bool ww, Bool xx,
                            ULong di_handle)
{
   ml_stack_note_mmap();
}

/* Whether the command line (or VALGRIND_OPTS, ~/.valgrindrc) holds an
   option starting with prefix. */
static Bool option_given(const HChar *prefix)
{
   Word n = VG_(sizeXA)(VG_(args_for_valgrind));
   SizeT len = VG_(strlen)(prefix);
   for (Word i = 0; i < n; i++)
      if (VG_(strncmp)(*(HChar **)VG_(indexXA)(VG_(args_for_valgrind), i),
                       prefix, len) == 0)
         return True;
   return False;
}

static void ml_post_clo_init(void)
{
   VG_(track_new_mem_mmap)(ml_new_mem_mmap);
   inline_user = VG_(clo_read_inline_info);
   ml_clock_init();
   struct vki_timeval tv;
   if (VG_(gettimeofday)(&tv, NULL) == 0)
      start_unix = tv.tv_sec;
   ml_stack_init((UInt)clo_depth);
   if (!option_given("--vex-guest-chase"))
      /* Chasing while the program has translated little code, none once
         it has translated much (ml_ir.c, "Chasing"): on code that runs
         hot chasing saves 10-15%, on a run that is mostly translation
         (gcc's cc1) it costs as much, translating 27% more. */
      ml_ir_chase_auto();
   if (clo_rss)
      ml_rss_enable(clo_rss_glibc);
   if (!option_given("--vex-iropt-register-updates") &&
       !option_given("--px-default"))
      /* Only SP need be exact at memory accesses, as under Massif: the
         allocator's calls come at a superblock's end, where their dirty
         call declares the registers it unwinds from, and the page helpers
         in the middle of one declare SP and BP and are passed their
         instruction's address.  Keeping IP and BP exact at every access
         cost 10% on compute in heap-only runs.  (Unless the user chose
         with --vex-iropt-register-updates or its synonym --px-default.) */
      VG_(clo_vex_control).iropt_register_updates_default =
         VexRegUpdSpAtMemAccess;
   ml_heap_init();
   ml_lines_init(clo_lines, clo_fns);
   ml_out_set_compression(clo_compress, ML_ZSTD_LEVEL);
   ml_out_set_time_unit((ULong)clo_time_res);
   if (open_trace(0, 0) && clo_lines)
      ml_out_set_checkpoint(ml_checkpoint, 10000);
}

static void ml_fini(Int exitcode)
{
   if (!trailer_written) {
      if (seen_exit)
         finish_trace(ML_EXIT_NORMAL, exit_status);
      else
         finish_trace(ML_EXIT_SIGNAL, (ULong)self_signal);
   }
   ml_out_close();
   if (VG_(clo_verbosity) > 0 && ml_out_name()) {
      const MlHeapStats *s = ml_heap_stats();
      VG_(umsg)("memline: trace %s: %llu allocations, %llu frees, "
                "peak heap %llu B\n", ml_out_name(), s->n_allocs,
                s->n_frees, s->peak);
      VG_(umsg)("memline: to see the per-line report, run: "
                "memline-report %s\n", ml_out_name());
   }
   if (VG_(clo_verbosity) > 1) {
      VG_(umsg)("memline: %llu stack nodes, %llu locations, %llu line "
                "slots (%llu shared high-water cells), %llu instructions\n",
                ml_stack_n_nodes(), ml_stack_n_locs(), ml_lines_n_slots(),
                ml_lines_n_cells(), ml_clock());
      VG_(umsg)("memline: %llu code addresses with lines remembered\n",
                ml_lines_n_addrs());
      if (ml_ir_chase_stopped_at())
         VG_(umsg)("memline: %llu guest instructions translated; chasing "
                   "stopped after %llu\n", ml_ir_n_translated(),
                   ml_ir_chase_stopped_at());
      else
         VG_(umsg)("memline: %llu guest instructions translated\n",
                   ml_ir_n_translated());
      for (Word i = 0; inline_skipped && i < VG_(sizeXA)(inline_skipped);
           i++)
         VG_(umsg)("memline: no inlined frames read for %s\n",
                   *(HChar **)VG_(indexXA)(inline_skipped, i));
      ULong hits, misses;
      ml_stack_cache_stats(&hits, &misses);
      VG_(umsg)("memline: map inserts %llu, extra probes %llu, stack cache "
                "hits %llu, misses %llu\n", ml_map_calls, ml_map_probes,
                hits, misses);
      ULong spliced;
      ml_stack_vcache_stats(&hits, &misses, &spliced);
      VG_(umsg)("memline: verified stack cache hits %llu, misses %llu "
                "(%llu of them spliced onto the last stack)\n",
                hits, misses, spliced);
      ULong pev, prec;
      Long net[ML_PAGE_KINDS];
      ml_out_page_stats(&pev, &prec, net);
      VG_(umsg)("memline: %llu page events in %llu PAGE records; pages "
                "resident at the end: anon %lld, file %lld, stack %lld, "
                "code %lld\n", pev, prec, net[ML_PAGE_ANON],
                net[ML_PAGE_FILE], net[ML_PAGE_STACK], net[ML_PAGE_CODE]);
      VG_(umsg)("memline: %llu of %llu frees wrote their size (the others' "
                "blocks were among the last %u allocated)\n",
                ml_out_n_frees_sized(), ml_heap_stats()->n_frees,
                ML_SIZE_WINDOW);
      ml_rss_print_stats();
   }
}

static void ml_pre_clo_init(void)
{
   VG_(details_name)            ("memline");
   VG_(details_version)         (ML_VERSION);
   VG_(details_description)     ("a line-by-line memory profiler");
   VG_(details_copyright_author)("Copyright (C) the memline authors.");
   VG_(details_bug_reports_to)  ("the memline issue tracker");
   VG_(details_avg_translation_sizeB)(330);

   VG_(basic_tool_funcs)(ml_post_clo_init, ml_instrument, ml_fini);
   VG_(needs_libc_freeres)();
   VG_(needs_cxx_freeres)();
   VG_(needs_command_line_options)(ml_process_cmd_line_option,
                                   ml_print_usage, ml_print_debug_usage);
   VG_(needs_client_requests)(ml_handle_client_request);
   VG_(needs_syscall_wrapper)(ml_pre_syscall, ml_post_syscall);
   ml_heap_register_replacements();
   VG_(atfork)(ml_pre_fork, ml_parent_after_fork, ml_child_after_fork);

   VG_(clo_read_inline_info) = True;
   /* Threads take turns in order (the ticket lock, --fair-sched=try):
      with Valgrind's default lock the thread that gives the lock up
      mostly takes it again, so threads that run side by side natively
      (Python's, passing the GIL) ran one after another and the memory
      they hold at once was less than natively (docs/rss-model.md, "The
      heap", on threads). */
   VG_(clo_fair_sched) = ML_TRY_FAIR_SCHED;
}

VG_DETERMINE_INTERFACE_VERSION(ml_pre_clo_init)

/*--------------------------------------------------------------------*/
/*--- end                                                ml_main.c ---*/
/*--------------------------------------------------------------------*/
