/* Linear solves: known solutions for every solver x workload x operator that runs, the
 * transposed (reverse-mode) LU path on a non-symmetric matrix, singular diagonals with their
 * index, unsupported combinations, call counts and workspace reuse. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "operators/blocks.h"
#include "solvers/solve.h"
#include "tests/helpers.h"

static double *vec(size_t n) {
    return th_alloc(n * sizeof(double));
}

static const size_t sizes[] = {1, 7, 64, 300};
#define NSIZES (sizeof sizes / sizeof sizes[0])

/* x_true with mixed signs; b = diag(ref) x_true. */
static void known_system(size_t n, const double *ref, double *xt, double *b) {
    for (size_t i = 0; i < n; i++) {
        xt[i] = (i % 3 ? 1.0 : -1.0) * (0.5 + (double)(i % 5));
        b[i] = ref[i] * xt[i];
    }
}

/* Would this solve reach a batched primitive call (materialise)? */
static int needs_batching(const char *kind, enum db_solver solver, const struct db_strategy *st) {
    int lazy = strcmp(kind, "jacobian") == 0 || strcmp(kind, "function") == 0;
    int materialises = solver == DB_SOLVER_LU || strcmp(st->name, "materialise") == 0;
    return lazy && materialises;
}

/* Primitive calls of one diagonal extraction by strategy st on a fresh operator of this kind. */
static unsigned long long extraction_calls(const struct db_workload *wl, const char *kind,
                                           enum db_jac jac, const struct db_strategy *st,
                                           size_t n) {
    struct db_instance *in = th_instance(wl, n);
    struct db_operator *op = th_operator(kind, jac, in, DB_TAG_DIAGONAL);
    struct db_strategy_ctx *ctx = th_strategy_ctx();
    double *d = vec(n);
    db_instance_reset_calls(in);
    cr_assert_eq(st->run(op, d, ctx), DB_OK);
    unsigned long long calls = db_instance_calls(in);
    th_free(d), th_free(ctx), th_free(op), th_free(in);
    return calls;
}

/* Primitive calls one solve promises: the diagonal solver costs exactly one extraction by its
 * strategy (checked against the strategy run alone; plain probe must be 1), LU one
 * materialisation through the batching rule. */
static unsigned long long promised_calls(const char *kind, enum db_jac jac, enum db_solver solver,
                                         const struct db_strategy *st, const struct db_workload *wl,
                                         size_t n) {
    if (solver == DB_SOLVER_DIAGONAL) {
        unsigned long long c = extraction_calls(wl, kind, jac, st, n);
        if (strcmp(st->name, "probe") == 0)
            cr_assert_eq(c, strcmp(kind, "diagonal") == 0 ? 0 : 1, "probe makes one product");
        return c;
    }
    if (strcmp(kind, "diagonal") == 0 || strcmp(kind, "matrix") == 0) return 0;
    if (wl->batch == DB_BATCH_SEQUENTIAL) return n;
    size_t B = db_block_columns(n);
    return (n + B - 1) / B;
}

/* The known system is diagonal: each x_i solves d_i x_i = b_i alone (kappa = 1 for a 1 x 1
 * system, Higham Thm 7.2), with b_i = fl(d_i x_true,i) (eps_b = u) and the solver's d^_i from
 * the kernels, |d^_i - d_i| <= th_entry_rel() |d_i|. The diagonal solver divides once
 * (gamma_1); LU factorises diag(d^) with |dA| <= gamma_(3n) |L^||U^| = gamma_(3n) |D^| (Thm 9.4).
 * So |x_i - x_true,i| <= th_forward_bound(eps_a, u, 1) |x_true,i| with
 * eps_a = eta + (1 + eta) gamma_s, s = 1 or 3n; and the residual of a diagonal system
 * (db_diagonal_residual, inf-norm, 1 non-zero a row) is within th_residual_bound(eps_a, 1, n). */
static double diagonal_solve_eps(enum db_solver solver, size_t n) {
    double eta = th_entry_rel(), s = solver == DB_SOLVER_LU ? 3 * (double)n : 1;
    return eta + (1 + eta) * th_gamma(s);
}

static void check_solve(const struct db_workload *wl, const char *kind, enum db_jac jac,
                        enum db_solver solver, const struct db_strategy *st, size_t n) {
    struct db_instance *in = th_instance(wl, n);
    struct db_operator *op = th_operator(kind, jac, in, DB_TAG_DIAGONAL);
    double *ref = vec(n), *xt = vec(n), *b = vec(n), *x = vec(n);
    cr_assert_eq(db_instance_reference_diagonal(in, ref), DB_OK);
    known_system(n, ref, xt, b);
    struct db_solve_ctx *ctx = th_solve_ctx();
    struct db_solve_info info;
    const char *what = db_solver_name(solver);
    double eps_a = diagonal_solve_eps(solver, n);
    double rel = th_forward_bound(eps_a, TH_U, 1), res_bound = th_residual_bound(eps_a, 1, n);
    for (int rep = 0; rep < 2; rep++) { /* the second solve reuses the workspace */
        double *lu = ctx->lu, *diag = ctx->diag;
        for (size_t i = 0; i < n; i++)
            x[i] = NAN;
        db_instance_reset_calls(in);
        int rc = db_linear_solve(op, b, x, solver, st, ctx, &info);
        if (wl->batch == DB_BATCH_NONE && needs_batching(kind, solver, st)) {
            cr_assert_eq(rc, DB_E_UNSUPPORTED, "%s/%s/%s/%s+%s n=%zu", wl->name, kind,
                         db_jac_name(jac), st->name, what, n);
            break;
        }
        cr_assert_eq(rc, DB_OK, "%s/%s/%s/%s+%s n=%zu: %s", wl->name, kind, db_jac_name(jac),
                     st->name, what, n, db_strerror(rc));
        double ratio;
        size_t i = th_rel_violation(x, xt, n, rel, &ratio);
        cr_assert_eq(i, n,
                     "%s/%s/%s/%s+%s n=%zu: x[%zu]=%.17g, expected %.17g (relative error %g > %g)",
                     wl->name, kind, db_jac_name(jac), st->name, what, n, i, i < n ? x[i] : 0,
                     i < n ? xt[i] : 0, ratio, rel);
        double res = db_diagonal_residual(n, ref, x, b);
        cr_assert(res <= res_bound, "residual %g > %g", res, res_bound);
        cr_assert(res <= db_solve_residual_tol(n), "residual %g: the harness would call it wrong",
                  res);
        cr_assert_eq(db_instance_calls(in), promised_calls(kind, jac, solver, st, wl, n),
                     "%s/%s/%s/%s+%s n=%zu: %llu calls", wl->name, kind, db_jac_name(jac), st->name,
                     what, n, db_instance_calls(in));
        if (rep == 1) {
            if (solver == DB_SOLVER_LU) cr_assert_eq(ctx->lu, lu, "the LU buffer is reused");
            if (solver == DB_SOLVER_DIAGONAL) cr_assert_eq(ctx->diag, diag);
        }
    }
    th_free(ctx), th_free(ref), th_free(xt), th_free(b), th_free(x);
    th_free(op), th_free(in);
}

/* Every workload whose Jacobian is truly diagonal (the known system is diag(reference) x = b;
 * the tridiagonal workloads, liar included, are in test_tridiag_solve.c). */
static void check_kind(const char *kind, enum db_jac jac) {
    for (size_t w = 0; w < db_workload_count; w++)
        for (size_t k = 0; k < NSIZES && db_workloads[w]->structure == DB_STRUCT_DIAGONAL; k++) {
            for (size_t s = 0; s < db_strategy_count; s++)
                check_solve(db_workloads[w], kind, jac, DB_SOLVER_DIAGONAL, db_strategies[s],
                            sizes[k]);
            /* lu ignores the strategy: pass each anyway, it must not matter */
            check_solve(db_workloads[w], kind, jac, DB_SOLVER_LU, db_strategy_find("probe"),
                        sizes[k]);
        }
}

Test(solve, known_solutions_jacobian_fwd) {
    check_kind("jacobian", DB_JAC_FWD);
}
Test(solve, known_solutions_jacobian_bwd) {
    check_kind("jacobian", DB_JAC_BWD);
}
Test(solve, known_solutions_function_matrix_diagonal) {
    check_kind("function", DB_JAC_NONE);
    check_kind("matrix", DB_JAC_NONE);
    check_kind("diagonal", DB_JAC_NONE);
}

/* ---- a test operator: a stored matrix given as A or as A^T, with an optional diagonal ------ */

struct test_op {
    struct db_operator base;
    double *a; /* column-major n*n */
    int transposed;
    const double *diag; /* when set, the kind "knows" its diagonal */
};

static int test_mv(struct db_operator *op, const double *v, double *out) {
    (void)op, (void)v, (void)out;
    return DB_E_UNSUPPORTED;
}
static int test_materialise(struct db_operator *op, double *buf, struct db_dense *M) {
    (void)buf;
    struct test_op *t = (struct test_op *)op;
    *M = (struct db_dense){.data = t->a, .n = op->n, .ld = op->n, .transposed = t->transposed};
    return DB_OK;
}
static size_t test_materialise_bytes(const struct db_operator *op) {
    (void)op;
    return 0;
}
static int test_diagonal(struct db_operator *op, double *diag) {
    memcpy(diag, ((struct test_op *)op)->diag, op->n * sizeof *diag);
    return DB_OK;
}
static void test_destroy(struct db_operator *op) {
    (void)op;
}
static const struct db_operator_ops test_ops = {
    .kind = "test",
    .mv = test_mv,
    .materialise = test_materialise,
    .materialise_bytes = test_materialise_bytes,
    .destroy = test_destroy,
};
static const struct db_operator_ops test_diag_ops = {
    .kind = "test-diagonal",
    .mv = test_mv,
    .materialise = test_materialise,
    .materialise_bytes = test_materialise_bytes,
    .diagonal = test_diagonal,
    .destroy = test_destroy,
};

/* LU must solve A x = b whether materialise hands back A or A^T (reverse mode): a
 * non-symmetric matrix that needs pivoting tells the two apart. */
Test(solve, lu_handles_transposed_storage) {
    enum { N = 5 };
    /* A (row i, column j), non-symmetric, zero in the (0,0) corner so pivoting is needed. */
    const double A[N][N] = {
        {0, 2, 1, 0, 3}, {4, 1, -1, 2, 0}, {1, 0, 3, -2, 1}, {2, -3, 0, 1, 1}, {0, 1, 2, 1, -4}};
    const double xt[N] = {1, -2, 0.5, 3, -1};
    double b[N] = {0}, x[N];
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++)
            b[i] += A[i][j] * xt[j];
    for (int tr = 0; tr < 2; tr++) {
        double a[N * N];
        for (int i = 0; i < N; i++)
            for (int j = 0; j < N; j++) /* column-major A, or column-major A^T */
                a[tr ? i * N + j : j * N + i] = A[i][j];
        struct test_op t = {.base = {.ops = &test_ops, .n = N}, .a = a, .transposed = tr};
        struct db_solve_ctx *ctx = th_solve_ctx();
        cr_assert_eq(db_linear_solve(&t.base, b, x, DB_SOLVER_LU, NULL, ctx, NULL), DB_OK);
        /* GEPP on the stored M (A, or A^T), backward error from its own factors (Higham Thm 9.4):
         * ||dM||_1 <= eps ||M||_1. Solving with A^T's factors, ||dA||_inf = ||dM||_1, so the
         * bound (Thm 7.2; b = fl(A x_true): gamma_N) is in the 1-norm for A and in the inf-norm
         * for A^T, with kappa_inf(A) = kappa_1(A^T) = kappa_1(M) either way. */
        double eps = th_dense_gepp_backward1(N, a), kappa = th_dense_cond1(N, a);
        double bound = th_forward_bound(eps, th_gamma(N), kappa), err = 0, xn = 0;
        cr_assert(isfinite(bound), "kappa %g", kappa);
        for (int i = 0; i < N; i++) {
            double e = fabs(x[i] - xt[i]);
            err = tr ? fmax(err, e) : err + e;
            xn = tr ? fmax(xn, fabs(xt[i])) : xn + fabs(xt[i]);
            cr_assert(!isnan(e), "transposed=%d x[%d] is NaN", tr, i);
        }
        cr_assert(err <= bound * xn, "transposed=%d: ||x - x_true|| = %g > %g ||x_true||", tr, err,
                  bound);
        cr_assert_eq(memcmp(a + N,
                            tr ? (double[]){A[1][0], A[1][1], A[1][2], A[1][3], A[1][4]}
                               : (double[]){A[0][1], A[1][1], A[2][1], A[3][1], A[4][1]},
                            N * sizeof(double)),
                     0, "dgesv overwrites a copy, never the view");
        th_free(ctx);
    }
}

Test(solve, singular_diagonal_reports_its_index) {
    enum { N = 9 };
    double d[N] = {1, 2, 3, 4, 5, 0.0, 7, 8, 9}, a[N * N] = {0}, b[N], x[N];
    for (int i = 0; i < N; i++)
        a[i * N + i] = d[i], b[i] = 1;
    struct test_op t = {
        .base = {.ops = &test_diag_ops, .n = N, .tags = DB_TAG_DIAGONAL}, .a = a, .diag = d};
    for (size_t s = 0; s < db_strategy_count; s++) {
        struct db_solve_ctx *ctx = th_solve_ctx();
        struct db_solve_info info = {0};
        int rc = db_linear_solve(&t.base, b, x, DB_SOLVER_DIAGONAL, db_strategies[s], ctx, &info);
        cr_assert_eq(rc, DB_E_SINGULAR, "%s: %s", db_strategies[s]->name, db_strerror(rc));
        cr_assert_eq(info.singular_index, 5);
        cr_assert_eq(info.singular_value, 0.0);
        th_free(ctx);
    }
    struct db_solve_ctx *ctx = th_solve_ctx();
    struct db_solve_info info = {0};
    cr_assert_eq(db_linear_solve(&t.base, b, x, DB_SOLVER_LU, NULL, ctx, &info), DB_E_SINGULAR);
    cr_assert_eq(info.singular_index, 5, "LU: zero pivot U[5,5]");
    /* A NaN entry is singular too, and the first bad index wins. */
    d[2] = NAN;
    a[2 * N + 2] = NAN;
    cr_assert_eq(
        db_linear_solve(&t.base, b, x, DB_SOLVER_DIAGONAL, db_strategy_find("probe"), ctx, &info),
        DB_E_SINGULAR);
    cr_assert_eq(info.singular_index, 2);
    cr_assert(isnan(info.singular_value));
    cr_assert_eq(db_linear_solve(&t.base, b, x, DB_SOLVER_LU, NULL, ctx, &info), DB_E_SINGULAR);
    th_free(ctx);
}

/* A genuinely singular workload point: split's second half has J_ii = -sin(x_i), exactly 0 at
 * x_i = 0; and a NaN point makes sin's J_ii = cos(NaN) non-finite. */
Test(solve, singular_workload_points) {
    size_t n = 10;
    const char *kinds[] = {"jacobian", "jacobian", "function"};
    enum db_jac jacs[] = {DB_JAC_FWD, DB_JAC_BWD, DB_JAC_NONE};
    for (int k = 0; k < 3; k++) {
        struct db_instance *in = th_instance(db_workload_find("split"), n);
        in->x[7] = 0.0; /* index 7 >= n/2: the cos half */
        struct db_operator *op = th_operator(kinds[k], jacs[k], in, DB_TAG_DIAGONAL);
        double b[10], x[10];
        for (size_t i = 0; i < n; i++)
            b[i] = 1;
        struct db_solve_ctx *ctx = th_solve_ctx();
        struct db_solve_info info;
        for (size_t s = 0; s < db_strategy_count; s++) {
            cr_assert_eq(
                db_linear_solve(op, b, x, DB_SOLVER_DIAGONAL, db_strategies[s], ctx, &info),
                DB_E_SINGULAR, "%s %s", kinds[k], db_strategies[s]->name);
            cr_assert_eq(info.singular_index, 7);
        }
        cr_assert_eq(db_linear_solve(op, b, x, DB_SOLVER_LU, NULL, ctx, &info), DB_E_SINGULAR);
        cr_assert_eq(info.singular_index, 7);
        in->x[7] = 1.0;
        in->x[3] = NAN;
        cr_assert_eq(
            db_linear_solve(op, b, x, DB_SOLVER_DIAGONAL, db_strategy_find("probe"), ctx, &info),
            DB_E_SINGULAR);
        cr_assert_eq(info.singular_index, 3);
        cr_assert_eq(db_linear_solve(op, b, x, DB_SOLVER_LU, NULL, ctx, &info), DB_E_SINGULAR);
        th_free(ctx);
        th_free(op);
        th_free(in);
    }
}

/* The diagonal solver refuses an operator not known to be diagonal (dividing by the diagonal of
 * a dense A would be a wrong answer); LU does not care. */
Test(solve, diagonal_solver_needs_the_tag) {
    size_t n = 16;
    struct db_instance *in = th_instance(db_workload_find("sin"), n);
    struct db_operator *op = th_operator("jacobian", DB_JAC_FWD, in, 0);
    double *b = vec(n), *x = vec(n);
    for (size_t i = 0; i < n; i++)
        b[i] = 1;
    struct db_solve_ctx *ctx = th_solve_ctx();
    db_instance_reset_calls(in);
    cr_assert_eq(
        db_linear_solve(op, b, x, DB_SOLVER_DIAGONAL, db_strategy_find("probe"), ctx, NULL),
        DB_E_UNSUPPORTED);
    cr_assert_eq(db_instance_calls(in), 0, "refused before any primitive call");
    cr_assert_eq(db_linear_solve(op, b, x, DB_SOLVER_LU, NULL, ctx, NULL), DB_OK);
    op->tags = DB_TAG_DIAGONAL;
    cr_assert_eq(db_linear_solve(op, b, x, DB_SOLVER_DIAGONAL, NULL, ctx, NULL), DB_E_INVALID,
                 "the diagonal solver needs a strategy");
    cr_assert_eq(db_linear_solve(op, b, x, (enum db_solver)42, NULL, ctx, NULL), DB_E_INVALID);
    th_free(ctx);
    th_free(b), th_free(x);
    th_free(op);
    th_free(in);
}

Test(solve, names_and_residual) {
    enum db_solver s;
    cr_assert_eq(db_solver_find("diagonal", &s), DB_OK);
    cr_assert_eq(s, DB_SOLVER_DIAGONAL);
    cr_assert_eq(db_solver_find("lu", &s), DB_OK);
    cr_assert_eq(s, DB_SOLVER_LU);
    cr_assert_eq(db_solver_find("tridiagonal", &s), DB_OK);
    cr_assert_eq(s, DB_SOLVER_TRIDIAGONAL);
    cr_assert_eq(db_solver_find("dgtsv", &s), DB_E_INVALID);
    cr_assert_str_eq(db_solver_name(DB_SOLVER_LU), "lu");
    double d[] = {2, -4}, b[] = {2, 4}, x[] = {1, -1};
    cr_assert_eq(db_diagonal_residual(2, d, x, b), 0.0);
    x[1] = -0.5; /* D x - b = (0, -2): 2 / (4 * 1) */
    cr_assert_eq(db_diagonal_residual(2, d, x, b), 0.5);
    x[0] = NAN;
    cr_assert(isinf(db_diagonal_residual(2, d, x, b)), "a NaN never passes");
}

/* ---- the CLI: new names parse, bad ones exit 2 with one line ------------------------------- */

#include "harness/plan/cli.h"
#include "tests/helpers.h"

Test(downstream_cli, method_names_parse) {
    struct db_solve_method m;
    cr_assert_eq(db_solve_method_parse("probe+diagonal", &m), DB_OK);
    cr_assert_eq(m.diag, db_strategy_find("probe"));
    cr_assert_eq(m.solver, DB_SOLVER_DIAGONAL);
    cr_assert_eq(db_solve_method_parse("materialise+lu", &m), DB_OK);
    cr_assert_null(m.diag);
    cr_assert_eq(m.solver, DB_SOLVER_LU);
    const char *bad[] = {
        "probe", "probe+lu", "guess+diagonal", "materialise+", "+diagonal", "probe+diagonal+x", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_eq(db_solve_method_parse(bad[i], &m), DB_E_INVALID, "%s", bad[i]);
    enum db_cell_kind t;
    const struct db_workload *w;
    cr_assert_eq(db_task_workload_parse("newton:split", &t, &w), DB_OK);
    cr_assert_eq(t, DB_CELL_NEWTON);
    cr_assert_eq(w, db_workload_find("split"));
    const char *badw[] = {"sin", "solve:", "solve:tan", "newt:sin", ":sin", "solve:sin:x"};
    for (size_t i = 0; i < sizeof badw / sizeof badw[0]; i++)
        cr_assert_eq(db_task_workload_parse(badw[i], &t, &w), DB_E_INVALID, "%s", badw[i]);
}

static int parse(struct db_cli *cli, char **argv) {
    int argc = 0;
    while (argv[argc])
        argc++;
    char e[1024];
    int rc = db_cli_parse(argc, argv, cli, e, sizeof e);
    cr_assert_eq(rc, DB_OK, "%s", e);
    return rc;
}

Test(downstream_cli, new_names_parse) {
    struct db_cli cli;
    char *a1[] = {
        "diagbench", "-w", "solve:sin,newton:split", "-s", "probe+diagonal,materialise+lu", "-n",
        "10",        NULL};
    parse(&cli, a1);
    cr_assert_eq(cli.sel.ntasks, 2);
    cr_assert_eq(cli.sel.tasks[1].kind, DB_CELL_NEWTON);
    cr_assert_eq(cli.sel.tasks[1].wl, db_workload_find("split"));
    cr_assert_eq(cli.sel.nmethods, 2);
    cr_assert_eq(cli.sel.nworkloads, 0);
    cr_assert_eq(cli.sel.nstrategies, 0);
    struct db_cell *c = NULL;
    struct db_cell *d = NULL;
    size_t nc = 0, nd = 0;
    int rc_c = db_selection_cells(&cli.sel, &c, &nc);
    th_own(c, free);
    int rc_d = db_selection_downstream_cells(&cli.sel, &d, &nd);
    th_own(d, free);
    cr_assert_eq(rc_c, DB_OK);
    cr_assert_eq(rc_d, DB_OK);
    cr_assert_eq(nc, 0);
    cr_assert_eq(nd, 2 * 2 * 2, "2 workloads x 2 jacs x 2 methods");
    th_free(c), th_free(d);

    char *a2[] = {"diagbench", "-w", "sin,solve:sin", "-s",  "probe,probe+diagonal",
                  "-n",        "10", "--lu-max-n",    "500", NULL};
    parse(&cli, a2);
    cr_assert_eq(cli.sel.nworkloads, 1);
    cr_assert_eq(cli.sel.ntasks, 1);
    cr_assert_eq(cli.sel.lu_max_n, 500);

    char *a3[] = {"diagbench", "-s", "materialise+lu", "-n", "10", NULL};
    parse(&cli, a3);
    cr_assert_eq(cli.sel.nworkloads, 0, "only solve methods: downstream workloads by default");
    cr_assert_eq(cli.sel.ntasks, 2 * db_workload_count);

    char *a4[] = {"diagbench", "-n", "10", NULL};
    parse(&cli, a4);
    cr_assert_eq(cli.sel.nworkloads, db_workload_count, "the plain default is unchanged");
    cr_assert_eq(cli.sel.ntasks, 0);
    cr_assert_eq(cli.sel.nstrategies, db_strategy_count);

    char *a5[] = {"diagbench", "-w", "newton:nobatch", "-n", "10", NULL};
    parse(&cli, a5);
    cr_assert_eq(cli.sel.nmethods, db_strategy_count + 3,
                 "every S+diagonal, materialise+lu and the two tridiagonal methods");
}

static void expect_bad(const char *const *args, const char *needle) {
    static char out[1 << 14], err[1 << 14];
    int rc = th_run(args, NULL, out, sizeof out, err, sizeof err);
    cr_assert_eq(rc, 2, "exit %d (stderr: %s)", rc, err);
    cr_assert_eq(th_count_lines(err), 1, "%s", err);
    cr_assert(strncmp(err, "diagbench: ", 11) == 0, "%s", err);
    cr_assert_not_null(strstr(err, needle), "'%s' not in: %s", needle, err);
    cr_assert_eq(out[0], 0);
}

#define BAD(needle, ...)                                                                           \
    do {                                                                                           \
        const char *a[] = {__VA_ARGS__, NULL};                                                     \
        expect_bad(a, needle);                                                                     \
    } while (0)

Test(downstream_cli, bad_names_exit_2) {
    BAD("unknown workload 'solve:tan' in -w: expected one of sin, split, seqsin, nobatch", "-w",
        "solve:tan", "-n", "10");
    BAD("solve:W / newton:W", "-w", "integrate:sin", "-n", "10");
    BAD("invalid solve method 'probe+lu' in -s: the lu solver takes only materialise+lu", "-w",
        "solve:sin", "-s", "probe+lu", "-n", "10");
    BAD("unknown strategy 'probe+lux' in -s: expected one of materialise, probe", "-w", "solve:sin",
        "-s", "probe+lux", "-n", "10");
    BAD("materialise+lu", "-s", "guess", "-n", "10");
    BAD("no solve method for workload solve:sin", "-w", "solve:sin", "-s", "probe", "-n", "10");
    BAD("no diagonal strategy for workload sin", "-w", "sin", "-s", "probe+diagonal", "-n", "10");
    BAD("needs a plain workload", "-w", "solve:sin", "-s", "probe,probe+diagonal", "-n", "10");
    BAD("-w: newton:sin given twice", "-w", "newton:sin,newton:sin", "-n", "10");
    BAD("-s: materialise+lu given twice", "-w", "solve:sin", "-s", "materialise+lu,materialise+lu",
        "-n", "10");
    BAD("invalid size '0' in --lu-max-n", "-n", "10", "--lu-max-n", "0");
    BAD("--lu-max-n takes one number", "-n", "10", "--lu-max-n", "5,6");
}
