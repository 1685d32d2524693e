/* continuous.c — CPROF_PERIOD, CPROF_SIGNAL, CPROF_DURATION, CPROF_KEEP.
 *
 * What: cut a running profile into periods without stopping it.  A cut
 * takes, for every enabled type of the registry, what happened since the
 * previous cut: the CPU profiler flips to its second stack table
 * (cp_cpu_period_profile), cumulative types are snapshotted and the
 * previous snapshot subtracted (cp_profile_delta: in-use figures kept as
 * they are now).  The files of a run therefore partition it: summed, they
 * give the whole run's profile, nothing lost and nothing counted twice.
 *
 * Data structure: one writer thread waits on a semaphore
 * (sem_clockwait), with a timeout at the next period end or the duration's
 * end.  The CPROF_SIGNAL handler sets a flag and posts the semaphore
 * (sem_post is async-signal-safe; a storm of signals only raises its
 * count, and one cut serves them all).  The exit handler sets the stop
 * flag, posts, joins the writer, then makes the final cut itself.  No
 * descriptor: a daemon that closes every descriptor on start (or a
 * closefrom) cannot turn the wake-up into a write to one of its files, and
 * the interposed write(2) of the I/O profile never runs in the handler.  Cuts are serialised
 * by cut_mu; per type the previous snapshot and the names of the files
 * kept for CPROF_KEEP are remembered.
 *
 * The writer runs only on its own thread: a slow disk delays the writer,
 * never a program thread.  Period ends that pass while it is busy are not
 * cut separately: the next file holds them (its duration says so), the
 * count is written into that file as a comment and kept in the stats.
 * Nothing is lost that way, unlike dropping the period's data.
 *
 * The writer is created with glibc's pthread_create past our interposer:
 * no CPU timer is armed on it, so its work (building, naming, gzip) is not
 * sampled as the program's, and it blocks every signal but CPROF_SIGNAL's
 * — so a program that blocks every signal on all of its threads still
 * gets its profiles on kill -USR2 (the kernel hands a process-directed
 * signal to a thread that does not block it).
 *
 * Rejected: a timer signal for the periods (a signal into a program that
 * may not expect EINTR, and a handler that would have to do the writing);
 * doing the write in the signal handler (allocates, takes locks); a
 * pipe (a descriptor the program may close or reuse); a
 * sigwaitinfo() thread (needs the signal blocked in every program
 * thread, which a program's own pthread_sigmask can undo); timerfd (the
 * wait's timeout is enough and needs no descriptor).
 */
#include "collect/continuous.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <semaphore.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/env.h"
#include "base/log.h"
#include "collect/cpu.h"
#include "collect/heap.h"
#include "collect/output.h"
#include "collect/registry.h"
#include "cprof.h"
#include "profile/builder.h"
#include "profile/delta.h"

enum { MAX_TYPES = 16 };

static int active;              /* this process has a writer */
static pid_t owner;
static sem_t wake_sem;
static atomic_int armed;        /* the semaphore exists and the writer listens */
static atomic_int want_cut, want_stop, want_release;
static int signo;               /* CPROF_SIGNAL's, installed */
static atomic_int sig_owned;    /* we still own it */
static int64_t period_ns, end_mono_ns; /* 0 = none */
static int keep;
static pthread_t writer;
static int writer_started;
static int final_done;
static pthread_mutex_t cut_mu = PTHREAD_MUTEX_INITIALIZER;
static int64_t cur_n = 1, cur_start_ns; /* the open period */
static int64_t late_pending;            /* late period ends, for the next file */
static cp_profile *prev[MAX_TYPES];     /* last snapshot of cumulative types */
static char **kept[MAX_TYPES];          /* CPROF_KEEP: names written, oldest first */
static int nkept[MAX_TYPES];
static atomic_llong st_cuts, st_late, st_failed;

static int64_t clock_ns(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- parsing ---- */

/* CPROF_SIGNAL: env.c's parser (names in any case), less the signals that
 * cannot be caught or that a crash raises. */
int cp_continuous_parse_signal(const char *name)
{
    int sig;
    if (!name || cp_env_parse_signal_any_case(name, &sig) != 0)
        return 0;
    if (sig == SIGKILL || sig == SIGSTOP || sig == SIGSEGV || sig == SIGBUS || sig == SIGILL ||
        sig == SIGFPE)
        return 0;
    return sig;
}

int cp_continuous_parse_seconds(const char *s, double *out)
{
    char *end;
    if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
        return CPROF_EINVAL;
    errno = 0;
    double v = strtod(s, &end);
    if (*end || errno || !isfinite(v) || v <= 0 || v > 1e9)
        return CPROF_EINVAL;
    *out = v;
    return 0;
}

/* ---- the signal ---- */

static void on_signal(int sig, siginfo_t *si, void *uc)
{
    (void)sig, (void)si, (void)uc;
    int saved = errno;
    if (atomic_load(&armed) && atomic_load(&sig_owned)) {
        atomic_store(&want_cut, 1);
        sem_post(&wake_sem);
    }
    errno = saved;
}

int cp_continuous_signal(void)
{
    return atomic_load(&sig_owned) ? signo : 0;
}

bool cp_continuous_is_handler(const struct sigaction *act)
{
    return act && (act->sa_flags & SA_SIGINFO) && act->sa_sigaction == on_signal;
}

static void wake(atomic_int *flag)
{
    atomic_store(flag, 1);
    if (atomic_load(&armed))
        sem_post(&wake_sem);
}

/* From the sigaction interposer, maybe inside a signal handler: two
 * atomics and a sem_post, nothing else; the writer says it on stderr. */
void cp_continuous_release_signal(void)
{
    if (!atomic_exchange(&sig_owned, 0))
        return;
    wake(&want_release); /* the writer blocks the signal: the program's now */
}

/* Take sig if the program leaves it at its default (or ignored). */
static void take_signal(int sig, const char *name)
{
    struct sigaction cur, sa;
    if (sig == cp_cpu_signal()) {
        cp_log("CPROF_SIGNAL=%s refused: the CPU profiler samples with signal %d", name, sig);
        return;
    }
    if (sigaction(sig, NULL, &cur) != 0)
        return;
    if ((cur.sa_flags & SA_SIGINFO) ||
        (cur.sa_handler != SIG_DFL && cur.sa_handler != SIG_IGN)) {
        cp_log("CPROF_SIGNAL=%s refused: the program already handles signal %d", name, sig);
        return;
    }
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_signal;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    signo = sig;
    atomic_store(&sig_owned, 1);
    if (sigaction(sig, &sa, NULL) != 0) {
        atomic_store(&sig_owned, 0);
        signo = 0;
    }
}

/* ---- a cut ---- */

/* CPROF_KEEP: remember path as type i's newest file, delete the oldest
 * beyond keep.  A name written again (no %n/%t) is one file. */
static void keep_file(size_t i, const char *path)
{
    if (keep <= 0)
        return;
    if (!kept[i] && !(kept[i] = calloc((size_t)keep + 1, sizeof *kept[i])))
        return;
    if (nkept[i] && !strcmp(kept[i][nkept[i] - 1], path))
        return;
    char *dup = strdup(path);
    if (!dup)
        return;
    kept[i][nkept[i]++] = dup;
    if (nkept[i] > keep) {
        unlink(kept[i][0]);
        free(kept[i][0]);
        memmove(kept[i], kept[i] + 1, (size_t)keep * sizeof *kept[i]);
        nkept[i]--;
    }
}

/* A copy of p with one more comment. */
static cp_profile *with_comment(cp_profile *p, const char *text)
{
    cp_pbuilder *b = cp_pbuilder_new(true);
    cp_profile *q = NULL;
    if (b && cp_pbuilder_add_profile(b, p, 1.0, NULL) == 0 && cp_pbuilder_comment(b, text) == 0)
        q = cp_pbuilder_finish(b);
    cp_pbuilder_free(b);
    if (!q)
        return p;
    cp_profile_free(p);
    return q;
}

/* What type t holds for this period into *out (NULL: nothing to write). */
static int take(size_t i, const cp_reg_type *t, bool final, cp_profile **out)
{
    int rc = 0;
    cp_profile *snap = NULL;
    *out = NULL;
    switch (t->kind) {
    case CP_REG_PERIODIC:
        rc = final ? t->finish(out) : t->snapshot(out);
        break;
    case CP_REG_CUMULATIVE:
        if ((rc = t->snapshot(&snap)) != 0)
            break;
        rc = cp_profile_delta(snap, prev[i], out);
        cp_profile_free(prev[i]);
        prev[i] = snap;
        if (final && t->finish) {
            cp_profile *none = NULL;
            (void)t->finish(&none);
            cp_profile_free(none);
        }
        break;
    case CP_REG_GAUGE:
        rc = t->snapshot(out);
        break;
    }
    return rc == CPROF_ENOTRUNNING ? 0 : rc;
}

static void cut(bool final)
{
    pthread_mutex_lock(&cut_mu);
    if (final_done) {
        pthread_mutex_unlock(&cut_mu);
        return;
    }
    int64_t n = cur_n, start = cur_start_ns;
    int64_t late = late_pending;
    late_pending = 0;
    cur_n++;
    cur_start_ns = clock_ns(CLOCK_REALTIME);
    cp_output_set_period(cur_n, cur_start_ns);
    for (size_t i = 0; i < cp_registry_count() && i < MAX_TYPES; i++) {
        const cp_reg_type *t = cp_registry_get(i);
        const char *tmpl = getenv(t->env);
        if (!tmpl || !*tmpl || (!t->enabled() && !prev[i] && t->kind != CP_REG_PERIODIC))
            continue;
        cp_profile *p = NULL;
        int rc = take(i, t, final, &p);
        char path[4096];
        if (!rc && p && late) {
            char text[160];
            snprintf(text, sizeof text,
                     "cprof: %lld period end(s) passed while the writer was busy; this file "
                     "holds those periods too",
                     (long long)late);
            p = with_comment(p, text);
        }
        if (!rc && p && (rc = cp_output_path(tmpl, n, start, path, sizeof path)) == 0 &&
            (rc = cp_profile_write_file(p, path)) == 0)
            keep_file(i, path);
        if (rc) {
            if (atomic_fetch_add(&st_failed, 1) == 0)
                cp_log("cannot write the %s profile of period %lld (%s): %s", t->name,
                       (long long)n, tmpl, cprof_strerror(rc));
        }
        cp_profile_free(p);
    }
    atomic_fetch_add(&st_cuts, 1);
    if (final)
        final_done = 1;
    pthread_mutex_unlock(&cut_mu);
}

/* ---- the writer ---- */

static void block_all_but(int sig)
{
    sigset_t set;
    sigfillset(&set);
    if (sig)
        sigdelset(&set, sig);
    pthread_sigmask(SIG_SETMASK, &set, NULL);
}

static void *writer_main(void *arg)
{
    (void)arg;
    cp_heap_busy_enter(); /* all of this thread's allocations are cprof's */
    block_all_but(atomic_load(&sig_owned) ? signo : 0);
    int64_t next = period_ns ? clock_ns(CLOCK_MONOTONIC) + period_ns : INT64_MAX;
    for (;;) {
        int64_t now = clock_ns(CLOCK_MONOTONIC);
        int64_t due = next < end_mono_ns || !end_mono_ns ? next : end_mono_ns;
        int r;
        if (due == INT64_MAX) {
            r = sem_wait(&wake_sem);
        } else {
            struct timespec ts = {(time_t)(due / 1000000000), (long)(due % 1000000000)};
            r = due <= now ? sem_trywait(&wake_sem) : sem_clockwait(&wake_sem, CLOCK_MONOTONIC, &ts);
        }
        if (r == 0 || (r < 0 && errno == EINTR)) {
            while (sem_trywait(&wake_sem) == 0)
                ; /* one pass serves every post so far */
            if (atomic_exchange(&want_release, 0)) {
                block_all_but(0);
                cp_log("CPROF_SIGNAL: the program installs its own handler for signal %d; "
                       "profiles are no longer written on it",
                       signo);
            }
            if (atomic_load(&want_stop))
                break;
            if (atomic_exchange(&want_cut, 0))
                cut(false);
            if (r == 0 || atomic_load(&want_stop))
                continue;
        }
        now = clock_ns(CLOCK_MONOTONIC);
        if (end_mono_ns && now >= end_mono_ns) {
            cut(true);
            break;
        }
        if (now >= next) {
            int64_t missed = (now - next) / period_ns;
            next += (missed + 1) * period_ns;
            if (missed) {
                atomic_fetch_add(&st_late, missed);
                pthread_mutex_lock(&cut_mu);
                late_pending += missed;
                pthread_mutex_unlock(&cut_mu);
            }
            cut(false);
        }
    }
    return NULL;
}

/* Number periods after the files that already exist under this process's
 * names: an exec'd image keeps the pid (and "%n" restarts), so without
 * this its period 1 would replace the old image's.  A few stat calls,
 * once. */
static void skip_existing(void)
{
    for (int guard = 0; guard < 100000; guard++) {
        bool taken = false;
        for (size_t i = 0; i < cp_registry_count() && !taken; i++) {
            const char *tmpl = getenv(cp_registry_get(i)->env);
            char path[4096];
            taken = tmpl && strstr(tmpl, "%n") &&
                    cp_output_path(tmpl, cur_n, cur_start_ns, path, sizeof path) == 0 &&
                    access(path, F_OK) == 0;
        }
        if (!taken)
            break;
        cur_n++;
    }
    cp_output_set_period(cur_n, cur_start_ns);
}

typedef int (*create_fn)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);

void cp_continuous_init(void)
{
    const char *ps = getenv("CPROF_PERIOD"), *ds = getenv("CPROF_DURATION"),
               *ss = getenv("CPROF_SIGNAL"), *ks = getenv("CPROF_KEEP");
    double v;
    cur_start_ns = clock_ns(CLOCK_REALTIME);
    cp_output_set_period(1, cur_start_ns);
    if (ps && *ps) {
        if (cp_continuous_parse_seconds(ps, &v) == 0 && v >= 0.01)
            period_ns = (int64_t)(v * 1e9);
        else
            cp_log("ignoring CPROF_PERIOD=%s (want seconds, at least 0.01)", ps);
    }
    if (ds && *ds) {
        if (cp_continuous_parse_seconds(ds, &v) == 0)
            end_mono_ns = clock_ns(CLOCK_MONOTONIC) + (int64_t)(v * 1e9);
        else
            cp_log("ignoring CPROF_DURATION=%s (want seconds > 0)", ds);
    }
    if (ks && *ks) {
        int64_t k;
        if (cp_env_int("CPROF_KEEP", ks, 1, 1000000, &k) == 1)
            keep = (int)k;
    }
    int sig = 0;
    if (ss && *ss && !(sig = cp_continuous_parse_signal(ss)))
        cp_log("ignoring CPROF_SIGNAL=%s (want a signal name such as USR2 or RTMIN+3)", ss);
    if (!period_ns && !end_mono_ns && !sig)
        return;
    int busy = cp_heap_busy_enter();
    skip_existing();
    if (sem_init(&wake_sem, 0, 0) != 0) {
        cp_log("periodic profiles not started: sem_init: %s", strerror(errno));
        goto out;
    }
    atomic_store(&armed, 1);
    owner = getpid();
    active = 1;
    if (sig)
        take_signal(sig, ss);
    create_fn create = (create_fn)dlsym(RTLD_NEXT, "pthread_create");
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old); /* the writer starts with all blocked */
    int rc = (create ? create : pthread_create)(&writer, NULL, writer_main, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        cp_log("periodic profiles not started: cannot create the writer thread: %s",
               strerror(rc));
        active = 0;
        atomic_store(&armed, 0);
        goto out;
    }
    pthread_setname_np(writer, "cprof-writer");
    writer_started = 1;
out:
    cp_heap_busy_leave(busy);
}

void cp_continuous_fini(void)
{
    if (!active || getpid() != owner)
        return;
    int busy = cp_heap_busy_enter();
    if (writer_started) {
        wake(&want_stop);
        pthread_join(writer, NULL);
        writer_started = 0;
    }
    cut(true);
    cp_heap_busy_leave(busy);
}

bool cp_continuous_exit_owned(void)
{
    return active && getpid() == owner;
}

/* fork (sigfork.c): a cut in progress finishes before the fork. */
void cp_continuous_atfork_prepare(void)
{
    pthread_mutex_lock(&cut_mu);
}

void cp_continuous_atfork_parent(void)
{
    pthread_mutex_unlock(&cut_mu);
}

void cp_continuous_atfork_child(void)
{
    pthread_mutex_init(&cut_mu, NULL); /* held by the forking thread's prepare */
    if (!active)
        return;
    /* no writer here: the child's files are written at its exit, named
     * after the period open at the fork */
    active = 0;
    writer_started = 0;
    atomic_store(&armed, 0); /* the inherited handler posts nothing */
    sem_init(&wake_sem, 0, 0);
}

void cp_continuous_get_stats(cp_continuous_stats *out)
{
    out->cuts = atomic_load(&st_cuts);
    out->late = atomic_load(&st_late);
    out->failed = atomic_load(&st_failed);
}
