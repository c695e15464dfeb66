/* err.c -- ml_err helpers: formatting an error value (see err.h). */
#include <stdarg.h>
#include <stdio.h>

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
