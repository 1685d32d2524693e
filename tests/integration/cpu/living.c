/* living.c — programs that test how the CPU profiler lives with real code.
 * Run under LD_PRELOAD=libcprof.so with CPROF_CPU set; each mode exits 0
 * when the program saw the behaviour it is entitled to.
 *
 *   living eintr   blocking read/nanosleep/poll while profiled at a high
 *                  rate and while SIGPROF is sent at the reader directly
 *   living fork    parent_work, fork, child_work in the child (exits via
 *                  exit()), more parent_work; prints "parent=P child=C"
 *   living churn N create and join N threads (50 alive at a time), each
 *                  burning a little CPU; then no CPU timer may be left
 *   living takeover  the program installs its own SIGPROF handler and
 *                  ITIMER_PROF after the profiler started: it must get
 *                  only its own signals, and the profiler carries on
 *                  with another signal
 *   living masked  a worker created with every signal blocked is sampled
 *   living thread-exit  a worker thread calls exit() while main spins
 *   living stress SECONDS  threads churn, dlopen/dlclose of libcrypt racing
 *                  with calls into it, fork, malloc/free storms, together
 */
#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile uint64_t sink;

static int64_t clock_ns(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static __attribute__((noinline)) void burn_us(int64_t us)
{
    int64_t t0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
    uint64_t x = (uint64_t)t0;
    do {
        for (int i = 0; i < 2000; i++)
            x = x * 6364136223846793005ull + 1;
        __asm__ volatile("" : "+r"(x));
    } while (clock_ns(CLOCK_THREAD_CPUTIME_ID) - t0 < us * 1000);
    sink += x;
}

static int fail(const char *what)
{
    fprintf(stderr, "living: FAIL: %s (errno %d: %s)\n", what, errno, strerror(errno));
    return 1;
}

/* ---- eintr ---- */
static int pipefd[2];
static atomic_int reader_tid, reader_blocked;

static void *writer(void *arg)
{
    (void)arg;
    /* Kick the reader with SIGPROF while it blocks: each delivery runs the
     * profiler's handler, and SA_RESTART must resume the read. */
    while (!atomic_load(&reader_blocked))
        usleep(1000);
    for (int i = 0; i < 50; i++) {
        syscall(SYS_tgkill, getpid(), atomic_load(&reader_tid), SIGPROF);
        usleep(2000);
    }
    for (int i = 0; i < 200; i++) {
        unsigned char b[64];
        for (int k = 0; k < 64; k++)
            b[k] = (unsigned char)(i + k);
        burn_us(500);
        if (write(pipefd[1], b, sizeof b) != (ssize_t)sizeof b)
            return (void *)1;
    }
    close(pipefd[1]);
    return NULL;
}

static int mode_eintr(void)
{
    if (pipe(pipefd) != 0)
        return fail("pipe");
    /* The kernel's disposition: sigaction() answers with the program's
     * own (SIG_DFL here), the profiler's handler being kept in front. */
    struct {
        void *handler;
        unsigned long flags;
        void *restorer;
        uint64_t mask;
    } cur;
    if (syscall(SYS_rt_sigaction, SIGPROF, NULL, &cur, sizeof cur.mask) != 0)
        return fail("rt_sigaction");
    if (!(cur.flags & SA_RESTART))
        return fail("SIGPROF handler lacks SA_RESTART");
    atomic_store(&reader_tid, (int)gettid());
    pthread_t w;
    pthread_create(&w, NULL, writer, NULL);
    atomic_store(&reader_blocked, 1);
    unsigned char buf[64];
    int got = 0, eintr_read = 0;
    for (;;) {
        ssize_t n = read(pipefd[0], buf, sizeof buf - (size_t)(got % 64));
        if (n < 0) {
            if (errno == EINTR) {
                eintr_read++;
                continue;
            }
            return fail("read");
        }
        if (n == 0)
            break;
        for (ssize_t k = 0; k < n; k++, got++)
            if (buf[k] != (unsigned char)(got / 64 + got % 64))
                return fail("pipe data corrupted");
        burn_us(200); /* the reader uses CPU too, so it is sampled */
    }
    void *wr;
    pthread_join(w, &wr);
    if (wr)
        return fail("write");
    if (got != 200 * 64)
        return fail("short data");
    /* nanosleep and poll are never restarted by SA_RESTART (signal(7)); a
     * program resumes them with the remaining time.  The profiler only
     * signals a thread for CPU it used, so a sleeping thread is not woken:
     * count the early returns while another thread burns CPU. */
    int eintr_sleep = 0, eintr_poll = 0;
    pthread_t w2;
    atomic_store(&reader_blocked, 0);
    pipe(pipefd);
    pthread_create(&w2, NULL, writer, NULL);
    int64_t t0 = clock_ns(CLOCK_MONOTONIC);
    for (int i = 0; i < 100; i++) {
        struct timespec req = {0, 2000000}, rem;
        while (nanosleep(&req, &rem) != 0) {
            if (errno != EINTR)
                return fail("nanosleep");
            eintr_sleep++;
            req = rem;
        }
        burn_us(300);
    }
    int64_t slept = clock_ns(CLOCK_MONOTONIC) - t0;
    atomic_store(&reader_blocked, 1);
    struct pollfd pf = {.fd = pipefd[0], .events = POLLIN};
    int polls = 0;
    for (;;) {
        int r = poll(&pf, 1, 5000);
        if (r < 0) {
            if (errno != EINTR)
                return fail("poll");
            eintr_poll++;
            continue;
        }
        if (r == 0)
            return fail("poll timed out with a writer alive");
        ssize_t n = read(pipefd[0], buf, sizeof buf);
        if (n < 0 && errno == EINTR) {
            eintr_read++;
            continue;
        }
        if (n <= 0)
            break;
        polls++;
    }
    pthread_join(w2, NULL);
    if (slept < 100 * 2000000)
        return fail("nanosleep returned early in total");
    printf("eintr: read EINTR=%d nanosleep EINTR=%d poll EINTR=%d polls=%d\n", eintr_read,
           eintr_sleep, eintr_poll, polls);
    if (eintr_read)
        return fail("read failed with EINTR despite SA_RESTART");
    /* A thread's CPU-time timer cannot expire while it sleeps, so the
     * profiler never wakes a sleeper (docs/signal-safety.md); poll's EINTRs
     * are the writer's own SIGPROFs, sent on purpose. */
    if (eintr_sleep)
        return fail("the profiling timer woke nanosleep");
    return 0;
}

/* ---- fork ---- */
/* The empty asm after the call keeps these frames (no tail call). */
static __attribute__((noinline)) void parent_work(void)
{
    burn_us(300000);
    __asm__ volatile("" ::: "memory");
}

static __attribute__((noinline)) void child_work(void)
{
    burn_us(300001); /* not identical to parent_work, so not merged */
    __asm__ volatile("" ::: "memory");
}

static int mode_fork(void)
{
    parent_work();
    fflush(stdout);
    pid_t c = fork();
    if (c < 0)
        return fail("fork");
    if (c == 0) {
        child_work();
        exit(0);
    }
    parent_work();
    int st;
    waitpid(c, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return fail("child failed");
    printf("parent=%d child=%d\n", (int)getpid(), (int)c);
    return 0;
}

/* ---- churn ---- */
static void *short_thread(void *arg)
{
    burn_us((int64_t)(intptr_t)arg);
    return NULL;
}

static int count_timers(void)
{
    FILE *f = fopen("/proc/self/timers", "r");
    if (!f)
        return -1;
    char line[256];
    int n = 0;
    while (fgets(line, sizeof line, f))
        n += strncmp(line, "ID:", 3) == 0;
    fclose(f);
    return n;
}

static int mode_churn(int n)
{
    int before = count_timers();
    pthread_t th[50];
    for (int done = 0; done < n;) {
        int k = n - done < 50 ? n - done : 50;
        for (int i = 0; i < k; i++)
            if (pthread_create(&th[i], NULL, short_thread, (void *)(intptr_t)200) != 0)
                return fail("pthread_create");
        for (int i = 0; i < k; i++)
            pthread_join(th[i], NULL);
        done += k;
    }
    int after = count_timers();
    printf("churn: %d threads, posix timers before=%d after=%d\n", n, before, after);
    if (after > before)
        return fail("CPU timers of exited threads were not deleted");
    return 0;
}

/* ---- stress ---- */
static atomic_int stop;

static void *churner(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop)) {
        pthread_t t;
        if (pthread_create(&t, NULL, short_thread, (void *)(intptr_t)100) == 0)
            pthread_join(t, NULL);
    }
    return NULL;
}

/* libcrypt is loaded by nothing else here, so dlclose really unmaps it
 * while samples taken inside it may still be unwinding in other threads'
 * handlers or waiting in the ring. */
static void *dl_looper(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop)) {
        void *h = dlopen("libcrypt.so.1", RTLD_NOW | RTLD_LOCAL);
        if (!h)
            continue;
        char *(*crypt_fn)(const char *, const char *) =
            (char *(*)(const char *, const char *))dlsym(h, "crypt");
        for (int i = 0; crypt_fn && i < 3; i++) {
            const char *r = crypt_fn("password", "$5$rounds=2000$saltsalt$");
            sink += r ? (uint64_t)r[5] : 0;
        }
        dlclose(h);
    }
    return NULL;
}

static void *allocator(void *arg)
{
    (void)arg;
    void *keep[256] = {0};
    uint64_t r = 88172645463325252ull;
    while (!atomic_load(&stop)) {
        r ^= r << 13, r ^= r >> 7, r ^= r << 17;
        int i = (int)(r % 256);
        free(keep[i]);
        keep[i] = malloc(1 + (r >> 40) % 8192);
        if (keep[i])
            memset(keep[i], 1, 16);
    }
    for (int i = 0; i < 256; i++)
        free(keep[i]);
    return NULL;
}

static int mode_stress(int seconds)
{
    pthread_t t[5];
    void *(*fn[5])(void *) = {churner, churner, dl_looper, allocator, allocator};
    for (int i = 0; i < 5; i++)
        if (pthread_create(&t[i], NULL, fn[i], NULL) != 0)
            return fail("pthread_create");
    int64_t end = clock_ns(CLOCK_MONOTONIC) + (int64_t)seconds * 1000000000;
    int forks = 0;
    while (clock_ns(CLOCK_MONOTONIC) < end) {
        pid_t c = fork();
        if (c == 0) {
            void *p = malloc(1000);
            burn_us(5000);
            free(p);
            /* _exit: another thread may have held glibc's atexit lock
             * (dlclose runs __cxa_finalize) when we forked; exit() in a
             * child of a multi-threaded program can deadlock on it. */
            _exit(0);
        }
        if (c > 0) {
            int st;
            waitpid(c, &st, 0);
            if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
                return fail("forked child crashed");
            forks++;
        }
        burn_us(20000);
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < 5; i++)
        pthread_join(t[i], NULL);
    printf("stress: %d forks, ok\n", forks);
    return 0;
}

/* ---- takeover ---- */
static atomic_int itimer_hits, timer_hits;

static void own_handler(int sig, siginfo_t *si, void *uc)
{
    (void)sig, (void)uc;
    if (si->si_code == SI_TIMER)
        atomic_fetch_add(&timer_hits, 1); /* a POSIX timer: the profiler's */
    else
        atomic_fetch_add(&itimer_hits, 1);
}

static __attribute__((noinline)) void before_takeover(void)
{
    burn_us(200000);
    __asm__ volatile("" ::: "memory");
}

static __attribute__((noinline)) void after_takeover(void)
{
    burn_us(300002); /* distinct from parent_work, so not merged with it */
    __asm__ volatile("" ::: "memory");
}

/* A program that starts its own SIGPROF profiling (as gperftools'
 * ProfilerStart does) after the preload started ours. */
static int mode_takeover(void)
{
    before_takeover();
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = own_handler;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    if (sigaction(SIGPROF, &sa, NULL) != 0)
        return fail("sigaction");
    struct itimerval it = {{0, 10000}, {0, 10000}};
    setitimer(ITIMER_PROF, &it, NULL);
    after_takeover();
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_PROF, &off, NULL);
    printf("takeover: own itimer signals=%d, profiler timer signals=%d\n",
           atomic_load(&itimer_hits), atomic_load(&timer_hits));
    if (atomic_load(&timer_hits) != 0)
        return fail("the program's handler received the profiler's signals");
    if (atomic_load(&itimer_hits) < 5)
        return fail("the program's own ITIMER_PROF did not reach its handler");
    /* signal() resets it: must not kill us via a leftover timer. */
    signal(SIGPROF, SIG_DFL);
    burn_us(50000);
    return 0;
}

/* ---- workers created with every signal blocked (as liblzma does) ---- */
static __attribute__((noinline)) void *masked_worker(void *arg)
{
    burn_us(300000);
    __asm__ volatile("" ::: "memory");
    return arg;
}

static int mode_masked(void)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_t t;
    int rc = pthread_create(&t, NULL, masked_worker, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0)
        return fail("pthread_create");
    pthread_join(t, NULL);
    return 0;
}

/* ---- exit from a thread ---- */
static __attribute__((noinline)) void main_spins(void)
{
    for (;;)
        burn_us(10000);
}

static void *exiting_thread(void *arg)
{
    (void)arg;
    burn_us(200000);
    printf("exit from a worker thread\n");
    exit(0); /* the profile must still be written, by this thread */
}

static int mode_thread_exit(void)
{
    pthread_t t;
    pthread_create(&t, NULL, exiting_thread, NULL);
    main_spins();
    return 1;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc >= 2 && !strcmp(argv[1], "eintr"))
        return mode_eintr();
    if (argc >= 2 && !strcmp(argv[1], "fork"))
        return mode_fork();
    if (argc >= 3 && !strcmp(argv[1], "churn"))
        return mode_churn(atoi(argv[2]));
    if (argc >= 2 && !strcmp(argv[1], "masked"))
        return mode_masked();
    if (argc >= 2 && !strcmp(argv[1], "thread-exit"))
        return mode_thread_exit();
    if (argc >= 2 && !strcmp(argv[1], "takeover"))
        return mode_takeover();
    if (argc >= 3 && !strcmp(argv[1], "stress"))
        return mode_stress(atoi(argv[2]));
    fprintf(stderr, "usage: living eintr|fork|churn N|stress SECONDS|takeover|thread-exit|masked\n");
    return 2;
}
