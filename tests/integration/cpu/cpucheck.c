/* cpucheck.c — check a CPU profile against the truth a test program printed.
 *
 * usage: cpucheck PROFILE [--total-ns N --total-tol F]
 *                 [--share NAME=NS]... [--share-tol POINTS]
 *                 [--complete NAME,NAME... --min-complete F]
 *                 [--has NAME]... [--has-system MANGLED]...
 * --total-ns: the profile's cpu/nanoseconds total must be within F
 *   (relative, e.g. 0.05) of N.
 * --share: each NAME's cumulative share of the CPU time among the NAMEs
 *   given must be within POINTS percentage points of NS's share, or three
 *   standard errors of a share estimated from that many samples if more.
 * --complete: at least F of the samples must have a frame named one of
 *   the NAMEs (main, a thread's start routine...).
 * --has: some function's name contains NAME.
 * --has-system: some function's system_name is exactly MANGLED.
 * Prints the figures it measured; exits 1 if a check fails.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile/profile.h"

#define MAXN 16

static const char *fname(const cp_profile *p, const cp_line *l)
{
    if (l->func == CP_NO_FUNCTION)
        return "";
    return cp_str(p, p->functions[l->func].name);
}

static int sample_has(const cp_profile *p, const cp_sample *s, const char *name)
{
    for (uint32_t i = 0; i < s->nlocs; i++) {
        const cp_location *loc = &p->locations[s->locs[i]];
        for (uint32_t k = 0; k < loc->nlines; k++)
            if (strcmp(fname(p, &loc->lines[k]), name) == 0)
                return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: cpucheck PROFILE [checks]\n");
        return 2;
    }
    double total_ns = -1, total_tol = 0.05, share_tol = 3, min_complete = -1;
    const char *share_name[MAXN];
    double share_truth[MAXN];
    int nshare = 0;
    char *complete = NULL;
    const char *has[MAXN], *has_sys[MAXN];
    int nhas = 0, nhas_sys = 0;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            fprintf(stderr, "cpucheck: %s wants a value\n", a);
            return 2;
        }
        i++;
        if (!strcmp(a, "--total-ns"))
            total_ns = atof(v);
        else if (!strcmp(a, "--total-tol"))
            total_tol = atof(v);
        else if (!strcmp(a, "--share-tol"))
            share_tol = atof(v);
        else if (!strcmp(a, "--min-complete"))
            min_complete = atof(v);
        else if (!strcmp(a, "--complete"))
            complete = strdup(v);
        else if (!strcmp(a, "--has") && nhas < MAXN)
            has[nhas++] = v;
        else if (!strcmp(a, "--has-system") && nhas_sys < MAXN)
            has_sys[nhas_sys++] = v;
        else if (!strcmp(a, "--share") && nshare < MAXN && strchr(v, '=')) {
            char *eq = strchr(v, '=');
            share_name[nshare] = strndup(v, (size_t)(eq - v));
            share_truth[nshare++] = atof(eq + 1);
        } else {
            fprintf(stderr, "cpucheck: bad option %s %s\n", a, v);
            return 2;
        }
    }
    cp_profile *p = NULL;
    cp_diag d = {{0}};
    if (cp_profile_read_file(argv[1], &p, &d) != 0) {
        fprintf(stderr, "cpucheck: %s\n", d.msg);
        return 1;
    }
    int ci = cp_profile_sample_index(p, "cpu");
    if (ci < 0 || cp_profile_sample_index(p, "samples") != 0) {
        fprintf(stderr, "cpucheck: not a CPU profile (samples, cpu)\n");
        return 1;
    }
    int fail = 0;
    double tot = 0, nsamp = 0, ncomplete = 0, cum[MAXN] = {0}, cumn[MAXN] = {0};
    for (size_t i = 0; i < p->nsamples; i++) {
        const cp_sample *s = &p->samples[i];
        tot += (double)s->values[ci];
        nsamp += (double)s->values[0];
        for (int k = 0; k < nshare; k++)
            if (sample_has(p, s, share_name[k])) {
                cum[k] += (double)s->values[ci];
                cumn[k] += (double)s->values[0];
            }
        if (complete) {
            char *list = strdup(complete), *save = NULL;
            for (char *n = strtok_r(list, ",", &save); n; n = strtok_r(NULL, ",", &save))
                if (sample_has(p, s, n)) {
                    ncomplete += (double)s->values[0];
                    break;
                }
            free(list);
        }
    }
    printf("samples=%.0f total_ms=%.1f", nsamp, tot / 1e6);
    if (total_ns >= 0) {
        double r = total_ns > 0 ? tot / total_ns : 0;
        printf(" truth_ms=%.1f ratio=%.4f", total_ns / 1e6, r);
        if (fabs(r - 1) > total_tol) {
            printf(" [FAIL: off by more than %.1f%%]", total_tol * 100);
            fail = 1;
        }
    }
    if (nshare) {
        double ts = 0, ps = 0, pn = 0;
        for (int k = 0; k < nshare; k++)
            ts += share_truth[k], ps += cum[k], pn += cumn[k];
        for (int k = 0; k < nshare; k++) {
            double want = ts > 0 ? 100 * share_truth[k] / ts : 0;
            double got = ps > 0 ? 100 * cum[k] / ps : 0;
            printf(" %s=%.2f%%(truth %.2f%%, by count %.2f%%)", share_name[k], got, want,
                   pn > 0 ? 100 * cumn[k] / pn : 0);
            /* At least share_tol points, and three standard errors of a
             * share estimated from pn samples: a loaded machine delivers
             * fewer samples (the kernel checks CPU timers only at ticks
             * while the thread runs), and a fixed tolerance then fails by
             * chance. */
            double q = want / 100, se = pn > 0 ? 100 * sqrt(q * (1 - q) / pn) : 100;
            double allowed = fmax(share_tol, 3 * se);
            if (fabs(got - want) > allowed) {
                printf("[FAIL: allowed %.2f points]", allowed);
                fail = 1;
            }
        }
    }
    if (complete) {
        double f = nsamp > 0 ? ncomplete / nsamp : 0;
        printf(" complete=%.4f", f);
        if (f < min_complete) {
            printf("[FAIL: < %.2f]", min_complete);
            fail = 1;
        }
    }
    for (int k = 0; k < nhas; k++) {
        int found = 0;
        for (size_t f = 0; f < p->nfunctions && !found; f++)
            found = strstr(cp_str(p, p->functions[f].name), has[k]) != NULL;
        printf(" has(%s)=%s", has[k], found ? "yes" : "NO");
        fail |= !found;
    }
    for (int k = 0; k < nhas_sys; k++) {
        int found = 0;
        for (size_t f = 0; f < p->nfunctions && !found; f++)
            found = strcmp(cp_str(p, p->functions[f].system_name), has_sys[k]) == 0;
        printf(" system_name(%s)=%s", has_sys[k], found ? "yes" : "NO");
        fail |= !found;
    }
    printf("\n");
    cp_profile_free(p);
    free(complete);
    return fail;
}
