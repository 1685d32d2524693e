/* stacktab.c — the table of distinct stacks every collector fills: the
 * CPU profiler's signal handler, the heap profiler's sampled allocations,
 * the mutex/block/I/O hooks (events.c).
 *
 * Data structure: one anonymous mapping holds a small header (counters),
 * an open-addressing index of uint32 (linear probing, at most MAX_PROBE
 * slots looked at) and an arena of variable-size records.  An add hashes
 * its stack and keys and probes: a slot whose record has the same identity
 * gets its values bumped (atomic adds); at the first empty slot it takes
 * room in the arena (a CAS on the arena's top, so the top never passes the
 * end), writes the record whole, marks it ready (release) and publishes
 * it by CASing the slot from 0 to the record's offset.  An add that loses
 * that CAS looks at the winner's record: the same stack, and its own
 * record already holds the sample (a duplicate the writer folds); another
 * stack, and it probes on with its record in hand.  After MAX_PROBE slots
 * the record stays in the arena unindexed: still counted, still written.
 * No thread ever waits for another, so a handler interrupting a thread in
 * the middle of an add (the same thread cannot be: the signal is blocked
 * while its handler runs) costs at most a duplicate record.
 *
 * Records carry four values and two key words whatever the collector
 * (CPU uses two values and one key): one record layout, one add, one
 * reader for all.  The two unused words of a CPU record cost ~5% of its
 * size; a per-table layout would put a multiplication and a second record
 * type on every path.
 *
 * The writer walks the arena in order (records carry their size), so a
 * process that sampled nothing reads nothing and faults in no page of it;
 * it stops at a record not yet marked ready, so the cumulative profiles
 * (heap, events) are read while the program keeps adding.
 * MAP_NORESERVE keeps the reservation free until pages are written;
 * MADV_WIPEONFORK gives a forked child zero pages instead of copies of the
 * parent's (no copy-on-write faults, nothing to reset); where the kernel
 * lacks it, the child maps fresh pages over the range (one syscall, no
 * page touched).  The heap's table is kept across fork instead
 * (CP_STACKTAB_FORK_KEEP): the child's copies of sampled blocks point at
 * its records.
 *
 * A record's identity is its frames plus two key words (the thread's
 * label set pointer: label sets are interned and never freed, so equal
 * sets are equal pointers; and a size or a tag), hashed in with them.
 *
 * Rejected: a ring drained by a helper thread (the previous design: a
 * single-threaded program became multi-threaded, losing glibc's
 * single-thread fast paths and breaking unshare(CLONE_NEWUSER), and every
 * fork reset 2 MiB of ring); per-thread tables (memory per thread, and a
 * registry to walk at write time); spinning on a slot another thread is
 * filling (a handler that interrupted that thread would spin for ever);
 * separate tables per collector (the heap's chained buckets under its
 * lock, the events' copy of this file: three hashings, three probings,
 * three record headers to keep right).
 */
#include "collect/stacktab.h"

#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>

#include "base/hashmap.h"
#include "cprof.h"

#ifndef MADV_WIPEONFORK
#define MADV_WIPEONFORK 18
#endif

enum { MAX_PROBE = 64, HDR_WORDS = sizeof(cp_stackrec) / 8 };

struct cp_stacktab_hdr {
    _Atomic uint64_t top;    /* arena words used */
    _Atomic int64_t records;
    _Atomic int64_t lost, lost_ns;
    char pad[4096 - 32];
};

static size_t page_round(size_t n)
{
    return (n + 4095) & ~(size_t)4095;
}

static void *reserve(size_t len, void *at)
{
    int fl = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | (at ? MAP_FIXED : 0);
    return mmap(at, len, PROT_READ | PROT_WRITE, fl, -1, 0);
}

int cp_stacktab_init(cp_stacktab *t, size_t nindex, size_t arena_words)
{
    return cp_stacktab_init_flags(t, nindex, arena_words, 0);
}

int cp_stacktab_init_flags(cp_stacktab *t, size_t nindex, size_t arena_words, int flags)
{
    size_t n = 1;
    while (n < nindex)
        n <<= 1;
    if (arena_words < 64)
        arena_words = 64;
    if (arena_words > UINT32_MAX - 1)
        arena_words = UINT32_MAX - 1;
    size_t idx_len = page_round(n * sizeof(uint32_t));
    size_t len = sizeof(cp_stacktab_hdr) + idx_len + page_round(arena_words * 8);
    void *p = reserve(len, NULL);
    if (p == MAP_FAILED)
        return CPROF_ENOMEM;
    memset(t, 0, sizeof *t);
    t->map = p;
    t->map_len = len;
    t->hdr = p;
    t->index = (_Atomic uint32_t *)((char *)p + sizeof(cp_stacktab_hdr));
    t->arena = (uint64_t *)((char *)t->index + idx_len);
    t->nindex = n;
    t->arena_words = arena_words;
    t->keep_on_fork = (flags & CP_STACKTAB_FORK_KEEP) != 0;
    t->wiped_on_fork = !t->keep_on_fork && madvise(p, len, MADV_WIPEONFORK) == 0;
    return 0;
}

void cp_stacktab_destroy(cp_stacktab *t)
{
    if (t->map)
        munmap(t->map, t->map_len);
    memset(t, 0, sizeof *t);
}

void cp_stacktab_reset(cp_stacktab *t)
{
    /* Private anonymous pages read back as zeros after MADV_DONTNEED; only
     * the header is certain to have been written. */
    if (t->map && atomic_load_explicit(&t->hdr->top, memory_order_relaxed) == 0 &&
        atomic_load_explicit(&t->hdr->lost, memory_order_relaxed) == 0)
        return;
    if (t->map)
        madvise(t->map, t->map_len, MADV_DONTNEED);
}

void cp_stacktab_atfork_child(cp_stacktab *t)
{
    if (t->map && !t->wiped_on_fork && !t->keep_on_fork &&
        reserve(t->map_len, t->map) == MAP_FAILED) {
        /* Could not replace it: forget it rather than write into the
         * parent's copy (this process then samples nothing). */
        memset(t, 0, sizeof *t);
    }
}

/* One multiply per frame, a full mix at the end: the per-frame step is
 * short on the critical path (a heap sample at rate 1 hashes ~20 frames;
 * a full mix per frame cost ~40 ns more), and the final mix spreads the
 * low bits the index uses. */
static uint64_t hash_pcs(const uint64_t *pcs, uint32_t n, uint64_t key, uint64_t key2)
{
    uint64_t h = (0x9e3779b97f4a7c15ull ^ n) + cp_hash_u64(key) + cp_hash_u64(key2 ^ 0x51ed27);
    for (uint32_t i = 0; i < n; i++)
        h = (h ^ pcs[i]) * 0x100000001b3ull + (h >> 29);
    return cp_hash_u64(h) | 1;
}

/* Plain loops: memcmp/memcpy may be bound lazily (docs/signal-safety.md). */
static bool same(const cp_stackrec *r, uint64_t h, const uint64_t *pcs, uint32_t n,
                 uint64_t key, uint64_t key2)
{
    if (r->hash != h || r->n != n || r->key != key || r->key2 != key2)
        return false;
    for (uint32_t i = 0; i < n; i++)
        if (r->pcs[i] != pcs[i])
            return false;
    return true;
}

static cp_stackrec *at(const cp_stacktab *t, uint32_t v)
{
    return (cp_stackrec *)(t->arena + (v - 1));
}

/* A new record holding this one sample; its index value, or 0 if full. */
static uint32_t new_record(cp_stacktab *t, const uint64_t *pcs, uint32_t n, uint64_t key,
                           uint64_t key2, uint64_t h, const int64_t *v)
{
    uint64_t words = HDR_WORDS + (uint64_t)n;
    uint64_t top = atomic_load_explicit(&t->hdr->top, memory_order_relaxed);
    do {
        if (top + words > t->arena_words)
            return 0;
    } while (!atomic_compare_exchange_weak_explicit(&t->hdr->top, &top, top + words,
                                                    memory_order_relaxed, memory_order_relaxed));
    cp_stackrec *r = (cp_stackrec *)(t->arena + top);
    for (int i = 0; i < CP_STACKREC_VALS; i++)
        atomic_store_explicit(&r->val[i], v[i], memory_order_relaxed);
    r->hash = h;
    r->n = n;
    r->words = (uint32_t)words;
    r->key = key;
    r->key2 = key2;
    for (uint32_t i = 0; i < n; i++)
        r->pcs[i] = pcs[i];
    atomic_store_explicit(&r->ready, 1, memory_order_release);
    atomic_fetch_add_explicit(&t->hdr->records, 1, memory_order_relaxed);
    return (uint32_t)top + 1;
}

int cp_stacktab_add(cp_stacktab *t, const uint64_t *pcs, uint32_t n, int64_t ns)
{
    return cp_stacktab_add_rec(t, pcs, n, ns, NULL);
}

void cp_stacktab_add_ns(cp_stackrec *rec, int64_t ns)
{
    atomic_fetch_add_explicit(&rec->ns, ns, memory_order_relaxed);
}

int cp_stacktab_add_rec(cp_stacktab *t, const uint64_t *pcs, uint32_t n, int64_t ns,
                        cp_stackrec **rec)
{
    return cp_stacktab_add_key(t, pcs, n, 0, ns, rec);
}

int cp_stacktab_add_key(cp_stacktab *t, const uint64_t *pcs, uint32_t n, uint64_t key,
                        int64_t ns, cp_stackrec **rec)
{
    const int64_t v[CP_STACKREC_VALS] = {1, ns, 0, 0};
    return cp_stacktab_add_vals(t, pcs, n, key, 0, v, rec);
}

static void add_to(cp_stackrec *r, const int64_t *v)
{
    for (int i = 0; i < CP_STACKREC_VALS; i++)
        if (v[i])
            atomic_fetch_add_explicit(&r->val[i], v[i], memory_order_relaxed);
}

int cp_stacktab_add_vals(cp_stacktab *t, const uint64_t *pcs, uint32_t n, uint64_t key,
                         uint64_t key2, const int64_t v[CP_STACKREC_VALS], cp_stackrec **rec)
{
    cp_stackrec *unused;
    if (!rec)
        rec = &unused;
    *rec = NULL;
    if (!t->map) {
        return CPROF_ENOMEM;
    }
    uint64_t h = hash_pcs(pcs, n, key, key2);
    uint32_t mine = 0;
    size_t mask = t->nindex - 1;
    size_t j = h & mask;
    for (int probe = 0; probe < MAX_PROBE; probe++, j = (j + 1) & mask) {
        uint32_t x = atomic_load_explicit(&t->index[j], memory_order_acquire);
        if (x == 0) {
            if (!mine && !(mine = new_record(t, pcs, n, key, key2, h, v)))
                goto lost;
            if (atomic_compare_exchange_strong_explicit(&t->index[j], &x, mine,
                                                        memory_order_release,
                                                        memory_order_acquire)) {
                *rec = at(t, mine);
                return 0;
            }
            /* x is the winner's record now */
        }
        cp_stackrec *r = at(t, x);
        if (same(r, h, pcs, n, key, key2)) {
            if (mine) {
                *rec = at(t, mine);
                return 0; /* our record holds the sample; merged at write */
            }
            add_to(r, v);
            *rec = r;
            return 0;
        }
    }
    if (mine || (mine = new_record(t, pcs, n, key, key2, h, v)) != 0) {
        *rec = at(t, mine);
        return 0; /* unindexed, still in the arena */
    }
lost:
    atomic_fetch_add_explicit(&t->hdr->lost, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&t->hdr->lost_ns, v[1], memory_order_relaxed);
    return CPROF_ENOMEM;
}

const cp_stackrec *cp_stacktab_next(const cp_stacktab *t, const cp_stackrec *prev)
{
    if (!t->map)
        return NULL;
    uint64_t top = atomic_load_explicit(&t->hdr->top, memory_order_acquire);
    uint64_t off = prev ? (uint64_t)((const uint64_t *)prev - t->arena) + prev->words : 0;
    if (off >= top)
        return NULL;
    const cp_stackrec *r = (const cp_stackrec *)(t->arena + off);
    /* An add in flight has taken the room and not yet filled it. */
    return atomic_load_explicit(&r->ready, memory_order_acquire) ? r : NULL;
}

void cp_stacktab_merge(cp_stacktab *t)
{
    size_t mask = t->nindex - 1;
    for (const cp_stackrec *c = cp_stacktab_next(t, NULL); c; c = cp_stacktab_next(t, c)) {
        cp_stackrec *r = (cp_stackrec *)c;
        size_t j = r->hash & mask;
        for (int probe = 0; probe < MAX_PROBE; probe++, j = (j + 1) & mask) {
            uint32_t v = atomic_load_explicit(&t->index[j], memory_order_relaxed);
            if (v == 0)
                break;
            cp_stackrec *k = at(t, v);
            if (same(k, r->hash, r->pcs, r->n, r->key, r->key2)) {
                if (k != r)
                    for (int i = 0; i < CP_STACKREC_VALS; i++)
                        atomic_fetch_add(&k->val[i], atomic_exchange(&r->val[i], 0));
                break;
            }
        }
    }
}

void cp_stacktab_get_stats(const cp_stacktab *t, cp_stacktab_stats *out)
{
    memset(out, 0, sizeof *out);
    if (!t->map)
        return;
    out->records = atomic_load(&t->hdr->records);
    out->lost = atomic_load(&t->hdr->lost);
    out->lost_ns = atomic_load(&t->hdr->lost_ns);
    out->arena_words = (int64_t)atomic_load(&t->hdr->top);
}
