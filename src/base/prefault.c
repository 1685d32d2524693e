/* prefault.c — see prefault.h. */
#include "prefault.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

bool cp_prefault;

bool cp_prefault_range(void *p, size_t n)
{
    if (!cp_prefault || !p || n < CP_PREFAULT_MIN)
        return false;
    uintptr_t lo = ((uintptr_t)p + 4095) & ~(uintptr_t)4095;
    uintptr_t hi = ((uintptr_t)p + n) & ~(uintptr_t)4095;
    return madvise((void *)lo, hi - lo, MADV_POPULATE_WRITE) == 0;
}

int cp_prefault_map_flag(void)
{
    return cp_prefault ? MAP_POPULATE : 0;
}

void *cp_prefault_malloc(size_t n)
{
    void *p = malloc(n);
    cp_prefault_range(p, n);
    return p;
}

void *cp_prefault_calloc(size_t k, size_t n)
{
    void *p = calloc(k, n);
    if (p)
        cp_prefault_range(p, k * n); /* calloc checked k * n */
    return p;
}
