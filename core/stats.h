/* Statistics for timing samples, pure C (no I/O): order statistics, a distribution-free confidence
 * interval for the median, Tukey's fences, the Mann-Whitney U test exactly as
 * scipy.stats.mannwhitneyu(x, y) computes it by default (Google Benchmark's compare.py uses it),
 * a percentile-bootstrap interval for a ratio of medians and the Benjamini-Hochberg adjustment.
 * Used by the repetition loop (harness/bench/repeat.c) and `diagbench compare`
 * (harness/analysis/compare.c); tests/test_compare.py checks them against scipy at test time. */
#ifndef DB_STATS_H
#define DB_STATS_H

#include <stddef.h>
#include <stdint.h>

/* Sort v ascending (NaN must not occur). */
void db_stats_sort(double *v, size_t n);

/* Median of a sorted array (mean of the two middle values when n is even); NaN when n == 0. */
double db_stats_median_sorted(const double *v, size_t n);

/* Quantile q in [0, 1] of a sorted array, linear interpolation between order statistics
 * (numpy.quantile's default, Hyndman-Fan type 7); NaN when n == 0. */
double db_stats_quantile_sorted(const double *v, size_t n, double q);

/* Distribution-free confidence interval for the median from order statistics: with B ~
 * Binomial(n, 1/2), l is the largest j >= 1 with 2 P(B <= j - 1) <= 1 - conf, and the interval is
 * [x_(l), x_(n+1-l)] (1-based order statistics), whose coverage is >= conf for any continuous
 * distribution. Returns l, or 0 when no such j exists (n too small: n < 6 for conf = 0.95), and
 * then *lo = *hi = NaN. */
size_t db_stats_median_ci(const double *sorted, size_t n, double conf, double *lo, double *hi);

/* That interval's half-width as a percentage of the median: 100 max(median - lo, hi - median) /
 * median (the column median_ci_pct, and what --precision compares with its target). NaN when
 * there is no interval (db_stats_median_ci returns 0). */
double db_stats_median_ci_pct(const double *sorted, size_t n, double conf);

/* Tukey's fences: the values of a sorted array below q1 - 1.5 IQR or above q3 + 1.5 IQR (q1, q3
 * as db_stats_quantile_sorted). Returns their count; 0 when n < 4. */
size_t db_stats_tukey_outliers(const double *sorted, size_t n);

/* Two-sided Mann-Whitney U test of x (m values) against y (n values), as
 * scipy.stats.mannwhitneyu(x, y, alternative='two-sided') with its defaults (method 'auto',
 * use_continuity=True) computes it (scipy 1.10, stats/_mannwhitneyu.py):
 *   - exact when min(m, n) <= 8 and there are no ties: p = 2 P(U <= min(U1, U2)) under H0,
 *     counted exactly (128-bit integers; the U distribution's generating function is the
 *     Gaussian binomial coefficient);
 *   - otherwise the normal approximation with the tie correction and the continuity correction:
 *     z = (max(U1, U2) - mn/2 - 1/2) / sqrt(mn/12 ((N + 1) - sum(t^3 - t) / (N (N - 1)))),
 *     p = 2 sf(z), clipped to [0, 1].
 * *u1 (may be NULL) receives U1 = R1 - m (m + 1) / 2, R1 the rank sum of x (mid-ranks for ties).
 * Returns NaN when m or n is 0, or out of memory. */
double db_stats_mwu(const double *x, size_t m, const double *y, size_t n, double *u1);

/* The smallest two-sided p-value the exact test can give for m and n samples: 2 / C(m + n, m),
 * at most 1. Below alpha only with m, n >= 4 when alpha = 0.05 and m = n. */
double db_stats_mwu_min_p(size_t m, size_t n);

/* 95%-style percentile-bootstrap interval for median(y) / median(x): `resamples` times, resample
 * x and y independently with replacement (core/rng.h, from seed), take the ratio of the medians;
 * the interval is the (1 - conf)/2 and (1 + conf)/2 quantiles of those ratios (type 7).
 * DB_OK, or DB_E_INVALID (m, n or resamples 0), DB_E_NOMEM. */
int db_stats_ratio_ci(const double *x, size_t m, const double *y, size_t n, double conf,
                      int resamples, uint64_t seed, double *lo, double *hi);

/* Benjamini-Hochberg adjusted p-values (false discovery rate; as
 * scipy.stats.false_discovery_control and R's p.adjust(method = "BH")): adj_(i) =
 * min_{j >= i} min(1, p_(j) k / j) over the k finite p-values sorted ascending; NaN entries stay
 * NaN and are not counted. DB_OK or DB_E_NOMEM. */
int db_stats_bh_adjust(const double *p, size_t k, double *adj);

#endif
