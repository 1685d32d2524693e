/* io.c — the disk I/O profile: the samplers' slow path and the profile.
 *
 * What: the interposers (src/preload/io.c) run cp_io_begin/cp_io_end
 * (io.h) around every read, write, pread, pwrite, readv, writev,
 * preadv(2), pwritev(2), fsync, fdatasync, sendfile and copy_file_range.
 * Here the slow path decides what a timed or byte-sampled call is worth,
 * takes the caller's stack once, labels it with the fd's kind and the
 * thread's labels, and adds it to the event tables (collect/events.h).
 *
 * Data structure: two event tables, because one events record holds a raw
 * count and two sums while a call here has three weighted values:
 *   bytes_tab: v0 = bytes (weighted), v1 = 0;
 *   time_tab:  v0 = calls (weighted), v1 = nanoseconds (weighted).
 * Each is built into a profile of the same three columns (the missing ones
 * read as 0) and the two are summed by one builder, which folds samples of
 * the same stack and labels.  Weights are real numbers; each is rounded up
 * or down at random in proportion to its fraction (unbiased, int64 sums).
 *
 * The stack keeps the interposer's own frame as its leaf (so `read`,
 * `pwrite64`, `fsync`... head every stack: the operation is visible
 * without a label) and cuts the profiler's frames above it.
 *
 * Rejected: timing every call (two clock reads cost 80-230 ns on the
 * machines tried, 10-30% of a small read(2) from the page cache; the
 * countdown over calls with a window after slow calls times the calls
 * that matter); deciding byte samples before the call on the requested
 * size (a read of a 64 KiB buffer that returns 10 bytes from a pipe would
 * be weighted as 64 KiB); a per-fd kind cache invalidated by interposing
 * close/dup2 (libc closes descriptors internally, past any interposer:
 * fclose, closedir, popen, so the cache would go stale silently; validating
 * it costs the same fstat the slow path makes, ~0.3-1 us, next to an
 * unwind of several us).
 */
#include "collect/io.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/rng.h"
#include "collect/events.h"
#include "collect/heap.h"
#include "collect/labels.h"
#include "collect/output.h"
#include "collect/unwind.h"
#include "cprof.h"
#include "profile/builder.h"

#define HOOK __attribute__((section("cprof_hooks"), noinline))

__thread cp_io_tls cp_io_tls_state __attribute__((tls_model("initial-exec")));
int cp_io_on;

extern const char __start_cprof_hooks[] __attribute__((visibility("hidden")));
extern const char __stop_cprof_hooks[] __attribute__((visibility("hidden")));

static cp_events bytes_tab, time_tab;
static int64_t rate_bytes = CP_IO_RATE_DEFAULT;
static int64_t time_rate = CP_IO_TIME_RATE_DEFAULT;
static int64_t call_mean = CP_IO_CALL_MEAN;
static double inv_log_miss; /* 1 / ln(1 - 1/call_mean), set at start */
static uint64_t seed_base;
static uint64_t thread_seq;
static uint64_t samples_taken;
static int started;

/* ---- random numbers ---- */

/* Uniform in (0, 1] (base/rng.h, the samplers' one generator). */
static double uniform(cp_io_tls *t)
{
    return cp_rng_unit(&t->rng);
}

/* x rounded down or up at random, up with probability frac(x). */
static int64_t round_random(cp_io_tls *t, double x)
{
    if (x >= 9.0e18)
        return INT64_MAX / 4;
    double f = floor(x);
    return (int64_t)f + (uniform(t) <= x - f && x > f ? 1 : 0);
}

/* The next byte countdown: an exponential X of mean rate, as max(X,1)-1. */
static int64_t draw_bytes(cp_io_tls *t)
{
    if (rate_bytes <= 1)
        return 0;
    int64_t c = (int64_t)cp_rng_exp(&t->rng, (double)rate_bytes);
    return c > 0 ? c - 1 : 0;
}

/* Calls to skip before the next timed one: geometric (each call timed
 * independently with probability 1/mean), minus one. */
static int64_t draw_calls(cp_io_tls *t, int64_t mean)
{
    if (mean <= 1)
        return 0;
    double g = floor(cp_rng_ln01(uniform(t)) * inv_log_miss);
    if (g > 1e15)
        g = 1e15;
    return (int64_t)g;
}

static void seed_thread(cp_io_tls *t)
{
    uint64_t seq = __atomic_fetch_add(&thread_seq, 1, __ATOMIC_RELAXED);
    t->rng = cp_rng_seed(seed_base + seq * 0x9e3779b97f4a7c15ULL);
    t->bytes_left = draw_bytes(t);
    t->window = 0;
    t->mean = 1; /* this first call was timed for sure */
}

double cp_io_bytes_weight(int64_t n, int64_t rate)
{
    if (rate <= 1 || n <= 0)
        return (double)(n > 0 ? n : 0);
    return (double)n / -expm1(-(double)n / (double)rate);
}

HOOK uint64_t cp_io_clock(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int cp_io_fd_kind(int fd)
{
    int saved_errno = errno;
    struct stat st;
    int k = CP_IO_OTHER;
    if (fd >= 0 && fstat(fd, &st) == 0) {
        if (S_ISREG(st.st_mode))
            k = CP_IO_FILE;
        else if (S_ISSOCK(st.st_mode))
            k = CP_IO_SOCKET;
        else if (S_ISFIFO(st.st_mode))
            k = CP_IO_PIPE;
        else if (S_ISCHR(st.st_mode)) {
            unsigned ma = major(st.st_rdev);
            /* ttys (4), /dev/tty and the console (5), pseudo-terminals
             * (136-143) */
            if (ma == 4 || ma == 5 || (ma >= 136 && ma <= 143))
                k = CP_IO_TTY;
        }
    }
    errno = saved_errno;
    return k;
}

/* The caller's stack with the interposer's frame as its leaf: frames up
 * to the outermost one in the hook section, less that one, are cut. */
static int user_stack(uint64_t *pcs, int max)
{
    int n = cp_unwind_here(pcs, max, 0);
    int last = -1;
    for (int i = 0; i < n; i++)
        if (pcs[i] >= (uint64_t)(uintptr_t)__start_cprof_hooks &&
            pcs[i] < (uint64_t)(uintptr_t)__stop_cprof_hooks)
            last = i;
    if (last > 0) {
        memmove(pcs, pcs + last, (size_t)(n - last) * sizeof *pcs);
        n -= last;
    }
    return n;
}

/* After a timed call of d ns: how the next call is chosen. */
static void plan_next(cp_io_tls *t, int64_t d)
{
    if (call_mean <= 1) {
        t->calls_left = 0;
        t->mean = 1;
        return;
    }
    if (d >= CP_IO_SLOW_NS) {
        int64_t w = d / CP_IO_SLOW_NS;
        if (w > CP_IO_WINDOW_MAX)
            w = CP_IO_WINDOW_MAX;
        if (w > t->window)
            t->window = w;
    }
    if (t->window > 0) {
        t->window--;
        t->calls_left = 0;
        t->mean = 1;
    } else {
        t->calls_left = draw_calls(t, call_mean);
        t->mean = call_mean;
    }
}

HOOK void cp_io_slow(int how, int fd, ssize_t ret, uint64_t t0)
{
    uint64_t t1 = how == CP_IO_TIMED ? cp_io_clock() : 0;
    int saved_errno = errno;
    cp_io_tls *t = &cp_io_tls_state;
    if (!t->rng)
        seed_thread(t);
    bool busy = cp_heap_tls_state.busy || t->in;
    int64_t calls_w = 0, ns_w = 0, bytes_w = 0;
    bool trec = false, brec = false;
    if (how == CP_IO_TIMED) {
        int64_t d = t1 > t0 ? (int64_t)(t1 - t0) : 0;
        int64_t mean = t->mean > 1 ? t->mean : 1;
        plan_next(t, d);
        if (busy) {
            /* the profiler's own call */
        } else if (time_rate <= 1 && mean == 1) {
            trec = true;
            calls_w = 1;
            ns_w = d;
        } else {
            /* P = min(1/mean, d/T); timed with 1/mean, kept with P*mean. */
            double dd = d > 0 ? (double)d : 1.0;
            double p = 1.0 / (double)mean, pd = dd / (double)time_rate;
            if (pd < p)
                p = pd;
            double keep = p * (double)mean;
            if (keep >= 1.0 || uniform(t) <= keep) {
                trec = true;
                calls_w = round_random(t, 1.0 / p);
                ns_w = round_random(t, (double)d / p);
            }
        }
    }
    if (ret > 0) {
        if ((uint64_t)ret > (uint64_t)t->bytes_left) {
            /* The countdown ran out inside this call: sample it, and draw
             * the next interval from its end (memoryless). */
            t->bytes_left = draw_bytes(t);
            if (!busy) {
                brec = true;
                bytes_w = rate_bytes <= 1 ? (int64_t)ret
                                          : round_random(t, cp_io_bytes_weight(ret, rate_bytes));
            }
        } else {
            t->bytes_left -= ret;
        }
    }
    if ((trec || brec) && __atomic_load_n(&cp_io_on, __ATOMIC_RELAXED)) {
        t->in = 1;
        int prev = cp_heap_busy_enter();
        int max = cp_unwind_depth();
        uint64_t pcs[max];
        int n = user_stack(pcs, max);
        int kind = cp_io_fd_kind(fd);
        const cp_labelset *lab = cp_labels_current();
        if (brec)
            cp_events_add(&bytes_tab, pcs, (uint32_t)n, lab, (uint32_t)kind, bytes_w, 0);
        if (trec)
            cp_events_add(&time_tab, pcs, (uint32_t)n, lab, (uint32_t)kind, calls_w, ns_w);
        __atomic_fetch_add(&samples_taken, 1, __ATOMIC_RELAXED);
        cp_heap_busy_leave(prev);
        t->in = 0;
    }
    errno = saved_errno;
}

/* ---- start, stop, fork ---- */

int cp_io_start(int64_t rate, int64_t trate, uint64_t seed)
{
    if (rate < 1 || trate < 1)
        return CPROF_EINVAL;
    if (__atomic_load_n(&cp_io_on, __ATOMIC_RELAXED))
        return CPROF_EBUSY;
    if (!started) {
        int rc = cp_events_init(&bytes_tab, 0, 0);
        if (rc == 0)
            rc = cp_events_init(&time_tab, 0, 0);
        if (rc)
            return rc;
        cp_unwind_init();
        started = 1;
    }
    rate_bytes = rate;
    time_rate = trate;
    call_mean = trate <= 1 ? 1 : CP_IO_CALL_MEAN;
    inv_log_miss = call_mean > 1 ? 1.0 / log1p(-1.0 / (double)call_mean) : 0;
    if (!seed && getrandom(&seed, sizeof seed, GRND_NONBLOCK) != (ssize_t)sizeof seed)
        seed = (uint64_t)cp_io_clock() ^ ((uint64_t)getpid() << 32);
    seed_base = seed;
    /* This thread may have counted down before: start it afresh. */
    cp_io_tls_state = (cp_io_tls){0};
    __atomic_store_n(&cp_io_on, 1, __ATOMIC_RELEASE);
    return 0;
}

void cp_io_stop(void)
{
    __atomic_store_n(&cp_io_on, 0, __ATOMIC_RELEASE);
}

bool cp_io_enabled(void)
{
    return __atomic_load_n(&cp_io_on, __ATOMIC_RELAXED) != 0;
}

uint64_t cp_io_samples_taken(void)
{
    return __atomic_load_n(&samples_taken, __ATOMIC_RELAXED);
}

void cp_io_atfork_child(void)
{
    /* The forking thread's sampler state would repeat its parent's draws. */
    cp_io_tls_state = (cp_io_tls){0};
    seed_base = cp_rng_mix(seed_base ^ ((uint64_t)getpid() << 20));
    if (started) {
        cp_events_atfork_child(&bytes_tab);
        cp_events_atfork_child(&time_tab);
    }
}

/* ---- the profile ---- */

static const char *const kind_names[CP_IO_NKINDS] = {
    NULL, "file", "socket", "pipe", "tty", "other",
};

/* A column that reads 0 whatever the record holds: the count (< 2^62)
 * times 1 / INT64_MAX, rounded. */
#define ZERO_COL(t, u) {t, u, CP_EV_COUNT, 1, INT64_MAX}

static const cp_events_col bytes_cols[3] = {
    ZERO_COL("io_calls", "count"),
    {"io_bytes", "bytes", CP_EV_V0, 1, 1},
    ZERO_COL("io_time", "nanoseconds"),
};
static const cp_events_col time_cols[3] = {
    {"io_calls", "count", CP_EV_V0, 1, 1},
    ZERO_COL("io_bytes", "bytes"),
    {"io_time", "nanoseconds", CP_EV_V1, 1, 1},
};

static int build(cp_profile **out)
{
    cp_profile *pb = NULL, *pt = NULL;
    cp_pbuilder *b = NULL;
    cp_events_spec s = {
        .cols = bytes_cols,
        .ncols = 3,
        .tag_key = "kind",
        .tag_names = kind_names,
        .ntags = CP_IO_NKINDS,
    };
    bool on = started;
    int rc = cp_events_build(on ? &bytes_tab : NULL, &s, &pb);
    if (rc)
        goto out;
    s.cols = time_cols;
    if ((rc = cp_events_build(on ? &time_tab : NULL, &s, &pt)) != 0)
        goto out;
    rc = CPROF_ENOMEM;
    if (!(b = cp_pbuilder_new(true)))
        goto out;
    char comment[160];
    snprintf(comment, sizeof comment,
             "cprof I/O profile: CPROF_IO_RATE=%lld bytes, CPROF_IO_TIME_RATE=%lld ns",
             (long long)rate_bytes, (long long)time_rate);
    if (cp_pbuilder_sample_type(b, "io_calls", "count") ||
        cp_pbuilder_sample_type(b, "io_bytes", "bytes") ||
        cp_pbuilder_sample_type(b, "io_time", "nanoseconds") ||
        cp_pbuilder_period(b, "io_bytes", "bytes", rate_bytes) ||
        cp_pbuilder_default_sample_type(b, "io_bytes") || cp_pbuilder_comment(b, comment))
        goto out;
    cp_diag diag = {0};
    if ((rc = cp_pbuilder_add_profile(b, pb, 1.0, &diag)) != 0 ||
        (rc = cp_pbuilder_add_profile(b, pt, 1.0, &diag)) != 0)
        goto out;
    rc = CPROF_ENOMEM;
    cp_profile *p = cp_pbuilder_finish(b);
    if (!p)
        goto out;
    *out = p;
    rc = 0;
out:
    cp_pbuilder_free(b);
    cp_profile_free(pb);
    cp_profile_free(pt);
    return rc;
}

int cp_io_profile(cp_profile **out)
{
    int busy = cp_heap_busy_enter();
    int rc = build(out);
    cp_heap_busy_leave(busy);
    return rc;
}

int cp_io_write_path(const char *path)
{
    if (!path || !*path)
        return CPROF_EINVAL;
    int busy = cp_heap_busy_enter();
    cp_profile *p = NULL;
    int rc = build(&p);
    if (rc == 0)
        rc = cp_output_write(p, path, -1);
    cp_profile_free(p);
    cp_heap_busy_leave(busy);
    return rc;
}
