/* The sampled-event table: exact sums under concurrent adds, keys made of
 * stack + label set + tag, lost events when full, the built profile. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <string.h>

#include "collect/events.h"
#include "profile/builder.h"
#include "cprof.h"

static cp_events tab;

enum { THREADS = 4, PER = 20000, STACKS = 50 };

static void *adder(void *arg)
{
    long id = (long)arg;
    const cp_labelset *l = cp_labels_current();
    for (int i = 0; i < PER; i++) {
        uint64_t pcs[3] = {0x1000 + (uint64_t)(i % STACKS), 0x2000, 0x3000 + (uint64_t)id % 2};
        cp_events_add(&tab, pcs, 3, l, 0, 2, i % 7);
    }
    return NULL;
}

static const cp_events_col cols[] = {
    {"contentions", "count", CP_EV_COUNT, 1, 1},
    {"delay", "nanoseconds", CP_EV_V1, 1, 1},
    {"half", "count", CP_EV_V0, 1, 2},
};

static int64_t total(const cp_profile *p, int col)
{
    int64_t s = 0;
    for (size_t i = 0; i < p->nsamples; i++)
        s += p->samples[i].values[col];
    return s;
}

Test(events, concurrent_exact)
{
    cr_assert_eq(cp_events_init(&tab, 64, 0), 0);
    pthread_t th[THREADS];
    for (long i = 0; i < THREADS; i++)
        pthread_create(&th[i], NULL, adder, (void *)i);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    cp_events_spec s = {.cols = cols, .ncols = 3, .period_type = "contentions",
                        .period_unit = "count", .period = 1};
    cp_profile *p = NULL;
    cr_assert_eq(cp_events_build(&tab, &s, &p), 0);
    /* 2 distinct third frames x 50 first frames. */
    cr_assert_eq(p->nsamples, 2 * STACKS);
    cr_assert_eq(total(p, 0), THREADS * PER);
    int64_t d = 0;
    for (int i = 0; i < PER; i++)
        d += i % 7;
    cr_assert_eq(total(p, 1), THREADS * d);
    cr_assert_eq(total(p, 2), THREADS * PER); /* v0 = 2 per event, halved */
    cr_assert_str_eq(cp_str(p, p->sample_types[1].type), "delay");
    cr_assert_str_eq(cp_str(p, p->sample_types[1].unit), "nanoseconds");
    cp_profile_free(p);
    cp_events_destroy(&tab);
}

Test(events, labels_and_tags_are_keys)
{
    cr_assert_eq(cp_events_init(&tab, 0, 0), 0);
    uint64_t pcs[1] = {0x1234};
    cprof_label_push("route", "/a");
    cp_events_add(&tab, pcs, 1, cp_labels_current(), 0, 0, 10);
    cprof_label_pop();
    cprof_label_push("route", "/b");
    cp_events_add(&tab, pcs, 1, cp_labels_current(), 0, 0, 20);
    cp_events_add(&tab, pcs, 1, cp_labels_current(), 0, 0, 5);
    cprof_label_pop();
    cp_events_add(&tab, pcs, 1, NULL, 2, 0, 1);
    static const char *const kinds[] = {NULL, "file", "socket"};
    cp_events_spec s = {.cols = cols, .ncols = 2, .tag_key = "kind", .tag_names = kinds,
                        .ntags = 3};
    cp_profile *p = NULL;
    cr_assert_eq(cp_events_build(&tab, &s, &p), 0);
    cr_assert_eq(p->nsamples, 3);
    int seen = 0;
    for (size_t i = 0; i < p->nsamples; i++) {
        const cp_sample *x = &p->samples[i];
        cr_assert_eq(x->nlabels, 1);
        const char *k = cp_str(p, x->labels[0].key), *v = cp_str(p, x->labels[0].str);
        if (!strcmp(k, "route") && !strcmp(v, "/a")) {
            cr_assert_eq(x->values[0], 1);
            cr_assert_eq(x->values[1], 10);
            seen |= 1;
        } else if (!strcmp(k, "route") && !strcmp(v, "/b")) {
            cr_assert_eq(x->values[0], 2);
            cr_assert_eq(x->values[1], 25);
            seen |= 2;
        } else if (!strcmp(k, "kind") && !strcmp(v, "socket")) {
            cr_assert_eq(x->values[1], 1);
            seen |= 4;
        }
    }
    cr_assert_eq(seen, 7);
    cp_profile_free(p);
    cp_events_destroy(&tab);
}

Test(events, full_table_counts_lost)
{
    cr_assert_eq(cp_events_init(&tab, 4, 64), 0);
    int lost = 0;
    for (uint64_t i = 0; i < 100; i++) {
        uint64_t pcs[2] = {0x5000 + i, 0x6000};
        lost += cp_events_add(&tab, pcs, 2, NULL, 0, 0, 1) != 0;
    }
    cr_assert_gt(lost, 0);
    cp_events_stats st;
    cp_events_get_stats(&tab, &st);
    cr_assert_eq(st.lost, lost);
    cp_events_spec s = {.cols = cols, .ncols = 2};
    cp_profile *p = NULL;
    cr_assert_eq(cp_events_build(&tab, &s, &p), 0);
    cr_assert_eq(total(p, 0), 100);
    bool found = false;
    for (size_t i = 0; i < p->nfunctions; i++)
        found |= !strcmp(cp_str(p, p->functions[i].name), CP_LOST_FRAME);
    cr_assert(found);
    cp_profile_free(p);
    cp_events_destroy(&tab);
}

Test(events, never_initialised_is_empty)
{
    cp_events none = {0};
    uint64_t pc = 1;
    cr_assert_eq(cp_events_add(&none, &pc, 1, NULL, 0, 1, 1), CPROF_ENOMEM);
    cp_events_spec s = {.cols = cols, .ncols = 2};
    cp_profile *p = NULL;
    cr_assert_eq(cp_events_build(&none, &s, &p), 0);
    cr_assert_eq(p->nsamples, 0);
    cr_assert_eq(p->nsample_types, 2);
    cp_profile_free(p);
    cr_assert_eq(cp_events_build(NULL, &s, &p), 0);
    cp_profile_free(p);
}
