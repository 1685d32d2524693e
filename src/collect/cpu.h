/* cpu.h — the CPU profiler's internal entry points for the preload layer.
 *
 * Contract: the public API is cprof_cpu_* in include/cprof.h.  These hooks
 * let the pthread_create trampoline and fork handling in src/preload keep
 * per-thread timers right.  None is for signal handlers.  [thread-safe]
 */
#ifndef CP_COLLECT_CPU_H
#define CP_COLLECT_CPU_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

/* In a new thread before its start routine / at its exit. */
void cp_cpu_thread_begin(void);
void cp_cpu_thread_end(void);

/* fork steps, called by sigfork.c only.  The child stops profiling (it
 * has no timers) and never touches the parent's samples' pages;
 * cp_cpu_atfork_restart, the child's last step, starts a fresh profile of
 * its own when the output path contains "%p" (otherwise it writes
 * nothing). */
void cp_cpu_atfork_prepare(void);
void cp_cpu_atfork_parent(void);
void cp_cpu_atfork_child(void);
void cp_cpu_atfork_restart(void);

/* Around an exec: before it, disarm every timer, discard a timer signal
 * already queued (the new image would die of it) and write what was
 * sampled (a path, not a descriptor; nothing when nothing was sampled);
 * after a failed exec, carry on sampling (the write at exit then holds
 * everything).  Nothing in a vfork child, which shares the parent's
 * memory. */
/* Returns the CPU time (ns) the profile written for this image accounts
 * for, start-up included, or -1 when nothing was written (the next image
 * then counts all of it as its start-up). */
int64_t cp_cpu_before_exec(void);
void cp_cpu_exec_failed(void);

/* The signal the profiler's handler is installed on, or 0.  A program
 * that installs its own disposition for it meanwhile gets it recorded
 * and run behind the profiler's handler (sigfork.h), installed for real
 * when the profile stops. */
int cp_cpu_signal(void);

/* Counters of the running (or last) profile, for tests and benchmarks. */
typedef struct cp_cpu_stats {
    int64_t samples;   /* samples taken */
    int64_t lost;      /* samples dropped (table full) */
    int64_t cpu_ns;    /* CPU time the samples stand for, lost included */
    int64_t stacks;    /* stack records (distinct stacks, plus rare duplicates) */
} cp_cpu_stats;
void cp_cpu_get_stats(cp_cpu_stats *out);

/* Periodic profiles (continuous.c).  cp_cpu_period_profile builds the
 * samples taken since the previous cut (or the start) into *out,
 * symbolized, without stopping: handlers move to a second stack table at
 * once, so no sample is lost or counted twice.  Times are the period's.
 * CPU a thread used between its last sample of a period and a later tail
 * (its end, the stop) is written on CP_CPU_UNSAMPLED_FRAME in the later
 * period.  cp_cpu_stop_profile stops like cprof_cpu_stop but hands the
 * last period over instead of writing it.  Both CPROF_ENOTRUNNING when no
 * profile runs.  [thread-safe] */
#include "profile/profile.h"
int cp_cpu_period_profile(cp_profile **out);
int cp_cpu_stop_profile(cp_profile **out);

/* A thread that ended (or was running at stop) without a single sample
 * still used CPU: it is recorded as one sample on this marker address
 * (non-canonical, like the elided-frames marker), written as a frame of
 * this name, so that short processes and threads add up. */
#define CP_CPU_UNSAMPLED_PC 0xffd0000000000000ull
#define CP_CPU_UNSAMPLED_FRAME "[thread ran less than one sampling period]"

/* The CPU a process image used before the profile started at its load (the
 * dynamic loader, relocations, other libraries' constructors; after an
 * exec, also what the previous image used and did not write): one sample
 * of count 0 on this marker, so a process's profile adds up to the CPU the
 * kernel charged it.  Recorded by cp_cpu_add_startup. */
#define CP_CPU_STARTUP_PC 0xffd0000000000001ull
#define CP_CPU_STARTUP_FRAME "[process start-up]"
/* Charge ns of start-up CPU to the running profile (no-op if none).
 * [thread-safe] */
void cp_cpu_add_startup(int64_t ns);

#endif
