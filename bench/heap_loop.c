/* heap_loop.c — the heap profiler's worst case: malloc/free pairs.
 *
 * usage: heap_loop MILLIONS_OF_PAIRS [SIZE]
 * Each pair allocates 16..520 bytes (a cheap LCG picks the size), touches
 * the block and frees it; a few blocks stay live in a small ring so glibc's
 * tcache sees realistic reuse.  With SIZE, every block has SIZE bytes and
 * is written whole (big-block churn: page faults matter there).  Prints "ns_per_pair X" for the timed loop
 * only (process start-up and the profiler's exit-time write excluded), in
 * thread CPU time: a busy shared machine delays the loop but does not
 * charge it.  "wall_ns_per_pair" is the elapsed time, for tools that do
 * part of their work in another process (heaptrack).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ns(clockid_t clk)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    double millions = argc > 1 ? atof(argv[1]) : 10;
    size_t fixed = argc > 2 ? (size_t)atol(argv[2]) : 0;
    long pairs = (long)(millions * 1e6);
    void *ring[8] = {0};
    uint32_t x = 12345;
    unsigned long sink = 0;
    double w0 = now_ns(CLOCK_MONOTONIC), t0 = now_ns(CLOCK_THREAD_CPUTIME_ID);
    for (long i = 0; i < pairs; i++) {
        x = x * 1664525u + 1013904223u;
        size_t n = fixed ? fixed : 16 + (x >> 8) % 505;
        char *p = malloc(n);
        if (fixed)
            memset(p, (int)i, n);
        p[0] = (char)i;
        sink += (unsigned char)p[n - 1];
        int k = (int)(x >> 29);
        void *old = ring[k];
        ring[k] = p;
        free(old);
    }
    double t1 = now_ns(CLOCK_THREAD_CPUTIME_ID), w1 = now_ns(CLOCK_MONOTONIC);
    for (int k = 0; k < 8; k++)
        free(ring[k]);
    printf("ns_per_pair %.3f wall_ns_per_pair %.3f sink %lu\n", (t1 - t0) / (double)pairs,
           (w1 - w0) / (double)pairs, sink & 1);
    return 0;
}
