/* Linear solve A x = b with an operator, as a user of the diagonal does downstream (lineax's
 * linear_solve): the `diagonal` solver takes diag(A) from a diagonal strategy (probe or
 * materialise) and divides; `lu` materialises A and calls LAPACK's dgesv (OpenBLAS, OpenMP
 * build). A zero or non-finite diagonal entry or pivot is DB_E_SINGULAR with its index, never a
 * silent inf/NaN. Adding a solver (tridiagonal/dgtsv) = one enum value, one name, one case in
 * db_linear_solve and its workspace. */
#ifndef DB_SOLVE_H
#define DB_SOLVE_H

#include <stddef.h>

#include "strategy.h"

enum db_solver {
    DB_SOLVER_DIAGONAL, /* x = b / diag(A); needs an operator tagged diagonal (or a diagonal kind)
                         */
    DB_SOLVER_LU,       /* materialise A, then LU with partial pivoting (dgesv) */
};

/* Number of solvers, and their names in order ("diagonal", "lu"). */
#define DB_SOLVER_COUNT 2
extern const char *const db_solver_names[DB_SOLVER_COUNT];

/* Name of a solver ("?" if out of range). */
const char *db_solver_name(enum db_solver s);

/* Look a solver up by name; DB_E_INVALID when unknown. */
int db_solver_find(const char *name, enum db_solver *out);

/* Workspace reused across solves of one cell: allocated on the first solve (the untimed
 * correctness run), then only reused. */
struct db_solve_ctx {
    struct db_strategy_ctx strategy; /* the diagonal strategy's workspace */
    double *diag;                    /* n: diag(A) for the diagonal solver */
    size_t diag_n;
    double *lu; /* n*n: A (or A^T) factorised in place by LAPACK */
    size_t lu_bytes;
    int *ipiv; /* n pivots */
    size_t ipiv_n;
};

/* What a solve found besides its status. */
struct db_solve_info {
    size_t singular_index; /* DB_E_SINGULAR: 0-based index of the zero/non-finite entry or pivot */
    double singular_value; /* DB_E_SINGULAR: the offending diagonal entry or pivot */
};

/* Solve op x = b (b and x of length op->n; they may not alias). diag_strategy extracts the
 * diagonal for DB_SOLVER_DIAGONAL (ignored by lu, which always materialises). Returns
 * DB_E_SINGULAR (index in info), DB_E_UNSUPPORTED (no batching rule for materialise, or the
 * diagonal solver on an operator not tagged diagonal), DB_E_NOMEM, DB_E_INVALID. info may be
 * NULL. */
int db_linear_solve(struct db_operator *op, const double *b, double *x, enum db_solver solver,
                    const struct db_strategy *diag_strategy, struct db_solve_ctx *ctx,
                    struct db_solve_info *info);

/* Bytes of workspace db_linear_solve allocates in ctx for this operator (memory budget). */
size_t db_linear_solve_workspace_bytes(const struct db_operator *op, enum db_solver solver,
                                       const struct db_strategy *diag_strategy);

/* Free the workspace (ctx is zeroed and may be reused). */
void db_solve_ctx_free(struct db_solve_ctx *ctx);

/* Relative residual of a diagonal system, ||D x - b||_inf / (||D||_inf ||x||_inf) with
 * D = diag(d): 0 for an exact solve, +inf when anything is non-finite. */
double db_diagonal_residual(size_t n, const double *d, const double *x, const double *b);

/* Largest relative residual of a correct solve of size n: LAPACK's test threshold, 30 n eps. */
double db_solve_residual_tol(size_t n);

#endif
