/* heap_check.c — assertions on heap profiles written by the tests.
 *
 *   heap_check exact PROFILE      rate-1 figures of heap_known, exactly
 *   heap_check estimate PROFILE   default-rate estimates of heap_known,
 *                                 each within 3 standard deviations
 *   heap_check cxx PROFILE        heap_cxx's operator new site, exactly
 *   heap_check totals PROFILE     print the four totals (one per line)
 *   heap_check sites PROFILE      print "LEAF a_obj a_bytes u_obj u_bytes"
 *                                 per innermost function
 *   heap_check site_frames PROFILE  the same per innermost site_* frame
 *   heap_check valid PROFILE      Go's heap sample types, period, labels
 *
 * Sites are found by the name of the innermost frame (or, for cxx, by a
 * caller under `operator new`).  Exit status 0 when every check holds;
 * each failure is printed.
 */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile/profile.h"

static int failures;

#define CHECK(cond, ...)                                                                   \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            printf("FAIL: " __VA_ARGS__);                                                  \
            printf("\n");                                                                  \
            failures++;                                                                    \
        }                                                                                  \
    } while (0)

static const char *frame_name(const cp_profile *p, const cp_location *l, uint32_t line)
{
    if (line >= l->nlines || l->lines[line].func == CP_NO_FUNCTION)
        return "";
    return cp_str(p, p->functions[l->lines[line].func].name);
}

static const char *leaf_name(const cp_profile *p, const cp_sample *s)
{
    if (s->nlocs == 0)
        return "";
    return frame_name(p, &p->locations[s->locs[0]], 0);
}

/* The innermost function of a sample, or with by_site its innermost frame
 * whose function is named site_* (the leaf when there is none). */
static const char *sample_site(const cp_profile *p, const cp_sample *s, bool by_site)
{
    for (uint32_t j = 0; by_site && j < s->nlocs; j++) {
        const cp_location *l = &p->locations[s->locs[j]];
        for (uint32_t k = 0; k < l->nlines; k++)
            if (strncmp(frame_name(p, l, k), "site_", 5) == 0)
                return frame_name(p, l, k);
    }
    return leaf_name(p, s);
}

typedef struct totals {
    int64_t v[4];
    int64_t label_bytes; /* the `bytes` label of the last sample seen, -1 none */
    int nsamples;
} totals;

static totals site_totals(const cp_profile *p, const char *leaf)
{
    totals t = {.label_bytes = -1};
    for (size_t i = 0; i < p->nsamples; i++) {
        const cp_sample *s = &p->samples[i];
        if (strcmp(leaf_name(p, s), leaf) != 0)
            continue;
        for (int k = 0; k < 4; k++)
            t.v[k] += s->values[k];
        for (uint32_t j = 0; j < s->nlabels; j++)
            if (strcmp(cp_str(p, s->labels[j].key), "bytes") == 0)
                t.label_bytes = s->labels[j].num;
        t.nsamples++;
    }
    return t;
}

static void check_valid(const cp_profile *p, bool want_names)
{
    static const char *names[4][2] = {{"alloc_objects", "count"}, {"alloc_space", "bytes"},
                                      {"inuse_objects", "count"}, {"inuse_space", "bytes"}};
    CHECK(p->nsample_types == 4, "%zu sample types, want 4", p->nsample_types);
    for (size_t i = 0; i < 4 && i < p->nsample_types; i++) {
        CHECK(strcmp(cp_str(p, p->sample_types[i].type), names[i][0]) == 0 &&
                  strcmp(cp_str(p, p->sample_types[i].unit), names[i][1]) == 0,
              "sample type %zu is %s/%s, want %s/%s", i, cp_str(p, p->sample_types[i].type),
              cp_str(p, p->sample_types[i].unit), names[i][0], names[i][1]);
    }
    CHECK(strcmp(cp_str(p, p->period_type.type), "space") == 0 &&
              strcmp(cp_str(p, p->period_type.unit), "bytes") == 0,
          "period type %s/%s, want space/bytes", cp_str(p, p->period_type.type),
          cp_str(p, p->period_type.unit));
    CHECK(p->period >= 1, "period %lld", (long long)p->period);
    CHECK(p->nmappings >= 1 || p->nsamples == 0, "samples but no mappings");
    size_t labelled = 0, named = 0, dropped = 0;
    for (size_t i = 0; i < p->nsamples; i++) {
        const cp_sample *s = &p->samples[i];
        if (strcmp(leaf_name(p, s), "cprof_lost_samples") == 0) {
            dropped++; /* the one sample without a size */
            continue;
        }
        for (uint32_t j = 0; j < s->nlabels; j++)
            if (strcmp(cp_str(p, s->labels[j].key), "bytes") == 0 && s->labels[j].str == 0)
                labelled++;
        if (*leaf_name(p, s))
            named++;
    }
    CHECK(labelled + dropped == p->nsamples, "%zu of %zu samples carry a numeric bytes label",
          labelled, p->nsamples);
    CHECK(dropped <= 1, "%zu dropped-sample samples", dropped);
    CHECK(!want_names || p->nsamples == 0 || named * 10 >= p->nsamples * 9,
          "only %zu of %zu samples have a named leaf frame", named, p->nsamples);
}

static void expect_exact(const cp_profile *p, const char *site, int64_t ao, int64_t ab,
                         int64_t io, int64_t ib, int64_t size)
{
    totals t = site_totals(p, site);
    int64_t want[4] = {ao, ab, io, ib};
    for (int k = 0; k < 4; k++)
        CHECK(t.v[k] == want[k], "%s: %s = %lld, want %lld", site,
              cp_str(p, p->sample_types[k].type), (long long)t.v[k], (long long)want[k]);
    CHECK(t.label_bytes == size, "%s: bytes label %lld, want %lld", site,
          (long long)t.label_bytes, (long long)size);
    printf("%-16s alloc %lld objects %lld bytes, in use %lld objects %lld bytes\n", site,
           (long long)t.v[0], (long long)t.v[1], (long long)t.v[2], (long long)t.v[3]);
}

/* The profiler's own allocations (the writer's builder, symbolizer, maps
 * reader) must never be sampled: no frame of cprof's code in any sample. */
static void no_own_frames(const cp_profile *p)
{
    for (size_t i = 0; i < p->nsamples; i++) {
        const cp_sample *s = &p->samples[i];
        for (uint32_t j = 0; j < s->nlocs; j++) {
            const cp_location *l = &p->locations[s->locs[j]];
            for (uint32_t k = 0; k < l->nlines; k++) {
                const char *n = frame_name(p, l, k);
                CHECK(strncmp(n, "cp_", 3) != 0 && strncmp(n, "cprof_", 6) != 0,
                      "sample %zu has cprof's own frame %s", i, n);
            }
        }
    }
}

static void exact(const cp_profile *p)
{
    CHECK(p->period == 1, "period %lld, want 1", (long long)p->period);
    no_own_frames(p);
    expect_exact(p, "site_small", 1000, 24000, 600, 14400, 24);
    expect_exact(p, "site_calloc", 50, 50000, 0, 0, 1000);
    expect_exact(p, "site_realloc_a", 10, 1000, 0, 0, 100);
    expect_exact(p, "site_realloc_b", 10, 10000, 10, 10000, 1000);
    expect_exact(p, "site_memalign", 20, 4000, 20, 4000, 200);
    expect_exact(p, "site_aligned", 5, 20480, 5, 20480, 4096);
    expect_exact(p, "site_big", 3, 3 << 20, 2, 2 << 20, 1 << 20);
    expect_exact(p, "site_thread", 4000, 192000, 0, 0, 48);
}

/* The estimate of a count N of objects of `size` bytes, each sampled with
 * probability q = 1 - exp(-size/rate): k/q with k ~ Binomial(N, q), so
 * sigma = sqrt(N (1-q) / q); bytes scale by size.  One object of slack
 * covers the truncation to integers. */
static double z_of(int64_t est, int64_t n, double unit, double q)
{
    double sigma = sqrt((double)n * (1 - q) / q) * unit;
    double diff = fabs((double)est - (double)n * unit);
    if (diff <= unit)
        return 0;
    return (diff - unit) / sigma;
}

static void expect_estimate(const cp_profile *p, const char *site, int64_t n_alloc,
                            int64_t n_inuse, int64_t size)
{
    double q = 1 - exp(-(double)size / (double)p->period);
    totals t = site_totals(p, site);
    double z[4] = {z_of(t.v[0], n_alloc, 1, q), z_of(t.v[1], n_alloc, (double)size, q),
                   z_of(t.v[2], n_inuse, 1, q), z_of(t.v[3], n_inuse, (double)size, q)};
    double sigma_a = sqrt((double)n_alloc * (1 - q) / q);
    double sigma_i = sqrt((double)n_inuse * (1 - q) / q);
    printf("%-12s alloc_objects %lld (true %lld, sigma %.1f, z %.2f)  inuse_objects %lld "
           "(true %lld, sigma %.1f, z %.2f)  alloc_space z %.2f  inuse_space z %.2f\n",
           site, (long long)t.v[0], (long long)n_alloc, sigma_a, z[0], (long long)t.v[2],
           (long long)n_inuse, sigma_i, z[2], z[1], z[3]);
    for (int k = 0; k < 4; k++)
        CHECK(z[k] <= 3.0, "%s: %s = %lld is %.2f sigma from the truth", site,
              cp_str(p, p->sample_types[k].type), (long long)t.v[k], z[k]);
}

static void estimate(const cp_profile *p)
{
    CHECK(p->period == 524288, "period %lld, want 524288", (long long)p->period);
    expect_estimate(p, "site_est_64", 4000000, 400000, 64);
    expect_estimate(p, "site_est_4k", 50000, 5000, 4096);
    expect_estimate(p, "site_est_1m", 300, 20, 1 << 20);
}

static void cxx(const cp_profile *p)
{
    int64_t v[4] = {0};
    for (size_t i = 0; i < p->nsamples; i++) {
        const cp_sample *s = &p->samples[i];
        if (strncmp(leaf_name(p, s), "operator new(", 13) != 0)
            continue;
        int caller = 0;
        for (uint32_t j = 1; j < s->nlocs && j < 4; j++) {
            const cp_location *l = &p->locations[s->locs[j]];
            for (uint32_t k = 0; k < l->nlines; k++)
                if (strstr(frame_name(p, l, k), "make_nodes"))
                    caller = 1;
        }
        if (!caller)
            continue;
        for (int k = 0; k < 4; k++)
            v[k] += s->values[k];
    }
    printf("operator new from make_nodes: alloc %lld objects %lld bytes, in use %lld "
           "objects %lld bytes\n", (long long)v[0], (long long)v[1], (long long)v[2],
           (long long)v[3]);
    CHECK(v[0] == 1000 && v[1] == 32000 && v[2] == 400 && v[3] == 12800,
          "operator new under make_nodes: want 1000/32000 allocated, 400/12800 in use");
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: heap_check exact|estimate|cxx|totals|sites|site_frames|valid PROFILE\n");
        return 2;
    }
    cp_profile *p = NULL;
    cp_diag diag = {{0}};
    int rc = cp_profile_read_file(argv[2], &p, &diag);
    if (rc) {
        printf("FAIL: %s: %s\n", argv[2], diag.msg);
        return 1;
    }
    const char *mode = argv[1];
    if (strcmp(mode, "sites") == 0 || strcmp(mode, "site_frames") == 0) {
        /* One line per innermost function (site_frames: per innermost
         * frame named site_*, else the innermost function): its four
         * values, summed. */
        bool by_site = strcmp(mode, "site_frames") == 0;
        for (size_t i = 0; i < p->nsamples; i++) {
            const char *leaf = sample_site(p, &p->samples[i], by_site);
            bool seen = false;
            for (size_t j = 0; j < i && !seen; j++)
                seen = strcmp(sample_site(p, &p->samples[j], by_site), leaf) == 0;
            if (seen)
                continue;
            int64_t v[4] = {0};
            for (size_t j = i; j < p->nsamples; j++)
                if (strcmp(sample_site(p, &p->samples[j], by_site), leaf) == 0)
                    for (int k = 0; k < 4; k++)
                        v[k] += p->samples[j].values[k];
            printf("%s %lld %lld %lld %lld\n", *leaf ? leaf : "?", (long long)v[0],
                   (long long)v[1], (long long)v[2], (long long)v[3]);
        }
    } else if (strcmp(mode, "totals") == 0) {
        int64_t t[4] = {0};
        for (size_t i = 0; i < p->nsamples; i++)
            for (int k = 0; k < 4 && k < (int)p->nsample_types; k++)
                t[k] += p->samples[i].values[k];
        for (int k = 0; k < 4; k++)
            printf("%lld\n", (long long)t[k]);
    } else {
        check_valid(p, strcmp(mode, "valid") != 0);
        if (strcmp(mode, "exact") == 0)
            exact(p);
        else if (strcmp(mode, "estimate") == 0)
            estimate(p);
        else if (strcmp(mode, "cxx") == 0)
            cxx(p);
        else if (strcmp(mode, "valid") != 0) {
            fprintf(stderr, "heap_check: unknown mode %s\n", mode);
            failures++;
        }
    }
    cp_profile_free(p);
    if (failures)
        printf("%d check(s) failed\n", failures);
    return failures ? 1 : 0;
}
