/* Labels as a stack-table key, label sets as pprof labels, and thread
 * snapshots taken in-process (no preload: the static library). */
#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "collect/labels.h"
#include "collect/labelsout.h"
#include "collect/stacktab.h"
#include "collect/threads.h"
#include "cprof.h"

Test(stacktab, key_separates_same_stack)
{
    cp_stacktab t;
    cr_assert_eq(cp_stacktab_init(&t, 64, 4096), 0);
    uint64_t s[3] = {1, 2, 3};
    cr_assert_eq(cp_stacktab_add_key(&t, s, 3, 0, 10, NULL), 0);
    cr_assert_eq(cp_stacktab_add_key(&t, s, 3, 0x1000, 20, NULL), 0);
    cr_assert_eq(cp_stacktab_add_key(&t, s, 3, 0x1000, 5, NULL), 0);
    cr_assert_eq(cp_stacktab_add(&t, s, 3, 1), 0); /* key 0 */
    cp_stacktab_merge(&t);
    int64_t c0 = 0, n0 = 0, c1 = 0, n1 = 0;
    int recs = 0;
    for (const cp_stackrec *r = cp_stacktab_next(&t, NULL); r; r = cp_stacktab_next(&t, r)) {
        if (!r->count && !r->ns)
            continue;
        recs++;
        if (r->key == 0)
            c0 += r->count, n0 += r->ns;
        else if (r->key == 0x1000)
            c1 += r->count, n1 += r->ns;
    }
    cr_assert_eq(recs, 2);
    cr_assert_eq(c0, 2);
    cr_assert_eq(n0, 11);
    cr_assert_eq(c1, 2);
    cr_assert_eq(n1, 25);
    cp_stacktab_destroy(&t);
}

Test(labelsout, push_order_innermost_value)
{
    cr_assert_eq(cprof_label_push("route", "/a"), 0);
    cr_assert_eq(cprof_label_push("tenant", "t1"), 0);
    cr_assert_eq(cprof_label_push("route", "/b"), 0);
    cp_label_in l[CP_LABELSOUT_MAX];
    size_t n = cp_labelsout_fill(cp_labels_current(), l, CP_LABELSOUT_MAX);
    cr_assert_eq(n, 2);
    cr_assert_str_eq(l[0].key, "tenant"); /* route's outer push is shadowed */
    cr_assert_str_eq(l[0].str, "t1");
    cr_assert_str_eq(l[1].key, "route");
    cr_assert_str_eq(l[1].str, "/b");
    cr_assert_eq(cp_labelsout_fill(cp_labels_current(), l, 1), 1);
    cr_assert_eq(cp_labelsout_fill(NULL, l, CP_LABELSOUT_MAX), 0);
    cprof_label_pop();
    cprof_label_pop();
    cprof_label_pop();
}

static atomic_int ready;
static atomic_int quit;
static pid_t tids[4];

__attribute__((noinline)) static void parked_here(int i)
{
    tids[i] = gettid();
    if (i == 3) {
        sigset_t all;
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, NULL);
    }
    if (i == 2)
        cprof_label_push("who", "two");
    atomic_fetch_add(&ready, 1);
    while (!atomic_load(&quit))
        usleep(1000); /* EINTR from the snapshot's signal is fine here */
}

static void *run(void *arg)
{
    parked_here((int)(intptr_t)arg);
    return NULL;
}

Test(threads, snapshot_finds_parked_threads)
{
    cp_threads_snapshot s;
    cr_assert_eq(cp_threads_take(&s), 0);
    size_t before = s.n; /* the test runner's own threads */
    int blocked_before = s.skipped_blocked;
    cp_threads_snapshot_free(&s);
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, run, (void *)(intptr_t)i);
    while (atomic_load(&ready) < 4)
        usleep(1000);
    cr_assert_eq(cp_threads_take(&s), 0);
    cr_assert_eq(s.n, before + 4, "threads %zu, %zu before", s.n, before);
    cr_assert_eq(s.skipped_blocked, blocked_before + 1);
    int found = 0;
    for (size_t i = 0; i < s.n; i++) {
        const cp_thread_snap *t = &s.threads[i];
        for (int k = 0; k < 4; k++) {
            if (t->tid != tids[k])
                continue;
            found++;
            if (k == 3) {
                cr_assert_eq(t->n, 0, "the blocked thread has no stack");
                continue;
            }
            cr_assert_gt(t->n, 2);
            if (k == 2)
                cr_assert_str_eq(t->labels->value, "two");
            else
                cr_assert_null(t->labels);
        }
        if (t->tid == gettid())
            cr_assert_gt(t->n, 0, "the caller's own stack");
    }
    cr_assert_eq(found, 4);
    cp_buf text = {0};
    cr_assert_eq(cp_threads_render_text(&s, &text), 0);
    char head[64];
    snprintf(head, sizeof head, "threads: %zu (not sampled: %d;", s.n, s.skipped_blocked);
    cr_assert(text.len > 0 && strstr((char *)text.data, head));
    cp_buf_free(&text);
    cp_profile *p = NULL;
    cr_assert_eq(cp_threads_build(&s, &p), 0);
    int64_t total = 0;
    for (size_t i = 0; i < p->nsamples; i++)
        total += p->samples[i].values[0];
    cr_assert_eq(total, (int64_t)s.n);
    cr_assert_str_eq(cp_str(p, p->sample_types[0].type), "threads");
    cp_profile_free(p);
    cp_threads_snapshot_free(&s);
    atomic_store(&quit, 1);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
}
