/* unwind.c — capture call stacks from signal handlers and malloc hooks.
 *
 * What: cp_unwind_signal() walks the stack of the code a SIGPROF interrupted;
 * cp_unwind_here() walks the caller's own stack.  Both must work through
 * code built without frame pointers (Debian's libc, CPython), so they use
 * DWARF call frame information.
 *
 * How: the libgcc unwinder (_Unwind_Backtrace).  With GCC >= 12 and glibc
 * >= 2.35 it finds the unwind tables of a PC with _dl_find_object(), which is
 * lock-free and async-signal-safe, and it is safe against dlopen/dlclose
 * running concurrently (glibc keeps the lookup data consistent for readers).
 * Programs that register frames by hand (__register_frame_info, JITs) make
 * libgcc take its object mutex; those are rare and documented in
 * docs/signal-safety.md.  libgcc recognises the kernel's signal trampoline
 * (__restore_rt), so a walk started inside the handler passes through the
 * signal frame into the interrupted code; we start recording at the frame
 * whose PC equals the interrupted PC from the ucontext.
 *
 * Corrupt stacks: libgcc reads memory at addresses computed from the CFI
 * and registers and does not validate them.  A walk therefore runs under a
 * per-thread recovery point: the SIGSEGV/SIGBUS guard (installed by
 * cp_unwind_init() through sigfork.c, which owns every disposition) calls
 * cp_unwind_fault_escape(), which jumps back (siglongjmp) when the fault
 * happened inside a walk of this thread, and we keep the frames found so
 * far.  Faults that are not ours go to the program's handler or the
 * default action (sigfork.c).  A walk also
 * stops if the canonical frame address fails to grow (a loop).
 *
 * Alternatives rejected (measured numbers in docs/cpu.md):
 *  - libunwind (unw_init_local2 + UNW_INIT_SIGNAL_FRAME): finds unwind
 *    tables with dl_iterate_phdr, which takes the loader's lock, so a sample
 *    landing in a thread inside dlopen can deadlock or see a half-built list;
 *    it also costs an extra dependency in every profiled process, and a
 *    36-frame walk took 2.6x as long as libgcc's (bench/cpu_sample.c).
 *  - frame pointers only: fastest, but Debian's libc and most distribution
 *    binaries are built without them; stacks would stop at the first libc
 *    frame (e.g. inside qsort's callback or a pthread start routine).
 *
 * Address convention (unwind.h): pcs[0] is the innermost PC; every other
 * entry is a return address minus one so it symbolizes to the call line.
 * For cp_unwind_here() every frame is a call site, so all are stored -1.
 *
 * Deep stacks: the walk goes on past `max` frames.  The first max/2 frames
 * stay where they are; the frames after them go round a ring in the rest
 * of the caller's array, so when the walk ends the ring holds the outermost
 * frames.  One rotation (three reversals, no extra memory) puts them in
 * order and a marker frame carrying the number left out goes between the
 * two ends.  Rejected: keeping only the innermost frames (what a plain
 * truncation does: every deep stack loses main and the profile cannot
 * group them); a second buffer for the outer end (stack space inside a
 * malloc hook or a signal handler is not ours to spend twice).
 */
#include "collect/unwind.h"

#include <dlfcn.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <ucontext.h>
#include <unwind.h>

#include "collect/sigfork.h"
#include "cprof.h"

/* initial-exec: TLS access must not allocate or take locks in a handler. */
static __thread sigjmp_buf *guard_env __attribute__((tls_model("initial-exec")));

static int init_done;

/* The three libgcc entry points, taken from libgcc_s itself: a program
 * that links the other libunwind (libunwind.so also exports _Unwind_*)
 * would otherwise hand our calls to an implementation that searches unwind
 * tables under the loader's lock.  Set once by cp_unwind_init(); until
 * then the ordinary symbol bindings are used. */
typedef struct unwinder {
    _Unwind_Reason_Code (*backtrace)(_Unwind_Trace_Fn, void *);
    _Unwind_Ptr (*get_ip_info)(struct _Unwind_Context *, int *);
    _Unwind_Word (*get_cfa)(struct _Unwind_Context *);
} unwinder;
static const unwinder linked = {_Unwind_Backtrace, _Unwind_GetIPInfo, _Unwind_GetCFA};
static unwinder from_libgcc;
/* Swapped once, atomically; a walk uses the set it started with. */
static const unwinder *active = &linked;

static void bind_libgcc(void)
{
    void *h = dlopen("libgcc_s.so.1", RTLD_NOW | RTLD_NOLOAD);
    if (!h)
        return; /* linked statically into the program: the bindings are libgcc's */
    from_libgcc.backtrace = (_Unwind_Reason_Code(*)(_Unwind_Trace_Fn, void *))dlsym(h, "_Unwind_Backtrace");
    from_libgcc.get_ip_info = (_Unwind_Ptr(*)(struct _Unwind_Context *, int *))dlsym(h, "_Unwind_GetIPInfo");
    from_libgcc.get_cfa = (_Unwind_Word(*)(struct _Unwind_Context *))dlsym(h, "_Unwind_GetCFA");
    if (from_libgcc.backtrace && from_libgcc.get_ip_info && from_libgcc.get_cfa)
        __atomic_store_n(&active, &from_libgcc, __ATOMIC_RELEASE);
    dlclose(h); /* drops only the reference RTLD_NOLOAD took */
}

static int depth = CP_DEFAULT_FRAMES;

int cp_unwind_depth(void)
{
    return __atomic_load_n(&depth, __ATOMIC_RELAXED);
}

int cp_unwind_set_depth(int frames)
{
    if (frames < CP_MIN_FRAMES || frames > CP_MAX_FRAMES)
        return CPROF_EINVAL;
    __atomic_store_n(&depth, frames, __ATOMIC_RELAXED);
    return 0;
}

const char *cp_unwind_elided_name(uint64_t pc, char *buf, size_t size)
{
    uint64_t n = 0;
    bool root = true;
    if (!buf || size == 0)
        return buf;
    cp_unwind_elided(pc, &n, &root);
    char digits[24];
    int nd = 0;
    do {
        digits[nd++] = (char)('0' + n % 10);
        n /= 10;
    } while (n);
    const char *tail = root ? " frames elided]" : "+ frames elided, root not reached]";
    size_t k = 0;
    if (k + 1 < size)
        buf[k++] = '[';
    while (nd > 0 && k + 1 < size)
        buf[k++] = digits[--nd];
    for (const char *t = tail; *t && k + 1 < size; t++)
        buf[k++] = *t;
    buf[k] = 0;
    return buf;
}

struct walk {
    const unwinder *u;
    uint64_t *pcs;
    int max, n;
    uint64_t total;      /* frames recorded so far, elided ones included */
    int cut;             /* stopped at CP_WALK_MAX */
    int skip;            /* frames still to skip (cp_unwind_here) */
    uint64_t start_pc;   /* signal walk: record from the frame with this PC */
    int started;
    uintptr_t last_cfa;
};

void cp_unwind_fault_escape(void)
{
    sigjmp_buf *env = guard_env;
    if (env) {
        guard_env = NULL;
        siglongjmp(*env, 1);
    }
}

/* Record one frame: the first `max` in place; past that, the frames after
 * the first max/2 go round a ring in pcs[max/2 + 1 .. max) (see top). */
static _Unwind_Reason_Code put(struct walk *w, uint64_t pc)
{
    uint64_t k = w->total++;
    if (k < (uint64_t)w->max) {
        w->pcs[k] = pc;
        w->n = (int)k + 1;
    } else if (w->max < 3) {
        return _URC_END_OF_STACK; /* no room for both ends and a marker */
    } else {
        int head = w->max / 2, r = w->max - head - 1;
        w->pcs[head + 1 + (int)((k - (uint64_t)head - 1) % (uint64_t)r)] = pc;
    }
    if (w->total >= CP_WALK_MAX) {
        w->cut = 1;
        return _URC_END_OF_STACK;
    }
    return _URC_NO_REASON;
}

static void reverse(uint64_t *a, int lo, int hi) /* [lo, hi) */
{
    for (hi--; lo < hi; lo++, hi--) {
        uint64_t t = a[lo];
        a[lo] = a[hi];
        a[hi] = t;
    }
}

/* After a walk longer than max: put the ring in order, add the marker. */
static void finish(struct walk *w)
{
    if (w->max < 3 || w->total <= (uint64_t)w->max)
        return;
    int head = w->max / 2, r = w->max - head - 1;
    int first = head + 1;
    int s = (int)((w->total - (uint64_t)head - 1) % (uint64_t)r); /* oldest kept */
    if (s) {
        reverse(w->pcs, first, first + s);
        reverse(w->pcs, first + s, w->max);
        reverse(w->pcs, first, w->max);
    }
    uint64_t elided = w->total - (uint64_t)head - (uint64_t)r;
    w->pcs[head] = CP_ELIDED_TAG | (w->cut ? CP_ELIDED_NOROOT : 0) | (elided & 0xffffffffull);
    w->n = w->max;
}

static _Unwind_Reason_Code step(struct _Unwind_Context *ctx, void *arg)
{
    struct walk *w = arg;
    int before = 0;
    uintptr_t ip = w->u->get_ip_info(ctx, &before);
    if (w->skip > 0) {
        w->skip--;
        return _URC_NO_REASON;
    }
    if (!w->started) {
        if (!(before && ip == w->start_pc))
            return _URC_NO_REASON;
        w->started = 1;
        w->last_cfa = w->u->get_cfa(ctx);
        return put(w, ip);
    }
    if (ip == 0)
        return _URC_END_OF_STACK;
    uintptr_t cfa = w->u->get_cfa(ctx);
    /* Outside signal frames the stack only grows towards callers; a CFA
     * that does not increase means a corrupt or looping chain. */
    if (!before && w->total > 0 && cfa <= w->last_cfa)
        return _URC_END_OF_STACK;
    w->last_cfa = cfa;
    return put(w, before ? ip : ip - 1);
}

/* Runs the walk under the fault guard; returns frames found. */
static __attribute__((noinline)) int guarded_walk(struct walk *w)
{
    sigjmp_buf env;
    sigjmp_buf *volatile prev = guard_env;
    if (sigsetjmp(env, 0) == 0) {
        guard_env = &env;
        w->u = __atomic_load_n(&active, __ATOMIC_ACQUIRE);
        w->u->backtrace(step, w);
    }
    guard_env = prev;
    finish(w);
    return w->n;
}

int cp_unwind_here(uint64_t *pcs, int max, int skip)
{
    if (!pcs || max <= 0)
        return 0;
    /* Frames seen: guarded_walk, cp_unwind_here, then the caller. */
    struct walk w = {.pcs = pcs, .max = max, .skip = 2 + (skip > 0 ? skip : 0),
                     .started = 1};
    return guarded_walk(&w);
}

int cp_unwind_signal(void *ucontext, uint64_t *pcs, int max)
{
    if (!pcs || max <= 0 || !ucontext)
        return 0;
    const ucontext_t *uc = ucontext;
    uint64_t pc = (uint64_t)uc->uc_mcontext.gregs[REG_RIP];
    struct walk w = {.pcs = pcs, .max = max, .start_pc = pc};
    int n = guarded_walk(&w);
    if (n == 0) {
        /* The unwinder could not pass the signal frame: keep the PC. */
        pcs[0] = pc;
        n = 1;
    }
    return n;
}

/* Called with a fake ucontext so the signal path's code is bound too, and
 * one siglongjmp so the fault path binds it before it is ever needed. */
static void warm_up(void)
{
    sigjmp_buf env;
    if (sigsetjmp(env, 0) == 0)
        siglongjmp(env, 1);
    uint64_t pcs[8];
    cp_unwind_here(pcs, 8, 0);
    ucontext_t uc;
    memset(&uc, 0, sizeof uc);
    cp_unwind_signal(&uc, pcs, 8);
}

void cp_unwind_init(void)
{
    /* Benign race: both callers would install the same handler. */
    if (!__atomic_exchange_n(&init_done, 1, __ATOMIC_ACQ_REL)) {
        bind_libgcc();
        cp_sigfork_guard_faults(); /* SIGSEGV/SIGBUS: cp_unwind_fault_escape */
        /* Resolve _Unwind_Backtrace, _dl_find_object and libgcc's one-time
         * register-size table now, outside any handler or hook.  Once per
         * process: a forked child inherits the warm state (and a walk in
         * each child cost it page faults on the unwind tables). */
        warm_up();
    }
}
