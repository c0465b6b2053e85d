/* Compressed probing (Curtis-Powell-Reid): given J's sparsity pattern and a colouring of the
 * probed side (columns of J for JVPs, rows of J for VJPs) in which no two vectors of one colour
 * share a non-zero, one product per colour with the sum of that colour's unit vectors recovers
 * every entry of the pattern: forward J[i, j] = (J s_colour(j))_i, reverse
 * J[i, j] = (J^T s_colour(i))_j. Also the driver shared by the structured strategies
 * (probe-tridiag, probe-banded, probe-coloured): plan once per cell (pattern + colouring, cached
 * in the strategy context, untimed), then probe and recover on every call. */
#ifndef DB_COMPRESSED_H
#define DB_COMPRESSED_H

#include <stddef.h>

#include "strategies/strategy.h"

struct db_compressed {
    struct db_sparse A; /* J's pattern; values = the entries recovered by the last full run */
    int reverse;        /* probes are VJPs (op->jac == bwd): colour[] colours the rows of J */
    size_t *colour;     /* n colours in [0, ncolours) */
    size_t ncolours;
    size_t *diag_pos; /* index of (i, i) in A, or DB_SPARSE_NONE when the pattern lacks it */
    double *seed;     /* one probe vector (n) */
    double *B;        /* the ncolours products, n each */
};

/* Take ownership of P (J's pattern; values are allocated here) and colour (malloc'd, n entries,
 * a valid colouring of the probed side), and allocate the probe workspace. On failure P and
 * colour are freed too. */
int db_compressed_init(struct db_compressed *c, struct db_sparse *P, int reverse, size_t *colour,
                       size_t ncolours);
void db_compressed_free(struct db_compressed *c);

/* Bytes db_compressed_init allocates for n rows, nnz entries and k colours. */
size_t db_compressed_bytes(size_t n, size_t nnz, size_t k);

/* ncolours products with op (mv, or mv_transpose when reverse), then write the diagonal and,
 * when all is set, every entry of c->A. */
int db_compressed_run(struct db_compressed *c, struct db_operator *op, double *diag, int all);

/* A structured strategy's plan for an operator that carries one of the strategy's required tags:
 * fill P (J's pattern, values NULL), colour (malloc'd, n entries, colouring the probed side: rows
 * of J when reverse) and its colour count, and a remark for the CSV note. */
typedef int (*db_structured_plan)(struct db_operator *op, int reverse, struct db_sparse *P,
                                  size_t **colour, size_t *ncolours, char *remark, size_t len);

/* A structured strategy: its registry entry (whose required_tags decide the fallback, by the
 * shared rule db_strategy_needs_fallback), its plan, and the tags named in the fallback's
 * remark ("operator not tagged <missing>: fell back to materialise"). */
struct db_structured {
    const struct db_strategy *strategy;
    db_structured_plan plan;
    const char *missing;
};

/* Run a structured strategy: a kind that knows its diagonal answers directly (no products; the
 * extraction is the diagonal); an operator without a required tag falls back to materialise;
 * otherwise plan once (cached in ctx), then ncolours products and recovery of the diagonal and,
 * when all is set, of every entry (ctx->extracted). */
int db_structured_run(const struct db_structured *s, struct db_operator *op, double *diag,
                      struct db_strategy_ctx *ctx, int all);

/* Workspace bound for structured strategy st with at most k colours on this operator, including
 * the materialise fallback when the operator falls back. */
size_t db_structured_workspace_bytes(const struct db_strategy *st, const struct db_operator *op,
                                     size_t k);

/* The band an operator's tags declare: diagonal (0, 0), tridiagonal (1, 1), banded (the
 * instance's lower, upper), tested in that order; DB_E_UNSUPPORTED when none is set. */
int db_tagged_band(const struct db_operator *op, size_t *lower, size_t *upper);

/* Colouring j mod k of n vectors (valid for a band with lower + upper + 1 <= k, on both sides);
 * *ncolours = min(k, n). */
int db_colour_mod(size_t n, size_t k, size_t **colour, size_t *ncolours);

#endif
