/* cpu.c — the CPU profiler: start/stop, the signal handler, fork.
 *
 * Flow: per-thread CPU timers (timers.c) send a signal to the thread that
 * used the CPU; on_signal() weighs the sample by the thread CPU time since
 * that thread's previous sample, unwinds the interrupted stack onto its own
 * stack and adds it to a lock-free table of distinct stacks (stacktab.c),
 * then returns.  No helper thread: a program without threads of its own
 * stays single-threaded (glibc keeps its single-thread fast paths, and
 * unshare(CLONE_NEWUSER) keeps working).  Stop disarms the timers, waits
 * for handlers in flight and hands the table to the writer (cpuwrite.c),
 * which symbolizes and writes on the calling thread.  Code mappings are
 * noted before every dlclose (dlmaps.c, shared by every writer) and at
 * write time.
 *
 * Weighting: the kernel fires CPU timers at most once per tick (250 Hz
 * here), so a sample at a requested 1000 Hz stands for ~4 ms, not 1 ms.
 * The thread's own CPU clock, read in the handler (clock_gettime on
 * CLOCK_THREAD_CPUTIME_ID is async-signal-safe), gives the exact CPU time
 * since the previous sample of that thread; the first sample of a thread
 * uses (1 + timer overrun) x period instead.  When a thread ends and when
 * the profile stops, the CPU time since the thread's last sample goes to
 * that sample's stack (add_tail).  Totals therefore match what the kernel
 * charged, whatever rate the kernel grants, short processes included.
 *
 * Handler rules (docs/signal-safety.md): errno saved and restored; no
 * malloc, no lock, no stdio; thread-local state is initial-exec TLS; every
 * external function it calls has been called once at start so nothing is
 * bound lazily inside it.  Lost samples (table full) are counted with their
 * weight and written as a frame named CP_LOST_FRAME.
 *
 * Fork: the child gets the table's pages zeroed by the kernel
 * (MADV_WIPEONFORK), so it neither copies nor resets the parent's samples.
 *
 * Rejected: setitimer(ITIMER_PROF) (one process timer, loses samples on
 * multi-threaded programs); weighting by the requested period (under-counts
 * by the kernel's cap); a ring emptied by a drain thread (the previous
 * design, see stacktab.c); unwinding later from a copied stack (copying
 * 64 KiB per sample costs more than unwinding in place).
 */
#include "collect/cpu.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "base/env.h"
#include "base/log.h"
#include "collect/cpuwrite.h"
#include "collect/dlmaps.h"
#include "collect/heap.h"
#include "collect/labels.h"
#include "collect/sigfork.h"
#include "collect/stacktab.h"
#include "collect/timers.h"
#include "collect/unwind.h"
#include "cprof.h"

/* Table: 64 Ki index slots (256 KiB) and a 32 MiB arena, about 100 000
 * stacks of 30 frames; reserved, not committed (stacktab.c). */
enum { TAB_INDEX = 1 << 16, TAB_ARENA_WORDS = 4 << 20, MAX_HZ = 100000 };

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER; /* start/stop */
static atomic_int running;
static atomic_int in_handler;
static atomic_uint gen;
static atomic_llong n_samples, total_ns;
/* Two stack tables: handlers add to tabs[epoch & 1] while the periodic
 * writer builds the other (cp_cpu_period_profile flips epoch).  users[i]
 * counts handlers and tails adding to tabs[i]; sampled[i] tells whether
 * tabs[i] has been written to since its reset. */
static cp_stacktab tabs[2];
static atomic_uint epoch;
static atomic_int users[2];
static atomic_int sampled[2];
static pthread_mutex_t period_mu = PTHREAD_MUTEX_INITIALIZER; /* one period cut at a time */
static int64_t period_ns;
static int signo;
static int hz;
static char *out_path; /* template, "%p" expanded when written */
static int out_fd = -1;
static pid_t owner_pid;        /* the process the running profile belongs to */
static int exec_paused;        /* stopped for an exec that may still fail */
/* A forked child (its profile restarted under "%p") that samples nothing
 * writes no file: a shell's subshells and a server's short workers would
 * otherwise each pay for creating an empty profile (measured: ~0.3 ms of
 * CPU per child, most of it the file system's inode allocation), and leave
 * hundreds of empty files.  A program that was exec'd always writes.  The
 * child's restart also arms its one thread without listing /proc/self/task. */
static int forked_child;
static int64_t start_wall_ns, start_mono_ns;
static int installed_signo;
static int suspended; /* a failed exec could not re-arm: sampling stopped, data kept */

static __thread unsigned tls_gen __attribute__((tls_model("initial-exec")));
static __thread int64_t tls_last_ns __attribute__((tls_model("initial-exec")));
/* The record of this thread's last sample (in generation tls_gen). */
static __thread cp_stackrec *tls_last_rec __attribute__((tls_model("initial-exec")));
/* The epoch of the table tls_last_rec lives in. */
static __thread unsigned tls_rec_epoch __attribute__((tls_model("initial-exec")));

/* The table to add to, counted as used until leave_tab: the writer flips
 * epoch and then waits for the old table's users to drain, so a sample
 * lands whole in the period it was taken in.  The retry happens only when
 * a flip falls between the two loads.  [async-signal-safe] */
static cp_stacktab *enter_tab(unsigned *e)
{
    for (;;) {
        unsigned x = atomic_load(&epoch);
        atomic_fetch_add(&users[x & 1], 1);
        if (atomic_load(&epoch) == x) {
            *e = x;
            return &tabs[x & 1];
        }
        atomic_fetch_sub(&users[x & 1], 1);
    }
}

static void leave_tab(unsigned e)
{
    atomic_fetch_sub(&users[e & 1], 1);
}

/* The current table, for code that holds mu (no flip meanwhile). */
static cp_stacktab *cur_tab(void)
{
    return &tabs[atomic_load(&epoch) & 1];
}

static atomic_int *cur_sampled(void)
{
    return &sampled[atomic_load(&epoch) & 1];
}

static int64_t now_ns(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Unwind onto this stack (CPROF_STACK_DEPTH frames, 2 KiB by default) and
 * add to the table; a full table counts the sample as lost. */
static void record(void *uc, int64_t w)
{
    int max = cp_unwind_depth();
    uint64_t pcs[max];
    int n = cp_unwind_signal(uc, pcs, max);
    unsigned e;
    cp_stacktab *t = enter_tab(&e);
    atomic_store_explicit(&sampled[e & 1], 1, memory_order_relaxed);
    /* The thread's labels: one TLS load; the interned set's address is the
     * key, so the same stack under two label sets gives two records. */
    uint64_t key = (uint64_t)(uintptr_t)cp_labels_current();
    (void)cp_stacktab_add_key(t, pcs, (uint32_t)n, key, w, &tls_last_rec);
    tls_rec_epoch = e;
    leave_tab(e);
}

/* CPU time without a signal taken (count 0) on a marker frame of table t
 * (entered by the caller), with the thread's labels. */
static void add_marker(cp_stacktab *t, unsigned e, uint64_t pc, int64_t ns)
{
    cp_stackrec *rec = NULL;
    atomic_store_explicit(&sampled[e & 1], 1, memory_order_relaxed);
    uint64_t key = (uint64_t)(uintptr_t)cp_labels_current();
    if (cp_stacktab_add_key(t, &pc, 1, key, ns, &rec) == 0 && rec)
        atomic_fetch_sub_explicit(&rec->count, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&total_ns, ns, memory_order_relaxed);
}

/* The calling thread's CPU time since its last sample (the tail, on
 * average half a period) goes to that sample's stack, so a thread's
 * samples add up to all the CPU it used while profiled.  Without it every
 * thread and process lost its tail: 561 short processes of a build lost
 * ~2.8 s, 10% of its CPU.  A thread never sampled gets one sample of
 * its whole CPU time on CP_CPU_UNSAMPLED_PC.
 * Called with the profiling signal blocked or no longer handled, so the
 * handler cannot update the same thread-local state meanwhile. */
static void add_tail(bool unsampled_too)
{
    if (tls_gen != atomic_load(&gen) || (!tls_last_rec && !unsampled_too))
        return; /* no baseline in this profile: a thread we never armed */
    int64_t now = now_ns(CLOCK_THREAD_CPUTIME_ID);
    if (now > tls_last_ns) {
        int64_t ns = now - tls_last_ns;
        unsigned e;
        cp_stacktab *t = enter_tab(&e);
        if (tls_last_rec && tls_rec_epoch == e) {
            cp_stacktab_add_ns(tls_last_rec, ns);
        } else {
            /* Never sampled (or not since the last periodic write, whose
             * table is gone): its CPU has no stack, but it was spent. */
            add_marker(t, e, CP_CPU_UNSAMPLED_PC, ns);
            ns = 0; /* counted in total_ns by add_marker */
        }
        leave_tab(e);
        atomic_fetch_add_explicit(&total_ns, ns, memory_order_relaxed);
        tls_last_ns = now;
    }
    tls_last_rec = NULL;
}

static void on_signal(int sig, siginfo_t *si, void *uc)
{
    if (si->si_code != SI_TIMER || si->si_value.sival_ptr != CP_TIMERS_COOKIE) {
        /* the program's (its own timer, kill, ITIMER_PROF): its
         * disposition runs, or nothing if it set none (sigfork.h) */
        cp_sigfork_forward(sig, si, uc);
        return;
    }
    int saved_errno = errno;
    atomic_fetch_add(&in_handler, 1);
    if (!atomic_load(&running))
        goto out;
    unsigned g = atomic_load_explicit(&gen, memory_order_relaxed);
    int64_t w = (1 + (int64_t)si->si_overrun) * period_ns;
    struct timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) == 0) {
        int64_t now = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
        if (tls_gen == g && now > tls_last_ns)
            w = now - tls_last_ns;
        tls_gen = g;
        tls_last_ns = now;
    }
    atomic_fetch_add_explicit(&total_ns, w, memory_order_relaxed);
    atomic_fetch_add_explicit(&n_samples, 1, memory_order_relaxed);
    record(uc, w);
out:
    atomic_fetch_sub(&in_handler, 1);
    errno = saved_errno;
}

static void set_baseline(void);

/* mu is held across cancellation points (pthread_join, nanosleep, opendir,
 * write): a thread cancelled there would leave it locked, and every later
 * start, stop (the one at exit included) and fork would wait for ever.  So
 * cancellation is off while it is held; a pending cancel acts afterwards. */
static int lock_mu(void)
{
    int cs;
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cs);
    pthread_mutex_lock(&mu);
    return cs;
}

static void unlock_mu(int cs)
{
    pthread_mutex_unlock(&mu);
    pthread_setcancelstate(cs, NULL);
}

/* Does the program already own the signal (or ITIMER_PROF)? */
static int check_signal(int sig)
{
    struct sigaction cur;
    if (cp_sigfork_sigaction(sig, NULL, &cur) != 0)
        return CPROF_EINVAL;
    bool ours = (cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == on_signal;
    bool free_ = !(cur.sa_flags & SA_SIGINFO) &&
                 (cur.sa_handler == SIG_DFL || cur.sa_handler == SIG_IGN);
    if (!ours && !free_) {
        cp_log("CPU profile not started: the program already handles signal %d; "
               "choose another with CPROF_CPU_SIGNAL=N (e.g. %d) or cprof_cpu_options.signal",
               sig, SIGRTMIN + 4);
        return CPROF_ESIGNAL;
    }
    if (sig == SIGPROF) {
        struct itimerval it;
        if (getitimer(ITIMER_PROF, &it) == 0 &&
            (it.it_value.tv_sec || it.it_value.tv_usec)) {
            cp_log("CPU profile not started: the program uses ITIMER_PROF; "
                   "choose another signal with CPROF_CPU_SIGNAL=N");
            return CPROF_ESIGNAL;
        }
    }
    return 0;
}

static int install_handler(int sig)
{
    if (installed_signo == sig)
        return 0;
    /* SA_RESTART, empty mask; kept in front of the program (sigfork.h) */
    if (cp_sigfork_keep(sig, on_signal) != 0)
        return CPROF_EINVAL;
    /* The handler stays installed after stop: a signal already queued must
     * not hit the default action (which would kill the process). */
    installed_signo = sig;
    return 0;
}

/* Bind, outside any handler, every external function on_signal calls:
 * the unwinder's (cp_unwind_init), clock_gettime, and __errno_location
 * (errno is a function call in a shared library). */
static void warm_up(void)
{
    cp_unwind_init();
    (void)now_ns(CLOCK_THREAD_CPUTIME_ID);
    int e = errno;
    errno = e;
}

static int start_locked(const char *path, int fd, const cprof_cpu_options *opts)
{
    int want_hz = opts && opts->hz > 0 ? opts->hz : 100;
    int sig = opts && opts->signal > 0 ? opts->signal : 0;
    if (opts && (opts->hz < 0 || opts->signal < 0 || opts->flags != 0))
        return CPROF_EINVAL;
    if (want_hz > MAX_HZ)
        want_hz = MAX_HZ;
    if (sig == 0) {
        sig = SIGPROF;
        (void)cp_env_signal("CPROF_CPU_SIGNAL", getenv("CPROF_CPU_SIGNAL"), &sig);
    }
    if (sig <= 0 || sig >= NSIG || sig == SIGKILL || sig == SIGSTOP || sig == SIGSEGV ||
        sig == SIGBUS)
        return CPROF_EINVAL;
    if (atomic_load(&running) || suspended || exec_paused)
        return CPROF_EBUSY;
    int rc = check_signal(sig);
    if (rc)
        return rc;
    if (!cur_tab()->map && (rc = cp_stacktab_init(cur_tab(), TAB_INDEX, TAB_ARENA_WORDS)) != 0)
        return rc;
    char *p = NULL;
    if (path && !(p = strdup(path)))
        return CPROF_ENOMEM;
    cp_sigfork_init(); /* (done by the constructor unless linked statically) */
    warm_up();
    if ((rc = install_handler(sig)) != 0) {
        free(p);
        return rc;
    }
    if (atomic_exchange(cur_sampled(), 0))
        cp_stacktab_reset(cur_tab());
    cp_dlmaps_enable();
    atomic_store(&n_samples, 0);
    atomic_store(&total_ns, 0);
    atomic_fetch_add(&gen, 1);
    free(out_path);
    out_path = p;
    out_fd = fd;
    hz = want_hz;
    signo = sig;
    period_ns = 1000000000 / want_hz;
    start_wall_ns = now_ns(CLOCK_REALTIME);
    start_mono_ns = now_ns(CLOCK_MONOTONIC);
    owner_pid = getpid();
    exec_paused = 0;
    set_baseline();
    atomic_store(&running, 1);
    if ((rc = cp_timers_start(sig, period_ns, forked_child)) != 0) {
        atomic_store(&running, 0);
        return rc;
    }
    return 0;
}

/* start_locked under mu, the profiler's own allocations marked.  child:
 * the restart in a forked child (one thread to arm; it writes nothing if
 * it samples nothing), else a profile the program starts itself. */
static int start(const char *path, int fd, const cprof_cpu_options *opts, bool child)
{
    int busy = cp_heap_busy_enter();
    int cs = lock_mu();
    forked_child = child;
    int rc = start_locked(path, fd, opts);
    if (rc)
        forked_child = 0;
    unlock_mu(cs);
    cp_heap_busy_leave(busy);
    return rc;
}

CPROF_API int cprof_cpu_start(const char *path, const cprof_cpu_options *opts)
{
    if (!path || !*path)
        return CPROF_EINVAL;
    return start(path, -1, opts, false);
}

CPROF_API int cprof_cpu_start_fd(int fd, const cprof_cpu_options *opts)
{
    if (fd < 0)
        return CPROF_EINVAL;
    return start(NULL, fd, opts, false);
}

/* Disarm and wait for handlers in flight.  mu held. */
static void halt_locked(void)
{
    cp_timers_stop();
    atomic_store(&running, 0);
    while (atomic_load(&in_handler) > 0) {
        struct timespec ts = {0, 100000};
        nanosleep(&ts, NULL);
    }
}

/* Write what the table holds to the profile's destination (or build it
 * into *built); the table stays.  mu held, no handler in flight. */
static int write_locked(cp_profile **built)
{
    /* Nothing sampled: the table's pages are never touched. */
    int any = atomic_load(cur_sampled());
    cp_stacktab_stats ts = {0};
    if (any)
        cp_stacktab_get_stats(cur_tab(), &ts);
    cp_cpuwrite_meta meta = {
        .period_ns = period_ns,
        .hz = hz,
        .time_ns = start_wall_ns,
        .duration_ns = now_ns(CLOCK_MONOTONIC) - start_mono_ns,
        .lost = ts.lost,
        .lost_ns = ts.lost_ns,
    };
    int rc = built ? cp_cpuwrite_build(any ? cur_tab() : NULL, &meta, built)
                   : cp_cpuwrite_profile(any ? cur_tab() : NULL, &meta, out_path, out_fd);
    if (rc && out_path && !built)
        cp_log("cannot write CPU profile %s: %s", out_path, cprof_strerror(rc));
    return rc;
}

/* cprof_cpu_stop, and the stop of a periodic run, which builds the last
 * period into *built instead of writing it. */
static int stop(cp_profile **built)
{
    /* building and symbolizing allocate: the profiler's own memory, kept
     * out of a heap profile running at the same time */
    int busy = cp_heap_busy_enter();
    int cs = lock_mu();
    int rc = CPROF_ENOTRUNNING;
    if (!atomic_load(&running) && !suspended)
        goto out;
    halt_locked();
    if (installed_signo && cp_sigfork_hand_over())
        installed_signo = 0; /* the program's disposition is installed now */
    bool idle_child = forked_child && !atomic_load(cur_sampled()) && out_path && !built;
    if (!idle_child)
        add_tail(true);
    suspended = 0;
    exec_paused = 0;
    rc = idle_child ? 0 : write_locked(built);
out:
    unlock_mu(cs);
    cp_heap_busy_leave(busy);
    return rc;
}

CPROF_API int cprof_cpu_stop(void)
{
    return stop(NULL);
}

int cp_cpu_stop_profile(cp_profile **out)
{
    *out = NULL;
    pthread_mutex_lock(&period_mu);
    int rc = stop(out);
    pthread_mutex_unlock(&period_mu);
    return rc;
}

/* A timer signal already queued when the timers were deleted would reach
 * the new image, whose disposition is the default one (terminate):
 * cp_sigfork_discard_pending drops it on every thread. */
int64_t cp_cpu_before_exec(void)
{
    int64_t accounted = -1;
    if (!atomic_load(&running) && !suspended)
        return -1;
    if (getpid() != owner_pid)
        return -1; /* a vfork child: the memory and the timers are the parent's */
    int busy = cp_heap_busy_enter();
    int cs = lock_mu();
    if (atomic_load(&running) || suspended) {
        exec_paused = atomic_load(&running) ? 1 : 0;
        halt_locked();
        add_tail(false); /* unsampled, it writes nothing before the exec */
        cp_sigfork_discard_pending(installed_signo);
        /* Written now (a file, not a descriptor the program may share)
         * when there is something to write; kept for the write at exit
         * should the exec fail. */
        /* Only when a signal was taken: a start-up marker alone is the
         * next image's start-up (cp_cpu_add_startup). */
        if (atomic_load(cur_sampled()) && atomic_load(&n_samples) > 0 && out_path &&
            write_locked(NULL) == 0)
            accounted = atomic_load(&total_ns);
    }
    unlock_mu(cs);
    cp_heap_busy_leave(busy);
    return accounted;
}

void cp_cpu_add_startup(int64_t ns)
{
    if (ns <= 0)
        return;
    int cs = lock_mu();
    if (atomic_load(&running)) {
        unsigned e;
        cp_stacktab *t = enter_tab(&e);
        add_marker(t, e, CP_CPU_STARTUP_PC, ns);
        leave_tab(e);
    }
    unlock_mu(cs);
}

void cp_cpu_exec_failed(void)
{
    if (!exec_paused || getpid() != owner_pid)
        return;
    int busy = cp_heap_busy_enter();
    int cs = lock_mu();
    if (exec_paused && installed_signo) {
        exec_paused = 0;
        atomic_store(&running, 1);
        if (cp_timers_start(signo, period_ns, false) != 0) {
            atomic_store(&running, 0);
            suspended = 1; /* what was sampled is still written at exit */
        }
    }
    unlock_mu(cs);
    cp_heap_busy_leave(busy);
}

int cp_cpu_signal(void)
{
    return installed_signo;
}

CPROF_API int cprof_cpu_running(void)
{
    return atomic_load(&running) ? 1 : 0;
}

/* Baseline for the calling thread's first sample: its CPU clock now. */
static void set_baseline(void)
{
    tls_last_rec = NULL; /* a record of an earlier table (a restart, a fork) */
    tls_last_ns = now_ns(CLOCK_THREAD_CPUTIME_ID);
    atomic_signal_fence(memory_order_seq_cst);
    tls_gen = atomic_load(&gen);
}

void cp_cpu_thread_begin(void)
{
    if (!atomic_load(&running))
        return;
    set_baseline();
    cp_timers_thread_begin();
}

void cp_cpu_thread_end(void)
{
    cp_timers_thread_end();
    if (!atomic_load(&running) || !installed_signo)
        return;
    /* A signal already queued for this thread may still arrive: block it
     * while the tail is added. */
    sigset_t one, old;
    sigemptyset(&one);
    sigaddset(&one, installed_signo);
    pthread_sigmask(SIG_BLOCK, &one, &old);
    add_tail(true);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

void cp_cpu_get_stats(cp_cpu_stats *out)
{
    cp_stacktab_stats ts = {0};
    if (atomic_load(cur_sampled()))
        cp_stacktab_get_stats(cur_tab(), &ts);
    out->samples = atomic_load(&n_samples);
    out->lost = ts.lost;
    out->cpu_ns = atomic_load(&total_ns);
    out->stacks = ts.records;
}

/* fork (sigfork.c): the period and start/stop mutexes, in the order the
 * code takes them. */
void cp_cpu_atfork_prepare(void)
{
    pthread_mutex_lock(&period_mu);
    pthread_mutex_lock(&mu);
}

void cp_cpu_atfork_parent(void)
{
    pthread_mutex_unlock(&mu);
    pthread_mutex_unlock(&period_mu);
}

static int restart_in_child;

void cp_cpu_atfork_child(void)
{
    restart_in_child = (atomic_exchange(&running, 0) || suspended) && out_path &&
                       strstr(out_path, "%p");
    suspended = 0;
    exec_paused = 0;
    atomic_store(&in_handler, 0);
    /* The parent's samples are not ours to write: the kernel gave us the
     * table zeroed (or we map fresh pages over it).  The dlclose notes
     * (dlmaps.c) describe our memory too and stay. */
    for (int i = 0; i < 2; i++) {
        if (tabs[i].map)
            cp_stacktab_atfork_child(&tabs[i]);
        atomic_store(&sampled[i], 0);
        atomic_store(&users[i], 0);
    }
    atomic_store(&n_samples, 0);
    atomic_store(&total_ns, 0);
    pthread_mutex_unlock(&mu);
    pthread_mutex_unlock(&period_mu);
}

void cp_cpu_atfork_restart(void)
{
    if (!restart_in_child)
        return;
    restart_in_child = 0;
    cprof_cpu_options o = {.hz = hz, .signal = signo};
    char *tmpl = out_path;
    out_path = NULL;
    int rc = start(tmpl, -1, &o, true);
    if (rc)
        cp_log("CPU profile of child %d not started: %s", (int)getpid(), cprof_strerror(rc));
    free(tmpl);
}

/* ---- periods (CPROF_PERIOD, CPROF_SIGNAL, CPROF_DURATION) ----
 *
 * A cut flips epoch under mu, so handlers and tails move to the other
 * table at once; once the old table's users drained, it holds exactly the
 * samples taken before the flip, and is built, then reset, without
 * stopping anything.  The tables are never both being filled: the other
 * one was reset at the end of the previous cut (or never used). */
int cp_cpu_period_profile(cp_profile **out)
{
    *out = NULL;
    int busy = cp_heap_busy_enter();
    pthread_mutex_lock(&period_mu);
    int cs = lock_mu();
    int rc = CPROF_ENOTRUNNING;
    if (!atomic_load(&running) && !suspended) {
        unlock_mu(cs);
        goto out;
    }
    unsigned old = atomic_load(&epoch);
    cp_stacktab *next = &tabs[(old + 1) & 1];
    if (!next->map && (rc = cp_stacktab_init(next, TAB_INDEX, TAB_ARENA_WORDS)) != 0) {
        unlock_mu(cs);
        goto out;
    }
    int64_t wall = now_ns(CLOCK_REALTIME), mono = now_ns(CLOCK_MONOTONIC);
    cp_cpuwrite_meta meta = {
        .period_ns = period_ns,
        .hz = hz,
        .time_ns = start_wall_ns,
        .duration_ns = mono - start_mono_ns,
    };
    start_wall_ns = wall;
    start_mono_ns = mono;
    atomic_store(&epoch, old + 1);
    unlock_mu(cs);

    while (atomic_load(&users[old & 1]) > 0) {
        struct timespec ts = {0, 100000};
        nanosleep(&ts, NULL);
    }
    cp_stacktab *t = &tabs[old & 1];
    int any = atomic_load(&sampled[old & 1]);
    cp_stacktab_stats ts = {0};
    if (any)
        cp_stacktab_get_stats(t, &ts);
    meta.lost = ts.lost;
    meta.lost_ns = ts.lost_ns;
    rc = cp_cpuwrite_build(any ? t : NULL, &meta, out);

    cs = lock_mu();
    if (atomic_exchange(&sampled[old & 1], 0))
        cp_stacktab_reset(t);
    unlock_mu(cs);
out:
    pthread_mutex_unlock(&period_mu);
    cp_heap_busy_leave(busy);
    return rc;
}
