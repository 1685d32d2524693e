/* harmless.c — programs that check the CPU profiler stays out of the way.
 * Run plain or under LD_PRELOAD=libcprof.so with CPROF_CPU set
 * (harmless.sh compares).
 *
 *   harmless threads      burn CPU, then print the "Threads:" line of
 *                         /proc/self/status (a program with no threads of
 *                         its own must still have one)
 *   harmless forkfaults N after burning CPU (the profile's table is
 *                         written), fork N children that exit(0) at once;
 *                         print the fewest minor faults one of them took
 *                         (wait4's rusage: its whole life, exit included)
 *   harmless allsig       install a handler on every signal below SIGRTMIN
 *                         that can be caught, then burn CPU in after_allsig
 *   harmless allsig-rt    the same for every catchable signal, real-time
 *                         ones included: sampling has to stop
 *   harmless deep DEPTH   recurse DEPTH deep, burn CPU in deep_leaf and
 *                         print "frames=T": the frames a sample there
 *                         holds (glibc's backtrace, the same unwinder)
 *   harmless dlwork LIB   dlopen LIB, burn CPU in its dl_burn, dlclose it,
 *                         burn some more in main_after_dlclose
 *   harmless exec         two threads spin while main burns in
 *                         before_exec_work, then execs sh -c 'exit 7' with
 *                         an environment without the preload (a timer
 *                         signal reaching sh would kill it)
 *   harmless exec-fails   before_exec_work, a failing execv, then
 *                         after_failed_exec: the profile holds both
 *   harmless spawn N      create and join N threads that do nothing (the
 *                         heap profile must not see the profiler's own
 *                         block for each)
 */
#include <dlfcn.h>
#include <execinfo.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile uint64_t sink;

/* This thread's CPU: other threads (exec's spinners) do not shorten it. */
static int64_t cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Each with its own constant: identical bodies would be folded into one
 * function by the compiler, and the profile would name only that one. */
#define BURNER(name, k)                                                 \
    static __attribute__((noinline)) void name(int ms)                  \
    {                                                                   \
        int64_t end = cpu_ms() + ms;                                    \
        uint64_t x = 1;                                                 \
        while (cpu_ms() < end)                                          \
            for (int i = 0; i < 200000; i++)                            \
                x = x * 6364136223846793005ull + k;                     \
        sink = x;                                                       \
    }
BURNER(burn, 1)
BURNER(after_allsig, 3)
BURNER(main_after_dlclose, 5)
BURNER(before_exec_work, 7)
BURNER(after_failed_exec, 9)
BURNER(first_image_work, 11)
BURNER(second_image_work, 13)

static void *spinner(void *arg)
{
    (void)arg;
    for (;;)
        sink = sink * 3 + 1;
    return NULL;
}

static int exec_sh(void)
{
    pthread_t t;
    for (int i = 0; i < 2; i++)
        pthread_create(&t, NULL, spinner, NULL);
    before_exec_work(150);
    char *argv[] = {"sh", "-c", "exit 7", NULL};
    char *envp[] = {"PATH=/usr/bin:/bin", NULL};
    execve("/bin/sh", argv, envp);
    perror("execve");
    return 1;
}

/* exec-chain NEXT: burn, then exec NEXT (a link to this program) in mode
 * exec-end, which burns and prints the process's CPU clock: the one the
 * kernel keeps across the exec.  The two images' profiles must add up to
 * it, each CPU-second once. */
static int exec_chain(const char *next)
{
    first_image_work(300);
    char *argv[] = {(char *)next, "exec-end", NULL};
    execv(next, argv);
    perror("execv");
    return 1;
}

static int exec_end(void)
{
    second_image_work(150);
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    printf("process_cpu_ms=%lld\n", (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
    return 0;
}

static void *nothing(void *arg)
{
    return arg;
}

static int spawn(int n)
{
    for (int i = 0; i < n; i++) {
        pthread_t t;
        if (pthread_create(&t, NULL, nothing, NULL) != 0 || pthread_join(t, NULL) != 0)
            return 1;
    }
    return 0;
}

static void *short_burn(void *arg)
{
    burn((int)(intptr_t)arg);
    return NULL;
}

/* n threads one after another, each burning ms of its CPU, then prints the
 * process's CPU time (ms) as the profile should hold it. */
static int short_threads(int n, int ms)
{
    for (int i = 0; i < n; i++) {
        pthread_t t;
        if (pthread_create(&t, NULL, short_burn, (void *)(intptr_t)ms) != 0 ||
            pthread_join(t, NULL) != 0)
            return 1;
    }
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    printf("process_cpu_ms=%lld\n", (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
    return 0;
}

static int exec_fails(void)
{
    before_exec_work(150);
    char *argv[] = {"nothing", NULL};
    if (execv("/nonexistent/nothing", argv) != -1)
        return 1;
    after_failed_exec(150);
    return 0;
}

static int threads(void)
{
    burn(300);
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "Threads:", 8))
            fputs(line, stdout);
    if (f)
        fclose(f);
    return 0;
}

static int forkfaults(int n)
{
    burn(200);
    long best = -1;
    for (int i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid < 0)
            return 1;
        if (pid == 0)
            exit(0);
        int st;
        struct rusage ru;
        if (wait4(pid, &st, 0, &ru) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
            return 1;
        if (best < 0 || ru.ru_minflt < best)
            best = ru.ru_minflt;
    }
    printf("child_minflt=%ld\n", best);
    return 0;
}

static void handler(int sig)
{
    (void)sig;
}

static int allsig(int last)
{
    burn(100);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    for (int s = 1; s <= last; s++)
        if (s != SIGKILL && s != SIGSTOP && (s < 32 || s >= SIGRTMIN))
            sigaction(s, &sa, NULL);
    after_allsig(300);
    return 0;
}

/* The leaf is a pure loop (no call): wherever a sample lands in it, the
 * stack has exactly the frames backtrace() counts from here. */
static __attribute__((noinline)) void deep_leaf(long iters)
{
    uint64_t x = 1;
    for (long i = 0; i < iters; i++)
        x = x * 6364136223846793005ull + 1;
    sink = x;
}

/* Its own frame: 32 KiB in every level of the recursion would not fit. */
static __attribute__((noinline)) void print_frames(long iters)
{
    void *bt[4096];
    /* backtrace's frames start here; a sample in deep_leaf has one more */
    printf("frames=%d\n", backtrace(bt, 4096) + 1);
    fflush(stdout);
    deep_leaf(iters);
}

static __attribute__((noinline)) int deep_rec(int n, long iters)
{
    volatile int keep = n; /* read after the call: no tail call, no loop */
    if (n == 0) {
        print_frames(iters);
        return 0;
    }
    int r = deep_rec(n - 1, iters);
    return r + keep;
}

static int deep(int depth)
{
    /* iterations for ~400 ms of CPU */
    int64_t t0 = cpu_ms();
    long probe = 20000000;
    deep_leaf(probe);
    int64_t dt = cpu_ms() - t0;
    long iters = dt > 0 ? probe * 400 / dt : probe * 20;
    deep_rec(depth, iters);
    return 0;
}

static int dlwork(const char *lib)
{
    void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        fprintf(stderr, "%s\n", dlerror());
        return 1;
    }
    void (*dl_burn)(int) = (void (*)(int))dlsym(h, "dl_burn");
    if (!dl_burn)
        return 1;
    dl_burn(300);
    if (dlclose(h) != 0)
        return 1;
    main_after_dlclose(100);
    return 0;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    if (!strcmp(mode, "threads"))
        return threads();
    if (!strcmp(mode, "forkfaults"))
        return forkfaults(argc > 2 ? atoi(argv[2]) : 5);
    if (!strcmp(mode, "allsig"))
        return allsig(31);
    if (!strcmp(mode, "allsig-rt"))
        return allsig(SIGRTMAX);
    if (!strcmp(mode, "deep"))
        return deep(argc > 2 ? atoi(argv[2]) : 1000);
    if (!strcmp(mode, "exec"))
        return exec_sh();
    if (!strcmp(mode, "spawn"))
        return spawn(argc > 2 ? atoi(argv[2]) : 50);
    if (!strcmp(mode, "exec-chain") && argc > 2)
        return exec_chain(argv[2]);
    if (!strcmp(mode, "exec-end"))
        return exec_end();
    if (!strcmp(mode, "exec-fails"))
        return exec_fails();
    if (!strcmp(mode, "short-threads"))
        return short_threads(argc > 2 ? atoi(argv[2]) : 20, argc > 3 ? atoi(argv[3]) : 10);
    if (!strcmp(mode, "dlwork") && argc > 2)
        return dlwork(argv[2]);
    fprintf(stderr, "usage: harmless threads|forkfaults N|allsig|allsig-rt|deep N|dlwork LIB\n");
    return 2;
}
