/* timers.c — the per-thread CPU timer registry.
 *
 * Why per-thread timers: setitimer(ITIMER_PROF) is one process-wide timer;
 * the kernel delivers its signal to whichever thread runs, and on busy
 * multi-threaded programs most expirations are merged and lost (gperftools
 * reports a fraction of the real CPU time at 1000 Hz on 2 threads, see
 * bench/bench_cpu.sh).  A POSIX timer on each thread's CPU clock
 * (CLOCK_THREAD_CPUTIME_ID, here addressed by tid so we can arm threads
 * other than the caller) with SIGEV_THREAD_ID fires in that thread only.
 *
 * Data structure: an array of (tid, timer) under a mutex, swap-removed at
 * thread exit.  Thread start and exit are rare next to samples, and a
 * process has few live threads at a time, so a linear scan is enough; the
 * signal handler never touches it.  Timers must be deleted at thread exit:
 * each holds a preallocated kernel signal counted against
 * RLIMIT_SIGPENDING, so thousands of short threads would exhaust it.
 *
 * Rejected: perf_event_open (blocked by perf_event_paranoid in containers);
 * a timer only for the calling thread (misses threads alive at start).
 */
#include "collect/timers.h"

#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/hashmap.h"
#include "base/rng.h"
#include "collect/heap.h"
#include "cprof.h"

typedef struct entry {
    pid_t tid;
    timer_t timer;
} entry;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static entry *entries;
static size_t nentries, cap;
static atomic_int active;   /* new threads should arm themselves */
static atomic_int count;    /* nentries, readable without the lock */
static int g_signo;
static int64_t g_period_ns;
static uint64_t rng;

/* The CPU clock of thread tid (the kernel's MAKE_THREAD_CPUCLOCK). */
static clockid_t thread_clock(pid_t tid)
{
    return (clockid_t)((~(unsigned)tid << 3) | 6u);
}

static int find(pid_t tid)
{
    for (size_t i = 0; i < nentries; i++)
        if (entries[i].tid == tid)
            return (int)i;
    return -1;
}

/* Arm one thread; mutex held.  0 or a negative code. */
static int arm(pid_t tid)
{
    if (find(tid) >= 0)
        return 0;
    int busy = cp_heap_busy_enter(); /* runs on program threads: not their memory */
    int grown = cp_grow(&entries, &cap, nentries + 1, sizeof *entries);
    cp_heap_busy_leave(busy);
    if (grown != 0)
        return CPROF_ENOMEM;
    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev.sigev_signo = g_signo;
    sev.sigev_value.sival_ptr = CP_TIMERS_COOKIE;
    sev._sigev_un._tid = tid;
    timer_t t;
    if (timer_create(thread_clock(tid), &sev, &t) != 0)
        return CPROF_EIO; /* the thread exited meanwhile, or no resources */
    int64_t first = 1 + (int64_t)(cp_rng_next(&rng) % (uint64_t)g_period_ns);
    struct itimerspec its = {
        .it_interval = {g_period_ns / 1000000000, g_period_ns % 1000000000},
        .it_value = {first / 1000000000, first % 1000000000},
    };
    if (timer_settime(t, 0, &its, NULL) != 0) {
        timer_delete(t);
        return CPROF_EIO;
    }
    entries[nentries++] = (entry){tid, t};
    atomic_store(&count, (int)nentries);
    return 0;
}

static void delete_all(void)
{
    for (size_t i = 0; i < nentries; i++)
        timer_delete(entries[i].timer);
    nentries = 0;
    atomic_store(&count, 0);
}

int cp_timers_start(int signo, int64_t period_ns, bool only_caller)
{
    if (period_ns <= 0)
        return CPROF_EINVAL;
    pthread_mutex_lock(&mu);
    int rc = 0;
    g_signo = signo;
    g_period_ns = period_ns;
    rng = cp_rng_seed((uint64_t)getpid() << 32 ^ (uint64_t)time(NULL));
    /* Threads created from now on arm themselves (they wait for the mutex),
     * so none falls between the directory listing and the flag. */
    atomic_store(&active, 1);
    if (only_caller) {
        rc = arm(gettid());
        goto out;
    }
    DIR *d = opendir("/proc/self/task");
    if (!d) {
        rc = CPROF_EIO;
        goto out;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] < '0' || de->d_name[0] > '9')
            continue;
        int r = arm((pid_t)atoi(de->d_name));
        if (r == CPROF_ENOMEM) {
            rc = r;
            break;
        }
        /* CPROF_EIO: the thread exited between listing and arming. */
    }
    closedir(d);
    if (rc == 0 && find(gettid()) < 0)
        rc = CPROF_EIO; /* could not even arm the caller */
out:
    if (rc != 0) {
        atomic_store(&active, 0);
        delete_all();
    }
    pthread_mutex_unlock(&mu);
    return rc;
}

void cp_timers_stop(void)
{
    pthread_mutex_lock(&mu);
    atomic_store(&active, 0);
    delete_all();
    pthread_mutex_unlock(&mu);
}

void cp_timers_thread_begin(void)
{
    if (!atomic_load(&active))
        return;
    pthread_mutex_lock(&mu);
    if (atomic_load(&active)) {
        /* An entry for this tid belongs to an earlier thread that exited
         * without passing through our wrapper (raw clone, or created before
         * the library loaded) and whose tid the kernel has reused: its
         * timer measures a dead clock, so replace it. */
        int i = find(gettid());
        if (i >= 0) {
            timer_delete(entries[i].timer);
            entries[i] = entries[--nentries];
            atomic_store(&count, (int)nentries);
        }
        (void)arm(gettid());
    }
    pthread_mutex_unlock(&mu);
}

void cp_timers_thread_end(void)
{
    if (atomic_load(&count) == 0)
        return;
    pthread_mutex_lock(&mu);
    int i = find(gettid());
    if (i >= 0) {
        timer_delete(entries[i].timer);
        entries[i] = entries[--nentries];
        atomic_store(&count, (int)nentries);
    }
    pthread_mutex_unlock(&mu);
}

int cp_timers_count(void)
{
    return atomic_load(&count);
}

void cp_timers_atfork_prepare(void)
{
    pthread_mutex_lock(&mu);
}

void cp_timers_atfork_parent(void)
{
    pthread_mutex_unlock(&mu);
}

void cp_timers_atfork_child(void)
{
    nentries = 0;
    atomic_store(&count, 0);
    atomic_store(&active, 0);
    pthread_mutex_unlock(&mu);
}
