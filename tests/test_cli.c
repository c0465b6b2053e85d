/* The command line: bad input exits 2 with one line naming the value and what is allowed, and
 * leaves nothing behind; a good run writes a parseable CSV with the documented columns. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness/plan/cli.h"
#include "harness/io/csv_write.h"
#include "tests/helpers.h"

static char out[1 << 16], err[1 << 16];

static int exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

/* Run with args; expect exit 2, exactly one stderr line containing `needle`, empty stdout, and
 * no output file at out_path (nor its .partial). */
static void expect_usage_error(const char *const *args, const char *needle) {
    const char *path = "cli_test_out.csv";
    remove(path);
    int rc = th_run(args, NULL, out, sizeof out, err, sizeof err);
    cr_assert_eq(rc, 2, "exit %d for '%s' (stderr: %s)", rc, needle, err);
    cr_assert_eq(th_count_lines(err), 1, "one line expected, got: %s", err);
    cr_assert(strncmp(err, "diagbench: ", 11) == 0, "%s", err);
    cr_assert_not_null(strstr(err, needle), "'%s' not in: %s", needle, err);
    cr_assert_eq(out[0], 0, "nothing on stdout, got: %s", out);
    cr_assert(!exists(path) && !exists("cli_test_out.csv.partial"), "no file may be written");
}

/* Bad command lines: each exits 2 with one line containing needle (args are followed by
 * --out cli_test_out.csv, which must not be written). */
#define MAX_ARGS 6
static const struct usage_case {
    const char *needle;
    const char *args[MAX_ARGS];
} usage_cases[] = {
    /* sizes */
    {"'0'", {"-n", "0"}},
    {"'-5'", {"-n", "-5"}},
    {"'1e99'", {"-n", "1e99"}},
    {"'abc'", {"-n", "abc"}},
    {"'1.5'", {"-n", "10,1.5"}},
    {"1 to 100000000", {"-n", "100000001"}},
    {"'99999999999999999999999'", {"-n", "99999999999999999999999"}},
    {"empty list", {"-n", ""}},
    {"empty item", {"-n", "10,,20"}},
    {"empty item", {"-n", ","}},
    {"given twice", {"-n", "10,10"}},
    /* names */
    {"unknown workload 'tan'", {"-w", "tan", "-n", "10"}},
    {"expected one of sin, split, seqsin, nobatch", {"-w", "sin,tan", "-n", "10"}},
    {"unknown strategy 'guess'", {"-s", "guess", "-n", "10"}},
    {"expected one of materialise, probe", {"-s", "guess", "-n", "10"}},
    {"unknown operator 'sparse'", {"-p", "sparse", "-n", "10"}},
    {"unknown jac 'both'", {"-j", "both", "-n", "10"}},
    {"unknown matrix 'huge'", {"--matrix", "huge"}},
    {"empty list", {"-w", "", "-n", "10"}},
    {"unknown argument '--frobnicate'", {"--frobnicate"}},
    /* numbers and combinations */
    {"invalid value '0' in -t", {"-n", "10", "-t", "0"}},
    {"invalid value 'x' in --reps", {"-n", "10", "--reps", "x"}},
    {"invalid value '0' in --reps", {"-n", "10", "--reps", "0"}},
    {"--reps takes one number", {"-n", "10", "--reps", "3,4"}},
    {"invalid --min-time '-1'", {"-n", "10", "--min-time", "-1"}},
    {"invalid --call-cost-us 'slow'", {"-n", "10", "--call-cost-us", "slow"}},
    {"invalid --mem-limit '12Q'", {"-n", "10", "--mem-limit", "12Q"}},
    {"cannot be combined", {"--matrix", "quick", "-n", "10"}},
    {"nothing to run", {"--reps", "3"}},
};

Test(cli, bad_flags) {
    for (size_t i = 0; i < sizeof usage_cases / sizeof usage_cases[0]; i++) {
        const char *a[MAX_ARGS + 3] = {0};
        size_t n = 0;
        for (; n < MAX_ARGS && usage_cases[i].args[n]; n++)
            a[n] = usage_cases[i].args[n];
        a[n++] = "--out";
        a[n++] = "cli_test_out.csv";
        expect_usage_error(a, usage_cases[i].needle);
    }
    const char *a[] = {"-w", "sin", "-n", NULL};
    expect_usage_error(a, "-n needs a value");
}

Test(cli, unwritable_out) {
    const char *a[] = {"-w", "sin", "-s", "probe", "-n", "10", "--out", "/nonexistent-dir/x.csv",
                       NULL};
    int rc = th_run(a, NULL, out, sizeof out, err, sizeof err);
    cr_assert_eq(rc, 2, "%s", err);
    cr_assert_eq(th_count_lines(err), 1, "%s", err);
    cr_assert_not_null(strstr(err, "/nonexistent-dir/x.csv"), "%s", err);
    cr_assert_eq(out[0], 0);
}

Test(cli, help_list_version) {
    const char *h[] = {"--help", NULL};
    cr_assert_eq(th_run(h, NULL, out, sizeof out, err, sizeof err), 0);
    cr_assert_not_null(strstr(out, "usage: diagbench"));
    for (size_t i = 0; i < db_workload_count; i++) {
        const char *l[] = {"--list", NULL};
        cr_assert_eq(th_run(l, NULL, out, sizeof out, err, sizeof err), 0);
        cr_assert_not_null(strstr(out, db_workloads[i]->name));
    }
    const char *v[] = {"--version", NULL};
    cr_assert_eq(th_run(v, NULL, out, sizeof out, err, sizeof err), 0);
    cr_assert(strncmp(out, "diagbench ", 10) == 0);
    /* the libraries it was built against, by name and version */
    cr_assert_not_null(strstr(out, "\nGoogle Benchmark "), "%s", out);
    cr_assert_null(strstr(out, "Google Benchmark unknown"), "%s", out);
    cr_assert_not_null(strstr(out, ", hwloc "), "%s", out);
    cr_assert_not_null(strstr(out, ", OpenBLAS "), "%s", out);
    /* merge has its own help, on stdout, exit 0; nothing else on the line is checked */
    const char *m[] = {"merge", "--help", NULL};
    cr_assert_eq(th_run(m, NULL, out, sizeof out, err, sizeof err), 0, "%s", err);
    cr_assert(strncmp(out, "usage: diagbench merge FILE... -o OUT", 37) == 0, "%s", out);
    const char *m2[] = {"merge", "-h", "a.csv", "--bogus", NULL};
    cr_assert_eq(th_run(m2, NULL, out, sizeof out, err, sizeof err), 0, "%s", err);
    cr_assert_eq(err[0], '\0', "%s", err);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* samples_s holds reps values, and the row's median, min and max are computed from exactly those
 * values: they agree with them as printed (%.9g), digit for digit. */
static void check_samples(const char *samples, const char *reps, const char *med, const char *mn,
                          const char *mx) {
    double v[64];
    int k = 0;
    char *copy = th_alloc(strlen(samples) + 1), *save, *tok;
    strcpy(copy, samples);
    for (tok = strtok_r(copy, ";", &save); tok && k < 64; tok = strtok_r(NULL, ";", &save)) {
        char again[32];
        v[k] = strtod(tok, NULL);
        snprintf(again, sizeof again, "%.9g", v[k++]);
        cr_assert_str_eq(again, tok, "samples are printed with %%.9g");
    }
    th_free(copy);
    cr_assert_eq(k, atoi(reps), "samples_s '%s' for reps %s", samples, reps);
    qsort(v, (size_t)k, sizeof *v, cmp_double);
    char m[32], lo[32], hi[32];
    snprintf(m, sizeof m, "%.9g", k % 2 ? v[k / 2] : 0.5 * (v[k / 2 - 1] + v[k / 2]));
    snprintf(lo, sizeof lo, "%.9g", v[0]);
    snprintf(hi, sizeof hi, "%.9g", v[k - 1]);
    cr_assert_str_eq(m, med, "median of '%s'", samples);
    cr_assert_str_eq(lo, mn, "min of '%s'", samples);
    cr_assert_str_eq(hi, mx, "max of '%s'", samples);
}

Test(cli, run_writes_tidy_csv) {
    const char *path = "cli_run.csv";
    remove(path);
    const char *a[] = {"-w",     "sin,nobatch", "-s", "materialise,probe", "-j",   "fwd", "-n",
                       "10,200", "--reps",      "3",  "--min-time",        "1e-4", "-q",  "--out",
                       path,     NULL};
    int rc = th_run(a, NULL, out, sizeof out, err, sizeof err);
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert(!exists("cli_run.csv.partial"), "the partial file is renamed on success");
    char *text = th_slurp(path);
    cr_assert_not_null(text);
    char *save, *line = strtok_r(text, "\n", &save);
    cr_assert_str_eq(line, db_csv_header);
    int ncol = (int)db_csv_column_count(), rows = 0, ok = 0, unsupported = 0;
    int c_status = th_csv_column("status"), c_err = th_csv_column("max_abs_err"),
        c_calls = th_csv_column("primitive_calls"), c_med = th_csv_column("time_median_s"),
        c_strat = th_csv_column("strategy"), c_wl = th_csv_column("workload"),
        c_n = th_csv_column("n"), c_reps = th_csv_column("reps"),
        c_samples = th_csv_column("samples_s"), c_min = th_csv_column("time_min_s"),
        c_max = th_csv_column("time_max_s");
    while ((line = strtok_r(NULL, "\n", &save))) {
        char buf[4096];
        char *f[64];
        cr_assert_eq(th_csv_split(line, buf, f, 64), ncol, "row: %s", line);
        rows++;
        if (strcmp(f[c_status], "ok") == 0) {
            ok++;
            /* sin: |cos x| <= 1 from libmvec against scalar libm (th_entry_rel), as printed */
            cr_assert(atof(f[c_err]) <= th_csv_bound(th_entry_rel()), "%s", line);
            cr_assert(atof(f[c_med]) > 0, "%s", line);
            cr_assert_str_eq(f[c_reps], "3");
            check_samples(f[c_samples], f[c_reps], f[c_med], f[c_min], f[c_max]);
            if (strcmp(f[c_strat], "probe") == 0) cr_assert_str_eq(f[c_calls], "1");
        } else {
            cr_assert_str_eq(f[c_status], "unsupported", "%s", line);
            cr_assert_str_eq(f[c_wl], "nobatch");
            cr_assert_str_eq(f[c_strat], "materialise");
            cr_assert_str_eq(f[c_med], "", "numeric fields of non-ok rows are empty");
            cr_assert_str_eq(f[c_calls], "");
            cr_assert_str_eq(f[c_samples], "");
            unsupported++;
        }
        cr_assert(strcmp(f[c_n], "10") == 0 || strcmp(f[c_n], "200") == 0);
    }
    cr_assert_eq(rows, 8);
    cr_assert_eq(unsupported, 2);
    cr_assert_eq(ok, 6);
    th_free(text);
    remove(path);
}

Test(cli, memory_budget_skips_cells) {
    const char *a[] = {
        "-w", "sin",    "-s", "materialise,probe", "-j",   "fwd", "-n", "2000", "--mem-limit",
        "1M", "--reps", "1",  "--min-time",        "1e-4", "-q",  NULL};
    int rc = th_run(a, NULL, out, sizeof out, err, sizeof err);
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert_not_null(strstr(out, ",materialise,2000,"), "%s", out);
    cr_assert_not_null(strstr(out, "skipped_memory"), "%s", out);
    cr_assert_eq(th_count_lines(out), 3, "header + 2 rows: %s", out);
}
