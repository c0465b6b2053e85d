/* probe-checked: probe, then check the diagonal tag with one more product (probe_checked.h).
 * 2 primitive calls instead of 1. On a failed check: DB_E_TAG_MISMATCH, or with
 * ctx->on_mismatch = fallback, a remark plus ctx->tag_mismatch and materialise. A kind that knows
 * its diagonal answers directly (it is diagonal by construction); an operator not tagged
 * diagonal falls back to materialise, as probe does. */
#include "strategies/probe_checked.h"

#include <math.h>
#include <stdlib.h>

#include "core/rng.h"
#include "strategies/strategy.h"

enum { REQUIRED = DB_TAG_DIAGONAL };

int db_diagonal_check_vector(struct db_operator *op, const double *d, const double *v, double tol,
                             double *mv, double *residual, double *bound) {
    size_t n = op->n;
    DB_CHECK(db_operator_probe(op, v, mv));
    double r = 0, dmax = 0, vmax = 0;
#pragma omp parallel for schedule(static) reduction(max : r, dmax, vmax) if (n >= DB_PAR_MIN)
    for (size_t i = 0; i < n; i++) {
        double e = fabs(mv[i] - d[i] * v[i]), a = fabs(d[i]), b = fabs(v[i]);
        e = isnan(e) ? INFINITY : e; /* a NaN never passes */
        a = isnan(a) ? INFINITY : a;
        r = e > r ? e : r;
        dmax = a > dmax ? a : dmax;
        vmax = b > vmax ? b : vmax;
    }
    *residual = r;
    *bound = tol * (dmax * vmax + 1.0);
    return r <= *bound ? DB_OK : DB_E_TAG_MISMATCH;
}

int db_diagonal_check(struct db_operator *op, const double *d, uint64_t seed, double tol,
                      double *work, double *residual, double *bound) {
    db_rng_gaussian_fill(seed, op->n, work);
    return db_diagonal_check_vector(op, d, work, tol, work + op->n, residual, bound);
}

/* The random vector (generated once per cell and seed: it is fixed by the seed) and the
 * product's workspace. */
struct checked_cache {
    double *v, *mv;
    size_t n;
    uint64_t seed;
};

static void cache_free(void *p) {
    struct checked_cache *c = p;
    free(c->v);
    free(c->mv);
    free(c);
}

static int cache_of(struct db_strategy_ctx *ctx, size_t n, uint64_t seed,
                    struct checked_cache **out) {
    struct checked_cache *c = ctx->priv;
    if (c && (ctx->priv_free != cache_free || c->n != n || c->seed != seed)) {
        ctx->priv_free(ctx->priv);
        ctx->priv = c = NULL;
    }
    if (!c) {
        c = calloc(1, sizeof *c);
        if (!c) return DB_E_NOMEM;
        c->v = malloc(n * sizeof *c->v);
        c->mv = malloc(n * sizeof *c->mv);
        if (!c->v || !c->mv) {
            cache_free(c);
            return DB_E_NOMEM;
        }
        c->n = n;
        c->seed = seed;
        db_rng_gaussian_fill(seed, n, c->v);
        ctx->priv = c;
        ctx->priv_free = cache_free;
    }
    *out = c;
    return DB_OK;
}

static size_t checked_workspace_bytes(const struct db_operator *op) {
    size_t b = 3 * op->n * sizeof(double); /* ones, v, M v */
    return db_strategy_needs_fallback(op, REQUIRED) ? b + db_materialise_workspace_bytes(op) : b;
}

static size_t checked_fallback_bytes(const struct db_operator *op) {
    return db_strategy_needs_fallback(op, REQUIRED) ? 0 : db_materialise_workspace_bytes(op);
}

static int checked_run(struct db_operator *op, double *diag, struct db_strategy_ctx *ctx) {
    if (op->ops->diagonal) {
        db_strategy_remark(ctx, "the operator stores its diagonal: nothing to check");
        return op->ops->diagonal(op, diag);
    }
    if (db_strategy_needs_fallback(op, REQUIRED)) {
        db_strategy_remark(ctx, "operator not tagged diagonal: fell back to materialise");
        return db_materialise_run(op, diag, ctx);
    }
    const double *ones;
    uint64_t seed = ctx->check_seed ? ctx->check_seed : DB_CHECK_SEED;
    struct checked_cache *c;
    DB_CHECK(db_strategy_ctx_ones(ctx, op->n, &ones));
    DB_CHECK(cache_of(ctx, op->n, seed, &c));
    DB_CHECK(db_operator_probe(op, ones, diag));
    double residual = 0, bound = 0;
    int rc = db_diagonal_check_vector(op, diag, c->v, DB_CHECK_TOL, c->mv, &residual, &bound);
    if (rc == DB_OK) {
        db_strategy_remark(ctx, "diagonal tag checked: residual %.3g <= %.3g (seed %llu)", residual,
                           bound, (unsigned long long)seed);
        return DB_OK;
    }
    if (rc != DB_E_TAG_MISMATCH) return rc;
    if (ctx->on_mismatch != DB_ON_MISMATCH_FALLBACK) {
        db_strategy_remark(ctx,
                           "the operator is tagged diagonal but |Jv - d.v| = %.3g > %.3g "
                           "(seed %llu)",
                           residual, bound, (unsigned long long)seed);
        return DB_E_TAG_MISMATCH;
    }
    ctx->tag_mismatch = 1;
    db_strategy_remark(ctx,
                       "tag mismatch: tagged diagonal but |Jv - d.v| = %.3g > %.3g (seed "
                       "%llu); fell back to materialise",
                       residual, bound, (unsigned long long)seed);
    return db_materialise_run(op, diag, ctx);
}

const struct db_strategy db_strategy_probe_checked = {
    .name = "probe-checked",
    .describe = "probe, then check the diagonal tag with one more JVP/VJP with a Gaussian random "
                "vector (2 calls); a wrong tag is an error (or, --on-mismatch=fallback, "
                "materialise); untagged: materialise",
    .required_tags = REQUIRED,
    .products = {.fixed = 2}, /* the probe and the check */
    .workspace_bytes = checked_workspace_bytes,
    .run = checked_run,
    .fallback_bytes = checked_fallback_bytes,
};
