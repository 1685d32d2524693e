/* lock_loop.c — the mutex and block profilers' worst case: uncontended
 * lock/unlock pairs on one thread.
 *
 * usage: lock_loop mutex|rwlock|sem|barrier1 MILLIONS
 * mutex: pthread_mutex_lock/unlock pairs; rwlock: rdlock/unlock and
 * wrlock/unlock alternating; sem: sem_post/sem_wait pairs (a count is
 * there: no block, the try path).  Prints "ns_per_pair X" in thread CPU
 * time for the loop alone.  A second thread exists (parked in a
 * condition wait) so glibc takes its multi-threaded paths, as a program
 * with locks would.
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static pthread_mutex_t park_m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t park_c = PTHREAD_COND_INITIALIZER;
static int quit;

static void *parked(void *a)
{
    (void)a;
    pthread_mutex_lock(&park_m);
    while (!quit)
        pthread_cond_wait(&park_c, &park_m);
    pthread_mutex_unlock(&park_m);
    return NULL;
}

int main(int argc, char **argv)
{
    const char *what = argc > 1 ? argv[1] : "mutex";
    long n = (long)((argc > 2 ? atof(argv[2]) : 10) * 1e6);
    pthread_t th;
    pthread_create(&th, NULL, parked, NULL);
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
    sem_t s;
    sem_init(&s, 0, 0);
    volatile long sink = 0;
    double t0 = now_ns();
    if (!strcmp(what, "mutex")) {
        for (long i = 0; i < n; i++) {
            pthread_mutex_lock(&m);
            sink++;
            pthread_mutex_unlock(&m);
        }
    } else if (!strcmp(what, "rwlock")) {
        for (long i = 0; i < n; i++) {
            if (i & 1)
                pthread_rwlock_rdlock(&rw);
            else
                pthread_rwlock_wrlock(&rw);
            sink++;
            pthread_rwlock_unlock(&rw);
        }
    } else if (!strcmp(what, "barrier1")) {
        /* a barrier of one never blocks, but every call is a blocking
         * call to the block profile: at CPROF_BLOCK_RATE=1 each is
         * recorded, which prices one recorded event (unwind + add) */
        pthread_barrier_t b;
        pthread_barrier_init(&b, NULL, 1);
        for (long i = 0; i < n; i++)
            pthread_barrier_wait(&b);
    } else {
        for (long i = 0; i < n; i++) {
            sem_post(&s);
            sem_wait(&s);
        }
    }
    double t1 = now_ns();
    printf("ns_per_pair %.2f\n", (t1 - t0) / (double)n);
    pthread_mutex_lock(&park_m);
    quit = 1;
    pthread_cond_signal(&park_c);
    pthread_mutex_unlock(&park_m);
    pthread_join(th, NULL);
    return 0;
}
