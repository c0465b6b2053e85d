/* Diagonal-extraction strategies: one registry table; adding a strategy is one file plus one
 * line in strategy.c. */
#ifndef DB_STRATEGY_H
#define DB_STRATEGY_H

#include <stddef.h>

#include "operator.h"

/* Workspace a strategy reuses across calls on one cell (allocated on first use, so the untimed
 * correctness run allocates and first-touches it, never a timed one). */
struct db_strategy_ctx {
    double *buf; /* n*n dense buffer for materialise */
    size_t buf_bytes;
    double *ones; /* the probe vector */
    size_t ones_n;
};

struct db_strategy {
    const char *name;
    const char *describe;
    /* Bytes of workspace run() will allocate in ctx for this operator (for the memory budget). */
    size_t (*workspace_bytes)(const struct db_operator *op);
    /* Write diag(A) into diag (length n). */
    int (*run)(struct db_operator *op, double *diag, struct db_strategy_ctx *ctx);
};

/* Registry, in --list order. */
extern const struct db_strategy *const db_strategies[];
extern const size_t db_strategy_count;

/* Look a strategy up by name; NULL when unknown. */
const struct db_strategy *db_strategy_find(const char *name);

/* Workspace helpers (grow on demand; freed by db_strategy_ctx_free). */
int db_strategy_ctx_buffer(struct db_strategy_ctx *ctx, size_t bytes, double **buf);
int db_strategy_ctx_ones(struct db_strategy_ctx *ctx, size_t n, const double **ones);
void db_strategy_ctx_free(struct db_strategy_ctx *ctx);

/* The materialise strategy as a function, for strategies that fall back to it. */
int db_materialise_run(struct db_operator *op, double *diag, struct db_strategy_ctx *ctx);
size_t db_materialise_workspace_bytes(const struct db_operator *op);

#endif
