/* Diagonal-extraction strategies. Each is one descriptor (struct db_strategy) in its own file,
 * listed once in the registry in strategy.c. The descriptor says what the strategy does (run,
 * extract, workspace), what it needs (flags, required_tags: the shared fallback rule below
 * decides from them) and what one extraction costs (products), so the plan's cost model, the
 * solvers and the harness read declarations and never a strategy's name: adding a strategy is
 * one file plus its registry entry in strategy.c, and nothing else has to name it
 * (tests/test_registry.c costs a strategy that no code names). The registered ones are still
 * named as choices, not as capabilities: the presets (harness/plan/cli.c), the summary's
 * baselines (harness/analysis/summary.c) and the tridiagonal solve methods db_solve_methods_all
 * offers (harness/bench/downstream.c). */
#ifndef DB_STRATEGY_H
#define DB_STRATEGY_H

#include <stddef.h>
#include <stdint.h>

#include "operators/operator.h"

/* What probe-checked does when its check finds the diagonal tag wrong. */
enum db_on_mismatch {
    DB_ON_MISMATCH_ERROR,    /* return DB_E_TAG_MISMATCH */
    DB_ON_MISMATCH_FALLBACK, /* note it (ctx->tag_mismatch, ctx->remark) and materialise */
};

/* Workspace a strategy reuses across calls on one cell (allocated on first use, so the untimed
 * correctness run allocates and first-touches it, never a timed one). */
struct db_strategy_ctx {
    double *buf; /* n*n dense buffer for materialise */
    size_t buf_bytes;
    double *ones; /* the probe vector */
    size_t ones_n;
    /* Options, set by the caller before the first run (zero: defaults). */
    enum db_on_mismatch on_mismatch;
    uint64_t check_seed; /* seed of probe-checked's random vector (0: DB_CHECK_SEED) */
    /* Results of the last run / extract (the caller clears remark and tag_mismatch). */
    const struct db_sparse *extracted; /* entries recovered by extract (NULL: diagonal only) */
    int tag_mismatch;                  /* a check found the operator's tags wrong */
    char remark[224];                  /* what the strategy did, for the CSV note */
    /* Strategy-private cache (pattern, colouring, vectors), freed by db_strategy_ctx_free. */
    void *priv;
    void (*priv_free)(void *priv);
};

/* What a strategy is, declared in its descriptor. */
enum db_strategy_flag {
    /* Reads the diagonal off the whole n x n matrix, always: needs the operator's matrix (an
     * n x n buffer unless the kind stores it) and never asks a kind that knows its diagonal. */
    DB_STRATEGY_MATERIALISES = 1u << 0,
    /* Its extract leaves at most the three central bands in ctx->extracted whenever it does not
     * fall back: it can feed the tridiagonal solver. */
    DB_STRATEGY_EXTRACTS_TRIDIAGONAL = 1u << 1,
    /* Its products are the colours of the best distance-2 colouring (db_colour_columns_best; of
     * J^T's columns for VJPs) of the pattern its tags declare, known only once it has coloured
     * that pattern: `products` is then the cost model's estimate, not its count. */
    DB_STRATEGY_COLOURS_PATTERN = 1u << 2,
};

struct db_strategy {
    const char *name;
    const char *describe;
    unsigned flags; /* enum db_strategy_flag */
    /* The tags (db_operator_tags) any one of which lets it probe; an operator with none of them
     * (and whose kind does not know its diagonal) falls back to materialise
     * (db_strategy_needs_fallback). 0 with DB_STRATEGY_MATERIALISES. */
    unsigned required_tags;
    /* Products of n one extraction applies when a required tag is there (db_strategy_products),
     * each one primitive call (a JVP, VJP or fn call) with one probe vector: fixed + per_band *
     * (lower + upper) for the band the narrowest required tag the operator carries declares
     * (db_tagged_band of those tags; the instance's band when that tag is sparse). A strategy
     * with extract probes one colour of the n columns per product, so it applies at most n. Zero
     * with DB_STRATEGY_MATERIALISES; only the cost model's estimate with
     * DB_STRATEGY_COLOURS_PATTERN. */
    struct {
        unsigned fixed, per_band;
    } products;
    /* Bytes of workspace run() will allocate in ctx for this operator (for the memory budget). */
    size_t (*workspace_bytes)(const struct db_operator *op);
    /* Write diag(A) into diag (length n). */
    int (*run)(struct db_operator *op, double *diag, struct db_strategy_ctx *ctx);
    /* Optional: as run, and also recover every entry of the pattern the strategy probes, left in
     * ctx->extracted (owned by ctx; NULL when the strategy fell back to the diagonal only). */
    int (*extract)(struct db_operator *op, double *diag, struct db_strategy_ctx *ctx);
    /* Optional: extra workspace when a failed check falls back (on_mismatch = fallback). Set by
     * exactly the strategies that check their tag (with one of their products) and reject a
     * wrong one instead of answering from it. */
    size_t (*fallback_bytes)(const struct db_operator *op);
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

/* Write a printf-style remark into ctx->remark. */
void db_strategy_remark(struct db_strategy_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Products of n one extraction of st applies to an operator of band (lower, upper) that carries
 * a required tag (0 for a strategy that materialises). */
unsigned long long db_strategy_products(const struct db_strategy *st, size_t lower, size_t upper);

/* The fallback rule every strategy follows: a kind that knows its diagonal answers it, an
 * operator with one of required_tags (db_operator_tags, with their implications) is probed, any
 * other falls back to materialise -- never a wrong answer. True when op falls back. */
int db_strategy_needs_fallback(const struct db_operator *op, unsigned required_tags);

/* materialise: what every strategy falls back to (and what an LU solve extracts). */
extern const struct db_strategy db_strategy_materialise;

/* The materialise strategy as a function, for strategies that fall back to it. */
int db_materialise_run(struct db_operator *op, double *diag, struct db_strategy_ctx *ctx);
size_t db_materialise_workspace_bytes(const struct db_operator *op);

#endif
