/* locks.h — the mutex and block profiles (Go's runtime.SetMutexProfileFraction
 * and SetBlockProfileRate for pthreads programs).
 *
 * Contract:
 *  - The interposers (src/preload/locks.c) time a lock call only when it
 *    would wait (a try first) and a blocking call (cond/sem/join/barrier
 *    waits) always, and hand the wait to cp_locks_mutex_event /
 *    cp_locks_block_event, which sample it and record the caller's stack
 *    and label set in an event table (events.h).  Waits on behalf of the
 *    profiler itself (the heap busy mark, or a lock taken while recording)
 *    are never recorded.
 *  - Three views, all with Go's sample types contentions/count and
 *    delay/nanoseconds:
 *      mutex    where a thread waited for a lock (the waiter's stack);
 *      holders  where the lock was released while others waited (the
 *               releaser's stack: Go's mutex profile charges the unlocker);
 *      block    where a thread blocked in a cond/sem/join/barrier wait.
 *  - Profiles are cumulative since the start, symbolized with ELF names,
 *    and valid (empty, right sample types) when the type is not enabled.
 *  - A forked child starts with empty tables.
 */
#ifndef CP_COLLECT_LOCKS_H
#define CP_COLLECT_LOCKS_H

#include <stdbool.h>
#include <stdint.h>

#include "profile/profile.h"

/* PINNED (used by the HTTP endpoint and periodic writes). */
int cp_mutex_profile(cp_profile **out);
int cp_block_profile(cp_profile **out);
bool cp_mutex_enabled(void);
bool cp_block_enabled(void);

/* The releaser view of the mutex profile (CPROF_MUTEX_HOLDERS). */
int cp_mutex_holders_profile(cp_profile **out);
bool cp_mutex_holders_enabled(void);

/* Defaults: every contention (fraction 1, design.md); block rate in ns
 * (see docs/locks.md for why this value keeps the cost under 1%). */
#define CP_MUTEX_DEFAULT_FRACTION 1
#define CP_BLOCK_DEFAULT_RATE_NS 200000

/* Bits of cp_locks_on, read by the interposers on every call. */
enum { CP_LOCKS_MUTEX = 1, CP_LOCKS_BLOCK = 2, CP_LOCKS_HOLDERS = 4 };
extern int cp_locks_on;
/* Set while this thread records or writes: its own lock calls pass
 * straight through.  [async-signal-safe] */
extern __thread int cp_locks_recording __attribute__((tls_model("initial-exec")));

/* Start a profile (tables reserved, unwinder bound).  Not from a hook.
 * 0, CPROF_EINVAL (fraction or rate < 1) or CPROF_ENOMEM.  [thread-safe] */
int cp_locks_mutex_start(int64_t fraction);
int cp_locks_block_start(int64_t rate_ns);
int cp_locks_holders_start(void);
int64_t cp_locks_mutex_fraction(void);
int64_t cp_locks_block_rate(void);

/* The call a wait happened in: the leaf frame of its samples. */
#define CP_LOCK_CALLS(X)                                                       \
    X(MUTEX_LOCK, "pthread_mutex_lock") X(MUTEX_TIMEDLOCK, "pthread_mutex_timedlock") \
    X(MUTEX_CLOCKLOCK, "pthread_mutex_clocklock") X(MUTEX_UNLOCK, "pthread_mutex_unlock") \
    X(RWLOCK_RDLOCK, "pthread_rwlock_rdlock") X(RWLOCK_WRLOCK, "pthread_rwlock_wrlock") \
    X(RWLOCK_TIMEDRDLOCK, "pthread_rwlock_timedrdlock")                          \
    X(RWLOCK_TIMEDWRLOCK, "pthread_rwlock_timedwrlock")                          \
    X(RWLOCK_CLOCKRDLOCK, "pthread_rwlock_clockrdlock")                          \
    X(RWLOCK_CLOCKWRLOCK, "pthread_rwlock_clockwrlock")                          \
    X(SPIN_LOCK, "pthread_spin_lock") X(COND_WAIT, "pthread_cond_wait")           \
    X(COND_TIMEDWAIT, "pthread_cond_timedwait") X(COND_CLOCKWAIT, "pthread_cond_clockwait") \
    X(SEM_WAIT, "sem_wait") X(SEM_TIMEDWAIT, "sem_timedwait") X(SEM_CLOCKWAIT, "sem_clockwait") \
    X(JOIN, "pthread_join") X(TIMEDJOIN, "pthread_timedjoin_np")                 \
    X(CLOCKJOIN, "pthread_clockjoin_np") X(BARRIER_WAIT, "pthread_barrier_wait")
#define CP_LOCK_ENUM(id, name) CP_LC_##id,
enum { CP_LC_NONE, CP_LOCK_CALLS(CP_LOCK_ENUM) CP_LC_COUNT };
#undef CP_LOCK_ENUM

/* Functions of the interposers and the recorder live in this section:
 * a recorded stack is cut after its outermost frame there, so it starts
 * at the program's call (the call itself is the leaf frame, by name). */
#define CP_LOCKREC __attribute__((section("cprof_lockrec")))

/* Record a wait of wait_ns in call `call` (CP_LC_*), sampled by the
 * fraction / rate.  [hook-safe] */
void cp_locks_mutex_event(int call, int64_t wait_ns);
void cp_locks_block_event(int call, int64_t wait_ns);
/* Charge the caller's stack with `contentions` waiters' delay_ns (the
 * holders view).  [hook-safe] */
void cp_locks_holders_event(int64_t contentions, int64_t delay_ns);

/* CLOCK_MONOTONIC in ns (vDSO).  [hook-safe] */
int64_t cp_locks_now(void);

/* In a forked child: empty tables.  */
void cp_locks_atfork_child(void);

/* Write the profile to path ("%p" expanded) atomically.  0 or a code. */
int cp_locks_write(int which, const char *path);

#endif
