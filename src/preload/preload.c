/* preload.c — the LD_PRELOAD entry: environment, thread and fork hooks.
 *
 * What: a constructor reads CPROF_CPU / CPROF_CPU_HZ / CPROF_CPU_SIGNAL
 * and starts the CPU profile before main; an atexit handler stops it and
 * writes the file when the program exits (from main's return or exit() on
 * any thread).  pthread_create is interposed so every new thread passes
 * through a trampoline that arms its CPU timer before the start routine
 * and disarms it at exit (a pthread key destructor, which also runs on
 * pthread_exit).  Fork is handled in one place (collect/sigfork.c): the
 * child stops, and starts its own profile only when the path holds "%p",
 * so it never overwrites its parent's file.  exec keeps the
 * environment, so an exec'd program profiles itself under its own %p; the
 * exec family is interposed so a process writes its CPU samples and
 * disarms its timers before its image is replaced.
 * sigaction and signal are interposed so a program that installs its own
 * handler for a signal cprof uses gets it (see below).  dlclose
 * is interposed so the code mappings are noted before a library goes
 * away (every profile's samples in it keep their names).  CPROF_STACK_DEPTH
 * sets the depth every profiler's stacks keep (strictly parsed).
 *
 * The environment is only read, never written through setenv/unsetenv:
 * programs such as bash replace getenv/setenv with their own, which must
 * not be called before their main (a setenv here once hid CPROF_CPU from
 * bash's getenv).  The one variable cprof hands itself across an exec is
 * taken out of the array directly (drop_handoff_var).
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/env.h"
#include "base/log.h"
#include "collect/continuous.h"
#include "collect/cpu.h"
#include "collect/dlmaps.h"
#include "collect/heap.h"
#include "collect/labels.h"
#include "collect/sigfork.h"
#include "collect/threads.h"
#include "collect/unwind.h"
#include "cprof.h"
#include "http/http_env.h"
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
    int own;                   /* created inside the profiler (busy): a thread of its own */
    cp_threadreg *created;     /* where it was created (threadcreate) */
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
    cp_threadreg_exit();
}

static void *trampoline(void *p)
{
    struct tramp t = *(struct tramp *)p;
    own_free(p);
    cp_labels_set_current(t.labels);
    /* the profiler's own thread (the /debug/pprof server's): its
     * allocations are never sampled and no CPU timer is armed for it */
    if (t.own)
        cp_heap_tls_state.busy = 1;
    cp_threadreg_started(t.created);
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
    if ((sig = cp_threads_signal()) > 0) { /* the threads profile's, likewise */
        sigset_t one;
        sigemptyset(&one);
        sigaddset(&one, sig);
        pthread_sigmask(SIG_UNBLOCK, &one, NULL);
    }
    if (!t.own)
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
    t->own = cp_heap_tls_state.busy;
    t->created = cp_threadreg_created();
    int rc = real(th, attr, trampoline, t);
    if (rc != 0) {
        if (t->created)
            cp_threadreg_create_failed(t->created);
        own_free(t);
    }
    return rc;
}

/* Before a library is unloaded, note where its code was (dlmaps.h: once
 * any collector started), so every profile keeps its samples' names. */
typedef int (*dlclose_fn)(void *);

CPROF_API int dlclose(void *handle)
{
    static void *real;
    dlclose_fn f = (dlclose_fn)next_fn(&real, "dlclose");
    if (!f)
        return -1; /* dlerror() then says why dlsym failed */
    cp_dlmaps_note();
    return f(handle);
}

/* sigaction and signal are async-signal-safe (crash handlers call them),
 * so these take no lock, create no timer, allocate nothing and print
 * nothing: each step below is an atomic store or a sem_post.  The CPU
 * profiler's signal and SIGSEGV/SIGBUS stay ours, the program's
 * disposition recorded and run behind ours (collect/sigfork.h);
 * CPROF_SIGNAL's and the threads profile's signals are given up.
 * signal() is interposed too because glibc's signal() calls its internal
 * sigaction directly. */
static void let_go(int sig, const struct sigaction *act)
{
    if (sig > 0 && sig == cp_continuous_signal() && !cp_continuous_is_handler(act))
        cp_continuous_release_signal(); /* CPROF_SIGNAL yields to the program */
    if (sig > 0 && sig == cp_threads_signal() && !cp_threads_is_handler(act))
        cp_threads_release_signal();
}

CPROF_API int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
    if (act)
        let_go(sig, act);
    if (cp_sigfork_intercept(sig, act, old))
        return 0;
    return cp_sigfork_sigaction(sig, act, old);
}

CPROF_API sighandler_t signal(int sig, sighandler_t handler)
{
    struct sigaction act, old;
    memset(&act, 0, sizeof act);
    act.sa_handler = handler;
    if (handler != SIG_ERR)
        let_go(sig, &act);
    if (handler != SIG_ERR && sig > 0 && sig == cp_sigfork_kept()) {
        /* glibc's signal(): BSD semantics, SA_RESTART, the signal blocked
         * while its handler runs, the handler not reset. */
        act.sa_flags = SA_RESTART;
        sigemptyset(&act.sa_mask);
        sigaddset(&act.sa_mask, sig);
    } else if (handler != SIG_ERR && (sig == SIGSEGV || sig == SIGBUS)) {
        act.sa_flags = SA_RESTART; /* (the guard applies no mask) */
    } else {
        return cp_sigfork_signal(sig, handler);
    }
    if (cp_sigfork_intercept(sig, &act, &old))
        return old.sa_handler;
    return cp_sigfork_signal(sig, handler);
}

CP_THREADS_OWN static void at_exit(void)
{
    /* CPROF_PERIOD/SIGNAL/DURATION: the last period of every type first;
     * the collectors' own exit writes below then find nothing to do */
    cp_continuous_fini();
    const char *threads = getenv("CPROF_THREADS");
    if (threads && *threads && !cp_continuous_exit_owned()) {
        int trc = cprof_threads_write(threads);
        if (trc)
            cp_log("threads profile not written: %s", cprof_strerror(trc));
    }
    int rc = cprof_cpu_stop(); /* also after the program took the signal */
    if (rc && rc != CPROF_ENOTRUNNING)
        cp_log("CPU profile not written: %s", cprof_strerror(rc));
    cp_preload_locks_fini();
    cp_preload_heap_fini();
    cp_preload_io_fini();
}

/* The CPU this process used before our constructor that no profile holds
 * yet: all of it, less what the image before an exec wrote into its own
 * profile (handed over in HANDOFF_VAR, "pid:ns"; a pid of another process
 * means the variable was inherited, not meant for us).  The variable is
 * removed, so the program never sees it. */
#define HANDOFF_VAR "CPROF_CPU_EXEC_NS"

/* Take HANDOFF_VAR out of `environ` by moving the later entries down: not
 * with unsetenv, which bash replaces with its own that must not run before
 * its main (see the top of this file).  main's envp is the same array, so
 * the program sees the environment it was given. */
static void drop_handoff_var(void)
{
    if (!environ)
        return;
    size_t k = 0;
    for (size_t i = 0; environ[i]; i++)
        if (strncmp(environ[i], HANDOFF_VAR "=", sizeof HANDOFF_VAR) != 0)
            environ[k++] = environ[i];
    environ[k] = NULL;
}

static int64_t startup_cpu_ns(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) != 0)
        return 0;
    int64_t ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    const char *h = getenv(HANDOFF_VAR);
    if (h) {
        char *end;
        long pid = strtol(h, &end, 10);
        if (*end == ':' && pid == (long)getpid()) {
            long long done = strtoll(end + 1, &end, 10);
            if (!*end && done > 0)
                ns = done < ns ? ns - done : 0;
        }
        drop_handoff_var();
    }
    return ns;
}

static void start_cpu_from_env(int64_t startup_ns)
{
    const char *path = getenv("CPROF_CPU");
    if (!path || !*path)
        return;
    cprof_cpu_options o = {0};
    int64_t hz;
    if (cp_env_int("CPROF_CPU_HZ", getenv("CPROF_CPU_HZ"), 1, 100000, &hz) == 1)
        o.hz = (int)hz;
    /* o.signal 0: cprof_cpu_start reads CPROF_CPU_SIGNAL itself */
    int rc = cprof_cpu_start(path, &o);
    if (rc)
        cp_log("CPU profile not started: %s", cprof_strerror(rc));
    else
        cp_cpu_add_startup(startup_ns);
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

/* The environment for the next image: envp plus HANDOFF_VAR telling it
 * how much of the process's CPU the profile just written accounts for
 * (see startup_cpu_ns).  NULL when there is nothing to hand over (ns < 0:
 * no profile written) or no memory: the exec then goes ahead unchanged. */
static char handoff_entry[sizeof HANDOFF_VAR + 48];

static char **env_with_handoff(char *const envp[], int64_t ns)
{
    if (ns < 0 || !envp)
        return NULL;
    snprintf(handoff_entry, sizeof handoff_entry, HANDOFF_VAR "=%ld:%lld", (long)getpid(),
             (long long)ns);
    size_t n = 0;
    while (envp[n])
        n++;
    char **e = own_malloc((n + 2) * sizeof *e);
    if (!e)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(envp[i], HANDOFF_VAR "=", sizeof HANDOFF_VAR) != 0)
            e[k++] = envp[i];
    e[k++] = handoff_entry;
    e[k] = NULL;
    return e;
}

/* After an exec that returned (failed): profiling goes on. */
static int exec_returned(int rc, char **env)
{
    int e = errno;
    own_free(env);
    cp_cpu_exec_failed();
    errno = e;
    return rc;
}

#define REAL(type, name)                                  \
    static void *cache_##name;                            \
    type real_##name = (type)next_fn(&cache_##name, #name); \
    if (!real_##name) {                                   \
        errno = ENOSYS;                                   \
        return -1;                                        \
    }

CPROF_API int execve(const char *path, char *const argv[], char *const envp[])
{
    REAL(execve_fn, execve);
    char **env = env_with_handoff(envp, cp_cpu_before_exec());
    return exec_returned(real_execve(path, argv, env ? env : envp), env);
}

CPROF_API int execvpe(const char *file, char *const argv[], char *const envp[])
{
    REAL(execvpe_fn, execvpe);
    char **env = env_with_handoff(envp, cp_cpu_before_exec());
    return exec_returned(real_execvpe(file, argv, env ? env : envp), env);
}

CPROF_API int fexecve(int fd, char *const argv[], char *const envp[])
{
    REAL(fexecve_fn, fexecve);
    char **env = env_with_handoff(envp, cp_cpu_before_exec());
    return exec_returned(real_fexecve(fd, argv, env ? env : envp), env);
}

/* execv and execvp use `environ`; with a hand-off they become execve and
 * execvpe with the extended copy. */
CPROF_API int execv(const char *path, char *const argv[])
{
    REAL(execv_fn, execv);
    REAL(execve_fn, execve);
    char **env = env_with_handoff(environ, cp_cpu_before_exec());
    int rc = env ? real_execve(path, argv, env) : real_execv(path, argv);
    return exec_returned(rc, env);
}

CPROF_API int execvp(const char *file, char *const argv[])
{
    REAL(execv_fn, execvp);
    REAL(execvpe_fn, execvpe);
    char **env = env_with_handoff(environ, cp_cpu_before_exec());
    int rc = env ? real_execvpe(file, argv, env) : real_execvp(file, argv);
    return exec_returned(rc, env);
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

/* In a variadic exec: declares argv (on the stack, NULL-terminated) from
 * `arg` and the arguments after it, and leaves `ap` open just past their
 * NULL (execle's envp follows it); the caller calls va_end. */
#define ARGV_FROM_LIST(arg)                              \
    va_list ap;                                          \
    va_start(ap, arg);                                   \
    size_t n = count_args(ap);                           \
    va_end(ap);                                          \
    char *argv[n + 1];                                   \
    va_start(ap, arg);                                   \
    argv[0] = (char *)arg;                               \
    for (size_t i_ = 1; i_ <= n; i_++)                   \
        argv[i_] = va_arg(ap, char *)

CPROF_API int execl(const char *path, const char *arg, ...)
{
    ARGV_FROM_LIST(arg);
    va_end(ap);
    return execv(path, argv);
}

CPROF_API int execlp(const char *file, const char *arg, ...)
{
    ARGV_FROM_LIST(arg);
    va_end(ap);
    return execvp(file, argv);
}

CPROF_API int execle(const char *path, const char *arg, ...)
{
    ARGV_FROM_LIST(arg);
    char *const *envp = va_arg(ap, char *const *);
    va_end(ap);
    return execve(path, argv, envp);
}

/* Strict: digits only, in range; a bad value is refused with a message
 * and the default kept. */
static void stack_depth_from_env(void)
{
    int64_t d;
    if (cp_env_int("CPROF_STACK_DEPTH", getenv("CPROF_STACK_DEPTH"), CP_MIN_FRAMES, CP_MAX_FRAMES,
                   &d) == 1)
        (void)cp_unwind_set_depth((int)d);
}

__attribute__((constructor)) static void preload_init(void)
{
    int64_t startup_ns = startup_cpu_ns(); /* first: our own work is profiled */
    stack_depth_from_env(); /* before any profiler takes a stack */
    cp_preload_heap_init();
    cp_preload_io_init();
    get_real_create();
    have_key = pthread_key_create(&exit_key, on_thread_exit) == 0;
    cp_sigfork_init(); /* the real sigaction; fork's one handler set */
    atexit(at_exit);
    cp_preload_locks_init();
    start_cpu_from_env(startup_ns);
    cp_continuous_init(); /* after the collectors started */
    cp_http_env_start();
}
