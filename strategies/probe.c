/* probe: a kind that knows its diagonal answers directly; an operator tagged diagonal gives its
 * diagonal from one product with ones (JVP for fwd, VJP for bwd, fn(ones) for a function);
 * anything else falls back to materialise, as lineax does -- never a wrong answer. */
#include "strategies/strategy.h"

enum { REQUIRED = DB_TAG_DIAGONAL };

static size_t probe_workspace_bytes(const struct db_operator *op) {
    size_t b = op->n * sizeof(double);
    return db_strategy_needs_fallback(op, REQUIRED) ? b + db_materialise_workspace_bytes(op) : b;
}

static int probe_run(struct db_operator *op, double *diag, struct db_strategy_ctx *ctx) {
    if (op->ops->diagonal) return op->ops->diagonal(op, diag);
    if (db_strategy_needs_fallback(op, REQUIRED)) return db_materialise_run(op, diag, ctx);
    const double *ones;
    DB_CHECK(db_strategy_ctx_ones(ctx, op->n, &ones));
    return db_operator_probe(op, ones, diag);
}

const struct db_strategy db_strategy_probe = {
    .name = "probe",
    .describe = "diagonal-tagged operator: one JVP (fwd) / VJP (bwd) / fn call with ones, O(n); "
                "untagged: falls back to materialise",
    .required_tags = REQUIRED,
    .products = {.fixed = 1},
    .workspace_bytes = probe_workspace_bytes,
    .run = probe_run,
};
