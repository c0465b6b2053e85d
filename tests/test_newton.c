/* Newton multi-root find: the seed's starts converge to the right multiples of pi (and of
 * pi/2 for split's cos half) for every method and jac; one JVP per step with probe; nobatch
 * converges with probe and is unsupported with materialise; singular Jacobians are reported
 * with their index. Plus the downstream cells end to end through the binary and the presets. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "operators/blocks.h"
#include "solvers/newton.h"
#include "tests/helpers.h"

/* Where Newton on sin goes from each of linspace(-10, 10, 20): root k*pi (worked out
 * independently with numpy; starts near +-pi/2 jump far, e.g. -1.579 -> -40 pi). */
static const int sin_roots[20] = {-3, -3, -10, -2, -2, -19, -1, -1, -40, 0,
                                  0,  40, 1,   1,  19, 2,   2,  10, 3,   3};
/* Newton on cos from the same starts: root k*pi + pi/2. */
static const int cos_roots[20] = {-4, -3, -3, -3, -2, -2, -2, -1, -1, -1,
                                  0,  0,  0,  1,  1,  1,  2,  2,  2,  3};

struct method {
    const char *diag; /* NULL for lu */
    enum db_solver solver;
};
static const struct method methods[] = {
    {"probe", DB_SOLVER_DIAGONAL}, {"materialise", DB_SOLVER_DIAGONAL}, {NULL, DB_SOLVER_LU}};
#define NMETHODS (sizeof methods / sizeof methods[0])

static double *vec(size_t n) {
    return th_alloc(n * sizeof(double));
}

/* Relative backward error of one step's solve J delta = -f against the reference J (a diagonal
 * system): the kernels' J within th_entry_rel() of it, and the solve's own gamma_1 (a division)
 * or gamma_(3n) (LU of a diagonal matrix, Higham Thm 9.4: |dA| <= gamma_(3n) |L||U| = ... |D|). */
static double step_eps(enum db_solver solver, size_t n) {
    double eta = th_entry_rel();
    return eta + (1 + eta) * th_gamma(solver == DB_SOLVER_LU ? 3 * (double)n : 1);
}

struct run {
    int rc;
    struct db_newton_result res;
    unsigned long long calls;
    double *x;
};

static struct run newton(const char *wl, size_t n, const char *kind, enum db_jac jac,
                         const struct method *m, int max_steps, const double *x0_override) {
    struct db_instance *in = th_instance(db_workload_find(wl), n);
    struct db_operator *op = th_operator(kind, jac, in, DB_TAG_DIAGONAL);
    double *x0 = vec(n);
    struct run r = {.x = vec(n)};
    if (x0_override)
        memcpy(x0, x0_override, n * sizeof *x0);
    else
        db_newton_start(n, x0);
    struct db_newton_opts o =
        db_newton_defaults(m->solver, m->diag ? db_strategy_find(m->diag) : NULL);
    o.check = 1;
    if (max_steps) o.max_steps = max_steps;
    struct db_newton_ws *ws = th_newton_ws();
    db_instance_reset_calls(in);
    r.rc = db_newton_solve(op, x0, r.x, &o, ws, &r.res);
    r.calls = db_instance_calls(in);
    if (r.rc == DB_OK)
        cr_assert_eq(memcmp(in->x, r.x, n * sizeof *r.x), 0, "the operator's point is the root");
    th_free(ws), th_free(x0), th_free(op), th_free(in);
    return r;
}

static const char *mname(const struct method *m) {
    return m->solver == DB_SOLVER_LU ? "materialise+lu" : m->diag;
}

Test(newton, start_points_are_the_seeds) {
    double x0[45];
    db_newton_start(45, x0);
    cr_assert_eq(x0[0], -10.0);
    cr_assert_eq(x0[19], 10.0);
    cr_assert_eq(x0[20], -10.0, "repeated every 20");
    /* numpy's -10 + 1 * (20/19): two roundings of values at most 10 + 20/19, here and there */
    cr_assert(fabs(x0[1] - (-10.0 + 20.0 / 19.0)) <= 2 * th_gamma(2) * (10 + 20.0 / 19.0));
    cr_assert_eq(x0[44], x0[4]);
    for (int i = 0; i < 20; i++)
        cr_assert(fabs(cos(x0[i])) > 1e-3, "no start sits on a zero of sin' (index %d)", i);
}

/* Every start converges to the expected k*pi (sin) / k*pi + pi/2 (split's cos half). */
static void check_roots(const char *wl, enum db_jac jac, const struct method *m) {
    size_t n = 80, h = n / 2;
    int split = strcmp(wl, "split") == 0;
    struct run r = newton(wl, n, "jacobian", jac, m, 0, NULL);
    cr_assert_eq(r.rc, DB_OK, "%s %s %s: %s", wl, db_jac_name(jac), mname(m), db_strerror(r.rc));
    cr_assert(r.res.converged, "%s %s %s", wl, db_jac_name(jac), mname(m));
    cr_assert(r.res.steps >= 1 && r.res.steps <= DB_NEWTON_MAX_STEPS);
    double res_bound = th_residual_bound(step_eps(m->solver, n), 1, n);
    cr_assert(r.res.max_residual <= res_bound, "every step's solve is right: residual %g > %g",
              r.res.max_residual, res_bound);
    cr_assert(r.res.max_residual <= db_solve_residual_tol(n), "and the harness would say so");
    for (size_t i = 0; i < n; i++) {
        int cos_half = split && i >= h;
        double shift = cos_half ? M_PI_2 : 0.0;
        int k = cos_half ? cos_roots[i % 20] : sin_roots[i % 20];
        double want = k * M_PI + shift;
        /* want is k pi + shift up to (|k| + 1/2) (pi - M_PI) and two roundings */
        double bound = DB_NEWTON_ROOT_TOL + (fabs((double)k) + 0.5) * 1.2246467991473532e-16 +
                       th_gamma(2) * (fabs(want) + M_PI_2);
        cr_assert(fabs(r.x[i] - want) <= bound, "%s %s %s: x[%zu]=%.17g, expected %d pi%s", wl,
                  db_jac_name(jac), mname(m), i, r.x[i], k, cos_half ? " + pi/2" : "");
    }
    struct db_instance *in = th_instance(db_workload_find(wl), n);
    double dist;
    size_t worst;
    cr_assert_eq(db_newton_root_error(in, r.x, &dist, &worst), DB_OK);
    cr_assert(dist <= DB_NEWTON_ROOT_TOL, "root error %g > %g at %zu", dist, DB_NEWTON_ROOT_TOL,
              worst);
    th_free(in), th_free(r.x);
}

Test(newton, sin_converges_to_multiples_of_pi) {
    for (size_t m = 0; m < NMETHODS; m++) {
        check_roots("sin", DB_JAC_FWD, &methods[m]);
        check_roots("sin", DB_JAC_BWD, &methods[m]);
        check_roots("seqsin", DB_JAC_FWD, &methods[m]);
    }
}

Test(newton, split_converges_to_each_halfs_roots) {
    for (size_t m = 0; m < NMETHODS; m++) {
        check_roots("split", DB_JAC_FWD, &methods[m]);
        check_roots("split", DB_JAC_BWD, &methods[m]);
    }
}

Test(newton, nobatch_converges_with_probe_only) {
    check_roots("nobatch", DB_JAC_FWD, &methods[0]);
    check_roots("nobatch", DB_JAC_BWD, &methods[0]);
    for (size_t m = 1; m < NMETHODS; m++) {
        struct run r = newton("nobatch", 40, "jacobian", DB_JAC_FWD, &methods[m], 0, NULL);
        cr_assert_eq(r.rc, DB_E_UNSUPPORTED, "%s", mname(&methods[m]));
        cr_assert_eq(r.res.failed_step, 1);
        cr_assert_eq(r.res.converged, 0);
        th_free(r.x);
    }
}

/* Probe: exactly one eval and one JVP per step. Materialise / LU: one eval and the batched
 * calls of a whole materialisation per step. */
Test(newton, call_counts) {
    size_t n = 520, B = db_block_columns(n), blocks = (n + B - 1) / B;
    cr_assert_gt(blocks, 1, "a size where materialise needs several batched calls");
    for (size_t m = 0; m < NMETHODS; m++)
        for (int j = 0; j < 2; j++) {
            struct run r =
                newton("sin", n, "jacobian", j ? DB_JAC_BWD : DB_JAC_FWD, &methods[m], 0, NULL);
            cr_assert_eq(r.rc, DB_OK);
            unsigned long long steps = (unsigned long long)r.res.steps;
            cr_assert_eq(r.res.evals, steps);
            cr_assert_eq(r.res.derivative_calls, m == 0 ? steps : steps * blocks,
                         "%s: %llu derivative calls in %llu steps", mname(&methods[m]),
                         r.res.derivative_calls, steps);
            cr_assert_eq(r.calls, r.res.evals + r.res.derivative_calls);
            th_free(r.x);
        }
    size_t ns = 60; /* seqsin: a batch of k tangents is k single calls */
    for (size_t m = 0; m < NMETHODS; m++) {
        struct run r = newton("seqsin", ns, "jacobian", DB_JAC_FWD, &methods[m], 0, NULL);
        cr_assert_eq(r.rc, DB_OK);
        unsigned long long steps = (unsigned long long)r.res.steps;
        cr_assert_eq(r.res.derivative_calls, m == 0 ? steps : steps * ns, "%s", mname(&methods[m]));
        th_free(r.x);
    }
    /* The function operator (fn(ones)) probes with one call per step too. */
    struct run r = newton("sin", 40, "function", DB_JAC_NONE, &methods[0], 0, NULL);
    cr_assert_eq(r.rc, DB_OK);
    cr_assert(r.res.converged);
    cr_assert_eq(r.res.derivative_calls, (unsigned long long)r.res.steps);
    th_free(r.x);
}

Test(newton, singular_jacobian_is_reported) {
    size_t n = 40;
    double x0[40];
    db_newton_start(n, x0);
    x0[25] = 0.0; /* split's cos half: f' = -sin(0) = 0 */
    for (size_t m = 0; m < NMETHODS; m++) {
        struct run r = newton("split", n, "jacobian", DB_JAC_FWD, &methods[m], 0, x0);
        cr_assert_eq(r.rc, DB_E_SINGULAR, "%s: %s", mname(&methods[m]), db_strerror(r.rc));
        cr_assert_eq(r.res.failed_step, 1);
        cr_assert_eq(r.res.solve.singular_index, 25);
        cr_assert_eq(r.res.converged, 0);
        th_free(r.x);
    }
}

Test(newton, not_converged_and_bad_input) {
    struct run r = newton("sin", 40, "jacobian", DB_JAC_FWD, &methods[0], 2, NULL);
    cr_assert_eq(r.rc, DB_OK, "running out of steps is a result, not an error");
    cr_assert_eq(r.res.steps, 2);
    cr_assert_eq(r.res.converged, 0);
    cr_assert_gt(r.res.last_scaled_step, 1.0);
    th_free(r.x);

    size_t n = 8;
    double x0[8], x[8];
    db_newton_start(n, x0);
    struct db_newton_ws *ws = th_newton_ws();
    struct db_newton_result res;
    struct db_newton_opts o = db_newton_defaults(DB_SOLVER_DIAGONAL, db_strategy_find("probe"));
    struct db_instance *in = th_instance(db_workload_find("sin"), n);
    const char *fixed[] = {"matrix", "diagonal"};
    for (int k = 0; k < 2; k++) {
        struct db_operator *op = th_operator(fixed[k], DB_JAC_NONE, in, DB_TAG_DIAGONAL);
        cr_assert_eq(db_newton_solve(op, x0, x, &o, ws, &res), DB_E_UNSUPPORTED,
                     "a %s operator is built once and cannot follow the iterate", fixed[k]);
        th_free(op);
    }
    struct db_operator *op = th_operator("jacobian", DB_JAC_FWD, in, DB_TAG_DIAGONAL);
    o.max_steps = 0;
    cr_assert_eq(db_newton_solve(op, x0, x, &o, ws, &res), DB_E_INVALID);
    o = db_newton_defaults(DB_SOLVER_DIAGONAL, db_strategy_find("probe"));
    o.rtol = o.atol = 0;
    cr_assert_eq(db_newton_solve(op, x0, x, &o, ws, &res), DB_E_INVALID);
    o = db_newton_defaults(DB_SOLVER_DIAGONAL, db_strategy_find("probe"));
    cr_assert_eq(db_newton_solve(op, x0, x, &o, ws, &res), DB_OK);
    cr_assert(isnan(res.max_residual), "no per-step check unless asked");
    th_free(ws), th_free(op), th_free(in);
}

Test(newton, root_distance_uses_true_pi) {
    struct db_instance *in = th_instance(db_workload_find("split"), 4);
    /* The true distances, with pi_lo = pi - M_PI rounded (relative error u): 2^20 M_PI (exact in
     * double) is 2^20 pi_lo = 1.28e-10 from 2^20 pi; -3 is (M_PI - 3) + pi_lo from -pi (M_PI - 3
     * is exact); the cos half's roots are pi/2 + k pi, and pi/2 - M_PI_2 = pi_lo / 2, so M_PI_2
     * is pi_lo / 2 from one and 1 is (M_PI_2 - 1) + pi_lo / 2 from it. The reference computes
     * each with at most three roundings of the result, and the expected values below carry one
     * more, plus pi_lo's own: gamma_5 relative. */
    const double pi_lo = 1.2246467991473532e-16, g = th_gamma(5);
    double x[4] = {1048576.0 * M_PI, -3.0, M_PI_2, 1.0}, d[4];
    double want[4] = {1048576.0 * pi_lo, (M_PI - 3.0) + pi_lo, pi_lo / 2,
                      (M_PI_2 - 1.0) + pi_lo / 2};
    cr_assert_eq(db_instance_root_distance(in, x, d), DB_OK);
    for (int i = 0; i < 4; i++)
        cr_assert(fabs(d[i] - want[i]) <= g * want[i], "x = %.17g: distance %.17g, want %.17g",
                  x[i], d[i], want[i]);
    x[1] = NAN;
    cr_assert_eq(db_instance_root_distance(in, x, d), DB_OK);
    cr_assert(isinf(d[1]));
    th_free(in);
}

/* ---- the harness: presets and an end-to-end run -------------------------------------------- */

#include "harness/plan/cli.h"
#include "harness/io/csv_write.h"
#include "tests/helpers.h"

Test(downstream, quick_preset_has_solve_and_newton_for_every_workload) {
    const struct db_preset *p = db_preset_find("quick");
    struct db_cell *c = NULL;
    size_t count = 0;
    char err[256];
    int rc = db_preset_downstream_cells(p, 0, &c, &count, err, sizeof err);
    th_own(rc == DB_OK ? c : NULL, free);
    cr_assert_eq(rc, DB_OK, "%s", err);
    const char *seed_workloads[] = {"sin", "split", "seqsin", "nobatch"};
    for (size_t w = 0; w < 4; w++)
        for (enum db_cell_kind t = DB_CELL_SOLVE; t <= DB_CELL_NEWTON; t++) {
            const struct db_workload *wl = db_workload_find(seed_workloads[w]);
            int seen[3] = {0}, lu_at_100 = 0, lu_capped = 0;
            for (size_t i = 0; i < count; i++) {
                if (c[i].wl != wl || c[i].kind != t) continue;
                cr_assert_str_eq(c[i].op_kind, "jacobian");
                if (c[i].method.solver == DB_SOLVER_LU) {
                    seen[2] = 1;
                    lu_at_100 |= c[i].n >= 100 && c[i].n <= c[i].lu_max_n;
                    lu_capped |= c[i].lu_max_n && c[i].n > c[i].lu_max_n;
                } else {
                    seen[strcmp(c[i].method.diag->name, "probe") == 0 ? 0 : 1] = 1;
                }
            }
            cr_assert(seen[0] && seen[1] && seen[2], "%s:%s lacks a method", db_cell_kind_name(t),
                      wl->name);
            cr_assert(lu_at_100, "an LU cell with n >= 100 runs");
            cr_assert(lu_capped || t == DB_CELL_SOLVE, "quick caps newton's LU below its sizes");
        }
    /* --lu-max-n replaces the preset's caps. */
    size_t count2 = 0;
    struct db_cell *c2 = NULL;
    rc = db_preset_downstream_cells(p, 7, &c2, &count2, err, sizeof err);
    th_own(rc == DB_OK ? c2 : NULL, free);
    cr_assert_eq(rc, DB_OK, "%s", err);
    cr_assert_eq(count2, count);
    for (size_t i = 0; i < count2; i++) {
        cr_assert_eq(c2[i].lu_max_n, 7);
        cr_assert_null(c2[i].budget_matrix);
    }
    th_free(c), th_free(c2);
    /* The diagonal cells of the preset are unchanged by the downstream blocks. */
    struct db_cell *d = NULL;
    size_t nd = 0;
    rc = db_preset_cells(p, &d, &nd, err, sizeof err);
    th_own(rc == DB_OK ? d : NULL, free);
    cr_assert_eq(rc, DB_OK, "%s", err);
    for (size_t i = 0; i < nd; i++)
        cr_assert_not_null(d[i].strategy);
    th_free(d);
    for (size_t k = 0; k < db_preset_count; k++) { /* every preset's blocks parse */
        struct db_cell *dc = NULL;
        size_t ndc = 0;
        rc = db_preset_downstream_cells(&db_presets[k], 0, &dc, &ndc, err, sizeof err);
        th_own(rc == DB_OK ? dc : NULL, free);
        cr_assert_eq(rc, DB_OK, "%s: %s", db_presets[k].name, err);
        cr_assert_gt(ndc, 0, "%s has downstream cells", db_presets[k].name);
        th_free(dc);
    }
}

Test(downstream, run_writes_solve_and_newton_rows) {
    static char out[1 << 16], err[1 << 16];
    const char *a[] = {"-w",         "solve:sin,newton:nobatch",
                       "-s",         "probe+diagonal,materialise+lu",
                       "-j",         "fwd",
                       "-n",         "10,200",
                       "--lu-max-n", "100",
                       "--reps",     "2",
                       "--min-time", "1e-4",
                       "-q",         NULL};
    int rc = th_run(a, NULL, out, sizeof out, err, sizeof err);
    cr_assert_eq(rc, 0, "%s", err);
    int c_wl = th_csv_column("workload"), c_st = th_csv_column("strategy"),
        c_n = th_csv_column("n"), c_status = th_csv_column("status"),
        c_solver = th_csv_column("solver"), c_res = th_csv_column("residual"),
        c_steps = th_csv_column("newton_steps"), c_conv = th_csv_column("converged"),
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
        int lu = strcmp(f[c_st], "materialise+lu") == 0;
        int newton = strcmp(f[c_wl], "newton:nobatch") == 0;
        cr_assert(newton || strcmp(f[c_wl], "solve:sin") == 0, "%s", line);
        cr_assert_str_eq(f[c_solver], lu ? "lu" : "diagonal");
        if (newton && lu) { /* can never run: unsupported wins over the budget skip at 200 */
            cr_assert_str_eq(f[c_status], "unsupported", "%s", line);
            cr_assert_not_null(strstr(f[c_note], "no batching rule"), "%s", line);
        } else if (lu && strcmp(f[c_n], "200") == 0) {
            cr_assert_str_eq(f[c_status], "skipped_budget", "%s", line);
            cr_assert_not_null(strstr(f[c_note], "--lu-max-n"), "%s", line);
        } else {
            cr_assert_str_eq(f[c_status], "ok", "%s", line);
            ok++;
            /* diagonal systems (step_eps, LU's the larger); the harness's x_true has
             * |x_i| <= 1 + 6/8 (downstream.c known_solution), b = fl(d x_true) */
            size_t n = (size_t)atoi(f[c_n]);
            double eps = step_eps(DB_SOLVER_LU, n);
            cr_assert(atof(f[c_res]) <= th_csv_bound(th_residual_bound(eps, 1, n)), "%s", line);
            if (newton) {
                cr_assert_str_eq(f[c_conv], "1", "%s", line);
                cr_assert(atoi(f[c_steps]) >= 1 && atoi(f[c_steps]) <= 8);
                cr_assert_eq(atoi(f[c_calls]), 2 * atoi(f[c_steps]), "eval + one JVP per step");
                cr_assert(atof(f[c_err]) <= th_csv_bound(DB_NEWTON_ROOT_TOL),
                          "roots are multiples of pi: %s", line);
            } else {
                cr_assert_str_eq(f[c_steps], "");
                cr_assert_str_eq(f[c_conv], "");
                cr_assert(atof(f[c_err]) <= th_csv_bound(th_forward_bound(eps, TH_U, 1) * 1.75),
                          "%s", line);
            }
            continue;
        }
        cr_assert_str_eq(f[c_res], "", "numeric fields of non-ok rows are empty: %s", line);
        cr_assert_str_eq(f[c_steps], "");
        cr_assert_str_eq(f[c_conv], "");
        cr_assert_str_eq(f[c_calls], "");
    }
    cr_assert_eq(rows, 8);
    cr_assert_eq(ok, 5);
}

Test(downstream, memory_budget_skips_lu) {
    static char out[1 << 16], err[1 << 16];
    const char *a[] = {"-w",          "solve:sin", "-s",     "probe+diagonal,materialise+lu",
                       "-j",          "fwd",       "-n",     "2000",
                       "--mem-limit", "1M",        "--reps", "1",
                       "--min-time",  "1e-4",      "-q",     NULL};
    int rc = th_run(a, NULL, out, sizeof out, err, sizeof err);
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert_not_null(strstr(out, ",materialise+lu,2000,"), "%s", out);
    cr_assert_not_null(strstr(out, "skipped_memory"), "%s", out);
    cr_assert_not_null(strstr(out, ",probe+diagonal,2000,"), "%s", out);
    cr_assert_eq(th_count_lines(out), 3, "header + 2 rows: %s", out);
}
