/* heap_env.c — the heap profiler under LD_PRELOAD: environment, exit, fork.
 *
 * What: the three hooks preload.c calls (its constructor, its exit path and
 * its fork child handler).  Variables:
 *   CPROF_HEAP=FILE        write the heap profile to FILE at exit ("%p" =
 *                          pid); in-use objects at exit are the leaks
 *   CPROF_HEAP_RATE=BYTES  mean bytes between samples (default 524288;
 *                          1 = every allocation)
 *   CPROF_LEAKS=1          print a leak summary to stderr at exit; without
 *                          CPROF_HEAP_RATE the rate is then 1 (exact, like a
 *                          sanitizer), since a leak report of estimates is
 *                          of little use for small leaks
 *   CPROF_HEAP_SEED=N      fixed seed for the sampler (reproducible tests)
 * A forked child keeps sampling (its sampled blocks must still be freed
 * correctly); it writes its own file only when FILE contains "%p", never
 * its parent's.
 *
 * Data structure: the settings are copied into static buffers in the
 * constructor; getenv's strings may change under a program that edits its
 * environment.
 */
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "collect/heap.h"
#include "cprof.h"
#include "preload/heap_env.h"

static char heap_path[4096];
static int leaks;
static int child_silent; /* forked child of a FILE without %p */
static int done;

static int64_t parse_i64(const char *s, int64_t dflt)
{
    if (!s || !*s)
        return dflt;
    char *end;
    long long v = strtoll(s, &end, 0);
    if (*end || v <= 0) {
        cp_log("heap: ignoring invalid value \"%s\"", s);
        return dflt;
    }
    return (int64_t)v;
}

void cp_preload_heap_init(void)
{
    const char *path = getenv("CPROF_HEAP");
    const char *lk = getenv("CPROF_LEAKS");
    const char *rate_s = getenv("CPROF_HEAP_RATE");
    leaks = lk && *lk && strcmp(lk, "0") != 0;
    if (path && *path) {
        size_t n = strlen(path);
        if (n >= sizeof heap_path) {
            cp_log("heap: CPROF_HEAP path too long; heap profile disabled");
            path = NULL;
        } else {
            memcpy(heap_path, path, n + 1);
        }
    } else {
        path = NULL;
    }
    if (!path && !leaks)
        return;
    int64_t rate = parse_i64(rate_s, leaks ? 1 : CPROF_HEAP_RATE_DEFAULT);
    uint64_t seed = (uint64_t)parse_i64(getenv("CPROF_HEAP_SEED"), 0);
    int rc = cp_heap_start_seeded(rate, seed);
    if (rc && rc != CPROF_EBUSY)
        cp_log("heap: cannot start: %s", cprof_strerror(rc));
}

void cp_preload_heap_fini(void)
{
    if (__atomic_exchange_n(&done, 1, __ATOMIC_ACQ_REL))
        return;
    if (heap_path[0] && !child_silent) {
        int rc = cp_heap_write_path(heap_path);
        if (rc)
            cp_log("heap: cannot write %s: %s", heap_path, cprof_strerror(rc));
    }
    if (leaks)
        cp_heap_leak_report(2, 10);
}

void cp_preload_heap_atfork_child(void)
{
    if (heap_path[0] && !strstr(heap_path, "%p"))
        child_silent = 1;
}
