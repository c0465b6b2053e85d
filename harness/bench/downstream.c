/* Downstream cells (solve:<w>, newton:<w>): budget checks, an untimed correctness run against
 * the exact reference, then Google Benchmark timing of one solve / one whole Newton run. */
#include "harness/bench/downstream.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/env/memory.h"
#include "harness/bench/gbench.h"
#include "harness/bench/repeat.h"

int db_task_workload_parse(const char *item, enum db_cell_kind *kind,
                           const struct db_workload **wl) {
    const char *colon = item ? strchr(item, ':') : NULL;
    if (!colon) return DB_E_INVALID;
    size_t len = (size_t)(colon - item);
    enum db_cell_kind t;
    if (len == 5 && strncmp(item, "solve", 5) == 0)
        t = DB_CELL_SOLVE;
    else if (len == 6 && strncmp(item, "newton", 6) == 0)
        t = DB_CELL_NEWTON;
    else
        return DB_E_INVALID;
    const struct db_workload *w = db_workload_find(colon + 1);
    if (!w) return DB_E_INVALID;
    *kind = t;
    *wl = w;
    return DB_OK;
}

int db_solve_method_parse(const char *item, struct db_solve_method *m) {
    const char *plus = item ? strchr(item, '+') : NULL;
    if (!plus) return DB_E_INVALID;
    enum db_solver solver;
    DB_CHECK(db_solver_find(plus + 1, &solver));
    char left[64];
    size_t len = (size_t)(plus - item);
    if (len >= sizeof left) return DB_E_INVALID;
    memcpy(left, item, len);
    left[len] = 0;
    switch (solver) {
    case DB_SOLVER_DIAGONAL: {
        const struct db_strategy *st = db_strategy_find(left);
        if (!st) return DB_E_INVALID;
        *m = (struct db_solve_method){.diag = st, .solver = solver};
        return DB_OK;
    }
    case DB_SOLVER_LU:
        if (db_strategy_find(left) != &db_strategy_materialise) return DB_E_INVALID;
        *m = (struct db_solve_method){.diag = NULL, .solver = solver};
        return DB_OK;
    case DB_SOLVER_TRIDIAGONAL: {
        const struct db_strategy *st = db_strategy_find(left);
        if (!db_tridiagonal_strategy_ok(st)) return DB_E_INVALID;
        *m = (struct db_solve_method){.diag = st, .solver = solver};
        return DB_OK;
    }
    }
    return DB_E_INVALID;
}

size_t db_solve_methods_all(struct db_solve_method *out, size_t max) {
    size_t k = 0;
    for (size_t i = 0; i < db_strategy_count; i++, k++)
        if (k < max) out[k] = (struct db_solve_method){db_strategies[i], DB_SOLVER_DIAGONAL};
    if (k < max) out[k] = (struct db_solve_method){NULL, DB_SOLVER_LU};
    k++;
    const char *tri[] = {"probe-tridiag", "materialise"};
    for (size_t i = 0; i < 2; i++, k++)
        if (k < max)
            out[k] = (struct db_solve_method){db_strategy_find(tri[i]), DB_SOLVER_TRIDIAGONAL};
    return k;
}

/* Status and note for a failed solve or Newton run. */
static void set_failure(struct db_cell_result *r, const struct db_cell *c,
                        const struct db_operator *op, int rc, const struct db_solve_info *si,
                        int step) {
    char m[48], at[48] = "";
    db_solve_method_name(&c->method, m, sizeof m);
    if (step > 0) snprintf(at, sizeof at, " at Newton step %d", step);
    if (rc == DB_E_UNSUPPORTED) {
        int batched = c->method.solver == DB_SOLVER_LU ||
                      (c->method.diag && (c->method.diag->flags & DB_STRATEGY_MATERIALISES));
        if (c->kind == DB_CELL_NEWTON && !(db_operator_flags(op) & DB_OPERATOR_LAZY))
            db_cell_result_set(r, "unsupported",
                               "newton: a %s operator is built once at setup and cannot follow the "
                               "iterate (use jacobian)",
                               op->ops->kind);
        else if (c->method.solver == DB_SOLVER_DIAGONAL && !op->ops->diagonal &&
                 !(db_operator_tags(op) & DB_TAG_DIAGONAL))
            db_cell_result_set(r, "unsupported",
                               "%s: the diagonal solver needs an operator tagged diagonal", m);
        else if (c->method.solver == DB_SOLVER_TRIDIAGONAL && !op->ops->diagonal &&
                 !(db_operator_tags(op) & DB_TAG_TRIDIAGONAL))
            db_cell_result_set(
                r, "unsupported",
                "%s: the tridiagonal solver needs an operator tagged tridiagonal (or "
                "diagonal)",
                m);
        else if (batched && c->wl->batch == DB_BATCH_NONE)
            db_cell_result_set(r, "unsupported", "%s: the primitive has no batching rule", m);
        else
            db_cell_result_set(r, "unsupported", "%s: the operator lacks a required op", m);
    } else if (rc == DB_E_SINGULAR) {
        db_cell_result_set(r, "error", "%s: singular%s: J[%zu,%zu] = %g (zero or non-finite)", m,
                           at, si->singular_index, si->singular_index, si->singular_value);
    } else {
        const char *why = op && op->in ? db_instance_error(op->in) : "";
        db_cell_result_set(r, "error", "%s%s: %s%s%s", m, at, db_strerror(rc), why[0] ? ": " : "",
                           why);
    }
}

/* ---- timed bodies ------------------------------------------------------------------------- */

struct timed_solve {
    struct db_operator *op;
    const double *b;
    double *x;
    const struct db_solve_method *m;
    struct db_solve_ctx *ctx;
};

static int solve_body(void *arg) {
    struct timed_solve *t = arg;
    int rc = db_linear_solve(t->op, t->b, t->x, t->m->solver, t->m->diag, t->ctx, NULL);
    db_gbench_do_not_optimize(t->x);
    return rc;
}

struct timed_newton {
    struct db_operator *op;
    const double *x0;
    double *x;
    const struct db_newton_opts *opts;
    struct db_newton_ws *ws;
    struct db_newton_result res;
};

static int newton_body(void *arg) {
    struct timed_newton *t = arg;
    int rc = db_newton_solve(t->op, t->x0, t->x, t->opts, t->ws, &t->res);
    db_gbench_do_not_optimize(t->x);
    return rc;
}

/* ---- the cell ----------------------------------------------------------------------------- */

/* A known solution: mixed signs, magnitudes in [1, 1.75]. */
static void known_solution(size_t n, double *x) {
    for (size_t i = 0; i < n; i++)
        x[i] = (i % 2 ? -1.0 : 1.0) * (1.0 + (double)(i % 7) / 8.0);
}

static int time_it(const struct db_cell *c, const struct db_run_opts *o,
                   const struct db_operator *op, db_bench_body body, void *arg,
                   struct db_cell_result *r, struct db_bench_result *br) {
    char name[200], w[48], m[48];
    snprintf(name, sizeof name, "%s/%s/%s/%s/%zu", db_cell_workload_name(c, w, sizeof w),
             c->op_kind, db_jac_name(c->jac), db_solve_method_name(&c->method, m, sizeof m), c->n);
    int rc = db_bench_repeat(name, body, arg, o, br, &r->precision_missed);
    if (rc != DB_OK) {
        const char *why = db_instance_error(op->in); /* a remote worker's reason */
        db_cell_result_set(r, "error", "timing: %s (%s)%s%s", db_strerror(rc), br->message,
                           why[0] ? ": " : "", why);
        return rc;
    }
    r->iterations = br->iterations;
    db_cell_result_times(r, br->rep_seconds, br->reps);
    db_cell_result_keep_reps(r, br);
    r->ns_per_element = r->t.median / (double)c->n * 1e9;
    return DB_OK;
}

/* The known system: J's exact entries (CSR over the true pattern) for a workload that is not
 * diagonal; for a diagonal one only its reference diagonal (no CSR: n up to 10^7). */
struct known_system {
    double *ref;        /* diagonal workloads: diag(J) */
    struct db_sparse A; /* other workloads: J's exact entries */
};

static int exact_jacobian(const struct db_instance *in, struct known_system *k) {
    if (in->wl->structure == DB_STRUCT_DIAGONAL) {
        k->ref = malloc(in->n * sizeof *k->ref);
        if (!k->ref) return DB_E_NOMEM;
        return db_instance_reference_diagonal(in, k->ref);
    }
    struct db_sparse P = {0};
    DB_CHECK(db_instance_pattern(in, &P));
    int rc = db_sparse_copy_pattern(&P, 1, &k->A);
    db_sparse_free(&P);
    if (rc == DB_OK) rc = db_instance_reference_entries(in, &k->A);
    return rc;
}

static void known_rhs(const struct known_system *k, size_t n, const double *xt, double *b) {
    if (k->ref)
        for (size_t i = 0; i < n; i++)
            b[i] = k->ref[i] * xt[i];
    else
        db_sparse_mv(&k->A, xt, b);
}

static double known_residual(const struct known_system *k, size_t n, const double *x,
                             const double *b) {
    return k->ref ? db_diagonal_residual(n, k->ref, x, b) : db_sparse_residual(&k->A, x, b);
}

static void run_solve(const struct db_cell *c, const struct db_run_opts *o, struct db_operator *op,
                      struct db_cell_result *r) {
    size_t n = c->n;
    struct db_solve_ctx ctx = {0};
    struct db_bench_result br = {0};
    struct known_system ks = {0};
    double *xt = malloc(n * sizeof *xt), *b = malloc(n * sizeof *b), *x = malloc(n * sizeof *x);
    if (!xt || !b || !x) {
        db_cell_result_set(r, "error", "out of memory for the vectors");
        goto done;
    }
    int rc = exact_jacobian(op->in, &ks);
    if (rc != DB_OK) {
        db_cell_result_set(r, "error", "reference Jacobian: %s", db_strerror(rc));
        goto done;
    }
    known_solution(n, xt);
    known_rhs(&ks, n, xt, b);

    /* Correctness run (untimed): allocates and first-touches the workspace too. */
    struct db_solve_info si;
    db_instance_reset_calls(op->in);
    rc = db_linear_solve(op, b, x, c->method.solver, c->method.diag, &ctx, &si);
    if (rc != DB_OK) {
        set_failure(r, c, op, rc, &si, 0);
        goto done;
    }
    r->primitive_calls = db_instance_calls(op->in);
    snprintf(r->write_path, sizeof r->write_path, "%s", op->in->write_path);
    double err = db_max_abs_diff(x, xt, n), res = known_residual(&ks, n, x, b);
    double tol = db_solve_residual_tol(n);
    if (!(res <= tol)) { /* wrong before any timing: say how wrong, and why when we know */
        const struct db_workload *w = c->wl;
        int false_tag = w->claim == DB_CLAIM_DIAGONAL && w->structure != DB_STRUCT_DIAGONAL &&
                        c->method.solver == DB_SOLVER_DIAGONAL && !o->untagged;
        db_cell_result_set(
            r, "error", "wrong answer: relative residual %.3g > %.3g, max_abs_err %.3g%s%s", res,
            tol, err, false_tag ? "; the operator is tagged diagonal but J is truly " : "",
            false_tag ? db_structure_name(w->structure) : "");
        goto done;
    }

    struct timed_solve t = {op, b, x, &c->method, &ctx};
    if (time_it(c, o, op, solve_body, &t, r, &br) != DB_OK) goto done;
    /* The last timed solve must be as right as the first. */
    double err2 = db_max_abs_diff(x, xt, n), res2 = known_residual(&ks, n, x, b);
    r->max_abs_err = err2 > err ? err2 : err;
    r->residual = res2 > res ? res2 : res;
    if (!(r->residual <= tol)) {
        db_cell_result_set(r, "error", "wrong answer: relative residual %.3g > %.3g", r->residual,
                           tol);
        goto done;
    }
    db_cell_result_set(r, "ok", "%s", "");

done:
    db_bench_result_free(&br);
    db_solve_ctx_free(&ctx);
    db_sparse_free(&ks.A);
    free(ks.ref), free(xt), free(b), free(x);
}

static void run_newton(const struct db_cell *c, const struct db_run_opts *o, struct db_operator *op,
                       struct db_cell_result *r) {
    size_t n = c->n;
    struct db_newton_ws ws = {0};
    struct db_bench_result br = {0};
    double *x0 = malloc(n * sizeof *x0), *x = malloc(n * sizeof *x);
    if (!x0 || !x) {
        db_cell_result_set(r, "error", "out of memory for the vectors");
        goto done;
    }
    db_newton_start(n, x0);

    /* Correctness run (untimed), with every step's solve checked against the reference. */
    struct db_newton_opts opts = db_newton_defaults(c->method.solver, c->method.diag);
    opts.check = 1;
    struct db_newton_result nr;
    db_instance_reset_calls(op->in);
    int rc = db_newton_solve(op, x0, x, &opts, &ws, &nr);
    if (rc != DB_OK) {
        set_failure(r, c, op, rc, &nr.solve, nr.failed_step);
        goto done;
    }
    r->primitive_calls = db_instance_calls(op->in);
    snprintf(r->write_path, sizeof r->write_path, "%s", op->in->write_path);
    double dist;
    size_t worst;
    rc = db_newton_root_error(op->in, x, &dist, &worst);
    if (rc != DB_OK) {
        db_cell_result_set(r, "error", "checking the roots: %s", db_strerror(rc));
        goto done;
    }
    double tol = db_solve_residual_tol(n);
    if (!(nr.max_residual <= tol)) {
        db_cell_result_set(r, "error",
                           "wrong answer: a Newton step's relative residual %.3g > %.3g",
                           nr.max_residual, tol);
        goto done;
    }

    opts.check = 0;
    struct timed_newton t = {op, x0, x, &opts, &ws, {0}};
    if (time_it(c, o, op, newton_body, &t, r, &br) != DB_OK) goto done;
    /* The last timed run must end where the checked one did. */
    double dist2;
    size_t worst2;
    rc = db_newton_root_error(op->in, x, &dist2, &worst2);
    if (rc != DB_OK || t.res.steps != nr.steps || t.res.converged != nr.converged) {
        db_cell_result_set(r, "error",
                           "the timed runs differ from the checked one (%d vs %d steps)",
                           t.res.steps, nr.steps);
        goto done;
    }
    if (dist2 > dist) dist = dist2, worst = worst2;
    r->max_abs_err = dist;
    r->residual = nr.max_residual;
    r->newton_steps = nr.steps;
    r->converged = nr.converged;
    if (nr.converged && !(dist <= DB_NEWTON_ROOT_TOL)) {
        db_cell_result_set(r, "error", "wrong root: x[%zu] = %.17g is %.3g from a root of f_%zu",
                           worst, x[worst], dist, worst);
        goto done;
    }
    if (nr.converged)
        db_cell_result_set(r, "ok", "%s", "");
    else
        db_cell_result_set(r, "ok", "not converged in %d steps (last step %.3g x tolerance)",
                           nr.steps, nr.last_scaled_step);

done:
    db_bench_result_free(&br);
    db_newton_ws_free(&ws);
    free(x0), free(x);
}

/* Bytes besides the operator's setup and the solver's workspace: the cell's vectors and the
 * Newton workspace (f, delta, the reference). */
static unsigned long long vector_bytes(size_t n) {
    return 8ull * n * sizeof(double);
}

/* Bytes of the exact Jacobian of a workload that is not diagonal (its pattern and a copy with
 * values, held together briefly). */
static unsigned long long reference_bytes(const struct db_workload *wl, size_t n) {
    if (wl->structure == DB_STRUCT_DIAGONAL) return 0;
    size_t row = wl->row_nnz_max ? wl->row_nnz_max : wl->lower + wl->upper + 1;
    return db_sparse_bytes(n, n * row, 0) + db_sparse_bytes(n, n * row, 1);
}

int db_downstream_run(const struct db_cell *c, const struct db_run_opts *o,
                      struct db_cell_result *r) {
    if (!r) return DB_E_INVALID;
    db_cell_result_init(r); /* colours stay empty: not a probe count */
    size_t n = c->n;
    int lu = c->method.solver == DB_SOLVER_LU;

    /* A cell that can never run says so before any budget would skip it (a bigger machine
     * would not make it run); the same cases are caught again, at run time, by the library. */
    char m[48];
    db_solve_method_name(&c->method, m, sizeof m);
    int lazy = !!(db_operator_kind_flags(c->op_kind) & DB_OPERATOR_LAZY);
    int materialises = lu || (c->method.diag && (c->method.diag->flags & DB_STRATEGY_MATERIALISES));
    if (c->kind == DB_CELL_NEWTON && !lazy) {
        db_cell_result_set(
            r, "unsupported",
            "newton: a %s operator is built once at setup and cannot follow the iterate "
            "(use jacobian)",
            c->op_kind);
        return DB_OK;
    }
    if (lazy && materialises && c->wl->batch == DB_BATCH_NONE) {
        db_cell_result_set(r, "unsupported", "%s: the primitive has no batching rule", m);
        return DB_OK;
    }

    /* Never attempted: over the memory budget (an LU needs n^2 doubles plus pivots), then over
     * the time budget (an LU is O(n^3)). */
    unsigned long long need =
        vector_bytes(n) + reference_bytes(c->wl, n) + db_operator_setup_bytes(c->op_kind, n);
    if (lu) need += (unsigned long long)n * n * sizeof(double) + n * sizeof(int);
    if (db_cell_over_budget(r, need, o->mem_budget)) return DB_OK;
    if (lu && c->lu_max_n && n > c->lu_max_n) {
        if (c->budget_matrix)
            db_cell_result_set(
                r, "skipped_budget",
                "LU is O(n^3): the %s matrix's time budget caps materialise+lu at n <= %zu",
                c->budget_matrix, c->lu_max_n);
        else
            db_cell_result_set(r, "skipped_budget",
                               "LU is O(n^3): --lu-max-n caps materialise+lu at n <= %zu",
                               c->lu_max_n);
        return DB_OK;
    }
    if (c->kind == DB_CELL_NEWTON && c->wl->structure != DB_STRUCT_DIAGONAL) {
        db_cell_result_set(r, "unsupported",
                           "newton: only diagonal workloads (their roots are known per component); "
                           "%s is %s",
                           c->wl->name, db_structure_name(c->wl->structure));
        return DB_OK;
    }
    if (c->kind == DB_CELL_SOLVE && c->wl->structure != DB_STRUCT_DIAGONAL &&
        c->wl->structure != DB_STRUCT_TRIDIAGONAL) {
        db_cell_result_set(
            r, "unsupported",
            "solve: cells check against the exact Jacobian of diagonal and tridiagonal "
            "workloads; %s is %s",
            c->wl->name, db_structure_name(c->wl->structure));
        return DB_OK;
    }

    struct db_instance *in = NULL;
    struct db_operator *op = NULL;
    struct db_workload_params params = db_run_params(o);
    int rc = db_instance_create_with(c->wl, n, o->call_cost_s, &params, &in);
    if (rc != DB_OK) {
        db_cell_result_set(r, "error", "creating the workload: %s", db_strerror(rc));
        goto done;
    }
    if (in->call_cost_s > 0) r->call_cost_s = in->call_cost_s;
    db_cell_result_remote(r, in);
    /* A Newton run starts at the seed's points; a solve at the workload's default point. */
    if (c->kind == DB_CELL_NEWTON) db_newton_start(n, in->x);
    /* Tagged as the user would: by the workload's claim (liar claims diagonal). */
    unsigned tags = o->untagged ? 0 : db_tags_for_structure(db_workload_tag_structure(c->wl));
    rc = db_operator_create(c->op_kind, c->jac, in, tags, &op);
    if (rc != DB_OK) {
        db_cell_result_set(r, rc == DB_E_UNSUPPORTED ? "unsupported" : "error",
                           "%s operator of %s: %s", c->op_kind, c->wl->name,
                           rc == DB_E_UNSUPPORTED ? "the operator cannot represent this workload"
                                                  : db_strerror(rc));
        goto done;
    }
    need = vector_bytes(n) + reference_bytes(c->wl, n) + db_operator_setup_bytes(c->op_kind, n) +
           db_linear_solve_workspace_bytes(op, c->method.solver, c->method.diag);
    if (db_cell_over_budget(r, need, o->mem_budget)) goto done;

    if (c->kind == DB_CELL_SOLVE)
        run_solve(c, o, op, r);
    else
        run_newton(c, o, op, r);

done:
    if (strcmp(r->status, "ok") != 0) { /* non-ok rows carry no numbers */
        r->residual = NAN;
        r->newton_steps = -1;
        r->converged = -1;
    }
    db_operator_destroy(op);
    db_instance_destroy(in);
    return DB_OK;
}
