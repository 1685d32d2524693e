/* malloc.c — the malloc family, interposed for the heap profiler.
 *
 * What: malloc, free, calloc, realloc, reallocarray, posix_memalign,
 * aligned_alloc, memalign, valloc, pvalloc and malloc_usable_size, exported
 * from libcprof.so with default visibility, so they replace the program's
 * allocator both under LD_PRELOAD and in programs linked with -lcprof; and
 * the twenty C++ operator new/delete forms, which forward to libstdc++'s
 * (calling malloc/free) or sample themselves when the allocator defines
 * its own (see the end of this file).
 *
 * Fast path: while profiling is off, one load and a branch before an
 * indirect jump into the real allocator.  While on, allocations also
 * subtract their size from a per-thread countdown (initial-exec TLS);
 * free() compares the pointer with the sampled-block range (heap.h) — no
 * lookup, no lock — and tests one flag; only while big sampled blocks are
 * live in glibc's heap or bootstrap blocks exist does it look further
 * (the arena's range; glibc's size word, then a table lookup).
 *
 * Reaching the real allocator: the one the program chose, i.e. the next
 * definition of each function after libcprof in symbol lookup order
 * (jemalloc, tcmalloc or mimalloc linked or preloaded after us, else
 * glibc), found with dlsym(RTLD_NEXT) on the FIRST malloc-family call —
 * which happens before any constructor of ours.  Data structure: a table
 * of function pointers (`next`), each initialised to a resolver stub, so
 * the fast path has no extra branch: it jumps through the pointer either
 * way.  dlsym may itself allocate (its error state): while this thread
 * resolves, the stubs serve a small static bootstrap arena whose blocks are
 * never given back (free() of them is a no-op).  Where the next allocator
 * lacks valloc/pvalloc (jemalloc: pvalloc) they are built on its memalign,
 * and reallocarray is always built on its realloc, so that one allocator
 * sees every block.  Right after resolving, the heap profiler reads its
 * environment and starts (heap_env.c), so allocations made by other
 * libraries' constructors are seen.
 *
 * Rejected: calling glibc's __libc_malloc family directly (the previous
 * design): a program built on jemalloc then got glibc blocks from malloc
 * but jemalloc's malloc_usable_size, and crashed; tcmalloc and mimalloc
 * even define __libc_malloc themselves.  Walking the link maps and ELF hash
 * tables ourselves to avoid dlsym's allocation: more code than the arena.
 *
 * glibc's edge cases stay the allocator's: every argument check (overflow,
 * alignments that are not powers of two, huge sizes) is made by the
 * allocator itself — the sampled path is only taken for arguments that
 * are valid — or reproduced from glibc 2.36's code (posix_memalign's
 * alignment rule, reallocarray's overflow, pvalloc's rounding).
 */
#include <dlfcn.h>
#include <errno.h>
#include <gnu/libc-version.h>
#include <malloc.h> /* malloc_usable_size, memalign, pvalloc: their glibc prototypes */
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "collect/heap.h"
#include "preload/heap_env.h"

#define HOOK __attribute__((visibility("default"), section("cprof_hooks")))
/* Helpers go in the same section: the profiler cuts every frame of it from
 * recorded stacks, including helpers an interposer tail-calls. */
#define HOOK_LOCAL static __attribute__((section("cprof_hooks")))

/* glibc's own entry points, used only to tell whether the next allocator
 * is glibc (heap.h: cp_heap_glibc). */
extern void *__libc_malloc(size_t n);
extern void __libc_free(void *p);
extern void *__libc_calloc(size_t nmemb, size_t size);
extern void *__libc_realloc(void *p, size_t n);
extern void *__libc_memalign(size_t align, size_t n);

/* ---- the next allocator ---- */

typedef struct next_fns {
    void *(*malloc)(size_t);
    void (*free)(void *);
    void *(*calloc)(size_t, size_t);
    void *(*realloc)(void *, size_t);
    void *(*memalign)(size_t, size_t);
    void *(*aligned_alloc)(size_t, size_t);
    int (*posix_memalign)(void **, size_t, size_t);
    void *(*valloc)(size_t);
    void *(*pvalloc)(size_t);
    size_t (*usable)(void *);
} next_fns;

HOOK_LOCAL void *stub_malloc(size_t n);
HOOK_LOCAL void stub_free(void *p);
HOOK_LOCAL void *stub_calloc(size_t nmemb, size_t size);
HOOK_LOCAL void *stub_realloc(void *p, size_t n);
HOOK_LOCAL void *stub_memalign(size_t align, size_t n);
HOOK_LOCAL void *stub_aligned_alloc(size_t align, size_t n);
HOOK_LOCAL int stub_posix_memalign(void **out, size_t align, size_t n);
HOOK_LOCAL void *stub_valloc(size_t n);
HOOK_LOCAL void *stub_pvalloc(size_t n);
HOOK_LOCAL size_t stub_usable(void *p);

/* Written once by resolve() (each pointer with a relaxed atomic store, so a
 * reader sees either the stub or the final function). */
static next_fns next = {
    stub_malloc, stub_free, stub_calloc, stub_realloc, stub_memalign,
    stub_aligned_alloc, stub_posix_memalign, stub_valloc, stub_pvalloc, stub_usable,
};

#define NEXT(f) __atomic_load_n(&next.f, __ATOMIC_RELAXED)

/* 0 = not resolved, 1 = a thread is resolving, 2 = done. */
static int resolve_state;
/* The load base of the object defining the allocator's malloc. */
static void *alloc_obj;
static __thread int resolving_here __attribute__((tls_model("initial-exec")));

/* The bootstrap arena: blocks handed out while this thread resolves the
 * allocator (dlsym's own allocations).  A 16-byte header holds the size. */
static char boot[16384] __attribute__((aligned(4096)));
static size_t boot_top;

static inline bool is_boot(const void *p)
{
    return (uintptr_t)p - (uintptr_t)boot < sizeof boot;
}

HOOK_LOCAL void *boot_alloc(size_t n, size_t align)
{
    if (align < 16)
        align = 16;
    size_t top = __atomic_load_n(&boot_top, __ATOMIC_RELAXED), user, end;
    do {
        user = (top + 16 + align - 1) & ~(align - 1);
        if (user > sizeof boot || sizeof boot - user < n) {
            errno = ENOMEM;
            return NULL;
        }
        end = (user + n + 15) & ~(size_t)15;
    } while (!__atomic_compare_exchange_n(&boot_top, &top, end, false, __ATOMIC_RELAXED,
                                          __ATOMIC_RELAXED));
    ((size_t *)(boot + user))[-1] = n;
    /* From now on free() checks the arena (glibc's dlsym allocates only
     * on errors, so usually it never does). */
    __atomic_fetch_or(&cp_heap_free_slow, CP_HEAP_FREE_SLOW_BOOT, __ATOMIC_RELAXED);
    return boot + user;
}

static size_t boot_size(const void *p)
{
    return ((const size_t *)p)[-1];
}

/* The object that defines f (its load base), or NULL. */
static void *object_of(void *f)
{
    Dl_info info;
    if (!f || !dladdr(f, &info))
        return NULL;
    return info.dli_fbase;
}

static void *next_sym(const char *name)
{
    return dlsym(RTLD_NEXT, name);
}

/* Built on the next allocator's memalign when it has no valloc/pvalloc of
 * its own (glibc's would hand out a glibc block).  pvalloc rounds as glibc
 * 2.36 does. */
HOOK_LOCAL void *valloc_emulated(size_t n)
{
    return NEXT(memalign)((size_t)getpagesize(), n);
}

HOOK_LOCAL void *memalign_none(size_t align, size_t n)
{
    errno = ENOMEM;
    return NULL;
}

HOOK_LOCAL void *aligned_alloc_emulated(size_t align, size_t n)
{
    return NEXT(memalign)(align, n);
}

HOOK_LOCAL int posix_memalign_emulated(void **out, size_t align, size_t n)
{
    void *p = NEXT(memalign)(align, n);
    if (!p)
        return ENOMEM;
    *out = p;
    return 0;
}

static size_t usable_none(void *p)
{
    return 0;
}

HOOK_LOCAL void *pvalloc_emulated(size_t n)
{
    size_t page = (size_t)getpagesize(), rounded;
    if (__builtin_add_overflow(n, page - 1, &rounded)) {
        errno = ENOMEM;
        return NULL;
    }
    rounded &= ~(page - 1);
    return NEXT(memalign)(page, rounded ? rounded : page);
}

/* Find every function of the next allocator.  Runs once, on the first
 * malloc-family call of the process (or concurrently-arriving threads wait
 * for the first). */
static void resolve(void)
{
    int st = __atomic_load_n(&resolve_state, __ATOMIC_ACQUIRE);
    if (st == 2)
        return;
    st = 0;
    if (!__atomic_compare_exchange_n(&resolve_state, &st, 1, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE)) {
        while (__atomic_load_n(&resolve_state, __ATOMIC_ACQUIRE) != 2)
            sched_yield();
        return;
    }
    int saved_errno = errno;
    resolving_here = 1;
    next_fns f;
    f.malloc = (void *(*)(size_t))next_sym("malloc");
    f.free = (void (*)(void *))next_sym("free");
    f.calloc = (void *(*)(size_t, size_t))next_sym("calloc");
    f.realloc = (void *(*)(void *, size_t))next_sym("realloc");
    f.memalign = (void *(*)(size_t, size_t))next_sym("memalign");
    f.aligned_alloc = (void *(*)(size_t, size_t))next_sym("aligned_alloc");
    f.posix_memalign = (int (*)(void **, size_t, size_t))next_sym("posix_memalign");
    f.valloc = (void *(*)(size_t))next_sym("valloc");
    f.pvalloc = (void *(*)(size_t))next_sym("pvalloc");
    f.usable = (size_t(*)(void *))next_sym("malloc_usable_size");
    /* Without dlsym (a static program) or without an allocator after us
     * (impossible in a dynamic program: libc follows), glibc's own. */
    if (!f.malloc || !f.free || !f.calloc || !f.realloc) {
        f.malloc = __libc_malloc;
        f.free = __libc_free;
        f.calloc = __libc_calloc;
        f.realloc = __libc_realloc;
    }
    void *libc = object_of((void *)gnu_get_libc_version);
    void *alloc = object_of((void *)f.malloc);
    bool glibc = alloc && alloc == libc;
    alloc_obj = alloc;
    /* Every entry gets a function (a stub left in place would call itself
     * for ever).  Missing ones (impossible with libc after us) are built
     * on memalign; functions the allocator lacks resolve to glibc's: build
     * them on its own memalign instead, so its blocks never reach glibc. */
    if (!f.memalign)
        f.memalign = glibc ? __libc_memalign : memalign_none;
    if (!f.aligned_alloc)
        f.aligned_alloc = aligned_alloc_emulated;
    if (!f.posix_memalign)
        f.posix_memalign = posix_memalign_emulated;
    if (!f.usable)
        f.usable = usable_none;
    if (!f.valloc || (!glibc && object_of((void *)f.valloc) != alloc))
        f.valloc = valloc_emulated;
    if (!f.pvalloc || (!glibc && object_of((void *)f.pvalloc) != alloc))
        f.pvalloc = pvalloc_emulated;
    /* The big-block path reads glibc's chunk headers and calls
     * __libc_malloc & co.: only when those are the allocator in use. */
    cp_heap_glibc = glibc && f.malloc == __libc_malloc && f.free == __libc_free &&
                    f.calloc == __libc_calloc && f.memalign == __libc_memalign &&
                    object_of((void *)__libc_malloc) == libc;
    __atomic_store_n(&next.malloc, f.malloc, __ATOMIC_RELAXED);
    __atomic_store_n(&next.free, f.free, __ATOMIC_RELAXED);
    __atomic_store_n(&next.calloc, f.calloc, __ATOMIC_RELAXED);
    __atomic_store_n(&next.realloc, f.realloc, __ATOMIC_RELAXED);
    __atomic_store_n(&next.memalign, f.memalign, __ATOMIC_RELAXED);
    __atomic_store_n(&next.aligned_alloc, f.aligned_alloc, __ATOMIC_RELAXED);
    __atomic_store_n(&next.posix_memalign, f.posix_memalign, __ATOMIC_RELAXED);
    __atomic_store_n(&next.valloc, f.valloc, __ATOMIC_RELAXED);
    __atomic_store_n(&next.pvalloc, f.pvalloc, __ATOMIC_RELAXED);
    __atomic_store_n(&next.usable, f.usable, __ATOMIC_RELAXED);
    resolving_here = 0;
    __atomic_store_n(&resolve_state, 2, __ATOMIC_RELEASE);
    errno = saved_errno;
    /* The allocator is in place: start the heap profiler now, before any
     * constructor of ours (or of the program's libraries) allocates more. */
    cp_preload_heap_early();
}

/* ---- the interposers ---- */

/* Whether this allocation of n bytes is to be sampled (heap.h: n - 1 >=
 * left; a 0-byte request wraps and is decided in cp_heap_should_sample as
 * a 1-byte one). */
static inline __attribute__((always_inline)) bool take_sample(size_t n)
{
    if (!__atomic_load_n(&cp_heap_on, __ATOMIC_RELAXED))
        return false;
    cp_heap_tls *t = &cp_heap_tls_state;
    if ((uint64_t)n - 1 < (uint64_t)t->left) {
        t->left -= (int64_t)n;
        return false;
    }
    return cp_heap_should_sample(n);
}

/* The hot entry points carry no frame of their own: every call out of them
 * is a tail call, so with the frame pointer omitted the fast path is a
 * load, a compare, a store and a jump into the allocator.  (DWARF
 * unwinding does not need the frame pointer.) */
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
        return cp_heap_unsampled(NEXT(malloc)(n));
    }
    return NEXT(malloc)(n);
}

HOOK FAST void *malloc(size_t n)
{
    if (__atomic_load_n(&cp_heap_on, __ATOMIC_RELAXED)) {
        cp_heap_tls *t = &cp_heap_tls_state;
        if ((uint64_t)n - 1 >= (uint64_t)t->left)
            return malloc_sampled(n);
        t->left -= (int64_t)n;
    }
    return NEXT(malloc)(n);
}

/* Our malloc under a hidden name, which binds here whoever else defines
 * malloc: compared with the process's malloc by cp_preload_malloc_in_use. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-attributes" /* only its address is used */
extern __typeof(malloc) cp_own_malloc __attribute__((alias("malloc"), visibility("hidden")));
#pragma GCC diagnostic pop

bool cp_preload_malloc_in_use(void)
{
    return dlsym(RTLD_DEFAULT, "malloc") == (void *)cp_own_malloc;
}

/* free() of a block that may be a bootstrap block or a big sampled block
 * in glibc's heap (only while cp_heap_free_slow says either exists). */
HOOK_LOCAL __attribute__((noinline)) void free_slow(void *p)
{
    if (is_boot(p))
        return;
    if (cp_heap_maybe_big(p)) {
        cp_heap_big_forget(p);
        __libc_free(p); /* cp_heap_glibc: the allocator is glibc's */
        return;
    }
    NEXT(free)(p);
}

HOOK FAST void free(void *p)
{
    if (cp_heap_is_sampled(p)) {
        cp_heap_free_sampled(p);
        return;
    }
    if (__atomic_load_n(&cp_heap_free_slow, __ATOMIC_RELAXED)) {
        free_slow(p);
        return;
    }
    NEXT(free)(p);
}

HOOK_LOCAL __attribute__((noinline)) void *calloc_sampled(size_t nmemb, size_t size)
{
    size_t n = nmemb * size; /* checked by the caller */
    if (cp_heap_should_sample(n)) {
        void *p = cp_heap_alloc_sampled(n, 16, true);
        if (p)
            return p;
        return cp_heap_unsampled(NEXT(calloc)(nmemb, size));
    }
    return NEXT(calloc)(nmemb, size);
}

HOOK FAST void *calloc(size_t nmemb, size_t size)
{
    size_t n;
    if (__atomic_load_n(&cp_heap_on, __ATOMIC_RELAXED) &&
        !__builtin_mul_overflow(nmemb, size, &n)) {
        cp_heap_tls *t = &cp_heap_tls_state;
        if ((uint64_t)n - 1 >= (uint64_t)t->left)
            return calloc_sampled(nmemb, size);
        t->left -= (int64_t)n;
    }
    return NEXT(calloc)(nmemb, size);
}

HOOK size_t malloc_usable_size(void *p)
{
    if (cp_heap_is_sampled(p))
        return cp_heap_sampled_usable(p);
    if (is_boot(p))
        return boot_size(p);
    return NEXT(usable)(p);
}

/* realloc(p, 0) of a block the allocator never saw: do what the allocator
 * does with realloc(q, 0) — glibc, jemalloc and tcmalloc free q and return NULL,
 * mimalloc returns a fresh minimal block — by asking it on a block of its
 * own. */
HOOK_LOCAL void *realloc_zero_like_next(void)
{
    if (cp_heap_glibc)
        return NULL;
    void *q = NEXT(malloc)(1);
    if (!q)
        return NULL;
    return NEXT(realloc)(q, 0);
}

HOOK void *realloc(void *p, size_t n)
{
    if (!p)
        return malloc(n);
    if (cp_heap_is_sampled(p) || is_boot(p)) {
        /* A sampled block moves: its new size is a new allocation. */
        bool sampled = cp_heap_is_sampled(p);
        if (n == 0) {
            void *q = realloc_zero_like_next();
            if (sampled)
                cp_heap_free_sampled(p);
            return q;
        }
        void *q = malloc(n);
        if (!q)
            return NULL;
        /* The usable size, not the requested one: the program may have
         * written up to malloc_usable_size(p), and glibc's realloc keeps
         * those bytes too. */
        size_t old = sampled ? cp_heap_sampled_usable(p) : boot_size(p);
        memcpy(q, p, old < n ? old : n);
        if (sampled)
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
            size_t old = malloc_usable_size(p);
            memcpy(q, p, old < n ? old : n);
            NEXT(free)(p);
            return q;
        }
        return cp_heap_unsampled(NEXT(realloc)(p, n));
    }
    return NEXT(realloc)(p, n);
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

/* A sampled aligned block, or NULL with *tried false when this request is
 * not to be sampled (the caller then asks the allocator).  Alignments the
 * region cannot serve (above CP_HEAP_MAX_ALIGN) count as dropped samples. */
HOOK_LOCAL void *aligned_sampled(size_t align, size_t n, bool *tried)
{
    *tried = false;
    if (!take_sample(n))
        return NULL;
    *tried = true;
    if (align > CP_HEAP_MAX_ALIGN)
        return NULL;
    size_t a = 32;
    while (a < align)
        a <<= 1;
    return cp_heap_alloc_sampled(n, a, false);
}

/* glibc's _mid_memalign rules: small alignments are plain malloc; sizes
 * and alignments the sampled path cannot serve go to the allocator. */
HOOK void *memalign(size_t align, size_t n)
{
    if (align <= 16 && cp_heap_glibc)
        return malloc(n);
    bool tried;
    void *p = aligned_sampled(align, n, &tried);
    if (p)
        return p;
    p = NEXT(memalign)(align, n);
    return tried ? cp_heap_unsampled(p) : p;
}

HOOK void *aligned_alloc(size_t align, size_t n)
{
    if (cp_heap_glibc)
        return memalign(align, n); /* glibc 2.36: the same function */
    /* Valid alignments only: the allocator decides about the rest. */
    bool tried = false;
    void *p = align && !(align & (align - 1)) ? aligned_sampled(align, n, &tried) : NULL;
    if (p)
        return p;
    p = NEXT(aligned_alloc)(align, n);
    return tried ? cp_heap_unsampled(p) : p;
}

HOOK int posix_memalign(void **out, size_t align, size_t n)
{
    /* Valid: a power-of-two multiple of sizeof(void *).  Anything else is
     * the allocator's to refuse (EINVAL, *out untouched). */
    if (align % sizeof(void *) != 0 || align == 0 ||
        ((align / sizeof(void *)) & (align / sizeof(void *) - 1)) != 0)
        return NEXT(posix_memalign)(out, align, n);
    if (align <= 16 && cp_heap_glibc) {
        void *p = malloc(n);
        if (!p)
            return ENOMEM;
        *out = p;
        return 0;
    }
    bool tried;
    void *p = aligned_sampled(align, n, &tried);
    if (p) {
        *out = p;
        return 0;
    }
    int rc = NEXT(posix_memalign)(out, align, n);
    if (tried && rc == 0)
        cp_heap_unsampled(*out);
    return rc;
}

HOOK void *valloc(size_t n)
{
    size_t page = (size_t)getpagesize();
    if (take_sample(n)) {
        void *p = cp_heap_alloc_sampled(n, page, false);
        if (p)
            return p;
        return cp_heap_unsampled(NEXT(valloc)(n));
    }
    return NEXT(valloc)(n);
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
        return cp_heap_unsampled(NEXT(pvalloc)(n));
    }
    return NEXT(pvalloc)(n);
}

/* ---- resolver stubs: the first call of each function lands here ---- */

HOOK_LOCAL void *stub_malloc(size_t n)
{
    if (resolving_here)
        return boot_alloc(n, 16);
    resolve();
    return malloc(n);
}

HOOK_LOCAL void stub_free(void *p)
{
    if (resolving_here)
        return; /* nothing but boot blocks exists yet */
    resolve();
    free(p);
}

HOOK_LOCAL void *stub_calloc(size_t nmemb, size_t size)
{
    if (resolving_here) {
        size_t n;
        if (__builtin_mul_overflow(nmemb, size, &n)) {
            errno = ENOMEM;
            return NULL;
        }
        return boot_alloc(n, 16); /* static memory: zero */
    }
    resolve();
    return calloc(nmemb, size);
}

HOOK_LOCAL void *stub_realloc(void *p, size_t n)
{
    if (resolving_here) {
        void *q = boot_alloc(n, 16);
        if (q && p && is_boot(p))
            memcpy(q, p, boot_size(p) < n ? boot_size(p) : n);
        return q;
    }
    resolve();
    return realloc(p, n);
}

HOOK_LOCAL void *stub_memalign(size_t align, size_t n)
{
    if (resolving_here)
        return boot_alloc(n, align);
    resolve();
    return memalign(align, n);
}

HOOK_LOCAL void *stub_aligned_alloc(size_t align, size_t n)
{
    if (resolving_here)
        return boot_alloc(n, align);
    resolve();
    return aligned_alloc(align, n);
}

HOOK_LOCAL int stub_posix_memalign(void **out, size_t align, size_t n)
{
    if (resolving_here) {
        void *p = boot_alloc(n, align);
        if (!p)
            return ENOMEM;
        *out = p;
        return 0;
    }
    resolve();
    return posix_memalign(out, align, n);
}

HOOK_LOCAL void *stub_valloc(size_t n)
{
    if (resolving_here)
        return boot_alloc(n, (size_t)getpagesize());
    resolve();
    return valloc(n);
}

HOOK_LOCAL void *stub_pvalloc(size_t n)
{
    if (resolving_here)
        return boot_alloc(n, (size_t)getpagesize());
    resolve();
    return pvalloc(n);
}

HOOK_LOCAL size_t stub_usable(void *p)
{
    if (resolving_here)
        return 0;
    resolve();
    return malloc_usable_size(p);
}

/* ---- C++ operator new and delete ----
 *
 * jemalloc, tcmalloc and mimalloc define operator new and delete
 * themselves, straight into their heaps and never through malloc, so a C++
 * program linked with one of them would allocate past the profiler.  So
 * libcprof defines them too (Itanium ABI names).  Each forwards to the
 * next definition, found on its first call (libstdc++ may be loaded after
 * the first malloc, by dlopen): libstdc++'s, which calls malloc and so is
 * sampled there (the forward is a tail call: no frame of ours remains), or
 * the allocator's own, in which case the interposer samples itself.
 * delete frees sampled blocks and forwards everything else.  A failing
 * new still throws: only the next definition ever fails. */

enum {
    CXX_NEW, CXX_NEW_A, CXX_NEW_NT, CXX_NEW_A_NT, CXX_NEW_AL, CXX_NEW_A_AL, CXX_NEW_AL_NT,
    CXX_NEW_A_AL_NT, CXX_DEL, CXX_DEL_A, CXX_DEL_SZ, CXX_DEL_A_SZ, CXX_DEL_NT, CXX_DEL_A_NT,
    CXX_DEL_AL, CXX_DEL_A_AL, CXX_DEL_SZ_AL, CXX_DEL_A_SZ_AL, CXX_DEL_AL_NT, CXX_DEL_A_AL_NT,
    CXX_N
};
static const char *const cxx_names[CXX_N] = {
    "_Znwm", "_Znam", "_ZnwmRKSt9nothrow_t", "_ZnamRKSt9nothrow_t",
    "_ZnwmSt11align_val_t", "_ZnamSt11align_val_t", "_ZnwmSt11align_val_tRKSt9nothrow_t",
    "_ZnamSt11align_val_tRKSt9nothrow_t", "_ZdlPv", "_ZdaPv", "_ZdlPvm", "_ZdaPvm",
    "_ZdlPvRKSt9nothrow_t", "_ZdaPvRKSt9nothrow_t", "_ZdlPvSt11align_val_t",
    "_ZdaPvSt11align_val_t", "_ZdlPvmSt11align_val_t", "_ZdaPvmSt11align_val_t",
    "_ZdlPvSt11align_val_tRKSt9nothrow_t", "_ZdaPvSt11align_val_tRKSt9nothrow_t",
};
static void *cxx_fn[CXX_N];  /* the next definition; NULL until first use */
static int cxx_own[CXX_N];   /* it is the allocator's own: sample here */

HOOK_LOCAL __attribute__((noinline)) void *cxx_resolve(int i)
{
    resolve();
    void *f = dlsym(RTLD_NEXT, cxx_names[i]);
    if (!f) {
        /* Only a C++ library calls these, and it brought its runtime. */
        cp_log_raw("cprof: no C++ operator new/delete after libcprof\n");
        abort();
    }
    int own = !cp_heap_glibc && alloc_obj && object_of(f) == alloc_obj;
    __atomic_store_n(&cxx_own[i], own, __ATOMIC_RELAXED);
    __atomic_store_n(&cxx_fn[i], f, __ATOMIC_RELEASE);
    return f;
}

static inline void *cxx_next(int i)
{
    void *f = __atomic_load_n(&cxx_fn[i], __ATOMIC_ACQUIRE);
    return f ? f : cxx_resolve(i);
}

/* A sampled block for new(n) with alignment `align` (0: the default), or
 * NULL with *tried telling whether it was to be sampled. */
static inline void *cxx_sampled(int i, size_t n, size_t align, bool *tried)
{
    *tried = false;
    if (!__atomic_load_n(&cxx_own[i], __ATOMIC_RELAXED) || !take_sample(n))
        return NULL;
    *tried = true;
    if (align > CP_HEAP_MAX_ALIGN)
        return NULL;
    return cp_heap_alloc_sampled(n, align > 16 ? align : 16, false);
}

typedef void *(*new_fn)(size_t);
typedef void *(*new_nt_fn)(size_t, const void *);
typedef void *(*new_al_fn)(size_t, size_t);
typedef void *(*new_al_nt_fn)(size_t, size_t, const void *);

/* Each operator is declared before its definition: C has no header for
 * the C++ names, and -Wmissing-prototypes wants one. */
#define CXX_NEW_DEF(name, idx, params, args, call_t, align)                                \
    void *name params;                                                                     \
    HOOK FAST void *name params                                                               \
    {                                                                                      \
        call_t f = (call_t)cxx_next(idx);                                                  \
        bool tried;                                                                        \
        void *p = cxx_sampled(idx, n, align, &tried);                                      \
        if (p)                                                                             \
            return p;                                                                      \
        if (!tried)                                                                        \
            return f args;                                                                 \
        return cp_heap_unsampled(f args);                                                  \
    }

CXX_NEW_DEF(_Znwm, CXX_NEW, (size_t n), (n), new_fn, 0)
CXX_NEW_DEF(_Znam, CXX_NEW_A, (size_t n), (n), new_fn, 0)
CXX_NEW_DEF(_ZnwmRKSt9nothrow_t, CXX_NEW_NT, (size_t n, const void *nt), (n, nt), new_nt_fn, 0)
CXX_NEW_DEF(_ZnamRKSt9nothrow_t, CXX_NEW_A_NT, (size_t n, const void *nt), (n, nt), new_nt_fn, 0)
CXX_NEW_DEF(_ZnwmSt11align_val_t, CXX_NEW_AL, (size_t n, size_t al), (n, al), new_al_fn, al)
CXX_NEW_DEF(_ZnamSt11align_val_t, CXX_NEW_A_AL, (size_t n, size_t al), (n, al), new_al_fn, al)
CXX_NEW_DEF(_ZnwmSt11align_val_tRKSt9nothrow_t, CXX_NEW_AL_NT,
            (size_t n, size_t al, const void *nt), (n, al, nt), new_al_nt_fn, al)
CXX_NEW_DEF(_ZnamSt11align_val_tRKSt9nothrow_t, CXX_NEW_A_AL_NT,
            (size_t n, size_t al, const void *nt), (n, al, nt), new_al_nt_fn, al)

typedef void (*del_fn)(void *);
typedef void (*del_2_fn)(void *, size_t);      /* sized, or aligned */
typedef void (*del_nt_fn)(void *, const void *);
typedef void (*del_3_fn)(void *, size_t, size_t);
typedef void (*del_al_nt_fn)(void *, size_t, const void *);

#define CXX_DEL_DEF(name, idx, params, args, call_t)                                       \
    void name params;                                                                      \
    HOOK FAST void name params                                                                \
    {                                                                                      \
        if (cp_heap_is_sampled(p)) {                                                       \
            cp_heap_free_sampled(p);                                                       \
            return;                                                                        \
        }                                                                                  \
        ((call_t)cxx_next(idx))args;                                                       \
    }

CXX_DEL_DEF(_ZdlPv, CXX_DEL, (void *p), (p), del_fn)
CXX_DEL_DEF(_ZdaPv, CXX_DEL_A, (void *p), (p), del_fn)
CXX_DEL_DEF(_ZdlPvm, CXX_DEL_SZ, (void *p, size_t n), (p, n), del_2_fn)
CXX_DEL_DEF(_ZdaPvm, CXX_DEL_A_SZ, (void *p, size_t n), (p, n), del_2_fn)
CXX_DEL_DEF(_ZdlPvRKSt9nothrow_t, CXX_DEL_NT, (void *p, const void *nt), (p, nt), del_nt_fn)
CXX_DEL_DEF(_ZdaPvRKSt9nothrow_t, CXX_DEL_A_NT, (void *p, const void *nt), (p, nt), del_nt_fn)
CXX_DEL_DEF(_ZdlPvSt11align_val_t, CXX_DEL_AL, (void *p, size_t al), (p, al), del_2_fn)
CXX_DEL_DEF(_ZdaPvSt11align_val_t, CXX_DEL_A_AL, (void *p, size_t al), (p, al), del_2_fn)
CXX_DEL_DEF(_ZdlPvmSt11align_val_t, CXX_DEL_SZ_AL, (void *p, size_t n, size_t al), (p, n, al),
            del_3_fn)
CXX_DEL_DEF(_ZdaPvmSt11align_val_t, CXX_DEL_A_SZ_AL, (void *p, size_t n, size_t al),
            (p, n, al), del_3_fn)
CXX_DEL_DEF(_ZdlPvSt11align_val_tRKSt9nothrow_t, CXX_DEL_AL_NT,
            (void *p, size_t al, const void *nt), (p, al, nt), del_al_nt_fn)
CXX_DEL_DEF(_ZdaPvSt11align_val_tRKSt9nothrow_t, CXX_DEL_A_AL_NT,
            (void *p, size_t al, const void *nt), (p, al, nt), del_al_nt_fn)
