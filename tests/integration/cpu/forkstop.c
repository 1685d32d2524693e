/* forkstop.c — fork() while another thread is inside cprof_cpu_stop, with
 * the heap profiler started through the API and a big sampled block live.
 *
 * The stopping thread holds the CPU profiler's mutex while the writer frees
 * big blocks (libdw's buffers), and freeing a big block takes the heap lock
 * while a big sampled block is live.  fork()'s prepare handlers must take
 * the two in the same order (CPU mutex first), or fork and stop wait for
 * each other forever: this program then hangs and meson's timeout fails it.
 * usage: forkstop DIR ROUNDS — writes DIR/fs.N.pb.gz and checks each exists. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cprof.h"

static volatile unsigned long sink;
static volatile int stop_done;

static void spin_ms(int ms)
{
    struct timespec a, b;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
    for (;;) {
        for (int i = 0; i < 10000; i++)
            sink += (unsigned long)i;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
        if ((b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000 >= ms)
            break;
    }
}

static void *stopper(void *arg)
{
    int *rc = arg;
    *rc = cprof_cpu_stop();
    __atomic_store_n(&stop_done, 1, __ATOMIC_RELEASE);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 3)
        return 2;
    int rounds = atoi(argv[2]);
    if (cprof_heap_start(1) != 0) {
        puts("FAIL: heap start");
        return 1;
    }
    char *big = malloc(1 << 20); /* rate 1: sampled, and big */
    memset(big, 1, 1 << 20);
    int forks = 0;
    for (int r = 0; r < rounds; r++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/fs.%d.pb.gz", argv[1], r);
        cprof_cpu_options o = {.hz = 1000};
        if (cprof_cpu_start(path, &o) != 0) {
            puts("FAIL: cpu start");
            return 1;
        }
        spin_ms(20);
        __atomic_store_n(&stop_done, 0, __ATOMIC_RELEASE);
        int rc = -1;
        pthread_t t;
        pthread_create(&t, NULL, stopper, &rc);
        while (!__atomic_load_n(&stop_done, __ATOMIC_ACQUIRE)) {
            pid_t p = fork();
            if (p == 0)
                _exit(0);
            waitpid(p, NULL, 0);
            forks++;
        }
        pthread_join(t, NULL);
        struct stat st;
        if (rc != 0 || stat(path, &st) != 0 || st.st_size == 0) {
            printf("FAIL: round %d: stop %d, no profile\n", r, rc);
            return 1;
        }
    }
    free(big);
    printf("forkstop: %d rounds, %d forks during stop: ok\n", rounds, forks);
    return 0;
}
