/* locks.c — sampling and recording of lock waits and blocking waits, and
 * the mutex, holders and block profiles built from them (see locks.h).
 *
 * Sampling maths (the same as Go's runtime):
 *  - mutex: 1 in N contention events is recorded (a per-thread xorshift
 *    draw; N = 1 records all); the profile multiplies counts and delays by
 *    N, so totals are unbiased.
 *  - block: an event of d ns is recorded with probability d/R when d < R
 *    and always when d >= R.  A recorded short event stands for R/d events
 *    of d ns, i.e. R ns: it adds R/d contentions and R ns of delay.  The
 *    expected contribution of any event is then its own count (1) and
 *    delay (d).  R = 1 records every event as itself.  Fractional counts
 *    are kept in fixed point (1/65536 of an event) in the table's v0 and
 *    rounded when the profile is written.
 *
 * Stacks: the recorder's own frames live in section cprof_lockrec; the
 * stack is cut after the outermost of them, so its leaf is the interposer
 * (pthread_mutex_lock, sem_wait, ...), then the program's call site, as Go
 * shows sync.(*Mutex).Lock above the caller.
 *
 * Re-entry: unwinding may take a lock (libgcc's registered-frame mutex)
 * and the table adds nothing that could; a thread-local flag makes the
 * interposers pass straight through while this thread records.
 */
#include "collect/locks.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/rng.h"
#include "collect/events.h"
#include "collect/heap.h"
#include "collect/labels.h"
#include "collect/output.h"
#include "collect/unwind.h"
#include "cprof.h"

#define REC CP_LOCKREC __attribute__((noinline))
extern const char __start_cprof_lockrec[] __attribute__((visibility("hidden")));
extern const char __stop_cprof_lockrec[] __attribute__((visibility("hidden")));

enum { FIX = 65536 }; /* fixed-point unit of a block event's count */

int cp_locks_on;
static cp_events mutex_tab, block_tab, holders_tab;
static int64_t mutex_fraction = CP_MUTEX_DEFAULT_FRACTION;
static int64_t block_rate = CP_BLOCK_DEFAULT_RATE_NS;
static int64_t start_ns[3]; /* CLOCK_REALTIME at each start */

static __thread uint64_t rng __attribute__((tls_model("initial-exec")));
__thread int cp_locks_recording __attribute__((tls_model("initial-exec")));

int64_t cp_locks_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Uniform in [0, 2^53) (base/rng.h), seeded per thread from its TLS
 * address and the clock. */
static uint64_t draw(void)
{
    if (!rng)
        rng = cp_rng_seed((uint64_t)(uintptr_t)&rng ^ (uint64_t)cp_locks_now());
    return cp_rng_next(&rng) >> 11;
}

static int start(cp_events *t, int bit)
{
    if (!t->map) {
        cp_unwind_init();
        int rc = cp_events_init(t, 0, 0);
        if (rc)
            return rc;
    }
    start_ns[bit == CP_LOCKS_MUTEX ? 0 : bit == CP_LOCKS_BLOCK ? 1 : 2] = wall_now();
    __atomic_or_fetch(&cp_locks_on, bit, __ATOMIC_RELEASE);
    return 0;
}

int cp_locks_mutex_start(int64_t fraction)
{
    if (fraction < 1)
        return CPROF_EINVAL;
    mutex_fraction = fraction;
    return start(&mutex_tab, CP_LOCKS_MUTEX);
}

int cp_locks_block_start(int64_t rate_ns)
{
    if (rate_ns < 1)
        return CPROF_EINVAL;
    block_rate = rate_ns;
    return start(&block_tab, CP_LOCKS_BLOCK);
}

int cp_locks_holders_start(void)
{
    return start(&holders_tab, CP_LOCKS_HOLDERS);
}

int64_t cp_locks_mutex_fraction(void)
{
    return mutex_fraction;
}

int64_t cp_locks_block_rate(void)
{
    return block_rate;
}

bool cp_mutex_enabled(void)
{
    return __atomic_load_n(&cp_locks_on, __ATOMIC_RELAXED) & CP_LOCKS_MUTEX;
}

bool cp_block_enabled(void)
{
    return __atomic_load_n(&cp_locks_on, __ATOMIC_RELAXED) & CP_LOCKS_BLOCK;
}

bool cp_mutex_holders_enabled(void)
{
    return __atomic_load_n(&cp_locks_on, __ATOMIC_RELAXED) & CP_LOCKS_HOLDERS;
}

void cp_locks_atfork_child(void)
{
    cp_events_atfork_child(&mutex_tab);
    cp_events_atfork_child(&block_tab);
    cp_events_atfork_child(&holders_tab);
    rng = 0;
}

/* Unwind and add, cutting the recorder's frames. */
REC static void record(cp_events *t, int call, int64_t a, int64_t b)
{
    int max = cp_unwind_depth();
    uint64_t pcs[max];
    cp_locks_recording = 1;
    int saved = errno;
    int n = cp_unwind_here(pcs, max, 0);
    int first = 0;
    for (int i = 0; i < n; i++)
        if (pcs[i] >= (uint64_t)(uintptr_t)__start_cprof_lockrec &&
            pcs[i] < (uint64_t)(uintptr_t)__stop_cprof_lockrec)
            first = i + 1;
    if (first >= n)
        first = 0;
    cp_events_add(t, pcs + first, (uint32_t)(n - first), cp_labels_current(), (uint32_t)call, a, b);
    errno = saved;
    cp_locks_recording = 0;
}

REC void cp_locks_mutex_event(int call, int64_t wait_ns)
{
    if (!(cp_locks_on & CP_LOCKS_MUTEX) || cp_locks_recording || cp_heap_tls_state.busy)
        return;
    int64_t n = mutex_fraction;
    if (n > 1 && draw() % (uint64_t)n != 0)
        return;
    record(&mutex_tab, call, FIX, wait_ns < 0 ? 0 : wait_ns);
}

REC void cp_locks_block_event(int call, int64_t d)
{
    if (!(cp_locks_on & CP_LOCKS_BLOCK) || cp_locks_recording || cp_heap_tls_state.busy)
        return;
    if (d < 1)
        d = 1;
    int64_t r = block_rate;
    if (r <= 1 || d >= r) {
        record(&block_tab, call, FIX, d);
        return;
    }
    /* probability d/r: a uniform draw in [0, r) below d */
    if ((int64_t)(draw() % (uint64_t)r) >= d)
        return;
    record(&block_tab, call, (int64_t)((__int128)r * FIX / d), r);
}

REC void cp_locks_holders_event(int64_t contentions, int64_t delay_ns)
{
    if (!(cp_locks_on & CP_LOCKS_HOLDERS) || cp_locks_recording || cp_heap_tls_state.busy)
        return;
    record(&holders_tab, CP_LC_MUTEX_UNLOCK, contentions * FIX, delay_ns < 0 ? 0 : delay_ns);
}

/* ---- profiles ---- */

#define CP_LOCK_NAME(id, name) [CP_LC_##id] = name,
static const char *const call_names[CP_LC_COUNT] = {CP_LOCK_CALLS(CP_LOCK_NAME)};

static int build(cp_events *t, int which, cp_profile **out)
{
    int64_t scale = which == CP_LOCKS_MUTEX ? mutex_fraction : 1;
    cp_events_col cols[2] = {
        {"contentions", "count", CP_EV_V0, scale, FIX},
        {"delay", "nanoseconds", CP_EV_V1, scale, 1},
    };
    char note[128];
    int64_t period;
    if (which == CP_LOCKS_MUTEX) {
        snprintf(note, sizeof note, "cprof: mutex profile (waiters' stacks), fraction %lld",
                 (long long)mutex_fraction);
        period = mutex_fraction;
    } else if (which == CP_LOCKS_HOLDERS) {
        snprintf(note, sizeof note, "cprof: mutex profile (releasers' stacks)");
        period = 1;
    } else {
        snprintf(note, sizeof note, "cprof: block profile, rate %lld ns",
                 (long long)block_rate);
        period = block_rate;
    }
    int idx = which == CP_LOCKS_MUTEX ? 0 : which == CP_LOCKS_BLOCK ? 1 : 2;
    int64_t now = wall_now();
    cp_events_spec s = {
        .cols = cols, .ncols = 2,
        .period_type = "contentions", .period_unit = "count", .period = period,
        .comment = note,
        .tag_names = call_names, .ntags = CP_LC_COUNT, .tag_frame = true,
        .time_ns = start_ns[idx] ? start_ns[idx] : now,
        .duration_ns = start_ns[idx] ? now - start_ns[idx] : 0,
    };
    int prev = cp_locks_recording;
    cp_locks_recording = 1; /* the builder's own locks are not the program's */
    int rc = cp_events_build(t, &s, out);
    cp_locks_recording = prev;
    return rc;
}

int cp_mutex_profile(cp_profile **out)
{
    return build(&mutex_tab, CP_LOCKS_MUTEX, out);
}

int cp_block_profile(cp_profile **out)
{
    return build(&block_tab, CP_LOCKS_BLOCK, out);
}

int cp_mutex_holders_profile(cp_profile **out)
{
    return build(&holders_tab, CP_LOCKS_HOLDERS, out);
}

int cp_locks_write(int which, const char *path)
{
    if (!path || !*path)
        return CPROF_EINVAL;
    cp_profile *p = NULL;
    int rc = which == CP_LOCKS_MUTEX    ? cp_mutex_profile(&p)
             : which == CP_LOCKS_BLOCK  ? cp_block_profile(&p)
             : which == CP_LOCKS_HOLDERS ? cp_mutex_holders_profile(&p)
                                        : CPROF_EINVAL;
    if (!rc) {
        int busy = cp_heap_busy_enter();
        int prev = cp_locks_recording;
        cp_locks_recording = 1;
        rc = cp_output_write(p, path, -1);
        cp_locks_recording = prev;
        cp_heap_busy_leave(busy);
    }
    int busy = cp_heap_busy_enter();
    cp_profile_free(p);
    cp_heap_busy_leave(busy);
    return rc;
}
