/* cpuwrite.h — turn the CPU profiler's stack table into a pprof file.
 *
 * Contract: runs on the thread that stops the profile (never a handler);
 * maps every PC to its mapping (procmaps.h), symbolizes the profile
 * (symbolize.h: names, file:line, inline frames) and writes it gzipped,
 * atomically to path ("%p" expanded to the current pid) or to fd.
 */
#ifndef CP_COLLECT_CPUWRITE_H
#define CP_COLLECT_CPUWRITE_H

#include <stddef.h>
#include <stdint.h>

#include "collect/stacktab.h"
#include "profile/profile.h"

typedef struct cp_cpuwrite_meta {
    int64_t period_ns;
    int hz;
    int64_t time_ns, duration_ns;
    int64_t lost, lost_ns; /* written as one sample on CP_CPU_LOST_FRAME */
} cp_cpuwrite_meta;

/* Build the (symbolized) profile.  0 or a negative code. */
int cp_cpuwrite_build(const cp_stacktab *t, const cp_cpuwrite_meta *m, cp_profile **out);
/* Build and write to path (if non-NULL) or fd.  0 or a negative code. */
int cp_cpuwrite_profile(const cp_stacktab *t, const cp_cpuwrite_meta *m, const char *path, int fd);
/* Expand "%p" (pid) and "%%" in tmpl.  0 or CPROF_EINVAL if too long. */
int cp_cpuwrite_expand(const char *tmpl, char *out, size_t cap);

#endif
