/* alloc_check.c — a program linked with another allocator (jemalloc with
 * -DUSE_JEMALLOC, tcmalloc with -DUSE_TCMALLOC) that checks the allocator it
 * was linked with really serves its malloc-family calls: the allocator's own
 * statistics must grow by what the program holds (unless the heap profiler
 * samples nearly every block, see below).  Under the profiler preloaded, a
 * malloc sent to glibc while malloc_usable_size reaches the linked
 * allocator crashes or says "no" here.
 *
 * Output is deterministic: fixed sizes, fixed contents, a checksum.  Two
 * threads free each other's blocks, as servers do. */
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(USE_JEMALLOC)
#include <jemalloc/jemalloc.h>
#define ALLOCATOR "jemalloc"
static size_t held_bytes(void)
{
    uint64_t epoch = 1;
    size_t sz = sizeof epoch;
    mallctl("epoch", &epoch, &sz, &epoch, sz); /* refresh the statistics */
    size_t allocated = 0;
    sz = sizeof allocated;
    if (mallctl("stats.allocated", &allocated, &sz, NULL, 0) != 0)
        return 0;
    return allocated;
}
#elif defined(USE_TCMALLOC)
#include <gperftools/malloc_extension_c.h>
#define ALLOCATOR "tcmalloc"
static size_t held_bytes(void)
{
    size_t v = 0;
    if (!MallocExtension_GetNumericProperty("generic.current_allocated_bytes", &v))
        return 0;
    return v;
}
#else
#error "build with -DUSE_JEMALLOC or -DUSE_TCMALLOC"
#endif

enum { NBLOCKS = 2000, BLOCK = 8000 };
static unsigned char *blocks[NBLOCKS];

static uint32_t mix(uint32_t h, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

/* Allocate in one thread, free in another. */
static void *producer(void *arg)
{
    void **out = arg;
    for (int i = 0; i < 5000; i++) {
        out[i] = malloc((size_t)(i % 300) + 1);
        memset(out[i], i & 0xff, (size_t)(i % 300) + 1);
    }
    return NULL;
}

int main(void)
{
    int bad = 0;
    size_t before = held_bytes();
    for (int i = 0; i < NBLOCKS; i++) {
        blocks[i] = malloc(BLOCK);
        if (!blocks[i])
            return 2;
        memset(blocks[i], i & 0xff, BLOCK);
        if (malloc_usable_size(blocks[i]) < BLOCK)
            bad++;
    }
    size_t during = held_bytes();
    /* Half of what the program holds: the heap profiler serves the blocks
     * it samples from its own reserved range (docs/heap.md), a few percent
     * of them at its default rate, but an allocator that holds none of them
     * ("no") means the calls went to another allocator.  At a rate below
     * 64 KiB most of these 8000-byte blocks are sampled, so the allocator's
     * statistics cannot tell; the other checks still apply. */
    const char *rate = getenv("CPROF_HEAP_RATE");
    int most_sampled = rate && strtoull(rate, NULL, 10) < 65536;
    int serves = most_sampled || during >= before + (size_t)NBLOCKS * BLOCK / 2;
    printf("%s serves malloc: %s\n", ALLOCATOR, serves ? "yes" : "no");
    printf("malloc_usable_size too small: %d of %d\n", bad, NBLOCKS);

    /* realloc keeps contents; calloc zeroes; aligned allocations align. */
    uint32_t h = 2166136261u;
    for (int i = 0; i < NBLOCKS; i += 2) {
        unsigned char *p = realloc(blocks[i], BLOCK * 3);
        if (!p)
            return 2;
        h = mix(h, p, BLOCK);
        free(p);
        blocks[i] = NULL;
    }
    unsigned char *z = calloc(1000, 100);
    size_t nonzero = 0;
    for (size_t i = 0; z && i < 100000; i++)
        nonzero += z[i] != 0;
    printf("calloc nonzero bytes: %zu\n", nonzero);
    free(z);
    int misaligned = 0;
    for (size_t a = 16; a <= 65536; a *= 2) {
        void *p = NULL;
        if (posix_memalign(&p, a, a * 3) != 0 || (uintptr_t)p % a)
            misaligned++;
        free(p);
        p = aligned_alloc(a, a * 2);
        if (!p || (uintptr_t)p % a)
            misaligned++;
        free(p);
    }
    printf("misaligned: %d\n", misaligned);

    static void *cross[5000];
    pthread_t t;
    if (pthread_create(&t, NULL, producer, cross) != 0 || pthread_join(t, NULL) != 0)
        return 3;
    for (int i = 0; i < 5000; i++) {
        h = mix(h, cross[i], (size_t)(i % 300) + 1);
        free(cross[i]);
    }
    for (int i = 1; i < NBLOCKS; i += 2) {
        h = mix(h, blocks[i], BLOCK);
        free(blocks[i]);
    }
    printf("checksum: %08x\n", (unsigned)h);
    return serves && !bad && !misaligned ? 0 : 1;
}
