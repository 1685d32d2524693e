/* test_roundtrip.c — real Go profiles decode, re-encode and decode again to
 * the same model, and carry what the oracle program put in them.
 *
 * The oracle (tests/go/oracle) runs with MemProfileRate=1, so its heap
 * figures are exact and asserted to the byte; CPU figures are statistical
 * and only checked for presence and labels.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "codec_util.h"
#include "cprof.h"
#include "profile/profile.h"

static const char *const go_profiles[] = {
    "cpu.pb.gz",       "heap.pb.gz",      "allocs.pb.gz",       "mutex.pb.gz",
    "block.pb.gz",     "goroutine.pb.gz", "threadcreate.pb.gz",
};

static cp_profile *load(const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", cu_go_dir(), name);
    cp_profile *p = NULL;
    cp_diag d;
    int rc = cp_profile_read_file(path, &p, &d);
    cr_assert_eq(rc, 0, "%s", d.msg);
    return p;
}

Test(roundtrip, go_profiles_decode_encode_decode)
{
    for (size_t i = 0; i < sizeof go_profiles / sizeof *go_profiles; i++) {
        cp_profile *p = load(go_profiles[i]);
        cp_buf raw = {0}, gz = {0}, raw2 = {0};
        cr_assert_eq(cp_profile_encode(p, &raw), 0);
        cr_assert_eq(cp_profile_encode_gz(p, &gz), 0);
        cp_profile *q = NULL, *r = NULL;
        cp_diag d;
        cr_assert_eq(cp_profile_decode(raw.data, raw.len, NULL, &q, &d), 0, "%s: %s",
                     go_profiles[i], d.msg);
        cr_assert_eq(cp_profile_decode(gz.data, gz.len, NULL, &r, &d), 0, "%s: %s",
                     go_profiles[i], d.msg);
        const char *diff = cu_profile_diff(p, q);
        cr_assert_null(diff, "%s: re-encoded raw differs in %s", go_profiles[i], diff);
        diff = cu_profile_diff(p, r);
        cr_assert_null(diff, "%s: re-encoded gzip differs in %s", go_profiles[i], diff);
        /* a second encode of the re-decoded model is byte-identical */
        cr_assert_eq(cp_profile_encode(q, &raw2), 0);
        cr_assert_eq(raw.len, raw2.len, "%s", go_profiles[i]);
        cr_assert_eq(memcmp(raw.data, raw2.data, raw.len), 0, "%s", go_profiles[i]);
        cr_log_info("%s: %zu samples, %zu locations, %zu functions, %zu strings: round trip equal",
                    go_profiles[i], p->nsamples, p->nlocations, p->nfunctions, p->nstrings);
        cp_profile_free(p);
        cp_profile_free(q);
        cp_profile_free(r);
        cp_buf_free(&raw);
        cp_buf_free(&raw2);
        cp_buf_free(&gz);
    }
}

static void expect_types(const cp_profile *p, const char *const *want, size_t n)
{
    cr_assert_eq(p->nsample_types, n);
    for (size_t i = 0; i < n; i++) {
        char got[128];
        snprintf(got, sizeof got, "%s/%s", cp_str(p, p->sample_types[i].type),
                 cp_str(p, p->sample_types[i].unit));
        cr_assert_str_eq(got, want[i]);
    }
}

static const char *leaf_name(const cp_profile *p, const cp_sample *s)
{
    if (!s->nlocs)
        return "";
    const cp_location *l = &p->locations[s->locs[0]];
    if (!l->nlines || l->lines[0].func == CP_NO_FUNCTION)
        return "";
    return cp_str(p, p->functions[l->lines[0].func].name);
}

/* Sum value vi over samples whose leaf function is `fn`. */
static int64_t leaf_sum(const cp_profile *p, const char *fn, size_t vi)
{
    int64_t t = 0;
    for (size_t i = 0; i < p->nsamples; i++)
        if (strcmp(leaf_name(p, &p->samples[i]), fn) == 0)
            t += p->samples[i].values[vi];
    return t;
}

/* The same, only samples whose "bytes" label (Go's object size) is `size`:
 * the runtime sometimes makes a small allocation of its own inside one of
 * the oracle's functions (its runtime frames are trimmed, so the oracle's
 * function is the leaf), which must not spoil the exact sums. */
static int64_t sized_sum(const cp_profile *p, const char *fn, int64_t size, size_t vi)
{
    int64_t t = 0;
    for (size_t i = 0; i < p->nsamples; i++) {
        const cp_sample *s = &p->samples[i];
        if (strcmp(leaf_name(p, s), fn))
            continue;
        for (uint32_t k = 0; k < s->nlabels; k++)
            if (strcmp(cp_str(p, s->labels[k].key), "bytes") == 0 && s->labels[k].num == size)
                t += s->values[vi];
    }
    return t;
}

static bool has_function(const cp_profile *p, const char *fn)
{
    for (size_t i = 0; i < p->nfunctions; i++)
        if (strcmp(cp_str(p, p->functions[i].name), fn) == 0)
            return true;
    return false;
}

static size_t samples_with_label(const cp_profile *p, const char *key, const char *val)
{
    size_t n = 0;
    for (size_t i = 0; i < p->nsamples; i++)
        for (uint32_t k = 0; k < p->samples[i].nlabels; k++) {
            const cp_label *l = &p->samples[i].labels[k];
            n += strcmp(cp_str(p, l->key), key) == 0 && strcmp(cp_str(p, l->str), val) == 0;
        }
    return n;
}

Test(roundtrip, go_cpu_content)
{
    cp_profile *p = load("cpu.pb.gz");
    const char *t[] = {"samples/count", "cpu/nanoseconds"};
    expect_types(p, t, 2);
    cr_assert_str_eq(cp_str(p, p->period_type.type), "cpu");
    cr_assert_eq(p->period, 10000000);
    cr_assert_gt(p->duration_nanos, 0);
    cr_assert(has_function(p, "main.cpuHashA") && has_function(p, "main.cpuSortB"));
    cr_assert_gt(samples_with_label(p, "handler", "/api/a"), 0);
    cr_assert_gt(samples_with_label(p, "handler", "/api/b"), 0);
    cr_assert_gt(leaf_sum(p, "main.spin", 1), 0);
    cp_profile_free(p);
}

Test(roundtrip, go_heap_exact_at_rate_1)
{
    cp_profile *p = load("heap.pb.gz");
    const char *t[] = {"alloc_objects/count", "alloc_space/bytes", "inuse_objects/count",
                       "inuse_space/bytes"};
    expect_types(p, t, 4);
    cr_assert_str_eq(cp_str(p, p->default_sample_type), "");
    /* objects, bytes: alloc then in use */
    cr_assert_eq(sized_sum(p, "main.allocSmall", 64, 0), 1000);
    cr_assert_eq(sized_sum(p, "main.allocSmall", 64, 1), 64000);
    cr_assert_eq(sized_sum(p, "main.allocSmall", 64, 3), 64000);
    cr_assert_eq(sized_sum(p, "main.allocMedium", 4096, 2), 100);
    cr_assert_eq(sized_sum(p, "main.allocMedium", 4096, 3), 409600);
    cr_assert_eq(sized_sum(p, "main.allocLarge", 1 << 20, 2), 4);
    cr_assert_eq(sized_sum(p, "main.allocLarge", 1 << 20, 3), 4 << 20);
    cr_assert_eq(sized_sum(p, "main.allocGarbage", 512, 0), 2000);
    cr_assert_eq(sized_sum(p, "main.allocGarbage", 512, 1), 2000 * 512);
    cr_assert_eq(sized_sum(p, "main.allocGarbage", 512, 3), 0);
    /* whatever the runtime adds stays small next to the oracle's own */
    cr_assert_lt(leaf_sum(p, "main.allocLarge", 1) - (4 << 20), 4096);
    /* Go tags each heap sample with its object size as a numeric label */
    bool found = false;
    for (size_t i = 0; i < p->nsamples; i++) {
        const cp_sample *s = &p->samples[i];
        if (strcmp(leaf_name(p, s), "main.allocLarge") || s->values[2] != 4)
            continue;
        cr_assert_eq(s->nlabels, 1);
        cr_assert_str_eq(cp_str(p, s->labels[0].key), "bytes");
        cr_assert_eq(s->labels[0].num, 1 << 20);
        found = true;
    }
    cr_assert(found);
    cp_profile_free(p);
}

Test(roundtrip, go_lock_and_goroutine_content)
{
    const char *t[] = {"contentions/count", "delay/nanoseconds"};
    cp_profile *m = load("mutex.pb.gz"), *b = load("block.pb.gz");
    expect_types(m, t, 2);
    expect_types(b, t, 2);
    cr_assert(has_function(m, "main.lockHolder"));
    cr_assert(has_function(b, "main.chanReceiver"));
    cr_assert_gt(leaf_sum(b, "runtime.chanrecv1", 0), 0);
    cp_profile_free(m);
    cp_profile_free(b);

    cp_profile *g = load("goroutine.pb.gz");
    const char *tg[] = {"goroutine/count"};
    expect_types(g, tg, 1);
    int64_t parked = 0;
    for (size_t i = 0; i < g->nsamples; i++)
        for (uint32_t k = 0; k < g->samples[i].nlocs; k++) {
            const cp_location *l = &g->locations[g->samples[i].locs[k]];
            if (l->nlines && strcmp(cp_str(g, g->functions[l->lines[0].func].name),
                                    "main.parkedWorker") == 0) {
                parked += g->samples[i].values[0];
                break;
            }
        }
    cr_assert_eq(parked, 6, "six goroutines park in main.parkedWorker");
    cr_assert_eq(samples_with_label(g, "handler", "/api/a"), 1, "the three labelled ones share a sample");
    cp_profile_free(g);
}
