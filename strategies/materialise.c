/* materialise: build the whole n-by-n matrix (batched JVPs/VJPs over identity blocks, or the
 * operator's own storage) and read its diagonal. O(n^2) work and memory. */
#include "strategies/strategy.h"

size_t db_materialise_workspace_bytes(const struct db_operator *op) {
    return op->ops->materialise_bytes(op);
}

int db_materialise_run(struct db_operator *op, double *diag, struct db_strategy_ctx *ctx) {
    double *buf = NULL;
    size_t bytes = op->ops->materialise_bytes(op);
    if (bytes) DB_CHECK(db_strategy_ctx_buffer(ctx, bytes, &buf));
    struct db_dense M;
    DB_CHECK(op->ops->materialise(op, buf, &M));
    db_dense_diagonal(&M, diag);
    return DB_OK;
}

const struct db_strategy db_strategy_materialise = {
    .name = "materialise",
    .describe = "build the n x n matrix (batched JVPs over identity columns, or VJPs over rows "
                "for jac=bwd) and read its diagonal; unsupported without a batching rule",
    .flags = DB_STRATEGY_MATERIALISES,
    .workspace_bytes = db_materialise_workspace_bytes,
    .run = db_materialise_run,
};
