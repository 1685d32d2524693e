/* gate_trials.c — detection and false-alarm rates of cprof gate's test.
 *
 * usage: gate_trials M TRIALS THRESHOLD_PCT ALPHA NORMAL... -- SLOW...
 * NORMAL are real CPU profiles of same-work runs, SLOW real profiles of the
 * slowed-down run.  A trial side is RUNS (4) pseudo-runs of M/4 samples,
 * each drawn with replacement from one real run picked at random (flat:
 * each sample's leaf function), so the trials keep the real run-to-run
 * differences as well as the sampling noise:
 *   false alarm: base and new both from NORMAL runs;
 *   detection:   base from NORMAL, new from SLOW runs, their size scaled by
 *     the ratio of samples per run (the slow run takes longer, so it has
 *     more samples at a fixed rate: the same work, more time).
 * Each trial runs the gate's own test (analysis/gate.c) with the CLI's
 * defaults, the dispersion measured on the pseudo-runs as the CLI does.
 * Prints both rates.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/gate.h"
#include "profile/profile.h"

#define MAXF 256

static const char *fnames[MAXF];
static size_t nf;

#define RUNS 4
#define MAXR 64

typedef struct run {
    size_t *leaf; /* function index of each counted sample */
    size_t n, cap;
} run;

typedef struct pool {
    run runs[MAXR];
    int nruns;
    size_t n;
    double value[MAXF], count[MAXF];
} pool;

static size_t fidx(const char *name)
{
    for (size_t i = 0; i < nf; i++)
        if (!strcmp(fnames[i], name))
            return i;
    if (nf == MAXF) {
        fprintf(stderr, "gate_trials: too many functions\n");
        exit(2);
    }
    fnames[nf] = strdup(name);
    return nf++;
}

static void add(pool *pl, const char *path)
{
    cp_profile *p;
    cp_diag d = {{0}};
    if (pl->nruns == MAXR || cp_profile_read_file(path, &p, &d)) {
        fprintf(stderr, "gate_trials: %s: %s\n", path, d.msg[0] ? d.msg : "too many runs");
        exit(2);
    }
    int ci = cp_profile_sample_index(p, "samples"), vi = (int)p->nsample_types - 1;
    if (ci < 0) {
        fprintf(stderr, "gate_trials: %s: not a CPU profile\n", path);
        exit(2);
    }
    run *r = &pl->runs[pl->nruns++];
    for (size_t s = 0; s < p->nsamples; s++) {
        const cp_sample *sm = &p->samples[s];
        if (!sm->nlocs || sm->values[ci] <= 0)
            continue;
        const cp_location *l = &p->locations[sm->locs[0]];
        char buf[40];
        const char *name = buf;
        if (l->nlines && l->lines[0].func != CP_NO_FUNCTION)
            name = cp_str(p, p->functions[l->lines[0].func].name);
        else
            snprintf(buf, sizeof buf, "0x%llx", (unsigned long long)l->address);
        size_t f = fidx(name);
        pl->value[f] += (double)sm->values[vi];
        pl->count[f] += (double)sm->values[ci];
        for (int64_t k = 0; k < sm->values[ci]; k++) {
            if (r->n == r->cap) {
                r->cap = r->cap ? 2 * r->cap : 4096;
                r->leaf = realloc(r->leaf, r->cap * sizeof *r->leaf);
                if (!r->leaf)
                    exit(2);
            }
            r->leaf[r->n++] = f;
        }
    }
    pl->n += r->n;
    cp_profile_free(p);
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* RUNS pseudo-runs of m_run draws, each from one random real run: per-run
 * counts into per[f * RUNS + i], pooled counts and values into cnt, val */
static void draw(const pool *pl, size_t m_run, double *per, double *cnt, double *val)
{
    memset(per, 0, MAXF * RUNS * sizeof *per);
    memset(cnt, 0, MAXF * sizeof *cnt);
    for (int i = 0; i < RUNS; i++) {
        const run *r = &pl->runs[next() % (uint64_t)pl->nruns];
        for (size_t k = 0; k < m_run; k++) {
            size_t f = r->leaf[next() % r->n];
            per[f * RUNS + i]++;
            cnt[f]++;
        }
    }
    for (size_t f = 0; f < nf; f++)
        val[f] = pl->count[f] > 0 ? cnt[f] * pl->value[f] / pl->count[f] : 0;
}

static int trial(const pool *b, size_t mb, const pool *n, size_t mn, double thr, double alpha)
{
    static double bc[MAXF], bv[MAXF], nc[MAXF], nv[MAXF], bp[MAXF * RUNS], np[MAXF * RUNS];
    draw(b, mb / RUNS, bp, bc, bv);
    draw(n, mn / RUNS, np, nc, nv);
    cp_gate_row rows[MAXF];
    for (size_t f = 0; f < nf; f++)
        rows[f] = (cp_gate_row){.name = fnames[f], .base_count = bc[f], .new_count = nc[f],
                                .base_value = bv[f], .new_value = nv[f]};
    const double *per[2] = {bp, np};
    size_t nprof[2] = {RUNS, RUNS};
    cp_gate_params gp = {.count_ratio = 1, .value_ratio = 1, .threshold = thr, .alpha = alpha,
                         .dispersion = cp_gate_dispersion(per, nprof, nf)};
    double cut;
    cp_gate_test(rows, nf, &gp, &cut);
    int flagged = 0;
    for (size_t f = 0; f < nf; f++)
        flagged |= rows[f].regressed;
    return flagged;
}

int main(int argc, char **argv)
{
    if (argc < 8) {
        fprintf(stderr, "usage: gate_trials M TRIALS THRESHOLD_PCT ALPHA NORMAL... -- SLOW...\n");
        return 2;
    }
    size_t m = strtoul(argv[1], NULL, 10);
    int trials = atoi(argv[2]);
    double thr = atof(argv[3]) / 100, alpha = atof(argv[4]);
    static pool pools[2];
    int which = 0;
    for (int i = 5; i < argc; i++) {
        if (!strcmp(argv[i], "--")) {
            which++;
            continue;
        }
        if (which > 1)
            return 2;
        add(&pools[which], argv[i]);
    }
    for (int k = 0; k < 2; k++)
        if (!pools[k].n) {
            fprintf(stderr, "gate_trials: an empty pool\n");
            return 2;
        }
    /* samples per run: the slow runs' extra time gives them more samples */
    double per_a = (double)pools[0].n / pools[0].nruns, per_s = (double)pools[1].n / pools[1].nruns;
    size_t ms = (size_t)llround((double)m * per_s / per_a);
    int fa = 0, det = 0;
    for (int t = 0; t < trials; t++) {
        fa += trial(&pools[0], m, &pools[0], m, thr, alpha);
        det += trial(&pools[0], m, &pools[1], ms, thr, alpha);
    }
    printf("gate: %zu samples a side (slow side %zu) in %d pseudo-runs drawn from %d normal "
           "and %d slow real runs (%zu and %zu samples), threshold %g%%, alpha %g\n",
           m, ms, RUNS, pools[0].nruns, pools[1].nruns, pools[0].n, pools[1].n, 100 * thr,
           alpha);
    printf("gate: detection of a 15%% slowdown in one function: %d/%d trials (goal >= 95)\n", det,
           trials);
    printf("gate: false alarms on same-work profiles: %d/%d trials (goal <= 2)\n", fa, trials);
    return 0;
}
