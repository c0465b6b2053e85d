/* Strategy registry, the shared fallback rule and the workspace shared by strategies. */
#include "strategies/strategy.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The registry, in --list order: each strategy's descriptor, defined in its own file. */
extern const struct db_strategy db_strategy_materialise, db_strategy_probe,
    db_strategy_probe_checked, db_strategy_probe_tridiag, db_strategy_probe_banded,
    db_strategy_probe_coloured;

const struct db_strategy *const db_strategies[] = {
    &db_strategy_materialise,   &db_strategy_probe,        &db_strategy_probe_checked,
    &db_strategy_probe_tridiag, &db_strategy_probe_banded, &db_strategy_probe_coloured,
};
const size_t db_strategy_count = sizeof db_strategies / sizeof db_strategies[0];

const struct db_strategy *db_strategy_find(const char *name) {
    for (size_t i = 0; i < db_strategy_count; i++)
        if (strcmp(db_strategies[i]->name, name) == 0) return db_strategies[i];
    return NULL;
}

unsigned long long db_strategy_products(const struct db_strategy *st, size_t lower, size_t upper) {
    return st->products.fixed + (unsigned long long)st->products.per_band * (lower + upper);
}

int db_strategy_needs_fallback(const struct db_operator *op, unsigned required_tags) {
    return !op->ops->diagonal && !(db_operator_tags(op) & required_tags);
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
    if (ctx->priv && ctx->priv_free) ctx->priv_free(ctx->priv);
    memset(ctx, 0, sizeof *ctx);
}

void db_strategy_remark(struct db_strategy_ctx *ctx, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx->remark, sizeof ctx->remark, fmt, ap);
    va_end(ap);
}
