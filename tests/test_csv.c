/* CSV writer: RFC 4180 quoting, header, empty numeric fields for non-ok rows, parse-back. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../harness/csv.h"
#include "../harness/runner.h"
#include "helpers.h"

static struct db_row sample(const char *status) {
    return (struct db_row){
        .run_id = "r1",
        .timestamp = "2026-11-25T00:00:00Z",
        .workload = "split",
        .operator_kind = "jacobian",
        .jac = "fwd",
        .strategy = "probe",
        .n = 4000,
        .threads = 2,
        .proc_bind = "close",
        .places = "cores",
        .status = status,
        .reps = 5,
        .iterations = 100,
        .time_median_s = 1.5e-6,
        .time_mean_s = 1.6e-6,
        .time_min_s = 1.4e-6,
        .time_max_s = 2e-6,
        .time_stddev_s = 1e-7,
        .time_cv = 0.0625,
        .ns_per_element = 0.375,
        .primitive_calls = 1,
        .max_abs_err = 2.2e-16,
        .host = "h",
        .cpu_model = "AMD EPYC, \"x\"",
        .compiler = "gcc 12 -O3",
        .git_rev = "abc",
        .call_cost_s = -1,
        .note = "",
        .colours = 1,
        .colours_lower_bound = 1,
    };
}

static char *render(const struct db_row *r) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cr_assert_eq(db_csv_write_row(f, r), 0);
    fclose(f);
    return buf;
}

Test(csv, header_matches_design) {
    const char *design =
        "run_id,timestamp,workload,operator,jac,strategy,n,threads,proc_bind,places,status,reps,"
        "iterations,time_median_s,time_mean_s,time_min_s,time_max_s,time_stddev_s,time_cv,"
        "ns_per_element,primitive_calls,max_abs_err,host,cpu_model,compiler,git_rev";
    cr_assert(strncmp(db_csv_header, design, strlen(design)) == 0,
              "DESIGN.md's columns come first, in order");
    cr_assert_eq(db_csv_header[strlen(design)], ',', "later columns are appended");
    const char *tail = ",call_cost_s,note,colours,colours_lower_bound";
    size_t h = strlen(db_csv_header), t = strlen(tail);
    cr_assert(h > t && strcmp(db_csv_header + h - t, tail) == 0, "appended after note: %s",
              db_csv_header);
}

/* Index of a column in the header. */
static int column(const char *name) {
    char buf[1024];
    char *f[64];
    int n = th_csv_split(db_csv_header, buf, f, 64);
    for (int i = 0; i < n; i++)
        if (strcmp(f[i], name) == 0) return i;
    cr_assert_fail("no column %s", name);
    return -1;
}

Test(csv, ok_row_round_trips) {
    struct db_row r = sample("ok");
    char *line = render(&r);
    size_t len = strlen(line);
    cr_assert_eq(line[len - 1], '\n');
    line[len - 1] = 0;
    char buf[2048];
    char *f[64];
    int n = th_csv_split(line, buf, f, 64);
    cr_assert_eq(n, (int)db_csv_column_count());
    cr_assert_str_eq(f[2], "split");
    cr_assert_str_eq(f[6], "4000");
    cr_assert_str_eq(f[10], "ok");
    cr_assert_eq(atof(f[13]), 1.5e-6);
    cr_assert_str_eq(f[20], "1");
    cr_assert_str_eq(f[23], "AMD EPYC, \"x\"", "quoted field with comma and quotes survives");
    cr_assert_str_eq(f[column("colours")], "1");
    cr_assert_str_eq(f[column("colours_lower_bound")], "1");
    free(line);
    r.colours = 6;
    r.colours_lower_bound = -1; /* unknown: empty */
    line = render(&r);
    line[strlen(line) - 1] = 0;
    cr_assert_eq(th_csv_split(line, buf, f, 64), (int)db_csv_column_count());
    cr_assert_str_eq(f[column("colours")], "6");
    cr_assert_str_eq(f[column("colours_lower_bound")], "");
    free(line);
}

Test(csv, non_ok_rows_have_empty_numbers) {
    struct db_row r = sample("unsupported");
    r.note = "materialise: the primitive has no batching rule";
    char *line = render(&r);
    line[strlen(line) - 1] = 0;
    char buf[2048];
    char *f[64];
    cr_assert_eq(th_csv_split(line, buf, f, 64), (int)db_csv_column_count());
    for (int i = 11; i <= 21; i++)
        cr_assert_str_eq(f[i], "", "column %d", i);
    cr_assert_str_eq(f[column("colours")], "", "numeric appended columns are empty too");
    cr_assert_str_eq(f[column("colours_lower_bound")], "");
    cr_assert_str_eq(f[10], "unsupported");
    free(line);
}

Test(csv, quoting) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    db_csv_field(f, "plain");
    fputc('|', f);
    db_csv_field(f, "a,b");
    fputc('|', f);
    db_csv_field(f, "say \"hi\"");
    fputc('|', f);
    db_csv_field(f, "two\nlines");
    fclose(f);
    cr_assert_str_eq(buf, "plain|\"a,b\"|\"say \"\"hi\"\"\"|\"two\nlines\"");
    free(buf);
}

Test(csv, partial_file_renamed_on_commit) {
    const char *path = "csv_test.csv";
    char e[256];
    struct db_csv_file out;
    remove(path);
    cr_assert_eq(db_csv_open(&out, path, 1, e, sizeof e), 0, "%s", e);
    struct db_row r = sample("ok");
    cr_assert_eq(db_csv_append(&out, &r), 0);
    char *partial = th_slurp("csv_test.csv.partial");
    cr_assert_not_null(partial, "rows are readable in the partial file before commit");
    cr_assert_eq(th_count_lines(partial), 2);
    free(partial);
    cr_assert_eq(db_csv_commit(&out, e, sizeof e), 0, "%s", e);
    char *final = th_slurp(path);
    cr_assert_not_null(final);
    cr_assert_eq(th_count_lines(final), 2);
    free(final);
    cr_assert_null(th_slurp("csv_test.csv.partial"));
    remove(path);
}

Test(stats, median_spread_and_errors) {
    double t[] = {3, 1, 2, 10};
    struct db_time_stats s;
    db_time_stats_compute(t, 4, &s);
    cr_assert_eq(s.median, 2.5);
    cr_assert_eq(s.min, 1);
    cr_assert_eq(s.max, 10);
    cr_assert_eq(s.mean, 4);
    cr_assert(fabs(s.stddev - sqrt(((1.0 + 9 + 4 + 36) / 3))) < 1e-12);
    double a[] = {1, 2, NAN}, b[] = {1, 2.5, 3};
    cr_assert(isinf(db_max_abs_diff(a, b, 3)), "a NaN never passes a check");
    cr_assert_eq(db_max_abs_diff(a, b, 2), 0.5);
}
