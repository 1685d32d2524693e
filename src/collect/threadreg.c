/* threadreg.c — where each live thread was created (threadcreate profile).
 *
 * What: the pthread_create interposer unwinds its caller's stack into a
 * record (cp_threadreg_created) and hands it to the new thread, which links
 * it into a list of live threads under its tid (cp_threadreg_started); the
 * thread's exit (a pthread key destructor in the interposer) unlinks and
 * frees it.  The threadcreate profile and the "created by" lines of the
 * text dump read the list.
 *
 * Data structure: a doubly linked list under a spin flag (not a mutex, so
 * a forked child can simply clear it, as labels.c does); the calling
 * thread's record is found through initial-exec TLS.  Records are malloc'd
 * with the busy mark: they are the profiler's memory, not the program's.
 *
 * Only while a threads profile is wanted (cp_threadreg_want, or
 * CPROF_THREADS / CPROF_HTTP in the environment): a program that never
 * asks pays nothing per thread.
 *
 * Rejected: keeping records of exited threads (Go's threadcreate counts
 * every thread ever made, but for a C program whose threads come and go
 * that grows without bound; live threads answer "who made all these
 * threads" just as well); a table indexed by tid (tids are sparse, up to
 * 4 Mi).
 */
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collect/heap.h"
#include "collect/threads.h"
#include "collect/unwind.h"

struct cp_threadreg {
    struct cp_threadreg *prev, *next;
    pid_t tid;
    bool linked;
    uint32_t n;
    uint64_t pcs[];
};

static cp_threadreg *head;
static atomic_flag lock = ATOMIC_FLAG_INIT;
static __thread cp_threadreg *tls_rec __attribute__((tls_model("initial-exec")));

static void lock_take(void)
{
    while (atomic_flag_test_and_set_explicit(&lock, memory_order_acquire))
        sched_yield();
}

static void lock_give(void)
{
    atomic_flag_clear_explicit(&lock, memory_order_release);
}

/* Creation stacks cost an unwind per pthread_create (~2 us): kept only
 * when a threads profile is wanted — CPROF_THREADS or CPROF_HTTP set, or
 * after the first snapshot.  -1: not decided yet. */
static atomic_int wanted = -1;

void cp_threadreg_want(void)
{
    atomic_store(&wanted, 1);
}

cp_threadreg *cp_threadreg_created(void)
{
    int w = atomic_load_explicit(&wanted, memory_order_relaxed);
    if (w < 0) {
        const char *t = getenv("CPROF_THREADS"), *h = getenv("CPROF_HTTP");
        w = (t && *t) || (h && *h);
        int undecided = -1;
        atomic_compare_exchange_strong(&wanted, &undecided, w);
        w = atomic_load(&wanted);
    }
    if (!w)
        return NULL;
    int max = cp_unwind_depth();
    uint64_t pcs[max];
    /* skip this function's own frame: the stack starts in pthread_create */
    int n = cp_unwind_here(pcs, max, 1);
    if (n < 0)
        n = 0;
    int busy = cp_heap_busy_enter();
    cp_threadreg *r = malloc(sizeof *r + (size_t)n * sizeof *pcs);
    cp_heap_busy_leave(busy);
    if (!r)
        return NULL;
    memset(r, 0, sizeof *r);
    r->n = (uint32_t)n;
    memcpy(r->pcs, pcs, (size_t)n * sizeof *pcs);
    return r;
}

void cp_threadreg_create_failed(cp_threadreg *r)
{
    int busy = cp_heap_busy_enter();
    free(r);
    cp_heap_busy_leave(busy);
}

void cp_threadreg_started(cp_threadreg *r)
{
    if (!r)
        return;
    r->tid = gettid();
    lock_take();
    r->prev = NULL;
    r->next = head;
    if (head)
        head->prev = r;
    head = r;
    r->linked = true;
    lock_give();
    tls_rec = r;
}

void cp_threadreg_exit(void)
{
    cp_threadreg *r = tls_rec;
    if (!r)
        return;
    tls_rec = NULL;
    lock_take();
    if (r->linked) {
        if (r->prev)
            r->prev->next = r->next;
        else
            head = r->next;
        if (r->next)
            r->next->prev = r->prev;
        r->linked = false;
    }
    lock_give();
    cp_threadreg_create_failed(r);
}

uint32_t cp_threadreg_creation_of(pid_t tid, uint64_t **pcs)
{
    uint32_t n = 0;
    *pcs = NULL;
    int busy = cp_heap_busy_enter();
    lock_take();
    for (cp_threadreg *r = head; r; r = r->next) {
        if (r->tid != tid)
            continue;
        if (r->n && (*pcs = malloc(r->n * sizeof **pcs)) != NULL) {
            memcpy(*pcs, r->pcs, r->n * sizeof **pcs);
            n = r->n;
        }
        break;
    }
    lock_give();
    cp_heap_busy_leave(busy);
    return n;
}

void cp_threadreg_each(void (*fn)(void *ctx, pid_t tid, const uint64_t *pcs, uint32_t n),
                             void *ctx)
{
    lock_take();
    for (cp_threadreg *r = head; r; r = r->next)
        fn(ctx, r->tid, r->pcs, r->n);
    lock_give();
}

void cp_threadreg_atfork_prepare(void)
{
    lock_take();
}

void cp_threadreg_atfork_parent(void)
{
    lock_give();
}

void cp_threadreg_atfork_child(void)
{
    /* The other threads' records stay allocated (their owners are gone in
     * this process); the forking thread's own record no longer describes a
     * live created thread under its tid either. */
    atomic_flag_clear_explicit(&lock, memory_order_release);
    for (cp_threadreg *r = head; r; r = r->next)
        r->linked = false;
    head = NULL;
    tls_rec = NULL;
}
