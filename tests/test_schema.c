/* The schema (harness/io/schema.h): the rows it writes are byte for byte those of the writer it
 * replaced (tests/csv_rows.golden.csv), its ids and names agree, and harness/io/schema.tsv (what
 * plot.py reads) is what `diagbench --schema` prints. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/io/csv_write.h"
#include "harness/io/schema.h"
#include "tests/helpers.h"

/* Representative rows: every emptiness rule on both sides of its edge. */
static struct db_row base(const char *status) {
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
        .residual = NAN,
        .newton_steps = -1,
        .converged = -1,
        .colours = 1,
        .colours_lower_bound = 1,
        .shard = "2/3",
        .matrix = "-n 4000 --band 1,2 'x y'",
        .matrix_id = "0123456789abcdef",
        .write_path = "stream/64",
        .write_ceiling_s = 1.25e-3,
    };
}

#define NROWS 16
static void rows(struct db_row *r) {
    r[0] = base("ok");
    r[1] = base("unsupported");
    r[1].note = "materialise: the primitive has\nno batching rule";
    r[2] = base("ok"); /* newton, converged */
    r[2].workload = "newton:split";
    r[2].strategy = "probe+diagonal";
    r[2].solver = "diagonal";
    r[2].residual = 2.5e-16;
    r[2].newton_steps = 7;
    r[2].converged = 1;
    r[2].write_path = NULL;
    r[3] = base("skipped_budget"); /* solve, not ok: only the solver */
    r[3].solver = "lu";
    r[3].residual = 1e-16;
    r[3].newton_steps = 3;
    r[3].converged = 0;
    r[4] = base("ok"); /* solve, ok, not applicable steps */
    r[4].solver = "lu";
    r[4].residual = INFINITY;
    r[4].newton_steps = -1;
    r[4].converged = -1;
    r[4].write_path = "";
    r[5] = base("ok"); /* non-finite timings, zero values */
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
    r[6] = base("ok"); /* call cost edges */
    r[6].call_cost_s = 0;
    r[7] = base("error");
    r[7].call_cost_s = 1e-5;
    r[8] = base("ok");
    r[8].call_cost_s = INFINITY;
    r[9] = base("ok");
    r[9].call_cost_s = NAN;
    r[9].colours = 0;
    r[9].colours_lower_bound = -1;
    r[10] = base("ok"); /* write ceiling edges */
    r[10].write_ceiling_s = 0;
    r[11] = base("ok");
    r[11].write_ceiling_s = INFINITY;
    r[12] = base("ok");
    r[12].write_ceiling_s = NAN;
    r[13] = base("error"); /* wrote nothing on a non-ok row */
    r[13].colours = 5;
    r[14] = (struct db_row){.status = "ok", .residual = NAN}; /* NULL text, zero numbers */
    r[15] = base("ok");                                       /* quoting everywhere */
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
Test(schema, rows_are_written_as_before) {
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
    free(want);
}

Test(schema, ids_names_and_header_agree) {
    cr_assert_eq(db_csv_column_count(), (size_t)DB_NCOLUMNS);
    size_t at = 0;
    for (int c = 0; c < DB_NCOLUMNS; c++) {
        const struct db_column *col = &db_schema[c];
        cr_assert_eq(db_schema_index(col->name), c, "%s: one name, one id", col->name);
        size_t n = strlen(col->name);
        cr_assert(strncmp(db_csv_header + at, col->name, n) == 0, "header column %d", c);
        at += n;
        cr_assert_eq(db_csv_header[at], c + 1 < DB_NCOLUMNS ? ',' : '\0');
        at++;
        cr_assert(*col->description, "%s has a description", col->name);
        cr_assert_null(strpbrk(col->description, "\t\r\n"), "%s: one line, no tab", col->name);
        cr_assert_eq(col->kind == DB_KIND_TEXT, col->ctype == DB_CT_TEXT, "%s", col->name);
    }
    cr_assert_eq(db_schema_index("no_such_column"), -1);
    cr_assert_eq(db_schema_index("operator"), DB_COL_operator);
    cr_assert_eq(db_schema[DB_COL_n].kind, DB_KIND_INTEGER);
    cr_assert_eq(db_schema[DB_COL_time_median_s].kind, DB_KIND_NUMBER);
    cr_assert_eq(db_schema[DB_COL_primitive_calls].kind, DB_KIND_INTEGER);
    cr_assert_eq(db_schema[DB_COL_write_path].kind, DB_KIND_TEXT);
    cr_assert_str_eq(db_kind_name(DB_KIND_NUMBER), "number");
}

/* plot.py reads harness/io/schema.tsv: regenerate it with `make schema` after changing the
 * columns (this test fails until then). */
Test(schema, committed_tsv_is_what_the_binary_prints) {
    static char out[1 << 16], err[4096];
    const char *a[] = {"--schema", NULL};
    cr_assert_eq(th_run(a, NULL, out, sizeof out, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(err, "");
    char *tsv = th_slurp("harness/io/schema.tsv");
    cr_assert_not_null(tsv, "harness/io/schema.tsv (run from the repository root)");
    cr_assert_str_eq(out, tsv,
                     "harness/io/schema.tsv differs from `diagbench --schema`: run `make schema`");
    cr_assert_eq(th_count_lines(tsv), DB_NCOLUMNS);
    free(tsv);
}
