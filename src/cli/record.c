/* record.c — `cprof record`: run a program and its whole process tree
 * under the profiler.
 *
 * What: makes a private directory, sets CPROF_<TYPE>=DIR/%p.%c.<type>.pb.gz
 * for the requested profile types and puts libcprof.so in front of
 * LD_PRELOAD, so every process of the tree (each exec'd program loads the
 * library again) writes its own file, named by pid and program.  Runs the
 * program with our stdin, stdout and stderr, and waits for it as the
 * tree's subreaper (orphaned grandchildren come back to us, so their CPU is
 * in our rusage), looking at /proc meanwhile to know which programs ran
 * (record_procs.c).  Then record_merge.c merges each type into one
 * labelled, symbolized profile (or one file per process), prints a summary
 * line and explains an empty profile; the directory is removed; the top of
 * the CPU profile goes to stderr (so the program's stdout is exactly what
 * it printed).  The exit status is the program's, or 128+N when signal N
 * killed it (the shell's convention).
 *
 * The library is found next to the cprof binary (a build tree: build/cprof
 * and build/libcprof.so), else in ../lib/<multiarch>/ or ../lib/ of it (an
 * installed tree), else by the loader's search path ("libcprof.so").
 * Output paths are made absolute.  The top report comes from running this
 * binary's own `top` command, which keeps record independent of the report
 * code.
 *
 * While the program runs we ignore SIGINT and SIGQUIT, as a shell does for
 * a foreground job: a ^C reaches the program, and we still report.  A
 * SIGTERM or SIGHUP sent to record is passed on to the program and record
 * still reports and removes its directory (unless they were ignored when
 * record started, as under nohup: then they stay ignored, in both).
 * SIGCHLD is blocked in us (not in the program) so a child's exit ends the
 * wait between two looks at /proc at once.
 *
 * Alternatives rejected: one output file shared by the tree (each process
 * replaced the previous one's file; the last to exit won, usually a driver
 * with no samples); waiting for every descendant (a daemon started by the
 * command would keep record waiting forever: descendants still running
 * when the command exits are not waited for).
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/record.h"

/* Every profile type of the contract has its flag; `ready` says whether this
 * build's library collects it (the others are refused, not silently lost). */
const rec_type cp_record_types[REC_NTYPES] = {
    {"cpu", "CPROF_CPU", "cpu.pb.gz", "CPU", true},
    {"heap", "CPROF_HEAP", "heap.pb.gz", "heap", true},
    {"mutex", "CPROF_MUTEX", "mutex.pb.gz", "mutex", true},
    {"block", "CPROF_BLOCK", "block.pb.gz", "block", true},
    {"threads", "CPROF_THREADS", "threads.pb.gz", "threads", true},
    {"io", "CPROF_IO", "io.pb.gz", "I/O", true},
};

/* How often the process tree is looked at while the command runs: often
 * during the first second (short commands), then less (a scan of /proc
 * costs ~0.2 ms on a machine of 150 processes: 1% of a CPU at 20 ms). */
enum { SCAN_FIRST_MS = 20, SCAN_LATER_MS = 50 };

static void usage(void)
{
    fputs("usage: cprof record [--cpu[=F]] [--heap[=F]] [--mutex[=F]] [--block[=F]]\n"
          "                    [--threads[=F]] [--io[=F]] [--leaks] [-o F] [--hz N]\n"
          "                    [--per-process] [--duration S] -- CMD ARGS...\n"
          "Runs CMD under the profiler and follows every process it starts (no type\n"
          "flag: CPU only).  -o names the CPU profile; defaults are cpu.pb.gz,\n"
          "heap.pb.gz, ...  Each type is one profile merging every process, each\n"
          "sample labelled pid and comm (the program's name): cprof tags shows them,\n"
          "-tagfocus=comm=NAME keeps one program.  --per-process writes one file per\n"
          "process instead, F with .PID.COMM before .pb.gz (cpu.1234.cc1plus.pb.gz),\n"
          "or, when F has them, F with %p as the pid and %c as the name (a name with\n"
          "%p or %c implies --per-process).  Profiles are written when CMD exits;\n"
          "processes still running then are not waited for.  --threads also writes\n"
          "F's sibling F.threadcreate.pb.gz (where the live threads were created).\n"
          "--duration S profiles each process for its first S seconds only\n"
          "(CPROF_DURATION); the command runs on unprofiled after that.\n",
          stderr);
}

/* An absolute version of path (malloc'ed). */
static char *absolute(const char *path)
{
    if (path[0] == '/')
        return strdup(path);
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd))
        return strdup(path);
    size_t n = strlen(cwd) + strlen(path) + 2;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s/%s", cwd, path);
    return s;
}

static int exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

/* Directory of this executable, or "" if unknown. */
static void self_dir(char *out, size_t cap)
{
    ssize_t n = readlink("/proc/self/exe", out, cap - 1);
    if (n <= 0) {
        out[0] = 0;
        return;
    }
    out[n] = 0;
    char *slash = strrchr(out, '/');
    if (slash)
        *slash = 0;
}

static char *find_library(void)
{
    char dir[PATH_MAX];
    self_dir(dir, sizeof dir);
    const char *cands[] = {"", "/../lib/x86_64-linux-gnu", "/../lib64", "/../lib"};
    char buf[PATH_MAX + 64];
    for (size_t i = 0; dir[0] && i < sizeof cands / sizeof cands[0]; i++) {
        snprintf(buf, sizeof buf, "%s%s/libcprof.so", dir, cands[i]);
        if (exists(buf)) {
            char *r = realpath(buf, NULL);
            return r ? r : strdup(buf);
        }
    }
    return strdup("libcprof.so");
}

static int set_preload(void)
{
    char *lib = find_library();
    if (!lib)
        return -1;
    const char *old = getenv("LD_PRELOAD");
    int rc;
    if (old && *old) {
        size_t n = strlen(lib) + strlen(old) + 2;
        char *v = malloc(n);
        if (!v) {
            free(lib);
            return -1;
        }
        snprintf(v, n, "%s:%s", lib, old);
        rc = setenv("LD_PRELOAD", v, 1);
        free(v);
    } else {
        rc = setenv("LD_PRELOAD", lib, 1);
    }
    free(lib);
    return rc;
}

/* Print `cprof top -nodecount=10 FILE` on stderr. */
static void show_top(const char *file)
{
    pid_t pid = fork();
    if (pid < 0)
        return;
    if (pid == 0) {
        dup2(2, 1);
        unsetenv("LD_PRELOAD");
        execl("/proc/self/exe", "cprof", "top", "-nodecount=10", file, (char *)NULL);
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
}


/* A private directory for the processes' files (mode 0700) with its done/
 * subdirectory, malloc'ed. */
static char *make_dir(void)
{
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp)
        tmp = "/tmp";
    size_t n = strlen(tmp) + 32;
    char *d = malloc(n);
    if (!d)
        return NULL;
    snprintf(d, n, "%s/cprof-record.XXXXXX", tmp);
    if (!mkdtemp(d)) {
        fprintf(stderr, "cprof: record: cannot make a directory in %s: %s\n", tmp,
                strerror(errno));
        free(d);
        return NULL;
    }
    char done[PATH_MAX];
    snprintf(done, sizeof done, "%s/done", d);
    if (mkdir(done, 0700) != 0) {
        fprintf(stderr, "cprof: record: cannot make %s: %s\n", done, strerror(errno));
        rmdir(d);
        free(d);
        return NULL;
    }
    return d;
}

/* Remove dir, the files in it and in its subdirectory done/. */
static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            char p[PATH_MAX];
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            if (unlink(p) != 0 && errno == EISDIR && !strcmp(e->d_name, "done"))
                remove_dir(p);
        }
        closedir(d);
    }
    rmdir(dir);
}

/* Move the profiles written so far from dir to dir/done/, each name
 * prefixed with a sequence number: a later process that gets a reused pid
 * (pid_max can be 32768; a large build starts more processes than that)
 * then writes a new file instead of replacing this one.  Writers rename
 * their file into place, so a file with its final name is complete. */
static void collect_finished(const char *dir, unsigned long *seq)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (e->d_name[0] < '0' || e->d_name[0] > '9' || len < 7 ||
            strcmp(e->d_name + len - 6, ".pb.gz"))
            continue; /* ".", "done", a writer's temporary file */
        char from[PATH_MAX], to[PATH_MAX];
        snprintf(from, sizeof from, "%s/%s", dir, e->d_name);
        snprintf(to, sizeof to, "%s/done/%lu.%s", dir, ++*seq, e->d_name);
        rename(from, to);
    }
    closedir(d);
}

/* The threadcreate profiles the processes wrote beside their threads
 * profiles, merged into the threads output's sibling: F.pb.gz's is
 * F.threadcreate.pb.gz (the same rule as the library's). */
static void record_threadcreate(const rec_output *threads, rec_procs *procs)
{
    const char *p = threads->path;
    size_t n = strlen(p);
    if (n > 6 && !strcmp(p + n - 6, ".pb.gz"))
        n -= 6;
    char side[PATH_MAX + 32];
    snprintf(side, sizeof side, "%.*s.threadcreate.pb.gz", (int)n, p);
    rec_output o = *threads;
    o.path = side;
    o.kind = "threads.threadcreate";
    cp_record_output(&o, procs);
}

static bool dir_empty(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return true;
    struct dirent *e;
    bool empty = true;
    while (empty && (e = readdir(d)))
        empty = !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..");
    closedir(d);
    return empty;
}

/* What execvp will run: the command's path through PATH (malloc'ed). */
static char *resolve(const char *cmd)
{
    if (strchr(cmd, '/'))
        return strdup(cmd);
    const char *path = getenv("PATH");
    if (!path)
        path = "/usr/local/bin:/usr/bin:/bin";
    for (const char *s = path; *s;) {
        const char *e = strchr(s, ':');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        char buf[PATH_MAX];
        snprintf(buf, sizeof buf, "%.*s/%s", (int)n, n ? s : ".", cmd);
        if (access(buf, X_OK) == 0)
            return strdup(buf);
        s += n + (e != NULL);
    }
    return NULL;
}

/* The program as it is about to run, so a static command that ends before
 * the first look at /proc is still named. */
static void note_command(rec_procs *procs, pid_t pid, const char *cmd)
{
    rec_proc *p = cp_record_proc(procs, pid);
    char *exe = resolve(cmd);
    if (!p || !exe) {
        free(exe);
        return;
    }
    const char *base = strrchr(exe, '/') ? strrchr(exe, '/') + 1 : exe;
    snprintf(p->comm, sizeof p->comm, "%.15s", base);
    p->exe = exe;
    p->why = cp_record_exe_why(exe, -1);
}

/* A SIGTERM or SIGHUP that reached record while the command runs: passed
 * on to the command, whose end record still waits for, so the profiles
 * written and the private directory are dealt with as usual. */
static volatile sig_atomic_t stop_signal;

static void on_stop(int sig)
{
    stop_signal = sig;
}

/* The dispositions and mask record changes while the command runs, as they
 * were: put back in the child before exec and in record afterwards. */
typedef struct saved_signals {
    struct sigaction intr, quit, chld, term, hup;
    sigset_t mask;
} saved_signals;

static void restore_signals(const saved_signals *o)
{
    sigaction(SIGINT, &o->intr, NULL);
    sigaction(SIGQUIT, &o->quit, NULL);
    sigaction(SIGCHLD, &o->chld, NULL);
    sigaction(SIGTERM, &o->term, NULL);
    sigaction(SIGHUP, &o->hup, NULL);
    sigprocmask(SIG_SETMASK, &o->mask, NULL);
}

/* Run argv as the tree's subreaper; *status is its wait status, *used_s
 * the CPU of every reaped process of the tree.  0, or 1 when it could not
 * be started. */
static int run(char **argv, const char *dir, rec_procs *procs, int *status, double *used_s)
{
    unsigned long seq = 0;
    struct sigaction ign = {.sa_handler = SIG_IGN}, dfl = {.sa_handler = SIG_DFL};
    saved_signals old;
    struct sigaction stop = {.sa_handler = on_stop}; /* no SA_RESTART: ends the wait */
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigaction(SIGINT, &ign, &old.intr);
    sigaction(SIGQUIT, &ign, &old.quit);
    sigaction(SIGCHLD, &dfl, &old.chld); /* SIG_IGN would reap for us */
    sigaction(SIGTERM, NULL, &old.term);
    sigaction(SIGHUP, NULL, &old.hup);
    if (old.term.sa_handler == SIG_DFL) /* an ignored one (nohup) stays ignored */
        sigaction(SIGTERM, &stop, NULL);
    if (old.hup.sa_handler == SIG_DFL)
        sigaction(SIGHUP, &stop, NULL);
    sigprocmask(SIG_BLOCK, &chld, &old.mask);
    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    fflush(NULL);
    int rc = 0;
    pid_t pid = fork();
    if (pid < 0) {
        perror("cprof: record: fork");
        rc = 1;
        goto out;
    }
    if (pid == 0) {
        restore_signals(&old);
        execvp(argv[0], argv);
        fprintf(stderr, "cprof: record: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(errno == ENOENT ? 127 : 126);
    }
    procs->root = pid;
    note_command(procs, pid, argv[0]);
    struct timespec start, last;
    clock_gettime(CLOCK_MONOTONIC, &start);
    last = start;
    bool forwarded = false;
    for (bool done = false; !done;) {
        int st;
        pid_t r;
        while ((r = waitpid(-1, &st, WNOHANG)) > 0)
            if (r == pid)
                *status = st, done = true;
        if (r < 0 && errno == ECHILD && !done) {
            perror("cprof: record: waitpid");
            rc = 1;
            goto out;
        }
        if (done)
            break;
        if (stop_signal && !forwarded) {
            kill(pid, stop_signal);
            forwarded = true;
        }
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long ms = now.tv_sec - start.tv_sec < 1 ? SCAN_FIRST_MS : SCAN_LATER_MS;
        long since_ms = (now.tv_sec - last.tv_sec) * 1000 + (now.tv_nsec - last.tv_nsec) / 1000000;
        if (since_ms >= ms) { /* first one interval after the fork: exec is done */
            cp_record_procs_scan(procs);
            collect_finished(dir, &seq);
            last = now;
            since_ms = 0;
        }
        struct timespec ts = {0, (ms - since_ms) * 1000000L};
        sigtimedwait(&chld, NULL, &ts);
    }
    while (waitpid(-1, NULL, WNOHANG) > 0) {
    } /* orphans that ended too: their CPU is the tree's */
    collect_finished(dir, &seq);
    struct rusage ru;
    if (getrusage(RUSAGE_CHILDREN, &ru) == 0)
        *used_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                  (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
out:
    prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
    restore_signals(&old);
    return rc;
}

/* What the command line asked for. */
typedef struct rec_args {
    const char *want[REC_NTYPES]; /* output path per type; NULL: not recorded */
    bool any, leaks, per_process;
    const char *hz;
    int cmd; /* argv index of the command */
} rec_args;

/* --duration S: CPROF_DURATION for every process of the tree
 * (continuous.c).  0, or -1 after a message. */
static int parse_duration(int argc, char **argv, int *i)
{
    const char *a = argv[*i];
    const char *v = a[strlen(a) - 1] == 'n' ? (++*i < argc ? argv[*i] : NULL) : strchr(a, '=') + 1;
    char *end = NULL; /* stays NULL for no value or a negative one */
    double d = v && *v && *v != '-' ? strtod(v, &end) : 0;
    if (!end || *end || !(d > 0 && d <= 1e9)) {
        fprintf(stderr, "cprof: record: --duration wants seconds > 0, not %s\n", v ? v : "nothing");
        return -1;
    }
    setenv("CPROF_DURATION", v, 1);
    return 0;
}

/* --TYPE[=FILE] for one of the profile types.  0, or -1 (after a
 * message when the type is known). */
static int parse_type(const char *a, rec_args *ra)
{
    const char *name = a + (a[1] == '-' ? 2 : 1);
    for (int t = 0; t < REC_NTYPES; t++) {
        size_t n = strlen(cp_record_types[t].flag);
        if (strncmp(name, cp_record_types[t].flag, n) || (name[n] != 0 && name[n] != '='))
            continue;
        ra->want[t] = name[n] == '=' ? name + n + 1 : cp_record_types[t].dflt;
        if (!*ra->want[t])
            return -1;
        if (!cp_record_types[t].ready) {
            fprintf(stderr, "cprof: record: %s profiles are not collected by this version yet\n",
                    cp_record_types[t].what);
            return -1;
        }
        ra->any = true;
        return 0;
    }
    fprintf(stderr, "cprof: record: unknown flag %s\n", a);
    return -1;
}

/* The flags up to the command.  0; 1 after the help; 2 for a usage error
 * (message printed, not the usage). */
static int parse_args(int argc, char **argv, rec_args *ra)
{
    int i;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (a[0] != '-')
            break;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0 || strcmp(a, "-help") == 0)
            return 1;
        if (strcmp(a, "-o") == 0 || strcmp(a, "--o") == 0) {
            if (++i >= argc)
                return 2;
            ra->want[REC_CPU] = argv[i];
            ra->any = true;
        } else if (strcmp(a, "--hz") == 0 || strcmp(a, "-hz") == 0) {
            if (++i >= argc)
                return 2;
            ra->hz = argv[i];
        } else if (strncmp(a, "--hz=", 5) == 0) {
            ra->hz = a + 5;
        } else if (strcmp(a, "--leaks") == 0) {
            ra->leaks = true;
        } else if (strcmp(a, "--duration") == 0 || strcmp(a, "-duration") == 0 ||
                   strncmp(a, "--duration=", 11) == 0) {
            if (parse_duration(argc, argv, &i))
                return 2;
        } else if (strcmp(a, "--per-process") == 0 || strcmp(a, "-per-process") == 0) {
            ra->per_process = true;
        } else if (parse_type(a, ra)) {
            return 2;
        }
    }
    if (i >= argc) {
        fputs("cprof: record: no command to run\n", stderr);
        return 2;
    }
    ra->cmd = i;
    return 0;
}

/* The environment every process of the tree inherits: rate, leaks, names
 * and what record does not support.  The sampling rate, or 0 after a
 * message for a bad one. */
static int set_env(rec_args *ra)
{
    int hz_n = 100;
    const char *hz = ra->hz ? ra->hz : getenv("CPROF_CPU_HZ");
    if (hz) {
        char *end;
        long v = strtol(hz, &end, 10);
        if (*end || v <= 0 || v > 100000) {
            fprintf(stderr, "cprof: record: --hz wants 1..100000, not %s\n", hz);
            return 0;
        }
        hz_n = (int)v;
        setenv("CPROF_CPU_HZ", hz, 1);
    }
    if (ra->leaks) {
        setenv("CPROF_LEAKS", "1", 1);
        if (!ra->want[REC_HEAP])
            ra->want[REC_HEAP] = cp_record_types[REC_HEAP].dflt;
        ra->any = true;
    }
    if (!ra->any)
        ra->want[REC_CPU] = cp_record_types[REC_CPU].dflt;
    /* The processes write addresses only and we name the merged profile
     * (record_merge.c): a process's exit then costs next to nothing.  Not
     * with --leaks: the leak summary is printed by each process and needs
     * the names there. */
    if (!ra->leaks)
        setenv("CPROF_NAMES", "0", 1);
    /* Periods would make each process's one file hold only its last
     * period (the merge reads one file per process): record profiles
     * whole runs; --duration is the time limit it knows. */
    unsetenv("CPROF_PERIOD");
    unsetenv("CPROF_SIGNAL");
    unsetenv("CPROF_KEEP");
    return hz_n;
}

/* Absolute output paths, and CPROF_<TYPE> naming each process's file in
 * dir.  0, or 1 when a path cannot be made absolute. */
static int set_outputs(rec_args *ra, const char *dir, char **paths)
{
    for (int t = 0; t < REC_NTYPES; t++) {
        if (!ra->want[t])
            continue;
        if (!(paths[t] = absolute(ra->want[t])))
            return 1;
        if (strstr(paths[t], "%p") || strstr(paths[t], "%c"))
            ra->per_process = true;
    }
    for (int t = 0; t < REC_NTYPES; t++) {
        if (!paths[t])
            continue;
        char env[PATH_MAX + 64];
        snprintf(env, sizeof env, "%s/%%p.%%c.%s.pb.gz", dir, cp_record_types[t].flag);
        setenv(cp_record_types[t].env, env, 1);
        if (!ra->per_process)
            unlink(paths[t]); /* so a stale file is never reported as new */
    }
    return 0;
}

/* After the run: one merged profile (or one per process) per type, then
 * the top of the CPU profile. */
static void write_outputs(rec_output base, char **paths, rec_procs *procs)
{
    bool top = false;
    for (int t = 0; t < REC_NTYPES; t++) {
        if (!paths[t])
            continue;
        rec_output o = base;
        o.type = t;
        o.path = paths[t];
        if (cp_record_output(&o, procs) == 0 && t == REC_CPU && !o.per_process)
            top = true;
        if (t == REC_THREADS) /* and its sibling, as CPROF_THREADS writes it */
            record_threadcreate(&o, procs);
    }
    if (top)
        show_top(paths[REC_CPU]);
}

int cp_cmd_record(int argc, char **argv)
{
    char *paths[REC_NTYPES] = {0};
    char *dir = NULL;
    rec_procs procs = {0};
    rec_args ra = {0};
    int rc = parse_args(argc, argv, &ra), hz_n;
    if (rc == 1) {
        usage();
        return 0;
    }
    if (rc || !(hz_n = set_env(&ra))) {
        usage();
        return 2;
    }
    rc = 1;
    if (!(dir = make_dir()) || set_outputs(&ra, dir, paths))
        goto out;
    if (set_preload() != 0) {
        fputs("cprof: record: cannot set LD_PRELOAD\n", stderr);
        goto out;
    }
    int st = 0;
    double used_s = -1;
    struct timespec t0, m0, m1;
    clock_gettime(CLOCK_REALTIME, &t0);
    clock_gettime(CLOCK_MONOTONIC, &m0);
    char done[PATH_MAX + 8];
    if (run(argv + ra.cmd, dir, &procs, &st, &used_s) != 0)
        goto out;
    clock_gettime(CLOCK_MONOTONIC, &m1);
    rc = WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? 128 + WTERMSIG(st) : 1;
    snprintf(done, sizeof done, "%s/done", dir);
    bool ran = !(WIFEXITED(st) && WEXITSTATUS(st) >= 126 && dir_empty(done));
    if (ran && WIFSIGNALED(st))
        fprintf(stderr, "cprof: %s killed by signal %d; profiles are written at exit, so "
                        "there may be none\n", argv[ra.cmd], WTERMSIG(st));
    rec_output o = {.dir = done, .per_process = ra.per_process, .hz = hz_n,
                    .used_cpu_s = used_s, .cmd_ran = ran,
                    .start_ns = (int64_t)t0.tv_sec * 1000000000 + t0.tv_nsec,
                    .wall_ns = (int64_t)(m1.tv_sec - m0.tv_sec) * 1000000000 +
                               (m1.tv_nsec - m0.tv_nsec)};
    write_outputs(o, paths, &procs);
out:
    if (dir) {
        remove_dir(dir);
        free(dir);
    }
    cp_record_procs_free(&procs);
    for (int t = 0; t < REC_NTYPES; t++)
        free(paths[t]);
    return rc;
}
