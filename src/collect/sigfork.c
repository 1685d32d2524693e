/* sigfork.c — signal dispositions and fork, owned in one place.
 *
 * What: (1) the real sigaction/signal, resolved once; (2) the profiling
 * signal kept in front of the program (the program's disposition is
 * recorded and run from the profiler's handler for the signals that are
 * not the profiler's own); (3) the one pthread_atfork registration, with
 * the lock order and the child's re-initialisation written below as
 * tables.
 *
 * Keeping the signal instead of yielding it: the sigaction and signal
 * interposers run wherever the program calls them, crash and clean-up
 * handlers included, and POSIX makes both async-signal-safe.  Yielding the
 * profiling signal to the program means deleting every thread's timer
 * (a mutex-guarded registry) and re-arming on another signal
 * (timer_create, /proc listing, allocation), none of which a signal
 * handler may do.  Keeping the signal needs only an atomic pointer store:
 * the program's sigaction is copied into a slot of a small static pool and
 * the slot published; the profiler's handler tells its own timer signals
 * (SI_TIMER with the registry's cookie, timers.h) from everything else and
 * passes the rest on.  This is the signal chaining JVMs use (libjsig).
 * The pool is a ring of POOL slots: a slot is reused only after POOL
 * later sigaction calls on the kept signal, long after any reader copied
 * it.  Limits of running the program's handler from ours: SA_ONSTACK is
 * not honoured (ours runs on the thread's stack), and an interrupted
 * system call is restarted even if the program's handler lacked
 * SA_RESTART (ours has it).  When the profile stops, the program's
 * disposition is installed for real.
 *
 * Fork: the prepare handler takes the locks in `locks[]` order, outermost
 * first; the parent releases them in reverse; the child re-initialises
 * each module in `children[]` order (the allocator's state first, the
 * CPU profiler's restart last).  Modules above collect/ (the HTTP
 * server's locks, the preload layer's per-type flags) are reached through
 * weak hidden references, so
 * collect/ includes none of their headers and test programs that link
 * collect/ alone still fork cleanly.
 *
 * Rejected: a pthread_atfork per module (the lock order was the order in
 * which modules happened to register, and a module registering lazily
 * inverted it); yielding the signal from the interposer (above);
 * resolving the real functions on first use through a plain static (a
 * data race, and dlsym inside a signal handler).
 */
#include "collect/sigfork.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "collect/continuous.h"
#include "collect/cpu.h"
#include "collect/heap.h"
#include "collect/labels.h"
#include "collect/threads.h"
#include "collect/timers.h"
#include "collect/unwind.h"
#include "cprof.h"

typedef int (*sigaction_fn)(int, const struct sigaction *, struct sigaction *);
typedef sighandler_t (*signal_fn)(int, sighandler_t);

/* glibc's own entry points, bound at load (-z now): what the real
 * functions are until the constructor has looked up the next ones. */
extern int __sigaction(int, const struct sigaction *, struct sigaction *);
extern sighandler_t bsd_signal(int, sighandler_t);

static _Atomic(sigaction_fn) real_sigaction = __sigaction;
static _Atomic(signal_fn) real_signal = bsd_signal;
static atomic_int init_done;

int cp_sigfork_sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
    return atomic_load_explicit(&real_sigaction, memory_order_acquire)(sig, act, old);
}

sighandler_t cp_sigfork_signal(int sig, sighandler_t handler)
{
    return atomic_load_explicit(&real_signal, memory_order_acquire)(sig, handler);
}

/* ---- the kept signal ---- */

static int fault_sigaction(int sig, const struct sigaction *act, struct sigaction *old);

enum { POOL = 64 };
static struct sigaction pool[POOL];
static atomic_uint pool_next;
/* The program's disposition for the kept signal; NULL until it sets one. */
static _Atomic(const struct sigaction *) prog;
static struct sigaction before; /* what was installed before ours */
static atomic_int kept;
static void (*kept_handler)(int, siginfo_t *, void *);

static void publish(const struct sigaction *a)
{
    unsigned i = atomic_fetch_add_explicit(&pool_next, 1, memory_order_relaxed) % POOL;
    pool[i] = *a;
    atomic_store_explicit(&prog, &pool[i], memory_order_release);
}

int cp_sigfork_keep(int sig, void (*handler)(int, siginfo_t *, void *))
{
    struct sigaction sa, cur;
    if (cp_sigfork_sigaction(sig, NULL, &cur) != 0)
        return CPROF_EINVAL;
    if (!((cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == handler))
        before = cur;
    kept_handler = handler;
    atomic_store(&prog, NULL);
    /* Kept before installed: a program's sigaction in between is recorded
     * (and runs behind ours), never lost under ours. */
    atomic_store(&kept, sig);
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (cp_sigfork_sigaction(sig, &sa, NULL) != 0) {
        atomic_store(&kept, 0);
        return CPROF_EINVAL;
    }
    return 0;
}

int cp_sigfork_kept(void)
{
    return atomic_load(&kept);
}

int cp_sigfork_intercept(int sig, const struct sigaction *act, struct sigaction *old)
{
    if (sig == SIGSEGV || sig == SIGBUS)
        return fault_sigaction(sig, act, old);
    if (sig <= 0 || sig != atomic_load(&kept))
        return 0;
    if (act && (act->sa_flags & SA_SIGINFO) && act->sa_sigaction == kept_handler)
        return 0; /* ours again (a program restoring what it read): install it */
    const struct sigaction *cur = atomic_load_explicit(&prog, memory_order_acquire);
    struct sigaction prev = cur ? *cur : before; /* before act: old may alias it */
    if (act)
        publish(act);
    if (old)
        *old = prev;
    return 1;
}

/* The default action of sig, from inside our handler (sig blocked). */
static void default_action(int sig)
{
    if (sig == SIGCHLD || sig == SIGURG || sig == SIGWINCH || sig == SIGCONT)
        return; /* ignored by default (SIGCONT has continued already) */
    /* Terminate (or dump core) as the kernel would: the default
     * disposition, and the signal again, delivered when we return. */
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    cp_sigfork_sigaction(sig, &dfl, NULL);
    raise(sig);
}

void cp_sigfork_forward(int sig, siginfo_t *si, void *uc)
{
    const struct sigaction *p = atomic_load_explicit(&prog, memory_order_acquire);
    if (!p)
        return;
    struct sigaction h = *p;
    if (h.sa_flags & SA_RESETHAND) {
        struct sigaction dfl;
        memset(&dfl, 0, sizeof dfl);
        dfl.sa_handler = SIG_DFL;
        publish(&dfl); /* the kernel resets before the handler runs */
    }
    if (!(h.sa_flags & SA_SIGINFO)) {
        if (h.sa_handler == SIG_IGN)
            return;
        if (h.sa_handler == SIG_DFL) {
            default_action(sig);
            return;
        }
    }
    /* The mask the kernel would have set: ours already blocks sig. */
    bool nodefer = h.sa_flags & SA_NODEFER;
    bool masked = !sigisemptyset(&h.sa_mask) || nodefer;
    sigset_t saved;
    if (masked) {
        sigset_t m = h.sa_mask;
        if (nodefer)
            sigdelset(&m, sig);
        pthread_sigmask(SIG_BLOCK, &m, &saved);
        if (nodefer) {
            sigset_t one;
            sigemptyset(&one);
            sigaddset(&one, sig);
            pthread_sigmask(SIG_UNBLOCK, &one, NULL);
        }
    }
    if (h.sa_flags & SA_SIGINFO)
        h.sa_sigaction(sig, si, uc);
    else
        h.sa_handler(sig);
    if (masked)
        pthread_sigmask(SIG_SETMASK, &saved, NULL);
}

bool cp_sigfork_hand_over(void)
{
    int sig = atomic_load(&kept);
    const struct sigaction *p = atomic_load_explicit(&prog, memory_order_acquire);
    if (!sig || !p)
        return false;
    struct sigaction h = *p, ign;
    atomic_store(&kept, 0);
    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    cp_sigfork_sigaction(sig, &ign, NULL); /* drops our queued timer signals */
    cp_sigfork_sigaction(sig, &h, NULL);
    atomic_store(&prog, NULL);
    return true;
}

void cp_sigfork_discard_pending(int sig)
{
    struct sigaction ign, cur;
    if (sig <= 0)
        return;
    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    if (cp_sigfork_sigaction(sig, &ign, &cur) == 0)
        cp_sigfork_sigaction(sig, &cur, NULL);
}

/* ---- the unwinder's SIGSEGV/SIGBUS guard ----
 *
 * A walk over a corrupt stack faults inside libgcc; the guard's handler
 * jumps back into the walk (cp_unwind_fault_escape) when the fault is a
 * walk's, and otherwise passes it to the program's handler (the one found
 * at install or set later through the interposers, which keep the guard
 * in front) or takes the default action (docs/signal-safety.md). */
static struct sigaction old_segv, old_bus;
static atomic_int guard_on;

static void on_fault(int sig, siginfo_t *si, void *uc)
{
    /* si_code <= 0: sent by kill, tgkill or sigqueue, not a fault of ours. */
    bool sent = si && si->si_code <= 0;
    if (!sent)
        cp_unwind_fault_escape(); /* does not return during a walk */
    struct sigaction *old = sig == SIGSEGV ? &old_segv : &old_bus;
    if (old->sa_flags & SA_RESETHAND) {
        /* A one-shot handler: the kernel would reset the disposition to
         * the default before running it; so do we, or a handler that
         * returns to re-execute the fault would be called for ever. */
        struct sigaction h = *old;
        memset(old, 0, sizeof *old);
        old->sa_handler = SIG_DFL;
        cp_sigfork_sigaction(sig, old, NULL);
        /* sa_handler and sa_sigaction share storage: test it once. */
        if (h.sa_handler == SIG_DFL || h.sa_handler == SIG_IGN) {
            if (sent && h.sa_handler == SIG_DFL)
                raise(sig);
        } else if (h.sa_flags & SA_SIGINFO) {
            h.sa_sigaction(sig, si, uc);
        } else {
            h.sa_handler(sig);
        }
        return;
    }
    if ((old->sa_flags & SA_SIGINFO) && old->sa_sigaction) {
        old->sa_sigaction(sig, si, uc);
        return;
    }
    if (!(old->sa_flags & SA_SIGINFO) && old->sa_handler != SIG_DFL &&
        old->sa_handler != SIG_IGN) {
        old->sa_handler(sig);
        return;
    }
    if (!(old->sa_flags & SA_SIGINFO) && old->sa_handler == SIG_IGN && sent)
        return; /* the program ignores it */
    /* Default action: restore it.  Returning from a fault re-executes the
     * faulting instruction, which now takes the default path (core dump);
     * a sent signal is not repeated that way, so send it again (it is not
     * blocked here: SA_NODEFER), or the process would survive it. */
    cp_sigfork_sigaction(sig, old, NULL);
    if (sent)
        raise(sig);
}

static bool is_guard(const struct sigaction *a)
{
    return (a->sa_flags & SA_SIGINFO) && a->sa_sigaction == on_fault;
}

void cp_sigfork_guard_faults(void)
{
    if (atomic_exchange(&guard_on, 1))
        return;
    struct sigaction sa, cur;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fault;
    /* SA_NODEFER: the jump out leaves the signal mask as it was before the
     * fault, so sigsetjmp need not save the mask (a syscall per sample). */
    sa.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (cp_sigfork_sigaction(SIGSEGV, NULL, &cur) == 0 && !is_guard(&cur))
        cp_sigfork_sigaction(SIGSEGV, &sa, &old_segv);
    if (cp_sigfork_sigaction(SIGBUS, NULL, &cur) == 0 && !is_guard(&cur))
        cp_sigfork_sigaction(SIGBUS, &sa, &old_bus);
}

/* The program installs (act) or asks for (old) its SIGSEGV/SIGBUS
 * disposition: the guard stays, the program's handler is chained to. */
static int fault_sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
    struct sigaction cur;
    if (!atomic_load(&guard_on) || cp_sigfork_sigaction(sig, NULL, &cur) != 0 || !is_guard(&cur))
        return 0; /* not (or no longer) ours */
    struct sigaction *chain = sig == SIGSEGV ? &old_segv : &old_bus;
    struct sigaction prev = *chain;
    if (act && !is_guard(act))
        *chain = *act;
    if (old)
        *old = prev;
    return 1;
}

/* ---- fork ---- */

/* The layers above collect/: the /debug/pprof server's locks (src/http)
 * and the preload layer's per-type fork state (src/preload), absent from
 * programs that link collect/ without them.  A step whose functions are
 * absent is skipped. */
#define WEAK __attribute__((weak, visibility("hidden")))
WEAK void cp_http_atfork_prepare(void);
WEAK void cp_http_atfork_parent(void);
WEAK void cp_http_atfork_child(void);
WEAK void cp_route_atfork_prepare(void);
WEAK void cp_route_atfork_parent(void);
WEAK void cp_route_atfork_child(void);
WEAK void cp_preload_heap_atfork_child(void);
WEAK void cp_preload_locks_atfork_child(void);
WEAK void cp_preload_io_atfork_child(void);

typedef struct fork_lock {
    void (*lock)(void);
    void (*unlock)(void);
} fork_lock;

/* Every lock of cprof, outermost first: a lock is listed before any lock
 * its holder may take.
 *  0. the /debug/pprof server's start/stop (http/start.c): a stop joins
 *     server threads that may be inside any producer below;
 *  1. the periodic writer's cut: a cut calls every profile type's
 *     producer, which take the locks below;
 *  2. the CPU profiler's period and start/stop mutexes (taken in that
 *     order by cpu.c itself): start and stop arm and
 *     delete timers and read thread state;
 *  3. the timer registry;
 *  4. the threads profile's snapshot mutex, then
 *  5. the created-threads registry's spin lock (a snapshot walks it);
 *  6. the label sets' spin lock (interning, taken from anywhere);
 *  6b. the server's delta and rate locks (http/route.c), leaves that
 *     free profiles;
 *  7. the heap profiler's lock, last: every holder above may free a
 *     sampled block, which takes it (cpu stop frees big blocks), and its
 *     prepare marks the thread busy so that nothing after it samples.
 * The allocator's own locks are glibc's: its fork takes them after these
 * handlers, so the handlers above may allocate. */
static const fork_lock locks[] = {
    {cp_http_atfork_prepare, cp_http_atfork_parent},
    {cp_continuous_atfork_prepare, cp_continuous_atfork_parent},
    {cp_cpu_atfork_prepare, cp_cpu_atfork_parent},
    {cp_timers_atfork_prepare, cp_timers_atfork_parent},
    {cp_threads_atfork_prepare, cp_threads_atfork_parent},
    {cp_threadreg_atfork_prepare, cp_threadreg_atfork_parent},
    {cp_labels_atfork_prepare, cp_labels_atfork_parent},
    {cp_route_atfork_prepare, cp_route_atfork_parent},
    {cp_heap_atfork_prepare, cp_heap_atfork_parent},
};
enum { NLOCKS = sizeof locks / sizeof locks[0] };

/* The child, in this order: the heap lock and busy mark first (every
 * later step may allocate); each module's locks re-initialised and its
 * inherited state dropped (the parent's samples are not the child's);
 * the preload layer's per-type flags; then, last, the CPU profile's
 * restart under "%p", which arms a timer and so needs all of the above. */
static void (*const children[])(void) = {
    cp_heap_atfork_child,
    cp_labels_atfork_child,
    cp_threads_atfork_child, /* and the created-threads registry */
    cp_timers_atfork_child,
    cp_cpu_atfork_child,
    cp_continuous_atfork_child,
    cp_route_atfork_child,
    cp_http_atfork_child,
};

static void fork_prepare(void)
{
    for (size_t i = 0; i < NLOCKS; i++)
        if (locks[i].lock)
            locks[i].lock();
}

static void fork_parent(void)
{
    for (size_t i = NLOCKS; i-- > 0;)
        if (locks[i].unlock)
            locks[i].unlock();
}

static void fork_child(void)
{
    for (size_t i = 0; i < sizeof children / sizeof children[0]; i++)
        if (children[i])
            children[i]();
    if (cp_preload_heap_atfork_child)
        cp_preload_heap_atfork_child();
    if (cp_preload_locks_atfork_child)
        cp_preload_locks_atfork_child();
    if (cp_preload_io_atfork_child)
        cp_preload_io_atfork_child();
    cp_cpu_atfork_restart();
}

void cp_sigfork_init(void)
{
    if (atomic_exchange(&init_done, 1))
        return;
    sigaction_fn sa = (sigaction_fn)dlsym(RTLD_NEXT, "sigaction");
    signal_fn si = (signal_fn)dlsym(RTLD_NEXT, "signal");
    if (sa)
        atomic_store_explicit(&real_sigaction, sa, memory_order_release);
    if (si)
        atomic_store_explicit(&real_signal, si, memory_order_release);
    pthread_atfork(fork_prepare, fork_parent, fork_child);
}

__attribute__((constructor)) static void sigfork_ctor(void)
{
    cp_sigfork_init();
}
