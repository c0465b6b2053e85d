/* The sequential rule of `diagbench compare --sequential MIN:MAX` and `scripts/ab.sh --adaptive`
 * (README: Comparing runs, "Adaptive A/B"): the two sides run round by round, one run of each per
 * round, and after every round from MIN runs per side each cell still open is tested; a cell whose
 * verdict is settled is dropped from later rounds.
 *
 * Per cell, at a look with n runs per side (runs = the samples: the cell's median in each run):
 *   - statistic, on the per-run medians, two-sided, by the number of runs per side:
 *     - 3 to 5: Yuen's trimmed t on their logarithms (Welch's t on 20%-trimmed means with the
 *       winsorised variance, as scipy.stats.ttest_ind(equal_var=False, trim=0.2); floor(0.2 n)
 *       runs cut at each end: none below 5, one at 5). Ratio = exp(difference of the trimmed
 *       means), CI at level 1 - 2 a_j = exp(difference +- t * SE). Not a rank test: the exact
 *       Mann-Whitney p-value cannot go below 2 / C(2n, n), 0.1 at 3 runs per side and 0.029 at
 *       4, while a look spends a fraction of alpha. A disturbed run inflates its side's variance
 *       and keeps the cell open rather than deciding it.
 *     - 6 and more (DB_SEQ_RANK_FROM): Mann-Whitney U (db_stats_mwu, scipy's defaults); ratio =
 *       the Hodges-Lehmann estimate exp(median of the n^2 differences of the logs), CI = the
 *       distribution-free Moses interval of those differences at level 1 - 2 a_j (exact U
 *       distribution). Ranks because on a loaded machine a cell's runs are bimodal: in one study
 *       3-5 of 10 runs per side were 60% slower (the busy-wait preempted), which defeats means
 *       even trimmed ones (a first version with Yuen's t at every look left 17 of 40 planted
 *       cells undecided after 10 runs in that study), and not ranks. From 6 runs per side the
 *       exact U reaches the looks' levels (2 / C(12, 6) = 0.0022).
 *     Which test a look uses depends only on n, fixed in advance, so the error bounds below hold
 *     look by look whatever the data.
 *   - alpha spending: look j (n_j = MIN + j - 1 runs per side) spends
 *     a_j = A(n_j / MAX) - A(n_{j-1} / MAX), A(t) = alpha * ln(1 + (e - 1) t), the Lan-DeMets
 *     spending function of Pocock type (A(0) = 0, A(1) = alpha). Each look tests at its own a_j,
 *     and a cell's probability of a false verdict over all its looks is at most
 *     sum_j a_j = A(n_last / MAX) <= alpha by the union bound (Bonferroni over the looks). The
 *     bound needs no model of how the looks' statistics are correlated (the exact
 *     group-sequential boundaries would, and would be less conservative). It holds as far as the
 *     t approximation of the statistic does; tests/test_adaptive.py measures the A/A rate by
 *     simulation against scipy (no false verdict in 2,000 cells).
 *   - multiplicity across cells: at each look, Benjamini-Hochberg at level a_j over the p-values
 *     of the cells open at that look. In an A/A comparison (no cell changed) BH at level a_j makes
 *     any false verdict at that look at most a_j likely (Simes), so over the looks at most alpha:
 *     the fixed design's guarantee survives the repeated looks.
 *   - verdicts: "slower" / "faster" when BH rejects at a_j and the ratio is outside 1 +- m
 *     (rule "difference"); "no change" when the CI at level 1 - 2 a_j lies inside [1 - m, 1 + m]
 *     (rule "equivalence": two one-sided tests, TOST, each at a_j; a cell whose true change is m or
 *     more is declared "no change" with probability at most alpha over all looks, by the same
 *     union bound); otherwise the cell stays open. A cell not ok on a side is undecided at once
 *     (rule "status"); one still open after MAX runs per side is undecided (rule "max runs").
 *   m is --min-effect, 3% unless given: with a run-to-run standard deviation of about 1% of the
 *   median (0.4-1.4% on a quiet machine), the CI of three runs per side at the first look's level
 *   is about +-2.5 standard deviations wide, so a smaller margin leaves most unchanged cells open
 *   for many rounds. */
#ifndef DB_SEQUENTIAL_H
#define DB_SEQUENTIAL_H

#include <stddef.h>

/* The default margin of --sequential (percent), when --min-effect is not given. */
#define DB_SEQ_DEFAULT_MARGIN_PCT 3.0
/* The smallest MIN: Welch's t needs two runs per side for a variance; three give it 2-4 degrees of
 * freedom. */
#define DB_SEQ_MIN_RUNS 3
#define DB_SEQ_MAX_RUNS 100

struct db_seq_design {
    size_t min_runs, max_runs; /* MIN:MAX runs per side */
    double alpha;              /* total level spent over the looks */
    double margin_pct;         /* m */
};

/* The level a_j spent at the look with n runs per side (0 below min_runs or above max_runs). */
double db_seq_level(const struct db_seq_design *d, size_t n);

/* The fraction of runs trimmed at each end of a side (Yuen's test). */
#define DB_SEQ_TRIM 0.2

/* Yuen's trimmed t (DB_SEQ_TRIM) on log(x) (base, m values) against log(y) (new, k values),
 * m, k >= 2, all > 0: the two-sided p-value, the ratio exp(trimmed mean log y - trimmed mean
 * log x) and its CI at level 1 - 2 * level (lo, hi). DB_E_INVALID when a side has fewer than 2
 * values or a value is not positive. A side without spread on both sides gives p = 1 and the CI
 * [ratio, ratio] when the means agree, p = 0 otherwise. */
int db_seq_welch(const double *x, size_t m, const double *y, size_t k, double level, double *p,
                 double *ratio, double *lo, double *hi);

/* From this many runs per side on, a look uses the rank test (db_seq_rank) instead of Yuen's t. */
#define DB_SEQ_RANK_FROM 6

/* Mann-Whitney U on x (base, m) against y (new, k), all > 0: the two-sided p-value as
 * core/stats.h's db_stats_mwu (scipy.stats.mannwhitneyu's defaults), the Hodges-Lehmann ratio
 * exp(median of the m k differences log y_j - log x_i) and its distribution-free (Moses) CI at
 * level 1 - 2 * level: [d_(c), d_(mk + 1 - c)] of the sorted differences, c the largest count
 * with P(U <= c - 1) <= level (exact U distribution); lo = 0, hi = inf when even c = 1 is too
 * wide a tail. */
int db_seq_rank(const double *x, size_t m, const double *y, size_t k, double level, double *p,
                double *ratio, double *lo, double *hi);

/* Student's t distribution: P(T > t) for df > 0, and its inverse (the t with P(T > t) = q, for
 * 0 < q < 1). */
double db_student_t_sf(double t, double df);
double db_student_t_isf(double q, double df);

#endif
