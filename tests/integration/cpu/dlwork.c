/* dlwork.c — a library harmless.c dlopens, runs and dlcloses. */
#include <stdint.h>
#include <time.h>

static volatile uint64_t sink;

void dl_burn(int ms);

__attribute__((visibility("default"), noinline)) void dl_burn(int ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    int64_t end = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + ms, now;
    uint64_t x = 1;
    do {
        for (int i = 0; i < 200000; i++)
            x = x * 6364136223846793005ull + 1;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
        now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    } while (now < end);
    sink = x;
}
