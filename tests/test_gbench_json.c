/* Google Benchmark's side of the command line (--benchmark_* flags mapped onto ours or refused,
 * argv left intact for the plan), the JSON entries of one cell (gbench_json.h) and the progress
 * ETA (progress.h). The whole run -- a sweep into one file that Google Benchmark's compare.py
 * reads, the numbering across a sweep, --fail-on-error -- is tests/test_gbench_json.py. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/status.h"
#include "harness/app/progress.h"
#include "harness/bench/gbench.h"
#include "harness/io/gbench_json.h"
#include "harness/plan/plan.h"
#include "tests/helpers.h"

static void free_cli(void *p) {
    free(p);
}

static struct db_cli *parse(int argc, char **argv) {
    struct db_cli *cli = th_own(calloc(1, sizeof *cli), free_cli);
    char err[512] = "";
    cr_assert_eq(db_cli_parse(argc, argv, cli, err, sizeof err), DB_OK, "%s", err);
    return cli;
}

/* Every supported flag becomes the option it stands for, and is recorded as that option: the
 * matrix names --reps / --min-time, never a --benchmark_ flag (two or more of them used to
 * corrupt it, Initialize compacting the argv the plan read). */
Test(gbench_flags, map_onto_options) {
    char *argv[] = {"diagbench",
                    "-w",
                    "sin",
                    "-n",
                    "10",
                    "--benchmark_repetitions=7",
                    "--benchmark_min_time=0.25s",
                    "--benchmark_out=x.json",
                    "--benchmark_out_format=json",
                    "--benchmark_report_aggregates_only=true",
                    NULL};
    char *copy[11];
    memcpy(copy, argv, sizeof copy);
    struct db_cli *cli = parse(10, argv);
    cr_expect_eq(cli->run.reps, 7);
    cr_expect_eq(cli->run.min_time_s, 0.25);
    cr_expect_str_eq(cli->json, "x.json");
    cr_expect_eq(cli->json_aggregates_only, 1);
    cr_expect_eq(cli->gb_argc, 1, "nothing is left for Google Benchmark's Initialize");
    char *m = NULL;
    cr_assert_eq(db_plan_matrix_string(cli, &m), DB_OK);
    th_own(m, free);
    cr_expect_not_null(strstr(m, "--reps 7 --min-time 0.25"), "%s", m);
    cr_expect_null(strstr(m, "--benchmark"), "%s", m);
    for (int i = 0; i < 10; i++)
        cr_expect_eq(argv[i], copy[i], "argv[%d] was changed", i);
    char *aliases[] = {"diagbench", "-n", "10", "--benchmark_min_time=0.5", NULL};
    cr_expect_eq(parse(4, aliases)->run.min_time_s, 0.5, "Google Benchmark 1.7's plain seconds");
}

/* Initialize removes the flags it knows from the array it is given: ours is a copy. */
Test(gbench_flags, init_leaves_argv_alone) {
    char a0[] = "diagbench", a1[] = "--benchmark_repetitions=2", a2[] = "--benchmark_min_time=0.01";
    char *argv[] = {a0, a1, a2, NULL};
    char msg[256] = "";
    cr_assert_eq(db_gbench_init(3, argv, msg, sizeof msg), DB_OK, "%s", msg);
    cr_expect(argv[0] == a0 && argv[1] == a1 && argv[2] == a2 && argv[3] == NULL);
    cr_expect_str_eq(argv[1], "--benchmark_repetitions=2");
}

/* The lines appended for one cell, read back from a temporary file. */
static char *entries(const struct db_json_cell *c) {
    FILE *t = tmpfile();
    cr_assert_not_null(t);
    cr_assert_eq(db_json_append_cell(fileno(t), c), DB_OK);
    long len = ftell(t);
    rewind(t);
    char *buf = th_calloc((size_t)len + 1, 1);
    cr_assert_eq(fread(buf, 1, (size_t)len, t), (size_t)len);
    fclose(t);
    return buf;
}

static double field(const char *line, const char *key) {
    const char *p = strstr(line, key);
    cr_assert_not_null(p, "%s not in %s", key, line);
    return strtod(p + strlen(key), NULL);
}

Test(gbench_json, one_cell) {
    struct db_cell_result *r = th_calloc(1, sizeof *r);
    db_cell_result_init(r);
    snprintf(r->status, sizeof r->status, "ok");
    r->reps = 3;
    r->iterations = 1000;
    const double real[] = {1e-6, 2e-6, 3e-6}, cpu[] = {2e-6, 2e-6, 2e-6};
    memcpy(r->rep_s, real, sizeof real);
    memcpy(r->rep_cpu_s, cpu, sizeof cpu);
    struct db_json_cell c = {"sin/jacobian/fwd/probe/n:10/threads:2/bind:close/places:cores", 7, 2,
                             r, 0};
    char *text = entries(&c);
    cr_assert_eq(th_count_lines(text), 3 + 4, "%s", text);
    char *line[7], *save = NULL;
    line[0] = strtok_r(text, "\n", &save);
    for (int i = 1; i < 7; i++)
        line[i] = strtok_r(NULL, "\n", &save);
    for (int i = 0; i < 3; i++) {
        cr_expect_not_null(strstr(line[i], "\"run_type\": \"iteration\""), "%s", line[i]);
        cr_expect_eq(field(line[i], "\"repetition_index\": "), i);
        cr_expect_eq(field(line[i], "\"threads\": "), 2);
        cr_expect_eq(field(line[i], "\"family_index\": "), 7);
        cr_expect_eq(field(line[i], "\"iterations\": "), 1000);
        /* seconds to ns: one rounding (u) */
        cr_expect_leq(fabs(field(line[i], "\"real_time\": ") - real[i] * 1e9),
                      th_gamma(1) * real[i] * 1e9);
        cr_expect_not_null(strstr(line[i], "\"time_unit\": \"ns\""));
    }
    const char *agg[] = {"_mean\"", "_median\"", "_stddev\"", "_cv\""};
    /* mean 2 us, median 2 us, sample stddev 1 us, cv 0.5: a sum of 3, a division, a square root
     * and the scaling to ns, each within gamma_k (Higham §3.1); gamma(8) covers them all. */
    const double want[] = {2000, 2000, 1000, 0.5};
    for (int k = 0; k < 4; k++) {
        const char *l = line[3 + k];
        cr_expect_not_null(strstr(l, agg[k]), "%s", l);
        cr_expect_not_null(strstr(l, "\"run_type\": \"aggregate\""), "%s", l);
        cr_expect_eq(field(l, "\"iterations\": "), 3, "aggregates count repetitions");
        cr_expect_leq(fabs(field(l, "\"real_time\": ") - want[k]), th_gamma(8) * want[k], "%s", l);
    }
    cr_expect_not_null(strstr(line[6], "\"aggregate_unit\": \"percentage\""), "%s", line[6]);
    cr_expect_eq(field(line[4], "\"cpu_time\": "), 2000, "%s", line[4]);

    c.aggregates_only = 1;
    cr_expect_eq(th_count_lines(entries(&c)), 4, "--benchmark_report_aggregates_only");
    r->reps = 1;
    c.aggregates_only = 0;
    cr_expect_eq(th_count_lines(entries(&c)), 1, "no aggregates of one repetition");
}

/* A cell that did not run is one entry with error_occurred and no times (no tool may chart a 0). */
Test(gbench_json, cell_not_run) {
    struct db_cell_result *r = th_calloc(1, sizeof *r);
    db_cell_result_init(r);
    db_cell_result_set(r, "unsupported", "no batching rule \"x\"");
    struct db_json_cell c = {"a/b", 0, 1, r, 0};
    char *text = entries(&c);
    cr_expect_eq(th_count_lines(text), 1, "%s", text);
    cr_expect_not_null(strstr(text, "\"error_occurred\": true"), "%s", text);
    cr_expect_not_null(
        strstr(text, "\"error_message\": \"unsupported: no batching rule \\\"x\\\"\""), "%s", text);
    cr_expect_null(strstr(text, "real_time"), "%s", text);
}

/* The ETA: the model's own prediction before any cell, then elapsed x cost left / cost done. */
Test(progress, eta) {
    struct db_progress_position p = {.start_ns = 1000000000ull, .cost_total = 90000000000ull};
    cr_expect_eq(db_progress_eta_s(&p, 5000000000ull), 90.0);
    p.cost_done = 30000000000ull; /* a third of the model's cost, in 10 s: 20 s left */
    cr_expect_eq(db_progress_eta_s(&p, 11000000000ull), 20.0);
    p.cost_done = p.cost_total;
    cr_expect_eq(db_progress_eta_s(&p, 11000000000ull), 0.0);
    char buf[32];
    const struct {
        double s;
        const char *text;
    } cases[] = {{0, "ETA 0s"},       {0.2, "ETA 1s"},     {59, "ETA 59s"},
                 {59.5, "ETA 1m00s"}, {80, "ETA 1m20s"},   {3599, "ETA 59m59s"},
                 {3600, "ETA 1h00m"}, {7500, "ETA 2h05m"}, {-3, "ETA 0s"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        db_progress_format_eta(cases[i].s, buf, sizeof buf);
        cr_expect_str_eq(buf, cases[i].text, "%g s", cases[i].s);
    }
}
