/* prep_merge.c — go tool pprof's profile.Merge on cp_profiles.
 *
 * What: several profiles (and -base/-diff_base) become one, with go's
 * header rules and its order of ids (mapping, function and location ids by
 * first use while walking samples), identical samples folded and zero ones
 * dropped, so traces and raw list samples and ids as the oracle does.  Data
 * structure: the builder (profile/builder.h) interns everything; each
 * source is copied by cp_pbuilder_copy (the one copy path, shared with
 * cp_pbuilder_add_profile) in its used-only mode: records interned on first
 * use, which gives go's ids.  Rejected: copying every record of the source,
 * used or not (cp_pbuilder_add_profile's mode), which changes the ids go
 * prints.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/prep.h"
#include "profile/builder.h"

#define S(p, i) cp_str((p), (i))

/* ---- merge ---------------------------------------------------------- */

bool cp_prep_same_types(const cp_profile *a, const cp_profile *b)
{
    if (a->nsample_types != b->nsample_types ||
        strcmp(S(a, a->period_type.type), S(b, b->period_type.type)) ||
        strcmp(S(a, a->period_type.unit), S(b, b->period_type.unit)))
        return false;
    for (size_t k = 0; k < a->nsample_types; k++)
        if (strcmp(S(a, a->sample_types[k].type), S(b, b->sample_types[k].type)) ||
            strcmp(S(a, a->sample_types[k].unit), S(b, b->sample_types[k].unit)))
            return false;
    return true;
}

void cp_prep_merge_times_add(cp_merge_times *t, const cp_profile *q)
{
    if (t->time_nanos == 0 || q->time_nanos < t->time_nanos)
        t->time_nanos = q->time_nanos;
    t->duration_nanos += q->duration_nanos;
    if (t->period == 0 || t->period < q->period)
        t->period = q->period;
}

static bool zero_sample(const cp_profile *p, const cp_sample *s)
{
    for (size_t k = 0; k < p->nsample_types; k++)
        if (s->values[k])
            return false;
    return true;
}

/* Mappings already in the result, under go's mapping key: size rounded up
 * to 4 KiB, file offset, and build id (else file name).  A source mapping
 * with the same key is the same mapping, possibly loaded elsewhere: its
 * locations' addresses are moved by the difference of the starts. */
typedef struct merged_map {
    uint64_t size, offset, start, id;
    char *key;
} merged_map;

typedef struct merge_maps {
    merged_map *v;
    size_t n, cap;
} merge_maps;

/* cp_copy_opts.map_mapping: go's mapping key decides whether source
 * mapping i is one the result has already (its locations' addresses are
 * shifted by the difference of the starts) or a new one. */
static uint64_t map_mapping(void *ctx, cp_pbuilder *b, const cp_profile *src, uint32_t i,
                            int64_t *addr_off)
{
    merge_maps *mm = ctx;
    const cp_mapping *m = &src->mappings[i];
    uint64_t size = m->limit - m->start;
    size = size + 0xfff;
    size -= size % 0x1000;
    const char *key = *S(src, m->build_id) ? S(src, m->build_id) : S(src, m->filename);
    for (size_t k = 0; k < mm->n; k++)
        if (mm->v[k].size == size && mm->v[k].offset == m->offset && !strcmp(mm->v[k].key, key)) {
            *addr_off = (int64_t)(mm->v[k].start - m->start);
            return mm->v[k].id;
        }
    if (cp_grow(&mm->v, &mm->cap, mm->n + 1, sizeof *mm->v))
        return 0;
    merged_map *x = &mm->v[mm->n];
    x->size = size;
    x->offset = m->offset;
    x->start = m->start;
    x->key = strdup(key);
    x->id = cp_pbuilder_mapping(b, m->start, m->limit, m->offset, S(src, m->filename),
                                S(src, m->build_id), m->has_functions, m->has_filenames,
                                m->has_line_numbers, m->has_inline_frames);
    if (!x->key || !x->id) {
        free(x->key);
        return 0;
    }
    mm->n++;
    *addr_off = 0;
    return x->id;
}

/* One source into the result: records by first use, zero samples dropped,
 * and for -diff_base every sample labelled pprof::base=true. */
static int merge_into(cp_pbuilder *b, const cp_profile *src, double scale, bool diff,
                      merge_maps *mm, cp_diag *diag)
{
    cp_copy_opts o = {.scale = scale,
                      .used_only = true,
                      .first_mapping = mm->n == 0, /* as go's Merge, while the result has none */
                      .drop_zero = true,
                      .label_key = diff ? "pprof::base" : NULL,
                      .label_str = "true",
                      .map_mapping = map_mapping,
                      .ctx = mm};
    int rc = cp_pbuilder_copy(b, src, &o);
    if (rc)
        cp_diag_set(diag, rc, "merging profiles: %s", cprof_strerror(rc));
    return rc;
}

static cp_profile *merge(cp_profile *const *ps, const double *scales, const bool *diff_base,
                         size_t n, cp_diag *diag, cp_profile **owned);

cp_profile *cp_prep_merge(cp_profile *const *ps, const double *scales, const bool *diff_base,
                          size_t n, cp_diag *diag)
{
    return merge(ps, scales, diff_base, n, diag, NULL);
}

cp_profile *cp_prep_merge_owned(cp_profile **ps, const double *scales, const bool *diff_base,
                                size_t n, cp_diag *diag)
{
    cp_profile *p = merge(ps, scales, diff_base, n, diag, ps);
    for (size_t i = 0; i < n; i++) { /* those an early error left */
        cp_profile_free(ps[i]);
        ps[i] = NULL;
    }
    return p;
}

/* owned: NULL, or ps itself, whose profiles are freed once merged in */
static cp_profile *merge(cp_profile *const *ps, const double *scales, const bool *diff_base,
                         size_t n, cp_diag *diag, cp_profile **owned)
{
    cp_pbuilder *b = cp_pbuilder_new(true);
    if (!b)
        return NULL;
    cp_merge_times mt = {0};
    const cp_profile *p0 = ps[0];
    const char *dflt = "";
    for (size_t i = 0; i < n; i++) {
        const cp_profile *q = ps[i];
        if (!cp_prep_same_types(p0, q)) {
            cp_diag_set(diag, CPROF_EINVAL, "incompatible sample or period types in profile %zu",
                        i + 1);
            cp_pbuilder_free(b);
            return NULL;
        }
        cp_prep_merge_times_add(&mt, q);
        if (!*dflt)
            dflt = S(q, q->default_sample_type);
    }
    for (size_t i = 0; i < p0->nsample_types; i++)
        cp_pbuilder_sample_type(b, S(p0, p0->sample_types[i].type), S(p0, p0->sample_types[i].unit));
    cp_pbuilder_period(b, S(p0, p0->period_type.type), S(p0, p0->period_type.unit), mt.period);
    if (*dflt)
        cp_pbuilder_default_sample_type(b, dflt);
    if (p0->drop_frames || p0->keep_frames)
        cp_pbuilder_drop_keep(b, p0->drop_frames ? S(p0, p0->drop_frames) : NULL,
                              p0->keep_frames ? S(p0, p0->keep_frames) : NULL);
    for (size_t i = 0; i < n; i++)
        for (size_t c = 0; c < ps[i]->ncomments; c++) {
            const char *t = S(ps[i], ps[i]->comments[c]);
            bool seen = false;
            for (size_t j = 0; j <= i && !seen; j++)
                for (size_t d = 0; d < (j == i ? c : ps[j]->ncomments) && !seen; d++)
                    seen = !strcmp(t, S(ps[j], ps[j]->comments[d]));
            if (!seen)
                cp_pbuilder_comment(b, t);
        }
    for (size_t i = 0; i < n; i++)
        cp_pbuilder_set_nul_escaped(b, ps[i]->nul_escaped);
    merge_maps mm = {0};
    int mrc = 0;
    for (size_t i = 0; i < n && !mrc; i++) {
        mrc = merge_into(b, ps[i], scales ? scales[i] : 1.0, diff_base && diff_base[i], &mm, diag);
        if (owned && !mrc) { /* the builder holds copies of what it needs */
            cp_profile_free(owned[i]);
            owned[i] = NULL;
        }
    }
    for (size_t k = 0; k < mm.n; k++)
        free(mm.v[k].key);
    free(mm.v);
    if (mrc) {
        cp_pbuilder_free(b);
        return NULL;
    }
    cp_pbuilder_times(b, mt.time_nanos, mt.duration_nanos);
    cp_profile *p = cp_pbuilder_finish_free(b);
    if (!p) {
        cp_diag_set(diag, CPROF_ENOMEM, "merging profiles: out of memory");
        return NULL;
    }
    p->period = mt.period;
    for (size_t i = 0; i < p->nsamples; i++)
        if (zero_sample(p, &p->samples[i])) {
            /* values cancelled out: merge again to drop them, as Go does */
            return cp_prep_merge_owned(&p, NULL, NULL, 1, diag);
        }
    return p;
}

bool cp_prep_has_negative(const cp_profile *p)
{
    for (size_t i = 0; i < p->nsamples; i++)
        for (size_t k = 0; k < p->nsample_types; k++)
            if (p->samples[i].values[k] < 0)
                return true;
    return false;
}

void cp_prep_drop_zero_samples(cp_profile *p)
{
    size_t w = 0;
    for (size_t i = 0; i < p->nsamples; i++)
        if (!zero_sample(p, &p->samples[i]))
            p->samples[w++] = p->samples[i];
    p->nsamples = w;
}


int cp_prep_add_comment(cp_profile *p, const char *text)
{
    const char **strs = cp_arena_alloc(&p->arena, (p->nstrings + 1) * sizeof *strs);
    int64_t *comments = cp_arena_alloc(&p->arena, (p->ncomments + 1) * sizeof *comments);
    char *t = cp_arena_strndup(&p->arena, text, strlen(text));
    if (!strs || !comments || !t)
        return CPROF_ENOMEM;
    memcpy(strs, p->strings, p->nstrings * sizeof *strs);
    if (p->ncomments)
        memcpy(comments, p->comments, p->ncomments * sizeof *comments);
    strs[p->nstrings] = t;
    comments[p->ncomments++] = (int64_t)p->nstrings++;
    p->strings = strs;
    p->comments = comments;
    return 0;
}

int cp_prep_normalize(cp_profile *p, const cp_profile *base, cp_diag *diag)
{
    size_t n = p->nsample_types;
    if (base->nsample_types != n)
        return cp_diag_set(diag, CPROF_EINVAL, "incompatible sample types for -normalize");
    double *ratio = malloc((n ? n : 1) * sizeof *ratio);
    if (!ratio)
        return cp_diag_set(diag, CPROF_ENOMEM, "out of memory");
    bool all_ones = true;
    for (size_t k = 0; k < n; k++) {
        /* int64 sums wrap as go's do */
        uint64_t ubs = 0, uss = 0;
        for (size_t i = 0; i < base->nsamples; i++)
            ubs += (uint64_t)base->samples[i].values[k];
        for (size_t i = 0; i < p->nsamples; i++)
            uss += (uint64_t)p->samples[i].values[k];
        int64_t bs = (int64_t)ubs, ss = (int64_t)uss;
        ratio[k] = ss == 0 ? 0.0 : (double)bs / (double)ss;
        all_ones = all_ones && ratio[k] == 1;
    }
    if (all_ones) {
        free(ratio);
        return 0;
    }
    /* profile.ScaleN: round each scaled value; keep samples with a non-zero
     * scaled value */
    size_t w = 0;
    for (size_t i = 0; i < p->nsamples; i++) {
        cp_sample *s = &p->samples[i];
        bool keep = false;
        for (size_t k = 0; k < n; k++)
            if (ratio[k] != 1) {
                s->values[k] = cp_go_scale_round(s->values[k], ratio[k]);
                keep = keep || s->values[k] != 0;
            }
        if (keep)
            p->samples[w++] = *s;
    }
    p->nsamples = w;
    free(ratio);
    return 0;
}
