/* demo.c — the program `make demo` profiles.
 *
 * A toy "log analytics" service with a known split of CPU work per round:
 *   parse_records   ~20%  (tokenizing generated text lines)
 *   hash_records    ~50%  (a hash per record, many rounds)
 *   render_report   ~30%  (formatting a report into a buffer)
 * plus some allocation: every record is malloc'ed and freed, so a heap
 * profile (cprof record --heap) has something to show.  Two worker threads
 * serve two routes, each under a profile label (cprof_label_push): the
 * /search worker does twice the rounds of the /checkout one, so
 * `cprof top -tagfocus=route=/search` shows about two thirds of the CPU.
 * After each step the workers update shared statistics under one mutex
 * (update_stats), which a flusher thread holds for 3 ms of every 13 while
 * it "writes the statistics out": a contended lock for the mutex profile
 * (cprof record --mutex), whatever else the machine is doing, small next
 * to the CPU work.
 *
 * usage: demo [SECONDS_OF_CPU_OF_THE_SEARCH_WORKER]   (default 1)
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cprof.h"

typedef struct record {
    char text[96];
    uint64_t hash;
} record;

static __attribute__((noinline)) double thread_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Spin on a deterministic mix until `seconds` of this thread's CPU time
 * have gone by; keeps each stage's share fixed whatever the machine.  A
 * macro, not a function, so each stage's time is its own flat time. */
#define CHURN(x, seconds)                                                   \
    do {                                                                    \
        double end_ = thread_seconds() + (seconds);                         \
        do {                                                                \
            for (int i_ = 0; i_ < 5000; i_++) {                             \
                (x) ^= (x) << 13;                                           \
                (x) ^= (x) >> 7;                                            \
                (x) ^= (x) << 17;                                           \
            }                                                               \
        } while (thread_seconds() < end_);                                  \
    } while (0)

static __attribute__((noinline)) record *parse_records(int n, double seconds, uint64_t seed)
{
    record *r = malloc((size_t)n * sizeof *r);
    if (!r)
        return NULL;
    for (int i = 0; i < n; i++)
        snprintf(r[i].text, sizeof r[i].text, "host-%d GET /item/%llu 200", i % 7,
                 (unsigned long long)(seed + (uint64_t)i));
    uint64_t x = seed | 1;
    CHURN(x, seconds);
    r[0].hash = x;
    return r;
}

static __attribute__((noinline)) uint64_t hash_records(record *r, int n, double seconds)
{
    uint64_t h = 1469598103934665603ull;
    for (int i = 0; i < n; i++)
        for (const char *p = r[i].text; *p; p++)
            h = (h ^ (unsigned char)*p) * 1099511628211ull;
    CHURN(h, seconds);
    __asm__ volatile("" : "+r"(h)); /* keep this frame: no tail call */
    return h;
}

static __attribute__((noinline)) size_t render_report(const record *r, int n, uint64_t h,
                                                      double seconds)
{
    size_t cap = 1 << 16;
    char *out = malloc(cap);
    if (!out)
        return 0;
    size_t len = 0;
    for (int i = 0; i < n && len + 128 < cap; i++)
        len += (size_t)snprintf(out + len, cap - len, "%s -> %016llx\n", r[i].text,
                                (unsigned long long)(h + r[i].hash));
    h |= 1;
    CHURN(h, seconds);
    free(out);
    return len + (h & 1);
}

static pthread_mutex_t stats_mu = PTHREAD_MUTEX_INITIALIZER;
static uint64_t stats[64];

static volatile int done;

/* Shared statistics, updated under one lock (~0.1 ms of work each). */
static __attribute__((noinline)) void update_stats(uint64_t h)
{
    pthread_mutex_lock(&stats_mu);
    uint64_t x = h | 1;
    CHURN(x, 0.0001);
    stats[x % 64]++;
    pthread_mutex_unlock(&stats_mu);
}

/* Holds the statistics lock while it "writes them out" (a sleep standing
 * for slow I/O): the workers that want the lock meanwhile wait. */
static __attribute__((noinline)) void *flush_stats(void *arg)
{
    struct timespec hold = {0, 3000000}, gap = {0, 10000000};
    while (!done) {
        pthread_mutex_lock(&stats_mu);
        nanosleep(&hold, NULL);
        pthread_mutex_unlock(&stats_mu);
        nanosleep(&gap, NULL);
    }
    return arg;
}

typedef struct route {
    const char *path;
    double budget; /* seconds of CPU */
} route;

static void *worker(void *arg)
{
    const route *rt = arg;
    /* every sample taken on this thread from here on carries route=PATH */
    cprof_label_push("route", rt->path);
    double budget = rt->budget, used = 0, t0 = thread_seconds();
    size_t total = 0;
    for (uint64_t round = 1; used < budget; round++) {
        const double slice = 0.05; /* 50 ms of CPU per round */
        record *r = parse_records(500, 0.20 * slice, round);
        if (!r)
            break;
        update_stats(round);
        uint64_t h = hash_records(r, 500, 0.50 * slice);
        update_stats(h);
        total += render_report(r, 500, h, 0.30 * slice);
        update_stats(h + total);
        free(r);
        used = thread_seconds() - t0;
    }
    cprof_label_pop();
    return (void *)total;
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 1.0;
    if (seconds <= 0)
        seconds = 1.0;
    route routes[2] = {{"/search", seconds}, {"/checkout", seconds / 2}};
    pthread_t t[2], flusher;
    pthread_create(&flusher, NULL, flush_stats, NULL);
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, worker, &routes[i]);
    size_t bytes = 0;
    for (int i = 0; i < 2; i++) {
        void *v;
        pthread_join(t[i], &v);
        bytes += (size_t)v;
    }
    done = 1;
    pthread_join(flusher, NULL);
    printf("demo: rendered %zu bytes of report for 2 routes\n", bytes);
    return 0;
}
