/* cprof.h — the whole public C API of libcprof.
 *
 * Link with -lcprof (pkg-config cprof), or run an unmodified program with
 * LD_PRELOAD=libcprof.so and the CPROF_* environment variables.
 *
 * Every function returns 0 on success or a negative CPROF_E* code; turn a
 * code into words with cprof_strerror().  Safety tags:
 *   [thread-safe]        may be called from any thread concurrently
 *   [async-signal-safe]  may be called from a signal handler
 * Profiles are pprof protobuf (profile.proto), gzipped, written atomically
 * (temporary file + rename) when written to a path.
 */
#ifndef CPROF_H
#define CPROF_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(CPROF_BUILDING)
#define CPROF_API __attribute__((visibility("default")))
#else
#define CPROF_API
#endif

/* Error codes. */
enum {
    CPROF_EINVAL = -1,      /* invalid argument */
    CPROF_ENOMEM = -2,      /* out of memory */
    CPROF_EIO = -3,         /* read/write failed (errno has details) */
    CPROF_EFORMAT = -4,     /* malformed input */
    CPROF_ETOOBIG = -5,     /* input exceeds a size limit */
    CPROF_EBUSY = -6,       /* already running */
    CPROF_ENOTRUNNING = -7, /* not running */
    CPROF_ESIGNAL = -8,     /* the program already owns the profiling signal */
    CPROF_EUNSUPPORTED = -9,/* not supported here */
    CPROF_ENOTFOUND = -10,  /* no such thing */
};

/* A static English sentence for an error code.  [thread-safe] */
CPROF_API const char *cprof_strerror(int err);

/* ---- CPU profile (Go's StartCPUProfile / StopCPUProfile) ----
 * Every thread of the process, those alive at start and those created later,
 * is sampled by its own CPU-time timer; each sample is weighted by the CPU
 * time it stands for, so totals match what the kernel charged. */
typedef struct cprof_cpu_options {
    int hz;         /* requested samples per CPU-second per thread; 0 = 100 */
    int signal;     /* 0 = $CPROF_CPU_SIGNAL if set, else SIGPROF; or another
                       signal to use instead (for programs that use SIGPROF) */
    unsigned flags; /* reserved, must be 0 */
} cprof_cpu_options;

/* Start profiling; the profile goes to `path` ("%p" expands to the pid) when
 * cprof_cpu_stop() is called.  opts may be NULL.  Starting twice is
 * CPROF_EBUSY; a program that already owns the signal (a handler, or an
 * armed ITIMER_PROF for SIGPROF) gets CPROF_ESIGNAL.  If the program
 * installs its own handler for the signal later, sampling stops there and
 * the profile so far is still written by cprof_cpu_stop().  A forked child
 * does not inherit the profile; it starts its own when path has "%p".
 * [thread-safe] */
CPROF_API int cprof_cpu_start(const char *path, const cprof_cpu_options *opts);
/* As above, writing to an open file descriptor (not closed by cprof). */
CPROF_API int cprof_cpu_start_fd(int fd, const cprof_cpu_options *opts);
/* Stop and write the profile (symbolized, gzipped, atomically for a path).
 * CPROF_ENOTRUNNING if not started.  [thread-safe] */
CPROF_API int cprof_cpu_stop(void);
/* 1 while a CPU profile runs, else 0.  [thread-safe] [async-signal-safe] */
CPROF_API int cprof_cpu_running(void);

/* ---- heap profile (Go's MemProfileRate / WriteHeapProfile) ----
 * Allocations are sampled on average once every rate_bytes bytes (Poisson);
 * rate 1 records every allocation.  The profile has Go's four sample types:
 * alloc_objects, alloc_space, inuse_objects, inuse_space. */
#define CPROF_HEAP_RATE_DEFAULT 524288

/* Start sampling (rate_bytes <= 0 means the default).  [thread-safe] */
CPROF_API int cprof_heap_start(int64_t rate_bytes);
/* Write the current heap profile ("%p" in path expands to the pid).
 * [thread-safe] */
CPROF_API int cprof_heap_write(const char *path);
CPROF_API int cprof_heap_write_fd(int fd);
/* Stop sampling; blocks sampled so far are still freed correctly. */
CPROF_API int cprof_heap_stop(void);
/* 1 while heap sampling runs, else 0.  [thread-safe] */
CPROF_API int cprof_heap_running(void);

/* ---- mutex and block profiles (Go's mutex and block profiles) ----
 * Started by CPROF_MUTEX=FILE / CPROF_BLOCK=FILE (also in programs linked
 * with -lcprof); sample types contentions/count and delay/nanoseconds.
 * Write the profile so far ("%p" in path expands to the pid), atomically;
 * a profile not started is written empty.  [thread-safe] */
CPROF_API int cprof_mutex_write(const char *path);
CPROF_API int cprof_block_write(const char *path);

/* ---- labels (Go's pprof.Do / pprof.WithLabels) ----
 * A thread's labels are attached to every sample taken on it, of every
 * profile type; threads created while labels are set inherit them.  A key
 * pushed again shadows its outer value until popped.  Sets are interned and
 * kept for the life of the process (up to 65536 distinct (labels, key,
 * value) steps; a push beyond that returns CPROF_ENOMEM, is counted, and its
 * pop still balances): label routes, tenants or phases, not request ids.
 * Keys and values longer than 1024 bytes are cut there. */
/* Push key=value on the calling thread.  [thread-safe] */
CPROF_API int cprof_label_push(const char *key, const char *value);
/* Undo the calling thread's latest push; no-op without one.  [thread-safe] */
CPROF_API void cprof_label_pop(void);

#if defined(__GNUC__) && !defined(__cplusplus)
/* Labels for one block: CPROF_LABELS_SCOPE("route", path) { ... } pops when
 * the block is left normally or by break (not by return or goto out of it). */
#define CPROF_LABELS_SCOPE(key, value) \
    for (int cprof_scope_once_ = (cprof_label_push((key), (value)), 1); cprof_scope_once_; \
         cprof_scope_once_ = 0, cprof_label_pop())
#endif

#ifdef __cplusplus
}
#endif
#endif /* CPROF_H */
