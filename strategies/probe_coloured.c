/* probe-coloured: the sparsity pattern the operator's tags declare (diagonal, tridiagonal,
 * banded, or the workload's CSR pattern when tagged sparse) is coloured once per cell (greedy
 * distance-2 colouring; the best of the largest-first, smallest-last, incidence-degree and
 * natural orderings), then one JVP per colour (columns of J) or VJP per colour (rows of J, for
 * jac=bwd) recovers every non-zero. Untagged: materialise. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "strategies/colouring.h"
#include "strategies/compressed.h"

static double seconds_since(const struct timespec *t0) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + 1e-9 * (double)(t.tv_nsec - t0->tv_nsec);
}

/* The pattern the tags declare: a band first, else the workload's pattern when tagged sparse. */
static int tagged_pattern(struct db_operator *op, struct db_sparse *P) {
    size_t l, u;
    if (db_tagged_band(op, &l, &u) == DB_OK) return db_sparse_band(op->n, l, u, 0, P);
    if (db_operator_tags(op) & DB_TAG_SPARSE) return db_instance_pattern(op->in, P);
    return DB_E_UNSUPPORTED;
}

static int coloured_plan(struct db_operator *op, int reverse, struct db_sparse *P, size_t **colour,
                         size_t *ncolours, char *remark, size_t len) {
    DB_CHECK(tagged_pattern(op, P));
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct db_sparse PT = {0};
    const struct db_sparse *probed = P; /* VJPs probe rows of J: colour the columns of J^T */
    if (reverse) {
        DB_CHECK(db_sparse_transpose(P, &PT));
        probed = &PT;
    }
    size_t counts[DB_ORDERING_COUNT];
    enum db_ordering best = DB_ORDER_NATURAL;
    *colour = malloc(op->n * sizeof **colour);
    int rc =
        *colour ? db_colour_columns_best(probed, *colour, ncolours, &best, counts) : DB_E_NOMEM;
    size_t bound = db_sparse_max_row_nnz(probed);
    db_sparse_free(&PT);
    if (rc != DB_OK) return rc;
    snprintf(remark, len,
             "%s colouring, %s ordering: %zu colours (largest-first %zu, smallest-last %zu, "
             "incidence-degree %zu, natural %zu), lower bound %zu; colouring took %.3g s "
             "(setup, untimed)",
             reverse ? "row" : "column", db_ordering_name(best), *ncolours,
             counts[DB_ORDER_LARGEST_FIRST], counts[DB_ORDER_SMALLEST_LAST],
             counts[DB_ORDER_INCIDENCE_DEGREE], counts[DB_ORDER_NATURAL], bound,
             seconds_since(&t0));
    return DB_OK;
}

extern const struct db_strategy db_strategy_probe_coloured;

static const struct db_structured coloured = {&db_strategy_probe_coloured, coloured_plan,
                                              "diagonal, tridiagonal, banded or sparse"};

static size_t coloured_workspace_bytes(const struct db_operator *op) {
    size_t r = db_instance_row_nnz_bound(op->in);
    return db_structured_workspace_bytes(&db_strategy_probe_coloured, op, r * r) +
           db_sparse_bytes(op->n, op->n * r, 0); /* the transposed pattern for jac=bwd */
}

static int coloured_run(struct db_operator *op, double *diag, struct db_strategy_ctx *ctx) {
    return db_structured_run(&coloured, op, diag, ctx, 0);
}

static int coloured_extract(struct db_operator *op, double *diag, struct db_strategy_ctx *ctx) {
    return db_structured_run(&coloured, op, diag, ctx, 1);
}

const struct db_strategy db_strategy_probe_coloured = {
    .name = "probe-coloured",
    .describe = "operator with a declared pattern (band tags, or sparse: the workload's CSR): "
                "distance-2 colouring (best of LF/SL/ID/natural, setup), one JVP / VJP per "
                "colour, recovery of all non-zeros; untagged: materialise",
    .flags = DB_STRATEGY_COLOURS_PATTERN,
    .required_tags = DB_TAG_DIAGONAL | DB_TAG_TRIDIAGONAL | DB_TAG_BANDED | DB_TAG_SPARSE,
    .products = {.fixed = 8}, /* an estimate: the colours are counted only at setup */
    .workspace_bytes = coloured_workspace_bytes,
    .run = coloured_run,
    .extract = coloured_extract,
};
