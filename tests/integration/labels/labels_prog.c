/* labels_prog — the same code run by two threads under different labels,
 * for the labels test (labels.sh).  It measures what each thread did and
 * prints it as key=value lines:
 *   a_cpu_ns, b_cpu_ns     CPU time of the work done under route=/a, /b
 *                          (CLOCK_THREAD_CPUTIME_ID around it)
 *   a_objs, a_bytes, ...   allocations made under each label set
 * Labels used: route=/a and route=/b on the two workers; inside /a a nested
 * phase=inner push for part of its allocations; a thread created under /a
 * (inheritance); a forked child under route=/fork (its own heap profile).
 * Usage: labels_prog CPU_MS_A CPU_MS_B
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cprof.h"

static volatile uint64_t sink;

static int64_t cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The shared code both routes run: pure CPU. */
__attribute__((noinline)) static void route_work(int64_t ms)
{
    int64_t end = cpu_now() + ms * 1000000;
    uint64_t x = 1;
    while (cpu_now() < end)
        for (int i = 0; i < 20000; i++)
            x = x * 6364136223846793005ull + 1442695040888963407ull;
    sink += x;
}

/* The shared allocation code: n objects of size bytes, kept until exit. */
__attribute__((noinline)) static void route_alloc(int n, size_t size)
{
    for (int i = 0; i < n; i++) {
        char *p = malloc(size);
        p[0] = 1;
        sink += (uintptr_t)p;
        /* leaked on purpose: the in-use figures stay the same as alloc */
    }
}

static void *inherited(void *arg)
{
    (void)arg;
    route_alloc(77, 33); /* carries route=/a from its creator */
    return NULL;
}

typedef struct job {
    const char *route;
    int64_t ms;
    int objs;
    size_t size;
    int64_t cpu_ns;
} job;

static void *worker(void *arg)
{
    job *j = arg;
    cprof_label_push("route", j->route);
    int64_t t0 = cpu_now();
    route_work(j->ms);
    j->cpu_ns = cpu_now() - t0;
    route_alloc(j->objs, j->size);
    if (j->route[1] == 'a') {
        cprof_label_push("phase", "inner");
        route_alloc(10, 48);
        cprof_label_pop();
        pthread_t t;
        pthread_create(&t, NULL, inherited, NULL);
        pthread_join(t, NULL);
    }
    cprof_label_pop();
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: labels_prog CPU_MS_A CPU_MS_B\n");
        return 2;
    }
    job a = {"/a", atoll(argv[1]), 1000, 100, 0};
    job b = {"/b", atoll(argv[2]), 500, 200, 0};
    pthread_t ta, tb;
    pthread_create(&ta, NULL, worker, &a);
    pthread_create(&tb, NULL, worker, &b);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);

    cprof_label_push("route", "/fork");
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        route_alloc(55, 44);
        exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
    cprof_label_pop();
    printf("a_cpu_ns=%lld\nb_cpu_ns=%lld\n", (long long)a.cpu_ns, (long long)b.cpu_ns);
    printf("a_objs=%d\na_bytes=%d\n", 1000 + 10 + 77, 1000 * 100 + 10 * 48 + 77 * 33);
    printf("inner_objs=10\ninner_bytes=480\n");
    printf("b_objs=%d\nb_bytes=%d\n", 500, 500 * 200);
    printf("fork_objs=55\nfork_bytes=%d\nchild_pid=%d\n", 55 * 44, (int)pid);
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
}
