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
 *  - A stack deeper than `max` keeps both ends: its max/2 innermost frames,
 *    one marker (an address no user code has, see cp_unwind_elided), and
 *    its outermost frames up to the root, so a profile still groups deep
 *    stacks under main.  The walk itself stops after CP_WALK_MAX frames
 *    (a runaway recursion would otherwise cost milliseconds per sample);
 *    the marker then says the root was not reached.
 */
#ifndef CP_COLLECT_UNWIND_H
#define CP_COLLECT_UNWIND_H

#include <stdint.h>

#include <stdbool.h>
#include <stddef.h>

/* Bounds of the stack depth (CPROF_STACK_DEPTH): the default, the largest
 * a caller's buffer ever needs, and the longest walk. */
#define CP_DEFAULT_FRAMES 256
#define CP_MIN_FRAMES 8
#define CP_MAX_FRAMES 1024
#define CP_WALK_MAX 16384

/* The stack depth profiles keep (CPROF_STACK_DEPTH, default 256).  Set it
 * once, before any profile starts; values outside [CP_MIN_FRAMES,
 * CP_MAX_FRAMES] are refused with CPROF_EINVAL.  [async-signal-safe] read */
int cp_unwind_depth(void);
int cp_unwind_set_depth(int frames);

/* The marker frame between the two ends of an elided stack.  Its address
 * lies in the non-canonical half of x86-64's address space, which no user
 * code occupies.  `elided` frames were left out; `root_reached` is false
 * when the walk stopped at CP_WALK_MAX (the kept outer frames are then not
 * the root's). */
#define CP_ELIDED_TAG 0xffe0000000000000ull
#define CP_ELIDED_MASK 0xfff0000000000000ull
#define CP_ELIDED_NOROOT (1ull << 40)
static inline bool cp_unwind_elided(uint64_t pc, uint64_t *elided, bool *root_reached)
{
    if ((pc & CP_ELIDED_MASK) != CP_ELIDED_TAG)
        return false;
    if (elided)
        *elided = pc & 0xffffffffull;
    if (root_reached)
        *root_reached = !(pc & CP_ELIDED_NOROOT);
    return true;
}
/* The marker's function name, "[N frames elided]" (or "[N+ frames elided,
 * root not reached]"), into buf; returns buf.  [async-signal-safe] */
const char *cp_unwind_elided_name(uint64_t pc, char *buf, size_t size);

/* Resolve everything the unwinder needs; call once, outside hooks and
 * handlers, before the first capture.  [thread-safe] */
void cp_unwind_init(void);

/* The caller's stack, skipping `skip` innermost frames of the profiler
 * itself.  Returns the number of frames stored.  [hook-safe] */
int cp_unwind_here(uint64_t *pcs, int max, int skip);

/* The interrupted context's stack from a SA_SIGINFO handler's ucontext;
 * pcs[0] is the interrupted PC.  [async-signal-safe] */
int cp_unwind_signal(void *ucontext, uint64_t *pcs, int max);

/* From the SIGSEGV/SIGBUS guard (sigfork.c): if this thread is inside a
 * walk, leave it (siglongjmp back into the walk, which keeps the frames
 * found so far); otherwise return.  [async-signal-safe] */
void cp_unwind_fault_escape(void);

#endif
