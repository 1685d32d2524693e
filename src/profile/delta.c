/* delta.c — newer − older for cumulative profiles, in-use kept as is.
 *
 * What: the periodic writer, CPROF_SIGNAL and /debug/pprof?seconds=N turn
 * cumulative snapshots (allocations, contention, blocking, I/O since the
 * start) into "what this interval holds".
 *
 * How: one merging builder receives newer's samples unchanged, then
 * older's samples negated — except in gauge columns, which receive 0 from
 * older — so that the builder's fold by (stack, labels) does the matching:
 * locations are interned on (mapping, address, lines), so the same frame
 * in both snapshots is one location.  Samples left all-zero are then cut
 * from the finished profile (they would show as 0-valued stacks).
 *
 * Alternatives rejected: matching samples through a hash of our own (the
 * builder already interns exactly the identity we need); subtracting every
 * column as Go's runtime/pprof delta did for a while (in-use figures turn
 * into differences of states, negative when memory was freed).
 */
#include "profile/delta.h"

#include <stdlib.h>
#include <string.h>

#include "profile/builder.h"

bool cp_profile_delta_is_gauge(const char *type)
{
    return strncmp(type, "inuse_", 6) == 0 || strcmp(type, "threads") == 0 ||
           strcmp(type, "goroutine") == 0;
}

/* older negated, every gauge column zeroed (negated here, exactly, rather
 * than by the builder's floating-point scale): a shallow copy that shares older's
 * arrays except the samples and their values. */
static int zero_gauges(const cp_profile *older, cp_profile *copy, cp_sample **samples,
                       int64_t **values)
{
    size_t nt = older->nsample_types;
    *copy = *older;
    *samples = NULL;
    *values = NULL;
    if (!older->nsamples)
        return 0;
    *samples = malloc(older->nsamples * sizeof **samples);
    *values = malloc(older->nsamples * (nt ? nt : 1) * sizeof **values);
    if (!*samples || !*values)
        return CPROF_ENOMEM;
    for (size_t i = 0; i < older->nsamples; i++) {
        (*samples)[i] = older->samples[i];
        int64_t *v = *values + i * nt;
        for (size_t k = 0; k < nt; k++) {
            const char *t = cp_str(older, older->sample_types[k].type);
            v[k] = cp_profile_delta_is_gauge(t) ? 0
                                                 : (int64_t)(0 - (uint64_t)older->samples[i].values[k]);
        }
        (*samples)[i].values = v;
    }
    copy->samples = *samples;
    return 0;
}

static int64_t end_of(const cp_profile *p)
{
    return p->time_nanos + (p->duration_nanos > 0 ? p->duration_nanos : 0);
}

int cp_profile_delta(const cp_profile *newer, const cp_profile *older, cp_profile **out)
{
    int rc = 0;
    cp_diag diag = {{0}};
    cp_profile shallow;
    cp_sample *samples = NULL;
    int64_t *values = NULL;
    cp_profile *p = NULL;
    cp_pbuilder *b = cp_pbuilder_new(true);

    *out = NULL;
    if (!b)
        return CPROF_ENOMEM;
    if ((rc = cp_pbuilder_add_profile(b, newer, 1.0, &diag)))
        goto out;
    if (older) {
        /* an empty older (a type not enabled then) subtracts nothing */
        if (older->nsamples) {
            if ((rc = zero_gauges(older, &shallow, &samples, &values)))
                goto out;
            if ((rc = cp_pbuilder_add_profile(b, &shallow, 1.0, &diag)))
                goto out;
        }
        int64_t from = end_of(older), to = end_of(newer);
        if (!older->time_nanos)
            from = newer->time_nanos;
        cp_pbuilder_times(b, from, to > from ? to - from : 0);
    } else {
        cp_pbuilder_times(b, newer->time_nanos, newer->duration_nanos);
    }
    if (!(p = cp_pbuilder_finish(b))) {
        rc = CPROF_ENOMEM;
        goto out;
    }
    /* cut the samples left all-zero (the arrays belong to p's arena) */
    size_t kept = 0;
    for (size_t i = 0; i < p->nsamples; i++) {
        bool zero = true;
        for (size_t k = 0; k < p->nsample_types && zero; k++)
            zero = p->samples[i].values[k] == 0;
        if (!zero)
            p->samples[kept++] = p->samples[i];
    }
    p->nsamples = kept;
    *out = p;
out:
    cp_pbuilder_free(b);
    free(samples);
    free(values);
    return rc;
}
