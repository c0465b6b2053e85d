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
#include "harness/bench/cell.h"

/* Parse "solve:sin" / "newton:split" into the cell kind (DB_CELL_SOLVE / DB_CELL_NEWTON) and
 * the workload; DB_E_INVALID if item is not of that form (including a plain workload name). */
int db_task_workload_parse(const char *item, enum db_cell_kind *kind,
                           const struct db_workload **wl);

/* Parse "probe+diagonal" / "materialise+lu" / "probe-tridiag+tridiagonal": S+diagonal for any
 * registered strategy S, materialise+lu, and probe-tridiag+tridiagonal or
 * materialise+tridiagonal. DB_E_INVALID otherwise. */
int db_solve_method_parse(const char *item, struct db_solve_method *m);

/* Every method in --list order: each registered strategy + diagonal, then materialise+lu, then
 * probe-tridiag+tridiagonal and materialise+tridiagonal.
 * Fills up to max entries; returns how many there are. */
size_t db_solve_methods_all(struct db_solve_method *out, size_t max);

/* Run a solve or newton cell. Always fills r (its status says what happened); returns DB_OK
 * unless r is NULL. */
int db_downstream_run(const struct db_cell *c, const struct db_run_opts *o,
                      struct db_cell_result *r);

#endif
