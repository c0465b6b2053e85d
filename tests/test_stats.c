/* core/stats.h edge cases (n = 1, ties, all equal, too few samples) and db_cell_result_times; the
 * general cases are checked against scipy at test time by tests/test_compare.py. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/stats.h"
#include "core/status.h"
#include "harness/bench/cell.h"
#include "tests/helpers.h"

Test(stats, median_and_quantiles) {
    double one[] = {4}, two[] = {1, 2}, same[] = {3, 3, 3, 3}, four[] = {1, 2, 3, 4};
    cr_assert_eq(db_stats_median_sorted(one, 1), 4);
    cr_assert_eq(db_stats_median_sorted(two, 2), 1.5);
    cr_assert_eq(db_stats_median_sorted(same, 4), 3);
    cr_assert(isnan(db_stats_median_sorted(one, 0)));
    /* type 7: h = q (n - 1) = 0.75, so 1 + 0.75 (2 - 1); exact in binary */
    cr_assert_eq(db_stats_quantile_sorted(four, 4, 0.25), 1.75);
    cr_assert_eq(db_stats_quantile_sorted(four, 4, 1), 4);
    cr_assert_eq(db_stats_quantile_sorted(one, 1, 0.5), 4);
}

Test(stats, median_interval_from_order_statistics) {
    double v[17], lo, hi;
    for (int i = 0; i < 17; i++)
        v[i] = i + 1;
    /* n = 5: 2 P(B <= 0) = 2/32 > 0.05, no interval exists */
    cr_assert_eq(db_stats_median_ci(v, 5, 0.95, &lo, &hi), 0);
    cr_assert(isnan(lo) && isnan(hi));
    /* n = 6: 2/64 <= 0.05 but 2 * 7/64 > 0.05: l = 1, [x_(1), x_(6)] */
    cr_assert_eq(db_stats_median_ci(v, 6, 0.95, &lo, &hi), 1);
    cr_assert(lo == 1 && hi == 6);
    /* n = 17: P(B <= 4) = (1 + 17 + 136 + 680 + 2380) / 2^17 = 0.0245 (x2 <= 0.05) and
     * P(B <= 5) = 0.0717: l = 5, [x_(5), x_(13)] */
    cr_assert_eq(db_stats_median_ci(v, 17, 0.95, &lo, &hi), 5);
    cr_assert(lo == 5 && hi == 13);
    double same[8] = {2, 2, 2, 2, 2, 2, 2, 2};
    cr_assert_eq(db_stats_median_ci(same, 8, 0.95, &lo, &hi), 1);
    cr_assert(lo == 2 && hi == 2, "all equal: a zero-width interval");
}

Test(stats, tukey_fences) {
    double five[] = {1, 2, 3, 4, 100}, same[] = {7, 7, 7, 7, 7}, three[] = {1, 2, 1000};
    cr_assert_eq(db_stats_tukey_outliers(five, 5), 1); /* q1 2, q3 4: fences -1 and 7 */
    cr_assert_eq(db_stats_tukey_outliers(same, 5), 0);
    cr_assert_eq(db_stats_tukey_outliers(three, 3), 0, "fewer than 4: no quartiles to speak of");
}

Test(stats, mann_whitney_edge_cases) {
    double a[] = {1}, b[] = {2}, u1;
    /* one sample each: U = 0 or 1, each with probability 1/2: p = 2 * 1/2 = 1 */
    cr_assert_eq(db_stats_mwu(a, 1, b, 1, &u1), 1);
    cr_assert_eq(u1, 0);
    double same[] = {5, 5, 5};
    /* all equal: the tie-corrected variance is 0, z = -0.5/0 = -inf, p = 2 sf(-inf) clipped */
    cr_assert_eq(db_stats_mwu(same, 3, same, 3, &u1), 1);
    cr_assert_eq(u1, 4.5);
    double x[] = {1, 2, 3, 4}, y[] = {5, 6, 7, 8};
    /* separated, no ties, exact: 2 / C(8, 4) = 2/70; one rounding in the division, one in the
     * conversion of the counts (exact integers), so 2u relative */
    double p = db_stats_mwu(x, 4, y, 4, &u1);
    cr_assert(fabs(p - 2.0 / 70) <= 2 * TH_U * (2.0 / 70), "%.17g", p);
    cr_assert_eq(u1, 0);
    cr_assert_eq(db_stats_mwu_min_p(4, 4), 2.0 / 70);
    cr_assert(db_stats_mwu_min_p(3, 3) > 0.05, "3 per side can never reach 0.05");
    /* ties: x = 1, 2, 2 and y = 2, 3, 3 -> mid-ranks 1, 3, 3 | 3, 5.5, 5.5; U1 = 1, U = 8,
     * tie term 24 + 6 = 30, s = sqrt(9/12 (7 - 30/30)) = sqrt(4.5), z = (8 - 4.5 - 0.5)/s =
     * sqrt(2), p = 2 sf(sqrt 2) = erfc(1). A handful of roundings (sqrt, division, erfc's 1 ulp
     * and its argument's): 16u relative is a generous bound. */
    double tx[] = {1, 2, 2}, ty[] = {2, 3, 3};
    p = db_stats_mwu(tx, 3, ty, 3, &u1);
    cr_assert(fabs(p - erfc(1)) <= 16 * TH_U * erfc(1), "%.17g vs %.17g", p, erfc(1));
    cr_assert_eq(u1, 1);
    cr_assert(isnan(db_stats_mwu(tx, 0, ty, 3, NULL)));
}

Test(stats, benjamini_hochberg) {
    double p[] = {0.01, 0.04, 0.03, NAN}, adj[4];
    cr_assert_eq(db_stats_bh_adjust(p, 4, adj), DB_OK);
    /* k = 3 finite: 0.01 * 3/1, 0.03 * 3/2, 0.04 * 3/3, then the running minimum from the top;
     * one rounding per product and quotient: 2u relative */
    const double want[] = {0.03, 0.04, 0.04};
    for (int i = 0; i < 3; i++)
        cr_assert(fabs(adj[i] - want[i]) <= 2 * TH_U * want[i], "%d: %.17g", i, adj[i]);
    cr_assert(isnan(adj[3]));
}

Test(stats, ratio_interval) {
    double x[] = {1, 1, 1}, y[] = {2, 2, 2, 2}, lo, hi;
    cr_assert_eq(db_stats_ratio_ci(x, 3, y, 4, 0.95, 100, 1, &lo, &hi), DB_OK);
    cr_assert(lo == 2 && hi == 2, "constant samples: every resample has ratio 2");
    cr_assert_eq(db_stats_ratio_ci(x, 0, y, 4, 0.95, 100, 1, &lo, &hi), DB_E_INVALID);
    double a[] = {1, 2, 3, 4, 5}, b[] = {2, 4, 6, 8, 10}, lo2, hi2;
    cr_assert_eq(db_stats_ratio_ci(a, 5, b, 5, 0.95, 500, 42, &lo, &hi), DB_OK);
    cr_assert_eq(db_stats_ratio_ci(a, 5, b, 5, 0.95, 500, 42, &lo2, &hi2), DB_OK);
    cr_assert(lo == lo2 && hi == hi2, "the same seed, the same interval");
    cr_assert(lo <= 2 && 2 <= hi && lo > 0);
}

Test(stats, result_times_agree_with_samples) {
    struct db_cell_result *r = th_calloc(1, sizeof *r);
    db_cell_result_init(r);
    double t[] = {3e-6, 1.0 / 3, 2e-6};
    db_cell_result_times(r, t, 3);
    cr_assert_str_eq(r->samples, "3e-06;0.333333333;2e-06");
    cr_assert_eq(r->reps, 3);
    cr_assert_eq(r->t.median, 3e-6);
    cr_assert_eq(r->t.max, strtod("0.333333333", NULL), "the recorded value, not 1/3");
    cr_assert_eq(r->t.min, 2e-6);
    cr_assert_eq(r->outliers, 0);
    cr_assert(isnan(r->median_ci_pct), "3 samples: no 95%% interval");
    double one[] = {5e-7};
    db_cell_result_times(r, one, 1);
    cr_assert_str_eq(r->samples, "5e-07");
    cr_assert(r->t.median == 5e-7 && r->t.stddev == 0 && r->reps == 1);
}
