/* periodic.c — a program for the CPROF_PERIOD/SIGNAL/DURATION tests.
 *
 * usage: periodic MODE ARGS
 *   spin SECS          burn SECS of CPU on the main thread; print
 *                      "thread_ns=N proc_ns=N" (its own clocks)
 *   alloc SECS         malloc/free in alloc_here for SECS of CPU; print
 *                      "objects=N bytes=N live=N live_bytes=N" (exact
 *                      counts of alloc_here's calls)
 *   until FILE [SECS]  burn CPU until FILE exists, then SECS more (default
 *                      0.3); print "saw FILE"
 *   handler SECS       install a SIGUSR2 handler, raise USR2 3 times, burn
 *                      SECS; print "usr2=N"
 *   blockall FILE      block every signal on every thread; a worker burns
 *                      CPU until FILE exists; print "saw FILE"
 *   exec SECS          burn SECS, then exec itself as "spin SECS"
 *   fork SECS          fork; the child burns SECS of CPU and prints
 *                      "child_threads=N" (its threads: no writer inherited),
 *                      the parent burns SECS too and waits for it
 */
#include <dirent.h>
#include <sys/wait.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int64_t clock_ns(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static volatile double sink;

__attribute__((noinline)) static void burn_ns(int64_t ns)
{
    int64_t t0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
    double x = 0;
    while (clock_ns(CLOCK_THREAD_CPUTIME_ID) - t0 < ns)
        for (int i = 0; i < 20000; i++)
            x += i * 0.5;
    sink = x;
}

static long long n_obj, n_bytes, n_live, n_live_bytes;
static void *live[64];
static size_t live_size[64];

__attribute__((noinline)) static void *alloc_here(size_t n)
{
    void *p = malloc(n);
    n_obj++;
    n_bytes += (long long)n;
    return p;
}

static int exists(const char *path)
{
    return access(path, F_OK) == 0;
}

static void *worker(void *arg)
{
    const char *file = arg;
    int64_t t0 = clock_ns(CLOCK_MONOTONIC);
    while (!exists(file) && clock_ns(CLOCK_MONOTONIC) - t0 < 60000000000LL)
        burn_ns(10000000);
    return NULL;
}

static int count_threads(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

static volatile sig_atomic_t got;
static void on_usr2(int s)
{
    (void)s;
    got++;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: periodic spin|alloc|until|handler|blockall ARG\n");
        return 2;
    }
    const char *mode = argv[1];
    if (!strcmp(mode, "spin")) {
        burn_ns((int64_t)(atof(argv[2]) * 1e9));
        printf("thread_ns=%lld proc_ns=%lld\n", (long long)clock_ns(CLOCK_THREAD_CPUTIME_ID),
               (long long)clock_ns(CLOCK_PROCESS_CPUTIME_ID));
    } else if (!strcmp(mode, "alloc")) {
        int64_t until = clock_ns(CLOCK_THREAD_CPUTIME_ID) + (int64_t)(atof(argv[2]) * 1e9);
        unsigned r = 1;
        while (clock_ns(CLOCK_THREAD_CPUTIME_ID) < until) {
            for (int k = 0; k < 1000; k++) {
                r = r * 1103515245u + 12345u;
                int slot = (r >> 8) % 64;
                size_t n = 1 + (r >> 16) % 2000;
                if (live[slot]) {
                    free(live[slot]);
                    n_live--;
                    n_live_bytes -= (long long)live_size[slot];
                }
                live[slot] = alloc_here(n);
                live_size[slot] = n;
                n_live++;
                n_live_bytes += (long long)n;
            }
        }
        printf("objects=%lld bytes=%lld live=%lld live_bytes=%lld\n", n_obj, n_bytes, n_live,
               n_live_bytes);
    } else if (!strcmp(mode, "until")) {
        int64_t t0 = clock_ns(CLOCK_MONOTONIC);
        while (!exists(argv[2]) && clock_ns(CLOCK_MONOTONIC) - t0 < 60000000000LL)
            burn_ns(10000000);
        burn_ns((int64_t)((argc > 3 ? atof(argv[3]) : 0.3) * 1e9));
        printf("saw %s\n", exists(argv[2]) ? "file" : "nothing");
    } else if (!strcmp(mode, "handler")) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_usr2;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGUSR2, &sa, NULL);
        for (int i = 0; i < 3; i++)
            raise(SIGUSR2);
        burn_ns((int64_t)(atof(argv[2]) * 1e9));
        printf("usr2=%d\n", (int)got);
    } else if (!strcmp(mode, "blockall")) {
        sigset_t all;
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, NULL);
        pthread_t th;
        pthread_create(&th, NULL, worker, argv[2]);
        pthread_join(th, NULL);
        printf("saw %s\n", exists(argv[2]) ? "file" : "nothing");
    } else if (!strcmp(mode, "exec")) {
        burn_ns((int64_t)(atof(argv[2]) * 1e9));
        char *args[] = {argv[0], "spin", argv[2], NULL};
        execv("/proc/self/exe", args);
        perror("execv");
        return 1;
    } else if (!strcmp(mode, "fork")) {
        int64_t ns = (int64_t)(atof(argv[2]) * 1e9);
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            burn_ns(ns);
            printf("child_threads=%d\n", count_threads());
            return 0;
        }
        burn_ns(ns);
        int st = 0;
        waitpid(pid, &st, 0);
        printf("parent_threads=%d child_status=%d\n", count_threads(), st);
    } else {
        fprintf(stderr, "periodic: unknown mode %s\n", mode);
        return 2;
    }
    return 0;
}
