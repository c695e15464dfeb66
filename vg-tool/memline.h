/* memline.h -- client requests for programs profiled with memline.

   Outside Valgrind these cost a few instructions and do nothing.
   Custom allocators should use Valgrind's own VALGRIND_MALLOCLIKE_BLOCK,
   VALGRIND_FREELIKE_BLOCK and VALGRIND_RESIZEINPLACE_BLOCK (valgrind.h):
   memline tracks those blocks exactly like malloc'd ones.

     MEMLINE_MARK("name")   writes a named mark into the trace, stamped
                            with the current instruction count. */
#ifndef MEMLINE_H
#define MEMLINE_H

#include <valgrind/valgrind.h>

typedef enum {
   VG_USERREQ__MEMLINE_MARK = VG_USERREQ_TOOL_BASE('M', 'L'),
   /* memline's own preload asks whether to place mappings as the kernel
      does (vg-tool/preload.c); not for programs */
   VG_USERREQ__MEMLINE_PLACE_ALIGNED,
   /* ... passes on mallopt(param, value) and malloc_trim(pad), for the
      simulated glibc heap; not for programs either */
   VG_USERREQ__MEMLINE_MALLOPT,
   VG_USERREQ__MEMLINE_MALLOC_TRIM,
   /* ... asks where the simulated resident set ends (0: no simulation),
      to drop an mmap address hint beyond it; not for programs */
   VG_USERREQ__MEMLINE_MAP_LIMIT
} Vg_MemlineClientRequest;

#define MEMLINE_MARK(name) \
   VALGRIND_DO_CLIENT_REQUEST_STMT(VG_USERREQ__MEMLINE_MARK, \
                                   (name), 0, 0, 0, 0)

#endif
