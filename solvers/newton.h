/* Newton multi-root find (optimistix.root_find with Newton, as the seed ran it): n independent
 * scalar equations f(x) = 0 solved together, each step solving J(x) delta = -f(x) with J the
 * lazy Jacobian operator at the current x (tagged diagonal by the caller) through
 * db_linear_solve, with a selectable solver and diagonal strategy.
 *
 * Convergence (documented choice, simpler than optimistix's rate-based test): after a step,
 * converged when |delta_i| <= atol + rtol * |x_i| for every i, with x the updated iterate. The
 * run stops at the first converged step or after max_steps steps. */
#ifndef DB_NEWTON_H
#define DB_NEWTON_H

#include <float.h>
#include <stddef.h>

#include "solvers/solve.h"

#define DB_NEWTON_RTOL      1e-8 /* the seed's rtol */
#define DB_NEWTON_ATOL      1e-8 /* the seed's atol */
#define DB_NEWTON_MAX_STEPS 8    /* the seed's max_steps */

/* How close a converged run's x_i must be to a true root of f_i (farther is a wrong root).
 * The workloads Newton runs on have f_i = sin or cos: at a root |f'| = 1, and the step from
 * x = r + e is exactly -tan(e), so |e| <= |delta| and the new error is e - tan(e), at most |e|^3
 * for |e| <= 1/2. The last step has |delta^| <= tau = atol + rtol |x|, |x| <= X = 128 (the
 * farthest root the seed's starts reach is -40 pi; tests/test_newton.c). delta^ carries a
 * relative error theta <= gamma_k, k = 2*4 + 2*4 + 1 + 3n (f and f' from libmvec, <= 4 ulp
 * each, 2u per ulp; the division; LU's backward error gamma_(3n), Higham Thm 9.4, n <= INT_MAX)
 * and x + delta^ one rounding. So |x - r| <= t^3 + theta t + u (X + t), t = tau / (1 - theta):
 * about 9.3e-13, where the rounding of x (u X = 1.4e-14) and of a huge LU's step dominate. */
#define DB_NEWTON_ROOT_X 128.0
#define DB_NEWTON_U_     (DBL_EPSILON / 2)
#define DB_NEWTON_K_     (17 + 3 * 2147483647.0)
#define DB_NEWTON_THETA_ (DB_NEWTON_K_ * DB_NEWTON_U_ / (1 - DB_NEWTON_K_ * DB_NEWTON_U_))
#define DB_NEWTON_LAST_STEP_                                                                       \
    ((DB_NEWTON_ATOL + DB_NEWTON_RTOL * DB_NEWTON_ROOT_X) / (1 - DB_NEWTON_THETA_))
#define DB_NEWTON_ROOT_TOL                                                                         \
    (DB_NEWTON_LAST_STEP_ * DB_NEWTON_LAST_STEP_ * DB_NEWTON_LAST_STEP_ +                          \
     DB_NEWTON_THETA_ * DB_NEWTON_LAST_STEP_ +                                                     \
     DB_NEWTON_U_ * (DB_NEWTON_ROOT_X + DB_NEWTON_LAST_STEP_))

struct db_newton_opts {
    double rtol, atol;
    int max_steps;
    enum db_solver solver;
    const struct db_strategy *strategy; /* diagonal strategy for DB_SOLVER_DIAGONAL */
    /* Also measure each step's solve against the exact reference Jacobian (diagonal workloads
     * only; costs O(n) scalar libm per step -- for untimed correctness runs). */
    int check;
};

/* The seed's options: rtol = atol = 1e-8, max_steps = 8, no per-step check. */
struct db_newton_opts db_newton_defaults(enum db_solver solver, const struct db_strategy *strategy);

/* Workspace reused across runs on one cell (allocated on the first run). */
struct db_newton_ws {
    struct db_solve_ctx solve;
    double *f, *delta, *ref; /* n each (ref only with check) */
    size_t n, ref_n;
};

struct db_newton_result {
    int steps;                /* Newton steps taken (each: one eval and one linear solve) */
    int converged;            /* 1 when the step criterion held within max_steps */
    unsigned long long evals; /* primitive evals made by Newton (one per step) */
    unsigned long long derivative_calls; /* every other primitive call: those of the solves */
    double last_scaled_step;             /* max_i |delta_i| / (atol + rtol |x_i|), last step */
    double max_residual;        /* with check: max over steps of the solve's relative residual
                                   against the reference Jacobian; NaN without */
    int failed_step;            /* 1-based step whose eval or solve failed; 0 if none */
    struct db_solve_info solve; /* DB_E_SINGULAR: the failed step's zero/non-finite entry */
};

/* The seed's starting points: linspace(-10, 10, 20) repeated to length n. */
void db_newton_start(size_t n, double *x0);

/* Run Newton on op (of a lazy kind, DB_OPERATOR_LAZY: its point op->in->x is moved to
 * each iterate and left at the last one) from x0; the final iterate is copied to x (may be
 * NULL). Returns DB_OK whether or not it converged (see res), DB_E_SINGULAR when a step's
 * Jacobian is singular (res->failed_step, res->solve), DB_E_UNSUPPORTED for an operator that
 * cannot follow the iterate (matrix, diagonal: built once at setup) or a solve that is
 * unsupported, DB_E_INVALID for bad options. */
int db_newton_solve(struct db_operator *op, const double *x0, double *x,
                    const struct db_newton_opts *o, struct db_newton_ws *ws,
                    struct db_newton_result *res);

/* Largest distance of x[i] to a true root of the workload's f_i (and its index): the
 * correctness check of a root find. DB_E_UNSUPPORTED when the workload does not know its roots. */
int db_newton_root_error(const struct db_instance *in, const double *x, double *max_dist,
                         size_t *worst);

void db_newton_ws_free(struct db_newton_ws *ws);

#endif
