/* record.c — `cprof record`: run a program under the profiler.
 *
 * What: sets CPROF_* variables for the requested profile types and puts
 * libcprof.so in front of LD_PRELOAD, runs the program with our stdin,
 * stdout and stderr, waits, then says on stderr where each profile is and
 * prints the top of the CPU profile on stderr (so the program's stdout is
 * exactly what it printed).  The exit status is the program's, or 128+N
 * when signal N killed it (the shell's convention).
 *
 * The library is found next to the cprof binary (a build tree: build/cprof
 * and build/libcprof.so), else in ../lib/<multiarch>/ or ../lib/ of it (an
 * installed tree), else by the loader's search path ("libcprof.so").
 * Output paths are made absolute so a program that changes directory still
 * writes where we look.  The top report comes from running this binary's
 * own `top` command, which keeps record independent of the analysis code.
 *
 * While the program runs we ignore SIGINT and SIGQUIT, as a shell does for
 * a foreground job: a ^C reaches the program, and we still report.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/commands.h"

enum { T_CPU, T_HEAP, T_MUTEX, T_BLOCK, T_THREADS, T_IO, NTYPES };

/* Every profile type of the contract has its flag; `ready` says whether this
 * build's library collects it (the others are refused, not silently lost). */
static const struct {
    const char *flag, *env, *dflt, *what;
    int ready;
} types[NTYPES] = {
    {"cpu", "CPROF_CPU", "cpu.pb.gz", "CPU", 1},
    {"heap", "CPROF_HEAP", "heap.pb.gz", "heap", 1},
    {"mutex", "CPROF_MUTEX", "mutex.pb.gz", "mutex", 0},
    {"block", "CPROF_BLOCK", "block.pb.gz", "block", 0},
    {"threads", "CPROF_THREADS", "threads.pb.gz", "threads", 0},
    {"io", "CPROF_IO", "io.pb.gz", "I/O", 0},
};

static void usage(void)
{
    fputs("usage: cprof record [--cpu[=F]] [--heap[=F]] [--mutex[=F]] [--block[=F]]\n"
          "                    [--threads[=F]] [--io[=F]] [--leaks] [-o F] [--hz N]\n"
          "                    -- CMD ARGS...\n"
          "Runs CMD under the profiler (no type flag: CPU only).  -o names the CPU\n"
          "profile; defaults are cpu.pb.gz, heap.pb.gz, ...  \"%p\" in a name is the\n"
          "process id.  Profiles are written when CMD exits.  This version\n"
          "collects CPU and heap profiles; the other types are refused.\n",
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
    const char *cands[] = {"%s/libcprof.so", "%s/../lib/x86_64-linux-gnu/libcprof.so",
                           "%s/../lib64/libcprof.so", "%s/../lib/libcprof.so"};
    char buf[PATH_MAX + 64];
    for (size_t i = 0; dir[0] && i < sizeof cands / sizeof cands[0]; i++) {
        snprintf(buf, sizeof buf, cands[i], dir);
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

int cp_cmd_record(int argc, char **argv)
{
    char *paths[NTYPES] = {0};
    const char *want[NTYPES] = {0};
    int any = 0, leaks = 0, rc = 2, i;
    const char *hz = NULL;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (a[0] != '-')
            break;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0 || strcmp(a, "-help") == 0) {
            usage();
            return 0;
        }
        if (strcmp(a, "-o") == 0 || strcmp(a, "--o") == 0) {
            if (++i >= argc)
                goto bad;
            want[T_CPU] = argv[i];
            any = 1;
            continue;
        }
        if (strcmp(a, "--hz") == 0 || strcmp(a, "-hz") == 0) {
            if (++i >= argc)
                goto bad;
            hz = argv[i];
            continue;
        }
        if (strncmp(a, "--hz=", 5) == 0) {
            hz = a + 5;
            continue;
        }
        if (strcmp(a, "--leaks") == 0) {
            leaks = 1;
            continue;
        }
        const char *name = a + (a[1] == '-' ? 2 : 1);
        int t;
        for (t = 0; t < NTYPES; t++) {
            size_t n = strlen(types[t].flag);
            if (strncmp(name, types[t].flag, n) == 0 && (name[n] == 0 || name[n] == '=')) {
                want[t] = name[n] == '=' ? name + n + 1 : types[t].dflt;
                if (!*want[t])
                    goto bad;
                if (!types[t].ready) {
                    fprintf(stderr, "cprof: record: %s profiles are not collected by this "
                                    "version yet (CPU and heap are)\n", types[t].what);
                    goto bad;
                }
                any = 1;
                break;
            }
        }
        if (t == NTYPES) {
            fprintf(stderr, "cprof: record: unknown flag %s\n", a);
            goto bad;
        }
    }
    if (i >= argc) {
        fputs("cprof: record: no command to run\n", stderr);
        goto bad;
    }
    if (hz) {
        char *end;
        long v = strtol(hz, &end, 10);
        if (*end || v <= 0 || v > 100000) {
            fprintf(stderr, "cprof: record: --hz wants 1..100000, not %s\n", hz);
            goto bad;
        }
        setenv("CPROF_CPU_HZ", hz, 1);
    }
    if (leaks) {
        setenv("CPROF_LEAKS", "1", 1);
        if (!want[T_HEAP])
            want[T_HEAP] = types[T_HEAP].dflt;
        any = 1;
    }
    if (!any)
        want[T_CPU] = types[T_CPU].dflt;
    for (int t = 0; t < NTYPES; t++) {
        if (!want[t])
            continue;
        if (!(paths[t] = absolute(want[t]))) {
            rc = 1;
            goto out;
        }
        setenv(types[t].env, paths[t], 1);
        if (!strstr(paths[t], "%p"))
            unlink(paths[t]); /* so a stale file is never reported as new */
    }
    if (set_preload() != 0) {
        fputs("cprof: record: cannot set LD_PRELOAD\n", stderr);
        rc = 1;
        goto out;
    }
    struct sigaction ign = {.sa_handler = SIG_IGN}, old_int, old_quit;
    sigaction(SIGINT, &ign, &old_int);
    sigaction(SIGQUIT, &ign, &old_quit);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        perror("cprof: record: fork");
        rc = 1;
        goto out;
    }
    if (pid == 0) {
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGQUIT, &old_quit, NULL);
        execvp(argv[i], argv + i);
        fprintf(stderr, "cprof: record: cannot run %s: %s\n", argv[i], strerror(errno));
        _exit(errno == ENOENT ? 127 : 126);
    }
    int st = 0;
    while (waitpid(pid, &st, 0) < 0) {
        if (errno != EINTR) {
            perror("cprof: record: waitpid");
            rc = 1;
            goto out;
        }
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGQUIT, &old_quit, NULL);
    rc = WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? 128 + WTERMSIG(st) : 1;
    if (WIFEXITED(st) && WEXITSTATUS(st) >= 126 && !exists(paths[T_CPU] ? paths[T_CPU] : "/"))
        goto out; /* the command did not run; exec already said why */
    if (WIFSIGNALED(st))
        fprintf(stderr, "cprof: %s killed by signal %d; profiles are written at exit, so "
                        "there may be none\n", argv[i], WTERMSIG(st));
    for (int t = 0; t < NTYPES; t++) {
        if (!paths[t])
            continue;
        if (strstr(paths[t], "%p"))
            fprintf(stderr, "cprof: %s profile(s): %s (%%p = process id)\n", types[t].what, paths[t]);
        else if (exists(paths[t]))
            fprintf(stderr, "cprof: %s profile: %s\n", types[t].what, paths[t]);
        else
            fprintf(stderr, "cprof: no %s profile was written to %s (the program must exit "
                            "normally, be dynamically linked and not set-uid for the "
                            "preload to work)\n", types[t].what, paths[t]);
    }
    if (paths[T_CPU] && !strstr(paths[T_CPU], "%p") && exists(paths[T_CPU]))
        show_top(paths[T_CPU]);
out:
    for (int t = 0; t < NTYPES; t++)
        free(paths[t]);
    return rc;
bad:
    usage();
    return 2;
}
