/* sigfork.h — the one owner of signal dispositions and of fork.
 *
 * Contract:
 *  - The real sigaction/signal (the next definitions after the
 *    interposers, glibc's usually) are resolved once, by the constructor
 *    (cp_sigfork_init); before it runs they are glibc's own entry points,
 *    bound at load.  Every disposition cprof installs goes through
 *    cp_sigfork_sigaction, never through the interposer.
 *  - The profiling signal is "kept": once the CPU profiler's handler is
 *    installed (cp_sigfork_keep), a program that installs its own
 *    disposition for that signal has it recorded, not installed; the
 *    profiler's handler stays in front, handles the signals of its own
 *    timers and passes every other instance of the signal to the program's
 *    disposition (cp_sigfork_forward), as the kernel would.  When the
 *    profile stops the program's disposition is installed for real
 *    (cp_sigfork_hand_over).  So the interposers never take a mutex,
 *    create or delete a timer, allocate or log: they are async-signal-safe,
 *    as POSIX says sigaction and signal are.
 *  - SIGSEGV/SIGBUS: the unwinder's fault guard is installed here
 *    (cp_sigfork_guard_faults) and stays in front in the same way: the
 *    program's handlers are chained to.
 *  - fork: one pthread_atfork registration.  Its prepare handler takes
 *    every lock of cprof in the order of the table in sigfork.c; parent
 *    and child release them in reverse; the child then re-initialises each
 *    module in one written sequence.
 */
#ifndef CP_COLLECT_SIGFORK_H
#define CP_COLLECT_SIGFORK_H

#include <signal.h>
#include <stdbool.h>

/* Resolve the real functions and register the fork handlers, once.  Runs
 * as a constructor; callers that may come first (a static program that
 * starts a profile itself) call it too.  [thread-safe] */
void cp_sigfork_init(void);

/* The real sigaction and signal, past the interposers.  [async-signal-safe] */
int cp_sigfork_sigaction(int sig, const struct sigaction *act, struct sigaction *old);
sighandler_t cp_sigfork_signal(int sig, sighandler_t handler);

/* Install handler (SA_SIGINFO | SA_RESTART, empty mask: SIGSEGV must stay
 * deliverable for the unwind guard) on sig and keep it in front of the
 * program from now on.  The program's disposition until it sets one is the
 * one found before ours.  0 or CPROF_EINVAL.  [thread-safe] */
int cp_sigfork_keep(int sig, void (*handler)(int, siginfo_t *, void *));
/* The signal kept, or 0. */
int cp_sigfork_kept(void);
/* Called by the kept signal's handler for an instance that is not the
 * profiler's own (not its timer's): run the program's disposition as the
 * kernel would have (its sa_mask blocked, SA_NODEFER, SA_RESETHAND,
 * SA_SIGINFO; SIG_DFL terminates, SIG_IGN drops).  Until the program sets
 * a disposition such signals are dropped (someone else's kill).
 * [async-signal-safe] */
void cp_sigfork_forward(int sig, siginfo_t *si, void *uc);
/* The profiler stopped (its timers are deleted, no handler runs): if the
 * program set a disposition for the kept signal, discard instances already
 * queued (SIG_IGN drops them on every thread) and install the program's;
 * the signal is no longer kept.  Returns true when handed over (the
 * profiler's handler is gone); false leaves ours installed, so a queued
 * timer signal never meets the default action.  [thread-safe] */
bool cp_sigfork_hand_over(void);
/* Before an exec: drop instances of sig already queued on every thread
 * (SIG_IGN), then put back what was installed.  [thread-safe] */
void cp_sigfork_discard_pending(int sig);

/* Install the unwinder's SIGSEGV/SIGBUS guard, once: a fault during a
 * walk of this thread leaves the walk (cp_unwind_fault_escape); any other
 * goes to the program's handler, or takes the default action (a sent one
 * is raised again).  Called by cp_unwind_init.  [thread-safe] */
void cp_sigfork_guard_faults(void);

/* The sigaction interposer's step: if sig is kept (the profiling signal,
 * or SIGSEGV/SIGBUS under the fault guard), record act as the program's,
 * report the program's previous one in old and return 1; else 0 (the
 * caller calls the real sigaction).  [async-signal-safe] */
int cp_sigfork_intercept(int sig, const struct sigaction *act, struct sigaction *old);

#endif
