/* api.c — a program linked with -lcprof (no LD_PRELOAD) that profiles part
 * of its run with cprof_cpu_start/stop, with threads created after start.
 * usage: api OUT.pb.gz   prints "rusage_ns=N" for the profiled stretch */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/resource.h>
#include <time.h>

#include "cprof.h"

static volatile uint64_t sink;

static int64_t ru_ns(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ((int64_t)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000 +
           ((int64_t)ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000;
}

static __attribute__((noinline)) void spin_ms(int ms)
{
    struct timespec t0, t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
    uint64_t x = 1;
    do {
        for (int i = 0; i < 20000; i++)
            x = x * 6364136223846793005ull + 1;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    } while ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 < ms);
    sink += x;
}

static __attribute__((noinline)) void *api_worker(void *arg)
{
    spin_ms(400);
    __asm__ volatile("" ::: "memory");
    return arg;
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    spin_ms(100); /* before start: not in the profile */
    cprof_cpu_options o = {.hz = 1000};
    int64_t r0 = ru_ns();
    int rc = cprof_cpu_start(argv[1], &o);
    if (rc) {
        fprintf(stderr, "api: start: %s\n", cprof_strerror(rc));
        return 1;
    }
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, api_worker, NULL);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    int64_t r1 = ru_ns();
    rc = cprof_cpu_stop();
    if (rc) {
        fprintf(stderr, "api: stop: %s\n", cprof_strerror(rc));
        return 1;
    }
    spin_ms(100); /* after stop: not in the profile */
    printf("rusage_ns=%lld\n", (long long)(r1 - r0));
    return 0;
}
