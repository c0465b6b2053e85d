/* The end-of-run summary (slopes from CSV rows) and the calibration kernels. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/bench/calibrate.h"
#include "harness/io/csv_write.h"
#include "harness/analysis/summary.h"
#include "tests/helpers.h"

/* How far db_fit_slope (the least-squares slope of log t against log n, about the means) can be
 * from p for points t_i = c n_i^p formed with k roundings. Exact logs would give deviations a_i
 * and p a_i, and the slope p exactly. Computed: each log within 1 ulp (2u |log|), the rounding of
 * t_i adds |log(1 + gamma_k)| <= gamma_2k to log t_i, the mean of m logs gamma_m + 2u, the
 * deviation one more rounding: |dx^_i - a_i| <= ex = (6u + gamma_m) Lx, |dy^_i - p a_i| <=
 * ey = gamma_2k + (6u + gamma_m) Ly (Lx, Ly the largest |log|). With S1 = sum |a_i|,
 * S2 = sum a_i^2 the two sums move by at most E1 = S1 (ey + p ex) + m ex ey and
 * E2 = 2 S1 ex + m ex^2, plus their own rounding gamma_m (Higham §3.1); then the quotient. */
static double slope_bound(const double *n, const double *t, size_t m, double p, int k) {
    double u = TH_U, lx = 0, ly = 0, mean = 0, s1 = 0, s2 = 0, gm = th_gamma((double)m);
    for (size_t i = 0; i < m; i++) {
        lx = fmax(lx, fabs(log(n[i])));
        ly = fmax(ly, fabs(log(t[i])));
        mean += log(n[i]) / (double)m;
    }
    for (size_t i = 0; i < m; i++) {
        double a = log(n[i]) - mean;
        s1 += fabs(a), s2 += a * a;
    }
    double ex = (6 * u + gm) * lx, ey = th_gamma(2 * k) + (6 * u + gm) * ly;
    double e1 = s1 * (ey + p * ex) + (double)m * ex * ey, e2 = 2 * s1 * ex + (double)m * ex * ex;
    e1 += gm * (p * s2 + e1), e2 += gm * (s2 + e2);
    return (e1 + p * e2) / (s2 - e2) * (1 + u) + u * p;
}

Test(summary, slope_of_power_laws) {
    double n[] = {1000, 2000, 4000, 8000}, t1[4], t2[4];
    for (int i = 0; i < 4; i++)
        t1[i] = 3e-9 * n[i], t2[i] = 5e-10 * n[i] * n[i];
    double s1 = db_fit_slope(n, t1, 4), s2 = db_fit_slope(n, t2, 4);
    double b1 = slope_bound(n, t1, 4, 1, 1), b2 = slope_bound(n, t2, 4, 2, 2);
    cr_assert(fabs(s1 - 1) <= b1, "slope %.17g, bound %g", s1, b1);
    cr_assert(fabs(s2 - 2) <= b2, "slope %.17g, bound %g", s2, b2);
    cr_assert(isnan(db_fit_slope(n, t1, 1)), "one point has no slope");
}

static void destroy_summary(void *s) {
    db_summary_destroy(s);
}

static void add_row(struct db_summary *s, const char *workload, const char *strategy, size_t n,
                    double t, const char *status) {
    struct db_row r = {
        .run_id = "r",
        .timestamp = "t",
        .workload = workload,
        .operator_kind = "jacobian",
        .jac = "fwd",
        .strategy = strategy,
        .n = n,
        .threads = 2,
        .proc_bind = "false",
        .places = "unset",
        .status = status,
        .reps = 3,
        .iterations = 1,
        .time_median_s = t,
        .time_mean_s = t,
        .time_min_s = t,
        .time_max_s = t,
        .host = "h",
        .cpu_model = "c",
        .compiler = "g",
        .git_rev = "x",
        .call_cost_s = -1,
        .note = "",
    };
    char *line = th_own(db_csv_format_row(&r), free);
    cr_assert_not_null(line);
    cr_assert_eq(db_summary_add_csv(s, line), DB_OK, "%s", line);
    th_free(line);
}

static void add(struct db_summary *s, const char *strategy, size_t n, double t) {
    add_row(s, "split", strategy, n, t, "ok");
}

/* The summary as printed, owned by the test's arena. */
static char *printed(const struct db_summary *s) {
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    cr_assert_not_null(f);
    db_summary_print(s, f);
    fclose(f);
    return th_own(text, free);
}

Test(summary, table_has_slopes_and_speedup) {
    struct db_summary *s = th_own(db_summary_create(1000), destroy_summary);
    cr_assert_not_null(s);
    for (size_t n = 1000; n <= 16000; n *= 2) {
        add(s, "materialise", n, 1e-9 * (double)n * (double)n);
        add(s, "probe", n, 1e-9 * (double)n);
    }
    cr_assert_eq(db_summary_add_csv(s, "not,a,row"), DB_E_INVALID);
    char *text = printed(s);
    cr_assert_not_null(strstr(text, "2.00"), "%s", text);
    cr_assert_not_null(strstr(text, "1.00"), "%s", text);
    /* the shared number format (tests/number_format.tsv, core/format.h) */
    cr_assert_not_null(strstr(text, "16,000\xc3\x97 (n=16000)"), "%s", text);
    cr_assert_not_null(strstr(text, "2.00 (5 sizes)"), "%s", text);
    cr_assert_not_null(strstr(text, "1.00 (5 sizes)"), "%s", text);
    th_free(text), th_free(s);
}

/* Only calibration rows (--calibrate alone): no table header without rows. */
Test(summary, calibration_alone_prints_no_empty_table) {
    struct db_summary *s = th_own(db_summary_create(1000), destroy_summary);
    cr_assert_not_null(s);
    add_row(s, "_calibrate", "memset", 1000, 1e-6, "ok");
    char *text = printed(s);
    cr_assert_null(strstr(text, "workload "), "%s", text);
    cr_assert_null(strstr(text, "summary: slope"), "%s", text);
    th_free(text), th_free(s);
}

/* A series without an ok row has no n_max (not "0"), and its cells not ok are counted in the
 * singular when there is one; a slope on 2 sizes says it has no CI. */
Test(summary, rows_not_ok_and_two_sizes) {
    struct db_summary *s = th_own(db_summary_create(1000), destroy_summary);
    cr_assert_not_null(s);
    add_row(s, "sin", "probe-checked", 1000, 0, "error");
    add_row(s, "seqsin", "probe", 1000, 1e-6, "ok");
    add_row(s, "seqsin", "probe", 2000, 2e-6, "ok");
    add_row(s, "seqsin", "probe", 4000, 0, "error");
    add_row(s, "seqsin", "probe", 8000, 0, "skipped_memory");
    char *text = printed(s);
    const char *sin = strstr(text, "\nsin "), *seqsin = strstr(text, "\nseqsin ");
    cr_assert(sin && seqsin, "%s", text);
    char line[512];
    snprintf(line, sizeof line, "%.*s", (int)strcspn(sin + 1, "\n"), sin + 1);
    cr_assert_not_null(strstr(line, "- (0 sizes)"), "%s", line);
    cr_assert_not_null(strstr(line, "(1 cell not ok)"), "%s", line);
    cr_assert_null(strstr(line, " 0 "), "no n_max 0: %s", line);
    snprintf(line, sizeof line, "%.*s", (int)strcspn(seqsin + 1, "\n"), seqsin + 1);
    cr_assert_not_null(strstr(line, "1.00 (2 sizes, no CI)"), "%s", line);
    cr_assert_not_null(strstr(line, "(2 cells not ok)"), "%s", line);
    cr_assert_not_null(strstr(line, " 2000 "), "n_max of the ok rows: %s", line);
    cr_assert_not_null(strstr(line, "2 \xc2\xb5s"), "t(n_max): %s", line);
    th_free(text), th_free(s);
}

Test(calibrate, kernels_run_and_are_checked) {
    struct db_run_opts o = {.reps = 2, .min_time_s = 1e-4, .mem_budget = 1ull << 30};
    size_t sizes[] = {300, 40};
    struct db_calibration c[DB_CALIBRATION_FIXED + 4];
    cr_assert_eq(db_calibration_count(2), DB_CALIBRATION_FIXED + 4);
    size_t count = 0;
    cr_assert_eq(db_calibrate(&o, 5000, sizes, 2, c, &count), DB_OK);
    const char *names[] = {"cos_loop", "sin_loop",        "cos_jvp_loop",  "memset",
                           "nt_fill",  "memset",          "nt_fill",       "copy",
                           "wrapper",  "wrapper_batched", "native_gbench", "plain_loop"};
    cr_assert_eq(count, 12);
    for (size_t i = 0; i < count; i++) {
        cr_assert_str_eq(c[i].kernel, names[i]);
        cr_assert_str_eq(c[i].r.status, "ok", "%s: %s", c[i].kernel, c[i].r.note);
        cr_assert(c[i].r.t.median > 0, "%s", c[i].kernel);
        /* the libm loops (libmvec) against scalar libm: <= 4 + 1 ulp of |sin|, |cos| <= 1
         * (cos * 1.0 is exact); memset and copy compare exact values */
        double bound = i < 3 ? th_gamma(2 * (TH_MVEC_ULPS + TH_LIBM_ULPS)) : 0;
        cr_assert(c[i].r.max_abs_err <= bound, "%s err %g > %g", c[i].kernel, c[i].r.max_abs_err,
                  bound);
    }
    cr_assert_eq(c[3].n, 300 * 300);
    cr_assert_eq(c[4].n, 300 * 300);
    cr_assert_eq(c[5].n, 40 * 40);
    cr_assert_eq(c[4].bytes, 300.0 * 300 * sizeof(double));
    cr_assert_eq(c[7].bytes, 2.0 * 300 * 300 * sizeof(double), "copy (largest n) reads and writes");
}

Test(calibrate, buffers_respect_the_memory_budget) {
    struct db_run_opts o = {.reps = 1, .min_time_s = 1e-4, .mem_budget = 1000};
    size_t sizes[] = {300};
    struct db_calibration c[DB_CALIBRATION_FIXED + 2];
    size_t count = 0;
    db_calibrate(&o, 100, sizes, 1, c, &count);
    for (size_t i = 3; i < 6; i++) /* memset, nt_fill, copy */
        cr_assert_str_eq(c[i].r.status, "skipped_memory", "%s", c[i].kernel);
}
