/* events.c — the sampled-event table shared by the mutex, block and I/O
 * profiles (see events.h), and its pprof writer.
 *
 * Data structure: the collectors' stack table (stacktab.c), whose record
 * identity is (PCs, key, key2) and which carries four values: here the
 * key is the label set pointer, key2 the tag, the values the event count
 * and the two sums.  An add never waits and never allocates; two threads
 * adding the same new key at once may each keep a record, which the
 * builder folds (merge_samples) — the table's in-place merge is not used,
 * since a profile is built while other threads keep adding (HTTP,
 * periodic writes), and stacktab's reader stops at a record still being
 * written.  PCs become locations in the step every writer shares
 * (locate.c), so a lock taken in code dlclose'd since keeps its names.
 *
 * Rejected: a mutex-protected hash map (the hooks are the very lock calls
 * being profiled, and the table is hit from inside malloc); per-thread
 * tables (a registry to walk at write time, memory per thread); a copy of
 * the stack table with room for a label and a tag (the previous design:
 * the same hashing, probing and record header twice).
 */
#include "collect/events.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "collect/dlmaps.h"
#include "collect/heap.h"
#include "collect/labelsout.h"
#include "collect/locate.h"
#include "collect/output.h"
#include "collect/unwind.h"
#include "cprof.h"
#include "profile/builder.h"

int cp_events_init(cp_events *t, size_t nindex, size_t arena_words)
{
    cp_dlmaps_enable();
    return cp_stacktab_init(t, nindex ? nindex : CP_EVENTS_DEFAULT_INDEX,
                            arena_words ? arena_words : CP_EVENTS_DEFAULT_WORDS);
}

void cp_events_destroy(cp_events *t)
{
    cp_stacktab_destroy(t);
}

void cp_events_atfork_child(cp_events *t)
{
    cp_stacktab_atfork_child(t); /* records nothing rather than the parent's copy */
}

int cp_events_add(cp_events *t, const uint64_t *pcs, uint32_t n, const cp_labelset *l,
                  uint32_t tag, int64_t a, int64_t b)
{
    const int64_t v[CP_STACKREC_VALS] = {1, a, b, 0};
    return cp_stacktab_add_vals(t, pcs, n, (uint64_t)(uintptr_t)l, tag, v, NULL);
}

void cp_events_get_stats(const cp_events *t, cp_events_stats *out)
{
    memset(out, 0, sizeof *out);
    if (!t)
        return;
    cp_stacktab_stats st;
    cp_stacktab_get_stats(t, &st);
    out->records = st.records;
    out->lost = st.lost;
    out->arena_words = st.arena_words;
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
    uint64_t *ids = NULL;
    cp_locate loc;
    cp_pbuilder *b = cp_pbuilder_new(true);
    cp_locate_init(&loc, b);
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
    for (const cp_stackrec *r = t ? cp_stacktab_next(t, NULL) : NULL; r;
         r = cp_stacktab_next(t, r)) {
        int64_t cnt = atomic_load_explicit(&r->val[0], memory_order_relaxed);
        int64_t v0 = atomic_load_explicit(&r->val[1], memory_order_relaxed);
        int64_t v1 = atomic_load_explicit(&r->val[2], memory_order_relaxed);
        if (!cnt)
            continue;
        uint32_t tag = (uint32_t)r->key2;
        uint32_t n = r->n < CP_MAX_FRAMES - 1 ? r->n : CP_MAX_FRAMES - 1;
        bool named = tag && tag < s->ntags && s->tag_names && s->tag_names[tag];
        uint32_t lead = named && s->tag_frame ? 1 : 0;
        if (lead && !(ids[0] = cp_pbuilder_named_location(b, s->tag_names[tag])))
            goto out;
        if (cp_locate_stack(&loc, r->pcs, n, ids + lead))
            goto out;
        cp_label_in labs[CP_LABELSOUT_MAX + 1];
        size_t nl = cp_labelsout_fill((const cp_labelset *)(uintptr_t)r->key, labs,
                                      CP_LABELSOUT_MAX);
        if (named && !s->tag_frame && s->tag_key)
            labs[nl++] = (cp_label_in){.key = s->tag_key, .str = s->tag_names[tag]};
        int64_t v[4];
        for (size_t i = 0; i < s->ncols; i++)
            v[i] = col_value(&s->cols[i], cnt, v0, v1);
        if (cp_pbuilder_sample(b, ids, lead + n, v, labs, nl))
            goto out;
    }
    cp_events_stats st;
    cp_events_get_stats(t, &st);
    int64_t lost = st.lost;
    if (lost > 0) {
        int64_t v[4] = {0};
        for (size_t i = 0; i < s->ncols; i++)
            v[i] = s->cols[i].src == CP_EV_COUNT ? col_value(&s->cols[i], lost, 0, 0) : 0;
        if (cp_locate_lost(&loc, v))
            goto out;
    }
    rc = cp_locate_finish(&loc, true, out);
out:
    cp_locate_free(&loc);
    cp_pbuilder_free(b);
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
