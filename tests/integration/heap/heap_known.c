/* heap_known.c — a program whose allocations are known exactly.
 *
 * Each site is a separate noinline function, so the heap profile's leaf
 * frame names the site.  `exact` mode is run at CPROF_HEAP_RATE=1 and its
 * figures are checked exactly by heap_check; `estimate` mode makes enough
 * allocations for the default rate's estimates to be checked against their
 * standard deviation.  The expected figures live in heap_check.c; keep the
 * two in step.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SITE __attribute__((noinline))

static void *keep[500000];
static size_t nkeep;
static volatile unsigned long sink;

static void hold(void *p)
{
    if (!p)
        abort();
    sink += (unsigned long)(uintptr_t)p;
    keep[nkeep++] = p;
}

/* Named allocation sites, global so the profile keeps their names. */
void *site_small(void), *site_calloc(void), *site_realloc_a(void), *site_realloc_b(void *p),
    *site_memalign(void), *site_aligned(void), *site_big(void), *site_thread(void),
    *site_est_64(void), *site_est_4k(void), *site_est_1m(void);

SITE void *site_small(void) { return malloc(24); }
SITE void *site_calloc(void) { return calloc(10, 100); }
SITE void *site_realloc_a(void) { return malloc(100); }
SITE void *site_realloc_b(void *p) { return realloc(p, 1000); }
SITE void *site_memalign(void)
{
    void *p = NULL;
    if (posix_memalign(&p, 64, 200) != 0)
        return NULL;
    return p;
}
SITE void *site_aligned(void) { return aligned_alloc(4096, 4096); }
SITE void *site_big(void) { return malloc(1 << 20); }
SITE void *site_thread(void) { return malloc(48); }
SITE void *site_est_64(void) { return malloc(64); }
SITE void *site_est_4k(void) { return malloc(4096); }
SITE void *site_est_1m(void) { return malloc(1 << 20); }

static void *thread_main(void *arg)
{
    (void)arg;
    void *ps[1000];
    for (int i = 0; i < 1000; i++)
        ps[i] = site_thread();
    for (int i = 0; i < 1000; i++)
        free(ps[i]);
    return NULL;
}

static void exact(void)
{
    void *tmp[1000];
    for (int i = 0; i < 1000; i++)
        tmp[i] = site_small();
    for (int i = 0; i < 1000; i++) {
        if (i < 400)
            free(tmp[i]);
        else
            hold(tmp[i]);
    }
    for (int i = 0; i < 50; i++) {
        char *p = site_calloc();
        for (int j = 0; j < 1000; j++)
            if (p[j])
                abort();
        memset(p, 0xab, 1000);
        free(p);
    }
    for (int i = 0; i < 10; i++) {
        char *p = site_realloc_a();
        memset(p, i, 100);
        char *q = site_realloc_b(p);
        if (q[99] != (char)i)
            abort();
        hold(q);
    }
    for (int i = 0; i < 20; i++) {
        void *p = site_memalign();
        if ((uintptr_t)p % 64)
            abort();
        hold(p);
    }
    for (int i = 0; i < 5; i++) {
        void *p = site_aligned();
        if ((uintptr_t)p % 4096)
            abort();
        hold(p);
    }
    for (int i = 0; i < 3; i++) {
        void *p = site_big();
        memset(p, 1, 1 << 20);
        if (i == 0)
            free(p);
        else
            hold(p);
    }
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, thread_main, NULL);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
}

static void estimate(void)
{
    /* Enough small objects for ~500 samples allocated and ~50 in use, so
     * the count's distribution is close to normal. */
    for (int i = 0; i < 4000000; i++) {
        void *p = site_est_64();
        sink += (unsigned long)(uintptr_t)p;
        if (i % 10 == 0) /* 400000 kept */
            hold(p);
        else
            free(p);
    }
    for (int i = 0; i < 50000; i++) {
        void *p = site_est_4k();
        if (i % 10 == 0) /* 5000 kept */
            hold(p);
        else
            free(p);
    }
    for (int i = 0; i < 300; i++) {
        void *p = site_est_1m();
        if (i % 15 == 0) /* 20 kept */
            hold(p);
        else
            free(p);
    }
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "estimate") == 0)
        estimate();
    else
        exact();
    printf("kept %zu\n", nkeep);
    return 0;
}
