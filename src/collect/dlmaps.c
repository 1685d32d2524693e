/* dlmaps.c — snapshots of the code mappings taken before each dlclose
 * (see dlmaps.h).
 *
 * Data structure: a fixed array of snapshot pointers and an atomic count
 * of slots taken.  A note reads /proc/self/maps outside any lock (the
 * loader's lock may be held by a thread inside dlopen whose library
 * constructor calls dlclose), takes a slot with an atomic add and
 * publishes the snapshot into it with a release store; readers walk the
 * slots taken and skip a NULL one (being published).  Snapshots are never
 * freed, so a reader needs no lock and a forked child (whose other threads
 * vanished mid-note) sees either a whole snapshot or NULL.
 *
 * Rejected: a mutex-guarded growable list (the previous CPU-only notes:
 * a writer had to borrow the list, so two writers at once — HTTP's heap
 * and the CPU stop — could not both read it, and fork needed the mutex in
 * the atfork order); retiring only the unloaded library's entries (the
 * loader's list no longer holds them once dlclose returned, and comparing
 * two snapshots per dlclose costs what one more snapshot costs).
 */
#include "collect/dlmaps.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "collect/heap.h"

static atomic_int enabled;
static atomic_size_t taken;
static _Atomic(cp_procmaps *) slots[CP_DLMAPS_MAX];
static atomic_uint_least64_t overflow;

void cp_dlmaps_enable(void)
{
    atomic_store_explicit(&enabled, 1, memory_order_relaxed);
}

size_t cp_dlmaps_count(void)
{
    size_t n = atomic_load_explicit(&taken, memory_order_acquire);
    return n < CP_DLMAPS_MAX ? n : CP_DLMAPS_MAX;
}

const cp_procmaps *cp_dlmaps_get(size_t i)
{
    return i < CP_DLMAPS_MAX ? atomic_load_explicit(&slots[i], memory_order_acquire) : NULL;
}

uint64_t cp_dlmaps_overflow(void)
{
    return atomic_load_explicit(&overflow, memory_order_relaxed);
}

/* The stamp of the newest published note, 0 if none. */
static uint64_t newest_stamp(void)
{
    for (size_t i = cp_dlmaps_count(); i > 0; i--) {
        const cp_procmaps *m = cp_dlmaps_get(i - 1);
        if (m)
            return cp_procmaps_stamp(m);
    }
    return 0;
}

void cp_dlmaps_note(void)
{
    if (!atomic_load_explicit(&enabled, memory_order_relaxed))
        return;
    int busy = cp_heap_busy_enter(); /* the profiler's own allocations */
    int cs;
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cs); /* reads a file */
    bool same;
    cp_procmaps *pm = cp_procmaps_load_if_changed(newest_stamp(), &same);
    if (pm) {
        size_t i = atomic_fetch_add_explicit(&taken, 1, memory_order_acq_rel);
        if (i < CP_DLMAPS_MAX) {
            atomic_store_explicit(&slots[i], pm, memory_order_release);
        } else {
            atomic_fetch_add_explicit(&overflow, 1, memory_order_relaxed);
            cp_procmaps_free(pm);
        }
    }
    pthread_setcancelstate(cs, NULL);
    cp_heap_busy_leave(busy);
}
