/* cpuwrite.c — stack table → symbolized pprof profile → file.
 *
 * Sample types are Go's (samples/count, cpu/nanoseconds), period type
 * cpu/nanoseconds with the requested period, so go tool pprof shows the
 * same headers as for a Go CPU profile.  Each distinct PC becomes one
 * location (a cp_map caches pc → location id).  A PC's mapping comes from
 * a snapshot of /proc/self/maps taken now, or, for code unloaded since,
 * from the snapshots taken before each dlclose (newest first), so code
 * dlclose'd before the write still symbolizes from its file.  Caveat: a
 * library loaded later at the exact address of an unloaded one takes the
 * samples of both.  The unwinder's marker between the two ends of a deep
 * stack becomes a location whose function is named "[N frames elided]".
 * Symbolization runs here, on the writer's thread; if it fails the profile
 * is written with addresses only (`cprof symbolize` can fill it in later)
 * rather than not at all.
 *
 * Rejected: noting each new PC's mapping as samples arrive (needed a
 * helper thread; see stacktab.c); symbolizing while profiling (work for
 * stacks that may be folded away, and heavy inside a live program).
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
#include "collect/labelsout.h"
#include "collect/output.h"
#include "collect/procmaps.h"
#include "collect/unwind.h"
#include "cprof.h"
#include "profile/builder.h"

uint64_t cp_cpuwrite_maps_stamp(const cp_cpuwrite_maps *mm)
{
    return mm->n ? cp_procmaps_stamp(mm->snaps[mm->n - 1]) : 0;
}

void cp_cpuwrite_maps_add(cp_cpuwrite_maps *mm, cp_procmaps *pm)
{
    if (!pm)
        return;
    if (cp_grow(&mm->snaps, &mm->cap, mm->n + 1, sizeof *mm->snaps) != 0) {
        cp_procmaps_free(pm);
        return;
    }
    mm->snaps[mm->n++] = pm;
}

void cp_cpuwrite_maps_free(cp_cpuwrite_maps *mm)
{
    for (size_t i = 0; i < mm->n; i++)
        cp_procmaps_free(mm->snaps[i]);
    free(mm->snaps);
    memset(mm, 0, sizeof *mm);
}

/* The mapping id in b of pc: from a snapshot taken now, else from the
 * newest earlier one that holds it. */
static uint64_t mapping_of(cp_cpuwrite_maps *mm, cp_procmaps **pm, cp_pbuilder *b, uint64_t pc)
{
    if (!*pm)
        *pm = cp_procmaps_load();
    uint64_t id = *pm ? cp_procmaps_mapping_id(*pm, b, pc) : 0;
    for (size_t i = mm ? mm->n : 0; !id && i > 0; i--)
        id = cp_procmaps_mapping_id(mm->snaps[i - 1], b, pc);
    return id;
}

uint64_t cp_cpuwrite_elided_location(cp_pbuilder *b, uint64_t pc)
{
    char name[80];
    return cp_pbuilder_named_location(b, cp_unwind_elided_name(pc, name, sizeof name));
}

int cp_cpuwrite_build(cp_stacktab *t, const cp_cpuwrite_meta *m, cp_cpuwrite_maps *mm,
                      cp_profile **out)
{
    int rc = CPROF_ENOMEM;
    cp_map locs = {0};
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
    if (cp_pbuilder_comment(b, note))
        goto out;
    if (!(ids = malloc(CP_MAX_FRAMES * sizeof *ids)))
        goto out;
    if (t)
        cp_stacktab_merge(t);
    for (const cp_stackrec *s = t ? cp_stacktab_next(t, NULL) : NULL; s;
         s = cp_stacktab_next(t, s)) {
        if (s->count == 0 && s->ns == 0)
            continue; /* folded into another record */
        uint32_t n = s->n < CP_MAX_FRAMES ? s->n : CP_MAX_FRAMES;
        for (uint32_t k = 0; k < n; k++) {
            bool inserted;
            uint64_t *slot = cp_map_slot(&locs, s->pcs[k], 0, &inserted);
            if (!slot)
                goto out;
            if (inserted) {
                uint64_t id;
                if (cp_unwind_elided(s->pcs[k], NULL, NULL))
                    id = cp_cpuwrite_elided_location(b, s->pcs[k]);
                else if (s->pcs[k] == CP_CPU_UNSAMPLED_PC)
                    id = cp_pbuilder_named_location(b, CP_CPU_UNSAMPLED_FRAME);
                else
                    id = cp_pbuilder_location(b, mapping_of(mm, &pm, b, s->pcs[k]), s->pcs[k],
                                              NULL, 0, false);
                if (!id)
                    goto out;
                *slot = id;
            }
            ids[k] = *slot;
        }
        int64_t v[2] = {s->count, s->ns};
        cp_label_in labs[CP_LABELSOUT_MAX];
        size_t nl = cp_labelsout_fill((const cp_labelset *)(uintptr_t)s->key, labs,
                                      CP_LABELSOUT_MAX);
        if (cp_pbuilder_sample(b, ids, n, v, labs, nl))
            goto out;
    }
    if (m->lost > 0) {
        uint64_t lid = cp_pbuilder_named_location(b, CP_CPU_LOST_FRAME);
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
    free(ids);
    return rc;
}

int cp_cpuwrite_profile(cp_stacktab *t, const cp_cpuwrite_meta *m, cp_cpuwrite_maps *mm,
                        const char *path, int fd)
{
    cp_profile *p = NULL;
    int rc = cp_cpuwrite_build(t, m, mm, &p);
    if (!rc)
        rc = cp_output_write(p, path, fd);
    cp_profile_free(p);
    return rc;
}
