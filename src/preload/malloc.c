/* malloc.c — the malloc family, interposed for the heap profiler.
 *
 * What: malloc, free, calloc, realloc, reallocarray, posix_memalign,
 * aligned_alloc, memalign, valloc, pvalloc and malloc_usable_size, exported
 * from libcprof.so with default visibility, so they replace glibc's both
 * under LD_PRELOAD and in programs linked with -lcprof.  C++ operator
 * new/delete call malloc/free and are covered through them.
 *
 * Fast path: while profiling is off, one load and a branch before glibc's
 * function.  While on, allocations also subtract their size from a
 * per-thread countdown (initial-exec TLS); free() compares the pointer with
 * the sampled-block range (heap.h) — no lookup, no lock — and, only while
 * big sampled blocks are live, reads glibc's size word to see whether the
 * block is big enough to be one of them (then a table lookup).
 *
 * Reaching the real allocator: glibc exports __libc_malloc, __libc_free,
 * __libc_calloc, __libc_realloc, __libc_memalign, __libc_valloc and
 * __libc_pvalloc; they are plain functions needing no initialisation, so
 * malloc works from the first call the loader makes, before any
 * constructor, with no bootstrap arena.  Rejected: dlsym(RTLD_NEXT), which
 * allocates (dlerror state) and so recurses into the malloc it is looking
 * for, forcing a static bootstrap arena whose blocks free() must also
 * recognise.  malloc_usable_size has no __libc_ alias: it is found with
 * dlsym on first use (never from inside malloc).
 *
 * glibc's edge cases stay glibc's: every argument check (zero sizes,
 * overflow, alignments that are not powers of two, huge sizes) is either
 * made by glibc itself — the sampled path is only taken for arguments that
 * are valid — or reproduced from glibc 2.36's code where there is no
 * __libc_ function (posix_memalign, reallocarray); aligned_alloc is
 * memalign in glibc 2.36 (the same function), so it is here too.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "collect/heap.h"

#define HOOK __attribute__((visibility("default"), section("cprof_hooks")))
/* Helpers go in the same section: the profiler cuts every frame of it from
 * recorded stacks, including helpers an interposer tail-calls. */
#define HOOK_LOCAL static __attribute__((section("cprof_hooks")))

/* noplt: jump through the GOT directly, one jump less per call (GCC only;
 * clang has no such attribute and calls through the PLT). */
#if defined(__clang__)
#define LIBC
#else
#define LIBC __attribute__((noplt))
#endif
extern void *__libc_malloc(size_t n) LIBC;
extern void __libc_free(void *p) LIBC;
extern void *__libc_calloc(size_t nmemb, size_t size) LIBC;
extern void *__libc_realloc(void *p, size_t n) LIBC;
extern void *__libc_memalign(size_t align, size_t n) LIBC;
extern void *__libc_valloc(size_t n) LIBC;
extern void *__libc_pvalloc(size_t n) LIBC;

/* Whether this allocation of n bytes is to be sampled. */
static inline __attribute__((always_inline)) bool take_sample(size_t n)
{
    if (!__atomic_load_n(&cp_heap_on, __ATOMIC_RELAXED))
        return false;
    cp_heap_tls *t = &cp_heap_tls_state;
    if ((uint64_t)n < (uint64_t)t->countdown) {
        t->countdown -= (int64_t)n;
        return false;
    }
    return cp_heap_should_sample(n);
}

/* The hot entry points carry no frame of their own: every call out of them
 * is a tail call, so with the frame pointer omitted the fast path is a
 * load, a compare, a store and a jump into glibc.  (DWARF unwinding does
 * not need the frame pointer.) */
#if defined(__clang__)
#define FAST
#else
#define FAST __attribute__((optimize("omit-frame-pointer")))
#endif

HOOK_LOCAL __attribute__((noinline)) void *malloc_sampled(size_t n)
{
    if (cp_heap_should_sample(n)) {
        void *p = cp_heap_alloc_sampled(n, 16, false);
        if (p)
            return p;
        return cp_heap_unsampled(__libc_malloc(n));
    }
    return __libc_malloc(n);
}

HOOK FAST void *malloc(size_t n)
{
    if (__atomic_load_n(&cp_heap_on, __ATOMIC_RELAXED)) {
        cp_heap_tls *t = &cp_heap_tls_state;
        if ((uint64_t)n >= (uint64_t)t->countdown)
            return malloc_sampled(n);
        t->countdown -= (int64_t)n;
    }
    return __libc_malloc(n);
}

HOOK_LOCAL __attribute__((noinline)) void free_big(void *p)
{
    cp_heap_big_forget(p);
    __libc_free(p);
}

HOOK FAST void free(void *p)
{
    if (cp_heap_is_sampled(p)) {
        cp_heap_free_sampled(p);
        return;
    }
    if (cp_heap_maybe_big(p)) {
        free_big(p);
        return;
    }
    __libc_free(p);
}

HOOK_LOCAL __attribute__((noinline)) void *calloc_sampled(size_t nmemb, size_t size)
{
    size_t n = nmemb * size; /* checked by the caller */
    if (cp_heap_should_sample(n)) {
        void *p = cp_heap_alloc_sampled(n, 16, true);
        if (p)
            return p;
        return cp_heap_unsampled(__libc_calloc(nmemb, size));
    }
    return __libc_calloc(nmemb, size);
}

HOOK FAST void *calloc(size_t nmemb, size_t size)
{
    size_t n;
    if (__atomic_load_n(&cp_heap_on, __ATOMIC_RELAXED) &&
        !__builtin_mul_overflow(nmemb, size, &n)) {
        cp_heap_tls *t = &cp_heap_tls_state;
        if ((uint64_t)n >= (uint64_t)t->countdown)
            return calloc_sampled(nmemb, size);
        t->countdown -= (int64_t)n;
    }
    return __libc_calloc(nmemb, size);
}

static size_t (*real_usable)(void *);

HOOK_LOCAL size_t glibc_usable(void *p)
{
    size_t (*f)(void *) = __atomic_load_n(&real_usable, __ATOMIC_ACQUIRE);
    if (!f) {
        f = (size_t(*)(void *))dlsym(RTLD_NEXT, "malloc_usable_size");
        if (!f)
            return 0;
        __atomic_store_n(&real_usable, f, __ATOMIC_RELEASE);
    }
    return f(p);
}

HOOK size_t malloc_usable_size(void *p)
{
    if (cp_heap_is_sampled(p))
        return cp_heap_sampled_usable(p);
    return glibc_usable(p);
}

HOOK void *realloc(void *p, size_t n)
{
    if (!p)
        return malloc(n);
    if (cp_heap_is_sampled(p)) {
        /* A sampled block moves: its new size is a new allocation. */
        if (n == 0) {
            cp_heap_free_sampled(p); /* glibc: realloc(p, 0) frees, returns NULL */
            return NULL;
        }
        void *q = malloc(n);
        if (!q)
            return NULL;
        /* The usable size, not the requested one: the program may have
         * written up to malloc_usable_size(p), and glibc's realloc keeps
         * those bytes too. */
        size_t old = cp_heap_sampled_usable(p);
        memcpy(q, p, old < n ? old : n);
        cp_heap_free_sampled(p);
        return q;
    }
    /* A big sampled block reallocated is a free and a new allocation (a
     * failed realloc keeps the block but has counted it freed: harmless). */
    if (cp_heap_maybe_big(p))
        cp_heap_big_forget(p);
    if (n != 0 && take_sample(n)) {
        void *q = cp_heap_alloc_sampled(n, 16, false);
        if (q) {
            size_t old = glibc_usable(p);
            memcpy(q, p, old < n ? old : n);
            __libc_free(p);
            return q;
        }
        return cp_heap_unsampled(__libc_realloc(p, n));
    }
    return __libc_realloc(p, n);
}

HOOK void *reallocarray(void *p, size_t nmemb, size_t size)
{
    size_t n;
    if (__builtin_mul_overflow(nmemb, size, &n)) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc(p, n);
}

/* glibc's _mid_memalign argument rules: small alignments are plain malloc,
 * others are raised to a power of two of at least 32; sizes the sampled
 * path cannot serve go to glibc, which applies its own checks. */
HOOK_LOCAL void *aligned(size_t align, size_t n)
{
    if (align <= 16)
        return malloc(n);
    if (align <= CP_HEAP_MAX_ALIGN && take_sample(n)) {
        size_t a = 32;
        while (a < align)
            a <<= 1;
        void *p = cp_heap_alloc_sampled(n, a, false);
        if (p)
            return p;
        return cp_heap_unsampled(__libc_memalign(align, n));
    }
    return __libc_memalign(align, n);
}

HOOK void *memalign(size_t align, size_t n)
{
    return aligned(align, n);
}

HOOK void *aligned_alloc(size_t align, size_t n)
{
    return aligned(align, n);
}

HOOK int posix_memalign(void **out, size_t align, size_t n)
{
    /* glibc: a power-of-two multiple of sizeof(void *), else EINVAL and
     * *out untouched; NULL from the allocator is ENOMEM. */
    if (align % sizeof(void *) != 0 || align == 0 ||
        ((align / sizeof(void *)) & (align / sizeof(void *) - 1)) != 0)
        return EINVAL;
    void *p = aligned(align, n);
    if (!p)
        return ENOMEM;
    *out = p;
    return 0;
}

HOOK void *valloc(size_t n)
{
    size_t page = (size_t)getpagesize();
    if (take_sample(n)) {
        void *p = cp_heap_alloc_sampled(n, page, false);
        if (p)
            return p;
        return cp_heap_unsampled(__libc_valloc(n));
    }
    return __libc_valloc(n);
}

HOOK void *pvalloc(size_t n)
{
    size_t page = (size_t)getpagesize(), rounded;
    /* glibc 2.36 rounds with `& -(pagesize - 1)`; keep its result exactly. */
    if (!__builtin_add_overflow(n, page - 1, &rounded) &&
        take_sample(rounded & -(page - 1))) {
        void *p = cp_heap_alloc_sampled(rounded & -(page - 1), page, false);
        if (p)
            return p;
        return cp_heap_unsampled(__libc_pvalloc(n));
    }
    return __libc_pvalloc(n);
}
