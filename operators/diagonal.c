/* Diagonal operator: stores d = diag(J) (built at setup with one uncounted JVP against ones).
 * It knows its diagonal; products are counted; materialise writes diag(d) in full, as
 * lineax's DiagonalLinearOperator.as_matrix() does. */
#include <stdlib.h>
#include <string.h>

#include "operators/operator.h"

struct diagonal_op {
    struct db_operator base;
    double *d;
};

static int diagonal_mv(struct db_operator *op, const double *v, double *out) {
    const double *d = ((struct diagonal_op *)op)->d;
    db_instance_count_calls(op->in, 1);
    for (size_t i = 0; i < op->n; i++)
        out[i] = d[i] * v[i];
    return DB_OK;
}

static int diagonal_materialise(struct db_operator *op, double *buf, struct db_dense *M) {
    const double *d = ((struct diagonal_op *)op)->d;
    size_t n = op->n;
#pragma omp parallel for schedule(static)
    for (size_t j = 0; j < n; j++) {
        memset(buf + j * n, 0, n * sizeof *buf);
        buf[j * n + j] = d[j];
    }
    *M = (struct db_dense){.data = buf, .n = n, .ld = n};
    return DB_OK;
}

static size_t diagonal_materialise_bytes(const struct db_operator *op) {
    return op->n * op->n * sizeof(double);
}

static int diagonal_diagonal(struct db_operator *op, double *diag) {
    memcpy(diag, ((struct diagonal_op *)op)->d, op->n * sizeof *diag);
    return DB_OK;
}

static void diagonal_destroy(struct db_operator *op) {
    free(((struct diagonal_op *)op)->d);
    free(op);
}

extern const struct db_operator_kind db_operator_diagonal;

static const struct db_operator_ops diagonal_ops = {
    .kind = db_operator_diagonal.name,
    .mv = diagonal_mv,
    .mv_transpose = diagonal_mv,
    .materialise = diagonal_materialise,
    .materialise_bytes = diagonal_materialise_bytes,
    .diagonal = diagonal_diagonal,
    .destroy = diagonal_destroy,
};

static int diagonal_create(struct db_instance *in, enum db_jac jac, struct db_operator **out) {
    (void)jac;
    if (in->wl->structure != DB_STRUCT_DIAGONAL) return DB_E_UNSUPPORTED;
    size_t n = in->n;
    struct diagonal_op *o = calloc(1, sizeof *o);
    double *d = malloc(n * sizeof *d), *ones = malloc(n * sizeof *ones);
    int rc = o && d && ones ? DB_OK : DB_E_NOMEM;
    if (rc == DB_OK) {
        for (size_t i = 0; i < n; i++)
            ones[i] = 1.0;
        rc = in->wl->ops.jvp(in, in->x, ones, d);
    }
    free(ones);
    if (rc != DB_OK) {
        free(d);
        free(o);
        return rc;
    }
    o->d = d;
    o->base.ops = &diagonal_ops;
    *out = &o->base;
    return DB_OK;
}

static size_t diagonal_setup_bytes(size_t n) {
    return n * sizeof(double);
}

const struct db_operator_kind db_operator_diagonal = {
    .name = "diagonal",
    .describe = "stores diag(J); knows its diagonal (only for diagonal workloads)",
    .flags = DB_OPERATOR_KNOWS_DIAGONAL | DB_OPERATOR_TRANSPOSE,
    .create = diagonal_create,
    .setup_bytes = diagonal_setup_bytes,
};
