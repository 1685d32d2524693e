/* dlplug.c — a library dlmain dlopens, allocates and burns CPU in, and
 * dlcloses before any profile is written (the CPU burner, dl_burn, is
 * tests/integration/cpu/dlwork.c, linked in). */
#include <stdlib.h>

void *dlplug_alloc_here(size_t bytes);

/* One allocation per call, its stack ending in this function. */
__attribute__((visibility("default"), noinline)) void *dlplug_alloc_here(size_t bytes)
{
    void *p = malloc(bytes);
    __asm__ volatile("" ::"r"(p) : "memory"); /* keep the call a call */
    return p;
}
