/* record.h — the parts of `cprof record`.
 *
 * Contract: record.c parses the flags, runs the command with every process
 * of its tree writing DIR/PID.COMM.TYPE.pb.gz into a private directory, and
 * waits; record_procs.c watches the tree meanwhile (which programs ran and
 * whether the preload could enter them); record_merge.c turns the
 * directory's files into the output (one merged, labelled, symbolized
 * profile per type, or one file per process) and says on stderr what it
 * holds.  Single-threaded, uses malloc: the cprof command only.
 */
#ifndef CP_CLI_RECORD_H
#define CP_CLI_RECORD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

enum { REC_CPU, REC_HEAP, REC_MUTEX, REC_BLOCK, REC_THREADS, REC_IO, REC_NTYPES };

typedef struct rec_type {
    const char *flag, *env, *dflt, *what;
    bool ready; /* this build's library collects it */
} rec_type;
extern const rec_type cp_record_types[REC_NTYPES];

/* One process of the command's tree, seen in /proc or through its file. */
typedef struct rec_proc {
    pid_t pid;
    char comm[64];    /* its name (the last program it ran) */
    char *exe;        /* its executable, malloc'ed; NULL when never seen */
    const char *why;  /* why the preload cannot be in it; NULL when it can */
    double seen_cpu_s; /* CPU time when last seen alive (a lower bound) */
    unsigned long long start; /* start time in clock ticks (0: not seen yet) */
    bool seen, gone;  /* in the last scan; ended (its pid may be reused) */
    bool wrote;       /* a profile of the type being reported came from it */
    int64_t samples;  /* of that profile */
    double value;     /* its main value (CPU seconds, bytes allocated) */
} rec_proc;

typedef struct rec_procs {
    pid_t root;       /* the command's process */
    rec_proc *v;      /* by pid, ascending */
    size_t n, cap;
    pid_t *others;    /* pids of the last scan that are not ours, ascending */
    size_t nothers, cap_others;
    pid_t *scratch;
    size_t cap_scratch;
} rec_procs;

/* record_procs.c */
/* The latest entry of pid (a pid can be reused), added when there is
 * none; NULL on ENOMEM. */
rec_proc *cp_record_proc(rec_procs *t, pid_t pid);
/* Look at /proc once: add new descendants of t->root (or orphans handed
 * to us as subreaper), refresh the name, CPU and executable of live ones. */
void cp_record_procs_scan(rec_procs *t);
/* Why the preload cannot enter the program at path (statically linked,
 * set-uid, file capabilities), or NULL. fd >= 0 is used instead of path. */
const char *cp_record_exe_why(const char *path, int fd);
void cp_record_procs_free(rec_procs *t);

/* record_merge.c */
typedef struct rec_output {
    int type;             /* REC_CPU, REC_HEAP */
    const char *dir;      /* the private directory the processes wrote into */
    const char *path;     /* absolute output path (template with --per-process) */
    bool per_process;
    int hz;               /* requested sampling rate (for the diagnostics) */
    double used_cpu_s;    /* the tree's CPU from rusage, < 0 unknown */
    int64_t start_ns, wall_ns; /* when the command started (UTC) and ran for */
    bool cmd_ran;         /* false: exec failed, say nothing more */
    const char *kind;     /* the files' kind when not the type's flag: the
                           * threads profile's sibling "threads.threadcreate" */
} rec_output;

/* Read dir's files of o->type, label every sample pid and comm, merge,
 * symbolize, write (atomically); then print the summary line and, when the
 * profile holds no or much less CPU than the tree used, which processes ran
 * and why they were not sampled.  Returns 0 when a profile was written, 1
 * otherwise. */
int cp_record_output(const rec_output *o, rec_procs *procs);

#endif
