/* recordcheck.c — what the record tests read from profiles, as integers.
 *
 * recordcheck labels FILE: one line "PID COMM SAMPLES CPU_NS" per pid and
 *   comm label pair of a CPU profile (ascending pid), then
 *   "total SAMPLES CPU_NS".  Samples without a pid label count as pid 0,
 *   comm "-".
 * recordcheck rusage OUT CMD ARGS...: runs CMD, waits, writes the CPU of
 *   its process tree (getrusage RUSAGE_CHILDREN, ns) to OUT, exits as CMD.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "profile/profile.h"

typedef struct row {
    long long pid, samples, ns;
    char comm[64];
} row;

static int labels(const char *path)
{
    cp_profile *p = NULL;
    cp_diag d = {{0}};
    if (cp_profile_read_file(path, &p, &d)) {
        fprintf(stderr, "recordcheck: %s\n", d.msg);
        return 1;
    }
    int si = cp_profile_sample_index(p, "samples"), ci = cp_profile_sample_index(p, "cpu");
    if (si < 0 || ci < 0) {
        fprintf(stderr, "recordcheck: %s is not a CPU profile\n", path);
        return 1;
    }
    row *rows = calloc(p->nsamples + 1, sizeof *rows);
    size_t n = 0;
    long long ts = 0, tn = 0;
    for (size_t i = 0; i < p->nsamples; i++) {
        const cp_sample *s = &p->samples[i];
        long long pid = 0;
        const char *comm = "-";
        for (uint32_t k = 0; k < s->nlabels; k++) {
            const char *key = cp_str(p, s->labels[k].key);
            if (!strcmp(key, "pid") && !s->labels[k].str)
                pid = s->labels[k].num;
            else if (!strcmp(key, "comm") && s->labels[k].str)
                comm = cp_str(p, s->labels[k].str);
        }
        size_t r = 0;
        while (r < n && !(rows[r].pid == pid && !strcmp(rows[r].comm, comm)))
            r++;
        if (r == n) {
            rows[n].pid = pid;
            snprintf(rows[n].comm, sizeof rows[n].comm, "%s", comm);
            n++;
        }
        rows[r].samples += s->values[si];
        rows[r].ns += s->values[ci];
        ts += s->values[si];
        tn += s->values[ci];
    }
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && rows[j - 1].pid > rows[j].pid; j--) {
            row t = rows[j];
            rows[j] = rows[j - 1];
            rows[j - 1] = t;
        }
    for (size_t i = 0; i < n; i++)
        printf("%lld %s %lld %lld\n", rows[i].pid, rows[i].comm, rows[i].samples, rows[i].ns);
    printf("total %lld %lld\n", ts, tn);
    free(rows);
    cp_profile_free(p);
    return 0;
}

static int rusage_of(const char *out, char **argv)
{
    pid_t pid = fork();
    if (pid < 0)
        return 1;
    if (pid == 0) {
        execvp(argv[0], argv);
        _exit(127);
    }
    int st;
    if (waitpid(pid, &st, 0) < 0)
        return 1;
    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru);
    long long ns = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000LL +
                   (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000LL;
    FILE *f = fopen(out, "w");
    if (!f)
        return 1;
    fprintf(f, "%lld\n", ns);
    fclose(f);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "labels"))
        return labels(argv[2]);
    if (argc >= 4 && !strcmp(argv[1], "rusage"))
        return rusage_of(argv[2], argv + 3);
    fputs("usage: recordcheck labels FILE | rusage OUT CMD ARGS...\n", stderr);
    return 2;
}
