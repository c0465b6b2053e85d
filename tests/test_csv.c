/* CSV writer: RFC 4180 quoting, header, empty numeric fields for non-ok rows, parse-back, and
 * the bytes of representative rows unchanged since the writer became a loop over the schema. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/io/csv_write.h"
#include "harness/bench/runner.h"
#include "tests/helpers.h"

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
        .bound_cpus = "0;1",
        .binding = "verified",
        .omp_wait_policy = "passive",
        .hwloc_version = "2.9.0",
        .openblas_config = "OpenBLAS 0.3.21 USE_OPENMP parallel=openmp",
        .cpu_governor = "",
        .colours = 1,
        .colours_lower_bound = 1,
        .shard = "2/3",
        .matrix = "-n 4000 --band 1,2 'x y'",
        .matrix_id = "0123456789abcdef",
        .write_path = "stream/64",
        .write_ceiling_s = 1.25e-3,
        .samples_s = "1.4e-06;1.5e-06;2e-06;1.5e-06;1.6e-06",
        .outliers = 1,
        .median_ci_pct = NAN,
        .worker_compute_s = NAN,
        .worker_threads = -1,
    };
}

static char *render(const struct db_row *r) {
    char *buf = th_own(db_csv_format_row(r), free);
    cr_assert_not_null(buf);
    return buf;
}

/* Representative rows: every emptiness rule of the schema on both sides of its edge. */
#define NROWS 16
static void rows(struct db_row *r) {
    r[0] = sample("ok");
    r[1] = sample("unsupported");
    r[1].note = "materialise: the primitive has\nno batching rule";
    r[2] = sample("ok"); /* newton, converged */
    r[2].workload = "newton:split";
    r[2].strategy = "probe+diagonal";
    r[2].solver = "diagonal";
    r[2].residual = 2.5e-16;
    r[2].newton_steps = 7;
    r[2].converged = 1;
    r[2].write_path = NULL;
    r[3] = sample("skipped_budget"); /* solve, not ok: only the solver */
    r[3].solver = "lu";
    r[3].residual = 1e-16;
    r[3].newton_steps = 3;
    r[3].converged = 0;
    r[4] = sample("ok"); /* solve, ok, not applicable steps */
    r[4].solver = "lu";
    r[4].residual = INFINITY;
    r[4].newton_steps = -1;
    r[4].converged = -1;
    r[4].write_path = "";
    r[5] = sample("ok"); /* non-finite timings, zero values */
    r[5].time_median_s = NAN;
    r[5].time_mean_s = INFINITY;
    r[5].time_min_s = -INFINITY;
    r[5].time_max_s = 0;
    r[5].time_stddev_s = -0.0;
    r[5].time_cv = 1e300;
    r[5].ns_per_element = -1;
    r[5].max_abs_err = NAN;
    r[5].primitive_calls = 18446744073709551615ULL;
    r[5].iterations = -9223372036854775807LL - 1;
    r[5].reps = -3;
    r[5].n = (size_t)-1;
    r[5].threads = -1;
    r[6] = sample("ok"); /* call cost edges */
    r[6].call_cost_s = 0;
    r[7] = sample("error");
    r[7].call_cost_s = 1e-5;
    r[8] = sample("ok");
    r[8].call_cost_s = INFINITY;
    r[9] = sample("ok");
    r[9].call_cost_s = NAN;
    r[9].colours = 0;
    r[9].colours_lower_bound = -1;
    r[10] = sample("ok"); /* write ceiling edges */
    r[10].write_ceiling_s = 0;
    r[11] = sample("ok");
    r[11].write_ceiling_s = INFINITY;
    r[12] = sample("ok");
    r[12].write_ceiling_s = NAN;
    r[13] = sample("error"); /* wrote nothing on a non-ok row */
    r[13].colours = 5;
    r[14] = (struct db_row){.status = "ok", .residual = NAN}; /* NULL text, zero numbers */
    r[15] = sample("ok");                                     /* quoting everywhere */
    r[15].run_id = "a,b";
    r[15].workload = "\"q\"";
    r[15].shard = "\r";
    r[15].write_path = "x,y";
    r[15].solver = "s\"s";
    r[15].residual = -2;
    r[15].newton_steps = 0;
    r[15].converged = 0;
    r[15].colours = 9223372036854775807LL;
}

/* tests/csv_rows.golden.csv was written by the hand-written db_csv_write_row this table
 * replaced; every row must come out the same, byte for byte. */
Test(csv, rows_are_written_as_before) {
    struct db_row r[NROWS];
    rows(r);
    char *got = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&got, &len);
    cr_assert_not_null(f);
    for (int i = 0; i < NROWS; i++)
        cr_assert_eq(db_csv_write_row(f, &r[i]), 0);
    fclose(f);
    char *want = th_slurp("tests/csv_rows.golden.csv");
    cr_assert_not_null(want, "tests/csv_rows.golden.csv (run from the repository root)");
    const char *g = got, *w = want;
    for (int line = 1; *g || *w; line++) {
        size_t gl = strcspn(g, "\n"), wl = strcspn(w, "\n");
        cr_assert(gl == wl && memcmp(g, w, gl) == 0, "line %d differs:\n got  %.*s\n want %.*s",
                  line, (int)gl, g, (int)wl, w);
        g += gl + (g[gl] != 0);
        w += wl + (w[wl] != 0);
    }
    cr_assert_eq(len, strlen(want));
    free(got);
    th_free(want);
}

static void destroy_csv_file(void *out) {
    db_csv_abandon(out); /* nothing left to do after a commit */
    free(out);
}

Test(csv, header_matches_design) {
    const char *design =
        "run_id,timestamp,workload,operator,jac,strategy,n,threads,proc_bind,places,status,reps,"
        "iterations,time_median_s,time_mean_s,time_min_s,time_max_s,time_stddev_s,time_cv,"
        "ns_per_element,primitive_calls,max_abs_err,host,cpu_model,compiler,git_rev";
    cr_assert(strncmp(db_csv_header, design, strlen(design)) == 0,
              "the seed design's columns come first, in order");
    cr_assert_eq(db_csv_header[strlen(design)], ',', "later columns are appended");
    const char *appended = ",call_cost_s,note,bound_cpus,binding,omp_wait_policy,hwloc_version,"
                           "openblas_config,cpu_governor,solver,residual,newton_steps,converged,"
                           "colours,colours_lower_bound,shard,matrix,matrix_id,write_path,"
                           "write_ceiling_s,samples_s,outliers,median_ci_pct,remote_transport,"
                           "remote_encoding,round_trip_s,worker,worker_checks,reference,"
                           "worker_compute_s,worker_cpus,worker_threads";
    cr_assert_str_eq(db_csv_header + strlen(design), appended, "appended columns, in order");
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
    cr_assert_str_eq(f[28], "0;1");
    cr_assert_str_eq(f[29], "verified");
    cr_assert_str_eq(f[30], "passive");
    cr_assert_str_eq(f[31], "2.9.0");
    cr_assert_str_eq(f[32], "OpenBLAS 0.3.21 USE_OPENMP parallel=openmp");
    cr_assert_str_eq(f[33], "");
    cr_assert_str_eq(f[th_csv_column("colours")], "1");
    cr_assert_str_eq(f[th_csv_column("colours_lower_bound")], "1");
    cr_assert_str_eq(f[th_csv_column("shard")], "2/3");
    cr_assert_str_eq(f[th_csv_column("matrix")], "-n 4000 --band 1,2 'x y'");
    cr_assert_str_eq(f[th_csv_column("matrix_id")], "0123456789abcdef");
    cr_assert_str_eq(f[th_csv_column("write_path")], "stream/64");
    cr_assert_str_eq(f[th_csv_column("write_ceiling_s")], "0.00125");
    cr_assert_str_eq(f[th_csv_column("samples_s")], "1.4e-06;1.5e-06;2e-06;1.5e-06;1.6e-06");
    cr_assert_str_eq(f[th_csv_column("outliers")], "1");
    cr_assert_str_eq(f[th_csv_column("median_ci_pct")], "", "NaN: fewer than 6 samples");
    cr_assert_str_eq(f[th_csv_column("remote_transport")], "", "not a remote workload: empty");
    cr_assert_str_eq(f[th_csv_column("round_trip_s")], "");
    cr_assert_str_eq(f[th_csv_column("worker")], "", "not a worker: empty");
    cr_assert_str_eq(f[th_csv_column("worker_compute_s")], "");
    cr_assert_str_eq(f[th_csv_column("worker_threads")], "");
    cr_assert_eq(th_csv_column("worker_threads"), (int)db_csv_column_count() - 1,
                 "the last column");
    th_free(line);
    /* a remote workload's row carries its transport, encoding and round trip */
    r.remote_transport = "tcp";
    r.remote_encoding = "json";
    r.round_trip_s = 2.5e-5;
    line = render(&r);
    line[strlen(line) - 1] = 0;
    cr_assert_eq(th_csv_split(line, buf, f, 64), (int)db_csv_column_count());
    cr_assert_str_eq(f[th_csv_column("remote_transport")], "tcp");
    cr_assert_str_eq(f[th_csv_column("remote_encoding")], "json");
    cr_assert_str_eq(f[th_csv_column("round_trip_s")], "2.5e-05");
    th_free(line);
    /* a worker's row carries its name, checks, reference, compute time and placement */
    r.worker = "torch-sin";
    r.worker_checks = "jvp-fd ok, dot ok, tag diagonal ok";
    r.reference = "worker";
    r.worker_compute_s = 1.25e-4;
    r.worker_cpus = "1";
    r.worker_threads = 1;
    line = render(&r);
    line[strlen(line) - 1] = 0;
    cr_assert_eq(th_csv_split(line, buf, f, 64), (int)db_csv_column_count());
    cr_assert_str_eq(f[th_csv_column("worker")], "torch-sin");
    cr_assert_str_eq(f[th_csv_column("worker_checks")], "jvp-fd ok, dot ok, tag diagonal ok");
    cr_assert_str_eq(f[th_csv_column("reference")], "worker");
    cr_assert_str_eq(f[th_csv_column("worker_compute_s")], "0.000125");
    cr_assert_str_eq(f[th_csv_column("worker_cpus")], "1");
    cr_assert_str_eq(f[th_csv_column("worker_threads")], "1");
    th_free(line);
    r.worker = r.worker_checks = r.reference = r.worker_cpus = NULL;
    r.worker_compute_s = NAN;
    r.worker_threads = -1;
    r.remote_transport = r.remote_encoding = NULL;
    r.round_trip_s = NAN;
    r.colours = 6;
    r.colours_lower_bound = -1; /* unknown: empty */
    line = render(&r);
    line[strlen(line) - 1] = 0;
    cr_assert_eq(th_csv_split(line, buf, f, 64), (int)db_csv_column_count());
    cr_assert_str_eq(f[th_csv_column("colours")], "6");
    cr_assert_str_eq(f[th_csv_column("colours_lower_bound")], "");
    th_free(line);
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
    cr_assert_str_eq(f[th_csv_column("colours")], "", "numeric appended columns are empty too");
    cr_assert_str_eq(f[th_csv_column("colours_lower_bound")], "");
    cr_assert_str_eq(f[10], "unsupported");
    cr_assert_str_eq(f[28], "0;1", "the configuration is recorded on every row");
    cr_assert_str_eq(f[29], "verified");
    th_free(line);
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
    th_own(buf, free);
    cr_assert_str_eq(buf, "plain|\"a,b\"|\"say \"\"hi\"\"\"|\"two\nlines\"");
    th_free(buf);
}

Test(csv, partial_file_renamed_on_commit) {
    const char *path = "csv_test.csv";
    char e[256];
    struct db_csv_file *out = th_own(calloc(1, sizeof *out), destroy_csv_file);
    cr_assert_not_null(out);
    remove(path);
    cr_assert_eq(db_csv_open(out, path, 1, e, sizeof e), 0, "%s", e);
    struct db_row r = sample("ok");
    char *line = render(&r);
    cr_assert_eq(db_csv_append_line(out, line), 0);
    th_free(line);
    char *partial = th_slurp("csv_test.csv.partial");
    cr_assert_not_null(partial, "rows are readable in the partial file before commit");
    cr_assert_eq(th_count_lines(partial), 2);
    th_free(partial);
    cr_assert_eq(db_csv_commit(out, e, sizeof e), 0, "%s", e);
    th_free(out);
    char *final = th_slurp(path);
    cr_assert_not_null(final);
    cr_assert_eq(th_count_lines(final), 2);
    th_free(final);
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
    /* mean 4 and the squared deviations 1, 9, 4, 36 are exact: sqrt(50/3) with two roundings
     * (the division, then the square root), here and in the reference: each within gamma_2 */
    double sd = sqrt((1.0 + 9 + 4 + 36) / 3);
    cr_assert(fabs(s.stddev - sd) <= 2 * th_gamma(2) * sd, "%.17g vs %.17g", s.stddev, sd);
    double a[] = {1, 2, NAN}, b[] = {1, 2.5, 3};
    cr_assert(isinf(db_max_abs_diff(a, b, 3)), "a NaN never passes a check");
    cr_assert_eq(db_max_abs_diff(a, b, 2), 0.5);
}

/* Appended downstream columns: empty on diagonal rows (solver NULL) and, except the solver, on
 * non-ok rows; filled on ok solve/newton rows. */
Test(csv, downstream_columns) {
    char hdr[1024];
    char *h[64];
    int nh = th_csv_split(db_csv_header, hdr, h, 64);
    cr_assert_gt(nh, 5);
    int c0 = th_csv_column("solver");
    cr_assert_str_eq(h[c0 - 1], "cpu_governor", "downstream columns come after the thread ones");
    cr_assert_str_eq(h[c0 + 1], "residual");
    cr_assert_str_eq(h[c0 + 2], "newton_steps");
    cr_assert_str_eq(h[c0 + 3], "converged");

    struct db_row plain = sample("ok");
    struct db_row newton = sample("ok");
    newton.workload = "newton:split";
    newton.strategy = "probe+diagonal";
    newton.solver = "diagonal";
    newton.residual = 2.5e-16;
    newton.newton_steps = 7;
    newton.converged = 1;
    struct db_row solve_skipped = sample("skipped_budget");
    solve_skipped.workload = "solve:sin";
    solve_skipped.strategy = "materialise+lu";
    solve_skipped.solver = "lu";
    solve_skipped.residual = 1e-16; /* must not leak into a non-ok row */
    solve_skipped.newton_steps = -1;
    solve_skipped.converged = -1;
    const char *want[3][4] = {
        {"", "", "", ""}, {"diagonal", "2.5e-16", "7", "1"}, {"lu", "", "", ""}};
    struct db_row *rows[3] = {&plain, &newton, &solve_skipped};
    for (int k = 0; k < 3; k++) {
        char *line = render(rows[k]);
        line[strlen(line) - 1] = 0;
        char buf[2048];
        char *f[64];
        cr_assert_eq(th_csv_split(line, buf, f, 64), nh, "%s", line);
        for (int c = 0; c < 4; c++)
            cr_assert_str_eq(f[c0 + c], want[k][c], "row %d column %s: %s", k, h[c0 + c], line);
        th_free(line);
    }
}
