/* Dense matrix operator: J stored column-major, built once at setup (not timed, not counted);
 * products with OpenBLAS dgemv (each counted as one primitive call); materialise returns a view
 * of the stored matrix, as lineax's MatrixLinearOperator.as_matrix() does. */
#include <cblas.h>
#include <stdlib.h>

#include "operators/operator.h"

struct matrix_op {
    struct db_operator base;
    double *a; /* n*n, column-major */
};

/* out = A v or A^T v: one dgemv, counted as one primitive call. */
static int matrix_product(struct db_operator *op, enum CBLAS_TRANSPOSE trans, const double *v,
                          double *out) {
    struct matrix_op *m = (struct matrix_op *)op;
    int n = (int)op->n;
    db_instance_count_calls(op->in, 1);
    cblas_dgemv(CblasColMajor, trans, n, n, 1.0, m->a, n, v, 1, 0.0, out, 1);
    return DB_OK;
}

static int matrix_mv(struct db_operator *op, const double *v, double *out) {
    return matrix_product(op, CblasNoTrans, v, out);
}

static int matrix_mv_transpose(struct db_operator *op, const double *w, double *out) {
    return matrix_product(op, CblasTrans, w, out);
}

static int matrix_materialise(struct db_operator *op, double *buf, struct db_dense *M) {
    (void)buf;
    *M = (struct db_dense){.data = ((struct matrix_op *)op)->a, .n = op->n, .ld = op->n};
    return DB_OK;
}

static size_t matrix_materialise_bytes(const struct db_operator *op) {
    (void)op;
    return 0;
}

static void matrix_destroy(struct db_operator *op) {
    free(((struct matrix_op *)op)->a);
    free(op);
}

extern const struct db_operator_kind db_operator_matrix;

static const struct db_operator_ops matrix_ops = {
    .kind = db_operator_matrix.name,
    .mv = matrix_mv,
    .mv_transpose = matrix_mv_transpose,
    .materialise = matrix_materialise,
    .materialise_bytes = matrix_materialise_bytes,
    .destroy = matrix_destroy,
};

static int matrix_create(struct db_instance *in, enum db_jac jac, struct db_operator **out) {
    (void)jac;
    size_t n = in->n;
    if (n > (size_t)0x7fffffff) return DB_E_UNSUPPORTED; /* BLAS takes int dimensions */
    struct matrix_op *m = calloc(1, sizeof *m);
    double *a = malloc(n * n * sizeof *a);
    if (!m || !a) {
        free(m);
        free(a);
        return DB_E_NOMEM;
    }
    int err = DB_OK;
    /* Column j = J e_j, straight from the kernel (setup is neither timed nor counted). */
#pragma omp parallel
    {
        double *e = calloc(n, sizeof *e);
        if (!e) {
#pragma omp atomic write
            err = DB_E_NOMEM;
        }
#pragma omp for schedule(static)
        for (size_t j = 0; j < n; j++) {
            if (!e) continue;
            e[j] = 1.0;
            int rc = in->wl->ops.jvp(in, in->x, e, a + j * n);
            e[j] = 0.0;
            if (rc != DB_OK) {
#pragma omp atomic write
                err = rc;
            }
        }
        free(e);
    }
    if (err != DB_OK) {
        free(a);
        free(m);
        return err;
    }
    m->a = a;
    m->base.ops = &matrix_ops;
    *out = &m->base;
    return DB_OK;
}

static size_t matrix_setup_bytes(size_t n) {
    return n * n * sizeof(double);
}

const struct db_operator_kind db_operator_matrix = {
    .name = "matrix",
    .describe = "dense J stored in memory (built at setup); matrix-vector products with OpenBLAS "
                "dgemv",
    .flags = DB_OPERATOR_STORES_DENSE | DB_OPERATOR_TRANSPOSE,
    .create = matrix_create,
    .setup_bytes = matrix_setup_bytes,
};
