/* prefault.c — see prefault.h. */
#include "prefault.h"

#include <stdint.h>
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
