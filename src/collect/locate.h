/* locate.h — the one PC → mapping → location step of every profile writer
 * (CPU, heap, mutex/block/I/O events, threads).
 *
 * Contract: a cp_locate serves one builder on one thread.  Each distinct
 * PC becomes one location: the unwinder's "[N frames elided]" marker and
 * the CPU profiler's marker PCs become named frames; any other PC gets the
 * mapping that holds it — from a snapshot of /proc/self/maps taken at the
 * first PC, else from the notes taken before each dlclose (dlmaps.h),
 * newest first — so code unloaded before the write keeps its mapping and
 * its names.  The main executable's mapping is added to the builder
 * first, as pprof expects.  Uses malloc (the caller marks itself busy for
 * the heap profiler); never in a hook or signal handler.
 *
 *     cp_locate l;
 *     cp_locate_init(&l, b);
 *     for each stack: cp_locate_stack(&l, pcs, n, ids) → ids[0..n)
 *     cp_locate_free(&l);
 *
 * Caveat: a library loaded later at the exact address of an unloaded one
 * takes the samples of both (the snapshot taken now is looked at first).
 */
#ifndef CP_COLLECT_LOCATE_H
#define CP_COLLECT_LOCATE_H

#include <stdbool.h>
#include <stdint.h>

#include "base/hashmap.h"
#include "collect/procmaps.h"
#include "profile/builder.h"

typedef struct cp_locate {
    cp_pbuilder *b;
    cp_map locs;      /* pc → location id */
    cp_procmaps *now; /* read at the first PC that needs a mapping */
    bool loaded;      /* now was read (it may be NULL: no mappings) */
    bool main_added;
} cp_locate;

void cp_locate_init(cp_locate *l, cp_pbuilder *b);
/* Read the mappings now rather than at the first PC (a caller about to
 * take a lock that dlopen may wait for: reading them takes the loader's). */
void cp_locate_prepare(cp_locate *l);
/* Location ids of pcs[0..n) into ids[0..n).  0 or CPROF_ENOMEM. */
int cp_locate_stack(cp_locate *l, const uint64_t *pcs, uint32_t n, uint64_t *ids);
/* Whether any PC got a mapping (the profile is then worth symbolizing). */
bool cp_locate_mapped(const cp_locate *l);
/* The writers' common end.  cp_locate_lost adds one sample of values v on
 * the lost-samples frame (CP_LOST_FRAME), as Go shows lost profiling
 * events; cp_locate_finish hands out the builder's profile, symbolized
 * (ELF names, output.h) when symbolize is set and any PC got a mapping.
 * 0 or CPROF_ENOMEM. */
int cp_locate_lost(cp_locate *l, const int64_t *v);
int cp_locate_finish(cp_locate *l, bool symbolize, cp_profile **out);
void cp_locate_free(cp_locate *l);

#endif
