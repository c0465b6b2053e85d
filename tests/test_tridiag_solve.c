/* The tridiagonal solver (dgtsv): known solutions for probe-tridiag+tridiagonal and the plain
 * materialise+tridiagonal path x fwd/bwd x n, matching LU; exactly min(3, n) primitive calls
 * with probe-tridiag; liar (tagged diagonal, truly tridiagonal) solved right by the tridiagonal
 * solver and wrong by the diagonal one; zero / non-finite pivots reported with their index;
 * untagged operators refused; the CLI names and an end-to-end run of the binary. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness/plan/cli.h"
#include "harness/io/csv_write.h"
#include "operators/blocks.h"
#include "solvers/solve.h"
#include "tests/helpers.h"

/* J's exact entries at the instance's point (CSR over the true pattern). */
static struct db_sparse *exact_entries(const struct db_instance *in) {
    struct db_sparse *P = th_sparse(), *A = th_sparse();
    cr_assert_eq(db_instance_pattern(in, P), DB_OK);
    cr_assert_eq(db_sparse_copy_pattern(P, 1, A), DB_OK);
    th_free(P);
    cr_assert_eq(db_instance_reference_entries(in, A), DB_OK);
    return A;
}

/* Another point: cos(x_i) in [0.87, 1] instead of the default point's |cos x_i| down to 1e-3.
 * J = C diag(cos x), C = tridiag(0.6, 1, 0.4), is only weakly diagonally dominant, so even here
 * kappa_1(J) grows like n (1e4 at n = 1000); the bounds below use the kappa computed for each
 * system. */
static void tame_point(struct db_instance *in) {
    for (size_t i = 0; i < in->n; i++)
        in->x[i] = 0.5 * sin((double)i + 0.25);
}

/* A known system J x = b: J's exact entries, x_true, b = fl(J x_true), and J's condition numbers
 * in the 1-norm and the inf-norm (kappa_inf(J) = kappa_1(J^T)), computed here from the bands. */
struct known {
    size_t n;
    struct db_sparse *A;
    double *xt, *b;
    double kappa1, kappa_inf;
};

static struct known known_system(const struct db_instance *in, const double *xt) {
    size_t n = in->n;
    struct known k = {.n = n, .A = exact_entries(in), .xt = th_alloc(n * sizeof(double))};
    k.b = th_alloc(n * sizeof(double));
    memcpy(k.xt, xt, n * sizeof *xt);
    db_sparse_mv(k.A, k.xt, k.b);
    double *dl = th_alloc(n * sizeof *dl), *d = th_alloc(n * sizeof *d),
           *du = th_alloc(n * sizeof *du);
    th_bands(k.A, dl, d, du);
    k.kappa1 = th_tridiag_cond1(n, dl, d, du);
    k.kappa_inf = th_tridiag_cond1(n, du, d, dl);
    th_free(dl), th_free(d), th_free(du);
    return k;
}

static void known_free(struct known *k) {
    th_free(k->A), th_free(k->xt), th_free(k->b);
}

/* Relative backward error of a tridiagonal solve by GEPP (dgtsv, or dgesv on the dense matrix) in
 * the 1-norm of the matrix it factorises, counting that the solver's matrix J^ comes from the
 * kernels: |J^ - J| <= eta |J| (eta = th_entry_rel()), and GEPP's own (A + dA) x^ = b with
 * ||dA||_1 <= 12 gamma_(3n) ||J^||_1 (th_gepp_tridiag_backward). */
static double solve_eps(size_t n) {
    double eta = th_entry_rel();
    return eta + (1 + eta) * th_gepp_tridiag_backward(n);
}

/* Forward error bound of such a solve against x_true in the same norm (Higham Thm 7.2), with
 * b = fl(J x_true): |db| <= gamma_3 |J||x_true| (three terms a row). */
static double solve_forward_bound(const struct known *k, int inf_norm) {
    double kappa = inf_norm ? k->kappa_inf : k->kappa1;
    double bound = th_forward_bound(solve_eps(k->n), th_gamma(3), kappa);
    cr_assert(isfinite(bound), "n=%zu: kappa %g too large for any bound", k->n, kappa);
    return bound;
}

static double norm_inf(const double *x, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++)
        m = fabs(x[i]) > m ? fabs(x[i]) : m;
    return m;
}

/* ||x - y|| in the 1- or inf-norm (a NaN gives +inf). */
static double distance(const double *x, const double *y, size_t n, int inf_norm) {
    double s = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs(x[i] - y[i]);
        if (isnan(e)) return INFINITY;
        s = inf_norm ? (e > s ? e : s) : s + e;
    }
    return s;
}

/* A solution x of the known system by GEPP on J (inf_norm = 0: dgtsv, or dgesv on J) or on J^T
 * (inf_norm = 1: LU of the transposed storage reverse mode materialises; ||dJ||_inf =
 * ||dJ^T||_1): its residual within th_residual_bound of that backward error, and its forward
 * error within solve_forward_bound, both in that norm. */
static void check_solution(const struct known *k, const double *x, int inf_norm, const char *what) {
    size_t n = k->n;
    double res = inf_norm ? db_sparse_residual(k->A, x, k->b) : th_sparse_residual1(k->A, x, k->b);
    double res_bound = th_residual_bound(solve_eps(n), 3, n);
    cr_assert(res <= res_bound, "%s: relative residual (%s-norm) %g > %g", what,
              inf_norm ? "inf" : "1", res, res_bound);
    double err = distance(x, k->xt, n, inf_norm),
           xn = inf_norm ? norm_inf(k->xt, n) : th_norm1(k->xt, n);
    double bound = solve_forward_bound(k, inf_norm);
    size_t worst = 0;
    for (size_t i = 0; i < n; i++)
        if (fabs(x[i] - k->xt[i]) > fabs(x[worst] - k->xt[worst])) worst = i;
    cr_assert(err <= bound * xn,
              "%s: ||x - x_true|| = %g > %g ||x_true|| (kappa %g); worst x[%zu] = %.17g, "
              "x_true %.17g",
              what, err, bound, inf_norm ? k->kappa_inf : k->kappa1, worst, x[worst], k->xt[worst]);
}

struct solved {
    int rc;
    unsigned long long calls;
};

/* Solve J x = b with one method, twice (the second reuses the workspace: same band buffer, same
 * calls, same answer). */
static struct solved solve_once(struct db_operator *op, enum db_solver solver, const char *strategy,
                                const double *b, double *x) {
    struct db_solve_ctx *ctx = th_solve_ctx();
    struct db_solve_info info;
    const struct db_strategy *st = strategy ? db_strategy_find(strategy) : NULL;
    struct solved s = {0};
    double *x2 = th_alloc(op->n * sizeof *x2);
    for (int rep = 0; rep < 2; rep++) {
        double *bands = ctx->bands;
        db_instance_reset_calls(op->in);
        s.rc = db_linear_solve(op, b, rep ? x2 : x, solver, st, ctx, &info);
        if (s.rc != DB_OK) break;
        unsigned long long calls = db_instance_calls(op->in);
        if (rep == 0) {
            s.calls = calls;
        } else {
            cr_assert_eq(calls, s.calls, "the same calls every solve");
            cr_assert_eq(memcmp(x, x2, op->n * sizeof *x), 0, "the same answer every solve");
            if (solver == DB_SOLVER_TRIDIAGONAL)
                cr_assert_eq(ctx->bands, bands, "the band buffer is reused");
        }
    }
    th_free(x2);
    th_free(ctx);
    return s;
}

/* Batched calls of one materialisation of a lazy operator (blocks of columns / rows). */
static unsigned long long materialise_calls(const char *kind, size_t n) {
    if (strcmp(kind, "matrix") == 0) return 0;
    size_t B = db_block_columns(n);
    return (n + B - 1) / B;
}

static void check_tridiagonal(const char *wl, const char *kind, enum db_jac jac, size_t n,
                              int tame) {
    const struct db_workload *w = db_workload_find(wl);
    struct db_instance *in = th_instance(w, n);
    if (tame) tame_point(in);
    unsigned tags = db_tags_for_structure(db_workload_tag_structure(w));
    struct db_operator *op = th_operator(kind, jac, in, tags);
    double *xt = th_alloc(n * sizeof *xt);
    for (size_t i = 0; i < n; i++)
        xt[i] = (i % 3 ? 1.0 : -1.0) * (0.5 + (double)(i % 5));
    struct known k = known_system(in, xt);
    double *xp = th_alloc(n * sizeof *xp), *xm = th_alloc(n * sizeof *xm),
           *xl = th_alloc(n * sizeof *xl);

    struct solved p = solve_once(op, DB_SOLVER_TRIDIAGONAL, "probe-tridiag", k.b, xp);
    struct solved m = solve_once(op, DB_SOLVER_TRIDIAGONAL, "materialise", k.b, xm);
    struct solved l = solve_once(op, DB_SOLVER_LU, NULL, k.b, xl);
    char what[160];
    snprintf(what, sizeof what, "%s/%s/%s n=%zu (%s)", wl, kind, db_jac_name(jac), n,
             tame ? "tame point" : "default point");
    cr_assert_eq(p.rc, DB_OK, "%s: %s", what, db_strerror(p.rc));
    cr_assert_eq(m.rc, DB_OK, "%s: %s", what, db_strerror(m.rc));
    cr_assert_eq(l.rc, DB_OK, "%s: %s", what, db_strerror(l.rc));
    size_t three = n < 3 ? n : 3;
    cr_assert_eq(p.calls, three, "%s: probe-tridiag made %llu calls, not %zu", what, p.calls,
                 three);
    cr_assert_eq(m.calls, materialise_calls(kind, n));
    /* dgtsv factorises J whichever path produced its bands; LU factorises J^T when reverse mode
     * materialises the transpose. */
    char which[200];
    snprintf(which, sizeof which, "%s probe-tridiag+tridiagonal", what);
    check_solution(&k, xp, 0, which);
    snprintf(which, sizeof which, "%s materialise+tridiagonal", what);
    check_solution(&k, xm, 0, which);
    snprintf(which, sizeof which, "%s materialise+lu", what);
    check_solution(&k, xl, strcmp(kind, "jacobian") == 0 && jac == DB_JAC_BWD, which);
    /* Both band paths solve (nearly) the same matrix: each within the forward bound of x_true. */
    double gap = distance(xp, xm, n, 0), bound = 2 * solve_forward_bound(&k, 0) * th_norm1(xt, n);
    cr_assert(gap <= bound, "%s: ||x_probe - x_materialise||_1 = %g > %g", what, gap, bound);
    known_free(&k);
    th_free(xt), th_free(xp), th_free(xm), th_free(xl);
    th_free(op), th_free(in);
}

static const size_t sizes[] = {1, 2, 3, 7, 1000};
#define NSIZES (sizeof sizes / sizeof sizes[0])

static void check_jac(enum db_jac jac) {
    for (size_t k = 0; k < NSIZES; k++)
        for (int tame = 0; tame < 2; tame++) {
            check_tridiagonal("tridiag", "jacobian", jac, sizes[k], tame);
            check_tridiagonal("liar", "jacobian", jac, sizes[k], tame);
        }
}

Test(tridiag_solve, known_solutions_fwd) {
    check_jac(DB_JAC_FWD);
}
Test(tridiag_solve, known_solutions_bwd) {
    check_jac(DB_JAC_BWD);
}
Test(tridiag_solve, known_solutions_function_and_matrix) {
    for (size_t k = 0; k < NSIZES; k++) {
        check_tridiagonal("tridiag", "function", DB_JAC_NONE, sizes[k], 1);
        check_tridiagonal("tridiag", "matrix", DB_JAC_NONE, sizes[k], 1);
    }
}

/* Above the parallel threshold (2^15 rows) the bands are filled by several threads: the probe
 * path must still give x_true (materialise would need n^2 doubles here). */
Test(tridiag_solve, large_n_probe_path) {
    size_t n = 100003;
    enum db_jac jacs[] = {DB_JAC_FWD, DB_JAC_BWD};
    for (int j = 0; j < 2; j++) {
        struct db_instance *in = th_instance(db_workload_find("tridiag"), n);
        tame_point(in);
        struct db_operator *op = th_operator("jacobian", jacs[j], in, DB_TAG_TRIDIAGONAL);
        double *xt = th_alloc(n * sizeof *xt), *x = th_alloc(n * sizeof *x);
        for (size_t i = 0; i < n; i++)
            xt[i] = (i % 3 ? 1.0 : -1.0) * (0.5 + (double)(i % 5));
        struct known k = known_system(in, xt);
        struct solved s = solve_once(op, DB_SOLVER_TRIDIAGONAL, "probe-tridiag", k.b, x);
        cr_assert_eq(s.rc, DB_OK);
        cr_assert_eq(s.calls, 3);
        check_solution(&k, x, 0, jacs[j] == DB_JAC_FWD ? "n=100003 fwd" : "n=100003 bwd");
        known_free(&k);
        th_free(xt), th_free(x);
        th_free(op), th_free(in);
    }
}

/* A truly diagonal workload tagged diagonal is tridiagonal too: the tridiagonal solver takes it
 * (the stored diagonal kind included, with no products at all). */
Test(tridiag_solve, diagonal_workloads_are_tridiagonal) {
    const char *kinds[] = {"jacobian", "diagonal"};
    for (int k = 0; k < 2; k++) {
        size_t n = 50;
        struct db_instance *in = th_instance(db_workload_find("sin"), n);
        struct db_operator *op =
            th_operator(kinds[k], k ? DB_JAC_NONE : DB_JAC_FWD, in, DB_TAG_DIAGONAL);
        double *xt = th_alloc(n * sizeof *xt), *x = th_alloc(n * sizeof *x);
        for (size_t i = 0; i < n; i++)
            xt[i] = 1.0 + (double)i;
        struct known sys = known_system(in, xt);
        struct solved s = solve_once(op, DB_SOLVER_TRIDIAGONAL, "probe-tridiag", sys.b, x);
        cr_assert_eq(s.rc, DB_OK, "%s", kinds[k]);
        cr_assert_eq(s.calls, k ? 0 : 3, "%s", kinds[k]);
        check_solution(&sys, x, 0, kinds[k]);
        known_free(&sys);
        th_free(xt), th_free(x);
        th_free(op), th_free(in);
    }
}

/* liar claims diagonal: the diagonal solver divides by the row sums (probe) or by the true
 * diagonal (materialise) and is wrong; the tridiagonal solver reads the bands the tag says are
 * zero, finds them, and is right. */
Test(tridiag_solve, liar_wrong_with_the_diagonal_solver_right_with_the_tridiagonal_one) {
    size_t n = 100;
    const struct db_workload *w = db_workload_find("liar");
    struct db_instance *in = th_instance(w, n);
    tame_point(in);
    cr_assert_eq(db_tags_for_structure(db_workload_tag_structure(w)), DB_TAG_DIAGONAL);
    struct db_operator *op = th_operator("jacobian", DB_JAC_FWD, in, DB_TAG_DIAGONAL);
    double *xt = th_alloc(n * sizeof *xt), *x = th_alloc(n * sizeof *x);
    for (size_t i = 0; i < n; i++)
        xt[i] = i % 2 ? -1.0 : 1.0;
    struct known k = known_system(in, xt);
    /* what a right answer meets (check_solution); a wrong one must miss it by far */
    double res_bound = th_residual_bound(solve_eps(n), 3, n);
    const char *diag_st[] = {"probe", "materialise"};
    for (int d = 0; d < 2; d++) {
        struct solved s = solve_once(op, DB_SOLVER_DIAGONAL, diag_st[d], k.b, x);
        cr_assert_eq(s.rc, DB_OK, "it runs: the tag says diagonal");
        double res = th_sparse_residual1(k.A, x, k.b);
        cr_assert(res > 1e6 * res_bound, "%s+diagonal on liar: residual %g", diag_st[d], res);
        cr_assert_gt(db_max_abs_diff(x, xt, n), 0.01);
    }
    struct solved s = solve_once(op, DB_SOLVER_TRIDIAGONAL, "probe-tridiag", k.b, x);
    cr_assert_eq(s.rc, DB_OK);
    cr_assert_eq(s.calls, 3);
    check_solution(&k, x, 0, "liar probe-tridiag+tridiagonal");
    known_free(&k);
    th_free(xt), th_free(x);
    th_free(op), th_free(in);
}

/* ---- singular systems ----------------------------------------------------------------------- */

Test(tridiag_solve, band_solver_reports_the_zero_pivot) {
    /* Column 2 is zero on and below the diagonal (A[1][2] = du[1] may be anything): elimination
     * cannot find a pivot there, U[2,2] = 0 exactly (dgtsv info = 3). */
    double dl[4] = {1, 0, 0, 1}, d[5] = {2, 3, 0, 4, 5}, du[4] = {1, 1, 1, 1};
    double x[5] = {1, 1, 1, 1, 1};
    struct db_solve_info info = {0};
    cr_assert_eq(db_tridiagonal_solve(5, dl, d, du, x, &info), DB_E_SINGULAR);
    cr_assert_eq(info.singular_index, 2);
    cr_assert_eq(info.singular_value, 0.0);
    /* n = 1: a zero scalar. */
    double z = 0, one = 1;
    cr_assert_eq(db_tridiagonal_solve(1, NULL, &z, NULL, &one, &info), DB_E_SINGULAR);
    cr_assert_eq(info.singular_index, 0);
    /* A NaN entry never comes back as a silent NaN solution. */
    double dl2[2] = {1, 1}, d2[3] = {4, NAN, 4}, du2[2] = {1, 1}, x2[3] = {1, 2, 3};
    cr_assert_eq(db_tridiagonal_solve(3, dl2, d2, du2, x2, &info), DB_E_SINGULAR);
    cr_assert_lt(info.singular_index, 3);
    /* Overflow: finite, non-zero pivots but an infinite solution. */
    double dl3[1] = {0}, d3[2] = {1e-300, 1}, du3[1] = {0}, x3[2] = {1e300, 1};
    cr_assert_eq(db_tridiagonal_solve(2, dl3, d3, du3, x3, &info), DB_E_SINGULAR);
    cr_assert_eq(info.singular_index, 0);
    cr_assert(isinf(info.singular_value));
    /* And a regular one solves: A = tridiag(1, 4, 1), b = A (1, 1, 1) exactly, so only dgtsv's
     * backward error counts (Higham Thm 7.2 with th_gepp_tridiag_backward, 1-norm). */
    double dl4[2] = {1, 1}, d4[3] = {4, 4, 4}, du4[2] = {1, 1}, x4[3] = {5, 6, 5};
    double kappa = th_tridiag_cond1(3, dl4, d4, du4);
    double bound = th_forward_bound(th_gepp_tridiag_backward(3), 0, kappa) * 3; /* ||x||_1 = 3 */
    cr_assert_eq(db_tridiagonal_solve(3, dl4, d4, du4, x4, &info), DB_OK);
    double err = fabs(x4[0] - 1) + fabs(x4[1] - 1) + fabs(x4[2] - 1);
    cr_assert(err <= bound, "x = (%.17g, %.17g, %.17g): ||x - 1||_1 = %g > %g", x4[0], x4[1], x4[2],
              err, bound);
}

/* A stored tridiagonal matrix with a zero column segment, through both band paths. */
struct dense_op {
    struct db_operator base;
    double *a; /* column-major n*n */
};
static int dense_mv(struct db_operator *op, const double *v, double *out) {
    const double *a = ((struct dense_op *)op)->a;
    size_t n = op->n;
    for (size_t i = 0; i < n; i++) {
        out[i] = 0;
        for (size_t j = 0; j < n; j++)
            out[i] += a[j * n + i] * v[j];
    }
    db_instance_count_calls(op->in, 1);
    return DB_OK;
}
static int dense_materialise(struct db_operator *op, double *buf, struct db_dense *M) {
    (void)buf;
    *M = (struct db_dense){.data = ((struct dense_op *)op)->a, .n = op->n, .ld = op->n};
    return DB_OK;
}
static size_t dense_bytes(const struct db_operator *op) {
    (void)op;
    return 0;
}
static void dense_destroy(struct db_operator *op) {
    (void)op;
}
static const struct db_operator_ops dense_ops = {
    .kind = "test-dense",
    .mv = dense_mv,
    .materialise = dense_materialise,
    .materialise_bytes = dense_bytes,
    .destroy = dense_destroy,
};

Test(tridiag_solve, singular_operator_reports_its_index) {
    enum { N = 6 };
    struct db_instance *in = th_instance(db_workload_find("tridiag"), N);
    double a[N * N] = {0};
    for (int i = 0; i < N; i++) {
        a[i * N + i] = 3;
        if (i + 1 < N) a[i * N + i + 1] = 1, a[(i + 1) * N + i] = -1; /* A[i+1][i], A[i][i+1] */
    }
    /* Column 3 zero on and below the diagonal, row 3's entry left of it zero: U[3,3] = 0. */
    a[3 * N + 3] = a[3 * N + 4] = a[2 * N + 3] = 0;
    struct dense_op t = {.base = {.ops = &dense_ops, .n = N, .tags = DB_TAG_TRIDIAGONAL, .in = in},
                         .a = a};
    double b[N] = {1, 1, 1, 1, 1, 1}, x[N];
    const char *sts[] = {"probe-tridiag", "materialise"};
    for (int k = 0; k < 2; k++) {
        struct db_solve_ctx *ctx = th_solve_ctx();
        struct db_solve_info info = {0};
        int rc = db_linear_solve(&t.base, b, x, DB_SOLVER_TRIDIAGONAL, db_strategy_find(sts[k]),
                                 ctx, &info);
        cr_assert_eq(rc, DB_E_SINGULAR, "%s: %s", sts[k], db_strerror(rc));
        cr_assert_eq(info.singular_index, 3, "%s: index %zu", sts[k], info.singular_index);
        cr_assert_eq(info.singular_value, 0.0);
        th_free(ctx);
    }
    th_free(in);
}

/* A NaN point makes a whole column of the workload's J non-finite: singular, not NaN. */
Test(tridiag_solve, non_finite_workload_point_is_singular) {
    size_t n = 12;
    enum db_jac jacs[] = {DB_JAC_FWD, DB_JAC_BWD};
    for (int j = 0; j < 2; j++) {
        struct db_instance *in = th_instance(db_workload_find("tridiag"), n);
        in->x[5] = NAN;
        struct db_operator *op = th_operator("jacobian", jacs[j], in, DB_TAG_TRIDIAGONAL);
        double b[12], x[12];
        for (size_t i = 0; i < n; i++)
            b[i] = 1;
        const char *sts[] = {"probe-tridiag", "materialise"};
        for (int k = 0; k < 2; k++) {
            struct db_solve_ctx *ctx = th_solve_ctx();
            struct db_solve_info info = {0};
            cr_assert_eq(db_linear_solve(op, b, x, DB_SOLVER_TRIDIAGONAL, db_strategy_find(sts[k]),
                                         ctx, &info),
                         DB_E_SINGULAR, "%s", sts[k]);
            cr_assert_lt(info.singular_index, n);
            th_free(ctx);
        }
        th_free(op), th_free(in);
    }
}

/* ---- refusals ------------------------------------------------------------------------------- */

Test(tridiag_solve, needs_the_tag_and_a_band_strategy) {
    size_t n = 16;
    struct db_instance *in = th_instance(db_workload_find("tridiag"), n);
    struct db_operator *op = th_operator("jacobian", DB_JAC_FWD, in, 0);
    double b[16], x[16];
    for (size_t i = 0; i < n; i++)
        b[i] = 1;
    struct db_solve_ctx *ctx = th_solve_ctx();
    const unsigned not_tridiagonal[] = {0, DB_TAG_SYMMETRIC, DB_TAG_BANDED, DB_TAG_SPARSE};
    for (int t = 0; t < 4; t++) {
        op->tags = not_tridiagonal[t];
        for (int k = 0; k < 2; k++) {
            db_instance_reset_calls(in);
            cr_assert_eq(db_linear_solve(op, b, x, DB_SOLVER_TRIDIAGONAL,
                                         db_strategy_find(k ? "materialise" : "probe-tridiag"), ctx,
                                         NULL),
                         DB_E_UNSUPPORTED, "tags %#x", not_tridiagonal[t]);
            cr_assert_eq(db_instance_calls(in), 0, "refused before any primitive call");
        }
    }
    op->tags = DB_TAG_TRIDIAGONAL;
    const char *not_band[] = {"probe", "probe-checked", "probe-banded", "probe-coloured"};
    for (int k = 0; k < 4; k++)
        cr_assert_eq(db_linear_solve(op, b, x, DB_SOLVER_TRIDIAGONAL, db_strategy_find(not_band[k]),
                                     ctx, NULL),
                     DB_E_INVALID, "%s", not_band[k]);
    cr_assert_eq(db_linear_solve(op, b, x, DB_SOLVER_TRIDIAGONAL, NULL, ctx, NULL), DB_E_INVALID);
    cr_assert(db_tridiagonal_strategy_ok(db_strategy_find("probe-tridiag")));
    cr_assert(db_tridiagonal_strategy_ok(db_strategy_find("materialise")));
    cr_assert_not(db_tridiagonal_strategy_ok(NULL));
    /* The diagonal solver still refuses a tridiagonal tag. */
    cr_assert_eq(
        db_linear_solve(op, b, x, DB_SOLVER_DIAGONAL, db_strategy_find("probe"), ctx, NULL),
        DB_E_UNSUPPORTED);
    cr_assert_eq(db_linear_solve(op, b, x, DB_SOLVER_TRIDIAGONAL, db_strategy_find("probe-tridiag"),
                                 ctx, NULL),
                 DB_OK);
    th_free(ctx), th_free(op), th_free(in);
}

Test(tridiag_solve, sparse_residual) {
    struct db_sparse *A = th_sparse();
    cr_assert_eq(db_sparse_band(3, 1, 1, 1, A), DB_OK);
    /* A = [[2, 1, 0], [1, 2, 1], [0, 1, 2]] */
    for (size_t i = 0; i < 3; i++)
        for (size_t e = A->row_ptr[i]; e < A->row_ptr[i + 1]; e++)
            A->values[e] = A->col_idx[e] == i ? 2.0 : 1.0;
    double x[3] = {1, -1, 1}, b[3];
    db_sparse_mv(A, x, b);
    cr_assert(b[0] == 1 && b[1] == 0 && b[2] == 1);
    cr_assert_eq(db_sparse_residual(A, x, b), 0.0);
    b[1] = 2; /* A x - b = (0, -2, 0): 2 / (||A|| = 4 * ||x|| = 1) */
    cr_assert_eq(db_sparse_residual(A, x, b), 0.5);
    cr_assert_eq(th_sparse_residual1(A, x, b), 2.0 / 12, "1-norm: 2 / (||A||_1 = 4 * ||x||_1 = 3)");
    x[2] = NAN;
    cr_assert(isinf(db_sparse_residual(A, x, b)));
    cr_assert(isinf(th_sparse_residual1(A, x, b)));
    th_free(A);
}

/* ---- CLI and the binary ----------------------------------------------------------------- */

Test(tridiag_solve, method_names) {
    struct db_solve_method m;
    cr_assert_eq(db_solve_method_parse("probe-tridiag+tridiagonal", &m), DB_OK);
    cr_assert_eq(m.solver, DB_SOLVER_TRIDIAGONAL);
    cr_assert_eq(m.diag, db_strategy_find("probe-tridiag"));
    cr_assert_eq(db_solve_method_parse("materialise+tridiagonal", &m), DB_OK);
    cr_assert_eq(m.diag, db_strategy_find("materialise"));
    char name[64];
    cr_assert_str_eq(db_solve_method_name(&m, name, sizeof name), "materialise+tridiagonal");
    const char *bad[] = {"probe+tridiagonal",
                         "probe-checked+tridiagonal",
                         "probe-banded+tridiagonal",
                         "+tridiagonal",
                         "tridiagonal",
                         "probe-tridiag+lu"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_eq(db_solve_method_parse(bad[i], &m), DB_E_INVALID, "%s", bad[i]);
    struct db_solve_method all[64];
    size_t nm = db_solve_methods_all(all, 64), tri = 0;
    for (size_t i = 0; i < nm; i++)
        if (all[i].solver == DB_SOLVER_TRIDIAGONAL) {
            tri++;
            cr_assert(db_tridiagonal_strategy_ok(all[i].diag));
        }
    cr_assert_eq(tri, 2, "--list and the defaults carry both tridiagonal methods");
}

static void expect_exit_2(const char *method, const char *needle) {
    static char out[1 << 14], err[1 << 14];
    const char *a[] = {"-w", "solve:tridiag", "-s", method, "-n", "10", NULL};
    int rc = th_run(a, NULL, out, sizeof out, err, sizeof err);
    cr_assert_eq(rc, 2, "%s: exit %d (%s)", method, rc, err);
    cr_assert_eq(th_count_lines(err), 1, "%s", err);
    cr_assert(strncmp(err, "diagbench: ", 11) == 0, "%s", err);
    cr_assert_not_null(strstr(err, needle), "'%s' not in: %s", needle, err);
    cr_assert_eq(out[0], 0);
}

Test(tridiag_solve, invalid_pairs_exit_2) {
    const char *allowed = "the tridiagonal solver takes only probe-tridiag+tridiagonal, "
                          "materialise+tridiagonal";
    expect_exit_2("probe+tridiagonal", allowed);
    expect_exit_2("probe-coloured+tridiagonal", allowed);
    expect_exit_2("probe-tridiag+lu", "the lu solver takes only materialise+lu");
    expect_exit_2("probe-tridiag+tri", "unknown strategy 'probe-tridiag+tri'");
}

/* The 1-norm forward error bound of a solve of the workload's J at its default point. */
static double default_forward_bound(const char *wl, size_t n) {
    struct db_instance *in = th_instance(db_workload_find(wl), n);
    double *ones = th_alloc(n * sizeof *ones);
    for (size_t i = 0; i < n; i++)
        ones[i] = 1;
    struct known k = known_system(in, ones);
    double bound = solve_forward_bound(&k, 0);
    known_free(&k);
    th_free(ones), th_free(in);
    return bound;
}

Test(tridiag_solve, binary_writes_ok_rows) {
    static char out[1 << 16], err[1 << 16];
    const char *a[] = {"-w",         "solve:tridiag,solve:liar",
                       "-s",         "probe-tridiag+tridiagonal,materialise+lu,probe+diagonal",
                       "-j",         "fwd",
                       "-n",         "100,1000",
                       "--reps",     "1",
                       "--min-time", "1e-4",
                       "-q",         NULL};
    int rc = th_run(a, NULL, out, sizeof out, err, sizeof err);
    cr_assert_eq(rc, 0, "%s", err);
    int c_wl = th_csv_column("workload"), c_st = th_csv_column("strategy"),
        c_n = th_csv_column("n"), c_status = th_csv_column("status"),
        c_solver = th_csv_column("solver"), c_res = th_csv_column("residual"),
        c_calls = th_csv_column("primitive_calls"), c_err = th_csv_column("max_abs_err"),
        c_note = th_csv_column("note");
    char *save, *line = strtok_r(out, "\n", &save);
    cr_assert_str_eq(line, db_csv_header);
    int rows = 0, ok = 0;
    while ((line = strtok_r(NULL, "\n", &save))) {
        char buf[4096];
        char *f[64];
        cr_assert_eq(th_csv_split(line, buf, f, 64), (int)db_csv_column_count(), "%s", line);
        rows++;
        int liar = strcmp(f[c_wl], "solve:liar") == 0;
        if (strcmp(f[c_st], "probe+diagonal") == 0) {
            /* tridiag: not tagged diagonal; liar: tagged diagonal, so it runs, and is wrong */
            cr_assert_str_eq(f[c_status], liar ? "error" : "unsupported", "%s", line);
            cr_assert_not_null(strstr(f[c_note], liar ? "wrong answer" : "tagged diagonal"), "%s",
                               line);
            if (liar) cr_assert_not_null(strstr(f[c_note], "truly tridiagonal"), "%s", line);
            cr_assert_str_eq(f[c_res], "", "%s", line);
            cr_assert_str_eq(f[c_calls], "", "%s", line);
            continue;
        }
        int tri = strcmp(f[c_st], "probe-tridiag+tridiagonal") == 0;
        cr_assert(tri || strcmp(f[c_st], "materialise+lu") == 0, "%s", line);
        cr_assert_str_eq(f[c_solver], tri ? "tridiagonal" : "lu");
        cr_assert_str_eq(f[c_status], "ok", "%s", line);
        ok++;
        size_t n = (size_t)atoi(f[c_n]);
        cr_assert(atof(f[c_res]) <= th_csv_bound(db_solve_residual_tol(n)), "%s", line);
        /* -j fwd: dgtsv and LU both factorise J (liar's J is tridiag's), so max_abs_err =
         * ||x - x_true||_inf <= ||x - x_true||_1 <= (forward bound, 1-norm) ||x_true||_1, with
         * the harness's |x_true,i| <= 1 + 6/8 (downstream.c known_solution) */
        cr_assert(atof(f[c_err]) <=
                      th_csv_bound(default_forward_bound(strchr(f[c_wl], ':') + 1, n) * 1.75 * n),
                  "%s", line);
        if (tri) cr_assert_eq(atoi(f[c_calls]), 3, "%s", line);
    }
    cr_assert_eq(rows, 2 * 3 * 2);
    cr_assert_eq(ok, 2 * 2 * 2);
}
