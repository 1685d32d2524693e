/* heap.c — heap sampling: the countdown, sampled blocks, stack buckets.
 *
 * What: the slow path of the malloc interposers (src/preload/malloc.c).
 * The fast path only decrements a per-thread countdown; when it runs out,
 * cp_heap_should_sample() decides, and cp_heap_alloc_sampled() captures
 * the stack, files the allocation under its (stack, size) bucket and serves
 * the block from the profiler's region (heap_region.c).  Freeing a sampled
 * block reads its 16-byte header (bucket, size) and counts the free.
 *
 * Big sampled blocks (heap.h, CP_HEAP_BIG) stay in glibc (when glibc is
 * the program's allocator) and are found
 * through an address-keyed table instead of the region.
 *
 * Data structures: buckets are records of the collectors' one stack table
 * (stacktab.c: identity (stack, label set, size), four atomic counters),
 * never freed, kept across fork; the writer walks them without the lock.
 * The table's add is lock-free, but it runs under the heap lock anyway,
 * which the region needs: no two threads ever race to make the same
 * bucket, so a bucket is one sample of the profile.  One pthread mutex
 * guards the region and the big-block table; it is only taken on sampled
 * allocations and frees, and it is never held across a call that can
 * allocate.  The live-allocation bookkeeping (address → bucket: the block
 * header, the big-block table) is a different concept from folding
 * stacks and stays here.  Header of a sampled block, right below the user pointer:
 * { bucket pointer, requested size }; the bucket is cleared on free, so a
 * double free of a sampled block is caught.
 *
 * Random intervals: xorshift64* per thread, exponential draw with our own
 * logarithm (a short series; no libm call, which could be lazily bound
 * inside malloc).  Seeds come from getrandom(2) (or a fixed seed for tests)
 * mixed with a per-thread sequence number.
 *
 * Alternatives rejected: sampling every N bytes (periodic: biased for
 * programs whose allocation pattern has the same period), a global
 * countdown (an atomic on every malloc), a bucket table of the heap's own
 * (hash chains under the lock: a second copy of stacktab's job, and one
 * that read /proc/self/maps only at write time, so stacks in dlclose'd
 * code lost their names: the writers now share locate.c).
 */
#include "collect/heap.h"

#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "base/hashmap.h"
#include "base/log.h"
#include "base/rng.h"
#include "collect/dlmaps.h"
#include "collect/labels.h"
#include "collect/sigfork.h"
#include "collect/unwind.h"
#include "cprof.h"

#define HOOK __attribute__((section("cprof_hooks"), noinline))

__thread cp_heap_tls cp_heap_tls_state __attribute__((tls_model("initial-exec")));
int cp_heap_on;

/* Bounds of the hook section: frames inside it are cprof's own. */
extern const char __start_cprof_hooks[] __attribute__((visibility("hidden")));
extern const char __stop_cprof_hooks[] __attribute__((visibility("hidden")));

/* Buckets: 512 Ki index slots (2 MiB) and a 256 MiB arena, reserved, not
 * committed (about 1 million buckets of 20 frames; the index is good for
 * some 400 000 before probes run out). */
enum { TAB_INDEX = 1 << 19, TAB_ARENA_WORDS = 1 << 25 };

/* glibc's allocator, for big sampled blocks (see heap.h; only while
 * cp_heap_glibc says glibc is the program's allocator). */
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t nmemb, size_t size);
extern void *__libc_memalign(size_t align, size_t n);
extern void __libc_free(void *p);

/* Big sampled blocks: open addressing, linear probing, backward-shift
 * deletion; guarded by the lock.  Past half full, new big samples go to
 * the region instead. */
enum { BIG_SLOTS = 1 << 16 };
typedef struct big_slot {
    void *ptr; /* NULL = empty */
    cp_heap_bucket *bucket;
    uint64_t size;
} big_slot;
static big_slot *big_table;
static size_t big_count;
size_t cp_heap_big_live;
int cp_heap_glibc;
int cp_heap_free_slow;

typedef struct block_hdr {
    cp_heap_bucket *bucket; /* NULL once freed */
    uint64_t size;
} block_hdr;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static cp_stacktab table;                     /* buckets */
static int64_t rate_bytes = CPROF_HEAP_RATE_DEFAULT;
static uint64_t seed_base;
static uint64_t thread_seq;
static uint64_t dropped;
static uint64_t samples_taken; /* sampling decisions that reached the lock */

/* The profiler's own code (libcprof.so's mapping): an allocation called
 * straight from it (pthread_create's trampoline record, anything else not
 * marked busy) is the profiler's, never the program's.  Such sampled
 * blocks are filed under own_bucket, which no profile lists.  Empty when
 * the profiler is linked into the program itself. */
static uintptr_t own_lo, own_len;
static cp_heap_bucket own_bucket;

/* ---- random intervals ---- */

/* An exponential interval X of mean rate_bytes, as the next `left`:
 * max(X, 1) - 1 (an interval of 0 and of 1 byte sample the same requests,
 * since every request counts as at least 1 byte). */
static int64_t draw_interval(cp_heap_tls *t)
{
    int64_t rate = rate_bytes;
    if (rate <= 1)
        return 0;
    int64_t c = (int64_t)cp_rng_exp(&t->rng, (double)rate);
    return c > 0 ? c - 1 : 0;
}

HOOK bool cp_heap_should_sample(size_t n)
{
    cp_heap_tls *t = &cp_heap_tls_state;
    if (t->busy || !__atomic_load_n(&cp_heap_on, __ATOMIC_RELAXED))
        return false;
    if (!t->rng) {
        uint64_t seq = __atomic_fetch_add(&thread_seq, 1, __ATOMIC_RELAXED);
        t->rng = cp_rng_seed(seed_base + seq * 0x9e3779b97f4a7c15ULL);
        t->left = draw_interval(t);
    }
    uint64_t m = (uint64_t)n + (n == 0); /* 0 bytes sample as 1 */
    if (m <= (uint64_t)t->left) {
        /* Only when just seeded, or a 0-byte request with room left. */
        t->left -= (int64_t)m;
        return false;
    }
    /* The interval ran out inside this allocation: sample it, and draw the
     * next interval from its end (the process is memoryless). */
    t->left = draw_interval(t);
    return true;
}

/* ---- buckets ---- */

/* The bucket of (stack, size, labels), made with zero counts if new; NULL
 * when the table is full.  With the lock held. */
static cp_heap_bucket *bucket_for(const uint64_t *pcs, int n, uint64_t size,
                                  const cp_labelset *labels)
{
    static const int64_t none[CP_STACKREC_VALS];
    cp_stackrec *r;
    cp_stacktab_add_vals(&table, pcs, (uint32_t)n, (uint64_t)(uintptr_t)labels, size, none, &r);
    return r;
}

/* Count an allocation or a free of `bytes` on b (which: CP_HEAP_ALLOC_* or
 * CP_HEAP_FREE_*; the objects counter is published last, with release, so
 * the writer that reads it first sees the bytes).  [hook-safe] */
static void count(cp_heap_bucket *b, int objects, uint64_t bytes)
{
    atomic_fetch_add_explicit(&b->val[objects + 1], (int64_t)bytes, memory_order_relaxed);
    atomic_fetch_add_explicit(&b->val[objects], 1, memory_order_release);
}

/* The caller's stack without cprof's own frames: everything up to and
 * including the outermost frame inside the hook section is cut. */
static int user_stack(uint64_t *pcs, int max)
{
    int n = cp_unwind_here(pcs, max, 0);
    int first = 0;
    for (int i = 0; i < n; i++)
        if (pcs[i] >= (uint64_t)(uintptr_t)__start_cprof_hooks &&
            pcs[i] < (uint64_t)(uintptr_t)__stop_cprof_hooks)
            first = i + 1;
    if (first > 0 && first < n)
        memmove(pcs, pcs + first, (size_t)(n - first) * sizeof *pcs);
    return n - first;
}

static size_t big_index(const void *p)
{
    return (size_t)cp_hash_u64((uint64_t)(uintptr_t)p) & (BIG_SLOTS - 1);
}

/* With the lock held.  False when the table is too full. */
static bool big_insert(void *p, cp_heap_bucket *b, uint64_t size)
{
    if (!big_table || big_count >= BIG_SLOTS / 2)
        return false;
    size_t i = big_index(p);
    while (big_table[i].ptr)
        i = (i + 1) & (BIG_SLOTS - 1);
    big_table[i] = (big_slot){p, b, size};
    big_count++;
    __atomic_store_n(&cp_heap_big_live, big_count, __ATOMIC_RELAXED);
    if (big_count == 1)
        __atomic_fetch_or(&cp_heap_free_slow, CP_HEAP_FREE_SLOW_BIG, __ATOMIC_RELAXED);
    return true;
}

HOOK bool cp_heap_big_forget(void *p)
{
    bool found = false;
    int saved_errno = errno;
    pthread_mutex_lock(&lock);
    size_t i = big_index(p);
    while (big_table[i].ptr && big_table[i].ptr != p)
        i = (i + 1) & (BIG_SLOTS - 1);
    if (big_table[i].ptr == p) {
        found = true;
        count(big_table[i].bucket, CP_HEAP_FREE_OBJECTS, big_table[i].size);
        /* Backward-shift deletion keeps every probe chain unbroken. */
        size_t hole = i, j = i;
        for (;;) {
            j = (j + 1) & (BIG_SLOTS - 1);
            if (!big_table[j].ptr)
                break;
            size_t home = big_index(big_table[j].ptr);
            /* Move j into the hole unless its home lies in (hole, j]. */
            if (((j - home) & (BIG_SLOTS - 1)) >= ((j - hole) & (BIG_SLOTS - 1))) {
                big_table[hole] = big_table[j];
                hole = j;
            }
        }
        big_table[hole].ptr = NULL;
        big_count--;
        __atomic_store_n(&cp_heap_big_live, big_count, __ATOMIC_RELAXED);
        if (big_count == 0)
            __atomic_fetch_and(&cp_heap_free_slow, ~CP_HEAP_FREE_SLOW_BIG, __ATOMIC_RELAXED);
    }
    pthread_mutex_unlock(&lock);
    errno = saved_errno;
    return found;
}

HOOK void *cp_heap_alloc_sampled(size_t n, size_t align, bool zero)
{
    cp_heap_tls *t = &cp_heap_tls_state;
    if (n > (size_t)PTRDIFF_MAX - 4096)
        return NULL; /* allocators refuse it; let the program's say so */
    int saved_errno = errno;
    t->busy = 1;
    int max = cp_unwind_depth(); /* CPROF_STACK_DEPTH, as for CPU stacks */
    uint64_t pcs[max];
    int nf = user_stack(pcs, max);
    void *user = NULL;
    void *big = NULL;
    if (n >= CP_HEAP_BIG && big_table && cp_heap_glibc) {
        big = align > 16 ? __libc_memalign(align, n) : zero ? __libc_calloc(1, n) : __libc_malloc(n);
        if (!big) {
            t->busy = 0;
            return NULL; /* the caller's call to glibc fails the same way */
        }
    }
    bool own = nf > 0 && (uintptr_t)pcs[0] - own_lo < own_len;
    pthread_mutex_lock(&lock);
    __atomic_fetch_add(&samples_taken, 1, __ATOMIC_RELAXED);
    cp_heap_bucket *b = own ? &own_bucket : bucket_for(pcs, nf, n, cp_labels_current());
    if (big) {
        if (b && big_insert(big, b, n)) {
            count(b, CP_HEAP_ALLOC_OBJECTS, n);
        } else {
            dropped++;
        }
        pthread_mutex_unlock(&lock);
        t->busy = 0;
        errno = saved_errno;
        return big;
    }
    bool zeroed = false;
    void *block = b ? cp_heap_region_alloc(n, align, &user, &zeroed) : NULL;
    if (block) {
        block_hdr *h = (block_hdr *)user - 1;
        h->bucket = b;
        h->size = n;
        count(b, CP_HEAP_ALLOC_OBJECTS, n);
    }
    pthread_mutex_unlock(&lock);
    if (block && zero && !zeroed)
        memset(user, 0, n);
    t->busy = 0;
    errno = saved_errno;
    return block ? user : NULL;
}

void *cp_heap_unsampled(void *p)
{
    if (p)
        __atomic_fetch_add(&dropped, 1, __ATOMIC_RELAXED);
    return p;
}

HOOK void cp_heap_free_sampled(void *p)
{
    block_hdr *h = (block_hdr *)p - 1;
    cp_heap_bucket *b = h->bucket;
    if (!b) {
        cp_log("free(): double free or invalid pointer %p (sampled block)", p);
        abort();
    }
    int saved_errno = errno;
    uint64_t size = h->size;
    h->bucket = NULL;
    void *block = cp_heap_region_block(p, NULL);
    pthread_mutex_lock(&lock);
    count(b, CP_HEAP_FREE_OBJECTS, size);
    cp_heap_region_free(block);
    pthread_mutex_unlock(&lock);
    errno = saved_errno;
}

size_t cp_heap_sampled_size(const void *p)
{
    return ((const block_hdr *)p - 1)->size;
}

size_t cp_heap_sampled_usable(const void *p)
{
    size_t bytes;
    char *block = cp_heap_region_block(p, &bytes);
    return (size_t)(block + bytes - (const char *)p);
}

const cp_stacktab *cp_heap_table(void)
{
    return &table;
}

int64_t cp_heap_rate(void)
{
    return rate_bytes;
}

uint64_t cp_heap_samples_taken(void)
{
    return __atomic_load_n(&samples_taken, __ATOMIC_RELAXED);
}

uint64_t cp_heap_dropped(void)
{
    return __atomic_load_n(&dropped, __ATOMIC_RELAXED);
}

/* ---- fork ---- */

/* The forking thread holds the lock across fork() so the child inherits
 * consistent buckets and free lists.  Other prepare handlers may run after
 * ours and allocate: the thread is marked busy meanwhile, so those
 * allocations go straight to the allocator instead of waiting for our own
 * lock. */
static __thread int busy_before_fork __attribute__((tls_model("initial-exec")));

void cp_heap_atfork_prepare(void)
{
    cp_heap_tls *t = &cp_heap_tls_state;
    busy_before_fork = t->busy;
    t->busy = 1;
    pthread_mutex_lock(&lock);
}

void cp_heap_atfork_parent(void)
{
    pthread_mutex_unlock(&lock);
    cp_heap_tls_state.busy = busy_before_fork;
}

void cp_heap_atfork_child(void)
{
    /* Only the forking thread survives, and it held the lock. */
    pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
    memcpy(&lock, &fresh, sizeof lock);
    cp_heap_tls_state.busy = busy_before_fork;
}

/* ---- public API ---- */

/* The address range of the object this code is in, unless that is the
 * program itself. */
static void find_own_range(void)
{
    struct dl_find_object r;
    if (own_len || _dl_find_object((void *)(uintptr_t)cp_heap_should_sample, &r) != 0)
        return;
    if (!r.dlfo_link_map || !r.dlfo_link_map->l_name || !r.dlfo_link_map->l_name[0])
        return; /* the main program: its own allocations are the program's */
    own_lo = (uintptr_t)r.dlfo_map_start;
    own_len = (uintptr_t)r.dlfo_map_end - own_lo;
}

int cp_heap_start_early(int64_t rate, uint64_t seed)
{
    int prev_busy = cp_heap_busy_enter();
    int rc = 0;
    pthread_mutex_lock(&lock);
    if (cp_heap_on) {
        rc = CPROF_EBUSY;
        goto out;
    }
    rc = cp_heap_region_init();
    if (!rc && !table.map)
        rc = cp_stacktab_init_flags(&table, TAB_INDEX, TAB_ARENA_WORDS, CP_STACKTAB_FORK_KEEP);
    if (rc)
        goto out;
    if (!big_table) {
        void *m = mmap(NULL, BIG_SLOTS * sizeof *big_table, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (m != MAP_FAILED)
            big_table = m; /* else big samples use the region */
    }
    if (!seed && getrandom(&seed, sizeof seed, GRND_NONBLOCK) != (ssize_t)sizeof seed) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        seed = cp_rng_mix((uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 32));
    }
    seed_base = seed;
    rate_bytes = rate > 0 ? rate : CPROF_HEAP_RATE_DEFAULT;
    /* Threads draw their first interval on their next allocation. */
    cp_heap_tls_state.rng = 0;
    cp_heap_tls_state.left = 0;
out:
    pthread_mutex_unlock(&lock);
    if (rc == 0) {
        find_own_range();
        cp_dlmaps_enable();
        __atomic_store_n(&cp_heap_on, 1, __ATOMIC_RELEASE);
    }
    cp_heap_busy_leave(prev_busy);
    return rc;
}

void cp_heap_start_finish(void)
{
    int prev_busy = cp_heap_busy_enter();
    find_own_range();
    cp_unwind_init();
    cp_sigfork_init(); /* the fork handlers (a program without the preload) */
    cp_heap_busy_leave(prev_busy);
}

int cp_heap_start_seeded(int64_t rate, uint64_t seed)
{
    int rc = cp_heap_start_early(rate, seed);
    if (rc == 0)
        cp_heap_start_finish();
    return rc;
}

int cprof_heap_start(int64_t rate)
{
    if (!cp_preload_malloc_in_use || !cp_preload_malloc_in_use())
        return CPROF_EUNSUPPORTED; /* nothing would ever be sampled */
    return cp_heap_start_seeded(rate, 0);
}

int cprof_heap_stop(void)
{
    int was = __atomic_exchange_n(&cp_heap_on, 0, __ATOMIC_ACQ_REL);
    return was ? 0 : CPROF_ENOTRUNNING;
}

int cprof_heap_running(void)
{
    return __atomic_load_n(&cp_heap_on, __ATOMIC_RELAXED);
}
