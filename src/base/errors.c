/* errors.c — error strings and diagnostics. */
#include "errors.h"

#include <stdio.h>

int cp_diag_set(cp_diag *d, int err, const char *fmt, ...)
{
    if (d) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(d->msg, sizeof d->msg, fmt, ap);
        va_end(ap);
    }
    return err;
}

CPROF_API const char *cprof_strerror(int err)
{
    switch (err) {
    case 0: return "success";
    case CPROF_EINVAL: return "invalid argument";
    case CPROF_ENOMEM: return "out of memory";
    case CPROF_EIO: return "input/output error";
    case CPROF_EFORMAT: return "malformed profile";
    case CPROF_ETOOBIG: return "input exceeds size limit";
    case CPROF_EBUSY: return "profiler already running";
    case CPROF_ENOTRUNNING: return "profiler not running";
    case CPROF_ESIGNAL: return "profiling signal already in use by the program";
    case CPROF_EUNSUPPORTED: return "not supported on this system";
    case CPROF_ENOTFOUND: return "not found";
    default: return "unknown error";
    }
}
