/* test_heap.c — unit tests of the heap profiler's core: Go's unbiasing
 * arithmetic, the sampled-block region, the Poisson sampler's rate, and
 * the interposers' bookkeeping (exact at rate 1).  Tests that need the
 * malloc interposers are skipped in sanitizer builds, where the sanitizer
 * owns malloc and the interposers are not built.
 */
#include <criterion/criterion.h>
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collect/heap.h"
#include "cprof.h"
#include "profile/profile.h"

#ifdef CP_HEAP_NO_INTERPOSE
#define NEED_INTERPOSERS() cr_skip_test("malloc interposers are not built with sanitizers")
#else
#define NEED_INTERPOSERS() ((void)0)
#endif

Test(heap_scale, go_test_values)
{
    /* Go's runtime/pprof TestMemProfile-era values: rate 524288, 4 objects
     * of 1024 bytes allocated, 1 freed. */
    int64_t c, b;
    cp_heap_scale(4, 4096, 524288, &c, &b);
    cr_assert_eq(c, 2050);
    cr_assert_eq(b, 2099200);
    cp_heap_scale(4 - 1, 4096 - 1024, 524288, &c, &b);
    cr_assert_eq(c, 1537);
    cr_assert_eq(b, 1574400);
}

Test(heap_scale, rate_one_and_empty)
{
    int64_t c, b;
    cp_heap_scale(7, 700, 1, &c, &b);
    cr_assert(c == 7 && b == 700);
    cp_heap_scale(0, 0, 524288, &c, &b);
    cr_assert(c == 0 && b == 0);
    /* Zero-size objects are objects (Go drops them): sampled as 1-byte
     * requests, so unbiased by 1 / (1 - exp(-1/rate)); exact at rate 1. */
    cp_heap_scale(3, 0, 1, &c, &b);
    cr_assert(c == 3 && b == 0);
    cp_heap_scale(3, 0, 524288, &c, &b);
    cr_assert(c == (int64_t)(3 / (1 - exp(-1.0 / 524288))) && b == 0, "c=%lld", (long long)c);
    cr_assert(c >= 3 * 524288 && c <= 3 * 524289, "c=%lld", (long long)c);
    /* Objects much larger than the rate are sampled surely: no scaling. */
    cp_heap_scale(2, (int64_t)2 << 30, 524288, &c, &b);
    cr_assert(c == 2 && b == (int64_t)2 << 30);
}

Test(heap_region, alignment_lookup_reuse)
{
    cr_assert_eq(cp_heap_region_init(), 0);
    cr_assert(cp_heap_region_bytes >= (256u << 20));
    cr_assert_eq(cp_heap_region_base % CP_HEAP_MAX_ALIGN, 0);
    size_t sizes[] = {0, 1, 16, 17, 100, 4000, 65536, 100000, 3 << 20};
    size_t aligns[] = {16, 32, 64, 4096, 65536, CP_HEAP_MAX_ALIGN};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        for (size_t j = 0; j < sizeof aligns / sizeof *aligns; j++) {
            void *user = NULL;
            bool fresh_zero = false;
            void *block = cp_heap_region_alloc(sizes[i], aligns[j], &user, &fresh_zero);
            cr_assert_not_null(block, "size %zu align %zu", sizes[i], aligns[j]);
            cr_assert(cp_heap_is_sampled(user) && cp_heap_is_sampled(block));
            cr_assert_eq((uintptr_t)user % aligns[j], 0);
            cr_assert((char *)user - (char *)block >= 16, "room for the header");
            size_t bytes = 0;
            cr_assert_eq(cp_heap_region_block(user, &bytes), block);
            cr_assert((char *)user + sizes[i] <= (char *)block + bytes);
            /* Any pointer inside the block finds it too. */
            if (sizes[i])
                cr_assert_eq(cp_heap_region_block((char *)user + sizes[i] - 1, NULL), block);
            memset(user, 0x5a, sizes[i]);
            cp_heap_region_free(block);
            /* The same class hands the block out again (LIFO free list). */
            void *user2 = NULL;
            bool zeroed = false;
            cr_assert_eq(cp_heap_region_alloc(sizes[i], aligns[j], &user2, &zeroed), block);
            /* Small blocks and retained large ones are reused dirty. */
            cr_assert(!zeroed || bytes >= 65536);
            if (zeroed) {
                for (size_t k = 0; k < sizes[i]; k++)
                    cr_assert_eq(((unsigned char *)user2)[k], 0, "byte %zu not zero", k);
            }
            cp_heap_region_free(block);
        }
    }
    cr_assert_eq(cp_heap_region_used(), 0);
}

Test(heap_region, large_blocks_retained_then_returned)
{
    cr_assert_eq(cp_heap_region_init(), 0);
    /* 40 blocks of 4 MiB: the first 64 MiB of frees stay resident (reused
     * dirty), the rest go back to the kernel (reused zeroed). */
    void *blocks[40];
    for (int i = 0; i < 40; i++) {
        void *user;
        bool zeroed;
        blocks[i] = cp_heap_region_alloc(3 << 20, 16, &user, &zeroed);
        cr_assert_not_null(blocks[i]);
        cr_assert(zeroed, "fresh blocks read as zero");
        memset(user, 0x77, 3 << 20);
    }
    for (int i = 0; i < 40; i++)
        cp_heap_region_free(blocks[i]);
    cr_assert_eq(cp_heap_region_retained(), (size_t)64 << 20);
    int dirty = 0, clean = 0;
    for (int i = 0; i < 40; i++) {
        void *user;
        bool zeroed;
        cr_assert_not_null(cp_heap_region_alloc(3 << 20, 16, &user, &zeroed));
        if (zeroed) {
            clean++;
            for (size_t k = 0; k < (3u << 20); k += 4093)
                cr_assert_eq(((unsigned char *)user)[k], 0);
        } else {
            dirty++;
            cr_assert_eq(((unsigned char *)user)[12345], 0x77);
        }
    }
    cr_assert(dirty == 16 && clean == 24, "dirty %d clean %d", dirty, clean);
    cr_assert_eq(cp_heap_region_retained(), 0);
}

Test(heap_region, refuses_what_it_cannot_hold)
{
    cr_assert_eq(cp_heap_region_init(), 0);
    void *user;
    cr_assert_null(cp_heap_region_alloc(100, CP_HEAP_MAX_ALIGN * 2, &user, NULL));
    cr_assert_null(cp_heap_region_alloc(cp_heap_region_bytes, 16, &user, NULL));
    cr_assert(!cp_heap_is_sampled(NULL));
    int local;
    cr_assert(!cp_heap_is_sampled(&local));
}

__attribute__((noinline)) static void *unit_site_a(size_t n)
{
    void *p = malloc(n);
    __asm__ volatile("" : : "r"(p) : "memory");
    return p;
}

__attribute__((noinline)) static void *unit_site_b(size_t n)
{
    void *p = calloc(1, n);
    __asm__ volatile("" : : "r"(p) : "memory");
    return p;
}

typedef struct tot {
    int64_t v[4];
} tot;

/* Totals of the samples whose innermost frame is function `fn` (the
 * profile is symbolized from this test binary's DWARF). */
static tot totals_for(const cp_profile *p, const char *fn, int64_t size)
{
    tot t = {{0}};
    for (size_t i = 0; i < p->nsamples; i++) {
        const cp_sample *s = &p->samples[i];
        if (!s->nlocs)
            continue;
        const cp_location *l = &p->locations[s->locs[0]];
        if (!l->nlines || l->lines[0].func == CP_NO_FUNCTION ||
            strcmp(cp_str(p, p->functions[l->lines[0].func].name), fn) != 0)
            continue;
        int64_t bytes = -1;
        for (uint32_t j = 0; j < s->nlabels; j++)
            if (strcmp(cp_str(p, s->labels[j].key), "bytes") == 0)
                bytes = s->labels[j].num;
        cr_assert_eq(bytes, size);
        for (int k = 0; k < 4; k++)
            t.v[k] += s->values[k];
    }
    return t;
}

Test(heap_sampling, rate_one_is_exact)
{
    NEED_INTERPOSERS();
    cr_assert_eq(cp_heap_start_seeded(1, 7), 0);
    cr_assert_eq(cprof_heap_running(), 1);
    cr_assert_eq(cprof_heap_start(1), CPROF_EBUSY);
    void *keep[300];
    for (int i = 0; i < 300; i++)
        keep[i] = unit_site_a(40);
    for (int i = 0; i < 100; i++)
        free(keep[i]);
    for (int i = 0; i < 50; i++) {
        unsigned char *q = unit_site_b(5000);
        for (int k = 0; k < 5000; k++)
            cr_assert_eq(q[k], 0);
        memset(q, 0xff, 5000);
        free(q);
    }
    cr_assert(cp_heap_is_sampled(keep[150]));
    cr_assert_eq(malloc_usable_size(keep[150]) >= 40, 1);
    cp_profile *p = NULL;
    cr_assert_eq(cp_heap_profile(false, true, &p), 0);
    tot a = totals_for(p, "unit_site_a", 40);
    tot b = totals_for(p, "unit_site_b", 5000);
    cr_assert(a.v[0] == 300 && a.v[1] == 12000 && a.v[2] == 200 && a.v[3] == 8000,
              "site a: %lld %lld %lld %lld", (long long)a.v[0], (long long)a.v[1],
              (long long)a.v[2], (long long)a.v[3]);
    cr_assert(b.v[0] == 50 && b.v[1] == 250000 && b.v[2] == 0 && b.v[3] == 0);
    cr_assert_eq(p->period, 1);
    cp_profile_free(p);
    for (int i = 100; i < 300; i++)
        free(keep[i]);
    cr_assert_eq(cprof_heap_stop(), 0);
    cr_assert_eq(cprof_heap_stop(), CPROF_ENOTRUNNING);
}

__attribute__((noinline)) static void *unit_site_zero(int how)
{
    void *p = how == 0 ? malloc(0) : how == 1 ? calloc(0, 7) : realloc(NULL, 0);
    __asm__ volatile("" : : "r"(p) : "memory");
    return p;
}

Test(heap_sampling, zero_size_objects_count)
{
    NEED_INTERPOSERS();
    cr_assert_eq(cp_heap_start_seeded(1, 11), 0);
    void *keep[10];
    for (int i = 0; i < 10; i++) {
        keep[i] = unit_site_zero(i % 3);
        cr_assert(keep[i] != NULL);
        cr_assert(cp_heap_is_sampled(keep[i]), "a 0-byte request is sampled at rate 1");
    }
    for (int i = 0; i < 4; i++)
        free(keep[i]);
    cp_profile *p = NULL;
    cr_assert_eq(cp_heap_profile(false, true, &p), 0);
    tot z = totals_for(p, "unit_site_zero", 0);
    cr_assert(z.v[0] == 10 && z.v[1] == 0 && z.v[2] == 6 && z.v[3] == 0,
              "zero-size site: %lld %lld %lld %lld", (long long)z.v[0], (long long)z.v[1],
              (long long)z.v[2], (long long)z.v[3]);
    cp_profile_free(p);
    for (int i = 4; i < 10; i++)
        free(keep[i]);
    cprof_heap_stop();
}

Test(heap_sampling, poisson_rate)
{
    NEED_INTERPOSERS();
    /* 200000 allocations of 100 bytes at rate 4096: each is sampled with
     * q = 1 - exp(-100/4096); the count is Binomial(N, q): mean 4824,
     * sigma 68.6.  Seeded, so the run is reproducible. */
    cr_assert_eq(cp_heap_start_seeded(4096, 12345), 0);
    for (int i = 0; i < 200000; i++)
        free(unit_site_a(100));
    cprof_heap_stop();
    cp_profile *p = NULL;
    cr_assert_eq(cp_heap_profile(false, true, &p), 0);
    tot a = totals_for(p, "unit_site_a", 100);
    double q = 1 - exp(-100.0 / 4096), n = 200000;
    double sigma = sqrt(n * (1 - q) / q);
    /* Unbiased estimate of N within 3 sigma; all freed. */
    cr_assert(fabs((double)a.v[0] - n) <= 3 * sigma, "estimate %lld, sigma %.0f",
              (long long)a.v[0], sigma);
    cr_assert_eq(a.v[2], 0);
    cp_profile_free(p);
}

Test(heap_sampling, stop_keeps_frees_right)
{
    NEED_INTERPOSERS();
    cr_assert_eq(cp_heap_start_seeded(1, 3), 0);
    char *p = unit_site_a(64);
    cr_assert(cp_heap_is_sampled(p));
    memcpy(p, "hello", 6);
    cr_assert_eq(cprof_heap_stop(), 0);
    char *q = malloc(64);
    cr_assert(!cp_heap_is_sampled(q), "no sampling after stop");
    free(q);
    p = realloc(p, 100000); /* a sampled block moves out to glibc */
    cr_assert(!cp_heap_is_sampled(p));
    cr_assert_str_eq(p, "hello");
    free(p);
    cp_profile *prof = NULL;
    cr_assert_eq(cp_heap_profile(false, true, &prof), 0);
    tot a = totals_for(prof, "unit_site_a", 64);
    cr_assert(a.v[0] == 1 && a.v[2] == 0, "freed after stop: %lld in use", (long long)a.v[2]);
    cp_profile_free(prof);
}

Test(heap_sampling, big_blocks_stay_in_glibc)
{
    NEED_INTERPOSERS();
    cr_assert_eq(cp_heap_start_seeded(1, 5), 0);
    enum { N = 300 };
    void *big[N];
    for (int i = 0; i < N; i++) {
        big[i] = unit_site_a(CP_HEAP_BIG + 4096);
        cr_assert(!cp_heap_is_sampled(big[i]), "big blocks are glibc's");
        cr_assert(cp_heap_maybe_big(big[i]));
    }
    cr_assert_eq(cp_heap_big_live, N);
    /* Free in a scrambled order (exercises the table's deletion). */
    for (int k = 0; k < N; k++) {
        int i = (k * 7) % N;
        if (i % 3 == 0)
            free(big[i]);
    }
    cr_assert_eq(cp_heap_big_live, N - N / 3);
    /* realloc of a big sampled block: a free and a new allocation. */
    big[1] = realloc(big[1], 100);
    cr_assert_eq(cp_heap_big_live, N - N / 3 - 1);
    unsigned char *z = unit_site_b(CP_HEAP_BIG * 2); /* calloc: zeroed */
    for (size_t k = 0; k < CP_HEAP_BIG * 2; k += 1000)
        cr_assert_eq(z[k], 0);
    free(z);
    cp_profile *p = NULL;
    cr_assert_eq(cp_heap_profile(false, true, &p), 0);
    tot a = totals_for(p, "unit_site_a", CP_HEAP_BIG + 4096);
    cr_assert(a.v[0] == N && a.v[2] == N - N / 3 - 1, "allocated %lld, in use %lld",
              (long long)a.v[0], (long long)a.v[2]);
    cp_profile_free(p);
    for (int i = 0; i < N; i++)
        if (i % 3 != 0)
            free(big[i]);
    cr_assert_eq(cp_heap_big_live, 0);
    cprof_heap_stop();
}

Test(heap_write, fd_and_path)
{
    NEED_INTERPOSERS();
    cr_assert_eq(cp_heap_start_seeded(1, 9), 0);
    void *keep = unit_site_a(1234);
    char path[] = "/tmp/cprof-heap-unit-XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    cr_assert_eq(cprof_heap_write_fd(fd), 0);
    close(fd);
    cp_profile *p = NULL;
    cp_diag d = {{0}};
    cr_assert_eq(cp_profile_read_file(path, &p, &d), 0, "%s", d.msg);
    cr_assert_eq(p->nsample_types, 4);
    cr_assert_str_eq(cp_str(p, p->sample_types[3].type), "inuse_space");
    cr_assert_str_eq(cp_str(p, p->default_sample_type), "inuse_space");
    int found = 0;
    for (size_t i = 0; i < p->nsamples; i++)
        for (uint32_t j = 0; j < p->samples[i].nlabels; j++)
            if (p->samples[i].labels[j].num == 1234 && p->samples[i].values[3] == 1234)
                found = 1;
    cr_assert(found, "the 1234-byte block is in use in the profile");
    cp_profile_free(p);
    char pattern[64];
    snprintf(pattern, sizeof pattern, "%s.%%p", path);
    cr_assert_eq(cprof_heap_write(pattern), 0);
    char expanded[80];
    snprintf(expanded, sizeof expanded, "%s.%ld", path, (long)getpid());
    cr_assert_eq(access(expanded, R_OK), 0, "%%p expands to the pid");
    unlink(expanded);
    unlink(path);
    cr_assert_eq(cprof_heap_write(""), CPROF_EINVAL);
    /* The writes above allocated plenty (builder, maps, symbolizer) at rate
     * 1: none of it may have been sampled. */
    cr_assert_eq(cp_heap_profile(false, true, &p), 0);
    size_t frames = 0;
    for (size_t i = 0; i < p->nsamples; i++)
        for (uint32_t j = 0; j < p->samples[i].nlocs; j++) {
            const cp_location *l = &p->locations[p->samples[i].locs[j]];
            for (uint32_t k = 0; k < l->nlines; k++) {
                const char *n = l->lines[k].func == CP_NO_FUNCTION ? ""
                                : cp_str(p, p->functions[l->lines[k].func].name);
                /* Every allocation the writer makes has one of these on
                 * its stack (the test's own decoding does not count). */
                cr_assert(strcmp(n, "cprof_heap_write") != 0 &&
                              strcmp(n, "cprof_heap_write_fd") != 0 &&
                              strcmp(n, "cp_heap_write_path") != 0 &&
                              strcmp(n, "write_profile") != 0 &&
                              strcmp(n, "cp_output_write") != 0 &&
                              strcmp(n, "cp_output_symbolize") != 0 &&
                              strcmp(n, "cp_heap_profile") != 0 && strcmp(n, "build") != 0,
                          "the writer's allocation under %s was sampled", n);
                frames++;
            }
        }
    cr_assert(frames > 0, "the profile is symbolized");
    cp_profile_free(p);
    free(keep);
    cprof_heap_stop();
}
