/* gate.c — the regression test of `cprof gate`.
 *
 * What: a conditional binomial test per function on sample counts, with a
 * Bonferroni cutoff over the functions tested, plus a growth threshold on
 * the values.  Data structure: a caller-filled array of rows.
 * Why this test: sample counts of a function in two profiles are (close
 * to) Poisson; conditioning on their sum removes the unknown rate and
 * leaves an exact binomial law that needs no normal approximation, so it is
 * right for rare functions (a function absent from the base with 5 new
 * samples) as for hot ones.  Alternatives rejected: a bare percentage
 * (fails on noise for small functions), a z-test on shares (wrong for small
 * counts), permutation tests (need the raw samples of several runs, and
 * cost more than the recording).
 */
#include <math.h>

#include "analysis/gate.h"

/* log of the Binomial(m, q) probability of exactly k */
static double log_pmf(double k, double m, double q)
{
    return lgamma(m + 1) - lgamma(k + 1) - lgamma(m - k + 1) + k * log(q) + (m - k) * log1p(-q);
}

double cp_gate_binom_upper(double k, double m, double q)
{
    k = round(k);
    m = round(m);
    if (k <= 0)
        return 1.0;
    if (k > m)
        return 0.0;
    if (q <= 0)
        return 0.0;
    if (q >= 1)
        return 1.0;
    double mean = m * q;
    if (k <= mean) /* the upper tail holds at least about half: 1 - P(X <= k-1) */
        return 1.0 - cp_gate_binom_upper(m - k + 1, m, 1.0 - q);
    /* k above the mean: terms fall monotonically from k on; sum them
     * relative to the first, stop when they no longer count */
    double l0 = log_pmf(k, m, q), sum = 0, t = 1;
    for (double j = k; j <= m; j++) {
        sum += t;
        /* pmf(j+1)/pmf(j) = (m-j)/(j+1) * q/(1-q) */
        t *= (m - j) / (j + 1) * q / (1 - q);
        if (t < sum * 1e-17)
            break;
    }
    double r = exp(l0 + log(sum));
    return r > 1 ? 1 : r;
}

size_t cp_gate_test(cp_gate_row *rows, size_t n, const cp_gate_params *p, double *cutoff)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (rows[i].base_count > 0 || rows[i].new_count > 0)
            k++;
    double cut = k ? p->alpha / (double)k : p->alpha;
    double q = p->count_ratio / (1.0 + p->count_ratio);
    double phi = p->dispersion > 1 ? p->dispersion : 1;
    for (size_t i = 0; i < n; i++) {
        cp_gate_row *r = &rows[i];
        r->regressed = r->improved = false;
        r->p_up = r->p_down = 1;
        double expect = r->base_value * p->value_ratio;
        r->growth = expect != 0 ? r->new_value / expect - 1
                                : (r->new_value > 0 ? INFINITY : 0);
        if (r->base_count <= 0 && r->new_count <= 0)
            continue;
        /* quasi-Poisson: counts in units of the dispersion */
        double b = round(r->base_count / phi), nw = round(r->new_count / phi), m = b + nw;
        r->p_up = cp_gate_binom_upper(nw, m, q);
        /* shrank: P(new <= observed) = P(base >= observed base) under the
         * mirrored law */
        r->p_down = cp_gate_binom_upper(b, m, 1 - q);
        r->regressed = r->growth > p->threshold && r->p_up < cut;
        r->improved = r->growth < -p->threshold / (1 + p->threshold) && r->p_down < cut;
    }
    *cutoff = cut;
    return k;
}

double cp_gate_dispersion(const double *const counts[2], const size_t nprof[2], size_t nfunc)
{
    double chi2 = 0, df = 0;
    for (int s = 0; s < 2; s++) {
        size_t r = nprof[s];
        if (r < 2 || !counts[s])
            continue;
        for (size_t f = 0; f < nfunc; f++) {
            const double *c = counts[s] + f * r;
            double mean = 0;
            for (size_t i = 0; i < r; i++)
                mean += c[i];
            mean /= (double)r;
            if (mean < 5)
                continue;
            for (size_t i = 0; i < r; i++)
                chi2 += (c[i] - mean) * (c[i] - mean) / mean;
            df += (double)(r - 1);
        }
    }
    double phi = df > 0 ? chi2 / df : 1;
    return phi > 1 ? phi : 1;
}
