/* sigfork_prog — signals and fork under every profiler (tests/integration/sigfork).
 *
 *   sigfork_prog storm THREADS FORKS DIR
 *       THREADS workers allocate, contend for one mutex, write to a pipe
 *       and burn CPU; each forks FORKS times while the others have
 *       allocations, locks and writes in flight.  Each child allocates,
 *       takes the mutex, writes, and exits with status 40 + its index
 *       (exit(): its profiles are written at exit).  Prints one line
 *       per worker: the statuses it saw, all as expected or not.
 *   sigfork_prog handlers ROUNDS
 *       SIGALRM (ITIMER_REAL) and SIGPROF (ITIMER_PROF) at a high rate;
 *       each handler re-installs the other signal's handler (alternating
 *       two functions, with sigaction and signal) and SIGSEGV/SIGBUS ones;
 *       main does ROUNDS of fixed work.  Prints what the run computed and
 *       whether both handlers kept running and sigaction reports what the
 *       program installed last: the same text with and without cprof.
 *   sigfork_prog forksig
 *       raise(SIGUSR1) from main while a worker allocates; the handler
 *       forks; the child allocates and exits 7; the handler reaps it.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile uint64_t sink;

static __attribute__((noinline)) void burn(long n)
{
    uint64_t x = 88172645463325252ull;
    for (long i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    sink += x;
}

/* ---- storm ---- */

static pthread_mutex_t shared = PTHREAD_MUTEX_INITIALIZER;
static int pipe_w = -1;
static int forks_each;
static atomic_int stop_churn;

/* Allocations, a lock and a write; `m` is the program's shared mutex in
 * the parent, a fresh one in a child (a lock held by a thread of the
 * parent at the fork stays held in the child: POSIX). */
static void churn_with(pthread_mutex_t *m, unsigned seed)
{
    void *keep[16];
    for (int i = 0; i < 16; i++) {
        keep[i] = malloc(64 + (seed * 31 + (unsigned)i * 977) % 8192);
        if (keep[i])
            memset(keep[i], i, 32);
    }
    pthread_mutex_lock(m);
    burn(2000);
    pthread_mutex_unlock(m);
    char buf[256];
    memset(buf, 'x', sizeof buf);
    if (write(pipe_w, buf, sizeof buf) < 0 && errno != EAGAIN)
        abort();
    for (int i = 0; i < 16; i++)
        free(keep[i]);
}

static void churn_once(unsigned seed)
{
    churn_with(&shared, seed);
}

static __attribute__((noinline)) void child_work(int k)
{
    pthread_mutex_t own = PTHREAD_MUTEX_INITIALIZER;
    for (int i = 0; i < 20; i++)
        churn_with(&own, (unsigned)(k * 100 + i));
    burn(200000);
}

static void *storm_worker(void *arg)
{
    int id = (int)(intptr_t)arg, bad = 0;
    for (int k = 0; k < forks_each; k++) {
        for (int i = 0; i < 30; i++)
            churn_once((unsigned)(id * 1000 + k * 30 + i));
        void *in_flight = malloc(4096); /* held across the fork */
        pid_t pid = fork();
        if (pid < 0) {
            bad++;
            free(in_flight);
            continue;
        }
        if (pid == 0) {
            child_work(k);
            free(in_flight);
            exit(40 + k % 10);
        }
        free(in_flight);
        int st;
        while (waitpid(pid, &st, 0) < 0)
            if (errno != EINTR)
                abort();
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 40 + k % 10)
            bad++;
    }
    printf("worker %d: %d forks, %s\n", id, forks_each, bad ? "BAD STATUS" : "statuses ok");
    return NULL;
}

static void *drain(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[4096];
    while (read(fd, buf, sizeof buf) > 0)
        ;
    return NULL;
}

static void *churner(void *arg)
{
    (void)arg;
    unsigned i = 0;
    while (!atomic_load(&stop_churn))
        churn_once(i++);
    return NULL;
}

static int storm(int nthreads, int forks)
{
    int p[2];
    if (pipe(p) != 0)
        return 1;
    pipe_w = p[1];
    forks_each = forks;
    printf("storm pid %d\n", (int)getpid());
    pthread_t rd, ch, t[16];
    pthread_create(&rd, NULL, drain, (void *)(intptr_t)p[0]);
    pthread_create(&ch, NULL, churner, NULL);
    if (nthreads > 16)
        nthreads = 16;
    fflush(stdout);
    for (int i = 0; i < nthreads; i++)
        pthread_create(&t[i], NULL, storm_worker, (void *)(intptr_t)i);
    for (int i = 0; i < nthreads; i++)
        pthread_join(t[i], NULL);
    atomic_store(&stop_churn, 1);
    pthread_join(ch, NULL);
    close(pipe_w);
    pthread_join(rd, NULL);
    return 0;
}

/* ---- handlers ---- */

static atomic_int alrm_a, alrm_b, prof_a, prof_b;
static atomic_long last_prof, last_alrm; /* what the program installed last */

static void on_prof_a(int sig);
static void on_prof_b(int sig);
static void on_alrm_a(int sig);
static void on_alrm_b(int sig);
static void on_fault(int sig) { (void)sig; abort(); }

static void install(int sig, void (*h)(int), bool with_signal)
{
    if (with_signal) {
        signal(sig, h);
    } else {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = h;
        sa.sa_flags = SA_RESTART;
        sigemptyset(&sa.sa_mask);
        sigaction(sig, &sa, NULL);
    }
}

/* A handler's store of what it installs and the install itself must not
 * be split by the other signal's handler: both are blocked meanwhile. */
static void block_both(sigset_t *old)
{
    sigset_t both;
    sigemptyset(&both);
    sigaddset(&both, SIGALRM);
    sigaddset(&both, SIGPROF);
    pthread_sigmask(SIG_BLOCK, &both, old);
}

static void on_prof_a(int sig)
{
    (void)sig;
    int e = errno;
    sigset_t old;
    block_both(&old);
    int n = atomic_fetch_add(&prof_a, 1);
    /* SIGALRM's next handler, installed from inside a handler */
    void (*h)(int) = n % 2 ? on_alrm_a : on_alrm_b;
    atomic_store(&last_alrm, (long)(intptr_t)h);
    install(SIGALRM, h, n % 3 == 0);
    install(SIGSEGV, on_fault, n % 2 == 0);
    atomic_store(&last_prof, (long)(intptr_t)on_prof_b);
    install(SIGPROF, on_prof_b, n % 2 == 0);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    errno = e;
}

static void on_prof_b(int sig)
{
    (void)sig;
    int e = errno;
    sigset_t old;
    block_both(&old);
    atomic_fetch_add(&prof_b, 1);
    atomic_store(&last_prof, (long)(intptr_t)on_prof_a);
    install(SIGPROF, on_prof_a, false);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    errno = e;
}

static void alrm_common(void (*next)(int), int n)
{
    int e = errno;
    sigset_t old;
    block_both(&old);
    struct sigaction cur;
    sigaction(SIGPROF, NULL, &cur); /* a query from a handler */
    atomic_store(&last_alrm, (long)(intptr_t)next);
    install(SIGALRM, next, n % 2 == 0);
    install(SIGBUS, on_fault, n % 2 == 1);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    errno = e;
}

static void on_alrm_a(int sig)
{
    (void)sig;
    alrm_common(on_alrm_b, atomic_fetch_add(&alrm_a, 1));
}

static void on_alrm_b(int sig)
{
    (void)sig;
    alrm_common(on_alrm_a, atomic_fetch_add(&alrm_b, 1));
}

static __attribute__((noinline)) uint64_t round_work(int r)
{
    uint64_t x = (uint64_t)r * 2654435761u + 1;
    for (int i = 0; i < 200000; i++)
        x = x * 6364136223846793005ull + 1442695040888963407ull;
    char *p = malloc(1000 + (size_t)r % 5000); /* the heap profiler runs too */
    if (p) {
        p[0] = (char)x;
        x += (uint64_t)p[0];
        free(p);
    }
    return x;
}

static int handlers(int rounds)
{
    atomic_store(&last_prof, (long)(intptr_t)on_prof_a);
    atomic_store(&last_alrm, (long)(intptr_t)on_alrm_a);
    install(SIGPROF, on_prof_a, false);
    install(SIGALRM, on_alrm_a, false);
    struct itimerval fast = {{0, 500}, {0, 500}};
    setitimer(ITIMER_REAL, &fast, NULL);
    setitimer(ITIMER_PROF, &fast, NULL);
    uint64_t sum = 0;
    for (int r = 0; r < rounds; r++)
        sum ^= round_work(r);
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
    setitimer(ITIMER_PROF, &off, NULL);
    /* each timer's last signal has been delivered: sigaction answers with
     * what the program installed last */
    struct sigaction p, a;
    sigaction(SIGPROF, NULL, &p);
    sigaction(SIGALRM, NULL, &a);
    bool consistent = (long)(intptr_t)p.sa_handler == atomic_load(&last_prof) &&
                      (long)(intptr_t)a.sa_handler == atomic_load(&last_alrm);
    int alrm = atomic_load(&alrm_a) + atomic_load(&alrm_b);
    int prof = atomic_load(&prof_a) + atomic_load(&prof_b);
    printf("work %016llx\n", (unsigned long long)sum);
    printf("alarm handlers: %s\n", alrm >= 20 && atomic_load(&alrm_b) > 0 ? "running" : "STOPPED");
    printf("prof handlers: %s\n", prof >= 10 && atomic_load(&prof_b) > 0 ? "running" : "STOPPED");
    printf("dispositions: %s\n", consistent ? "as installed" : "NOT AS INSTALLED");
    fprintf(stderr, "alarm %d, prof %d\n", alrm, prof);
    /* signal() hands back the program's handler, then the default */
    signal(SIGPROF, SIG_DFL);
    burn(1000000);
    return 0;
}

/* ---- forksig ---- */

static atomic_int child_status = -1;
static atomic_int worker_stop;

static void *alloc_worker(void *arg)
{
    (void)arg;
    unsigned i = 0;
    while (!atomic_load(&worker_stop))
        churn_once(i++);
    return NULL;
}

static void on_usr1(int sig)
{
    (void)sig;
    pid_t pid = fork();
    if (pid == 0) {
        child_work(3);
        exit(7);
    }
    int st;
    if (pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st))
        atomic_store(&child_status, WEXITSTATUS(st));
}

static int forksig(void)
{
    int p[2];
    if (pipe(p) != 0)
        return 1;
    pipe_w = p[1];
    pthread_t rd, w;
    pthread_create(&rd, NULL, drain, (void *)(intptr_t)p[0]);
    pthread_create(&w, NULL, alloc_worker, NULL);
    signal(SIGUSR1, on_usr1);
    burn(2000000);
    fflush(stdout);
    raise(SIGUSR1); /* delivered before raise returns */
    atomic_store(&worker_stop, 1);
    pthread_join(w, NULL);
    close(pipe_w);
    pthread_join(rd, NULL);
    printf("child in handler exited %d\n", atomic_load(&child_status));
    return atomic_load(&child_status) == 7 ? 0 : 1;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc >= 4 && !strcmp(argv[1], "storm"))
        return storm(atoi(argv[2]), atoi(argv[3]));
    if (argc >= 3 && !strcmp(argv[1], "handlers"))
        return handlers(atoi(argv[2]));
    if (argc >= 2 && !strcmp(argv[1], "forksig"))
        return forksig();
    fprintf(stderr, "usage: sigfork_prog storm THREADS FORKS | handlers ROUNDS | forksig\n");
    return 2;
}
