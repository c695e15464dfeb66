/* err.c -- ml_err helpers (formatting an error value) and ml_grow. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "err.h"

int ml_err_set(ml_err *err, int code, const char *fmt, ...)
{
   if (err) {
      va_list ap;
      va_start(ap, fmt);
      vsnprintf(err->msg, sizeof err->msg, fmt, ap);
      va_end(ap);
      err->code = code;
   }
   return code;
}

void ml_err_clear(ml_err *err)
{
   if (err) {
      err->code = ML_OK;
      err->msg[0] = '\0';
   }
}

int ml_grow_slow(void **p, size_t *cap, size_t need, size_t elem)
{
   if (need <= *cap)
      return 0;
   size_t ncap = *cap ? *cap : 16;
   while (ncap < need) {
      if (ncap > SIZE_MAX / 2 / elem)
         return ML_ENOMEM;
      ncap *= 2;
   }
   void *np = realloc(*p, ncap * elem);
   if (!np)
      return ML_ENOMEM;
   *p = np;
   *cap = ncap;
   return 0;
}
