/* continuous.h — periodic, signal-triggered and time-limited profiles
 * (CPROF_PERIOD, CPROF_SIGNAL, CPROF_DURATION, CPROF_KEEP).
 *
 * Contract: cp_continuous_init (the preload constructor, after the
 * collectors started) reads the variables; when none is set it does
 * nothing at all (no thread, no signal, no descriptor).  Otherwise one
 * writer thread of the profiler's own (every signal blocked but
 * CPROF_SIGNAL's, heap-busy, no CPU timer) cuts the run into periods: at
 * each period's end, on each delivery of the signal, at the duration's end
 * and at exit it writes, for every type of the registry (registry.h) that
 * is enabled and has a FILE, what the period holds — "%n" and "%t" in
 * FILE name the period.  The signal handler only writes a byte to a pipe.
 * A forked child has no writer (its files are written at its exit, as
 * without these variables); an exec'd image starts its own.
 */
#ifndef CP_COLLECT_CONTINUOUS_H
#define CP_COLLECT_CONTINUOUS_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

/* Constructor and exit handler (the exit's final cut, once; joins the
 * writer).  [thread-safe] */
void cp_continuous_init(void);
void cp_continuous_fini(void);
/* True in the process whose writer owns the files: the collectors' own
 * exit writes are then skipped (the final cut wrote, or will write, the
 * last period; a cumulative write would break the partition). */
bool cp_continuous_exit_owned(void);
/* fork (sigfork.c): prepare holds the cut lock, parent releases it, the
 * child re-initialises it and keeps no writer. */
void cp_continuous_atfork_prepare(void);
void cp_continuous_atfork_parent(void);
void cp_continuous_atfork_child(void);

/* CPROF_SIGNAL's signal while cprof owns it, else 0; is act our handler;
 * the program takes the signal: let go (the writer thread then says so,
 * in one line on stderr).  For the sigaction/signal interposers.
 * [async-signal-safe] */
int cp_continuous_signal(void);
bool cp_continuous_is_handler(const struct sigaction *act);
void cp_continuous_release_signal(void);

/* "USR2", "SIGUSR2", "usr2", "RTMIN+3", "RTMAX-1", "12" → the number, or
 * 0 when the name is unknown or the signal cannot be used (KILL, STOP,
 * SEGV, BUS, ILL, FPE).  [thread-safe] */
int cp_continuous_parse_signal(const char *name);
/* A positive number of seconds ("1", "0.5"), strictly: 0 or CPROF_EINVAL. */
int cp_continuous_parse_seconds(const char *s, double *out);

typedef struct cp_continuous_stats {
    int64_t cuts;     /* periods written (each may hold several files) */
    int64_t late;     /* period ends the writer reached late, merged into the next file */
    int64_t failed;   /* files that could not be written */
} cp_continuous_stats;
void cp_continuous_get_stats(cp_continuous_stats *out);

#endif
