/* dlplug.c — a library dlmain dlopens, allocates and burns CPU in, and
 * dlcloses before any profile is written (the CPU burner, dl_burn, is
 * tests/integration/cpu/dlwork.c, linked in). */
#include <semaphore.h>
#include <stdlib.h>
#include <time.h>

void *dlplug_alloc_here(size_t bytes);
void dlplug_wait_here(int k);

/* One allocation per call, its stack ending in this function. */
__attribute__((visibility("default"), noinline)) void *dlplug_alloc_here(size_t bytes)
{
    void *p = malloc(bytes);
    __asm__ volatile("" ::"r"(p) : "memory"); /* keep the call a call */
    return p;
}

/* k blocking waits of about 1 ms each (a semaphore nobody posts). */
__attribute__((visibility("default"), noinline)) void dlplug_wait_here(int k)
{
    sem_t s;
    sem_init(&s, 0, 0);
    for (int i = 0; i < k; i++) {
        struct timespec t;
        clock_gettime(CLOCK_REALTIME, &t);
        t.tv_nsec += 1000000;
        if (t.tv_nsec >= 1000000000) {
            t.tv_sec++;
            t.tv_nsec -= 1000000000;
        }
        sem_timedwait(&s, &t);
    }
    sem_destroy(&s);
}
