/* probe-banded and probe-tridiag, one implementation: an operator with a band of width
 * k = lower + upper + 1 gives all its entries from k products with columns coloured j mod k
 * (columns j and j' of one colour are k apart, so no row holds both; the same colouring serves
 * the rows for VJPs). probe-banded probes the band its tags declare (diagonal 0,0; tridiagonal
 * 1,1; banded: the instance's lower, upper -- see db_tagged_band); probe-tridiag is the band
 * fixed at 1,1 for an operator tagged tridiagonal (or diagonal, which implies it), so its extract
 * always gives the three bands the tridiagonal solver reads. Untagged: materialise. */
#include <stdio.h>

#include "strategies/compressed.h"

extern const struct db_strategy db_strategy_probe_tridiag, db_strategy_probe_banded;

/* The pattern and colouring of the band (lower, upper). */
static int band_plan(struct db_operator *op, size_t lower, size_t upper, struct db_sparse *P,
                     size_t **colour, size_t *ncolours) {
    DB_CHECK(db_sparse_band(op->n, lower, upper, 0, P));
    return db_colour_mod(op->n, lower + upper + 1, colour, ncolours);
}

static int tridiag_plan(struct db_operator *op, int reverse, struct db_sparse *P, size_t **colour,
                        size_t *ncolours, char *remark, size_t len) {
    (void)reverse;
    DB_CHECK(band_plan(op, 1, 1, P, colour, ncolours));
    snprintf(remark, len, "tridiagonal: %zu colours (j mod 3)", *ncolours);
    return DB_OK;
}

static int banded_plan(struct db_operator *op, int reverse, struct db_sparse *P, size_t **colour,
                       size_t *ncolours, char *remark, size_t len) {
    (void)reverse;
    size_t l, u;
    DB_CHECK(db_tagged_band(op, &l, &u));
    DB_CHECK(band_plan(op, l, u, P, colour, ncolours));
    snprintf(remark, len, "band lower %zu, upper %zu: %zu colours (j mod %zu)", l, u, *ncolours,
             l + u + 1);
    return DB_OK;
}

static const struct db_structured tridiag = {&db_strategy_probe_tridiag, tridiag_plan,
                                             "tridiagonal"};
static const struct db_structured banded = {&db_strategy_probe_banded, banded_plan, "banded"};

static size_t tridiag_workspace_bytes(const struct db_operator *op) {
    return db_structured_workspace_bytes(&db_strategy_probe_tridiag, op, 3);
}

static size_t banded_workspace_bytes(const struct db_operator *op) {
    size_t l = 0, u = 0;
    db_tagged_band(op, &l, &u);
    return db_structured_workspace_bytes(&db_strategy_probe_banded, op, l + u + 1);
}

static int tridiag_run(struct db_operator *op, double *diag, struct db_strategy_ctx *ctx) {
    return db_structured_run(&tridiag, op, diag, ctx, 0);
}

static int tridiag_extract(struct db_operator *op, double *diag, struct db_strategy_ctx *ctx) {
    return db_structured_run(&tridiag, op, diag, ctx, 1);
}

static int banded_run(struct db_operator *op, double *diag, struct db_strategy_ctx *ctx) {
    return db_structured_run(&banded, op, diag, ctx, 0);
}

static int banded_extract(struct db_operator *op, double *diag, struct db_strategy_ctx *ctx) {
    return db_structured_run(&banded, op, diag, ctx, 1);
}

const struct db_strategy db_strategy_probe_tridiag = {
    .name = "probe-tridiag",
    .describe = "tridiagonal-tagged operator: 3 JVPs (fwd) / VJPs (bwd) with columns coloured "
                "j mod 3 give the diagonal, lower and upper, O(n); untagged: materialise",
    .flags = DB_STRATEGY_EXTRACTS_TRIDIAGONAL,
    .required_tags = DB_TAG_TRIDIAGONAL,
    .products = {.fixed = 3},
    .workspace_bytes = tridiag_workspace_bytes,
    .run = tridiag_run,
    .extract = tridiag_extract,
};

const struct db_strategy db_strategy_probe_banded = {
    .name = "probe-banded",
    .describe = "banded operator (lower l, upper u; from its tags): l+u+1 JVPs / VJPs with "
                "columns coloured j mod (l+u+1), O((l+u+1) n); untagged: materialise",
    .required_tags = DB_TAG_DIAGONAL | DB_TAG_TRIDIAGONAL | DB_TAG_BANDED,
    .products = {.fixed = 1, .per_band = 1},
    .workspace_bytes = banded_workspace_bytes,
    .run = banded_run,
    .extract = banded_extract,
};
