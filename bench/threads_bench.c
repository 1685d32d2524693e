/* threads_bench — the costs of labels and of the threads profiles.
 *   threads_bench key N        ns per cp_stacktab_add (no label) and per
 *                              cp_stacktab_add_key (a label set), same
 *                              stacks, interleaved, best of 5
 *   threads_bench snapshot N   one snapshot of N parked threads: us per thread
 *   threads_bench create N     wall ns per pthread_create + pthread_join
 *                              (run with and without the preload by
 *                              bench_threads.sh: the threadcreate record)
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "collect/labels.h"
#include "collect/stacktab.h"
#include "collect/threads.h"
#include "cprof.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static double adds(cp_stacktab *t, int n, uint64_t key)
{
    uint64_t pcs[24];
    double t0 = now();
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < 24; k++)
            pcs[k] = 0x400000 + (uint64_t)k * 64 + (uint64_t)(i % 256) * 4096;
        if (key)
            cp_stacktab_add_key(t, pcs, 24, key, 1, NULL);
        else
            cp_stacktab_add(t, pcs, 24, 1);
    }
    return (now() - t0) / n;
}

static atomic_int quit, ready;

static void *park(void *arg)
{
    (void)arg;
    atomic_fetch_add(&ready, 1);
    while (!atomic_load(&quit))
        pause();
    return NULL;
}

static void *nothing(void *arg)
{
    return arg;
}

int main(int argc, char **argv)
{
    if (argc != 3)
        return 2;
    int n = atoi(argv[2]);
    if (!strcmp(argv[1], "key")) {
        cp_stacktab t;
        if (cp_stacktab_init(&t, 1 << 16, 1 << 20))
            return 1;
        cprof_label_push("route", "/bench");
        uint64_t key = (uint64_t)(uintptr_t)cp_labels_current();
        double plain = 1e18, keyed = 1e18;
        for (int r = 0; r < 5; r++) {
            double a = adds(&t, n, 0), b = adds(&t, n, key);
            plain = a < plain ? a : plain;
            keyed = b < keyed ? b : keyed;
        }
        printf("stacktab_add %.1f ns, with a label key %.1f ns, ratio %.2fx\n", plain, keyed,
               keyed / plain);
        return 0;
    }
    if (!strcmp(argv[1], "snapshot")) {
        pthread_t *th = calloc((size_t)n, sizeof *th);
        for (int i = 0; i < n; i++)
            pthread_create(&th[i], NULL, park, NULL);
        while (atomic_load(&ready) < n)
            usleep(1000);
        double best = 1e18;
        cp_threads_snapshot s;
        for (int r = 0; r < 5; r++) {
            double t0 = now();
            if (cp_threads_take(&s))
                return 1;
            double d = now() - t0;
            best = d < best ? d : best;
            if (r == 4)
                printf("snapshot of %zu threads: %.0f us, %.1f us per thread\n", s.n, best / 1e3,
                       best / 1e3 / (double)s.n);
            cp_threads_snapshot_free(&s);
        }
        fflush(stdout);
        _exit(0); /* parked threads sleep in pause(): no joining */
    }
    if (!strcmp(argv[1], "create")) {
        double t0 = now();
        for (int i = 0; i < n; i++) {
            pthread_t t;
            pthread_create(&t, NULL, nothing, NULL);
            pthread_join(t, NULL);
        }
        printf("ns_per_create %.0f\n", (now() - t0) / n);
        return 0;
    }
    return 2;
}
