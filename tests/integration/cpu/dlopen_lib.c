/* dlopen_lib LIBCPROF OUT — libcprof.so loaded late with dlopen, as a
 * plugin host would: memory allocated before the load is freed and
 * reallocated after it (the library's malloc wrappers must not take
 * glibc's blocks for theirs), threads start and end, a CPU profile runs
 * through the library's API found with dlsym, and the library is closed
 * again.  Exit 0 when all of it worked and the profile was written. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static volatile uint64_t sink;

static __attribute__((noinline)) void late_work(int ms)
{
    struct timespec t0, t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
    do {
        for (int i = 0; i < 100000; i++)
            sink = sink * 6364136223846793005ull + 1;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    } while ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 < ms);
}

static void *worker(void *arg)
{
    char *p = malloc(100);
    late_work(50);
    free(p);
    return arg;
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    enum { N = 1000 };
    static char *early[N];
    for (int i = 0; i < N; i++)
        early[i] = malloc((size_t)(16 + i * 8));
    void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        fprintf(stderr, "dlopen: %s\n", dlerror());
        return 1;
    }
    int (*start)(const char *, const void *) = (int (*)(const char *, const void *))dlsym(h, "cprof_cpu_start");
    int (*stop)(void) = (int (*)(void))dlsym(h, "cprof_cpu_stop");
    int (*heap_start)(int64_t) = (int (*)(int64_t))dlsym(h, "cprof_heap_start");
    if (!start || !stop || !heap_start) {
        fprintf(stderr, "dlsym: %s\n", dlerror());
        return 1;
    }
    /* Heap sampling from a library loaded this late cannot see the
     * program's mallocs: it says so rather than profile nothing. */
    int hr = heap_start(1);
    if (hr != -9 /* CPROF_EUNSUPPORTED */) {
        fprintf(stderr, "cprof_heap_start from a dlopen'd library: %d, want CPROF_EUNSUPPORTED\n", hr);
        return 1;
    }
    for (int i = 0; i < N; i++) {
        early[i] = realloc(early[i], (size_t)(32 + i * 8));
        if (!early[i])
            return 1;
    }
    if (start(argv[2], NULL) != 0) {
        fprintf(stderr, "cprof_cpu_start failed\n");
        return 1;
    }
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, worker, NULL);
    late_work(100);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    if (stop() != 0) {
        fprintf(stderr, "cprof_cpu_stop failed\n");
        return 1;
    }
    for (int i = 0; i < N; i++)
        free(early[i]);
    dlclose(h);
    char *after = malloc(64);
    free(after);
    puts("dlopen: ok");
    return 0;
}
