/* test_fold.c — cp_prep_fold (go's merge of one profile, in place) and
 * cp_prep_fold_merge (several, concatenated then folded) against
 * cp_prep_merge (the builder's copy, which go tool pprof's output confirms
 * in the comparison suite) on profiles full of repeated records, and exact
 * figures on a hand-built one. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/prep.h"

cp_profile *dupprof_make(uint64_t seed, bool quirks); /* compare/dupprof.c */

static cp_profile *reread(const cp_profile *p)
{
    cp_buf b = {0};
    cr_assert_eq(cp_profile_encode(p, &b), 0);
    cp_profile *q;
    cp_diag d;
    cr_assert_eq(cp_profile_decode(b.data, b.len, NULL, &q, &d), 0, "%s", d.msg);
    cp_buf_free(&b);
    return q;
}

#define S(p, i) cp_str((p), (i))

/* Two locations alike as a report sees them (columns aside: go drops them). */
static bool loc_same(const cp_profile *a, uint32_t i, const cp_profile *b, uint32_t j)
{
    const cp_location *x = &a->locations[i], *y = &b->locations[j];
    if (x->address != y->address || x->nlines != y->nlines || x->is_folded != y->is_folded ||
        (x->mapping == CP_NO_MAPPING) != (y->mapping == CP_NO_MAPPING))
        return false;
    if (x->mapping != CP_NO_MAPPING) {
        const cp_mapping *m = &a->mappings[x->mapping], *n = &b->mappings[y->mapping];
        if (m->start != n->start || m->limit != n->limit || strcmp(S(a, m->filename), S(b, n->filename)) ||
            strcmp(S(a, m->build_id), S(b, n->build_id)))
            return false;
    }
    for (uint32_t k = 0; k < x->nlines; k++) {
        const cp_function *f = &a->functions[x->lines[k].func], *g = &b->functions[y->lines[k].func];
        if (x->lines[k].line != y->lines[k].line || f->start_line != g->start_line ||
            strcmp(S(a, f->name), S(b, g->name)) || strcmp(S(a, f->system_name), S(b, g->system_name)) ||
            strcmp(S(a, f->filename), S(b, g->filename)))
            return false;
    }
    return true;
}

static bool label_same(const cp_profile *a, const cp_label *x, const cp_profile *b, const cp_label *y)
{
    if (strcmp(S(a, x->key), S(b, y->key)) || !x->str != !y->str)
        return false;
    if (x->str)
        return !strcmp(S(a, x->str), S(b, y->str));
    return x->num == y->num && !strcmp(S(a, x->num_unit), S(b, y->num_unit));
}

static int str_cmp(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* a (folded with ids) has m's records (merged by the builder) under m's
 * ids: mappings, functions and locations at the same index with the same
 * id, no column; and no string twice. */
static void expect_same_ids(const cp_profile *a, const cp_profile *m, uint64_t seed)
{
    cr_assert_eq(a->nmappings, m->nmappings, "seed %lu", (unsigned long)seed);
    cr_assert_eq(a->nfunctions, m->nfunctions, "seed %lu", (unsigned long)seed);
    cr_assert_eq(a->nlocations, m->nlocations, "seed %lu", (unsigned long)seed);
    for (size_t i = 0; i < a->nmappings; i++) {
        const cp_mapping *x = &a->mappings[i], *y = &m->mappings[i];
        cr_assert_eq(x->id, y->id);
        cr_assert(x->start == y->start && x->limit == y->limit && x->offset == y->offset &&
                  !strcmp(S(a, x->filename), S(m, y->filename)) &&
                  !strcmp(S(a, x->build_id), S(m, y->build_id)) &&
                  x->has_functions == y->has_functions && x->has_inline_frames == y->has_inline_frames,
                  "seed %lu mapping %zu", (unsigned long)seed, i);
    }
    for (size_t i = 0; i < a->nfunctions; i++) {
        const cp_function *x = &a->functions[i], *y = &m->functions[i];
        cr_assert(x->id == y->id && x->start_line == y->start_line &&
                  !strcmp(S(a, x->name), S(m, y->name)) &&
                  !strcmp(S(a, x->system_name), S(m, y->system_name)) &&
                  !strcmp(S(a, x->filename), S(m, y->filename)),
                  "seed %lu function %zu", (unsigned long)seed, i);
    }
    for (size_t i = 0; i < a->nlocations; i++) {
        const cp_location *x = &a->locations[i], *y = &m->locations[i];
        cr_assert_eq(x->id, y->id, "seed %lu location %zu", (unsigned long)seed, i);
        cr_assert_eq(x->mapping, y->mapping, "seed %lu location %zu", (unsigned long)seed, i);
        cr_assert(loc_same(a, (uint32_t)i, m, (uint32_t)i), "seed %lu location %zu",
                  (unsigned long)seed, i);
        for (uint32_t k = 0; k < x->nlines; k++) {
            cr_assert_eq(x->lines[k].func, y->lines[k].func);
            cr_assert_eq(x->lines[k].column, 0);
        }
    }
    for (size_t i = 0; i < a->nsamples; i++)
        cr_assert(!a->samples[i].nlocs ||
                      !memcmp(a->samples[i].locs, m->samples[i].locs,
                              a->samples[i].nlocs * sizeof *a->samples[i].locs),
                  "seed %lu sample %zu", (unsigned long)seed, i);
    const char **sorted = malloc((a->nstrings + 1) * sizeof *sorted);
    cr_assert_not_null(sorted);
    memcpy(sorted, a->strings, a->nstrings * sizeof *sorted);
    qsort(sorted, a->nstrings, sizeof *sorted, str_cmp);
    for (size_t i = 1; i < a->nstrings; i++)
        cr_assert_str_neq(sorted[i - 1], sorted[i], "seed %lu: string twice", (unsigned long)seed);
    free(sorted);
    cr_assert_str_eq(a->strings[0], "");
}

/* a (folded) holds what m (merged by the builder) holds; with ids, under
 * the same ids too (expect_same_ids) */
static void expect_same(const cp_profile *a, const cp_profile *m, uint64_t seed, bool ids)
{
    cr_assert_eq(a->nsamples, m->nsamples, "seed %lu: %zu samples folded, %zu merged",
                 (unsigned long)seed, a->nsamples, m->nsamples);
    for (size_t i = 0; i < a->nsamples; i++) {
        const cp_sample *x = &a->samples[i], *y = &m->samples[i];
        for (size_t k = 0; k < a->nsample_types; k++)
            cr_assert_eq(x->values[k], y->values[k], "seed %lu sample %zu", (unsigned long)seed, i);
        cr_assert_eq(x->nlocs, y->nlocs);
        for (uint32_t k = 0; k < x->nlocs; k++)
            cr_assert(loc_same(a, x->locs[k], m, y->locs[k]), "seed %lu sample %zu frame %u",
                      (unsigned long)seed, i, k);
        cr_assert_eq(x->nlabels, y->nlabels, "seed %lu sample %zu", (unsigned long)seed, i);
        for (uint32_t k = 0; k < x->nlabels; k++)
            cr_assert(label_same(a, &x->labels[k], m, &y->labels[k]), "seed %lu sample %zu label %u",
                      (unsigned long)seed, i, k);
        /* equal locations are one index after the fold, as after the merge */
        for (uint32_t k = 0; k + 1 < x->nlocs; k++)
            cr_assert_eq(x->locs[k] == x->locs[k + 1], y->locs[k] == y->locs[k + 1]);
    }
    cr_assert_eq(a->ncomments, m->ncomments);
    for (size_t i = 0; i < a->ncomments; i++)
        cr_assert_str_eq(S(a, a->comments[i]), S(m, m->comments[i]));
    cr_assert_eq(a->time_nanos, m->time_nanos);
    cr_assert_eq(a->duration_nanos, m->duration_nanos);
    cr_assert_eq(a->period, m->period);
    cr_assert_str_eq(S(a, a->default_sample_type), S(m, m->default_sample_type));
    cr_assert(a->nmappings > 0 || m->nmappings == 0);
    if (m->nmappings) /* the report's File: line */
        cr_assert_str_eq(S(a, a->mappings[0].filename), S(m, m->mappings[0].filename));
    if (ids)
        expect_same_ids(a, m, seed);
}

static void check_seed(uint64_t seed, bool quirks, bool ids)
{
    cp_profile *src = dupprof_make(seed, quirks);
    cp_profile *a = reread(src), *b = reread(src);
    cp_profile_free(src);
    cr_assert_eq(cp_prep_fold(a, ids), 0);
    cp_diag d;
    cp_profile *m = cp_prep_merge(&b, NULL, NULL, 1, &d);
    cr_assert_not_null(m, "%s", d.msg);
    expect_same(a, m, seed, ids);
    cp_profile_free(a);
    cp_profile_free(b);
    cp_profile_free(m);
}

/* q's string table in reverse order (the empty string 0 stays): dupprof's
 * tables put the same words at the same indices, so a merge that forgot
 * to move some index of the second profile would still read the right
 * word without this. */
static int64_t rev(const cp_profile *q, int64_t i)
{
    return i > 0 && (size_t)i < q->nstrings ? (int64_t)q->nstrings - i : i;
}

static void reverse_strings(cp_profile *q)
{
    const char **t = cp_arena_alloc(&q->arena, (q->nstrings + 1) * sizeof *t);
    cr_assert_not_null(t);
    for (size_t i = 0; i < q->nstrings; i++)
        t[rev(q, (int64_t)i)] = q->strings[i];
    for (size_t i = 0; i < q->nsample_types; i++) {
        q->sample_types[i].type = rev(q, q->sample_types[i].type);
        q->sample_types[i].unit = rev(q, q->sample_types[i].unit);
    }
    q->period_type.type = rev(q, q->period_type.type);
    q->period_type.unit = rev(q, q->period_type.unit);
    q->default_sample_type = rev(q, q->default_sample_type);
    q->drop_frames = rev(q, q->drop_frames);
    q->keep_frames = rev(q, q->keep_frames);
    for (size_t i = 0; i < q->ncomments; i++)
        q->comments[i] = rev(q, q->comments[i]);
    for (size_t i = 0; i < q->nmappings; i++) {
        q->mappings[i].filename = rev(q, q->mappings[i].filename);
        q->mappings[i].build_id = rev(q, q->mappings[i].build_id);
    }
    for (size_t i = 0; i < q->nfunctions; i++) {
        q->functions[i].name = rev(q, q->functions[i].name);
        q->functions[i].system_name = rev(q, q->functions[i].system_name);
        q->functions[i].filename = rev(q, q->functions[i].filename);
    }
    for (size_t i = 0; i < q->nsamples; i++)
        for (uint32_t k = 0; k < q->samples[i].nlabels; k++) {
            cp_label *l = &q->samples[i].labels[k];
            l->key = rev(q, l->key);
            l->str = rev(q, l->str);
            l->num_unit = rev(q, l->num_unit);
        }
    q->strings = t;
}

/* Several profiles (the second subtracted, as -base does): their
 * concatenation folded equals the builder's merge. */
static int check_pair(uint64_t seed, bool quirks, double scale2, bool ids)
{
    cp_profile *s1 = dupprof_make(seed, quirks), *s2 = dupprof_make(seed + 7919, quirks);
    reverse_strings(s2);
    cp_profile *a[2] = {reread(s1), reread(s2)}, *b[2] = {reread(s1), reread(s2)};
    cp_profile_free(s1);
    cp_profile_free(s2);
    double sc[2] = {1.0, scale2};
    if (!cp_prep_fold_merge_ok(a, sc, NULL, 2)) { /* other types: the builder's case */
        for (int i = 0; i < 2; i++) {
            cp_profile_free(a[i]);
            cp_profile_free(b[i]);
        }
        return 0;
    }
    cp_profile *f = cp_prep_fold_merge(a, sc, 2, ids);
    cr_assert_not_null(f);
    cr_assert(!a[0] && !a[1]);
    cp_diag d;
    cp_profile *m = cp_prep_merge(b, sc, NULL, 2, &d);
    cr_assert_not_null(m, "%s", d.msg);
    expect_same(f, m, seed, ids);
    cp_profile_free(f);
    cp_profile_free(m);
    cp_profile_free(b[0]);
    cp_profile_free(b[1]);
    return 1;
}

Test(fold, same_samples_as_the_merge)
{
    for (uint64_t seed = 1; seed <= 300; seed++) {
        check_seed(seed, false, false);
        check_seed(seed, true, false);
    }
}

Test(fold, several_profiles_as_the_merge)
{
    int n = 0;
    for (uint64_t seed = 1; seed <= 150; seed++)
        n += check_pair(seed, false, -1.0, false) + check_pair(seed, true, -1.0, false) +
             check_pair(seed, true, 1.0, false);
    cr_assert_gt(n, 200, "only %d of 450 pairs were compatible", n);
    /* what the concatenation cannot give the builder's way is left to it */
    cp_profile *x = dupprof_make(1, false), *y = dupprof_make(2, false);
    double half[2] = {1.0, 0.5};
    bool diff[2] = {false, true};
    cp_profile *xy[2] = {x, y};
    cr_assert(!cp_prep_fold_merge_ok(xy, half, NULL, 2));
    cr_assert(!cp_prep_fold_merge_ok(xy, NULL, diff, 2));
    cr_assert(!cp_prep_fold_merge_ok(xy, NULL, NULL, 1));
    cp_profile_free(x);
    cp_profile_free(y);
}

/* With ids (raw, proto, merge): the builder's ids and records, one
 * profile and several. */
Test(fold, ids_as_the_merge)
{
    int n = 0;
    for (uint64_t seed = 1; seed <= 150; seed++) {
        check_seed(seed, false, true);
        check_seed(seed, true, true);
        n += check_pair(seed, false, -1.0, true) + check_pair(seed, true, 1.0, true);
    }
    cr_assert_gt(n, 100, "only %d of 300 pairs were compatible", n);
}

/* A profile written by hand: the figures the fold must give.  first: the
 * location the first sample uses (0 in mapping 1's file at 0x1000, or 1,
 * the same file loaded 0x1000000 higher). */
static void exact_figures(uint32_t first)
{
    cp_profile *p = calloc(1, sizeof *p);
    static const char *strs[] = {"", "samples", "count", "/bin/a", "f", "f", "k", "x", "y", "k"};
    p->strings = strs;
    p->nstrings = 10;
    cp_value_type st = {1, 2};
    p->sample_types = &st;
    p->nsample_types = 1;
    /* two mappings of one file, loaded 0x1000000 apart: one under go's key */
    cp_mapping maps[2] = {{.id = 1, .start = 0x1000, .limit = 0x2000, .filename = 3},
                          {.id = 2, .start = 0x1001000, .limit = 0x1002000, .filename = 3}};
    p->mappings = maps;
    p->nmappings = 2;
    cp_function fns[2] = {{.id = 1, .name = 4, .system_name = 4}, {.id = 2, .name = 5, .system_name = 5}};
    p->functions = fns;
    p->nfunctions = 2;
    cp_line l0 = {0, 7, 0}, l1 = {1, 7, 3}; /* same function by content, other column */
    cp_location locs[2] = {{.id = 1, .address = 0x1100, .mapping = 0, .nlines = 1, .lines = &l0},
                           {.id = 2, .address = 0x1001100, .mapping = 1, .nlines = 1, .lines = &l1}};
    p->locations = locs;
    p->nlocations = 2;
    uint32_t s0[1] = {first}, s1[1] = {1 - first}, s2[1] = {1}, s3[1] = {0};
    int64_t v[4] = {5, 7, -7, 0};
    cp_label la[2] = {{.key = 6, .str = 7}, {.key = 9, .str = 8}};   /* k=x, k=y */
    cp_label lb[3] = {{.key = 6, .str = 7}, {.key = 2}, {.key = 6, .str = 8}}; /* k=x, empty, k=y */
    cp_sample samples[4] = {{s0, &v[0], la, 1, 2}, {s1, &v[1], lb, 1, 3}, {s2, &v[2], NULL, 1, 0},
                            {s3, &v[3], NULL, 1, 0}};
    p->samples = samples;
    p->nsamples = 4;
    cr_assert_eq(cp_prep_fold(p, false), 0);
    /* samples 0 and 1 are one (12); 2 stays (-7, another label set); 3 was zero */
    cr_assert_eq(p->nsamples, 2);
    cr_assert_eq(p->samples[0].values[0], 12);
    cr_assert_eq(p->samples[0].nlabels, 2);
    cr_assert_eq(p->samples[1].values[0], -7);
    /* the two locations are one, the first used; the first mapping is
     * kept (go takes it first), so that location moved into its place */
    cr_assert_eq(p->samples[0].locs[0], first);
    cr_assert_eq(p->samples[1].locs[0], first);
    cr_assert_eq(locs[first].mapping, 0);
    cr_assert_eq(locs[first].address, 0x1100);
    free(p);
}

Test(fold, exact_figures)
{
    exact_figures(0);
    exact_figures(1);
}

/* The unit table of every numeric key gives what the per-key lookup gives. */
Test(fold, label_units_table)
{
    size_t checked = 0;
    for (uint64_t seed = 1; seed <= 100; seed++) {
        cp_profile *src = dupprof_make(seed, seed & 1), *p = reread(src);
        cp_profile_free(src);
        const char **units = cp_prep_num_label_units(p);
        cr_assert_not_null(units);
        for (size_t i = 0; i < p->nsamples; i++)
            for (uint32_t k = 0; k < p->samples[i].nlabels; k++) {
                const cp_label *l = &p->samples[i].labels[k];
                if (l->str || (!l->num && !l->num_unit))
                    continue;
                cr_assert_not_null(units[l->key]);
                cr_assert_str_eq(units[l->key], cp_prep_num_label_unit(p, l->key));
                checked++;
            }
        free(units);
        cp_profile_free(p);
    }
    cr_assert_gt(checked, 1000, "only %zu numeric labels checked", checked);
}
