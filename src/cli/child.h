/* child.h — run a program as a child process and collect what it prints.
 *
 * Contract: cp_child_run spawns argv[0] (searched in PATH when it has no
 * '/'), feeds it `in` on stdin (or /dev/null), and collects stdout and
 * stderr (each up to max bytes; more is drained and dropped) until it
 * exits.  Returns 0 and the exit status in *status (128+N for a signal), or
 * CPROF_ENOTFOUND when the program cannot be found or run, or another negative
 * CPROF_E* code.  No shell is involved: arguments are passed as they are.
 * [thread-safe] (posix_spawn; several threads may run children at once).
 */
#ifndef CP_CLI_CHILD_H
#define CP_CLI_CHILD_H

#include <stddef.h>

#include "base/buf.h"

int cp_child_run(char *const argv[], const void *in, size_t inlen, cp_buf *out, cp_buf *err,
                 size_t max, int *status);

#endif
