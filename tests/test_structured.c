/* Checked tags and structured probes: liar is caught by probe-checked (and wrong under plain
 * probe), honest diagonal operators are never rejected over many seeds, tridiagonal and banded
 * extraction match the dense Jacobian with exactly 3 and l+u+1 products, the colouring kernels
 * agree with their plain references and give valid colourings, and the CLI/CSV surface
 * (--band, --on-mismatch, colours columns, unsupported stencil sizes). */
#include <criterion/criterion.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/io/csv_write.h"
#include "harness/bench/runner.h"
#include "operators/blocks.h"
#include "strategies/colouring.h"
#include "strategies/compressed.h"
#include "strategies/probe_checked.h"
#include "core/rng.h"
#include "tests/helpers.h"

static double *vec(size_t n) {
    return th_alloc(n * sizeof(double));
}

/* Every object of a fixture is in the test arena (teardown releases them early). */
struct fixture {
    struct db_instance *in;
    struct db_operator *op;
    double *diag, *ref;
    struct db_strategy_ctx *ctx;
};

static void setup(struct fixture *f, const char *wl, size_t n, const char *kind, enum db_jac jac,
                  const struct db_workload_params *params) {
    memset(f, 0, sizeof *f);
    const struct db_workload *w = db_workload_find(wl);
    cr_assert_not_null(w);
    f->in = th_instance_with(w, n, params);
    unsigned tags = db_tags_for_structure(db_workload_tag_structure(w));
    f->op = th_operator(kind, jac, f->in, tags);
    f->diag = vec(n);
    f->ref = vec(n);
    f->ctx = th_strategy_ctx();
    cr_assert_eq(db_instance_reference_diagonal(f->in, f->ref), DB_OK);
}

static void teardown(struct fixture *f) {
    th_free(f->ctx), th_free(f->diag), th_free(f->ref), th_free(f->op), th_free(f->in);
}

static int run(struct fixture *f, const char *strategy) {
    db_instance_reset_calls(f->in);
    f->ctx->remark[0] = 0;
    f->ctx->tag_mismatch = 0;
    return db_strategy_find(strategy)->run(f->op, f->diag, f->ctx);
}

/* The extracted diagonal against the scalar reference, entry by entry (th_entry_rel). */
static void check_diagonal(const struct fixture *f, const char *what) {
    double ratio, eta = th_entry_rel();
    size_t n = f->in->n, i = th_rel_violation(f->diag, f->ref, n, eta, &ratio);
    cr_assert_eq(i, n, "%s: diag[%zu] relative error %g > %g", what, i, ratio, eta);
}

/* ---- the checked probe --------------------------------------------------------------------- */

Test(checked, liar_is_wrong_under_probe_and_caught_by_probe_checked) {
    const char *kinds[] = {"jacobian", "jacobian", "function", "matrix"};
    enum db_jac jacs[] = {DB_JAC_FWD, DB_JAC_BWD, DB_JAC_NONE, DB_JAC_NONE};
    for (int k = 0; k < 4; k++) {
        struct fixture f;
        setup(&f, "liar", 1000, kinds[k], jacs[k], NULL);
        cr_assert(db_operator_tags(f.op) & DB_TAG_DIAGONAL, "liar is tagged diagonal");
        cr_assert_eq(run(&f, "probe"), DB_OK);
        cr_assert_eq(db_instance_calls(f.in), 1);
        cr_assert_gt(db_max_abs_diff(f.diag, f.ref, 1000), 0.1, "%s: plain probe trusts the tag",
                     kinds[k]);
        cr_assert_eq(run(&f, "probe-checked"), DB_E_TAG_MISMATCH, "%s", kinds[k]);
        cr_assert_eq(db_instance_calls(f.in), 2, "probe + one check product");
        cr_assert_not_null(strstr(f.ctx->remark, "seed 20261125"), "the seed is recorded: %s",
                           f.ctx->remark);
        /* --on-mismatch=fallback: correct answer, flagged, at the cost of materialise */
        f.ctx->on_mismatch = DB_ON_MISMATCH_FALLBACK;
        cr_assert_eq(run(&f, "probe-checked"), DB_OK);
        cr_assert_eq(f.ctx->tag_mismatch, 1);
        cr_assert_not_null(strstr(f.ctx->remark, "tag mismatch"), "%s", f.ctx->remark);
        check_diagonal(&f, kinds[k]);
        size_t B = db_block_columns(1000);
        unsigned long long mat = strcmp(kinds[k], "matrix") == 0 ? 0 : (1000 + B - 1) / B;
        cr_assert_eq(db_instance_calls(f.in), 2 + mat, "%s: %llu calls", kinds[k],
                     db_instance_calls(f.in));
        teardown(&f);
    }
}

/* No honest diagonal operator is ever rejected, over 1000 seeds, every kind and both modes --
 * and liar is rejected for every one of those seeds. */
Test(checked, honest_diagonals_pass_for_every_seed_and_liar_fails_for_every_seed) {
    const char *wls[] = {"sin", "split", "seqsin", "nobatch", "liar"};
    const char *kinds[] = {"jacobian", "jacobian", "function", "matrix", "diagonal"};
    enum db_jac jacs[] = {DB_JAC_FWD, DB_JAC_BWD, DB_JAC_NONE, DB_JAC_NONE, DB_JAC_NONE};
    const size_t ns[] = {2, 7, 64};
    for (size_t w = 0; w < 5; w++)
        for (int k = 0; k < 5; k++)
            for (size_t s = 0; s < 3; s++) {
                int liar = w == 4;
                if (liar && k == 4) continue; /* no diagonal operator of a tridiagonal truth */
                struct fixture f;
                setup(&f, wls[w], ns[s], kinds[k], jacs[k], NULL);
                double *work = vec(2 * ns[s]);
                size_t rejected = 0;
                cr_assert_eq(run(&f, "probe"), DB_OK);
                for (uint64_t seed = 1; seed <= 1000; seed++) {
                    double res, bound;
                    int rc =
                        db_diagonal_check(f.op, f.diag, seed, DB_CHECK_TOL, work, &res, &bound);
                    cr_assert(rc == DB_OK || rc == DB_E_TAG_MISMATCH);
                    rejected += rc == DB_E_TAG_MISMATCH;
                    if (!liar)
                        cr_assert_eq(rc, DB_OK, "%s/%s/%s n=%zu seed %llu: residual %g > %g",
                                     wls[w], kinds[k], db_jac_name(jacs[k]), ns[s],
                                     (unsigned long long)seed, res, bound);
                }
                if (liar) cr_assert_eq(rejected, 1000, "liar %s n=%zu", kinds[k], ns[s]);
                /* and through the strategy, with a few recorded seeds */
                for (uint64_t seed = 1; seed <= 20; seed++) {
                    f.ctx->check_seed = seed;
                    int rc = run(&f, "probe-checked");
                    cr_assert_eq(rc, liar ? DB_E_TAG_MISMATCH : DB_OK, "%s/%s n=%zu seed %llu",
                                 wls[w], kinds[k], ns[s], (unsigned long long)seed);
                    if (!liar) check_diagonal(&f, wls[w]);
                }
                th_free(work);
                teardown(&f);
            }
}

Test(checked, gaussian_vector_is_deterministic_and_standard) {
    size_t n = 20000;
    double *a = vec(n), *b = vec(n);
    db_rng_gaussian_fill(7, n, a);
    db_rng_gaussian_fill(7, n, b);
    cr_assert_eq(memcmp(a, b, n * sizeof *a), 0, "same seed, same vector");
    db_rng_gaussian_fill(8, n, b);
    cr_assert_neq(memcmp(a, b, n * sizeof *a), 0);
    double m = 0, v = 0;
    for (size_t i = 0; i < n; i++)
        m += a[i];
    m /= (double)n;
    for (size_t i = 0; i < n; i++)
        v += (a[i] - m) * (a[i] - m);
    v /= (double)(n - 1);
    /* For n N(0, 1) samples the mean has standard deviation 1/sqrt(n) and the sample variance
     * sqrt(2/(n-1)): a standard generator stays within 6 of those (the seed is fixed, so this
     * is deterministic; a biased or scaled generator misses by far more). */
    double sm = 6 / sqrt((double)n), sv = 6 * sqrt(2 / (double)(n - 1));
    cr_assert(fabs(m) <= sm && fabs(v - 1) <= sv, "mean %g variance %g", m, v);
    th_free(a), th_free(b);
}

/* ---- tridiagonal and banded extraction ----------------------------------------------------- */

/* Extract with the strategy and compare every entry with the dense materialised J; the number of
 * products must be exactly k. */
static void check_band_extraction(const char *wl, const char *strategy,
                                  const struct db_workload_params *params, size_t n,
                                  enum db_jac jac, size_t k) {
    struct fixture f;
    setup(&f, wl, n, "jacobian", jac, params);
    /* dense J through the materialise path (blocked batched JVPs), before counting */
    struct db_operator *dense_op = th_operator("jacobian", DB_JAC_FWD, f.in, 0);
    double *buf = vec(n * n), eta = th_entry_rel();
    struct db_dense M;
    cr_assert_eq(dense_op->ops->materialise(dense_op, buf, &M), DB_OK);
    db_instance_reset_calls(f.in);
    const struct db_strategy *st = db_strategy_find(strategy);
    cr_assert_eq(st->extract(f.op, f.diag, f.ctx), DB_OK);
    cr_assert_eq(db_instance_calls(f.in), k, "%s %s n=%zu: %llu products, expected %zu", wl,
                 strategy, n, db_instance_calls(f.in), k);
    cr_assert_eq(db_instance_tangents(f.in), k);
    const struct db_sparse *A = f.ctx->extracted;
    cr_assert_not_null(A);
    size_t l = f.in->lower < n ? f.in->lower : n - 1, u = f.in->upper < n ? f.in->upper : n - 1;
    size_t expect_nnz = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            int in_band = j + l >= i && j <= i + u;
            expect_nnz += in_band;
            size_t e = db_sparse_find(A, i, j);
            cr_assert_eq(e != DB_SPARSE_NONE, in_band, "%s n=%zu: (%zu,%zu) extracted=%d", wl, n, i,
                         j, e != DB_SPARSE_NONE);
            double dense = M.data[j * M.ld + i];
            /* both from the kernels, each within eta of the reference R: |A - dense| <= 2 eta |R|
             * <= 2 eta / (1 - eta) |dense| */
            if (e != DB_SPARSE_NONE)
                cr_assert(fabs(A->values[e] - dense) <= 2 * eta / (1 - eta) * fabs(dense),
                          "%s %s n=%zu (%zu,%zu): %.17g vs %.17g", wl, db_jac_name(jac), n, i, j,
                          A->values[e], dense);
            else
                cr_assert_eq(dense, 0.0, "the band holds every non-zero");
        }
    cr_assert_eq(db_sparse_nnz(A), expect_nnz);
    check_diagonal(&f, wl);
    th_free(buf), th_free(dense_op);
    teardown(&f);
}

Test(structured, tridiagonal_extraction_matches_dense_with_3_products) {
    const size_t ns[] = {1, 2, 3, 4, 50, 301};
    for (size_t s = 0; s < 6; s++)
        for (int j = 0; j < 2; j++) {
            size_t n = ns[s], k = n < 3 ? n : 3;
            enum db_jac jac = j ? DB_JAC_BWD : DB_JAC_FWD;
            check_band_extraction("tridiag", "probe-tridiag", NULL, n, jac, k);
            check_band_extraction("liar", "probe-tridiag", NULL, n, jac, k);
        }
}

Test(structured, banded_extraction_matches_dense_with_l_plus_u_plus_1_products) {
    const size_t bands[][2] = {{2, 3}, {0, 0}, {0, 3}, {4, 0}, {7, 5}, {1, 1}};
    const size_t ns[] = {1, 5, 13, 200};
    for (size_t b = 0; b < 6; b++)
        for (size_t s = 0; s < 4; s++)
            for (int j = 0; j < 2; j++) {
                struct db_workload_params p = {
                    .band_set = 1, .lower = bands[b][0], .upper = bands[b][1]};
                size_t n = ns[s], k = bands[b][0] + bands[b][1] + 1;
                k = k < n ? k : n;
                enum db_jac jac = j ? DB_JAC_BWD : DB_JAC_FWD;
                check_band_extraction("banded", "probe-banded", &p, n, jac, k);
            }
}

Test(structured, band_parameters) {
    struct db_instance *in;
    struct db_workload_params big = {.band_set = 1, .lower = DB_MAX_BAND + 1};
    cr_assert_eq(db_instance_create_with(db_workload_find("banded"), 10, 0, &big, &in),
                 DB_E_INVALID);
    struct db_workload_params p = {.band_set = 1, .lower = 4, .upper = 1};
    cr_assert_eq(db_instance_create_with(db_workload_find("banded"), 10, 0, &p, &in), DB_OK);
    cr_assert_eq(in->lower, 4);
    cr_assert_eq(in->upper, 1);
    db_instance_destroy(in);
    /* only the banded workload takes --band: tridiag stays tridiagonal */
    cr_assert_eq(db_instance_create_with(db_workload_find("tridiag"), 10, 0, &p, &in), DB_OK);
    cr_assert_eq(in->lower, 1);
    cr_assert_eq(in->upper, 1);
    db_instance_destroy(in);
}

/* Untagged (or tagged with the wrong structure) operators fall back to materialise: correct, and
 * the remark says so. */
Test(structured, falls_back_without_a_usable_tag) {
    struct fixture f;
    setup(&f, "banded", 100, "jacobian", DB_JAC_FWD, NULL);
    cr_assert_eq(run(&f, "probe-tridiag"), DB_OK);
    cr_assert_not_null(strstr(f.ctx->remark, "fell back to materialise"), "%s", f.ctx->remark);
    cr_assert_eq(db_instance_tangents(f.in), 100, "identity columns");
    check_diagonal(&f, "banded");
    teardown(&f);
}

/* Structured strategies need no batching rule: single products only. */
Test(structured, work_without_a_batching_rule) {
    struct fixture f;
    setup(&f, "nobatch", 100, "jacobian", DB_JAC_FWD, NULL);
    cr_assert_eq(run(&f, "materialise"), DB_E_UNSUPPORTED);
    cr_assert_eq(run(&f, "probe-tridiag"), DB_OK);
    cr_assert_eq(db_instance_calls(f.in), 3);
    check_diagonal(&f, "nobatch");
    teardown(&f);
}

/* The structured strategies give identical results on 1 and 2 threads (n large enough for the
 * kernels and the recovery to run in parallel). */
Test(structured, identical_for_any_thread_count) {
    const char *wls[] = {"tridiag", "banded", "stencil", "randsparse"};
    const char *sts[] = {"probe-tridiag", "probe-banded", "probe-coloured", "probe-coloured"};
    size_t n = 40000; /* 200 x 200 grid */
    for (int w = 0; w < 4; w++)
        for (int j = 0; j < 2; j++) {
            double *vals[2];
            size_t nnz = 0;
            for (int t = 0; t < 2; t++) {
                omp_set_num_threads(t + 1);
                struct fixture f;
                setup(&f, wls[w], n, "jacobian", j ? DB_JAC_BWD : DB_JAC_FWD, NULL);
                cr_assert_eq(db_strategy_find(sts[w])->extract(f.op, f.diag, f.ctx), DB_OK);
                nnz = db_sparse_nnz(f.ctx->extracted);
                vals[t] = vec(nnz);
                memcpy(vals[t], f.ctx->extracted->values, nnz * sizeof(double));
                teardown(&f);
            }
            cr_assert_eq(memcmp(vals[0], vals[1], nnz * sizeof(double)), 0, "%s", wls[w]);
            th_free(vals[0]), th_free(vals[1]);
        }
    omp_set_num_threads(omp_get_num_procs());
}

/* ---- colouring ----------------------------------------------------------------------------- */

static void patterns(struct db_sparse *P[6]) {
    for (int p = 0; p < 6; p++)
        P[p] = th_sparse();
    cr_assert_eq(db_workload_pattern_by_name("stencil", 400, P[0]), DB_OK);
    cr_assert_eq(db_workload_pattern_by_name("randsparse", 300, P[1]), DB_OK);
    cr_assert_eq(db_workload_pattern_by_name("banded", 200, P[2]), DB_OK);
    cr_assert_eq(db_workload_pattern_by_name("tridiag", 7, P[3]), DB_OK);
    cr_assert_eq(db_workload_pattern_by_name("sin", 5, P[4]), DB_OK);
    cr_assert_eq(db_sparse_transpose(P[1], P[5]), DB_OK); /* rows of randsparse */
}

Test(colouring, optimised_matches_the_plain_reference) {
    struct db_sparse *P[6];
    patterns(P);
    for (int p = 0; p < 6; p++)
        for (int o = 0; o < DB_ORDERING_COUNT; o++) {
            size_t n = P[p]->n, k1, k2;
            size_t *o1 = th_alloc(n * sizeof *o1), *o2 = th_alloc(n * sizeof *o2);
            size_t *c1 = th_alloc(n * sizeof *c1), *c2 = th_alloc(n * sizeof *c2);
            cr_assert_eq(db_column_ordering(P[p], (enum db_ordering)o, o1), DB_OK);
            cr_assert_eq(db_column_ordering_reference(P[p], (enum db_ordering)o, o2), DB_OK);
            cr_assert_eq(memcmp(o1, o2, n * sizeof *o1), 0, "pattern %d %s: orderings differ", p,
                         db_ordering_name((enum db_ordering)o));
            cr_assert_eq(db_colour_greedy(P[p], o1, c1, &k1), DB_OK);
            cr_assert_eq(db_colour_greedy_reference(P[p], o2, c2, &k2), DB_OK);
            cr_assert_eq(k1, k2);
            cr_assert_eq(memcmp(c1, c2, n * sizeof *c1), 0);
            cr_assert_eq(db_colouring_check(P[p], c1, k1), DB_OK);
            cr_assert_geq(k1, db_sparse_max_row_nnz(P[p]), "lower bound");
            th_free(o1), th_free(o2), th_free(c1), th_free(c2);
        }
    for (int p = 0; p < 6; p++)
        th_free(P[p]);
}

Test(colouring, known_results_and_invalid_colourings) {
    struct db_sparse *P[6];
    patterns(P);
    size_t n = P[0]->n, k, *c = th_alloc(n * sizeof *c);
    /* the 5-point stencil needs 5 colours; smallest-last finds that optimum */
    cr_assert_eq(db_colour_columns(P[0], DB_ORDER_SMALLEST_LAST, c, &k), DB_OK);
    cr_assert_eq(k, db_sparse_max_row_nnz(P[0]));
    /* natural order on a band is j mod (l + u + 1), optimal */
    cr_assert_eq(db_colour_columns(P[2], DB_ORDER_NATURAL, c, &k), DB_OK);
    cr_assert_eq(k, 6);
    for (size_t j = 0; j < P[2]->n; j++)
        cr_assert_eq(c[j], j % 6);
    /* the best-of is no worse than any single ordering */
    size_t counts[DB_ORDERING_COUNT], best;
    enum db_ordering chosen;
    cr_assert_eq(db_colour_columns_best(P[1], c, &best, &chosen, counts), DB_OK);
    for (int o = 0; o < DB_ORDERING_COUNT; o++)
        cr_assert_leq(best, counts[o]);
    cr_assert_eq(best, counts[chosen]);
    cr_assert_eq(db_colouring_check(P[1], c, best), DB_OK);
    /* the checker rejects a colouring with two columns of one colour in a row */
    for (size_t j = 0; j < P[3]->n; j++)
        c[j] = j % 2;
    cr_assert_eq(db_colouring_check(P[3], c, 2), DB_E_INVALID);
    c[0] = 5;
    cr_assert_eq(db_colouring_check(P[3], c, 3), DB_E_INVALID, "colour out of range");
    th_free(c);
    for (int p = 0; p < 6; p++)
        th_free(P[p]);
}

Test(colouring, sparse_helpers) {
    struct db_sparse *B = th_sparse(), *T = th_sparse();
    cr_assert_eq(db_sparse_band(6, 2, 1, 1, B), DB_OK);
    cr_assert_eq(db_sparse_check(B), DB_OK);
    cr_assert_eq(db_sparse_max_row_nnz(B), 4);
    cr_assert_eq(db_sparse_nnz(B), 6 + 5 + 5 + 4);
    cr_assert_eq(db_sparse_transpose(B, T), DB_OK);
    cr_assert_eq(db_sparse_check(T), DB_OK);
    for (size_t i = 0; i < 6; i++)
        for (size_t j = 0; j < 6; j++)
            cr_assert_eq(db_sparse_find(B, i, j) != DB_SPARSE_NONE,
                         db_sparse_find(T, j, i) != DB_SPARSE_NONE);
    B->col_idx[1] = B->col_idx[0]; /* not ascending */
    cr_assert_eq(db_sparse_check(B), DB_E_INVALID);
    th_free(B), th_free(T);
    struct db_sparse *P = th_sparse();
    cr_assert_eq(db_workload_pattern_by_name("stencil", 1000, P), DB_E_UNSUPPORTED);
    cr_assert_eq(db_workload_pattern_by_name("nope", 9, P), DB_E_INVALID);
    cr_assert_eq(db_workload_fit_size(db_workload_find("stencil"), 1000), 1024);
    cr_assert_eq(db_workload_fit_size(db_workload_find("stencil"), 2), 1);
    cr_assert_eq(db_workload_fit_size(db_workload_find("sin"), 1000), 1000);
}

/* ---- command line and CSV ------------------------------------------------------------------ */

static char out[1 << 17], err[1 << 16];

/* The CSV rows of out as arrays of fields (header checked); returns the row count. */
static int rows_of(char *text, char fields[][64][256], int max) {
    char *save, *line = strtok_r(text, "\n", &save);
    cr_assert_str_eq(line, db_csv_header);
    int r = 0;
    while ((line = strtok_r(NULL, "\n", &save)) && r < max) {
        char buf[4096];
        char *f[64];
        int nf = th_csv_split(line, buf, f, 64);
        cr_assert_eq(nf, (int)db_csv_column_count(), "%s", line);
        for (int i = 0; i < nf; i++)
            snprintf(fields[r][i], 256, "%s", f[i]);
        r++;
    }
    return r;
}

static char rows[16][64][256];

Test(cli, liar_done_when) {
    const char *a[] = {"-w",   "liar",   "-s", "probe,probe-checked", "-j",   "fwd", "-n",
                       "1000", "--reps", "1",  "--min-time",          "1e-4", "-q",  NULL};
    cr_assert_eq(th_run(a, NULL, out, sizeof out, err, sizeof err), 0, "%s", err);
    cr_assert_eq(rows_of(out, rows, 16), 2);
    int st = th_csv_column("status"), e = th_csv_column("max_abs_err"),
        note = th_csv_column("note"), c = th_csv_column("colours"),
        lb = th_csv_column("colours_lower_bound"), calls = th_csv_column("primitive_calls");
    cr_assert_str_eq(rows[0][th_csv_column("strategy")], "probe");
    cr_assert_str_eq(rows[0][st], "ok");
    cr_assert_gt(atof(rows[0][e]), 0.1, "plain probe on liar is wrong: %s", rows[0][e]);
    cr_assert_str_eq(rows[0][c], "1");
    cr_assert_str_eq(rows[0][lb], "3", "its true rows have 3 non-zeros");
    cr_assert_str_eq(rows[1][st], "error");
    cr_assert_not_null(strstr(rows[1][note], "tag mismatch"), "%s", rows[1][note]);
    cr_assert_str_eq(rows[1][calls], "", "numeric fields of non-ok rows are empty");
    cr_assert_str_eq(rows[1][c], "");
}

Test(cli, on_mismatch_fallback_warns_and_materialises) {
    const char *a[] = {
        "-w", "liar,sin",   "-s",   "probe-checked",          "-j", "fwd", "-n", "200", "--reps",
        "1",  "--min-time", "1e-4", "--on-mismatch=fallback", NULL};
    cr_assert_eq(th_run(a, NULL, out, sizeof out, err, sizeof err), 0, "%s", err);
    cr_assert_not_null(strstr(err, "diagbench: warning: liar/jacobian/fwd/probe-checked n=200: tag "
                                   "mismatch"),
                       "%s", err);
    cr_assert_null(strstr(err, "warning: sin"), "%s", err);
    cr_assert_eq(rows_of(out, rows, 16), 2);
    int st = th_csv_column("status"), e = th_csv_column("max_abs_err"),
        c = th_csv_column("colours"), calls = th_csv_column("primitive_calls");
    cr_assert_str_eq(rows[0][st], "ok");
    /* max_abs_err: entries of J = C diag(cos x) against the reference, within th_entry_rel() of
     * |J_ij| <= max |C_ij| = 1, as the CSV prints it */
    cr_assert_leq(atof(rows[0][e]), th_csv_bound(th_entry_rel()));
    cr_assert_str_eq(rows[0][c], "202", "probe + check + 200 identity columns");
    cr_assert_not_null(strstr(rows[0][th_csv_column("note")], "tag mismatch"));
    cr_assert_str_eq(rows[1][st], "ok");
    cr_assert_str_eq(rows[1][calls], "2");
    cr_assert_str_eq(rows[1][c], "2");
}

Test(cli, structured_rows_report_colours_and_calls) {
    const char *a[] = {"-w",         "tridiag,banded,stencil",
                       "-s",         "probe-tridiag,probe-banded,probe-coloured",
                       "-j",         "bwd",
                       "-n",         "400",
                       "--band",     "4,1",
                       "--reps",     "1",
                       "--min-time", "1e-4",
                       "-q",         NULL};
    cr_assert_eq(th_run(a, NULL, out, sizeof out, err, sizeof err), 0, "%s", err);
    cr_assert_eq(rows_of(out, rows, 16), 9);
    int st = th_csv_column("status"), e = th_csv_column("max_abs_err"),
        c = th_csv_column("colours"), lb = th_csv_column("colours_lower_bound"),
        calls = th_csv_column("primitive_calls"), w = th_csv_column("workload"),
        s = th_csv_column("strategy");
    for (int r = 0; r < 9; r++) {
        cr_assert_str_eq(rows[r][st], "ok", "%s %s", rows[r][w], rows[r][s]);
        cr_assert_leq(atof(rows[r][e]), th_csv_bound(th_entry_rel()), "|C_ij| <= 1");
        int fallback = strstr(rows[r][th_csv_column("note")], "fell back") != NULL;
        if (!fallback) cr_assert_str_eq(rows[r][calls], rows[r][c], "one product per colour");
        cr_assert_geq(atoi(rows[r][c]), atoi(rows[r][lb]), "%s %s", rows[r][w], rows[r][s]);
    }
    cr_assert_str_eq(rows[0][c], "3"); /* tridiag x probe-tridiag */
    cr_assert_str_eq(rows[4][c], "6"); /* banded 4,1 x probe-banded */
    cr_assert_str_eq(rows[4][lb], "6");
    cr_assert_str_eq(rows[3][c], "400"); /* banded x probe-tridiag: not tagged, materialise */
    cr_assert_str_eq(rows[8][lb], "5");  /* stencil: 5 non-zeros in a row */
}

Test(cli, stencil_sizes_must_be_squares) {
    const char *a[] = {"-w",        "stencil", "-s", "probe-coloured", "-j",   "fwd", "-n",
                       "1000,1024", "--reps",  "1",  "--min-time",     "1e-4", "-q",  NULL};
    cr_assert_eq(th_run(a, NULL, out, sizeof out, err, sizeof err), 0, "%s", err);
    cr_assert_eq(rows_of(out, rows, 16), 2);
    cr_assert_str_eq(rows[0][th_csv_column("status")], "unsupported");
    cr_assert_not_null(strstr(rows[0][th_csv_column("note")], "perfect square"), "%s",
                       rows[0][th_csv_column("note")]);
    cr_assert_not_null(strstr(rows[0][th_csv_column("note")], "nearest 1024"));
    cr_assert_str_eq(rows[1][th_csv_column("status")], "ok");
}

static void expect_usage_error(const char *const *args, const char *needle) {
    int rc = th_run(args, NULL, out, sizeof out, err, sizeof err);
    cr_assert_eq(rc, 2, "exit %d for '%s' (stderr: %s)", rc, needle, err);
    cr_assert_eq(th_count_lines(err), 1, "%s", err);
    cr_assert(strncmp(err, "diagbench: ", 11) == 0, "%s", err);
    cr_assert_not_null(strstr(err, needle), "'%s' not in: %s", needle, err);
    cr_assert_eq(out[0], 0);
}

#define BAD(needle, ...)                                                                           \
    do {                                                                                           \
        const char *a_[] = {__VA_ARGS__, NULL};                                                    \
        expect_usage_error(a_, needle);                                                            \
    } while (0)

Test(cli, bad_band_and_on_mismatch) {
    BAD("invalid --band '2': expected L,U", "-n", "10", "--band", "2");
    BAD("invalid --band '2,x'", "-n", "10", "--band", "2,x");
    BAD("from 0 to 256", "-n", "10", "--band", "257,1");
    BAD("invalid --band ','", "-n", "10", "--band", ",");
    BAD("invalid --band '-1,2'", "-n", "10", "--band", "-1,2");
    BAD("invalid --band '1,2,3'", "-n", "10", "--band", "1,2,3");
    BAD("--band needs a value", "-n", "10", "--band");
    BAD("invalid --on-mismatch 'maybe': expected error or fallback", "-n", "10",
        "--on-mismatch=maybe");
}
