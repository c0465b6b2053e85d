/* Strategy registry and the workspace shared by strategies. */
#include "strategy.h"

#include <stdlib.h>
#include <string.h>

extern const struct db_strategy db_strategy_materialise, db_strategy_probe;

const struct db_strategy *const db_strategies[] = {
    &db_strategy_materialise,
    &db_strategy_probe,
};
const size_t db_strategy_count = sizeof db_strategies / sizeof db_strategies[0];

const struct db_strategy *db_strategy_find(const char *name) {
    for (size_t i = 0; i < db_strategy_count; i++)
        if (strcmp(db_strategies[i]->name, name) == 0) return db_strategies[i];
    return NULL;
}

int db_strategy_ctx_buffer(struct db_strategy_ctx *ctx, size_t bytes, double **buf) {
    if (bytes > ctx->buf_bytes) {
        free(ctx->buf);
        ctx->buf = malloc(bytes); /* first touched by the threads that fill it */
        ctx->buf_bytes = ctx->buf ? bytes : 0;
        if (!ctx->buf) return DB_E_NOMEM;
    }
    *buf = ctx->buf;
    return DB_OK;
}

int db_strategy_ctx_ones(struct db_strategy_ctx *ctx, size_t n, const double **ones) {
    if (n > ctx->ones_n) {
        free(ctx->ones);
        ctx->ones = malloc(n * sizeof *ctx->ones);
        ctx->ones_n = ctx->ones ? n : 0;
        if (!ctx->ones) return DB_E_NOMEM;
        for (size_t i = 0; i < n; i++)
            ctx->ones[i] = 1.0;
    }
    *ones = ctx->ones;
    return DB_OK;
}

void db_strategy_ctx_free(struct db_strategy_ctx *ctx) {
    free(ctx->buf);
    free(ctx->ones);
    memset(ctx, 0, sizeof *ctx);
}
