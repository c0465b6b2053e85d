/* Downstream benchmark cells: what users do with the diagonal. `solve:<w>` times one linear
 * solve J x = b (J the workload's Jacobian at its default point, b = J x_true for a known
 * x_true, J exact: the reference diagonal, or for the tridiagonal workloads tridiag and liar the
 * reference entries); `newton:<w>` times a whole Newton multi-root find from the seed's starting
 * points (diagonal workloads only). Strategies are `<diagonal strategy>+diagonal` (e.g.
 * probe+diagonal, materialise+diagonal), `materialise+lu`, and `probe-tridiag+tridiagonal` /
 * `materialise+tridiagonal`. Same conventions as runner.c: budget checks, an untimed correctness
 * run first (which allocates the workspace), then Google Benchmark timing. */
#ifndef DB_DOWNSTREAM_H
#define DB_DOWNSTREAM_H

#include <stddef.h>

#include "solvers/newton.h"
#include "harness/bench/runner.h"

enum db_task { DB_TASK_SOLVE, DB_TASK_NEWTON };

/* A downstream strategy: how the solve gets at J. */
struct db_solve_method {
    const struct db_strategy *diag; /* diagonal: the diagonal strategy; tridiagonal: the band
                                       strategy (probe-tridiag or materialise); lu: NULL */
    enum db_solver solver;
};

struct db_downstream_cell {
    enum db_task task;
    const struct db_workload *wl;
    const char *op_kind;
    enum db_jac jac;
    struct db_solve_method method;
    size_t n;
    size_t lu_max_n; /* time budget: lu cells with n above this are skipped_budget (0: none) */
    const char *budget_matrix; /* preset whose time budget set lu_max_n; NULL: --lu-max-n */
};

struct db_downstream_result {
    struct db_cell_result base; /* status, note, times, primitive_calls, max_abs_err */
    double residual;            /* ok rows: relative residual of the solve(s) */
    int newton_steps;           /* newton ok rows: steps taken */
    int converged;              /* newton ok rows: 1 or 0 */
};

/* "solve" / "newton". */
const char *db_task_name(enum db_task t);

/* Parse "solve:sin" / "newton:split"; DB_E_INVALID if item is not of that form (including a
 * plain workload name). */
int db_task_workload_parse(const char *item, enum db_task *task, const struct db_workload **wl);

/* Parse "probe+diagonal" / "materialise+lu" / "probe-tridiag+tridiagonal": S+diagonal for any
 * registered strategy S, materialise+lu, and probe-tridiag+tridiagonal or
 * materialise+tridiagonal. DB_E_INVALID otherwise. */
int db_solve_method_parse(const char *item, struct db_solve_method *m);

/* Names as written to the CSV's workload and strategy columns. */
const char *db_downstream_workload_name(const struct db_downstream_cell *c, char *buf, size_t len);
const char *db_solve_method_name(const struct db_solve_method *m, char *buf, size_t len);

/* Every method in --list order: each registered strategy + diagonal, then materialise+lu, then
 * probe-tridiag+tridiagonal and materialise+tridiagonal.
 * Fills up to max entries; returns how many there are. */
size_t db_solve_methods_all(struct db_solve_method *out, size_t max);

/* Run the cell. Always fills r (its base.status says what happened); returns DB_OK unless r is
 * NULL. */
int db_downstream_run(const struct db_downstream_cell *c, const struct db_run_opts *o,
                      struct db_downstream_result *r);

#endif
