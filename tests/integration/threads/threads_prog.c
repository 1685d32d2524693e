/* threads_prog — threads parked in known functions, for threads.sh.
 *   threads_prog known OUT     3 threads in park_cond (one labelled
 *                              route=/x), 2 in park_read, 1 in park_blocked
 *                              with every signal blocked; writes OUT with
 *                              cprof_threads_write and prints each known
 *                              thread's tid as NAME=TID lines
 *   threads_prog storm OUT N   N snapshots (OUT-I.pb.gz) while two creator
 *                              threads make short-lived threads as fast as
 *                              they can
 *   threads_prog owned OUT     the program handles the profiler's signal
 *                              first: the write is refused (CPROF_ESIGNAL)
 *                              and the program's handler still gets it
 *   threads_prog takeover OUT  a snapshot, then the program installs its
 *                              own handler for the signal: it gets the
 *                              signal, later writes are refused
 * Every parked call is checked on wake-up: the snapshot must not make it
 * fail (pthread_cond_wait and read resume after the profiler's signal).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cprof.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int release_all;
static atomic_int parked;
static int pipefd[2];
static atomic_int failures;

__attribute__((noinline)) static void park_cond(void)
{
    pthread_mutex_lock(&mu);
    atomic_fetch_add(&parked, 1);
    while (!release_all)
        if (pthread_cond_wait(&cv, &mu) != 0)
            atomic_fetch_add(&failures, 1);
    pthread_mutex_unlock(&mu);
}

__attribute__((noinline)) static void park_read(void)
{
    char c;
    atomic_fetch_add(&parked, 1);
    if (read(pipefd[0], &c, 1) != 1)
        atomic_fetch_add(&failures, 1);
}

__attribute__((noinline)) static void park_blocked(void)
{
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    park_cond();
}

static void *run(void *arg)
{
    const char *what = arg;
    char name[16];
    snprintf(name, sizeof name, "%s", what);
    pthread_setname_np(pthread_self(), name);
    printf("%s=%d\n", what, (int)gettid());
    fflush(stdout);
    if (!strncmp(what, "cond", 4)) {
        if (!strcmp(what, "cond-x"))
            cprof_label_push("route", "/x");
        park_cond();
    } else if (!strncmp(what, "read", 4)) {
        park_read();
    } else {
        park_blocked();
    }
    return NULL;
}

__attribute__((noinline)) static void spawn_parked(pthread_t *th, char **names, int n)
{
    for (int i = 0; i < n; i++)
        pthread_create(&th[i], NULL, run, names[i]);
}

static atomic_int stop;

static void *short_life(void *arg)
{
    volatile int x = 0;
    for (int i = 0; i < 1000; i++)
        x += i;
    (void)arg;
    return NULL;
}

static void *creator(void *arg)
{
    long *made = arg;
    while (!atomic_load(&stop)) {
        pthread_t t[8];
        int n = 0;
        for (; n < 8; n++)
            if (pthread_create(&t[n], NULL, short_life, NULL) != 0)
                break;
        for (int i = 0; i < n; i++)
            pthread_join(t[i], NULL);
        *made += n;
    }
    return NULL;
}

static volatile sig_atomic_t got_signal;

static void own_handler(int sig)
{
    (void)sig;
    got_signal++;
}

static int owned(const char *out, bool first)
{
    int sig = SIGRTMAX - 3;
    if (!first && cprof_threads_write(out) != 0)
        return 1;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = own_handler;
    sigaction(sig, &sa, NULL);
    int rc = cprof_threads_write(out);
    raise(sig);
    printf("write=%s\ngot_signal=%d\n", rc == CPROF_ESIGNAL ? "ESIGNAL" : cprof_strerror(rc),
           (int)got_signal);
    return rc == CPROF_ESIGNAL && got_signal == 1 ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: threads_prog known|storm OUT [N]\n");
        return 2;
    }
    if (!strcmp(argv[1], "owned") || !strcmp(argv[1], "takeover"))
        return owned(argv[2], argv[1][0] == 'o');
    if (!strcmp(argv[1], "storm")) {
        int n = argc > 3 ? atoi(argv[3]) : 20;
        long made[2] = {0, 0};
        pthread_t c[2];
        for (int i = 0; i < 2; i++)
            pthread_create(&c[i], NULL, creator, &made[i]);
        for (int i = 0; i < n; i++) {
            char path[4096];
            snprintf(path, sizeof path, "%s-%d.pb.gz", argv[2], i);
            int rc = cprof_threads_write(path);
            if (rc) {
                fprintf(stderr, "cprof_threads_write: %s\n", cprof_strerror(rc));
                return 1;
            }
        }
        atomic_store(&stop, 1);
        for (int i = 0; i < 2; i++)
            pthread_join(c[i], NULL);
        printf("snapshots=%d\nthreads_made=%ld\n", n, made[0] + made[1]);
        return 0;
    }
    if (pipe(pipefd) != 0)
        return 1;
    char *names[] = {"cond-0", "cond-1", "cond-x", "read-0", "read-1", "blocked"};
    pthread_t th[6];
    spawn_parked(th, names, 6);
    while (atomic_load(&parked) < 6)
        usleep(1000);
    usleep(20000); /* let each reach its wait */
    int rc = cprof_threads_write(argv[2]);
    if (rc) {
        fprintf(stderr, "cprof_threads_write: %s\n", cprof_strerror(rc));
        return 1;
    }
    printf("main=%d\n", (int)gettid());
    pthread_mutex_lock(&mu);
    release_all = 1;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    if (write(pipefd[1], "xy", 2) != 2)
        return 1;
    for (int i = 0; i < 6; i++)
        pthread_join(th[i], NULL);
    printf("failures=%d\n", atomic_load(&failures));
    return atomic_load(&failures) ? 1 : 0;
}
