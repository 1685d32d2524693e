/* ring.c — the signal handler's hand-off to the drain thread.
 *
 * Data structure: Dmitry Vyukov's bounded queue.  Each slot carries a
 * sequence number; a producer claims slot `pos` with a CAS on `head` when
 * slot.seq == pos, fills it, then sets seq = pos + 1 to publish.  The
 * consumer reads slot `tail` when seq == tail + 1 and hands it back with
 * seq = tail + nslots.  Producers on different threads never wait for each
 * other; nothing allocates after init.  Slots are fixed-size (a full
 * CP_MAX_FRAMES stack) so the unwinder writes straight into the slot.
 *
 * Alternatives rejected: per-thread rings (no cross-thread contention, but
 * needs a registry the drain thread walks and per-thread memory for threads
 * that may live a millisecond); a lock (a handler interrupting the lock
 * holder on the same thread would deadlock); Go's profBuf (variable-length
 * records save memory, but the fixed-slot queue is simpler and 2 MiB is a
 * fair price while profiling).
 */
#include "collect/ring.h"

#include <string.h>
#include <sys/mman.h>

#include "cprof.h"

int cp_ring_init(cp_ring *r, size_t nslots)
{
    size_t n = 1;
    while (n < nslots)
        n <<= 1;
    void *p = mmap(NULL, n * sizeof(cp_ring_slot), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return CPROF_ENOMEM;
    r->slots = p;
    r->mask = n - 1;
    cp_ring_reset(r);
    return 0;
}

void cp_ring_reset(cp_ring *r)
{
    for (size_t i = 0; i <= r->mask; i++)
        atomic_store_explicit(&r->slots[i].seq, i, memory_order_relaxed);
    atomic_store_explicit(&r->head, 0, memory_order_release);
    r->tail = 0;
}

void cp_ring_destroy(cp_ring *r)
{
    if (r->slots)
        munmap(r->slots, (r->mask + 1) * sizeof(cp_ring_slot));
    r->slots = NULL;
}

cp_ring_slot *cp_ring_reserve(cp_ring *r)
{
    uint64_t pos = atomic_load_explicit(&r->head, memory_order_relaxed);
    for (;;) {
        cp_ring_slot *s = &r->slots[pos & r->mask];
        uint64_t seq = atomic_load_explicit(&s->seq, memory_order_acquire);
        int64_t dif = (int64_t)(seq - pos);
        if (dif == 0) {
            if (atomic_compare_exchange_weak_explicit(&r->head, &pos, pos + 1,
                                                      memory_order_relaxed,
                                                      memory_order_relaxed))
                return s;
        } else if (dif < 0) {
            return NULL; /* full: the consumer has not freed this slot */
        } else {
            pos = atomic_load_explicit(&r->head, memory_order_relaxed);
        }
    }
}

void cp_ring_commit(cp_ring *r, cp_ring_slot *s)
{
    uint64_t seq = atomic_load_explicit(&s->seq, memory_order_relaxed);
    atomic_store_explicit(&s->seq, seq + 1, memory_order_release);
}

cp_ring_slot *cp_ring_peek(cp_ring *r)
{
    cp_ring_slot *s = &r->slots[r->tail & r->mask];
    uint64_t seq = atomic_load_explicit(&s->seq, memory_order_acquire);
    return seq == r->tail + 1 ? s : NULL;
}

void cp_ring_release(cp_ring *r, cp_ring_slot *s)
{
    atomic_store_explicit(&s->seq, r->tail + r->mask + 1, memory_order_release);
    r->tail++;
}
