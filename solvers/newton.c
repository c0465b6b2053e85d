/* Newton multi-root find: x <- x + delta, J(x) delta = -f(x), until every step is within
 * atol + rtol |x| or max_steps is reached. */
#include "solvers/newton.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct db_newton_opts db_newton_defaults(enum db_solver solver,
                                         const struct db_strategy *strategy) {
    return (struct db_newton_opts){
        .rtol = DB_NEWTON_RTOL,
        .atol = DB_NEWTON_ATOL,
        .max_steps = DB_NEWTON_MAX_STEPS,
        .solver = solver,
        .strategy = strategy,
    };
}

void db_newton_start(size_t n, double *x0) {
    /* numpy.linspace(-10, 10, 20): start + k * step, the last point exactly the stop. */
    const double step = 20.0 / 19.0;
    for (size_t i = 0; i < n; i++) {
        size_t k = i % 20;
        x0[i] = k == 19 ? 10.0 : -10.0 + (double)k * step;
    }
}

/* Only operators that evaluate at op->in->x on every product (lazy kinds) follow the iterate. */
static int follows_the_point(const struct db_operator *op) {
    return db_operator_flags(op) & DB_OPERATOR_LAZY;
}

static int grow(double **p, size_t *have, size_t n) {
    if (n <= *have) return DB_OK;
    free(*p);
    *p = malloc(n * sizeof **p);
    *have = *p ? n : 0;
    return *p ? DB_OK : DB_E_NOMEM;
}

static int workspace(struct db_newton_ws *ws, size_t n, int check) {
    if (n > ws->n) {
        free(ws->f);
        free(ws->delta);
        ws->f = malloc(n * sizeof *ws->f);
        ws->delta = malloc(n * sizeof *ws->delta);
        ws->n = ws->f && ws->delta ? n : 0;
        if (!ws->n) return DB_E_NOMEM;
    }
    return check ? grow(&ws->ref, &ws->ref_n, n) : DB_OK;
}

/* x += delta; returns max_i |delta_i| / (atol + rtol |x_i|) (+inf for a non-finite entry). */
static double update(size_t n, double *restrict x, const double *restrict delta, double rtol,
                     double atol) {
    double worst = 0;
#pragma omp parallel for schedule(static) reduction(max : worst) if (n >= DB_PAR_MIN)
    for (size_t i = 0; i < n; i++) {
        x[i] += delta[i];
        double s = fabs(delta[i]) / (atol + rtol * fabs(x[i]));
        if (!(s <= worst)) worst = isnan(s) || isnan(x[i]) ? INFINITY : s;
    }
    return worst;
}

int db_newton_solve(struct db_operator *op, const double *x0, double *x,
                    const struct db_newton_opts *o, struct db_newton_ws *ws,
                    struct db_newton_result *res) {
    if (!op || !x0 || !o || !ws || !res) return DB_E_INVALID;
    *res = (struct db_newton_result){.max_residual = NAN};
    if (o->max_steps < 1 || !(o->rtol >= 0) || !(o->atol >= 0) || o->rtol + o->atol <= 0)
        return DB_E_INVALID;
    if (!follows_the_point(op)) return DB_E_UNSUPPORTED;
    struct db_instance *in = op->in;
    size_t n = op->n;
    int check = o->check && in->wl->structure == DB_STRUCT_DIAGONAL;
    DB_CHECK(workspace(ws, n, check));
    if (check) res->max_residual = 0;

    unsigned long long calls0 = db_instance_calls(in);
    double *xk = in->x, *f = ws->f, *delta = ws->delta;
    memcpy(xk, x0, n * sizeof *xk);
    int rc = DB_OK;
    for (int k = 1; k <= o->max_steps; k++) {
        rc = db_instance_eval(in, xk, f);
        res->evals++;
        if (rc == DB_OK) {
            for (size_t i = 0; i < n; i++)
                f[i] = -f[i];
            rc = db_linear_solve(op, f, delta, o->solver, o->strategy, &ws->solve, &res->solve);
        }
        if (rc != DB_OK) {
            res->failed_step = k;
            break;
        }
        if (check) {
            rc = db_instance_reference_diagonal(in, ws->ref); /* J at the current x */
            if (rc != DB_OK) {
                res->failed_step = k;
                break;
            }
            double r = db_diagonal_residual(n, ws->ref, delta, f);
            if (!(r <= res->max_residual)) res->max_residual = r;
        }
        res->last_scaled_step = update(n, xk, delta, o->rtol, o->atol);
        res->steps = k;
        if (res->last_scaled_step <= 1.0) {
            res->converged = 1;
            break;
        }
    }
    res->derivative_calls = db_instance_calls(in) - calls0 - res->evals;
    if (x) memcpy(x, xk, n * sizeof *x);
    return rc;
}

int db_newton_root_error(const struct db_instance *in, const double *x, double *max_dist,
                         size_t *worst) {
    size_t n = in->n;
    double *d = malloc(n * sizeof *d);
    if (!d) return DB_E_NOMEM;
    int rc = db_instance_root_distance(in, x, d);
    if (rc == DB_OK) {
        double m = 0;
        size_t w = 0;
        for (size_t i = 0; i < n; i++)
            if (!(d[i] <= m)) {
                m = isnan(d[i]) ? INFINITY : d[i];
                w = i;
            }
        if (max_dist) *max_dist = m;
        if (worst) *worst = w;
    }
    free(d);
    return rc;
}

void db_newton_ws_free(struct db_newton_ws *ws) {
    db_solve_ctx_free(&ws->solve);
    free(ws->f);
    free(ws->delta);
    free(ws->ref);
    memset(ws, 0, sizeof *ws);
}
