/* threads.h — the threads profile (Go's goroutine profile) and the
 * threadcreate profile.
 *
 * Contract:
 *  - A snapshot asks every thread of the process for its current stack:
 *    each is sent a realtime signal (CPROF_THREADS_SIGNAL, default
 *    SIGRTMAX-3) with tgkill; its handler unwinds the interrupted stack into
 *    the one request slot and posts a semaphore.  One thread is asked at a
 *    time, each for at most CP_THREADS_TIMEOUT_MS; a thread that exits
 *    meanwhile, has the signal blocked or never answers is skipped and
 *    counted.  The calling thread records its own stack without a signal.
 *    Snapshots are serialized; the world is never stopped.
 *  - The signal is the profiler's only while the program has no handler
 *    for it: a program that installs one keeps it (cp_threads_release_signal
 *    from the sigaction interposer) and later snapshots return CPROF_ESIGNAL.
 *  - Every thread created through the pthread_create interposer keeps the
 *    stack of its creation (cp_threadreg_created) until it exits
 *    (cp_threadreg_exit): the threadcreate profile.
 *  - Everything below runs on a non-handler thread at any time, allocates
 *    (marked busy for the heap profiler) and returns symbolized profiles.
 */
#ifndef CP_COLLECT_THREADS_H
#define CP_COLLECT_THREADS_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/buf.h"
#include "collect/labels.h"
#include "profile/profile.h"

#define CP_THREADS_TIMEOUT_MS 100

/* On a function of the profiler that takes a snapshot on its own thread
 * (an exit handler, an API entry): the calling thread's stack is cut just
 * outside the outermost such frame. */
#define CP_THREADS_OWN __attribute__((section("cprof_threads"), noinline))

/* One thread as a snapshot saw it. */
typedef struct cp_thread_snap {
    pid_t tid;
    char name[32];            /* /proc/self/task/TID/comm */
    char state;               /* /proc/self/task/TID/stat: R, S, D, T, ... */
    const cp_labelset *labels;
    uint32_t n;               /* frames, innermost first */
    uint64_t *pcs;
    uint32_t ncreate;         /* frames of where it was created (0: unknown) */
    uint64_t *create_pcs;
} cp_thread_snap;

typedef struct cp_threads_snapshot {
    cp_thread_snap *threads;
    size_t n;
    int64_t time_ns;          /* CLOCK_REALTIME at the start */
    int skipped_exited;       /* gone before answering */
    int skipped_blocked;      /* signal blocked, or no answer in time */
} cp_threads_snapshot;

/* Take a snapshot of every thread's stack.  0, CPROF_ESIGNAL (the program
 * owns the signal), CPROF_ENOMEM.  [thread-safe], never in a handler. */
int cp_threads_take(cp_threads_snapshot *s);
void cp_threads_snapshot_free(cp_threads_snapshot *s);

/* PINNED for the HTTP endpoint: the threads profile (threads/count, by
 * stack and labels), the threadcreate profile (threadcreate/count, by
 * creation stack), and the text dump like goroutine?debug=2.  Symbolized.
 * [thread-safe] */
int cp_threads_profile(cp_profile **out);
int cp_threadcreate_profile(cp_profile **out);
int cp_threads_text(cp_buf *out);

/* The same from a snapshot already taken (what cprof_threads_write uses,
 * so the profile and the text agree). */
int cp_threads_build(const cp_threads_snapshot *s, cp_profile **out);
int cp_threads_render_text(const cp_threads_snapshot *s, cp_buf *out);

/* The signal used while our handler is installed (0 before the first
 * snapshot and after the program took it), whether act is our handler,
 * and letting go of the signal when the program takes it.
 * [async-signal-safe] */
int cp_threads_signal(void);
bool cp_threads_is_handler(const struct sigaction *act);
void cp_threads_release_signal(void);

/* ---- thread creation registry (threadreg.c) ---- */

typedef struct cp_threadreg cp_threadreg;
/* From now on keep creation stacks (the first snapshot calls it; before,
 * only CPROF_THREADS or CPROF_HTTP in the environment turn them on).
 * [thread-safe] */
void cp_threadreg_want(void);
/* In pthread_create, before creating: the creator's stack (allocates).
 * NULL on ENOMEM or while no threads profile is wanted.  [thread-safe] */
cp_threadreg *cp_threadreg_created(void);
/* The creation failed: forget it. */
void cp_threadreg_create_failed(cp_threadreg *r);
/* In the new thread, first thing: it is alive with tid gettid(). */
void cp_threadreg_started(cp_threadreg *r);
/* At thread exit (a key destructor): forget the calling thread's record. */
void cp_threadreg_exit(void);
/* Copy the creation stack of tid into a malloc'd array; its length or 0. */
uint32_t cp_threadreg_creation_of(pid_t tid, uint64_t **pcs);
/* Every live registered thread's creation stack, for the threadcreate
 * profile: calls fn for each under the registry lock (fn must not create
 * or end threads).  */
void cp_threadreg_each(void (*fn)(void *ctx, pid_t tid, const uint64_t *pcs, uint32_t n),
                             void *ctx);
/* fork (sigfork.c): prepare takes the registry's lock, parent frees it;
 * in the child only the forking thread survives. */
void cp_threadreg_atfork_prepare(void);
void cp_threadreg_atfork_parent(void);
void cp_threadreg_atfork_child(void);

/* In a forked child: the snapshot lock may have been held by a thread
 * that does not exist there; free it, and the registry (above).  */
void cp_threads_atfork_child(void);
/* fork (sigfork.c): the snapshot lock is held across fork. */
void cp_threads_atfork_prepare(void);
void cp_threads_atfork_parent(void);

#endif
