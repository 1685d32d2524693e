/* record_merge.c — the recorded command's per-process profiles become the
 * output, and record says what it holds.
 *
 * What: every process of the tree wrote DIR/PID.COMM.TYPE.pb.gz (the
 * preload's %p and %c).  For one type, the files are read in pid order,
 * each sample gets the labels pid (numeric) and comm (string) from its
 * file's name, and the profiles are merged with the same code as `cprof
 * merge` (cp_prep_merge: identical stacks with identical labels folded), a
 * batch at a time so a build of thousands of processes never holds every
 * decoded profile at once.  The result is symbolized here, outside the
 * profiled processes (file:line and inline frames from DWARF, which the
 * processes themselves do not pay for), and written atomically.  With
 * --per-process each file is labelled, symbolized (opened debug files
 * cached across files) and written under its own name instead.
 *
 * Then one summary line per type, always; and when the CPU profile holds
 * nothing, or much less than the CPU the tree used by rusage, the list of
 * processes that ran with their samples, and for those the preload could
 * not enter, why (record_procs.c).
 *
 * Alternatives rejected: one shared output file for the whole tree (each
 * process replaced the previous one's: the last to exit won); a merge that
 * streams samples from every file at once (cp_prep_merge already keeps go
 * tool pprof's id order and folding, and batches bound the memory).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analysis/prep.h"
#include "base/buf.h"
#include "cli/fastgz.h"
#include "cli/record.h"
#include "profile/builder.h"
#include "profile/profile.h"
#include "symbolize/elfname.h"
#include "symbolize/symbolize.h"

enum { BATCH = 64 };

typedef struct rec_file {
    pid_t pid;
    unsigned long seq;
    char comm[64];
    char *path;
} rec_file;

static int by_pid(const void *a, const void *b)
{
    const rec_file *x = a, *y = b;
    if (x->pid != y->pid)
        return (x->pid > y->pid) - (x->pid < y->pid);
    return (x->seq > y->seq) - (x->seq < y->seq);
}

/* The files of one type in dir (SEQ.PID.COMM.TYPE.pb.gz, see record.c's
 * collect_finished), by pid and then by when they were found; -1 on
 * ENOMEM. */
static int list_files(const char *dir, const char *flag, rec_file **out, size_t *nout)
{
    char suffix[64];
    snprintf(suffix, sizeof suffix, ".%s.pb.gz", flag);
    size_t sl = strlen(suffix), n = 0, cap = 0;
    rec_file *v = NULL;
    DIR *d = opendir(dir);
    if (!d) {
        *out = NULL, *nout = 0;
        return 0;
    }
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d))) {
        const char *s = e->d_name;
        char *end;
        unsigned long seq = strtoul(s, &end, 10);
        if (s[0] < '0' || s[0] > '9' || *end != '.')
            continue;
        s = end + 1;
        size_t len = strlen(s);
        long pid = strtol(s, &end, 10);
        if (s[0] < '0' || s[0] > '9' || *end != '.' || len <= sl ||
            strcmp(s + len - sl, suffix) || end + 1 >= s + len - sl)
            continue; /* not PID.COMM.TYPE.pb.gz: a writer's temp file, ... */
        if (cp_grow(&v, &cap, n + 1, sizeof *v)) {
            rc = -1;
            break;
        }
        rec_file *f = &v[n];
        f->pid = (pid_t)pid;
        f->seq = seq;
        size_t cl = (size_t)(s + len - sl - (end + 1));
        if (cl > 63)
            cl = 63;
        memcpy(f->comm, end + 1, cl);
        f->comm[cl] = 0;
        size_t pl = strlen(dir) + strlen(e->d_name) + 2;
        if (!(f->path = malloc(pl))) {
            rc = -1;
            break;
        }
        snprintf(f->path, pl, "%s/%s", dir, e->d_name);
        n++;
    }
    closedir(d);
    if (n)
        qsort(v, n, sizeof *v, by_pid);
    *out = v, *nout = n;
    return rc;
}

/* Give every sample of p the labels pid and comm (unless it has a pid
 * label already); the new arrays live in p's arena. */
static int add_labels(cp_profile *p, pid_t pid, const char *comm)
{
    const char **strs = cp_arena_alloc(&p->arena, (p->nstrings + 3) * sizeof *strs);
    const char *k_pid = cp_arena_strndup(&p->arena, "pid", 3);
    const char *k_comm = cp_arena_strndup(&p->arena, "comm", 4);
    const char *v_comm = cp_arena_strndup(&p->arena, comm, strlen(comm));
    if (!strs || !k_pid || !k_comm || !v_comm)
        return CPROF_ENOMEM;
    memcpy(strs, p->strings, p->nstrings * sizeof *strs);
    int64_t ip = (int64_t)p->nstrings, ic = ip + 1, iv = ip + 2;
    strs[ip] = k_pid, strs[ic] = k_comm, strs[iv] = v_comm;
    p->strings = strs;
    p->nstrings += 3;
    for (size_t i = 0; i < p->nsamples; i++) {
        cp_sample *s = &p->samples[i];
        bool has = false;
        for (uint32_t k = 0; k < s->nlabels && !has; k++)
            has = !strcmp(cp_str(p, s->labels[k].key), "pid");
        if (has)
            continue;
        cp_label *l = cp_arena_alloc(&p->arena, (s->nlabels + 2) * sizeof *l);
        if (!l)
            return CPROF_ENOMEM;
        if (s->nlabels)
            memcpy(l, s->labels, s->nlabels * sizeof *l);
        l[s->nlabels] = (cp_label){.key = ip, .num = pid};
        l[s->nlabels + 1] = (cp_label){.key = ic, .str = iv};
        s->labels = l;
        s->nlabels += 2;
    }
    return 0;
}

/* The sample type that sums up a profile of this type, and its scale. */
static const char *main_type(int type)
{
    if (type == REC_MUTEX || type == REC_BLOCK)
        return "delay";
    if (type == REC_IO)
        return "io_bytes";
    return type == REC_CPU ? "cpu" : type == REC_HEAP ? "alloc_space" : NULL;
}

static void totals(const cp_profile *p, int type, int64_t *samples, double *value)
{
    int vi = main_type(type) ? cp_profile_sample_index(p, main_type(type)) : -1;
    int ci = cp_profile_sample_index(p, type == REC_HEAP ? "alloc_objects"
                                        : type == REC_MUTEX || type == REC_BLOCK ? "contentions"
                                                                                 : "samples");
    if (ci < 0 && p->nsample_types)
        ci = 0; /* the other types: their first (count) sample type */
    *samples = 0, *value = 0;
    for (size_t i = 0; i < p->nsamples; i++) {
        if (type == REC_IO) /* its samples: bytes and time are sampled apart */
            *samples += 1;
        else if (ci >= 0)
            *samples += p->samples[i].values[ci];
        if (vi >= 0)
            *value += (double)p->samples[i].values[vi];
    }
    if (type == REC_CPU || type == REC_MUTEX || type == REC_BLOCK)
        *value /= 1e9;
}

/* The output name of one process with --per-process: the name's %p and %c
 * expanded, else ".PID.COMM" put before ".pb.gz" (or at the end). */
static char *per_process_name(const char *tmpl, const char *num, const char *comm)
{
    cp_buf b = {0};
    int rc = 0;
    if (strstr(tmpl, "%p") || strstr(tmpl, "%c")) {
        for (const char *s = tmpl; *s && !rc; s++) {
            if (s[0] == '%' && (s[1] == 'p' || s[1] == 'c' || s[1] == '%')) {
                const char *x = s[1] == 'p' ? num : s[1] == 'c' ? comm : "%";
                rc = cp_buf_append(&b, x, strlen(x));
                s++;
            } else {
                rc = cp_buf_append(&b, s, 1);
            }
        }
    } else {
        size_t len = strlen(tmpl), cut = len;
        if (len > 6 && !strcmp(tmpl + len - 6, ".pb.gz"))
            cut = len - 6;
        rc = cp_buf_append(&b, tmpl, cut);
        if (!rc)
            rc = cp_buf_append(&b, ".", 1);
        if (!rc)
            rc = cp_buf_append(&b, num, strlen(num));
        if (!rc)
            rc = cp_buf_append(&b, ".", 1);
        if (!rc)
            rc = cp_buf_append(&b, comm, strlen(comm));
        if (!rc)
            rc = cp_buf_append(&b, tmpl + cut, len - cut);
    }
    if (!rc)
        rc = cp_buf_append(&b, "", 1);
    if (rc) {
        cp_buf_free(&b);
        return NULL;
    }
    return (char *)b.data;
}

static cp_profile *symbolized(cp_profile *p, bool cache)
{
    cp_symbolize_opts so = {.quiet = true, .cache = cache};
    cp_diag d = {{0}};
    cp_profile *s = NULL, *named = NULL;
    /* The processes wrote addresses only (CPROF_NAMES=0, record.c): ELF
     * names first (PLT stubs, stripped code as FILE+0xOFFSET), which DWARF
     * then improves where it knows more. */
    if (cp_elfname_profile(p, &named, &d, NULL) == 0) {
        cp_profile_free(p);
        p = named;
    }
    if (cp_symbolize(p, &so, &s, &d) != 0)
        return p; /* addresses and ELF names only: still a valid profile */
    cp_profile_free(p);
    return s;
}

static cp_profile *read_labelled(const rec_file *f, int type, rec_procs *procs)
{
    cp_profile *p = NULL;
    cp_diag d = {{0}};
    if (cp_cli_read_profile(f->path, &p, &d) != 0) {
        fprintf(stderr, "cprof: record: skipping the profile of process %d (%s): %s\n",
                (int)f->pid, f->comm, d.msg);
        return NULL;
    }
    if (add_labels(p, f->pid, f->comm) != 0) {
        cp_profile_free(p);
        return NULL;
    }
    rec_proc *rp = cp_record_proc(procs, f->pid);
    if (rp) {
        if (!rp->comm[0] || strncmp(rp->comm, f->comm, 15))
            snprintf(rp->comm, sizeof rp->comm, "%s", f->comm);
        rp->wrote = true;
        totals(p, type, &rp->samples, &rp->value);
    }
    return p;
}

/* Merge the files into one profile; NULL when none could be read. */
static cp_profile *merge_files(const rec_file *fs, size_t n, int type, rec_procs *procs)
{
    cp_profile *acc = NULL, *batch[BATCH + 1];
    size_t i = 0;
    while (i < n) {
        size_t nb = 0;
        if (acc)
            batch[nb++] = acc;
        for (; i < n && nb < BATCH + 1; i++) {
            cp_profile *p = read_labelled(&fs[i], type, procs);
            if (p)
                batch[nb++] = p;
        }
        cp_diag d = {{0}};
        cp_profile *m = nb ? cp_prep_merge(batch, NULL, NULL, nb, &d) : NULL;
        if (nb && !m)
            fprintf(stderr, "cprof: record: %s\n", d.msg);
        for (size_t k = 0; k < nb; k++)
            if (batch[k] != acc || !m)
                cp_profile_free(batch[k]);
        if (m && acc)
            cp_profile_free(acc);
        acc = m;
        if (nb && !m)
            return NULL;
    }
    return acc;
}

static int per_process(const rec_output *o, const rec_file *fs, size_t n, rec_procs *procs,
                       size_t *written)
{
    int rc = 0;
    *written = 0;
    for (size_t i = 0; i < n; i++) {
        cp_profile *p = read_labelled(&fs[i], o->type, procs);
        if (!p)
            continue;
        char num[48];
        /* the same pid and name again (a reused pid): another file */
        unsigned dup = 1;
        for (size_t k = i; k > 0 && fs[k - 1].pid == fs[i].pid; k--)
            dup += !strcmp(fs[k - 1].comm, fs[i].comm);
        if (dup > 1)
            snprintf(num, sizeof num, "%d-%u", (int)fs[i].pid, dup);
        else
            snprintf(num, sizeof num, "%d", (int)fs[i].pid);
        char *name = per_process_name(o->path, num, fs[i].comm);
        p = symbolized(p, true);
        int wr = name ? cp_profile_write_file(p, name) : CPROF_ENOMEM;
        if (wr) {
            fprintf(stderr, "cprof: record: cannot write %s: %s\n", name ? name : "profile",
                    cprof_strerror(wr));
            rc = 1;
        } else {
            (*written)++;
        }
        free(name);
        cp_profile_free(p);
    }
    cp_symbolize_cache_clear();
    return rc;
}

/* unprofiled before profiled; each by CPU seen or samples, most first */
static int by_weight(const void *a, const void *b)
{
    const rec_proc *x = *(rec_proc *const *)a, *y = *(rec_proc *const *)b;
    if (!x->wrote != !y->wrote)
        return x->wrote ? 1 : -1;
    double vx = x->wrote ? (double)x->samples : x->seen_cpu_s;
    double vy = y->wrote ? (double)y->samples : y->seen_cpu_s;
    return (vx < vy) - (vx > vy);
}

/* A process without a profile worth a line of its own: one the preload
 * cannot enter, or one that used some CPU. */
static bool notable(const rec_proc *p)
{
    return !p->wrote && (p->why || p->seen_cpu_s >= 0.01);
}

/* The processes of the tree and why the profile lacks what it lacks:
 * unprofiled processes that used CPU, each with its reason; the profiled
 * ones with most samples; a count of the rest. */
static void explain(const rec_output *o, rec_procs *procs, double profiled_s, bool written)
{
    enum { SHOW_UNPROFILED = 8, SHOW_PROFILED = 4 };
    const char *what = cp_record_types[o->type].what;
    rec_proc **v = malloc((procs->n + 1) * sizeof *v);
    if (!v)
        return;
    double unprof_s = 0;
    size_t nwhy = 0;
    for (size_t i = 0; i < procs->n; i++) {
        v[i] = &procs->v[i];
        if (!v[i]->wrote) {
            unprof_s += v[i]->seen_cpu_s;
            nwhy += v[i]->why != NULL;
        }
    }
    qsort(v, procs->n, sizeof *v, by_weight);
    if (o->type == REC_CPU && o->used_cpu_s >= 0 && !written)
        fprintf(stderr, "cprof: the command used %.2f s of CPU and none of its processes "
                        "wrote a profile; the processes that ran:\n", o->used_cpu_s);
    else if (o->type == REC_CPU && o->used_cpu_s >= 0)
        fprintf(stderr, "cprof: the %s profile's samples hold %.2f s of the %.2f s of CPU the "
                        "command used; the processes that ran:\n", what, profiled_s, o->used_cpu_s);
    else
        fprintf(stderr, "cprof: the %s profile is empty; the processes that ran:\n", what);
    size_t shown_un = 0, shown_pr = 0, quiet_un = 0, rest_pr = 0;
    for (size_t i = 0; i < procs->n; i++) {
        const rec_proc *p = v[i];
        if (!p->wrote && (!notable(p) || shown_un == SHOW_UNPROFILED)) {
            quiet_un++;
        } else if (!p->wrote) {
            shown_un++;
            fprintf(stderr, "cprof:   pid %d %s%s%s: no profile, %.2f s CPU seen: %s\n",
                    (int)p->pid, p->comm, p->exe ? " " : "", p->exe ? p->exe : "", p->seen_cpu_s,
                    p->why ? p->why
                           : "it ended without exit handlers (_exit, a signal) or still runs");
        } else if (shown_pr < SHOW_PROFILED) {
            shown_pr++;
            fprintf(stderr, "cprof:   pid %d %s: %lld samples\n", (int)p->pid, p->comm,
                    (long long)p->samples);
        } else {
            rest_pr++;
        }
    }
    if (quiet_un || rest_pr)
        fprintf(stderr, "cprof:   and %zu more: %zu profiled, %zu without a profile and each "
                        "under 0.01 s CPU when last seen (shells that end with _exit, ...)\n",
                quiet_un + rest_pr, rest_pr, quiet_un);
    if (procs->n == 0)
        fprintf(stderr, "cprof:   none was seen (each ended before record looked)\n");
    double used = o->used_cpu_s, rest = used - profiled_s - unprof_s;
    if (o->type == REC_CPU && used >= 0 && used * o->hz < 2) {
        fprintf(stderr, "cprof: the command used less CPU than two sampling intervals "
                        "(%d Hz): raise --hz to see it\n", o->hz);
    } else if (o->type == REC_CPU && used >= 0) {
        if (unprof_s >= 0.01)
            fprintf(stderr, "cprof: %.2f s went to processes without a profile%s\n", unprof_s,
                    nwhy ? ", most likely those the preload cannot enter (statically linked "
                           "or set-uid programs)" : "");
        if (rest > 0.1 && rest > 0.25 * used)
            fprintf(stderr, "cprof: %.2f s more is not in any sample: processes too short to "
                            "be seen, statically linked or set-uid ones among them, and the "
                            "profiled processes' own start-up and exit (writing the profile)\n",
                    rest);
    }
    free(v);
}

/* The processes of the tree that wrote no CPU profile but used CPU (as
 * /proc showed it last: a lower bound, in 10 ms ticks) get one sample each
 * in the merged profile, labelled pid and comm, under a frame that says why
 * (`[not profiled: statically linked]`), so that the profile's total is the
 * tree's CPU and `top` or `-tagfocus=comm=` show where the rest went.  The
 * sample count stays 0: no signal was taken.  *added_s receives their CPU.
 * Returns m itself when there is nothing to add or memory runs out. */
static cp_profile *with_unprofiled(cp_profile *m, const rec_procs *procs, double *added_s,
                                   size_t *added_n)
{
    *added_s = 0, *added_n = 0;
    int vi = cp_profile_sample_index(m, "cpu");
    bool any = false;
    for (size_t i = 0; i < procs->n; i++)
        any = any || (!procs->v[i].wrote && procs->v[i].seen_cpu_s > 0);
    if (vi < 0 || !any)
        return m;
    cp_pbuilder *b = cp_pbuilder_new(false);
    cp_diag d = {{0}};
    int64_t *v = calloc(m->nsample_types, sizeof *v);
    cp_profile *out = NULL;
    if (!b || !v || cp_pbuilder_add_profile(b, m, 1.0, &d) != 0)
        goto out;
    for (size_t i = 0; i < procs->n; i++) {
        const rec_proc *p = &procs->v[i];
        if (p->wrote || p->seen_cpu_s <= 0)
            continue;
        char name[128];
        const char *why = p->why ? p->why : "ended without writing a profile";
        size_t wl = strcspn(why, ":");
        snprintf(name, sizeof name, "[not profiled: %.*s]", (int)wl, why);
        uint64_t lid = cp_pbuilder_named_location(b, name);
        v[vi] = (int64_t)(p->seen_cpu_s * 1e9 + 0.5);
        cp_label_in labels[2] = {{.key = "pid", .num = p->pid},
                                 {.key = "comm", .str = p->comm[0] ? p->comm : "?"}};
        if (!lid || cp_pbuilder_sample(b, &lid, 1, v, labels, 2) != 0)
            goto out;
        *added_s += p->seen_cpu_s;
        (*added_n)++;
    }
    out = cp_pbuilder_finish(b);
out:
    cp_pbuilder_free(b);
    free(v);
    if (!out) {
        *added_s = 0, *added_n = 0;
        return m;
    }
    cp_profile_free(m);
    return out;
}

static void summary(const rec_output *o, const char *name, size_t nproc, double value,
                    int64_t samples)
{
    const char *base = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
    if (o->type == REC_CPU) {
        fprintf(stderr, "cprof: %s: %.2f s CPU in %zu process%s", base, value, nproc,
                nproc == 1 ? "" : "es");
        if (o->used_cpu_s >= 0)
            fprintf(stderr, " (the command used %.2f s)", o->used_cpu_s);
        fputc('\n', stderr);
    } else if (o->type == REC_HEAP) {
        fprintf(stderr, "cprof: %s: %.1f MB in %lld objects allocated (estimated from samples) "
                        "in %zu process%s\n", base, value / 1e6, (long long)samples, nproc, nproc == 1 ? "" : "es");
    } else if (o->type == REC_MUTEX || o->type == REC_BLOCK) {
        fprintf(stderr, "cprof: %s: %lld %s, %.3f s waited, in %zu process%s\n", base,
                (long long)samples, o->type == REC_MUTEX ? "contentions" : "blocking waits",
                value, nproc, nproc == 1 ? "" : "es");
    } else if (o->type == REC_IO) {
        fprintf(stderr, "cprof: %s: %.1f MB read or written (estimated from %lld samples) in %zu "
                        "process%s\n", base, value / 1e6, (long long)samples, nproc,
                nproc == 1 ? "" : "es");
    } else {
        fprintf(stderr, "cprof: %s: %zu process%s\n", base, nproc, nproc == 1 ? "" : "es");
    }
}

int cp_record_output(const rec_output *o, rec_procs *procs)
{
    const rec_type *t = &cp_record_types[o->type];
    rec_file *fs = NULL;
    size_t n = 0;
    int rc = 1;
    for (size_t i = 0; i < procs->n; i++)
        procs->v[i].wrote = false, procs->v[i].samples = 0, procs->v[i].value = 0;
    if (list_files(o->dir, o->kind ? o->kind : t->flag, &fs, &n) != 0) {
        fputs("cprof: record: out of memory\n", stderr);
        goto out;
    }
    if (!o->cmd_ran && n == 0)
        goto out; /* the command did not run; exec already said why */
    int64_t samples = 0;
    double value = 0, unprof_s = 0;
    size_t nproc = 0, unprof_n = 0;
    if (o->per_process) {
        rc = per_process(o, fs, n, procs, &nproc);
        for (size_t i = 0; i < procs->n; i++)
            if (procs->v[i].wrote)
                samples += procs->v[i].samples, value += procs->v[i].value;
        char *like = per_process_name(o->path, "PID", "COMM");
        if (nproc && like)
            fprintf(stderr, "cprof: %s profiles: %zu file%s named %s\n", t->what, nproc,
                    nproc == 1 ? "" : "s", like);
        summary(o, like ? like : o->path, nproc, value, samples);
        free(like);
    } else if (n) {
        cp_profile *m = merge_files(fs, n, o->type, procs);
        if (m) {
            m = symbolized(m, false);
            /* the command's time and wall duration, not the sum of every
             * process's (so "Total samples = 19 s (45%)" is of the run) */
            if (o->wall_ns > 0)
                m->time_nanos = o->start_ns, m->duration_nanos = o->wall_ns;
            totals(m, o->type, &samples, &value);
            if (o->type == REC_CPU)
                m = with_unprofiled(m, procs, &unprof_s, &unprof_n);
            int wr = cp_profile_write_file(m, o->path);
            cp_profile_free(m);
            if (wr)
                fprintf(stderr, "cprof: record: cannot write %s: %s\n", o->path,
                        cprof_strerror(wr));
            else
                rc = 0, nproc = n;
        }
        if (!rc) {
            fprintf(stderr, "cprof: %s profile: %s\n", t->what, o->path);
            summary(o, o->path, nproc, value, samples);
            if (unprof_n)
                fprintf(stderr, "cprof: it also holds %.2f s of CPU of %zu process%s the "
                                "preload did not enter, each under a [not profiled: why] frame\n",
                        unprof_s, unprof_n, unprof_n == 1 ? "" : "es");
        }
    }
    if (n == 0)
        fprintf(stderr, "cprof: no process wrote a %s profile, so there is no %s\n", t->what,
                o->path);
    /* never silent when empty or far from what the tree used */
    double missing = o->used_cpu_s - value;
    if (n == 0 || (samples == 0 && o->type != REC_MUTEX && o->type != REC_BLOCK) ||
        (o->type == REC_CPU && o->used_cpu_s >= 0 && missing > 0.1 &&
                         missing > 0.25 * o->used_cpu_s))
        explain(o, procs, value, n > 0);
out:
    for (size_t i = 0; i < n; i++)
        free(fs[i].path);
    free(fs);
    return rc;
}
