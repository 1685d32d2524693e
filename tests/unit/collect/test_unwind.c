/* test_unwind.c — the unwinder walks through libc, through signal frames,
 * and survives a corrupt frame chain. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include "collect/unwind.h"

static uint64_t pcs[CP_MAX_FRAMES];
static volatile int npcs;

/* Is pc inside fn (assuming fn is shorter than `len` bytes)? */
static int in_fn(uint64_t pc, void *fn, uint64_t len)
{
    return pc >= (uint64_t)fn && pc < (uint64_t)fn + len;
}

static int frames_in(void *fn, uint64_t len)
{
    int k = 0;
    for (int i = 0; i < npcs; i++)
        k += in_fn(pcs[i], fn, len);
    return k;
}

static __attribute__((noinline)) int recurse(int depth)
{
    if (depth == 0) {
        npcs = cp_unwind_here(pcs, CP_MAX_FRAMES, 0);
        return npcs;
    }
    int r = recurse(depth - 1);
    __asm__ volatile("" ::: "memory"); /* no tail call */
    return r;
}

Test(unwind, here_recursion_reaches_caller)
{
    cp_unwind_init();
    int n = recurse(30);
    cr_assert_geq(n, 32, "only %d frames", n);
    cr_assert(in_fn(pcs[0], (void *)recurse, 200), "pcs[0] not in recurse");
    for (int i = 0; i < 31; i++) /* 31 activations of recurse, innermost first */
        cr_assert(in_fn(pcs[i], (void *)recurse, 200), "frame %d not in recurse", i);
}

static int cmp_calls;
static __attribute__((noinline)) int cmp_int(const void *a, const void *b)
{
    if (cmp_calls++ == 0)
        npcs = cp_unwind_here(pcs, CP_MAX_FRAMES, 0);
    return *(const int *)a - *(const int *)b;
}

static __attribute__((noinline)) void sort_some(void)
{
    int v[64];
    for (int i = 0; i < 64; i++)
        v[i] = 64 - i;
    qsort(v, 64, sizeof v[0], cmp_int);
    __asm__ volatile("" ::: "memory");
}

Test(unwind, here_through_libc_qsort)
{
    cp_unwind_init();
    cmp_calls = 0;
    sort_some();
    /* libc's qsort has no frame pointers: reaching sort_some needs CFI. */
    /* Any frame at or after sort_some proves the walk got through qsort;
     * the window is wide because sanitizer builds make functions long. */
    cr_assert_geq(frames_in((void *)sort_some, 4096), 1, "did not get through qsort (%d frames)",
                  npcs);
}

static uint64_t interrupted_pc;
static void on_usr1(int sig, siginfo_t *si, void *uc)
{
    interrupted_pc = (uint64_t)((ucontext_t *)uc)->uc_mcontext.gregs[REG_RIP];
    npcs = cp_unwind_signal(uc, pcs, CP_MAX_FRAMES);
}

static void install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_usr1;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR1, &sa, NULL);
}

static __attribute__((noinline)) void signal_me(void)
{
    syscall(SYS_tgkill, getpid(), gettid(), SIGUSR1);
    __asm__ volatile("" ::: "memory");
}

Test(unwind, signal_walks_into_interrupted_code)
{
    cp_unwind_init();
    install();
    signal_me();
    cr_assert_geq(npcs, 3);
    /* pcs[0] is in libc's syscall(); the caller chain follows. */
    cr_assert_eq(pcs[0], interrupted_pc, "pcs[0] is not the interrupted pc");
    cr_assert(in_fn(pcs[1], (void *)signal_me, 64), "pcs[1] not the caller of syscall()");
}

/* Corrupt %rbp, then take a signal: the CFI of this function says the CFA
 * is %rbp+16, so the unwinder reads from an unmapped page. */
static __attribute__((noinline)) void corrupt_and_signal(void)
{
    long pid = getpid(), tid = gettid();
    __asm__ volatile("push %%rbp\n\t"
                     "mov $0x1000, %%rbp\n\t"
                     "mov $234, %%eax\n\t" /* SYS_tgkill */
                     "syscall\n\t"
                     "pop %%rbp\n\t"
                     :
                     : "D"(pid), "S"(tid), "d"((long)SIGUSR1)
                     : "rax", "rcx", "r11", "memory");
}

Test(unwind, corrupt_frame_chain_stops_cleanly)
{
    cp_unwind_init();
    install();
    npcs = -1;
    corrupt_and_signal();
    cr_assert_geq(npcs, 1);
    cr_assert(in_fn(pcs[0], (void *)corrupt_and_signal, 300), "pcs[0] %#lx", (long)pcs[0]);
    /* The guard must leave SIGSEGV deliverable afterwards. */
    sigset_t cur;
    sigprocmask(SIG_BLOCK, NULL, &cur);
    cr_assert_eq(sigismember(&cur, SIGSEGV), 0);
    int n = recurse(3);
    cr_assert_geq(n, 4);
}

/* The two tests below end in a real SIGSEGV; AddressSanitizer owns that
 * signal in sanitized builds, so they are left out of those. */
#if !defined(__SANITIZE_ADDRESS__)
/* A program's SIGSEGV handler installed before ours with SA_RESETHAND runs
 * once, as the kernel would run it: the disposition is reset to the
 * default first, so returning re-executes the fault and the process dies
 * of it instead of calling the handler again for ever. */
static volatile sig_atomic_t resethand_calls;
static uintptr_t opaque_zero(void)
{
    uintptr_t z = 0;
    __asm__ volatile("" : "+r"(z));
    return z;
}

static void resethand_handler(int sig, siginfo_t *si, void *uc)
{
    (void)sig, (void)si, (void)uc;
    if (++resethand_calls > 1)
        _exit(3); /* called twice: the one-shot handler was not reset */
}

Test(unwind, program_resethand_segv_handler_runs_once, .signal = SIGSEGV, .timeout = 10)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = resethand_handler;
    sa.sa_flags = SA_SIGINFO | SA_RESETHAND;
    sigaction(SIGSEGV, &sa, NULL);
    cp_unwind_init(); /* chains to the handler above */
    *(volatile int *)(uintptr_t)opaque_zero() = 1;
}

/* A program that installs its own SIGSEGV handler after ours (crash
 * reporters, language runtimes) gets it for its own faults, while a walk's
 * fault still ends the walk cleanly instead of reaching that handler. */
static volatile sig_atomic_t walk_done;
static void program_crash_handler(int sig)
{
    (void)sig;
    _exit(walk_done ? 42 : 3); /* 3: the walk's own fault reached it */
}

Test(unwind, program_segv_handler_installed_later_is_chained, .exit_code = 42, .timeout = 10)
{
    cp_unwind_init();
    struct sigaction sa, cur;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = program_crash_handler;
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGSEGV, NULL, &cur);
    cr_assert(cur.sa_handler == program_crash_handler, "the program sees its own handler");
    install();
    npcs = -1;
    corrupt_and_signal(); /* the walk faults: not the program's business */
    cr_assert_geq(npcs, 1);
    cr_assert(in_fn(pcs[0], (void *)corrupt_and_signal, 300), "pcs[0] %#lx", (long)pcs[0]);
    walk_done = 1;
    *(volatile int *)(uintptr_t)opaque_zero() = 1; /* the program's fault: exits 42 */
    cr_assert_fail("the fault did not reach the program's handler");
}
#endif

/* Deep stacks keep both ends: the same walk with room for everything and
 * with room for 16 frames agree on the 8 innermost and the 7 outermost
 * frames, with a marker between them that counts the rest exactly. */
static uint64_t full[CP_MAX_FRAMES], cut[16], cut_odd[11];
static int nfull, ncut, ncut_odd;

static __attribute__((noinline)) int deep(int depth)
{
    if (depth == 0) {
        nfull = cp_unwind_here(full, CP_MAX_FRAMES, 0);
        ncut = cp_unwind_here(cut, 16, 0);
        ncut_odd = cp_unwind_here(cut_odd, 11, 0);
        return 0;
    }
    int r = deep(depth - 1);
    __asm__ volatile("" ::: "memory"); /* no tail call */
    return r;
}

static void check_both_ends(const uint64_t *got, int max, int n)
{
    /* The three calls sit on different lines of deep(): the innermost
     * frame differs, the callers' frames are the same. */
    cr_assert_eq(n, max);
    int head = max / 2, tail = max - head - 1;
    for (int i = 1; i < head; i++)
        cr_assert_eq(got[i], full[i], "inner frame %d", i);
    uint64_t elided = 0;
    bool root = false;
    cr_assert(cp_unwind_elided(got[head], &elided, &root), "no marker at %d", head);
    cr_assert(root);
    cr_assert_eq((int)elided, nfull - head - tail, "elided %d of %d", (int)elided, nfull);
    for (int i = 0; i < tail; i++)
        cr_assert_eq(got[head + 1 + i], full[nfull - tail + i], "outer frame %d", i);
}

Test(unwind, deep_stacks_keep_both_ends_and_count_the_rest)
{
    cp_unwind_init();
    for (int depth = 20; depth <= 300; depth += 31) {
        deep(depth);
        cr_assert_geq(nfull, depth + 2);
        cr_assert_lt(nfull, CP_MAX_FRAMES);
        check_both_ends(cut, 16, ncut);
        check_both_ends(cut_odd, 11, ncut_odd);
    }
    /* A stack that fits is untouched. */
    uint64_t small[CP_MAX_FRAMES];
    int n = cp_unwind_here(small, CP_MAX_FRAMES, 0);
    for (int i = 0; i < n; i++)
        cr_assert(!cp_unwind_elided(small[i], NULL, NULL));
}

/* A runaway recursion: the walk stops at CP_WALK_MAX and says so. */
Test(unwind, a_walk_past_its_cap_says_the_root_was_not_reached)
{
    cp_unwind_init();
    deep(CP_WALK_MAX + 100);
    cr_assert_eq(ncut, 16);
    uint64_t elided = 0;
    bool root = true;
    cr_assert(cp_unwind_elided(cut[8], &elided, &root));
    cr_assert(!root);
    cr_assert_eq((int)elided, CP_WALK_MAX - 15);
    char name[80];
    cr_assert_str_eq(cp_unwind_elided_name(cut[8], name, sizeof name),
                     "[16369+ frames elided, root not reached]");
}
