/* stacktab.h — a lock-free table of distinct stacks, filled by signal
 * handlers and malloc hooks: the one stack table of every collector (CPU
 * samples, heap buckets, mutex/block/I/O events).
 *
 * A record's identity is its frames plus two key words (e.g. the thread's
 * label set pointer, and an allocation size or an event tag); it carries
 * four int64 values the collector gives meaning to (CPU: samples and
 * nanoseconds; heap: allocated objects and bytes, freed objects and bytes;
 * events: count and two sums).  Records never move: a collector may keep a
 * pointer to one and add to its values later (atomically).
 *
 * Contract: cp_stacktab_add*() may run in a signal handler or inside a
 * malloc hook on any thread at the same time as on other threads: it never
 * blocks, allocates, or waits for another thread (two threads adding the
 * same new stack at once may each keep a record; cp_stacktab_merge() folds
 * them, or the profile builder folds their samples).  A full table counts
 * the sample and its first two values as lost.  cp_stacktab_next() may run
 * while adds are in flight: it sees every record whose add completed before
 * and maybe later ones.  merge, reset and destroy run when no add is in
 * flight (the profiler's stop, after its handlers drained).
 * The memory is reserved once (MAP_NORESERVE: untouched pages cost
 * nothing) and is not inherited by a forked child (MADV_WIPEONFORK, or
 * the child replaces it with cp_stacktab_atfork_child()) unless the table
 * was made with CP_STACKTAB_FORK_KEEP.
 */
#ifndef CP_COLLECT_STACKTAB_H
#define CP_COLLECT_STACKTAB_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One stack and what it was sampled for, in the table's arena. */
enum { CP_STACKREC_VALS = 4 };
typedef struct cp_stackrec {
    union {
        _Atomic int64_t val[CP_STACKREC_VALS]; /* all 0: folded into another */
        struct {
            _Atomic int64_t count; /* CPU: samples */
            _Atomic int64_t ns;    /* CPU: nanoseconds */
        };
    };
    uint64_t hash;
    uint32_t n;            /* frames in pcs, innermost first */
    uint32_t words;        /* size of the record in uint64 words */
    uint64_t key;          /* part of the identity besides the frames: the
                            * sample's label set (labels.h), 0 for none */
    uint64_t key2;         /* more identity: a size, a tag; 0 for none */
    _Atomic uint64_t ready; /* set (release) once the record is whole */
    uint64_t pcs[];
} cp_stackrec;

/* Whether every value of r is 0 (a folded duplicate, or a record found
 * and not counted yet): writers skip it.  [thread-safe] */
static inline bool cp_stackrec_empty(const cp_stackrec *r)
{
    for (int i = 0; i < CP_STACKREC_VALS; i++)
        if (atomic_load_explicit(&r->val[i], memory_order_relaxed))
            return false;
    return true;
}

typedef struct cp_stacktab_hdr cp_stacktab_hdr;

typedef struct cp_stacktab {
    cp_stacktab_hdr *hdr;     /* counters, inside the mapping */
    _Atomic uint32_t *index;  /* arena offset + 1 of a record, 0 = empty */
    uint64_t *arena;
    size_t nindex;            /* power of two */
    size_t arena_words;
    void *map;
    size_t map_len;
    int wiped_on_fork;        /* MADV_WIPEONFORK took */
    int keep_on_fork;         /* CP_STACKTAB_FORK_KEEP */
} cp_stacktab;

/* Reserve a table with nindex slots (rounded up to a power of two) and an
 * arena of arena_words words.  0 or CPROF_ENOMEM.  [thread-safe] (mmap) */
int cp_stacktab_init(cp_stacktab *t, size_t nindex, size_t arena_words);
/* The same with flags: CP_STACKTAB_FORK_KEEP keeps the records in a forked
 * child (the heap's: the child's live blocks point at them), else the
 * child starts empty.  [hook-safe] */
#define CP_STACKTAB_FORK_KEEP 1
int cp_stacktab_init_flags(cp_stacktab *t, size_t nindex, size_t arena_words, int flags);
void cp_stacktab_destroy(cp_stacktab *t);
/* Empty it and give its pages back.  No add may be in flight. */
void cp_stacktab_reset(cp_stacktab *t);
/* In a forked child: make sure the table is empty without touching the
 * parent's pages. */
void cp_stacktab_atfork_child(cp_stacktab *t);

/* Count one sample of weight ns on pcs[0..n).  0, or CPROF_ENOMEM when
 * the table is full (the sample is then counted as lost).
 * [async-signal-safe] */
int cp_stacktab_add(cp_stacktab *t, const uint64_t *pcs, uint32_t n, int64_t ns);
/* The same, also handing back the record that holds the sample (NULL when
 * lost), to which cp_stacktab_add_ns can later add CPU time.
 * [async-signal-safe] */
int cp_stacktab_add_rec(cp_stacktab *t, const uint64_t *pcs, uint32_t n, int64_t ns,
                        cp_stackrec **rec);
/* The same for a sample that also carries key (e.g. the thread's label
 * set pointer): records differ when their frames or their keys differ.
 * cp_stacktab_add and _add_rec use key 0.  [async-signal-safe] */
int cp_stacktab_add_key(cp_stacktab *t, const uint64_t *pcs, uint32_t n, uint64_t key,
                        int64_t ns, cp_stackrec **rec);
/* The general add: the record of (pcs[0..n), key, key2) gets v[i] added
 * to its val[i] (a new record starts with v; v all 0 finds or makes the
 * record without counting anything).  *rec (if rec) receives the record,
 * NULL when lost.  0, or CPROF_ENOMEM when the table is full (counted as
 * lost with v[0] and v[1]).  [async-signal-safe] [hook-safe] */
int cp_stacktab_add_vals(cp_stacktab *t, const uint64_t *pcs, uint32_t n, uint64_t key,
                         uint64_t key2, const int64_t v[CP_STACKREC_VALS], cp_stackrec **rec);
/* Add ns of CPU time to a record without counting a sample.
 * [async-signal-safe] */
void cp_stacktab_add_ns(cp_stackrec *rec, int64_t ns);

/* Fold records of the same stack into one (the others keep count 0).  No
 * add may be in flight. */
void cp_stacktab_merge(cp_stacktab *t);

/* Records in arena order: start with prev = NULL; NULL at the end (or at
 * a record still being written by an add in flight).  Records whose values
 * are all 0 (folded, or found and not yet counted) are to be skipped.
 * [thread-safe] */
const cp_stackrec *cp_stacktab_next(const cp_stacktab *t, const cp_stackrec *prev);

typedef struct cp_stacktab_stats {
    int64_t records;      /* records in the arena */
    int64_t lost, lost_ns; /* samples refused (table full) and their val[1] */
    int64_t arena_words;  /* arena words used */
} cp_stacktab_stats;
void cp_stacktab_get_stats(const cp_stacktab *t, cp_stacktab_stats *out);

#endif
