/* cpuwrite.h — turn the CPU profiler's stack table into a pprof file.
 *
 * Contract: runs on the thread that stops the profile (never a handler);
 * maps every PC to its mapping (procmaps.h), symbolizes the profile
 * (output.h) and writes it gzipped, atomically to path ("%p" expanded to
 * the current pid) or to fd.
 */
#ifndef CP_COLLECT_CPUWRITE_H
#define CP_COLLECT_CPUWRITE_H

#include <stddef.h>
#include <stdint.h>

#include "collect/procmaps.h"
#include "collect/stacktab.h"
#include "profile/builder.h"
#include "profile/profile.h"

typedef struct cp_cpuwrite_meta {
    int64_t period_ns;
    int hz;
    int64_t time_ns, duration_ns;
    int64_t lost, lost_ns; /* written as one sample on CP_LOST_FRAME */
} cp_cpuwrite_meta;

/* The code mappings noted while profiling: a snapshot of /proc/self/maps
 * before every dlclose (cp_cpuwrite_maps_add), kept only when the maps
 * changed since the previous one, so code unloaded before the profile is
 * written still has its mapping (and its symbols, read from the file at
 * write time).  A PC is looked up in a snapshot taken at write time first,
 * then in these, newest first.  Zero-initialise; one thread at a time. */
typedef struct cp_cpuwrite_maps {
    cp_procmaps **snaps; /* oldest first */
    size_t n, cap;
} cp_cpuwrite_maps;

/* The stamp of the newest snapshot (0 if none), and adding a snapshot
 * taken with cp_procmaps_load_if_changed(stamp): mm takes it (or frees it
 * if the list cannot grow).  Split so the snapshot is read without the
 * caller's lock.  Allocates: the caller marks itself busy for the heap
 * profiler. */
uint64_t cp_cpuwrite_maps_stamp(const cp_cpuwrite_maps *mm);
void cp_cpuwrite_maps_add(cp_cpuwrite_maps *mm, cp_procmaps *pm);
void cp_cpuwrite_maps_free(cp_cpuwrite_maps *mm);

/* The location of the unwinder's marker frame pc (cp_unwind_elided): no
 * mapping, one line in a function named "[N frames elided]".  For every
 * writer of stacks taken with cp_unwind_*.  0 on ENOMEM. */
uint64_t cp_cpuwrite_elided_location(cp_pbuilder *b, uint64_t pc);

/* Build the (symbolized) profile from t (NULL: no samples; duplicate
 * records are merged first, so no add may be in flight); mm may be NULL
 * (mappings are then read now).  Stacks cut by the unwinder's depth limit
 * get a frame named "[N frames elided]" between their two ends.  0 or a
 * negative code. */
int cp_cpuwrite_build(cp_stacktab *t, const cp_cpuwrite_meta *m, cp_cpuwrite_maps *mm,
                      cp_profile **out);
/* Build and write to path (if non-NULL) or fd.  0 or a negative code. */
int cp_cpuwrite_profile(cp_stacktab *t, const cp_cpuwrite_meta *m, cp_cpuwrite_maps *mm,
                        const char *path, int fd);

#endif
