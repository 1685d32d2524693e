/* path.h — profile file names.
 *
 * Contract: cp_path_expand copies tmpl to out, replacing "%p" with the
 * calling process's id, "%c" with its name (/proc/self/comm, at most 15
 * bytes, with '/', '%', spaces and non-printable bytes made '_') and "%%"
 * with "%", so forked and exec'd children never write their parent's file
 * and `cprof record` can tell which program wrote which.  Returns 0, or
 * CPROF_EINVAL when the result (with its NUL) does not fit in cap bytes.
 * No allocation; errno is preserved.
 * [hook-safe]
 */
#ifndef CP_BASE_PATH_H
#define CP_BASE_PATH_H

#include <stddef.h>

int cp_path_expand(const char *tmpl, char *out, size_t cap);

#endif
