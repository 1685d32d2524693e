/* gate.h — the statistics of `cprof gate`: which functions grew beyond
 * both a threshold and sampling noise.
 *
 * Contract: the caller fills one cp_gate_row per function with its pooled
 * base and new sample counts (events: CPU samples, sampled allocations…)
 * and values (the reported sample type); cp_gate_test fills growth,
 * p-values and the verdicts.  The model: each side's count of a function
 * is Poisson with a mean proportional to that side's exposure (the number
 * of profiles, or with normalize the side's total count), so given the
 * function's total m = base + new, its new count is Binomial(m, r/(1+r))
 * with r = new exposure / base exposure when nothing changed.  A function
 * regresses when its value grew by more than threshold (a fraction) AND the
 * one-sided binomial p-value is below alpha / K, K the number of functions
 * tested (Bonferroni: alpha is the chance of any false alarm in one run of
 * the gate).  Improvements are found the same way on the other tail.
 * With several profiles a side, the counts' run-to-run spread beyond
 * Poisson (dispersion) widens the test.
 * Pure functions, no allocation.  [thread-safe]
 */
#ifndef CP_ANALYSIS_GATE_H
#define CP_ANALYSIS_GATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct cp_gate_row {
    const char *name;
    double base_count, new_count; /* events, pooled over the profiles */
    double base_value, new_value; /* the reported sample type, pooled */
    /* filled by cp_gate_test */
    double growth;     /* new_value / (base_value * value ratio) - 1; INFINITY when base is 0 */
    double p_up, p_down; /* one-sided p-values: grew, shrank */
    bool regressed, improved;
} cp_gate_row;

typedef struct cp_gate_params {
    double count_ratio; /* new exposure / base exposure, for the counts (> 0) */
    double value_ratio; /* the same for the values (> 0) */
    double threshold;   /* fraction: 0.05 = 5% */
    double alpha;       /* family-wise false-alarm rate, e.g. 0.01 */
    /* Run-to-run overdispersion: the variance of a function's count over
     * its mean, measured across the profiles of a side (1 = Poisson; 0 is
     * taken as 1).  Counts are divided by it before the binomial test
     * (quasi-Poisson), so noisy runs need a larger effect to be flagged. */
    double dispersion;
} cp_gate_params;

/* Pearson's estimate of the dispersion from per-profile counts: for each
 * side s with R_s >= 2 profiles and each function f whose mean count per
 * profile is >= 5, sum (c - mean)^2 / mean over the profiles, divided by
 * the degrees of freedom sum (R_s - 1).  counts[s][f * R_s + i] is function
 * f's count in profile i of side s.  Returns at least 1, or 1 when no side
 * has two profiles. */
double cp_gate_dispersion(const double *const counts[2], const size_t nprof[2], size_t nfunc);

/* Test every row; returns K, the number of rows tested (rows whose counts
 * are both 0 are skipped).  *cutoff receives alpha / K. */
size_t cp_gate_test(cp_gate_row *rows, size_t n, const cp_gate_params *p, double *cutoff);

/* P(X >= k) for X ~ Binomial(m, q), exact (log-space sum); k, m >= 0.
 * Non-integral counts are rounded. */
double cp_gate_binom_upper(double k, double m, double q);

#endif
