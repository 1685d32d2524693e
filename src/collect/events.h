/* events.h — a table of sampled events by (stack, label set, tag), filled
 * from interposed libc calls on any thread, written as a pprof profile.
 *
 * The mutex, block and I/O profiles keep their samples here, in the
 * collectors' one stack table (stacktab.h).  Each
 * distinct key — the PCs of a stack (cp_unwind_here), the thread's label
 * set pointer (cp_labels_current) and a small tag (0 = none; the I/O
 * profile's file kind) — holds an event count and two int64 sums (v0, v1:
 * e.g. contentions and delay, or bytes and nanoseconds).
 *
 * Contract:
 *  - cp_events_add may run on many threads at once, inside interposed
 *    calls and inside malloc hooks: it never allocates with malloc, never
 *    takes a lock, never waits for another thread, never does I/O.  It is
 *    not async-signal-safe only in that an add interrupted by a signal
 *    handler that adds again may leave a duplicate record (folded at write).
 *  - A full table counts the event as lost (shown as a named frame).
 *  - cp_events_build may run while adds are in flight (HTTP, periodic
 *    writes): it sees every record whose add completed before it started
 *    and maybe some later ones; values are read atomically.
 *  - Memory is reserved once (MAP_NORESERVE) and not inherited by a forked
 *    child (MADV_WIPEONFORK, else cp_events_atfork_child maps fresh pages):
 *    a child starts empty.
 *  - A zero-initialised cp_events (never init'ed) is a valid empty table:
 *    add counts nothing, build writes an empty profile.
 *
 * Example (the mutex profile):
 *     static cp_events tab;
 *     cp_events_init(&tab, 0, 0);
 *     ...in the hook:  uint64_t pcs[64]; int n = cp_unwind_here(pcs, 64, 1);
 *                      cp_events_add(&tab, pcs, n, cp_labels_current(), 0, 1, ns);
 *     ...at write:     cp_events_spec s = {...}; cp_events_build(&tab, &s, &p);
 */
#ifndef CP_COLLECT_EVENTS_H
#define CP_COLLECT_EVENTS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "collect/labels.h"
#include "collect/stacktab.h"
#include "profile/profile.h"

/* The table is the collectors' one stack table (stacktab.h): key the
 * label set pointer, key2 the tag, values count, v0, v1. */
typedef cp_stacktab cp_events;

/* Defaults when 0 is passed: 16384 index slots, 2 Mi arena words (16 MiB
 * reserved, touched only as records arrive). */
#define CP_EVENTS_DEFAULT_INDEX 16384
#define CP_EVENTS_DEFAULT_WORDS (2u << 20)

/* Reserve the table.  0 or CPROF_ENOMEM.  [thread-safe] (mmap only) */
int cp_events_init(cp_events *t, size_t nindex, size_t arena_words);
void cp_events_destroy(cp_events *t);
/* In a forked child, when MADV_WIPEONFORK did not take: fresh pages. */
void cp_events_atfork_child(cp_events *t);

/* Add one event: count += 1, v0 += a, v1 += b on the record of (pcs[0..n),
 * labels, tag).  0, or CPROF_ENOMEM when the table is full (counted as
 * lost).  [hook-safe] [thread-safe] */
int cp_events_add(cp_events *t, const uint64_t *pcs, uint32_t n, const cp_labelset *labels,
                  uint32_t tag, int64_t a, int64_t b);

/* Where a profile column's value comes from: the event count or a sum,
 * times mul, divided by div (div 0 = 1), rounded to nearest. */
enum { CP_EV_COUNT = 0, CP_EV_V0 = 1, CP_EV_V1 = 2 };
typedef struct cp_events_col {
    const char *type, *unit; /* the pprof sample type, e.g. "delay", "nanoseconds" */
    int src;                 /* CP_EV_* */
    int64_t mul, div;
} cp_events_col;

typedef struct cp_events_spec {
    const cp_events_col *cols; /* 1..4 columns */
    size_t ncols;
    const char *period_type, *period_unit; /* NULL: no period type */
    int64_t period;
    const char *default_type;              /* NULL: pprof's default (the last) */
    const char *comment;                   /* NULL: none */
    /* Tags as a string label: tag_names[tag] under tag_key (tag 0 or out
     * of range: no label). */
    const char *tag_key;
    const char *const *tag_names;
    size_t ntags;
    /* Instead of a label, tag_names[tag] becomes the sample's leaf frame
     * (a named location above the stack), e.g. the lock call waited in. */
    bool tag_frame;
    int64_t time_ns, duration_ns;          /* profile times; 0 time = now */
} cp_events_spec;

/* Build the symbolized profile (ELF names, mappings with build ids, the
 * unwinder's "[N frames elided]" markers, labels as string labels) from t
 * (NULL or never init'ed: no samples, still the spec's sample types).
 * Allocates: marks the caller busy for the heap profiler itself.
 * 0 or a negative code.  [thread-safe] */
int cp_events_build(cp_events *t, const cp_events_spec *spec, cp_profile **out);

typedef struct cp_events_stats {
    int64_t records, lost, arena_words;
} cp_events_stats;
void cp_events_get_stats(const cp_events *t, cp_events_stats *out);

#endif
