/* locks_known.c — a program that measures its own lock and blocking waits
 * and prints them, for comparison with its mutex and block profiles.
 *
 * Output: one line per site, "SITE KIND COUNT DELAY_NS", KIND mutex or
 * block; COUNT is exact where the program can know it (else -1): each
 * round of site_mutex_contended waits until the glibc mutex shows a
 * waiter before the holder unlocks, so every round is one contention.
 * Waits are measured around the same call the profiler times.  The
 * contended work runs under the label phase=contend.
 */
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cprof.h"

/* Weak: the preloaded library provides them at run time. */
#pragma weak cprof_label_push
#pragma weak cprof_label_pop

static int64_t now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

enum { ROUNDS = 8, HOLD_MS = 15, SROUNDS_N = 400 };
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static sem_t go, done;
static int64_t mutex_wait, mutex_sq;

__attribute__((noinline)) static void site_mutex_contended(void)
{
    int64_t t0 = now();
    pthread_mutex_lock(&m);
    int64_t d = now() - t0;
    mutex_wait += d;
    mutex_sq += d * d;
    pthread_mutex_unlock(&m);
}

static void *waiter_n(void *arg)
{
    (void)arg;
    for (int i = 0; i < SROUNDS_N; i++) {
        while (sem_wait(&go) != 0)
            ;
        site_mutex_contended();
        sem_post(&done);
    }
    return NULL;
}

static void *waiter(void *arg)
{
    (void)arg;
    for (int i = 0; i < ROUNDS; i++) {
        while (sem_wait(&go) != 0)
            ;
        site_mutex_contended();
        sem_post(&done);
    }
    return NULL;
}

__attribute__((noinline)) static void site_uncontended(pthread_mutex_t *u, int n)
{
    for (int i = 0; i < n; i++) {
        pthread_mutex_lock(u);
        pthread_mutex_unlock(u);
    }
}

/* rwlock: the reader waits for a writer holding it HOLD_MS. */
static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static int64_t rw_wait;
static sem_t rw_go;
__attribute__((noinline)) static void site_rwlock_read(void)
{
    int64_t t0 = now();
    pthread_rwlock_rdlock(&rw);
    rw_wait += now() - t0;
    pthread_rwlock_unlock(&rw);
}
static void *rw_reader(void *arg)
{
    (void)arg;
    for (int i = 0; i < ROUNDS; i++) {
        while (sem_wait(&rw_go) != 0)
            ;
        site_rwlock_read();
    }
    return NULL;
}

/* cond: the consumer waits for a producer that signals after a pause. */
static pthread_mutex_t cm = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int ready, consumed;
static int64_t cond_wait_ns, cond_sq;
static int cond_waits;
__attribute__((noinline)) static void site_cond_wait(void)
{
    pthread_mutex_lock(&cm);
    while (!ready) {
        int64_t t0 = now();
        pthread_cond_wait(&cv, &cm);
        int64_t d = now() - t0;
        cond_wait_ns += d;
        cond_sq += d * d;
        cond_waits++;
    }
    ready = 0;
    consumed++;
    pthread_mutex_unlock(&cm);
}
static void *consumer_n(void *arg)
{
    (void)arg;
    for (int i = 0; i < SROUNDS_N; i++) {
        site_cond_wait();
        sem_post(&done);
    }
    return NULL;
}

static void *consumer(void *arg)
{
    (void)arg;
    for (int i = 0; i < ROUNDS; i++)
        site_cond_wait();
    return NULL;
}

static pthread_barrier_t bar;
static int64_t bar_wait;
__attribute__((noinline)) static void site_barrier(void)
{
    int64_t t0 = now();
    pthread_barrier_wait(&bar);
    bar_wait += now() - t0;
}
static void *bar_late(void *arg)
{
    (void)arg;
    for (int i = 0; i < 4; i++) {
        sleep_ms(5);
        pthread_barrier_wait(&bar);
    }
    return NULL;
}

static int64_t join_wait;
static void *sleeper(void *arg)
{
    sleep_ms((int)(long)arg);
    return NULL;
}
__attribute__((noinline)) static void site_join(pthread_t t)
{
    int64_t t0 = now();
    pthread_join(t, NULL);
    join_wait += now() - t0;
}

/* ---- sampled: many short events for the fraction and rate estimates ---- */
enum { SROUNDS = 400 };

static void spin_us(int us)
{
    int64_t end = now() + (int64_t)us * 1000;
    while (now() < end)
        ;
}

static int sampled(void)
{
    sem_init(&go, 0, 0);
    sem_init(&done, 0, 0);
    pthread_t th;
    pthread_create(&th, NULL, waiter_n, NULL);
    for (int i = 0; i < SROUNDS; i++) {
        pthread_mutex_lock(&m);
        sem_post(&go);
        while (__atomic_load_n(&m.__data.__lock, __ATOMIC_ACQUIRE) != 2)
            sched_yield();
        spin_us(50);
        pthread_mutex_unlock(&m);
        while (sem_wait(&done) != 0)
            ;
    }
    pthread_join(th, NULL);
    pthread_create(&th, NULL, consumer_n, NULL);
    for (int i = 0; i < SROUNDS; i++) {
        spin_us(100);
        pthread_mutex_lock(&cm);
        ready = 1;
        pthread_cond_signal(&cv);
        pthread_mutex_unlock(&cm);
        while (sem_wait(&done) != 0)
            ;
    }
    pthread_join(th, NULL);
    printf("site_mutex_contended mutex %d %lld\n", SROUNDS, (long long)mutex_wait);
    printf("site_cond_wait block %d %lld\n", cond_waits, (long long)cond_wait_ns);
    /* sums of squared waits, for the sampling's standard deviation */
    printf("site_mutex_contended mutexsq 0 %lld\n", (long long)mutex_sq);
    printf("site_cond_wait blocksq 0 %lld\n", (long long)cond_sq);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "sampled"))
        return sampled();
    sem_init(&go, 0, 0);
    sem_init(&done, 0, 0);
    sem_init(&rw_go, 0, 0);
    pthread_t th;

    /* mutex, contended: the holder unlocks only once the waiter waits */
    if (cprof_label_push)
        cprof_label_push("phase", "contend");
    pthread_create(&th, NULL, waiter, NULL);
    for (int i = 0; i < ROUNDS; i++) {
        pthread_mutex_lock(&m);
        sem_post(&go);
        while (__atomic_load_n(&m.__data.__lock, __ATOMIC_ACQUIRE) != 2)
            sleep_ms(1);
        sleep_ms(HOLD_MS);
        pthread_mutex_unlock(&m);
        while (sem_wait(&done) != 0) /* the waiter let go: the next round starts clean */
            ;
    }
    pthread_join(th, NULL);
    if (cprof_label_pop)
        cprof_label_pop();

    pthread_mutex_t u;
    pthread_mutex_init(&u, NULL);
    site_uncontended(&u, 200000);

    pthread_create(&th, NULL, rw_reader, NULL);
    for (int i = 0; i < ROUNDS; i++) {
        pthread_rwlock_wrlock(&rw);
        sem_post(&rw_go);
        sleep_ms(HOLD_MS);
        pthread_rwlock_unlock(&rw);
        sleep_ms(2);
    }
    pthread_join(th, NULL);

    pthread_create(&th, NULL, consumer, NULL);
    for (int i = 0; i < ROUNDS; i++) {
        sleep_ms(HOLD_MS);
        pthread_mutex_lock(&cm);
        ready = 1;
        pthread_cond_signal(&cv);
        pthread_mutex_unlock(&cm);
        for (;;) { /* until consumed, so each round is one wait */
            pthread_mutex_lock(&cm);
            int finished = consumed == i + 1;
            pthread_mutex_unlock(&cm);
            if (finished)
                break;
            sleep_ms(1);
        }
    }
    pthread_join(th, NULL);

    pthread_barrier_init(&bar, NULL, 2);
    pthread_create(&th, NULL, bar_late, NULL);
    for (int i = 0; i < 4; i++)
        site_barrier();
    pthread_join(th, NULL);

    for (int i = 0; i < 4; i++) {
        pthread_create(&th, NULL, sleeper, (void *)(long)(HOLD_MS));
        site_join(th);
    }

    printf("site_mutex_contended mutex %d %lld\n", ROUNDS, (long long)mutex_wait);
    printf("site_uncontended mutex 0 0\n");
    printf("site_rwlock_read mutex -1 %lld\n", (long long)rw_wait);
    printf("site_cond_wait block %d %lld\n", cond_waits, (long long)cond_wait_ns);
    printf("site_barrier block 4 %lld\n", (long long)bar_wait);
    printf("site_join block 4 %lld\n", (long long)join_wait);
    return 0;
}
