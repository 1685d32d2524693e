/* cpu_sample.c — the cost of one CPU sample: signal delivery, handler and
 * a 30-frame unwind, measured against delivery with an empty handler.
 *
 * The profiler's own handler only acts on timer signals, so this runs the
 * same steps in a SIGUSR1 handler: read the thread CPU clock,
 * cp_unwind_signal() onto the handler's stack, add it to a stack table.
 * Signals are sent with tgkill at the bottom of a 30-deep recursion.
 * Prints ns per signal for both, and the difference (the sample's cost).
 * For the choice of unwinder (docs/cpu.md) the same handler is also timed
 * with libunwind (unw_init_local2 + UNW_INIT_SIGNAL_FRAME, when built with
 * it) and with a bare frame-pointer walk (which only works here because
 * this program keeps frame pointers).
 */
#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "collect/stacktab.h"
#include "collect/unwind.h"
#ifdef CPROF_BENCH_LIBUNWIND
#define UNW_LOCAL_ONLY
#include <libunwind.h>
#endif
#include <ucontext.h>

static cp_stacktab tab;
static volatile int last_n;

static void empty_handler(int sig, siginfo_t *si, void *uc)
{
    (void)sig, (void)si, (void)uc;
}

static void sample_handler(int sig, siginfo_t *si, void *uc)
{
    (void)sig, (void)si;
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    uint64_t pcs[CP_DEFAULT_FRAMES];
    int n = cp_unwind_signal(uc, pcs, CP_DEFAULT_FRAMES);
    last_n = n;
    cp_stacktab_add(&tab, pcs, (uint32_t)n, ts.tv_nsec);
}

#ifdef CPROF_BENCH_LIBUNWIND
/* libunwind is dlopen'ed RTLD_LOCAL, not linked: linked, its own
 * _Unwind_Backtrace would replace libgcc's for the whole program and the
 * "libgcc" figure would measure libunwind twice. */
static int (*uw_init)(unw_cursor_t *, unw_context_t *, int);
static int (*uw_step)(unw_cursor_t *);
static int (*uw_get_reg)(unw_cursor_t *, unw_regnum_t, unw_word_t *);

static int load_libunwind(void)
{
    void *h = dlopen("libunwind.so.8", RTLD_NOW | RTLD_LOCAL);
    if (!h)
        return 0;
    uw_init = (int (*)(unw_cursor_t *, unw_context_t *, int))dlsym(h, "_ULx86_64_init_local2");
    uw_step = (int (*)(unw_cursor_t *))dlsym(h, "_ULx86_64_step");
    uw_get_reg = (int (*)(unw_cursor_t *, unw_regnum_t, unw_word_t *))dlsym(h, "_ULx86_64_get_reg");
    return uw_init && uw_step && uw_get_reg;
}

static void libunwind_handler(int sig, siginfo_t *si, void *uc)
{
    (void)sig, (void)si;
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    uint64_t pcs[CP_DEFAULT_FRAMES];
    unw_cursor_t c;
    int n = 0;
    if (uw_init(&c, (unw_context_t *)uc, UNW_INIT_SIGNAL_FRAME) == 0) {
        do {
            unw_word_t ip;
            if (uw_get_reg(&c, UNW_REG_IP, &ip) < 0)
                break;
            pcs[n++] = ip;
        } while (n < CP_DEFAULT_FRAMES && uw_step(&c) > 0);
    }
    last_n = n;
    cp_stacktab_add(&tab, pcs, (uint32_t)n, ts.tv_nsec);
}
#endif

/* Frame pointers only: no CFI, no validation (unsafe in general). */
static void fp_handler(int sig, siginfo_t *si, void *uc)
{
    (void)sig, (void)si;
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    uint64_t pcs[CP_DEFAULT_FRAMES];
    const ucontext_t *u = uc;
    uint64_t *fp = (uint64_t *)u->uc_mcontext.gregs[REG_RBP];
    int n = 0;
    pcs[n++] = (uint64_t)u->uc_mcontext.gregs[REG_RIP];
    while (fp && n < CP_DEFAULT_FRAMES && fp[1]) {
        pcs[n++] = fp[1] - 1;
        uint64_t *next = (uint64_t *)fp[0];
        if (next <= fp)
            break;
        fp = next;
    }
    last_n = n;
    cp_stacktab_add(&tab, pcs, (uint32_t)n, ts.tv_nsec);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double run(int iters)
{
    pid_t pid = getpid(), tid = gettid();
    double t0 = now();
    for (int i = 0; i < iters; i++) {
        syscall(SYS_tgkill, pid, tid, SIGUSR1);
    }
    return (now() - t0) / iters * 1e9;
}

typedef void (*handler_fn)(int, siginfo_t *, void *);

/* ns per signal with handler h, taken 30 frames down. */
static __attribute__((noinline)) double deep(int depth, int iters, handler_fn h)
{
    if (depth > 0) {
        double r = deep(depth - 1, iters, h);
        __asm__ volatile("" ::: "memory");
        return r;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sa.sa_sigaction = h;
    sigaction(SIGUSR1, &sa, NULL);
    run(iters / 10);
    return run(iters);
}

/* Best of 3 (the least disturbed run); sets *frames. */
static double measure(int iters, handler_fn h, int *frames)
{
    double best = 1e12;
    for (int rep = 0; rep < 3; rep++) {
        double v = deep(28, iters, h); /* + main + libc start = 30+ frames */
        if (v < best)
            best = v;
    }
    *frames = last_n;
    return best;
}

int main(int argc, char **argv)
{
    int iters = argc > 1 ? atoi(argv[1]) : 20000, n = 0;
    cp_unwind_init();
    if (cp_stacktab_init(&tab, 1024, 1 << 16) != 0)
        return 1;
    double e = measure(iters, empty_handler, &n);
    double g = measure(iters, sample_handler, &n);
    printf("signal, empty handler:                 %7.0f ns\n", e);
    printf("signal, cprof handler (libgcc, %d fr): %7.0f ns\n", n, g);
    printf("cost of one sample (difference):       %7.0f ns  (%.1fx the bare signal)\n", g - e,
           g / e);
    printf("at 250 samples/s per busy thread:      %.3f%% of its CPU\n", g * 250 / 1e9 * 100);
#ifdef CPROF_BENCH_LIBUNWIND
    if (load_libunwind()) {
        measure(iters / 10, libunwind_handler, &n); /* its caches warm */
        double u = measure(iters, libunwind_handler, &n);
        printf("same with libunwind (%d frames):       %7.0f ns  (unwind %.2fx libgcc's)\n", n,
               u, (u - e) / (g - e));
    }
#endif
    double f = measure(iters, fp_handler, &n);
    printf("same with frame pointers (%d frames):  %7.0f ns  (unwind %.2fx libgcc's)\n", n, f,
           (f - e) / (g - e));
    return 0;
}
