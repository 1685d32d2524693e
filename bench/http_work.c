/* http_work SECONDS — the program bench_http.sh profiles: for SECONDS of
 * wall time, rounds of small malloc/free pairs and arithmetic; prints
 * "ops_per_s N" (rounds per second of wall time) and "ops_per_cpu_s N"
 * (per second of this thread's CPU time: on a shared machine, the figure
 * other processes' load does not move). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double clock_s(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double now(void)
{
    return clock_s(CLOCK_MONOTONIC);
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 2.0;
    volatile uint64_t sink = 0;
    uint64_t x = 1, ops = 0;
    double t0 = now(), c0 = clock_s(CLOCK_THREAD_CPUTIME_ID), t;
    do {
        for (int i = 0; i < 1000; i++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            char *p = malloc(16 + (x >> 58) * 64);
            if (p) {
                p[0] = (char)x;
                sink += (unsigned char)p[0];
            }
            free(p);
        }
        ops++;
    } while ((t = now()) - t0 < secs);
    printf("ops_per_s %.0f\n", (double)ops / (t - t0));
    printf("ops_per_cpu_s %.0f\n", (double)ops / (clock_s(CLOCK_THREAD_CPUTIME_ID) - c0));
    return (int)(sink & 0);
}
