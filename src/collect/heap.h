/* heap.h — the heap profiler's core, shared by the malloc interposers
 * (src/preload/malloc.c) and the collector (src/collect/heap*.c).
 *
 * Contract:
 *  - Sampling is a per-thread byte countdown C, kept as left = C - 1
 *    (cp_heap_tls.left >= 0): an allocation of n bytes is sampled when
 *    n >= C, i.e. n - 1 >= left, otherwise left drops by n.  A 0-byte
 *    request counts as 1 byte (n - 1 wraps, so it always reaches the slow
 *    path, which decides as for 1 byte).  After a sample a fresh exponential interval of
 *    mean rate_bytes is drawn, so each allocation of size s is sampled with
 *    probability 1 - exp(-s/rate) independently of the others (Go's rule).
 *    Rate 1 keeps left at 0: every allocation is sampled.  A 0-byte
 *    request is an object too, unbiased as a 1-byte object with 0 bytes.
 *  - Sampled blocks are served from one address range the profiler reserves
 *    (cp_heap_region_base/_bytes), so free() tells a sampled pointer from
 *    an ordinary one with one subtraction and one comparison; ordinary
 *    blocks come from the program's allocator (src/preload/malloc.c).
 *  - A thread-local `busy` flag marks code running inside the profiler: its
 *    allocations are never sampled and never recurse into it.
 *  - Per (stack, size, label set) bucket the raw sampled counts are kept, in
 *    the collectors' one stack table (stacktab.h); the four sample types
 *    are unbiased at write time with Go's formula.
 *
 * Safety: everything marked [hook-safe] may run inside malloc/free: it never
 * calls malloc, holds at most the heap lock (a pthread mutex, never held
 * across a call that allocates), and uses initial-exec TLS only.
 */
#ifndef CP_COLLECT_HEAP_H
#define CP_COLLECT_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "collect/stacktab.h"
#include "profile/profile.h"

/* Per-thread sampler state (initial-exec TLS: no __tls_get_addr inside
 * malloc). */
typedef struct cp_heap_tls {
    int64_t left;       /* bytes until the next sample point, minus 1 */
    uint64_t rng;       /* xorshift state; 0 = this thread not seeded yet */
    int busy;           /* inside cprof: allocations pass straight through */
} cp_heap_tls;

extern __thread cp_heap_tls cp_heap_tls_state __attribute__((tls_model("initial-exec")));

/* The reserved range for sampled blocks; both 0 until the first start. */
extern uintptr_t cp_heap_region_base;
extern uintptr_t cp_heap_region_bytes;
/* Nonzero while sampling. */
extern int cp_heap_on;

/* Mark the calling thread as working for the profiler (its allocations are
 * the profiler's own, never sampled) and return the previous mark for
 * cp_heap_busy_leave.  Other collectors' threads and writers use this.
 * [hook-safe] [async-signal-safe] */
/* The compiler barriers matter: GCC knows malloc and free read no program
 * memory, so without them it deletes the stores around a direct call to
 * malloc/free as dead, and the allocation is charged to the program. */
static inline int cp_heap_busy_enter(void)
{
    int prev = cp_heap_tls_state.busy;
    cp_heap_tls_state.busy = 1;
    __asm__ volatile("" ::: "memory");
    return prev;
}

static inline void cp_heap_busy_leave(int prev)
{
    __asm__ volatile("" ::: "memory");
    cp_heap_tls_state.busy = prev;
}

static inline bool cp_heap_is_sampled(const void *p)
{
    return (uintptr_t)p - cp_heap_region_base < cp_heap_region_bytes;
}

/* Big sampled blocks (CP_HEAP_BIG bytes and more) stay in glibc, so that a
 * program recycling big buffers keeps glibc's heap shape (moving most of
 * them to the region made glibc trim and regrow its heap on every free);
 * they are remembered in a table keyed by address.  free() consults it only
 * while such blocks are live, and only for blocks whose glibc chunk header
 * says they are big: one load, of the word glibc's free reads next anyway. */
#define CP_HEAP_BIG ((size_t)256 << 10)
extern size_t cp_heap_big_live;
/* Nonzero when the program's allocator is glibc's own and __libc_malloc &
 * co. are glibc's (set by the interposers when they find the allocator).
 * Only then do big sampled blocks stay in the allocator's heap: reading the
 * word below another allocator's pointer can fault or lie, so with
 * jemalloc, tcmalloc or mimalloc every sampled block lives in the region
 * and cp_heap_big_live stays 0. */
extern int cp_heap_glibc;

/* Nonzero while free() must look beyond the sampled range: bit 0 while big
 * sampled blocks are live in glibc's heap (heap.c), bit 1 once the
 * interposers' bootstrap arena has handed out a block (malloc.c).  One
 * load and a branch on free()'s fast path.  Changed with atomic or/and. */
#define CP_HEAP_FREE_SLOW_BIG 1
#define CP_HEAP_FREE_SLOW_BOOT 2
extern int cp_heap_free_slow;

static inline bool cp_heap_maybe_big(const void *p)
{
    return __atomic_load_n(&cp_heap_big_live, __ATOMIC_RELAXED) != 0 && p &&
           (((const size_t *)p)[-1] & ~(size_t)7) >= CP_HEAP_BIG;
}

/* If p is a live big sampled block: count its free and forget it (the
 * caller still hands p to glibc).  Returns whether it was.  [hook-safe] */
bool cp_heap_big_forget(void *p);

/* ---- sampling (heap.c) ---- */

/* Called when n - 1 >= left (unsigned): seeds a new thread, draws the next interval
 * and tells whether this allocation is to be sampled.  [hook-safe] */
bool cp_heap_should_sample(size_t n);

/* Allocate a sampled block of n bytes aligned to `align` (a power of two,
 * >= 16), record it under the caller's stack, zero it when `zero`.  NULL
 * when the block cannot be served from the region (the caller then falls
 * back to the allocator and the sample is counted as dropped).  Frames of cprof's
 * own hooks (section cprof_hooks) are cut from the stack.  [hook-safe] */
void *cp_heap_alloc_sampled(size_t n, size_t align, bool zero);

/* The largest alignment a sampled block can have; larger ones go to the
 * allocator unsampled (and are counted as dropped when sampled). */
#define CP_HEAP_MAX_ALIGN ((size_t)2 << 20)

/* After cp_heap_alloc_sampled failed and the allocator served the request:
 * counts a dropped sample when it succeeded (when it failed too, nothing was
 * allocated and nothing is lost).  Returns p.  [hook-safe] */
void *cp_heap_unsampled(void *p);

/* Free a block for which cp_heap_is_sampled(p) is true.  [hook-safe] */
void cp_heap_free_sampled(void *p);

/* Requested size of a sampled block, and its usable size.  [hook-safe] */
size_t cp_heap_sampled_size(const void *p);
size_t cp_heap_sampled_usable(const void *p);

/* ---- region allocator (heap_region.c), called with the heap lock held ---- */

/* Reserve the range (once).  0 or CPROF_ENOMEM.  Not under the lock. */
int cp_heap_region_init(void);
/* A block with room for n bytes at an `align`-aligned offset of at least 16
 * bytes from its start; *user receives that address, *zeroed (if non-NULL)
 * whether [user, user + n) reads as zero.  NULL when full. */
void *cp_heap_region_alloc(size_t n, size_t align, void **user, bool *zeroed);
/* The block holding user (a pointer cp_heap_region_alloc handed out) and
 * its size in bytes. */
void *cp_heap_region_block(const void *user, size_t *block_bytes);
void cp_heap_region_free(void *block);
/* Bytes of freed large blocks kept resident (for tests). */
size_t cp_heap_region_retained(void);
/* Bytes of address space currently handed out (for tests). */
size_t cp_heap_region_used(void);

/* ---- buckets and profiles (heap.c, heap_write.c) ---- */

/* Buckets are records of the collectors' one stack table (stacktab.h):
 * identity (stack, label set pointer as key, object size as key2), values
 * the raw sampled counts. */
typedef cp_stackrec cp_heap_bucket;
enum { CP_HEAP_ALLOC_OBJECTS, CP_HEAP_ALLOC_BYTES, CP_HEAP_FREE_OBJECTS, CP_HEAP_FREE_BYTES };

/* The buckets (walk with cp_stacktab_next; NULL before the first start);
 * they are never freed while the process lives and are kept across fork
 * (a child's live sampled blocks point at them).  [thread-safe] */
const cp_stacktab *cp_heap_table(void);
int64_t cp_heap_rate(void);
/* Samples that could not be recorded (region full, bucket memory full). */
uint64_t cp_heap_dropped(void);
/* Allocations sampled so far by this process (its parent's before a fork
 * included): tells whether anything was sampled since a moment.  [hook-safe] */
uint64_t cp_heap_samples_taken(void);

/* Go's scaleHeapSample: unbias count objects totalling bytes bytes sampled
 * at `rate`.  Rate <= 1 returns them unchanged.  [thread-safe] */
void cp_heap_scale(int64_t count, int64_t bytes, int64_t rate,
                   int64_t *out_count, int64_t *out_bytes);

/* Build the heap profile from the buckets (four sample types, `bytes`
 * label, mappings; symbolized unless `raw`).  Runs on the caller's thread,
 * which must not be inside a hook.  Sets the caller's busy flag itself. */
int cp_heap_profile(bool raw, bool with_size_label, cp_profile **out);

/* Print the leak summary (in-use objects at this moment, top `top`
 * stacks) to fd.  */
int cp_heap_leak_report(int fd, int top);

/* Write to path with "%p" expanded, atomically.  */
int cp_heap_write_path(const char *path);

/* Fork support (called by sigfork.c, whose lock order puts the heap lock
 * last: code holding any other lock of cprof may free a sampled block):
 * lock before fork, unlock in the parent, reset in the child. */
void cp_heap_atfork_prepare(void);
void cp_heap_atfork_parent(void);
void cp_heap_atfork_child(void);

/* Defined by src/preload/malloc.c where the interposers are built in (weak:
 * NULL otherwise): are they the process's malloc?  Not when libcprof.so was
 * dlopen'd after start (the program's calls bind to its allocator), nor in
 * sanitizer builds, which leave malloc to the sanitizer. */
bool cp_preload_malloc_in_use(void) __attribute__((weak));

/* Start with an explicit seed for the sampler's random numbers (tests use
 * it to make the default-rate accuracy check reproducible); 0 = random. */
int cp_heap_start_seeded(int64_t rate_bytes, uint64_t seed);

/* The same, from inside the first malloc-family call of the process
 * (before any constructor of ours): no dlopen, no pthread_atfork.
 * cp_heap_start_finish() does those later, outside malloc (the preload
 * constructor); until then stacks are walked through the ordinary
 * bindings of the unwinder. */
int cp_heap_start_early(int64_t rate_bytes, uint64_t seed);
void cp_heap_start_finish(void);

#endif
