/* path.h — profile file names.
 *
 * Contract: cp_path_expand copies tmpl to out, replacing "%p" with the
 * calling process's id and "%%" with "%", so forked and exec'd children
 * never write their parent's file.  Returns 0, or CPROF_EINVAL when the
 * result (with its NUL) does not fit in cap bytes.  No allocation.
 * [hook-safe]
 */
#ifndef CP_BASE_PATH_H
#define CP_BASE_PATH_H

#include <stddef.h>

int cp_path_expand(const char *tmpl, char *out, size_t cap);

#endif
