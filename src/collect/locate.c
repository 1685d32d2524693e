/* locate.c — PCs of collected stacks → pprof locations and mappings, for
 * every writer (see locate.h).
 *
 * A PC's mapping is searched in the snapshot read at the first PC, then in
 * the dlclose notes (dlmaps.c) from the newest: a library unloaded since
 * is only in the notes; one still loaded is found at once.  The builder
 * deduplicates mappings on (start, limit, offset, file, build id), so the
 * same library found in two snapshots is one mapping.  A cp_map caches
 * pc → location id: stacks share most of their frames.
 *
 * Rejected: noting each new PC's mapping as samples arrive (the collector
 * paths are signal handlers and malloc hooks: no file reads there);
 * symbolizing here (output.c does it once on the finished profile, from
 * the mappings' files); one writer loop per collector (four copies of
 * this step had drifted apart: only the CPU writer knew the dlclose notes).
 */
#include "collect/locate.h"

#include <string.h>

#include "collect/cpu.h"
#include "collect/dlmaps.h"
#include "collect/output.h"
#include "collect/unwind.h"
#include "cprof.h"

void cp_locate_init(cp_locate *l, cp_pbuilder *b)
{
    memset(l, 0, sizeof *l);
    l->b = b;
}

static uint64_t add_mapping(cp_pbuilder *b, const cp_procmap_info *m)
{
    return cp_pbuilder_mapping(b, m->start, m->limit, m->offset, m->path, m->build_id, false,
                               false, false, false);
}

void cp_locate_prepare(cp_locate *l)
{
    if (!l->loaded) {
        l->now = cp_procmaps_load(); /* NULL: addresses without mappings */
        l->loaded = true;
    }
}

/* The builder's mapping id for pc, 0 when no snapshot holds it (or on
 * ENOMEM, which the builder remembers). */
static uint64_t mapping_of(cp_locate *l, uint64_t pc)
{
    cp_locate_prepare(l);
    cp_procmap_info m;
    bool found = cp_procmaps_lookup(l->now, pc, &m);
    for (size_t i = cp_dlmaps_count(); !found && i > 0; i--)
        found = cp_procmaps_lookup(cp_dlmaps_get(i - 1), pc, &m);
    if (!found)
        return 0;
    if (!l->main_added) {
        cp_procmap_info main_map;
        if (cp_procmaps_main(l->now, &main_map) && !add_mapping(l->b, &main_map))
            return 0;
        l->main_added = true;
    }
    return add_mapping(l->b, &m);
}

static uint64_t location(cp_locate *l, uint64_t pc)
{
    if (cp_unwind_elided(pc, NULL, NULL)) {
        char name[80];
        return cp_pbuilder_named_location(l->b, cp_unwind_elided_name(pc, name, sizeof name));
    }
    if (pc == CP_CPU_UNSAMPLED_PC)
        return cp_pbuilder_named_location(l->b, CP_CPU_UNSAMPLED_FRAME);
    if (pc == CP_CPU_STARTUP_PC)
        return cp_pbuilder_named_location(l->b, CP_CPU_STARTUP_FRAME);
    return cp_pbuilder_location(l->b, mapping_of(l, pc), pc, NULL, 0, false);
}

int cp_locate_stack(cp_locate *l, const uint64_t *pcs, uint32_t n, uint64_t *ids)
{
    for (uint32_t k = 0; k < n; k++) {
        bool inserted;
        uint64_t *slot = cp_map_slot(&l->locs, pcs[k], 0, &inserted);
        if (!slot)
            return CPROF_ENOMEM;
        if (inserted && !(*slot = location(l, pcs[k])))
            return CPROF_ENOMEM;
        ids[k] = *slot;
    }
    return 0;
}

bool cp_locate_mapped(const cp_locate *l)
{
    return l->main_added;
}

int cp_locate_lost(cp_locate *l, const int64_t *v)
{
    uint64_t id = cp_pbuilder_named_location(l->b, CP_LOST_FRAME);
    return id ? cp_pbuilder_sample(l->b, &id, 1, v, NULL, 0) : CPROF_ENOMEM;
}

int cp_locate_finish(cp_locate *l, bool symbolize, cp_profile **out)
{
    cp_profile *p = cp_pbuilder_finish(l->b);
    if (!p)
        return CPROF_ENOMEM;
    *out = symbolize && l->main_added ? cp_output_symbolize(p) : p;
    return 0;
}

void cp_locate_free(cp_locate *l)
{
    if (l->now)
        cp_procmaps_free(l->now);
    cp_map_free(&l->locs);
    memset(l, 0, sizeof *l);
}
