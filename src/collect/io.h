/* io.h — the disk I/O profile's core: sampling state, the interposers'
 * fast path, the profile.
 *
 * Contract:
 *  - Two independent samplers per thread, both unbiased, both exact at
 *    rate 1 (CPROF_IO_RATE=1: every call recorded with its exact bytes,
 *    nanoseconds and a count of 1):
 *    bytes: a countdown over the bytes calls transfer (their return
 *      values), kept as left = C - 1 like the heap's: a call moving n > 0
 *      bytes is sampled when n > left, with probability 1 - exp(-n/rate),
 *      and weighted by its inverse (the heap's formula);
 *    time and calls: a countdown over calls picks the calls that are timed
 *      (no clock read on the others).  The probability q that a call is
 *      timed is fixed before the call from the thread's history (1 inside a
 *      window after a slow call, 1/CP_IO_CALL_MEAN otherwise), so weights
 *      1/q are unbiased.  A timed call of d ns is recorded with overall
 *      probability P = min(q, d/time_rate) (the block profile's d/NS rule,
 *      capped by q) and counts 1/P calls and d/P nanoseconds.
 *  - The fast path (cp_io_begin, cp_io_end) is a global load, a TLS
 *    decrement and a compare: no clock, no fstat, no unwinding, errno
 *    untouched.
 *  - Calls made while the thread is marked busy (cp_heap_busy_enter: the
 *    profiler's own writers) or from inside the slow path are never
 *    recorded; their bytes still run the countdown (the points that fall in
 *    them are dropped and redrawn, which leaves the program's calls sampled
 *    at the same rate).
 *  - Samples carry the thread's labels and `kind` (file, socket, pipe, tty,
 *    other) from one fstat of the call's fd, taken on the slow path only.
 *
 * Safety: cp_io_begin/cp_io_end/cp_io_slow are [hook-safe]: no malloc, no
 * lock, initial-exec TLS, errno preserved; they may run inside the
 * profiler's own writer and on any thread.
 */
#ifndef CP_COLLECT_IO_H
#define CP_COLLECT_IO_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "profile/profile.h"

/* Defaults: mean bytes between byte samples (CPROF_IO_RATE), the block
 * rule's NS (CPROF_IO_TIME_RATE; 1 when CPROF_IO_RATE=1), the mean calls
 * between timed calls outside a slow window, and the slow window: a timed
 * call of d ns makes the next min(d / CP_IO_SLOW_NS, CP_IO_WINDOW_MAX)
 * calls timed for sure (their clock reads cost ~1% of that d). */
#define CP_IO_RATE_DEFAULT ((int64_t)1024 * 1024)
#define CP_IO_TIME_RATE_DEFAULT ((int64_t)1000000)
#define CP_IO_CALL_MEAN 64
#define CP_IO_SLOW_NS ((int64_t)20000)
#define CP_IO_WINDOW_MAX 1024

/* The `kind` label's values (events tags; 0 = none). */
enum { CP_IO_KIND_NONE, CP_IO_FILE, CP_IO_SOCKET, CP_IO_PIPE, CP_IO_TTY, CP_IO_OTHER,
       CP_IO_NKINDS };

typedef struct cp_io_tls {
    int64_t bytes_left; /* bytes until the next byte sample, minus 1 */
    int64_t calls_left; /* calls before the next timed one; < 0: time this one */
    int64_t window;     /* calls still to time for sure after a slow call */
    uint64_t rng;       /* xorshift state; 0 = thread not seeded yet */
    int64_t mean;       /* 1/q of the call being decided (0 = 1) */
    int in;             /* inside the slow path */
} cp_io_tls;

extern __thread cp_io_tls cp_io_tls_state __attribute__((tls_model("initial-exec")));
extern int cp_io_on;

enum { CP_IO_OFF = 0, CP_IO_COUNT = 1, CP_IO_TIMED = 2 };

/* Monotonic nanoseconds (the timed calls' clock).  [hook-safe] */
uint64_t cp_io_clock(void);

/* Before the call: CP_IO_OFF (not profiling), CP_IO_COUNT, or CP_IO_TIMED
 * with *t0 set.  [hook-safe] */
static inline int cp_io_begin(uint64_t *t0)
{
    if (!__atomic_load_n(&cp_io_on, __ATOMIC_RELAXED))
        return CP_IO_OFF;
    if (--cp_io_tls_state.calls_left >= 0)
        return CP_IO_COUNT;
    *t0 = cp_io_clock();
    return CP_IO_TIMED;
}

/* The slow path: the call was timed, or its bytes reached the countdown.
 * fd is the descriptor whose kind labels the sample.  [hook-safe] */
void cp_io_slow(int how, int fd, ssize_t ret, uint64_t t0);

/* After the call, with what it returned (bytes, or -1/0).  A macro, not
 * an inline function, so that the slow path's caller is the interposer
 * itself: DWARF symbolization would otherwise show an inlined cp_io_end
 * frame as every sample's leaf.  [hook-safe] */
#define cp_io_end(how, fd, ret, t0)                                                       \
    do {                                                                                  \
        int how_e_ = (how);                                                               \
        ssize_t ret_e_ = (ret);                                                           \
        if (how_e_ == CP_IO_OFF)                                                          \
            break;                                                                        \
        if (how_e_ == CP_IO_TIMED ||                                                      \
            (ret_e_ > 0 && (uint64_t)ret_e_ > (uint64_t)cp_io_tls_state.bytes_left))      \
            cp_io_slow(how_e_, (fd), ret_e_, (t0));                                       \
        else if (ret_e_ > 0)                                                              \
            cp_io_tls_state.bytes_left -= ret_e_;                                         \
    } while (0)

/* Start sampling: rate = mean bytes between samples (>= 1), time_rate =
 * the block rule's NS (>= 1; 1 with rate 1 = exact), seed 0 = random.
 * Reserves the tables.  0, CPROF_EINVAL or CPROF_ENOMEM.  Outside hooks. */
int cp_io_start(int64_t rate, int64_t time_rate, uint64_t seed);
void cp_io_stop(void);

/* PINNED (HTTP, periodic writers): the cumulative I/O profile, symbolized,
 * sample types io_calls/count, io_bytes/bytes, io_time/nanoseconds; a
 * valid empty profile when not enabled.  0 or a negative code.
 * Marks the caller busy itself.  [thread-safe] */
int cp_io_profile(cp_profile **out);
/* PINNED: true while the I/O profile is being collected.  [thread-safe] */
bool cp_io_enabled(void);

/* Write the profile to path ("%p", "%c" expanded), atomically.  */
int cp_io_write_path(const char *path);

/* Calls recorded so far by this process (bytes or time): tells a forked
 * child whether it recorded anything since the fork.  [hook-safe] */
uint64_t cp_io_samples_taken(void);

/* In a forked child (one thread): reseed the sampler, fresh tables. */
void cp_io_atfork_child(void);

/* The kind of fd (fstat), one of CP_IO_*.  errno preserved.  [hook-safe] */
int cp_io_fd_kind(int fd);

/* Unbiased weight of a byte sample of n bytes at `rate` (n at rate <= 1).
 * [thread-safe] */
double cp_io_bytes_weight(int64_t n, int64_t rate);

#endif
