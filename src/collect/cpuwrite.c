/* cpuwrite.c — stack table → symbolized pprof profile → file.
 *
 * Sample types are Go's (samples/count, cpu/nanoseconds), period type
 * cpu/nanoseconds with the requested period, so go tool pprof shows the
 * same headers as for a Go CPU profile.  PCs become locations and
 * mappings in the step every writer shares (locate.c): code dlclose'd
 * before the write keeps its mapping and still symbolizes from its file;
 * the unwinder's marker between the two ends of a deep stack becomes a
 * location whose function is named "[N frames elided]".  Symbolization runs here, on the writer's thread; if it fails the profile
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
#include "collect/locate.h"
#include "collect/unwind.h"
#include "cprof.h"
#include "profile/builder.h"

int cp_cpuwrite_build(cp_stacktab *t, const cp_cpuwrite_meta *m, cp_profile **out)
{
    int rc = CPROF_ENOMEM;
    uint64_t *ids = NULL;
    cp_locate loc;
    cp_pbuilder *b = cp_pbuilder_new(true);
    cp_locate_init(&loc, b);
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
        if (cp_stackrec_empty(s))
            continue; /* folded into another record */
        uint32_t n = s->n < CP_MAX_FRAMES ? s->n : CP_MAX_FRAMES;
        if (cp_locate_stack(&loc, s->pcs, n, ids))
            goto out;
        int64_t v[2] = {s->count, s->ns};
        cp_label_in labs[CP_LABELSOUT_MAX];
        size_t nl = cp_labelsout_fill((const cp_labelset *)(uintptr_t)s->key, labs,
                                      CP_LABELSOUT_MAX);
        if (cp_pbuilder_sample(b, ids, n, v, labs, nl))
            goto out;
    }
    if (m->lost > 0 && cp_locate_lost(&loc, (int64_t[2]){m->lost, m->lost_ns}))
        goto out;
    rc = cp_locate_finish(&loc, true, out);
out:
    cp_locate_free(&loc);
    cp_pbuilder_free(b);
    free(ids);
    return rc;
}

int cp_cpuwrite_profile(cp_stacktab *t, const cp_cpuwrite_meta *m, const char *path, int fd)
{
    cp_profile *p = NULL;
    int rc = cp_cpuwrite_build(t, m, &p);
    if (!rc)
        rc = cp_output_write(p, path, fd);
    cp_profile_free(p);
    return rc;
}
