/* locks.c (preload) — pthread lock and wait interposers for the mutex and
 * block profiles, and their environment and exit handling.
 *
 * Variables:
 *   CPROF_MUTEX=FILE          waiters' stacks: where threads waited for a
 *                             mutex/rwlock/spinlock (written at exit, "%p")
 *   CPROF_MUTEX_FRACTION=N    1 in N contention events recorded (default 1)
 *   CPROF_MUTEX_HOLDERS=FILE  releasers' stacks: where a mutex was unlocked
 *                             while others waited, charged with their wait
 *                             (Go's view); interposes pthread_mutex_unlock
 *   CPROF_BLOCK=FILE          time blocked in cond/sem/join/barrier waits
 *   CPROF_BLOCK_RATE=NS       Go's SetBlockProfileRate (default 200000)
 *
 * Fast path: with no profile on, each interposer is one load and a call to
 * the next definition.  With the mutex profile on, a lock first tries
 * (pthread_mutex_trylock and friends: the same atomic the lock's own fast
 * path does); only when that fails is the wait timed (CLOCK_MONOTONIC,
 * vDSO) around the real lock call, and recorded when the lock was taken
 * (0, or EOWNERDEAD for a robust mutex).  Every other return (EDEADLK of an
 * error-checking mutex, ETIMEDOUT, EINVAL, ENOTRECOVERABLE) passes through
 * unrecorded and unchanged, as does errno.  A recursive mutex held by the
 * caller is taken by the try, so it is never counted as contended.
 * Blocking waits are timed around the real call; sem_wait tries first
 * (a semaphore with a count is not a block).
 *
 * Not seen: glibc's internal locks (stdio, malloc arenas, the loader) and
 * pthread_cond_wait's re-lock of its mutex (not through the PLT: the time
 * shows in the block profile as part of the cond wait).
 *
 * Holders view: a small open-addressing table keyed by lock address counts
 * the threads waiting on each contended mutex and the sum of their start
 * times, under a per-slot spin flag held for a few instructions.  An
 * unlock that finds waiters charges its stack with waiters*now - sum (the
 * time they waited since they began or since the previous release), then
 * moves every waiter's start to now.  A mutex never contended is never in
 * the table; its unlock costs a hash and one load.
 *
 * The next definitions are bound in the constructor (dlsym may itself take
 * a lock or allocate); a call that arrives earlier resolves on the spot,
 * and a lock call made by dlsym during that goes to glibc's
 * __pthread_mutex_lock aliases.
 *
 * Rejected: LD_AUDIT or patching glibc's lock entry points (fragile, and
 * still blind to inlined internal locks); timing every lock call (two
 * clock reads per uncontended lock would double its cost).
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "collect/locks.h"
#include "cprof.h"
#include "preload/locks_env.h"

/* ---- next definitions ---- */

#define NEXT(name) static void *next_##name
NEXT(pthread_mutex_lock);
NEXT(pthread_mutex_trylock);
NEXT(pthread_mutex_timedlock);
NEXT(pthread_mutex_clocklock);
NEXT(pthread_mutex_unlock);
NEXT(pthread_rwlock_rdlock);
NEXT(pthread_rwlock_wrlock);
NEXT(pthread_rwlock_tryrdlock);
NEXT(pthread_rwlock_trywrlock);
NEXT(pthread_rwlock_timedrdlock);
NEXT(pthread_rwlock_timedwrlock);
NEXT(pthread_rwlock_clockrdlock);
NEXT(pthread_rwlock_clockwrlock);
NEXT(pthread_spin_lock);
NEXT(pthread_spin_trylock);
NEXT(pthread_cond_wait);
NEXT(pthread_cond_timedwait);
NEXT(pthread_cond_clockwait);
NEXT(sem_wait);
NEXT(sem_trywait);
NEXT(sem_timedwait);
NEXT(sem_clockwait);
NEXT(pthread_join);
NEXT(pthread_timedjoin_np);
NEXT(pthread_clockjoin_np);
NEXT(pthread_barrier_wait);

/* glibc's own aliases (compat symbols: bound by version). */
extern int cp_glibc_mutex_lock(pthread_mutex_t *);
extern int cp_glibc_mutex_unlock(pthread_mutex_t *);
__asm__(".symver cp_glibc_mutex_lock, __pthread_mutex_lock@GLIBC_2.2.5");
__asm__(".symver cp_glibc_mutex_unlock, __pthread_mutex_unlock@GLIBC_2.2.5");

static __thread int resolving __attribute__((tls_model("initial-exec")));

/* pthread_cond_* have an old version (GLIBC_2.2.5) beside the current one;
 * plain dlsym may hand back either, so ask for the current one first. */
__attribute__((noinline, cold)) static void *resolve(void **cache, const char *name,
                                                    const char *version)
{
    if (resolving)
        return NULL;
    resolving = 1;
    void *f = version ? dlvsym(RTLD_NEXT, name, version) : NULL;
    if (!f)
        f = dlsym(RTLD_NEXT, name);
    resolving = 0;
    __atomic_store_n(cache, f, __ATOMIC_RELEASE);
    return f;
}

/* The hot path: one load (bound in the constructor). */
static inline void *lookup(void **cache, const char *name, const char *version)
{
    void *f = __atomic_load_n(cache, __ATOMIC_ACQUIRE);
    return __builtin_expect(f != NULL, 1) ? f : resolve(cache, name, version);
}

#define REAL(type, name) ((type)lookup(&next_##name, #name, NULL))
#define REAL_COND(type, name) ((type)lookup(&next_##name, #name, "GLIBC_2.3.2"))

typedef int (*mx_fn)(pthread_mutex_t *);
typedef int (*mxt_fn)(pthread_mutex_t *, const struct timespec *);
typedef int (*mxc_fn)(pthread_mutex_t *, clockid_t, const struct timespec *);
typedef int (*rw_fn)(pthread_rwlock_t *);
typedef int (*rwt_fn)(pthread_rwlock_t *, const struct timespec *);
typedef int (*rwc_fn)(pthread_rwlock_t *, clockid_t, const struct timespec *);
typedef int (*sp_fn)(pthread_spinlock_t *);
typedef int (*cw_fn)(pthread_cond_t *, pthread_mutex_t *);
typedef int (*cwt_fn)(pthread_cond_t *, pthread_mutex_t *, const struct timespec *);
typedef int (*cwc_fn)(pthread_cond_t *, pthread_mutex_t *, clockid_t, const struct timespec *);
typedef int (*sw_fn)(sem_t *);
typedef int (*swt_fn)(sem_t *, const struct timespec *);
typedef int (*swc_fn)(sem_t *, clockid_t, const struct timespec *);
typedef int (*jn_fn)(pthread_t, void **);
typedef int (*jnt_fn)(pthread_t, void **, const struct timespec *);
typedef int (*jnc_fn)(pthread_t, void **, clockid_t, const struct timespec *);
typedef int (*bw_fn)(pthread_barrier_t *);

static inline int on(int bit)
{
    return __builtin_expect(__atomic_load_n(&cp_locks_on, __ATOMIC_RELAXED) & bit, 0) &&
           !cp_locks_recording;
}

/* ---- holders view: waiters per contended lock ---- */

enum { HSLOTS = 4096, HPROBE = 8 };
typedef struct hslot {
    _Atomic uintptr_t addr;
    _Atomic int busy;     /* spin flag */
    int64_t waiters;
    int64_t start_sum;    /* sum of the waiters' (moved) start times */
    int64_t last_release;
} hslot;
static hslot holders[HSLOTS];

static size_t hidx(const void *p)
{
    uint64_t x = (uint64_t)(uintptr_t)p;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return (size_t)x & (HSLOTS - 1);
}

static hslot *hfind(const void *lock, int insert)
{
    size_t j = hidx(lock);
    for (int k = 0; k < HPROBE; k++, j = (j + 1) & (HSLOTS - 1)) {
        uintptr_t a = atomic_load_explicit(&holders[j].addr, memory_order_acquire);
        if (a == (uintptr_t)lock)
            return &holders[j];
        if (a == 0) {
            if (!insert)
                return NULL;
            if (atomic_compare_exchange_strong(&holders[j].addr, &a, (uintptr_t)lock) ||
                a == (uintptr_t)lock)
                return &holders[j];
        }
    }
    return NULL; /* crowded: this lock goes unaccounted */
}

static void hlock(hslot *s)
{
    while (atomic_exchange_explicit(&s->busy, 1, memory_order_acquire))
        __builtin_ia32_pause();
}

static void hunlock(hslot *s)
{
    atomic_store_explicit(&s->busy, 0, memory_order_release);
}

static hslot *wait_begin(const void *lock, int64_t t0)
{
    if (!lock || !on(CP_LOCKS_HOLDERS))
        return NULL;
    hslot *s = hfind(lock, 1);
    if (s) {
        hlock(s);
        s->waiters++;
        s->start_sum += t0;
        hunlock(s);
    }
    return s;
}

static void wait_end(hslot *s, int64_t t0)
{
    if (!s)
        return;
    hlock(s);
    s->waiters--;
    s->start_sum -= t0 > s->last_release ? t0 : s->last_release;
    hunlock(s);
}

static void on_release(const void *lock)
{
    hslot *s = hfind(lock, 0);
    if (!s || __atomic_load_n(&s->waiters, __ATOMIC_RELAXED) <= 0)
        return;
    int64_t now = cp_locks_now();
    hlock(s);
    int64_t w = s->waiters, delay = w * now - s->start_sum;
    if (w > 0) {
        s->start_sum = w * now;
        s->last_release = now;
    }
    hunlock(s);
    if (w > 0)
        cp_locks_holders_event(w, delay);
}

/* ---- mutexes ---- */

/* A lock that would wait: time it; rc 0 or EOWNERDEAD means taken. */
#define CONTENDED(kind, lockp, call)                                   \
    do {                                                         \
        int saved_ = errno;                                      \
        int64_t t0_ = cp_locks_now();                            \
        hslot *h_ = wait_begin(lockp, t0_);                      \
        int rc_ = call;                                          \
        int64_t t1_ = cp_locks_now();                            \
        wait_end(h_, t0_);                                       \
        if (rc_ == 0 || rc_ == EOWNERDEAD)                       \
            cp_locks_mutex_event(CP_LC_##kind, t1_ - t0_);                     \
        errno = saved_;                                          \
        return rc_;                                              \
    } while (0)

CP_LOCKREC __attribute__((noinline)) static int mutex_lock_slow(pthread_mutex_t *m, mx_fn lock)
{
    CONTENDED(MUTEX_LOCK, m, lock(m));
}

CP_LOCKREC __attribute__((noinline)) static int mutex_lock_on(pthread_mutex_t *m, mx_fn lock)
{
    if (cp_locks_recording)
        return lock(m);
    int rc = REAL(mx_fn, pthread_mutex_trylock)(m);
    if (__builtin_expect(rc != EBUSY, 1))
        return rc; /* taken (0, EOWNERDEAD) or an error the lock gives too */
    return mutex_lock_slow(m, lock);
}

/* Kept small: with no profile on, a load, a test and a jump to glibc; the
 * profiled path is out of line so this one saves no registers. */
CP_LOCKREC CPROF_API int pthread_mutex_lock(pthread_mutex_t *m)
{
    mx_fn lock = REAL(mx_fn, pthread_mutex_lock);
    if (__builtin_expect(!lock, 0))
        return cp_glibc_mutex_lock(m); /* dlsym's own locks, before binding */
    if (__builtin_expect(!(__atomic_load_n(&cp_locks_on, __ATOMIC_RELAXED) &
                           (CP_LOCKS_MUTEX | CP_LOCKS_HOLDERS)), 1))
        return lock(m);
    return mutex_lock_on(m, lock);
}

CP_LOCKREC __attribute__((noinline)) static int mutex_unlock_on(pthread_mutex_t *m, mx_fn unlock)
{
    /* Charged just before the release: after it, a woken waiter could
     * leave the table before this thread looked. */
    if (!cp_locks_recording) {
        int saved = errno;
        on_release(m);
        errno = saved;
    }
    return unlock(m);
}

CP_LOCKREC CPROF_API int pthread_mutex_unlock(pthread_mutex_t *m)
{
    mx_fn unlock = REAL(mx_fn, pthread_mutex_unlock);
    if (__builtin_expect(!unlock, 0))
        return cp_glibc_mutex_unlock(m);
    if (__builtin_expect(!(__atomic_load_n(&cp_locks_on, __ATOMIC_RELAXED) & CP_LOCKS_HOLDERS), 1))
        return unlock(m);
    return mutex_unlock_on(m, unlock);
}

CP_LOCKREC CPROF_API int pthread_mutex_timedlock(pthread_mutex_t *m, const struct timespec *abs)
{
    mxt_fn lock = REAL(mxt_fn, pthread_mutex_timedlock);
    if (!on(CP_LOCKS_MUTEX | CP_LOCKS_HOLDERS))
        return lock(m, abs);
    int rc = REAL(mx_fn, pthread_mutex_trylock)(m);
    if (rc != EBUSY)
        return rc;
    CONTENDED(MUTEX_TIMEDLOCK, m, lock(m, abs));
}

CP_LOCKREC CPROF_API int pthread_mutex_clocklock(pthread_mutex_t *m, clockid_t clk,
                                      const struct timespec *abs)
{
    mxc_fn lock = REAL(mxc_fn, pthread_mutex_clocklock);
    if (!on(CP_LOCKS_MUTEX | CP_LOCKS_HOLDERS))
        return lock(m, clk, abs);
    int rc = REAL(mx_fn, pthread_mutex_trylock)(m);
    if (rc != EBUSY)
        return rc;
    CONTENDED(MUTEX_CLOCKLOCK, m, lock(m, clk, abs));
}

/* ---- rwlocks ---- */

#define RW_TRY_FIRST(trycall)                                    \
    do {                                                         \
        int r_ = trycall;                                        \
        if (r_ != EBUSY)                                         \
            return r_;                                           \
    } while (0)

CP_LOCKREC CPROF_API int pthread_rwlock_rdlock(pthread_rwlock_t *l)
{
    rw_fn lock = REAL(rw_fn, pthread_rwlock_rdlock);
    if (!on(CP_LOCKS_MUTEX))
        return lock(l);
    RW_TRY_FIRST(REAL(rw_fn, pthread_rwlock_tryrdlock)(l));
    CONTENDED(RWLOCK_RDLOCK, NULL, lock(l));
}

CP_LOCKREC CPROF_API int pthread_rwlock_wrlock(pthread_rwlock_t *l)
{
    rw_fn lock = REAL(rw_fn, pthread_rwlock_wrlock);
    if (!on(CP_LOCKS_MUTEX))
        return lock(l);
    RW_TRY_FIRST(REAL(rw_fn, pthread_rwlock_trywrlock)(l));
    CONTENDED(RWLOCK_WRLOCK, NULL, lock(l));
}

CP_LOCKREC CPROF_API int pthread_rwlock_timedrdlock(pthread_rwlock_t *l, const struct timespec *abs)
{
    rwt_fn lock = REAL(rwt_fn, pthread_rwlock_timedrdlock);
    if (!on(CP_LOCKS_MUTEX))
        return lock(l, abs);
    RW_TRY_FIRST(REAL(rw_fn, pthread_rwlock_tryrdlock)(l));
    CONTENDED(RWLOCK_TIMEDRDLOCK, NULL, lock(l, abs));
}

CP_LOCKREC CPROF_API int pthread_rwlock_timedwrlock(pthread_rwlock_t *l, const struct timespec *abs)
{
    rwt_fn lock = REAL(rwt_fn, pthread_rwlock_timedwrlock);
    if (!on(CP_LOCKS_MUTEX))
        return lock(l, abs);
    RW_TRY_FIRST(REAL(rw_fn, pthread_rwlock_trywrlock)(l));
    CONTENDED(RWLOCK_TIMEDWRLOCK, NULL, lock(l, abs));
}

CP_LOCKREC CPROF_API int pthread_rwlock_clockrdlock(pthread_rwlock_t *l, clockid_t c,
                                         const struct timespec *abs)
{
    rwc_fn lock = REAL(rwc_fn, pthread_rwlock_clockrdlock);
    if (!on(CP_LOCKS_MUTEX))
        return lock(l, c, abs);
    RW_TRY_FIRST(REAL(rw_fn, pthread_rwlock_tryrdlock)(l));
    CONTENDED(RWLOCK_CLOCKRDLOCK, NULL, lock(l, c, abs));
}

CP_LOCKREC CPROF_API int pthread_rwlock_clockwrlock(pthread_rwlock_t *l, clockid_t c,
                                         const struct timespec *abs)
{
    rwc_fn lock = REAL(rwc_fn, pthread_rwlock_clockwrlock);
    if (!on(CP_LOCKS_MUTEX))
        return lock(l, c, abs);
    RW_TRY_FIRST(REAL(rw_fn, pthread_rwlock_trywrlock)(l));
    CONTENDED(RWLOCK_CLOCKWRLOCK, NULL, lock(l, c, abs));
}

CP_LOCKREC CPROF_API int pthread_spin_lock(pthread_spinlock_t *l)
{
    sp_fn lock = REAL(sp_fn, pthread_spin_lock);
    if (!on(CP_LOCKS_MUTEX))
        return lock(l);
    RW_TRY_FIRST(REAL(sp_fn, pthread_spin_trylock)(l));
    CONTENDED(SPIN_LOCK, NULL, lock(l));
}

/* ---- blocking waits ---- */

#define BLOCKING(kind, call)                                           \
    do {                                                         \
        int64_t t0_ = cp_locks_now();                            \
        int rc_ = call;                                          \
        int64_t t1_ = cp_locks_now();                            \
        int saved_ = errno;                                      \
        cp_locks_block_event(CP_LC_##kind, t1_ - t0_);                         \
        errno = saved_;                                          \
        return rc_;                                              \
    } while (0)

CP_LOCKREC CPROF_API int pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m)
{
    cw_fn f = REAL_COND(cw_fn, pthread_cond_wait);
    if (!on(CP_LOCKS_BLOCK))
        return f(c, m);
    BLOCKING(COND_WAIT, f(c, m));
}

CP_LOCKREC CPROF_API int pthread_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m,
                                     const struct timespec *abs)
{
    cwt_fn f = REAL_COND(cwt_fn, pthread_cond_timedwait);
    if (!on(CP_LOCKS_BLOCK))
        return f(c, m, abs);
    BLOCKING(COND_TIMEDWAIT, f(c, m, abs));
}

CP_LOCKREC CPROF_API int pthread_cond_clockwait(pthread_cond_t *c, pthread_mutex_t *m, clockid_t clk,
                                     const struct timespec *abs)
{
    cwc_fn f = REAL(cwc_fn, pthread_cond_clockwait);
    if (!on(CP_LOCKS_BLOCK))
        return f(c, m, clk, abs);
    BLOCKING(COND_CLOCKWAIT, f(c, m, clk, abs));
}

/* sem_*: a count available is no block; errno carries their errors. */
#define SEM_TRY_FIRST(s)                                         \
    do {                                                         \
        int saved_ = errno;                                      \
        if (REAL(sw_fn, sem_trywait)(s) == 0)                    \
            return 0;                                            \
        if (errno != EAGAIN)                                     \
            return -1; /* EINVAL: what the wait says too */      \
        errno = saved_;                                          \
    } while (0)

CP_LOCKREC CPROF_API int sem_wait(sem_t *s)
{
    sw_fn f = REAL(sw_fn, sem_wait);
    if (!on(CP_LOCKS_BLOCK))
        return f(s);
    SEM_TRY_FIRST(s);
    int64_t t0 = cp_locks_now();
    int rc = f(s);
    int e = errno;
    cp_locks_block_event(CP_LC_SEM_WAIT, cp_locks_now() - t0);
    errno = e;
    return rc;
}

CP_LOCKREC CPROF_API int sem_timedwait(sem_t *s, const struct timespec *abs)
{
    swt_fn f = REAL(swt_fn, sem_timedwait);
    if (!on(CP_LOCKS_BLOCK))
        return f(s, abs);
    SEM_TRY_FIRST(s);
    int64_t t0 = cp_locks_now();
    int rc = f(s, abs);
    int e = errno;
    cp_locks_block_event(CP_LC_SEM_TIMEDWAIT, cp_locks_now() - t0);
    errno = e;
    return rc;
}

CP_LOCKREC CPROF_API int sem_clockwait(sem_t *s, clockid_t clk, const struct timespec *abs)
{
    swc_fn f = REAL(swc_fn, sem_clockwait);
    if (!on(CP_LOCKS_BLOCK))
        return f(s, clk, abs);
    SEM_TRY_FIRST(s);
    int64_t t0 = cp_locks_now();
    int rc = f(s, clk, abs);
    int e = errno;
    cp_locks_block_event(CP_LC_SEM_CLOCKWAIT, cp_locks_now() - t0);
    errno = e;
    return rc;
}

CP_LOCKREC CPROF_API int pthread_join(pthread_t t, void **ret)
{
    jn_fn f = REAL(jn_fn, pthread_join);
    if (!on(CP_LOCKS_BLOCK))
        return f(t, ret);
    BLOCKING(JOIN, f(t, ret));
}

CP_LOCKREC CPROF_API int pthread_timedjoin_np(pthread_t t, void **ret, const struct timespec *abs)
{
    jnt_fn f = REAL(jnt_fn, pthread_timedjoin_np);
    if (!on(CP_LOCKS_BLOCK))
        return f(t, ret, abs);
    BLOCKING(TIMEDJOIN, f(t, ret, abs));
}

CP_LOCKREC CPROF_API int pthread_clockjoin_np(pthread_t t, void **ret, clockid_t clk,
                                   const struct timespec *abs)
{
    jnc_fn f = REAL(jnc_fn, pthread_clockjoin_np);
    if (!on(CP_LOCKS_BLOCK))
        return f(t, ret, clk, abs);
    BLOCKING(CLOCKJOIN, f(t, ret, clk, abs));
}

CP_LOCKREC CPROF_API int pthread_barrier_wait(pthread_barrier_t *b)
{
    bw_fn f = REAL(bw_fn, pthread_barrier_wait);
    if (!on(CP_LOCKS_BLOCK))
        return f(b);
    BLOCKING(BARRIER_WAIT, f(b));
}

/* ---- environment, exit, fork ---- */

static char mutex_path[4096], block_path[4096], holders_path[4096];
static int forked_child;

static void copy_env(const char *name, char *dst, size_t size)
{
    const char *v = getenv(name);
    if (v && *v && strlen(v) < size)
        strcpy(dst, v);
    else if (v && *v)
        cp_log("ignoring %s: path too long", name);
}

static int64_t num_env(const char *name, int64_t dflt)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return dflt;
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (*end || errno || x < 1) {
        cp_log("ignoring %s=%s (want a whole number >= 1); using %lld", name, v,
               (long long)dflt);
        return dflt;
    }
    return x;
}

static void bind_all(void)
{
    (void)REAL(void *, pthread_mutex_lock);
    (void)REAL(void *, pthread_mutex_trylock);
    (void)REAL(void *, pthread_mutex_timedlock);
    (void)REAL(void *, pthread_mutex_clocklock);
    (void)REAL(void *, pthread_mutex_unlock);
    (void)REAL(void *, pthread_rwlock_rdlock);
    (void)REAL(void *, pthread_rwlock_wrlock);
    (void)REAL(void *, pthread_rwlock_tryrdlock);
    (void)REAL(void *, pthread_rwlock_trywrlock);
    (void)REAL(void *, pthread_rwlock_timedrdlock);
    (void)REAL(void *, pthread_rwlock_timedwrlock);
    (void)REAL(void *, pthread_rwlock_clockrdlock);
    (void)REAL(void *, pthread_rwlock_clockwrlock);
    (void)REAL(void *, pthread_spin_lock);
    (void)REAL(void *, pthread_spin_trylock);
    (void)REAL_COND(void *, pthread_cond_wait);
    (void)REAL_COND(void *, pthread_cond_timedwait);
    (void)REAL(void *, pthread_cond_clockwait);
    (void)REAL(void *, sem_wait);
    (void)REAL(void *, sem_trywait);
    (void)REAL(void *, sem_timedwait);
    (void)REAL(void *, sem_clockwait);
    (void)REAL(void *, pthread_join);
    (void)REAL(void *, pthread_timedjoin_np);
    (void)REAL(void *, pthread_clockjoin_np);
    (void)REAL(void *, pthread_barrier_wait);
}

void cp_preload_locks_init(void)
{
    bind_all();
    copy_env("CPROF_MUTEX", mutex_path, sizeof mutex_path);
    copy_env("CPROF_MUTEX_HOLDERS", holders_path, sizeof holders_path);
    copy_env("CPROF_BLOCK", block_path, sizeof block_path);
    int rc;
    if (*mutex_path &&
        (rc = cp_locks_mutex_start(num_env("CPROF_MUTEX_FRACTION", CP_MUTEX_DEFAULT_FRACTION))))
        cp_log("mutex profile not started: %s", cprof_strerror(rc));
    if (*holders_path && (rc = cp_locks_holders_start()))
        cp_log("mutex holders profile not started: %s", cprof_strerror(rc));
    if (*block_path &&
        (rc = cp_locks_block_start(num_env("CPROF_BLOCK_RATE", CP_BLOCK_DEFAULT_RATE_NS))))
        cp_log("block profile not started: %s", cprof_strerror(rc));
}

static void write_one(int which, const char *path, const char *what)
{
    if (!*path || (forked_child && !strstr(path, "%p")))
        return; /* a forked child never overwrites its parent's file */
    int rc = cp_locks_write(which, path);
    if (rc)
        cp_log("%s profile not written to %s: %s", what, path, cprof_strerror(rc));
}

void cp_preload_locks_fini(void)
{
    static int done;
    if (__atomic_exchange_n(&done, 1, __ATOMIC_ACQ_REL))
        return;
    write_one(CP_LOCKS_MUTEX, mutex_path, "mutex");
    write_one(CP_LOCKS_HOLDERS, holders_path, "mutex holders");
    write_one(CP_LOCKS_BLOCK, block_path, "block");
}

void cp_preload_locks_atfork_child(void)
{
    forked_child = 1;
    cp_locks_atfork_child();
    memset(holders, 0, sizeof holders); /* waiters of the parent are not ours */
}

CPROF_API int cprof_mutex_write(const char *path)
{
    return cp_locks_write(CP_LOCKS_MUTEX, path);
}

CPROF_API int cprof_block_write(const char *path)
{
    return cp_locks_write(CP_LOCKS_BLOCK, path);
}
