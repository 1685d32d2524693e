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

#include "base/hashmap.h"
#include "collect/procmaps.h"
#include "collect/stacktab.h"
#include "profile/builder.h"
#include "profile/profile.h"

typedef struct cp_cpuwrite_meta {
    int64_t period_ns;
    int hz;
    int64_t time_ns, duration_ns;
    int64_t lost, lost_ns; /* written as one sample on CP_CPU_LOST_FRAME */
} cp_cpuwrite_meta;

/* The mappings seen while profiling: the drain thread notes the mapping of
 * every new PC when it sees it, so code that is dlclose'd before the
 * profile is written still has its mapping (and so its symbols, read from
 * the file at write time).  Zero-initialise; drain thread only. */
typedef struct cp_cpuwrite_maps {
    cp_procmaps *pm;  /* latest /proc/self/maps snapshot */
    cp_pbuilder *b;   /* holds only mappings, main executable first */
    cp_map pc2mid;    /* pc -> mapping id in b (0 = none) */
    int reloaded;     /* snapshot reloaded in this drain pass */
} cp_cpuwrite_maps;

/* Note the mappings of pcs[0..n); reloads the snapshot at most once per
 * pass (set mm->reloaded = 0 to start a pass) for PCs it does not cover. */
void cp_cpuwrite_note_pcs(cp_cpuwrite_maps *mm, const uint64_t *pcs, uint32_t n);
void cp_cpuwrite_maps_free(cp_cpuwrite_maps *mm);

/* Build the (symbolized) profile; mm may be NULL (mappings are then read
 * now).  0 or a negative code. */
int cp_cpuwrite_build(const cp_stacktab *t, const cp_cpuwrite_meta *m, cp_cpuwrite_maps *mm,
                      cp_profile **out);
/* Build and write to path (if non-NULL) or fd.  0 or a negative code. */
int cp_cpuwrite_profile(const cp_stacktab *t, const cp_cpuwrite_meta *m, cp_cpuwrite_maps *mm,
                        const char *path, int fd);

#endif
