/* err.h -- error values shared by the analyzer modules, and the one
   array-growing helper they share.

   Errors are values (STYLE.md): a function that can fail returns 0 or a
   negative ML_E* code and, when the caller passes an ml_err, fills it with
   one human-readable line.  Messages about trace contents read
   "path:offset: what is wrong"; the caller (main.c) prefixes
   "memline-report: ".  Nothing below main.c prints or exits. */
#ifndef ML_ERR_H
#define ML_ERR_H

#include <stddef.h>

enum {
   ML_OK       =  0,
   ML_EIO      = -1,   /* open/read/write failed (errno in the message) */
   ML_ECORRUPT = -2,   /* the trace is malformed or hostile */
   ML_ENOMEM   = -3,   /* out of memory */
   ML_EINVAL   = -4    /* bad argument (option value, ...) */
};

#define ML_ERR_MAX 1024

typedef struct ml_err {
   int  code;              /* ML_OK or one of the negative codes above */
   char msg[ML_ERR_MAX];   /* NUL-terminated, no trailing newline */
} ml_err;

/* Sets err (when not NULL) to code and a printf-formatted message and
   returns code, so that callers can write `return ml_err_set(...)`. */
int ml_err_set(ml_err *err, int code, const char *fmt, ...)
   __attribute__((format(printf, 3, 4)));

/* Clears err (when not NULL). */
void ml_err_clear(ml_err *err);

/* Grows *p (an array of elem-sized items with capacity *cap, doubling
   from 16) to hold at least need items.  Returns 0, or ML_ENOMEM with the
   array unchanged (also when the size would overflow).  Inline where
   there is room already: the reader and the model call it once per
   record (1% of memline-report's instructions as a call). */
int ml_grow_slow(void **p, size_t *cap, size_t need, size_t elem);
static inline int ml_grow(void **p, size_t *cap, size_t need, size_t elem)
{
   return need <= *cap ? 0 : ml_grow_slow(p, cap, need, elem);
}

#endif /* ML_ERR_H */
