/* cpuwrite.c — stack table → symbolized pprof profile → file.
 *
 * Sample types are Go's (samples/count, cpu/nanoseconds), period type
 * cpu/nanoseconds with the requested period, so go tool pprof shows the
 * same headers as for a Go CPU profile.  Each distinct PC becomes one
 * location (a cp_map caches pc → location id).  Mappings come from what the
 * drain thread noted while profiling (cp_cpuwrite_note_pcs: a PC's mapping
 * is looked up the first time the PC is seen, re-reading /proc/self/maps
 * when a PC lies in code mapped since), so code dlclose'd before the write
 * still symbolizes from its file; PCs not noted fall back to a snapshot
 * taken at write time.  Caveat: a PC is looked up once, so a library
 * loaded later at the exact address of an unloaded one shares its mapping.  Symbolization runs here, on the writer's
 * thread; if it fails the profile is written with addresses only
 * (`cprof symbolize` can fill it in later) rather than not at all.
 *
 * Rejected: symbolizing in the drain thread as stacks arrive (work for
 * stacks that may be folded away; libdw is heavy inside a live program).
 */
#include "collect/cpuwrite.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/hashmap.h"
#include "base/log.h"
#include "collect/cpu.h"
#include "collect/output.h"
#include "collect/procmaps.h"
#include "collect/unwind.h"
#include "cprof.h"
#include "profile/builder.h"

void cp_cpuwrite_note_pcs(cp_cpuwrite_maps *mm, const uint64_t *pcs, uint32_t n)
{
    if (!mm->b && !(mm->b = cp_pbuilder_new(false)))
        return;
    for (uint32_t k = 0; k < n; k++) {
        bool inserted;
        uint64_t *slot = cp_map_slot(&mm->pc2mid, pcs[k], 0, &inserted);
        if (!slot)
            return;
        if (!inserted)
            continue;
        uint64_t mid = mm->pm ? cp_procmaps_mapping_id(mm->pm, mm->b, pcs[k]) : 0;
        if (!mid && !mm->reloaded) {
            /* Code mapped since the last snapshot (dlopen): read it again.
             * The builder deduplicates mappings, so ids stay stable. */
            mm->reloaded = 1;
            if (mm->pm)
                cp_procmaps_free(mm->pm);
            mm->pm = cp_procmaps_load();
            mid = mm->pm ? cp_procmaps_mapping_id(mm->pm, mm->b, pcs[k]) : 0;
        }
        *slot = mid;
    }
}

void cp_cpuwrite_maps_free(cp_cpuwrite_maps *mm)
{
    if (mm->pm)
        cp_procmaps_free(mm->pm);
    cp_pbuilder_free(mm->b);
    cp_map_free(&mm->pc2mid);
    memset(mm, 0, sizeof *mm);
}

/* Copy the mappings noted while profiling into b, in the same order (the
 * main executable first); *idmap maps their old ids to b's. */
static int copy_mappings(cp_cpuwrite_maps *mm, cp_pbuilder *b, cp_map *idmap)
{
    if (!mm || !mm->b)
        return 0;
    cp_profile *mp = cp_pbuilder_finish(mm->b);
    if (!mp)
        return CPROF_ENOMEM;
    int rc = 0;
    for (size_t i = 0; i < mp->nmappings && rc == 0; i++) {
        const cp_mapping *x = &mp->mappings[i];
        uint64_t id = cp_pbuilder_mapping(b, x->start, x->limit, x->offset, cp_str(mp, x->filename),
                                          cp_str(mp, x->build_id), false, false, false, false);
        if (!id || cp_map_put(idmap, x->id, id) != 0)
            rc = CPROF_ENOMEM;
    }
    cp_profile_free(mp);
    return rc;
}

/* The mapping id in b of pc: as noted while profiling, else from a
 * snapshot taken now. */
static uint64_t mapping_of(cp_cpuwrite_maps *mm, const cp_map *idmap, cp_procmaps **pm,
                           cp_pbuilder *b, uint64_t pc)
{
    uint64_t old, id;
    if (mm && cp_map_get(&mm->pc2mid, pc, &old) && old && cp_map_get(idmap, old, &id))
        return id;
    if (!*pm)
        *pm = cp_procmaps_load();
    return *pm ? cp_procmaps_mapping_id(*pm, b, pc) : 0;
}

int cp_cpuwrite_build(const cp_stacktab *t, const cp_cpuwrite_meta *m, cp_cpuwrite_maps *mm,
                      cp_profile **out)
{
    int rc = CPROF_ENOMEM;
    cp_map locs = {0}, idmap = {0};
    uint64_t *ids = NULL;
    cp_profile *raw = NULL;
    cp_procmaps *pm = NULL;
    cp_pbuilder *b = cp_pbuilder_new(true);
    if (!b)
        goto out;
    if (cp_pbuilder_sample_type(b, "samples", "count") || cp_pbuilder_sample_type(b, "cpu", "nanoseconds") ||
        cp_pbuilder_period(b, "cpu", "nanoseconds", m->period_ns))
        goto out;
    cp_pbuilder_times(b, m->time_ns, m->duration_ns);
    char note[96];
    snprintf(note, sizeof note, "cprof: requested %d Hz per thread", m->hz);
    if (cp_pbuilder_comment(b, note) || copy_mappings(mm, b, &idmap))
        goto out;
    if (!(ids = malloc(CP_MAX_FRAMES * sizeof *ids)))
        goto out;
    for (size_t i = 0; i < t->len; i++) {
        const cp_stack *s = &t->stacks[i];
        uint32_t n = s->n < CP_MAX_FRAMES ? s->n : CP_MAX_FRAMES;
        for (uint32_t k = 0; k < n; k++) {
            bool inserted;
            uint64_t *slot = cp_map_slot(&locs, s->pcs[k], 0, &inserted);
            if (!slot)
                goto out;
            if (inserted) {
                uint64_t mid = mapping_of(mm, &idmap, &pm, b, s->pcs[k]);
                uint64_t id = cp_pbuilder_location(b, mid, s->pcs[k], NULL, 0, false);
                if (!id)
                    goto out;
                *slot = id;
            }
            ids[k] = *slot;
        }
        int64_t v[2] = {s->count, s->ns};
        if (cp_pbuilder_sample(b, ids, n, v, NULL, 0))
            goto out;
    }
    if (m->lost > 0) {
        uint64_t fid = cp_pbuilder_function(b, CP_CPU_LOST_FRAME, CP_CPU_LOST_FRAME, "", 0);
        cp_line_in line = {.function_id = fid};
        uint64_t lid = fid ? cp_pbuilder_location(b, 0, 0, &line, 1, false) : 0;
        int64_t v[2] = {m->lost, m->lost_ns};
        if (!lid || cp_pbuilder_sample(b, &lid, 1, v, NULL, 0))
            goto out;
    }
    raw = cp_pbuilder_finish(b);
    if (!raw)
        goto out;
    *out = cp_output_symbolize(raw);
    raw = NULL;
    rc = 0;
out:
    cp_profile_free(raw);
    cp_pbuilder_free(b);
    if (pm)
        cp_procmaps_free(pm);
    cp_map_free(&locs);
    cp_map_free(&idmap);
    free(ids);
    return rc;
}

int cp_cpuwrite_profile(const cp_stacktab *t, const cp_cpuwrite_meta *m, cp_cpuwrite_maps *mm,
                        const char *path, int fd)
{
    cp_profile *p = NULL;
    int rc = cp_cpuwrite_build(t, m, mm, &p);
    if (!rc)
        rc = cp_output_write(p, path, fd);
    cp_profile_free(p);
    return rc;
}
