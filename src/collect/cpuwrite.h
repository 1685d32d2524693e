/* cpuwrite.h — turn the CPU profiler's stack table into a pprof file.
 *
 * Contract: runs on the thread that stops the profile (never a handler);
 * maps every PC to its mapping (locate.h), symbolizes the profile
 * (output.h) and writes it gzipped, atomically to path ("%p" expanded to
 * the current pid) or to fd.
 */
#ifndef CP_COLLECT_CPUWRITE_H
#define CP_COLLECT_CPUWRITE_H

#include <stddef.h>
#include <stdint.h>

#include "collect/stacktab.h"
#include "profile/builder.h"
#include "profile/profile.h"

typedef struct cp_cpuwrite_meta {
    int64_t period_ns;
    int hz;
    int64_t time_ns, duration_ns;
    int64_t lost, lost_ns; /* written as one sample on CP_LOST_FRAME */
} cp_cpuwrite_meta;

/* Build the (symbolized) profile from t (NULL: no samples; duplicate
 * records are merged first, so no add may be in flight); mappings come
 * from locate.h (code dlclose'd since keeps its mapping).  Stacks cut by the unwinder's depth limit
 * get a frame named "[N frames elided]" between their two ends.  0 or a
 * negative code. */
int cp_cpuwrite_build(cp_stacktab *t, const cp_cpuwrite_meta *m, cp_profile **out);
/* Build and write to path (if non-NULL) or fd.  0 or a negative code. */
int cp_cpuwrite_profile(cp_stacktab *t, const cp_cpuwrite_meta *m, const char *path, int fd);

#endif
