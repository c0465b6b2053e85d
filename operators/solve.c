/* Linear solves: diagonal (strategy's diagonal, then divide) and LU (materialise, then LAPACK
 * dgesv from OpenBLAS). */
#include "solve.h"

#include <float.h>
#include <lapacke.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { PAR_MIN = 1 << 15 }; /* elements below which the division stays serial */

_Static_assert(sizeof(lapack_int) == sizeof(int), "ipiv is an int array: LP64 LAPACK expected");

const char *const db_solver_names[DB_SOLVER_COUNT] = {"diagonal", "lu"};

const char *db_solver_name(enum db_solver s) {
    return (unsigned)s < DB_SOLVER_COUNT ? db_solver_names[s] : "?";
}

int db_solver_find(const char *name, enum db_solver *out) {
    for (unsigned i = 0; name && i < DB_SOLVER_COUNT; i++)
        if (strcmp(name, db_solver_names[i]) == 0) {
            *out = (enum db_solver)i;
            return DB_OK;
        }
    return DB_E_INVALID;
}

static int singular(struct db_solve_info *info, size_t i, double v) {
    if (info) *info = (struct db_solve_info){.singular_index = i, .singular_value = v};
    return DB_E_SINGULAR;
}

/* ---- diagonal ----------------------------------------------------------------------------- */

/* The diagonal solver relies on A being diagonal: lineax's Diagonal solver refuses anything
 * else, and so do we (dividing by the diagonal of a non-diagonal A would be a wrong answer). */
static int knows_it_is_diagonal(const struct db_operator *op) {
    return op->ops->diagonal || (db_operator_tags(op) & DB_TAG_DIAGONAL);
}

static int solve_diagonal(struct db_operator *op, const double *b, double *x,
                          const struct db_strategy *st, struct db_solve_ctx *ctx,
                          struct db_solve_info *info) {
    size_t n = op->n;
    if (!st) return DB_E_INVALID;
    if (!knows_it_is_diagonal(op)) return DB_E_UNSUPPORTED;
    if (n > ctx->diag_n) {
        free(ctx->diag);
        ctx->diag = malloc(n * sizeof *ctx->diag);
        ctx->diag_n = ctx->diag ? n : 0;
        if (!ctx->diag) return DB_E_NOMEM;
    }
    double *restrict d = ctx->diag;
    DB_CHECK(st->run(op, d, &ctx->strategy));
    int bad = 0;
#pragma omp parallel for schedule(static) reduction(| : bad) if (n >= PAR_MIN)
    for (size_t i = 0; i < n; i++) {
        bad |= !(isfinite(d[i]) && d[i] != 0.0);
        x[i] = b[i] / d[i];
    }
    if (bad)
        for (size_t i = 0; i < n; i++)
            if (!(isfinite(d[i]) && d[i] != 0.0)) return singular(info, i, d[i]);
    return DB_OK;
}

/* ---- LU ----------------------------------------------------------------------------------- */

static int grow_lu(struct db_solve_ctx *ctx, size_t n) {
    size_t bytes = n * n * sizeof(double);
    if (bytes > ctx->lu_bytes) {
        free(ctx->lu);
        ctx->lu = malloc(bytes); /* first touched by the threads that materialise into it */
        ctx->lu_bytes = ctx->lu ? bytes : 0;
        if (!ctx->lu) return DB_E_NOMEM;
    }
    if (n > ctx->ipiv_n) {
        free(ctx->ipiv);
        ctx->ipiv = malloc(n * sizeof *ctx->ipiv);
        ctx->ipiv_n = ctx->ipiv ? n : 0;
        if (!ctx->ipiv) return DB_E_NOMEM;
    }
    return DB_OK;
}

static int solve_lu(struct db_operator *op, const double *b, double *x, struct db_solve_ctx *ctx,
                    struct db_solve_info *info) {
    size_t n = op->n;
    if (n > (size_t)INT_MAX) return DB_E_UNSUPPORTED; /* LAPACK takes int dimensions */
    DB_CHECK(grow_lu(ctx, n));
    double *a = ctx->lu;
    struct db_dense M;
    /* A lazy operator materialises straight into the buffer LAPACK factorises in place; a kind
     * that returns a view of its own storage is copied (dgesv overwrites A). */
    DB_CHECK(op->ops->materialise(op, op->ops->materialise_bytes(op) ? a : NULL, &M));
    if (M.n != n) return DB_E_INTERNAL;
    if (M.data != a || M.ld != n) {
#pragma omp parallel for schedule(static) if (n * n >= PAR_MIN)
        for (size_t j = 0; j < n; j++)
            memcpy(a + j * n, M.data + j * M.ld, n * sizeof *a);
    }
    memcpy(x, b, n * sizeof *x);
    lapack_int N = (lapack_int)n, rc;
    if (!M.transposed) {
        rc = LAPACKE_dgesv_work(LAPACK_COL_MAJOR, N, 1, a, N, ctx->ipiv, x, N);
    } else {
        /* a holds A^T (reverse mode builds rows): factorise A^T = P L U and solve with the
         * transpose, (A^T)^T x = b, instead of transposing n^2 entries. */
        rc = LAPACKE_dgetrf_work(LAPACK_COL_MAJOR, N, N, a, N, ctx->ipiv);
        if (rc == 0) rc = LAPACKE_dgetrs_work(LAPACK_COL_MAJOR, 'T', N, 1, a, N, ctx->ipiv, x, N);
    }
    if (rc < 0) return DB_E_INTERNAL; /* an illegal argument: our bug */
    if (rc > 0) return singular(info, (size_t)rc - 1, 0.0);
    /* A NaN in A survives pivoting as a NaN pivot; a finite, non-zero U can still overflow x. */
    for (size_t i = 0; i < n; i++) {
        double u = a[i * n + i];
        if (!(isfinite(u) && u != 0.0)) return singular(info, i, u);
    }
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return singular(info, i, x[i]);
    return DB_OK;
}

/* ---- dispatch ----------------------------------------------------------------------------- */

int db_linear_solve(struct db_operator *op, const double *b, double *x, enum db_solver solver,
                    const struct db_strategy *diag_strategy, struct db_solve_ctx *ctx,
                    struct db_solve_info *info) {
    if (!op || !b || !x || !ctx) return DB_E_INVALID;
    if (info) *info = (struct db_solve_info){0};
    switch (solver) {
    case DB_SOLVER_DIAGONAL:
        return solve_diagonal(op, b, x, diag_strategy, ctx, info);
    case DB_SOLVER_LU:
        return solve_lu(op, b, x, ctx, info);
    }
    return DB_E_INVALID;
}

size_t db_linear_solve_workspace_bytes(const struct db_operator *op, enum db_solver solver,
                                       const struct db_strategy *diag_strategy) {
    size_t n = op->n;
    switch (solver) {
    case DB_SOLVER_DIAGONAL:
        return n * sizeof(double) + (diag_strategy ? diag_strategy->workspace_bytes(op) : 0);
    case DB_SOLVER_LU:
        return n * n * sizeof(double) + n * sizeof(int);
    }
    return 0;
}

void db_solve_ctx_free(struct db_solve_ctx *ctx) {
    db_strategy_ctx_free(&ctx->strategy);
    free(ctx->diag);
    free(ctx->lu);
    free(ctx->ipiv);
    memset(ctx, 0, sizeof *ctx);
}

double db_diagonal_residual(size_t n, const double *d, const double *x, const double *b) {
    double r = 0, an = 0, xn = 0;
    for (size_t i = 0; i < n; i++) {
        double ri = fabs(d[i] * x[i] - b[i]);
        if (!isfinite(ri) || !isfinite(d[i]) || !isfinite(x[i])) return INFINITY;
        r = ri > r ? ri : r;
        an = fabs(d[i]) > an ? fabs(d[i]) : an;
        xn = fabs(x[i]) > xn ? fabs(x[i]) : xn;
    }
    if (r == 0) return 0;
    return an > 0 && xn > 0 ? r / (an * xn) : INFINITY;
}

double db_solve_residual_tol(size_t n) {
    return 30.0 * (double)n * DBL_EPSILON;
}
