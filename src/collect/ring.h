/* ring.h — bounded multi-producer single-consumer ring of stack samples.
 *
 * Contract: producers are signal handlers on any thread; the consumer is
 * the drain thread.  cp_ring_reserve/cp_ring_commit never block, allocate
 * or take a lock: a full ring makes reserve return NULL and the caller
 * counts the sample as lost.  A producer stopped between reserve and commit
 * (it cannot be: the handler runs to completion) would only delay the
 * consumer at that slot.  The memory comes from mmap at init.
 */
#ifndef CP_COLLECT_RING_H
#define CP_COLLECT_RING_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "collect/unwind.h"

typedef struct cp_ring_slot {
    _Atomic uint64_t seq;  /* Vyukov sequence number */
    int64_t weight_ns;     /* CPU time the sample stands for */
    uint32_t nframes;
    uint32_t flags;
    uint64_t pcs[CP_MAX_FRAMES];
} cp_ring_slot;

typedef struct cp_ring {
    cp_ring_slot *slots;
    size_t mask;              /* nslots - 1 */
    _Atomic uint64_t head;    /* next slot to reserve (producers) */
    char pad[64];
    uint64_t tail;            /* next slot to read (consumer) */
} cp_ring;

/* nslots is rounded up to a power of two.  0 or CPROF_ENOMEM. */
int cp_ring_init(cp_ring *r, size_t nslots);
void cp_ring_destroy(cp_ring *r);
/* Reset to empty; only when no producer or consumer runs (fork child). */
void cp_ring_reset(cp_ring *r);

/* A slot to fill, or NULL when full.  [async-signal-safe] */
cp_ring_slot *cp_ring_reserve(cp_ring *r);
/* Publish a reserved slot.  [async-signal-safe] */
void cp_ring_commit(cp_ring *r, cp_ring_slot *s);

/* The oldest published slot, or NULL; release it after reading.
 * Single consumer only. */
cp_ring_slot *cp_ring_peek(cp_ring *r);
void cp_ring_release(cp_ring *r, cp_ring_slot *s);

#endif
