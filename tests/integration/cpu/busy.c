/* busy.c — a CPU-bound program whose true split of CPU time is measured.
 *
 * usage: busy THREADS MS_PER_THREAD
 * Each worker thread spends MS_PER_THREAD ms of its CPU time: 50% in
 * work_a, 30% in work_b, 20% in work_c, in two rounds of long blocks.
 * Blocks are long next to the sampling interval so the sampled split
 * converges fast; the time each function really took (thread CPU clock
 * around each block) is printed, with the process's rusage, on stdout:
 *   rusage_ns=N  work_a_ns=N work_b_ns=N work_c_ns=N
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

static int64_t per_thread_ns;
static _Atomic int64_t spent[3];
static volatile uint64_t sink;

static int64_t thread_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline uint64_t spin(uint64_t x, int n)
{
    for (int i = 0; i < n; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        __asm__ volatile("" : "+r"(x));
    }
    return x;
}

/* Burn `ns` of this thread's CPU time; returns the time really used. */
#define BLOCK(name, idx)                                                        \
    static __attribute__((noinline)) int64_t name(int64_t ns)                   \
    {                                                                           \
        int64_t t0 = thread_ns(), t;                                            \
        uint64_t x = (uint64_t)t0;                                              \
        do {                                                                    \
            x = spin(x, 20000);                                                 \
            t = thread_ns();                                                    \
        } while (t - t0 < ns);                                                  \
        sink += x;                                                              \
        atomic_fetch_add(&spent[idx], t - t0);                                  \
        return t - t0;                                                          \
    }
BLOCK(work_a, 0)
BLOCK(work_b, 1)
BLOCK(work_c, 2)

/* Two rounds of one long block per function: the sampled split can only
 * err at block boundaries (a sample's weight may span one), so few, long
 * blocks keep that error small.  Threads start at different functions so
 * the CPU time after a thread's last sample (never sampled) is not always
 * the same function's. */
static void *worker(void *arg)
{
    int first = (int)(uintptr_t)arg % 3;
    int64_t (*const fn[3])(int64_t) = {work_a, work_b, work_c};
    const int64_t pct[3] = {50, 30, 20};
    for (int round = 0; round < 2; round++)
        for (int k = 0; k < 3; k++) {
            int f = (first + k) % 3;
            fn[f](per_thread_ns * pct[f] / 200);
        }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: busy THREADS MS_PER_THREAD\n");
        return 2;
    }
    int n = atoi(argv[1]);
    per_thread_ns = atoll(argv[2]) * 1000000;
    pthread_t *th = calloc((size_t)n, sizeof *th);
    for (int i = 0; i < n; i++)
        if (pthread_create(&th[i], NULL, worker, (void *)(uintptr_t)i) != 0)
            return 1;
    for (int i = 0; i < n; i++)
        pthread_join(th[i], NULL);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    int64_t r = ((int64_t)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000 +
                ((int64_t)ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000;
    printf("rusage_ns=%lld work_a_ns=%lld work_b_ns=%lld work_c_ns=%lld\n", (long long)r,
           (long long)spent[0], (long long)spent[1], (long long)spent[2]);
    free(th);
    return 0;
}
