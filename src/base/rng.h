/* rng.h — the one pseudo-random generator of every sampler (heap, lock,
 * I/O) and timer jitter.
 *
 * Contract: a 64-bit state per user (per thread, typically initial-exec
 * TLS); xorshift64* steps it, splitmix64 turns any seed into a good
 * nonzero state; cp_rng_exp draws exponential intervals with its own
 * logarithm, so nothing calls libm inside malloc or a signal handler.
 * Everything here is inline, allocation-free, lock-free:
 * [hook-safe] [async-signal-safe].  Not for anything secret.
 */
#ifndef CP_BASE_RNG_H
#define CP_BASE_RNG_H

#include <stdint.h>

/* A well-mixed value from x (splitmix64's output function). */
static inline uint64_t cp_rng_mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* A state from a seed: never 0 (xorshift's fixed point). */
static inline uint64_t cp_rng_seed(uint64_t seed)
{
    return cp_rng_mix(seed) | 1;
}

/* The next 64 random bits (xorshift64*).  *state must be nonzero. */
static inline uint64_t cp_rng_next(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545f4914f6cdd1dULL;
}

/* Uniform in (0, 1], 53 bits. */
static inline double cp_rng_unit(uint64_t *state)
{
    return (double)((cp_rng_next(state) >> 11) + 1) * (1.0 / 9007199254740992.0);
}

/* Natural logarithm of x in (0, 1], |error| < 1e-10: x = m * 2^e with m in
 * [sqrt(1/2), sqrt(2)), ln m = 2 atanh((m-1)/(m+1)) by its series. */
static inline double cp_rng_ln01(double x)
{
    union {
        double d;
        uint64_t u;
    } v = {.d = x};
    int e = (int)((v.u >> 52) & 0x7ff) - 1023;
    v.u = (v.u & 0x000fffffffffffffULL) | 0x3ff0000000000000ULL; /* m in [1,2) */
    double m = v.d;
    if (m > 1.4142135623730951) {
        m *= 0.5;
        e++;
    }
    double z = (m - 1) / (m + 1), z2 = z * z;
    double s = z * (1 + z2 * (1.0 / 3 + z2 * (1.0 / 5 + z2 * (1.0 / 7 + z2 * (1.0 / 9 +
               z2 * (1.0 / 11 + z2 * (1.0 / 13)))))));
    return 2 * s + e * 0.6931471805599453;
}

/* An exponentially distributed value of the given mean (capped at 9e18). */
static inline double cp_rng_exp(uint64_t *state, double mean)
{
    double x = -cp_rng_ln01(cp_rng_unit(state)) * mean;
    return x > 9.0e18 ? 9.0e18 : x;
}

#endif
