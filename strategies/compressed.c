#include "strategies/compressed.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void db_compressed_free(struct db_compressed *c) {
    db_sparse_free(&c->A);
    free(c->colour);
    free(c->diag_pos);
    free(c->seed);
    free(c->B);
    memset(c, 0, sizeof *c);
}

size_t db_compressed_bytes(size_t n, size_t nnz, size_t k) {
    return db_sparse_bytes(n, nnz, 1) + 2 * n * sizeof(size_t) + (1 + k) * n * sizeof(double);
}

int db_compressed_init(struct db_compressed *c, struct db_sparse *P, int reverse, size_t *colour,
                       size_t ncolours) {
    memset(c, 0, sizeof *c);
    size_t n = P->n, nnz = db_sparse_nnz(P);
    c->A = *P;
    memset(P, 0, sizeof *P);
    c->reverse = reverse;
    c->colour = colour;
    c->ncolours = ncolours;
    c->A.values = calloc(nnz ? nnz : 1, sizeof *c->A.values);
    c->diag_pos = malloc(n * sizeof *c->diag_pos);
    c->seed = malloc(n * sizeof *c->seed);
    c->B = malloc((ncolours ? ncolours : 1) * n * sizeof *c->B);
    if (!c->A.values || !c->diag_pos || !c->seed || !c->B) {
        db_compressed_free(c);
        return DB_E_NOMEM;
    }
    for (size_t i = 0; i < n; i++)
        c->diag_pos[i] = db_sparse_find(&c->A, i, i);
    return DB_OK;
}

int db_compressed_run(struct db_compressed *c, struct db_operator *op, double *diag, int all) {
    const size_t n = c->A.n;
    const size_t *colour = c->colour;
    for (size_t k = 0; k < c->ncolours; k++) {
        double *seed = c->seed, *out = c->B + k * n;
#pragma omp parallel for schedule(static) if (n >= DB_PAR_MIN)
        for (size_t j = 0; j < n; j++)
            seed[j] = colour[j] == k ? 1.0 : 0.0;
        DB_CHECK(c->reverse ? db_operator_mv_transpose(op, seed, out)
                            : db_operator_mv(op, seed, out));
    }
    const double *B = c->B;
    /* Entry (i, j) sits in product colour(j) at row i (forward) or colour(i) at row j (reverse);
     * for the diagonal both read B[colour(i) n + i]. */
#pragma omp parallel for schedule(static) if (n >= DB_PAR_MIN)
    for (size_t i = 0; i < n; i++)
        diag[i] = c->diag_pos[i] == DB_SPARSE_NONE ? 0.0 : B[colour[i] * n + i];
    if (!all) return DB_OK;
    const size_t *rp = c->A.row_ptr, *ci = c->A.col_idx;
    double *val = c->A.values;
    if (c->reverse) {
#pragma omp parallel for schedule(static) if (n >= DB_PAR_MIN)
        for (size_t i = 0; i < n; i++) {
            const double *row = B + colour[i] * n;
            for (size_t e = rp[i]; e < rp[i + 1]; e++)
                val[e] = row[ci[e]];
        }
    } else {
#pragma omp parallel for schedule(static) if (n >= DB_PAR_MIN)
        for (size_t i = 0; i < n; i++)
            for (size_t e = rp[i]; e < rp[i + 1]; e++)
                val[e] = B[colour[ci[e]] * n + i];
    }
    return DB_OK;
}

int db_tagged_band(const struct db_operator *op, size_t *lower, size_t *upper) {
    unsigned t = db_operator_tags(op);
    if (t & DB_TAG_DIAGONAL) {
        *lower = *upper = 0;
    } else if (t & DB_TAG_TRIDIAGONAL) {
        *lower = *upper = 1;
    } else if (t & DB_TAG_BANDED) {
        *lower = op->in->lower;
        *upper = op->in->upper;
    } else {
        return DB_E_UNSUPPORTED;
    }
    return DB_OK;
}

int db_colour_mod(size_t n, size_t k, size_t **colour, size_t *ncolours) {
    if (k == 0) return DB_E_INVALID;
    size_t *c = malloc(n * sizeof *c);
    if (!c) return DB_E_NOMEM;
    for (size_t j = 0; j < n; j++)
        c[j] = j % k;
    *colour = c;
    *ncolours = k < n ? k : n;
    return DB_OK;
}

/* ---- the structured-strategy driver --------------------------------------------------------- */

enum plan_state { PLAN_NONE, PLAN_PROBE, PLAN_FALLBACK, PLAN_KNOWN_DIAGONAL };

struct structured_cache {
    const struct db_operator *op;  /* the operator the plan was made for */
    const struct db_structured *s; /* and the strategy */
    enum plan_state state;
    struct db_compressed c;
    struct db_sparse diagonal; /* the extraction of a kind that knows its diagonal */
    char remark[sizeof((struct db_strategy_ctx *)0)->remark];
};

static void cache_free(void *p) {
    struct structured_cache *s = p;
    db_compressed_free(&s->c);
    db_sparse_free(&s->diagonal);
    free(s);
}

static int make_plan(struct structured_cache *s, const struct db_structured *st,
                     struct db_operator *op) {
    s->op = op;
    s->s = st;
    if (op->ops->diagonal) {
        s->state = PLAN_KNOWN_DIAGONAL;
        snprintf(s->remark, sizeof s->remark, "the operator stores its diagonal: no products");
        return db_sparse_band(op->n, 0, 0, 1, &s->diagonal);
    }
    if (db_strategy_needs_fallback(op, st->strategy->required_tags)) {
        s->state = PLAN_FALLBACK;
        snprintf(s->remark, sizeof s->remark, "operator not tagged %s: fell back to materialise",
                 st->missing);
        return DB_OK;
    }
    struct db_sparse P = {0};
    size_t *colour = NULL, k = 0;
    int reverse = op->jac == DB_JAC_BWD;
    int rc = st->plan(op, reverse, &P, &colour, &k, s->remark, sizeof s->remark);
    if (rc != DB_OK) {
        db_sparse_free(&P);
        free(colour);
        return rc;
    }
    DB_CHECK(db_compressed_init(&s->c, &P, reverse, colour, k));
    s->state = PLAN_PROBE;
    return DB_OK;
}

int db_structured_run(const struct db_structured *st, struct db_operator *op, double *diag,
                      struct db_strategy_ctx *ctx, int all) {
    struct structured_cache *s = ctx->priv;
    if (s && (ctx->priv_free != cache_free || s->op != op || s->s != st)) {
        ctx->priv_free(ctx->priv); /* made for another operator or strategy */
        ctx->priv = s = NULL;
    }
    if (!s) {
        s = calloc(1, sizeof *s);
        if (!s) return DB_E_NOMEM;
        ctx->priv = s;
        ctx->priv_free = cache_free;
    }
    if (s->state == PLAN_NONE) {
        int rc = make_plan(s, st, op);
        if (rc != DB_OK) {
            cache_free(s);
            ctx->priv = NULL;
            ctx->priv_free = NULL;
            return rc;
        }
    }
    ctx->extracted = NULL;
    memcpy(ctx->remark, s->remark, sizeof ctx->remark);
    switch (s->state) {
    case PLAN_KNOWN_DIAGONAL:
        DB_CHECK(op->ops->diagonal(op, diag));
        if (all) {
            memcpy(s->diagonal.values, diag, op->n * sizeof *diag);
            ctx->extracted = &s->diagonal;
        }
        return DB_OK;
    case PLAN_FALLBACK:
        return db_materialise_run(op, diag, ctx);
    case PLAN_PROBE:
        DB_CHECK(db_compressed_run(&s->c, op, diag, all));
        if (all) ctx->extracted = &s->c.A;
        return DB_OK;
    case PLAN_NONE:
        break;
    }
    return DB_E_INTERNAL;
}

size_t db_structured_workspace_bytes(const struct db_strategy *st, const struct db_operator *op,
                                     size_t k) {
    size_t n = op->n, nnz = n * db_instance_row_nnz_bound(op->in);
    size_t plan = db_compressed_bytes(n, nnz, k < n ? k : n) + db_sparse_bytes(n, nnz, 0) +
                  4 * n * sizeof(size_t); /* colouring temporaries */
    int fallback = db_strategy_needs_fallback(op, st->required_tags);
    return plan + (fallback ? db_materialise_workspace_bytes(op) : 0);
}
