/* rnd.h — the comparison generators' random numbers: xorshift64, so a
 * seed gives the same profile on every machine.  Each generator sets
 * `state` from its seed (never 0) and draws rnd(n) in [0, n). */
#ifndef CP_TEST_RND_H
#define CP_TEST_RND_H

#include <stdint.h>

static uint64_t state;

static uint32_t rnd(uint32_t n)
{
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return (uint32_t)(state % n);
}

#endif
