/* preload.c — the LD_PRELOAD entry: environment, thread and fork hooks.
 *
 * What: a constructor reads CPROF_CPU / CPROF_CPU_HZ / CPROF_CPU_SIGNAL
 * and starts the CPU profile before main; an atexit handler stops it and
 * writes the file when the program exits (from main's return or exit() on
 * any thread).  pthread_create is interposed so every new thread passes
 * through a trampoline that arms its CPU timer before the start routine
 * and disarms it at exit (a pthread key destructor, which also runs on
 * pthread_exit).  pthread_atfork keeps the profiler consistent across
 * fork: the child stops, and starts its own profile only when the path
 * holds "%p", so it never overwrites its parent's file.  exec keeps the
 * environment, so an exec'd program profiles itself under its own %p; the
 * exec family is interposed so a process writes its CPU samples and
 * disarms its timers before its image is replaced.
 * sigaction and signal are interposed so a program that installs its own
 * handler for the profiling signal gets it cleanly (see below).  dlclose
 * is interposed so the CPU profiler notes the code mappings before a
 * library goes away (its samples keep their names).  CPROF_STACK_DEPTH
 * sets the depth every profiler's stacks keep (strictly parsed).
 *
 * The environment is only read, never written: programs such as bash
 * replace getenv/setenv with their own, which must not be called before
 * their main (a setenv here once hid CPROF_CPU from bash's getenv).
 *
 * The same code runs when a program links -lcprof: the interposer then
 * comes first in symbol lookup order as well.  The heap profiler's part
 * (environment, exit, fork: src/preload/heap_env.c) is called from here.
 *
 * Rejected: interposing clone (too low; glibc's own helpers use it, and
 * a raw clone child is not a pthread); marking the process tree in the
 * environment (see above); a destructor instead of atexit (an
 * atexit handler registered in the constructor runs before the destructors
 * of the libraries the symbolizer relies on, and after every atexit handler
 * the program registered later, so the program's own exit work is still
 * profiled).
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "collect/cpu.h"
#include "collect/heap.h"
#include "collect/labels.h"
#include "collect/unwind.h"
#include "cprof.h"
#include "preload/heap_env.h"
#include "preload/io_env.h"
#include "preload/locks_env.h"


typedef int (*create_fn)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
static void *real_create; /* pthread_create after ours */
static pthread_key_t exit_key;
static int have_key;

struct tramp {
    void *(*fn)(void *);
    void *arg;
    const cp_labelset *labels; /* the creator's, inherited */
};

/* The profiler's own blocks, never charged to the program's heap profile
 * (the busy mark's barriers, heap.h, keep the compiler from dropping it). */
static void *own_malloc(size_t n)
{
    int busy = cp_heap_busy_enter();
    void *p = malloc(n);
    cp_heap_busy_leave(busy);
    return p;
}

static void own_free(void *p)
{
    int busy = cp_heap_busy_enter();
    free(p);
    cp_heap_busy_leave(busy);
}

static void on_thread_exit(void *v)
{
    (void)v;
    cp_cpu_thread_end();
}

static void *trampoline(void *p)
{
    struct tramp t = *(struct tramp *)p;
    own_free(p);
    cp_labels_set_current(t.labels);
    if (have_key)
        pthread_setspecific(exit_key, (void *)1);
    /* Libraries often create workers with every signal blocked (liblzma,
     * many thread pools) so that the program's signals go elsewhere; a
     * blocked profiling signal would leave the worker unsampled.  Our
     * handler is invisible to the program (SA_RESTART, errno kept), so
     * unblock just that one signal. */
    int sig = cp_cpu_signal();
    if (sig > 0) {
        sigset_t one;
        sigemptyset(&one);
        sigaddset(&one, sig);
        pthread_sigmask(SIG_UNBLOCK, &one, NULL);
    }
    cp_cpu_thread_begin();
    return t.fn(t.arg);
}

/* The next definition of `name` after ours (glibc's, usually), looked up
 * once and kept in *cache. */
static void *next_fn(void **cache, const char *name)
{
    void *f = __atomic_load_n(cache, __ATOMIC_ACQUIRE);
    if (!f) {
        f = dlsym(RTLD_NEXT, name);
        __atomic_store_n(cache, f, __ATOMIC_RELEASE);
    }
    return f;
}

static create_fn get_real_create(void)
{
    return (create_fn)next_fn(&real_create, "pthread_create");
}

CPROF_API int pthread_create(pthread_t *th, const pthread_attr_t *attr, void *(*fn)(void *),
                             void *arg)
{
    create_fn real = get_real_create();
    if (!real)
        return EAGAIN;
    struct tramp *t = own_malloc(sizeof *t);
    if (!t)
        return real(th, attr, fn, arg); /* unprofiled, but the program runs */
    t->fn = fn;
    t->arg = arg;
    t->labels = cp_labels_current();
    int rc = real(th, attr, trampoline, t);
    if (rc != 0)
        own_free(t);
    return rc;
}

/* Before a library is unloaded, the CPU profiler notes where its code was
 * (only while a profile is running or has samples to write). */
typedef int (*dlclose_fn)(void *);

CPROF_API int dlclose(void *handle)
{
    static void *real;
    dlclose_fn f = (dlclose_fn)next_fn(&real, "dlclose");
    if (!f)
        return -1; /* dlerror() then says why dlsym failed */
    cp_cpu_note_maps();
    return f(handle);
}

/* A program that installs its own disposition for the profiling signal
 * keeps it: the profiler lets go first (deleting its timers, so the
 * program's handler never sees our signals and SIG_DFL never kills it).
 * signal() is interposed too because glibc's signal() calls its internal
 * sigaction directly. */
typedef int (*sigaction_fn)(int, const struct sigaction *, struct sigaction *);
typedef sighandler_t (*signal_fn)(int, sighandler_t);

CPROF_API int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
    static sigaction_fn real;
    if (!real)
        real = (sigaction_fn)dlsym(RTLD_NEXT, "sigaction");
    if (!real) {
        errno = ENOSYS;
        return -1;
    }
    if (act && sig > 0 && sig == cp_cpu_signal() && !cp_cpu_is_handler(act))
        cp_cpu_release_signal();
    /* A crash handler (or a runtime's fault handler) installed after ours
     * would take the unwinder's own faults: keep the guard, chain to it. */
    if (cp_unwind_fault_sigaction(sig, act, old))
        return 0;
    return real(sig, act, old);
}

CPROF_API sighandler_t signal(int sig, sighandler_t handler)
{
    static signal_fn real;
    if (!real)
        real = (signal_fn)dlsym(RTLD_NEXT, "signal");
    if (!real) {
        errno = ENOSYS;
        return SIG_ERR;
    }
    if (sig > 0 && sig == cp_cpu_signal())
        cp_cpu_release_signal();
    if ((sig == SIGSEGV || sig == SIGBUS) && handler != SIG_ERR) {
        /* glibc's signal(): BSD semantics, SA_RESTART, handler not reset. */
        struct sigaction act, old;
        memset(&act, 0, sizeof act);
        act.sa_handler = handler;
        act.sa_flags = SA_RESTART;
        if (cp_unwind_fault_sigaction(sig, &act, &old))
            return old.sa_handler;
    }
    return real(sig, handler);
}

static void fork_prepare(void)
{
    cp_cpu_atfork_prepare();
}

static void fork_parent(void)
{
    cp_cpu_atfork_parent();
}

static void fork_child(void)
{
    cp_preload_heap_atfork_child();
    cp_cpu_atfork_child();
    cp_labels_atfork_child();
    cp_preload_io_atfork_child();
    cp_preload_locks_atfork_child();
}

static void at_exit(void)
{
    int rc = cprof_cpu_stop(); /* also after the program took the signal */
    if (rc && rc != CPROF_ENOTRUNNING)
        cp_log("CPU profile not written: %s", cprof_strerror(rc));
    cp_preload_locks_fini();
    cp_preload_heap_fini();
    cp_preload_io_fini();
}

static void start_cpu_from_env(void)
{
    const char *path = getenv("CPROF_CPU");
    if (!path || !*path)
        return;
    cprof_cpu_options o = {0};
    const char *hz = getenv("CPROF_CPU_HZ");
    if (hz && *hz) {
        char *end;
        long v = strtol(hz, &end, 10);
        if (*end || v <= 0 || v > 100000)
            cp_log("ignoring CPROF_CPU_HZ=%s (want 1..100000); using 100", hz);
        else
            o.hz = (int)v;
    }
    const char *sig = getenv("CPROF_CPU_SIGNAL");
    if (sig && *sig)
        o.signal = atoi(sig);
    int rc = cprof_cpu_start(path, &o);
    if (rc)
        cp_log("CPU profile not started: %s", cprof_strerror(rc));
}

/* The exec family: the CPU profile is written (when it has samples) and
 * its timers disarmed before the process image is replaced, so no sample
 * is lost and no timer signal reaches the new image; a failed exec carries
 * on profiling.  Each function is interposed on its own because glibc's
 * call each other internally, past any interposer.  posix_spawn is not
 * interposed: it execs in a child that shares nothing of ours. */
typedef int (*execve_fn)(const char *, char *const[], char *const[]);
typedef int (*execvpe_fn)(const char *, char *const[], char *const[]);
typedef int (*execv_fn)(const char *, char *const[]);
typedef int (*fexecve_fn)(int, char *const[], char *const[]);

#define EXEC_CALL(type, name, ...)                        \
    do {                                                  \
        static void *cache;                               \
        type f = (type)next_fn(&cache, name);             \
        if (!f) {                                         \
            errno = ENOSYS;                               \
            return -1;                                    \
        }                                                 \
        cp_cpu_before_exec();                             \
        int rc = f(__VA_ARGS__);                          \
        int e = errno;                                    \
        cp_cpu_exec_failed();                             \
        errno = e;                                        \
        return rc;                                        \
    } while (0)

CPROF_API int execve(const char *path, char *const argv[], char *const envp[])
{
    EXEC_CALL(execve_fn, "execve", path, argv, envp);
}

CPROF_API int execv(const char *path, char *const argv[])
{
    EXEC_CALL(execv_fn, "execv", path, argv);
}

CPROF_API int execvp(const char *file, char *const argv[])
{
    EXEC_CALL(execv_fn, "execvp", file, argv);
}

CPROF_API int execvpe(const char *file, char *const argv[], char *const envp[])
{
    EXEC_CALL(execvpe_fn, "execvpe", file, argv, envp);
}

CPROF_API int fexecve(int fd, char *const argv[], char *const envp[])
{
    EXEC_CALL(fexecve_fn, "fexecve", fd, argv, envp);
}

/* execl, execlp, execle: the arguments into an array on the stack (as
 * glibc does), then the v-form above. */
static size_t count_args(va_list ap)
{
    size_t n = 1; /* arg, then the others up to the NULL */
    while (va_arg(ap, const char *))
        n++;
    return n;
}

/* argv[0..n) from arg and ap, the NULL after them consumed, argv[n] = NULL */
#define COLLECT_ARGS(argv, arg, ap, n)                    \
    do {                                                  \
        argv[0] = (char *)arg;                            \
        for (size_t i_ = 1; i_ <= n; i_++)                \
            argv[i_] = va_arg(ap, char *);                \
    } while (0)

CPROF_API int execl(const char *path, const char *arg, ...)
{
    va_list ap;
    va_start(ap, arg);
    size_t n = count_args(ap);
    va_end(ap);
    char *argv[n + 1];
    va_start(ap, arg);
    COLLECT_ARGS(argv, arg, ap, n);
    va_end(ap);
    return execv(path, argv);
}

CPROF_API int execlp(const char *file, const char *arg, ...)
{
    va_list ap;
    va_start(ap, arg);
    size_t n = count_args(ap);
    va_end(ap);
    char *argv[n + 1];
    va_start(ap, arg);
    COLLECT_ARGS(argv, arg, ap, n);
    va_end(ap);
    return execvp(file, argv);
}

CPROF_API int execle(const char *path, const char *arg, ...)
{
    va_list ap;
    va_start(ap, arg);
    size_t n = count_args(ap);
    va_end(ap);
    char *argv[n + 1];
    va_start(ap, arg);
    COLLECT_ARGS(argv, arg, ap, n);
    char *const *envp = va_arg(ap, char *const *);
    va_end(ap);
    return execve(path, argv, envp);
}

/* Strict: digits only, in range; a bad value is refused with a message
 * and the default kept. */
static void stack_depth_from_env(void)
{
    const char *v = getenv("CPROF_STACK_DEPTH");
    int d;
    if (!v)
        return;
    if (cp_unwind_parse_depth(v, &d) != 0 || cp_unwind_set_depth(d) != 0)
        cp_log("ignoring CPROF_STACK_DEPTH=%s (want a number of frames in %d..%d); using %d", v,
               CP_MIN_FRAMES, CP_MAX_FRAMES, cp_unwind_depth());
}

__attribute__((constructor)) static void preload_init(void)
{
    stack_depth_from_env(); /* before any profiler takes a stack */
    cp_preload_heap_init();
    cp_preload_io_init();
    get_real_create();
    have_key = pthread_key_create(&exit_key, on_thread_exit) == 0;
    /* The heap's handlers first, so its prepare runs last: a thread inside
     * cprof_cpu_stop holds the CPU mutex and frees big blocks, which takes
     * the heap lock; taking them in the other order deadlocked fork(). */
    cp_heap_atfork_register();
    pthread_atfork(fork_prepare, fork_parent, fork_child);
    atexit(at_exit);
    cp_preload_locks_init();
    start_cpu_from_env();
}
