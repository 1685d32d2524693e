/* prep_merge.c — go tool pprof's profile.Merge on cp_profiles.
 *
 * What: several profiles (and -base/-diff_base) become one, with go's
 * header rules and its order of ids (mapping, function and location ids by
 * first use while walking samples), identical samples folded and zero ones
 * dropped, so traces and raw list samples and ids as the oracle does.  Data
 * structure: the builder (profile/builder.h) interns everything; per source
 * profile, index → new-id arrays so each record is mapped once.
 * Alternatives rejected: cp_pbuilder_add_profile (interns every record of
 * the source, used or not, which changes the ids go prints).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/prep.h"
#include "profile/builder.h"

#define S(p, i) cp_str((p), (i))

/* ---- merge ---------------------------------------------------------- */

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

static uint64_t map_mapping(cp_pbuilder *b, merge_maps *mm, const cp_profile *src, uint32_t i,
                            int64_t *addr_off)
{
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

static int merge_into(cp_pbuilder *b, const cp_profile *src, double scale, bool diff,
                      merge_maps *mm, cp_diag *diag)
{
    int rc = 0;
    int64_t *moff = calloc(src->nmappings + 1, sizeof *moff);
    uint64_t *mid = calloc(src->nmappings + 1, sizeof *mid);
    uint64_t *fid = calloc(src->nfunctions + 1, sizeof *fid);
    uint64_t *lid = calloc(src->nlocations + 1, sizeof *lid);
    int64_t *vals = calloc(src->nsample_types + 1, sizeof *vals);
    uint64_t *stack = NULL;
    size_t stack_cap = 0;
    cp_line_in *lines = NULL;
    size_t lines_cap = 0;
    cp_label_in *labs = NULL;
    size_t labs_cap = 0;
    if (!mid || !fid || !lid || !vals || !moff) {
        rc = CPROF_ENOMEM;
        goto out;
    }
    /* go's Merge maps a profile's first mapping before anything while the
     * result has none */
    if (mm->n == 0 && src->nmappings && !(mid[0] = map_mapping(b, mm, src, 0, &moff[0]))) {
        rc = CPROF_ENOMEM;
        goto out;
    }
    for (size_t si = 0; si < src->nsamples; si++) {
        const cp_sample *s = &src->samples[si];
        if (zero_sample(src, s))
            continue;
        if (cp_grow(&stack, &stack_cap, s->nlocs + 1, sizeof *stack)) {
            rc = CPROF_ENOMEM;
            goto out;
        }
        for (uint32_t k = 0; k < s->nlocs; k++) {
            uint32_t li = s->locs[k];
            if (!lid[li]) {
                const cp_location *l = &src->locations[li];
                uint64_t m = 0;
                int64_t off = 0;
                if (l->mapping != CP_NO_MAPPING) {
                    if (!mid[l->mapping] &&
                        !(mid[l->mapping] = map_mapping(b, mm, src, l->mapping, &moff[l->mapping]))) {
                        rc = CPROF_ENOMEM;
                        goto out;
                    }
                    m = mid[l->mapping];
                    off = moff[l->mapping];
                }
                if (cp_grow(&lines, &lines_cap, l->nlines + 1, sizeof *lines)) {
                    rc = CPROF_ENOMEM;
                    goto out;
                }
                for (uint32_t j = 0; j < l->nlines; j++) {
                    uint32_t f = l->lines[j].func;
                    lines[j].function_id = 0;
                    if (f != CP_NO_FUNCTION) {
                        if (!fid[f]) {
                            const cp_function *fn = &src->functions[f];
                            fid[f] = cp_pbuilder_function(b, S(src, fn->name),
                                                          S(src, fn->system_name),
                                                          S(src, fn->filename), fn->start_line);
                        }
                        lines[j].function_id = fid[f];
                    }
                    lines[j].line = l->lines[j].line;
                    lines[j].column = l->lines[j].column;
                }
                lid[li] = cp_pbuilder_location(b, m, (uint64_t)((int64_t)l->address + off), lines,
                                               l->nlines, l->is_folded);
                if (!lid[li]) {
                    rc = CPROF_ENOMEM;
                    goto out;
                }
            }
            stack[k] = lid[li];
        }
        for (size_t k = 0; k < src->nsample_types; k++)
            vals[k] = scale == 1.0 ? s->values[k] : cp_go_scale_round(s->values[k], scale);
        if (cp_grow(&labs, &labs_cap, (size_t)s->nlabels + 1, sizeof *labs)) {
            rc = CPROF_ENOMEM;
            goto out;
        }
        size_t nl = 0;
        for (uint32_t k = 0; k < s->nlabels; k++) {
            const cp_label *l = &s->labels[k];
            if (diff && !strcmp(S(src, l->key), "pprof::base"))
                continue;
            labs[nl].key = S(src, l->key);
            labs[nl].str = l->str ? S(src, l->str) : NULL;
            labs[nl].num = l->num;
            labs[nl].unit = l->num_unit ? S(src, l->num_unit) : NULL;
            nl++;
        }
        if (diff) {
            labs[nl].key = "pprof::base";
            labs[nl].str = "true";
            labs[nl].num = 0;
            labs[nl].unit = NULL;
            nl++;
        }
        if ((rc = cp_pbuilder_sample(b, stack, s->nlocs, vals, labs, nl)))
            goto out;
    }
out:
    free(moff);
    free(mid);
    free(fid);
    free(lid);
    free(vals);
    free(stack);
    free(lines);
    free(labs);
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
    int64_t tmin = 0, dur = 0, period = 0;
    const cp_profile *p0 = ps[0];
    const char *dflt = "";
    for (size_t i = 0; i < n; i++) {
        const cp_profile *q = ps[i];
        bool ok = q->nsample_types == p0->nsample_types &&
                  !strcmp(S(q, q->period_type.type), S(p0, p0->period_type.type)) &&
                  !strcmp(S(q, q->period_type.unit), S(p0, p0->period_type.unit));
        for (size_t k = 0; ok && k < p0->nsample_types; k++)
            ok = !strcmp(S(q, q->sample_types[k].type), S(p0, p0->sample_types[k].type)) &&
                 !strcmp(S(q, q->sample_types[k].unit), S(p0, p0->sample_types[k].unit));
        if (!ok) {
            cp_diag_set(diag, CPROF_EINVAL, "incompatible sample or period types in profile %zu",
                        i + 1);
            cp_pbuilder_free(b);
            return NULL;
        }
        if (tmin == 0 || q->time_nanos < tmin)
            tmin = q->time_nanos;
        dur += q->duration_nanos;
        if (period == 0 || period < q->period)
            period = q->period;
        if (!*dflt)
            dflt = S(q, q->default_sample_type);
    }
    for (size_t i = 0; i < p0->nsample_types; i++)
        cp_pbuilder_sample_type(b, S(p0, p0->sample_types[i].type), S(p0, p0->sample_types[i].unit));
    cp_pbuilder_period(b, S(p0, p0->period_type.type), S(p0, p0->period_type.unit), period);
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
    cp_pbuilder_times(b, tmin, dur);
    cp_profile *p = cp_pbuilder_finish_free(b);
    if (!p) {
        cp_diag_set(diag, CPROF_ENOMEM, "merging profiles: out of memory");
        return NULL;
    }
    p->period = period;
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
