/* threads.c — every thread's current stack, on request (threads.h).
 *
 * How: the requesting thread lists /proc/self/task and asks the threads
 * one at a time.  For each it reads the thread's name, state and blocked
 * signal mask from /proc, publishes a request in the one slot (a word
 * holding a sequence number and a state: WAIT, BUSY, DONE, and the target
 * tid), and sends the thread the profiler's realtime signal with tgkill.
 * The handler, on the target thread, claims the request by a CAS from WAIT
 * to BUSY (only when the tid is its own and the sender was this process),
 * unwinds the interrupted context into the slot, reads its label set, sets
 * DONE and posts a semaphore (sem_post is async-signal-safe).  The
 * requester waits on the semaphore in 1 ms steps, checking that the thread
 * still exists (tgkill with signal 0); it gives up after
 * CP_THREADS_TIMEOUT_MS by a CAS from WAIT back to IDLE.  A handler that
 * arrives later (the signal stays pending in a thread that blocks it)
 * finds a different sequence or state and returns untouched; if the CAS
 * fails because the handler is BUSY, the requester waits for DONE (the
 * unwind is bounded).  Stray semaphore posts only cost a loop turn.
 *
 * So no thread is stopped for longer than one unwind, a thread created
 * meanwhile is simply not in the list, one that exits is skipped within a
 * millisecond, and one with the signal blocked is skipped without being
 * signalled at all (its SigBlk says so) — counted either way, and blocked
 * threads appear in the profile under a marker frame so threads/count
 * still counts every thread.  The CPU profiler's signal is a different
 * one; the two handlers may nest, each unwinds its own context.
 *
 * Rejected: stopping every thread at once (a stop-the-world whose length
 * grows with the thread count, and a thread that blocks the signal would
 * hold everybody); ptrace (a process cannot trace its own threads);
 * /proc/TID/syscall's pc and sp (no callee-saved registers to unwind
 * with); SIGPROF (the CPU profiler's, whose handler charges CPU time).
 * Caveat: like every signal-based sampler, a thread interrupted inside
 * nanosleep, poll, epoll_wait or select returns EINTR from it (SA_RESTART
 * does not restart those); read, write and futex waits resume.
 */
#include "collect/threads.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "collect/cpu.h"
#include "collect/heap.h"
#include "collect/unwind.h"
#include "cprof.h"

/* Functions on the requesting thread's own stack: cut from its stack. */
#define OWN CP_THREADS_OWN
extern const char __start_cprof_threads[] __attribute__((visibility("hidden")));
extern const char __stop_cprof_threads[] __attribute__((visibility("hidden")));

enum { ST_IDLE = 0, ST_WAIT = 1, ST_BUSY = 2, ST_DONE = 3 };

static struct {
    _Atomic uint64_t word; /* seq << 2 | state */
    _Atomic pid_t tid;
    const cp_labelset *labels;
    uint32_t n;
    uint64_t pcs[CP_MAX_FRAMES];
} slot;
static sem_t done;
static pthread_mutex_t take_mu = PTHREAD_MUTEX_INITIALIZER;
static atomic_int signo;     /* chosen signal, 0 until the first snapshot */
static atomic_int installed; /* our handler is the signal's disposition */
static uint64_t seq;

static int64_t now_ns(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void on_signal(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    int saved_errno = errno;
    if (si->si_code != SI_TKILL || si->si_pid != getpid())
        goto out;
    uint64_t w = atomic_load_explicit(&slot.word, memory_order_acquire);
    if ((w & 3) != ST_WAIT || atomic_load_explicit(&slot.tid, memory_order_relaxed) != gettid())
        goto out;
    if (!atomic_compare_exchange_strong(&slot.word, &w, (w & ~(uint64_t)3) | ST_BUSY))
        goto out;
    int max = cp_unwind_depth();
    int n = cp_unwind_signal(uc, slot.pcs, max < CP_MAX_FRAMES ? max : CP_MAX_FRAMES);
    slot.n = n > 0 ? (uint32_t)n : 0;
    slot.labels = cp_labels_current();
    atomic_store_explicit(&slot.word, (w & ~(uint64_t)3) | ST_DONE, memory_order_release);
    sem_post(&done);
out:
    errno = saved_errno;
}

int cp_threads_signal(void)
{
    /* only while ours: a signal the program took back is left alone
     * (new threads do not unblock it, sigaction has nothing to release) */
    return atomic_load(&installed) ? atomic_load(&signo) : 0;
}

bool cp_threads_is_handler(const struct sigaction *act)
{
    return act && (act->sa_flags & SA_SIGINFO) && act->sa_sigaction == on_signal;
}

void cp_threads_release_signal(void)
{
    atomic_store(&installed, 0);
}

static int choose_signal(void)
{
    const char *e = getenv("CPROF_THREADS_SIGNAL");
    int s = e && *e ? atoi(e) : SIGRTMAX - 3;
    if (s < SIGRTMIN || s > SIGRTMAX) {
        cp_log("ignoring CPROF_THREADS_SIGNAL=%s (want %d..%d)", e, SIGRTMIN, SIGRTMAX);
        s = SIGRTMAX - 3;
    }
    if (s == cp_cpu_signal())
        s = s > SIGRTMIN ? s - 1 : s + 1;
    return s;
}

/* Install the handler if the program leaves the signal alone. */
static int install(void)
{
    if (atomic_load(&installed))
        return 0;
    int sig = atomic_load(&signo);
    if (!sig) {
        sig = choose_signal();
        if (sem_init(&done, 0, 0) != 0)
            return CPROF_EINVAL;
        atomic_store(&signo, sig);
    }
    struct sigaction cur, sa;
    if (sigaction(sig, NULL, &cur) != 0)
        return CPROF_EINVAL;
    if (!cp_threads_is_handler(&cur)) {
        bool free_ = !(cur.sa_flags & SA_SIGINFO) &&
                     (cur.sa_handler == SIG_DFL || cur.sa_handler == SIG_IGN);
        if (!free_)
            return CPROF_ESIGNAL;
        /* warm every call the handler makes, so nothing binds lazily in it */
        cp_unwind_init();
        (void)gettid();
        (void)getpid();
        sem_post(&done);
        while (sem_trywait(&done) == 0)
            ;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = on_signal;
        sa.sa_flags = SA_SIGINFO | SA_RESTART;
        sigemptyset(&sa.sa_mask);
        if (sigaction(sig, &sa, NULL) != 0)
            return CPROF_EINVAL;
    }
    atomic_store(&installed, 1);
    return 0;
}

/* /proc/self/task/TID/FILE into buf (NUL-terminated); bytes read or -1. */
static ssize_t read_task(pid_t tid, const char *file, char *buf, size_t size)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%d/%s", (int)tid, file);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, size - 1);
    close(fd);
    if (n < 0)
        return -1;
    buf[n] = 0;
    return n;
}

/* Name, state and whether sig is blocked; false when the thread is gone. */
static bool task_info(pid_t tid, int sig, cp_thread_snap *t, bool *blocked)
{
    char buf[4096];
    if (read_task(tid, "comm", buf, sizeof t->name) < 0)
        return false;
    buf[strcspn(buf, "\n")] = 0;
    memcpy(t->name, buf, strlen(buf) + 1); /* read at most sizeof t->name - 1 */
    if (read_task(tid, "stat", buf, sizeof buf) < 0)
        return false;
    const char *rp = strrchr(buf, ')');
    t->state = rp && rp[1] == ' ' ? rp[2] : '?';
    *blocked = false;
    if (read_task(tid, "status", buf, sizeof buf) < 0)
        return false;
    const char *b = strstr(buf, "\nSigBlk:");
    if (b) {
        unsigned long long mask = strtoull(b + 8, NULL, 16);
        *blocked = (mask >> (sig - 1)) & 1;
    }
    return true;
}

/* Copy n frames to a new array in t. */
static int keep_stack(cp_thread_snap *t, const uint64_t *pcs, uint32_t n)
{
    t->n = 0;
    if (!n)
        return 0;
    if (!(t->pcs = malloc(n * sizeof *pcs)))
        return CPROF_ENOMEM;
    memcpy(t->pcs, pcs, n * sizeof *pcs);
    t->n = n;
    return 0;
}

/* Ask tid for its stack.  1: got it into t; 0: gone; -1: blocked or no
 * answer in time. */
static int ask(pid_t pid, pid_t tid, int sig, cp_thread_snap *t)
{
    uint64_t s = ++seq;
    atomic_store_explicit(&slot.tid, tid, memory_order_relaxed);
    atomic_store_explicit(&slot.word, s << 2 | ST_WAIT, memory_order_release);
    if (tgkill(pid, tid, sig) != 0) {
        atomic_store(&slot.word, s << 2 | ST_IDLE);
        return 0;
    }
    int64_t deadline = now_ns(CLOCK_MONOTONIC) + (int64_t)CP_THREADS_TIMEOUT_MS * 1000000;
    int result = -1;
    for (;;) {
        uint64_t w = atomic_load_explicit(&slot.word, memory_order_acquire);
        if ((w & 3) == ST_DONE) {
            t->labels = slot.labels;
            return keep_stack(t, slot.pcs, slot.n) == 0 ? 1 : -1;
        }
        bool gone = tgkill(pid, tid, 0) != 0 && errno == ESRCH;
        if (gone || now_ns(CLOCK_MONOTONIC) > deadline) {
            uint64_t want = s << 2 | ST_WAIT;
            if (atomic_compare_exchange_strong(&slot.word, &want, s << 2 | ST_IDLE))
                return gone ? 0 : result;
            /* the handler is writing: its answer comes within one unwind */
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 1000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        (void)sem_timedwait(&done, &ts);
    }
}

/* The calling thread's own stack without the profiler's frames. */
OWN static int own_stack(cp_thread_snap *t)
{
    int max = cp_unwind_depth();
    uint64_t *pcs = malloc((size_t)max * sizeof *pcs);
    if (!pcs)
        return CPROF_ENOMEM;
    int n = cp_unwind_here(pcs, max, 0);
    int first = 0;
    for (int i = 0; i < n; i++)
        if (pcs[i] >= (uint64_t)(uintptr_t)__start_cprof_threads &&
            pcs[i] < (uint64_t)(uintptr_t)__stop_cprof_threads)
            first = i + 1;
    if (first >= n)
        first = 0;
    int rc = keep_stack(t, pcs + first, (uint32_t)(n - first));
    t->labels = cp_labels_current();
    free(pcs);
    return rc;
}

static int cmp_tid(const void *a, const void *b)
{
    pid_t x = ((const cp_thread_snap *)a)->tid, y = ((const cp_thread_snap *)b)->tid;
    return (x > y) - (x < y);
}

OWN static int take_locked(cp_threads_snapshot *s)
{
    int rc = install();
    if (rc)
        return rc;
    int sig = atomic_load(&signo);
    pid_t pid = getpid(), self = gettid();
    DIR *d = opendir("/proc/self/task");
    if (!d)
        return CPROF_EIO;
    size_t cap = 0;
    struct dirent *e;
    rc = 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        pid_t tid = (pid_t)atoi(e->d_name);
        if (cp_grow(&s->threads, &cap, s->n + 1, sizeof *s->threads) != 0) {
            rc = CPROF_ENOMEM;
            break;
        }
        cp_thread_snap *t = &s->threads[s->n];
        memset(t, 0, sizeof *t);
        t->tid = tid;
        bool blocked = false;
        if (!task_info(tid, sig, t, &blocked)) {
            s->skipped_exited++;
            continue;
        }
        int got;
        if (tid == self)
            got = own_stack(t) == 0 ? 1 : -1;
        else
            got = blocked ? -1 : ask(pid, tid, sig, t);
        if (got == 0) {
            s->skipped_exited++;
            continue;
        }
        if (got < 0)
            s->skipped_blocked++; /* kept, with no stack */
        t->ncreate = cp_threadreg_creation_of(tid, &t->create_pcs);
        s->n++;
    }
    closedir(d);
    qsort(s->threads, s->n, sizeof *s->threads, cmp_tid);
    return rc;
}

OWN int cp_threads_take(cp_threads_snapshot *s)
{
    memset(s, 0, sizeof *s);
    s->time_ns = now_ns(CLOCK_REALTIME);
    cp_threadreg_want();
    int busy = cp_heap_busy_enter();
    int cs;
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cs);
    pthread_mutex_lock(&take_mu);
    int rc = take_locked(s);
    pthread_mutex_unlock(&take_mu);
    pthread_setcancelstate(cs, NULL);
    cp_heap_busy_leave(busy);
    if (rc)
        cp_threads_snapshot_free(s);
    return rc;
}

void cp_threads_atfork_prepare(void)
{
    pthread_mutex_lock(&take_mu);
}

void cp_threads_atfork_parent(void)
{
    pthread_mutex_unlock(&take_mu);
}

void cp_threads_atfork_child(void)
{
    pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
    memcpy(&take_mu, &fresh, sizeof fresh);
    cp_threadreg_atfork_child();
}

void cp_threads_snapshot_free(cp_threads_snapshot *s)
{
    int busy = cp_heap_busy_enter();
    for (size_t i = 0; i < s->n; i++) {
        free(s->threads[i].pcs);
        free(s->threads[i].create_pcs);
    }
    free(s->threads);
    cp_heap_busy_leave(busy);
    memset(s, 0, sizeof *s);
}
