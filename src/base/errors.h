/* errors.h — the error table shared by every module.
 *
 * Contract: functions return 0 or a negative CPROF_E* code (the public codes
 * live in include/cprof.h so callers of the library see the same numbers).
 * Parsers additionally fill a cp_diag with a human sentence naming what is
 * wrong and where; the caller prefixes it with the file name.
 */
#ifndef CP_BASE_ERRORS_H
#define CP_BASE_ERRORS_H

#include <stdarg.h>
#include <stddef.h>
#include "cprof.h"

/* A diagnostic: a fixed buffer so it can be filled without allocating. */
typedef struct cp_diag {
    char msg[512];
} cp_diag;

/* Format into d (if d is non-NULL); returns err so callers can
 * `return cp_diag_set(d, CPROF_EFORMAT, "...")`.  [thread-safe] */
int cp_diag_set(cp_diag *d, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
