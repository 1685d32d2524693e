/* heap_env.c — the heap profiler under LD_PRELOAD: environment, exit, fork.
 *
 * What: the hooks the interposers (malloc.c: first malloc-family call) and
 * preload.c (constructor, exit path, fork child handler) call.  Variables:
 *   CPROF_HEAP=FILE        write the heap profile to FILE at exit ("%p" =
 *                          pid); in-use objects at exit are the leaks
 *   CPROF_HEAP_RATE=BYTES  mean bytes between samples (default 524288;
 *                          1 = every allocation)
 *   CPROF_LEAKS=1          print a leak summary at exit to the stderr the
 *                          program had at start; CPROF_LEAKS=FILE writes it
 *                          to FILE ("%p" = pid) atomically instead.
 *                          Without CPROF_HEAP_RATE the rate is then 1
 *                          (exact, like a sanitizer), since a leak report
 *                          of estimates is of little use for small leaks
 *   CPROF_HEAP_SEED=N      fixed seed for the sampler (reproducible tests)
 * A forked child keeps sampling (its sampled blocks must still be freed
 * correctly); it writes its own files only when their names contain "%p",
 * never its parent's.
 *
 * When: on the first malloc-family call of the process (malloc.c calls
 * cp_preload_heap_early once it has found the allocator), so that what
 * other libraries' constructors allocate before ours is seen (libstdc++'s
 * emergency pool in every C++ program).  getenv works then in every
 * program tried (libc initialises its environment before any other
 * library's constructor runs); should a call come earlier still, with
 * `environ` not yet set, the variables are read from /proc/self/environ
 * with plain open/read.  The constructor (cp_preload_heap_init) finishes
 * the start outside malloc (unwinder binding, fork handlers), or does all
 * of it when no allocation came first.
 *
 * Leak report placement: the program's stderr may be gone by exit (gnulib's
 * close_stdout closes fd 2 in an atexit handler that runs before ours) or
 * replaced (a program that closes fd 2 and opens a data file, which then
 * gets fd 2).  So at start a duplicate of fd 2 is taken (F_DUPFD_CLOEXEC,
 * a high number) with its st_dev/st_ino; at exit the report goes to that
 * duplicate only if fstat still finds the same file there, else to fd 2
 * if fd 2 is still that file, else nowhere.  Rejected: writing to fd 2
 * (the two failures above); /proc/self/fd/2's target name (a pipe or a
 * deleted file has no name to reopen).
 *
 * Data structure: the settings are copied into static buffers on first
 * use; the environment may change under a program that edits it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/env.h"
#include "base/log.h"
#include "base/path.h"
#include "collect/continuous.h"
#include "collect/heap.h"
#include "cprof.h"
#include "preload/heap_env.h"

extern char **environ;

enum { VAL_MAX = 4096 };
enum { V_HEAP, V_RATE, V_LEAKS, V_SEED, V_HTTP, NVARS };
static const char *const var_names[NVARS] = {
    "CPROF_HEAP", "CPROF_HEAP_RATE", "CPROF_LEAKS", "CPROF_HEAP_SEED", "CPROF_HTTP",
};
static char var_val[NVARS][VAL_MAX];
static bool var_set[NVARS];

static char heap_path[VAL_MAX];
static char leaks_path[VAL_MAX];  /* CPROF_LEAKS=FILE */
static int leaks;
static int leak_fd = -1;          /* duplicate of the original stderr */
static dev_t leak_dev;
static ino_t leak_ino;
static int forked;                 /* a forked child (not exec'd) */
static uint64_t samples_at_fork;
static int child_silent;          /* forked child of a FILE without %p */
static int leaks_child_silent;
static int started;               /* cp_heap_start_early done (or failed) */
static int finished;              /* cp_preload_heap_init done */
static int done;
static int start_rc;

static void store(int i, const char *v, size_t len)
{
    if (len >= VAL_MAX)
        len = VAL_MAX - 1; /* too long: refused below */
    memcpy(var_val[i], v, len);
    var_val[i][len] = 0;
    var_set[i] = true;
}

/* One "NAME=value" entry. */
static void consider(const char *e, size_t len)
{
    for (int i = 0; i < NVARS; i++) {
        size_t k = strlen(var_names[i]);
        if (len > k && e[k] == '=' && memcmp(e, var_names[i], k) == 0)
            store(i, e + k + 1, len - k - 1);
    }
}

/* The variables from /proc/self/environ, for a call before libc has set
 * `environ`.  Entries longer than the buffer are skipped. */
static void read_proc_environ(void)
{
    static char buf[VAL_MAX + 64];
    int fd = open("/proc/self/environ", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    size_t have = 0;
    bool skipping = false;
    for (;;) {
        ssize_t n = read(fd, buf + have, sizeof buf - have);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        have += (size_t)n;
        size_t start = 0;
        for (size_t i = 0; i < have; i++) {
            if (buf[i])
                continue;
            if (!skipping)
                consider(buf + start, i - start);
            skipping = false;
            start = i + 1;
        }
        memmove(buf, buf + start, have - start);
        have -= start;
        if (have == sizeof buf) { /* an entry longer than the buffer */
            have = 0;
            skipping = true;
        }
    }
    close(fd);
}

static void read_env(void)
{
    if (environ) {
        for (int i = 0; i < NVARS; i++) {
            const char *v = getenv(var_names[i]);
            if (v)
                store(i, v, strlen(v));
        }
    } else {
        read_proc_environ();
    }
}

static const char *var(int i)
{
    return var_set[i] ? var_val[i] : NULL;
}

/* A variable's number, strictly (base/env.h), or dflt. */
static int64_t number(int i, int64_t min, int64_t max, int64_t dflt)
{
    int64_t v = dflt;
    (void)cp_env_int(var_names[i], var(i), min, max, &v);
    return v;
}

/* Keep a duplicate of the stderr the program starts with. */
static void keep_stderr(void)
{
    struct stat st;
    if (fstat(2, &st) != 0)
        return; /* no stderr at start: nowhere to report */
    int fd = fcntl(2, F_DUPFD_CLOEXEC, 900);
    if (fd < 0)
        fd = fcntl(2, F_DUPFD_CLOEXEC, 3); /* a low RLIMIT_NOFILE */
    if (fd < 0)
        return;
    leak_fd = fd;
    leak_dev = st.st_dev;
    leak_ino = st.st_ino;
}

static void start(void)
{
    if (__atomic_exchange_n(&started, 1, __ATOMIC_ACQ_REL))
        return;
    int saved_errno = errno;
    read_env();
    const char *path = var(V_HEAP);
    const char *lk = var(V_LEAKS);
    leaks = lk && *lk && strcmp(lk, "0") != 0;
    if (leaks && strcmp(lk, "1") != 0) {
        if (strlen(lk) >= sizeof leaks_path - 1) {
            cp_log("heap: CPROF_LEAKS file name too long; leak report disabled");
            leaks = 0;
        } else {
            strcpy(leaks_path, lk);
        }
    }
    if (path && *path) {
        if (strlen(path) >= sizeof heap_path - 1) {
            cp_log("heap: CPROF_HEAP path too long; heap profile disabled");
            path = NULL;
        } else {
            strcpy(heap_path, path);
        }
    } else {
        path = NULL;
    }
    /* CPROF_HTTP alone samples the heap at the default rate, as Go always
     * does: /debug/pprof/heap then has something to say (docs/http.md). */
    const char *http = var(V_HTTP);
    if (!path && !leaks && !(http && *http))
        goto out;
    if (leaks && !leaks_path[0])
        keep_stderr();
    int64_t rate = number(V_RATE, 1, (int64_t)1 << 40, leaks ? 1 : CPROF_HEAP_RATE_DEFAULT);
    uint64_t seed = (uint64_t)number(V_SEED, 1, INT64_MAX, 0);
    start_rc = cp_heap_start_early(rate, seed);
    if (start_rc == 0)
        start_rc = 1; /* started: finish in the constructor */
out:
    errno = saved_errno;
}

void cp_preload_heap_early(void)
{
    start();
}

void cp_preload_heap_init(void)
{
    start();
    if (__atomic_exchange_n(&finished, 1, __ATOMIC_ACQ_REL))
        return;
    if (start_rc == 1)
        cp_heap_start_finish();
    else if (start_rc && start_rc != CPROF_EBUSY)
        cp_log("heap: cannot start: %s", cprof_strerror(start_rc));
}

/* The fd that is still the stderr of the start, or -1. */
static int original_stderr(void)
{
    struct stat st;
    if (leak_fd >= 0 && fstat(leak_fd, &st) == 0 && st.st_dev == leak_dev &&
        st.st_ino == leak_ino)
        return leak_fd;
    if (leak_fd >= 0 && fstat(2, &st) == 0 && st.st_dev == leak_dev &&
        st.st_ino == leak_ino)
        return 2;
    return -1;
}

/* The leak report into FILE ("%p" expanded): FILE.tmp.PID, then rename. */
static void leaks_to_file(void)
{
    char path[VAL_MAX], tmp[VAL_MAX + 32];
    if (cp_path_expand(leaks_path, path, sizeof path) != 0) {
        cp_log("heap: leak report file name too long");
        return;
    }
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        cp_log("heap: cannot write leak report %s: %s", tmp, strerror(errno));
        return;
    }
    int rc = cp_heap_leak_report(fd, 10);
    if (close(fd) != 0 && rc == 0)
        rc = CPROF_EIO;
    if (rc == 0 && rename(tmp, path) != 0)
        rc = CPROF_EIO;
    if (rc) {
        unlink(tmp);
        cp_log("heap: cannot write leak report %s: %s", path, cprof_strerror(rc));
    }
}

void cp_preload_heap_fini(void)
{
    if (__atomic_exchange_n(&done, 1, __ATOMIC_ACQ_REL))
        return;
    int saved_errno = errno;
    /* A forked child that sampled nothing since the fork writes no file
     * (its profile would be its parent's at the fork; see cpu.c's
     * forked_child for the cost this saves shells and pre-forking servers). */
    bool idle_child = forked && cp_heap_samples_taken() == samples_at_fork;
    /* with CPROF_PERIOD/SIGNAL/DURATION the last period is written by
     * continuous.c (a delta, not the whole run) */
    if (heap_path[0] && !child_silent && !idle_child && !cp_continuous_exit_owned()) {
        int rc = cp_heap_write_path(heap_path);
        if (rc)
            cp_log("heap: cannot write %s: %s", heap_path, cprof_strerror(rc));
    }
    if (leaks && leaks_path[0]) {
        if (!leaks_child_silent)
            leaks_to_file();
    } else if (leaks) {
        int fd = original_stderr();
        if (fd >= 0)
            cp_heap_leak_report(fd, 10);
    }
    errno = saved_errno;
}

void cp_preload_heap_atfork_child(void)
{
    forked = 1;
    samples_at_fork = cp_heap_samples_taken();
    if (heap_path[0] && !strstr(heap_path, "%p"))
        child_silent = 1;
    if (leaks_path[0] && !strstr(leaks_path, "%p"))
        leaks_child_silent = 1;
}
