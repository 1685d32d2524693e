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

#ifdef __cplusplus
}
#endif
#endif /* CPROF_H */
