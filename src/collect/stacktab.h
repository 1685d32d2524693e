/* stacktab.h — a lock-free table of distinct stacks, filled by signal
 * handlers.
 *
 * Contract: cp_stacktab_add() may run in a signal handler on any thread at
 * the same time as on other threads: it never blocks, allocates, or waits
 * for another thread (two threads adding the same new stack at once may
 * each keep a record; cp_stacktab_merge() folds them).  A full table
 * counts the sample and its weight as lost.  Everything else runs when no
 * add is in flight (the profiler's stop, after its handlers drained).
 * The memory is reserved once (MAP_NORESERVE: untouched pages cost
 * nothing) and is not inherited by a forked child (MADV_WIPEONFORK, or
 * the child replaces it with cp_stacktab_atfork_child()).
 */
#ifndef CP_COLLECT_STACKTAB_H
#define CP_COLLECT_STACKTAB_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* One stack and what it was sampled for, in the table's arena. */
typedef struct cp_stackrec {
    _Atomic int64_t count; /* samples (0: folded into another record) */
    _Atomic int64_t ns;    /* CPU nanoseconds */
    uint64_t hash;
    uint32_t n;            /* frames in pcs, innermost first */
    uint32_t words;        /* size of the record in uint64 words */
    uint64_t key;          /* part of the identity besides the frames: the
                            * sample's label set (labels.h), 0 for none */
    uint64_t pcs[];
} cp_stackrec;

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
} cp_stacktab;

/* Reserve a table with nindex slots (rounded up to a power of two) and an
 * arena of arena_words words.  0 or CPROF_ENOMEM. */
int cp_stacktab_init(cp_stacktab *t, size_t nindex, size_t arena_words);
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
/* Add ns of CPU time to a record without counting a sample.
 * [async-signal-safe] */
void cp_stacktab_add_ns(cp_stackrec *rec, int64_t ns);

/* Fold records of the same stack into one (the others keep count 0).  No
 * add may be in flight. */
void cp_stacktab_merge(cp_stacktab *t);

/* Records in arena order: start with prev = NULL; NULL at the end.  No add
 * may be in flight.  Records with count and ns 0 (folded) are to be skipped. */
const cp_stackrec *cp_stacktab_next(const cp_stacktab *t, const cp_stackrec *prev);

typedef struct cp_stacktab_stats {
    int64_t records;      /* records in the arena */
    int64_t lost, lost_ns; /* samples refused (table full) and their weight */
    int64_t arena_words;  /* arena words used */
} cp_stacktab_stats;
void cp_stacktab_get_stats(const cp_stacktab *t, cp_stacktab_stats *out);

#endif
