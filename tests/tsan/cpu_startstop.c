/* cpu_startstop — the CPU profiler's start, stop and thread paths under
 * ThreadSanitizer: worker threads are created and end while the main
 * thread starts and stops profiles in a loop, with samples arriving at
 * 1000 Hz requested.  Every start and stop must succeed and TSan must see
 * no race.  Exit 0 on success. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "cprof.h"

static atomic_int quit;

static void *spin(void *arg)
{
    volatile uint64_t sink = 1; /* each thread its own */
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        for (int i = 0; i < 20000; i++)
            sink = sink * 3 + 1;
        clock_gettime(CLOCK_MONOTONIC, &t);
    } while ((t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec) < 20000000L);
    return arg;
}

static void *spawner(void *arg)
{
    while (!atomic_load(&quit)) {
        pthread_t t;
        if (pthread_create(&t, NULL, spin, NULL) == 0)
            pthread_join(t, NULL);
    }
    return arg;
}

int main(int argc, char **argv)
{
    const char *out = argc > 1 ? argv[1] : "/dev/null";
    pthread_t sp[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&sp[i], NULL, spawner, NULL);
    cprof_cpu_options o = {.hz = 1000};
    int bad = 0;
    for (int round = 0; round < 10; round++) {
        if (cprof_cpu_start(out, &o) != 0) {
            fprintf(stderr, "start %d failed\n", round);
            bad = 1;
            break;
        }
        spin(NULL);
        if (cprof_cpu_stop() != 0) {
            fprintf(stderr, "stop %d failed\n", round);
            bad = 1;
            break;
        }
    }
    atomic_store(&quit, 1);
    for (int i = 0; i < 2; i++)
        pthread_join(sp[i], NULL);
    printf("cpu start/stop: %s\n", bad ? "failed" : "10 rounds");
    return bad;
}
