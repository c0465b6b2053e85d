/* probe-banded: an operator with a band declared by its tags (diagonal 0,0; tridiagonal 1,1;
 * banded: the instance's lower, upper -- see db_tagged_band) gives all its entries from
 * k = lower + upper + 1 products, columns coloured j mod k. Untagged: materialise. */
#include <stdio.h>

#include "strategies/compressed.h"

static int banded_plan(struct db_operator *op, int reverse, struct db_sparse *P, size_t **colour,
                       size_t *ncolours, char *remark, size_t len) {
    (void)reverse; /* j mod k colours the rows of a band of width k as well as its columns */
    size_t l, u;
    DB_CHECK(db_tagged_band(op, &l, &u));
    DB_CHECK(db_sparse_band(op->n, l, u, 0, P));
    DB_CHECK(db_colour_mod(op->n, l + u + 1, colour, ncolours));
    snprintf(remark, len, "band lower %zu, upper %zu: %zu colours (j mod %zu)", l, u, *ncolours,
             l + u + 1);
    return DB_OK;
}

static int needs_fallback(const struct db_operator *op) {
    size_t l, u;
    return !op->ops->diagonal && db_tagged_band(op, &l, &u) != DB_OK;
}

static size_t banded_workspace_bytes(const struct db_operator *op) {
    size_t l = 0, u = 0;
    db_tagged_band(op, &l, &u);
    return db_structured_workspace_bytes(op, l + u + 1, needs_fallback(op));
}

static int banded_run(struct db_operator *op, double *diag, struct db_strategy_ctx *ctx) {
    return db_structured_run(banded_plan, "banded", op, diag, ctx, 0);
}

static int banded_extract(struct db_operator *op, double *diag, struct db_strategy_ctx *ctx) {
    return db_structured_run(banded_plan, "banded", op, diag, ctx, 1);
}

const struct db_strategy db_strategy_probe_banded = {
    .name = "probe-banded",
    .describe = "banded operator (lower l, upper u; from its tags): l+u+1 JVPs / VJPs with "
                "columns coloured j mod (l+u+1), O((l+u+1) n); untagged: materialise",
    .workspace_bytes = banded_workspace_bytes,
    .run = banded_run,
    .extract = banded_extract,
};
