/* events.c — the sampled-event table shared by the mutex, block and I/O
 * profiles (see events.h), and its pprof writer.
 *
 * Data structure: as stacktab.c (the CPU profiler's table), one anonymous
 * mapping holds a header of counters, an open-addressing index of uint32
 * (linear probing, at most MAX_PROBE slots) and an arena of variable-size
 * records.  A record's key is its PCs plus the label set pointer and a
 * tag; its values are three atomic int64 (count, v0, v1).  An add hashes
 * the key and probes: a matching record gets atomic adds; at the first
 * empty slot the add takes room in the arena (CAS on the top), writes the
 * record, marks it ready (release) and publishes it by CASing the slot.
 * The loser of a slot race probes on with its record in hand; a record
 * that finds no slot stays in the arena unindexed.  Either way nobody
 * waits, and duplicates are folded by the builder (merge_samples), which
 * reads records in arena order and skips those not yet marked ready — so
 * a profile can be built while other threads keep adding (HTTP, periodic
 * writes), which stacktab's in-place merge does not allow.
 *
 * Why not stacktab itself: its records have two values and no room for a
 * label pointer or tag, and its writer merges records in place, which
 * needs every add stopped; the events profiles are cumulative and read
 * while the program runs.  The mapping and location code is shared
 * (cpuwrite's elided marker, procmaps, output's symbolizer).
 *
 * Rejected: a mutex-protected hash map (the hooks are the very lock calls
 * being profiled, and the table is hit from inside malloc); per-thread
 * tables (a registry to walk at write time, memory per thread).
 */
#include "collect/events.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "base/hashmap.h"
#include "collect/cpuwrite.h"
#include "collect/heap.h"
#include "collect/labelsout.h"
#include "collect/output.h"
#include "collect/procmaps.h"
#include "collect/unwind.h"
#include "cprof.h"
#include "profile/builder.h"

#ifndef MADV_WIPEONFORK
#define MADV_WIPEONFORK 18
#endif

enum { MAX_PROBE = 64 };

struct cp_events_hdr {
    _Atomic uint64_t top; /* arena words used */
    _Atomic int64_t records;
    _Atomic int64_t lost;
    char pad[4096 - 24];
};

typedef struct rec {
    _Atomic int64_t count, v0, v1;
    uint64_t hash;
    const cp_labelset *labels;
    uint32_t tag;
    uint32_t n;            /* frames */
    uint32_t words;        /* record size in words */
    _Atomic uint32_t ready;
    uint64_t pcs[];
} rec;

#define REC_WORDS (sizeof(rec) / 8)

static size_t page_round(size_t n)
{
    return (n + 4095) & ~(size_t)4095;
}

static void *reserve(size_t len, void *at)
{
    int fl = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | (at ? MAP_FIXED : 0);
    return mmap(at, len, PROT_READ | PROT_WRITE, fl, -1, 0);
}

int cp_events_init(cp_events *t, size_t nindex, size_t arena_words)
{
    if (!nindex)
        nindex = CP_EVENTS_DEFAULT_INDEX;
    if (!arena_words)
        arena_words = CP_EVENTS_DEFAULT_WORDS;
    size_t n = 1;
    while (n < nindex)
        n <<= 1;
    if (arena_words < 64)
        arena_words = 64;
    if (arena_words > UINT32_MAX - 1)
        arena_words = UINT32_MAX - 1;
    size_t idx_len = page_round(n * sizeof(uint32_t));
    size_t len = sizeof(cp_events_hdr) + idx_len + page_round(arena_words * 8);
    void *p = reserve(len, NULL);
    if (p == MAP_FAILED)
        return CPROF_ENOMEM;
    cp_events nt = {0};
    nt.map = p;
    nt.map_len = len;
    nt.hdr = p;
    nt.index = (_Atomic uint32_t *)((char *)p + sizeof(cp_events_hdr));
    nt.arena = (uint64_t *)((char *)nt.index + idx_len);
    nt.nindex = n;
    nt.arena_words = arena_words;
    nt.wiped_on_fork = madvise(p, len, MADV_WIPEONFORK) == 0;
    *t = nt;
    return 0;
}

void cp_events_destroy(cp_events *t)
{
    if (t->map)
        munmap(t->map, t->map_len);
    memset(t, 0, sizeof *t);
}

void cp_events_atfork_child(cp_events *t)
{
    if (t->map && !t->wiped_on_fork && reserve(t->map_len, t->map) == MAP_FAILED)
        memset(t, 0, sizeof *t); /* records nothing rather than the parent's copy */
}

static uint64_t hash_key(const uint64_t *pcs, uint32_t n, const cp_labelset *l, uint32_t tag)
{
    uint64_t h = cp_hash_u64(0x9e3779b97f4a7c15ull ^ ((uint64_t)n << 32 | tag));
    h = cp_hash_u64(h ^ (uint64_t)(uintptr_t)l);
    for (uint32_t i = 0; i < n; i++)
        h = cp_hash_u64(h ^ pcs[i]) + i;
    return h | 1;
}

/* Plain loops: memcmp may be bound lazily (docs/signal-safety.md). */
static bool same(const rec *r, uint64_t h, const uint64_t *pcs, uint32_t n,
                 const cp_labelset *l, uint32_t tag)
{
    if (r->hash != h || r->n != n || r->labels != l || r->tag != tag)
        return false;
    for (uint32_t i = 0; i < n; i++)
        if (r->pcs[i] != pcs[i])
            return false;
    return true;
}

static rec *at(const cp_events *t, uint32_t v)
{
    return (rec *)(t->arena + (v - 1));
}

static uint32_t new_record(cp_events *t, const uint64_t *pcs, uint32_t n, uint64_t h,
                           const cp_labelset *l, uint32_t tag, int64_t a, int64_t b)
{
    uint64_t words = REC_WORDS + (uint64_t)n;
    uint64_t top = atomic_load_explicit(&t->hdr->top, memory_order_relaxed);
    do {
        if (top + words > t->arena_words)
            return 0;
    } while (!atomic_compare_exchange_weak_explicit(&t->hdr->top, &top, top + words,
                                                    memory_order_relaxed, memory_order_relaxed));
    rec *r = (rec *)(t->arena + top);
    atomic_store_explicit(&r->count, 1, memory_order_relaxed);
    atomic_store_explicit(&r->v0, a, memory_order_relaxed);
    atomic_store_explicit(&r->v1, b, memory_order_relaxed);
    r->hash = h;
    r->labels = l;
    r->tag = tag;
    r->n = n;
    r->words = (uint32_t)words;
    for (uint32_t i = 0; i < n; i++)
        r->pcs[i] = pcs[i];
    atomic_store_explicit(&r->ready, 1, memory_order_release);
    atomic_fetch_add_explicit(&t->hdr->records, 1, memory_order_relaxed);
    return (uint32_t)top + 1;
}

int cp_events_add(cp_events *t, const uint64_t *pcs, uint32_t n, const cp_labelset *l,
                  uint32_t tag, int64_t a, int64_t b)
{
    if (!t->map)
        return CPROF_ENOMEM;
    uint64_t h = hash_key(pcs, n, l, tag);
    uint32_t mine = 0;
    size_t mask = t->nindex - 1;
    size_t j = h & mask;
    for (int probe = 0; probe < MAX_PROBE; probe++, j = (j + 1) & mask) {
        uint32_t v = atomic_load_explicit(&t->index[j], memory_order_acquire);
        if (v == 0) {
            if (!mine && !(mine = new_record(t, pcs, n, h, l, tag, a, b)))
                goto lost;
            if (atomic_compare_exchange_strong_explicit(&t->index[j], &v, mine,
                                                        memory_order_release,
                                                        memory_order_acquire))
                return 0;
        }
        rec *r = at(t, v);
        if (same(r, h, pcs, n, l, tag)) {
            if (mine)
                return 0; /* our record holds the event; folded at write */
            atomic_fetch_add_explicit(&r->count, 1, memory_order_relaxed);
            atomic_fetch_add_explicit(&r->v0, a, memory_order_relaxed);
            atomic_fetch_add_explicit(&r->v1, b, memory_order_relaxed);
            return 0;
        }
    }
    if (mine || new_record(t, pcs, n, h, l, tag, a, b))
        return 0; /* unindexed, still in the arena */
lost:
    atomic_fetch_add_explicit(&t->hdr->lost, 1, memory_order_relaxed);
    return CPROF_ENOMEM;
}

void cp_events_get_stats(const cp_events *t, cp_events_stats *out)
{
    memset(out, 0, sizeof *out);
    if (!t || !t->map)
        return;
    out->records = atomic_load(&t->hdr->records);
    out->lost = atomic_load(&t->hdr->lost);
    out->arena_words = (int64_t)atomic_load(&t->hdr->top);
}

/* ---- writer ---- */

static int64_t col_value(const cp_events_col *c, int64_t count, int64_t v0, int64_t v1)
{
    int64_t x = c->src == CP_EV_V0 ? v0 : c->src == CP_EV_V1 ? v1 : count;
    int64_t mul = c->mul ? c->mul : 1, div = c->div > 0 ? c->div : 1;
    if (mul == 1 && div == 1)
        return x;
    __int128 y = (__int128)x * mul;
    y = (y + (y >= 0 ? div / 2 : -(div / 2))) / div;
    if (y > INT64_MAX)
        return INT64_MAX;
    if (y < INT64_MIN)
        return INT64_MIN;
    return (int64_t)y;
}

static int build(cp_events *t, const cp_events_spec *s, cp_profile **out)
{
    int rc = CPROF_ENOMEM;
    cp_map locs = {0};
    uint64_t *ids = NULL;
    cp_profile *raw = NULL;
    cp_procmaps *pm = NULL;
    cp_pbuilder *b = cp_pbuilder_new(true);
    if (!b)
        goto out;
    if (s->ncols < 1 || s->ncols > 4) {
        rc = CPROF_EINVAL;
        goto out;
    }
    for (size_t i = 0; i < s->ncols; i++)
        if (cp_pbuilder_sample_type(b, s->cols[i].type, s->cols[i].unit))
            goto out;
    if (s->period_type && cp_pbuilder_period(b, s->period_type, s->period_unit, s->period))
        goto out;
    if (s->default_type && cp_pbuilder_default_sample_type(b, s->default_type))
        goto out;
    if (s->comment && cp_pbuilder_comment(b, s->comment))
        goto out;
    int64_t now = s->time_ns;
    if (!now) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        now = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    }
    cp_pbuilder_times(b, now, s->duration_ns);
    if (!(ids = malloc(CP_MAX_FRAMES * sizeof *ids)))
        goto out;
    bool any = false;
    uint64_t top = t && t->map ? atomic_load_explicit(&t->hdr->top, memory_order_acquire) : 0;
    for (uint64_t off = 0; off < top;) {
        rec *r = (rec *)(t->arena + off);
        if (!atomic_load_explicit(&r->ready, memory_order_acquire))
            break; /* being written now: this and later records next time */
        off += r->words;
        int64_t cnt = atomic_load_explicit(&r->count, memory_order_relaxed);
        int64_t v0 = atomic_load_explicit(&r->v0, memory_order_relaxed);
        int64_t v1 = atomic_load_explicit(&r->v1, memory_order_relaxed);
        if (!cnt)
            continue;
        uint32_t n = r->n < CP_MAX_FRAMES - 1 ? r->n : CP_MAX_FRAMES - 1;
        bool named = r->tag && r->tag < s->ntags && s->tag_names && s->tag_names[r->tag];
        uint32_t lead = named && s->tag_frame ? 1 : 0;
        if (lead && !(ids[0] = cp_pbuilder_named_location(b, s->tag_names[r->tag])))
            goto out;
        if (!any) {
            pm = cp_procmaps_load(); /* NULL: addresses without mappings */
            any = true;
        }
        for (uint32_t k = 0; k < n; k++) {
            bool inserted;
            uint64_t *slot = cp_map_slot(&locs, r->pcs[k], 0, &inserted);
            if (!slot)
                goto out;
            if (inserted) {
                uint64_t id;
                if (cp_unwind_elided(r->pcs[k], NULL, NULL))
                    id = cp_cpuwrite_elided_location(b, r->pcs[k]);
                else
                    id = cp_pbuilder_location(b, pm ? cp_procmaps_mapping_id(pm, b, r->pcs[k]) : 0,
                                              r->pcs[k], NULL, 0, false);
                if (!id)
                    goto out;
                *slot = id;
            }
            ids[lead + k] = *slot;
        }
        cp_label_in labs[CP_LABELSOUT_MAX + 1];
        size_t nl = cp_labelsout_fill(r->labels, labs, CP_LABELSOUT_MAX);
        if (named && !s->tag_frame && s->tag_key)
            labs[nl++] = (cp_label_in){.key = s->tag_key, .str = s->tag_names[r->tag]};
        int64_t v[4];
        for (size_t i = 0; i < s->ncols; i++)
            v[i] = col_value(&s->cols[i], cnt, v0, v1);
        if (cp_pbuilder_sample(b, ids, lead + n, v, labs, nl))
            goto out;
    }
    int64_t lost = t && t->map ? atomic_load(&t->hdr->lost) : 0;
    if (lost > 0) {
        uint64_t lid = cp_pbuilder_named_location(b, CP_LOST_FRAME);
        int64_t v[4] = {0};
        for (size_t i = 0; i < s->ncols; i++)
            v[i] = s->cols[i].src == CP_EV_COUNT ? col_value(&s->cols[i], lost, 0, 0) : 0;
        if (!lid || cp_pbuilder_sample(b, &lid, 1, v, NULL, 0))
            goto out;
    }
    raw = cp_pbuilder_finish(b);
    if (!raw)
        goto out;
    *out = any ? cp_output_symbolize(raw) : raw;
    raw = NULL;
    rc = 0;
out:
    cp_profile_free(raw);
    cp_pbuilder_free(b);
    if (pm)
        cp_procmaps_free(pm);
    cp_map_free(&locs);
    free(ids);
    return rc;
}

int cp_events_build(cp_events *t, const cp_events_spec *s, cp_profile **out)
{
    int busy = cp_heap_busy_enter();
    int rc = build(t, s, out);
    cp_heap_busy_leave(busy);
    return rc;
}
