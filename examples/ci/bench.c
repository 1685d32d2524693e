/* bench.c — the benchmark the CI example gates on.
 *
 * A fixed amount of work (not a fixed time), split over three functions:
 *   checksum  ~50%   parse_fields  ~30%   render_line  ~20%
 * on two threads.  `bench --slow` makes checksum do 15% more work, the kind
 * of regression the gate must catch; nothing else changes (`--slow=PCT`
 * for another amount).
 *
 * usage: bench [--slow[=PCT]] [WORK]   (WORK: units per thread, default 40)
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long slow; /* percent more work in checksum */
static long work = 40;

#define ROUNDS 200000 /* inner rounds of one unit of a stage */

/* Each stage spins in its own loop: its time is its own flat time. */
#define SPIN(x, rounds)                                                     \
    do {                                                                    \
        for (long i_ = 0; i_ < (rounds); i_++) {                            \
            (x) ^= (x) << 13;                                               \
            (x) ^= (x) >> 7;                                                \
            (x) ^= (x) << 17;                                               \
            __asm__ volatile("" : "+r"(x));                                 \
        }                                                                   \
    } while (0)

static __attribute__((noinline)) uint64_t parse_fields(uint64_t x)
{
    SPIN(x, 3 * ROUNDS);
    return x;
}

static __attribute__((noinline)) uint64_t checksum(uint64_t x)
{
    /* --slow: 15% more work in this function only */
    SPIN(x, 5L * ROUNDS * (100 + slow) / 100);
    return x;
}

static __attribute__((noinline)) uint64_t render_line(uint64_t x)
{
    SPIN(x, 2 * ROUNDS);
    return x;
}

static void *worker(void *arg)
{
    uint64_t x = (uintptr_t)arg | 1;
    for (long u = 0; u < work * 10; u++) {
        x = parse_fields(x);
        x = checksum(x);
        x = render_line(x);
    }
    return (void *)(uintptr_t)x;
}

int main(int argc, char **argv)
{
    int i = 1;
    if (i < argc && !strncmp(argv[i], "--slow", 6)) {
        char *end = argv[i] + 6;
        slow = 15;
        if (*end == '=')
            slow = strtol(end + 1, &end, 10);
        if (*end || slow < 0 || slow > 1000) {
            fprintf(stderr, "usage: bench [--slow[=PCT]] [WORK]\n");
            return 2;
        }
        i++;
    }
    if (i < argc) {
        char *end;
        work = strtol(argv[i], &end, 10);
        if (*end || work <= 0) {
            fprintf(stderr, "usage: bench [--slow[=PCT]] [WORK]\n");
            return 2;
        }
    }
    pthread_t t[2];
    for (int k = 0; k < 2; k++)
        if (pthread_create(&t[k], NULL, worker, (void *)(uintptr_t)(k + 7))) {
            perror("pthread_create");
            return 1;
        }
    uint64_t sum = 0;
    for (int k = 0; k < 2; k++) {
        void *r;
        pthread_join(t[k], &r);
        sum ^= (uintptr_t)r;
    }
    printf("bench: work %ld, checksum +%ld%%, done (%016llx)\n", work, slow,
           (unsigned long long)sum);
    return 0;
}
