/* locks_stress.c — lock- and wait-heavy work whose output must not change
 * under the mutex and block profilers: producer/consumer with condvars,
 * thousands of short threads, rwlocks, timed locks, semaphores, and the
 * return codes of error-checking, recursive and robust mutexes.
 *   locks_stress        everything, prints the results
 *   locks_stress fork   fork while another thread holds a lock; the child
 *                       takes locks of its own and exits
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHECK(c)                                                          \
    do {                                                                  \
        if (!(c)) {                                                       \
            printf("check failed line %d: %s\n", __LINE__, #c);           \
            exit(1);                                                      \
        }                                                                 \
    } while (0)

enum { QCAP = 16, ITEMS = 20000, PROD = 3, CONS = 3 };
static int q[QCAP], qh, qt, qn;
static pthread_mutex_t qm = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t notfull = PTHREAD_COND_INITIALIZER, notempty = PTHREAD_COND_INITIALIZER;
static long long sum;

static void *producer(void *a)
{
    long base = (long)a;
    for (int i = 0; i < ITEMS; i++) {
        pthread_mutex_lock(&qm);
        while (qn == QCAP)
            pthread_cond_wait(&notfull, &qm);
        q[qt] = (int)(base + i);
        qt = (qt + 1) % QCAP;
        qn++;
        pthread_cond_signal(&notempty);
        pthread_mutex_unlock(&qm);
    }
    return NULL;
}

static void *consumer(void *a)
{
    (void)a;
    long long mine = 0;
    for (;;) {
        pthread_mutex_lock(&qm);
        while (qn == 0)
            pthread_cond_wait(&notempty, &qm);
        int v = q[qh];
        qh = (qh + 1) % QCAP;
        qn--;
        pthread_cond_signal(&notfull);
        pthread_mutex_unlock(&qm);
        if (v < 0)
            break;
        mine += v;
    }
    pthread_mutex_lock(&qm);
    sum += mine;
    pthread_mutex_unlock(&qm);
    return NULL;
}

static pthread_mutex_t cm = PTHREAD_MUTEX_INITIALIZER;
static long counter;
static void *short_thread(void *a)
{
    (void)a;
    pthread_mutex_lock(&cm);
    counter++;
    pthread_mutex_unlock(&cm);
    return NULL;
}

static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static long shared_val;
static void *rw_worker(void *a)
{
    long id = (long)a;
    for (int i = 0; i < 20000; i++) {
        if (i % 10 == (int)id) {
            pthread_rwlock_wrlock(&rw);
            shared_val++;
            pthread_rwlock_unlock(&rw);
        } else {
            pthread_rwlock_rdlock(&rw);
            volatile long x = shared_val;
            (void)x;
            pthread_rwlock_unlock(&rw);
        }
    }
    return NULL;
}

static pthread_spinlock_t sp;
static long spun;
static void *spin_worker(void *a)
{
    (void)a;
    for (int i = 0; i < 50000; i++) {
        pthread_spin_lock(&sp);
        spun++;
        pthread_spin_unlock(&sp);
    }
    return NULL;
}

static pthread_mutex_t robust;
static void *die_holding(void *a)
{
    (void)a;
    pthread_mutex_lock(&robust);
    return NULL; /* exits holding it */
}

static void semantics(void)
{
    pthread_mutexattr_t at;
    pthread_mutex_t m;
    /* error-checking: relock EDEADLK, foreign unlock EPERM */
    pthread_mutexattr_init(&at);
    pthread_mutexattr_settype(&at, PTHREAD_MUTEX_ERRORCHECK);
    pthread_mutex_init(&m, &at);
    CHECK(pthread_mutex_lock(&m) == 0);
    CHECK(pthread_mutex_lock(&m) == EDEADLK);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 1000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    CHECK(pthread_mutex_timedlock(&m, &ts) == EDEADLK);
    CHECK(pthread_mutex_unlock(&m) == 0);
    CHECK(pthread_mutex_unlock(&m) == EPERM);
    pthread_mutex_destroy(&m);
    /* recursive: three deep */
    pthread_mutexattr_settype(&at, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&m, &at);
    for (int i = 0; i < 3; i++)
        CHECK(pthread_mutex_lock(&m) == 0);
    for (int i = 0; i < 3; i++)
        CHECK(pthread_mutex_unlock(&m) == 0);
    CHECK(pthread_mutex_unlock(&m) == EPERM);
    pthread_mutex_destroy(&m);
    /* robust: the owner died; EOWNERDEAD passes through, then consistent */
    pthread_mutexattr_settype(&at, PTHREAD_MUTEX_NORMAL);
    pthread_mutexattr_setrobust(&at, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(&robust, &at);
    pthread_t th;
    pthread_create(&th, NULL, die_holding, NULL);
    pthread_join(th, NULL);
    CHECK(pthread_mutex_lock(&robust) == EOWNERDEAD);
    CHECK(pthread_mutex_consistent(&robust) == 0);
    CHECK(pthread_mutex_unlock(&robust) == 0);
    CHECK(pthread_mutex_lock(&robust) == 0);
    CHECK(pthread_mutex_unlock(&robust) == 0);
    /* a timed lock on a held mutex times out */
    pthread_mutex_t held = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_lock(&held);
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 2000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    errno = 1234;
    CHECK(pthread_mutex_timedlock(&held, &ts) == ETIMEDOUT);
    CHECK(errno == 1234);
    /* rwlock: rdlock while holding the write lock */
    pthread_rwlock_t l;
    pthread_rwlock_init(&l, NULL);
    CHECK(pthread_rwlock_wrlock(&l) == 0);
    CHECK(pthread_rwlock_rdlock(&l) == EDEADLK);
    CHECK(pthread_rwlock_unlock(&l) == 0);
    /* semaphores: a count is no wait; a timed wait times out with errno */
    sem_t s;
    sem_init(&s, 0, 1);
    CHECK(sem_wait(&s) == 0);
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 2000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    CHECK(sem_timedwait(&s, &ts) == -1 && errno == ETIMEDOUT);
    printf("semantics ok\n");
}

static void *hold_a_while(void *a)
{
    pthread_mutex_t *m = a;
    pthread_mutex_lock(m);
    struct timespec ts = {0, 50000000};
    nanosleep(&ts, NULL);
    pthread_mutex_unlock(m);
    return NULL;
}

static int fork_mode(void)
{
    static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER, other = PTHREAD_MUTEX_INITIALIZER;
    pthread_t th;
    pthread_create(&th, NULL, hold_a_while, &m);
    struct timespec ts = {0, 10000000};
    nanosleep(&ts, NULL);
    pid_t pid = fork();
    if (pid == 0) {
        pthread_t t2;
        pthread_create(&t2, NULL, hold_a_while, &other);
        nanosleep(&ts, NULL);
        pthread_mutex_lock(&other); /* contended in the child */
        pthread_mutex_unlock(&other);
        pthread_join(t2, NULL);
        exit(0);
    }
    pthread_mutex_lock(&m); /* contended in the parent */
    pthread_mutex_unlock(&m);
    pthread_join(th, NULL);
    int st;
    waitpid(pid, &st, 0);
    printf("child %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "fork"))
        return fork_mode();
    semantics();
    pthread_t p[PROD], c[CONS];
    for (long i = 0; i < CONS; i++)
        pthread_create(&c[i], NULL, consumer, NULL);
    for (long i = 0; i < PROD; i++)
        pthread_create(&p[i], NULL, producer, (void *)(i * 100000));
    for (int i = 0; i < PROD; i++)
        pthread_join(p[i], NULL);
    for (int i = 0; i < CONS; i++) { /* one end mark per consumer */
        pthread_mutex_lock(&qm);
        while (qn == QCAP)
            pthread_cond_wait(&notfull, &qm);
        q[qt] = -1;
        qt = (qt + 1) % QCAP;
        qn++;
        pthread_cond_signal(&notempty);
        pthread_mutex_unlock(&qm);
    }
    for (int i = 0; i < CONS; i++)
        pthread_join(c[i], NULL);
    printf("producer/consumer sum %lld\n", sum);

    for (int round = 0; round < 25; round++) {
        pthread_t t[100];
        for (int i = 0; i < 100; i++)
            CHECK(pthread_create(&t[i], NULL, short_thread, NULL) == 0);
        for (int i = 0; i < 100; i++)
            pthread_join(t[i], NULL);
    }
    printf("short threads %ld\n", counter);

    pthread_t r[4];
    for (long i = 0; i < 4; i++)
        pthread_create(&r[i], NULL, rw_worker, (void *)i);
    for (int i = 0; i < 4; i++)
        pthread_join(r[i], NULL);
    printf("rwlock writes %ld\n", shared_val);

    pthread_spin_init(&sp, 0);
    for (long i = 0; i < 2; i++)
        pthread_create(&r[i], NULL, spin_worker, NULL);
    for (int i = 0; i < 2; i++)
        pthread_join(r[i], NULL);
    printf("spin %ld\n", spun);
    return 0;
}
