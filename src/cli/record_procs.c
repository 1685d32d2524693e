/* record_procs.c — which processes the recorded command ran, and whether
 * the preload could enter them.
 *
 * What: while the command runs, `cprof record` looks at /proc every few
 * tens of milliseconds and keeps every process whose parent chain leads to
 * the command (or to us: we are the tree's subreaper, so orphans come back
 * to us).  For each it keeps the name, the CPU time last seen and, once per
 * program it runs, the reason the preload cannot be in it: a statically
 * linked executable (no PT_INTERP), a set-uid/set-gid one or one with file
 * capabilities (the loader runs it in secure mode and ignores LD_PRELOAD),
 * or an environment without LD_PRELOAD.  The profiles themselves say which
 * processes were sampled; this file says about the others.
 *
 * Data structure: the tree's processes in an array sorted by pid (a tree
 * is tens to thousands of processes); the pids of the last scan that are
 * not ours, sorted, so a scan reads /proc/PID/stat only for processes it
 * has not classified yet and for the tree's live ones (a few syscalls for
 * each), not for every process on the machine.
 *
 * Alternatives rejected: ptrace (set-uid programs would run without their
 * privileges, and a traced program cannot be debugged); the kernel's
 * process events connector and taskstats (need CAP_NET_ADMIN);
 * /proc/PID/task/TID/children (not in every kernel: not in this project's
 * test machine's); an execve interposer in the preload (a static program's
 * parent may itself be static or set-uid).  Processes that live less than
 * one scan interval can be missed; the rusage comparison still shows
 * their CPU.
 */
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "base/buf.h"
#include "cli/record.h"

static long search(const pid_t *v, size_t n, pid_t pid)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (v[mid] < pid)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (long)lo;
}

static long find_proc(const rec_procs *t, pid_t pid)
{
    size_t lo = 0, hi = t->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (t->v[mid].pid < pid)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (long)lo;
}

/* A new entry for pid, after any earlier ones of the same pid. */
static rec_proc *add_proc(rec_procs *t, pid_t pid)
{
    long i = find_proc(t, pid);
    while ((size_t)i < t->n && t->v[i].pid == pid)
        i++;
    if (cp_grow(&t->v, &t->cap, t->n + 1, sizeof *t->v))
        return NULL;
    memmove(&t->v[i + 1], &t->v[i], (t->n - (size_t)i) * sizeof *t->v);
    memset(&t->v[i], 0, sizeof *t->v);
    t->v[i].pid = pid;
    t->n++;
    return &t->v[i];
}

/* The live entry of pid, or NULL. */
static rec_proc *find_live(rec_procs *t, pid_t pid)
{
    for (long i = find_proc(t, pid); (size_t)i < t->n && t->v[i].pid == pid; i++)
        if (!t->v[i].gone)
            return &t->v[i];
    return NULL;
}

rec_proc *cp_record_proc(rec_procs *t, pid_t pid)
{
    long i = find_proc(t, pid), last = -1;
    for (; (size_t)i < t->n && t->v[i].pid == pid; i++)
        last = i;
    return last >= 0 ? &t->v[last] : add_proc(t, pid);
}

static bool ours(rec_procs *t, pid_t pid)
{
    return pid == t->root || pid == getpid() || find_live(t, pid) != NULL;
}

/* Read a small /proc file into buf (NUL-terminated); bytes read or -1. */
static ssize_t read_small(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n;
    do
        n = read(fd, buf, cap - 1);
    while (n < 0 && errno == EINTR);
    close(fd);
    if (n < 0)
        return -1;
    buf[n] = 0;
    return n;
}

/* /proc/PID/stat: name, parent, CPU seconds and start time (clock ticks
 * since boot: with the pid, it names one process).  0 or -1 (gone). */
static int read_stat(pid_t pid, char comm[64], pid_t *ppid, double *cpu_s,
                     unsigned long long *start)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    if (read_small(path, buf, sizeof buf) <= 0)
        return -1;
    char *open_paren = strchr(buf, '('), *close_paren = strrchr(buf, ')');
    if (!open_paren || !close_paren || close_paren < open_paren)
        return -1;
    size_t n = (size_t)(close_paren - open_paren - 1);
    if (n > 63)
        n = 63;
    memcpy(comm, open_paren + 1, n);
    comm[n] = 0;
    /* after ") ": state ppid pgrp session tty tpgid flags minflt cminflt
     * majflt cmajflt utime stime cutime cstime priority nice num_threads
     * itrealvalue starttime */
    char state;
    int pp;
    unsigned long long ut = 0, st = 0;
    if (sscanf(close_paren + 1,
               " %c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d %*d %llu",
               &state, &pp, &ut, &st, start) < 5)
        return -1;
    *ppid = pp;
    long tick = sysconf(_SC_CLK_TCK);
    *cpu_s = (double)(ut + st) / (double)(tick > 0 ? tick : 100);
    return 0;
}

/* True when the executable is an ELF file without an interpreter. */
static bool is_static_elf(int fd)
{
    Elf64_Ehdr eh;
    if (pread(fd, &eh, sizeof eh, 0) != (ssize_t)sizeof eh || memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
        eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_phentsize != sizeof(Elf64_Phdr) ||
        eh.e_phnum == 0 || eh.e_phnum > 256)
        return false; /* a script, a 32-bit program, ...: not known to be static */
    Elf64_Phdr ph[256];
    size_t len = eh.e_phnum * sizeof(Elf64_Phdr);
    if (pread(fd, ph, len, (off_t)eh.e_phoff) != (ssize_t)len)
        return false;
    for (size_t i = 0; i < eh.e_phnum; i++)
        if (ph[i].p_type == PT_INTERP)
            return false;
    return true;
}

const char *cp_record_exe_why(const char *path, int fd)
{
    int own = -1;
    if (fd < 0 && (fd = own = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return NULL;
    const char *why = NULL;
    struct stat st;
    if (is_static_elf(fd))
        why = "statically linked: LD_PRELOAD cannot enter it";
    else if (fstat(fd, &st) == 0 && (((st.st_mode & S_ISUID) && st.st_uid != geteuid()) ||
                                     ((st.st_mode & S_ISGID) && st.st_gid != getegid())))
        why = "set-uid or set-gid: the loader ignores LD_PRELOAD for it";
    else if (fgetxattr(fd, "security.capability", NULL, 0) > 0)
        why = "has file capabilities: the loader ignores LD_PRELOAD for it";
    if (own >= 0)
        close(own);
    return why;
}

/* Whether /proc/PID/environ holds an LD_PRELOAD naming libcprof; -1 when
 * it cannot be read. */
static int has_preload(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/environ", (int)pid);
    cp_buf b = {0};
    if (cp_buf_read_file(&b, path, 1 << 20) != 0) {
        cp_buf_free(&b);
        return -1;
    }
    int r = 0;
    for (size_t i = 0; i < b.len;) {
        const char *s = (const char *)b.data + i;
        size_t n = strnlen(s, b.len - i);
        if (n > 11 && !strncmp(s, "LD_PRELOAD=", 11) && memmem(s, n, "libcprof", 8))
            r = 1;
        i += n + 1;
    }
    cp_buf_free(&b);
    return r;
}

/* What the process runs now, and whether the preload can be in it. */
static void classify(rec_proc *p)
{
    char path[64], exe[PATH_MAX];
    snprintf(path, sizeof path, "/proc/%d/exe", (int)p->pid);
    ssize_t n = readlink(path, exe, sizeof exe - 1);
    if (n <= 0)
        return;
    exe[n] = 0;
    free(p->exe);
    p->exe = strdup(exe);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    p->why = fd >= 0 ? cp_record_exe_why(NULL, fd) : NULL;
    if (fd >= 0)
        close(fd);
    if (!p->why && has_preload(p->pid) == 0)
        p->why = "started without LD_PRELOAD (its environment was cleared)";
}

/* True while pid is still our own fork, before it execs the command: its
 * executable is ours. */
static bool before_exec(pid_t pid)
{
    char path[64], exe[PATH_MAX], self[PATH_MAX];
    snprintf(path, sizeof path, "/proc/%d/exe", (int)pid);
    ssize_t n = readlink(path, exe, sizeof exe - 1), m = readlink("/proc/self/exe", self,
                                                                   sizeof self - 1);
    return n > 0 && n == m && !memcmp(exe, self, (size_t)n);
}

static void refresh(const rec_procs *t, rec_proc *p, const char *comm, double cpu_s)
{
    if (p->pid == t->root && before_exec(p->pid))
        return; /* keep what record.c noted about the command */
    p->seen_cpu_s = cpu_s;
    if (strcmp(p->comm, comm) || !p->exe) {
        snprintf(p->comm, sizeof p->comm, "%s", comm);
        classify(p);
    }
}

void cp_record_procs_scan(rec_procs *t)
{
    DIR *d = opendir("/proc");
    if (!d)
        return;
    for (size_t i = 0; i < t->n; i++)
        t->v[i].seen = false;
    /* new processes of this scan with their parents, resolved after the
     * walk (a child can have a smaller pid than its parent once pids wrap) */
    typedef struct {
        pid_t pid, ppid;
        char comm[64];
        double cpu;
        unsigned long long start;
    } fresh;
    fresh *nv = NULL;
    size_t nn = 0, ncap = 0, ns = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] < '1' || e->d_name[0] > '9')
            continue;
        pid_t pid = (pid_t)strtol(e->d_name, NULL, 10);
        if (cp_grow(&t->scratch, &t->cap_scratch, ns + 1, sizeof *t->scratch))
            break;
        long oi = search(t->others, t->nothers, pid);
        if ((size_t)oi < t->nothers && t->others[oi] == pid) {
            t->scratch[ns++] = pid; /* still not ours */
            continue;
        }
        char comm[64];
        pid_t ppid;
        double cpu;
        unsigned long long start = 0;
        if (read_stat(pid, comm, &ppid, &cpu, &start) != 0)
            continue;
        rec_proc *p = find_live(t, pid);
        if (p && (p->start == start || p->start == 0)) { /* 0: the command, noted */
            p->start = start;
            p->seen = true;
            refresh(t, p, comm, cpu);
            continue;
        }
        if (p) /* its pid was reused since the last scan */
            p->gone = true;
        if (cp_grow(&nv, &ncap, nn + 1, sizeof *nv))
            break;
        nv[nn] = (fresh){.pid = pid, .ppid = ppid, .cpu = cpu, .start = start};
        memcpy(nv[nn].comm, comm, sizeof comm);
        nn++;
    }
    closedir(d);
    for (size_t i = 0; i < t->n; i++)
        if (!t->v[i].seen && t->v[i].start)
            t->v[i].gone = true; /* ended: its pid may come back as another's */
    for (bool more = true; more;) {
        more = false;
        for (size_t i = 0; i < nn; i++)
            if (nv[i].pid && (nv[i].pid == t->root || ours(t, nv[i].ppid))) {
                rec_proc *p = nv[i].pid == t->root ? cp_record_proc(t, nv[i].pid)
                                                   : add_proc(t, nv[i].pid);
                if (p) {
                    p->start = nv[i].start;
                    p->seen = true;
                    refresh(t, p, nv[i].comm, nv[i].cpu);
                }
                nv[i].pid = 0;
                more = true;
            }
    }
    for (size_t i = 0; i < nn; i++)
        if (nv[i].pid && !cp_grow(&t->scratch, &t->cap_scratch, ns + 1, sizeof *t->scratch))
            t->scratch[ns++] = nv[i].pid;
    free(nv);
    /* readdir of /proc lists pids ascending, but be sure */
    for (size_t i = 1; i < ns; i++)
        for (size_t j = i; j > 0 && t->scratch[j - 1] > t->scratch[j]; j--) {
            pid_t x = t->scratch[j];
            t->scratch[j] = t->scratch[j - 1];
            t->scratch[j - 1] = x;
        }
    pid_t *tmp = t->others;
    size_t cap = t->cap_others;
    t->others = t->scratch;
    t->nothers = ns;
    t->cap_others = t->cap_scratch;
    t->scratch = tmp;
    t->cap_scratch = cap;
}

void cp_record_procs_free(rec_procs *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->v[i].exe);
    free(t->v);
    free(t->others);
    free(t->scratch);
    memset(t, 0, sizeof *t);
}
