/* Linear solve A x = b with an operator, as a user of the diagonal does downstream (lineax's
 * linear_solve): the `diagonal` solver takes diag(A) from a diagonal strategy (probe or
 * materialise) and divides; `tridiagonal` takes the three bands of A from probe-tridiag's
 * extraction (3 products) or from the materialised matrix (the plain reference path) and calls
 * LAPACK's dgtsv; `lu` materialises A and calls LAPACK's dgesv (OpenBLAS, OpenMP build). A zero
 * or non-finite diagonal entry or pivot is DB_E_SINGULAR with its index, never a silent inf/NaN.
 * Adding a solver = one enum value, one name, one case in db_linear_solve and its workspace. */
#ifndef DB_SOLVE_H
#define DB_SOLVE_H

#include <stddef.h>

#include "strategies/strategy.h"

enum db_solver {
    DB_SOLVER_DIAGONAL, /* x = b / diag(A); needs an operator tagged diagonal (or a diagonal kind)
                         */
    DB_SOLVER_LU,       /* materialise A, then LU with partial pivoting (dgesv) */
    DB_SOLVER_TRIDIAGONAL, /* bands of A by probe-tridiag (extract) or materialise, then dgtsv;
                              needs an operator tagged tridiagonal (or diagonal) */
};

/* Number of solvers, and their names in order ("diagonal", "lu", "tridiagonal"). */
#define DB_SOLVER_COUNT 3
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
    double *bands; /* 3n: the lower, main and upper band (dl, d, du) for the tridiagonal solver,
                      overwritten by dgtsv's factorisation */
    size_t bands_n;
};

/* What a solve found besides its status. */
struct db_solve_info {
    size_t singular_index; /* DB_E_SINGULAR: 0-based index of the zero/non-finite entry or pivot */
    double singular_value; /* DB_E_SINGULAR: the offending diagonal entry or pivot */
};

/* Solve op x = b (b and x of length op->n; they may not alias). diag_strategy extracts the
 * diagonal for DB_SOLVER_DIAGONAL, and the bands for DB_SOLVER_TRIDIAGONAL, where it must be
 * probe-tridiag or materialise (db_tridiagonal_strategy_ok); lu ignores it and always
 * materialises. Returns DB_E_SINGULAR (index in info), DB_E_UNSUPPORTED (no batching rule for
 * materialise, the diagonal solver on an operator not tagged diagonal, the tridiagonal solver on
 * one tagged neither tridiagonal nor diagonal), DB_E_NOMEM, DB_E_INVALID (a missing or
 * unsuitable strategy). info may be NULL. */
int db_linear_solve(struct db_operator *op, const double *b, double *x, enum db_solver solver,
                    const struct db_strategy *diag_strategy, struct db_solve_ctx *ctx,
                    struct db_solve_info *info);

/* True when strategy st can feed the tridiagonal solver: one that materialises (the bands read
 * from the dense matrix) or whose extract gives the three bands (probe-tridiag); see
 * enum db_strategy_flag. */
int db_tridiagonal_strategy_ok(const struct db_strategy *st);

/* The three bands of the tridiagonal matrix A holds in CSR: (i, i-1) -> dl[i-1], (i, i) -> d[i],
 * (i, i+1) -> du[i]; entries missing from the pattern are zero. DB_E_INTERNAL for an entry outside
 * the band (an extraction that is not tridiagonal: our bug) or an A without values. */
int db_tridiagonal_bands(const struct db_sparse *A, double *dl, double *d, double *du);

/* Solve the tridiagonal system with bands dl (n-1: A[i+1][i]), d (n: A[i][i]) and du (n-1:
 * A[i][i+1]) in place with LAPACK dgtsv: x holds b on entry and the solution on return; the
 * bands are overwritten by the factorisation. A zero pivot (dgtsv's info > 0), a non-finite
 * pivot or a non-finite solution is DB_E_SINGULAR with the 0-based index in info. */
int db_tridiagonal_solve(size_t n, double *dl, double *d, double *du, double *x,
                         struct db_solve_info *info);

/* The strategy whose extraction a solve makes: diag_strategy, or materialise when it is NULL
 * (lu, which always materialises A). */
const struct db_strategy *db_linear_solve_strategy(const struct db_strategy *diag_strategy);

/* Bytes of workspace db_linear_solve allocates in ctx for this operator (memory budget). */
size_t db_linear_solve_workspace_bytes(const struct db_operator *op, enum db_solver solver,
                                       const struct db_strategy *diag_strategy);

/* Free the workspace (ctx is zeroed and may be reused). */
void db_solve_ctx_free(struct db_solve_ctx *ctx);

/* Relative residual of a diagonal system, ||D x - b||_inf / (||D||_inf ||x||_inf) with
 * D = diag(d): 0 for an exact solve, +inf when anything is non-finite. */
double db_diagonal_residual(size_t n, const double *d, const double *x, const double *b);

/* Relative residual of a sparse system, ||A x - b||_inf / (||A||_inf ||x||_inf) with A in CSR
 * (values required): 0 for an exact solve, +inf when anything is non-finite. */
double db_sparse_residual(const struct db_sparse *A, const double *x, const double *b);

/* y = A x for A in CSR (values required). */
void db_sparse_mv(const struct db_sparse *A, const double *x, double *y);

/* Largest relative residual (inf-norm) of a correct solve of size n: 30 n eps, LAPACK's test
 * threshold (solve.c says what it bounds). */
double db_solve_residual_tol(size_t n);

#endif
