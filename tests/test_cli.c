/* The command line: bad input exits 2 with one line naming the value and what is allowed, and
 * leaves nothing behind; a good run writes a parseable CSV with the documented columns. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../harness/cli.h"
#include "../harness/csv.h"
#include "helpers.h"

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

#define BAD(needle, ...)                                                                           \
    do {                                                                                           \
        const char *a[] = {__VA_ARGS__, "--out", "cli_test_out.csv", NULL};                        \
        expect_usage_error(a, needle);                                                             \
    } while (0)

Test(cli, bad_sizes) {
    BAD("'0'", "-n", "0");
    BAD("'-5'", "-n", "-5");
    BAD("'1e99'", "-n", "1e99");
    BAD("'abc'", "-n", "abc");
    BAD("'1.5'", "-n", "10,1.5");
    BAD("1 to 100000000", "-n", "100000001");
    BAD("'99999999999999999999999'", "-n", "99999999999999999999999");
    BAD("empty list", "-n", "");
    BAD("empty item", "-n", "10,,20");
    BAD("empty item", "-n", ",");
    BAD("given twice", "-n", "10,10");
    const char *a[] = {"-w", "sin", "-n", NULL};
    expect_usage_error(a, "-n needs a value");
}

Test(cli, bad_names) {
    BAD("unknown workload 'tan'", "-w", "tan", "-n", "10");
    BAD("expected one of sin, split, seqsin, nobatch", "-w", "sin,tan", "-n", "10");
    BAD("unknown strategy 'guess'", "-s", "guess", "-n", "10");
    BAD("expected one of materialise, probe", "-s", "guess", "-n", "10");
    BAD("unknown operator 'sparse'", "-p", "sparse", "-n", "10");
    BAD("unknown jac 'both'", "-j", "both", "-n", "10");
    BAD("unknown matrix 'huge'", "--matrix", "huge");
    BAD("empty list", "-w", "", "-n", "10");
    BAD("unknown argument '--frobnicate'", "--frobnicate");
}

Test(cli, bad_numbers_and_combinations) {
    BAD("invalid value '0' in -t", "-n", "10", "-t", "0");
    BAD("invalid value 'x' in --reps", "-n", "10", "--reps", "x");
    BAD("invalid value '0' in --reps", "-n", "10", "--reps", "0");
    BAD("--reps takes one number", "-n", "10", "--reps", "3,4");
    BAD("invalid --min-time '-1'", "-n", "10", "--min-time", "-1");
    BAD("invalid --call-cost-us 'slow'", "-n", "10", "--call-cost-us", "slow");
    BAD("invalid --mem-limit '12Q'", "-n", "10", "--mem-limit", "12Q");
    BAD("cannot be combined", "--matrix", "quick", "-n", "10");
    BAD("nothing to run", "--reps", "3");
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
        c_n = th_csv_column("n"), c_reps = th_csv_column("reps");
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
            if (strcmp(f[c_strat], "probe") == 0) cr_assert_str_eq(f[c_calls], "1");
        } else {
            cr_assert_str_eq(f[c_status], "unsupported", "%s", line);
            cr_assert_str_eq(f[c_wl], "nobatch");
            cr_assert_str_eq(f[c_strat], "materialise");
            cr_assert_str_eq(f[c_med], "", "numeric fields of non-ok rows are empty");
            cr_assert_str_eq(f[c_calls], "");
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

Test(parse, sizes_and_ints) {
    size_t s[DB_MAX_LIST], n;
    char e[256];
    cr_assert_eq(db_parse_sizes("1,10,100000000", "-n", s, &n, e, sizeof e), DB_OK);
    cr_assert_eq(n, 3);
    cr_assert_eq(s[2], 100000000);
    const char *bad[] = {"",   "0",  "-1", "+1", " 1", "1 ", "1e3", "0x10", "18446744073709551617",
                         "1,", ",1", "a"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_eq(db_parse_sizes(bad[i], "-n", s, &n, e, sizeof e), DB_E_INVALID, "%s", bad[i]);
    int t[DB_MAX_LIST];
    cr_assert_eq(db_parse_ints("1,2,8", "-t", 1, 64, t, &n, e, sizeof e), DB_OK);
    cr_assert_eq(n, 3);
    cr_assert_eq(db_parse_ints("65", "-t", 1, 64, t, &n, e, sizeof e), DB_E_INVALID);
}
