/* probe-tridiag: an operator tagged tridiagonal (or diagonal, which implies it) gives all its
 * entries from 3 products with S[:, c] = sum of e_j over j mod 3 = c: row i of product c holds
 * exactly one entry of row i (columns i-1, i, i+1 have different colours). Untagged: falls back
 * to materialise, as probe does. */
#include <stdio.h>

#include "strategies/compressed.h"

static int tridiag_plan(struct db_operator *op, int reverse, struct db_sparse *P, size_t **colour,
                        size_t *ncolours, char *remark, size_t len) {
    (void)reverse; /* j mod 3 colours the rows of a tridiagonal matrix as well as its columns */
    if (!(db_operator_tags(op) & DB_TAG_TRIDIAGONAL)) return DB_E_UNSUPPORTED;
    DB_CHECK(db_sparse_band(op->n, 1, 1, 0, P));
    DB_CHECK(db_colour_mod(op->n, 3, colour, ncolours));
    snprintf(remark, len, "tridiagonal: %zu colours (j mod 3)", *ncolours);
    return DB_OK;
}

static int needs_fallback(const struct db_operator *op) {
    return !op->ops->diagonal && !(db_operator_tags(op) & DB_TAG_TRIDIAGONAL);
}

static size_t tridiag_workspace_bytes(const struct db_operator *op) {
    return db_structured_workspace_bytes(op, 3, needs_fallback(op));
}

static int tridiag_run(struct db_operator *op, double *diag, struct db_strategy_ctx *ctx) {
    return db_structured_run(tridiag_plan, "tridiagonal", op, diag, ctx, 0);
}

static int tridiag_extract(struct db_operator *op, double *diag, struct db_strategy_ctx *ctx) {
    return db_structured_run(tridiag_plan, "tridiagonal", op, diag, ctx, 1);
}

const struct db_strategy db_strategy_probe_tridiag = {
    .name = "probe-tridiag",
    .describe = "tridiagonal-tagged operator: 3 JVPs (fwd) / VJPs (bwd) with columns coloured "
                "j mod 3 give the diagonal, lower and upper, O(n); untagged: materialise",
    .workspace_bytes = tridiag_workspace_bytes,
    .run = tridiag_run,
    .extract = tridiag_extract,
};
