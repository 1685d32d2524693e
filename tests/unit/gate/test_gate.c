/* test_gate.c — cprof gate's statistics (src/analysis/gate.c): the exact
 * binomial tail, and the verdicts of cp_gate_test on counts worked out by
 * hand. */
#include <criterion/criterion.h>
#include <math.h>

#include "analysis/gate.h"

static double exact_upper(int k, int m, double q)
{
    double s = 0;
    for (int j = k; j <= m; j++) {
        double c = 1;
        for (int i = 0; i < j; i++)
            c = c * (m - i) / (i + 1);
        s += c * pow(q, j) * pow(1 - q, m - j);
    }
    return s;
}

Test(gate, binomial_tail_exact)
{
    cr_assert_float_eq(cp_gate_binom_upper(8, 10, 0.5), 56.0 / 1024, 1e-15);
    cr_assert_eq(cp_gate_binom_upper(0, 10, 0.3), 1.0);
    cr_assert_eq(cp_gate_binom_upper(11, 10, 0.3), 0.0);
    cr_assert_float_eq(cp_gate_binom_upper(10, 10, 0.5), 1.0 / 1024, 1e-18);
    for (int m = 1; m <= 40; m += 13)
        for (int k = 0; k <= m; k++)
            for (double q = 0.1; q < 1; q += 0.2) {
                double want = exact_upper(k, m, q), got = cp_gate_binom_upper(k, m, q);
                cr_assert(fabs(got - want) <= 1e-12 + 1e-9 * want, "m=%d k=%d q=%g: %g vs %g", m,
                          k, q, got, want);
            }
    /* large counts: far tail tiny but positive, near the mean about half */
    double far = cp_gate_binom_upper(51000, 100000, 0.5); /* 6.3 sd: about 1.3e-10 */
    cr_assert(far > 1e-11 && far < 1e-9, "far tail %g", far);
    double mid = cp_gate_binom_upper(50000, 100000, 0.5);
    cr_assert(mid > 0.49 && mid < 0.51, "P(X >= mean) %g", mid);
}

Test(gate, verdicts)
{
    cp_gate_row r[3] = {
        {.name = "hot", .base_count = 1000, .new_count = 1300, .base_value = 1000, .new_value = 1300},
        {.name = "same", .base_count = 500, .new_count = 510, .base_value = 500, .new_value = 510},
        {.name = "gone", .base_count = 400, .new_count = 200, .base_value = 400, .new_value = 200},
    };
    cp_gate_params p = {.count_ratio = 1, .value_ratio = 1, .threshold = 0.05, .alpha = 0.01};
    double cut;
    cr_assert_eq(cp_gate_test(r, 3, &p, &cut), 3);
    cr_assert_float_eq(cut, 0.01 / 3, 1e-15);
    cr_assert(r[0].regressed && !r[1].regressed && !r[2].regressed);
    cr_assert(r[2].improved && !r[0].improved);
    cr_assert_float_eq(r[0].growth, 0.3, 1e-12);
    /* the p-value is the binomial tail with q = 1/2 */
    cr_assert_float_eq(r[0].p_up, cp_gate_binom_upper(1300, 2300, 0.5), 1e-18);
    /* growth above the threshold but within noise: not flagged */
    cp_gate_row small = {.name = "rare", .base_count = 5, .new_count = 8, .base_value = 5,
                         .new_value = 8};
    cp_gate_test(&small, 1, &p, &cut);
    cr_assert(!small.regressed && small.growth > 0.5);
    /* significant but below the threshold: not flagged */
    cp_gate_row big = {.name = "big", .base_count = 1e6, .new_count = 1.03e6, .base_value = 1e6,
                       .new_value = 1.03e6};
    cp_gate_test(&big, 1, &p, &cut);
    cr_assert(!big.regressed && big.p_up < 1e-9);
    /* two new profiles against one: exposure 2, twice the counts is no change */
    cp_gate_row two = {.name = "x", .base_count = 1000, .new_count = 2000, .base_value = 1000,
                       .new_value = 2000};
    cp_gate_params p2 = {.count_ratio = 2, .value_ratio = 2, .threshold = 0.05, .alpha = 0.01};
    cp_gate_test(&two, 1, &p2, &cut);
    cr_assert(!two.regressed && fabs(two.growth) < 1e-12 && two.p_up > 0.4);
}
