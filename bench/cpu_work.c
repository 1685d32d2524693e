/* cpu_work.c — a fixed amount of CPU work on N threads, for overhead and
 * accuracy comparisons.  usage: cpu_work THREADS MILLION_ITERATIONS
 * Prints "cpu_ns=N wall_ns=N" (rusage user+sys, and elapsed).  The work is
 * a few functions deep so profilers have a stack to walk. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

static long iters;
static volatile uint64_t sink;

static __attribute__((noinline)) uint64_t leaf(uint64_t x, long n)
{
    for (long i = 0; i < n; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        __asm__ volatile("" : "+r"(x));
    }
    return x;
}

static __attribute__((noinline)) uint64_t middle(uint64_t x, long n)
{
    uint64_t r = leaf(x, n);
    __asm__ volatile("" : "+r"(r));
    return r;
}

static void *worker(void *arg)
{
    uint64_t x = (uint64_t)(uintptr_t)arg;
    for (long k = 0; k < iters; k++)
        x = middle(x, 1000000);
    sink += x;
    return NULL;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 1;
    iters = argc > 2 ? atol(argv[2]) : 1000;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pthread_t th[64];
    if (n > 64)
        n = 64;
    for (int i = 0; i < n; i++)
        pthread_create(&th[i], NULL, worker, (void *)(uintptr_t)(i + 1));
    for (int i = 0; i < n; i++)
        pthread_join(th[i], NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    long long cpu = ((long long)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000LL +
                    ((long long)ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000LL;
    long long wall = (t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec);
    printf("cpu_ns=%lld wall_ns=%lld\n", cpu, wall);
    return 0;
}
