/* dlplug.c — a library dlmain dlopens, allocates and burns CPU in, and
 * dlcloses before any profile is written. */
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

void *dlplug_alloc_here(size_t bytes);
void dlplug_burn_here(int ms);

static volatile uint64_t sink;

/* One allocation per call, its stack ending in this function. */
__attribute__((visibility("default"), noinline)) void *dlplug_alloc_here(size_t bytes)
{
    void *p = malloc(bytes);
    __asm__ volatile("" ::"r"(p) : "memory"); /* keep the call a call */
    return p;
}

__attribute__((visibility("default"), noinline)) void dlplug_burn_here(int ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    int64_t end = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + ms, now;
    uint64_t x = 1;
    do {
        for (int i = 0; i < 100000; i++)
            x = x * 6364136223846793005ull + 1;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
        now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    } while (now < end);
    sink = x;
}
