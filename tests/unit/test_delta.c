/* test_delta.c — cp_profile_delta: cumulative columns subtract, in-use
 * columns keep the newer snapshot, all-zero samples go, times span the
 * interval; exact values. */
#include <criterion/criterion.h>
#include <string.h>

#include "cprof.h"
#include "profile/builder.h"
#include "profile/delta.h"
#include "profile/profile.h"

/* A heap-shaped profile: alloc_objects, alloc_space, inuse_objects,
 * inuse_space; stacks are lists of function names (leaf first). */
typedef struct hs {
    const char *stack[3];
    const char *label; /* value of label "req", or NULL */
    int64_t v[4];
} hs;

static cp_profile *heap_like(const hs *s, size_t n, int64_t t, int64_t d)
{
    cp_pbuilder *b = cp_pbuilder_new(true);
    cp_pbuilder_sample_type(b, "alloc_objects", "count");
    cp_pbuilder_sample_type(b, "alloc_space", "bytes");
    cp_pbuilder_sample_type(b, "inuse_objects", "count");
    cp_pbuilder_sample_type(b, "inuse_space", "bytes");
    cp_pbuilder_period(b, "space", "bytes", 1);
    cp_pbuilder_times(b, t, d);
    uint64_t m = cp_pbuilder_mapping(b, 0x400000, 0x500000, 0, "/bin/prog", "ab", true, false,
                                     false, false);
    for (size_t i = 0; i < n; i++) {
        uint64_t locs[3];
        size_t nl = 0;
        for (; nl < 3 && s[i].stack[nl]; nl++) {
            const char *f = s[i].stack[nl];
            uint64_t fid = cp_pbuilder_function(b, f, f, "", 0);
            cp_line_in l = {fid, 0, 0};
            /* address from the name, so equal names are equal locations */
            locs[nl] = cp_pbuilder_location(b, m, 0x400000 + (uint64_t)f[0] * 16 + strlen(f), &l,
                                            1, false);
        }
        cp_label_in lab = {"req", s[i].label, 0, NULL};
        cr_assert_eq(cp_pbuilder_sample(b, locs, nl, s[i].v, &lab, s[i].label ? 1 : 0), 0);
    }
    cp_profile *p = cp_pbuilder_finish(b);
    cp_pbuilder_free(b);
    cr_assert_not_null(p);
    return p;
}

/* The sample whose leaf function is `leaf` and label `label` (NULL: none). */
static const cp_sample *find(const cp_profile *p, const char *leaf, const char *label)
{
    for (size_t i = 0; i < p->nsamples; i++) {
        const cp_sample *s = &p->samples[i];
        const cp_location *l = &p->locations[s->locs[0]];
        if (strcmp(cp_str(p, p->functions[l->lines[0].func].name), leaf))
            continue;
        if (!label && s->nlabels == 0)
            return s;
        if (label && s->nlabels == 1 && !strcmp(cp_str(p, s->labels[0].str), label))
            return s;
    }
    return NULL;
}

Test(delta, heap_subtracts_alloc_keeps_inuse)
{
    hs old_s[] = {
        {{"a", "main"}, NULL, {10, 1000, 4, 400}},
        {{"b", "main"}, NULL, {5, 500, 5, 500}},
        {{"c", "main"}, "x", {2, 200, 2, 200}},
        {{"gone", "main"}, NULL, {3, 300, 0, 0}},
    };
    hs new_s[] = {
        {{"a", "main"}, NULL, {15, 1500, 1, 100}}, /* +5 allocs, in use now 1 */
        {{"b", "main"}, NULL, {5, 500, 5, 500}},   /* no new allocs, still in use */
        {{"c", "main"}, "x", {2, 200, 0, 0}},      /* nothing new, all freed: dropped */
        {{"c", "main"}, "y", {7, 70, 7, 70}},      /* same stack, other label: new */
        {{"gone", "main"}, NULL, {3, 300, 0, 0}},  /* unchanged: dropped */
        {{"d", "main"}, NULL, {1, 8, 0, 0}},       /* new and freed */
    };
    cp_profile *o = heap_like(old_s, 4, 1000, 2000);
    cp_profile *n = heap_like(new_s, 6, 1000, 5000);
    cp_profile *d = NULL;
    cr_assert_eq(cp_profile_delta(n, o, &d), 0);
    cr_assert_eq(d->nsample_types, 4);
    cr_assert_str_eq(cp_str(d, d->sample_types[2].type), "inuse_objects");
    cr_assert_eq(d->nsamples, 4, "a, b, c/y, d; got %zu", d->nsamples);
    const cp_sample *s;
    cr_assert_not_null(s = find(d, "a", NULL));
    int64_t ea[] = {5, 500, 1, 100};
    cr_assert_arr_eq(s->values, ea, sizeof ea);
    cr_assert_not_null(s = find(d, "b", NULL));
    int64_t eb[] = {0, 0, 5, 500};
    cr_assert_arr_eq(s->values, eb, sizeof eb);
    cr_assert_not_null(s = find(d, "c", "y"));
    int64_t ec[] = {7, 70, 7, 70};
    cr_assert_arr_eq(s->values, ec, sizeof ec);
    cr_assert_null(find(d, "c", "x"));
    cr_assert_null(find(d, "gone", NULL));
    cr_assert_not_null(s = find(d, "d", NULL));
    int64_t ed[] = {1, 8, 0, 0};
    cr_assert_arr_eq(s->values, ed, sizeof ed);
    cr_assert_eq(d->time_nanos, 3000, "older's end");
    cr_assert_eq(d->duration_nanos, 3000, "to newer's end");
    cr_assert_eq(d->period, 1);
    /* it encodes and decodes */
    cp_buf buf = {0};
    cr_assert_eq(cp_profile_encode_gz(d, &buf), 0);
    cp_profile *back = NULL;
    cp_diag dg = {{0}};
    cr_assert_eq(cp_profile_decode(buf.data, buf.len, NULL, &back, &dg), 0, "%s", dg.msg);
    cr_assert_eq(back->nsamples, 4);
    cp_profile_free(back);
    cp_buf_free(&buf);
    cp_profile_free(d);
    cp_profile_free(o);
    cp_profile_free(n);
}

Test(delta, contention_and_consecutive_deltas_add_up)
{
    /* cumulative-only types: three snapshots; the two deltas sum to the
     * last minus the first, exactly */
    cp_pbuilder *bs[3];
    int64_t vals[3][2] = {{1, 100}, {4, 1000}, {9, 123456789012LL}};
    cp_profile *p[3];
    for (int i = 0; i < 3; i++) {
        cp_pbuilder *b = bs[i] = cp_pbuilder_new(true);
        cp_pbuilder_sample_type(b, "contentions", "count");
        cp_pbuilder_sample_type(b, "delay", "nanoseconds");
        cp_pbuilder_times(b, 100 + 10 * i, 0);
        uint64_t loc = cp_pbuilder_named_location(b, "lock_it");
        cr_assert_eq(cp_pbuilder_sample(b, &loc, 1, vals[i], NULL, 0), 0);
        p[i] = cp_pbuilder_finish(b);
        cp_pbuilder_free(b);
    }
    cp_profile *d1, *d2;
    cr_assert_eq(cp_profile_delta(p[1], p[0], &d1), 0);
    cr_assert_eq(cp_profile_delta(p[2], p[1], &d2), 0);
    cr_assert_eq(d1->nsamples, 1);
    cr_assert_eq(d2->nsamples, 1);
    cr_assert_eq(d1->samples[0].values[0], 3);
    cr_assert_eq(d1->samples[0].values[1], 900);
    cr_assert_eq(d2->samples[0].values[0], 5);
    cr_assert_eq(d2->samples[0].values[1], 123456789012LL - 1000, "exact, no float rounding");
    cr_assert_eq(d1->time_nanos, 100);
    cr_assert_eq(d1->duration_nanos, 10);
    cr_assert_eq(d2->time_nanos, 110);
    cr_assert_eq(d2->duration_nanos, 10);
    for (int i = 0; i < 3; i++)
        cp_profile_free(p[i]);
    cp_profile_free(d1);
    cp_profile_free(d2);
}

Test(delta, null_or_empty_older_and_mismatch)
{
    hs s[] = {{{"a", "main"}, NULL, {2, 20, 1, 10}}};
    cp_profile *n = heap_like(s, 1, 50, 7);
    cp_profile *d = NULL;
    cr_assert_eq(cp_profile_delta(n, NULL, &d), 0);
    cr_assert_eq(d->nsamples, 1);
    cr_assert_eq(d->samples[0].values[1], 20);
    cr_assert_eq(d->time_nanos, 50);
    cr_assert_eq(d->duration_nanos, 7);
    cp_profile_free(d);
    /* an empty profile with no sample types (a type not enabled) */
    cp_pbuilder *b = cp_pbuilder_new(true);
    cp_profile *e = cp_pbuilder_finish(b);
    cp_pbuilder_free(b);
    cr_assert_eq(cp_profile_delta(n, e, &d), 0);
    cr_assert_eq(d->nsamples, 1);
    cp_profile_free(d);
    /* different sample types */
    b = cp_pbuilder_new(true);
    cp_pbuilder_sample_type(b, "samples", "count");
    uint64_t loc = cp_pbuilder_named_location(b, "x");
    int64_t v = 1;
    cp_pbuilder_sample(b, &loc, 1, &v, NULL, 0);
    cp_profile *other = cp_pbuilder_finish(b);
    cp_pbuilder_free(b);
    d = NULL;
    cr_assert_eq(cp_profile_delta(n, other, &d), CPROF_EINVAL);
    cr_assert_null(d);
    cr_assert(cp_profile_delta_is_gauge("inuse_space"));
    cr_assert(cp_profile_delta_is_gauge("threads"));
    cr_assert(!cp_profile_delta_is_gauge("alloc_space"));
    cr_assert(!cp_profile_delta_is_gauge("delay"));
    cp_profile_free(e);
    cp_profile_free(other);
    cp_profile_free(n);
}
