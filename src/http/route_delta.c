/* route_delta.c — the ?seconds=N and delta_* answers: p1 - p0.
 *
 * What: the profile builder merges samples with the same stack and labels
 * (cp_pbuilder_add_profile), so p1 added at scale 1 and p0 at scale -1
 * leave the difference; samples that end at zero in every column are
 * dropped.  Columns that are a state rather than a count (a heap's
 * inuse_objects and inuse_space) are zeroed in p0 first, so the delta
 * keeps p1's in-use figures: Go's net/http/pprof subtracts them too, and
 * its heap deltas then show negative or meaningless in-use values.
 *
 * Rejected: matching samples by hand on location addresses (the builder
 * already interns locations and labels and is what `cprof -base` uses).
 */
#include <string.h>

#include "http/route.h"
#include "profile/builder.h"

static bool kept(const cp_profile *p, size_t col, const char *const *keep)
{
    for (size_t i = 0; keep && keep[i]; i++)
        if (strcmp(cp_str(p, p->sample_types[col].type), keep[i]) == 0)
            return true;
    return false;
}

int cp_route_delta(cp_profile *p0, const cp_profile *p1, const char *const *keep, cp_profile **out)
{
    cp_diag diag = {0};
    cp_pbuilder *b = cp_pbuilder_new(true);
    if (!b)
        return CPROF_ENOMEM;
    int rc = cp_pbuilder_add_profile(b, p1, 1.0, &diag);
    if (rc == 0 && p0) {
        for (size_t c = 0; c < p0->nsample_types; c++)
            if (kept(p0, c, keep))
                for (size_t i = 0; i < p0->nsamples; i++)
                    p0->samples[i].values[c] = 0;
        rc = cp_pbuilder_add_profile(b, p0, -1.0, &diag);
    }
    cp_profile *p = rc == 0 ? cp_pbuilder_finish(b) : NULL;
    cp_pbuilder_free(b);
    if (rc)
        return rc;
    if (!p)
        return CPROF_ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i < p->nsamples; i++) {
        bool zero = true;
        for (size_t c = 0; c < p->nsample_types; c++)
            zero = zero && p->samples[i].values[c] == 0;
        if (!zero)
            p->samples[n++] = p->samples[i];
    }
    p->nsamples = n;
    p->time_nanos = p1->time_nanos;
    p->duration_nanos = p0 && p0->time_nanos && p1->time_nanos > p0->time_nanos
                            ? p1->time_nanos - p0->time_nanos
                            : p1->duration_nanos;
    *out = p;
    return 0;
}
