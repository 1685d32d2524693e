/* Labels: push/pop/inherit semantics, interning, shadowing, the cap. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "collect/labels.h"
#include "cprof.h"

struct kv {
    int n;
    char buf[512];
};

static int collect(void *ctx, const char *k, const char *v)
{
    struct kv *o = ctx;
    size_t len = strlen(o->buf);
    snprintf(o->buf + len, sizeof o->buf - len, "%s%s=%s", o->n++ ? "," : "", k, v);
    return 0;
}

static const char *show(const cp_labelset *s)
{
    static struct kv o;
    memset(&o, 0, sizeof o);
    cp_labels_each(s, collect, &o);
    return o.buf;
}

Test(labels, push_pop_shadow_intern)
{
    cr_assert_null(cp_labels_current());
    cr_assert_eq(cprof_label_push("route", "/a"), 0);
    const cp_labelset *a = cp_labels_current();
    cr_assert_str_eq(show(a), "route=/a");
    cr_assert_eq(cprof_label_push("tenant", "t1"), 0);
    cr_assert_str_eq(show(cp_labels_current()), "tenant=t1,route=/a");
    cr_assert_eq(cprof_label_push("route", "/b"), 0);
    cr_assert_str_eq(show(cp_labels_current()), "route=/b,tenant=t1");
    cr_assert_eq(cp_labels_current()->depth, 3);
    cprof_label_pop();
    cprof_label_pop();
    cr_assert_eq(cp_labels_current(), a);
    cprof_label_pop();
    cr_assert_null(cp_labels_current());
    cprof_label_pop(); /* unbalanced pop: no-op */
    cr_assert_null(cp_labels_current());
    /* Same steps give the same node. */
    cprof_label_push("route", "/a");
    cr_assert_eq(cp_labels_current(), a);
    cprof_label_pop();
}

Test(labels, bad_arguments)
{
    cr_assert_eq(cprof_label_push(NULL, "v"), CPROF_EINVAL);
    cr_assert_eq(cprof_label_push("", "v"), CPROF_EINVAL);
    cr_assert_eq(cprof_label_push("k", NULL), CPROF_EINVAL);
    cr_assert_null(cp_labels_current());
    cr_assert_eq(cprof_label_push("k", ""), 0); /* an empty value is a value */
    cprof_label_pop();
}

Test(labels, long_values_cut)
{
    char big[3000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    cr_assert_eq(cprof_label_push("k", big), 0);
    cr_assert_eq(strlen(cp_labels_current()->value), CP_LABELS_MAX_LEN);
    cprof_label_pop();
}

Test(labels, cap_refuses_and_pops_balance)
{
    char v[32];
    cr_assert_eq(cprof_label_push("outer", "o"), 0);
    const cp_labelset *outer = cp_labels_current();
    cprof_label_push("id", "0");
    cprof_label_push("x", "y");
    const cp_labelset *xy = cp_labels_current();
    cprof_label_pop();
    cprof_label_pop();
    int refused = 0;
    for (int i = 0; i < CP_LABELS_MAX_NODES + 10; i++) {
        snprintf(v, sizeof v, "%d", i);
        int rc = cprof_label_push("id", v);
        if (rc == CPROF_ENOMEM)
            refused++;
        else
            cr_assert_eq(rc, 0);
        cprof_label_pop();
        cr_assert_eq(cp_labels_current(), outer);
    }
    cr_assert_geq(refused, 10);
    cr_assert_eq(cp_labels_dropped(), (uint64_t)refused);
    /* Existing nodes still push; a refused push between two accepted ones
     * pops without moving the set. */
    cr_assert_eq(cprof_label_push("id", "0"), 0);
    const cp_labelset *id0 = cp_labels_current();
    cr_assert_eq(cprof_label_push("id", "new-at-cap"), CPROF_ENOMEM);
    cr_assert_eq(cp_labels_current(), id0);
    cr_assert_eq(cprof_label_push("x", "y"), 0); /* interned before the cap */
    cr_assert_eq(cp_labels_current(), xy);
    cprof_label_pop();
    cr_assert_eq(cp_labels_current(), id0);
    cprof_label_pop();
    cr_assert_eq(cp_labels_current(), id0);
    cprof_label_pop();
    cr_assert_eq(cp_labels_current(), outer);
    cprof_label_pop();
    cr_assert_null(cp_labels_current());
}

static void *child(void *arg)
{
    const cp_labelset **out = arg;
    out[0] = cp_labels_current();
    cprof_label_pop(); /* inherited labels are not this thread's to pop */
    out[1] = cp_labels_current();
    return NULL;
}

Test(labels, threads_inherit)
{
#ifdef __SANITIZE_ADDRESS__
    /* the sanitizer's pthread_create comes first: ours is not in the link */
    cr_skip_test("pthread_create is the sanitizer's in this build");
#endif
    cprof_label_push("route", "/t");
    const cp_labelset *mine = cp_labels_current();
    const cp_labelset *seen[2] = {0};
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, child, seen), 0);
    pthread_join(th, NULL);
    cr_assert_eq(seen[0], mine);
    cr_assert_eq(seen[1], mine);
    cprof_label_pop();
}
