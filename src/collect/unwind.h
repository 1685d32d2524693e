/* unwind.h — capture the current thread's call stack.
 *
 * Contract (implemented in unwind.c by the CPU profiler work):
 *  - Works through code without frame pointers (DWARF CFI), e.g. Debian's libc.
 *  - Never allocates, never takes a lock that a malloc hook or an interrupted
 *    thread might hold, never calls a lazily bound function after
 *    cp_unwind_init() has run.
 *  - Stops cleanly (returns the frames found so far) on a corrupt stack.
 *  - pcs[0] is the innermost frame.  Frames other than the innermost one are
 *    stored as return address - 1, so they point inside the call instruction
 *    and symbolize to the calling line (pprof's convention).
 */
#ifndef CP_COLLECT_UNWIND_H
#define CP_COLLECT_UNWIND_H

#include <stdint.h>

#define CP_MAX_FRAMES 128

/* Resolve everything the unwinder needs; call once, outside hooks and
 * handlers, before the first capture.  [thread-safe] */
void cp_unwind_init(void);

/* The caller's stack, skipping `skip` innermost frames of the profiler
 * itself.  Returns the number of frames stored.  [hook-safe] */
int cp_unwind_here(uint64_t *pcs, int max, int skip);

/* The interrupted context's stack from a SA_SIGINFO handler's ucontext;
 * pcs[0] is the interrupted PC.  [async-signal-safe] */
int cp_unwind_signal(void *ucontext, uint64_t *pcs, int max);

/* The program installs (act) or asks for (old) its own SIGSEGV or SIGBUS
 * disposition while the walk's fault guard holds the signal: the guard
 * stays installed and passes the faults that are not a walk's to the
 * program's handler, which is what `old` reports.  Returns 1 when done so,
 * 0 when the caller should call the real sigaction.  The program's sa_mask
 * is not applied when its handler runs through the guard.  [thread-safe] */
struct sigaction;
int cp_unwind_fault_sigaction(int sig, const struct sigaction *act, struct sigaction *old);

#endif
