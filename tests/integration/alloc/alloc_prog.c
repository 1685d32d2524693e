/* alloc_prog.c — a known set of allocations, built once per allocator
 * (glibc, jemalloc, tcmalloc, mimalloc) for the "any allocator" tests.
 *
 *   alloc_prog sizes   print malloc_usable_size of fresh blocks of several
 *                      sizes: the allocator's own size classes, so the
 *                      output tells which allocator served them
 *   alloc_prog run     allocate from known sites (exact counts at rate 1,
 *                      see run.sh), checking every block (alignment,
 *                      zeroing, contents kept by realloc, usable size);
 *                      print "ok" and a checksum, or what failed
 *
 * Every site is a noinline function, so it is the innermost frame of its
 * allocations' stacks.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SITE __attribute__((noinline))
#define KEEP(p) __asm__ volatile("" : : "r"(p) : "memory")

static int failures;
static uint64_t sum;

#define CHECK(cond, ...)                                                                   \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            printf("FAIL %s:%d: ", __func__, __LINE__);                                    \
            printf(__VA_ARGS__);                                                           \
            printf("\n");                                                                  \
            failures++;                                                                    \
        }                                                                                  \
    } while (0)

static void pattern(void *p, size_t n, unsigned seed)
{
    unsigned char *c = p;
    for (size_t i = 0; i < n; i++)
        c[i] = (unsigned char)(seed + i * 7);
}

/* Fill a block with a pattern and account for it (main thread only). */
static void fill(void *p, size_t n, unsigned seed)
{
    pattern(p, n, seed);
    sum = sum * 31 + n + seed;
}

static int filled(const void *p, size_t n, unsigned seed)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++)
        if (c[i] != (unsigned char)(seed + i * 7))
            return 0;
    return 1;
}

static void usable_ok(void *p, size_t n)
{
    size_t u = malloc_usable_size(p);
    CHECK(u >= n, "malloc_usable_size %zu < %zu", u, n);
    /* The whole usable size is the program's to write. */
    memset((char *)p + n, 0x5a, u - n);
}

static void *small[1000];

SITE static void site_malloc(void **v, int count, size_t n)
{
    for (int i = 0; i < count; i++) {
        v[i] = malloc(n);
        CHECK(v[i] != NULL, "malloc(%zu)", n);
        usable_ok(v[i], n);
        fill(v[i], n, (unsigned)i);
    }
}

SITE static void *site_calloc(size_t nmemb, size_t size)
{
    unsigned char *p = calloc(nmemb, size);
    CHECK(p != NULL, "calloc");
    for (size_t i = 0; i < nmemb * size; i++)
        if (p[i]) {
            CHECK(0, "calloc block not zeroed at %zu", i);
            break;
        }
    usable_ok(p, nmemb * size);
    return p;
}

SITE static void *site_realloc(int steps)
{
    unsigned char *p = NULL;
    size_t have = 0;
    for (int i = 1; i <= steps; i++) {
        size_t n = 64 * (size_t)i;
        p = realloc(p, n);
        CHECK(p != NULL, "realloc(%zu)", n);
        CHECK(filled(p, have, 1), "realloc lost contents at step %d", i);
        fill(p, n, 1);
        have = n;
    }
    return p;
}

SITE static void *site_memalign(size_t align, size_t n)
{
    void *p = memalign(align, n);
    CHECK(p && (uintptr_t)p % align == 0, "memalign(%zu, %zu) = %p", align, n, p);
    usable_ok(p, n);
    return p;
}

SITE static void *site_posix(size_t align, size_t n)
{
    void *p = NULL;
    int rc = posix_memalign(&p, align, n);
    CHECK(rc == 0 && (uintptr_t)p % align == 0, "posix_memalign(%zu, %zu) = %d", align, n, rc);
    usable_ok(p, n);
    return p;
}

SITE static void *site_aligned(size_t align, size_t n)
{
    void *p = aligned_alloc(align, n);
    CHECK(p && (uintptr_t)p % align == 0, "aligned_alloc(%zu, %zu)", align, n);
    usable_ok(p, n);
    return p;
}

SITE static void *site_valloc(size_t n)
{
    void *p = valloc(n);
    CHECK(p && (uintptr_t)p % (uintptr_t)getpagesize() == 0, "valloc(%zu)", n);
    usable_ok(p, n);
    return p;
}

SITE static void *site_zero(void)
{
    void *p = malloc(0);
    CHECK(p != NULL, "malloc(0)");
    return p;
}

SITE static void *site_big(size_t n)
{
    void *p = malloc(n);
    CHECK(p != NULL, "malloc(%zu)", n);
    fill(p, n, 9);
    return p;
}

/* An alignment the profiler's region cannot serve (above 2 MiB). */
SITE static void *site_huge_align(void)
{
    void *p = NULL;
    int rc = posix_memalign(&p, (size_t)4 << 20, 100);
    CHECK(rc == 0 && (uintptr_t)p % ((size_t)4 << 20) == 0, "posix_memalign(4 MiB)");
    return p;
}

/* realloc(p, 0) is the allocator's call: glibc, jemalloc and tcmalloc free p and
 * return NULL, mimalloc returns a fresh block.  Printed, so a sampled p
 * (rate 1) must behave as the allocator does. */
SITE static const char *site_realloc0(void)
{
    char *p = malloc(10);
    CHECK(p != NULL, "malloc(10)");
    char *q = realloc(p, 0);
    const char *what = q ? "block" : "NULL";
    free(q);
    return what;
}

SITE static void *site_thread_alloc(size_t n)
{
    void *p = malloc(n);
    KEEP(p);
    return p;
}

static void *thread_main(void *arg)
{
    void *v[500];
    unsigned seed = (unsigned)(uintptr_t)arg;
    for (int i = 0; i < 500; i++) {
        v[i] = site_thread_alloc(48);
        pattern(v[i], 48, seed + (unsigned)i);
    }
    int bad = 0;
    for (int i = 0; i < 500; i++) {
        bad += !filled(v[i], 48, seed + (unsigned)i);
        free(v[i]);
    }
    return (void *)(uintptr_t)bad;
}

static void sizes(void)
{
    static const size_t ns[] = {1, 24, 100, 200, 700, 1000, 3000, 5000, 20000, 40000};
    for (size_t i = 0; i < sizeof ns / sizeof *ns; i++) {
        void *p = malloc(ns[i]);
        printf("%zu %zu\n", ns[i], malloc_usable_size(p));
        free(p);
    }
}

static void run(void)
{
    site_malloc(small, 1000, 24);
    for (int i = 0; i < 400; i++) {
        CHECK(filled(small[i], 24, (unsigned)i), "block %d overwritten", i);
        free(small[i]);
    }
    void *c[200];
    for (int i = 0; i < 200; i++)
        c[i] = site_calloc(3, 40);
    void *r = site_realloc(50);
    void *m[30], *pm[20], *al[10], *va[3], *z[7], *big[5];
    for (int i = 0; i < 30; i++)
        m[i] = site_memalign(64, 200);
    for (int i = 0; i < 20; i++)
        pm[i] = site_posix(256, 1000);
    for (int i = 0; i < 10; i++)
        al[i] = site_aligned(4096, 8192);
    for (int i = 0; i < 3; i++)
        va[i] = site_valloc(100);
    for (int i = 0; i < 7; i++)
        z[i] = site_zero();
    for (int i = 0; i < 5; i++)
        big[i] = site_big((size_t)1 << 20);
    void *huge = site_huge_align();
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        CHECK(pthread_create(&th[i], NULL, thread_main, (void *)(uintptr_t)(i * 1000)) == 0,
              "pthread_create");
    for (int i = 0; i < 4; i++) {
        void *bad;
        pthread_join(th[i], &bad);
        CHECK(bad == NULL, "thread %d: %d blocks overwritten", i, (int)(uintptr_t)bad);
    }
    /* Argument errors are the allocator's to report. */
    void *q = (void *)1;
    CHECK(posix_memalign(&q, 24, 10) == EINVAL && q == (void *)1, "posix_memalign(24)");
    volatile size_t huge_n = SIZE_MAX;
    errno = 0;
    CHECK(malloc(huge_n) == NULL, "malloc(SIZE_MAX)");
    CHECK(calloc(huge_n / 2, 3) == NULL, "calloc overflow");
    for (int i = 0; i < 5; i++)
        CHECK(filled(big[i], (size_t)1 << 20, 9), "big block %d overwritten", i);
    /* Freed and kept in use by design (exact in-use figures at rate 1):
     * small[400..999], c, r, m, pm, al, va, z, big, huge. */
    KEEP(r);
    KEEP(huge);
    KEEP(m);
    KEEP(pm);
    KEEP(al);
    KEEP(va);
    KEEP(z);
    KEEP(c);
    printf("realloc(p, 0) gives %s\n", site_realloc0());
    printf("%s %016llx\n", failures ? "FAILED" : "ok", (unsigned long long)sum);
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "sizes") == 0)
        sizes();
    else if (argc == 2 && strcmp(argv[1], "run") == 0)
        run();
    else {
        fprintf(stderr, "usage: alloc_prog sizes|run\n");
        return 2;
    }
    return failures ? 1 : 0;
}
