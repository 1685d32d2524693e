/* timers.h — one CPU-time timer per thread, delivering a signal to it.
 *
 * Contract: cp_timers_start() arms a timer for every thread listed in
 * /proc/self/task; threads created later arm themselves through
 * cp_timers_thread_begin() (called by the pthread_create trampoline) and
 * disarm through cp_timers_thread_end() (called at thread exit).  Each
 * timer measures its own thread's CPU clock, fires every period_ns of that
 * clock (the kernel rounds up to its tick), first at a random point of the
 * first period so threads do not fire in lockstep, and sends `signo` to
 * that thread (SIGEV_THREAD_ID).  All functions take the registry mutex;
 * none may run in a signal handler.  [thread-safe]
 */
#ifndef CP_COLLECT_TIMERS_H
#define CP_COLLECT_TIMERS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Every timer's sigev_value: the CPU handler tells the signals of its own
 * timers from the program's instances of the same signal by SI_TIMER and
 * this value (sigfork.h). */
#define CP_TIMERS_COOKIE ((void *)(uintptr_t)0x6370726f66ull)

/* 0, or a negative CPROF_E* code (nothing stays armed on failure).
 * only_caller: arm the calling thread alone, without listing
 * /proc/self/task (a forked child has no other thread; listing costs it a
 * directory open and a 32 KiB buffer's page faults). */
int cp_timers_start(int signo, int64_t period_ns, bool only_caller);
/* Delete every timer.  After it returns no new timer is created. */
void cp_timers_stop(void);
/* Arm a timer for the calling thread if profiling runs. */
void cp_timers_thread_begin(void);
/* Delete the calling thread's timer, if it has one. */
void cp_timers_thread_end(void);
/* Number of timers armed now (tests). */
int cp_timers_count(void);

/* fork: prepare locks the registry, parent unlocks it, child empties it
 * (timers are not inherited by a child process) and unlocks. */
void cp_timers_atfork_prepare(void);
void cp_timers_atfork_parent(void);
void cp_timers_atfork_child(void);

#endif
